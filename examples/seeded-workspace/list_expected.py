"""Print the findings this workspace's `// ruleid:` markers promise, as EXPECTED.md lists them.

Columns are computed here rather than typed by hand, so EXPECTED.md cannot drift from the
sources: run `python list_expected.py` to print the list, `--check` to compare with EXPECTED.md.
Each marker sits on the line to report; the column is that of the raw-pointer parameter's name
(`raw-pointer-escapes-lifetime`) or of the `impl` keyword (`napi-external-by-value`), 1-based,
in code points.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the project supports 3.10 through tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent
MARKER = re.compile(r"//\s*ruleid:\s*([a-z0-9-]+)")
RAW_PARAM = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(?:\*\s*(?:const|mut)\b|NonNull\s*<)")
IMPL = re.compile(r"\bimpl\b")


def excluded_dirs() -> list[Path]:
    """The workspace's `exclude` folders: their markers describe code a scan must not see."""
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text(encoding="utf-8"))
    return [ROOT / entry for entry in manifest["workspace"].get("exclude", [])]


def column(rule: str, code: str) -> int:
    """1-based code-point column of what the rule reports on this line."""
    pattern = IMPL if rule == "napi-external-by-value" else RAW_PARAM
    found = pattern.search(code)
    if found is None:
        raise SystemExit(f"no reportable node for {rule} in: {code.strip()}")
    return found.start() + 1


def expected() -> list[str]:
    """`rule  path:line:col` for every marker, sorted by path, line and column."""
    skip = excluded_dirs()
    rows: list[tuple[str, int, int, str]] = []
    for path in sorted(ROOT.rglob("*.rs")):
        if "target" in path.relative_to(ROOT).parts or any(d in path.parents for d in skip):
            continue
        rel = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            marker = MARKER.search(line)
            if marker:
                code = line[: marker.start()]
                rows.append((rel, number, column(marker.group(1), code), marker.group(1)))
    rows.sort()
    return [f"{rule}  {rel}:{line}:{col}" for rel, line, col, rule in rows]


def listed() -> list[str]:
    """The finding lines of EXPECTED.md (those inside its first fenced block)."""
    text = (ROOT / "EXPECTED.md").read_text(encoding="utf-8")
    block = text.split("```")[1]
    return [row for row in block.splitlines()[1:] if row.strip()]


def main() -> int:
    rows = expected()
    if "--check" in sys.argv[1:]:
        if rows != listed():
            print("EXPECTED.md is out of date; expected:", *rows, sep="\n")
            return 1
        return 0
    print(*rows, sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

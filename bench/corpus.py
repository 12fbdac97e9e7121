"""Recall on the corpus of real bugs: found on the buggy commit, left on the fixed one.

usage: python bench/corpus.py MANIFEST MIRRORS OUTDIR [ID ...] [--markdown FILE]

MANIFEST is `../shared/corpus/manifest.jsonl` (its `checkout.py` beside it writes the trees),
MIRRORS the folder of bare git copies (`fetch` brings them), OUTDIR where trees and reports go.
For each entry: the buggy tree is scanned with every built-in rule (`--workspace`, no cache);
a finding counts when its primary location lies inside the item (fn, impl, struct, …) that
holds the entry's line. On the fixed tree, findings left inside the item of the same name are
counted. Results are printed per class and per entry (and written as markdown with --markdown).
Nothing here is a test: the corpus lives outside the project.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node

from unsound.dsl.rust_parser import parse_rust

ITEMS = frozenset(
    {
        "function_item",
        "impl_item",
        "struct_item",
        "enum_item",
        "union_item",
        "trait_item",
        "static_item",
        "type_item",
        "macro_definition",
    }
)


@dataclass(frozen=True)
class Outcome:
    id: str
    cls: str
    found: bool | None  # None: the tree could not be scanned
    rules: tuple[str, ...]
    left_on_fixed: int | None  # None: no fixed commit, or the item is gone
    note: str


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("mirrors", type=Path)
    parser.add_argument("outdir", type=Path)
    parser.add_argument("ids", nargs="*")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    entries = [json.loads(line) for line in args.manifest.read_text().splitlines() if line]
    if args.ids:
        entries = [e for e in entries if e["id"] in set(args.ids)]
    outcomes = [measure(entry, args) for entry in entries]
    text = render(outcomes)
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")


def measure(entry: dict[str, object], args: argparse.Namespace) -> Outcome:
    ident, cls = str(entry["id"]), str(entry["class"])
    checkout = args.manifest.parent / "checkout.py"
    subprocess.run(
        [sys.executable, str(checkout), str(args.mirrors), str(args.outdir), ident],
        check=False,
        capture_output=True,
    )
    buggy = args.outdir / ident / "buggy"
    path, line = str(entry["path"]), int(entry["line"])  # type: ignore[call-overload]
    if not (buggy / path).is_file():
        return Outcome(ident, cls, None, (), None, "tree not written (mirror missing?)")
    findings, note = scan(buggy, path)
    if findings is None:
        return Outcome(ident, cls, None, (), None, note)
    item = item_at(buggy / path, line)
    if item is None:
        return Outcome(ident, cls, None, (), None, f"no item holds line {line}")
    inside = [f for f in findings if f[1] == path and item[1] <= f[2] <= item[2]]
    left = None
    fixed_path = entry.get("fixed_path") or path
    fixed = args.outdir / ident / "fixed"
    if entry.get("fixed_commit") and (fixed / str(fixed_path)).is_file():
        fixed_findings, _ = scan(fixed, str(fixed_path))
        twin = item_named(fixed / str(fixed_path), item[0])
        if fixed_findings is not None and twin is not None:
            left = sum(
                1 for f in fixed_findings if f[1] == fixed_path and twin[0] <= f[2] <= twin[1]
            )
    rules = tuple(sorted({f[0] for f in inside}))
    return Outcome(ident, cls, bool(inside), rules, left, note)


def scan(tree: Path, path: str) -> tuple[list[tuple[str, str, int]] | None, str]:
    """(rule, path relative to the tree, line) of every finding, scanning the workspace that
    holds `path` (the tree root's, or the nearest Cargo.toml above the file)."""
    manifest = tree / "Cargo.toml"
    if not manifest.is_file():
        folder = (tree / path).parent
        while folder != tree and not (folder / "Cargo.toml").is_file():
            folder = folder.parent
        manifest = folder / "Cargo.toml"
    executable = Path(sys.executable).with_name("cargo-unsound")
    done = subprocess.run(
        [
            *(str(executable), "--manifest-path", str(manifest), "--workspace", "--no-cache"),
            *("--format", "json", "--fail-on", "never", "-q"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if done.returncode not in (0, 1, 3) or not done.stdout.strip():
        return None, done.stderr.strip().splitlines()[0] if done.stderr.strip() else "no output"
    report = json.loads(done.stdout)
    base = manifest.parent.resolve()
    out = []
    for finding in report["findings"]:
        absolute = (base / finding["path"]).resolve()
        out.append(
            (finding["rule"], absolute.relative_to(tree.resolve()).as_posix(), finding["line"])
        )
    note = "" if done.returncode != 3 else "some files not scanned"
    return out, note


def item_at(file: Path, line: int) -> tuple[str, int, int] | None:
    """(name, first line, last line) of the innermost item holding `line`."""
    tree = parse_rust(file.read_bytes())
    best: Node | None = None
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if not (node.start_point[0] + 1 <= line <= node.end_point[0] + 1):
            continue
        if node.type in ITEMS:
            best = node
        stack.extend(node.named_children)
    if best is None:
        return None
    return name_of(best), best.start_point[0] + 1, best.end_point[0] + 1


def item_named(file: Path, name: str) -> tuple[int, int] | None:
    tree = parse_rust(file.read_bytes())
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in ITEMS and name_of(node) == name:
            return node.start_point[0] + 1, node.end_point[0] + 1
        stack.extend(node.named_children)
    return None


def name_of(item: Node) -> str:
    """A name that survives a fix: `fn name`, or an impl's header without generics' bounds."""
    named = item.child_by_field_name("name")
    if named is not None and named.text is not None:
        return f"{item.type} {named.text.decode()}"
    kind = item.child_by_field_name("type")
    trait = item.child_by_field_name("trait")
    parts = [item.type]
    for part in (trait, kind):
        if part is not None and part.text is not None:
            parts.append(part.text.decode().split("<", 1)[0])
    return " ".join(parts)


def render(outcomes: list[Outcome]) -> str:
    by_class: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_class[outcome.cls].append(outcome)
    lines = ["| class | entries | found | missed | not scanned | fixed commits still flagged |"]
    lines.append("|---|---|---|---|---|---|")
    for cls in sorted(by_class):
        group = by_class[cls]
        found = sum(1 for o in group if o.found)
        missed = sum(1 for o in group if o.found is False)
        failed = sum(1 for o in group if o.found is None)
        left = sum(1 for o in group if o.left_on_fixed)
        lines.append(f"| {cls} | {len(group)} | {found} | {missed} | {failed} | {left} |")
    lines += ["", "| entry | found by | left on fixed | note |", "|---|---|---|---|"]
    for o in outcomes:
        found = "not scanned" if o.found is None else (", ".join(o.rules) or "missed")
        left = "—" if o.left_on_fixed is None else str(o.left_on_fixed)
        lines.append(f"| {o.id} | {found} | {left} | {o.note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

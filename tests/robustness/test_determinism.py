"""The same inputs give byte-identical text, JSON and SARIF, whatever the hash seed.

Set and dict iteration order over strings changes with PYTHONHASHSEED, and a parallel scan
finishes files in any order; either would leak into a report that is not sorted on purpose.
Each format is produced in fresh processes with different seeds (and a cold, then warm cache)
and compared byte for byte. The workspace holds findings, a partly parsed file, a missing module
and non-ASCII text, so every part of each report is exercised.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "seeded-workspace"
SEEDS = ("0", "987654321")  # the first run fills the cache, the second reads it


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seeded example plus a crate with a broken region, a missing module and an emoji."""
    root = tmp_path_factory.mktemp("determinism") / "ws"
    shutil.copytree(EXAMPLE, root)
    odd = root / "crates" / "odd"
    (odd / "src").mkdir(parents=True)
    (odd / "Cargo.toml").write_text(
        '[package]\nname = "odd"\nversion = "0.1.0"\nedition = "2021"\n', encoding="utf-8"
    )
    (odd / "src" / "lib.rs").write_text(
        "mod gone;\nmod broken;\n"
        "pub struct Wrap<'a> { r: &'a u8, p: *const u8 }\n"
        "/// é 😀\npub fn wrap<'a>(r: &'a u8, p: *const u8) -> Wrap<'a> { Wrap { r, p } }\n",
        encoding="utf-8",
    )
    (odd / "src" / "broken.rs").write_text(
        "fn broken( { let = ;; }\n"
        "pub fn again<'a>(r: &'a u8, p: *mut u8) -> Wrap<'a> { Wrap { r, p } }\n",
        encoding="utf-8",
    )
    return root


def run(workspace: Path, fmt: str, seed: str, cache: Path) -> subprocess.CompletedProcess[bytes]:
    env = {
        **os.environ,
        "PYTHONHASHSEED": seed,
        "XDG_CACHE_HOME": str(cache),
        "NO_COLOR": "1",
    }
    env.pop("UNSOUND_DEBUG", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "unsound",
            str(workspace),
            "--workspace",
            "--format",
            fmt,
            "--color",
            "never",
        ],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("fmt", ["human", "json", "sarif"])
def test_reports_are_byte_identical_across_runs_and_hash_seeds(
    workspace: Path, tmp_path: Path, fmt: str
) -> None:
    cache = tmp_path / "cache"
    results = [run(workspace, fmt, seed, cache) for seed in SEEDS]
    first = results[0]
    assert first.returncode == 3, first.stderr.decode()  # findings, and a module not scanned
    assert b"Traceback" not in first.stderr
    assert first.stdout
    for other in results[1:]:
        assert other.returncode == first.returncode
        assert other.stdout == first.stdout
        assert other.stderr == first.stderr

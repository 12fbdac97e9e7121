"""Keeps every test out of the user's real cache folder.

A scan run without `--no-cache` creates the HMAC key and writes compiled rules under
`$XDG_CACHE_HOME/cargo-unsound/`; here that is one folder for the whole session (so runs in
subprocesses share a warm compiled-rules cache, as a user's would). Tests of the caches point it
at their own `tmp_path` on top of this.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from unsound.dsl import loader
from unsound.dsl.compiled import CompiledRule


@pytest.fixture(scope="session")
def session_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def private_cache_home(session_cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(session_cache_home))


@pytest.fixture
def rule_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private compiled-rules cache folder, and an empty in-process memo, so each load is a
    new run's (for the tests of that cache)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(loader, "_COMPILED", {})
    return tmp_path / "xdg" / "cargo-unsound"


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rule files each compile was given (a compiled-rules cache hit compiles
    nothing)."""
    calls: list[int] = []
    real = loader.compile_rule_files

    def counting(files: Sequence[tuple[str, str, str]]) -> list[CompiledRule]:
        calls.append(len(files))
        return real(files)

    monkeypatch.setattr(loader, "compile_rule_files", counting)
    return calls


@pytest.fixture
def definitions_asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names the crate index is asked for the definitions of, in order."""
    from unsound.engine.crate_index import CrateIndex

    asked: list[str] = []
    real = CrateIndex.definitions

    def counting(self: CrateIndex, name: str) -> list[object]:
        asked.append(name)
        return real(self, name)  # type: ignore[return-value]

    monkeypatch.setattr(CrateIndex, "definitions", counting)
    return asked


@pytest.fixture
def private_key_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A test's own cache folder (the HMAC key, compiled rules, parsed manifests), and no
    CARGO_TARGET_DIR: for the tests of the caches (`pytestmark = pytest.mark.usefixtures(…)`)."""
    folder = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.delenv("CARGO_TARGET_DIR", raising=False)
    return folder

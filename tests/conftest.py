"""Keeps every test out of the user's real cache folder.

A scan run without `--no-cache` creates the HMAC key and writes compiled rules under
`$XDG_CACHE_HOME/cargo-unsound/`; here that is one folder for the whole session (so runs in
subprocesses share a warm compiled-rules cache, as a user's would). Tests of the caches point it
at their own `tmp_path` on top of this.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def session_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def private_cache_home(session_cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(session_cache_home))

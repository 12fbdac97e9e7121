"""Helpers the workspace and source tests share: fixture folders and throwaway trees."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "workspaces"


def package(name: str, extra: str = "", edition: str = "2021") -> str:
    """A minimal `[package]` manifest."""
    return f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "{edition}"\n{extra}'


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    """Create `files` (relative path → text) under `root`; returns `root` resolved."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root.resolve()

"""cargo-unsound: finds unsound uses of `unsafe` in a Rust workspace without compiling it."""

from __future__ import annotations

__version__ = "0.1.0"
TOOL_NAME = "cargo-unsound"

"""`python -m unsound` runs the same CLI as the `cargo-unsound` executable."""

from __future__ import annotations

from unsound.cli.entry import run

run()

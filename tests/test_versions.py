"""Installed versions read from the dist-info folder name agree with importlib.metadata."""

from __future__ import annotations

from importlib import metadata

import pytest

from unsound.versions import installed_version


@pytest.mark.parametrize("distribution", ["lark", "regex", "tree-sitter", "tree-sitter-rust"])
def test_the_version_is_the_one_importlib_metadata_reports(distribution: str) -> None:
    installed_version.cache_clear()
    assert installed_version(distribution) == metadata.version(distribution)


def test_a_distribution_that_is_not_installed_has_no_version() -> None:
    assert installed_version("no-such-distribution-anywhere") == "?"

"""Installed versions of the libraries that shape a scan's results, for the caches' keys.

`importlib.metadata` answers this, but importing it costs about 24 ms of every run, a tenth of
what a rescan may take. A wheel-installed distribution sits beside a `NAME-VERSION.dist-info`
folder in its site-packages; that folder's name is read directly, and `importlib.metadata` is
asked only when no such folder is found (an egg, a source checkout), so a version is never
guessed.
"""

from __future__ import annotations

import importlib.util
import os
import re
from functools import cache


@cache
def installed_version(distribution: str) -> str:
    """The installed version of `distribution` (e.g. `tree-sitter-rust`), or "?" if none."""
    normalized = re.sub(r"[-_.]+", "_", distribution).lower()
    spec = importlib.util.find_spec(normalized)
    if spec is not None and spec.origin is not None:
        package = os.path.dirname(spec.origin)
        site = os.path.dirname(package) if spec.submodule_search_locations else package
        for entry in _entries(site):
            name, _, rest = entry.partition("-")
            if rest.endswith(".dist-info") and re.sub(r"[-_.]+", "_", name).lower() == normalized:
                return rest[: -len(".dist-info")]
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"


@cache
def _entries(folder: str) -> tuple[str, ...]:
    try:
        return tuple(os.listdir(folder))
    except OSError:
        return ()

"""Repository, ref and commit of a local checkout, read from `.git` files: git is never run.

`cargo unsound upload` uses these when the CI variables (GITHUB_REPOSITORY, GITHUB_REF,
GITHUB_SHA) are not set. Reading files keeps the promise that nothing is executed in the tree, and
covers the cases that matter for an upload: a branch checkout (`ref: refs/heads/…`, loose or
packed), a detached HEAD, worktrees and submodules (a `.git` file with `gitdir:`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_GITHUB_REMOTE = re.compile(
    r"(?:github\.com|[^/:@]+)[:/](?P<owner>[^/:]+)/(?P<name>[^/]+?)(?:\.git)?/?$"
)


@dataclass(frozen=True)
class Checkout:
    """What `.git` says; any field may be empty when it cannot be read."""

    root: Path | None = None
    repo: str = ""
    ref: str = ""
    sha: str = ""


def read_checkout(start: Path) -> Checkout:
    """The checkout enclosing `start`, or an empty `Checkout` outside one."""
    for folder in (start, *start.parents):
        dot_git = folder / ".git"
        if dot_git.exists():
            git_dir = _git_dir(dot_git)
            if git_dir is None:
                return Checkout(root=folder)
            common = _common_dir(git_dir)
            ref, sha = _head(git_dir, common)
            return Checkout(root=folder, repo=_origin(common), ref=ref, sha=sha)
    return Checkout()


def _git_dir(dot_git: Path) -> Path | None:
    if dot_git.is_dir():
        return dot_git
    text = _read(dot_git)
    if text.startswith("gitdir:"):
        target = Path(text[len("gitdir:") :].strip())
        return target if target.is_absolute() else (dot_git.parent / target).resolve()
    return None


def _common_dir(git_dir: Path) -> Path:
    """Worktrees keep refs and config in the main repository's git folder."""
    text = _read(git_dir / "commondir").strip()
    if not text:
        return git_dir
    path = Path(text)
    return path if path.is_absolute() else (git_dir / path).resolve()


def _head(git_dir: Path, common: Path) -> tuple[str, str]:
    head = _read(git_dir / "HEAD").strip()
    if head.startswith("ref:"):
        ref = head[len("ref:") :].strip()
        return ref, _resolve_ref(ref, git_dir, common)
    return "", head if _SHA.match(head) else ""


def _resolve_ref(ref: str, git_dir: Path, common: Path) -> str:
    for folder in (git_dir, common):
        value = _read(folder / ref).strip()
        if _SHA.match(value):
            return value
    for line in _read(common / "packed-refs").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == ref and _SHA.match(parts[0]):
            return parts[0]
    return ""


def _origin(common: Path) -> str:
    """OWNER/NAME from the `origin` remote's URL (ssh, https or scp-like), if it has one."""
    section = ""
    for raw in _read(common / "config").splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = line
            continue
        if section.replace(" ", "") in ('[remote"origin"]',) and line.startswith("url"):
            url = line.split("=", 1)[1].strip() if "=" in line else ""
            match = _GITHUB_REMOTE.search(url)
            if match:
                return f"{match['owner']}/{match['name']}"
    return ""


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""

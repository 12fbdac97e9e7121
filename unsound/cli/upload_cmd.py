"""`cargo unsound upload FILE.sarif`: send a SARIF file to GitHub code scanning.

For CI systems other than GitHub Actions (where `github/codeql-action/upload-sarif` does this) and
for uploading from a laptop. Defaults come from the Actions variables (GITHUB_REPOSITORY,
GITHUB_REF, GITHUB_SHA, GITHUB_API_URL), then from the checkout's `.git` files; the token only from
GITHUB_TOKEN, never from an option (it would land in shell history and process lists).
Exit codes: 0 uploaded (and processed, with --wait), 2 bad usage (before any request),
3 the upload or its processing failed.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from unsound.cli.entry import invoke
from unsound.errors import UsageError
from unsound.model import ExitCode

DEFAULT_API_URL = "https://api.github.com"
_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")

app = typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False)


@app.command(context_settings={"help_option_names": ["-h", "--help"]})
def upload(
    sarif_file: Annotated[Path, typer.Argument(help="The SARIF file to upload")],
    repo: Annotated[
        str | None, typer.Option("--repo", help="OWNER/NAME (default: GITHUB_REPOSITORY, origin)")
    ] = None,
    ref: Annotated[
        str | None, typer.Option("--ref", help="refs/heads/NAME (default: GITHUB_REF, HEAD)")
    ] = None,
    sha: Annotated[
        str | None, typer.Option("--sha", help="Commit the SARIF describes (default: GITHUB_SHA)")
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option("--api-url", help="API root; GitHub Enterprise: https://HOST/api/v3"),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait until GitHub has processed it")
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds to wait for processing")
    ] = 300.0,
    poll_interval: Annotated[float, typer.Option("--poll-interval", hidden=True)] = 5.0,
) -> int:
    """Upload a SARIF file to GitHub code scanning (token from GITHUB_TOKEN)."""
    from unsound.cli import github_upload as gh
    from unsound.cli.git_defaults import read_checkout

    data = _read_sarif(sarif_file)
    checkout = read_checkout(Path.cwd().resolve())
    target = gh.Target(
        api_url=_api_url(api_url),
        repo=_repo(repo or os.environ.get("GITHUB_REPOSITORY") or checkout.repo),
        ref=_ref(ref or os.environ.get("GITHUB_REF") or checkout.ref),
        sha=_sha(sha or os.environ.get("GITHUB_SHA") or checkout.sha),
        token=_token(),
        checkout_uri=(checkout.root or Path.cwd().resolve()).as_uri(),
    )
    try:
        upload_id = gh.upload(target, gh.encode_sarif(data))
        print(
            f"uploaded {sarif_file} to {target.repo} at {target.ref}: id {upload_id}",
            file=sys.stderr,
        )
        if not wait:
            return ExitCode.CLEAN
        result = gh.wait(target, upload_id, interval=poll_interval, limit=timeout)
    except gh.UploadError as error:
        _print_error(error.message, error.hint, error.details)
        return ExitCode.INTERNAL
    if result.processing_status == "failed":
        _print_error("GitHub could not process the SARIF file", "", result.errors)
        return ExitCode.INTERNAL
    where = f": {result.analyses_url}" if result.analyses_url else ""
    print(f"processed by GitHub code scanning{where}", file=sys.stderr)
    return ExitCode.CLEAN


def _print_error(message: str, hint: str, details: tuple[str, ...]) -> None:
    print(f"error: {message}" + (f" — {hint}" if hint else ""), file=sys.stderr)
    for detail in details:
        print(f"  {detail}", file=sys.stderr)


def _read_sarif(path: Path) -> bytes:
    """The file's bytes, after checking it is a SARIF log (a wrong file is a usage error)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read the SARIF file: {error.strerror}", path=path) from error
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError("not a SARIF file: it is not JSON", path=path) from error
    if not isinstance(document, dict) or not isinstance(document.get("runs"), list):
        raise UsageError(
            "not a SARIF file: no `runs` list",
            path=path,
            hint="write one with `cargo unsound --format sarif --output FILE`",
        )
    return data


def _api_url(given: str | None) -> str:
    url = (given or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise UsageError(
            f"--api-url `{url}` is not an http(s) URL",
            hint="use https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise",
        )
    return url


def _repo(value: str) -> str:
    if not value:
        raise UsageError(
            "no repository to upload to",
            hint="pass --repo OWNER/NAME (or set GITHUB_REPOSITORY)",
        )
    if not _REPO.match(value):
        raise UsageError(f"--repo `{value}` is not OWNER/NAME")
    return value


def _ref(value: str) -> str:
    if not value:
        raise UsageError(
            "no ref for the upload", hint="pass --ref refs/heads/BRANCH (or set GITHUB_REF)"
        )
    if not value.startswith("refs/"):
        raise UsageError(
            f"--ref `{value}` is not a full ref",
            hint=f"write it as refs/heads/{value} (or refs/pull/N/merge for a pull request)",
        )
    return value


def _sha(value: str) -> str:
    if not value:
        raise UsageError("no commit for the upload", hint="pass --sha COMMIT (or set GITHUB_SHA)")
    if not _SHA.match(value.lower()):
        raise UsageError(f"--sha `{value}` is not a full commit id (40 hex digits)")
    return value.lower()


def _token() -> str:
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise UsageError(
            "GITHUB_TOKEN is not set",
            hint="export a token with the `security-events: write` permission as GITHUB_TOKEN "
            "(in a workflow: `env: GITHUB_TOKEN: ${{ github.token }}`)",
        )
    return token


def run_upload(args: list[str]) -> int:
    return invoke(typer.main.get_command(app), args, "cargo unsound upload")

"""GitHub's code-scanning SARIF API, with the standard library only.

`POST /repos/{owner}/{repo}/code-scanning/sarifs` takes the SARIF file gzipped and base64-encoded
with the commit and ref it describes, and answers 202 with an id; processing is asynchronous, so
`GET …/sarifs/{id}` is polled until `processing_status` is `complete` or `failed` (then GitHub's
`errors` say why). urllib is enough for two JSON calls and keeps the install free of an HTTP
library. Every failure becomes an `UploadError` whose message says what to do, because the usual
causes (code scanning off, a token without `security-events: write`, a wrong `--api-url`) all look
alike as bare status codes.

The token is sent only to the API host: a redirect to another host drops it.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "2022-11-28"
MAX_GZIP_BYTES = 10 * 1024 * 1024
TOOL_NAME = "cargo-unsound"


class UploadError(Exception):
    """An upload that failed after the request was made (exit code 3)."""

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        details: tuple[str, ...] = (),
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details  # GitHub's own error list, printed one per line
        self.status = status  # the HTTP status, when there was one


@dataclass(frozen=True)
class Target:
    """Where the upload goes and what it describes."""

    api_url: str  # https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server
    repo: str  # OWNER/NAME
    ref: str  # refs/heads/main, refs/pull/12/merge
    sha: str
    token: str = field(repr=False)
    checkout_uri: str = ""


@dataclass(frozen=True)
class Status:
    """GitHub's answer about one upload's processing."""

    processing_status: str  # pending | complete | failed
    errors: tuple[str, ...] = ()
    analyses_url: str = ""


def encode_sarif(data: bytes) -> str:
    """base64(gzip(file)), as the API wants; refuses what GitHub would refuse with a 413."""
    compressed = gzip.compress(data, mtime=0)
    if len(compressed) > MAX_GZIP_BYTES:
        raise UploadError(
            f"the SARIF file is {len(compressed) / 1e6:.1f} MB gzipped; GitHub accepts at most "
            f"{MAX_GZIP_BYTES // (1024 * 1024)} MB",
            hint="scan fewer packages, or raise --fail-on and drop low-severity rules with "
            "--ignore (cargo-unsound's own SARIF already stays within the limit)",
        )
    return base64.b64encode(compressed).decode("ascii")


def upload(target: Target, sarif_b64: str, *, timeout: float = 60.0) -> str:
    """POST the SARIF; the id GitHub gives the upload."""
    body = {
        "commit_sha": target.sha,
        "ref": target.ref,
        "sarif": sarif_b64,
        "tool_name": TOOL_NAME,
    }
    if target.checkout_uri:
        body["checkout_uri"] = target.checkout_uri
    answer = _call(target, "POST", _repo_path(target, "code-scanning/sarifs"), body, timeout)
    upload_id = answer.get("id") if isinstance(answer, dict) else None
    if not isinstance(upload_id, str) or not upload_id:
        raise UploadError("GitHub accepted the upload but returned no id", details=(str(answer),))
    return upload_id


def status(target: Target, upload_id: str, *, timeout: float = 60.0) -> Status:
    """One look at an upload's processing status."""
    path = _repo_path(target, f"code-scanning/sarifs/{urllib.parse.quote(upload_id, safe='')}")
    answer = _call(target, "GET", path, None, timeout)
    if not isinstance(answer, dict):
        raise UploadError("GitHub's status answer is not a JSON object", details=(str(answer),))
    errors = answer.get("errors") or ()
    return Status(
        processing_status=str(answer.get("processing_status", "pending")),
        errors=tuple(str(error) for error in errors) if isinstance(errors, list) else (),
        analyses_url=str(answer.get("analyses_url") or ""),
    )


def wait(
    target: Target,
    upload_id: str,
    *,
    interval: float = 5.0,
    limit: float = 300.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Status:
    """Poll until processing is `complete` or `failed`; an `UploadError` after `limit` seconds.

    GitHub may answer 404 for a moment right after accepting an upload; that counts as pending.
    """
    deadline = clock() + limit
    while True:
        try:
            current = status(target, upload_id)
        except UploadError as error:
            if error.status != 404:
                raise
            current = Status("pending")
        if current.processing_status in ("complete", "failed"):
            return current
        if clock() >= deadline:
            raise UploadError(
                f"GitHub is still processing upload {upload_id} after {limit:g} s",
                hint="look at the repository's Security tab later, or raise --timeout",
            )
        sleep(interval)


def _repo_path(target: Target, rest: str) -> str:
    owner, name = target.repo.split("/", 1)
    return f"/repos/{urllib.parse.quote(owner)}/{urllib.parse.quote(name)}/{rest}"


def _call(target: Target, method: str, path: str, body: Any, timeout: float) -> Any:
    url = target.api_url.rstrip("/") + path
    data = json.dumps(body).encode("utf-8") if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Accept", "application/vnd.github+json")
    request.add_header("X-GitHub-Api-Version", API_VERSION)
    request.add_header("Authorization", f"Bearer {target.token}")
    request.add_header("User-Agent", TOOL_NAME)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _opener().open(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        raise _http_error(target, error) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise UploadError(
            f"cannot reach {target.api_url}: {reason}",
            hint="check the network and --api-url (GitHub Enterprise: https://HOST/api/v3)",
        ) from error
    try:
        return json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as error:
        raise UploadError(
            f"{url} did not answer with JSON",
            hint="check --api-url (GitHub Enterprise: https://HOST/api/v3)",
        ) from error


def _http_error(target: Target, error: urllib.error.HTTPError) -> UploadError:
    """A status code turned into what is wrong and what to do, with GitHub's own message."""
    try:
        payload = json.loads(error.read() or b"{}")
    except (json.JSONDecodeError, OSError):
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    said = str(payload.get("message") or "")
    listed = payload.get("errors")
    details = tuple(str(item) for item in listed) if isinstance(listed, list) else ()
    github = f" (GitHub: {said})" if said else ""
    code = error.code
    known = _STATUS_MESSAGES.get(code)
    if known is None:
        return UploadError(f"{code} GitHub API error{github}", details=details, status=code)
    headline, hint = known
    message = headline.format(repo=target.repo, api=target.api_url)
    return UploadError(f"{code} {message}{github}", hint=hint, details=details, status=code)


# What each status the upload can meet means, and what to do (headline, hint).
_STATUS_MESSAGES: dict[int, tuple[str, str]] = {
    401: ("GitHub rejected the token", "set GITHUB_TOKEN to a valid token"),
    403: (
        "code scanning refused the upload to {repo}",
        "enable code scanning (Settings → Code security), and give the token the "
        "`security-events: write` permission (in a workflow: `permissions: "
        "security-events: write`; pull requests from forks never get it)",
    ),
    404: (
        "{repo} not found at {api}",
        "check --repo, and that the token can see the repository; GitHub Enterprise "
        "needs --api-url https://HOST/api/v3",
    ),
    413: (
        "the SARIF file is too large for GitHub",
        "GitHub accepts at most 10 MB gzipped; scan fewer packages or rules",
    ),
    422: (
        "GitHub refused the upload",
        "check --ref (refs/heads/NAME or refs/pull/N/merge) and that --sha is a commit GitHub has",
    ),
}


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects, but never carries the token to another host."""

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if (
            new is not None
            and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc
        ):
            new.remove_header("Authorization")
        return new


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_SameHostRedirects())

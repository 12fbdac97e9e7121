"""Writing a rendered report: to stdout, to a stream, or to a regular file atomically.

A report that a CI job uploads must be whole or absent: a half-written SARIF file uploads as an
error, or worse, as a valid file with results missing. So a regular file is written beside its
destination and renamed over it. That rename must never happen to anything else: replacing
`/dev/null` or `/dev/stdout` with a regular file (as root, in a container) breaks every later
process on the machine. Pipes, terminals and devices are therefore opened and written as streams.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import sys
from pathlib import Path

from unsound.errors import OutputError

# Kernel-provided trees: `/proc/self/fd/N` and the `/dev/stdout`, `/dev/fd/N` links into it.
_KERNEL_ROOTS = ("/dev/", "/proc/")
# Binary mode matters on Windows, where `os.open` would otherwise turn "\n" into "\r\n".
_BINARY = getattr(os, "O_BINARY", 0)


def write_output(text: str, destination: str | None) -> None:
    """Write `text` as UTF-8 to `destination`: None or "-" for stdout, else a path.

    Raises `OutputError` with the path and what to do when the destination cannot be written.
    """
    data = text.encode("utf-8")
    if destination is None or destination == "-":
        _write_stdout(data)
        return
    target = _resolve(destination)
    if _is_stream(destination, target):
        _write_stream(data, destination)
    else:
        _write_atomically(data, target, destination)


def _resolve(destination: str) -> Path:
    """The file a path finally names, so a symlink is written through, not replaced."""
    try:
        return Path(os.path.realpath(destination, strict=False))
    except OSError as error:  # a symlink loop
        raise _error(destination, error) from error


def _is_stream(destination: str, target: Path) -> bool:
    """Whether to write in place: a pipe, a device, or any path that leads through `/dev`'s links.

    `/dev/stdout` redirected to a file resolves to that regular file, yet renaming over the path
    would replace the symlink in `/dev`, and a rename or truncation of the file would clobber a
    shell's `>>` output. A pipe behind it resolves to `/proc/<pid>/fd/pipe:[…]`, which does not
    exist. Both are streams. A real regular file, even in `/dev/shm`, is replaced atomically.
    """
    given = os.path.abspath(destination)
    if str(target).startswith("/proc/"):
        return True
    if given.startswith(_KERNEL_ROOTS) and given != str(target):
        return True
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return False
    except OSError as error:
        raise _error(destination, error) from error
    if stat.S_ISDIR(mode):
        raise _error(destination, IsADirectoryError(errno.EISDIR, "Is a directory"))
    return not stat.S_ISREG(mode)


def _write_stdout(data: bytes) -> None:
    """Bytes straight to stdout, so the report is UTF-8 whatever the locale says."""
    sys.stdout.flush()
    stream = getattr(sys.stdout, "buffer", None)
    try:
        if stream is None:  # a replaced stdout that only takes text
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
        else:
            stream.write(data)
            stream.flush()
    except BrokenPipeError as error:
        _silence_stdout()
        raise OutputError(
            "the reader of standard output closed it before the report was written",
            path="<stdout>",
            hint="let the reading command consume the whole report, or use --output FILE",
        ) from error


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so Python's exit-time flush does not fail again on the pipe."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _write_stream(data: bytes, destination: str) -> None:
    """Write to a pipe or device as it is: append mode, never created, truncated or renamed.

    Append keeps `cmd --output /dev/stdout >> log` from truncating the log through the new open
    file description; for pipes and devices it changes nothing.
    """
    try:
        fd = os.open(destination, os.O_WRONLY | os.O_APPEND | _BINARY)
    except OSError as error:
        raise _error(destination, error) from error
    try:
        _write_all(fd, data)
    except OSError as error:
        raise _error(destination, error) from error
    finally:
        os.close(fd)


def _write_atomically(data: bytes, target: Path, destination: str) -> None:
    """Write a temporary file beside `target`, fsync it, then rename it over `target`."""
    folder = target.parent
    existing_mode = _regular_file_mode(target)
    if existing_mode is not None and not os.access(target, os.W_OK):
        # A rename would succeed over a read-only file; honour the protection as `>` would.
        raise OutputError(
            "cannot write the report: permission denied, the file is read-only",
            path=destination,
            hint="make it writable (chmod u+w) or choose another --output path",
        )
    try:
        fd, temp = _create_temp(folder, target.name)
    except OSError as error:
        raise _error(destination, error, folder=folder) from error
    try:
        try:
            if existing_mode is not None and hasattr(os, "fchmod"):
                os.fchmod(fd, existing_mode)  # keep the permissions the user gave the old file
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise _error(destination, error, folder=folder) from error
    _fsync_folder(folder)


def _regular_file_mode(target: Path) -> int | None:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return None


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    """A new hidden file beside the target, created with mode 0o666 so the umask applies.

    `tempfile.mkstemp` would create it 0o600 and leave a new report unreadable to others.
    """
    for _ in range(16):
        temp = folder / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
        except FileExistsError:
            continue
        return fd, temp
    raise FileExistsError(errno.EEXIST, "could not pick a temporary file name", str(folder))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; best effort, since some systems cannot open folders."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _error(destination: str, error: OSError, *, folder: Path | None = None) -> OutputError:
    """An `OutputError` that says what went wrong in words and what the user can do."""
    where = str(folder) if folder is not None else os.path.dirname(destination) or "."
    if isinstance(error, FileNotFoundError):
        return OutputError(
            f"cannot write the report: the folder {where} does not exist",
            path=destination,
            hint="create the folder first, or choose another --output path",
        )
    if isinstance(error, NotADirectoryError):
        return OutputError(
            "cannot write the report: a part of the path is a file, not a folder",
            path=destination,
            hint="choose an --output path whose folders are folders",
        )
    if isinstance(error, PermissionError):
        return OutputError(
            "cannot write the report: permission denied",
            path=destination,
            hint=f"choose a folder you can write to, or change the permissions of {where}",
        )
    if isinstance(error, IsADirectoryError):
        return OutputError(
            "cannot write the report: this is a directory",
            path=destination,
            hint="give a file name, for example "
            + os.path.join(destination, "cargo-unsound.sarif"),
        )
    if isinstance(error, BrokenPipeError):
        return OutputError(
            "cannot write the report: the reading end of the pipe was closed",
            path=destination,
            hint="keep the reading command running until the report is written",
        )
    reason = error.strerror or str(error)
    return OutputError(
        f"cannot write the report: {reason}",
        path=destination,
        hint="check the disk space and the path, or choose another --output path",
    )

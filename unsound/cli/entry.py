"""The `cargo-unsound` executable and `python -m unsound`.

Cargo runs `cargo-unsound unsound ARGS…` for `cargo unsound ARGS…`, so a first word `unsound` is
dropped. A first argument naming a subcommand dispatches to it; anything else is the scan command
(whose optional PATH would otherwise swallow subcommand names in a plain typer group).
Only this module turns errors into exit codes: expected errors print one clear message and exit 2,
anything else prints one line (never a traceback, unless UNSOUND_DEBUG=1) and exits 3.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from unsound.errors import UnsoundError
from unsound.model import ExitCode


def _subcommands() -> dict[str, Callable[[list[str]], int]]:
    from unsound.cli.baseline_cmd import run_baseline
    from unsound.cli.init_cmd import run_init
    from unsound.cli.rules_cmd import run_rules
    from unsound.cli.upload_cmd import run_upload

    return {"rules": run_rules, "baseline": run_baseline, "upload": run_upload, "init": run_init}


SUBCOMMAND_NAMES = ("rules", "baseline", "upload", "init")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["unsound"]:
        args = args[1:]
    try:
        if args and args[0] in SUBCOMMAND_NAMES:
            return _subcommands()[args[0]](args[1:])
        try:
            _start_loading_rules(args)
            from unsound.cli.scan_cmd import run_scan

            return run_scan(args)
        finally:
            early_pool = sys.modules.get("unsound.engine.early_pool")
            if early_pool is not None:
                early_pool.stop_early_worker()
            zygote = sys.modules.get("unsound.engine.zygote")
            if zygote is not None:
                zygote.stop_zygote()
    except UnsoundError as exc:
        print(exc.render(), file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return ExitCode.INTERNAL
    except Exception as exc:
        handled = _cli_framework_exit(exc)
        if handled is not None:
            return handled
        if os.environ.get("UNSOUND_DEBUG"):
            traceback.print_exc()
        print(
            f"error: internal error: {type(exc).__name__}: {exc} — this is a bug in "
            "cargo-unsound; rerun with UNSOUND_DEBUG=1 and report the output",
            file=sys.stderr,
        )
        return ExitCode.INTERNAL


_NO_SCAN_FLAGS = frozenset(("-h", "--help", "--version"))
# A project's own rule files: no worker forked early can run them. `-j` does not matter: a
# rescan of a few files in one crate takes one worker whatever it says, and the zygote forks as
# many workers as the scan asks for.
_OWN_RULES_FLAG = "--rules"
# Other rules than the defaults, all built in: the zygote builds their matcher at once, as it
# does the defaults' (`_selection_flags`); the early worker runs the defaults only.
_SELECTION_FLAGS = ("--select", "--ignore")


def _start_loading_rules(args: Sequence[str]) -> None:
    """Every scan needs the built-in rules: their loading (their compilation, when they are not
    in the compiled-rules cache) starts before the CLI's own imports (typer and the engine,
    about 0.1 s), which it then runs beside (`loader.prefetch_builtin_rules`). Only a guess
    from the raw arguments, before the CLI parses them: the scan command asks again with what
    it parsed, and a load started for a run that turns out not to need it (a usage error) is
    only wasted.

    When the rules are loaded already (from that cache, or as the package's build compiled
    them), the scan's workers get a head start too: when the tool has kept a cache on this
    machine before, this run is most likely a rescan, and its one worker starts now
    (`engine.early_pool`); otherwise (`--no-cache`, a first scan) every file will be scanned,
    and the process that forks the workers starts now (`engine.zygote`)."""
    if _NO_SCAN_FLAGS.intersection(args):
        return
    from unsound.dsl.loader import builtin_rules_loaded, prefetch_builtin_rules

    cache = "--no-cache" not in args
    prefetch_builtin_rules(cache=cache)
    if any(arg.startswith(_OWN_RULES_FLAG) for arg in args) or not builtin_rules_loaded():
        return
    defaults = not any(arg.startswith(_SELECTION_FLAGS) for arg in args)
    if cache and _likely_rescan():
        if defaults:
            _start_early_worker()
        return
    _start_zygote(cache=cache, selection=_selection_flags(args))


def _likely_rescan() -> bool:
    """Whether a scan has kept a cache on this machine (the caches' key exists): a first scan
    (a fresh CI runner) scans every file. The rules alone no longer tell, since an installed
    tool has them compiled from its first run on."""
    from unsound.engine.cache_identity import key_file

    return key_file().is_file()


def _start_early_worker() -> None:
    from unsound.cli.selection import select_rules
    from unsound.engine.early_pool import start_early_worker

    with contextlib.suppress(OSError):  # no worker now: the scan starts its own pool
        start_early_worker(select_rules([], [], [], cache=True))


def _start_zygote(*, cache: bool, selection: tuple[list[str], list[str]]) -> None:
    """The zygote, for any selection of the built-in rules, building at once the matcher of the
    one the command line names (a configuration may narrow it: the zygote then builds that
    one when it is asked for it)."""
    from unsound.cli.selection import select_rules
    from unsound.dsl.loader import load_rules
    from unsound.engine.zygote import start_zygote
    from unsound.errors import UsageError

    try:
        preload = select_rules([], *selection, cache=cache)
    except UsageError:  # an unknown name: the scan reports it; nothing to build meanwhile
        preload = []
    start_zygote(load_rules(cache=cache), preload)


def _selection_flags(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """The names after `--select` and `--ignore` (as `--select NAME` or `--select=NAME`)."""
    chosen: dict[str, list[str]] = {flag: [] for flag in _SELECTION_FLAGS}
    for flag, value in itertools.pairwise([*args, ""]):
        name, equals, attached = flag.partition("=")
        if name in chosen:
            chosen[name].append(attached if equals else value)
    return chosen["--select"], chosen["--ignore"]


def run() -> NoReturn:
    """The executables' entry point (`cargo-unsound`, `python -m unsound`): `main`, then an exit
    that skips tearing the interpreter down.

    Freeing every object and module of a finished scan (its cache, its sources) took a rescan
    of wasmtime 30 ms, 7% of it, for nothing: the process is ending. As mypy does, the exit
    handlers run (they close what multiprocessing and the worker pool opened), the standard
    streams are flushed, and the process exits with `main`'s code. Tests call `main` instead.
    """
    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing left to tell
            stream.flush()
    os._exit(code)


def _cli_framework_exit(exc: Exception) -> int | None:
    """Exit code for the CLI framework's own signals (usage errors, `Exit`, `Abort`).

    Typer ships click vendored in recent releases and depends on click in older ones, so the
    exception classes differ by version; recognise them by shape, not by import.
    """
    name = type(exc).__name__
    if name == "Exit" and hasattr(exc, "exit_code"):
        return int(exc.exit_code)
    if name == "Abort":
        print("error: interrupted", file=sys.stderr)
        return int(ExitCode.INTERNAL)
    show = getattr(exc, "show", None)
    if callable(show) and hasattr(exc, "exit_code"):
        show(file=sys.stderr)
        return int(ExitCode.USAGE)
    return None


def invoke(app: Any, args: list[str], prog: str) -> int:
    """Run a click/typer command without its own exit handling, returning our exit code."""
    result = app.main(args=args, prog_name=prog, standalone_mode=False)
    return int(result) if isinstance(result, int) else ExitCode.CLEAN

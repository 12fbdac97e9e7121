"""`cargo unsound rules list|show|check|test`: tools for rule authors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from unsound.cli.entry import invoke
from unsound.errors import UsageError
from unsound.model import ExitCode

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Inspect, check and test rules.",
)

_RulesOption = Annotated[
    list[Path] | None, typer.Option("--rules", help="Extra rule file or folder (repeatable)")
]


@app.command("list")
def list_rules(rules: _RulesOption = None) -> int:
    """Every rule: id, default severity, pack and title."""
    from unsound.dsl.loader import load_rules

    loaded = load_rules(rules or [])
    width = max((len(r.id) for r in loaded), default=0)
    for rule in sorted(loaded, key=lambda r: (r.info.pack, r.id)):
        enabled = "" if rule.info.enabled_by_default else " (off by default)"
        print(
            f"{rule.id:<{width}}  {rule.info.severity.value:<7}  {rule.info.pack:<10}  "
            f"{rule.info.title}{enabled}"
        )
    return ExitCode.CLEAN


@app.command("show")
def show_rule(
    rule_id: Annotated[str, typer.Argument(help="Rule id")], rules: _RulesOption = None
) -> int:
    """A rule's help."""
    from unsound.dsl.loader import load_rules

    for rule in load_rules(rules or []):
        if rule.id == rule_id:
            info = rule.info
            print(f"{info.id} ({info.severity.value}, pack {info.pack}): {info.title}")
            if info.tags:
                print("tags: " + ", ".join(info.tags))
            print()
            print(info.help_text.rstrip())
            print()
            print(f"More: {info.help_uri}")
            return ExitCode.CLEAN
    raise UsageError(f"no rule `{rule_id}`", hint="see `cargo unsound rules list`")


@app.command("check")
def check_rules(
    files: Annotated[list[Path], typer.Argument(help="Rule files or folders")],
) -> int:
    """Parse and validate rule files without running them."""
    from unsound.dsl.loader import compile_rule_files, user_rule_files

    compiled = compile_rule_files(user_rule_files(files))
    print(f"{len(compiled)} rule{'s' if len(compiled) != 1 else ''} OK")
    return ExitCode.CLEAN


@app.command("test")
def test_rules(
    files: Annotated[
        list[Path] | None, typer.Argument(help="Rule files or folders (default: built-in packs)")
    ] = None,
) -> int:
    """Run every rule's `example bad` / `example good` blocks, and the `.rs` files in a
    `NAME.tests/` folder beside each rule file `NAME.rules`; exit 1 if any fails."""
    from unsound.dsl.loader import builtin_rule_files, compile_rule_files, user_rule_files
    from unsound.engine.examples import run_examples, run_snippet_file

    sources = user_rule_files(files) if files else builtin_rule_files()
    passed = failed = 0
    for pack, display, text in sources:
        rules = compile_rule_files([(pack, display, text)])
        for rule in rules:
            for result in run_examples(rule):
                if result.passed:
                    passed += 1
                    continue
                failed += 1
                print(
                    f"{result.path}:{result.line}: FAIL {result.rule_id} example "
                    f"{result.kind}: {result.describe()}"
                )
        for snippet in _snippet_files(display):
            outcome = run_snippet_file(rules, str(snippet), snippet.read_text(encoding="utf-8"))
            if outcome.passed:
                passed += 1
            else:
                failed += 1
                print(f"{snippet}: FAIL {outcome.describe()}")
    print(f"{passed} passed, {failed} failed")
    return ExitCode.FINDINGS if failed else ExitCode.CLEAN


def _snippet_files(rule_file: str) -> list[Path]:
    """`X.tests/**/*.rs` beside a rule file `X.rules` (none for built-in packs' display paths)."""
    path = Path(rule_file)
    folder = path.with_suffix(".tests")
    if not folder.is_dir():
        return []
    return sorted(folder.rglob("*.rs"))


def run_rules(args: list[str]) -> int:
    return invoke(typer.main.get_command(app), args, "cargo unsound rules")

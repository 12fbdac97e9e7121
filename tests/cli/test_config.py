"""Workspace configuration: where it is read from, what it may say, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from unsound.cli.config import load_config
from unsound.errors import UnsoundError
from unsound.model import Severity

KNOWN = {"raw-pointer-escapes-lifetime", "napi-external-by-value", "lifetime", "napi"}
CARGO = '[package]\nname = "x"\nversion = "0.1.0"\n'


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def error_of(root: Path) -> str:
    with pytest.raises(UnsoundError) as caught:
        load_config(root, KNOWN)
    return caught.value.render().splitlines()[0]


def test_no_configuration(tmp_path: Path) -> None:
    write(tmp_path, "Cargo.toml", CARGO)
    config = load_config(tmp_path, KNOWN)
    assert config.source is None
    assert config.notes() == []


def test_package_metadata(tmp_path: Path) -> None:
    write(
        tmp_path,
        "Cargo.toml",
        CARGO + '[package.metadata.unsound]\nignore = ["napi"]\n'
        '[package.metadata.unsound.severity]\nraw-pointer-escapes-lifetime = "note"\n',
    )
    config = load_config(tmp_path, KNOWN)
    assert config.ignore == ("napi",)
    assert config.severity == {"raw-pointer-escapes-lifetime": Severity.NOTE}
    assert config.notes() == [
        "Cargo.toml [package.metadata.unsound] ignores: napi",
        "Cargo.toml [package.metadata.unsound] sets the severity of "
        "raw-pointer-escapes-lifetime to note",
    ]


def test_unsound_toml_wins_over_cargo_metadata(tmp_path: Path) -> None:
    write(tmp_path, "Cargo.toml", CARGO + '[package.metadata.unsound]\nignore = ["napi"]\n')
    write(tmp_path, "unsound.toml", 'select = ["lifetime"]\n')
    config = load_config(tmp_path, KNOWN)
    assert (config.source, config.select, config.ignore) == ("unsound.toml", ("lifetime",), ())


def test_unknown_key_is_located(tmp_path: Path) -> None:
    write(tmp_path, "unsound.toml", 'select = ["lifetime"]\nignroe = ["napi"]\n')
    assert error_of(tmp_path) == (
        f"{tmp_path / 'unsound.toml'}:2:1: error: unknown configuration key `ignroe` — "
        "did you mean `ignore`?"
    )


def test_unknown_rule_is_located(tmp_path: Path) -> None:
    write(tmp_path, "unsound.toml", 'ignore = ["napi", "raw-pointer-escapes-lifetim"]\n')
    assert error_of(tmp_path) == (
        f"{tmp_path / 'unsound.toml'}:1:19: error: unknown rule id or tag "
        "`raw-pointer-escapes-lifetim` — did you mean `raw-pointer-escapes-lifetime`?"
    )


def test_bad_severity(tmp_path: Path) -> None:
    write(tmp_path, "unsound.toml", '[severity]\nraw-pointer-escapes-lifetime = "low"\n')
    assert error_of(tmp_path).startswith(
        f"{tmp_path / 'unsound.toml'}:2:1: error: severity of `raw-pointer-escapes-lifetime` "
        'must be "error", "warning" or "note"'
    )


def test_rule_path_outside_the_workspace_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (tmp_path / "evil.rules").write_text("", encoding="utf-8")
    write(root, "unsound.toml", 'rules = ["../evil.rules"]\n')
    assert error_of(root) == (
        f"{root / 'unsound.toml'}:1:10: error: rule path `../evil.rules` is outside the "
        "workspace — rule files named by the scanned tree must live inside it; pass others "
        "with --rules"
    )


def test_wrong_type(tmp_path: Path) -> None:
    write(tmp_path, "unsound.toml", 'ignore = "napi"\n')
    assert "`ignore` must be an array of strings" in error_of(tmp_path)


def test_configuration_applies_to_a_scan_and_is_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    import shutil

    from unsound.cli.entry import main

    example = Path(__file__).resolve().parents[2] / "examples" / "seeded-workspace"
    root = tmp_path / "ws"
    shutil.copytree(example, root, ignore=shutil.ignore_patterns("target"))
    write(
        root,
        "unsound.toml",
        'ignore = ["napi-external-by-value"]\n[severity]\nraw-pointer-escapes-lifetime = "note"\n',
    )
    code = main([str(root), "--format", "json", "--fail-on", "warning"])
    captured = capsys.readouterr()
    assert code == 0  # everything left is a note, below --fail-on warning
    report = json.loads(captured.out)
    assert {f["rule"] for f in report["findings"]} == {"raw-pointer-escapes-lifetime"}
    assert {f["severity"] for f in report["findings"]} == {"note"}
    assert len(report["findings"]) == 8
    assert "unsound.toml ignores: napi-external-by-value" in captured.err
    assert "unsound.toml sets the severity of raw-pointer-escapes-lifetime to note" in captured.err

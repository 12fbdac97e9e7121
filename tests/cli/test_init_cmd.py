"""`cargo unsound init --github`: the workflow file, where it goes, and what it must say."""

from __future__ import annotations

from pathlib import Path

import pytest

from unsound import __version__
from unsound.cli.entry import main
from unsound.cli.init_cmd import workflow

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().err


def test_writes_the_workflow_at_the_repository_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    workspace = tmp_path / "rust ws"
    workspace.mkdir()
    code, err = run(["init", "--github", str(workspace)], capsys)
    assert code == 0, err
    written = tmp_path / ".github" / "workflows" / "unsound.yml"
    text = written.read_text(encoding="utf-8")
    assert "cargo-unsound 'rust ws' --workspace --format sarif --output unsound.sarif" in text
    assert 'category: "cargo-unsound/rust ws"' in text
    assert str(written) in err


def test_workflow_content() -> None:
    text = workflow(".")
    assert f'pip install "cargo-unsound=={__version__}"' in text
    assert "security-events: write" in text
    assert "uses: github/codeql-action/upload-sarif@v3" in text
    assert "sarif_file: unsound.sarif" in text
    assert "cargo-unsound --workspace --format sarif" in text
    # Never `cargo unsound`: an [alias] in the scanned tree could shadow it.
    assert "cargo unsound " not in text.replace("`cargo unsound init --github`", "")
    assert "${{ !cancelled() && hashFiles('unsound.sarif') != '' }}" in text
    assert "\t" not in text


def test_workflow_is_valid_yaml() -> None:
    yaml = pytest.importorskip("yaml")
    document = yaml.safe_load(workflow("crates/x"))
    job = document["jobs"]["cargo-unsound"]
    assert job["permissions"] == {"contents": "read", "security-events": "write"}
    steps = job["steps"]
    assert steps[-1]["with"] == {
        "sarif_file": "unsound.sarif",
        "category": "cargo-unsound/crates/x",
    }


def test_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    target = tmp_path / ".github" / "workflows" / "unsound.yml"
    target.parent.mkdir(parents=True)
    target.write_text("mine\n")
    code, err = run(["init", "--github", str(tmp_path)], capsys)
    assert code == 2
    assert "already exists" in err and "--force" in err
    assert target.read_text() == "mine\n"
    code, _ = run(["init", "--github", "--force", str(tmp_path)], capsys)
    assert code == 0
    assert "upload-sarif" in target.read_text()


def test_without_git_writes_beside_the_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _ = run(["init", "--github"], capsys)
    assert code == 0
    assert "cargo-unsound --workspace" in (tmp_path / ".github/workflows/unsound.yml").read_text()


def test_needs_github_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["init", str(tmp_path)], capsys)
    assert code == 2 and "--github" in err
    assert not (tmp_path / ".github").exists()


def test_action_yml_is_a_composite_action_that_calls_the_binary() -> None:
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    assert "using: composite" in text
    assert '"$GITHUB_ACTION_PATH"' in text  # installs the tagged code itself
    assert "github/codeql-action/upload-sarif@v3" in text
    assert "cargo unsound " not in text.replace("`cargo unsound`", "")
    # Inputs go through env, never spliced into a script.
    for line in text.splitlines():
        if line.strip().startswith(("cargo-unsound ", "python -m", "run: python")):
            assert "${{" not in line
    yaml = pytest.importorskip("yaml")
    document = yaml.safe_load(text)
    assert document["runs"]["using"] == "composite"

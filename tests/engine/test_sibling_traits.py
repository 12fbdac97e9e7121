"""A trait another crate of the workspace declares bounds a parameter as the crate's own trait
does (`crate-bounded`): tikv's `unsafe impl<S, P> Send for Detector<S, P> where P: PdClient`,
whose `PdClient: Send + Sync` lives in the sibling crate `pd_client`, which a scan of one crate
cannot read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_scan_support import ROOT, scan_folder

from unsound.dsl.loader import load_rules
from unsound.engine.cache import rules_key
from unsound.engine.scan import workspace_crate_names
from unsound.engine.workspace import find_manifest, load_workspace

FIXTURE = ROOT / "tests" / "fixtures" / "workspaces" / "sibling_traits"
RULE = "send-impl-without-send-bound"


@pytest.mark.parametrize("jobs", [0, 2])
def test_a_parameter_bounded_by_a_sibling_crates_trait_is_not_reported(
    tmp_path: Path, jobs: int
) -> None:
    workspace = shutil.copytree(FIXTURE, tmp_path / "ws")
    rules = [rule for rule in load_rules() if rule.id == RULE]
    report = scan_folder(workspace, jobs=jobs, rules=rules)
    found = [
        (f.rule_id, f.primary.path, f.primary.span.start_line, f.primary.span.start_column)
        for f in report.findings
    ]
    # `Detector<P>` (imported `PdClient`) and `Named<P>` (`pd_client::PdClient`) are not
    # reported; `Shown<T: Display>` still is.
    assert found == [(RULE, "app/src/lib.rs", 29, 13)]


def test_the_crate_names_are_the_members_library_names_and_key_the_cache() -> None:
    workspace = load_workspace(find_manifest(manifest_path=None, path=FIXTURE, cwd=FIXTURE))
    names = workspace_crate_names(workspace)
    assert names == {"pd_client", "app"}
    rules = load_rules()
    # A crate added to or gone from the workspace changes what `crate-bounded` says of an
    # import, so the cached outcomes of the old set are not reused.
    assert rules_key(rules, names) != rules_key(rules, names - {"pd_client"})
    assert rules_key(rules, names) == rules_key(rules, sorted(names))

"""Findings survive the cache's JSON exactly, and malformed entries are refused."""

from __future__ import annotations

import json

import pytest
from test_scan_support import SEEDED, scan_folder

from unsound.engine.cache_codec import decode, encode
from unsound.engine.crate_scan import FileOutcome
from unsound.model import Finding, ProblemKind, ScanProblem


def test_every_seeded_finding_round_trips() -> None:
    findings = scan_folder(SEEDED).findings
    assert findings
    for finding in findings:
        assert decode(Finding, json.loads(json.dumps(encode(finding)))) == finding


def test_an_outcome_with_problems_round_trips() -> None:
    problem = ScanProblem("a.rs", ProblemKind.PARTLY_PARSED, "partly", 3, None)
    outcome = FileOutcome("a.rs", (), (problem,), crate_dependent=True)
    assert decode(FileOutcome, json.loads(json.dumps(encode(outcome)))) == outcome


_GOOD = {
    "rel_path": "a",
    "findings": [],
    "problems": [],
    "crate_dependent": False,
    "cacheable": True,
    "crate_reads": None,
}


def test_the_well_formed_value_decodes() -> None:
    assert decode(FileOutcome, _GOOD) == FileOutcome("a")


@pytest.mark.parametrize(
    "value",
    [
        None,
        [],
        {"rel_path": "a.rs"},
        {**_GOOD, "rel_path": 1},
        {**_GOOD, "findings": {}},
        {**_GOOD, "crate_dependent": 0},
        {**_GOOD, "problems": [{"path": "a", "kind": "gone"}]},
    ],
)
def test_malformed_values_raise_value_error(value: object) -> None:
    with pytest.raises(ValueError):
        decode(FileOutcome, value)

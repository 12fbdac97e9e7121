"""A short hypothesis run of each fuzzing target, in CI; `bench/fuzz/run.py` runs them for an hour.

The property is the one `robustness_targets` states: every input ends in a result or a clean
`UnsoundError`. Examples are few so the whole robustness suite stays near a minute; the database is
off so a CI run never depends on what an earlier run found.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from robustness_targets import (
    check_item_parsing,
    check_manifest_pair,
    check_rule_text,
    check_source,
    item_files,
    manifest_pairs,
    rule_inputs,
    rust_inputs,
)

_SHORT = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_SHORT
@given(rule_inputs())
def test_rule_file_parser_never_crashes(text: str) -> None:
    check_rule_text(text)


@_SHORT
@given(manifest_pairs())
def test_manifest_loader_never_crashes(pair: tuple[bytes, bytes]) -> None:
    check_manifest_pair(pair)


@_SHORT
@given(rust_inputs())
def test_source_pipeline_never_crashes(data: bytes) -> None:
    check_source(data)


@_SHORT
@given(item_files())
def test_parsing_pieces_finds_what_parsing_whole_files_finds(data: bytes) -> None:
    check_item_parsing(data)

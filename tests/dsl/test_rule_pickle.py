"""A compiled rule's pickled form (`dsl.rule_pickle`): its id, metadata and fingerprint at once,
its body as bytes loaded on first use, as restrictively as the compiled-rules cache."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
from test_rule_cache import comparable

from unsound.dsl.compiled import BODY_FIELDS, CompiledRule
from unsound.dsl.loader import load_rules
from unsound.dsl.rule_pickle import reduce_rule, restore_rule


def restored_rules() -> tuple[list[CompiledRule], list[CompiledRule]]:
    rules = load_rules()
    return rules, pickle.loads(pickle.dumps(rules))


def test_a_restored_rule_has_its_body_loaded_when_first_asked_and_equals_the_compiled_one() -> None:
    rules, restored = restored_rules()
    assert len(restored) == len(rules) == 32
    for rule, again in zip(rules, restored, strict=True):
        assert "_body" in vars(again)
        assert not set(BODY_FIELDS) & set(vars(again))
        assert (again.id, again.info, again.fingerprint) == (rule.id, rule.info, rule.fingerprint)
        assert "_body" in vars(again), "reading the metadata leaves the body alone"
        assert comparable(again) == comparable(rule)
        assert "_body" not in vars(again) and set(BODY_FIELDS) <= set(vars(again))


def test_a_rule_pickled_again_before_its_body_is_loaded_passes_on_the_same_bytes() -> None:
    _, restored = restored_rules()
    rule = restored[0]
    body = vars(rule)["_body"]
    assert reduce_rule(rule)[1][3] is body
    assert pickle.loads(pickle.dumps(rule)).__dict__["_body"] == body
    assert "_body" in vars(rule)


class _Call:
    """Pickles as a call of `function(argument)`."""

    def __init__(self, function: object, argument: str) -> None:
        self.function, self.argument = function, argument

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return self.function, (self.argument,)


def test_a_body_naming_any_other_global_is_refused_and_nothing_runs(tmp_path: Path) -> None:
    rules, _ = restored_rules()
    marker = tmp_path / "pwned"
    planted = pickle.dumps((_Call(os.system, f"touch {marker}"),) * len(BODY_FIELDS))
    rule = restore_rule(rules[0].info, rules[0].id, rules[0].fingerprint, planted)
    with pytest.raises(pickle.UnpicklingError, match=r"\.system is not part of a compiled rule"):
        rule.patterns  # noqa: B018 - loads the body
    assert not marker.exists()


@pytest.mark.parametrize("body", [pickle.dumps((1, 2)), pickle.dumps([None] * len(BODY_FIELDS))])
def test_a_body_of_another_shape_is_refused(body: bytes) -> None:
    rules, _ = restored_rules()
    rule = restore_rule(rules[0].info, rules[0].id, rules[0].fingerprint, body)
    with pytest.raises(pickle.UnpicklingError, match="another shape"):
        rule.ast  # noqa: B018 - loads the body


def test_a_body_that_is_not_bytes_is_refused_at_once() -> None:
    rules, _ = restored_rules()
    with pytest.raises(pickle.UnpicklingError, match="must be bytes"):
        restore_rule(rules[0].info, rules[0].id, rules[0].fingerprint, "text")  # type: ignore[arg-type]


def test_a_name_that_is_no_field_is_still_an_attribute_error() -> None:
    _, restored = restored_rules()
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        restored[0].nonsense  # type: ignore[attr-defined]  # noqa: B018
    assert "_body" in vars(restored[0])


def test_no_body_field_has_a_class_default() -> None:
    """A default is a class attribute, which `__getattr__` never sees: a restored rule would
    answer it instead of loading its body."""
    assert [name for name in BODY_FIELDS if hasattr(CompiledRule, name)] == []

"""The built-in rules compiled at the package's build load in place of a compilation, only
under their own key, and only through the restricted unpickler."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from unsound.dsl import loader, rule_bundle
from unsound.dsl.compiled import CompiledRule
from unsound.dsl.loader import builtin_rule_files, load_rules
from unsound.dsl.rule_bundle import BUNDLE_NAME, build_bundle, read_bundle, write_bundle
from unsound.dsl.rule_cache import cache_key
from unsound.errors import RuleError


@pytest.fixture
def no_loaded_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "_COMPILED", {})
    monkeypatch.setattr(loader, "_PENDING", {})


def _needles(rules: list[CompiledRule]) -> list[tuple[str, list[bytes], list[bytes]]]:
    return [
        (r.id, [n.pattern for n in r.prefilter], [n.pattern for n in r.locators]) for r in rules
    ]


def test_a_bundle_loads_the_rules_it_was_built_from(tmp_path: Path) -> None:
    path = build_bundle(tmp_path)
    assert path == tmp_path / BUNDLE_NAME
    loaded = read_bundle(builtin_rule_files(), path)
    assert loaded is not None
    assert _needles(loaded) == _needles(load_rules())
    # A rule's body (its tree, patterns) is there too, unpickled on first use.
    assert [len(r.patterns) for r in loaded] == [len(r.patterns) for r in load_rules()]


def test_a_bundle_of_other_rule_texts_or_no_bundle_is_not_used(tmp_path: Path) -> None:
    files = builtin_rule_files()
    path = build_bundle(tmp_path)
    pack, display, text = files[0]
    edited = [(pack, display, text + "\n// one more line\n"), *files[1:]]
    assert read_bundle(edited, path) is None
    assert read_bundle(files, tmp_path / "missing.bin") is None


@pytest.mark.parametrize(
    "body",
    [
        b"not a pickle",
        pickle.dumps(["a list of strings"]),
        # A pickle that would run a program if its classes resolved.
        b"cos\nsystem\n(S'touch /tmp/unsound-pwned'\ntR.",
    ],
)
def test_a_bundle_that_does_not_hold_rules_is_ignored(tmp_path: Path, body: bytes) -> None:
    files = builtin_rule_files()
    path = tmp_path / BUNDLE_NAME
    path.write_bytes(cache_key(files).encode() + b"\n" + body)
    assert read_bundle(files, path) is None


def test_the_loader_takes_the_packages_bundle_instead_of_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_loaded_rules: None
) -> None:
    files = builtin_rule_files()
    path = write_bundle(tmp_path, files, load_rules())
    loader._COMPILED.clear()
    monkeypatch.setattr(rule_bundle, "bundle_path", lambda: path)

    def no_compiling(*args: object) -> None:
        raise AssertionError("compiled although the package holds the compiled rules")

    monkeypatch.setattr(loader, "compile_rule_files", no_compiling)
    monkeypatch.setattr(loader, "_compile_in_order", no_compiling)
    loader.prefetch_builtin_rules(cache=False)
    assert loader.builtin_rules_loaded() and not loader._PENDING
    bundled = read_bundle(files, path)
    assert bundled is not None
    assert [r.id for r in load_rules(cache=False)] == [r.id for r in bundled]


OWN_RULE = """rule {rule_id} {{
  title "a transmute"
  severity warning
  match `transmute($X)`
  message "here"
  location $MATCH "here"
  example bad `fn f(x: u32) -> f32 {{ unsafe {{ std::mem::transmute(x) }} }} // ruleid: {rule_id}`
  example good `fn f(x: u32) -> u32 {{ x }}`
  help \"\"\"
  ## What it does
  x
  \"\"\"
}}
"""


def test_a_projects_own_rules_are_compiled_beside_the_bundled_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_loaded_rules: None
) -> None:
    path = write_bundle(tmp_path, builtin_rule_files(), load_rules())
    builtin_ids = [r.id for r in load_rules()]
    loader._COMPILED.clear()
    monkeypatch.setattr(rule_bundle, "bundle_path", lambda: path)

    def no_compiling(*args: object) -> None:
        raise AssertionError("the built-in rules compiled although the package holds them")

    monkeypatch.setattr(loader, "compile_rule_files", no_compiling)
    own = tmp_path / "own.rules"
    own.write_text(OWN_RULE.format(rule_id="own-transmute"), encoding="utf-8")
    assert [r.id for r in load_rules([own])] == [*builtin_ids, "own-transmute"]
    # An id the project defines again is an error, as when everything is compiled.
    again = tmp_path / "again.rules"
    again.write_text(OWN_RULE.format(rule_id="mut-from-ref"), encoding="utf-8")
    with pytest.raises(RuleError, match="`mut-from-ref` is defined twice") as error:
        load_rules([again])
    assert "<builtin>/lifetimes.rules" in error.value.render()

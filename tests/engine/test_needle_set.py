"""RE2's one-pass needle search answers exactly as Python's `re` does, per needle and per file.

`dsl.re2_syntax` rewrites a Python regex for RE2, exactly or widened; `engine.needle_set` uses
exact hits alone and confirms widened ones with `re`. Each test below compares with `re` itself.
"""

from __future__ import annotations

import functools
import itertools
import random
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unsound.dsl.loader import load_rules
from unsound.dsl.needle import Needle
from unsound.dsl.re2_syntax import to_re2
from unsound.engine import needle_set as needle_set_module
from unsound.engine import prefilter as prefilter_module
from unsound.engine.needle_set import NeedleSet, needle_set
from unsound.engine.prefilter import RuleSetPrefilter

re2 = pytest.importorskip("re2")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@functools.cache
def _builtin_needles() -> list[Needle]:
    needles: dict[bytes, Needle] = {}
    for rule in load_rules():
        for needle in (*rule.prefilter, *rule.region_prefilter):
            needles.setdefault(needle.pattern, needle)
    return list(needles.values())


def _re2_search(source: str, data: bytes) -> bool:
    options = re2.Options()
    options.encoding = re2.Options.Encoding.LATIN1
    return re2.compile(source.encode("latin-1"), options).search(data) is not None


@functools.cache
def _builtin_set() -> NeedleSet:
    return NeedleSet(re2, _builtin_needles())


# Each construct the rewrite handles, with whether RE2 then matches exactly the same texts.
CONSTRUCTS = [
    (rb"\bSend\s+for\b", True),
    (rb"\*\s*(?:const|mut)\b|NonNull", True),
    (rb"[^\s<(]+\(", True),
    (rb"\W\d+\S", True),
    (rb"a.b", True),
    (rb"(?s)a.b", True),
    (rb"(?m)^unsafe$", True),
    (rb"\Aunsafe", True),
    (rb"unsafe\Z", True),
    (rb"x{2,3}?y", True),
    (rb"//[^\n]*\n", True),
    (rb"/\*(?:[^*]|\*+[^*/])*\*+/", True),
    (rb"\bfrom_raw(?<![^.]\.from_raw)\s*\(", False),  # lookbehind dropped
    (rb"a(?=b)", False),
    (rb"a(?!b)c", False),
    (rb"unsafe$", False),  # Python's `$` also matches before a final newline
    (rb"(?i)unsafe", False),  # RE2 (Latin-1) folds more than Python's bytes regexes
    (rb"(?i)[^a]x", False),
    (rb"a{2,5000}", False),
]
if sys.version_info >= (3, 11):
    CONSTRUCTS += [(rb"a++b", False), (rb"(?>a|ab)c", False)]


@pytest.mark.parametrize(("pattern", "exact"), CONSTRUCTS)
def test_each_construct_is_rewritten_exactly_or_widened(pattern: bytes, exact: bool) -> None:
    rewritten = to_re2(pattern)
    assert rewritten is not None and rewritten.exact is exact


@pytest.mark.parametrize(
    "pattern", [rb"(a)\1", rb"(?P<x>a)(?P=x)", rb"(a)?(?(1)b|c)", rb"[^\x00-\xff]"]
)
def test_what_re2_cannot_express_has_no_rewrite(pattern: bytes) -> None:
    assert to_re2(pattern) is None


# Texts built from the needles' own pieces, so that matches (and near misses) are common.
_PIECES = [
    "unsafe",
    "Send",
    "for",
    "from_raw",
    ".from_raw",
    "..",
    "(",
    ")",
    "*",
    "/",
    "/*",
    "*/",
    "//",
    "\n",
    " ",
    "\t",
    "\v",
    "\f",
    ",",
    "mut",
    "const",
    "NonNull",
    "a",
    "b",
    "x",
    "c",
    "é",
    "É",
    "->",
    "&",
    "let",
    "read",
    "_",
    "9",
    "<",
    "UNSAFE",
]
_texts = st.lists(st.sampled_from(_PIECES), max_size=24).map(lambda p: "".join(p).encode())


@settings(max_examples=300, deadline=None)
@given(text=_texts)
def test_rewrites_match_as_python_does(text: bytes) -> None:
    for pattern, _exact in CONSTRUCTS:
        rewritten = to_re2(pattern)
        assert rewritten is not None
        python = re.search(pattern, text) is not None
        found = _re2_search(rewritten.source, text)
        if rewritten.exact:
            assert found == python, (pattern, text)
        else:
            assert found or not python, (pattern, text)


@settings(max_examples=200, deadline=None)
@given(text=_texts)
def test_builtin_needles_answer_as_python_does(text: bytes) -> None:
    needles = _builtin_needles()
    found_by = _builtin_set()
    hits = found_by.hits(text)
    for needle in needles:
        assert found_by.found(needle, text, hits) == needle.search(text), (needle, text)


def test_builtin_needles_rewrite_exactly_but_for_their_lookbehinds() -> None:
    widened = set()
    for needle in _builtin_needles():
        for alternative in needle.alternatives:
            rewritten = to_re2(alternative.encode())
            assert rewritten is not None, alternative
            if not rewritten.exact:
                widened.add(alternative)
    assert widened and all("(?<!" in alternative for alternative in widened)


def test_the_gap_regex_reads_comments_as_its_lookahead_form_did() -> None:
    """`dsl.phrases._GAP`'s comment, written for RE2, is the same language as before."""
    before = re.compile(r"/\*(?:[^*]|\*(?!/))*\*/")
    after = re.compile(r"/\*(?:[^*]|\*+[^*/])*\*+/")
    for length in range(11):
        for letters in itertools.product("a*/", repeat=length):
            text = "".join(letters)
            assert bool(before.fullmatch(text)) == bool(after.fullmatch(text)), text


def _prefilters() -> tuple[RuleSetPrefilter, RuleSetPrefilter]:
    rules = load_rules()
    with_re2, without = RuleSetPrefilter(rules), RuleSetPrefilter(rules)
    with_re2._searched = prefilter_module._SET_AFTER_BYTES  # builds the set on its next file
    without._set_tried = True  # `re` alone
    return with_re2, without


def test_prefilter_with_re2_wants_what_re_wants_on_every_fixture() -> None:
    with_re2, without = _prefilters()
    files = sorted(FIXTURES.rglob("*.rs"))
    wanted = 0
    for path in files:
        data = path.read_bytes()
        assert with_re2.wanted(data) == without.wanted(data), path
        wanted += len(without.wanted(data))
    assert isinstance(with_re2._set, NeedleSet)
    assert len(files) > 80 and wanted > 100  # the fixtures exercise most rules


def test_a_file_that_overflows_the_dfa_memory_is_still_answered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the smallest budget RE2 accepts, 4 MB of noise flushes the DFA's cache again and
    again; the set still finds what `re` finds (a failed search would answer "nothing")."""
    monkeypatch.setattr(needle_set_module, "_MAX_MEMORY", 2 << 20)
    with_re2, without = _prefilters()
    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(1 << 21))
    pieces = b" ".join(p.encode() for p in rng.choices(_PIECES, k=200_000))
    tail = b"\nunsafe impl Send for X {}\nfn f(p: *mut u8) { unsafe { ptr::read(p) }; }\n"
    for data in (noise + pieces + tail, pieces + noise + tail, noise):
        assert with_re2.wanted(data) == without.wanted(data)
    assert isinstance(with_re2._set, NeedleSet)
    assert with_re2.wanted(noise + pieces + tail)  # the tail's rules are found past the noise


def test_without_re2_the_prefilter_searches_with_re(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [b"unsafe impl Send for X {}", b"fn f(p: *mut u8) { unsafe { ptr::read(p) } }", b""]
    expected = [_prefilters()[0].wanted(text) for text in texts]
    monkeypatch.setitem(sys.modules, "re2", None)  # `import re2` raises ImportError
    assert needle_set(_builtin_needles()) is None
    prefilter = RuleSetPrefilter(load_rules())
    prefilter._searched = prefilter_module._SET_AFTER_BYTES
    assert [prefilter.wanted(text) for text in texts] == expected
    assert prefilter._set is None and expected[0] and expected[1]


def test_the_set_is_built_once_re_has_searched_a_megabyte() -> None:
    """A rescan of a file or two never pays for the set; a scan builds it after 1 MB."""
    prefilter = RuleSetPrefilter(load_rules())
    paths = sorted(FIXTURES.rglob("*.rs"))
    expected = [_prefilters()[1].wanted(path.read_bytes()) for path in paths]
    assert [prefilter.wanted(path.read_bytes()) for path in paths] == expected
    assert not prefilter._set_tried  # the fixtures are less than 1 MB
    big = b"// padding\n" * 100_000 + b"unsafe impl Send for X {}\n"
    assert prefilter.wanted(big) == _prefilters()[1].wanted(big)
    assert not prefilter._set_tried  # the megabyte is reached with this file
    assert [prefilter.wanted(path.read_bytes()) for path in paths] == expected
    assert isinstance(prefilter._set, NeedleSet)


def test_the_re2_forms_are_worked_out_with_the_rule_and_kept_when_pickled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A needle carries its alternatives' RE2 forms from the rule's compilation (in the
    compiled rules the package ships and the cache keeps); a set built from unpickled needles
    rewrites nothing, and answers as one built from the rewrites does."""
    import pickle

    needles = _builtin_needles()
    for needle in needles:
        expected = []
        for alternative in needle.alternatives:
            rewritten = to_re2(alternative.encode())
            expected.append(None if rewritten is None else (rewritten.source, rewritten.exact))
        assert needle.re2_forms == tuple(expected)
    unpickled = pickle.loads(pickle.dumps(needles))
    assert [n.re2_forms for n in unpickled] == [n.re2_forms for n in needles]

    def refuse(pattern: bytes) -> None:
        raise AssertionError(f"rewritten again: {pattern!r}")

    monkeypatch.setattr("unsound.dsl.re2_syntax.to_re2", refuse)
    monkeypatch.setattr("unsound.dsl.needle.to_re2", refuse)
    from_pickle = NeedleSet(re2, unpickled)
    for path in sorted(FIXTURES.rglob("*.rs"))[:40]:
        data = path.read_bytes()
        hits, expected_hits = from_pickle.hits(data), _builtin_set().hits(data)
        assert hits == expected_hits
        for mine, theirs in zip(unpickled, needles, strict=True):
            assert from_pickle.found(mine, data, hits) == theirs.search(data)

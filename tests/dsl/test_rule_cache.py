"""The compiled-rules cache: a hit gives what a compile gives, anything else is a miss that
rewrites the file, and nothing in a file is ever run or trusted without the user's key."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import pickle
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from unsound.dsl import loader
from unsound.dsl.compiled import CompiledRule
from unsound.dsl.loader import builtin_rule_files, load_rules, user_rule_files
from unsound.dsl.needle import Needle
from unsound.dsl.rule_cache import RuleCache, cache_key
from unsound.dsl.rule_pickle import restore_rule
from unsound.engine.cache_identity import hmac_key
from unsound.errors import RuleError

LANGUAGE_RULES = Path(__file__).parent.parent / "fixtures" / "rules" / "language.rules"


@pytest.fixture(autouse=True)
def cache_folder(rule_cache_folder: Path) -> Path:
    return rule_cache_folder


def load(extra: Sequence[Path] = ()) -> list[CompiledRule]:
    """As a new run would: nothing remembered in this process."""
    loader._COMPILED.clear()
    return load_rules(extra, cache=True)


def comparable(rule: CompiledRule) -> tuple[object, ...]:
    """Everything a rule holds; compiled regexes by source and flags (`regex` patterns have no
    equality of their own), prefilter needles by all their state once searched with (`re`
    patterns have equality; a needle from the cache compiles them on its first search)."""
    return (
        rule.info,
        rule.ast,
        rule.patterns,
        rule.relations,
        {source: (r.pattern, r.flags) for source, r in rule.regexes.items()},
        [searched(needle) for needle in rule.prefilter],
        [searched(needle) for needle in rule.region_prefilter],
        [searched(needle) for needle in rule.locators],
        rule.locators_in_match,
    )


def searched(needle: Needle) -> dict[str, object]:
    needle.search(b"")
    return vars(needle)


def cache_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("rules-*.bin"))


def the_cache(extra: Sequence[Path] = ()) -> RuleCache:
    store = RuleCache.open(tuple(builtin_rule_files() + user_rule_files(extra)))
    assert store is not None
    return store


def test_a_hit_gives_exactly_what_a_compile_gives(cache_folder: Path, compiles: list[int]) -> None:
    compiled = load([LANGUAGE_RULES])  # every condition kind is in these
    assert compiles == [5]  # four built-in packs and the user's file
    assert cache_files(cache_folder) == [the_cache([LANGUAGE_RULES]).path.name]
    cached = load([LANGUAGE_RULES])
    assert compiles == [5]
    assert len(cached) == len(compiled) == 32 + 24
    # The cache holds regex sources: nothing is compiled until a search asks for it.
    assert all(vars(n)["_searchers"] is None for r in cached for n in r.prefilter)
    assert all(not vars(r.regexes)["_compiled"] for r in cached)
    assert [comparable(r) for r in cached] == [comparable(r) for r in compiled]
    assert any(r.regexes for r in cached)
    assert any(r.relations for r in cached)


def test_an_edited_rule_file_misses(
    tmp_path: Path, cache_folder: Path, compiles: list[int]
) -> None:
    rules = tmp_path / "mine.rules"
    text = LANGUAGE_RULES.read_text(encoding="utf-8")
    rules.write_text(text, encoding="utf-8")
    load([rules])
    rules.write_text(text.replace('"unsafe impl Send without', '"Send impl without'), "utf-8")
    edited = load([rules])
    assert compiles == [5, 5]
    assert edited[32].info.title == "Send impl without a Send bound"
    assert len(cache_files(cache_folder)) == 2
    load([rules])
    assert compiles == [5, 5]


def test_the_key_covers_pack_display_path_and_order() -> None:
    files = [("a", "<builtin>/a.rules", "x"), ("b", "<builtin>/b.rules", "y")]
    keys = {
        cache_key(files),
        cache_key(files[::-1]),
        cache_key([("ab", "<builtin>/a.rules", "x"), files[1]]),
        cache_key([("a", "/elsewhere/a.rules", "x"), files[1]]),
        cache_key([("a", "<builtin>/a.rules", "xb"), ("", "<builtin>/b.rules", "y")]),
    }
    assert len(keys) == 5
    assert cache_key(list(files)) == cache_key(tuple(files))


def test_a_flipped_byte_is_ignored_and_rewritten(cache_folder: Path, compiles: list[int]) -> None:
    compiled = load()
    path = the_cache().path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert the_cache().read() is None
    reloaded = load()
    assert compiles == [4, 4]
    assert [comparable(r) for r in reloaded] == [comparable(r) for r in compiled]
    assert path.read_bytes() != bytes(data)
    assert the_cache().read() is not None


class _Call:
    """Pickles as a call of `function(*args)`: what a planted cache file would hold."""

    def __init__(self, function: object, *args: object) -> None:
        self.reduced = (function, args)

    def __reduce__(self) -> tuple[object, ...]:
        return self.reduced


def _plant(store: RuleCache, body: bytes) -> None:
    """An authentic file, as if written with the user's key (the attack the allowlist is for)."""
    key = hmac_key()
    assert key is not None
    mac = hmac.new(key, store.key.encode() + b"\n" + body, hashlib.sha256).hexdigest()
    store.path.write_bytes(mac.encode() + b"\n" + body)


@pytest.mark.parametrize("how", ["os.system", "builtins.exec"])
def test_an_authentic_file_naming_another_global_is_not_run(
    how: str, tmp_path: Path, compiles: list[int]
) -> None:
    marker = tmp_path / "pwned"
    call = (
        _Call(os.system, f"touch {marker}")
        if how == "os.system"
        else _Call(exec, f"open({str(marker)!r}, 'w').close()")
    )
    load()
    store = the_cache()
    _plant(store, pickle.dumps([call]))
    assert store.read() is None
    load()
    assert not marker.exists()
    assert compiles == [4, 4]
    assert store.read() is not None  # rewritten


def test_an_authentic_file_of_another_shape_is_a_miss(compiles: list[int]) -> None:
    load()
    store = the_cache()
    for body in (pickle.dumps({"rules": []}), pickle.dumps([1, 2]), b"", b"not a pickle"):
        _plant(store, body)
        assert store.read() is None
    load()
    assert compiles == [4, 4]


def test_a_valid_file_for_another_rule_set_is_not_valid_under_this_name(
    tmp_path: Path, cache_folder: Path, compiles: list[int]
) -> None:
    load()
    load([LANGUAGE_RULES])
    builtin, with_language = the_cache(), the_cache([LANGUAGE_RULES])
    builtin.path.write_bytes(with_language.path.read_bytes())
    assert builtin.read() is None
    assert len(load()) == 32
    assert compiles == [4, 5, 4]


def test_the_pickle_names_only_the_classes_of_a_compiled_rule(cache_folder: Path) -> None:
    load([LANGUAGE_RULES])

    def named_by(data: bytes) -> set[str]:
        named: set[tuple[str, str]] = set()
        bodies: list[bytes] = []

        class Recording(pickle.Unpickler):
            def find_class(self, module: str, name: str) -> object:
                named.add((module, name))
                found = super().find_class(module, name)
                if found is restore_rule:  # keep each body to look into it too
                    return lambda *fields: bodies.append(fields[-1])
                return found

        Recording(io.BytesIO(data)).load()
        assert all(isinstance(body, bytes) for body in bodies)
        return {module for module, _ in named} | {f"body: {m}" for b in bodies for m in named_by(b)}

    body = the_cache([LANGUAGE_RULES]).path.read_bytes().partition(b"\n")[2]
    # The file names the rules' metadata and the function that keeps each rule's body as bytes;
    # the bodies name the classes of a rule's tree, patterns and needles. No compiled regex is
    # pickled at all (needles and `matches` regexes keep their sources and compile on first
    # use), so the regex reconstructors `rule_pickle` allows are not named.
    assert named_by(body) == {
        "unsound.model",
        "unsound.dsl.rule_pickle",
        "body: unsound.dsl.ast",
        "body: unsound.dsl.compiled",
        "body: unsound.dsl.needle",
        "body: unsound.dsl.pattern",
        "body: unsound.model",
    }


def test_a_symlink_is_neither_read_nor_written_through(
    tmp_path: Path, cache_folder: Path, compiles: list[int]
) -> None:
    load()
    path = the_cache().path
    elsewhere = tmp_path / "elsewhere.bin"
    elsewhere.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(elsewhere)
    before = elsewhere.read_bytes()
    load()
    assert compiles == [4, 4]
    assert path.is_symlink()
    assert elsewhere.read_bytes() == before


def test_only_the_newest_few_files_are_kept(tmp_path: Path, cache_folder: Path) -> None:
    for number in range(6):
        rules = tmp_path / f"r{number}" / "mine.rules"
        rules.parent.mkdir()
        rules.write_text(LANGUAGE_RULES.read_text(encoding="utf-8"), encoding="utf-8")
        load([rules])
    kept = cache_files(cache_folder)
    assert len(kept) == 4
    assert the_cache([tmp_path / "r5" / "mine.rules"]).path.name in kept
    assert the_cache([tmp_path / "r0" / "mine.rules"]).path.name not in kept


def test_a_rule_error_is_reported_as_without_the_cache_and_never_cached(
    tmp_path: Path, cache_folder: Path
) -> None:
    rules = tmp_path / "bad.rules"
    rules.write_text('rule x {\n  titel "x"\n}\n', encoding="utf-8")
    with pytest.raises(RuleError) as without:
        loader._COMPILED.clear()
        load_rules([rules])
    for _ in range(2):
        with pytest.raises(RuleError) as cached:
            load([rules])
        assert cached.value.render() == without.value.render()
        assert (cached.value.path, cached.value.line, cached.value.column) == (str(rules), 2, 3)
    assert cache_files(cache_folder) == []


def test_without_the_cache_flag_nothing_is_read_or_written(
    cache_folder: Path, compiles: list[int]
) -> None:
    load()
    path = the_cache().path
    stamp = path.stat().st_mtime_ns
    loader._COMPILED.clear()
    load_rules()
    assert compiles == [4, 4]
    assert cache_files(cache_folder) == [path.name]
    assert path.stat().st_mtime_ns == stamp


def test_a_hit_imports_neither_lark_nor_the_rule_parser(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from unsound.dsl.loader import load_rules\n"
        "rules = load_rules(cache=True)\n"
        "print(len(rules), 'lark' in sys.modules, 'unsound.dsl.parser' in sys.modules,"
        " 'unsound.dsl.ast' in sys.modules)\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    outputs = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    ]
    # Compiled, then from the cache: with their trees still pickled (`dsl.rule_pickle`).
    assert outputs == ["32 True True True\n", "32 False False False\n"]

"""The fuzzing targets and input strategies, shared by the CI tests and `bench/fuzz/run.py`.

Each target feeds one hostile input to one stage of the pipeline the way the CLI would, and holds
it to one property: the stage ends in a result or in an `UnsoundError` (which the CLI prints as
one clear line and exit 2). Any other exception is a crash, and so is a file that the scan gives up
on with an internal error: `scan_sources` turns per-file exceptions into "not scanned" problems
so one file cannot lose the others, which would otherwise hide exactly the bugs fuzzing looks for.

Inputs are random bytes or text, and mutations of real inputs (the built-in rule files, the
fixture manifests, the fixture Rust files) with tokens of the input's own language spliced in,
because purely random bytes rarely get past the first few characters of a parser.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from unsound.dsl.compiler import CompiledRule
from unsound.dsl.loader import builtin_rule_files, compile_rule_files, load_rules
from unsound.dsl.rust_parser import parse_rust
from unsound.engine.examples import scan_snippet
from unsound.engine.matcher import RuleSetMatcher
from unsound.engine.scan import scan_sources
from unsound.engine.sources import SourceFile, collect_sources
from unsound.engine.workspace import find_manifest, load_workspace, select_packages
from unsound.errors import UnsoundError
from unsound.model import ProblemKind

ROOT = Path(__file__).resolve().parents[2]

RULE_TOKENS = [
    b"rule ",
    b"{",
    b"}",
    b"title ",
    b"severity ",
    b"error",
    b"warning",
    b"note",
    b" if ",
    b"security ",
    b"cwe ",
    b"tags ",
    b"[",
    b"]",
    b"precision ",
    b"enabled ",
    b"match ",
    b"where ",
    b"message ",
    b"location ",
    b"related ",
    b"example ",
    b"bad ",
    b"good ",
    b"help ",
    b"header",
    b"$X",
    b"$..XS",
    b"$..",
    b"$_",
    b"'$a",
    b"$P..$Q",
    b" is raw-pointer",
    b" has lifetime ",
    b" matches ",
    b" flows into return",
    b" via $S",
    b" holds non-null",
    b" and ",
    b" or ",
    b"not ",
    b"(",
    b")",
    b"`",
    b"```",
    b'"',
    b'"""',
    b"\\",
    b"{X}",
    b"// ",
    b"\n",
    b"(a+)+$",
    b"[z-a]",
    b"7.5",
    b"0",
    b"-1",
    b"\xc2\xb5",
    b"\x00",
]
TOML_TOKENS = [
    b"[workspace]\n",
    b"[package]\n",
    b"members = [",
    b"exclude = [",
    b"default-members = [",
    b'"*"',
    b'"**"',
    b'"crates/*"',
    b'"../"',
    b'"/"',
    b'"."',
    b'"[z-a]"',
    b'"a/**b"',
    b"]\n",
    b'name = "a"\n',
    b"name = 5\n",
    b"edition = ",
    b'"2021"',
    b'workspace = "../.."\n',
    b"[lib]\n",
    b"[[bin]]\n",
    b"[[test]]\n",
    b"[[example]]\n",
    b'path = "src/main.rs"\n',
    b'path = "../../../etc"\n',
    b"autobins = false\n",
    b"[dependencies]\n",
    b'b = { path = "../b" }\n',
    b"c = { workspace = true }\n",
    b"[workspace.dependencies]\n",
    b"[target.'cfg(unix)'.dependencies]\n",
    b"{",
    b"}",
    b"=",
    b",",
    b"'",
    b'"',
    b"\n",
    b".",
    b"true",
    b"[[",
    b"]]",
    b"\\u0000",
    b"\xff",
]
RUST_TOKENS = [
    b"fn ",
    b"unsafe ",
    b"impl",
    b"<'a>",
    b"<T>",
    b"*mut ",
    b"*const ",
    b"NonNull<",
    b">",
    b"&'a ",
    b"mod x;",
    b'#[path = "../../x.rs"]',
    b'include!("x.rs");',
    b"struct ",
    b"{",
    b"}",
    b"(",
    b")",
    b"[",
    b"]",
    b";",
    b",",
    b"->",
    b"Self",
    b"let ",
    b"=",
    b"return ",
    b"FromNapiValue",
    b"for ",
    b"PhantomData",
    b"transmute",
    b"macro_rules! m {",
    b'r#"',
    b'"#',
    b"/*",
    b"*/",
    b"//",
    b"'",
    b'"',
    b"\n",
    b"\xff",
    b"\x00",
    b"\xf0\x9f\x98\x80",
    b"\xe2\x80\xae",
]


# Corpora ---------------------------------------------------------------------------------------


@cache
def rule_corpus() -> tuple[bytes, ...]:
    return tuple(text.encode("utf-8") for _, _, text in builtin_rule_files())


@cache
def manifest_corpus() -> tuple[bytes, ...]:
    folders = (ROOT / "tests" / "fixtures" / "workspaces", ROOT / "examples")
    found = sorted(path for folder in folders for path in folder.rglob("Cargo.toml"))
    return tuple(path.read_bytes() for path in found)


@cache
def rust_corpus() -> tuple[bytes, ...]:
    folders = (ROOT / "tests" / "fixtures" / "rust", ROOT / "examples")
    found = sorted(path for folder in folders for path in folder.rglob("*.rs"))
    return tuple(path.read_bytes() for path in found)


@cache
def builtin_rules() -> tuple[CompiledRule, ...]:
    return tuple(load_rules())


# Strategies ------------------------------------------------------------------------------------


def max_repeat() -> int:
    """How many copies of a token one insertion may splice in (deep nesting comes from here).

    Small in CI, where a run must be quick and stable; `bench/fuzz/run.py` raises it through
    UNSOUND_FUZZ_MAX_REPEAT so the long run also tries thousands of nested `(`, `{`, `[`.
    """
    return max(1, int(os.environ.get("UNSOUND_FUZZ_MAX_REPEAT", "3")))


@st.composite
def mutated(draw: st.DrawFn, corpus: Sequence[bytes], tokens: Sequence[bytes]) -> bytes:
    """A corpus entry with a few edits: deletions, duplications, token splices, truncation."""
    data = bytearray(draw(st.sampled_from(corpus)))
    for _ in range(draw(st.integers(1, 8))):
        operation = draw(st.sampled_from(["delete", "duplicate", "insert", "replace", "cut"]))
        at = draw(st.integers(0, len(data)))
        length = draw(st.integers(0, 64))
        if operation == "delete":
            del data[at : at + length]
        elif operation == "duplicate":
            data[at:at] = data[at : at + length]
        elif operation == "insert":
            data[at:at] = draw(st.sampled_from(tokens)) * draw(st.integers(1, max_repeat()))
        elif operation == "replace":
            data[at : at + 1] = draw(st.binary(min_size=1, max_size=4))
        else:
            del data[at:]
    return bytes(data)


def token_soup(tokens: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """Inputs built only from a language's tokens: deeper into the parser than random bytes."""
    return st.lists(st.sampled_from(tokens), max_size=60).map(b"".join)


def rule_inputs() -> st.SearchStrategy[str]:
    raw = st.one_of(
        st.text(max_size=400),
        mutated(rule_corpus(), RULE_TOKENS),
        token_soup(RULE_TOKENS),
    )
    return raw.map(
        lambda value: value if isinstance(value, str) else value.decode("utf-8", "replace")
    )


def manifest_inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        mutated(manifest_corpus(), TOML_TOKENS),
        token_soup(TOML_TOKENS),
    )


def rust_inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=400),
        mutated(rust_corpus(), RUST_TOKENS),
        token_soup(RUST_TOKENS),
    )


# Targets ---------------------------------------------------------------------------------------


def check_rule_text(text: str) -> None:
    """Parse and compile one rule file; only a `RuleError`-style `UnsoundError` may escape."""
    try:
        compile_rule_files([("fuzz", "fuzz.rules", text)])
    except UnsoundError as error:
        error.render()  # rendering a located error must not crash either


def check_manifest(root_manifest: bytes, member_manifest: bytes) -> None:
    """Load a two-level workspace with these manifests and collect its sources, as a scan does."""
    with tempfile.TemporaryDirectory(prefix="unsound-fuzz-") as folder:
        root = Path(folder)
        member = root / "crates" / "a"
        (member / "src").mkdir(parents=True)
        (root / "src").mkdir()
        (root / "Cargo.toml").write_bytes(root_manifest)
        (member / "Cargo.toml").write_bytes(member_manifest)
        for crate in (root, member):
            (crate / "src" / "lib.rs").write_bytes(b"mod m;\npub fn f() {}\n")
            (crate / "src" / "m.rs").write_bytes(b"pub fn g() {}\n")
        for start in (root, member):
            try:
                manifest = find_manifest(manifest_path=None, path=start, cwd=root)
                workspace = load_workspace(manifest)
                packages = select_packages(workspace, workspace=True)
                collect_sources(packages, workspace.root, all_files=True)
            except UnsoundError as error:
                error.render()


def check_source(data: bytes) -> None:
    """Parse a file and run every built-in rule on it through the scan's own per-file loop.

    The scan would turn an exception into a "not scanned" problem; here that is a failure.
    """
    rules = builtin_rules()
    source = SourceFile(Path("/fuzz/src/lib.rs"), "src/lib.rs", "fuzz", data, None)
    _, problems = scan_sources([source], rules)
    crashes = [p.message for p in problems if p.kind is ProblemKind.NOT_SCANNED]
    if crashes:
        raise AssertionError(f"the scan gave up on the file: {crashes[0]}")
    scan_snippet(rules, data.decode("utf-8", "replace"))


@cache
def rust_corpus_items() -> tuple[bytes, ...]:
    """The top-level items (and comments) of the corpus files that parse without an error."""
    items = []
    for data in rust_corpus():
        root = parse_rust(data).root_node
        if not root.has_error:
            items += [data[child.start_byte : child.end_byte] for child in root.children]
    return tuple(items)


def item_files() -> st.SearchStrategy[bytes]:
    """Files made of corpus items in any order, repeated or not: valid Rust, laid out the usual
    way, where rules match in some items and not in others."""
    return st.lists(st.sampled_from(rust_corpus_items()), min_size=1, max_size=30).map(
        lambda items: b"\n\n".join(items) + b"\n"
    )


def check_item_parsing(data: bytes) -> None:
    """Parsing only the pieces the rules can match in finds what parsing the whole file finds
    (on a file whose whole parse has no error: otherwise tree-sitter's recovery may read the
    parsed pieces differently, and the file is not compared)."""
    if parse_rust(data).root_node.has_error:
        return
    source = SourceFile(Path("/fuzz/src/lib.rs"), "src/lib.rs", "fuzz", data, None)
    in_pieces, _ = scan_sources([source], builtin_rules())
    real = RuleSetMatcher.plan_items
    try:
        RuleSetMatcher.plan_items = lambda *args: None  # type: ignore[method-assign]
        whole, _ = scan_sources([source], builtin_rules())
    finally:
        RuleSetMatcher.plan_items = real  # type: ignore[method-assign]
    assert in_pieces == whole


def check_manifest_pair(pair: tuple[bytes, bytes]) -> None:
    check_manifest(*pair)


def manifest_pairs() -> st.SearchStrategy[tuple[bytes, bytes]]:
    return st.tuples(manifest_inputs(), manifest_inputs())


# name → (the property, the strategy of its inputs), for `bench/fuzz/run.py`
TARGETS: dict[str, tuple[Callable[[object], None], Callable[[], st.SearchStrategy[object]]]] = {
    "rules": (check_rule_text, rule_inputs),  # type: ignore[dict-item]
    "manifest": (check_manifest_pair, manifest_pairs),  # type: ignore[dict-item]
    "source": (check_source, rust_inputs),  # type: ignore[dict-item]
}

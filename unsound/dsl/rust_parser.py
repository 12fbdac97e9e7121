"""tree-sitter-rust parsing: one place that owns the language and the parser.

It lives in `dsl` because the pattern compiler parses Rust too, and imports flow one way
(engine → dsl): the engine parses sources with the same grammar and parser.
"""

from __future__ import annotations

from functools import cache

import tree_sitter_rust
from tree_sitter import Language, Parser, Tree


@cache
def rust_language() -> Language:
    """The Rust grammar, loaded once per process."""
    return Language(tree_sitter_rust.language())


@cache
def _parser() -> Parser:
    return Parser(rust_language())


def parse_rust(data: bytes) -> Tree:
    """Parse Rust source bytes; tree-sitter always returns a tree, with ERROR nodes if needed."""
    return _parser().parse(data)

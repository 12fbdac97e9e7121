"""Literal phrases a pattern's every match contains, as byte regexes for the file prefilter.

A rule's prefilter used one word per pattern (its rarest identifier). Many patterns have only
common words or none (`&mut *$X`, `fn $F<'$a, $..G>(..) -> $R`), so their rule had to parse every
file. A *phrase* is a run of tokens the pattern spells out one after the other, such as `&mut *`
or `fn NAME<'`; in a matching target they are also consecutive, with only whitespace, comments or
a trailing comma between them, so the regex below finds them in any file that can match.

Only node kinds whose target children cannot include parts the pattern leaves out (visibility,
generics, `mut` of a `let`, a return type: see `engine.matching`) take part in a phrase, so a
phrase never spans a place where a target may hold more than the pattern. One known blind spot:
a nested block comment (`/* /* */ */`) between two tokens of a phrase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from unsound.dsl.pattern import Pattern, PatternNode
from unsound.dsl.word_regex import after_word

# Whitespace, comments and commas (a trailing comma is optional): what may lie between tokens.
# Each alternative starts with a different character and ends at one place (a line comment at its
# newline, a block comment at its first `*/`): the regex cannot backtrack exponentially. The
# comment's body is written without a lookahead (a run of `*` then anything but `/`), the same
# texts as `/\*(?:[^*]|\*(?!/))*\*/`, so that RE2 searches it exactly (`engine.needle_set`).
_GAP = r"(?:\s|,|//[^\n]*\n|/\*(?:[^*]|\*+[^*/])*\*+/)*"
# Kinds whose children a target cannot extend beyond what the pattern lists.
_PHRASE_KINDS = frozenset(
    {
        "reference_expression",
        "unary_expression",
        "call_expression",
        "arguments",
        "field_expression",
        "scoped_identifier",
        "generic_function",
        "parenthesized_expression",
        "index_expression",
        "type_cast_expression",
        "pointer_type",
        # `path::Name` and a function type's `Name(..)` (`$Q::read($SRC)` read as a type):
        # nothing comes between their tokens either.
        "scoped_type_identifier",
        "function_type",
        # `pub type`: attributes come before the visibility, generics after the name.
        "visibility_modifier",
        "type_item",
        # `$S.len = $N`, `$S.len += $N`: the target, the operator, the value, nothing else.
        "assignment_expression",
        "compound_assignment_expr",
    }
)
# Assignment operators: after a field's name they make `.len =` an assignment to the field,
# where `len =` alone is also every `let len = …`.
_ASSIGNMENTS = frozenset({"=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="})
_BREAK = None


@dataclass(frozen=True)
class _Token:
    """A place in a phrase the pattern does not spell as one literal token: a field's name
    (`self.$FLD`), or what follows a list's element (`,` or the list's closing bracket)."""

    text: str  # for comparing phrases' lengths
    regex: str
    kind: str = ""  # no node kind: never taken for a name that starts a phrase


# `$FLD` of `self.$FLD`, `$NAME` of `$NAME: value`: whatever it binds is one name or a tuple
# index (`self.0`), in any script.
_FIELD_NAME = _Token("_", r"(?:r#)?(?:\w|[\x80-\xff])+")
# A list whose elements are separated by commas, and its closing bracket.
_LIST_CLOSERS = {"arguments": ")", "field_initializer_list": "}"}
# Elements whose last token is the pattern's last token of them: the target's element ends
# there too, so the list's separator follows it (an attribute comes before an element, never
# after one).
_ENDS_AT_LAST_TOKEN = _PHRASE_KINDS | {"field_initializer"}


def phrase_regex(pattern: Pattern, word: str | None) -> str | None:
    """The regex of the longest phrase (two tokens or more) of the pattern, if it holds `word`
    (the pattern's rarest word, when it has one); else None."""
    if (special := _generics_with_lifetime(pattern.root)) is not None:
        return special  # rarer than any word such a pattern has (`self`)
    if word is None and (special := _destructuring_let(pattern.root)) is not None:
        return special
    if word == "unsafe" and (special := _unsafe_item(pattern.root)) is not None:
        return special
    if word is not None and (special := _impl_trait_for(pattern.root, word)) is not None:
        return special
    special = _return_type(pattern.root)
    if special is not None and (word in (None, "self", "Self") or f"{word}\\b" in special):
        return special  # `-> &'a mut`, `-> Option<&'a`: rarer than `self` or `Option`
    leaves: list[PatternNode | _Token | None] = []
    _tokens(pattern.root, False, leaves)
    # The longest run of the pattern's own tokens (a field's name or a list's separator does
    # not make a phrase of one token, nor a longer one) ...
    best: list[PatternNode | _Token] = []
    best_end = 0
    run: list[PatternNode | _Token] = []
    for index, leaf in enumerate([*leaves, _BREAK]):
        if leaf is None or isinstance(leaf, _Token):
            if len(run) >= 2 and len(_text(run)) > len(_text(best)):
                best, best_end = run, index
            run = []
        else:
            run.append(leaf)
    # ... with what follows it up to the next place a target may hold more (`self.$F` then the
    # `,` or `)` after an argument: `self.handle)`, never `self.handle.get()`).
    for leaf in leaves[best_end:] if best else ():
        if leaf is None:
            break
        best = [*best, leaf]
    texts = [leaf.text for leaf in best]
    if not best or (word is not None and word not in texts):
        return None
    if word is not None and len(texts[texts.index(word) :]) >= 2:
        # Start at the word: a regex that begins with a literal word is searched fast; one that
        # begins with `::` or `.` is tried at every such character of the file. A field
        # assigned to keeps its `.` (see `_ASSIGNMENTS`).
        start = texts.index(word)
        if (
            0 < start < len(texts) - 1
            and texts[start - 1] == "."
            and texts[start + 1] in _ASSIGNMENTS
        ):
            start -= 1
        best = best[start:]
    first = best[0]
    body = _GAP.join(_regex(leaf) for leaf in best)
    if not re.match(r"\w", first.text):
        return body
    if first.kind in ("identifier", "type_identifier"):
        # A path or a name called (`read(src)`, `ptr::read(src)`), never a method or a field:
        # in Rust a name right after one `.` (not `..`) is a field or method name, so
        # `v.read(buf)` does not count. (A name after `. ` with a space still passes.)
        escaped = re.escape(first.text)
        body = escaped + rf"(?<![^.]\.{escaped})" + body[len(escaped) :]
    return rf"\b{body}"


def _return_type(root: PatternNode) -> str | None:
    """`-> &'a mut`, `-> Option<&'a`: a function pattern's `->` and the leading tokens of the
    return type it spells, up to its first metavariable. The matcher compares a return type
    exactly (no `mut` or path the pattern leaves out), so a match spells the same tokens."""
    if root.kind not in ("function_item", "function_signature_item") or root.var is not None:
        return None
    returned = next((c for c in root.children if c.field == "return_type"), None)
    if returned is None:
        return None
    pieces: list[str] = []
    _leading_type_tokens(returned, pieces)
    if not pieces:
        return None
    return "->" + _GAP + _GAP.join(pieces)


def returned_var(pattern: Pattern) -> str | None:
    """The metavariable that is a function pattern's whole return type (`-> $R`), or None."""
    root = pattern.root
    if root.kind not in ("function_item", "function_signature_item") or root.var is not None:
        return None
    returned = next((c for c in root.children if c.field == "return_type"), None)
    if returned is None or not returned.var or returned.sequence or returned.lifetime:
        return None
    return returned.var


# From a function's `->` up to its body: anything but a `{`, except one that opens a const
# argument or a macro's braces inside a type (`Foo<{ N }>`, `[u8; { N }]`, `ty!{ … }`). A
# body's `{` follows a type's last token (a name, `>`, `)`, `]`), which none of these are.
_SIGNATURE_UNIT = r"(?:[^{]|[<,;=!(]\s*\{)"
# How far a search looks past a `->`: a declaration without a body (`fn f() -> c_int;` in an
# `extern` block) has no `{` for thousands of lines, and a search that ran to it from every
# `->` took 1.3 s on a 60 KB block. A signature still running there counts as holding the text.
_SIGNATURE_LOOK = 400


def in_return_type(text: str) -> str:
    """A regex for `text` (a regex) written after a function's `->`, before its body: a word
    every match of a `$R matches` regex spells, where `$R` is the return type. It also matches
    a signature longer than the search looks (`_SIGNATURE_LOOK`)."""
    look = _SIGNATURE_LOOK
    return f"->(?:{_SIGNATURE_UNIT}{{0,{look}}}?{text}|{_SIGNATURE_UNIT}{{{look}}})"


def self_borrow_with_lifetime(pattern: Pattern) -> str | None:
    """`&'a self` / `&'a mut self` for a function pattern whose `self` is borrowed with a
    lifetime written: a target's self parameter spells the same tokens (with or without the
    `mut`, which this does not tell apart). None for another pattern."""
    root = pattern.root
    if root.kind not in ("function_item", "function_signature_item") or root.var is not None:
        return None
    parameters = next((c for c in root.children if c.kind == "parameters"), None)
    if parameters is None:
        return None
    receiver = next((c for c in parameters.children if c.kind == "self_parameter"), None)
    if receiver is None or receiver.var is not None:
        return None
    kinds = [child.kind for child in receiver.children]
    if kinds[:2] != ["&", "lifetime"] or kinds[-1] != "self":
        return None
    return "&" + _GAP + r"'[A-Za-z_][A-Za-z0-9_]*\b" + _GAP + r"(?:mut\b" + _GAP + r")?self\b"


# Kinds whose `type` child is written after a `:` (`p: *const T`, `let x: T`, `f: T`).
_TYPED_AFTER_COLON = frozenset(
    {"parameter", "let_declaration", "field_declaration", "const_item", "static_item"}
)


def declared_after_colon(pattern: Pattern, var: str) -> bool:
    """Whether every node the metavariable stands for in the pattern is a type written after a
    `:` (a parameter's, a typed `let`'s, a field's): its text follows the `:` at once."""
    found = False
    stack = [pattern.root]
    while stack:
        node = stack.pop()
        for child in node.children:
            if child.var == var:
                if child.sequence or child.field != "type" or node.kind not in _TYPED_AFTER_COLON:
                    return False
                found = True
            stack.append(child)
    return found


# How a type with the shape is written after a `:` (`engine.shapes`): a pointer type starts
# with `*`, a nullable one with `Option<` (after its path, whose last `::` ends with a `:`
# too). A `NonNull` may come after any path (`<T as Trait>::NonNull`): its name is rare enough
# alone, and a regex for the path would be tried at every `:` of every path in the file.
_POINTER = rf"\*{_GAP}(?:const|mut)\b"
_SHAPE_TYPE_START = {
    "raw-pointer": (rf":{_GAP}(?:Option{_GAP}(?:::{_GAP})?<{_GAP})?{_POINTER}", r"\bNonNull\b"),
    "mut-pointer": (rf":{_GAP}\*{_GAP}mut\b",),
    "const-pointer": (rf":{_GAP}\*{_GAP}const\b",),
}


def typed_with_shape(shape: str) -> tuple[str, ...] | None:
    """Regexes one of which the text holds where a type written after a `:` has the shape;
    None for a shape not decided by how the type starts."""
    return _SHAPE_TYPE_START.get(shape)


def _leading_type_tokens(node: PatternNode, out: list[str]) -> bool:
    """Append the regexes of the type's leading tokens; False once a part of unknown spelling
    (a metavariable) ends them."""
    if node.var is not None and not node.lifetime:
        return False
    if node.kind == "type_identifier":
        out.append(re.escape(node.text) + r"\b")
        return True
    if node.kind == "lifetime":
        # `'a` or `'static`; a lifetime metavariable stands for any name.
        name = r"[A-Za-z_][A-Za-z0-9_]*" if node.var is not None else re.escape(node.text[1:])
        out.append("'" + name + r"\b")
        return True
    if node.kind in ("reference_type", "generic_type", "type_arguments", "pointer_type"):
        for child in node.children:
            if not child.children and child.var is None and child.kind != "type_identifier":
                out.append(re.escape(child.text) + (r"\b" if child.text.isalpha() else ""))
            elif not _leading_type_tokens(child, out):
                return False
        return True
    return False


def _text(leaves: list[PatternNode | _Token]) -> str:
    return "".join(leaf.text for leaf in leaves)


def _regex(leaf: PatternNode | _Token) -> str:
    return leaf.regex if isinstance(leaf, _Token) else re.escape(leaf.text)


def _impl_trait_for(root: PatternNode, word: str) -> str | None:
    """`Send for` in `unsafe impl<T> Send for Wrapper<T>`: in an impl, nothing stands between the
    trait (when it is a plain or qualified name) and `for`."""
    if root.kind != "impl_item" or root.var is not None:
        return None
    trait = next((c for c in root.children if c.field == "trait"), None)
    if trait is None or trait.var is not None:
        return None
    last = trait if trait.kind == "type_identifier" else None
    if trait.kind == "scoped_type_identifier" and trait.children:
        last = trait.children[-1]
    if last is None or last.var is not None or last.text != word:
        return None
    return rf"\b{re.escape(word)}" + _GAP + r"for\b"


def _tokens(
    node: PatternNode,
    in_phrase: bool,
    out: list[PatternNode | _Token | None],
    open_end: bool = False,
) -> None:
    """The pattern's leaves in order; a break where a phrase cannot continue. With `open_end`,
    no break after the node's last token (its list's separator comes next)."""
    if node.var is not None:
        field_name = node.kind == "field_identifier" and not node.sequence and not node.lifetime
        out.append(_FIELD_NAME if in_phrase and field_name else _BREAK)
        return
    if not node.children:
        out.append(node if in_phrase else _BREAK)
        return
    inside = node.kind in _PHRASE_KINDS
    if not inside:
        out.append(_BREAK)
    closer = _LIST_CLOSERS.get(node.kind)
    children = node.children
    for index, child in enumerate(children):
        after = _after_element(children, index, closer) if closer else None
        _tokens(child, inside, out, open_end=after is not None)
        if after is not None:
            out.append(after)
    if not inside and not open_end:
        out.append(_BREAK)


def _after_element(
    children: tuple[PatternNode, ...] | list[PatternNode], index: int, closer: str
) -> _Token | None:
    """What follows a list's element the pattern spells when a `$..` comes next (`$C(self.$F,
    $..A)`): the comma before the sequence's first element, or, when the sequence is the last
    and empty, the list's closing bracket. None where that is not known: the next is not a
    `$..`, or the `$..` is followed by another."""
    element = children[index]
    if element.sequence or element.var is not None or element.kind not in _ENDS_AT_LAST_TOKEN:
        return None
    if index + 1 >= len(children) or not children[index + 1].sequence:
        return None
    following = children[index + 2] if index + 2 < len(children) else None
    if following is not None and following.text == closer and not following.children:
        return _Token(",", f"[,{re.escape(closer)}]")
    if following is not None and not following.sequence:
        return _Token(",", ",")  # another element: the sequence ends with a comma, or is empty
    return None


def _generics_with_lifetime(root: PatternNode) -> str | None:
    """`fn NAME<'` / `impl<'` for a function or impl pattern with a lifetime among its generic
    parameters: Rust declares lifetimes before type and const parameters, so a target's generics
    start with one (`impl<$..G1, '$a, $..G2>` too), and nothing can come between those tokens
    but whitespace, comments and an attribute of the parameter (`#[may_dangle]`)."""
    if root.kind not in ("function_item", "impl_item") or root.var is not None:
        return None
    generics = next((c for c in root.children if c.kind == "type_parameters"), None)
    if generics is None:
        return None
    parameters = [c for c in generics.children if c.text not in ("<", ">", ",")]
    leading = next((c for c in parameters if not c.sequence), None)
    if leading is None or leading.kind != "lifetime_parameter":
        return None
    lifetime = "<" + _GAP + _PARAMETER_ATTRIBUTES + "'"
    if root.kind == "impl_item":
        return r"\bimpl" + _GAP + lifetime
    return r"\bfn" + _GAP + r"[^\s<(]+" + _GAP + lifetime


# Attributes of a generic parameter (`#[may_dangle]`, nightly's, on an `unsafe impl Drop`).
_PARAMETER_ATTRIBUTES = r"(?:#" + _GAP + r"\[[^\]]{0,200}\]" + _GAP + ")*"


def _unsafe_item(root: PatternNode) -> str | None:
    """`unsafe fn` / `unsafe extern "C" fn` / `unsafe trait`: a function pattern with `unsafe`
    among its modifiers matches only functions with it, and Rust writes the modifiers in the
    order `const async unsafe extern "ABI"`, so only an `extern` can stand between `unsafe` and
    `fn`; a trait's `unsafe` comes just before `trait` (or `auto trait`)."""
    if root.var is not None:
        return None
    if root.kind in ("function_item", "function_signature_item"):
        modifiers = next((c for c in root.children if c.kind == "function_modifiers"), None)
        if modifiers is None or not any(c.text == "unsafe" for c in modifiers.children):
            return None
        abi = "(?:extern" + _GAP + '(?:"[^"]*"' + _GAP + ")?)?"
        return r"\bunsafe" + _GAP + abi + r"fn\b"
    if root.kind == "trait_item" and any(c.text == "unsafe" for c in root.children):
        return r"\bunsafe" + _GAP + "(?:auto" + _GAP + r")?trait\b"
    return None


_NAME = r"(?:r#)?[A-Za-z_][A-Za-z0-9_]*"


# How far a destructuring `let`'s phrase looks through generic arguments (`let Handle::<T>(`).
_GENERICS_LOOK = 200


def destructured_type_prefix(pattern: Pattern, var: str) -> str | None:
    """For a pattern that destructures a struct named by metavariable `var` (`let $S(..) = $V;`,
    `let $S { .. } = $V;`), the regex source of what every match spells before the struct's
    own name: `let`, then the path's leading segments (`let crate::ffi::`), ending where the
    name starts; None for another pattern. The name is the path's last segment, before any
    generic arguments."""
    root = pattern.root
    if root.kind != "let_declaration" or root.var is not None:
        return None
    target = next((c for c in root.children if c.field == "pattern"), None)
    if target is None or target.kind not in ("tuple_struct_pattern", "struct_pattern"):
        return None
    if not any(c.field == "type" and c.var == var and not c.sequence for c in target.children):
        return None
    # Starting with the literal `let`, which `re` scans for (`dsl.word_regex`).
    return after_word(b"let", rf"{_GAP}(?:{_NAME}{_GAP}::{_GAP})*".encode()).decode()


def _destructuring_let(root: PatternNode) -> str | None:
    """`let Name(` / `let path::Name {` (generic arguments allowed) for a `let` pattern that
    destructures a tuple struct or a struct: `let` is followed directly by its pattern."""
    if root.kind != "let_declaration" or root.var is not None:
        return None
    target = next((c for c in root.children if c.field == "pattern"), None)
    if target is None or target.kind not in ("tuple_struct_pattern", "struct_pattern"):
        return None
    path = _NAME + "(?:" + _GAP + "::" + _GAP + _NAME + ")*"
    # Generic arguments are looked through for `_GENERICS_LOOK` characters; longer ones count
    # as the phrase. A search to the next `>` from every `let` took 20 s on 160 KB of `let A::<`.
    opening = _GAP + "(?:::" + _GAP + ")?<"
    generics = f"(?:{opening}[^;=]{{0,{_GENERICS_LOOK}}}?>)?"
    too_long = f"{opening}[^;=]{{{_GENERICS_LOOK}}}"
    return rf"\blet{_GAP}{path}(?:{generics}{_GAP}[({{]|{too_long})"

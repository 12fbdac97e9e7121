"""Where a raw pointer given back to `Box::from_raw` was made, and what type was put behind it.

`Box::from_raw(p as *mut B)` is sound only if `p` came from `Box::into_raw` of a `Box<B>`. FFI
code hides the type on the way: the pointer travels as `*mut c_void` through C (a callback's
user data) or through a struct field, so the compiler never compares the type put in with the
type taken out. This module follows the pointer back, without type inference, along three roads:

- within the function: `let p = Box::into_raw(…)` (through `let` chains and casts);
- through a callback's user data: `p` is a parameter of the function `cb` that holds the
  `from_raw`, and somewhere in the crate one call passes `cb` (`cb`, `cb::<T>`, `Some(cb)`)
  together with the pointer (as another argument, or another field of the same struct literal);
- through a field: `p` is `self.field`, and an impl of the same type assigns
  `self.field = …` or builds `Self { field: … }`.

At the making site the carried type is read from the code: a closure literal, a value whose
declared type is known (parameter, typed `let`), a struct literal or `Type::new(..)`, a cast to
`Box<dyn …>`; or the allocation is not a `Box` at all (`CString::into_raw`, `Arc::into_raw`, a
`Vec`'s buffer). Only a mismatch both sides prove is reported; anything unread is silence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Node

from unsound.engine import node_memo
from unsound.engine.crate_index import CrateIndex
from unsound.engine.generics import is_type_parameter
from unsound.engine.syntax import enclosing_function, enclosing_impl, node_text, type_base_name
from unsound.engine.units import ParsedFile

_MAX_DEPTH = 4
_CLOSURE_TRAITS = re.compile(r"^(Fn|FnMut|FnOnce)\b")


@dataclass(frozen=True)
class Carried:
    """What a pointer points to, as far as the code says.

    kind: "closure" (an unnameable closure or `impl Fn…`), "generic" (a type parameter),
    "dyn" (`dyn Trait`), "dyn-box" (`Box<dyn Trait>`), "box" (`Box<sized thing>`), "named" (a
    concrete type, by its last path segment), "alloc" (not a `Box` allocation: `CString`,
    `Vec`, `Arc`, `Rc`).
    """

    kind: str
    name: str


@dataclass(frozen=True)
class Origin:
    site: Node
    unit: ParsedFile
    carried: Carried
    # For a pointer passed beside a callback: the call (file, byte) that passes both. Which of
    # its arguments is the callback's user data is not known, so the call's pointers are
    # judged together.
    call: tuple[str, int] | None = None


def mismatched_origins(
    pointer: Node, unit: ParsedFile, taken: Node, crate: CrateIndex
) -> list[Origin]:
    """Making sites of `pointer` whose carried type is provably not the type `taken` out."""
    wanted = classify_type(taken, crate)
    found = origins(pointer, unit, crate, 0)
    # A call that passes the callback beside one pointer of the right type pairs them: its
    # other pointers are buffers or other arguments, not this callback's user data.
    paired = {
        o.call
        for o in found
        if o.call is not None and wanted is not None and o.carried.kind != "alloc"
        if not _mismatch(o.carried, wanted)
    }
    return [
        o
        for o in found
        if o.call not in paired or o.call is None
        if o.carried.kind == "alloc" or (wanted is not None and _mismatch(o.carried, wanted))
    ]


def _mismatch(made: Carried, taken: Carried) -> bool:
    if made.kind == "alloc":
        return True  # never a `Box` allocation: freed with the wrong layout or allocator
    if taken.kind == "generic":
        return False  # the caller's instantiation decides
    if made.kind == "closure":
        return taken.kind in ("dyn", "dyn-box", "box", "named")
    if made.kind == "generic":
        return taken.kind in ("dyn", "dyn-box")
    if made.kind == "box":
        return taken.kind in ("dyn", "dyn-box", "named")
    if made.kind == "dyn-box":
        return taken.kind in ("named", "box")
    if made.kind == "named":
        if taken.kind in ("dyn", "dyn-box", "box"):
            return True
        return taken.kind == "named" and taken.name != made.name
    return False


# -- the type taken out and types written in code ------------------------------------------


def classify_type(node: Node, crate: CrateIndex, depth: int = 0) -> Carried | None:
    """The carried type a written type stands for (type aliases of the crate expanded)."""
    if depth > _MAX_DEPTH:
        return None
    if node.type in ("parenthesized_type",) and node.named_child_count:
        return classify_type(node.named_children[0], crate, depth + 1)
    if node.type == "dynamic_type":
        return Carried("dyn", node_text(node))
    if node.type == "abstract_type":
        bound = node.named_children[-1] if node.named_child_count else None
        if bound is not None and _CLOSURE_TRAITS.match(node_text(bound)):
            return Carried("closure", node_text(node))
        return Carried("generic", node_text(node))
    if node.type == "generic_type" and type_base_name(node) == "Box":
        arguments = node.child_by_field_name("type_arguments")
        inner = arguments.named_children if arguments is not None else []
        if len(inner) == 1 and inner[0].type == "dynamic_type":
            return Carried("dyn-box", node_text(node))
        return Carried("box", node_text(node))
    if node.type == "type_identifier" and is_type_parameter(node):
        return Carried("generic", node_text(node))
    name = type_base_name(node)
    if name is None or node.type == "reference_type":
        return None
    if name == "Self":
        impl = enclosing_impl(node)
        self_type = impl.child_by_field_name("type") if impl is not None else None
        name = type_base_name(self_type) if self_type is not None else None
        if name is None:
            return None
    alias = crate.type_alias(name)
    if alias is not None:
        return classify_type(alias, crate, depth + 1)
    return Carried("named", name)


# -- where a pointer was made ---------------------------------------------------------------


def origins(pointer: Node, unit: ParsedFile, crate: CrateIndex, depth: int) -> list[Origin]:
    """The making sites the code shows for the pointer value `pointer`."""
    if depth > _MAX_DEPTH:
        return []
    node = _unwrap(pointer)
    made = _making(node, crate)
    if made is not None:
        return [Origin(node, unit, made)]
    if node.type == "identifier":
        value = _local_value(node)
        if value is not None:
            return origins(value, unit, crate, depth + 1)
        function = enclosing_function(node)
        if function is not None and _is_parameter(node_text(node), function):
            return _through_callbacks(function, unit, crate, depth + 1)
        return []
    if node.type == "field_expression":
        return _through_field(node, crate, depth + 1)
    return []


def _unwrap(node: Node) -> Node:
    """The pointer under casts, `.cast()`, parentheses and `unsafe { … }`."""
    while True:
        if node.type == "parenthesized_expression" and node.named_child_count:
            node = node.named_children[0]
        elif node.type == "type_cast_expression" and node.child_by_field_name("value"):
            node = node.child_by_field_name("value")  # type: ignore[assignment]
        elif node.type == "call_expression" and _method_name(node) in ("cast", "cast_mut"):
            receiver = _receiver(node)
            if receiver is None:
                return node
            node = receiver
        elif node.type == "unsafe_block" and node.named_child_count:
            block = node.named_children[-1]
            tail = block.named_children[-1] if block.named_child_count else None
            if tail is None or tail.type.endswith(("_statement", "_declaration", "_item")):
                return node
            node = tail
        else:
            return node


def _method_name(call: Node) -> str | None:
    function = _callee(call)
    if function is None or function.type != "field_expression":
        return None
    field = function.child_by_field_name("field")
    return node_text(field) if field is not None else None


def _receiver(call: Node) -> Node | None:
    function = _callee(call)
    return function.child_by_field_name("value") if function is not None else None


def _callee(call: Node) -> Node | None:
    """The called expression, under a turbofish (`x.cast::<T>()`)."""
    function = call.child_by_field_name("function")
    if function is not None and function.type == "generic_function":
        function = function.child_by_field_name("function")
    return function


def _arguments(call: Node) -> list[Node]:
    arguments = call.child_by_field_name("arguments")
    if arguments is None:
        return []
    return [a for a in arguments.named_children if a.type not in ("line_comment", "block_comment")]


def _path_of(call: Node) -> str:
    function = call.child_by_field_name("function")
    return re.sub(r"\s+", "", node_text(function)) if function is not None else ""


_BOX_INTO_RAW = re.compile(r"^(\w+::)*Box(::<.*>)?::into_raw$")
_BOX_NEW = re.compile(r"^(\w+::)*Box(::<(?P<type>.*)>)?::(new|pin)$")
_FOREIGN_INTO_RAW = re.compile(r"^(\w+::)*(?P<type>CString|Arc|Rc)(::<.*>)?::into_raw$")
_CSTRING_MADE = re.compile(r"^(\w+::)*CString::(new|from|from_vec_unchecked)\b")
_VEC_MADE = re.compile(r"^((\w+::)*(Vec|String)::\w+\(|vec!\s*\[)")


def _making(node: Node, crate: CrateIndex) -> Carried | None:
    """The carried type if `node` is an expression that turns an allocation into a pointer."""
    if node.type != "call_expression":
        return None
    path = _path_of(node)
    arguments = _arguments(node)
    if _BOX_INTO_RAW.match(path) and len(arguments) == 1:
        return _boxed(arguments[0], crate)
    foreign = _FOREIGN_INTO_RAW.match(path)
    if foreign:
        return Carried("alloc", foreign.group("type"))
    method = _method_name(node)
    receiver = _receiver(node)
    if receiver is None:
        return None
    owner = _owner_kind(receiver)
    if method == "into_raw" and owner == "CString":
        return Carried("alloc", "CString")
    if method in ("as_mut_ptr", "as_ptr") and owner in ("Vec", "String"):
        return Carried("alloc", owner)
    return None


def _owner_kind(receiver: Node) -> str | None:
    """`CString`, `Vec` or `String` when the receiver visibly is one."""
    node = _unwrap_parens(receiver)
    if node.type == "call_expression" and _method_name(node) in ("unwrap", "expect"):
        node = _receiver(node) or node
    if node.type == "try_expression" and node.named_child_count:
        node = node.named_children[0]
    text = re.sub(r"\s+", "", node_text(node))
    if _CSTRING_MADE.match(text):
        return "CString"
    if _VEC_MADE.match(text):
        return "String" if text.startswith("String") else "Vec"
    if node.type == "identifier":
        declared = _declared_type_of(node)
        if declared is not None:
            name = type_base_name(declared)
            return name if name in ("CString", "Vec", "String") else None
        value = _local_value(node)
        if value is not None and value.type != "identifier":
            return _owner_kind(value)
    return None


def _boxed(argument: Node, crate: CrateIndex) -> Carried | None:
    """What `Box::into_raw(argument)` puts behind the pointer."""
    node = _unwrap_parens(argument)
    if node.type == "call_expression":
        match = _BOX_NEW.match(_path_of(node))
        arguments = _arguments(node)
        if match and len(arguments) == 1:
            if match.group("type"):
                return None  # `Box::<T>::new`: rare; the turbofish type is not a node here
            return expression_type(arguments[0], crate, 0)
    if node.type == "identifier":
        declared = _declared_type_of(node)
        if declared is not None and type_base_name(declared) == "Box":
            type_arguments = declared.child_by_field_name("type_arguments")
            inner = type_arguments.named_children if type_arguments is not None else []
            return classify_type(inner[0], crate) if len(inner) == 1 else None
        value = _local_value(node)
        if value is not None:
            return _boxed(value, crate)
    return None


def _unwrap_parens(node: Node) -> Node:
    while node.type == "parenthesized_expression" and node.named_child_count:
        node = node.named_children[0]
    return node


def expression_type(expression: Node, crate: CrateIndex, depth: int) -> Carried | None:
    """The type of a value as the code spells it, or None when it would take inference."""
    if depth > _MAX_DEPTH:
        return None
    node = _unwrap_parens(expression)
    if node.type == "closure_expression":
        return Carried("closure", "closure")
    if node.type == "type_cast_expression":
        written = node.child_by_field_name("type")
        return classify_type(written, crate) if written is not None else None
    if node.type == "struct_expression":
        name = node.child_by_field_name("name")
        return classify_type(name, crate) if name is not None else None
    if node.type == "call_expression":
        path = _path_of(node)
        if _BOX_NEW.match(path):
            inner_args = _arguments(node)
            inner = expression_type(inner_args[0], crate, depth + 1) if inner_args else None
            if inner is None:
                return None
            return Carried("dyn-box" if inner.kind == "dyn" else "box", f"Box<{inner.name}>")
        return _constructed_type(node, crate)
        return None
    if node.type == "identifier":
        declared = _declared_type_of(node)
        if declared is not None:
            return classify_type(declared, crate)
        value = _local_value(node)
        if value is not None:
            return expression_type(value, crate, depth + 1)
        spelled = node_text(node)
        if spelled[:1].isupper() and crate.definitions(spelled):
            return Carried("named", spelled)  # a unit struct
    return None


def _constructed_type(call: Node, crate: CrateIndex) -> Carried | None:
    """`Type::new(..)` / `Type::default()` read as a `Type` (not for the smart pointers)."""
    function = call.child_by_field_name("function")
    if function is None or function.type != "scoped_identifier":
        return None
    path = function.child_by_field_name("path")
    name = function.child_by_field_name("name")
    if path is None or name is None or node_text(name) not in ("new", "default"):
        return None
    if path.type not in ("identifier", "type_identifier", "scoped_identifier"):
        return None
    last = node_text(path).rsplit("::", 1)[-1]
    if not last[:1].isupper() or last in ("Box", "Arc", "Rc"):
        return None
    if last == "Self":
        return _self_type(call, crate)
    if crate.type_alias(last) is not None:
        return None  # an alias, possibly of a generic type: leave it
    return Carried("named", last)


def _self_type(node: Node, crate: CrateIndex) -> Carried | None:
    impl = enclosing_impl(node)
    self_type = impl.child_by_field_name("type") if impl is not None else None
    return classify_type(self_type, crate) if self_type is not None else None


# -- names inside one function ---------------------------------------------------------------


def _is_parameter(name: str, function: Node) -> bool:
    parameters = function.child_by_field_name("parameters")
    if parameters is None:
        return False
    for parameter in parameters.named_children:
        pattern = parameter.child_by_field_name("pattern")
        if pattern is not None and node_text(pattern).removeprefix("mut ").strip() == name:
            return True
    return False


def _declared_type_of(use: Node) -> Node | None:
    """The declared type of the variable a use names: a parameter or a typed `let` before it."""
    name = node_text(use)
    declaration = _last_let(use, name)
    if declaration is not None:
        return declaration.child_by_field_name("type")
    function = enclosing_function(use)
    parameters = function.child_by_field_name("parameters") if function is not None else None
    if parameters is None:
        return None
    for parameter in parameters.named_children:
        pattern = parameter.child_by_field_name("pattern")
        if pattern is not None and node_text(pattern).removeprefix("mut ").strip() == name:
            return parameter.child_by_field_name("type")
    return None


def _local_value(use: Node) -> Node | None:
    """The value of the nearest `let NAME = …` before the use, in its function."""
    declaration = _last_let(use, node_text(use))
    return declaration.child_by_field_name("value") if declaration is not None else None


def _last_let(use: Node, name: str) -> Node | None:
    """The nearest `let NAME` before `use` in program order, at each enclosing block level."""
    current: Node | None = use
    while current is not None and current.type not in ("function_item", "closure_expression"):
        parent = current.parent
        if parent is not None and parent.type == "block":
            for sibling in reversed(parent.named_children):
                if sibling.start_byte >= current.start_byte:
                    continue
                if sibling.type == "let_declaration":
                    pattern = sibling.child_by_field_name("pattern")
                    if pattern is not None and _binds(pattern, name):
                        return sibling
        current = parent
    return None


def _binds(pattern: Node, name: str) -> bool:
    if pattern.type == "identifier":
        return node_text(pattern) == name
    if pattern.type == "mut_pattern" and pattern.named_child_count:
        return _binds(pattern.named_children[-1], name)
    return False


# -- across functions: callbacks and fields ---------------------------------------------------


def _through_callbacks(
    function: Node, home: ParsedFile, crate: CrateIndex, depth: int
) -> list[Origin]:
    """Pointers passed together with this function (as a callback) anywhere in the crate."""
    name_node = function.child_by_field_name("name")
    if name_node is None:
        return []
    name = node_text(name_node)
    mentions = crate.mentions(name)

    def namesakes() -> int:
        """The crate's functions of this name, counted once per file's matching."""
        return node_memo.remember_in_scope(
            f"namesakes {name}",
            lambda: sum(
                1
                for _, m in mentions
                if m.parent is not None
                and m.parent.type == "function_item"
                and m.parent.child_by_field_name("name") == m
            ),
        )

    found: list[Origin] = []
    for unit, mention in mentions:
        # A mention followed by `(` or `<` is called or declared, not passed (`_passed_with`
        # gives nothing for it): turned away from the text, before asking nodes for their
        # parents. napi-rs's `box-from-raw-type-mismatch` asked 37,445 mentions, 0.24 s.
        if mention == name_node or _called_or_declared(unit.data, mention.end_byte):
            continue
        if not _names_function(mention, unit, function, home, namesakes):
            continue
        call = (unit.rel_path, mention.start_byte)
        for sibling in _passed_with(mention):
            if mention.start_byte <= sibling.start_byte < mention.end_byte:
                continue
            for origin in origins(sibling, unit, crate, depth):
                # A `Vec`/`String` buffer passed beside a callback is data the C side reads,
                # not the callback's user data.
                if origin.carried.kind == "alloc" and origin.carried.name in ("Vec", "String"):
                    continue
                found.append(Origin(origin.site, origin.unit, origin.carried, call))
    return found


def _called_or_declared(data: bytes, end: int) -> bool:
    """Whether the text after a name is `(` or `<`, blanks skipped: a call (`f(…)`), a
    declaration (`fn f(…)`, `fn f<T>(…)`) or a generic type, never a function value."""
    return _byte_after(data, end) in (b"(", b"<")


def _names_function(
    mention: Node,
    unit: ParsedFile,
    function: Node,
    home: ParsedFile,
    namesakes: Callable[[], int],
) -> bool:
    """Whether a mention of the function's name refers to this function, not a namesake
    (`Comparator::destructor` and `MergeOperator::destructor` are two functions): a path's
    qualifier must be the function's impl type (or `Self` inside it), or its module's name; an
    unqualified name must be in the function's own file, or the crate has one such fn."""
    parent = mention.parent
    if parent is not None and parent.type == "scoped_identifier":
        path = parent.child_by_field_name("path")
        if path is None:
            return False
        qualifier = node_text(path).rsplit("::", 1)[-1]
        owner = _impl_owner(function)
        if owner is not None:
            return qualifier == owner or (qualifier == "Self" and _impl_owner(mention) == owner)
        return qualifier in ("self", "super", "crate", _module_name(function, home))
    return unit.rel_path == home.rel_path or namesakes() <= 1


def _module_name(function: Node, home: ParsedFile) -> str:
    """The module the function is declared in: an inline `mod`, else its file's module."""
    current = function.parent
    while current is not None:
        if current.type == "mod_item":
            name = current.child_by_field_name("name")
            return node_text(name) if name is not None else ""
        current = current.parent
    parts = home.rel_path.replace("\\", "/").split("/")
    stem = parts[-1].removesuffix(".rs")
    if stem in ("mod", "lib", "main") and len(parts) > 1:
        return parts[-2]
    return stem


def _passed_with(mention: Node) -> list[Node]:
    """The other arguments of the call (or fields of the struct literal) that pass `mention`
    as a function value: `f`, `f::<T>`, `path::f`, `Some(f)`, `f as …`."""
    node = mention
    for _ in range(4):
        parent = node.parent
        if parent is None:
            return []
        if parent.type == "arguments":
            call = parent.parent
            if call is not None and call.type == "call_expression" and _is_some(call):
                node = call
                continue
            return [a for a in parent.named_children if a != node]
        if parent.type == "field_initializer":
            literal_body = parent.parent
            if literal_body is None:
                return []
            return [
                value
                for field in literal_body.named_children
                if field != parent and field.type == "field_initializer"
                if (value := field.child_by_field_name("value")) is not None
            ]
        if parent.type in ("generic_function", "scoped_identifier", "type_cast_expression"):
            node = parent
            continue
        return []
    return []


def _is_some(call: Node) -> bool:
    return _path_of(call) in ("Some", "Option::Some")


def _through_field(field_use: Node, crate: CrateIndex, depth: int) -> list[Origin]:
    """Values stored in `self.field` by any impl of the same type."""
    value = field_use.child_by_field_name("value")
    field = field_use.child_by_field_name("field")
    impl = enclosing_impl(field_use)
    self_type = impl.child_by_field_name("type") if impl is not None else None
    if value is None or field is None or self_type is None:
        return []
    if _unwrap_parens(value).type != "self" and node_text(value).strip("(*) ") != "self":
        return []
    owner = type_base_name(self_type)
    name = node_text(field)
    found: list[Origin] = []
    mentions = crate.mentions(name)  # asked every time: the file's reads are noted
    # Where the field is stored, found once per file's matching: following a pointer through
    # fields asks the same names again and again, a common field name (`env`, `value`) has
    # thousands of mentions, and a node's parent is found by walking down from the root again
    # (napi-rs: 4.4 s for 41 candidates when every mention's impl was asked each time).
    # Grouped by the impl they are in: napi-rs asked 38,760 stores for their impl's type.
    stores = node_memo.remember_in_scope(f"field stores {name}", lambda: _stores_by_owner(mentions))
    for unit, stored in stores.get(owner, ()):
        found.extend(origins(stored, unit, crate, depth))
    return found


def _stores_by_owner(
    mentions: list[tuple[ParsedFile, Node]],
) -> dict[str | None, list[tuple[ParsedFile, Node]]]:
    """The values the mentions of a field store, by the self type of the impl each is in."""
    grouped: dict[str | None, list[tuple[ParsedFile, Node]]] = {}
    for unit, mention in mentions:
        if not _may_store(unit.data, mention.end_byte):
            continue
        stored = _stored_value(mention)
        if stored is not None:
            grouped.setdefault(_impl_owner(mention), []).append((unit, stored))
    return grouped


# What may follow a field name that is stored (`field: value`, `field,` or `field }` in a struct
# literal, `.field = value`), or a comment before it.
_STORE_FOLLOWERS = frozenset(b":,}=/")
_BLANKS = b" \t\r\n"


def _may_store(data: bytes, end: int) -> bool:
    """Whether the text after a field mention allows a store: asking a node for its parent makes
    tree-sitter walk down from the root again, and most mentions are reads (`self.env.x`)."""
    after = _byte_after(data, end)
    return not after or after[0] in _STORE_FOLLOWERS


def _byte_after(data: bytes, end: int) -> bytes:
    """The first byte at or after `end` that is not blank (b"" at the end of the text)."""
    while end < len(data) and data[end] in _BLANKS:
        end += 1
    return data[end : end + 1]


def _stored_value(mention: Node) -> Node | None:
    """The value a field mention stores: `Type { field: value }`, `Type { field }`, or
    `x.field = value`; None for any other mention."""
    parent = mention.parent
    if parent is None:
        return None
    if parent.type == "field_initializer" and parent.child_by_field_name("field") == mention:
        literal = parent.parent.parent if parent.parent is not None else None
        if literal is not None and literal.type == "struct_expression":
            return parent.child_by_field_name("value")
        return None
    if parent.type == "shorthand_field_initializer":
        return mention
    if parent.type == "field_expression" and parent.child_by_field_name("field") == mention:
        assignment = parent.parent
        if (
            assignment is not None
            and assignment.type == "assignment_expression"
            and assignment.child_by_field_name("left") == parent
        ):
            return assignment.child_by_field_name("right")
    return None


def _impl_owner(node: Node) -> str | None:
    impl = enclosing_impl(node)
    self_type = impl.child_by_field_name("type") if impl is not None else None
    return type_base_name(self_type) if self_type is not None else None

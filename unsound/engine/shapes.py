"""Type shapes (`is raw-pointer`, `has lifetime`) decided on tree-sitter type nodes.

A binding that names a parameter, a field or a typed `let` stands for its declared type, so
`$P is raw-pointer` works on the parameter's name as well as on its type.
"""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from unsound.engine.generics import is_type_parameter
from unsound.engine.node_memo import per_node
from unsound.engine.syntax import (
    declared_type,
    enclosing,
    enclosing_function,
    enclosing_impl,
    has_token,
    node_text,
    type_base_name,
)


def is_pointer(node: Node, mutability: str | None = None) -> bool:
    node = declared_type(node)
    if node.type != "pointer_type":
        return False
    if mutability is None:
        return True
    return any(c.type == mutability or node_text(c) == mutability for c in node.children[:3])


def is_non_null(node: Node) -> bool:
    node = declared_type(node)
    return node.type in ("generic_type", "type_identifier", "scoped_type_identifier") and (
        type_base_name(node) == "NonNull"
    )


def is_reference(node: Node, mutable: bool = False) -> bool:
    node = declared_type(node)
    if node.type != "reference_type":
        return False
    return not mutable or any(c.type == "mutable_specifier" for c in node.children)


def is_phantom_data(node: Node) -> bool:
    return type_base_name(declared_type(node)) == "PhantomData"


def in_unsafe_context(node: Node) -> bool:
    """Inside an `unsafe` block or `unsafe fn`; outside any function, in an `unsafe impl`/trait.

    The nearest function decides: a safe method of an `unsafe impl` is not an unsafe context.
    """
    current: Node | None = node
    while current is not None:
        if current.type == "unsafe_block":
            return True
        if current.type in ("function_item", "function_signature_item"):
            return has_token(current, "unsafe")
        if current.type in ("impl_item", "trait_item") and has_token(current, "unsafe"):
            return True
        current = current.parent
    return False


def is_pub(node: Node) -> bool:
    return _visibility(node) == "pub"


def _visibility(node: Node) -> str:
    """The enclosing item's visibility as written, without spaces (`pub(crate)`), or ''."""
    item = enclosing(
        node,
        {
            "function_item",
            "struct_item",
            "enum_item",
            "field_declaration",
            "trait_item",
            "static_item",
            "const_item",
            "type_item",
            "mod_item",
            "union_item",
        },
    )
    if item is None:
        return ""
    for child in item.children:
        if child.type == "visibility_modifier":
            return "".join(node_text(child).split())
    return ""


@per_node
def is_raw_pointer(node: Node) -> bool:
    """`*const T`, `*mut T`, `NonNull<T>`, or an `Option` of one (a nullable pointer)."""
    node = declared_type(node)
    if is_pointer(node) or is_non_null(node):
        return True
    if node.type == "generic_type" and type_base_name(node) == "Option":
        arguments = node.child_by_field_name("type_arguments")
        inner = arguments.named_children if arguments is not None else []
        return len(inner) == 1 and (is_pointer(inner[0]) or is_non_null(inner[0]))
    return False


SHAPE_TESTS: dict[str, Callable[[Node], bool]] = {
    "raw-pointer": is_raw_pointer,
    "mut-pointer": lambda n: is_pointer(n, "mut"),
    "const-pointer": lambda n: is_pointer(n, "const"),
    "non-null": is_non_null,
    "reference": is_reference,
    "mut-reference": lambda n: is_reference(n, mutable=True),
    "phantom-data": is_phantom_data,
    "unsafe": in_unsafe_context,
    "type-parameter": is_type_parameter,
    "pub-crate": lambda n: (
        _visibility(n) in ("pub(crate)", "pub(super)") or _visibility(n).startswith("pub(in")
    ),
    "private": lambda n: _visibility(n) == "",
    "pub": is_pub,
}


@per_node
def lifetimes_in_type(node: Node) -> list[Node]:
    """Lifetime nodes written in a type, with `Self` read as the enclosing impl's self type.

    Returns lifetime nodes in source order; `'_` counts (it borrows from an input, and a raw
    pointer is still not tied to it).
    """
    node = declared_type(node)
    found: list[Node] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "lifetime":
            found.append(current)
            continue
        if current.type == "type_identifier" and node_text(current) == "Self":
            self_type = _impl_self_type(current)
            if self_type is not None:
                stack.append(self_type)
            continue
        if current.type in ("function_type", "bounded_type", "dynamic_type"):
            # `fn(&'a T)` and `dyn Trait + 'a` do not store a lifetime-bound value in the type.
            continue
        if current.type == "reference_type" and current is not node:
            # `Result<Self, &'static str>`: a reference beside the value does not hold it.
            continue
        if current.type == "pointer_type" or (
            current.type == "generic_type" and type_base_name(current) == "NonNull"
        ):
            # `*const X<'a>`, `NonNull<X<'static>>`: the lifetime is the pointee's, and a raw
            # pointer carries no lifetime itself.
            continue
        stack.extend(reversed(current.children))
    return sorted(found, key=lambda n: n.start_byte)


def _impl_self_type(node: Node) -> Node | None:
    function = enclosing_function(node)
    impl = enclosing_impl(function if function is not None else node)
    if impl is None:
        return None
    return impl.child_by_field_name("type")


@per_node
def type_names_in(node: Node) -> list[str]:
    """Names of the types written in a type (`Result<Data, E>` → Result, Data, E), `Self`
    read as the enclosing impl's type."""
    node = declared_type(node)
    names: list[str] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "type_identifier":
            text = node_text(current)
            if text == "Self":
                self_type = _impl_self_type(current)
                if self_type is not None:
                    stack.append(self_type)
                continue
            names.append(text)
            continue
        if current.type == "scoped_type_identifier":
            name = current.child_by_field_name("name")
            if name is not None:
                names.append(node_text(name))
            continue
        if current.type in (
            "function_type",
            "bounded_type",
            "dynamic_type",
            "reference_type",
            "pointer_type",
        ) or (current.type == "generic_type" and type_base_name(current) == "NonNull"):
            continue  # a pointee's or a borrow's types are not held by the value
        stack.extend(reversed(current.named_children))
    return names

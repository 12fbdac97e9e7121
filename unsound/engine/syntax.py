"""Small questions about Rust syntax trees that several conditions ask."""

from __future__ import annotations

from tree_sitter import Node

ITEM_KINDS = frozenset(
    {
        "function_item",
        "function_signature_item",
        "impl_item",
        "trait_item",
        "struct_item",
        "enum_item",
        "union_item",
        "mod_item",
        "static_item",
        "const_item",
        "type_item",
        "macro_definition",
    }
)


_BEFORE_ITEM = frozenset({"attribute_item", "line_comment", "block_comment"})


def preceding_attributes(node: Node) -> list[Node]:
    """The outer attributes (`#[…]`) written before an item, nearest first (comments between
    them are skipped)."""
    attributes = []
    sibling = node.prev_named_sibling
    while sibling is not None and sibling.type in _BEFORE_ITEM:
        if sibling.type == "attribute_item":
            attributes.append(sibling)
        sibling = sibling.prev_named_sibling
    return attributes


def node_text(node: Node) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


def enclosing(node: Node, kinds: frozenset[str] | set[str]) -> Node | None:
    """The node itself or its nearest ancestor of one of the kinds."""
    current: Node | None = node
    while current is not None:
        if current.type in kinds:
            return current
        current = current.parent
    return None


def enclosing_function(node: Node) -> Node | None:
    return enclosing(node, {"function_item", "function_signature_item", "closure_expression"})


def enclosing_impl(node: Node) -> Node | None:
    return enclosing(node, {"impl_item"})


def has_token(node: Node, token: str) -> bool:
    """Whether an anonymous token (`unsafe`, `pub`) is a direct child or in its modifiers."""
    for child in node.children:
        if child.type == token and not child.is_named:
            return True
        if child.type == "function_modifiers" and any(c.type == token for c in child.children):
            return True
    return False


def declared_type(node: Node) -> Node:
    """For a binding name (parameter, field, typed `let`), its declared type; else the node."""
    parent = node.parent
    if parent is not None and parent.type in ("parameter", "field_declaration", "let_declaration"):
        declared = parent.child_by_field_name("type")
        # Most callers pass the type itself (`$PT` of `$P: $PT`): one lookup settles that.
        if declared is not None and declared != node:
            for name in ("pattern", "name"):
                if parent.child_by_field_name(name) == node:
                    return declared
    if node.type in ("parameter", "field_declaration"):
        declared = node.child_by_field_name("type")
        if declared is not None:
            return declared
    return node


def type_base_name(node: Node) -> str | None:
    """`Foo` for `Foo`, `a::Foo`, `Foo<'a, T>`, `&Foo`; None for other shapes."""
    current = node
    while True:
        kind = current.type
        if kind == "type_identifier":
            return node_text(current)
        if kind == "scoped_type_identifier":
            name = current.child_by_field_name("name")
            return node_text(name) if name is not None else None
        if kind == "generic_type":
            inner = current.child_by_field_name("type")
            if inner is None:
                return None
            current = inner
            continue
        if kind in ("reference_type", "pointer_type"):
            inner = current.child_by_field_name("type")
            if inner is None:
                return None
            current = inner
            continue
        return None


def item_path(node: Node) -> str:
    """`module::Type::function` style path of the items enclosing a node, for fingerprints."""
    parts = []
    current: Node | None = node
    while current is not None:
        if current.type in ITEM_KINDS:
            if current.type == "impl_item":
                self_type = current.child_by_field_name("type")
                trait = current.child_by_field_name("trait")
                label = node_text(self_type) if self_type is not None else "impl"
                if trait is not None:
                    label = f"<{label} as {node_text(trait)}>"
                parts.append(label)
            else:
                name = current.child_by_field_name("name")
                if name is not None:
                    parts.append(node_text(name))
        current = current.parent
    return "::".join(reversed(parts))


def walk(node: Node) -> list[Node]:
    """Every descendant of a node, iteratively (deep trees exceed Python's recursion limit).

    Used only on small subtrees (one function body), never on whole files.
    """
    out = []
    stack = [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(reversed(current.children))
    return out


STATEMENT_PARENTS = frozenset({"block", "declaration_list", "source_file", "match_block"})


def is_module_body(node: Node) -> bool:
    """A file, or the `{ … }` of an inline `mod` (not an impl's or a trait's body): where a
    module's inner attributes and `use` declarations are."""
    if node.type == "source_file":
        return True
    parent = node.parent
    return node.type == "declaration_list" and parent is not None and parent.type == "mod_item"


def enclosing_statement(node: Node) -> Node | None:
    """The node itself or its nearest ancestor that is a statement or item of a block, an impl
    or trait body, or a file (a `match` arm counts as a statement of its `match`)."""
    current: Node | None = node
    while current is not None and current.parent is not None:
        if current.parent.type in STATEMENT_PARENTS:
            return current
        current = current.parent
    return None

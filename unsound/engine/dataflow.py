"""Intra-function def-use data flow: does a value reach the function's return value?

The analysis follows the names that hold the value through `let`, shadowing, reassignment, casts,
method and function calls, struct literals (including shorthand fields), tuples, blocks, `unsafe`
blocks, `if`/`match` arms and `return`. A `let` or assignment that gives the name a value not
derived from the tracked one cuts the flow. Dereferences (`*p`, `(*p).len()`) and known reading
functions (`ptr::read`, `is_null`, …) produce values that no longer carry the pointer itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from unsound.engine.syntax import node_text

# Calls whose result does not hold the pointer passed in (they read through it or test it).
_READING_FUNCTIONS = frozenset(
    {
        "read",
        "read_volatile",
        "read_unaligned",
        "drop",
        "drop_in_place",
        "is_null",
        "size_of_val",
        "align_of_val",
        "forget",
        "eq",
        "addr_eq",
        "hash",
    }
)
_READING_METHODS = frozenset(
    {
        "read",
        "read_volatile",
        "read_unaligned",
        "is_null",
        "is_aligned",
        "len",
        "is_empty",
        "addr",
        "to_bits",
        "offset_from",
        "align_offset",
        "eq",
        "ne",
        "cmp",
        "partial_cmp",
        "hash",
        "drop_in_place",
        "write",
        "write_bytes",
        "copy_from",
        "copy_to",
        "to_string",
        "to_owned",
        "to_vec",
        "copied",
        "cloned",
        "collect",
        "into_owned",
    }
)
_SCOPES = frozenset({"closure_expression", "function_item"})


@dataclass
class _State:
    tracked: set[str]


def flows_into_return(name_node: Node, function: Node) -> Node | None:
    """Where the value named by `name_node` lands in the function's returned value, or None."""
    body = function.child_by_field_name("body")
    if body is None:
        return None
    state = _State({node_text(name_node)})
    return _block(body, state, top=True)


def flows_into_node(name_node: Node, function: Node, target: Node) -> Node | None:
    """Where the value named by `name_node` lands inside the expression `target`, or None.

    The names holding the value are followed through the statements that run before the one
    holding `target`, at every block level down to it.
    """
    body = function.child_by_field_name("body")
    if body is None or not (body.start_byte <= target.start_byte < body.end_byte):
        return None
    state = _State({node_text(name_node)})
    blocks = []
    current: Node | None = target
    while current is not None and current != body:
        if current.type == "block":
            blocks.append(current)
        current = current.parent
    blocks.append(body)
    for block in reversed(blocks):
        for child in block.named_children:
            if child.start_byte <= target.start_byte < child.end_byte:
                break
            _statement(child, state)
    return _carries(target, state)


def _block(block: Node, state: _State, *, top: bool) -> Node | None:
    """Process a block's statements in order; return the sink in its value or any `return`."""
    children = [c for c in block.named_children if c.type not in ("line_comment", "block_comment")]
    for index, child in enumerate(children):
        if index == len(children) - 1:
            tail = _tail_expression(child)
            if tail is not None:
                return _returned(tail, state) or _carries(tail, state)
        sink = _statement(child, state)
        if sink is not None:
            return sink
    return None


def _tail_expression(node: Node) -> Node | None:
    """The block's value: a bare last expression, or a block-like one without `;`."""
    if node.type == "let_declaration" or node.type.endswith("_item"):
        return None
    if node.type == "expression_statement":
        if node.children and node.children[-1].type == ";":
            return None
        return node.named_children[0] if node.named_child_count else None
    return node


def _statement(statement: Node, state: _State) -> Node | None:
    """Update the tracked names for one statement; return a sink if it returns the value."""
    if statement.type == "let_declaration":
        value = statement.child_by_field_name("value")
        pattern = statement.child_by_field_name("pattern")
        carried = value is not None and _carries(value, state) is not None
        sink = _returned(value, state) if value is not None else None
        for name in _pattern_names(pattern):
            if carried:
                state.tracked.add(name)
            else:
                state.tracked.discard(name)  # shadowing cuts the flow
        return sink
    if statement.type == "expression_statement" and statement.named_child_count:
        expression = statement.named_children[0]
        if expression.type in ("assignment_expression", "compound_assignment_expr"):
            _assign(expression, state, definite=True)
            return _returned(expression, state)
        sink = _returned(expression, state)
        _nested_assignments(expression, state)
        return sink
    return None


def _assign(expression: Node, state: _State, *, definite: bool) -> None:
    left = expression.child_by_field_name("left")
    right = expression.child_by_field_name("right")
    if left is None or right is None or left.type != "identifier":
        return
    name = node_text(left)
    if _carries(right, state) is not None:
        state.tracked.add(name)
    elif definite:
        state.tracked.discard(name)  # reassignment cuts the flow


def _nested_assignments(expression: Node, state: _State) -> None:
    """Assignments inside branches and loops may add tracked names (never remove them)."""
    stack = [expression]
    while stack:
        node = stack.pop()
        if node.type in _SCOPES:
            continue
        if node.type == "assignment_expression":
            _assign(node, state, definite=False)
        if node.type == "let_declaration":
            value = node.child_by_field_name("value")
            if value is not None and _carries(value, state) is not None:
                state.tracked.update(_pattern_names(node.child_by_field_name("pattern")))
        stack.extend(node.named_children)


def _returned(node: Node, state: _State) -> Node | None:
    """A sink reached by a `return` expression anywhere inside `node` (not in closures)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in _SCOPES:
            continue
        if current.type == "return_expression" and current.named_child_count:
            sink = _carries(current.named_children[0], state)
            if sink is not None:
                return sink
        stack.extend(reversed(current.named_children))
    return None


def _unwrap(node: Node) -> Node:
    """Strip wrappers that pass their value through unchanged, iteratively: parentheses, casts,
    and `unsafe`/plain blocks that hold only a tail expression. Deeply nested wrappers (5,000
    levels in hostile code) must not cost a Python stack frame each."""
    while True:
        kind = node.type
        if kind == "parenthesized_expression" and node.named_child_count == 1:
            node = node.named_children[0]
        elif kind == "type_cast_expression" and node.child_by_field_name("value") is not None:
            node = node.child_by_field_name("value")  # type: ignore[assignment]
        elif kind == "unsafe_block" and _first_named(node, "block") is not None:
            node = _first_named(node, "block")  # type: ignore[assignment]
        elif kind == "block":
            statements = [
                c for c in node.named_children if c.type not in ("line_comment", "block_comment")
            ]
            tail = _tail_expression(statements[0]) if len(statements) == 1 else None
            if tail is None:
                return node
            node = tail
        else:
            return node


def _carries(node: Node, state: _State) -> Node | None:
    """If the value of expression `node` holds the tracked value, the node where it lands."""
    node = _unwrap(node)
    kind = node.type
    if kind in ("identifier", "shorthand_field_identifier", "self"):
        return node if node_text(node) in state.tracked else None
    if kind == "field_initializer":
        value = node.child_by_field_name("value")
        return node if value is not None and _carries(value, state) is not None else None
    if kind in ("block", "unsafe_block"):
        inner = node if kind == "block" else _first_named(node, "block")
        return _block(inner, _State(set(state.tracked)), top=False) if inner else None
    if kind == "unary_expression":
        return None  # `*p` reads through the pointer; `!x`, `-x` compute new values
    if kind == "reference_expression":
        value = node.child_by_field_name("value")
        if value is None:
            return None
        if value.type == "unary_expression" and node_text(value).startswith("*"):
            inner = value.named_children[0] if value.named_child_count else None
            return _carries(inner, state) if inner is not None else None  # `&*p`
        return _carries(value, state)
    if kind == "call_expression":
        return _call(node, state)
    if kind == "index_expression":  # an element of the tracked value (`self.items[i]`)
        value = node.named_children[0] if node.named_child_count else None
        return _carries(value, state) if value is not None else None
    if kind in ("binary_expression", "range_expression"):
        return None
    if kind == "field_expression":
        value = node.child_by_field_name("value")
        return _carries(value, state) if value is not None else None
    if kind == "closure_expression":
        body = node.child_by_field_name("body")
        return _mentions(body, state) if body is not None else None
    if kind == "macro_invocation":
        return _mentions(node, state)
    if kind in ("if_expression", "match_expression", "else_clause", "match_block", "match_arm"):
        return _branches(node, state)
    if kind == "return_expression":
        return None
    for child in node.named_children:  # casts, tuples, arrays, struct literals, `?`, parens
        if child.type in ("type_identifier", "scoped_type_identifier", "generic_type"):
            continue
        if kind == "type_cast_expression" and child == node.child_by_field_name("type"):
            continue
        sink = _carries(child, state)
        if sink is not None:
            return sink
    return None


def _call(node: Node, state: _State) -> Node | None:
    function = node.child_by_field_name("function")
    arguments = node.child_by_field_name("arguments")
    if function is None:
        return None
    if function.type == "generic_function":  # `p.cast::<T>()`, `NonNull::<T>::new(p)`
        function = function.child_by_field_name("function") or function
    if function.type == "field_expression":  # a method call: receiver.method(args)
        receiver = function.child_by_field_name("value")
        method = node_text(function.child_by_field_name("field") or function)
        if method in _READING_METHODS:
            return None
        if receiver is not None:
            sink = _carries(receiver, state)
            if sink is not None:
                return sink
    else:
        name = node_text(function).rsplit("::", 1)[-1].split("<", 1)[0].strip()
        if name in _READING_FUNCTIONS:
            return None
    if arguments is None:
        return None
    for argument in arguments.named_children:
        sink = _carries(argument, state)
        if sink is not None:
            return sink
    return None


def _branches(node: Node, state: _State) -> Node | None:
    for child in node.named_children:
        if child.type == "match_arm":
            value = child.child_by_field_name("value")
            sink = _carries(value, state) if value is not None else None
        elif child.type in ("block", "else_clause", "if_expression", "match_block"):
            sink = _carries(child, state)
        else:
            continue
        if sink is not None:
            return sink
    return None


def _mentions(node: Node, state: _State) -> Node | None:
    """A tracked identifier anywhere inside (closures capture; macros are opaque tokens)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type in ("identifier", "self") and node_text(current) in state.tracked:
            return current
        stack.extend(reversed(current.children))
    return None


def _pattern_names(pattern: Node | None) -> list[str]:
    if pattern is None:
        return []
    if pattern.type == "identifier":
        return [node_text(pattern)]
    names = []
    stack = [pattern]
    while stack:
        current = stack.pop()
        if (
            current.type == "identifier"
            and current.parent is not None
            and (
                current.parent.type not in ("scoped_identifier", "tuple_struct_pattern")
                or current.parent.child_by_field_name("type") != current
            )
        ):
            names.append(node_text(current))
        stack.extend(current.named_children)
    return names


def _first_named(node: Node, kind: str) -> Node | None:
    for child in node.named_children:
        if child.type == kind:
            return child
    return None

"""How a type uses its generic parameters, for the Send/Sync variance rules.

Rudra's SendSyncVariance checker asks, for `unsafe impl<T> Sync for X<T>`, whether `X` really
holds a `T` (not only inside `PhantomData`) and whether its API hands `T` out through `&self`
(by reference: needs `T: Sync`; by value: needs `T: Send`). These are the same questions, answered
from the crate's syntax: the type's fields and the signatures of the methods of its impls.

A parameter is located by position: in `unsafe impl<U> Send for X<U>` the `U` is the first type
argument of `X`, which is `T` in `struct X<T>` and maybe `V` in `impl<V> X<V>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from tree_sitter import Node

from unsound.dsl.word_regex import after_word, whole_word
from unsound.engine.crate_index import CrateIndex, TypeDefinition, field_types_of, imported_paths
from unsound.engine.generics import bounds_of, parameter_name, written_bounds
from unsound.engine.syntax import enclosing_impl, has_token, node_text, type_base_name
from unsound.engine.units import ParsedFile

_NOT_STORED = frozenset({"function_type", "dynamic_type", "bounded_type"})
_MAX_DEPTH = 3


def param_position(param: Node) -> tuple[str, int, Node] | None:
    """(self type name, position among its non-lifetime arguments, the impl) for a type
    parameter declared by an `impl` and written as a direct argument of the impl's self type."""
    impl = enclosing_impl(param)
    name = parameter_name(param)
    if impl is None or name is None:
        return None
    self_type = impl.child_by_field_name("type")
    type_name = type_base_name(self_type) if self_type is not None else None
    if self_type is None or type_name is None:
        return None
    for index, argument in enumerate(_type_arguments(self_type)):
        if argument.type == "type_identifier" and node_text(argument) == name:
            return type_name, index, impl
    return None


def is_internal_type(crate: CrateIndex, type_node: Node) -> bool:
    """The crate declares the named type, and never as `pub`: private or `pub(crate)`."""
    name = type_base_name(type_node)
    if name is None:
        return False
    definitions = _definitions_near(crate, name, type_node)
    if not definitions or any(_is_exported(crate, d) for d in definitions):
        return False
    arguments = range(len(_type_arguments(type_node)))
    return not any(_leaks(crate, name, index, _MAX_DEPTH, definitions) for index in arguments)


_IDENTIFIER_BYTES = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


def _may_name(crate: CrateIndex, holder: TypeDefinition, targets: list[TypeDefinition]) -> bool:
    """Whether the holder's `name<…>` can be the target type: the crate declares one type of
    that name, or the holder sits in the target's file, or its file names the target's module
    (`use super::queue::Inner`, `queue::{Inner, …}`): tokio declares a dozen `Inner`s."""
    name = targets[0].name
    if len(crate.definitions(name)) <= 1:
        return True
    for target in targets:
        # By path: each is read from its file's items that spell a name, two parses of one file.
        if target.unit.rel_path == holder.unit.rel_path:
            return True
        modules = _file_modules(target.unit.rel_path)
        if not modules:
            continue
        # Written to start with the literal module name (`word_regex.after_word`): a regex
        # that starts with `\b` is tried at every position of the holder's file (tokio: 0.18 s
        # of `send-impl-without-send-bound`'s 0.44 s).
        module, rest = modules[-1].encode(), rb"::(\{[^}]*)?\b" + re.escape(name.encode())
        if _IDENTIFIER_BYTES.fullmatch(module):
            pattern = after_word(module, rest)
        else:  # `\b` before a name that does not start with a word character
            pattern = rb"\b" + re.escape(module) + rest
        if re.search(pattern, holder.unit.data):
            return True
    return False


def _leaks(
    crate: CrateIndex, name: str, index: int, depth: int, targets: list[TypeDefinition]
) -> bool:
    """Whether an exported type of the crate holds `name<…>` with its argument at `index` chosen
    by the exported type's own caller (`pub struct Sender<T> { inner: Arc<Queue<T>> }`): then
    the internal type's `Send`/`Sync` reaches users through the auto traits of the wrapper."""
    # A holder's field can write `name<…>` only if its item spells the name: most of the
    # definitions in the files that mention it do not (tokio: 1,952 `implements` and 2,100
    # `_may_name` questions asked of them).
    spelled = re.compile(whole_word(name.encode()))
    for holder in crate.definitions_mentioning(name):
        if holder.name == name or not spelled.search(holder.item.text or b""):
            continue
        if not _may_name(crate, holder, targets):
            continue
        if crate.implements(holder.name, "Send") or crate.implements(holder.name, "Sync"):
            continue  # its own `Send`/`Sync` impl decides (and is checked on its own)
        parameters = _parameters(holder.item)
        fields = [field_type for _, field_type in field_types_of(holder.item)]
        if any(_blocks_auto_traits(f) for f in fields):
            continue  # a raw pointer or `Rc` field: the holder is neither `Send` nor `Sync`
        for field_type in fields:
            stack = [field_type]
            while stack:
                node = stack.pop()
                if node.type in ("pointer_type", "function_type") or type_base_name(node) in (
                    "NonNull",
                    "AtomicPtr",
                ):
                    continue  # `*const X`, `NonNull<X>`, `AtomicPtr<X>` hide X's auto traits
                stack.extend(node.named_children)
                if node.type != "generic_type" or type_base_name(node) != name:
                    continue
                arguments = _type_arguments(node)
                if index >= len(arguments) or arguments[index].type != "type_identifier":
                    continue
                passed = node_text(arguments[index])
                if passed not in parameters:
                    continue
                if any(f is not field_type and _carries(f, passed) for f in fields):
                    # Another field (`PhantomData<&'a T>`, `&'a mut RawTable<T>`) puts the
                    # bound back on the wrapper's auto traits.
                    continue
                if _is_exported(crate, holder):
                    return True
                if depth > 1 and _leaks(
                    crate, holder.name, parameters.index(passed), depth - 1, [holder]
                ):
                    return True
    return False


def _is_exported(crate: CrateIndex, definition: TypeDefinition) -> bool:
    """Declared `pub`, in modules declared `pub` (inline `mod` and the file's own `mod name;`
    chain), or re-exported by a `pub use`."""
    if _visibility(definition.item) != "pub":
        return False
    modules = []
    current = definition.item.parent
    while current is not None:
        if current.type == "mod_item":
            name = current.child_by_field_name("name")
            if _visibility(current) != "pub":
                modules.append(node_text(name) if name is not None else "")
        current = current.parent
    modules.extend(_private_modules(crate, definition.unit.rel_path))
    return all(_reexported(crate, definition.name, module) for module in modules)


def _private_modules(crate: CrateIndex, rel_path: str) -> list[str]:
    return [m for m in _file_modules(rel_path) if not crate.module_is_public(m)]


def _reexported(crate: CrateIndex, name: str, module: str) -> bool:
    """A `pub use` of the name in a file reachable from outside (at the crate root, or in
    public modules): `pub use self::wrapper::Wrapper` inside a private module is not one."""
    return any(not _private_modules(crate, path) for path in crate.reexports(name, module))


def _file_modules(rel_path: str) -> list[str]:
    """`src/a/b.rs` → a, b; `src/a/mod.rs` → a; `src/lib.rs` → none (module names of a file,
    read from its path below the last `src/`)."""
    parts = rel_path.replace("\\", "/").split("/")
    below = parts[::-1].index("src") if "src" in parts else 1
    parts = parts[len(parts) - below :]
    if not parts:
        return []
    last = parts[-1].removesuffix(".rs")
    if last in ("lib", "main", "mod") or parts[-1] == last:
        parts = parts[:-1]
    else:
        parts[-1] = last
    return [p.removeprefix("r#") for p in parts if p]


def _definitions_near(crate: CrateIndex, name: str, near: Node) -> list[TypeDefinition]:
    """The crate's definitions of `name`, those in the file of `near` first: a crate may declare
    several `Task`s in different modules, and an impl usually sits beside its type."""
    definitions = crate.definitions(name)
    root = _root(near)
    same_file = [d for d in definitions if d.unit.tree.root_node == root]
    return same_file or definitions


def has_crate_bound(crate: CrateIndex, param: Node, unit: ParsedFile | None = None) -> bool:
    """The parameter is bounded by a trait the crate declares (`V: View<'a>`, `C: Config`), or
    one a sibling crate of the workspace declares (`P: PdClient` with `use pd_client::PdClient`,
    `P: pd_client::PdClient`): the workspace's own trait decides which types qualify, usually
    type-level markers, and its supertraits (`PdClient: Send + Sync`), which a scan of one
    crate cannot see, may well say `Send`. `unit` is the file `param` is in."""
    for bound in bounds_of(param):
        text = bound.strip()
        if text.startswith("for<"):
            text = text.split(">", 1)[-1].strip()
        path = [s.strip() for s in text.split("<", 1)[0].split("::") if s.strip()]
        base = path[-1] if path else ""
        if not base or base in _STD_TRAITS:
            continue
        if crate.declares_trait(base):
            return True
        if unit is not None and _from_workspace_crate(crate, unit, param, path):
            return True
    return False


def _from_workspace_crate(
    crate: CrateIndex, unit: ParsedFile, param: Node, path: list[str]
) -> bool:
    """Whether the trait named by `path` comes from a member of the workspace: written with
    the crate's name (`pd_client::PdClient`), or imported from it in the module around `param`."""
    siblings = crate.workspace_crates
    if not siblings:
        return False
    if len(path) > 1:
        return path[0] in siblings
    return any(used[0] in siblings for used in imported_paths(unit, param, path[0]) if used)


# A crate may declare a trait of the same name as these; the bound still means the std one
# only if imported, but reading it as std's is the conservative choice.
_STD_TRAITS = frozenset({"Send", "Sync", "Copy", "Clone", "Sized", "Default", "Debug"})


def is_stored(crate: CrateIndex, param: Node) -> bool:
    """The impl's self type holds the parameter in a field, outside `PhantomData`, `fn` and `dyn`
    types (directly, or through another type of the crate). Unknown types count as holding it."""
    position = param_position(param)
    if position is None:
        return True
    type_name, index, impl = position
    return _stores(crate, type_name, index, _MAX_DEPTH, impl)


def is_exposed(crate: CrateIndex, param: Node, by_reference: bool) -> bool:
    """A safe `&self` method of the self type (`pub`, or of a trait impl) mentions the parameter
    in its signature (arguments, return type, its own generics' bounds); with `by_reference`,
    only a shared borrow of it counts: a returned `&T` (also `&Self::Target` with `Target = T`)
    or a closure bound that receives `&T`."""
    position = param_position(param)
    if position is None:
        return False
    type_name, index, unsafe_impl = position
    for impl in _impls_near(crate, type_name, unsafe_impl):
        self_type = impl.child_by_field_name("type")
        arguments = _type_arguments(self_type) if self_type is not None else []
        if index >= len(arguments) or arguments[index].type != "type_identifier":
            continue
        local = node_text(arguments[index])
        if local not in _declared(impl):
            continue  # `impl X<u8>`: a concrete argument, not the parameter
        for method in _shared_self_methods(impl):
            if _signature_mentions(method, impl, local, by_reference):
                return True
    return False


def _impls_near(crate: CrateIndex, name: str, near: Node) -> list[Node]:
    """The impls of `name`, leaving out those in a file that declares another type of that name
    (crossbeam's `Sender<T>` and its private `counter::Sender<C>`)."""
    chosen = _definitions_near(crate, name, near)
    elsewhere = {d.unit.tree.root_node for d in crate.definitions(name) if d not in chosen} - {
        d.unit.tree.root_node for d in chosen
    }
    return [impl for impl in crate.impls_of(name) if _root(impl) not in elsewhere]


def _root(node: Node) -> Node:
    while node.parent is not None:
        node = node.parent
    return node


# Fields ------------------------------------------------------------------------------------


def _stores(
    crate: CrateIndex, type_name: str, index: int, depth: int, near: Node | None = None
) -> bool:
    if near is not None:
        items = [d.item for d in _definitions_near(crate, type_name, near)]
        # A type that a `macro_rules!` transcriber declares beside its impl.
        items = items or _declared_beside(type_name, near)
    else:
        items = [d.item for d in crate.definitions(type_name)]
    if not items:
        return True
    for item in items:
        declared = _parameters(item)
        if index >= len(declared):
            return True
        if _fields_mention(crate, item, type_name, declared[index], depth):
            return True
    return False


def _declared_beside(type_name: str, near: Node) -> list[Node]:
    stack = [_root(near)]
    found = []
    while stack:
        node = stack.pop()
        if node.type in ("struct_item", "enum_item", "union_item"):
            name = node.child_by_field_name("name")
            if name is not None and node_text(name) == type_name:
                found.append(node)
            continue
        if node.type in ("function_item", "impl_item"):
            continue
        stack.extend(node.named_children)
    return found


def _fields_mention(crate: CrateIndex, item: Node, type_name: str, name: str, depth: int) -> bool:
    fields = [field_type for _, field_type in field_types_of(item)]
    # Type-erased storage: `inner: AtomicUsize` (the address of a `Box<T>`) beside a
    # `PhantomData<Option<Box<T>>>` that says the value owns a `T`.
    erased = any(_is_erased_storage(f) for f in fields)
    for field_type in fields:
        stack = [field_type]
        while stack:
            node = stack.pop()
            if node.type in _NOT_STORED:
                continue
            if node.type == "generic_type":
                base = type_base_name(node)
                if base == "PhantomData":
                    if erased and _owns_by_value(node, name):
                        return True
                    continue
                if base is not None and base != type_name and depth > 1:
                    # `inner: Inner<T>`: the crate's own type decides whether it holds `T`.
                    through = _through_crate_type(crate, node, base, name, depth)
                    if through is not None:
                        if through:
                            return True
                        continue
            if node.type == "type_identifier" and node_text(node) == name:
                return True
            stack.extend(node.named_children)
    return False


_ERASED = frozenset({"NonNull", "AtomicPtr", "AtomicUsize"})


_OPAQUE = frozenset({"u8", "()", "c_void", "i8", "usize"})


def _is_erased_storage(field_type: Node) -> bool:
    """An `AtomicUsize`, or a raw pointer, `NonNull` or `AtomicPtr` to bytes, `()` or
    `c_void`: a place a `T` can live behind with its type erased (a pointer to a concrete
    foreign type such as `*mut ffi::EVP_PKEY` is a handle, not storage for `T`)."""
    base = type_base_name(field_type)
    if base == "AtomicUsize":
        return True
    if field_type.type == "pointer_type":
        pointee = field_type.child_by_field_name("type")
    elif base in _ERASED:
        arguments = _type_arguments(field_type)
        pointee = arguments[0] if arguments else None
    else:
        return False
    if pointee is None:
        return False
    text = "".join(node_text(pointee).split()).rsplit("::", 1)[-1]
    return text in _OPAQUE


def _owns_by_value(phantom: Node, name: str) -> bool:
    """`PhantomData<T>`, `PhantomData<Box<T>>`: the marker says the value owns a `T` (not
    `PhantomData<fn() -> T>`, `PhantomData<*const T>` or `PhantomData<&'a T>`)."""
    stack = list(_type_arguments(phantom))
    while stack:
        node = stack.pop()
        if node.type in _NOT_STORED or node.type in ("pointer_type", "reference_type"):
            continue
        if node.type == "type_identifier" and node_text(node) == name:
            return True
        stack.extend(node.named_children)
    return False


def _through_crate_type(
    crate: CrateIndex, node: Node, base: str, name: str, depth: int
) -> bool | None:
    """Whether the crate type `base<…>` holds `name` through the arguments that mention it;
    None when `base` is not a type of the crate (then its arguments are read as stored)."""
    if not crate.definitions(base):
        return None
    for position, argument in enumerate(_type_arguments(node)):
        if _mentions(argument, name) and _stores(crate, base, position, depth - 1):
            return True
    return False


def _blocks_auto_traits(field_type: Node) -> bool:
    """A raw pointer, `NonNull` or `Rc` field, also inside `PhantomData` (`PhantomData<*const
    D>`): the compiler implements neither `Send` nor `Sync` for the holder."""
    node = field_type
    while node.type == "generic_type" and type_base_name(node) == "PhantomData":
        arguments = _type_arguments(node)
        if len(arguments) != 1:
            return False
        node = arguments[0]
    return node.type == "pointer_type" or (
        node.type == "generic_type" and type_base_name(node) in ("NonNull", "Rc")
    )


def _carries(field_type: Node, name: str) -> bool:
    """The field's type mentions `name` where it counts for auto traits: not behind a raw
    pointer, `NonNull`, `AtomicPtr`, or inside a `fn` or `dyn` type."""
    stack = [field_type]
    while stack:
        node = stack.pop()
        if node.type in _NOT_STORED or node.type == "pointer_type":
            continue
        if node.type == "generic_type" and type_base_name(node) in ("NonNull", "AtomicPtr"):
            continue
        if node.type == "type_identifier" and node_text(node) == name:
            return True
        stack.extend(node.named_children)
    return False


def _mentions(node: Node, name: str) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "type_identifier" and node_text(current) == name:
            return True
        stack.extend(current.named_children)
    return False


# Methods -----------------------------------------------------------------------------------


def _shared_self_methods(impl: Node) -> Iterator[Node]:
    """Safe methods taking `&self` (or `self: &Self`, `Pin<&Self>`…), `pub` unless in a trait
    impl."""
    body = impl.child_by_field_name("body")
    if body is None:
        return
    in_trait_impl = impl.child_by_field_name("trait") is not None
    for method in body.named_children:
        if method.type != "function_item" or has_token(method, "unsafe"):
            continue
        if not in_trait_impl and _visibility(method) != "pub":
            continue
        parameters = method.child_by_field_name("parameters")
        first = parameters.named_children[0] if parameters and parameters.named_children else None
        if first is None:
            continue
        text = "".join(node_text(first).split())
        shared = first.type == "self_parameter" and text.startswith("&") and "mut" not in text
        typed = first.type == "parameter" and text.startswith("self:") and "&" in text
        if shared or (typed and "&mut" not in text):
            yield method


def _signature_mentions(method: Node, impl: Node, name: str, by_reference: bool) -> bool:
    parts: list[Node] = []
    parameters = method.child_by_field_name("parameters")
    if parameters is not None:
        parts.extend(parameters.named_children[1:])
    returned = method.child_by_field_name("return_type")
    if returned is not None:
        parts.append(returned)
    parts.extend(_method_bounds(method, name))
    if not by_reference:
        return any(_mentions_resolved(part, impl, name, skip_pointers=True) for part in parts)
    # Lent: a returned `&T`, or a `&T` handed to a closure (`F: Fn(&T)`, `f: impl Fn(&T)`); a
    # borrowed argument such as `other: &Sender<T>` lends nothing.
    lending = [returned] if returned is not None else []
    lending.extend(_method_bounds(method, name))
    if parameters is not None:
        for parameter in parameters.named_children[1:]:
            lending.extend(_closure_types(parameter))
    return any(
        _is_param_value(referent, impl, name)
        for part in lending
        for referent in _shared_references(part)
    )


def _closure_types(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "function_type":
            yield current
            continue
        stack.extend(current.named_children)


def _is_param_value(node: Node, impl: Node, name: str) -> bool:
    """`T` itself, or `T` held by value in a slice, array, tuple or `Option`/`Vec`/`Box`
    (`&[T]`, `&Option<T>`), reading `Self::Target` through the impl."""
    if node.type == "type_identifier":
        return node_text(node) == name
    if node.type == "scoped_type_identifier":
        path = node.child_by_field_name("path")
        member = node.child_by_field_name("name")
        if path is not None and member is not None and node_text(path) == "Self":
            target = _associated_type(impl, node_text(member))
            return target is not None and _is_param_value(target, impl, name)
        return False
    if node.type in ("array_type", "slice_type"):
        element = node.child_by_field_name("element")
        return element is not None and _is_param_value(element, impl, name)
    if node.type == "tuple_type":
        return any(_is_param_value(c, impl, name) for c in node.named_children)
    if node.type == "generic_type" and type_base_name(node) in ("Option", "Vec", "Box"):
        return any(_is_param_value(a, impl, name) for a in _type_arguments(node))
    return False


def _method_bounds(method: Node, name: str) -> Iterator[Node]:
    """The bounds of the method's own generics (`F: Fn(&T)`), not a bound on the impl's
    parameter itself (`where T: Clone` restricts the method; it hands nothing out)."""
    for _, bounded, bounds in written_bounds(method):
        if bounded != name:
            yield bounds


def _shared_references(node: Node) -> Iterator[Node]:
    """The referents of `&X` (not `&mut X`) written in a type, outermost first."""
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "reference_type":
            if not any(c.type == "mutable_specifier" for c in current.children):
                inner = current.child_by_field_name("type")
                if inner is not None:
                    yield inner
            continue
        if current.type == "pointer_type":
            continue
        stack.extend(current.named_children)


def _mentions_resolved(node: Node, impl: Node, name: str, skip_pointers: bool = False) -> bool:
    """`node` mentions the parameter `name`, reading `Self::Target` through the impl's
    `type Target = …;` (not `Self` itself, and not under a raw pointer or `PhantomData`)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if skip_pointers and current.type == "pointer_type":
            continue
        if current.type == "generic_type" and type_base_name(current) == "PhantomData":
            continue
        if current.type == "type_identifier" and node_text(current) == name:
            return True
        if current.type == "scoped_type_identifier":
            path = current.child_by_field_name("path")
            member = current.child_by_field_name("name")
            if path is not None and member is not None and node_text(path) == "Self":
                target = _associated_type(impl, node_text(member))
                if target is not None:
                    stack.append(target)
                continue
        stack.extend(current.named_children)
    return False


def _associated_type(impl: Node, name: str) -> Node | None:
    body = impl.child_by_field_name("body")
    if body is None:
        return None
    for item in body.named_children:
        if item.type == "type_item":
            declared = item.child_by_field_name("name")
            if declared is not None and node_text(declared) == name:
                return item.child_by_field_name("type")
    return None


# Syntax helpers ----------------------------------------------------------------------------


def _type_arguments(type_node: Node) -> list[Node]:
    """A type's generic arguments other than lifetimes (`X<'a, T, N>` → T, N)."""
    current = type_node
    while current.type in ("reference_type", "pointer_type"):
        inner = current.child_by_field_name("type")
        if inner is None:
            return []
        current = inner
    if current.type != "generic_type":
        return []
    arguments = current.child_by_field_name("type_arguments")
    if arguments is None:
        return []
    return [a for a in arguments.named_children if a.type not in ("lifetime", "block_comment")]


def _parameters(item: Node) -> list[str]:
    """An item's generic parameters other than lifetimes, in order (`<'a, T: X, const N: usize>`
    → T, N)."""
    parameters = item.child_by_field_name("type_parameters")
    if parameters is None:
        return []
    out = []
    for child in parameters.named_children:
        if child.type == "lifetime_parameter" or child.type in ("line_comment", "block_comment"):
            continue
        if child.type == "const_parameter":
            name = child.child_by_field_name("name")
            out.append(node_text(name) if name is not None else "")
            continue
        if child.type == "attribute_item":
            continue
        out.append(parameter_name(child) or "")
    return out


def _declared(impl: Node) -> set[str]:
    return {name for name in _parameters(impl) if name}


def _visibility(item: Node) -> str:
    for child in item.children:
        if child.type == "visibility_modifier":
            return "".join(node_text(child).split())
    return ""

"""The facts the Send/Sync variance rules ask about a type: does it hold its parameter, hand
it out through `&self`, reach users at all."""

from __future__ import annotations

from tree_sitter import Node

from unsound.dsl.rust_parser import parse_rust
from unsound.engine.crate_index import CrateIndex
from unsound.engine.syntax import node_text
from unsound.engine.units import ParsedFile
from unsound.engine.variance import (
    has_crate_bound,
    is_exposed,
    is_internal_type,
    is_stored,
)


def crate(*files: tuple[str, str]) -> tuple[CrateIndex, list[ParsedFile]]:
    units = [
        ParsedFile(path, "c", code.encode(), parse_rust(code.encode())) for path, code in files
    ]
    sources = [(unit.data, lambda unit=unit: unit) for unit in units]
    return CrateIndex(lambda: units, sources), units


def unsafe_impls(unit: ParsedFile) -> list[Node]:
    out, stack = [], [unit.tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "impl_item" and node_text(node).startswith("unsafe impl"):
            out.append(node)
        stack.extend(reversed(node.named_children))
    return out


def param(impl: Node, name: str) -> Node:
    parameters = impl.child_by_field_name("type_parameters")
    assert parameters is not None
    for child in parameters.named_children:
        if node_text(child).split(":")[0].strip() == name:
            return child
    raise AssertionError(name)


def self_type(impl: Node) -> Node:
    found = impl.child_by_field_name("type")
    assert found is not None
    return found


def test_stored_outside_phantom_data_only() -> None:
    index, (unit,) = crate(
        (
            "src/lib.rs",
            """
pub struct Id<T> { index: u32, marker: std::marker::PhantomData<fn() -> T> }
unsafe impl<T> Send for Id<T> {}
pub struct Cell<T> { value: std::cell::UnsafeCell<T> }
unsafe impl<U> Send for Cell<U> {}
pub struct Erased<T> { addr: AtomicUsize, owns: PhantomData<Option<Box<T>>> }
unsafe impl<T> Send for Erased<T> {}
pub struct Handle<T> { raw: *mut ffi::Ctx, kind: PhantomData<T> }
unsafe impl<T> Send for Handle<T> {}
""",
        )
    )
    ids, cells, erased, handles = unsafe_impls(unit)
    assert not is_stored(index, param(ids, "T"))
    assert is_stored(index, param(cells, "U"))  # renamed in the impl: found by position
    assert is_stored(index, param(erased, "T"))
    assert not is_stored(index, param(handles, "T"))


def test_stored_through_the_crates_own_types() -> None:
    index, (unit,) = crate(
        (
            "src/lib.rs",
            """
struct Marker<T>(PhantomData<T>);
struct Slot<V> { value: Option<V> }
pub struct A<T> { inner: Arc<Slot<T>> }
unsafe impl<T> Send for A<T> {}
pub struct B<T> { inner: Marker<T> }
unsafe impl<T> Send for B<T> {}
""",
        )
    )
    a, b = unsafe_impls(unit)
    assert is_stored(index, param(a, "T"))
    assert not is_stored(index, param(b, "T"))


def test_exposed_and_lent_through_shared_self_methods() -> None:
    index, (unit,) = crate(
        (
            "src/lib.rs",
            """
pub struct Q<T> { items: Vec<T> }
impl<T> Q<T> {
    pub fn push(&self, item: T) {}
    pub fn same(&self, other: &Q<T>) -> bool { true }
}
unsafe impl<T> Sync for Q<T> {}
pub struct D<T> { value: T }
impl<T> std::ops::Deref for D<T> {
    type Target = T;
    fn deref(&self) -> &Self::Target { &self.value }
}
unsafe impl<T> Sync for D<T> {}
pub struct L<T> { value: T }
impl<T> L<T> {
    pub fn get_mut(&mut self) -> &mut T { &mut self.value }
    pub unsafe fn get(&self) -> &T { &self.value }
    fn peek(&self) -> &T { &self.value }
    pub fn ptr(&self) -> *const T { &self.value }
}
unsafe impl<T> Sync for L<T> {}
pub struct M<T> { value: T }
impl<T> M<T> {
    pub fn with(&self, f: impl FnOnce(&mut T)) {}
}
unsafe impl<T> Sync for M<T> {}
""",
        )
    )
    queue, deref, lock, mutex = unsafe_impls(unit)
    assert is_exposed(index, param(queue, "T"), by_reference=False)
    assert not is_exposed(index, param(queue, "T"), by_reference=True)
    assert is_exposed(index, param(deref, "T"), by_reference=True)
    assert not is_exposed(index, param(lock, "T"), by_reference=False)
    assert not is_exposed(index, param(lock, "T"), by_reference=True)
    # `&mut T` handed to a closure: moved to the calling thread (needs `Send`), not shared.
    assert is_exposed(index, param(mutex, "T"), by_reference=False)
    assert not is_exposed(index, param(mutex, "T"), by_reference=True)


def test_internal_types_and_what_leaks_them() -> None:
    index, (lib, queue) = crate(
        (
            "src/lib.rs",
            """
mod queue;
pub mod open;
pub use queue::Exported;
struct Private<T> { value: T }
unsafe impl<T> Send for Private<T> {}
struct Leaked<T> { value: T }
unsafe impl<T> Send for Leaked<T> {}
pub struct Wrapper<T> { inner: Box<Leaked<T>> }
struct Shielded<T> { value: T }
unsafe impl<T> Send for Shielded<T> {}
pub struct Guarded<T> { inner: Box<Shielded<T>>, marker: PhantomData<T> }
""",
        ),
        (
            "src/queue.rs",
            """
pub struct Hidden<T> { value: T }
unsafe impl<T> Send for Hidden<T> {}
pub struct Exported<T> { value: T }
unsafe impl<T> Send for Exported<T> {}
""",
        ),
    )
    private, leaked, shielded = unsafe_impls(lib)
    hidden, exported = unsafe_impls(queue)
    assert is_internal_type(index, self_type(private))
    assert not is_internal_type(index, self_type(leaked))
    assert is_internal_type(index, self_type(shielded))
    assert is_internal_type(index, self_type(hidden))
    assert not is_internal_type(index, self_type(exported))


def test_crate_bounded_parameters() -> None:
    index, (unit,) = crate(
        (
            "src/lib.rs",
            """
pub trait View<'a> {}
pub struct Q<V, T> { v: V, t: T }
unsafe impl<V: for<'a> View<'a>, T: Clone> Send for Q<V, T> {}
""",
        )
    )
    (impl,) = unsafe_impls(unit)
    assert has_crate_bound(index, param(impl, "V"))
    assert not has_crate_bound(index, param(impl, "T"))


def test_a_trait_from_a_sibling_crate_of_the_workspace_counts_as_the_crates_own() -> None:
    code = """
use pd_client::PdClient;
use serde::Serialize;
pub struct Q<A, B, C, D> { a: A, b: B, c: C, d: D }
unsafe impl<A: PdClient, B: pd_client::Store, C: Serialize, D> Send for Q<A, B, C, D>
where
    D: serde::Deserialize,
{
}
"""
    unit = ParsedFile("src/lib.rs", "app", code.encode(), parse_rust(code.encode()))
    sources = [(unit.data, lambda: unit)]
    members = CrateIndex(lambda: [unit], sources, workspace_crates=frozenset({"pd_client", "app"}))
    alone = CrateIndex(lambda: [unit], sources)
    (impl,) = unsafe_impls(unit)
    assert has_crate_bound(members, param(impl, "A"), unit)  # imported from the member
    assert has_crate_bound(members, param(impl, "B"), unit)  # named by the member's path
    assert not has_crate_bound(members, param(impl, "C"), unit)  # serde is no member
    assert not has_crate_bound(members, param(impl, "D"), unit)
    # Without the workspace's names (or the file), only the crate's own traits count.
    assert not has_crate_bound(alone, param(impl, "A"), unit)
    assert not has_crate_bound(members, param(impl, "A"))

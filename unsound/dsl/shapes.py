"""The names a rule may use after `is` and `holds`, with what each means (for checks and docs).

The engine implements each name (unsound/engine/shapes.py); a test keeps the two in step.
"""

from __future__ import annotations

SHAPES: dict[str, str] = {
    "raw-pointer": "a raw pointer type: `*const T`, `*mut T` or `NonNull<T>`",
    "mut-pointer": "`*mut T`",
    "const-pointer": "`*const T`",
    "non-null": "`NonNull<T>` (any path ending in `NonNull`)",
    "reference": "a reference type `&T` or `&mut T`, with or without a lifetime",
    "mut-reference": "`&mut T`",
    "phantom-data": "`PhantomData<…>`",
    "unsafe": "declared in an unsafe context: an `unsafe fn`, an `unsafe` block or `unsafe impl`",
    "pub": "the enclosing item is `pub` (exactly, not `pub(crate)`)",
    "pub-crate": "the enclosing item is `pub(crate)`, `pub(super)` or `pub(in …)`",
    "private": "the enclosing item has no visibility modifier",
    "static-mut": "names a `static mut` item of the crate",
    "type-parameter": "a generic type parameter (`T`, `T: Clone`), or a type naming one in scope",
    "internal-type": (
        "names a struct, enum or union the crate declares, never as `pub`: private, "
        "`pub(crate)` or `pub(super)`, so only the crate chooses its type arguments"
    ),
    "crate-bounded": (
        "a type parameter bounded by a trait the crate declares (`V: View<'a>`, `C: Config`): "
        "the crate's trait decides which types qualify"
    ),
    "stored-param": (
        "a type parameter of an `impl` that the impl's type holds in a field: not only inside "
        "`PhantomData`, a `fn` or a `dyn` type (followed through the crate's own types; a type "
        "the crate does not define counts as holding it)"
    ),
    "exposed-param": (
        "a type parameter of an `impl` that a safe `&self` method of the impl's type (`pub`, "
        "or in a trait impl) mentions in its signature: takes it, returns it, or hands it to a "
        "closure bound (not behind a raw pointer)"
    ),
    "lent-param": (
        "a type parameter of an `impl` whose shared borrow a safe `&self` method of the impl's "
        "type hands out: returns `&T` (`Option<&T>`, `&Self::Target` with `Target = T`) or "
        "passes it to a closure bound (`F: Fn(&T)`)"
    ),
}

# Shapes answered from the crate's item index rather than from the node alone.
CRATE_SHAPES = frozenset(
    {"static-mut", "internal-type", "crate-bounded", "stored-param", "exposed-param", "lent-param"}
)

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
}

# Shapes answered from the crate's item index rather than from the node alone.
CRATE_SHAPES = frozenset({"static-mut"})

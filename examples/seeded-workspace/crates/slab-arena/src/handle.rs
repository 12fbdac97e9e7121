//! Handles into an arena.

use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::node::{Arena, Node};

/// A read position inside a byte buffer.
pub struct Cursor<'a> {
    pub buf: &'a [u8],
    pub pos: *mut u8,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8], pos: *mut u8) -> Self { // ruleid: raw-pointer-escapes-lifetime
        Cursor { buf, pos }
    }
}

/// One node of an arena, with the arena it belongs to.
pub struct Slot<'a, T> {
    pub arena: &'a Arena<T>,
    pub node: NonNull<Node<T>>,
}

impl<'a, T> Slot<'a, T> {
    pub fn from_node(arena: &'a Arena<T>, node: NonNull<Node<T>>) -> Slot<'a, T> { // ruleid: raw-pointer-escapes-lifetime
        Slot { arena, node }
    }
}

/// A value inside an arena, reachable through `ptr`.
pub struct Handle<'a, T> {
    pub arena: &'a Arena<T>,
    pub ptr: *mut T,
}

pub fn handle<'a, T>(arena: &'a Arena<T>, p: *mut T) -> Handle<'a, T> { // ruleid: raw-pointer-escapes-lifetime
    Handle { arena, ptr: p }
}

impl<'a, T> Handle<'a, T> {
    pub fn from_mut(arena: &'a Arena<T>, x: &'a mut T) -> Self { // ok: raw-pointer-escapes-lifetime
        Handle {
            arena,
            ptr: x as *mut T,
        }
    }
}

/// A pointer to a value that the borrow in `_marker` keeps alive.
pub struct Pinned<'a, T> {
    pub ptr: *const T,
    _marker: PhantomData<&'a T>,
}

impl<'a, T> Pinned<'a, T> {
    pub fn new(value: &'a T) -> Self { // ok: raw-pointer-escapes-lifetime
        Pinned {
            ptr: value,
            _marker: PhantomData,
        }
    }
}

/// Owns a boxed value through a raw pointer; no borrow involved.
pub struct Owner<T> {
    pub ptr: *mut T,
}

impl<T> Owner<T> {
    /// # Safety
    ///
    /// `p` must come from `Box::into_raw` and must not be owned by anything else.
    pub unsafe fn new(p: *mut T) -> Owner<T> { // ok: raw-pointer-escapes-lifetime
        Owner { ptr: p }
    }
}

impl<T> Drop for Owner<T> {
    fn drop(&mut self) {
        // SAFETY: `new`'s contract makes this the only owner of a `Box` allocation.
        drop(unsafe { Box::from_raw(self.ptr) });
    }
}

//! The arena and its nodes.

use std::ptr::NonNull;

/// A node of a singly linked list whose nodes live in an `Arena`.
pub struct Node<T> {
    pub value: T,
    pub next: Option<NonNull<Node<T>>>,
}

/// Owns every node; nodes never move while the arena lives.
pub struct Arena<T> {
    nodes: Vec<Box<Node<T>>>,
}

impl<T> Default for Arena<T> {
    fn default() -> Self {
        Arena { nodes: Vec::new() }
    }
}

impl<T> Arena<T> {
    /// Adds a node and returns a pointer to it that stays valid while the arena lives.
    pub fn push(&mut self, value: T) -> NonNull<Node<T>> {
        let mut node = Box::new(Node { value, next: None });
        let ptr = NonNull::from(node.as_mut());
        self.nodes.push(node);
        ptr
    }

    /// How many nodes the arena holds.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the arena holds no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

//! An arena of linked nodes, with handles and cursors that borrow from it.

pub mod handle;
mod node;

pub use handle::{Cursor, Handle, Owner, Pinned, Slot};
pub use node::{Arena, Node};

//! Values passed between JavaScript and Rust through Node-API.
//!
//! `External<T>` hands a Rust value to JavaScript as an opaque object; `Point` is plain data that
//! JavaScript passes as `{ x, y }`.

mod convert;
pub mod external;
pub mod point;

pub use external::{External, TaggedObject};
pub use point::Point;

//! Lowering host values into a component instance's linear memory, after Wasmtime's
//! `component::func::LowerContext`.

pub mod data;
pub mod lower;
#[path = "raw/byte_view.rs"]
pub mod views;

pub use lower::{Instance, LowerContext, Options};

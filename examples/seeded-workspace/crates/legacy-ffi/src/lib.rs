//! Stack-walking helpers from before the workspace existed.
//!
//! This crate is listed in the workspace's `exclude`, so a workspace scan does not look at it.

/// A frame of the stack being walked.
pub struct Frame<'a> {
    pub name: &'a str,
    pub sp: *mut u8,
}

pub fn frame<'a>(name: &'a str, sp: *mut u8) -> Frame<'a> { // ok: raw-pointer-escapes-lifetime
    Frame { name, sp }
}

//! Views of bytes in an instance's memory, borrowed from the buffer that owns them.

/// Memory owned by the host.
pub struct Buffer {
    pub words: Vec<u32>,
}

/// A named run of `len` bytes starting at `data`.
pub struct View<'a> {
    pub name: &'a str,
    pub data: *const u8,
    pub len: usize,
}

pub fn view<'a>(name: &'a str, data: *const u8, len: usize) -> View<'a> { // ruleid: raw-pointer-escapes-lifetime
    View { name, data, len }
}

/// Bytes inside `owner`, as the lowering code sees them.
pub struct Bytes<'a> {
    pub owner: &'a Buffer,
    pub p: *const u8,
    pub len: usize,
}

impl<'a> Bytes<'a> {
    pub fn from_raw_parts(
        owner: &'a Buffer,
        raw: *const u32, // ruleid: raw-pointer-escapes-lifetime
        words: usize,
    ) -> Self {
        let p = raw.cast::<u8>();
        Self {
            owner,
            p,
            len: words * 4,
        }
    }

    pub fn from_word(owner: &'a Buffer, raw: *const u32) -> Bytes<'a> { // ruleid: raw-pointer-escapes-lifetime
        Bytes {
            owner,
            p: raw as *const u8,
            len: 4,
        }
    }
}

//! Borrowed records that the lowering code passes around.

/// A name borrowed from the caller next to a scratch buffer.
pub struct Data<'a> {
    pub x: &'a String,
    pub y: *mut String,
}

/// A scratch area the host fills before lowering.
pub struct Scratch {
    bytes: Vec<u8>,
}

impl Scratch {
    pub fn new(bytes: Vec<u8>) -> Self {
        Scratch { bytes }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

/// A name borrowed from the caller and the length of a scratch area.
pub struct Measured<'a> {
    pub x: &'a String,
    pub n: usize,
}

pub fn bar<'a>(x: &'a String, y: *mut String) -> Data<'a> { // ruleid: raw-pointer-escapes-lifetime
    Data { x, y }
}

/// Measures the scratch area at `p` and keeps only its length.
///
/// # Safety
///
/// `p` must be valid for reads.
pub unsafe fn measure<'a>(x: &'a String, p: *const Scratch) -> Measured<'a> { // ok: raw-pointer-escapes-lifetime
    // SAFETY: the caller promises `p` is valid for reads.
    let n = unsafe { (*p).len() };
    Measured { x, n }
}

/// Frees the old scratch buffer and returns a record without one.
///
/// # Safety
///
/// `y` must be null or come from `Box::into_raw`, and must not be used afterwards.
pub unsafe fn detach<'a>(x: &'a String, y: *mut String) -> Data<'a> { // ok: raw-pointer-escapes-lifetime
    if !y.is_null() {
        // SAFETY: the caller promises `y` came from `Box::into_raw` and is not used again.
        drop(unsafe { Box::from_raw(y) });
    }
    let y = std::ptr::null_mut();
    Data { x, y }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measure_keeps_only_the_length() {
        let name = String::from("memory");
        let scratch = Scratch::new(vec![0; 4]);
        // SAFETY: `scratch` is alive for the call.
        let measured = unsafe { measure(&name, &scratch) };
        assert_eq!(measured.n, 4);
    }

    #[test]
    fn detach_clears_the_buffer() {
        let name = String::from("memory");
        let scratch = Box::into_raw(Box::new(String::from("scratch")));
        // SAFETY: `scratch` came from `Box::into_raw` and is not used again.
        let data = unsafe { detach(&name, scratch) };
        assert!(data.y.is_null());
    }
}

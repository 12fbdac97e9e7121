//! The context a host value is lowered in: the store, the canonical options, and the instance.

/// Canonical ABI options of one lift or lower: the string encoding and the memory to use.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub utf8: bool,
    pub memory: usize,
}

/// A component instance with its linear memory.
#[derive(Debug, Default)]
pub struct Instance {
    memory: Vec<u8>,
}

impl Instance {
    /// An instance with `pages` of zeroed linear memory.
    pub fn with_pages(pages: usize) -> Self {
        Instance {
            memory: vec![0; pages * 65536],
        }
    }

    /// The instance's linear memory.
    pub fn memory_mut(&mut self) -> &mut [u8] {
        &mut self.memory
    }
}

/// Everything a `Lower` implementation needs while it writes into an instance.
pub struct LowerContext<'a, T> {
    pub store: &'a mut T,
    pub options: &'a Options,
    instance: *mut Instance,
}

impl<'a, T> LowerContext<'a, T> {
    /// Creates a new lowering context from the specified parameters.
    ///
    /// # Safety
    ///
    /// `instance` must be a valid component instance that belongs to `store`.
    pub unsafe fn new(
        store: &'a mut T,
        options: &'a Options,
        instance: *mut Instance, // ruleid: raw-pointer-escapes-lifetime
    ) -> LowerContext<'a, T> {
        LowerContext {
            store,
            options,
            instance,
        }
    }

    /// Writes `bytes` into the instance's memory at `offset`.
    pub fn write(&mut self, offset: usize, bytes: &[u8]) {
        // SAFETY: `new`'s contract keeps `instance` valid while the context exists.
        let memory = unsafe { (*self.instance).memory_mut() };
        memory[offset..offset + bytes.len()].copy_from_slice(bytes);
    }
}

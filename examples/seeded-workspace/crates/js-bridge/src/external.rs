//! A Rust value owned by a JavaScript object.

use std::any::TypeId;
use std::ffi::c_void;
use std::ops::Deref;

use napi_shim::{napi_env, napi_value, Status};

/// The heap cell a JavaScript external points at: the value and the type it was created with.
#[repr(C)]
pub struct TaggedObject<T> {
    pub(crate) type_id: TypeId,
    pub(crate) object: Option<T>,
}

impl<T: 'static> TaggedObject<T> {
    fn new(object: T) -> Self {
        TaggedObject {
            type_id: TypeId::of::<T>(),
            object: Some(object),
        }
    }
}

/// A Rust value wrapped in a JavaScript object; the JavaScript garbage collector frees it.
pub struct External<T: 'static> {
    pub(crate) obj: *mut TaggedObject<T>,
    pub(crate) size_hint: usize,
}

impl<T: 'static> External<T> {
    /// Boxes `value`; it is handed to JavaScript by `into_napi`.
    pub fn new(value: T) -> Self {
        let obj = Box::into_raw(Box::new(TaggedObject::new(value)));
        External { obj, size_hint: 0 }
    }

    /// Like `new`, telling the engine roughly how much memory the value holds.
    pub fn new_with_size_hint(value: T, size_hint: usize) -> Self {
        External {
            size_hint,
            ..External::new(value)
        }
    }

    /// The size hint given at creation.
    pub fn size_hint(&self) -> usize {
        self.size_hint
    }

    /// Hands the value to JavaScript; the engine calls `finalize` when it collects the object.
    ///
    /// # Safety
    ///
    /// `env` must be the live environment of the current call.
    pub unsafe fn into_napi(self, env: napi_env) -> Result<napi_value, Status> {
        let cell = Box::into_raw(Box::new(self));
        let mut result = std::ptr::null_mut();
        // SAFETY: `result` is a local valid for writes; `cell` stays alive until `finalize`.
        let status = unsafe {
            napi_shim::napi_create_external(
                env,
                cell.cast::<c_void>(),
                Some(finalize::<T>),
                std::ptr::null_mut(),
                &mut result,
            )
        };
        napi_shim::check_status(status)?;
        Ok(result)
    }
}

unsafe extern "C" fn finalize<T: 'static>(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` is the `Box<External<T>>` leaked by `into_napi`, freed only here.
    let external = unsafe { Box::from_raw(data.cast::<External<T>>()) };
    // SAFETY: `obj` came from `Box::into_raw` in `External::new` and is freed only here.
    drop(unsafe { Box::from_raw(external.obj) });
}

impl<T: 'static> Deref for External<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: `obj` is live while the JavaScript object is; `object` is set at creation.
        unsafe { (*self.obj).object.as_ref() }.expect("external value already taken")
    }
}

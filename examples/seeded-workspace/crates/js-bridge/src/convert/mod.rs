//! Conversions from JavaScript values, by value and by reference.

mod reference;
mod value;

use std::any::TypeId;
use std::ffi::c_void;

use napi_shim::{napi_env, napi_value, Status};

use crate::external::External;

/// Finds the `External<T>` cell behind a JavaScript external, checking its type.
///
/// # Safety
///
/// `env` and `v` must be live handles of the current call.
unsafe fn external_cell<T: 'static>(
    env: napi_env,
    v: napi_value,
) -> Result<*mut External<T>, Status> {
    let mut data: *mut c_void = std::ptr::null_mut();
    // SAFETY: `data` is a local valid for writes.
    napi_shim::check_status(unsafe { napi_shim::napi_get_value_external(env, v, &mut data) })?;
    let cell = data.cast::<External<T>>();
    // SAFETY: every external this crate creates holds a live `External<T>` cell.
    let type_id = unsafe { (*(*cell).obj).type_id };
    if type_id == TypeId::of::<T>() {
        Ok(cell)
    } else {
        Err(Status::InvalidArg)
    }
}

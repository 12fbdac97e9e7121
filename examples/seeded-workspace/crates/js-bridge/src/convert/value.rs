//! By-value conversions: the Rust side gets its own value.

use napi_shim::{napi_env, napi_value, FromNapiValue, Status};

use super::external_cell;
use crate::external::External;
use crate::point::Point;

impl<T: 'static> FromNapiValue for External<T> { // ruleid: napi-external-by-value
    unsafe fn from_napi_value(env: napi_env, v: napi_value) -> Result<Self, Status> {
        // SAFETY: forwarded from the caller.
        let cell = unsafe { external_cell::<T>(env, v) }?;
        // SAFETY: `external_cell` checked that `cell` is a live `External<T>`.
        let (obj, size_hint) = unsafe { ((*cell).obj, (*cell).size_hint) };
        Ok(External { obj, size_hint })
    }
}

impl FromNapiValue for Point { // ok: napi-external-by-value
    unsafe fn from_napi_value(env: napi_env, v: napi_value) -> Result<Self, Status> {
        // SAFETY: forwarded from the caller.
        let x = unsafe { number_property(env, v, "x") }?;
        // SAFETY: forwarded from the caller.
        let y = unsafe { number_property(env, v, "y") }?;
        Ok(Point { x, y })
    }
}

/// Reads `object[name]` as a number.
///
/// # Safety
///
/// `env` and `object` must be live handles of the current call.
unsafe fn number_property(env: napi_env, object: napi_value, name: &str) -> Result<f64, Status> {
    let mut value = std::ptr::null_mut();
    let mut number = 0.0;
    // SAFETY: `value` and `number` are locals valid for writes.
    unsafe {
        napi_shim::check_status(napi_shim::napi_get_named_property(env, object, name, &mut value))?;
        napi_shim::check_status(napi_shim::napi_get_value_double(env, value, &mut number))?;
    }
    Ok(number)
}

//! Local stand-ins for the few `napi` / `napi-sys` items the example uses.
//!
//! The real crates link against Node.js; these keep the same names and signatures so the example
//! workspace builds offline with no registry dependency. The function bodies are placeholders.

#![allow(non_camel_case_types)]

use std::ffi::c_void;

/// Opaque engine environment, as in `napi-sys`.
#[repr(C)]
pub struct napi_env__ {
    _private: [u8; 0],
}

/// Opaque JavaScript value, as in `napi-sys`.
#[repr(C)]
pub struct napi_value__ {
    _private: [u8; 0],
}

/// A handle to the engine environment of the current call.
pub type napi_env = *mut napi_env__;

/// A handle to a JavaScript value, valid for the current handle scope.
pub type napi_value = *mut napi_value__;

/// The status code every Node-API call returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    InvalidArg,
    ObjectExpected,
    NumberExpected,
    GenericFailure,
}

/// Takes a JavaScript value and converts it into an owned Rust value.
pub trait FromNapiValue {
    /// # Safety
    ///
    /// `env` and `v` must be live handles of the current call.
    unsafe fn from_napi_value(env: napi_env, v: napi_value) -> Result<Self, Status>
    where
        Self: Sized;
}

/// Borrows a Rust value that a JavaScript value owns.
pub trait FromNapiRef {
    /// # Safety
    ///
    /// `env` and `v` must be live handles of the current call; the reference is valid only
    /// while `v` is reachable from JavaScript.
    unsafe fn from_napi_ref(env: napi_env, v: napi_value) -> Result<&'static Self, Status>;
}

/// Mutably borrows a Rust value that a JavaScript value owns.
pub trait FromNapiMutRef {
    /// # Safety
    ///
    /// As for [`FromNapiRef::from_napi_ref`], and no other reference to the value may exist.
    unsafe fn from_napi_mut_ref(env: napi_env, v: napi_value) -> Result<&'static mut Self, Status>;
}

/// Converts a Rust value into a JavaScript value.
pub trait ToNapiValue {
    /// # Safety
    ///
    /// `env` must be the live environment of the current call.
    unsafe fn to_napi_value(env: napi_env, val: Self) -> Result<napi_value, Status>
    where
        Self: Sized;
}

/// Called by the engine when it collects an external value.
pub type napi_finalize = unsafe extern "C" fn(env: napi_env, data: *mut c_void, hint: *mut c_void);

/// Stand-in for `napi_create_external`.
///
/// # Safety
///
/// `result` must be valid for writes.
pub unsafe fn napi_create_external(
    env: napi_env,
    data: *mut c_void,
    finalize_cb: Option<napi_finalize>,
    finalize_hint: *mut c_void,
    result: *mut napi_value,
) -> Status {
    let _ = (env, finalize_cb, finalize_hint);
    if result.is_null() {
        return Status::InvalidArg;
    }
    // SAFETY: the caller promises `result` is valid for writes.
    unsafe { result.write(data.cast()) };
    Status::Ok
}

/// Stand-in for `napi_get_value_external`.
///
/// # Safety
///
/// `result` must be valid for writes.
pub unsafe fn napi_get_value_external(
    env: napi_env,
    value: napi_value,
    result: *mut *mut c_void,
) -> Status {
    let _ = env;
    if result.is_null() || value.is_null() {
        return Status::InvalidArg;
    }
    // SAFETY: the caller promises `result` is valid for writes.
    unsafe { result.write(value.cast()) };
    Status::Ok
}

/// Stand-in for `napi_get_named_property`.
///
/// # Safety
///
/// `result` must be valid for writes.
pub unsafe fn napi_get_named_property(
    env: napi_env,
    object: napi_value,
    name: &str,
    result: *mut napi_value,
) -> Status {
    let _ = (env, name);
    if result.is_null() || object.is_null() {
        return Status::ObjectExpected;
    }
    // SAFETY: the caller promises `result` is valid for writes.
    unsafe { result.write(object) };
    Status::Ok
}

/// Stand-in for `napi_get_value_double`.
///
/// # Safety
///
/// `result` must be valid for writes.
pub unsafe fn napi_get_value_double(env: napi_env, value: napi_value, result: *mut f64) -> Status {
    let _ = env;
    if result.is_null() || value.is_null() {
        return Status::NumberExpected;
    }
    // SAFETY: the caller promises `result` is valid for writes.
    unsafe { result.write(0.0) };
    Status::Ok
}

/// Turns a status into a `Result`, as napi's `check_status!` does.
pub fn check_status(status: Status) -> Result<(), Status> {
    match status {
        Status::Ok => Ok(()),
        other => Err(other),
    }
}

//! By-reference conversions: the Rust side borrows a value that JavaScript keeps alive.

use napi_shim::{napi_env, napi_value, FromNapiMutRef, FromNapiRef, Status};

use super::external_cell;
use crate::external::External;

impl<T: 'static> FromNapiRef for External<T> { // ok: napi-external-by-value
    unsafe fn from_napi_ref(env: napi_env, v: napi_value) -> Result<&'static Self, Status> {
        // SAFETY: forwarded from the caller, who bounds the borrow by the call.
        unsafe { external_cell::<T>(env, v).map(|cell| &*cell) }
    }
}

impl<T: 'static> FromNapiMutRef for External<T> { // ok: napi-external-by-value
    unsafe fn from_napi_mut_ref(env: napi_env, v: napi_value) -> Result<&'static mut Self, Status> {
        // SAFETY: forwarded from the caller, who bounds the borrow by the call.
        unsafe { external_cell::<T>(env, v).map(|cell| &mut *cell) }
    }
}

"""`flows from allocation other than`: where a pointer given to `Box::from_raw` was made.

Each case is a whole crate in one file, scanned with the built-in
`box-from-raw-type-mismatch`; the findings (line, column) and the making site each reports are
asserted exactly.
"""

from __future__ import annotations

import pytest

from unsound.dsl.loader import load_rules
from unsound.engine.examples import scan_snippet

RULES = [r for r in load_rules() if r.id == "box-from-raw-type-mismatch"]

CALLBACK = """\
use std::ffi::c_void;
extern "C" { fn reg(cb: Option<unsafe extern "C" fn(*mut c_void)>, d: *mut c_void); }
pub fn on<F: Fn()>(f: F) {
    let d = Box::into_raw(Box::new(f));
    unsafe { reg(Some(tramp), d as *mut c_void) };
}
unsafe extern "C" fn tramp(d: *mut c_void) {
    drop(Box::from_raw(d as *mut Box<dyn Fn()>));
}
"""

FIELD = """\
use std::ffi::c_void;
pub struct A;
pub struct B;
pub struct H { p: *mut c_void }
impl H {
    pub fn new() -> Self { Self { p: Box::into_raw(Box::new(A)) as *mut c_void } }
}
impl Drop for H {
    fn drop(&mut self) { unsafe { drop(Box::from_raw(self.p as *mut B)) } }
}
"""

# A buffer passed beside the callback is not its user data; the boxed value is, and matches.
PAIRED = """\
use std::ffi::c_void;
type Fin = unsafe extern "C" fn(*mut c_void);
extern "C" { fn ext(data: *mut c_void, cb: Option<Fin>, hint: *mut c_void); }
pub fn make(mut bytes: Vec<u8>, len: usize) {
    let hint = Box::into_raw(Box::new(len)) as *mut c_void;
    unsafe { ext(bytes.as_mut_ptr() as *mut c_void, Some(fin), hint) };
}
unsafe extern "C" fn fin(hint: *mut c_void) {
    drop(Box::from_raw(hint as *mut usize));
}
"""

# An alias of the crate is expanded before the types are compared.
ALIAS = """\
use std::ffi::c_void;
type Cb = Box<dyn FnMut()>;
extern "C" { fn reg(cb: unsafe extern "C" fn(*mut c_void), d: *mut c_void); }
pub fn on<F: FnMut() + 'static>(f: F) {
    let cb: Cb = Box::new(f);
    unsafe { reg(tramp, Box::into_raw(Box::new(cb)) as *mut c_void) };
}
unsafe extern "C" fn tramp(d: *mut c_void) {
    drop(Box::from_raw(d as *mut Box<dyn FnMut()>));
}
"""


# Two callbacks share a name; each call names its own by its type: no pairing across them.
NAMESAKES = """\
use std::ffi::c_void;
extern "C" { fn reg(d: *mut c_void, destroy: Option<unsafe extern "C" fn(*mut c_void)>); }
pub struct A;
pub struct B;
impl A {
    unsafe extern "C" fn destroy(d: *mut c_void) { drop(Box::from_raw(d as *mut Self)) }
}
impl B {
    unsafe extern "C" fn destroy(d: *mut c_void) { drop(Box::from_raw(d as *mut Self)) }
}
pub fn make() {
    let a = Box::new(A);
    let b = Box::new(B);
    unsafe { reg(Box::into_raw(a).cast(), Some(A::destroy)) };
    unsafe { reg(Box::into_raw(b).cast(), Some(B::destroy)) };
    unsafe { reg(Box::into_raw(Box::new(B)).cast(), Some(A::destroy)) };
}
"""


# The callback is also called, with a blank before its arguments, and passed through a cast:
# only the mention passed as a value pairs it with the pointer beside it.
CALLED_TOO = """\
use std::ffi::c_void;
type Cb = unsafe extern "C" fn(*mut c_void);
extern "C" { fn reg(cb: Cb, d: *mut c_void); }
pub fn on<F: Fn()>(f: F) {
    let d = Box::into_raw(Box::new(f));
    unsafe { reg(tramp as Cb, d as *mut c_void) };
}
pub unsafe fn direct(d: *mut c_void) {
    tramp (d);
}
unsafe extern "C" fn tramp(d: *mut c_void) {
    drop(Box::from_raw(d as *mut Box<dyn Fn()>));
}
"""


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (CALLBACK, [(8, 10, 4)]),
        (FIELD, [(9, 40, 6)]),
        (PAIRED, []),
        (ALIAS, []),
        (NAMESAKES, [(6, 57, 16)]),
        (CALLED_TOO, [(12, 10, 5)]),
    ],
    ids=["callback", "field", "paired", "alias", "namesakes", "called-too"],
)
def test_box_from_raw_origins(code: str, expected: list[tuple[int, int, int]]) -> None:
    findings = scan_snippet(RULES, code)
    found = [
        (
            f.primary.span.start_line,
            f.primary.span.start_column,
            f.related[0].span.start_line,
        )
        for f in findings
    ]
    assert found == expected
    assert all(f.rule_id == "box-from-raw-type-mismatch" for f in findings)


def test_test_module_lowers_the_severity() -> None:
    from unsound.model import Severity

    code = (
        "pub struct A;\npub struct B;\n#[cfg(test)]\nmod tests {\n    use super::*;\n"
        "    fn t() { let p = Box::into_raw(Box::new(A)) as *mut u8;"
        " unsafe { drop(Box::from_raw(p as *mut B)) }; }\n}\n"
        "fn u() { let p = Box::into_raw(Box::new(A)) as *mut u8;"
        " unsafe { drop(Box::from_raw(p as *mut B)) }; }\n"
    )
    found = [(f.primary.span.start_line, f.severity) for f in scan_snippet(RULES, code)]
    assert found == [(6, Severity.WARNING), (8, Severity.ERROR)]


STORES = """\
pub struct H { p: *mut u8, q: *mut u8 }
impl H {
    pub fn new(p: *mut u8) -> Self { Self { p, q: p } }
    pub fn set(&mut self, v: *mut u8) { self.q = v; }
    pub fn get(&self) -> *mut u8 { self.p.wrapping_add(0) }
    pub fn eq(&self, v: *mut u8) -> bool { self.q == v }
}
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # `Self { p, … }` stores the shorthand itself; `self.p.wrapping_add` is a read.
        ("p", ["p"]),
        # `q: p` in the literal and `self.q = v`; `self.q == v` compares.
        ("q", ["p", "v"]),
    ],
)
def test_a_field_is_followed_to_what_is_stored_in_it(name: str, expected: list[str]) -> None:
    """`_stored_value` names each store of a field, and `_may_store` (the text after the
    mention, read before tree-sitter is asked for a parent) lets every store through."""
    from unsound.engine import raw_origins
    from unsound.engine.crate_index import _mentions_in, parsed

    unit = parsed("lib.rs", STORES.encode())
    stores = []
    for _, mention in _mentions_in(unit, name):
        stored = raw_origins._stored_value(mention)
        if stored is not None:
            assert raw_origins._may_store(unit.data, mention.end_byte)
            stores.append(stored.text.decode())
    assert stores == expected
    # A read followed by `.` is turned away on its text alone.
    dotted = [
        m for _, m in _mentions_in(unit, name) if unit.data[m.end_byte : m.end_byte + 1] == b"."
    ]
    assert not any(raw_origins._may_store(unit.data, m.end_byte) for m in dotted)

"""`holds` leaves a type alone when the module imports its name from another crate, also for a
type named inside an impl's method (the module's `use`s are outside the impl's body)."""

from __future__ import annotations

from pathlib import Path

from test_scan_support import rule_findings

# The crate has its own `File` holding a raw pointer; `owner` imports `std::fs::File` and its
# impl's method returns that one. Only `own`'s method, which returns the crate's `File`, copies
# a raw handle into a type that holds it. (`cargo check` accepts this crate on Unix.)
SOURCE = """#![allow(dead_code)]

pub mod raw {
    pub struct File {
        pub handle: *mut u8,
    }
}

pub mod owner {
    use std::fs::File;
    use std::os::fd::{FromRawFd, RawFd};

    pub struct Owner {
        fd: RawFd,
    }

    impl Drop for Owner {
        fn drop(&mut self) {}
    }

    impl Owner {
        pub fn file(&self) -> File {
            // SAFETY: (for the test) the descriptor is open.
            unsafe { File::from_raw_fd(self.fd) }
        }
    }
}

pub mod own {
    use crate::raw::File;

    pub struct Keeper {
        handle: *mut u8,
    }

    impl Drop for Keeper {
        fn drop(&mut self) {}
    }

    impl Keeper {
        pub fn file(&self) -> File {
            File { handle: self.handle }
        }
    }
}
"""


def test_a_type_imported_from_another_crate_inside_an_impl_is_not_the_crates_own(
    tmp_path: Path,
) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "imports"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    (tmp_path / "src" / "lib.rs").write_text(SOURCE)
    assert rule_findings(tmp_path, "raw-handle-escapes-drop-owner") == [
        ("raw-handle-escapes-drop-owner", "src/lib.rs", 41, 16)
    ]

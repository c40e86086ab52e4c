//! Where the two libbinder_rs APIs memstat builds against differ, adapted
//! in one place. Soong (`--cfg soong`) builds against the platform's
//! libbinder_rs. A cargo build uses binder_ndk 0.2 from crates.io, a copy of
//! it from before the binder dump was handed a writer (it gets the dump's
//! `&File`) and without `check_interface`.

use super::service::MemStat;
use binder::{FromIBinder, Interface, StatusCode, Strong};
use std::ffi::CStr;

/// `dumpsys memstat ARGS` and bugreports, into the writer libbinder_rs
/// hands over. It gives no deadline; dumpsys and dumpstate time the dump
/// out and close their end, and the next write fails.
#[cfg(soong)]
impl Interface for MemStat {
    fn dump(&self, writer: &mut dyn std::io::Write, args: &[&CStr]) -> Result<(), StatusCode> {
        self.write_dump(writer, args);
        Ok(())
    }
}

/// `dumpsys memstat ARGS` and bugreports, into the file binder_ndk 0.2
/// hands over, written within the request's time limit as `dumpTo` is.
#[cfg(not(soong))]
impl Interface for MemStat {
    fn dump(&self, file: &std::fs::File, args: &[&CStr]) -> Result<(), StatusCode> {
        use std::os::fd::AsFd;
        let mut out = crate::transport::dump_fd::DumpFd::new(file.as_fd(), self.limit);
        self.write_dump(&mut out, args);
        Ok(())
    }
}

/// The service registered as `name`, or NAME_NOT_FOUND at once.
#[cfg(soong)]
pub fn check_interface<T: FromIBinder + ?Sized>(name: &str) -> Result<Strong<T>, StatusCode> {
    binder::check_interface(name)
}

/// The service registered as `name`, or NAME_NOT_FOUND; binder_ndk 0.2 can
/// only ask libbinder's getService, which waits up to 5 s for it.
#[cfg(not(soong))]
pub fn check_interface<T: FromIBinder + ?Sized>(name: &str) -> Result<Strong<T>, StatusCode> {
    binder::get_interface(name)
}

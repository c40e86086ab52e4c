//! Transports: thin carriers of the dump call. The host socket; on Android
//! the binder service `memstat`, whose interface (`aidl`), methods on the
//! service core (`methods`) and deadline-bound output (`dump_fd`) are plain
//! Rust built and tested on any host, leaving `binder` only the glue.

pub mod aidl;
#[cfg(target_os = "android")]
pub mod binder;
pub mod dump_fd;
pub mod methods;
pub mod protocol;
pub mod socket;

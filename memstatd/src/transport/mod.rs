//! Transports: thin carriers of the dump call. The host socket; on Android
//! the binder service `memstat`, whose interface (`aidl`), methods on the
//! service core (`methods`, `convert`) and deadline-bound output (`dump_fd`)
//! are plain Rust built and tested on any host, leaving `binder` only the
//! glue.
//!
//! Built by Soong (`--cfg soong`), `aidl` is the code the AIDL compiler
//! generates: memstat-aidl-rust from `aidl/android/memstat/` and the
//! platform's android.os.permissions_aidl-rust; `binder` is then built
//! against the platform's libbinder_rs. A cargo build has neither: it uses
//! a wire-compatible stand-in of the same names and binder_ndk 0.2 from
//! crates.io.

#[cfg(not(soong))]
pub mod aidl;
#[cfg(target_os = "android")]
pub mod binder;
mod convert;
pub mod dump_fd;
pub mod methods;
pub mod protocol;
pub mod socket;

/// The generated crates, at the stand-in's paths.
#[cfg(soong)]
pub mod aidl {
    pub use android_os_permissions_aidl::aidl::android::os;
    pub use memstat_aidl::aidl::android::memstat;
}

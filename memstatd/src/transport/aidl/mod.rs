//! The cargo build's stand-in for the crates Soong generates from AIDL:
//! `memstat` for memstat-aidl-rust's `aidl::android::memstat` (IMemStat and
//! its parcelables, from `aidl/android/memstat/`), `os` for
//! android.os.permissions_aidl-rust's `aidl::android::os` (the
//! IPermissionController memstatd asks). Same module paths, names and
//! signatures as the AIDL compiler's Rust backend gives them, so the service
//! is written once against either; the same wire layout, held to the .aidl
//! files by a test. Like the generated crates, they carry no doc comments
//! of their own (`missing_docs` is allowed): the .aidl files document them.
//!
//! The parcelables and their encoding are plain Rust over [`parcel`]'s
//! primitives, built and tested on any host; on Android `on_binder` puts
//! them on binder's Parcel and `interface` declares IMemStat's binder.

#[cfg(target_os = "android")]
mod interface;
pub mod memstat;
#[cfg(target_os = "android")]
mod on_binder;
#[cfg(target_os = "android")]
pub mod os;
pub mod parcel;
mod parcelables;
#[cfg(test)]
mod tests;

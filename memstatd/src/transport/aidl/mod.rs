//! The `android.memstat.IMemStat` binder interface (`aidl/android/memstat/`)
//! as the AIDL compiler's Rust backend lays it out, written by hand: the
//! descriptor, each method's transaction code, the constants and the
//! parcelables with their encoding. Plain Rust over [`parcel`]'s primitives,
//! so the wire layout is built and tested on any host; `transport::binder`
//! only puts it on binder's Parcel. A test holds all of it to the .aidl files.

pub mod parcel;
pub mod parcelables;
#[cfg(test)]
mod tests;

/// The interface descriptor every transaction starts with.
pub const DESCRIPTOR: &str = "android.memstat.IMemStat";

/// The name memstatd registers with the service manager.
pub const SERVICE_NAME: &str = "memstat";

/// binder's `FIRST_CALL_TRANSACTION`: method `i` (from 0) has code 1 + `i`.
pub const FIRST_CALL_TRANSACTION: u32 = 1;

/// `IMemStat.MAX_UIDS`: bounds a reply far below binder's 1 MB transaction
/// buffer (a UidStats is well under 1 KiB).
pub const MAX_UIDS: usize = 256;

/// `IMemStat.TOP_SYSCALLS`.
pub const TOP_SYSCALLS: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    GetUidStats,
    GetSystemStats,
    Reset,
    Snapshot,
    DumpTo,
}

impl Method {
    /// In the .aidl's order; methods are only ever appended.
    pub const ALL: [Method; 5] = [
        Method::GetUidStats,
        Method::GetSystemStats,
        Method::Reset,
        Method::Snapshot,
        Method::DumpTo,
    ];

    pub fn code(self) -> u32 {
        FIRST_CALL_TRANSACTION + self as u32
    }

    pub fn from_code(code: u32) -> Option<Self> {
        Method::ALL.into_iter().find(|m| m.code() == code)
    }

    /// Its name in the .aidl.
    pub fn name(self) -> &'static str {
        match self {
            Method::GetUidStats => "getUidStats",
            Method::GetSystemStats => "getSystemStats",
            Method::Reset => "reset",
            Method::Snapshot => "snapshot",
            Method::DumpTo => "dumpTo",
        }
    }
}

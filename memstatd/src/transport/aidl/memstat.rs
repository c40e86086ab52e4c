//! `android.memstat`, laid out as memstat-aidl-rust's
//! `aidl::android::memstat`: one module per .aidl file, named after it.
#![allow(non_snake_case, non_upper_case_globals, missing_docs)]

/// `IMemStat.aidl`: its constants, and on Android the interface.
pub mod IMemStat {
    #[cfg(target_os = "android")]
    pub use super::super::interface::{BnMemStat, BpMemStat, IMemStat};

    /// The interface descriptor every transaction starts with.
    #[cfg(any(test, target_os = "android"))]
    pub(in crate::transport::aidl) const DESCRIPTOR: &str = "android.memstat.IMemStat";

    pub const MAX_UIDS: i32 = 256;
    pub const TOP_SYSCALLS: i32 = 5;
    pub const STATUS_OK: i32 = 0;
    pub const STATUS_THRESHOLD_CROSSED: i32 = 1;
    pub const STATUS_USAGE: i32 = 2;
    pub const STATUS_DENIED: i32 = 3;
    pub const STATUS_FAILED: i32 = 4;
    pub const STATUS_UNAVAILABLE: i32 = 5;

    /// Each method's code: binder's FIRST_CALL_TRANSACTION plus its
    /// position in the .aidl (methods are only ever appended).
    pub mod transactions {
        pub(in crate::transport::aidl) const FIRST_CALL_TRANSACTION: u32 = 1;
        pub const getUidStats: u32 = FIRST_CALL_TRANSACTION;
        pub const getSystemStats: u32 = FIRST_CALL_TRANSACTION + 1;
        pub const reset: u32 = FIRST_CALL_TRANSACTION + 2;
        pub const snapshot: u32 = FIRST_CALL_TRANSACTION + 3;
        pub const dumpTo: u32 = FIRST_CALL_TRANSACTION + 4;
    }
}

/// `DumpResult.aidl`.
pub mod DumpResult {
    pub use super::super::parcelables::DumpResult;
}

/// `SyscallCount.aidl`.
pub mod SyscallCount {
    pub use super::super::parcelables::SyscallCount;
}

/// `SystemStats.aidl`.
pub mod SystemStats {
    pub use super::super::parcelables::SystemStats;
}

/// `UidStats.aidl`.
pub mod UidStats {
    pub use super::super::parcelables::UidStats;
}

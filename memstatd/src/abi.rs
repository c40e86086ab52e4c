//! Rust mirror of `bpf_progs/memstat_abi.h`, and the names of every object,
//! map and program memstat pins. A test checks each size and offset here
//! against the layout clang gives the C definitions, and each name against
//! the built objects.

use bytemuck::{Pod, Zeroable};
use std::path::{Path, PathBuf};

/// Names shared by the syscall probe group's object and memstatd.
pub mod syscalls {
    pub const OBJECT: &str = "memStatSyscalls";
    pub const MAP_COUNTS: &str = "syscall_counts";
    pub const MAP_OVERFLOW: &str = "syscall_overflow";
    pub const MAP_CONFIG: &str = "syscall_config";
    pub const MAP_START: &str = "syscall_start";
    pub const MAP_LATENCY: &str = "syscall_latency";
    pub const PROG_SYS_EXIT: &str = "tracepoint/raw_syscalls/sys_exit";
    pub const PROG_SYS_ENTER: &str = "tracepoint/raw_syscalls/sys_enter";

    pub const COUNTS_ENTRIES: u32 = 16384;
    pub const START_ENTRIES: u32 = 8192;
    pub const LATENCY_ENTRIES: u32 = 2048;
}

pub const LATENCY_BUCKETS: usize = 32;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Pod, Zeroable)]
pub struct SyscallKey {
    pub uid: u32,
    pub nr: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallCounts {
    pub count: u64,
    pub errors: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallConfig {
    /// 0: latency mode off; otherwise the epoch start times must carry.
    pub latency_epoch: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallStart {
    pub ts_ns: u64,
    pub epoch: u32,
    pub nr: u32,
}

/// Bucket `b` counts latencies in `[2^b, 2^(b+1))` ns; the last is open-ended.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct LatencyHist {
    pub buckets: [u64; LATENCY_BUCKETS],
}

impl Default for LatencyHist {
    fn default() -> Self {
        Zeroable::zeroed()
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallOverflow {
    /// Calls that found no room in `syscall_counts`: its drop count.
    pub count: u64,
    pub errors: u64,
    /// Latency samples of UIDs that found no room in `syscall_latency`.
    pub latency: [u64; LATENCY_BUCKETS],
    /// Start times `sys_enter` could not store.
    pub start_dropped: u64,
    /// Returns with no start time of the current epoch.
    pub unmatched: u64,
}

impl Default for SyscallOverflow {
    fn default() -> Self {
        Zeroable::zeroed()
    }
}

/// The memory probe groups' shared ABI (`memstat_group.h`). Each group's
/// value layout is its `GroupSpec::fields` in `probes::memory`.
pub mod memory {
    use bytemuck::{Pod, Zeroable};

    pub const UID_ENTRIES: u32 = 1024;
    pub const ORDERS: usize = 12;
    pub const MT_CLASSES: usize = 4;
    pub const STALL_BUCKETS: usize = 24;
    pub const STALL_START_ENTRIES: u32 = 8192;
    pub const RSS_MM_ENTRIES: u32 = 8192;
    pub const BRK_ENTRIES: u32 = 8192;
    pub const COMPACT_RESULTS: usize = 10;
    pub const RSS_MEMBERS: usize = 4;
    pub const MEM_SYSCALLS: usize = 11;
    pub const GROUP_PARAMS: usize = 12;

    pub const MODE_UNSET: u32 = 0;
    pub const MODE_OFF: u32 = 1;
    pub const MODE_ON: u32 = 2;
    /// A param with no value (a syscall this architecture lacks).
    pub const PARAM_NONE: u32 = u32::MAX;

    /// `<group>_config`, written by memstatd.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct GroupConfig {
        pub mode: u32,
        pub sample_every: u32,
        pub epoch: u32,
        pub reserved: u32,
        pub param: [u32; GROUP_PARAMS],
    }

    /// The maps every group has, by their suffix after `<group>_`.
    pub const MAP_UID: &str = "uid";
    pub const MAP_OTHER: &str = "other";
    pub const MAP_CONFIG: &str = "config";
    pub const MAP_ZERO: &str = "zero";
    pub const MAP_TICK: &str = "tick";

    /// `<group>_<suffix>`, a group map's name.
    pub fn map_name(group: &str, suffix: &str) -> String {
        format!("{group}_{suffix}")
    }
}

/// `<root>/map_<object>_<map>`, the platform bpfloader's pin name.
pub fn map_pin(root: &Path, object: &str, map: &str) -> PathBuf {
    root.join(format!("map_{object}_{map}"))
}

/// `<root>/prog_<object>_<section>` with every `/` of the section as `_`.
pub fn prog_pin(root: &Path, object: &str, section: &str) -> PathBuf {
    root.join(format!("prog_{object}_{}", section.replace('/', "_")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_names_follow_the_platform() {
        let root = Path::new("/sys/fs/bpf");
        assert_eq!(
            prog_pin(root, syscalls::OBJECT, syscalls::PROG_SYS_EXIT),
            Path::new("/sys/fs/bpf/prog_memStatSyscalls_tracepoint_raw_syscalls_sys_exit")
        );
        assert_eq!(
            map_pin(root, syscalls::OBJECT, syscalls::MAP_COUNTS),
            Path::new("/sys/fs/bpf/map_memStatSyscalls_syscall_counts")
        );
    }
}

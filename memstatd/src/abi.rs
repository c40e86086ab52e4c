//! Rust mirror of `bpf_progs/memstat_abi.h`, and the names of every object,
//! map and program memstat pins. A test checks each size and offset here
//! against the layout clang gives the C definitions, and each name against
//! the built objects.

use bytemuck::{Pod, Zeroable};
use std::path::{Path, PathBuf};

/// Names shared by the syscall probe group's object and memstatd.
pub mod syscalls {
    /// The object file, `memStatSyscalls.o`, without its extension.
    pub const OBJECT: &str = "memStatSyscalls";
    /// Per-(UID, syscall) call and error counts: [`SyscallKey`] to per-CPU
    /// [`SyscallCounts`].
    pub const MAP_COUNTS: &str = "syscall_counts";
    /// One per-CPU [`SyscallOverflow`]: what the other maps had no room for.
    pub const MAP_OVERFLOW: &str = "syscall_overflow";
    /// One [`SyscallConfig`], written by memstatd to switch latency mode.
    pub const MAP_CONFIG: &str = "syscall_config";
    /// Per-thread [`SyscallStart`] of the syscall in flight (latency mode), LRU.
    pub const MAP_START: &str = "syscall_start";
    /// Per-UID [`LatencyHist`] of syscall latency (latency mode).
    pub const MAP_LATENCY: &str = "syscall_latency";
    /// The program counting every syscall return; always attached.
    pub const PROG_SYS_EXIT: &str = "tracepoint/raw_syscalls/sys_exit";
    /// The program recording syscall start times; attached in latency mode only.
    pub const PROG_SYS_ENTER: &str = "tracepoint/raw_syscalls/sys_enter";

    /// Capacity of `syscall_counts`, in (UID, syscall) pairs; calls beyond it
    /// count in the overflow.
    pub const COUNTS_ENTRIES: u32 = 16384;
    /// Capacity of `syscall_start`, in threads with a syscall in flight.
    pub const START_ENTRIES: u32 = 8192;
    /// Capacity of `syscall_latency`, in UIDs with a histogram of their own.
    pub const LATENCY_ENTRIES: u32 = 2048;
}

/// Buckets of a [`LatencyHist`]: log2(ns), the last one open-ended.
pub const LATENCY_BUCKETS: usize = 32;

/// Key of `syscall_counts`: one syscall number of one UID.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Pod, Zeroable)]
pub struct SyscallKey {
    /// The caller's real UID when the syscall returned.
    pub uid: u32,
    /// Syscall number in the caller's ABI, as raw_syscalls reports it (a
    /// 32-bit app's numbers are the arm or x86 table's).
    pub nr: u32,
}

/// Value of `syscall_counts`, one per CPU: summed when read.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallCounts {
    /// Calls that returned.
    pub count: u64,
    /// Calls of them that returned a negative value (an errno).
    pub errors: u64,
}

/// Value of `syscall_config`, written by memstatd.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallConfig {
    /// 0: latency mode off; otherwise the epoch start times must carry.
    pub latency_epoch: u32,
}

/// Value of `syscall_start`: when the thread's syscall in flight began.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallStart {
    /// `bpf_ktime_get_ns` at `sys_enter`, in ns since boot.
    pub ts_ns: u64,
    /// `latency_epoch` when recorded: an entry of an earlier latency session
    /// never matches.
    pub epoch: u32,
    /// The syscall number at entry, so that a return matches only its own call.
    pub nr: u32,
}

/// Bucket `b` counts latencies in `[2^b, 2^(b+1))` ns; the last is open-ended.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct LatencyHist {
    /// Calls per bucket.
    pub buckets: [u64; LATENCY_BUCKETS],
}

impl Default for LatencyHist {
    fn default() -> Self {
        Zeroable::zeroed()
    }
}

/// Value of `syscall_overflow`, one per CPU: everything the other maps had
/// no room for, and every return that matched no start. Counters only grow.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallOverflow {
    /// Calls that found no room in `syscall_counts`: its drop count.
    pub count: u64,
    /// Calls of them that failed.
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

    /// Capacity of every group's `<group>_uid` map, in UIDs; the rest share
    /// `<group>_other`.
    pub const UID_ENTRIES: u32 = 1024;
    /// Slots of a by-order array: orders 0 to 10, the last also any larger order.
    pub const ORDERS: usize = 12;
    /// Migratetype classes: unmovable, movable, reclaimable, other
    /// (highatomic, CMA, isolate).
    pub const MT_CLASSES: usize = 4;
    /// Stall histogram buckets: log2(us), bucket 0 also below 1 us, the last
    /// open-ended.
    pub const STALL_BUCKETS: usize = 24;
    /// Capacity of a group's stall-start map, in threads waiting for a
    /// stall's end (reclaim, compaction, kswapd).
    pub const STALL_START_ENTRIES: u32 = 8192;
    /// Capacity of the rss group's per-process map, in processes.
    pub const RSS_MM_ENTRIES: u32 = 8192;
    /// Capacity of the memsyscalls group's last-brk map, in processes.
    pub const BRK_ENTRIES: u32 = 8192;
    /// Slots of compaction results: `enum compact_result` 0 to 8, the last any
    /// other.
    pub const COMPACT_RESULTS: usize = 10;
    /// `kmem:rss_stat` members followed: file, anon, swap entries, shmem.
    pub const RSS_MEMBERS: usize = 4;
    /// Memory syscalls counted: mmap, munmap, mremap, brk, madvise, mprotect,
    /// shmget, shmat, shmdt, shmctl, memfd_create.
    pub const MEM_SYSCALLS: usize = 11;
    /// Slots of [`GroupConfig::param`].
    pub const GROUP_PARAMS: usize = 12;

    /// [`GroupConfig::mode`] not yet written: memstatd applies the group's
    /// default.
    pub const MODE_UNSET: u32 = 0;
    /// [`GroupConfig::mode`]: the group's programs count nothing.
    pub const MODE_OFF: u32 = 1;
    /// [`GroupConfig::mode`]: the group's programs count.
    pub const MODE_ON: u32 = 2;
    /// A param with no value (a syscall this architecture lacks).
    pub const PARAM_NONE: u32 = u32::MAX;

    /// `<group>_config`, written by memstatd.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct GroupConfig {
        /// One of `MODE_UNSET`, `MODE_OFF`, `MODE_ON`.
        pub mode: u32,
        /// Count one event in N, as N events; 0 and 1 count every event.
        pub sample_every: u32,
        /// Peaks (rss) start again when it changes.
        pub epoch: u32,
        /// Zero; pads `param` to 8 bytes.
        pub reserved: u32,
        /// Group-specific: memsyscalls the syscall numbers of this architecture
        /// (`PARAM_NONE` where it lacks one), extfrag the pageblock order.
        pub param: [u32; GROUP_PARAMS],
    }

    // The maps every group has, by their suffix after `<group>_`.
    /// `<group>_uid`: UID to the group's value, up to `UID_ENTRIES` UIDs.
    pub const MAP_UID: &str = "uid";
    /// `<group>_other`: the value of every UID that found `<group>_uid` full.
    pub const MAP_OTHER: &str = "other";
    /// `<group>_config`: one [`GroupConfig`].
    pub const MAP_CONFIG: &str = "config";
    /// `<group>_zero`: one zeroed value new entries are copied from (a value
    /// can exceed the 512-byte BPF stack).
    pub const MAP_ZERO: &str = "zero";
    /// `<group>_tick`: per-CPU event count, for sampling.
    pub const MAP_TICK: &str = "tick";

    /// `<group>_<suffix>`, a group map's name.
    pub fn map_name(group: &str, suffix: &str) -> String {
        format!("{group}_{suffix}")
    }
}

/// Where memstat's pins are: the platform bpfloader pins the objects of
/// /system/etc/bpf/memstat/ under the prefix `memstat/` (patches/system/bpf),
/// and the host loader pins in the same place.
pub const PIN_ROOT: &str = "/sys/fs/bpf/memstat";

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
        let root = Path::new(PIN_ROOT);
        assert_eq!(
            prog_pin(root, syscalls::OBJECT, syscalls::PROG_SYS_EXIT),
            Path::new("/sys/fs/bpf/memstat/prog_memStatSyscalls_tracepoint_raw_syscalls_sys_exit")
        );
        assert_eq!(
            map_pin(root, syscalls::OBJECT, syscalls::MAP_COUNTS),
            Path::new("/sys/fs/bpf/memstat/map_memStatSyscalls_syscall_counts")
        );
    }
}

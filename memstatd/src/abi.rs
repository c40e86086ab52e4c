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
    /// Per-CPU rows: row to a UID's [`SyscallCounts`](super::SyscallCounts)
    /// of every syscall number below [`ROW_WIDTH`].
    pub const MAP_ROWS: &str = "syscall_rows";
    /// Row to the UID that owns it (a `u64`).
    pub const MAP_ROW_UID: &str = "syscall_row_uid";
    /// UID to its row, [`ROW_PENDING`] or [`ROW_NONE`] (the program's own).
    pub const MAP_ROW_OF: &str = "syscall_row_of";
    /// Non-zero once every row is taken (the program's own).
    pub const MAP_ROWS_FULL: &str = "syscall_rows_full";
    /// Per-CPU [`SyscallCache`](super::SyscallCache) (the program's own).
    pub const MAP_CACHE: &str = "syscall_cache";
    /// One [`SyscallWatch`](super::SyscallWatch): written by memstatd before
    /// it attaches the programs, which only bump its generation.
    pub const MAP_WATCH: &str = "syscall_watch";
    /// The shared table: [`SyscallKey`](super::SyscallKey) to
    /// [`SyscallCounts`](super::SyscallCounts) of UIDs with no row and of
    /// numbers past a row.
    pub const MAP_COUNTS: &str = "syscall_counts";
    /// One per-CPU [`SyscallOverflow`](super::SyscallOverflow): what the
    /// other maps had no room for.
    pub const MAP_OVERFLOW: &str = "syscall_overflow";
    /// One [`SyscallConfig`](super::SyscallConfig), written by memstatd to
    /// switch latency mode.
    pub const MAP_CONFIG: &str = "syscall_config";
    /// Per-thread [`SyscallStart`](super::SyscallStart) of the syscall in
    /// flight (latency mode), LRU.
    pub const MAP_START: &str = "syscall_start";
    /// Per-UID [`LatencyHist`](super::LatencyHist) of syscall latency
    /// (latency mode).
    pub const MAP_LATENCY: &str = "syscall_latency";
    /// The program counting every syscall return; always attached.
    pub const PROG_SYS_EXIT: &str = "tracepoint/raw_syscalls/sys_exit";
    /// The program recording syscall start times; attached in latency mode only.
    pub const PROG_SYS_ENTER: &str = "tracepoint/raw_syscalls/sys_enter";
    /// Bumps the generation when a task is created (it may reuse a tid);
    /// always attached.
    pub const PROG_TASK_NEWTASK: &str = "tracepoint/task/task_newtask";
    /// Bumps the generation at exec (the thread may take the leader's tid);
    /// always attached.
    pub const PROG_PROCESS_EXEC: &str = "tracepoint/sched/sched_process_exec";

    /// UIDs with a row of their own.
    pub const ROWS: u32 = 8;
    /// Syscall numbers a row holds, from 0.
    pub const ROW_WIDTH: u32 = 512;
    /// Calls of one syscall counted in its slot on one CPU, or in the shared
    /// table, after which its UID claims a row, if one is free (at once if a
    /// call finds no slot and no room).
    pub const ROW_CLAIM_AT: u64 = 1024;
    /// Capacity of `syscall_row_of`: row holders and claims in progress.
    pub const ROW_OF_ENTRIES: u32 = 64;
    /// `syscall_row_of`: a claim in progress; `syscall_cache`: no row yet.
    pub const ROW_PENDING: u32 = 0xFFFF_FFFE;
    /// No row, for good: every row was taken.
    pub const ROW_NONE: u32 = u32::MAX;
    /// Per-CPU slots of (UID, syscall) pairs with no row, taken for good by
    /// the first pair that hashes to each ([`slot_of`]).
    pub const MAP_SLOTS: &str = "syscall_slots";
    /// log2 of [`SLOTS`].
    pub const SLOT_BITS: u32 = 10;
    /// Slots per CPU.
    pub const SLOTS: u32 = 1 << SLOT_BITS;
    /// Capacity of `syscall_counts`, in (UID, syscall) pairs; calls that find
    /// no row, no slot and no room there count in the overflow.
    pub const COUNTS_ENTRIES: u32 = 4096;
    /// The most (UID, syscall) pairs the maps of a machine with `cpus`
    /// possible CPUs hold: every number of every row, every slot of every
    /// CPU, and the shared table.
    pub const fn pairs(cpus: u32) -> u32 {
        ROWS * ROW_WIDTH + SLOTS * cpus + COUNTS_ENTRIES
    }

    /// The slot of a pair, as `SYSCALL_SLOT_OF` of memstat_abi.h: the high
    /// bits of a multiplicative hash.
    pub const fn slot_of(uid: u32, nr: u32) -> u32 {
        (uid.wrapping_mul(0x9E37_79B1) ^ nr.wrapping_mul(0x85EB_CA77)).wrapping_mul(0xC2B2_AE3D)
            >> (32 - SLOT_BITS)
    }
    /// Capacity of `syscall_start`, in threads with a syscall in flight.
    pub const START_ENTRIES: u32 = 4096;
    /// Capacity of `syscall_latency`, in UIDs with a histogram of their own.
    pub const LATENCY_ENTRIES: u32 = 512;
    /// Words of [`SyscallWatch::calls`](super::SyscallWatch): a bit per number
    /// below [`ROW_WIDTH`].
    pub const WATCH_WORDS: usize = ROW_WIDTH as usize / 64;
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

/// Value of `syscall_counts`, and of each number of a row (one per CPU,
/// summed when read).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallCounts {
    /// Calls that returned.
    pub count: u64,
    /// Calls of them that returned a negative value (an errno).
    pub errors: u64,
}

/// Value of `syscall_slots`: a pair, once taken, and its counts on one CPU.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallSlot {
    /// `(!uid << 32) | (nr + 1)`: neither half is 0 once taken; 0: free.
    pub key: u64,
    /// The pair's calls on this CPU.
    pub counts: SyscallCounts,
}

impl SyscallSlot {
    /// The key of a pair.
    pub const fn key_of(uid: u32, nr: u32) -> u64 {
        ((!uid as u64) << 32) | (nr as u64 + 1)
    }

    /// The pair, if the slot is taken whole by one that hashes to `index`:
    /// a key with a zero half was read half written (a 64-bit store is two
    /// on 32-bit kernels) and is none.
    pub fn pair(&self, index: u32) -> Option<SyscallKey> {
        let (high, low) = ((self.key >> 32) as u32, self.key as u32);
        let (uid, nr) = (!high, low.checked_sub(1)?);
        (high != 0 && nr < syscalls::ROW_WIDTH && syscalls::slot_of(uid, nr) == index)
            .then_some(SyscallKey { uid, nr })
    }
}

/// Value of `syscall_cache`: the thread the CPU counted last, its real UID
/// and the UID's row.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallCache {
    /// [`SyscallWatch::generation`] when filled: valid while it is unchanged.
    pub generation: u64,
    /// The thread id; 0 when empty.
    pub tid: u32,
    /// Its real UID.
    pub uid: u32,
    /// A row, [`syscalls::ROW_PENDING`] or [`syscalls::ROW_NONE`].
    pub row: u32,
    /// Zero.
    pub reserved: u32,
}

/// Value of `syscall_watch`: what invalidates every CPU's [`SyscallCache`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct SyscallWatch {
    /// Moved by memstatd before attaching, and bumped by the programs.
    pub generation: u64,
    /// Syscall numbers after whose return a thread may have another real
    /// UID or tid: bit `nr % 64` of word `nr / 64`.
    pub calls: [u64; syscalls::WATCH_WORDS],
}

/// Bytes of one CPU's copy of a `syscall_rows` value: a [`SyscallCounts`]
/// per syscall number below [`syscalls::ROW_WIDTH`].
pub const ROW_BYTES: usize = syscalls::ROW_WIDTH as usize * std::mem::size_of::<SyscallCounts>();

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
    /// Calls that found no row and no room in `syscall_counts`: its drop
    /// count.
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

    /// The most UIDs a per-UID map holds (`taskexit_uid`); no group's
    /// `<group>_uid` holds more. UIDs beyond a map's capacity share
    /// `<group>_other`.
    pub const UID_ENTRIES: u32 = 1024;
    /// Capacity of `<group>_uid` of the groups whose events every running
    /// UID makes: pagealloc, slab, memsyscalls, faults.
    pub const BUSY_UID_ENTRIES: u32 = 512;
    /// Capacity of `<group>_uid` of the rare-event groups (extfrag, reclaim,
    /// compaction, oom) and of rss (per-CPU values, switched on to look
    /// into a few apps).
    pub const RARE_UID_ENTRIES: u32 = 256;
    /// Slots of a by-order array: orders 0 to 10, the last also any larger order.
    pub const ORDERS: usize = 12;
    /// Migratetype classes: unmovable, movable, reclaimable, other
    /// (highatomic, CMA, isolate).
    pub const MT_CLASSES: usize = 4;
    /// Stall histogram buckets: log2(us), bucket 0 also below 1 us, the last
    /// open-ended.
    pub const STALL_BUCKETS: usize = 24;
    /// Capacity of a group's stall-start map (LRU), in threads waiting for a
    /// stall's end (reclaim, compaction, kswapd).
    pub const STALL_START_ENTRIES: u32 = 1024;
    /// Capacity of the rss group's per-process map (LRU), in processes.
    pub const RSS_MM_ENTRIES: u32 = 4096;
    /// Capacity of the memsyscalls group's map (LRU) of each process's break.
    pub const BRK_ENTRIES: u32 = 1024;
    /// The memsyscalls param holding the session, renewed at every attach
    /// (never 0): breaks noted in another session are not compared with.
    pub const MEMSYSCALLS_PARAM_SESSION: usize = 0;
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
    /// [`GroupConfig::mode`]: attached for a window now and then (pagealloc,
    /// slab), counting while [`GroupConfig::paused`] is 0.
    pub const MODE_DUTY: u32 = 3;

    /// `<group>_config`, written by memstatd.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct GroupConfig {
        /// One of `MODE_UNSET`, `MODE_OFF`, `MODE_ON`, `MODE_DUTY`.
        pub mode: u32,
        /// Count one event in N, as N events; 0 and 1 count every event.
        pub sample_every: u32,
        /// Peaks (rss) start again when it changes.
        pub epoch: u32,
        /// Non-zero: the programs count nothing (a duty window is closed).
        pub paused: u32,
        /// Group-specific: extfrag the pageblock order, memsyscalls the
        /// session.
        pub param: [u32; GROUP_PARAMS],
    }

    // The maps every group has, by their suffix after `<group>_`.
    /// `<group>_uid`: UID to the group's value, up to `BUSY_UID_ENTRIES` or
    /// `RARE_UID_ENTRIES` UIDs.
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

/// The task-counter source's object (`memStatTaskExit.c`): faults and peak
/// RSS of exited threads, from the kernel's per-task counters.
pub mod tasks {
    use bytemuck::{Pod, Zeroable};

    /// The object file, `memStatTaskExit.o`, without its extension.
    pub const OBJECT: &str = "memStatTaskExit";
    /// The program, on `sched:sched_process_exit`.
    pub const PROG_EXIT: &str = "tracepoint/sched/sched_process_exit";
    /// The tracepoint it attaches to.
    pub const EVENT: &str = "sched/sched_process_exit";
    /// UID to the [`TaskFaults`] of its exited threads.
    pub const MAP_UID: &str = "taskexit_uid";
    /// The [`TaskFaults`] of UIDs that found `taskexit_uid` full.
    pub const MAP_OTHER: &str = "taskexit_other";
    /// Tgid to the [`TaskDead`] of its exited threads; memstatd deletes an
    /// entry once its process is gone from /proc.
    pub const MAP_DEAD: &str = "taskexit_dead";
    /// One [`TaskConfig`], written by memstatd.
    pub const MAP_CONFIG: &str = "taskexit_config";
    /// UID to its [`TaskHeld`], written by memstatd.
    pub const MAP_HELD: &str = "taskexit_held";
    /// One [`TaskDrops`].
    pub const MAP_DROPS: &str = "taskexit_drops";
    /// One `struct task_window` (the thread's tid as a `u64`, then
    /// [`WINDOW_BYTES`] of its `task_struct`), for self-calibration.
    pub const MAP_WINDOW: &str = "taskexit_window";

    /// Capacity of `taskexit_dead`, in processes.
    pub const DEAD_ENTRIES: u32 = 4096;
    /// Capacity of `taskexit_held`, in UIDs.
    pub const HELD_ENTRIES: u32 = 1024;
    /// Bytes of a `task_struct` copied for self-calibration.
    pub const WINDOW_BYTES: usize = 16384;
    /// Size of a `taskexit_window` value: the tid, then the bytes.
    pub const WINDOW_VALUE: usize = 8 + WINDOW_BYTES;

    /// Where the exit program reads, in bytes from the structs' starts.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct TaskConfig {
        /// Non-zero once the fault offsets are set.
        pub configured: u32,
        /// The thread whose `task_struct` the program copies at its exit.
        pub calibrate_tid: u32,
        /// `sizeof(unsigned long)` in the kernel: 4 or 8.
        pub word: u32,
        /// `task_struct.min_flt`.
        pub min_flt: u32,
        /// `task_struct.maj_flt`.
        pub maj_flt: u32,
        /// `task_struct.signal`; 0: peak RSS at exit is not read.
        pub signal: u32,
        /// `signal_struct.maxrss`, in pages.
        pub maxrss: u32,
        /// Zero.
        pub reserved: u32,
    }

    /// Faults of exited threads.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct TaskFaults {
        /// Minor faults.
        pub minor: u64,
        /// Major faults.
        pub major: u64,
    }

    /// One process's exited threads.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct TaskDead {
        /// Their minor faults.
        pub minor: u64,
        /// Their major faults.
        pub major: u64,
        /// The process's peak RSS (`signal_struct.maxrss`) at the last exit, in pages.
        pub maxrss_pages: u64,
        /// The UID of the last exit.
        pub uid: u32,
        /// Threads that exited.
        pub exits: u32,
    }

    /// memstatd's per-UID corrections, kept in the kernel so that they
    /// outlive it.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct TaskHeld {
        /// Added to the UID's minor faults.
        pub adjust_minor: i64,
        /// Added to the UID's major faults.
        pub adjust_major: i64,
        /// The last minor faults reported.
        pub reported_minor: u64,
        /// The last major faults reported.
        pub reported_major: u64,
    }

    /// Exits the program could not account. Counters only grow.
    #[repr(C)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
    pub struct TaskDrops {
        /// Exits before memstatd wrote the offsets.
        pub unconfigured: u64,
        /// A `task_struct` read failed.
        pub read_failed: u64,
        /// `taskexit_dead` had no room for the process.
        pub dead_full: u64,
        /// `taskexit_uid` had no room: counted in `taskexit_other`.
        pub uid_full: u64,
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

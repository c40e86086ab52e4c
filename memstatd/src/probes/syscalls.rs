//! The syscall probe group (`memStatSyscalls.o`): which pins it has, how it is
//! attached, how latency mode is switched, and how its maps become counters.

use crate::abi::{
    self, syscalls as names, LatencyHist, SyscallConfig, SyscallCounts, SyscallKey,
    SyscallOverflow, SyscallSlot, SyscallWatch, ROW_BYTES,
};
use crate::bpf::{Access, Attachment, BpfError, Map, PerCpu, Program, Tracefs};
use crate::probes::syscall_table::{self, Abi};
use std::collections::BTreeMap;
use std::path::Path;

const SYS_EXIT_EVENT: &str = "raw_syscalls/sys_exit";
const SYS_ENTER_EVENT: &str = "raw_syscalls/sys_enter";
const NEWTASK_EVENT: &str = "task/task_newtask";
const EXEC_EVENT: &str = "sched/sched_process_exec";
/// The tracepoints the group attaches.
pub const EVENTS: [&str; 4] = [SYS_EXIT_EVENT, SYS_ENTER_EVENT, NEWTASK_EVENT, EXEC_EVENT];

/// Calls after whose return a thread may have another real UID (the setuid
/// family) or tid (a failed exec): the program's cache of thread to UID is
/// dropped on every CPU.
const WATCHED_CALLS: [&str; 8] = [
    "setuid",
    "setreuid",
    "setresuid",
    "setuid32",
    "setreuid32",
    "setresuid32",
    "execve",
    "execveat",
];

/// The group, opened from its pins and attached.
pub struct SyscallProbe {
    rows: Map,
    row_uid: Map,
    slots: Map,
    counts: Map,
    overflow: Map,
    config: Map,
    latency: Map,
    watch: Map,
    sys_exit: Program,
    sys_enter: Program,
    newtask: Program,
    exec: Program,
    tracefs: Tracefs,
    // Dropped in this order: sys_exit, the one that fills caches, first.
    _exit_attachment: Attachment,
    _newtask_attachment: Attachment,
    _exec_attachment: Attachment,
    enter_attachment: Option<Attachment>,
}

/// One read of the group's maps: monotonic counters, summed over CPUs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyscallSample {
    /// Sorted by key: each pair's row and shared-table counts together.
    pub counts: Vec<(SyscallKey, SyscallCounts)>,
    /// Sorted by UID.
    pub latency: Vec<(u32, LatencyHist)>,
    /// What the maps had no room for, and unmatched latency events.
    pub overflow: SyscallOverflow,
    /// Whether latency mode was on (sys_enter attached) at this read.
    pub latency_on: bool,
    /// Capacity of the shared per-(UID, syscall) table.
    pub counts_capacity: u32,
    /// Entries of the shared table in use.
    pub table_used: u32,
    /// UIDs with a row of their own, sorted.
    pub row_uids: Vec<u32>,
}

impl SyscallSample {
    /// Count and errors of one UID's syscall `nr`.
    pub fn get(&self, uid: u32, nr: u32) -> SyscallCounts {
        let key = SyscallKey { uid, nr };
        self.counts
            .binary_search_by(|(k, _)| k.cmp(&key))
            .map(|i| self.counts[i].1)
            .unwrap_or_default()
    }

    /// Every syscall of one UID, summed.
    pub fn uid_total(&self, uid: u32) -> SyscallCounts {
        let mut total = SyscallCounts::default();
        for (_, c) in self.counts.iter().filter(|(k, _)| k.uid == uid) {
            add_counts(&mut total, c);
        }
        total
    }

    /// One UID's latency histogram, if it has one of its own.
    pub fn latency_of(&self, uid: u32) -> Option<&LatencyHist> {
        self.latency
            .binary_search_by_key(&uid, |(u, _)| *u)
            .ok()
            .map(|i| &self.latency[i].1)
    }
}

// Per-CPU values are summed saturating: a counter from the kernel is data
// like any other, and the daemon never panics on data.

fn add_counts(total: &mut SyscallCounts, v: &SyscallCounts) {
    total.count = total.count.saturating_add(v.count);
    total.errors = total.errors.saturating_add(v.errors);
}

fn add_hist(total: &mut LatencyHist, v: &LatencyHist) {
    for (t, b) in total.buckets.iter_mut().zip(v.buckets) {
        *t = t.saturating_add(b);
    }
}

fn add_overflow(total: &mut SyscallOverflow, v: &SyscallOverflow) {
    total.count = total.count.saturating_add(v.count);
    total.errors = total.errors.saturating_add(v.errors);
    for (t, b) in total.latency.iter_mut().zip(v.latency) {
        *t = t.saturating_add(b);
    }
    total.start_dropped = total.start_dropped.saturating_add(v.start_dropped);
    total.unmatched = total.unmatched.saturating_add(v.unmatched);
}

impl SyscallProbe {
    /// Opens the group's pins under `pin_root` (maps read-only except the
    /// config and watch maps), moves the watch generation (nothing is
    /// attached yet, so no bump is lost) and attaches the generation bumps,
    /// then `sys_exit`. If a previous daemon left latency mode on, it is
    /// switched on again with a fresh epoch.
    pub fn open(pin_root: &Path, tracefs: &Tracefs) -> Result<Self, BpfError> {
        let map = |name, access, key, value| {
            Map::open(
                &abi::map_pin(pin_root, names::OBJECT, name),
                access,
                key,
                value,
            )
        };
        let prog = |section| Program::open(&abi::prog_pin(pin_root, names::OBJECT, section));
        let size = std::mem::size_of::<u32>;

        let rows = map(names::MAP_ROWS, Access::ReadOnly, size(), ROW_BYTES)?;
        let row_uid = map(
            names::MAP_ROW_UID,
            Access::ReadOnly,
            size(),
            std::mem::size_of::<u64>(),
        )?;
        let slots = map(
            names::MAP_SLOTS,
            Access::ReadOnly,
            size(),
            std::mem::size_of::<SyscallSlot>(),
        )?;
        let counts = map(
            names::MAP_COUNTS,
            Access::ReadOnly,
            std::mem::size_of::<SyscallKey>(),
            std::mem::size_of::<SyscallCounts>(),
        )?;
        let overflow = map(
            names::MAP_OVERFLOW,
            Access::ReadOnly,
            size(),
            std::mem::size_of::<SyscallOverflow>(),
        )?;
        let config = map(
            names::MAP_CONFIG,
            Access::ReadWrite,
            size(),
            std::mem::size_of::<SyscallConfig>(),
        )?;
        let latency = map(
            names::MAP_LATENCY,
            Access::ReadOnly,
            size(),
            std::mem::size_of::<LatencyHist>(),
        )?;
        let watch = map(
            names::MAP_WATCH,
            Access::ReadWrite,
            size(),
            std::mem::size_of::<SyscallWatch>(),
        )?;
        let sys_exit = prog(names::PROG_SYS_EXIT)?;
        let sys_enter = prog(names::PROG_SYS_ENTER)?;
        let newtask = prog(names::PROG_TASK_NEWTASK)?;
        let exec = prog(names::PROG_PROCESS_EXEC)?;
        let opened = [
            (names::MAP_ROWS, &rows),
            (names::MAP_ROW_UID, &row_uid),
            (names::MAP_SLOTS, &slots),
            (names::MAP_COUNTS, &counts),
            (names::MAP_OVERFLOW, &overflow),
            (names::MAP_CONFIG, &config),
            (names::MAP_LATENCY, &latency),
            (names::MAP_WATCH, &watch),
        ]
        .map(|(name, map)| (name.to_owned(), map));
        let programs = [
            (names::PROG_SYS_EXIT, &sys_exit),
            (names::PROG_SYS_ENTER, &sys_enter),
            (names::PROG_TASK_NEWTASK, &newtask),
            (names::PROG_PROCESS_EXEC, &exec),
        ];
        super::pins::check(pin_root, names::OBJECT, &opened, &programs).map_err(BpfError::Stale)?;

        // Whatever changed while nothing was attached invalidates every
        // cached thread; the bumps are attached before anything is cached.
        let old = watch
            .get(&0u32, |t: &mut SyscallWatch, v| *t = *v)?
            .unwrap_or_default();
        watch.set(
            &0u32,
            &SyscallWatch {
                generation: old.generation.wrapping_add(1),
                calls: watched_calls(Abi::native()),
            },
        )?;
        let newtask_attachment = newtask.attach_tracepoint(tracefs, NEWTASK_EVENT)?;
        let exec_attachment = exec.attach_tracepoint(tracefs, EXEC_EVENT)?;
        let exit_attachment = sys_exit.attach_tracepoint(tracefs, SYS_EXIT_EVENT)?;
        let mut probe = SyscallProbe {
            rows,
            row_uid,
            slots,
            counts,
            overflow,
            config,
            latency,
            watch,
            sys_exit,
            sys_enter,
            newtask,
            exec,
            tracefs: tracefs.clone(),
            _exit_attachment: exit_attachment,
            _newtask_attachment: newtask_attachment,
            _exec_attachment: exec_attachment,
            enter_attachment: None,
        };
        if probe.config()?.latency_epoch != 0 {
            probe.set_latency(true)?;
        }
        Ok(probe)
    }

    fn config(&self) -> Result<SyscallConfig, BpfError> {
        Ok(self
            .config
            .get(&0u32, |t: &mut SyscallConfig, v| *t = *v)?
            .unwrap_or_default())
    }

    /// Switches latency mode. On: a new epoch is written, then `sys_enter` is
    /// attached. Off: `sys_enter` is detached, then the epoch is cleared, so
    /// the default mode runs one program per syscall again.
    pub fn set_latency(&mut self, on: bool) -> Result<(), BpfError> {
        if on {
            self.config.set(
                &0u32,
                &SyscallConfig {
                    latency_epoch: new_epoch(),
                },
            )?;
            if self.enter_attachment.is_none() {
                self.enter_attachment = Some(
                    self.sys_enter
                        .attach_tracepoint(&self.tracefs, SYS_ENTER_EVENT)?,
                );
            }
        } else {
            self.enter_attachment = None;
            self.config
                .set(&0u32, &SyscallConfig { latency_epoch: 0 })?;
        }
        Ok(())
    }

    /// Whether latency mode is on: sys_enter is attached.
    pub fn latency_on(&self) -> bool {
        self.enter_attachment.is_some()
    }

    /// The group's maps by name: their ids tell whether the counters are the
    /// ones a baseline was taken from, and their memory is the group's cost.
    pub fn maps(&self) -> [(&'static str, &Map); 8] {
        [
            (names::MAP_ROWS, &self.rows),
            (names::MAP_ROW_UID, &self.row_uid),
            (names::MAP_SLOTS, &self.slots),
            (names::MAP_COUNTS, &self.counts),
            (names::MAP_OVERFLOW, &self.overflow),
            (names::MAP_CONFIG, &self.config),
            (names::MAP_LATENCY, &self.latency),
            (names::MAP_WATCH, &self.watch),
        ]
    }

    /// The group's programs by section, with whether each is attached.
    pub fn programs(&self) -> [(&'static str, &Program, bool); 4] {
        [
            (names::PROG_SYS_EXIT, &self.sys_exit, true),
            (names::PROG_SYS_ENTER, &self.sys_enter, self.latency_on()),
            (names::PROG_TASK_NEWTASK, &self.newtask, true),
            (names::PROG_PROCESS_EXEC, &self.exec, true),
        ]
    }

    /// Reads every map of the group, summing per-CPU values. A pair's count
    /// is its row's (if its UID has one), its slots' and the shared table's:
    /// a UID's calls before it got its row, and numbers past the row, are in
    /// the last two. A slot's counts never move, so each part only grows.
    pub fn read(&self) -> Result<SyscallSample, BpfError> {
        // Owners first: a row claimed after this read of them is skipped
        // whole, never counted without its UID.
        let owners: Vec<(u32, u64)> = self.row_uid.entries(|t: &mut u64, v| *t = *v)?;
        let owners: Vec<(u32, u32)> = owners
            .into_iter()
            .filter_map(|(row, uid)| Some((row, u32::try_from(uid).ok()?)))
            .collect();
        let mut pairs: BTreeMap<SyscallKey, SyscallCounts> = BTreeMap::new();
        for &(row, uid) in &owners {
            let Some(calls) = self.rows.get_with(&row, ROW_BYTES, sum_row)? else {
                continue;
            };
            for (nr, c) in (0..).zip(calls) {
                if c != SyscallCounts::default() {
                    add_counts(pairs.entry(SyscallKey { uid, nr }).or_default(), &c);
                }
            }
        }
        let slot_size = std::mem::size_of::<SyscallSlot>();
        let slots: Vec<(u32, Vec<SyscallSlot>)> = self.slots.entries_with(slot_size, |raw| {
            let taken = raw
                .copies()
                .map(bytemuck::pod_read_unaligned::<SyscallSlot>);
            // A slot just taken may not have counted yet.
            let counted = |s: &SyscallSlot| s.counts != SyscallCounts::default();
            taken.filter(counted).collect()
        })?;
        for (index, taken) in slots {
            for (key, s) in taken.iter().filter_map(|s| Some((s.pair(index)?, s))) {
                add_counts(pairs.entry(key).or_default(), &s.counts);
            }
        }
        let shared: Vec<(SyscallKey, SyscallCounts)> = self.counts.entries(add_counts)?;
        let table_used = shared.len() as u32;
        for (key, c) in shared {
            add_counts(pairs.entry(key).or_default(), &c);
        }
        let mut row_uids: Vec<u32> = owners.iter().map(|&(_, uid)| uid).collect();
        row_uids.sort_unstable();
        let mut latency: Vec<(u32, LatencyHist)> = self.latency.entries(add_hist)?;
        latency.sort_unstable_by_key(|(uid, _)| *uid);
        let overflow = self.overflow.get(&0u32, add_overflow)?.unwrap_or_default();
        Ok(SyscallSample {
            counts: pairs.into_iter().collect(),
            latency,
            overflow,
            latency_on: self.latency_on(),
            counts_capacity: self.counts.max_entries(),
            table_used,
            row_uids,
        })
    }
}

/// The watch bitmap of an architecture: [`WATCHED_CALLS`] of its native and
/// compat ABIs. Where a number is one ABI's watched call and the other's
/// everyday one, that call also drops the caches: a refill per CPU, never a
/// wrong count. With no table (an architecture memstat has none for), every
/// number is watched: the cache never serves, and counts stay exact.
pub fn watched_calls(native: Option<Abi>) -> [u64; names::WATCH_WORDS] {
    let Some(native) = native else {
        return [u64::MAX; names::WATCH_WORDS];
    };
    let mut bits = [0u64; names::WATCH_WORDS];
    // A 64-bit kernel runs 32-bit processes with their own numbers.
    let compat = match native {
        Abi::Arm64 => Some(Abi::Arm),
        Abi::X86_64 => Some(Abi::X86),
        Abi::Arm | Abi::X86 => None,
    };
    for abi in std::iter::once(native).chain(compat) {
        for nr in WATCHED_CALLS
            .iter()
            .filter_map(|name| syscall_table::number(abi, name))
        {
            // Every number of the four tables is below ROW_WIDTH (tests/abi.rs).
            if let Some(word) = bits.get_mut(nr as usize / 64) {
                *word |= 1 << (nr % 64);
            }
        }
    }
    bits
}

/// One row summed over CPUs: a [`SyscallCounts`] per syscall number.
fn sum_row(raw: &PerCpu) -> Vec<SyscallCounts> {
    let mut total = vec![SyscallCounts::default(); names::ROW_WIDTH as usize];
    for copy in raw.copies() {
        let calls = copy.chunks_exact(std::mem::size_of::<SyscallCounts>());
        for (t, c) in total.iter_mut().zip(calls) {
            add_counts(t, &bytemuck::pod_read_unaligned(c));
        }
    }
    total
}

/// A non-zero epoch that differs from recent ones: milliseconds of
/// CLOCK_MONOTONIC, so a restarted daemon never reuses its predecessor's.
fn new_epoch() -> u32 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let ms = (ts.tv_sec as u64)
        .wrapping_mul(1000)
        .wrapping_add(ts.tv_nsec as u64 / 1_000_000);
    (ms as u32).max(1)
}

/// What the kernel reports as the syscall number of a return that was not
/// a syscall's (-1: a syscall skipped by seccomp or ptrace, or a signal
/// return that restarted none).
pub const NO_SYSCALL: u32 = u32::MAX;

/// The name of syscall `nr` on this architecture (its table, generated from
/// the kernel's), `none` for [`NO_SYSCALL`], or `sys_<nr>` for a number the
/// table lacks.
pub fn syscall_name(nr: u32) -> std::borrow::Cow<'static, str> {
    match Abi::native().and_then(|abi| syscall_table::name(abi, nr)) {
        Some(name) => name.into(),
        None if nr == NO_SYSCALL => "none".into(),
        None => format!("sys_{nr}").into(),
    }
}

/// The number of a syscall named as [`syscall_name`] names it.
pub fn syscall_number(name: &str) -> Option<u32> {
    if name == "none" {
        return Some(NO_SYSCALL);
    }
    if let Some(nr) = name.strip_prefix("sys_").and_then(|n| n.parse().ok()) {
        return Some(nr);
    }
    Abi::native().and_then(|abi| syscall_table::number(abi, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_running_architecture() {
        assert_eq!(syscall_name(libc::SYS_getppid as u32), "getppid");
        assert_eq!(syscall_name(libc::SYS_fchdir as u32), "fchdir");
        assert_eq!(syscall_name(4000), "sys_4000");
        assert_eq!(syscall_name(u32::MAX), "none");
        assert_eq!(syscall_number("none"), Some(u32::MAX));
        assert_eq!(syscall_number("getppid"), Some(libc::SYS_getppid as u32));
        assert_eq!(syscall_number("sys_4000"), Some(4000));
        assert_eq!(syscall_number("nosuchcall"), None);
    }

    fn marked(words: [u64; names::WATCH_WORDS]) -> Vec<u32> {
        (0..names::ROW_WIDTH)
            .filter(|&nr| words[nr as usize / 64] >> (nr % 64) & 1 == 1)
            .collect()
    }

    /// Names of the marked numbers that are no watched call in `abi`: the
    /// other ABI's watched calls that cost a refill.
    fn refills(native: Abi, abi: Abi) -> Vec<&'static str> {
        marked(watched_calls(Some(native)))
            .into_iter()
            .filter_map(|nr| syscall_table::name(abi, nr))
            .filter(|name| !WATCHED_CALLS.contains(name))
            .collect()
    }

    #[test]
    fn the_watch_bitmap_marks_setuid_and_exec_of_the_native_and_compat_abi() {
        // The numbers of the kernel's tables: arm64 then arm, x86_64 then i386.
        assert_eq!(
            marked(watched_calls(Some(Abi::Arm64))),
            [11, 23, 70, 145, 146, 147, 164, 203, 208, 213, 221, 281, 387]
        );
        assert_eq!(
            marked(watched_calls(Some(Abi::X86_64))),
            [11, 23, 59, 70, 105, 113, 117, 164, 203, 208, 213, 322, 358]
        );
        assert_eq!(
            marked(watched_calls(Some(Abi::Arm))),
            [11, 23, 70, 164, 203, 208, 213, 387]
        );
        assert_eq!(marked(watched_calls(None)).len(), names::ROW_WIDTH as usize);
        // What a collision costs a refill for (bpf_progs/README.md lists them).
        assert_eq!(
            refills(Abi::Arm64, Abi::Arm64),
            [
                "listxattr",
                "dup",
                "pwritev",
                "setrlimit",
                "connect",
                "setsockopt",
                "readahead"
            ]
        );
        assert_eq!(
            refills(Abi::Arm64, Abi::Arm),
            ["readv", "writev", "getsid", "fcntl64", "socket"]
        );
        assert_eq!(
            refills(Abi::X86_64, Abi::X86_64),
            [
                "munmap",
                "select",
                "msgrcv",
                "settimeofday",
                "sched_setaffinity",
                "io_getevents",
                "epoll_create"
            ]
        );
    }
}

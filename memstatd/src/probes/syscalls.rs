//! The syscall probe group (`memStatSyscalls.o`): which pins it has, how it is
//! attached, how latency mode is switched, and how its maps become counters.

use crate::abi::{
    self, syscalls as names, LatencyHist, SyscallConfig, SyscallCounts, SyscallKey, SyscallOverflow,
};
use crate::bpf::{Access, Attachment, BpfError, Map, Program, Tracefs};
use crate::probes::syscall_table::{self, Abi};
use std::path::Path;

const SYS_EXIT_EVENT: &str = "raw_syscalls/sys_exit";
const SYS_ENTER_EVENT: &str = "raw_syscalls/sys_enter";
/// The tracepoints the group attaches.
pub const EVENTS: [&str; 2] = [SYS_EXIT_EVENT, SYS_ENTER_EVENT];

/// The group, opened from its pins and attached.
pub struct SyscallProbe {
    counts: Map,
    overflow: Map,
    config: Map,
    latency: Map,
    sys_exit: Program,
    sys_enter: Program,
    tracefs: Tracefs,
    _exit_attachment: Attachment,
    enter_attachment: Option<Attachment>,
}

/// One read of the group's maps: monotonic counters, summed over CPUs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyscallSample {
    /// Sorted by key.
    pub counts: Vec<(SyscallKey, SyscallCounts)>,
    /// Sorted by UID.
    pub latency: Vec<(u32, LatencyHist)>,
    /// What the maps had no room for, and unmatched latency events.
    pub overflow: SyscallOverflow,
    /// Whether latency mode was on (sys_enter attached) at this read.
    pub latency_on: bool,
    /// Capacity of the per-(UID, syscall) table.
    pub counts_capacity: u32,
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
    /// config map) and attaches `sys_exit`. If a previous daemon left latency
    /// mode on, it is switched on again with a fresh epoch.
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
        let sys_exit = prog(names::PROG_SYS_EXIT)?;
        let sys_enter = prog(names::PROG_SYS_ENTER)?;
        let opened = [
            (names::MAP_COUNTS, &counts),
            (names::MAP_OVERFLOW, &overflow),
            (names::MAP_CONFIG, &config),
            (names::MAP_LATENCY, &latency),
        ]
        .map(|(name, map)| (name.to_owned(), map));
        let programs = [
            (names::PROG_SYS_EXIT, &sys_exit),
            (names::PROG_SYS_ENTER, &sys_enter),
        ];
        super::pins::check(pin_root, names::OBJECT, &opened, &programs).map_err(BpfError::Stale)?;

        let exit_attachment = sys_exit.attach_tracepoint(tracefs, SYS_EXIT_EVENT)?;
        let mut probe = SyscallProbe {
            counts,
            overflow,
            config,
            latency,
            sys_exit,
            sys_enter,
            tracefs: tracefs.clone(),
            _exit_attachment: exit_attachment,
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
    pub fn maps(&self) -> [(&'static str, &Map); 4] {
        [
            (names::MAP_COUNTS, &self.counts),
            (names::MAP_OVERFLOW, &self.overflow),
            (names::MAP_CONFIG, &self.config),
            (names::MAP_LATENCY, &self.latency),
        ]
    }

    /// The group's programs by section, with whether each is attached.
    pub fn programs(&self) -> [(&'static str, &Program, bool); 2] {
        [
            (names::PROG_SYS_EXIT, &self.sys_exit, true),
            (names::PROG_SYS_ENTER, &self.sys_enter, self.latency_on()),
        ]
    }

    /// Reads every map of the group, summing per-CPU values.
    pub fn read(&self) -> Result<SyscallSample, BpfError> {
        let mut counts: Vec<(SyscallKey, SyscallCounts)> = self.counts.entries(add_counts)?;
        counts.sort_unstable_by_key(|(k, _)| *k);
        let mut latency: Vec<(u32, LatencyHist)> = self.latency.entries(add_hist)?;
        latency.sort_unstable_by_key(|(uid, _)| *uid);
        let overflow = self.overflow.get(&0u32, add_overflow)?.unwrap_or_default();
        Ok(SyscallSample {
            counts,
            latency,
            overflow,
            latency_on: self.latency_on(),
            counts_capacity: self.counts.max_entries(),
        })
    }
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
}

//! Probe groups: for each, which pins it has, how it attaches, and how its
//! raw map entries become counters. A group that cannot open or attach is
//! unavailable, with the reason, and the others go on.

pub mod format;
pub mod memory;
pub(crate) mod pins;
pub mod syscall_table;
pub mod syscalls;

use crate::bpf::Tracefs;
use memory::{GroupSpec, MemoryProbe, Source, GROUPS};
use std::collections::HashMap;
use std::path::Path;
use syscalls::SyscallProbe;

/// Every probe group, each live or unavailable with the reason.
pub struct Probes {
    /// The syscall group (memStatSyscalls), or why it is unavailable.
    pub syscalls: Result<SyscallProbe, String>,
    /// In `memory::GROUPS` order.
    pub memory: Vec<(&'static GroupSpec, Result<MemoryProbe, String>)>,
    /// The task-counter source of the faults and rss groups
    /// (memStatTaskExit and /proc), or why it is unavailable.
    pub tasks: Result<crate::tasks::TaskSource, String>,
    /// The per-app memory cgroup source, more of the faults and rss
    /// groups, or why there is none.
    pub memcg: Result<crate::memcg::MemcgSource, String>,
}

impl Probes {
    /// Opens and attaches every group pinned under `pin_root`. A group whose
    /// object is in `load_errors` (by object name) failed to load.
    pub fn open(
        pin_root: &Path,
        tracefs: Result<&Tracefs, String>,
        load_errors: &HashMap<String, String>,
    ) -> Self {
        let object = crate::abi::syscalls::OBJECT;
        let syscalls = match load_errors.get(object) {
            Some(why) => Err(format!("{object}.o: {why}")),
            None => tracefs
                .clone()
                .and_then(|t| SyscallProbe::open(pin_root, t).map_err(|e| e.to_string())),
        };
        if let Err(why) = &syscalls {
            log::warn!("probe group syscalls unavailable: {why}");
        }
        let memory = GROUPS
            .iter()
            .map(|&spec| {
                let probe = match load_errors.get(spec.object) {
                    Some(why) => Err(format!("{}.o: {why}", spec.object)),
                    None => tracefs
                        .clone()
                        .and_then(|t| MemoryProbe::open(spec, pin_root, t)),
                };
                if let Err(why) = &probe {
                    log::warn!("probe group {} unavailable: {why}", spec.name);
                }
                (spec, probe)
            })
            .collect();
        let object = crate::abi::tasks::OBJECT;
        let tasks = match load_errors.get(object) {
            Some(why) => Err(format!("{object}.o: {why}")),
            None => tracefs
                .clone()
                .and_then(|t| crate::tasks::TaskSource::open(pin_root, t)),
        };
        if let Err(why) = &tasks {
            log::warn!("task counters unavailable: {why}");
        }
        let memcg = crate::memcg::MemcgSource::open();
        if let Err(why) = &memcg {
            log::info!("per-app memory cgroups not read: {why}");
        }
        Probes {
            syscalls,
            memory,
            tasks,
            memcg,
        }
    }
}

/// Every tracefs event (`category/event`) some probe group may attach: what
/// the SELinux policy must label readable.
pub fn tracepoint_events() -> Vec<&'static str> {
    let mut events = syscalls::EVENTS.to_vec();
    events.push(crate::abi::tasks::EVENT);
    for g in GROUPS {
        for hook in g.hooks {
            for source in hook.sources {
                if let Source::Tracepoint { event, .. } = source {
                    events.push(event);
                }
            }
        }
    }
    events.sort_unstable();
    events.dedup();
    events
}

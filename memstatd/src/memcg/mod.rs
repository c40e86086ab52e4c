//! The per-app memory cgroup source: the bytes the kernel's memory
//! controller charges to each app UID's cgroup now, where the platform runs
//! apps in per-app cgroups ([`layout`]). It adds `charged.*` to the `rss`
//! group for the UIDs that have such a cgroup, read at each report, at no
//! cost per event: the controller counts anyway.
//!
//! Only values of the moment are taken. The controller's fault counts die
//! with an app's cgroup (removed with its last process), so keeping them
//! exact would need every removal seen and the last reads kept across
//! restarts; the task counters already count faults exactly.

mod layout;

use layout::Layout;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Where to look for per-app memory cgroups (`--app-memcg`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Choice {
    /// The v2 root (`/sys/fs/cgroup`), else the v1 memory hierarchy
    /// (`/dev/memcg`): the first with the memory controller.
    #[default]
    Auto,
    /// Not used (`--app-memcg off`).
    Off,
    /// This cgroup directory.
    Dir(PathBuf),
}

static CHOICE: OnceLock<Choice> = OnceLock::new();

/// Sets where to look, once, before the probes open.
pub fn configure(choice: Choice) {
    let _ = CHOICE.set(choice);
}

/// At most this many `uid_<N>` cgroups are read per report.
const MAX_CGROUPS: usize = 8192;

/// One report's read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Reading {
    /// Bytes charged to each UID's cgroups: anon, file (shmem not
    /// included), shmem, all.
    pub(crate) uids: BTreeMap<u32, [u64; 4]>,
}

/// The per-app memory cgroup source, found.
pub struct MemcgSource {
    layout: Layout,
    /// CPU time of the last read, the `uid_<N>` cgroups it found, and those
    /// with memory files.
    cost: Mutex<(Duration, usize, usize)>,
}

impl MemcgSource {
    /// Finds the hierarchy; why not, where there is none or the source is
    /// off. Its `uid_<N>` cgroups may come later: memstatd starts before
    /// the apps.
    pub fn open() -> Result<Self, String> {
        let layout = match CHOICE.get().cloned().unwrap_or_default() {
            Choice::Off => return Err("off (--app-memcg off)".into()),
            Choice::Dir(dir) => Layout::find(&dir)?,
            Choice::Auto => Layout::find(Path::new("/sys/fs/cgroup")).or_else(|v2| {
                Layout::find(Path::new("/dev/memcg")).map_err(|v1| format!("{v2}; {v1}"))
            })?,
        };
        log::info!(
            "per-app memory cgroups: {} under {}",
            layout.version.name(),
            layout.describe()
        );
        Ok(MemcgSource {
            layout,
            cost: Mutex::new((Duration::ZERO, 0, 0)),
        })
    }

    /// Reads every app cgroup now.
    pub(crate) fn read(&self) -> Reading {
        let started = crate::tasks::thread_cpu();
        let found = self.layout.read(MAX_CGROUPS);
        let mut reading = Reading::default();
        for (uid, charged) in found.iter().filter_map(|f| Some((f.uid, f.charged?))) {
            let sum = reading.uids.entry(uid).or_default();
            for (a, b) in sum.iter_mut().zip(charged) {
                *a = a.saturating_add(b);
            }
        }
        let counted = found.iter().filter(|f| f.charged.is_some()).count();
        let cpu = crate::tasks::thread_cpu().saturating_sub(started);
        *self.cost.lock().unwrap_or_else(|e| e.into_inner()) = (cpu, found.len(), counted);
        reading
    }

    /// What the report's probe line says of the source.
    pub(crate) fn describe(&self) -> String {
        let (cpu, cgroups, counted) = *self.cost.lock().unwrap_or_else(|e| e.into_inner());
        format!(
            "per-app memory cgroups ({}, {}): read at each report (last: {cgroups} uid cgroups, \
             {counted} with memory files, in {} µs of CPU); charged bytes as the controller \
             counts them at the read, up to its per-CPU batching",
            self.layout.version.name(),
            self.layout.describe(),
            cpu.as_micros(),
        )
    }
}

/// Writes `reading` into the memcg slots of `spec`'s counters (after the
/// BPF value's and the task counters'): rows for UIDs with a cgroup while
/// the group's table has room, the rest summed in its `other`, whose first
/// memcg slot says whether any cgroup was read (a gate on these metrics
/// otherwise has nothing to check).
pub(crate) fn fill(
    spec: &'static crate::probes::memory::GroupSpec,
    reading: &Reading,
    counters: &mut crate::stats::counters::GroupCounters,
) {
    let fields = spec.memcg_fields();
    if fields.is_empty() {
        return;
    }
    let slots = spec.slots();
    let base = slots - fields.iter().map(|f| f.slots).sum::<usize>();
    let put = |row: &mut Vec<u64>, seen: bool, v: &[u64; 4]| {
        row.resize(slots, 0);
        row[base] = u64::from(seen);
        row[base + 1..].copy_from_slice(v);
    };
    let table = crate::abi::memory::UID_ENTRIES as usize;
    let mut other = [0u64; 4];
    for (uid, charged) in &reading.uids {
        if counters.uids.len() >= table && !counters.uids.contains_key(uid) {
            for (a, b) in other.iter_mut().zip(charged) {
                *a = a.saturating_add(*b);
            }
            continue;
        }
        put(counters.uids.entry(*uid).or_default(), true, charged);
    }
    put(&mut counters.other, !reading.uids.is_empty(), &other);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::memory::rss;
    use crate::stats::counters::GroupCounters;

    #[test]
    fn uids_beyond_the_table_are_summed_in_other() {
        let table = crate::abi::memory::UID_ENTRIES;
        let mut c = GroupCounters::default();
        for uid in 0..table - 1 {
            c.uids.insert(uid, vec![0; rss::SPEC.slots()]);
        }
        let reading = Reading {
            uids: [
                (5, [1, 2, 3, 6]),
                (20000, [10, 0, 0, 10]),
                (20001, [1, 1, 1, 3]),
            ]
            .into(),
        };
        fill(&rss::SPEC, &reading, &mut c);
        let seen = rss::SPEC.memcg_seen_slot().unwrap();
        assert_eq!(c.uids[&5][seen..], [1, 1, 2, 3, 6]);
        assert_eq!(c.uids[&20000][seen..], [1, 10, 0, 0, 10]);
        assert!(!c.uids.contains_key(&20001));
        assert_eq!(c.other[seen..], [1, 1, 1, 1, 3]);
        // A UID with a row and no cgroup keeps its task slots, seen 0.
        assert_eq!(c.uids[&6][seen..], [0, 0, 0, 0, 0]);
    }

    #[test]
    fn no_cgroup_read_says_so_in_other() {
        let mut c = GroupCounters::default();
        fill(&rss::SPEC, &Reading::default(), &mut c);
        let seen = rss::SPEC.memcg_seen_slot().unwrap();
        assert_eq!(c.other.len(), rss::SPEC.slots());
        assert_eq!(c.other[seen], 0);
    }
}

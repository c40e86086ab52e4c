//! What every dump reads: the probe groups, the state store and the UID
//! names, read each group on its own (one that cannot be read is missing,
//! never zeros), and the views built from one reading: a memory group's
//! section, the window, the probes' status and memstatd's own use.

use super::DumpError;
use crate::bpf::{Map, Program};
use crate::probes::memory::{duty, GroupMode, Kind, GROUPS};
use crate::probes::Probes;
use crate::report::model::{
    DaemonView, DutyView, GroupRow, GroupView, MapUsage, ProbeStatus, ProgUsage,
};
use crate::stats::counters::{Counters, GroupCounters, SYSCALLS};
use crate::stats::measure;
use crate::stats::state::Store;
use crate::system;
use crate::uid::UidNames;
use std::collections::BTreeMap;

pub(super) struct Engine {
    pub(super) probes: Probes,
    pub(super) store: Store,
    pub(super) names: UidNames,
}

/// One read of every live group, with what the report needs of the maps.
#[derive(Default)]
pub(super) struct Reading {
    pub(super) counters: Counters,
    pub(super) table_used: u32,
    pub(super) table_entries: u32,
    pub(super) latency_on: bool,
    /// Memory group → (entries used, entries) of its per-UID table.
    pub(super) group_tables: BTreeMap<&'static str, (usize, u32)>,
}

/// When the counters began: the earliest load time of the programs that
/// feed the groups opened.
pub(super) fn counters_since_ms(probes: &Probes) -> u64 {
    let syscalls = probes.syscalls.iter();
    let syscalls = syscalls.flat_map(|p| p.programs().map(|(_, p, _)| p));
    let memory = probes.memory.iter().filter_map(|(_, p)| p.as_ref().ok());
    let memory = memory.flat_map(|p| p.programs().map(|(_, p, _)| p));
    syscalls
        .chain(memory)
        .filter_map(|p| p.info().ok())
        .map(|i| system::boottime_to_ms(i.load_time_ns))
        .min()
        .unwrap_or_else(system::now_ms)
}

impl Engine {
    /// Every group's counters; `Err` only when no group at all can be read.
    pub(super) fn read(&self) -> Result<Reading, DumpError> {
        let reading = read_all(&self.probes);
        if reading.counters.nothing_read() {
            return Err(DumpError::Failed(reading.counters.why_nothing()));
        }
        Ok(reading)
    }

    /// One memory group's section.
    pub(super) fn group_view(
        &self,
        index: usize,
        window: &Counters,
        reading: &Reading,
        wanted: &[u32],
        top: Option<usize>,
    ) -> GroupView {
        let spec = GROUPS[index];
        let (state, sample_every, why) = match self.probes.memory.get(index).map(|(_, p)| p) {
            // Opened, but not read now or when the window began.
            Some(Ok(_)) if !window.has(spec.name) => {
                ("unavailable", None, window.missing.get(spec.name).cloned())
            }
            Some(Ok(p)) => match p.mode() {
                GroupMode::On { sample_every } => ("live", Some(sample_every), None),
                GroupMode::Duty => ("live", None, None),
                // The task counters are its default source.
                GroupMode::Off if !spec.task_fields().is_empty() => ("live", None, None),
                GroupMode::Off => ("off", None, None),
            },
            Some(Err(why)) => ("unavailable", None, Some(why.clone())),
            None => ("unavailable", None, Some("not opened".into())),
        };
        let empty = GroupCounters::default();
        let counters = window.groups.get(spec.name).unwrap_or(&empty);
        let estimated = estimated(self, index, counters);
        let key = spec.columns[0].metric;
        let key_of = |slots: &[u64]| {
            (spec.metrics)(&spec.value(slots))
                .into_iter()
                .find_map(|(m, v)| (m == key).then_some(v))
                // A bracket's unknown upper bound ranks first: it may be any.
                .unwrap_or(if key.ends_with(measure::HI) {
                    u64::MAX
                } else {
                    0
                })
        };
        // Ranked before any row is built: a report of thousands of UIDs
        // holds the metrics of only the rows it shows.
        let mut ranked: Vec<(u64, u32, Option<&Vec<u64>>)> = counters
            .uids
            .iter()
            .map(|(&uid, slots)| (key_of(slots), uid, Some(slots)))
            // Idle UIDs asked for are shown only while the group counts: an
            // off group's zeros would say nothing.
            .chain(
                wanted
                    .iter()
                    .filter(|u| state == "live" && !counters.uids.contains_key(u))
                    .map(|&u| (0, u, None)),
            )
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let uids_total = ranked.len();
        if let Some(top) = top {
            ranked.truncate(top);
        }
        let uids: Vec<GroupRow> = ranked
            .into_iter()
            .map(|(_, uid, slots)| GroupRow {
                uid,
                name: self.names.name(uid).map(str::to_owned),
                // An idle UID's counts are all zero: no metrics to hold.
                metrics: match slots {
                    None => BTreeMap::new(),
                    Some(slots) => (spec.metrics)(&spec.value(slots))
                        .into_iter()
                        .chain(
                            estimated
                                .then(|| {
                                    let variance = counters.variance.get(&uid);
                                    duty::ci_entries(spec, variance.map(Vec::as_slice))
                                })
                                .into_iter()
                                .flatten(),
                        )
                        .collect(),
                },
            })
            .collect();
        let other = if counters.other.iter().any(|&v| v != 0) {
            (spec.metrics)(&spec.value(&counters.other))
                .into_iter()
                .filter(|(_, v)| *v != 0)
                .chain(
                    estimated
                        .then(|| duty::ci_entries(spec, Some(&counters.other_variance)))
                        .into_iter()
                        .flatten(),
                )
                .collect()
        } else {
            BTreeMap::new()
        };
        let (table_used, table_entries) = reading
            .group_tables
            .get(spec.name)
            .copied()
            .unwrap_or((0, 0));
        let cycled = matches!(self.probes.memory.get(index), Some((_, Ok(p))) if p.mode() == GroupMode::Duty);
        let brackets = spec.metric_names().iter().any(|m| m.ends_with(measure::HI));
        GroupView {
            group: spec.name,
            title: spec.title,
            state,
            sample_every,
            why,
            numbers: match (estimated, brackets) {
                (true, _) => "estimates",
                (false, true) => "exact, brackets",
                (false, false) => "exact",
            },
            duty: cycled.then(|| {
                let c = duty::config();
                DutyView {
                    window_ms: c.window.as_millis() as u64,
                    period_ms: c.period.as_millis() as u64,
                }
            }),
            columns: spec.columns,
            uids,
            uids_total,
            other: Some(other),
            table_used: Some(table_used),
            table_entries,
        }
    }

    /// The current generation's window, and the reading it came from.
    pub(super) fn window(&self) -> Result<(Counters, Reading), DumpError> {
        self.window_of(self.read()?)
    }

    /// The current generation's window of `reading`, each group on its own.
    pub(super) fn window_of(&self, reading: Reading) -> Result<(Counters, Reading), DumpError> {
        let window = reading
            .counters
            .since(&self.store.generation().baseline)
            .map_err(|w| {
                DumpError::Failed(format!(
                    "the kernel's counters went back ({} from {} to {}) while memstatd held them; \
                     restart memstatd to start a new generation",
                    w.what, w.was, w.now
                ))
            })?;
        Ok((window, reading))
    }

    pub(super) fn probe_status(&self) -> Vec<ProbeStatus> {
        let status = match &self.probes.syscalls {
            Ok(p) => ProbeStatus {
                group: "syscalls".into(),
                state: "live",
                sample_every: None,
                detail: format!(
                    "raw_syscalls/sys_exit attached; latency mode {}",
                    if p.latency_on() {
                        "on (raw_syscalls/sys_enter attached)"
                    } else {
                        "off"
                    }
                ),
            },
            Err(why) => ProbeStatus {
                group: "syscalls".into(),
                state: "unavailable",
                sample_every: None,
                detail: why.clone(),
            },
        };
        let mut all = vec![status];
        for (spec, probe) in &self.probes.memory {
            let tasks = match &self.probes.tasks {
                _ if spec.task_fields().is_empty() => None,
                Ok(t) => Some(t.describe()),
                Err(why) => Some(format!("task counters unavailable: {why}")),
            };
            let tasks = tasks.map(|t| match &self.probes.memcg {
                _ if spec.memcg_fields().is_empty() => t,
                Ok(m) => format!("{t}; {}", m.describe()),
                Err(why) => format!("{t}; per-app memory cgroups not read: {why}"),
            });
            all.push(match probe {
                Ok(p) if tasks.is_some() => {
                    let mode = p.mode();
                    let events = match mode {
                        GroupMode::Off => format!(
                            "per-event programs off ({}; --probe {}=on attaches them at full \
                             rate)",
                            p.describe_hooks(),
                            spec.name
                        ),
                        _ => format!(
                            "per-event programs on ({}; {})",
                            p.describe_hooks(),
                            mode_text(mode)
                        ),
                    };
                    ProbeStatus {
                        group: spec.name.into(),
                        state: if self.probes.tasks.is_ok() || mode != GroupMode::Off {
                            "live"
                        } else {
                            "unavailable"
                        },
                        sample_every: None,
                        detail: format!("{}; {events}", tasks.unwrap_or_default()),
                    }
                }
                Ok(p) => {
                    let mode = p.mode();
                    ProbeStatus {
                        group: spec.name.into(),
                        state: if mode == GroupMode::Off {
                            "off"
                        } else {
                            "live"
                        },
                        sample_every: match mode {
                            GroupMode::On { sample_every } => Some(sample_every),
                            GroupMode::Off | GroupMode::Duty => None,
                        },
                        detail: match mode {
                            GroupMode::Off => format!(
                                "{}{}; switch on with --probe {}=on",
                                p.describe_hooks(),
                                if spec.default_on {
                                    ""
                                } else {
                                    " (off by default: cost)"
                                },
                                spec.name
                            ),
                            GroupMode::On { .. } => {
                                format!("{}; {}", p.describe_hooks(), mode_text(mode))
                            }
                            GroupMode::Duty => {
                                format!("{}; {}", p.describe_hooks(), duty::describe(spec))
                            }
                        },
                    }
                }
                Err(why) => ProbeStatus {
                    group: spec.name.into(),
                    state: "unavailable",
                    sample_every: None,
                    detail: why.clone(),
                },
            });
        }
        all
    }

    pub(super) fn daemon_view(&self) -> DaemonView {
        let (rss, peak) = match system::self_memory() {
            Ok((r, p)) => (Some(r), Some(p)),
            Err(_) => (None, None),
        };
        let stats = system::bpf_stats_enabled().ok();
        let mut maps = Vec::new();
        let mut programs = Vec::new();
        let counted = stats == Some(true);
        let usage = |section: &str, prog: &Program, attached| {
            let info = prog.info().ok();
            ProgUsage {
                section: section.to_owned(),
                attached,
                run_count: info.as_ref().filter(|_| counted).map(|i| i.run_cnt),
                avg_ns: info
                    .as_ref()
                    .filter(|i| counted && i.run_cnt > 0)
                    .map(|i| i.run_time_ns / i.run_cnt),
            }
        };
        if let Ok(p) = &self.probes.syscalls {
            maps.extend(p.maps().iter().map(|(name, m)| map_usage(name, m)));
            for (section, prog, attached) in p.programs() {
                programs.push(usage(section, prog, attached));
            }
        }
        for p in self
            .probes
            .memory
            .iter()
            .filter_map(|(_, p)| p.as_ref().ok())
        {
            maps.extend(p.maps().iter().map(|(name, m)| map_usage(name, m)));
            for (section, prog, attached) in p.programs() {
                // Sections repeat across objects (raw_syscalls/sys_enter).
                programs.push(usage(
                    &format!("{}:{section}", p.spec.object),
                    prog,
                    attached,
                ));
            }
        }
        if let Ok(t) = &self.probes.tasks {
            let object = crate::abi::tasks::OBJECT;
            for (name, memlock) in t.maps_memlock() {
                maps.push(MapUsage {
                    name,
                    memlock_bytes: memlock,
                });
            }
            let section = crate::abi::tasks::PROG_EXIT;
            programs.push(usage(&format!("{object}:{section}"), t.program(), true));
        }
        DaemonView {
            pid: std::process::id(),
            rss_bytes: rss,
            peak_rss_bytes: peak,
            map_bytes: maps.iter().filter_map(|m| m.memlock_bytes).sum(),
            maps,
            bpf_stats_enabled: stats,
            programs,
        }
    }
}

/// Every group's counters, each read on its own: a group that is
/// unavailable or cannot be read is missing from them, with why, and never
/// keeps the others from being read.
pub(super) fn read_all(probes: &Probes) -> Reading {
    let mut reading = Reading::default();
    let read = |e: crate::bpf::BpfError| format!("cannot read its maps: {e}");
    let syscalls = probes.syscalls.as_ref().map_err(Clone::clone);
    let syscalls = syscalls.and_then(|p| p.read().map_err(read));
    match syscalls {
        Ok(sample) => {
            reading.counters = Counters::from_sample(&sample);
            reading.table_used = sample.table_used;
            reading.table_entries = sample.counts_capacity;
            reading.latency_on = sample.latency_on;
        }
        Err(why) => {
            reading.counters.missing.insert(SYSCALLS.into(), why);
        }
    }
    // Read once per reading: the task counters and memcg feed faults and rss.
    let tasks = probes.tasks.as_ref().map_err(Clone::clone);
    let tasks = tasks.and_then(|t| t.read());
    let memcg = probes.memcg.as_ref().ok().map(|m| m.read());
    for (spec, probe) in &probes.memory {
        let sample = probe.as_ref().map_err(Clone::clone);
        let sample = sample.and_then(|p| p.read().map_err(read));
        let tasks = match &tasks {
            Err(why) if !spec.task_fields().is_empty() => Err(format!("task counters: {why}")),
            t => Ok(t.as_ref().ok()),
        };
        match sample.and_then(|g| Ok((g, tasks?))) {
            Ok((g, tasks)) => {
                reading
                    .group_tables
                    .insert(spec.name, (g.table_used, g.table_entries));
                let mut counters = GroupCounters::from_sample(&g);
                if let Some(t) = tasks.filter(|_| !spec.task_fields().is_empty()) {
                    crate::tasks::fill(spec, t, &mut counters);
                }
                if let Some(m) = &memcg {
                    crate::memcg::fill(spec, m, &mut counters);
                }
                reading
                    .counters
                    .groups
                    .insert(spec.name.to_owned(), counters);
            }
            Err(why) => {
                reading.counters.missing.insert(spec.name.into(), why);
            }
        }
    }
    reading
}

/// The maps counters come from, by `<object>/<map>`: a new id means a map
/// was recreated and its counters started again.
pub(super) fn source_maps(probes: &Probes) -> BTreeMap<String, u32> {
    let mut maps = BTreeMap::new();
    if let Ok(p) = &probes.syscalls {
        for (name, map) in p.maps() {
            maps.insert(format!("{}/{name}", crate::abi::syscalls::OBJECT), map.id());
        }
    }
    for (spec, probe) in &probes.memory {
        if let Ok(p) = probe {
            let (name, map) = &p.maps()[0];
            maps.insert(format!("{}/{name}", spec.object), map.id());
        }
    }
    maps
}

/// RSS peaks restart with each generation: the programs' epoch is its id.
pub(super) fn set_peak_epoch(probes: &Probes, generation: u64) {
    if let Ok(t) = &probes.tasks {
        t.set_epoch(generation);
    }
    for (_, probe) in &probes.memory {
        if let Ok(p) = probe {
            if p.spec.kinds().contains(&Kind::Epoch) {
                if let Err(e) = p.set_epoch(generation as u32) {
                    log::warn!("{}: cannot restart peaks: {e}", p.spec.name);
                }
            }
        }
    }
}

pub(super) fn mode_text(mode: GroupMode) -> String {
    match mode {
        GroupMode::Off => "off".into(),
        GroupMode::On { sample_every: 1 } => "on, every event counted".into(),
        GroupMode::On { sample_every } => {
            format!("on, sampled: one event in {sample_every} counted as {sample_every}")
        }
        GroupMode::Duty => duty::cycle_text(),
    }
}

/// Whether a memory group's window is an estimate: duty-cycled or sampled
/// now, or with a variance from such a stretch.
fn estimated(engine: &Engine, index: usize, counters: &GroupCounters) -> bool {
    let Some((spec, Ok(p))) = engine.probes.memory.get(index) else {
        return false;
    };
    let sampled = matches!(
        p.mode(),
        GroupMode::Duty | GroupMode::On { sample_every: 2.. }
    );
    let varied = counters
        .variance
        .values()
        .chain([&counters.other_variance])
        .flatten()
        .any(|&v| v != 0);
    duty::cycled(spec.name) && (sampled || varied)
}

fn map_usage(name: &str, m: &Map) -> MapUsage {
    MapUsage {
        name: name.to_owned(),
        memlock_bytes: m.memlock().ok(),
    }
}

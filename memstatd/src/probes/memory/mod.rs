//! The memory probe groups, one BPF object each (`memStat<Group>.o`, built
//! on `bpf_progs/memstat_group.h`). A group is described by a [`GroupSpec`]:
//! its value layout (u64 slots per UID), the hooks it attaches and the
//! programs that can serve each, and how its slots become named metrics.
//! [`MemoryProbe`] opens a group's pins, checks every tracepoint field its
//! programs read against the running kernel's format file, attaches what its
//! mode asks for and reads its maps.

pub mod compaction;
pub mod duty;
mod estimate;
pub mod extfrag;
pub mod faults;
pub mod memsyscalls;
pub mod oom;
pub mod pagealloc;
pub mod reclaim;
pub mod rss;
pub mod slab;
mod spec;

pub(crate) use spec::{count, peak, Column, Kind, Unit, Value};
pub use spec::{Field, GroupSpec, Hook, Source};

use super::format::Format;
use crate::abi::memory::{self as abi, GroupConfig, GROUP_PARAMS};
use crate::abi::{map_pin, prog_pin};
use crate::bpf::{Access, Attachment, BpfError, Map, PerCpu, Program, Tracefs};
use crate::math::percentile;
use std::collections::BTreeMap;
use std::path::Path;

/// Every memory group, in report order.
pub static GROUPS: [&GroupSpec; 9] = [
    &faults::SPEC,
    &pagealloc::SPEC,
    &slab::SPEC,
    &extfrag::SPEC,
    &reclaim::SPEC,
    &compaction::SPEC,
    &oom::SPEC,
    &rss::SPEC,
    &memsyscalls::SPEC,
];

/// The group named `name`.
pub(crate) fn spec(name: &str) -> Option<&'static GroupSpec> {
    GROUPS.into_iter().find(|g| g.name == name)
}

/// A group's mode: off, on with one event in `sample_every` counted, or
/// duty-cycled (pagealloc, slab and memsyscalls: [`duty`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GroupMode {
    Off,
    On { sample_every: u32 },
    Duty,
}

impl GroupMode {
    /// `on`, `off` or `1/N` (N from 2 to 65536).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match text {
            "on" => return Ok(GroupMode::On { sample_every: 1 }),
            "off" => return Ok(GroupMode::Off),
            "duty" => return Ok(GroupMode::Duty),
            _ => {}
        }
        match text.strip_prefix("1/").map(str::parse::<u32>) {
            Some(Ok(n)) if (2..=65536).contains(&n) => Ok(GroupMode::On { sample_every: n }),
            Some(Ok(1)) => Ok(GroupMode::On { sample_every: 1 }),
            _ => Err(format!(
                "bad mode {text:?}: use on, off, or 1/N to count one event in N (N from 2 to 65536), \
                 or duty (pagealloc, slab, memsyscalls: attached part of the time, estimates)"
            )),
        }
    }
}

/// One memory group, opened from its pins.
pub struct MemoryProbe {
    pub(crate) spec: &'static GroupSpec,
    uid: Map,
    other: Map,
    config: Map,
    programs: Vec<(&'static str, Program)>,
    tracefs: Tracefs,
    served: Vec<Result<&'static Source, String>>,
    attachments: Vec<Attachment>,
    /// The duty cycle's estimates, for the groups that have one.
    cycle: Option<duty::Cycle>,
}

/// One read of a group: every UID's slots and the shared bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct GroupSample {
    /// Sorted by UID.
    pub(crate) uids: Vec<(u32, Vec<u64>)>,
    pub(crate) other: Vec<u64>,
    pub(crate) table_entries: u32,
    /// Entries of the per-UID map in use (an estimate's `uids` holds only
    /// UIDs it has counts for).
    pub(crate) table_used: usize,
    /// Estimated groups: per UID, the variance of each metric with a CI
    /// (`duty::ci_metrics`), and of the shared bucket.
    pub(crate) variance: BTreeMap<u32, Vec<u128>>,
    pub(crate) other_variance: Vec<u128>,
}

impl MemoryProbe {
    /// Opens the group's pins under `pin_root`, checks which source serves
    /// each hook on this kernel, writes the params its programs need, applies
    /// the default mode if none was ever set, and attaches if it is on.
    pub(crate) fn open(
        spec: &'static GroupSpec,
        pin_root: &Path,
        tracefs: &Tracefs,
    ) -> Result<Self, String> {
        let map = |suffix: &str, access, value_size| {
            Map::open(
                &map_pin(pin_root, spec.object, &abi::map_name(spec.name, suffix)),
                access,
                4,
                value_size,
            )
            .map_err(|e| e.to_string())
        };
        let uid = map(abi::MAP_UID, Access::ReadOnly, spec.value_size())?;
        let other = map(abi::MAP_OTHER, Access::ReadOnly, spec.value_size())?;
        let config = map(
            abi::MAP_CONFIG,
            Access::ReadWrite,
            std::mem::size_of::<GroupConfig>(),
        )?;
        let mut programs = Vec::new();
        for hook in spec.hooks {
            for source in hook.sources {
                let section = source.section();
                if programs.iter().any(|(s, _)| *s == section) {
                    continue;
                }
                let prog = Program::open(&prog_pin(pin_root, spec.object, section))
                    .map_err(|e| e.to_string())?;
                programs.push((section, prog));
            }
        }
        let opened = [
            (abi::map_name(spec.name, abi::MAP_UID), &uid),
            (abi::map_name(spec.name, abi::MAP_OTHER), &other),
            (abi::map_name(spec.name, abi::MAP_CONFIG), &config),
        ];
        let by_section: Vec<(&str, &Program)> = programs.iter().map(|(s, p)| (*s, p)).collect();
        super::pins::check(pin_root, spec.object, &opened, &by_section)?;
        let params = (spec.params)(tracefs)?;
        let mut probe = MemoryProbe {
            spec,
            uid,
            other,
            config,
            programs,
            tracefs: tracefs.clone(),
            served: Vec::new(),
            attachments: Vec::new(),
            cycle: None,
        };
        let mut c = probe.config().map_err(|e| e.to_string())?;
        let cycled = duty::cycled(spec.name);
        if c.mode == abi::MODE_UNSET || (c.mode == abi::MODE_DUTY && !cycled) {
            c.mode = if cycled {
                abi::MODE_DUTY
            } else if spec.default_on {
                abi::MODE_ON
            } else {
                abi::MODE_OFF
            };
        }
        if !spec.samplable || c.mode == abi::MODE_DUTY {
            c.sample_every = 1;
        }
        // Duty-cycled programs count only while a window is open.
        c.paused = u32::from(c.mode == abi::MODE_DUTY);
        c.param = params;
        probe.write_config(&c)?;
        probe.serve(c.mode == abi::MODE_ON)?;
        if cycled {
            let index = GROUPS.iter().position(|g| g.name == spec.name).unwrap_or(0);
            let on = c.mode == abi::MODE_ON;
            probe.cycle = Some(duty::Cycle::new(index as u64, on, spec.slots()));
        }
        Ok(probe)
    }

    fn config(&self) -> Result<GroupConfig, BpfError> {
        Ok(self
            .config
            .get(&0u32, |t: &mut GroupConfig, v| *t = *v)?
            .unwrap_or_default())
    }

    fn write_config(&self, c: &GroupConfig) -> Result<(), String> {
        self.config.set(&0u32, c).map_err(|e| e.to_string())
    }

    /// Chooses a source for every hook and, if `attach`, attaches it. A
    /// required hook no source can serve makes the group unavailable.
    fn serve(&mut self, attach: bool) -> Result<(), String> {
        self.attachments.clear();
        let mut served = Vec::new();
        for hook in self.spec.hooks {
            let mut why = Vec::new();
            let mut chosen = None;
            for source in hook.sources {
                match self.try_source(source, attach) {
                    Ok(attachment) => {
                        self.attachments.extend(attachment);
                        chosen = Some(source);
                        break;
                    }
                    Err(e) => why.push(e),
                }
            }
            match (chosen, hook.optional) {
                (Some(source), _) => served.push(Ok(source)),
                (None, Some(note)) => served.push(Err(format!("{} ({note})", why.join("; ")))),
                (None, None) => {
                    self.attachments.clear();
                    return Err(why.join("; "));
                }
            }
        }
        self.served = served;
        Ok(())
    }

    fn try_source(
        &self,
        source: &'static Source,
        attach: bool,
    ) -> Result<Option<Attachment>, String> {
        let prog = &self
            .programs
            .iter()
            .find(|(s, _)| *s == source.section())
            .expect("every source's program is opened")
            .1;
        match source {
            Source::Tracepoint {
                event,
                reads,
                layout,
                ..
            } => {
                let format = Format::read(self.tracefs.root(), event).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        format!("no tracepoint {event} in this kernel")
                    } else {
                        format!("cannot read the format of {event}: {e}")
                    }
                })?;
                format.check(reads).map_err(|why| {
                    let layout = if layout.is_empty() {
                        String::new()
                    } else {
                        format!(" ({layout} layout)")
                    };
                    format!("{event}: {}{layout} {why}", source.section())
                })?;
                if !attach {
                    return Ok(None);
                }
                prog.attach_tracepoint(&self.tracefs, event)
                    .map(Some)
                    .map_err(|e| e.to_string())
            }
            Source::PerfSoftware { config, name, .. } => {
                if !attach {
                    return Ok(None);
                }
                prog.attach_perf_software(*config, name)
                    .map(Some)
                    .map_err(|e| e.to_string())
            }
        }
    }

    /// Switches the group: off detaches every program; on writes the
    /// sampling factor, then attaches; duty detaches and leaves the
    /// attaching to the duty cycle.
    pub(crate) fn set_mode(&mut self, mode: GroupMode) -> Result<(), String> {
        if mode == GroupMode::Duty && self.cycle.is_none() {
            return Err(format!(
                "the {} group has no duty cycle (only {}): use on, off or 1/N",
                self.spec.name,
                duty::cycled_names()
            ));
        }
        self.switch_cycle(mode, true)?;
        let mut c = self.config().map_err(|e| e.to_string())?;
        c.paused = 0;
        match mode {
            GroupMode::Off => {
                self.attachments.clear();
                c.mode = abi::MODE_OFF;
                self.write_config(&c)?;
            }
            GroupMode::Duty => {
                self.attachments.clear();
                c.mode = abi::MODE_DUTY;
                c.sample_every = 1;
                c.paused = 1;
                self.write_config(&c)?;
            }
            GroupMode::On { sample_every } => {
                if sample_every > 1 && !self.spec.samplable {
                    return Err(format!(
                        "the {} group cannot be sampled (its events pair up or are rare): use on \
                         or off",
                        self.spec.name
                    ));
                }
                c.mode = abi::MODE_ON;
                c.sample_every = sample_every;
                // Anew at each attach: memsyscalls' session.
                c.param = (self.spec.params)(&self.tracefs)?;
                self.write_config(&c)?;
                self.serve(true)?;
            }
        }
        self.switch_cycle(mode, false)
    }

    pub(crate) fn mode(&self) -> GroupMode {
        match self.config() {
            Ok(c) if c.mode == abi::MODE_DUTY && self.cycle.is_some() => GroupMode::Duty,
            Ok(c) if !self.attachments.is_empty() => GroupMode::On {
                sample_every: c.sample_every.max(1),
            },
            _ => GroupMode::Off,
        }
    }

    /// Peaks (rss) start again when the epoch changes.
    pub(crate) fn set_epoch(&self, epoch: u32) -> Result<(), String> {
        let mut c = self.config().map_err(|e| e.to_string())?;
        if c.epoch != epoch {
            c.epoch = epoch;
            self.write_config(&c)?;
        }
        Ok(())
    }

    /// What the report's probe line says about the hooks.
    pub(crate) fn describe_hooks(&self) -> String {
        self.served
            .iter()
            .map(|s| match s {
                Ok(source) => source.describe(),
                // Why names the event and the kernels that lack it.
                Err(why) => why.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The group's maps by name, for their ids and memory.
    pub(crate) fn maps(&self) -> [(String, &Map); 3] {
        let name = |s| abi::map_name(self.spec.name, s);
        [
            (name(abi::MAP_UID), &self.uid),
            (name(abi::MAP_OTHER), &self.other),
            (name(abi::MAP_CONFIG), &self.config),
        ]
    }

    /// The group's programs by section.
    pub(crate) fn programs(&self) -> impl Iterator<Item = (&'static str, &Program, bool)> {
        self.programs.iter().map(|(section, prog)| {
            let attached = !self.attachments.is_empty()
                && self
                    .served
                    .iter()
                    .any(|s| matches!(s, Ok(src) if src.section() == *section));
            (*section, prog, attached)
        })
    }

    /// The group's counts: what its maps hold or, for a group with a duty
    /// cycle, its estimates (with their variances).
    pub(crate) fn read(&self) -> Result<GroupSample, BpfError> {
        let raw = self.read_raw()?;
        Ok(match &self.cycle {
            Some(cycle) => self.estimated(&raw, cycle),
            None => raw,
        })
    }

    fn read_raw(&self) -> Result<GroupSample, BpfError> {
        let kinds = self.spec.kinds();
        let epoch = self.config()?.epoch as u64;
        let combine = |raw: &PerCpu| combine(&kinds, epoch, raw.copies());
        let size = self.spec.value_size();
        let mut uids: Vec<(u32, Vec<u64>)> = self.uid.entries_with(size, combine)?;
        uids.sort_unstable_by_key(|(uid, _)| *uid);
        let other = self
            .other
            .get_with(&0u32, size, combine)?
            .unwrap_or_else(|| vec![0; kinds.len()]);
        Ok(GroupSample {
            table_used: uids.len(),
            uids,
            other,
            table_entries: self.uid.max_entries(),
            ..GroupSample::default()
        })
    }
}

/// Combines the per-CPU copies of one value: counts summed, peaks the
/// highest among copies of the current epoch, the epoch slot zeroed.
fn combine<'a>(kinds: &[Kind], epoch: u64, copies: impl Iterator<Item = &'a [u8]>) -> Vec<u64> {
    let epoch_slot = kinds.iter().position(|k| *k == Kind::Epoch);
    let mut out = vec![0u64; kinds.len()];
    for copy in copies {
        let slots: Vec<u64> = copy
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        let current = epoch_slot.is_none_or(|i| slots.get(i) == Some(&epoch));
        for ((o, &v), kind) in out.iter_mut().zip(&slots).zip(kinds) {
            match kind {
                Kind::Count => *o = o.saturating_add(v),
                Kind::Peak if current => *o = (*o).max(v),
                Kind::Peak | Kind::Epoch => {}
            }
        }
    }
    out
}

/// Params for groups that need none.
pub(crate) fn no_params(_: &Tracefs) -> Result<[u32; GROUP_PARAMS], String> {
    Ok([0; GROUP_PARAMS])
}

/// The metrics of a stall field (`<prefix>.stalls`, `.ns`, `.unmatched`,
/// `.p50_us`, `.p90_us`, `.p99_us`).
pub(crate) fn stall_metrics(v: &Value, field: &str, prefix: &str, out: &mut Vec<(String, u64)>) {
    let s = v.field(field);
    let get = |i: usize| s.get(i).copied().unwrap_or(0);
    out.push((format!("{prefix}stalls"), get(0)));
    out.push((format!("{prefix}ns"), get(1)));
    out.push((format!("{prefix}unmatched"), get(2)));
    let hist = s.get(3..).unwrap_or(&[]);
    for (label, p) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
        if let Some(us) = percentile(hist, p) {
            out.push((format!("{prefix}{label}_us"), us));
        }
    }
}

/// The fields of a `struct stall_stats` named `name`.
pub(crate) const fn stall(name: &'static str) -> Field {
    count(name, 3 + abi::STALL_BUCKETS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        assert_eq!(
            GroupMode::parse("on"),
            Ok(GroupMode::On { sample_every: 1 })
        );
        assert_eq!(GroupMode::parse("off"), Ok(GroupMode::Off));
        assert_eq!(
            GroupMode::parse("1/16"),
            Ok(GroupMode::On { sample_every: 16 })
        );
        assert_eq!(
            GroupMode::parse("1/1"),
            Ok(GroupMode::On { sample_every: 1 })
        );
        for bad in ["1/0", "1/65537", "2/3", "yes", ""] {
            assert!(
                GroupMode::parse(bad).unwrap_err().contains("bad mode"),
                "{bad}"
            );
        }
    }

    #[test]
    fn combine_sums_counts_and_keeps_current_peaks() {
        let kinds = [Kind::Epoch, Kind::Peak, Kind::Count];
        let copy = |e: u64, p: u64, c: u64| -> Vec<u8> {
            [e, p, c].iter().flat_map(|v| v.to_le_bytes()).collect()
        };
        let (a, b, stale) = (copy(7, 100, 1), copy(7, 300, 2), copy(6, 900, 4));
        let out = combine(&kinds, 7, [&a[..], &b[..], &stale[..]].into_iter());
        assert_eq!(out, vec![0, 300, 7]);
    }

    #[test]
    fn every_group_names_its_metrics_and_columns() {
        for g in GROUPS {
            let names = g.metric_names();
            assert!(!names.is_empty(), "{}", g.name);
            for c in g.columns {
                let full = format!("{}.{}", g.name, c.metric);
                assert!(
                    names.contains(&full),
                    "{} column {full} is no metric",
                    g.name
                );
            }
            for hook in g.hooks {
                assert!(!hook.sources.is_empty(), "{}", g.name);
            }
        }
    }
}

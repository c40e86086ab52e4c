//! What describes a memory group: its value layout ([`Field`]), hooks and
//! their sources, table columns, and the [`GroupSpec`] that ties them to
//! named metrics.

use super::{faults, rss};
use crate::abi::memory::GROUP_PARAMS;
use crate::bpf::Tracefs;
use crate::probes::format::Read;

/// How a slot combines over CPUs and over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A counter: summed over CPUs; a window is now minus the baseline.
    Count,
    /// A highest value: the maximum over CPUs; a window is its value now
    /// (peaks start again with each generation, through the epoch).
    Peak,
    /// The epoch a CPU's peaks belong to: copies of another epoch are stale.
    Epoch,
}

/// A field of a group's C value struct: `slots` u64s.
pub struct Field {
    pub(crate) name: &'static str,
    /// How many u64 slots it has: 1 for a scalar, N for an array.
    pub slots: usize,
    pub(crate) kind: Kind,
}

pub(crate) const fn count(name: &'static str, slots: usize) -> Field {
    Field {
        name,
        slots,
        kind: Kind::Count,
    }
}

pub(crate) const fn peak(name: &'static str, slots: usize) -> Field {
    Field {
        name,
        slots,
        kind: Kind::Peak,
    }
}

/// Where a hook's events come from.
pub enum Source {
    /// A tracepoint program, usable where the event exists and its record
    /// has every field the program reads, where it reads it.
    Tracepoint {
        /// The tracepoint, `category/event`.
        event: &'static str,
        /// The program's section in the group's object.
        section: &'static str,
        /// Every record field the program reads, at the offset and size it reads.
        reads: &'static [Read],
        /// The kernels whose layout this is, for the report.
        layout: &'static str,
    },
    /// A `perf_event/` program on a software event, one perf event per CPU.
    PerfSoftware {
        /// `PERF_COUNT_SW_*`: which software event.
        config: u64,
        /// The event's name, for the report and errors.
        name: &'static str,
        /// The program's section in the group's object.
        section: &'static str,
    },
}

impl Source {
    pub(super) fn section(&self) -> &'static str {
        match self {
            Source::Tracepoint { section, .. } | Source::PerfSoftware { section, .. } => section,
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Source::Tracepoint {
                event, layout: "", ..
            } => (*event).to_owned(),
            Source::Tracepoint { event, layout, .. } => format!("{event} ({layout} layout)"),
            Source::PerfSoftware { name, .. } => format!("perf software event {name}"),
        }
    }
}

/// One thing a group attaches to; the first of its sources that this kernel
/// can serve is used.
pub struct Hook {
    /// The programs that can serve it, in order of preference.
    pub sources: &'static [Source],
    /// Set for a hook some kernels lack (the text says which); the rest of
    /// the group works without it.
    pub(crate) optional: Option<&'static str>,
}

/// A column of a group's text table.
#[derive(Debug)]
pub(crate) struct Column {
    pub(crate) header: &'static str,
    pub(crate) metric: &'static str,
    pub(crate) unit: Unit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Count,
    Bytes,
    KiB,
    Pages,
    Ns,
    Us,
    /// Thousandths, printed as a percentage.
    Permille,
}

/// One memory probe group: its BPF object, value layout, hooks, default and
/// how its slots become metrics and a text table.
pub struct GroupSpec {
    /// Section, metric prefix and `--probe` name.
    pub name: &'static str,
    /// Its object's name, `memStat<Group>` (file name without `.o`).
    pub object: &'static str,
    pub(crate) title: &'static str,
    /// The fields of its per-UID C value struct, in order.
    pub fields: &'static [Field],
    /// What it attaches to.
    pub hooks: &'static [Hook],
    /// Whether the group runs unless switched off; hot groups whose cost
    /// exceeds the budget ship off (README: cost per event).
    pub(crate) default_on: bool,
    /// Whether `--probe NAME=1/N` may sample it (stall pairs cannot be).
    pub samplable: bool,
    /// Params the programs need (written at open and at each switch on), or
    /// why the group cannot run here.
    pub(crate) params: fn(&Tracefs) -> Result<[u32; GROUP_PARAMS], String>,
    /// Named metrics of one UID's slots (without the group prefix).
    pub(crate) metrics: fn(&Value) -> Vec<(String, u64)>,
    /// The text table; the first column orders it.
    pub(crate) columns: &'static [Column],
}

impl GroupSpec {
    /// The fields the task-counter source (`crate::tasks`) fills, after
    /// those of the BPF value: the group's default source where it has any.
    pub(crate) fn task_fields(&self) -> &'static [Field] {
        match self.name {
            "faults" => faults::TASK_FIELDS,
            "rss" => rss::TASK_FIELDS,
            _ => &[],
        }
    }

    /// The fields the per-app memory cgroup source (`crate::memcg`) fills,
    /// after the task fields, where the platform has such cgroups.
    pub(crate) fn memcg_fields(&self) -> &'static [Field] {
        match self.name {
            "rss" => rss::MEMCG_FIELDS,
            _ => &[],
        }
    }

    /// The slot that says a value holds the memcg source's numbers (its
    /// first field), where the group has any.
    pub(crate) fn memcg_seen_slot(&self) -> Option<usize> {
        let first = self.memcg_fields().first()?;
        self.slot_range(first.name).map(|r| r.start)
    }

    fn all_fields(&self) -> impl Iterator<Item = &'static Field> {
        let sources = self.task_fields().iter().chain(self.memcg_fields());
        self.fields.iter().chain(sources)
    }

    /// u64 slots of one UID's value: the BPF value's, then the task
    /// fields', then the memcg fields'.
    pub(crate) fn slots(&self) -> usize {
        self.all_fields().map(|f| f.slots).sum()
    }

    /// Size of one UID's BPF value, in bytes.
    pub fn value_size(&self) -> usize {
        self.fields.iter().map(|f| f.slots).sum::<usize>() * 8
    }

    /// The kind of every slot, in order.
    pub(crate) fn kinds(&self) -> Vec<Kind> {
        self.all_fields()
            .flat_map(|f| std::iter::repeat_n(f.kind, f.slots))
            .collect()
    }

    pub(super) fn slot_range(&self, field: &str) -> Option<std::ops::Range<usize>> {
        let mut at = 0;
        for f in self.all_fields() {
            if f.name == field {
                return Some(at..at + f.slots);
            }
            at += f.slots;
        }
        None
    }

    /// A view of one UID's slots.
    pub(crate) fn value<'a>(&'static self, slots: &'a [u64]) -> Value<'a> {
        Value { spec: self, slots }
    }

    /// Every metric the group can produce (for `--fail-if` checks).
    pub(crate) fn metric_names(&'static self) -> Vec<String> {
        let ones = vec![1; self.slots()];
        (self.metrics)(&Value {
            spec: self,
            slots: &ones,
        })
        .into_iter()
        .map(|(name, _)| format!("{}.{name}", self.name))
        .collect()
    }

    /// `<group>.<metric>` of one UID's slots.
    pub(crate) fn named_metrics(&'static self, slots: &[u64]) -> Vec<(String, u64)> {
        (self.metrics)(&Value { spec: self, slots })
            .into_iter()
            .map(|(name, v)| (format!("{}.{name}", self.name), v))
            .collect()
    }
}

/// One UID's slots, read by field name.
pub(crate) struct Value<'a> {
    spec: &'static GroupSpec,
    slots: &'a [u64],
}

impl Value<'_> {
    /// The slots of `field` (empty if the field is unknown or the value
    /// short: values can come from files).
    pub(crate) fn field(&self, field: &str) -> &[u64] {
        debug_assert!(self.spec.slot_range(field).is_some(), "no field {field}");
        self.spec
            .slot_range(field)
            .and_then(|r| self.slots.get(r))
            .unwrap_or(&[])
    }

    pub(crate) fn one(&self, field: &str) -> u64 {
        self.field(field).first().copied().unwrap_or(0)
    }
}

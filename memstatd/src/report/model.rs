//! What a dump shows, as data: the text and JSON renderers both read these
//! structures, so the two can never disagree. Field names are the JSON
//! schema's (`docs/json.md`) and are stable within a schema version.

use crate::advisor::Advice;
use crate::math::{percentile, saturating_sum};
use crate::probes::memory;
use crate::probes::syscalls::syscall_name;
use crate::stats::counters::{Counters, Histogram, Overflow};
use crate::stats::diff::{Change, Kind, NotCompared};
use crate::stats::metrics::{Undetermined, PERCENTILES};
use crate::stats::state::{GenerationInfo, SnapshotMeta};
use crate::system::reading::Root;
use crate::system::view::SystemView;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The schema every JSON output names in its `schema` field.
pub const SCHEMA: &str = "memstat/1";

/// Who sees the aggregates over every UID that a caller seeing only its own
/// UID does not: the buckets of no UID and `/proc/pagetypeinfo`.
pub(crate) const WITHHELD: &str = if cfg!(target_os = "android") {
    "root, system, shell and holders of android.permission.DUMP only"
} else {
    "root only"
};

/// The sections of a report, in print order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Section {
    /// Kernel, mode, uptime, generation and window.
    Header,
    /// Each probe group's status: live, off or unavailable, and why.
    Probes,
    /// Per-UID syscall and error totals, with each UID's top syscalls.
    Uids,
    /// Per-UID counts of every syscall (`-a` or `--section syscalls`).
    Syscalls,
    /// Per-UID syscall latency percentiles (latency mode).
    Latency,
    /// Calls the tables had no room for, and dropped start times.
    Overflow,
    /// The memory group `memory::GROUPS[i]`.
    Memory(usize),
    /// The system memory view: every /proc and /sys reading, computed indexes
    /// and recent vmstat rates.
    System,
    /// Tuning findings, each with the evidence that triggered it.
    Advice,
    /// memstatd's own cost (`self`): its RSS, its maps' memory and its
    /// programs' run counts.
    Daemon,
}

impl Section {
    /// Every section, in print order.
    pub(crate) fn all() -> Vec<Section> {
        let mut all = vec![
            Section::Header,
            Section::Probes,
            Section::Uids,
            Section::Syscalls,
            Section::Latency,
            Section::Overflow,
        ];
        all.extend((0..memory::GROUPS.len()).map(Section::Memory));
        all.extend([Section::System, Section::Advice, Section::Daemon]);
        all
    }

    /// What a dump without `-a` or `--section` shows.
    pub(crate) fn defaults() -> Vec<Section> {
        Section::all()
            .into_iter()
            .filter(|s| !matches!(s, Section::Syscalls | Section::Latency))
            .collect()
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Section::Header => "header",
            Section::Probes => "probes",
            Section::Uids => "uids",
            Section::Syscalls => "syscalls",
            Section::Latency => "latency",
            Section::Overflow => "overflow",
            Section::Memory(i) => memory::GROUPS[i].name,
            Section::System => "system",
            Section::Advice => "advice",
            Section::Daemon => "self",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Self> {
        Section::all().into_iter().find(|s| s.name() == name)
    }
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct Header {
    pub(crate) kernel: String,
    pub(crate) arch: &'static str,
    /// `host` or `device`.
    pub(crate) mode: &'static str,
    pub(crate) uptime_s: f64,
    pub(crate) generated_ms: u64,
    pub(crate) generation: GenerationInfo,
    pub(crate) window: Window,
    pub(crate) latency_mode: bool,
    /// What is wrong with the state directory, when something is: state
    /// changes fail, and the generation may not be on disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) state: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Window {
    pub(crate) start_ms: u64,
    pub(crate) end_ms: u64,
}

/// One probe group's status line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ProbeStatus {
    pub(crate) group: String,
    /// `live`, `off` or `unavailable`.
    pub(crate) state: &'static str,
    /// One event in this many is counted (as that many); memory groups only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sample_every: Option<u32>,
    pub(crate) detail: String,
}

/// One memory group's section.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct GroupView {
    pub(crate) group: &'static str,
    pub(crate) title: &'static str,
    /// `live`, `off` or `unavailable`.
    pub(crate) state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) sample_every: Option<u32>,
    /// Why the group has no numbers (unavailable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) why: Option<String>,
    /// What its numbers are: `exact`, `exact, brackets` (some metrics are
    /// `X.lo`..`X.hi`) or `estimates` (metrics with `X.ci95`).
    pub(crate) numbers: &'static str,
    /// The duty cycle its estimates come from; absent when it is not cycled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) duty: Option<DutyView>,
    #[serde(skip)]
    pub(crate) columns: &'static [memory::Column],
    /// Rows shown, ordered by the first column, and how many UIDs had any.
    pub(crate) uids: Vec<GroupRow>,
    pub(crate) uids_total: usize,
    /// UIDs that found the table full, together; `None` where withheld.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) other: Option<BTreeMap<String, u64>>,
    /// Entries in use; `None` where withheld.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) table_used: Option<usize>,
    pub(crate) table_entries: u32,
}

/// A duty cycle: attached `window_ms` in every `period_ms`, at a random
/// phase.
#[derive(Clone, Copy, Debug, Serialize)]
pub(crate) struct DutyView {
    pub(crate) window_ms: u64,
    pub(crate) period_ms: u64,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct GroupRow {
    pub(crate) uid: u32,
    pub(crate) name: Option<String>,
    pub(crate) metrics: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct CallRow {
    pub(crate) nr: u32,
    pub(crate) name: Cow<'static, str>,
    pub(crate) count: u64,
    pub(crate) errors: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Latency {
    pub(crate) samples: u64,
    pub(crate) p50_ns: u64,
    pub(crate) p90_ns: u64,
    pub(crate) p99_ns: u64,
    /// Bucket `b` counts samples in `[2^b, 2^(b+1))` ns; the last is open-ended.
    pub(crate) buckets: Vec<u64>,
}

impl Latency {
    pub(crate) fn from_hist(hist: &Histogram) -> Option<Self> {
        let [p50, p90, p99] = PERCENTILES.map(|(_, p)| percentile(hist, p));
        Some(Latency {
            samples: saturating_sum(hist),
            p50_ns: p50?,
            p90_ns: p90?,
            p99_ns: p99?,
            buckets: hist.to_vec(),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct UidRow {
    pub(crate) uid: u32,
    pub(crate) name: Option<String>,
    pub(crate) syscalls: u64,
    pub(crate) errors: u64,
    /// Every syscall of the UID, most frequent first.
    pub(crate) calls: Vec<CallRow>,
    pub(crate) latency: Option<Latency>,
}

impl UidRow {
    pub(crate) fn p(&self, label: &str) -> u64 {
        self.latency.as_ref().map_or(0, |l| match label {
            "p50" => l.p50_ns,
            "p90" => l.p90_ns,
            _ => l.p99_ns,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct OverflowView {
    #[serde(flatten)]
    pub(crate) counters: Overflow,
    /// Capacity of the (UID, syscall) table and entries in use.
    pub(crate) table_entries: u32,
    pub(crate) table_used: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct MapUsage {
    pub(crate) name: String,
    pub(crate) memlock_bytes: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ProgUsage {
    pub(crate) section: String,
    pub(crate) attached: bool,
    pub(crate) run_count: Option<u64>,
    pub(crate) avg_ns: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct DaemonView {
    pub(crate) pid: u32,
    pub(crate) rss_bytes: Option<u64>,
    pub(crate) peak_rss_bytes: Option<u64>,
    pub(crate) map_bytes: u64,
    pub(crate) maps: Vec<MapUsage>,
    /// `kernel.bpf_stats_enabled`: run counts and times only when true.
    pub(crate) bpf_stats_enabled: Option<bool>,
    pub(crate) programs: Vec<ProgUsage>,
}

/// A whole report; `None` sections were not asked for.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub(crate) schema: &'static str,
    pub(crate) kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) header: Option<Header>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) probes: Option<Vec<ProbeStatus>>,
    /// Rows shown (after `--uid`, `--sort` and `--top`), and how many UIDs
    /// there were before `--top`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) uids: Option<Vec<UidRow>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) uids_total: Option<usize>,
    /// Why there are no `uids` or `overflow` though they were asked for:
    /// the syscall group could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) syscalls_unavailable: Option<String>,
    #[serde(skip)]
    pub(crate) sorted_by: &'static str,
    #[serde(skip)]
    pub(crate) show_calls: bool,
    #[serde(skip)]
    pub(crate) show_latency: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) overflow: Option<OverflowView>,
    /// The memory groups' sections that were asked for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) memory: Vec<GroupView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) system: Option<SystemView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) advice: Option<Advice>,
    #[serde(rename = "self", skip_serializing_if = "Option::is_none")]
    pub(crate) daemon: Option<DaemonView>,
    /// `--fail-if` thresholds crossed (empty without `--fail-if`), the
    /// first [`MAX_LISTED_CROSSINGS`] of `failed_total`.
    pub(crate) failed: Vec<Crossing>,
    pub(crate) failed_total: usize,
    /// Thresholds whose metric's interval lies on both sides of the bound,
    /// the first [`MAX_LISTED_CROSSINGS`] of `straddling_total`.
    pub(crate) straddling: Vec<Crossing>,
    pub(crate) straddling_total: usize,
    /// `--fail-if` thresholds the buckets of no UID leave undecided.
    pub(crate) undetermined: Vec<Undetermined>,
    /// What was left out because the caller sees only its own UID.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) withheld: Vec<&'static str>,
}

impl Report {
    /// Leaves out what adds up every UID's activity, for a caller that sees
    /// only its own UID: the syscall group's overflow, each memory group's
    /// `other` bucket and table use, how much a gate could not see, and
    /// `/proc/pagetypeinfo` (root's alone: mode 0400).
    pub(crate) fn withhold_aggregates(&mut self) {
        if self.overflow.take().is_some() {
            self.withheld.push("overflow");
        }
        for g in &mut self.memory {
            let other = g.other.take().is_some();
            if g.table_used.take().is_some() || other {
                self.withheld.push("memory.other");
            }
        }
        for u in &mut self.undetermined {
            u.lost = None;
        }
        if let Some(s) = &mut self.system {
            let why = format!("withheld: {WITHHELD}");
            s.pagetypes = Root::default().withheld("proc/pagetypeinfo", &why);
            self.withheld.push("system.pagetypes");
        }
        self.withheld.dedup();
    }
}

/// Marks the groups a reading could not read `unavailable`, with why.
pub(crate) fn mark_unread(probes: &mut [ProbeStatus], missing: &BTreeMap<String, String>) {
    for p in probes {
        if let Some(why) = missing.get(&p.group) {
            p.state = "unavailable";
            p.detail.clone_from(why);
            p.sample_every = None;
        }
    }
}

/// The columns `--sort` accepts, with the order each sorts in.
pub(crate) const SORT_COLUMNS: [&str; 7] =
    ["syscalls", "errors", "uid", "name", "p50", "p90", "p99"];

/// The per-UID rows of `window`: every UID in it plus every UID of `wanted`
/// (shown with zeros when idle), sorted by `sort` (numbers high first; uid
/// and name ascending). Built in one pass over the (uid, nr)-ordered window:
/// with thousands of UIDs this is most of a dump's memory.
pub(crate) fn uid_rows(
    window: &Counters,
    wanted: &[u32],
    name_of: &dyn Fn(u32) -> Option<String>,
    sort: &str,
) -> Vec<UidRow> {
    let row = |uid| UidRow {
        uid,
        name: name_of(uid),
        syscalls: 0,
        errors: 0,
        calls: Vec::new(),
        latency: None,
    };
    let mut rows: Vec<UidRow> = Vec::new();
    for (&(uid, nr), c) in &window.syscalls {
        if rows.last().is_none_or(|r| r.uid != uid) {
            rows.push(row(uid));
        }
        let r = rows.last_mut().expect("pushed");
        r.syscalls = r.syscalls.saturating_add(c.count);
        r.errors = r.errors.saturating_add(c.errors);
        r.calls.push(CallRow {
            nr,
            name: syscall_name(nr),
            count: c.count,
            errors: c.errors,
        });
    }
    let known = |rows: &[UidRow], uid| rows.binary_search_by_key(&uid, |r| r.uid);
    let mut extra: Vec<u32> = window.latency.keys().chain(wanted).copied().collect();
    extra.sort_unstable();
    extra.dedup();
    extra.retain(|&uid| known(&rows, uid).is_err());
    rows.extend(extra.into_iter().map(row));
    rows.sort_by_key(|r| r.uid);
    for (uid, hist) in &window.latency {
        if let Ok(i) = known(&rows, *uid) {
            rows[i].latency = Latency::from_hist(hist);
        }
    }
    for r in &mut rows {
        r.calls.shrink_to_fit();
        r.calls
            .sort_by(|a, b| b.count.cmp(&a.count).then(a.nr.cmp(&b.nr)));
    }
    sort_rows(&mut rows, sort);
    rows
}

fn sort_rows(rows: &mut [UidRow], sort: &str) {
    match sort {
        "uid" => rows.sort_by_key(|r| r.uid),
        "name" => rows.sort_by(|a, b| (&a.name, a.uid).cmp(&(&b.name, b.uid))),
        "errors" => rows.sort_by(|a, b| b.errors.cmp(&a.errors).then(a.uid.cmp(&b.uid))),
        "p50" | "p90" | "p99" => {
            rows.sort_by(|a, b| b.p(sort).cmp(&a.p(sort)).then(a.uid.cmp(&b.uid)))
        }
        _ => rows.sort_by(|a, b| b.syscalls.cmp(&a.syscalls).then(a.uid.cmp(&b.uid))),
    }
}

/// `--diff`: one side's description.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct DiffSide {
    pub(crate) label: String,
    pub(crate) taken_ms: u64,
    pub(crate) generation: GenerationInfo,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct UidDiff {
    pub(crate) uid: u32,
    pub(crate) name: Option<String>,
    pub(crate) changes: Vec<Change>,
}

/// Crossings listed at most: enough to act on, bounded whatever the number
/// of thresholds and UIDs.
pub(crate) const MAX_LISTED_CROSSINGS: usize = 100;

/// A `--fail-if` threshold that a UID's metric crossed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Crossing {
    pub(crate) threshold: String,
    pub(crate) uid: u32,
    pub(crate) metric: String,
    pub(crate) from: Option<u64>,
    pub(crate) to: u64,
    /// The interval of what the threshold compared (value, change or
    /// percent change) where a side is an estimate or a bracket; `None`
    /// where both are exact.
    pub(crate) range: Option<[f64; 2]>,
}

#[derive(Clone, Debug, Serialize)]
pub(crate) struct DiffReport {
    pub(crate) schema: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) diff: Kind,
    pub(crate) from: DiffSide,
    pub(crate) to: DiffSide,
    pub(crate) uids: Vec<UidDiff>,
    pub(crate) uids_total: usize,
    /// The buckets of no UID, from one side to the other.
    pub(crate) unattributed: Vec<Change>,
    /// Groups one side has no counts of.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) not_compared: Vec<NotCompared>,
    pub(crate) failed: Vec<Crossing>,
    pub(crate) failed_total: usize,
    pub(crate) straddling: Vec<Crossing>,
    pub(crate) straddling_total: usize,
    pub(crate) undetermined: Vec<Undetermined>,
}

/// `--list-snapshots`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SnapshotList {
    pub(crate) schema: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) current_generation: GenerationInfo,
    pub(crate) snapshots: Vec<SnapshotMeta>,
}

/// The answer to an action (`--reset`, `--snapshot`, `--delete-snapshot`,
/// `--latency`).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct ActionDone {
    pub(crate) schema: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    pub(crate) generation: GenerationInfo,
}

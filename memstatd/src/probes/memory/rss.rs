//! RSS per UID.
//!
//! By default from the processes' own counters (`crate::tasks`): RSS now by
//! type (`anon`, `file`, `shmem`, `total`: the sum over the UID's processes
//! at the last read, exact at that read up to the kernel's per-CPU counter
//! error) and the UID's peak since the generation began as a bracket
//! (`peak.lo`, `peak.hi`; `crate::tasks` says why it holds).
//!
//! Where apps run in per-app memory cgroups (`crate::memcg`), also the
//! bytes the memory controller charges to each UID's cgroups at the report:
//! `charged.anon`, `charged.file`, `charged.shmem` and `charged.total`
//! (all charged bytes, kernel memory too where it is accounted), for the
//! UIDs that have one, none for the others. Charged is not resident: a file
//! page is charged to the cgroup that first read it, and stays charged while
//! cached after its last mapping goes.
//!
//! For an investigation, `--probe rss=on` also attaches memStatRss at full
//! rate (`kmem:rss_stat`, every RSS change from 6.2 on): the highest RSS of
//! one of the UID's processes, by type (file, anon, swap entries, shmem) and
//! in total (file + anon + shmem), since the generation began
//! (`process_peak.*`): memstatd sets the programs' epoch to the generation,
//! so `--reset` starts the peaks again.

use super::{peak, Column, Field, GroupSpec, Hook, Kind, Source, Unit, Value};
use crate::abi::memory::{GROUP_PARAMS, RSS_MEMBERS};
use crate::bpf::Tracefs;
use crate::probes::format::{read, Format};

/// `mm_counter` members, unchanged from 5.10 to 6.18.
const MEMBERS: [&str; RSS_MEMBERS] = [
    "MM_FILEPAGES",
    "MM_ANONPAGES",
    "MM_SWAPENTS",
    "MM_SHMEMPAGES",
];
const NAMES: [&str; RSS_MEMBERS] = ["file", "anon", "swap", "shmem"];

pub(crate) static SPEC: GroupSpec = GroupSpec {
    name: "rss",
    object: "memStatRss",
    title: "RSS",
    fields: &[
        Field {
            name: "epoch",
            slots: 1,
            kind: Kind::Epoch,
        },
        Field {
            name: "peak",
            slots: RSS_MEMBERS,
            kind: Kind::Peak,
        },
        Field {
            name: "peak_total",
            slots: 1,
            kind: Kind::Peak,
        },
    ],
    hooks: &[Hook {
        sources: &[Source::Tracepoint {
            event: "kmem/rss_stat",
            section: "tracepoint/kmem/rss_stat",
            reads: &[
                read("mm_id", 8, 4),
                read("curr", 12, 4),
                read("member", 16, 4),
                read("size", 24, 8),
            ],
            layout: "",
        }],
        optional: None,
    }],
    default_on: false,
    samplable: true,
    params,
    metrics,
    columns: &[
        Column {
            header: "PEAK HI",
            metric: "peak.hi",
            unit: Unit::Bytes,
        },
        Column {
            header: "PEAK LO",
            metric: "peak.lo",
            unit: Unit::Bytes,
        },
        Column {
            header: "RSS",
            metric: "total",
            unit: Unit::Bytes,
        },
        Column {
            header: "ANON",
            metric: "anon",
            unit: Unit::Bytes,
        },
        Column {
            header: "FILE",
            metric: "file",
            unit: Unit::Bytes,
        },
        Column {
            header: "SHMEM",
            metric: "shmem",
            unit: Unit::Bytes,
        },
        Column {
            header: "CHARGED",
            metric: "charged.total",
            unit: Unit::Bytes,
        },
    ],
};

/// No params; checks the kernel numbers the RSS types as the programs do.
fn params(tracefs: &Tracefs) -> Result<[u32; GROUP_PARAMS], String> {
    let event = "kmem/rss_stat";
    let format = Format::read(tracefs.root(), event).map_err(|e| e.to_string())?;
    for (value, name) in format.symbols("member").unwrap_or_default() {
        let known = usize::try_from(value).ok().and_then(|v| MEMBERS.get(v));
        if known != Some(&name.as_str()) {
            return Err(format!(
                "{event}: member {value} is {name} in this kernel, memstat knows it as {}",
                known.unwrap_or(&"nothing")
            ));
        }
    }
    Ok([0; GROUP_PARAMS])
}

/// The task-counter source's slots: bytes now (anon, file, shmem) and the
/// peak bracket (lo, hi); values of the moment, like peaks.
pub(crate) static TASK_FIELDS: &[Field] = &[peak("now", 3), peak("bracket", 2)];

/// The memcg source's slots: whether the UID has a cgroup now, then bytes
/// charged (anon, file, shmem, all); values of the moment.
pub(crate) static MEMCG_FIELDS: &[Field] = &[peak("charged_seen", 1), peak("charged", 4)];

const CHARGED: [&str; 4] = ["anon", "file", "shmem", "total"];

fn metrics(v: &Value) -> Vec<(String, u64)> {
    let now = v.field("now");
    let get = |s: &[u64], i: usize| s.get(i).copied().unwrap_or(0);
    let mut out: Vec<(String, u64)> = ["anon", "file", "shmem"]
        .iter()
        .enumerate()
        .map(|(i, name)| ((*name).to_owned(), get(now, i)))
        .collect();
    out.push((
        "total".into(),
        now.iter().fold(0, |a: u64, &b| a.saturating_add(b)),
    ));
    let bracket = v.field("bracket");
    out.push(("peak.lo".into(), get(bracket, 0)));
    // u64::MAX: no bound is known (crate::tasks::book), so none is shown.
    if get(bracket, 1) != u64::MAX {
        out.push(("peak.hi".into(), get(bracket, 1)));
    }
    out.extend(
        NAMES
            .iter()
            .zip(v.field("peak"))
            .map(|(name, &b)| (format!("process_peak.{name}"), b)),
    );
    out.push(("process_peak.total".into(), v.one("peak_total")));
    if v.one("charged_seen") == 1 {
        out.extend(
            CHARGED
                .iter()
                .zip(v.field("charged"))
                .map(|(name, &b)| (format!("charged.{name}"), b)),
        );
    }
    out
}

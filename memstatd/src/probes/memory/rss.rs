//! memStatRss: RSS peaks per UID (`kmem:rss_stat`): the highest RSS of one
//! of the UID's processes, by type (file, anon, swap entries, shmem) and in
//! total (file + anon + shmem), since the generation began: memstatd sets
//! the programs' epoch to the generation, so `--reset` starts the peaks
//! again. Peaks are a process's, not the sum over the UID's processes.

use super::{Column, Field, GroupSpec, Hook, Kind, Source, Unit, Value};
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
    title: "RSS peaks",
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
            header: "PEAK RSS",
            metric: "peak_total",
            unit: Unit::Bytes,
        },
        Column {
            header: "ANON",
            metric: "peak_anon",
            unit: Unit::Bytes,
        },
        Column {
            header: "FILE",
            metric: "peak_file",
            unit: Unit::Bytes,
        },
        Column {
            header: "SHMEM",
            metric: "peak_shmem",
            unit: Unit::Bytes,
        },
        Column {
            header: "SWAP",
            metric: "peak_swap",
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

fn metrics(v: &Value) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = NAMES
        .iter()
        .zip(v.field("peak"))
        .map(|(name, &b)| (format!("peak_{name}"), b))
        .collect();
    out.push(("peak_total".into(), v.one("peak_total")));
    out
}

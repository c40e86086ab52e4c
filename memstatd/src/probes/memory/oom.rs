//! memStatOom: OOM kills per UID (`oom:mark_victim`): kills of the UID's
//! processes with their RSS at the kill, and kills the UID's allocations
//! triggered. The record carries the victim's UID from 6.9 and in the 2025
//! LTS backports (5.10.235, 6.1.130, 5.15 and 6.6 kernels of that time); some
//! Android common kernels have their own layout with it. Older layouts name
//! only the pid, which cannot be attributed: there the group is unavailable,
//! and the report says why.

use super::{count, no_params, peak, Column, GroupSpec, Hook, Source, Unit, Value};
use crate::probes::format::read;

pub(crate) static SPEC: GroupSpec = GroupSpec {
    name: "oom",
    object: "memStatOom",
    title: "OOM kills",
    fields: &[
        count("kills", 1),
        count("anon_kb", 1),
        count("file_kb", 1),
        count("shmem_kb", 1),
        peak("max_rss_kb", 1),
        count("invoked", 1),
    ],
    hooks: &[Hook {
        sources: &[
            Source::Tracepoint {
                event: "oom/mark_victim",
                section: "tracepoint/oom/mark_victim",
                reads: &[
                    read("anon_rss", 24, 8),
                    read("file_rss", 32, 8),
                    read("shmem_rss", 40, 8),
                    read("uid", 48, 4),
                ],
                layout: "6.9 and later",
            },
            Source::Tracepoint {
                event: "oom/mark_victim",
                section: "tracepoint/oom/mark_victim_ack",
                reads: &[read("process_name", 12, 16), read("uid", 32, 4)],
                layout: "Android common kernel",
            },
        ],
        optional: None,
    }],
    default_on: true,
    samplable: false,
    params: no_params,
    metrics,
    columns: &[
        Column {
            header: "KILLED",
            metric: "kills",
            unit: Unit::Count,
        },
        Column {
            header: "LARGEST RSS",
            metric: "max_rss_kb",
            unit: Unit::KiB,
        },
        Column {
            header: "ANON",
            metric: "anon_kb",
            unit: Unit::KiB,
        },
        Column {
            header: "FILE",
            metric: "file_kb",
            unit: Unit::KiB,
        },
        Column {
            header: "SHMEM",
            metric: "shmem_kb",
            unit: Unit::KiB,
        },
        Column {
            header: "TRIGGERED",
            metric: "invoked",
            unit: Unit::Count,
        },
    ],
};

fn metrics(v: &Value) -> Vec<(String, u64)> {
    [
        "kills",
        "invoked",
        "anon_kb",
        "file_kb",
        "shmem_kb",
        "max_rss_kb",
    ]
    .iter()
    .map(|f| ((*f).to_owned(), v.one(f)))
    .collect()
}

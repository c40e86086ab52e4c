//! memStatFaults: page faults per UID, minor and major. Every fault comes
//! from `exceptions:page_fault_user` where the kernel has it (x86: faults
//! taken in user mode), else from the perf software event `page-faults`
//! (arm64: every fault in the task's context, kernel-mode faults on user
//! memory included); major faults from the perf software event
//! `major-faults` on every architecture. Minor is every fault less major.

use super::{count, no_params, Column, GroupSpec, Hook, Source, Unit, Value};

const PERF_COUNT_SW_PAGE_FAULTS: u64 = 2;
const PERF_COUNT_SW_PAGE_FAULTS_MAJ: u64 = 6;

pub(crate) static SPEC: GroupSpec = GroupSpec {
    name: "faults",
    object: "memStatFaults",
    title: "page faults",
    fields: &[count("faults", 1), count("major", 1)],
    hooks: &[
        Hook {
            sources: &[
                Source::Tracepoint {
                    event: "exceptions/page_fault_user",
                    section: "tracepoint/exceptions/page_fault_user",
                    reads: &[],
                    layout: "",
                },
                Source::PerfSoftware {
                    config: PERF_COUNT_SW_PAGE_FAULTS,
                    name: "page-faults",
                    section: "perf_event/page_faults",
                },
            ],
            optional: None,
        },
        Hook {
            sources: &[Source::PerfSoftware {
                config: PERF_COUNT_SW_PAGE_FAULTS_MAJ,
                name: "major-faults",
                section: "perf_event/major_faults",
            }],
            optional: Some("major faults are not counted: every fault shows as minor"),
        },
    ],
    default_on: false,
    samplable: true,
    params: no_params,
    metrics,
    columns: &[
        Column {
            header: "FAULTS",
            metric: "faults",
            unit: Unit::Count,
        },
        Column {
            header: "MINOR",
            metric: "minor",
            unit: Unit::Count,
        },
        Column {
            header: "MAJOR",
            metric: "major",
            unit: Unit::Count,
        },
    ],
};

fn metrics(v: &Value) -> Vec<(String, u64)> {
    let (faults, major) = (v.one("faults"), v.one("major"));
    vec![
        ("faults".into(), faults),
        ("minor".into(), faults.saturating_sub(major)),
        ("major".into(), major),
    ]
}

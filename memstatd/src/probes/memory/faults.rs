//! Page faults per UID, minor and major.
//!
//! By default, exactly and at no cost per fault, from the kernel's own
//! per-task counters (`crate::tasks`): `minor`, `major`.
//!
//! For an investigation, `--probe faults=on` also attaches memStatFaults'
//! per-event programs, at full rate (`events.*`): every fault from
//! `exceptions:page_fault_user` where the kernel has it (x86: faults taken
//! in user mode), else from the perf software event `page-faults` (arm64:
//! every fault in the task's context, kernel-mode faults on user memory
//! included); major faults from the perf software event `major-faults` on
//! every architecture; minor is every fault less major. They attribute each
//! fault to the UID of the moment it happened, where the task counters
//! attribute a process's faults to the UID it had when read or at its exit.

use super::{count, no_params, Column, Field, GroupSpec, Hook, Source, Unit, Value};

const PERF_COUNT_SW_PAGE_FAULTS: u64 = 2;
const PERF_COUNT_SW_PAGE_FAULTS_MAJ: u64 = 6;

pub(crate) static SPEC: GroupSpec = GroupSpec {
    name: "faults",
    object: "memStatFaults",
    title: "page faults",
    fields: &[count("events", 1), count("events_major", 1)],
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

/// The task-counter source's slots: minor and major faults.
pub(crate) static TASK_FIELDS: &[Field] = &[count("minor", 1), count("major", 1)];

fn metrics(v: &Value) -> Vec<(String, u64)> {
    let (events, events_major) = (v.one("events"), v.one("events_major"));
    vec![
        ("minor".into(), v.one("minor")),
        ("major".into(), v.one("major")),
        ("events.all".into(), events),
        ("events.minor".into(), events.saturating_sub(events_major)),
        ("events.major".into(), events_major),
    ]
}

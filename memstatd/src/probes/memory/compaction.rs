//! memStatCompaction: compaction runs per UID, begin to end (count, time,
//! log2 latency histogram, outcome by status), direct compaction attempts
//! (`mm_compaction_try_to_compact_pages`), and kcompactd wakeups by the UID
//! whose allocation woke it. kcompactd's own runs count under its UID
//! (root).

use super::{count, stall, stall_metrics, Column, GroupSpec, Hook, Source, Unit, Value};
use crate::abi::memory::{COMPACT_RESULTS, GROUP_PARAMS};
use crate::bpf::Tracefs;
use crate::probes::format::{read, Format};

/// `enum compact_result`, unchanged from 5.10 to 6.18; the last slot counts
/// any other value.
const RESULTS: [&str; COMPACT_RESULTS] = [
    "not_suitable_zone",
    "skipped",
    "deferred",
    "no_suitable_page",
    "continue",
    "complete",
    "partial_skipped",
    "contended",
    "success",
    "other",
];

pub(crate) static SPEC: GroupSpec = GroupSpec {
    name: "compaction",
    object: "memStatCompaction",
    title: "compaction",
    fields: &[
        stall("stall"),
        count("result", COMPACT_RESULTS),
        count("direct", 1),
        count("kcompactd_wakeups", 1),
    ],
    hooks: &[
        Hook {
            sources: &[Source::Tracepoint {
                event: "compaction/mm_compaction_begin",
                section: "tracepoint/compaction/mm_compaction_begin",
                reads: &[],
                layout: "",
            }],
            optional: None,
        },
        Hook {
            sources: &[Source::Tracepoint {
                event: "compaction/mm_compaction_end",
                section: "tracepoint/compaction/mm_compaction_end",
                reads: &[read("status", 44, 4)],
                layout: "",
            }],
            optional: None,
        },
        Hook {
            sources: &[Source::Tracepoint {
                event: "compaction/mm_compaction_try_to_compact_pages",
                section: "tracepoint/compaction/mm_compaction_try_to_compact_pages",
                reads: &[],
                layout: "",
            }],
            optional: None,
        },
        Hook {
            sources: &[Source::Tracepoint {
                event: "compaction/mm_compaction_wakeup_kcompactd",
                section: "tracepoint/compaction/mm_compaction_wakeup_kcompactd",
                reads: &[],
                layout: "",
            }],
            optional: None,
        },
    ],
    default_on: true,
    samplable: false,
    params,
    metrics,
    columns: &[
        Column {
            header: "RUNS",
            metric: "stalls",
            unit: Unit::Count,
        },
        Column {
            header: "TIME",
            metric: "ns",
            unit: Unit::Ns,
        },
        Column {
            header: "P99",
            metric: "p99_us",
            unit: Unit::Us,
        },
        Column {
            header: "DIRECT",
            metric: "direct",
            unit: Unit::Count,
        },
        Column {
            header: "SUCCESS",
            metric: "result.success",
            unit: Unit::Count,
        },
        Column {
            header: "KCOMPACTD WAKEUPS",
            metric: "kcompactd_wakeups",
            unit: Unit::Count,
        },
    ],
};

/// No params; checks that the kernel names the end's status values as
/// memstat does, so outcomes are never counted under the wrong name.
fn params(tracefs: &Tracefs) -> Result<[u32; GROUP_PARAMS], String> {
    let event = "compaction/mm_compaction_end";
    let format = Format::read(tracefs.root(), event).map_err(|e| e.to_string())?;
    check_results(&format).map_err(|why| format!("{event}: {why}"))?;
    Ok([0; GROUP_PARAMS])
}

fn check_results(format: &Format) -> Result<(), String> {
    let Some(symbols) = format.symbols("status") else {
        return Ok(());
    };
    for (value, name) in symbols {
        let known = usize::try_from(value)
            .ok()
            .filter(|&v| v < COMPACT_RESULTS - 1)
            .map(|v| RESULTS[v]);
        if known != Some(name.as_str()) {
            return Err(format!(
                "status {value} is {name:?} in this kernel, memstat knows it as {}",
                known.unwrap_or("nothing")
            ));
        }
    }
    Ok(())
}

fn metrics(v: &Value) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    stall_metrics(v, "stall", "", &mut out);
    for (name, &n) in RESULTS.iter().zip(v.field("result")) {
        out.push((format!("result.{name}"), n));
    }
    out.push(("direct".into(), v.one("direct")));
    out.push(("kcompactd_wakeups".into(), v.one("kcompactd_wakeups")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_are_checked_against_the_kernel() {
        // As 6.18 prints them.
        let live = Format::parse(
            "print fmt: \"status=%s\", __print_symbolic(REC->status, {1, \"skipped\"}, \
             {2, \"deferred\"}, {4, \"continue\"}, {8, \"success\"}, {6, \"partial_skipped\"}, \
             {5, \"complete\"}, {3, \"no_suitable_page\"}, {0, \"not_suitable_zone\"}, \
             {7, \"contended\"})",
        );
        assert_eq!(check_results(&live), Ok(()));
        let moved = Format::parse(
            "print fmt: \"%s\", __print_symbolic(REC->status, {1, \"deferred\"}, {2, \"skipped\"})",
        );
        assert_eq!(
            check_results(&moved).unwrap_err(),
            "status 1 is \"deferred\" in this kernel, memstat knows it as skipped"
        );
    }
}

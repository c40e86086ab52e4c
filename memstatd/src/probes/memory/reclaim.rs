//! memStatReclaim: direct reclaim and memcg reclaim stalls per UID (count,
//! time, log2 latency histogram, pages reclaimed), kswapd wakeups by the UID
//! whose allocation woke it, and kswapd's own runs, wake to sleep, under its
//! UID (root).

use super::{count, no_params, stall, stall_metrics, Column, GroupSpec, Hook, Source, Unit, Value};
use crate::probes::format::{read, Read};

const fn tracepoint(event: &'static str, section: &'static str) -> Source {
    Source::Tracepoint {
        event,
        section,
        reads: &[],
        layout: "",
    }
}

const END_READS: &[Read] = &[read("nr_reclaimed", 8, 8)];

const fn end(event: &'static str, section: &'static str) -> Source {
    Source::Tracepoint {
        event,
        section,
        reads: END_READS,
        layout: "",
    }
}

const NO_MEMCG: Option<&str> = Some("kernels without CONFIG_MEMCG have no memcg reclaim events");

pub(crate) static SPEC: GroupSpec = GroupSpec {
    name: "reclaim",
    object: "memStatReclaim",
    title: "reclaim",
    fields: &[
        stall("direct"),
        count("direct_reclaimed", 1),
        stall("memcg"),
        count("memcg_reclaimed", 1),
        count("kswapd_wakeups", 1),
        count("kswapd_runs", 1),
        count("kswapd_awake_ns", 1),
    ],
    hooks: &[
        Hook {
            sources: &[tracepoint(
                "vmscan/mm_vmscan_direct_reclaim_begin",
                "tracepoint/vmscan/mm_vmscan_direct_reclaim_begin",
            )],
            optional: None,
        },
        Hook {
            sources: &[end(
                "vmscan/mm_vmscan_direct_reclaim_end",
                "tracepoint/vmscan/mm_vmscan_direct_reclaim_end",
            )],
            optional: None,
        },
        Hook {
            sources: &[tracepoint(
                "vmscan/mm_vmscan_memcg_reclaim_begin",
                "tracepoint/vmscan/mm_vmscan_memcg_reclaim_begin",
            )],
            optional: NO_MEMCG,
        },
        Hook {
            sources: &[end(
                "vmscan/mm_vmscan_memcg_reclaim_end",
                "tracepoint/vmscan/mm_vmscan_memcg_reclaim_end",
            )],
            optional: NO_MEMCG,
        },
        Hook {
            sources: &[tracepoint(
                "vmscan/mm_vmscan_wakeup_kswapd",
                "tracepoint/vmscan/mm_vmscan_wakeup_kswapd",
            )],
            optional: None,
        },
        Hook {
            sources: &[tracepoint(
                "vmscan/mm_vmscan_kswapd_wake",
                "tracepoint/vmscan/mm_vmscan_kswapd_wake",
            )],
            optional: None,
        },
        Hook {
            sources: &[tracepoint(
                "vmscan/mm_vmscan_kswapd_sleep",
                "tracepoint/vmscan/mm_vmscan_kswapd_sleep",
            )],
            optional: None,
        },
    ],
    default_on: true,
    samplable: false,
    params: no_params,
    metrics,
    columns: &[
        Column {
            header: "DIRECT",
            metric: "direct.stalls",
            unit: Unit::Count,
        },
        Column {
            header: "TIME",
            metric: "direct.ns",
            unit: Unit::Ns,
        },
        Column {
            header: "P99",
            metric: "direct.p99_us",
            unit: Unit::Us,
        },
        Column {
            header: "RECLAIMED",
            metric: "direct.reclaimed_pages",
            unit: Unit::Pages,
        },
        Column {
            header: "MEMCG",
            metric: "memcg.stalls",
            unit: Unit::Count,
        },
        Column {
            header: "TIME",
            metric: "memcg.ns",
            unit: Unit::Ns,
        },
        Column {
            header: "RECLAIMED",
            metric: "memcg.reclaimed_pages",
            unit: Unit::Pages,
        },
        Column {
            header: "KSWAPD WAKEUPS",
            metric: "kswapd_wakeups",
            unit: Unit::Count,
        },
        Column {
            header: "KSWAPD AWAKE",
            metric: "kswapd_awake_ns",
            unit: Unit::Ns,
        },
    ],
};

fn metrics(v: &Value) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    stall_metrics(v, "direct", "direct.", &mut out);
    out.push(("direct.reclaimed_pages".into(), v.one("direct_reclaimed")));
    stall_metrics(v, "memcg", "memcg.", &mut out);
    out.push(("memcg.reclaimed_pages".into(), v.one("memcg_reclaimed")));
    for f in ["kswapd_wakeups", "kswapd_runs", "kswapd_awake_ns"] {
        out.push((f.into(), v.one(f)));
    }
    out
}

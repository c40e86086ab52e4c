//! memStatPageAlloc: pages allocated and freed per UID (`kmem:mm_page_alloc`,
//! `kmem:mm_page_free`), by order, and allocations by migratetype class. A
//! free counts for the task that frees, which need not be the allocator.

use super::{count, no_params, Column, GroupSpec, Hook, Source, Unit, Value};
use crate::abi::memory::{MT_CLASSES, ORDERS};
use crate::math::saturating_sum;
use crate::probes::format::read;

/// Orders above PAGE_ALLOC_COSTLY_ORDER (3): the allocations compaction serves.
const COSTLY_ORDER: usize = 3;
const CLASSES: [&str; MT_CLASSES] = ["unmovable", "movable", "reclaimable", "other_mt"];

pub(crate) static SPEC: GroupSpec = GroupSpec {
    name: "pagealloc",
    object: "memStatPageAlloc",
    title: "page allocator",
    fields: &[
        count("alloc", ORDERS),
        count("alloc_class", MT_CLASSES),
        count("alloc_failed", 1),
        count("free", ORDERS),
    ],
    hooks: &[
        Hook {
            sources: &[
                Source::Tracepoint {
                    event: "kmem/mm_page_alloc",
                    section: "tracepoint/kmem/mm_page_alloc",
                    reads: &[
                        read("pfn", 8, 8),
                        read("order", 16, 4),
                        read("migratetype", 32, 4),
                    ],
                    layout: "5.19 and later",
                },
                Source::Tracepoint {
                    event: "kmem/mm_page_alloc",
                    section: "tracepoint/kmem/mm_page_alloc_5_10",
                    reads: &[
                        read("pfn", 8, 8),
                        read("order", 16, 4),
                        read("migratetype", 24, 4),
                    ],
                    layout: "5.10 to 5.18",
                },
            ],
            optional: None,
        },
        Hook {
            sources: &[Source::Tracepoint {
                event: "kmem/mm_page_free",
                section: "tracepoint/kmem/mm_page_free",
                reads: &[read("order", 16, 4)],
                layout: "",
            }],
            optional: None,
        },
    ],
    default_on: false,
    samplable: true,
    params: no_params,
    metrics,
    columns: &[
        Column {
            header: "ALLOCS",
            metric: "allocs",
            unit: Unit::Count,
        },
        Column {
            header: "PAGES",
            metric: "alloc_pages",
            unit: Unit::Pages,
        },
        Column {
            header: "ORDER>3",
            metric: "high_order",
            unit: Unit::Count,
        },
        Column {
            header: "FAILED",
            metric: "failed",
            unit: Unit::Count,
        },
        Column {
            header: "FREES",
            metric: "frees",
            unit: Unit::Count,
        },
        Column {
            header: "FREED",
            metric: "free_pages",
            unit: Unit::Pages,
        },
        Column {
            header: "UNMOVABLE",
            metric: "unmovable",
            unit: Unit::Count,
        },
        Column {
            header: "MOVABLE",
            metric: "movable",
            unit: Unit::Count,
        },
    ],
};

/// Pages of per-order counts (the last order slot counts at its order).
pub(super) fn pages(by_order: &[u64]) -> u64 {
    by_order.iter().enumerate().fold(0u64, |a, (o, &n)| {
        a.saturating_add(n.saturating_mul(1 << o))
    })
}

fn metrics(v: &Value) -> Vec<(String, u64)> {
    let (alloc, free) = (v.field("alloc"), v.field("free"));
    let mut out = vec![
        ("allocs".into(), saturating_sum(alloc)),
        ("alloc_pages".into(), pages(alloc)),
        (
            "high_order".into(),
            saturating_sum(alloc.get(COSTLY_ORDER + 1..).unwrap_or(&[])),
        ),
        ("failed".into(), v.one("alloc_failed")),
        ("frees".into(), saturating_sum(free)),
        ("free_pages".into(), pages(free)),
    ];
    for (name, &n) in CLASSES.iter().zip(v.field("alloc_class")) {
        out.push(((*name).into(), n));
    }
    for (order, &n) in alloc.iter().enumerate() {
        if n != 0 {
            out.push((format!("order{order}"), n));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_weigh_each_order() {
        assert_eq!(pages(&[3, 0, 2]), 3 + 2 * 4);
        assert_eq!(pages(&[u64::MAX, 1]), u64::MAX);
    }
}

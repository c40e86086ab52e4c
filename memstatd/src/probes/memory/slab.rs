//! memStatSlab: slab allocations per UID: `kmem:kmalloc` (and
//! `kmalloc_node` where it still exists, before 6.1) and
//! `kmem:kmem_cache_alloc` (`_node` likewise), with bytes requested and
//! bytes allocated, whose difference is internal fragmentation; and
//! `kmem:kfree`, `kmem:kmem_cache_free`. A free counts for the task that
//! frees.

use super::{count, no_params, Column, GroupSpec, Hook, Source, Unit, Value};
use crate::probes::format::{read, Read};

const KMALLOC_READS: &[Read] = &[
    read("ptr", 16, 8),
    read("bytes_req", 24, 8),
    read("bytes_alloc", 32, 8),
];
const FREE_READS: &[Read] = &[read("ptr", 16, 8)];

const CACHE_ALLOC_5_10: Source = Source::Tracepoint {
    event: "kmem/kmem_cache_alloc",
    section: "tracepoint/kmem/kmem_cache_alloc_5_10",
    reads: KMALLOC_READS,
    layout: "5.10 to 6.15",
};

pub(crate) static SPEC: GroupSpec = GroupSpec {
    name: "slab",
    object: "memStatSlab",
    title: "slab allocations",
    fields: &[
        count("kmalloc", 1),
        count("kmalloc_requested", 1),
        count("kmalloc_allocated", 1),
        count("cache_alloc", 1),
        count("cache_requested", 1),
        count("cache_allocated", 1),
        count("failed", 1),
        count("kfree", 1),
        count("cache_free", 1),
    ],
    hooks: &[
        Hook {
            sources: &[Source::Tracepoint {
                event: "kmem/kmalloc",
                section: "tracepoint/kmem/kmalloc",
                reads: KMALLOC_READS,
                layout: "",
            }],
            optional: None,
        },
        Hook {
            sources: &[Source::Tracepoint {
                event: "kmem/kmalloc_node",
                section: "tracepoint/kmem/kmalloc",
                reads: KMALLOC_READS,
                layout: "",
            }],
            optional: Some("merged into kmem/kmalloc from 6.1"),
        },
        Hook {
            sources: &[
                Source::Tracepoint {
                    event: "kmem/kmem_cache_alloc",
                    section: "tracepoint/kmem/kmem_cache_alloc",
                    reads: &[
                        read("ptr", 16, 8),
                        read("bytes_req", 32, 8),
                        read("bytes_alloc", 40, 8),
                    ],
                    layout: "6.16 and later",
                },
                CACHE_ALLOC_5_10,
            ],
            optional: None,
        },
        Hook {
            sources: &[Source::Tracepoint {
                event: "kmem/kmem_cache_alloc_node",
                section: "tracepoint/kmem/kmem_cache_alloc_5_10",
                reads: KMALLOC_READS,
                layout: "",
            }],
            optional: Some("merged into kmem/kmem_cache_alloc from 6.1"),
        },
        Hook {
            sources: &[Source::Tracepoint {
                event: "kmem/kfree",
                section: "tracepoint/kmem/kfree",
                reads: FREE_READS,
                layout: "",
            }],
            optional: None,
        },
        Hook {
            sources: &[Source::Tracepoint {
                event: "kmem/kmem_cache_free",
                section: "tracepoint/kmem/kmem_cache_free",
                reads: FREE_READS,
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
            header: "KMALLOCS",
            metric: "kmalloc",
            unit: Unit::Count,
        },
        Column {
            header: "REQUESTED",
            metric: "kmalloc_requested",
            unit: Unit::Bytes,
        },
        Column {
            header: "ALLOCATED",
            metric: "kmalloc_allocated",
            unit: Unit::Bytes,
        },
        Column {
            header: "CACHE",
            metric: "cache_alloc",
            unit: Unit::Count,
        },
        Column {
            header: "REQUESTED",
            metric: "cache_requested",
            unit: Unit::Bytes,
        },
        Column {
            header: "ALLOCATED",
            metric: "cache_allocated",
            unit: Unit::Bytes,
        },
        Column {
            header: "WASTE",
            metric: "waste_permille",
            unit: Unit::Permille,
        },
        Column {
            header: "FREES",
            metric: "frees",
            unit: Unit::Count,
        },
    ],
};

fn metrics(v: &Value) -> Vec<(String, u64)> {
    let requested = v
        .one("kmalloc_requested")
        .saturating_add(v.one("cache_requested"));
    let allocated = v
        .one("kmalloc_allocated")
        .saturating_add(v.one("cache_allocated"));
    let waste = allocated.saturating_sub(requested);
    let mut out: Vec<(String, u64)> = [
        "kmalloc",
        "kmalloc_requested",
        "kmalloc_allocated",
        "cache_alloc",
        "cache_requested",
        "cache_allocated",
        "failed",
        "kfree",
        "cache_free",
    ]
    .iter()
    .map(|f| ((*f).to_owned(), v.one(f)))
    .collect();
    out.push((
        "frees".into(),
        v.one("kfree").saturating_add(v.one("cache_free")),
    ));
    out.push(("waste_bytes".into(), waste));
    if allocated > 0 {
        out.push((
            "waste_permille".into(),
            (waste as u128 * 1000 / allocated as u128) as u64,
        ));
    }
    out
}

//! memStatExtfrag: external fragmentation events per UID
//! (`kmem:mm_page_alloc_extfrag`): allocations that fell back to a free
//! block of another migratetype, those that fragment (a block below the
//! pageblock order, so a pageblock ends up mixed), by migratetype class, and
//! pageblocks that changed owner.

use super::{count, Column, GroupSpec, Hook, Source, Unit, Value};
use crate::abi::memory::{GROUP_PARAMS, MT_CLASSES, ORDERS};
use crate::bpf::Tracefs;
use crate::math::saturating_sum;
use crate::probes::format::read;

const CLASSES: [&str; MT_CLASSES] = ["unmovable", "movable", "reclaimable", "other_mt"];

pub(crate) static SPEC: GroupSpec = GroupSpec {
    name: "extfrag",
    object: "memStatExtfrag",
    title: "external fragmentation",
    fields: &[
        count("fallback_order", ORDERS),
        count("alloc_class", MT_CLASSES),
        count("fallback_class", MT_CLASSES),
        count("ownership_changes", 1),
        count("fragmenting", 1),
    ],
    hooks: &[Hook {
        sources: &[Source::Tracepoint {
            event: "kmem/mm_page_alloc_extfrag",
            section: "tracepoint/kmem/mm_page_alloc_extfrag",
            reads: &[
                read("fallback_order", 20, 4),
                read("alloc_migratetype", 24, 4),
                read("fallback_migratetype", 28, 4),
                read("change_ownership", 32, 4),
            ],
            layout: "",
        }],
        optional: None,
    }],
    default_on: true,
    samplable: true,
    params,
    metrics,
    columns: &[
        Column {
            header: "FALLBACKS",
            metric: "events",
            unit: Unit::Count,
        },
        Column {
            header: "FRAGMENTING",
            metric: "fragmenting",
            unit: Unit::Count,
        },
        Column {
            header: "OWNER CHANGES",
            metric: "ownership_changes",
            unit: Unit::Count,
        },
        Column {
            header: "FOR UNMOVABLE",
            metric: "alloc_unmovable",
            unit: Unit::Count,
        },
        Column {
            header: "FOR MOVABLE",
            metric: "alloc_movable",
            unit: Unit::Count,
        },
    ],
};

/// Param 0: the pageblock order, from `/proc/pagetypeinfo` as root, else
/// from the THP PMD size (pageblock_order is HPAGE_PMD_ORDER where THP is
/// built in, as on GKI kernels).
fn params(_: &Tracefs) -> Result<[u32; GROUP_PARAMS], String> {
    let mut p = [0; GROUP_PARAMS];
    p[0] = pageblock_order()?;
    Ok(p)
}

fn pageblock_order() -> Result<u32, String> {
    let text = crate::system::is_root()
        .then(|| std::fs::read_to_string("/proc/pagetypeinfo").ok())
        .flatten();
    if let Some(text) = text {
        if let Some(order) = text
            .lines()
            .find_map(|l| l.strip_prefix("Page block order:"))
            .and_then(|v| v.trim().parse().ok())
        {
            return Ok(order);
        }
    }
    let path = "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size";
    let pmd: u64 = std::fs::read_to_string(path)
        .map_err(|e| {
            format!("cannot tell the pageblock order: /proc/pagetypeinfo and {path}: {e}")
        })?
        .trim()
        .parse()
        .map_err(|_| format!("cannot tell the pageblock order: {path} is not a number"))?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    match (pmd / page.max(1)).checked_ilog2() {
        Some(order) if pmd.is_power_of_two() => Ok(order),
        _ => Err(format!(
            "cannot tell the pageblock order from {path}: {pmd}"
        )),
    }
}

fn metrics(v: &Value) -> Vec<(String, u64)> {
    let by_order = v.field("fallback_order");
    let mut out = vec![
        ("events".into(), saturating_sum(by_order)),
        ("fragmenting".into(), v.one("fragmenting")),
        ("ownership_changes".into(), v.one("ownership_changes")),
    ];
    for (name, &n) in CLASSES.iter().zip(v.field("alloc_class")) {
        out.push((format!("alloc_{name}"), n));
    }
    for (name, &n) in CLASSES.iter().zip(v.field("fallback_class")) {
        out.push((format!("from_{name}"), n));
    }
    for (order, &n) in by_order.iter().enumerate() {
        if n != 0 {
            out.push((format!("fallback_order{order}"), n));
        }
    }
    out
}

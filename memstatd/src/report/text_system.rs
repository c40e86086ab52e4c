//! The text of the system view (`SYSTEM`): every reading, or the state of
//! a file that could not be had, with its path and error.

use super::text::bytes;
use crate::system::meminfo::MeminfoField;
use crate::system::reading::Reading;
use crate::system::thp::Choice;
use crate::system::view::SystemView;
use crate::system::vm_knobs::VmKnobs;
use crate::system::vmstat_rates::Rate;
use std::io::{self, Write};

/// What a file that could not be had shows instead of its values.
fn unavailable<T>(r: &Reading<T>) -> String {
    match r {
        Reading::Read { .. } => String::new(),
        Reading::Missing { path } => format!("{path} missing"),
        Reading::Unreadable { path, error, .. } => format!("{path} unreadable ({error})"),
        Reading::Malformed { path, error } => format!("{path} malformed ({error})"),
    }
}

/// Every knob of `/proc/sys/vm` the view reads, by its file name.
fn knob_list(k: &VmKnobs) -> [(&'static str, &Reading<i64>); 15] {
    [
        ("swappiness", &k.swappiness),
        ("overcommit_memory", &k.overcommit_memory),
        ("overcommit_ratio", &k.overcommit_ratio),
        ("dirty_ratio", &k.dirty_ratio),
        ("dirty_background_ratio", &k.dirty_background_ratio),
        ("dirty_bytes", &k.dirty_bytes),
        ("dirty_background_bytes", &k.dirty_background_bytes),
        ("dirty_expire_centisecs", &k.dirty_expire_centisecs),
        ("dirty_writeback_centisecs", &k.dirty_writeback_centisecs),
        ("min_free_kbytes", &k.min_free_kbytes),
        ("watermark_scale_factor", &k.watermark_scale_factor),
        ("watermark_boost_factor", &k.watermark_boost_factor),
        ("extfrag_threshold", &k.extfrag_threshold),
        ("compaction_proactiveness", &k.compaction_proactiveness),
        ("page-cluster", &k.page_cluster),
    ]
}

/// A value as `show` prints it, or the state of a file that could not be
/// had (its path and error are listed after).
fn shown<T>(r: &Reading<T>, show: impl FnOnce(&T) -> String) -> String {
    match r {
        Reading::Read { value } => show(value),
        Reading::Missing { .. } => "missing".into(),
        Reading::Unreadable { .. } => "unreadable".into(),
        Reading::Malformed { .. } => "malformed".into(),
    }
}

pub(crate) fn system(out: &mut dyn Write, v: &SystemView) -> io::Result<()> {
    writeln!(out, "\nSYSTEM")?;
    match v.meminfo.value() {
        Some(m) => {
            let kb = |f| {
                m.kb(f)
                    .map_or("?".into(), |k| bytes(k.saturating_mul(1024)))
            };
            writeln!(
                out,
                "  memory: total {}, available {}, free {}; swap {} of which {} free",
                kb(MeminfoField::MemTotal),
                kb(MeminfoField::MemAvailable),
                kb(MeminfoField::MemFree),
                kb(MeminfoField::SwapTotal),
                kb(MeminfoField::SwapFree)
            )?;
        }
        None => writeln!(out, "  memory: {}", unavailable(&v.meminfo))?,
    }
    match v.pressure.value() {
        Some(p) => {
            let full = p.full.map_or("-".into(), |f| {
                format!("{:.2}% {:.2}% {:.2}%", f.avg10, f.avg60, f.avg300)
            });
            writeln!(
                out,
                "  pressure (PSI, avg10 avg60 avg300): some {:.2}% {:.2}% {:.2}%, full {full}",
                p.some.avg10, p.some.avg60, p.some.avg300
            )?;
        }
        None => writeln!(out, "  pressure: {}", unavailable(&v.pressure))?,
    }
    match &v.vmstat_rates {
        Some(r) => {
            let rate = |r: Rate| match r {
                Rate::PerSecond { value } => format!("{value:.1}"),
                Rate::Absent => "-".into(),
                Rate::Reset => "reset".into(),
            };
            writeln!(
                out,
                "  vmstat over the last {:.0} s, per second: faults {} (major {}), allocstalls {}, \
                 compaction stalls {}",
                r.interval_s,
                rate(r.faults),
                rate(r.major_faults),
                rate(r.allocstalls),
                rate(r.compact_stalls)
            )?;
            writeln!(
                out,
                "    scanned direct {} kswapd {}, stolen direct {} kswapd {}, swap in {} out {}, \
                 OOM kills {}",
                rate(r.pgscan_direct),
                rate(r.pgscan_kswapd),
                rate(r.pgsteal_direct),
                rate(r.pgsteal_kswapd),
                rate(r.swap_ins),
                rate(r.swap_outs),
                rate(r.oom_kills)
            )?;
        }
        None => match v.vmstat.value() {
            Some(_) => writeln!(out, "  vmstat rates: after the first sample (every 10 s)")?,
            None => writeln!(out, "  vmstat: {}", unavailable(&v.vmstat))?,
        },
    }
    let k = &v.knobs;
    let knobs: Vec<String> = knob_list(k)
        .into_iter()
        .map(|(name, r)| format!("{name}={}", shown(r, i64::to_string)))
        .collect();
    writeln!(out, "  vm: {}", knobs.join(" "))?;
    let choice = |r: &Reading<Choice>| shown(r, |c| c.selected.clone());
    writeln!(
        out,
        "  THP: enabled={} defrag={} shmem_enabled={} khugepaged/defrag={}",
        choice(&v.thp.enabled),
        choice(&v.thp.defrag),
        choice(&v.thp.shmem_enabled),
        shown(&v.thp.khugepaged_defrag, |d| u8::from(*d).to_string())
    )?;
    // Files that exist but could not be used: say which, and why.
    let troubled: Vec<String> = knob_list(k)
        .into_iter()
        .map(|(_, r)| unavailable(r))
        .chain([
            unavailable(&v.thp.enabled),
            unavailable(&v.thp.defrag),
            unavailable(&v.thp.shmem_enabled),
            unavailable(&v.thp.khugepaged_defrag),
        ])
        .filter(|u| !u.is_empty() && !u.ends_with(" missing"))
        .collect();
    if !troubled.is_empty() {
        writeln!(out, "    {}", troubled.join("; "))?;
    }
    match v.zones.value() {
        Some(zones) => {
            for z in zones {
                writeln!(
                    out,
                    "  node {} {:<8} free {} pages; watermarks min {} low {} high {}{}; managed {}",
                    z.node,
                    z.zone,
                    z.free,
                    z.min,
                    z.low,
                    z.high,
                    z.boost.map_or(String::new(), |b| format!(" boost {b}")),
                    z.managed
                )?;
            }
        }
        None => writeln!(out, "  zones: {}", unavailable(&v.zones))?,
    }
    if v.fragmentation.is_empty() {
        writeln!(out, "  fragmentation: {}", unavailable(&v.buddyinfo))?;
    } else {
        writeln!(
            out,
            "  fragmentation index by order (-1.000: a free block of that order exists; near \
             1.000: failures would be fragmentation), then unusable free space index:"
        )?;
        for z in &v.fragmentation {
            let f: Vec<String> = z
                .orders
                .iter()
                .map(|o| o.fragmentation.to_string())
                .collect();
            let u: Vec<String> = z.orders.iter().map(|o| o.unusable.to_string()).collect();
            writeln!(
                out,
                "    node {} {:<8} frag     {}",
                z.node,
                z.zone,
                f.join(" ")
            )?;
            writeln!(
                out,
                "    node {} {:<8} unusable {}",
                z.node,
                z.zone,
                u.join(" ")
            )?;
        }
    }
    match v.pagetypes.value() {
        Some(p) => {
            writeln!(
                out,
                "  free pages by migratetype (highest order with a free block; pageblock order {}):",
                p.pageblock_order
            )?;
            for m in p.free.iter().filter(|m| m.free_pages > 0) {
                writeln!(
                    out,
                    "    node {} {:<8} {:<12} {}{} pages (order {})",
                    m.node,
                    m.zone,
                    m.migratetype,
                    if m.at_least { ">=" } else { "" },
                    m.free_pages,
                    m.highest_order.map_or("-".into(), |o| o.to_string())
                )?;
            }
        }
        None => writeln!(out, "  migratetypes: {}", unavailable(&v.pagetypes))?,
    }
    Ok(())
}

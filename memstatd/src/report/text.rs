//! The text renderer: what `memstat`, `dumpsys memstat` and bugreports show.
//! Numbers are plain digits so that a shell script can read them too.

use super::model::*;
use crate::advisor::Advice;
use crate::probes::memory::{Column, Unit};
use crate::stats::diff::Kind;
use crate::stats::measure::Measure;
use crate::stats::metrics::{self, Undetermined};
use crate::stats::state::GenerationInfo;
use std::io::{self, Write};

pub(crate) fn report(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    if let Some(h) = &r.header {
        header(out, h)?;
    }
    if let Some(probes) = &r.probes {
        writeln!(out, "\nPROBES")?;
        for p in probes {
            writeln!(out, "  {:<11} {}: {}", p.group, p.state, p.detail)?;
        }
    }
    if let Some(why) = &r.syscalls_unavailable {
        writeln!(out, "\nUIDS (syscalls: unavailable)\n  {why}")?;
    }
    if let Some(rows) = &r.uids {
        uid_table(out, r, rows)?;
    }
    if r.show_calls {
        if let Some(rows) = &r.uids {
            writeln!(out, "\nSYSCALLS (every syscall of each UID shown)")?;
            writeln!(
                out,
                "  {:>10}  {:<20} {:>5} {:>12} {:>12}",
                "UID", "SYSCALL", "NR", "COUNT", "ERRORS"
            )?;
            for row in rows {
                for c in &row.calls {
                    writeln!(
                        out,
                        "  {:>10}  {:<20} {:>5} {:>12} {:>12}",
                        row.uid, c.name, c.nr, c.count, c.errors
                    )?;
                }
            }
        }
    }
    if r.show_latency {
        if let Some(rows) = &r.uids {
            writeln!(
                out,
                "\nLATENCY (samples per log2 bucket of syscall latency)"
            )?;
            for row in rows {
                let Some(l) = &row.latency else { continue };
                let buckets: Vec<String> = l
                    .buckets
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .map(|(b, n)| format!("<{}:{n}", ns(1u64 << (b + 1))))
                    .collect();
                writeln!(out, "  {:>10}  {}", row.uid, buckets.join(" "))?;
            }
        }
    }
    if r.withheld.contains(&"overflow") {
        writeln!(out, "\nOVERFLOW AND DROPS\n  withheld: {WITHHELD}")?;
    }
    if let Some(o) = &r.overflow {
        let c = &o.counters;
        writeln!(out, "\nOVERFLOW AND DROPS")?;
        writeln!(
            out,
            "  calls with no row, no slot and no room in the shared (UID, syscall) table: {} ({} errors); table {} of {} entries used",
            c.count, c.errors, o.table_used, o.table_entries
        )?;
        writeln!(
            out,
            "  latency samples of UIDs with no histogram of their own: {}",
            c.latency_samples
        )?;
        writeln!(
            out,
            "  start times dropped: {}; returns without a start time: {}",
            c.start_dropped, c.unmatched
        )?;
    }
    for g in &r.memory {
        group(out, g)?;
    }
    if let Some(v) = &r.system {
        super::text_system::system(out, v)?;
    }
    if let Some(a) = &r.advice {
        advice(out, a)?;
    }
    if let Some(d) = &r.daemon {
        daemon(out, d)?;
    }
    failures(out, &r.failed, r.failed_total)?;
    straddling(out, &r.straddling, r.straddling_total)?;
    undetermined(out, &r.undetermined)
}

fn header(out: &mut dyn Write, h: &Header) -> io::Result<()> {
    writeln!(out, "memstat: per-UID syscall and memory statistics")?;
    writeln!(
        out,
        "kernel {} ({}), {} mode, up {}, report at {}",
        h.kernel,
        h.arch,
        h.mode,
        duration(h.uptime_s as u64 * 1000),
        time(h.generated_ms)
    )?;
    writeln!(out, "{}", generation(&h.generation))?;
    if let Some(state) = &h.state {
        writeln!(out, "state: {state}")?;
    }
    writeln!(
        out,
        "window {} to {} ({}); latency mode {}",
        time(h.window.start_ms),
        time(h.window.end_ms),
        duration(h.window.end_ms.saturating_sub(h.window.start_ms)),
        if h.latency_mode { "on" } else { "off" }
    )
}

fn generation(g: &GenerationInfo) -> String {
    format!(
        "generation {}, started {} by {}",
        g.id,
        time(g.started_ms),
        g.cause.describe()
    )
}

fn uid_table(out: &mut dyn Write, r: &Report, rows: &[UidRow]) -> io::Result<()> {
    let total = r.uids_total.unwrap_or(rows.len());
    writeln!(
        out,
        "\nUIDS ({} of {total}, by {})",
        rows.len(),
        r.sorted_by
    )?;
    let latency = rows.iter().any(|r| r.latency.is_some());
    write!(
        out,
        "  {:>10}  {:<16} {:>12} {:>10}",
        "UID", "NAME", "SYSCALLS", "ERRORS"
    )?;
    if latency {
        write!(out, " {:>9} {:>9} {:>9}", "P50<=", "P90<=", "P99<=")?;
    }
    writeln!(out, "  TOP SYSCALLS")?;
    for row in rows {
        write!(
            out,
            "  {:>10}  {:<16} {:>12} {:>10}",
            row.uid,
            row.name.as_deref().unwrap_or("-"),
            row.syscalls,
            row.errors
        )?;
        if latency {
            match &row.latency {
                Some(l) => write!(
                    out,
                    " {:>9} {:>9} {:>9}",
                    ns(l.p50_ns),
                    ns(l.p90_ns),
                    ns(l.p99_ns)
                )?,
                None => write!(out, " {:>9} {:>9} {:>9}", "-", "-", "-")?,
            }
        }
        let top: Vec<String> = row
            .calls
            .iter()
            .take(3)
            .map(|c| match c.errors {
                0 => format!("{} {}", c.name, c.count),
                e => format!("{} {} ({e} err)", c.name, c.count),
            })
            .collect();
        writeln!(out, "  {}", top.join(", "))?;
    }
    Ok(())
}

fn advice(out: &mut dyn Write, a: &Advice) -> io::Result<()> {
    writeln!(
        out,
        "\nADVICE (evidence-based; memstat never changes a setting)"
    )?;
    for m in &a.missing {
        writeln!(out, "  not yet possible: {m}")?;
    }
    if a.findings.is_empty() {
        return writeln!(out, "  nothing to suggest from the evidence at hand");
    }
    for f in &a.findings {
        writeln!(out, "  [{}] {}", f.rule, f.summary)?;
        for m in &f.evidence {
            writeln!(
                out,
                "    evidence: {}: {} (threshold {})",
                m.what, m.value, m.threshold
            )?;
        }
        writeln!(out, "    {} is {}: {}", f.knob, f.knob_value, f.suggestion)?;
        writeln!(out, "    trade-off: {}", f.tradeoff)?;
        if !f.uids.is_empty() {
            let uids: Vec<String> = f.uids.iter().map(u32::to_string).collect();
            writeln!(out, "    UIDs: {} ({})", uids.join(", "), f.uids_basis)?;
        }
    }
    Ok(())
}

fn daemon(out: &mut dyn Write, d: &DaemonView) -> io::Result<()> {
    writeln!(out, "\nSELF")?;
    let opt = |v: Option<u64>| v.map_or("unknown".to_owned(), bytes);
    writeln!(
        out,
        "  memstatd pid {}: rss {}, peak {}",
        d.pid,
        opt(d.rss_bytes),
        opt(d.peak_rss_bytes)
    )?;
    let maps: Vec<String> = d
        .maps
        .iter()
        .map(|m| format!("{} {}", m.name, opt(m.memlock_bytes)))
        .collect();
    writeln!(
        out,
        "  BPF maps {}: {}",
        bytes(d.map_bytes),
        maps.join(", ")
    )?;
    match d.bpf_stats_enabled {
        Some(true) => writeln!(out, "  programs (kernel.bpf_stats_enabled=1):")?,
        Some(false) => writeln!(
            out,
            "  programs (run counts off: sysctl kernel.bpf_stats_enabled=1 turns them on, at a small cost per run):"
        )?,
        None => writeln!(out, "  programs (kernel.bpf_stats_enabled unreadable):")?,
    }
    for p in &d.programs {
        write!(
            out,
            "    {:<40} {}",
            p.section,
            if p.attached { "attached" } else { "detached" }
        )?;
        match (p.run_count, p.avg_ns) {
            (Some(n), Some(avg)) => writeln!(out, "  runs {n}  avg {avg} ns")?,
            (Some(n), None) => writeln!(out, "  runs {n}")?,
            _ => writeln!(out)?,
        }
    }
    Ok(())
}

fn failures(out: &mut dyn Write, failed: &[Crossing], total: usize) -> io::Result<()> {
    crossings(out, "FAILED THRESHOLDS", "crosses", failed, total)
}

fn straddling(out: &mut dyn Write, list: &[Crossing], total: usize) -> io::Result<()> {
    crossings(
        out,
        "CANNOT TELL (an estimate's confidence interval or a bracket lies on both sides of the \
         bound)",
        "may or may not cross",
        list,
        total,
    )
}

fn crossings(
    out: &mut dyn Write,
    title: &str,
    verb: &str,
    list: &[Crossing],
    total: usize,
) -> io::Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n{title}")?;
    for f in list {
        let what = match f.from {
            Some(from) => format!("went {from} -> {}", f.to),
            None => format!("is {}", f.to),
        };
        let range = match f.range {
            // A bracket with no known upper bound.
            Some([lo, hi]) if hi >= u64::MAX as f64 => {
                format!(" (compared: {} to no known bound)", decimal(lo))
            }
            Some([lo, hi]) => format!(" (compared: {} to {})", decimal(lo), decimal(hi)),
            None => String::new(),
        };
        writeln!(
            out,
            "  uid {}: {} {what}{range}: {verb} --fail-if '{}'",
            f.uid, f.metric, f.threshold
        )?;
    }
    if total > list.len() {
        writeln!(out, "  ... and {} more", total - list.len())?;
    }
    Ok(())
}

/// A bound of a compared interval: whole numbers as such, others to 0.1.
fn decimal(v: f64) -> String {
    if v.is_infinite() {
        (if v > 0.0 { "+inf" } else { "-inf" }).to_owned()
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn undetermined(out: &mut dyn Write, list: &[Undetermined]) -> io::Result<()> {
    if list.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nCANNOT TELL (counts of UIDs that found their table full belong to no UID: they may \
         be those of the UIDs checked)"
    )?;
    for u in list {
        match u.lost {
            Some(n) => writeln!(
                out,
                "  --fail-if '{}': {} = {n} {}",
                u.threshold, u.bucket, u.span
            )?,
            None => writeln!(
                out,
                "  --fail-if '{}': {} is not 0 {} (how much is withheld: {WITHHELD})",
                u.threshold, u.bucket, u.span
            )?,
        }
    }
    Ok(())
}

pub(crate) fn diff(out: &mut dyn Write, d: &DiffReport) -> io::Result<()> {
    let what = match d.diff {
        Kind::Interval => "interval: what happened between the two moments (one generation)",
        Kind::Comparison => "comparison of two runs (two generations, each begun by --reset)",
    };
    writeln!(out, "memstat diff, {what}")?;
    for (tag, side) in [("from", &d.from), ("to", &d.to)] {
        writeln!(
            out,
            "{tag:>4}: {} at {}, {}",
            side.label,
            time(side.taken_ms),
            generation(&side.generation)
        )?;
    }
    writeln!(out, "\nUIDS ({} of {})", d.uids.len(), d.uids_total)?;
    writeln!(
        out,
        "  {:>10}  {:<16} {:<36} {:>12} {:>12} {:>12} {:>9}",
        "UID", "NAME", "METRIC", "FROM", "TO", "DELTA", "CHANGE"
    )?;
    for u in &d.uids {
        for c in &u.changes {
            let pct = match c.percent {
                Some(p) => format!("{p:+.1}%"),
                None => "new".into(),
            };
            let delta = match c.ci95 {
                Some(ci) => format!("{:+}±{ci}", c.delta),
                None => format!("{:+}", c.delta),
            };
            writeln!(
                out,
                "  {:>10}  {:<16} {:<36} {:>12} {:>12} {:>12} {:>9}",
                u.uid,
                u.name.as_deref().unwrap_or("-"),
                c.metric,
                c.from,
                c.to,
                delta,
                pct
            )?;
        }
    }
    if !d.unattributed.is_empty() {
        writeln!(
            out,
            "\nNO UID (counts that found their table full)\n  {:<65} {:>12} {:>12} {:>12}",
            "METRIC", "FROM", "TO", "DELTA"
        )?;
        for c in &d.unattributed {
            writeln!(
                out,
                "  {:<65} {:>12} {:>12} {:>+12}",
                c.metric, c.from, c.to, c.delta
            )?;
        }
    }
    if !d.not_compared.is_empty() {
        writeln!(out, "\nNOT COMPARED (a side has no counts of the group)")?;
        for n in &d.not_compared {
            writeln!(out, "  {}: {}", n.group, n.why)?;
        }
    }
    failures(out, &d.failed, d.failed_total)?;
    straddling(out, &d.straddling, d.straddling_total)?;
    undetermined(out, &d.undetermined)
}

pub(crate) fn snapshot_list(out: &mut dyn Write, l: &SnapshotList) -> io::Result<()> {
    writeln!(out, "current: {}", generation(&l.current_generation))?;
    if l.snapshots.is_empty() {
        return writeln!(out, "no snapshots (memstat --snapshot NAME saves one)");
    }
    writeln!(out, "{:<24} {:<20} GENERATION", "SNAPSHOT", "TAKEN")?;
    for s in &l.snapshots {
        writeln!(
            out,
            "{:<24} {:<20} {}",
            s.name,
            time(s.taken_ms),
            generation(&s.generation)
        )?;
    }
    Ok(())
}

pub(crate) fn action(out: &mut dyn Write, a: &ActionDone) -> io::Result<()> {
    writeln!(out, "{}", a.message)
}

/// `2026-11-24 14:03:11Z` from Unix milliseconds.
pub(crate) fn time(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `1d 02:03:04`, `02:03:04` or `3.2s`.
pub(crate) fn duration(ms: u64) -> String {
    if ms < 60_000 {
        return format!("{:.1}s", ms as f64 / 1000.0);
    }
    let s = ms / 1000;
    let hms = format!("{:02}:{:02}:{:02}", s / 3600 % 24, s / 60 % 60, s % 60);
    match s / 86_400 {
        0 => hms,
        d => format!("{d}d {hms}"),
    }
}

/// One memory group's section: its state, a table with its columns, and
/// the bucket of UIDs that found the table full.
fn group(out: &mut dyn Write, g: &GroupView) -> io::Result<()> {
    let state = match (g.state, g.sample_every, g.duty) {
        ("live", Some(n), _) if n > 1 && g.numbers == "estimates" => {
            format!("live, sampled 1 in {n}: estimates \u{b1} 95% CI")
        }
        ("live", Some(n), _) if n > 1 => format!("live, sampled 1 in {n}: estimates"),
        ("live", _, Some(d)) => format!(
            "live, attached {} s in every {} s: estimates \u{b1} 95% CI",
            decimal(d.window_ms as f64 / 1000.0),
            decimal(d.period_ms as f64 / 1000.0)
        ),
        ("live", _, None) if g.numbers == "estimates" => {
            "live: estimates \u{b1} 95% CI (from when it was cycled)".to_owned()
        }
        ("live", _, None) if g.numbers == "exact, brackets" => {
            "live: exact, X..Y a bracket".to_owned()
        }
        ("live", _, None) => "live: exact".to_owned(),
        (state, _, _) => state.to_owned(),
    };
    writeln!(out, "\n{} ({}: {state})", g.title.to_uppercase(), g.group)?;
    if let Some(why) = &g.why {
        writeln!(out, "  {why}")?;
        return Ok(());
    }
    let other = g.other.as_ref().filter(|o| !o.is_empty());
    if g.uids.is_empty() && other.is_none() {
        match g.state {
            "off" => writeln!(
                out,
                "  nothing counted in the window; memstat --probe {}=on switches it on",
                g.group
            )?,
            _ => writeln!(out, "  nothing counted in the window")?,
        }
        return Ok(());
    }
    // A column of per-app memory cgroups no shown UID has (a host without
    // them) is left out, not shown as a column of dashes.
    let rows: Vec<_> = g.uids.iter().map(|r| &r.metrics).collect();
    let shown = |c: &&Column| {
        metrics::memcg_part(&format!("{}.{}", g.group, c.metric)).is_none()
            || rows.iter().any(|m| m.contains_key(c.metric))
    };
    let columns: Vec<&Column> = g.columns.iter().filter(shown).collect();
    let widths: Vec<usize> = columns.iter().map(|c| c.header.len().max(10)).collect();
    let mut line = format!("  {:>10}  {:<16}", "UID", "NAME");
    for (c, w) in columns.iter().zip(&widths) {
        line.push_str(&format!(" {:>w$}", c.header));
    }
    writeln!(out, "{line}")?;
    for row in &g.uids {
        let name = row.name.as_deref().unwrap_or("-");
        let mut line = format!("  {:>10}  {:<16}", row.uid, truncate(name, 16));
        for (c, w) in columns.iter().zip(&widths) {
            let v = Measure::of(&row.metrics, c.metric);
            let idle = row.metrics.is_empty() && metrics::defaults_to_zero(c.metric);
            line.push_str(&format!(
                " {:>w$}",
                match v {
                    Some(v) => v.show(|n| unit(c.unit, n)),
                    None if idle => unit(c.unit, 0),
                    None => "-".into(),
                }
            ));
        }
        writeln!(out, "{line}")?;
    }
    if g.uids.len() < g.uids_total {
        writeln!(
            out,
            "  ... {} more UIDs (--top)",
            g.uids_total - g.uids.len()
        )?;
    }
    if let Some(other) = other {
        // Every column the bucket has, shown or not above.
        let parts: Vec<String> = g
            .columns
            .iter()
            .filter_map(|c| {
                Some(format!(
                    "{} {}",
                    c.metric,
                    Measure::of(other, c.metric)?.show(|n| unit(c.unit, n))
                ))
            })
            .collect();
        writeln!(
            out,
            "  UIDs with no room in the table ({} of {} entries used), together: {}",
            g.table_used.unwrap_or(0),
            g.table_entries,
            parts.join(", ")
        )?;
    }
    if g.other.is_none() {
        writeln!(
            out,
            "  UIDs with no room in the table ({} entries), together: withheld: {WITHHELD}",
            g.table_entries
        )?;
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn unit(u: Unit, v: u64) -> String {
    match u {
        Unit::Count | Unit::Pages => v.to_string(),
        Unit::Bytes => bytes(v),
        Unit::KiB => bytes(v.saturating_mul(1024)),
        Unit::Ns => ns(v),
        Unit::Us => format!("<{}", ns(v.saturating_mul(1000))),
        Unit::Permille => format!("{}.{}%", v / 10, v % 10),
    }
}

pub(crate) fn bytes(n: u64) -> String {
    match n {
        n if n >= 10 << 20 => format!("{} MiB", n >> 20),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 10 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

pub(crate) fn ns(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.1}s", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.1}ms", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1}us", n as f64 / 1e3),
        n => format!("{n}ns"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        assert_eq!(time(0), "1970-01-01 00:00:00Z");
        // 2026-11-24 14:03:11 UTC, as `date -u -d @1795528991` prints it.
        assert_eq!(time(1_795_528_991_000), "2026-11-24 14:03:11Z");
        assert_eq!(time(951_782_400_000), "2000-02-29 00:00:00Z");
        assert_eq!(duration(3_200), "3.2s");
        assert_eq!(duration(3_723_000), "01:02:03");
        assert_eq!(duration(90_000_000), "1d 01:00:00");
    }

    #[test]
    fn units() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(20 << 10), "20 KiB");
        assert_eq!(bytes(3 << 19), "1.5 MiB");
        assert_eq!(ns(2048), "2.0us");
        assert_eq!(ns(1 << 24), "16.8ms");
        assert_eq!(ns(999), "999ns");
    }
}

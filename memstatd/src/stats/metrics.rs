//! Named per-UID metrics of a window, and the `--fail-if` thresholds over
//! them. The names are the JSON schema's (`docs/json.md`):
//!
//! - `syscalls.count`, `syscalls.errors`: every syscall of the UID;
//! - `syscalls.<name>.count`, `syscalls.<name>.errors`: one syscall, named
//!   for this architecture (`sys_<nr>` where the table has no name);
//! - `latency.samples`, `latency.p50_ns`, `latency.p90_ns`, `latency.p99_ns`
//!   (latency mode only; percentiles are upper bounds of log2 buckets);
//! - `<group>.<metric>` of each memory probe group (`probes::memory`), e.g.
//!   `faults.minor`, `memsyscalls.mmap.bytes`, `reclaim.direct.p99_us`.
//!
//! Counts that found their table full belong to no UID: the syscall group's
//! overflow bucket (`overflow.count`, `overflow.errors`,
//! `overflow.latency_samples`) and each memory group's `other` bucket
//! (`<group>.other.<metric>`). A threshold on a metric whose bucket is not
//! empty in what it reads cannot tell whether a UID crossed it.

use super::counters::{Counters, SYSCALLS};
use super::measure::{self, Measure};
use crate::math::{percentile, saturating_sum};
use crate::probes::memory::{self, duty};
use crate::probes::syscalls::{syscall_name, syscall_number};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

pub(crate) type UidMetrics = BTreeMap<String, u64>;

pub(crate) const PERCENTILES: [(&str, f64); 3] = [("p50", 0.50), ("p90", 0.90), ("p99", 0.99)];

/// Every UID's metrics in `window`.
pub(crate) fn per_uid(window: &Counters) -> BTreeMap<u32, UidMetrics> {
    let mut out: BTreeMap<u32, UidMetrics> = BTreeMap::new();
    for (&(uid, nr), c) in &window.syscalls {
        let m = out.entry(uid).or_default();
        for (metric, n) in [("syscalls.count", c.count), ("syscalls.errors", c.errors)] {
            let total = m.entry(metric.into()).or_default();
            *total = total.saturating_add(n);
        }
        let name = syscall_name(nr);
        m.insert(format!("syscalls.{name}.count"), c.count);
        m.insert(format!("syscalls.{name}.errors"), c.errors);
    }
    for (&uid, hist) in &window.latency {
        let m = out.entry(uid).or_default();
        m.insert("latency.samples".into(), saturating_sum(hist));
        for (label, p) in PERCENTILES {
            if let Some(ns) = percentile(hist, p) {
                m.insert(format!("latency.{label}_ns"), ns);
            }
        }
    }
    for (name, group) in &window.groups {
        let Some(spec) = memory::spec(name) else {
            continue;
        };
        // A window with variances is an estimate: its metrics get their CIs.
        let estimated = !group.variance.is_empty() || group.other_variance.iter().any(|&v| v != 0);
        for (&uid, slots) in &group.uids {
            let m = out.entry(uid).or_default();
            m.extend(spec.named_metrics(slots));
            if estimated {
                let variance = group.variance.get(&uid).map(Vec::as_slice);
                m.extend(
                    duty::ci_entries(spec, variance)
                        .into_iter()
                        .map(|(name, ci)| (format!("{}.{name}", spec.name), ci)),
                );
            }
        }
    }
    out
}

/// The probe group a metric comes from: `syscalls` for `syscalls.*` and
/// `latency.*`, else its prefix.
pub(crate) fn group_of(metric: &str) -> &str {
    match metric.split_once('.') {
        Some(("syscalls" | "latency", _)) | None => SYSCALLS,
        Some((group, _)) => group,
    }
}

/// The bucket of no UID that counts of `metric` go to when its table is
/// full (see the module's comment).
pub(crate) fn bucket_of(metric: &str) -> String {
    match metric.split_once('.') {
        Some(("latency", _)) => "overflow.latency_samples".into(),
        Some(("syscalls", _)) | None if metric.ends_with(".errors") => "overflow.errors".into(),
        Some(("syscalls", _)) | None => "overflow.count".into(),
        Some((group, m)) => format!("{group}.other.{m}"),
    }
}

/// The buckets of no UID in `window`, as metrics named by [`bucket_of`],
/// for every group that was read.
pub(crate) fn unattributed(window: &Counters) -> UidMetrics {
    let mut out = UidMetrics::new();
    if window.has(SYSCALLS) {
        let o = &window.overflow;
        out.insert("overflow.count".into(), o.count);
        out.insert("overflow.errors".into(), o.errors);
        out.insert("overflow.latency_samples".into(), o.latency_samples);
    }
    for (name, group) in window.groups.iter().filter(|(n, _)| window.has(n)) {
        let Some(spec) = memory::spec(name) else {
            continue;
        };
        for (metric, v) in spec.named_metrics(&group.other) {
            let m = metric.split_once('.').map_or(metric.as_str(), |(_, m)| m);
            out.insert(format!("{name}.other.{m}"), v);
        }
    }
    out
}

/// A `--fail-if` threshold that cannot be decided: counts of its metric
/// went to a bucket of no UID in what it reads, so any UID checked may have
/// more than it shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Undetermined {
    pub(crate) threshold: String,
    /// The bucket, as [`unattributed`] names it.
    pub(crate) bucket: String,
    /// Its value in `span`; `None` where it is withheld from the caller.
    pub(crate) lost: Option<u64>,
    /// What the threshold reads: `in the window`, `between snapshot "a"
    /// and now`, `in the window of snapshot "a"`.
    pub(crate) span: String,
}

/// One part of what thresholds read (a window, or the interval between
/// two): its label, its buckets of no UID, and the groups it lacks.
pub(crate) struct Span {
    label: String,
    buckets: UidMetrics,
    /// Group → why it is not in the span, as a sentence.
    unread: BTreeMap<&'static str, String>,
}

impl Span {
    pub(crate) fn of(label: String, counters: &Counters) -> Self {
        let mut unread: BTreeMap<&'static str, String> = std::iter::once(SYSCALLS)
            .chain(memory::GROUPS.iter().map(|g| g.name))
            .filter(|g| !counters.has(g))
            .map(|g| (g, counters.why_missing(g)))
            .collect();
        for part in ["rss.charged"] {
            if let Some(why) = why_no_memcg(counters, part) {
                unread.insert(part, why);
            }
        }
        Span {
            label,
            buckets: unattributed(counters),
            unread,
        }
    }
}

/// The thresholds among `thresholds` that the spans each reads (`reads`)
/// cannot decide. `Err` when a threshold's group is not in one of them: it
/// can be checked against nothing.
pub(crate) fn undetermined<'a>(
    thresholds: &[Threshold],
    reads: impl Fn(&Threshold) -> Vec<&'a Span>,
) -> Result<Vec<Undetermined>, String> {
    let mut out = Vec::new();
    for t in thresholds {
        let bucket = bucket_of(&t.metric);
        let spans = reads(t);
        let part = memcg_part(&t.metric);
        if let Some((span, why)) = spans
            .iter()
            .find_map(|s| Some((s, s.unread.get(part.unwrap_or(group_of(&t.metric)))?)))
        {
            return Err(format!(
                "cannot check --fail-if '{t}': {why} ({})",
                span.label
            ));
        }
        let lost = spans.iter().find_map(|s| {
            let v = s.buckets.get(&bucket).copied().filter(|&v| v != 0)?;
            Some((s, v))
        });
        if let Some((span, v)) = lost {
            out.push(Undetermined {
                threshold: t.text.clone(),
                bucket: bucket.clone(),
                lost: Some(v),
                span: span.label.clone(),
            });
        }
    }
    Ok(out)
}

/// Whether `metric` is a name [`per_uid`] can produce.
pub(crate) fn check_metric(metric: &str) -> Result<(), String> {
    const FIXED: [&str; 6] = [
        "syscalls.count",
        "syscalls.errors",
        "latency.samples",
        "latency.p50_ns",
        "latency.p90_ns",
        "latency.p99_ns",
    ];
    if FIXED.contains(&metric) {
        return Ok(());
    }
    if let Some(spec) = metric.split_once('.').and_then(|(g, _)| memory::spec(g)) {
        if let Some(of) = measure::companion_of(metric) {
            return Err(format!(
                "{metric:?} is part of {of:?} (a bracket's bound or an estimate's confidence \
                 interval): a threshold on {of:?} reads the whole interval"
            ));
        }
        let mut names: Vec<String> = Vec::new();
        for n in spec.metric_names() {
            let n = measure::companion_of(&n).map_or_else(|| n.clone(), str::to_owned);
            if !names.contains(&n) {
                names.push(n);
            }
        }
        return if names.iter().any(|n| n == metric) {
            Ok(())
        } else {
            Err(format!(
                "unknown metric {metric:?} of the {} group: valid are {}",
                spec.name,
                names.join(", ")
            ))
        };
    }
    let per_call = metric
        .strip_prefix("syscalls.")
        .and_then(|m| m.rsplit_once('.'))
        .filter(|(_, field)| matches!(*field, "count" | "errors"));
    match per_call {
        Some((name, _)) if syscall_number(name).is_some() => Ok(()),
        Some((name, _)) => Err(format!(
            "unknown syscall {name:?} in metric {metric:?}: use this architecture's syscall \
             names (as the report prints them) or sys_<number>"
        )),
        None => Err(format!(
            "unknown metric {metric:?}: valid metrics are {}, syscalls.<name>.count, \
             syscalls.<name>.errors and <group>.<metric> of the memory groups ({})",
            FIXED.join(", "),
            memory::GROUPS.map(|g| g.name).join(", ")
        )),
    }
}

/// A checked metric as [`per_uid`] names it: `syscalls.sys_39.count` is
/// `syscalls.getppid.count` where 39 is getppid.
fn canonical(metric: &str) -> String {
    let per_call = metric
        .strip_prefix("syscalls.")
        .and_then(|m| m.rsplit_once('.'))
        .and_then(|(name, field)| Some((syscall_number(name)?, field)));
    match per_call {
        Some((nr, field)) => format!("syscalls.{}.{field}", syscall_name(nr)),
        None => metric.to_owned(),
    }
}

/// Latency metrics, percentiles and ratios exist only where a UID has
/// samples; the others count, and a UID without them has zero.
pub(crate) fn defaults_to_zero(metric: &str) -> bool {
    !(metric.starts_with("latency.")
        || metric.ends_with("_us")
        || metric.ends_with("_permille")
        || memcg_part(metric).is_some())
}

/// The per-app memory cgroup part of a group `metric` is in
/// (`rss.charged`), if any: a UID without a cgroup has none of it, not
/// zero, and a span whose group was read without cgroups has none at all.
pub(crate) fn memcg_part(metric: &str) -> Option<&'static str> {
    ["rss.charged"]
        .into_iter()
        .find(|p| metric.strip_prefix(p).is_some_and(|r| r.starts_with('.')))
}

/// Why a span read with `counters` has no numbers of `part`, if it has none.
pub(crate) fn why_no_memcg(counters: &Counters, part: &str) -> Option<String> {
    let group = group_of(part);
    (counters.has(group) && !counters.has_memcg(group)).then(|| {
        format!(
            "there are no per-app memory cgroup numbers in the {group} probe group: memstatd \
             read no per-app memory cgroup (the probes section says why)"
        )
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
        }
    }
}

/// What a threshold compares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Bound {
    /// The metric's value (in a diff, the later side's).
    Value(f64),
    /// `+N` / `-N`: the change between the two sides of a diff.
    Change(f64),
    /// `+N%` / `-N%`: the change in percent of the earlier side.
    Percent(f64),
}

/// `--fail-if 'METRIC OP VALUE'`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Threshold {
    pub(crate) metric: String,
    pub(crate) op: Op,
    pub(crate) bound: Bound,
    pub(crate) text: String,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Threshold {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let usage = "expected 'METRIC OP VALUE' with OP one of > >= < <= and VALUE a number \
                     (the value), +N or -N (the change in a diff) or +N% or -N% (the change \
                     in percent), e.g. 'syscalls.errors>+5%'";
        let at = text
            .find(['<', '>'])
            .ok_or_else(|| format!("bad --fail-if {text:?}: {usage}"))?;
        let metric = text[..at].trim();
        let rest = &text[at..];
        let (op, value) = match rest.as_bytes() {
            [b'>', b'=', ..] => (Op::Ge, &rest[2..]),
            [b'<', b'=', ..] => (Op::Le, &rest[2..]),
            [b'>', ..] => (Op::Gt, &rest[1..]),
            _ => (Op::Lt, &rest[1..]),
        };
        check_metric(metric).map_err(|e| format!("bad --fail-if {text:?}: {e}"))?;
        let metric = canonical(metric);
        let value = value.trim();
        let bad_value = || format!("bad --fail-if {text:?}: value {value:?}: {usage}");
        let number = |s: &str| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(bad_value)
        };
        let bound = if let Some(pct) = value.strip_suffix('%') {
            if !pct.starts_with(['+', '-']) {
                return Err(bad_value());
            }
            Bound::Percent(number(pct)?)
        } else if value.starts_with(['+', '-']) {
            Bound::Change(number(value)?)
        } else {
            Bound::Value(number(value)?)
        };
        Ok(Threshold {
            metric,
            op,
            bound,
            text: text.trim().to_owned(),
        })
    }

    /// Whether the threshold needs two sides (a diff).
    pub(crate) fn is_relative(&self) -> bool {
        !matches!(self.bound, Bound::Value(_))
    }

    /// Whether a metric that went from `from` to `to` crosses the threshold.
    /// `from` is `None` outside a diff. A percent change from zero is
    /// infinite, so it crosses any `>` bound when the metric grew.
    #[cfg(test)]
    pub(crate) fn crossed(&self, from: Option<u64>, to: u64) -> bool {
        self.decide(from.map(Measure::Exact), Measure::Exact(to)) == Decision::Crossed
    }

    /// Whether a metric that went from `from` to `to` crosses the threshold,
    /// over every value their intervals allow (see [`Measure`]). `from` is
    /// `None` outside a diff. The operators are monotonic, so the two ends of
    /// the compared interval decide.
    pub(crate) fn decide(&self, from: Option<Measure>, to: Measure) -> Decision {
        let Some((lo, hi)) = self.compared(from, to) else {
            return Decision::Clear;
        };
        let v = match self.bound {
            Bound::Value(v) | Bound::Change(v) | Bound::Percent(v) => v,
        };
        match (self.op.holds(lo, v), self.op.holds(hi, v)) {
            (true, true) => Decision::Crossed,
            (false, false) => Decision::Clear,
            _ => Decision::Straddles,
        }
    }

    /// The interval of what the threshold compares: the value, the change,
    /// or the change in percent. Interval arithmetic, so a change between
    /// two estimates is as wide as their CIs together. `None` for a relative
    /// bound outside a diff.
    pub(crate) fn compared(&self, from: Option<Measure>, to: Measure) -> Option<(f64, f64)> {
        let (to_lo, to_hi) = to.range();
        match (self.bound, from.map(Measure::range)) {
            (Bound::Value(_), _) => Some((to_lo, to_hi)),
            (Bound::Change(_), Some((from_lo, from_hi))) => {
                Some((to_lo - from_hi, to_hi - from_lo))
            }
            (Bound::Percent(_), Some((from_lo, from_hi))) => {
                Some((percent_f(from_hi, to_lo), percent_f(from_lo, to_hi)))
            }
            (_, None) => None,
        }
    }
}

/// What a threshold makes of one UID's metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Every value the metric's interval allows crosses the bound.
    Crossed,
    /// None does.
    Clear,
    /// Some do and some don't: it cannot tell.
    Straddles,
}

/// The change from `from` to `to` in percent of `from` (±infinity from 0).
pub(crate) fn percent(from: u64, to: u64) -> f64 {
    percent_f(from as f64, to as f64)
}

fn percent_f(from: f64, to: f64) -> f64 {
    if from == to {
        0.0
    } else if from == 0.0 {
        f64::INFINITY
    } else {
        (to - from) * 100.0 / from
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::counters::CallCounts;

    #[test]
    fn per_uid_sums_and_names_syscalls() {
        let mut w = Counters::default();
        let getppid = libc::SYS_getppid as u32;
        let fchdir = libc::SYS_fchdir as u32;
        w.syscalls.insert(
            (7, getppid),
            CallCounts {
                count: 10,
                errors: 0,
            },
        );
        w.syscalls.insert(
            (7, fchdir),
            CallCounts {
                count: 4,
                errors: 4,
            },
        );
        let m = &per_uid(&w)[&7];
        assert_eq!(m["syscalls.count"], 14);
        assert_eq!(m["syscalls.errors"], 4);
        assert_eq!(m["syscalls.getppid.count"], 10);
        assert_eq!(m["syscalls.fchdir.errors"], 4);
        assert!(!m.contains_key("latency.p50_ns"));
    }

    #[test]
    fn thresholds_parse_and_cross_exactly_at_their_bound() {
        let t = Threshold::parse("syscalls.errors>+5%").unwrap();
        assert_eq!((t.op, t.bound), (Op::Gt, Bound::Percent(5.0)));
        assert!(t.is_relative());
        assert!(!t.crossed(Some(100), 105), "+5% is not more than +5%");
        assert!(t.crossed(Some(100), 106));
        assert!(t.crossed(Some(0), 1), "from zero is an infinite increase");
        assert!(!t.crossed(Some(0), 0));
        assert!(!t.crossed(None, 1000), "a percent bound needs a diff");

        let t = Threshold::parse(" syscalls.getppid.count >= 1000 ").unwrap();
        assert_eq!((t.op, t.bound), (Op::Ge, Bound::Value(1000.0)));
        assert!(t.crossed(None, 1000));
        assert!(!t.crossed(Some(0), 999));

        let t = Threshold::parse("syscalls.count<-10").unwrap();
        assert_eq!(t.bound, Bound::Change(-10.0));
        assert!(t.crossed(Some(100), 89));
        assert!(!t.crossed(Some(100), 90));

        let t = Threshold::parse("latency.p99_ns<=4096").unwrap();
        assert_eq!(t.op, Op::Le);

        let nr = libc::SYS_getppid;
        let t = Threshold::parse(&format!("syscalls.sys_{nr}.count>0")).unwrap();
        assert_eq!(t.metric, "syscalls.getppid.count", "numbers become names");
        let t = Threshold::parse(&format!("syscalls.sys_0{nr}.errors>0")).unwrap();
        assert_eq!(t.metric, "syscalls.getppid.errors");
    }

    #[test]
    fn intervals_cross_only_when_all_of_them_does() {
        let t = Threshold::parse("faults.minor>100").unwrap();
        let est = |value, ci95| Measure::Estimate { value, ci95 };
        assert_eq!(t.decide(None, est(130, 20)), Decision::Crossed, "110..150");
        assert_eq!(
            t.decide(None, est(120, 20)),
            Decision::Straddles,
            "100..140"
        );
        assert_eq!(t.decide(None, est(70, 30)), Decision::Clear, "40..100");
        assert_eq!(t.compared(None, est(5, 8)), Some((0.0, 13.0)));

        let t = Threshold::parse("faults.major<=4096").unwrap();
        let bracket = |lo, hi| Measure::Bracket { lo, hi };
        assert_eq!(t.decide(None, bracket(1000, 4096)), Decision::Crossed);
        assert_eq!(t.decide(None, bracket(4000, 4097)), Decision::Straddles);
        assert_eq!(t.decide(None, bracket(4097, 9000)), Decision::Clear);

        // A change reads both sides' intervals: 200±10 - 150±10 is 30..70.
        let t = Threshold::parse("faults.minor>+25").unwrap();
        let (from, to) = (Some(est(150, 10)), est(200, 10));
        assert_eq!(t.compared(from, to), Some((30.0, 70.0)));
        assert_eq!(t.decide(from, to), Decision::Crossed);
        let t = Threshold::parse("faults.minor>+40").unwrap();
        assert_eq!(t.decide(from, to), Decision::Straddles);
        // +N%: 140..160 to 190..210 is +18.75% .. +50%.
        let t = Threshold::parse("faults.minor>+20%").unwrap();
        assert_eq!(t.compared(from, to), Some((18.75, 50.0)));
        assert_eq!(t.decide(from, to), Decision::Straddles);
        assert_eq!(t.decide(None, to), Decision::Clear, "a change needs a diff");
        // Exact numbers decide as before.
        assert_eq!(
            t.decide(Some(Measure::Exact(100)), Measure::Exact(121)),
            Decision::Crossed
        );
    }

    #[test]
    fn a_window_with_variances_is_an_estimate_with_its_cis() {
        let spec = memory::spec("pagealloc").unwrap();
        let first = duty::ci_metrics(spec)[0].clone();
        let metric = format!("pagealloc.{first}");
        let mut group = crate::stats::counters::GroupCounters::default();
        group.uids.insert(7, vec![0; spec.slots()]);
        group.uids.insert(8, vec![0; spec.slots()]);
        group.other = vec![0; spec.slots()];
        let mut w = Counters::default();
        w.groups.insert("pagealloc".into(), group.clone());
        assert_eq!(
            Measure::of(&per_uid(&w)[&7], &metric),
            Some(Measure::Exact(0)),
            "no variances: counted at full rate"
        );

        let mut variance = vec![0; duty::ci_metrics(spec).len()];
        variance[0] = 100;
        group.variance.insert(7, variance);
        w.groups.insert("pagealloc".into(), group);
        let m = per_uid(&w);
        assert_eq!(
            Measure::of(&m[&7], &metric),
            Some(Measure::Estimate { value: 0, ci95: 20 }),
            "1.96 x sqrt(100), rounded up"
        );
        assert_eq!(
            Measure::of(&m[&8], &metric),
            Some(Measure::Estimate { value: 0, ci95: 0 }),
            "a UID of an estimated window is an estimate too"
        );
    }

    #[test]
    fn a_threshold_names_the_metric_not_its_companions() {
        let mut names = Vec::new();
        for g in memory::GROUPS {
            names.extend(g.metric_names());
        }
        for companion in names.iter().filter(|n| measure::companion_of(n).is_some()) {
            let e = check_metric(companion).unwrap_err();
            assert!(e.contains("reads the whole interval"), "{e}");
            let of = measure::companion_of(companion).unwrap();
            assert_eq!(check_metric(of), Ok(()), "{of}");
        }
    }

    #[test]
    fn memory_group_metrics_are_named_and_checked() {
        for ok in [
            "faults.minor",
            "memsyscalls.mmap.bytes",
            "reclaim.direct.p99_us",
            "pagealloc.order3",
        ] {
            assert_eq!(check_metric(ok), Ok(()), "{ok}");
        }
        let e = check_metric("faults.minr").unwrap_err();
        assert!(
            e.starts_with(
                "unknown metric \"faults.minr\" of the faults group: valid are faults.minor"
            ),
            "{e}"
        );
        assert!(check_metric("heap.bytes")
            .unwrap_err()
            .contains("<group>.<metric> of the memory groups (faults"));

        let mut w = Counters::default();
        let mut faults = crate::stats::counters::GroupCounters::default();
        faults.uids.insert(7, vec![10, 3, 6, 2]);
        faults.other = vec![0, 0, 0, 0];
        w.groups.insert("faults".into(), faults);
        let m = &per_uid(&w)[&7];
        assert_eq!(
            (
                m["faults.events.all"],
                m["faults.events.minor"],
                m["faults.minor"],
                m["faults.major"]
            ),
            (10, 7, 6, 2)
        );
        assert!(!defaults_to_zero("reclaim.direct.p99_us"));
        assert!(!defaults_to_zero("slab.waste_permille"));
        assert!(defaults_to_zero("faults.minor"));
    }

    #[test]
    fn counts_of_no_uid_leave_a_threshold_on_them_undecided() {
        for (metric, group, bucket) in [
            ("syscalls.count", "syscalls", "overflow.count"),
            ("syscalls.getppid.count", "syscalls", "overflow.count"),
            ("syscalls.errors", "syscalls", "overflow.errors"),
            ("syscalls.fchdir.errors", "syscalls", "overflow.errors"),
            ("latency.p99_ns", "syscalls", "overflow.latency_samples"),
            ("faults.minor", "faults", "faults.other.minor"),
            (
                "reclaim.direct.p99_us",
                "reclaim",
                "reclaim.other.direct.p99_us",
            ),
        ] {
            assert_eq!(
                (group_of(metric), bucket_of(metric).as_str()),
                (group, bucket)
            );
        }
        let mut w = Counters::default();
        w.overflow.count = 40;
        w.overflow.errors = 0;
        let faults = crate::stats::counters::GroupCounters {
            other: vec![0, 0, 10, 2],
            ..Default::default()
        };
        w.groups.insert("faults".into(), faults);
        let u = unattributed(&w);
        assert_eq!(
            (
                u["overflow.count"],
                u["overflow.errors"],
                u["faults.other.minor"]
            ),
            (40, 0, 10)
        );
        assert!(!u.contains_key("slab.other.kmalloc"), "slab was not read");

        let span = Span::of("in the window".into(), &w);
        let t = |text: &str| Threshold::parse(text).unwrap();
        let ts = [
            t("syscalls.count>5"),
            t("syscalls.errors>5"),
            t("faults.major>+1"),
            t("faults.minor>+1"),
        ];
        let got = undetermined(&ts, |_| vec![&span]).unwrap();
        let got: Vec<(&str, &str, Option<u64>)> = got
            .iter()
            .map(|u| (u.threshold.as_str(), u.bucket.as_str(), u.lost))
            .collect();
        assert_eq!(
            got,
            [
                ("syscalls.count>5", "overflow.count", Some(40)),
                ("faults.major>+1", "faults.other.major", Some(2)),
                ("faults.minor>+1", "faults.other.minor", Some(10)),
            ]
        );
        let e = undetermined(&[t("slab.kmalloc>0")], |_| vec![&span]).unwrap_err();
        assert_eq!(
            e,
            "cannot check --fail-if 'slab.kmalloc>0': there are no counts of the slab probe \
             group (in the window)"
        );
        // Read without per-app cgroups: no memcg numbers, not zeros.
        let spec = memory::spec("rss").unwrap();
        let mut rss = crate::stats::counters::GroupCounters {
            other: vec![0; spec.slots()],
            ..Default::default()
        };
        w.groups.insert("rss".into(), rss.clone());
        let span = Span::of("in the window".into(), &w);
        let e = undetermined(&[t("rss.charged.total>0")], |_| vec![&span]).unwrap_err();
        assert!(e.contains("no per-app memory cgroup numbers"), "{e}");
        assert!(!defaults_to_zero("rss.charged.anon") && defaults_to_zero("rss.anon"));
        assert_eq!(memcg_part("rss.chargedx"), None);
        // With them, their bucket of no UID decides as any other.
        let seen = spec.memcg_seen_slot().unwrap();
        rss.other[seen..].copy_from_slice(&[1, 30, 0, 0, 30]);
        w.groups.insert("rss".into(), rss);
        let span = Span::of("in the window".into(), &w);
        let got = undetermined(&[t("rss.charged.anon>0")], |_| vec![&span]).unwrap();
        assert_eq!(
            (got[0].bucket.as_str(), got[0].lost),
            ("rss.other.charged.anon", Some(30))
        );
    }

    #[test]
    fn bad_thresholds_name_what_is_wrong() {
        for (text, says) in [
            ("syscalls.errors", "expected 'METRIC OP VALUE'"),
            ("nonsense>1", "unknown metric \"nonsense\""),
            (
                "syscalls.nosuchcall.count>1",
                "unknown syscall \"nosuchcall\"",
            ),
            ("syscalls.errors>5%", "value \"5%\""),
            ("syscalls.errors>abc", "value \"abc\""),
            ("syscalls.errors>inf", "value \"inf\""),
        ] {
            let e = Threshold::parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}

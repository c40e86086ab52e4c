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
mod tests;

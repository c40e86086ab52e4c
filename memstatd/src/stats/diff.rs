//! `--diff A [B]`: per-UID, per-metric changes between two windows.
//!
//! Each side is a window: its generation's counters up to a moment (a
//! snapshot, or now). Two sides of one generation make an *interval*: the
//! later window contains the earlier, so a change is exactly what happened
//! between the two moments. Sides of two generations that were each started
//! by `--reset` make a *comparison* of two runs, the regression-testing case.
//! A side whose generation began with a reset of the kernel's counters that
//! memstat did not make (a reboot, maps recreated) is refused: its window
//! does not start where the user started it, and what was counted before the
//! reset cannot be accounted for.
//!
//! Only groups read on both sides are compared; the buckets of no UID
//! (overflow, `other`) are diffed beside the UIDs, and a threshold they may
//! hide a crossing from is undetermined (`metrics::Undetermined`).

use super::counters::{Counters, SYSCALLS};
use super::measure;
use super::metrics::{
    self, defaults_to_zero, group_of, percent, Bound, Span, Threshold, UidMetrics, Undetermined,
};
use super::state::{Cause, GenerationInfo};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One side of a diff.
pub(crate) struct Side {
    /// `snapshot "NAME"` or `now`.
    pub(crate) label: String,
    pub(crate) generation: GenerationInfo,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    Interval,
    Comparison,
}

/// Whether `a` and `b` can be diffed, and how.
pub(crate) fn kind(a: &Side, b: &Side) -> Result<Kind, String> {
    // Ids are unique, but a generation is only the same one if it agrees
    // in everything: state lost and rebuilt never passes for continuity.
    if a.generation == b.generation {
        return Ok(Kind::Interval);
    }
    for side in [a, b] {
        if side.generation.cause != Cause::Reset {
            return Err(format!(
                "cannot diff {} (generation {}) with {} (generation {}): {} is in generation {}, \
                 which began with {}, not with --reset, so memstat cannot account for what was \
                 counted before it; start each run with `memstat --reset`, or diff snapshots \
                 of one generation",
                a.label,
                a.generation.id,
                b.label,
                b.generation.id,
                side.label,
                side.generation.id,
                side.generation.cause.describe()
            ));
        }
    }
    Ok(Kind::Comparison)
}

/// A metric's change from one side to the other.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Change {
    pub(crate) metric: String,
    pub(crate) from: u64,
    pub(crate) to: u64,
    pub(crate) delta: i128,
    /// Percent of `from`; `None` (JSON null) when `from` is 0 and `to` is not.
    pub(crate) percent: Option<f64>,
    /// For an estimate: the half-width of the delta's 95% confidence
    /// interval, the two sides' together (a bound: the sides' errors may
    /// partly cancel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ci95: Option<u64>,
}

impl Change {
    fn new(metric: &str, from: u64, to: u64, ci95: Option<u64>) -> Self {
        let p = percent(from, to);
        Change {
            metric: metric.to_owned(),
            from,
            to,
            delta: to as i128 - from as i128,
            percent: p.is_finite().then_some(p),
            ci95,
        }
    }
}

/// Every UID in either window (or, with `wanted`, those UIDs, idle or
/// not), with the changes of every metric either side has (latency metrics
/// only where both sides have them), of the groups both sides have.
pub(crate) fn changes(
    a: &Counters,
    b: &Counters,
    wanted: Option<&[u32]>,
) -> BTreeMap<u32, Vec<Change>> {
    let (ma, mb) = (metrics::per_uid(a), metrics::per_uid(b));
    let mut uids: BTreeSet<u32> = ma.keys().chain(mb.keys()).copied().collect();
    if let Some(keep) = wanted {
        uids = keep.iter().copied().collect();
    }
    let compared = |metric: &str| {
        let g = group_of(metric);
        a.has(g) && b.has(g)
    };
    let empty = UidMetrics::new();
    uids.into_iter()
        .map(|uid| {
            let (from, to) = (
                ma.get(&uid).unwrap_or(&empty),
                mb.get(&uid).unwrap_or(&empty),
            );
            (uid, uid_changes(from, to, &compared))
        })
        .collect()
}

/// Metrics every UID of a diff shows, even at zero.
const ALWAYS: [&str; 2] = ["syscalls.count", "syscalls.errors"];

/// The changes of one UID in the groups `compared` accepts: the totals,
/// and every other metric that is not zero on both sides.
fn uid_changes(from: &UidMetrics, to: &UidMetrics, compared: &dyn Fn(&str) -> bool) -> Vec<Change> {
    let always = ALWAYS.map(String::from);
    let names: BTreeSet<&String> = from.keys().chain(to.keys()).chain(&always).collect();
    let mut changes = names
        .into_iter()
        .filter(|name| compared(name) && !name.ends_with(measure::CI95))
        .filter_map(|name| {
            // A bracket's upper bound is unknown where its lower one is there
            // without it (a UID with no row has neither: 0).
            let unknown = |m: &UidMetrics| {
                let lo = name
                    .strip_suffix(measure::HI)
                    .map(|b| format!("{b}{}", measure::LO));
                lo.is_some_and(|lo| m.contains_key(&lo) && !m.contains_key(name))
            };
            if unknown(from) || unknown(to) {
                return None;
            }
            let (f, t) = match (from.get(name), to.get(name)) {
                (Some(&f), Some(&t)) => (f, t),
                (f, t) if defaults_to_zero(name) => {
                    (f.copied().unwrap_or(0), t.copied().unwrap_or(0))
                }
                _ => return None,
            };
            if f == 0 && t == 0 && !ALWAYS.contains(&name.as_str()) {
                return None;
            }
            let ci = |m: &UidMetrics| m.get(&format!("{name}{}", measure::CI95)).copied();
            let ci95 = match (ci(from), ci(to)) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
            };
            Some(Change::new(name, f, t, ci95))
        })
        .collect::<Vec<_>>();
    // The totals first, then the largest changes.
    changes.sort_by(|a, b| {
        let rank = |c: &Change| {
            ALWAYS
                .iter()
                .position(|m| *m == c.metric)
                .unwrap_or(ALWAYS.len())
        };
        (rank(a), b.delta.unsigned_abs(), &a.metric).cmp(&(
            rank(b),
            a.delta.unsigned_abs(),
            &b.metric,
        ))
    });
    changes
}

/// The changes of the buckets of no UID (`metrics::unattributed`) of the
/// groups both sides have: the syscall group's always, the others' where
/// not zero on both sides.
pub(crate) fn unattributed_changes(a: &Counters, b: &Counters) -> Vec<Change> {
    let (ua, ub) = (metrics::unattributed(a), metrics::unattributed(b));
    ua.iter()
        .filter_map(|(name, &f)| {
            let &t = ub.get(name)?;
            let always = name.starts_with("overflow.");
            (always || f != 0 || t != 0).then(|| Change::new(name, f, t, None))
        })
        .collect()
}

/// A group a diff does not compare: one side has no counts of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct NotCompared {
    pub(crate) group: &'static str,
    pub(crate) why: String,
}

/// The groups a diff of `a` (labelled `from`) and `b` (`to`) leaves out.
pub(crate) fn not_compared(from: (&str, &Counters), to: (&str, &Counters)) -> Vec<NotCompared> {
    std::iter::once(SYSCALLS)
        .chain(crate::probes::memory::GROUPS.iter().map(|g| g.name))
        .filter_map(|group| {
            let (label, side) = [from, to].into_iter().find(|(_, c)| !c.has(group))?;
            Some(NotCompared {
                group,
                why: format!("{label}: {}", side.why_missing(group)),
            })
        })
        .collect()
}

/// The thresholds of a diff of `from` and `to` that the buckets of no UID
/// leave undetermined; `Err` when one is on a group a side lacks. What a
/// threshold reads: its value, the later window; a change, what happened
/// between the sides (the interval, or in a comparison both windows); a
/// percent change, that and the earlier window, its base.
pub(crate) fn undetermined(
    thresholds: &[Threshold],
    kind: Kind,
    from: (&str, &Counters),
    to: (&str, &Counters),
) -> Result<Vec<Undetermined>, String> {
    if thresholds.is_empty() {
        return Ok(Vec::new());
    }
    for t in thresholds {
        let group = group_of(&t.metric);
        if let Some((label, side)) = [from, to].into_iter().find(|(_, c)| !c.has(group)) {
            return Err(format!(
                "cannot check --fail-if '{t}': {label} has no counts of the {group} probe group \
                 ({})",
                side.why_missing(group)
            ));
        }
        let part = metrics::memcg_part(&t.metric);
        let no_memcg = [from, to]
            .into_iter()
            .find_map(|(label, c)| Some((label, metrics::why_no_memcg(c, part?)?)));
        if let Some((label, why)) = no_memcg {
            return Err(format!("cannot check --fail-if '{t}': {label}: {why}"));
        }
    }
    let window =
        |(label, c): (&str, &Counters)| Span::of(format!("in the window up to {label}"), c);
    let (earlier, later) = (window(from), window(to));
    // Both sides are windows of one generation: the later holds the earlier.
    let interval = match kind {
        Kind::Interval => Some(Span::of(
            format!("between {} and {}", from.0, to.0),
            &to.1.since(from.1).unwrap_or_else(|_| to.1.clone()),
        )),
        Kind::Comparison => None,
    };
    metrics::undetermined(thresholds, |t| match (t.bound, &interval) {
        (Bound::Value(_), _) => vec![&later],
        (Bound::Change(_), Some(i)) => vec![i],
        (Bound::Percent(_), Some(i)) => vec![i, &earlier],
        (_, None) => vec![&earlier, &later],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::counters::CallCounts;

    fn info(id: u64, cause: Cause) -> GenerationInfo {
        GenerationInfo {
            id,
            started_ms: 0,
            cause,
        }
    }

    fn side(label: &str, g: &GenerationInfo) -> Side {
        Side {
            label: label.into(),
            generation: g.clone(),
        }
    }

    #[test]
    fn kinds_follow_the_generations() {
        let (g2, g3) = (info(2, Cause::Reset), info(3, Cause::Reset));
        let auto = info(
            4,
            Cause::CountersReset {
                reason: "the machine rebooted".into(),
            },
        );
        let first = info(1, Cause::FirstStart);
        assert_eq!(kind(&side("a", &g2), &side("b", &g2)), Ok(Kind::Interval));
        assert_eq!(kind(&side("a", &g2), &side("b", &g3)), Ok(Kind::Comparison));
        let e = kind(&side("snapshot 'a'", &g3), &side("now", &auto)).unwrap_err();
        assert!(e.contains("now is in generation 4"), "{e}");
        assert!(e.contains("rebooted"), "{e}");
        assert!(kind(&side("a", &first), &side("b", &g3)).is_err());
        assert_eq!(
            kind(&side("a", &auto), &side("b", &auto)),
            Ok(Kind::Interval)
        );
        // The same id with another start is another generation.
        let mut g3_again = g3.clone();
        g3_again.started_ms += 1;
        assert_eq!(
            kind(&side("a", &g3), &side("b", &g3_again)),
            Ok(Kind::Comparison)
        );
    }

    #[test]
    fn an_unknown_upper_bound_is_no_change_and_a_missing_row_is_zero() {
        let m = |pairs: &[(&str, u64)]| -> UidMetrics {
            pairs.iter().map(|&(k, v)| (k.to_owned(), v)).collect()
        };
        let none = m(&[]);
        let known = m(&[("rss.peak.lo", 5), ("rss.peak.hi", 9)]);
        let open = m(&[("rss.peak.lo", 7)]);
        let names = |c: Vec<Change>| -> Vec<(String, u64, u64)> {
            c.into_iter().map(|c| (c.metric, c.from, c.to)).collect()
        };
        let all = |_: &str| true;
        let got = names(uid_changes(&none, &known, &all));
        assert!(got.contains(&("rss.peak.hi".into(), 0, 9)), "{got:?}");
        let got = names(uid_changes(&known, &open, &all));
        assert!(got.contains(&("rss.peak.lo".into(), 5, 7)), "{got:?}");
        assert!(!got.iter().any(|(n, ..)| n == "rss.peak.hi"), "{got:?}");
    }

    #[test]
    fn changes_are_exact_with_percentages() {
        let nr = libc::SYS_getppid as u32;
        let mut a = Counters::default();
        a.syscalls.insert(
            (7, nr),
            CallCounts {
                count: 200,
                errors: 0,
            },
        );
        let mut b = Counters::default();
        b.syscalls.insert(
            (7, nr),
            CallCounts {
                count: 250,
                errors: 0,
            },
        );
        b.syscalls.insert(
            (8, nr),
            CallCounts {
                count: 5,
                errors: 1,
            },
        );
        let c = changes(&a, &b, None);
        let count = c[&7].iter().find(|c| c.metric == "syscalls.count").unwrap();
        assert_eq!((count.from, count.to, count.delta), (200, 250, 50));
        assert_eq!(count.percent, Some(25.0));
        let new = c[&8]
            .iter()
            .find(|c| c.metric == "syscalls.errors")
            .unwrap();
        assert_eq!((new.from, new.to, new.delta, new.percent), (0, 1, 1, None));
        let same = c[&7]
            .iter()
            .find(|c| c.metric == "syscalls.errors")
            .unwrap();
        assert_eq!(same.percent, Some(0.0));
        assert!(
            !c[&7].iter().any(|c| c.metric == "syscalls.getppid.errors"),
            "zero on both sides: left out"
        );
        let idle = &changes(&a, &b, Some(&[9]))[&9];
        let names: Vec<&str> = idle.iter().map(|c| c.metric.as_str()).collect();
        assert_eq!(names, ["syscalls.count", "syscalls.errors"]);
    }

    /// A window of one generation with `calls` getppid of uid 7 and
    /// `overflow` calls of no UID; the syscall group missing if `None`.
    fn window(calls: u64, overflow: Option<u64>) -> Counters {
        let mut w = Counters::default();
        w.syscalls.insert(
            (7, libc::SYS_getppid as u32),
            CallCounts {
                count: calls,
                errors: 0,
            },
        );
        match overflow {
            Some(n) => w.overflow.count = n,
            None => {
                w.syscalls.clear();
                w.missing.insert(SYSCALLS.into(), "pin gone".into());
            }
        }
        w
    }

    #[test]
    fn only_groups_both_sides_have_are_compared() {
        let (a, b) = (window(10, Some(0)), window(0, None));
        let c = changes(&a, &b, Some(&[7]));
        assert!(
            c[&7].is_empty(),
            "no syscall changes from a missing side: {c:?}"
        );
        assert!(unattributed_changes(&a, &b).is_empty());
        let n = not_compared(("snapshot \"a\"", &a), ("now", &b));
        assert_eq!(n[0].group, "syscalls");
        assert_eq!(
            n[0].why,
            "now: the syscalls probe group is unavailable: pin gone"
        );
        let t = Threshold::parse("syscalls.count>+1").unwrap();
        let e = undetermined(&[t], Kind::Interval, ("snapshot \"a\"", &a), ("now", &b));
        assert_eq!(
            e.unwrap_err(),
            "cannot check --fail-if 'syscalls.count>+1': now has no counts of the syscalls probe \
             group (the syscalls probe group is unavailable: pin gone)"
        );
    }

    #[test]
    fn a_threshold_reads_what_its_bound_needs() {
        // 3 calls of no UID before the earlier side, 5 more after it.
        let (a, b) = (window(10, Some(3)), window(20, Some(8)));
        let rows = unattributed_changes(&a, &b);
        let count = rows.iter().find(|c| c.metric == "overflow.count").unwrap();
        assert_eq!((count.from, count.to, count.delta), (3, 8, 5));
        assert_eq!(rows.len(), 3, "count, errors and latency samples: {rows:?}");
        let lost = |text: &str, kind, a: &Counters, b: &Counters| {
            let t = Threshold::parse(text).unwrap();
            undetermined(&[t], kind, ("snapshot \"a\"", a), ("now", b))
                .unwrap()
                .into_iter()
                .map(|u| (u.lost, u.span))
                .collect::<Vec<_>>()
        };
        let between = "between snapshot \"a\" and now".to_owned();
        assert_eq!(
            lost("syscalls.count>+1", Kind::Interval, &a, &b),
            [(Some(5), between.clone())]
        );
        assert_eq!(
            lost("syscalls.count>1", Kind::Interval, &a, &b),
            [(Some(8), "in the window up to now".to_owned())]
        );
        assert_eq!(
            lost("syscalls.count>+1%", Kind::Interval, &a, &b),
            [(Some(5), between)]
        );
        // Lost before the earlier side only: a change is exact, a percent's
        // base is not.
        let b = window(20, Some(3));
        assert!(lost("syscalls.count>+1", Kind::Interval, &a, &b).is_empty());
        assert_eq!(
            lost("syscalls.count>+1%", Kind::Interval, &a, &b),
            [(Some(3), "in the window up to snapshot \"a\"".to_owned())]
        );
        assert_eq!(
            lost("syscalls.count>+1", Kind::Comparison, &a, &b),
            [(Some(3), "in the window up to snapshot \"a\"".to_owned())]
        );
        let clean = window(20, Some(0));
        let a = window(10, Some(0));
        assert!(lost("syscalls.count>+1", Kind::Comparison, &a, &clean).is_empty());
    }
}

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

use super::counters::Counters;
use super::metrics::{self, defaults_to_zero, percent, UidMetrics};
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
}

/// Every UID in either window, with the changes of every metric either
/// side has (latency metrics only where both sides have them).
pub(crate) fn changes(a: &Counters, b: &Counters) -> BTreeMap<u32, Vec<Change>> {
    let (ma, mb) = (metrics::per_uid(a), metrics::per_uid(b));
    let uids: BTreeSet<u32> = ma.keys().chain(mb.keys()).copied().collect();
    let empty = UidMetrics::new();
    uids.into_iter()
        .map(|uid| {
            let (from, to) = (
                ma.get(&uid).unwrap_or(&empty),
                mb.get(&uid).unwrap_or(&empty),
            );
            (uid, uid_changes(from, to))
        })
        .collect()
}

/// Metrics every UID of a diff shows, even at zero.
const ALWAYS: [&str; 2] = ["syscalls.count", "syscalls.errors"];

/// The changes of one UID: the totals, and every other metric that is not
/// zero on both sides.
pub(crate) fn uid_changes(from: &UidMetrics, to: &UidMetrics) -> Vec<Change> {
    let always = ALWAYS.map(String::from);
    let names: BTreeSet<&String> = from.keys().chain(to.keys()).chain(&always).collect();
    let mut changes = names
        .into_iter()
        .filter_map(|name| {
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
            let p = percent(f, t);
            Some(Change {
                metric: name.clone(),
                from: f,
                to: t,
                delta: t as i128 - f as i128,
                percent: p.is_finite().then_some(p),
            })
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
        let c = changes(&a, &b);
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
        let idle = uid_changes(&UidMetrics::new(), &UidMetrics::new());
        let names: Vec<&str> = idle.iter().map(|c| c.metric.as_str()).collect();
        assert_eq!(names, ["syscalls.count", "syscalls.errors"]);
    }
}

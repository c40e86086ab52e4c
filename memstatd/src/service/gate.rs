//! `--fail-if`: what the thresholds make of each UID's metrics, read with
//! what each number is (`stats::measure`), and whether the gate fails.

use super::Outcome;
use crate::report::model::{Crossing, MAX_LISTED_CROSSINGS};
use crate::stats::measure::Measure;
use crate::stats::metrics::{self, Decision, Threshold, UidMetrics, Undetermined};

/// The crossings to list, and how many there were.
pub(super) fn listed(mut failed: Vec<Crossing>) -> (Vec<Crossing>, usize) {
    let total = failed.len();
    failed.truncate(MAX_LISTED_CROSSINGS);
    (failed, total)
}

/// A gate fails when a threshold was crossed, and when one could not be
/// decided: it never passes on counts it could not see, nor on an interval
/// that lies on both sides of its bound.
pub(super) fn outcome(
    failed: &[Crossing],
    straddling: &[Crossing],
    undetermined: &[Undetermined],
) -> Outcome {
    if failed.is_empty() && straddling.is_empty() && undetermined.is_empty() {
        Outcome::Done
    } else {
        Outcome::ThresholdCrossed
    }
}

/// The thresholds one UID's metrics cross, into `gate.failed`, and those
/// whose metric's interval (an estimate's or a bracket's) lies on both sides
/// of the bound, into `gate.straddling`. Without a diff `from` is `None`.
pub(super) fn crossings(
    gate: &mut Gate,
    thresholds: &[Threshold],
    uid: u32,
    from: Option<&UidMetrics>,
    to: &UidMetrics,
) {
    let value = |m: &UidMetrics, metric: &str| {
        Measure::of(m, metric)
            .or_else(|| metrics::defaults_to_zero(metric).then_some(Measure::ZERO))
    };
    for t in thresholds {
        let Some(to_v) = value(to, &t.metric) else {
            continue;
        };
        let from_v = match from {
            Some(f) => match value(f, &t.metric) {
                Some(v) => Some(v),
                None => continue,
            },
            None => None,
        };
        let point = |m: Measure| match m {
            Measure::Exact(v) | Measure::Estimate { value: v, .. } => v,
            // With no upper bound, what is known.
            Measure::Bracket { lo, hi: u64::MAX } => lo,
            Measure::Bracket { hi, .. } => hi,
        };
        let exact = from_v
            .into_iter()
            .chain([to_v])
            .all(|m| m.kind() == "exact");
        let crossing = |range: Option<[f64; 2]>| Crossing {
            threshold: t.text.clone(),
            uid,
            metric: t.metric.clone(),
            from: from_v.map(point),
            to: point(to_v),
            range,
        };
        let range = || {
            let (lo, hi) = t.compared(from_v, to_v)?;
            (!exact).then_some([lo, hi])
        };
        match t.decide(from_v, to_v) {
            Decision::Clear => {}
            Decision::Crossed => gate.failed.push(crossing(range())),
            Decision::Straddles => gate.straddling.push(crossing(range())),
        }
    }
}

/// What the thresholds made of every UID checked.
#[derive(Default)]
pub(super) struct Gate {
    pub(super) failed: Vec<Crossing>,
    pub(super) straddling: Vec<Crossing>,
}

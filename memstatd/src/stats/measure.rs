//! What a number is: counted exactly, bracketed, or estimated.
//!
//! Metrics stay `name → u64` everywhere (windows, snapshots, JSON); what a
//! number is shows in its companions:
//!
//! - an exact metric `X` has none;
//! - a bracket is `X.lo` and `X.hi`, with no `X` (the truth lies between,
//!   e.g. a UID's peak RSS between polls); `X.lo` alone is a bracket with no
//!   known upper bound (the truth is at least `X.lo`);
//! - an estimate is `X` and `X.ci95`, the half-width of its 95% confidence
//!   interval in the unit of `X` (e.g. pages attributed from duty-cycled
//!   windows).
//!
//! A threshold on `X` reads the whole interval: it is crossed only where
//! every value in it crosses, clear only where none does, and undecided
//! otherwise.

use std::collections::BTreeMap;

/// The lower bound of a bracket.
pub(crate) const LO: &str = ".lo";
/// The upper bound of a bracket.
pub(crate) const HI: &str = ".hi";
/// The half-width of an estimate's 95% confidence interval.
pub(crate) const CI95: &str = ".ci95";

/// One metric of one UID, with what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Measure {
    /// Counted: this is the number.
    Exact(u64),
    /// The number lies in `[lo, hi]`.
    Bracket { lo: u64, hi: u64 },
    /// The number is `value ± ci95` with 95% confidence.
    Estimate { value: u64, ci95: u64 },
}

impl Measure {
    /// `metric` of `metrics`, read with its companions; `None` where it has
    /// no value.
    pub(crate) fn of(metrics: &BTreeMap<String, u64>, metric: &str) -> Option<Self> {
        let get = |suffix: &str| metrics.get(&format!("{metric}{suffix}")).copied();
        if let Some(lo) = get(LO) {
            let hi = get(HI).unwrap_or(u64::MAX);
            return Some(Measure::Bracket { lo, hi });
        }
        let value = metrics.get(metric).copied()?;
        Some(match get(CI95) {
            Some(ci95) => Measure::Estimate { value, ci95 },
            None => Measure::Exact(value),
        })
    }

    /// A measure of zero: what a UID without counts of an exact metric has.
    pub(crate) const ZERO: Measure = Measure::Exact(0);

    /// The interval the number lies in (an estimate's 95% CI, cut at zero).
    pub(crate) fn range(self) -> (f64, f64) {
        match self {
            Measure::Exact(v) => (v as f64, v as f64),
            Measure::Bracket { lo, hi } => (lo as f64, hi as f64),
            Measure::Estimate { value, ci95 } => (
                (value as f64 - ci95 as f64).max(0.0),
                value as f64 + ci95 as f64,
            ),
        }
    }

    /// `exact`, `bracket` or `estimate`, as JSON and the text name them.
    pub(crate) fn kind(self) -> &'static str {
        match self {
            Measure::Exact(_) => "exact",
            Measure::Bracket { .. } => "bracket",
            Measure::Estimate { .. } => "estimate",
        }
    }

    /// The number as text, each value through `unit`: `12`, `10..14`,
    /// `≥10` (no upper bound), `12±2`.
    pub(crate) fn show(self, unit: impl Fn(u64) -> String) -> String {
        match self {
            Measure::Exact(v) => unit(v),
            Measure::Bracket { lo, hi: u64::MAX } => format!("\u{2265}{}", unit(lo)),
            Measure::Bracket { lo, hi } => format!("{}..{}", unit(lo), unit(hi)),
            Measure::Estimate { value, ci95 } => format!("{}±{}", unit(value), unit(ci95)),
        }
    }
}

/// The metric a companion belongs to (`rss.peak` of `rss.peak.lo`), or
/// `None` for a metric that is not a companion.
pub(crate) fn companion_of(metric: &str) -> Option<&str> {
    [LO, HI, CI95]
        .iter()
        .find_map(|suffix| metric.strip_suffix(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|&(k, v)| (k.to_owned(), v)).collect()
    }

    #[test]
    fn companions_say_what_a_number_is() {
        let m = metrics(&[
            ("faults.minor", 7),
            ("rss.peak.lo", 100),
            ("rss.peak.hi", 140),
            ("pagealloc.pages", 50),
            ("pagealloc.pages.ci95", 8),
        ]);
        assert_eq!(Measure::of(&m, "faults.minor"), Some(Measure::Exact(7)));
        assert_eq!(
            Measure::of(&m, "rss.peak"),
            Some(Measure::Bracket { lo: 100, hi: 140 })
        );
        assert_eq!(
            Measure::of(&m, "pagealloc.pages"),
            Some(Measure::Estimate { value: 50, ci95: 8 })
        );
        assert_eq!(Measure::of(&m, "faults.major"), None);
        // No upper bound known: at least lo.
        let open = metrics(&[("rss.peak.lo", 100)]);
        let at_least = Measure::Bracket {
            lo: 100,
            hi: u64::MAX,
        };
        assert_eq!(Measure::of(&open, "rss.peak"), Some(at_least));
        assert_eq!(at_least.show(|v| v.to_string()), "\u{2265}100");
        assert_eq!(companion_of("rss.peak.hi"), Some("rss.peak"));
        assert_eq!(
            companion_of("pagealloc.pages.ci95"),
            Some("pagealloc.pages")
        );
        assert_eq!(companion_of("faults.minor"), None);
    }

    #[test]
    fn ranges_and_text() {
        let est = Measure::Estimate { value: 5, ci95: 8 };
        assert_eq!(est.range(), (0.0, 13.0), "an estimate is never below zero");
        assert_eq!(Measure::Bracket { lo: 3, hi: 9 }.range(), (3.0, 9.0));
        assert_eq!(Measure::Exact(4).range(), (4.0, 4.0));
        assert_eq!(est.show(|v| v.to_string()), "5±8");
        assert_eq!(
            Measure::Bracket { lo: 3, hi: 9 }.show(|v| v.to_string()),
            "3..9"
        );
        assert_eq!([est.kind(), Measure::ZERO.kind()], ["estimate", "exact"]);
    }
}

//! The duty-cycle estimator: per-UID cumulative estimates and variances of a
//! group's slots, grown one duty period at a time, so that a window
//! (`now - baseline`) of both is a sum over the periods it holds.
//!
//! Period k: the programs counted `c` (per row and slot) while attached for
//! a window at a random phase. A slot's family has an exact total `T` over
//! the whole period (a `/proc/vmstat` delta, or the period's length) and
//! `C`, what the window saw of it (events of every row, or the window's
//! length). A row's density is `d = c / C` and its estimate `x = T d`.
//!
//! One window per period cannot show its own sampling error, so the
//! variance of a metric comes from successive periods (von Neumann):
//! `v_k = (m(T_k d_k) - m(T_k d_(k-1)))^2 / 2`, which is the variance of
//! `x_k` where the row's share is steady, and larger where it changes (a
//! row new or gone counts against a density of zero). It adds over
//! periods like the estimate, and the 95% CI of a window is
//! `1.96 sqrt(sum v)`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A group's metric function: named metrics of one row's slots.
pub(crate) type Metrics<'a> = &'a dyn Fn(&[u64]) -> Vec<(String, u64)>;

/// What one slot is scaled by in a period: the exact `total` of its family
/// over the period and what the window `observed` of it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Scale {
    pub(crate) total: f64,
    pub(crate) observed: f64,
}

impl Scale {
    fn density(self, count: u64) -> f64 {
        if self.observed > 0.0 {
            count as f64 / self.observed
        } else {
            0.0
        }
    }
}

/// One row's cumulative estimate (per slot), variance (per metric with a
/// CI) and the densities of the last window it was seen in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RowState {
    pub(crate) est: Vec<f64>,
    pub(crate) var: Vec<f64>,
    /// Empty when the row was not in the last window.
    pub(crate) prev: Vec<f64>,
}

/// Every row of one group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Estimator {
    pub(crate) uids: BTreeMap<u32, RowState>,
    pub(crate) other: RowState,
    /// Duty windows folded in.
    pub(crate) windows: u64,
}

/// Counts of one window or one exact stretch: per UID and the other bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Rows {
    pub(crate) uids: BTreeMap<u32, Vec<u64>>,
    pub(crate) other: Vec<u64>,
}

/// The estimate of a window and its variance (rounded up), per row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Estimate {
    pub(crate) uids: BTreeMap<u32, (Vec<u64>, Vec<u128>)>,
    pub(crate) other: (Vec<u64>, Vec<u128>),
}

/// The 95% CI half-width of a variance.
pub(crate) fn ci95(variance: u128) -> u64 {
    (1.96 * (variance as f64).sqrt()).ceil() as u64
}

impl Estimator {
    /// Folds one period's window: `window` holds the counts the programs
    /// made while attached, `scales` what each slot is scaled by, `ci` the
    /// metrics that get a variance (linear in the slots), in order.
    pub(crate) fn fold_window(
        &mut self,
        window: &Rows,
        scales: &[Scale],
        metrics: Metrics,
        ci: &[&str],
    ) {
        let empty: Vec<u64> = Vec::new();
        let mut keys: Vec<u32> = window.uids.keys().copied().collect();
        keys.extend(
            self.uids
                .iter()
                .filter(|(_, r)| !r.prev.is_empty())
                .map(|(u, _)| *u),
        );
        keys.sort_unstable();
        keys.dedup();
        for uid in keys {
            let counts = window.uids.get(&uid).unwrap_or(&empty);
            let row = self.uids.entry(uid).or_default();
            fold_row(
                row,
                counts,
                window.uids.contains_key(&uid),
                scales,
                metrics,
                ci,
            );
        }
        let seen = window.other.iter().any(|&c| c != 0);
        if seen || !self.other.prev.is_empty() {
            fold_row(&mut self.other, &window.other, seen, scales, metrics, ci);
        }
        self.windows += 1;
    }

    /// Adds counts made with the programs attached all along: exact, or
    /// sampled one event in `sample_every` (each counted as that many), whose
    /// thinning adds `(N - 1) sum_i a_i^2 x_i` to a metric `sum_i a_i x_i`.
    pub(crate) fn add_counted(
        &mut self,
        counted: &Rows,
        sample_every: u32,
        metrics: Metrics,
        ci: &[&str],
    ) {
        let slots = counted.other.len();
        let weights = (sample_every > 1).then(|| coefficients(slots, metrics, ci));
        let add = |row: &mut RowState, counts: &[u64]| {
            grow(&mut row.est, counts.len());
            grow(&mut row.var, ci.len());
            for (e, &c) in row.est.iter_mut().zip(counts) {
                *e += c as f64;
            }
            if let Some(a) = &weights {
                let n = f64::from(sample_every) - 1.0;
                for (v, a) in row.var.iter_mut().zip(a) {
                    let sum: f64 = a.iter().zip(counts).map(|(a, &c)| a * a * c as f64).sum();
                    *v += n * sum;
                }
            }
        };
        for (uid, counts) in &counted.uids {
            add(self.uids.entry(*uid).or_default(), counts);
        }
        if counted.other.iter().any(|&c| c != 0) {
            add(&mut self.other, &counted.other);
        }
    }

    /// The cumulative estimate, slots rounded down (so it never goes back)
    /// and variances rounded up.
    pub(crate) fn estimate(&self, slots: usize, ci: usize) -> Estimate {
        let row = |r: &RowState| {
            let mut est: Vec<u64> = r.est.iter().map(|&e| e.max(0.0) as u64).collect();
            let mut var: Vec<u128> = r.var.iter().map(|&v| v.max(0.0).ceil() as u128).collect();
            est.resize(slots, 0);
            var.resize(ci, 0);
            (est, var)
        };
        Estimate {
            uids: self
                .uids
                .iter()
                .map(|(u, r)| (*u, row(r)))
                .filter(|(_, (e, v))| e.iter().any(|&x| x != 0) || v.iter().any(|&x| x != 0))
                .collect(),
            other: row(&self.other),
        }
    }
}

fn grow<T: Clone + Default>(v: &mut Vec<T>, len: usize) {
    if v.len() < len {
        v.resize(len, T::default());
    }
}

/// One row's part of [`Estimator::fold_window`]; `seen`: the row is in the
/// window (its densities become the previous ones).
fn fold_row(
    row: &mut RowState,
    counts: &[u64],
    seen: bool,
    scales: &[Scale],
    metrics: Metrics,
    ci: &[&str],
) {
    let n = scales.len();
    grow(&mut row.est, n);
    grow(&mut row.var, ci.len());
    let density: Vec<f64> = (0..n)
        .map(|i| scales[i].density(counts.get(i).copied().unwrap_or(0)))
        .collect();
    let est: Vec<f64> = (0..n).map(|i| scales[i].total * density[i]).collect();
    let pseudo: Vec<f64> = (0..n)
        .map(|i| scales[i].total * row.prev.get(i).copied().unwrap_or(0.0))
        .collect();
    let now = named(metrics, &est);
    let then = named(metrics, &pseudo);
    for (v, name) in row.var.iter_mut().zip(ci) {
        let get = |m: &BTreeMap<String, u64>| m.get(*name).copied().unwrap_or(0) as f64;
        let d = get(&now) - get(&then);
        *v += d * d / 2.0;
    }
    for (e, x) in row.est.iter_mut().zip(est) {
        *e += x;
    }
    row.prev = if seen { density } else { Vec::new() };
}

fn named(metrics: Metrics, slots: &[f64]) -> BTreeMap<String, u64> {
    let rounded: Vec<u64> = slots.iter().map(|&x| x.round() as u64).collect();
    metrics(&rounded).into_iter().collect()
}

/// `a[m][i]`: how much slot `i` weighs in metric `ci[m]`, found by adding
/// one to the slot over a base of distinct large values (so differences
/// between slots stay positive).
fn coefficients(slots: usize, metrics: Metrics, ci: &[&str]) -> Vec<Vec<f64>> {
    let base: Vec<u64> = (0..slots as u64).map(|i| (i + 1) << 20).collect();
    let at_base = metrics(&base).into_iter().collect::<BTreeMap<_, _>>();
    let mut a = vec![vec![0.0; slots]; ci.len()];
    for i in 0..slots {
        let mut one = base.clone();
        one[i] += 1;
        let m: BTreeMap<String, u64> = metrics(&one).into_iter().collect();
        for (row, name) in a.iter_mut().zip(ci) {
            let get = |m: &BTreeMap<String, u64>| m.get(*name).copied().unwrap_or(0) as f64;
            row[i] = get(&m) - get(&at_base);
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two slots; metrics: `a` (slot 0), `sum` (both), `pages` (slot 0 plus
    /// four times slot 1).
    fn metrics(s: &[u64]) -> Vec<(String, u64)> {
        vec![
            ("a".into(), s[0]),
            ("sum".into(), s[0] + s[1]),
            ("pages".into(), s[0] + 4 * s[1]),
        ]
    }
    const CI: [&str; 3] = ["a", "sum", "pages"];

    fn rows(uids: &[(u32, [u64; 2])]) -> Rows {
        Rows {
            uids: uids.iter().map(|(u, c)| (*u, c.to_vec())).collect(),
            other: vec![0, 0],
        }
    }

    fn scale(total: f64, observed: f64) -> Scale {
        Scale { total, observed }
    }

    #[test]
    fn a_window_scales_each_row_to_the_total() {
        let mut e = Estimator::default();
        // 1000 events in the period; the window saw 100: 30 + 70.
        let s = [scale(1000.0, 100.0), scale(3200.0, 1.0)];
        e.fold_window(&rows(&[(1, [30, 2]), (2, [70, 0])]), &s, &metrics, &CI);
        let out = e.estimate(2, 3);
        // uid 1: 30/100 of 1000; slot 1 by time: 2 per attached second over 3200 s.
        assert_eq!(out.uids[&1].0, vec![300, 6400]);
        assert_eq!(out.uids[&2].0, vec![700, 0]);
        // First window: no previous density, so v = m^2 / 2.
        assert_eq!(
            out.uids[&1].1,
            vec![300 * 300 / 2, 6700 * 6700 / 2, 25900 * 25900 / 2]
        );
        assert_eq!(out.uids[&2].1, vec![245_000, 245_000, 245_000]);
        assert_eq!(e.windows, 1);
    }

    #[test]
    fn variance_comes_from_successive_windows_and_adds_up() {
        let mut e = Estimator::default();
        let s = |t| [scale(t, 100.0), scale(0.0, 1.0)];
        e.fold_window(&rows(&[(1, [30, 0])]), &s(1000.0), &metrics, &CI);
        let first = e.estimate(2, 3);
        // Share 40% of 2000: 800, against 30% of 2000 = 600 before.
        e.fold_window(&rows(&[(1, [40, 0])]), &s(2000.0), &metrics, &CI);
        let second = e.estimate(2, 3);
        assert_eq!(second.uids[&1].0, vec![1100, 0]);
        let added: Vec<u128> = (0..3)
            .map(|m| second.uids[&1].1[m] - first.uids[&1].1[m])
            .collect();
        assert_eq!(added, vec![20_000, 20_000, 20_000]);
        // A steady share adds nothing: the estimate is exact then.
        e.fold_window(&rows(&[(1, [40, 0])]), &s(500.0), &metrics, &CI);
        let third = e.estimate(2, 3);
        assert_eq!(third.uids[&1].0, vec![1300, 0]);
        assert_eq!(third.uids[&1].1, second.uids[&1].1);
    }

    #[test]
    fn a_row_gone_from_the_window_counts_against_its_last_share() {
        let mut e = Estimator::default();
        let s = [scale(1000.0, 100.0), scale(0.0, 1.0)];
        e.fold_window(&rows(&[(1, [50, 0]), (2, [50, 0])]), &s, &metrics, &CI);
        let before = e.estimate(2, 3).uids[&2].1.clone();
        e.fold_window(&rows(&[(1, [100, 0])]), &s, &metrics, &CI);
        let after = e.estimate(2, 3);
        assert_eq!(after.uids[&2].0, vec![500, 0]);
        // Its 50% of 1000 might have been outside the window: (0 - 500)^2 / 2.
        assert_eq!(after.uids[&2].1[0] - before[0], 125_000);
        // Unseen twice: nothing more.
        e.fold_window(&rows(&[(1, [100, 0])]), &s, &metrics, &CI);
        assert_eq!(e.estimate(2, 3).uids[&2], after.uids[&2]);
    }

    #[test]
    fn a_window_is_the_difference_of_two_estimates() {
        let mut e = Estimator::default();
        let s = [scale(1000.0, 100.0), scale(10.0, 1.0)];
        for c in [[10, 1], [20, 0], [15, 3]] {
            e.fold_window(&rows(&[(7, c)]), &s, &metrics, &CI);
        }
        let base = e.estimate(2, 3);
        e.fold_window(&rows(&[(7, [25, 2])]), &s, &metrics, &CI);
        let now = e.estimate(2, 3);
        let est: Vec<u64> = (0..2)
            .map(|i| now.uids[&7].0[i] - base.uids[&7].0[i])
            .collect();
        assert_eq!(est, vec![250, 20]);
        // Previous densities 0.15 and 3: pseudo 150, 30; now 250, 20.
        let var: Vec<u128> = (0..3)
            .map(|m| now.uids[&7].1[m] - base.uids[&7].1[m])
            .collect();
        let (a, sum, pages) = (100.0f64, 90.0f64, 60.0f64);
        assert_eq!(
            var,
            vec![
                (a * a / 2.0) as u128,
                (sum * sum / 2.0) as u128,
                (pages * pages / 2.0) as u128
            ]
        );
    }

    #[test]
    fn counted_stretches_are_exact_or_carry_their_thinning() {
        let mut e = Estimator::default();
        e.add_counted(&rows(&[(3, [10, 2])]), 1, &metrics, &CI);
        assert_eq!(e.estimate(2, 3).uids[&3], (vec![10, 2], vec![0, 0, 0]));
        // One in 4 counted as 4: var = 3 * sum a^2 x.
        e.add_counted(&rows(&[(3, [8, 4])]), 4, &metrics, &CI);
        let (est, var) = e.estimate(2, 3).uids[&3].clone();
        assert_eq!(est, vec![18, 6]);
        assert_eq!(var, vec![3 * 8, 3 * (8 + 4), 3 * (8 + 16 * 4)]);
    }

    #[test]
    fn nothing_seen_scales_to_nothing_and_ci_rounds_up() {
        let mut e = Estimator::default();
        e.fold_window(
            &rows(&[]),
            &[scale(1000.0, 0.0), scale(1.0, 0.0)],
            &metrics,
            &CI,
        );
        assert_eq!(
            e.estimate(2, 3),
            Estimate {
                uids: BTreeMap::new(),
                other: (vec![0, 0], vec![0, 0, 0]),
            }
        );
        assert_eq!(ci95(0), 0);
        assert_eq!(ci95(100), 20);
        assert_eq!(ci95(2), 3);
    }
}

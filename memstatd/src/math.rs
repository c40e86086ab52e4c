//! Arithmetic the probes and the statistics share, kept in a leaf so that
//! neither depends on the other for it.

/// The sum of counters that may come from a file or another process: it
/// saturates rather than overflow.
pub(crate) fn saturating_sum<'a>(values: impl IntoIterator<Item = &'a u64>) -> u64 {
    values.into_iter().fold(0, |a, &b| a.saturating_add(b))
}

/// The upper bound of the log2 bucket holding quantile `p` (so at most twice
/// the true value), in the histogram's unit; `None` for an empty histogram.
pub(crate) fn percentile(hist: &[u64], p: f64) -> Option<u64> {
    let total = saturating_sum(hist);
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * p).ceil().max(1.0) as u64;
    let mut seen = 0u64;
    for (b, &n) in hist.iter().enumerate() {
        seen = seen.saturating_add(n);
        if seen >= rank {
            return Some(1u64 << (b + 1));
        }
    }
    Some(1u64 << hist.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_saturate() {
        assert_eq!(saturating_sum(&[1, 2, 3]), 6);
        assert_eq!(saturating_sum(&[u64::MAX, 1]), u64::MAX);
    }

    #[test]
    fn percentiles_are_bucket_upper_bounds() {
        let mut h = [0u64; 32];
        h[10] = 50; // [1024, 2048) ns
        h[20] = 49;
        h[23] = 1;
        assert_eq!(percentile(&h, 0.50), Some(2048));
        assert_eq!(percentile(&h, 0.51), Some(1 << 21));
        assert_eq!(percentile(&h, 0.99), Some(1 << 21));
        assert_eq!(percentile(&h, 1.0), Some(1 << 24));
        assert_eq!(percentile(&[0; 32], 0.5), None);
    }
}

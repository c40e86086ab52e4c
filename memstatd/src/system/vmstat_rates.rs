//! Rates per second between two `/proc/vmstat` samples. The counters only
//! grow while the kernel runs; one that went down was reset (a reboot
//! between the samples, a wrapped 32-bit counter) and has no rate for that
//! interval, rather than a huge one.

use super::vmstat::{Counter, Vmstat};
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum Rate {
    PerSecond {
        value: f64,
    },
    /// The kernel of one sample or the other does not have the counter.
    Absent,
    /// The counter went down between the samples.
    Reset,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct VmstatRates {
    pub(crate) interval_s: f64,
    pub(crate) faults: Rate,
    pub(crate) major_faults: Rate,
    pub(crate) compact_stalls: Rate,
    pub(crate) allocstalls: Rate,
    pub(crate) pgscan_direct: Rate,
    pub(crate) pgscan_kswapd: Rate,
    pub(crate) pgsteal_direct: Rate,
    pub(crate) pgsteal_kswapd: Rate,
    pub(crate) swap_ins: Rate,
    pub(crate) swap_outs: Rate,
    pub(crate) oom_kills: Rate,
}

/// One counter's rate between `earlier` and `later`, `interval_s` apart.
pub(crate) fn rate(earlier: &Vmstat, later: &Vmstat, c: Counter, interval_s: f64) -> Rate {
    match (earlier.get(c), later.get(c)) {
        (Some(a), Some(b)) if b >= a => Rate::PerSecond {
            value: (b - a) as f64 / interval_s,
        },
        (Some(_), Some(_)) => Rate::Reset,
        _ => Rate::Absent,
    }
}

impl VmstatRates {
    /// None when no time passed between the samples.
    pub(crate) fn between(earlier: &Vmstat, later: &Vmstat, elapsed: Duration) -> Option<Self> {
        let s = elapsed.as_secs_f64();
        if s <= 0.0 {
            return None;
        }
        let r = |c| rate(earlier, later, c, s);
        Some(VmstatRates {
            interval_s: s,
            faults: r(Counter::PgFault),
            major_faults: r(Counter::PgMajFault),
            compact_stalls: r(Counter::CompactStall),
            allocstalls: r(Counter::AllocStall),
            pgscan_direct: r(Counter::PgScanDirect),
            pgscan_kswapd: r(Counter::PgScanKswapd),
            pgsteal_direct: r(Counter::PgStealDirect),
            pgsteal_kswapd: r(Counter::PgStealKswapd),
            swap_ins: r(Counter::PswpIn),
            swap_outs: r(Counter::PswpOut),
            oom_kills: r(Counter::OomKill),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::vmstat::parse;
    use super::*;

    fn per_s(value: f64) -> Rate {
        Rate::PerSecond { value }
    }

    #[test]
    fn rates_over_an_interval() {
        let a = parse(
            "pgfault 1000\npgmajfault 10\npgalloc_dma32 0\npgalloc_normal 0\n\
             allocstall_dma32 1\nallocstall_normal 4\npswpin 7\npswpout 100\n\
             pgscan_direct 50\npgscan_kswapd 900\npgsteal_direct 20\npgsteal_kswapd 800\n\
             compact_stall 3\noom_kill 0\n",
        )
        .unwrap();
        let b = parse(
            "pgfault 6000\npgmajfault 12\npgalloc_dma32 0\npgalloc_normal 0\n\
             allocstall_dma32 3\nallocstall_normal 14\npswpin 7\npswpout 90\n\
             pgscan_direct 250\npgscan_kswapd 1900\npgsteal_direct 120\npgsteal_kswapd 1300\n\
             oom_kill 1\n",
        )
        .unwrap();
        let r = VmstatRates::between(&a, &b, Duration::from_millis(2500)).unwrap();
        assert_eq!(r.interval_s, 2.5);
        assert_eq!(r.faults, per_s(2000.0)); // (6000 - 1000) / 2.5
        assert_eq!(r.major_faults, per_s(0.8)); // 2 / 2.5
        assert_eq!(r.allocstalls, per_s(4.8)); // (3 + 14) - (1 + 4) = 12, / 2.5
        assert_eq!(r.pgscan_direct, per_s(80.0));
        assert_eq!(r.pgscan_kswapd, per_s(400.0));
        assert_eq!(r.pgsteal_direct, per_s(40.0));
        assert_eq!(r.pgsteal_kswapd, per_s(200.0));
        assert_eq!(r.swap_ins, per_s(0.0));
        // pswpout went from 100 to 90: reset, not 7e18 per second.
        assert_eq!(r.swap_outs, Rate::Reset);
        assert_eq!(r.oom_kills, per_s(0.4));
        // compact_stall is gone from the later sample.
        assert_eq!(r.compact_stalls, Rate::Absent);
        assert_eq!(VmstatRates::between(&a, &b, Duration::ZERO), None);
        let json = serde_json::to_string(&r.swap_outs).unwrap();
        assert_eq!(json, r#"{"state":"reset"}"#);
    }

    /// Two live samples in a row: the counters that matter never go down.
    #[test]
    fn live() {
        let root = super::super::reading::Root::default();
        let a = super::super::vmstat::read(&root);
        std::thread::sleep(Duration::from_millis(20));
        let b = super::super::vmstat::read(&root);
        let (a, b) = (a.value().unwrap(), b.value().unwrap());
        let r = VmstatRates::between(a, b, Duration::from_millis(20)).unwrap();
        for rate in [
            r.faults,
            r.major_faults,
            r.allocstalls,
            r.pgscan_direct,
            r.swap_outs,
        ] {
            assert!(
                matches!(rate, Rate::PerSecond { value } if value >= 0.0),
                "{rate:?}"
            );
        }
    }
}

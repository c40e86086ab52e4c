//! The system memory view of one report: every reader's result, the
//! computed indexes, and vmstat rates over the recent past, kept by a
//! history of samples the daemon takes in the background. The background
//! sampler also reads `/proc/pagetypeinfo`: the kernel walks every free list
//! with the zone lock held to write it, so no client may make it read on
//! demand.

use super::buddyinfo::{self, Buddyinfo};
use super::fragmentation::{fragmentation, ZoneFragmentation};
use super::meminfo::{self, Meminfo};
use super::pagetypeinfo::{self, MigratetypeFree};
use super::psi::{self, Pressure};
use super::reading::{Reading, Root};
use super::thp::{self, ThpSettings};
use super::vm_knobs::{self, VmKnobs};
use super::vmstat::{self, Vmstat};
use super::vmstat_rates::VmstatRates;
use super::zoneinfo;
use serde::Serialize;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A zone's free pages against its watermarks, in pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct ZoneWatermarks {
    pub(crate) node: u32,
    pub(crate) zone: String,
    pub(crate) free: u64,
    pub(crate) min: u64,
    pub(crate) low: u64,
    pub(crate) high: u64,
    pub(crate) boost: Option<u64>,
    pub(crate) managed: u64,
}

/// Free pages per migratetype, with the pageblock size they are grouped in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Pagetypes {
    pub(crate) pageblock_order: u32,
    pub(crate) free: Vec<MigratetypeFree>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct SystemView {
    pub(crate) meminfo: Reading<Meminfo>,
    pub(crate) pressure: Reading<Pressure>,
    pub(crate) knobs: VmKnobs,
    pub(crate) thp: ThpSettings,
    pub(crate) buddyinfo: Reading<Buddyinfo>,
    /// Per populated zone and order, from buddyinfo.
    pub(crate) fragmentation: Vec<ZoneFragmentation>,
    /// As of the last background sample (at most [`SAMPLE_EVERY`] old).
    pub(crate) pagetypes: Reading<Pagetypes>,
    pub(crate) zones: Reading<Vec<ZoneWatermarks>>,
    /// None until two vmstat samples are at least a second apart.
    pub(crate) vmstat_rates: Option<VmstatRates>,
    #[serde(skip)]
    pub(crate) vmstat: Reading<Vmstat>,
    /// The sample the rates start from.
    #[serde(skip)]
    pub(crate) vmstat_earlier: Option<Vmstat>,
}

impl SystemView {
    /// Reads everything under `root`, with rates from the oldest of
    /// `sampled`'s vmstat samples to now, and its pagetypeinfo.
    pub(crate) fn read(root: &Root, sampled: &Sampled) -> Self {
        let history = &sampled.vmstat;
        let buddyinfo = buddyinfo::read(root);
        let fragmentation = buddyinfo.value().map(fragmentation).unwrap_or_default();
        let vmstat = vmstat::read(root);
        let now = Instant::now();
        let since = vmstat.value().and_then(|v| history.rates_to(v, now));
        let (vmstat_rates, vmstat_earlier) = match since {
            Some((rates, earlier)) => (Some(rates), Some(earlier)),
            None => (None, None),
        };
        SystemView {
            meminfo: meminfo::read(root),
            pressure: psi::read(root),
            knobs: vm_knobs::read(root),
            thp: thp::read(root),
            buddyinfo,
            fragmentation,
            pagetypes: sampled.pagetypes.clone(),
            zones: zoneinfo::read(root).map(|z| {
                z.zones
                    .iter()
                    .filter(|z| z.populated())
                    .map(|z| ZoneWatermarks {
                        node: z.node,
                        zone: z.zone.clone(),
                        free: z.free,
                        min: z.min,
                        low: z.low,
                        high: z.high,
                        boost: z.boost,
                        managed: z.managed,
                    })
                    .collect()
            }),
            vmstat_rates,
            vmstat,
            vmstat_earlier,
        }
    }
}

/// What the background sampler keeps.
pub(crate) struct Sampled {
    pub(crate) vmstat: VmstatHistory,
    pub(crate) pagetypes: Reading<Pagetypes>,
}

impl Sampled {
    pub(crate) fn new() -> Self {
        Sampled {
            vmstat: VmstatHistory::default(),
            pagetypes: Reading::Missing {
                path: "proc/pagetypeinfo (not sampled yet)".into(),
            },
        }
    }

    /// One round of the sampler: a vmstat sample and pagetypeinfo.
    pub(crate) fn sample(&mut self, root: &Root) {
        if let Some(v) = vmstat::read(root).value() {
            self.vmstat.push(Instant::now(), v.clone());
        }
        self.pagetypes = pagetypeinfo::read(root).map(|p| Pagetypes {
            pageblock_order: p.pageblock_order,
            free: p.by_migratetype(),
        });
    }
}

impl Default for Sampled {
    fn default() -> Self {
        Sampled::new()
    }
}

/// Recent vmstat samples, oldest first, for rates over the last minute.
#[derive(Default)]
pub(crate) struct VmstatHistory {
    samples: VecDeque<(Instant, Vmstat)>,
}

/// How often the daemon samples vmstat, and how many samples it keeps: rates
/// cover the last minute or so.
pub(crate) const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const KEPT: usize = 6;
/// Shorter intervals give rates too noisy to report.
const SHORTEST: Duration = Duration::from_secs(1);

impl VmstatHistory {
    pub(crate) fn push(&mut self, at: Instant, sample: Vmstat) {
        if self.samples.len() == KEPT {
            self.samples.pop_front();
        }
        self.samples.push_back((at, sample));
    }

    /// The newest sample.
    pub(crate) fn latest(&self) -> Option<(Instant, Vmstat)> {
        self.samples.back().cloned()
    }

    /// Rates from the oldest kept sample to `now_sample`, and that sample.
    pub(crate) fn rates_to(
        &self,
        now_sample: &Vmstat,
        now: Instant,
    ) -> Option<(VmstatRates, Vmstat)> {
        let (at, earlier) = self.samples.front()?;
        let elapsed = now.checked_duration_since(*at)?;
        if elapsed < SHORTEST {
            return None;
        }
        let rates = VmstatRates::between(earlier, now_sample, elapsed)?;
        Some((rates, earlier.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::vmstat_rates::Rate;

    fn vmstat(pgfault: u64) -> Vmstat {
        vmstat::parse(&format!("pgfault {pgfault}\npgmajfault 0\n")).unwrap()
    }

    #[test]
    fn history_gives_rates_from_its_oldest_sample() {
        let mut h = VmstatHistory::default();
        let t0 = Instant::now();
        assert!(h.rates_to(&vmstat(10), t0).is_none(), "no sample yet");
        for i in 0..10u64 {
            h.push(t0 + SAMPLE_EVERY * i as u32, vmstat(1000 * i));
        }
        // Kept: the last 6 samples, from i = 4 (pgfault 4000 at 40 s).
        let now = t0 + Duration::from_secs(100);
        let (rates, earlier) = h.rates_to(&vmstat(10_000), now).unwrap();
        assert_eq!(earlier.counters["pgfault"], 4000);
        assert_eq!(rates.interval_s, 60.0);
        assert_eq!(rates.faults, Rate::PerSecond { value: 100.0 });
        // Too soon after the oldest sample: no rate.
        let mut h = VmstatHistory::default();
        h.push(t0, vmstat(0));
        assert!(h
            .rates_to(&vmstat(5), t0 + Duration::from_millis(500))
            .is_none());
    }

    #[test]
    fn a_fixture_tree_reads_whole() {
        let root = crate::testing::fixture_root("6.18");
        let view = SystemView::read(&root, &Sampled::new());
        assert_eq!(view.knobs.swappiness.value(), Some(&60));
        assert!(view.vmstat_rates.is_none());
        assert!(
            matches!(view.pagetypes, Reading::Missing { .. }),
            "not sampled yet"
        );
        // The fixture tree has knobs and THP only: the rest is missing, not zero.
        assert!(matches!(view.meminfo, Reading::Missing { .. }));
        assert!(view.fragmentation.is_empty());
    }
}

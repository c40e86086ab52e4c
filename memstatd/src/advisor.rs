//! The tuning advisor: rules that combine the system view (vmstat rates,
//! fragmentation, knobs) with the per-UID counters, and print a finding only
//! with the evidence that triggered it: the measured values, the thresholds
//! they crossed, the knob's value and what changing it trades off. It never
//! changes a setting.
//!
//! Every rule needs all of its evidence: a missing file or counter means the
//! rule stays silent, never that it guesses.

use crate::system::fragmentation::ZoneFragmentation;
use crate::system::reading::Reading;
use crate::system::thp::ThpSettings;
use crate::system::view::ZoneWatermarks;
use crate::system::vm_knobs::VmKnobs;
use crate::system::vmstat::{Counter, Vmstat};
use crate::system::vmstat_rates::{Rate, VmstatRates};
use serde::Serialize;

/// What the rules look at.
pub(crate) struct Evidence<'a> {
    pub(crate) knobs: &'a VmKnobs,
    pub(crate) thp: &'a ThpSettings,
    /// Rates over the recent interval, with the samples they came from.
    pub(crate) recent: Option<Recent<'a>>,
    pub(crate) fragmentation: &'a [ZoneFragmentation],
    /// Managed pages per zone, to tell the zones that matter from small ones.
    pub(crate) zones: Option<&'a [ZoneWatermarks]>,
    /// Every UID by its memory-management syscalls in the window, most
    /// first; `None` when the per-UID counters are unavailable.
    pub(crate) memory_callers: Option<&'a [(u32, u64)]>,
    /// The UIDs the caller may see; `None` is all.
    pub(crate) visible: Option<&'a [u32]>,
}

/// The findings, and the evidence that could not be had (so that "nothing
/// to suggest" is not mistaken for "nothing wrong").
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Advice {
    pub(crate) findings: Vec<Finding>,
    pub(crate) missing: Vec<String>,
}

/// Two vmstat samples and the rates between them.
pub(crate) struct Recent<'a> {
    pub(crate) rates: &'a VmstatRates,
    pub(crate) earlier: &'a Vmstat,
    pub(crate) later: &'a Vmstat,
}

/// One measured value against the threshold that made it count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Measure {
    pub(crate) what: String,
    pub(crate) value: String,
    pub(crate) threshold: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Finding {
    /// Stable name of the rule.
    pub(crate) rule: &'static str,
    pub(crate) summary: String,
    pub(crate) evidence: Vec<Measure>,
    /// The knob, as `vm.<name>` or a THP file, and its current value.
    pub(crate) knob: String,
    pub(crate) knob_value: String,
    pub(crate) suggestion: String,
    pub(crate) tradeoff: &'static str,
    /// UIDs most likely responsible, and on what basis.
    pub(crate) uids: Vec<u32>,
    pub(crate) uids_basis: String,
}

/// Zones with less than this share of the managed pages (DMA, DMA32 on big
/// machines) do not decide how allocations fare.
const MINOR_ZONE_SHARE: f64 = 0.1;
/// Orders above this are "costly" to the page allocator (the kernel's
/// PAGE_ALLOC_COSTLY_ORDER): it compacts for them rather than fail.
const COSTLY_ORDER: usize = 3;
/// Swap-in bytes per second that make swapping a cost worth a look.
const HEAVY_SWAP_IN_BYTES: f64 = 4.0 * 1024.0 * 1024.0;
/// `swappiness` at which the kernel weighs anonymous and file pages equally;
/// above it, it prefers swapping anon to dropping file cache.
const EVEN_SWAPPINESS: i64 = 100;
/// `watermark_scale_factor` at or below the kernel default (10 = 0.1% of a
/// zone between watermarks).
const LOW_WATERMARK_SCALE: i64 = 10;
/// Share of THP faults that fell back to small pages.
const THP_FALLBACK_SHARE: f64 = 0.5;
/// UIDs a finding names at most.
const NAMED_UIDS: usize = 3;

pub(crate) fn advise(e: &Evidence) -> Advice {
    let rules = [
        compaction,
        direct_reclaim,
        oom_overcommit,
        swap_in,
        thp_fallback,
    ];
    let findings = rules.iter().filter_map(|rule| rule(e)).collect();
    let mut missing = Vec::new();
    if e.recent.is_none() {
        missing.push(
            "vmstat rates: they need two samples a second apart (memstatd samples every 10 s)"
                .into(),
        );
    }
    if e.memory_callers.is_none() {
        missing.push("per-UID counters: the syscalls probe group is unavailable".into());
    }
    Advice { findings, missing }
}

fn knob(r: &Reading<i64>) -> Option<i64> {
    r.value().copied()
}

fn per_s(r: Rate) -> Option<f64> {
    match r {
        Rate::PerSecond { value } => Some(value),
        _ => None,
    }
}

fn measure(
    what: impl Into<String>,
    value: impl Into<String>,
    threshold: impl Into<String>,
) -> Measure {
    Measure {
        what: what.into(),
        value: value.into(),
        threshold: threshold.into(),
    }
}

/// The size of a page: vmstat counts pages.
fn page_size() -> u64 {
    // SAFETY: sysconf has no memory arguments.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n).unwrap_or(4096)
}

/// The UIDs to name, and why those: the top callers of memory-management
/// syscalls over all UIDs, of which only those the caller may see are named.
fn responsible(e: &Evidence) -> (Vec<u32>, String) {
    let Some(callers) = e.memory_callers else {
        return (Vec::new(), "per-UID counters are unavailable".into());
    };
    let top: Vec<u32> = callers.iter().take(NAMED_UIDS).map(|(u, _)| *u).collect();
    if top.is_empty() {
        return (
            Vec::new(),
            "no UID made memory-management syscalls in the window".into(),
        );
    }
    let uids: Vec<u32> = top
        .iter()
        .copied()
        .filter(|u| e.visible.is_none_or(|v| v.contains(u)))
        .collect();
    let mut basis = format!(
        "the {} UIDs with the most mmap, munmap, mremap, brk and madvise calls in the report's \
         window (the syscall probe; allocation-level attribution needs the memory probes)",
        top.len()
    );
    if uids.len() < top.len() {
        basis += &format!(
            "; {} of them not shown to this caller",
            top.len() - uids.len()
        );
    }
    (uids, basis)
}

/// Whether a zone holds a real share of the machine's memory.
fn major_zone(e: &Evidence, z: &ZoneFragmentation) -> bool {
    let Some(zones) = e.zones else { return true };
    let total: u64 = zones.iter().map(|w| w.managed).sum();
    zones
        .iter()
        .find(|w| w.node == z.node && w.zone == z.zone)
        .is_some_and(|w| w.managed as f64 >= total as f64 * MINOR_ZONE_SHARE)
}

/// Fragmented costly orders plus direct compaction stalls, with proactive
/// compaction off.
fn compaction(e: &Evidence) -> Option<Finding> {
    let proactiveness = knob(&e.knobs.compaction_proactiveness)?;
    let threshold = knob(&e.knobs.extfrag_threshold)?;
    let recent = e.recent.as_ref()?;
    let stalls = per_s(recent.rates.compact_stalls)?;
    if proactiveness != 0 || stalls <= 0.0 {
        return None;
    }
    // The lowest costly order, in any zone, whose allocation failures the
    // kernel would put down to fragmentation (index above
    // extfrag_threshold / 1000): from there up, compaction has to run.
    let (zone, order, index) = e
        .fragmentation
        .iter()
        .filter(|z| major_zone(e, z))
        .flat_map(|z| {
            z.orders
                .iter()
                .enumerate()
                .skip(COSTLY_ORDER + 1)
                .map(move |(o, i)| (z, o, i.fragmentation))
        })
        .filter(|(_, _, i)| i.0 > threshold)
        .min_by_key(|(_, o, _)| *o)?;
    let (uids, uids_basis) = responsible(e);
    Some(Finding {
        rule: "compaction-proactiveness",
        summary: format!(
            "direct compaction stalls while zone {} is fragmented from order {order} up, and \
             proactive compaction is off",
            zone.zone
        ),
        evidence: vec![
            measure(
                "direct compaction stalls (compact_stall)",
                format!("{stalls:.2}/s over {:.0} s", recent.rates.interval_s),
                "> 0/s",
            ),
            measure(
                format!(
                    "fragmentation index, node {} zone {} order {order}",
                    zone.node, zone.zone
                ),
                index.to_string(),
                format!(
                    "> extfrag_threshold {threshold} (as {})",
                    threshold as f64 / 1000.0
                ),
            ),
        ],
        knob: "vm.compaction_proactiveness".into(),
        knob_value: proactiveness.to_string(),
        suggestion: "raise it (the kernel default is 20) so that kcompactd compacts in the \
                     background before allocations have to"
            .into(),
        tradeoff: "kcompactd then uses CPU and migrates pages even when nobody is waiting; \
                   higher values keep memory less fragmented at more background cost",
        uids,
        uids_basis,
    })
}

/// Direct reclaim stalls with watermarks at or below the default gap.
fn direct_reclaim(e: &Evidence) -> Option<Finding> {
    let scale = knob(&e.knobs.watermark_scale_factor)?;
    let recent = e.recent.as_ref()?;
    let stalls = per_s(recent.rates.allocstalls)?;
    let direct = per_s(recent.rates.pgscan_direct)?;
    if scale > LOW_WATERMARK_SCALE || stalls <= 0.0 {
        return None;
    }
    let (uids, uids_basis) = responsible(e);
    Some(Finding {
        rule: "watermark-scale-factor",
        summary: "allocations stall in direct reclaim while kswapd's watermark gap is at or \
                  below the default"
            .into(),
        evidence: vec![
            measure(
                "direct reclaim stalls (allocstall)",
                format!("{stalls:.2}/s over {:.0} s", recent.rates.interval_s),
                "> 0/s",
            ),
            measure(
                "pages scanned by direct reclaim (pgscan_direct)",
                format!("{direct:.1}/s"),
                "-",
            ),
        ],
        knob: "vm.watermark_scale_factor".into(),
        knob_value: scale.to_string(),
        suggestion: format!(
            "raise it above {LOW_WATERMARK_SCALE} (e.g. 100 to 200: 1% to 2% of each zone) so \
             that kswapd wakes earlier and reclaims before allocations must"
        ),
        tradeoff: "more memory is kept free between the watermarks, and kswapd runs more often",
        uids,
        uids_basis,
    })
}

/// OOM kills while the kernel overcommits without checking.
fn oom_overcommit(e: &Evidence) -> Option<Finding> {
    let overcommit = knob(&e.knobs.overcommit_memory)?;
    let recent = e.recent.as_ref()?;
    let kills = recent
        .later
        .get(Counter::OomKill)?
        .checked_sub(recent.earlier.get(Counter::OomKill)?)?;
    if overcommit != 1 || kills == 0 {
        return None;
    }
    let (uids, uids_basis) = responsible(e);
    Some(Finding {
        rule: "overcommit-memory",
        summary: "the OOM killer ran while the kernel checks no allocation against memory".into(),
        evidence: vec![measure(
            "OOM kills (oom_kill)",
            format!("{kills} in {:.0} s", recent.rates.interval_s),
            "> 0",
        )],
        knob: "vm.overcommit_memory".into(),
        knob_value: overcommit.to_string(),
        suggestion: "0 (the default heuristic) refuses only single allocations larger than RAM \
                     plus swap, so it rarely prevents an OOM kill; 2 (strict, with \
                     overcommit_ratio or overcommit_kbytes) makes mmap and brk fail once \
                     commitments exceed swap plus that share of RAM, before memory runs out"
            .into(),
        tradeoff: "in mode 2, programs that reserve large sparse mappings (JIT heaps, \
                   sanitizers, runtimes) get ENOMEM up front, and memory committed but never \
                   touched is unavailable to others",
        uids,
        uids_basis,
    })
}

/// Heavy swap-in with the kernel told to prefer swapping.
fn swap_in(e: &Evidence) -> Option<Finding> {
    let swappiness = knob(&e.knobs.swappiness)?;
    let recent = e.recent.as_ref()?;
    let ins = per_s(recent.rates.swap_ins)?;
    let bytes = ins * page_size() as f64;
    if swappiness <= EVEN_SWAPPINESS || bytes <= HEAVY_SWAP_IN_BYTES {
        return None;
    }
    let (uids, uids_basis) = responsible(e);
    Some(Finding {
        rule: "swappiness",
        summary: "pages are swapped back in heavily while swappiness favours swapping".into(),
        evidence: vec![measure(
            "swap-ins (pswpin)",
            format!(
                "{ins:.0} pages/s ({:.1} MiB/s) over {:.0} s",
                bytes / (1024.0 * 1024.0),
                recent.rates.interval_s
            ),
            format!("> {:.0} MiB/s", HEAVY_SWAP_IN_BYTES / (1024.0 * 1024.0)),
        )],
        knob: "vm.swappiness".into(),
        knob_value: swappiness.to_string(),
        suggestion: format!(
            "lower it to {EVEN_SWAPPINESS} or below (60 is the kernel default) so that reclaim \
             takes more file cache and less anonymous memory"
        ),
        tradeoff: "file cache is dropped sooner, so file-backed pages are read again more often; \
                   with swap on zram a swap-in is a decompression, often cheaper than a file \
                   read from flash, and a high swappiness can be the better balance",
        uids,
        uids_basis,
    })
}

/// THP faults that mostly fall back to small pages with THP always on.
fn thp_fallback(e: &Evidence) -> Option<Finding> {
    let enabled = e.thp.enabled.value()?;
    let recent = e.recent.as_ref()?;
    let delta = |c| recent.later.get(c)?.checked_sub(recent.earlier.get(c)?);
    let (alloc, fallback) = (
        delta(Counter::ThpFaultAlloc)?,
        delta(Counter::ThpFaultFallback)?,
    );
    let attempts = alloc.checked_add(fallback)?;
    if enabled.selected != "always" || attempts == 0 {
        return None;
    }
    let share = fallback as f64 / attempts as f64;
    if share <= THP_FALLBACK_SHARE {
        return None;
    }
    let (uids, uids_basis) = responsible(e);
    Some(Finding {
        rule: "thp-enabled",
        summary: "most huge page faults fall back to small pages while THP is always on".into(),
        evidence: vec![measure(
            "THP faults that fell back (thp_fault_fallback / all THP faults)",
            format!("{fallback} of {attempts} ({:.0}%)", share * 100.0),
            format!("> {:.0}%", THP_FALLBACK_SHARE * 100.0),
        )],
        knob: "transparent_hugepage/enabled".into(),
        knob_value: enabled.selected.clone(),
        suggestion: "use madvise, so that only mappings that ask for huge pages try for them"
            .into(),
        tradeoff: "programs that benefit from huge pages without asking lose them",
        uids,
        uids_basis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::buddyinfo;
    use crate::system::fragmentation::fragmentation;
    use crate::system::thp::{self, Choice};
    use crate::system::{vm_knobs, vmstat};
    use crate::testing::fixture_root;
    use std::time::Duration;

    const VMSTAT: &str = include_str!("../tests/fixtures/system/vmstat-6.18");

    /// The evidence of this machine's captured files, every counter still.
    struct Case {
        knobs: VmKnobs,
        thp: ThpSettings,
        earlier: Vmstat,
        later: Vmstat,
        fragmentation: Vec<ZoneFragmentation>,
        zones: Option<Vec<ZoneWatermarks>>,
        callers: Vec<(u32, u64)>,
        visible: Option<Vec<u32>>,
    }

    impl Case {
        fn new() -> Self {
            let root = fixture_root("6.18");
            let earlier = vmstat::parse(VMSTAT).unwrap();
            Case {
                knobs: vm_knobs::read(&root),
                thp: thp::read(&root),
                later: earlier.clone(),
                earlier,
                fragmentation: Vec::new(),
                zones: None,
                callers: vec![(10123, 900), (10200, 50)],
                visible: None,
            }
        }

        /// `counter` (a vmstat line) grows by `by` over the minute.
        fn grow(mut self, counter: &str, by: u64) -> Self {
            *self
                .later
                .counters
                .get_mut(counter)
                .expect("in the fixture") += by;
            self
        }

        fn knob(mut self, set: impl FnOnce(&mut VmKnobs)) -> Self {
            set(&mut self.knobs);
            self
        }

        /// Zone Normal of node 0 with these free blocks per order.
        fn buddy(mut self, free: &str) -> Self {
            let line = format!("Node 0, zone   Normal {free}\n");
            self.fragmentation = fragmentation(&buddyinfo::parse(&line).unwrap());
            self
        }

        /// A zone with plenty of small free blocks and none of order 3 or
        /// more: by the kernel's formula its order-4 index is
        /// 1000 - (1000 + 9400 * 1000 / 16) / 7100 = 1000 - 82 = 918, its
        /// order-9 index 1000 - (1000 + 9400000 / 512) / 7100 = 998, and
        /// its order-10 index 999.
        fn fragmented(self) -> Self {
            let c = self.buddy("5000 2000 100 0 0 0 0 0 0 0 0");
            let orders = &c.fragmentation[0].orders;
            assert_eq!(orders[4].fragmentation.0, 918);
            assert_eq!(orders[9].fragmentation.0, 998);
            assert_eq!(orders[10].fragmentation.0, 999);
            c
        }

        fn advice(&self, with_rates: bool) -> Advice {
            let rates =
                VmstatRates::between(&self.earlier, &self.later, Duration::from_secs(60)).unwrap();
            advise(&Evidence {
                knobs: &self.knobs,
                thp: &self.thp,
                recent: with_rates.then_some(Recent {
                    rates: &rates,
                    earlier: &self.earlier,
                    later: &self.later,
                }),
                fragmentation: &self.fragmentation,
                zones: self.zones.as_deref(),
                memory_callers: Some(&self.callers),
                visible: self.visible.as_deref(),
            })
        }

        fn findings(&self) -> Vec<Finding> {
            self.advice(true).findings
        }

        fn rules(&self) -> Vec<&'static str> {
            self.findings().iter().map(|f| f.rule).collect()
        }
    }

    fn read(v: i64) -> Reading<i64> {
        Reading::Read { value: v }
    }

    fn watermarks(zone: &str, managed: u64) -> ZoneWatermarks {
        ZoneWatermarks {
            node: 0,
            zone: zone.into(),
            free: 0,
            min: 0,
            low: 0,
            high: 0,
            boost: None,
            managed,
        }
    }

    #[test]
    fn a_quiet_machine_gets_no_advice() {
        let a = Case::new().fragmented().advice(true);
        assert!(a.findings.is_empty() && a.missing.is_empty());
    }

    #[test]
    fn without_rates_no_rule_fires_and_the_advice_says_why() {
        let stalls = Case::new()
            .fragmented()
            .grow("compact_stall", 120)
            .grow("allocstall_normal", 30)
            .knob(|k| k.compaction_proactiveness = read(0));
        assert_eq!(stalls.rules().len(), 2);
        let a = stalls.advice(false);
        assert!(a.findings.is_empty());
        assert!(a.missing[0].contains("vmstat rates"), "{:?}", a.missing);
    }

    #[test]
    fn only_visible_uids_are_named() {
        let mut case = Case::new()
            .grow("allocstall_normal", 30)
            .grow("pgscan_direct", 6000);
        assert_eq!(case.findings()[0].uids, [10123, 10200]);
        case.visible = Some(vec![10200]);
        let f = case.findings();
        assert_eq!(
            f[0].uids,
            [10200],
            "10123 calls more, but is not the caller's"
        );
        assert!(
            f[0].uids_basis.contains("1 of them not shown"),
            "{}",
            f[0].uids_basis
        );
        case.visible = Some(vec![4242]);
        assert!(case.findings()[0].uids.is_empty());
    }

    /// Fragmented, stalling, proactive compaction off, and this threshold.
    fn stalled(threshold: i64) -> Case {
        Case::new()
            .fragmented()
            .grow("compact_stall", 120)
            .knob(|k| k.compaction_proactiveness = read(0))
            .knob(|k| k.extfrag_threshold = read(threshold))
    }

    #[test]
    fn compaction_stalls_on_fragmented_memory_without_proactive_compaction() {
        let f = stalled(500).findings();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "compaction-proactiveness");
        assert_eq!(f[0].knob_value, "0");
        assert_eq!(f[0].evidence[0].value, "2.00/s over 60 s");
        assert_eq!(
            f[0].evidence[1].value, "0.918",
            "the lowest costly order above"
        );
        assert_eq!(f[0].uids, [10123, 10200]);
        // Not with proactive compaction on, without stalls, or unfragmented.
        let on = stalled(500).knob(|k| k.compaction_proactiveness = read(20));
        assert!(on.rules().is_empty());
        let calm = Case::new()
            .fragmented()
            .knob(|k| k.compaction_proactiveness = read(0));
        assert!(calm.rules().is_empty());
        let whole = stalled(500).buddy("10 10 10 10 10 10 10 10 10 10 100");
        assert_eq!(whole.fragmentation[0].orders[10].fragmentation.0, -1000);
        assert!(whole.rules().is_empty());
        // Nor where the kernel lacks the knob (before 5.9).
        let old = stalled(500).knob(|k| {
            k.compaction_proactiveness = Reading::Missing {
                path: "proc/sys/vm/compaction_proactiveness".into(),
            }
        });
        assert!(old.rules().is_empty());
    }

    #[test]
    fn the_extfrag_threshold_is_strict_as_the_kernels() {
        assert!(stalled(999).rules().is_empty(), "no index above 0.999");
        let f = stalled(998).findings();
        assert_eq!(
            f[0].evidence[1].value, "0.999",
            "order 10, the only one above"
        );
    }

    #[test]
    fn small_zones_do_not_decide() {
        let mut case = stalled(500);
        case.zones = Some(vec![
            watermarks("DMA32", 1_000_000),
            watermarks("Normal", 50_000),
        ]);
        assert!(case.rules().is_empty(), "Normal holds under a tenth");
        case.zones = Some(vec![
            watermarks("DMA32", 500_000),
            watermarks("Normal", 500_000),
        ]);
        assert_eq!(case.rules(), ["compaction-proactiveness"]);
    }

    #[test]
    fn direct_reclaim_stalls_with_a_low_watermark_scale_factor() {
        let case = Case::new()
            .grow("allocstall_normal", 30)
            .grow("pgscan_direct", 6000);
        let f = case.findings();
        assert_eq!(case.rules(), ["watermark-scale-factor"]);
        assert_eq!(f[0].knob_value, "10");
        assert_eq!(f[0].evidence[0].value, "0.50/s over 60 s");
        assert_eq!(f[0].evidence[1].value, "100.0/s");
        let raised = case.knob(|k| k.watermark_scale_factor = read(150));
        assert!(raised.rules().is_empty());
        let no_stalls = Case::new().grow("pgscan_direct", 6000);
        assert!(no_stalls.rules().is_empty());
    }

    #[test]
    fn oom_kills_with_unchecked_overcommit() {
        let case = Case::new()
            .grow("oom_kill", 2)
            .knob(|k| k.overcommit_memory = read(1));
        assert_eq!(case.rules(), ["overcommit-memory"]);
        assert_eq!(case.findings()[0].evidence[0].value, "2 in 60 s");
        let heuristic = case.knob(|k| k.overcommit_memory = read(0));
        assert!(heuristic.rules().is_empty());
        let no_kills = Case::new().knob(|k| k.overcommit_memory = read(1));
        assert!(no_kills.rules().is_empty());
    }

    #[test]
    fn heavy_swap_in_with_high_swappiness() {
        // Pages of this machine's size: 8 MiB/s and 2 MiB/s of them.
        let pages_per_min = |mib: u64| mib * 60 * 1024 * 1024 / page_size();
        let case = Case::new()
            .grow("pswpin", pages_per_min(8))
            .knob(|k| k.swappiness = read(150));
        assert_eq!(case.rules(), ["swappiness"]);
        let shown = &case.findings()[0].evidence[0].value;
        assert!(shown.contains("(8.0 MiB/s) over 60 s"), "{shown}");
        let even = case.knob(|k| k.swappiness = read(100));
        assert!(even.rules().is_empty(), "100 weighs anon and file equally");
        let light = Case::new()
            .grow("pswpin", pages_per_min(2))
            .knob(|k| k.swappiness = read(150));
        assert!(light.rules().is_empty(), "2 MiB/s is not above 4 MiB/s");
    }

    #[test]
    fn thp_faults_falling_back_with_thp_always() {
        let always = |mut c: Case| {
            c.thp.enabled = Reading::Read {
                value: Choice {
                    selected: "always".into(),
                    choices: vec!["always".into(), "madvise".into(), "never".into()],
                },
            };
            c
        };
        let case = always(
            Case::new()
                .grow("thp_fault_alloc", 10)
                .grow("thp_fault_fallback", 30),
        );
        assert_eq!(case.rules(), ["thp-enabled"]);
        assert_eq!(case.findings()[0].evidence[0].value, "30 of 40 (75%)");
        let madvise = Case::new()
            .grow("thp_fault_alloc", 10)
            .grow("thp_fault_fallback", 30);
        assert!(madvise.rules().is_empty(), "the fixture's THP is madvise");
        let mostly_huge = always(
            Case::new()
                .grow("thp_fault_alloc", 30)
                .grow("thp_fault_fallback", 10),
        );
        assert!(mostly_huge.rules().is_empty());
    }
}

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
use crate::system::vm_knobs::VmKnobs;
use crate::system::vmstat::{Counter, Vmstat};
use crate::system::vmstat_rates::{Rate, VmstatRates};
use serde::Serialize;

/// What the rules look at.
pub struct Evidence<'a> {
    pub knobs: &'a VmKnobs,
    pub thp: &'a ThpSettings,
    /// Rates over the recent interval, with the samples they came from.
    pub recent: Option<Recent<'a>>,
    pub fragmentation: &'a [ZoneFragmentation],
    /// UIDs by their memory-management syscalls in the window, most first.
    pub memory_callers: &'a [(u32, u64)],
}

/// Two vmstat samples and the rates between them.
pub struct Recent<'a> {
    pub rates: &'a VmstatRates,
    pub earlier: &'a Vmstat,
    pub later: &'a Vmstat,
}

/// One measured value against the threshold that made it count.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Measure {
    pub what: String,
    pub value: String,
    pub threshold: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// Stable name of the rule.
    pub rule: &'static str,
    pub summary: String,
    pub evidence: Vec<Measure>,
    /// The knob, as `vm.<name>` or a THP file, and its current value.
    pub knob: String,
    pub knob_value: String,
    pub suggestion: String,
    pub tradeoff: &'static str,
    /// UIDs most likely responsible, and on what basis.
    pub uids: Vec<u32>,
    pub uids_basis: String,
}

/// Orders above this are "costly" to the page allocator (the kernel's
/// PAGE_ALLOC_COSTLY_ORDER): it compacts for them rather than fail.
const COSTLY_ORDER: usize = 3;
/// Swap-ins per second that make swapping a cost worth a look (4 MiB/s of
/// 4 KiB pages).
const HEAVY_SWAP_IN: f64 = 1024.0;
/// `swappiness` from which the kernel prefers swapping anon to dropping file
/// cache (100 weighs them equally).
const HIGH_SWAPPINESS: i64 = 100;
/// `watermark_scale_factor` at or below the kernel default (10 = 0.1% of a
/// zone between watermarks).
const LOW_WATERMARK_SCALE: i64 = 10;
/// Share of THP faults that fell back to small pages.
const THP_FALLBACK_SHARE: f64 = 0.5;
/// UIDs a finding names at most.
const NAMED_UIDS: usize = 3;

pub fn advise(e: &Evidence) -> Vec<Finding> {
    [
        compaction,
        direct_reclaim,
        oom_overcommit,
        swap_in,
        thp_fallback,
    ]
    .iter()
    .filter_map(|rule| rule(e))
    .collect()
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

/// The UIDs to name, and why those.
fn responsible(e: &Evidence) -> (Vec<u32>, String) {
    let uids: Vec<u32> = e
        .memory_callers
        .iter()
        .take(NAMED_UIDS)
        .map(|(u, _)| *u)
        .collect();
    let basis = if uids.is_empty() {
        "no UID made memory-management syscalls in the window".into()
    } else {
        "most mmap, munmap, mremap, brk and madvise calls in the window (the syscall probe; \
         allocation-level attribution needs the memory probes)"
            .into()
    };
    (uids, basis)
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
        summary: "the OOM killer ran while every allocation is allowed to overcommit".into(),
        evidence: vec![measure(
            "OOM kills (oom_kill)",
            format!("{kills} in {:.0} s", recent.rates.interval_s),
            "> 0",
        )],
        knob: "vm.overcommit_memory".into(),
        knob_value: overcommit.to_string(),
        suggestion: "set it to 0 (heuristic overcommit) so that allocations far beyond what \
                     can be backed fail at mmap or brk instead of ending in an OOM kill"
            .into(),
        tradeoff: "programs that reserve large sparse mappings may then see ENOMEM up front",
        uids,
        uids_basis,
    })
}

/// Heavy swap-in with the kernel told to prefer swapping.
fn swap_in(e: &Evidence) -> Option<Finding> {
    let swappiness = knob(&e.knobs.swappiness)?;
    let recent = e.recent.as_ref()?;
    let ins = per_s(recent.rates.swap_ins)?;
    if swappiness < HIGH_SWAPPINESS || ins <= HEAVY_SWAP_IN {
        return None;
    }
    let (uids, uids_basis) = responsible(e);
    Some(Finding {
        rule: "swappiness",
        summary: "pages are swapped back in heavily while swappiness favours swapping".into(),
        evidence: vec![measure(
            "swap-ins (pswpin)",
            format!("{ins:.0} pages/s over {:.0} s", recent.rates.interval_s),
            format!("> {HEAVY_SWAP_IN:.0} pages/s"),
        )],
        knob: "vm.swappiness".into(),
        knob_value: swappiness.to_string(),
        suggestion: format!(
            "lower it below {HIGH_SWAPPINESS} (60 is the kernel default) so that reclaim takes \
             more file cache and less anonymous memory"
        ),
        tradeoff: "file cache is dropped sooner, so file-backed pages are read again more often",
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
    use crate::system::reading::Root;
    use crate::system::thp::{self, Choice};
    use crate::system::{vm_knobs, vmstat};
    use std::time::Duration;

    const ROOT: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/system/root-6.18"
    );
    const VMSTAT: &str = include_str!("../tests/fixtures/system/vmstat-6.18");

    /// The evidence of this machine's captured files, every counter still.
    struct Case {
        knobs: VmKnobs,
        thp: ThpSettings,
        earlier: Vmstat,
        later: Vmstat,
        fragmentation: Vec<ZoneFragmentation>,
        callers: Vec<(u32, u64)>,
    }

    impl Case {
        fn new() -> Self {
            let root = Root::new(ROOT);
            let earlier = vmstat::parse(VMSTAT).unwrap();
            Case {
                knobs: vm_knobs::read(&root),
                thp: thp::read(&root),
                later: earlier.clone(),
                earlier,
                fragmentation: Vec::new(),
                callers: vec![(10123, 900), (10200, 50)],
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

        /// A zone with plenty of small free blocks and none of order 3 or
        /// more: by the kernel's formula its order-4 index is
        /// 1000 - (1000 + 9400 * 1000 / 16) / 7100 = 1000 - 82 = 918.
        fn fragmented(mut self) -> Self {
            let b = buddyinfo::parse("Node 0, zone   Normal   5000   2000    100      0      0      0      0      0      0      0      0 \n").unwrap();
            self.fragmentation = fragmentation(&b);
            assert_eq!(self.fragmentation[0].orders[4].fragmentation.0, 918);
            self
        }

        fn findings(&self) -> Vec<Finding> {
            let rates =
                VmstatRates::between(&self.earlier, &self.later, Duration::from_secs(60)).unwrap();
            advise(&Evidence {
                knobs: &self.knobs,
                thp: &self.thp,
                recent: Some(Recent {
                    rates: &rates,
                    earlier: &self.earlier,
                    later: &self.later,
                }),
                fragmentation: &self.fragmentation,
                memory_callers: &self.callers,
            })
        }

        fn rules(&self) -> Vec<&'static str> {
            self.findings().iter().map(|f| f.rule).collect()
        }
    }

    fn read(v: i64) -> Reading<i64> {
        Reading::Read { value: v }
    }

    #[test]
    fn a_quiet_machine_gets_no_advice() {
        assert!(Case::new().fragmented().rules().is_empty());
    }

    #[test]
    fn compaction_stalls_on_fragmented_memory_without_proactive_compaction() {
        let case = Case::new()
            .fragmented()
            .grow("compact_stall", 120)
            .knob(|k| k.compaction_proactiveness = read(0));
        let f = case.findings();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rule, "compaction-proactiveness");
        assert_eq!(f[0].knob_value, "0");
        assert_eq!(f[0].evidence[0].value, "2.00/s over 60 s");
        assert_eq!(f[0].evidence[1].value, "0.918");
        assert_eq!(f[0].uids, [10123, 10200]);
        // Not with proactive compaction on, without stalls, or unfragmented.
        let on = Case::new().fragmented().grow("compact_stall", 120);
        assert!(on.rules().is_empty(), "the fixture's proactiveness is 20");
        let calm = Case::new()
            .fragmented()
            .knob(|k| k.compaction_proactiveness = read(0));
        assert!(calm.rules().is_empty());
        let whole = Case::new()
            .grow("compact_stall", 120)
            .knob(|k| k.compaction_proactiveness = read(0));
        assert!(whole.rules().is_empty());
        // Nor where the kernel lacks the knob (before 5.9).
        let old = Case::new()
            .fragmented()
            .grow("compact_stall", 120)
            .knob(|k| {
                k.compaction_proactiveness = Reading::Missing {
                    path: "proc/sys/vm/compaction_proactiveness".into(),
                }
            });
        assert!(old.rules().is_empty());
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
        // 120,000 pages in 60 s: 2,000/s.
        let case = Case::new()
            .grow("pswpin", 120_000)
            .knob(|k| k.swappiness = read(150));
        assert_eq!(case.rules(), ["swappiness"]);
        assert_eq!(
            case.findings()[0].evidence[0].value,
            "2000 pages/s over 60 s"
        );
        let default = case.knob(|k| k.swappiness = read(60));
        assert!(default.rules().is_empty());
        let light = Case::new()
            .grow("pswpin", 60_000)
            .knob(|k| k.swappiness = read(150));
        assert!(light.rules().is_empty(), "1,000/s is not above 1,024/s");
    }

    #[test]
    fn thp_faults_falling_back_with_thp_always() {
        let always = |c: Case| {
            let mut c = c;
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

//! `/proc/vmstat`: `name value` lines, every counter kept by name. The names
//! change across kernels (mm/vmstat.c `vmstat_text`), so the counters that
//! matter have typed accessors that hide the differences:
//!
//! - reclaim and allocation counters split per zone (`allocstall_normal`,
//!   `pgalloc_dma32`; `pgscan_kswapd_normal` before 4.8) are summed over the
//!   zones the kernel lists, which are those of its `pgalloc_<zone>` lines;
//! - `workingset_refault`, `_activate` and `_restore` split into `_anon` and
//!   `_file` in 5.9 and are summed;
//! - a counter the kernel does not have (`oom_kill` before 4.13,
//!   `pgdemote_*` before 5.15, `compact_*` without CONFIG_COMPACTION, `thp_*`
//!   without THP) is `None`, never 0.
//!
//! Kernels since 5.8 end the file with a constant `nr_unstable 0`, kept for
//! old readers; it is read like any other line.

use super::reading::{
    complete, excerpt, number, numbered, unexpected, ErrorKind, ParseError, Reading, Root,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Bound;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Vmstat {
    pub(crate) counters: BTreeMap<String, u64>,
}

/// The counters that matter, whatever the kernel calls them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Counter {
    /// `pgfault`: page faults, minor and major.
    PgFault,
    /// `pgmajfault`: page faults that waited for I/O (file read or swap-in).
    PgMajFault,
    /// `pswpin`: pages read in from swap.
    PswpIn,
    /// `pswpout`: pages written out to swap.
    PswpOut,
    /// `pgalloc_<zone>`, summed over zones: pages allocated.
    PgAlloc,
    /// `pgfree`: pages freed.
    PgFree,
    /// `allocstall` (per zone from 4.8, summed): allocations that entered
    /// direct reclaim.
    AllocStall,
    /// `pgscan_kswapd` (per zone before 4.8, summed): pages kswapd scanned for
    /// reclaim.
    PgScanKswapd,
    /// `pgscan_direct` (per zone before 4.8, summed): pages direct reclaim
    /// scanned.
    PgScanDirect,
    /// `pgsteal_kswapd` (per zone before 4.8, summed): pages kswapd reclaimed.
    PgStealKswapd,
    /// `pgsteal_direct` (per zone before 4.8, summed): pages direct reclaim
    /// reclaimed.
    PgStealDirect,
    /// `pgscan_anon`: anonymous pages scanned for reclaim (5.8 and later).
    PgScanAnon,
    /// `pgscan_file`: file pages scanned for reclaim (5.8 and later).
    PgScanFile,
    /// `pgsteal_anon`: anonymous pages reclaimed (5.8 and later).
    PgStealAnon,
    /// `pgsteal_file`: file pages reclaimed (5.8 and later).
    PgStealFile,
    /// `pgdemote_kswapd`: pages kswapd demoted to a slower memory tier (5.15
    /// and later).
    PgDemoteKswapd,
    /// `pgdemote_direct`: pages direct reclaim demoted to a slower memory tier
    /// (5.15 and later).
    PgDemoteDirect,
    /// `kswapd_inodesteal`: pages kswapd freed by dropping inodes.
    KswapdInodesteal,
    /// `kswapd_low_wmark_hit_quickly`: kswapd went back to sleep at once, free
    /// pages already above the low watermark.
    KswapdLowWmarkHitQuickly,
    /// `kswapd_high_wmark_hit_quickly`: kswapd went back to sleep at once, free
    /// pages already above the high watermark.
    KswapdHighWmarkHitQuickly,
    /// `pageoutrun`: kswapd reclaim runs.
    PageOutRun,
    /// `compact_stall`: allocations that ran direct compaction.
    CompactStall,
    /// `compact_fail`: direct compactions that did not give the page asked for.
    CompactFail,
    /// `compact_success`: direct compactions that gave the page asked for.
    CompactSuccess,
    /// `compact_migrate_scanned`: pages compaction scanned for pages to move.
    CompactMigrateScanned,
    /// `compact_free_scanned`: pages compaction scanned for free targets.
    CompactFreeScanned,
    /// `compact_isolated`: pages compaction isolated to move.
    CompactIsolated,
    /// `compact_daemon_wake`: kcompactd wakeups.
    CompactDaemonWake,
    /// `pgmigrate_success`: pages migrated.
    PgMigrateSuccess,
    /// `pgmigrate_fail`: pages that could not be migrated.
    PgMigrateFail,
    /// `thp_fault_alloc`: faults served with a transparent huge page.
    ThpFaultAlloc,
    /// `thp_fault_fallback`: faults that wanted a huge page and got small pages.
    ThpFaultFallback,
    /// `thp_collapse_alloc`: huge pages khugepaged allocated to collapse small
    /// pages into.
    ThpCollapseAlloc,
    /// `thp_collapse_alloc_failed`: khugepaged collapses that found no huge page.
    ThpCollapseAllocFailed,
    /// `thp_split_page`: huge pages split into small ones.
    ThpSplitPage,
    /// `thp_swpout`: huge pages swapped out whole.
    ThpSwpout,
    /// `thp_swpout_fallback`: huge pages split to be swapped out.
    ThpSwpoutFallback,
    /// `oom_kill`: OOM kills (4.13 and later).
    OomKill,
    /// `workingset_refault`, or `_anon` plus `_file` from 5.9: evicted pages
    /// faulted back in while still in the working set's shadow.
    WorkingsetRefault,
    /// `workingset_activate`, or `_anon` plus `_file` from 5.9: refaulted pages
    /// made active at once.
    WorkingsetActivate,
    /// `workingset_restore`, or `_anon` plus `_file` from 5.9: refaulted pages
    /// that were active before eviction (thrashing).
    WorkingsetRestore,
    /// `workingset_nodereclaim`: shadow-entry nodes reclaimed.
    WorkingsetNodereclaim,
    /// `drop_pagecache`: writes of 1 or 3 to `/proc/sys/vm/drop_caches`.
    DropPagecache,
    /// `drop_slab`: writes of 2 or 3 to `/proc/sys/vm/drop_caches`.
    DropSlab,
}

/// How a counter is spelled in the file.
enum Spelling {
    /// One line of this name.
    Plain(&'static str),
    /// This name, or else the sum of `name_<zone>` over the kernel's zones.
    PerZone(&'static str),
    /// This name (before 5.9), or else the sum of `name_anon` and `name_file`.
    AnonFile(&'static str),
}

impl Counter {
    /// Every counter, in declaration order.
    pub const ALL: [Counter; 44] = [
        Counter::PgFault,
        Counter::PgMajFault,
        Counter::PswpIn,
        Counter::PswpOut,
        Counter::PgAlloc,
        Counter::PgFree,
        Counter::AllocStall,
        Counter::PgScanKswapd,
        Counter::PgScanDirect,
        Counter::PgStealKswapd,
        Counter::PgStealDirect,
        Counter::PgScanAnon,
        Counter::PgScanFile,
        Counter::PgStealAnon,
        Counter::PgStealFile,
        Counter::PgDemoteKswapd,
        Counter::PgDemoteDirect,
        Counter::KswapdInodesteal,
        Counter::KswapdLowWmarkHitQuickly,
        Counter::KswapdHighWmarkHitQuickly,
        Counter::PageOutRun,
        Counter::CompactStall,
        Counter::CompactFail,
        Counter::CompactSuccess,
        Counter::CompactMigrateScanned,
        Counter::CompactFreeScanned,
        Counter::CompactIsolated,
        Counter::CompactDaemonWake,
        Counter::PgMigrateSuccess,
        Counter::PgMigrateFail,
        Counter::ThpFaultAlloc,
        Counter::ThpFaultFallback,
        Counter::ThpCollapseAlloc,
        Counter::ThpCollapseAllocFailed,
        Counter::ThpSplitPage,
        Counter::ThpSwpout,
        Counter::ThpSwpoutFallback,
        Counter::OomKill,
        Counter::WorkingsetRefault,
        Counter::WorkingsetActivate,
        Counter::WorkingsetRestore,
        Counter::WorkingsetNodereclaim,
        Counter::DropPagecache,
        Counter::DropSlab,
    ];

    fn spelling(self) -> Spelling {
        use Spelling::*;
        match self {
            Counter::PgFault => Plain("pgfault"),
            Counter::PgMajFault => Plain("pgmajfault"),
            Counter::PswpIn => Plain("pswpin"),
            Counter::PswpOut => Plain("pswpout"),
            Counter::PgAlloc => PerZone("pgalloc"),
            Counter::PgFree => Plain("pgfree"),
            Counter::AllocStall => PerZone("allocstall"),
            Counter::PgScanKswapd => PerZone("pgscan_kswapd"),
            Counter::PgScanDirect => PerZone("pgscan_direct"),
            Counter::PgStealKswapd => PerZone("pgsteal_kswapd"),
            Counter::PgStealDirect => PerZone("pgsteal_direct"),
            Counter::PgScanAnon => Plain("pgscan_anon"),
            Counter::PgScanFile => Plain("pgscan_file"),
            Counter::PgStealAnon => Plain("pgsteal_anon"),
            Counter::PgStealFile => Plain("pgsteal_file"),
            Counter::PgDemoteKswapd => Plain("pgdemote_kswapd"),
            Counter::PgDemoteDirect => Plain("pgdemote_direct"),
            Counter::KswapdInodesteal => Plain("kswapd_inodesteal"),
            Counter::KswapdLowWmarkHitQuickly => Plain("kswapd_low_wmark_hit_quickly"),
            Counter::KswapdHighWmarkHitQuickly => Plain("kswapd_high_wmark_hit_quickly"),
            Counter::PageOutRun => Plain("pageoutrun"),
            Counter::CompactStall => Plain("compact_stall"),
            Counter::CompactFail => Plain("compact_fail"),
            Counter::CompactSuccess => Plain("compact_success"),
            Counter::CompactMigrateScanned => Plain("compact_migrate_scanned"),
            Counter::CompactFreeScanned => Plain("compact_free_scanned"),
            Counter::CompactIsolated => Plain("compact_isolated"),
            Counter::CompactDaemonWake => Plain("compact_daemon_wake"),
            Counter::PgMigrateSuccess => Plain("pgmigrate_success"),
            Counter::PgMigrateFail => Plain("pgmigrate_fail"),
            Counter::ThpFaultAlloc => Plain("thp_fault_alloc"),
            Counter::ThpFaultFallback => Plain("thp_fault_fallback"),
            Counter::ThpCollapseAlloc => Plain("thp_collapse_alloc"),
            Counter::ThpCollapseAllocFailed => Plain("thp_collapse_alloc_failed"),
            Counter::ThpSplitPage => Plain("thp_split_page"),
            Counter::ThpSwpout => Plain("thp_swpout"),
            Counter::ThpSwpoutFallback => Plain("thp_swpout_fallback"),
            Counter::OomKill => Plain("oom_kill"),
            Counter::WorkingsetRefault => AnonFile("workingset_refault"),
            Counter::WorkingsetActivate => AnonFile("workingset_activate"),
            Counter::WorkingsetRestore => AnonFile("workingset_restore"),
            Counter::WorkingsetNodereclaim => Plain("workingset_nodereclaim"),
            Counter::DropPagecache => Plain("drop_pagecache"),
            Counter::DropSlab => Plain("drop_slab"),
        }
    }
}

impl Vmstat {
    /// A counter by its name in the file.
    pub(crate) fn counter(&self, name: &str) -> Option<u64> {
        self.counters.get(name).copied()
    }

    /// A counter that matters, summed where the kernel splits it; None when
    /// this kernel does not count it.
    pub(crate) fn get(&self, c: Counter) -> Option<u64> {
        match c.spelling() {
            Spelling::Plain(name) => self.counter(name),
            Spelling::PerZone(name) => self
                .counter(name)
                .or_else(|| self.sum(name, self.zones().iter().map(String::as_str))),
            Spelling::AnonFile(name) => self
                .counter(name)
                .or_else(|| self.sum(name, ["anon", "file"].into_iter())),
        }
    }

    /// The zone suffixes of this kernel: every zone has a `pgalloc_<zone>`
    /// line, whatever the configuration (and vendor zones too).
    fn zones(&self) -> Vec<String> {
        self.counters
            .range::<str, _>((Bound::Included("pgalloc_"), Bound::Unbounded))
            .map_while(|(k, _)| k.strip_prefix("pgalloc_"))
            .map(str::to_owned)
            .collect()
    }

    /// The sum of `name_<suffix>` over the suffixes present; None if none is.
    fn sum<'a>(&self, name: &str, suffixes: impl Iterator<Item = &'a str>) -> Option<u64> {
        suffixes
            .filter_map(|s| self.counter(&format!("{name}_{s}")))
            .fold(None, |sum, v| Some(sum.unwrap_or(0u64).saturating_add(v)))
    }
}

pub(crate) fn parse(text: &str) -> Result<Vmstat, ParseError> {
    complete(text)?;
    let mut counters = BTreeMap::new();
    for (lineno, line) in numbered(text) {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        match tokens.as_slice() {
            [] => continue,
            [name, value] => {
                let value = number(value, lineno)?;
                if counters.insert((*name).to_owned(), value).is_some() {
                    return Err(ParseError::at(
                        lineno,
                        ErrorKind::Duplicate {
                            name: excerpt(name),
                        },
                    ));
                }
            }
            _ => return Err(unexpected(lineno, line)),
        }
    }
    Ok(Vmstat { counters })
}

pub(crate) fn read(root: &Root) -> Reading<Vmstat> {
    root.read("proc/vmstat", parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V5_10: &str = include_str!("../../tests/fixtures/system/vmstat-5.10");
    const V5_15: &str = include_str!("../../tests/fixtures/system/vmstat-5.15");
    const V6_1: &str = include_str!("../../tests/fixtures/system/vmstat-6.1");
    const V6_6: &str = include_str!("../../tests/fixtures/system/vmstat-6.6");
    const V6_18: &str = include_str!("../../tests/fixtures/system/vmstat-6.18");

    /// The layout before 4.8 (node-based reclaim): reclaim counters per zone,
    /// one `allocstall`, no `oom_kill` yet, unsplit `workingset_*`.
    const V4_4: &str = "pgalloc_dma 12\npgalloc_normal 800\npgalloc_movable 0\n\
        pgsteal_kswapd_dma 1\npgsteal_kswapd_normal 300\npgsteal_kswapd_movable 0\n\
        pgsteal_direct_dma 0\npgsteal_direct_normal 40\npgsteal_direct_movable 0\n\
        pgscan_kswapd_dma 2\npgscan_kswapd_normal 500\npgscan_kswapd_movable 0\n\
        pgscan_direct_dma 0\npgscan_direct_normal 70\npgscan_direct_movable 0\n\
        pgscan_direct_throttle 9\nallocstall 17\nworkingset_refault 66\n\
        workingset_activate 5\nworkingset_nodereclaim 1\n";

    #[test]
    fn this_machine() {
        let v = parse(V6_18).unwrap();
        assert_eq!(v.counters.len(), 192);
        assert_eq!(v.get(Counter::PgFault), Some(26264583));
        assert_eq!(v.get(Counter::PgMajFault), Some(9191));
        // allocstall_dma + _dma32 + _normal + _movable + _device, all 0.
        assert_eq!(v.get(Counter::AllocStall), Some(0));
        // pgalloc_dma 0 + _dma32 0 + _normal 26176208 + _movable 0 + _device 0.
        assert_eq!(v.get(Counter::PgAlloc), Some(26176208));
        assert_eq!(v.get(Counter::PgFree), Some(27398253));
        assert_eq!(v.get(Counter::DropPagecache), Some(1));
        assert_eq!(v.get(Counter::DropSlab), Some(2));
        assert_eq!(v.get(Counter::OomKill), Some(0));
        // workingset_refault_anon 0 + workingset_refault_file 1551186.
        assert_eq!(v.get(Counter::WorkingsetRefault), Some(1551186));
        assert_eq!(v.get(Counter::WorkingsetActivate), Some(330563));
        assert_eq!(v.counter("nr_unstable"), Some(0));
        assert_eq!(v.counter("thp_file_mapped"), Some(574));
        // Every counter that matters is there on this kernel.
        for c in Counter::ALL {
            assert!(v.get(c).is_some(), "{c:?}");
        }
    }

    #[test]
    fn kernel_layouts() {
        let v = parse(V5_10).unwrap();
        // 3 (dma32) + 1211 (normal) + 0 + 0.
        assert_eq!(v.get(Counter::AllocStall), Some(1214));
        assert_eq!(v.get(Counter::PgAlloc), Some(3 + 81223901 + 2399120032));
        assert_eq!(v.get(Counter::PgScanDirect), Some(3312877));
        assert_eq!(v.get(Counter::WorkingsetRefault), Some(30211 + 16200462));
        assert_eq!(v.get(Counter::OomKill), Some(2));
        assert_eq!(v.get(Counter::CompactStall), Some(412));
        // Demotion counters came in 5.15.
        assert_eq!(v.get(Counter::PgDemoteKswapd), None);
        assert_eq!(v.counter("zone_reclaim_failed"), Some(0));
        // A zone counter in 5.10, summed over the zones: node 0's DMA 0 +
        // DMA32 1094 + Normal 50906, and node 1's Normal 50830.
        assert_eq!(v.counter("nr_page_table_pages"), Some(102830));

        let v = parse(V5_15).unwrap();
        assert_eq!(v.get(Counter::PgDemoteKswapd), Some(0));
        assert_eq!(v.counter("cma_alloc_success"), Some(12));
        assert_eq!(v.counter("nr_throttled_written"), None);

        // 6.1 without NUMA: no zone_reclaim_failed, no numa_*; zram swap.
        let v = parse(V6_1).unwrap();
        assert_eq!(v.counter("zone_reclaim_failed"), None);
        assert_eq!(v.counter("numa_hit"), None);
        assert_eq!(v.get(Counter::PswpOut), Some(4420192));
        assert_eq!(v.get(Counter::AllocStall), Some(122 + 8211));
        assert_eq!(v.counter("nr_sec_page_table_pages"), Some(0));
        assert_eq!(v.counter("pgscan_khugepaged"), None);

        // 6.6: khugepaged's reclaim counted apart, not in pgscan_direct.
        let v = parse(V6_6).unwrap();
        assert_eq!(v.counter("pgscan_khugepaged"), Some(0));
        assert_eq!(v.get(Counter::PgScanDirect), Some(1822091));
        assert_eq!(v.get(Counter::ThpFaultAlloc), Some(3012));
    }

    #[test]
    fn before_node_reclaim() {
        let v = parse(V4_4).unwrap();
        assert_eq!(v.get(Counter::AllocStall), Some(17));
        // pgscan_direct_throttle is not a zone: 0 + 70 + 0.
        assert_eq!(v.get(Counter::PgScanDirect), Some(70));
        assert_eq!(v.get(Counter::PgScanKswapd), Some(502));
        assert_eq!(v.get(Counter::PgStealKswapd), Some(301));
        assert_eq!(v.get(Counter::PgStealDirect), Some(40));
        assert_eq!(v.get(Counter::PgAlloc), Some(812));
        assert_eq!(v.get(Counter::WorkingsetRefault), Some(66));
        assert_eq!(v.get(Counter::OomKill), None);
        assert_eq!(v.get(Counter::WorkingsetRestore), None);
    }

    fn kind(text: &str) -> (usize, ErrorKind) {
        let e = parse(text).unwrap_err();
        (e.line, e.kind)
    }

    #[test]
    fn malformed() {
        assert_eq!(kind(""), (0, ErrorKind::Empty));
        // Cut in the middle of a name, or of a value.
        let cut = &V6_18[..V6_18.find("pgmajfault").unwrap() + 5];
        assert_eq!(kind(cut), (97, ErrorKind::Truncated));
        let cut = &V6_18[..V6_18.find("pgfault ").unwrap() + 10];
        assert_eq!(kind(cut), (96, ErrorKind::Truncated));
        // Cut at a line boundary: the counters before the cut.
        let cut = &V6_18[..V6_18.find("pgmajfault").unwrap()];
        let v = parse(cut).unwrap();
        assert_eq!((v.counters.len(), v.get(Counter::PgMajFault)), (96, None));
        assert_eq!(
            kind("pgfault\n"),
            (
                1,
                ErrorKind::Unexpected {
                    text: "pgfault".into()
                }
            )
        );
        assert_eq!(
            kind("pgfault 12 kB\n"),
            (
                1,
                ErrorKind::Unexpected {
                    text: "pgfault 12 kB".into()
                }
            )
        );
        assert_eq!(
            kind("pgfault -1\n"),
            (1, ErrorKind::NotANumber { token: "-1".into() })
        );
        assert_eq!(
            kind("pgfault 1\npgfault 2\n"),
            (
                2,
                ErrorKind::Duplicate {
                    name: "pgfault".into()
                }
            )
        );
        // A counter of a newer kernel, or of a vendor's, is kept by name.
        let v = parse("pgfault 5\nnr_vendor_pool_pages 12\npgalloc_vendorzone 3\n").unwrap();
        assert_eq!(v.counter("nr_vendor_pool_pages"), Some(12));
        assert_eq!(v.get(Counter::PgAlloc), Some(3));
        // Summing saturates instead of overflowing.
        let v = parse("pgalloc_dma 18446744073709551615\npgalloc_normal 5\n").unwrap();
        assert_eq!(v.get(Counter::PgAlloc), Some(u64::MAX));
    }

    #[test]
    fn live() {
        let v = read(&Root::default());
        let v = v.value().expect("/proc/vmstat");
        assert!(v.get(Counter::PgFault).unwrap() > 0);
        assert!(v.get(Counter::PgAlloc).unwrap() > 0);
        assert!(v.get(Counter::AllocStall).is_some());
    }

    proptest::proptest! {
        #![proptest_config(super::super::reading::arbitrary::config())]
        #[test]
        fn never_panics(
            lines in super::super::reading::arbitrary::lines(),
            bytes in super::super::reading::arbitrary::bytes(),
            mutated in super::super::reading::arbitrary::mutated(V5_10),
        ) {
            for text in [lines, bytes, mutated] {
                if let Ok(v) = parse(&text) {
                    for c in Counter::ALL {
                        v.get(c);
                    }
                }
            }
        }
    }
}

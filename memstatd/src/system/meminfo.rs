//! `/proc/meminfo` (fs/proc/meminfo.c): `Name:  value kB` lines, plus the
//! unitless `HugePages_*` counts. Fields come and go with kernel versions and
//! configurations (`Zswap`/`Zswapped` with zswap since 5.19, `SecPageTables`
//! since 6.0, `ShadowCallStack` with SCS, `CmaTotal` with CMA, `DirectMap*`
//! on x86 only); a field the kernel does not print is `None`.
//!
//! Android kernels let vendor modules add their own lines
//! (`android_vh_meminfo_proc_show`, called after `CmaFree` and before the
//! `HugePages_*` and `DirectMap*` lines: GPU, ion and dma-buf heaps, zram,
//! iommu pools), in the same `Name: value kB` shape but not always under a
//! name of their own. They are kept like any other field; when a name comes
//! twice, the first line wins (for every field up to `CmaFree`, the
//! kernel's own).

use super::reading::{complete, number, numbered, unexpected, ParseError, Reading, Root};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Meminfo {
    /// Fields in kB (KiB, whatever the file says).
    pub(crate) kb: BTreeMap<String, u64>,
    /// Unitless fields: the `HugePages_*` page counts.
    pub(crate) counts: BTreeMap<String, u64>,
}

/// The fields that matter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum MeminfoField {
    /// `MemTotal`: usable RAM, physical less what the kernel reserved at boot.
    MemTotal,
    /// `MemFree`: RAM in no use at all.
    MemFree,
    /// `MemAvailable`: the kernel's estimate of what can be allocated without
    /// swapping: free memory plus the reclaimable page cache and slab.
    MemAvailable,
    /// `Buffers`: page cache of raw block devices (file system metadata).
    Buffers,
    /// `Cached`: page cache of files, shmem and tmpfs included, swap cache not.
    Cached,
    /// `SwapCached`: swapped-out pages back in RAM and still in swap, which can
    /// be dropped without writing.
    SwapCached,
    /// `Active`: LRU pages used recently, anon and file, not reclaimed soon.
    Active,
    /// `Inactive`: LRU pages not used recently, the first to be reclaimed.
    Inactive,
    /// `Unevictable`: pages reclaim cannot take (mlocked, ramfs, locked shmem).
    Unevictable,
    /// `Mlocked`: pages locked in RAM by `mlock`.
    Mlocked,
    /// `SwapTotal`: swap space, zram included.
    SwapTotal,
    /// `SwapFree`: swap space unused.
    SwapFree,
    /// `Zswap`: RAM the zswap pool takes (5.19 and later, with zswap).
    Zswap,
    /// `Zswapped`: anonymous memory stored in zswap, uncompressed size.
    Zswapped,
    /// `Dirty`: page cache waiting to be written back.
    Dirty,
    /// `Writeback`: page cache being written back now.
    Writeback,
    /// `AnonPages`: anonymous pages mapped into user page tables.
    AnonPages,
    /// `Mapped`: page cache mapped into user space (libraries, mmapped files).
    Mapped,
    /// `Shmem`: shared memory and tmpfs, counted in `Cached` too.
    Shmem,
    /// `KReclaimable`: kernel memory reclaim can free under pressure:
    /// reclaimable slab and others (4.20 and later).
    KReclaimable,
    /// `Slab`: all slab memory, `SReclaimable` plus `SUnreclaim`.
    Slab,
    /// `SReclaimable`: slab that can be reclaimed (dentry and inode caches).
    SReclaimable,
    /// `SUnreclaim`: slab that cannot be reclaimed.
    SUnreclaim,
    /// `KernelStack`: kernel stacks of every thread.
    KernelStack,
    /// `ShadowCallStack`: shadow call stacks (arm64 kernels built with SCS).
    ShadowCallStack,
    /// `PageTables`: user page tables.
    PageTables,
    /// `SecPageTables`: secondary page tables: KVM and IOMMU (6.0 and later).
    SecPageTables,
    /// `CommitLimit`: what can be committed under strict overcommit
    /// (`vm.overcommit_memory` 2): swap plus the overcommit share of RAM.
    CommitLimit,
    /// `Committed_AS`: memory allocated by every process, used or not: what
    /// would be needed to never run out.
    CommittedAs,
    /// `VmallocUsed`: vmalloc space in use.
    VmallocUsed,
    /// `Percpu`: per-CPU allocator memory.
    Percpu,
    /// `AnonHugePages`: anonymous memory mapped by transparent huge pages.
    AnonHugePages,
    /// `CmaTotal`: memory reserved for the contiguous memory allocator.
    CmaTotal,
    /// `CmaFree`: CMA memory free; movable allocations may still use it.
    CmaFree,
    /// `Hugetlb`: memory of hugetlbfs pools, every page size.
    Hugetlb,
}

impl MeminfoField {
    /// The name in the file.
    pub(crate) fn name(self) -> &'static str {
        match self {
            MeminfoField::MemTotal => "MemTotal",
            MeminfoField::MemFree => "MemFree",
            MeminfoField::MemAvailable => "MemAvailable",
            MeminfoField::Buffers => "Buffers",
            MeminfoField::Cached => "Cached",
            MeminfoField::SwapCached => "SwapCached",
            MeminfoField::Active => "Active",
            MeminfoField::Inactive => "Inactive",
            MeminfoField::Unevictable => "Unevictable",
            MeminfoField::Mlocked => "Mlocked",
            MeminfoField::SwapTotal => "SwapTotal",
            MeminfoField::SwapFree => "SwapFree",
            MeminfoField::Zswap => "Zswap",
            MeminfoField::Zswapped => "Zswapped",
            MeminfoField::Dirty => "Dirty",
            MeminfoField::Writeback => "Writeback",
            MeminfoField::AnonPages => "AnonPages",
            MeminfoField::Mapped => "Mapped",
            MeminfoField::Shmem => "Shmem",
            MeminfoField::KReclaimable => "KReclaimable",
            MeminfoField::Slab => "Slab",
            MeminfoField::SReclaimable => "SReclaimable",
            MeminfoField::SUnreclaim => "SUnreclaim",
            MeminfoField::KernelStack => "KernelStack",
            MeminfoField::ShadowCallStack => "ShadowCallStack",
            MeminfoField::PageTables => "PageTables",
            MeminfoField::SecPageTables => "SecPageTables",
            MeminfoField::CommitLimit => "CommitLimit",
            MeminfoField::CommittedAs => "Committed_AS",
            MeminfoField::VmallocUsed => "VmallocUsed",
            MeminfoField::Percpu => "Percpu",
            MeminfoField::AnonHugePages => "AnonHugePages",
            MeminfoField::CmaTotal => "CmaTotal",
            MeminfoField::CmaFree => "CmaFree",
            MeminfoField::Hugetlb => "Hugetlb",
        }
    }
}

impl Meminfo {
    pub(crate) fn kb(&self, f: MeminfoField) -> Option<u64> {
        self.kb.get(f.name()).copied()
    }
}

pub(crate) fn parse(text: &str) -> Result<Meminfo, ParseError> {
    complete(text)?;
    let mut out = Meminfo {
        kb: BTreeMap::new(),
        counts: BTreeMap::new(),
    };
    for (lineno, line) in numbered(text) {
        let mut tokens: Vec<&str> = line.split_whitespace().collect();
        let map = match tokens.last() {
            None => continue,
            Some(&"kB") => {
                tokens.pop();
                &mut out.kb
            }
            Some(_) => &mut out.counts,
        };
        // The value is the last token; the name, everything before it up to
        // the colon. The kernel's names are one word; a vendor's may not be.
        let value = tokens.pop().unwrap_or_default();
        let name = match tokens.join(" ").strip_suffix(':') {
            Some(n) if !n.is_empty() && !n.ends_with(' ') => n.to_owned(),
            _ => return Err(unexpected(lineno, line)),
        };
        let value = number(value, lineno)?;
        map.entry(name).or_insert(value);
    }
    Ok(out)
}

pub(crate) fn read(root: &Root) -> Reading<Meminfo> {
    root.read("proc/meminfo", parse)
}

#[cfg(test)]
mod tests {
    use super::super::reading::ErrorKind;
    use super::*;
    use MeminfoField::*;

    const V5_10: &str = include_str!("../../tests/fixtures/system/meminfo-5.10");
    const V5_15: &str = include_str!("../../tests/fixtures/system/meminfo-5.15");
    const V6_1: &str = include_str!("../../tests/fixtures/system/meminfo-6.1");
    const V6_6: &str = include_str!("../../tests/fixtures/system/meminfo-6.6");
    const V6_18: &str = include_str!("../../tests/fixtures/system/meminfo-6.18");

    #[test]
    fn this_machine() {
        let m = parse(V6_18).unwrap();
        assert_eq!(m.kb(MemTotal), Some(24684084));
        assert_eq!(m.kb(MemFree), Some(23378272));
        assert_eq!(m.kb(MemAvailable), Some(24264868));
        assert_eq!(m.kb(Slab), Some(131552));
        assert_eq!(m.kb(SReclaimable), Some(106316));
        assert_eq!(m.kb(SUnreclaim), Some(25236));
        assert_eq!(m.kb(SecPageTables), Some(0));
        assert_eq!(m.kb(Zswap), Some(0));
        assert_eq!(m.kb(CommittedAs), Some(50032));
        // No CMA and no shadow call stacks on this kernel.
        assert_eq!(m.kb(CmaTotal), None);
        assert_eq!(m.kb(ShadowCallStack), None);
        assert_eq!(m.kb.get("VmallocTotal"), Some(&34359738367));
        assert_eq!(m.kb.get("Active(anon)"), Some(&1512));
        assert_eq!(m.counts.get("HugePages_Total"), Some(&0));
        assert_eq!(m.counts.len(), 4);
        assert_eq!(m.kb.len() + m.counts.len(), 54);
    }

    #[test]
    fn kernel_layouts() {
        let m = parse(V5_10).unwrap();
        assert_eq!((m.kb(CmaTotal), m.kb(CmaFree)), (Some(65536), Some(61220)));
        assert_eq!((m.kb(SecPageTables), m.kb(Zswap)), (None, None));
        assert_eq!(m.kb.get("DirectMap1G"), Some(&73400320));
        // arm64 with 64K pages: 512 MiB huge pages, no DirectMap lines.
        let m = parse(V5_15).unwrap();
        assert_eq!(m.kb.get("Hugepagesize"), Some(&524288));
        assert!(!m.kb.keys().any(|k| k.starts_with("DirectMap")));
        // Android 6.1: shadow call stacks and secondary page tables, no
        // HugeTLB.
        let m = parse(V6_1).unwrap();
        assert_eq!(m.kb(ShadowCallStack), Some(6140));
        assert_eq!(m.kb(SecPageTables), Some(0));
        assert!(m.counts.is_empty());
        assert_eq!(m.kb(SwapFree), Some(2211004));
        assert_eq!(m.kb(Zswap), None);
        let m = parse(V6_6).unwrap();
        assert_eq!(m.kb(Zswapped), Some(0));
    }

    fn kind(text: &str) -> (usize, ErrorKind) {
        let e = parse(text).unwrap_err();
        (e.line, e.kind)
    }

    #[test]
    fn malformed() {
        assert_eq!(kind(""), (0, ErrorKind::Empty));
        // Cut in the middle of a value, or of a name.
        let cut = &V6_18[..V6_18.find("Cached:").unwrap() + 20];
        assert_eq!(kind(cut), (5, ErrorKind::Truncated));
        let cut = &V6_18[..V6_18.find("Cached:").unwrap() + 3];
        assert_eq!(kind(cut), (5, ErrorKind::Truncated));
        // Cut at a line boundary: the fields before the cut.
        let cut = &V6_18[..V6_18.find("Cached:").unwrap()];
        assert_eq!(parse(cut).unwrap().kb.len(), 4);
        assert_eq!(
            kind("Cac\n"),
            (1, ErrorKind::Unexpected { text: "Cac".into() })
        );
        assert_eq!(
            kind("MemTotal 1 kB\n"),
            (
                1,
                ErrorKind::Unexpected {
                    text: "MemTotal 1 kB".into()
                }
            )
        );
        assert_eq!(
            kind("MemTotal: 1 MB\n"),
            (
                1,
                ErrorKind::Unexpected {
                    text: "MemTotal: 1 MB".into()
                }
            )
        );
        assert_eq!(
            kind("MemTotal: lots kB\n"),
            (
                1,
                ErrorKind::NotANumber {
                    token: "lots".into()
                }
            )
        );
        assert!(matches!(
            kind(": 1 kB\n"),
            (1, ErrorKind::Unexpected { .. })
        ));
    }

    /// Lines a vendor module adds through android_vh_meminfo_proc_show,
    /// after CmaFree: new names, and names the kernel already printed.
    #[test]
    fn vendor_lines() {
        let vendor = "GPUTotalUsed:      12345 kB\n\
                      IonTotalCache:         0 kB\n\
                      IonTotalUsed:     201344 kB\n\
                      Cached:              999 kB\n\
                      KgslShmemUsage:    40960 kB\n\
                      GPUTotalUsed:         77 kB\n\
                      Hugepagesize:          1 kB\n";
        let at = V5_10.find("HugePages_Total:").unwrap();
        let text = format!("{}{vendor}{}", &V5_10[..at], &V5_10[at..]);
        let m = parse(&text).unwrap();
        let base = parse(V5_10).unwrap();
        assert_eq!(m.kb.get("GPUTotalUsed"), Some(&12345));
        assert_eq!(m.kb.get("IonTotalCache"), Some(&0));
        assert_eq!(m.kb.get("IonTotalUsed"), Some(&201344));
        assert_eq!(m.kb.get("KgslShmemUsage"), Some(&40960));
        // The first line of a name wins: the kernel's Cached, and the
        // vendor's Hugepagesize, which comes before the kernel's.
        assert_eq!(m.kb(Cached), base.kb(Cached));
        assert_eq!(m.kb.get("Hugepagesize"), Some(&1));
        assert_eq!(m.kb.len(), base.kb.len() + 4);
        assert_eq!(m.counts, base.counts);
        // A vendor's name may have spaces; its line still has the shape of
        // the others.
        let spaced = format!("{}GPU Total Used: 5 kB\n{}", &V5_10[..at], &V5_10[at..]);
        assert_eq!(parse(&spaced).unwrap().kb.get("GPU Total Used"), Some(&5));
        let broken = format!("{}GPU Total Used 5 kB\n{}", &V5_10[..at], &V5_10[at..]);
        assert!(matches!(
            kind(&broken),
            (n, ErrorKind::Unexpected { .. }) if n == V5_10[..at].lines().count() + 1
        ));
        assert_eq!(
            parse("MemTotal: 1 kB\nMemTotal: 2 kB\n").unwrap().kb["MemTotal"],
            1
        );
    }

    #[test]
    fn live() {
        let m = read(&Root::default());
        let m = m.value().expect("/proc/meminfo");
        let total = m.kb(MemTotal).unwrap();
        assert!(total > m.kb(MemFree).unwrap());
        assert!(total >= m.kb(MemAvailable).unwrap());
        assert!(m.kb(SwapTotal).unwrap() >= m.kb(SwapFree).unwrap());
        assert!(m.kb(Slab).unwrap() >= m.kb(SReclaimable).unwrap());
    }

    proptest::proptest! {
        #![proptest_config(super::super::reading::arbitrary::config())]
        #[test]
        fn never_panics(
            lines in super::super::reading::arbitrary::lines(),
            bytes in super::super::reading::arbitrary::bytes(),
            mutated in super::super::reading::arbitrary::mutated(V6_1),
        ) {
            for text in [lines, bytes, mutated] {
                let _ = parse(&text);
            }
        }
    }
}

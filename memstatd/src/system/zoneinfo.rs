//! `/proc/zoneinfo` (mm/vmstat.c `zoneinfo_show_print`): every zone of every
//! node, populated or not. The first populated zone of a node carries the
//! node's counters (`per-node stats`); each zone has its free pages,
//! watermarks and sizes, `protection` (lowmem_reserve), and when populated
//! its zone counters, per-cpu pagesets, `node_unreclaimable` and
//! `start_pfn`.
//!
//! Kernels differ in the watermark block: `cma` since 5.12, `boost` since
//! 5.16, `promo` (memory tiering) in later kernels; those are `None` where
//! the kernel does not print them. Zone counters moved between the zone and
//! node lists across versions (`nr_page_table_pages`, `nr_kernel_stack`), so
//! both are kept as printed. Per-cpu pageset details are not kept.
//!
//! A zone missing one of the fields every kernel prints (a text cut short)
//! is an error. A `name value` line the parser does not know is not: before
//! the pagesets it is kept with the node's or zone's counters (kernels add
//! counters often), among the pagesets it is skipped like them. Lines of any
//! other shape are errors.

use super::reading::{
    complete, node_zone, number, numbered, signed, unexpected, ErrorKind, ParseError, Reading, Root,
};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Zoneinfo {
    pub(crate) nodes: Vec<NodeStats>,
    pub(crate) zones: Vec<Zone>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct NodeStats {
    pub(crate) node: u32,
    pub(crate) stats: BTreeMap<String, u64>,
}

/// One zone; counts are in pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Zone {
    pub(crate) node: u32,
    pub(crate) zone: String,
    pub(crate) free: u64,
    pub(crate) boost: Option<u64>,
    pub(crate) min: u64,
    pub(crate) low: u64,
    pub(crate) high: u64,
    pub(crate) promo: Option<u64>,
    pub(crate) spanned: u64,
    pub(crate) present: u64,
    pub(crate) managed: u64,
    pub(crate) cma: Option<u64>,
    /// lowmem_reserve against allocations aimed at each zone of the node.
    pub(crate) protection: Vec<i64>,
    /// Zone counters (`nr_free_pages`, `nr_zone_*`, `numa_*`...) and any
    /// other `name value` line of the zone; empty for unpopulated zones.
    pub(crate) stats: BTreeMap<String, u64>,
    pub(crate) node_unreclaimable: Option<bool>,
    pub(crate) start_pfn: Option<u64>,
}

impl Zone {
    pub(crate) fn populated(&self) -> bool {
        self.present > 0
    }
}

/// What the zone's lines have said so far.
struct Partial {
    node: u32,
    zone: String,
    header_line: usize,
    fields: BTreeMap<&'static str, u64>,
    protection: Option<Vec<i64>>,
    stats: BTreeMap<String, u64>,
    node_unreclaimable: Option<bool>,
    start_pfn: Option<u64>,
}

const REQUIRED: [&str; 7] = [
    "free", "min", "low", "high", "spanned", "present", "managed",
];
const OPTIONAL: [&str; 3] = ["boost", "promo", "cma"];

#[derive(Clone, Copy, PartialEq)]
enum Section {
    NodeStats,
    Zone,
    Pagesets,
}

impl Partial {
    fn finish(self) -> Result<Zone, ParseError> {
        let f = &self.fields;
        let missing = |what: &str| {
            ParseError::at(
                self.header_line,
                ErrorKind::Missing {
                    what: format!("{what} of node {} zone {}", self.node, self.zone),
                },
            )
        };
        let get = |k: &str| f.get(k).copied().ok_or_else(|| missing(k));
        Ok(Zone {
            free: get("free")?,
            boost: f.get("boost").copied(),
            min: get("min")?,
            low: get("low")?,
            high: get("high")?,
            promo: f.get("promo").copied(),
            spanned: get("spanned")?,
            present: get("present")?,
            managed: get("managed")?,
            cma: f.get("cma").copied(),
            protection: self
                .protection
                .clone()
                .ok_or_else(|| missing("protection"))?,
            node: self.node,
            zone: self.zone,
            stats: self.stats,
            node_unreclaimable: self.node_unreclaimable,
            start_pfn: self.start_pfn,
        })
    }
}

pub(crate) fn parse(text: &str) -> Result<Zoneinfo, ParseError> {
    complete(text)?;
    let mut out = Zoneinfo {
        nodes: Vec::new(),
        zones: Vec::new(),
    };
    let mut current: Option<Partial> = None;
    let mut section = Section::Zone;
    for (lineno, line) in numbered(text) {
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if tokens.is_empty() {
            continue;
        }
        if tokens[0] == "Node" {
            let nz = node_zone(line, lineno)?;
            if nz.comma || !nz.rest.is_empty() {
                return Err(unexpected(lineno, line));
            }
            if let Some(done) = current.take() {
                out.zones.push(done.finish()?);
            }
            if out
                .zones
                .iter()
                .any(|z| z.node == nz.node && z.zone == nz.zone)
            {
                return Err(ParseError::at(
                    lineno,
                    ErrorKind::Duplicate {
                        name: format!("node {} zone {}", nz.node, nz.zone),
                    },
                ));
            }
            current = Some(Partial {
                node: nz.node,
                zone: nz.zone,
                header_line: lineno,
                fields: BTreeMap::new(),
                protection: None,
                stats: BTreeMap::new(),
                node_unreclaimable: None,
                start_pfn: None,
            });
            section = Section::Zone;
            continue;
        }
        let Some(zone) = current.as_mut() else {
            return Err(unexpected(lineno, line));
        };
        match (section, tokens.as_slice()) {
            (_, ["per-node", "stats"]) => {
                if out.nodes.iter().any(|n| n.node == zone.node) {
                    return Err(ParseError::at(
                        lineno,
                        ErrorKind::Duplicate {
                            name: format!("per-node stats of node {}", zone.node),
                        },
                    ));
                }
                out.nodes.push(NodeStats {
                    node: zone.node,
                    stats: BTreeMap::new(),
                });
                section = Section::NodeStats;
            }
            (_, ["pages", "free", n]) => {
                put(&mut zone.fields, "free", number(n, lineno)?, lineno)?;
                section = Section::Zone;
            }
            (_, ["protection:", ..]) => {
                zone.protection = Some(protection(line, lineno)?);
            }
            (_, ["pagesets"]) => section = Section::Pagesets,
            (_, ["node_unreclaimable:", n]) => {
                zone.node_unreclaimable = Some(number(n, lineno)? != 0);
                section = Section::Zone;
            }
            (_, ["start_pfn:", n]) => {
                zone.start_pfn = Some(number(n, lineno)?);
                section = Section::Zone;
            }
            (Section::Pagesets, _) => pageset_line(&tokens, lineno, line)?,
            (Section::NodeStats, [name, n]) => {
                let value = number(n, lineno)?;
                if let Some(node) = out.nodes.last_mut() {
                    insert(&mut node.stats, name, value, lineno)?;
                }
            }
            (Section::Zone, [name, n]) => {
                let value = number(n, lineno)?;
                match REQUIRED.iter().chain(&OPTIONAL).find(|k| *k == name) {
                    Some(k) if zone.stats.is_empty() => put(&mut zone.fields, k, value, lineno)?,
                    _ => insert(&mut zone.stats, name, value, lineno)?,
                }
            }
            _ => return Err(unexpected(lineno, line)),
        }
    }
    if let Some(done) = current.take() {
        out.zones.push(done.finish()?);
    }
    if out.zones.is_empty() {
        return Err(ParseError::whole(ErrorKind::Missing {
            what: "a zone".into(),
        }));
    }
    Ok(out)
}

fn put(
    fields: &mut BTreeMap<&'static str, u64>,
    key: &'static str,
    value: u64,
    lineno: usize,
) -> Result<(), ParseError> {
    match fields.insert(key, value) {
        Some(_) => Err(ParseError::at(
            lineno,
            ErrorKind::Duplicate { name: key.into() },
        )),
        None => Ok(()),
    }
}

fn insert(
    map: &mut BTreeMap<String, u64>,
    name: &str,
    value: u64,
    lineno: usize,
) -> Result<(), ParseError> {
    match map.insert(name.to_owned(), value) {
        Some(_) => Err(ParseError::at(
            lineno,
            ErrorKind::Duplicate {
                name: super::reading::excerpt(name),
            },
        )),
        None => Ok(()),
    }
}

/// `protection: (0, 2951, 31889)`.
fn protection(line: &str, lineno: usize) -> Result<Vec<i64>, ParseError> {
    let inner = line
        .trim()
        .strip_prefix("protection:")
        .map(str::trim)
        .and_then(|s| s.strip_prefix('('))
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| unexpected(lineno, line))?;
    inner.split(',').map(|t| signed(t.trim(), lineno)).collect()
}

/// `cpu: 0`, `count: 12`, `high_min: 26`, `vm stats threshold: 24`: a label
/// ending in a colon, then an integer; or a `name value` line of a newer
/// kernel. Their values are not kept.
fn pageset_line(tokens: &[&str], lineno: usize, line: &str) -> Result<(), ParseError> {
    match tokens {
        [.., label, value] if label.ends_with(':') => signed(value, lineno).map(|_| ()),
        [_, value] => signed(value, lineno).map(|_| ()),
        _ => Err(unexpected(lineno, line)),
    }
}

pub(crate) fn read(root: &Root) -> Reading<Zoneinfo> {
    root.read("proc/zoneinfo", parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V5_10: &str = include_str!("../../tests/fixtures/system/zoneinfo-5.10");
    const V5_15: &str = include_str!("../../tests/fixtures/system/zoneinfo-5.15");
    const V6_1: &str = include_str!("../../tests/fixtures/system/zoneinfo-6.1");
    const V6_6: &str = include_str!("../../tests/fixtures/system/zoneinfo-6.6");
    const V6_18: &str = include_str!("../../tests/fixtures/system/zoneinfo-6.18");

    fn names(z: &Zoneinfo) -> Vec<(u32, &str)> {
        z.zones.iter().map(|z| (z.node, z.zone.as_str())).collect()
    }

    #[test]
    fn this_machine() {
        let z = parse(V6_18).unwrap();
        assert_eq!(
            names(&z),
            [
                (0, "DMA"),
                (0, "DMA32"),
                (0, "Normal"),
                (0, "Movable"),
                (0, "Device")
            ]
        );
        let normal = &z.zones[2];
        assert_eq!(
            (
                normal.free,
                normal.boost,
                normal.min,
                normal.low,
                normal.high,
                normal.promo
            ),
            (427399, Some(0), 8320, 10400, 12480, Some(14560))
        );
        assert_eq!(
            (normal.spanned, normal.present, normal.managed, normal.cma),
            (5505024, 5505024, 753664, Some(0))
        );
        assert_eq!(normal.protection, [0, 0, 0, 0, 0]);
        assert_eq!(normal.stats["nr_free_pages"], 427399);
        assert_eq!(normal.stats["nr_free_pages_blocks"], 378880);
        assert_eq!(
            (normal.node_unreclaimable, normal.start_pfn),
            (Some(false), Some(1048576))
        );
        assert_eq!(z.zones[0].protection, [0, 3019, 5963, 5963, 5963]);
        // Unpopulated zones: sizes and watermarks only.
        let movable = &z.zones[3];
        assert!(!movable.populated());
        assert!(movable.stats.is_empty());
        assert_eq!((movable.min, movable.start_pfn), (32, None));
        // The node's counters come with its first populated zone.
        assert_eq!(z.nodes.len(), 1);
        assert_eq!(z.nodes[0].stats["nr_file_pages"], 263790);
        assert_eq!(z.nodes[0].stats["pgdemote_kswapd"], 0);
        assert_eq!(z.nodes[0].stats.len(), 51);
    }

    #[test]
    fn kernel_layouts() {
        // 5.10: no boost, cma or promo lines; nr_page_table_pages is a zone
        // counter; two nodes, each with its own per-node stats.
        let z = parse(V5_10).unwrap();
        assert_eq!(z.zones.len(), 10);
        assert_eq!(z.nodes.iter().map(|n| n.node).collect::<Vec<_>>(), [0, 1]);
        let dma = &z.zones[0];
        assert_eq!((dma.boost, dma.cma, dma.promo), (None, None, None));
        // min_free_kbytes 90112 (THP's: 512-page blocks x 4 zones x 11) is
        // 22528 pages over 33201121 managed; DMA manages 3976:
        // min = 22528 * 3976 / 33201121 = 2 (2.70, truncated),
        // step = max(2 / 4, 3976 * 10 / 10000) = max(0, 3) = 3,
        // low = 2 + 3 = 5, high = 2 + 2 * 3 = 8.
        assert_eq!((dma.min, dma.low, dma.high), (2, 5, 8));
        assert!(dma.stats.contains_key("nr_page_table_pages"));
        assert!(!z.nodes[0].stats.contains_key("nr_page_table_pages"));
        let n1 = z
            .zones
            .iter()
            .find(|z| z.node == 1 && z.zone == "Normal")
            .unwrap();
        assert_eq!((n1.free, n1.start_pfn), (4_305_292, Some(17301504)));
        // 5.15: cma, no boost; nr_page_table_pages moved to the node. With
        // 64K pages a pageblock is 8192 pages (512 MiB), the smallest CMA
        // area.
        let z = parse(V5_15).unwrap();
        let dma = &z.zones[0];
        assert_eq!((dma.boost, dma.cma), (None, Some(8192)));
        assert!(z.nodes[0].stats.contains_key("nr_page_table_pages"));
        assert!(!dma.stats.contains_key("nr_page_table_pages"));
        // 6.1: boost and cma; no NUMA counters; three zones in protection.
        let z = parse(V6_1).unwrap();
        let dma32 = &z.zones[0];
        assert_eq!(
            (dma32.boost, dma32.cma, dma32.promo),
            (Some(0), Some(262144), None)
        );
        // lowmem_reserve: Normal's 1438830 managed pages / ratio 256.
        assert_eq!(dma32.protection, [0, 5620, 5620]);
        assert!(!dma32.stats.contains_key("numa_hit"));
        assert!(z.nodes[0].stats.contains_key("nr_sec_page_table_pages"));
        // 6.6: a watermark boosted by three fragmenting fallbacks, one
        // 512-page pageblock each.
        let z = parse(V6_6).unwrap();
        assert_eq!(z.zones[1].boost, Some(1536));
    }

    fn kind(text: &str) -> (usize, ErrorKind) {
        let e = parse(text).unwrap_err();
        (e.line, e.kind)
    }

    #[test]
    fn malformed() {
        assert_eq!(kind(""), (0, ErrorKind::Empty));
        // Cut after the DMA zone's `min`: its other watermarks are missing.
        let cut = &V6_18[..V6_18.find("        low      52").unwrap()];
        assert_eq!(
            kind(cut),
            (
                1,
                ErrorKind::Missing {
                    what: "low of node 0 zone DMA".into()
                }
            )
        );
        // Cut in the middle of a counter line.
        let cut = &V6_18[..V6_18.find("nr_mlock     0").unwrap() + 8];
        assert_eq!(kind(cut), (73, ErrorKind::Truncated));
        // Cut at a line boundary inside the last zone's pagesets: every zone
        // is complete but for its last cpus, which are not kept.
        let cut = &V6_18[..V6_18.rfind("    cpu: 1").unwrap()];
        let z = parse(cut).unwrap();
        assert_eq!((z.zones.len(), z.zones[2].start_pfn), (3, None));
        assert_eq!(
            kind("Node 0, zone DMA\n  pages free\n"),
            (
                2,
                ErrorKind::NotANumber {
                    token: "free".into()
                }
            )
        );
        assert_eq!(
            kind("Node 0, zone DMA\n  pages free x\n"),
            (2, ErrorKind::NotANumber { token: "x".into() })
        );
        assert!(matches!(
            kind("Node 0, zone DMA\n        protection: (0, 1\n"),
            (2, ErrorKind::Unexpected { .. })
        ));
        assert!(matches!(
            kind("  pages free 1\n"),
            (1, ErrorKind::Unexpected { .. })
        ));
        assert!(matches!(
            kind("Node 0, zone DMA\n  pages free 1 2\n"),
            (2, ErrorKind::Unexpected { .. })
        ));
        assert!(matches!(
            kind("Node 0, zone DMA\n  pages free 1\n  pages free 2\n"),
            (3, ErrorKind::Duplicate { .. })
        ));
        let zone = "  pages free 1\n min 1\n low 1\n high 1\n spanned 1\n present 1\n managed 1\n \
                    protection: (0)\n";
        let twice = format!("Node 0, zone DMA\n{zone}Node 0, zone DMA\n{zone}");
        assert!(matches!(kind(&twice), (10, ErrorKind::Duplicate { .. })));
        let pagesets = format!("Node 0, zone DMA\n{zone}  pagesets\n    cpu: zero\n");
        assert_eq!(
            kind(&pagesets),
            (
                11,
                ErrorKind::NotANumber {
                    token: "zero".into()
                }
            )
        );
        let ok = parse(&format!("Node 0, zone DMA\n{zone}")).unwrap();
        assert_eq!(ok.zones[0].protection, [0]);
    }

    /// Lines this parser does not know, in the shapes the kernel prints.
    #[test]
    fn unknown_lines() {
        let zone = "  pages free 1\n min 1\n low 1\n high 1\n spanned 1\n present 1\n managed 1\n \
                    protection: (0)\n";
        let text = format!(
            "Node 0, zone DMA\n  per-node stats\n      nr_inactive_anon 5\n      \
             nr_future_node_counter 6\n{zone}      nr_free_pages 1\n      \
             nr_future_zone_counter 7\n  pagesets\n    cpu: 0\n              count: 1\n              \
             future_pcp_field 8\n  vm stats threshold: 2\n  node_unreclaimable:  0\n  \
             start_pfn:           1\n"
        );
        let z = parse(&text).unwrap();
        assert_eq!(z.nodes[0].stats["nr_future_node_counter"], 6);
        assert_eq!(z.zones[0].stats["nr_future_zone_counter"], 7);
        assert_eq!(z.zones[0].start_pfn, Some(1));
        // Other shapes are not the kernel's.
        for bad in [
            "      nr_future counter 7",
            "      nr_future_zone_counter x",
        ] {
            let text = format!("Node 0, zone DMA\n{zone}{bad}\n");
            assert_eq!(kind(&text).0, 10, "{bad}");
        }
        let text = format!("Node 0, zone DMA\n{zone}  pagesets\n    vendor pcp 9\n");
        assert!(matches!(kind(&text), (11, ErrorKind::Unexpected { .. })));
    }

    /// The fixture sets describe machines that can exist: the files of one
    /// set agree with each other as the kernel keeps them. The hand-written
    /// sets are one instant, so the counters the kernel keeps in step agree
    /// exactly; the 6.18 set is a capture, one file after another, so it is
    /// held to the bounds only. Its meminfo is held to its own sums alone:
    /// that machine's MemTotal and MemFree are about four times what its
    /// zones manage and have free.
    mod fixture_sets {
        use super::super::*;
        use crate::system::buddyinfo::{self, ZoneFree};
        use crate::system::meminfo::{self, Meminfo};
        use crate::system::pagetypeinfo::{self, Pagetypeinfo};
        use crate::system::vmstat::{self, Vmstat};

        struct Set {
            version: &'static str,
            /// The page size in kB.
            page_kb: u64,
            /// A PMD-sized (transparent) huge page, in kB.
            pmd_kb: u64,
            /// Files read one after another on a live machine, not one
            /// instant.
            captured: bool,
            buddyinfo: &'static str,
            pagetypeinfo: &'static str,
            zoneinfo: &'static str,
            vmstat: &'static str,
            meminfo: &'static str,
        }

        macro_rules! set {
            ($v:literal, $page_kb:expr, $pmd_kb:expr, $captured:expr) => {
                Set {
                    version: $v,
                    page_kb: $page_kb,
                    pmd_kb: $pmd_kb,
                    captured: $captured,
                    buddyinfo: include_str!(concat!("../../tests/fixtures/system/buddyinfo-", $v)),
                    pagetypeinfo: include_str!(concat!(
                        "../../tests/fixtures/system/pagetypeinfo-",
                        $v
                    )),
                    zoneinfo: include_str!(concat!("../../tests/fixtures/system/zoneinfo-", $v)),
                    vmstat: include_str!(concat!("../../tests/fixtures/system/vmstat-", $v)),
                    meminfo: include_str!(concat!("../../tests/fixtures/system/meminfo-", $v)),
                }
            };
        }

        struct Parsed {
            buddy: buddyinfo::Buddyinfo,
            types: Pagetypeinfo,
            zones: Zoneinfo,
            vm: Vmstat,
            mem: Meminfo,
        }

        fn parse_set(s: &Set) -> Parsed {
            Parsed {
                buddy: buddyinfo::parse(s.buddyinfo).unwrap(),
                types: pagetypeinfo::parse(s.pagetypeinfo).unwrap(),
                zones: parse(s.zoneinfo).unwrap(),
                vm: vmstat::parse(s.vmstat).unwrap(),
                mem: meminfo::parse(s.meminfo).unwrap(),
            }
        }

        fn key(node: u32, zone: &str) -> (u32, String) {
            (node, zone.to_owned())
        }

        /// What one zone's lines in every file say.
        fn zones_agree(s: &Set, p: &Parsed) {
            let v = s.version;
            let populated: Vec<&Zone> = p.zones.zones.iter().filter(|z| z.populated()).collect();
            let names: Vec<_> = populated.iter().map(|z| key(z.node, &z.zone)).collect();
            let buddy: Vec<_> = p.buddy.zones.iter().map(|z| key(z.node, &z.zone)).collect();
            let blocks: Vec<_> = p
                .types
                .blocks
                .iter()
                .map(|z| key(z.node, &z.zone))
                .collect();
            let mut lists: Vec<_> = p.types.free.iter().map(|f| key(f.node, &f.zone)).collect();
            lists.dedup();
            assert_eq!(buddy, names, "{v}: buddyinfo zones");
            assert_eq!(blocks, names, "{v}: pagetypeinfo block counts");
            assert_eq!(lists, names, "{v}: pagetypeinfo free lists");
            let ppb = p.types.pages_per_block;
            assert_eq!(ppb, 1 << p.types.pageblock_order, "{v}");
            for z in &p.zones.zones {
                let at = format!("{v}: node {} zone {}", z.node, z.zone);
                assert!(
                    z.free <= z.managed,
                    "{at}: free {} > managed {}",
                    z.free,
                    z.managed
                );
                assert!(z.managed <= z.present, "{at}: managed > present");
                assert!(z.present <= z.spanned, "{at}: present > spanned");
                assert!(z.min <= z.low && z.low <= z.high, "{at}: watermarks");
                if !z.populated() {
                    assert_eq!((z.free, z.managed), (0, 0), "{at}");
                    continue;
                }
                assert!(z.high < z.managed, "{at}: high watermark");
                // The same counter, printed twice in one read.
                assert_eq!(z.stats["nr_free_pages"], z.free, "{at}: nr_free_pages");
                let b = p
                    .buddy
                    .zones
                    .iter()
                    .find(|b| b.node == z.node && b.zone == z.zone);
                let buddy = ZoneFree::free_pages(b.unwrap());
                if s.captured {
                    // Read apart: within what a moment of allocation moves.
                    assert!(buddy.abs_diff(z.free) <= z.managed / 1000, "{at}: {buddy}");
                } else {
                    assert_eq!(buddy, z.free, "{at}: buddyinfo free pages");
                }
                // Pageblocks: the kernel counts every pageblock of the
                // span that has online memory, so they hold every managed
                // page and fit in the span rounded up to a block. With all
                // of its memory online (every hand-written machine) they
                // hold every present page too.
                let zb = p
                    .types
                    .blocks
                    .iter()
                    .find(|b| b.node == z.node && b.zone == z.zone);
                let zb = zb.unwrap();
                let count = |t: &str| {
                    zb.blocks
                        .iter()
                        .find(|b| b.migratetype == t)
                        .map_or(0, |b| b.blocks)
                };
                let in_blocks = zb.blocks.iter().map(|b| b.blocks).sum::<u64>() * ppb;
                assert!(z.managed <= in_blocks, "{at}: {in_blocks} pages in blocks");
                assert!(
                    in_blocks <= z.spanned.div_ceil(ppb) * ppb,
                    "{at}: {in_blocks}"
                );
                if !s.captured {
                    assert!(z.present <= in_blocks, "{at}: {in_blocks} pages in blocks");
                }
                // CMA areas are whole pageblocks.
                if let Some(cma) = z.cma {
                    assert_eq!(count("CMA") * ppb, cma, "{at}: CMA blocks");
                }
                for list in p
                    .types
                    .free
                    .iter()
                    .filter(|f| f.node == z.node && f.zone == z.zone)
                {
                    let (pages, _) = list.free_pages();
                    if list.migratetype == "CMA" && !s.captured {
                        assert_eq!(Some(pages), z.stats.get("nr_free_cma").copied(), "{at}");
                    }
                    if !s.captured {
                        let blocks = count(&list.migratetype);
                        assert!(
                            pages <= blocks * ppb,
                            "{at}: {pages} free {} pages in {blocks} blocks",
                            list.migratetype
                        );
                    }
                }
            }
        }

        /// vmstat's counters are the zones' and nodes' summed.
        fn vmstat_agrees(s: &Set, p: &Parsed) {
            let v = s.version;
            let vm = &p.vm;
            let zones = &p.zones.zones;
            let managed: u64 = zones.iter().map(|z| z.managed).sum();
            let free: u64 = zones.iter().map(|z| z.free).sum();
            // Every page allocated was counted once, and every page freed,
            // free since boot included: what was freed and not allocated
            // again is free now, in the buddy lists or per-cpu ones.
            let pgalloc = vm.get(vmstat::Counter::PgAlloc).unwrap();
            let pgfree = vm.get(vmstat::Counter::PgFree).unwrap();
            assert!(
                pgalloc <= pgfree && pgfree - pgalloc <= managed,
                "{v}: pgfree"
            );
            // Reclaim counts each page by who reclaimed it and by its LRU.
            for what in ["pgscan", "pgsteal"] {
                let by_who: u64 = ["kswapd", "direct", "khugepaged", "proactive"]
                    .iter()
                    .filter_map(|w| vm.counter(&format!("{what}_{w}")))
                    .sum();
                let by_lru: u64 = ["anon", "file"]
                    .iter()
                    .filter_map(|l| vm.counter(&format!("{what}_{l}")))
                    .sum();
                assert_eq!(by_who, by_lru, "{v}: {what}");
            }
            let (dirty, background) = (
                vm.counter("nr_dirty_threshold").unwrap(),
                vm.counter("nr_dirty_background_threshold").unwrap(),
            );
            assert!(background <= dirty, "{v}: dirty thresholds");
            if s.captured {
                return;
            }
            assert_eq!(
                vm.counter("nr_free_pages"),
                Some(free),
                "{v}: nr_free_pages"
            );
            let zone_names: std::collections::BTreeSet<&String> =
                zones.iter().flat_map(|z| z.stats.keys()).collect();
            for name in zone_names {
                let sum: u64 = zones.iter().filter_map(|z| z.stats.get(name)).sum();
                assert_eq!(vm.counter(name), Some(sum), "{v}: zone counter {name}");
            }
            let nodes = &p.zones.nodes;
            for name in nodes[0].stats.keys() {
                let sum: u64 = nodes.iter().filter_map(|n| n.stats.get(name)).sum();
                assert_eq!(vm.counter(name), Some(sum), "{v}: node counter {name}");
            }
            // A node's LRU lists are its zones' lists.
            for node in nodes {
                let of_zones = |name: &str| -> u64 {
                    zones
                        .iter()
                        .filter(|z| z.node == node.node)
                        .filter_map(|z| z.stats.get(name))
                        .sum()
                };
                for lru in [
                    "inactive_anon",
                    "active_anon",
                    "inactive_file",
                    "active_file",
                    "unevictable",
                ] {
                    assert_eq!(
                        of_zones(&format!("nr_zone_{lru}")),
                        node.stats[&format!("nr_{lru}")],
                        "{v}: node {} {lru}",
                        node.node
                    );
                }
                assert_eq!(
                    of_zones("nr_zone_write_pending"),
                    node.stats["nr_dirty"] + node.stats["nr_writeback"],
                    "{v}: node {} write pending",
                    node.node
                );
            }
            // NUMA: a miss on one node is a foreign allocation on another;
            // every allocation is local or not.
            if let Some(miss) = vm.counter("numa_miss") {
                assert_eq!(vm.counter("numa_foreign"), Some(miss), "{v}: numa_foreign");
                for z in zones.iter().filter(|z| z.populated()) {
                    let n = |name: &str| z.stats[name];
                    assert_eq!(
                        n("numa_local") + n("numa_other"),
                        n("numa_hit") + n("numa_miss"),
                        "{v}: {} numa",
                        z.zone
                    );
                }
            }
        }

        /// meminfo is made of the same counters, in kB.
        fn meminfo_agrees(s: &Set, p: &Parsed) {
            let v = s.version;
            let m = &p.mem.kb;
            let kb = |name: &str| *m.get(name).unwrap_or_else(|| panic!("{v}: no {name}"));
            assert_eq!(kb("Active"), kb("Active(anon)") + kb("Active(file)"), "{v}");
            assert_eq!(
                kb("Inactive"),
                kb("Inactive(anon)") + kb("Inactive(file)"),
                "{v}"
            );
            assert_eq!(kb("Slab"), kb("SReclaimable") + kb("SUnreclaim"), "{v}");
            assert!(kb("SwapFree") <= kb("SwapTotal"), "{v}");
            assert!(kb("MemFree") <= kb("MemTotal"), "{v}");
            assert!(kb("MemAvailable") <= kb("MemTotal"), "{v}");
            // vm.overcommit_ratio 50, no huge pages reserved.
            let page = s.page_kb;
            assert_eq!(
                kb("CommitLimit"),
                (kb("MemTotal") / page / 2 + kb("SwapTotal") / page) * page,
                "{v}: CommitLimit"
            );
            if s.captured {
                return;
            }
            let zones = &p.zones.zones;
            let vm = |name: &str| {
                p.vm.counter(name)
                    .unwrap_or_else(|| panic!("{v}: no {name}"))
            };
            let managed: u64 = zones.iter().map(|z| z.managed).sum();
            assert_eq!(kb("MemTotal"), managed * page, "{v}: MemTotal");
            assert_eq!(kb("MemFree"), vm("nr_free_pages") * page, "{v}: MemFree");
            let in_pages = [
                ("Active(anon)", "nr_active_anon"),
                ("Inactive(anon)", "nr_inactive_anon"),
                ("Active(file)", "nr_active_file"),
                ("Inactive(file)", "nr_inactive_file"),
                ("Unevictable", "nr_unevictable"),
                ("Mlocked", "nr_mlock"),
                ("Dirty", "nr_dirty"),
                ("Writeback", "nr_writeback"),
                ("AnonPages", "nr_anon_pages"),
                ("Mapped", "nr_mapped"),
                ("Shmem", "nr_shmem"),
                ("SReclaimable", "nr_slab_reclaimable"),
                ("SUnreclaim", "nr_slab_unreclaimable"),
                ("PageTables", "nr_page_table_pages"),
                ("SecPageTables", "nr_sec_page_table_pages"),
                ("SwapCached", "nr_swapcached"),
                ("Bounce", "nr_bounce"),
                ("WritebackTmp", "nr_writeback_temp"),
                ("CmaFree", "nr_free_cma"),
            ];
            for (field, counter) in in_pages {
                if let (Some(&field_kb), Some(pages)) = (m.get(field), p.vm.counter(counter)) {
                    assert_eq!(field_kb, pages * page, "{v}: {field}");
                }
            }
            // Counted in kB by the kernel.
            assert_eq!(kb("KernelStack"), vm("nr_kernel_stack"), "{v}");
            if let Some(&scs) = m.get("ShadowCallStack") {
                assert_eq!(scs, vm("nr_shadow_call_stack"), "{v}");
            }
            assert_eq!(
                kb("KReclaimable"),
                (vm("nr_slab_reclaimable") + vm("nr_kernel_misc_reclaimable")) * page,
                "{v}"
            );
            // Counted in huge pages.
            for (field, counter) in [
                ("AnonHugePages", "nr_anon_transparent_hugepages"),
                ("ShmemHugePages", "nr_shmem_hugepages"),
                ("ShmemPmdMapped", "nr_shmem_pmdmapped"),
                ("FileHugePages", "nr_file_hugepages"),
                ("FilePmdMapped", "nr_file_pmdmapped"),
            ] {
                assert_eq!(kb(field), vm(counter) * s.pmd_kb, "{v}: {field}");
            }
            // Cached is the page cache less the swap cache and buffers.
            assert_eq!(
                kb("Cached") + kb("SwapCached") + kb("Buffers"),
                vm("nr_file_pages") * page,
                "{v}: Cached"
            );
            // CMA areas, in zoneinfo since 5.12 and in pageblocks always.
            let ppb = p.types.pages_per_block;
            let cma: u64 = p
                .types
                .blocks
                .iter()
                .flat_map(|z| &z.blocks)
                .filter(|b| b.migratetype == "CMA")
                .map(|b| b.blocks * ppb)
                .sum();
            assert_eq!(
                m.get("CmaTotal").copied().unwrap_or(0),
                cma * page,
                "{v}: CmaTotal"
            );
            if zones.iter().any(|z| z.cma.is_some()) {
                let zoned: u64 = zones.iter().filter_map(|z| z.cma).sum();
                assert_eq!(zoned, cma, "{v}: zone cma");
            }
            // The direct map covers all memory, managed or not.
            let direct: u64 = m
                .iter()
                .filter(|(k, _)| k.starts_with("DirectMap"))
                .map(|(_, v)| v)
                .sum();
            assert!(direct == 0 || direct >= kb("MemTotal"), "{v}: DirectMap");
        }

        fn check(s: Set) {
            let p = parse_set(&s);
            zones_agree(&s, &p);
            vmstat_agrees(&s, &p);
            meminfo_agrees(&s, &p);
        }

        #[test]
        fn v5_10() {
            check(set!("5.10", 4, 2048, false));
        }

        #[test]
        fn v5_15() {
            check(set!("5.15", 64, 512 * 1024, false));
        }

        #[test]
        fn v6_1() {
            check(set!("6.1", 4, 2048, false));
        }

        #[test]
        fn v6_6() {
            check(set!("6.6", 4, 2048, false));
        }

        #[test]
        fn v6_18() {
            check(set!("6.18", 4, 2048, true));
        }
    }

    /// buddyinfo lists exactly the populated zones of zoneinfo, and every
    /// zone's watermarks are ordered.
    #[test]
    fn live() {
        let root = Root::default();
        let z = read(&root);
        let z = z.value().expect("/proc/zoneinfo");
        let b = super::super::buddyinfo::read(&root);
        let b = b.value().expect("/proc/buddyinfo");
        let populated: Vec<_> = z
            .zones
            .iter()
            .filter(|z| z.populated())
            .map(|z| (z.node, z.zone.clone()))
            .collect();
        let buddy: Vec<_> = b.zones.iter().map(|z| (z.node, z.zone.clone())).collect();
        assert_eq!(populated, buddy);
        for zone in &z.zones {
            assert!(zone.min <= zone.low && zone.low <= zone.high, "{zone:?}");
            assert!(zone.managed <= zone.present && zone.present <= zone.spanned);
            assert_eq!(zone.populated(), zone.start_pfn.is_some());
        }
        assert!(!z.nodes.is_empty());
    }

    proptest::proptest! {
        #![proptest_config(super::super::reading::arbitrary::config())]
        #[test]
        fn never_panics(
            lines in super::super::reading::arbitrary::lines(),
            bytes in super::super::reading::arbitrary::bytes(),
            mutated in super::super::reading::arbitrary::mutated(V6_18),
        ) {
            for text in [lines, bytes, mutated] {
                let _ = parse(&text);
            }
        }
    }
}

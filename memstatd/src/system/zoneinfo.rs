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
//! is an error; lines after a zone's counters are only its pagesets.

use super::reading::{
    complete, node_zone, number, numbered, signed, unexpected, ErrorKind, ParseError, Reading, Root,
};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Zoneinfo {
    pub nodes: Vec<NodeStats>,
    pub zones: Vec<Zone>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeStats {
    pub node: u32,
    pub stats: BTreeMap<String, u64>,
}

/// One zone; counts are in pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Zone {
    pub node: u32,
    pub zone: String,
    pub free: u64,
    pub boost: Option<u64>,
    pub min: u64,
    pub low: u64,
    pub high: u64,
    pub promo: Option<u64>,
    pub spanned: u64,
    pub present: u64,
    pub managed: u64,
    pub cma: Option<u64>,
    /// lowmem_reserve against allocations aimed at each zone of the node.
    pub protection: Vec<i64>,
    /// Zone counters (`nr_free_pages`, `nr_zone_*`, `numa_*`...) and any
    /// other `name value` line of the zone; empty for unpopulated zones.
    pub stats: BTreeMap<String, u64>,
    pub node_unreclaimable: Option<bool>,
    pub start_pfn: Option<u64>,
}

impl Zone {
    pub fn populated(&self) -> bool {
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

pub fn parse(text: &str) -> Result<Zoneinfo, ParseError> {
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
/// ending in a colon, then an integer. Their values are not kept.
fn pageset_line(tokens: &[&str], lineno: usize, line: &str) -> Result<(), ParseError> {
    match tokens {
        [.., label, value] if label.ends_with(':') => signed(value, lineno).map(|_| ()),
        _ => Err(unexpected(lineno, line)),
    }
}

pub fn read(root: &Root) -> Reading<Zoneinfo> {
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
        assert_eq!((dma.min, dma.low, dma.high), (8, 11, 14));
        assert!(dma.stats.contains_key("nr_page_table_pages"));
        assert!(!z.nodes[0].stats.contains_key("nr_page_table_pages"));
        let n1 = z
            .zones
            .iter()
            .find(|z| z.node == 1 && z.zone == "Normal")
            .unwrap();
        assert_eq!((n1.free, n1.start_pfn), (4_305_292, Some(17301504)));
        // 5.15: cma, no boost; nr_page_table_pages moved to the node.
        let z = parse(V5_15).unwrap();
        let dma = &z.zones[0];
        assert_eq!((dma.boost, dma.cma), (None, Some(4096)));
        assert!(z.nodes[0].stats.contains_key("nr_page_table_pages"));
        assert!(!dma.stats.contains_key("nr_page_table_pages"));
        // 6.1: boost and cma; no NUMA counters; three zones in protection.
        let z = parse(V6_1).unwrap();
        let dma32 = &z.zones[0];
        assert_eq!(
            (dma32.boost, dma32.cma, dma32.promo),
            (Some(0), Some(262144), None)
        );
        assert_eq!(dma32.protection, [0, 9780, 9780]);
        assert!(!dma32.stats.contains_key("numa_hit"));
        assert!(z.nodes[0].stats.contains_key("nr_sec_page_table_pages"));
        // 6.6: a boosted watermark.
        let z = parse(V6_6).unwrap();
        assert_eq!(z.zones[1].boost, Some(1672));
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

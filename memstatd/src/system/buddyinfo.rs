//! `/proc/buddyinfo`: the buddy allocator's free blocks per order, one line
//! per populated zone (`Node %d, zone %8s ` then `%6lu ` per order,
//! mm/vmstat.c `frag_show_print`). The number of orders is the kernel's
//! NR_PAGE_ORDERS (11 on most configurations; more with a larger
//! ARCH_FORCE_MAX_ORDER), the same on every line of one file.

use super::reading::{complete, node_zone, number, numbered, ErrorKind, ParseError, Reading, Root};
use serde::Serialize;

/// More orders than any kernel configuration has: a line longer than this is
/// not buddyinfo, and the page arithmetic stays far from overflow.
pub(crate) const MAX_ORDERS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Buddyinfo {
    pub(crate) zones: Vec<ZoneFree>,
}

/// One zone's free blocks: `free[order]` blocks of `1 << order` pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ZoneFree {
    pub(crate) node: u32,
    pub(crate) zone: String,
    pub(crate) free: Vec<u64>,
}

pub(crate) fn parse(text: &str) -> Result<Buddyinfo, ParseError> {
    complete(text)?;
    let mut zones: Vec<ZoneFree> = Vec::new();
    for (lineno, line) in numbered(text) {
        if line.trim().is_empty() {
            continue;
        }
        let nz = node_zone(line, lineno)?;
        if nz.comma {
            return Err(super::reading::unexpected(lineno, line));
        }
        if nz.rest.len() > MAX_ORDERS {
            return Err(ParseError::at(
                lineno,
                ErrorKind::TooManyOrders {
                    found: nz.rest.len(),
                    max: MAX_ORDERS,
                },
            ));
        }
        let free = nz
            .rest
            .iter()
            .map(|t| number(t, lineno))
            .collect::<Result<Vec<_>, _>>()?;
        if free.is_empty() {
            return Err(ParseError::at(
                lineno,
                ErrorKind::Missing {
                    what: format!("the free counts of node {} zone {}", nz.node, nz.zone),
                },
            ));
        }
        let expected = zones.first().map_or(free.len(), |z| z.free.len());
        if free.len() != expected {
            return Err(ParseError::at(
                lineno,
                ErrorKind::Columns {
                    expected,
                    found: free.len(),
                },
            ));
        }
        if zones.iter().any(|z| z.node == nz.node && z.zone == nz.zone) {
            return Err(ParseError::at(
                lineno,
                ErrorKind::Duplicate {
                    name: format!("node {} zone {}", nz.node, nz.zone),
                },
            ));
        }
        zones.push(ZoneFree {
            node: nz.node,
            zone: nz.zone,
            free,
        });
    }
    Ok(Buddyinfo { zones })
}

pub(crate) fn read(root: &Root) -> Reading<Buddyinfo> {
    root.read("proc/buddyinfo", parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    impl ZoneFree {
        /// Free pages in the zone: the sum of `free[order] << order`.
        pub(crate) fn free_pages(&self) -> u64 {
            self.free
                .iter()
                .enumerate()
                .fold(0u64, |sum, (order, &blocks)| {
                    sum.saturating_add(blocks.saturating_mul(1 << order))
                })
        }
    }

    const V5_10: &str = include_str!("../../tests/fixtures/system/buddyinfo-5.10");
    const V5_15: &str = include_str!("../../tests/fixtures/system/buddyinfo-5.15");
    const V6_1: &str = include_str!("../../tests/fixtures/system/buddyinfo-6.1");
    const V6_6: &str = include_str!("../../tests/fixtures/system/buddyinfo-6.6");
    const V6_18: &str = include_str!("../../tests/fixtures/system/buddyinfo-6.18");

    fn zone(node: u32, zone: &str, free: &[u64]) -> ZoneFree {
        ZoneFree {
            node,
            zone: zone.to_owned(),
            free: free.to_vec(),
        }
    }

    #[test]
    fn this_machine() {
        let b = parse(V6_18).unwrap();
        assert_eq!(
            b.zones,
            [
                zone(0, "DMA", &[0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]),
                zone(0, "DMA32", &[1, 1, 4, 2, 5, 4, 3, 3, 4, 2, 752]),
                zone(
                    0,
                    "Normal",
                    &[12759, 5351, 1857, 434, 252, 96, 46, 14, 9, 236, 252]
                ),
            ]
        );
        // DMA: 1<<8 + 1<<9 + 3<<10 = 256 + 512 + 3072.
        assert_eq!(b.zones[0].free_pages(), 3840);
    }

    #[test]
    fn kernel_layouts() {
        // 5.10 x86_64 server: two NUMA nodes, node 1 has only Normal.
        let b = parse(V5_10).unwrap();
        let names: Vec<_> = b.zones.iter().map(|z| (z.node, z.zone.as_str())).collect();
        assert_eq!(
            names,
            [(0, "DMA"), (0, "DMA32"), (0, "Normal"), (1, "Normal")]
        );
        assert_eq!(b.zones[3].free[10], 3870);
        // 5.15 arm64 with 64K pages: ARCH_FORCE_MAX_ORDER=14, 14 orders;
        // twelve free 512 MiB blocks in Normal, none in DMA.
        let b = parse(V5_15).unwrap();
        assert!(b.zones.iter().all(|z| z.free.len() == 14));
        assert_eq!((b.zones[0].free[13], b.zones[1].free[13]), (0, 12));
        // 6.1 Android phone (arm64, 4K pages): DMA32 and Normal.
        let b = parse(V6_1).unwrap();
        assert_eq!(b.zones.len(), 2);
        assert_eq!(b.zones[1].free[0], 3513);
        // 6.6 Android phone: fewer free pages, none above order 8.
        let b = parse(V6_6).unwrap();
        assert_eq!(b.zones[1].zone, "Normal");
        assert_eq!(
            b.zones[1].free,
            [8802, 4410, 2016, 903, 288, 77, 19, 4, 1, 0, 0]
        );
    }

    fn kind(text: &str) -> (usize, ErrorKind) {
        let e = parse(text).unwrap_err();
        (e.line, e.kind)
    }

    #[test]
    fn malformed() {
        assert_eq!(kind(""), (0, ErrorKind::Empty));
        assert_eq!(kind(" \n\n"), (0, ErrorKind::Empty));
        // Cut in the middle of the second line.
        let cut = &V6_18[..V6_18.find("DMA32").unwrap() + 30];
        assert_eq!(kind(cut), (2, ErrorKind::Truncated));
        // Cut at a line boundary: the zones before the cut.
        let cut = &V6_18[..V6_18.find("Node 0, zone   Normal").unwrap()];
        assert_eq!(parse(cut).unwrap().zones.len(), 2);
        // A zone with fewer orders than the one before it.
        assert_eq!(
            kind("Node 0, zone DMA 1 2 3\nNode 0, zone Normal 1 2\n"),
            (
                2,
                ErrorKind::Columns {
                    expected: 3,
                    found: 2
                }
            )
        );
        assert_eq!(
            kind("Node 0, zone DMA 1 2 x 4\n"),
            (
                1,
                ErrorKind::NotANumber {
                    token: "x".to_owned()
                }
            )
        );
        assert_eq!(
            kind("Node 0, zone DMA\n"),
            (
                1,
                ErrorKind::Missing {
                    what: "the free counts of node 0 zone DMA".into()
                }
            )
        );
        assert!(matches!(
            kind("Node 0, zone DMA 1 2\nNode 0, zone DMA 3 4\n"),
            (2, ErrorKind::Duplicate { .. })
        ));
        assert!(matches!(
            kind("Node 0, zone DMA, 1 2\n"),
            (1, ErrorKind::Unexpected { .. })
        ));
        assert!(matches!(
            kind("MemTotal: 1 kB\n"),
            (1, ErrorKind::Unexpected { .. })
        ));
        let long = format!("Node 0, zone DMA{}\n", " 1".repeat(MAX_ORDERS + 1));
        assert_eq!(
            kind(&long),
            (1, ErrorKind::TooManyOrders { found: 33, max: 32 })
        );
        // Free pages of absurd counts saturate instead of overflowing.
        let huge = zone(0, "X", &[u64::MAX, u64::MAX]);
        assert_eq!(huge.free_pages(), u64::MAX);
    }

    #[test]
    fn live() {
        let b = read(&Root::default());
        let b = b.value().expect("/proc/buddyinfo");
        assert!(!b.zones.is_empty());
        assert!(b.zones.iter().map(ZoneFree::free_pages).sum::<u64>() > 0);
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
                if let Ok(b) = parse(&text) {
                    super::super::fragmentation::fragmentation(&b);
                    b.zones.iter().for_each(|z| { z.free_pages(); });
                }
            }
        }
    }
}

//! The kernel's fragmentation measures per zone and order, computed from
//! buddyinfo exactly as mm/vmstat.c computes them for
//! `/sys/kernel/debug/extfrag/{extfrag_index,unusable_index}` (which need
//! debugfs, absent on production devices).
//!
//! `fill_contig_page_info(zone, order)`, over every order `o` of the zone:
//!
//! ```text
//! free_blocks_total    = Σ blocks[o]
//! free_pages           = Σ blocks[o] << o
//! free_blocks_suitable = Σ_{o >= order} blocks[o] << (o - order)
//! ```
//!
//! `__fragmentation_index(order)`, in thousandths (integer division):
//!
//! ```text
//! free_blocks_total == 0    ->  0
//! free_blocks_suitable > 0  ->  -1000   (the allocation would succeed)
//! otherwise                 ->  1000 - (1000 + free_pages * 1000 / (1 << order))
//!                                        / free_blocks_total
//! ```
//!
//! Near 0 an allocation of that order would fail for lack of memory, near
//! 1000 for fragmentation. With very few free blocks the formula can go
//! below 0 (one free page, order 1: 1000 - 1500 = -500); kept as the kernel
//! computes it.
//!
//! `unusable_free_index(order)`: the share of free memory in blocks too
//! small for the order, in thousandths:
//!
//! ```text
//! free_pages == 0  ->  1000
//! otherwise        ->  (free_pages - (free_blocks_suitable << order)) * 1000 / free_pages
//! ```
//!
//! The kernel does this in unsigned long; here it is done in u128, which
//! agrees with it on every count a real zone can have.

use super::buddyinfo::{Buddyinfo, ZoneFree};
use serde::Serialize;
use std::fmt;

/// An index in thousandths, as the kernel returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) struct Index(pub i64);

/// The kernel's `%d.%03d` of `index / 1000, index % 1000` (C division,
/// which truncates like Rust's): -1000 is `-1.000`, and -500 is `0.-500`.
/// That is how `unusable_index` prints; `extfrag_index` in 6.x kernels
/// prints `%2d.%03d`, which only pads the part before the dot to two
/// columns (` 0.995`), and the padding is not reproduced here.
impl fmt::Display for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ZoneFragmentation {
    pub(crate) node: u32,
    pub(crate) zone: String,
    /// Per order, from 0.
    pub(crate) orders: Vec<OrderIndices>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct OrderIndices {
    pub(crate) fragmentation: Index,
    pub(crate) unusable: Index,
}

struct ContigInfo {
    free_pages: u128,
    free_blocks_total: u128,
    free_blocks_suitable: u128,
}

fn contig_info(free: &[u64], suitable_order: usize) -> ContigInfo {
    let mut info = ContigInfo {
        free_pages: 0,
        free_blocks_total: 0,
        free_blocks_suitable: 0,
    };
    // Orders are at most buddyinfo::MAX_ORDERS (32): no shift overflows u128.
    for (order, &blocks) in free.iter().enumerate() {
        let blocks = u128::from(blocks);
        info.free_blocks_total += blocks;
        info.free_pages += blocks << order;
        if order >= suitable_order {
            info.free_blocks_suitable += blocks << (order - suitable_order);
        }
    }
    info
}

fn fragmentation_index(order: usize, info: &ContigInfo) -> Index {
    if info.free_blocks_total == 0 {
        return Index(0);
    }
    if info.free_blocks_suitable > 0 {
        return Index(-1000);
    }
    let requested = 1u128 << order;
    let q = (1000 + info.free_pages * 1000 / requested) / info.free_blocks_total;
    Index(1000 - i64::try_from(q).unwrap_or(i64::MAX - 1000))
}

fn unusable_free_index(order: usize, info: &ContigInfo) -> Index {
    if info.free_pages == 0 {
        return Index(1000);
    }
    let unusable = info
        .free_pages
        .saturating_sub(info.free_blocks_suitable << order);
    Index(i64::try_from(unusable * 1000 / info.free_pages).unwrap_or(1000))
}

pub(crate) fn zone_indices(zone: &ZoneFree) -> ZoneFragmentation {
    let orders = (0..zone.free.len())
        .map(|order| {
            let info = contig_info(&zone.free, order);
            OrderIndices {
                fragmentation: fragmentation_index(order, &info),
                unusable: unusable_free_index(order, &info),
            }
        })
        .collect();
    ZoneFragmentation {
        node: zone.node,
        zone: zone.zone.clone(),
        orders,
    }
}

pub(crate) fn fragmentation(buddyinfo: &Buddyinfo) -> Vec<ZoneFragmentation> {
    buddyinfo.zones.iter().map(zone_indices).collect()
}

#[cfg(test)]
mod tests {
    use super::super::buddyinfo::{self, MAX_ORDERS};
    use super::*;

    fn zone(free: &[u64]) -> ZoneFree {
        ZoneFree {
            node: 0,
            zone: "Normal".into(),
            free: free.to_vec(),
        }
    }

    fn frag(z: &ZoneFragmentation) -> Vec<i64> {
        z.orders.iter().map(|o| o.fragmentation.0).collect()
    }

    fn unusable(z: &ZoneFragmentation) -> Vec<i64> {
        z.orders.iter().map(|o| o.unusable.0).collect()
    }

    #[test]
    fn android_dma32_by_hand() {
        // buddyinfo-6.1, DMA32: 1021 870 512 301 144 60 22 9 3 1 0
        let b =
            buddyinfo::parse(include_str!("../../tests/fixtures/system/buddyinfo-6.1")).unwrap();
        let f = fragmentation(&b);
        assert_eq!((f[0].node, f[0].zone.as_str()), (0, "DMA32"));
        // free_blocks_total = 1021+870+512+301+144+60+22+9+3+1+0 = 2943
        // free_pages = 1021 + 870*2 + 512*4 + 301*8 + 144*16 + 60*32 + 22*64
        //              + 9*128 + 3*256 + 1*512
        //            = 1021+1740+2048+2408+2304+1920+1408+1152+768+512 = 15281
        //
        // Order 10 (1024 pages): no block of order 10, so none is suitable:
        //   15281 * 1000 / 1024 = 14922   (14922.85, truncated)
        //   (1000 + 14922) / 2943 = 5     (5.41, truncated)
        //   1000 - 5 = 995                -> 0.995: fragmentation, not lack
        //                                    of memory, would fail it
        // Orders 0..=9: the order-9 block is suitable -> -1000 (-1.000).
        let mut expected = vec![-1000; 10];
        expected.push(995);
        assert_eq!(frag(&f[0]), expected);
        assert_eq!(f[0].orders[10].fragmentation.to_string(), "0.995");
        assert_eq!(f[0].orders[9].fragmentation.to_string(), "-1.000");
        // Unusable free space index:
        //   order 0: suitable<<0 = 15281 -> (15281-15281)*1000/15281 = 0
        //   order 1: suitable = 870 + 512*2 + 301*4 + 144*8 + 60*16 + 22*32
        //            + 9*64 + 3*128 + 1*256 = 7130; <<1 = 14260
        //            -> (15281-14260)*1000/15281 = 1021000/15281 = 66
        //   order 9: suitable = 1 -> 512 -> 14769000/15281 = 966
        //   order 10: suitable = 0 -> 15281000/15281 = 1000
        let u = unusable(&f[0]);
        assert_eq!((u[0], u[1], u[9], u[10]), (0, 66, 966, 1000));
        assert_eq!(f[0].orders[1].unusable.to_string(), "0.066");
        assert_eq!(f[0].orders[10].unusable.to_string(), "1.000");
    }

    #[test]
    fn small_cases_by_hand() {
        // 8 free pages and 2 order-1 blocks: total 10 blocks, 12 pages.
        // Order 2 (4 pages): 12*1000/4 = 3000; (1000+3000)/10 = 400;
        // 1000-400 = 600. Orders 0 and 1 are satisfiable: -1000.
        let z = zone_indices(&zone(&[8, 2, 0]));
        assert_eq!(frag(&z), [-1000, -1000, 600]);
        // Unusable: order 0 -> 0; order 1: suitable 2, <<1 = 4,
        // (12-4)*1000/12 = 666; order 2: 1000.
        assert_eq!(unusable(&z), [0, 666, 1000]);
        // One free page, order 1: 1*1000/2 = 500; (1000+500)/1 = 1500;
        // 1000-1500 = -500, printed by the kernel as 0.-500.
        let z = zone_indices(&zone(&[1, 0]));
        assert_eq!(frag(&z), [-1000, -500]);
        assert_eq!(z.orders[1].fragmentation.to_string(), "0.-500");
        // No free memory: fragmentation 0, all of it unusable.
        let z = zone_indices(&zone(&[0, 0, 0]));
        assert_eq!(frag(&z), [0, 0, 0]);
        assert_eq!(unusable(&z), [1000, 1000, 1000]);
        assert_eq!(z.orders[0].unusable.to_string(), "1.000");
    }

    #[test]
    fn this_machine() {
        // buddyinfo-6.18 DMA: blocks only at orders 8 (1), 9 (1), 10 (3):
        // 3840 pages, every order satisfiable.
        let b =
            buddyinfo::parse(include_str!("../../tests/fixtures/system/buddyinfo-6.18")).unwrap();
        let f = fragmentation(&b);
        assert_eq!(f.len(), 3);
        assert_eq!(frag(&f[0]), vec![-1000; 11]);
        // Order 9: suitable = 1 + 3*2 = 7, 7<<9 = 3584,
        // (3840-3584)*1000/3840 = 66; order 10: 3<<10 = 3072 -> 200.
        assert_eq!(unusable(&f[0])[8..], [0, 66, 200]);
    }

    #[test]
    fn extreme_counts_do_not_overflow() {
        let z = zone_indices(&zone(&vec![u64::MAX; MAX_ORDERS]));
        assert_eq!(z.orders.len(), MAX_ORDERS);
        assert!(z.orders.iter().all(|o| o.fragmentation == Index(-1000)));
        let mut free = vec![u64::MAX; MAX_ORDERS];
        free[MAX_ORDERS - 1] = 0;
        let z = zone_indices(&zone(&free));
        assert!(z.orders[MAX_ORDERS - 1].fragmentation.0 <= 1000);
    }
}

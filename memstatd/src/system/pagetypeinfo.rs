//! `/proc/pagetypeinfo` (mm/vmstat.c `pagetypeinfo_show`), per node with
//! memory:
//!
//! ```text
//! Page block order: 9
//! Pages per block:  512
//!
//! Free pages count per migrate type at order       0      1 ...
//! Node    0, zone   Normal, type    Unmovable    209    529 ...
//!
//! Number of blocks type     Unmovable      Movable ...
//! Node 0, zone   Normal           53         1353 ...
//! ```
//!
//! then, with CONFIG_PAGE_OWNER and page_owner=on, `Number of mixed blocks`
//! in the block-count layout. The migratetypes are the kernel's
//! `migratetype_names`, whose list depends on the configuration and the tree
//! (`CMA` only with CONFIG_CMA, `Isolate` with CONFIG_MEMORY_ISOLATION; the
//! Android common kernels put `CMA` before `HighAtomic`), so they are kept
//! as printed. Since 5.4 (and the stable kernels before it that took the
//! change) the kernel stops counting a free list at 100000 blocks and prints
//! `>100000`: such a count is a lower bound. The same change made the file
//! mode 0400: root only.
//!
//! Android kernels call `android_vh_pagetypeinfo_show` after each node's
//! block counts, and vendor modules print what they like there. Lines after
//! a block-count table that are not one of its rows are ignored up to the
//! next header, and counted in `ignored_lines`; everywhere else a line that
//! is not what the kernel prints is an error, and so is a broken row.
//!
//! A text cut at a line boundary parses as the lines it has; a line cut
//! anywhere else is an error.

use super::buddyinfo::MAX_ORDERS;
use super::reading::{
    complete, excerpt, node_zone, number, numbered, unexpected, ErrorKind, ParseError, Reading,
    Root,
};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Pagetypeinfo {
    pub(crate) pageblock_order: u32,
    pub(crate) pages_per_block: u64,
    /// Free blocks per order, per node, zone and migratetype.
    pub(crate) free: Vec<FreeList>,
    /// Pageblocks per migratetype, per node and zone.
    pub(crate) blocks: Vec<ZoneBlocks>,
    /// Pageblocks holding pages of other migratetypes; empty without
    /// page_owner.
    pub(crate) mixed_blocks: Vec<ZoneBlocks>,
    /// Lines after the block counts that are not the kernel's (vendor
    /// text), skipped; blank lines are not counted.
    pub(crate) ignored_lines: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct FreeList {
    pub(crate) node: u32,
    pub(crate) zone: String,
    pub(crate) migratetype: String,
    /// Per order.
    pub(crate) free: Vec<FreeCount>,
}

/// Free blocks of one order; `capped` when the kernel printed `>100000`,
/// so there are at least `blocks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct FreeCount {
    pub(crate) blocks: u64,
    pub(crate) capped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ZoneBlocks {
    pub(crate) node: u32,
    pub(crate) zone: String,
    pub(crate) blocks: Vec<MigratetypeBlocks>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MigratetypeBlocks {
    pub(crate) migratetype: String,
    pub(crate) blocks: u64,
}

/// What one free list holds, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct MigratetypeFree {
    pub(crate) node: u32,
    pub(crate) zone: String,
    pub(crate) migratetype: String,
    /// The largest order with a free block; None when the list is empty.
    pub(crate) highest_order: Option<usize>,
    /// Sum over orders of blocks << order.
    pub(crate) free_pages: u64,
    /// A count was capped: there are at least `free_pages`.
    pub(crate) at_least: bool,
}

impl FreeList {
    pub(crate) fn highest_order(&self) -> Option<usize> {
        self.free.iter().rposition(|c| c.blocks > 0)
    }

    /// Free pages and whether that is a lower bound.
    pub(crate) fn free_pages(&self) -> (u64, bool) {
        self.free
            .iter()
            .enumerate()
            .fold((0u64, false), |(sum, capped), (order, c)| {
                (
                    sum.saturating_add(c.blocks.saturating_mul(1 << order)),
                    capped || c.capped,
                )
            })
    }
}

impl Pagetypeinfo {
    pub(crate) fn by_migratetype(&self) -> Vec<MigratetypeFree> {
        self.free
            .iter()
            .map(|f| {
                let (free_pages, at_least) = f.free_pages();
                MigratetypeFree {
                    node: f.node,
                    zone: f.zone.clone(),
                    migratetype: f.migratetype.clone(),
                    highest_order: f.highest_order(),
                    free_pages,
                    at_least,
                }
            })
            .collect()
    }
}

/// Where the lines are: which table rows belong to, or past the block
/// counts in text that is not the kernel's.
#[derive(Clone, Copy, PartialEq)]
enum Section {
    Start,
    Free,
    Blocks,
    Mixed,
    Trailer,
}

pub(crate) fn parse(text: &str) -> Result<Pagetypeinfo, ParseError> {
    complete(text)?;
    let mut pageblock_order = None;
    let mut pages_per_block = None;
    let mut orders: Option<usize> = None;
    let mut types: Vec<String> = Vec::new();
    let mut section = Section::Start;
    let mut out = Pagetypeinfo {
        pageblock_order: 0,
        pages_per_block: 0,
        free: Vec::new(),
        blocks: Vec::new(),
        mixed_blocks: Vec::new(),
        ignored_lines: 0,
    };
    // Rows under the current block-count header: text that is not a row
    // may follow a table, not stand in for it.
    let mut rows = 0usize;
    for (lineno, line) in numbered(text) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(v) = trimmed.strip_prefix("Page block order:") {
            let v =
                u32::try_from(number(v.trim(), lineno)?).map_err(|_| unexpected(lineno, line))?;
            same(&mut pageblock_order, v, lineno, line)?;
            section = Section::Start;
        } else if let Some(v) = trimmed.strip_prefix("Pages per block:") {
            same(
                &mut pages_per_block,
                number(v.trim(), lineno)?,
                lineno,
                line,
            )?;
            section = Section::Start;
        } else if let Some(v) = trimmed.strip_prefix("Free pages count per migrate type at order") {
            let n = order_header(v, lineno, line)?;
            same(&mut orders, n, lineno, line)?;
            section = Section::Free;
        } else if let Some(v) = trimmed.strip_prefix("Number of blocks type") {
            types = type_header(v, &types, lineno, line)?;
            section = Section::Blocks;
            rows = 0;
        } else if let Some(v) = trimmed.strip_prefix("Number of mixed blocks") {
            types = type_header(v, &types, lineno, line)?;
            section = Section::Mixed;
            rows = 0;
        } else {
            let row = trimmed.split_whitespace().next() == Some("Node");
            match section {
                Section::Start => return Err(unexpected(lineno, line)),
                Section::Free => out.free.push(free_row(line, lineno, orders)?),
                Section::Blocks | Section::Mixed if row || rows == 0 => {
                    let zone = block_row(line, lineno, &types)?;
                    match section {
                        Section::Blocks => out.blocks.push(zone),
                        _ => out.mixed_blocks.push(zone),
                    }
                    rows += 1;
                }
                Section::Blocks | Section::Mixed | Section::Trailer => {
                    out.ignored_lines += 1;
                    section = Section::Trailer;
                }
            }
        }
    }
    let missing = |what: &str| ParseError::whole(ErrorKind::Missing { what: what.into() });
    out.pageblock_order = pageblock_order.ok_or_else(|| missing("Page block order"))?;
    out.pages_per_block = pages_per_block.ok_or_else(|| missing("Pages per block"))?;
    Ok(out)
}

/// A header repeated per node must say the same each time.
fn same<T: PartialEq>(
    slot: &mut Option<T>,
    v: T,
    lineno: usize,
    line: &str,
) -> Result<(), ParseError> {
    match slot {
        Some(old) if *old != v => Err(unexpected(lineno, line)),
        _ => {
            *slot = Some(v);
            Ok(())
        }
    }
}

/// `0 1 2 ... n-1`: the number of orders.
fn order_header(v: &str, lineno: usize, line: &str) -> Result<usize, ParseError> {
    let tokens: Vec<&str> = v.split_whitespace().collect();
    if tokens.len() > MAX_ORDERS {
        return Err(ParseError::at(
            lineno,
            ErrorKind::TooManyOrders {
                found: tokens.len(),
                max: MAX_ORDERS,
            },
        ));
    }
    for (i, t) in tokens.iter().enumerate() {
        if number(t, lineno)? != i as u64 {
            return Err(unexpected(lineno, line));
        }
    }
    if tokens.is_empty() {
        return Err(unexpected(lineno, line));
    }
    Ok(tokens.len())
}

fn type_header(
    v: &str,
    old: &[String],
    lineno: usize,
    line: &str,
) -> Result<Vec<String>, ParseError> {
    let types: Vec<String> = v.split_whitespace().map(str::to_owned).collect();
    if types.is_empty() || (!old.is_empty() && old != types.as_slice()) {
        return Err(unexpected(lineno, line));
    }
    Ok(types)
}

fn free_row(line: &str, lineno: usize, orders: Option<usize>) -> Result<FreeList, ParseError> {
    let nz = node_zone(line, lineno)?;
    let (migratetype, counts) = match nz.rest.as_slice() {
        ["type", name, counts @ ..] if nz.comma => (*name, counts),
        _ => return Err(unexpected(lineno, line)),
    };
    let expected = orders.unwrap_or(0);
    if counts.len() != expected {
        return Err(ParseError::at(
            lineno,
            ErrorKind::Columns {
                expected,
                found: counts.len(),
            },
        ));
    }
    let free = counts
        .iter()
        .map(|t| {
            let (digits, capped) = match t.strip_prefix('>') {
                Some(d) => (d, true),
                None => (*t, false),
            };
            number(digits, lineno)
                .map(|blocks| FreeCount { blocks, capped })
                .map_err(|_| ParseError::at(lineno, ErrorKind::NotANumber { token: excerpt(t) }))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FreeList {
        node: nz.node,
        zone: nz.zone,
        migratetype: migratetype.to_owned(),
        free,
    })
}

fn block_row(line: &str, lineno: usize, types: &[String]) -> Result<ZoneBlocks, ParseError> {
    let nz = node_zone(line, lineno)?;
    if nz.comma {
        return Err(unexpected(lineno, line));
    }
    if nz.rest.len() != types.len() {
        return Err(ParseError::at(
            lineno,
            ErrorKind::Columns {
                expected: types.len(),
                found: nz.rest.len(),
            },
        ));
    }
    let blocks = types
        .iter()
        .zip(&nz.rest)
        .map(|(t, v)| {
            Ok(MigratetypeBlocks {
                migratetype: t.clone(),
                blocks: number(v, lineno)?,
            })
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    Ok(ZoneBlocks {
        node: nz.node,
        zone: nz.zone,
        blocks,
    })
}

/// Root only: the file is mode 0400, so anyone else would only be refused
/// (and, on Android, log a denial).
pub(crate) fn read(root: &Root) -> Reading<Pagetypeinfo> {
    if !super::is_root() {
        return root.withheld("proc/pagetypeinfo", "readable by root only (mode 0400)");
    }
    root.read("proc/pagetypeinfo", parse)
}

#[cfg(test)]
mod tests {
    use super::super::buddyinfo;
    use super::*;

    const FIXTURES: [(&str, &str, &str); 5] = [
        (
            "5.10",
            include_str!("../../tests/fixtures/system/pagetypeinfo-5.10"),
            include_str!("../../tests/fixtures/system/buddyinfo-5.10"),
        ),
        (
            "5.15",
            include_str!("../../tests/fixtures/system/pagetypeinfo-5.15"),
            include_str!("../../tests/fixtures/system/buddyinfo-5.15"),
        ),
        (
            "6.1",
            include_str!("../../tests/fixtures/system/pagetypeinfo-6.1"),
            include_str!("../../tests/fixtures/system/buddyinfo-6.1"),
        ),
        (
            "6.6",
            include_str!("../../tests/fixtures/system/pagetypeinfo-6.6"),
            include_str!("../../tests/fixtures/system/buddyinfo-6.6"),
        ),
        (
            "6.18",
            include_str!("../../tests/fixtures/system/pagetypeinfo-6.18"),
            include_str!("../../tests/fixtures/system/buddyinfo-6.18"),
        ),
    ];

    fn fixture(version: &str) -> Pagetypeinfo {
        let (_, text, _) = FIXTURES.iter().find(|f| f.0 == version).unwrap();
        parse(text).unwrap()
    }

    fn types(p: &Pagetypeinfo) -> Vec<&str> {
        p.blocks[0]
            .blocks
            .iter()
            .map(|b| b.migratetype.as_str())
            .collect()
    }

    #[test]
    fn this_machine() {
        let p = fixture("6.18");
        assert_eq!((p.pageblock_order, p.pages_per_block), (9, 512));
        // CONFIG_CMA off here: no CMA type.
        assert_eq!(
            types(&p),
            [
                "Unmovable",
                "Movable",
                "Reclaimable",
                "HighAtomic",
                "Isolate"
            ]
        );
        assert_eq!(p.free.len(), 15);
        assert!(p.mixed_blocks.is_empty());
        let normal_unmovable = &p.free[10];
        assert_eq!(
            (
                normal_unmovable.zone.as_str(),
                normal_unmovable.migratetype.as_str()
            ),
            ("Normal", "Unmovable")
        );
        // 466 + 567*2 + 383*4 + 178*8 + 110*16 + 23*32 + 14*64 + 5*128 + 3*256 + 1*512
        // = 466 + 1134 + 1532 + 1424 + 1760 + 736 + 896 + 640 + 768 + 512 = 9868
        assert_eq!(normal_unmovable.free_pages(), (9868, false));
        assert_eq!(normal_unmovable.highest_order(), Some(9));
        let normal = &p.blocks[2];
        assert_eq!(normal.zone, "Normal");
        let counts: Vec<u64> = normal.blocks.iter().map(|b| b.blocks).collect();
        assert_eq!(counts, [53, 1353, 66, 0, 0]);
        let views = p.by_migratetype();
        let dma_reclaimable = views
            .iter()
            .find(|v| v.zone == "DMA" && v.migratetype == "Reclaimable")
            .unwrap();
        assert_eq!(
            (dma_reclaimable.highest_order, dma_reclaimable.free_pages),
            (None, 0)
        );
    }

    #[test]
    fn kernel_layouts() {
        // 5.10, two nodes: the header block repeats per node; upstream order
        // with CMA after HighAtomic; node 1's order-0 Movable list was capped.
        let p = fixture("5.10");
        assert_eq!(
            types(&p),
            [
                "Unmovable",
                "Movable",
                "Reclaimable",
                "HighAtomic",
                "CMA",
                "Isolate"
            ]
        );
        assert_eq!(p.blocks.len(), 4);
        assert_eq!((p.blocks[3].node, p.blocks[3].zone.as_str()), (1, "Normal"));
        let capped = p
            .free
            .iter()
            .find(|f| f.node == 1 && f.migratetype == "Movable")
            .unwrap();
        assert_eq!(
            capped.free[0],
            FreeCount {
                blocks: 100000,
                capped: true
            }
        );
        let (pages, at_least) = capped.free_pages();
        assert!(at_least);
        // 100000 + 19542*2 + 8127*4 + 3521*8 + 1590*16 + 622*32 + 280*64
        //   + 121*128 + 61*256 + 33*512 + 3870*1024
        // = 100000 + 39084 + 32508 + 28168 + 25440 + 19904 + 17920 + 15488
        //   + 15616 + 16896 + 3962880 = 4273904
        assert_eq!(pages, 4_273_904);
        // 5.15 arm64 64K pages: pageblock order 13, 14 orders.
        let p = fixture("5.15");
        assert_eq!((p.pageblock_order, p.pages_per_block), (13, 8192));
        assert!(p.free.iter().all(|f| f.free.len() == 14));
        // 6.6 Android common kernel: CMA among the per-cpu types.
        let p = fixture("6.6");
        assert_eq!(
            types(&p),
            [
                "Unmovable",
                "Movable",
                "Reclaimable",
                "CMA",
                "HighAtomic",
                "Isolate"
            ]
        );
        let cma = p.by_migratetype();
        let cma = cma
            .iter()
            .find(|v| v.zone == "DMA32" && v.migratetype == "CMA")
            .unwrap();
        assert_eq!(cma.highest_order, Some(7));
    }

    /// The free lists of a zone add up, per order, to its buddyinfo line
    /// (the fixtures were taken as one snapshot).
    #[test]
    fn free_lists_add_up_to_buddyinfo() {
        for (version, text, buddy) in FIXTURES {
            let p = parse(text).unwrap();
            let b = buddyinfo::parse(buddy).unwrap();
            for zone in &b.zones {
                let lists: Vec<_> = p
                    .free
                    .iter()
                    .filter(|f| f.node == zone.node && f.zone == zone.zone)
                    .collect();
                assert!(!lists.is_empty(), "{version} {}", zone.zone);
                for (order, &blocks) in zone.free.iter().enumerate() {
                    let sum: u64 = lists.iter().map(|f| f.free[order].blocks).sum();
                    let capped = lists.iter().any(|f| f.free[order].capped);
                    assert!(
                        sum == blocks || (capped && sum <= blocks),
                        "{version} {} order {order}: {sum} vs {blocks}",
                        zone.zone
                    );
                }
            }
        }
    }

    fn kind(text: &str) -> (usize, ErrorKind) {
        let e = parse(text).unwrap_err();
        (e.line, e.kind)
    }

    #[test]
    fn malformed() {
        let text = FIXTURES[4].1;
        assert_eq!(kind(""), (0, ErrorKind::Empty));
        // Cut at a line boundary before the block counts: the free lists only.
        let cut = &text[..text.find("Number of blocks").unwrap()];
        let p = parse(cut).unwrap();
        assert_eq!((p.free.len(), p.blocks.len()), (15, 0));
        // Cut in the middle of a free-list line.
        let cut = &text[..text.find("DMA32, type      Movable").unwrap() + 40];
        assert_eq!(kind(cut), (11, ErrorKind::Truncated));
        // A free-list line with fewer orders than the header.
        let short = "Page block order: 9\nPages per block:  512\n\n\
                     Free pages count per migrate type at order 0 1 2\n\
                     Node 0, zone DMA, type Movable 1 2\n";
        assert_eq!(
            kind(short),
            (
                5,
                ErrorKind::Columns {
                    expected: 3,
                    found: 2
                }
            )
        );
        assert_eq!(
            kind("Page block order: 9\nPages per\n"),
            (
                2,
                ErrorKind::Unexpected {
                    text: "Pages per".into()
                }
            )
        );
        assert_eq!(
            kind("Page block order: 9\n"),
            (
                0,
                ErrorKind::Missing {
                    what: "Pages per block".into()
                }
            )
        );
        let head = "Page block order: 9\nPages per block:  512\n\n\
                    Free pages count per migrate type at order 0 1\n";
        assert_eq!(
            kind(&format!("{head}Node 0, zone DMA, type Movable 1 x\n")),
            (5, ErrorKind::NotANumber { token: "x".into() })
        );
        assert_eq!(
            kind(&format!("{head}Node 0, zone DMA, type Movable 1 <5\n")),
            (5, ErrorKind::NotANumber { token: "<5".into() })
        );
        assert!(matches!(
            kind(&format!("{head}Node 0, zone DMA type Movable 1 2\n")),
            (5, ErrorKind::Unexpected { .. })
        ));
        // Block counts under a header with three types, a row with two.
        let blocks = format!("{head}\nNumber of blocks type A B C\nNode 0, zone DMA 1 2\n");
        assert_eq!(
            kind(&blocks),
            (
                7,
                ErrorKind::Columns {
                    expected: 3,
                    found: 2
                }
            )
        );
        // Orders must count up from 0.
        assert!(matches!(
            kind("Page block order: 9\nFree pages count per migrate type at order 0 2\n"),
            (2, ErrorKind::Unexpected { .. })
        ));
        // A second node may not disagree about the pageblock order.
        assert!(matches!(
            kind("Page block order: 9\nPage block order: 10\n"),
            (2, ErrorKind::Unexpected { .. })
        ));
        // Rows before any header.
        assert!(matches!(
            kind("Node 0, zone DMA 1 2\n"),
            (1, ErrorKind::Unexpected { .. })
        ));
    }

    /// Text a vendor module prints through android_vh_pagetypeinfo_show,
    /// after each node's block counts.
    #[test]
    fn vendor_lines_after_the_block_counts() {
        let text = FIXTURES[0].1;
        let base = parse(text).unwrap();
        assert_eq!(base.ignored_lines, 0);
        let vendor = "ion system heap pools:\n\
                      \x20 order 0: 1203 pages\n\
                      \n\
                      Node 0, zone   Normal, pool pages 9\n\
                      Number of free CMA pages per order: 3 1 0\n";
        // Node 0's tables end where node 1's header starts; node 1's end
        // with the file.
        let at = text.rfind("Page block order").unwrap();
        let with = format!("{}{vendor}{}{vendor}", &text[..at], &text[at..]);
        let p = parse(&with).unwrap();
        assert_eq!(p.ignored_lines, 8);
        assert_eq!(
            Pagetypeinfo {
                ignored_lines: 0,
                ..p
            },
            base
        );

        // With page_owner: the mixed-block counts, then the vendor's text.
        let mixed = "Number of mixed blocks    Unmovable      Movable  Reclaimable   \
                     HighAtomic          CMA      Isolate\n\
                     Node 1, zone   Normal            3           41            2            \
                     0            0            0\n";
        let p = parse(&format!("{text}{mixed}{vendor}")).unwrap();
        assert_eq!((p.mixed_blocks.len(), p.ignored_lines), (1, 4));
        assert_eq!(p.mixed_blocks[0].blocks[1].blocks, 41);

        // A row of the table is still a row: broken, it is an error.
        let lines = text.lines().count();
        assert_eq!(
            kind(&format!(
                "{text}Node 1, zone  Movable 1 2 3 4 5 x\n{vendor}"
            )),
            (lines + 1, ErrorKind::NotANumber { token: "x".into() })
        );
        // Text in place of the table, or before it, is not the vendor's.
        let head = &text[..text.find("Number of blocks").unwrap()];
        assert!(matches!(
            kind(&format!("{head}{vendor}")),
            (_, ErrorKind::Unexpected { .. })
        ));
        assert!(matches!(
            kind(&format!(
                "{head}Number of blocks type     Unmovable      Movable\n{vendor}"
            )),
            (_, ErrorKind::Unexpected { .. })
        ));
    }

    #[test]
    fn live() {
        match read(&Root::default()) {
            Reading::Read { value } => {
                assert_eq!(value.pages_per_block, 1 << value.pageblock_order);
                let buddy = buddyinfo::read(&Root::default());
                let zones: Vec<_> = buddy
                    .value()
                    .expect("/proc/buddyinfo")
                    .zones
                    .iter()
                    .map(|z| (z.node, z.zone.clone()))
                    .collect();
                let blocks: Vec<_> = value
                    .blocks
                    .iter()
                    .map(|z| (z.node, z.zone.clone()))
                    .collect();
                assert_eq!(blocks, zones);
            }
            // Mode 0400: only root tries to read it.
            Reading::Unreadable { errno, .. } => {
                assert!(!crate::system::is_root());
                assert_eq!(errno, None);
            }
            other => panic!("{other:?}"),
        }
    }

    proptest::proptest! {
        #![proptest_config(super::super::reading::arbitrary::config())]
        #[test]
        fn never_panics(
            lines in super::super::reading::arbitrary::lines(),
            bytes in super::super::reading::arbitrary::bytes(),
            mutated in super::super::reading::arbitrary::mutated(FIXTURES[0].1),
        ) {
            for text in [lines, bytes, mutated] {
                if let Ok(p) = parse(&text) {
                    p.by_migratetype();
                }
            }
        }
    }
}

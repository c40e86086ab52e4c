//! What the per-app cgroups counted, kept across their removal: each UID's
//! faults are its removed cgroups' last reads plus its live cgroups' counts,
//! so they never go back; the parents' sums less what the UIDs show are
//! the counts no read saw (`other`).

use super::layout::Found;
use std::collections::{BTreeMap, HashMap};

/// UIDs the book keeps; beyond, the faults of UIDs with no live cgroup are
/// folded into `other` (isolated processes take a UID each, and recycle
/// 1,000 of them).
const MAX_UIDS: usize = 16384;

/// One UID's numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct UidMemcg {
    /// Faults: all, major, since memstatd first saw one of its cgroups
    /// (with what that cgroup had counted before).
    pub(crate) faults: [u64; 2],
    /// Bytes charged now (anon, file, shmem, all); `None` while it has no
    /// cgroup.
    pub(crate) charged: Option<[u64; 4]>,
}

/// One read's result.
#[derive(Clone, Debug, Default)]
pub(crate) struct Reading {
    pub(crate) uids: BTreeMap<u32, UidMemcg>,
    /// Faults no UID's read saw: counted in removed cgroups after their last
    /// read, in cgroups of their parents that are no app's, or before
    /// memstatd started.
    pub(crate) other: UidMemcg,
}

#[derive(Clone, Copy, Debug)]
struct Instance {
    faults: [u64; 2],
    parent: usize,
}

#[derive(Debug, Default)]
struct Uid {
    /// Removed cgroups' counts at their last read.
    held: [u64; 2],
    /// Live cgroups by inode.
    live: HashMap<u64, Instance>,
}

pub(super) struct Book {
    uids: BTreeMap<u32, Uid>,
    /// Per parent: every count read under it, removed cgroups' included.
    seen: Vec<[u64; 2]>,
    /// Per parent: the most its sums ever exceeded `seen` by.
    lost: Vec<[u64; 2]>,
    /// Faults of UIDs dropped beyond [`MAX_UIDS`].
    folded: [u64; 2],
    /// Cgroups removed under a parent with no sums of its own.
    unrecoverable: usize,
}

fn add(a: &mut [u64; 2], b: [u64; 2]) {
    *a = [a[0].saturating_add(b[0]), a[1].saturating_add(b[1])];
}

impl Book {
    pub(super) fn new(parents: usize) -> Self {
        Book {
            uids: BTreeMap::new(),
            seen: vec![[0; 2]; parents],
            lost: vec![[0; 2]; parents],
            folded: [0; 2],
            unrecoverable: 0,
        }
    }

    pub(super) fn gone_unrecoverable(&self) -> usize {
        self.unrecoverable
    }

    /// Takes one read: the cgroups `found` (read after `parents`' faults,
    /// `None` for a parent without them).
    pub(super) fn update(&mut self, found: &[Found], parents: &[Option<[u64; 2]>]) -> Reading {
        let mut charged: HashMap<u32, [u64; 4]> = HashMap::new();
        let mut present: HashMap<u32, Vec<u64>> = HashMap::new();
        for f in found {
            // Unreadable files: the cgroup is going; its last read stands.
            let Some(stat) = f.stat else {
                continue;
            };
            let u = self.uids.entry(f.uid).or_default();
            let i = u.live.entry(f.ino).or_insert(Instance {
                faults: [0; 2],
                parent: f.parent,
            });
            // A cgroup's counters never go back.
            let delta = [0, 1].map(|k| stat.faults[k].saturating_sub(i.faults[k]));
            i.faults = [0, 1].map(|k| i.faults[k].max(stat.faults[k]));
            if let Some(seen) = self.seen.get_mut(f.parent) {
                add(seen, delta);
            }
            let c = charged.entry(f.uid).or_default();
            for (a, b) in c.iter_mut().zip(stat.charged) {
                *a = a.saturating_add(b);
            }
            present.entry(f.uid).or_default().push(f.ino);
        }
        for (uid, u) in &mut self.uids {
            let here = present.get(uid).map(Vec::as_slice).unwrap_or_default();
            let gone: Vec<u64> = u
                .live
                .keys()
                .filter(|i| !here.contains(i))
                .copied()
                .collect();
            for ino in gone {
                let i = u.live.remove(&ino).expect("a live cgroup");
                add(&mut u.held, i.faults);
                if parents.get(i.parent).copied().flatten().is_none() {
                    self.unrecoverable += 1;
                }
            }
        }
        self.fold();
        for (p, sums) in parents.iter().enumerate() {
            if let (Some(sums), Some(lost)) = (sums, self.lost.get_mut(p)) {
                let over = [0, 1].map(|k| sums[k].saturating_sub(self.seen[p][k]));
                *lost = [0, 1].map(|k| lost[k].max(over[k]));
            }
        }
        let mut other = UidMemcg::default();
        for lost in &self.lost {
            add(&mut other.faults, *lost);
        }
        add(&mut other.faults, self.folded);
        let uids = self
            .uids
            .iter()
            .map(|(&uid, u)| {
                let mut faults = u.held;
                for i in u.live.values() {
                    add(&mut faults, i.faults);
                }
                let charged = charged.get(&uid).copied();
                (uid, UidMemcg { faults, charged })
            })
            .collect();
        Reading { uids, other }
    }

    /// Keeps the book within [`MAX_UIDS`]: UIDs with no live cgroup go to
    /// `folded`, lowest first.
    fn fold(&mut self) {
        let mut over = self.uids.len().saturating_sub(MAX_UIDS);
        let idle: Vec<u32> = self
            .uids
            .iter()
            .filter(|(_, u)| u.live.is_empty())
            .map(|(&uid, _)| uid)
            .take(over)
            .collect();
        for uid in idle {
            if let Some(u) = self.uids.remove(&uid) {
                add(&mut self.folded, u.held);
                over -= 1;
            }
        }
        debug_assert!(over == 0 || self.uids.values().all(|u| !u.live.is_empty()));
    }
}

#[cfg(test)]
mod tests {
    use super::super::layout::Stat;
    use super::*;

    fn found(uid: u32, ino: u64, faults: [u64; 2]) -> Found {
        Found {
            uid,
            parent: 0,
            ino,
            stat: Some(Stat {
                faults,
                charged: [4096, 8192, 0, 12288],
            }),
        }
    }

    #[test]
    fn a_removed_cgroup_keeps_its_last_read_and_the_rest_goes_to_other() {
        let mut book = Book::new(1);
        let r = book.update(&[found(10001, 7, [100, 2])], &[Some([150, 2])]);
        assert_eq!(r.uids[&10001].faults, [100, 2]);
        assert_eq!(r.uids[&10001].charged, Some([4096, 8192, 0, 12288]));
        // Faults of the parent that are no app's, or from before.
        assert_eq!(r.other.faults, [50, 0]);
        // The cgroup counted 30 more, then went; the parent kept them.
        let r = book.update(&[], &[Some([180, 2])]);
        assert_eq!(r.uids[&10001].faults, [100, 2]);
        assert_eq!(r.uids[&10001].charged, None);
        assert_eq!(r.other.faults, [80, 0]);
        // A new cgroup for the same UID starts from nothing: added on.
        let r = book.update(&[found(10001, 9, [5, 1])], &[Some([185, 3])]);
        assert_eq!(r.uids[&10001].faults, [105, 3]);
        assert_eq!(r.other.faults, [80, 0]);
        assert_eq!(book.gone_unrecoverable(), 0);
    }

    #[test]
    fn other_never_goes_back_and_never_takes_a_uids_counts() {
        let mut book = Book::new(1);
        book.update(&[found(10001, 7, [100, 0])], &[Some([100, 0])]);
        // The parent is read first: a UID read later may show more.
        let r = book.update(&[found(10001, 7, [140, 0])], &[Some([120, 0])]);
        assert_eq!((r.uids[&10001].faults, r.other.faults), ([140, 0], [0, 0]));
        let r = book.update(&[found(10001, 7, [140, 0])], &[Some([140, 0])]);
        assert_eq!(r.other.faults, [0, 0]);
    }

    #[test]
    fn a_cgroup_removed_under_the_v2_root_is_lost_and_said() {
        let mut book = Book::new(1);
        book.update(
            &[found(10001, 7, [10, 0]), found(10002, 8, [20, 0])],
            &[None],
        );
        let r = book.update(&[found(10002, 8, [25, 0])], &[None]);
        assert_eq!(r.uids[&10001].faults, [10, 0]);
        assert_eq!(r.uids[&10002].faults, [25, 0]);
        assert_eq!(r.other.faults, [0, 0]);
        assert_eq!(book.gone_unrecoverable(), 1);
    }

    #[test]
    fn unreadable_files_keep_the_last_read() {
        let mut book = Book::new(1);
        book.update(&[found(10001, 7, [10, 0])], &[Some([10, 0])]);
        let going = Found {
            stat: None,
            ..found(10001, 7, [0, 0])
        };
        let r = book.update(&[going], &[Some([12, 0])]);
        assert_eq!(r.uids[&10001].faults, [10, 0]);
        assert_eq!(r.other.faults, [2, 0]);
    }

    #[test]
    fn the_book_folds_idle_uids_beyond_its_bound() {
        let mut book = Book::new(1);
        let many: Vec<Found> = (0..MAX_UIDS as u32 + 3)
            .map(|n| found(20000 + n, u64::from(n), [1, 0]))
            .collect();
        let sum = many.len() as u64;
        book.update(&many, &[Some([sum, 0])]);
        // All went; three UIDs beyond the bound are folded into other.
        let r = book.update(&[], &[Some([sum, 0])]);
        assert_eq!(r.uids.len(), MAX_UIDS);
        assert_eq!(r.other.faults, [3, 0]);
        assert!(
            !r.uids.contains_key(&20000) && r.uids.contains_key(&(20000 + MAX_UIDS as u32 + 2))
        );
    }
}

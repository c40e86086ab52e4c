//! Per-UID totals from the kernel's per-task counters, kept exact and never
//! going back (windows subtract a baseline, and refuse counters that drop).
//!
//! Faults of a UID = its exited threads' counts (the exit program's
//! `taskexit_uid`) + Σ over its live processes of (their /proc total − their
//! exited threads' counts, `taskexit_dead`) + a held adjustment. A thread's
//! exit moves its counts from the second term to the first, unchanged in sum.
//! The adjustment covers what the kernel's counts cannot:
//!
//! - a process seen under UID A and then under B: A keeps the live counts it
//!   showed, B counts only what came after (A += shown, B −= shown);
//! - a process gone whose exited threads account for less than it showed
//!   (threads that exited before the exit program was configured, faults
//!   after the exit hook): its UID keeps what it showed;
//! - a process that changed UID and exited between two reads: the old UID
//!   keeps what it showed, the new one counts only the rest of its exits;
//! - as a last guard, a UID's total below the last one reported (e.g. such
//!   a process while memstatd was not running) is held at the last one.
//!
//! Only full reads (reports) sum faults: a poll re-reads the counters of
//! processes whose sizes changed only, so its sums would mix reads.
//!
//! At most [`UIDS`] UIDs get their own totals, those seen first (kept across
//! restarts through the held entries, one per UID); the rest are summed
//! into `other`, as the BPF groups do when their table is full.
//!
//! Peak RSS of a UID in a window is a bracket [lo, hi]: lo is the highest
//! Σ RSS of its processes seen by one walk; hi bounds every simultaneous Σ
//! from above: Σ over processes that were the UID's in the window of each
//! one's own peak (VmHWM, or VmPeak once a `clear_refs` reset is seen; for a
//! process gone, also its `signal_struct.maxrss` at exit), since the peak of
//! a sum is at most the sum of the peaks. A process that ended after the
//! last read without its `maxrss` (its offset unknown, or its exit not
//! seen) may have grown unseen: its UID's hi is then unknown (`u64::MAX`)
//! until the generation ends.

use super::procfs::Process;
use crate::abi::tasks::{TaskDead, TaskHeld, HELD_ENTRIES};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// UIDs with totals of their own: the BPF groups' table size (and the
/// held entries' map holds as many).
pub(crate) const UIDS: usize = {
    let (a, b) = (crate::abi::memory::UID_ENTRIES, HELD_ENTRIES);
    (if a < b { a } else { b }) as usize
};

/// What the exit program's maps held at one read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Kernel {
    /// UID → exited threads' (minor, major).
    pub(crate) exited: BTreeMap<u32, [u64; 2]>,
    /// Tgid → its exited threads.
    pub(crate) dead: HashMap<u32, TaskDead>,
}

/// One UID's totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct UidTotals {
    /// Minor, major faults (exact, never going back).
    pub(crate) faults: [u64; 2],
    /// Bytes now: anon, file, shmem.
    pub(crate) rss: [u64; 3],
    /// Bytes: peak RSS in the window, [lo, hi].
    pub(crate) peak: [u64; 2],
}

impl UidTotals {
    /// Adds another UID's: the peak of the sum lies within [the larger lo,
    /// the sum of the his].
    pub(crate) fn add(&mut self, t: &UidTotals) {
        for (a, b) in self.faults.iter_mut().zip(t.faults) {
            *a = a.saturating_add(b);
        }
        for (a, b) in self.rss.iter_mut().zip(t.rss) {
            *a = a.saturating_add(b);
        }
        self.peak = [
            self.peak[0].max(t.peak[0]),
            self.peak[1].saturating_add(t.peak[1]),
        ];
    }
}

#[derive(Clone, Copy, Debug)]
struct Tracked {
    start: u64,
    uid: u32,
    /// (/proc total − exited threads) at the last read: what the UID shows of it.
    live: [i64; 2],
    /// Its `taskexit_dead` counts at the last read.
    dead: [u64; 2],
    /// Highest of VmHWM and Σ RSS seen.
    hwm: u64,
    /// VmHWM at the last read: lower now means `clear_refs` reset it.
    last_hwm: u64,
    reset: bool,
    vm_peak: u64,
}

impl Tracked {
    /// An upper bound of its RSS at any time in the window.
    fn bound(&self) -> u64 {
        if self.reset {
            self.hwm.max(self.vm_peak)
        } else {
            self.hwm
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Peak {
    lo: u64,
    hi: u64,
    /// Σ bounds of processes that left the UID (gone, or to another UID) in the window.
    gone: u64,
    /// One of them ended with no known bound: hi is unknown.
    unbounded: bool,
}

/// The bookkeeping between reads.
#[derive(Debug, Default)]
pub(crate) struct Book {
    tracked: HashMap<u32, Tracked>,
    held: BTreeMap<u32, TaskHeld>,
    /// UIDs whose held entry changed since [`Book::take_changed`].
    changed: BTreeSet<u32>,
    peaks: BTreeMap<u32, Peak>,
    epoch: u64,
    page_size: u64,
    /// UIDs with totals of their own, at most [`UIDS`].
    admitted: BTreeSet<u32>,
    live_pids: HashSet<u32>,
    /// The exit program cannot read `signal_struct.maxrss`.
    maxrss_unknown: bool,
}

fn minus(a: u64, b: u64) -> i64 {
    (i128::from(a) - i128::from(b)).clamp(i64::MIN.into(), i64::MAX.into()) as i64
}

impl Book {
    /// A book resuming the held adjustments kept in the kernel.
    pub(crate) fn new(held: BTreeMap<u32, TaskHeld>, page_size: u64) -> Self {
        Book {
            admitted: held.keys().copied().take(UIDS).collect(),
            held,
            page_size,
            ..Book::default()
        }
    }

    /// A book for an exit program that cannot read a process's peak RSS.
    pub(crate) fn maxrss_unknown(mut self) -> Self {
        self.maxrss_unknown = true;
        self
    }

    /// Peaks start again when the epoch (the generation) changes.
    pub(crate) fn set_epoch(&mut self, epoch: u64) {
        if epoch != self.epoch {
            self.epoch = epoch;
            self.peaks.clear();
        }
    }

    /// Held entries changed since the last call, to write back: those of
    /// admitted UIDs (the others' sums are `other`'s, not kept across
    /// restarts).
    pub(crate) fn take_changed(&mut self) -> Vec<(u32, TaskHeld)> {
        let changed = std::mem::take(&mut self.changed);
        changed
            .into_iter()
            .filter(|u| self.admitted.contains(u))
            .filter_map(|u| Some((u, *self.held.get(&u)?)))
            .collect()
    }

    /// Admits new UIDs of a full read's `totals` while there is room.
    fn admit(&mut self, totals: &BTreeMap<u32, UidTotals>) {
        for &uid in totals.keys() {
            if self.admitted.len() >= UIDS {
                return;
            }
            if self.admitted.insert(uid) {
                // Its held entry is kept from now on.
                self.changed.insert(uid);
            }
        }
    }

    /// Splits a full read's totals into the admitted UIDs' and the sum of
    /// the rest, with how many they are.
    pub(crate) fn split(
        &self,
        mut totals: BTreeMap<u32, UidTotals>,
    ) -> (BTreeMap<u32, UidTotals>, UidTotals, usize) {
        let rest: Vec<u32> = totals
            .keys()
            .filter(|u| !self.admitted.contains(u))
            .copied()
            .collect();
        let mut other = UidTotals::default();
        for uid in &rest {
            let t = totals.remove(uid).expect("listed");
            other.add(&t);
        }
        (totals, other, rest.len())
    }

    fn adjust(&mut self, uid: u32, by: [i64; 2]) {
        if by == [0, 0] {
            return;
        }
        let h = self.held.entry(uid).or_default();
        h.adjust_minor = h.adjust_minor.saturating_add(by[0]);
        h.adjust_major = h.adjust_major.saturating_add(by[1]);
        self.changed.insert(uid);
    }

    fn peak(&mut self, uid: u32) -> &mut Peak {
        self.peaks.entry(uid).or_default()
    }

    /// A process that was `uid`'s ended, bounded by `bound`, or by nothing
    /// where its peak at exit is unknown.
    fn ended(&mut self, uid: u32, bound: u64, known: bool) {
        let p = self.peak(uid);
        p.gone = p.gone.saturating_add(bound);
        p.unbounded |= !known;
    }

    /// A tracked process is gone; `d` is its exited threads' entry, if any.
    fn gone(&mut self, t: Tracked, d: Option<&TaskDead>) {
        let shown = t.live.map(|v| v.max(0));
        match d {
            Some(d) => {
                let gained = [
                    minus(d.minor, t.dead[0]).max(0),
                    minus(d.major, t.dead[1]).max(0),
                ];
                let b = t.bound().max(d.maxrss_pages.saturating_mul(self.page_size));
                let known = !self.maxrss_unknown;
                if d.uid == t.uid {
                    self.adjust(t.uid, [0, 1].map(|i| (shown[i] - gained[i]).max(0)));
                } else {
                    self.adjust(t.uid, shown);
                    self.adjust(d.uid, [0, 1].map(|i| -shown[i].min(gained[i])));
                    self.ended(d.uid, b, known);
                }
                self.ended(t.uid, b, known);
            }
            None => {
                // Its exit was not seen (the probes line counts why).
                self.adjust(t.uid, shown);
                self.ended(t.uid, t.bound(), false);
            }
        }
    }

    /// One read: the live processes (walked first) and the exit program's
    /// maps (read after; a poll reads only `taskexit_dead`). Returns, at a
    /// full read, every UID's totals (at a poll, peaks only), and the tgids
    /// whose `taskexit_dead` entries are done with (their processes are gone).
    pub(crate) fn update(
        &mut self,
        procs: &[Process],
        k: &Kernel,
        full: bool,
    ) -> (BTreeMap<u32, UidTotals>, Vec<u32>) {
        let mut live_pids = std::mem::take(&mut self.live_pids);
        live_pids.clear();
        for p in procs {
            live_pids.insert(p.pid);
            let known = self.tracked.get(&p.pid).filter(|t| t.start == p.start);
            if !p.read && known.is_some() {
                // Nothing re-read: its counts and their exits stay a pair.
                continue;
            }
            let d = k.dead.get(&p.pid).map_or([0, 0], |d| [d.minor, d.major]);
            let live = [minus(p.minor, d[0]), minus(p.major, d[1])];
            let rss: u64 = p.rss.iter().sum();
            let mut t = match self.tracked.remove(&p.pid) {
                Some(t) if t.start == p.start => t,
                Some(old) => {
                    // The pid was reused: the old process is gone.
                    self.gone(old, None);
                    self.fresh(p)
                }
                None => self.fresh(p),
            };
            t.reset |= p.hwm < t.last_hwm;
            t.last_hwm = p.hwm;
            t.hwm = t.hwm.max(p.hwm).max(rss);
            t.vm_peak = t.vm_peak.max(p.vm_peak);
            if t.uid != p.uid {
                let shown = t.live.map(|v| v.max(0));
                self.adjust(t.uid, shown);
                self.adjust(p.uid, shown.map(|v| -v));
                // Its bound now (its whole life's) covers its time as t.uid.
                let b = t.bound();
                self.peak(t.uid).gone = self.peak(t.uid).gone.saturating_add(b);
                t.uid = p.uid;
            }
            t.live = live;
            t.dead = d;
            self.tracked.insert(p.pid, t);
        }
        let gone: Vec<u32> = self
            .tracked
            .keys()
            .filter(|pid| !live_pids.contains(pid))
            .copied()
            .collect();
        for pid in &gone {
            let t = self.tracked.remove(pid).expect("tracked");
            self.gone(t, k.dead.get(pid));
        }
        let mut done = Vec::new();
        for (&tgid, d) in &k.dead {
            if live_pids.contains(&tgid) {
                continue;
            }
            if !gone.contains(&tgid) {
                // Began and ended between two reads: only the exit program saw it.
                let b = d.maxrss_pages.saturating_mul(self.page_size);
                self.ended(d.uid, b, !self.maxrss_unknown);
            }
            done.push(tgid);
        }
        done.sort_unstable();
        self.live_pids = live_pids;
        let totals = self.totals(procs, k, full);
        if full {
            self.admit(&totals);
        }
        (totals, done)
    }

    fn fresh(&self, p: &Process) -> Tracked {
        Tracked {
            start: p.start,
            uid: p.uid,
            live: [0, 0],
            dead: [0, 0],
            hwm: 0,
            last_hwm: p.hwm,
            reset: false,
            vm_peak: 0,
        }
    }

    fn totals(&mut self, procs: &[Process], k: &Kernel, full: bool) -> BTreeMap<u32, UidTotals> {
        let mut sums: BTreeMap<u32, ([i128; 2], UidTotals, u64)> = BTreeMap::new();
        for (&uid, e) in &k.exited {
            let s = sums.entry(uid).or_default();
            s.0 = [s.0[0] + i128::from(e[0]), s.0[1] + i128::from(e[1])];
        }
        for p in procs {
            let t = &self.tracked[&p.pid];
            let s = sums.entry(p.uid).or_default();
            s.0 = [
                s.0[0] + i128::from(t.live[0]),
                s.0[1] + i128::from(t.live[1]),
            ];
            for (r, v) in s.1.rss.iter_mut().zip(p.rss) {
                *r = r.saturating_add(v);
            }
            s.2 = s.2.saturating_add(t.bound());
        }
        for &uid in self.held.keys().chain(self.peaks.keys()) {
            sums.entry(uid).or_default();
        }
        let mut out = BTreeMap::new();
        for (uid, (faults, mut totals, bound)) in sums {
            if full {
                totals.faults = self.faults(uid, faults);
            }
            let now: u64 = totals.rss.iter().sum();
            let peak = self.peaks.entry(uid).or_default();
            peak.lo = peak.lo.max(now);
            peak.hi = peak.hi.max(bound.saturating_add(peak.gone)).max(peak.lo);
            totals.peak = [peak.lo, if peak.unbounded { u64::MAX } else { peak.hi }];
            if totals != UidTotals::default() {
                out.insert(uid, totals);
            }
        }
        out
    }

    /// A UID's faults from its sum, with its held adjustment, never below
    /// what it showed before.
    fn faults(&mut self, uid: u32, sum: [i128; 2]) -> [u64; 2] {
        let h = self.held.get(&uid).copied().unwrap_or_default();
        let adjust = [h.adjust_minor, h.adjust_major];
        let reported = [h.reported_minor, h.reported_major];
        let mut held = h;
        let mut out = [0; 2];
        for i in 0..2 {
            let v = (sum[i] + i128::from(adjust[i])).clamp(0, u64::MAX.into()) as u64;
            out[i] = if v < reported[i] {
                // Last guard: hold the UID at what it showed.
                let up = minus(reported[i], v);
                if i == 0 {
                    held.adjust_minor = held.adjust_minor.saturating_add(up);
                } else {
                    held.adjust_major = held.adjust_major.saturating_add(up);
                }
                reported[i]
            } else {
                v
            };
        }
        (held.reported_minor, held.reported_major) = (out[0], out[1]);
        if held != h {
            self.held.insert(uid, held);
            self.changed.insert(uid);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: u64 = 4096;

    fn proc(pid: u32, uid: u32, minor: u64, anon: u64) -> Process {
        Process {
            pid,
            start: 100 + u64::from(pid),
            uid,
            minor,
            major: minor / 10,
            rss: [anon, 0, 0],
            hwm: anon,
            vm_peak: anon * 4,
            read: true,
            ..Process::default()
        }
    }

    fn dead(uid: u32, minor: u64, maxrss_pages: u64) -> TaskDead {
        TaskDead {
            minor,
            major: minor / 10,
            maxrss_pages,
            uid,
            exits: 1,
        }
    }

    fn kernel(exited: &[(u32, u64)], d: &[(u32, TaskDead)]) -> Kernel {
        Kernel {
            exited: exited.iter().map(|&(u, m)| (u, [m, m / 10])).collect(),
            dead: d.iter().copied().collect(),
        }
    }

    fn faults(book: &mut Book, procs: &[Process], k: &Kernel, uid: u32) -> [u64; 2] {
        book.update(procs, k, true)
            .0
            .get(&uid)
            .map_or([0, 0], |t| t.faults)
    }

    #[test]
    fn thread_exits_move_counts_without_changing_the_sum() {
        let mut b = Book::new(BTreeMap::new(), PAGE);
        assert_eq!(
            faults(&mut b, &[proc(10, 7, 500, 0)], &kernel(&[], &[]), 7),
            [500, 50]
        );
        // A thread of 200 exits: /proc still counts it, the maps too.
        let k = kernel(&[(7, 200)], &[(10, dead(7, 200, 0))]);
        assert_eq!(faults(&mut b, &[proc(10, 7, 650, 0)], &k, 7), [650, 65]);
        // The process ends: its last thread (450 more) is in the maps.
        let k = kernel(&[(7, 650)], &[(10, dead(7, 650, 3))]);
        let (totals, done) = b.update(&[], &k, true);
        assert_eq!(totals[&7].faults, [650, 65]);
        assert_eq!(done, vec![10]);
        assert!(b
            .take_changed()
            .iter()
            .all(|(_, h)| (h.adjust_minor, h.adjust_major) == (0, 0)));
    }

    #[test]
    fn a_uid_change_keeps_each_uid_its_own_and_never_goes_back() {
        let mut b = Book::new(BTreeMap::new(), PAGE);
        let none = kernel(&[], &[]);
        assert_eq!(faults(&mut b, &[proc(10, 0, 300, 0)], &none, 0), [300, 30]);
        let (t, _) = b.update(&[proc(10, 68001, 420, 0)], &none, true);
        assert_eq!((t[&0].faults, t[&68001].faults), ([300, 30], [120, 12]));
        // It exits under the new UID: every thread's counts land there.
        let k = kernel(&[(68001, 450)], &[(10, dead(68001, 450, 0))]);
        let (t, _) = b.update(&[], &k, true);
        assert_eq!((t[&0].faults, t[&68001].faults), ([300, 30], [150, 15]));
        let held = b.take_changed();
        assert_eq!(
            held.iter().find(|(u, _)| *u == 0).unwrap().1.adjust_minor,
            300
        );
        assert_eq!(
            held.iter()
                .find(|(u, _)| *u == 68001)
                .unwrap()
                .1
                .adjust_minor,
            -300
        );
    }

    #[test]
    fn a_change_and_an_exit_between_reads_count_once() {
        let mut b = Book::new(BTreeMap::new(), PAGE);
        assert_eq!(
            faults(&mut b, &[proc(10, 0, 300, 0)], &kernel(&[], &[]), 0),
            [300, 30]
        );
        let k = kernel(&[(68002, 380)], &[(10, dead(68002, 380, 0))]);
        let (t, done) = b.update(&[], &k, true);
        assert_eq!((t[&0].faults, t[&68002].faults), ([300, 30], [80, 8]));
        assert_eq!(done, vec![10]);
    }

    #[test]
    fn counts_the_exit_program_missed_are_held() {
        // Threads that exited before the program was configured: in /proc's
        // total while the process lives, in no map once it is gone.
        let mut b = Book::new(BTreeMap::new(), PAGE);
        assert_eq!(
            faults(&mut b, &[proc(10, 7, 900, 0)], &kernel(&[], &[]), 7),
            [900, 90]
        );
        let k = kernel(&[(7, 100)], &[(10, dead(7, 100, 0))]);
        assert_eq!(faults(&mut b, &[], &k, 7), [900, 90]);
        // Grows again from there, exactly.
        assert_eq!(faults(&mut b, &[proc(11, 7, 50, 0)], &k, 7), [950, 95]);
        // A restart resumes from the held entries.
        let held: BTreeMap<u32, TaskHeld> = b.take_changed().into_iter().collect();
        let mut again = Book::new(held, PAGE);
        assert_eq!(faults(&mut again, &[proc(11, 7, 60, 0)], &k, 7), [960, 96]);
    }

    #[test]
    fn never_reports_less_than_before() {
        let mut b = Book::new(BTreeMap::new(), PAGE);
        assert_eq!(
            faults(&mut b, &[proc(10, 7, 500, 0)], &kernel(&[], &[]), 7),
            [500, 50]
        );
        // A pid reused before a read: the old process's map entry is mixed in.
        let mut p = proc(10, 7, 10, 0);
        p.start += 1;
        assert_eq!(
            faults(&mut b, &[p], &kernel(&[], &[(10, dead(7, 400, 0))]), 7),
            [500, 50]
        );
    }

    #[test]
    fn peaks_bracket_the_simultaneous_sum() {
        let mut b = Book::new(BTreeMap::new(), PAGE);
        b.set_epoch(1);
        let none = kernel(&[], &[]);
        let (t, _) = b.update(&[proc(10, 7, 1, 4000), proc(11, 7, 1, 6000)], &none, true);
        assert_eq!((t[&7].rss, t[&7].peak), ([10000, 0, 0], [10000, 10000]));
        // One grew to 9000 between reads and fell back: only its VmHWM tells.
        let mut p = proc(10, 7, 1, 1000);
        p.hwm = 9000;
        let (t, _) = b.update(&[p, proc(11, 7, 1, 6000)], &none, true);
        assert_eq!(t[&7].peak, [10000, 15000]);
        // Process 11 ends at a peak of 3 pages more than seen: hi keeps it.
        let k = kernel(&[], &[(11, dead(7, 1, 6000 / PAGE + 3))]);
        let (t, _) = b.update(&[p], &k, true);
        assert_eq!(t[&7].peak, [10000, 9000 + (6000 / PAGE + 3) * PAGE]);
        // A process that began and ended between reads counts its maxrss.
        let k = kernel(&[], &[(12, dead(7, 1, 10))]);
        let (t, _) = b.update(&[p], &k, true);
        assert_eq!(t[&7].peak[1], 9000 + (6000 / PAGE + 3) * PAGE + 10 * PAGE);
        // clear_refs lowered VmHWM: the process is bounded by its VmPeak
        // (16000, from its first read) from then on.
        let mut r = p;
        r.hwm = 1000;
        b.set_epoch(2);
        let (t, _) = b.update(&[r], &none, true);
        assert_eq!(t[&7].peak, [1000, 16000]);
    }

    #[test]
    fn an_end_with_no_peak_at_exit_leaves_hi_unknown_for_the_generation() {
        let mut b = Book::new(BTreeMap::new(), PAGE).maxrss_unknown();
        b.set_epoch(1);
        let none = kernel(&[], &[]);
        let (t, _) = b.update(&[proc(10, 7, 1, 4000), proc(11, 8, 1, 6000)], &none, true);
        assert_eq!((t[&7].peak, t[&8].peak), ([4000, 4000], [6000, 6000]));
        // 11 ends: it may have grown after its last read, unseen.
        let k = kernel(&[], &[(11, dead(8, 1, 0))]);
        let (t, _) = b.update(&[proc(10, 7, 1, 4000)], &k, true);
        assert_eq!((t[&7].peak, t[&8].peak), ([4000, 4000], [6000, u64::MAX]));
        // Also one that began and ended between reads, for UID 7.
        let k = kernel(&[], &[(12, dead(7, 1, 0))]);
        let (t, _) = b.update(&[proc(10, 7, 1, 4000)], &k, true);
        assert_eq!(t[&7].peak, [4000, u64::MAX]);
        // A new generation starts with what is known again.
        b.set_epoch(2);
        let (t, _) = b.update(&[proc(10, 7, 1, 4000)], &none, true);
        assert_eq!(t[&7].peak, [4000, 4000]);
        // With the peak at exit read, an end is bounded by it.
        let mut known = Book::new(BTreeMap::new(), PAGE);
        known.update(&[proc(11, 8, 1, 6000)], &none, true);
        let k = kernel(&[], &[(11, dead(8, 1, 0))]);
        let (t, _) = known.update(&[], &k, true);
        assert_eq!(t[&8].peak, [6000, 6000]);
        // An end the exit program did not see is unbounded either way.
        known.set_epoch(3);
        known.update(&[proc(13, 8, 1, 6000)], &none, true);
        let (t, _) = known.update(&[], &none, true);
        assert_eq!(t[&8].peak, [6000, u64::MAX]);
    }

    #[test]
    fn a_poll_keeps_unread_counts_and_sums_no_faults() {
        let mut b = Book::new(BTreeMap::new(), PAGE);
        assert_eq!(
            faults(&mut b, &[proc(10, 7, 500, 4096)], &kernel(&[], &[]), 7),
            [500, 50]
        );
        // A thread of 200 exits; the poll finds the sizes unchanged and
        // re-reads nothing: its old pair stays, nothing is summed twice.
        let k = kernel(&[], &[(10, dead(7, 200, 0))]);
        let unread = Process {
            read: false,
            ..proc(10, 7, 500, 4096)
        };
        let (t, done) = b.update(&[unread], &k, false);
        assert_eq!((t[&7].faults, t[&7].rss[0], done), ([0, 0], 4096, vec![]));
        let k = kernel(&[(7, 200)], &[(10, dead(7, 200, 0))]);
        assert_eq!(faults(&mut b, &[proc(10, 7, 530, 4096)], &k, 7), [530, 53]);
        // Gone at a poll: swept, and the next report still counts it all.
        let k = kernel(&[], &[(10, dead(7, 560, 0))]);
        assert_eq!(b.update(&[], &k, false).1, vec![10]);
        assert_eq!(faults(&mut b, &[], &kernel(&[(7, 560)], &[]), 7), [560, 56]);
    }

    #[test]
    fn uids_beyond_the_table_are_summed_in_other() {
        let mut b = Book::new(BTreeMap::new(), PAGE);
        let procs: Vec<Process> = (0..UIDS as u32 + 2)
            .map(|i| proc(10 + i, 1000 + i, 10, 4096))
            .collect();
        let (t, _) = b.update(&procs, &kernel(&[], &[]), true);
        let (mine, other, over) = b.split(t);
        assert_eq!((mine.len(), over), (UIDS, 2));
        assert_eq!(other.faults, [20, 2]);
        assert_eq!((other.rss[0], other.peak), (8192, [4096, 8192]));
        // Those seen first keep their rows; a held entry each.
        assert!(mine.contains_key(&1000) && !mine.contains_key(&(1000 + UIDS as u32)));
        assert_eq!(b.take_changed().len(), UIDS);
        // A restart resumes the same table from the held entries.
        let held: BTreeMap<u32, TaskHeld> = (1000..1000 + UIDS as u32)
            .map(|u| (u, TaskHeld::default()))
            .collect();
        let mut again = Book::new(held, PAGE);
        let (t, _) = again.update(&procs[1..], &kernel(&[], &[]), true);
        let (mine, _, over) = again.split(t);
        assert_eq!((mine.len(), over), (UIDS - 1, 2));
    }
}

//! The syscall probe group on the real kernel: loaded by the host loader into
//! a private bpffs, read back through its pins the way memstatd does on a
//! device, against workloads with exactly known syscalls run as dedicated UIDs.
//!
//! Every test uses UIDs of its own (61xxx, 670xx) so that tests running in
//! parallel never see each other's calls. Each loaded copy counts every syscall on the
//! machine, so the test that fills a map lives in its own binary (map_full.rs):
//! cargo runs test binaries one at a time.

use memstat_tests::hostile::{slot_counts, take_every_slot};
use memstat_tests::{kernel, load_builtin, wait_ok, Bpffs, Workload};
use memstatd::abi::{self, syscalls, SyscallCounts, LATENCY_BUCKETS};
use memstatd::probes::syscalls::SyscallProbe;
use std::path::Path;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");
const GETPPID: u32 = libc::SYS_getppid as u32;
const FCHDIR: u32 = libc::SYS_fchdir as u32;
const NANOSLEEP: u32 = libc::SYS_nanosleep as u32;

fn counts(count: u64, errors: u64) -> SyscallCounts {
    SyscallCounts { count, errors }
}

fn cpus() -> u64 {
    memstatd::bpf::possible_cpus().unwrap() as u64
}

#[test]
fn counts_are_exact_for_two_uids_at_once() {
    let Some(k) = kernel("counts_are_exact_for_two_uids_at_once") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    load_builtin(fs.path(), syscalls::OBJECT);
    let probe = SyscallProbe::open(fs.path(), &k.tracefs).unwrap();

    let (uid_a, uid_b) = (61001, 61002);
    let a = Workload::new()
        .getppid(12_345)
        .badfd(678)
        .spawn_as(Path::new(WORKLOAD), uid_a);
    let b = Workload::new()
        .badfd(4_321)
        .getppid(987)
        .spawn_as(Path::new(WORKLOAD), uid_b);
    wait_ok(a);
    wait_ok(b);

    let s = probe.read().unwrap();
    assert_eq!(s.get(uid_a, GETPPID), counts(12_345, 0));
    assert_eq!(s.get(uid_a, FCHDIR), counts(678, 678));
    assert_eq!(s.get(uid_b, GETPPID), counts(987, 0));
    assert_eq!(s.get(uid_b, FCHDIR), counts(4_321, 4_321));
    assert_eq!(s.overflow.count, 0, "nothing may overflow in this test");
}

#[test]
fn counts_survive_reopening_the_pins() {
    let Some(k) = kernel("counts_survive_reopening_the_pins") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    load_builtin(fs.path(), syscalls::OBJECT);
    let uid = 61011;

    let first = SyscallProbe::open(fs.path(), &k.tracefs).unwrap();
    wait_ok(
        Workload::new()
            .getppid(100)
            .spawn_as(Path::new(WORKLOAD), uid),
    );
    drop(first); // detaches: nothing is counted while no reader holds the attachment
    wait_ok(
        Workload::new()
            .getppid(1_000)
            .spawn_as(Path::new(WORKLOAD), uid),
    );

    let second = SyscallProbe::open(fs.path(), &k.tracefs).unwrap();
    wait_ok(
        Workload::new()
            .getppid(10)
            .spawn_as(Path::new(WORKLOAD), uid),
    );
    assert_eq!(second.read().unwrap().get(uid, GETPPID), counts(110, 0));
}

#[test]
fn latency_mode_times_every_call_and_switches_off() {
    let Some(k) = kernel("latency_mode_times_every_call_and_switches_off") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    load_builtin(fs.path(), syscalls::OBJECT);
    let mut probe = SyscallProbe::open(fs.path(), &k.tracefs).unwrap();
    let (uid_on, uid_off) = (61021, 61022);

    probe.set_latency(true).unwrap();
    assert!(probe.latency_on());
    wait_ok(
        Workload::new()
            .sleep(5, 10)
            .getppid(1_000)
            .spawn_as(Path::new(WORKLOAD), uid_on),
    );
    let s = probe.read().unwrap();
    assert!(s.latency_on);
    let hist = s.latency_of(uid_on).expect("a histogram for the UID");
    // The workload started after latency mode was on, so every call it made
    // that returned was timed: the histogram holds exactly its call count.
    assert_eq!(hist.buckets.iter().sum::<u64>(), s.uid_total(uid_on).count);
    assert_eq!(s.get(uid_on, NANOSLEEP), counts(5, 0));
    // 10 ms sleeps land in [2^23, 2^24) ns = [8.4, 16.8) ms, or just above.
    let slow: u64 = hist.buckets[23..].iter().sum();
    assert!(
        slow >= 5,
        "5 sleeps of 10 ms, {slow} samples >= 8.4 ms: {:?}",
        hist.buckets
    );
    assert_eq!(hist.buckets.len(), LATENCY_BUCKETS);

    probe.set_latency(false).unwrap();
    assert!(!probe.latency_on());
    wait_ok(
        Workload::new()
            .sleep(2, 1)
            .getppid(10)
            .spawn_as(Path::new(WORKLOAD), uid_off),
    );
    let s = probe.read().unwrap();
    assert!(!s.latency_on);
    assert_eq!(s.get(uid_off, GETPPID), counts(10, 0), "counting goes on");
    assert!(
        s.latency_of(uid_off).is_none(),
        "no histogram once latency mode is off"
    );
}

/// Far above any row's width: the shared table counts these.
const ENOSYS_BASE: u64 = 100_000;
/// ARM's private calls (cacheflush to set_tls) are numbered from 0xf0001.
const ARM_PRIVATE: u64 = 0xf_0001;

#[test]
fn a_uid_counts_exactly_before_and_after_it_claims_a_row() {
    let Some(k) = kernel("a_uid_counts_exactly_before_and_after_it_claims_a_row") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    load_builtin(fs.path(), syscalls::OBJECT);
    let probe = SyscallProbe::open(fs.path(), &k.tracefs).unwrap();
    let uid = 67001;
    // The first getppid calls count in the pair's slot (or the shared table)
    // until ROW_CLAIM_AT of them are counted there on one CPU, the rest in
    // the row the UID then claims; numbers past a row's width stay in the
    // shared table.
    // Claims count per CPU: enough however the calls spread over the CPUs.
    let calls = (cpus() + 2) * syscalls::ROW_CLAIM_AT + 7;
    wait_ok(
        Workload::new()
            .getppid(calls)
            .badfd(11)
            .enosys(ENOSYS_BASE, 3)
            .enosys(ARM_PRIVATE, 6)
            .spawn_as(Path::new(WORKLOAD), uid),
    );

    let s = probe.read().unwrap();
    assert_eq!(s.get(uid, GETPPID), counts(calls, 0));
    assert_eq!(s.get(uid, FCHDIR), counts(11, 11));
    for nr in (ENOSYS_BASE..ENOSYS_BASE + 3).chain(ARM_PRIVATE..ARM_PRIVATE + 6) {
        assert_eq!(s.get(uid, nr as u32), counts(1, 1), "nr {nr:#x}");
    }
    // Rows are claimed by whichever UIDs get busy first, on the whole machine.
    assert!(
        s.row_uids.contains(&uid) || s.row_uids.len() == syscalls::ROWS as usize,
        "a busy UID has a row unless every row is taken: {:?}",
        s.row_uids
    );
    assert_eq!(s.overflow.count, 0, "nothing may overflow in this test");
}

#[test]
fn pairs_whose_slot_is_taken_count_in_the_shared_table() {
    let Some(k) = kernel("pairs_whose_slot_is_taken_count_in_the_shared_table") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    load_builtin(fs.path(), syscalls::OBJECT);
    let probe = SyscallProbe::open(fs.path(), &k.tracefs).unwrap();
    let uid = 61061;
    // Fewer calls than a row claim: the UID's pairs live in slots.
    wait_ok(
        Workload::new()
            .getppid(500)
            .badfd(7)
            .spawn_as(Path::new(WORKLOAD), uid),
    );
    let before = probe.read().unwrap();
    assert_eq!(before.get(uid, GETPPID), counts(500, 0));
    assert_eq!(before.get(uid, FCHDIR), counts(7, 7));
    // Its getppid calls are in the pair's slot where it took one (another
    // pair of the machine may have reached a slot first on a CPU).
    let slots = abi::map_pin(fs.path(), syscalls::OBJECT, syscalls::MAP_SLOTS);
    let mine = slot_counts(&slots, uid, GETPPID);
    let in_slots: u64 = mine.iter().sum();
    assert!((1..=500).contains(&in_slots), "{mine:?}");
    // Every free slot of every CPU taken by another pair: a UID with no
    // slot yet counts in the shared table, the first one in its slots or
    // there, and both exactly.
    take_every_slot(&slots);
    let other = 61062;
    for (u, n) in [(uid, 200), (other, 300)] {
        wait_ok(
            Workload::new()
                .getppid(n)
                .badfd(5)
                .spawn_as(Path::new(WORKLOAD), u),
        );
    }
    let s = probe.read().unwrap();
    assert_eq!(s.get(uid, GETPPID), counts(700, 0));
    assert_eq!(s.get(uid, FCHDIR), counts(12, 12));
    assert_eq!(s.get(other, GETPPID), counts(300, 0));
    assert_eq!(s.get(other, FCHDIR), counts(5, 5));
    assert_eq!(slot_counts(&slots, other, GETPPID), Vec::<u64>::new());
    // The first UID kept its slots, and may have counted more in them.
    let now = slot_counts(&slots, uid, GETPPID);
    assert!(
        now.len() == mine.len() && now.iter().zip(&mine).all(|(n, m)| n >= m),
        "{mine:?} then {now:?}"
    );
    assert_eq!(s.overflow.count, 0);
}

#[test]
fn a_burst_of_new_uids_beyond_the_rows_is_counted_exactly() {
    let Some(k) = kernel("a_burst_of_new_uids_beyond_the_rows_is_counted_exactly") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    load_builtin(fs.path(), syscalls::OBJECT);
    let probe = SyscallProbe::open(fs.path(), &k.tracefs).unwrap();
    // Twice as many UIDs as rows, all busy enough to claim one, at once.
    let uids: Vec<u32> = (67010..).take(2 * syscalls::ROWS as usize).collect();
    let calls = (cpus() + 1) * syscalls::ROW_CLAIM_AT + 13;
    let children: Vec<_> = uids
        .iter()
        .map(|&uid| {
            Workload::new()
                .getppid(calls)
                .badfd(uid as u64 % 100)
                .getppid(calls)
                .spawn_as(Path::new(WORKLOAD), uid)
        })
        .collect();
    children.into_iter().for_each(wait_ok);

    let s = probe.read().unwrap();
    for &uid in &uids {
        assert_eq!(s.get(uid, GETPPID), counts(2 * calls, 0), "uid {uid}");
        let bad = uid as u64 % 100;
        assert_eq!(s.get(uid, FCHDIR), counts(bad, bad), "uid {uid}");
    }
    assert_eq!(
        s.row_uids.len(),
        syscalls::ROWS as usize,
        "every row is taken"
    );
    let mut owners = s.row_uids.clone();
    owners.dedup();
    assert_eq!(owners, s.row_uids, "a UID holds one row at most");
    let without_row = uids.iter().filter(|u| !s.row_uids.contains(u)).count();
    assert!(without_row >= syscalls::ROWS as usize, "{:?}", s.row_uids);
    assert_eq!(
        s.overflow.count, 0,
        "the shared table had room for the rest"
    );
}

/// Changes the calling thread's UIDs only (libc's setresuid would change
/// every thread's), keeping saved UID 0 so that it may become root again.
fn set_thread_uid(uid: u32) {
    setresuid(uid, uid, 0);
}

/// Effective UID 0 again (from the saved one), real UID unchanged: what a
/// thread needs before it may take another UID.
fn regain_root() {
    setresuid(u32::MAX, 0, u32::MAX);
}

fn setresuid(r: u32, e: u32, s: u32) {
    // SAFETY: setresuid takes three integers (-1: unchanged).
    let ret = unsafe { libc::syscall(libc::SYS_setresuid, r, e, s) };
    let err = std::io::Error::last_os_error();
    assert_eq!(ret, 0, "setresuid({r}, {e}, {s}): {err}");
}

fn getppid(n: u64) {
    for _ in 0..n {
        // SAFETY: getppid takes no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
}

fn pin_thread_to_cpu0() {
    // SAFETY: set is a zeroed cpu_set_t; CPU_SET stays within it; 0 is this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        assert_eq!(
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
            0
        );
    }
}

const SETRESUID: u32 = libc::SYS_setresuid as u32;

#[test]
fn a_thread_that_changes_its_uid_is_counted_under_each_exactly() {
    let Some(k) = kernel("a_thread_that_changes_its_uid_is_counted_under_each_exactly") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    load_builtin(fs.path(), syscalls::OBJECT);
    let probe = SyscallProbe::open(fs.path(), &k.tracefs).unwrap();
    let (uid_a, uid_b) = (61041, 61042);
    // One thread on one CPU: its calls follow each other there, so the CPU's
    // cache holds the thread, with its old UID, when setresuid returns.
    std::thread::spawn(move || {
        pin_thread_to_cpu0();
        getppid(1_000);
        set_thread_uid(uid_a);
        getppid(12_345);
        regain_root();
        set_thread_uid(uid_b);
        getppid(6_789);
        regain_root();
        set_thread_uid(0);
    })
    .join()
    .unwrap();

    let s = probe.read().unwrap();
    // Each setresuid counts under the real UID it returns with (the one that
    // takes the UID, and the one that regains root); nothing else ran under
    // either UID.
    assert_eq!(s.get(uid_a, GETPPID), counts(12_345, 0));
    assert_eq!(s.get(uid_a, SETRESUID), counts(2, 0));
    assert_eq!(s.uid_total(uid_a), counts(12_347, 0));
    assert_eq!(s.get(uid_b, GETPPID), counts(6_789, 0));
    assert_eq!(s.get(uid_b, SETRESUID), counts(2, 0));
    assert_eq!(s.uid_total(uid_b), counts(6_791, 0));
}

#[test]
fn short_lived_threads_of_two_uids_are_counted_exactly() {
    let Some(k) = kernel("short_lived_threads_of_two_uids_are_counted_exactly") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    load_builtin(fs.path(), syscalls::OBJECT);
    let probe = SyscallProbe::open(fs.path(), &k.tracefs).unwrap();
    let (uid_a, uid_b) = (61051, 61052);
    // Pairs of threads, one per UID, each created, counting and gone while
    // the next pair starts: new tids all the time, on both CPUs.
    let rounds = 300u64;
    let calls = |round: u64, uid: u32| 50 + (round * 7 + u64::from(uid)) % 100;
    for round in 0..rounds {
        let pair: Vec<_> = [uid_a, uid_b]
            .into_iter()
            .map(|uid| {
                std::thread::spawn(move || {
                    set_thread_uid(uid);
                    getppid(calls(round, uid));
                })
            })
            .collect();
        pair.into_iter().for_each(|t| t.join().unwrap());
    }

    let s = probe.read().unwrap();
    for uid in [uid_a, uid_b] {
        let expected: u64 = (0..rounds).map(|r| calls(r, uid)).sum();
        assert_eq!(s.get(uid, GETPPID), counts(expected, 0), "uid {uid}");
        assert_eq!(s.get(uid, SETRESUID), counts(rounds, 0), "uid {uid}");
    }
    assert_eq!(s.overflow.count, 0, "nothing may overflow in this test");
}

//! The syscall probe group on the real kernel: loaded by the host loader into
//! a private bpffs, read back through its pins the way memstatd does on a
//! device, against workloads with exactly known syscalls run as dedicated UIDs.
//!
//! Every test uses UIDs of its own (61xxx) so that tests running in parallel
//! never see each other's calls. Each loaded copy counts every syscall on the
//! machine, so the test that fills a map lives in its own binary (map_full.rs):
//! cargo runs test binaries one at a time.

use memstat_tests::{kernel, load_builtin, wait_ok, Bpffs, Workload};
use memstatd::abi::{syscalls, SyscallCounts, LATENCY_BUCKETS};
use memstatd::probes::syscalls::SyscallProbe;
use std::path::Path;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");
const GETPPID: u32 = libc::SYS_getppid as u32;
const FCHDIR: u32 = libc::SYS_fchdir as u32;
const NANOSLEEP: u32 = libc::SYS_nanosleep as u32;

fn counts(count: u64, errors: u64) -> SyscallCounts {
    SyscallCounts { count, errors }
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

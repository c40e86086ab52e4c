//! A full map on the real kernel: calls that find no room keep counting in the
//! overflow bucket. Alone in its binary because it fills every loaded copy's
//! map, not only its own.

use memstat_tests::{kernel, load_builtin, wait_ok, Bpffs, Workload};
use memstatd::abi::{syscalls, SyscallCounts};
use memstatd::probes::syscalls::SyscallProbe;
use std::path::Path;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");
/// Far above any real syscall number on every architecture.
const ENOSYS_BASE: u64 = 100_000;

#[test]
fn a_full_map_sends_calls_to_the_overflow_bucket() {
    let Some(k) = kernel("a_full_map_sends_calls_to_the_overflow_bucket") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    load_builtin(fs.path(), syscalls::OBJECT);
    let probe = SyscallProbe::open(fs.path(), &k.tracefs).unwrap();
    let uid = 61031;
    let capacity = u64::from(syscalls::COUNTS_ENTRIES);
    // More distinct (uid, syscall) pairs than the map holds: one call each.
    let calls = capacity + 500;
    wait_ok(
        Workload::new()
            .enosys(ENOSYS_BASE, calls)
            .spawn_as(Path::new(WORKLOAD), uid),
    );

    let s = probe.read().unwrap();
    assert_eq!(s.counts.len() as u64, capacity, "the map is exactly full");
    assert_eq!(s.counts_capacity as u64, capacity);
    let ours: Vec<_> = s
        .counts
        .iter()
        .filter(|(k, _)| k.uid == uid && u64::from(k.nr) >= ENOSYS_BASE)
        .collect();
    for (key, c) in &ours {
        assert_eq!(
            *c,
            SyscallCounts {
                count: 1,
                errors: 1
            },
            "nr {}: one failing call",
            key.nr
        );
    }
    let unattributed = calls - ours.len() as u64;
    assert!(unattributed >= 500);
    // Every call without an entry is in the overflow bucket (with those of
    // other UIDs that came after the map filled), and each counts as a drop.
    assert!(
        s.overflow.count >= unattributed,
        "overflow {} < {unattributed}",
        s.overflow.count
    );
    assert!(s.overflow.errors >= unattributed);
}

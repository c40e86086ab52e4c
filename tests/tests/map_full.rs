//! A full shared table on the real kernel: calls that find no row, no slot
//! and no room keep counting in the overflow bucket. Alone in its binary because it fills
//! every loaded copy's table, not only its own.

use memstat_tests::hostile::take_every_slot;
use memstat_tests::{kernel, load_builtin, wait_ok, Bpffs, Workload};
use memstatd::abi::{self, syscalls, SyscallCounts};
use memstatd::probes::syscalls::SyscallProbe;
use std::path::Path;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");
/// Far above any real syscall number on every architecture.
const ENOSYS_BASE: u64 = 100_000;

#[test]
fn a_full_table_sends_calls_to_the_overflow_bucket_until_a_row_is_claimed() {
    let Some(k) = kernel("a_full_table_sends_calls_to_the_overflow_bucket_until_a_row_is_claimed")
    else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    load_builtin(fs.path(), syscalls::OBJECT);
    let probe = SyscallProbe::open(fs.path(), &k.tracefs).unwrap();
    // A UID busy enough to claim a row before the shared table fills.
    let (uid, busy) = (61031, 61032);
    // Enough to claim on some CPU however the calls spread over them.
    let cpus = memstatd::bpf::possible_cpus().unwrap() as u64;
    let early = (cpus + 1) * syscalls::ROW_CLAIM_AT;
    wait_ok(
        Workload::new()
            .getppid(early)
            .spawn_as(Path::new(WORKLOAD), busy),
    );
    let rows = probe.read().unwrap().row_uids;
    assert!(rows.contains(&busy), "{busy} has no row: {rows:?}");
    assert!(
        rows.len() < syscalls::ROWS as usize,
        "every row is taken: {rows:?}"
    );

    let capacity = u64::from(syscalls::COUNTS_ENTRIES);
    // More distinct (uid, syscall) pairs than the shared table holds, one
    // call each, all past a row's width.
    let calls = capacity + 500;
    wait_ok(
        Workload::new()
            .enosys(ENOSYS_BASE, calls)
            .spawn_as(Path::new(WORKLOAD), uid),
    );
    // After the table filled, and every per-CPU slot is taken too: the UID
    // with a row goes on in it, and the one that filled the table claims a
    // row as soon as a call of its finds no slot and no room, and counts
    // that call there.
    take_every_slot(&abi::map_pin(
        fs.path(),
        syscalls::OBJECT,
        syscalls::MAP_SLOTS,
    ));
    for u in [busy, uid] {
        wait_ok(
            Workload::new()
                .getppid(1_000)
                .spawn_as(Path::new(WORKLOAD), u),
        );
    }

    let s = probe.read().unwrap();
    assert_eq!(s.table_used as u64, capacity, "the table is exactly full");
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
    // other UIDs with no row that came after the table filled), and each
    // counts as a drop.
    assert!(
        s.overflow.count >= unattributed,
        "overflow {} < {unattributed}",
        s.overflow.count
    );
    assert!(s.overflow.errors >= unattributed);
    // A row needs no room in the shared table.
    let getppid = libc::SYS_getppid as u32;
    assert_eq!(
        s.get(busy, getppid),
        SyscallCounts {
            count: early + 1_000,
            errors: 0
        }
    );
    assert!(
        s.row_uids.contains(&uid),
        "{uid} has no row: {:?}",
        s.row_uids
    );
    assert_eq!(
        s.get(uid, getppid),
        SyscallCounts {
            count: 1_000,
            errors: 0
        }
    );
}

//! The per-app memory cgroup source end to end: memstatd in host mode on the
//! real kernel with `--app-memcg` on a tree laid out as the platform's
//! (`apps/uid_<N>/pid_<M>`, in whichever hierarchy has the memory
//! controller), workloads of UIDs 69601 and 69602 inside it, 69603 outside.
//!
//! Truths: a process's faults between two stops, from /proc/<pid>/stat (the
//! task's own counters, independent of the controller); and what the
//! kernel's cgroups counted, read by the test from their files. The kernel
//! flushes its per-CPU memcg counts at least every 2 s, so reads wait for
//! that after the workloads stop.

use memstat_tests::app_cgroups::AppCgroups;
use memstat_tests::{kernel, Bpffs, Daemon, Interactive, TempDir, Workload};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");
const FLUSHED: Duration = Duration::from_millis(2500);
const MIB: u64 = 1 << 20;

/// minflt + majflt of a live process.
fn proc_faults(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = after.split(' ').map(|w| w.parse().unwrap_or(0)).collect();
    // Fields 10 and 12 of stat; `after` starts at field 3.
    f[7] + f[9]
}

/// The faults group's JSON section.
fn faults_section(d: &Daemon, uids: &[u32]) -> Value {
    let list = uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let r = d.memstat(&["--json", "--section", "faults", "--uid", &list]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    j["memory"]
        .as_array()
        .and_then(|a| a.iter().find(|g| g["group"] == "faults"))
        .cloned()
        .unwrap_or_else(|| panic!("no faults section in {j}"))
}

/// A UID's `memcg.all` and the bucket of no UID's (which shows only what is
/// not zero), from one report.
fn memcg_all(d: &Daemon, uid: u32) -> (u64, u64) {
    let g = faults_section(d, &[uid]);
    let row = g["uids"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["uid"] == uid))
        .unwrap_or_else(|| panic!("no uid {uid} in {g}"));
    let mine = row["metrics"]["memcg.all"].as_u64();
    let other = g["other"]["memcg.all"].as_u64().unwrap_or(0);
    (
        mine.unwrap_or_else(|| panic!("no memcg.all for {uid}: {g}")),
        other,
    )
}

fn stopped(w: &mut Interactive) {
    w.pause();
}

#[test]
fn app_cgroups_count_exactly_through_their_removal() {
    if kernel("app_cgroups_count_exactly_through_their_removal").is_none() {
        return;
    }
    let apps = AppCgroups::new().unwrap();
    let (dir, pins) = (TempDir::new("app_memcg"), Bpffs::new().unwrap());
    // No poll between reports: what a removal loses is then known.
    let d = Daemon::start(
        dir.path(),
        &[
            "--host".as_ref(),
            "--pin-root".as_ref(),
            pins.path().as_os_str(),
            "--app-memcg".as_ref(),
            apps.root().as_os_str(),
            "--memcg-poll".as_ref(),
            "3600".as_ref(),
        ],
    );
    let exe = Path::new(WORKLOAD);
    let (a_uid, b_uid, outside) = (69601, 69602, 69603);
    let touch = |n| Workload::new().wait().touch(n).wait();
    let mut a = apps.start(a_uid, "pid_a", &touch(3000), exe);
    let mut b = apps.start(b_uid, "pid_b", &touch(1000), exe);
    stopped(&mut a);
    stopped(&mut b);
    std::thread::sleep(FLUSHED);
    let truth0 = [proc_faults(a.pid()), proc_faults(b.pid())];
    let seen0 = [memcg_all(&d, a_uid).0, memcg_all(&d, b_uid).0];
    a.resume();
    b.resume();
    stopped(&mut a);
    stopped(&mut b);
    std::thread::sleep(FLUSHED);
    let truth1 = [proc_faults(a.pid()), proc_faults(b.pid())];
    let (seen_a, other) = memcg_all(&d, a_uid);
    let seen1 = [seen_a, memcg_all(&d, b_uid).0];
    for i in 0..2 {
        assert!(
            truth1[i] - truth0[i] >= [3000, 1000][i],
            "{truth0:?} {truth1:?}"
        );
        assert_eq!(
            seen1[i] - seen0[i],
            truth1[i] - truth0[i],
            "uid {}: memcg.all went {} -> {}, its process's faults {} -> {}",
            [a_uid, b_uid][i],
            seen0[i],
            seen1[i],
            truth0[i],
            truth1[i]
        );
    }
    // Whole: what the UID's cgroup counted, and nothing in apps/ unseen.
    assert_eq!(seen1[0], apps.stat(&apps.uid_dir(a_uid), "pgfault"));
    assert_eq!(other, 0, "apps/ counted faults no UID's cgroup showed");

    // Charged bytes: a process holding 16 MiB of anon memory.
    let mut hog = apps.start(a_uid, "pid_hog", &Workload::new().hog(16 * MIB), exe);
    while hog.read_line().is_some_and(|l| !l.starts_with("hog done")) {}
    let m = d.group_metrics("rss", a_uid);
    let (anon, total) = (m["charged.anon"], m["charged.total"]);
    assert!(
        (16 * MIB..20 * MIB).contains(&anon) && total >= anon,
        "charged.anon {anon}, charged.total {total}: {m:?}"
    );
    // A UID with no app cgroup has no memcg numbers, not zeros.
    Workload::new().touch(10).run_as(exe, outside);
    let g = faults_section(&d, &[outside]);
    let row = &g["uids"][0];
    assert_eq!(row["uid"], outside, "{g}");
    assert!(row["metrics"]["minor"].as_u64() >= Some(10), "{g}");
    assert!(row["metrics"].get("memcg.all").is_none(), "{g}");
    let m = d.group_metrics("rss", outside);
    assert!(!m.contains_key("charged.total"), "{m:?}");

    // The app ends and its cgroups go, after a last read, as the platform
    // removes them; a last process ran between that read and the removal.
    a.end(Duration::from_secs(10));
    hog.end(Duration::ZERO);
    std::thread::sleep(FLUSHED);
    let (last, other) = memcg_all(&d, a_uid);
    assert_eq!(last, apps.stat(&apps.uid_dir(a_uid), "pgfault"));
    assert_eq!(other, 0);
    apps.start(a_uid, "pid_late", &Workload::new().touch(500), exe)
        .finish();
    std::thread::sleep(FLUSHED);
    let late = apps.stat(&apps.pid_dir(a_uid, "pid_late"), "pgfault");
    assert!(late >= 500, "{late}");
    for pid in ["pid_a", "pid_hog", "pid_late"] {
        apps.remove(&apps.pid_dir(a_uid, pid));
    }
    apps.remove(&apps.uid_dir(a_uid));
    // Never back; what no read saw is in the bucket of no UID, exactly.
    assert_eq!(memcg_all(&d, a_uid), (last, late));
    let r = d.memstat(&["--section", "faults", "--uid", &a_uid.to_string()]);
    let bucket = format!(
        "per-app cgroups' faults no read of a UID's cgroup saw, together: memcg.all {late}"
    );
    assert!(
        r.stdout.contains("MEMCG ALL") && r.stdout.contains(&bucket),
        "{}",
        r.stdout
    );
    let m = d.group_metrics("rss", a_uid);
    assert!(
        !m.contains_key("charged.total"),
        "no cgroup, no bytes: {m:?}"
    );
    // A gate on these faults cannot pass: some were counted for no UID.
    let r = d.memstat(&["--fail-if", "faults.memcg.all>1000000000"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("CANNOT TELL"), "{}", r.stdout);

    // The app starts again in a new cgroup: its counts add on.
    apps.start(a_uid, "pid_again", &Workload::new().touch(200), exe)
        .finish();
    std::thread::sleep(FLUSHED);
    let again = apps.stat(&apps.uid_dir(a_uid), "pgfault");
    assert!(again >= 200, "{again}");
    assert_eq!(memcg_all(&d, a_uid), (last + again, late));
    b.end(Duration::from_secs(10));

    let r = d.memstat(&["--section", "probes"]);
    assert!(
        r.stdout.contains("per-app memory cgroups (cgroup v")
            && r.stdout
                .contains(&format!("{}/apps/uid_<N>", apps.root().display())),
        "{}",
        r.stdout
    );
}

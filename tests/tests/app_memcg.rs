//! The per-app memory cgroup source end to end: memstatd in host mode on the
//! real kernel with `--app-memcg` on a tree laid out as the platform's
//! (`apps/uid_<N>/pid_<M>`, in whichever hierarchy has the memory
//! controller), workloads of UIDs 69601 and 69602 inside it, 69603 outside.
//! The truth is what the kernel's cgroup files say, read by the test around
//! memstat's read, while the workloads hold still.

use memstat_tests::app_cgroups::AppCgroups;
use memstat_tests::memcg::Hierarchy;
use memstat_tests::{kernel, Bpffs, Daemon, TempDir, Workload};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");
const MIB: u64 = 1 << 20;

/// The kernel's charged bytes of a cgroup, as memstat names them.
fn kernel_charged(apps: &AppCgroups, dir: &Path) -> BTreeMap<String, u64> {
    let (total, anon, file) = match apps.hierarchy() {
        Hierarchy::V1 => ("memory.usage_in_bytes", "rss", "cache"),
        Hierarchy::V2 => ("memory.current", "anon", "file"),
    };
    let total = std::fs::read_to_string(dir.join(total)).unwrap();
    let shmem = apps.stat(dir, "shmem");
    [
        ("charged.anon", apps.stat(dir, anon)),
        ("charged.file", apps.stat(dir, file) - shmem),
        ("charged.shmem", shmem),
        ("charged.total", total.trim().parse().unwrap()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// memstat's `charged.*` of a UID, with the kernel's read just before and
/// just after, once the two agree (the cgroup held still).
fn charged(
    d: &Daemon,
    apps: &AppCgroups,
    uid: u32,
) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let dir = apps.uid_dir(uid);
    for _ in 0..20 {
        let before = kernel_charged(apps, &dir);
        let m = d.group_metrics("rss", uid);
        if kernel_charged(apps, &dir) == before {
            let mine = m
                .into_iter()
                .filter(|(k, _)| k.starts_with("charged."))
                .collect();
            return (mine, before);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("uid {uid}'s cgroup never held still for a read");
}

fn generation(d: &Daemon) -> serde_json::Value {
    let r = d.memstat(&["--json", "--uid", "69601"]);
    r.json()["header"]["generation"].clone()
}

#[test]
fn app_cgroups_show_their_charged_bytes_while_they_exist() {
    if kernel("app_cgroups_show_their_charged_bytes_while_they_exist").is_none() {
        return;
    }
    let apps = AppCgroups::new().unwrap();
    let (dir, pins) = (TempDir::new("app_memcg"), Bpffs::new().unwrap());
    let d = Daemon::host_with(
        dir.path(),
        pins.path(),
        &["--app-memcg".as_ref(), apps.root().as_os_str()],
    );
    let exe = Path::new(WORKLOAD);
    let (a_uid, b_uid, outside) = (69601, 69602, 69603);
    // No app cgroup yet: a gate on their numbers has nothing to check.
    let r = d.memstat(&["--fail-if", "rss.charged.total>0"]);
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("no per-app memory cgroup numbers"),
        "{}",
        r.stderr
    );

    let mut hog = apps.start(a_uid, "pid_hog", &Workload::new().hog(16 * MIB), exe);
    while hog.read_line().is_some_and(|l| !l.starts_with("hog done")) {}
    let mut b = apps.start(b_uid, "pid_b", &Workload::new().touch(100).wait(), exe);
    b.pause();
    let generation_before = generation(&d);
    for uid in [a_uid, b_uid] {
        let (mine, truth) = charged(&d, &apps, uid);
        assert_eq!(mine, truth, "uid {uid}");
    }
    let (mine, _) = charged(&d, &apps, a_uid);
    let anon = mine["charged.anon"];
    assert!(
        (16 * MIB..20 * MIB).contains(&anon),
        "16 MiB held: {mine:?}"
    );
    // A UID with no app cgroup has no charged bytes, not zeros.
    Workload::new().touch(10).run_as(exe, outside);
    let m = d.group_metrics("rss", outside);
    assert!(m["total"] == 0 && !m.contains_key("charged.total"), "{m:?}");
    let r = d.memstat(&["--section", "rss", "--uid", &format!("{a_uid},{outside}")]);
    assert!(r.stdout.contains("CHARGED"), "{}", r.stdout);
    // Every UID with a cgroup read: a gate on them decides.
    assert_eq!(
        d.memstat(&["--fail-if", "rss.charged.anon>1000000000000"])
            .code,
        0
    );
    let r = d.memstat(&["--fail-if", &format!("rss.charged.anon>{}", 16 * MIB)]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("uid {a_uid}: rss.charged.anon is {anon}")),
        "{}",
        r.stdout
    );

    // The app ends and its cgroups go, as the platform removes them: its
    // bytes go with them, and the generation stays.
    hog.end(Duration::ZERO);
    apps.remove(&apps.pid_dir(a_uid, "pid_hog"));
    apps.remove(&apps.uid_dir(a_uid));
    let m = d.group_metrics("rss", a_uid);
    assert!(
        !m.contains_key("charged.total"),
        "no cgroup, no bytes: {m:?}"
    );
    assert_eq!(generation(&d), generation_before);
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

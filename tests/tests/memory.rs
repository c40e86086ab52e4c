//! The memory probe groups end to end: memstatd in host mode on the real
//! kernel, workloads as dedicated UIDs (64xxx, one range per test) that stop
//! at `wait` points, so a window between two stops holds exactly the ops
//! between them, free of process start-up and exit.

use memstat_tests::memcg::Memcg;
use memstat_tests::{kernel, page_size, Bpffs, Daemon, Interactive, TempDir, Workload};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");

/// One UID's metrics of one group, as `memstat --json` reports them.
fn metrics(d: &Daemon, group: &str, uid: u32) -> BTreeMap<String, u64> {
    let r = d.memstat(&["--json", "--section", group, "--uid", &uid.to_string()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let g = j["memory"]
        .as_array()
        .and_then(|a| a.iter().find(|g| g["group"] == group))
        .unwrap_or_else(|| panic!("no {group} section in {j}"));
    assert_eq!(g["state"], "live", "{g}");
    let row = g["uids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["uid"] == uid)
        .unwrap_or_else(|| panic!("no uid {uid} in {g}"));
    serde_json::from_value(row["metrics"].clone()).unwrap()
}

/// `after - before`, metric by metric (peaks and percentiles as after).
fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, &v)| {
            let counts = !(k.contains("peak") || k.ends_with("_us") || k.ends_with("_permille"));
            let was = if counts {
                before.get(k).copied().unwrap_or(0)
            } else {
                0
            };
            (k.clone(), v - was)
        })
        .collect()
}

/// The metrics of `group` for `uid` over the ops between the workload's
/// first two `wait`s; the workload then runs to its end.
fn window(d: &Daemon, w: &Workload, uid: u32, group: &str) -> BTreeMap<String, u64> {
    let mut run: Interactive = w.start_as(Path::new(WORKLOAD), uid);
    run.pause();
    let before = metrics(d, group, uid);
    run.resume();
    run.pause();
    let after = metrics(d, group, uid);
    run.finish();
    delta(&before, &after)
}

#[test]
fn memory_syscalls_count_calls_and_bytes_exactly() {
    let Some(_k) = kernel("memory_syscalls_count_calls_and_bytes_exactly") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("memsys"));
    let d = Daemon::host(dir.path(), fs.path());
    assert_eq!(d.memstat(&["--probe", "memsyscalls=on"]).code, 0);
    let w = Workload::new()
        .wait()
        .mmap(100, 65536)
        .mprotect(7, 8192)
        .madvise(5, 4096)
        .mremap(4, 8192)
        .brk(6, 40000)
        .memfd(3)
        .shm(2, 1 << 20)
        .wait();
    let m = window(&d, &w, 64001, "memsyscalls");
    // mprotect, madvise and mremap each map once and unmap once around
    // their calls; mremap's 4 calls end at the size they started with.
    let expect = [
        ("mmap.calls", 103),
        ("mmap.bytes", 100 * 65536 + 8192 + 4096 + 8192),
        ("munmap.calls", 103),
        ("munmap.bytes", 100 * 65536 + 8192 + 4096 + 8192),
        ("mprotect.calls", 7),
        ("mprotect.bytes", 7 * 8192),
        ("madvise.calls", 5),
        ("madvise.bytes", 5 * 4096),
        ("mremap.calls", 4),
        ("mremap.bytes", 2 * 16384 + 2 * 8192),
        // brk(0), six growths of 40000 and the return to the start.
        ("brk.calls", 8),
        ("brk.bytes", 6 * 40000),
        ("memfd_create.calls", 3),
        ("shmget.calls", 2),
        ("shmget.bytes", 2 << 20),
        ("shmat.calls", 2),
        ("shmdt.calls", 2),
        ("shmctl.calls", 2),
    ];
    for (metric, want) in expect {
        assert_eq!(m[metric], want, "{metric} in {m:?}");
    }
}

#[test]
fn touched_pages_fault_and_raise_the_rss_peak() {
    let Some(_k) = kernel("touched_pages_fault_and_raise_the_rss_peak") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("faults"));
    let d = Daemon::host(dir.path(), fs.path());
    for g in ["faults", "rss"] {
        let on = d.memstat(&["--probe", &format!("{g}=on")]);
        assert_eq!(on.code, 0, "{}", on.stderr);
    }
    let n = 3000;
    let w = Workload::new().wait().touch(n).wait();
    let m = window(&d, &w, 64101, "faults");
    // One fault per new page; the op's own code and stack pages and the
    // wait's write add a few (3 on the development machine).
    assert!(
        (n..=n + 64).contains(&m["faults"]),
        "faults {} for {n} pages",
        m["faults"]
    );
    assert_eq!(m["major"], 0, "anonymous pages never wait for I/O");
    assert_eq!(m["minor"], m["faults"]);

    // The peak of the same run: all n pages were resident at once. The
    // kernel's RSS counters are per-CPU and traced in batches, so the
    // peak may lag the truth by a batch per CPU.
    let rss = metrics(&d, "rss", 64101);
    let pages = n * page_size();
    assert!(
        rss["peak_anon"] >= pages - 64 * 4 * page_size() && rss["peak_anon"] < pages + (64 << 20),
        "peak_anon {} for {pages} bytes touched",
        rss["peak_anon"]
    );
    assert!(rss["peak_total"] >= rss["peak_anon"]);

    // Off: the programs are detached and the UID's counts stand still.
    let off = d.memstat(&["--probe", "faults=off"]);
    assert_eq!(off.code, 0, "{}", off.stderr);
    let status = d.memstat(&["--json", "--section", "probes"]).json();
    let line = |g: &str| {
        status["probes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["group"] == g)
            .unwrap()
            .clone()
    };
    assert_eq!(line("faults")["state"], "off");
    for live in ["extfrag", "reclaim", "compaction", "oom", "rss"] {
        assert_eq!(line(live)["state"], "live", "{}", line(live));
    }
    // Hot groups ship off (README: cost per event).
    for off in ["pagealloc", "slab", "memsyscalls"] {
        assert_eq!(line(off)["state"], "off", "{}", line(off));
    }
    // An off group shows no rows of zeros for an idle UID, but how to start it.
    let idle = d.memstat(&["--section", "faults", "--uid", "64102"]).stdout;
    assert!(
        idle.contains("PAGE FAULTS (faults: off)\n  nothing counted in the window; memstat --probe faults=on switches it on"),
        "{idle}"
    );
    let before = metrics_any(&d, "faults", 64101);
    Workload::new()
        .touch(500)
        .run_as(Path::new(WORKLOAD), 64101);
    assert_eq!(metrics_any(&d, "faults", 64101), before);
    assert_eq!(d.memstat(&["--probe", "faults=on"]).code, 0);
    let m = window(
        &d,
        &Workload::new().wait().touch(500).wait(),
        64101,
        "faults",
    );
    assert!((500..=564).contains(&m["faults"]), "{m:?}");

    // A gate on a memory metric.
    let gate = d.memstat(&["--uid", "64101", "--fail-if", "faults.minor>10"]);
    assert_eq!(gate.code, 1, "{}", gate.stdout);
    assert!(gate.stdout.contains("faults.minor"), "{}", gate.stdout);
}

/// The faults metrics of `uid` whatever the group's state.
fn metrics_any(d: &Daemon, group: &str, uid: u32) -> Value {
    let j = d
        .memstat(&["--json", "--section", group, "--uid", &uid.to_string()])
        .json();
    j["memory"][0]["uids"][0]["metrics"].clone()
}

#[test]
fn major_faults_are_exact() {
    let Some(_k) = kernel("major_faults_are_exact") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("majflt"));
    let d = Daemon::host(dir.path(), fs.path());
    assert_eq!(d.memstat(&["--probe", "faults=on"]).code, 0);
    let n = 200;
    // The file must be on a disk filesystem (the test's directory is) and
    // in a directory the UID may write.
    let own = dir.path().join("majfault");
    std::fs::create_dir(&own).unwrap();
    std::os::unix::fs::chown(&own, Some(64201), Some(64201)).unwrap();
    let file = own.join("data");
    let w = Workload::new().wait().majfault(n, &file).wait();
    let m = window(&d, &w, 64201, "faults");
    assert_eq!(m["major"], n, "{m:?}");
    assert!(m["faults"] >= n, "{m:?}");
}

#[test]
fn slab_objects_are_counted_within_their_bounds() {
    let Some(_k) = kernel("slab_objects_are_counted_within_their_bounds") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("slab"));
    let d = Daemon::host(dir.path(), fs.path());
    let on = d.memstat(&["--probe", "slab=on"]);
    assert_eq!(on.code, 0, "{}", on.stderr);
    let n = 1000;
    let m = window(&d, &Workload::new().wait().slab(n).wait(), 64301, "slab");
    // Each eventfd kmallocs its 48-byte context (64 allocated); the fd
    // table, ida and slab bookkeeping add a few percent.
    assert!(
        (n..=n + n / 10 + 16).contains(&m["kmalloc"]),
        "kmalloc {} for {n} eventfds",
        m["kmalloc"]
    );
    assert!(m["kmalloc_requested"] >= 48 * n, "{m:?}");
    assert!(m["kmalloc_allocated"] >= m["kmalloc_requested"], "{m:?}");
    // A struct file and a dentry each, at least.
    assert!(m["cache_alloc"] >= 2 * n, "{m:?}");
    assert!(m["kfree"] >= n, "closing frees every context: {m:?}");
    assert_eq!(m["failed"], 0);

    // Sampled: one event in 4, counted as 4. Which events are taken depends
    // on every task's events on the CPU, so the estimate is a multiple of 4
    // near the truth, not the truth.
    assert_eq!(d.memstat(&["--probe", "slab=1/4"]).code, 0);
    let s = window(&d, &Workload::new().wait().slab(n).wait(), 64302, "slab");
    assert_eq!(s["cache_alloc"] % 4, 0, "{s:?}");
    let (lo, hi) = (m["cache_alloc"] * 6 / 10, m["cache_alloc"] * 14 / 10);
    assert!(
        (lo..=hi).contains(&s["cache_alloc"]),
        "sampled {} against {} unsampled",
        s["cache_alloc"],
        m["cache_alloc"]
    );
    let status = d.memstat(&["--section", "probes,slab"]).stdout;
    assert!(status.contains("sampled 1 in 4"), "{status}");

    // Pairs of begin and end events cannot be sampled.
    let r = d.memstat(&["--probe", "reclaim=1/4"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("cannot be sampled"), "{}", r.stderr);
    // Switching is root's.
    let r = d.memstat_as(Some(64303), &["--probe", "slab=off"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
}

#[test]
fn memcg_reclaim_and_the_oom_kill_are_attributed() {
    let Some(_k) = kernel("memcg_reclaim_and_the_oom_kill_are_attributed") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("oom"));
    let d = Daemon::host(dir.path(), fs.path());
    let uid = 64401;
    let cg = Memcg::new(32 << 20).unwrap();
    let ended = cg.run(
        &Workload::new().hog(256 << 20),
        Path::new(WORKLOAD),
        uid,
        Duration::from_secs(30),
    );
    assert_eq!(ended.signal(), Some(libc::SIGKILL), "the hog is killed");
    assert_eq!(cg.oom_kills(), 1);

    let oom = metrics(&d, "oom", uid);
    assert_eq!(oom["kills"], 1, "{oom:?}");
    // Its own allocation met the limit: it triggered its own kill.
    assert_eq!(oom["invoked"], 1, "{oom:?}");
    // At the kill it held about the limit, as anonymous memory.
    let rss = oom["anon_kb"] + oom["file_kb"] + oom["shmem_kb"];
    assert!(
        (16 << 10..=40 << 10).contains(&rss),
        "rss {rss} kB: {oom:?}"
    );
    assert_eq!(oom["max_rss_kb"], rss);

    // Before the kill the charge failed and reclaim ran in the hog's own
    // context, as memcg reclaim (no swap: it could free almost nothing).
    let reclaim = metrics(&d, "reclaim", uid);
    assert!(reclaim["memcg.stalls"] >= 1, "{reclaim:?}");
    assert!(reclaim["memcg.ns"] > 0, "{reclaim:?}");
    assert_eq!(reclaim["direct.stalls"], 0, "{reclaim:?}");
}

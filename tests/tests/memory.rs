//! The memory probe groups end to end: memstatd in host mode on the real
//! kernel, workloads as dedicated UIDs (64xxx, one range per test) that stop
//! at `wait` points, so a window between two stops holds exactly the ops
//! between them, free of process start-up and exit.

use memstat_tests::memcg::Memcg;
use memstat_tests::{
    kernel, page_size, workspace_bin, Bpffs, Daemon, Interactive, TempDir, Workload,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");

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
    window_of(d, w.start_as(Path::new(WORKLOAD), uid), uid, group)
}

/// The same for a workload started otherwise.
fn window_of(d: &Daemon, mut run: Interactive, uid: u32, group: &str) -> BTreeMap<String, u64> {
    run.pause();
    let before = d.group_metrics(group, uid);
    run.resume();
    run.pause();
    let after = d.group_metrics(group, uid);
    run.finish();
    delta(&before, &after)
}

/// Switches memsyscalls from its duty cycle to counting every call.
fn memsyscalls_on(d: &Daemon) {
    let r = d.memstat(&["--probe", "memsyscalls=on"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// The memsyscalls group's probe line: its state and detail.
fn memsyscalls_probe(d: &Daemon) -> (String, String) {
    let r = d.memstat(&["--json", "--section", "probes"]).json();
    let p = r["probes"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["group"] == "memsyscalls"))
        .unwrap_or_else(|| panic!("no memsyscalls probe in {r}"))
        .clone();
    let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
    (text("state"), text("detail"))
}

#[test]
fn memory_syscalls_count_calls_and_bytes_exactly() {
    let Some(_k) = kernel("memory_syscalls_count_calls_and_bytes_exactly") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("memsys"));
    let d = Daemon::host(dir.path(), fs.path());
    // Duty-cycled by default, one event per memory syscall: nothing on
    // raw_syscalls. On, it counts exactly.
    let (state, detail) = memsyscalls_probe(&d);
    assert_eq!(state, "live", "{detail}");
    assert!(
        detail.starts_with("syscalls/sys_enter_mmap, syscalls/sys_enter_munmap, "),
        "{detail}"
    );
    assert!(detail.contains("syscalls/sys_exit_brk"), "{detail}");
    assert!(!detail.contains("raw_syscalls"), "{detail}");
    assert!(detail.contains("; duty-cycled: attached "), "{detail}");
    memsyscalls_on(&d);
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
    let m = window(&d, &w, 67101, "memsyscalls");
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

    // Off: nothing attached, nothing counted; on again: counted again.
    assert_eq!(d.memstat(&["--probe", "memsyscalls=off"]).code, 0);
    assert_eq!(memsyscalls_probe(&d).0, "off");
    let before = metrics_any(&d, "memsyscalls", 67101);
    Workload::new()
        .mmap(10, 4096)
        .brk(1, 4096)
        .run_as(Path::new(WORKLOAD), 67101);
    assert_eq!(metrics_any(&d, "memsyscalls", 67101), before);
    assert_eq!(d.memstat(&["--probe", "memsyscalls=on"]).code, 0);
    let m = window(
        &d,
        &Workload::new().wait().mmap(10, 4096).wait(),
        67101,
        "memsyscalls",
    );
    assert_eq!((m["mmap.calls"], m["mmap.bytes"]), (10, 40960), "{m:?}");
}

#[test]
fn brk_growth_is_exact_across_exec() {
    let Some(_k) = kernel("brk_growth_is_exact_across_exec") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("memsys-exec"));
    let d = Daemon::host(dir.path(), fs.path());
    memsyscalls_on(&d);
    let uid = 67102;
    // A new image's break is elsewhere (ASLR): growth measured against the
    // old image's break would be off by up to terabytes. It lies above the
    // old one about every other time, so 8 execs in a row catch such a
    // comparison all but 1 time in 256. With this tunable glibc's malloc
    // takes no memory with brk, so a new image's only brk of its own is the
    // dynamic loader's brk(0).
    let mut args = vec!["wait", "brk:3:40000"];
    for _ in 0..8 {
        args.extend(["exec", "brk:2:40000"]);
    }
    args.push("wait");
    let mut cmd = Command::new(WORKLOAD);
    cmd.args(&args)
        .env("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=0")
        .uid(uid)
        .gid(uid);
    let m = window_of(
        &d,
        Interactive::spawn(cmd, "brk around execs".into()),
        uid,
        "memsyscalls",
    );
    assert_eq!(m["brk.bytes"], (3 + 8 * 2) * 40000, "{m:?}");
    // 5 before the first exec; in each new image the loader's brk(0) and 4
    // (workloads.rs checks the loader's one brk with strace).
    assert_eq!(m["brk.calls"], 5 + 8 * (1 + 4), "{m:?}");

    // An exec while the group is off goes unseen: the break noted before it
    // belongs to the old image and must not be compared with once on again.
    // Each new image's break lies above the old one's about every other
    // time, so 8 processes catch a comparison all but 1 time in 256.
    let mut runs: Vec<Interactive> = (0..8)
        .map(|i| {
            let mut cmd = Command::new(WORKLOAD);
            cmd.args(["brk:1:4096", "wait", "exec", "wait", "brk:2:40000", "wait"])
                .env("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=0")
                .uid(uid)
                .gid(uid);
            Interactive::spawn(cmd, format!("brk, exec while off {i}"))
        })
        .collect();
    runs.iter_mut().for_each(Interactive::pause);
    assert_eq!(d.memstat(&["--probe", "memsyscalls=off"]).code, 0);
    for run in &mut runs {
        run.resume();
        run.pause();
    }
    assert_eq!(d.memstat(&["--probe", "memsyscalls=on"]).code, 0);
    let before = d.group_metrics("memsyscalls", uid);
    for run in &mut runs {
        run.resume();
        run.pause();
    }
    let m = delta(&before, &d.group_metrics("memsyscalls", uid));
    for run in runs {
        run.finish();
    }
    // Each: brk(0), which only notes the break, 2 growths and the return.
    assert_eq!(
        (m["brk.calls"], m["brk.bytes"]),
        (8 * 4, 8 * 80000),
        "{m:?}"
    );
}

#[test]
fn brk_growth_is_exact_in_a_forked_child() {
    let Some(_k) = kernel("brk_growth_is_exact_in_a_forked_child") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("memsys-fork"));
    let d = Daemon::host(dir.path(), fs.path());
    memsyscalls_on(&d);
    let uid = 67103;
    // The child's first brk grows the break it inherited, without asking
    // for it: only the parent's break, passed on at the fork, tells the
    // growth.
    let mut cmd = Command::new(WORKLOAD);
    cmd.args(["brk:1:4096", "wait", "fork", "brkgrow:3:40000", "wait"])
        .uid(uid)
        .gid(uid);
    let m = window_of(
        &d,
        Interactive::spawn(cmd, "brk after fork".into()),
        uid,
        "memsyscalls",
    );
    assert_eq!((m["brk.calls"], m["brk.bytes"]), (4, 3 * 40000), "{m:?}");
}

/// memstatd in a mount namespace of its own whose tracefs shows no
/// syscalls:* events, as on a kernel without CONFIG_FTRACE_SYSCALLS (GKI).
struct NoSyscallEvents {
    child: std::process::Child,
    socket: PathBuf,
}

impl NoSyscallEvents {
    fn start(dir: &Path, pins: &Path) -> Self {
        let empty = dir.join("empty");
        std::fs::create_dir(&empty).unwrap();
        let socket = dir.join("memstatd.sock");
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c"]);
        cmd.arg(
            r#"empty=$1; shift
for t in /sys/kernel/tracing /sys/kernel/debug/tracing; do
    [ -d $t/events/syscalls ] && { mount --bind "$empty" $t/events/syscalls || exit 1; }
done
exec "$@""#,
        );
        cmd.arg("sh").arg(&empty).arg(workspace_bin("memstatd"));
        cmd.args(["--host".as_ref(), "--pin-root".as_ref(), pins.as_os_str()]);
        cmd.arg("--socket").arg(&socket);
        cmd.arg("--state-dir").arg(dir.join("state"));
        let log = std::fs::File::create(dir.join("memstatd.log")).unwrap();
        let child = cmd.stderr(log).spawn().expect("run unshare");
        let mut d = NoSyscallEvents { child, socket };
        let start = std::time::Instant::now();
        while d.memstat(&["--section", "header"]).status.code() != Some(0) {
            if let Some(status) = d.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(dir.join("memstatd.log")).unwrap();
                panic!("memstatd without syscall events exited ({status}):\n{log}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "memstatd does not serve"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }

    fn memstat(&self, args: &[&str]) -> std::process::Output {
        Command::new(workspace_bin("memstat"))
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run memstat")
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.memstat(args);
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for NoSyscallEvents {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn without_syscall_events_mmap_counts_address_searches() {
    let Some(_k) = kernel("without_syscall_events_mmap_counts_address_searches") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("memsys-gki"));
    let d = NoSyscallEvents::start(dir.path(), fs.path());
    let probes = d.json(&["--json", "--section", "probes"]);
    let p = probes["probes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["group"] == "memsyscalls")
        .unwrap();
    let detail = p["detail"].as_str().unwrap();
    assert_eq!(p["state"], "live", "{detail}");
    assert!(
        detail.starts_with(
            "mmap/vm_unmapped_area, no tracepoint syscalls/sys_enter_munmap in this kernel \
             (syscalls:* events need CONFIG_FTRACE_SYSCALLS, which GKI kernels lack)"
        ),
        "{detail}"
    );
    assert!(!detail.contains("raw_syscalls"), "{detail}");
    let on = d.memstat(&["--probe", "memsyscalls=on"]);
    assert!(on.status.success(), "{on:?}");

    let uid = 67104;
    let metrics = || -> BTreeMap<String, u64> {
        let j = d.json(&[
            "--json",
            "--section",
            "memsyscalls",
            "--uid",
            &uid.to_string(),
        ]);
        let rows = j["memory"][0]["uids"].as_array().unwrap().clone();
        rows.first()
            .map(|r| serde_json::from_value(r["metrics"].clone()).unwrap())
            .unwrap_or_default()
    };
    let mut run = Workload::new()
        .wait()
        .mmap(100, 65536)
        .shm(2, 1 << 20)
        .wait()
        .start_as(Path::new(WORKLOAD), uid);
    run.pause();
    let before = metrics();
    run.resume();
    run.pause();
    let m = delta(&before, &metrics());
    run.finish();
    // Each mmap and shmat looked for free address space of its length; the
    // munmaps, shmgets and the rest have no event here.
    assert_eq!(m["mmap.calls"], 102, "{m:?}");
    assert_eq!(m["mmap.bytes"], 100 * 65536 + 2 * (1 << 20), "{m:?}");
    for none in ["munmap.calls", "shmget.calls", "shmat.calls", "brk.calls"] {
        assert_eq!(m[none], 0, "{none} in {m:?}");
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
        (n..=n + 64).contains(&m["events.all"]),
        "faults {} for {n} pages",
        m["events.all"]
    );
    assert_eq!(m["events.major"], 0, "anonymous pages never wait for I/O");
    assert_eq!(m["events.minor"], m["events.all"]);

    // The peak of the same run: all n pages were resident at once. The
    // kernel's RSS counters are per-CPU and traced in batches, so the
    // peak may lag the truth by a batch per CPU.
    let rss = d.group_metrics("rss", 64101);
    let pages = n * page_size();
    assert!(
        rss["process_peak.anon"] >= pages - 64 * 4 * page_size()
            && rss["process_peak.anon"] < pages + (64 << 20),
        "process_peak.anon {} for {pages} bytes touched",
        rss["process_peak.anon"]
    );
    assert!(rss["process_peak.total"] >= rss["process_peak.anon"]);

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
    // The per-event programs are off; the task counters still count.
    assert_eq!(line("faults")["state"], "live");
    assert!(
        line("faults")["detail"]
            .as_str()
            .unwrap()
            .contains("per-event programs off"),
        "{}",
        line("faults")
    );
    for live in ["extfrag", "reclaim", "compaction", "oom", "rss"] {
        assert_eq!(line(live)["state"], "live", "{}", line(live));
    }
    // Hot groups ship duty-cycled (README: cost of the memory statistics).
    for cycled in ["pagealloc", "slab", "memsyscalls"] {
        let l = line(cycled);
        assert_eq!(l["state"], "live", "{l}");
        assert!(
            l["detail"]
                .as_str()
                .unwrap()
                .contains("duty-cycled: attached 500 ms in every 32000 ms"),
            "{l}"
        );
    }
    // An off group shows no rows of zeros for an idle UID, but how to start it.
    assert_eq!(d.memstat(&["--probe", "extfrag=off"]).code, 0);
    let idle = d
        .memstat(&["--section", "extfrag", "--uid", "64102"])
        .stdout;
    assert!(
        idle.contains("(extfrag: off)\n  nothing counted in the window; memstat --probe extfrag=on switches it on"),
        "{idle}"
    );
    let before = metrics_any(&d, "faults", 64101);
    Workload::new()
        .touch(500)
        .run_as(Path::new(WORKLOAD), 64101);
    let after = metrics_any(&d, "faults", 64101);
    assert_eq!(after["events.all"], before["events.all"], "{after}");
    assert!(
        after["minor"].as_u64().unwrap() >= before["minor"].as_u64().unwrap() + 500,
        "{before} -> {after}"
    );
    assert_eq!(d.memstat(&["--probe", "faults=on"]).code, 0);
    let m = window(
        &d,
        &Workload::new().wait().touch(500).wait(),
        64101,
        "faults",
    );
    assert!((500..=564).contains(&m["events.all"]), "{m:?}");

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
    let mut run = Workload::new()
        .wait()
        .majfault(n, &file)
        .wait()
        .start_as(Path::new(WORKLOAD), 64201);
    // The truth: the kernel's count of the process's major faults between
    // the waits. The n reads are n of them; a page of the workload's own code
    // evicted meanwhile (other work on the machine) is one more.
    let majflt = |pid: u32| -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        fields[9].parse().unwrap()
    };
    run.pause();
    let (before, was) = (d.group_metrics("faults", 64201), majflt(run.pid()));
    run.resume();
    run.pause();
    let (after, truth) = (d.group_metrics("faults", 64201), majflt(run.pid()) - was);
    run.finish();
    let m = delta(&before, &after);
    assert!(truth >= n, "{truth} major faults for {n} pages read");
    // The task counters and the per-event programs both.
    assert_eq!((m["major"], m["events.major"]), (truth, truth), "{m:?}");
    assert!(m["events.all"] >= n, "{m:?}");
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

    let oom = d.group_metrics("oom", uid);
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
    let reclaim = d.group_metrics("reclaim", uid);
    assert!(reclaim["memcg.stalls"] >= 1, "{reclaim:?}");
    assert!(reclaim["memcg.ns"] > 0, "{reclaim:?}");
    assert_eq!(reclaim["direct.stalls"], 0, "{reclaim:?}");
}

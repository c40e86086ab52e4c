//! The task-counter source end to end: memstatd in host mode on the real
//! kernel, children of this test as UIDs 68001 and 68002 (re-executing this
//! binary as `child_entry`), each stopping at points where it blocks. The
//! truth at a stop is the kernel's own accounting of the child, read from
//! /proc/<child>/stat: its faults (its exited threads included) plus its
//! reaped children's. The daemon must show exactly the same change per UID,
//! though it counts exited threads and processes through the exit program.

use memstat_tests::{kernel, page_size, Bpffs, Daemon, TempDir};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdin, Command, Stdio};

const CHILD: &str = "MEMSTAT_TASK_CHILD";

fn faults(d: &Daemon, uid: u32) -> [u64; 2] {
    let m = d.group_metrics("faults", uid);
    [
        m.get("minor").copied().unwrap_or(0),
        m.get("major").copied().unwrap_or(0),
    ]
}

/// A child of this test running `ops` as `uid`, one op per resume.
struct Worker {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStderr>,
}

impl Worker {
    fn start(uid: u32, ops: &[&str]) -> Worker {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_entry", "--nocapture", "--test-threads=1"])
            .env(CHILD, ops.join(" "))
            .uid(uid)
            .gid(uid)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stderr.take().unwrap());
        let mut w = Worker {
            child,
            input,
            output,
        };
        // The child's two first stops: the second one is warm.
        w.stopped();
        w.step();
        w
    }

    /// Waits for the child's next stop.
    fn stopped(&mut self) {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(self.output.read_line(&mut line).unwrap() > 0, "child ended");
            if line.trim() == "task-child: stopped" {
                return;
            }
        }
    }

    /// Runs the next op and waits for the stop after it.
    fn step(&mut self) {
        self.input.write_all(b"go\n").unwrap();
        self.stopped();
    }

    /// The kernel's counts of the child and its reaped children: minor, major.
    fn truth(&self) -> [u64; 2] {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let rest = &stat[stat.rfind(')').unwrap() + 1..];
        let f: Vec<u64> = rest
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        // rest[0] is field 3: minflt 10, cminflt 11, majflt 12, cmajflt 13.
        [f[7] + f[8], f[9] + f[10]]
    }

    fn end(mut self) {
        drop(self.input);
        assert!(self.child.wait().unwrap().success());
    }
}

/// What a child does at each resume (`CHILD`, space-separated ops):
/// `touch:N` writes N fresh pages; `threads:T:N` runs T threads one after
/// another, each writing N fresh pages; `procs:P:N` forks P processes one
/// after another, each writing N fresh pages; `major:PATH` reads every page
/// of PATH, evicted from the page cache first; `hold:N` writes N fresh
/// pages and keeps them.
#[test]
fn child_entry() {
    let Ok(ops) = std::env::var(CHILD) else {
        return;
    };
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let stop = |lines: &mut std::io::Lines<std::io::StdinLock>| {
        eprintln!("task-child: stopped");
        lines.next().is_some()
    };
    // A first stop touches what every stop uses.
    if !stop(&mut lines) || !stop(&mut lines) {
        return;
    }
    let mut held = Vec::new();
    for op in ops.split_whitespace() {
        let f: Vec<&str> = op.split(':').collect();
        let n = |i: usize| f[i].parse::<usize>().unwrap();
        match f[0] {
            "touch" => touch(n(1)),
            "hold" => held.push(hold(n(1))),
            "threads" => {
                for _ in 0..n(1) {
                    let pages = n(2);
                    std::thread::spawn(move || touch(pages)).join().unwrap();
                }
            }
            "procs" => {
                for _ in 0..n(1) {
                    // SAFETY: the child only touches pages and exits.
                    match unsafe { libc::fork() } {
                        0 => {
                            touch(n(2));
                            // SAFETY: ends the forked child at once.
                            unsafe { libc::_exit(0) };
                        }
                        pid => {
                            let mut status = 0;
                            // SAFETY: reaps the child just forked.
                            unsafe { libc::waitpid(pid, &mut status, 0) };
                        }
                    }
                }
            }
            "major" => major(f[1]),
            _ => panic!("bad op {op}"),
        }
        if !stop(&mut lines) {
            return;
        }
    }
}

fn map(pages: usize) -> *mut u8 {
    let len = pages * page_size() as usize;
    // SAFETY: a fresh private anonymous mapping.
    let at = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert_ne!(at, libc::MAP_FAILED);
    let at = at as *mut u8;
    for i in 0..pages {
        // SAFETY: within the mapping.
        unsafe { std::ptr::write_volatile(at.add(i * page_size() as usize), 1) };
    }
    at
}

fn touch(pages: usize) {
    let at = map(pages);
    // SAFETY: the mapping made above.
    unsafe { libc::munmap(at as *mut libc::c_void, pages * page_size() as usize) };
}

fn hold(pages: usize) -> usize {
    map(pages) as usize
}

fn major(path: &str) {
    let file = std::fs::File::open(path).unwrap();
    let len = file.metadata().unwrap().len() as usize;
    use std::os::fd::AsRawFd;
    // SAFETY: a read-only shared mapping of the whole file, read and unmapped here.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED);
        let at = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        );
        assert_ne!(at, libc::MAP_FAILED);
        libc::madvise(at, len, libc::MADV_RANDOM);
        let mut sum = 0u64;
        for i in (0..len).step_by(page_size() as usize) {
            sum += u64::from(std::ptr::read_volatile((at as *const u8).add(i)));
        }
        assert_eq!(sum, 0);
        libc::munmap(at, len);
    }
}

fn daemon(tag: &str) -> Option<(TempDir, Bpffs, Daemon)> {
    kernel(tag)?;
    let dir = TempDir::new(tag);
    let pins = Bpffs::new().unwrap();
    let d = Daemon::host(dir.path(), pins.path());
    Some((dir, pins, d))
}

fn delta(a: [u64; 2], b: [u64; 2]) -> [u64; 2] {
    [b[0] - a[0], b[1] - a[1]]
}

#[test]
fn two_uids_at_once_show_exact_faults_of_threads_and_processes() {
    let Some((dir, _pins, d)) = daemon("task_counters_exact") else {
        return;
    };
    // A file on disk (not tmpfs, whose faults are minor) for major faults,
    // written back so that the child can evict it.
    let _ = dir;
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("task_counters_pages");
    let f = std::fs::File::create(&file).unwrap();
    std::io::Write::write_all(&mut &f, &vec![0u8; 64 * page_size() as usize]).unwrap();
    f.sync_all().unwrap();
    let path = file.to_str().unwrap();
    let major = format!("major:{path}");
    let ops_a = ["touch:300", "threads:40:5", "procs:20:7", major.as_str()];
    let ops_b = ["touch:500", "threads:25:3", "procs:30:2"];
    let mut a = Worker::start(68001, &ops_a);
    let mut b = Worker::start(68002, &ops_b);
    for (step, what) in ops_a.iter().enumerate() {
        let (ta, tb) = (a.truth(), b.truth());
        let (da, db) = (faults(&d, 68001), faults(&d, 68002));
        a.step();
        if step < ops_b.len() {
            b.step();
        }
        let (ta2, tb2) = (a.truth(), b.truth());
        let (da2, db2) = (faults(&d, 68001), faults(&d, 68002));
        assert_eq!(delta(da, da2), delta(ta, ta2), "uid 68001 after {what}");
        assert_eq!(
            delta(db, db2),
            delta(tb, tb2),
            "uid 68002 after step {step}"
        );
        if *what == "touch:300" {
            assert!(delta(ta, ta2)[0] >= 300, "{:?}", delta(ta, ta2));
        }
        if what.starts_with("major") {
            assert!(
                delta(ta, ta2)[1] > 0,
                "no major faults: {:?}",
                delta(ta, ta2)
            );
        }
    }
    // Both end: everything they did stays counted, exactly.
    let (ta, tb) = (a.truth(), b.truth());
    a.end();
    b.end();
    let (fa, fb) = (faults(&d, 68001), faults(&d, 68002));
    assert!(
        fa[0] >= ta[0] && fb[0] >= tb[0],
        "{fa:?} {ta:?} {fb:?} {tb:?}"
    );
}

#[test]
fn polls_between_reports_keep_faults_exact() {
    let Some(k) = kernel("task_counters_polls") else {
        return;
    };
    let _ = k;
    let dir = TempDir::new("task_counters_polls");
    let pins = Bpffs::new().unwrap();
    let d = Daemon::host_with(
        dir.path(),
        pins.path(),
        &["--task-poll".as_ref(), "1".as_ref()],
    );
    let ops = [
        "touch:200",
        "threads:20:5",
        "procs:10:3",
        "hold:100",
        "touch:1",
    ];
    let mut w = Worker::start(68005, &ops);
    for what in ops {
        let (t, f) = (w.truth(), faults(&d, 68005));
        w.step();
        // Two polls: one re-reads the grown process and sweeps the forks'
        // entries, the next finds it unchanged and reads only its statm.
        std::thread::sleep(std::time::Duration::from_millis(2200));
        assert_eq!(
            delta(f, faults(&d, 68005)),
            delta(t, w.truth()),
            "after {what}"
        );
    }
    w.end();
    let r = d.memstat(&["--json", "--section", "probes"]);
    let text = r.json().to_string();
    let at = text.find("polled every 1 s (last poll: ").expect(&text);
    let polled: usize = text[at + 29..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect(&text);
    assert!(polled > 0, "{text}");
}

#[test]
fn a_held_rss_lies_within_the_peak_bracket() {
    let Some((_dir, _pins, d)) = daemon("task_counters_peak") else {
        return;
    };
    let pages = 8192; // 32 MiB of 4 KiB pages
    let mut w = Worker::start(68003, &["hold:8192", "touch:1"]);
    w.step();
    let held = pages * page_size();
    let m = d.group_metrics("rss", 68003);
    let (lo, hi, anon) = (m["peak.lo"], m["peak.hi"], m["anon"]);
    assert!(anon >= held, "anon {anon} < held {held}");
    assert!(lo <= hi, "[{lo}, {hi}]");
    assert!(lo >= held && hi >= held, "held {held} not in [{lo}, {hi}]");
    assert!(
        !m.contains_key("peak"),
        "a bracket has no plain metric: {m:?}"
    );
    w.step();
    w.end();
    // Gone: the bracket keeps the peak of the window.
    let m = d.group_metrics("rss", 68003);
    assert!(
        m["peak.lo"] >= held && m["peak.hi"] >= m["peak.lo"],
        "{m:?}"
    );
    assert_eq!(m.get("anon").copied().unwrap_or(0), 0, "{m:?}");
}

#[test]
fn forced_calibration_finds_the_offsets_btf_gives() {
    let Some(k) = kernel("task_counters_calibration") else {
        return;
    };
    let _ = k;
    let Ok(btf) = std::fs::read("/sys/kernel/btf/vmlinux") else {
        return;
    };
    let want = memstatd::tasks::offsets::from_btf(&btf).unwrap();
    let dir = TempDir::new("task_counters_calibration");
    let pins = Bpffs::new().unwrap();
    let d = Daemon::host_with(
        dir.path(),
        pins.path(),
        &["--task-offsets".as_ref(), "calibrate".as_ref()],
    );
    let r = d.memstat(&["--json", "--section", "probes"]);
    let j: Value = r.json();
    let text = j.to_string();
    let expect = "offsets self-calibrated (no BTF: asked for with --task-offsets calibrate)";
    assert!(text.contains(expect), "{text}");
    let log = d.log();
    let found = format!(
        "task_struct.min_flt at {} and maj_flt at {}",
        want.min_flt, want.maj_flt
    );
    assert!(
        log.contains(&found),
        "calibration disagrees with BTF ({found}):\n{log}"
    );
    // And counts exactly with them.
    let mut w = Worker::start(68004, &["threads:10:4"]);
    let (t, f) = (w.truth(), faults(&d, 68004));
    w.step();
    assert_eq!(delta(f, faults(&d, 68004)), delta(t, w.truth()));
    w.end();
    // Its process ended, and calibration does not find signal_struct.maxrss:
    // its peak at the end is unknown, so the UID's peak has no upper bound.
    let m = d.group_metrics("rss", 68004);
    assert!(m["peak.lo"] > 0 && !m.contains_key("peak.hi"), "{m:?}");
    let r = d.memstat(&["--fail-if", "rss.peak>1000000000000"]);
    assert_eq!(r.code, 1, "never clear: {}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("uid 68004: rss.peak is ")
            && r.stdout
                .contains(" to no known bound): may or may not cross"),
        "{}",
        r.stdout
    );
}

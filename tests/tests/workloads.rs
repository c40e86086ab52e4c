//! The workload generator's memory ops do exactly what they claim, checked
//! against truths independent of memstat: strace for the syscalls between two
//! markers, getrusage and /proc for page faults, mincore (through strace) for
//! the page cache, and a memory cgroup's own OOM counters. Needs root (UIDs
//! 631xx, cgroups) but no BPF.

use memstat_tests::memcg::Memcg;
use memstat_tests::{op_lines, page_size, root, TempDir, Workload};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");
const MIB: u64 = 1 << 20;

/// The syscalls strace shows between the workload's two `getppid:1` markers
/// around `ops`, spaces collapsed (strings up to 256 bytes shown whole), and
/// the workload's stdout.
fn traced(uid: u32, ops: &[&str]) -> (Vec<String>, String) {
    let out = Command::new("strace")
        .args(["-qq", "-s256", "-esignal=none", WORKLOAD, "getppid:1"])
        .args(ops)
        .arg("getppid:1")
        .uid(uid)
        .gid(uid)
        .stdin(Stdio::null())
        .output()
        .expect("run strace (scripts/setup.sh installs it)");
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "strace of {ops:?} failed:\n{trace}");
    let mut marks = 0;
    let mut calls = Vec::new();
    for line in trace.lines() {
        if line.starts_with("getppid(") {
            marks += 1;
        } else if marks == 1 {
            calls.push(line.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    assert_eq!(marks, 2, "not two getppid markers in:\n{trace}");
    (calls, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `pattern` with `*` standing for any text matches all of `text`.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (i, part) in parts.iter().enumerate() {
        if i == parts.len() - 1 {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// The calls match the patterns one to one, in order.
fn assert_calls(op: &str, calls: &[String], expected: &[String]) {
    let all = || {
        format!(
            "{op} made:\n{}\nexpected:\n{}",
            calls.join("\n"),
            expected.join("\n")
        )
    };
    assert_eq!(calls.len(), expected.len(), "{}", all());
    for (call, pattern) in calls.iter().zip(expected) {
        assert!(
            glob(pattern, call),
            "{call:?} is not {pattern:?}; {}",
            all()
        );
    }
}

fn times(n: u64, pattern: String) -> Vec<String> {
    vec![pattern; n as usize]
}

/// The value of strace's hexadecimal return `= 0x...` or argument.
fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16)
        .unwrap_or_else(|_| panic!("{s:?} is not hexadecimal"))
}

fn ret(call: &str) -> &str {
    call.rsplit_once(" = ").map(|(_, r)| r).unwrap_or_default()
}

/// The first argument of a call, as strace prints it.
fn arg0(call: &str) -> &str {
    let args = call.split_once('(').map(|(_, a)| a).unwrap_or_default();
    args.split([',', ')']).next().unwrap_or_default()
}

#[test]
fn memory_ops_make_exactly_their_syscalls() {
    if !root("memory_ops_make_exactly_their_syscalls") {
        return;
    }
    let uid = 63101;
    let p = page_size();
    let anon = "MAP_PRIVATE|MAP_ANONYMOUS";
    let none = format!("{anon}|MAP_NORESERVE");

    let (calls, _) = traced(uid, &["mmap:1000:65536"]);
    let mut want = times(
        1000,
        format!("mmap(NULL, 65536, PROT_NONE, {none}, -1, 0) = 0x*"),
    );
    want.extend(times(1000, "munmap(0x*, 65536) = 0".into()));
    assert_calls("mmap:1000:65536", &calls, &want);
    let mut mapped: Vec<u64> = calls[..1000].iter().map(|c| hex(ret(c))).collect();
    let mut unmapped: Vec<u64> = calls[1000..].iter().map(|c| hex(arg0(c))).collect();
    mapped.sort();
    unmapped.sort();
    assert_eq!(mapped, unmapped, "every mapping unmapped once");
    // Lengths the kernel rounds up are still asked for as given.
    let (calls, _) = traced(uid, &["mmap:2:1000"]);
    let mut want = times(
        2,
        format!("mmap(NULL, 1000, PROT_NONE, {none}, -1, 0) = 0x*"),
    );
    want.extend(times(2, "munmap(0x*, 1000) = 0".into()));
    assert_calls("mmap:2:1000", &calls, &want);

    let (calls, _) = traced(uid, &["mprotect:3:8192"]);
    let want = [
        format!("mmap(NULL, 8192, PROT_NONE, {none}, -1, 0) = 0x*"),
        "mprotect(0x*, 8192, PROT_READ) = 0".into(),
        "mprotect(0x*, 8192, PROT_NONE) = 0".into(),
        "mprotect(0x*, 8192, PROT_READ) = 0".into(),
        "munmap(0x*, 8192) = 0".into(),
    ];
    assert_calls("mprotect:3:8192", &calls, &want);

    let (calls, _) = traced(uid, &["madvise:4:12288"]);
    let mut want = vec![format!(
        "mmap(NULL, 12288, PROT_READ|PROT_WRITE, {none}, -1, 0) = 0x*"
    )];
    want.extend(times(4, "madvise(0x*, 12288, MADV_DONTNEED) = 0".into()));
    want.push("munmap(0x*, 12288) = 0".into());
    assert_calls("madvise:4:12288", &calls, &want);

    for (n, last) in [(3, 8192), (4, 4096)] {
        let op = format!("mremap:{n}:4096");
        let (calls, _) = traced(uid, &[&op]);
        let mut want = vec![format!("mmap(NULL, 4096, PROT_NONE, {none}, -1, 0) = 0x*")];
        for i in 0..n {
            let (old, new) = if i % 2 == 0 {
                (4096, 8192)
            } else {
                (8192, 4096)
            };
            want.push(format!("mremap(0x*, {old}, {new}, MREMAP_MAYMOVE) = 0x*"));
        }
        want.push(format!("munmap(0x*, {last}) = 0"));
        assert_calls(&op, &calls, &want);
    }

    let (calls, _) = traced(uid, &["brk:3:40000"]);
    let mut want = vec!["brk(NULL) = 0x*".to_string()];
    want.extend(times(4, "brk(0x*) = 0x*".into()));
    assert_calls("brk:3:40000", &calls, &want);
    let start = hex(ret(&calls[0]));
    let asked: Vec<u64> = calls[1..].iter().map(|c| hex(arg0(c))).collect();
    let got: Vec<u64> = calls[1..].iter().map(|c| hex(ret(c))).collect();
    let expected = [start + 40000, start + 80000, start + 120000, start];
    assert_eq!(
        asked, expected,
        "each call grows the break by BYTES, the last restores it"
    );
    assert_eq!(got, expected, "every brk call succeeded");

    let (calls, _) = traced(uid, &["memfd:3"]);
    let want: Vec<String> = (0..3)
        .flat_map(|_| {
            [
                "memfd_create(\"memstat-workload\", MFD_CLOEXEC) = 3".to_string(),
                "close(3) = 0".to_string(),
            ]
        })
        .collect();
    assert_calls("memfd:3", &calls, &want);

    let (calls, _) = traced(uid, &["shm:2:10000"]);
    let want: Vec<String> = (0..2)
        .flat_map(|_| {
            [
                "shmget(IPC_PRIVATE, 10000, IPC_CREAT|0600) = *".to_string(),
                "shmat(*, NULL, 0) = 0x*".to_string(),
                "shmdt(0x*) = 0".to_string(),
                "shmctl(*, IPC_RMID, NULL) = 0".to_string(),
            ]
        })
        .collect();
    assert_calls("shm:2:10000", &calls, &want);

    let (calls, _) = traced(uid, &["slab:3"]);
    let want = [
        "eventfd2(0, 0) = 3",
        "eventfd2(0, 0) = 4",
        "eventfd2(0, 0) = 5",
        "close(3) = 0",
        "close(4) = 0",
        "close(5) = 0",
    ]
    .map(String::from);
    assert_calls("slab:3", &calls, &want);

    let (calls, _) = traced(uid, &["pipe:2"]);
    let want = [
        "pipe2([3, 4], 0) = 0",
        "pipe2([5, 6], 0) = 0",
        "close(3) = 0",
        "close(4) = 0",
        "close(5) = 0",
        "close(6) = 0",
    ]
    .map(String::from);
    assert_calls("pipe:2", &calls, &want);

    let (calls, stdout) = traced(uid, &["touch:5"]);
    let len = 5 * p;
    let want = [
        format!("mmap(NULL, {len}, PROT_READ|PROT_WRITE, {anon}, -1, 0) = 0x*"),
        format!("madvise(0x*, {len}, MADV_NOHUGEPAGE) = 0"),
        "getrusage(RUSAGE_SELF, *) = 0".into(),
        "getrusage(RUSAGE_SELF, *) = 0".into(),
        format!("munmap(0x*, {len}) = 0"),
        "write(1, \"touch 5 minflt=5 majflt=0\\n\", 26) = 26".into(),
    ];
    assert_calls("touch:5", &calls, &want);
    assert_eq!(stdout, "touch 5 minflt=5 majflt=0\n");

    // Stdin at end of file: the wait goes on at once.
    let (calls, stdout) = traced(uid, &["wait"]);
    let want = ["write(1, \"wait\\n\", 5) = 5", "read(0, \"\", 1) = 0"].map(String::from);
    assert_calls("wait", &calls, &want);
    assert_eq!(stdout, "wait\n");
}

/// A directory on the disk filesystem of the temp dir that `uid` may write.
fn disk_dir(tag: &str, uid: u32) -> TempDir {
    let dir = TempDir::new(tag);
    std::os::unix::fs::chown(dir.path(), Some(uid), Some(uid)).unwrap();
    dir
}

#[test]
fn majfault_reads_every_page_from_disk() {
    if !root("majfault_reads_every_page_from_disk") {
        return;
    }
    let uid = 63102;
    let p = page_size();
    let dir = disk_dir("majfault", uid);
    let file = dir.path().join("pages");
    let op = format!("majfault:4:{}", file.display());
    let (calls, stdout) = traced(uid, &[&op]);
    let len = 4 * p;
    let path = file.display();
    let mut want = vec![
        format!("openat(AT_FDCWD, \"{path}\", O_RDWR|O_CREAT|O_TRUNC|O_CLOEXEC, 0600) = 3"),
        "fstatfs(3, *) = 0".into(),
    ];
    want.extend(times(4, format!("write(3, *, {p}) = {p}")));
    want.extend([
        "fsync(3) = 0".into(),
        format!("mmap(NULL, {len}, PROT_READ, MAP_SHARED, 3, 0) = 0x*"),
        "fadvise64(3, 0, 0, POSIX_FADV_DONTNEED) = 0".into(),
        // mincore's own answer: no page is in the page cache.
        format!("mincore(0x*, {len}, [0, 0, 0, 0]) = 0"),
        format!("madvise(0x*, {len}, MADV_RANDOM) = 0"),
        "getrusage(RUSAGE_SELF, *) = 0".into(),
        "getrusage(RUSAGE_SELF, *) = 0".into(),
        format!("munmap(0x*, {len}) = 0"),
        "close(3) = 0".into(),
        format!("unlinkat(AT_FDCWD, \"{path}\", 0) = 0"),
        "write(1, \"majfault 4 minflt=0 majflt=4 resident_before=0\\n\", 47) = 47".into(),
    ]);
    assert_calls(&op, &calls, &want);
    assert_eq!(stdout, "majfault 4 minflt=0 majflt=4 resident_before=0\n");
    assert!(!file.exists(), "the op removes its file");

    // Many pages, twice in one process: each read waits for the disk.
    let w = Workload::new().majfault(1000, &file).majfault(1000, &file);
    let out = w.run_as(Path::new(WORKLOAD), uid);
    let lines = op_lines(&out, "majfault");
    assert_eq!(lines.len(), 2, "{out:?}");
    for l in lines {
        assert_eq!(
            (
                l.n,
                l.get("majflt"),
                l.get("minflt"),
                l.get("resident_before")
            ),
            (1000, 1000, 0, 0),
            "{out:?}"
        );
    }

    // tmpfs pages never come from disk: refused, not miscounted.
    let shm = Path::new("/dev/shm/memstat-majfault");
    if Path::new("/dev/shm").is_dir() {
        let e = Workload::new()
            .majfault(1, shm)
            .start_as(Path::new(WORKLOAD), uid)
            .end(Duration::from_secs(10));
        assert_eq!(e.status.code(), Some(2), "{}", e.stderr);
        assert!(e.stderr.contains("is on tmpfs or ramfs"), "{}", e.stderr);
        let _ = std::fs::remove_file(shm);
    }
}

#[test]
fn touch_faults_once_per_page() {
    if !root("touch_faults_once_per_page") {
        return;
    }
    let out = Workload::new()
        .touch(1)
        .touch(20_000)
        .run_as(Path::new(WORKLOAD), 63103);
    let lines = op_lines(&out, "touch");
    let got: Vec<_> = lines
        .iter()
        .map(|l| (l.n, l.get("minflt"), l.get("majflt")))
        .collect();
    assert_eq!(got, [(1, 1, 0), (20_000, 20_000, 0)], "{out:?}");
}

/// minflt (field 10) of /proc/PID/stat: faults in user and kernel mode.
fn minflt(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the parenthesised name: state is field 3, minflt field 10.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    rest.split(' ').nth(7).unwrap().parse().unwrap()
}

/// The syscall a stopped task is in (/proc/PID/syscall's first field).
fn in_syscall(pid: u32) -> i64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap();
    s.split(' ').next().unwrap().trim().parse().unwrap_or(-1)
}

#[test]
fn wait_stops_the_workload_until_resumed() {
    if !root("wait_stops_the_workload_until_resumed") {
        return;
    }
    let uid = 63104;
    // The first touch runs the op's code once, so that between the pauses
    // only the second one's pages fault.
    let mut w = Workload::new()
        .touch(7)
        .wait()
        .touch(300)
        .wait()
        .mmap(10, 4096)
        .start_as(Path::new(WORKLOAD), uid);
    w.pause();
    let pid = w.pid();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        status.contains(&format!("\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n")),
        "{status}"
    );
    assert_eq!(in_syscall(pid), libc::SYS_read, "stopped reading stdin");
    let before = minflt(pid);
    w.resume();
    w.pause();
    assert_eq!(in_syscall(pid), libc::SYS_read);
    assert_eq!(
        minflt(pid) - before,
        300,
        "exactly the second touch's faults"
    );
    w.resume();
    let out = w.finish();
    assert_eq!(
        out,
        ["touch 7 minflt=7 majflt=0", "touch 300 minflt=300 majflt=0"]
    );
}

#[test]
fn bad_ops_are_refused_by_name() {
    for (op, why) in [
        (
            "mmap:3",
            "bad operation \"mmap:3\": too few fields (usage: mmap:N:BYTES)",
        ),
        ("mmap:3:0", "BYTES must be more than 0"),
        ("mmap:70000:4096", "N is at most 65536"),
        ("pipe:40000", "N is at most 32768"),
        ("touch:x", "\"x\" is not a number (usage: touch:N)"),
        ("wait:1", "too many fields (usage: wait)"),
        ("majfault:1", "too few fields (usage: majfault:N:PATH)"),
        ("grow:1", "unknown operation \"grow:1\""),
    ] {
        let out = Command::new(WORKLOAD).arg(op).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{op}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{op}: {stderr}");
    }
}

#[test]
fn hog_is_oom_killed_in_a_small_memcg() {
    if !root("hog_is_oom_killed_in_a_small_memcg") {
        return;
    }
    let uid = 63105;
    let cg = Memcg::new(32 * MIB).unwrap_or_else(|e| panic!("{e}"));
    let path = cg.path().to_path_buf();
    let e = cg.run(
        &Workload::new().hog(256 * MIB),
        Path::new(WORKLOAD),
        uid,
        Duration::from_secs(30),
    );
    assert!(
        !e.timed_out,
        "the hog outlived 30 s in a 32 MiB cgroup: {:?}",
        e.stdout
    );
    assert_eq!(
        e.signal(),
        Some(libc::SIGKILL),
        "{}; {:?}",
        e.status,
        e.stdout
    );
    assert_eq!(cg.oom_kills(), 1);
    let peak = cg.peak();
    assert!(
        (31 * MIB..=32 * MIB).contains(&peak),
        "charges reached the 32 MiB limit: peak {peak}"
    );
    // Killed past 16 MiB, before 32 MiB: the limit, not the harness.
    assert_eq!(e.stdout, ["hog MiB=16"], "{}", e.stderr);
    drop(cg);
    assert!(!path.exists(), "{} removed on drop", path.display());
}

#[test]
fn hog_that_fits_holds_its_memory_in_the_memcg() {
    if !root("hog_that_fits_holds_its_memory_in_the_memcg") {
        return;
    }
    let uid = 63106;
    let cg = Memcg::new(64 * MIB).unwrap_or_else(|e| panic!("{e}"));
    let mut w = cg.start(&Workload::new().hog(16 * MIB), Path::new(WORKLOAD), uid);
    assert_eq!(w.read_line().as_deref(), Some("hog MiB=16"));
    assert_eq!(w.read_line().as_deref(), Some("hog done 16777216"));
    assert_eq!(cg.pids(), [w.pid() as i32], "the workload is in the cgroup");
    let usage = cg.usage();
    assert!(
        (16 * MIB..64 * MIB).contains(&usage),
        "16 MiB written, charged here: usage {usage}"
    );
    let status = std::fs::read_to_string(format!("/proc/{}/status", w.pid())).unwrap();
    assert!(status.contains(&format!("\nUid:\t{uid}\t")), "{status}");
    let e = w.end(Duration::from_millis(200));
    assert!(e.timed_out, "a hog ends only when killed");
    assert_eq!(e.signal(), Some(libc::SIGKILL));
    assert_eq!(cg.oom_kills(), 0);
    let peak = cg.peak();
    assert!((16 * MIB..64 * MIB).contains(&peak), "peak {peak}");
}

/// strace -f of the workload, with `env` (`VAR=value`) if given, between
/// `getppid:1` markers around `ops`: each call with the process that made
/// it (0: the workload's own, else a child's pid), spaces collapsed; and the
/// workload's exit status. strace writes one file per process (`-ff`), so a
/// call is never split by another process's output.
fn traced_processes(
    uid: u32,
    env: Option<&str>,
    ops: &[&str],
) -> (Vec<(u32, String)>, Option<i32>) {
    let dir = disk_dir("strace", uid);
    let mut cmd = Command::new("strace");
    cmd.args(["-ff", "-qq", "-s256", "-esignal=none", "-o"])
        .arg(dir.path().join("trace"));
    if let Some(env) = env {
        cmd.args(["-E", env]);
    }
    let out = cmd
        .args([WORKLOAD, "getppid:1"])
        .args(ops)
        .arg("getppid:1")
        .uid(uid)
        .gid(uid)
        .stdin(Stdio::null())
        .output()
        .expect("run strace (scripts/setup.sh installs it)");
    let mut traces: Vec<(u32, Vec<String>)> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let pid = name.strip_prefix("trace.").expect("trace.PID").parse();
            let text = std::fs::read_to_string(&path).unwrap();
            let lines = text
                .lines()
                .filter(|l| !l.starts_with("+++"))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            (pid.expect("trace.PID"), lines)
        })
        .collect();
    let is_mark = |l: &String| l.starts_with("getppid(");
    let own = traces
        .iter()
        .position(|(_, lines)| lines.iter().any(is_mark))
        .unwrap_or_else(|| panic!("no getppid marker in {traces:?}"));
    let (_, lines) = traces.swap_remove(own);
    let marks: Vec<usize> = (0..lines.len()).filter(|&i| is_mark(&lines[i])).collect();
    assert_eq!(marks.len(), 2, "not two getppid markers in {lines:?}");
    let mut calls: Vec<(u32, String)> = lines[marks[0] + 1..marks[1]]
        .iter()
        .map(|c| (0, c.clone()))
        .collect();
    let children: Vec<u32> = calls
        .iter()
        .filter(|(_, c)| c.starts_with("clone(") || c.starts_with("clone3("))
        .map(|(_, c)| ret(c).parse().expect("clone returns the child's pid"))
        .collect();
    for (pid, lines) in traces {
        assert!(
            children.contains(&pid),
            "process {pid} not cloned by the ops"
        );
        calls.extend(lines.into_iter().map(|c| (pid, c)));
    }
    (calls, out.status.code())
}

/// The calls of `pid` (see [`traced_processes`]) named `names`.
fn calls_of(calls: &[(u32, String)], pid: u32, names: &[&str]) -> Vec<String> {
    calls
        .iter()
        .filter(|(p, c)| *p == pid && names.iter().any(|n| c.starts_with(&format!("{n}("))))
        .map(|(_, c)| c.clone())
        .collect()
}

#[test]
fn exec_and_fork_ops_make_exactly_their_syscalls() {
    if !root("exec_and_fork_ops_make_exactly_their_syscalls") {
        return;
    }
    let uid = 67121;
    // exec: the new image runs the ops after it; under this tunable its
    // start-up's only brk is the loader's brk(NULL) (memory.rs counts on it).
    let (calls, status) = traced_processes(
        uid,
        Some("GLIBC_TUNABLES=glibc.malloc.mmap_threshold=0"),
        &["exec", "brk:1:40000"],
    );
    assert_eq!(status, Some(0));
    let calls = calls_of(&calls, 0, &["execve", "brk"]);
    let want = [
        format!(
            "execve(\"/proc/self/exe\", [\"{WORKLOAD}\", \"brk:1:40000\", \"getppid:1\"], *) = 0"
        ),
        "brk(NULL) = 0x*".into(),
        "brk(NULL) = 0x*".into(),
        "brk(0x*) = 0x*".into(),
        "brk(0x*) = 0x*".into(),
    ];
    assert_calls("exec brk:1:40000", &calls, &want);
    let start = hex(ret(&calls[2]));
    assert_eq!(hex(arg0(&calls[3])), start + 40000, "{calls:?}");

    // fork: the child runs the next op; brkgrow grows the break the brk op
    // left, with no brk(NULL); the workload waits, then runs the rest.
    let (calls, status) = traced_processes(uid, None, &["brk:1:4096", "fork", "brkgrow:2:40000"]);
    assert_eq!(status, Some(0));
    let own = calls_of(&calls, 0, &["brk", "clone", "clone3", "wait4"]);
    let want = [
        "brk(NULL) = 0x*".to_string(),
        "brk(0x*) = 0x*".into(),
        "brk(0x*) = 0x*".into(),
        "clone(*flags=*SIGCHLD*) = *".into(),
        "wait4(*, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = *".into(),
    ];
    assert_calls("brk:1:4096 fork", &own, &want);
    assert!(
        !own[3].contains("CLONE_THREAD") && !own[3].contains("CLONE_VM"),
        "{own:?}"
    );
    let child: u32 = ret(&own[3]).parse().unwrap();
    let grown = calls_of(&calls, child, &["brk"]);
    assert_calls(
        "fork brkgrow:2:40000",
        &grown,
        &times(3, "brk(0x*) = 0x*".into()),
    );
    let start = hex(ret(&own[0]));
    let asked: Vec<u64> = grown.iter().map(|c| hex(arg0(c))).collect();
    assert_eq!(asked, [start + 40000, start + 80000, start], "{grown:?}");

    // The child's op fails: so does the workload, naming it.
    let out = Command::new(WORKLOAD)
        .args(["fork", "brkgrow:1:4096"])
        .uid(uid)
        .gid(uid)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no brk op before it"), "{err}");
    assert!(
        err.contains("the forked child running \"brkgrow:1:4096\" failed"),
        "{err}"
    );
}

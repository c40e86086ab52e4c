//! memstatd and memstat end to end: the real binaries on the real kernel,
//! against workloads that make exactly known syscalls as dedicated UIDs
//! (62xxx, one range per test, so tests running at once never mix).
//!
//! A UID's totals include the syscalls of starting and ending a process, so
//! exact checks are on the workload's own syscalls (getppid, fchdir), whose
//! counts are exactly what it was told to make.

use memstat_tests::{kernel, load_builtin, wait_ok, Bpffs, Daemon, TempDir, Workload};
use memstatd::abi::syscalls;
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");

fn run(w: Workload, uid: u32) {
    wait_ok(w.spawn_as(Path::new(WORKLOAD), uid));
}

/// (count, errors) of syscall `name` of `uid` in a JSON report.
fn calls(report: &Value, uid: u32, name: &str) -> (u64, u64) {
    let row = uid_row(report, uid);
    row["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .map_or((0, 0), |c| {
            (c["count"].as_u64().unwrap(), c["errors"].as_u64().unwrap())
        })
}

fn uid_row(report: &Value, uid: u32) -> &Value {
    report["uids"]
        .as_array()
        .unwrap_or_else(|| panic!("no uids in {report}"))
        .iter()
        .find(|u| u["uid"] == uid)
        .unwrap_or_else(|| panic!("no uid {uid} in {report}"))
}

/// (from, to, delta, percent) of `metric` of `uid` in a JSON diff.
fn change(diff: &Value, uid: u32, metric: &str) -> (u64, u64, i64, Option<f64>) {
    let c = uid_row(diff, uid)["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == metric)
        .unwrap_or_else(|| panic!("no {metric} for uid {uid} in {diff}"))
        .clone();
    (
        c["from"].as_u64().unwrap(),
        c["to"].as_u64().unwrap(),
        c["delta"].as_i64().unwrap(),
        c["percent"].as_f64(),
    )
}

#[test]
fn exact_counts_in_text_and_json() {
    let Some(_k) = kernel("exact_counts_in_text_and_json") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("exact"));
    let d = Daemon::host(dir.path(), fs.path());
    let (a, b) = (62001, 62002);
    let wa = Workload::new()
        .getppid(12_345)
        .badfd(678)
        .spawn_as(Path::new(WORKLOAD), a);
    let wb = Workload::new()
        .badfd(4_321)
        .getppid(987)
        .spawn_as(Path::new(WORKLOAD), b);
    wait_ok(wa);
    wait_ok(wb);

    let r = d.memstat(&["--uid", "62001,62002", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["schema"], "memstat/1");
    assert_eq!(calls(&j, a, "getppid"), (12_345, 0));
    assert_eq!(calls(&j, a, "fchdir"), (678, 678));
    assert_eq!(calls(&j, b, "getppid"), (987, 0));
    assert_eq!(calls(&j, b, "fchdir"), (4_321, 4_321));
    assert_eq!(
        j["uids"].as_array().unwrap().len(),
        2,
        "--uid shows only these"
    );
    assert_eq!(j["overflow"]["count"], 0);
    assert_eq!(j["probes"][0]["state"], "live");
    // The system view of this machine: real numbers, read from /proc.
    let meminfo = &j["system"]["meminfo"];
    assert_eq!(meminfo["state"], "read", "{meminfo}");
    let total = meminfo["value"]["kb"]["MemTotal"].as_u64().unwrap();
    assert!(total > meminfo["value"]["kb"]["MemFree"].as_u64().unwrap());
    assert_eq!(j["system"]["knobs"]["swappiness"]["state"], "read");
    let zones = j["system"]["fragmentation"].as_array().unwrap();
    assert!(
        !zones.is_empty()
            && zones
                .iter()
                .all(|z| z["orders"].as_array().unwrap().len() >= 11)
    );
    assert!(j["advice"]["findings"].is_array());
    assert!(j["advice"]["missing"].is_array());

    // The same numbers in the text: the syscalls section has one line per
    // (UID, syscall): UID, name, number, count, errors.
    let t = d.memstat(&["--uid", "62001,62002", "--section", "syscalls"]);
    assert_eq!(t.code, 0, "{}", t.stderr);
    let line = |uid: u32, name: &str| -> Vec<String> {
        t.stdout
            .lines()
            .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
            .find(|f| f.len() == 5 && f[0] == uid.to_string() && f[1] == name)
            .unwrap_or_else(|| panic!("no {uid} {name} line in:\n{}", t.stdout))
    };
    let nr = |n: i64| n.to_string();
    assert_eq!(
        line(a, "getppid")[2..],
        [nr(libc::SYS_getppid), "12345".into(), "0".into()]
    );
    assert_eq!(
        line(a, "fchdir")[2..],
        [nr(libc::SYS_fchdir), "678".into(), "678".into()]
    );
    assert_eq!(line(b, "fchdir")[3..], ["4321", "4321"]);
    // The per-UID table names the top syscalls with their counts.
    let table = d.memstat(&["--uid", "62001", "--section", "uids"]);
    assert!(
        table.stdout.contains("getppid 12345, fchdir 678 (678 err)"),
        "{}",
        table.stdout
    );
}

#[test]
fn reset_snapshot_and_diff_give_exact_deltas() {
    let Some(_k) = kernel("reset_snapshot_and_diff_give_exact_deltas") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("diff"));
    let d = Daemon::host(dir.path(), fs.path());
    let u = 62011;
    let ok = |args: &[&str]| {
        let r = d.memstat(args);
        assert_eq!(r.code, 0, "memstat {args:?}: {}{}", r.stdout, r.stderr);
        r
    };

    run(Workload::new().getppid(1_000), u); // before the reset: not in the window
    ok(&["--reset"]);
    run(Workload::new().getppid(100).badfd(10), u);
    ok(&["--snapshot", "s1"]);
    run(Workload::new().getppid(50).badfd(5), u);
    ok(&["--snapshot", "s2"]);

    let now = ok(&["--uid", "62011", "--json"]).json();
    assert_eq!(
        calls(&now, u, "getppid"),
        (150, 0),
        "the window starts at the reset"
    );

    let diff = ok(&["--diff", "s1", "s2", "--uid", "62011", "--json"]).json();
    assert_eq!(diff["diff"], "interval");
    assert_eq!(
        change(&diff, u, "syscalls.getppid.count"),
        (100, 150, 50, Some(50.0))
    );
    assert_eq!(
        change(&diff, u, "syscalls.fchdir.errors"),
        (10, 15, 5, Some(50.0))
    );

    // Thresholds cross exactly when the change is beyond them.
    let gate = |t: &str| {
        d.memstat(&["--diff", "s1", "s2", "--uid", "62011", "--fail-if", t])
            .code
    };
    assert_eq!(
        gate("syscalls.getppid.count>+50%"),
        0,
        "+50% is not above +50%"
    );
    assert_eq!(gate("syscalls.getppid.count>=+50%"), 1);
    assert_eq!(gate("syscalls.getppid.count>+49.9%"), 1);
    assert_eq!(gate("syscalls.fchdir.errors>+5"), 0);
    assert_eq!(gate("syscalls.fchdir.errors>+4"), 1);
    assert_eq!(gate("syscalls.fchdir.errors<15"), 0);
    assert_eq!(gate("syscalls.fchdir.errors<=15"), 1);
    // A syscall named by its number is the same metric.
    let by_number = format!("syscalls.sys_{}.count>149", libc::SYS_getppid);
    assert_eq!(report_gate_now(&d, &by_number), 1);
    let failed = d.memstat(&[
        "--diff",
        "s1",
        "s2",
        "--uid",
        "62011",
        "--fail-if",
        "syscalls.getppid.count>+49%",
    ]);
    assert!(
        failed
            .stdout
            .contains("syscalls.getppid.count went 100 -> 150"),
        "{}",
        failed.stdout
    );
    // In a report, plain values.
    let report_gate = |t: &str| d.memstat(&["--uid", "62011", "--fail-if", t]).code;
    assert_eq!(report_gate("syscalls.getppid.count>150"), 0);
    assert_eq!(report_gate("syscalls.getppid.count>149"), 1);

    // A second run after a reset, compared with the first.
    ok(&["--reset"]);
    run(Workload::new().getppid(120), u);
    let cmp = ok(&["--diff", "s2", "--uid", "62011", "--json"]).json();
    assert_eq!(cmp["diff"], "comparison");
    assert_eq!(
        change(&cmp, u, "syscalls.getppid.count"),
        (150, 120, -30, Some(-20.0))
    );
    assert_eq!(
        d.memstat(&[
            "--diff",
            "s2",
            "--uid",
            "62011",
            "--fail-if",
            "syscalls.getppid.count<-19%"
        ])
        .code,
        1
    );
}

/// The exit code of a report for UID 62011 gated by `threshold`.
fn report_gate_now(d: &Daemon, threshold: &str) -> i32 {
    d.memstat(&["--uid", "62011", "--fail-if", threshold]).code
}

#[test]
fn a_diff_across_a_reset_of_the_kernel_counters_is_refused() {
    let Some(_k) = kernel("a_diff_across_a_reset_of_the_kernel_counters_is_refused") else {
        return;
    };
    let dir = TempDir::new("refuse");
    let u = 62021;
    let fs = Bpffs::new().unwrap();
    let mut d = Daemon::host(dir.path(), fs.path());
    assert_eq!(d.memstat(&["--reset"]).code, 0);
    run(Workload::new().getppid(10), u);
    assert_eq!(d.memstat(&["--snapshot", "before"]).code, 0);
    assert_eq!(d.stop().code(), Some(0));

    // New pins: the kernel's counters start again from zero, outside memstat.
    let fresh = Bpffs::new().unwrap();
    let d2 = Daemon::host(dir.path(), fresh.path());
    drop(d);
    run(Workload::new().getppid(10), u);
    let r = d2.memstat(&["--diff", "before", "--uid", "62021"]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("cannot account for"), "{}", r.stderr);
    assert!(r.stderr.contains("maps recreated"), "{}", r.stderr);
    // The new generation counts from the new maps' creation: nothing lost.
    let j = d2.memstat(&["--uid", "62021", "--json"]).json();
    assert_eq!(calls(&j, u, "getppid"), (10, 0));
    assert_eq!(j["header"]["generation"]["cause"]["kind"], "counters_reset");
    // Once a run starts with --reset, it compares with the old one again.
    assert_eq!(d2.memstat(&["--reset"]).code, 0);
    run(Workload::new().getppid(30), u);
    let cmp = d2
        .memstat(&["--diff", "before", "--uid", "62021", "--json"])
        .json();
    assert_eq!(
        change(&cmp, u, "syscalls.getppid.count"),
        (10, 30, 20, Some(200.0))
    );
}

#[test]
fn a_non_root_caller_sees_only_its_own_uid() {
    let Some(_k) = kernel("a_non_root_caller_sees_only_its_own_uid") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("nonroot"));
    let d = Daemon::host(dir.path(), fs.path());
    let (me, other) = (62031, 62032);
    run(Workload::new().getppid(31), me);
    run(Workload::new().getppid(32), other);

    let r = d.memstat_as(Some(me), &["--json", "-a"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    let uids: Vec<u64> = j["uids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["uid"].as_u64().unwrap())
        .collect();
    assert_eq!(uids, [u64::from(me)], "only the caller's UID");
    assert_eq!(calls(&j, me, "getppid"), (31, 0));

    let denied = d.memstat_as(Some(me), &["--uid", "62032"]);
    assert_eq!(denied.code, 3);
    assert!(
        denied
            .stderr
            .contains("may see only its own UID, not uid 62032"),
        "{}",
        denied.stderr
    );
    assert_eq!(d.memstat_as(Some(me), &["--reset"]).code, 3);
    assert_eq!(d.memstat_as(Some(me), &["--snapshot", "x"]).code, 3);
    assert_eq!(d.memstat_as(Some(me), &["--latency", "on"]).code, 3);
    // Root sees both.
    let all = d.memstat(&["--json"]).json();
    assert_eq!(calls(&all, other, "getppid"), (32, 0));
}

#[test]
fn kill_9_and_restart_lose_no_counts_and_keep_baselines_and_snapshots() {
    let Some(_k) = kernel("kill_9_and_restart_lose_no_counts_and_keep_baselines_and_snapshots")
    else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("kill9"));
    let mut d = Daemon::host(dir.path(), fs.path());
    let u = 62041;
    run(Workload::new().getppid(7), u);
    assert_eq!(d.memstat(&["--reset"]).code, 0);
    run(Workload::new().getppid(1_000).badfd(3), u);
    assert_eq!(d.memstat(&["--snapshot", "mid"]).code, 0);
    let before = d.memstat(&["--uid", "62041", "--json"]).json();
    let generation = before["header"]["generation"].clone();

    d.kill9();
    d.restart();
    run(Workload::new().getppid(500), u);

    let after = d.memstat(&["--uid", "62041", "--json"]).json();
    assert_eq!(
        after["header"]["generation"], generation,
        "the baseline survives"
    );
    assert_eq!(
        calls(&after, u, "getppid"),
        (1_500, 0),
        "nothing counted before the crash is lost"
    );
    assert_eq!(calls(&after, u, "fchdir"), (3, 3));
    let diff = d
        .memstat(&["--diff", "mid", "--uid", "62041", "--json"])
        .json();
    assert_eq!(diff["diff"], "interval");
    assert_eq!(
        change(&diff, u, "syscalls.getppid.count"),
        (1_000, 1_500, 500, Some(50.0))
    );
    assert!(d.log().contains("goes on"), "{}", d.log());
}

/// Sends raw bytes and reads the raw answer. A daemon that rejects a
/// request closes without reading the rest of it, so the answer may end in
/// a connection reset: what came before it is the answer.
fn raw(socket: &Path, bytes: &[u8]) -> Vec<u8> {
    let mut s = UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.write_all(bytes);
    let _ = s.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = s.read(&mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[test]
fn bad_arguments_and_garbage_get_clear_errors_and_the_daemon_serves_on() {
    let Some(_k) = kernel("bad_arguments_and_garbage_get_clear_errors_and_the_daemon_serves_on")
    else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("garbage"));
    let d = Daemon::host_with(
        dir.path(),
        fs.path(),
        &[
            "--max-clients".as_ref(),
            "2".as_ref(),
            "--request-timeout".as_ref(),
            "1".as_ref(),
        ],
    );
    for (args, says) in [
        (
            &["--bogus"][..],
            "unknown argument \"--bogus\"; valid: -h, -a",
        ),
        (
            &["--sort", "size"],
            "--sort: unknown column \"size\"; valid: syscalls",
        ),
        (&["--section", "nope"], "unknown section \"nope\""),
        (&["--uid", "x"], "--uid: \"x\" is not a UID"),
        (&["--diff", "../x"], "bad snapshot name"),
        (&["--snapshot", "../etc"], "bad snapshot name"),
        (&["--fail-if", "syscalls.errors>+5%"], "use it with --diff"),
    ] {
        let r = d.memstat(args);
        assert_eq!(r.code, 2, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
    }

    // Garbage on the socket: an end frame (E) with status 5 and the reason.
    let answer = raw(&d.socket, b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(answer[0], b'E');
    assert_eq!(answer[5], 5);
    assert!(String::from_utf8_lossy(&answer).contains("memstat magic"));
    let mut huge = b"MSTAT\x01".to_vec();
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(String::from_utf8_lossy(&raw(&d.socket, &huge)).contains("the limit is 65536"));
    // A client that never finishes its request is cut off by the time limit.
    let mut slow = UnixStream::connect(&d.socket).unwrap();
    slow.write_all(b"MSTAT").unwrap();
    let mut answer = Vec::new();
    slow.read_to_end(&mut answer).unwrap();
    assert!(String::from_utf8_lossy(&answer).contains("no request within the time limit"));
    // So is one that trickles its request a byte at a time: the limit is on
    // the whole request, not on each read.
    let trickle = UnixStream::connect(&d.socket).unwrap();
    let writer = trickle.try_clone().unwrap();
    let dripping = std::thread::spawn(move || {
        for b in b"MSTAT\x01\x03\0\0\0-a\0".repeat(4) {
            if (&writer).write_all(&[b]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    let mut answer = Vec::new();
    let _ = (&trickle).read_to_end(&mut answer);
    assert!(
        String::from_utf8_lossy(&answer).contains("no request within the time limit"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    drop(trickle);
    dripping.join().unwrap();
    // More clients at once than allowed: the extra ones hear "busy". (The
    // clients above are done once their slots' input is drained: 100 ms.)
    std::thread::sleep(Duration::from_millis(300));
    let idle: Vec<UnixStream> = (0..2)
        .map(|_| UnixStream::connect(&d.socket).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let busy = d.memstat(&[]);
    assert_eq!(busy.code, 5, "{}\n{}", busy.stderr, d.log());
    assert!(busy.stderr.contains("memstatd is busy"), "{}", busy.stderr);
    drop(idle);
    // Clients that connect and vanish, before or after asking for a dump.
    for _ in 0..20 {
        drop(UnixStream::connect(&d.socket).unwrap());
        let mut s = UnixStream::connect(&d.socket).unwrap();
        // The daemon may have answered "busy" and closed already.
        let _ = s.write_all(b"MSTAT\x01\x03\0\0\0-a\0");
    }
    std::thread::sleep(Duration::from_millis(1_500)); // every slot has timed out

    // Help is built into the CLI: it needs no daemon.
    let help = std::process::Command::new(memstat_tests::workspace_bin("memstat"))
        .args(["--socket", "/nonexistent", "-h"])
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--fail-if"));

    let u = 62051;
    run(Workload::new().getppid(51), u);
    let j = d.memstat(&["--uid", "62051", "--json"]).json();
    assert_eq!(
        calls(&j, u, "getppid"),
        (51, 0),
        "still serving, still exact"
    );
}

#[test]
fn device_mode_serves_pins_another_loader_made() {
    let Some(_k) = kernel("device_mode_serves_pins_another_loader_made") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("device"));
    // The daemon starts first and waits for the loader, as on a device.
    let pins = fs.path().to_owned();
    let loader = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        load_builtin(&pins, syscalls::OBJECT);
    });
    let d = Daemon::start(
        dir.path(),
        &[
            "--device".as_ref(),
            "--pin-root".as_ref(),
            fs.path().as_os_str(),
        ],
    );
    loader.join().unwrap();
    let u = 62061;
    run(Workload::new().getppid(61).badfd(6), u);
    let j = d.memstat(&["--uid", "62061", "--json"]).json();
    assert_eq!(j["header"]["mode"], "device");
    assert_eq!(calls(&j, u, "getppid"), (61, 0));
    assert_eq!(calls(&j, u, "fchdir"), (6, 6));
    assert!(d.log().contains("waiting for"), "{}", d.log());
}

#[test]
fn sigterm_stops_cleanly_and_removes_the_socket() {
    let Some(_k) = kernel("sigterm_stops_cleanly_and_removes_the_socket") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("sigterm"));
    let mut d = Daemon::host(dir.path(), fs.path());
    assert!(d.socket.exists());
    let status = d.stop();
    assert_eq!(status.code(), Some(0), "{}", d.log());
    assert!(!d.socket.exists());
    assert!(d.log().contains("stopping"), "{}", d.log());
}

#[test]
fn no_daemon_is_explained() {
    let dir = TempDir::new("nodaemon");
    let out = std::process::Command::new(memstat_tests::workspace_bin("memstat"))
        .arg("--socket")
        .arg(dir.path().join("none.sock"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no memstatd is serving on") && err.contains("memstatd --host"),
        "{err}"
    );
}

#[test]
fn latency_mode_switches_from_the_cli() {
    let Some(_k) = kernel("latency_mode_switches_from_the_cli") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("latency"));
    let d = Daemon::host(dir.path(), fs.path());
    assert_eq!(d.memstat(&["--latency", "on"]).code, 0);
    let u = 62071;
    run(Workload::new().sleep(4, 10).getppid(100), u);
    let j = d.memstat(&["--uid", "62071", "--json", "-a"]).json();
    assert_eq!(j["header"]["latency_mode"], true);
    let row = uid_row(&j, u);
    let total = row["syscalls"].as_u64().unwrap();
    // Every call of a UID that started after latency mode was on is timed.
    assert_eq!(row["latency"]["samples"].as_u64().unwrap(), total);
    // 4 of the ~130 calls took >= 8 ms (bucket 2^23 ns and up): p99 is above 8 ms.
    assert!(
        row["latency"]["p99_ns"].as_u64().unwrap() >= 1 << 23,
        "{row}"
    );
    assert_eq!(d.memstat(&["--latency", "off"]).code, 0);
    let j = d.memstat(&["--json", "--section", "header"]).json();
    assert_eq!(j["header"]["latency_mode"], false);
}

#[test]
fn watch_redraws_interval_deltas() {
    let Some(_k) = kernel("watch_redraws_interval_deltas") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("watch"));
    let d = Daemon::host(dir.path(), fs.path());
    let u = 62081;
    run(Workload::new().getppid(5_000), u); // before the watch: not in its interval
    let watch = std::process::Command::new(memstat_tests::workspace_bin("memstat"))
        .arg("--socket")
        .arg(&d.socket)
        .args(["--watch", "2", "--count", "1", "--uid", "62081"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    run(Workload::new().getppid(777), u);
    let out = watch.wait_with_output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("62081 "))
        .unwrap_or_else(|| panic!("no row for 62081:\n{text}"));
    assert!(
        line.contains("getppid 777"),
        "only the interval's calls: {line}"
    );
}

/// Sets `kernel.bpf_stats_enabled` for its lifetime.
struct BpfStats(String);

impl BpfStats {
    const PATH: &str = "/proc/sys/kernel/bpf_stats_enabled";

    fn on() -> Self {
        let was = std::fs::read_to_string(Self::PATH).unwrap();
        std::fs::write(Self::PATH, "1").unwrap();
        BpfStats(was)
    }
}

impl Drop for BpfStats {
    fn drop(&mut self) {
        let _ = std::fs::write(Self::PATH, self.0.trim());
    }
}

#[test]
fn the_self_section_shows_memory_and_program_runs() {
    let Some(_k) = kernel("the_self_section_shows_memory_and_program_runs") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("self"));
    let d = Daemon::host(dir.path(), fs.path());
    let _stats = BpfStats::on();
    let runs = || {
        let j = d.memstat(&["--json", "--section", "self"]).json();
        let exit = &j["self"]["programs"][0];
        assert_eq!(exit["section"], syscalls::PROG_SYS_EXIT);
        assert_eq!(exit["attached"], true);
        (j["self"].clone(), exit["run_count"].as_u64().unwrap())
    };
    let (_, before) = runs();
    run(Workload::new().getppid(5_000), 62091);
    let (daemon, after) = runs();
    // sys_exit ran at least once per getppid call (and for every other
    // syscall on the machine meanwhile).
    assert!(after - before >= 5_000, "{before} -> {after}");
    assert!(daemon["programs"][0]["avg_ns"].as_u64().unwrap() > 0);
    assert_eq!(daemon["bpf_stats_enabled"], true);
    assert_eq!(daemon["pid"], d.pid());
    assert!(daemon["rss_bytes"].as_u64().unwrap() > 0);
    let maps = daemon["maps"].as_array().unwrap();
    let sum: u64 = maps
        .iter()
        .map(|m| m["memlock_bytes"].as_u64().unwrap())
        .sum();
    assert_eq!(daemon["map_bytes"].as_u64().unwrap(), sum);
    // The rows map holds every row on every possible CPU, preallocated.
    let rows = maps
        .iter()
        .find(|m| m["name"] == syscalls::MAP_ROWS)
        .unwrap();
    let cpus = memstatd::bpf::possible_cpus().unwrap() as u64;
    let least = syscalls::ROWS as u64 * memstatd::abi::ROW_BYTES as u64 * cpus;
    assert!(
        rows["memlock_bytes"].as_u64().unwrap() >= least,
        "{rows}: at least {least}"
    );
}

#[test]
fn without_counters_it_reports_why_and_refuses_to_snapshot_or_gate() {
    let Some(_k) = kernel("without_counters_it_reports_why_and_refuses_to_snapshot_or_gate") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("nocounters"));
    load_builtin(fs.path(), syscalls::OBJECT);
    // A pin the group needs is gone: the group is unavailable.
    std::fs::remove_file(memstatd::abi::map_pin(
        fs.path(),
        syscalls::OBJECT,
        syscalls::MAP_LATENCY,
    ))
    .unwrap();
    let d = Daemon::start(
        dir.path(),
        &[
            "--device".as_ref(),
            "--pin-root".as_ref(),
            fs.path().as_os_str(),
        ],
    );
    let r = d.memstat(&["--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["probes"][0]["state"], "unavailable");
    assert!(
        j["probes"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("syscall_latency"),
        "{j}"
    );
    for args in [
        &["--snapshot", "empty"][..],
        &["--fail-if", "syscalls.count>0"],
        &["--reset"],
    ] {
        let r = d.memstat(args);
        assert_eq!(r.code, 4, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("syscalls probe group is unavailable"),
            "{}",
            r.stderr
        );
    }
}

#[test]
fn a_file_in_the_sockets_place_is_left_alone() {
    let dir = TempDir::new("notasocket");
    let precious = dir.path().join("precious.txt");
    std::fs::write(&precious, "keep me").unwrap();
    let out = std::process::Command::new(memstat_tests::workspace_bin("memstatd"))
        .args(["--host", "--pin-root", "/nonexistent/pins", "--socket"])
        .arg(&precious)
        .args(["--state-dir"])
        .arg(dir.path().join("state"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exists and is not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "keep me");
}

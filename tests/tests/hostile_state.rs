//! The state directory against hostile local users and broken disks: files
//! planted or linked by another user are never followed, written through or
//! read; a directory that is not memstatd's is left alone; special files
//! never hang a request; a read-only or full directory leaves the daemon
//! serving, with state changes failing (status 4) and saying why; listing
//! snapshots reads no file it already knows; snapshots are root's.
//! Workloads and other users are UIDs 661xx.

use memstat_tests::statefs::{run_within, Tmpfs};
use memstat_tests::{kernel, wait_ok, workspace_bin, Bpffs, Daemon, Run, TempDir, Workload};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");

/// What must never hang is given this long.
const LIMIT: Duration = Duration::from_secs(10);

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
}

/// Runs `cmd ARGS` as `uid`, as that user would; panics unless it succeeds.
fn as_user(uid: u32, cmd: &str, args: &[&Path]) {
    use std::os::unix::process::CommandExt;
    let status = Command::new(cmd)
        .args(args)
        .uid(uid)
        .gid(uid)
        .status()
        .unwrap();
    assert!(status.success(), "{cmd} {args:?} as uid {uid}: {status}");
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: c is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "{path:?}");
}

/// `memstat ARGS` against `d` as root, killed if it takes more than [`LIMIT`].
fn memstat_within(d: &Daemon, args: &[&str]) -> Run {
    let mut cmd = Command::new(workspace_bin("memstat"));
    cmd.arg("--socket").arg(&d.socket).args(args);
    let out = run_within(cmd, LIMIT)
        .unwrap_or_else(|| panic!("memstat {args:?} did not end within {LIMIT:?}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The entries of `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Asserts that `args` fail with status 4 and a message containing `says`.
fn fails(d: &Daemon, args: &[&str], says: &str) {
    let r = d.memstat(args);
    assert_eq!(r.code, 4, "{args:?}: {}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
}

/// The snapshots `--list-snapshots --json` lists: (name, generation id).
fn listed(d: &Daemon) -> Vec<(String, u64)> {
    let j = memstat_within(d, &["--list-snapshots", "--json"]).json();
    j["snapshots"]
        .as_array()
        .unwrap_or_else(|| panic!("no snapshots in {j}"))
        .iter()
        .map(|s| {
            let name = s["name"].as_str().unwrap().to_owned();
            (name, s["generation"]["id"].as_u64().unwrap())
        })
        .collect()
}

#[test]
fn a_planted_temporary_symlink_is_never_written_through() {
    let Some(_k) = kernel("a_planted_temporary_symlink_is_never_written_through") else {
        return;
    };
    let (fs_, dir) = (Bpffs::new().unwrap(), TempDir::new("tmplink"));
    let victim = dir.path().join("victim");
    fs::write(&victim, "precious").unwrap();
    let d = Daemon::host(dir.path(), fs_.path());
    let snaps = d.state.join("snapshots");
    std::os::unix::fs::symlink(&victim, snaps.join(".s.json.tmp")).unwrap();
    let r = d.memstat(&["--snapshot", "s"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(fs::symlink_metadata(snaps.join("s.json"))
        .unwrap()
        .is_file());
    assert_eq!(entries(&snaps), ["s.json"]);
    assert_eq!(d.memstat(&["--diff", "s"]).code, 0);
}

#[test]
fn a_state_directory_of_another_user_is_left_alone() {
    let Some(_k) = kernel("a_state_directory_of_another_user_is_left_alone") else {
        return;
    };
    let user = 66121;
    let (fs_, dir) = (Bpffs::new().unwrap(), TempDir::new("foreign"));
    let victim = dir.path().join("victim");
    fs::write(&victim, "precious").unwrap();
    // The user made the state directory before memstatd, and planted a
    // symlink to root's file and a link to a file of their own where
    // memstatd writes its temporary files.
    let state = dir.path().join("state");
    fs::create_dir(&state).unwrap();
    chown(&state, user);
    let (snaps, mine) = (state.join("snapshots"), state.join("mine"));
    as_user(user, "mkdir", &[&snaps]);
    as_user(user, "touch", &[&mine]);
    as_user(
        user,
        "ln",
        &["-s".as_ref(), &victim, &snaps.join(".s.json.tmp")],
    );
    as_user(user, "ln", &[&mine, &snaps.join(".t.json.tmp")]);
    let d = Daemon::host(dir.path(), fs_.path());

    let r = d.memstat(&["--json", "-a"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let says = format!("state is owned by uid {user}, not by memstatd's user (uid 0)");
    fails(&d, &["--snapshot", "s"], &says);
    fails(&d, &["--snapshot", "t"], &says);
    fails(&d, &["--reset"], &says);
    fails(&d, &["--list-snapshots"], &says);
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(
        fs::read(&mine).unwrap(),
        b"",
        "no UID's counts for the user"
    );
    assert_eq!(entries(&state), ["mine", "snapshots"]);
    assert_eq!(entries(&snaps), [".s.json.tmp", ".t.json.tmp"]);
    let m = fs::metadata(&state).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (user, 0o755));
}

#[test]
fn snapshots_linked_to_a_users_file_are_not_read() {
    let Some(_k) = kernel("snapshots_linked_to_a_users_file_are_not_read") else {
        return;
    };
    let user = 66141;
    let (fs_, dir) = (Bpffs::new().unwrap(), TempDir::new("linked"));
    let d = Daemon::host(dir.path(), fs_.path());
    assert_eq!(d.memstat(&["--snapshot", "real"]).code, 0);
    let snaps = d.state.join("snapshots");
    // A file of the user's with what a snapshot holds (a forged window).
    let theirs = dir.path().join("theirs.json");
    fs::copy(snaps.join("real.json"), &theirs).unwrap();
    chown(&theirs, user);
    std::os::unix::fs::symlink(&theirs, snaps.join("soft.json")).unwrap();
    fs::hard_link(&theirs, snaps.join("hard.json")).unwrap();

    fails(
        &d,
        &["--diff", "soft"],
        "soft.json is unreadable (a symlink, which memstatd never follows)",
    );
    fails(
        &d,
        &["--diff", "hard"],
        &format!("hard.json is unreadable (owned by uid {user}, not by memstatd's user (uid 0))"),
    );
    let ids = listed(&d);
    assert_eq!(ids.len(), 3, "{ids:?}");
    for (name, id) in ids {
        assert_eq!(id == 0, name != "real", "{name}: generation {id}");
    }
}

/// `generation.json` of `d`'s state, as JSON.
fn generation_file(d: &Daemon) -> Value {
    serde_json::from_slice(&fs::read(d.state.join("generation.json")).unwrap()).unwrap()
}

#[test]
fn a_forged_baseline_never_passes_a_gate() {
    let Some(_k) = kernel("a_forged_baseline_never_passes_a_gate") else {
        return;
    };
    let (victim, attacker) = (66131, 66132);
    let (fs_, dir) = (Bpffs::new().unwrap(), TempDir::new("forged"));
    let mut d = Daemon::host(dir.path(), fs_.path());
    assert_eq!(d.memstat(&["--reset"]).code, 0);
    let honest = generation_file(&d);
    wait_ok(
        Workload::new()
            .badfd(50)
            .spawn_as(Path::new(WORKLOAD), victim),
    );
    // The baseline of a moment after the errors, under the honest
    // generation's id and start: its window would hold no error.
    assert_eq!(d.memstat(&["--reset"]).code, 0);
    let mut forged = honest.clone();
    forged["baseline"] = generation_file(&d)["baseline"].clone();
    d.stop();
    let gate = |d: &Daemon| {
        let uid = victim.to_string();
        let r = d.memstat(&["--uid", &uid, "--fail-if", "syscalls.errors>10"]);
        assert_eq!(
            r.code, 1,
            "the gate must not pass: {}{}",
            r.stdout, r.stderr
        );
    };

    // The forged file, of the attacker's, in memstatd's directory.
    let file = d.state.join("generation.json");
    fs::write(&file, forged.to_string()).unwrap();
    chown(&file, attacker);
    d.restart();
    gate(&d);
    let aside = fs::metadata(d.state.join("generation.json.corrupt")).unwrap();
    assert_eq!(aside.uid(), attacker, "set aside");
    d.stop();

    // The whole directory the attacker's.
    fs::write(&file, forged.to_string()).unwrap();
    for entry in fs::read_dir(&d.state).unwrap() {
        chown(&entry.unwrap().path(), attacker);
    }
    chown(&d.state, attacker);
    d.restart();
    gate(&d);
    assert_eq!(fs::read(&file).unwrap(), forged.to_string().as_bytes());
}

#[test]
fn a_state_directory_that_is_a_symlink_is_left_alone() {
    let Some(_k) = kernel("a_state_directory_that_is_a_symlink_is_left_alone") else {
        return;
    };
    let (fs_, dir) = (Bpffs::new().unwrap(), TempDir::new("statelink"));
    let real = dir.path().join("real");
    fs::create_dir(&real).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(real.join("keep"), "x").unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("state")).unwrap();
    let d = Daemon::host(dir.path(), fs_.path());
    assert_eq!(d.memstat(&["--json"]).code, 0);
    fails(&d, &["--reset"], "state is a symlink");
    fails(&d, &["--snapshot", "s"], "state is a symlink");
    assert_eq!(fs::metadata(&real).unwrap().mode() & 0o7777, 0o755);
    assert_eq!(entries(&real), ["keep"]);
}

#[test]
fn a_fifo_in_the_state_never_hangs_a_request() {
    let Some(_k) = kernel("a_fifo_in_the_state_never_hangs_a_request") else {
        return;
    };
    let (fs_, dir) = (Bpffs::new().unwrap(), TempDir::new("fifo"));
    let mut d = Daemon::host(dir.path(), fs_.path());
    mkfifo(&d.state.join("snapshots").join("f.json"));
    let r = memstat_within(&d, &["--list-snapshots", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = &r.json()["snapshots"][0];
    assert_eq!(s["name"], "f");
    assert_eq!(
        s["generation"]["cause"]["reason"],
        "unreadable: a FIFO, not a regular file"
    );
    let r = memstat_within(&d, &["--diff", "f"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("f.json is unreadable (a FIFO, not a regular file)"),
        "{}",
        r.stderr
    );

    // A FIFO for the generation file, at start-up.
    d.stop();
    let file = d.state.join("generation.json");
    fs::remove_file(&file).unwrap();
    mkfifo(&file);
    d.restart();
    assert_eq!(memstat_within(&d, &["--section", "header"]).code, 0);
    assert!(fs::symlink_metadata(&file).unwrap().is_file(), "a new one");
}

#[test]
fn a_read_only_state_directory_serves_and_refuses_changes() {
    let Some(_k) = kernel("a_read_only_state_directory_serves_and_refuses_changes") else {
        return;
    };
    let (fs_, dir) = (Bpffs::new().unwrap(), TempDir::new("rostate"));
    let disk = Tmpfs::mount(&dir.path().join("state"), 8 << 20);
    let mut d = Daemon::host(dir.path(), fs_.path());
    for name in ["a", "b"] {
        assert_eq!(d.memstat(&["--snapshot", name]).code, 0);
    }
    d.stop();
    // A corrupt generation file that cannot be moved aside.
    fs::write(d.state.join("generation.json"), "{not json").unwrap();
    disk.remount_read_only();
    d.restart();

    let r = d.memstat(&["--json", "--section", "header"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let note = r.json()["header"]["state"].as_str().unwrap().to_owned();
    let says = "state is read-only (its lock file: Read-only file system (os error 30))";
    assert!(note.contains(says), "{note}");
    let text = d.memstat(&["--section", "header"]).stdout;
    assert!(text.contains(&format!("state: {note}")), "{text}");
    fails(&d, &["--reset"], says);
    fails(&d, &["--snapshot", "c"], says);
    fails(&d, &["--delete-snapshot", "a"], says);
    // What is on disk is still read.
    let names: Vec<String> = listed(&d).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["a", "b"]);
    let r = d.memstat(&["--diff", "a", "b"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        fs::read(d.state.join("generation.json")).unwrap(),
        b"{not json"
    );
}

#[test]
fn a_full_state_directory_serves_and_refuses_changes() {
    let Some(_k) = kernel("a_full_state_directory_serves_and_refuses_changes") else {
        return;
    };
    let (fs_, dir) = (Bpffs::new().unwrap(), TempDir::new("fullstate"));
    let disk = Tmpfs::mount(&dir.path().join("state"), 64 << 10);
    fs::write(dir.path().join("state/generation.json"), "{not json").unwrap();
    disk.fill();
    let d = Daemon::host(dir.path(), fs_.path());

    let r = d.memstat(&["--json", "--section", "header"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let note = r.json()["header"]["state"].as_str().unwrap().to_owned();
    assert!(
        note.contains("is not on disk (No space left on device (os error 28))"),
        "{note}"
    );
    let says = "No space left on device (os error 28); memstatd serves on";
    fails(&d, &["--reset"], says);
    fails(&d, &["--snapshot", "s"], says);
    assert_eq!(entries(&d.state.join("snapshots")), Vec::<String>::new());
    assert_eq!(d.memstat(&["--json", "-a"]).code, 0);
}

/// Opens of snapshot files (`*.json`) by daemon `d` while `f` runs, as
/// strace sees them.
fn json_opens(d: &Daemon, dir: &Path, f: impl FnOnce()) -> usize {
    let log = dir.join("strace.log");
    // Attached is told by what it logs: nothing from an earlier run.
    let _ = fs::remove_file(&log);
    let mut strace = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat", "-o"])
        .arg(&log)
        .args(["-p", &d.pid().to_string()])
        .spawn()
        .expect("strace (scripts/setup.sh installs it)");
    // Attached once it has written its first line (the daemon's sampler
    // opens /proc files every few seconds; a request opens nothing else).
    let start = std::time::Instant::now();
    loop {
        assert_eq!(d.memstat(&["--section", "header"]).code, 0);
        if fs::read_to_string(&log).is_ok_and(|l| l.contains("open")) {
            break;
        }
        assert!(start.elapsed() < LIMIT, "strace did not attach");
        std::thread::sleep(Duration::from_millis(50));
    }
    f();
    // SAFETY: kill has no memory arguments; strace is our child.
    unsafe { libc::kill(strace.id() as i32, libc::SIGINT) };
    strace.wait().unwrap();
    let log = fs::read_to_string(&log).unwrap();
    log.lines()
        .filter(|l| l.contains("open") && l.contains(".json\""))
        .count()
}

#[test]
fn listing_snapshots_reads_no_file_it_knows() {
    let Some(_k) = kernel("listing_snapshots_reads_no_file_it_knows") else {
        return;
    };
    let (fs_, dir) = (Bpffs::new().unwrap(), TempDir::new("listcost"));
    let d = Daemon::host(dir.path(), fs_.path());
    for i in 0..32 {
        assert_eq!(d.memstat(&["--snapshot", &format!("s{i}")]).code, 0);
    }
    let list = |n| {
        for _ in 0..n {
            let r = d.memstat(&["--list-snapshots"]);
            assert_eq!(r.code, 0, "{}", r.stderr);
            assert_eq!(r.stdout.lines().count(), 2 + 32, "{}", r.stdout);
        }
    };
    assert_eq!(json_opens(&d, dir.path(), || list(100)), 0);
    // Replaced outside the daemon: read once, then known again.
    let snaps = d.state.join("snapshots");
    fs::copy(snaps.join("s1.json"), dir.path().join("copy")).unwrap();
    fs::rename(dir.path().join("copy"), snaps.join("s0.json")).unwrap();
    assert_eq!(json_opens(&d, dir.path(), || list(100)), 1);
}

#[test]
fn snapshots_are_roots_and_a_missing_one_is_a_failure() {
    let Some(_k) = kernel("snapshots_are_roots_and_a_missing_one_is_a_failure") else {
        return;
    };
    let me = 66151;
    let (fs_, dir) = (Bpffs::new().unwrap(), TempDir::new("snapaccess"));
    let d = Daemon::host(dir.path(), fs_.path());
    assert_eq!(d.memstat(&["--snapshot", "before-upgrade"]).code, 0);
    for args in [&["--list-snapshots"][..], &["--diff", "before-upgrade"]] {
        let r = d.memstat_as(Some(me), args);
        assert_eq!(r.code, 3, "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr
                .contains("uid 66151 may not read snapshots, which belong to root"),
            "{}",
            r.stderr
        );
        assert!(!r.stdout.contains("before-upgrade"), "{}", r.stdout);
    }
    assert_eq!(d.memstat_as(Some(me), &["--json"]).code, 0);

    // A snapshot that does not exist is a failure (4); a malformed name is
    // a bad argument (2).
    fails(&d, &["--diff", "nosuch"], "no snapshot \"nosuch\"");
    fails(
        &d,
        &["--delete-snapshot", "nosuch"],
        "no snapshot \"nosuch\"",
    );
    for args in [&["--diff", "../x"][..], &["--delete-snapshot", ".x"]] {
        let r = d.memstat(args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("bad snapshot name"), "{}", r.stderr);
    }
    for i in 1..32 {
        assert_eq!(d.memstat(&["--snapshot", &format!("s{i}")]).code, 0);
    }
    fails(&d, &["--snapshot", "s32"], "32 snapshots are kept already");
}

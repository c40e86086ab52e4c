//! Hostile local users and broken state against the numbers: who may open
//! the pins, stale program pins, groups that stand on their own when
//! another is down, gates that never pass on counts that went to a bucket
//! of no UID, and what an ordinary user may see of other users' activity.
//! Workloads run as UIDs 662xx, one range per test.

use memstat_tests::hostile::{fill_map, obj_get_as, pins_under, stale_programs, take_every_slot};
use memstat_tests::{kernel, load_builtin, wait_ok, workspace_bin, Bpffs, Daemon, Interactive};
use memstat_tests::{TempDir, Workload};
use memstatd::abi::{memory as mabi, syscalls, SyscallCounts, SyscallKey};
use memstatd::probes::memory::GROUPS;
use serde_json::Value;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");
const EACCES: i32 = libc::EACCES;

fn run(w: Workload, uid: u32) {
    wait_ok(w.spawn_as(Path::new(WORKLOAD), uid));
}

fn json(d: &Daemon, args: &[&str]) -> Value {
    let r = d.memstat(args);
    assert_eq!(r.code, 0, "memstat {args:?}: {}", r.stderr);
    r.json()
}

/// The probe status line of `group`.
fn probe<'a>(report: &'a Value, group: &str) -> &'a Value {
    report["probes"]
        .as_array()
        .unwrap_or_else(|| panic!("no probes in {report}"))
        .iter()
        .find(|p| p["group"] == group)
        .unwrap_or_else(|| panic!("no probe {group} in {report}"))
}

/// A metric's change for `uid` in a JSON diff: (from, to, delta).
fn change(diff: &Value, uid: u32, metric: &str) -> Option<(u64, u64, i64)> {
    let row = diff["uids"].as_array()?.iter().find(|u| u["uid"] == uid)?;
    let c = row["changes"]
        .as_array()?
        .iter()
        .find(|c| c["metric"] == metric)?;
    Some((c["from"].as_u64()?, c["to"].as_u64()?, c["delta"].as_i64()?))
}

/// The change of a bucket of no UID in a JSON diff.
fn unattributed(diff: &Value, metric: &str) -> (u64, u64, i64) {
    let c = diff["unattributed"]
        .as_array()
        .unwrap_or_else(|| panic!("no unattributed in {diff}"))
        .iter()
        .find(|c| c["metric"] == metric)
        .unwrap_or_else(|| panic!("no {metric} in {diff}"));
    (
        c["from"].as_u64().unwrap(),
        c["to"].as_u64().unwrap(),
        c["delta"].as_i64().unwrap(),
    )
}

fn mode_of(pin: &Path) -> u32 {
    std::fs::metadata(pin).unwrap().permissions().mode() & 0o7777
}

// ---- Pins that match the mode (item 1) ----

#[test]
fn host_pins_are_roots_unless_a_pin_group_is_named() {
    let Some(_k) = kernel("host_pins_are_roots_unless_a_pin_group_is_named") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("pingroup"));
    let mut d = Daemon::host(dir.path(), fs.path());
    let pins = pins_under(fs.path());
    // 10 objects: each has programs and maps.
    assert!(pins.len() > 40, "{pins:?}");
    let mut modes: Vec<u32> = pins.iter().map(|p| mode_of(p)).collect();
    modes.sort_unstable();
    modes.dedup();
    assert_eq!(modes, [0o440, 0o600, 0o660], "the definitions' modes stay");
    for pin in &pins {
        let meta = std::fs::metadata(pin).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (0, 0), "{}", pin.display());
    }
    // A user of the platform's groups (memstat 1104, system 1000) opens
    // nothing, read-only or not.
    let denied = obj_get_as(66201, 1104, &[1104, 1000], &pins);
    for (pin, got) in pins.iter().zip(&denied) {
        assert_eq!(
            (got.read, got.write),
            (Err(EACCES), Err(EACCES)),
            "{}",
            pin.display()
        );
    }

    // A pin an earlier build left with group 1104 is root's again on reuse.
    d.stop();
    let counts = memstatd::abi::map_pin(fs.path(), syscalls::OBJECT, syscalls::MAP_COUNTS);
    std::os::unix::fs::chown(&counts, None, Some(1104)).unwrap();
    d.restart();
    assert_eq!(std::fs::metadata(&counts).unwrap().gid(), 0);
    drop(d);

    // --pin-group: its members open what the modes let a group open.
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("pingroup2"));
    let _d = Daemon::host_with(
        dir.path(),
        fs.path(),
        &["--pin-group".as_ref(), "66203".as_ref()],
    );
    let pins = pins_under(fs.path());
    let got = obj_get_as(66202, 66202, &[66203], &pins);
    let mut seen = [0usize; 3];
    for (pin, got) in pins.iter().zip(&got) {
        // Maps only programs use are root's group, as their definitions say.
        let gid = if mode_of(pin) == 0o600 { 0 } else { 66203 };
        assert_eq!(std::fs::metadata(pin).unwrap().gid(), gid);
        let want = match mode_of(pin) {
            0o440 => (Ok(()), Err(EACCES)),
            0o660 => (Ok(()), Ok(())),
            0o600 => (Err(EACCES), Err(EACCES)),
            m => panic!("{}: mode {m:o}", pin.display()),
        };
        seen[usize::from(want.0.is_ok()) + usize::from(want.1.is_ok())] += 1;
        assert_eq!((got.read, got.write), want, "{}", pin.display());
    }
    assert!(seen.iter().all(|&n| n > 0), "every mode tried: {seen:?}");
    // A user outside the group still opens nothing.
    let outside = obj_get_as(66204, 66204, &[], &pins);
    assert!(outside.iter().all(|a| a.read == Err(EACCES)));
}

#[test]
fn a_pin_root_another_user_could_write_is_refused() {
    let Some(_k) = kernel("a_pin_root_another_user_could_write_is_refused") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("pinroot"));
    let theirs = fs.path().join("memstat");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(66205), Some(66205)).unwrap();
    let err = memstatd_fails(dir.path(), &theirs);
    assert!(
        err.contains(&format!(
            "pin root {}: is owned by uid 66205, not root",
            theirs.display()
        )),
        "{err}"
    );
    assert!(pins_under(&theirs).is_empty(), "nothing pinned there");

    let link = fs.path().join("link");
    std::os::unix::fs::symlink(fs.path(), &link).unwrap();
    let err = memstatd_fails(dir.path(), &link);
    assert!(err.contains("is a symbolic link"), "{err}");

    // The pin root memstatd makes is 0755 root's, whatever its umask.
    let mine = fs.path().join("fresh");
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 0 && exec \"$@\"")
        .arg("sh")
        .arg(workspace_bin("memstatd"))
        .args(["--host", "--pin-root"])
        .arg(&mine)
        .arg("--socket")
        .arg(dir.path().join("sock2"))
        .arg("--state-dir")
        .arg(dir.path().join("state2"))
        .spawn()
        .unwrap();
    let pin = memstatd::abi::prog_pin(&mine, syscalls::OBJECT, syscalls::PROG_SYS_EXIT);
    let start = Instant::now();
    while !pin.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "memstatd refused its own pin root"
        );
        assert!(start.elapsed() < Duration::from_secs(30), "nothing pinned");
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let meta = std::fs::metadata(&mine).unwrap();
    assert_eq!((meta.uid(), mode_of(&mine)), (0, 0o755));
}

/// memstatd --host on `pins`, which must exit non-zero within 10 s; its
/// stderr.
fn memstatd_fails(dir: &Path, pins: &Path) -> String {
    let mut child = std::process::Command::new(workspace_bin("memstatd"))
        .arg("--host")
        .arg("--pin-root")
        .arg(pins)
        .arg("--socket")
        .arg(dir.join("sock"))
        .arg("--state-dir")
        .arg(dir.join("state"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "memstatd serves on {}, whose owner could replace its pins",
                pins.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(!status.success(), "{err}");
    err
}

// ---- Stale program pins (item 11) ----

/// The `rm ...` a message advises, up to its closing parenthesis.
fn advised_rm(detail: &str) -> String {
    let at = detail
        .find("(rm ")
        .unwrap_or_else(|| panic!("no advice to rm in {detail:?}"));
    let rest = &detail[at + 1..];
    rest[..rest.find(')').unwrap()].to_owned()
}

#[test]
fn a_stale_program_pin_is_refused_and_the_advice_works() {
    let Some(_k) = kernel("a_stale_program_pin_is_refused_and_the_advice_works") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("staleprog"));
    let mut d = Daemon::host(dir.path(), fs.path());
    d.stop();
    // The counts map pin goes; its program pins stay, using the old map.
    let counts = memstatd::abi::map_pin(fs.path(), syscalls::OBJECT, syscalls::MAP_COUNTS);
    std::fs::remove_file(&counts).unwrap();
    d.restart();
    let r = json(&d, &["--json", "--section", "probes"]);
    let p = probe(&r, "syscalls");
    assert_eq!(p["state"], "unavailable", "never live with zeros: {p}");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains("is stale"), "{detail}");
    let rm = advised_rm(detail);
    assert_eq!(
        rm,
        format!("rm {}/prog_memStatSyscalls_*", fs.path().display())
    );
    // The other groups load and count on their own.
    assert_eq!(probe(&r, "reclaim")["state"], "live", "{r}");

    d.stop();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(&rm)
        .output()
        .unwrap();
    assert!(out.status.success(), "{rm}: {out:?}");
    d.restart();
    let uid = 66210;
    run(Workload::new().getppid(321).badfd(7), uid);
    let r = json(&d, &["--json", "--uid", &uid.to_string()]);
    assert_eq!(probe(&r, "syscalls")["state"], "live");
    let calls = &r["uids"][0]["calls"];
    let count = |name: &str| {
        let c = calls
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {r}"));
        (c["count"].as_u64().unwrap(), c["errors"].as_u64().unwrap())
    };
    assert_eq!(count("getppid"), (321, 0));
    assert_eq!(count("fchdir"), (7, 7));
}

#[test]
fn device_mode_reports_stale_program_pins_unavailable() {
    let Some(_k) = kernel("device_mode_reports_stale_program_pins_unavailable") else {
        return;
    };
    let (fs, other, dir) = (
        Bpffs::new().unwrap(),
        Bpffs::new().unwrap(),
        TempDir::new("stale-device"),
    );
    let faults = GROUPS.iter().find(|g| g.name == "faults").unwrap();
    let memsys = GROUPS.iter().find(|g| g.name == "memsyscalls").unwrap();
    for object in [syscalls::OBJECT, faults.object, memsys.object] {
        load_builtin(fs.path(), object);
    }
    stale_programs(fs.path(), other.path(), syscalls::OBJECT);
    stale_programs(fs.path(), other.path(), faults.object);
    let d = Daemon::start(
        dir.path(),
        &[
            "--device".as_ref(),
            "--pin-root".as_ref(),
            fs.path().as_os_str(),
        ],
    );
    let r = json(&d, &["--json"]);
    for group in ["syscalls", "faults"] {
        let p = probe(&r, group);
        assert_eq!(p["state"], "unavailable", "{p}");
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains("is stale"), "{detail}");
        let object = if group == "faults" {
            faults.object
        } else {
            syscalls::OBJECT
        };
        assert_eq!(
            advised_rm(detail),
            format!("rm {}/prog_{object}_*", fs.path().display())
        );
    }
    // The syscall group's rows are not shown as zeros; a group whose pins
    // agree is opened as usual.
    assert!(r.get("uids").is_none(), "{r}");
    assert!(r["syscalls_unavailable"]
        .as_str()
        .unwrap()
        .contains("is stale"));
    assert_eq!(probe(&r, "memsyscalls")["state"], "live", "{r}");
}

// ---- Groups read on their own (item 12) ----

#[test]
fn memory_groups_count_and_gate_while_the_syscall_group_is_unavailable() {
    let Some(_k) = kernel("memory_groups_count_and_gate_while_the_syscall_group_is_unavailable")
    else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("nosyscalls"));
    load_builtin(fs.path(), syscalls::OBJECT);
    let memsys = GROUPS.iter().find(|g| g.name == "memsyscalls").unwrap();
    load_builtin(fs.path(), memsys.object);
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
    assert_eq!(d.memstat(&["--probe", "memsyscalls=on"]).code, 0);
    assert_eq!(d.memstat(&["--reset"]).code, 0, "a reset needs one group");
    let uid = 66220;
    let u = uid.to_string();
    let mut w: Interactive = Workload::new()
        .wait()
        .mmap(100, 65536)
        .wait()
        .start_as(Path::new(WORKLOAD), uid);
    w.pause();
    let r = d.memstat(&["--snapshot", "before"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    w.resume();
    w.pause();

    let diff = json(&d, &["--diff", "before", "--uid", &u, "--json"]);
    let (_, _, calls) = change(&diff, uid, "memsyscalls.mmap.calls").expect("mmap calls");
    let (_, _, bytes) = change(&diff, uid, "memsyscalls.mmap.bytes").expect("mmap bytes");
    assert_eq!((calls, bytes), (100, 100 * 65536));
    assert_eq!(change(&diff, uid, "syscalls.count"), None, "no false zeros");
    assert_eq!(diff["not_compared"][0]["group"], "syscalls", "{diff}");
    // A gate on what was read decides; one on the missing group fails.
    let gate = |t: &str| {
        d.memstat(&["--diff", "before", "--uid", &u, "--fail-if", t])
            .code
    };
    assert_eq!(gate("memsyscalls.mmap.calls>+100"), 0);
    assert_eq!(gate("memsyscalls.mmap.calls>+99"), 1);
    let r = d.memstat(&["--uid", &u, "--fail-if", "syscalls.count>0"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("syscalls probe group is unavailable"),
        "{}",
        r.stderr
    );

    let report = json(&d, &["--json", "--uid", &u]);
    assert!(report.get("uids").is_none(), "{report}");
    assert!(report.get("overflow").is_none(), "{report}");
    assert!(report["syscalls_unavailable"]
        .as_str()
        .unwrap()
        .contains("syscall_latency"));
    let g = report["memory"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "memsyscalls")
        .unwrap();
    assert_eq!(g["state"], "live");
    let mmaps = g["uids"][0]["metrics"]["mmap.calls"].as_u64().unwrap();
    assert!(mmaps >= 100, "{g}");
    let text = d.memstat(&["--uid", &u]).stdout;
    assert!(text.contains("UIDS (syscalls: unavailable)"), "{text}");
    w.finish();
}

// ---- Gates blind to overflow (item 13) ----

#[test]
fn a_gate_cannot_pass_on_calls_that_went_to_the_overflow_bucket() {
    let Some(_k) = kernel("a_gate_cannot_pass_on_calls_that_went_to_the_overflow_bucket") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("overflowgate"));
    let d = Daemon::host(dir.path(), fs.path());
    // This daemon's table only (not every loaded copy's): filled through
    // its pin with pairs of a UID no process has.
    let keys: Vec<Vec<u8>> = (0..syscalls::COUNTS_ENTRIES)
        .map(|i| {
            let key = SyscallKey {
                uid: 66299,
                nr: 1_000_000 + i,
            };
            bytemuck_bytes(&key)
        })
        .collect();
    let counts = memstatd::abi::map_pin(fs.path(), syscalls::OBJECT, syscalls::MAP_COUNTS);
    let value = std::mem::size_of::<SyscallCounts>();
    assert!(fill_map(&counts, value, true, &keys) > 0);
    // And every row given away, so that no UID claims one either.
    let rows: Vec<Vec<u8>> = (0..syscalls::ROWS)
        .map(|r| r.to_ne_bytes().to_vec())
        .collect();
    let owners = memstatd::abi::map_pin(fs.path(), syscalls::OBJECT, syscalls::MAP_ROW_UID);
    assert_eq!(fill_map(&owners, 8, false, &rows), rows.len());
    // And every per-CPU slot.
    take_every_slot(&memstatd::abi::map_pin(
        fs.path(),
        syscalls::OBJECT,
        syscalls::MAP_SLOTS,
    ));
    let full = json(&d, &["--json", "--section", "overflow"]);
    assert_eq!(full["overflow"]["table_used"], syscalls::COUNTS_ENTRIES);
    assert_eq!(d.memstat(&["--reset"]).code, 0);
    assert_eq!(d.memstat(&["--snapshot", "before"]).code, 0);
    let uid = 66230;
    let u = uid.to_string();
    run(Workload::new().badfd(5000), uid);

    let t = "syscalls.errors>+100";
    let r = d.memstat(&["--diff", "before", "--uid", &u, "--fail-if", t]);
    assert_eq!(r.code, 1, "a gate that could not see fails: {}", r.stdout);
    assert!(r.stdout.contains("CANNOT TELL"), "{}", r.stdout);
    let line = r
        .stdout
        .lines()
        .find(|l| l.contains("--fail-if 'syscalls.errors>+100': overflow.errors = "))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    assert!(
        line.ends_with("between snapshot \"before\" and now"),
        "{line}"
    );

    let gated = d.memstat(&["--diff", "before", "--uid", &u, "--json", "--fail-if", t]);
    assert_eq!(gated.code, 1, "with --json too: {}", gated.stdout);
    let diff = gated.json();
    assert_eq!(change(&diff, uid, "syscalls.errors"), Some((0, 0, 0)));
    let (_, _, errors) = unattributed(&diff, "overflow.errors");
    assert!(errors >= 5000, "{diff}");
    let (_, _, calls) = unattributed(&diff, "overflow.count");
    assert!(calls >= errors, "{diff}");
    let u0 = &diff["undetermined"][0];
    assert_eq!(
        (&u0["threshold"], &u0["bucket"]),
        (&Value::from(t), &Value::from("overflow.errors"))
    );
    assert!(u0["lost"].as_u64().unwrap() >= 5000, "{u0}");
    // A report's gate reads its window.
    let r = d.memstat(&["--uid", &u, "--fail-if", "syscalls.errors>100"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("--fail-if 'syscalls.errors>100': overflow.errors = "),
        "{}",
        r.stdout
    );
    // A memory metric's bucket is not the syscall group's overflow.
    assert_eq!(
        d.memstat(&["--uid", &u, "--fail-if", "oom.kills>0"]).code,
        0
    );
}

/// The bytes of a plain-old-data key.
fn bytemuck_bytes(key: &SyscallKey) -> Vec<u8> {
    let mut out = key.uid.to_ne_bytes().to_vec();
    out.extend(key.nr.to_ne_bytes());
    assert_eq!(out.len(), std::mem::size_of::<SyscallKey>());
    out
}

#[test]
fn a_gate_cannot_pass_on_counts_in_a_memory_groups_other_bucket() {
    let Some(_k) = kernel("a_gate_cannot_pass_on_counts_in_a_memory_groups_other_bucket") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("othergate"));
    let d = Daemon::host(dir.path(), fs.path());
    assert_eq!(d.memstat(&["--probe", "memsyscalls=on"]).code, 0);
    let memsys = GROUPS.iter().find(|g| g.name == "memsyscalls").unwrap();
    let pin: PathBuf = memstatd::abi::map_pin(
        fs.path(),
        memsys.object,
        &mabi::map_name(memsys.name, mabi::MAP_UID),
    );
    // UIDs no process has fill the group's per-UID table.
    let keys: Vec<Vec<u8>> = (0..mabi::BUSY_UID_ENTRIES)
        .map(|i| (4_000_000_000u32 + i).to_ne_bytes().to_vec())
        .collect();
    assert!(fill_map(&pin, memsys.value_size(), false, &keys) > 0);
    assert_eq!(d.memstat(&["--snapshot", "before"]).code, 0);
    let uid = 66240;
    let u = uid.to_string();
    run(Workload::new().mmap(100, 65536), uid);

    let t = "memsyscalls.mmap.calls>+50";
    let r = d.memstat(&["--diff", "before", "--uid", &u, "--fail-if", t]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("--fail-if 'memsyscalls.mmap.calls>+50': memsyscalls.other.mmap.calls = "),
        "{}",
        r.stdout
    );
    let diff = json(&d, &["--diff", "before", "--uid", &u, "--json"]);
    let (_, _, lost) = unattributed(&diff, "memsyscalls.other.mmap.calls");
    assert!(lost >= 100, "{diff}");
    assert_eq!(change(&diff, uid, "memsyscalls.mmap.calls"), None, "{diff}");
    let report = json(&d, &["--json", "--section", "memsyscalls"]);
    let other = report["memory"][0]["other"]["mmap.calls"].as_u64().unwrap();
    assert!(other >= 100, "{report}");
    assert_eq!(report["memory"][0]["table_used"], mabi::BUSY_UID_ENTRIES);
}

// ---- What an ordinary user sees (item 4) ----

#[test]
fn an_ordinary_user_sees_no_aggregate_of_other_uids() {
    let Some(_k) = kernel("an_ordinary_user_sees_no_aggregate_of_other_uids") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("aggregates"));
    let d = Daemon::host(dir.path(), fs.path());
    let user = 66250;
    run(Workload::new().getppid(10), user);

    let root = json(&d, &["--json"]);
    assert!(root["overflow"]["count"].is_u64(), "{root}");
    assert!(root.get("withheld").is_none(), "{root}");
    assert!(root["memory"][0]["other"].is_object(), "{root}");

    let r = d.memstat_as(Some(user), &["--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mine = r.json();
    assert!(mine.get("overflow").is_none(), "{mine}");
    assert_eq!(
        mine["withheld"],
        serde_json::json!(["overflow", "memory.other", "system.pagetypes"])
    );
    for g in mine["memory"].as_array().unwrap() {
        assert!(
            g.get("other").is_none() && g.get("table_used").is_none(),
            "{g}"
        );
        assert!(g["table_entries"].is_u64(), "{g}");
    }
    let pagetypes = &mine["system"]["pagetypes"];
    assert_eq!(
        (
            &pagetypes["state"],
            &pagetypes["error"],
            &pagetypes["errno"]
        ),
        (
            &Value::from("unreadable"),
            &Value::from("withheld: root only"),
            &Value::Null
        ),
        "{pagetypes}"
    );
    let uids: Vec<u64> = mine["uids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["uid"].as_u64().unwrap())
        .collect();
    assert_eq!(uids, [u64::from(user)], "only its own row");

    let text = d.memstat_as(Some(user), &[]).stdout;
    assert!(
        text.contains("OVERFLOW AND DROPS\n  withheld: root only"),
        "{text}"
    );
    assert!(text.contains("together: withheld: root only"), "{text}");
    assert!(!text.contains("calls with no room"), "{text}");
}

//! Device mode makes no prog-load, map-create or BTF-load call (on a device,
//! SELinux allows those to the bpfloader only). memstatd runs in device mode
//! under `strace -e trace=bpf` against pins the host loader made, serves a
//! full dump and a latency switch, and every bpf(2) call it made is checked.

use memstat_tests::{kernel, load_builtin, workspace_bin, Bpffs, TempDir};
use memstatd::abi::{memory, syscalls, tasks};
use memstatd::probes::memory::{Source, GROUPS};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn the_device_path_only_opens_attaches_and_reads() {
    let Some(_k) = kernel("the_device_path_only_opens_attaches_and_reads") else {
        return;
    };
    if Command::new("strace").arg("-V").output().is_err() {
        let why = "strace is not installed (apt-get install strace)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
        eprintln!("SKIPPED the_device_path_only_opens_attaches_and_reads: {why}");
        return;
    }
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("strace"));
    load_builtin(fs.path(), syscalls::OBJECT);
    load_builtin(fs.path(), tasks::OBJECT);
    for g in GROUPS {
        load_builtin(fs.path(), g.object);
    }
    let (log, socket) = (dir.path().join("strace.log"), dir.path().join("sock"));
    let strace = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=bpf", "-o"])
        .arg(&log)
        .arg(workspace_bin("memstatd"))
        .arg("--device")
        .arg("--pin-root")
        .arg(fs.path())
        .arg("--socket")
        .arg(&socket)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .process_group(0)
        .spawn()
        .unwrap();
    // strace and memstatd are killed together if an assertion fails first.
    let mut strace = KillOnDrop(strace);
    let started = Instant::now();
    while UnixStream::connect(&socket).is_err() {
        assert!(strace.0.try_wait().unwrap().is_none(), "memstatd stopped");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "memstatd does not serve"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let memstat = |args: &[&str]| {
        let out = Command::new(workspace_bin("memstat"))
            .arg("--socket")
            .arg(&socket)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "memstat {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    memstat(&["--latency", "on"]);
    memstat(&["-a"]);
    memstat(&["--latency", "off"]);
    let daemon: serde_json::Value =
        serde_json::from_str(&memstat(&["--json", "--section", "self"])).unwrap();
    let pid = daemon["self"]["pid"].as_i64().unwrap() as i32;
    // SAFETY: kill has no memory arguments.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    assert!(
        strace.0.wait().unwrap().success(),
        "memstatd exits 0 on SIGTERM"
    );
    let trace = std::fs::read_to_string(&log).unwrap();

    let calls: Vec<&str> = trace.lines().filter(|l| l.contains("bpf(")).collect();
    for forbidden in ["BPF_PROG_LOAD", "BPF_MAP_CREATE", "BPF_BTF_LOAD"] {
        assert!(
            !trace.contains(forbidden),
            "device path made {forbidden}:\n{trace}"
        );
    }
    let gets: Vec<&&str> = calls
        .iter()
        .filter(|l| l.contains("BPF_OBJ_GET,"))
        .collect();
    // The syscall group's 8 maps and 4 programs, the task counters' 7 maps
    // and 1 program; each memory group's uid, other and config maps and
    // every program it may attach.
    let memory: usize = GROUPS
        .iter()
        .map(|g| {
            let mut sections: Vec<&str> =
                g.hooks
                    .iter()
                    .flat_map(|h| h.sources.iter())
                    .map(|s| match s {
                        Source::Tracepoint { section, .. }
                        | Source::PerfSoftware { section, .. } => *section,
                    })
                    .collect();
            sections.sort_unstable();
            sections.dedup();
            3 + sections.len()
        })
        .sum();
    assert_eq!(
        gets.len(),
        12 + 8 + memory,
        "every map and program opened, once:\n{trace}"
    );
    for get in gets {
        // What memstatd writes: the switches and params, and the task
        // counters' bookkeeping (exits it has accounted for, counts it holds).
        let written = [
            (syscalls::OBJECT, syscalls::MAP_CONFIG),
            (syscalls::OBJECT, syscalls::MAP_WATCH),
            (tasks::OBJECT, tasks::MAP_CONFIG),
            (tasks::OBJECT, tasks::MAP_DEAD),
            (tasks::OBJECT, tasks::MAP_HELD),
        ];
        let writable = written
            .iter()
            .any(|(object, map)| get.contains(&format!("map_{object}_{map}\"")))
            || GROUPS.iter().any(|g| {
                get.contains(&format!(
                    "map_{}_{}",
                    g.object,
                    memory::map_name(g.name, memory::MAP_CONFIG)
                ))
            });
        assert_eq!(
            !get.contains("BPF_F_RDONLY"),
            writable,
            "only the maps memstatd writes are opened writable: {get}"
        );
    }
    assert!(
        calls.iter().any(|l| l.contains("BPF_MAP_LOOKUP_BATCH")),
        "maps are read in batches:\n{trace}"
    );
}

/// A child leading its own process group, all of which is killed on drop.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            // SAFETY: kill has no memory arguments; the group is the child's.
            unsafe { libc::kill(-(self.0.id() as i32), libc::SIGKILL) };
            let _ = self.0.wait();
        }
    }
}

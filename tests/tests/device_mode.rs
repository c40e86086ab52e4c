//! Device mode makes no prog-load, map-create or BTF-load call (on a device,
//! SELinux allows those to the bpfloader only). The pin reader runs the
//! daemon's device path under `strace -e trace=bpf` against pins the host
//! loader made, and every bpf(2) call it makes is checked.

use memstat_tests::{kernel, load_builtin, Bpffs};
use memstatd::abi::syscalls;
use std::process::Command;

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
    let fs = Bpffs::new().unwrap();
    load_builtin(fs.path(), syscalls::OBJECT);
    let log = fs.path().with_extension("strace");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=bpf", "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_pinread"))
        .arg(fs.path())
        .args(["--latency", "on"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pinread failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).unwrap();

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
    assert_eq!(gets.len(), 6, "4 maps and 2 programs opened:\n{trace}");
    for get in gets {
        let writable = get.contains(&format!(
            "map_{}_{}",
            syscalls::OBJECT,
            syscalls::MAP_CONFIG
        ));
        assert_eq!(
            !get.contains("BPF_F_RDONLY"),
            writable,
            "only the config map is opened writable: {get}"
        );
    }
    assert!(
        calls.iter().any(|l| l.contains("BPF_MAP_LOOKUP_BATCH")),
        "maps are read in batches:\n{trace}"
    );
}

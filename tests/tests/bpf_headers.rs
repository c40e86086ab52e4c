//! The host build's stand-in `<bpf_helpers.h>` fails where the platform's
//! does. The platform header has no include guard, so a source that includes
//! it twice (directly, or once more through a header of its own) fails to
//! compile in a Soong build; the stand-in must fail alike, or the host build
//! would pass sources the platform build rejects.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// What a Soong build of tests/objects/badDoubleInclude.c reports against the
/// platform's header (Connectivity 2519a78): one "redefinition of" error per
/// struct and static helper pointer the header defines, and no other error.
const PLATFORM_REDEFINITIONS: [&str; 23] = [
    "bpf_get_current_comm",
    "bpf_get_current_pid_tgid",
    "bpf_get_current_uid_gid",
    "bpf_get_smp_processor_id",
    "bpf_get_stackid",
    "bpf_ktime_get_boot_ns",
    "bpf_ktime_get_ns",
    "bpf_map_delete_elem_unsafe",
    "bpf_map_lookup_elem_unsafe",
    "bpf_map_update_elem_unsafe",
    "bpf_probe_read",
    "bpf_probe_read_str",
    "bpf_probe_read_user",
    "bpf_probe_read_user_str",
    "bpf_ringbuf_output_unsafe",
    "bpf_ringbuf_reserve_unsafe",
    "bpf_ringbuf_submit_unsafe",
    "bpf_sk_fullsock",
    "bpf_sk_storage_delete_unsafe",
    "bpf_sk_storage_get_unsafe",
    "bpf_trace_printk",
    "kver_uint",
    "sdk_level_uint",
];

/// Compiles a fixture of tests/objects with the build's own BPF compiler
/// command, reporting every error; returns whether it compiled, and stderr.
fn compile(fixture: &str) -> (bool, String) {
    let args = std::fs::read_to_string(env!("MEMSTAT_BPF_COMPILE")).unwrap();
    let mut args = args.lines();
    let clang = args.next().expect("compiler in MEMSTAT_BPF_COMPILE");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("objects")
        .join(fixture);
    let out = Command::new(clang)
        .args(args)
        .args(["-ferror-limit=0", "-o", "/dev/null"])
        .arg(&src)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {clang}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn including_bpf_helpers_h_twice_fails_as_in_a_platform_build() {
    let (compiled, stderr) = compile("badDoubleInclude.c");
    assert!(
        !compiled,
        "badDoubleInclude.c compiled: bpf_progs/include/bpf_helpers.h must have no include \
         guard, as the platform's has none, so that a double include fails here as in Soong"
    );
    let errors: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.split_once("error: ").map(|(_, e)| e))
        .collect();
    let redefined: BTreeSet<&str> = errors
        .iter()
        .filter_map(|e| e.strip_prefix("redefinition of '")?.strip_suffix('\''))
        .collect();
    assert_eq!(
        redefined,
        BTreeSet::from(PLATFORM_REDEFINITIONS),
        "the stand-in defines other structs or helpers than the platform's header:\n{stderr}"
    );
    assert_eq!(errors.len(), PLATFORM_REDEFINITIONS.len(), "{stderr}");
}

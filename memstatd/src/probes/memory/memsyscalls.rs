//! memStatMemSyscalls: memory syscalls per UID, with the bytes each asked
//! for: the length of mmap, munmap, madvise and mprotect, mremap's new
//! length, shmget's size, and brk's growth of the break.
//!
//! Each call has its own event, `syscalls:sys_enter_<call>` (brk:
//! `sys_exit_brk`, whose return is the break it leaves), so no program runs
//! for any other syscall. Those events need CONFIG_FTRACE_SYSCALLS, which GKI
//! kernels lack: there mmap is counted from `mmap:vm_unmapped_area`, every
//! search for free address space (mmaps without MAP_FIXED or a free hint,
//! moving mremaps, shmat, exec's mappings) with the length searched, and the
//! other calls' bytes are unavailable (the syscall group counts their calls).
//! brk growth is the break minus the same process image's previous one: a
//! forked child starts from its parent's (`task:task_newtask`), an exec
//! forgets it (`sched:sched_process_exec`), and a process's first brk only
//! sets it (every libc's first is brk(0)). Breaks are noted with a session
//! renewed at every attach: one noted before a detach may predate an exec
//! no program saw, so it is not compared with. A compat task's 32-bit calls
//! fire none of the syscall events.
//!
//! By default the group is duty-cycled ([`super::duty`]): calls and bytes
//! are estimates, a window's counts scaled by the period's length over the
//! window's, since the kernel keeps no global count to scale to. Each window
//! is a session, so a process's first brk in a window only notes its break:
//! the growth of a process that calls brk less than about once a window is
//! missed. The exact number of each call per UID is the syscall group's
//! (`syscalls.mmap.count`, `syscalls.brk.count`, ...), always on;
//! `--probe memsyscalls=on` counts every call and byte exactly.

use super::{count, Column, GroupSpec, Hook, Source, Unit, Value};
use crate::abi::memory::{GROUP_PARAMS, MEMSYSCALLS_PARAM_SESSION, MEM_SYSCALLS};
use crate::bpf::Tracefs;
use crate::probes::format::{read, Read};
use std::time::{SystemTime, UNIX_EPOCH};

/// In the order of the programs' slots.
pub(crate) const SYSCALLS: [&str; MEM_SYSCALLS] = [
    "mmap",
    "munmap",
    "mremap",
    "brk",
    "madvise",
    "mprotect",
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "memfd_create",
];

/// The calls whose bytes the programs count.
const WITH_BYTES: [&str; 7] = [
    "mmap", "munmap", "mremap", "brk", "madvise", "mprotect", "shmget",
];

/// Why a syscall event may be missing.
const NO_SYSCALL_EVENTS: &str =
    "syscalls:* events need CONFIG_FTRACE_SYSCALLS, which GKI kernels lack";

/// The program on `syscalls/<event>`, reading `reads` of its record: the
/// common header, `int __syscall_nr` at 8, then each argument (or the
/// return) as 8 bytes from 16, named as in the kernel's SYSCALL_DEFINE.
macro_rules! syscall_event {
    ($event:literal, $reads:expr) => {
        Source::Tracepoint {
            event: concat!("syscalls/", $event),
            section: concat!("tracepoint/syscalls/", $event),
            reads: $reads,
            layout: "",
        }
    };
}

/// A hook of one syscall event, optional: kernels without syscall events
/// count the rest.
macro_rules! syscall_hook {
    ($event:literal, $reads:expr) => {
        Hook {
            sources: &[syscall_event!($event, $reads)],
            optional: Some(NO_SYSCALL_EVENTS),
        }
    };
}

const LEN: &[Read] = &[read("len", 24, 8)];

pub(crate) static SPEC: GroupSpec = GroupSpec {
    name: "memsyscalls",
    object: "memStatMemSyscalls",
    title: "memory syscalls",
    fields: &[count("calls", MEM_SYSCALLS), count("bytes", MEM_SYSCALLS)],
    hooks: &[
        Hook {
            sources: &[
                syscall_event!("sys_enter_mmap", LEN),
                Source::Tracepoint {
                    event: "mmap/vm_unmapped_area",
                    section: "tracepoint/mmap/vm_unmapped_area",
                    reads: &[read("addr", 8, 8), read("length", 32, 8)],
                    layout: "",
                },
            ],
            optional: None,
        },
        syscall_hook!("sys_enter_munmap", LEN),
        syscall_hook!("sys_enter_mremap", &[read("new_len", 32, 8)]),
        syscall_hook!("sys_exit_brk", &[read("ret", 16, 8)]),
        syscall_hook!("sys_enter_madvise", &[read("len_in", 24, 8)]),
        syscall_hook!("sys_enter_mprotect", LEN),
        syscall_hook!("sys_enter_shmget", &[read("size", 24, 8)]),
        syscall_hook!("sys_enter_shmat", &[]),
        syscall_hook!("sys_enter_shmdt", &[]),
        syscall_hook!("sys_enter_shmctl", &[]),
        syscall_hook!("sys_enter_memfd_create", &[]),
        Hook {
            sources: &[Source::Tracepoint {
                event: "task/task_newtask",
                section: "tracepoint/task/task_newtask",
                reads: &[read("pid", 8, 4), read("clone_flags", 32, 8)],
                layout: "",
            }],
            optional: Some("without it a forked process's first brk growth is not counted"),
        },
        Hook {
            sources: &[Source::Tracepoint {
                event: "sched/sched_process_exec",
                section: "tracepoint/sched/sched_process_exec",
                reads: &[],
                layout: "",
            }],
            optional: Some("without it brk growth across an exec is wrong"),
        },
    ],
    default_on: true,
    samplable: false,
    params: new_session,
    metrics,
    columns: &[
        Column {
            header: "MMAP",
            metric: "mmap.calls",
            unit: Unit::Count,
        },
        Column {
            header: "BYTES",
            metric: "mmap.bytes",
            unit: Unit::Bytes,
        },
        Column {
            header: "MUNMAP",
            metric: "munmap.calls",
            unit: Unit::Count,
        },
        Column {
            header: "BYTES",
            metric: "munmap.bytes",
            unit: Unit::Bytes,
        },
        Column {
            header: "BRK",
            metric: "brk.calls",
            unit: Unit::Count,
        },
        Column {
            header: "GROWTH",
            metric: "brk.bytes",
            unit: Unit::Bytes,
        },
        Column {
            header: "MADVISE",
            metric: "madvise.calls",
            unit: Unit::Count,
        },
        Column {
            header: "MPROTECT",
            metric: "mprotect.calls",
            unit: Unit::Count,
        },
        Column {
            header: "MREMAP",
            metric: "mremap.calls",
            unit: Unit::Count,
        },
        Column {
            header: "SHM",
            metric: "shm.calls",
            unit: Unit::Count,
        },
        Column {
            header: "MEMFD",
            metric: "memfd_create.calls",
            unit: Unit::Count,
        },
    ],
};

/// A new session for an attach: milliseconds of the clock, never 0, so that
/// it differs from any session of the last 49 days.
fn new_session(_: &Tracefs) -> Result<[u32; GROUP_PARAMS], String> {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u32;
    let mut p = [0; GROUP_PARAMS];
    p[MEMSYSCALLS_PARAM_SESSION] = ms.max(1);
    Ok(p)
}

fn metrics(v: &Value) -> Vec<(String, u64)> {
    let (calls, bytes) = (v.field("calls"), v.field("bytes"));
    let mut out = Vec::new();
    let mut shm = 0u64;
    for (i, name) in SYSCALLS.iter().enumerate() {
        let n = calls.get(i).copied().unwrap_or(0);
        out.push((format!("{name}.calls"), n));
        if WITH_BYTES.contains(name) {
            out.push((format!("{name}.bytes"), bytes.get(i).copied().unwrap_or(0)));
        }
        if name.starts_with("shm") {
            shm = shm.saturating_add(n);
        }
    }
    out.push(("shm.calls".into(), shm));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::format::Format;

    /// A syscalls:* format file as this machine's 6.18 kernel prints it.
    fn syscall_format(args: &[(&str, &str)]) -> Format {
        let mut text = String::from(
            "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
             \tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n",
        );
        for (i, (decl, name)) in args.iter().enumerate() {
            text += &format!(
                "\tfield:{decl} {name};\toffset:{};\tsize:8;\tsigned:0;\n",
                16 + 8 * i
            );
        }
        Format::parse(&text)
    }

    fn reads_of(event: &str) -> &'static [Read] {
        SPEC.hooks
            .iter()
            .flat_map(|h| h.sources)
            .find_map(|s| match s {
                Source::Tracepoint {
                    event: e, reads, ..
                } if *e == event => Some(*reads),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no source {event}"))
    }

    #[test]
    fn programs_read_the_arguments_the_kernel_records() {
        let ul = "unsigned long";
        let cases: [(&str, &[(&str, &str)]); 6] = [
            (
                "syscalls/sys_enter_mmap",
                &[
                    (ul, "addr"),
                    (ul, "len"),
                    (ul, "prot"),
                    (ul, "flags"),
                    (ul, "fd"),
                    (ul, "off"),
                ],
            ),
            (
                "syscalls/sys_enter_munmap",
                &[(ul, "addr"), ("size_t", "len")],
            ),
            (
                "syscalls/sys_enter_mremap",
                &[
                    (ul, "addr"),
                    (ul, "old_len"),
                    (ul, "new_len"),
                    (ul, "flags"),
                    (ul, "new_addr"),
                ],
            ),
            ("syscalls/sys_exit_brk", &[("long", "ret")]),
            (
                "syscalls/sys_enter_madvise",
                &[(ul, "start"), ("size_t", "len_in"), ("int", "behavior")],
            ),
            (
                "syscalls/sys_enter_shmget",
                &[("key_t", "key"), ("size_t", "size"), ("int", "shmflg")],
            ),
        ];
        for (event, args) in cases {
            assert_eq!(
                syscall_format(args).check(reads_of(event)),
                Ok(()),
                "{event}"
            );
        }
        // A kernel whose mmap names its length otherwise is refused, not misread.
        let err = syscall_format(&[(ul, "addr"), (ul, "length")])
            .check(reads_of("syscalls/sys_enter_mmap"))
            .unwrap_err();
        assert_eq!(err, "reads len at 24 (8 bytes), the record has no len");
    }

    #[test]
    fn programs_read_the_fork_and_search_records_of_every_kernel() {
        let header = "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n";
        let newtask = |flags: &str| {
            Format::parse(&format!(
                "{header}\tfield:pid_t pid;\toffset:8;\tsize:4;\tsigned:1;\n\
                 \tfield:char comm[16];\toffset:12;\tsize:16;\tsigned:0;\n\
                 \tfield:{flags} clone_flags;\toffset:32;\tsize:8;\tsigned:0;\n\
                 \tfield:short oom_score_adj;\toffset:40;\tsize:2;\tsigned:1;\n"
            ))
        };
        // 5.10 to 6.12 record unsigned long flags; 6.18 records u64.
        for flags in ["unsigned long", "u64"] {
            assert_eq!(newtask(flags).check(reads_of("task/task_newtask")), Ok(()));
        }
        let mut search = String::from(header);
        for (i, f) in [
            "addr",
            "total_vm",
            "flags",
            "length",
            "low_limit",
            "high_limit",
        ]
        .iter()
        .enumerate()
        {
            search += &format!(
                "\tfield:unsigned long {f};\toffset:{};\tsize:8;\tsigned:0;\n",
                8 + 8 * i
            );
        }
        let search = Format::parse(&search);
        assert_eq!(search.check(reads_of("mmap/vm_unmapped_area")), Ok(()));
    }

    #[test]
    fn mmap_falls_back_to_address_searches_and_only_mmap_is_required() {
        let required: Vec<&Hook> = SPEC.hooks.iter().filter(|h| h.optional.is_none()).collect();
        assert_eq!(required.len(), 1);
        let events: Vec<&str> = required[0]
            .sources
            .iter()
            .map(|s| match s {
                Source::Tracepoint { event, .. } => *event,
                Source::PerfSoftware { name, .. } => name,
            })
            .collect();
        assert_eq!(events, ["syscalls/sys_enter_mmap", "mmap/vm_unmapped_area"]);
        // Every counted call has its own event; nothing runs on raw_syscalls.
        for call in SYSCALLS {
            let event = if call == "brk" {
                "syscalls/sys_exit_brk".to_owned()
            } else {
                format!("syscalls/sys_enter_{call}")
            };
            reads_of(&event);
        }
        assert!(SPEC.hooks.iter().flat_map(|h| h.sources).all(|s| !matches!(
            s,
            Source::Tracepoint { event, .. } if event.starts_with("raw_syscalls/")
        )));
    }
}

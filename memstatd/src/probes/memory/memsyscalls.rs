//! memStatMemSyscalls: memory syscalls per UID (`raw_syscalls:sys_enter`),
//! with the bytes each asked for: the length of mmap, munmap, madvise and
//! mprotect, mremap's new length, shmget's size, and brk's growth of the
//! break since the process's previous brk (its first brk only sets the base).
//! Numbers are this architecture's, written into the programs' params; like
//! every raw_syscalls count, a 32-bit process's calls carry its own ABI's
//! numbers.

use super::{count, Column, GroupSpec, Hook, Source, Unit, Value};
use crate::abi::memory::{GROUP_PARAMS, MEM_SYSCALLS, PARAM_NONE};
use crate::bpf::Tracefs;
use crate::probes::format::read;
use crate::probes::syscalls::syscall_number;

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

pub(crate) static SPEC: GroupSpec = GroupSpec {
    name: "memsyscalls",
    object: "memStatMemSyscalls",
    title: "memory syscalls",
    fields: &[count("calls", MEM_SYSCALLS), count("bytes", MEM_SYSCALLS)],
    hooks: &[Hook {
        sources: &[Source::Tracepoint {
            event: "raw_syscalls/sys_enter",
            section: "tracepoint/raw_syscalls/sys_enter",
            reads: &[read("id", 8, 8), read("args", 16, 48)],
            layout: "",
        }],
        optional: None,
    }],
    default_on: false,
    samplable: false,
    params,
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

/// This architecture's syscall numbers, PARAM_NONE where it lacks one.
fn params(_: &Tracefs) -> Result<[u32; GROUP_PARAMS], String> {
    let mut p = [PARAM_NONE; GROUP_PARAMS];
    for (slot, name) in p.iter_mut().zip(SYSCALLS) {
        *slot = syscall_number(name).unwrap_or(PARAM_NONE);
    }
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

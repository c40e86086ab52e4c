//! Whether the programs behind a group's pins use the maps pinned beside
//! them. A program pin outlives a map pin removed and made again; the
//! program then goes on writing the old map, and the group would read
//! zeros from the new one. Checked with `BPF_OBJ_GET_INFO_BY_FD` on the
//! opened programs (their map ids) and maps (their ids): nothing is loaded
//! or created.

use crate::bpf::{Map, Program};
use std::path::Path;

/// Of the maps memstatd opens, those each program uses, by object and
/// section (the others use none of them, or only maps memstatd never opens).
/// A test holds this table to the built objects' relocations.
pub(crate) static USES: &[(&str, &str, &[&str])] = &[
    (
        "memStatSyscalls",
        "tracepoint/raw_syscalls/sys_exit",
        &[
            "syscall_rows",
            "syscall_row_uid",
            "syscall_slots",
            "syscall_counts",
            "syscall_overflow",
            "syscall_config",
            "syscall_latency",
        ],
    ),
    (
        "memStatSyscalls",
        "tracepoint/raw_syscalls/sys_enter",
        &["syscall_overflow", "syscall_config"],
    ),
    (
        "memStatCompaction",
        "tracepoint/compaction/mm_compaction_end",
        COMPACTION,
    ),
    (
        "memStatCompaction",
        "tracepoint/compaction/mm_compaction_try_to_compact_pages",
        COMPACTION,
    ),
    (
        "memStatCompaction",
        "tracepoint/compaction/mm_compaction_wakeup_kcompactd",
        COMPACTION,
    ),
    (
        "memStatExtfrag",
        "tracepoint/kmem/mm_page_alloc_extfrag",
        &["extfrag_uid", "extfrag_other", "extfrag_config"],
    ),
    (
        "memStatFaults",
        "tracepoint/exceptions/page_fault_user",
        FAULTS_SAMPLED,
    ),
    ("memStatFaults", "perf_event/page_faults", FAULTS_SAMPLED),
    (
        "memStatFaults",
        "perf_event/major_faults",
        &["faults_uid", "faults_other"],
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/syscalls/sys_enter_mmap",
        MEMSYSCALLS,
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/mmap/vm_unmapped_area",
        MEMSYSCALLS,
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/syscalls/sys_enter_munmap",
        MEMSYSCALLS,
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/syscalls/sys_enter_mremap",
        MEMSYSCALLS,
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/syscalls/sys_exit_brk",
        MEMSYSCALLS,
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/syscalls/sys_enter_madvise",
        MEMSYSCALLS,
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/syscalls/sys_enter_mprotect",
        MEMSYSCALLS,
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/syscalls/sys_enter_shmget",
        MEMSYSCALLS,
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/syscalls/sys_enter_shmat",
        MEMSYSCALLS,
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/syscalls/sys_enter_shmdt",
        MEMSYSCALLS,
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/syscalls/sys_enter_shmctl",
        MEMSYSCALLS,
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/syscalls/sys_enter_memfd_create",
        MEMSYSCALLS,
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/task/task_newtask",
        &["memsyscalls_config"],
    ),
    (
        "memStatMemSyscalls",
        "tracepoint/sched/sched_process_exec",
        &["memsyscalls_config"],
    ),
    ("memStatOom", "tracepoint/oom/mark_victim", OOM),
    ("memStatOom", "tracepoint/oom/mark_victim_ack", OOM),
    (
        "memStatPageAlloc",
        "tracepoint/kmem/mm_page_alloc",
        PAGEALLOC,
    ),
    (
        "memStatPageAlloc",
        "tracepoint/kmem/mm_page_alloc_5_10",
        PAGEALLOC,
    ),
    (
        "memStatPageAlloc",
        "tracepoint/kmem/mm_page_free",
        PAGEALLOC,
    ),
    (
        "memStatReclaim",
        "tracepoint/vmscan/mm_vmscan_direct_reclaim_end",
        RECLAIM,
    ),
    (
        "memStatReclaim",
        "tracepoint/vmscan/mm_vmscan_memcg_reclaim_end",
        RECLAIM,
    ),
    (
        "memStatReclaim",
        "tracepoint/vmscan/mm_vmscan_wakeup_kswapd",
        RECLAIM,
    ),
    (
        "memStatReclaim",
        "tracepoint/vmscan/mm_vmscan_kswapd_sleep",
        RECLAIM,
    ),
    (
        "memStatRss",
        "tracepoint/kmem/rss_stat",
        &["rss_uid", "rss_other", "rss_config"],
    ),
    ("memStatSlab", "tracepoint/kmem/kmalloc", SLAB),
    ("memStatSlab", "tracepoint/kmem/kmem_cache_alloc", SLAB),
    ("memStatSlab", "tracepoint/kmem/kmem_cache_alloc_5_10", SLAB),
    ("memStatSlab", "tracepoint/kmem/kfree", SLAB),
    ("memStatSlab", "tracepoint/kmem/kmem_cache_free", SLAB),
    (
        "memStatTaskExit",
        "tracepoint/sched/sched_process_exit",
        &[
            "taskexit_uid",
            "taskexit_other",
            "taskexit_dead",
            "taskexit_config",
            "taskexit_drops",
            "taskexit_window",
        ],
    ),
];

const COMPACTION: &[&str] = &["compaction_uid", "compaction_other"];
const FAULTS_SAMPLED: &[&str] = &["faults_uid", "faults_other", "faults_config"];
const MEMSYSCALLS: &[&str] = &["memsyscalls_uid", "memsyscalls_other", "memsyscalls_config"];
const OOM: &[&str] = &["oom_uid", "oom_other"];
const PAGEALLOC: &[&str] = &["pagealloc_uid", "pagealloc_other", "pagealloc_config"];
const RECLAIM: &[&str] = &["reclaim_uid", "reclaim_other"];
const SLAB: &[&str] = &["slab_uid", "slab_other", "slab_config"];

/// The opened maps of `object` that an opened program does not use though
/// it should: `Err` names them and says what to remove.
pub(crate) fn check(
    pin_root: &Path,
    object: &str,
    maps: &[(String, &Map)],
    programs: &[(&str, &Program)],
) -> Result<(), String> {
    for (section, prog) in programs {
        let Some((_, _, uses)) = USES.iter().find(|(o, s, _)| *o == object && s == section) else {
            continue;
        };
        let used = prog
            .map_ids()
            .map_err(|e| format!("cannot read the maps of {}: {e}", prog.path().display()))?;
        let stale: Vec<String> = maps
            .iter()
            .filter(|(name, map)| uses.contains(&name.as_str()) && !used.contains(&map.id()))
            .map(|(_, map)| map.path().display().to_string())
            .collect();
        if !stale.is_empty() {
            return Err(format!(
                "program pin {} is stale: it does not use the map pins beside it ({}), which \
                 were made after it, so nothing it counts would show; remove the object's \
                 program pins (rm {}) and have the loader load it again",
                prog.path().display(),
                stale.join(", "),
                pin_root.join(format!("prog_{object}_*")).display()
            ));
        }
    }
    Ok(())
}

/*
 * Not a program: the sizes and offsets clang gives memstat_abi.h on the BPF
 * target, in section "layout", for tests/tests/abi.rs to compare with the
 * Rust mirror in memstatd/src/abi.rs.
 */
#include <bpf_helpers.h>

#include "memstat_abi.h"

#define OFF(s, f) __builtin_offsetof(struct s, f)

const uint64_t abi_layout[] SECTION("layout") = {
        sizeof(struct syscall_key), OFF(syscall_key, uid), OFF(syscall_key, nr),
        sizeof(struct syscall_counts), OFF(syscall_counts, count), OFF(syscall_counts, errors),
        sizeof(struct syscall_row), OFF(syscall_row, calls), SYSCALL_ROW_WIDTH,
        sizeof(struct syscall_cache), OFF(syscall_cache, generation), OFF(syscall_cache, tid),
        OFF(syscall_cache, uid), OFF(syscall_cache, row), OFF(syscall_cache, reserved),
        sizeof(struct syscall_watch), OFF(syscall_watch, generation), OFF(syscall_watch, calls),
        SYSCALL_WATCH_WORDS,
        sizeof(struct syscall_config), OFF(syscall_config, latency_epoch),
        sizeof(struct syscall_start), OFF(syscall_start, ts_ns), OFF(syscall_start, epoch),
        OFF(syscall_start, nr),
        sizeof(struct latency_hist), OFF(latency_hist, buckets), LATENCY_BUCKETS,
        sizeof(struct syscall_overflow), OFF(syscall_overflow, count), OFF(syscall_overflow, errors),
        OFF(syscall_overflow, latency), OFF(syscall_overflow, start_dropped),
        OFF(syscall_overflow, unmatched),
        SYSCALL_ROWS, SYSCALL_ROW_CLAIM_AT, SYSCALL_ROW_OF_ENTRIES, SYSCALL_ROW_PENDING,
        SYSCALL_ROW_NONE, SYSCALL_COUNTS_ENTRIES, SYSCALL_START_ENTRIES, SYSCALL_LATENCY_ENTRIES,
};

/* Syscall slots: the struct, the sizes, and the slot of sample pairs (uid, nr). */
const uint64_t slot_abi_layout[] SECTION("slot_layout") = {
        sizeof(struct syscall_slot), OFF(syscall_slot, key), OFF(syscall_slot, counts),
        SYSCALL_SLOT_BITS, SYSCALL_SLOTS,
        SYSCALL_SLOT_OF(0, 0), SYSCALL_SLOT_OF(0, 1), SYSCALL_SLOT_OF(1000, 63),
        SYSCALL_SLOT_OF(10123, 221), SYSCALL_SLOT_OF(99999, 511),
        SYSCALL_SLOT_OF(4294967295u, 0),
};

/* Memory groups, in memstatd's GROUPS order: sizeof, then each field's offset. */
const uint64_t memory_abi_layout[] SECTION("memory_layout") = {
        sizeof(struct group_config), OFF(group_config, mode), OFF(group_config, sample_every),
        OFF(group_config, epoch), OFF(group_config, param), GROUP_PARAMS,
        MEMORY_UID_ENTRIES, BUSY_UID_ENTRIES, RARE_UID_ENTRIES, STALL_START_ENTRIES,
        RSS_MM_ENTRIES, BRK_ENTRIES, STALL_BUCKETS,
        sizeof(struct faults_stats), OFF(faults_stats, faults), OFF(faults_stats, major),
        sizeof(struct pagealloc_stats), OFF(pagealloc_stats, alloc), OFF(pagealloc_stats, alloc_class),
        OFF(pagealloc_stats, alloc_failed), OFF(pagealloc_stats, free),
        sizeof(struct slab_stats), OFF(slab_stats, kmalloc), OFF(slab_stats, kmalloc_requested),
        OFF(slab_stats, kmalloc_allocated), OFF(slab_stats, cache_alloc),
        OFF(slab_stats, cache_requested), OFF(slab_stats, cache_allocated), OFF(slab_stats, failed),
        OFF(slab_stats, kfree), OFF(slab_stats, cache_free),
        sizeof(struct extfrag_stats), OFF(extfrag_stats, fallback_order),
        OFF(extfrag_stats, alloc_class), OFF(extfrag_stats, fallback_class),
        OFF(extfrag_stats, ownership_changes), OFF(extfrag_stats, fragmenting),
        sizeof(struct reclaim_stats), OFF(reclaim_stats, direct), OFF(reclaim_stats, direct_reclaimed),
        OFF(reclaim_stats, memcg), OFF(reclaim_stats, memcg_reclaimed),
        OFF(reclaim_stats, kswapd_wakeups), OFF(reclaim_stats, kswapd_runs),
        OFF(reclaim_stats, kswapd_awake_ns),
        sizeof(struct compaction_stats), OFF(compaction_stats, stall), OFF(compaction_stats, result),
        OFF(compaction_stats, direct), OFF(compaction_stats, kcompactd_wakeups),
        sizeof(struct oom_stats), OFF(oom_stats, kills), OFF(oom_stats, anon_kb),
        OFF(oom_stats, file_kb), OFF(oom_stats, shmem_kb), OFF(oom_stats, max_rss_kb),
        OFF(oom_stats, invoked),
        sizeof(struct rss_stats), OFF(rss_stats, epoch), OFF(rss_stats, peak),
        OFF(rss_stats, peak_total),
        sizeof(struct memsyscall_stats), OFF(memsyscall_stats, calls), OFF(memsyscall_stats, bytes),
        /* struct stall_stats: count, total_ns, unmatched, then the histogram. */
        sizeof(struct stall_stats), OFF(stall_stats, count), OFF(stall_stats, total_ns),
        OFF(stall_stats, unmatched), OFF(stall_stats, hist),
};

/* Task counters (memStatTaskExit.c): sizes and offsets, then the capacities. */
const uint64_t task_abi_layout[] SECTION("task_layout") = {
        sizeof(struct task_config), OFF(task_config, configured), OFF(task_config, calibrate_tid),
        OFF(task_config, word), OFF(task_config, min_flt), OFF(task_config, maj_flt),
        OFF(task_config, signal), OFF(task_config, maxrss),
        sizeof(struct task_faults), OFF(task_faults, minor), OFF(task_faults, major),
        sizeof(struct task_dead), OFF(task_dead, minor), OFF(task_dead, major),
        OFF(task_dead, maxrss_pages), OFF(task_dead, uid), OFF(task_dead, exits),
        sizeof(struct task_held), OFF(task_held, adjust_minor), OFF(task_held, adjust_major),
        OFF(task_held, reported_minor), OFF(task_held, reported_major),
        sizeof(struct task_drops), OFF(task_drops, unconfigured), OFF(task_drops, read_failed),
        OFF(task_drops, dead_full), OFF(task_drops, uid_full),
        sizeof(struct task_window), OFF(task_window, tid), OFF(task_window, bytes),
        TASK_DEAD_ENTRIES, TASK_HELD_ENTRIES, TASK_WINDOW_BYTES,
};

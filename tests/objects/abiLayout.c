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
        sizeof(struct syscall_config), OFF(syscall_config, latency_epoch),
        sizeof(struct syscall_start), OFF(syscall_start, ts_ns), OFF(syscall_start, epoch),
        OFF(syscall_start, nr),
        sizeof(struct latency_hist), OFF(latency_hist, buckets), LATENCY_BUCKETS,
        sizeof(struct syscall_overflow), OFF(syscall_overflow, count), OFF(syscall_overflow, errors),
        OFF(syscall_overflow, latency), OFF(syscall_overflow, start_dropped),
        OFF(syscall_overflow, unmatched),
        SYSCALL_COUNTS_ENTRIES, SYSCALL_START_ENTRIES, SYSCALL_LATENCY_ENTRIES,
};

/* Memory groups, in memstatd's GROUPS order: sizeof, then each field's offset. */
const uint64_t memory_abi_layout[] SECTION("memory_layout") = {
        sizeof(struct group_config), OFF(group_config, mode), OFF(group_config, sample_every),
        OFF(group_config, epoch), OFF(group_config, param), GROUP_PARAMS,
        MEMORY_UID_ENTRIES, STALL_BUCKETS,
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

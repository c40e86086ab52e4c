/*
 * memStatCompaction: compaction runs per UID (begin to end: count, time, a
 * log2 latency histogram, and the outcome by status), direct compaction
 * attempts, and kcompactd wakeups by the UID whose allocation woke it.
 * kcompactd's own runs count under its UID (root). Rare events: shared maps
 * with atomic adds, never sampled.
 */
#include "memstat_group.h"

MEMORY_GROUP(compaction, struct compaction_stats, HASH, ARRAY, RARE_UID_ENTRIES)
DEFINE_BPF_MAP(compaction_start, LRU_HASH, uint32_t, struct stall_start, STALL_START_ENTRIES)

/* compaction:mm_compaction_end, every kernel here. */
struct compaction_end_args {
    uint64_t common;
    uint64_t zone_start;
    uint64_t migrate_pfn;
    uint64_t free_pfn;
    uint64_t zone_end;
    uint8_t sync;
    uint8_t pad[3];
    int32_t status;
};

DEFINE_BPF_PROG("tracepoint/compaction/mm_compaction_begin", AID_ROOT, AID_MEMSTAT,
                tp_compaction_begin)
(void* args __unused) {
    const uint32_t tid = current_tid();
    const struct stall_start start = {.ts_ns = bpf_ktime_get_ns(), .kind = 1};
    bpf_compaction_start_update_elem(&tid, &start, BPF_ANY);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/compaction/mm_compaction_end", AID_ROOT, AID_MEMSTAT,
                tp_compaction_end)
(struct compaction_end_args* args) {
    const uint32_t tid = current_tid();
    const struct stall_start* start = bpf_compaction_start_lookup_elem(&tid);
    uint64_t ns = 0;
    if (start) {
        ns = bpf_ktime_get_ns() - start->ts_ns;
        bpf_compaction_start_delete_elem(&tid);
    }
    struct compaction_stats* s = compaction_stats(current_uid());
    if (!s) return 0;
    if (start)
        stall_add(&s->stall, ns ? ns : 1);
    else
        __sync_fetch_and_add(&s->stall.unmatched, 1);
    const int32_t status = args->status;
    const uint32_t slot =
            status >= 0 && status < COMPACT_RESULTS - 1 ? (uint32_t)status : COMPACT_RESULTS - 1;
    __sync_fetch_and_add(&s->result[slot], 1);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/compaction/mm_compaction_try_to_compact_pages", AID_ROOT, AID_MEMSTAT,
                tp_try_compact)
(void* args __unused) {
    struct compaction_stats* s = compaction_stats(current_uid());
    if (s) __sync_fetch_and_add(&s->direct, 1);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/compaction/mm_compaction_wakeup_kcompactd", AID_ROOT, AID_MEMSTAT,
                tp_wakeup_kcompactd)
(void* args __unused) {
    struct compaction_stats* s = compaction_stats(current_uid());
    if (s) __sync_fetch_and_add(&s->kcompactd_wakeups, 1);
    return 0;
}

LICENSE("GPL");

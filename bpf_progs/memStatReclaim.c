/*
 * memStatReclaim: direct and memcg reclaim stalls per UID (count, time, a
 * log2 latency histogram, pages reclaimed), kswapd wakeups by the UID whose
 * allocation woke it, and kswapd's own runs (wake to sleep, under its UID).
 * Rare events: shared maps with atomic adds, never sampled.
 */
#include "memstat_group.h"

MEMORY_GROUP(reclaim, struct reclaim_stats, HASH, ARRAY, RARE_UID_ENTRIES)
DEFINE_BPF_MAP(reclaim_start, LRU_HASH, uint32_t, struct stall_start, STALL_START_ENTRIES)

#define STALL_DIRECT 1
#define STALL_MEMCG 2
#define STALL_KSWAPD 3

/* vmscan:mm_vmscan_{direct,memcg}_reclaim_end, every kernel here. */
struct reclaim_end_args {
    uint64_t common;
    uint64_t nr_reclaimed;
};

static inline __always_inline void begin(uint32_t kind) {
    const uint32_t tid = current_tid();
    const struct stall_start start = {.ts_ns = bpf_ktime_get_ns(), .kind = kind};
    bpf_reclaim_start_update_elem(&tid, &start, BPF_ANY);
}

/* Nanoseconds since this thread's begin of `kind`, or 0 if there was none. */
static inline __always_inline uint64_t end(uint32_t kind) {
    const uint32_t tid = current_tid();
    const struct stall_start* start = bpf_reclaim_start_lookup_elem(&tid);
    if (!start || start->kind != kind) return 0;
    const uint64_t ns = bpf_ktime_get_ns() - start->ts_ns;
    bpf_reclaim_start_delete_elem(&tid);
    return ns ? ns : 1;
}

static inline __always_inline void end_reclaim(uint32_t kind, uint64_t reclaimed) {
    const uint64_t ns = end(kind);
    struct reclaim_stats* s = reclaim_stats(current_uid());
    if (!s) return;
    struct stall_stats* stall = kind == STALL_DIRECT ? &s->direct : &s->memcg;
    if (ns)
        stall_add(stall, ns);
    else
        __sync_fetch_and_add(&stall->unmatched, 1);
    __sync_fetch_and_add(kind == STALL_DIRECT ? &s->direct_reclaimed : &s->memcg_reclaimed,
                         reclaimed);
}

DEFINE_BPF_PROG("tracepoint/vmscan/mm_vmscan_direct_reclaim_begin", AID_ROOT, AID_MEMSTAT,
                tp_direct_begin)
(void* args __unused) {
    begin(STALL_DIRECT);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/vmscan/mm_vmscan_direct_reclaim_end", AID_ROOT, AID_MEMSTAT,
                tp_direct_end)
(struct reclaim_end_args* args) {
    end_reclaim(STALL_DIRECT, args->nr_reclaimed);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/vmscan/mm_vmscan_memcg_reclaim_begin", AID_ROOT, AID_MEMSTAT,
                tp_memcg_begin)
(void* args __unused) {
    begin(STALL_MEMCG);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/vmscan/mm_vmscan_memcg_reclaim_end", AID_ROOT, AID_MEMSTAT,
                tp_memcg_end)
(struct reclaim_end_args* args) {
    end_reclaim(STALL_MEMCG, args->nr_reclaimed);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/vmscan/mm_vmscan_wakeup_kswapd", AID_ROOT, AID_MEMSTAT,
                tp_wakeup_kswapd)
(void* args __unused) {
    struct reclaim_stats* s = reclaim_stats(current_uid());
    if (s) __sync_fetch_and_add(&s->kswapd_wakeups, 1);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/vmscan/mm_vmscan_kswapd_wake", AID_ROOT, AID_MEMSTAT, tp_kswapd_wake)
(void* args __unused) {
    begin(STALL_KSWAPD);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/vmscan/mm_vmscan_kswapd_sleep", AID_ROOT, AID_MEMSTAT, tp_kswapd_sleep)
(void* args __unused) {
    const uint64_t ns = end(STALL_KSWAPD);
    if (!ns) return 0;
    struct reclaim_stats* s = reclaim_stats(current_uid());
    if (!s) return 0;
    __sync_fetch_and_add(&s->kswapd_runs, 1);
    __sync_fetch_and_add(&s->kswapd_awake_ns, ns);
    return 0;
}

LICENSE("GPL");

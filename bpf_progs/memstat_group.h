/*
 * What every memory probe group shares: its maps and the helpers its
 * programs use. MEMORY_GROUP(g, Value, UID_MAP, OTHER_MAP, UIDS) defines
 *
 *   g_uid     UID -> Value, UIDS entries (UID_MAP: HASH, values shared by
 *             every CPU and added to atomically; PERCPU_HASH where a value
 *             keeps peaks, which a shared value could only raise racily)
 *   g_other   the Value of every UID that found g_uid full (ARRAY or PERCPU_ARRAY)
 *   g_config  struct group_config, written by memstatd
 *   g_zero    one zeroed Value: new entries are inserted from it, since a
 *             Value can be larger than the 512-byte BPF stack
 *   g_tick    per-CPU event count for sampling
 *
 * and g_stats(uid), the entry to count into, and g_weight(), how much one
 * event counts (0: skipped by sampling).
 *
 * Attribution is to the task that triggers the event: allocations made by
 * kswapd or a kworker count for that thread's UID (root).
 */
#pragma once

/*
 * The one include of <bpf_helpers.h> in every object: like the platform's,
 * that header has no include guard, so a source that included it too would
 * fail with "redefinition of" errors. Sources include this header instead.
 */
#include <bpf_helpers.h>

#include "memstat_abi.h"

#define MEMORY_GROUP(g, Value, UID_MAP, OTHER_MAP, UIDS)                                           \
    DEFINE_BPF_MAP_RO(g##_uid, UID_MAP, uint32_t, Value, UIDS, AID_MEMSTAT)                        \
    DEFINE_BPF_MAP_RO(g##_other, OTHER_MAP, uint32_t, Value, 1, AID_MEMSTAT)                       \
    DEFINE_BPF_MAP_GRW(g##_config, ARRAY, uint32_t, struct group_config, 1, AID_MEMSTAT)           \
    DEFINE_BPF_MAP(g##_zero, ARRAY, uint32_t, Value, 1)                                            \
    DEFINE_BPF_MAP(g##_tick, PERCPU_ARRAY, uint32_t, uint64_t, 1)                                  \
                                                                                                   \
    static inline __always_inline __unused Value* g##_stats(uint32_t uid) {                        \
        Value* v = bpf_##g##_uid_lookup_elem(&uid);                                                \
        if (v) return v;                                                                           \
        const uint32_t zero = 0;                                                                   \
        const Value* empty = bpf_##g##_zero_lookup_elem(&zero);                                    \
        if (empty) {                                                                               \
            /* BPF_NOEXIST: a racing insert from another CPU is kept, not zeroed. */               \
            bpf_##g##_uid_update_elem(&uid, empty, BPF_NOEXIST);                                   \
            v = bpf_##g##_uid_lookup_elem(&uid);                                                   \
            if (v) return v;                                                                       \
        }                                                                                          \
        return bpf_##g##_other_lookup_elem(&zero);                                                 \
    }                                                                                              \
                                                                                                   \
    static inline __always_inline __unused const struct group_config* g##_settings(void) {         \
        const uint32_t zero = 0;                                                                   \
        return bpf_##g##_config_lookup_elem(&zero);                                                \
    }                                                                                              \
                                                                                                   \
    /* One event in sample_every counts, as sample_every events; none while paused. */             \
    static inline __always_inline __unused uint32_t g##_weight(void) {                             \
        const struct group_config* c = g##_settings();                                             \
        if (c && c->paused) return 0;                                                              \
        const uint32_t n = c ? c->sample_every : 1;                                                \
        if (n <= 1) return 1;                                                                      \
        const uint32_t zero = 0;                                                                   \
        uint64_t* tick = bpf_##g##_tick_lookup_elem(&zero);                                        \
        if (!tick) return 0;                                                                       \
        return ++*tick % n ? 0 : n;                                                                \
    }

static inline __always_inline uint32_t current_uid(void) {
    return (uint32_t)bpf_get_current_uid_gid();
}

static inline __always_inline uint32_t current_tid(void) {
    return (uint32_t)bpf_get_current_pid_tgid();
}

/* Index of an order in an ORDERS array. */
static inline __always_inline uint32_t order_slot(uint32_t order) {
    return order < ORDERS ? order : ORDERS - 1;
}

/* Migratetype -> class: MIGRATE_UNMOVABLE 0, MOVABLE 1, RECLAIMABLE 2 in every kernel here. */
static inline __always_inline uint32_t mt_class(int32_t migratetype) {
    return migratetype >= 0 && migratetype < MT_CLASSES - 1 ? (uint32_t)migratetype
                                                           : MT_CLASSES - 1;
}

/* floor(log2(v)) for v > 0, without loops. */
static inline __always_inline uint32_t log2_u64(uint64_t v) {
    uint32_t r = 0, shift;
    shift = (v > 0xFFFFFFFFull) << 5; v >>= shift; r |= shift;
    shift = (v > 0xFFFFull) << 4; v >>= shift; r |= shift;
    shift = (v > 0xFFull) << 3; v >>= shift; r |= shift;
    shift = (v > 0xFull) << 2; v >>= shift; r |= shift;
    shift = (v > 0x3ull) << 1; v >>= shift; r |= shift;
    return r | (uint32_t)(v >> 1);
}

/* Adds one stall of `ns` to a shared (not per-CPU) value. */
static inline __always_inline void stall_add(struct stall_stats* s, uint64_t ns) {
    const uint64_t us = ns / 1000;
    uint32_t bucket = us ? log2_u64(us) : 0;
    if (bucket >= STALL_BUCKETS) bucket = STALL_BUCKETS - 1;
    __sync_fetch_and_add(&s->count, 1);
    __sync_fetch_and_add(&s->total_ns, ns);
    __sync_fetch_and_add(&s->hist[bucket], 1);
}

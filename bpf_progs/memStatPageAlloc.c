/*
 * memStatPageAlloc: pages allocated and freed per UID, by order, and
 * allocations by migratetype class. Hot: samplable.
 */
#include "memstat_group.h"

MEMORY_GROUP(pagealloc, struct pagealloc_stats, HASH, ARRAY, BUSY_UID_ENTRIES)

/* kmem:mm_page_alloc from 5.19 (6.1 ... 6.18): gfp_flags is an unsigned long. */
struct page_alloc_args {
    uint64_t common;
    uint64_t pfn;
    uint32_t order;
    uint32_t pad;
    uint64_t gfp_flags;
    int32_t migratetype;
};

/* kmem:mm_page_alloc 5.10 ... 5.18: gfp_flags is a gfp_t. */
struct page_alloc_args_5_10 {
    uint64_t common;
    uint64_t pfn;
    uint32_t order;
    uint32_t gfp_flags;
    int32_t migratetype;
};

/* kmem:mm_page_free, every kernel here. */
struct page_free_args {
    uint64_t common;
    uint64_t pfn;
    uint32_t order;
};

static inline __always_inline void count_alloc(uint64_t pfn, uint32_t order, int32_t migratetype) {
    const uint32_t w = pagealloc_weight();
    if (!w) return;
    struct pagealloc_stats* s = pagealloc_stats(current_uid());
    if (!s) return;
    if (pfn == ~0ull) {
        __sync_fetch_and_add(&s->alloc_failed, w);
        return;
    }
    __sync_fetch_and_add(&s->alloc[order_slot(order)], w);
    __sync_fetch_and_add(&s->alloc_class[mt_class(migratetype)], w);
}

DEFINE_BPF_PROG("tracepoint/kmem/mm_page_alloc", AID_ROOT, AID_MEMSTAT, tp_page_alloc)
(struct page_alloc_args* args) {
    count_alloc(args->pfn, args->order, args->migratetype);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/kmem/mm_page_alloc_5_10", AID_ROOT, AID_MEMSTAT, tp_page_alloc_5_10)
(struct page_alloc_args_5_10* args) {
    count_alloc(args->pfn, args->order, args->migratetype);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/kmem/mm_page_free", AID_ROOT, AID_MEMSTAT, tp_page_free)
(struct page_free_args* args) {
    const uint32_t w = pagealloc_weight();
    if (!w) return 0;
    struct pagealloc_stats* s = pagealloc_stats(current_uid());
    if (s) __sync_fetch_and_add(&s->free[order_slot(args->order)], w);
    return 0;
}

LICENSE("GPL");

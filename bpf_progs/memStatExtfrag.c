/*
 * memStatExtfrag: external fragmentation events per UID: allocations that
 * fell back to a free block of another migratetype, by the order of the block
 * taken and whether that fragments (a block below pageblock order, which
 * memstatd writes into param 0), by migratetype class, and whether the
 * pageblock changed owner.
 */
#include "memstat_group.h"

MEMORY_GROUP(extfrag, struct extfrag_stats, HASH, ARRAY, RARE_UID_ENTRIES)

/* kmem:mm_page_alloc_extfrag, every kernel here. */
struct extfrag_args {
    uint64_t common;
    uint64_t pfn;
    int32_t alloc_order;
    int32_t fallback_order;
    int32_t alloc_migratetype;
    int32_t fallback_migratetype;
    int32_t change_ownership;
};

DEFINE_BPF_PROG("tracepoint/kmem/mm_page_alloc_extfrag", AID_ROOT, AID_MEMSTAT, tp_extfrag)
(struct extfrag_args* args) {
    const uint32_t w = extfrag_weight();
    if (!w) return 0;
    struct extfrag_stats* s = extfrag_stats(current_uid());
    if (!s) return 0;
    const int32_t order = args->fallback_order;
    __sync_fetch_and_add(&s->fallback_order[order_slot(order < 0 ? 0 : (uint32_t)order)], w);
    __sync_fetch_and_add(&s->alloc_class[mt_class(args->alloc_migratetype)], w);
    __sync_fetch_and_add(&s->fallback_class[mt_class(args->fallback_migratetype)], w);
    if (args->change_ownership) __sync_fetch_and_add(&s->ownership_changes, w);
    const struct group_config* c = extfrag_settings();
    if (c && order >= 0 && (uint32_t)order < c->param[0]) __sync_fetch_and_add(&s->fragmenting, w);
    return 0;
}

LICENSE("GPL");

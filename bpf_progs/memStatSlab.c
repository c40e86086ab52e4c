/*
 * memStatSlab: slab allocations per UID: kmalloc and kmem_cache_alloc counts
 * with bytes requested and bytes allocated (their ratio is the internal
 * fragmentation), and frees. Hot: samplable.
 */
#include "memstat_group.h"

MEMORY_GROUP(slab, struct slab_stats, HASH, ARRAY, BUSY_UID_ENTRIES)

/*
 * kmem:kmalloc (every kernel here), kmem:kmalloc_node (5.10, 5.15) and
 * kmem:kmem_cache_alloc(_node) up to 6.15: bytes_req at 24, bytes_alloc at 32.
 */
struct alloc_args {
    uint64_t common;
    uint64_t call_site;
    uint64_t ptr;
    uint64_t bytes_req;
    uint64_t bytes_alloc;
};

/* kmem:kmem_cache_alloc from 6.16 to 6.18: a __data_loc name at 24 moves the sizes by 8. */
struct cache_alloc_args {
    uint64_t common;
    uint64_t call_site;
    uint64_t ptr;
    uint32_t name;
    uint32_t pad;
    uint64_t bytes_req;
    uint64_t bytes_alloc;
};

/* kmem:kfree and kmem:kmem_cache_free, every kernel here. */
struct free_args {
    uint64_t common;
    uint64_t call_site;
    uint64_t ptr;
};

/* kfree(NULL) and kfree(ZERO_SIZE_PTR) are traced too, but free nothing. */
#define ZERO_SIZE_PTR 16

/* Counts one allocation into its three slots: count, bytes requested, bytes allocated. */
static inline __always_inline void count_alloc(bool cache, uint64_t ptr, uint64_t req,
                                               uint64_t alloc) {
    const uint32_t w = slab_weight();
    if (!w) return;
    struct slab_stats* s = slab_stats(current_uid());
    if (!s) return;
    if (!ptr) {
        __sync_fetch_and_add(&s->failed, w);
        return;
    }
    uint64_t* n = cache ? &s->cache_alloc : &s->kmalloc;
    __sync_fetch_and_add(&n[0], w);
    __sync_fetch_and_add(&n[1], req * w);
    __sync_fetch_and_add(&n[2], alloc * w);
}

DEFINE_BPF_PROG("tracepoint/kmem/kmalloc", AID_ROOT, AID_MEMSTAT, tp_kmalloc)
(struct alloc_args* args) {
    count_alloc(false, args->ptr, args->bytes_req, args->bytes_alloc);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/kmem/kmem_cache_alloc", AID_ROOT, AID_MEMSTAT, tp_cache_alloc)
(struct cache_alloc_args* args) {
    count_alloc(true, args->ptr, args->bytes_req, args->bytes_alloc);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/kmem/kmem_cache_alloc_5_10", AID_ROOT, AID_MEMSTAT, tp_cache_alloc_5_10)
(struct alloc_args* args) {
    count_alloc(true, args->ptr, args->bytes_req, args->bytes_alloc);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/kmem/kfree", AID_ROOT, AID_MEMSTAT, tp_kfree)
(struct free_args* args) {
    if (args->ptr <= ZERO_SIZE_PTR) return 0;
    const uint32_t w = slab_weight();
    if (!w) return 0;
    struct slab_stats* s = slab_stats(current_uid());
    if (s) __sync_fetch_and_add(&s->kfree, w);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/kmem/kmem_cache_free", AID_ROOT, AID_MEMSTAT, tp_cache_free)
(struct free_args* args) {
    if (!args->ptr) return 0;
    const uint32_t w = slab_weight();
    if (!w) return 0;
    struct slab_stats* s = slab_stats(current_uid());
    if (s) __sync_fetch_and_add(&s->cache_free, w);
    return 0;
}

LICENSE("GPL");

/*
 * memStatRss: RSS peaks per UID, from kmem:rss_stat: the highest RSS of one
 * of the UID's processes, by type (file, anon, swap entries, shmem) and in
 * total (file + anon + shmem), since memstatd last set the epoch (--reset).
 * A process's sizes are kept by mm_id so the total can be summed; an event
 * for a process whose owner was never seen in its own context is skipped.
 * Hot on kernels that trace every RSS change: samplable.
 */
#include "memstat_group.h"

MEMORY_GROUP(rss, struct rss_stats, PERCPU_HASH, PERCPU_ARRAY, RARE_UID_ENTRIES)
DEFINE_BPF_MAP(rss_mm, LRU_HASH, uint32_t, struct rss_mm, RSS_MM_ENTRIES)

/* kmem:rss_stat, every kernel here. */
struct rss_stat_args {
    uint64_t common;
    uint32_t mm_id;
    uint32_t curr; /* the mm is the current task's */
    int32_t member;
    int32_t pad;
    int64_t size; /* bytes */
};

#define MM_SWAPENTS 2

DEFINE_BPF_PROG("tracepoint/kmem/rss_stat", AID_ROOT, AID_MEMSTAT, tp_rss_stat)
(struct rss_stat_args* args) {
    const int32_t member = args->member;
    if (member < 0 || member >= RSS_MEMBERS) return 0;
    if (!rss_weight()) return 0;
    const uint32_t mm_id = args->mm_id;
    struct rss_mm* mm = bpf_rss_mm_lookup_elem(&mm_id);
    if (!mm) {
        if (!args->curr) return 0;
        const struct rss_mm first = {.uid = current_uid()};
        bpf_rss_mm_update_elem(&mm_id, &first, BPF_NOEXIST);
        mm = bpf_rss_mm_lookup_elem(&mm_id);
        if (!mm) return 0;
    } else if (args->curr) {
        mm->uid = current_uid();
    }
    const int64_t size = args->size > 0 ? args->size : 0;
    mm->size[member] = size;

    struct rss_stats* s = rss_stats(mm->uid);
    if (!s) return 0;
    const struct group_config* c = rss_settings();
    const uint64_t epoch = c ? c->epoch : 0;
    if (s->epoch != epoch) {
        s->epoch = epoch;
        for (int i = 0; i < RSS_MEMBERS; i++) s->peak[i] = 0;
        s->peak_total = 0;
    }
    if ((uint64_t)size > s->peak[member]) s->peak[member] = size;
    int64_t total = 0;
    for (int i = 0; i < RSS_MEMBERS; i++)
        if (i != MM_SWAPENTS && mm->size[i] > 0) total += mm->size[i];
    if ((uint64_t)total > s->peak_total) s->peak_total = total;
    return 0;
}

LICENSE("GPL");

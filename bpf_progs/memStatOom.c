/*
 * memStatOom: OOM kills per UID, from oom:mark_victim: the victim's UID (and
 * its RSS at the kill where the record has it), and the UID of the task whose
 * allocation triggered the kill. Layouts without the victim's UID (mainline
 * before 6.9 and LTS kernels before the 2025 backport) cannot attribute a
 * kill: memstatd reports the group unavailable there, naming the layout.
 */
#include "memstat_group.h"

MEMORY_GROUP(oom, struct oom_stats, HASH, ARRAY, RARE_UID_ENTRIES)

/* oom:mark_victim from 6.9, and LTS 5.10.235, 6.1.130 and the 5.15/6.6 backports. */
struct mark_victim_args {
    uint64_t common;
    int32_t pid;
    uint32_t comm;
    uint64_t total_vm;
    uint64_t anon_rss; /* kB */
    uint64_t file_rss;
    uint64_t shmem_rss;
    uint32_t uid;
};

/* oom:mark_victim of some Android common kernels: a fixed process name, the uid at 32. */
struct mark_victim_args_ack {
    uint64_t common;
    int32_t pid;
    char process_name[16];
    int16_t oom_score_adj;
    int16_t pad;
    uint32_t uid;
};

static inline __always_inline void count_kill(uint32_t victim, uint64_t anon, uint64_t file,
                                              uint64_t shmem) {
    struct oom_stats* s = oom_stats(victim);
    if (s) {
        __sync_fetch_and_add(&s->kills, 1);
        __sync_fetch_and_add(&s->anon_kb, anon);
        __sync_fetch_and_add(&s->file_kb, file);
        __sync_fetch_and_add(&s->shmem_kb, shmem);
        const uint64_t rss = anon + file + shmem;
        if (rss > s->max_rss_kb) s->max_rss_kb = rss;
    }
    struct oom_stats* by = oom_stats(current_uid());
    if (by) __sync_fetch_and_add(&by->invoked, 1);
}

DEFINE_BPF_PROG("tracepoint/oom/mark_victim", AID_ROOT, AID_MEMSTAT, tp_mark_victim)
(struct mark_victim_args* args) {
    count_kill(args->uid, args->anon_rss, args->file_rss, args->shmem_rss);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/oom/mark_victim_ack", AID_ROOT, AID_MEMSTAT, tp_mark_victim_ack)
(struct mark_victim_args_ack* args) {
    count_kill(args->uid, 0, 0, 0);
    return 0;
}

LICENSE("GPL");

/*
 * memStatSyscalls: per-UID syscall counts and errors, and an opt-in per-UID
 * latency histogram.
 *
 * Default mode runs one program per syscall (sys_exit). Latency mode is
 * switched on by memstatd writing a non-zero epoch into syscall_config and
 * attaching sys_enter; switching it off detaches sys_enter and writes 0. Start
 * times carry the epoch they were taken in, so entries left over from an
 * earlier latency session never produce a bogus sample.
 *
 * Attribution is to the real UID of the task when the syscall returns.
 */
#include <linux/errno.h>

#include "memstat_group.h"

DEFINE_BPF_MAP_RO(syscall_counts, PERCPU_HASH, struct syscall_key, struct syscall_counts,
                  SYSCALL_COUNTS_ENTRIES, AID_MEMSTAT)
DEFINE_BPF_MAP_RO(syscall_overflow, PERCPU_ARRAY, uint32_t, struct syscall_overflow, 1,
                  AID_MEMSTAT)
DEFINE_BPF_MAP_GRW(syscall_config, ARRAY, uint32_t, struct syscall_config, 1, AID_MEMSTAT)
DEFINE_BPF_MAP(syscall_start, LRU_HASH, uint32_t, struct syscall_start, SYSCALL_START_ENTRIES)
/* Shared, not per-CPU: latency mode is opt-in, and 8x less memory beats saving an atomic add. */
DEFINE_BPF_MAP_RO(syscall_latency, HASH, uint32_t, struct latency_hist, SYSCALL_LATENCY_ENTRIES,
                  AID_MEMSTAT)

/* raw_syscalls record layouts: unchanged from 5.10 to 6.18. */
struct sys_enter_args {
    uint64_t common;
    int64_t id;
    uint64_t args[6];
};

struct sys_exit_args {
    uint64_t common;
    int64_t id;
    int64_t ret;
};

static inline __always_inline struct syscall_overflow* overflow(void) {
    const uint32_t zero = 0;
    return bpf_syscall_overflow_lookup_elem(&zero);
}

static inline __always_inline uint32_t latency_epoch(void) {
    const uint32_t zero = 0;
    const struct syscall_config* config = bpf_syscall_config_lookup_elem(&zero);
    return config ? config->latency_epoch : 0;
}

static inline __always_inline void count_new_key(const struct syscall_key* key, bool failed) {
    const struct syscall_counts first = {.count = 1, .errors = failed};
    const int err = bpf_syscall_counts_update_elem(key, &first, BPF_NOEXIST);
    if (!err) return;
    if (err == -EEXIST) {
        /* Another CPU inserted the key first; our CPU's slot starts at zero. */
        struct syscall_counts* counts = bpf_syscall_counts_lookup_elem(key);
        if (counts) {
            counts->count++;
            counts->errors += failed;
            return;
        }
    }
    struct syscall_overflow* o = overflow();
    if (o) {
        o->count++;
        o->errors += failed;
    }
}

static inline __always_inline void record_latency(uint32_t uid, uint32_t nr, uint32_t epoch) {
    const uint32_t tid = (uint32_t)bpf_get_current_pid_tgid();
    const struct syscall_start* start = bpf_syscall_start_lookup_elem(&tid);
    if (!start || start->epoch != epoch || start->nr != nr) {
        struct syscall_overflow* o = overflow();
        if (o) o->unmatched++;
        return;
    }
    const uint64_t ns = bpf_ktime_get_ns() - start->ts_ns;
    bpf_syscall_start_delete_elem(&tid);

    uint32_t bucket = ns ? log2_u64(ns) : 0;
    if (bucket >= LATENCY_BUCKETS) bucket = LATENCY_BUCKETS - 1;

    struct latency_hist* hist = bpf_syscall_latency_lookup_elem(&uid);
    if (!hist) {
        const struct latency_hist empty = {};
        /* BPF_NOEXIST: a racing insert from another CPU is kept, not zeroed. */
        bpf_syscall_latency_update_elem(&uid, &empty, BPF_NOEXIST);
        hist = bpf_syscall_latency_lookup_elem(&uid);
    }
    if (hist) {
        __sync_fetch_and_add(&hist->buckets[bucket], 1);
        return;
    }
    struct syscall_overflow* o = overflow();
    if (o) o->latency[bucket]++;
}

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_MEMSTAT, tp_sys_exit)
(struct sys_exit_args* args) {
    const struct syscall_key key = {
            .uid = (uint32_t)bpf_get_current_uid_gid(),
            .nr = (uint32_t)args->id,
    };
    const bool failed = args->ret < 0;

    struct syscall_counts* counts = bpf_syscall_counts_lookup_elem(&key);
    if (counts) {
        counts->count++;
        counts->errors += failed;
    } else {
        count_new_key(&key, failed);
    }

    const uint32_t epoch = latency_epoch();
    if (epoch) record_latency(key.uid, key.nr, epoch);
    return 0;
}

/* Attached only in latency mode. */
DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_enter", AID_ROOT, AID_MEMSTAT, tp_sys_enter)
(struct sys_enter_args* args) {
    const uint32_t epoch = latency_epoch();
    if (!epoch) return 0;

    const uint32_t tid = (uint32_t)bpf_get_current_pid_tgid();
    const struct syscall_start start = {
            .ts_ns = bpf_ktime_get_ns(),
            .epoch = epoch,
            .nr = (uint32_t)args->id,
    };
    if (bpf_syscall_start_update_elem(&tid, &start, BPF_ANY)) {
        struct syscall_overflow* o = overflow();
        if (o) o->start_dropped++;
    }
    return 0;
}

LICENSE("GPL");

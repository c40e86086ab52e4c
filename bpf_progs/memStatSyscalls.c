/*
 * memStatSyscalls: per-UID syscall counts and errors, and an opt-in per-UID
 * latency histogram.
 *
 * Default mode runs one program per syscall (sys_exit). Each call is counted
 * exactly once, in one of four places:
 *   - the UID's row (syscall_rows, per CPU, indexed by syscall number): the
 *     hot path, with no hash lookup and no helper call;
 *   - the pair's slot (syscall_slots, per CPU, at a hash of uid and nr), for
 *     UIDs with no row: taken by the first pair that hashes to it on the CPU
 *     and kept, so as cheap as a row, with no atomic add;
 *   - the shared (uid, nr) table syscall_counts, for pairs whose slot another
 *     pair holds and for numbers past a row's width;
 *   - the overflow bucket, when that table is full.
 * Rows are claimed here, in the program, once one of a UID's syscalls has
 * been counted SYSCALL_ROW_CLAIM_AT times in its slot on a CPU or in the
 * shared table, or when a call finds no slot and no room. A claim never loses a call: until it
 * completes, the UID's calls go where they went before. Rows are never given
 * back, and syscall_row_of entries are written in place and never deleted,
 * so a UID's cached row is never stale.
 *
 * Which UID: a per-CPU one-entry cache (syscall_cache) maps the thread that
 * returned last on the CPU to its real UID and row. It is keyed by the
 * thread id (bpf_get_current_pid_tgid: the global tid; the record's
 * common_pid is in the 8 bytes a tracepoint program may not read) and is
 * valid while syscall_watch.generation has not moved since it was filled;
 * only a miss calls bpf_get_current_uid_gid, which maps through the user
 * namespace and costs about twice the tid helper. A cached (tid, UID) can only go stale in these ways, and the
 * generation moves before any of them can be counted wrong:
 *   - The thread changes its own real UID (setuid, setreuid, setresuid, the
 *     16- and 32-bit compat ones). Credentials are per thread, and only these
 *     calls change a real UID; another thread's setuid changes its own (libc
 *     makes each thread call it). The call's own return bumps the generation
 *     before it is counted: memstatd marks their numbers, of the native and
 *     compat ABI, in syscall_watch's bitmap (one object serves every
 *     architecture: Soong builds bpf once, --target=bpf). A native number
 *     that is another compat call (arm64 dup, connect, setsockopt, writev on
 *     arm are setuid calls of the other ABI) only costs each CPU a refill.
 *     Numbers past the bitmap (x32 calls, ARM private calls) always bump.
 *   - The tid now names another task: a new task got a freed tid.
 *     tracepoint/task/task_newtask bumps in copy_process, after the tid is
 *     allocated and before wake_up_new_task, so before the task can run; a
 *     bump at clone's return would come too late (the child may run first,
 *     and on arm64 it reports no return of its own).
 *   - exec from a thread that is not the leader: it takes the leader's tid,
 *     and threads may have different UIDs. sched/sched_process_exec bumps
 *     after that and before the thread returns; execve and execveat are in
 *     the bitmap too, for an exec that fails after the tid changed (older arm64
 *     kernels report a successful exec with no syscall number).
 *   - exec of a set-user-ID file changes the effective and saved UIDs, never
 *     the real one counted here (and bumps anyway). User namespaces change
 *     no kernel UID: the helper maps through init_user_ns, and a setuid
 *     inside one is a setuid call. The kernel changes credentials only
 *     through the task itself (commit_creds applies to current; keyctl's
 *     session-to-parent keeps the UIDs); override_creds inside a syscall is
 *     reverted before it returns.
 *   - Changes while the programs were detached: memstatd moves the
 *     generation before attaching them.
 * A bump is an atomic add the next syscall of every CPU sees: the thread's
 * own, in program order; another CPU's, through the run-queue locks of the
 * wakeup or migration that put the thread there.
 *
 * Latency mode is switched on by memstatd writing a non-zero epoch into
 * syscall_config and attaching sys_enter; switching it off detaches sys_enter
 * and writes 0. Start times carry the epoch they were taken in, so entries
 * left over from an earlier latency session never produce a bogus sample.
 *
 * Attribution is to the real UID of the task when the syscall returns.
 */
#include <linux/errno.h>

#include "memstat_group.h"

DEFINE_BPF_MAP_RO(syscall_rows, PERCPU_ARRAY, uint32_t, struct syscall_row, SYSCALL_ROWS,
                  AID_MEMSTAT)
/* Row -> UID: inserted once per row with BPF_NOEXIST, which makes the claim exclusive. */
DEFINE_BPF_MAP_RO(syscall_row_uid, HASH, uint32_t, uint64_t, SYSCALL_ROWS, AID_MEMSTAT)
/* UID -> row, SYSCALL_ROW_PENDING while claiming, or SYSCALL_ROW_NONE. */
DEFINE_BPF_MAP(syscall_row_of, HASH, uint32_t, uint32_t, SYSCALL_ROW_OF_ENTRIES)
/* Non-zero once every row is taken: UIDs with no row stop trying. */
DEFINE_BPF_MAP(syscall_rows_full, ARRAY, uint32_t, uint32_t, 1)
DEFINE_BPF_MAP(syscall_cache, PERCPU_ARRAY, uint32_t, struct syscall_cache, 1)
DEFINE_BPF_MAP_GRW(syscall_watch, ARRAY, uint32_t, struct syscall_watch, 1, AID_MEMSTAT)
DEFINE_BPF_MAP_RO(syscall_slots, PERCPU_ARRAY, uint32_t, struct syscall_slot, SYSCALL_SLOTS,
                  AID_MEMSTAT)
/* Shared, not per-CPU: 8x less memory on 8 CPUs, and only pairs with no row or slot pay the atomic add. */
DEFINE_BPF_MAP_RO(syscall_counts, HASH, struct syscall_key, struct syscall_counts,
                  SYSCALL_COUNTS_ENTRIES, AID_MEMSTAT)
DEFINE_BPF_MAP_RO(syscall_overflow, PERCPU_ARRAY, uint32_t, struct syscall_overflow, 1,
                  AID_MEMSTAT)
DEFINE_BPF_MAP_GRW(syscall_config, ARRAY, uint32_t, struct syscall_config, 1, AID_MEMSTAT)
DEFINE_BPF_MAP(syscall_start, LRU_HASH, uint32_t, struct syscall_start, SYSCALL_START_ENTRIES)
/* Shared, not per-CPU: latency mode is opt-in, and 8x less memory beats saving an atomic add. */
DEFINE_BPF_MAP_RO(syscall_latency, HASH, uint32_t, struct latency_hist, SYSCALL_LATENCY_ENTRIES,
                  AID_MEMSTAT)

_Static_assert((SYSCALL_ROW_WIDTH & (SYSCALL_ROW_WIDTH - 1)) == 0,
               "a row's width is a power of two: the program masks its index");

/* raw_syscalls record layouts: unchanged from 5.10 to 6.18. */
struct sys_enter_args {
    uint64_t common; /* a tracepoint program may not read it */
    int64_t id;
    uint64_t args[6];
};

struct sys_exit_args {
    uint64_t common;
    int64_t id;
    int64_t ret;
};

/* The syscall number of a return that was not a syscall's (seccomp, a signal return). */
#define NO_SYSCALL 0xFFFFFFFFu

static inline __always_inline struct syscall_overflow* overflow(void) {
    const uint32_t zero = 0;
    return bpf_syscall_overflow_lookup_elem(&zero);
}

static inline __always_inline uint32_t latency_epoch(void) {
    const uint32_t zero = 0;
    const struct syscall_config* config = bpf_syscall_config_lookup_elem(&zero);
    return config ? config->latency_epoch : 0;
}

static inline __always_inline bool rows_full(void) {
    const uint32_t zero = 0;
    const uint32_t* full = bpf_syscall_rows_full_lookup_elem(&zero);
    return full && *full;
}

/* The cache misses: the thread's UID, and its row unless the UID is the one cached. */
static inline __always_inline void fill_cache(struct syscall_cache* cache, uint32_t tid,
                                              uint64_t generation) {
    const uint32_t uid = (uint32_t)bpf_get_current_uid_gid();
    if (!cache->tid || cache->uid != uid) {
        const uint32_t* r = bpf_syscall_row_of_lookup_elem(&uid);
        uint32_t row = r ? *r : SYSCALL_ROW_PENDING;
        if (row == SYSCALL_ROW_PENDING && rows_full()) row = SYSCALL_ROW_NONE;
        cache->uid = uid;
        cache->row = row;
    }
    cache->tid = tid;
    cache->generation = generation;
}

/* Bumps the generation after a call in the bitmap, or past it (x32 and ARM private calls). */
static inline __always_inline void watch(struct syscall_watch* w, uint32_t nr) {
    const bool marked = nr < SYSCALL_ROW_WIDTH
                                ? (w->calls[(nr / 64) & (SYSCALL_WATCH_WORDS - 1)] >> (nr % 64)) & 1
                                : nr != NO_SYSCALL;
    if (marked) __sync_fetch_and_add(&w->generation, 1);
}

/*
 * Gives the UID a row if one is free. BPF_NOEXIST inserts decide every race
 * (no atomic fetch before 5.12): the first into syscall_row_of claims for the
 * UID, the first into syscall_row_uid owns the row. Only then does the UID's
 * entry turn from PENDING into the row, in place.
 */
static inline __always_inline void claim_row(struct syscall_cache* cache, uint32_t uid) {
    const uint32_t pending = SYSCALL_ROW_PENDING;
    if (bpf_syscall_row_of_update_elem(&uid, &pending, BPF_NOEXIST)) {
        const uint32_t* r = bpf_syscall_row_of_lookup_elem(&uid);
        if (r) cache->row = *r;
        return;
    }
    uint32_t* mine = bpf_syscall_row_of_lookup_elem(&uid);
    if (!mine) return;
    const uint64_t owner = uid;
    uint32_t row = SYSCALL_ROW_NONE;
    bool all_taken = true;
    /* Unrolled: kernels before 5.3 have no loops, later ones cannot prove this one ends. */
#pragma unroll
    for (uint32_t r = 0; r < SYSCALL_ROWS; r++) {
        if (row != SYSCALL_ROW_NONE) continue;
        const uint32_t key = r;
        const int err = bpf_syscall_row_uid_update_elem(&key, &owner, BPF_NOEXIST);
        if (!err) row = r;
        else if (err != -EEXIST) all_taken = false;
    }
    if (row == SYSCALL_ROW_NONE && all_taken) {
        const uint32_t zero = 0;
        uint32_t* full = bpf_syscall_rows_full_lookup_elem(&zero);
        if (full) *full = 1;
    }
    /* NONE for good even if a row was busy rather than taken: an entry is never deleted. */
    *mine = row;
    cache->row = row;
}

/* Whether this call should make the UID claim a row: it has none yet, and one would hold nr. */
static inline __always_inline bool may_claim(const struct syscall_cache* cache, uint32_t nr) {
    return cache && cache->row == SYSCALL_ROW_PENDING && nr < SYSCALL_ROW_WIDTH && !rows_full();
}

/* The hot path: the call counts in the cached row, if the UID has one that holds nr. */
static inline __always_inline bool count_in_row(struct syscall_cache* cache, uint32_t nr,
                                                bool failed) {
    if (!cache || cache->row >= SYSCALL_ROWS || nr >= SYSCALL_ROW_WIDTH) return false;
    struct syscall_row* row = bpf_syscall_rows_lookup_elem(&cache->row);
    if (!row) return false;
    /* The mask changes nothing (nr < SYSCALL_ROW_WIDTH) but bounds the index for the verifier. */
    struct syscall_counts* counts = &row->calls[nr & (SYSCALL_ROW_WIDTH - 1)];
    counts->count++;
    counts->errors += failed;
    return true;
}

/*
 * The pair's slot on this CPU, taken if free. Nothing else writes this CPU's
 * slots while the program runs, and a slot keeps its pair for good, so the
 * pair is written once: memstatd reads a slot as free, as its pair, or (a
 * store split in two, on 32-bit kernels) as a key with a zero half, which is
 * none; and it checks that the pair hashes to the slot.
 */
static inline __always_inline bool count_in_slot(struct syscall_cache* cache, uint32_t uid,
                                                 uint32_t nr, bool failed) {
    /* (uid_t)-1 is no task's UID; its key would be no pair's. */
    if (nr >= SYSCALL_ROW_WIDTH || uid == 0xFFFFFFFFu) return false;
    const uint32_t i = SYSCALL_SLOT_OF(uid, nr);
    struct syscall_slot* s = bpf_syscall_slots_lookup_elem(&i);
    if (!s) return false;
    const uint64_t key = ((uint64_t)(uint32_t)~uid << 32) | ((uint64_t)nr + 1);
    if (s->key != key) {
        if (s->key) return false;
        s->key = key;
    }
    s->counts.count++;
    s->counts.errors += failed;
    if (s->counts.count >= SYSCALL_ROW_CLAIM_AT && may_claim(cache, nr)) claim_row(cache, uid);
    return true;
}

/*
 * The shared table, or the overflow bucket when it is full. A UID claims a
 * row once a syscall of its is busy in the table, or at once when the table
 * has no room for it: the row then counts that call and the UID's next ones.
 */
static inline __always_inline void count_shared(struct syscall_cache* cache, uint32_t uid,
                                                uint32_t nr, bool failed) {
    const struct syscall_key key = {.uid = uid, .nr = nr};
    struct syscall_counts* counts = bpf_syscall_counts_lookup_elem(&key);
    if (!counts) {
        const struct syscall_counts first = {.count = 1, .errors = failed};
        const int err = bpf_syscall_counts_update_elem(&key, &first, BPF_NOEXIST);
        if (!err) return;
        /* EEXIST: another CPU inserted the key first. */
        if (err == -EEXIST) counts = bpf_syscall_counts_lookup_elem(&key);
        if (!counts) {
            if (may_claim(cache, nr)) {
                claim_row(cache, uid);
                if (count_in_row(cache, nr, failed)) return;
            }
            struct syscall_overflow* o = overflow();
            if (o) {
                o->count++;
                o->errors += failed;
            }
            return;
        }
    }
    __sync_fetch_and_add(&counts->count, 1);
    if (failed) __sync_fetch_and_add(&counts->errors, 1);

    if (counts->count >= SYSCALL_ROW_CLAIM_AT && may_claim(cache, nr)) claim_row(cache, uid);
}

static inline __always_inline void record_latency(uint32_t tid, uint32_t uid, uint32_t nr,
                                                  uint32_t epoch) {
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
    const uint32_t tid = (uint32_t)bpf_get_current_pid_tgid();
    const uint32_t nr = (uint32_t)args->id;
    const bool failed = args->ret < 0;

    const uint32_t zero = 0;
    struct syscall_watch* w = bpf_syscall_watch_lookup_elem(&zero);
    struct syscall_cache* cache = bpf_syscall_cache_lookup_elem(&zero);
    if (!w || !cache) return 0; /* never: one-entry arrays */
    watch(w, nr);
    /* Read after the bump: a thread's own change is never cached as current. */
    const uint64_t generation = w->generation;
    if (cache->tid != tid || cache->generation != generation) fill_cache(cache, tid, generation);
    const uint32_t uid = cache->uid;
    if (!count_in_row(cache, nr, failed) && !count_in_slot(cache, uid, nr, failed))
        count_shared(cache, uid, nr, failed);

    const uint32_t epoch = latency_epoch();
    if (epoch) record_latency(tid, uid, nr, epoch);
    return 0;
}

/* A new task may have a freed tid: runs before the task can. */
DEFINE_BPF_PROG("tracepoint/task/task_newtask", AID_ROOT, AID_MEMSTAT, tp_task_newtask)
(void* args __unused) {
    const uint32_t zero = 0;
    struct syscall_watch* w = bpf_syscall_watch_lookup_elem(&zero);
    if (w) __sync_fetch_and_add(&w->generation, 1);
    return 0;
}

/* A thread that is not the leader took the leader's tid: runs before it returns. */
DEFINE_BPF_PROG("tracepoint/sched/sched_process_exec", AID_ROOT, AID_MEMSTAT, tp_process_exec)
(void* args __unused) {
    const uint32_t zero = 0;
    struct syscall_watch* w = bpf_syscall_watch_lookup_elem(&zero);
    if (w) __sync_fetch_and_add(&w->generation, 1);
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

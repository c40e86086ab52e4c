/*
 * memStatTaskExit: the faults of every exiting thread, from the kernel's own
 * per-task counters (task_struct.min_flt and maj_flt), and the process's
 * peak RSS (signal_struct.maxrss), at sched:sched_process_exit. Live tasks'
 * counters memstatd reads from /proc; exited ones are gone from there, so
 * this program adds each thread's counts to its UID (taskexit_uid) and to
 * its process (taskexit_dead, which memstatd subtracts from the process's
 * /proc total while it lives and sweeps once it is gone). Per exit, not per
 * fault: the counts are exact at no cost per fault.
 *
 * The platform loader does no CO-RE: memstatd writes the offsets into
 * taskexit_config, from kernel BTF or by self-calibration, which asks this
 * program to copy one thread's task_struct at its exit (taskexit_window).
 */
#include "memstat_group.h"
#include "memstat_kernel_helpers.h"

DEFINE_BPF_MAP_RO(taskexit_uid, HASH, uint32_t, struct task_faults, MEMORY_UID_ENTRIES, AID_MEMSTAT)
DEFINE_BPF_MAP_RO(taskexit_other, ARRAY, uint32_t, struct task_faults, 1, AID_MEMSTAT)
DEFINE_BPF_MAP_GRW(taskexit_dead, HASH, uint32_t, struct task_dead, TASK_DEAD_ENTRIES, AID_MEMSTAT)
DEFINE_BPF_MAP_GRW(taskexit_config, ARRAY, uint32_t, struct task_config, 1, AID_MEMSTAT)
DEFINE_BPF_MAP_GRW(taskexit_held, HASH, uint32_t, struct task_held, TASK_HELD_ENTRIES, AID_MEMSTAT)
DEFINE_BPF_MAP_RO(taskexit_drops, ARRAY, uint32_t, struct task_drops, 1, AID_MEMSTAT)
DEFINE_BPF_MAP_RO(taskexit_window, ARRAY, uint32_t, struct task_window, 1, AID_MEMSTAT)

/* An unsigned long of the kernel at addr + off; 0 if it cannot be read. */
static inline __always_inline int read_word(uint64_t* out, uint64_t addr, uint32_t off,
                                            uint32_t word) {
    *out = 0;
    if (word == 4) {
        uint32_t v = 0;
        const long err = memstat_probe_read_kernel(&v, sizeof(v), (const void*)(addr + off));
        *out = v;
        return err;
    }
    return memstat_probe_read_kernel(out, sizeof(*out), (const void*)(addr + off));
}

DEFINE_BPF_PROG("tracepoint/sched/sched_process_exit", AID_ROOT, AID_MEMSTAT, tp_task_exit)
(void* args __unused) {
    const uint32_t zero = 0;
    const struct task_config* c = bpf_taskexit_config_lookup_elem(&zero);
    struct task_drops* drops = bpf_taskexit_drops_lookup_elem(&zero);
    if (!c || !drops) return 0;
    const uint64_t task = memstat_get_current_task();
    const uint64_t pid_tgid = bpf_get_current_pid_tgid();
    const uint32_t tid = (uint32_t)pid_tgid, tgid = pid_tgid >> 32;

    if (c->calibrate_tid && c->calibrate_tid == tid) {
        struct task_window* w = bpf_taskexit_window_lookup_elem(&zero);
        if (w && !memstat_probe_read_kernel(w->bytes, sizeof(w->bytes), (const void*)task))
            w->tid = tid;
    }
    if (!c->configured) {
        __sync_fetch_and_add(&drops->unconfigured, 1);
        return 0;
    }
    const uint32_t word = c->word;
    uint64_t minor, major, maxrss = 0, signal = 0;
    if (read_word(&minor, task, c->min_flt, word) || read_word(&major, task, c->maj_flt, word)) {
        __sync_fetch_and_add(&drops->read_failed, 1);
        return 0;
    }
    if (c->signal && !read_word(&signal, task, c->signal, word) && signal)
        read_word(&maxrss, signal, c->maxrss, word);
    const uint32_t uid = current_uid();

    /*
     * The process's entry first, then the UID's: memstatd reads every UID
     * before any process, so a read between the two can miss this exit
     * (caught up at the next read) but never count it twice.
     */
    struct task_dead* d = bpf_taskexit_dead_lookup_elem(&tgid);
    if (!d) {
        const struct task_dead first = {.uid = uid};
        bpf_taskexit_dead_update_elem(&tgid, &first, BPF_NOEXIST);
        d = bpf_taskexit_dead_lookup_elem(&tgid);
        if (!d) __sync_fetch_and_add(&drops->dead_full, 1);
    }
    if (d) {
        __sync_fetch_and_add(&d->minor, minor);
        __sync_fetch_and_add(&d->major, major);
        __sync_fetch_and_add(&d->exits, 1);
        if (maxrss > d->maxrss_pages) d->maxrss_pages = maxrss;
        d->uid = uid;
    }

    struct task_faults* f = bpf_taskexit_uid_lookup_elem(&uid);
    if (!f) {
        const struct task_faults first = {};
        /* BPF_NOEXIST: a racing insert from another CPU is kept, not zeroed. */
        bpf_taskexit_uid_update_elem(&uid, &first, BPF_NOEXIST);
        f = bpf_taskexit_uid_lookup_elem(&uid);
        if (!f) {
            __sync_fetch_and_add(&drops->uid_full, 1);
            f = bpf_taskexit_other_lookup_elem(&zero);
        }
    }
    if (f) {
        __sync_fetch_and_add(&f->minor, minor);
        __sync_fetch_and_add(&f->major, major);
    }
    return 0;
}

LICENSE("GPL");

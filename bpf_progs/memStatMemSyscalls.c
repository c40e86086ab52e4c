/*
 * memStatMemSyscalls: memory syscalls per UID, with the bytes each asked
 * for: mmap, munmap, mremap (new length), brk (growth of the break), madvise,
 * mprotect, shmget (size), shmat, shmdt, shmctl, memfd_create.
 *
 * One program per syscall event (syscalls:sys_enter_<name>, brk's
 * sys_exit_brk), so nothing runs for any other syscall. Kernels without
 * those events (CONFIG_FTRACE_SYSCALLS, which GKI kernels lack) count mmap
 * from mmap:vm_unmapped_area instead: each address-space search, with its
 * length. Like every syscalls:* event, the 32-bit calls of a compat task
 * are not seen.
 *
 * brk returns the break it leaves, so its growth is the return minus the
 * previous return in the same process image: memsyscalls_brk holds each
 * process's break, inherited by a forked child (task:task_newtask) and
 * forgotten at exec (sched:sched_process_exec), when the process gets a new
 * break; a process's first brk (libcs start with brk(0)) only sets it.
 * A break is kept with the session it was seen in (a param memstatd renews
 * at every attach, each duty window included): one from before a detach may
 * predate an exec or a pid's reuse that no program saw, so it only sets the
 * break too. Nothing counts or is noted while the group is paused (between
 * duty windows).
 */
#include "memstat_group.h"

MEMORY_GROUP(memsyscalls, struct memsyscall_stats, HASH, ARRAY, BUSY_UID_ENTRIES)
/* A process's break, and the session it was seen in. */
struct brk_note {
    uint64_t brk;
    uint32_t session;
    uint32_t reserved;
};

DEFINE_BPF_MAP(memsyscalls_brk, LRU_HASH, uint32_t, struct brk_note, BRK_ENTRIES)

/* Slots of struct memsyscall_stats. */
#define MS_MMAP 0
#define MS_MUNMAP 1
#define MS_MREMAP 2
#define MS_BRK 3
#define MS_MADVISE 4
#define MS_MPROTECT 5
#define MS_SHMGET 6
#define MS_SHMAT 7
#define MS_SHMDT 8
#define MS_SHMCTL 9
#define MS_MEMFD_CREATE 10

#define CLONE_THREAD 0x00010000

/* syscalls:sys_enter_<name>: each argument is 8 bytes from 16 on. */
struct sys_enter_args {
    uint64_t common;
    int32_t syscall_nr;
    uint32_t pad;
    uint64_t args[6];
};

/* syscalls:sys_exit_<name>. */
struct sys_exit_args {
    uint64_t common;
    int32_t syscall_nr;
    uint32_t pad;
    int64_t ret;
};

/* mmap:vm_unmapped_area, the same since it came in 5.8 (the fields up to length). */
struct vm_unmapped_area_args {
    uint64_t common;
    uint64_t addr; /* the address found, or -errno */
    uint64_t total_vm;
    uint64_t flags;
    uint64_t length;
};

/* task:task_newtask: clone_flags is unsigned long, u64 in newer kernels; at 32 either way. */
struct task_newtask_args {
    uint64_t common;
    int32_t pid;
    char comm[16];
    uint32_t pad;
    uint64_t clone_flags;
};

/* On, or in a duty window: attached and not paused. */
static inline __always_inline int counting(const struct group_config* c) {
    return c && !c->paused && (c->mode == GROUP_MODE_ON || c->mode == GROUP_MODE_DUTY);
}

static inline __always_inline int on(void) {
    return counting(memsyscalls_settings());
}

/* This attachment's session, 0 when not counting (nothing is noted then). */
static inline __always_inline uint32_t session(void) {
    const struct group_config* c = memsyscalls_settings();
    return counting(c) ? c->param[MEMSYSCALLS_PARAM_SESSION] : 0;
}

/* The break of `tgid` noted in this session, or 0. */
static inline __always_inline uint64_t noted_brk(uint32_t tgid, uint32_t now) {
    const struct brk_note* n = bpf_memsyscalls_brk_lookup_elem(&tgid);
    return n && n->session == now ? n->brk : 0;
}

static inline __always_inline uint32_t current_tgid(void) {
    return (uint32_t)(bpf_get_current_pid_tgid() >> 32);
}

static inline __always_inline void count(uint32_t slot, uint64_t bytes) {
    struct memsyscall_stats* s = memsyscalls_stats(current_uid());
    if (!s) return;
    __sync_fetch_and_add(&s->calls[slot], 1);
    if (bytes) __sync_fetch_and_add(&s->bytes[slot], bytes);
}

/* A syscall counted with the argument at index `arg` as its bytes. */
#define ENTER_BYTES(name, slot, arg)                                                               \
    DEFINE_BPF_PROG("tracepoint/syscalls/sys_enter_" #name, AID_ROOT, AID_MEMSTAT,                 \
                    tp_enter_##name)                                                               \
    (struct sys_enter_args * args) {                                                               \
        if (on()) count(slot, args->args[arg]);                                                    \
        return 0;                                                                                  \
    }

/* A syscall counted without bytes: the program reads nothing of its record. */
#define ENTER_CALLS(name, slot)                                                                    \
    DEFINE_BPF_PROG("tracepoint/syscalls/sys_enter_" #name, AID_ROOT, AID_MEMSTAT,                 \
                    tp_enter_##name)                                                               \
    (void* args __unused) {                                                                        \
        if (on()) count(slot, 0);                                                                  \
        return 0;                                                                                  \
    }

ENTER_BYTES(mmap, MS_MMAP, 1)         /* len */
ENTER_BYTES(munmap, MS_MUNMAP, 1)     /* len */
ENTER_BYTES(mremap, MS_MREMAP, 2)     /* new_len */
ENTER_BYTES(madvise, MS_MADVISE, 1)   /* len_in */
ENTER_BYTES(mprotect, MS_MPROTECT, 1) /* len */
ENTER_BYTES(shmget, MS_SHMGET, 1)     /* size */
ENTER_CALLS(shmat, MS_SHMAT)
ENTER_CALLS(shmdt, MS_SHMDT)
ENTER_CALLS(shmctl, MS_SHMCTL)
ENTER_CALLS(memfd_create, MS_MEMFD_CREATE)

DEFINE_BPF_PROG("tracepoint/syscalls/sys_exit_brk", AID_ROOT, AID_MEMSTAT, tp_exit_brk)
(struct sys_exit_args* args) {
    const uint32_t now = session();
    if (!now) return 0;
    const uint32_t tgid = current_tgid();
    const struct brk_note note = {.brk = (uint64_t)args->ret, .session = now};
    /* The break after the call, failed or not. */
    const uint64_t last = noted_brk(tgid, now);
    const uint64_t growth = last && note.brk > last ? note.brk - last : 0;
    bpf_memsyscalls_brk_update_elem(&tgid, &note, BPF_ANY);
    count(MS_BRK, growth);
    return 0;
}

DEFINE_BPF_PROG("tracepoint/mmap/vm_unmapped_area", AID_ROOT, AID_MEMSTAT, tp_vm_unmapped_area)
(struct vm_unmapped_area_args* args) {
    /* A failed search is retried (e.g. bottom-up after top-down): count the one that found room. */
    if (on() && args->addr < (uint64_t)-4095) count(MS_MMAP, args->length);
    return 0;
}

/* A new process starts with its parent's break; a new thread shares it. */
DEFINE_BPF_PROG("tracepoint/task/task_newtask", AID_ROOT, AID_MEMSTAT, tp_task_newtask)
(struct task_newtask_args* args) {
    const uint32_t now = session();
    if (!now || (args->clone_flags & CLONE_THREAD)) return 0;
    const uint32_t child = (uint32_t)args->pid;
    const struct brk_note note = {.brk = noted_brk(current_tgid(), now), .session = now};
    if (note.brk) {
        bpf_memsyscalls_brk_update_elem(&child, &note, BPF_ANY);
    } else {
        /* An entry of an earlier process with this pid is not the child's. */
        bpf_memsyscalls_brk_delete_elem(&child);
    }
    return 0;
}

DEFINE_BPF_PROG("tracepoint/sched/sched_process_exec", AID_ROOT, AID_MEMSTAT, tp_process_exec)
(void* args __unused) {
    if (!on()) return 0;
    const uint32_t tgid = current_tgid();
    bpf_memsyscalls_brk_delete_elem(&tgid);
    return 0;
}

LICENSE("GPL");

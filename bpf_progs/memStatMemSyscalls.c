/*
 * memStatMemSyscalls: memory syscalls per UID, with the bytes each asked
 * for: mmap, munmap, mremap (new length), brk (growth of the break since the
 * process's previous brk), madvise, mprotect, shmget (size), shmat, shmdt,
 * shmctl, memfd_create. Syscall numbers differ by architecture, so memstatd
 * writes this architecture's into the config (PARAM_NONE where it lacks one);
 * like raw_syscalls, numbers are those of the caller's ABI.
 */
#include "memstat_group.h"

MEMORY_GROUP(memsyscalls, struct memsyscall_stats, HASH, ARRAY)
DEFINE_BPF_MAP(memsyscalls_brk, LRU_HASH, uint32_t, uint64_t, BRK_ENTRIES)

/* Slots of struct memsyscall_stats and of group_config.param. */
#define MS_MMAP 0
#define MS_MUNMAP 1
#define MS_MREMAP 2
#define MS_BRK 3
#define MS_MADVISE 4
#define MS_MPROTECT 5
#define MS_SHMGET 6

/* raw_syscalls:sys_enter, every kernel here. */
struct sys_enter_args {
    uint64_t common;
    int64_t id;
    uint64_t args[6];
};

/* The break the process asked for last; the growth from it. */
static inline __always_inline uint64_t brk_growth(uint64_t asked) {
    if (!asked) return 0; /* brk(0) only reads the break */
    const uint32_t tgid = (uint32_t)(bpf_get_current_pid_tgid() >> 32);
    const uint64_t* last = bpf_memsyscalls_brk_lookup_elem(&tgid);
    const uint64_t growth = last && asked > *last ? asked - *last : 0;
    bpf_memsyscalls_brk_update_elem(&tgid, &asked, BPF_ANY);
    return growth;
}

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_enter", AID_ROOT, AID_MEMSTAT, tp_mem_sys_enter)
(struct sys_enter_args* args) {
    const struct group_config* c = memsyscalls_settings();
    if (!c || c->mode != GROUP_MODE_ON) return 0;
    const uint32_t nr = (uint32_t)args->id;
    if (nr == PARAM_NONE) return 0;
    uint32_t slot = MEM_SYSCALLS;
    for (uint32_t i = 0; i < MEM_SYSCALLS; i++) {
        if (c->param[i] == nr) {
            slot = i;
            break;
        }
    }
    if (slot >= MEM_SYSCALLS) return 0;

    uint64_t bytes = 0;
    switch (slot) {
        case MS_MMAP:
        case MS_MUNMAP:
        case MS_MADVISE:
        case MS_MPROTECT:
        case MS_SHMGET:
            bytes = args->args[1];
            break;
        case MS_MREMAP:
            bytes = args->args[2];
            break;
        case MS_BRK:
            bytes = brk_growth(args->args[0]);
            break;
    }
    struct memsyscall_stats* s = memsyscalls_stats(current_uid());
    if (!s) return 0;
    __sync_fetch_and_add(&s->calls[slot], 1);
    if (bytes) __sync_fetch_and_add(&s->bytes[slot], bytes);
    return 0;
}

LICENSE("GPL");

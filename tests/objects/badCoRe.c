// clang-flags: -g
/* Breaks rule 1.4.5: a CO-RE relocation, which the platform loader never applies. */
#include <bpf_helpers.h>

struct task_like {
    int pid;
    int tgid;
} __attribute__((preserve_access_index));

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_core)(void* ctx) {
    struct task_like* t = ctx;
    return __builtin_preserve_access_index(t->tgid);
}

LICENSE("GPL");

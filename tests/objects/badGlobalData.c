/* Breaks rule 1.4.3: a global variable (.bss), which the platform cannot relocate. */
#include <bpf_helpers.h>

uint64_t hits;

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_global)(void* ctx __unused) {
    __sync_fetch_and_add(&hits, 1);
    return 0;
}

LICENSE("GPL");

/* Rule 1.4.7: an optional program that the verifier rejects is skipped; the rest loads. */
#include <bpf_helpers.h>

DEFINE_OPTIONAL_BPF_PROG("tracepoint/raw_syscalls/sys_enter", AID_ROOT, AID_ROOT, tp_bad)
(void* ctx) {
    /* Tracepoint records are read-only: the verifier refuses this write. */
    *(volatile int*)ctx = 1;
    return 0;
}

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_good)(void* ctx __unused) {
    return 0;
}

LICENSE("GPL");

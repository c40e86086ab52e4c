/* Breaks memstat's rule on 1.3: CRITICAL() would make a memstat failure block boot. */
#include <bpf_helpers.h>

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_ok)(void* ctx __unused) {
    return 0;
}

LICENSE("GPL");
CRITICAL("memstat");

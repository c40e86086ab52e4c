/* Breaks rule 1.3: no LICENSE(). */
#include <bpf_helpers.h>

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_ok)(void* ctx __unused) {
    return 0;
}

/* The floor of the syscall benchmark: a tracepoint program that does nothing. */
#include <bpf_helpers.h>

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_empty)(void* ctx __unused) {
    return 0;
}

LICENSE("GPL");

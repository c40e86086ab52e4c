/* Breaks rule 1.4.3: a BPF-to-BPF call into a .text subprogram. */
#include <bpf_helpers.h>

__attribute__((noinline)) int helper(int x) {
    return x * 3;
}

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_call)(void* ctx __unused) {
    return helper((int)bpf_get_smp_processor_id()) & 1;
}

LICENSE("GPL");

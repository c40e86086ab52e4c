/* Breaks rule 1.4.6: an empty kernel range (min 6.1 >= max 5.10) never loads anywhere. */
#include <bpf_helpers.h>

DEFINE_BPF_PROG_KVER_RANGE("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_never,
                           KVER_6_1, KVER_5_10)
(void* ctx __unused) {
    return 0;
}

LICENSE("GPL");

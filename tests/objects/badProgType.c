/* Breaks rule 1.4.5: raw_tracepoint programs are not accepted by the platform loader. */
#include <bpf_helpers.h>

DEFINE_BPF_PROG("raw_tracepoint/sys_exit", AID_ROOT, AID_ROOT, rtp_exit)(void* ctx __unused) {
    return 0;
}

LICENSE("GPL");

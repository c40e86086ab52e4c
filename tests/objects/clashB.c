/* Rule 1.4.8, with clashA.c: the same pin name, 4-byte values here: incompatible. */
#include <bpf_helpers.h>

DEFINE_BPF_MAP_GRO(shared_map, ARRAY, uint32_t, uint32_t, 4, AID_SYSTEM)

/* The platform loader refuses an object without programs (rule 1.4.4). */
DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_clash)
(void* ctx __unused) {
    return 0;
}

LICENSE("GPL");

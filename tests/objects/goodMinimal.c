/* A minimal valid object: one map, one tracepoint program using it. */
#include <bpf_helpers.h>

DEFINE_BPF_MAP(hits, ARRAY, uint32_t, uint64_t, 1)

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_minimal)
(void* ctx __unused) {
    const uint32_t zero = 0;
    uint64_t* n = bpf_hits_lookup_elem(&zero);
    if (n) __sync_fetch_and_add(n, 1);
    return 0;
}

LICENSE("GPL");

/* Rule 1.4.7: a mandatory program that fails aborts the rest of the object; maps stay. */
#include <bpf_helpers.h>

DEFINE_BPF_MAP(kept_map, ARRAY, uint32_t, uint64_t, 1)

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_enter", AID_ROOT, AID_ROOT, tp_bad)(void* ctx) {
    *(volatile int*)ctx = 1; /* read-only record: the verifier refuses this */
    return 0;
}

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_after)(void* ctx __unused) {
    const uint32_t zero = 0;
    uint64_t* n = bpf_kept_map_lookup_elem(&zero);
    if (n) __sync_fetch_and_add(n, 1);
    return 0;
}

LICENSE("GPL");

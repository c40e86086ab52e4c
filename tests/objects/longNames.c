/* Rule 1.4.9: kernel object names are cut to 15 characters; pin names are not. */
#include <bpf_helpers.h>

DEFINE_BPF_MAP(a_map_with_a_very_long_name, ARRAY, uint32_t, uint64_t, 1)

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, a_program_with_a_long_name)
(void* ctx __unused) {
    const uint32_t zero = 0;
    uint64_t* n = bpf_a_map_with_a_very_long_name_lookup_elem(&zero);
    if (n) __sync_fetch_and_add(n, 1);
    return 0;
}

LICENSE("GPL");

/* Breaks rule 1.4.1: a 116-byte entry in maps, not 120. */
#include <bpf_helpers.h>

const struct { unsigned int words[29]; } short_map SECTION("maps") = {{BPF_MAP_TYPE_ARRAY, 4, 4, 1}};

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_ok)(void* ctx __unused) {
    return 0;
}

LICENSE("GPL");

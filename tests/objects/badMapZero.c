/* Breaks rule 1.1: bpf_map_def.zero must be 0 (Android 14+ loaders abort otherwise). */
#include <bpf_helpers.h>

const struct bpf_map_def SECTION("maps") nonzero = {
        .type = BPF_MAP_TYPE_ARRAY,
        .key_size = 4,
        .value_size = 4,
        .max_entries = 1,
        .zero = 1,
        .mode = 0600,
        .max_kver = 0xFFFFFFFFu,
        .bpfloader_max_ver = 0x10000u,
};

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_ok)(void* ctx __unused) {
    return 0;
}

LICENSE("GPL");

/* Breaks rule 1.1: a 2048-byte key (keys must be < 1024 bytes). */
#include <bpf_helpers.h>

const struct bpf_map_def SECTION("maps") huge_key = {
        .type = BPF_MAP_TYPE_HASH,
        .key_size = 2048,
        .value_size = 8,
        .max_entries = 16,
        .mode = 0600,
        .max_kver = 0xFFFFFFFFu,
        .bpfloader_max_ver = 0x10000u,
};

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_ok)(void* ctx __unused) {
    return 0;
}

LICENSE("GPL");

/* Rule 1.4.6: definitions whose kernel range excludes the running kernel get no pin. */
#include <bpf_helpers.h>

DEFINE_BPF_MAP_BASE(future_map, ARRAY, sizeof(uint32_t), sizeof(uint64_t), 1, AID_ROOT, AID_ROOT,
                    0600, "", "", PRIVATE, KVER(99, 0, 0), KVER_INF, BPFLOADER_MIN_VER,
                    BPFLOADER_MAX_VER, LOAD_ON_ENG, LOAD_ON_USER, LOAD_ON_USERDEBUG, 0);
DEFINE_BPF_MAP(current_map, ARRAY, uint32_t, uint64_t, 1)

DEFINE_BPF_PROG_KVER("tracepoint/raw_syscalls/sys_enter", AID_ROOT, AID_ROOT, tp_future,
                     KVER(99, 0, 0))
(void* ctx __unused) {
    return 0;
}

DEFINE_BPF_PROG_KVER_RANGE("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_current,
                           KVER_5_4, KVER(99, 0, 0))
(void* ctx __unused) {
    const uint32_t zero = 0;
    uint64_t* n = bpf_current_map_lookup_elem(&zero);
    if (n) __sync_fetch_and_add(n, 1);
    return 0;
}

LICENSE("GPL");

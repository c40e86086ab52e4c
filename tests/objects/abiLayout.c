/*
 * Not a program: the sizes and offsets clang gives memstat_abi.h on the BPF
 * target, in section "layout", for tests/tests/abi.rs to compare with the
 * Rust mirror in memstatd/src/abi.rs.
 */
#include <bpf_helpers.h>

#include "memstat_abi.h"

#define OFF(s, f) __builtin_offsetof(struct s, f)

const uint64_t abi_layout[] SECTION("layout") = {
        sizeof(struct syscall_key), OFF(syscall_key, uid), OFF(syscall_key, nr),
        sizeof(struct syscall_counts), OFF(syscall_counts, count), OFF(syscall_counts, errors),
        sizeof(struct syscall_config), OFF(syscall_config, latency_epoch),
        sizeof(struct syscall_start), OFF(syscall_start, ts_ns), OFF(syscall_start, epoch),
        OFF(syscall_start, nr),
        sizeof(struct latency_hist), OFF(latency_hist, buckets), LATENCY_BUCKETS,
        sizeof(struct syscall_overflow), OFF(syscall_overflow, count), OFF(syscall_overflow, errors),
        OFF(syscall_overflow, latency), OFF(syscall_overflow, start_dropped),
        OFF(syscall_overflow, unmatched),
        SYSCALL_COUNTS_ENTRIES, SYSCALL_START_ENTRIES, SYSCALL_LATENCY_ENTRIES,
};

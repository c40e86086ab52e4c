/*
 * memstat's BPF ABI: the keys, values and sizes shared by the BPF programs and
 * memstatd. memstatd mirrors every definition in memstatd/src/abi.rs, and a
 * test compares the two layouts and the built objects' map definitions.
 *
 * Memory cost of each map is documented in bpf_progs/README.md.
 */
#pragma once

#include <stdint.h>

/* ---- syscalls group (memStatSyscalls.c) ---- */

/* Distinct (uid, syscall) pairs kept. Beyond this, calls go to the overflow bucket. */
#define SYSCALL_COUNTS_ENTRIES 16384
/* Threads whose syscall start time can be held at once in latency mode (LRU). */
#define SYSCALL_START_ENTRIES 8192
/* UIDs with their own latency histogram; the rest share the overflow histogram. */
#define SYSCALL_LATENCY_ENTRIES 2048
/* log2(ns) buckets: bucket b holds [2^b, 2^(b+1)) ns; the last one is open-ended. */
#define LATENCY_BUCKETS 32

struct syscall_key {
    uint32_t uid;
    uint32_t nr; /* syscall number of the caller's ABI, as raw_syscalls reports it */
};

struct syscall_counts {
    uint64_t count;
    uint64_t errors; /* calls that returned a negative value */
};

/* Written by memstatd; latency_epoch 0 = latency mode off. */
struct syscall_config {
    uint32_t latency_epoch;
};

/* Per-thread start of the syscall in flight (latency mode). */
struct syscall_start {
    uint64_t ts_ns;
    uint32_t epoch; /* latency_epoch when recorded: stale entries never match */
    uint32_t nr;
};

struct latency_hist {
    uint64_t buckets[LATENCY_BUCKETS];
};

/*
 * Everything the maps above had no room for, and every event that could not be
 * matched. Counters only grow.
 */
struct syscall_overflow {
    uint64_t count;                     /* calls with no room in syscall_counts */
    uint64_t errors;                    /* ... of which failed */
    uint64_t latency[LATENCY_BUCKETS];  /* samples of UIDs with no room in syscall_latency */
    uint64_t start_dropped;             /* sys_enter could not store a start time */
    uint64_t unmatched;                 /* sys_exit found no start of this epoch */
};

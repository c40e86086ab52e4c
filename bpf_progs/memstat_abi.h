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

/* ---- memory groups (memStat<Group>.c, built on memstat_group.h) ---- */

/*
 * Each memory group keeps one value per UID in <group>_uid; UIDs beyond
 * MEMORY_UID_ENTRIES share the <group>_other bucket. Values are arrays of u64
 * slots: counters only grow; peaks (rss) only grow within an epoch.
 */
#define MEMORY_UID_ENTRIES 1024
/* Page orders 0..10 each; the last slot also counts any larger order. */
#define ORDERS 12
/* Migratetype classes: unmovable, movable, reclaimable, other (highatomic, CMA, isolate). */
#define MT_CLASSES 4
/* Stall latency, log2(us): bucket b holds [2^b, 2^(b+1)) us (b = 0 also < 1 us); the last is open-ended. */
#define STALL_BUCKETS 24
/* Threads whose begin event waits for its end (reclaim, compaction, kswapd). */
#define STALL_START_ENTRIES 8192
/* Processes whose RSS by type is followed (rss). */
#define RSS_MM_ENTRIES 8192
/* Processes whose last brk is remembered (memsyscalls). */
#define BRK_ENTRIES 8192
/* enum compact_result values 0..8; the last slot counts any other. */
#define COMPACT_RESULTS 10
/* mm counters of kmem:rss_stat: file, anon, swap entries, shmem. */
#define RSS_MEMBERS 4
/* mmap, munmap, mremap, brk, madvise, mprotect, shmget, shmat, shmdt, shmctl, memfd_create. */
#define MEM_SYSCALLS 11
#define GROUP_PARAMS 12

#define GROUP_MODE_UNSET 0
#define GROUP_MODE_OFF 1
#define GROUP_MODE_ON 2
/* A param slot with no value (a syscall this architecture lacks). */
#define PARAM_NONE 0xFFFFFFFFu

/* <group>_config, written by memstatd. */
struct group_config {
    uint32_t mode;         /* GROUP_MODE_*: UNSET means memstatd applies the default */
    uint32_t sample_every; /* count one event in N, as N; 0 and 1 count every event */
    uint32_t epoch;        /* peaks start again when it changes (rss) */
    uint32_t reserved;
    uint32_t param[GROUP_PARAMS]; /* memsyscalls: syscall numbers; extfrag: pageblock order */
};

/* A stall: time from a begin event to its end in the same thread. */
struct stall_stats {
    uint64_t count;
    uint64_t total_ns;
    uint64_t unmatched; /* ends with no begin: attached mid-stall, or no room to keep the begin */
    uint64_t hist[STALL_BUCKETS];
};

/* Per-thread begin time of a stall in progress. */
struct stall_start {
    uint64_t ts_ns;
    uint32_t kind; /* which stall began (group-specific) */
    uint32_t reserved;
};

/* memStatPageAlloc: kmem:mm_page_alloc, kmem:mm_page_free. */
struct pagealloc_stats {
    uint64_t alloc[ORDERS];           /* allocations by order */
    uint64_t alloc_class[MT_CLASSES]; /* allocations by migratetype class */
    uint64_t alloc_failed;            /* allocations that found no page */
    uint64_t free[ORDERS];            /* frees by order */
};

/*
 * memStatSlab: kmem:kmalloc(_node), kmem:kmem_cache_alloc(_node), kmem:kfree, kmem:kmem_cache_free.
 * Each allocation kind is a triple (count, requested, allocated) the program indexes from its first field.
 */
struct slab_stats {
    uint64_t kmalloc;             /* successful kmallocs */
    uint64_t kmalloc_requested;   /* bytes asked for */
    uint64_t kmalloc_allocated;   /* bytes given (the slab object size) */
    uint64_t cache_alloc;         /* successful kmem_cache_allocs */
    uint64_t cache_requested;
    uint64_t cache_allocated;
    uint64_t failed;              /* allocations of either kind that returned NULL */
    uint64_t kfree;               /* kfree of a real object (not NULL or ZERO_SIZE_PTR) */
    uint64_t cache_free;
};

/* memStatExtfrag: kmem:mm_page_alloc_extfrag. */
struct extfrag_stats {
    uint64_t fallback_order[ORDERS];     /* events by the order of the block taken */
    uint64_t alloc_class[MT_CLASSES];    /* by the allocation's migratetype class */
    uint64_t fallback_class[MT_CLASSES]; /* by the migratetype class it fell back to */
    uint64_t ownership_changes;          /* the pageblock was claimed for the allocation's type */
    uint64_t fragmenting;                /* the block taken was below pageblock order (param 0) */
};

/* memStatReclaim: vmscan direct and memcg reclaim, kswapd wakeups and runs. */
struct reclaim_stats {
    struct stall_stats direct;
    uint64_t direct_reclaimed; /* pages */
    struct stall_stats memcg;
    uint64_t memcg_reclaimed;  /* pages */
    uint64_t kswapd_wakeups;   /* kswapd woken for this UID's allocations */
    uint64_t kswapd_runs;      /* kswapd itself (its UID): wake to sleep */
    uint64_t kswapd_awake_ns;
};

/* memStatCompaction: compaction begin/end, direct compaction, kcompactd wakeups. */
struct compaction_stats {
    struct stall_stats stall;          /* compact_zone runs, begin to end */
    uint64_t result[COMPACT_RESULTS];  /* by the end's status */
    uint64_t direct;                   /* direct compaction attempts (try_to_compact_pages) */
    uint64_t kcompactd_wakeups;        /* kcompactd woken for this UID's allocations */
};

/* memStatFaults: page faults (exceptions:page_fault_user or perf software events). */
struct faults_stats {
    uint64_t faults; /* every page fault */
    uint64_t major;  /* faults that waited for I/O */
};

/* memStatOom: oom:mark_victim. */
struct oom_stats {
    uint64_t kills;       /* this UID's processes chosen as OOM victims */
    uint64_t anon_kb;     /* victims' RSS at the kill, summed (layouts that record it) */
    uint64_t file_kb;
    uint64_t shmem_kb;
    uint64_t max_rss_kb;  /* the largest victim's anon + file + shmem */
    uint64_t invoked;     /* kills this UID's allocations triggered */
};

/* memStatRss: kmem:rss_stat. Peaks of one process of the UID, in bytes. */
struct rss_stats {
    uint64_t epoch;              /* the config epoch the peaks belong to */
    uint64_t peak[RSS_MEMBERS];  /* by type: file, anon, swap entries, shmem */
    uint64_t peak_total;         /* file + anon + shmem */
};

/* Last known RSS by type of one process. */
struct rss_mm {
    uint32_t uid;
    uint32_t reserved;
    int64_t size[RSS_MEMBERS];
};

/* memStatMemSyscalls: raw_syscalls:sys_enter of the memory syscalls. */
struct memsyscall_stats {
    uint64_t calls[MEM_SYSCALLS];
    uint64_t bytes[MEM_SYSCALLS]; /* length asked for; brk: growth of the break */
};

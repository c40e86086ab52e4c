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

/*
 * UIDs with a row of their own: per-CPU counts of every syscall number below
 * SYSCALL_ROW_WIDTH, reached through a per-CPU one-entry cache. A UID gets a
 * row once one of its syscalls has been counted SYSCALL_ROW_CLAIM_AT times in
 * its slot on one CPU or in syscall_counts, or when a call of its finds no
 * slot and no room, while rows are free; rows are never given back.
 */
#define SYSCALL_ROWS 8
/* Syscall numbers a row holds: every number of the arm64, arm, x86_64 and x86 tables. */
#define SYSCALL_ROW_WIDTH 512
#define SYSCALL_ROW_CLAIM_AT 1024
/* syscall_row_of: the UIDs holding rows, and claims in progress (at most one per CPU). */
#define SYSCALL_ROW_OF_ENTRIES 64
/* syscall_row_of value of a claim in progress; syscall_cache row of a UID with no row yet. */
#define SYSCALL_ROW_PENDING 0xFFFFFFFEu
/* syscall_row_of and syscall_cache row of a UID that found every row taken: it has none for good. */
#define SYSCALL_ROW_NONE 0xFFFFFFFFu
/*
 * Per-CPU slots of (uid, syscall) pairs, for UIDs with no row: a pair hashes
 * to one slot, takes it on a CPU where it is free and keeps it; a pair whose
 * slot another holds counts in syscall_counts.
 */
#define SYSCALL_SLOT_BITS 10
#define SYSCALL_SLOTS (1u << SYSCALL_SLOT_BITS)
/* Distinct (uid, syscall) pairs of the shared table: pairs with no row and no slot. */
#define SYSCALL_COUNTS_ENTRIES 4096
/* Threads whose syscall start time can be held at once in latency mode (LRU). */
#define SYSCALL_START_ENTRIES 4096
/* UIDs with their own latency histogram; the rest share the overflow histogram. */
#define SYSCALL_LATENCY_ENTRIES 512
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

/*
 * A slot of syscall_slots: its pair, written once, and its counts. Neither
 * half of a taken key is 0 (UID 0xFFFFFFFF, (uid_t)-1, is none), so a key
 * read half written, where a 64-bit store is two (32-bit kernels), is no
 * pair.
 */
struct syscall_slot {
    uint64_t key; /* (~uid << 32) | (nr + 1); 0: free */
    struct syscall_counts counts;
};

/* The slot of a pair: the high bits of a multiplicative hash of it (a constant expression). */
#define SYSCALL_SLOT_OF(uid, nr)                                                     \
    (((((uint32_t)(uid) * 0x9E3779B1u) ^ ((uint32_t)(nr) * 0x85EBCA77u)) * 0xC2B2AE3Du) >> \
     (32 - SYSCALL_SLOT_BITS))

/* One UID's counts, indexed by syscall number. */
struct syscall_row {
    struct syscall_counts calls[SYSCALL_ROW_WIDTH];
};

/* The thread this CPU counted last, its real UID and the UID's row. */
struct syscall_cache {
    uint64_t generation; /* syscall_watch's when filled: valid while it has not moved */
    uint32_t tid;        /* 0: empty (no syscall returns to the idle task) */
    uint32_t uid;
    uint32_t row; /* a row, SYSCALL_ROW_PENDING or SYSCALL_ROW_NONE */
    uint32_t reserved;
};

/* 64-bit words of syscall_watch's bitmap: one bit per number below SYSCALL_ROW_WIDTH. */
#define SYSCALL_WATCH_WORDS (SYSCALL_ROW_WIDTH / 64)

/*
 * What invalidates every CPU's syscall_cache. memstatd writes it whole before
 * it attaches the programs (nothing else writes it then); the programs only
 * add to generation.
 */
struct syscall_watch {
    uint64_t generation;
    /* Syscall numbers after whose return the thread may have another real UID
     * or thread id, of the native and the compat ABI: bit nr % 64 of word nr / 64. */
    uint64_t calls[SYSCALL_WATCH_WORDS];
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
    uint64_t count;                     /* calls with no row and no room in syscall_counts */
    uint64_t errors;                    /* ... of which failed */
    uint64_t latency[LATENCY_BUCKETS];  /* samples of UIDs with no room in syscall_latency */
    uint64_t start_dropped;             /* sys_enter could not store a start time */
    uint64_t unmatched;                 /* sys_exit found no start of this epoch */
};

/* ---- memory groups (memStat<Group>.c, built on memstat_group.h) ---- */

/*
 * Each memory group keeps one value per UID in <group>_uid; UIDs beyond its
 * capacity share the <group>_other bucket. Values are arrays of u64 slots:
 * counters only grow; peaks (rss) only grow within an epoch. A phone runs
 * about 300 UIDs at once. Every table is preallocated, so its capacity is
 * kernel memory whether used or not.
 */
/* The most UIDs a per-UID table holds (taskexit_uid); no group's is larger. */
#define MEMORY_UID_ENTRIES 1024
/* Groups whose events every running UID makes: pagealloc, slab, memsyscalls, faults. */
#define BUSY_UID_ENTRIES 512
/*
 * Rare events, which few UIDs make (extfrag, reclaim, compaction, oom), and
 * rss, whose per-CPU values (peaks) cost one copy per possible CPU and which
 * runs only when switched on to look into a few apps.
 */
#define RARE_UID_ENTRIES 256
/* Page orders 0..10 each; the last slot also counts any larger order. */
#define ORDERS 12
/* Migratetype classes: unmovable, movable, reclaimable, other (highatomic, CMA, isolate). */
#define MT_CLASSES 4
/* Stall latency, log2(us): bucket b holds [2^b, 2^(b+1)) us (b = 0 also < 1 us); the last is open-ended. */
#define STALL_BUCKETS 24
/*
 * An LRU map below evicts its oldest entry when a CPU finds no free one,
 * which can happen while others hold up to 128 free entries each in their
 * local lists: each is sized for what a phone has at once plus that.
 */
/* Threads whose begin event waits for its end (reclaim, compaction, kswapd): few at once. */
#define STALL_START_ENTRIES 1024
/* Processes whose RSS by type is followed (rss): 1,000 to 2,000 on a phone. */
#define RSS_MM_ENTRIES 4096
/* Processes whose break is followed (memsyscalls: brk growth): Android's allocators use mmap. */
#define BRK_ENTRIES 1024
/* memsyscalls' param: the session, renewed by memstatd at every attach (never 0). */
#define MEMSYSCALLS_PARAM_SESSION 0
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
#define GROUP_MODE_DUTY 3 /* attached for a window now and then, counting while not paused */

/* <group>_config, written by memstatd. */
struct group_config {
    uint32_t mode;         /* GROUP_MODE_*: UNSET means memstatd applies the default */
    uint32_t sample_every; /* count one event in N, as N; 0 and 1 count every event */
    uint32_t epoch;        /* peaks start again when it changes (rss) */
    uint32_t paused;       /* non-zero: count nothing (a duty window is closed) */
    uint32_t param[GROUP_PARAMS]; /* extfrag: pageblock order; memsyscalls: session */
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

/* memStatMemSyscalls: syscalls:sys_enter_<call> (brk: sys_exit_brk), or mmap:vm_unmapped_area. */
struct memsyscall_stats {
    uint64_t calls[MEM_SYSCALLS];
    uint64_t bytes[MEM_SYSCALLS]; /* length asked for; brk: growth of the break */
};

/* ---- task counters (memStatTaskExit.c) ---- */

/* Processes whose exited threads' counts memstatd has not yet taken (taskexit_dead). */
#define TASK_DEAD_ENTRIES 4096
/* UIDs whose held adjustments memstatd keeps (taskexit_held). */
#define TASK_HELD_ENTRIES 1024
/* Bytes of a task_struct copied for self-calibration (from its start). */
#define TASK_WINDOW_BYTES 16384

/*
 * Where the kernel keeps what the exit program reads, written by memstatd
 * from kernel BTF or self-calibration. Offsets are in bytes; word is the size
 * of an unsigned long (4 or 8). The program counts nothing until configured.
 */
struct task_config {
    uint32_t configured;    /* non-zero once the fault offsets below are set */
    uint32_t calibrate_tid; /* copy this thread's task_struct at its exit (0: none) */
    uint32_t word;          /* sizeof(unsigned long) in the kernel */
    uint32_t min_flt;       /* task_struct.min_flt */
    uint32_t maj_flt;       /* task_struct.maj_flt */
    uint32_t signal;        /* task_struct.signal (0: peak RSS at exit not read) */
    uint32_t maxrss;        /* signal_struct.maxrss (pages) */
    uint32_t reserved;
};

/* Faults of a UID's exited threads (taskexit_uid, taskexit_other). */
struct task_faults {
    uint64_t minor;
    uint64_t major;
};

/*
 * A process's exited threads (taskexit_dead, by tgid): their faults, the
 * process's peak RSS as its signal_struct held it at the last exit (pages),
 * the UID of the last exit, and how many threads exited.
 */
struct task_dead {
    uint64_t minor;
    uint64_t major;
    uint64_t maxrss_pages;
    uint32_t uid;
    uint32_t exits;
};

/*
 * Per-UID corrections memstatd keeps in the kernel so that they outlive it
 * (taskexit_held): adjustments for processes that changed UID or lost
 * counts at exit, and the last values it reported (counts never go back).
 */
struct task_held {
    int64_t adjust_minor;
    int64_t adjust_major;
    uint64_t reported_minor;
    uint64_t reported_major;
};

/* Exits the program could not account (taskexit_drops), counters only grow. */
struct task_drops {
    uint64_t unconfigured; /* exits before memstatd wrote the offsets */
    uint64_t read_failed;  /* a task_struct read failed */
    uint64_t dead_full;    /* taskexit_dead had no room for the process */
    uint64_t uid_full;     /* taskexit_uid had no room: counted in taskexit_other */
};

/* One copy of a task_struct's first TASK_WINDOW_BYTES (self-calibration). */
struct task_window {
    uint64_t tid;
    uint8_t bytes[TASK_WINDOW_BYTES];
};

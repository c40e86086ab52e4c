/*
 * memStatFaults: page faults per UID, and of them the major ones (those that
 * waited for I/O). memstatd attaches, at run time:
 *   - every fault: exceptions:page_fault_user where the kernel has it (x86:
 *     faults taken in user mode), else the perf software event
 *     PERF_COUNT_SW_PAGE_FAULTS (arm64: every fault in the task's context);
 *   - major faults: the perf software event PERF_COUNT_SW_PAGE_FAULTS_MAJ.
 * Hot: samplable (major faults are rare and always counted one by one).
 */
#include "memstat_group.h"

MEMORY_GROUP(faults, struct faults_stats, HASH, ARRAY, BUSY_UID_ENTRIES)

static inline __always_inline void count_fault(void) {
    const uint32_t w = faults_weight();
    if (!w) return;
    struct faults_stats* s = faults_stats(current_uid());
    if (s) __sync_fetch_and_add(&s->faults, w);
}

DEFINE_BPF_PROG("tracepoint/exceptions/page_fault_user", AID_ROOT, AID_MEMSTAT, tp_fault_user)
(void* args __unused) {
    count_fault();
    return 0;
}

DEFINE_BPF_PROG("perf_event/page_faults", AID_ROOT, AID_MEMSTAT, pe_page_faults)
(void* ctx __unused) {
    count_fault();
    return 0;
}

DEFINE_BPF_PROG("perf_event/major_faults", AID_ROOT, AID_MEMSTAT, pe_major_faults)
(void* ctx __unused) {
    struct faults_stats* s = faults_stats(current_uid());
    if (s) __sync_fetch_and_add(&s->major, 1);
    return 0;
}

LICENSE("GPL");

/* Breaks rule 1.4.4: a program section with no <func>_def in progs. */
#include <bpf_helpers.h>

SECTION("tracepoint/raw_syscalls/sys_exit") int tp_undefined(void* ctx __unused) {
    return 0;
}

LICENSE("GPL");

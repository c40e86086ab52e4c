/*
 * Breaks rule 1.4.5: a program type the platform loader knows, but does not
 * allow in memstat's location, /system/etc/bpf/memstat/.
 */
#include <bpf_helpers.h>

DEFINE_BPF_PROG("kprobe/do_sys_openat2", AID_ROOT, AID_ROOT, kp_open)(void* ctx __unused) {
    return 0;
}

LICENSE("GPL");

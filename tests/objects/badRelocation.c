/* Breaks rule 1.4.3: a relocation against a symbol that is not a map. */
#include <bpf_helpers.h>

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_exit", AID_ROOT, AID_ROOT, tp_reloc)(void* ctx __unused);

DEFINE_BPF_PROG("tracepoint/raw_syscalls/sys_enter", AID_ROOT, AID_ROOT, tp_enter)(void* ctx __unused) {
    const volatile struct bpf_prog_def* def = &tp_reloc_def;
    return def->uid;
}

int tp_reloc(void* ctx __unused) {
    return 0;
}

LICENSE("GPL");

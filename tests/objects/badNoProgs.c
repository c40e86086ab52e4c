/* Breaks rule 1.4.4: maps but no programs, so no progs section to read. */
#include <bpf_helpers.h>

DEFINE_BPF_MAP(hits, ARRAY, uint32_t, uint64_t, 1)

LICENSE("GPL");

/* Rule 1.4.8, with clashA.c: the same pin name, 4-byte values here: incompatible. */
#include <bpf_helpers.h>

DEFINE_BPF_MAP_GRO(shared_map, ARRAY, uint32_t, uint32_t, 4, AID_SYSTEM)

LICENSE("GPL");

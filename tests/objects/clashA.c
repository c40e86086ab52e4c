/* Rule 1.4.8, with clashB.c: the same pin name, 8-byte values here. */
#include <bpf_helpers.h>

DEFINE_BPF_MAP_GRO(shared_map, ARRAY, uint32_t, uint64_t, 4, AID_SYSTEM)

LICENSE("GPL");

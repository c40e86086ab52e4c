/*
 * Kernel helpers the platform's bpf_helpers.h does not declare, under names
 * of memstat's own so that a later platform header declaring them cannot
 * collide. Both are GPL-only: an object using them needs LICENSE("GPL").
 */
#pragma once

#include <linux/bpf.h>
#include <stdint.h>

/* Kernel 4.8 and later: the current task_struct, as an address. */
static uint64_t (*memstat_get_current_task)(void) = (void*)BPF_FUNC_get_current_task;

/* Kernel 5.5 and later: copies size bytes of kernel memory at src; 0 or -errno. */
static long (*memstat_probe_read_kernel)(void* dst, uint32_t size,
                                         const void* src) = (void*)BPF_FUNC_probe_read_kernel;

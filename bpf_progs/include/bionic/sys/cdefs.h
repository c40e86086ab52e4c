/*
 * Host stand-in for the part of bionic's <sys/cdefs.h> that BPF sources see.
 *
 * In a Soong bpf {} build bionic's <stdint.h> includes <sys/cdefs.h>, so
 * every source including <bpf_helpers.h> has these attribute macros. The
 * UAPI <linux/stddef.h> (reached first, through <linux/bpf.h>) defines
 * __always_inline as a plain inline; bionic's definition replaces it, without
 * a warning because both are system headers. This one does the same.
 */
#pragma once

#define __always_inline __attribute__((__always_inline__))
#define __unused __attribute__((__unused__))

/*
 * Host stand-in for bionic's <stdint.h> in a Soong bpf {} build: it brings
 * <sys/cdefs.h> and <stddef.h> (size_t) along with the fixed-width types,
 * which clang's own <stdint.h> defines identically for the BPF target.
 */
#pragma once

#include <sys/cdefs.h>

#include <stddef.h>

#include_next <stdint.h>

/*
 * Host stand-in for the Android platform's <bpf_helpers.h> (Android 14 QPR+).
 *
 * It offers exactly the macro and helper API that memstat's BPF sources use,
 * with the platform's names and meanings, so the same sources compile here and
 * against the real header in a Soong bpf {} build. Anything the platform header
 * does not declare must not be added here: it belongs in a memstat header under
 * a name that cannot collide with a future platform declaration.
 */
#pragma once

/*
 * Provided by bionic's <sys/cdefs.h> in a platform build, before any UAPI
 * header: the UAPI <linux/stddef.h> would otherwise define __always_inline as
 * a second 'inline'.
 */
#ifndef __unused
#define __unused __attribute__((__unused__))
#endif
#ifndef __always_inline
#define __always_inline __attribute__((__always_inline__))
#endif

#include <linux/bpf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf_map_def.h"

/* Loader versions; objects are processed by loaders in [MIN, MAX). */
#define BPFLOADER_IGNORED_ON_VERSION 33u
#define BPFLOADER_U_QPR2_VERSION 41u
#define BPFLOADER_PLATFORM_VERSION BPFLOADER_U_QPR2_VERSION
#define BPFLOADER_MAINLINE_S_VERSION 42u

#ifndef BPFLOADER_MIN_VER
#define BPFLOADER_MIN_VER BPFLOADER_PLATFORM_VERSION
#endif
#ifndef BPFLOADER_MAX_VER
#define BPFLOADER_MAX_VER 0x10000u
#endif

#define SECTION(NAME) __attribute__((section(NAME), used))

/*
 * Required once per object. Besides the license it records the loader range
 * and the definition sizes, so a loader can tell which layout it is reading.
 */
#define LICENSE(NAME)                                                                              \
    unsigned int _bpfloader_min_ver SECTION("bpfloader_min_ver") = BPFLOADER_MIN_VER;              \
    unsigned int _bpfloader_max_ver SECTION("bpfloader_max_ver") = BPFLOADER_MAX_VER;              \
    size_t _size_of_bpf_map_def SECTION("size_of_bpf_map_def") = sizeof(struct bpf_map_def);       \
    size_t _size_of_bpf_prog_def SECTION("size_of_bpf_prog_def") = sizeof(struct bpf_prog_def);    \
    unsigned _btf_min_bpfloader_ver SECTION("btf_min_bpfloader_ver") = BPFLOADER_MAINLINE_S_VERSION; \
    unsigned _btf_user_min_bpfloader_ver SECTION("btf_user_min_bpfloader_ver") = 0xFFFFFFFFu;      \
    char _license[] SECTION("license") = (NAME)

/* Makes any load failure of the object fatal to boot. memstat never uses it. */
#define CRITICAL(REASON) char _critical[] SECTION("critical") = (REASON)

/* Kernel versions, as (major << 24) + (minor << 16) + sublevel. */
struct kver_uint { unsigned int kver; };
#define KVER_(v) ((struct kver_uint){ .kver = (v) })
#define KVER(a, b, c) KVER_(((a) << 24) + ((b) << 16) + (c))
#define KVER_NONE KVER_(0)
#define KVER_5_4 KVER(5, 4, 0)
#define KVER_5_10 KVER(5, 10, 0)
#define KVER_5_15 KVER(5, 15, 0)
#define KVER_6_1 KVER(6, 1, 0)
#define KVER_6_6 KVER(6, 6, 0)
#define KVER_6_12 KVER(6, 12, 0)
#define KVER_INF KVER_(0xFFFFFFFFu)

/* Untyped map helpers: only the typed accessors generated below use them. */
static void* (*bpf_map_lookup_elem_unsafe)(const struct bpf_map_def* map,
                                           const void* key) = (void*)BPF_FUNC_map_lookup_elem;
static int (*bpf_map_update_elem_unsafe)(const struct bpf_map_def* map, const void* key,
                                         const void* value,
                                         unsigned long long flags) = (void*)BPF_FUNC_map_update_elem;
static int (*bpf_map_delete_elem_unsafe)(const struct bpf_map_def* map,
                                         const void* key) = (void*)BPF_FUNC_map_delete_elem;

/* Key/value annotation for BTF-aware loaders; the platform loader ignores it. */
#define BPF_ANNOTATE_KV_PAIR(name, type_key, type_val)                                  \
    struct ____btf_map_##name {                                                         \
        type_key key;                                                                   \
        type_val value;                                                                 \
    };                                                                                  \
    struct ____btf_map_##name __attribute__((section(".maps." #name), used)) \
            ____btf_map_##name = {}

#define ABSOLUTE(x) ((x) < 0 ? -(x) : (x))

/* A negative entry count asks for a map that is not preallocated. */
#define DEFAULT_BPF_MAP_FLAGS(type, num_entries, mapflags)  \
    ((mapflags) | ((num_entries) < 0 ? BPF_F_NO_PREALLOC : 0) | \
     ((type) == BPF_MAP_TYPE_LPM_TRIE ? BPF_F_NO_PREALLOC : 0))

#define DEFINE_BPF_MAP_BASE(the_map, TYPE, keysize, valuesize, num_entries, usr, grp, md, \
                            selinux, pindir, share, minkver, maxkver, minloader,           \
                            maxloader, ignore_eng, ignore_user, ignore_userdebug, mapflags) \
    const struct bpf_map_def SECTION("maps") the_map = {                                  \
            .type = BPF_MAP_TYPE_##TYPE,                                                  \
            .key_size = (keysize),                                                        \
            .value_size = (valuesize),                                                    \
            .max_entries = ABSOLUTE(num_entries),                                         \
            .map_flags = DEFAULT_BPF_MAP_FLAGS(BPF_MAP_TYPE_##TYPE, num_entries, mapflags), \
            .uid = (usr),                                                                 \
            .gid = (grp),                                                                 \
            .mode = (md),                                                                 \
            .bpfloader_min_ver = (minloader),                                             \
            .bpfloader_max_ver = (maxloader),                                             \
            .min_kver = (minkver).kver,                                                   \
            .max_kver = (maxkver).kver,                                                   \
            .selinux_context = (selinux),                                                 \
            .pin_subdir = (pindir),                                                       \
            .shared = (share).shared,                                                     \
            .ignore_on_eng = (ignore_eng).ignore_on_eng,                                  \
            .ignore_on_user = (ignore_user).ignore_on_user,                               \
            .ignore_on_userdebug = (ignore_userdebug).ignore_on_userdebug,                \
    };                                                                                    \
    _Static_assert((minloader) >= BPFLOADER_IGNORED_ON_VERSION ||                         \
                           !((ignore_eng).ignore_on_eng || (ignore_user).ignore_on_user || \
                             (ignore_userdebug).ignore_on_userdebug),                     \
                   "ignore_on_* needs bpfloader 0.33 or later")

/* Defines a map and its typed accessors bpf_<map>_{lookup,update,delete}_elem. */
#define DEFINE_BPF_MAP_EXT(the_map, TYPE, KeyType, ValueType, num_entries, usr, grp, md, selinux, \
                           pindir, share, min_loader, max_loader, ignore_eng, ignore_user,       \
                           ignore_userdebug, mapFlags)                                           \
    DEFINE_BPF_MAP_BASE(the_map, TYPE, sizeof(KeyType), sizeof(ValueType), num_entries, usr,     \
                        grp, md, selinux, pindir, share, KVER_NONE, KVER_INF, min_loader,        \
                        max_loader, ignore_eng, ignore_user, ignore_userdebug, mapFlags);        \
    _Static_assert(sizeof(KeyType) < 1024, "map keys must be smaller than 1024 bytes");          \
    _Static_assert(sizeof(ValueType) < 65536, "map values must be smaller than 65536 bytes");    \
    BPF_ANNOTATE_KV_PAIR(the_map, KeyType, ValueType);                                           \
                                                                                                 \
    static inline __always_inline __unused ValueType* bpf_##the_map##_lookup_elem(               \
            const KeyType* k) {                                                                  \
        return bpf_map_lookup_elem_unsafe(&the_map, k);                                          \
    };                                                                                           \
                                                                                                 \
    static inline __always_inline __unused int bpf_##the_map##_update_elem(                      \
            const KeyType* k, const ValueType* v, unsigned long long flags) {                    \
        return bpf_map_update_elem_unsafe(&the_map, k, v, flags);                                \
    };                                                                                           \
                                                                                                 \
    static inline __always_inline __unused int bpf_##the_map##_delete_elem(const KeyType* k) {   \
        return bpf_map_delete_elem_unsafe(&the_map, k);                                          \
    };

#define DEFINE_BPF_MAP_UGM(the_map, TYPE, KeyType, ValueType, num_entries, usr, grp, md)         \
    DEFINE_BPF_MAP_EXT(the_map, TYPE, KeyType, ValueType, num_entries, usr, grp, md, "", "",     \
                       PRIVATE, BPFLOADER_MIN_VER, BPFLOADER_MAX_VER, LOAD_ON_ENG, LOAD_ON_USER, \
                       LOAD_ON_USERDEBUG, 0)

#define DEFINE_BPF_MAP(the_map, TYPE, KeyType, ValueType, num_entries) \
    DEFINE_BPF_MAP_UGM(the_map, TYPE, KeyType, ValueType, num_entries, AID_ROOT, AID_ROOT, 0600)
#define DEFINE_BPF_MAP_RO(the_map, TYPE, KeyType, ValueType, num_entries, gid) \
    DEFINE_BPF_MAP_UGM(the_map, TYPE, KeyType, ValueType, num_entries, AID_ROOT, gid, 0440)
#define DEFINE_BPF_MAP_GWO(the_map, TYPE, KeyType, ValueType, num_entries, gid) \
    DEFINE_BPF_MAP_UGM(the_map, TYPE, KeyType, ValueType, num_entries, AID_ROOT, gid, 0620)
#define DEFINE_BPF_MAP_GRO(the_map, TYPE, KeyType, ValueType, num_entries, gid) \
    DEFINE_BPF_MAP_UGM(the_map, TYPE, KeyType, ValueType, num_entries, AID_ROOT, gid, 0640)
#define DEFINE_BPF_MAP_GRW(the_map, TYPE, KeyType, ValueType, num_entries, gid) \
    DEFINE_BPF_MAP_UGM(the_map, TYPE, KeyType, ValueType, num_entries, AID_ROOT, gid, 0660)

/* Helpers the platform header declares. */
static int (*bpf_probe_read)(void* dst, int size, void* unsafe_ptr) = (void*)BPF_FUNC_probe_read;
static int (*bpf_probe_read_str)(void* dst, int size,
                                 void* unsafe_ptr) = (void*)BPF_FUNC_probe_read_str;
static int (*bpf_probe_read_user)(void* dst, int size,
                                  const void* unsafe_ptr) = (void*)BPF_FUNC_probe_read_user;
static int (*bpf_probe_read_user_str)(void* dst, int size, const void* unsafe_ptr) = (void*)
        BPF_FUNC_probe_read_user_str;
static unsigned long long (*bpf_ktime_get_ns)(void) = (void*)BPF_FUNC_ktime_get_ns;
static unsigned long long (*bpf_ktime_get_boot_ns)(void) = (void*)BPF_FUNC_ktime_get_boot_ns;
static unsigned long long (*bpf_get_current_pid_tgid)(void) = (void*)BPF_FUNC_get_current_pid_tgid;
static unsigned long long (*bpf_get_current_uid_gid)(void) = (void*)BPF_FUNC_get_current_uid_gid;
static unsigned long long (*bpf_get_smp_processor_id)(void) = (void*)BPF_FUNC_get_smp_processor_id;
static long (*bpf_get_stackid)(void* ctx, void* map, uint64_t flags) = (void*)BPF_FUNC_get_stackid;
static long (*bpf_get_current_comm)(void* buf, uint32_t buf_size) = (void*)BPF_FUNC_get_current_comm;
/* GPL only. */
static int (*bpf_trace_printk)(const char* fmt, int fmt_size, ...) = (void*)BPF_FUNC_trace_printk;
#define bpf_printf(s, n...) bpf_trace_printk(s, sizeof(s), ##n)

/*
 * Defines program function the_prog in section SECTION_NAME, and its
 * definition the_prog_def in "progs". Use as
 *   DEFINE_BPF_PROG("tracepoint/cat/event", uid, gid, fn)(struct args* a) { ... }
 */
#define DEFINE_BPF_PROG_EXT(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, max_kv,  \
                            min_loader, max_loader, opt, selinux, pindir, ignore_eng,    \
                            ignore_user, ignore_userdebug)                               \
    const struct bpf_prog_def SECTION("progs") the_prog##_def = {                        \
            .uid = (prog_uid),                                                           \
            .gid = (prog_gid),                                                           \
            .min_kver = (min_kv).kver,                                                   \
            .max_kver = (max_kv).kver,                                                   \
            .optional = (opt).optional,                                                  \
            .bpfloader_min_ver = (min_loader),                                           \
            .bpfloader_max_ver = (max_loader),                                           \
            .selinux_context = (selinux),                                                \
            .pin_subdir = (pindir),                                                      \
            .ignore_on_eng = (ignore_eng).ignore_on_eng,                                 \
            .ignore_on_user = (ignore_user).ignore_on_user,                              \
            .ignore_on_userdebug = (ignore_userdebug).ignore_on_userdebug,               \
    };                                                                                   \
    SECTION(SECTION_NAME)                                                                \
    int the_prog

#define DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, max_kv, \
                                       opt)                                                        \
    DEFINE_BPF_PROG_EXT(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, max_kv,                \
                        BPFLOADER_MIN_VER, BPFLOADER_MAX_VER, opt, "", "", LOAD_ON_ENG,            \
                        LOAD_ON_USER, LOAD_ON_USERDEBUG)

#define DEFINE_BPF_PROG_KVER_RANGE(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, max_kv) \
    DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, max_kv, \
                                   MANDATORY)
#define DEFINE_OPTIONAL_BPF_PROG_KVER_RANGE(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, \
                                            max_kv)                                             \
    DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, max_kv, \
                                   OPTIONAL)
#define DEFINE_BPF_PROG_KVER(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv)                 \
    DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, KVER_INF, \
                                   MANDATORY)
#define DEFINE_OPTIONAL_BPF_PROG_KVER(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv)        \
    DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, KVER_INF, \
                                   OPTIONAL)
#define DEFINE_BPF_PROG(SECTION_NAME, prog_uid, prog_gid, the_prog)                          \
    DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, KVER_NONE,    \
                                   KVER_INF, MANDATORY)
#define DEFINE_OPTIONAL_BPF_PROG(SECTION_NAME, prog_uid, prog_gid, the_prog)                 \
    DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, KVER_NONE,    \
                                   KVER_INF, OPTIONAL)

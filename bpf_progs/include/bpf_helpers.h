/*
 * Host stand-in for the Android platform's <bpf_helpers.h>
 * (packages/modules/Connectivity bpf/headers/include, main).
 *
 * A Soong bpf {} build compiles memstat's sources against the platform's
 * header; the host build compiles them against this one. It declares the
 * platform header's whole macro and helper API, with the same names,
 * signatures and meanings, and nothing else: a helper the platform does not
 * declare belongs in a memstat header under a name no platform declaration
 * can take.
 *
 * Like the platform's, this header has no include guard: a second inclusion
 * fails with "redefinition of 'kver_uint'" and 22 more, exactly as a Soong
 * build would. Include it once per object (memstat_group.h does).
 */

#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>

#include "bpf_map_def.h"

/* Versions of the bpfloader that shipped, by Android release. */
#define BPFLOADER_S_VERSION 2u           /* Android 12 */
#define BPFLOADER_T_VERSION 19u          /* Android 13: shared, selinux_context, pin_subdir */
#define BPFLOADER_OBJ_AT_VER_VERSION 25u /* obj@ver.o file names */
#define BPFLOADER_IGNORED_ON_VERSION 33u /* ignore_on_{eng,user,userdebug} */
#define BPFLOADER_U_VERSION 38u          /* Android 14 */
#define BPFLOADER_U_QPR2_VERSION 41u     /* Android 14 QPR2; the platform loader since */
#define BPFLOADER_PLATFORM_VERSION BPFLOADER_U_QPR2_VERSION

/* The mainline (Tethering module) bpfloader, by the Android release it runs on. */
#define BPFLOADER_MAINLINE_S_VERSION 42u
#define BPFLOADER_MAINLINE_T_VERSION (BPFLOADER_MAINLINE_S_VERSION + 1u)
#define BPFLOADER_MAINLINE_U_VERSION (BPFLOADER_MAINLINE_T_VERSION + 1u)
#define BPFLOADER_MAINLINE_U_QPR3_VERSION (BPFLOADER_MAINLINE_U_VERSION + 1u)
#define BPFLOADER_MAINLINE_V_VERSION (BPFLOADER_MAINLINE_U_QPR3_VERSION + 1u)
#define BPFLOADER_MAINLINE_25Q2_VERSION (BPFLOADER_MAINLINE_V_VERSION + 1u)

/* The loaders that process an object: [MIN, MAX). Define them before including to change. */
#ifndef BPFLOADER_MIN_VER
#define BPFLOADER_MIN_VER BPFLOADER_PLATFORM_VERSION
#endif
#ifndef BPFLOADER_MAX_VER
#define BPFLOADER_MAX_VER 0x10000u
#endif

#define SECTION(NAME) __attribute__((section(NAME), used))

/*
 * Required once per object. Besides the license it records the loader range,
 * the definition sizes (so a loader can read definitions of another size) and
 * that no loader should load the object's BTF.
 */
#define LICENSE(NAME)                                                                         \
    unsigned int _bpfloader_min_ver SECTION("bpfloader_min_ver") = BPFLOADER_MIN_VER;         \
    unsigned int _bpfloader_max_ver SECTION("bpfloader_max_ver") = BPFLOADER_MAX_VER;         \
    size_t _size_of_bpf_map_def SECTION("size_of_bpf_map_def") = sizeof(struct bpf_map_def);  \
    size_t _size_of_bpf_prog_def SECTION("size_of_bpf_prog_def") = sizeof(struct bpf_prog_def); \
    unsigned _btf_min_bpfloader_ver SECTION("btf_min_bpfloader_ver") =                        \
            BPFLOADER_MAINLINE_S_VERSION;                                                     \
    unsigned _btf_user_min_bpfloader_ver SECTION("btf_user_min_bpfloader_ver") = 0xFFFFFFFFu; \
    char _license[] SECTION("license") = (NAME)

/* Makes every load failure of the object fatal to boot. memstat never uses it. */
#define CRITICAL(REASON) char _critical[] SECTION("critical") = (REASON)

/* Kernel versions, (major << 24) + (minor << 16) + sublevel, wrapped in a struct. */
struct kver_uint { unsigned int kver; };
#define KVER_(v) ((struct kver_uint){ .kver = (v) })
#define KVER(a, b, c) KVER_(((a) << 24) + ((b) << 16) + (c))
#define KVER_NONE KVER_(0)
#define KVER_4_9 KVER(4, 9, 0)
#define KVER_4_14 KVER(4, 14, 0)
#define KVER_4_19 KVER(4, 19, 0)
#define KVER_5_4 KVER(5, 4, 0)
#define KVER_5_10 KVER(5, 10, 0)
#define KVER_5_15 KVER(5, 15, 0)
#define KVER_6_1 KVER(6, 1, 0)
#define KVER_6_6 KVER(6, 6, 0)
#define KVER_6_12 KVER(6, 12, 0)
#define KVER_INF KVER_(0xFFFFFFFFu)

#define KVER_IS_AT_LEAST(kver, a, b, c) ((kver).kver >= KVER(a, b, c).kver)

/* Android SDK levels, wrapped in a struct; only their order matters. */
struct sdk_level_uint { unsigned int sdk_level; };
#define SDK_LEVEL_(v) ((struct sdk_level_uint){ .sdk_level = (v) })
#define SDK_LEVEL_NONE SDK_LEVEL_(0)
#define SDK_LEVEL_S SDK_LEVEL_(31)
#define SDK_LEVEL_Sv2 SDK_LEVEL_(32)
#define SDK_LEVEL_T SDK_LEVEL_(33)
#define SDK_LEVEL_U SDK_LEVEL_(34)
#define SDK_LEVEL_V SDK_LEVEL_(35)
#define SDK_LEVEL_24Q3 SDK_LEVEL_V
#define SDK_LEVEL_25Q2 SDK_LEVEL_(36)

#define SDK_LEVEL_IS_AT_LEAST(lvl, v) ((lvl).sdk_level >= (SDK_LEVEL_##v).sdk_level)

/*
 * Untyped map helpers. Sources use the typed accessors the DEFINE_BPF_MAP*
 * macros generate instead: a wrong key or value type is then a compile error.
 */
static void* (*bpf_map_lookup_elem_unsafe)(const struct bpf_map_def* map,
                                           const void* key) = (void*)BPF_FUNC_map_lookup_elem;
static int (*bpf_map_update_elem_unsafe)(const struct bpf_map_def* map, const void* key,
                                         const void* value, unsigned long long flags) = (void*)
        BPF_FUNC_map_update_elem;
static int (*bpf_map_delete_elem_unsafe)(const struct bpf_map_def* map,
                                         const void* key) = (void*)BPF_FUNC_map_delete_elem;
static int (*bpf_ringbuf_output_unsafe)(const struct bpf_map_def* ringbuf, const void* data,
                                        __u64 size, __u64 flags) = (void*)BPF_FUNC_ringbuf_output;
static void* (*bpf_ringbuf_reserve_unsafe)(const struct bpf_map_def* ringbuf, __u64 size,
                                           __u64 flags) = (void*)BPF_FUNC_ringbuf_reserve;
static void (*bpf_ringbuf_submit_unsafe)(const void* data,
                                         __u64 flags) = (void*)BPF_FUNC_ringbuf_submit;
static void* (*bpf_sk_storage_get_unsafe)(const struct bpf_map_def* sk_storage, const void* sk,
                                          const void* value, unsigned long long flags) = (void*)
        BPF_FUNC_sk_storage_get;
static int (*bpf_sk_storage_delete_unsafe)(const struct bpf_map_def* sk_storage,
                                           const void* sk) = (void*)BPF_FUNC_sk_storage_delete;

/* Key/value annotation for BTF-aware tools; the platform loader ignores it. */
#define BPF_ANNOTATE_KV_PAIR(name, type_key, type_val)         \
    struct ____btf_map_##name {                                \
        type_key key;                                          \
        type_val value;                                        \
    };                                                         \
    struct ____btf_map_##name                                  \
            __attribute__((section(".maps." #name), used))     \
            ____btf_map_##name = {}

/* ignore_on_* is read by loaders from 0.33 on only. */
#define BPF_ASSERT_LOADER_VERSION(min_loader, ignore_eng, ignore_user, ignore_userdebug) \
    _Static_assert((min_loader) >= BPFLOADER_IGNORED_ON_VERSION ||                       \
                           !((ignore_eng).ignore_on_eng || (ignore_user).ignore_on_user || \
                             (ignore_userdebug).ignore_on_userdebug),                    \
                   "ignore_on_* needs a bpfloader min version of 0.33 or later");

#define ABSOLUTE(x) ((x) < 0 ? -(x) : (x))

/* A negative entry count asks for a map that is not preallocated. */
#define DEFAULT_BPF_MAP_FLAGS(type, num_entries, mapflags)                      \
    ((mapflags) | ((num_entries) < 0 ? BPF_F_NO_PREALLOC : 0) |                 \
     ((type == BPF_MAP_TYPE_LPM_TRIE || type == BPF_MAP_TYPE_SK_STORAGE)        \
              ? BPF_F_NO_PREALLOC                                               \
              : 0))

/* A map definition in section "maps", and nothing else. */
#define DEFINE_BPF_MAP_BASE(the_map, TYPE, keysize, valuesize, num_entries, usr, grp, md,       \
                            selinux, pindir, share, minkver, maxkver, minloader, maxloader,     \
                            ignore_eng, ignore_user, ignore_userdebug, mapflags)                \
    const struct bpf_map_def SECTION("maps") the_map = {                                        \
            .type = BPF_MAP_TYPE_##TYPE,                                                        \
            .key_size = (keysize),                                                              \
            .value_size = (valuesize),                                                          \
            .max_entries = ABSOLUTE(num_entries),                                               \
            .map_flags = DEFAULT_BPF_MAP_FLAGS(BPF_MAP_TYPE_##TYPE, num_entries, mapflags),     \
            .uid = (usr),                                                                       \
            .gid = (grp),                                                                       \
            .mode = (md),                                                                       \
            .bpfloader_min_ver = (minloader),                                                   \
            .bpfloader_max_ver = (maxloader),                                                   \
            .min_kver = (minkver).kver,                                                         \
            .max_kver = (maxkver).kver,                                                         \
            .selinux_context = (selinux),                                                       \
            .pin_subdir = (pindir),                                                             \
            .shared = (share).shared,                                                           \
            .ignore_on_eng = (ignore_eng).ignore_on_eng,                                        \
            .ignore_on_user = (ignore_user).ignore_on_user,                                     \
            .ignore_on_userdebug = (ignore_userdebug).ignore_on_userdebug,                      \
    };                                                                                          \
    BPF_ASSERT_LOADER_VERSION(minloader, ignore_eng, ignore_user, ignore_userdebug);

/*
 * A ring buffer of size_bytes (a power of two, 4 KiB to 256 MiB; kernel 5.10
 * and later) with bpf_<map>_{output,reserve,submit}.
 */
#define DEFINE_BPF_RINGBUF_EXT(the_map, ValueType, size_bytes, usr, grp, md, selinux, pindir,   \
                               share, min_loader, max_loader, ignore_eng, ignore_user,          \
                               ignore_userdebug)                                                \
    DEFINE_BPF_MAP_BASE(the_map, RINGBUF, 0, 0, size_bytes, usr, grp, md, selinux, pindir,      \
                        share, KVER_5_10, KVER_INF, min_loader, max_loader, ignore_eng,         \
                        ignore_user, ignore_userdebug, 0);                                      \
                                                                                                \
    _Static_assert((size_bytes) >= 4096, "a ring buffer holds at least 4 KiB");                 \
    _Static_assert((size_bytes) <= 0x10000000, "a ring buffer holds at most 256 MiB");          \
    _Static_assert(((size_bytes) & ((size_bytes) - 1)) == 0,                                    \
                   "a ring buffer's size is a power of two");                                   \
                                                                                                \
    static inline __always_inline __unused int bpf_##the_map##_output(const ValueType* v) {     \
        return bpf_ringbuf_output_unsafe(&the_map, v, sizeof(*v), 0);                           \
    }                                                                                           \
                                                                                                \
    static inline __always_inline __unused ValueType* bpf_##the_map##_reserve() {               \
        return bpf_ringbuf_reserve_unsafe(&the_map, sizeof(ValueType), 0);                      \
    }                                                                                           \
                                                                                                \
    static inline __always_inline __unused void bpf_##the_map##_submit(const ValueType* v) {    \
        bpf_ringbuf_submit_unsafe(v, 0);                                                        \
    }

#define DEFINE_BPF_RINGBUF(the_map, ValueType, size_bytes, usr, grp, md)                          \
    DEFINE_BPF_RINGBUF_EXT(the_map, ValueType, size_bytes, usr, grp, md,                          \
                           DEFAULT_BPF_MAP_SELINUX_CONTEXT, DEFAULT_BPF_MAP_PIN_SUBDIR, PRIVATE,  \
                           BPFLOADER_MIN_VER, BPFLOADER_MAX_VER, LOAD_ON_ENG, LOAD_ON_USER,       \
                           LOAD_ON_USERDEBUG)

/* Socket-local storage (needs BTF, so kernel 5.10 and later) with bpf_<map>_{get,delete}. */
#define DEFINE_BPF_SK_STORAGE_EXT(the_map, ValueType, usr, grp, md, selinux, pindir, share,     \
                                  min_loader, max_loader, ignore_eng, ignore_user,              \
                                  ignore_userdebug, mapFlags)                                   \
    DEFINE_BPF_MAP_BASE(the_map, SK_STORAGE, sizeof(uint32_t), sizeof(ValueType), 0, usr, grp,  \
                        md, selinux, pindir, share, KVER_5_10, KVER_INF, min_loader,            \
                        max_loader, ignore_eng, ignore_user, ignore_userdebug, mapFlags);       \
    BPF_ANNOTATE_KV_PAIR(the_map, uint32_t, ValueType);                                         \
                                                                                                \
    static inline __always_inline __unused ValueType* bpf_##the_map##_get(                      \
            const struct bpf_sock* sk, const ValueType* v, unsigned long long flags) {          \
        return bpf_sk_storage_get_unsafe(&the_map, sk, v, flags);                               \
    };                                                                                          \
                                                                                                \
    static inline __always_inline __unused int bpf_##the_map##_delete(                          \
            const struct bpf_sock* sk) {                                                        \
        return bpf_sk_storage_delete_unsafe(&the_map, sk);                                      \
    };

#define DEFINE_BPF_SK_STORAGE(the_map, TypeOfValue)                                              \
    DEFINE_BPF_SK_STORAGE_EXT(the_map, TypeOfValue, AID_ROOT, AID_NET_BW_ACCT, 0060,            \
                              "fs_bpf_net_shared", "", PRIVATE, BPFLOADER_MIN_VER,              \
                              BPFLOADER_MAX_VER, LOAD_ON_ENG, LOAD_ON_USER, LOAD_ON_USERDEBUG, 0)

/*
 * Kernels of releases before Android 13 may refuse userspace writes to array
 * entries past the first: objects such releases load cannot have writable
 * arrays of more than one entry.
 */
#ifdef THIS_BPF_PROGRAM_IS_FOR_TEST_PURPOSES_ONLY
#define BPF_MAP_ASSERT_OK(type, entries, mode)
#elif BPFLOADER_MIN_VER >= BPFLOADER_T_VERSION
#define BPF_MAP_ASSERT_OK(type, entries, mode)
#else
#define BPF_MAP_ASSERT_OK(type, entries, mode)                                          \
    _Static_assert(((type) != BPF_MAP_TYPE_ARRAY) || ((entries) <= 1) || !((mode) & 0222), \
                   "writable arrays of more than one entry need Android 13 or later")
#endif

/* Defines map the_map and its typed accessors bpf_<the_map>_{lookup,update,delete}_elem. */
#define DEFINE_BPF_MAP_EXT(the_map, TYPE, KeyType, ValueType, num_entries, usr, grp, md, selinux, \
                           pindir, share, min_loader, max_loader, ignore_eng, ignore_user,       \
                           ignore_userdebug, mapFlags)                                           \
    DEFINE_BPF_MAP_BASE(the_map, TYPE, sizeof(KeyType), sizeof(ValueType), num_entries, usr,     \
                        grp, md, selinux, pindir, share, KVER_NONE, KVER_INF, min_loader,        \
                        max_loader, ignore_eng, ignore_user, ignore_userdebug, mapFlags);        \
    BPF_MAP_ASSERT_OK(BPF_MAP_TYPE_##TYPE, (num_entries), (md));                                 \
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

/* Defaults of the short map macros; define them before including to change. */
#ifndef DEFAULT_BPF_MAP_SELINUX_CONTEXT
#define DEFAULT_BPF_MAP_SELINUX_CONTEXT ""
#endif

#ifndef DEFAULT_BPF_MAP_PIN_SUBDIR
#define DEFAULT_BPF_MAP_PIN_SUBDIR ""
#endif

#ifndef DEFAULT_BPF_MAP_UID
#define DEFAULT_BPF_MAP_UID AID_ROOT
#elif BPFLOADER_MIN_VER < 28u
#error "a map owner other than AID_ROOT needs a bpfloader min version of 0.28 or later"
#endif

/* A map only BPF programs use: no access from userspace. */
#define DEFINE_BPF_MAP_KERNEL_INTERNAL(the_map, TYPE, KeyType, ValueType, num_entries)           \
    DEFINE_BPF_MAP_EXT(the_map, TYPE, KeyType, ValueType, num_entries, AID_ROOT, AID_ROOT, 0000, \
                       "fs_bpf_loader", "", PRIVATE, BPFLOADER_MIN_VER, BPFLOADER_MAX_VER,       \
                       LOAD_ON_ENG, LOAD_ON_USER, LOAD_ON_USERDEBUG, 0)

/* A map pinned with owner usr, group grp and mode md. */
#define DEFINE_BPF_MAP_UGM(the_map, TYPE, KeyType, ValueType, num_entries, usr, grp, md)        \
    DEFINE_BPF_MAP_EXT(the_map, TYPE, KeyType, ValueType, num_entries, usr, grp, md,            \
                       DEFAULT_BPF_MAP_SELINUX_CONTEXT, DEFAULT_BPF_MAP_PIN_SUBDIR, PRIVATE,    \
                       BPFLOADER_MIN_VER, BPFLOADER_MAX_VER, LOAD_ON_ENG, LOAD_ON_USER,         \
                       LOAD_ON_USERDEBUG, 0)

/* Owner DEFAULT_BPF_MAP_UID; group and mode: root 0600, or gid 0440 / 0620 / 0640 / 0660. */
#define DEFINE_BPF_MAP(the_map, TYPE, KeyType, ValueType, num_entries)                         \
    DEFINE_BPF_MAP_UGM(the_map, TYPE, KeyType, ValueType, num_entries, DEFAULT_BPF_MAP_UID,    \
                       AID_ROOT, 0600)

#define DEFINE_BPF_MAP_RO(the_map, TYPE, KeyType, ValueType, num_entries, gid)                 \
    DEFINE_BPF_MAP_UGM(the_map, TYPE, KeyType, ValueType, num_entries, DEFAULT_BPF_MAP_UID,    \
                       gid, 0440)

#define DEFINE_BPF_MAP_GWO(the_map, TYPE, KeyType, ValueType, num_entries, gid)                \
    DEFINE_BPF_MAP_UGM(the_map, TYPE, KeyType, ValueType, num_entries, DEFAULT_BPF_MAP_UID,    \
                       gid, 0620)

#define DEFINE_BPF_MAP_GRO(the_map, TYPE, KeyType, ValueType, num_entries, gid)                \
    DEFINE_BPF_MAP_UGM(the_map, TYPE, KeyType, ValueType, num_entries, DEFAULT_BPF_MAP_UID,    \
                       gid, 0640)

#define DEFINE_BPF_MAP_GRW(the_map, TYPE, KeyType, ValueType, num_entries, gid)                \
    DEFINE_BPF_MAP_UGM(the_map, TYPE, KeyType, ValueType, num_entries, DEFAULT_BPF_MAP_UID,    \
                       gid, 0660)

/* Single loads and stores of a native word (1, 2, 4 or 8 bytes) the compiler may not split. */
#define NATIVE_WORD(t) \
    ((sizeof(t) == 1) || (sizeof(t) == 2) || (sizeof(t) == 4) || (sizeof(t) == 8))

#define READ_ONCE(x)                                                              \
    ({                                                                            \
        _Static_assert(NATIVE_WORD(x), "READ_ONCE needs a native word size");    \
        (*(const volatile typeof(x)*)&(x))                                        \
    })

#define WRITE_ONCE(x, value)                                                      \
    do {                                                                          \
        _Static_assert(NATIVE_WORD(x), "WRITE_ONCE needs a native word size");   \
        *(volatile typeof(x)*)&(x) = (value);                                     \
    } while (0)

/* LLVM's BPF builtins for packet loads (BPF_LD_ABS / BPF_LD_IND). */
unsigned long long load_byte(void* skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void* skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void* skb, unsigned long long off) asm("llvm.bpf.load.word");

/* The kernel helpers the platform header declares. */
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
static long (*bpf_get_current_comm)(void* buf,
                                    uint32_t buf_size) = (void*)BPF_FUNC_get_current_comm;
/* Kernel 5.1 and later. */
static struct bpf_sock* (*bpf_sk_fullsock)(struct bpf_sock* sk) = (void*)BPF_FUNC_sk_fullsock;
/* GPL only; at most 3 arguments, read from tracefs trace_pipe. */
static int (*bpf_trace_printk)(const char* fmt, int fmt_size, ...) = (void*)BPF_FUNC_trace_printk;
#define bpf_printf(s, n...) bpf_trace_printk(s, sizeof(s), ##n)

/*
 * Defines program function the_prog in section SECTION_NAME and its
 * definition the_prog_def in "progs". Use as
 *   DEFINE_BPF_PROG("tracepoint/cat/event", uid, gid, fn)(struct args* a) { ... }
 * The loader skips a program outside [min_kv, max_kv); a failure to load an
 * OPTIONAL program skips it, a MANDATORY one aborts the rest of the object.
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

/* Kernels in [min_kv, max_kv). */
#define DEFINE_BPF_PROG_KVER_RANGE(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, max_kv) \
    DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, max_kv, \
                                   MANDATORY)
#define DEFINE_OPTIONAL_BPF_PROG_KVER_RANGE(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, \
                                            max_kv)                                             \
    DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, max_kv, \
                                   OPTIONAL)

/* Kernels from min_kv on. */
#define DEFINE_BPF_PROG_KVER(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv)                 \
    DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, KVER_INF, \
                                   MANDATORY)
#define DEFINE_OPTIONAL_BPF_PROG_KVER(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv)        \
    DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, min_kv, KVER_INF, \
                                   OPTIONAL)

/* Every kernel. */
#define DEFINE_BPF_PROG(SECTION_NAME, prog_uid, prog_gid, the_prog)                              \
    DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, KVER_NONE,        \
                                   KVER_INF, MANDATORY)
#define DEFINE_OPTIONAL_BPF_PROG(SECTION_NAME, prog_uid, prog_gid, the_prog)                     \
    DEFINE_BPF_PROG_KVER_RANGE_OPT(SECTION_NAME, prog_uid, prog_gid, the_prog, KVER_NONE,        \
                                   KVER_INF, OPTIONAL)

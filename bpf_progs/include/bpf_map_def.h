/*
 * Host stand-in for the Android platform's <bpf_map_def.h>
 * (packages/modules/Connectivity bpf/headers/include, main).
 *
 * The platform bpfloader reads these two structures out of the "maps" and
 * "progs" sections of every object, so their layout is an ABI between the BPF
 * compiler and the loader: a 120-byte map definition and a 92-byte program
 * definition since Android 14. A Soong build compiles our sources against the
 * platform's header instead of this one: names, types, layout, guard and
 * includes here are the platform's. Like the platform's, this header is
 * guarded and leaves <stdbool.h> to its includer (<bpf_helpers.h>).
 */
#pragma once

#include <linux/bpf.h>

#include <cutils/android_filesystem_config.h>

/*
 * The loader is C++ built for the device's ABI; the objects are built for
 * BPF. Both must lay the structures out alike, so every member type must have
 * the same size and alignment on BPF, arm, arm64, x86 and x86_64.
 */
_Static_assert(sizeof(bool) == 1, "bool must be 1 byte");
_Static_assert(__alignof__(bool) == 1, "bool must be 1-byte aligned");
_Static_assert(_Alignof(bool) == 1, "bool must be 1-byte aligned");
_Static_assert(sizeof(char) == 1, "char must be 1 byte");
_Static_assert(__alignof__(char) == 1, "char must be 1-byte aligned");
_Static_assert(_Alignof(char) == 1, "char must be 1-byte aligned");
_Static_assert(sizeof(enum bpf_map_type) == 4, "enum bpf_map_type must be 4 bytes");
_Static_assert(__alignof__(enum bpf_map_type) == 4, "enum bpf_map_type must be 4-byte aligned");
_Static_assert(_Alignof(enum bpf_map_type) == 4, "enum bpf_map_type must be 4-byte aligned");
_Static_assert(sizeof(int) == 4, "int must be 4 bytes");
_Static_assert(__alignof__(int) == 4, "int must be 4-byte aligned");
_Static_assert(_Alignof(int) == 4, "int must be 4-byte aligned");
_Static_assert(sizeof(unsigned int) == 4, "unsigned int must be 4 bytes");
_Static_assert(__alignof__(unsigned int) == 4, "unsigned int must be 4-byte aligned");
_Static_assert(_Alignof(unsigned int) == 4, "unsigned int must be 4-byte aligned");
/* No 64-bit member is used: 32-bit x86 aligns them to 4 inside structures. */
_Static_assert(sizeof(unsigned long long) == 8, "unsigned long long must be 8 bytes");
_Static_assert(__alignof__(unsigned long long) == 8, "unsigned long long prefers 8 bytes");
#if defined(__i386__)
_Static_assert(_Alignof(unsigned long long) == 4, "x86-32 aligns unsigned long long to 4");
#else
_Static_assert(_Alignof(unsigned long long) == 8, "unsigned long long must be 8-byte aligned");
#endif

/* Wrapped booleans, so that the definition macros cannot swap their arguments. */
struct shared_bool { bool shared; };
#define PRIVATE ((struct shared_bool){ .shared = false })
#define SHARED ((struct shared_bool){ .shared = true })

struct optional_bool { bool optional; };
#define MANDATORY ((struct optional_bool){ .optional = false })
#define OPTIONAL ((struct optional_bool){ .optional = true })

struct ignore_on_eng_bool { bool ignore_on_eng; };
#define LOAD_ON_ENG ((struct ignore_on_eng_bool){ .ignore_on_eng = false })
#define IGNORE_ON_ENG ((struct ignore_on_eng_bool){ .ignore_on_eng = true })

struct ignore_on_user_bool { bool ignore_on_user; };
#define LOAD_ON_USER ((struct ignore_on_user_bool){ .ignore_on_user = false })
#define IGNORE_ON_USER ((struct ignore_on_user_bool){ .ignore_on_user = true })

struct ignore_on_userdebug_bool { bool ignore_on_userdebug; };
#define LOAD_ON_USERDEBUG ((struct ignore_on_userdebug_bool){ .ignore_on_userdebug = false })
#define IGNORE_ON_USERDEBUG ((struct ignore_on_userdebug_bool){ .ignore_on_userdebug = true })

/* Fixed for good: they set the size of both structures. */
#define BPF_SELINUX_CONTEXT_CHAR_ARRAY_SIZE 32
#define BPF_PIN_SUBDIR_CHAR_ARRAY_SIZE 32

/* One entry of the "maps" section; the map's name is its symbol. */
struct bpf_map_def {
    enum bpf_map_type type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
    unsigned int zero;               /* must be 0: loaders abort otherwise */
    unsigned int gid;                /* pin group */
    unsigned int mode;               /* pin mode */
    unsigned int bpfloader_min_ver;  /* inclusive */
    unsigned int bpfloader_max_ver;  /* exclusive */
    unsigned int min_kver;           /* inclusive */
    unsigned int max_kver;           /* exclusive */
    char selinux_context[BPF_SELINUX_CONTEXT_CHAR_ARRAY_SIZE];  /* NUL padded */
    char pin_subdir[BPF_PIN_SUBDIR_CHAR_ARRAY_SIZE];            /* NUL padded */
    bool shared;                     /* pin as map__<name>, shared across objects */
    bool ignore_on_eng:1;
    bool ignore_on_user:1;
    bool ignore_on_userdebug:1;
    bool ignore_on_arm32:1;          /* the architecture bits test the kernel's */
    bool ignore_on_aarch64:1;
    bool ignore_on_x86_32:1;
    bool ignore_on_x86_64:1;
    bool ignore_on_riscv64:1;
    char pad0[2];
    unsigned int uid;                /* pin owner */
};

_Static_assert(sizeof(((struct bpf_map_def*)0)->selinux_context) == 32, "selinux_context size");
_Static_assert(sizeof(((struct bpf_map_def*)0)->pin_subdir) == 32, "pin_subdir size");
_Static_assert(sizeof(struct bpf_map_def) == 120, "struct bpf_map_def must be 120 bytes");
_Static_assert(__alignof__(struct bpf_map_def) == 4, "struct bpf_map_def must be 4-byte aligned");
_Static_assert(_Alignof(struct bpf_map_def) == 4, "struct bpf_map_def must be 4-byte aligned");

/* One entry of the "progs" section; the definition of function f is f_def. */
struct bpf_prog_def {
    unsigned int uid;       /* pin owner */
    unsigned int gid;       /* pin group */
    unsigned int min_kver;  /* inclusive */
    unsigned int max_kver;  /* exclusive */
    bool optional;          /* a load failure skips this program only */
    bool ignore_on_eng:1;
    bool ignore_on_user:1;
    bool ignore_on_userdebug:1;
    bool ignore_on_arm32:1;
    bool ignore_on_aarch64:1;
    bool ignore_on_x86_32:1;
    bool ignore_on_x86_64:1;
    bool ignore_on_riscv64:1;
    char pad0[2];
    unsigned int bpfloader_min_ver;  /* inclusive */
    unsigned int bpfloader_max_ver;  /* exclusive */
    char selinux_context[BPF_SELINUX_CONTEXT_CHAR_ARRAY_SIZE];
    char pin_subdir[BPF_PIN_SUBDIR_CHAR_ARRAY_SIZE];
};

_Static_assert(sizeof(((struct bpf_prog_def*)0)->selinux_context) == 32, "selinux_context size");
_Static_assert(sizeof(((struct bpf_prog_def*)0)->pin_subdir) == 32, "pin_subdir size");
_Static_assert(sizeof(struct bpf_prog_def) == 92, "struct bpf_prog_def must be 92 bytes");
_Static_assert(__alignof__(struct bpf_prog_def) == 4, "struct bpf_prog_def must be 4-byte aligned");
_Static_assert(_Alignof(struct bpf_prog_def) == 4, "struct bpf_prog_def must be 4-byte aligned");

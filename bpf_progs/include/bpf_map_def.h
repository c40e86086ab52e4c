/*
 * Host stand-in for the Android platform's <bpf_map_def.h>.
 *
 * The platform bpfloader reads these two structures out of the "maps" and
 * "progs" sections of every object. Their layout is an ABI between the BPF
 * compiler and the loader: Android 14+ uses a 120-byte map definition and a
 * 92-byte program definition. A Soong build compiles our sources against the
 * platform's real header instead of this one, so names, types and layout here
 * must stay identical to it.
 */
#pragma once

#include <linux/bpf.h>
#include <stdbool.h>

#include <cutils/android_filesystem_config.h>

_Static_assert(sizeof(bool) == 1, "bool must be 1 byte");
_Static_assert(sizeof(enum bpf_map_type) == 4, "enum bpf_map_type must be 4 bytes");
_Static_assert(sizeof(unsigned int) == 4, "unsigned int must be 4 bytes");

/* Wrapped booleans, so that definition macros cannot swap their arguments. */
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

#define BPF_SELINUX_CONTEXT_CHAR_ARRAY_SIZE 32
#define BPF_PIN_SUBDIR_CHAR_ARRAY_SIZE 32

/* One entry of the "maps" section. */
struct bpf_map_def {
    enum bpf_map_type type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
    unsigned int zero;  /* must be 0: Android 14+ loaders abort otherwise */
    unsigned int gid;
    unsigned int mode;
    unsigned int bpfloader_min_ver;  /* inclusive */
    unsigned int bpfloader_max_ver;  /* exclusive */
    unsigned int min_kver;           /* inclusive */
    unsigned int max_kver;           /* exclusive */
    char selinux_context[BPF_SELINUX_CONTEXT_CHAR_ARRAY_SIZE];
    char pin_subdir[BPF_PIN_SUBDIR_CHAR_ARRAY_SIZE];
    bool shared;  /* pin as map__<name>, shared across objects */
    bool ignore_on_eng:1;
    bool ignore_on_user:1;
    bool ignore_on_userdebug:1;
    bool ignore_on_arm32:1;
    bool ignore_on_aarch64:1;
    bool ignore_on_x86_32:1;
    bool ignore_on_x86_64:1;
    bool ignore_on_riscv64:1;
    char pad0[2];
    unsigned int uid;
};

_Static_assert(sizeof(struct bpf_map_def) == 120, "struct bpf_map_def must be 120 bytes");
_Static_assert(__builtin_offsetof(struct bpf_map_def, zero) == 20, "zero must be at 20");
_Static_assert(__builtin_offsetof(struct bpf_map_def, uid) == 116, "uid must be at 116");

/* One entry of the "progs" section; the definition of function f is f_def. */
struct bpf_prog_def {
    unsigned int uid;
    unsigned int gid;
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
    unsigned int bpfloader_min_ver;
    unsigned int bpfloader_max_ver;
    char selinux_context[BPF_SELINUX_CONTEXT_CHAR_ARRAY_SIZE];
    char pin_subdir[BPF_PIN_SUBDIR_CHAR_ARRAY_SIZE];
};

_Static_assert(sizeof(struct bpf_prog_def) == 92, "struct bpf_prog_def must be 92 bytes");

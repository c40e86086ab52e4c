/*
 * Host stand-in for the Android IDs of <cutils/android_filesystem_config.h>
 * (system/core libcutils) that BPF objects name as pin owners and memstatd.rc
 * names as its groups. The values are
 * the platform's; AID_MEMSTAT is added by memstat's system/core patch
 * (patches/system/core).
 */
#pragma once

#define AID_ROOT 0
#define AID_SYSTEM 1000
#define AID_PACKAGE_INFO 1032
#define AID_MEMSTAT 1104
#define AID_SHELL 2000
#define AID_READPROC 3009
#define AID_READTRACEFS 3012

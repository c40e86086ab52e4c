/*
 * Host stand-in for the Android IDs of <cutils/android_filesystem_config.h>
 * that memstat's BPF objects use as pin owners. The values are the platform's.
 */
#pragma once

#define AID_ROOT 0
#define AID_SYSTEM 1000
#define AID_PACKAGE_INFO 1032
#define AID_SHELL 2000
#define AID_READTRACEFS 3012

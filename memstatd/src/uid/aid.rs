//! Android's system IDs (AIDs) by name, as bionic's getpwuid names them.
//!
//! The table is every `AID_*` of AOSP system/core
//! `libcutils/include/private/android_filesystem_config.h` (main, through
//! `AID_AOAD` 1103), named as build/tools/fs_config names them:
//! the define without `AID_`, lowercased, except `mediadrm`, `mediaex` and
//! `mediacodec`, which keep their historical spelling. Ranges (`*_START`,
//! `*_END`), `AID_APP*`, `AID_USER*` and the retired 1022 and 1025 are not
//! IDs of their own. The 3000s are supplementary groups, but getpwuid names
//! them too.

/// (AID, name), sorted by AID.
const AIDS: &[(u32, &str)] = &[
    (0, "root"),
    (1, "daemon"),
    (2, "bin"),
    (3, "sys"),
    (1000, "system"),
    (1001, "radio"),
    (1002, "bluetooth"),
    (1003, "graphics"),
    (1004, "input"),
    (1005, "audio"),
    (1006, "camera"),
    (1007, "log"),
    (1008, "compass"),
    (1009, "mount"),
    (1010, "wifi"),
    (1011, "adb"),
    (1012, "install"),
    (1013, "media"),
    (1014, "dhcp"),
    (1015, "sdcard_rw"),
    (1016, "vpn"),
    (1017, "keystore"),
    (1018, "usb"),
    (1019, "drm"),
    (1020, "mdnsr"),
    (1021, "gps"),
    (1023, "media_rw"),
    (1024, "mtp"),
    (1026, "drmrpc"),
    (1027, "nfc"),
    (1028, "sdcard_r"),
    (1029, "clat"),
    (1030, "loop_radio"),
    (1031, "mediadrm"),
    (1032, "package_info"),
    (1033, "sdcard_pics"),
    (1034, "sdcard_av"),
    (1035, "sdcard_all"),
    (1036, "logd"),
    (1037, "shared_relro"),
    (1038, "dbus"),
    (1039, "tlsdate"),
    (1040, "mediaex"),
    (1041, "audioserver"),
    (1042, "metrics_coll"),
    (1043, "metricsd"),
    (1044, "webserv"),
    (1045, "debuggerd"),
    (1046, "mediacodec"),
    (1047, "cameraserver"),
    (1048, "firewall"),
    (1049, "trunks"),
    (1050, "nvram"),
    (1051, "dns"),
    (1052, "dns_tether"),
    (1053, "webview_zygote"),
    (1054, "vehicle_network"),
    (1055, "media_audio"),
    (1056, "media_video"),
    (1057, "media_image"),
    (1058, "tombstoned"),
    (1059, "media_obb"),
    (1060, "ese"),
    (1061, "ota_update"),
    (1062, "automotive_evs"),
    (1063, "lowpan"),
    (1064, "hsm"),
    (1065, "reserved_disk"),
    (1066, "statsd"),
    (1067, "incidentd"),
    (1068, "secure_element"),
    (1069, "lmkd"),
    (1070, "llkd"),
    (1071, "iorapd"),
    (1072, "gpu_service"),
    (1073, "network_stack"),
    (1074, "gsid"),
    (1075, "fsverity_cert"),
    (1076, "credstore"),
    (1077, "external_storage"),
    (1078, "ext_data_rw"),
    (1079, "ext_obb_rw"),
    (1080, "context_hub"),
    (1081, "virtualizationservice"),
    (1082, "artd"),
    (1083, "uwb"),
    (1084, "thread_network"),
    (1085, "diced"),
    (1086, "dmesgd"),
    (1087, "jc_weaver"),
    (1088, "jc_strongbox"),
    (1089, "jc_identitycred"),
    (1090, "sdk_sandbox"),
    (1091, "security_log_writer"),
    (1092, "prng_seeder"),
    (1093, "uprobestats"),
    (1094, "cros_ec"),
    (1095, "mmd"),
    (1096, "update_engine_log"),
    (1097, "ap_firmware"),
    (1098, "pmgd"),
    (1099, "sdv_sd_agent"),
    (1100, "sdv_dt_agent"),
    (1101, "sdv_rpc_agent"),
    (1102, "sdv_init_open_dice"),
    (1103, "aoad"),
    // memstatd's own, added by patches/system/core.
    (1104, "memstat"),
    (2000, "shell"),
    (2001, "cache"),
    (2002, "diag"),
    (3001, "net_bt_admin"),
    (3002, "net_bt"),
    (3003, "inet"),
    (3004, "net_raw"),
    (3005, "net_admin"),
    (3006, "net_bw_stats"),
    (3007, "net_bw_acct"),
    (3009, "readproc"),
    (3010, "wakelock"),
    (3011, "uhid"),
    (3012, "readtracefs"),
    (3013, "virtualmachine"),
    (9997, "everybody"),
    (9998, "misc"),
    (9999, "nobody"),
    (65534, "overflowuid"),
];

/// The name of a platform AID.
pub fn name(aid: u32) -> Option<&'static str> {
    AIDS.binary_search_by_key(&aid, |&(id, _)| id)
        .ok()
        .map(|i| AIDS[i].1)
}

/// The vendor's AID ranges, which bionic names `oem_<id>` when no
/// partition's passwd file (config.fs) names them.
pub fn is_oem(aid: u32) -> bool {
    (2900..=2999).contains(&aid) || (5000..=5999).contains(&aid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_with_one_name_per_id() {
        assert!(AIDS.windows(2).all(|w| w[0].0 < w[1].0));
        let mut names: Vec<&str> = AIDS.iter().map(|&(_, n)| n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AIDS.len());
        assert_eq!(AIDS.len(), 126);
    }

    #[test]
    fn names_as_getpwuid_gives_them() {
        assert_eq!(name(0), Some("root"));
        assert_eq!(name(1000), Some("system"));
        assert_eq!(name(1001), Some("radio"));
        assert_eq!(name(1031), Some("mediadrm"));
        assert_eq!(name(1040), Some("mediaex"));
        assert_eq!(name(1046), Some("mediacodec"));
        assert_eq!(name(1090), Some("sdk_sandbox"));
        assert_eq!(name(1103), Some("aoad"));
        assert_eq!(name(1104), Some("memstat"));
        assert_eq!(name(2000), Some("shell"));
        assert_eq!(name(2002), Some("diag"));
        assert_eq!(name(3012), Some("readtracefs"));
        assert_eq!(name(3013), Some("virtualmachine"));
        assert_eq!(name(9999), Some("nobody"));
        assert_eq!(name(65534), Some("overflowuid"));
        // Retired, unallocated, or ranges rather than IDs.
        for id in [1022, 1025, 1105, 1999, 2900, 3008, 5000, 10000, 99000] {
            assert_eq!(name(id), None, "{id}");
        }
    }

    #[test]
    fn oem_ranges() {
        assert!(is_oem(2900) && is_oem(2999) && is_oem(5000) && is_oem(5999));
        assert!(!is_oem(2899) && !is_oem(3000) && !is_oem(4999) && !is_oem(6000));
    }

    /// The BPF build's copy of the header agrees with the table.
    #[test]
    fn agrees_with_the_bpf_builds_header() {
        let header = include_str!("../../../bpf_progs/include/cutils/android_filesystem_config.h");
        let mut seen = 0;
        for line in header.lines() {
            let mut words = line.split_whitespace();
            let (Some("#define"), Some(define), Some(value)) =
                (words.next(), words.next(), words.next())
            else {
                continue;
            };
            let Some(id) = define.strip_prefix("AID_") else {
                continue;
            };
            if id.ends_with("_START") || id.ends_with("_END") || id.starts_with("APP") {
                continue;
            }
            if id.starts_with("USER") {
                continue;
            }
            let friendly = match id.to_lowercase().as_str() {
                "media_drm" => "mediadrm".to_owned(),
                "media_ex" => "mediaex".to_owned(),
                "media_codec" => "mediacodec".to_owned(),
                other => other.to_owned(),
            };
            let value: u32 = value.parse().unwrap();
            assert_eq!(name(value), Some(friendly.as_str()), "{line}");
            seen += 1;
        }
        assert!(seen >= 5, "{seen} AIDs in the header");
    }
}

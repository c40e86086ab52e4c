//! The VM knobs of `/proc/sys/vm/` that shape reclaim, writeback, overcommit
//! and compaction. Each is read on its own: a knob newer than the kernel
//! (`watermark_boost_factor` since 5.0, `compaction_proactiveness` since
//! 5.9) is `Missing`, and one the caller may not read (SELinux on Android
//! user builds) is `Unreadable`; neither is ever taken as 0.

use super::reading::{complete, signed, unexpected, ParseError, Reading, Root};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct VmKnobs {
    pub(crate) swappiness: Reading<i64>,
    pub(crate) overcommit_memory: Reading<i64>,
    pub(crate) overcommit_ratio: Reading<i64>,
    pub(crate) dirty_ratio: Reading<i64>,
    pub(crate) dirty_background_ratio: Reading<i64>,
    pub(crate) dirty_bytes: Reading<i64>,
    pub(crate) dirty_background_bytes: Reading<i64>,
    pub(crate) dirty_expire_centisecs: Reading<i64>,
    pub(crate) dirty_writeback_centisecs: Reading<i64>,
    pub(crate) min_free_kbytes: Reading<i64>,
    pub(crate) watermark_scale_factor: Reading<i64>,
    pub(crate) watermark_boost_factor: Reading<i64>,
    pub(crate) extfrag_threshold: Reading<i64>,
    pub(crate) compaction_proactiveness: Reading<i64>,
    pub(crate) page_cluster: Reading<i64>,
}

/// One knob's file: a single integer and a newline.
pub(crate) fn parse(text: &str) -> Result<i64, ParseError> {
    complete(text)?;
    let tokens: Vec<&str> = text.split_whitespace().collect();
    match tokens.as_slice() {
        [value] if text.lines().count() == 1 => signed(value, 1),
        _ => Err(unexpected(1, text)),
    }
}

/// Knobs the platform's SELinux policy leaves labelled plain `proc`, which no
/// core domain may read; the others have labels memstatd's policy grants.
const PLAIN_PROC_ON_ANDROID: [&str; 9] = [
    "swappiness",
    "overcommit_ratio",
    "dirty_ratio",
    "dirty_bytes",
    "dirty_background_bytes",
    "dirty_writeback_centisecs",
    "min_free_kbytes",
    "extfrag_threshold",
    "compaction_proactiveness",
];

/// Every knob, but on Android those of `PLAIN_PROC_ON_ANDROID`.
pub(crate) fn read(root: &Root) -> VmKnobs {
    let withheld: &[&str] = if cfg!(target_os = "android") {
        &PLAIN_PROC_ON_ANDROID
    } else {
        &[]
    };
    read_but(root, withheld)
}

fn read_but(root: &Root, withheld: &[&str]) -> VmKnobs {
    let knob = |name: &str| {
        let rel = format!("proc/sys/vm/{name}");
        if withheld.contains(&name) {
            root.withheld(
                &rel,
                "not readable on Android: the platform policy labels it proc",
            )
        } else {
            root.read(&rel, parse)
        }
    };
    VmKnobs {
        swappiness: knob("swappiness"),
        overcommit_memory: knob("overcommit_memory"),
        overcommit_ratio: knob("overcommit_ratio"),
        dirty_ratio: knob("dirty_ratio"),
        dirty_background_ratio: knob("dirty_background_ratio"),
        dirty_bytes: knob("dirty_bytes"),
        dirty_background_bytes: knob("dirty_background_bytes"),
        dirty_expire_centisecs: knob("dirty_expire_centisecs"),
        dirty_writeback_centisecs: knob("dirty_writeback_centisecs"),
        min_free_kbytes: knob("min_free_kbytes"),
        watermark_scale_factor: knob("watermark_scale_factor"),
        watermark_boost_factor: knob("watermark_boost_factor"),
        extfrag_threshold: knob("extfrag_threshold"),
        compaction_proactiveness: knob("compaction_proactiveness"),
        page_cluster: knob("page-cluster"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::reading::ErrorKind;
    use super::*;

    use crate::testing::fixture_root as root;

    /// Every knob, in the order of the struct.
    fn every(k: &VmKnobs) -> [&Reading<i64>; 15] {
        [
            &k.swappiness,
            &k.overcommit_memory,
            &k.overcommit_ratio,
            &k.dirty_ratio,
            &k.dirty_background_ratio,
            &k.dirty_bytes,
            &k.dirty_background_bytes,
            &k.dirty_expire_centisecs,
            &k.dirty_writeback_centisecs,
            &k.min_free_kbytes,
            &k.watermark_scale_factor,
            &k.watermark_boost_factor,
            &k.extfrag_threshold,
            &k.compaction_proactiveness,
            &k.page_cluster,
        ]
    }

    fn read_value(r: &Reading<i64>) -> i64 {
        *r.value().unwrap()
    }

    #[test]
    fn this_machine() {
        let k = read_but(&root("6.18"), &[]);
        let values: Vec<i64> = every(&k).into_iter().map(read_value).collect();
        assert_eq!(
            values,
            [60, 0, 50, 20, 10, 0, 0, 3000, 500, 67584, 10, 15000, 500, 20, 3]
        );
    }

    #[test]
    fn knobs_newer_than_the_kernel_are_missing() {
        let k = read(&root("5.4"));
        assert_eq!(read_value(&k.watermark_boost_factor), 15000);
        assert!(matches!(
            k.compaction_proactiveness,
            Reading::Missing { .. }
        ));
        let k = read(&root("4.19"));
        assert!(matches!(k.watermark_boost_factor, Reading::Missing { .. }));
        assert!(matches!(
            k.compaction_proactiveness,
            Reading::Missing { .. }
        ));
        assert_eq!(read_value(&k.swappiness), 100);
        assert_eq!(read_value(&k.page_cluster), 0);
        let json = serde_json::to_value(&k.compaction_proactiveness).unwrap();
        assert_eq!(json["state"], "missing");
        let json = serde_json::to_value(&k.swappiness).unwrap();
        assert_eq!(json, serde_json::json!({"state": "read", "value": 100}));
    }

    #[test]
    fn android_reads_only_the_knobs_its_policy_labels() {
        let k = read_but(&root("6.18"), &PLAIN_PROC_ON_ANDROID);
        let withheld = |r: &Reading<i64>| match r {
            Reading::Unreadable {
                errno: None,
                error,
                path,
            } => {
                assert!(error.contains("not readable on Android"), "{error}");
                assert!(path.contains("/proc/sys/vm/"), "{path}");
                true
            }
            Reading::Read { .. } => false,
            other => panic!("{other:?}"),
        };
        assert_eq!(every(&k).into_iter().filter(|r| withheld(r)).count(), 9);
        assert_eq!(read_value(&k.overcommit_memory), 0);
        assert_eq!(read_value(&k.page_cluster), 3);
        assert_eq!(read_value(&k.watermark_boost_factor), 15000);
    }

    #[test]
    fn malformed() {
        assert_eq!(parse("60\n"), Ok(60));
        assert_eq!(parse("-1\n"), Ok(-1));
        assert_eq!(parse("").unwrap_err().kind, ErrorKind::Empty);
        assert_eq!(parse("6").unwrap_err().kind, ErrorKind::Truncated);
        assert_eq!(
            parse("sixty\n").unwrap_err().kind,
            ErrorKind::NotANumber {
                token: "sixty".into()
            }
        );
        assert!(matches!(
            parse("60 40\n").unwrap_err().kind,
            ErrorKind::Unexpected { .. }
        ));
        assert!(matches!(
            parse("60\n40\n").unwrap_err().kind,
            ErrorKind::Unexpected { .. }
        ));
    }

    #[test]
    fn live() {
        let k = read(&Root::default());
        #[cfg(not(target_os = "android"))]
        assert!((0..=200).contains(k.swappiness.value().expect("swappiness")));
        assert!((0..=2).contains(k.overcommit_memory.value().unwrap()));
        for knob in [
            &k.watermark_boost_factor,
            &k.compaction_proactiveness,
            &k.page_cluster,
        ] {
            assert!(!matches!(knob, Reading::Malformed { .. }), "{knob:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(super::super::reading::arbitrary::config())]
        #[test]
        fn never_panics(
            lines in super::super::reading::arbitrary::lines(),
            bytes in super::super::reading::arbitrary::bytes(),
            mutated in super::super::reading::arbitrary::mutated(
                include_str!("../../tests/fixtures/system/root-6.18/proc/sys/vm/min_free_kbytes")
            ),
        ) {
            for text in [lines, bytes, mutated] {
                let _ = parse(&text);
            }
        }
    }
}

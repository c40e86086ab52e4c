use super::*;
use crate::stats::counters::CallCounts;

#[test]
fn per_uid_sums_and_names_syscalls() {
    let mut w = Counters::default();
    let getppid = libc::SYS_getppid as u32;
    let fchdir = libc::SYS_fchdir as u32;
    w.syscalls.insert(
        (7, getppid),
        CallCounts {
            count: 10,
            errors: 0,
        },
    );
    w.syscalls.insert(
        (7, fchdir),
        CallCounts {
            count: 4,
            errors: 4,
        },
    );
    let m = &per_uid(&w)[&7];
    assert_eq!(m["syscalls.count"], 14);
    assert_eq!(m["syscalls.errors"], 4);
    assert_eq!(m["syscalls.getppid.count"], 10);
    assert_eq!(m["syscalls.fchdir.errors"], 4);
    assert!(!m.contains_key("latency.p50_ns"));
}

#[test]
fn thresholds_parse_and_cross_exactly_at_their_bound() {
    let t = Threshold::parse("syscalls.errors>+5%").unwrap();
    assert_eq!((t.op, t.bound), (Op::Gt, Bound::Percent(5.0)));
    assert!(t.is_relative());
    assert!(!t.crossed(Some(100), 105), "+5% is not more than +5%");
    assert!(t.crossed(Some(100), 106));
    assert!(t.crossed(Some(0), 1), "from zero is an infinite increase");
    assert!(!t.crossed(Some(0), 0));
    assert!(!t.crossed(None, 1000), "a percent bound needs a diff");

    let t = Threshold::parse(" syscalls.getppid.count >= 1000 ").unwrap();
    assert_eq!((t.op, t.bound), (Op::Ge, Bound::Value(1000.0)));
    assert!(t.crossed(None, 1000));
    assert!(!t.crossed(Some(0), 999));

    let t = Threshold::parse("syscalls.count<-10").unwrap();
    assert_eq!(t.bound, Bound::Change(-10.0));
    assert!(t.crossed(Some(100), 89));
    assert!(!t.crossed(Some(100), 90));

    let t = Threshold::parse("latency.p99_ns<=4096").unwrap();
    assert_eq!(t.op, Op::Le);

    let nr = libc::SYS_getppid;
    let t = Threshold::parse(&format!("syscalls.sys_{nr}.count>0")).unwrap();
    assert_eq!(t.metric, "syscalls.getppid.count", "numbers become names");
    let t = Threshold::parse(&format!("syscalls.sys_0{nr}.errors>0")).unwrap();
    assert_eq!(t.metric, "syscalls.getppid.errors");
}

#[test]
fn intervals_cross_only_when_all_of_them_does() {
    let t = Threshold::parse("faults.minor>100").unwrap();
    let est = |value, ci95| Measure::Estimate { value, ci95 };
    assert_eq!(t.decide(None, est(130, 20)), Decision::Crossed, "110..150");
    assert_eq!(
        t.decide(None, est(120, 20)),
        Decision::Straddles,
        "100..140"
    );
    assert_eq!(t.decide(None, est(70, 30)), Decision::Clear, "40..100");
    assert_eq!(t.compared(None, est(5, 8)), Some((0.0, 13.0)));

    let t = Threshold::parse("faults.major<=4096").unwrap();
    let bracket = |lo, hi| Measure::Bracket { lo, hi };
    assert_eq!(t.decide(None, bracket(1000, 4096)), Decision::Crossed);
    assert_eq!(t.decide(None, bracket(4000, 4097)), Decision::Straddles);
    assert_eq!(t.decide(None, bracket(4097, 9000)), Decision::Clear);

    // A change reads both sides' intervals: 200±10 - 150±10 is 30..70.
    let t = Threshold::parse("faults.minor>+25").unwrap();
    let (from, to) = (Some(est(150, 10)), est(200, 10));
    assert_eq!(t.compared(from, to), Some((30.0, 70.0)));
    assert_eq!(t.decide(from, to), Decision::Crossed);
    let t = Threshold::parse("faults.minor>+40").unwrap();
    assert_eq!(t.decide(from, to), Decision::Straddles);
    // +N%: 140..160 to 190..210 is +18.75% .. +50%.
    let t = Threshold::parse("faults.minor>+20%").unwrap();
    assert_eq!(t.compared(from, to), Some((18.75, 50.0)));
    assert_eq!(t.decide(from, to), Decision::Straddles);
    assert_eq!(t.decide(None, to), Decision::Clear, "a change needs a diff");
    // Exact numbers decide as before.
    assert_eq!(
        t.decide(Some(Measure::Exact(100)), Measure::Exact(121)),
        Decision::Crossed
    );
}

#[test]
fn a_window_with_variances_is_an_estimate_with_its_cis() {
    let spec = memory::spec("pagealloc").unwrap();
    let first = duty::ci_metrics(spec)[0].clone();
    let metric = format!("pagealloc.{first}");
    let mut group = crate::stats::counters::GroupCounters::default();
    group.uids.insert(7, vec![0; spec.slots()]);
    group.uids.insert(8, vec![0; spec.slots()]);
    group.other = vec![0; spec.slots()];
    let mut w = Counters::default();
    w.groups.insert("pagealloc".into(), group.clone());
    assert_eq!(
        Measure::of(&per_uid(&w)[&7], &metric),
        Some(Measure::Exact(0)),
        "no variances: counted at full rate"
    );

    let mut variance = vec![0; duty::ci_metrics(spec).len()];
    variance[0] = 100;
    group.variance.insert(7, variance);
    w.groups.insert("pagealloc".into(), group);
    let m = per_uid(&w);
    assert_eq!(
        Measure::of(&m[&7], &metric),
        Some(Measure::Estimate { value: 0, ci95: 20 }),
        "1.96 x sqrt(100), rounded up"
    );
    assert_eq!(
        Measure::of(&m[&8], &metric),
        Some(Measure::Estimate { value: 0, ci95: 0 }),
        "a UID of an estimated window is an estimate too"
    );
}

#[test]
fn a_threshold_names_the_metric_not_its_companions() {
    let mut names = Vec::new();
    for g in memory::GROUPS {
        names.extend(g.metric_names());
    }
    for companion in names.iter().filter(|n| measure::companion_of(n).is_some()) {
        let e = check_metric(companion).unwrap_err();
        assert!(e.contains("reads the whole interval"), "{e}");
        let of = measure::companion_of(companion).unwrap();
        assert_eq!(check_metric(of), Ok(()), "{of}");
    }
}

#[test]
fn memory_group_metrics_are_named_and_checked() {
    for ok in [
        "faults.minor",
        "memsyscalls.mmap.bytes",
        "reclaim.direct.p99_us",
        "pagealloc.order3",
    ] {
        assert_eq!(check_metric(ok), Ok(()), "{ok}");
    }
    let e = check_metric("faults.minr").unwrap_err();
    assert!(
        e.starts_with("unknown metric \"faults.minr\" of the faults group: valid are faults.minor"),
        "{e}"
    );
    assert!(check_metric("heap.bytes")
        .unwrap_err()
        .contains("<group>.<metric> of the memory groups (faults"));

    let mut w = Counters::default();
    let mut faults = crate::stats::counters::GroupCounters::default();
    faults.uids.insert(7, vec![10, 3, 6, 2]);
    faults.other = vec![0, 0, 0, 0];
    w.groups.insert("faults".into(), faults);
    let m = &per_uid(&w)[&7];
    assert_eq!(
        (
            m["faults.events.all"],
            m["faults.events.minor"],
            m["faults.minor"],
            m["faults.major"]
        ),
        (10, 7, 6, 2)
    );
    assert!(!defaults_to_zero("reclaim.direct.p99_us"));
    assert!(!defaults_to_zero("slab.waste_permille"));
    assert!(defaults_to_zero("faults.minor"));
}

#[test]
fn counts_of_no_uid_leave_a_threshold_on_them_undecided() {
    for (metric, group, bucket) in [
        ("syscalls.count", "syscalls", "overflow.count"),
        ("syscalls.getppid.count", "syscalls", "overflow.count"),
        ("syscalls.errors", "syscalls", "overflow.errors"),
        ("syscalls.fchdir.errors", "syscalls", "overflow.errors"),
        ("latency.p99_ns", "syscalls", "overflow.latency_samples"),
        ("faults.minor", "faults", "faults.other.minor"),
        (
            "reclaim.direct.p99_us",
            "reclaim",
            "reclaim.other.direct.p99_us",
        ),
    ] {
        assert_eq!(
            (group_of(metric), bucket_of(metric).as_str()),
            (group, bucket)
        );
    }
    let mut w = Counters::default();
    w.overflow.count = 40;
    w.overflow.errors = 0;
    let faults = crate::stats::counters::GroupCounters {
        other: vec![0, 0, 10, 2],
        ..Default::default()
    };
    w.groups.insert("faults".into(), faults);
    let u = unattributed(&w);
    assert_eq!(
        (
            u["overflow.count"],
            u["overflow.errors"],
            u["faults.other.minor"]
        ),
        (40, 0, 10)
    );
    assert!(!u.contains_key("slab.other.kmalloc"), "slab was not read");

    let span = Span::of("in the window".into(), &w);
    let t = |text: &str| Threshold::parse(text).unwrap();
    let ts = [
        t("syscalls.count>5"),
        t("syscalls.errors>5"),
        t("faults.major>+1"),
        t("faults.minor>+1"),
    ];
    let got = undetermined(&ts, |_| vec![&span]).unwrap();
    let got: Vec<(&str, &str, Option<u64>)> = got
        .iter()
        .map(|u| (u.threshold.as_str(), u.bucket.as_str(), u.lost))
        .collect();
    assert_eq!(
        got,
        [
            ("syscalls.count>5", "overflow.count", Some(40)),
            ("faults.major>+1", "faults.other.major", Some(2)),
            ("faults.minor>+1", "faults.other.minor", Some(10)),
        ]
    );
    let e = undetermined(&[t("slab.kmalloc>0")], |_| vec![&span]).unwrap_err();
    assert_eq!(
        e,
        "cannot check --fail-if 'slab.kmalloc>0': there are no counts of the slab probe \
         group (in the window)"
    );
    // Read without per-app cgroups: no memcg numbers, not zeros.
    let spec = memory::spec("rss").unwrap();
    let mut rss = crate::stats::counters::GroupCounters {
        other: vec![0; spec.slots()],
        ..Default::default()
    };
    w.groups.insert("rss".into(), rss.clone());
    let span = Span::of("in the window".into(), &w);
    let e = undetermined(&[t("rss.charged.total>0")], |_| vec![&span]).unwrap_err();
    assert!(e.contains("no per-app memory cgroup numbers"), "{e}");
    assert!(!defaults_to_zero("rss.charged.anon") && defaults_to_zero("rss.anon"));
    assert_eq!(memcg_part("rss.chargedx"), None);
    // With them, their bucket of no UID decides as any other.
    let seen = spec.memcg_seen_slot().unwrap();
    rss.other[seen..].copy_from_slice(&[1, 30, 0, 0, 30]);
    w.groups.insert("rss".into(), rss);
    let span = Span::of("in the window".into(), &w);
    let got = undetermined(&[t("rss.charged.anon>0")], |_| vec![&span]).unwrap();
    assert_eq!(
        (got[0].bucket.as_str(), got[0].lost),
        ("rss.other.charged.anon", Some(30))
    );
}

#[test]
fn bad_thresholds_name_what_is_wrong() {
    for (text, says) in [
        ("syscalls.errors", "expected 'METRIC OP VALUE'"),
        ("nonsense>1", "unknown metric \"nonsense\""),
        (
            "syscalls.nosuchcall.count>1",
            "unknown syscall \"nosuchcall\"",
        ),
        ("syscalls.errors>5%", "value \"5%\""),
        ("syscalls.errors>abc", "value \"abc\""),
        ("syscalls.errors>inf", "value \"inf\""),
    ] {
        let e = Threshold::parse(text).unwrap_err();
        assert!(e.contains(says), "{text}: {e}");
    }
}

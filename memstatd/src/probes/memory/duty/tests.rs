use super::super::{memsyscalls, pagealloc, slab};
use super::*;
use crate::abi::memory::{MT_CLASSES, ORDERS};

#[test]
fn cycles_parse() {
    assert_eq!(
        Config::parse_cycle("1000/32000"),
        Ok((Duration::from_secs(1), Duration::from_secs(32)))
    );
    for bad in ["5/100", "600/1000", "1000", "a/b", "100/4000000"] {
        assert!(
            Config::parse_cycle(bad).unwrap_err().contains("W/P"),
            "{bad}"
        );
    }
}

#[test]
fn pages_scale_to_vmstat_and_the_rest_to_time() {
    let slots = pagealloc::SPEC.slots();
    let mut a = vec![0u64; slots];
    a[0] = 6; // six order-0 allocations
    a[1] = 1; // one order-1: 2 pages
    let free = ORDERS + MT_CLASSES + 1;
    a[free] = 4;
    let mut other = vec![0u64; slots];
    other[0] = 2;
    let counted = Rows {
        uids: [(69000, a)].into_iter().collect(),
        other,
    };
    let s = scales(
        &pagealloc::SPEC,
        &counted,
        Duration::from_millis(500),
        Duration::from_secs(8),
        Some([1000, 40]),
    );
    let alloc = Scale {
        total: 1000.0,
        observed: 10.0,
    };
    assert_eq!(s[0], alloc);
    assert_eq!(s[ORDERS], alloc, "classes scale with their pages");
    let time = Scale {
        total: 8.0,
        observed: 0.5,
    };
    assert_eq!(
        s[ORDERS + MT_CLASSES],
        time,
        "failures have no global count"
    );
    assert_eq!(
        s[free],
        Scale {
            total: 40.0,
            observed: 4.0
        }
    );
    // Without vmstat, and for slab: time.
    let none = scales(
        &pagealloc::SPEC,
        &counted,
        Duration::from_millis(500),
        Duration::from_secs(8),
        None,
    );
    assert!(none.iter().all(|x| *x == time));
    let slab = scales(
        &slab::SPEC,
        &Rows::default(),
        Duration::from_millis(500),
        Duration::from_secs(8),
        Some([1, 1]),
    );
    assert_eq!(slab, vec![time; slab::SPEC.slots()]);
}

#[test]
fn memsyscalls_is_cycled_and_scaled_by_time() {
    assert_eq!(cycled_names(), "pagealloc, slab, memsyscalls");
    assert!(!cycled("faults") && !cycled("reclaim"));
    let s = scales(
        &memsyscalls::SPEC,
        &Rows::default(),
        Duration::from_secs(1),
        Duration::from_secs(32),
        Some([1000, 40]),
    );
    let time = Scale {
        total: 32.0,
        observed: 1.0,
    };
    assert_eq!(s, vec![time; memsyscalls::SPEC.slots()]);
    // Every metric is a sum of slots: each gets a CI.
    let ci = ci_metrics(&memsyscalls::SPEC);
    assert_eq!(ci.len(), memsyscalls::SPEC.metric_names().len());
    assert!(describe(&memsyscalls::SPEC).contains("syscalls.mmap.count"));
}

#[test]
fn deltas_drop_idle_rows_and_restart_rows_that_went_back() {
    let now = Rows {
        uids: [(1, vec![5, 5]), (2, vec![3, 0]), (3, vec![1, 1])]
            .into_iter()
            .collect(),
        other: vec![2, 2],
    };
    let then = Rows {
        uids: [(1, vec![5, 5]), (2, vec![4, 0])].into_iter().collect(),
        other: vec![1, 0],
    };
    let d = delta(&now, &then);
    assert_eq!(
        d.uids,
        [(2, vec![3, 0]), (3, vec![1, 1])].into_iter().collect()
    );
    assert_eq!(d.other, vec![1, 2]);
}

#[test]
fn ci_covers_linear_metrics_only() {
    let names = ci_metrics(&slab::SPEC);
    assert!(names.contains(&"kmalloc_allocated".to_owned()));
    assert!(names.contains(&"waste_bytes".to_owned()));
    assert!(!names.contains(&"waste_permille".to_owned()));
    let entries = ci_entries(&slab::SPEC, None);
    assert_eq!(entries.len(), names.len());
    assert!(entries.iter().all(|(n, v)| n.ends_with(".ci95") && *v == 0));
}

#[test]
fn phases_are_uniform_and_repeat_with_a_seed() {
    let draws = |seed| {
        configure(Config {
            seed: Some(seed),
            ..Config::default()
        });
        let mut c = Cycle::new(1, false, 1);
        (0..4).map(|_| c.below(31_001)).collect::<Vec<_>>()
    };
    assert_eq!(draws(7), draws(7));
    let mut c = Cycle::new(2, false, 1);
    let n = 40_000;
    let below_half = (0..n).filter(|_| c.below(1000) < 500).count();
    assert!((19_000..21_000).contains(&below_half), "{below_half}");
}

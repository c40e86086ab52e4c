//! The duty-cycled groups (pagealloc, slab, memsyscalls) end to end on the
//! real kernel: two UIDs (69xxx) with a known split of page and slab
//! allocations, or of mmap bytes, counted exactly with the groups on, then
//! estimated with the duty cycle; the known split must lie inside the
//! interval the two estimates' 95% CIs allow for it. A short cycle (100 ms in
//! every 400 ms) and a fixed seed give many windows in seconds.

use memstat_tests::{kernel, Bpffs, Daemon, Interactive, TempDir, Workload};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");
const PERIOD: Duration = Duration::from_millis(400);

/// Page faults and eventfds in a 3:1 split, spread over seconds.
fn work(pages: u64, fds: u64) -> Workload {
    let mut w = Workload::new().wait();
    for _ in 0..60 {
        w = w.touch(pages).slab(fds).sleep(1, 40);
    }
    w.wait()
}

/// Runs both workloads, stopped at their first `wait`, at once to their last.
fn run_both(a: &mut Interactive, b: &mut Interactive) {
    a.resume();
    b.resume();
    a.pause();
    b.pause();
}

fn probe_detail(d: &Daemon, group: &str) -> (String, String) {
    let j = d.memstat(&["--json", "--section", "probes"]).json();
    let p: &Value = j["probes"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["group"] == group))
        .unwrap_or_else(|| panic!("no {group} probe in {j}"));
    let text = |k: &str| p[k].as_str().unwrap_or_default().to_owned();
    (text("state"), text("detail"))
}

fn switch(d: &Daemon, mode: &str) {
    switch_groups(d, &["pagealloc", "slab"], mode);
}

fn switch_groups(d: &Daemon, groups: &[&str], mode: &str) {
    for g in groups {
        let r = d.memstat(&["--probe", &format!("{g}={mode}")]);
        assert_eq!(r.code, 0, "{g}={mode}: {}", r.stderr);
    }
}

#[test]
fn a_known_split_lies_inside_the_estimates_intervals() {
    let Some(_k) = kernel("a_known_split_lies_inside_the_estimates_intervals") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("duty"));
    let mut d = short_cycle(&fs, &dir);
    // Duty-cycled by default, and the probes section says so.
    for g in ["pagealloc", "slab"] {
        let (state, detail) = probe_detail(&d, g);
        assert_eq!(state, "live", "{detail}");
        assert!(
            detail.contains("duty-cycled: attached 100 ms in every 400 ms at a random phase"),
            "{detail}"
        );
    }
    let (a, b) = (69001, 69002);
    let (wa, wb) = (work(1536, 96), work(512, 32));

    // Exact counts of the same work, the groups on.
    switch(&d, "on");
    let (mut ra, mut rb) = (
        wa.start_as(Path::new(WORKLOAD), a),
        wb.start_as(Path::new(WORKLOAD), b),
    );
    ra.pause();
    rb.pause();
    assert_eq!(d.memstat(&["--reset"]).code, 0);
    run_both(&mut ra, &mut rb);
    let exact = |uid| {
        (
            d.group_metrics("pagealloc", uid),
            d.group_metrics("slab", uid),
        )
    };
    let (ea, eb) = (exact(a), exact(b));
    ra.finish();
    rb.finish();
    assert!(
        !ea.0.keys().any(|k| k.ends_with(".ci95")),
        "on counts exactly: {:?}",
        ea.0
    );
    // The work itself: at least its pages and one kmalloc per eventfd.
    assert!(ea.0["alloc_pages"] >= 60 * 1536, "{:?}", ea.0);
    assert!(ea.1["kmalloc"] >= 60 * 96, "{:?}", ea.1);

    // The same work, duty-cycled.
    switch(&d, "duty");
    let (mut ra, mut rb) = (
        wa.start_as(Path::new(WORKLOAD), a),
        wb.start_as(Path::new(WORKLOAD), b),
    );
    ra.pause();
    rb.pause();
    assert_eq!(d.memstat(&["--reset"]).code, 0);
    run_both(&mut ra, &mut rb);
    // The period under way at the end is folded when it closes.
    std::thread::sleep(2 * PERIOD + Duration::from_millis(200));
    let estimate = |uid| {
        (
            d.group_metrics("pagealloc", uid),
            d.group_metrics("slab", uid),
        )
    };
    let (sa, sb) = (estimate(a), estimate(b));
    ra.finish();
    rb.finish();
    for (group, metric, exact, est) in [
        ("pagealloc", "alloc_pages", [&ea.0, &eb.0], [&sa.0, &sb.0]),
        ("slab", "kmalloc", [&ea.1, &eb.1], [&sa.1, &sb.1]),
    ] {
        split_inside(&format!("{group}.{metric}"), metric, exact, est);
    }

    // The estimates go on across a restart: same generation, same numbers.
    let generation = |d: &Daemon| {
        d.memstat(&["--json", "--section", "header"]).json()["header"]["generation"]["id"].clone()
    };
    let before = (
        generation(&d),
        d.group_metrics("pagealloc", a)["alloc_pages"],
    );
    d.stop();
    d.restart();
    let after = (
        generation(&d),
        d.group_metrics("pagealloc", a)["alloc_pages"],
    );
    assert_eq!(before, after);
    assert!(
        d.log().contains("generation") && !d.log().contains("estimates start at zero"),
        "{}",
        d.log()
    );
}

/// A daemon with the short cycle and the fixed seed.
fn short_cycle(fs: &Bpffs, dir: &TempDir) -> Daemon {
    Daemon::host_with(
        dir.path(),
        fs.path(),
        &[
            "--duty-cycle".as_ref(),
            "100/400".as_ref(),
            "--duty-seed".as_ref(),
            "69".as_ref(),
        ],
    )
}

/// `mmaps` mmap calls of 64 KiB (and their munmaps) every 25 ms, 300
/// times: about 20 periods of the short cycle.
fn mmap_work(mmaps: u64) -> Workload {
    let mut w = Workload::new().wait();
    for _ in 0..300 {
        w = w.mmap(mmaps, 65536).sleep(1, 25);
    }
    w.wait()
}

/// The memsyscalls rows of both UIDs over the work between their waits,
/// counted after a reset.
fn mmap_rows(d: &Daemon, work: [(u32, &Workload); 2]) -> [BTreeMap<String, u64>; 2] {
    let [(a, wa), (b, wb)] = work;
    let (mut ra, mut rb) = (
        wa.start_as(Path::new(WORKLOAD), a),
        wb.start_as(Path::new(WORKLOAD), b),
    );
    ra.pause();
    rb.pause();
    assert_eq!(d.memstat(&["--reset"]).code, 0);
    run_both(&mut ra, &mut rb);
    // The period under way at the end is folded when it closes.
    std::thread::sleep(2 * PERIOD + Duration::from_millis(200));
    let rows = [
        d.group_metrics("memsyscalls", a),
        d.group_metrics("memsyscalls", b),
    ];
    ra.finish();
    rb.finish();
    rows
}

#[test]
fn a_known_split_of_mmap_bytes_lies_inside_the_intervals() {
    let Some(_k) = kernel("a_known_split_of_mmap_bytes_lies_inside_the_intervals") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("duty-mmap"));
    let d = short_cycle(&fs, &dir);
    let (state, detail) = probe_detail(&d, "memsyscalls");
    assert_eq!(state, "live", "{detail}");
    assert!(
        detail.contains("duty-cycled: attached 100 ms in every 400 ms at a random phase")
            && detail.contains("scaled by the time attached"),
        "{detail}"
    );
    let (a, b) = (69101, 69102);
    let (wa, wb) = (mmap_work(24), mmap_work(8));

    switch_groups(&d, &["memsyscalls"], "on");
    let exact = mmap_rows(&d, [(a, &wa), (b, &wb)]);
    for (e, n) in exact.iter().zip([24, 8]) {
        assert!(!e.keys().any(|k| k.ends_with(".ci95")), "{e:?}");
        assert_eq!(
            (e["mmap.calls"], e["mmap.bytes"]),
            (300 * n, 300 * n * 65536),
            "{e:?}"
        );
    }

    switch_groups(&d, &["memsyscalls"], "duty");
    let est = mmap_rows(&d, [(a, &wa), (b, &wb)]);
    for metric in ["mmap.calls", "mmap.bytes", "munmap.bytes"] {
        let name = format!("memsyscalls.{metric}");
        split_inside(&name, metric, [&exact[0], &exact[1]], [&est[0], &est[1]]);
    }
}

/// The known split of `metric` between two UIDs (their exact counts, from
/// the same work counted `=on`) lies inside the interval the two estimates'
/// 95% CIs allow for it, and each CI says something: not zero, nor twice
/// the truth. The split, not each estimate against its exact count: what
/// the windows see of all UIDs' work together is scaled to the period, so a
/// bias common to both (the windows of a short cycle on a busy 2-CPU machine
/// see more or less than their share of the period: printed below) cancels.
fn split_inside(
    name: &str,
    metric: &str,
    exact: [&BTreeMap<String, u64>; 2],
    est: [&BTreeMap<String, u64>; 2],
) {
    let truth = exact.map(|e| e[metric] as f64);
    let [(xa, ca), (xb, cb)] = est.map(|s| (s[metric] as f64, s[&format!("{metric}.ci95")] as f64));
    for ((x, ci), t) in [(xa, ca), (xb, cb)].into_iter().zip(truth) {
        eprintln!(
            "{name}: exact {t}, estimate {x} \u{b1} {ci} ({:+.1}%)",
            (x / t - 1.0) * 100.0
        );
        assert!(ci > 0.0 && ci < 2.0 * t, "{name}: CI {ci} for {t}");
    }
    let split = truth[0] / (truth[0] + truth[1]);
    let lo = (xa - ca).max(0.0) / ((xa - ca).max(0.0) + xb + cb);
    let hi = (xa + ca) / (xa + ca + (xb - cb).max(0.0));
    eprintln!(
        "{name}: split {split:.3}, estimated {:.3} in [{lo:.3}, {hi:.3}]",
        xa / (xa + xb)
    );
    assert!(
        (lo..=hi).contains(&split),
        "{name}: the known split {split:.3} is outside [{lo:.3}, {hi:.3}]"
    );
}

#[test]
fn duty_is_for_the_cycled_groups_only() {
    let Some(_k) = kernel("duty_is_for_the_cycled_groups_only") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("duty-only"));
    let d = Daemon::host(dir.path(), fs.path());
    let r = d.memstat(&["--probe", "reclaim=duty"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("the reclaim group has no duty cycle (only pagealloc, slab, memsyscalls)"),
        "{}",
        r.stderr
    );
}

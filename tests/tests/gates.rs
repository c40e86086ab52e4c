//! `--fail-if` on numbers that are not exact, end to end on the real kernel:
//! a gate reads an estimate's whole 95% interval and a bracket's whole
//! range. It fails where every value crosses, passes where none does, and
//! cannot tell (exit 1, `straddling[]`) where the interval lies on both
//! sides of its bound. The numbers are read from a diff of two snapshots, so
//! every gate below reads the same, fixed window.

use memstat_tests::{kernel, Bpffs, Daemon, TempDir, Workload};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const WORKLOAD: &str = env!("CARGO_BIN_EXE_workload");
const UID: u32 = 69501;
const METRIC: &str = "pagealloc.alloc_pages";

/// The change of `metric` of `UID` in the diff: (to, ci95 of the change).
fn change(diff: &Value, metric: &str) -> (u64, Option<u64>) {
    let changes = diff["uids"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["uid"] == UID))
        .map(|u| u["changes"].clone())
        .unwrap_or_else(|| panic!("no uid {UID} in {diff}"));
    let c = changes
        .as_array()
        .and_then(|a| a.iter().find(|c| c["metric"] == metric))
        .unwrap_or_else(|| panic!("no {metric} in {changes}"));
    (c["to"].as_u64().unwrap(), c["ci95"].as_u64())
}

/// `--diff start end --uid UID --fail-if GATE --json`: its exit status, and
/// how many crossings and straddles it listed.
fn gate(d: &Daemon, gate: &str) -> (i32, usize, usize) {
    let uid = UID.to_string();
    let r = d.memstat(&[
        "--diff",
        "start",
        "end",
        "--uid",
        &uid,
        "--fail-if",
        gate,
        "--json",
    ]);
    let j = r.json();
    let n = |k: &str| j[k].as_array().map_or(usize::MAX, Vec::len);
    (r.code, n("failed"), n("straddling"))
}

#[test]
fn a_gate_reads_the_whole_interval_of_an_estimate_and_a_bracket() {
    let Some(_k) = kernel("a_gate_reads_the_whole_interval_of_an_estimate_and_a_bracket") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("gates"));
    let d = Daemon::host_with(
        dir.path(),
        fs.path(),
        &[
            "--duty-cycle".as_ref(),
            "100/400".as_ref(),
            "--duty-seed".as_ref(),
            "11".as_ref(),
            "--app-memcg".as_ref(),
            "off".as_ref(),
        ],
    );
    assert_eq!(d.memstat(&["--reset"]).code, 0);
    assert_eq!(d.memstat(&["--snapshot", "start"]).code, 0);
    let mut w = Workload::new();
    for _ in 0..40 {
        w = w.touch(1024).sleep(1, 40);
    }
    // Held at a wait with its pages resident while a report walks /proc.
    let mut run = w.wait().start_as(Path::new(WORKLOAD), UID);
    run.pause();
    assert_eq!(d.memstat(&["--section", "rss"]).code, 0);
    run.finish();
    // The period under way at the end is folded when it closes.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(d.memstat(&["--snapshot", "end"]).code, 0);
    let diff = d
        .memstat(&[
            "--diff",
            "start",
            "end",
            "--uid",
            &UID.to_string(),
            "--json",
        ])
        .json();

    // Each group says what its numbers are, and a duty cycle's window.
    let report = d.memstat(&["--json", "--uid", &UID.to_string()]).json();
    let group = |name: &str| {
        report["memory"]
            .as_array()
            .and_then(|a| a.iter().find(|g| g["group"] == name))
            .unwrap_or_else(|| panic!("no {name} in {report}"))
            .clone()
    };
    assert_eq!(group("pagealloc")["numbers"], "estimates");
    assert_eq!(
        group("pagealloc")["duty"],
        serde_json::json!({"window_ms": 100, "period_ms": 400})
    );
    assert_eq!(group("rss")["numbers"], "exact, brackets");
    assert_eq!(group("faults")["numbers"], "exact");
    assert!(group("faults").get("duty").is_none());
    let text = d
        .memstat(&["--section", "pagealloc", "--uid", &UID.to_string()])
        .stdout;
    assert!(
        text.contains("(pagealloc: live, attached 0.1 s in every 0.4 s: estimates \u{b1} 95% CI)")
            && text
                .lines()
                .any(|l| l.contains(&UID.to_string()) && l.contains('\u{b1}')),
        "{text}"
    );

    // An estimate: value ± ci, the start's window being empty.
    let (v, ci) = change(&diff, METRIC);
    let ci = ci.unwrap_or_else(|| panic!("{METRIC} is not an estimate: {diff}"));
    assert!(v > 0 && ci > 0, "{METRIC}: {v} ± {ci}");
    let (lo, hi) = (v.saturating_sub(ci), v + ci);
    assert_eq!(gate(&d, &format!("{METRIC}>={lo}")), (1, 1, 0), "below");
    assert_eq!(gate(&d, &format!("{METRIC}>{v}")), (1, 0, 1), "inside");
    assert_eq!(gate(&d, &format!("{METRIC}>{hi}")), (0, 0, 0), "above");
    assert_eq!(
        gate(&d, &format!("{METRIC}<{}", hi + 1)),
        (1, 1, 0),
        "< above"
    );
    assert_eq!(gate(&d, &format!("{METRIC}>+{v}")), (1, 0, 1), "a change");

    // The text says which it could not tell, and shows the interval.
    let text = d.memstat(&[
        "--diff",
        "start",
        "end",
        "--uid",
        &UID.to_string(),
        "--fail-if",
        &format!("{METRIC}>{v}"),
    ]);
    assert_eq!(text.code, 1);
    assert!(
        text.stdout
            .contains("CANNOT TELL (an estimate's confidence interval")
            && text.stdout.contains(&format!("(compared: {lo} to {hi})")),
        "{}",
        text.stdout
    );

    // A bracket: the UID's peak RSS, between what a walk saw and what its
    // processes' high-water marks allow.
    let (hi, _) = change(&diff, "rss.peak.hi");
    let (lo, _) = change(&diff, "rss.peak.lo");
    assert!(0 < lo && lo <= hi, "rss.peak {lo}..{hi}");
    assert_eq!(gate(&d, &format!("rss.peak>={lo}")), (1, 1, 0));
    assert_eq!(gate(&d, &format!("rss.peak>{hi}")), (0, 0, 0));
    if lo < hi {
        assert_eq!(gate(&d, &format!("rss.peak>{lo}")), (1, 0, 1));
    }
    let refused = d.memstat(&["--fail-if", "rss.peak.hi>0"]);
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .stderr
            .contains("a threshold on \"rss.peak\" reads the whole interval"),
        "{}",
        refused.stderr
    );

    // No per-app memory cgroups read (--app-memcg off): a gate on their
    // numbers has nothing to check.
    let rss = d.memstat(&["--section", "rss", "--uid", &UID.to_string()]);
    assert!(
        rss.stdout.contains("PEAK HI") && !rss.stdout.contains("CHARGED"),
        "no column of dashes: {}",
        rss.stdout
    );
    let r = d.memstat(&["--fail-if", "rss.charged.total>0"]);
    assert_eq!(r.code, 4, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("no per-app memory cgroup numbers"),
        "{}",
        r.stderr
    );
}

//! Dump latency and memory of memstatd with 1,000 and then 10,000 active
//! UIDs. A private memstatd (host mode, its own bpffs, socket and state
//! directory) serves; the workload generator makes the UIDs active; each set
//! of dump arguments is requested several times over the socket, timed from
//! connect to the end of the response, and the median, p90 and max are
//! printed with the daemon's RSS, then compared with the targets.
//!
//! Usage: dump_bench [--requests N]   (as root; memstatd and workload must
//! be built next to it)

#[cfg(target_os = "android")]
fn main() {
    eprintln!("dump_bench is a host tool");
    std::process::exit(2);
}

#[cfg(not(target_os = "android"))]
fn main() -> std::process::ExitCode {
    match host::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dump_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_os = "android"))]
mod host {
    use memstat_tests::{workspace_bin, Bpffs, Daemon, TempDir};
    use memstatd::system::status_kb;
    use memstatd::transport::protocol::Status;
    use memstatd::transport::socket::request;
    use std::path::Path;
    use std::process::Command;
    use std::time::Instant;

    /// Active UIDs to measure at, each with its dump-latency target in ms.
    const SIZES: [(u32, f64); 2] = [(1_000, 50.0), (10_000, 250.0)];
    /// Daemon RSS target in bytes (10 MB).
    const RSS_TARGET: u64 = 10_000_000;
    /// Far above any real user or app UID, so the benchmark's UIDs are its own.
    const FIRST_UID: u32 = 2_000_000;
    const ARG_SETS: [&[&str]; 4] = [&[], &["-a"], &["--json"], &["--top", "20"]];

    /// VmRSS and VmHWM of `pid`, in bytes.
    fn memory(pid: u32) -> Result<(u64, u64), String> {
        let path = format!("/proc/{pid}/status");
        let status =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let field = |name| {
            status_kb(&status, name)
                .map(|kb| kb * 1024)
                .ok_or_else(|| format!("{path} has no {name} line"))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    fn mb(bytes: u64) -> f64 {
        bytes as f64 / 1e6
    }

    struct Timing {
        median: f64,
        p90: f64,
        max: f64,
        bytes: usize,
    }

    /// Runs `requests` dumps with `args`; times in ms. Also returns the
    /// last output, for the sanity check of the JSON one.
    fn time_dumps(
        socket: &Path,
        args: &[&str],
        requests: usize,
    ) -> Result<(Timing, Vec<u8>), String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut out = Vec::new();
        let mut ms = Vec::with_capacity(requests);
        for _ in 0..requests {
            out.clear();
            let start = Instant::now();
            let (status, message) =
                request(socket, &args, &mut out).map_err(|e| format!("dump {args:?}: {e}"))?;
            ms.push(start.elapsed().as_secs_f64() * 1e3);
            if status != Status::Ok {
                return Err(format!("dump {args:?} answered {status:?}: {message}"));
            }
        }
        ms.sort_by(f64::total_cmp);
        let mid = ms.len() / 2;
        let median = if ms.len() % 2 == 0 {
            (ms[mid - 1] + ms[mid]) / 2.0
        } else {
            ms[mid]
        };
        // Nearest rank.
        let p90 = ms[(ms.len() * 9).div_ceil(10) - 1];
        let timing = Timing {
            median,
            p90,
            max: ms[ms.len() - 1],
            bytes: out.len(),
        };
        Ok((timing, out))
    }

    /// UID rows in a JSON report.
    fn json_uid_rows(json: &[u8]) -> Result<usize, String> {
        let report: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| format!("the JSON report: {e}"))?;
        Ok(report["uids"].as_array().map_or(0, Vec::len))
    }

    fn requests_arg() -> Result<usize, String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        match args.as_slice() {
            [] => Ok(20),
            [flag, n] if flag == "--requests" => n
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("--requests needs a positive number, not {n:?}")),
            _ => Err(format!(
                "unknown arguments {args:?}; usage: dump_bench [--requests N]"
            )),
        }
    }

    pub fn run() -> Result<(), String> {
        let requests = requests_arg()?;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("needs root (BPF, tracefs, setresuid)".into());
        }
        let fs = Bpffs::new()?;
        let tmp = TempDir::new("dump-bench");
        let mut daemon = Daemon::host(tmp.path(), &fs.path().join("memstat"));
        let summary = measure(
            &daemon,
            &workspace_bin("workload"),
            &daemon.socket,
            requests,
        )?;
        let status = daemon.stop();
        if !status.success() {
            return Err(format!(
                "memstatd did not stop cleanly on SIGTERM: {status}"
            ));
        }
        println!("{summary}memstatd stopped on SIGTERM: {status}");
        Ok(())
    }

    /// Runs every size; returns the summary to print after the daemon stopped.
    fn measure(
        daemon: &Daemon,
        workload: &Path,
        socket: &Path,
        requests: usize,
    ) -> Result<String, String> {
        println!(
            "memstatd pid {}, {requests} requests per argument set; \
             times from connect to the end of the response; MB = 10^6 bytes",
            daemon.pid()
        );
        let mut summary = String::from("\nsummary (slowest median of the argument sets)\n");
        let mut active = 0;
        for (total, target) in SIZES {
            // Top up to `total`: the UIDs of earlier sizes stay in the table.
            let first = FIRST_UID + active;
            let n = total - active;
            let status = Command::new(workload)
                .arg(format!("uids:{first}:{n}"))
                .status()
                .map_err(|e| format!("cannot start {}: {e}", workload.display()))?;
            if !status.success() {
                return Err(format!("workload uids:{first}:{n} failed: {status}"));
            }
            active = total;
            println!(
                "\n{total} active UIDs from the workload ({FIRST_UID}..={}), \
                 one (UID, syscall) entry each",
                FIRST_UID + total - 1
            );
            println!(
                "{:<12} {:>10} {:>10} {:>10} {:>14}",
                "arguments", "median ms", "p90 ms", "max ms", "output bytes"
            );
            let mut slowest = (0.0, String::new());
            for args in ARG_SETS {
                let (t, out) = time_dumps(socket, args, requests)?;
                let label = if args.is_empty() {
                    "(default)".to_string()
                } else {
                    args.join(" ")
                };
                println!(
                    "{label:<12} {:>10.2} {:>10.2} {:>10.2} {:>14}",
                    t.median, t.p90, t.max, t.bytes
                );
                if args == ["--json"] {
                    let rows = json_uid_rows(&out)?;
                    if rows < total as usize {
                        return Err(format!(
                            "the JSON report has {rows} UIDs, fewer than the {total} the \
                             workload made active: the daemon is not counting them"
                        ));
                    }
                    println!(
                        "  (the JSON report holds {rows} UIDs, the workload's and the system's)"
                    );
                }
                if t.median > slowest.0 {
                    slowest = (t.median, label);
                }
            }
            let (rss, hwm) = memory(daemon.pid())?;
            println!("memstatd VmRSS {:.1} MB, VmHWM {:.1} MB", mb(rss), mb(hwm));
            summary += &format!(
                "{total} UIDs: {:.1} ms median ({}), target {target} ms, {:.2} of target\n",
                slowest.0,
                slowest.1,
                slowest.0 / target
            );
        }
        let (_, hwm) = memory(daemon.pid())?;
        summary += &format!(
            "memstatd peak RSS (VmHWM): {:.1} MB, target {} MB, {:.2} of target\n",
            mb(hwm),
            RSS_TARGET / 1_000_000,
            hwm as f64 / RSS_TARGET as f64
        );
        Ok(summary)
    }
}

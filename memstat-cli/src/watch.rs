//! `--watch SECONDS`: a top-like view. Each interval it asks memstatd for
//! the per-UID JSON and shows what changed since the last one: syscalls and
//! errors, their rates per second, and the interval's top syscalls.

use crate::daemon::Daemon;
use memstatd::transport::protocol::Status;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

pub struct Watch {
    interval: Duration,
    count: Option<u64>,
    /// `--uid` arguments, passed on to the daemon.
    uid_args: Vec<String>,
    top: usize,
    sort: Sort,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    Syscalls,
    Errors,
    Uid,
}

impl Sort {
    fn parse(v: &str) -> Result<Self, String> {
        match v {
            "syscalls" => Ok(Sort::Syscalls),
            "errors" => Ok(Sort::Errors),
            "uid" => Ok(Sort::Uid),
            _ => Err(format!(
                "--sort: {v:?} is not a column of --watch; valid: syscalls, errors, uid"
            )),
        }
    }
}

/// The fields of the `memstat/1` report the view uses.
#[derive(Deserialize)]
struct Report {
    schema: String,
    header: Header,
    /// Absent when the syscall group is unavailable.
    #[serde(default)]
    uids: Vec<Uid>,
    /// Why the syscall group is unavailable.
    #[serde(default)]
    syscalls_unavailable: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    generated_ms: u64,
    generation: Generation,
}

#[derive(Deserialize, PartialEq)]
struct Generation {
    id: u64,
    started_ms: u64,
}

#[derive(Deserialize)]
struct Uid {
    uid: u32,
    name: Option<String>,
    syscalls: u64,
    errors: u64,
    calls: Vec<Call>,
}

#[derive(Deserialize)]
struct Call {
    name: String,
    count: u64,
}

/// One UID's change over an interval.
struct Row {
    uid: u32,
    name: String,
    syscalls: u64,
    errors: u64,
    top: Vec<(String, u64)>,
}

type Failure = (Status, String);

impl Watch {
    pub fn new(seconds: f64, count: Option<u64>, args: &[String]) -> Result<Self, String> {
        let mut w = Watch {
            interval: Duration::from_secs_f64(seconds),
            count,
            uid_args: Vec::new(),
            top: 20,
            sort: Sort::Syscalls,
        };
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) => (f, Some(v.to_owned())),
                None => (arg.as_str(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| it.next().cloned())
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag {
                "--uid" => {
                    w.uid_args.push("--uid".into());
                    w.uid_args.push(value()?);
                }
                "--top" => {
                    let v = value()?;
                    w.top = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        format!("--top: {v:?} is not a number of UIDs (1 or more)")
                    })?;
                }
                "--sort" => w.sort = Sort::parse(&value()?)?,
                _ => {
                    return Err(format!(
                        "--watch takes only --uid, --top and --sort, not {arg:?}"
                    ))
                }
            }
        }
        Ok(w)
    }

    fn sample(&self, daemon: &Daemon) -> Result<Report, Failure> {
        let mut args: Vec<String> = ["--json", "--section", "header,uids"]
            .map(String::from)
            .to_vec();
        args.extend(self.uid_args.iter().cloned());
        let mut body = Vec::new();
        let (status, message) = daemon.request(&args, &mut body)?;
        if status != Status::Ok {
            return Err((status, message));
        }
        let report: Report = serde_json::from_slice(&body).map_err(|e| {
            (
                Status::Failed,
                format!("memstatd sent a report this memstat cannot read: {e}"),
            )
        })?;
        if report.schema != memstatd::report::model::SCHEMA {
            return Err((
                Status::Failed,
                format!(
                    "memstatd speaks schema {}, this memstat {}: use the memstat of the same build",
                    report.schema,
                    memstatd::report::model::SCHEMA
                ),
            ));
        }
        if let Some(why) = report.syscalls_unavailable {
            return Err((
                Status::Failed,
                format!("--watch shows syscalls, and the syscalls group is unavailable: {why}"),
            ));
        }
        Ok(report)
    }

    pub fn run(&self, daemon: &Daemon) -> Result<(), Failure> {
        let tty = std::io::stdout().is_terminal();
        let mut previous = self.sample(daemon)?;
        let mut drawn = 0;
        while self.count.is_none_or(|n| drawn < n) {
            std::thread::sleep(self.interval);
            let current = self.sample(daemon)?;
            let frame = self.frame(&previous, &current);
            let mut out = std::io::stdout().lock();
            let shown = if tty {
                write!(out, "\x1b[H\x1b[2J{frame}")
            } else {
                writeln!(out, "{frame}")
            };
            if shown.and_then(|()| out.flush()).is_err() {
                return Ok(()); // stdout closed (e.g. piped to head): done
            }
            previous = current;
            drawn += 1;
        }
        Ok(())
    }

    fn frame(&self, before: &Report, now: &Report) -> String {
        // After a reset the counters start again: the interval is then
        // measured from the new generation's start.
        let reset = before.header.generation != now.header.generation;
        let since = if reset {
            now.header.generation.started_ms
        } else {
            before.header.generated_ms
        };
        let secs = (now.header.generated_ms.saturating_sub(since) as f64 / 1000.0).max(0.001);
        let old: HashMap<u32, &Uid> = if reset {
            HashMap::new()
        } else {
            before.uids.iter().map(|u| (u.uid, u)).collect()
        };
        let mut rows: Vec<Row> = now
            .uids
            .iter()
            .filter_map(|u| delta(u, old.get(&u.uid).copied()))
            .collect();
        match self.sort {
            Sort::Syscalls => {
                rows.sort_by(|a, b| b.syscalls.cmp(&a.syscalls).then(a.uid.cmp(&b.uid)))
            }
            Sort::Errors => rows.sort_by(|a, b| b.errors.cmp(&a.errors).then(a.uid.cmp(&b.uid))),
            Sort::Uid => rows.sort_by_key(|r| r.uid),
        }
        let active = rows.len();
        rows.truncate(self.top);
        let total: u64 = rows.iter().map(|r| r.syscalls).sum();
        let mut s = format!(
            "memstat --watch: interval {secs:.1}s, generation {}{}, {active} UIDs active, \
             {:.0} syscalls/s in the rows below\n",
            now.header.generation.id,
            if reset {
                " (reset during the interval)"
            } else {
                ""
            },
            total as f64 / secs
        );
        s += &format!(
            "{:>10}  {:<16} {:>12} {:>10} {:>12} {:>10}  TOP SYSCALLS\n",
            "UID", "NAME", "SYSCALLS/s", "ERRORS/s", "SYSCALLS", "ERRORS"
        );
        for r in &rows {
            let top: Vec<String> = r.top.iter().map(|(n, c)| format!("{n} {c}")).collect();
            s += &format!(
                "{:>10}  {:<16} {:>12.1} {:>10.1} {:>12} {:>10}  {}\n",
                r.uid,
                r.name,
                r.syscalls as f64 / secs,
                r.errors as f64 / secs,
                r.syscalls,
                r.errors,
                top.join(", ")
            );
        }
        s
    }
}

/// The change of one UID since `before`; `None` when nothing changed.
fn delta(now: &Uid, before: Option<&Uid>) -> Option<Row> {
    let (syscalls, errors) = match before {
        Some(b) => (
            now.syscalls.saturating_sub(b.syscalls),
            now.errors.saturating_sub(b.errors),
        ),
        None => (now.syscalls, now.errors),
    };
    if syscalls == 0 {
        return None;
    }
    let old: HashMap<&str, u64> = before
        .map(|b| b.calls.iter().map(|c| (c.name.as_str(), c.count)).collect())
        .unwrap_or_default();
    let mut top: Vec<(String, u64)> = now
        .calls
        .iter()
        .map(|c| {
            let was = old.get(c.name.as_str()).copied().unwrap_or(0);
            (c.name.clone(), c.count.saturating_sub(was))
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(3);
    Some(Row {
        uid: now.uid,
        name: now.name.clone().unwrap_or_else(|| "-".into()),
        syscalls,
        errors,
        top,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(uid: u32, calls: &[(&str, u64)], errors: u64) -> Uid {
        Uid {
            uid,
            name: None,
            syscalls: calls.iter().map(|c| c.1).sum(),
            errors,
            calls: calls
                .iter()
                .map(|&(name, count)| Call {
                    name: name.into(),
                    count,
                })
                .collect(),
        }
    }

    fn report(ms: u64, generation: u64, uids: Vec<Uid>) -> Report {
        Report {
            schema: "memstat/1".into(),
            header: Header {
                generated_ms: ms,
                generation: Generation {
                    id: generation,
                    started_ms: generation * 100,
                },
            },
            uids,
            syscalls_unavailable: None,
        }
    }

    #[test]
    fn frames_show_interval_deltas_and_rates() {
        let w = Watch::new(2.0, None, &[]).unwrap();
        let before = report(1_000, 1, vec![uid(7, &[("getppid", 100), ("read", 50)], 1)]);
        let now = report(
            3_000,
            1,
            vec![
                uid(7, &[("getppid", 300), ("read", 50)], 5),
                uid(8, &[("fchdir", 10)], 10),
            ],
        );
        let f = w.frame(&before, &now);
        let line7 = f
            .lines()
            .find(|l| l.trim_start().starts_with("7 "))
            .unwrap();
        // 200 getppid calls over 2 s; 4 new errors.
        assert!(
            line7.contains("100.0") && line7.contains("200") && line7.contains("getppid 200"),
            "{f}"
        );
        assert!(!line7.contains("read"), "read did not change: {f}");
        let line8 = f
            .lines()
            .find(|l| l.trim_start().starts_with("8 "))
            .unwrap();
        assert!(line8.contains("fchdir 10"), "{f}");
        assert!(f.contains("2 UIDs active"), "{f}");
    }

    #[test]
    fn a_reset_measures_from_the_new_generation() {
        let w = Watch::new(1.0, None, &[]).unwrap();
        let before = report(0, 1, vec![uid(7, &[("getppid", 1000)], 0)]);
        // Generation 2 started at 200 ms: 30 calls in the 0.8 s since.
        let now = report(1_000, 2, vec![uid(7, &[("getppid", 30)], 0)]);
        let f = w.frame(&before, &now);
        assert!(f.contains("reset during the interval"), "{f}");
        assert!(f.contains("getppid 30"), "{f}");
        assert!(f.contains("37.5"), "30 calls / 0.8 s: {f}");
    }

    #[test]
    fn only_view_options_are_taken() {
        let e = Watch::new(1.0, None, &["--json".into()]).err().unwrap();
        assert!(
            e.contains("--watch takes only --uid, --top and --sort"),
            "{e}"
        );
        assert!(Watch::new(1.0, None, &["--sort".into(), "p99".into()]).is_err());
    }
}

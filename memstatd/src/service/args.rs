//! The dump arguments, dumpsys style: what `memstat ARGS`, `dumpsys memstat
//! ARGS` and bugreports (`-a`) pass. Every error names the argument and the
//! valid choices.

use crate::probes::memory::{self, GroupMode};
use crate::report::model::{Section, SORT_COLUMNS};
use crate::stats::metrics::Threshold;

/// The dump arguments' help (`-h`): what every output path accepts. The CLI
/// prints it before its own options.
pub const USAGE: &str = "\
usage: memstat [OPTIONS]
Per-UID syscall and memory statistics from memstatd.

Report (the default):
  -a                     everything: every section, every UID
  --uid U[,U...]         only these UIDs (shown even when idle); repeatable
  --top N                at most N UIDs
  --sort COLUMN          syscalls (default), errors, uid, name, p50, p90, p99
  --section NAME[,NAME]  only these sections; repeatable:
                         header, probes, uids, syscalls, latency, overflow,
                         faults, pagealloc, slab, extfrag, reclaim,
                         compaction, oom, rss, memsyscalls, system, advice,
                         self
  --json                 JSON (schema memstat/1, see docs/json.md)
  --fail-if 'M OP V'     fail (exit 1) when a UID's metric M crosses V, or
                         when counts of M went to a bucket of no UID;
                         OP is > >= < <=; V is a number, or with --diff +N/-N
                         (change) or +N%/-N% (change in percent); repeatable;
                         e.g. --fail-if 'syscalls.errors>+5%'

Windows, snapshots and diffs (a window runs from the last reset to now):
  --reset                start a new generation: counting from now on
  --snapshot NAME        save the current window as NAME (replaces NAME)
  --diff NAME [NAME2]    per-UID changes from snapshot NAME to NAME2 (or now)
  --list-snapshots       list the saved snapshots
  --delete-snapshot NAME delete a snapshot

Latency and memory probe groups:
  --latency on|off       time every syscall per UID (costs one more program
                         run per syscall while on)
  --probe GROUP=MODE     switch a memory group: on, off, or 1/N to count one
                         event in N, as N (faults, pagealloc, slab, extfrag,
                         rss), or duty (pagealloc, slab and memsyscalls, the
                         default: attached part of the time, estimates with a
                         95% CI);
                         the groups and their costs are in the README

  -h, --help             this text
";

/// What a dump does.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Command {
    Help,
    Report,
    Reset,
    Snapshot(String),
    Diff {
        from: String,
        to: Option<String>,
    },
    ListSnapshots,
    DeleteSnapshot(String),
    Latency(bool),
    Probe {
        group: &'static str,
        mode: GroupMode,
    },
}

impl Command {
    fn flag(&self) -> &'static str {
        match self {
            Command::Help => "-h",
            Command::Report => "",
            Command::Reset => "--reset",
            Command::Snapshot(_) => "--snapshot",
            Command::Diff { .. } => "--diff",
            Command::ListSnapshots => "--list-snapshots",
            Command::DeleteSnapshot(_) => "--delete-snapshot",
            Command::Latency(_) => "--latency",
            Command::Probe { .. } => "--probe",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Args {
    pub(crate) command: Command,
    pub(crate) all: bool,
    pub(crate) uids: Vec<u32>,
    pub(crate) top: Option<usize>,
    pub(crate) sort: &'static str,
    /// Empty: the default sections (or all with `-a`).
    pub(crate) sections: Vec<Section>,
    pub(crate) json: bool,
    pub(crate) fail_if: Vec<Threshold>,
}

impl Args {
    /// The sections to show, in print order.
    pub(crate) fn sections(&self) -> Vec<Section> {
        let mut s = if !self.sections.is_empty() {
            self.sections.clone()
        } else if self.all {
            Section::all()
        } else {
            Section::defaults()
        };
        s.sort();
        s.dedup();
        s
    }
}

const OPTIONS: &str = "-h, -a, --uid, --top, --sort, --section, --json, --fail-if, --reset, \
                       --snapshot, --diff, --list-snapshots, --delete-snapshot, --latency, --probe";

/// `--fail-if` thresholds one request may check.
const MAX_THRESHOLDS: usize = 32;

/// Upper bound of `--top`: no report has more UIDs than this.
const MAX_TOP: usize = 1 << 20;

pub(crate) fn parse(args: &[String]) -> Result<Args, String> {
    let mut out = Args {
        command: Command::Report,
        all: false,
        uids: Vec::new(),
        top: None,
        sort: "syscalls",
        sections: Vec::new(),
        json: false,
        fail_if: Vec::new(),
    };
    let mut sort_given = false;
    let mut it = args.iter().map(String::as_str).peekable();
    while let Some(arg) = it.next() {
        // `--opt=value` is `--opt value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (arg, None),
        };
        let mut value = |what: &str| -> Result<&str, String> {
            match inline {
                Some(v) => Ok(v),
                None => it
                    .next_if(|v| !v.starts_with("--"))
                    .ok_or_else(|| format!("{flag} needs {what}")),
            }
        };
        let mut command = |c: Command| -> Result<(), String> {
            if out.command != Command::Report {
                return Err(format!(
                    "{} and {} cannot be combined: give one of them",
                    out.command.flag(),
                    c.flag()
                ));
            }
            out.command = c;
            Ok(())
        };
        match flag {
            "-h" | "--help" => command(Command::Help)?,
            "-a" => out.all = true,
            "--json" => out.json = true,
            "--uid" => {
                for u in value("a UID list, e.g. --uid 10123,10124")?.split(',') {
                    let uid = u.trim().parse().map_err(|_| {
                        format!("--uid: {u:?} is not a UID (a number from 0 to 4294967295)")
                    })?;
                    out.uids.push(uid);
                }
            }
            "--top" => {
                let v = value("a number of UIDs")?;
                out.top = Some(
                    v.parse()
                        .ok()
                        .filter(|n| (1..=MAX_TOP).contains(n))
                        .ok_or_else(|| {
                            format!("--top: {v:?} is not a number from 1 to {MAX_TOP}")
                        })?,
                );
            }
            "--sort" => {
                let v = value("a column")?;
                out.sort = SORT_COLUMNS.into_iter().find(|c| *c == v).ok_or_else(|| {
                    format!(
                        "--sort: unknown column {v:?}; valid: {}",
                        SORT_COLUMNS.join(", ")
                    )
                })?;
                sort_given = true;
            }
            "--section" => {
                for name in value("a section name")?.split(',') {
                    let s = Section::parse(name.trim()).ok_or_else(|| {
                        let valid: Vec<&str> = Section::all().iter().map(|s| s.name()).collect();
                        format!(
                            "--section: unknown section {name:?}; valid: {}",
                            valid.join(", ")
                        )
                    })?;
                    out.sections.push(s);
                }
            }
            "--fail-if" => out.fail_if.push(Threshold::parse(value(
                "a threshold, e.g. 'syscalls.errors>+5%'",
            )?)?),
            "--reset" => command(Command::Reset)?,
            "--snapshot" => command(Command::Snapshot(value("a snapshot name")?.to_owned()))?,
            "--diff" => {
                let from = value("a snapshot name")?.to_owned();
                let to = match inline {
                    Some(_) => None,
                    None => it.next_if(|v| !v.starts_with('-')).map(str::to_owned),
                };
                command(Command::Diff { from, to })?
            }
            "--list-snapshots" => command(Command::ListSnapshots)?,
            "--delete-snapshot" => command(Command::DeleteSnapshot(
                value("a snapshot name")?.to_owned(),
            ))?,
            "--latency" => {
                let on = match value("on or off")? {
                    "on" => true,
                    "off" => false,
                    v => return Err(format!("--latency: {v:?} is not on or off")),
                };
                command(Command::Latency(on))?
            }
            "--probe" => {
                let v = value("GROUP=MODE")?;
                let (name, mode) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--probe: {v:?} is not GROUP=MODE (e.g. slab=on)"))?;
                let group = memory::spec(name).ok_or_else(|| {
                    format!(
                        "--probe: unknown group {name:?}; valid: {}",
                        memory::GROUPS.map(|g| g.name).join(", ")
                    )
                })?;
                let mode = GroupMode::parse(mode).map_err(|e| format!("--probe: {e}"))?;
                command(Command::Probe {
                    group: group.name,
                    mode,
                })?
            }
            "--proto" => return Err("--proto: protobuf output is not supported; use --json".into()),
            _ => {
                return Err(format!(
                    "unknown argument {arg:?}; valid: {OPTIONS} (-h explains them)"
                ))
            }
        }
    }
    out.uids.sort_unstable();
    out.uids.dedup();
    let mut seen = Vec::new();
    out.fail_if.retain(|t| {
        let new = !seen.contains(&t.text);
        seen.push(t.text.clone());
        new
    });
    if out.fail_if.len() > MAX_THRESHOLDS {
        return Err(format!(
            "--fail-if: {} thresholds; at most {MAX_THRESHOLDS} are checked at once",
            out.fail_if.len()
        ));
    }
    check_combinations(&out, sort_given)?;
    Ok(out)
}

fn check_combinations(a: &Args, sort_given: bool) -> Result<(), String> {
    let is_diff = matches!(a.command, Command::Diff { .. });
    let is_view = is_diff || a.command == Command::Report;
    if !is_view {
        let extra = [
            (!a.uids.is_empty(), "--uid"),
            (a.top.is_some(), "--top"),
            (sort_given, "--sort"),
            (!a.sections.is_empty(), "--section"),
            (!a.fail_if.is_empty(), "--fail-if"),
        ];
        if let Some((_, flag)) = extra.iter().find(|(given, _)| *given) {
            return Err(format!(
                "{flag} does not apply to {}: use it with a report or --diff",
                a.command.flag()
            ));
        }
    }
    if is_diff && !a.sections.is_empty() {
        return Err("--section does not apply to --diff: a diff has one table".into());
    }
    if !is_diff {
        if let Some(t) = a.fail_if.iter().find(|t| t.is_relative()) {
            return Err(format!(
                "--fail-if '{t}' compares two sides: use it with --diff, or give a plain value"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Args, String> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn defaults_and_dumpsys_flags() {
        let a = p(&[]).unwrap();
        assert_eq!(a.command, Command::Report);
        assert_eq!(a.sections(), Section::defaults());
        assert_eq!(p(&["-a"]).unwrap().sections(), Section::all());
        assert_eq!(p(&["-h"]).unwrap().command, Command::Help);
    }

    #[test]
    fn report_options() {
        let a = p(&[
            "--uid",
            "61001,61002",
            "--uid=7",
            "--top",
            "5",
            "--sort",
            "errors",
            "--section",
            "uids,self",
            "--section",
            "header",
            "--json",
            "--fail-if",
            "syscalls.errors>10",
        ])
        .unwrap();
        assert_eq!(a.uids, [7, 61001, 61002], "sorted");
        assert_eq!(a.top, Some(5));
        assert_eq!(a.sort, "errors");
        assert_eq!(
            a.sections(),
            [Section::Header, Section::Uids, Section::Daemon]
        );
        assert!(a.json);
        assert_eq!(a.fail_if.len(), 1);
    }

    #[test]
    fn lists_are_deduplicated_and_bounded() {
        let a = p(&["--uid", "5,5,3", "--uid", "3"]).unwrap();
        assert_eq!(a.uids, [3, 5]);
        let t = ["--fail-if", "syscalls.count>1"];
        assert_eq!(p(&[t, t].concat()).unwrap().fail_if.len(), 1);
        let many: Vec<String> = (0..=MAX_THRESHOLDS)
            .flat_map(|i| ["--fail-if".to_string(), format!("syscalls.count>{i}")])
            .collect();
        let e = parse(&many).unwrap_err();
        assert!(e.contains("at most 32"), "{e}");
    }

    #[test]
    fn commands() {
        assert_eq!(p(&["--reset"]).unwrap().command, Command::Reset);
        assert_eq!(
            p(&["--diff", "a", "b", "--json"]).unwrap().command,
            Command::Diff {
                from: "a".into(),
                to: Some("b".into())
            }
        );
        let d = p(&["--diff", "a", "--fail-if", "syscalls.count>+5%"]).unwrap();
        assert_eq!(
            d.command,
            Command::Diff {
                from: "a".into(),
                to: None
            }
        );
        assert_eq!(
            p(&["--latency", "on"]).unwrap().command,
            Command::Latency(true)
        );
        assert_eq!(
            p(&["--probe", "slab=1/8"]).unwrap().command,
            Command::Probe {
                group: "slab",
                mode: GroupMode::On { sample_every: 8 }
            }
        );
        assert_eq!(
            p(&["--snapshot=base"]).unwrap().command,
            Command::Snapshot("base".into())
        );
    }

    #[test]
    fn errors_name_the_argument_and_the_choices() {
        for (args, says) in [
            (
                &["--bogus"][..],
                "unknown argument \"--bogus\"; valid: -h, -a, --uid",
            ),
            (&["--uid", "abc"], "--uid: \"abc\" is not a UID"),
            (&["--uid"], "--uid needs a UID list"),
            (&["--top", "0"], "--top: \"0\" is not a number from 1"),
            (
                &["--sort", "size"],
                "--sort: unknown column \"size\"; valid: syscalls, errors",
            ),
            (
                &["--section", "nope"],
                "--section: unknown section \"nope\"; valid: header",
            ),
            (
                &["--reset", "--snapshot", "x"],
                "--reset and --snapshot cannot be combined",
            ),
            (
                &["--reset", "--uid", "1"],
                "--uid does not apply to --reset",
            ),
            (
                &["--fail-if", "syscalls.errors>+5%"],
                "compares two sides: use it with --diff",
            ),
            (
                &["--latency", "maybe"],
                "--latency: \"maybe\" is not on or off",
            ),
            (&["--probe", "slab"], "--probe: \"slab\" is not GROUP=MODE"),
            (
                &["--probe", "heap=on"],
                "--probe: unknown group \"heap\"; valid: faults",
            ),
            (
                &["--probe", "slab=1/0"],
                "--probe: bad mode \"1/0\": use on, off, or 1/N",
            ),
            (&["--proto"], "use --json"),
            (
                &["--diff", "a", "--section", "uids"],
                "--section does not apply to --diff",
            ),
            (&["--fail-if", "bad>1"], "unknown metric \"bad\""),
        ] {
            let e = p(args).unwrap_err();
            assert!(e.contains(says), "{args:?}: {e}");
        }
    }
}

//! IMemStat's methods, and the binder dump, on the service core: the dump
//! arguments each call amounts to, and how the outcome becomes AIDL's result
//! or exception. The binder glue only reads a call's arguments, works out
//! the caller and writes this back.

use super::aidl::memstat::DumpResult::DumpResult;
use super::aidl::memstat::IMemStat::{self as interface, MAX_UIDS};
use super::aidl::memstat::SystemStats::SystemStats;
use super::aidl::memstat::UidStats::UidStats;
use super::convert;
use super::dump_fd::DumpFd;
use super::protocol::{self, Status};
use crate::service::{Caller, DumpError, Outcome, Service};
use std::ffi::CStr;
use std::io::{self, Write};
use std::os::fd::BorrowedFd;
use std::time::Duration;

/// How a typed call fails: the AIDL exception and its message.
#[derive(Debug, PartialEq, Eq)]
pub enum Exception {
    /// SecurityException: the caller may not do this.
    Security(String),
    /// IllegalArgumentException: the message names the argument.
    IllegalArgument(String),
    /// IllegalStateException: memstatd could not do it.
    IllegalState(String),
}

impl From<DumpError> for Exception {
    fn from(e: DumpError) -> Self {
        match e {
            DumpError::Usage(m) => Exception::IllegalArgument(m),
            e @ DumpError::Denied(_) => Exception::Security(e.to_string()),
            DumpError::Failed(m) => Exception::IllegalState(m),
            // Typed calls render into memory; this would be a bug, not the caller's.
            DumpError::Output(e) => {
                Exception::IllegalState(format!("memstatd lost its answer: {e}"))
            }
        }
    }
}

/// `getUidStats(in int[] uids)`.
pub fn uid_stats(
    service: &Service,
    uids: &[i32],
    caller: Caller,
) -> Result<Vec<UidStats>, Exception> {
    if uids.len() > MAX_UIDS as usize {
        return Err(Exception::IllegalArgument(format!(
            "{} UIDs asked for; getUidStats takes at most {MAX_UIDS} (IMemStat.MAX_UIDS): \
             ask in several calls",
            uids.len()
        )));
    }
    if let Some(bad) = uids.iter().find(|&&u| u < 0) {
        return Err(Exception::IllegalArgument(format!(
            "uid {bad} is not a UID: UIDs are 0 to {}",
            i32::MAX
        )));
    }
    let mut args = vec![
        "--section".to_owned(),
        "uids".to_owned(),
        "--top".to_owned(),
        MAX_UIDS.to_string(),
    ];
    if !uids.is_empty() {
        let list: Vec<String> = uids.iter().map(i32::to_string).collect();
        args.extend(["--uid".to_owned(), list.join(",")]);
    }
    let report = service.report_model(&args, caller)?;
    // Without the syscall group there are no rows to give, not rows of zeros.
    if let Some(why) = report.syscalls_unavailable {
        return Err(Exception::IllegalState(why));
    }
    Ok(report
        .uids
        .unwrap_or_default()
        .iter()
        .map(convert::uid_stats)
        .collect())
}

/// `getSystemStats()`.
pub fn system_stats(service: &Service, caller: Caller) -> Result<SystemStats, Exception> {
    let args = ["--section".to_owned(), "header,overflow,system".to_owned()];
    let report = service.report_model(&args, caller)?;
    Ok(convert::system_stats(&report))
}

/// `reset()`: the new generation's id.
pub fn reset(service: &Service, caller: Caller) -> Result<i64, Exception> {
    let answer = action(
        service,
        &["--reset".to_owned(), "--json".to_owned()],
        caller,
    )?;
    serde_json::from_slice::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v["generation"]["id"].as_i64())
        .ok_or_else(|| {
            Exception::IllegalState(format!(
                "the reset was done, but its answer names no generation: {}",
                String::from_utf8_lossy(&answer)
            ))
        })
}

/// `snapshot(String name)`.
pub fn snapshot(service: &Service, name: &str, caller: Caller) -> Result<(), Exception> {
    // `--snapshot=NAME`: a name starting with `--` stays the name.
    action(service, &[format!("--snapshot={name}")], caller).map(drop)
}

/// Runs an action through the one dump path and keeps its answer.
fn action(service: &Service, args: &[String], caller: Caller) -> Result<Vec<u8>, Exception> {
    let mut answer = Vec::new();
    match service.dump(&mut answer, args, caller)? {
        Outcome::Done => Ok(answer),
        Outcome::ThresholdCrossed => Err(Exception::IllegalState(
            "an action crossed a --fail-if threshold: actions take none".into(),
        )),
    }
}

// DumpResult.status is a `Status` as IMemStat's STATUS_* constants number them.
const _: () = assert!(
    interface::STATUS_OK == Status::Ok as i32
        && interface::STATUS_THRESHOLD_CROSSED == Status::ThresholdCrossed as i32
        && interface::STATUS_USAGE == Status::Usage as i32
        && interface::STATUS_DENIED == Status::Denied as i32
        && interface::STATUS_FAILED == Status::Failed as i32
        && interface::STATUS_UNAVAILABLE == Status::Unavailable as i32
);

/// `dumpTo(in ParcelFileDescriptor fd, in String[] args)`: the dump written
/// to `fd` within `limit`, and how it ended (the socket's end frame).
pub fn dump_to(
    service: &Service,
    fd: BorrowedFd<'_>,
    args: &[String],
    caller: Caller,
    limit: Duration,
) -> DumpResult {
    run_dump(service, &mut DumpFd::new(fd, limit), args, caller, limit)
}

fn run_dump(
    service: &Service,
    out: &mut dyn Write,
    args: &[String],
    caller: Caller,
    limit: Duration,
) -> DumpResult {
    let (status, message) = match protocol::ending(service.dump(out, args, caller)) {
        Ok(ended) => ended,
        Err(e) if e.kind() == io::ErrorKind::TimedOut => (
            Status::Unavailable,
            format!(
                "the request ran past its time limit of {} s",
                limit.as_secs()
            ),
        ),
        Err(e) => (Status::Unavailable, format!("output abandoned: {e}")),
    };
    DumpResult {
        status: status as i32,
        message,
    }
}

/// The binder dump (`dumpsys memstat ARGS`, bugreports) to `out` (within
/// `limit`, when `out` is a [`DumpFd`]): as [`dump_to`], but its only
/// channel is the output, so a refusal's reason goes there.
pub fn dump(
    service: &Service,
    out: &mut dyn Write,
    args: &[&CStr],
    caller: Caller,
    limit: Duration,
) -> DumpResult {
    let result = match utf8_args(args) {
        Ok(args) => run_dump(service, out, &args, caller, limit),
        Err(message) => DumpResult {
            status: Status::Usage as i32,
            message,
        },
    };
    let refused = [Status::Usage, Status::Denied, Status::Failed];
    if refused.iter().any(|&s| s as i32 == result.status) {
        let line = format!("memstat: {}\n", result.message);
        if let Err(e) = out.write_all(line.as_bytes()) {
            log::info!(
                "uid {}: cannot say why its dump was refused: {e}",
                caller.uid
            );
        }
    }
    result
}

fn utf8_args(args: &[&CStr]) -> Result<Vec<String>, String> {
    args.iter()
        .map(|a| {
            a.to_str()
                .map(str::to_owned)
                .map_err(|_| format!("argument {a:?} is not UTF-8"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::Probes;
    use crate::service::permission::Access;
    use crate::service::Mode;
    use crate::uid::UidNames;
    use std::collections::HashMap;
    use std::io::Read;
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};
    use std::path::{Path, PathBuf};

    /// A service without counters (no pins here), with its own state.
    struct Fixture {
        service: Service,
        dir: PathBuf,
    }

    impl Fixture {
        fn new(tag: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("memstat-methods-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let probes = Probes::open(
                Path::new("/nonexistent/memstat-pins"),
                Err("no tracefs in this test".into()),
                &HashMap::new(),
            );
            let names = UidNames::passwd(Path::new("/etc/passwd"));
            let service = Service::new(Mode::Host, probes, &dir, names).expect("service");
            Fixture { service, dir }
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    const APP: Caller = Caller {
        uid: 10123,
        pid: 4242,
        access: Access::OwnUid,
    };
    const SHELL: Caller = Caller {
        uid: 2000,
        pid: 4243,
        access: Access::Full,
    };
    const DUMPER: Caller = Caller {
        uid: 10200,
        pid: 4244,
        access: Access::ReadAll,
    };

    fn pipe() -> (std::fs::File, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors pipe2 returns.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both are new descriptors owned by nobody else.
        unsafe {
            (
                std::fs::File::from_raw_fd(fds[0]),
                OwnedFd::from_raw_fd(fds[1]),
            )
        }
    }

    /// Runs `f` with the write end of a pipe and returns what it wrote.
    fn written<T>(f: impl FnOnce(BorrowedFd<'_>) -> T) -> (T, String) {
        let (mut r, w) = pipe();
        let result = f(w.as_fd());
        drop(w);
        let mut out = String::new();
        r.read_to_string(&mut out).expect("read");
        (result, out)
    }

    #[test]
    fn an_app_sees_its_own_uid_only() {
        let f = Fixture::new("own");
        // Without counters the own UID's row is refused, never zeros.
        match uid_stats(&f.service, &[], APP) {
            Err(Exception::IllegalState(m)) => {
                assert!(m.contains("syscalls probe group is unavailable"), "{m}")
            }
            r => panic!("{r:?}"),
        }
        let other = uid_stats(&f.service, &[10123, 10124], APP).expect_err("another UID");
        match other {
            Exception::Security(m) => assert!(m.contains("uid 10124"), "{m}"),
            e => panic!("{e:?}"),
        }
        assert!(!matches!(
            uid_stats(&f.service, &[10124], DUMPER),
            Err(Exception::Security(_))
        ));
    }

    #[test]
    fn uid_lists_are_bounded_and_checked() {
        let f = Fixture::new("bounds");
        let many: Vec<i32> = (0..=MAX_UIDS).collect();
        match uid_stats(&f.service, &many, SHELL) {
            Err(Exception::IllegalArgument(m)) => assert!(m.contains("MAX_UIDS"), "{m}"),
            r => panic!("{r:?}"),
        }
        match uid_stats(&f.service, &[1000, -1], SHELL) {
            Err(Exception::IllegalArgument(m)) => assert!(m.contains("uid -1"), "{m}"),
            r => panic!("{r:?}"),
        }
        let asked: Vec<i32> = (10_000..10_000 + MAX_UIDS).collect();
        // MAX_UIDS UIDs pass the checks; without counters there are no rows.
        assert!(matches!(
            uid_stats(&f.service, &asked, SHELL),
            Err(Exception::IllegalState(_))
        ));
    }

    #[test]
    fn system_stats_carry_the_window_and_this_machines_memory() {
        let f = Fixture::new("system");
        let s = system_stats(&f.service, APP).expect("system stats");
        assert!(s.generation >= 1, "{s:?}");
        assert!(
            0 < s.windowStartMs && s.windowStartMs <= s.windowEndMs,
            "{s:?}"
        );
        assert!(
            s.memTotalKb > 0 && s.memAvailableKb <= s.memTotalKb,
            "{s:?}"
        );
        // Without counters the overflow is unknown, never 0.
        assert_eq!((s.overflowSyscalls, s.overflowErrors), (-1, -1));
    }

    #[test]
    fn only_full_access_changes_state() {
        let f = Fixture::new("state");
        for caller in [APP, DUMPER] {
            assert!(matches!(
                reset(&f.service, caller),
                Err(Exception::Security(_))
            ));
            assert!(matches!(
                snapshot(&f.service, "base", caller),
                Err(Exception::Security(_))
            ));
        }
        // Allowed, but there are no counters to reset from here.
        match reset(&f.service, SHELL) {
            Err(Exception::IllegalState(m)) => assert!(m.contains("no counters"), "{m}"),
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn dump_to_writes_the_dump_and_says_how_it_ended() {
        let f = Fixture::new("dumpto");
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let limit = Duration::from_secs(10);
        let (r, out) = written(|fd| {
            dump_to(
                &f.service,
                fd,
                &args(&["--section", "header"]),
                SHELL,
                limit,
            )
        });
        assert_eq!((r.status, r.message.as_str()), (Status::Ok as i32, ""));
        assert!(out.contains("generation 1"), "{out}");

        let (r, out) = written(|fd| dump_to(&f.service, fd, &args(&["--bogus"]), SHELL, limit));
        assert_eq!(r.status, Status::Usage as i32);
        assert!(r.message.contains("--bogus"), "{}", r.message);
        assert_eq!(out, "", "the reason is in the result, not the output");

        let (r, _) = written(|fd| dump_to(&f.service, fd, &args(&["--reset"]), APP, limit));
        assert_eq!(r.status, Status::Denied as i32);
        assert!(r.message.starts_with("permission denied"), "{}", r.message);
    }

    #[test]
    fn dumpsys_gets_the_reason_in_its_output() {
        let f = Fixture::new("dumpsys");
        fn dumpsys(s: &Service, fd: BorrowedFd<'_>, args: &[&CStr], caller: Caller) -> DumpResult {
            let limit = Duration::from_secs(10);
            dump(s, &mut DumpFd::new(fd, limit), args, caller, limit)
        }
        let (r, out) = written(|fd| dumpsys(&f.service, fd, &[c"--uid", c"1"], APP));
        assert_eq!(r.status, Status::Denied as i32);
        assert_eq!(out, format!("memstat: {}\n", r.message));

        let (r, out) = written(|fd| dumpsys(&f.service, fd, &[c"--top\xff"], SHELL));
        assert_eq!(r.status, Status::Usage as i32);
        assert!(
            out.starts_with("memstat: argument") && out.contains("not UTF-8"),
            "{out}"
        );

        let (r, out) = written(|fd| dumpsys(&f.service, fd, &[c"-a"], SHELL));
        assert_eq!((r.status, r.message.as_str()), (Status::Ok as i32, ""));
        assert!(out.contains("PROBES"), "{out}");
    }
}

//! Makes exactly the syscalls it is told to, so tests know the truth.
//!
//! Usage: workload OP...
//!   getppid:N          N successful getppid calls
//!   badfd:N            N fchdir(-1) calls, each failing with EBADF
//!   enosys:FIRST:N     one call to each nonexistent syscall FIRST..FIRST+N (ENOSYS)
//!   sleep:N:MS         N nanosleep calls of MS milliseconds
//!   uids:FIRST:N       (as root) one setresuid call as each UID FIRST..FIRST+N:
//!                      N active UIDs from one process, for benchmarks
//!
//! Apart from these it makes only the calls of process start and exit, none of
//! which is getppid, fchdir or a nonexistent syscall.

use std::process::ExitCode;

fn num(s: Option<&str>, op: &str) -> Result<u64, String> {
    s.and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("bad operation {op:?}: expected numbers"))
}

fn run(op: &str) -> Result<(), String> {
    let mut parts = op.split(':');
    let kind = parts.next().unwrap_or_default();
    let a = num(parts.next(), op)?;
    match kind {
        "getppid" => {
            for _ in 0..a {
                // SAFETY: getppid takes no arguments and cannot fail.
                unsafe { libc::syscall(libc::SYS_getppid) };
            }
        }
        "badfd" => {
            for _ in 0..a {
                // SAFETY: fchdir on fd -1 only fails with EBADF.
                if unsafe { libc::syscall(libc::SYS_fchdir, -1) } != -1 {
                    return Err("fchdir(-1) did not fail".into());
                }
            }
        }
        "enosys" => {
            let n = num(parts.next(), op)?;
            for nr in a..a + n {
                // SAFETY: nonexistent syscall numbers only return ENOSYS.
                unsafe { libc::syscall(nr as libc::c_long) };
            }
        }
        "sleep" => {
            let ms = num(parts.next(), op)?;
            let ts = libc::timespec {
                tv_sec: (ms / 1000) as _,
                tv_nsec: ((ms % 1000) * 1_000_000) as _,
            };
            for _ in 0..a {
                // SAFETY: ts is a valid timespec; the remainder pointer may be NULL.
                unsafe { libc::syscall(libc::SYS_nanosleep, &ts as *const libc::timespec, 0usize) };
            }
        }
        "uids" => {
            let n = num(parts.next(), op)?;
            for uid in a..a + n {
                let uid = uid as libc::uid_t;
                // SAFETY: setresuid has no memory arguments. Keeping saved
                // UID 0 lets the process switch back.
                if unsafe { libc::setresuid(uid, uid, 0) } != 0
                    || unsafe { libc::setresuid(0, 0, 0) } != 0
                {
                    return Err(format!(
                        "setresuid to {uid}: {}",
                        std::io::Error::last_os_error()
                    ));
                }
            }
        }
        _ => return Err(format!("unknown operation {op:?}")),
    }
    Ok(())
}

fn main() -> ExitCode {
    for op in std::env::args().skip(1) {
        if let Err(e) = run(&op) {
            eprintln!("workload: {e}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

//! The ops on the process itself: its break (brk, brkgrow) and its image
//! (fork, exec).

use super::{check, Fields};
use std::ffi::{c_char, CString};
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The break the last brk op left (0: none yet); a forked child has its
/// parent's.
static LAST_BREAK: AtomicU64 = AtomicU64::new(0);

/// Moves the break to `want`; an error unless it got there.
fn set_break(want: u64) -> Result<(), String> {
    // SAFETY: the pages between the op's start and want belong to nothing.
    let got = unsafe { libc::syscall(libc::SYS_brk, want as usize) } as u64;
    if got != want {
        return Err(format!(
            "brk({want:#x}) left the break at {got:#x} \
             (RLIMIT_DATA or a mapping above the heap is in the way: use a smaller N*BYTES)"
        ));
    }
    Ok(())
}

/// Grows the break from `start` by `bytes` `n` times, then moves it back.
/// Nothing allocates meanwhile, so malloc's heap (which ends at or below
/// `start`) is intact once the break is back.
fn grow(start: u64, n: u64, bytes: u64) -> Result<(), String> {
    for i in 1..=n {
        set_break(start + i * bytes)?;
    }
    set_break(start)?;
    LAST_BREAK.store(start, Ordering::Relaxed);
    Ok(())
}

/// `brk:N:BYTES`: brk(0), then N growths and the return.
pub(super) fn brk(mut f: Fields) -> Result<(), String> {
    let (n, bytes) = (f.num()?, f.bytes()?);
    f.end()?;
    // SAFETY: brk(0) only reads the break.
    let start = unsafe { libc::syscall(libc::SYS_brk, 0usize) } as u64;
    grow(start, n, bytes)
}

/// `brkgrow:N:BYTES`: N growths and the return from the last brk op's
/// break, without asking the kernel for it.
pub(super) fn brkgrow(mut f: Fields) -> Result<(), String> {
    let (n, bytes) = (f.num()?, f.bytes()?);
    f.end()?;
    match LAST_BREAK.load(Ordering::Relaxed) {
        0 => Err(f.bad("no brk op before it in this process or its parent")),
        start => grow(start, n, bytes),
    }
}

/// `fork`: the child runs the op `next` and exits; the parent waits for it.
pub(super) fn fork(next: Option<&str>, run: fn(&str) -> Result<(), String>) -> Result<(), String> {
    let next = next.ok_or("fork: no op after it for the child to run")?;
    // SAFETY: the process has one thread, so the child may go on running Rust.
    let pid = check("fork", unsafe { libc::fork() } as libc::c_long)?;
    if pid == 0 {
        let code = match run(next) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("workload: {e}");
                2
            }
        };
        std::process::exit(code);
    }
    let mut status = 0;
    loop {
        // SAFETY: waits for the child just made; status is a valid int.
        let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
        if r != -1 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            check("waitpid of the forked child", r as libc::c_long)?;
            break;
        }
    }
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(())
    } else {
        Err(format!(
            "the forked child running {next:?} failed (wait status {status:#x})"
        ))
    }
}

/// The arguments of this process as C strings, for `exec`: made before the
/// first op, since ops must not allocate.
pub(super) struct Argv {
    _args: Vec<CString>,
    /// Pointers to the arguments, then NULL.
    ptrs: Vec<*const c_char>,
}

impl Argv {
    pub(super) fn of_this_process() -> Argv {
        let args: Vec<CString> = std::env::args_os()
            .map(|a| CString::new(a.into_vec()).expect("arguments hold no NUL"))
            .collect();
        let ptrs = args
            .iter()
            .map(|a| a.as_ptr())
            .chain([std::ptr::null()])
            .collect();
        Argv { _args: args, ptrs }
    }

    /// `exec` as the op at index `op` of the arguments (0 is the program):
    /// this program again, with the ops after it. Returns only on failure.
    pub(super) fn exec(&mut self, op: usize) -> String {
        let _ = std::io::stdout().flush();
        // The new argv: the program's name, then the ops after this one.
        self.ptrs[op] = self.ptrs[0];
        // SAFETY: ptrs[op..] are NUL-terminated strings owned by self,
        // ending with NULL.
        unsafe { libc::execv(c"/proc/self/exe".as_ptr(), self.ptrs[op..].as_ptr()) };
        format!(
            "execv of /proc/self/exe: {}",
            std::io::Error::last_os_error()
        )
    }
}

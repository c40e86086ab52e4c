//! Where the socket is bound: a directory owned by root or memstatd's user,
//! writable by no one else, below directories no other user can change
//! (symlinks of root's or memstatd's user on the way are followed: see
//! [`crate::trusted_dir`]). The socket is bound and removed through the
//! directory's file descriptor (`/proc/self/fd/N/NAME`) and gets its mode
//! from the umask at bind time: no path is ever chmod-ed, so nothing swapped
//! in on the way can redirect it.

use super::client;
use crate::trusted_dir::{Links, Owner, Rule};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Any user may connect: callers are told apart by SO_PEERCRED.
const SOCKET_MODE: u32 = 0o666;
/// A socket directory memstatd creates: every user can reach the socket.
const DIR_MODE: u32 = 0o755;

/// A socket file bound in a checked directory.
pub(super) struct Bound {
    dir: File,
    name: OsString,
    /// The socket file's device and inode: only that file is removed.
    id: (u64, u64),
}

impl Bound {
    /// The socket file, reached through the directory's descriptor.
    fn file(&self) -> PathBuf {
        in_dir(&self.dir, &self.name)
    }
}

impl Drop for Bound {
    fn drop(&mut self) {
        let file = self.file();
        if fs::symlink_metadata(&file).is_ok_and(|m| (m.dev(), m.ino()) == self.id) {
            let _ = fs::remove_file(&file);
        }
    }
}

fn in_dir(dir: &File, name: &OsString) -> PathBuf {
    Path::new(&format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name)
}

/// Binds a socket of mode 0666 at `path`. A stale socket left by a daemon
/// that died is replaced; a live one, or anything that is not a socket, is
/// an error.
pub(super) fn bind(path: &Path) -> io::Result<(UnixListener, Bound)> {
    let name = path
        .file_name()
        .ok_or_else(|| invalid(format!("{} names no socket file", path.display())))?
        .to_owned();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let (dir, _) = DIR
        .open(dir)
        .map_err(|e| io::Error::new(io::ErrorKind::PermissionDenied, e))?;
    let file = in_dir(&dir, &name);
    match fs::symlink_metadata(&file) {
        Ok(m) if !m.file_type().is_socket() => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ))
        }
        Ok(_) => {
            wait_gone(&file, path)?;
            match fs::remove_file(&file) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    // A new socket's inode is mode 0777; bind gives the file that less the
    // umask. Only the signal thread runs besides this one, and it makes no
    // files.
    // SAFETY: umask only sets the process's file mode mask.
    let old = unsafe { libc::umask((0o777 & !SOCKET_MODE) as libc::mode_t) };
    let bound = UnixListener::bind(&file);
    // SAFETY: as above, restoring the mask.
    unsafe { libc::umask(old) };
    let listener = bound.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("{e} (memstatd binds through /proc/self/fd: is /proc mounted?)"),
        )
    })?;
    let m = fs::symlink_metadata(&file)?;
    if m.mode() & 0o7777 != SOCKET_MODE {
        return Err(invalid(format!(
            "{} was bound with mode {:o}, not {SOCKET_MODE:o}",
            path.display(),
            m.mode() & 0o7777
        )));
    }
    let id = (m.dev(), m.ino());
    Ok((listener, Bound { dir, name, id }))
}

/// How long a memstatd that is not answering may take to go: one that is
/// stopping detaches its probes first (the kernel takes about 80 ms per
/// tracepoint), then lets its socket go.
const STOPPING: Duration = Duration::from_secs(30);

/// Returns once no memstatd holds the socket `file` (`path` in messages):
/// at once when none listens; when one is stopping (it no longer answers),
/// as soon as it is gone, so that this one counts right after it; an error
/// when one answers, or does not go within [`STOPPING`].
fn wait_gone(file: &Path, path: &Path) -> io::Result<()> {
    match client::connect(file, ANSWER) {
        Err(e) if e.kind() != io::ErrorKind::TimedOut => return Ok(()),
        _ => {}
    }
    let header = ["--section".to_string(), "header".to_string()];
    if client::request_within(file, &header, &mut io::sink(), ANSWER).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("another memstatd is serving on {}", path.display()),
        ));
    }
    log::info!(
        "waiting for the memstatd on {} to go: it does not answer",
        path.display()
    );
    let since = Instant::now();
    while since.elapsed() < STOPPING {
        match client::connect(file, Duration::from_millis(10)) {
            Err(e) if e.kind() != io::ErrorKind::TimedOut => return Ok(()),
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!(
            "another process listens on {} but has not answered for {} s: is a memstatd \
             stopped (SIGSTOP)? Stop it first",
            path.display(),
            STOPPING.as_secs() + ANSWER.as_secs()
        ),
    ))
}

/// How long a live memstatd takes at most to answer a header request.
const ANSWER: Duration = Duration::from_secs(1);

/// The socket's directory: root's or memstatd's user's, writable by no
/// one else even when sticky (anyone could put a socket of their own where
/// memstatd's goes), below directories only they can change.
const DIR: Rule = Rule {
    role: "the socket's directory",
    owner: Owner::RootOrDaemon,
    sticky: false,
    create: Some(DIR_MODE),
    links: Links::FollowTrusted,
    instead: "give the socket a directory of its own, such as /run/memstat",
};

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

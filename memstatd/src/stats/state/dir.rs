//! The state directory, opened once as a trusted directory (see
//! [`crate::trusted_dir`]) and then used only through its descriptor. Its
//! files are opened relative to the directory, never through a symlink, and
//! read only when they are regular files of memstatd's own with one link and
//! a bounded size. Temporary files are created exclusively and modes are set
//! on descriptors, so nothing planted in the directory is written through or
//! has its mode changed.

use crate::trusted_dir::{check, cstr, euid, openat, Links, Owner, Rule};
use std::ffi::{CStr, OsStr, OsString};
use std::fs::{File, Permissions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Largest file read back. A full window (every pair of the counts table
/// and every histogram) takes about 2 MiB.
pub(crate) const MAX_FILE_BYTES: u64 = 4 << 20;

/// The state directory: memstatd's own and writable by no one else (it
/// holds every UID's counts and the baselines gates compare with), on a
/// path of real directories.
const STATE: Rule = Rule {
    role: "the state directory",
    owner: Owner::Daemon,
    sticky: false,
    create: Some(0o700),
    links: Links::Refuse,
    instead: "give memstatd a --state-dir of its own",
};

/// A directory of memstatd's, open.
pub(crate) struct Dir {
    file: File,
    path: PathBuf,
}

/// What identifies one version of a directory entry without opening it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    ino: u64,
    size: i64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

fn invalid(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// `fstatat` of entry `name` itself (a symlink is not followed).
fn stat_at(at: &File, name: &OsStr) -> io::Result<libc::stat> {
    let c = cstr(name)?;
    // SAFETY: an all-zero stat is valid; fstatat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: c outlives the call and st is a valid stat to write.
    check(unsafe {
        libc::fstatat(
            at.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })?;
    Ok(st)
}

impl Dir {
    /// Opens the state directory at `path` as [`STATE`] says (making it
    /// 0700, and missing parents 0755, when needed), or says why it may not
    /// be used.
    pub(crate) fn open_state(path: &Path) -> Result<Dir, String> {
        let (file, path) = STATE.open(path).map_err(|e| e.to_string())?;
        Ok(Dir::private(file, path))
    }

    /// Opens (or makes, with `create`) the subdirectory `name`, which must
    /// be memstatd's own like the state directory; `None` when it is
    /// missing.
    pub(crate) fn subdir(&self, name: &str, create: bool) -> Result<Option<Dir>, String> {
        let rule = Rule {
            role: "the directory",
            create: create.then_some(0o700),
            ..STATE
        };
        let dir = rule
            .open_in(&self.file, &self.path, OsStr::new(name))
            .map_err(|e| e.to_string())?;
        Ok(dir.map(|file| Dir::private(file, self.path.join(name))))
    }

    /// Makes the directory open as `file`, which passed [`STATE`], private
    /// (0700): snapshots hold every UID's counts.
    fn private(file: File, path: PathBuf) -> Dir {
        match file.metadata() {
            Ok(m) if m.mode() & 0o7777 == 0o700 => {}
            _ => {
                if let Err(e) = file.set_permissions(Permissions::from_mode(0o700)) {
                    log::warn!("{}: cannot make it 0700: {e}", path.display());
                }
            }
        }
        Dir { file, path }
    }

    /// The directory's path, for messages.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `name` to read it, if it is a regular file of memstatd's with
    /// one link and at most [`MAX_FILE_BYTES`]. Never blocks: a FIFO is
    /// opened non-blocking and refused.
    fn open_checked(&self, name: &str, flags: libc::c_int) -> io::Result<File> {
        let flags = flags | libc::O_NOFOLLOW | libc::O_NONBLOCK;
        let file = openat(&self.file, OsStr::new(name), flags, 0o600).map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                invalid("a symlink, which memstatd never follows".into())
            } else {
                e
            }
        })?;
        let m = file.metadata()?;
        let kind = m.file_type();
        if !kind.is_file() {
            let what = if kind.is_fifo() {
                "a FIFO"
            } else if kind.is_dir() {
                "a directory"
            } else if kind.is_socket() {
                "a socket"
            } else {
                "a device"
            };
            return Err(invalid(format!("{what}, not a regular file")));
        }
        if m.uid() != euid() {
            return Err(invalid(format!(
                "owned by uid {}, not by memstatd's user (uid {})",
                m.uid(),
                euid()
            )));
        }
        if m.nlink() != 1 {
            return Err(invalid(format!(
                "{} links to it; memstatd's files have one",
                m.nlink()
            )));
        }
        if m.len() > MAX_FILE_BYTES {
            return Err(invalid(format!(
                "{} bytes, more than the {MAX_FILE_BYTES} a state file may have",
                m.len()
            )));
        }
        Ok(file)
    }

    /// Reads `name` as JSON (see `open_checked` for what is refused).
    pub(crate) fn read_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> io::Result<T> {
        let file = self.open_checked(name, libc::O_RDONLY)?;
        // The size was checked on the descriptor; a file still growing
        // stops at the bound as well.
        serde_json::from_reader(io::BufReader::new(file.take(MAX_FILE_BYTES)))
            .map_err(|e| invalid(e.to_string()))
    }

    /// Writes `value` as `name`: to `.name.tmp` (created afresh, 0600),
    /// synced, then renamed over `name`; a crash leaves the old or the new
    /// version.
    pub(crate) fn write_json<T: serde::Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let tmp = format!(".{name}.tmp");
        // Whatever is at the temporary name (a crash's leftover, or
        // anything planted) goes, and is never written through.
        match self.remove(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let written = (|| {
            let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
            let file = openat(&self.file, OsStr::new(&tmp), flags, 0o600)?;
            // The umask may have taken bits: exactly 0600, on the descriptor.
            file.set_permissions(Permissions::from_mode(0o600))?;
            let mut out = io::BufWriter::new(file);
            serde_json::to_writer(&mut out, value)?;
            out.flush()?;
            out.get_ref().sync_all()?;
            self.rename(&tmp, name)
        })();
        if written.is_err() {
            let _ = self.remove(&tmp);
        }
        written?;
        self.file.sync_all()
    }

    /// Renames `from` to `to` within the directory.
    pub(crate) fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (from, to) = (cstr(OsStr::new(from))?, cstr(OsStr::new(to))?);
        let fd = self.file.as_raw_fd();
        // SAFETY: both names are NUL-terminated strings that outlive the call.
        check(unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) })
    }

    /// Removes the entry `name` (a symlink itself, not what it points to).
    pub(crate) fn remove(&self, name: &str) -> io::Result<()> {
        let c = cstr(OsStr::new(name))?;
        // SAFETY: c is a NUL-terminated string that outlives the call.
        check(unsafe { libc::unlinkat(self.file.as_raw_fd(), c.as_ptr(), 0) })
    }

    /// What identifies the current version of entry `name`, unopened.
    #[allow(clippy::unnecessary_cast)] // stat's field types differ by target.
    pub(crate) fn stamp(&self, name: &str) -> io::Result<Stamp> {
        let st = stat_at(&self.file, OsStr::new(name))?;
        Ok(Stamp {
            ino: st.st_ino as u64,
            size: st.st_size as i64,
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
        })
    }

    /// The names of the directory's entries.
    pub(crate) fn names(&self) -> io::Result<Vec<OsString>> {
        // A descriptor of its own: a stream's offset is per open.
        let flags = libc::O_RDONLY | libc::O_DIRECTORY;
        let fd = openat(&self.file, OsStr::new("."), flags, 0)?.into_raw_fd();
        // SAFETY: fd is ours; from here the stream owns it and closedir
        // closes it.
        let stream = unsafe { libc::fdopendir(fd) };
        if stream.is_null() {
            let e = io::Error::last_os_error();
            // SAFETY: fdopendir failed, so fd is still ours to close.
            unsafe { libc::close(fd) };
            return Err(e);
        }
        let mut names = Vec::new();
        let read = loop {
            clear_errno();
            // SAFETY: stream is an open directory stream.
            let entry = unsafe { libc::readdir(stream) };
            if entry.is_null() {
                let e = io::Error::last_os_error();
                break if e.raw_os_error() == Some(0) {
                    Ok(())
                } else {
                    Err(e)
                };
            }
            // SAFETY: readdir returned an entry whose name is NUL-terminated
            // and valid until the next readdir on this stream.
            let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
            if name != b"." && name != b".." {
                names.push(OsStr::from_bytes(name).to_owned());
            }
        };
        // SAFETY: stream is open and not used after this.
        unsafe { libc::closedir(stream) };
        read.map(|()| names)
    }

    /// Opens (creating it, 0600) the lock file `name` and takes an exclusive
    /// lock on it for as long as the file is held; `WouldBlock` when another
    /// process holds it.
    pub(crate) fn lock(&self, name: &str) -> io::Result<File> {
        let file = self.open_checked(name, libc::O_RDWR | libc::O_CREAT)?;
        // SAFETY: flock on a descriptor we own; it has no memory arguments.
        check(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) })?;
        Ok(file)
    }
}

/// Sets errno to 0, to tell readdir's end from its failure.
fn clear_errno() {
    // SAFETY: the calling thread's errno location is always valid.
    unsafe {
        #[cfg(target_os = "android")]
        {
            *libc::__errno() = 0;
        }
        #[cfg(not(target_os = "android"))]
        {
            *libc::__errno_location() = 0;
        }
    }
}

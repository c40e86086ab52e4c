//! The state directory, opened once and then used only through its
//! descriptor. Each path component is opened without following symlinks;
//! files are opened relative to the directory, never through a symlink, and
//! read only when they are regular files of memstatd's own with one link and
//! a bounded size. Temporary files are created exclusively and modes are set
//! on descriptors, so nothing planted in the directory is written through or
//! has its mode changed.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::fs::{File, FileType, Permissions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// Largest file read back. A full window (every pair of the counts table
/// and every histogram) takes about 2 MiB.
pub(crate) const MAX_FILE_BYTES: u64 = 4 << 20;

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

/// The sticky bit: in such a directory only an entry's owner may replace it.
const STICKY: u32 = 0o1000;

/// The user memstatd runs as: the owner of its state.
fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| invalid(format!("{name:?} has a NUL byte")))
}

fn invalid(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `openat(at, name, flags, mode)`; without `at`, `name` is absolute.
fn openat(
    at: Option<&File>,
    name: &OsStr,
    flags: libc::c_int,
    mode: libc::c_uint,
) -> io::Result<File> {
    let name = cstr(name)?;
    let at = at.map_or(libc::AT_FDCWD, |d| d.as_raw_fd());
    // SAFETY: name is a NUL-terminated string that outlives the call.
    let fd = unsafe {
        libc::openat(
            at,
            name.as_ptr(),
            flags | libc::O_CLOEXEC | libc::O_NOCTTY,
            mode,
        )
    };
    check(fd)?;
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

/// Opens directory `name` in `at` without following a symlink, making it
/// (with `mode`) when it is missing and `mode` is given.
fn open_dir(
    at: &File,
    name: &OsStr,
    flags: libc::c_int,
    mode: Option<libc::mode_t>,
) -> io::Result<File> {
    let flags = flags | libc::O_DIRECTORY | libc::O_NOFOLLOW;
    match (openat(Some(at), name, flags, 0), mode) {
        (Err(e), Some(mode)) if e.kind() == io::ErrorKind::NotFound => {
            let c = cstr(name)?;
            // SAFETY: c is a NUL-terminated string that outlives the call.
            match check(unsafe { libc::mkdirat(at.as_raw_fd(), c.as_ptr(), mode) }) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
            openat(Some(at), name, flags, 0)
        }
        (r, _) => r,
    }
}

/// What an entry that could not be opened as a directory is, for messages.
fn not_a_dir(at: &File, name: &OsStr, e: io::Error) -> String {
    match kind_at(at, name) {
        Ok(k) if k.is_symlink() => "is a symlink, and memstatd follows none in the state \
                                    directory's path: give the real path"
            .into(),
        Ok(k) if !k.is_dir() => "is not a directory".into(),
        _ => e.to_string(),
    }
}

/// The type of entry `name` itself (a symlink is not followed).
fn kind_at(at: &File, name: &OsStr) -> io::Result<FileType> {
    let entry = openat(Some(at), name, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
    Ok(entry.metadata()?.file_type())
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

/// Refuses a directory on the state directory's path that someone other
/// than root or memstatd's user could change: they could swap what lies
/// below it. A sticky directory (`/tmp`) lets each entry be replaced only by
/// its owner, and the entry below is checked in turn. On Android SELinux
/// keeps the path to `/data/misc/memstat` to the platform (and lets no
/// daemon stat `/`), so only the directory itself is checked there.
fn check_parent(d: &File, path: &Path) -> Result<(), String> {
    if cfg!(target_os = "android") {
        return Ok(());
    }
    let m = d
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let me = euid();
    if m.uid() != 0 && m.uid() != me {
        return Err(format!(
            "{} is owned by uid {}, not by root or memstatd's user (uid {me}): that user could \
             replace the state in it",
            path.display(),
            m.uid()
        ));
    }
    if m.mode() & 0o022 != 0 && m.mode() & STICKY == 0 {
        return Err(format!(
            "{} is writable by its group or others (mode {:04o}) and not sticky: they could \
             replace the state in it",
            path.display(),
            m.mode() & 0o7777
        ));
    }
    Ok(())
}

impl Dir {
    /// Opens the state directory at `path`, making it (0700) and missing
    /// parents (0755) when needed, or says why it may not be used: a symlink
    /// or `..` on its path, a directory on the path others could change, or
    /// a state directory that is not memstatd's own or that others may
    /// write to.
    pub(crate) fn open_state(path: &Path) -> Result<Dir, String> {
        let abs = if path.is_absolute() {
            path.to_owned()
        } else {
            std::env::current_dir()
                .map_err(|e| format!("the current directory: {e}"))?
                .join(path)
        };
        let mut names = Vec::new();
        for c in abs.components() {
            match c {
                Component::Normal(n) => names.push(n),
                Component::ParentDir => {
                    return Err(format!(
                        "{} has a '..': give the path without it",
                        path.display()
                    ))
                }
                _ => {}
            }
        }
        let Some((last, parents)) = names.split_last() else {
            return Err("/ cannot be the state directory".into());
        };
        let mut walked = PathBuf::from("/");
        let mut at = openat(None, OsStr::new("/"), libc::O_PATH | libc::O_DIRECTORY, 0)
            .map_err(|e| format!("/: {e}"))?;
        check_parent(&at, &walked)?;
        for name in parents {
            let next = open_dir(&at, name, libc::O_PATH, Some(0o755));
            walked.push(name);
            at = next.map_err(|e| format!("{} {}", walked.display(), not_a_dir(&at, name, e)))?;
            check_parent(&at, &walked)?;
        }
        walked.push(last);
        let dir = open_dir(&at, last, libc::O_RDONLY, Some(0o700))
            .map_err(|e| format!("{} {}", walked.display(), not_a_dir(&at, last, e)))?;
        Dir::own(dir, walked)
    }

    /// Opens (or makes, with `create`) the subdirectory `name`, which must
    /// be memstatd's own like the state directory; `None` when it is
    /// missing.
    pub(crate) fn subdir(&self, name: &str, create: bool) -> Result<Option<Dir>, String> {
        let path = self.path.join(name);
        let mode = create.then_some(0o700);
        match open_dir(&self.file, OsStr::new(name), libc::O_RDONLY, mode) {
            Ok(d) => Dir::own(d, path).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!(
                "{} {}",
                path.display(),
                not_a_dir(&self.file, OsStr::new(name), e)
            )),
        }
    }

    /// Accepts the directory open as `file` only when memstatd owns it and
    /// nobody else can write to it, and makes it private (0700): snapshots
    /// hold every UID's counts.
    fn own(file: File, path: PathBuf) -> Result<Dir, String> {
        let m = file
            .metadata()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let me = euid();
        if m.uid() != me {
            return Err(format!(
                "{} is owned by uid {}, not by memstatd's user (uid {me}): remove it, or give \
                 memstatd a --state-dir of its own",
                path.display(),
                m.uid()
            ));
        }
        if m.mode() & 0o022 != 0 {
            return Err(format!(
                "{} is writable by its group or others (mode {:04o}): check what is in it, then \
                 make it 0700",
                path.display(),
                m.mode() & 0o7777
            ));
        }
        if m.mode() & 0o7777 != 0o700 {
            if let Err(e) = file.set_permissions(Permissions::from_mode(0o700)) {
                log::warn!("{}: cannot make it 0700: {e}", path.display());
            }
        }
        Ok(Dir { file, path })
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
        let file = openat(Some(&self.file), OsStr::new(name), flags, 0o600).map_err(|e| {
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
            let file = openat(Some(&self.file), OsStr::new(&tmp), flags, 0o600)?;
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
        let fd = openat(Some(&self.file), OsStr::new("."), flags, 0)?.into_raw_fd();
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

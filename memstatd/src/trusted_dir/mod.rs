//! A directory no other local user can change under memstatd, opened. The
//! path is walked from `/` one component at a time through directory
//! descriptors, the kernel following no symlink (a rule that allows them
//! follows trusted ones itself), and each directory is checked before
//! anything in it is opened: there is no window between a check and an open
//! for someone to swap a directory in. Whoever may write
//! a directory on the path could swap what lies below it, so every one above
//! must be owned by root or memstatd's user and writable by others only when
//! sticky (as `/tmp` is: there only an entry's owner may rename or remove
//! it). What the directory itself must be is its user's [`Rule`]. On Android
//! SELinux keeps the path to the platform's directories (and lets no daemon
//! stat `/`), so only the directory itself is checked there.
//!
//! Also the descriptor-relative calls that work in such a directory.

use std::collections::VecDeque;
use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// The mode of a missing directory made on the way to the one asked for.
const PARENT_MODE: u32 = 0o755;
/// Symlinks followed at most on one path, as the kernel's MAXSYMLINKS.
const MAX_LINKS: usize = 40;
/// The sticky bit: in such a directory only an entry's owner may replace it.
const STICKY: u32 = 0o1000;
/// Write permission for the group and others.
const OTHERS_WRITE: u32 = 0o022;
/// What to say of an entry that is no directory.
const NOT_A_DIR: &str = "is not a directory: give the path of a directory";

/// Who may own the directory itself.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Owner {
    /// memstatd's user alone: all in it is memstatd's.
    Daemon,
    /// Root or memstatd's user.
    RootOrDaemon,
}

/// What a symlink on the path does.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Links {
    /// Any symlink or `..` on the path is refused: the path is the real one,
    /// and stays so for whoever resolves it later.
    Refuse,
    /// A symlink of root's or memstatd's user, which no one else can point
    /// elsewhere, is followed: what it names is walked and checked like the
    /// rest. `..` goes back up the directories walked.
    FollowTrusted,
}

/// What one user of a directory needs it to be.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rule {
    /// What the directory is, in messages: "the state directory".
    pub role: &'static str,
    /// Who may own the directory.
    pub owner: Owner,
    /// Whether others may write to the directory when it is sticky.
    pub sticky: bool,
    /// The mode to make the directory with, exactly, when it is missing
    /// (missing directories above it are made 0755); `None`: it must exist.
    pub create: Option<u32>,
    /// Symlinks on the path.
    pub links: Links,
    /// What to do instead of using a refused directory, in messages.
    pub instead: &'static str,
}

/// Why a directory may not be used: its path, the directory at fault and
/// what was found, and what to do.
#[derive(Debug)]
pub(crate) struct Refused {
    role: &'static str,
    /// The directory asked for, and where links led when they did.
    target: String,
    /// The directory on the path at fault, when not the one asked for.
    above: Option<PathBuf>,
    /// What is wrong and what to do, after the path at fault.
    problem: String,
}

impl Refused {
    /// What is wrong, for a message that names the directory already (the
    /// host loader's, which Android does not build).
    #[cfg(not(target_os = "android"))]
    pub(crate) fn reason(&self) -> String {
        match &self.above {
            None => self.problem.clone(),
            Some(a) => format!("a directory above it: {} {}", a.display(), self.problem),
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.above {
            None => write!(f, "{} {} {}", self.role, self.target, self.problem),
            Some(a) => write!(
                f,
                "a directory above {} {}: {} {}",
                self.role,
                self.target,
                a.display(),
                self.problem
            ),
        }
    }
}

impl std::error::Error for Refused {}

impl Rule {
    /// Opens the directory at `path` (read-only), making it and the missing
    /// directories above it when the rule says so, or says why it may not be
    /// used. Returns it with its real path.
    pub(crate) fn open(&self, path: &Path) -> Result<(File, PathBuf), Refused> {
        let (given, mut rest) = self.names(path)?;
        let root = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open("/")
            .map_err(|e| {
                self.refused(given.display(), Some(Path::new("/")), cannot("opened", e))
            })?;
        let mut real = PathBuf::from("/");
        self.check_above(&root, &given, &real)?;
        // The directories walked, each checked, `/` first.
        let mut walked = vec![root];
        let mut links = 0;
        while let Some(name) = rest.pop_front() {
            if name == ".." {
                if walked.len() > 1 {
                    walked.pop();
                    real.pop();
                }
                continue;
            }
            let last = rest.is_empty();
            let mode = self.create.map(|m| if last { m } else { PARENT_MODE });
            let at = walked.last().expect("/ is never left");
            real.push(&name);
            let above = (!last).then_some(real.as_path());
            match entry(at, &name, mode).map_err(|e| self.refused(given.display(), above, e))? {
                Entry::Dir(dir) => {
                    if !last {
                        self.check_above(&dir, &given, &real)?;
                    }
                    walked.push(dir);
                }
                Entry::Link { owner, target } => {
                    self.may_follow(owner, &given, above)?;
                    links += 1;
                    if links > MAX_LINKS {
                        let why = format!(
                            "has more than {MAX_LINKS} symlinks on its path (a loop?): give the \
                             real path"
                        );
                        return Err(self.refused(given.display(), None, why));
                    }
                    real.pop();
                    if target.is_absolute() {
                        walked.truncate(1);
                        real = PathBuf::from("/");
                    }
                    for name in names(&target).into_iter().rev() {
                        rest.push_front(name);
                    }
                }
                Entry::Missing => {
                    return Err(self.refused(given.display(), above, "does not exist".into()))
                }
                Entry::Other => return Err(self.refused(given.display(), above, NOT_A_DIR.into())),
            }
        }
        // The directory asked for, unless only `/` is left.
        let Some(top) = walked.pop().filter(|_| !walked.is_empty()) else {
            let why = format!("is the root directory: {}", self.instead);
            return Err(self.refused(given.display(), None, why));
        };
        let shown = if real == given {
            given.display().to_string()
        } else {
            format!("{} (that is, {})", given.display(), real.display())
        };
        let dir = reopen(&top).map_err(|e| self.refused(&shown, None, cannot("opened", e)))?;
        self.check_target(&dir, &shown)?;
        Ok((dir, real))
    }

    /// `path` made absolute, and the names on it (`..` too, when links are
    /// followed).
    fn names(&self, path: &Path) -> Result<(PathBuf, VecDeque<OsString>), Refused> {
        let given = if path.is_absolute() {
            path.to_owned()
        } else {
            let cwd = std::env::current_dir().map_err(|e| {
                let why = format!("is relative, and the current directory is unknown: {e}");
                self.refused(path.display(), None, why)
            })?;
            cwd.join(path)
        };
        let names = names(&given);
        if matches!(self.links, Links::Refuse) && names.iter().any(|n| n == "..") {
            let why = "has a '..' in its path: give the path without it".into();
            return Err(self.refused(given.display(), None, why));
        }
        Ok((given, names))
    }

    /// Opens directory `name` of `dir` (at `path`), a directory already
    /// trusted, never through a symlink, and checks it as this rule says;
    /// `None` when it is missing and not to be made.
    pub(crate) fn open_in(
        &self,
        dir: &File,
        path: &Path,
        name: &OsStr,
    ) -> Result<Option<File>, Refused> {
        let full = path.join(name);
        let refused = |why| self.refused(full.display(), None, why);
        let found = match entry(dir, name, self.create).map_err(refused)? {
            Entry::Dir(d) => d,
            Entry::Missing => return Ok(None),
            Entry::Link { .. } => return Err(refused(self.no_links())),
            Entry::Other => return Err(refused(NOT_A_DIR.into())),
        };
        let shown = full.display().to_string();
        let dir = reopen(&found).map_err(|e| self.refused(&shown, None, cannot("opened", e)))?;
        self.check_target(&dir, &shown)?;
        Ok(Some(dir))
    }

    fn refused(&self, target: impl fmt::Display, above: Option<&Path>, problem: String) -> Refused {
        Refused {
            role: self.role,
            target: target.to_string(),
            above: above.map(Path::to_owned),
            problem,
        }
    }

    fn no_links(&self) -> String {
        format!(
            "is a symlink, and memstatd reaches {} only by a path where no component is a \
             symbolic link: give the real path",
            self.role
        )
    }

    /// Refuses a symlink this rule does not follow (`above`: where it is,
    /// when not in place of the directory itself).
    fn may_follow(&self, owner: u32, target: &Path, above: Option<&Path>) -> Result<(), Refused> {
        let me = euid();
        match self.links {
            Links::Refuse => Err(self.refused(target.display(), above, self.no_links())),
            Links::FollowTrusted if owner != 0 && owner != me => {
                let why = format!(
                    "is a symlink of uid {owner}, not of root or memstatd's user (uid {me}), so \
                     that user could point it elsewhere: give the real path"
                );
                Err(self.refused(target.display(), above, why))
            }
            Links::FollowTrusted => Ok(()),
        }
    }

    /// A directory above the one asked for (`target`), at `at`.
    fn check_above(&self, dir: &File, target: &Path, at: &Path) -> Result<(), Refused> {
        if cfg!(target_os = "android") {
            return Ok(());
        }
        let refused = |why| self.refused(target.display(), Some(at), why);
        let m = dir.metadata().map_err(|e| refused(cannot("examined", e)))?;
        let me = euid();
        if m.uid() != 0 && m.uid() != me {
            return Err(refused(format!(
                "is owned by uid {}, not root or memstatd's user (uid {me}), so that user could \
                 swap what lies below it: {}",
                m.uid(),
                self.instead
            )));
        }
        let mode = m.mode() & 0o7777;
        if mode & OTHERS_WRITE != 0 && mode & STICKY == 0 {
            return Err(refused(format!(
                "is writable by other users (mode {mode:04o}) and not sticky, so they could swap \
                 what lies below it: make it writable only by its owner (chmod go-w) or sticky \
                 (chmod +t), or {}",
                self.instead
            )));
        }
        Ok(())
    }

    /// The directory asked for, shown as `shown`.
    fn check_target(&self, dir: &File, shown: &str) -> Result<(), Refused> {
        let refused = |why| self.refused(shown, None, why);
        let m = dir.metadata().map_err(|e| refused(cannot("examined", e)))?;
        let me = euid();
        let (owned, owners) = match self.owner {
            Owner::Daemon => (m.uid() == me, format!("by memstatd's user (uid {me})")),
            Owner::RootOrDaemon => (
                m.uid() == 0 || m.uid() == me,
                format!("root or memstatd's user (uid {me})"),
            ),
        };
        if !owned {
            return Err(refused(format!(
                "is owned by uid {}, not {owners}, so that user could replace what memstatd \
                 keeps in it: {}",
                m.uid(),
                self.instead
            )));
        }
        let mode = m.mode() & 0o7777;
        let sticky = mode & STICKY != 0;
        if mode & OTHERS_WRITE == 0 || self.sticky && sticky {
            return Ok(());
        }
        let why = if self.sticky {
            format!(
                "is writable by other users (mode {mode:04o}) and not sticky, so they could \
                 replace what memstatd keeps in it: make it writable only by its owner (chmod \
                 go-w) or sticky (chmod +t), or {}",
                self.instead
            )
        } else if sticky {
            // A shared directory such as /tmp: no chmod of it is the answer.
            format!(
                "is writable by other users (mode {mode:04o}), so they could put their own \
                 entries where memstatd's go: {}",
                self.instead
            )
        } else {
            format!(
                "is writable by other users (mode {mode:04o}), so they could plant or replace \
                 what memstatd keeps in it: check what is in it and make it writable only by its \
                 owner (chmod go-w), or {}",
                self.instead
            )
        };
        Err(refused(why))
    }
}

/// What a name in a directory is.
enum Entry {
    /// A directory, open (`O_PATH` unless it was just made).
    Dir(File),
    /// A symlink, with its owner and what it names.
    Link { owner: u32, target: PathBuf },
    /// Nothing, and nothing was to be made.
    Missing,
    /// Something else.
    Other,
}

/// Opens entry `name` of `at` without following a symlink; makes it a
/// directory of mode `create`, exactly, when it is missing and `create` is
/// given. Errors are what to say of `name`.
fn entry(at: &File, name: &OsStr, create: Option<u32>) -> Result<Entry, String> {
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
    match openat(at, name, flags, 0) {
        Ok(dir) => Ok(Entry::Dir(dir)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let Some(mode) = create else {
                return Ok(Entry::Missing);
            };
            let c = cstr(name).map_err(|e| e.to_string())?;
            // SAFETY: c is a NUL-terminated string that outlives the call.
            match check(unsafe { libc::mkdirat(at.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) })
            {
                // Made meanwhile by someone else: taken as found.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => entry(at, name, None),
                Err(e) => Err(format!("is missing and cannot be made: {e}")),
                Ok(()) => {
                    // The umask may have taken bits: the descriptor, never
                    // the path, gets them back.
                    let made = openat(
                        at,
                        name,
                        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                        0,
                    )
                    .and_then(|d| d.set_permissions(Permissions::from_mode(mode)).map(|()| d))
                    .map_err(|e| format!("was made but cannot be made mode {mode:04o}: {e}"))?;
                    Ok(Entry::Dir(made))
                }
            }
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENOTDIR)) => {
            let what = || -> io::Result<Entry> {
                let entry = openat(at, name, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
                let m = entry.metadata()?;
                if !m.file_type().is_symlink() {
                    return Ok(Entry::Other);
                }
                Ok(Entry::Link {
                    owner: m.uid(),
                    target: read_link(&entry)?,
                })
            };
            what().map_err(|e| cannot("examined", e))
        }
        Err(e) => Err(cannot("opened", e)),
    }
}

/// The names on `path`, `..` included.
fn names(path: &Path) -> VecDeque<OsString> {
    let mut names = VecDeque::new();
    for c in path.components() {
        match c {
            Component::Normal(name) => names.push_back(name.to_owned()),
            Component::ParentDir => names.push_back("..".into()),
            _ => {}
        }
    }
    names
}

/// What to say of an entry that cannot be `what` (opened, examined).
fn cannot(what: &str, e: io::Error) -> String {
    format!("cannot be {what}: {e}")
}

/// Opens the directory `dir` stands for to read it.
fn reopen(dir: &File) -> io::Result<File> {
    openat(dir, OsStr::new("."), libc::O_RDONLY | libc::O_DIRECTORY, 0)
}

/// What the symlink open (`O_PATH`) as `link` names.
fn read_link(link: &File) -> io::Result<PathBuf> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: the empty name is NUL-terminated, and buf is writable for the
    // length given.
    let n = unsafe {
        libc::readlinkat(
            link.as_raw_fd(),
            c"".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(OsString::from_vec(buf).into())
}

/// The user memstatd runs as.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// `name` as a C string.
pub(crate) fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} has a NUL byte"),
        )
    })
}

/// A call's return value as a result, its error from errno.
pub(crate) fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `openat(at, name, flags, mode)`, close-on-exec.
pub(crate) fn openat(
    at: &File,
    name: &OsStr,
    flags: libc::c_int,
    mode: libc::c_uint,
) -> io::Result<File> {
    let name = cstr(name)?;
    // SAFETY: name is a NUL-terminated string that outlives the call.
    let fd = unsafe {
        libc::openat(
            at.as_raw_fd(),
            name.as_ptr(),
            flags | libc::O_CLOEXEC | libc::O_NOCTTY,
            mode,
        )
    };
    check(fd)?;
    // SAFETY: openat returned a new descriptor that nothing else owns.
    Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
}

#[cfg(test)]
mod tests;

//! Where per-app memory cgroups live and what their files say.
//!
//! The platform puts each app's processes in `uid_<N>/pid_<M>` cgroups
//! (system/core `libprocessgroup`): under the cgroup v2 root
//! (`/sys/fs/cgroup/uid_<N>`, or `apps/uid_<N>` and `system/uid_<N>` with
//! `cgroup_v2_sys_app_isolation`) where the memory controller is active at
//! that depth, or under the v1 memory hierarchy (`/dev/memcg/apps/uid_<N>`,
//! `ro.config.per_app_memcg`; `/dev/memcg/system` there holds
//! system_server, not UIDs). A `uid_<N>` directory's files are the sums over
//! its `pid_<M>` children.

use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
/// Bytes read of one file (`memory.stat` is about 1.5 KiB).
const MAX_FILE: u64 = 65536;

/// The cgroup interface a hierarchy speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    V1,
    V2,
}

impl Version {
    /// `memory.stat` keys of charged bytes (anon, file with shmem, shmem),
    /// and the file of all charged bytes.
    fn keys(self) -> ([&'static str; 3], &'static str) {
        match self {
            Version::V1 => (
                ["total_rss", "total_cache", "total_shmem"],
                "memory.usage_in_bytes",
            ),
            Version::V2 => (["anon", "file", "shmem"], "memory.current"),
        }
    }

    /// Where `uid_<N>` directories sit under the root.
    fn parents(self) -> &'static [&'static str] {
        match self {
            Version::V1 => &["apps"],
            Version::V2 => &["", "apps", "system"],
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Version::V1 => "cgroup v1",
            Version::V2 => "cgroup v2",
        }
    }
}

/// A `memory.stat` and the charged total: bytes anon, file (shmem not
/// included), shmem and all (kernel memory too where it is accounted);
/// `None` if a key is missing or a value malformed.
pub(crate) fn parse(version: Version, stat: &[u8], total: &[u8]) -> Option<[u64; 4]> {
    let (charged, _) = version.keys();
    let value = |key: &str| -> Option<u64> {
        stat.split(|&b| b == b'\n').find_map(|line| {
            let rest = line.strip_prefix(key.as_bytes())?.strip_prefix(b" ")?;
            std::str::from_utf8(rest).ok()?.trim().parse().ok()
        })
    };
    let [anon, file, shmem] = [value(charged[0])?, value(charged[1])?, value(charged[2])?];
    let total = std::str::from_utf8(total).ok()?.trim().parse().ok()?;
    Some([anon, file.saturating_sub(shmem), shmem, total])
}

/// A `uid_<N>` directory's UID.
pub(crate) fn uid_of(name: &[u8]) -> Option<u32> {
    let digits = name.strip_prefix(b"uid_")?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// A memory cgroup hierarchy where per-app cgroups are looked for.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    pub(crate) version: Version,
    /// The directories that may hold `uid_<N>` directories (they come and
    /// go with the apps).
    parents: Vec<PathBuf>,
}

/// One `uid_<N>` directory found.
pub(crate) struct Found {
    pub(crate) uid: u32,
    /// Its bytes (see [`parse`]); `None` where its memory files could not be
    /// read (the controller is not active at its depth, or it is going).
    pub(crate) charged: Option<[u64; 4]>,
}

impl Layout {
    /// The hierarchy at `root`: a cgroup file system (not reached through a
    /// symbolic link) with the memory controller.
    pub(crate) fn find(root: &Path) -> Result<Layout, String> {
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(root)
            .map_err(|e| format!("{}: {e}", root.display()))?;
        let version = match fs_magic(&dir).map_err(|e| format!("{}: {e}", root.display()))? {
            CGROUP2_SUPER_MAGIC => Version::V2,
            CGROUP_SUPER_MAGIC => Version::V1,
            _ => return Err(format!("{} is no cgroup file system", root.display())),
        };
        let memory = match version {
            Version::V1 => root.join("memory.stat").exists(),
            Version::V2 => std::fs::read_to_string(root.join("cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory")),
        };
        if !memory {
            return Err(format!(
                "{} ({}) has no memory controller",
                root.display(),
                version.name()
            ));
        }
        let parents = version.parents().iter().map(|p| root.join(p)).collect();
        Ok(Layout { version, parents })
    }

    /// Where it looks, for the report: `<parent>/uid_<N>`, ...
    pub(crate) fn describe(&self) -> String {
        let each = self
            .parents
            .iter()
            .map(|p| format!("{}/uid_<N>", p.display()));
        each.collect::<Vec<_>>().join(", ")
    }

    /// Every `uid_<N>` directory now, at most `max`, with its numbers.
    pub(crate) fn read(&self, max: usize) -> Vec<Found> {
        let mut found = Vec::new();
        for parent in &self.parents {
            let Ok(entries) = std::fs::read_dir(parent) else {
                continue;
            };
            for e in entries.flatten() {
                if found.len() >= max {
                    return found;
                }
                let Some(uid) = uid_of(e.file_name().as_bytes()) else {
                    continue;
                };
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    let charged = self.charged(&e.path());
                    found.push(Found { uid, charged });
                }
            }
        }
        found
    }

    /// A cgroup directory's bytes.
    fn charged(&self, dir: &Path) -> Option<[u64; 4]> {
        let (_, total) = self.version.keys();
        let stat = read_bounded(&dir.join("memory.stat")).ok()?;
        parse(self.version, &stat, &read_bounded(&dir.join(total)).ok()?)
    }
}

fn fs_magic(file: &std::fs::File) -> io::Result<i64> {
    use std::os::fd::AsRawFd;
    // SAFETY: an all-zero statfs is a valid value to overwrite.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: the descriptor is open and s is a valid statfs to write.
    if unsafe { libc::fstatfs(file.as_raw_fd(), &mut s) } < 0 {
        return Err(io::Error::last_os_error());
    }
    #[allow(clippy::unnecessary_cast)] // f_type's width differs by target.
    Ok(s.f_type as i64)
}

/// A file of the cgroup file system, up to [`MAX_FILE`] bytes, without
/// following a link or waiting on a FIFO.
fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    let mut out = Vec::new();
    file.take(MAX_FILE).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V2: &str = "anon 1052672\nfile 8192000\nkernel 745472\nshmem 4096\n\
                      pgfault 10776\npgmajfault 3\nworkingset_refault_anon 0\n";
    const V1: &str = "cache 0\nrss 0\nrss_huge 0\nshmem 0\ntotal_cache 73728\n\
                      total_rss 1056768\ntotal_rss_huge 0\ntotal_shmem 8192\n";

    #[test]
    fn parses_each_version_by_its_own_keys() {
        let v2 = parse(Version::V2, V2.as_bytes(), b"9990144\n").unwrap();
        assert_eq!(v2, [1052672, 8192000 - 4096, 4096, 9990144]);
        // v1's own (non-total) keys are of the cgroup alone: not read.
        let v1 = parse(Version::V1, V1.as_bytes(), b"1200000\n").unwrap();
        assert_eq!(v1, [1056768, 73728 - 8192, 8192, 1200000]);
    }

    #[test]
    fn a_missing_key_or_bad_value_is_no_stat() {
        let no_shmem = V2.replace("shmem 4096\n", "");
        assert_eq!(parse(Version::V2, no_shmem.as_bytes(), b"1"), None);
        let bad = V2.replace("anon 1052672", "anon x");
        assert_eq!(parse(Version::V2, bad.as_bytes(), b"1"), None);
        assert_eq!(parse(Version::V2, V2.as_bytes(), b"max\n"), None);
        // A key is matched whole: total_rss is not total_rss_huge.
        let only_huge = V1.replace("total_rss 1056768\n", "");
        assert_eq!(parse(Version::V1, only_huge.as_bytes(), b"1"), None);
    }

    #[test]
    fn uid_directories_are_named_uid_and_digits() {
        assert_eq!(uid_of(b"uid_10123"), Some(10123));
        assert_eq!(uid_of(b"uid_0"), Some(0));
        for bad in [
            &b"uid_"[..],
            b"uid_1x",
            b"pid_12",
            b"uid_-1",
            b"uid_99999999999",
        ] {
            assert_eq!(uid_of(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}

//! UID → name. On a Linux host, the user names of a passwd file (`passwd`);
//! on Android, the packages of /data/system/packages.list, the platform's
//! AIDs and the names Android gives users, isolated processes and SDK
//! sandboxes (`android`, `aid`). The file is read again whenever it changes;
//! a missing, unreadable or malformed file gives no names from it (reports
//! then show bare UIDs, or on Android the names that need no file), never
//! an error.

mod aid;
mod android;
mod made;
mod passwd;

use made::Made;
use std::collections::HashMap;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// At most this much of a file is read (a device's packages.list is a few
/// hundred KiB); a longer one is cut at a line end.
const MAX_BYTES: usize = 8 << 20;

/// UID → name, from the passwd file on a host or packages.list on Android,
/// read again whenever the file changes.
pub struct UidNames {
    path: PathBuf,
    /// The file as last read: a change of any of these means it changed
    /// (PackageManager replaces packages.list by renaming a new file).
    stamp: Option<Stamp>,
    names: Names,
    made: Made,
    /// Reading fails, and it was said.
    failing: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: SystemTime,
    len: u64,
    inode: u64,
}

enum Names {
    Passwd(HashMap<u32, String>),
    Android(android::Packages),
}

impl UidNames {
    /// Names from a passwd-format file.
    pub fn passwd(path: &Path) -> Self {
        UidNames::new(path, Names::Passwd(HashMap::new()))
    }

    /// Android's names, with apps' from a packages.list file.
    pub fn android(packages_list: &Path) -> Self {
        UidNames::new(packages_list, Names::Android(android::Packages::default()))
    }

    fn new(path: &Path, names: Names) -> Self {
        let mut names = UidNames {
            path: path.to_owned(),
            stamp: None,
            names,
            made: Made::default(),
            failing: false,
        };
        names.refresh();
        names
    }

    /// Reads the file again if it changed since the last read.
    pub(crate) fn refresh(&mut self) {
        if self.made.too_big() {
            self.made = Made::default();
        }
        let stamp = std::fs::metadata(&self.path).ok().and_then(|m| {
            Some(Stamp {
                modified: m.modified().ok()?,
                len: m.len(),
                inode: m.ino(),
            })
        });
        if stamp.is_some() && stamp == self.stamp {
            return;
        }
        self.stamp = stamp;
        self.made = Made::default();
        let path = self.path.display();
        let text = match read(&self.path) {
            Ok((text, cut)) => {
                if cut {
                    log::warn!("{path}: longer than {MAX_BYTES} bytes; names from its start only");
                }
                self.failing = false;
                text
            }
            Err(e) => {
                // Said once, not at every dump.
                if !self.failing {
                    log::warn!("{path}: {e}; UIDs are shown without names from it");
                    self.failing = true;
                }
                String::new()
            }
        };
        match &mut self.names {
            Names::Passwd(names) => *names = passwd::parse(&text),
            Names::Android(packages) => {
                let parsed = android::parse(&text);
                if let Some(first) = &parsed.first_skipped {
                    log::warn!(
                        "{path}: {} malformed lines skipped ({first})",
                        parsed.skipped
                    );
                }
                if parsed.stopped {
                    log::warn!(
                        "{path}: more than {} lines; the rest is ignored",
                        android::MAX_LINES
                    );
                }
                *packages = parsed.packages;
            }
        }
    }

    /// The name of `uid`, if it has one.
    pub(crate) fn name(&self, uid: u32) -> Option<&str> {
        match &self.names {
            Names::Passwd(names) => names.get(&uid).map(String::as_str),
            Names::Android(packages) => match android::name(uid, packages)? {
                android::Name::Known(name) => Some(name),
                android::Name::Made(made) => Some(self.made.get_or_make(uid, || made.to_string())),
            },
        }
    }
}

/// The file's text, at most `MAX_BYTES` of it, and whether it was cut.
fn read(path: &Path) -> io::Result<(String, bool)> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    let cut = bytes.len() > MAX_BYTES;
    if cut {
        // A line cut in two is no line.
        bytes.truncate(MAX_BYTES);
        let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(end);
    }
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok((text, cut))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    use crate::testing::TempDir;

    /// Replaces the file as PackageManager does: a new file renamed over it.
    fn replace(path: &Path, text: &str) {
        let tmp = path.with_extension("tmp");
        fs::write(&tmp, text).unwrap();
        fs::rename(&tmp, path).unwrap();
    }

    const LINE_A: &str = "com.example.a 10123 0 /data/user/0/com.example.a \
                          default:targetSdkVersion=34 3003 0 7 1 com.android.vending\n";
    const LINE_B: &str = "com.example.b 10123 0 /data/user/0/com.example.b \
                          default:targetSdkVersion=34 3003 0 7 1 com.android.vending\n";

    #[test]
    fn a_missing_file_gives_no_names() {
        let names = UidNames::passwd(Path::new("/nonexistent/passwd"));
        assert_eq!(names.name(0), None);
    }

    #[test]
    fn a_missing_packages_list_still_names_the_rest() {
        let mut names = UidNames::android(Path::new("/nonexistent/packages.list"));
        names.refresh();
        assert_eq!(names.name(0), Some("root"));
        assert_eq!(names.name(1000), Some("system"));
        assert_eq!(names.name(10_123), Some("u0_a123"));
        assert_eq!(names.name(1_010_123), Some("u10_a123"));
        assert_eq!(names.name(99_001), Some("u0_i9001 (isolated)"));
        assert_eq!(names.name(50_000), None);
    }

    #[test]
    fn an_unreadable_file_gives_no_app_names() {
        let dir = TempDir::new("dir");
        // A directory: it exists, but reading it fails.
        let names = UidNames::android(dir.path());
        assert_eq!(names.name(10_123), Some("u0_a123"));
        assert_eq!(names.name(2000), Some("shell"));
    }

    #[test]
    fn packages_list_is_read_again_when_it_changes() {
        let dir = TempDir::new("refresh");
        let path = dir.path().join("packages.list");
        replace(&path, LINE_A);
        let mut names = UidNames::android(&path);
        assert_eq!(names.name(10_123), Some("com.example.a"));
        assert_eq!(names.name(1_010_123), Some("com.example.a (user 10)"));
        assert_eq!(names.name(20_123), Some("com.example.a (sdk sandbox)"));

        names.refresh();
        assert_eq!(names.name(1_010_123), Some("com.example.a (user 10)"));

        // Same size, new file: the shared UID gains a package.
        replace(&path, &format!("{LINE_B}{LINE_A}"));
        names.refresh();
        assert_eq!(names.name(10_123), Some("com.example.a,com.example.b"));
        assert_eq!(
            names.name(1_010_123),
            Some("com.example.a,com.example.b (user 10)")
        );

        // Uninstalled; then the file is gone.
        replace(&path, "");
        names.refresh();
        assert_eq!(names.name(10_123), Some("u0_a123"));
        replace(&path, LINE_B);
        names.refresh();
        assert_eq!(names.name(10_123), Some("com.example.b"));
        fs::remove_file(&path).unwrap();
        names.refresh();
        assert_eq!(names.name(10_123), Some("u0_a123"));
        assert_eq!(names.name(1000), Some("system"));
        replace(&path, LINE_A);
        names.refresh();
        assert_eq!(names.name(10_123), Some("com.example.a"));
    }

    #[test]
    fn passwd_is_read_again_when_it_changes() {
        let dir = TempDir::new("passwd");
        let path = dir.path().join("passwd");
        replace(&path, "root:x:0:0:root:/root:/bin/sh\n");
        let mut names = UidNames::passwd(&path);
        assert_eq!(names.name(0), Some("root"));
        assert_eq!(names.name(61501), None);
        // Passwd names are the file's only: no Android naming on a host.
        assert_eq!(names.name(1000), None);
        assert_eq!(names.name(10_123), None);
        replace(
            &path,
            "root:x:0:0:root:/root:/bin/sh\nworker:x:61501:61501::/:/bin/sh\n",
        );
        names.refresh();
        assert_eq!(names.name(61501), Some("worker"));
    }

    #[test]
    fn a_malformed_file_gives_no_app_names() {
        let dir = TempDir::new("malformed");
        let path = dir.path().join("packages.list");
        replace(
            &path,
            "\u{0}\u{1}binary\u{2}garbage\nno fields here at all\n",
        );
        let names = UidNames::android(&path);
        assert_eq!(names.name(10_123), Some("u0_a123"));
        assert_eq!(names.name(1000), Some("system"));
    }

    #[test]
    fn a_huge_file_is_read_up_to_the_bound() {
        let dir = TempDir::new("huge");
        let path = dir.path().join("packages.list");
        let filler = format!(
            "com.filler 10001 0 /data/user/0/com.filler x {}\n",
            "1,".repeat(1000)
        );
        let mut text = String::from(LINE_A);
        while text.len() <= MAX_BYTES {
            text.push_str(&filler);
        }
        text.push_str(LINE_B.replace("10123", "10124").as_str());
        replace(&path, &text);
        let (read_text, cut) = read(&path).unwrap();
        assert!(cut);
        assert!(read_text.len() <= MAX_BYTES && read_text.ends_with('\n'));
        let names = UidNames::android(&path);
        assert_eq!(names.name(10_123), Some("com.example.a"));
        assert_eq!(names.name(10_001), Some("com.filler"));
        // Past the bound.
        assert_eq!(names.name(10_124), Some("u0_a124"));
    }

    #[test]
    fn made_names_are_lent_and_kept_until_the_file_changes() {
        let dir = TempDir::new("made");
        let path = dir.path().join("packages.list");
        replace(&path, LINE_A);
        let mut names = UidNames::android(&path);
        let first = names.name(1_010_123).unwrap().as_ptr();
        assert_eq!(names.name(1_010_123).unwrap().as_ptr(), first);
        assert_eq!(names.made.names(), 1);
        names.refresh();
        assert_eq!(names.made.names(), 1);
        replace(&path, LINE_B);
        names.refresh();
        assert_eq!(names.made.names(), 0);
        assert_eq!(names.name(1_010_123), Some("com.example.b (user 10)"));
        // Bounded: past 65,536, the next refresh forgets them.
        // Every isolated UID of users 1 to 7: 70,000 names.
        for user in 1..=7 {
            for app_id in 90_000..100_000 {
                assert!(names.name(user * 100_000 + app_id).is_some());
            }
        }
        assert_eq!(names.made.names(), 70_001);
        names.refresh();
        assert_eq!(names.made.names(), 0);
        assert_eq!(names.name(1_099_005), Some("u10_i9005 (isolated)"));
    }
}

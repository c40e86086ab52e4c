//! UID → name. On a Linux host, the user names of `/etc/passwd`, read again
//! whenever the file changes. (Android's packages.list and AIDs come with
//! the Android integration.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub struct UidNames {
    path: PathBuf,
    modified: Option<SystemTime>,
    names: HashMap<u32, String>,
    warned: bool,
}

impl UidNames {
    /// Names from a passwd-format file. A missing or unreadable file gives no
    /// names (reports then show bare UIDs), never an error.
    pub fn passwd(path: &Path) -> Self {
        let mut names = UidNames {
            path: path.to_owned(),
            modified: None,
            names: HashMap::new(),
            warned: false,
        };
        names.refresh();
        names
    }

    /// Reads the file again if it changed since the last read.
    pub fn refresh(&mut self) {
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        if modified.is_some() && modified == self.modified {
            return;
        }
        let had_names = self.modified.is_some();
        self.modified = modified;
        self.names = match std::fs::read(&self.path) {
            Ok(bytes) => parse_passwd(&String::from_utf8_lossy(&bytes)),
            Err(e) => {
                // Said once, not at every dump.
                if had_names || !self.warned {
                    log::warn!("{}: {e}; UIDs are shown without names", self.path.display());
                    self.warned = true;
                }
                HashMap::new()
            }
        };
    }

    pub fn name(&self, uid: u32) -> Option<&str> {
        self.names.get(&uid).map(String::as_str)
    }
}

/// `name:password:uid:...` lines; malformed lines are skipped, and the first
/// name of a UID wins (as getpwuid returns it).
pub fn parse_passwd(text: &str) -> HashMap<u32, String> {
    let mut names = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(uid)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        if let Ok(uid) = uid.parse() {
            names.entry(uid).or_insert_with(|| name.to_owned());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines() {
        let names = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\n\
             # a comment:x:5\n\
             broken line\n\
             nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n\
             alias:x:0:0::/:/bin/sh\n\
             bad:x:notanumber:0::/:/bin/sh\n",
        );
        assert_eq!(names.len(), 2);
        assert_eq!(names[&0], "root");
        assert_eq!(names[&65534], "nobody");
    }

    #[test]
    fn a_missing_file_gives_no_names() {
        let names = UidNames::passwd(Path::new("/nonexistent/passwd"));
        assert_eq!(names.name(0), None);
    }
}

//! User names of a passwd-format file (a Linux host's /etc/passwd).

use std::collections::HashMap;

/// `name:password:uid:...` lines; malformed lines are skipped, and the first
/// name of a UID wins (as getpwuid returns it).
pub fn parse(text: &str) -> HashMap<u32, String> {
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
        let names = parse(
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
}

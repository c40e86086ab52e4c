//! Pins on a Linux host: who may open them, and whether a reused program
//! still uses the maps pinned beside it.
//!
//! The platform's groups (AID_MEMSTAT, AID_SYSTEM) are ordinary users' groups
//! on a Linux host, so a pin whose definition names a group gets the group
//! memstatd is given instead: root unless `--pin-group` names one. Owners and
//! modes stay the definitions'.

use super::elf::{Elf, Section};
use super::load::LoadError;
use crate::bpf::sys;
use crate::trusted_dir::{euid, Links, Owner, Rule};
use std::ffi::CString;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// The pin root: whoever can write it, or a directory above it, can plant a
/// map or program memstatd would then reuse, or swap the directory later
/// pins go to (pins are made and opened by path). Others may write it only
/// when it is sticky (a bare bpffs mount is 1777): then nobody else can
/// replace what memstatd pinned, and every pin reused is checked by
/// [`check_reused`].
const PIN_ROOT: Rule = Rule {
    role: "the pin root",
    owner: Owner::RootOrDaemon,
    sticky: true,
    create: Some(0o755),
    links: Links::Refuse,
    instead: "give memstatd a --pin-root of its own",
};

/// The pin root, made 0755 when missing, once [`PIN_ROOT`] allows it.
pub(crate) fn open_root(root: &Path) -> Result<std::fs::File, LoadError> {
    PIN_ROOT
        .open(root)
        .map(|(dir, _)| dir)
        .map_err(|e| LoadError::PinRoot {
            path: root.to_owned(),
            why: e.reason(),
        })
}

/// A pin about to be reused must be one root (or memstatd) made: not a
/// symbolic link, and owned by one of them.
pub(crate) fn check_reused(path: &Path) -> Result<(), LoadError> {
    let foreign = |why: String| LoadError::ForeignPin {
        path: path.to_owned(),
        why,
    };
    let meta = std::fs::symlink_metadata(path).map_err(|e| foreign(e.to_string()))?;
    if meta.file_type().is_symlink() {
        return Err(foreign("is a symbolic link".into()));
    }
    if !trusted(meta.uid()) {
        return Err(foreign(format!("is owned by uid {}, not root", meta.uid())));
    }
    Ok(())
}

fn trusted(uid: u32) -> bool {
    uid == 0 || uid == euid()
}

/// Gives `path` its owner, group and mode. Also on reuse: a pin left by an
/// earlier build keeps no group it should not have.
pub(crate) fn set_owner(path: &Path, uid: u32, gid: u32, mode: u32) -> Result<(), LoadError> {
    let err = |source| LoadError::Pin {
        path: path.to_owned(),
        source,
    };
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(err)
}

/// The relocation section of `code`, if it has one (it directly follows
/// its code section: rule 1.4.3).
pub(crate) fn relocations_of<'a>(elf: &'a Elf, code: &Section) -> Option<&'a Section> {
    let name = format!(".rel{}", code.name);
    elf.sections.get(code.index + 1).filter(|s| s.name == name)
}

/// The maps `code` is relocated against that the loaded program `prog`
/// does not use: those map pins were made after the program was.
pub(crate) fn unused_maps(
    elf: &Elf,
    code: &Section,
    map_fds: &[Option<OwnedFd>],
    prog: &OwnedFd,
) -> io::Result<Vec<String>> {
    let used = sys::prog_map_ids(prog)?;
    let mut unused = Vec::new();
    let Some(rel) = relocations_of(elf, code) else {
        return Ok(unused);
    };
    for r in elf.relocations(rel) {
        let sym = &elf.symbols[r.symbol];
        let index = sym.value as usize / super::elf::MAP_DEF_SIZE;
        let Some(fd) = map_fds.get(index).and_then(Option::as_ref) else {
            continue;
        };
        if !used.contains(&sys::map_info(fd)?.id) && !unused.contains(&sym.name) {
            unused.push(sym.name.clone());
        }
    }
    Ok(unused)
}

/// A group given to `--pin-group`: a number, or a name from the group
/// database.
pub fn group_id(group: &str) -> Result<u32, String> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    let name = CString::new(group).map_err(|_| format!("bad group name {group:?}"))?;
    let mut buf = vec![0u8; 1024];
    loop {
        // SAFETY: plain integers and pointers, for which zeroes are valid.
        let mut entry: libc::group = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; buf outlives it and
        // its length is given.
        let rc = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                &mut entry,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut found,
            )
        };
        match rc {
            0 if found.is_null() => {
                return Err(format!(
                    "no group {group:?}: give a group name of /etc/group or a number"
                ))
            }
            0 => return Ok(entry.gr_gid),
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            e => {
                return Err(format!(
                    "cannot look up group {group:?}: {}",
                    io::Error::from_raw_os_error(e)
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::{memory, syscalls};
    use crate::probes::memory::GROUPS;
    use crate::probes::pins::USES;

    /// The maps memstatd opens of `object`.
    fn opened(object: &str) -> Vec<String> {
        if object == syscalls::OBJECT {
            return [
                syscalls::MAP_ROWS,
                syscalls::MAP_ROW_UID,
                syscalls::MAP_SLOTS,
                syscalls::MAP_COUNTS,
                syscalls::MAP_OVERFLOW,
                syscalls::MAP_CONFIG,
                syscalls::MAP_LATENCY,
            ]
            .map(String::from)
            .to_vec();
        }
        if object == crate::abi::tasks::OBJECT {
            use crate::abi::tasks as t;
            return [
                t::MAP_UID,
                t::MAP_OTHER,
                t::MAP_DEAD,
                t::MAP_CONFIG,
                t::MAP_HELD,
                t::MAP_DROPS,
                t::MAP_WINDOW,
            ]
            .map(String::from)
            .to_vec();
        }
        let g = GROUPS.iter().find(|g| g.object == object).expect("a group");
        [memory::MAP_UID, memory::MAP_OTHER, memory::MAP_CONFIG]
            .map(|m| memory::map_name(g.name, m))
            .to_vec()
    }

    #[test]
    fn the_table_of_maps_each_program_uses_is_the_objects() {
        let mut checked = 0;
        for (object, bytes) in super::super::builtin::OBJECTS {
            let elf = Elf::parse(object, bytes).unwrap();
            let opened = opened(object);
            for code in elf.code_sections().filter(|s| s.name != ".text") {
                let mut uses: Vec<String> = relocations_of(&elf, code)
                    .map(|rel| elf.relocations(rel))
                    .unwrap_or_default()
                    .iter()
                    .map(|r| elf.symbols[r.symbol].name.clone())
                    .filter(|m| opened.contains(m))
                    .collect();
                uses.sort();
                uses.dedup();
                let mut table: Vec<String> = USES
                    .iter()
                    .find(|(o, s, _)| o == object && *s == code.name)
                    .map(|(_, _, m)| m.iter().map(|m| m.to_string()).collect())
                    .unwrap_or_default();
                table.sort();
                assert_eq!(table, uses, "{object} {}", code.name);
                checked += 1;
            }
        }
        assert_eq!(checked, 45, "every program of every object");
        for (object, section, _) in USES {
            let (_, bytes) = super::super::builtin::OBJECTS
                .iter()
                .find(|(o, _)| o == object)
                .unwrap();
            let elf = Elf::parse(object, bytes).unwrap();
            assert!(
                elf.code_sections().any(|s| s.name == *section),
                "{object} has no program {section}"
            );
        }
    }

    #[test]
    fn groups_by_number_or_name() {
        assert_eq!(group_id("1104"), Ok(1104));
        assert_eq!(group_id("0"), Ok(0));
        assert_eq!(group_id("root"), Ok(0));
        let e = group_id("no-such-group-here").unwrap_err();
        assert!(e.contains("no group \"no-such-group-here\""), "{e}");
    }
}

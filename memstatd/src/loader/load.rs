//! Loads checked objects into a bpffs mount the way the platform bpfloader
//! does (PLATFORM.md §1.4, §2): maps first, created or reused from a
//! compatible pin, then each program relocated against them, loaded and
//! pinned with its definition's owner and mode, and the group memstatd is
//! given (`pins`). Nothing is attached.

use super::check::{check_elf, Violation};
use super::elf::{ignore_on, Elf, MapDef, MAP_DEF_SIZE};
use super::pins;
use super::{program_def, KernelVersion};
use crate::abi;
use crate::bpf::sys::{self, MapShape};
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The platform bpfloader version we play (Android 14 QPR2 and later).
pub(crate) const LOADER_VERSION: u32 = 41;
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;
const BPF_PSEUDO_MAP_FD: u8 = 1;
const PROG_PIN_MODE: u32 = 0o440;

/// What the loader did with one map or program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Created (a map) or loaded (a program) now, and pinned.
    Created,
    /// An existing pin was kept: a compatible map, or any program of the right
    /// type, as the platform does.
    Reused,
    /// Not loaded, for the reason given: outside its loader or kernel version
    /// range, ignored on this architecture, or an optional program the verifier
    /// rejected.
    Skipped(String),
}

/// What happened to each map and program of one object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub(crate) object: String,
    /// Each map by name, in definition order; `*` when the whole object was
    /// skipped.
    pub maps: Vec<(String, Outcome)>,
    /// Each program by section name, in definition order.
    pub programs: Vec<(String, Outcome)>,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (kind, list) in [("map", &self.maps), ("program", &self.programs)] {
            for (name, outcome) in list {
                writeln!(f, "{}: {kind} {name}: {outcome:?}", self.object)?;
            }
        }
        Ok(())
    }
}

/// Why an object could not be loaded. Maps pinned before the failure stay.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The object breaks the platform bpfloader's rules; nothing was loaded.
    #[error(
        "{object}: rejected by the platform bpfloader's rules:\n  {}",
        list(violations)
    )]
    Format {
        /// The object's name.
        object: String,
        /// Every rule it breaks.
        violations: Vec<Violation>,
    },
    /// The kernel release could not be read or parsed, so version ranges
    /// cannot be applied.
    #[error("cannot tell the running kernel's version: {0}")]
    KernelVersion(io::Error),
    /// The pin root given is not on a bpffs mount.
    #[error("{0} is not a bpffs mount: mount one with `mount -t bpf bpf {0}`")]
    NotBpffs(String),
    /// The pin root could be written by another user, who could then plant
    /// maps or programs memstatd would reuse.
    #[error(
        "pin root {}: {why}; use a directory only root can write (memstatd creates \
         --pin-root 0755 when it is missing)",
        path.display()
    )]
    PinRoot {
        /// The pin root.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A pin memstatd would reuse was not made by root.
    #[error("pin {} {why}: remove it (rm {}) and load again", path.display(), path.display())]
    ForeignPin {
        /// The pin.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A pin already exists where a map or program goes, and does not match it.
    #[error(
        "{object}: existing pin {} is incompatible (rule 1.4.8): it holds {found}, the object \
         defines {wanted}; it is stale, from another build: remove it and the object's program \
         pins, which use it (rm {} {}), and load again",
        path.display(),
        path.display(),
        program_pins(path, object)
    )]
    IncompatiblePin {
        /// The object's name.
        object: String,
        /// The pin found.
        path: PathBuf,
        /// What the pin holds.
        found: String,
        /// What the object defines.
        wanted: String,
    },
    /// A program pin was reused whose program uses other maps than those
    /// pinned beside it: the map pins were made after it, and it would go on
    /// counting into maps nobody reads.
    #[error(
        "{object}: program pin {} is stale: it does not use the map pins beside it ({}), which \
         were made after it; remove the object's program pins (rm {}) and load again",
        path.display(),
        maps.join(", "),
        program_pins(path, object)
    )]
    StaleProgram {
        /// The object's name.
        object: String,
        /// The program pin.
        path: PathBuf,
        /// The maps the program should use and does not.
        maps: Vec<String>,
    },
    /// The kernel refused to create a map.
    #[error("{object}: cannot create map {map}: {source}")]
    MapCreate {
        /// The object's name.
        object: String,
        /// The map's name.
        map: String,
        /// The `BPF_MAP_CREATE` error.
        source: io::Error,
    },
    /// A pin could not be made, opened, or given its owner and mode.
    #[error("cannot pin {path}: {source}")]
    Pin {
        /// The pin.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A program not marked optional failed to load, which aborts the rest of
    /// its object.
    #[error(
        "{object}: program {section} failed to load (rule 1.4.7: a mandatory program aborts the rest of its object; \
         maps already pinned stay): {reason}"
    )]
    MandatoryProgram {
        /// The object's name.
        object: String,
        /// The program's section name.
        section: String,
        /// The verifier's or kernel's reason.
        reason: String,
        /// What was loaded before the failure (maps stay pinned).
        report: Box<LoadReport>,
    },
}

/// Every program pin of `object` beside `pin`, as a shell pattern.
fn program_pins(pin: &Path, object: &str) -> String {
    let root = pin.parent().unwrap_or(Path::new("."));
    root.join(format!("prog_{object}_*")).display().to_string()
}

fn list(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Plays the platform bpfloader on a bpffs mount.
pub struct HostLoader {
    pin_root: PathBuf,
    kernel: KernelVersion,
    arch_bit: u8,
    pin_gid: u32,
}

impl HostLoader {
    /// A loader for the running kernel, pinning under `pin_root` (a bpffs
    /// directory only root can write, made 0755 when missing), every pin of
    /// group root.
    pub fn new(pin_root: &Path) -> Result<Self, LoadError> {
        let kernel = KernelVersion::running().map_err(LoadError::KernelVersion)?;
        Self::with_kernel(pin_root, kernel)
    }

    /// As `new`, but pretending the kernel is `kernel` (for range rules).
    pub(crate) fn with_kernel(pin_root: &Path, kernel: KernelVersion) -> Result<Self, LoadError> {
        let root = pins::open_root(pin_root)?;
        if !is_bpffs(&root) {
            return Err(LoadError::NotBpffs(pin_root.display().to_string()));
        }
        Ok(HostLoader {
            pin_root: pin_root.to_owned(),
            kernel,
            arch_bit: kernel_arch_bit(),
            pin_gid: 0,
        })
    }

    /// Pins whose definition names a group (AID_MEMSTAT) get group `gid`
    /// instead of root (`--pin-group`): its members may open them as their
    /// modes allow (maps and programs 0440, config maps 0660).
    pub fn pin_group(mut self, gid: u32) -> Self {
        self.pin_gid = gid;
        self
    }

    /// The group of a pin whose definition names `gid`.
    fn group(&self, gid: u32) -> u32 {
        if gid == 0 {
            0
        } else {
            self.pin_gid
        }
    }

    /// Loads object `name` (file name without `.o`) from its ELF bytes.
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<LoadReport, LoadError> {
        let format_err = |violations| LoadError::Format {
            object: name.to_owned(),
            violations,
        };
        let elf = Elf::parse(name, bytes).map_err(|e| {
            format_err(vec![Violation {
                rule: super::Rule::ElfFormat,
                detail: e.reason,
            }])
        })?;
        let violations = check_elf(&elf);
        if !violations.is_empty() {
            return Err(format_err(violations));
        }

        let mut report = LoadReport {
            object: name.to_owned(),
            ..Default::default()
        };
        let min = elf.u32_section("bpfloader_min_ver").unwrap_or(0);
        let max = elf.u32_section("bpfloader_max_ver").unwrap_or(0x10000);
        if !(min..max).contains(&LOADER_VERSION) {
            let why = format!("object is for bpfloader [{min}, {max}), this is {LOADER_VERSION}");
            report.maps.push(("*".into(), Outcome::Skipped(why)));
            return Ok(report);
        }

        let map_fds = self.load_maps(name, &elf, &mut report)?;
        self.load_programs(name, &elf, &map_fds, report)
    }

    /// Why a definition is skipped on this kernel and loader, if it is.
    fn skip_reason(
        &self,
        what: &str,
        loader: (u32, u32),
        kver: (u32, u32),
        ignore: u8,
    ) -> Option<String> {
        if !(loader.0..loader.1).contains(&LOADER_VERSION) {
            return Some(format!(
                "{what} is for bpfloader [{}, {})",
                loader.0, loader.1
            ));
        }
        if !self.kernel.in_range(kver.0, kver.1) {
            return Some(format!(
                "{what} is for kernels [{:#x}, {:#x}), this is {:#x}",
                kver.0, kver.1, self.kernel.0
            ));
        }
        if ignore & self.arch_bit != 0 {
            return Some(format!("{what} is ignored on this architecture"));
        }
        None
    }

    /// Maps in definition order; `None` where a map was skipped.
    fn load_maps(
        &self,
        object: &str,
        elf: &Elf,
        report: &mut LoadReport,
    ) -> Result<Vec<Option<OwnedFd>>, LoadError> {
        let Some(section) = elf.section("maps") else {
            return Ok(Vec::new());
        };
        let mut fds: Vec<Option<OwnedFd>> = (0..section.data.len() / MAP_DEF_SIZE)
            .map(|_| None)
            .collect();
        for sym in elf.symbols_in(section.index) {
            let at = sym.value as usize;
            let def = MapDef::parse(&sym.name, &section.data[at..at + MAP_DEF_SIZE]);
            let skip = self.skip_reason(
                "map",
                (def.bpfloader_min_ver, def.bpfloader_max_ver),
                (def.min_kver, def.max_kver),
                def.ignore_on,
            );
            if let Some(why) = skip {
                report.maps.push((def.name, Outcome::Skipped(why)));
                continue;
            }
            // Android 15+ ignores pin_subdir and selinux_context; `shared` drops the object name.
            let path = if def.shared {
                self.pin_root.join(format!("map__{}", def.name))
            } else {
                abi::map_pin(&self.pin_root, object, &def.name)
            };
            let shape = MapShape {
                map_type: def.map_type,
                key_size: def.key_size,
                value_size: def.value_size,
                max_entries: def.max_entries,
                map_flags: def.map_flags,
            };
            let (fd, outcome) = match sys::obj_get(&path, 0) {
                Ok(fd) => {
                    pins::check_reused(&path)?;
                    let found = sys::map_info(&fd)
                        .map_err(|source| LoadError::Pin {
                            path: path.clone(),
                            source,
                        })?
                        .shape;
                    if found != shape {
                        return Err(LoadError::IncompatiblePin {
                            object: object.to_owned(),
                            path,
                            found: format!("{found:?}"),
                            wanted: format!("{shape:?}"),
                        });
                    }
                    pins::set_owner(&path, def.uid, self.group(def.gid), def.mode)?;
                    (fd, Outcome::Reused)
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    let fd = sys::map_create(&shape, &def.name).map_err(|source| {
                        LoadError::MapCreate {
                            object: object.to_owned(),
                            map: def.name.clone(),
                            source,
                        }
                    })?;
                    pin(&fd, &path, def.uid, self.group(def.gid), def.mode)?;
                    (fd, Outcome::Created)
                }
                Err(source) => return Err(LoadError::Pin { path, source }),
            };
            fds[at / MAP_DEF_SIZE] = Some(fd);
            report.maps.push((def.name, outcome));
        }
        Ok(fds)
    }

    fn load_programs(
        &self,
        object: &str,
        elf: &Elf,
        map_fds: &[Option<OwnedFd>],
        mut report: LoadReport,
    ) -> Result<LoadReport, LoadError> {
        let license = elf.section("license").map(|s| {
            let end = s.data.iter().position(|&b| b == 0).unwrap_or(s.data.len());
            String::from_utf8_lossy(&s.data[..end]).into_owned()
        });
        let maps_index = elf.section("maps").map(|s| s.index);
        for code in elf.code_sections().filter(|s| s.name != ".text") {
            let func = elf.function_of(code).expect("checked: rule 1.4.4");
            let def = program_def(elf, &func.name).expect("checked: rule 1.4.4");
            let skip = self.skip_reason(
                "program",
                (def.bpfloader_min_ver, def.bpfloader_max_ver),
                (def.min_kver, def.max_kver),
                def.ignore_on,
            );
            if let Some(why) = skip {
                report
                    .programs
                    .push((code.name.clone(), Outcome::Skipped(why)));
                continue;
            }
            let path = abi::prog_pin(&self.pin_root, object, &code.name);
            let prog_type = program_type(&code.name);
            // The platform reuses an existing program pin as it is; this
            // loader also checks that it uses the maps pinned beside it.
            match sys::obj_get(&path, sys::BPF_F_RDONLY) {
                Ok(fd) => {
                    pins::check_reused(&path)?;
                    let pin_err = |source| LoadError::Pin {
                        path: path.clone(),
                        source,
                    };
                    let info = sys::prog_info(&fd).map_err(pin_err)?;
                    if info.prog_type != prog_type {
                        return Err(LoadError::IncompatiblePin {
                            object: object.to_owned(),
                            path,
                            found: format!("a program of type {}", info.prog_type),
                            wanted: format!("type {prog_type}"),
                        });
                    }
                    let maps = pins::unused_maps(elf, code, map_fds, &fd).map_err(pin_err)?;
                    if !maps.is_empty() {
                        return Err(LoadError::StaleProgram {
                            object: object.to_owned(),
                            path,
                            maps,
                        });
                    }
                    pins::set_owner(&path, def.uid, self.group(def.gid), PROG_PIN_MODE)?;
                    report.programs.push((code.name.clone(), Outcome::Reused));
                    continue;
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(source) => return Err(LoadError::Pin { path, source }),
            }

            let loaded = relocate(elf, code, maps_index, map_fds).and_then(|insns| {
                sys::prog_load(
                    prog_type,
                    &insns,
                    license.as_deref().unwrap_or(""),
                    self.kernel.code(),
                    &func.name,
                )
                .map_err(|e| verifier_reason(&e))
            });
            match loaded {
                Ok(fd) => {
                    pin(&fd, &path, def.uid, self.group(def.gid), PROG_PIN_MODE)?;
                    report.programs.push((code.name.clone(), Outcome::Created));
                }
                Err(reason) if def.optional => {
                    log::info!(
                        "{object}: optional program {} not loaded: {reason}",
                        code.name
                    );
                    report.programs.push((
                        code.name.clone(),
                        Outcome::Skipped(format!("optional, failed: {reason}")),
                    ));
                }
                Err(reason) => {
                    return Err(LoadError::MandatoryProgram {
                        object: object.to_owned(),
                        section: code.name.clone(),
                        reason,
                        report: Box::new(report),
                    })
                }
            }
        }
        Ok(report)
    }
}

/// The program's instructions with every map reference resolved to an fd.
fn relocate(
    elf: &Elf,
    code: &super::elf::Section,
    maps_index: Option<usize>,
    map_fds: &[Option<OwnedFd>],
) -> Result<Vec<u8>, String> {
    let mut insns = code.data.clone();
    let Some(rel) = pins::relocations_of(elf, code) else {
        return Ok(insns);
    };
    for r in elf.relocations(rel) {
        let sym = &elf.symbols[r.symbol];
        debug_assert_eq!(Some(sym.section), maps_index);
        let fd = map_fds
            .get(sym.value as usize / MAP_DEF_SIZE)
            .and_then(Option::as_ref)
            .ok_or_else(|| {
                format!(
                    "it uses map {}, which was not created for this kernel",
                    sym.name
                )
            })?;
        let at = r.offset as usize;
        insns[at + 1] = (insns[at + 1] & 0x0F) | (BPF_PSEUDO_MAP_FD << 4);
        insns[at + 4..at + 8].copy_from_slice(&fd.as_raw_fd().to_le_bytes());
    }
    Ok(insns)
}

fn verifier_reason(e: &sys::ProgLoadError) -> String {
    let tail: Vec<&str> = e.log.lines().rev().take(4).collect();
    if tail.is_empty() {
        e.error.to_string()
    } else {
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("{}; verifier: {}", e.error, tail.join(" | "))
    }
}

/// The type of a program section; the format check has refused any prefix
/// but these two before anything is loaded.
fn program_type(section: &str) -> u32 {
    if section.starts_with("perf_event/") {
        sys::BPF_PROG_TYPE_PERF_EVENT
    } else {
        sys::BPF_PROG_TYPE_TRACEPOINT
    }
}

/// Pins `fd` at `path` with the owner, group and mode given.
fn pin(fd: &OwnedFd, path: &Path, uid: u32, gid: u32, mode: u32) -> Result<(), LoadError> {
    sys::obj_pin(fd, path).map_err(|source| LoadError::Pin {
        path: path.to_owned(),
        source,
    })?;
    pins::set_owner(path, uid, gid, mode)
}

fn is_bpffs(dir: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: statfs is plain integers, for which all zeroes is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: dir is an open descriptor and st is a valid statfs buffer.
    unsafe { libc::fstatfs(dir.as_raw_fd(), &mut st) == 0 && st.f_type as i64 == BPF_FS_MAGIC }
}

/// The `ignore_on_*` bit of the running kernel's architecture.
fn kernel_arch_bit() -> u8 {
    let machine = crate::system::machine().unwrap_or_default();
    match machine.as_bytes() {
        b"x86_64" => ignore_on::X86_64,
        b"aarch64" => ignore_on::AARCH64,
        b"riscv64" => ignore_on::RISCV64,
        m if m.starts_with(b"arm") => ignore_on::ARM32,
        m if m.len() == 4 && m[0] == b'i' && m.ends_with(b"86") => ignore_on::X86_32,
        _ => 0,
    }
}

//! Host mode only: memstatd's stand-in for the Android platform bpfloader.
//! `check` applies the object-format rules to bytes; `load` creates maps,
//! relocates and loads programs and pins them as the platform does; `pins`
//! keeps the pins root's (or `--pin-group`'s) and refuses stale ones.

pub mod check;
pub mod elf;
pub mod load;
mod pins;

pub use check::{check, Rule, Violation};
pub use load::{HostLoader, LoadError, LoadReport, Outcome};
pub use pins::group_id;

use elf::{Elf, ProgDef, PROG_DEF_SIZE};

/// The BPF objects built from `bpf_progs/`, embedded for the host loader.
pub mod builtin {
    include!(concat!(env!("OUT_DIR"), "/objects.rs"));
}

/// The definition `<func>_def` in section `progs`, if present and whole.
pub fn program_def(elf: &Elf, func: &str) -> Option<ProgDef> {
    let progs = elf.section("progs")?;
    let name = format!("{func}_def");
    let sym = elf
        .symbols_in(progs.index)
        .into_iter()
        .find(|s| s.name == name)?;
    let at = sym.value as usize;
    progs.data.get(at..at + PROG_DEF_SIZE).map(ProgDef::parse)
}

/// A kernel version as the platform compares it: `(major << 24) + (minor << 16) + sub`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct KernelVersion(pub u32);

impl KernelVersion {
    pub(crate) fn new(major: u32, minor: u32, sub: u32) -> Self {
        KernelVersion((major << 24) + (minor << 16) + sub.min(0xFFFF))
    }

    /// Parses a `uname -r` release such as `6.18.44-fc-v769`.
    pub(crate) fn parse(release: &str) -> Option<Self> {
        let mut parts = release.split(|c: char| !c.is_ascii_digit());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let sub = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        Some(Self::new(major, minor, sub))
    }

    /// The running kernel.
    pub(crate) fn running() -> std::io::Result<Self> {
        let release = crate::system::kernel_release()?;
        Self::parse(&release).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("cannot parse kernel release {release:?}"),
            )
        })
    }

    /// `LINUX_VERSION_CODE` form, for `BPF_PROG_LOAD`'s `kern_version`.
    pub(crate) fn code(self) -> u32 {
        let (major, minor, sub) = (self.0 >> 24, (self.0 >> 16) & 0xFF, self.0 & 0xFFFF);
        (major << 16) + (minor << 8) + sub.min(255)
    }

    pub(crate) fn in_range(self, min: u32, max: u32) -> bool {
        min <= self.0 && self.0 < max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        let k = KernelVersion::parse("6.18.44-fc-v769").unwrap();
        assert_eq!(k.0, (6 << 24) + (18 << 16) + 44);
        assert_eq!(k.code(), (6 << 16) + (18 << 8) + 44);
        assert_eq!(
            KernelVersion::parse("5.10").unwrap(),
            KernelVersion::new(5, 10, 0)
        );
        assert_eq!(KernelVersion::parse("4.14.300").unwrap().code() & 0xFF, 255);
        assert!(KernelVersion::parse("x").is_none());
        assert!(k.in_range(KernelVersion::new(5, 10, 0).0, 0xFFFF_FFFF));
        assert!(!k.in_range(0, KernelVersion::new(6, 18, 44).0));
    }
}

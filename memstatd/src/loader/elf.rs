//! A BPF object as the platform bpfloader reads it: section headers, symbols
//! named through the section-header string table, relocations, and the map
//! and program definitions. Pure parsing of bytes; no syscalls.

use object::elf;
use object::read::elf::{FileHeader, Rel as _, SectionHeader as _, Sym as _};
use object::LittleEndian as LE;
use thiserror::Error;

/// Size of `struct bpf_map_def` in the platform's `bpf_map_def.h`.
pub const MAP_DEF_SIZE: usize = 120;
pub(crate) const PROG_DEF_SIZE: usize = 92;
pub(crate) const EM_BPF: u16 = 247;
/// `BPF_LD | BPF_IMM | BPF_DW`: the only instruction the loader relocates.
pub(crate) const LD_IMM64: u8 = 0x18;
pub(crate) const R_BPF_64_64: u32 = 1;

/// The bytes are not an ELF64 little-endian file the loader can read.
#[derive(Debug, Error)]
#[error("{object}: not a readable ELF64 little-endian file: {reason}")]
pub struct ParseError {
    pub(crate) object: String,
    pub(crate) reason: String,
}

/// One section: its header fields the loader uses, and its contents.
#[derive(Clone, Debug)]
pub struct Section {
    /// Index in the section header table, as symbols and relocations name it.
    pub index: usize,
    /// Name from the section-header string table.
    pub name: String,
    pub(crate) sh_type: u32,
    pub(crate) flags: u64,
    pub(crate) link: u32,
    pub(crate) info: u32,
    /// Contents; zeroes for `SHT_NOBITS`.
    pub data: Vec<u8>,
}

/// One `.symtab` entry.
#[derive(Clone, Debug)]
pub struct Symbol {
    /// Name, looked up (as the platform loader does) in the section-header
    /// string table.
    pub name: String,
    pub(crate) section: usize,
    /// `st_value`: the offset in its section.
    pub value: u64,
    pub(crate) kind: u8,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Relocation {
    pub(crate) offset: u64,
    pub(crate) symbol: usize,
    pub(crate) r_type: u32,
}

/// The raw view of an object, before any rule is applied.
#[derive(Clone, Debug)]
pub struct Elf {
    pub(crate) machine: u16,
    pub(crate) shstrndx: usize,
    pub(crate) sections: Vec<Section>,
    /// `sh_link` of `.symtab`.
    pub(crate) symtab_link: Option<u32>,
    /// Every `.symtab` entry, in table order.
    pub symbols: Vec<Symbol>,
}

impl Elf {
    /// Parses `bytes`, the object named `object` in errors.
    pub fn parse(object: &str, bytes: &[u8]) -> Result<Self, ParseError> {
        let fail = |reason: String| ParseError {
            object: object.to_owned(),
            reason,
        };
        // The ELF structures are read in place and need 8-byte alignment,
        // which embedded or sliced bytes do not promise.
        let mut aligned = vec![0u64; bytes.len().div_ceil(8)];
        bytemuck::cast_slice_mut::<u64, u8>(&mut aligned)[..bytes.len()].copy_from_slice(bytes);
        let data = &bytemuck::cast_slice::<u64, u8>(&aligned)[..bytes.len()];
        let header = elf::FileHeader64::<LE>::parse(data).map_err(|e| fail(e.to_string()))?;
        let endian = header.endian().map_err(|e| fail(e.to_string()))?;
        let table = header
            .sections(endian, data)
            .map_err(|e| fail(e.to_string()))?;
        let shstrndx = header
            .shstrndx(endian, data)
            .map_err(|e| fail(e.to_string()))? as usize;
        // The platform loader resolves every name, symbols included, here.
        let strings = table
            .strings(endian, data, object::SectionIndex(shstrndx))
            .map_err(|e| fail(e.to_string()))?;
        let name_at = |offset: u32| {
            strings
                .get(offset)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default()
        };

        let mut sections = Vec::new();
        let mut symtab = None;
        for (index, sh) in table.iter().enumerate() {
            let sh_type = sh.sh_type(endian);
            let bytes = if sh_type == elf::SHT_NOBITS {
                vec![0; sh.sh_size(endian) as usize]
            } else {
                sh.data(endian, data)
                    .map_err(|e| fail(format!("section {index}: {e}")))?
                    .to_vec()
            };
            if sh_type == elf::SHT_SYMTAB {
                symtab = Some(index);
            }
            sections.push(Section {
                index,
                name: name_at(sh.sh_name(endian)),
                sh_type,
                flags: sh.sh_flags(endian),
                link: sh.sh_link(endian),
                info: sh.sh_info(endian),
                data: bytes,
            });
        }

        let mut symbols = Vec::new();
        let symtab_link = symtab.map(|i| sections[i].link);
        if let Some(i) = symtab {
            let sh = table
                .section(object::SectionIndex(i))
                .map_err(|e| fail(e.to_string()))?;
            let syms: &[elf::Sym64<LE>] = sh
                .data_as_array(endian, data)
                .map_err(|e| fail(format!("symbols: {e}")))?;
            for sym in syms {
                symbols.push(Symbol {
                    name: name_at(sym.st_name(endian)),
                    section: sym.st_shndx(endian) as usize,
                    value: sym.st_value(endian),
                    kind: sym.st_type(),
                });
            }
        }
        Ok(Elf {
            machine: header.e_machine(endian),
            shstrndx,
            sections,
            symtab_link,
            symbols,
        })
    }

    /// The first section named `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Symbols defined in `section`, ordered by address.
    pub fn symbols_in(&self, section: usize) -> Vec<&Symbol> {
        let mut syms: Vec<&Symbol> = self
            .symbols
            .iter()
            .filter(|s| s.section == section && s.kind != elf::STT_SECTION && !s.name.is_empty())
            .collect();
        syms.sort_by_key(|s| s.value);
        syms
    }

    /// Relocations of a `SHT_REL` section.
    pub(crate) fn relocations(&self, rel: &Section) -> Vec<Relocation> {
        rel.data
            .chunks_exact(std::mem::size_of::<elf::Rel64<LE>>())
            .map(|chunk| {
                let r: elf::Rel64<LE> = *object::pod::from_bytes(chunk).expect("sized chunk").0;
                Relocation {
                    offset: r.r_offset(LE),
                    symbol: r.r_sym(LE) as usize,
                    r_type: r.r_type(LE),
                }
            })
            .collect()
    }

    /// Code sections: executable sections with contents.
    pub fn code_sections(&self) -> impl Iterator<Item = &Section> {
        self.sections.iter().filter(|s| {
            s.sh_type == elf::SHT_PROGBITS
                && s.flags & u64::from(elf::SHF_EXECINSTR) != 0
                && !s.data.is_empty()
        })
    }

    /// The first function symbol of a code section: the program's name.
    pub fn function_of(&self, section: &Section) -> Option<&Symbol> {
        self.symbols_in(section.index)
            .into_iter()
            .find(|s| s.kind == elf::STT_FUNC)
    }

    /// A little-endian u32 section such as `bpfloader_min_ver`.
    pub(crate) fn u32_section(&self, name: &str) -> Option<u32> {
        let s = self.section(name)?;
        Some(u32::from_le_bytes(s.data.get(..4)?.try_into().ok()?))
    }
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// `struct bpf_map_def` (120 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapDef {
    /// The map's name: its symbol in `maps`.
    pub name: String,
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Key size, in bytes.
    pub key_size: u32,
    /// Value size, in bytes.
    pub value_size: u32,
    /// Capacity, in entries.
    pub max_entries: u32,
    pub(crate) map_flags: u32,
    pub(crate) zero: u32,
    pub(crate) gid: u32,
    pub(crate) mode: u32,
    pub(crate) bpfloader_min_ver: u32,
    pub(crate) bpfloader_max_ver: u32,
    pub(crate) min_kver: u32,
    pub(crate) max_kver: u32,
    pub(crate) shared: bool,
    pub(crate) ignore_on: u8,
    pub(crate) uid: u32,
}

impl MapDef {
    /// Reads the definition `raw` (at least `MAP_DEF_SIZE` bytes) of map `name`.
    pub fn parse(name: &str, raw: &[u8]) -> Self {
        MapDef {
            name: name.to_owned(),
            map_type: le32(raw, 0),
            key_size: le32(raw, 4),
            value_size: le32(raw, 8),
            max_entries: le32(raw, 12),
            map_flags: le32(raw, 16),
            zero: le32(raw, 20),
            gid: le32(raw, 24),
            mode: le32(raw, 28),
            bpfloader_min_ver: le32(raw, 32),
            bpfloader_max_ver: le32(raw, 36),
            min_kver: le32(raw, 40),
            max_kver: le32(raw, 44),
            shared: raw[112] != 0,
            ignore_on: raw[113],
            uid: le32(raw, 116),
        }
    }
}

/// `struct bpf_prog_def` (92 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgDef {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) min_kver: u32,
    pub(crate) max_kver: u32,
    /// A load failure skips the program instead of aborting its object.
    pub optional: bool,
    pub(crate) ignore_on: u8,
    pub(crate) bpfloader_min_ver: u32,
    pub(crate) bpfloader_max_ver: u32,
}

impl ProgDef {
    pub(crate) fn parse(raw: &[u8]) -> Self {
        ProgDef {
            uid: le32(raw, 0),
            gid: le32(raw, 4),
            min_kver: le32(raw, 8),
            max_kver: le32(raw, 12),
            optional: raw[16] != 0,
            ignore_on: raw[17],
            bpfloader_min_ver: le32(raw, 20),
            bpfloader_max_ver: le32(raw, 24),
        }
    }
}

/// The bits of `ignore_on_*` (maps: byte 113; programs: byte 17).
pub mod ignore_on {
    /// Not created or loaded on eng builds. The host loader has no build type
    /// and ignores this bit.
    pub const ENG: u8 = 1 << 0;
    /// Not created or loaded on user builds; ignored by the host loader.
    pub const USER: u8 = 1 << 1;
    /// Not created or loaded on userdebug builds; ignored by the host loader.
    pub const USERDEBUG: u8 = 1 << 2;
    pub(crate) const ARM32: u8 = 1 << 3;
    pub(crate) const AARCH64: u8 = 1 << 4;
    pub(crate) const X86_32: u8 = 1 << 5;
    pub(crate) const X86_64: u8 = 1 << 6;
    pub(crate) const RISCV64: u8 = 1 << 7;
}

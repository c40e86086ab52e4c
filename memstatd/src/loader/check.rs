//! The object-format rules of the Android 15+ platform bpfloader (PLATFORM.md
//! §1), checked on bytes before anything is loaded. Each violation names the
//! rule it breaks. The loader's run-time rules (§1.4.6 to §1.4.9: kernel
//! ranges, abort on a mandatory failure, pin reuse, name truncation) are
//! applied by `load`.

use super::elf::{Elf, MapDef, EM_BPF, LD_IMM64, MAP_DEF_SIZE, PROG_DEF_SIZE, R_BPF_64_64};
use object::elf::SHT_REL;
use std::fmt;

/// One object-format rule of the platform bpfloader, named after what it
/// requires; `clause` and `title` give its PLATFORM.md clause and wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// §1: an ELF64 little-endian file for `EM_BPF`.
    ElfFormat,
    /// §1.4.1: `maps` holds whole 120-byte map definitions, `progs` whole
    /// 92-byte program definitions.
    DefinitionSizes,
    /// §1.4.2: symbols are named through the section-header string table, so
    /// `.symtab`'s `sh_link` must be `e_shstrndx`.
    SymbolNames,
    /// §1.4.3: no global or static data (`.data`, `.rodata`, `.bss`).
    NoGlobalData,
    /// §1.4.3: no BPF-to-BPF calls or `.text` subprograms.
    NoSubprograms,
    /// §1.4.3: only map references, on `BPF_LD_IMM64`, are relocated.
    MapRelocationsOnly,
    /// §1.4.3: each `.rel<sec>` directly follows its code section.
    RelocationPlacement,
    /// §1.4.4: every code section has its `<func>_def` in `progs`, and
    /// there is a `progs` section: the loader reads it before any code and
    /// refuses an object without one.
    ProgramDefinitions,
    /// §1.4.5: every code section's prefix is a program type memstat's
    /// location, /system/etc/bpf/memstat/, allows (patches/system/bpf); the
    /// loader refuses the whole object otherwise.
    ProgramTypes,
    /// §1.4.5: no BTF CO-RE relocations.
    NoCoreRelocations,
    /// §1.4.6: kernel version ranges are not empty.
    KernelRange,
    /// §1.1: `bpf_map_def.zero` is 0.
    MapZeroField,
    /// §1.1: map keys under 1024 bytes and values under 65536.
    MapLimits,
    /// §1.3: a NUL-terminated `license` section.
    License,
    /// §1.3: no `critical` section: memstat must never block boot.
    NotCritical,
}

impl Rule {
    /// The clause of PLATFORM.md the rule comes from.
    pub(crate) fn clause(self) -> &'static str {
        match self {
            Rule::ElfFormat => "1",
            Rule::DefinitionSizes => "1.4.1",
            Rule::SymbolNames => "1.4.2",
            Rule::NoGlobalData
            | Rule::NoSubprograms
            | Rule::MapRelocationsOnly
            | Rule::RelocationPlacement => "1.4.3",
            Rule::ProgramDefinitions => "1.4.4",
            Rule::ProgramTypes | Rule::NoCoreRelocations => "1.4.5",
            Rule::KernelRange => "1.4.6",
            Rule::MapZeroField | Rule::MapLimits => "1.1",
            Rule::License | Rule::NotCritical => "1.3",
        }
    }

    pub(crate) fn title(self) -> &'static str {
        match self {
            Rule::ElfFormat => "ELF64 little-endian, e_machine EM_BPF",
            Rule::DefinitionSizes => "maps is N x 120 bytes and progs M x 92",
            Rule::SymbolNames => ".symtab's sh_link is e_shstrndx",
            Rule::NoGlobalData => "no global or static data",
            Rule::NoSubprograms => "no BPF-to-BPF calls or .text subprograms",
            Rule::MapRelocationsOnly => "only map references on BPF_LD_IMM64 are relocated",
            Rule::RelocationPlacement => ".rel<sec> directly follows its code section",
            Rule::ProgramDefinitions => {
                "a progs section, and a <func>_def in it for every code section"
            }
            Rule::ProgramTypes => {
                "program types tracepoint and perf_event, as /system/etc/bpf/memstat/ allows"
            }
            Rule::NoCoreRelocations => "no BTF CO-RE relocations",
            Rule::KernelRange => "kernel version ranges are not empty",
            Rule::MapZeroField => "bpf_map_def.zero is 0",
            Rule::MapLimits => "map keys < 1024 bytes, values < 65536 bytes",
            Rule::License => "a NUL-terminated license section",
            Rule::NotCritical => "no critical section (memstat must never block boot)",
        }
    }
}

/// One broken rule, with what breaks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule broken.
    pub rule: Rule,
    pub(crate) detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rule {} ({}): {}",
            self.rule.clause(),
            self.rule.title(),
            self.detail
        )
    }
}

/// Section-name prefixes of the program types the platform loader accepts
/// from /system/etc/bpf/memstat/ (patches/system/bpf).
pub(crate) const PROGRAM_PREFIXES: &[&str] = &["perf_event/", "tracepoint/"];

/// Checks `bytes` (object `name`) against every format rule.
pub fn check(name: &str, bytes: &[u8]) -> Vec<Violation> {
    match Elf::parse(name, bytes) {
        Ok(elf) => check_elf(&elf),
        Err(e) => vec![Violation {
            rule: Rule::ElfFormat,
            detail: e.reason,
        }],
    }
}

pub(crate) fn check_elf(elf: &Elf) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut fail = |rule, detail: String| out.push(Violation { rule, detail });

    if elf.machine != EM_BPF {
        fail(
            Rule::ElfFormat,
            format!("e_machine is {}, not EM_BPF ({EM_BPF})", elf.machine),
        );
    }

    for (section, size) in [("maps", MAP_DEF_SIZE), ("progs", PROG_DEF_SIZE)] {
        if let Some(s) = elf.section(section) {
            if s.data.len() % size != 0 {
                fail(
                    Rule::DefinitionSizes,
                    format!(
                        "section {section} is {} bytes, not a multiple of {size}",
                        s.data.len()
                    ),
                );
            }
        }
        let recorded = format!("size_of_bpf_{}_def", &section[..section.len() - 1]);
        if let Some(v) = elf.u32_section(&recorded) {
            if v as usize != size {
                fail(
                    Rule::DefinitionSizes,
                    format!("section {recorded} says {v}, not {size}"),
                );
            }
        }
    }

    match elf.symtab_link {
        None => fail(Rule::SymbolNames, "no .symtab".into()),
        Some(link) if link as usize != elf.shstrndx => fail(
            Rule::SymbolNames,
            format!(
                ".symtab names its strings in section {link}, but e_shstrndx is {}",
                elf.shstrndx
            ),
        ),
        Some(_) => {}
    }

    for s in &elf.sections {
        let data_like = [".data", ".bss", ".rodata"]
            .iter()
            .any(|p| s.name == *p || s.name.starts_with(&format!("{p}.")));
        if data_like && !s.data.is_empty() {
            fail(
                Rule::NoGlobalData,
                format!(
                    "section {} holds {} bytes of global data: keep state in a map",
                    s.name,
                    s.data.len()
                ),
            );
        }
    }
    if elf.section(".text").is_some_and(|t| !t.data.is_empty()) {
        fail(
            Rule::NoSubprograms,
            "section .text holds code: make helpers static inline __always_inline".into(),
        );
    }

    check_maps(elf, &mut fail);
    check_programs(elf, &mut fail);

    match elf.section("license") {
        None => fail(
            Rule::License,
            "no license section: add LICENSE(\"GPL\")".into(),
        ),
        Some(s) if s.data.len() < 2 || s.data.last() != Some(&0) => fail(
            Rule::License,
            "license section is empty or not NUL-terminated".into(),
        ),
        Some(_) => {}
    }
    if elf.section("critical").is_some() {
        fail(
            Rule::NotCritical,
            "section critical is present: remove CRITICAL()".into(),
        );
    }
    if let Some(detail) = core_relocations(elf) {
        fail(Rule::NoCoreRelocations, detail);
    }
    out
}

fn check_maps(elf: &Elf, fail: &mut impl FnMut(Rule, String)) {
    let Some(maps) = elf.section("maps") else {
        return;
    };
    for sym in elf.symbols_in(maps.index) {
        let at = sym.value as usize;
        let Some(raw) = maps.data.get(at..at + MAP_DEF_SIZE) else {
            fail(
                Rule::DefinitionSizes,
                format!("map {} lies outside section maps", sym.name),
            );
            continue;
        };
        let def = MapDef::parse(&sym.name, raw);
        if def.zero != 0 {
            fail(
                Rule::MapZeroField,
                format!("map {}: zero (offset 20) is {}", def.name, def.zero),
            );
        }
        if def.key_size >= 1024 || def.value_size >= 65536 {
            fail(
                Rule::MapLimits,
                format!(
                    "map {}: key {} bytes, value {} bytes",
                    def.name, def.key_size, def.value_size
                ),
            );
        }
        if let Some(detail) = empty_range(&format!("map {}", def.name), def.min_kver, def.max_kver)
        {
            fail(Rule::KernelRange, detail);
        }
    }
}

fn check_programs(elf: &Elf, fail: &mut impl FnMut(Rule, String)) {
    let progs = elf.section("progs");
    if progs.is_none() {
        fail(
            Rule::ProgramDefinitions,
            "no progs section: the platform loader refuses an object without programs".into(),
        );
    }
    let maps_index = elf.section("maps").map(|s| s.index);
    for code in elf.code_sections().filter(|s| s.name != ".text") {
        if !PROGRAM_PREFIXES.iter().any(|p| code.name.starts_with(p)) {
            fail(
                Rule::ProgramTypes,
                format!(
                    "section {} is not a program type /system/etc/bpf/memstat/ allows \
                     (tracepoint/ or perf_event/)",
                    code.name
                ),
            );
        }
        let funcs = elf
            .symbols_in(code.index)
            .into_iter()
            .filter(|s| s.kind == object::elf::STT_FUNC)
            .count();
        if funcs > 1 {
            fail(
                Rule::NoSubprograms,
                format!("section {} holds {funcs} functions", code.name),
            );
        }
        for (i, insn) in code.data.chunks_exact(8).enumerate() {
            // BPF_JMP | BPF_CALL with src_reg BPF_PSEUDO_CALL: a BPF-to-BPF call.
            if insn[0] == 0x85 && insn[1] >> 4 == 1 {
                fail(
                    Rule::NoSubprograms,
                    format!(
                        "section {} calls a BPF function at instruction {i}",
                        code.name
                    ),
                );
            }
        }
        match elf.function_of(code) {
            None => fail(
                Rule::ProgramDefinitions,
                format!("section {} has no function symbol", code.name),
            ),
            Some(func) => {
                let def = format!("{}_def", func.name);
                let found =
                    progs.is_some_and(|p| elf.symbols_in(p.index).iter().any(|s| s.name == def));
                if !found {
                    fail(
                        Rule::ProgramDefinitions,
                        format!("section {}: no {def} in progs", code.name),
                    );
                } else if let Some(d) = super::program_def(elf, &func.name) {
                    let what = format!("program {}", code.name);
                    if let Some(detail) = empty_range(&what, d.min_kver, d.max_kver) {
                        fail(Rule::KernelRange, detail);
                    }
                }
            }
        }
        let rel_name = format!(".rel{}", code.name);
        let Some(rel) = elf
            .sections
            .iter()
            .find(|s| s.sh_type == SHT_REL && s.name == rel_name)
        else {
            continue;
        };
        if rel.index != code.index + 1 {
            fail(
                Rule::RelocationPlacement,
                format!(
                    "{rel_name} is section {}, but {} is section {}",
                    rel.index, code.name, code.index
                ),
            );
        }
        for r in elf.relocations(rel) {
            let sym = elf.symbols.get(r.symbol);
            let insn = code.data.get(r.offset as usize).copied();
            let target = sym.map_or("?", |s| s.name.as_str());
            if r.r_type != R_BPF_64_64 {
                fail(
                    Rule::MapRelocationsOnly,
                    format!(
                        "{}: relocation type {} against {target}",
                        code.name, r.r_type
                    ),
                );
            } else if sym.map(|s| Some(s.section)) != Some(maps_index) {
                fail(
                    Rule::MapRelocationsOnly,
                    format!(
                        "{}: relocation against {target}, which is not a map",
                        code.name
                    ),
                );
            } else if insn != Some(LD_IMM64) {
                fail(
                    Rule::MapRelocationsOnly,
                    format!(
                        "{}: relocation at offset {} is not on a BPF_LD_IMM64",
                        code.name, r.offset
                    ),
                );
            }
        }
    }
    for rel in elf.sections.iter().filter(|s| s.sh_type == SHT_REL) {
        let target = elf.sections.get(rel.info as usize);
        let is_code = target.is_some_and(|t| elf.code_sections().any(|c| c.index == t.index));
        // The loader never reads relocations of non-allocated sections (debug info, BTF).
        let is_loaded = target.is_some_and(|t| t.flags & u64::from(object::elf::SHF_ALLOC) != 0);
        if is_loaded && !is_code {
            fail(
                Rule::MapRelocationsOnly,
                format!(
                    "{} relocates section {}, which is not code",
                    rel.name,
                    target.map_or("?", |t| &t.name)
                ),
            );
        }
    }
}

/// A definition that no kernel can load: `[min_kver, max_kver)` is empty.
fn empty_range(what: &str, min_kver: u32, max_kver: u32) -> Option<String> {
    (min_kver >= max_kver)
        .then(|| format!("{what}: min_kver {min_kver:#x} >= max_kver {max_kver:#x}"))
}

/// The CO-RE relocation count of `.BTF.ext`, if it has any.
fn core_relocations(elf: &Elf) -> Option<String> {
    let ext = elf.section(".BTF.ext")?;
    let word = |at: usize| {
        ext.data
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    };
    let hdr_len = word(4)?;
    let core_relo_len = if hdr_len >= 32 { word(28)? } else { 0 };
    (core_relo_len > 0)
        .then(|| format!(".BTF.ext carries {core_relo_len} bytes of CO-RE relocations"))
}

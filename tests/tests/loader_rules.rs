//! Every rule of the platform bpfloader, each with an object that breaks it.
//! Format rules (PLATFORM.md §1.1, §1.3, §1.4.1–§1.4.6) are checked on bytes
//! and need no privileges; the loader's run-time rules (§1.4.6–§1.4.9), pin
//! owners and modes run on the real kernel.

use memstat_tests::{kernel, Bpffs};
use memstatd::abi::{self, syscalls};
use memstatd::bpf::sys;
use memstatd::loader::elf::Elf;
use memstatd::loader::{builtin, check, HostLoader, LoadError, Outcome, Rule};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Our pins in a bpffs (new mounts may also hold the kernel's `*.debug` iterators).
fn pins(root: &Path) -> usize {
    std::fs::read_dir(root)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            let name = name.to_string_lossy();
            name.starts_with("map_") || name.starts_with("prog_")
        })
        .count()
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("MEMSTAT_TEST_OBJECTS")).join(format!("{name}.o"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn syscalls_object() -> Vec<u8> {
    builtin::OBJECTS
        .iter()
        .find(|(n, _)| *n == syscalls::OBJECT)
        .unwrap()
        .1
        .to_vec()
}

/// The rules an object breaks, each once, in a stable order.
fn rules_broken(bytes: &[u8]) -> Vec<Rule> {
    let mut rules: Vec<Rule> = check("fixture", bytes)
        .into_iter()
        .map(|v| v.rule)
        .collect();
    rules.dedup();
    rules
}

// ---- byte surgery for the rules clang cannot be made to break ----

fn le16(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn le64(b: &[u8], at: usize) -> usize {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap()) as usize
}

/// File offset of section header `index`.
fn shdr(b: &[u8], index: usize) -> usize {
    le64(b, 0x28) + index * le16(b, 0x3A)
}

fn section_index(b: &[u8], name: &str) -> usize {
    Elf::parse("fixture", b)
        .unwrap()
        .section(name)
        .unwrap_or_else(|| panic!("no {name}"))
        .index
}

#[test]
fn well_formed_objects_pass() {
    assert_eq!(check("memStatSyscalls", &syscalls_object()), vec![]);
    for name in [
        "goodMinimal",
        "kverRanges",
        "optionalFails",
        "mandatoryFails",
        "clashA",
        "clashB",
        "longNames",
    ] {
        assert_eq!(check(name, &fixture(name)), vec![], "{name}");
    }
}

#[test]
fn rule_elf_format() {
    let mut b = syscalls_object();
    b[18] = 62; // e_machine = EM_X86_64
    assert_eq!(rules_broken(&b), vec![Rule::ElfFormat]);
    assert_eq!(rules_broken(b"not an object"), vec![Rule::ElfFormat]);
    let detail = &check("x", &b)[0].to_string();
    assert!(
        detail.contains("e_machine is 62, not EM_BPF (247)"),
        "{detail}"
    );
}

#[test]
fn rule_1_4_1_definition_sizes() {
    assert_eq!(
        rules_broken(&fixture("badMapSize")),
        vec![Rule::DefinitionSizes]
    );
}

#[test]
fn rule_1_4_2_symbol_names_through_shstrtab() {
    let mut b = syscalls_object();
    let symtab = shdr(&b, section_index(&b, ".symtab"));
    b[symtab + 40..symtab + 44].copy_from_slice(&0u32.to_le_bytes()); // sh_link = 0
    assert!(rules_broken(&b).contains(&Rule::SymbolNames));
    let text = check("x", &b)
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("rule 1.4.2"), "{text}");
}

#[test]
fn rule_1_4_3_no_global_data() {
    let broken = rules_broken(&fixture("badGlobalData"));
    assert_eq!(broken[0], Rule::NoGlobalData, "{broken:?}");
}

#[test]
fn rule_1_4_3_no_bpf_to_bpf_calls() {
    assert!(rules_broken(&fixture("badBpfCall")).contains(&Rule::NoSubprograms));
}

#[test]
fn rule_1_4_3_map_relocations_only() {
    assert_eq!(
        rules_broken(&fixture("badRelocation")),
        vec![Rule::MapRelocationsOnly]
    );
}

#[test]
fn rule_1_4_3_relocations_follow_their_code() {
    // Swap sys_enter's code and relocation sections, fixing up what points at them.
    let mut b = syscalls_object();
    let code = section_index(&b, syscalls::PROG_SYS_ENTER);
    let rel = code + 1;
    let (a, z) = (shdr(&b, code), shdr(&b, rel));
    let size = le16(&b, 0x3A);
    let code_hdr = b[a..a + size].to_vec();
    b.copy_within(z..z + size, a);
    b[z..z + size].copy_from_slice(&code_hdr);
    b[a + 44..a + 48].copy_from_slice(&(rel as u32).to_le_bytes()); // rel's sh_info
    let elf = Elf::parse("x", &b).unwrap();
    let symtab = elf.section(".symtab").unwrap();
    let symtab_off = le64(&b, shdr(&b, symtab.index) + 24);
    for i in 0..elf.symbols.len() {
        let at = symtab_off + i * 24 + 6;
        if le16(&b, at) == code {
            b[at..at + 2].copy_from_slice(&(rel as u16).to_le_bytes());
        }
    }
    assert_eq!(rules_broken(&b), vec![Rule::RelocationPlacement]);
}

#[test]
fn rule_1_4_4_program_definitions() {
    for name in ["badNoDef", "badNoProgs"] {
        assert_eq!(
            rules_broken(&fixture(name)),
            vec![Rule::ProgramDefinitions],
            "{name}"
        );
    }
}

#[test]
fn rule_1_4_5_program_types() {
    // Unknown to the platform loader, and known to it but not allowed in
    // memstat's location.
    for name in ["badProgType", "badKprobe"] {
        assert_eq!(
            rules_broken(&fixture(name)),
            vec![Rule::ProgramTypes],
            "{name}"
        );
    }
}

#[test]
fn rule_1_4_5_no_core_relocations() {
    assert_eq!(
        rules_broken(&fixture("badCoRe")),
        vec![Rule::NoCoreRelocations]
    );
}

#[test]
fn rule_1_4_6_empty_kernel_range() {
    assert_eq!(
        rules_broken(&fixture("badKernelRange")),
        vec![Rule::KernelRange]
    );
}

#[test]
fn rule_1_1_map_zero_field() {
    assert_eq!(
        rules_broken(&fixture("badMapZero")),
        vec![Rule::MapZeroField]
    );
}

#[test]
fn rule_1_1_map_limits() {
    assert_eq!(
        rules_broken(&fixture("badMapLimits")),
        vec![Rule::MapLimits]
    );
}

#[test]
fn rule_1_3_license() {
    assert_eq!(rules_broken(&fixture("badNoLicense")), vec![Rule::License]);
}

#[test]
fn rule_1_3_never_critical() {
    assert_eq!(
        rules_broken(&fixture("badCritical")),
        vec![Rule::NotCritical]
    );
}

const BAD: &[(&str, &str)] = &[
    ("badMapSize", "rule 1.4.1"),
    ("badGlobalData", "rule 1.4.3 (no global or static data)"),
    ("badBpfCall", "rule 1.4.3 (no BPF-to-BPF calls"),
    ("badRelocation", "rule 1.4.3 (only map references"),
    ("badNoDef", "rule 1.4.4"),
    ("badNoProgs", "rule 1.4.4 (a progs section"),
    ("badProgType", "rule 1.4.5 (program types"),
    ("badKprobe", "rule 1.4.5 (program types"),
    ("badCoRe", "rule 1.4.5 (no BTF CO-RE"),
    ("badKernelRange", "rule 1.4.6"),
    ("badMapZero", "rule 1.1 (bpf_map_def.zero is 0)"),
    ("badMapLimits", "rule 1.1 (map keys"),
    ("badNoLicense", "rule 1.3 (a NUL-terminated license"),
    ("badCritical", "rule 1.3 (no critical section"),
];

#[test]
fn the_loader_refuses_every_malformed_object_before_any_syscall() {
    let Some(_k) = kernel("the_loader_refuses_every_malformed_object_before_any_syscall") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    let loader = HostLoader::new(fs.path()).unwrap();
    for (name, message) in BAD {
        let err = loader.load(name, &fixture(name)).expect_err(name);
        assert!(matches!(err, LoadError::Format { .. }), "{name}: {err}");
        assert!(err.to_string().contains(message), "{name}: {err}");
    }
    assert_eq!(pins(fs.path()), 0, "nothing may be pinned");
}

#[test]
fn pins_have_the_platform_names_owners_and_modes() {
    let Some(_k) = kernel("pins_have_the_platform_names_owners_and_modes") else {
        return;
    };
    // AID_MEMSTAT (patches/system/core) on a Linux host is whatever group
    // --pin-group names (root by default, tests/tests/hostile_numbers.rs).
    let memstat = 1104;
    let fs = Bpffs::new().unwrap();
    let report = HostLoader::new(fs.path())
        .unwrap()
        .pin_group(memstat)
        .load(syscalls::OBJECT, &syscalls_object())
        .unwrap();
    assert!(
        report
            .maps
            .iter()
            .chain(&report.programs)
            .all(|(_, o)| *o == Outcome::Created),
        "{report}"
    );

    let expect = |path: std::path::PathBuf, uid: u32, gid: u32, mode: u32| {
        let meta = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            (meta.uid(), meta.gid(), meta.permissions().mode() & 0o7777),
            (uid, gid, mode),
            "{}",
            path.display()
        );
    };
    let map = |m| abi::map_pin(fs.path(), syscalls::OBJECT, m);
    // What memstatd reads, what it writes, and the programs' own.
    for m in [
        syscalls::MAP_ROWS,
        syscalls::MAP_ROW_UID,
        syscalls::MAP_SLOTS,
        syscalls::MAP_COUNTS,
        syscalls::MAP_OVERFLOW,
        syscalls::MAP_LATENCY,
    ] {
        expect(map(m), 0, memstat, 0o440);
    }
    for m in [syscalls::MAP_CONFIG, syscalls::MAP_WATCH] {
        expect(map(m), 0, memstat, 0o660);
    }
    for m in [
        syscalls::MAP_ROW_OF,
        syscalls::MAP_ROWS_FULL,
        syscalls::MAP_CACHE,
        syscalls::MAP_START,
    ] {
        expect(map(m), 0, 0, 0o600);
    }
    for section in [
        syscalls::PROG_SYS_EXIT,
        syscalls::PROG_SYS_ENTER,
        syscalls::PROG_TASK_NEWTASK,
        syscalls::PROG_PROCESS_EXEC,
    ] {
        expect(
            abi::prog_pin(fs.path(), syscalls::OBJECT, section),
            0,
            memstat,
            0o440,
        );
    }
    assert_eq!(pins(fs.path()), 16);
}

#[test]
fn rule_1_4_6_out_of_range_definitions_get_no_pin() {
    let Some(_k) = kernel("rule_1_4_6_out_of_range_definitions_get_no_pin") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    let report = HostLoader::new(fs.path())
        .unwrap()
        .load("kverRanges", &fixture("kverRanges"))
        .unwrap();
    let outcome = |list: &[(String, Outcome)], name: &str| {
        list.iter().find(|(n, _)| n == name).unwrap().1.clone()
    };
    assert!(
        matches!(outcome(&report.maps, "future_map"), Outcome::Skipped(_)),
        "{report}"
    );
    assert_eq!(outcome(&report.maps, "current_map"), Outcome::Created);
    assert!(matches!(
        outcome(&report.programs, "tracepoint/raw_syscalls/sys_enter"),
        Outcome::Skipped(_)
    ));
    assert_eq!(
        outcome(&report.programs, "tracepoint/raw_syscalls/sys_exit"),
        Outcome::Created
    );
    assert!(!abi::map_pin(fs.path(), "kverRanges", "future_map").exists());
    assert!(!abi::prog_pin(fs.path(), "kverRanges", "tracepoint/raw_syscalls/sys_enter").exists());
    assert!(abi::prog_pin(fs.path(), "kverRanges", "tracepoint/raw_syscalls/sys_exit").exists());
}

#[test]
fn rule_1_4_7_optional_programs_may_fail_mandatory_ones_abort() {
    let Some(_k) = kernel("rule_1_4_7_optional_programs_may_fail_mandatory_ones_abort") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    let loader = HostLoader::new(fs.path()).unwrap();

    let report = loader
        .load("optionalFails", &fixture("optionalFails"))
        .unwrap();
    assert!(
        matches!(&report.programs[0], (s, Outcome::Skipped(why)) if s.ends_with("sys_enter") && why.contains("verifier")),
        "{report}"
    );
    assert_eq!(
        report.programs[1],
        (
            "tracepoint/raw_syscalls/sys_exit".to_owned(),
            Outcome::Created
        )
    );

    let err = loader
        .load("mandatoryFails", &fixture("mandatoryFails"))
        .unwrap_err();
    let LoadError::MandatoryProgram {
        section, report, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(section, "tracepoint/raw_syscalls/sys_enter");
    assert!(err.to_string().contains("rule 1.4.7"), "{err}");
    assert_eq!(report.maps, vec![("kept_map".to_owned(), Outcome::Created)]);
    assert!(
        abi::map_pin(fs.path(), "mandatoryFails", "kept_map").exists(),
        "maps stay pinned"
    );
    assert!(
        !abi::prog_pin(
            fs.path(),
            "mandatoryFails",
            "tracepoint/raw_syscalls/sys_exit"
        )
        .exists(),
        "the rest is not loaded"
    );
}

#[test]
fn rule_1_4_8_compatible_pins_are_reused_incompatible_ones_refused() {
    let Some(_k) = kernel("rule_1_4_8_compatible_pins_are_reused_incompatible_ones_refused") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    let loader = HostLoader::new(fs.path()).unwrap();
    loader.load(syscalls::OBJECT, &syscalls_object()).unwrap();
    let again = loader.load(syscalls::OBJECT, &syscalls_object()).unwrap();
    assert!(
        again
            .maps
            .iter()
            .chain(&again.programs)
            .all(|(_, o)| *o == Outcome::Reused),
        "{again}"
    );

    loader.load("clash", &fixture("clashA")).unwrap();
    let err = loader.load("clash", &fixture("clashB")).unwrap_err();
    assert!(matches!(err, LoadError::IncompatiblePin { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("rule 1.4.8") && text.contains("map_clash_shared_map"),
        "{text}"
    );
}

#[test]
fn rule_1_4_9_kernel_names_are_cut_to_15_characters() {
    let Some(_k) = kernel("rule_1_4_9_kernel_names_are_cut_to_15_characters") else {
        return;
    };
    let fs = Bpffs::new().unwrap();
    HostLoader::new(fs.path())
        .unwrap()
        .load("longNames", &fixture("longNames"))
        .unwrap();
    let map = sys::obj_get(
        &abi::map_pin(fs.path(), "longNames", "a_map_with_a_very_long_name"),
        sys::BPF_F_RDONLY,
    )
    .unwrap();
    assert_eq!(sys::map_info(&map).unwrap().name, "a_map_with_a_ve");
    let prog = sys::obj_get(
        &abi::prog_pin(fs.path(), "longNames", "tracepoint/raw_syscalls/sys_exit"),
        sys::BPF_F_RDONLY,
    )
    .unwrap();
    assert_eq!(sys::prog_info(&prog).unwrap().name, "a_program_with_");
}

#[test]
fn the_loader_needs_a_bpffs() {
    let err = HostLoader::new(Path::new("/proc"))
        .err()
        .expect("/proc is no bpffs");
    assert!(err.to_string().contains("mount -t bpf bpf /proc"), "{err}");
}

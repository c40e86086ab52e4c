//! One ABI, checked: the Rust mirror (memstatd/src/abi.rs) against the layout
//! clang gives bpf_progs/memstat_abi.h, and every map and program memstatd
//! expects against the built objects.

use memstatd::abi::*;
use memstatd::bpf::sys;
use memstatd::loader::elf::{Elf, MapDef, MAP_DEF_SIZE};
use memstatd::loader::{builtin, program_def};
use memstatd::probes::memory::{Source, GROUPS};
use std::mem::{offset_of, size_of};

fn object(name: &str) -> Elf {
    let (_, bytes) = builtin::OBJECTS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("built-in object");
    Elf::parse(name, bytes).unwrap()
}

#[test]
fn rust_structs_match_the_c_layout() {
    let path = std::path::Path::new(env!("MEMSTAT_TEST_OBJECTS")).join("abiLayout.o");
    let elf = Elf::parse("abiLayout", &std::fs::read(path).unwrap()).unwrap();
    let c: Vec<u64> = elf
        .section("layout")
        .unwrap()
        .data
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let rust: Vec<u64> = [
        size_of::<SyscallKey>(),
        offset_of!(SyscallKey, uid),
        offset_of!(SyscallKey, nr),
        size_of::<SyscallCounts>(),
        offset_of!(SyscallCounts, count),
        offset_of!(SyscallCounts, errors),
        size_of::<SyscallConfig>(),
        offset_of!(SyscallConfig, latency_epoch),
        size_of::<SyscallStart>(),
        offset_of!(SyscallStart, ts_ns),
        offset_of!(SyscallStart, epoch),
        offset_of!(SyscallStart, nr),
        size_of::<LatencyHist>(),
        offset_of!(LatencyHist, buckets),
        LATENCY_BUCKETS,
        size_of::<SyscallOverflow>(),
        offset_of!(SyscallOverflow, count),
        offset_of!(SyscallOverflow, errors),
        offset_of!(SyscallOverflow, latency),
        offset_of!(SyscallOverflow, start_dropped),
        offset_of!(SyscallOverflow, unmatched),
        syscalls::COUNTS_ENTRIES as usize,
        syscalls::START_ENTRIES as usize,
        syscalls::LATENCY_ENTRIES as usize,
    ]
    .iter()
    .map(|&v| v as u64)
    .collect();
    assert_eq!(rust, c);
}

fn layout_section(name: &str) -> Vec<u64> {
    let path = std::path::Path::new(env!("MEMSTAT_TEST_OBJECTS")).join("abiLayout.o");
    let elf = Elf::parse("abiLayout", &std::fs::read(path).unwrap()).unwrap();
    elf.section(name)
        .unwrap()
        .data
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn memory_group_layouts_match_the_c_structs() {
    let mut rust: Vec<u64> = [
        size_of::<memory::GroupConfig>(),
        offset_of!(memory::GroupConfig, mode),
        offset_of!(memory::GroupConfig, sample_every),
        offset_of!(memory::GroupConfig, epoch),
        offset_of!(memory::GroupConfig, param),
        memory::GROUP_PARAMS,
        memory::UID_ENTRIES as usize,
        memory::STALL_BUCKETS,
    ]
    .iter()
    .map(|&v| v as u64)
    .collect();
    for g in GROUPS {
        rust.push(g.value_size() as u64);
        let mut at = 0;
        for f in g.fields {
            rust.push(at as u64 * 8);
            at += f.slots;
        }
    }
    // A stall field is count, total_ns, unmatched and the histogram.
    let stall = 3 + memory::STALL_BUCKETS;
    rust.extend([stall as u64 * 8, 0, 8, 16, 24]);
    assert_eq!(rust, layout_section("memory_layout"));
}

#[test]
fn memory_objects_define_what_memstatd_opens() {
    for g in GROUPS {
        let elf = object(g.object);
        let maps = elf.section("maps").unwrap();
        let defs: Vec<MapDef> = elf
            .symbols_in(maps.index)
            .iter()
            .map(|s| MapDef::parse(&s.name, &maps.data[s.value as usize..][..MAP_DEF_SIZE]))
            .collect();
        let def = |suffix: &str| {
            let name = memory::map_name(g.name, suffix);
            defs.iter()
                .find(|d| d.name == name)
                .unwrap_or_else(|| panic!("{}: no map {name}", g.object))
        };
        let (uid, other, config) = (
            def(memory::MAP_UID),
            def(memory::MAP_OTHER),
            def(memory::MAP_CONFIG),
        );
        assert_eq!(
            (uid.key_size, uid.value_size as usize, uid.max_entries),
            (4, g.value_size(), memory::UID_ENTRIES),
            "{}",
            g.object
        );
        assert_eq!(other.value_size as usize, g.value_size(), "{}", g.object);
        assert_eq!(
            config.value_size as usize,
            size_of::<memory::GroupConfig>(),
            "{}",
            g.object
        );
        // Hot groups count per CPU; the others share one value per UID.
        let per_cpu = uid.map_type == sys::BPF_MAP_TYPE_PERCPU_HASH;
        assert!(
            per_cpu || uid.map_type == sys::BPF_MAP_TYPE_HASH,
            "{}",
            g.object
        );
        assert_eq!(
            per_cpu, g.samplable,
            "{}: per-CPU exactly when samplable",
            g.object
        );

        let sections: Vec<&str> = elf
            .code_sections()
            .map(|s| s.name.as_str())
            .filter(|n| *n != ".text")
            .collect();
        for hook in g.hooks {
            for source in hook.sources {
                let section = match source {
                    Source::Tracepoint { section, .. } | Source::PerfSoftware { section, .. } => {
                        section
                    }
                };
                assert!(
                    sections.contains(section),
                    "{} has no program {section}",
                    g.object
                );
            }
        }
    }
}

#[test]
fn the_syscalls_object_defines_what_memstatd_opens() {
    let elf = object(syscalls::OBJECT);
    let maps = elf.section("maps").unwrap();
    let defs: Vec<MapDef> = elf
        .symbols_in(maps.index)
        .iter()
        .map(|s| MapDef::parse(&s.name, &maps.data[s.value as usize..][..MAP_DEF_SIZE]))
        .collect();
    let def = |name: &str| {
        defs.iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("no map {name}"))
    };
    let shape = |d: &MapDef| {
        (
            d.map_type,
            d.key_size as usize,
            d.value_size as usize,
            d.max_entries,
        )
    };

    assert_eq!(
        shape(def(syscalls::MAP_COUNTS)),
        (
            sys::BPF_MAP_TYPE_PERCPU_HASH,
            size_of::<SyscallKey>(),
            size_of::<SyscallCounts>(),
            syscalls::COUNTS_ENTRIES
        )
    );
    assert_eq!(
        shape(def(syscalls::MAP_OVERFLOW)),
        (
            sys::BPF_MAP_TYPE_PERCPU_ARRAY,
            4,
            size_of::<SyscallOverflow>(),
            1
        )
    );
    assert_eq!(
        shape(def(syscalls::MAP_CONFIG)),
        (sys::BPF_MAP_TYPE_ARRAY, 4, size_of::<SyscallConfig>(), 1)
    );
    assert_eq!(
        shape(def(syscalls::MAP_START)),
        (
            sys::BPF_MAP_TYPE_LRU_HASH,
            4,
            size_of::<SyscallStart>(),
            syscalls::START_ENTRIES
        )
    );
    assert_eq!(
        shape(def(syscalls::MAP_LATENCY)),
        (
            sys::BPF_MAP_TYPE_HASH,
            4,
            size_of::<LatencyHist>(),
            syscalls::LATENCY_ENTRIES
        )
    );
    assert_eq!(defs.len(), 5);

    let sections: Vec<&str> = elf
        .code_sections()
        .map(|s| s.name.as_str())
        .filter(|n| *n != ".text")
        .collect();
    assert_eq!(
        sections,
        vec![syscalls::PROG_SYS_EXIT, syscalls::PROG_SYS_ENTER]
    );
    for code in elf.code_sections().filter(|s| s.name != ".text") {
        let func = elf.function_of(code).unwrap();
        assert!(
            !program_def(&elf, &func.name).unwrap().optional,
            "{} is mandatory",
            code.name
        );
    }
}

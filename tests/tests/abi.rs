//! One ABI, checked: the Rust mirror (memstatd/src/abi.rs) against the layout
//! clang gives bpf_progs/memstat_abi.h, and every map and program memstatd
//! expects against the built objects.

use memstatd::abi::*;
use memstatd::bpf::sys;
use memstatd::loader::elf::{Elf, MapDef, MAP_DEF_SIZE};
use memstatd::loader::{builtin, program_def};
use memstatd::probes::memory::{Source, GROUPS};
use memstatd::probes::syscall_table::{self, Abi};
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
    let c = layout_section("layout");
    let rust: Vec<u64> = [
        size_of::<SyscallKey>(),
        offset_of!(SyscallKey, uid),
        offset_of!(SyscallKey, nr),
        size_of::<SyscallCounts>(),
        offset_of!(SyscallCounts, count),
        offset_of!(SyscallCounts, errors),
        ROW_BYTES,
        0,
        syscalls::ROW_WIDTH as usize,
        size_of::<SyscallCache>(),
        offset_of!(SyscallCache, generation),
        offset_of!(SyscallCache, tid),
        offset_of!(SyscallCache, uid),
        offset_of!(SyscallCache, row),
        offset_of!(SyscallCache, reserved),
        size_of::<SyscallWatch>(),
        offset_of!(SyscallWatch, generation),
        offset_of!(SyscallWatch, calls),
        syscalls::WATCH_WORDS,
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
        syscalls::ROWS as usize,
        syscalls::ROW_CLAIM_AT as usize,
        syscalls::ROW_OF_ENTRIES as usize,
        syscalls::ROW_PENDING as usize,
        syscalls::ROW_NONE as usize,
        syscalls::COUNTS_ENTRIES as usize,
        syscalls::START_ENTRIES as usize,
        syscalls::LATENCY_ENTRIES as usize,
    ]
    .iter()
    .map(|&v| v as u64)
    .collect();
    assert_eq!(rust, c);
}

#[test]
fn syscall_slots_match_the_c_layout_and_hash() {
    let pairs = [
        (0, 0),
        (0, 1),
        (1000, 63),
        (10123, 221),
        (99999, 511),
        (u32::MAX, 0),
    ];
    let mut rust: Vec<u64> = [
        size_of::<SyscallSlot>(),
        offset_of!(SyscallSlot, key),
        offset_of!(SyscallSlot, counts),
        syscalls::SLOT_BITS as usize,
        syscalls::SLOTS as usize,
    ]
    .iter()
    .map(|&v| v as u64)
    .collect();
    rust.extend(pairs.map(|(uid, nr)| u64::from(syscalls::slot_of(uid, nr))));
    assert_eq!(rust, layout_section("slot_layout"));
    // A slot read whole names its pair; any other key is none of the map's.
    let slot = |key| SyscallSlot {
        key,
        counts: SyscallCounts::default(),
    };
    // (10457, 98) shares its slot with (0, 98): a key read with only its
    // low half written must not pass for root's.
    for (uid, nr) in [(10123, 221), (10457, 98), (0, 0), (u32::MAX - 1, 511)] {
        let index = syscalls::slot_of(uid, nr);
        let key = SyscallSlot::key_of(uid, nr);
        assert_eq!(slot(key).pair(index), Some(SyscallKey { uid, nr }));
        assert_eq!(slot(key).pair(index ^ 1), None);
        assert_eq!(slot(key & 0xFFFF_FFFF).pair(index), None, "low half only");
        assert_eq!(slot(key >> 32 << 32).pair(index), None, "high half only");
    }
    assert_eq!(syscalls::slot_of(10457, 98), syscalls::slot_of(0, 98));
    assert_eq!(
        slot(SyscallSlot::key_of(0, 600)).pair(syscalls::slot_of(0, 600)),
        None,
        "nr past a row"
    );
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
        memory::BUSY_UID_ENTRIES as usize,
        memory::RARE_UID_ENTRIES as usize,
        memory::STALL_START_ENTRIES as usize,
        memory::RSS_MM_ENTRIES as usize,
        memory::BRK_ENTRIES as usize,
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
fn rust_task_structs_match_the_c_layout() {
    use memstatd::abi::tasks::*;
    let rust: Vec<u64> = [
        size_of::<TaskConfig>(),
        offset_of!(TaskConfig, configured),
        offset_of!(TaskConfig, calibrate_tid),
        offset_of!(TaskConfig, word),
        offset_of!(TaskConfig, min_flt),
        offset_of!(TaskConfig, maj_flt),
        offset_of!(TaskConfig, signal),
        offset_of!(TaskConfig, maxrss),
        size_of::<TaskFaults>(),
        offset_of!(TaskFaults, minor),
        offset_of!(TaskFaults, major),
        size_of::<TaskDead>(),
        offset_of!(TaskDead, minor),
        offset_of!(TaskDead, major),
        offset_of!(TaskDead, maxrss_pages),
        offset_of!(TaskDead, uid),
        offset_of!(TaskDead, exits),
        size_of::<TaskHeld>(),
        offset_of!(TaskHeld, adjust_minor),
        offset_of!(TaskHeld, adjust_major),
        offset_of!(TaskHeld, reported_minor),
        offset_of!(TaskHeld, reported_major),
        size_of::<TaskDrops>(),
        offset_of!(TaskDrops, unconfigured),
        offset_of!(TaskDrops, read_failed),
        offset_of!(TaskDrops, dead_full),
        offset_of!(TaskDrops, uid_full),
        WINDOW_VALUE,
        0,
        8,
        DEAD_ENTRIES as usize,
        HELD_ENTRIES as usize,
        WINDOW_BYTES,
    ]
    .iter()
    .map(|&v| v as u64)
    .collect();
    assert_eq!(rust, layout_section("task_layout"));
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
        // Values are shared by every CPU (atomic adds) except where they keep
        // peaks, which only a per-CPU value can raise exactly.
        let (map_type, entries) = match g.name {
            "rss" => (sys::BPF_MAP_TYPE_PERCPU_HASH, memory::RARE_UID_ENTRIES),
            "extfrag" | "reclaim" | "compaction" | "oom" => {
                (sys::BPF_MAP_TYPE_HASH, memory::RARE_UID_ENTRIES)
            }
            _ => (sys::BPF_MAP_TYPE_HASH, memory::BUSY_UID_ENTRIES),
        };
        assert_eq!(
            (
                uid.map_type,
                uid.key_size,
                uid.value_size as usize,
                uid.max_entries
            ),
            (map_type, 4, g.value_size(), entries),
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
        let other_type = if map_type == sys::BPF_MAP_TYPE_PERCPU_HASH {
            sys::BPF_MAP_TYPE_PERCPU_ARRAY
        } else {
            sys::BPF_MAP_TYPE_ARRAY
        };
        assert_eq!(other.map_type, other_type, "{}", g.object);

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

    let u32_size = size_of::<u32>();
    let expected = [
        (
            syscalls::MAP_ROWS,
            sys::BPF_MAP_TYPE_PERCPU_ARRAY,
            u32_size,
            ROW_BYTES,
            syscalls::ROWS,
        ),
        (
            syscalls::MAP_ROW_UID,
            sys::BPF_MAP_TYPE_HASH,
            u32_size,
            size_of::<u64>(),
            syscalls::ROWS,
        ),
        (
            syscalls::MAP_ROW_OF,
            sys::BPF_MAP_TYPE_HASH,
            u32_size,
            u32_size,
            syscalls::ROW_OF_ENTRIES,
        ),
        (
            syscalls::MAP_ROWS_FULL,
            sys::BPF_MAP_TYPE_ARRAY,
            u32_size,
            u32_size,
            1,
        ),
        (
            syscalls::MAP_CACHE,
            sys::BPF_MAP_TYPE_PERCPU_ARRAY,
            u32_size,
            size_of::<SyscallCache>(),
            1,
        ),
        (
            syscalls::MAP_WATCH,
            sys::BPF_MAP_TYPE_ARRAY,
            u32_size,
            size_of::<SyscallWatch>(),
            1,
        ),
        (
            syscalls::MAP_SLOTS,
            sys::BPF_MAP_TYPE_PERCPU_ARRAY,
            u32_size,
            size_of::<SyscallSlot>(),
            syscalls::SLOTS,
        ),
        (
            syscalls::MAP_COUNTS,
            sys::BPF_MAP_TYPE_HASH,
            size_of::<SyscallKey>(),
            size_of::<SyscallCounts>(),
            syscalls::COUNTS_ENTRIES,
        ),
        (
            syscalls::MAP_OVERFLOW,
            sys::BPF_MAP_TYPE_PERCPU_ARRAY,
            u32_size,
            size_of::<SyscallOverflow>(),
            1,
        ),
        (
            syscalls::MAP_CONFIG,
            sys::BPF_MAP_TYPE_ARRAY,
            u32_size,
            size_of::<SyscallConfig>(),
            1,
        ),
        (
            syscalls::MAP_START,
            sys::BPF_MAP_TYPE_LRU_HASH,
            u32_size,
            size_of::<SyscallStart>(),
            syscalls::START_ENTRIES,
        ),
        (
            syscalls::MAP_LATENCY,
            sys::BPF_MAP_TYPE_HASH,
            u32_size,
            size_of::<LatencyHist>(),
            syscalls::LATENCY_ENTRIES,
        ),
    ];
    for (name, map_type, key, value, entries) in expected {
        assert_eq!(shape(def(name)), (map_type, key, value, entries), "{name}");
    }
    assert_eq!(defs.len(), expected.len());
    // A UID's claim needs room beside the rows' holders, one per CPU claiming.
    const { assert!(syscalls::ROW_OF_ENTRIES >= 2 * syscalls::ROWS) };
    // Every number of the four ABIs' tables fits a row, but ARM's private
    // calls (0xf0001 on), which the shared table counts.
    for abi in [Abi::Arm64, Abi::Arm, Abi::X86_64, Abi::X86] {
        let highest = (0..0xf_0000)
            .filter(|&nr| syscall_table::name(abi, nr).is_some())
            .max()
            .unwrap();
        assert!(highest < syscalls::ROW_WIDTH, "{abi:?}: {highest}");
    }

    let sections: Vec<&str> = elf
        .code_sections()
        .map(|s| s.name.as_str())
        .filter(|n| *n != ".text")
        .collect();
    assert_eq!(
        sections,
        vec![
            syscalls::PROG_SYS_EXIT,
            syscalls::PROG_TASK_NEWTASK,
            syscalls::PROG_PROCESS_EXEC,
            syscalls::PROG_SYS_ENTER
        ]
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

//! Builds the test fixtures in tests/objects/: BPF objects that each break one
//! platform loader rule (or exercise one loader behaviour), and the ABI layout
//! probe. A fixture's first line may hold `// clang-flags: ...`.

#[path = "../memstatd/build/bpf_clang.rs"]
mod bpf_clang;

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest.join("..");
    let fixtures = manifest.join("objects");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let obj_dir = out.join("objects");
    std::fs::create_dir_all(&obj_dir).unwrap();
    println!("cargo:rerun-if-changed={}", fixtures.display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("bpf_progs").display()
    );

    let clang = bpf_clang::BpfCompiler::new(
        &out,
        &[root.join("bpf_progs/include"), root.join("bpf_progs")],
    );
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();
    for src in &sources {
        let text = std::fs::read_to_string(src).unwrap();
        let flags: Vec<&str> = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// clang-flags:"))
            .map(|f| f.split_whitespace().collect())
            .unwrap_or_default();
        let name = src.file_stem().unwrap().to_str().unwrap();
        clang.compile(src, &obj_dir.join(format!("{name}.o")), &flags);
    }
    println!("cargo:rustc-env=MEMSTAT_TEST_OBJECTS={}", obj_dir.display());
}

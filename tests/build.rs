//! Builds the test fixtures in tests/objects/: BPF objects that each break one
//! platform loader rule (or exercise one loader behaviour), and the ABI layout
//! probe. A fixture's first line may hold `// clang-flags: ...`, or
//! `// compile-fails: why`: such a source must not compile, so it is left to
//! tests/tests/bpf_headers.rs, which runs the same compiler command on it
//! (written to `MEMSTAT_BPF_COMPILE`, one argument a line).

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

    let clang = bpf_clang::BpfCompiler::new(&out, &root, &[root.join("bpf_progs")]);
    let command = clang.command();
    let args: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_str().expect("UTF-8 compiler argument").to_owned())
        .collect();
    let command_file = out.join("bpf_compile.args");
    std::fs::write(&command_file, args.join("\n")).unwrap();
    println!(
        "cargo:rustc-env=MEMSTAT_BPF_COMPILE={}",
        command_file.display()
    );

    let mut sources: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();
    for src in &sources {
        let text = std::fs::read_to_string(src).unwrap();
        let first = text.lines().next().unwrap_or("");
        if first.starts_with("// compile-fails:") {
            continue;
        }
        let flags: Vec<&str> = first
            .strip_prefix("// clang-flags:")
            .map(|f| f.split_whitespace().collect())
            .unwrap_or_default();
        let name = src.file_stem().unwrap().to_str().unwrap();
        clang.compile(src, &obj_dir.join(format!("{name}.o")), &flags);
    }
    println!("cargo:rustc-env=MEMSTAT_TEST_OBJECTS={}", obj_dir.display());
}

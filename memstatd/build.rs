//! Builds every BPF object in bpf_progs/ and embeds them for the host loader.

#[path = "build/bpf_clang.rs"]
mod bpf_clang;

use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap()).join("..");
    let progs = root.join("bpf_progs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let bpf_out = out.join("bpf");
    std::fs::create_dir_all(&bpf_out).unwrap();

    println!("cargo:rerun-if-changed={}", progs.display());
    let clang = bpf_clang::BpfCompiler::new(&out, &root, &[]);

    let mut sources: Vec<PathBuf> = std::fs::read_dir(&progs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    sources.sort();

    let mut table =
        String::from("/// The BPF objects built from bpf_progs/: (object name, ELF bytes).\n");
    table.push_str("pub const OBJECTS: &[(&str, &[u8])] = &[\n");
    for src in &sources {
        let name = src.file_stem().unwrap().to_str().unwrap();
        let obj = bpf_out.join(format!("{name}.o"));
        clang.compile(src, &obj, &[]);
        table.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            obj.display().to_string()
        ));
    }
    table.push_str("];\n");
    std::fs::write(out.join("objects.rs"), table).unwrap();
    println!("cargo:rustc-env=MEMSTAT_BPF_DIR={}", bpf_out.display());
}

//! Compiles BPF C sources the way Soong's `bpf {}` module does: clang for the
//! BPF target, `-O2 -Wall -Werror -Wextra -nostdlibinc`, Linux UAPI headers and
//! no libc headers. Shared by the build scripts of memstatd (the objects) and
//! the tests crate (malformed objects, ABI layout probe).

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct BpfCompiler {
    clang: PathBuf,
    include_dirs: Vec<PathBuf>,
}

impl BpfCompiler {
    /// `out_dir` receives a UAPI-only include tree; `include_dirs` are `-I` paths.
    pub fn new(out_dir: &Path, include_dirs: &[PathBuf]) -> Self {
        println!("cargo:rerun-if-env-changed=BPF_CLANG");
        let mut dirs = vec![uapi_only_dir(out_dir)];
        dirs.extend_from_slice(include_dirs);
        BpfCompiler {
            clang: find_clang(),
            include_dirs: dirs,
        }
    }

    /// Compiles `src` to `obj`; `extra` flags are for test fixtures only.
    pub fn compile(&self, src: &Path, obj: &Path, extra: &[&str]) {
        println!("cargo:rerun-if-changed={}", src.display());
        let mut cmd = Command::new(&self.clang);
        cmd.args(["--target=bpf", "-c", "-O2", "-Wall", "-Werror", "-Wextra"])
            .args(["-nostdlibinc", "-no-canonical-prefixes"])
            .args(extra);
        // The first directory holds the UAPI headers: a system directory, as in Soong.
        let (uapi, rest) = self.include_dirs.split_first().expect("uapi dir");
        cmd.arg("-isystem").arg(uapi);
        for dir in rest {
            cmd.arg("-I").arg(dir);
        }
        cmd.arg(src).arg("-o").arg(obj);
        let out = cmd.output().unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; install clang (apt-get install clang-19)",
                self.clang.display()
            )
        });
        if !out.status.success() {
            panic!(
                "BPF compile of {} failed:\n{}{}",
                src.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// `BPF_CLANG` if set, else the newest versioned clang on PATH, else `clang`.
fn find_clang() -> PathBuf {
    if let Some(clang) = std::env::var_os("BPF_CLANG") {
        return clang.into();
    }
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
            .unwrap_or(false)
    };
    (14..=21)
        .rev()
        .map(|v| format!("clang-{v}"))
        .find(|name| on_path(name))
        .unwrap_or_else(|| "clang".into())
        .into()
}

/// A directory holding only the kernel's UAPI headers (`linux/`, `asm/`,
/// `asm-generic/`) from linux-libc-dev, so no libc header can leak in.
fn uapi_only_dir(out_dir: &Path) -> PathBuf {
    let sys = Path::new("/usr/include");
    let dir = out_dir.join("uapi");
    std::fs::create_dir_all(&dir).expect("create uapi dir");
    let asm = ["x86_64-linux-gnu", "aarch64-linux-gnu", "riscv64-linux-gnu"]
        .iter()
        .map(|triple| sys.join(triple).join("asm"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| sys.join("asm"));
    for (name, target) in [
        ("linux", sys.join("linux")),
        ("asm-generic", sys.join("asm-generic")),
        ("asm", asm),
    ] {
        if !target.join(".").is_dir() {
            panic!(
                "{} is missing: install the Linux UAPI headers (apt-get install linux-libc-dev)",
                target.display()
            );
        }
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).expect("link uapi headers");
    }
    dir
}

//! Compiles BPF C sources the way Soong's `bpf {}` module does (build/soong
//! bpf/bpf.go, with `btf: false`): `clang --target=bpf -c`, Soong's flags in
//! its order, and its include path with the host's stand-ins in the
//! platform's places:
//!
//! - bionic's `libc/include` (`-isystem`): `bpf_progs/include/bionic`;
//! - bionic's UAPI headers (`-isystem`): the Linux UAPI headers only;
//! - the Connectivity BPF headers and libcutils' include (`-I`):
//!   `bpf_progs/include`;
//! - the module directory (`-I`): the repository root, home of Android.bp.
//!
//! Shared by the build scripts of memstatd (the objects) and the tests crate
//! (fixtures, ABI layout probe).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Soong's flags before the include path, in its order.
const SOONG_FLAGS: &[&str] = &[
    "-nostdlibinc",
    "-no-canonical-prefixes",
    "-O2",
    "-Wall",
    "-Werror",
    "-Wextra",
];

pub struct BpfCompiler {
    clang: PathBuf,
    args: Vec<OsString>,
}

impl BpfCompiler {
    /// `out_dir` receives a UAPI-only include tree; `root` is the repository
    /// (the directory of Android.bp); `include_dirs` are further `-I` paths.
    pub fn new(out_dir: &Path, root: &Path, include_dirs: &[PathBuf]) -> Self {
        println!("cargo:rerun-if-env-changed=BPF_CLANG");
        let stand_ins = root.join("bpf_progs/include");
        let mut args: Vec<OsString> = ["--target=bpf", "-c"]
            .iter()
            .chain(SOONG_FLAGS)
            .map(OsString::from)
            .collect();
        for (flag, dir) in [
            ("-isystem", stand_ins.join("bionic")),
            ("-isystem", uapi_only_dir(out_dir)),
            ("-I", stand_ins),
            ("-I", root.to_owned()),
        ]
        .into_iter()
        .chain(include_dirs.iter().map(|d| ("-I", d.clone())))
        {
            args.push(flag.into());
            args.push(dir.into());
        }
        BpfCompiler {
            clang: find_clang(),
            args,
        }
    }

    /// The compiler with every flag and include path, before `extra` flags,
    /// the source and `-o`.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.clang);
        cmd.args(&self.args);
        cmd
    }

    /// Compiles `src` to `obj`; `extra` flags are for test fixtures only.
    pub fn compile(&self, src: &Path, obj: &Path, extra: &[&str]) {
        println!("cargo:rerun-if-changed={}", src.display());
        let out = self
            .command()
            .args(extra)
            .arg(src)
            .arg("-o")
            .arg(obj)
            .output()
            .unwrap_or_else(|e| {
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

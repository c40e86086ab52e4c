//! Harness for memstat's tests on the real kernel: private bpffs mounts,
//! the root/BPF gate, and workloads run as dedicated UIDs.
//!
//! Tests that need root and BPF call [`kernel`] first. Without them a test
//! says why and returns; with `CI=true` it fails instead.
#![cfg(not(target_os = "android"))]

use memstatd::bpf::Tracefs;
use memstatd::loader::{builtin, HostLoader, LoadReport};
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};

/// What a kernel test needs: root, a tracefs and a bpffs.
pub struct Kernel {
    pub tracefs: Tracefs,
}

/// The gate of every kernel test. `None` (after saying why) when this
/// machine cannot run it; panics instead when `CI=true`.
pub fn kernel(test: &str) -> Option<Kernel> {
    match probe_kernel() {
        Ok(k) => Some(k),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{test}: needs root, BPF and tracefs, and CI=true forbids skipping: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED {test}: needs root, BPF and tracefs: {why}");
            None
        }
    }
}

fn probe_kernel() -> Result<Kernel, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not running as root (run the tests with sudo)".into());
    }
    let tracefs = Tracefs::find().or_else(|_| {
        mount("tracefs", Path::new("/sys/kernel/tracing"), "tracefs")?;
        Tracefs::find().map_err(|e| e.to_string())
    })?;
    Bpffs::new().map_err(|e| format!("cannot mount a bpffs: {e}"))?;
    Ok(Kernel { tracefs })
}

fn mount(source: &str, target: &Path, fstype: &str) -> Result<(), String> {
    let c = |s: &str| CString::new(s).expect("no NUL");
    let target_c = c(target.to_str().expect("utf-8 path"));
    // SAFETY: all pointers are valid NUL-terminated strings; data may be NULL.
    let rc = unsafe {
        libc::mount(
            c(source).as_ptr(),
            target_c.as_ptr(),
            c(fstype).as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(format!(
            "mount -t {fstype} {}: {}",
            target.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// A private bpffs instance on a temporary directory, unmounted on drop.
pub struct Bpffs {
    path: PathBuf,
}

impl Bpffs {
    pub fn new() -> Result<Self, String> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "memstat-bpffs-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).map_err(|e| e.to_string())?;
        mount("bpf", &path, "bpf")?;
        Ok(Bpffs { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Bpffs {
    fn drop(&mut self) {
        if let Ok(c) = CString::new(self.path.to_str().unwrap_or_default()) {
            // SAFETY: c is a valid path; MNT_DETACH never blocks.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// Loads the built-in object `name` into `root` with the host loader.
pub fn load_builtin(root: &Path, name: &str) -> LoadReport {
    let (_, bytes) = builtin::OBJECTS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no built-in object {name}"));
    HostLoader::new(root)
        .expect("host loader")
        .load(name, bytes)
        .expect("load")
}

/// A run of the workload generator (src/bin/workload.rs): a list of
/// operations, each making an exactly known number of syscalls.
#[derive(Default)]
pub struct Workload {
    ops: Vec<String>,
}

impl Workload {
    pub fn new() -> Self {
        Self::default()
    }

    /// `n` successful getppid calls.
    pub fn getppid(mut self, n: u64) -> Self {
        self.ops.push(format!("getppid:{n}"));
        self
    }

    /// `n` fchdir(-1) calls, each failing with EBADF.
    pub fn badfd(mut self, n: u64) -> Self {
        self.ops.push(format!("badfd:{n}"));
        self
    }

    /// One call to each syscall number in `first..first + n`, none of which
    /// exists: each fails with ENOSYS and needs its own map entry.
    pub fn enosys(mut self, first: u64, n: u64) -> Self {
        self.ops.push(format!("enosys:{first}:{n}"));
        self
    }

    /// `n` nanosleep calls of `ms` milliseconds.
    pub fn sleep(mut self, n: u64, ms: u64) -> Self {
        self.ops.push(format!("sleep:{n}:{ms}"));
        self
    }

    /// Starts the workload as `uid` (and gid `uid`).
    pub fn spawn_as(&self, exe: &Path, uid: u32) -> Child {
        Command::new(exe)
            .args(&self.ops)
            .uid(uid)
            .gid(uid)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} as uid {uid}: {e}", exe.display()))
    }
}

use std::os::unix::process::CommandExt;

/// Waits for a workload and checks it succeeded.
pub fn wait_ok(mut child: Child) {
    let status = child.wait().expect("wait for workload");
    assert!(status.success(), "workload failed: {status}");
}

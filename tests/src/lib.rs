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

/// A binary of the workspace, built into the same profile as the running
/// test or benchmark (`cargo build --workspace --bins` builds them all;
/// `.ci/run` does).
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the running program's own path");
    // Tests run from target/<profile>/deps/, binaries from target/<profile>/.
    let mut dir = exe.parent().expect("an executable is in a directory");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().expect("target/<profile>");
    }
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{} is not built: run `cargo build --workspace --bins` first (.ci/run does)",
        bin.display()
    );
    bin
}

/// A memstatd process with a private pin root, socket and state directory.
pub struct Daemon {
    child: Option<Child>,
    args: Vec<std::ffi::OsString>,
    pub socket: PathBuf,
    pub state: PathBuf,
    stderr: PathBuf,
}

/// What one `memstat` run printed, and its exit code.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout as JSON, with the run's output in the panic if it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): exit {}\nstdout: {}\nstderr: {}",
                self.code, self.stdout, self.stderr
            )
        })
    }
}

impl Daemon {
    /// Starts `memstatd MODE_ARGS --socket .. --state-dir ..` in a fresh
    /// directory `dir` (made world-traversable so that other UIDs can reach
    /// the socket) and waits until it serves.
    pub fn start(dir: &Path, mode_args: &[&std::ffi::OsStr]) -> Daemon {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut args: Vec<std::ffi::OsString> = mode_args.iter().map(|a| a.into()).collect();
        let socket = dir.join("memstatd.sock");
        let state = dir.join("state");
        args.extend(["--socket".into(), socket.clone().into_os_string()]);
        args.extend(["--state-dir".into(), state.clone().into_os_string()]);
        let mut d = Daemon {
            child: None,
            args,
            socket,
            state,
            stderr: dir.join("memstatd.log"),
        };
        d.restart();
        d
    }

    /// Host mode with pins under `pins` (a bpffs).
    pub fn host(dir: &Path, pins: &Path) -> Daemon {
        Daemon::start(
            dir,
            &["--host".as_ref(), "--pin-root".as_ref(), pins.as_os_str()],
        )
    }

    /// Starts the daemon again with the same arguments (after a kill).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the daemon is running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.stderr)
            .unwrap();
        let child = Command::new(workspace_bin("memstatd"))
            .args(&self.args)
            .stderr(log)
            .spawn()
            .expect("start memstatd");
        self.child = Some(child);
        self.wait_serving();
    }

    /// Waits until a request is answered: the socket is bound before the
    /// probes are attached (and in device mode before the pins exist).
    fn wait_serving(&mut self) {
        let start = std::time::Instant::now();
        let header = ["--section".to_string(), "header".to_string()];
        while !matches!(
            memstatd::transport::socket::request(&self.socket, &header, &mut std::io::sink()),
            Ok((memstatd::transport::protocol::Status::Ok, _))
        ) {
            let child = self.child.as_mut().expect("running");
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                panic!("memstatd exited ({status}) before serving:\n{}", self.log());
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "memstatd does not serve after 30 s:\n{}",
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// `kill -9`, as a crash would.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM; returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        // SAFETY: kill has no memory arguments; the child has not been reaped.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        child.wait().unwrap()
    }

    /// Runs the memstat CLI against this daemon as root.
    pub fn memstat(&self, args: &[&str]) -> Run {
        self.memstat_as(None, args)
    }

    /// Runs the memstat CLI as `uid` (and gid `uid`), or as root.
    pub fn memstat_as(&self, uid: Option<u32>, args: &[&str]) -> Run {
        let mut cmd = Command::new(workspace_bin("memstat"));
        cmd.arg("--socket").arg(&self.socket).args(args);
        if let Some(uid) = uid {
            cmd.uid(uid).gid(uid);
        }
        let out = cmd.output().expect("run memstat");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A fresh directory under the temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "memstat-{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

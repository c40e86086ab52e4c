//! Harness for memstat's tests on the real kernel: private bpffs mounts,
//! the root/BPF gate, workloads run as dedicated UIDs (to their end, or
//! stopped at their `wait` ops so that a test reads counters around exactly
//! the ops between two pauses), and private memory cgroups ([`memcg`]).
//!
//! Tests that need root and BPF call [`kernel`] first, tests that need only
//! root [`root`]. Without them a test says why and returns; with `CI=true`
//! it fails instead.
#![cfg(not(target_os = "android"))]

pub mod app_cgroups;
pub mod hostile;
pub mod memcg;
pub mod statefs;

use memstatd::bpf::Tracefs;
use memstatd::loader::{builtin, HostLoader, LoadReport};
use std::ffi::CString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// What a kernel test needs: root, a tracefs and a bpffs.
pub struct Kernel {
    /// The tracefs mount, found or mounted at `/sys/kernel/tracing`.
    pub tracefs: Tracefs,
}

/// The gate of every kernel test. `None` (after saying why) when this
/// machine cannot run it; panics instead when `CI=true`.
pub fn kernel(test: &str) -> Option<Kernel> {
    gate(test, "root, BPF and tracefs", probe_kernel())
}

/// The gate of tests that need root but no BPF (workloads as other UIDs,
/// memory cgroups): false (after saying why) without root; panics instead
/// when `CI=true`.
pub fn root(test: &str) -> bool {
    gate(test, "root", probe_root()).is_some()
}

fn gate<T>(test: &str, needs: &str, probe: Result<T, String>) -> Option<T> {
    match probe {
        Ok(k) => Some(k),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{test}: needs {needs}, and CI=true forbids skipping: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED {test}: needs {needs}: {why}");
            None
        }
    }
}

fn probe_root() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("not running as root (run the tests with sudo)".into());
    }
    Ok(())
}

fn probe_kernel() -> Result<Kernel, String> {
    probe_root()?;
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
    /// Mounts a new bpffs on a fresh temporary directory.
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

    /// The mount point.
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
    /// A workload with no ops yet.
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

    /// `n` pages of one anonymous mapping written once each: `n` minor
    /// faults. Prints `touch N minflt=X majflt=Y` (see [`op_lines`]).
    pub fn touch(mut self, n: u64) -> Self {
        self.ops.push(format!("touch:{n}"));
        self
    }

    /// `n` mmap calls of `bytes` each (PROT_NONE, no memory), then `n`
    /// munmap calls of `bytes`.
    pub fn mmap(mut self, n: u64, bytes: u64) -> Self {
        self.ops.push(format!("mmap:{n}:{bytes}"));
        self
    }

    /// One mapping of `bytes`, `n` mprotect calls of `bytes` on it.
    pub fn mprotect(mut self, n: u64, bytes: u64) -> Self {
        self.ops.push(format!("mprotect:{n}:{bytes}"));
        self
    }

    /// One mapping of `bytes`, `n` madvise(MADV_DONTNEED) calls of `bytes`.
    pub fn madvise(mut self, n: u64, bytes: u64) -> Self {
        self.ops.push(format!("madvise:{n}:{bytes}"));
        self
    }

    /// One mapping of `bytes`, `n` mremap calls alternately growing it to
    /// 2 × `bytes` and shrinking it back.
    pub fn mremap(mut self, n: u64, bytes: u64) -> Self {
        self.ops.push(format!("mremap:{n}:{bytes}"));
        self
    }

    /// brk(0), `n` brk calls each growing the break by `bytes`, one brk call
    /// moving it back.
    pub fn brk(mut self, n: u64, bytes: u64) -> Self {
        self.ops.push(format!("brk:{n}:{bytes}"));
        self
    }

    /// `n` memfd_create calls, each followed by close.
    pub fn memfd(mut self, n: u64) -> Self {
        self.ops.push(format!("memfd:{n}"));
        self
    }

    /// `n` System V segments of `bytes`: shmget, shmat, shmdt, shmctl(IPC_RMID).
    pub fn shm(mut self, n: u64, bytes: u64) -> Self {
        self.ops.push(format!("shm:{n}:{bytes}"));
        self
    }

    /// `n` eventfds open at once, then closed: `n` kmallocs of an
    /// eventfd_ctx, and a file and a dentry from kmem caches, each.
    pub fn slab(mut self, n: u64) -> Self {
        self.ops.push(format!("slab:{n}"));
        self
    }

    /// `n` pipes open at once, then closed.
    pub fn pipe(mut self, n: u64) -> Self {
        self.ops.push(format!("pipe:{n}"));
        self
    }

    /// `n` major faults: a file of `n` pages at `path` (which the UID must
    /// be able to create, on a disk filesystem), dropped from the page cache
    /// and read through a mapping. Prints `majfault N minflt=X majflt=Y
    /// resident_before=R` (see [`op_lines`]).
    pub fn majfault(mut self, n: u64, path: &Path) -> Self {
        self.ops.push(format!("majfault:{n}:{}", path.display()));
        self
    }

    /// Anonymous memory written in 1 MiB steps up to `bytes`, then held
    /// until the process is killed: the last op (see [`memcg::Memcg`]).
    pub fn hog(mut self, bytes: u64) -> Self {
        self.ops.push(format!("hog:{bytes}"));
        self
    }

    /// A pause: the workload prints `wait` and reads a line
    /// ([`Interactive::pause`], [`Interactive::resume`]).
    pub fn wait(mut self) -> Self {
        self.ops.push("wait".into());
        self
    }

    /// The workload's command line, run as the caller.
    pub fn command(&self, exe: &Path) -> Command {
        let mut cmd = Command::new(exe);
        cmd.args(&self.ops);
        cmd
    }

    /// Starts the workload as `uid` (and gid `uid`).
    pub fn spawn_as(&self, exe: &Path, uid: u32) -> Child {
        self.command(exe)
            .uid(uid)
            .gid(uid)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} as uid {uid}: {e}", exe.display()))
    }

    /// Starts the workload as `uid` (and gid `uid`), its stdin and stdout
    /// held by the test, to stop it at its `wait` ops.
    pub fn start_as(&self, exe: &Path, uid: u32) -> Interactive {
        let mut cmd = self.command(exe);
        cmd.uid(uid).gid(uid);
        Interactive::spawn(cmd, format!("workload {:?} as uid {uid}", self.ops))
    }

    /// Runs the workload as `uid` to its end (its `wait` ops do not stop it)
    /// and returns its stdout lines; panics unless it succeeds.
    pub fn run_as(&self, exe: &Path, uid: u32) -> Vec<String> {
        self.start_as(exe, uid).finish()
    }
}

use std::os::unix::process::CommandExt;

/// How long [`Interactive::pause`] waits for a `wait`, and
/// [`Interactive::finish`] for the end.
const WORKLOAD_LIMIT: Duration = Duration::from_secs(60);

/// A running workload whose `wait` ops stop it until the test resumes it:
/// counters read at two pauses differ by exactly the ops between them, free
/// of process start and exit.
pub struct Interactive {
    child: Child,
    what: String,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<thread::JoinHandle<String>>,
    ended: bool,
}

/// How a workload ended, and what it printed.
pub struct Ended {
    /// Its exit status.
    pub status: ExitStatus,
    /// Killed (SIGKILL) by the harness at the time limit.
    pub timed_out: bool,
    /// Its stdout lines, without those of its `wait` ops.
    pub stdout: Vec<String>,
    /// Everything it wrote to stderr.
    pub stderr: String,
}

impl Ended {
    /// The signal that killed it, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }
}

impl Interactive {
    /// Starts `cmd` with piped stdin, stdout and stderr; `what` names it in
    /// messages.
    pub fn spawn(mut cmd: Command, what: String) -> Interactive {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        // A thread per pipe, so that neither fills up while the test waits on
        // the other or on the process.
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("piped stderr");
        let stderr = thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Interactive {
            stdin: child.stdin.take(),
            child,
            what,
            lines,
            stdout: Vec::new(),
            stderr: Some(stderr),
            ended: false,
        }
    }

    /// The workload's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Blocks until the workload is stopped at its next `wait` op: it
    /// printed `wait` and sleeps in read(0), so every syscall before it has
    /// returned.
    pub fn pause(&mut self) {
        loop {
            match self.lines.recv_timeout(WORKLOAD_LIMIT) {
                Ok(line) if line == "wait" => return self.until_reading(),
                Ok(line) => self.stdout.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => panic!(
                    "{} reached no `wait` in {WORKLOAD_LIMIT:?}; stdout so far: {:?}",
                    self.what, self.stdout
                ),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let what = self.what.clone();
                    let e = self.end_within(WORKLOAD_LIMIT);
                    panic!(
                        "{what} ended ({}) before a `wait` op; stdout {:?}, stderr: {}",
                        e.status, e.stdout, e.stderr
                    );
                }
            }
        }
    }

    /// Waits until the process sleeps in read, as /proc/PID/syscall shows
    /// (its first field is the number of the syscall a sleeping task is in).
    fn until_reading(&mut self) {
        let path = format!("/proc/{}/syscall", self.child.id());
        let deadline = Instant::now() + WORKLOAD_LIMIT;
        loop {
            let now = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {path} (needs root): {e}"));
            if now.split(' ').next() == Some(&libc::SYS_read.to_string()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{} printed `wait` but is not reading stdin after {WORKLOAD_LIMIT:?}: {path} is {now:?}",
                self.what
            );
            thread::sleep(Duration::from_micros(200));
        }
    }

    /// The next stdout line that is not a `wait`, or `None` at the end;
    /// panics when none comes within the time limit. For ops that never
    /// reach a `wait` (`hog`).
    pub fn read_line(&mut self) -> Option<String> {
        loop {
            match self.lines.recv_timeout(WORKLOAD_LIMIT) {
                Ok(line) if line == "wait" => continue,
                Ok(line) => return Some(line),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("{} printed nothing in {WORKLOAD_LIMIT:?}", self.what)
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Lets the workload go on from the `wait` it is stopped at.
    pub fn resume(&mut self) {
        let stdin = self.stdin.as_mut().expect("stdin is open until the end");
        stdin
            .write_all(b"\n")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("cannot resume {}: {e}", self.what));
    }

    /// Closes stdin (further `wait` ops go on at once) and waits for the
    /// end, killing the workload with SIGKILL after `limit`.
    pub fn end(mut self, limit: Duration) -> Ended {
        self.end_within(limit)
    }

    /// Runs the workload to its end and returns its stdout lines; panics
    /// unless it succeeds.
    pub fn finish(mut self) -> Vec<String> {
        let e = self.end_within(WORKLOAD_LIMIT);
        assert!(
            e.status.success() && !e.timed_out,
            "{} failed ({}{}); stdout {:?}, stderr: {}",
            self.what,
            e.status,
            if e.timed_out {
                ", killed at the time limit"
            } else {
                ""
            },
            e.stdout,
            e.stderr
        );
        e.stdout
    }

    fn end_within(&mut self, limit: Duration) -> Ended {
        drop(self.stdin.take());
        let deadline = Instant::now() + limit;
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the workload") {
                break status;
            }
            if Instant::now() >= deadline {
                timed_out = true;
                let _ = self.child.kill();
                break self.child.wait().expect("wait for the workload");
            }
            thread::sleep(Duration::from_millis(5));
        };
        self.ended = true;
        // The reader threads see end of file once the process is gone.
        self.stdout
            .extend(self.lines.iter().filter(|line| line != "wait"));
        let stderr = self
            .stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        Ended {
            status,
            timed_out,
            stdout: std::mem::take(&mut self.stdout),
            stderr,
        }
    }
}

impl Drop for Interactive {
    fn drop(&mut self) {
        if !self.ended {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One `OP N key=value...` line printed by a memory op (`touch`, `majfault`).
#[derive(Debug)]
pub struct OpLine {
    /// The op's count, the `N` of the line.
    pub n: u64,
    fields: Vec<(String, u64)>,
    line: String,
}

impl OpLine {
    /// The value of `key`; panics naming the line when it has none.
    pub fn get(&self, key: &str) -> u64 {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no {key}= in {:?}", self.line))
    }
}

/// The lines of op `op` among a workload's stdout lines, in order; panics
/// on a malformed one.
pub fn op_lines(stdout: &[String], op: &str) -> Vec<OpLine> {
    stdout
        .iter()
        .filter(|l| l.split(' ').next() == Some(op))
        .map(|line| {
            OpLine::parse(line)
                .unwrap_or_else(|| panic!("malformed `{op} N key=value...` line {line:?}"))
        })
        .collect()
}

impl OpLine {
    fn parse(line: &str) -> Option<OpLine> {
        let mut words = line.split(' ').skip(1);
        let n = words.next()?.parse().ok()?;
        let fields = words
            .map(|w| {
                let (k, v) = w.split_once('=')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect::<Option<_>>()?;
        Some(OpLine {
            n,
            fields,
            line: line.to_string(),
        })
    }
}

/// This machine's page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no memory arguments.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

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
    /// The daemon's socket, `<dir>/memstatd.sock`.
    pub socket: PathBuf,
    /// The daemon's state directory, `<dir>/state`.
    pub state: PathBuf,
    stderr: PathBuf,
}

/// What one `memstat` run printed, and its exit code.
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
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
        Daemon::host_with(dir, pins, &[])
    }

    /// Host mode with pins under `pins` (a bpffs) and the options `more`.
    pub fn host_with(dir: &Path, pins: &Path, more: &[&std::ffi::OsStr]) -> Daemon {
        let mut args: Vec<&std::ffi::OsStr> =
            vec!["--host".as_ref(), "--pin-root".as_ref(), pins.as_os_str()];
        args.extend(more);
        Daemon::start(dir, &args)
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

    /// The running daemon's process id; panics when it is not running.
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

    /// One UID's metrics of a live memory group, as `memstat --json
    /// --section GROUP --uid UID` reports them (none for an idle UID).
    pub fn group_metrics(&self, group: &str, uid: u32) -> std::collections::BTreeMap<String, u64> {
        let r = self.memstat(&["--json", "--section", group, "--uid", &uid.to_string()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let j = r.json();
        let g = j["memory"]
            .as_array()
            .and_then(|a| a.iter().find(|g| g["group"] == group))
            .unwrap_or_else(|| panic!("no {group} section in {j}"));
        assert_eq!(g["state"], "live", "{g}");
        let row = g["uids"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["uid"] == uid))
            .unwrap_or_else(|| panic!("no uid {uid} in {g}"));
        serde_json::from_value(row["metrics"].clone()).unwrap()
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
    /// Makes `memstat-<tag>-<pid>-<n>` under the temp dir, empty.
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

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

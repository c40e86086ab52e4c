//! Private memory cgroups: a memory limit without swap, workloads run as a
//! UID inside, their OOM kills. Cgroup v2 where the unified hierarchy has the
//! memory controller, else the v1 memory hierarchy. Needs root; a machine
//! without a memory controller is an error, not a skip.

use crate::{Ended, Interactive, Workload};
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Which cgroup hierarchy holds a [`Memcg`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hierarchy {
    /// The v1 memory hierarchy (memory.limit_in_bytes, memory.oom_control).
    V1,
    /// The unified hierarchy (memory.max, memory.events).
    V2,
}

/// A memory cgroup of its own, removed on drop (its processes killed first).
pub struct Memcg {
    path: PathBuf,
    hierarchy: Hierarchy,
}

/// How long drop waits for killed processes to leave the cgroup.
const EMPTY_LIMIT: Duration = Duration::from_secs(10);

impl Memcg {
    /// A new cgroup whose processes may use at most `limit` bytes of memory
    /// and no swap.
    pub fn new(limit: u64) -> Result<Memcg, String> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let (root, hierarchy) = find_memory_hierarchy()?;
        if hierarchy == Hierarchy::V2 {
            enable_memory_for_children(&root)?;
        }
        let path = root.join(format!(
            "memstat-test-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir(&path)
            .map_err(|e| format!("cannot create memory cgroup {}: {e}", path.display()))?;
        let cg = Memcg { path, hierarchy };
        match hierarchy {
            Hierarchy::V1 => {
                cg.write("memory.limit_in_bytes", &limit.to_string())?;
                // memsw (memory + swap) exists with swap accounting; it must
                // not be below the memory limit, so it is set second.
                if cg.path.join("memory.memsw.limit_in_bytes").exists() {
                    cg.write("memory.memsw.limit_in_bytes", &limit.to_string())?;
                }
                cg.write("memory.swappiness", "0")?;
                // The OOM killer on (a v1 cgroup inherits its parent's setting).
                cg.write("memory.oom_control", "0")?;
            }
            Hierarchy::V2 => {
                cg.write("memory.max", &limit.to_string())?;
                // Absent on kernels built without swap.
                if cg.path.join("memory.swap.max").exists() {
                    cg.write("memory.swap.max", "0")?;
                }
            }
        }
        Ok(cg)
    }

    /// The cgroup's directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Which hierarchy it is in, and so which files it has.
    pub fn hierarchy(&self) -> Hierarchy {
        self.hierarchy
    }

    /// Processes the OOM killer killed in this cgroup (v1 memory.oom_control
    /// `oom_kill`, v2 memory.events `oom_kill`).
    pub fn oom_kills(&self) -> u64 {
        match self.hierarchy {
            Hierarchy::V1 => self.keyed("memory.oom_control", "oom_kill"),
            Hierarchy::V2 => self.keyed("memory.events", "oom_kill"),
        }
    }

    /// The most bytes ever charged to the cgroup (v1
    /// memory.max_usage_in_bytes, v2 memory.peak from kernel 5.19): the
    /// limit itself once charges had to reclaim.
    pub fn peak(&self) -> u64 {
        self.number(match self.hierarchy {
            Hierarchy::V1 => "memory.max_usage_in_bytes",
            Hierarchy::V2 => "memory.peak",
        })
    }

    /// Bytes charged to the cgroup now (v1 memory.usage_in_bytes, v2
    /// memory.current).
    pub fn usage(&self) -> u64 {
        let file = match self.hierarchy {
            Hierarchy::V1 => "memory.usage_in_bytes",
            Hierarchy::V2 => "memory.current",
        };
        self.number(file)
    }

    /// The processes in the cgroup.
    pub fn pids(&self) -> Vec<i32> {
        self.read("cgroup.procs")
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    }

    /// Starts `w` as `uid` (and gid `uid`) inside the cgroup: the child joins
    /// it before dropping root and before exec, so every page of the
    /// workload is charged here.
    pub fn start(&self, w: &Workload, exe: &Path, uid: u32) -> Interactive {
        start_in(&self.path, w, exe, uid)
    }

    /// Runs `w` as `uid` inside the cgroup to its end, killing it with
    /// SIGKILL after `limit` (a `hog` that fits never ends by itself).
    pub fn run(&self, w: &Workload, exe: &Path, uid: u32, limit: Duration) -> Ended {
        self.start(w, exe, uid).end(limit)
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        let path = self.path.join(file);
        fs::write(&path, value)
            .map_err(|e| format!("cannot write {value:?} to {}: {e}", path.display()))
    }

    fn read(&self, file: &str) -> String {
        read(&self.path.join(file))
    }

    fn number(&self, file: &str) -> u64 {
        self.read(file)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{}: not a number", self.path.join(file).display()))
    }

    fn keyed(&self, file: &str, key: &str) -> u64 {
        keyed(&self.path.join(file), key)
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The value of `key` in a flat-keyed file (`key value` lines).
pub(crate) fn keyed(path: &Path, key: &str) -> u64 {
    let text = read(path);
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no `{key} N` line in {} (this kernel is too old to count it?):\n{text}",
                path.display()
            )
        })
}

/// Starts `w` as `uid` (and gid `uid`) inside the cgroup `dir`: the child
/// joins it before dropping root and before exec, so every page of the
/// workload is charged there.
pub(crate) fn start_in(dir: &Path, w: &Workload, exe: &Path, uid: u32) -> Interactive {
    let procs_path = dir.join("cgroup.procs");
    // Opened here (close-on-exec), written by the child: it needs no
    // allocation after fork.
    let procs = fs::OpenOptions::new()
        .write(true)
        .open(&procs_path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", procs_path.display()));
    let fd = procs.as_raw_fd();
    let mut cmd = w.command(exe);
    // SAFETY: the hook makes only async-signal-safe calls (write, setgroups,
    // setgid, setuid) on memory prepared before the fork.
    unsafe {
        cmd.pre_exec(move || {
            // "0" moves the writer itself; cgroup.procs is root's, so
            // this comes before setuid.
            if libc::write(fd, b"0".as_ptr().cast(), 1) != 1
                || libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(uid) != 0
                || libc::setuid(uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let what = format!(
        "workload {} as uid {uid} in memory cgroup {} (joined through cgroup.procs, then setgid and setuid)",
        exe.display(),
        dir.display()
    );
    let started = Interactive::spawn(cmd, what);
    drop(procs);
    started
}

impl Drop for Memcg {
    fn drop(&mut self) {
        let deadline = Instant::now() + EMPTY_LIMIT;
        loop {
            // Only the workloads this cgroup was made for are inside.
            let pids = self.pids();
            for &pid in &pids {
                // SAFETY: kill has no memory arguments.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            if pids.is_empty() {
                match fs::remove_dir(&self.path) {
                    Ok(()) => return,
                    // EBUSY for a moment after the last process left.
                    Err(e) if Instant::now() >= deadline => {
                        eprintln!("cannot remove memory cgroup {}: {e}", self.path.display());
                        return;
                    }
                    Err(_) => {}
                }
            } else if Instant::now() >= deadline {
                eprintln!(
                    "cannot remove memory cgroup {}: processes {pids:?} are still inside after SIGKILL",
                    self.path.display()
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The mount point of the hierarchy with the memory controller: cgroup2 when
/// its root lists `memory` in cgroup.controllers, else cgroup v1 `-o memory`.
pub(crate) fn find_memory_hierarchy() -> Result<(PathBuf, Hierarchy), String> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    let mut v1 = None;
    let mut v2_without = Vec::new();
    for line in mountinfo.lines() {
        // ID PARENT DEV ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let (Some(mount), Some(fstype), Some(superopts)) = (
            left.split(' ').nth(4),
            right.split(' ').next(),
            right.split(' ').nth(2),
        ) else {
            continue;
        };
        let mount = PathBuf::from(mount.replace("\\040", " "));
        match fstype {
            "cgroup2" => {
                let controllers =
                    fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default();
                if controllers.split_whitespace().any(|c| c == "memory") {
                    return Ok((mount, Hierarchy::V2));
                }
                v2_without.push(mount);
            }
            "cgroup" if superopts.split(',').any(|o| o == "memory") => v1 = Some(mount),
            _ => {}
        }
    }
    v1.map(|m| (m, Hierarchy::V1)).ok_or_else(|| {
        format!(
            "no memory cgroup controller mounted: no cgroup2 mount lists `memory` in its \
             cgroup.controllers (cgroup2 mounts without it: {v2_without:?}) and no cgroup v1 \
             hierarchy has the memory controller. Mount one: `mkdir -p /sys/fs/cgroup/memory && \
             mount -t cgroup -o memory cgroup /sys/fs/cgroup/memory`, or, with no v1 hierarchy \
             holding it, `mount -t cgroup2 none /sys/fs/cgroup`"
        )
    })
}

/// Cgroup v2 gives a child the memory controller only when its parent's
/// cgroup.subtree_control enables it.
pub(crate) fn enable_memory_for_children(root: &Path) -> Result<(), String> {
    let control = root.join("cgroup.subtree_control");
    let enabled = fs::read_to_string(&control)
        .map_err(|e| format!("cannot read {}: {e}", control.display()))?;
    if enabled.split_whitespace().any(|c| c == "memory") {
        return Ok(());
    }
    fs::write(&control, "+memory").map_err(|e| {
        format!(
            "cannot enable the memory controller for new cgroups: `echo +memory > {}` failed: {e}",
            control.display()
        )
    })
}

//! A per-app cgroup tree as the platform makes it, `<root>/apps/uid_<N>/
//! pid_<M>`, in the hierarchy that has the memory controller (v2 with
//! `memory` enabled at every level, else v1), for memstatd's
//! `--app-memcg <root>`. Removed on drop, its processes killed first.

use crate::memcg::{enable_memory_for_children, find_memory_hierarchy, keyed, start_in, Hierarchy};
use crate::{Interactive, Workload};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The tree; see the module.
pub struct AppCgroups {
    root: PathBuf,
    hierarchy: Hierarchy,
}

impl AppCgroups {
    /// A new, empty tree: `<root>/apps`.
    pub fn new() -> Result<AppCgroups, String> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let (mount, hierarchy) = find_memory_hierarchy()?;
        let name = format!(
            "memstat-apps-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let tree = AppCgroups {
            root: mount.join(&name),
            hierarchy,
        };
        tree.make(&mount, "", true)?;
        tree.make(&mount, &name, true)?;
        tree.make(&tree.root, "apps", true)?;
        Ok(tree)
    }

    /// What memstatd's `--app-memcg` takes.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Which hierarchy it is in, and so which files its cgroups have.
    pub fn hierarchy(&self) -> Hierarchy {
        self.hierarchy
    }

    /// `apps/uid_<uid>`.
    pub fn uid_dir(&self, uid: u32) -> PathBuf {
        self.root.join("apps").join(format!("uid_{uid}"))
    }

    /// `apps/uid_<uid>/<pid>`.
    pub fn pid_dir(&self, uid: u32, pid: &str) -> PathBuf {
        self.uid_dir(uid).join(pid)
    }

    /// Starts `w` as `uid` in `apps/uid_<uid>/<pid>`, made as needed.
    pub fn start(&self, uid: u32, pid: &str, w: &Workload, exe: &Path) -> Interactive {
        let uid_dir = self.uid_dir(uid);
        if !uid_dir.exists() {
            self.make(&self.root.join("apps"), &format!("uid_{uid}"), true)
                .unwrap();
        }
        // Processes live only in leaves: pid cgroups control nothing below.
        self.make(&uid_dir, pid, false).unwrap();
        start_in(&self.pid_dir(uid, pid), w, exe, uid)
    }

    /// A cgroup's count of `key` in its `memory.stat` (v1: the `total_`
    /// key, which sums its descendants, as v2's do).
    pub fn stat(&self, dir: &Path, key: &str) -> u64 {
        let key = match self.hierarchy {
            Hierarchy::V1 => format!("total_{key}"),
            Hierarchy::V2 => key.to_owned(),
        };
        keyed(&dir.join("memory.stat"), &key)
    }

    /// Removes an empty cgroup, as the platform does when an app's last
    /// process is gone (EBUSY for a moment after it left).
    pub fn remove(&self, dir: &Path) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Err(e) = fs::remove_dir(dir) {
            assert!(
                Instant::now() < deadline,
                "cannot remove cgroup {}: {e}",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Makes `parent/name` (or `parent` itself for ""), on v2 with the
    /// memory controller for its children if `parent_of_more`.
    fn make(&self, parent: &Path, name: &str, parent_of_more: bool) -> Result<(), String> {
        let dir = parent.join(name);
        if !name.is_empty() {
            fs::create_dir(&dir)
                .map_err(|e| format!("cannot create cgroup {}: {e}", dir.display()))?;
        }
        match self.hierarchy {
            Hierarchy::V2 if parent_of_more => enable_memory_for_children(&dir),
            _ => Ok(()),
        }
    }
}

impl Drop for AppCgroups {
    fn drop(&mut self) {
        // Deepest first; each cgroup's processes killed before its removal.
        let mut dirs = Vec::new();
        let mut todo = vec![self.root.clone()];
        while let Some(d) = todo.pop() {
            if let Ok(entries) = fs::read_dir(&d) {
                todo.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
            }
            dirs.push(d);
        }
        for d in dirs.iter().rev() {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let procs = fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
                for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                    // SAFETY: kill has no memory arguments.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
                match fs::remove_dir(d) {
                    Ok(()) => break,
                    Err(e) if Instant::now() >= deadline => {
                        eprintln!("cannot remove cgroup {}: {e}", d.display());
                        break;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        }
    }
}

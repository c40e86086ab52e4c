//! What unit tests share: a scratch directory removed when dropped, and the
//! `/proc` and `/sys` trees captured from real kernels. The trees are
//! compiled into the test binary and written out on demand, so the tests need
//! no files beside them wherever they run (a device runs them as
//! `memstatd_test`, far from this source tree).

use crate::system::reading::Root;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh, empty directory under the temporary directory, unique to this
/// process and call; removed with everything in it when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("memstat-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
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

/// A captured tree written out: a `Root` that lives as long as its files.
pub struct FixtureRoot {
    root: Root,
    _dir: TempDir,
}

impl Deref for FixtureRoot {
    type Target = Root;

    fn deref(&self) -> &Root {
        &self.root
    }
}

/// `(path under the root, contents)` of every file of one captured tree.
macro_rules! tree {
    ($name:literal: $($file:literal)*) => {
        &[$((
            $file,
            include_str!(concat!("../tests/fixtures/system/", $name, "/", $file)),
        )),*]
    };
}

/// The knobs of /proc/sys/vm that every kernel here has.
macro_rules! knobs {
    ($name:literal $($extra:literal)*) => {
        tree!($name:
            "proc/sys/vm/dirty_background_bytes"
            "proc/sys/vm/dirty_background_ratio"
            "proc/sys/vm/dirty_bytes"
            "proc/sys/vm/dirty_expire_centisecs"
            "proc/sys/vm/dirty_ratio"
            "proc/sys/vm/dirty_writeback_centisecs"
            "proc/sys/vm/extfrag_threshold"
            "proc/sys/vm/min_free_kbytes"
            "proc/sys/vm/overcommit_memory"
            "proc/sys/vm/overcommit_ratio"
            "proc/sys/vm/page-cluster"
            "proc/sys/vm/swappiness"
            "proc/sys/vm/watermark_scale_factor"
            $($extra)*
        )
    };
}

const V4_19: &[(&str, &str)] = knobs!("root-4.19");
const V5_4: &[(&str, &str)] = knobs!("root-5.4"
    "proc/sys/vm/watermark_boost_factor"
    "sys/kernel/mm/transparent_hugepage/defrag"
    "sys/kernel/mm/transparent_hugepage/enabled"
    "sys/kernel/mm/transparent_hugepage/khugepaged/defrag"
    "sys/kernel/mm/transparent_hugepage/shmem_enabled"
);
const V6_18: &[(&str, &str)] = knobs!("root-6.18"
    "proc/sys/vm/compaction_proactiveness"
    "proc/sys/vm/watermark_boost_factor"
    "sys/kernel/mm/transparent_hugepage/defrag"
    "sys/kernel/mm/transparent_hugepage/enabled"
    "sys/kernel/mm/transparent_hugepage/khugepaged/defrag"
    "sys/kernel/mm/transparent_hugepage/shmem_enabled"
);

/// The tree captured from kernel `version` (4.19, 5.4 or 6.18): its VM knobs
/// and, from 5.4, its THP settings.
pub fn fixture_root(version: &str) -> FixtureRoot {
    let files = match version {
        "4.19" => V4_19,
        "5.4" => V5_4,
        "6.18" => V6_18,
        _ => panic!("no fixture tree of kernel {version}"),
    };
    let dir = TempDir::new(&format!("root-{version}"));
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    FixtureRoot {
        root: Root::new(dir.path()),
        _dir: dir,
    }
}

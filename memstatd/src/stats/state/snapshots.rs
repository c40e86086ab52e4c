//! The snapshot files, `snapshots/<name>.json`, and an index of what each
//! holds (name, time, generation): a listing reads only the directory and
//! each entry's inode, and parses a file only when it is new or changed,
//! not at every request.

use super::dir::{Dir, Stamp};
use super::{check_name, Cause, GenerationInfo, Snapshot, SnapshotMeta, StateError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};

/// Snapshots kept at most.
pub(crate) const MAX_SNAPSHOTS: usize = 32;

/// The snapshot files of a state directory; clones share one index.
#[derive(Clone)]
pub(crate) struct SnapshotDir(Arc<Shared>);

struct Shared {
    /// The directory; `Ok(None)` when a read-only state has none, `Err`
    /// why the state is not used.
    dir: Result<Option<Dir>, String>,
    /// Why snapshots cannot be saved or deleted, if they cannot.
    read_only: Option<String>,
    /// Name → the version of its file last parsed, and what it held.
    index: Mutex<BTreeMap<String, (Stamp, SnapshotMeta)>>,
}

/// The file of snapshot `name`.
fn file(name: &str) -> String {
    format!("{name}.json")
}

impl SnapshotDir {
    pub(super) fn new(dir: Result<Option<Dir>, String>, read_only: Option<String>) -> Self {
        SnapshotDir(Arc::new(Shared {
            dir,
            read_only,
            index: Mutex::new(BTreeMap::new()),
        }))
    }

    fn dir(&self) -> Result<Option<&Dir>, StateError> {
        match &self.0.dir {
            Ok(d) => Ok(d.as_ref()),
            Err(why) => Err(StateError::Unusable(why.clone())),
        }
    }

    /// The directory, to write in.
    fn writable(&self) -> Result<&Dir, StateError> {
        let dir = self.dir()?;
        match (&self.0.read_only, dir) {
            (Some(why), _) => Err(StateError::ReadOnly(why.clone())),
            (None, Some(d)) => Ok(d),
            (None, None) => Err(StateError::ReadOnly("no snapshots directory".into())),
        }
    }

    fn index(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (Stamp, SnapshotMeta)>> {
        self.0.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn load(&self, name: &str) -> Result<Snapshot, StateError> {
        check_name(name)?;
        let Some(dir) = self.dir()? else {
            return Err(StateError::NoSnapshot(name.to_owned()));
        };
        let corrupt = |why: String| StateError::Corrupt {
            path: dir.path().join(file(name)),
            name: name.to_owned(),
            why,
        };
        let snapshot: Snapshot = dir.read_json(&file(name)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StateError::NoSnapshot(name.to_owned()),
            _ => corrupt(e.to_string()),
        })?;
        snapshot.window.check_bounds().map_err(corrupt)?;
        Ok(snapshot)
    }

    pub(crate) fn delete(&self, name: &str) -> Result<(), StateError> {
        check_name(name)?;
        let dir = self.writable()?;
        dir.remove(&file(name)).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StateError::NoSnapshot(name.to_owned()),
            _ => StateError::Io {
                dir: dir.path().to_owned(),
                source: e,
            },
        })?;
        self.index().remove(name);
        Ok(())
    }

    /// Saves `snapshot` under its name, replacing one of that name. Returns
    /// whether one was replaced.
    pub(super) fn save(&self, snapshot: &Snapshot) -> Result<bool, StateError> {
        let name = &snapshot.meta.name;
        check_name(name)?;
        let dir = self.writable()?;
        let io_err = |source| StateError::Io {
            dir: dir.path().to_owned(),
            source,
        };
        let replaced = dir.stamp(&file(name)).is_ok();
        if !replaced && self.names(dir).map_err(io_err)?.len() >= MAX_SNAPSHOTS {
            return Err(StateError::Full);
        }
        dir.write_json(&file(name), snapshot).map_err(io_err)?;
        // What was written is known: the next listing need not read it.
        if let Ok(stamp) = dir.stamp(&file(name)) {
            self.index()
                .insert(name.clone(), (stamp, snapshot.meta.clone()));
        }
        Ok(replaced)
    }

    /// The snapshot names in `dir`.
    fn names(&self, dir: &Dir) -> io::Result<Vec<String>> {
        Ok(dir
            .names()?
            .into_iter()
            .filter_map(|f| {
                let name = f.to_str()?.strip_suffix(".json")?;
                check_name(name).ok().map(|()| name.to_owned())
            })
            .collect())
    }

    /// Every snapshot's name, time and generation, oldest first. An
    /// unreadable file is listed under its name with generation 0 and why.
    pub(crate) fn list(&self) -> Result<Vec<SnapshotMeta>, StateError> {
        let Some(dir) = self.dir()? else {
            return Ok(Vec::new());
        };
        let io_err = |source| StateError::Io {
            dir: dir.path().to_owned(),
            source,
        };
        let mut index = self.index();
        let mut next = BTreeMap::new();
        for name in self.names(dir).map_err(io_err)? {
            let stamp = match dir.stamp(&file(&name)) {
                Ok(s) => s,
                // Deleted since the directory was read.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(e)),
            };
            let meta = match index.remove(&name) {
                Some((known, meta)) if known == stamp => meta,
                _ => read_meta(dir, &name),
            };
            next.insert(name, (stamp, meta));
        }
        *index = next;
        let mut out: Vec<SnapshotMeta> = index.values().map(|(_, m)| m.clone()).collect();
        drop(index);
        out.sort_by(|a, b| (a.taken_ms, &a.name).cmp(&(b.taken_ms, &b.name)));
        Ok(out)
    }
}

/// What snapshot file `name` holds, or why it is unreadable.
fn read_meta(dir: &Dir, name: &str) -> SnapshotMeta {
    // The same fields as SnapshotMeta, unflattened: serde then skips the
    // window without keeping it.
    #[derive(Deserialize)]
    struct MetaOnly {
        taken_ms: u64,
        generation: GenerationInfo,
    }
    match dir.read_json::<MetaOnly>(&file(name)) {
        // Listed under its file's name, which --diff and --delete-snapshot
        // take.
        Ok(m) => SnapshotMeta {
            name: name.to_owned(),
            taken_ms: m.taken_ms,
            generation: m.generation,
        },
        Err(e) => {
            log::warn!("snapshot {}: {e}", dir.path().join(file(name)).display());
            SnapshotMeta {
                name: name.to_owned(),
                taken_ms: 0,
                generation: GenerationInfo {
                    id: 0,
                    started_ms: 0,
                    cause: Cause::CountersReset {
                        reason: format!("unreadable: {e}"),
                    },
                },
            }
        }
    }
}

//! Generations and snapshots, persisted in the state directory so that they
//! survive a daemon restart.
//!
//! The kernel's counters are never cleared. A generation is a baseline the
//! daemon keeps: `--reset` starts one at the counters of that moment; a reset
//! of the kernel's counters outside memstat (a reboot, maps recreated) starts
//! one at zero, found at start-up by the counters' source having changed.
//! A snapshot holds a window: its generation's counters up to the moment it
//! was taken.
//!
//! Files: `<dir>/generation.json`, `<dir>/snapshots/<name>.json`, each
//! written to a temporary file, synced and renamed, so a crash leaves either
//! the old or the new version; all of them reached through the directory's
//! descriptor ([`dir`]). State that cannot be used or written never stops
//! the daemon: it serves, and state changes fail saying why.

mod dir;
mod snapshots;
#[cfg(test)]
mod tests;

use super::counters::Counters;
pub(crate) use dir::Dir;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

pub(crate) use snapshots::{SnapshotDir, MAX_SNAPSHOTS};

/// Longest snapshot name.
pub(crate) const MAX_NAME_LEN: usize = 64;

const GENERATION_FILE: &str = "generation.json";
const SNAPSHOT_DIR: &str = "snapshots";
const LOCK_FILE: &str = "lock";

/// What the counters come from: maps are unique within a boot, so a new
/// boot id or map id means the counters started again from zero.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Source {
    pub(crate) boot_id: String,
    /// `<object>/<map>` → the kernel's map id.
    pub(crate) maps: BTreeMap<String, u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Cause {
    /// No earlier state: the window runs from the counters' creation.
    FirstStart,
    /// `--reset`.
    Reset,
    /// The kernel's counters started again outside memstat.
    CountersReset { reason: String },
}

impl Cause {
    pub(crate) fn describe(&self) -> String {
        match self {
            Cause::FirstStart => {
                "memstatd's first start (counting since the counters were created)".into()
            }
            Cause::Reset => "--reset".into(),
            Cause::CountersReset { reason } => {
                format!("a reset of the kernel's counters ({reason})")
            }
        }
    }
}

/// A generation without its baseline: what reports and snapshots carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GenerationInfo {
    pub(crate) id: u64,
    /// Start of the window, Unix milliseconds.
    pub(crate) started_ms: u64,
    pub(crate) cause: Cause,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Generation {
    #[serde(flatten)]
    pub(crate) info: GenerationInfo,
    pub(crate) source: Source,
    pub(crate) baseline: Counters,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SnapshotMeta {
    pub(crate) name: String,
    pub(crate) taken_ms: u64,
    pub(crate) generation: GenerationInfo,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Snapshot {
    #[serde(flatten)]
    pub(crate) meta: SnapshotMeta,
    /// The generation's counters from its start to `taken_ms`.
    pub(crate) window: Counters,
}

#[derive(Debug, Error)]
pub(crate) enum StateError {
    #[error("state directory {dir}: {source}; memstatd serves on, but state changes fail until this is fixed")]
    Io { dir: PathBuf, source: io::Error },
    /// The state directory is not used; the string says why.
    #[error("{0}")]
    Unusable(String),
    /// The state directory is read; the string says why it is not written.
    #[error("{0}")]
    ReadOnly(String),
    #[error(
        "bad snapshot name {0:?}: use 1 to {MAX_NAME_LEN} letters, digits, '.', '_' or '-', \
         not starting with '.' or '-'"
    )]
    BadName(String),
    #[error(
        "another memstatd uses the state directory {0}; stop it, or give this one its own \
         --state-dir"
    )]
    Busy(PathBuf),
    #[error("no snapshot {0:?}; list them with --list-snapshots")]
    NoSnapshot(String),
    #[error(
        "{MAX_SNAPSHOTS} snapshots are kept already; delete one with --delete-snapshot NAME \
         (--list-snapshots lists them)"
    )]
    Full,
    #[error("snapshot file {path} is unreadable ({why}); delete it with --delete-snapshot {name}")]
    Corrupt {
        path: PathBuf,
        name: String,
        why: String,
    },
}

/// The persisted state: the current generation and the snapshots on disk.
pub(crate) struct Store {
    /// The state directory, or why it is not used.
    dir: Result<Dir, String>,
    /// Why the state is not written, when its lock could not be taken.
    read_only: Option<String>,
    /// Why the current generation is not on disk, when saving it failed.
    unsaved: Option<String>,
    generation: Generation,
    snapshots: SnapshotDir,
    /// Held (flock) while the store is open: one daemon writes a state
    /// directory.
    _lock: Option<File>,
}

/// What `Store::open` found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Opened {
    /// The saved generation goes on.
    Continued,
    /// A new generation started; the string says why.
    Started(String),
}

const CHANGES: &str = "--reset, --snapshot and --delete-snapshot fail";

impl Store {
    /// Opens the state in `path` (created if missing) for counters from a
    /// source now at some values. The saved generation goes on if its source
    /// is the same and no counter went back; otherwise a new generation
    /// starts at zero, its window beginning at `counters_since_ms`. Without
    /// counters (no probe group is live) the saved generation is kept as it
    /// is, to be checked when counters are back.
    ///
    /// Only another daemon holding the directory is an error. A directory
    /// that may not be used (see [`Dir::open_state`]) is left alone and the
    /// generation kept in memory; one whose lock cannot be taken (read-only)
    /// is read but not written; a generation that cannot be saved is kept
    /// in memory. [`Store::note`] says which.
    pub(crate) fn open(
        path: &Path,
        current: Option<(&Source, &Counters)>,
        counters_since_ms: u64,
    ) -> Result<(Self, Opened), StateError> {
        let (dir, lock, read_only) = match Dir::open_state(path) {
            Err(why) => {
                let why = format!(
                    "state directory not used: {why}; nothing is read from or written to it, and \
                     {CHANGES}"
                );
                (Err(why), None, None)
            }
            Ok(dir) => match dir.lock(LOCK_FILE) {
                Ok(lock) => (Ok(dir), Some(lock), None),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(StateError::Busy(path.to_owned()))
                }
                Err(e) => {
                    let why = format!(
                        "state directory {} is read-only (its lock file: {e}); {CHANGES} until \
                         it is writable and memstatd restarted",
                        dir.path().display()
                    );
                    (Ok(dir), None, Some(why))
                }
            },
        };
        let snapshots = match &dir {
            Err(why) => SnapshotDir::new(Err(why.clone()), None),
            Ok(d) => match d.subdir(SNAPSHOT_DIR, read_only.is_none()) {
                Ok(s) => SnapshotDir::new(Ok(s), read_only.clone()),
                Err(why) => SnapshotDir::new(Err(format!("snapshots are not used: {why}")), None),
            },
        };
        let saved = dir.as_ref().ok().and_then(read_generation);
        let fresh = |id, cause| Generation {
            info: GenerationInfo {
                id,
                started_ms: counters_since_ms,
                cause,
            },
            source: current.map(|(s, _)| s.clone()).unwrap_or_default(),
            baseline: Counters::default(),
        };
        let (generation, opened) = match saved {
            // Ids stay unique even when the generation file was lost: a
            // snapshot's generation must never be mistaken for a new one.
            None => {
                let seen = snapshots.list().ok().into_iter().flatten();
                let id = seen.map(|m| m.generation.id).max().unwrap_or(0);
                (fresh(id.saturating_add(1), Cause::FirstStart), None)
            }
            Some(g) => match current.and_then(|(source, now)| reset_reason(&g, source, now)) {
                None => (g, Some(())),
                Some(reason) => {
                    let next = g.info.id.saturating_add(1);
                    (fresh(next, Cause::CountersReset { reason }), None)
                }
            },
        };
        let mut store = Store {
            dir,
            read_only,
            unsaved: None,
            generation,
            snapshots,
            _lock: lock,
        };
        let opened = match opened {
            Some(()) => Opened::Continued,
            None => {
                store.save_generation();
                Opened::Started(store.generation.info.cause.describe())
            }
        };
        Ok((store, opened))
    }

    pub(crate) fn generation(&self) -> &Generation {
        &self.generation
    }

    /// What is wrong with the state, for reports' headers: why it is not
    /// used or not written, or why the generation is not on disk.
    pub(crate) fn note(&self) -> Option<String> {
        let why = match &self.dir {
            Err(why) => Some(why),
            Ok(_) => self.read_only.as_ref().or(self.unsaved.as_ref()),
        };
        why.cloned()
    }

    /// The directory, to write in.
    fn writable(&self) -> Result<&Dir, StateError> {
        match (&self.dir, &self.read_only) {
            (Err(why), _) => Err(StateError::Unusable(why.clone())),
            (Ok(_), Some(why)) => Err(StateError::ReadOnly(why.clone())),
            (Ok(dir), None) => Ok(dir),
        }
    }

    /// Starts a new generation at `now`. It is on disk before this returns.
    pub(crate) fn reset(&mut self, now: Counters, now_ms: u64) -> Result<&Generation, StateError> {
        self.writable()?;
        let next = Generation {
            info: GenerationInfo {
                id: self.generation.info.id.saturating_add(1),
                started_ms: now_ms,
                cause: Cause::Reset,
            },
            source: self.generation.source.clone(),
            baseline: now,
        };
        let previous = std::mem::replace(&mut self.generation, next);
        let unsaved = self.unsaved.take();
        if let Err(e) = self.write_generation() {
            self.generation = previous;
            self.unsaved = unsaved;
            return Err(e);
        }
        Ok(&self.generation)
    }

    /// Saves a generation that just started; one that cannot be saved goes
    /// on in memory, and [`Store::note`] says so.
    fn save_generation(&mut self) {
        // Unusable or read-only state says so itself.
        if let Err(StateError::Io { source, .. }) = self.write_generation() {
            self.unsaved = Some(format!(
                "generation {} is not on disk ({source}); memstatd tries again at the next --reset",
                self.generation.info.id
            ));
        }
    }

    fn write_generation(&self) -> Result<(), StateError> {
        let dir = self.writable()?;
        dir.write_json(GENERATION_FILE, &self.generation)
            .map_err(|source| StateError::Io {
                dir: dir.path().to_owned(),
                source,
            })
    }

    /// The snapshots, to be read without holding the store.
    pub(crate) fn snapshots(&self) -> SnapshotDir {
        self.snapshots.clone()
    }

    /// Saves `window` (the current generation's counters) as `name`,
    /// replacing a snapshot of that name. Returns whether one was replaced.
    pub(crate) fn save_snapshot(
        &self,
        name: &str,
        window: Counters,
        now_ms: u64,
    ) -> Result<bool, StateError> {
        self.snapshots.save(&Snapshot {
            meta: SnapshotMeta {
                name: name.to_owned(),
                taken_ms: now_ms,
                generation: self.generation.info.clone(),
            },
            window,
        })
    }
}

/// The saved generation, if there is a readable one. An unreadable one
/// (corrupt, or not a regular file of memstatd's) is never used: it is set
/// aside for a person to look at, and a new generation starts.
fn read_generation(dir: &Dir) -> Option<Generation> {
    let e = match dir.read_json::<Generation>(GENERATION_FILE) {
        Ok(g) => match g.baseline.check_bounds() {
            Ok(()) => return Some(g),
            Err(why) => io::Error::new(io::ErrorKind::InvalidData, why),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => e,
    };
    let path = dir.path().join(GENERATION_FILE);
    let aside = format!("{GENERATION_FILE}.corrupt");
    match dir.rename(GENERATION_FILE, &aside) {
        Ok(()) => log::warn!(
            "{} is unreadable ({e}); moved to {aside} and starting a new generation",
            path.display()
        ),
        Err(why) => log::warn!(
            "{} is unreadable ({e}) and cannot be moved aside ({why}); starting a new generation",
            path.display()
        ),
    }
    None
}

/// Why the saved generation cannot go on with counters from `source` now
/// at `now`, if it cannot.
fn reset_reason(saved: &Generation, source: &Source, now: &Counters) -> Option<String> {
    if saved.source == Source::default() {
        return Some("the generation began while no counters could be read".into());
    }
    if saved.source.boot_id != source.boot_id {
        return Some("the machine rebooted".into());
    }
    if saved.source.maps != source.maps {
        let changed: Vec<String> = source
            .maps
            .iter()
            .filter(|(name, id)| saved.source.maps.get(*name) != Some(id))
            .map(|(name, id)| match saved.source.maps.get(name) {
                Some(old) => format!("{name} id {old} -> {id}"),
                None => format!("{name} new (id {id})"),
            })
            .collect();
        return Some(format!("maps recreated: {}", changed.join(", ")));
    }
    now.since(&saved.baseline)
        .err()
        .map(|w| format!("{} went back from {} to {}", w.what, w.was, w.now))
}

fn check_name(name: &str) -> Result<(), StateError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StateError::BadName(name.to_owned()))
    }
}

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
//! the old or the new version.

use super::counters::Counters;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Snapshots kept at most.
pub(crate) const MAX_SNAPSHOTS: usize = 32;
/// Largest state file read back. A full window (every pair of the counts
/// table and every histogram) takes about 2 MiB.
pub(crate) const MAX_FILE_BYTES: u64 = 4 << 20;
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
    #[error("state directory {dir}: {source}; check it exists and is writable by memstatd")]
    Io { dir: PathBuf, source: io::Error },
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
    dir: PathBuf,
    generation: Generation,
    /// Held (flock) while the store is open: one daemon per state directory.
    _lock: fs::File,
}

/// What `Store::open` found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Opened {
    /// The saved generation goes on.
    Continued,
    /// A new generation started; the string says why.
    Started(String),
}

impl Store {
    /// Opens the state in `dir` (created if missing) for counters from a
    /// source now at some values. The saved generation goes on if its source
    /// is the same and no counter went back; otherwise a new generation
    /// starts at zero, its window beginning at `counters_since_ms`. Without
    /// counters (no probe group is live) the saved generation is kept as it
    /// is, to be checked when counters are back.
    pub(crate) fn open(
        dir: &Path,
        current: Option<(&Source, &Counters)>,
        counters_since_ms: u64,
    ) -> Result<(Self, Opened), StateError> {
        let io_err = |source| StateError::Io {
            dir: dir.to_owned(),
            source,
        };
        // Only memstatd reads its state: snapshots hold every UID's counts.
        for d in [dir.to_owned(), dir.join(SNAPSHOT_DIR)] {
            fs::create_dir_all(&d).map_err(io_err)?;
            fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).map_err(io_err)?;
        }
        let lock = lock(dir)?;
        let path = dir.join(GENERATION_FILE);
        let saved = match read_json::<Generation>(&path).and_then(|g| {
            g.baseline
                .check_bounds()
                .map(|()| g)
                .map_err(|why| io::Error::new(io::ErrorKind::InvalidData, why))
        }) {
            Ok(g) => Some(g),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                // Keep the bad file for a person to look at; never stop on it.
                let aside = dir.join(format!("{GENERATION_FILE}.corrupt"));
                let _ = fs::rename(&path, &aside);
                log::warn!(
                    "{} is unreadable ({e}); moved to {} and starting a new generation",
                    path.display(),
                    aside.display()
                );
                None
            }
        };
        let fresh = |id, cause| Generation {
            info: GenerationInfo {
                id,
                started_ms: counters_since_ms,
                cause,
            },
            source: current.map(|(s, _)| s.clone()).unwrap_or_default(),
            baseline: Counters::default(),
        };
        let snapshots = SnapshotDir {
            dir: dir.to_owned(),
        };
        let (generation, opened) = match saved {
            // Ids stay unique even when the generation file was lost: a
            // snapshot's generation must never be mistaken for a new one.
            None => {
                let seen = snapshots.list()?.iter().map(|m| m.generation.id).max();
                let id = seen.unwrap_or(0).saturating_add(1);
                (fresh(id, Cause::FirstStart), None)
            }
            Some(g) => match current.and_then(|(source, now)| reset_reason(&g, source, now)) {
                None => (g, Some(())),
                Some(reason) => {
                    let next = g.info.id.saturating_add(1);
                    (fresh(next, Cause::CountersReset { reason }), None)
                }
            },
        };
        let store = Store {
            dir: dir.to_owned(),
            generation,
            _lock: lock,
        };
        let opened = match opened {
            Some(()) => Opened::Continued,
            None => {
                store.save_generation()?;
                Opened::Started(store.generation.info.cause.describe())
            }
        };
        Ok((store, opened))
    }

    pub(crate) fn generation(&self) -> &Generation {
        &self.generation
    }

    /// Starts a new generation at `now`. It is on disk before this returns.
    pub(crate) fn reset(&mut self, now: Counters, now_ms: u64) -> Result<&Generation, StateError> {
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
        if let Err(e) = self.save_generation() {
            self.generation = previous;
            return Err(e);
        }
        Ok(&self.generation)
    }

    fn save_generation(&self) -> Result<(), StateError> {
        write_json(&self.dir.join(GENERATION_FILE), &self.generation).map_err(|source| {
            StateError::Io {
                dir: self.dir.clone(),
                source,
            }
        })
    }

    /// The snapshots, to be read without holding the store.
    pub(crate) fn snapshots(&self) -> SnapshotDir {
        SnapshotDir {
            dir: self.dir.clone(),
        }
    }

    /// Saves `window` (the current generation's counters) as `name`,
    /// replacing a snapshot of that name. Returns whether one was replaced.
    pub(crate) fn save_snapshot(
        &self,
        name: &str,
        window: Counters,
        now_ms: u64,
    ) -> Result<bool, StateError> {
        let snapshots = self.snapshots();
        let path = snapshots.path(name)?;
        let replaced = path.exists();
        if !replaced && snapshots.list()?.len() >= MAX_SNAPSHOTS {
            return Err(StateError::Full);
        }
        let snapshot = Snapshot {
            meta: SnapshotMeta {
                name: name.to_owned(),
                taken_ms: now_ms,
                generation: self.generation.info.clone(),
            },
            window,
        };
        write_json(&path, &snapshot).map_err(|source| StateError::Io {
            dir: self.dir.clone(),
            source,
        })?;
        Ok(replaced)
    }
}

/// The snapshot files of a state directory.
#[derive(Clone, Debug)]
pub(crate) struct SnapshotDir {
    dir: PathBuf,
}

impl SnapshotDir {
    fn path(&self, name: &str) -> Result<PathBuf, StateError> {
        check_name(name)?;
        Ok(self.dir.join(SNAPSHOT_DIR).join(format!("{name}.json")))
    }

    pub(crate) fn load(&self, name: &str) -> Result<Snapshot, StateError> {
        let path = self.path(name)?;
        let corrupt = |why: String| StateError::Corrupt {
            path: path.clone(),
            name: name.to_owned(),
            why,
        };
        let snapshot: Snapshot = read_json(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StateError::NoSnapshot(name.to_owned()),
            _ => corrupt(e.to_string()),
        })?;
        snapshot.window.check_bounds().map_err(corrupt)?;
        Ok(snapshot)
    }

    pub(crate) fn delete(&self, name: &str) -> Result<(), StateError> {
        let path = self.path(name)?;
        fs::remove_file(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => StateError::NoSnapshot(name.to_owned()),
            _ => StateError::Io {
                dir: self.dir.clone(),
                source: e,
            },
        })
    }

    /// Every snapshot's name, time and generation, oldest first. An
    /// unreadable file is listed under its name with generation 0.
    pub(crate) fn list(&self) -> Result<Vec<SnapshotMeta>, StateError> {
        let dir = self.dir.join(SNAPSHOT_DIR);
        let io_err = |source| StateError::Io {
            dir: self.dir.clone(),
            source,
        };
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let file = entry.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".json")) else {
                continue;
            };
            if check_name(name).is_err() {
                continue;
            }
            // The same fields as SnapshotMeta, unflattened: serde then skips
            // the window without keeping it.
            #[derive(Deserialize)]
            struct MetaOnly {
                name: String,
                taken_ms: u64,
                generation: GenerationInfo,
            }
            match read_json::<MetaOnly>(&entry.path()) {
                Ok(m) => out.push(SnapshotMeta {
                    name: m.name,
                    taken_ms: m.taken_ms,
                    generation: m.generation,
                }),
                Err(e) => {
                    log::warn!("snapshot {}: {e}", entry.path().display());
                    out.push(SnapshotMeta {
                        name: name.to_owned(),
                        taken_ms: 0,
                        generation: GenerationInfo {
                            id: 0,
                            started_ms: 0,
                            cause: Cause::CountersReset {
                                reason: format!("unreadable: {e}"),
                            },
                        },
                    });
                }
            }
        }
        out.sort_by(|a, b| (a.taken_ms, &a.name).cmp(&(b.taken_ms, &b.name)));
        Ok(out)
    }
}

/// Takes `<dir>/lock` for this process, or says who has it.
fn lock(dir: &Path) -> Result<fs::File, StateError> {
    let path = dir.join(LOCK_FILE);
    let io_err = |source| StateError::Io {
        dir: dir.to_owned(),
        source,
    };
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(io_err)?;
    // SAFETY: flock on a descriptor we own; it has no memory arguments.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            return Err(StateError::Busy(dir.to_owned()));
        }
        return Err(io_err(e));
    }
    Ok(file)
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

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> io::Result<T> {
    let file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > MAX_FILE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{len} bytes, more than the {MAX_FILE_BYTES} a state file may have"),
        ));
    }
    serde_json::from_reader(io::BufReader::new(file))
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("state")
    ));
    let written = (|| {
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        let mut file = io::BufWriter::new(file);
        serde_json::to_writer(&mut file, value)?;
        file.flush()?;
        file.get_ref().sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::counters::CallCounts;

    use crate::testing::TempDir;

    fn source(boot: &str, id: u32) -> Source {
        Source {
            boot_id: boot.into(),
            maps: [("memStatSyscalls/syscall_counts".to_string(), id)].into(),
        }
    }

    fn counters(count: u64) -> Counters {
        let mut c = Counters::default();
        c.syscalls
            .insert((61001, 39), CallCounts { count, errors: 0 });
        c
    }

    #[test]
    fn generations_go_on_across_opens_and_restart_on_counter_resets() {
        let dir = TempDir::new("gen");
        let (mut store, opened) =
            Store::open(dir.path(), Some((&source("a", 7), &counters(5))), 1000).unwrap();
        assert!(matches!(opened, Opened::Started(_)));
        assert_eq!(store.generation().info.id, 1);
        assert_eq!(store.generation().info.cause, Cause::FirstStart);
        store.reset(counters(10), 2000).unwrap();

        // Same source, counters grew: generation 2 goes on with its baseline.
        drop(store);
        let (store, opened) =
            Store::open(dir.path(), Some((&source("a", 7), &counters(12))), 3000).unwrap();
        assert_eq!(opened, Opened::Continued);
        assert_eq!(store.generation().info.id, 2);
        assert_eq!(store.generation().baseline, counters(10));

        // A recreated map: generation 3 from zero, since the counters' creation.
        drop(store);
        let (store, opened) =
            Store::open(dir.path(), Some((&source("a", 9), &counters(1))), 4000).unwrap();
        assert!(matches!(opened, Opened::Started(ref why) if why.contains("id 7 -> 9")));
        let g = store.generation();
        assert_eq!((g.info.id, g.info.started_ms), (3, 4000));
        assert_eq!(g.baseline, Counters::default());

        // A reboot.
        drop(store);
        let (store, _) =
            Store::open(dir.path(), Some((&source("b", 9), &counters(1))), 5000).unwrap();
        assert!(matches!(
            store.generation().info.cause,
            Cause::CountersReset { ref reason } if reason.contains("rebooted")
        ));
    }

    #[test]
    fn counters_below_the_baseline_start_a_generation() {
        let dir = TempDir::new("back");
        let (mut store, _) =
            Store::open(dir.path(), Some((&source("a", 7), &counters(5))), 0).unwrap();
        store.reset(counters(10), 1).unwrap();
        drop(store);
        let (store, _) = Store::open(dir.path(), Some((&source("a", 7), &counters(3))), 2).unwrap();
        assert_eq!(store.generation().info.id, 3);
    }

    #[test]
    fn a_corrupt_generation_file_is_set_aside() {
        let dir = TempDir::new("corrupt");
        fs::create_dir_all(dir.path()).unwrap();
        fs::write(dir.path().join(GENERATION_FILE), b"{not json").unwrap();
        let (store, _) = Store::open(dir.path(), Some((&source("a", 7), &counters(5))), 0).unwrap();
        assert_eq!(store.generation().info.id, 1);
        assert!(dir.path().join("generation.json.corrupt").exists());
    }

    #[test]
    fn a_lost_generation_file_never_reuses_a_snapshots_generation_id() {
        let dir = TempDir::new("reuse");
        let (mut store, _) =
            Store::open(dir.path(), Some((&source("a", 7), &counters(0))), 0).unwrap();
        store.reset(counters(1), 1).unwrap();
        store.reset(counters(2), 2).unwrap();
        store.save_snapshot("old", counters(0), 3).unwrap();
        fs::write(dir.path().join(GENERATION_FILE), b"garbage").unwrap();
        drop(store);
        let (store, _) = Store::open(dir.path(), Some((&source("a", 7), &counters(5))), 9).unwrap();
        assert_eq!(
            store.generation().info.id,
            4,
            "above generation 3 of snapshot old"
        );
    }

    #[test]
    fn one_store_per_directory() {
        let dir = TempDir::new("lock");
        let held = Store::open(dir.path(), None, 0).unwrap();
        assert!(matches!(
            Store::open(dir.path(), None, 0),
            Err(StateError::Busy(_))
        ));
        drop(held);
        Store::open(dir.path(), None, 0).unwrap();
    }

    #[test]
    fn state_is_private_to_the_daemon() {
        use std::os::unix::fs::MetadataExt;
        let dir = TempDir::new("perms");
        let (store, _) = Store::open(dir.path(), Some((&source("a", 7), &counters(0))), 0).unwrap();
        store.save_snapshot("s", counters(1), 1).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(dir.path()), 0o700);
        assert_eq!(mode(&dir.path().join(SNAPSHOT_DIR)), 0o700);
        assert_eq!(mode(&dir.path().join(GENERATION_FILE)), 0o600);
        assert_eq!(mode(&dir.path().join(SNAPSHOT_DIR).join("s.json")), 0o600);
    }

    #[test]
    fn files_with_more_than_the_maps_hold_are_corrupt() {
        let dir = TempDir::new("bounds");
        let (store, _) = Store::open(dir.path(), Some((&source("a", 7), &counters(0))), 0).unwrap();
        let mut big = Counters::default();
        for uid in 0..=crate::abi::syscalls::COUNTS_ENTRIES {
            big.syscalls.insert(
                (uid, 0),
                CallCounts {
                    count: 1,
                    errors: 0,
                },
            );
        }
        store.save_snapshot("big", big, 1).unwrap();
        assert!(matches!(
            store.snapshots().load("big"),
            Err(StateError::Corrupt { ref why, .. }) if why.contains("16385 (UID, syscall) pairs")
        ));
    }

    #[test]
    fn snapshots_are_named_bounded_and_replaced() {
        let dir = TempDir::new("snap");
        let (store, _) = Store::open(dir.path(), Some((&source("a", 7), &counters(0))), 0).unwrap();
        for bad in ["", ".x", "-a", "a/b", "a b", &"x".repeat(MAX_NAME_LEN + 1)] {
            assert!(matches!(
                store.save_snapshot(bad, counters(1), 1),
                Err(StateError::BadName(_))
            ));
        }
        assert!(!store.save_snapshot("base", counters(1), 1).unwrap());
        assert!(store.save_snapshot("base", counters(2), 2).unwrap());
        assert_eq!(store.snapshots().load("base").unwrap().window, counters(2));
        for i in 1..MAX_SNAPSHOTS {
            store
                .save_snapshot(&format!("s{i}"), counters(1), 10 + i as u64)
                .unwrap();
        }
        assert!(matches!(
            store.save_snapshot("one-too-many", counters(1), 99),
            Err(StateError::Full)
        ));
        let list = store.snapshots().list().unwrap();
        assert_eq!(list.len(), MAX_SNAPSHOTS);
        assert_eq!(list[0].name, "base");
        store.snapshots().delete("base").unwrap();
        assert!(matches!(
            store.snapshots().load("base"),
            Err(StateError::NoSnapshot(_))
        ));
        fs::write(dir.path().join(SNAPSHOT_DIR).join("junk.json"), b"[1,2").unwrap();
        assert!(matches!(
            store.snapshots().load("junk"),
            Err(StateError::Corrupt { .. })
        ));
    }
}

//! The store on disk: generations across opens, snapshots, and files and
//! directories the store must not use.

use super::*;
use crate::stats::counters::CallCounts;
use crate::testing::TempDir;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

/// `Store::open`, waiting out a lock held only for a moment: a test that
/// spawns a process (the syscall tables' `cpp`) forks this process, and the
/// child holds every descriptor, the store's lock too, until it execs.
fn open(
    path: &Path,
    current: Option<(&Source, &Counters)>,
    since_ms: u64,
) -> Result<(Store, Opened), StateError> {
    for _ in 0..100 {
        match Store::open(path, current, since_ms) {
            Err(StateError::Busy(_)) => std::thread::sleep(std::time::Duration::from_millis(10)),
            other => return other,
        }
    }
    Store::open(path, current, since_ms)
}

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
        open(dir.path(), Some((&source("a", 7), &counters(5))), 1000).unwrap();
    assert!(matches!(opened, Opened::Started(_)));
    assert_eq!(store.generation().info.id, 1);
    assert_eq!(store.generation().info.cause, Cause::FirstStart);
    store.reset(counters(10), 2000).unwrap();

    // Same source, counters grew: generation 2 goes on with its baseline.
    drop(store);
    let (store, opened) = open(dir.path(), Some((&source("a", 7), &counters(12))), 3000).unwrap();
    assert_eq!(opened, Opened::Continued);
    assert_eq!(store.generation().info.id, 2);
    assert_eq!(store.generation().baseline, counters(10));

    // A recreated map: generation 3 from zero, since the counters' creation.
    drop(store);
    let (store, opened) = open(dir.path(), Some((&source("a", 9), &counters(1))), 4000).unwrap();
    assert!(matches!(opened, Opened::Started(ref why) if why.contains("id 7 -> 9")));
    let g = store.generation();
    assert_eq!((g.info.id, g.info.started_ms), (3, 4000));
    assert_eq!(g.baseline, Counters::default());

    // A reboot.
    drop(store);
    let (store, _) = open(dir.path(), Some((&source("b", 9), &counters(1))), 5000).unwrap();
    assert!(matches!(
        store.generation().info.cause,
        Cause::CountersReset { ref reason } if reason.contains("rebooted")
    ));
}

#[test]
fn counters_below_the_baseline_start_a_generation() {
    let dir = TempDir::new("back");
    let (mut store, _) = open(dir.path(), Some((&source("a", 7), &counters(5))), 0).unwrap();
    store.reset(counters(10), 1).unwrap();
    drop(store);
    let (store, _) = open(dir.path(), Some((&source("a", 7), &counters(3))), 2).unwrap();
    assert_eq!(store.generation().info.id, 3);
}

#[test]
fn a_corrupt_generation_file_is_set_aside() {
    let dir = TempDir::new("corrupt");
    fs::create_dir_all(dir.path()).unwrap();
    fs::write(dir.path().join(GENERATION_FILE), b"{not json").unwrap();
    let (store, _) = open(dir.path(), Some((&source("a", 7), &counters(5))), 0).unwrap();
    assert_eq!(store.generation().info.id, 1);
    assert!(dir.path().join("generation.json.corrupt").exists());
}

#[test]
fn a_lost_generation_file_never_reuses_a_snapshots_generation_id() {
    let dir = TempDir::new("reuse");
    let (mut store, _) = open(dir.path(), Some((&source("a", 7), &counters(0))), 0).unwrap();
    store.reset(counters(1), 1).unwrap();
    store.reset(counters(2), 2).unwrap();
    store.save_snapshot("old", counters(0), 3).unwrap();
    fs::write(dir.path().join(GENERATION_FILE), b"garbage").unwrap();
    drop(store);
    let (store, _) = open(dir.path(), Some((&source("a", 7), &counters(5))), 9).unwrap();
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
    open(dir.path(), None, 0).unwrap();
}

#[test]
fn state_is_private_to_the_daemon() {
    let dir = TempDir::new("perms");
    let (store, _) = open(dir.path(), Some((&source("a", 7), &counters(0))), 0).unwrap();
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
    let (store, _) = open(dir.path(), Some((&source("a", 7), &counters(0))), 0).unwrap();
    let mut big = Counters::default();
    let most = crate::stats::counters::max_pairs();
    for uid in 0..=most {
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
        Err(StateError::Corrupt { ref why, .. })
            if why.contains(&format!("{} (UID, syscall) pairs", most + 1))
    ));
}

#[test]
fn snapshots_are_named_bounded_and_replaced() {
    let dir = TempDir::new("snap");
    let (store, _) = open(dir.path(), Some((&source("a", 7), &counters(0))), 0).unwrap();
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

/// A snapshot file's content, as the store writes it.
fn snapshot_json(name: &str, taken_ms: u64) -> String {
    let s = Snapshot {
        meta: SnapshotMeta {
            name: name.into(),
            taken_ms,
            generation: GenerationInfo {
                id: 1,
                started_ms: 0,
                cause: Cause::FirstStart,
            },
        },
        window: counters(1),
    };
    serde_json::to_string(&s).unwrap()
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: c is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "{path:?}");
}

fn note(store: &Store) -> String {
    store.note().unwrap_or_default()
}

#[test]
fn a_state_directory_behind_a_symlink_is_not_used_and_left_alone() {
    let dir = TempDir::new("symlinked");
    let real = dir.path().join("real");
    fs::create_dir(&real).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(&real, dir.path().join("state")).unwrap();
    let (mut store, _) = open(&dir.path().join("state"), None, 0).unwrap();
    assert!(
        note(&store).contains("state is a symlink"),
        "{}",
        note(&store)
    );
    assert!(matches!(
        store.reset(counters(1), 1),
        Err(StateError::Unusable(_))
    ));
    assert!(matches!(
        store.save_snapshot("s", counters(1), 1),
        Err(StateError::Unusable(_))
    ));
    assert!(matches!(
        store.snapshots().list(),
        Err(StateError::Unusable(_))
    ));
    assert_eq!(fs::metadata(&real).unwrap().mode() & 0o7777, 0o755);
    assert_eq!(fs::read_dir(&real).unwrap().count(), 0);
}

#[test]
fn directories_others_may_write_to_are_refused() {
    let dir = TempDir::new("writable");
    let state = dir.path().join("state");
    fs::create_dir(&state).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(0o770)).unwrap();
    let (store, _) = open(&state, None, 0).unwrap();
    assert!(
        note(&store).contains("state is writable by other users (mode 0770)"),
        "{}",
        note(&store)
    );
    assert_eq!(fs::read_dir(&state).unwrap().count(), 0, "nothing written");
    drop(store);

    // A parent anyone may write to could have the state swapped under it,
    // unless it is sticky.
    let writable = dir.path().join("open");
    fs::create_dir(&writable).unwrap();
    fs::set_permissions(&writable, fs::Permissions::from_mode(0o777)).unwrap();
    let (store, _) = open(&writable.join("state"), None, 0).unwrap();
    if cfg!(target_os = "android") {
        assert_eq!(store.note(), None, "only the directory itself on Android");
    } else {
        assert!(
            note(&store).contains("open is writable"),
            "{}",
            note(&store)
        );
        assert!(note(&store).contains("not sticky"), "{}", note(&store));
    }
    drop(store);
    fs::set_permissions(&writable, fs::Permissions::from_mode(0o1777)).unwrap();
    let (store, _) = open(&writable.join("state"), None, 0).unwrap();
    assert_eq!(store.note(), None);
}

#[test]
fn planted_links_are_neither_followed_nor_read() {
    let dir = TempDir::new("links");
    let victim = dir.path().join("victim");
    fs::write(&victim, "precious").unwrap();
    let state = dir.path().join("state");
    let (store, _) = open(&state, Some((&source("a", 7), &counters(0))), 0).unwrap();
    let snaps = state.join(SNAPSHOT_DIR);
    std::os::unix::fs::symlink(&victim, snaps.join(".s.json.tmp")).unwrap();
    assert!(!store.save_snapshot("s", counters(2), 1).unwrap());
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(fs::symlink_metadata(snaps.join("s.json"))
        .unwrap()
        .is_file());
    assert_eq!(store.snapshots().load("s").unwrap().window, counters(2));

    // A snapshot that is a symlink, or has a second link, is not read.
    fs::write(&victim, snapshot_json("l", 5)).unwrap();
    std::os::unix::fs::symlink(&victim, snaps.join("l.json")).unwrap();
    assert!(matches!(
        store.snapshots().load("l"),
        Err(StateError::Corrupt { ref why, .. }) if why == "a symlink, which memstatd never follows"
    ));
    fs::hard_link(snaps.join("s.json"), dir.path().join("s-elsewhere")).unwrap();
    assert!(matches!(
        store.snapshots().load("s"),
        Err(StateError::Corrupt { ref why, .. }) if why == "2 links to it; memstatd's files have one"
    ));
    let list = store.snapshots().list().unwrap();
    let names: Vec<(&str, u64)> = list
        .iter()
        .map(|m| (m.name.as_str(), m.generation.id))
        .collect();
    assert_eq!(names, [("l", 0), ("s", 0)], "both unreadable: {list:?}");
}

#[test]
fn special_files_never_block() {
    let dir = TempDir::new("fifo");
    let state = dir.path().join("state");
    let (store, _) = open(&state, Some((&source("a", 7), &counters(0))), 0).unwrap();
    mkfifo(&state.join(SNAPSHOT_DIR).join("f.json"));
    assert!(matches!(
        store.snapshots().load("f"),
        Err(StateError::Corrupt { ref why, .. }) if why == "a FIFO, not a regular file"
    ));
    let list = store.snapshots().list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0].generation.cause,
        Cause::CountersReset {
            reason: "unreadable: a FIFO, not a regular file".into()
        }
    );
    drop(store);

    // A FIFO for the generation file is set aside like a corrupt one.
    fs::remove_file(state.join(GENERATION_FILE)).unwrap();
    mkfifo(&state.join(GENERATION_FILE));
    let (store, opened) = open(&state, Some((&source("a", 7), &counters(0))), 0).unwrap();
    assert_eq!(opened, Opened::Started(Cause::FirstStart.describe()));
    assert_eq!(store.note(), None);
    let aside = fs::symlink_metadata(state.join("generation.json.corrupt")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&aside.file_type()));
}

#[test]
fn a_listing_follows_changes_made_outside_the_daemon() {
    let dir = TempDir::new("index");
    let state = dir.path().join("state");
    let (store, _) = open(&state, Some((&source("a", 7), &counters(0))), 0).unwrap();
    store.save_snapshot("a", counters(1), 10).unwrap();
    store.save_snapshot("b", counters(1), 20).unwrap();
    let times = |s: &Store| -> Vec<(String, u64)> {
        let list = s.snapshots().list().unwrap();
        list.into_iter().map(|m| (m.name, m.taken_ms)).collect()
    };
    assert_eq!(times(&store), [("a".into(), 10), ("b".into(), 20)]);
    // Replaced (a new file renamed over it), removed, added.
    let snaps = state.join(SNAPSHOT_DIR);
    fs::write(dir.path().join("new"), snapshot_json("a", 30)).unwrap();
    fs::rename(dir.path().join("new"), snaps.join("a.json")).unwrap();
    fs::remove_file(snaps.join("b.json")).unwrap();
    fs::write(snaps.join("c.json"), snapshot_json("c", 5)).unwrap();
    assert_eq!(times(&store), [("c".into(), 5), ("a".into(), 30)]);
    store.snapshots().delete("a").unwrap();
    assert_eq!(times(&store), [("c".into(), 5)]);
}

#[test]
fn files_and_directories_of_another_user_are_not_used() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: only root can give files to another user");
        return;
    }
    let chown = |p: &Path| std::os::unix::fs::chown(p, Some(65_534), Some(65_534)).unwrap();
    let dir = TempDir::new("foreign");
    let state = dir.path().join("state");
    let (mut store, _) = open(&state, Some((&source("a", 7), &counters(0))), 0).unwrap();
    let snaps = state.join(SNAPSHOT_DIR);
    fs::write(snaps.join("x.json"), snapshot_json("x", 1)).unwrap();
    chown(&snaps.join("x.json"));
    assert!(matches!(
        store.snapshots().load("x"),
        Err(StateError::Corrupt { ref why, .. }) if why == "owned by uid 65534, not by memstatd's user (uid 0)"
    ));
    // A generation file of another user is never a baseline.
    store.reset(counters(3), 5).unwrap();
    chown(&state.join(GENERATION_FILE));
    drop(store);
    let (store, opened) = open(&state, Some((&source("a", 7), &counters(4))), 9).unwrap();
    assert_eq!(opened, Opened::Started(Cause::FirstStart.describe()));
    assert_eq!(store.generation().baseline, Counters::default());
    drop(store);
    // Nor is a directory.
    chown(&state);
    let (mut store, _) = open(&state, None, 0).unwrap();
    assert!(
        note(&store).contains("state is owned by uid 65534, not by memstatd's user (uid 0)"),
        "{}",
        note(&store)
    );
    assert!(matches!(
        store.reset(counters(5), 10),
        Err(StateError::Unusable(_))
    ));
}

//! One test per rule, on real directories under a scratch directory.

use super::*;
use crate::testing::TempDir;
use std::fs;
use std::os::unix::fs::{chown, lchown, symlink};

const RULE: Rule = Rule {
    role: "the test directory",
    owner: Owner::RootOrDaemon,
    sticky: false,
    create: None,
    links: Links::Refuse,
    instead: "use another",
};

const FOLLOW: Rule = Rule {
    links: Links::FollowTrusted,
    ..RULE
};

/// Another user's uid, to give directories to.
const OTHER: u32 = 66_301;

fn mkdir(path: &Path, mode: u32) -> PathBuf {
    fs::create_dir(path).unwrap();
    fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    path.to_owned()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().mode() & 0o7777
}

fn refused(rule: &Rule, path: &Path) -> String {
    rule.open(path).unwrap_err().to_string()
}

/// Whether `file` is the directory at `path`.
fn is(file: &File, path: &Path) -> bool {
    let (a, b) = (file.metadata().unwrap(), fs::metadata(path).unwrap());
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

fn root() -> bool {
    euid() == 0
}

#[test]
fn missing_directories_are_made_with_their_modes_exactly() {
    let t = TempDir::new("trusted-make");
    let c = t.path().join("a/b/c");
    // A mode the usual umask (022) would cut.
    let make = Rule {
        create: Some(0o1777),
        sticky: true,
        ..RULE
    };
    let (dir, real) = make.open(&c).unwrap();
    assert_eq!(real, c);
    assert!(is(&dir, &c));
    let modes = ["a", "a/b", "a/b/c"].map(|p| mode(&t.path().join(p)));
    assert_eq!(modes, [0o755, 0o755, 0o1777]);

    let x = t.path().join("x");
    assert_eq!(
        refused(&RULE, &x.join("y")),
        format!(
            "a directory above the test directory {}/y: {} does not exist",
            x.display(),
            x.display()
        )
    );
    assert_eq!(
        refused(&RULE, &x),
        format!("the test directory {} does not exist", x.display())
    );
}

#[test]
fn a_symlink_on_the_path_is_refused_unless_followed() {
    let t = TempDir::new("trusted-links");
    let real = mkdir(&t.path().join("real"), 0o755);
    mkdir(&real.join("sub"), 0o755);
    let link = t.path().join("link");
    symlink("real", &link).unwrap();
    let never = "is a symlink, and memstatd reaches the test directory only by a path where \
                 no component is a symbolic link: give the real path";
    assert_eq!(
        refused(&RULE, &link),
        format!("the test directory {} {never}", link.display())
    );
    let sub = link.join("sub");
    assert_eq!(
        refused(&RULE, &sub),
        format!(
            "a directory above the test directory {}: {} {never}",
            sub.display(),
            link.display()
        )
    );

    // Followed: relative and absolute links, each to what it names.
    let (dir, path) = FOLLOW.open(&sub).unwrap();
    assert_eq!(path, real.join("sub"));
    assert!(is(&dir, &real.join("sub")));
    let absolute = t.path().join("absolute");
    symlink(&sub, &absolute).unwrap();
    let (dir, path) = FOLLOW.open(&absolute).unwrap();
    assert_eq!(path, real.join("sub"));
    assert!(is(&dir, &real.join("sub")));
    // What a link leads to is checked, and the message says where.
    let world = mkdir(&t.path().join("world"), 0o777);
    let to_world = t.path().join("to-world");
    symlink(&world, &to_world).unwrap();
    assert_eq!(
        refused(&FOLLOW, &to_world),
        format!(
            "the test directory {} (that is, {}) is writable by other users (mode 0777), so \
             they could plant or replace what memstatd keeps in it: check what is in it and \
             make it writable only by its owner (chmod go-w), or use another",
            to_world.display(),
            world.display()
        )
    );
    let looped = t.path().join("loop");
    symlink("loop", &looped).unwrap();
    assert_eq!(
        refused(&FOLLOW, &looped),
        format!(
            "the test directory {} has more than 40 symlinks on its path (a loop?): give the \
             real path",
            looped.display()
        )
    );
    if root() {
        // Another user's link could be pointed elsewhere at any time.
        let theirs = t.path().join("theirs");
        symlink("real", &theirs).unwrap();
        lchown(&theirs, Some(OTHER), None).unwrap();
        assert_eq!(
            refused(&FOLLOW, &theirs.join("sub")),
            format!(
                "a directory above the test directory {}/sub: {} is a symlink of uid {OTHER}, \
                 not of root or memstatd's user (uid 0), so that user could point it \
                 elsewhere: give the real path",
                theirs.display(),
                theirs.display()
            )
        );
    }
}

#[test]
fn dot_dot_is_refused_unless_links_are_followed() {
    let t = TempDir::new("trusted-dotdot");
    let a = mkdir(&t.path().join("a"), 0o755);
    let b = mkdir(&t.path().join("b"), 0o755);
    let back = a.join("../b");
    assert_eq!(
        refused(&RULE, &back),
        format!(
            "the test directory {} has a '..' in its path: give the path without it",
            back.display()
        )
    );
    let (dir, path) = FOLLOW.open(&back).unwrap();
    assert_eq!(path, b);
    assert!(is(&dir, &b));
    // `..` in a link goes up from where the link is.
    symlink("..", a.join("up")).unwrap();
    let (dir, path) = FOLLOW.open(&a.join("up/b")).unwrap();
    assert_eq!(path, b);
    assert!(is(&dir, &b));
}

#[test]
fn a_directory_of_another_user_is_refused() {
    if !root() {
        return;
    }
    let t = TempDir::new("trusted-owner");
    let theirs = mkdir(&t.path().join("theirs"), 0o755);
    chown(&theirs, Some(OTHER), None).unwrap();
    let e = RULE.open(&theirs).unwrap_err();
    let problem = format!(
        "is owned by uid {OTHER}, not root or memstatd's user (uid 0), so that user could \
         replace what memstatd keeps in it: use another"
    );
    assert_eq!(
        e.to_string(),
        format!("the test directory {} {problem}", theirs.display())
    );
    #[cfg(not(target_os = "android"))]
    assert_eq!(e.reason(), problem);
    let daemon = Rule {
        owner: Owner::Daemon,
        ..RULE
    };
    assert_eq!(
        refused(&daemon, &theirs),
        format!(
            "the test directory {} is owned by uid {OTHER}, not by memstatd's user (uid 0), \
             so that user could replace what memstatd keeps in it: use another",
            theirs.display()
        )
    );

    // Above: that user could swap what lies below.
    let sub = mkdir(&theirs.join("sub"), 0o755);
    if cfg!(target_os = "android") {
        assert!(RULE.open(&sub).is_ok(), "only the directory on Android");
        return;
    }
    let e = RULE.open(&sub).unwrap_err();
    let problem = format!(
        "{} is owned by uid {OTHER}, not root or memstatd's user (uid 0), so that user could \
         swap what lies below it: use another",
        theirs.display()
    );
    assert_eq!(
        e.to_string(),
        format!(
            "a directory above the test directory {}: {problem}",
            sub.display()
        )
    );
    #[cfg(not(target_os = "android"))]
    assert_eq!(e.reason(), format!("a directory above it: {problem}"));
}

#[test]
fn others_may_write_only_to_sticky_directories_above() {
    let t = TempDir::new("trusted-mode");
    let group = mkdir(&t.path().join("group"), 0o770);
    assert_eq!(
        refused(&RULE, &group),
        format!(
            "the test directory {} is writable by other users (mode 0770), so they could \
             plant or replace what memstatd keeps in it: check what is in it and make it \
             writable only by its owner (chmod go-w), or use another",
            group.display()
        )
    );
    // Sticky, as /tmp: others may still put entries where memstatd's go,
    // unless the rule allows it.
    let shared = mkdir(&t.path().join("shared"), 0o1777);
    assert_eq!(
        refused(&RULE, &shared),
        format!(
            "the test directory {} is writable by other users (mode 1777), so they could \
             put their own entries where memstatd's go: use another",
            shared.display()
        )
    );
    let sticky = Rule {
        sticky: true,
        ..RULE
    };
    assert!(sticky.open(&shared).is_ok());
    let world = mkdir(&t.path().join("world"), 0o777);
    assert_eq!(
        refused(&sticky, &world),
        format!(
            "the test directory {} is writable by other users (mode 0777) and not sticky, so \
             they could replace what memstatd keeps in it: make it writable only by its \
             owner (chmod go-w) or sticky (chmod +t), or use another",
            world.display()
        )
    );

    // Above, only sticky will do.
    let below = mkdir(&world.join("below"), 0o755);
    if cfg!(target_os = "android") {
        assert!(RULE.open(&below).is_ok(), "only the directory on Android");
    } else {
        assert_eq!(
            refused(&RULE, &below),
            format!(
                "a directory above the test directory {}: {} is writable by other users \
                 (mode 0777) and not sticky, so they could swap what lies below it: make it \
                 writable only by its owner (chmod go-w) or sticky (chmod +t), or use \
                 another",
                below.display(),
                world.display()
            )
        );
    }
    fs::set_permissions(&world, Permissions::from_mode(0o1777)).unwrap();
    assert!(RULE.open(&below).is_ok());
}

#[test]
fn only_directories_and_not_the_root() {
    let t = TempDir::new("trusted-kind");
    let file = t.path().join("file");
    fs::write(&file, "").unwrap();
    assert_eq!(
        refused(&RULE, &file),
        format!(
            "the test directory {} is not a directory: give the path of a directory",
            file.display()
        )
    );
    assert_eq!(
        refused(&RULE, &file.join("x")),
        format!(
            "a directory above the test directory {}/x: {} is not a directory: give the path \
             of a directory",
            file.display(),
            file.display()
        )
    );
    assert_eq!(
        refused(&FOLLOW, Path::new("/")),
        "the test directory / is the root directory: use another"
    );
}

#[test]
fn a_directory_in_a_trusted_one_is_never_reached_through_a_link() {
    let t = TempDir::new("trusted-in");
    let (top, path) = RULE.open(t.path()).unwrap();
    let name = OsStr::new("sub");
    assert!(RULE.open_in(&top, &path, name).unwrap().is_none());
    let make = Rule {
        create: Some(0o700),
        ..RULE
    };
    let sub = make.open_in(&top, &path, name).unwrap().unwrap();
    assert!(is(&sub, &t.path().join("sub")));
    assert_eq!(mode(&t.path().join("sub")), 0o700);
    symlink("sub", t.path().join("l")).unwrap();
    assert_eq!(
        FOLLOW
            .open_in(&top, &path, OsStr::new("l"))
            .unwrap_err()
            .to_string(),
        format!(
            "the test directory {}/l is a symlink, and memstatd reaches the test directory \
             only by a path where no component is a symbolic link: give the real path",
            t.path().display()
        )
    );
}

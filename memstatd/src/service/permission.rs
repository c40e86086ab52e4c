//! What a caller may do, from who it is: the rules alone, so that they are
//! tested on any host. The transport vouches for the identity (SO_PEERCRED,
//! binder's calling UID) and, on Android, asks the permission service when
//! the answer matters.

/// How much a caller may see and do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Every UID, and it may change state (reset, snapshots, latency mode).
    Full,
    /// Every UID, read only.
    ReadAll,
    /// Its own UID, read only.
    OwnUid,
}

/// root (init, `adb root`).
pub const AID_ROOT: u32 = 0;
/// system: system_server and the platform daemons that run as it.
pub const AID_SYSTEM: u32 = 1000;
/// dumpsys and bugreports (dumpstate) run as shell.
pub const AID_SHELL: u32 = 2000;

/// What lets any other Android caller read every UID.
pub const DUMP_PERMISSION: &str = "android.permission.DUMP";

/// Who may change state, for messages.
pub const STATE_CHANGERS: &str = if cfg!(target_os = "android") {
    "root, system or shell"
} else {
    "root"
};

/// The host socket's rule: root may do everything; any other user reads
/// its own UID.
pub fn socket_peer(uid: u32) -> Access {
    if uid == AID_ROOT {
        Access::Full
    } else {
        Access::OwnUid
    }
}

/// Binder's rule: root, system and shell may do everything; any other
/// caller reads every UID if it holds [`DUMP_PERMISSION`], else its own.
/// `holds_dump` asks the permission service, and is only asked when the
/// answer matters.
pub fn binder_caller(uid: u32, holds_dump: impl FnOnce() -> bool) -> Access {
    if [AID_ROOT, AID_SYSTEM, AID_SHELL].contains(&uid) {
        Access::Full
    } else if holds_dump() {
        Access::ReadAll
    } else {
        Access::OwnUid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_system_and_shell_need_no_permission() {
        for uid in [0, 1000, 2000] {
            let access = binder_caller(uid, || {
                panic!("uid {uid}: the permission service was asked")
            });
            assert_eq!(access, Access::Full, "uid {uid}");
        }
    }

    #[test]
    fn any_other_caller_reads_all_with_dump_and_its_own_uid_without() {
        for uid in [1, 999, 1001, 1999, 2001, 10_123, 1_010_123] {
            assert_eq!(binder_caller(uid, || true), Access::ReadAll, "uid {uid}");
            assert_eq!(binder_caller(uid, || false), Access::OwnUid, "uid {uid}");
        }
    }

    #[test]
    fn on_the_socket_only_root_sees_all() {
        assert_eq!(socket_peer(0), Access::Full);
        for uid in [1, 1000, 2000, 65_534] {
            assert_eq!(socket_peer(uid), Access::OwnUid, "uid {uid}");
        }
    }
}

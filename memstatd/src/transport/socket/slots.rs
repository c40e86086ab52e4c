//! Places for clients being served. Of `max` places, some are kept for
//! privileged callers (root); other users share the rest, each UID at most
//! [`PER_UID`] of them. A user who holds connections open, silent, takes
//! only its own share: root is never told the daemon is busy because of
//! another user.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Requests one unprivileged UID may have in flight at once.
pub(super) const PER_UID: usize = 2;

pub(super) struct Slots {
    max: usize,
    used: Mutex<Used>,
}

#[derive(Default)]
struct Used {
    all: usize,
    unprivileged: usize,
    by_uid: HashMap<u32, usize>,
}

/// Places kept for privileged callers: a quarter, at least one (none when
/// there is a single place).
pub(super) fn reserved(max: usize) -> usize {
    if max < 2 {
        0
    } else {
        (max / 4).max(1)
    }
}

impl Slots {
    pub(super) fn new(max: usize) -> Arc<Self> {
        Arc::new(Slots {
            max,
            used: Mutex::new(Used::default()),
        })
    }

    fn used(&self) -> MutexGuard<'_, Used> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A place for a caller of `uid`, or why there is none, for the caller.
    pub(super) fn take(self: &Arc<Self>, uid: u32, privileged: bool) -> Result<Slot, String> {
        let mut u = self.used();
        if u.all >= self.max {
            return Err(format!(
                "memstatd is busy: {} clients are being served; try again",
                self.max
            ));
        }
        if !privileged {
            let shared = self.max - reserved(self.max);
            let mine = u.by_uid.get(&uid).copied().unwrap_or(0);
            if mine >= PER_UID {
                return Err(format!(
                    "memstatd is busy: uid {uid} already has {mine} requests in flight, \
                     the most one user may have; try again when they end"
                ));
            }
            if u.unprivileged >= shared {
                return Err(format!(
                    "memstatd is busy: {shared} clients of users other than root are being \
                     served, the most at once; try again"
                ));
            }
            u.unprivileged += 1;
            *u.by_uid.entry(uid).or_default() += 1;
        }
        u.all += 1;
        Ok(Slot {
            slots: Arc::clone(self),
            unprivileged_uid: (!privileged).then_some(uid),
        })
    }
}

/// A place taken, given back when dropped, however the client's thread ends.
pub(super) struct Slot {
    slots: Arc<Slots>,
    unprivileged_uid: Option<u32>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut u = self.slots.used();
        u.all -= 1;
        if let Some(uid) = self.unprivileged_uid {
            u.unprivileged -= 1;
            if let Some(n) = u.by_uid.get_mut(&uid) {
                *n -= 1;
                if *n == 0 {
                    u.by_uid.remove(&uid);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_user_holds_at_most_its_share() {
        let s = Slots::new(16);
        let mine: Vec<Slot> = (0..2).map(|_| s.take(1000, false).unwrap()).collect();
        let e = s.take(1000, false).err().unwrap();
        assert!(e.contains("uid 1000 already has 2 requests"), "{e}");
        drop(mine);
        assert!(s.take(1000, false).is_ok(), "given back on drop");
    }

    #[test]
    fn users_together_leave_roots_places_free() {
        let s = Slots::new(16);
        let others: Vec<Slot> = (0..12).map(|i| s.take(1000 + i, false).unwrap()).collect();
        let e = s.take(2000, false).err().unwrap();
        assert!(e.contains("12 clients of users other than root"), "{e}");
        let root: Vec<Slot> = (0..4).map(|_| s.take(0, true).unwrap()).collect();
        let e = s.take(0, true).err().unwrap();
        assert!(e.contains("16 clients are being served"), "{e}");
        drop((others, root));
        assert_eq!(s.used().all, 0);
        assert!(s.used().by_uid.is_empty());
    }

    #[test]
    fn root_may_take_every_place() {
        let s = Slots::new(4);
        let root: Vec<Slot> = (0..4).map(|_| s.take(0, true).unwrap()).collect();
        assert!(s.take(1000, false).is_err());
        assert_eq!(root.len(), 4);
    }

    #[test]
    fn small_limits_keep_one_place_for_root() {
        assert_eq!([1, 2, 3, 4, 8, 16, 17].map(reserved), [0, 1, 1, 1, 2, 4, 4]);
        let s = Slots::new(2);
        let other = s.take(1000, false).unwrap();
        assert!(s.take(1001, false).is_err());
        assert!(s.take(0, true).is_ok());
        drop(other);
    }
}

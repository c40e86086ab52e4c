//! Memory of answers. Each answer is built in full into a [`Spool`] before
//! any of it is sent, so a client that does not read holds its answer's
//! bytes, never the working data the answer was built from. Spools share a
//! budget (other users than root at most half of it); at most [`BUILDING`]
//! answers are built at once, one place kept for root; memory a large answer
//! used is given back to the system when it is done.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Answers built at once: building one holds the report model, several
/// times the size of its output.
pub(super) const BUILDING: usize = 2;
/// A spool grows by chunks of this size, each charged to the budget.
const CHUNK: usize = 64 * 1024;
/// After an answer this large, unused memory is given back to the system.
const GIVE_BACK_ABOVE: usize = 1 << 20;

pub(super) struct Budget {
    limit: usize,
    used: Mutex<Used>,
    changed: Condvar,
}

#[derive(Default)]
struct Used {
    bytes: usize,
    unprivileged_bytes: usize,
    building: usize,
    unprivileged_building: usize,
    /// The daemon is stopping: no answer is started any more.
    closed: bool,
}

impl Budget {
    /// Spools in flight may hold `limit` bytes together.
    pub(super) fn new(limit: usize) -> Arc<Self> {
        Arc::new(Budget {
            limit,
            used: Mutex::new(Used::default()),
            changed: Condvar::new(),
        })
    }

    fn used(&self) -> MutexGuard<'_, Used> {
        self.used.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits, until `deadline`, for a place to build an answer. Other users
    /// than root may hold all but one place.
    pub(super) fn build(
        self: &Arc<Self>,
        privileged: bool,
        deadline: Instant,
    ) -> Result<Building, String> {
        let mut u = self.used();
        loop {
            if u.closed {
                return Err("memstatd is stopping".into());
            }
            let free =
                u.building < BUILDING && (privileged || u.unprivileged_building + 1 < BUILDING);
            if free {
                u.building += 1;
                u.unprivileged_building += usize::from(!privileged);
                return Ok(Building {
                    budget: Arc::clone(self),
                    privileged,
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "the request ran past its time limit waiting while {} other answers \
                     were built",
                    u.building
                ));
            }
            u = self
                .changed
                .wait_timeout(u, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Starts no more answers, and waits, at most `limit`, for those being
    /// built.
    pub(super) fn close(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut u = self.used();
        u.closed = true;
        while u.building > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            u = self
                .changed
                .wait_timeout(u, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    fn charge(&self, bytes: usize, privileged: bool, own: usize) -> io::Result<()> {
        let mut u = self.used();
        let limit = if privileged {
            self.limit
        } else {
            self.limit / 2
        };
        if own + bytes > limit {
            return Err(over(format!(
                "the answer is larger than the {} MiB memstatd holds for answers {}; ask for \
                 fewer UIDs or sections",
                limit >> 20,
                if privileged {
                    "in flight"
                } else {
                    "to users other than root"
                }
            )));
        }
        let (total, in_use) = if privileged {
            (u.bytes, self.limit)
        } else {
            (u.unprivileged_bytes, self.limit / 2)
        };
        if total + bytes > in_use {
            return Err(over(format!(
                "memstatd holds {} MiB of answers that their clients have not read yet, the \
                 most it holds{}; try again",
                total >> 20,
                if privileged {
                    ""
                } else {
                    " for users other than root"
                }
            )));
        }
        u.bytes += bytes;
        u.unprivileged_bytes += if privileged { 0 } else { bytes };
        Ok(())
    }

    fn release(&self, bytes: usize, privileged: bool) {
        let mut u = self.used();
        u.bytes -= bytes;
        u.unprivileged_bytes -= if privileged { 0 } else { bytes };
    }
}

/// Over budget: the request ends with status 5 and this message.
fn over(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::OutOfMemory, message)
}

/// A place to build an answer, given back when dropped.
pub(super) struct Building {
    budget: Arc<Budget>,
    privileged: bool,
}

impl Building {
    /// An empty spool for the answer.
    pub(super) fn spool(&self) -> Spool {
        Spool {
            budget: Arc::clone(&self.budget),
            privileged: self.privileged,
            chunks: VecDeque::new(),
            charged: 0,
            peak: 0,
        }
    }
}

impl Drop for Building {
    fn drop(&mut self) {
        let mut u = self.budget.used();
        u.building -= 1;
        u.unprivileged_building -= usize::from(!self.privileged);
        drop(u);
        self.budget.changed.notify_all();
    }
}

/// An answer held in memory charged to the budget, sent chunk by chunk and
/// given back as it goes.
pub(super) struct Spool {
    budget: Arc<Budget>,
    privileged: bool,
    chunks: VecDeque<Vec<u8>>,
    charged: usize,
    peak: usize,
}

impl Spool {
    /// Writes everything to `out`, freeing each chunk once written.
    pub(super) fn send(&mut self, out: &mut impl Write) -> io::Result<()> {
        while let Some(chunk) = self.chunks.pop_front() {
            out.write_all(&chunk)?;
            self.budget.release(CHUNK, self.privileged);
            self.charged -= CHUNK;
        }
        Ok(())
    }

    /// Drops what was written, to be replaced by an end frame alone.
    pub(super) fn clear(&mut self) {
        self.chunks.clear();
        self.budget.release(self.charged, self.privileged);
        self.charged = 0;
    }
}

impl Write for Spool {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            let room = self.chunks.back().map_or(0, |c| CHUNK - c.len());
            if room == 0 {
                self.budget.charge(CHUNK, self.privileged, self.charged)?;
                self.chunks.push_back(Vec::with_capacity(CHUNK));
                self.charged += CHUNK;
                self.peak = self.peak.max(self.charged);
                continue;
            }
            let (now, rest) = data.split_at(room.min(data.len()));
            self.chunks
                .back_mut()
                .expect("a chunk")
                .extend_from_slice(now);
            data = rest;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.clear();
        if self.peak >= GIVE_BACK_ABOVE {
            give_back();
        }
    }
}

/// Returns free heap memory to the system. memstatd uses one malloc arena
/// (bin/memstatd.rs); glibc keeps what a large answer freed unless told.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn give_back() {
    // SAFETY: malloc_trim only releases free memory; any thread may call it.
    unsafe { libc::malloc_trim(0) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_back() {}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(spool: &mut Spool, bytes: usize) -> io::Result<()> {
        spool.write_all(&vec![b'x'; bytes])
    }

    #[test]
    fn spools_share_the_budget_and_give_it_back_as_they_are_sent() {
        let b = Budget::new(4 * CHUNK);
        let building = b
            .build(true, Instant::now() + Duration::from_secs(1))
            .unwrap();
        let mut one = building.spool();
        write(&mut one, 3 * CHUNK).unwrap();
        let mut two = building.spool();
        let e = write(&mut two, 2 * CHUNK).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::OutOfMemory);
        assert!(e.to_string().contains("have not read yet"), "{e}");
        let mut sent = Vec::new();
        one.send(&mut sent).unwrap();
        assert_eq!(sent.len(), 3 * CHUNK);
        assert_eq!(b.used().bytes, CHUNK, "two's first chunk");
        drop(two);
        assert_eq!(b.used().bytes, 0);
    }

    #[test]
    fn an_answer_larger_than_the_budget_says_so() {
        let b = Budget::new(4 * CHUNK);
        let building = b.build(true, Instant::now()).unwrap();
        let mut s = building.spool();
        let e = write(&mut s, 5 * CHUNK).unwrap_err();
        assert!(e.to_string().contains("the answer is larger than"), "{e}");
        s.clear();
        assert_eq!(b.used().bytes, 0);
    }

    #[test]
    fn other_users_hold_at_most_half() {
        let b = Budget::new(4 * CHUNK);
        let deadline = Instant::now() + Duration::from_secs(1);
        let user = b.build(false, deadline).unwrap();
        let mut s = user.spool();
        write(&mut s, 2 * CHUNK).unwrap();
        assert!(write(&mut user.spool(), 1).is_err());
        let root = b.build(true, deadline).unwrap();
        write(&mut root.spool(), 2 * CHUNK).unwrap();
    }

    #[test]
    fn one_place_to_build_is_kept_for_root() {
        let b = Budget::new(CHUNK);
        let soon = Instant::now() + Duration::from_millis(50);
        let user = b.build(false, soon).unwrap();
        let e = b.build(false, soon).err().unwrap();
        assert!(e.contains("ran past its time limit"), "{e}");
        let root = b.build(true, soon).unwrap();
        assert!(b.build(true, soon).is_err(), "{BUILDING} at most");
        drop(user);
        assert!(b.build(true, soon).is_ok());
        drop(root);
        b.close(Duration::from_secs(1));
        assert_eq!(b.used().building, 0);
        let e = b.build(true, soon).err().unwrap();
        assert_eq!(e, "memstatd is stopping");
    }
}

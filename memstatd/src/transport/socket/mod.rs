//! The host transport: a Unix stream socket carrying the dump call, with the
//! caller's identity from SO_PEERCRED. Bounded: a request's size and time,
//! the clients served at once (per UID, with places kept for root), the
//! memory of answers in flight, and the log lines clients cause. A client
//! that misbehaves or vanishes costs its own thread, never the daemon.

mod answer;
mod budget;
mod client;
mod client_log;
mod deadline;
mod dir;
mod slots;

pub use client::{request, request_within, RequestError, DEFAULT_TIMEOUT};

use crate::service::permission::{self, Access};
use crate::service::{Caller, Service};
use budget::Budget;
use slots::Slots;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where memstatd listens unless told otherwise.
pub const DEFAULT_PATH: &str = "/run/memstat/memstatd.sock";

/// What one daemon gives its clients; the defaults fit a device.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Clients served at once; more get a "busy" answer at once. A quarter
    /// of them (at least one) are kept for root.
    pub max_clients: usize,
    /// Time from accepting a client to the end of its answer.
    pub request_time: Duration,
    /// Bytes of answers held for clients at once; other users than root
    /// share half of it.
    pub answer_memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_clients: 16,
            request_time: Duration::from_secs(10),
            answer_memory: 64 << 20,
        }
    }
}

/// A bound socket; the file is removed when this is dropped.
pub struct Socket {
    listener: UnixListener,
    path: PathBuf,
    _bound: dir::Bound,
}

impl Socket {
    /// Binds `path` with mode 0666 (callers are told apart by their
    /// credentials, not by file permissions) in a directory that only root
    /// or memstatd's user can change. A stale socket left by a daemon that
    /// died is replaced; a live one is an error.
    pub fn bind(path: &Path) -> io::Result<Self> {
        let (listener, bound) = dir::bind(path)?;
        Ok(Socket {
            listener,
            path: path.to_owned(),
            _bound: bound,
        })
    }

    /// The socket file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves until `stop` becomes readable, then waits for the answers
    /// being built (state changes among them), not for clients still
    /// sending or reading: once this returns, no client holds `service`.
    pub fn serve(
        &self,
        service: &Arc<Service>,
        limits: Limits,
        stop: BorrowedFd<'_>,
    ) -> io::Result<()> {
        let slots = Slots::new(limits.max_clients);
        let budget = Budget::new(limits.answer_memory);
        loop {
            if wait_readable(self.listener.as_fd(), stop)? {
                break;
            }
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if is_transient(&e) => {
                    // Out of descriptors or memory: let clients finish first.
                    log::warn!("accept: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let deadline = Instant::now() + limits.request_time;
            let caller = match peer(&stream) {
                Ok(c) => c,
                Err(e) => {
                    client_log::log(log::Level::Warn, format_args!("SO_PEERCRED: {e}"));
                    continue;
                }
            };
            let slot = match slots.take(caller.uid, caller.access == Access::Full) {
                Ok(s) => s,
                Err(why) => {
                    answer::refuse(&stream, caller, &why);
                    continue;
                }
            };
            let (service, budget) = (Arc::downgrade(service), Arc::clone(&budget));
            let limit = limits.request_time;
            let spawned = std::thread::Builder::new()
                .name("memstat-client".into())
                .spawn(move || {
                    let _slot = slot;
                    answer::handle(stream, caller, &service, &budget, deadline, limit);
                });
            if let Err(e) = spawned {
                log::warn!("cannot start a client thread: {e}");
            }
        }
        budget.close(limits.request_time);
        Ok(())
    }
}

/// Errors of one accept that leave the listener usable.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::EINTR
                | libc::EMFILE
                | libc::ENFILE
                | libc::ENOBUFS
                | libc::ENOMEM
        )
    )
}

/// Blocks until `listener` has a client (false) or `stop` is readable (true).
fn wait_readable(listener: BorrowedFd<'_>, stop: BorrowedFd<'_>) -> io::Result<bool> {
    let mut fds = [
        libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: stop.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: fds is a valid array of two pollfds for the call's duration.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n >= 0 {
            return Ok(fds[1].revents != 0);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

fn peer(stream: &UnixStream) -> io::Result<Caller> {
    let cred = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(io::Error::from)?;
    Ok(Caller {
        uid: cred.uid(),
        pid: cred.pid(),
        access: permission::socket_peer(cred.uid()),
    })
}

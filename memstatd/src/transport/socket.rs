//! The host transport: a Unix stream socket carrying the dump call, with the
//! caller's identity from SO_PEERCRED. Bounded: a request's size, the
//! clients served at once, and the time one request may take. A client that
//! misbehaves or vanishes costs its own thread, never the daemon.

use super::protocol::{self, FrameWriter, Status};
use crate::service::{Caller, DumpError, Outcome, Service};
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where memstatd listens unless told otherwise.
pub const DEFAULT_PATH: &str = "/run/memstat/memstatd.sock";

/// What one daemon gives its clients; the defaults fit a device.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Clients served at once; more get a "busy" answer at once.
    pub max_clients: usize,
    /// Time from accepting a client to the end of its answer.
    pub request_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_clients: 16,
            request_time: Duration::from_secs(10),
        }
    }
}

/// A bound socket; the file is removed when this is dropped.
pub struct Socket {
    listener: UnixListener,
    path: PathBuf,
}

impl Socket {
    /// Binds `path` with mode 0666 (callers are told apart by their
    /// credentials, not by file permissions). A stale socket left by a
    /// daemon that died is replaced; a live one is an error.
    pub fn bind(path: &Path) -> io::Result<Self> {
        if let Some(dir) = path.parent() {
            if !dir.exists() {
                fs::create_dir_all(dir)?;
                fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
            }
        }
        if let Ok(meta) = path.symlink_metadata() {
            if !meta.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
            if UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("another memstatd is serving on {}", path.display()),
                ));
            }
            fs::remove_file(path)?;
        }
        let listener = UnixListener::bind(path)?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o666))?;
        Ok(Socket {
            listener,
            path: path.to_owned(),
        })
    }

    /// The socket file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves until `stop` becomes readable, then waits for the requests in
    /// flight (each ends within `limits.request_time`).
    pub fn serve(
        &self,
        service: &Arc<Service>,
        limits: Limits,
        stop: BorrowedFd<'_>,
    ) -> io::Result<()> {
        let active = Arc::new(AtomicUsize::new(0));
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
            if active.fetch_add(1, Ordering::SeqCst) >= limits.max_clients {
                active.fetch_sub(1, Ordering::SeqCst);
                refuse(stream, limits.max_clients);
                continue;
            }
            let slot = Slot(Arc::clone(&active));
            let service = Arc::clone(service);
            let spawned = std::thread::Builder::new()
                .name("memstat-client".into())
                .spawn(move || {
                    let _slot = slot;
                    handle(stream, &service, limits.request_time);
                });
            if let Err(e) = spawned {
                log::warn!("cannot start a client thread: {e}");
            }
        }
        let waited = Instant::now();
        while active.load(Ordering::SeqCst) > 0 && waited.elapsed() < limits.request_time {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// A client's place among the `max_clients`, given back when its thread
/// ends, however it ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
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

fn refuse(stream: UnixStream, max: usize) {
    let message = format!("memstatd is busy: {max} clients are being served; try again");
    let out = Deadlined::new(&stream, Instant::now() + Duration::from_millis(100));
    let _ = FrameWriter::new(out).finish(Status::Unavailable, &message);
}

fn handle(stream: UnixStream, service: &Service, limit: Duration) {
    let deadline = Instant::now() + limit;
    let caller = match peer(&stream) {
        Ok(c) => c,
        Err(e) => {
            log::warn!("SO_PEERCRED: {e}");
            return;
        }
    };
    let who = format!("uid {} pid {}", caller.uid, caller.pid);
    let args = match protocol::read_request(&mut Deadlined::new(&stream, deadline)) {
        Ok(args) => args,
        Err(why) => {
            log::info!("{who}: {why}");
            let out = Deadlined::new(&stream, Instant::now() + GRACE);
            let _ = FrameWriter::new(out).finish(Status::Unavailable, &why);
            return;
        }
    };
    let mut out = FrameWriter::new(Deadlined::new(&stream, deadline));
    let (status, message) = match service.dump(&mut out, &args, caller) {
        Ok(Outcome::Done) => (Status::Ok, String::new()),
        Ok(Outcome::ThresholdCrossed) => (
            Status::ThresholdCrossed,
            "a --fail-if threshold was crossed".into(),
        ),
        Err(DumpError::Usage(m)) => (Status::Usage, m),
        Err(e @ DumpError::Denied(_)) => (Status::Denied, e.to_string()),
        Err(DumpError::Failed(m)) => (Status::Failed, m),
        Err(DumpError::Output(e)) if e.kind() == io::ErrorKind::TimedOut => {
            log::info!("{who}: {e}");
            // What was sent stands; the end frame says why the rest is not.
            let out = Deadlined::new(&stream, Instant::now() + GRACE);
            let why = format!(
                "the request ran past its time limit of {} s",
                limit.as_secs()
            );
            let _ = FrameWriter::new(out).finish(Status::Unavailable, &why);
            return;
        }
        Err(DumpError::Output(e)) => {
            log::info!("{who}: output abandoned: {e}");
            return;
        }
    };
    if let Err(e) = out.finish(status, &message) {
        log::info!("{who}: client gone: {e}");
    }
}

/// How long an end frame may take once a request's own time is up.
const GRACE: Duration = Duration::from_millis(100);

/// A stream whose reads and writes all end by one deadline: each call
/// waits at most the time left, so a client that trickles bytes cannot hold
/// its slot beyond the request's time limit.
struct Deadlined<'a> {
    stream: &'a UnixStream,
    deadline: Instant,
}

impl<'a> Deadlined<'a> {
    fn new(stream: &'a UnixStream, deadline: Instant) -> Self {
        Deadlined { stream, deadline }
    }

    fn time_left(&self) -> io::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request ran past its time limit",
            ));
        }
        Ok(left)
    }
}

impl Read for Deadlined<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.time_left()?))?;
        match (&mut &*self.stream).read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                Err(io::Error::new(io::ErrorKind::TimedOut, e))
            }
            r => r,
        }
    }
}

impl Write for Deadlined<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.time_left()?))?;
        match (&mut &*self.stream).write(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                Err(io::Error::new(io::ErrorKind::TimedOut, e))
            }
            r => r,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn peer(stream: &UnixStream) -> io::Result<Caller> {
    let cred = nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(io::Error::from)?;
    Ok(Caller {
        uid: cred.uid(),
        pid: cred.pid(),
        access: crate::service::permission::socket_peer(cred.uid()),
    })
}

/// How long a client waits for the daemon to take or answer a request.
const CLIENT_PATIENCE: Duration = Duration::from_secs(60);

/// Sends `args` to the daemon at `path` and copies its output to `out`.
pub fn request(path: &Path, args: &[String], out: &mut impl Write) -> io::Result<(Status, String)> {
    let stream = UnixStream::connect(path)?;
    // The daemon ends every request within its limit; this only guards
    // against a daemon that stopped answering.
    stream.set_read_timeout(Some(CLIENT_PATIENCE))?;
    stream.set_write_timeout(Some(CLIENT_PATIENCE))?;
    let sent = protocol::write_request(&mut &stream, args);
    // A daemon that refuses a client (busy) answers and closes without
    // reading: its answer is still there to read after a failed write.
    let mut reader = io::BufReader::new(&stream);
    match (sent, protocol::read_response(&mut reader, out)) {
        (_, Ok(answer)) => Ok(answer),
        (Err(e), Err(_)) | (Ok(()), Err(e)) => Err(e),
    }
}

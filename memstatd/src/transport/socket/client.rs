//! The client's end of the socket (the memstat CLI): a request that fails
//! at once when it is too large, goes only to a server that is root or the
//! owner of the socket's directory (SO_PEERCRED, checked before anything is
//! sent), and ends by its own deadline whatever the server does.

use super::deadline::Deadlined;
use crate::transport::protocol::{self, Status};
use nix::sys::socket::{self as sock, sockopt};
use std::fmt;
use std::io::{self, BufReader, ErrorKind, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a client waits by default: memstatd's default request limit
/// (10 s) and a margin.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(12);

/// Why a request got no answer; its status is the CLI's exit status.
#[derive(Debug)]
pub struct RequestError {
    status: Status,
    message: String,
}

impl RequestError {
    /// [`Status::Usage`] for arguments that cannot be sent, else
    /// [`Status::Unavailable`].
    pub fn status(&self) -> Status {
        self.status
    }

    fn unavailable(message: String) -> Self {
        RequestError {
            status: Status::Unavailable,
            message,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RequestError {}

/// [`request_within`] the default timeout.
pub fn request(
    path: &Path,
    args: &[String],
    out: &mut impl Write,
) -> Result<(Status, String), RequestError> {
    request_within(path, args, out, DEFAULT_TIMEOUT)
}

/// Sends `args` to the daemon at `path` and copies its output to `out`;
/// returns the status and message the answer ended with. Everything,
/// connecting included, ends within `timeout`.
pub fn request_within(
    path: &Path,
    args: &[String],
    out: &mut impl Write,
    timeout: Duration,
) -> Result<(Status, String), RequestError> {
    let wire = protocol::encode_request(args).map_err(|message| RequestError {
        status: Status::Usage,
        message,
    })?;
    let deadline = Instant::now() + timeout;
    let stream = connect(path, timeout).map_err(|e| connect_error(path, &e))?;
    let server = check_server(&stream, path)?;
    let silent = |what: &str| {
        RequestError::unavailable(format!(
            "memstatd (pid {pid}) on {path} {what} within {secs} s; is it stopped (kill -CONT \
             {pid}) or hung? A memstatd with a longer --request-timeout needs memstat --timeout",
            pid = server.pid,
            path = path.display(),
            secs = timeout.as_secs_f64(),
        ))
    };
    let sent = Deadlined::new(&stream, deadline).write_all(&wire);
    // A daemon that refuses a client (busy) answers and closes without
    // reading: its answer is still there to read after a failed write.
    let mut reader = BufReader::new(Deadlined::new(&stream, deadline));
    match (sent, protocol::read_response(&mut reader, out)) {
        (_, Ok(answer)) => Ok(answer),
        (_, Err(e)) if e.kind() == ErrorKind::TimedOut => {
            Err(silent("accepted the connection but did not answer"))
        }
        (Err(e), Err(_)) | (Ok(()), Err(e)) => Err(RequestError::unavailable(format!(
            "talking to memstatd on {}: {e}",
            path.display()
        ))),
    }
}

/// Connects within `timeout`: a server that stopped accepting has a full
/// queue, where a plain connect would wait for as long as it stays stopped.
pub(super) fn connect(path: &Path, timeout: Duration) -> io::Result<UnixStream> {
    let fd: OwnedFd = sock::socket(
        sock::AddressFamily::Unix,
        sock::SockType::Stream,
        sock::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let stream = UnixStream::from(fd);
    stream.set_write_timeout(Some(timeout))?;
    let addr = sock::UnixAddr::new(path)?;
    match sock::connect(stream.as_raw_fd(), &addr) {
        Ok(()) => Ok(stream),
        Err(nix::errno::Errno::EAGAIN) => Err(io::Error::new(
            ErrorKind::TimedOut,
            format!(
                "memstatd's queue of new clients stayed full for {} s; is it stopped?",
                timeout.as_secs_f64()
            ),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Who serves on the socket.
struct Server {
    pid: i32,
}

/// The server must be root, or the owner of the socket's directory, who
/// controls that path anyway. Anyone else listening there is not memstatd,
/// and is sent nothing.
fn check_server(stream: &UnixStream, path: &Path) -> Result<Server, RequestError> {
    let cred = sock::getsockopt(stream, sockopt::PeerCredentials).map_err(|e| {
        RequestError::unavailable(format!(
            "cannot tell who serves on {} (SO_PEERCRED: {e}); nothing was sent",
            path.display()
        ))
    })?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let owner = std::fs::metadata(dir).map(|m| m.uid()).unwrap_or(0);
    if cred.uid() == 0 || cred.uid() == owner {
        return Ok(Server { pid: cred.pid() });
    }
    Err(RequestError::unavailable(format!(
        "the process serving on {} (pid {}) runs as uid {}, neither root nor uid {owner} who \
         owns {}: it is not memstatd, and memstat sent it nothing. See who listens there \
         (ss -xlp) and start memstatd as root",
        path.display(),
        cred.pid(),
        cred.uid(),
        dir.display()
    )))
}

/// What went wrong reaching the daemon, and what to do about it.
fn connect_error(path: &Path, e: &io::Error) -> RequestError {
    RequestError::unavailable(match e.kind() {
        ErrorKind::NotFound | ErrorKind::ConnectionRefused => format!(
            "no memstatd is serving on {} ({e}). Start it as root: `memstatd --host` \
             (it stays in the foreground; add & or run it under a supervisor), or give \
             another socket with --socket PATH",
            path.display()
        ),
        ErrorKind::PermissionDenied => format!(
            "cannot connect to {}: {e}; the socket is mode 0666, so check the permissions \
             of its directory",
            path.display()
        ),
        _ => format!("cannot connect to memstatd on {}: {e}", path.display()),
    })
}

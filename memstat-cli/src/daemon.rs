//! How memstat reaches memstatd: its Unix socket on Linux, its binder
//! service `memstat` on Android. Either way a request carries the dump
//! arguments and brings back the output, then the status and message it
//! ended with.

use memstatd::transport::protocol::Status;
use std::io::Write;
use std::path::PathBuf;

#[cfg(not(target_os = "android"))]
pub struct Daemon {
    socket: PathBuf,
}

#[cfg(not(target_os = "android"))]
impl Daemon {
    /// The socket of `--socket`, else `$MEMSTAT_SOCKET`, else the default.
    pub fn find(socket: Option<PathBuf>) -> Result<Self, (Status, String)> {
        let socket = socket
            .or_else(|| std::env::var_os("MEMSTAT_SOCKET").map(PathBuf::from))
            .unwrap_or_else(|| memstatd::transport::socket::DEFAULT_PATH.into());
        Ok(Daemon { socket })
    }

    /// Copies the dump to `out`; an error says why memstatd could not be asked.
    pub fn request(
        &self,
        args: &[String],
        out: &mut impl Write,
    ) -> Result<(Status, String), String> {
        memstatd::transport::socket::request(&self.socket, args, out)
            .map_err(|e| connect_error(&self.socket, &e))
    }
}

/// What went wrong talking to the daemon, and what to do about it.
#[cfg(not(target_os = "android"))]
fn connect_error(socket: &std::path::Path, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::ConnectionRefused => format!(
            "no memstatd is serving on {} ({e}). Start it as root: `memstatd --host` \
             (it stays in the foreground; add & or run it under a supervisor), or give \
             another socket with --socket PATH",
            socket.display()
        ),
        ErrorKind::PermissionDenied => format!(
            "cannot connect to {}: {e}; the socket is mode 0666, so check the permissions \
             of its directory",
            socket.display()
        ),
        _ => format!("talking to memstatd on {}: {e}", socket.display()),
    }
}

#[cfg(target_os = "android")]
pub struct Daemon(memstatd::transport::binder::Client);

#[cfg(target_os = "android")]
impl Daemon {
    /// The binder service, waited for a few seconds.
    pub fn find(socket: Option<PathBuf>) -> Result<Self, (Status, String)> {
        if socket.is_some() {
            return Err((
                Status::Usage,
                "--socket is for Linux hosts; on Android memstat talks to memstatd's binder \
                 service memstat"
                    .into(),
            ));
        }
        memstatd::transport::binder::Client::connect()
            .map(Daemon)
            .map_err(|m| (Status::Unavailable, m))
    }

    /// Copies the dump to `out`; an error says why memstatd could not be asked.
    pub fn request(
        &self,
        args: &[String],
        out: &mut impl Write,
    ) -> Result<(Status, String), String> {
        self.0
            .request(args, out)
            .map_err(|e| format!("talking to memstatd's binder service memstat: {e}"))
    }
}

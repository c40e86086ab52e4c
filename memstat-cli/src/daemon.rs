//! How memstat reaches memstatd: its Unix socket on Linux, its binder
//! service `memstat` on Android. Either way a request carries the dump
//! arguments and brings back the output, then the status and message it
//! ended with.

use memstatd::transport::protocol::Status;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[cfg(not(target_os = "android"))]
pub struct Daemon {
    socket: PathBuf,
    timeout: Duration,
}

#[cfg(not(target_os = "android"))]
impl Daemon {
    /// The socket of `--socket`, else `$MEMSTAT_SOCKET`, else the default;
    /// answers awaited for `timeout`, else the default.
    pub fn find(
        socket: Option<PathBuf>,
        timeout: Option<Duration>,
    ) -> Result<Self, (Status, String)> {
        use memstatd::transport::socket;
        let socket = socket
            .or_else(|| std::env::var_os("MEMSTAT_SOCKET").map(PathBuf::from))
            .unwrap_or_else(|| socket::DEFAULT_PATH.into());
        let timeout = timeout.unwrap_or(socket::DEFAULT_TIMEOUT);
        Ok(Daemon { socket, timeout })
    }

    /// Copies the dump to `out`; an error says why memstatd could not be
    /// asked, with the status to exit with.
    pub fn request(
        &self,
        args: &[String],
        out: &mut impl Write,
    ) -> Result<(Status, String), (Status, String)> {
        memstatd::transport::socket::request_within(&self.socket, args, out, self.timeout)
            .map_err(|e| (e.status(), e.to_string()))
    }
}

#[cfg(target_os = "android")]
pub struct Daemon(memstatd::transport::binder::Client);

#[cfg(target_os = "android")]
impl Daemon {
    /// The binder service, waited for a few seconds.
    pub fn find(
        socket: Option<PathBuf>,
        timeout: Option<Duration>,
    ) -> Result<Self, (Status, String)> {
        if socket.is_some() || timeout.is_some() {
            return Err((
                Status::Usage,
                "--socket and --timeout are for Linux hosts; on Android memstat talks to \
                 memstatd's binder service memstat"
                    .into(),
            ));
        }
        memstatd::transport::binder::Client::connect()
            .map(Daemon)
            .map_err(|m| (Status::Unavailable, m))
    }

    /// Copies the dump to `out`; an error says why memstatd could not be
    /// asked, with the status to exit with.
    pub fn request(
        &self,
        args: &[String],
        out: &mut impl Write,
    ) -> Result<(Status, String), (Status, String)> {
        self.0.request(args, out).map_err(|e| {
            (
                Status::Unavailable,
                format!("talking to memstatd's binder service memstat: {e}"),
            )
        })
    }
}

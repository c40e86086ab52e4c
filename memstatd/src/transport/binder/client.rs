//! The memstat CLI's side of `memstat`: the dump written into a pipe, as
//! dumpsys has it written, with how it ended.

use super::libbinder::check_interface;
use super::SERVICE_NAME;
use crate::transport::aidl::memstat::IMemStat::IMemStat;
use crate::transport::dump_fd::poll_until;
use crate::transport::protocol::Status as End;
use binder::{ParcelFileDescriptor, StatusCode, Strong};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// How long the CLI waits for memstatd to take or answer a request, as on
/// the socket.
const CLIENT_PATIENCE: Duration = Duration::from_secs(60);

/// How long the CLI waits for memstatd's service to be registered: what
/// libbinder's getService, now deprecated, used to wait.
const REGISTRATION_PATIENCE: Duration = Duration::from_secs(5);

/// memstatd's binder service, as the memstat CLI reaches it.
pub struct Client(Strong<dyn IMemStat>);

impl Client {
    /// Looks the service up, waiting up to [`REGISTRATION_PATIENCE`] for
    /// memstatd to register it (at boot, or just after `start memstatd`).
    pub fn connect() -> Result<Self, String> {
        let started = Instant::now();
        loop {
            match check_interface::<dyn IMemStat>(SERVICE_NAME) {
                Ok(service) => return Ok(Client(service)),
                Err(StatusCode::NAME_NOT_FOUND) if started.elapsed() < REGISTRATION_PATIENCE => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(StatusCode::NAME_NOT_FOUND) => {
                    return Err(format!(
                        "no memstatd: the binder service {SERVICE_NAME:?} did not appear within \
                         {} s. Start it as root with `start memstatd`; `logcat -s memstatd` \
                         says why it is not running",
                        REGISTRATION_PATIENCE.as_secs()
                    ))
                }
                Err(e) => {
                    return Err(format!(
                        "cannot reach memstatd's binder service {SERVICE_NAME:?}: {e:?}"
                    ))
                }
            }
        }
    }

    /// The dump of `args`, written to a pipe as dumpsys has it written, copied
    /// to `out`; then how it ended. An error is one of `out`, or a memstatd
    /// that stopped answering.
    pub fn request(&self, args: &[String], out: &mut impl Write) -> io::Result<(End, String)> {
        let (read, write) = pipe()?;
        let service = self.0.clone();
        let args = args.to_vec();
        // The call returns when the dump is written; its pipe end closes then.
        let call = std::thread::spawn(move || {
            service.dumpTo(&ParcelFileDescriptor::new(File::from(write)), &args)
        });
        copy(File::from(read), out)?;
        let answer = call
            .join()
            .map_err(|_| io::Error::other("the binder call's thread panicked"))?;
        Ok(match answer {
            Ok(r) => (
                End::from_byte(u8::try_from(r.status).unwrap_or(u8::MAX)).unwrap_or(End::Failed),
                r.message,
            ),
            Err(status) => (
                End::Unavailable,
                format!("memstatd's binder service {SERVICE_NAME:?} failed the call: {status}"),
            ),
        })
    }
}

/// Copies `from` to `out` until every writer has closed its end.
fn copy(mut from: File, out: &mut impl Write) -> io::Result<()> {
    let mut buf = [0u8; 64 * 1024];
    loop {
        wait_readable(&from, CLIENT_PATIENCE)?;
        match from.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => out.write_all(&buf[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

fn wait_readable(f: &File, patience: Duration) -> io::Result<()> {
    if poll_until(f.as_fd(), libc::POLLIN, Instant::now() + patience)? {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "memstatd sent nothing for {} s; `logcat -s memstatd` may say why",
                patience.as_secs()
            ),
        ))
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors pipe2 returns.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both are new descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

//! A dump's output fd as binder hands it over (a pipe from dumpsys,
//! dumpstate or the memstat CLI), written within the request's deadline: a
//! reader that stops reading but keeps its end open holds a binder thread
//! for at most the request's time limit, as on the socket.

use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

/// PIPE_BUF: once poll says a pipe has room, a write this size goes through
/// without blocking.
const CHUNK: usize = 4096;

/// Waits until `fd` has one of `events`, an error or a hang-up (true), or
/// until `deadline` (false).
pub(crate) fn poll_until(
    fd: BorrowedFd<'_>,
    events: libc::c_short,
    deadline: Instant,
) -> io::Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: p is one valid pollfd for the call's duration.
        match unsafe { libc::poll(&mut p, 1, ms) } {
            n if n > 0 => return Ok(true),
            0 => continue,
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }
}

/// A dump's output fd that gives up at its deadline: written to only when
/// poll says it has room, so no write blocks past it.
pub struct DumpFd<'a> {
    fd: BorrowedFd<'a>,
    deadline: Instant,
}

impl<'a> DumpFd<'a> {
    /// `fd`, to be written within `limit` from now.
    pub fn new(fd: BorrowedFd<'a>, limit: Duration) -> Self {
        DumpFd {
            fd,
            deadline: Instant::now() + limit,
        }
    }

    fn wait_writable(&self) -> io::Result<()> {
        // Writable, or the reader is gone (the write then says so).
        if poll_until(self.fd, libc::POLLOUT, self.deadline)? {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request ran past its time limit",
            ))
        }
    }
}

impl Write for DumpFd<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        loop {
            self.wait_writable()?;
            let len = buf.len().min(CHUNK);
            // SAFETY: buf holds at least len readable bytes; the fd is
            // borrowed for self's lifetime.
            let n = unsafe { libc::write(self.fd.as_raw_fd(), buf.as_ptr().cast(), len) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if !matches!(
                e.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
            ) {
                return Err(e);
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::{AsFd, FromRawFd, OwnedFd};

    fn pipe() -> (std::fs::File, OwnedFd) {
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors pipe2 returns.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both are new descriptors owned by nobody else.
        unsafe {
            (
                std::fs::File::from_raw_fd(fds[0]),
                OwnedFd::from_raw_fd(fds[1]),
            )
        }
    }

    #[test]
    fn everything_written_reaches_a_reader() {
        let (mut r, w) = pipe();
        let data: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let expected = data.clone();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            r.read_to_end(&mut got).expect("read");
            got
        });
        DumpFd::new(w.as_fd(), Duration::from_secs(10))
            .write_all(&data)
            .expect("write");
        drop(w);
        assert_eq!(reader.join().expect("reader"), expected);
    }

    #[test]
    fn a_reader_that_stops_reading_costs_at_most_the_limit() {
        let (_r, w) = pipe();
        let started = Instant::now();
        let err = DumpFd::new(w.as_fd(), Duration::from_millis(300))
            .write_all(&vec![0u8; 1 << 20])
            .expect_err("a full pipe cannot take 1 MiB");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let took = started.elapsed();
        assert!(
            (Duration::from_millis(300)..Duration::from_secs(3)).contains(&took),
            "{took:?}"
        );
    }

    #[test]
    fn a_reader_that_went_away_is_an_error_not_a_hang() {
        let (r, w) = pipe();
        drop(r);
        let err = DumpFd::new(w.as_fd(), Duration::from_secs(10))
            .write_all(b"report")
            .expect_err("nobody reads");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}

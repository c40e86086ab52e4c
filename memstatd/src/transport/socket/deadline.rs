//! A stream whose reads and writes all end by one deadline, for both ends
//! of the socket: each call waits at most the time left, so a peer that
//! trickles bytes, stops reading or stops answering holds the other end no
//! longer than the deadline.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Instant;

pub(super) struct Deadlined<'a> {
    stream: &'a UnixStream,
    deadline: Instant,
}

impl<'a> Deadlined<'a> {
    pub(super) fn new(stream: &'a UnixStream, deadline: Instant) -> Self {
        Deadlined { stream, deadline }
    }

    fn time_left(&self) -> io::Result<std::time::Duration> {
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

/// A socket timeout is EAGAIN; callers tell time-outs apart by this kind.
fn timed_out(r: io::Result<usize>) -> io::Result<usize> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            Err(io::Error::new(io::ErrorKind::TimedOut, e))
        }
        r => r,
    }
}

impl Read for Deadlined<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.time_left()?))?;
        timed_out((&mut &*self.stream).read(buf))
    }
}

impl Write for Deadlined<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.time_left()?))?;
        timed_out((&mut &*self.stream).write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

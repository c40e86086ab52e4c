//! The host socket's wire format (`docs/socket.md`).
//!
//! Request: the magic `MSTAT\x01`, a u32 little-endian payload length (at
//! most [`MAX_REQUEST`]), then the dump arguments, each UTF-8 and ended by a
//! NUL byte.
//!
//! Response: frames of a kind byte and a u32 little-endian length. `D`
//! frames carry the dump's output (the CLI's stdout); the one `E` frame ends
//! the response: a status byte, then a message for stderr.

use std::io::{self, Read, Write};

pub(crate) const MAGIC: &[u8; 6] = b"MSTAT\x01";
/// Largest request payload: far above any real argument list.
pub(crate) const MAX_REQUEST: usize = 64 * 1024;
/// Largest data frame the daemon writes (the CLI accepts any up to 16 MiB).
const FRAME: usize = 64 * 1024;
const MAX_FRAME: usize = 16 << 20;

const DATA: u8 = b'D';
const END: u8 = b'E';

/// How a request ended; the CLI exits with the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Status {
    /// The dump ran to its end.
    Ok = 0,
    /// A `--fail-if` threshold was crossed.
    ThresholdCrossed = 1,
    /// Bad arguments.
    Usage = 2,
    /// The caller may not do what it asked.
    Denied = 3,
    /// The daemon could not do what was asked.
    Failed = 4,
    /// The request never ran: no daemon, busy, malformed, timed out.
    Unavailable = 5,
}

impl Status {
    pub(crate) fn from_byte(b: u8) -> Option<Self> {
        [
            Status::Ok,
            Status::ThresholdCrossed,
            Status::Usage,
            Status::Denied,
            Status::Failed,
            Status::Unavailable,
        ]
        .into_iter()
        .find(|s| *s as u8 == b)
    }
}

/// How a dump ended, as the status and message a client gets; an output
/// error comes back for the transport to word, as only it knows why its
/// output failed.
pub(crate) fn ending(
    dumped: Result<crate::service::Outcome, crate::service::DumpError>,
) -> Result<(Status, String), io::Error> {
    use crate::service::{DumpError, Outcome};
    Ok(match dumped {
        Ok(Outcome::Done) => (Status::Ok, String::new()),
        Ok(Outcome::ThresholdCrossed) => (
            Status::ThresholdCrossed,
            "a --fail-if threshold was crossed, or could not be decided (the output says which)"
                .into(),
        ),
        Err(DumpError::Usage(m)) => (Status::Usage, m),
        Err(e @ DumpError::Denied(_)) => (Status::Denied, e.to_string()),
        Err(DumpError::Failed(m)) => (Status::Failed, m),
        Err(DumpError::Output(e)) => return Err(e),
    })
}

/// The request for `args`, ready to send; an error names the argument
/// that cannot be sent, or the size over [`MAX_REQUEST`].
pub(crate) fn encode_request(args: &[String]) -> Result<Vec<u8>, String> {
    let mut payload = Vec::new();
    for a in args {
        if a.contains('\0') {
            return Err(format!(
                "argument {} contains a NUL byte",
                excerpt(a.as_bytes())
            ));
        }
        payload.extend_from_slice(a.as_bytes());
        payload.push(0);
    }
    if payload.len() > MAX_REQUEST {
        return Err(format!(
            "the arguments take {} bytes, more than memstatd's request limit of \
             {MAX_REQUEST} bytes; ask for fewer UIDs at a time",
            payload.len()
        ));
    }
    let mut msg = Vec::with_capacity(10 + payload.len());
    msg.extend_from_slice(MAGIC);
    msg.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    msg.extend_from_slice(&payload);
    Ok(msg)
}

/// Characters of client input quoted in messages and logs.
const EXCERPT: usize = 80;

/// Client input as messages and logs quote it: at most [`EXCERPT`]
/// characters, escaped, and the full size when cut.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(EXCERPT).collect();
    if chars.next().is_some() {
        format!("{head:?}... ({} bytes)", bytes.len())
    } else {
        format!("{head:?}")
    }
}

/// Reads one request. Errors say what was wrong with it, for the client.
pub(crate) fn read_request(r: &mut impl Read) -> Result<Vec<String>, String> {
    let mut head = [0u8; 10];
    r.read_exact(&mut head).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => "bad request: it ended before its 10-byte header".into(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            "bad request: no request within the time limit".into()
        }
        _ => format!("bad request: {e}"),
    })?;
    if &head[..6] != MAGIC {
        return Err(
            "bad request: it does not start with the memstat magic \"MSTAT\\x01\" \
                    (use the memstat CLI, or see docs/socket.md)"
                .into(),
        );
    }
    let len = u32::from_le_bytes(head[6..].try_into().expect("4 bytes")) as usize;
    if len > MAX_REQUEST {
        return Err(format!(
            "bad request: {len} bytes of arguments; the limit is {MAX_REQUEST}"
        ));
    }
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload).map_err(|e| {
        format!("bad request: its {len} bytes of arguments did not all arrive: {e}")
    })?;
    if len > 0 && payload[len - 1] != 0 {
        return Err("bad request: the last argument is not ended by a NUL byte".into());
    }
    payload
        .split(|&b| b == 0)
        .take(payload.iter().filter(|&&b| b == 0).count())
        .map(|a| {
            String::from_utf8(a.to_vec())
                .map_err(|_| format!("bad request: argument {} is not UTF-8", excerpt(a)))
        })
        .collect()
}

/// Wraps a dump's output in data frames.
pub(crate) struct FrameWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> FrameWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        FrameWriter {
            inner,
            buf: Vec::with_capacity(FRAME),
        }
    }

    fn emit(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut head = [DATA, 0, 0, 0, 0];
        head[1..].copy_from_slice(&(self.buf.len() as u32).to_le_bytes());
        self.inner.write_all(&head)?;
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Sends what is buffered, then the end frame.
    pub(crate) fn finish(mut self, status: Status, message: &str) -> io::Result<()> {
        self.emit()?;
        let mut end = vec![END, 0, 0, 0, 0, status as u8];
        end.extend_from_slice(message.as_bytes());
        let len = (end.len() - 5) as u32;
        end[1..5].copy_from_slice(&len.to_le_bytes());
        self.inner.write_all(&end)?;
        self.inner.flush()
    }
}

impl<W: Write> Write for FrameWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= FRAME {
            self.emit()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit()?;
        self.inner.flush()
    }
}

/// Reads a response, copying data frames to `out` as they come; returns the
/// end frame's status and message.
pub(crate) fn read_response(
    r: &mut impl Read,
    out: &mut impl Write,
) -> io::Result<(Status, String)> {
    let bad = |what: String| io::Error::new(io::ErrorKind::InvalidData, what);
    loop {
        let mut head = [0u8; 5];
        r.read_exact(&mut head).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => {
                bad("memstatd closed the connection mid-response".into())
            }
            _ => e,
        })?;
        let len = u32::from_le_bytes(head[1..].try_into().expect("4 bytes")) as usize;
        if len > MAX_FRAME {
            return Err(bad(format!("a {len}-byte frame from memstatd")));
        }
        let mut body = vec![0u8; len];
        r.read_exact(&mut body)?;
        match head[0] {
            DATA => out.write_all(&body)?,
            END => {
                let (&code, message) = body
                    .split_first()
                    .ok_or_else(|| bad("an empty end frame".into()))?;
                let status =
                    Status::from_byte(code).ok_or_else(|| bad(format!("unknown status {code}")))?;
                return Ok((status, String::from_utf8_lossy(message).into_owned()));
            }
            k => return Err(bad(format!("unknown frame kind {k:#x}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn requests_round_trip() {
        for args in [strings(&[]), strings(&["--uid", "61001", "--json", ""])] {
            let wire = encode_request(&args).unwrap();
            assert_eq!(read_request(&mut wire.as_slice()).unwrap(), args);
        }
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let mut too_long = MAGIC.to_vec();
        too_long.extend_from_slice(&(MAX_REQUEST as u32 + 1).to_le_bytes());
        let mut unterminated = MAGIC.to_vec();
        unterminated.extend_from_slice(&2u32.to_le_bytes());
        unterminated.extend_from_slice(b"-a");
        let mut not_utf8 = MAGIC.to_vec();
        not_utf8.extend_from_slice(&2u32.to_le_bytes());
        not_utf8.extend_from_slice(b"\xff\0");
        let mut short = MAGIC.to_vec();
        short.extend_from_slice(&9u32.to_le_bytes());
        short.extend_from_slice(b"-a\0");
        for (wire, says) in [
            (b"GET / HTTP/1.1\r\n\r\n".to_vec(), "memstat magic"),
            (b"MST".to_vec(), "ended before its 10-byte header"),
            (too_long, "the limit is 65536"),
            (unterminated, "not ended by a NUL"),
            (not_utf8, "not UTF-8"),
            (short, "did not all arrive"),
        ] {
            let e = read_request(&mut wire.as_slice()).unwrap_err();
            assert!(e.contains(says), "{e}");
        }
        assert!(encode_request(&strings(&["a\0b"])).is_err());
        let huge = encode_request(&strings(&["--uid", &"1,".repeat(MAX_REQUEST / 2)]));
        assert!(huge.unwrap_err().contains("request limit of 65536 bytes"));
    }

    #[test]
    fn client_input_in_messages_is_cut_and_escaped() {
        assert_eq!(excerpt(b"--uid"), "\"--uid\"");
        let mut flood = b"\n\x1b[2J".to_vec();
        flood.extend(vec![0xff; 65_000]);
        let e = excerpt(&flood);
        assert!(e.starts_with("\"\\n\\u{1b}[2J\u{fffd}"), "{e}");
        assert!(e.ends_with("... (65005 bytes)"), "{e}");
        assert!(e.len() < 400, "{}", e.len());
        let mut not_utf8 = MAGIC.to_vec();
        not_utf8.extend_from_slice(&(flood.len() as u32 + 1).to_le_bytes());
        not_utf8.extend_from_slice(&flood);
        not_utf8.push(0);
        let message = read_request(&mut not_utf8.as_slice()).unwrap_err();
        assert!(message.len() < 500, "{message}");
    }

    #[test]
    fn responses_round_trip_in_frames() {
        let mut wire = Vec::new();
        let mut w = FrameWriter::new(&mut wire);
        let big = vec![b'x'; FRAME * 2 + 10];
        w.write_all(&big).unwrap();
        w.write_all(b"tail").unwrap();
        w.finish(Status::ThresholdCrossed, "crossed").unwrap();
        let mut out = Vec::new();
        let (status, msg) = read_response(&mut wire.as_slice(), &mut out).unwrap();
        assert_eq!(
            (status, msg.as_str()),
            (Status::ThresholdCrossed, "crossed")
        );
        assert_eq!(out.len(), big.len() + 4);
        // Cut short, it is an error, not a silent success.
        let cut = &wire[..wire.len() - 3];
        assert!(read_response(&mut &cut[..], &mut Vec::new()).is_err());
    }
}

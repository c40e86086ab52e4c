//! memstat: asks memstatd for a dump and streams it to stdout, dumpsys
//! style. Every argument but the CLI's own goes to the daemon verbatim, so
//! `memstat ARGS` prints exactly what `dumpsys memstat ARGS` does.
//!
//! Exit status: 0 done; 1 a --fail-if threshold was crossed; 2 bad
//! arguments; 3 permission denied; 4 the daemon could not do it; 5 no
//! daemon, or it could not take the request.

mod watch;

use memstatd::transport::protocol::Status;
use memstatd::transport::socket::{request, DEFAULT_PATH};
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

const CLI_USAGE: &str = "\
memstat's own options (the rest go to memstatd):
  --socket PATH          memstatd's socket (default: $MEMSTAT_SOCKET, else
                         /run/memstat/memstatd.sock)
  --watch SECONDS        redraw a top-like view every SECONDS with per-interval
                         deltas and rates (takes --uid, --top, --sort)
  --count N              with --watch, stop after N redraws

exit status: 0 done, 1 a --fail-if threshold crossed, 2 bad arguments,
3 permission denied, 4 memstatd could not do it, 5 no memstatd or it could
not take the request
";

struct Cli {
    socket: PathBuf,
    watch: Option<watch::Watch>,
    args: Vec<String>,
}

fn parse(argv: Vec<String>) -> Result<Cli, String> {
    let mut socket = std::env::var_os("MEMSTAT_SOCKET")
        .map(PathBuf::from)
        .unwrap_or_else(|| DEFAULT_PATH.into());
    let (mut interval, mut count) = (None, None);
    let mut args = Vec::new();
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = |what: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{flag} needs {what}"))
        };
        match flag.as_str() {
            "--socket" => socket = value("a path")?.into(),
            "--watch" => {
                let v = value("a number of seconds")?;
                interval = Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|s| (0.1..=3600.0).contains(s))
                        .ok_or_else(|| {
                            format!("--watch: {v:?} is not a number of seconds from 0.1 to 3600")
                        })?,
                );
            }
            "--count" => {
                let v = value("a number of redraws")?;
                count = Some(v.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    format!("--count: {v:?} is not a number of redraws (1 or more)")
                })?);
            }
            _ => args.push(arg),
        }
    }
    let watch = match (interval, count) {
        (Some(secs), count) => Some(watch::Watch::new(secs, count, &args)?),
        (None, Some(_)) => return Err("--count goes with --watch".into()),
        (None, None) => None,
    };
    Ok(Cli {
        socket,
        watch,
        args,
    })
}

fn main() -> ExitCode {
    let cli = match parse(std::env::args().skip(1).collect()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("memstat: {e}");
            return exit(Status::Usage);
        }
    };
    if let Some(w) = cli.watch {
        return match w.run(&cli.socket) {
            Ok(()) => exit(Status::Ok),
            Err((status, message)) => {
                eprintln!("memstat: {message}");
                exit(status)
            }
        };
    }
    if cli.args.iter().any(|a| a == "-h" || a == "--help") {
        // The daemon's usage text is built in: help needs no daemon.
        print!("{}\n{CLI_USAGE}", memstatd::service::args::USAGE);
        return exit(Status::Ok);
    }
    let mut out = Stdout {
        inner: io::stdout().lock(),
        closed: false,
    };
    let answer = request(&cli.socket, &cli.args, &mut out);
    let _ = out.flush();
    if out.closed {
        // Whoever reads our output stopped (`memstat -a | head`): done.
        return exit(Status::Ok);
    }
    let status = match answer {
        Ok((status, message)) => {
            if status != Status::Ok && !message.is_empty() {
                eprintln!("memstat: {message}");
            }
            status
        }
        Err(e) => {
            eprintln!("memstat: {}", connect_error(&cli.socket, &e));
            Status::Unavailable
        }
    };
    exit(status)
}

/// Standard output that remembers it was closed by the reader.
struct Stdout<W: Write> {
    inner: W,
    closed: bool,
}

impl<W: Write> Write for Stdout<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.closed |= matches!(&r, Err(e) if e.kind() == io::ErrorKind::BrokenPipe);
        r
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn exit(status: Status) -> ExitCode {
    ExitCode::from(status as u8)
}

/// What went wrong talking to the daemon, and what to do about it.
pub fn connect_error(socket: &std::path::Path, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => format!(
            "no memstatd is serving on {} ({e}). Start it as root: `memstatd --host` \
             (it stays in the foreground; add & or run it under a supervisor), or give \
             another socket with --socket PATH",
            socket.display()
        ),
        io::ErrorKind::PermissionDenied => format!(
            "cannot connect to {}: {e}; the socket is mode 0666, so check the permissions \
             of its directory",
            socket.display()
        ),
        _ => format!("talking to memstatd on {}: {e}", socket.display()),
    }
}

//! memstat: asks memstatd for a dump and streams it to stdout, dumpsys
//! style, over its socket (on Android, its binder service). Every argument
//! but the CLI's own goes to the daemon verbatim, so `memstat ARGS` prints
//! exactly what `dumpsys memstat ARGS` does.
//!
//! Exit status: 0 done; 1 a --fail-if threshold crossed or undecidable; 2 bad
//! arguments; 3 permission denied; 4 the daemon could not do it; 5 no
//! daemon, or it could not take the request.

mod daemon;
mod watch;

use daemon::Daemon;
use memstatd::transport::protocol::Status;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const CLI_USAGE: &str = "\
memstat's own options (the rest go to memstatd):
  --socket PATH          memstatd's socket (default: $MEMSTAT_SOCKET, else
                         /run/memstat/memstatd.sock); on Android memstat
                         talks to the binder service memstat instead
  --watch SECONDS        redraw a top-like view every SECONDS with per-interval
                         deltas and rates (takes --uid, --top, --sort)
  --count N              with --watch, stop after N redraws
  --timeout SECONDS      how long to wait for memstatd's answer (12: its
                         default --request-timeout of 10 and a margin)

exit status: 0 done, 1 a --fail-if threshold crossed or undecidable, 2 bad arguments,
3 permission denied, 4 memstatd could not do it, 5 no memstatd or it could
not take the request
";

struct Cli {
    /// `--socket`, when given.
    socket: Option<PathBuf>,
    /// `--timeout`, when given.
    timeout: Option<Duration>,
    watch: Option<watch::Watch>,
    args: Vec<String>,
}

fn parse(argv: Vec<String>) -> Result<Cli, String> {
    let (mut socket, mut timeout) = (None, None);
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
            "--socket" => socket = Some(value("a path")?.into()),
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
            "--timeout" => {
                let v = value("a number of seconds")?;
                let secs = v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| (1.0..=3600.0).contains(s))
                    .ok_or_else(|| {
                        format!("--timeout: {v:?} is not a number of seconds from 1 to 3600")
                    })?;
                timeout = Some(Duration::from_secs_f64(secs));
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
        timeout,
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
    if cli.watch.is_none() && cli.args.iter().any(|a| a == "-h" || a == "--help") {
        // The daemon's usage text is built in: help needs no daemon.
        print!("{}\n{CLI_USAGE}", memstatd::service::args::USAGE);
        return exit(Status::Ok);
    }
    let daemon = match Daemon::find(cli.socket, cli.timeout) {
        Ok(d) => d,
        Err((status, message)) => {
            eprintln!("memstat: {message}");
            return exit(status);
        }
    };
    if let Some(w) = cli.watch {
        return match w.run(&daemon) {
            Ok(()) => exit(Status::Ok),
            Err((status, message)) => {
                eprintln!("memstat: {message}");
                exit(status)
            }
        };
    }
    let mut out = Stdout {
        inner: io::stdout().lock(),
        closed: false,
    };
    let answer = daemon.request(&cli.args, &mut out);
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
        Err((status, message)) => {
            eprintln!("memstat: {message}");
            status
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

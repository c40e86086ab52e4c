//! memstatd: opens (host mode: first loads) memstat's BPF pins, attaches the
//! programs and serves `dump` (on a Unix socket; on Android as the binder
//! service `memstat`) until SIGTERM or SIGINT. Runs in the foreground under a
//! supervisor (init, systemd, a shell).

use memstatd::bpf::Tracefs;
use memstatd::probes::memory::duty;
use memstatd::probes::Probes;
use memstatd::service::{Mode, Service};
use memstatd::transport::socket::{self, Limits};
use memstatd::uid::UidNames;
use nix::sys::signal::{SigSet, Signal};
use std::collections::HashMap;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

const USAGE: &str = "\
usage: memstatd [--host | --device] [OPTIONS]
Serves per-UID syscall and memory statistics from memstat's BPF programs.

  --host               load memstat's BPF objects into PIN_ROOT with the built-in
                       loader (the platform bpfloader's rules), then serve
                       (the default on Linux)
  --device             only open pins another loader made, once they exist
                       (the default on Android, where it waits for
                       bpf.progs_loaded=1)
  --pin-root DIR       bpffs directory of the pins (/sys/fs/bpf/memstat, where
                       the platform bpfloader pins /system/etc/bpf/memstat/)
  --pin-group GROUP    host mode: the pins' group, a name or number (root):
                       its members may open the pins as their modes allow
                       (maps and programs 0440, config maps 0660)
  --socket PATH        Unix socket to serve on (/run/memstat/memstatd.sock;
                       on Android memstatd serves the binder service memstat)
  --state-dir DIR      generations and snapshots (/var/lib/memstat; on
                       Android /data/misc/memstat)
  --passwd FILE        UID names from a passwd file (the default on Linux:
                       /etc/passwd)
  --packages-list FILE UID names from Android's packages.list and AIDs (the
                       default on Android: /data/system/packages.list)
  --max-clients N      clients served at once (16; on Android, binder threads)
  --request-timeout S  seconds one request may take (10)
  --duty-cycle W/P     pagealloc, slab and memsyscalls in duty mode count W ms
                       in every P ms at a random phase (500/32000)
  --duty-seed N        the phases from seed N, repeatable (for tests)
  --task-offsets HOW   where the exit program's task_struct offsets come
                       from: auto (kernel BTF, else self-calibration; the
                       default) or calibrate (self-calibration even with BTF)
  --task-poll S        seconds between reads of /proc for faults and RSS
                       (30; every report reads /proc whole)
  --app-memcg WHERE    per-app memory cgroups (uid_<N>) for rss.charged.*:
                       auto (/sys/fs/cgroup, else /dev/memcg; the default),
                       off, or a cgroup directory
  -v, --verbose        debug logging
  -h, --help           this text
";

struct Options {
    mode: Mode,
    pin_root: Option<PathBuf>,
    pin_group: Option<String>,
    socket: PathBuf,
    state_dir: PathBuf,
    names: Names,
    limits: Limits,
    duty: duty::Config,
    verbose: bool,
    tasks: memstatd::tasks::Config,
    memcg: memstatd::memcg::Choice,
}

/// Where UID names come from.
enum Names {
    Passwd(PathBuf),
    PackagesList(PathBuf),
}

fn parse(args: &[String]) -> Result<Option<Options>, String> {
    let android = cfg!(target_os = "android");
    let mut o = Options {
        mode: if android { Mode::Device } else { Mode::Host },
        pin_root: None,
        pin_group: None,
        socket: socket::DEFAULT_PATH.into(),
        state_dir: if android {
            "/data/misc/memstat"
        } else {
            "/var/lib/memstat"
        }
        .into(),
        names: if android {
            Names::PackagesList("/data/system/packages.list".into())
        } else {
            Names::Passwd("/etc/passwd".into())
        },
        limits: Limits::default(),
        duty: duty::Config::default(),
        verbose: false,
        tasks: memstatd::tasks::Config::default(),
        memcg: memstatd::memcg::Choice::default(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("{arg} needs a value; see --help"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--host" => o.mode = Mode::Host,
            "--device" => o.mode = Mode::Device,
            "-v" | "--verbose" => o.verbose = true,
            "--task-offsets" => {
                o.tasks.offsets = match value()?.as_str() {
                    "auto" => memstatd::tasks::OffsetChoice::Auto,
                    "calibrate" => memstatd::tasks::OffsetChoice::Calibrate,
                    v => return Err(format!("--task-offsets: {v:?} is not auto or calibrate")),
                }
            }
            "--task-poll" => {
                let secs = number(arg, value()?, SECONDS, "of seconds ")?;
                o.tasks.period = Duration::from_secs(secs);
            }
            "--app-memcg" => {
                o.memcg = match value()?.as_str() {
                    "auto" => memstatd::memcg::Choice::Auto,
                    "off" => memstatd::memcg::Choice::Off,
                    dir if dir.starts_with('/') => memstatd::memcg::Choice::Dir(dir.into()),
                    v => {
                        return Err(format!(
                            "--app-memcg: {v:?} is not auto, off or an absolute directory"
                        ))
                    }
                }
            }
            "--pin-root" => o.pin_root = Some(value()?.into()),
            "--pin-group" => o.pin_group = Some(value()?.clone()),
            "--socket" if android => {
                return Err(
                    "--socket is for Linux hosts; on Android memstatd serves the binder \
                     service memstat"
                        .into(),
                )
            }
            "--socket" => o.socket = value()?.into(),
            "--state-dir" => o.state_dir = value()?.into(),
            "--passwd" => o.names = Names::Passwd(value()?.into()),
            "--packages-list" => o.names = Names::PackagesList(value()?.into()),
            "--max-clients" => {
                o.limits.max_clients = number(arg, value()?, 1..=1024, "")? as usize;
            }
            "--request-timeout" => {
                let secs = number(arg, value()?, SECONDS, "of seconds ")?;
                o.limits.request_time = Duration::from_secs(secs);
            }
            "--duty-cycle" => {
                let (w, p) = duty::Config::parse_cycle(value()?)
                    .map_err(|e| format!("--duty-cycle: {e}"))?;
                (o.duty.window, o.duty.period) = (w, p);
            }
            "--duty-seed" => {
                let v = value()?;
                o.duty.seed = Some(
                    v.parse()
                        .map_err(|_| format!("--duty-seed: {v:?} is not a number"))?,
                );
            }
            _ => return Err(format!("unknown argument {arg:?}; see --help")),
        }
    }
    if o.pin_group.is_some() && o.mode == Mode::Device {
        return Err(
            "--pin-group is for --host: in device mode the loader that pinned the \
                    objects gave them their owners"
                .into(),
        );
    }
    Ok(Some(o))
}

/// What a duration in seconds given on the command line may be.
const SECONDS: std::ops::RangeInclusive<u64> = 1..=3600;

/// `flag`'s value `v` as a number in `range`, or an error that says what it
/// should be (`what`: e.g. "of seconds ").
fn number(
    flag: &str,
    v: &str,
    range: std::ops::RangeInclusive<u64>,
    what: &str,
) -> Result<u64, String> {
    v.parse().ok().filter(|n| range.contains(n)).ok_or_else(|| {
        format!(
            "{flag}: {v:?} is not a number {what}from {} to {}",
            range.start(),
            range.end()
        )
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("memstatd: {e}");
            return ExitCode::from(2);
        }
    };
    logging::init(options.verbose);
    one_malloc_arena();
    match run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Client threads come and go; with glibc's default of an arena per thread,
/// each keeps the memory of the biggest dump it built. One arena lets every
/// dump reuse the same memory, which keeps the daemon's RSS at about half.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn one_malloc_arena() {
    // SAFETY: mallopt only sets an allocator parameter; called before any
    // other thread exists.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 1) };
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn one_malloc_arena() {}

fn run(o: Options) -> Result<(), String> {
    // Block the stop signals in every thread; one thread waits for them.
    let mut stop_signals = SigSet::empty();
    stop_signals.add(Signal::SIGTERM);
    stop_signals.add(Signal::SIGINT);
    stop_signals
        .thread_block()
        .map_err(|e| format!("cannot block SIGTERM: {e}"))?;
    let (stop_rx, mut stop_tx) =
        UnixStream::pair().map_err(|e| format!("cannot make the stop channel: {e}"))?;
    std::thread::Builder::new()
        .name("memstat-signals".into())
        .spawn(move || {
            if let Ok(sig) = stop_signals.wait() {
                log::info!("{sig}: stopping");
            }
            let _ = stop_tx.write_all(b"x");
        })
        .map_err(|e| format!("cannot start the signal thread: {e}"))?;

    // The transport first: a second daemon stops here, before touching pins.
    let transport = serving::Transport::bind(&o.socket)?;
    let pin_root = o
        .pin_root
        .clone()
        .unwrap_or_else(|| memstatd::abi::PIN_ROOT.into());
    let load_errors = match o.mode {
        Mode::Host => host_load(&pin_root, o.pin_group.as_deref())?,
        Mode::Device => {
            if !ready::wait(&pin_root, stop_rx.as_fd()) {
                return Ok(());
            }
            HashMap::new()
        }
    };
    let tracefs = Tracefs::find().map_err(|e| e.to_string());
    duty::configure(o.duty);
    memstatd::tasks::configure(o.tasks);
    memstatd::memcg::configure(o.memcg.clone());
    let probes = Probes::open(
        &pin_root,
        tracefs.as_ref().map_err(Clone::clone),
        &load_errors,
    );
    let names = match &o.names {
        Names::Passwd(path) => UidNames::passwd(path),
        Names::PackagesList(path) => UidNames::android(path),
    };
    let service = Arc::new(Service::new(o.mode, probes, &o.state_dir, names)?);
    log::info!(
        "serving on {} ({} mode, pins in {}, state in {})",
        transport.name(),
        if o.mode == Mode::Host {
            "host"
        } else {
            "device"
        },
        pin_root.display(),
        o.state_dir.display()
    );
    transport.serve(service, o.limits, stop_rx.as_fd())?;
    log::info!("stopped");
    Ok(())
}

/// Host mode: loads every built-in object into `pin_root` as the platform
/// bpfloader would. An object that fails leaves its group unavailable; the
/// returned map says why, by object name.
#[cfg(not(target_os = "android"))]
fn host_load(pin_root: &Path, group: Option<&str>) -> Result<HashMap<String, String>, String> {
    use memstatd::loader::{builtin, group_id, HostLoader};
    let gid = group
        .map(group_id)
        .transpose()
        .map_err(|e| format!("--pin-group: {e}"))?
        .unwrap_or(0);
    let loader = HostLoader::new(pin_root)
        .map_err(|e| e.to_string())?
        .pin_group(gid);
    let mut errors = HashMap::new();
    for (name, bytes) in builtin::OBJECTS {
        match loader.load(name, bytes) {
            Ok(report) => log::debug!("{report}"),
            Err(e) => {
                log::warn!("{name}: {e}");
                errors.insert(name.to_string(), format!("the host loader refused it: {e}"));
            }
        }
    }
    Ok(errors)
}

#[cfg(target_os = "android")]
fn host_load(_: &Path, _: Option<&str>) -> Result<HashMap<String, String>, String> {
    Err(
        "--host is for Linux hosts; on Android the platform bpfloader loads memstat's objects"
            .into(),
    )
}

/// Where memstatd serves: its Unix socket on Linux, the binder service
/// `memstat` on Android.
mod serving {
    use memstatd::service::Service;
    use memstatd::transport::socket::Limits;
    use std::os::fd::BorrowedFd;
    use std::path::Path;
    use std::sync::Arc;

    #[cfg(not(target_os = "android"))]
    pub struct Transport(memstatd::transport::socket::Socket);

    #[cfg(not(target_os = "android"))]
    impl Transport {
        /// Binds the socket; a live one of another memstatd is an error.
        pub fn bind(socket: &Path) -> Result<Self, String> {
            memstatd::transport::socket::Socket::bind(socket)
                .map(Transport)
                .map_err(|e| format!("cannot serve on {}: {e}", socket.display()))
        }

        pub fn name(&self) -> String {
            self.0.path().display().to_string()
        }

        /// Serves until `stop` is readable, lets the answers being built end,
        /// then detaches the probes. The socket, which keeps a second
        /// memstatd from starting, goes after them: the second one's
        /// programs would count the same events again.
        pub fn serve(
            &self,
            service: Arc<Service>,
            limits: Limits,
            stop: BorrowedFd<'_>,
        ) -> Result<(), String> {
            let served = self
                .0
                .serve(&service, limits, stop)
                .map_err(|e| format!("serving on {}: {e}", self.name()));
            let detaching = std::time::Instant::now();
            drop(service);
            log::info!("probes detached in {} ms", detaching.elapsed().as_millis());
            served
        }
    }

    /// Registered once the service exists: init runs one memstatd, and the
    /// state directory's lock stops any second one.
    #[cfg(target_os = "android")]
    pub struct Transport;

    #[cfg(target_os = "android")]
    impl Transport {
        pub fn bind(_socket: &Path) -> Result<Self, String> {
            Ok(Transport)
        }

        pub fn name(&self) -> String {
            format!(
                "the binder service {:?}",
                memstatd::transport::binder::SERVICE_NAME
            )
        }

        /// Registers the service and serves on binder's threads until `stop`
        /// is readable, then lets calls in flight end.
        pub fn serve(
            &self,
            service: Arc<Service>,
            limits: Limits,
            stop: BorrowedFd<'_>,
        ) -> Result<(), String> {
            use std::os::fd::AsRawFd;
            let registered = memstatd::transport::binder::serve(
                service,
                limits.max_clients,
                limits.request_time,
            )?;
            let mut fd = libc::pollfd {
                fd: stop.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: fd is one valid pollfd; -1 waits until it is readable.
            while unsafe { libc::poll(&mut fd, 1, -1) } < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(format!("waiting for SIGTERM: {e}"));
                }
            }
            registered.drain(limits.request_time);
            Ok(())
        }
    }
}

/// Device mode: waiting, with back-off, for the pins to be there.
mod ready {
    use std::os::fd::{AsRawFd, BorrowedFd};
    use std::path::Path;
    use std::time::Duration;

    /// Waits until the platform loader is done (Android: `bpf.progs_loaded`
    /// is 1; Linux: the syscall group's program is pinned under `pin_root`).
    /// False if `stop` became readable first.
    pub fn wait(pin_root: &Path, stop: BorrowedFd<'_>) -> bool {
        let mut delay = Duration::from_millis(50);
        let mut said = false;
        while !loaded(pin_root) {
            if !said {
                log::info!("waiting for {}", what(pin_root));
                said = true;
            }
            if stopped(stop, delay) {
                return false;
            }
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        true
    }

    fn stopped(stop: BorrowedFd<'_>, timeout: Duration) -> bool {
        let mut fd = libc::pollfd {
            fd: stop.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: fd is one valid pollfd.
        unsafe { libc::poll(&mut fd, 1, timeout.as_millis() as libc::c_int) > 0 }
    }

    #[cfg(target_os = "android")]
    fn loaded(_: &Path) -> bool {
        let mut value = [0 as libc::c_char; libc::PROP_VALUE_MAX as usize];
        // SAFETY: the name is NUL-terminated; value has PROP_VALUE_MAX bytes.
        let n = unsafe {
            libc::__system_property_get(c"bpf.progs_loaded".as_ptr(), value.as_mut_ptr())
        };
        n == 1 && value[0] == b'1' as libc::c_char
    }

    #[cfg(target_os = "android")]
    fn what(_: &Path) -> String {
        "bpf.progs_loaded=1".into()
    }

    #[cfg(not(target_os = "android"))]
    fn pin(pin_root: &Path) -> std::path::PathBuf {
        use memstatd::abi::{prog_pin, syscalls};
        prog_pin(pin_root, syscalls::OBJECT, syscalls::PROG_SYS_EXIT)
    }

    #[cfg(not(target_os = "android"))]
    fn loaded(pin_root: &Path) -> bool {
        pin(pin_root).exists()
    }

    #[cfg(not(target_os = "android"))]
    fn what(pin_root: &Path) -> String {
        format!("{} (pinned by the BPF loader)", pin(pin_root).display())
    }
}

/// `log` to stderr on Linux, to logcat (tag memstatd) on Android.
mod logging {
    #[cfg(target_os = "android")]
    pub fn init(verbose: bool) {
        let level = if verbose {
            log::LevelFilter::Debug
        } else {
            log::LevelFilter::Info
        };
        android_logger::init_once(
            android_logger::Config::default()
                .with_tag("memstatd")
                .with_max_level(level),
        );
    }

    #[cfg(not(target_os = "android"))]
    pub fn init(verbose: bool) {
        let level = if verbose {
            log::LevelFilter::Debug
        } else {
            log::LevelFilter::Info
        };
        if log::set_logger(&Stderr).is_ok() {
            log::set_max_level(level);
        }
    }

    #[cfg(not(target_os = "android"))]
    struct Stderr;

    #[cfg(not(target_os = "android"))]
    impl log::Log for Stderr {
        fn enabled(&self, m: &log::Metadata) -> bool {
            m.level() <= log::max_level()
        }

        fn log(&self, r: &log::Record) {
            if self.enabled(r.metadata()) {
                eprintln!(
                    "memstatd: {}: {}",
                    r.level().as_str().to_lowercase(),
                    r.args()
                );
            }
        }

        fn flush(&self) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Result<Options, String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        parse(&args).map(|o| o.expect("not --help"))
    }

    #[test]
    fn numbers_in_range_are_taken() {
        let o = parsed(&[
            "--task-poll",
            "5",
            "--max-clients",
            "3",
            "--request-timeout",
            "3600",
            "--app-memcg",
            "/dev/memcg",
        ])
        .unwrap();
        assert_eq!(o.memcg, memstatd::memcg::Choice::Dir("/dev/memcg".into()));
        assert_eq!(o.tasks.period, Duration::from_secs(5));
        assert_eq!(o.limits.max_clients, 3);
        assert_eq!(o.limits.request_time, Duration::from_secs(3600));
    }

    #[test]
    fn bad_values_name_the_option_and_what_it_takes() {
        for (args, says) in [
            (
                &["--task-poll", "0"][..],
                "--task-poll: \"0\" is not a number of seconds from 1 to 3600",
            ),
            (
                &["--task-poll", "1s"],
                "--task-poll: \"1s\" is not a number of seconds from 1 to 3600",
            ),
            (
                &["--max-clients", "1025"],
                "--max-clients: \"1025\" is not a number from 1 to 1024",
            ),
            (
                &["--request-timeout", "3601"],
                "--request-timeout: \"3601\" is not a number of seconds from 1 to 3600",
            ),
            (
                &["--task-offsets", "btf"],
                "--task-offsets: \"btf\" is not auto or calibrate",
            ),
            (&["--task-poll"], "--task-poll needs a value; see --help"),
            (
                &["--app-memcg", "cgroup"],
                "--app-memcg: \"cgroup\" is not auto, off or an absolute directory",
            ),
        ] {
            assert_eq!(parsed(args).err().as_deref(), Some(says), "{args:?}");
        }
    }
}

//! Nanoseconds added per syscall by memstat's default syscall probe, against
//! nothing attached, an empty tracepoint program (the floor), and a bpftrace
//! one-liner doing the same per-(UID, syscall) counting. The configurations
//! run alternately for several rounds on one pinned CPU; medians are printed.
//!
//! Usage: syscall_bench [--rounds N] [--iterations N]   (as root)

#[cfg(target_os = "android")]
fn main() {
    eprintln!("syscall_bench is a host tool");
    std::process::exit(2);
}

#[cfg(not(target_os = "android"))]
fn main() -> std::process::ExitCode {
    match host::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("syscall_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_os = "android"))]
mod host {
    use memstat_tests::{load_builtin, Bpffs};
    use memstatd::abi::{self, syscalls};
    use memstatd::bpf::{Attachment, Program, Tracefs};
    use memstatd::loader::HostLoader;
    use memstatd::probes::syscalls::SyscallProbe;
    use std::io::{BufRead, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    const BPFTRACE_PROGRAM: &str =
        "tracepoint:raw_syscalls:sys_exit { @[uid, args->id] = count(); }";
    const EMPTY: &str = "emptyTracepoint";
    const SYS_EXIT: &str = "tracepoint/raw_syscalls/sys_exit";

    #[derive(Clone, Copy, PartialEq)]
    enum Config {
        Nothing,
        Floor,
        Memstat,
        Bpftrace,
    }

    const NAMES: [&str; 4] = [
        "nothing attached",
        "empty program (floor)",
        "memstat",
        "bpftrace",
    ];

    /// Whatever keeps a configuration attached; dropping it detaches.
    enum Live {
        Nothing,
        Floor { _attachment: Attachment },
        Memstat { _probe: Box<SyscallProbe> },
        Bpftrace(Child),
    }

    impl Drop for Live {
        fn drop(&mut self) {
            if let Live::Bpftrace(child) = self {
                // SAFETY: signalling our own child.
                unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
                let _ = child.wait();
            }
        }
    }

    struct Setup {
        fs: Bpffs,
        tracefs: Tracefs,
        empty: Program,
        bpftrace: bool,
    }

    fn attach(setup: &Setup, config: Config) -> Result<Live, String> {
        Ok(match config {
            Config::Nothing => Live::Nothing,
            Config::Floor => Live::Floor {
                _attachment: setup
                    .empty
                    .attach_tracepoint(&setup.tracefs, "raw_syscalls/sys_exit")
                    .map_err(|e| e.to_string())?,
            },
            Config::Memstat => Live::Memstat {
                _probe: Box::new(
                    SyscallProbe::open(setup.fs.path(), &setup.tracefs)
                        .map_err(|e| e.to_string())?,
                ),
            },
            Config::Bpftrace => Live::Bpftrace(start_bpftrace()?),
        })
    }

    /// Starts bpftrace and returns once it has attached.
    fn start_bpftrace() -> Result<Child, String> {
        let mut child = Command::new("bpftrace")
            .args(["-e", BPFTRACE_PROGRAM])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start bpftrace: {e}"))?;
        let stdout = child.stdout.take().expect("piped");
        let mut lines = BufReader::new(stdout).lines();
        match lines.next() {
            Some(Ok(line)) if line.starts_with("Attaching") => {}
            other => return Err(format!("bpftrace did not attach: {other:?}")),
        }
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        // "Attaching" is printed just before the attach itself.
        std::thread::sleep(Duration::from_millis(500));
        Ok(child)
    }

    /// ns per getppid over `n` calls.
    fn measure(n: u64) -> f64 {
        let start = Instant::now();
        for _ in 0..n {
            // SAFETY: getppid takes no arguments and cannot fail.
            unsafe { libc::syscall(libc::SYS_getppid) };
        }
        start.elapsed().as_nanos() as f64 / n as f64
    }

    fn median(v: &mut [f64]) -> f64 {
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        if v.len() % 2 == 0 {
            (v[mid - 1] + v[mid]) / 2.0
        } else {
            v[mid]
        }
    }

    fn arg(args: &[String], flag: &str, default: u64) -> Result<u64, String> {
        match args.iter().position(|a| a == flag) {
            None => Ok(default),
            Some(i) => args
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .filter(|&v| v > 0)
                .ok_or_else(|| format!("{flag} needs a positive number")),
        }
    }

    pub fn run() -> Result<(), String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        if let Some(bad) = args
            .iter()
            .find(|a| a.starts_with('-') && *a != "--rounds" && *a != "--iterations")
        {
            return Err(format!(
                "unknown option {bad}; usage: syscall_bench [--rounds N] [--iterations N]"
            ));
        }
        let rounds = arg(&args, "--rounds", 5)?;
        let iterations = arg(&args, "--iterations", 2_000_000)?;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("needs root (BPF, tracefs)".into());
        }
        pin_to_cpu0()?;

        let fs = Bpffs::new()?;
        let tracefs = Tracefs::find().map_err(|e| e.to_string())?;
        load_builtin(fs.path(), syscalls::OBJECT);
        let empty_bytes = std::fs::read(
            std::path::Path::new(env!("MEMSTAT_TEST_OBJECTS")).join(format!("{EMPTY}.o")),
        )
        .map_err(|e| e.to_string())?;
        HostLoader::new(fs.path())
            .map_err(|e| e.to_string())?
            .load(EMPTY, &empty_bytes)
            .map_err(|e| e.to_string())?;
        let empty =
            Program::open(&abi::prog_pin(fs.path(), EMPTY, SYS_EXIT)).map_err(|e| e.to_string())?;
        let bpftrace = Command::new("bpftrace").arg("--version").output().is_ok();
        let setup = Setup {
            fs,
            tracefs,
            empty,
            bpftrace,
        };

        let mut configs = vec![Config::Nothing, Config::Floor, Config::Memstat];
        if setup.bpftrace {
            configs.push(Config::Bpftrace);
        } else {
            println!(
                "bpftrace is not installed: its row is unavailable (apt-get install bpftrace)"
            );
        }
        println!("{rounds} rounds x {iterations} getppid calls per configuration, pinned to CPU 0");
        let mut samples = vec![Vec::new(); NAMES.len()];
        for round in 1..=rounds {
            for &config in &configs {
                let _live = attach(&setup, config)?;
                measure(iterations / 20); // warm-up
                samples[config as usize].push(measure(iterations));
            }
            eprintln!("round {round}/{rounds} done");
        }

        let med: Vec<Option<f64>> = samples
            .iter_mut()
            .map(|s| (!s.is_empty()).then(|| median(s)))
            .collect();
        let base = med[Config::Nothing as usize].expect("always measured");
        println!(
            "\n{:<24} {:>14} {:>16}",
            "configuration", "ns/syscall", "added ns"
        );
        for (name, m) in NAMES.iter().zip(&med) {
            match m {
                Some(m) => println!("{name:<24} {m:>14.1} {:>16.1}", m - base),
                None => println!("{name:<24} {:>14} {:>16}", "unavailable", "-"),
            }
        }
        let added = |c: Config| med[c as usize].map(|m| m - base);
        let (floor, memstat) = (
            added(Config::Floor).unwrap(),
            added(Config::Memstat).unwrap(),
        );
        println!("\nratios of the added cost (ns/syscall above nothing attached):");
        println!("  memstat / floor    = {:.2}", memstat / floor);
        if let Some(bpftrace) = added(Config::Bpftrace) {
            println!("  memstat / bpftrace = {:.2}", memstat / bpftrace);
            let raw = |c: Config| med[c as usize].unwrap();
            println!(
                "ratio of the whole per-call time: memstat / bpftrace = {:.2}",
                raw(Config::Memstat) / raw(Config::Bpftrace)
            );
        }
        Ok(())
    }

    fn pin_to_cpu0() -> Result<(), String> {
        // SAFETY: set is a zeroed cpu_set_t; CPU_SET stays within it.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(format!(
                    "sched_setaffinity: {}",
                    std::io::Error::last_os_error()
                ));
            }
        }
        Ok(())
    }
}

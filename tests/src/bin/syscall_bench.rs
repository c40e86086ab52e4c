//! Nanoseconds added per syscall by memstat's default syscall probe, against
//! nothing attached, an empty tracepoint program (the floor), and a bpftrace
//! one-liner doing the same per-(UID, syscall) counting. memstat runs three
//! times: from a copy of its maps where the calling UID (root) has a row of
//! its own (claimed in the first warm-up), from a copy whose rows are all
//! taken, where it counts in its pair's per-CPU slot, and from a copy whose
//! slots are all taken too, where it counts in the shared table (a pair that
//! arrives after its slot was taken). The configurations run alternately
//! for several rounds on one pinned CPU; medians are printed. Then, with
//! `kernel.bpf_stats_enabled=1`, each program's own time per run.
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
    use memstat_tests::hostile::{fill_map, slot_counts, take_every_slot};
    use memstat_tests::{load_builtin, Bpffs};
    use memstatd::abi::{self, syscalls};
    use memstatd::bpf::{sys, Attachment, Program, Tracefs};
    use memstatd::loader::HostLoader;
    use memstatd::probes::syscalls::SyscallProbe;
    use std::io::{BufRead, BufReader};
    use std::os::fd::{AsRawFd, OwnedFd};
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    const BPFTRACE_PROGRAM: &str =
        "tracepoint:raw_syscalls:sys_exit { @[uid, args->id] = count(); }";
    const EMPTY: &str = "emptyTracepoint";
    const SYS_EXIT: &str = "tracepoint/raw_syscalls/sys_exit";
    const STATS: &str = "/proc/sys/kernel/bpf_stats_enabled";
    /// The goal for memstat's added cost, in floors.
    const GOAL: f64 = 1.3;

    #[derive(Clone, Copy, PartialEq)]
    enum Config {
        Nothing,
        Floor,
        Row,
        Slot,
        Shared,
        Bpftrace,
    }

    const NAMES: [&str; 6] = [
        "nothing attached",
        "empty program (floor)",
        "memstat, UID with a row",
        "memstat, pair in a slot",
        "memstat, shared table",
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
        /// memstat's maps where root gets a row.
        row: Bpffs,
        /// memstat's maps whose rows are all taken.
        slot: Bpffs,
        /// memstat's maps whose rows and slots are all taken.
        shared: Bpffs,
        empty_pin: std::path::PathBuf,
        tracefs: Tracefs,
        empty: Program,
    }

    impl Setup {
        fn pins(&self, config: Config) -> Option<&Path> {
            match config {
                Config::Row => Some(self.row.path()),
                Config::Slot => Some(self.slot.path()),
                Config::Shared => Some(self.shared.path()),
                _ => None,
            }
        }

        /// The pin of the program `config` runs on every syscall.
        fn program_pin(&self, config: Config) -> Option<std::path::PathBuf> {
            match (config, self.pins(config)) {
                (Config::Floor, _) => Some(self.empty_pin.clone()),
                (_, Some(root)) => Some(abi::prog_pin(root, syscalls::OBJECT, SYS_EXIT)),
                _ => None,
            }
        }
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
            Config::Row | Config::Slot | Config::Shared => Live::Memstat {
                _probe: Box::new(
                    SyscallProbe::open(setup.pins(config).expect("memstat"), &setup.tracefs)
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

    /// Loads memstat's syscall object into a fresh bpffs, for `config`: for
    /// a slot, every row is given an owner first (UID 0, through the pin:
    /// the program never counts there), so that every claim finds none
    /// free; for the shared table, every slot is taken too.
    fn memstat_copy(config: Config) -> Result<Bpffs, String> {
        let fs = Bpffs::new()?;
        load_builtin(fs.path(), syscalls::OBJECT);
        if matches!(config, Config::Slot | Config::Shared) {
            let pin = abi::map_pin(fs.path(), syscalls::OBJECT, syscalls::MAP_ROW_UID);
            let rows: Vec<Vec<u8>> = (0..syscalls::ROWS)
                .map(|r| r.to_ne_bytes().to_vec())
                .collect();
            fill_map(&pin, std::mem::size_of::<u64>(), false, &rows);
        }
        if config == Config::Shared {
            take_every_slot(&abi::map_pin(
                fs.path(),
                syscalls::OBJECT,
                syscalls::MAP_SLOTS,
            ));
        }
        Ok(fs)
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

        let empty_fs = Bpffs::new()?;
        let tracefs = Tracefs::find().map_err(|e| e.to_string())?;
        let empty_bytes = std::fs::read(
            std::path::Path::new(env!("MEMSTAT_TEST_OBJECTS")).join(format!("{EMPTY}.o")),
        )
        .map_err(|e| e.to_string())?;
        HostLoader::new(empty_fs.path())
            .map_err(|e| e.to_string())?
            .load(EMPTY, &empty_bytes)
            .map_err(|e| e.to_string())?;
        let empty_pin = abi::prog_pin(empty_fs.path(), EMPTY, SYS_EXIT);
        let empty = Program::open(&empty_pin).map_err(|e| e.to_string())?;
        let setup = Setup {
            row: memstat_copy(Config::Row)?,
            slot: memstat_copy(Config::Slot)?,
            shared: memstat_copy(Config::Shared)?,
            empty_pin,
            tracefs,
            empty,
        };

        let mut configs = vec![
            Config::Nothing,
            Config::Floor,
            Config::Row,
            Config::Slot,
            Config::Shared,
        ];
        if Command::new("bpftrace").arg("--version").output().is_ok() {
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
                measure(iterations / 20); // warm-up; root claims its row in the first
                samples[config as usize].push(measure(iterations));
            }
            eprintln!("round {round}/{rounds} done");
        }
        check_rows(&setup)?;

        let med: Vec<Option<f64>> = samples
            .iter_mut()
            .map(|s| (!s.is_empty()).then(|| median(s)))
            .collect();
        let base = med[Config::Nothing as usize].expect("always measured");
        println!(
            "\n{:<26} {:>12} {:>10}",
            "configuration", "ns/syscall", "added ns"
        );
        for (name, m) in NAMES.iter().zip(&med) {
            match m {
                Some(m) => println!("{name:<26} {m:>12.1} {:>10.1}", m - base),
                None => println!("{name:<26} {:>12} {:>10}", "unavailable", "-"),
            }
        }
        let added = |c: Config| med[c as usize].map(|m| m - base);
        let floor = added(Config::Floor).unwrap();
        let (row, slot) = (added(Config::Row).unwrap(), added(Config::Slot).unwrap());
        let shared = added(Config::Shared).unwrap();
        if floor <= 0.0 {
            println!(
                "\nthe empty program added no time ({floor:.1} ns): other work on the machine \
                 drowns the differences; rerun when it is quiet"
            );
            return program_times(&setup, iterations);
        }
        println!("\nratios of the added cost (ns/syscall above nothing attached):");
        let verdict = |r: f64| if r <= GOAL { "within" } else { "above" };
        println!(
            "  memstat / floor           = {:.2}  ({} the goal of {GOAL:.2}; UID with a row)",
            row / floor,
            verdict(row / floor)
        );
        println!(
            "  memstat slot / floor      = {:.2}  ({} the goal; UID with no row, its pair in a slot)",
            slot / floor,
            verdict(slot / floor)
        );
        println!(
            "  memstat shared / floor    = {:.2}  (a pair whose slot another holds)",
            shared / floor
        );
        if let Some(bpftrace) = added(Config::Bpftrace) {
            println!("  memstat / bpftrace        = {:.2}", row / bpftrace);
            let raw = |c: Config| med[c as usize].unwrap();
            println!(
                "ratio of the whole per-call time: memstat / bpftrace = {:.2}",
                raw(Config::Row) / raw(Config::Bpftrace)
            );
        }
        program_times(&setup, iterations)
    }

    /// Fails unless root holds a row in the first copy (in the others, every
    /// row had an owner before anything ran), and root's getppid holds its
    /// slot in the second (in the third, every slot had a pair).
    fn check_rows(setup: &Setup) -> Result<(), String> {
        let slots = abi::map_pin(setup.slot.path(), syscalls::OBJECT, syscalls::MAP_SLOTS);
        if slot_counts(&slots, 0, libc::SYS_getppid as u32).is_empty() {
            return Err(
                "root's getppid got no slot: the slot figures are not the slot path's".into(),
            );
        }
        let row = SyscallProbe::open(setup.row.path(), &setup.tracefs)
            .and_then(|p| p.read())
            .map_err(|e| e.to_string())?;
        if !row.row_uids.contains(&0) {
            return Err(format!(
                "root got no row (rows held by {:?}): the row figures are not the row path's",
                row.row_uids
            ));
        }
        Ok(())
    }

    /// With BPF stats on, each program's average time per run over one
    /// measured loop: what memstat spends beyond the empty program.
    fn program_times(setup: &Setup, iterations: u64) -> Result<(), String> {
        let _stats = StatsOn::new()?;
        println!("\nprogram time per run (kernel.bpf_stats_enabled=1; each includes the stats' own clock reads):");
        let mut floor = None;
        for config in [Config::Floor, Config::Row, Config::Slot, Config::Shared] {
            let pin = setup.program_pin(config).expect("a program");
            let fd = sys::obj_get(&pin, 0).map_err(|e| format!("{}: {e}", pin.display()))?;
            let _live = attach(setup, config)?;
            measure(iterations / 20);
            let before = run_stats(&fd)?;
            measure(iterations);
            let after = run_stats(&fd)?;
            let runs = after.1.saturating_sub(before.1).max(1);
            let ns = after.0.saturating_sub(before.0) as f64 / runs as f64;
            let over = floor.map_or(String::new(), |f: f64| {
                format!("  (+{:.1} over the empty program)", ns - f)
            });
            println!(
                "  {:<26} {ns:>7.1} ns, {runs} runs{over}",
                NAMES[config as usize]
            );
            floor.get_or_insert(ns);
        }
        Ok(())
    }

    /// (run_time_ns, run_cnt) from a program's fdinfo.
    fn run_stats(fd: &OwnedFd) -> Result<(u64, u64), String> {
        let path = format!("/proc/self/fdinfo/{}", fd.as_raw_fd());
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .ok_or_else(|| format!("{path}: no {name}"))
        };
        Ok((field("run_time_ns:")?, field("run_cnt:")?))
    }

    /// `kernel.bpf_stats_enabled=1` until dropped, then its old value again.
    struct StatsOn(String);

    impl StatsOn {
        fn new() -> Result<Self, String> {
            let old = std::fs::read_to_string(STATS).map_err(|e| format!("{STATS}: {e}"))?;
            std::fs::write(STATS, "1").map_err(|e| format!("{STATS}: {e}"))?;
            Ok(StatsOn(old))
        }
    }

    impl Drop for StatsOn {
        fn drop(&mut self) {
            let _ = std::fs::write(STATS, self.0.trim());
        }
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

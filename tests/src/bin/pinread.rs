//! Reads the syscall probe group through its pins, the way memstatd does on a
//! device: open pins (maps read-only but the config map), attach, read. It
//! loads nothing, so it also shows that objects pinned by another loader work.
//!
//! Usage: pinread PIN_ROOT [--load] [--latency on|off] [--wait-for FILE]
//!   --load      first load the built-in objects into PIN_ROOT (a bpffs) with
//!               the host loader, as memstatd does in host mode
//!   --latency   switch latency mode before reading
//!   --wait-for  attach, then wait until FILE exists before reading
//! Prints one line per (uid, syscall): `uid nr count errors`, then the
//! overflow counters.

#[cfg(target_os = "android")]
fn main() {
    eprintln!("pinread is a host tool");
    std::process::exit(2);
}

#[cfg(not(target_os = "android"))]
fn main() -> std::process::ExitCode {
    host::main()
}

#[cfg(not(target_os = "android"))]
mod host {
    use memstatd::bpf::Tracefs;
    use memstatd::loader::{builtin, HostLoader};
    use memstatd::probes::syscalls::SyscallProbe;
    use std::path::PathBuf;
    use std::process::ExitCode;

    pub fn main() -> ExitCode {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let Some(root) = args.first().map(PathBuf::from) else {
            eprintln!("usage: pinread PIN_ROOT [--load] [--latency on|off] [--wait-for FILE]");
            return ExitCode::from(2);
        };
        let mut latency = None;
        let mut wait_for = None;
        let mut load = false;
        let mut rest = args[1..].iter();
        while let Some(arg) = rest.next() {
            if arg == "--load" {
                load = true;
                continue;
            }
            match (arg.as_str(), rest.next().map(String::as_str)) {
                ("--latency", Some("on")) => latency = Some(true),
                ("--latency", Some("off")) => latency = Some(false),
                ("--wait-for", Some(file)) => wait_for = Some(PathBuf::from(file)),
                (flag, value) => {
                    eprintln!("pinread: bad argument {flag} {}", value.unwrap_or(""));
                    return ExitCode::from(2);
                }
            }
        }
        if load {
            if let Err(e) = load_builtin(&root) {
                eprintln!("pinread: {e}");
                return ExitCode::FAILURE;
            }
        }
        match run(&root, latency, wait_for) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("pinread: {e}");
                ExitCode::FAILURE
            }
        }
    }

    fn load_builtin(root: &std::path::Path) -> Result<(), String> {
        let loader = HostLoader::new(root).map_err(|e| e.to_string())?;
        for (name, bytes) in builtin::OBJECTS {
            let report = loader.load(name, bytes).map_err(|e| e.to_string())?;
            eprint!("{report}");
        }
        Ok(())
    }

    fn run(
        root: &std::path::Path,
        latency: Option<bool>,
        wait_for: Option<PathBuf>,
    ) -> Result<(), String> {
        let tracefs = Tracefs::find().map_err(|e| e.to_string())?;
        let mut probe = SyscallProbe::open(root, &tracefs).map_err(|e| e.to_string())?;
        if let Some(on) = latency {
            probe.set_latency(on).map_err(|e| e.to_string())?;
        }
        if let Some(file) = wait_for {
            println!("attached");
            while !file.exists() {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        let sample = probe.read().map_err(|e| e.to_string())?;
        for (key, counts) in &sample.counts {
            println!("{} {} {} {}", key.uid, key.nr, counts.count, counts.errors);
        }
        let o = &sample.overflow;
        println!(
            "overflow count={} errors={} start_dropped={} unmatched={} latency_samples={}",
            o.count,
            o.errors,
            o.start_dropped,
            o.unmatched,
            o.latency.iter().sum::<u64>()
        );
        Ok(())
    }
}

//! memstat-objcheck: checks BPF objects against the Android platform
//! bpfloader's format rules.
//!
//! Usage: memstat-objcheck [--builtin] [FILE.o ...] | --events
//! Exits 0 when every object passes, 1 when any breaks a rule, 2 on bad usage.
//! `--events` prints every tracefs event memstatd may attach, one per line.

use std::process::ExitCode;

/// The checker lives in the host-only loader; there is nothing to check on a device.
#[cfg(target_os = "android")]
fn main() -> ExitCode {
    eprintln!("memstat-objcheck is a host tool");
    ExitCode::from(2)
}

#[cfg(not(target_os = "android"))]
fn main() -> ExitCode {
    host::main()
}

#[cfg(not(target_os = "android"))]
mod host {
    use memstatd::loader::{builtin, check};
    use std::process::ExitCode;

    fn usage() -> ExitCode {
        eprintln!("usage: memstat-objcheck [--builtin] [FILE.o ...] | --events");
        eprintln!("  --builtin  check the objects built from bpf_progs/ into this binary");
        eprintln!("  --events   print every tracefs event memstatd may attach (category/event)");
        ExitCode::from(2)
    }

    pub fn main() -> ExitCode {
        let mut objects: Vec<(String, Vec<u8>)> = Vec::new();
        for arg in std::env::args().skip(1) {
            match arg.as_str() {
                "--events" => {
                    for event in memstatd::probes::tracepoint_events() {
                        println!("{event}");
                    }
                    return ExitCode::SUCCESS;
                }
                "--builtin" => objects.extend(
                    builtin::OBJECTS
                        .iter()
                        .map(|(n, b)| (format!("{n}.o (built in)"), b.to_vec())),
                ),
                "-h" | "--help" => return usage(),
                flag if flag.starts_with('-') => {
                    eprintln!("memstat-objcheck: unknown option {flag}");
                    return usage();
                }
                path => match std::fs::read(path) {
                    Ok(bytes) => objects.push((path.to_owned(), bytes)),
                    Err(e) => {
                        eprintln!("memstat-objcheck: cannot read {path}: {e}");
                        return ExitCode::from(2);
                    }
                },
            }
        }
        if objects.is_empty() {
            return usage();
        }
        let mut failed = false;
        for (name, bytes) in &objects {
            let violations = check(name, bytes);
            if violations.is_empty() {
                println!("{name}: ok");
            } else {
                failed = true;
                for v in violations {
                    println!("{name}: {v}");
                }
            }
        }
        if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        }
    }
}

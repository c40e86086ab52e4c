//! Kernel memory of every BPF map memstat pins, per map, object and in
//! total, on this machine and projected to another number of possible CPUs
//! (8 by default). Every built-in object is loaded by the host loader into a
//! private bpffs (as memstatd loads them); each map's `memlock` comes from
//! its fdinfo. Per-CPU parts grow with the possible CPUs
//! (/sys/devices/system/cpu/possible), by the kernel's own accounting
//! (`array_map_mem_usage`, `htab_map_mem_usage`):
//!
//! - array: none; per-CPU array: entries x value (rounded up to 8);
//! - hash (preallocated): a lock count per CPU (8 ints), and one spare
//!   element and its pointer per CPU;
//! - per-CPU hash: the lock counts, and entries x value per CPU;
//! - LRU hash: the lock counts.
//!
//! Usage: map_bench [--cpus N]   (as root)

#[cfg(target_os = "android")]
fn main() {
    eprintln!("map_bench is a host tool");
    std::process::exit(2);
}

#[cfg(not(target_os = "android"))]
fn main() -> std::process::ExitCode {
    match host::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("map_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_os = "android"))]
mod host {
    use memstat_tests::Bpffs;
    use memstatd::abi::syscalls;
    use memstatd::bpf::sys;
    use memstatd::loader::{builtin, HostLoader};
    use std::collections::BTreeMap;
    use std::os::fd::AsRawFd;

    /// The goal for all of memstat's maps together at the projected CPUs.
    const TOTAL_GOAL: u64 = 4 << 20;
    /// The syscall group's share of it.
    const SYSCALL_SHARE: u64 = 3 << 19;
    /// `struct htab_elem` on a 64-bit kernel, before the key.
    const HTAB_ELEM: u64 = 48;
    /// `HASHTAB_MAP_LOCK_COUNT` ints per CPU in every hash map.
    const HTAB_LOCKS: u64 = 8 * 4;
    const BPF_F_NO_PREALLOC: u64 = 1;

    /// One map as its fdinfo describes it.
    struct MapMem {
        object: String,
        name: String,
        map_type: u64,
        key: u64,
        value: u64,
        entries: u64,
        flags: u64,
        memlock: u64,
    }

    impl MapMem {
        fn type_name(&self) -> &'static str {
            match self.map_type as u32 {
                sys::BPF_MAP_TYPE_HASH => "hash",
                sys::BPF_MAP_TYPE_ARRAY => "array",
                sys::BPF_MAP_TYPE_PERCPU_HASH => "percpu_hash",
                sys::BPF_MAP_TYPE_PERCPU_ARRAY => "percpu_array",
                sys::BPF_MAP_TYPE_LRU_HASH => "lru_hash",
                _ => "other",
            }
        }

        /// Bytes the map's memlock grows by per possible CPU; `None` for a
        /// type whose accounting this bench does not know.
        fn per_cpu(&self) -> Option<u64> {
            let value = self.value.div_ceil(8) * 8;
            let elem = HTAB_ELEM + self.key.div_ceil(8) * 8 + value;
            let prealloc = self.flags & BPF_F_NO_PREALLOC == 0;
            Some(match self.map_type as u32 {
                sys::BPF_MAP_TYPE_ARRAY => 0,
                sys::BPF_MAP_TYPE_PERCPU_ARRAY => self.entries * value,
                sys::BPF_MAP_TYPE_HASH if prealloc => HTAB_LOCKS + elem + 8,
                sys::BPF_MAP_TYPE_PERCPU_HASH if prealloc => HTAB_LOCKS + self.entries * value,
                sys::BPF_MAP_TYPE_LRU_HASH => HTAB_LOCKS,
                _ => return None,
            })
        }

        fn at(&self, cpus: u64, now: u64) -> Option<u64> {
            let per_cpu = self.per_cpu()?;
            Some((self.memlock as i64 + (cpus as i64 - now as i64) * per_cpu as i64) as u64)
        }
    }

    pub fn run() -> Result<(), String> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let cpus = match args.as_slice() {
            [] => 8,
            [flag, n] if flag == "--cpus" => n
                .parse()
                .ok()
                .filter(|&n: &u64| n > 0)
                .ok_or("--cpus needs a positive number")?,
            _ => return Err("usage: map_bench [--cpus N]".into()),
        };
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err("needs root (BPF)".into());
        }
        let possible = std::fs::read_to_string("/sys/devices/system/cpu/possible")
            .map_err(|e| format!("/sys/devices/system/cpu/possible: {e}"))?;
        let now = count_cpus(possible.trim())
            .ok_or_else(|| format!("cannot parse possible CPUs {possible:?}"))?;

        let fs = Bpffs::new()?;
        let loader = HostLoader::new(fs.path()).map_err(|e| e.to_string())?;
        let mut maps = Vec::new();
        for (object, bytes) in builtin::OBJECTS {
            if let Err(e) = loader.load(object, bytes) {
                println!("{object}: not every map or program loaded: {e}");
            }
            maps.extend(pinned_maps(fs.path(), object)?);
        }

        println!(
            "BPF map memory (kernel memlock, fdinfo) of {} maps in {} objects; {now} possible CPUs \
             here ({}), projected to {cpus}",
            maps.len(),
            builtin::OBJECTS.len(),
            possible.trim()
        );
        println!(
            "\n{:<20} {:<24} {:<13} {:>7} {:>11} {:>10} {:>13}",
            "object",
            "map",
            "type",
            "entries",
            "memlock B",
            "per CPU B",
            format!("at {cpus} CPUs B")
        );
        let mut by_object: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        let mut unknown = Vec::new();
        for m in &maps {
            let at = m.at(cpus, now);
            println!(
                "{:<20} {:<24} {:<13} {:>7} {:>11} {:>10} {:>13}",
                m.object,
                m.name,
                m.type_name(),
                m.entries,
                m.memlock,
                m.per_cpu().map_or("?".into(), |b| b.to_string()),
                at.map_or("?".into(), |b| b.to_string())
            );
            if at.is_none() {
                unknown.push(format!("{}/{}", m.object, m.name));
            }
            let o = by_object.entry(&m.object).or_default();
            o.0 += m.memlock;
            o.1 += at.unwrap_or(m.memlock);
        }
        println!(
            "\n{:<20} {:>13} {:>16}",
            "object",
            "memlock B",
            format!("at {cpus} CPUs B")
        );
        for (object, (here, there)) in &by_object {
            println!("{object:<20} {here:>13} {there:>16}");
        }
        let here: u64 = by_object.values().map(|o| o.0).sum();
        let there: u64 = by_object.values().map(|o| o.1).sum();
        println!("{:<20} {here:>13} {there:>16}", "total");
        println!(
            "\ntotal: {} MiB here, {} MiB at {cpus} CPUs; goal < {} MiB at 8 CPUs: {}",
            mib(here),
            mib(there),
            mib(TOTAL_GOAL),
            if there < TOTAL_GOAL {
                "within"
            } else {
                "above"
            }
        );
        if let Some(&(_, s)) = by_object.get(syscalls::OBJECT) {
            println!(
                "{}: {} MiB at {cpus} CPUs, of a share of about {} MiB",
                syscalls::OBJECT,
                mib(s),
                mib(SYSCALL_SHARE)
            );
        }
        if !unknown.is_empty() {
            println!(
                "not projected (type unknown to this bench, counted as measured): {}",
                unknown.join(", ")
            );
        }
        Ok(())
    }

    fn mib(bytes: u64) -> String {
        format!("{:.2}", bytes as f64 / (1 << 20) as f64)
    }

    /// "0-7", "0,2-3": how many CPUs.
    fn count_cpus(list: &str) -> Option<u64> {
        list.split(',').try_fold(0, |n, part| {
            let (lo, hi) = part.split_once('-').unwrap_or((part, part));
            let (lo, hi): (u64, u64) = (lo.parse().ok()?, hi.parse().ok()?);
            (hi >= lo).then(|| n + hi - lo + 1)
        })
    }

    /// The maps of `object` pinned under `root`, read from their fdinfo.
    fn pinned_maps(root: &std::path::Path, object: &str) -> Result<Vec<MapMem>, String> {
        let prefix = format!("map_{object}_");
        let mut names: Vec<String> = std::fs::read_dir(root)
            .map_err(|e| format!("{}: {e}", root.display()))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_prefix(&prefix).map(str::to_owned))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|name| {
                let pin = root.join(format!("{prefix}{name}"));
                let fd = sys::obj_get(&pin, sys::BPF_F_RDONLY)
                    .map_err(|e| format!("{}: {e}", pin.display()))?;
                let path = format!("/proc/self/fdinfo/{}", fd.as_raw_fd());
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
                let field = |key: &str| -> Result<u64, String> {
                    let v = text
                        .lines()
                        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
                        .ok_or_else(|| format!("{path}: no {key}"))?
                        .trim();
                    match v.strip_prefix("0x") {
                        Some(hex) => u64::from_str_radix(hex, 16),
                        None => v.parse(),
                    }
                    .map_err(|e| format!("{path}: {key} {v:?}: {e}"))
                };
                Ok(MapMem {
                    object: object.to_owned(),
                    map_type: field("map_type")?,
                    key: field("key_size")?,
                    value: field("value_size")?,
                    entries: field("max_entries")?,
                    flags: field("map_flags")?,
                    memlock: field("memlock")?,
                    name,
                })
            })
            .collect()
    }
}

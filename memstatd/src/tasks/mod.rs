//! The task-counter source: exact per-UID faults and RSS from the kernel's
//! own per-task counters, the default source of the `faults` and `rss`
//! groups. Live processes are read from /proc ([`procfs`]); exited threads
//! come from the `memStatTaskExit` program on `sched:sched_process_exit`,
//! whose offsets come from kernel BTF or self-calibration ([`offsets`]);
//! [`book`] keeps the sum exact and never going back. Every report reads
//! it whole; a poll every [`Config::period`] reads what changed (for the
//! peak bracket, UID changes and the exit map's sweep, see [`procfs`]).

mod book;
mod btf;
pub mod offsets;
mod procfs;

use crate::abi::tasks::{self as abi, TaskConfig, TaskDead, TaskDrops, TaskFaults, TaskHeld};
use crate::abi::{map_pin, prog_pin};
use crate::bpf::{Access, Attachment, Map, Program, Tracefs};
use book::{Book, Kernel, UidTotals};
use offsets::{Offsets, Origin};
use procfs::{Depth, Process, Walker};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// How offsets are found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OffsetChoice {
    /// Kernel BTF where it can be read, else self-calibration.
    #[default]
    Auto,
    /// Self-calibration even where BTF exists (`--task-offsets calibrate`).
    Calibrate,
}

/// The source's settings (memstatd's options).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Where the exit program's offsets come from.
    pub offsets: OffsetChoice,
    /// Period of the reads between reports.
    pub period: Duration,
}

impl Default for Config {
    /// Every 30 s: a poll of 1,000 user processes, a tenth of them changed,
    /// takes about 12 ms of CPU here: 0.04% of one CPU.
    fn default() -> Self {
        Config {
            offsets: OffsetChoice::Auto,
            period: Duration::from_secs(30),
        }
    }
}

static CONFIG: OnceLock<Config> = OnceLock::new();

/// Sets the settings, once, before the probes open.
pub fn configure(config: Config) {
    let _ = CONFIG.set(config);
}

fn config() -> Config {
    CONFIG.get().copied().unwrap_or_default()
}

pub(crate) fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(n).unwrap_or(4096)
}

struct Maps {
    uid: Map,
    other: Map,
    dead: Map,
    config: Map,
    held: Map,
    drops: Map,
    window: Map,
}

impl Maps {
    fn open(pin_root: &Path) -> Result<Self, String> {
        let open = |name: &str, access, value: usize| {
            Map::open(&map_pin(pin_root, abi::OBJECT, name), access, 4, value)
                .map_err(|e| e.to_string())
        };
        let size = std::mem::size_of::<TaskFaults>();
        Ok(Maps {
            uid: open(abi::MAP_UID, Access::ReadOnly, size)?,
            other: open(abi::MAP_OTHER, Access::ReadOnly, size)?,
            dead: open(
                abi::MAP_DEAD,
                Access::ReadWrite,
                std::mem::size_of::<TaskDead>(),
            )?,
            config: open(
                abi::MAP_CONFIG,
                Access::ReadWrite,
                std::mem::size_of::<TaskConfig>(),
            )?,
            held: open(
                abi::MAP_HELD,
                Access::ReadWrite,
                std::mem::size_of::<TaskHeld>(),
            )?,
            drops: open(
                abi::MAP_DROPS,
                Access::ReadOnly,
                std::mem::size_of::<TaskDrops>(),
            )?,
            window: open(abi::MAP_WINDOW, Access::ReadOnly, abi::WINDOW_VALUE)?,
        })
    }

    fn set_config(&self, c: &TaskConfig) -> Result<(), String> {
        self.config.set(&0u32, c).map_err(|e| e.to_string())
    }
}

/// One read's result.
#[derive(Clone, Debug, Default)]
pub(crate) struct Totals {
    pub(crate) uids: BTreeMap<u32, UidTotals>,
    /// The sum of UIDs beyond the table ([`book::UIDS`]), and the faults
    /// of UIDs that found the exit program's UID table full.
    pub(crate) other: UidTotals,
    /// UIDs summed in `other`.
    pub(crate) over: usize,
    pub(crate) drops: TaskDrops,
}

/// The CPU time one read took, and what it read.
#[derive(Clone, Copy, Debug, Default)]
struct Cost {
    cpu: Duration,
    walked: procfs::Walked,
}

struct Inner {
    maps: Maps,
    book: Book,
    walker: Walker,
    procs: Vec<Process>,
    last: Totals,
    /// The last report's read, and the last poll.
    cost: [Cost; 2],
}

/// The task-counter source, attached.
pub struct TaskSource {
    inner: Arc<Mutex<Inner>>,
    program: Program,
    _attachment: Attachment,
    offsets: Offsets,
    /// Why BTF was not used, when it was not.
    why_calibrated: Option<String>,
    period: Duration,
}

pub(crate) fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl TaskSource {
    /// Opens the pins, attaches the exit program, finds the offsets and
    /// writes them, reads once and starts the periodic reads.
    pub fn open(pin_root: &Path, tracefs: &Tracefs) -> Result<Self, String> {
        let maps = Maps::open(pin_root)?;
        let program = Program::open(&prog_pin(pin_root, abi::OBJECT, abi::PROG_EXIT))
            .map_err(|e| e.to_string())?;
        let attachment = program
            .attach_tracepoint(tracefs, abi::EVENT)
            .map_err(|e| e.to_string())?;
        let choice = config().offsets;
        let btf = match choice {
            OffsetChoice::Calibrate => Err("asked for with --task-offsets calibrate".to_owned()),
            OffsetChoice::Auto => std::fs::read("/sys/kernel/btf/vmlinux")
                .map_err(|e| format!("/sys/kernel/btf/vmlinux: {e}"))
                .and_then(|b| offsets::from_btf(&b)),
        };
        let (offsets, why_calibrated) = match btf {
            Ok(o) => (o, None),
            Err(why) => (calibrate(&maps)?, Some(why)),
        };
        log::info!(
            "task counters: task_struct.min_flt at {} and maj_flt at {}, {} ({})",
            offsets.min_flt,
            offsets.maj_flt,
            match offsets.maxrss {
                Some((signal, maxrss)) =>
                    format!("signal at {signal}, signal_struct.maxrss at {maxrss}"),
                None => "signal_struct.maxrss unknown".to_owned(),
            },
            why_calibrated
                .as_deref()
                .map_or("from kernel BTF".to_owned(), |w| format!(
                    "self-calibrated: {w}"
                )),
        );
        maps.set_config(&offsets.config())?;
        let held = maps
            .held
            .entries::<u32, TaskHeld>(|a, b| *a = *b)
            .map_err(|e| e.to_string())?
            .into_iter()
            .collect();
        let walker =
            Walker::open(Path::new("/proc"), page_size()).map_err(|e| format!("/proc: {e}"))?;
        let inner = Arc::new(Mutex::new(Inner {
            maps,
            book: match offsets.maxrss {
                Some(_) => Book::new(held, page_size()),
                None => Book::new(held, page_size()).maxrss_unknown(),
            },
            walker,
            procs: Vec::new(),
            last: Totals::default(),
            cost: [Cost::default(); 2],
        }));
        let source = TaskSource {
            inner,
            program,
            _attachment: attachment,
            offsets,
            why_calibrated,
            period: config().period,
        };
        source.read()?;
        poll_in_background(Arc::downgrade(&source.inner), source.period);
        Ok(source)
    }

    /// Reads now; every report does.
    pub(crate) fn read(&self) -> Result<Totals, String> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.read()
    }

    /// Peaks start again with each generation.
    pub(crate) fn set_epoch(&self, epoch: u64) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.book.set_epoch(epoch);
    }

    /// The offsets in use and where they came from.
    pub fn offsets(&self) -> Offsets {
        self.offsets
    }

    pub(crate) fn program(&self) -> &Program {
        &self.program
    }

    /// What the report's probe line says of the source.
    pub(crate) fn describe(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let o = &self.offsets;
        let origin = match (o.origin, &self.why_calibrated) {
            (Origin::Btf, _) => "offsets from kernel BTF".to_owned(),
            (Origin::Calibrated, Some(why)) => format!("offsets self-calibrated (no BTF: {why})"),
            (Origin::Calibrated, None) => "offsets self-calibrated".to_owned(),
        };
        let peak = if o.maxrss.is_some() {
            ""
        } else {
            "; peak at exit not read (no offset of signal_struct.maxrss): a UID one of whose \
             processes ended has no peak.hi (unknown) until the next generation"
        };
        let d = &inner.last.drops;
        let [report, poll] = inner.cost;
        let share = poll.cpu.as_secs_f64() / self.period.as_secs_f64() * 100.0;
        let over = match inner.last.over {
            0 => String::new(),
            n => format!(
                "; {n} UIDs beyond the table of {} counted in other",
                book::UIDS
            ),
        };
        format!(
            "task counters: {} ({origin}) and /proc: polled every {} s (last poll: {} processes, \
             {} re-read, in {} µs of CPU: {share:.4}% of one CPU) and read whole at each report \
             (last: {} processes in {} µs of CPU); exact; exits not accounted: {} before \
             configuration, {} unreadable, {} with no room{over}{peak}",
            abi::EVENT,
            self.period.as_secs(),
            poll.walked.processes,
            poll.walked.read,
            poll.cpu.as_micros(),
            report.walked.processes,
            report.cpu.as_micros(),
            d.unconfigured,
            d.read_failed,
            d.dead_full,
        )
    }
}

impl Inner {
    /// A report's read: every process whole, every map.
    fn read(&mut self) -> Result<Totals, String> {
        let started = thread_cpu();
        let walked = self.walk(Depth::Full)?;
        // Every UID before any process: see memStatTaskExit.c.
        let add = |a: &mut TaskFaults, b: &TaskFaults| {
            a.minor = a.minor.saturating_add(b.minor);
            a.major = a.major.saturating_add(b.major);
        };
        let exited = self.maps.uid.entries::<u32, TaskFaults>(add);
        let other = self.maps.other.get(&0u32, add);
        let (exited, other) = (exited.map_err(read_err)?, other.map_err(read_err)?);
        let kernel = Kernel {
            exited: exited
                .into_iter()
                .map(|(u, f)| (u, [f.minor, f.major]))
                .collect(),
            dead: self.dead()?,
        };
        let drops = self
            .maps
            .drops
            .get(&0u32, |a: &mut TaskDrops, b| *a = *b)
            .map_err(read_err)?
            .unwrap_or_default();
        let uids = self.settle(&kernel, true);
        let (uids, mut rest, over) = self.book.split(uids);
        let other = other.unwrap_or_default();
        rest.add(&UidTotals {
            faults: [other.minor, other.major],
            ..UidTotals::default()
        });
        self.write_held();
        self.last = Totals {
            uids,
            other: rest,
            over,
            drops,
        };
        self.cost[0] = Cost {
            cpu: thread_cpu().saturating_sub(started),
            walked,
        };
        Ok(self.last.clone())
    }

    /// A poll: what changed, and the exit map's sweep.
    fn poll(&mut self) -> Result<(), String> {
        let started = thread_cpu();
        let walked = self.walk(Depth::Poll)?;
        let kernel = Kernel {
            exited: BTreeMap::new(),
            dead: self.dead()?,
        };
        self.settle(&kernel, false);
        self.write_held();
        self.cost[1] = Cost {
            cpu: thread_cpu().saturating_sub(started),
            walked,
        };
        Ok(())
    }

    fn walk(&mut self, depth: Depth) -> Result<procfs::Walked, String> {
        self.walker
            .walk(depth, &mut self.procs)
            .map_err(|e| format!("/proc: {e}"))
    }

    fn dead(&self) -> Result<std::collections::HashMap<u32, TaskDead>, String> {
        let dead = self.maps.dead.entries::<u32, TaskDead>(|a, b| *a = *b);
        Ok(dead.map_err(read_err)?.into_iter().collect())
    }

    /// The book's update, and the sweep of the processes it is done with.
    fn settle(&mut self, kernel: &Kernel, full: bool) -> BTreeMap<u32, UidTotals> {
        let (uids, done) = self.book.update(&self.procs, kernel, full);
        for tgid in done {
            if let Err(e) = self.maps.dead.delete(&tgid) {
                log::warn!("task counters: cannot sweep process {tgid}: {e}");
            }
        }
        uids
    }

    fn write_held(&mut self) {
        for (uid, held) in self.book.take_changed() {
            if let Err(e) = self.maps.held.set(&uid, &held) {
                log::warn!("task counters: cannot keep uid {uid}'s adjustment: {e}");
            }
        }
    }
}

fn read_err(e: crate::bpf::BpfError) -> String {
    e.to_string()
}

/// Reads every `period` while the source lives.
fn poll_in_background(inner: Weak<Mutex<Inner>>, period: Duration) {
    let spawned = std::thread::Builder::new()
        .name("memstat-tasks".into())
        .spawn(move || loop {
            let next = Instant::now() + period;
            std::thread::sleep(period);
            let Some(inner) = inner.upgrade() else {
                return;
            };
            let mut inner = inner.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = inner.poll() {
                log::warn!("task counters: {e}");
            }
            drop(inner);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        });
    if let Err(e) = spawned {
        log::warn!("task counters: no periodic reads (cannot start a thread: {e})");
    }
}

/// Self-calibration with the attached exit program.
fn calibrate(maps: &Maps) -> Result<Offsets, String> {
    offsets::calibrate(|pages| {
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel();
        let (counts_tx, counts_rx) = std::sync::mpsc::channel();
        let thread =
            std::thread::spawn(move || offsets::fault_and_exit(pages, tid_tx, go_rx, counts_tx));
        let wait = Duration::from_secs(5);
        let tid = tid_rx
            .recv_timeout(wait)
            .map_err(|_| "self-calibration: its thread did not start".to_owned())?;
        maps.set_config(&TaskConfig {
            calibrate_tid: tid,
            ..TaskConfig::default()
        })?;
        go_tx
            .send(())
            .map_err(|_| "self-calibration: its thread ended early".to_owned())?;
        let round = counts_rx
            .recv_timeout(wait)
            .map_err(|_| "self-calibration: its thread could not fault".to_owned())?;
        thread
            .join()
            .map_err(|_| "self-calibration: its thread panicked".to_owned())?;
        let window = maps
            .window
            .get_with(&0u32, abi::WINDOW_VALUE, |raw| {
                raw.copies().next().map(<[u8]>::to_vec).unwrap_or_default()
            })
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let copied = window
            .get(..8)
            .map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")));
        if copied != Some(u64::from(tid)) {
            return Err(format!(
                "self-calibration: the exit program did not copy thread {tid} (is {} attached?)",
                abi::EVENT
            ));
        }
        Ok((round, window[8..].to_vec()))
    })
}

/// Writes `totals` into the task slots of `spec`'s counters (after the BPF
/// value's), adding rows for UIDs the group's programs never saw while the
/// group's table has room, and the rest to its `other`.
pub(crate) fn fill(
    spec: &'static crate::probes::memory::GroupSpec,
    totals: &Totals,
    counters: &mut crate::stats::counters::GroupCounters,
) {
    let base = spec.value_size() / 8;
    let slots = spec.slots();
    let values = |t: &UidTotals| -> Vec<u64> {
        match spec.name {
            "faults" => t.faults.to_vec(),
            "rss" => t.rss.iter().chain(&t.peak).copied().collect(),
            _ => Vec::new(),
        }
    };
    let put = |row: &mut Vec<u64>, v: &[u64]| {
        row.resize(slots, 0);
        for (slot, &x) in row[base..].iter_mut().zip(v) {
            *slot = x;
        }
    };
    // The group's rows stay within its table, as its map's do.
    let table = crate::abi::memory::UID_ENTRIES as usize;
    let mut other = totals.other;
    for (uid, t) in &totals.uids {
        if counters.uids.len() >= table && !counters.uids.contains_key(uid) {
            other.add(t);
            continue;
        }
        let row = counters.uids.entry(*uid).or_default();
        put(row, &values(t));
    }
    put(&mut counters.other, &values(&other));
}

impl TaskSource {
    /// The source's maps by name, with the kernel's memory charge.
    pub(crate) fn maps_memlock(&self) -> Vec<(String, Option<u64>)> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let m = &inner.maps;
        [
            (abi::MAP_UID, &m.uid),
            (abi::MAP_OTHER, &m.other),
            (abi::MAP_DEAD, &m.dead),
            (abi::MAP_CONFIG, &m.config),
            (abi::MAP_HELD, &m.held),
            (abi::MAP_DROPS, &m.drops),
            (abi::MAP_WINDOW, &m.window),
        ]
        .into_iter()
        .map(|(name, map)| (name.to_owned(), map.memlock().ok()))
        .collect()
    }
}

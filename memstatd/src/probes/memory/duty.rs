//! The duty cycle of the hot groups ([`CYCLED`]: pagealloc, slab and
//! memsyscalls), their default mode: the programs are attached for a window
//! of W out of every period of P, at a random phase in each period (a
//! detached tracepoint costs nothing), and each UID's counts in the window
//! are scaled to the period ([`estimate`]).
//!
//! What a slot is scaled to: page allocations and frees to the exact global
//! `pgalloc_*` and `pgfree` deltas of `/proc/vmstat` over the period (the
//! UID's share of the pages the window saw, times the pages the kernel
//! counted); everything without a global counter (failed allocations, all
//! of slab and of memsyscalls) by the period's length over the time the
//! programs counted. The kernel has no global count of slab allocations:
//! `nr_slab_*` are gauges of the bytes held, whose delta is allocations
//! minus frees, so a share of it would not be the bytes a UID allocated.
//! Nor of memory syscalls or their bytes (the syscall group counts each
//! call per UID exactly, but not the bytes).
//!
//! The window is exact in time: the programs count only between two writes
//! of the config map's `paused` flag, attached before and detached after;
//! the params are written anew with the unpause (memsyscalls' brk session:
//! a window compares only breaks it saw itself).
//!
//! The estimates survive a restart in `duty-<group>.json` in the state
//! directory, written at the end of every period and at each switch; the
//! period under way when memstatd stops is not counted.

use super::estimate::{Estimate, Estimator, Rows, Scale};
use super::{GroupMode, GroupSample, GroupSpec, MemoryProbe};
use crate::bpf::Attachment;
use crate::system::reading::Root;
use crate::system::vmstat::{self, Counter};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The duty cycle of every cycled group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// W: how long the programs count in each period.
    pub window: Duration,
    /// P: one window in every period.
    pub period: Duration,
    /// Phases from this seed (tests), or from the kernel's random numbers.
    pub seed: Option<u64>,
}

impl Default for Config {
    /// 0.5 s in every 32 s, 1/64 (README: cost of the memory groups).
    fn default() -> Self {
        Config {
            window: Duration::from_millis(500),
            period: Duration::from_secs(32),
            seed: None,
        }
    }
}

impl Config {
    /// `W/P` in milliseconds, e.g. `1000/32000`: W from 10 ms, at most P/2.
    pub fn parse_cycle(text: &str) -> Result<(Duration, Duration), String> {
        let parsed = text
            .split_once('/')
            .and_then(|(w, p)| Some((w.parse::<u64>().ok()?, p.parse::<u64>().ok()?)));
        match parsed {
            Some((w, p)) if w >= 10 && w.saturating_mul(2) <= p && p <= 3_600_000 => {
                Ok((Duration::from_millis(w), Duration::from_millis(p)))
            }
            _ => Err(format!(
                "{text:?} is not W/P in milliseconds with 10 <= W <= P/2 and P <= 3600000 \
                 (e.g. 1000/32000)"
            )),
        }
    }
}

static CONFIG: OnceLock<Config> = OnceLock::new();

/// Sets the duty cycle, once, before the probes open.
pub fn configure(config: Config) {
    let _ = CONFIG.set(config);
}

pub(crate) fn config() -> Config {
    CONFIG.get().copied().unwrap_or_default()
}

/// The groups that are duty-cycled unless switched on or off, and what
/// their windows are scaled to ([`scales`]), for the probes section.
const CYCLED: [(&str, &str); 3] = [
    (
        "pagealloc",
        "pages scaled to /proc/vmstat pgalloc_* and pgfree",
    ),
    (
        "slab",
        "scaled by the time attached (the kernel counts no slab allocations)",
    ),
    (
        "memsyscalls",
        "scaled by the time attached (the kernel counts no memory syscalls or bytes; the \
         syscalls section counts each call per UID exactly: syscalls.mmap.count)",
    ),
];

pub(crate) fn cycled(name: &str) -> bool {
    CYCLED.iter().any(|(g, _)| *g == name)
}

/// The cycled groups' names, for messages: `pagealloc, slab, memsyscalls`.
pub(crate) fn cycled_names() -> String {
    CYCLED.map(|(g, _)| g).join(", ")
}

/// The metrics of `spec` that get a 95% CI: every one that is linear in the
/// slots (a ratio is not).
pub(crate) fn ci_metrics(spec: &'static GroupSpec) -> Vec<String> {
    let ones = vec![1; spec.slots()];
    (spec.metrics)(&spec.value(&ones))
        .into_iter()
        .map(|(name, _)| name)
        .filter(|name| !name.ends_with("permille"))
        .collect()
}

/// `<metric>.ci95` for every metric of `spec` with a CI, from a window's
/// variances (none: an idle row, zero).
pub(crate) fn ci_entries(
    spec: &'static GroupSpec,
    variance: Option<&[u128]>,
) -> Vec<(String, u64)> {
    ci_metrics(spec)
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            let v = variance.and_then(|v| v.get(i)).copied().unwrap_or(0);
            (format!("{name}.ci95"), super::estimate::ci95(v))
        })
        .collect()
}

/// What `--probe GROUP=duty` does, in words.
pub(crate) fn cycle_text() -> String {
    let c = config();
    format!(
        "duty-cycled: attached {} ms in every {} ms at a random phase; estimates \u{b1} 95% CI",
        c.window.as_millis(),
        c.period.as_millis()
    )
}

/// What the probes section says of a cycled group's mode.
pub(crate) fn describe(spec: &GroupSpec) -> String {
    let scaled = CYCLED
        .iter()
        .find(|(g, _)| *g == spec.name)
        .map_or("", |(_, s)| s);
    format!(
        "{}, {scaled}; --probe {}=on counts every event",
        cycle_text(),
        spec.name
    )
}

/// A cycled group's estimator and schedule, held by its probe.
pub(crate) struct Cycle {
    est: Estimator,
    /// Raw counts when the programs were last attached for good (`on` or
    /// `1/N`): what they counted since is added to the estimate exactly.
    exact_base: Option<Rows>,
    period: Option<Period>,
    rng: u64,
    saver: Option<Arc<Saver>>,
}

struct Period {
    start: Instant,
    vmstat: Option<[u64; 2]>,
    open_at: Instant,
    phase: Phase,
}

enum Phase {
    Waiting,
    Open { raw: Rows, since: Instant },
    Done { counted: Rows, attached: Duration },
}

/// Where the estimates are kept across restarts (the state directory).
pub(crate) trait Keeper: Send + Sync {
    fn load(&self, name: &str) -> std::io::Result<serde_json::Value>;
    fn store(&self, name: &str, value: &serde_json::Value) -> std::io::Result<()>;
    /// Where, for messages.
    fn place(&self) -> String;
}

pub(crate) struct Saver {
    keeper: Arc<dyn Keeper>,
    boot_id: String,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    boot_id: String,
    /// The id of the group's UID map: a new map means new raw counts.
    map_id: u32,
    est: Estimator,
    exact_base: Option<Rows>,
}

fn file_name(spec: &GroupSpec) -> String {
    format!("duty-{}.json", spec.name)
}

impl Cycle {
    pub(crate) fn new(index: u64, on: bool, slots: usize) -> Self {
        let seed = config().seed.unwrap_or_else(random_seed);
        Cycle {
            est: Estimator::default(),
            // Counts made before any estimate was kept are exact.
            exact_base: on.then(|| Rows {
                other: vec![0; slots],
                ..Rows::default()
            }),
            period: None,
            rng: seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            saver: None,
        }
    }

    /// A uniform draw from `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        if n == 0 {
            0
        } else {
            z % n
        }
    }
}

fn random_seed() -> u64 {
    let mut seed = [0u8; 8];
    // SAFETY: getrandom writes at most `len` bytes into the buffer.
    let n = unsafe { libc::getrandom(seed.as_mut_ptr().cast(), seed.len(), 0) };
    if n == 8 {
        u64::from_ne_bytes(seed)
    } else {
        crate::system::boottime_ns() ^ u64::from(std::process::id())
    }
}

fn rows(sample: &GroupSample) -> Rows {
    Rows {
        uids: sample.uids.iter().cloned().collect(),
        other: sample.other.clone(),
    }
}

/// `now - then`, row by row (a row that went back, a map recreated,
/// counts from zero).
fn delta(now: &Rows, then: &Rows) -> Rows {
    let sub = |n: &[u64], t: Option<&Vec<u64>>| -> Vec<u64> {
        let t = t.map(Vec::as_slice).unwrap_or(&[]);
        if n.iter().zip(t).any(|(n, t)| n < t) {
            return n.to_vec();
        }
        n.iter()
            .enumerate()
            .map(|(i, &n)| n - t.get(i).copied().unwrap_or(0))
            .collect()
    };
    Rows {
        uids: now
            .uids
            .iter()
            .map(|(u, n)| (*u, sub(n, then.uids.get(u))))
            .filter(|(_, d)| d.iter().any(|&x| x != 0))
            .collect(),
        other: sub(&now.other, Some(&then.other)),
    }
}

fn global_pages() -> Option<[u64; 2]> {
    let reading = vmstat::read(&Root::default());
    let v = reading.value()?;
    Some([v.get(Counter::PgAlloc)?, v.get(Counter::PgFree)?])
}

/// What each slot of `spec` is scaled by in a period of `period` whose
/// window counted `counted` for `attached`, with the global page counters'
/// deltas `pages` (`[pgalloc, pgfree]`) when they could be read.
pub(crate) fn scales(
    spec: &'static GroupSpec,
    counted: &Rows,
    attached: Duration,
    period: Duration,
    pages: Option<[u64; 2]>,
) -> Vec<Scale> {
    let time = Scale {
        total: period.as_secs_f64(),
        observed: attached.as_secs_f64(),
    };
    let mut out = vec![time; spec.slots()];
    let (Some(pages), "pagealloc") = (pages, spec.name) else {
        return out;
    };
    for (field, slots, total) in [
        ("alloc", &["alloc", "alloc_class"][..], pages[0]),
        ("free", &["free"][..], pages[1]),
    ] {
        let range = spec.slot_range(field).expect("pagealloc field");
        let seen: u64 = counted
            .uids
            .values()
            .chain([&counted.other])
            .map(|row| super::pagealloc::pages(row.get(range.clone()).unwrap_or(&[])))
            .fold(0u64, u64::saturating_add);
        let scale = Scale {
            total: total as f64,
            observed: seen as f64,
        };
        for f in slots {
            for i in spec.slot_range(f).expect("pagealloc field") {
                out[i] = scale;
            }
        }
    }
    out
}

impl MemoryProbe {
    fn set_paused(&self, paused: bool) -> Result<(), String> {
        let mut c = self.config().map_err(|e| e.to_string())?;
        c.paused = u32::from(paused);
        self.write_config(&c)
    }

    /// Opens a window: unpaused, with params anew (memsyscalls' session).
    fn resume(&self) -> Result<(), String> {
        let mut c = self.config().map_err(|e| e.to_string())?;
        c.param = (self.spec.params)(&self.tracefs)?;
        c.paused = 0;
        self.write_config(&c)
    }

    fn raw_rows(&self) -> Result<Rows, String> {
        self.read_raw().map(|s| rows(&s)).map_err(|e| e.to_string())
    }

    fn metric_fn(&self) -> impl Fn(&[u64]) -> Vec<(String, u64)> {
        let spec = self.spec;
        move |slots: &[u64]| (spec.metrics)(&spec.value(slots))
    }

    /// The cumulative estimate a read shows: the folded periods, plus what
    /// the programs counted since they were attached for good.
    pub(super) fn estimated(&self, raw: &GroupSample, cycle: &Cycle) -> GroupSample {
        let ci = ci_metrics(self.spec);
        let ci: Vec<&str> = ci.iter().map(String::as_str).collect();
        let est = match (&cycle.exact_base, self.mode()) {
            (Some(base), GroupMode::On { sample_every }) => {
                let mut est = cycle.est.clone();
                let metrics = self.metric_fn();
                est.add_counted(&delta(&rows(raw), base), sample_every, &metrics, &ci);
                est.estimate(self.spec.slots(), ci.len())
            }
            _ => cycle.est.estimate(self.spec.slots(), ci.len()),
        };
        let Estimate { uids, other } = est;
        GroupSample {
            variance: uids.iter().map(|(u, (_, v))| (*u, v.clone())).collect(),
            uids: uids.into_iter().map(|(u, (e, _))| (u, e)).collect(),
            other_variance: other.1,
            other: other.0,
            table_entries: raw.table_entries,
            table_used: raw.table_used,
        }
    }

    /// Ends what the current mode counts (an exact stretch is added, a
    /// period under way dropped) before a switch to `mode`, and starts what
    /// `mode` counts after it is written.
    pub(super) fn switch_cycle(&mut self, mode: GroupMode, before: bool) -> Result<(), String> {
        let Some(mut cycle) = self.cycle.take() else {
            return Ok(());
        };
        let done = if before {
            self.end_stretch(&mut cycle)
        } else {
            let start = match mode {
                GroupMode::On { .. } => self.raw_rows().map(|r| cycle.exact_base = Some(r)),
                GroupMode::Duty => self.set_paused(true),
                GroupMode::Off => Ok(()),
            };
            self.save(&cycle);
            start
        };
        self.cycle = Some(cycle);
        done
    }

    fn end_stretch(&mut self, cycle: &mut Cycle) -> Result<(), String> {
        cycle.period = None;
        if let Some(base) = cycle.exact_base.take() {
            let GroupMode::On { sample_every } = self.mode() else {
                return Ok(());
            };
            let ci = ci_metrics(self.spec);
            let ci: Vec<&str> = ci.iter().map(String::as_str).collect();
            let counted = delta(&self.raw_rows()?, &base);
            let metrics = self.metric_fn();
            cycle.est.add_counted(&counted, sample_every, &metrics, &ci);
        }
        Ok(())
    }

    /// Takes the estimates kept in `saver`'s directory when they belong to
    /// this boot and these maps.
    pub(super) fn restore(&mut self, saver: &Arc<Saver>) {
        let Some(mut cycle) = self.cycle.take() else {
            return;
        };
        let map_id = self.maps()[0].1.id();
        let name = file_name(self.spec);
        let saved = saver.keeper.load(&name).and_then(|v| {
            serde_json::from_value::<Saved>(v)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        });
        match saved {
            Ok(s) if s.boot_id == saver.boot_id && s.map_id == map_id && self.fits(&s.est) => {
                let on = matches!(self.mode(), GroupMode::On { .. });
                cycle.est = s.est;
                cycle.exact_base = match (s.exact_base, on) {
                    (Some(base), true) => Some(base),
                    // Switched since (only memstatd switches): from now.
                    (_, true) => self.raw_rows().ok(),
                    (_, false) => None,
                };
            }
            Ok(_) => log::info!("{name}: from another boot or maps; estimates start at zero"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("{name}: {e}; estimates start at zero"),
        }
        cycle.saver = Some(saver.clone());
        self.cycle = Some(cycle);
    }

    /// Whether kept estimates have this group's layout.
    fn fits(&self, est: &Estimator) -> bool {
        let (slots, ci) = (self.spec.slots(), ci_metrics(self.spec).len());
        est.uids
            .values()
            .chain([&est.other])
            .all(|r| r.est.len() <= slots && r.var.len() <= ci && r.prev.len() <= slots)
    }

    fn save(&self, cycle: &Cycle) {
        let Some(saver) = &cycle.saver else {
            return;
        };
        let saved = Saved {
            boot_id: saver.boot_id.clone(),
            map_id: self.maps()[0].1.id(),
            est: cycle.est.clone(),
            exact_base: cycle.exact_base.clone(),
        };
        let name = file_name(self.spec);
        let stored = serde_json::to_value(&saved)
            .map_err(std::io::Error::other)
            .and_then(|v| saver.keeper.store(&name, &v));
        if let Err(e) = stored {
            log::warn!(
                "{}/{name}: cannot save the estimates: {e}",
                saver.keeper.place()
            );
        }
    }

    /// Moves the duty cycle on at `now`; the next time it needs a step.
    fn duty_step(&mut self, now: Instant) -> Option<Instant> {
        if self.mode() != GroupMode::Duty {
            return None;
        }
        let mut cycle = self.cycle.take()?;
        let next = self.step(&mut cycle, now).unwrap_or_else(|why| {
            log::warn!("{}: duty window dropped: {why}", self.spec.name);
            self.attachments.clear();
            let _ = self.set_paused(true);
            cycle.period = None;
            now + Duration::from_secs(1)
        });
        self.cycle = Some(cycle);
        Some(next)
    }

    fn step(&mut self, cycle: &mut Cycle, now: Instant) -> Result<Instant, String> {
        let c = config();
        let Some(p) = &mut cycle.period else {
            let span = (c.period - c.window).as_millis() as u64;
            let offset = Duration::from_millis(cycle.below(span + 1));
            cycle.period = Some(Period {
                start: now,
                vmstat: global_pages(),
                open_at: now + offset,
                phase: Phase::Waiting,
            });
            return Ok(now + offset);
        };
        match &p.phase {
            Phase::Waiting if now < p.open_at => Ok(p.open_at),
            Phase::Waiting => {
                self.set_paused(true)?;
                self.serve(true)?;
                let raw = self.raw_rows()?;
                self.resume()?;
                let since = Instant::now();
                p.phase = Phase::Open { raw, since };
                Ok(since + c.window)
            }
            Phase::Open { since, .. } if now < *since + c.window => Ok(*since + c.window),
            Phase::Open { raw, since } => {
                self.set_paused(true)?;
                let attached = since.elapsed();
                let counted = delta(&self.raw_rows()?, raw);
                detach_aside(std::mem::take(&mut self.attachments));
                p.phase = Phase::Done { counted, attached };
                Ok(p.start + c.period)
            }
            Phase::Done { .. } if now < p.start + c.period => Ok(p.start + c.period),
            Phase::Done { .. } => {
                let Some(Period {
                    start,
                    vmstat,
                    phase: Phase::Done { counted, attached },
                    ..
                }) = cycle.period.take()
                else {
                    return Err("no window in the period".into());
                };
                let pages = vmstat
                    .zip(global_pages())
                    .map(|(a, b)| [b[0].saturating_sub(a[0]), b[1].saturating_sub(a[1])]);
                let scales = scales(self.spec, &counted, attached, now - start, pages);
                let ci = ci_metrics(self.spec);
                let ci: Vec<&str> = ci.iter().map(String::as_str).collect();
                let metrics = self.metric_fn();
                cycle.est.fold_window(&counted, &scales, &metrics, &ci);
                self.save(cycle);
                self.step(cycle, now)
            }
        }
    }
}

/// Detaches `gone` on a thread of its own (the group is paused: its
/// programs count nothing already). Each tracepoint's detach waits for RCU
/// grace periods, about 70 ms here, a second for memsyscalls' thirteen:
/// on the duty thread that would hold up the other groups' windows.
fn detach_aside(gone: Vec<Attachment>) {
    if gone.is_empty() {
        return;
    }
    // Without a thread the closure is dropped here, and detaches now.
    let _ = std::thread::Builder::new()
        .name("memstat-detach".into())
        .spawn(move || drop(gone));
}

/// Keeps every cycled group's estimates with `keeper` and takes those kept
/// there.
pub(crate) fn restore(
    probes: &mut [(&'static GroupSpec, Result<MemoryProbe, String>)],
    keeper: Arc<dyn Keeper>,
) {
    let saver = match crate::system::boot_id() {
        Ok(boot_id) => Arc::new(Saver { keeper, boot_id }),
        Err(e) => {
            log::warn!(
                "duty-cycle estimates are not kept across restarts: cannot tell this boot: {e}"
            );
            return;
        }
    };
    for (_, probe) in probes.iter_mut() {
        if let Ok(p) = probe {
            p.restore(&saver);
        }
    }
}

/// Moves every cycled group's duty cycle on; when to call again.
pub(crate) fn tick(
    probes: &mut [(&'static GroupSpec, Result<MemoryProbe, String>)],
    now: Instant,
) -> Instant {
    // A group switched to duty starts within this.
    let mut next = now + Duration::from_secs(1);
    for (_, probe) in probes.iter_mut() {
        if let Some(at) = probe.as_mut().ok().and_then(|p| p.duty_step(now)) {
            next = next.min(at);
        }
    }
    next
}

/// Runs `step` on a thread of its own until it returns `None`, sleeping
/// until the time it returns.
pub(crate) fn run(mut step: impl FnMut(Instant) -> Option<Instant> + Send + 'static) {
    let spawned = std::thread::Builder::new()
        .name("memstat-duty".into())
        .spawn(move || {
            while let Some(next) = step(Instant::now()) {
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        });
    if let Err(e) = spawned {
        log::error!(
            "cannot start the duty-cycle thread: {e}; {} stay detached",
            cycled_names()
        );
    }
}

#[cfg(test)]
mod tests;

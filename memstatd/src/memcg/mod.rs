//! The per-app memory cgroup source: each app UID's faults and charged
//! memory as the kernel's memory controller counts them, where the platform
//! runs apps in per-app cgroups ([`layout`]). It adds to the `faults` and
//! `rss` groups (`memcg.*`, `charged.*`) for the UIDs that have such a
//! cgroup, at no cost per event: the controller counts anyway.
//!
//! A `uid_<N>` cgroup is removed when its app's last process ends, and its
//! counts with it. [`Book`] keeps what each cgroup showed at its last read
//! (a poll every [`Config::period`] and every report), so a UID's counts
//! never go back. What a removed cgroup counted after its last read is in
//! its parent's sums: the parent's count less every UID's is the `other`
//! bucket (no UID), which is how a gate learns it cannot tell. Where the
//! parent is the root (v2: no `memory.stat`; v1: the sums of every
//! process), such counts are lost, and the probes line says how many
//! cgroups went.

mod book;
mod layout;

use book::Book;
pub(crate) use book::Reading;
use layout::Layout;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// Where to look for per-app memory cgroups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Choice {
    /// The v2 root (`/sys/fs/cgroup`), else the v1 memory hierarchy
    /// (`/dev/memcg`): the first with per-app cgroups.
    #[default]
    Auto,
    /// Not used (`--app-memcg off`).
    Off,
    /// This cgroup directory (`--app-memcg DIR`).
    Dir(PathBuf),
}

/// The source's settings (memstatd's options).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Where the cgroups are.
    pub choice: Choice,
    /// Period of the reads between reports.
    pub period: Duration,
}

impl Default for Config {
    /// Every 30 s: a read of 300 cgroups took 17–19 ms of CPU here (v1,
    /// mostly the kernel's), 0.06% of one CPU. An app's counts after its
    /// cgroup's last read are in `other`, where its parent has sums.
    fn default() -> Self {
        Config {
            choice: Choice::Auto,
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
    CONFIG.get().cloned().unwrap_or_default()
}

/// At most this many `uid_<N>` cgroups are read (the groups' tables hold
/// fewer; the rest of those read go to `other`).
const MAX_CGROUPS: usize = 8192;

struct Inner {
    layout: Layout,
    book: Book,
    /// CPU time of the last read, the `uid_<N>` cgroups it found, and those
    /// with memory files.
    cost: (Duration, usize, usize),
}

/// The per-app memory cgroup source, found.
pub struct MemcgSource {
    inner: Arc<Mutex<Inner>>,
    period: Duration,
}

impl MemcgSource {
    /// Finds the per-app cgroups, reads them once and starts the periodic
    /// reads; why not, where there are none or the source is off.
    pub fn open() -> Result<Self, String> {
        let config = config();
        let layout = match &config.choice {
            Choice::Off => return Err("off (--app-memcg off)".into()),
            Choice::Dir(dir) => Layout::find(dir)?,
            Choice::Auto => Layout::find(Path::new("/sys/fs/cgroup")).or_else(|v2| {
                Layout::find(Path::new("/dev/memcg")).map_err(|v1| format!("{v2}; {v1}"))
            })?,
        };
        log::info!(
            "per-app memory cgroups: {} under {}",
            layout.version.name(),
            layout
                .parents
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        let parents = layout.parents.len();
        let source = MemcgSource {
            inner: Arc::new(Mutex::new(Inner {
                layout,
                book: Book::new(parents),
                cost: (Duration::ZERO, 0, 0),
            })),
            period: config.period,
        };
        source.read();
        poll_in_background(Arc::downgrade(&source.inner), source.period);
        Ok(source)
    }

    /// Reads now; every report does.
    pub(crate) fn read(&self) -> Reading {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.read()
    }

    /// What the report's probe lines say of the source.
    pub(crate) fn describe(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let l = &inner.layout;
        let (cpu, cgroups, counted) = inner.cost;
        let lost = match inner.book.gone_unrecoverable() {
            0 => String::new(),
            n => format!(
                "; {n} cgroups removed under the root, whose counts after their last read \
                 are lost"
            ),
        };
        format!(
            "per-app memory cgroups ({}, {}): read every {} s and at each report (last: {cgroups} \
             uid cgroups, {counted} with memory files, in {} µs of CPU); exact as the controller counts, up to its batching of \
             about 64 events per CPU for 2 s{lost}",
            l.version.name(),
            l.parents
                .iter()
                .map(|(p, _)| format!("{}/uid_<N>", p.display()))
                .collect::<Vec<_>>()
                .join(", "),
            self.period.as_secs(),
            cpu.as_micros(),
        )
    }
}

impl Inner {
    fn read(&mut self) -> Reading {
        let started = crate::tasks::thread_cpu();
        // The parents first: their sums then hold no count a UID read
        // after them lacks, so `other` never takes a UID's counts.
        let parents: Vec<Option<[u64; 2]>> = self
            .layout
            .parents
            .iter()
            .map(|(p, apps_only)| apps_only.then(|| self.layout.stat(p)).flatten())
            .map(|s| s.map(|s| s.faults))
            .collect();
        let found = self.layout.read(MAX_CGROUPS);
        self.cost = (
            crate::tasks::thread_cpu().saturating_sub(started),
            found.len(),
            found.iter().filter(|f| f.stat.is_some()).count(),
        );
        self.book.update(&found, &parents)
    }
}

/// Reads every `period` while the source lives.
fn poll_in_background(inner: Weak<Mutex<Inner>>, period: Duration) {
    let spawned = std::thread::Builder::new()
        .name("memstat-memcg".into())
        .spawn(move || loop {
            let next = Instant::now() + period;
            std::thread::sleep(period);
            let Some(inner) = inner.upgrade() else {
                return;
            };
            inner.lock().unwrap_or_else(|e| e.into_inner()).read();
            drop(inner);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        });
    if let Err(e) = spawned {
        log::warn!("per-app memory cgroups: no periodic reads (cannot start a thread: {e})");
    }
}

/// Writes `reading` into the memcg slots of `spec`'s counters (after the
/// BPF value's and the task counters'), adding rows for UIDs the group has
/// none for while its table has room, and the rest to its `other`.
pub(crate) fn fill(
    spec: &'static crate::probes::memory::GroupSpec,
    reading: &Reading,
    counters: &mut crate::stats::counters::GroupCounters,
) {
    let fields = spec.memcg_fields();
    if fields.is_empty() {
        return;
    }
    let slots = spec.slots();
    let base = slots - fields.iter().map(|f| f.slots).sum::<usize>();
    let values = |u: &book::UidMemcg| -> Option<Vec<u64>> {
        match spec.name {
            "faults" => Some([&[1][..], &u.faults].concat()),
            "rss" => u.charged.map(|c| [&[1][..], &c].concat()),
            _ => None,
        }
    };
    let put = |row: &mut Vec<u64>, v: &[u64]| {
        row.resize(slots, 0);
        row[base..].copy_from_slice(v);
    };
    let table = crate::abi::memory::UID_ENTRIES as usize;
    let mut other = reading.other;
    for (uid, u) in &reading.uids {
        let Some(v) = values(u) else {
            continue;
        };
        if counters.uids.len() >= table && !counters.uids.contains_key(uid) {
            other.faults = [0, 1].map(|i| other.faults[i].saturating_add(u.faults[i]));
            continue;
        }
        put(counters.uids.entry(*uid).or_default(), &v);
    }
    // The bucket of no UID says the source was read. Only faults count
    // in it: charged bytes of cgroups beyond the table are not summed
    // (their rows say nothing, as an absent UID's).
    let mut bucket = vec![0; slots - base];
    bucket[0] = 1;
    if spec.name == "faults" {
        bucket[1..].copy_from_slice(&other.faults);
    }
    put(&mut counters.other, &bucket);
}

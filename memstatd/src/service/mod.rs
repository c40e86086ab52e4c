//! The service core: `dump(out, args, caller)`, the one path every output
//! takes (the memstat CLI over the host socket, dumpsys and bugreports over
//! binder). Transports only carry bytes and the caller's identity.
//!
//! Access: root sees every UID and may change state (reset, snapshots,
//! latency mode); any other caller sees only its own UID and may only read.

pub mod args;
mod engine;
mod gate;
mod keeper;
pub mod permission;

use crate::advisor::{self, Advice, Evidence, Recent};
use crate::probes::syscalls::syscall_number;
use crate::probes::Probes;
use crate::report::model::*;
use crate::report::{self, text};
use crate::stats::counters::{Counters, SYSCALLS};
use crate::stats::diff::{self, Side};
use crate::stats::metrics::{self, UidMetrics};
use crate::stats::state::{
    GenerationInfo, Opened, Snapshot, SnapshotDir, SnapshotMeta, Source, StateError, Store,
};
use crate::system;
use crate::system::reading::Root;
use crate::system::view::{Sampled, SystemView, SAMPLE_EVERY};
use crate::uid::UidNames;
use args::{Args, Command};
use engine::{counters_since_ms, mode_text, read_all, set_peak_epoch, source_maps, Engine};
use gate::{crossings, listed, outcome, Gate};
use permission::Access;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use thiserror::Error;

/// Who is asking, as the transport vouches for it (SO_PEERCRED, binder),
/// and what the transport decided it may do (`permission`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    pub(crate) uid: u32,
    pub(crate) pid: i32,
    pub(crate) access: Access,
}

impl Caller {
    fn sees_all(self) -> bool {
        self.access != Access::OwnUid
    }
}

/// A dump that ran to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The report (or command) was written in full.
    Done,
    /// A `--fail-if` threshold was crossed (the dump says which).
    ThresholdCrossed,
}

/// Why a dump stopped. Each kind is its own `Status` on the socket and exit
/// code of the CLI, with the message on stderr.
#[derive(Debug, Error)]
pub enum DumpError {
    /// Bad arguments: the message names the argument and the choices.
    #[error("{0}")]
    Usage(String),
    /// The caller may not do this: change state without being a state changer,
    /// or see a UID other than its own.
    #[error("permission denied: {0}")]
    Denied(String),
    /// The dump could not be made: counters or state unreadable, a probe group
    /// unavailable or not switchable.
    #[error("{0}")]
    Failed(String),
    /// The output went away (the client hung up).
    #[error("output closed: {0}")]
    Output(#[from] io::Error),
}

impl From<StateError> for DumpError {
    fn from(e: StateError) -> Self {
        // A well-formed request the state cannot serve (no such snapshot,
        // 32 kept, unwritable) failed; only a malformed name is a usage error.
        match e {
            StateError::BadName(_) => DumpError::Usage(e.to_string()),
            _ => DumpError::Failed(e.to_string()),
        }
    }
}

/// How memstatd reached its BPF objects, as reports say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// On a Linux host: memstatd loaded the objects itself (`--host`).
    Host,
    /// On Android: the platform bpfloader loaded them (`--device`).
    Device,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Host => "host",
            Mode::Device => "device",
        }
    }
}

/// The service core: the probes, state and UID names behind every dump.
pub struct Service {
    mode: Mode,
    /// Shared with the duty-cycle thread (`keeper`).
    engine: Arc<Mutex<Engine>>,
    /// What a background thread samples: vmstat (for recent rates) and
    /// pagetypeinfo (too costly to read at every request).
    sampled: Arc<Mutex<Sampled>>,
}

impl Service {
    /// The service over opened probes, with its state in `state_dir` and
    /// `names` for UIDs. A generation goes on across restarts unless the
    /// kernel's counters were reset in between.
    pub fn new(
        mode: Mode,
        mut probes: Probes,
        state_dir: &Path,
        names: UidNames,
    ) -> Result<Self, String> {
        let boot_id = system::boot_id().map_err(|e| format!("cannot tell this boot: {e}"))?;
        // The estimates carry the generation on as the maps do.
        keeper::restore(&mut probes, state_dir);
        // Any group that can be read carries the generation on.
        let reading = read_all(&probes);
        let (store, opened) = if reading.counters.nothing_read() {
            Store::open(state_dir, None, system::now_ms())
        } else {
            let source = Source {
                boot_id,
                maps: source_maps(&probes),
            };
            let since = counters_since_ms(&probes);
            Store::open(state_dir, Some((&source, &reading.counters)), since)
        }
        .map_err(|e| e.to_string())?;
        set_peak_epoch(&probes, store.generation().info.id);
        match opened {
            Opened::Continued => log::info!(
                "generation {} goes on ({})",
                store.generation().info.id,
                store.generation().info.cause.describe()
            ),
            Opened::Started(why) => {
                log::info!("generation {} started: {why}", store.generation().info.id)
            }
        }
        if let Some(note) = store.note() {
            log::warn!("{note}");
        }
        let engine = Arc::new(Mutex::new(Engine {
            probes,
            store,
            names,
        }));
        keeper::start(&engine);
        Ok(Service {
            mode,
            engine,
            sampled: sample_system(),
        })
    }

    /// The engine; a client thread that panicked while holding it left
    /// nothing half-written (state is written to disk atomically), so the
    /// lock is taken over rather than poisoning the daemon.
    fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Renders what `args` ask for to `out`, as `caller` may see it.
    pub(crate) fn dump(
        &self,
        out: &mut dyn Write,
        args: &[String],
        caller: Caller,
    ) -> Result<Outcome, DumpError> {
        let a = args::parse(args).map_err(DumpError::Usage)?;
        self.check_access(&a, caller)?;
        match &a.command {
            Command::Help => {
                out.write_all(args::USAGE.as_bytes())?;
                Ok(Outcome::Done)
            }
            Command::Report => self.report(out, &a, caller),
            Command::Diff { from, to } => self.diff(out, &a, caller, from, to.as_deref()),
            Command::Reset => {
                let mut e = self.engine();
                let reading = e.read()?;
                let previous = e.store.generation().info.clone();
                let now = system::now_ms();
                let g = e.store.reset(reading.counters, now)?.info.clone();
                set_peak_epoch(&e.probes, g.id);
                drop(e);
                let message = format!(
                    "generation {} started at {}: windows count from now on (generation {} ran {})",
                    g.id,
                    text::time(g.started_ms),
                    previous.id,
                    text::duration(now.saturating_sub(previous.started_ms))
                );
                action(out, &a, "reset", message, g)
            }
            Command::Snapshot(name) => {
                let e = self.engine();
                let window = e.window()?.0;
                let uids = metrics::per_uid(&window).len();
                let replaced = e.store.save_snapshot(name, window, system::now_ms())?;
                let g = e.store.generation().info.clone();
                drop(e);
                let message = format!(
                    "snapshot {name:?} {} ({uids} UIDs, generation {})",
                    if replaced { "replaced" } else { "saved" },
                    g.id
                );
                action(out, &a, "snapshot", message, g)
            }
            Command::DeleteSnapshot(name) => {
                let (snapshots, g) = self.snapshots();
                snapshots.delete(name)?;
                action(out, &a, "delete", format!("snapshot {name:?} deleted"), g)
            }
            Command::ListSnapshots => {
                let (snapshots, current_generation) = self.snapshots();
                let list = SnapshotList {
                    schema: SCHEMA,
                    kind: "snapshots",
                    current_generation,
                    snapshots: snapshots.list()?,
                };
                if a.json {
                    report::json(out, &list)?;
                } else {
                    text::snapshot_list(out, &list)?;
                }
                Ok(Outcome::Done)
            }
            Command::Probe { group, mode } => {
                let mut e = self.engine();
                let probe = e
                    .probes
                    .memory
                    .iter_mut()
                    .find(|(spec, _)| spec.name == *group)
                    .map(|(_, p)| p.as_mut())
                    .ok_or_else(|| DumpError::Failed(format!("no memory group {group}")))?
                    .map_err(|why| {
                        DumpError::Failed(format!("the {group} probe group is unavailable: {why}"))
                    })?;
                probe.set_mode(*mode).map_err(|err| {
                    DumpError::Failed(format!("cannot switch the {group} group: {err}"))
                })?;
                let message = format!("{group}: {}", mode_text(probe.mode()));
                let g = e.store.generation().info.clone();
                drop(e);
                action(out, &a, "probe", message, g)
            }
            Command::Latency(on) => {
                let mut e = self.engine();
                let probe = e.probes.syscalls.as_mut().map_err(|why| {
                    DumpError::Failed(format!("the syscalls probe group is unavailable: {why}"))
                })?;
                probe.set_latency(*on).map_err(|err| {
                    DumpError::Failed(format!("cannot switch latency mode: {err}"))
                })?;
                let g = e.store.generation().info.clone();
                drop(e);
                let message = format!("latency mode {}", if *on { "on" } else { "off" });
                action(out, &a, "latency", message, g)
            }
        }
    }

    /// The snapshot files and the current generation, for work on files that
    /// needs no lock.
    fn snapshots(&self) -> (SnapshotDir, GenerationInfo) {
        let e = self.engine();
        (e.store.snapshots(), e.store.generation().info.clone())
    }

    fn check_access(&self, a: &Args, caller: Caller) -> Result<(), DumpError> {
        if caller.access == Access::Full {
            return Ok(());
        }
        let changes_state = matches!(
            a.command,
            Command::Reset
                | Command::Snapshot(_)
                | Command::DeleteSnapshot(_)
                | Command::Latency(_)
                | Command::Probe { .. }
        );
        if changes_state {
            return Err(DumpError::Denied(format!(
                "uid {} may only read {}statistics; changing state needs {}",
                caller.uid,
                if caller.sees_all() { "" } else { "its own " },
                permission::STATE_CHANGERS
            )));
        }
        if caller.sees_all() {
            return Ok(());
        }
        // Snapshots are the state changers': their names and times tell of
        // others' work, and a diff parses megabytes of every UID's counts.
        if matches!(a.command, Command::ListSnapshots | Command::Diff { .. }) {
            return Err(DumpError::Denied(format!(
                "uid {} may not read snapshots, which belong to {}; memstat without --diff \
                 shows its own counts",
                caller.uid,
                permission::STATE_CHANGERS
            )));
        }
        if let Some(other) = a.uids.iter().find(|&&u| u != caller.uid) {
            return Err(DumpError::Denied(format!(
                "uid {} may see only its own UID, not uid {other}",
                caller.uid
            )));
        }
        Ok(())
    }

    fn report(&self, out: &mut dyn Write, a: &Args, caller: Caller) -> Result<Outcome, DumpError> {
        let report = self.build_report(a, caller)?;
        let outcome = outcome(&report.failed, &report.straddling, &report.undetermined);
        if a.json {
            report::json(out, &report)?;
        } else {
            text::report(out, &report)?;
        }
        Ok(outcome)
    }

    /// The report `args` ask for, as `caller` may see it, without rendering
    /// it: what typed transports (binder's parcelables) are built from.
    pub fn report_model(&self, args: &[String], caller: Caller) -> Result<Report, DumpError> {
        let a = args::parse(args).map_err(DumpError::Usage)?;
        self.check_access(&a, caller)?;
        match a.command {
            Command::Report => self.build_report(&a, caller),
            _ => Err(DumpError::Usage(
                "only report arguments make a report model (no --diff, --reset, --snapshot, \
                 --list-snapshots, --delete-snapshot or --latency)"
                    .into(),
            )),
        }
    }

    fn build_report(&self, a: &Args, caller: Caller) -> Result<Report, DumpError> {
        let sections = a.sections();
        let has = |s| sections.contains(&s);
        let mut e = self.engine();
        let now = system::now_ms();
        // Without counters the report still says why; a gate cannot pass.
        let reading = read_all(&e.probes);
        if reading.counters.nothing_read() && !a.fail_if.is_empty() {
            return Err(DumpError::Failed(reading.counters.why_nothing()));
        }
        let (mut window, reading) = e.window_of(reading)?;
        let generation = e.store.generation().info.clone();
        e.names.refresh();
        // Ranked over every UID, before the view narrows to what the caller
        // asked for or may see; the advisor then names only visible ones.
        let callers =
            (has(Section::Advice) && window.has(SYSCALLS)).then(|| memory_callers(&window));
        let in_window = metrics::Span::of("in the window".into(), &window);
        let undetermined =
            metrics::undetermined(&a.fail_if, |_| vec![&in_window]).map_err(DumpError::Failed)?;
        let wanted = visible_uids(a, caller);
        if let Some(keep) = &wanted {
            window.retain_uids(|u| keep.binary_search(&u).is_ok());
        }
        let needs_rows = has(Section::Uids) || has(Section::Syscalls) || has(Section::Latency);
        let names = &e.names;
        let name_of = |uid| names.name(uid).map(str::to_owned);
        let mut rows = if needs_rows || !a.fail_if.is_empty() {
            uid_rows(&window, wanted.as_deref().unwrap_or(&[]), &name_of, a.sort)
        } else {
            Vec::new()
        };
        let mut gate = Gate::default();
        if !a.fail_if.is_empty() {
            let per_uid = metrics::per_uid(&window);
            let empty = UidMetrics::new();
            let mut uids: Vec<u32> = rows.iter().map(|r| r.uid).collect();
            uids.extend(per_uid.keys());
            uids.sort_unstable();
            uids.dedup();
            for uid in uids {
                let m = per_uid.get(&uid).unwrap_or(&empty);
                crossings(&mut gate, &a.fail_if, uid, None, m);
            }
        }
        let uids_total = rows.len();
        if let Some(top) = a.top {
            rows.truncate(top);
        }
        let (failed, failed_total) = listed(gate.failed);
        let (straddling, straddling_total) = listed(gate.straddling);
        let mut report = Report {
            schema: SCHEMA,
            kind: "report",
            header: has(Section::Header).then(|| Header {
                kernel: system::kernel_release().unwrap_or_else(|e| format!("unknown ({e})")),
                arch: std::env::consts::ARCH,
                mode: self.mode.name(),
                uptime_s: system::uptime_s().unwrap_or(0.0),
                generated_ms: now,
                window: Window {
                    start_ms: generation.started_ms,
                    end_ms: now,
                },
                generation,
                latency_mode: reading.latency_on,
                state: e.store.note(),
            }),
            probes: has(Section::Probes).then(|| {
                let mut probes = e.probe_status();
                mark_unread(&mut probes, &reading.counters.missing);
                probes
            }),
            syscalls_unavailable: (!window.has(SYSCALLS) && (needs_rows || has(Section::Overflow)))
                .then(|| window.why_missing(SYSCALLS)),
            uids: (needs_rows && window.has(SYSCALLS)).then_some(rows),
            uids_total: (needs_rows && window.has(SYSCALLS)).then_some(uids_total),
            sorted_by: a.sort,
            show_calls: has(Section::Syscalls),
            show_latency: has(Section::Latency),
            overflow: (has(Section::Overflow) && window.has(SYSCALLS)).then_some(OverflowView {
                counters: window.overflow,
                table_entries: reading.table_entries,
                table_used: reading.table_used,
            }),
            memory: sections
                .iter()
                .filter_map(|s| match s {
                    Section::Memory(i) => Some(e.group_view(
                        *i,
                        &window,
                        &reading,
                        wanted.as_deref().unwrap_or(&[]),
                        a.top,
                    )),
                    _ => None,
                })
                .collect(),
            system: None,
            advice: None,
            daemon: has(Section::Daemon).then(|| e.daemon_view()),
            failed,
            failed_total,
            straddling,
            straddling_total,
            undetermined,
            withheld: Vec::new(),
        };
        drop(e);
        // The system view is read without the engine: it needs no counters.
        if has(Section::System) || has(Section::Advice) {
            let sampled = self.sampled.lock().unwrap_or_else(|e| e.into_inner());
            let view = SystemView::read(&Root::default(), &sampled);
            drop(sampled);
            if has(Section::Advice) {
                let own = [caller.uid];
                let visible = (!caller.sees_all()).then_some(&own[..]);
                report.advice = Some(advise_on(&view, callers.as_deref(), visible));
            }
            report.system = has(Section::System).then_some(view);
        }
        if !caller.sees_all() {
            report.withhold_aggregates();
        }
        Ok(report)
    }

    fn diff(
        &self,
        out: &mut dyn Write,
        a: &Args,
        caller: Caller,
        from: &str,
        to: Option<&str>,
    ) -> Result<Outcome, DumpError> {
        // Snapshot files are read without the lock: they can be large.
        let (snapshots, _) = self.snapshots();
        let earlier = snapshots.load(from)?;
        let later = match to {
            Some(name) => snapshots.load(name)?,
            None => {
                let e = self.engine();
                let window = e.window()?.0;
                Snapshot {
                    meta: SnapshotMeta {
                        name: String::new(),
                        taken_ms: system::now_ms(),
                        generation: e.store.generation().info.clone(),
                    },
                    window,
                }
            }
        };
        let mut e = self.engine();
        e.names.refresh();
        let label = |name: Option<&str>| match name {
            Some(n) => format!("snapshot {n:?}"),
            None => "now".to_owned(),
        };
        let side = |s: &Snapshot, name| Side {
            label: label(name),
            generation: s.meta.generation.clone(),
        };
        let kind =
            diff::kind(&side(&earlier, Some(from)), &side(&later, to)).map_err(DumpError::Usage)?;
        let wanted = visible_uids(a, caller);
        let changes = diff::changes(&earlier.window, &later.window, wanted.as_deref());
        let (from_label, to_label) = (label(Some(from)), label(to));
        let from_side = (from_label.as_str(), &earlier.window);
        let to_side = (to_label.as_str(), &later.window);
        let undetermined =
            diff::undetermined(&a.fail_if, kind, from_side, to_side).map_err(DumpError::Failed)?;
        let (ma, mb) = (
            metrics::per_uid(&earlier.window),
            metrics::per_uid(&later.window),
        );
        let empty = UidMetrics::new();
        let mut gate = Gate::default();
        for &uid in changes.keys() {
            let (f, t) = (
                ma.get(&uid).unwrap_or(&empty),
                mb.get(&uid).unwrap_or(&empty),
            );
            crossings(&mut gate, &a.fail_if, uid, Some(f), t);
        }
        let mut uids: Vec<UidDiff> = changes
            .into_iter()
            .map(|(uid, changes)| UidDiff {
                uid,
                name: e.names.name(uid).map(str::to_owned),
                changes,
            })
            .collect();
        drop(e);
        sort_diff(&mut uids, a.sort);
        let uids_total = uids.len();
        if let Some(top) = a.top {
            uids.truncate(top);
        }
        let (failed, failed_total) = listed(gate.failed);
        let (straddling, straddling_total) = listed(gate.straddling);
        let d = DiffReport {
            schema: SCHEMA,
            kind: "diff",
            diff: kind,
            from: DiffSide {
                label: label(Some(from)),
                taken_ms: earlier.meta.taken_ms,
                generation: earlier.meta.generation.clone(),
            },
            to: DiffSide {
                label: label(to),
                taken_ms: later.meta.taken_ms,
                generation: later.meta.generation.clone(),
            },
            uids,
            uids_total,
            unattributed: diff::unattributed_changes(&earlier.window, &later.window),
            not_compared: diff::not_compared(from_side, to_side),
            failed,
            failed_total,
            straddling,
            straddling_total,
            undetermined,
        };
        let outcome = outcome(&d.failed, &d.straddling, &d.undetermined);
        if a.json {
            report::json(out, &d)?;
        } else {
            text::diff(out, &d)?;
        }
        Ok(outcome)
    }
}

/// The UIDs a report shows: `--uid`'s, or the caller's own when it may not
/// see all; `None` is every UID.
fn visible_uids(a: &Args, caller: Caller) -> Option<Vec<u32>> {
    if !a.uids.is_empty() {
        Some(a.uids.clone())
    } else if caller.sees_all() {
        None
    } else {
        Some(vec![caller.uid])
    }
}

/// Diff rows by the size of the change of the `--sort` column's metric.
fn sort_diff(rows: &mut [UidDiff], sort: &str) {
    let metric = match sort {
        "uid" => return rows.sort_by_key(|r| r.uid),
        "name" => return rows.sort_by(|a, b| (&a.name, a.uid).cmp(&(&b.name, b.uid))),
        "errors" => "syscalls.errors".to_owned(),
        "p50" | "p90" | "p99" => format!("latency.{sort}_ns"),
        _ => "syscalls.count".to_owned(),
    };
    let size = |r: &UidDiff| {
        r.changes
            .iter()
            .find(|c| c.metric == metric)
            .map_or(0, |c| c.delta.unsigned_abs())
    };
    rows.sort_by(|a, b| size(b).cmp(&size(a)).then(a.uid.cmp(&b.uid)));
}

fn action(
    out: &mut dyn Write,
    a: &Args,
    kind: &'static str,
    message: String,
    generation: GenerationInfo,
) -> Result<Outcome, DumpError> {
    let done = ActionDone {
        schema: SCHEMA,
        kind,
        message,
        generation,
    };
    if a.json {
        report::json(out, &done)?;
    } else {
        text::action(out, &done)?;
    }
    Ok(Outcome::Done)
}

/// Starts the background sampler; it ends with the service.
fn sample_system() -> Arc<Mutex<Sampled>> {
    let sampled = Arc::new(Mutex::new(Sampled::new()));
    let weak = Arc::downgrade(&sampled);
    let spawned = std::thread::Builder::new()
        .name("memstat-sampler".into())
        .spawn(move || {
            while let Some(sampled) = weak.upgrade() {
                let mut round = Sampled::new();
                round.sample(&Root::default());
                let mut s = sampled.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((at, v)) = round.vmstat.latest() {
                    s.vmstat.push(at, v);
                }
                s.pagetypes = round.pagetypes;
                drop(s);
                drop(sampled);
                std::thread::sleep(SAMPLE_EVERY);
            }
        });
    if let Err(e) = spawned {
        log::warn!("no background sampler ({e}): no vmstat rates or pagetypeinfo");
    }
    sampled
}

/// The syscalls that map, unmap and resize memory.
const MEMORY_SYSCALLS: [&str; 6] = ["mmap", "mmap2", "munmap", "mremap", "brk", "madvise"];

/// UIDs by their memory-management syscalls in `window`, most first.
fn memory_callers(window: &Counters) -> Vec<(u32, u64)> {
    let nrs: Vec<u32> = MEMORY_SYSCALLS
        .iter()
        .filter_map(|n| syscall_number(n))
        .collect();
    let mut per_uid: Vec<(u32, u64)> = Vec::new();
    for (&(uid, nr), c) in &window.syscalls {
        if !nrs.contains(&nr) {
            continue;
        }
        match per_uid.last_mut() {
            Some((u, n)) if *u == uid => *n = n.saturating_add(c.count),
            _ => per_uid.push((uid, c.count)),
        }
    }
    per_uid.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    per_uid
}

fn advise_on(view: &SystemView, callers: Option<&[(u32, u64)]>, visible: Option<&[u32]>) -> Advice {
    let recent = match (
        &view.vmstat_rates,
        view.vmstat.value(),
        &view.vmstat_earlier,
    ) {
        (Some(rates), Some(later), Some(earlier)) => Some(Recent {
            rates,
            earlier,
            later,
        }),
        _ => None,
    };
    advisor::advise(&Evidence {
        knobs: &view.knobs,
        thp: &view.thp,
        recent,
        fragmentation: &view.fragmentation,
        zones: view.zones.value().map(Vec::as_slice),
        memory_callers: callers,
        visible,
    })
}

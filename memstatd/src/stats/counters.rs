//! The counters of one moment, detached from the maps they came from: what a
//! generation's baseline and a snapshot hold, and what a report is made of.
//! Kernel counters only grow, so a window is `now - baseline`, key by key.

use crate::abi::memory::UID_ENTRIES;
use crate::abi::syscalls::{pairs, LATENCY_ENTRIES};
use crate::abi::LATENCY_BUCKETS;
use crate::math::saturating_sum;
use crate::probes::memory::{self, GroupSample, Kind};
use crate::probes::syscalls::SyscallSample;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The syscall group's name among the groups (`Counters::missing`).
pub(crate) const SYSCALLS: &str = "syscalls";

/// Count and errors of one (UID, syscall) pair.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CallCounts {
    pub(crate) count: u64,
    pub(crate) errors: u64,
}

/// The overflow bucket and drop counters of the syscall group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Overflow {
    pub(crate) count: u64,
    pub(crate) errors: u64,
    pub(crate) latency_samples: u64,
    pub(crate) start_dropped: u64,
    pub(crate) unmatched: u64,
}

/// A log2 latency histogram: bucket `b` counts samples in `[2^b, 2^(b+1))` ns.
pub(crate) type Histogram = [u64; LATENCY_BUCKETS];

/// Every counter of one moment, syscall and memory groups: a baseline, a
/// snapshot, or a window (`now - baseline`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// (uid, syscall number) → counts.
    #[serde(with = "pairs")]
    pub(crate) syscalls: BTreeMap<(u32, u32), CallCounts>,
    /// uid → latency histogram.
    pub(crate) latency: BTreeMap<u32, Histogram>,
    pub(crate) overflow: Overflow,
    /// Memory group name → its slots (see `probes::memory`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) groups: BTreeMap<String, GroupCounters>,
    /// Probe groups (`syscalls`, or a memory group) whose counters could not
    /// be had, with why: each group stands on its own, and a missing one is
    /// absent, never zero.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) missing: BTreeMap<String, String>,
}

/// One memory group's slots: per UID, and the bucket of UIDs that found
/// the table full.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GroupCounters {
    #[serde(with = "slot_rows")]
    pub(crate) uids: BTreeMap<u32, Vec<u64>>,
    pub(crate) other: Vec<u64>,
    /// Estimated groups (duty-cycled): per UID the variance of each metric
    /// with a CI, cumulative like the counts, and of the shared bucket.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) variance: BTreeMap<u32, Vec<u128>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) other_variance: Vec<u128>,
}

impl GroupCounters {
    pub(crate) fn from_sample(s: &GroupSample) -> Self {
        GroupCounters {
            uids: s.uids.iter().cloned().collect(),
            other: s.other.clone(),
            variance: s.variance.clone(),
            other_variance: s.other_variance.clone(),
        }
    }
}

/// A counter that went down: the kernel's counters were reset under us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WentBack {
    pub(crate) what: String,
    pub(crate) was: u64,
    pub(crate) now: u64,
}

impl Counters {
    pub(crate) fn from_sample(s: &SyscallSample) -> Self {
        let syscalls = s
            .counts
            .iter()
            .map(|(k, c)| {
                let counts = CallCounts {
                    count: c.count,
                    errors: c.errors,
                };
                ((k.uid, k.nr), counts)
            })
            .collect();
        let latency = s.latency.iter().map(|(uid, h)| (*uid, h.buckets)).collect();
        let o = &s.overflow;
        let overflow = Overflow {
            count: o.count,
            errors: o.errors,
            latency_samples: saturating_sum(&o.latency),
            start_dropped: o.start_dropped,
            unmatched: o.unmatched,
        };
        Counters {
            syscalls,
            latency,
            overflow,
            groups: BTreeMap::new(),
            missing: BTreeMap::new(),
        }
    }

    /// Whether `group`'s counters are here: the syscall group unless it is
    /// missing, a memory group if it was read. (A baseline lacking a memory
    /// group holds it at zero: a generation begun before it counted.)
    pub(crate) fn has(&self, group: &str) -> bool {
        !self.missing.contains_key(group) && (group == SYSCALLS || self.groups.contains_key(group))
    }

    /// Whether `group` holds the per-app memory cgroup source's numbers
    /// (its bucket of no UID says so, where the source was read).
    pub(crate) fn has_memcg(&self, group: &str) -> bool {
        let slot = memory::spec(group).and_then(|s| s.memcg_seen_slot());
        let other = self.groups.get(group).map(|g| &g.other);
        matches!((slot, other), (Some(i), Some(o)) if o.get(i) == Some(&1))
    }

    /// Why `group`'s counters are not here, as a sentence.
    pub(crate) fn why_missing(&self, group: &str) -> String {
        match self.missing.get(group) {
            Some(why) => format!("the {group} probe group is unavailable: {why}"),
            None => format!("there are no counts of the {group} probe group"),
        }
    }

    /// Whether no group at all could be read.
    pub(crate) fn nothing_read(&self) -> bool {
        !self.has(SYSCALLS) && memory::GROUPS.iter().all(|g| !self.has(g.name))
    }

    /// Why there are no counters, when [`Counters::nothing_read`].
    pub(crate) fn why_nothing(&self) -> String {
        let why: Vec<String> = std::iter::once(SYSCALLS)
            .chain(memory::GROUPS.iter().map(|g| g.name))
            .map(|g| self.why_missing(g))
            .collect();
        format!(
            "no counters: no probe group can be read: {}",
            why.join("; ")
        )
    }

    /// `self - base`, key by key, each group on its own: a group missing
    /// here or in `base` (not read when the window began) is missing from
    /// the window. Fails on the first counter that is lower than in `base`:
    /// counters only grow, so that means they were reset.
    pub(crate) fn since(&self, base: &Counters) -> Result<Counters, WentBack> {
        let mut out = Counters::default();
        for (name, why) in &self.missing {
            out.missing.insert(name.clone(), why.clone());
        }
        for (name, why) in &base.missing {
            out.missing.entry(name.clone()).or_insert_with(|| {
                format!(
                    "it was not read when the window began ({why}); --reset starts a window \
                     that has it"
                )
            });
        }
        if !out.missing.contains_key(SYSCALLS) {
            self.syscalls_since(base, &mut out)?;
        }
        for (name, now) in &self.groups {
            let Some(spec) = memory::spec(name) else {
                continue;
            };
            if out.missing.contains_key(name) {
                continue;
            }
            let kinds = spec.kinds();
            let empty = GroupCounters::default();
            let base = base.groups.get(name).unwrap_or(&empty);
            let mut window = GroupCounters::default();
            for (uid, slots) in &now.uids {
                let was = base.uids.get(uid).map(Vec::as_slice).unwrap_or(&[]);
                let what = || format!("{name} uid {uid}");
                let w = slots_since(&kinds, slots, was, what)?;
                if w.iter().any(|&v| v != 0) {
                    window.uids.insert(*uid, w);
                }
            }
            // Counts never go; values of the moment may (a UID's cgroup).
            let counts = |s: &[u64]| {
                s.iter()
                    .zip(&kinds)
                    .any(|(&v, k)| v != 0 && *k == Kind::Count)
            };
            if let Some((uid, _)) = base
                .uids
                .iter()
                .find(|(u, s)| !now.uids.contains_key(u) && counts(s))
            {
                return Err(WentBack {
                    what: format!("{name} uid {uid} (gone)"),
                    was: 1,
                    now: 0,
                });
            }
            window.other = slots_since(&kinds, &now.other, &base.other, || {
                format!("{name} other UIDs")
            })?;
            variance_since(name, now, base, &mut window)?;
            out.groups.insert(name.clone(), window);
        }
        Ok(out)
    }

    /// The syscall group's part of [`Counters::since`].
    fn syscalls_since(&self, base: &Counters, out: &mut Counters) -> Result<(), WentBack> {
        for (key, now) in &self.syscalls {
            let was = base.syscalls.get(key).copied().unwrap_or_default();
            let what = || format!("uid {} syscall {}", key.0, key.1);
            let counts = CallCounts {
                count: sub(now.count, was.count, what)?,
                errors: sub(now.errors, was.errors, what)?,
            };
            if counts != CallCounts::default() {
                out.syscalls.insert(*key, counts);
            }
        }
        if let Some((key, _)) = base
            .syscalls
            .iter()
            .find(|(k, c)| !self.syscalls.contains_key(k) && **c != CallCounts::default())
        {
            return Err(WentBack {
                what: format!("uid {} syscall {} (gone)", key.0, key.1),
                was: base.syscalls[key].count,
                now: 0,
            });
        }
        for (uid, now) in &self.latency {
            let was = base
                .latency
                .get(uid)
                .copied()
                .unwrap_or([0; LATENCY_BUCKETS]);
            let mut hist = [0; LATENCY_BUCKETS];
            for (b, slot) in hist.iter_mut().enumerate() {
                *slot = sub(now[b], was[b], || format!("uid {uid} latency bucket {b}"))?;
            }
            if hist.iter().any(|&n| n != 0) {
                out.latency.insert(*uid, hist);
            }
        }
        let (n, b) = (&self.overflow, &base.overflow);
        out.overflow = Overflow {
            count: sub(n.count, b.count, || "overflow count".into())?,
            errors: sub(n.errors, b.errors, || "overflow errors".into())?,
            latency_samples: sub(n.latency_samples, b.latency_samples, || {
                "overflow latency samples".into()
            })?,
            start_dropped: sub(n.start_dropped, b.start_dropped, || "start_dropped".into())?,
            unmatched: sub(n.unmatched, b.unmatched, || "unmatched".into())?,
        };
        Ok(())
    }

    /// Checks that counters read back from a file could have come from the
    /// maps: no more entries than they hold.
    pub(crate) fn check_bounds(&self) -> Result<(), String> {
        let (n, uids) = (self.syscalls.len(), self.latency.len());
        let most = max_pairs();
        if n > most as usize || uids > LATENCY_ENTRIES as usize {
            return Err(format!(
                "{n} (UID, syscall) pairs and {uids} latency histograms; the maps hold at \
                 most {most} and {LATENCY_ENTRIES}"
            ));
        }
        for (name, g) in &self.groups {
            let spec =
                memory::spec(name).ok_or_else(|| format!("unknown memory group {name:?}"))?;
            if g.uids.len() > UID_ENTRIES as usize {
                return Err(format!(
                    "{} UIDs in group {name}; its map holds at most {UID_ENTRIES}",
                    g.uids.len()
                ));
            }
            let n = spec.slots();
            if let Some(bad) = g.uids.values().chain([&g.other]).find(|v| v.len() != n) {
                return Err(format!(
                    "group {name} has a value of {} slots, not {n}",
                    bad.len()
                ));
            }
        }
        Ok(())
    }

    /// Keeps only the UIDs `keep` accepts (the overflow bucket is not per-UID
    /// and stays).
    pub(crate) fn retain_uids(&mut self, keep: impl Fn(u32) -> bool) {
        self.syscalls.retain(|(uid, _), _| keep(*uid));
        self.latency.retain(|uid, _| keep(*uid));
        for g in self.groups.values_mut() {
            g.uids.retain(|uid, _| keep(*uid));
            g.variance.retain(|uid, _| keep(*uid));
        }
    }
}

/// The most (UID, syscall) pairs this machine's maps hold (with at least 64
/// CPUs' slots, so that a file from a machine with more CPUs is no surprise).
pub(crate) fn max_pairs() -> u32 {
    let cpus = crate::bpf::possible_cpus().map_or(64, |n| u32::try_from(n).unwrap_or(u32::MAX));
    pairs(cpus.max(64))
}

/// The variances of an estimated group's window: now minus the baseline,
/// like its counts.
fn variance_since(
    name: &str,
    now: &GroupCounters,
    base: &GroupCounters,
    window: &mut GroupCounters,
) -> Result<(), WentBack> {
    let since = |n: &[u128], was: &[u128], what: &dyn Fn() -> String| {
        let mut out = Vec::with_capacity(n.len());
        for (i, &v) in n.iter().enumerate() {
            let w = was.get(i).copied().unwrap_or(0);
            out.push(v.checked_sub(w).ok_or_else(|| WentBack {
                what: format!("{} variance {i}", what()),
                was: u64::try_from(w).unwrap_or(u64::MAX),
                now: u64::try_from(v).unwrap_or(u64::MAX),
            })?);
        }
        Ok(out)
    };
    for (uid, v) in &now.variance {
        let was = base.variance.get(uid).map(Vec::as_slice).unwrap_or(&[]);
        let w = since(v, was, &|| format!("{name} uid {uid}"))?;
        if w.iter().any(|&x| x != 0) || window.uids.contains_key(uid) {
            window.variance.insert(*uid, w);
        }
    }
    window.other_variance = since(&now.other_variance, &base.other_variance, &|| {
        format!("{name} other UIDs")
    })?;
    Ok(())
}

fn sub(now: u64, was: u64, what: impl FnOnce() -> String) -> Result<u64, WentBack> {
    now.checked_sub(was).ok_or_else(|| WentBack {
        what: what(),
        was,
        now,
    })
}

/// A window of one value: counts minus the baseline (`was`, empty for a
/// value new in the window), peaks as they are now.
fn slots_since(
    kinds: &[Kind],
    now: &[u64],
    was: &[u64],
    what: impl Fn() -> String,
) -> Result<Vec<u64>, WentBack> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let n = now.get(i).copied().unwrap_or(0);
            match kind {
                Kind::Count => sub(n, was.get(i).copied().unwrap_or(0), || {
                    format!("{} slot {i}", what())
                }),
                Kind::Peak => Ok(n),
                Kind::Epoch => Ok(0),
            }
        })
        .collect()
}

/// Per-UID slots as `[uid, slot, slot, ...]` rows.
mod slot_rows {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<u32, Vec<u64>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let rows: Vec<Vec<u64>> = map
            .iter()
            .map(|(uid, slots)| {
                std::iter::once(*uid as u64)
                    .chain(slots.iter().copied())
                    .collect()
            })
            .collect();
        rows.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<u32, Vec<u64>>, D::Error> {
        let rows: Vec<Vec<u64>> = Vec::deserialize(d)?;
        rows.into_iter()
            .map(|row| {
                let (uid, slots) = row
                    .split_first()
                    .ok_or_else(|| serde::de::Error::custom("an empty slot row"))?;
                let uid = u32::try_from(*uid)
                    .map_err(|_| serde::de::Error::custom(format!("uid {uid} out of range")))?;
                Ok((uid, slots.to_vec()))
            })
            .collect()
    }
}

/// (uid, nr) keys as `[uid, nr, count, errors]` rows: compact and readable.
mod pairs {
    use super::CallCounts;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<(u32, u32), CallCounts>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let rows: Vec<(u32, u32, u64, u64)> = map
            .iter()
            .map(|(k, c)| (k.0, k.1, c.count, c.errors))
            .collect();
        rows.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<(u32, u32), CallCounts>, D::Error> {
        let rows: Vec<(u32, u32, u64, u64)> = Vec::deserialize(d)?;
        Ok(rows
            .into_iter()
            .map(|(uid, nr, count, errors)| ((uid, nr), CallCounts { count, errors }))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(rows: &[(u32, u32, u64, u64)]) -> Counters {
        Counters {
            syscalls: rows
                .iter()
                .map(|&(u, n, count, errors)| ((u, n), CallCounts { count, errors }))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn since_subtracts_key_by_key_and_drops_zeros() {
        let base = counters(&[(1, 39, 10, 0), (1, 81, 5, 5)]);
        let now = counters(&[(1, 39, 15, 0), (1, 81, 5, 5), (2, 39, 7, 1)]);
        let w = now.since(&base).unwrap();
        assert_eq!(w, counters(&[(1, 39, 5, 0), (2, 39, 7, 1)]));
    }

    #[test]
    fn since_refuses_counters_that_went_back() {
        let base = counters(&[(1, 39, 10, 0)]);
        let err = counters(&[(1, 39, 9, 0)]).since(&base).unwrap_err();
        assert_eq!((err.was, err.now), (10, 9));
        let gone = counters(&[]).since(&base).unwrap_err();
        assert!(gone.what.contains("gone"), "{gone:?}");
    }

    #[test]
    fn groups_subtract_counts_and_keep_peaks() {
        let rss = |peak: u64| {
            let mut v = vec![0; memory::rss::SPEC.slots()];
            v[1] = peak;
            v
        };
        let faults = |n: u64| fault_slots(&[n, 1]);
        let group = |rows: &[(u32, Vec<u64>)]| GroupCounters {
            uids: rows.iter().cloned().collect(),
            other: vec![0; rows[0].1.len()],
            ..Default::default()
        };
        let with = |f: GroupCounters, r: GroupCounters| Counters {
            groups: [("faults".to_owned(), f), ("rss".to_owned(), r)].into(),
            ..Default::default()
        };
        let base = with(group(&[(7, faults(10))]), group(&[(7, rss(500))]));
        let now = with(group(&[(7, faults(25))]), group(&[(7, rss(300))]));
        let w = now.since(&base).unwrap();
        assert_eq!(w.groups["faults"].uids[&7], fault_slots(&[15]));
        assert_eq!(w.groups["rss"].uids[&7], rss(300));
        let back = with(group(&[(7, faults(9))]), group(&[(7, rss(1))]));
        assert!(back
            .since(&base)
            .unwrap_err()
            .what
            .starts_with("faults uid 7"));
        assert_eq!(now.check_bounds(), Ok(()));
        let mut short = now.clone();
        short
            .groups
            .get_mut("faults")
            .unwrap()
            .uids
            .insert(8, vec![1]);
        assert!(short.check_bounds().unwrap_err().contains("1 slots, not 4"));
        let text = serde_json::to_string(&now).unwrap();
        assert!(text.contains("[7,25,1,0,0]"), "{text}");
        assert_eq!(serde_json::from_str::<Counters>(&text).unwrap(), now);
        // A row of values of the moment may go (a UID's cgroup removed);
        // one with counts may not.
        let mut gone = now.clone();
        gone.groups.get_mut("rss").unwrap().uids.clear();
        let w = gone.since(&base).unwrap();
        assert!(w.groups["rss"].uids.is_empty());
        gone.groups.get_mut("faults").unwrap().uids.clear();
        assert_eq!(gone.since(&base).unwrap_err().what, "faults uid 7 (gone)");
    }

    /// A faults value whose first slots are `first`, the rest zero.
    fn fault_slots(first: &[u64]) -> Vec<u64> {
        let mut v = vec![0; memory::faults::SPEC.slots()];
        v[..first.len()].copy_from_slice(first);
        v
    }

    #[test]
    fn each_group_has_its_own_window() {
        let faults = |n: u64| GroupCounters {
            uids: [(7, fault_slots(&[n]))].into(),
            other: fault_slots(&[]),
            ..Default::default()
        };
        let mut base = counters(&[(7, 39, 10, 0)]);
        base.groups.insert("faults".into(), faults(5));
        // The syscall group is down now: its counts are missing, not gone.
        let mut now = Counters::default();
        now.missing.insert(SYSCALLS.into(), "pin gone".into());
        now.groups.insert("faults".into(), faults(8));
        let w = now.since(&base).unwrap();
        assert!(!w.has(SYSCALLS) && w.syscalls.is_empty());
        assert_eq!(
            w.why_missing(SYSCALLS),
            "the syscalls probe group is unavailable: pin gone"
        );
        assert_eq!(w.groups["faults"].uids[&7], fault_slots(&[3]));
        assert!(w.has("faults") && !w.has("slab") && !w.nothing_read());

        // A group the baseline could not read has no window until a reset.
        let mut base = counters(&[(7, 39, 10, 0)]);
        base.missing.insert("faults".into(), "read failed".into());
        let mut now = counters(&[(7, 39, 15, 0)]);
        now.groups.insert("faults".into(), faults(8));
        let w = now.since(&base).unwrap();
        assert_eq!(w.syscalls[&(7, 39)].count, 5);
        assert!(!w.has("faults") && !w.groups.contains_key("faults"));
        assert!(
            w.missing["faults"].starts_with("it was not read when the window began (read failed)")
        );
        let text = serde_json::to_string(&w).unwrap();
        assert_eq!(serde_json::from_str::<Counters>(&text).unwrap(), w);

        let mut none = Counters::default();
        none.missing.insert(SYSCALLS.into(), "x".into());
        assert!(none.nothing_read());
        assert!(none.why_nothing().starts_with(
            "no counters: no probe group can be read: the syscalls probe group is unavailable: x; \
             there are no counts of the faults probe group"
        ));
    }

    #[test]
    fn round_trips_through_json() {
        let mut c = counters(&[(61001, 39, 12345, 0), (61001, 81, 678, 678)]);
        c.latency.insert(61001, [3; LATENCY_BUCKETS]);
        c.overflow.count = 4;
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains("[61001,39,12345,0]"), "{text}");
        assert_eq!(serde_json::from_str::<Counters>(&text).unwrap(), c);
    }
}

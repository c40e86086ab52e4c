//! Device-side BPF access: open pins, attach tracepoints, read maps. This is
//! all the daemon does with BPF on a device, where the platform bpfloader has
//! loaded and pinned everything: nothing here loads a program, creates a map
//! or loads BTF.

pub mod sys;

use bytemuck::Pod;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a pin, map or tracepoint could not be used.
#[derive(Debug, Error)]
pub enum BpfError {
    /// The pin could not be opened: missing (not loaded), or denied.
    #[error("cannot open pin {path}: {source}")]
    Pin {
        /// The pin.
        path: PathBuf,
        /// The `BPF_OBJ_GET` or `BPF_OBJ_GET_INFO_BY_FD` error.
        source: io::Error,
    },
    /// The pin holds another kind of object, or a map of other key and value
    /// sizes than this build's ABI: objects and daemon are out of step.
    #[error("pin {path} is a {found}, not {expected}")]
    Shape {
        /// The pin.
        path: PathBuf,
        /// What the pin holds.
        found: String,
        /// What this build expects.
        expected: String,
    },
    /// A map lookup or iteration failed.
    #[error("cannot read map {path}: {source}")]
    Read {
        /// The map's pin.
        path: PathBuf,
        /// The `bpf(2)` error.
        source: io::Error,
    },
    /// A map update failed.
    #[error("cannot write map {path}: {source}")]
    Write {
        /// The map's pin.
        path: PathBuf,
        /// The `bpf(2)` error.
        source: io::Error,
    },
    /// The program could not be attached to its event.
    #[error("cannot attach {prog} to tracepoint {event}: {source}")]
    Attach {
        /// The program's pin.
        prog: PathBuf,
        /// The tracepoint (`category/event`) or software perf event.
        event: String,
        /// The error reading the event's id or CPUs, opening the perf event,
        /// or attaching the program to it.
        source: io::Error,
    },
    /// A program pin does not use the map pins beside it (`probes::pins`).
    #[error("{0}")]
    Stale(String),
    /// Neither `/sys/kernel/tracing` nor `/sys/kernel/debug/tracing` has an
    /// `events` directory.
    #[error("no tracefs with events: mount it (mount -t tracefs tracefs /sys/kernel/tracing)")]
    NoTracefs,
}

/// Whether the daemon may write a map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    ReadOnly,
    ReadWrite,
}

/// A pinned map, opened with the least access the daemon needs.
pub struct Map {
    fd: OwnedFd,
    path: PathBuf,
    shape: sys::MapShape,
    id: u32,
}

impl Map {
    /// Opens the map pinned at `path` and checks its key and value sizes.
    pub(crate) fn open(
        path: &Path,
        access: Access,
        key_size: usize,
        value_size: usize,
    ) -> Result<Self, BpfError> {
        let flags = match access {
            Access::ReadOnly => sys::BPF_F_RDONLY,
            Access::ReadWrite => 0,
        };
        let pin_err = |source| BpfError::Pin {
            path: path.to_owned(),
            source,
        };
        let fd = sys::obj_get(path, flags).map_err(pin_err)?;
        let info = sys::map_info(&fd).map_err(pin_err)?;
        let shape = info.shape;
        if shape.key_size as usize != key_size || shape.value_size as usize != value_size {
            return Err(BpfError::Shape {
                path: path.to_owned(),
                found: format!(
                    "map with {}-byte keys and {}-byte values",
                    shape.key_size, shape.value_size
                ),
                expected: format!("{key_size}-byte keys and {value_size}-byte values"),
            });
        }
        Ok(Map {
            fd,
            path: path.to_owned(),
            shape,
            id: info.id,
        })
    }

    /// The pin the map was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The map's capacity, in entries (for a per-CPU array, per CPU).
    pub(crate) fn max_entries(&self) -> u32 {
        self.shape.max_entries
    }

    /// The kernel's id of the map: it changes when the map is recreated.
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// Bytes the kernel charges for the map.
    pub(crate) fn memlock(&self) -> io::Result<u64> {
        sys::memlock(&self.fd)
    }

    fn is_per_cpu(&self) -> bool {
        matches!(
            self.shape.map_type,
            sys::BPF_MAP_TYPE_PERCPU_HASH
                | sys::BPF_MAP_TYPE_PERCPU_ARRAY
                | sys::BPF_MAP_TYPE_LRU_PERCPU_HASH
        )
    }

    fn read_err(&self, source: io::Error) -> BpfError {
        BpfError::Read {
            path: self.path.clone(),
            source,
        }
    }

    /// Looks up one key; per-CPU values come back summed with `add`.
    pub(crate) fn get<K: Pod, V: Pod + Default>(
        &self,
        key: &K,
        add: fn(&mut V, &V),
    ) -> Result<Option<V>, BpfError> {
        self.get_with(key, std::mem::size_of::<V>(), |raw: &PerCpu| raw.sum(add))
    }

    /// Looks up one key of `value_size`-byte values, combined over CPUs
    /// by `combine`.
    pub(crate) fn get_with<K: Pod, V>(
        &self,
        key: &K,
        value_size: usize,
        combine: impl Fn(&PerCpu) -> V,
    ) -> Result<Option<V>, BpfError> {
        let ncpus = self.ncpus()?;
        let stride = per_cpu_stride(value_size);
        let mut raw = vec![0u8; stride * ncpus];
        if !sys::map_lookup(&self.fd, bytemuck::bytes_of(key), &mut raw)
            .map_err(|e| self.read_err(e))?
        {
            return Ok(None);
        }
        Ok(Some(combine(&PerCpu {
            raw: &raw,
            stride,
            size: value_size,
        })))
    }

    /// The value size the kernel holds for this map.
    pub fn value_size(&self) -> usize {
        self.shape.value_size as usize
    }

    fn ncpus(&self) -> Result<usize, BpfError> {
        if self.is_per_cpu() {
            possible_cpus().map_err(|e| self.read_err(e))
        } else {
            Ok(1)
        }
    }

    /// Writes one key (config maps only; opened `ReadWrite`).
    pub(crate) fn set<K: Pod, V: Pod>(&self, key: &K, value: &V) -> Result<(), BpfError> {
        sys::map_update(&self.fd, bytemuck::bytes_of(key), bytemuck::bytes_of(value)).map_err(
            |source| BpfError::Write {
                path: self.path.clone(),
                source,
            },
        )
    }

    /// Deletes one key (maps opened `ReadWrite`); `Ok(false)` if absent.
    pub(crate) fn delete<K: Pod>(&self, key: &K) -> Result<bool, BpfError> {
        sys::map_delete(&self.fd, bytemuck::bytes_of(key)).map_err(|source| BpfError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// Every entry, per-CPU values summed with `add`.
    pub(crate) fn entries<K: Pod, V: Pod + Default>(
        &self,
        add: fn(&mut V, &V),
    ) -> Result<Vec<(K, V)>, BpfError> {
        self.entries_with(std::mem::size_of::<V>(), |raw: &PerCpu| raw.sum(add))
    }

    /// Every entry of `value_size`-byte values, combined over CPUs by
    /// `combine`. Uses batch lookup (one syscall per few thousand entries);
    /// falls back to key-by-key iteration on kernels without it.
    pub(crate) fn entries_with<K: Pod, V>(
        &self,
        value_size: usize,
        combine: impl Fn(&PerCpu) -> V,
    ) -> Result<Vec<(K, V)>, BpfError> {
        let ncpus = self.ncpus()?;
        let stride = per_cpu_stride(value_size);
        let decode = |raw: &[u8]| {
            combine(&PerCpu {
                raw,
                stride,
                size: value_size,
            })
        };
        match self.entries_batched(ncpus, stride, &decode) {
            Ok(Some(entries)) => Ok(entries),
            Ok(None) => self.entries_iterated(ncpus, stride, &decode),
            Err(e) => Err(self.read_err(e)),
        }
    }

    fn entries_batched<K: Pod, V>(
        &self,
        ncpus: usize,
        stride: usize,
        decode: &dyn Fn(&[u8]) -> V,
    ) -> io::Result<Option<Vec<(K, V)>>> {
        let mut capacity = (self.shape.max_entries as usize).clamp(1, 4096);
        // Hash maps use a 4-byte bucket cursor, arrays a key-sized one.
        let token_len = std::mem::size_of::<K>().max(8);
        let mut token = vec![0u8; token_len];
        let mut out_token = vec![0u8; token_len];
        let mut started = false;
        let mut out = Vec::new();
        loop {
            let mut keys = vec![0u8; capacity * std::mem::size_of::<K>()];
            let mut values = vec![0u8; capacity * stride * ncpus];
            let batch = sys::map_lookup_batch(
                &self.fd,
                started.then_some(&token[..]),
                &mut out_token,
                &mut keys,
                &mut values,
                capacity,
            )?;
            let (n, done) = match batch {
                sys::Batch::More(n) => (n, false),
                sys::Batch::Done(n) => (n, true),
                sys::Batch::Unsupported if !started => return Ok(None),
                sys::Batch::Unsupported => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
                sys::Batch::BufferTooSmall => {
                    capacity *= 2;
                    continue;
                }
            };
            for i in 0..n {
                let key: K = bytemuck::pod_read_unaligned(
                    &keys[i * std::mem::size_of::<K>()..][..std::mem::size_of::<K>()],
                );
                out.push((key, decode(&values[i * stride * ncpus..][..stride * ncpus])));
            }
            if done {
                return Ok(Some(out));
            }
            token.copy_from_slice(&out_token);
            started = true;
        }
    }

    fn entries_iterated<K: Pod, V>(
        &self,
        ncpus: usize,
        stride: usize,
        decode: &dyn Fn(&[u8]) -> V,
    ) -> Result<Vec<(K, V)>, BpfError> {
        let mut out = Vec::new();
        let mut key = K::zeroed();
        let mut next = K::zeroed();
        let mut raw = vec![0u8; stride * ncpus];
        let mut first = true;
        while sys::map_next_key(
            &self.fd,
            (!first).then_some(bytemuck::bytes_of(&key)),
            bytemuck::bytes_of_mut(&mut next),
        )
        .map_err(|e| self.read_err(e))?
        {
            first = false;
            key = next;
            // A key deleted between the two calls is simply skipped.
            if sys::map_lookup(&self.fd, bytemuck::bytes_of(&key), &mut raw)
                .map_err(|e| self.read_err(e))?
            {
                out.push((key, decode(&raw)));
            }
        }
        Ok(out)
    }
}

/// One entry's value on every CPU (one copy for maps that are not per-CPU).
pub(crate) struct PerCpu<'a> {
    raw: &'a [u8],
    stride: usize,
    size: usize,
}

impl PerCpu<'_> {
    /// Each CPU's copy of the value.
    pub(crate) fn copies(&self) -> impl Iterator<Item = &[u8]> {
        self.raw.chunks_exact(self.stride).map(|c| &c[..self.size])
    }

    fn sum<V: Pod + Default>(&self, add: fn(&mut V, &V)) -> V {
        let mut total = V::default();
        for copy in self.copies() {
            add(&mut total, &bytemuck::pod_read_unaligned(copy));
        }
        total
    }
}

/// Per-CPU values are laid out at 8-byte strides.
fn per_cpu_stride(value_size: usize) -> usize {
    value_size.div_ceil(8) * 8
}

/// Number of possible CPUs: the kernel sizes per-CPU values by it.
pub fn possible_cpus() -> io::Result<usize> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible")?;
    parse_cpu_list(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot parse possible CPUs {text:?}"),
        )
    })
}

/// Highest CPU in a list like `0-7` or `0,2-3`, plus one.
fn parse_cpu_list(text: &str) -> Option<usize> {
    let mut max = None;
    for part in text.trim().split(',') {
        let last = part.rsplit('-').next()?;
        let n: usize = last.trim().parse().ok()?;
        max = max.max(Some(n));
    }
    max.map(|m| m + 1)
}

/// A pinned program, opened read-only as the platform's pins (mode 0440) allow.
pub struct Program {
    fd: OwnedFd,
    path: PathBuf,
}

impl Program {
    /// Opens the program pinned at `path`.
    pub fn open(path: &Path) -> Result<Self, BpfError> {
        let fd = sys::obj_get(path, sys::BPF_F_RDONLY).map_err(|source| BpfError::Pin {
            path: path.to_owned(),
            source,
        })?;
        Ok(Program {
            fd,
            path: path.to_owned(),
        })
    }

    /// The pin the program was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run count and time, from the kernel (non-zero only with BPF stats on).
    pub(crate) fn info(&self) -> io::Result<sys::ProgSummary> {
        sys::prog_info(&self.fd)
    }

    /// The ids of the maps the program uses.
    pub(crate) fn map_ids(&self) -> io::Result<Vec<u32>> {
        sys::prog_map_ids(&self.fd)
    }

    /// Attaches to `<tracefs>/events/<event>` the way the platform's own
    /// consumers do: one perf event on CPU 0, which fires on every CPU. The
    /// program stays attached while the returned value lives.
    pub fn attach_tracepoint(
        &self,
        tracefs: &Tracefs,
        event: &str,
    ) -> Result<Attachment, BpfError> {
        let attach_err = |source| BpfError::Attach {
            prog: self.path.clone(),
            event: event.to_owned(),
            source,
        };
        let id = tracefs.event_id(event).map_err(attach_err)?;
        let perf = sys::perf_event_open(sys::PERF_TYPE_TRACEPOINT, id, 0).map_err(attach_err)?;
        // A program is attached to a tracepoint at most once: EEXIST while
        // an earlier attachment's perf event is still being released (its
        // fd closed by a memstatd that is exiting, or still held by a child
        // between fork and exec). The kernel lets it go within moments.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            match sys::perf_event_attach(&perf, &self.fd) {
                Err(e)
                    if e.raw_os_error() == Some(libc::EEXIST)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                attached => break attached.map_err(attach_err)?,
            }
        }
        Ok(Attachment { _perf: vec![perf] })
    }

    /// Attaches to the software perf event `config` (e.g.
    /// `PERF_COUNT_SW_PAGE_FAULTS_MAJ`), named `name` in errors. Software
    /// events count per CPU, so there is one perf event per online CPU; a CPU
    /// brought online later is not covered until the next attach.
    pub(crate) fn attach_perf_software(
        &self,
        config: u64,
        name: &str,
    ) -> Result<Attachment, BpfError> {
        let attach_err = |source| BpfError::Attach {
            prog: self.path.clone(),
            event: name.to_owned(),
            source,
        };
        let mut perf = Vec::new();
        for cpu in online_cpus().map_err(attach_err)? {
            let fd = sys::perf_event_open(sys::PERF_TYPE_SOFTWARE, config, cpu as i32)
                .map_err(attach_err)?;
            sys::perf_event_attach(&fd, &self.fd).map_err(attach_err)?;
            perf.push(fd);
        }
        Ok(Attachment { _perf: perf })
    }
}

/// A live attachment; dropping it detaches the program.
pub struct Attachment {
    _perf: Vec<OwnedFd>,
}

/// The online CPUs.
fn online_cpus() -> io::Result<Vec<u32>> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online")?;
    expand_cpu_list(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot parse online CPUs {text:?}"),
        )
    })
}

/// Every CPU of a list like `0-3,6`.
fn expand_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.trim().split(',') {
        let (first, last): (u32, u32) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let n = part.trim().parse().ok()?;
                (n, n)
            }
        };
        if last < first || last - first > 65536 {
            return None;
        }
        cpus.extend(first..=last);
    }
    Some(cpus)
}

/// The tracefs mount (`/sys/kernel/tracing`, or under debugfs on old kernels).
#[derive(Clone, Debug)]
pub struct Tracefs {
    root: PathBuf,
}

impl Tracefs {
    /// The first of `/sys/kernel/tracing` and `/sys/kernel/debug/tracing`
    /// that has an `events` directory.
    pub fn find() -> Result<Self, BpfError> {
        ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
            .iter()
            .map(Path::new)
            .find(|p| p.join("events").is_dir())
            .map(|p| Tracefs { root: p.to_owned() })
            .ok_or(BpfError::NoTracefs)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The id of `category/event`.
    pub(crate) fn event_id(&self, event: &str) -> io::Result<u64> {
        let path = self.root.join("events").join(event).join("id");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        text.trim().parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: not an id: {text:?}", path.display()),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0-7\n"), Some(8));
        assert_eq!(parse_cpu_list("0"), Some(1));
        assert_eq!(parse_cpu_list("0,2-3"), Some(4));
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(parse_cpu_list(""), None);
    }

    #[test]
    fn cpu_lists_expand() {
        assert_eq!(expand_cpu_list("0-3,6\n"), Some(vec![0, 1, 2, 3, 6]));
        assert_eq!(expand_cpu_list("0"), Some(vec![0]));
        assert_eq!(expand_cpu_list("3-1"), None);
        assert_eq!(expand_cpu_list(""), None);
    }

    #[test]
    fn per_cpu_values_are_8_byte_strided() {
        assert_eq!(per_cpu_stride(4), 8);
        assert_eq!(per_cpu_stride(16), 16);
    }
}

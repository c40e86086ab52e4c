//! The `bpf(2)` and `perf_event_open(2)` calls memstat makes, as thin typed
//! wrappers. Each `bpf_attr` variant is its own `#[repr(C)]` struct holding
//! the prefix of the kernel union that the command reads; the kernel accepts
//! a shorter attr as long as the bytes it does not get would have been zero.
//!
//! aya is not used for these: it cannot load the platform's object format,
//! opens pins read-write, probes kernel features by loading test programs
//! (forbidden to the daemon on a device), and has no batch lookup.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// `bpf(2)` command: create a map (host loader only).
pub const BPF_MAP_CREATE: u32 = 0;
pub(crate) const BPF_MAP_LOOKUP_ELEM: u32 = 1;
pub(crate) const BPF_MAP_UPDATE_ELEM: u32 = 2;
pub(crate) const BPF_MAP_DELETE_ELEM: u32 = 3;
pub(crate) const BPF_MAP_GET_NEXT_KEY: u32 = 4;
/// `bpf(2)` command: load a program (host loader only).
pub const BPF_PROG_LOAD: u32 = 5;
/// `bpf(2)` command: pin an object in bpffs (host loader only).
pub const BPF_OBJ_PIN: u32 = 6;
pub(crate) const BPF_OBJ_GET: u32 = 7;
pub(crate) const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
pub(crate) const BPF_MAP_LOOKUP_BATCH: u32 = 24;

/// `file_flags` of `BPF_OBJ_GET`.
pub const BPF_F_RDONLY: u32 = 1 << 3;

/// Program type of `tracepoint/` sections.
pub const BPF_PROG_TYPE_TRACEPOINT: u32 = 5;
/// Program type of `perf_event/` sections.
pub const BPF_PROG_TYPE_PERF_EVENT: u32 = 7;

/// Map type `HASH`: shared, for rare events.
pub const BPF_MAP_TYPE_HASH: u32 = 1;
/// Map type `ARRAY`: config maps and zero values.
pub const BPF_MAP_TYPE_ARRAY: u32 = 2;
/// Map type `PERCPU_HASH`: per-UID values of hot events, one copy per CPU.
pub const BPF_MAP_TYPE_PERCPU_HASH: u32 = 5;
/// Map type `PERCPU_ARRAY`: overflow buckets and sampling ticks, per CPU.
pub const BPF_MAP_TYPE_PERCPU_ARRAY: u32 = 6;
/// Map type `LRU_HASH`: start times, where the oldest entry may go.
pub const BPF_MAP_TYPE_LRU_HASH: u32 = 9;
pub(crate) const BPF_MAP_TYPE_LRU_PERCPU_HASH: u32 = 10;

/// Kernel object names: at most 15 characters of `[A-Za-z0-9_.]`.
pub(crate) const BPF_OBJ_NAME_LEN: usize = 16;

/// `ENOTSUPP`, the kernel-internal errno some commands leak to user space.
const ENOTSUPP: i32 = 524;

fn sys_bpf<T>(cmd: u32, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: attr points to a live, initialised #[repr(C)] bpf_attr prefix of
    // the given size; the kernel reads and writes at most that many bytes.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd as libc::c_long,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn fd_result(ret: libc::c_long) -> OwnedFd {
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(ret as RawFd) }
}

fn path_cstring(path: &Path) -> io::Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: NUL in path", path.display()),
        )
    })
}

/// A kernel object name: invalid characters dropped, truncated to 15 bytes.
pub fn obj_name(name: &str) -> [u8; BPF_OBJ_NAME_LEN] {
    let mut out = [0u8; BPF_OBJ_NAME_LEN];
    let valid = name
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.');
    for (slot, b) in out.iter_mut().zip(valid.take(BPF_OBJ_NAME_LEN - 1)) {
        *slot = b;
    }
    out
}

#[repr(C)]
#[derive(Default)]
struct ObjAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
}

/// `BPF_OBJ_GET`: opens a pin; `file_flags` 0 or `BPF_F_RDONLY`.
pub fn obj_get(path: &Path, file_flags: u32) -> io::Result<OwnedFd> {
    let cpath = path_cstring(path)?;
    let mut attr = ObjAttr {
        pathname: cpath.as_ptr() as u64,
        bpf_fd: 0,
        file_flags,
    };
    sys_bpf(BPF_OBJ_GET, &mut attr).map(fd_result)
}

/// `BPF_OBJ_PIN`: pins `fd` at `path` on a bpffs.
pub fn obj_pin(fd: &OwnedFd, path: &Path) -> io::Result<()> {
    let cpath = path_cstring(path)?;
    let mut attr = ObjAttr {
        pathname: cpath.as_ptr() as u64,
        bpf_fd: fd.as_raw_fd() as u32,
        file_flags: 0,
    };
    sys_bpf(BPF_OBJ_PIN, &mut attr).map(drop)
}

#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; BPF_OBJ_NAME_LEN],
}

/// What a map is: the properties the platform loader compares on pin reuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapShape {
    pub(crate) map_type: u32,
    pub(crate) key_size: u32,
    pub(crate) value_size: u32,
    pub(crate) max_entries: u32,
    pub(crate) map_flags: u32,
}

/// `BPF_MAP_CREATE`. Host loader only: a device daemon never creates maps.
pub fn map_create(shape: &MapShape, name: &str) -> io::Result<OwnedFd> {
    let mut attr = MapCreateAttr {
        map_type: shape.map_type,
        key_size: shape.key_size,
        value_size: shape.value_size,
        max_entries: shape.max_entries,
        map_flags: shape.map_flags,
        map_name: obj_name(name),
        ..Default::default()
    };
    sys_bpf(BPF_MAP_CREATE, &mut attr).map(fd_result)
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; BPF_OBJ_NAME_LEN],
}

/// A failed `BPF_PROG_LOAD`, with the verifier's log when it gave one.
#[derive(Debug)]
pub struct ProgLoadError {
    /// The kernel's error.
    pub error: io::Error,
    /// The verifier's log of the second load; empty when it gave none, or
    /// when the program was too large (`E2BIG`) to be worth a second load.
    pub log: String,
}

/// `BPF_PROG_LOAD`. Host loader only. Loads without a log first (the fast
/// path); on failure loads again with one, so the error can explain itself.
pub fn prog_load(
    prog_type: u32,
    insns: &[u8],
    license: &str,
    kern_version: u32,
    name: &str,
) -> Result<OwnedFd, ProgLoadError> {
    let license = CString::new(license).unwrap_or_default();
    let mut attr = ProgLoadAttr {
        prog_type,
        insn_cnt: (insns.len() / 8) as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        kern_version,
        prog_name: obj_name(name),
        ..Default::default()
    };
    match sys_bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => return Ok(fd_result(fd)),
        Err(e) if e.raw_os_error() == Some(libc::E2BIG) => {
            return Err(ProgLoadError {
                error: e,
                log: String::new(),
            })
        }
        Err(_) => {}
    }
    let mut log = vec![0u8; 1 << 20];
    attr.log_level = 1;
    attr.log_size = log.len() as u32;
    attr.log_buf = log.as_mut_ptr() as u64;
    match sys_bpf(BPF_PROG_LOAD, &mut attr) {
        Ok(fd) => Ok(fd_result(fd)),
        Err(error) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            Err(ProgLoadError {
                error,
                log: String::from_utf8_lossy(&log[..end]).into_owned(),
            })
        }
    }
}

#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

fn obj_info<T: Default>(fd: &OwnedFd) -> io::Result<T> {
    let mut info = T::default();
    let mut attr = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: std::mem::size_of::<T>() as u32,
        info: &mut info as *mut T as u64,
    };
    sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)?;
    Ok(info)
}

#[repr(C)]
#[derive(Default)]
struct MapInfo {
    map_type: u32,
    id: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    name: [u8; BPF_OBJ_NAME_LEN],
}

/// What the kernel says about a map.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapSummary {
    pub(crate) shape: MapShape,
    /// The kernel's name of the map: its definition's, characters outside
    /// `[A-Za-z0-9_.]` dropped, cut to 15.
    pub name: String,
    /// Unique among this boot's maps: a recreated map gets a new id.
    pub(crate) id: u32,
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a map.
pub fn map_info(fd: &OwnedFd) -> io::Result<MapSummary> {
    let info: MapInfo = obj_info(fd)?;
    let shape = MapShape {
        map_type: info.map_type,
        key_size: info.key_size,
        value_size: info.value_size,
        max_entries: info.max_entries,
        map_flags: info.map_flags,
    };
    Ok(MapSummary {
        shape,
        name: c_name(&info.name),
        id: info.id,
    })
}

/// The memory the kernel charges for a BPF object (`memlock:` in its fdinfo).
pub(crate) fn memlock(fd: &OwnedFd) -> io::Result<u64> {
    let path = format!("/proc/self/fdinfo/{}", fd.as_raw_fd());
    let text = std::fs::read_to_string(&path)?;
    text.lines()
        .find_map(|l| l.strip_prefix("memlock:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("{path}: no memlock")))
}

/// The prefix of `struct bpf_prog_info` up to `run_cnt`.
#[repr(C)]
#[derive(Default)]
struct ProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; BPF_OBJ_NAME_LEN],
    ifindex: u32,
    gpl_compatible: u32,
    netns_dev: u64,
    netns_ino: u64,
    nr_jited_ksyms: u32,
    nr_jited_func_lens: u32,
    jited_ksyms: u64,
    jited_func_lens: u64,
    btf_id: u32,
    func_info_rec_size: u32,
    func_info: u64,
    nr_func_info: u32,
    nr_line_info: u32,
    line_info: u64,
    jited_line_info: u64,
    nr_jited_line_info: u32,
    line_info_rec_size: u32,
    jited_line_info_rec_size: u32,
    nr_prog_tags: u32,
    prog_tags: u64,
    run_time_ns: u64,
    run_cnt: u64,
}

/// What the kernel says about a loaded program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgSummary {
    pub(crate) prog_type: u32,
    /// The kernel's name of the program: its function's, characters outside
    /// `[A-Za-z0-9_.]` dropped, cut to 15.
    pub name: String,
    /// CLOCK_BOOTTIME ns when the program was loaded.
    pub(crate) load_time_ns: u64,
    /// Filled only while `kernel.bpf_stats_enabled` is 1.
    pub(crate) run_time_ns: u64,
    pub(crate) run_cnt: u64,
}

/// `BPF_OBJ_GET_INFO_BY_FD` on a program.
pub fn prog_info(fd: &OwnedFd) -> io::Result<ProgSummary> {
    let info: ProgInfo = obj_info(fd)?;
    Ok(ProgSummary {
        prog_type: info.prog_type,
        name: c_name(&info.name),
        load_time_ns: info.load_time,
        run_time_ns: info.run_time_ns,
        run_cnt: info.run_cnt,
    })
}

/// Most maps one program may use (the kernel's `MAX_USED_MAPS`).
const MAX_USED_MAPS: usize = 64;

/// `BPF_OBJ_GET_INFO_BY_FD` on a program: the ids of the maps it uses.
/// Needs no privilege beyond the program's fd, and loads nothing.
pub fn prog_map_ids(fd: &OwnedFd) -> io::Result<Vec<u32>> {
    let mut ids = [0u32; MAX_USED_MAPS];
    let mut info = ProgInfo {
        nr_map_ids: MAX_USED_MAPS as u32,
        map_ids: ids.as_mut_ptr() as u64,
        ..Default::default()
    };
    let mut attr = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: std::mem::size_of::<ProgInfo>() as u32,
        info: &mut info as *mut ProgInfo as u64,
    };
    sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &mut attr)?;
    let n = (info.nr_map_ids as usize).min(MAX_USED_MAPS);
    Ok(ids[..n].to_vec())
}

fn c_name(raw: &[u8]) -> String {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

#[repr(C)]
#[derive(Default)]
struct ElemAttr {
    map_fd: u32,
    pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// `BPF_MAP_LOOKUP_ELEM`; `Ok(false)` when the key is absent.
pub(crate) fn map_lookup(fd: &OwnedFd, key: &[u8], value: &mut [u8]) -> io::Result<bool> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        value: value.as_mut_ptr() as u64,
        ..Default::default()
    };
    match sys_bpf(BPF_MAP_LOOKUP_ELEM, &mut attr) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `BPF_MAP_UPDATE_ELEM` with `BPF_ANY`.
pub(crate) fn map_update(fd: &OwnedFd, key: &[u8], value: &[u8]) -> io::Result<()> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        value: value.as_ptr() as u64,
        ..Default::default()
    };
    sys_bpf(BPF_MAP_UPDATE_ELEM, &mut attr).map(drop)
}

/// `BPF_MAP_DELETE_ELEM`; `Ok(false)` when the key was absent.
pub(crate) fn map_delete(fd: &OwnedFd, key: &[u8]) -> io::Result<bool> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.as_ptr() as u64,
        ..Default::default()
    };
    match sys_bpf(BPF_MAP_DELETE_ELEM, &mut attr) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `BPF_MAP_GET_NEXT_KEY`; `Ok(false)` after the last key.
pub(crate) fn map_next_key(fd: &OwnedFd, key: Option<&[u8]>, next: &mut [u8]) -> io::Result<bool> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        key: key.map_or(0, |k| k.as_ptr() as u64),
        value: next.as_mut_ptr() as u64,
        ..Default::default()
    };
    match sys_bpf(BPF_MAP_GET_NEXT_KEY, &mut attr) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

#[repr(C)]
#[derive(Default)]
struct BatchAttr {
    in_batch: u64,
    out_batch: u64,
    keys: u64,
    values: u64,
    count: u32,
    map_fd: u32,
    elem_flags: u64,
    flags: u64,
}

/// Outcome of one `BPF_MAP_LOOKUP_BATCH` call.
pub(crate) enum Batch {
    /// `n` entries were copied; more may follow.
    More(usize),
    /// `n` entries were copied and the map is exhausted.
    Done(usize),
    /// The kernel has no batch lookup for this map.
    Unsupported,
    /// One hash bucket holds more entries than the buffers: retry larger.
    BufferTooSmall,
}

/// `BPF_MAP_LOOKUP_BATCH`. `token` carries the position between calls:
/// `None` starts from the beginning; the kernel writes the next position to
/// `out_token`, which the caller passes as `token` next time.
pub(crate) fn map_lookup_batch(
    fd: &OwnedFd,
    token: Option<&[u8]>,
    out_token: &mut [u8],
    keys: &mut [u8],
    values: &mut [u8],
    capacity: usize,
) -> io::Result<Batch> {
    let mut attr = BatchAttr {
        in_batch: token.map_or(0, |t| t.as_ptr() as u64),
        out_batch: out_token.as_mut_ptr() as u64,
        keys: keys.as_mut_ptr() as u64,
        values: values.as_mut_ptr() as u64,
        count: capacity as u32,
        map_fd: fd.as_raw_fd() as u32,
        ..Default::default()
    };
    match sys_bpf(BPF_MAP_LOOKUP_BATCH, &mut attr) {
        Ok(_) => Ok(Batch::More(attr.count as usize)),
        Err(e) => match e.raw_os_error() {
            Some(libc::ENOENT) => Ok(Batch::Done(attr.count as usize)),
            Some(libc::ENOSPC) => Ok(Batch::BufferTooSmall),
            Some(libc::EINVAL) | Some(libc::ENOTSUP) | Some(ENOTSUPP) => Ok(Batch::Unsupported),
            _ => Err(e),
        },
    }
}

pub(crate) const PERF_TYPE_SOFTWARE: u32 = 1;
pub(crate) const PERF_TYPE_TRACEPOINT: u32 = 2;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;

/// `struct perf_event_attr` as of `PERF_ATTR_SIZE_VER5` (112 bytes).
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    event_type: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
    sample_regs_intr: u64,
    aux_watermark: u32,
    sample_max_stack: u16,
    reserved: u16,
}

/// `perf_event_open(2)` for a tracepoint or software event on one CPU, all tasks.
pub(crate) fn perf_event_open(event_type: u32, config: u64, cpu: i32) -> io::Result<OwnedFd> {
    let attr = PerfEventAttr {
        event_type,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config,
        sample_period: 1,
        wakeup_events: 1,
        ..Default::default()
    };
    // SAFETY: attr is a valid perf_event_attr of the size it declares.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            -1 as libc::pid_t,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd_result(ret))
}

/// Attaches `prog` to the perf event and enables it.
pub(crate) fn perf_event_attach(event: &OwnedFd, prog: &OwnedFd) -> io::Result<()> {
    for (request, arg) in [
        (PERF_EVENT_IOC_SET_BPF, prog.as_raw_fd() as libc::c_ulong),
        (PERF_EVENT_IOC_ENABLE, 0),
    ] {
        // SAFETY: both requests take an integer argument, not a pointer.
        if unsafe { libc::ioctl(event.as_raw_fd(), request as _, arg) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_layouts_match_the_kernel() {
        assert_eq!(std::mem::size_of::<PerfEventAttr>(), 112);
        assert_eq!(std::mem::size_of::<BatchAttr>(), 56);
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 64);
        assert_eq!(std::mem::offset_of!(ProgInfo, run_time_ns), 192);
        assert_eq!(std::mem::offset_of!(ProgInfo, run_cnt), 200);
    }

    #[test]
    fn object_names_are_truncated_and_sanitised() {
        assert_eq!(&obj_name("syscall_counts")[..15], b"syscall_counts\0");
        assert_eq!(
            &obj_name("a_very_long_map_name_indeed")[..],
            b"a_very_long_map\0"
        );
        assert_eq!(&obj_name("tp/sys-exit")[..9], b"tpsysexit");
    }
}

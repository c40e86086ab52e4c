//! What a hostile or careless local user does to memstat's pins, as the
//! tests need it: open them with `BPF_OBJ_GET` as another user, fill a map
//! (as root, through its pin) so that the programs find no room, and leave a
//! program pin stale.

use memstatd::bpf::sys;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_LOOKUP_ELEM: libc::c_long = 1;
const BPF_OBJ_GET: libc::c_long = 7;

/// What one user got from `BPF_OBJ_GET` on one pin: `Ok` or the errno,
/// read-only and read-write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// With `BPF_F_RDONLY`.
    pub read: Result<(), i32>,
    /// With no flags: read and write.
    pub write: Result<(), i32>,
}

#[repr(C)]
struct ObjAttr {
    pathname: u64,
    bpf_fd: u32,
    file_flags: u32,
}

/// Opens each of `pins` read-only and read-write as `uid`, with group `gid`
/// and supplementary `groups`, in a forked child: only raw syscalls run
/// there (the test process has other threads).
pub fn obj_get_as(uid: u32, gid: u32, groups: &[u32], pins: &[PathBuf]) -> Vec<Access> {
    let paths: Vec<CString> = pins
        .iter()
        .map(|p| CString::new(p.to_str().expect("utf-8 path")).expect("no NUL"))
        .collect();
    let mut results = vec![0i32; paths.len() * 2];
    let mut fds = [0; 2];
    // SAFETY: fds has room for the two descriptors.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: the child makes only async-signal-safe calls on memory that
    // was allocated before the fork, then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // SAFETY: as above; every pointer is valid in the child's copy.
        unsafe {
            let ok = libc::setgroups(groups.len(), groups.as_ptr()) == 0
                && libc::setgid(gid) == 0
                && libc::setuid(uid) == 0;
            if !ok {
                libc::_exit(3);
            }
            for (i, path) in paths.iter().enumerate() {
                for (j, flags) in [sys::BPF_F_RDONLY, 0].into_iter().enumerate() {
                    let mut attr = ObjAttr {
                        pathname: path.as_ptr() as u64,
                        bpf_fd: 0,
                        file_flags: flags,
                    };
                    let fd = libc::syscall(
                        libc::SYS_bpf,
                        BPF_OBJ_GET,
                        &mut attr as *mut ObjAttr,
                        std::mem::size_of::<ObjAttr>(),
                    );
                    results[i * 2 + j] = if fd >= 0 {
                        libc::close(fd as i32);
                        0
                    } else {
                        *libc::__errno_location()
                    };
                }
            }
            let bytes = results.len() * 4;
            let ok = libc::write(fds[1], results.as_ptr().cast(), bytes) == bytes as isize;
            libc::_exit(if ok { 0 } else { 4 });
        }
    }
    // SAFETY: the write end is the child's; results has room for its answer.
    unsafe {
        libc::close(fds[1]);
        let bytes = results.len() * 4;
        let n = libc::read(fds[0], results.as_mut_ptr().cast(), bytes);
        libc::close(fds[0]);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 && n == bytes as isize,
            "the child as uid {uid} failed: status {status}, {n} bytes"
        );
    }
    let get = |r: i32| if r == 0 { Ok(()) } else { Err(r) };
    results
        .chunks(2)
        .map(|r| Access {
            read: get(r[0]),
            write: get(r[1]),
        })
        .collect()
}

/// Every pin under `root` (a bpffs): `map_*` and `prog_*`, sorted.
pub fn pins_under(root: &Path) -> Vec<PathBuf> {
    let mut pins: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("map_") || name.starts_with("prog_")
        })
        .collect();
    pins.sort();
    pins
}

#[repr(C)]
struct ElemAttr {
    map_fd: u32,
    pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

/// Inserts `keys` into the map pinned at `pin` (as root), each with a zero
/// value of `value_size` bytes (one per CPU if `per_cpu`), until the map is
/// full. Returns how many went in; the rest found no room (`E2BIG`).
pub fn fill_map(pin: &Path, value_size: usize, per_cpu: bool, keys: &[Vec<u8>]) -> usize {
    let fd: OwnedFd = sys::obj_get(pin, 0).unwrap_or_else(|e| panic!("{}: {e}", pin.display()));
    let copies = if per_cpu {
        memstatd::bpf::possible_cpus().unwrap()
    } else {
        1
    };
    let mut value = vec![0u8; value_size.div_ceil(8) * 8 * copies];
    for (n, key) in keys.iter().enumerate() {
        if let Err(e) = elem(&fd, BPF_MAP_UPDATE_ELEM, key, &mut value) {
            assert_eq!(
                e.raw_os_error(),
                Some(libc::E2BIG),
                "{}: {e}",
                pin.display()
            );
            return n;
        }
    }
    keys.len()
}

/// Takes every free slot of the syscall group's `syscall_slots` pinned at
/// `pin`, on every CPU, for a pair no reading counts (its number is past a
/// row). Each slot is read and written back: a slot the programs take or
/// count in between loses that, so call it while no process whose counts a
/// test asserts makes syscalls. The programs then count every pair with no
/// row and no slot of its own in the shared table.
pub fn take_every_slot(pin: &Path) {
    use memstatd::abi::{syscalls, SyscallSlot};
    let fd: OwnedFd = sys::obj_get(pin, 0).unwrap_or_else(|e| panic!("{}: {e}", pin.display()));
    let size = std::mem::size_of::<SyscallSlot>();
    let foreign = SyscallSlot::key_of(66299, u32::MAX - 1);
    let mut value = vec![0u8; size * memstatd::bpf::possible_cpus().unwrap()];
    for index in 0..syscalls::SLOTS {
        let key = index.to_ne_bytes();
        must(elem(&fd, BPF_MAP_LOOKUP_ELEM, &key, &mut value), pin);
        for copy in value.chunks_exact_mut(size) {
            if copy[..8] == [0; 8] {
                copy[..8].copy_from_slice(&foreign.to_ne_bytes());
            }
        }
        must(elem(&fd, BPF_MAP_UPDATE_ELEM, &key, &mut value), pin);
    }
}

/// The calls counted in the slot of (`uid`, `nr`) on each CPU where that
/// pair holds it, of the `syscall_slots` pinned at `pin`.
pub fn slot_counts(pin: &Path, uid: u32, nr: u32) -> Vec<u64> {
    use memstatd::abi::{syscalls, SyscallSlot};
    let fd: OwnedFd = sys::obj_get(pin, 0).unwrap_or_else(|e| panic!("{}: {e}", pin.display()));
    let size = std::mem::size_of::<SyscallSlot>();
    let mut value = vec![0u8; size * memstatd::bpf::possible_cpus().unwrap()];
    let key = syscalls::slot_of(uid, nr).to_ne_bytes();
    must(elem(&fd, BPF_MAP_LOOKUP_ELEM, &key, &mut value), pin);
    let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap());
    value
        .chunks_exact(size)
        .filter(|copy| word(&copy[..8]) == SyscallSlot::key_of(uid, nr))
        .map(|copy| word(&copy[8..16]))
        .collect()
}

/// One BPF element command (lookup or update) on the map `fd`.
fn elem(fd: &OwnedFd, cmd: libc::c_long, key: &[u8], value: &mut [u8]) -> std::io::Result<()> {
    let mut attr = ElemAttr {
        map_fd: fd.as_raw_fd() as u32,
        pad: 0,
        key: key.as_ptr() as u64,
        value: value.as_mut_ptr() as u64,
        flags: 0,
    };
    // SAFETY: attr points at live key and value buffers of the map's sizes.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            &mut attr as *mut ElemAttr,
            std::mem::size_of::<ElemAttr>(),
        )
    };
    match rc {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

fn must(done: std::io::Result<()>, pin: &Path) {
    if let Err(e) = done {
        panic!("{}: {e}", pin.display());
    }
}

/// Makes the program pins of `object` under `root` stale: each is replaced
/// by the same program of a copy of the object loaded into `other` (another
/// bpffs), which uses that copy's maps, not the maps pinned beside it.
pub fn stale_programs(root: &Path, other: &Path, object: &str) {
    crate::load_builtin(other, object);
    for entry in std::fs::read_dir(other).unwrap() {
        let name = entry.unwrap().file_name();
        let name = name.to_string_lossy();
        if !name.starts_with(&format!("prog_{object}_")) {
            continue;
        }
        let old = sys::obj_get(&other.join(&*name), sys::BPF_F_RDONLY).unwrap();
        let pin = root.join(&*name);
        std::fs::remove_file(&pin).unwrap();
        sys::obj_pin(&old, &pin).unwrap();
    }
}

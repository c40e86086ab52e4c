//! Makes exactly the syscalls it is told to, so tests know the truth.
//!
//! Usage: workload OP...
//!   getppid:N          N successful getppid calls
//!   badfd:N            N fchdir(-1) calls, each failing with EBADF
//!   enosys:FIRST:N     one call to each nonexistent syscall FIRST..FIRST+N (ENOSYS)
//!   sleep:N:MS         N nanosleep calls of MS milliseconds
//!   uids:FIRST:N       (as root) one setresuid call as each UID FIRST..FIRST+N:
//!                      N active UIDs from one process, for benchmarks
//!
//! Memory operations. Each lists every syscall it makes, in order (P is the
//! page size; N and BYTES are decimal, BYTES > 0). None of them allocates on
//! the heap, so malloc adds no brk or mmap of its own; an op that fails stops
//! the workload with status 2 and a message naming the call.
//!   touch:N            mmap(NULL, N*P, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS),
//!                      madvise(MADV_NOHUGEPAGE) on it (one page per fault, even
//!                      with THP), getrusage(RUSAGE_SELF), a one-byte write to
//!                      each page (N minor faults from user mode), getrusage,
//!                      munmap(N*P), then the line
//!                      `touch N minflt=X majflt=Y` (write(1, ...)): the
//!                      rusage deltas across the writes alone
//!   mmap:N:BYTES       N mmap(NULL, BYTES, PROT_NONE,
//!                      MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0), then N
//!                      munmap(addr, BYTES): no fault, no memory
//!   mprotect:N:BYTES   one such mmap of BYTES, N mprotect(addr, BYTES, PROT)
//!                      with PROT_READ, PROT_NONE, PROT_READ, ..., munmap(BYTES)
//!   madvise:N:BYTES    mmap(BYTES, PROT_READ|PROT_WRITE, MAP_PRIVATE|
//!                      MAP_ANONYMOUS|MAP_NORESERVE), N madvise(addr, BYTES,
//!                      MADV_DONTNEED) (no page is ever touched), munmap(BYTES)
//!   mremap:N:BYTES     one PROT_NONE mmap as for mmap:, then N mremap calls with
//!                      MREMAP_MAYMOVE: odd calls grow BYTES -> 2*BYTES (new_len
//!                      2*BYTES), even calls shrink 2*BYTES -> BYTES (new_len
//!                      BYTES); then munmap of the last length (BYTES if N is
//!                      even, 2*BYTES if odd)
//!   brk:N:BYTES        brk(0) reads the break B0, then brk(B0 + i*BYTES) for
//!                      i = 1..N (each grows it by BYTES), then brk(B0): N+2 calls
//!   brkgrow:N:BYTES    the same from the break B0 the last brk op left (in a
//!                      forked child, its parent's), without brk(0): N+1 calls
//!   memfd:N            N times: memfd_create("memstat-workload", MFD_CLOEXEC), close
//!   shm:N:BYTES        N times: shmget(IPC_PRIVATE, BYTES, IPC_CREAT|0600),
//!                      shmat(id, NULL, 0) (maps BYTES rounded up to pages),
//!                      shmdt, shmctl(id, IPC_RMID, NULL)
//!   slab:N             N eventfd2(0, 0), then N close. Each eventfd2 allocates
//!                      the eventfd_ctx with kmalloc in do_eventfd (48 bytes
//!                      requested, 64 from kmalloc-64, on 64-bit 6.x without
//!                      lock debugging) and, with kmem_cache_alloc, a struct
//!                      file (filp: 184 of 192 bytes on 6.18 x86_64) and a
//!                      dentry (alloc_file_pseudo), plus a blob from
//!                      lsm_file_cache when an LSM keeps one; now and then the
//!                      eventfd ida, the growing fd table and, for accounted
//!                      caches, new slabs' obj_exts vectors add kmallocs (6.18
//!                      x86_64: 1, 1, 10, 94, 962 extra for N = 1, 10, 100,
//!                      1000, 10000)
//!   pipe:N             N pipe2(fds, 0), then 2N close. Each pipe2 allocates, with
//!                      kmem_cache_alloc, an inode, a dentry and two files (and
//!                      LSM blobs) and, with kmalloc, a pipe_inode_info and its
//!                      16 pipe_buffers (176 and 640 bytes requested on 6.18
//!                      x86_64)
//!   majfault:N:PATH    openat(PATH, O_RDWR|O_CREAT|O_TRUNC|O_CLOEXEC, 0600),
//!                      fstatfs (refuses tmpfs and ramfs, whose pages never come
//!                      from disk), N write of one page of zeros, fsync, mmap(N*P,
//!                      PROT_READ, MAP_SHARED), fadvise64(POSIX_FADV_DONTNEED)
//!                      and mincore to check no page stayed cached (up to 5
//!                      tries, 20 ms nanosleep apart), madvise(MADV_RANDOM) (no
//!                      readahead, so each fault reads its own page), getrusage,
//!                      a read of one byte of each page (N major faults),
//!                      getrusage, munmap, close, unlink(PATH), then the line
//!                      `majfault N minflt=X majflt=Y resident_before=R`: the
//!                      rusage deltas across the reads, and the pages still
//!                      cached before them (0 unless dropping failed)
//!   hog:BYTES          one mmap of 1 MiB (the last: the rest) at a time, each
//!                      written page by page, up to BYTES; the line `hog MiB=M`
//!                      after every 16 MiB, `hog done BYTES` at the end, then
//!                      pause() until killed (a memory cgroup's OOM killer or
//!                      the caller): the last op, meant to be run in a small
//!                      memory cgroup
//!   fork               fork: the child runs the next op and exits; the parent
//!                      waits for it (wait4), fails if it failed, and goes on
//!                      with the ops after that one
//!   exec               execve("/proc/self/exe") with the ops after this one as
//!                      arguments: the new image runs them, with the same
//!                      stdin, stdout and environment. Its start-up makes calls
//!                      of its own; with GLIBC_TUNABLES=glibc.malloc.mmap_threshold=0
//!                      glibc's malloc takes no memory with brk
//!   wait               write(1, "wait\n"), then read(0) one byte at a time up
//!                      to a newline or end of file: lets a test read counters
//!                      at this point, then resume the workload. Between two
//!                      waits a UID's counters grow by exactly the ops between
//!                      them, plus the second wait's write and read
//!
//! Apart from these it makes only the calls of process start and exit, none of
//! which is getppid, fchdir or a nonexistent syscall.

#[path = "workload/process.rs"]
mod process;

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Addresses and file descriptors that ops keep: a static table, so that no
/// op allocates (a heap allocation may make brk or mmap calls of its own).
/// Written once at start-up, so that ops fault in none of it.
const SLOTS: usize = 1 << 16;
static TABLE: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];

// Linux UAPI values, the same on every architecture (the libc crate lacks
// some of them for Android).
const IPC_PRIVATE: libc::c_int = 0;
const IPC_CREAT: libc::c_int = 0o1000;
const IPC_RMID: libc::c_int = 0;
const MREMAP_MAYMOVE: libc::c_int = 1;
const TMPFS_MAGIC: u64 = 0x0102_1994;
const RAMFS_MAGIC: u64 = 0x8584_58f6;

const MIB: u64 = 1 << 20;
/// The largest page size supported: a page of zeros is written from the
/// (already faulted-in) table.
const MAX_PAGE: usize = SLOTS * size_of::<usize>();

/// The fields of one operation, `KIND:A:B...`.
struct Fields<'a> {
    op: &'a str,
    usage: &'static str,
    rest: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn bad(&self, what: &str) -> String {
        format!(
            "bad operation {:?}: {what} (usage: {})",
            self.op, self.usage
        )
    }

    fn next_str(&mut self) -> Result<&'a str, String> {
        let rest = self.rest.ok_or_else(|| self.bad("too few fields"))?;
        let (field, rest) = match rest.split_once(':') {
            Some((f, r)) => (f, Some(r)),
            None => (rest, None),
        };
        self.rest = rest;
        Ok(field)
    }

    fn num(&mut self) -> Result<u64, String> {
        let field = self.next_str()?;
        field
            .parse()
            .map_err(|_| self.bad(&format!("{field:?} is not a number")))
    }

    /// A byte count: more than 0.
    fn bytes(&mut self) -> Result<u64, String> {
        match self.num()? {
            0 => Err(self.bad("BYTES must be more than 0")),
            b => Ok(b),
        }
    }

    /// A count that fits the table `per` times over.
    fn slots(&mut self, per: usize) -> Result<u64, String> {
        let n = self.num()?;
        if n as usize > SLOTS / per {
            return Err(self.bad(&format!("N is at most {}", SLOTS / per)));
        }
        Ok(n)
    }

    /// Everything after the fields read so far (a path may hold ':').
    fn rest(&mut self) -> Result<&'a str, String> {
        let rest = self.rest.take().ok_or_else(|| self.bad("too few fields"))?;
        Ok(rest)
    }

    fn end(&self) -> Result<(), String> {
        match self.rest {
            None => Ok(()),
            Some(_) => Err(self.bad("too many fields")),
        }
    }
}

fn num(s: Option<&str>, op: &str) -> Result<u64, String> {
    s.and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("bad operation {op:?}: expected numbers"))
}

/// A raw syscall's result, or the error named after the call (formatted only
/// then: ops must not allocate).
fn check(call: impl std::fmt::Display, r: libc::c_long) -> Result<usize, String> {
    if r == -1 {
        return Err(format!("{call}: {}", std::io::Error::last_os_error()));
    }
    Ok(r as usize)
}

fn mmap_anon(len: u64, prot: libc::c_int, flags: libc::c_int) -> Result<usize, String> {
    // SAFETY: an anonymous mapping at an address the kernel picks touches no
    // existing memory.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mmap,
            0usize,
            len as usize,
            prot,
            flags | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0usize,
        )
    };
    check(format_args!("mmap of {len} bytes"), r)
}

fn munmap(addr: usize, len: u64) -> Result<(), String> {
    // SAFETY: addr..addr+len is a mapping of this op that nothing refers to.
    let r = unsafe { libc::syscall(libc::SYS_munmap, addr, len as usize) };
    check(format_args!("munmap of {len} bytes at {addr:#x}"), r).map(drop)
}

fn close(fd: usize) -> Result<(), String> {
    // SAFETY: fd is a descriptor this op opened and owns.
    let r = unsafe { libc::syscall(libc::SYS_close, fd) };
    check(format_args!("close({fd})"), r).map(drop)
}

/// (minor, major) faults of this process so far.
fn faults() -> Result<(u64, u64), String> {
    // SAFETY: rusage is plain integers, for which all zeroes is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the rusage it is given.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Err(format!("getrusage: {}", std::io::Error::last_os_error()));
    }
    Ok((ru.ru_minflt as u64, ru.ru_majflt as u64))
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no memory arguments.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

fn run(op: &str) -> Result<(), String> {
    let (kind, rest) = match op.split_once(':') {
        Some((k, r)) => (k, Some(r)),
        None => (op, None),
    };
    let usage = |usage| Fields { op, usage, rest };
    let page = page_size();
    match kind {
        "getppid" | "badfd" | "enosys" | "sleep" | "uids" => return run_syscalls(op),
        "touch" => {
            let mut f = usage("touch:N");
            let n = f.num()?;
            f.end()?;
            let len = n * page;
            let addr = mmap_anon(len, libc::PROT_READ | libc::PROT_WRITE, 0)?;
            // SAFETY: advice on this op's own mapping.
            let r = unsafe {
                libc::syscall(libc::SYS_madvise, addr, len as usize, libc::MADV_NOHUGEPAGE)
            };
            check("madvise(MADV_NOHUGEPAGE)", r)?;
            let before = faults()?;
            for i in 0..n {
                // SAFETY: the page is inside the writable mapping above.
                unsafe { ((addr + (i * page) as usize) as *mut u8).write_volatile(1) };
            }
            let after = faults()?;
            munmap(addr, len)?;
            println!(
                "touch {n} minflt={} majflt={}",
                after.0 - before.0,
                after.1 - before.1
            );
        }
        "mmap" => {
            let mut f = usage("mmap:N:BYTES");
            let (n, bytes) = (f.slots(1)? as usize, f.bytes()?);
            f.end()?;
            for slot in &TABLE[..n] {
                let addr = mmap_anon(bytes, libc::PROT_NONE, libc::MAP_NORESERVE)?;
                slot.store(addr, Ordering::Relaxed);
            }
            for slot in &TABLE[..n] {
                munmap(slot.load(Ordering::Relaxed), bytes)?;
            }
        }
        "mprotect" => {
            let mut f = usage("mprotect:N:BYTES");
            let (n, bytes) = (f.num()?, f.bytes()?);
            f.end()?;
            let addr = mmap_anon(bytes, libc::PROT_NONE, libc::MAP_NORESERVE)?;
            for i in 0..n {
                let prot = if i % 2 == 0 {
                    libc::PROT_READ
                } else {
                    libc::PROT_NONE
                };
                // SAFETY: protection of this op's own mapping.
                let r = unsafe { libc::syscall(libc::SYS_mprotect, addr, bytes as usize, prot) };
                check("mprotect", r)?;
            }
            munmap(addr, bytes)?;
        }
        "madvise" => {
            let mut f = usage("madvise:N:BYTES");
            let (n, bytes) = (f.num()?, f.bytes()?);
            f.end()?;
            let rw = libc::PROT_READ | libc::PROT_WRITE;
            let addr = mmap_anon(bytes, rw, libc::MAP_NORESERVE)?;
            for _ in 0..n {
                // SAFETY: advice on this op's own mapping, which holds no data.
                let r = unsafe {
                    libc::syscall(libc::SYS_madvise, addr, bytes as usize, libc::MADV_DONTNEED)
                };
                check("madvise(MADV_DONTNEED)", r)?;
            }
            munmap(addr, bytes)?;
        }
        "mremap" => {
            let mut f = usage("mremap:N:BYTES");
            let (n, bytes) = (f.num()?, f.bytes()?);
            f.end()?;
            let mut addr = mmap_anon(bytes, libc::PROT_NONE, libc::MAP_NORESERVE)?;
            let mut len = bytes;
            for _ in 0..n {
                let new = if len == bytes { 2 * bytes } else { bytes };
                // SAFETY: resizes (and may move) this op's own mapping, which
                // nothing refers to.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_mremap,
                        addr,
                        len as usize,
                        new as usize,
                        MREMAP_MAYMOVE,
                        0usize,
                    )
                };
                addr = check(format_args!("mremap from {len} to {new} bytes"), r)?;
                len = new;
            }
            munmap(addr, len)?;
        }
        "brk" => process::brk(usage("brk:N:BYTES"))?,
        "brkgrow" => process::brkgrow(usage("brkgrow:N:BYTES"))?,
        "memfd" => {
            let mut f = usage("memfd:N");
            let n = f.num()?;
            f.end()?;
            for _ in 0..n {
                // SAFETY: the name is a NUL-terminated string.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_memfd_create,
                        c"memstat-workload".as_ptr(),
                        libc::MFD_CLOEXEC,
                    )
                };
                close(check("memfd_create", r)?)?;
            }
        }
        "shm" => {
            let mut f = usage("shm:N:BYTES");
            let (n, bytes) = (f.num()?, f.bytes()?);
            f.end()?;
            for _ in 0..n {
                shm_cycle(bytes)?;
            }
        }
        "slab" => {
            let mut f = usage("slab:N");
            let n = f.slots(1)? as usize;
            f.end()?;
            for slot in &TABLE[..n] {
                // SAFETY: eventfd2 has no memory arguments.
                let r = unsafe { libc::syscall(libc::SYS_eventfd2, 0, 0) };
                let fd = check("eventfd2 (RLIMIT_NOFILE must exceed N)", r)?;
                slot.store(fd, Ordering::Relaxed);
            }
            for slot in &TABLE[..n] {
                close(slot.load(Ordering::Relaxed))?;
            }
        }
        "pipe" => {
            let mut f = usage("pipe:N");
            let n = f.slots(2)? as usize;
            f.end()?;
            for pair in TABLE[..2 * n].chunks(2) {
                let mut fds = [0 as libc::c_int; 2];
                // SAFETY: pipe2 fills the two descriptors it is given.
                let r = unsafe { libc::syscall(libc::SYS_pipe2, fds.as_mut_ptr(), 0) };
                check("pipe2 (RLIMIT_NOFILE must exceed 2N)", r)?;
                pair[0].store(fds[0] as usize, Ordering::Relaxed);
                pair[1].store(fds[1] as usize, Ordering::Relaxed);
            }
            for slot in &TABLE[..2 * n] {
                close(slot.load(Ordering::Relaxed))?;
            }
        }
        "majfault" => {
            let mut f = usage("majfault:N:PATH");
            let n = f.num()?;
            let path = f.rest()?;
            majfault(n, path, page)?;
        }
        "hog" => {
            let mut f = usage("hog:BYTES");
            let bytes = f.bytes()?;
            f.end()?;
            hog(bytes, page)?;
        }
        "wait" => {
            usage("wait").end()?;
            wait()?;
        }
        _ => return Err(format!("unknown operation {op:?}")),
    }
    Ok(())
}

/// The syscall-count operations.
fn run_syscalls(op: &str) -> Result<(), String> {
    let mut parts = op.split(':');
    let kind = parts.next().unwrap_or_default();
    let a = num(parts.next(), op)?;
    match kind {
        "getppid" => {
            for _ in 0..a {
                // SAFETY: getppid takes no arguments and cannot fail.
                unsafe { libc::syscall(libc::SYS_getppid) };
            }
        }
        "badfd" => {
            for _ in 0..a {
                // SAFETY: fchdir on fd -1 only fails with EBADF.
                if unsafe { libc::syscall(libc::SYS_fchdir, -1) } != -1 {
                    return Err("fchdir(-1) did not fail".into());
                }
            }
        }
        "enosys" => {
            let n = num(parts.next(), op)?;
            for nr in a..a + n {
                // SAFETY: nonexistent syscall numbers only return ENOSYS.
                unsafe { libc::syscall(nr as libc::c_long) };
            }
        }
        "sleep" => {
            let ms = num(parts.next(), op)?;
            for _ in 0..a {
                sleep_ms(ms);
            }
        }
        "uids" => {
            let n = num(parts.next(), op)?;
            for uid in a..a + n {
                let uid = uid as libc::uid_t;
                // SAFETY: setresuid has no memory arguments. Keeping saved
                // UID 0 lets the process switch back.
                if unsafe { libc::setresuid(uid, uid, 0) } != 0
                    // SAFETY: as above; back to root, which the saved UID allows.
                    || unsafe { libc::setresuid(0, 0, 0) } != 0
                {
                    return Err(format!(
                        "setresuid to {uid}: {}",
                        std::io::Error::last_os_error()
                    ));
                }
            }
        }
        _ => unreachable!("run() dispatches only these"),
    }
    Ok(())
}

fn sleep_ms(ms: u64) {
    let ts = libc::timespec {
        tv_sec: (ms / 1000) as _,
        tv_nsec: ((ms % 1000) * 1_000_000) as _,
    };
    // SAFETY: ts is a valid timespec; the remainder pointer may be NULL.
    unsafe { libc::syscall(libc::SYS_nanosleep, &ts as *const libc::timespec, 0usize) };
}

/// shmget, shmat, shmdt, shmctl(IPC_RMID); the segment is removed even when
/// attaching fails, since System V segments outlive the process.
fn shm_cycle(bytes: u64) -> Result<(), String> {
    // SAFETY: shmget has no memory arguments.
    let r = unsafe {
        libc::syscall(
            libc::SYS_shmget,
            IPC_PRIVATE,
            bytes as usize,
            IPC_CREAT | 0o600,
        )
    };
    let id = check(format_args!("shmget of {bytes} bytes (kernel.shmmax)"), r)?;
    // SAFETY: the kernel picks the address; detached before anyone uses it.
    let attached = unsafe { libc::syscall(libc::SYS_shmat, id, 0usize, 0) };
    let detached = check("shmat", attached).and_then(|addr| {
        // SAFETY: addr is the segment attached just above.
        check("shmdt", unsafe { libc::syscall(libc::SYS_shmdt, addr) })
    });
    // SAFETY: IPC_RMID takes no buffer.
    let removed = unsafe { libc::syscall(libc::SYS_shmctl, id, IPC_RMID, 0usize) };
    detached?;
    check("shmctl(IPC_RMID)", removed).map(drop)
}

/// N major faults on a file of N pages that is not in the page cache.
fn majfault(n: u64, path: &str, page: u64) -> Result<(), String> {
    if page as usize > MAX_PAGE {
        return Err(format!("page size {page} is above {MAX_PAGE}"));
    }
    // A NUL-terminated copy on the stack: no heap allocation.
    let mut cpath = [0u8; libc::PATH_MAX as usize];
    if path.is_empty() || path.len() >= cpath.len() || path.contains('\0') {
        return Err(format!(
            "majfault: PATH {path:?} must be 1 to {} bytes without NUL",
            cpath.len() - 1
        ));
    }
    cpath[..path.len()].copy_from_slice(path.as_bytes());
    let cpath = cpath.as_ptr().cast::<libc::c_char>();

    // SAFETY: cpath is NUL-terminated.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            cpath,
            libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
            0o600,
        )
    };
    let fd = check(format_args!("openat of {path}"), r)?;
    // SAFETY: statfs is plain integers, for which all zeroes is a valid value.
    let mut fs: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: fstatfs fills the statfs it is given.
    if unsafe { libc::fstatfs(fd as libc::c_int, &mut fs) } != 0 {
        return Err(format!(
            "fstatfs of {path}: {}",
            std::io::Error::last_os_error()
        ));
    }
    if [TMPFS_MAGIC, RAMFS_MAGIC].contains(&(fs.f_type as u64)) {
        return Err(format!(
            "majfault: {path} is on tmpfs or ramfs, whose pages never come from disk: \
             use a path on a disk filesystem"
        ));
    }
    // Zeros from the table: written data, not a hole, and no page of stack
    // to fault in.
    let buf = TABLE.as_ptr().cast::<u8>();
    for i in 0..n {
        // SAFETY: the table holds at least one page (MAX_PAGE) and no op
        // writes it meanwhile.
        let r = unsafe { libc::syscall(libc::SYS_write, fd, buf, page as usize) };
        if check(format_args!("write of {path}"), r)? != page as usize {
            return Err(format!("short write to {path} at page {i}"));
        }
    }
    // SAFETY: fsync has no memory arguments; fd is the file opened above.
    check(format_args!("fsync of {path}"), unsafe {
        libc::syscall(libc::SYS_fsync, fd)
    })?;
    let len = n * page;
    // SAFETY: a new shared read-only mapping of the file at an address the
    // kernel picks.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mmap,
            0usize,
            len as usize,
            libc::PROT_READ,
            libc::MAP_SHARED,
            fd,
            0usize,
        )
    };
    let addr = check(format_args!("mmap of {path}"), r)?;

    // Clean pages (fsync waited for writeback) that nothing maps yet: dropping
    // them fails only for pages another CPU still holds in a pagevec for a
    // moment, which fadvise drains; a retry covers the rest.
    let mut resident = 0;
    for attempt in 0..5 {
        if attempt > 0 {
            sleep_ms(20);
        }
        // SAFETY: fadvise has no memory arguments.
        let e = unsafe { libc::posix_fadvise(fd as i32, 0, 0, libc::POSIX_FADV_DONTNEED) };
        if e != 0 {
            return Err(format!(
                "posix_fadvise(DONTNEED) of {path}: {}",
                std::io::Error::from_raw_os_error(e)
            ));
        }
        resident = resident_pages(addr, n, page)?;
        if resident == 0 {
            break;
        }
    }
    // SAFETY: advice on this op's own mapping.
    let r = unsafe { libc::syscall(libc::SYS_madvise, addr, len as usize, libc::MADV_RANDOM) };
    check("madvise(MADV_RANDOM)", r)?;
    let before = faults()?;
    for i in 0..n {
        // SAFETY: the page is inside the readable mapping of the n-page file.
        unsafe { ((addr + (i * page) as usize) as *const u8).read_volatile() };
    }
    let after = faults()?;
    munmap(addr, len)?;
    close(fd)?;
    // SAFETY: cpath is NUL-terminated.
    check(format_args!("unlink of {path}"), unsafe {
        libc::syscall(libc::SYS_unlinkat, libc::AT_FDCWD, cpath, 0)
    })?;
    println!(
        "majfault {n} minflt={} majflt={} resident_before={resident}",
        after.0 - before.0,
        after.1 - before.1
    );
    Ok(())
}

/// Pages of the n-page mapping at addr that are in the page cache.
fn resident_pages(addr: usize, n: u64, page: u64) -> Result<u64, String> {
    let mut vec = [0u8; 4096];
    let mut resident = 0;
    let mut first = 0;
    while first < n {
        let count = (n - first).min(vec.len() as u64);
        // SAFETY: the range is inside the mapping; vec holds count bytes.
        let r = unsafe {
            libc::mincore(
                (addr + (first * page) as usize) as *mut libc::c_void,
                (count * page) as usize,
                vec.as_mut_ptr().cast(),
            )
        };
        if r != 0 {
            return Err(format!("mincore: {}", std::io::Error::last_os_error()));
        }
        resident += vec[..count as usize]
            .iter()
            .filter(|&&v| v & 1 != 0)
            .count() as u64;
        first += count;
    }
    Ok(resident)
}

fn hog(bytes: u64, page: u64) -> Result<(), String> {
    let mut done = 0;
    while done < bytes {
        let step = (bytes - done).min(MIB);
        let addr = mmap_anon(step, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        for offset in (0..step).step_by(page as usize) {
            // SAFETY: the page is inside the writable mapping just made.
            unsafe { ((addr + offset as usize) as *mut u8).write_volatile(1) };
        }
        done += step;
        if done % (16 * MIB) == 0 {
            println!("hog MiB={}", done / MIB);
        }
    }
    println!("hog done {bytes}");
    loop {
        // SAFETY: pause has no arguments; only a signal ends it.
        unsafe { libc::pause() };
    }
}

fn wait() -> Result<(), String> {
    // SAFETY: writes a static buffer to stdout.
    let r = unsafe { libc::syscall(libc::SYS_write, 1, b"wait\n".as_ptr(), 5usize) };
    if check("write of `wait` to stdout", r)? != 5 {
        return Err("short write of `wait` to stdout".into());
    }
    let mut byte = 0u8;
    loop {
        // SAFETY: reads one byte into `byte`.
        let r = unsafe { libc::syscall(libc::SYS_read, 0, &mut byte as *mut u8, 1usize) };
        if check("read of stdin at `wait`", r)? == 0 || byte == b'\n' {
            return Ok(());
        }
    }
}

fn main() -> ExitCode {
    // Arguments (exec's too), stdout's buffer and the table are set up before
    // the first op, so that ops allocate nothing.
    let ops: Vec<String> = std::env::args().skip(1).collect();
    let mut argv = process::Argv::of_this_process();
    let _ = std::io::stdout().flush();
    for slot in &TABLE {
        slot.store(0, Ordering::Relaxed);
    }
    let mut i = 0;
    while i < ops.len() {
        let done = match ops[i].as_str() {
            "exec" => Err(argv.exec(i + 1)),
            "fork" => process::fork(ops.get(i + 1).map(String::as_str), run),
            op => run(op),
        };
        if let Err(e) = done {
            eprintln!("workload: {e}");
            return ExitCode::from(2);
        }
        // The op after a fork is the child's.
        i += if ops[i] == "fork" { 2 } else { 1 };
    }
    ExitCode::SUCCESS
}

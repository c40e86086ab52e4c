//! File-system faults for tests of memstatd's state: a small private tmpfs
//! (filled to its last byte, or remounted read-only), and commands run with
//! a time limit, for what must never hang.

use std::ffi::CString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A tmpfs mounted on a directory, unmounted on drop.
pub struct Tmpfs {
    path: PathBuf,
}

fn mount(path: &Path, flags: libc::c_ulong, options: &str) -> Result<(), String> {
    let c = |s: &str| CString::new(s).expect("no NUL");
    let target = c(path.to_str().expect("utf-8 path"));
    let (fs, data) = (c("tmpfs"), c(options));
    // SAFETY: all pointers are valid NUL-terminated strings.
    let rc = unsafe {
        libc::mount(
            fs.as_ptr(),
            target.as_ptr(),
            fs.as_ptr(),
            flags,
            data.as_ptr().cast(),
        )
    };
    if rc != 0 {
        return Err(format!(
            "mount -t tmpfs -o {options} on {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

impl Tmpfs {
    /// Mounts a tmpfs of `bytes`, its root mode 0700, on `path` (made if
    /// missing). Needs root.
    pub fn mount(path: &Path, bytes: u64) -> Tmpfs {
        std::fs::create_dir_all(path).unwrap();
        mount(path, 0, &format!("size={bytes},mode=0700")).unwrap();
        Tmpfs {
            path: path.to_owned(),
        }
    }

    /// Remounts it read-only: every write fails with EROFS.
    pub fn remount_read_only(&self) {
        mount(&self.path, libc::MS_REMOUNT | libc::MS_RDONLY, "mode=0700").unwrap();
    }

    /// Fills it: a file `fill` grows until not one byte more fits.
    pub fn fill(&self) {
        let mut f = std::fs::File::create(self.path.join("fill")).unwrap();
        for chunk in [&[0u8; 4096][..], &[0u8; 1][..]] {
            while matches!(f.write(chunk), Ok(n) if n > 0) {}
        }
        assert!(f.write(&[0]).is_err(), "{} is full", self.path.display());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        if let Ok(c) = CString::new(self.path.to_str().unwrap_or_default()) {
            // SAFETY: c is a valid path; MNT_DETACH never blocks.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

/// Runs `cmd` with stdout and stderr captured for at most `limit`: `None`
/// when it had to be killed at the limit.
pub fn run_within(mut cmd: Command, limit: Duration) -> Option<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start the command");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut all = Vec::new();
            let _ = pipe.read_to_end(&mut all);
            all
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped")));
    let err = drain(Box::new(child.stderr.take().expect("piped")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    status.map(|status| Output {
        status,
        stdout,
        stderr,
    })
}

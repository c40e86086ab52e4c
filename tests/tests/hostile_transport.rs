//! The socket, the CLI and the daemon's lifecycle against hostile local
//! users (UIDs 66000-66099): a socket directory another user can change, a
//! fake server, silent and non-reading clients, floods of bad requests,
//! oversize arguments, a stopped daemon, and a stop with clients connected.
//!
//! A thread acts as another user by setting only its own effective UID
//! (the raw setresuid syscall, not glibc's, which would change every
//! thread): a socket it connects or listens on carries that UID, as
//! SO_PEERCRED reports it.

use memstat_tests::{kernel, root, workspace_bin, Bpffs, Daemon, TempDir};
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `f` on a thread whose effective UID is `uid`.
fn as_uid<T: Send>(uid: u32, f: impl FnOnce() -> T + Send) -> T {
    thread::scope(|s| {
        s.spawn(|| {
            set_thread_euid(uid);
            let r = f();
            set_thread_euid(0);
            r
        })
        .join()
        .unwrap()
    })
}

fn set_thread_euid(uid: u32) {
    // SAFETY: setresuid has no memory arguments; -1 keeps the real and saved
    // UIDs (root), so the thread can switch back.
    let rc = unsafe { libc::syscall(libc::SYS_setresuid, -1, uid, -1) };
    assert_eq!(rc, 0, "setresuid: {}", std::io::Error::last_os_error());
}

/// A request on the wire (docs/socket.md).
fn wire(args: &[&str]) -> Vec<u8> {
    let payload: Vec<u8> = args
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    let mut w = b"MSTAT\x01".to_vec();
    w.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    w.extend_from_slice(&payload);
    w
}

fn memstat(socket: &Path, args: &[&str]) -> (i32, String, String, Duration) {
    let start = Instant::now();
    let out = Command::new(workspace_bin("memstat"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        start.elapsed(),
    )
}

/// A `/proc/PID/status` field in MiB (VmHWM, VmRSS).
fn vm_mib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {status}"));
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        / 1024
}

/// memstatd with its socket at `socket`: Ok(its stderr) when it exits
/// within 10 s, Err(log so far) when it still runs (it served).
fn start_with_socket(pins: &Path, socket: &Path, state: &Path) -> Result<String, String> {
    let log = socket.with_extension("log");
    let mut child = Command::new(workspace_bin("memstatd"))
        .args(["--host", "--pin-root"])
        .arg(pins)
        .arg("--socket")
        .arg(socket)
        .arg("--state-dir")
        .arg(state)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(1), "{status}");
            return Ok(std::fs::read_to_string(&log).unwrap());
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(std::fs::read_to_string(&log).unwrap())
}

#[test]
fn the_socket_directory_must_be_writable_only_by_root_or_memstatds_user() {
    let Some(_k) = kernel("the_socket_directory_must_be_writable_only_by_root_or_memstatds_user")
    else {
        return;
    };
    let (fs, tmp) = (Bpffs::new().unwrap(), TempDir::new("sockdir"));
    let state = tmp.path().join("state");
    let chmod = |p: &Path, mode| std::fs::set_permissions(p, PermissionsExt::from_mode(mode));
    let mk = |name: &str, owner: u32, mode: u32| {
        let d = tmp.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        std::os::unix::fs::chown(&d, Some(owner), Some(owner)).unwrap();
        chmod(&d, mode).unwrap();
        d
    };
    let user = mk("user", 66001, 0o755);
    let above = mk("above", 66001, 0o755).join("sub");
    std::fs::create_dir(&above).unwrap();
    std::os::unix::fs::chown(&above, Some(0), Some(0)).unwrap();
    let linked = tmp.path().join("linked");
    std::os::unix::fs::symlink(mk("world", 0, 0o777), &linked).unwrap();
    for (dir, says) in [
        (user, "the socket's directory"),
        (mk("world-sticky", 0, 0o1777), "is writable by other users"),
        (mk("group", 0, 0o775), "is writable by other users"),
        (above, "a directory above the socket"),
        (linked, "is writable by other users"),
    ] {
        let socket = dir.join("memstatd.sock");
        match start_with_socket(fs.path(), &socket, &state) {
            Ok(log) => assert!(log.contains(says), "{}: {log}", dir.display()),
            Err(log) => panic!("memstatd served on {}:\n{log}", socket.display()),
        }
        assert!(!socket.exists(), "{}", socket.display());
    }
    // A directory memstatd makes is 0755 and its socket 0666, whatever the
    // umask.
    let fresh = tmp.path().join("fresh");
    let mut cmd = Command::new(workspace_bin("memstatd"));
    cmd.args(["--host", "--pin-root"])
        .arg(fs.path())
        .arg("--socket")
        .arg(fresh.join("memstatd.sock"))
        .arg("--state-dir")
        .arg(&state)
        .stderr(Stdio::null());
    // SAFETY: umask is async-signal-safe and has no memory arguments.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::umask(0o077);
            Ok(())
        })
    };
    let mut child = cmd.spawn().unwrap();
    let socket = fresh.join("memstatd.sock");
    let deadline = Instant::now() + Duration::from_secs(30);
    while memstat(&socket, &["--section", "header"]).0 != 0 {
        assert!(Instant::now() < deadline, "memstatd does not serve");
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(std::fs::metadata(&fresh).unwrap().mode() & 0o7777, 0o755);
    let sock_mode = std::fs::symlink_metadata(&socket).unwrap().mode() & 0o7777;
    assert_eq!(sock_mode, 0o666);
    let _ = child.kill();
    let _ = child.wait();
}

/// A server at `socket` run as `uid`: it answers every client "done"
/// (status 0, as a passed gate) and returns the bytes clients sent it.
fn fake_server(uid: u32, socket: &Path) -> thread::JoinHandle<Vec<u8>> {
    let listener = as_uid(uid, || UnixListener::bind(socket).unwrap());
    thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut got = Vec::new();
        while Instant::now() < deadline {
            let Ok((mut s, _)) = listener.accept() else {
                thread::sleep(Duration::from_millis(10));
                continue;
            };
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut buf = [0u8; 65536];
            let n = s.read(&mut buf).unwrap_or(0);
            got.extend_from_slice(&buf[..n]);
            let _ = s.write_all(b"E\x01\0\0\0\0");
            return got;
        }
        got
    })
}

#[test]
fn the_cli_sends_nothing_to_a_server_that_is_not_memstatd() {
    if !root("the_cli_sends_nothing_to_a_server_that_is_not_memstatd") {
        return;
    }
    // Root's directory, writable by all: another user put a socket there.
    let tmp = TempDir::new("fake");
    std::fs::set_permissions(tmp.path(), PermissionsExt::from_mode(0o777)).unwrap();
    let socket = tmp.path().join("memstatd.sock");
    let fake = fake_server(66002, &socket);
    let (code, stdout, stderr, _) = memstat(
        &socket,
        &["--diff", "release", "--fail-if", "syscalls.errors>+0"],
    );
    drop(UnixStream::connect(&socket)); // the fake's accept ends
    let got = fake.join().unwrap();
    assert_eq!(
        got,
        b"",
        "the fake server received {:?}",
        String::from_utf8_lossy(&got)
    );
    assert_eq!(code, 5, "{stdout}{stderr}");
    assert!(
        stderr.contains("runs as uid 66002") && stderr.contains("memstat sent it nothing"),
        "{stderr}"
    );
}

#[test]
fn one_user_holding_connections_does_not_lock_out_root() {
    let Some(_k) = kernel("one_user_holding_connections_does_not_lock_out_root") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("slots"));
    let d = Daemon::host(dir.path(), fs.path());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (refusals, answers) = thread::scope(|s| {
        let holder = s.spawn(|| {
            // 20 silent connections, each made again as soon as it is cut.
            as_uid(66003, || {
                let mut held: Vec<UnixStream> = Vec::new();
                let mut refusals = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    held.retain(|c| {
                        c.set_nonblocking(true).unwrap();
                        let mut b = [0u8; 512];
                        match (&*c).read(&mut b) {
                            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
                            Ok(n) => {
                                refusals.push(String::from_utf8_lossy(&b[..n]).into_owned());
                                false
                            }
                            Err(_) => false,
                        }
                    });
                    while held.len() < 20 {
                        held.push(UnixStream::connect(&d.socket).unwrap());
                    }
                    thread::sleep(Duration::from_millis(20));
                }
                refusals
            })
        });
        thread::sleep(Duration::from_millis(500));
        let answers: Vec<_> = (0..20)
            .map(|_| memstat(&d.socket, &["--section", "header"]))
            .collect();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        (holder.join().unwrap(), answers)
    });
    for (code, _, stderr, took) in &answers {
        assert_eq!(*code, 0, "root was refused: {stderr}");
        assert!(*took < Duration::from_secs(5), "{took:?}");
    }
    let slowest = answers.iter().map(|a| a.3).max().unwrap();
    eprintln!(
        "root, 20 silent connections of uid 66003: 20 of 20 answered, slowest in {slowest:?}"
    );
    assert!(
        refusals
            .iter()
            .any(|r| r.contains("uid 66003 already has 2 requests in flight")),
        "{refusals:?}"
    );
}

#[test]
fn answers_to_clients_that_do_not_read_are_bounded_and_given_back() {
    let Some(_k) = kernel("answers_to_clients_that_do_not_read_are_bounded_and_given_back") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("memory"));
    let d = Daemon::host(dir.path(), fs.path());
    // The longest UID list a request holds: 10,900 UIDs, each shown (idle)
    // in every section, 5.3 MB of text per answer.
    let uids: Vec<String> = (60_000..70_900).map(|u| u.to_string()).collect();
    let request = wire(&["--uid", &uids.join(",")]);
    let clients: Vec<UnixStream> = (0..16)
        .map(|_| {
            let mut c = UnixStream::connect(&d.socket).unwrap();
            c.write_all(&request).unwrap();
            c
        })
        .collect();
    // Each client waits for its answer's first frame, then reads no more.
    let mut refused = 0;
    for mut c in clients {
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut head = [0u8; 6];
        c.read_exact(&mut head).unwrap();
        if head[0] == b'E' {
            let mut why = String::new();
            let _ = c.read_to_string(&mut why);
            assert_eq!(head[5], 5, "{why}");
            assert!(
                why.contains("have not read yet") || why.contains("time limit"),
                "{why}"
            );
            refused += 1;
        }
    }
    let peak = vm_mib(d.pid(), "VmHWM");
    let deadline = Instant::now() + Duration::from_secs(15);
    while vm_mib(d.pid(), "VmRSS") > 64 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(200));
    }
    let after = vm_mib(d.pid(), "VmRSS");
    eprintln!(
        "16 clients not reading: VmHWM {peak} MiB, VmRSS after {after} MiB, {refused} refused"
    );
    assert!(peak < 256, "VmHWM {peak} MiB");
    assert!(after <= 64, "VmRSS {after} MiB once the clients are gone");
    assert!(refused >= 1, "the 16 answers fit in the budget");
    let (code, out, err, _) = memstat(&d.socket, &["--uid", "60000", "--section", "uids"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("60000"), "{out}");
}

#[test]
fn a_flood_of_bad_requests_costs_the_log_a_few_lines() {
    let Some(_k) = kernel("a_flood_of_bad_requests_costs_the_log_a_few_lines") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("logflood"));
    let d = Daemon::host(dir.path(), fs.path());
    let before = d.log().len();
    // 200 requests whose 64 KiB argument is not UTF-8.
    let mut bad = b"MSTAT\x01".to_vec();
    bad.extend_from_slice(&65_536u32.to_le_bytes());
    bad.extend(vec![0xff; 65_535]);
    bad.push(0);
    let answers: Vec<Vec<u8>> = as_uid(66004, || {
        (0..200)
            .map(|_| {
                let mut c = UnixStream::connect(&d.socket).unwrap();
                let _ = c.write_all(&bad);
                let mut answer = Vec::new();
                let _ = c.read_to_end(&mut answer);
                answer
            })
            .collect()
    });
    let log = d.log();
    let grown = &log[before..];
    let head: String = grown.chars().take(2000).collect();
    eprintln!("200 bad requests: {} bytes of log", grown.len());
    assert!(
        grown.len() < 16 * 1024,
        "{} bytes of log: {head}",
        grown.len()
    );
    assert!(grown.lines().all(|l| l.len() < 1024), "{head}");
    assert!(
        grown.contains("more messages about clients are left out"),
        "{head}"
    );
    for a in &answers {
        let text = String::from_utf8_lossy(a);
        assert!(text.contains("is not UTF-8"), "{text}");
        assert!(a.len() < 1024, "{} bytes of answer", a.len());
    }
}

#[test]
fn oversize_arguments_fail_at_once_without_connecting() {
    let tmp = TempDir::new("oversize");
    let socket = tmp.path().join("memstatd.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let uids: Vec<String> = (100_000..112_000).map(|u| u.to_string()).collect();
    let (code, stdout, stderr, took) = memstat(&socket, &["--uid", &uids.join(",")]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(stderr.contains("request limit of 65536 bytes"), "{stderr}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    listener.set_nonblocking(true).unwrap();
    assert!(listener.accept().is_err(), "memstat connected");
}

#[test]
fn a_daemon_that_does_not_answer_gets_the_clis_own_deadline() {
    // A listener that never accepts is what a stopped (SIGSTOP) memstatd
    // looks like to a client: connections queue, nothing answers.
    let tmp = TempDir::new("stopped");
    let socket = tmp.path().join("memstatd.sock");
    let _listener = UnixListener::bind(&socket).unwrap();
    let (code, _, stderr, took) = memstat(&socket, &["--section", "header"]);
    assert_eq!(code, 5, "{stderr}");
    assert!(
        stderr.contains("accepted the connection but did not answer within 12 s")
            && stderr.contains("is it stopped"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    let (code, _, stderr, took) = memstat(&socket, &["--timeout", "2", "--section", "header"]);
    assert_eq!(code, 5, "{stderr}");
    assert!(stderr.contains("within 2 s"), "{stderr}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_stop_waits_for_no_silent_or_non_reading_client() {
    let Some(_k) = kernel("a_stop_waits_for_no_silent_or_non_reading_client") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("stop"));
    let mut d = Daemon::host(dir.path(), fs.path());
    let silent = UnixStream::connect(&d.socket).unwrap();
    let mut deaf = UnixStream::connect(&d.socket).unwrap();
    deaf.write_all(&wire(&["-a", "--json"])).unwrap();
    thread::sleep(Duration::from_millis(500));
    let start = Instant::now();
    let status = d.stop();
    let took = start.elapsed();
    eprintln!("SIGTERM to exit with two clients connected: {took:?}");
    assert_eq!(status.code(), Some(0), "{}", d.log());
    assert!(took < Duration::from_secs(6), "{took:?}\n{}", d.log());
    assert!(d.log().contains("probes detached in"), "{}", d.log());
    assert!(!d.socket.exists());
    drop((silent, deaf));
    // The next daemon starts at once and serves.
    let again = Daemon::host(dir.path(), fs.path());
    assert_eq!(memstat(&again.socket, &["--section", "header"]).0, 0);
}

#[test]
fn a_memstatd_started_while_another_stops_serves_once_it_is_gone() {
    let Some(_k) = kernel("a_memstatd_started_while_another_stops_serves_once_it_is_gone") else {
        return;
    };
    let (fs, dir) = (Bpffs::new().unwrap(), TempDir::new("restart"));
    let mut old = Daemon::host(dir.path(), fs.path());
    // SAFETY: kill has no memory arguments; the child has not been reaped.
    unsafe { libc::kill(old.pid() as i32, libc::SIGTERM) };
    // The old one detaches its probes, then lets the socket go; the new one
    // waits for that instead of refusing to start.
    let start = Instant::now();
    let new = Daemon::host(dir.path(), fs.path());
    eprintln!(
        "SIGTERM to the next memstatd serving: {:?}",
        start.elapsed()
    );
    assert_eq!(old.stop().code(), Some(0), "{}", old.log());
    assert_eq!(memstat(&new.socket, &["--section", "header"]).0, 0);
}

//! The sd_notify protocol for real: a datagram socket stands in for systemd's
//! `NOTIFY_SOCKET`, and every message the notifier, the watchdog task and the
//! `livegate run` daemon send is read back and checked byte for byte.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use livegate::notify::{monotonic_usec, spawn_watchdog, Heartbeat, Notifier, STATUS_MAX};

const BIN: &str = env!("CARGO_BIN_EXE_livegate");
const FAST_TEXT: &str = include_str!("fixtures/cli/fast.toml");

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fresh folder under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("livegate-notify-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A unique abstract socket name, with its leading `@`.
fn abstract_name() -> String {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("@livegate-test-{}-{n}", std::process::id())
}

/// Every datagram waiting on `sock`, in order, without blocking.
fn drain(sock: &UnixDatagram) -> Vec<String> {
    sock.set_nonblocking(true).expect("nonblocking");
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match sock.recv(&mut buf) {
            Ok(n) => out.push(String::from_utf8(buf[..n].to_vec()).expect("utf-8 datagram")),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return out,
            Err(e) => panic!("recv: {e}"),
        }
    }
}

/// Checks a `RELOADING=1` message and returns its `MONOTONIC_USEC` value.
fn reloading_usec(msg: &str) -> u64 {
    let digits = msg
        .strip_prefix("RELOADING=1\nMONOTONIC_USEC=")
        .unwrap_or_else(|| panic!("not a RELOADING message: {msg:?}"));
    assert!(
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
        "{msg:?}"
    );
    digits.parse().expect("u64")
}

/// Sends one message of every kind and expects exactly these datagrams.
fn every_message_arrives_exactly(n: &Notifier, rx: &UnixDatagram) {
    assert!(n.is_enabled());
    n.ready().expect("ready");
    n.status("idle").expect("status");
    let before = monotonic_usec().expect("clock");
    n.reloading().expect("reloading");
    let after = monotonic_usec().expect("clock");
    n.stopping().expect("stopping");
    n.watchdog().expect("watchdog");
    n.send("EXTEND_TIMEOUT_USEC=5000000").expect("send");
    let got = drain(rx);
    assert_eq!(got.len(), 6, "{got:?}");
    assert_eq!(got[0], "READY=1");
    assert_eq!(got[1], "STATUS=idle");
    let usec = reloading_usec(&got[2]);
    assert!(
        before <= usec && usec <= after,
        "{before} <= {usec} <= {after}"
    );
    assert_eq!(got[3], "STOPPING=1");
    assert_eq!(got[4], "WATCHDOG=1");
    assert_eq!(got[5], "EXTEND_TIMEOUT_USEC=5000000");
}

#[test]
fn every_message_reaches_a_socket_named_by_path() {
    let dir = TempDir::new();
    let path = dir.path("notify.sock");
    let rx = UnixDatagram::bind(&path).expect("bind");
    every_message_arrives_exactly(&Notifier::to_path(&path).expect("notifier"), &rx);
    // The same through a NOTIFY_SOCKET-style name.
    let named = Notifier::from_socket_name(path.to_str().expect("utf-8 path")).expect("named");
    every_message_arrives_exactly(&named, &rx);
}

#[cfg(target_os = "linux")]
#[test]
fn every_message_reaches_an_abstract_socket() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::SocketAddr;
    let name = abstract_name();
    let addr = SocketAddr::from_abstract_name(&name.as_bytes()[1..]).expect("addr");
    let rx = UnixDatagram::bind_addr(&addr).expect("bind abstract");
    every_message_arrives_exactly(&Notifier::from_socket_name(&name).expect("notifier"), &rx);
}

#[test]
fn status_is_sent_as_one_bounded_line() {
    let dir = TempDir::new();
    let path = dir.path("notify.sock");
    let rx = UnixDatagram::bind(&path).expect("bind");
    let n = Notifier::to_path(&path).expect("notifier");
    n.status("in session 2\nlast verdict: pass\u{7}")
        .expect("status");
    n.status(&"y".repeat(5000)).expect("status");
    let got = drain(&rx);
    assert_eq!(
        got,
        [
            "STATUS=in session 2 last verdict: pass".to_owned(),
            format!("STATUS={}", "y".repeat(STATUS_MAX)),
        ]
    );
}

#[test]
fn sending_errors_are_returned_not_panicked() {
    let dir = TempDir::new();
    // Nobody listens here.
    let n = Notifier::to_path(dir.path("absent.sock")).expect("notifier");
    assert_eq!(
        n.ready().expect_err("no listener").kind(),
        io::ErrorKind::NotFound
    );
    assert!(n.watchdog().is_err());
    assert!(n.reloading().is_err());
    // Not a NOTIFY_SOCKET address at all.
    let e = Notifier::from_socket_name("relative/notify.sock").expect_err("relative");
    assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn a_full_queue_at_the_manager_fails_at_once_instead_of_blocking() {
    let dir = TempDir::new();
    let path = dir.path("notify.sock");
    let rx = UnixDatagram::bind(&path).expect("bind");
    let n = Notifier::to_path(&path).expect("notifier");
    let mut sent = 0;
    let err = loop {
        match n.watchdog() {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 100_000, "the queue never filled");
    };
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock, "{err}");
    assert!(sent > 0);
    // Once the manager reads, sending works again.
    assert_eq!(drain(&rx).len(), sent);
    n.ready().expect("ready after draining");
    assert_eq!(drain(&rx), ["READY=1"]);
}

/// Sleeps (in paused time) until `at_ms` after `t0`; when `beating`, beats on the way
/// at every 50 ms + a multiple of 100 ms (never on a watchdog tick).
async fn run_until(t0: tokio::time::Instant, at_ms: u64, hb: &Heartbeat, beating: bool) {
    let at = t0 + Duration::from_millis(at_ms);
    if !beating {
        tokio::time::sleep_until(at).await;
        return;
    }
    loop {
        let now = tokio::time::Instant::now();
        let ms = u64::try_from(now.duration_since(t0).as_millis()).expect("ms");
        // The first beat time (50 ms + a multiple of 100 ms) after now.
        let k = if ms < 50 { 0 } else { (ms - 50) / 100 + 1 };
        let next = t0 + Duration::from_millis(50 + 100 * k);
        if next > at {
            tokio::time::sleep_until(at).await;
            return;
        }
        tokio::time::sleep_until(next).await;
        hb.beat();
    }
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_pings_only_while_the_loop_beats() {
    let dir = TempDir::new();
    let path = dir.path("notify.sock");
    let rx = UnixDatagram::bind(&path).expect("bind");
    let notifier = Arc::new(Notifier::to_path(&path).expect("notifier"));
    let t0 = tokio::time::Instant::now();
    let hb = Heartbeat::new();
    let task = spawn_watchdog(notifier, hb.clone(), Duration::from_secs(1));

    // Beats at 50, 150, … 1950 ms; ticks every 500 ms from 0: pings at 0, 500, 1000, 1500.
    run_until(t0, 1990, &hb, true).await;
    assert_eq!(drain(&rx), ["WATCHDOG=1"; 4]);

    // No beat after 1950: the tick at 2000 still sees it (50 ms old), 2500 does not.
    run_until(t0, 2010, &hb, false).await;
    assert_eq!(drain(&rx), ["WATCHDOG=1"]);
    run_until(t0, 4040, &hb, false).await;
    assert_eq!(drain(&rx), Vec::<String>::new(), "pings from a stuck loop");

    // Beating again from 4050: ticks at 4500, 5000, 5500 ping again.
    run_until(t0, 5990, &hb, true).await;
    assert_eq!(drain(&rx), ["WATCHDOG=1"; 3]);

    task.abort();
    assert!(task.await.expect_err("aborted").is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn the_watchdog_period_is_half_the_interval() {
    let dir = TempDir::new();
    let path = dir.path("notify.sock");
    let rx = UnixDatagram::bind(&path).expect("bind");
    let notifier = Arc::new(Notifier::to_path(&path).expect("notifier"));
    let hb = Heartbeat::new();
    let task = spawn_watchdog(notifier, hb.clone(), Duration::from_millis(400));
    // Beating every 10 ms for 1 s (with the 400 ms interval of the daemon test below):
    // pings at 0, 200, 400, 600, 800 and 1000 ms.
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        hb.beat();
    }
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(drain(&rx), ["WATCHDOG=1"; 6]);
    task.abort();
}

// ---------------------------------------------------------------------------------
// End to end: `livegate run` under a fake service manager.
// ---------------------------------------------------------------------------------

/// A datagram with the time it arrived.
type Received = (Instant, String);

/// Reads the notification socket on a thread; what arrives is kept in order.
struct Inbox {
    rx: mpsc::Receiver<Received>,
    all: Vec<Received>,
    stop: Arc<AtomicBool>,
}

impl Inbox {
    fn listen(sock: UnixDatagram) -> Inbox {
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while !stopped.load(Ordering::Relaxed) {
                match sock.recv(&mut buf) {
                    Ok(n) => {
                        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                        if tx.send((Instant::now(), msg)).is_err() {
                            return;
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => return,
                }
            }
        });
        Inbox {
            rx,
            all: Vec::new(),
            stop,
        }
    }

    /// The next datagram that is neither `WATCHDOG=1` nor `STATUS=…`, within `limit`.
    fn next_event(&mut self, limit: Duration) -> Option<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let got = self.rx.recv_timeout(left).ok()?;
            self.all.push(got.clone());
            if got.1 != "WATCHDOG=1" && !got.1.starts_with("STATUS=") {
                return Some(got);
            }
        }
    }

    /// Keeps everything that arrives until `n` datagrams `msg` have come after
    /// `since`; the arrival of the `n`th, or `None` when `limit` ran out first.
    fn until_count(
        &mut self,
        msg: &str,
        since: Instant,
        n: usize,
        limit: Duration,
    ) -> Option<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            let nth = self
                .all
                .iter()
                .filter(|(t, m)| m == msg && *t > since)
                .nth(n - 1);
            if let Some((t, _)) = nth {
                return Some(*t);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.rx.recv_timeout(left) {
                Ok(got) => self.all.push(got),
                Err(mpsc::RecvTimeoutError::Timeout) => return None,
                Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the inbox thread ended"),
            }
        }
    }

    fn history(&self) -> String {
        self.all
            .iter()
            .map(|(_, m)| format!("{m:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The daemon process, killed if the test ends early.
struct Daemon {
    child: Child,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Daemon {
    fn start(config: &Path, socket: &Path) -> Daemon {
        let mut child = Command::new(BIN)
            .arg("run")
            .arg("--config")
            .arg(config)
            .env("NOTIFY_SOCKET", socket)
            .env("WATCHDOG_USEC", "400000")
            .env_remove("WATCHDOG_PID")
            .env_remove("RUST_LOG")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start livegate run");
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = io::Read::read_to_string(&mut err, &mut s);
            s
        });
        Daemon {
            child,
            stderr: Some(stderr),
        }
    }

    fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(st.success(), "kill -{sig} failed");
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }

    /// Waits up to `limit` for the exit; the exit code and everything written to stderr.
    fn wait(&mut self, limit: Duration) -> (Option<i32>, String) {
        let deadline = Instant::now() + limit;
        let code = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break st.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let err = self.stderr.take().map(|h| h.join().unwrap_or_default());
                panic!("livegate run did not exit within {limit:?}; stderr:\n{err:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let err = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        (code, err)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The fast simulation settings with nobody arriving for a minute, and an API
/// address where nothing listens.
fn daemon_config(dir: &TempDir) -> String {
    let key = dir.path("aigen-key");
    std::fs::write(&key, "sk-test-notify\n").expect("key");
    // Closed to others, as livegate requires of a key file.
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod key");
    assert!(FAST_TEXT.contains("arrival = \"0s\""));
    format!(
        "{}\n[api]\nbase_url = \"https://127.0.0.1:9/x\"\nkey_file = \"{}\"\n",
        FAST_TEXT.replace("arrival = \"0s\"", "arrival = \"60s\""),
        key.display()
    )
}

#[test]
fn livegate_run_speaks_the_protocol_through_reload_and_stop() {
    const START: Duration = Duration::from_secs(15);
    const STEP: Duration = Duration::from_secs(5);
    let dir = TempDir::new();
    let socket = dir.path("notify.sock");
    let config = dir.path("livegate.toml");
    let good = daemon_config(&dir);
    std::fs::write(&config, &good).expect("config");
    let mut inbox = Inbox::listen(UnixDatagram::bind(&socket).expect("bind"));
    let spawned = Instant::now();
    let mut daemon = Daemon::start(&config, &socket);

    // Ready once the relays are safe and the configuration is loaded.
    let (ready_at, ready) = inbox
        .next_event(START)
        .unwrap_or_else(|| panic!("no READY=1; got:\n{}", inbox.history()));
    assert_eq!(ready, "READY=1", "{}", inbox.history());

    // WATCHDOG_USEC=400000: a ping every 200 ms. Real time (a child process), so
    // causal bounds: pings keep coming after READY (waited for, not timed), and four
    // pings cannot have come sooner than three periods after the process started.
    inbox
        .until_count("WATCHDOG=1", ready_at, 4, STEP * 2)
        .unwrap_or_else(|| panic!("no 4 watchdog pings after READY; got:\n{}", inbox.history()));
    let all_pings = inbox.until_count("WATCHDOG=1", spawned, 4, STEP);
    assert!(
        all_pings.is_some_and(|t| t - spawned >= Duration::from_millis(600)),
        "pings faster than one per 200 ms; got:\n{}",
        inbox.history()
    );
    assert!(
        inbox
            .all
            .iter()
            .any(|(_, m)| m.starts_with("STATUS=") && m.len() > 7),
        "no STATUS= line; got:\n{}",
        inbox.history()
    );

    // SIGHUP with a good file: RELOADING=1 (with the time), then READY=1.
    let before = monotonic_usec().expect("clock");
    daemon.signal("HUP");
    let (_, reloading) = inbox
        .next_event(STEP)
        .unwrap_or_else(|| panic!("no RELOADING=1; got:\n{}", inbox.history()));
    let after = monotonic_usec().expect("clock");
    let usec = reloading_usec(&reloading);
    assert!(
        before <= usec && usec <= after,
        "{before} <= {usec} <= {after}"
    );
    let (_, ready) = inbox.next_event(STEP).expect("READY=1 after the reload");
    assert_eq!(ready, "READY=1", "{}", inbox.history());

    // SIGHUP with a mistake: the same sequence, the old configuration stays, and the
    // problem is logged with its position.
    let bad = good.replace("action_timeout = \"3s\"", "action_timeout = \"banana\"");
    assert_ne!(bad, good);
    let line = 1 + bad
        .lines()
        .position(|l| l.starts_with("action_timeout = \"banana\""))
        .expect("the mistake's line");
    std::fs::write(&config, &bad).expect("bad config");
    daemon.signal("HUP");
    let (_, reloading) = inbox.next_event(STEP).expect("RELOADING=1 on a bad file");
    reloading_usec(&reloading);
    let (_, ready) = inbox
        .next_event(STEP)
        .expect("READY=1 after a failed reload");
    assert_eq!(ready, "READY=1", "{}", inbox.history());
    assert!(daemon.running(), "the daemon stopped on a bad reload");
    // Still watched: pings continue after the failed reload.
    let since = Instant::now();
    assert!(
        inbox.until_count("WATCHDOG=1", since, 2, STEP).is_some(),
        "{}",
        inbox.history()
    );

    // SIGTERM: STOPPING=1 and a clean exit.
    daemon.signal("TERM");
    let (_, stopping) = inbox.next_event(STEP).expect("STOPPING=1");
    assert_eq!(stopping, "STOPPING=1", "{}", inbox.history());
    let (code, stderr) = daemon.wait(STEP);
    assert_eq!(code, Some(0), "stderr:\n{stderr}");
    let position = format!("{}:{line}:18: session.action_timeout", config.display());
    assert!(
        stderr.contains(&position),
        "no {position:?} in stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !stderr.contains("sk-test-notify"),
        "the key on stderr:\n{stderr}"
    );
}

//! The control socket (`[trigger] kind = "socket"`) and the `livegate ctl` client,
//! over a real Unix socket in a temporary directory.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use livegate::ctl::{ctl, group_name, CtlAnswer, CtlError, SocketOptions, SocketTrigger};
use livegate::trigger::{GateState, Trigger, TriggerEvent};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// A deadline for an answer from a task of this process: generous for a loaded machine.
const T: Duration = Duration::from_secs(30);

/// A fresh directory, removed at the end of the test.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("lg-ctl-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn sock(&self) -> PathBuf {
        self.0.join("ctl.sock")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn opts(path: &Path, mode: u32) -> SocketOptions {
    SocketOptions {
        path: path.to_owned(),
        group: None,
        mode,
    }
}

/// A running socket trigger with the daemon's ends of its channels.
struct Rig {
    events: mpsc::Receiver<TriggerEvent>,
    state: watch::Sender<GateState>,
    task: JoinHandle<()>,
    path: PathBuf,
    _dir: TempDir,
}

fn rig(name: &str) -> Rig {
    let dir = TempDir::new(name);
    let path = dir.sock();
    let trigger = SocketTrigger::bind(&opts(&path, 0o660)).unwrap();
    assert_eq!(trigger.path(), path);
    let (ev_tx, events) = mpsc::channel(8);
    let (state, state_rx) = watch::channel(GateState::Ready);
    let task = Box::new(trigger).spawn(ev_tx, state_rx);
    Rig {
        events,
        state,
        task,
        path,
        _dir: dir,
    }
}

struct Client {
    rd: BufReader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
}

impl Client {
    async fn connect(path: &Path) -> Client {
        let (rd, wr) = UnixStream::connect(path).await.unwrap().into_split();
        Client {
            rd: BufReader::new(rd),
            wr,
        }
    }

    /// The next answer line; `None` when the server closed the connection (closing
    /// with our bytes unread makes the kernel report a reset instead of an end).
    async fn line(&mut self) -> Option<String> {
        let mut s = String::new();
        let n = match tokio::time::timeout(T, self.rd.read_line(&mut s))
            .await
            .expect("no answer in time")
        {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("read failed: {e}"),
        };
        if n == 0 {
            return None;
        }
        assert!(s.ends_with('\n'), "answer without line break: {s:?}");
        s.pop();
        Some(s)
    }

    async fn send(&mut self, raw: &[u8]) {
        self.wr.write_all(raw).await.unwrap();
    }

    async fn ask(&mut self, line: &str) -> String {
        self.send(format!("{line}\n").as_bytes()).await;
        self.line().await.expect("connection closed")
    }
}

/// Receives one event and moves the gate to `next`, like the daemon does.
async fn act(
    events: &mut mpsc::Receiver<TriggerEvent>,
    state: &watch::Sender<GateState>,
    next: GateState,
) -> TriggerEvent {
    let ev = tokio::time::timeout(T, events.recv())
        .await
        .expect("no event")
        .expect("channel closed");
    state.send_replace(next);
    ev
}

#[tokio::test]
async fn start_when_ready_sends_the_event_and_answers_busy() {
    let mut r = rig("start-ready");
    let mut c = Client::connect(&r.path).await;
    let (answer, ev) = tokio::join!(
        c.ask("start"),
        act(&mut r.events, &r.state, GateState::Busy)
    );
    assert_eq!(answer, r#"{"ok":true,"state":"busy"}"#);
    assert_eq!(
        ev,
        TriggerEvent::Start {
            source: "socket",
            note: None,
            card: None
        }
    );
    assert_eq!(r.events.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn start_when_not_ready_is_refused_without_an_event() {
    let mut r = rig("start-busy");
    let mut c = Client::connect(&r.path).await;
    for (state, name) in [
        (GateState::Busy, "busy"),
        (GateState::Cooling, "cooling"),
        (GateState::LockedOut, "locked_out"),
        (GateState::Stopping, "stopping"),
    ] {
        r.state.send_replace(state);
        assert_eq!(
            c.ask("start").await,
            format!(r#"{{"ok":false,"error":"{name}","state":"{name}"}}"#)
        );
    }
    assert_eq!(r.events.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn two_simultaneous_starts_give_one_session() {
    let mut r = rig("start-race");
    let mut a = Client::connect(&r.path).await;
    let mut b = Client::connect(&r.path).await;
    let (x, y, ev) = tokio::join!(
        a.ask("start"),
        b.ask("start"),
        act(&mut r.events, &r.state, GateState::Busy)
    );
    assert!(matches!(ev, TriggerEvent::Start { .. }));
    let mut answers = [x, y];
    answers.sort();
    assert_eq!(
        answers,
        [
            r#"{"ok":false,"error":"busy","state":"busy"}"#.to_owned(),
            r#"{"ok":true,"state":"busy"}"#.to_owned(),
        ]
    );
    assert_eq!(r.events.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn cancel_when_busy_sends_the_event() {
    let mut r = rig("cancel-busy");
    r.state.send_replace(GateState::Busy);
    let mut c = Client::connect(&r.path).await;
    let (answer, ev) = tokio::join!(
        c.ask("cancel"),
        act(&mut r.events, &r.state, GateState::Cooling)
    );
    assert_eq!(ev, TriggerEvent::Cancel { source: "socket" });
    assert_eq!(answer, r#"{"ok":true,"state":"cooling"}"#);
    assert_eq!(r.events.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn cancel_without_a_session_is_refused_without_an_event() {
    let mut r = rig("cancel-idle");
    let mut c = Client::connect(&r.path).await;
    for state in [
        GateState::Ready,
        GateState::Cooling,
        GateState::LockedOut,
        GateState::Stopping,
    ] {
        r.state.send_replace(state);
        assert_eq!(
            c.ask("cancel").await,
            r#"{"ok":false,"error":"no session"}"#
        );
    }
    assert_eq!(r.events.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn status_reflects_the_watch() {
    let mut r = rig("status");
    let mut c = Client::connect(&r.path).await;
    for (state, name) in [
        (GateState::Ready, "ready"),
        (GateState::Busy, "busy"),
        (GateState::Cooling, "cooling"),
        (GateState::LockedOut, "locked_out"),
        (GateState::Stopping, "stopping"),
        (GateState::Ready, "ready"),
    ] {
        r.state.send_replace(state);
        let line = c.ask("status").await;
        assert_eq!(line, format!(r#"{{"ok":true,"state":"{name}"}}"#));
        let parsed: CtlAnswer = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed, CtlAnswer::ok(state));
    }
    // Surrounding blanks and CRLF are accepted.
    c.send(b"  status \r\n").await;
    assert_eq!(c.line().await.unwrap(), r#"{"ok":true,"state":"ready"}"#);
    assert_eq!(r.events.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn status_after_the_daemon_dropped_the_watch_is_stopping() {
    let r = rig("status-gone");
    let Rig {
        events,
        state,
        path,
        _dir,
        task,
    } = r;
    state.send_replace(GateState::Busy);
    drop(state);
    let mut c = Client::connect(&path).await;
    assert_eq!(c.ask("status").await, r#"{"ok":true,"state":"stopping"}"#);
    drop(events);
    task.await.unwrap();
}

#[tokio::test]
async fn unknown_commands_are_answered_and_the_connection_stays() {
    let mut r = rig("unknown");
    let mut c = Client::connect(&r.path).await;
    assert_eq!(
        c.ask("open sesame").await,
        r#"{"ok":false,"error":"unknown command \"open sesame\"; valid: start, status, cancel"}"#
    );
    assert_eq!(
        c.ask("").await,
        r#"{"ok":false,"error":"unknown command \"\"; valid: start, status, cancel"}"#
    );
    // Not UTF-8, control characters: answered, no panic.
    c.send(b"\xff\xfe\x07start\n").await;
    assert_eq!(
        c.line().await.unwrap(),
        "{\"ok\":false,\"error\":\"unknown command \\\"\u{fffd}\u{fffd}\\\\u{7}start\\\"; valid: start, status, cancel\"}"
    );
    assert_eq!(c.ask("status").await, r#"{"ok":true,"state":"ready"}"#);
    assert_eq!(r.events.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn a_line_of_256_bytes_is_read_and_257_closes_the_connection() {
    let mut r = rig("long-line");
    let mut c = Client::connect(&r.path).await;
    let max = "x".repeat(256);
    let answer = c.ask(&max).await;
    assert!(answer.starts_with(r#"{"ok":false,"error":"unknown command \"xxxx"#));
    assert_eq!(c.ask("status").await, r#"{"ok":true,"state":"ready"}"#);

    // 257 bytes: one too many.
    let mut b = Client::connect(&r.path).await;
    b.send(format!("{}\n", "x".repeat(257)).as_bytes()).await;
    assert_eq!(
        b.line().await.unwrap(),
        r#"{"ok":false,"error":"line too long (more than 256 bytes); connection closed"}"#
    );
    assert_eq!(b.line().await, None);

    let long = format!("{}\n", "start".repeat(60));
    assert_eq!(long.len(), 301);
    c.send(long.as_bytes()).await;
    assert_eq!(
        c.line().await.unwrap(),
        r#"{"ok":false,"error":"line too long (more than 256 bytes); connection closed"}"#
    );
    assert_eq!(c.line().await, None);
    assert_eq!(r.events.try_recv(), Err(TryRecvError::Empty));

    // A line without any break that exceeds the limit is refused as well.
    let mut d = Client::connect(&r.path).await;
    d.send("y".repeat(300).as_bytes()).await;
    assert_eq!(
        d.line().await.unwrap(),
        r#"{"ok":false,"error":"line too long (more than 256 bytes); connection closed"}"#
    );
    assert_eq!(d.line().await, None);

    // The socket still serves new connections.
    let mut e = Client::connect(&r.path).await;
    assert_eq!(e.ask("status").await, r#"{"ok":true,"state":"ready"}"#);
}

#[tokio::test]
async fn the_ninth_connection_is_refused_and_a_freed_slot_is_reused() {
    let r = rig("max-conns");
    let mut clients = Vec::new();
    for _ in 0..8 {
        let mut c = Client::connect(&r.path).await;
        assert_eq!(c.ask("status").await, r#"{"ok":true,"state":"ready"}"#);
        clients.push(c);
    }
    let mut ninth = Client::connect(&r.path).await;
    assert_eq!(
        ninth.line().await.unwrap(),
        r#"{"ok":false,"error":"too many connections (at most 8)"}"#
    );
    assert_eq!(ninth.line().await, None);

    drop(clients.pop());
    // The server notices the closed connection asynchronously; retry briefly.
    let mut served = false;
    for _ in 0..200 {
        let mut c = Client::connect(&r.path).await;
        c.send(b"status\n").await;
        match c.line().await.as_deref() {
            Some(r#"{"ok":true,"state":"ready"}"#) => {
                served = true;
                break;
            }
            Some(r#"{"ok":false,"error":"too many connections (at most 8)"}"#) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert!(served, "the freed slot was never reused");
    // The other seven are still served.
    for c in &mut clients {
        assert_eq!(c.ask("status").await, r#"{"ok":true,"state":"ready"}"#);
    }
}

#[tokio::test(start_paused = true)]
async fn idle_connections_are_closed_after_30_s() {
    let r = rig("idle");
    let mut c = Client::connect(&r.path).await;
    assert_eq!(c.ask("status").await, r#"{"ok":true,"state":"ready"}"#);
    let t0 = tokio::time::Instant::now();
    let mut s = String::new();
    // Still open just before the deadline.
    let early = tokio::time::timeout(Duration::from_secs(29), c.rd.read_line(&mut s)).await;
    assert!(early.is_err(), "closed before 30 s: {early:?}");
    let n = tokio::time::timeout(Duration::from_secs(2), c.rd.read_line(&mut s))
        .await
        .expect("still open after 31 s")
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(s, "");
    let idle = t0.elapsed();
    assert!(
        idle >= Duration::from_secs(30) && idle < Duration::from_secs(31),
        "{idle:?}"
    );
}

#[tokio::test]
async fn the_socket_file_gets_the_mode_asked_for() {
    for mode in [0o660, 0o600, 0o640, 0o666] {
        let dir = TempDir::new(&format!("mode-{mode:o}"));
        let path = dir.sock();
        let trigger = SocketTrigger::bind(&opts(&path, mode)).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "{mode:o}");
        drop(trigger);
        assert!(
            !path.exists(),
            "an unspawned trigger leaves its file behind"
        );
    }
}

#[tokio::test]
async fn a_stale_socket_file_is_replaced() {
    let dir = TempDir::new("stale");
    let path = dir.sock();
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_socket());
    // The client calls it what it is.
    let e = ctl(&path, "status", T).await.unwrap_err();
    assert!(matches!(e, CtlError::Stale { .. }), "{e}");
    assert!(e.to_string().starts_with("livegate is not running"), "{e}");

    let trigger = SocketTrigger::bind(&opts(&path, 0o660)).unwrap();
    let (ev_tx, _events) = mpsc::channel(8);
    let (_state, state_rx) = watch::channel(GateState::Cooling);
    let _task = Box::new(trigger).spawn(ev_tx, state_rx);
    assert_eq!(
        ctl(&path, "status", T).await.unwrap(),
        r#"{"ok":true,"state":"cooling"}"#
    );
}

#[tokio::test]
async fn a_live_socket_is_not_taken_over() {
    let r = rig("in-use");
    let e = SocketTrigger::bind(&opts(&r.path, 0o660)).unwrap_err();
    assert!(matches!(e, CtlError::InUse { .. }), "{e}");
    assert!(e.to_string().contains("already listening"), "{e}");
    // The first socket is untouched and still serving.
    assert_eq!(
        ctl(&r.path, "status", T).await.unwrap(),
        r#"{"ok":true,"state":"ready"}"#
    );
}

#[tokio::test]
async fn a_regular_file_at_the_path_is_not_deleted() {
    let dir = TempDir::new("regular");
    let path = dir.sock();
    std::fs::write(&path, b"precious").unwrap();
    let e = SocketTrigger::bind(&opts(&path, 0o660)).unwrap_err();
    assert!(matches!(e, CtlError::NotASocket { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!(
            "{} exists and is not a socket; refusing to delete it (move it away or configure another socket path)",
            path.display()
        )
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");

    // A directory is refused the same way.
    let sub = dir.0.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let e = SocketTrigger::bind(&opts(&sub, 0o660)).unwrap_err();
    assert!(matches!(e, CtlError::NotASocket { .. }), "{e}");
    assert!(sub.is_dir());
}

#[tokio::test]
async fn a_missing_directory_is_created() {
    let dir = TempDir::new("mkdir");
    let path = dir.0.join("run").join("ctl.sock");
    let trigger = SocketTrigger::bind(&opts(&path, 0o660)).unwrap();
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_socket());
    drop(trigger);
    assert!(!path.exists());
}

#[tokio::test]
async fn the_socket_file_is_removed_when_the_task_is_aborted() {
    let r = rig("abort");
    assert!(r.path.exists());
    let mut c = Client::connect(&r.path).await;
    assert_eq!(c.ask("status").await, r#"{"ok":true,"state":"ready"}"#);
    r.task.abort();
    assert!(r.task.await.unwrap_err().is_cancelled());
    assert!(!r.path.exists());
    // Its connections end with it.
    assert_eq!(c.line().await, None);
    let e = ctl(&r.path, "status", T).await.unwrap_err();
    assert!(matches!(e, CtlError::NotRunning { .. }), "{e}");
}

#[tokio::test]
async fn the_task_ends_and_removes_the_file_when_the_daemon_is_gone() {
    let r = rig("daemon-gone");
    let Rig {
        events,
        task,
        path,
        _dir,
        state: _state,
    } = r;
    drop(events);
    tokio::time::timeout(T, task).await.unwrap().unwrap();
    assert!(!path.exists());
}

#[tokio::test]
async fn an_old_guard_does_not_remove_a_newer_socket() {
    let dir = TempDir::new("newer");
    let path = dir.sock();
    let old = SocketTrigger::bind(&opts(&path, 0o660)).unwrap();
    // Someone replaced the file (another daemon after ours was presumed dead).
    std::fs::remove_file(&path).unwrap();
    let newer = std::os::unix::net::UnixListener::bind(&path).unwrap();
    drop(old);
    assert!(path.exists(), "the newer socket was removed");
    drop(newer);
}

#[tokio::test]
async fn ctl_client_talks_to_the_socket() {
    let mut r = rig("client");
    assert_eq!(
        ctl(&r.path, "status", T).await.unwrap(),
        r#"{"ok":true,"state":"ready"}"#
    );
    let (answer, ev) = tokio::join!(
        ctl(&r.path, " start ", T),
        act(&mut r.events, &r.state, GateState::Busy)
    );
    assert_eq!(answer.unwrap(), r#"{"ok":true,"state":"busy"}"#);
    assert!(matches!(
        ev,
        TriggerEvent::Start {
            source: "socket",
            ..
        }
    ));
    let (answer, ev) = tokio::join!(
        ctl(&r.path, "cancel", T),
        act(&mut r.events, &r.state, GateState::Cooling)
    );
    assert_eq!(answer.unwrap(), r#"{"ok":true,"state":"cooling"}"#);
    assert_eq!(ev, TriggerEvent::Cancel { source: "socket" });
    assert_eq!(
        ctl(&r.path, "reboot", T).await.unwrap(),
        r#"{"ok":false,"error":"unknown command \"reboot\"; valid: start, status, cancel"}"#
    );
    // Nothing that would make two requests, or none, is sent.
    for bad in ["status\nstart", "", "  ", &"s".repeat(257)] {
        let e = ctl(&r.path, bad, T).await.unwrap_err();
        assert!(matches!(e, CtlError::BadCommand { .. }), "{bad:?}: {e}");
    }
    assert_eq!(r.events.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn ctl_without_a_socket_says_livegate_is_not_running() {
    let dir = TempDir::new("absent");
    let path = dir.sock();
    let e = ctl(&path, "status", T).await.unwrap_err();
    assert!(matches!(e, CtlError::NotRunning { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!("livegate is not running (no socket at {})", path.display())
    );
    let e = ctl(Path::new("/nonexistent-livegate-dir/ctl.sock"), "status", T)
        .await
        .unwrap_err();
    assert!(matches!(e, CtlError::NotRunning { .. }), "{e}");
}

#[tokio::test(start_paused = true)]
async fn ctl_times_out_when_nobody_answers() {
    let dir = TempDir::new("mute");
    let path = dir.sock();
    // Listening (the kernel accepts connections) but never answering.
    let _mute = tokio::net::UnixListener::bind(&path).unwrap();
    let e = ctl(&path, "status", Duration::from_secs(3))
        .await
        .unwrap_err();
    assert!(matches!(e, CtlError::Timeout { .. }), "{e}");
    assert_eq!(e.to_string(), "livegate did not answer within 3s");
}

#[tokio::test]
async fn the_socket_gets_a_group_we_are_in() {
    let dir = TempDir::new("group");
    // Our gid: the group of a file we just made.
    let probe = dir.0.join("probe");
    std::fs::write(&probe, b"").unwrap();
    let gid = std::fs::metadata(&probe).unwrap().gid();
    let groups = std::fs::read_to_string("/etc/group").unwrap();
    let name = group_name(&groups, gid).expect("our gid has a name in /etc/group");

    let path = dir.sock();
    let o = SocketOptions {
        path: path.clone(),
        group: Some(name.clone()),
        mode: 0o660,
    };
    let trigger = SocketTrigger::bind(&o).unwrap();
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert_eq!(meta.gid(), gid, "group {name}");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    drop(trigger);

    // A numeric gid works too; an unknown name is refused before anything is made.
    let o = SocketOptions {
        group: Some(gid.to_string()),
        ..o
    };
    let trigger = SocketTrigger::bind(&o).unwrap();
    assert_eq!(std::fs::symlink_metadata(&path).unwrap().gid(), gid);
    drop(trigger);
    let o = SocketOptions {
        group: Some("no-such-group-for-livegate".into()),
        ..o
    };
    let e = SocketTrigger::bind(&o).unwrap_err();
    assert!(matches!(e, CtlError::UnknownGroup { .. }), "{e}");
    assert!(!path.exists());
}

/// An event's message and the names of its other fields.
type Logged = (String, Vec<String>);

/// Every event logged on this thread.
#[derive(Clone, Default)]
struct FieldNames(std::sync::Arc<std::sync::Mutex<Vec<Logged>>>);

struct Names(String, Vec<String>);

impl tracing::field::Visit for Names {
    fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
        if f.name() == "message" {
            self.0 = format!("{v:?}");
        } else {
            self.1.push(f.name().to_owned());
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for FieldNames {
    fn on_event(&self, e: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut n = Names(String::new(), Vec::new());
        e.record(&mut n);
        self.0.lock().unwrap().push((n.0, n.1));
    }
}

#[tokio::test]
async fn the_caller_is_logged_as_ctl_uid_and_ctl_pid_not_as_journald_fields() {
    use tracing_subscriber::layer::SubscriberExt;
    let names = FieldNames::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(names.clone()));
    let r = rig("caller-fields");
    let mut c = Client::connect(&r.path).await;
    assert!(c.ask("open sesame").await.contains("unknown command"));
    let logged = names.0.lock().unwrap().clone();
    let (_, fields) = logged
        .iter()
        .find(|(m, _)| m == "unknown control command")
        .unwrap_or_else(|| panic!("no line for the command: {logged:?}"));
    assert!(
        fields.iter().any(|f| f == "ctl_uid") && fields.iter().any(|f| f == "ctl_pid"),
        "{fields:?}"
    );
    for (m, fields) in &logged {
        assert!(
            !fields.iter().any(|f| f == "uid" || f == "pid"),
            "{m}: {fields:?} (journald would show UID=/PID= beside its own _UID/_PID)"
        );
    }
}

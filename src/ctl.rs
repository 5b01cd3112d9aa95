//! The local control socket (`[trigger] kind = "socket"`) and its client, `livegate ctl`.
//!
//! Kiosk software on the same machine talks to the daemon over a Unix stream socket:
//! one request per line (`start`, `status`, `cancel`), one JSON answer per line
//! ([`CtlAnswer`]). Who may connect is decided by the socket file's group and mode.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, watch, Mutex, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, info, warn};

use crate::trigger::{GateState, Trigger, TriggerEvent};

/// Where the socket lives unless configured otherwise.
pub const DEFAULT_PATH: &str = "/run/livegate/ctl.sock";
/// The socket file's default mode: owner and group may connect, nobody else.
pub const DEFAULT_MODE: u32 = 0o660;
/// Longest request line accepted (bytes, without the line break).
pub const MAX_LINE: usize = 256;
/// Most connections served at once; more are answered with an error and closed.
pub const MAX_CONNECTIONS: usize = 8;
/// A connection with no request for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long an answer may take to write before the connection is dropped.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long `start`/`cancel` wait for the daemon to act on the event before answering.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest answer line the client accepts.
const MAX_ANSWER: u64 = 64 * 1024;
/// The group database.
const GROUP_FILE: &str = "/etc/group";
/// The `source` of the events this trigger sends.
const SOURCE: &str = "socket";

/// Options of the control socket (`[trigger] kind = "socket"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SocketOptions {
    /// Path of the socket file.
    pub path: PathBuf,
    /// Group given the socket file (the group allowed to use it); `None` keeps the
    /// daemon's own group. A name from /etc/group, or a numeric gid.
    pub group: Option<String>,
    /// Permission bits of the socket file (0o000–0o777).
    pub mode: u32,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            path: PathBuf::from(DEFAULT_PATH),
            group: None,
            mode: DEFAULT_MODE,
        }
    }
}

/// What went wrong with the control socket, on either side, in plain words.
#[derive(Debug, thiserror::Error)]
pub enum CtlError {
    /// No socket file: the daemon is not running (or uses another path).
    #[error("livegate is not running (no socket at {})", path.display())]
    NotRunning { path: PathBuf },
    /// The socket file exists but nobody listens on it.
    #[error(
        "livegate is not running (nobody answers on {}; the file is left over from an earlier run)",
        path.display()
    )]
    Stale { path: PathBuf },
    /// The caller may not connect.
    #[error(
        "permission denied on {}: add your user to group {group} (then log in again)",
        path.display()
    )]
    PermissionDenied { path: PathBuf, group: String },
    /// The daemon did not answer in time.
    #[error("livegate did not answer within {}", humantime::format_duration(*timeout))]
    Timeout { timeout: Duration },
    /// The daemon closed the connection without a complete answer.
    #[error("livegate closed the connection without answering")]
    NoAnswer,
    /// The command cannot be sent as one request line.
    #[error("not a valid command {command:?}: one word, no line breaks, at most 256 bytes (try start, status or cancel)")]
    BadCommand { command: String },
    /// Something other than a socket is at the socket path; it is left alone.
    #[error(
        "{} exists and is not a socket; refusing to delete it (move it away or configure another socket path)",
        path.display()
    )]
    NotASocket { path: PathBuf },
    /// Another process answers on the socket path.
    #[error("another process is already listening on {} (is livegate running twice?)", path.display())]
    InUse { path: PathBuf },
    /// The configured group does not exist.
    #[error("no group named {name:?} in /etc/group (create it, or fix the socket group)")]
    UnknownGroup { name: String },
    /// The configured mode is not a permission mode.
    #[error("socket mode {mode:#o} is not a permission mode (0o000 to 0o777)")]
    BadMode { mode: u32 },
    /// Any other system error, with what was being done.
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The gate's state as named on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CtlState {
    /// `"ready"`: a `start` begins a session.
    Ready,
    /// `"busy"`: a session is in progress.
    Busy,
    /// `"cooling"`: between sessions.
    Cooling,
    /// `"locked_out"`: too many failures.
    LockedOut,
    /// `"stopping"`: the daemon is stopping (or gone).
    Stopping,
}

impl CtlState {
    /// The wire name (`"ready"`, `"locked_out"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            CtlState::Ready => "ready",
            CtlState::Busy => "busy",
            CtlState::Cooling => "cooling",
            CtlState::LockedOut => "locked_out",
            CtlState::Stopping => "stopping",
        }
    }
}

impl From<GateState> for CtlState {
    fn from(s: GateState) -> Self {
        match s {
            GateState::Ready => CtlState::Ready,
            GateState::Busy => CtlState::Busy,
            GateState::Cooling => CtlState::Cooling,
            GateState::LockedOut => CtlState::LockedOut,
            GateState::Stopping => CtlState::Stopping,
        }
    }
}

/// One answer line: `{"ok":true,"state":"busy"}`, `{"ok":false,"error":"…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CtlAnswer {
    /// Whether the request was carried out.
    pub ok: bool,
    /// Why not, when `ok` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The gate's state after the request, where it is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<CtlState>,
}

impl CtlAnswer {
    /// Success, with the state.
    pub fn ok(state: GateState) -> Self {
        CtlAnswer {
            ok: true,
            error: None,
            state: Some(state.into()),
        }
    }

    /// Failure, with a reason and no state.
    pub fn error(error: impl Into<String>) -> Self {
        CtlAnswer {
            ok: false,
            error: Some(error.into()),
            state: None,
        }
    }

    /// `start` refused because the gate is not ready: the error is the state's name.
    pub fn not_ready(state: GateState) -> Self {
        let s = CtlState::from(state);
        CtlAnswer {
            ok: false,
            error: Some(s.as_str().to_owned()),
            state: Some(s),
        }
    }

    /// The answer as one JSON line, without the line break.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|_| r#"{"ok":false,"error":"internal error"}"#.to_owned())
    }
}

/// A request understood by the socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Start a session (only when the gate is ready).
    Start,
    /// Report the gate's state.
    Status,
    /// Cancel the session in progress.
    Cancel,
}

impl Request {
    /// Parses one request line (surrounding whitespace ignored); the error is the
    /// answer's text for anything else.
    pub fn parse(line: &str) -> Result<Request, String> {
        match line.trim() {
            "start" => Ok(Request::Start),
            "status" => Ok(Request::Status),
            "cancel" => Ok(Request::Cancel),
            other => Err(format!(
                "unknown command \"{}\"; valid: start, status, cancel",
                printable(other)
            )),
        }
    }

    /// The request's word, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Request::Start => "start",
            Request::Status => "status",
            Request::Cancel => "cancel",
        }
    }
}

/// `s` safe to echo and log ([`crate::untrusted::clean`]).
fn printable(s: &str) -> String {
    crate::untrusted::clean(s)
}

/// The gid of group `name` in the text of an /etc/group file.
pub fn group_gid(group_file: &str, name: &str) -> Option<u32> {
    group_entries(group_file).find_map(|(n, gid)| (n == name).then_some(gid))
}

/// The name of group `gid` in the text of an /etc/group file.
pub fn group_name(group_file: &str, gid: u32) -> Option<String> {
    group_entries(group_file).find_map(|(n, g)| (g == gid).then(|| n.to_owned()))
}

/// `(name, gid)` of every well-formed line of an /etc/group file
/// (`name:password:gid:members`); comments, NIS `+`/`-` lines and junk are skipped.
fn group_entries(text: &str) -> impl Iterator<Item = (&str, u32)> {
    text.lines().filter_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?.trim();
        let _password = fields.next()?;
        let gid = fields.next()?.trim().parse::<u32>().ok()?;
        if name.is_empty() || name.starts_with(['#', '+', '-']) {
            return None;
        }
        Some((name, gid))
    })
}

/// The gid of a configured group: a name from /etc/group, else a numeric gid.
fn resolve_group(name: &str) -> Result<u32, CtlError> {
    let numeric = name.parse::<u32>().ok();
    let text = match std::fs::read_to_string(GROUP_FILE) {
        Ok(t) => t,
        Err(_) if numeric.is_some() => String::new(),
        Err(source) => {
            return Err(CtlError::Io {
                what: "cannot read",
                path: PathBuf::from(GROUP_FILE),
                source,
            })
        }
    };
    group_gid(&text, name)
        .or(numeric)
        .ok_or_else(|| CtlError::UnknownGroup {
            name: name.to_owned(),
        })
}

/// Removes the socket file when dropped, if it is still the one this process made.
#[derive(Debug)]
struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Ok(m) = std::fs::symlink_metadata(&self.path) {
            if m.dev() == self.dev && m.ino() == self.ino {
                match std::fs::remove_file(&self.path) {
                    Ok(()) => debug!(path = %self.path.display(), "control socket removed"),
                    Err(e) => {
                        warn!(path = %self.path.display(), error = %e, "cannot remove the control socket")
                    }
                }
            }
        }
    }
}

/// Removes a socket file nobody answers on; refuses anything else.
fn clear_stale(path: &Path) -> Result<(), CtlError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(CtlError::Io {
                what: "cannot inspect",
                path: path.to_owned(),
                source,
            })
        }
    };
    if !meta.file_type().is_socket() {
        return Err(CtlError::NotASocket {
            path: path.to_owned(),
        });
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(CtlError::InUse {
            path: path.to_owned(),
        }),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            std::fs::remove_file(path).map_err(|source| CtlError::Io {
                what: "cannot remove the stale socket",
                path: path.to_owned(),
                source,
            })?;
            info!(path = %path.display(), "removed a stale control socket");
            Ok(())
        }
        Err(source) => Err(CtlError::Io {
            what: "cannot check the existing socket",
            path: path.to_owned(),
            source,
        }),
    }
}

/// The control socket as a [`Trigger`]: bound by [`SocketTrigger::bind`], served
/// once spawned. The socket file is removed when the trigger (or its task) ends.
#[derive(Debug)]
pub struct SocketTrigger {
    listener: std::os::unix::net::UnixListener,
    file: SocketFile,
}

impl SocketTrigger {
    /// Creates the socket file with the configured group and mode. A stale socket
    /// (nobody answering) is replaced; any other file at the path is left alone.
    pub fn bind(opts: &SocketOptions) -> Result<SocketTrigger, CtlError> {
        let path = opts.path.as_path();
        if opts.mode & !0o777 != 0 {
            return Err(CtlError::BadMode { mode: opts.mode });
        }
        let gid = opts.group.as_deref().map(resolve_group).transpose()?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|source| CtlError::Io {
                    what: "cannot create the directory",
                    path: dir.to_owned(),
                    source,
                })?;
            }
        }
        clear_stale(path)?;
        let listener = std::os::unix::net::UnixListener::bind(path).map_err(|source| {
            if source.kind() == io::ErrorKind::AddrInUse {
                CtlError::InUse {
                    path: path.to_owned(),
                }
            } else {
                CtlError::Io {
                    what: "cannot create the socket",
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        let io_err = |what| {
            let path = path.to_owned();
            move |source| CtlError::Io { what, path, source }
        };
        let meta = std::fs::symlink_metadata(path).map_err(io_err("cannot inspect"))?;
        // From here on the file is removed again on every error path.
        let file = SocketFile {
            path: path.to_owned(),
            dev: meta.dev(),
            ino: meta.ino(),
        };
        if let Some(gid) = gid {
            std::os::unix::fs::chown(path, None, Some(gid))
                .map_err(io_err("cannot set the group of"))?;
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(opts.mode))
            .map_err(io_err("cannot set the mode of"))?;
        listener
            .set_nonblocking(true)
            .map_err(io_err("cannot configure"))?;
        if opts.mode & 0o002 != 0 {
            warn!(path = %path.display(), "the control socket is writable by every user");
        }
        info!(
            path = %path.display(),
            mode = %format_args!("{:04o}", opts.mode),
            group = opts.group.as_deref().unwrap_or("(daemon's own)"),
            "control socket ready"
        );
        Ok(SocketTrigger { listener, file })
    }

    /// The socket file's path.
    pub fn path(&self) -> &Path {
        &self.file.path
    }
}

/// What every connection of one socket shares.
struct Shared {
    events: mpsc::Sender<TriggerEvent>,
    state: watch::Receiver<GateState>,
    /// Serialises `start` and `cancel`, so two kiosks cannot both start a session.
    control: Mutex<()>,
}

impl Trigger for SocketTrigger {
    fn spawn(
        self: Box<Self>,
        events: mpsc::Sender<TriggerEvent>,
        state: watch::Receiver<GateState>,
    ) -> JoinHandle<()> {
        let SocketTrigger { listener, file } = *self;
        tokio::spawn(async move {
            // Dropped when the task ends or is aborted: removes the socket file.
            let _file = file;
            let listener = match UnixListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    warn!(error = %e, "cannot serve the control socket");
                    return;
                }
            };
            let shared = Arc::new(Shared {
                events,
                state,
                control: Mutex::new(()),
            });
            let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
            // Dropping the set (task end or abort) ends every connection.
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    () = shared.events.closed() => {
                        debug!("the daemon is gone: control socket closing");
                        break;
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => match Arc::clone(&slots).try_acquire_owned() {
                            Ok(permit) => {
                                let shared = Arc::clone(&shared);
                                conns.spawn(async move {
                                    serve(stream, &shared).await;
                                    drop(permit);
                                });
                            }
                            Err(_) => {
                                warn!(max = MAX_CONNECTIONS, "control socket: too many connections, one refused");
                                let line = CtlAnswer::error(format!(
                                    "too many connections (at most {MAX_CONNECTIONS})"
                                ))
                                .to_line()
                                    + "\n";
                                // A fresh socket's buffer always takes one short line.
                                let _ = stream.try_write(line.as_bytes());
                            }
                        },
                        Err(e) => {
                            warn!(error = %e, "control socket: accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            }
        })
    }
}

/// The gate's state now; `Stopping` once the daemon has dropped the watch.
fn current(state: &watch::Receiver<GateState>) -> GateState {
    if state.has_changed().is_err() {
        GateState::Stopping
    } else {
        *state.borrow()
    }
}

/// Waits (briefly) for the state to leave `from` after an event; the state then.
async fn settle(state: &watch::Receiver<GateState>, from: GateState) -> GateState {
    let mut rx = state.clone();
    let waited = tokio::time::timeout(SETTLE_TIMEOUT, async {
        rx.wait_for(|s| *s != from).await.map(|s| *s)
    })
    .await;
    match waited {
        Ok(Ok(s)) => s,
        Ok(Err(_)) => GateState::Stopping,
        Err(_) => current(state),
    }
}

/// Carries out one request.
async fn respond(shared: &Shared, req: Request) -> CtlAnswer {
    match req {
        Request::Status => CtlAnswer::ok(current(&shared.state)),
        Request::Start => {
            let _one_at_a_time = shared.control.lock().await;
            let now = current(&shared.state);
            if now != GateState::Ready {
                return CtlAnswer::not_ready(now);
            }
            let ev = TriggerEvent::Start {
                source: SOURCE,
                note: None,
                card: None,
            };
            if shared.events.send(ev).await.is_err() {
                return CtlAnswer::not_ready(GateState::Stopping);
            }
            CtlAnswer::ok(settle(&shared.state, GateState::Ready).await)
        }
        Request::Cancel => {
            let _one_at_a_time = shared.control.lock().await;
            if current(&shared.state) != GateState::Busy {
                return CtlAnswer::error("no session");
            }
            if shared
                .events
                .send(TriggerEvent::Cancel { source: SOURCE })
                .await
                .is_err()
            {
                return CtlAnswer::error("no session");
            }
            CtlAnswer::ok(settle(&shared.state, GateState::Busy).await)
        }
    }
}

/// Serves one connection until it closes, errs, idles out or sends an over-long line.
async fn serve(stream: UnixStream, shared: &Shared) {
    let (uid, pid) = match stream.peer_cred() {
        Ok(c) => (Some(c.uid()), c.pid()),
        Err(_) => (None, None),
    };
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut buf = Vec::with_capacity(64);
    loop {
        buf.clear();
        // One byte more than a line may hold, plus room for "\r\n".
        let limit = (MAX_LINE + 2) as u64;
        let mut line_reader = (&mut rd).take(limit);
        let read = line_reader.read_until(b'\n', &mut buf);
        let n = match tokio::time::timeout(IDLE_TIMEOUT, read).await {
            Err(_) => {
                debug!(
                    ctl_uid = uid,
                    ctl_pid = pid,
                    "control connection idle: closed"
                );
                return;
            }
            Ok(Err(e)) => {
                debug!(ctl_uid = uid, ctl_pid = pid, error = %e, "control connection failed");
                return;
            }
            Ok(Ok(n)) => n,
        };
        if n == 0 {
            return;
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        if buf.len() > MAX_LINE {
            warn!(
                ctl_uid = uid,
                ctl_pid = pid,
                "control request longer than {MAX_LINE} bytes: connection closed"
            );
            let answer = CtlAnswer::error(format!(
                "line too long (more than {MAX_LINE} bytes); connection closed"
            ));
            let _ = tokio::time::timeout(
                WRITE_TIMEOUT,
                wr.write_all((answer.to_line() + "\n").as_bytes()),
            )
            .await;
            let _ = wr.shutdown().await;
            return;
        }
        let line = String::from_utf8_lossy(&buf);
        let answer = match Request::parse(&line) {
            Ok(req) => {
                // A kiosk may poll status every second: only commands that act go to info.
                if req == Request::Status {
                    tracing::debug!(
                        ctl_uid = uid,
                        ctl_pid = pid,
                        command = req.as_str(),
                        "control command"
                    );
                } else {
                    info!(
                        ctl_uid = uid,
                        ctl_pid = pid,
                        command = req.as_str(),
                        "control command"
                    );
                }
                respond(shared, req).await
            }
            Err(text) => {
                info!(ctl_uid = uid, ctl_pid = pid, command = %printable(line.trim()), "unknown control command");
                CtlAnswer::error(text)
            }
        };
        // A client that sends but never reads must not hold a slot for ever.
        match tokio::time::timeout(
            WRITE_TIMEOUT,
            wr.write_all((answer.to_line() + "\n").as_bytes()),
        )
        .await
        {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}

/// Sends one command to the daemon's control socket and returns its answer line
/// (JSON, without the line break). Used by `livegate ctl start|status|cancel`.
pub async fn ctl(path: &Path, command: &str, timeout: Duration) -> Result<String, CtlError> {
    let command = command.trim();
    if command.is_empty() || command.len() > MAX_LINE || command.contains(['\n', '\r']) {
        return Err(CtlError::BadCommand {
            command: printable(command),
        });
    }
    match tokio::time::timeout(timeout, exchange(path, command)).await {
        Ok(r) => r,
        Err(_) => Err(CtlError::Timeout { timeout }),
    }
}

async fn exchange(path: &Path, command: &str) -> Result<String, CtlError> {
    let stream = UnixStream::connect(path)
        .await
        .map_err(|e| connect_error(path, e))?;
    let (rd, mut wr) = stream.into_split();
    wr.write_all(format!("{command}\n").as_bytes())
        .await
        .map_err(|source| CtlError::Io {
            what: "cannot send the command to",
            path: path.to_owned(),
            source,
        })?;
    let mut buf = Vec::new();
    BufReader::new(rd)
        .take(MAX_ANSWER)
        .read_until(b'\n', &mut buf)
        .await
        .map_err(|source| CtlError::Io {
            what: "cannot read the answer from",
            path: path.to_owned(),
            source,
        })?;
    if buf.pop() != Some(b'\n') {
        return Err(CtlError::NoAnswer);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// A connect error in plain words.
fn connect_error(path: &Path, source: io::Error) -> CtlError {
    let path = path.to_owned();
    match source.kind() {
        io::ErrorKind::NotFound => CtlError::NotRunning { path },
        io::ErrorKind::ConnectionRefused => CtlError::Stale { path },
        io::ErrorKind::PermissionDenied => {
            let group = access_group(&path);
            CtlError::PermissionDenied { path, group }
        }
        _ => CtlError::Io {
            what: "cannot connect to",
            path,
            source,
        },
    }
}

/// The group that grants access to the socket: the socket file's (or, when it cannot
/// be seen, its directory's), by name where /etc/group knows it.
fn access_group(path: &Path) -> String {
    let gid = std::fs::metadata(path)
        .or_else(|_| std::fs::metadata(path.parent().unwrap_or(Path::new("/"))))
        .map(|m| m.gid());
    let Ok(gid) = gid else {
        return "livegate".to_owned();
    };
    let text = std::fs::read_to_string(GROUP_FILE).unwrap_or_default();
    group_name(&text, gid).unwrap_or_else(|| format!("with gid {gid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
root:x:0:
# a comment:x:5:
daemon:x:1:
livegate:x:998:kiosk,alice
broken line
nogid:x::
badgid:x:abc:
+nisgroup:::
-other::7:
video:x:44:kiosk
short:x
  spaced :x: 12 :
";

    #[test]
    fn group_gid_finds_names() {
        assert_eq!(group_gid(SAMPLE, "root"), Some(0));
        assert_eq!(group_gid(SAMPLE, "livegate"), Some(998));
        assert_eq!(group_gid(SAMPLE, "video"), Some(44));
        assert_eq!(group_gid(SAMPLE, "spaced"), Some(12));
    }

    #[test]
    fn group_gid_skips_junk() {
        for name in [
            "nogid",
            "badgid",
            "+nisgroup",
            "nisgroup",
            "-other",
            "other",
            "short",
            "broken line",
            "# a comment",
            "kiosk",
            "",
            "livegat",
        ] {
            assert_eq!(group_gid(SAMPLE, name), None, "{name:?}");
        }
        assert_eq!(group_gid("", "root"), None);
    }

    #[test]
    fn group_name_finds_gids() {
        assert_eq!(group_name(SAMPLE, 998).as_deref(), Some("livegate"));
        assert_eq!(group_name(SAMPLE, 0).as_deref(), Some("root"));
        assert_eq!(group_name(SAMPLE, 7), None);
        assert_eq!(group_name(SAMPLE, 5), None);
        assert_eq!(group_name(SAMPLE, 12345), None);
    }

    #[test]
    fn requests_parse() {
        assert_eq!(Request::parse("start"), Ok(Request::Start));
        assert_eq!(Request::parse("  status \t"), Ok(Request::Status));
        assert_eq!(Request::parse("cancel"), Ok(Request::Cancel));
        assert_eq!(
            Request::parse("Start"),
            Err(r#"unknown command "Start"; valid: start, status, cancel"#.to_owned())
        );
        assert_eq!(
            Request::parse("go\u{1b}[2J"),
            Err(r#"unknown command "go\u{1b}[2J"; valid: start, status, cancel"#.to_owned())
        );
        assert_eq!(
            Request::parse(""),
            Err(r#"unknown command ""; valid: start, status, cancel"#.to_owned())
        );
    }

    #[test]
    fn answers_serialise_as_documented() {
        assert_eq!(
            CtlAnswer::ok(GateState::Busy).to_line(),
            r#"{"ok":true,"state":"busy"}"#
        );
        assert_eq!(
            CtlAnswer::not_ready(GateState::LockedOut).to_line(),
            r#"{"ok":false,"error":"locked_out","state":"locked_out"}"#
        );
        assert_eq!(
            CtlAnswer::error("no session").to_line(),
            r#"{"ok":false,"error":"no session"}"#
        );
        let unknown = CtlAnswer::error(Request::parse("a\"b").unwrap_err()).to_line();
        assert_eq!(
            unknown,
            r#"{"ok":false,"error":"unknown command \"a\"b\"; valid: start, status, cancel"}"#
        );
        let back: CtlAnswer = serde_json::from_str(&unknown).unwrap();
        assert!(!back.ok);
        assert_eq!(back.state, None);
    }

    #[test]
    fn every_state_has_its_wire_name() {
        for (g, name) in [
            (GateState::Ready, "ready"),
            (GateState::Busy, "busy"),
            (GateState::Cooling, "cooling"),
            (GateState::LockedOut, "locked_out"),
            (GateState::Stopping, "stopping"),
        ] {
            let s = CtlState::from(g);
            assert_eq!(s.as_str(), name);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{name}\""));
        }
    }

    #[test]
    fn bad_mode_is_refused_before_touching_the_path() {
        let opts = SocketOptions {
            path: PathBuf::from("/nonexistent/dir/ctl.sock"),
            group: None,
            mode: 0o4660,
        };
        let e = SocketTrigger::bind(&opts).unwrap_err();
        assert!(matches!(e, CtlError::BadMode { mode: 0o4660 }), "{e}");
    }

    #[test]
    fn unknown_group_is_refused() {
        let e = resolve_group("no-such-group-livegate-test").unwrap_err();
        assert!(matches!(e, CtlError::UnknownGroup { .. }), "{e}");
        assert_eq!(resolve_group("4242").unwrap(), 4242);
    }
}

//! The systemd notification protocol (`sd_notify`) and a progress-gated watchdog.
//!
//! [`Notifier`] sends `READY=1`, `STATUS=…`, `RELOADING=1`, `STOPPING=1` and
//! `WATCHDOG=1` datagrams to `$NOTIFY_SOCKET`; without that variable it does nothing.
//! [`spawn_watchdog`] pings only while a [`Heartbeat`] shows the main loop is
//! making progress, so a hung loop is restarted by systemd.

use std::ffi::OsStr;
use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// The environment variable naming the notification socket.
pub const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";
/// The environment variable holding the watchdog timeout in microseconds.
pub const WATCHDOG_USEC: &str = "WATCHDOG_USEC";
/// The environment variable naming the process the watchdog is meant for.
pub const WATCHDOG_PID: &str = "WATCHDOG_PID";
/// The longest `STATUS=` text sent, in bytes (longer text is cut at a character boundary).
pub const STATUS_MAX: usize = 256;

/// Sends notifications to the service manager; a no-op when not started by one.
#[derive(Debug)]
pub struct Notifier {
    target: Option<Target>,
}

/// An unbound datagram socket and the manager's address.
#[derive(Debug)]
struct Target {
    socket: UnixDatagram,
    addr: SocketAddr,
}

impl Notifier {
    /// A notifier from `$NOTIFY_SOCKET`: disabled when the variable is unset or empty;
    /// an error when it is set but names no usable address.
    pub fn from_env() -> io::Result<Notifier> {
        match std::env::var_os(NOTIFY_SOCKET) {
            Some(name) if !name.is_empty() => Self::from_socket_name(name),
            _ => Ok(Self::disabled()),
        }
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> Notifier {
        Notifier { target: None }
    }

    /// A notifier for a `$NOTIFY_SOCKET`-style name: an absolute path, or `@name`
    /// for a Linux abstract socket.
    pub fn from_socket_name(name: impl AsRef<OsStr>) -> io::Result<Notifier> {
        Self::with_addr(socket_addr(name.as_ref())?)
    }

    /// A notifier for the datagram socket bound at `path`.
    pub fn to_path(path: impl AsRef<Path>) -> io::Result<Notifier> {
        Self::with_addr(SocketAddr::from_pathname(path)?)
    }

    fn with_addr(addr: SocketAddr) -> io::Result<Notifier> {
        let socket = UnixDatagram::unbound()?;
        // A full queue at the manager must never stall the caller (or a runtime thread).
        socket.set_nonblocking(true)?;
        Ok(Notifier {
            target: Some(Target { socket, addr }),
        })
    }

    /// Whether notifications are sent anywhere.
    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Sends one raw message (`KEY=value` lines); `Ok` without sending when disabled.
    pub fn send(&self, message: &str) -> io::Result<()> {
        let Some(t) = &self.target else {
            return Ok(());
        };
        let sent = t.socket.send_to_addr(message.as_bytes(), &t.addr)?;
        if sent != message.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "notification datagram truncated",
            ));
        }
        Ok(())
    }

    /// `READY=1`: start-up (or a reload) is complete.
    pub fn ready(&self) -> io::Result<()> {
        self.send("READY=1")
    }

    /// `RELOADING=1` with `MONOTONIC_USEC=`, as `Type=notify-reload` expects; follow with
    /// [`Notifier::ready`] once the reload is done.
    pub fn reloading(&self) -> io::Result<()> {
        if !self.is_enabled() {
            return Ok(());
        }
        self.send(&reloading_message(monotonic_usec()?))
    }

    /// `STOPPING=1`: shutting down.
    pub fn stopping(&self) -> io::Result<()> {
        self.send("STOPPING=1")
    }

    /// `STATUS=…`: one line for `systemctl status` (see [`status_message`]).
    pub fn status(&self, text: &str) -> io::Result<()> {
        self.send(&status_message(text))
    }

    /// `WATCHDOG=1`: the service is alive.
    pub fn watchdog(&self) -> io::Result<()> {
        self.send("WATCHDOG=1")
    }
}

/// The address named by a `$NOTIFY_SOCKET` value.
fn socket_addr(name: &OsStr) -> io::Result<SocketAddr> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = name.as_bytes();
    match bytes.first() {
        Some(b'/') => SocketAddr::from_pathname(Path::new(name)),
        Some(b'@') => abstract_addr(&bytes[1..]),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{NOTIFY_SOCKET}={}: not an absolute path or @abstract name",
                name.to_string_lossy()
            ),
        )),
    }
}

#[cfg(target_os = "linux")]
fn abstract_addr(name: &[u8]) -> io::Result<SocketAddr> {
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(target_os = "linux"))]
fn abstract_addr(_name: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "abstract sockets exist only on Linux",
    ))
}

/// `STATUS=` and `text` on one line: tabs and line breaks become spaces, other control
/// characters are dropped, and the text is cut to [`STATUS_MAX`] bytes.
pub fn status_message(text: &str) -> String {
    let mut out = String::from("STATUS=");
    let start = out.len();
    for c in text.chars() {
        let c = match c {
            '\t' | '\n' | '\r' => ' ',
            c if c.is_control() => continue,
            c => c,
        };
        if out.len() - start + c.len_utf8() > STATUS_MAX {
            break;
        }
        out.push(c);
    }
    out
}

/// `RELOADING=1` and the `CLOCK_MONOTONIC` time of the reload.
fn reloading_message(monotonic_usec: u64) -> String {
    format!("RELOADING=1\nMONOTONIC_USEC={monotonic_usec}")
}

/// `CLOCK_MONOTONIC` in microseconds, the clock systemd's `MONOTONIC_USEC=` is read on.
pub fn monotonic_usec() -> io::Result<u64> {
    // SAFETY: `ts` is a live, writable timespec for the whole call; clock_gettime writes
    // it completely when it returns 0, and it is read only in that case.
    let ts = unsafe {
        let mut ts = std::mem::MaybeUninit::<libc::timespec>::uninit();
        if libc::clock_gettime(libc::CLOCK_MONOTONIC, ts.as_mut_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        ts.assume_init()
    };
    let bad = |_| io::Error::other("CLOCK_MONOTONIC out of range");
    let secs = u64::try_from(ts.tv_sec).map_err(bad)?;
    let nanos = u64::try_from(ts.tv_nsec).map_err(bad)?;
    Ok(secs.saturating_mul(1_000_000).saturating_add(nanos / 1_000))
}

/// The watchdog timeout systemd asks for (`$WATCHDOG_USEC`, for this process only).
pub fn watchdog_interval() -> Option<Duration> {
    let usec = std::env::var(WATCHDOG_USEC).ok();
    let pid = std::env::var(WATCHDOG_PID).ok();
    parse_watchdog(usec.as_deref(), pid.as_deref(), std::process::id())
}

/// The watchdog timeout from `WATCHDOG_USEC` (a positive integer) when `WATCHDOG_PID`
/// is unset or equals `my_pid`; `None` when absent, malformed, zero or meant for another
/// process.
pub fn parse_watchdog(usec: Option<&str>, pid: Option<&str>, my_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.parse().ok()?;
    // systemd's "infinity" is u64::MAX: no watchdog.
    if usec == 0 || usec == u64::MAX {
        return None;
    }
    if let Some(pid) = pid {
        if pid.parse::<u32>().ok()? != my_pid {
            return None;
        }
    }
    Some(Duration::from_micros(usec))
}

/// Proof of progress: the main loop calls [`Heartbeat::beat`] on every iteration.
#[derive(Clone, Debug)]
pub struct Heartbeat {
    start: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self::new()
    }
}

impl Heartbeat {
    /// A heartbeat whose creation counts as the first beat.
    pub fn new() -> Heartbeat {
        Heartbeat {
            start: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records progress now.
    pub fn beat(&self) {
        self.last_ms
            .fetch_max(self.elapsed_ms(Instant::now()), Ordering::Relaxed);
    }

    /// How long ago the last beat was, at `now`.
    pub fn since_last_beat(&self, now: Instant) -> Duration {
        let last = self.last_ms.load(Ordering::Relaxed);
        Duration::from_millis(self.elapsed_ms(now).saturating_sub(last))
    }

    fn elapsed_ms(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }
}

/// How often the watchdog task wakes for `interval` (half of it, at least 1 ms).
pub fn ping_period(interval: Duration) -> Duration {
    (interval / 2).max(Duration::from_millis(1))
}

/// Whether to ping now: the last beat lies within one ping period.
pub fn should_ping(since_last_beat: Duration, interval: Duration) -> bool {
    since_last_beat <= ping_period(interval)
}

/// Spawns the task that sends `WATCHDOG=1` every `interval / 2` (the first at once),
/// but only while `heartbeat` has beaten within the last `interval / 2`.
pub fn spawn_watchdog(
    notifier: Arc<Notifier>,
    heartbeat: Heartbeat,
    interval: Duration,
) -> JoinHandle<()> {
    let period = ping_period(interval);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut stalled = false;
        let mut failing = false;
        loop {
            ticks.tick().await;
            // Judged now, not at the tick's scheduled instant: a tick that runs late
            // (a busy machine) must not take an old beat for recent progress.
            let since = heartbeat.since_last_beat(Instant::now());
            if !should_ping(since, interval) {
                if !stalled {
                    tracing::warn!(
                        since_last_beat_ms = u64::try_from(since.as_millis()).unwrap_or(u64::MAX),
                        "main loop made no progress: watchdog pings withheld"
                    );
                    stalled = true;
                }
                continue;
            }
            if stalled {
                tracing::info!("main loop progressing again: watchdog pings resumed");
                stalled = false;
            }
            match notifier.watchdog() {
                Ok(()) if failing => {
                    tracing::info!("watchdog ping delivered again");
                    failing = false;
                }
                Ok(()) => {}
                Err(error) if !failing => {
                    tracing::warn!(%error, "cannot send the watchdog ping");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_watchdog_interval_comes_from_usec_for_this_process_only() {
        let p = parse_watchdog;
        assert_eq!(p(Some("400000"), None, 7), Some(ms(400)));
        assert_eq!(p(Some("400000"), Some("7"), 7), Some(ms(400)));
        assert_eq!(p(Some("1"), None, 7), Some(Duration::from_micros(1)));
        assert_eq!(p(Some("400000"), Some("8"), 7), None);
        assert_eq!(p(Some("400000"), Some("seven"), 7), None);
        assert_eq!(p(Some("400000"), Some(""), 7), None);
        assert_eq!(p(None, Some("7"), 7), None);
        assert_eq!(p(None, None, 7), None);
        assert_eq!(p(Some("0"), None, 7), None);
        assert_eq!(p(Some(&u64::MAX.to_string()), None, 7), None);
        assert_eq!(p(Some("-5"), None, 7), None);
        assert_eq!(p(Some(" 400000"), None, 7), None);
        assert_eq!(p(Some("4e5"), None, 7), None);
        assert_eq!(p(Some(""), None, 7), None);
    }

    #[test]
    fn pings_need_a_beat_within_half_the_interval() {
        let i = Duration::from_secs(1);
        assert!(should_ping(ms(0), i));
        assert!(should_ping(ms(499), i));
        assert!(should_ping(ms(500), i));
        assert!(!should_ping(ms(501), i));
        assert!(!should_ping(Duration::from_secs(3600), i));
        // A tiny interval still has a usable period and window.
        assert_eq!(ping_period(Duration::from_micros(1)), ms(1));
        assert!(should_ping(ms(1), Duration::from_micros(1)));
        assert!(!should_ping(ms(2), Duration::from_micros(1)));
        assert_eq!(ping_period(ms(400)), ms(200));
    }

    #[tokio::test(start_paused = true)]
    async fn the_heartbeat_tracks_the_last_beat_in_milliseconds() {
        let hb = Heartbeat::new();
        let copy = hb.clone();
        let t0 = Instant::now();
        assert_eq!(hb.since_last_beat(t0), ms(0));
        tokio::time::advance(ms(300)).await;
        assert_eq!(hb.since_last_beat(Instant::now()), ms(300));
        copy.beat();
        assert_eq!(hb.since_last_beat(Instant::now()), ms(0));
        tokio::time::advance(ms(120)).await;
        assert_eq!(hb.since_last_beat(Instant::now()), ms(120));
        // A time before the start counts as no time.
        assert_eq!(hb.since_last_beat(t0 - ms(5)), ms(0));
    }

    #[test]
    fn status_is_one_bounded_line() {
        assert_eq!(status_message("idle"), "STATUS=idle");
        assert_eq!(
            status_message("in session 3\nlast: pass\r\tok"),
            "STATUS=in session 3 last: pass  ok"
        );
        assert_eq!(status_message("a\u{0}b\u{1b}[31mc\u{7f}"), "STATUS=ab[31mc");
        assert_eq!(status_message(""), "STATUS=");
        let long = "x".repeat(STATUS_MAX + 10);
        assert_eq!(
            status_message(&long),
            format!("STATUS={}", "x".repeat(STATUS_MAX))
        );
        // Cut at a character boundary: 'é' is two bytes.
        let accents = "é".repeat(STATUS_MAX);
        let m = status_message(&accents);
        assert_eq!(m, format!("STATUS={}", "é".repeat(STATUS_MAX / 2)));
        let odd = format!("a{}", "é".repeat(STATUS_MAX));
        assert_eq!(
            status_message(&odd),
            format!("STATUS=a{}", "é".repeat(STATUS_MAX / 2 - 1))
        );
    }

    #[test]
    fn reloading_carries_the_monotonic_time() {
        assert_eq!(
            reloading_message(1_234_567),
            "RELOADING=1\nMONOTONIC_USEC=1234567"
        );
    }

    #[test]
    fn the_monotonic_clock_is_the_one_std_instant_uses() {
        // On Linux std's Instant reads CLOCK_MONOTONIC: readings bracket each other.
        let a = monotonic_usec().expect("clock");
        let i0 = std::time::Instant::now();
        std::thread::sleep(ms(3));
        let i1 = std::time::Instant::now();
        let b = monotonic_usec().expect("clock");
        let elapsed = u64::try_from(i1.duration_since(i0).as_micros()).expect("small");
        // (+1: each reading is truncated to whole microseconds.)
        assert!(
            b - a + 1 >= elapsed,
            "{a} .. {b} spans less than {elapsed} µs"
        );
        assert!(b - a < elapsed + 50_000, "{a} .. {b} vs {elapsed} µs");
        // Not the wall clock: microseconds since 1970 (over 1.6e15 today) are far beyond
        // any uptime (1e15 µs is 31 years).
        assert!(a > 0);
        assert!(
            b < 1_000_000_000_000_000,
            "{b} µs looks like the wall clock"
        );
    }

    #[test]
    fn socket_names_are_absolute_paths_or_abstract() {
        let path = socket_addr(OsStr::new("/run/systemd/notify")).expect("path");
        assert_eq!(path.as_pathname(), Some(Path::new("/run/systemd/notify")));
        let abs = socket_addr(OsStr::new("@livegate/notify")).expect("abstract");
        assert_eq!(abs.as_pathname(), None);
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            assert_eq!(abs.as_abstract_name(), Some(&b"livegate/notify"[..]));
        }
        for bad in ["run/notify", "", "vsock:2:1234", " /run/notify"] {
            let e = socket_addr(OsStr::new(bad)).expect_err(bad);
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad}");
        }
        let too_long = format!("/{}", "a".repeat(200));
        assert!(socket_addr(OsStr::new(&too_long)).is_err());
    }

    #[test]
    fn a_disabled_notifier_sends_nothing_and_succeeds() {
        let n = Notifier::disabled();
        assert!(!n.is_enabled());
        n.ready().expect("ready");
        n.reloading().expect("reloading");
        n.status("idle").expect("status");
        n.watchdog().expect("watchdog");
        n.stopping().expect("stopping");
        n.send("X=1").expect("send");
    }
}

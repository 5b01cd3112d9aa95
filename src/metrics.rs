//! Fleet metrics: counters, gauges and API latency in the Prometheus text exposition
//! format, written atomically to a file that node_exporter's textfile collector reads.
//!
//! Labels hold only fixed words (deny reasons, API error classes, API operations, part
//! names): never a key, a request id or anything from an image.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::api::ApiError;
use crate::session::{DenyReason, Verdict};

/// Every deny reason; each has a `livegate_denials_total` series from the start.
pub const DENY_REASONS: [DenyReason; 11] = DenyReason::ALL;

/// Every [`ApiError::class`]; each has a `livegate_api_errors_total` series from the start.
pub const API_ERROR_CLASSES: [&str; 10] = ApiError::CLASSES;

/// The API operations, as passed to [`Metrics::api_call`].
pub const API_OPS: [&str; 3] = ["sequence", "verify", "restart"];

/// Upper bounds of the latency histogram's buckets and their `le` labels (`+Inf` follows).
pub const LATENCY_BUCKETS: [(Duration, &str); 8] = [
    (Duration::from_millis(50), "0.05"),
    (Duration::from_millis(100), "0.1"),
    (Duration::from_millis(250), "0.25"),
    (Duration::from_millis(500), "0.5"),
    (Duration::from_secs(1), "1"),
    (Duration::from_millis(2500), "2.5"),
    (Duration::from_secs(5), "5"),
    (Duration::from_secs(10), "10"),
];

/// The shortest rewrite interval [`spawn_writer`] uses (a shorter one is raised to it).
pub const MIN_WRITE_INTERVAL: Duration = Duration::from_secs(1);

/// A part whose failure is shown by `livegate_degraded{part="…"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DegradedPart {
    /// The camera gives no frames.
    Camera,
    /// The display does not answer.
    Display,
    /// The liveness API fails (network, key, credit).
    Api,
}

impl DegradedPart {
    /// Every part, in the documented order.
    pub const ALL: [DegradedPart; 3] = [
        DegradedPart::Camera,
        DegradedPart::Display,
        DegradedPart::Api,
    ];

    /// The `part` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            DegradedPart::Camera => "camera",
            DegradedPart::Display => "display",
            DegradedPart::Api => "api",
        }
    }
}

/// Cumulative latency buckets of one API operation.
#[derive(Clone, Debug, Default)]
struct Histogram {
    /// Observations at most each bound of [`LATENCY_BUCKETS`] (cumulative).
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: Duration,
}

impl Histogram {
    fn observe(&mut self, latency: Duration) {
        for (n, (bound, _)) in self.buckets.iter_mut().zip(LATENCY_BUCKETS) {
            if latency <= bound {
                *n += 1;
            }
        }
        self.count += 1;
        self.sum = self.sum.saturating_add(latency);
    }
}

/// Everything counted, behind the lock.
#[derive(Debug)]
struct State {
    sessions: u64,
    passes: u64,
    /// By [`DenyReason::code`].
    denials: BTreeMap<&'static str, u64>,
    /// By [`ApiError::class`].
    api_errors: BTreeMap<&'static str, u64>,
    /// By operation; `livegate_api_requests_total` is each histogram's count.
    api: BTreeMap<&'static str, Histogram>,
    exit_opens: u64,
    door_alarms: u64,
    lockouts: u64,
    /// Triggers turned away with no face in view (presence): no API call.
    no_face: u64,
    /// Session frames not posted for want of a face (presence).
    frames_held: u64,
    up: bool,
    /// Unix seconds when the last session ended; 0 for none.
    last_session: u64,
    /// By [`DegradedPart::as_str`].
    degraded: BTreeMap<&'static str, bool>,
}

impl State {
    fn new() -> Self {
        State {
            sessions: 0,
            passes: 0,
            denials: DENY_REASONS.iter().map(|r| (r.code(), 0)).collect(),
            api_errors: API_ERROR_CLASSES.iter().map(|c| (*c, 0)).collect(),
            api: API_OPS
                .iter()
                .map(|op| (*op, Histogram::default()))
                .collect(),
            exit_opens: 0,
            door_alarms: 0,
            lockouts: 0,
            no_face: 0,
            frames_held: 0,
            up: true,
            last_session: 0,
            degraded: DegradedPart::ALL
                .iter()
                .map(|p| (p.as_str(), false))
                .collect(),
        }
    }
}

/// The daemon's counters. Share it as `Arc<Metrics>`; every method takes `&self`.
#[derive(Debug)]
pub struct Metrics {
    state: Mutex<State>,
    /// Poked by [`Metrics::flush_now`]; the writer task waits on it.
    flush: Notify,
    /// The wall clock (for `livegate_last_session_timestamp_seconds`).
    clock: fn() -> SystemTime,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh counters (all zero, every label pre-registered), `livegate_up 1`.
    pub fn new() -> Self {
        Self::with_clock(SystemTime::now)
    }

    /// As [`Metrics::new`], with another wall clock (for tests).
    pub fn with_clock(clock: fn() -> SystemTime) -> Self {
        Metrics {
            state: Mutex::new(State::new()),
            flush: Notify::new(),
            clock,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while counting leaves plain numbers behind: keep using them.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A session started (`livegate_sessions_total`).
    pub fn session_started(&self) {
        self.state().sessions += 1;
    }

    /// A session ended with this verdict: a pass or a denial by reason; also sets
    /// `livegate_last_session_timestamp_seconds` to now.
    pub fn verdict(&self, verdict: Verdict) {
        let now = unix_secs((self.clock)());
        let mut s = self.state();
        match verdict {
            Verdict::Pass => s.passes += 1,
            Verdict::Deny(reason) => *s.denials.entry(reason.code()).or_insert(0) += 1,
        }
        s.last_session = now;
    }

    /// One call to the API (`op`: `"sequence"`, `"verify"` or `"restart"`) took
    /// `latency` and ended with `result`. An unknown `op` only counts the error.
    pub fn api_call(&self, op: &str, latency: Duration, result: Result<(), &ApiError>) {
        let mut s = self.state();
        if let Err(e) = result {
            *s.api_errors.entry(e.class()).or_insert(0) += 1;
        }
        match s.api.get_mut(op) {
            Some(h) => h.observe(latency),
            None => {
                drop(s);
                tracing::warn!(op, "metrics: unknown API operation, not counted");
            }
        }
    }

    /// The request-to-exit button opened the gate (`livegate_exit_opens_total`).
    pub fn exit_opened(&self) {
        self.state().exit_opens += 1;
    }

    /// The door-held-open alarm went off (`livegate_door_alarms_total`).
    pub fn door_alarm(&self) {
        self.state().door_alarms += 1;
    }

    /// A trigger was turned away: no face in view, no session, no API call
    /// (`livegate_no_face_total`).
    pub fn no_face(&self) {
        self.state().no_face += 1;
    }

    /// A session's frame was not posted: no face in it (`livegate_frames_held_total`).
    pub fn frame_held(&self) {
        self.state().frames_held += 1;
    }

    /// A lockout began after too many failures (`livegate_lockouts_total`).
    pub fn lockout(&self) {
        self.state().lockouts += 1;
    }

    /// Marks a part as failing (`true`) or working again (`false`).
    pub fn set_degraded(&self, part: DegradedPart, degraded: bool) {
        self.state().degraded.insert(part.as_str(), degraded);
    }

    /// Sets `livegate_up` to 0: call before the last write at a clean stop.
    pub fn stopped(&self) {
        self.state().up = false;
    }

    /// Asks the writer task ([`spawn_writer`]) to write the file now (after a session).
    pub fn flush_now(&self) {
        self.flush.notify_one();
    }

    /// Every metric in the Prometheus text exposition format (ends with a newline).
    pub fn render(&self) -> String {
        let s = self.state();
        let mut out = String::with_capacity(4096);
        let plain = |v: u64| vec![Sample::new("", vec![], v.to_string())];
        let by = |label: &'static str, map: &BTreeMap<&'static str, u64>| {
            map.iter()
                .map(|(k, v)| Sample::new("", vec![(label, (*k).to_owned())], v.to_string()))
                .collect::<Vec<_>>()
        };
        family(
            &mut out,
            "livegate_sessions_total",
            "counter",
            "Liveness checks started.",
            &plain(s.sessions),
        );
        family(
            &mut out,
            "livegate_passes_total",
            "counter",
            "Checks passed (the gate opened).",
            &plain(s.passes),
        );
        family(
            &mut out,
            "livegate_denials_total",
            "counter",
            "Checks refused, by reason.",
            &by("reason", &s.denials),
        );
        family(
            &mut out,
            "livegate_api_errors_total",
            "counter",
            "Failed calls to the liveness API, by error class.",
            &by("class", &s.api_errors),
        );
        let requests: BTreeMap<&'static str, u64> =
            s.api.iter().map(|(op, h)| (*op, h.count)).collect();
        family(
            &mut out,
            "livegate_api_requests_total",
            "counter",
            "Calls to the liveness API, by operation.",
            &by("op", &requests),
        );
        let mut latency = Vec::new();
        for (op, h) in &s.api {
            let op_label = || ("op", (*op).to_owned());
            for (n, (_, le)) in h.buckets.iter().zip(LATENCY_BUCKETS) {
                latency.push(Sample::new(
                    "_bucket",
                    vec![op_label(), ("le", le.to_owned())],
                    n.to_string(),
                ));
            }
            latency.push(Sample::new(
                "_bucket",
                vec![op_label(), ("le", "+Inf".to_owned())],
                h.count.to_string(),
            ));
            latency.push(Sample::new("_sum", vec![op_label()], seconds(h.sum)));
            latency.push(Sample::new("_count", vec![op_label()], h.count.to_string()));
        }
        family(
            &mut out,
            "livegate_api_latency_seconds",
            "histogram",
            "Duration of calls to the liveness API, by operation.",
            &latency,
        );
        family(
            &mut out,
            "livegate_exit_opens_total",
            "counter",
            "Gate openings by the request-to-exit button (without a check).",
            &plain(s.exit_opens),
        );
        family(
            &mut out,
            "livegate_door_alarms_total",
            "counter",
            "Door held-open alarms.",
            &plain(s.door_alarms),
        );
        family(
            &mut out,
            "livegate_lockouts_total",
            "counter",
            "Lockouts after too many failed checks.",
            &plain(s.lockouts),
        );
        family(
            &mut out,
            "livegate_no_face_total",
            "counter",
            "Triggers turned away with no face in view (no session, no API call).",
            &plain(s.no_face),
        );
        family(
            &mut out,
            "livegate_frames_held_total",
            "counter",
            "Session frames not posted because no face was in them.",
            &plain(s.frames_held),
        );
        family(
            &mut out,
            "livegate_up",
            "gauge",
            "1 while livegate runs, 0 after a clean stop (a crash leaves 1: alert on livegate_metrics_written_timestamp_seconds).",
            &plain(u64::from(s.up)),
        );
        family(
            &mut out,
            "livegate_metrics_written_timestamp_seconds",
            "gauge",
            "Unix time when this file was written; it is rewritten at every interval while livegate runs.",
            &plain(unix_secs((self.clock)())),
        );
        family(
            &mut out,
            "livegate_build_info",
            "gauge",
            "Always 1; the labels say which livegate build writes this file.",
            &[Sample::new(
                "",
                vec![
                    ("version", env!("CARGO_PKG_VERSION").to_owned()),
                    ("arch", std::env::consts::ARCH.to_owned()),
                ],
                "1".to_owned(),
            )],
        );
        family(
            &mut out,
            "livegate_last_session_timestamp_seconds",
            "gauge",
            "Unix time when the last check ended (0: none since livegate started).",
            &plain(s.last_session),
        );
        let degraded: BTreeMap<&'static str, u64> = s
            .degraded
            .iter()
            .map(|(p, d)| (*p, u64::from(*d)))
            .collect();
        family(
            &mut out,
            "livegate_degraded",
            "gauge",
            "1 while a part (camera, display or API) is failing, else 0.",
            &by("part", &degraded),
        );
        out
    }
}

/// Whole seconds since the Unix epoch (0 for a clock before it).
fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// One line of a metric family.
struct Sample {
    suffix: &'static str,
    labels: Vec<(&'static str, String)>,
    value: String,
}

impl Sample {
    fn new(suffix: &'static str, labels: Vec<(&'static str, String)>, value: String) -> Self {
        Sample {
            suffix,
            labels,
            value,
        }
    }
}

/// Appends one family: `# HELP`, `# TYPE`, then its samples with labels sorted by name.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[Sample]) {
    out.push_str(&format!(
        "# HELP {name} {}\n# TYPE {name} {kind}\n",
        escape_help(help)
    ));
    for sample in samples {
        out.push_str(name);
        out.push_str(sample.suffix);
        let mut labels: Vec<&(&str, String)> = sample.labels.iter().collect();
        labels.sort_by_key(|(k, _)| *k);
        if !labels.is_empty() {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape_label_value(v)))
                .collect();
            out.push('{');
            out.push_str(&pairs.join(","));
            out.push('}');
        }
        out.push(' ');
        out.push_str(&sample.value);
        out.push('\n');
    }
}

/// A label value as the text format writes it: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text as the text format writes it: `\` → `\\`, newline → `\n`.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A duration in seconds, exactly, in decimal: `0`, `0.05`, `1.93`, `12`.
fn seconds(d: Duration) -> String {
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        return d.as_secs().to_string();
    }
    let frac = format!("{nanos:09}");
    format!("{}.{}", d.as_secs(), frac.trim_end_matches('0'))
}

/// Serialises writes from this process: they share one temporary file name.
static WRITE_LOCK: Mutex<()> = Mutex::new(());

/// Writes `text` to `path` atomically: into `.<name>.tmp-<pid>` in the same folder
/// (a name node_exporter ignores), fsynced, mode 0644, then renamed over `path`; a
/// reader sees the old file or the new one, never part of one.
pub fn write_textfile(path: &Path, text: &str) -> io::Result<()> {
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a file name", path.display()),
        ));
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let _guard = WRITE_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    let result = write_then_rename(&tmp, path, dir, text);
    if result.is_err() {
        // Best effort: the temporary file may not exist.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_then_rename(tmp: &Path, path: &Path, dir: &Path, text: &str) -> io::Result<()> {
    let at = |what: &'static str, p: &Path| {
        let shown = p.display().to_string();
        move |e: io::Error| io::Error::new(e.kind(), format!("cannot {what} {shown}: {e}"))
    };
    // A leftover from a crash: remove it, then create anew (never through a symlink).
    match std::fs::remove_file(tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(at("remove", tmp)(e)),
        _ => {}
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(tmp)
        .map_err(at("create", tmp))?;
    // The umask may have taken bits away: node_exporter runs as another user.
    file.set_permissions(Permissions::from_mode(0o644))
        .map_err(at("set the mode of", tmp))?;
    file.write_all(text.as_bytes()).map_err(at("write", tmp))?;
    file.sync_all().map_err(at("sync", tmp))?;
    drop(file);
    std::fs::rename(tmp, path).map_err(at("replace", path))?;
    // Make the rename itself durable; not every file system can sync a folder.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Spawns the task that writes `metrics` to `path` at once, then every `interval`
/// (at least [`MIN_WRITE_INTERVAL`]) and whenever [`Metrics::flush_now`] is called.
///
/// A failed write is logged once per distinct error (and its recovery once); it is
/// never fatal. Call it inside a Tokio runtime. Abort the handle to stop; at a clean
/// stop, call [`Metrics::stopped`] and [`write_textfile`] for a last file with
/// `livegate_up 0`.
pub fn spawn_writer(metrics: Arc<Metrics>, path: PathBuf, interval: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval.max(MIN_WRITE_INTERVAL));
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_error: Option<String> = None;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = metrics.flush.notified() => {}
            }
            let text = metrics.render();
            let target = path.clone();
            let done = tokio::task::spawn_blocking(move || write_textfile(&target, &text)).await;
            let result = match done {
                Ok(r) => r.map_err(|e| e.to_string()),
                Err(e) => Err(format!("the write did not finish: {e}")),
            };
            match result {
                Ok(()) => {
                    if last_error.take().is_some() {
                        tracing::info!(path = %path.display(), "metrics file written again");
                    }
                }
                Err(error) => {
                    if last_error.as_deref() != Some(error.as_str()) {
                        tracing::warn!(
                            path = %path.display(),
                            %error,
                            "cannot write the metrics file (retrying at each interval)"
                        );
                        last_error = Some(error);
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One error of each class; fails to compile when [`ApiError`] gains a variant.
    fn one_of_each(e: &ApiError) -> ApiError {
        match e {
            ApiError::Unauthorized { .. }
            | ApiError::Forbidden { .. }
            | ApiError::Unprocessable { .. }
            | ApiError::OutOfCredit { .. }
            | ApiError::Server { .. }
            | ApiError::UnexpectedStatus { .. }
            | ApiError::Timeout { .. }
            | ApiError::Tls(_)
            | ApiError::Network(_)
            | ApiError::Garbled(_) => e.clone(),
        }
    }

    fn every_error() -> Vec<ApiError> {
        vec![
            ApiError::Unauthorized {
                code: None,
                message: None,
            },
            ApiError::Forbidden {
                code: None,
                message: None,
            },
            ApiError::Unprocessable {
                code: None,
                message: None,
            },
            ApiError::OutOfCredit {
                code: None,
                message: None,
            },
            ApiError::Server {
                status: 502,
                code: None,
                message: None,
            },
            ApiError::UnexpectedStatus {
                status: 418,
                code: None,
                message: None,
            },
            ApiError::Timeout { timeout_ms: 8000 },
            ApiError::Tls("bad certificate".into()),
            ApiError::Network("refused".into()),
            ApiError::Garbled("no status".into()),
        ]
    }

    #[test]
    fn every_deny_reason_is_listed_once() {
        // DENY_REASONS is DenyReason::ALL, whose completeness the core's exhaustive
        // match guards; here: one counter per distinct code.
        let codes: std::collections::BTreeSet<&str> =
            DENY_REASONS.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), DENY_REASONS.len());
    }

    #[test]
    fn every_api_error_class_is_listed_in_order() {
        let classes: Vec<&str> = every_error()
            .iter()
            .map(|e| one_of_each(e).class())
            .collect();
        assert_eq!(classes, API_ERROR_CLASSES);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label_value("plain_word"), "plain_word");
        assert_eq!(
            escape_label_value("a\\b \"q\"\nnext"),
            "a\\\\b \\\"q\\\"\\nnext"
        );
        assert_eq!(
            escape_help("one\\two\nthree \"q\""),
            "one\\\\two\\nthree \"q\""
        );
    }

    #[test]
    fn families_sort_label_names_and_escape_values() {
        let mut out = String::new();
        family(
            &mut out,
            "x_total",
            "counter",
            "Help with a \\ and\na newline.",
            &[
                Sample::new(
                    "",
                    vec![("zone", "n\"orth".to_owned()), ("door", "a\\b".to_owned())],
                    "3".to_owned(),
                ),
                Sample::new("_sum", vec![], "0.5".to_owned()),
            ],
        );
        assert_eq!(
            out,
            "# HELP x_total Help with a \\\\ and\\na newline.\n\
             # TYPE x_total counter\n\
             x_total{door=\"a\\\\b\",zone=\"n\\\"orth\"} 3\n\
             x_total_sum 0.5\n"
        );
    }

    #[test]
    fn seconds_are_exact_decimals() {
        assert_eq!(seconds(Duration::ZERO), "0");
        assert_eq!(seconds(Duration::from_millis(50)), "0.05");
        assert_eq!(seconds(Duration::from_millis(1930)), "1.93");
        assert_eq!(seconds(Duration::from_secs(12)), "12");
        assert_eq!(seconds(Duration::from_nanos(1_000_000_001)), "1.000000001");
    }

    #[test]
    fn buckets_are_cumulative_and_inclusive() {
        let mut h = Histogram::default();
        h.observe(Duration::from_millis(50));
        h.observe(Duration::from_millis(51));
        h.observe(Duration::from_secs(11));
        assert_eq!(h.buckets, [1, 2, 2, 2, 2, 2, 2, 2]);
        assert_eq!(h.count, 3);
        assert_eq!(h.sum, Duration::from_millis(11_101));
    }

    #[test]
    fn unknown_op_counts_only_the_error() {
        let m = Metrics::new();
        m.api_call(
            "upload",
            Duration::from_secs(1),
            Err(&ApiError::Network("reset".into())),
        );
        let text = m.render();
        assert!(
            text.contains("\nlivegate_api_errors_total{class=\"network\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("upload"), "{text}");
        for op in API_OPS {
            assert!(
                text.contains(&format!("\nlivegate_api_requests_total{{op=\"{op}\"}} 0\n")),
                "{text}"
            );
        }
    }

    #[test]
    fn a_poisoned_lock_keeps_counting() {
        let m = Arc::new(Metrics::new());
        m.session_started();
        let m2 = Arc::clone(&m);
        let _ = std::thread::spawn(move || {
            let _guard = m2.state.lock();
            panic!("poison the lock");
        })
        .join();
        assert!(m.state.is_poisoned());
        m.session_started();
        assert!(m.render().contains("\nlivegate_sessions_total 2\n"));
    }

    #[test]
    fn metrics_are_send_and_sync() {
        fn shared<T: Send + Sync + 'static>() {}
        shared::<Metrics>();
        shared::<Arc<Metrics>>();
    }
}

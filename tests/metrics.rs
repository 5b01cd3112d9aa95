//! Fleet metrics: the exact Prometheus text, the atomic textfile write, and the writer
//! task (in paused time).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use livegate::api::ApiError;
use livegate::metrics::{spawn_writer, write_textfile, DegradedPart, Metrics};
use livegate::session::{DenyReason, Verdict};

/// What a fresh `Metrics` renders: every family, every label at zero.
const FRESH: &str = r#"# HELP livegate_sessions_total Liveness checks started.
# TYPE livegate_sessions_total counter
livegate_sessions_total 0
# HELP livegate_passes_total Checks passed (the gate opened).
# TYPE livegate_passes_total counter
livegate_passes_total 0
# HELP livegate_denials_total Checks refused, by reason.
# TYPE livegate_denials_total counter
livegate_denials_total{reason="action_timeout"} 0
livegate_denials_total{reason="camera_unavailable"} 0
livegate_denials_total{reason="cancelled"} 0
livegate_denials_total{reason="device_error"} 0
livegate_denials_total{reason="key_rejected"} 0
livegate_denials_total{reason="not_verified"} 0
livegate_denials_total{reason="out_of_credit"} 0
livegate_denials_total{reason="service_unavailable"} 0
livegate_denials_total{reason="session_timeout"} 0
livegate_denials_total{reason="shutdown"} 0
livegate_denials_total{reason="too_many_attempts"} 0
# HELP livegate_api_errors_total Failed calls to the liveness API, by error class.
# TYPE livegate_api_errors_total counter
livegate_api_errors_total{class="forbidden"} 0
livegate_api_errors_total{class="garbled"} 0
livegate_api_errors_total{class="network"} 0
livegate_api_errors_total{class="out_of_credit"} 0
livegate_api_errors_total{class="server"} 0
livegate_api_errors_total{class="timeout"} 0
livegate_api_errors_total{class="tls"} 0
livegate_api_errors_total{class="unauthorized"} 0
livegate_api_errors_total{class="unexpected_status"} 0
livegate_api_errors_total{class="unprocessable"} 0
# HELP livegate_api_requests_total Calls to the liveness API, by operation.
# TYPE livegate_api_requests_total counter
livegate_api_requests_total{op="restart"} 0
livegate_api_requests_total{op="sequence"} 0
livegate_api_requests_total{op="verify"} 0
# HELP livegate_api_latency_seconds Duration of calls to the liveness API, by operation.
# TYPE livegate_api_latency_seconds histogram
livegate_api_latency_seconds_bucket{le="0.05",op="restart"} 0
livegate_api_latency_seconds_bucket{le="0.1",op="restart"} 0
livegate_api_latency_seconds_bucket{le="0.25",op="restart"} 0
livegate_api_latency_seconds_bucket{le="0.5",op="restart"} 0
livegate_api_latency_seconds_bucket{le="1",op="restart"} 0
livegate_api_latency_seconds_bucket{le="2.5",op="restart"} 0
livegate_api_latency_seconds_bucket{le="5",op="restart"} 0
livegate_api_latency_seconds_bucket{le="10",op="restart"} 0
livegate_api_latency_seconds_bucket{le="+Inf",op="restart"} 0
livegate_api_latency_seconds_sum{op="restart"} 0
livegate_api_latency_seconds_count{op="restart"} 0
livegate_api_latency_seconds_bucket{le="0.05",op="sequence"} 0
livegate_api_latency_seconds_bucket{le="0.1",op="sequence"} 0
livegate_api_latency_seconds_bucket{le="0.25",op="sequence"} 0
livegate_api_latency_seconds_bucket{le="0.5",op="sequence"} 0
livegate_api_latency_seconds_bucket{le="1",op="sequence"} 0
livegate_api_latency_seconds_bucket{le="2.5",op="sequence"} 0
livegate_api_latency_seconds_bucket{le="5",op="sequence"} 0
livegate_api_latency_seconds_bucket{le="10",op="sequence"} 0
livegate_api_latency_seconds_bucket{le="+Inf",op="sequence"} 0
livegate_api_latency_seconds_sum{op="sequence"} 0
livegate_api_latency_seconds_count{op="sequence"} 0
livegate_api_latency_seconds_bucket{le="0.05",op="verify"} 0
livegate_api_latency_seconds_bucket{le="0.1",op="verify"} 0
livegate_api_latency_seconds_bucket{le="0.25",op="verify"} 0
livegate_api_latency_seconds_bucket{le="0.5",op="verify"} 0
livegate_api_latency_seconds_bucket{le="1",op="verify"} 0
livegate_api_latency_seconds_bucket{le="2.5",op="verify"} 0
livegate_api_latency_seconds_bucket{le="5",op="verify"} 0
livegate_api_latency_seconds_bucket{le="10",op="verify"} 0
livegate_api_latency_seconds_bucket{le="+Inf",op="verify"} 0
livegate_api_latency_seconds_sum{op="verify"} 0
livegate_api_latency_seconds_count{op="verify"} 0
# HELP livegate_exit_opens_total Gate openings by the request-to-exit button (without a check).
# TYPE livegate_exit_opens_total counter
livegate_exit_opens_total 0
# HELP livegate_door_alarms_total Door held-open alarms.
# TYPE livegate_door_alarms_total counter
livegate_door_alarms_total 0
# HELP livegate_lockouts_total Lockouts after too many failed checks.
# TYPE livegate_lockouts_total counter
livegate_lockouts_total 0
# HELP livegate_no_face_total Triggers turned away with no face in view (no session, no API call).
# TYPE livegate_no_face_total counter
livegate_no_face_total 0
# HELP livegate_frames_held_total Session frames not posted because no face was in them.
# TYPE livegate_frames_held_total counter
livegate_frames_held_total 0
# HELP livegate_up 1 while livegate runs, 0 after a clean stop (a crash leaves 1: alert on livegate_metrics_written_timestamp_seconds).
# TYPE livegate_up gauge
livegate_up 1
# HELP livegate_metrics_written_timestamp_seconds Unix time when this file was written; it is rewritten at every interval while livegate runs.
# TYPE livegate_metrics_written_timestamp_seconds gauge
livegate_metrics_written_timestamp_seconds 1700000000
# HELP livegate_build_info Always 1; the labels say which livegate build writes this file.
# TYPE livegate_build_info gauge
livegate_build_info{arch="ARCH",version="VERSION"} 1
# HELP livegate_last_session_timestamp_seconds Unix time when the last check ended (0: none since livegate started).
# TYPE livegate_last_session_timestamp_seconds gauge
livegate_last_session_timestamp_seconds 0
# HELP livegate_degraded 1 while a part (camera, display or API) is failing, else 0.
# TYPE livegate_degraded gauge
livegate_degraded{part="api"} 0
livegate_degraded{part="camera"} 0
livegate_degraded{part="display"} 0
"#;

/// The clock of the tests: 2023-11-14 22:13:20 UTC.
fn fixed_clock() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The lines of one family, from its `# HELP` to the next family.
fn block(text: &str, name: &str) -> String {
    let head = format!("# HELP {name} ");
    let start = text
        .find(&head)
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"));
    let rest = &text[start + head.len()..];
    let end = rest.find("# HELP ").unwrap_or(rest.len());
    text[start..start + head.len() + end].to_owned()
}

/// A tiny checker of the text format: every line complete, each a comment or
/// `series value` with a numeric value, and `livegate_up 1` present.
fn well_formed(text: &str) -> Result<(), String> {
    if !text.ends_with('\n') {
        return Err(format!(
            "the last line is incomplete: {:?}",
            text.lines().last()
        ));
    }
    for line in text.lines() {
        if line.starts_with("# HELP livegate_") || line.starts_with("# TYPE livegate_") {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            return Err(format!("no value: {line:?}"));
        };
        if !series.starts_with("livegate_") || value.parse::<f64>().is_err() {
            return Err(format!("not a sample: {line:?}"));
        }
        if series.contains('{') && !series.ends_with('}') {
            return Err(format!("labels not closed: {line:?}"));
        }
    }
    if !text.lines().any(|l| l == "livegate_up 1") {
        return Err("no livegate_up 1 line".to_owned());
    }
    Ok(())
}

/// A fresh, empty folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("livegate-metrics-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The names in a folder, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---------------------------------------------------------------------------
// The text.

#[test]
fn fresh_metrics_render_exactly() {
    let text = Metrics::with_clock(fixed_clock).render();
    let want = FRESH
        .replace("ARCH", std::env::consts::ARCH)
        .replace("VERSION", env!("CARGO_PKG_VERSION"));
    assert_eq!(text, want);
    assert_eq!(well_formed(&text), Ok(()));
}

#[test]
fn a_pass_two_denials_a_timeout_and_three_latencies() {
    let m = Metrics::with_clock(fixed_clock);
    for _ in 0..3 {
        m.session_started();
    }
    m.verdict(Verdict::Pass);
    m.verdict(Verdict::Deny(DenyReason::NotVerified));
    m.verdict(Verdict::Deny(DenyReason::ActionTimeout));
    m.api_call("sequence", ms(120), Ok(()));
    m.api_call("verify", ms(450), Ok(()));
    let timeout = ApiError::Timeout { timeout_ms: 8000 };
    m.api_call("verify", ms(8000), Err(&timeout));
    let text = m.render();

    assert_eq!(
        block(&text, "livegate_sessions_total"),
        "# HELP livegate_sessions_total Liveness checks started.\n\
         # TYPE livegate_sessions_total counter\n\
         livegate_sessions_total 3\n"
    );
    assert_eq!(
        block(&text, "livegate_passes_total"),
        "# HELP livegate_passes_total Checks passed (the gate opened).\n\
         # TYPE livegate_passes_total counter\n\
         livegate_passes_total 1\n"
    );
    assert_eq!(
        block(&text, "livegate_denials_total"),
        "# HELP livegate_denials_total Checks refused, by reason.\n\
         # TYPE livegate_denials_total counter\n\
         livegate_denials_total{reason=\"action_timeout\"} 1\n\
         livegate_denials_total{reason=\"camera_unavailable\"} 0\n\
         livegate_denials_total{reason=\"cancelled\"} 0\n\
         livegate_denials_total{reason=\"device_error\"} 0\n\
         livegate_denials_total{reason=\"key_rejected\"} 0\n\
         livegate_denials_total{reason=\"not_verified\"} 1\n\
         livegate_denials_total{reason=\"out_of_credit\"} 0\n\
         livegate_denials_total{reason=\"service_unavailable\"} 0\n\
         livegate_denials_total{reason=\"session_timeout\"} 0\n\
         livegate_denials_total{reason=\"shutdown\"} 0\n\
         livegate_denials_total{reason=\"too_many_attempts\"} 0\n"
    );
    let errors = block(&text, "livegate_api_errors_total");
    assert!(
        errors.contains("\nlivegate_api_errors_total{class=\"timeout\"} 1\n"),
        "{errors}"
    );
    assert_eq!(errors.matches("} 0\n").count(), 9, "{errors}");
    assert_eq!(
        block(&text, "livegate_api_requests_total"),
        "# HELP livegate_api_requests_total Calls to the liveness API, by operation.\n\
         # TYPE livegate_api_requests_total counter\n\
         livegate_api_requests_total{op=\"restart\"} 0\n\
         livegate_api_requests_total{op=\"sequence\"} 1\n\
         livegate_api_requests_total{op=\"verify\"} 2\n"
    );
    let latency = block(&text, "livegate_api_latency_seconds");
    let sequence: Vec<&str> = latency
        .lines()
        .filter(|l| l.contains("op=\"sequence\""))
        .collect();
    assert_eq!(
        sequence,
        [
            "livegate_api_latency_seconds_bucket{le=\"0.05\",op=\"sequence\"} 0",
            "livegate_api_latency_seconds_bucket{le=\"0.1\",op=\"sequence\"} 0",
            "livegate_api_latency_seconds_bucket{le=\"0.25\",op=\"sequence\"} 1",
            "livegate_api_latency_seconds_bucket{le=\"0.5\",op=\"sequence\"} 1",
            "livegate_api_latency_seconds_bucket{le=\"1\",op=\"sequence\"} 1",
            "livegate_api_latency_seconds_bucket{le=\"2.5\",op=\"sequence\"} 1",
            "livegate_api_latency_seconds_bucket{le=\"5\",op=\"sequence\"} 1",
            "livegate_api_latency_seconds_bucket{le=\"10\",op=\"sequence\"} 1",
            "livegate_api_latency_seconds_bucket{le=\"+Inf\",op=\"sequence\"} 1",
            "livegate_api_latency_seconds_sum{op=\"sequence\"} 0.12",
            "livegate_api_latency_seconds_count{op=\"sequence\"} 1",
        ]
    );
    let verify: Vec<&str> = latency
        .lines()
        .filter(|l| l.contains("op=\"verify\""))
        .collect();
    assert_eq!(
        verify,
        [
            "livegate_api_latency_seconds_bucket{le=\"0.05\",op=\"verify\"} 0",
            "livegate_api_latency_seconds_bucket{le=\"0.1\",op=\"verify\"} 0",
            "livegate_api_latency_seconds_bucket{le=\"0.25\",op=\"verify\"} 0",
            "livegate_api_latency_seconds_bucket{le=\"0.5\",op=\"verify\"} 1",
            "livegate_api_latency_seconds_bucket{le=\"1\",op=\"verify\"} 1",
            "livegate_api_latency_seconds_bucket{le=\"2.5\",op=\"verify\"} 1",
            "livegate_api_latency_seconds_bucket{le=\"5\",op=\"verify\"} 1",
            "livegate_api_latency_seconds_bucket{le=\"10\",op=\"verify\"} 2",
            "livegate_api_latency_seconds_bucket{le=\"+Inf\",op=\"verify\"} 2",
            "livegate_api_latency_seconds_sum{op=\"verify\"} 8.45",
            "livegate_api_latency_seconds_count{op=\"verify\"} 2",
        ]
    );
    // Restart was never called: all zero.
    assert!(latency
        .lines()
        .filter(|l| l.contains("op=\"restart\""))
        .all(|l| l.ends_with("} 0")));
    assert!(
        text.contains("\nlivegate_last_session_timestamp_seconds 1700000000\n"),
        "{text}"
    );
    assert_eq!(well_formed(&text), Ok(()));
}

#[test]
fn gate_events_gauges_and_stop() {
    let m = Metrics::new();
    m.exit_opened();
    m.exit_opened();
    m.door_alarm();
    m.lockout();
    m.no_face();
    m.no_face();
    m.frame_held();
    m.set_degraded(DegradedPart::Camera, true);
    m.set_degraded(DegradedPart::Api, true);
    m.set_degraded(DegradedPart::Api, false);
    let text = m.render();
    for line in [
        "livegate_exit_opens_total 2",
        "livegate_door_alarms_total 1",
        "livegate_lockouts_total 1",
        "livegate_no_face_total 2",
        "livegate_frames_held_total 1",
        "livegate_up 1",
        "livegate_degraded{part=\"api\"} 0",
        "livegate_degraded{part=\"camera\"} 1",
        "livegate_degraded{part=\"display\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    m.stopped();
    let text = m.render();
    assert!(text.lines().any(|l| l == "livegate_up 0"), "{text}");
    assert!(!text.lines().any(|l| l == "livegate_up 1"), "{text}");
}

#[test]
fn nothing_from_an_error_message_reaches_the_metrics() {
    let m = Metrics::new();
    let secret = "sk-live-SECRET-KEY-0042";
    let request_id = "8d7f3c1e-4b2a-4e1f-9c55-REQUESTID";
    let errors = [
        ApiError::Unauthorized {
            code: Some(secret.to_owned()),
            message: Some(format!("key {secret} rejected")),
        },
        ApiError::Unprocessable {
            code: Some("E422".to_owned()),
            message: Some(format!("request_id {request_id} expired")),
        },
        ApiError::Garbled(format!(
            "{{\"request_id\":\"{request_id}\",\"image\":\"/9j/4AAQ\"}}"
        )),
    ];
    for e in &errors {
        m.api_call("verify", ms(300), Err(e));
    }
    let text = m.render();
    for needle in [secret, request_id, "E422", "/9j/", "expired"] {
        assert!(!text.contains(needle), "{needle} in:\n{text}");
    }
    for line in [
        "livegate_api_errors_total{class=\"garbled\"} 1",
        "livegate_api_errors_total{class=\"unauthorized\"} 1",
        "livegate_api_errors_total{class=\"unprocessable\"} 1",
        "livegate_api_requests_total{op=\"verify\"} 3",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    // Every label value is a fixed word.
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some(labels) = line.split_once('{').map(|(_, l)| l) {
            assert!(
                labels
                    .chars()
                    .take_while(|c| *c != '}')
                    .all(|c| c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || "_=\",.+I".contains(c)),
                "{line}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// The file.

#[test]
fn write_textfile_leaves_only_the_file_with_mode_0644() {
    let dir = scratch("write");
    let path = dir.join("livegate.prom");
    let text = Metrics::new().render();
    write_textfile(&path, &text).expect("writes");
    assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
    assert_eq!(names_in(&dir), ["livegate.prom"]);
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o644);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn write_textfile_replaces_the_file_by_renaming() {
    let dir = scratch("replace");
    let path = dir.join("gate.prom");
    std::fs::write(&path, "old content\n").expect("write");
    let old_inode = std::fs::metadata(&path).expect("stat").ino();
    write_textfile(&path, "livegate_up 1\n").expect("writes");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "livegate_up 1\n"
    );
    // A new file took the old one's name (a rename), it was not rewritten in place.
    assert_ne!(std::fs::metadata(&path).expect("stat").ino(), old_inode);
    assert_eq!(names_in(&dir), ["gate.prom"]);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn a_stale_temporary_file_is_replaced_and_never_followed() {
    let dir = scratch("stale");
    let path = dir.join("livegate.prom");
    let tmp = dir.join(format!(".livegate.prom.tmp-{}", std::process::id()));
    // A symlink left where the temporary file goes must not be written through.
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "keep me\n").expect("write");
    std::os::unix::fs::symlink(&victim, &tmp).expect("symlink");
    write_textfile(&path, "livegate_up 1\n").expect("writes");
    assert_eq!(std::fs::read_to_string(&victim).expect("read"), "keep me\n");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "livegate_up 1\n"
    );
    assert_eq!(names_in(&dir), ["livegate.prom", "victim.txt"]);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn a_missing_folder_is_an_error() {
    let dir = scratch("missing");
    let path = dir.join("no-such-folder").join("livegate.prom");
    let err = write_textfile(&path, "livegate_up 1\n").expect_err("no folder");
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "cannot create {}: ",
            dir.join("no-such-folder")
                .join(format!(".livegate.prom.tmp-{}", std::process::id()))
                .display()
        )),
        "{shown}"
    );
    assert_eq!(names_in(&dir), Vec::<String>::new());
    let err = write_textfile(Path::new("/"), "x\n").expect_err("no file name");
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn readers_never_see_a_partial_file() {
    let dir = scratch("readers");
    let path = dir.join("livegate.prom");
    let m = Metrics::new();
    write_textfile(&path, &m.render()).expect("first write");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (done, path) = (Arc::clone(&done), path.clone());
        std::thread::spawn(move || {
            let (mut reads, mut bad) = (0u32, 0u32);
            // The first few problems, to show.
            let mut shown: Vec<String> = Vec::new();
            while !done.load(Ordering::Acquire) {
                reads += 1;
                let problem = match std::fs::read_to_string(&path) {
                    Ok(text) => well_formed(&text).err(),
                    Err(e) => Some(format!("read failed: {e}")),
                };
                if let Some(p) = problem {
                    bad += 1;
                    if shown.len() < 5 {
                        shown.push(p);
                    }
                }
            }
            (reads, bad, shown)
        })
    };
    for i in 0..200u64 {
        m.session_started();
        m.api_call("verify", ms(10 * i), Ok(()));
        write_textfile(&path, &m.render()).expect("rewrite");
    }
    done.store(true, Ordering::Release);
    let (reads, bad, shown) = reader.join().expect("reader");
    assert!(reads > 0);
    assert_eq!((bad, shown), (0, Vec::<String>::new()), "of {reads} reads");
    let last = std::fs::read_to_string(&path).expect("read");
    assert!(last.contains("\nlivegate_sessions_total 200\n"), "{last}");
    assert_eq!(names_in(&dir), ["livegate.prom"]);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

// ---------------------------------------------------------------------------
// The writer task, in paused time.

/// The value of `livegate_sessions_total` in the file, if it is there.
fn sessions_in(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("livegate_sessions_total "))
        .and_then(|v| v.parse().ok())
}

/// Lets the writer run: a paused clock moves 1 ms once every task waits.
async fn settle() {
    tokio::time::sleep(ms(1)).await;
}

#[tokio::test(start_paused = true)]
async fn writer_writes_at_once_on_schedule_and_when_poked() {
    let dir = scratch("writer");
    let path = dir.join("livegate.prom");
    let m = Arc::new(Metrics::new());
    let writer = spawn_writer(Arc::clone(&m), path.clone(), Duration::from_secs(15));
    settle().await;
    assert_eq!(sessions_in(&path), Some(0), "written at start");

    m.session_started();
    tokio::time::sleep(ms(14_990)).await;
    assert_eq!(sessions_in(&path), Some(0), "not before the interval");
    tokio::time::sleep(ms(20)).await;
    assert_eq!(sessions_in(&path), Some(1), "at 15 s");

    // After a session the daemon pokes: written at once, not at 30 s.
    m.session_started();
    m.flush_now();
    settle().await;
    assert_eq!(sessions_in(&path), Some(2), "on poke");

    // The schedule goes on.
    m.session_started();
    tokio::time::sleep(ms(14_000)).await;
    assert_eq!(sessions_in(&path), Some(2));
    tokio::time::sleep(ms(1_000)).await;
    assert_eq!(sessions_in(&path), Some(3), "at 30 s");

    writer.abort();
    assert!(writer.await.expect_err("aborted").is_cancelled());
    assert_eq!(names_in(&dir), ["livegate.prom"]);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// The start of a test's virtual time, for [`virtual_wall_clock`].
static VIRTUAL_START: std::sync::OnceLock<tokio::time::Instant> = std::sync::OnceLock::new();

/// A wall clock that follows tokio's paused clock from [`fixed_clock`].
fn virtual_wall_clock() -> SystemTime {
    let start = *VIRTUAL_START.get_or_init(tokio::time::Instant::now);
    fixed_clock() + start.elapsed()
}

/// The value of `series` in the file, if it is there.
fn value_in(path: &Path, series: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

/// The alerting rules shipped for operators.
const ALERTS: &str = include_str!("../docs/alerts.yml");

/// The rule of docs/alerts.yml that catches a dead gate: `time() - METRIC > SECS`.
fn stale_rule() -> (String, u64) {
    let expr = ALERTS
        .lines()
        .find_map(|l| l.trim().strip_prefix("expr: time() - "))
        .expect("a `time() - …` rule in docs/alerts.yml");
    let (metric, secs) = expr.split_once(" > ").expect("METRIC > SECS");
    (metric.to_owned(), secs.parse().expect("whole seconds"))
}

#[test]
fn every_metric_the_alert_rules_name_exists() {
    let text = Metrics::new().render();
    let mut named = 0;
    for word in ALERTS.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("livegate_") {
            named += 1;
            assert!(
                text.contains(&format!("# TYPE {word} ")),
                "docs/alerts.yml names {word}, which livegate does not write"
            );
        }
    }
    assert!(named >= 3, "the rules name livegate's metrics");
}

/// A crash leaves `livegate_up 1` in the file; the shipped stale rule catches it,
/// and stays quiet while the service writes at its default 15 s interval.
#[tokio::test(start_paused = true)]
async fn a_crashed_gate_is_caught_by_the_stale_rule_and_a_running_one_is_not() {
    let (metric, threshold) = stale_rule();
    assert_eq!(metric, "livegate_metrics_written_timestamp_seconds");
    VIRTUAL_START.get_or_init(tokio::time::Instant::now);
    let now = || {
        virtual_wall_clock()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_secs()
    };
    let dir = scratch("crashed");
    let path = dir.join("livegate.prom");
    let m = Arc::new(Metrics::with_clock(virtual_wall_clock));
    let writer = spawn_writer(Arc::clone(&m), path.clone(), Duration::from_secs(15));
    settle().await;
    // Running: the rule, evaluated just before each rewrite, never fires.
    for _ in 0..8 {
        tokio::time::sleep(ms(14_990)).await;
        let written = value_in(&path, &metric).expect("the timestamp");
        assert!(now() - written <= threshold, "fired for a running gate");
        tokio::time::sleep(ms(20)).await;
    }
    let written = value_in(&path, &metric).expect("the timestamp");
    assert_eq!(written, now(), "stamped when written");

    // Killed: nothing writes `livegate_up 0`; the timestamp stops.
    writer.abort();
    let _ = writer.await;
    assert_eq!(
        value_in(&path, "livegate_up"),
        Some(1),
        "a crash leaves up 1"
    );
    tokio::time::sleep(Duration::from_secs(threshold)).await;
    assert!(now() - written <= threshold, "not yet: {threshold} s");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        now() - written > threshold,
        "the rule fires for the dead gate"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// Log output, captured.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

#[tokio::test(start_paused = true)]
async fn writer_logs_each_distinct_error_once_and_keeps_going() {
    let dir = scratch("writer-errors");
    let folder = dir.join("textfile");
    let path = folder.join("livegate.prom");
    let logs = Captured::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .finish();
    // The current-thread runtime runs the writer on this thread.
    let _default = tracing::subscriber::set_default(subscriber);

    let m = Arc::new(Metrics::new());
    let writer = spawn_writer(Arc::clone(&m), path.clone(), Duration::from_secs(5));
    // Four failed writes: at 0 s, 5 s, 10 s and on a poke.
    tokio::time::sleep(ms(10_001)).await;
    m.flush_now();
    settle().await;
    assert_eq!(sessions_in(&path), None);
    let text = logs.text();
    assert_eq!(
        text.matches("cannot write the metrics file").count(),
        1,
        "{text}"
    );
    assert!(text.contains(&format!("path={}", path.display())), "{text}");

    // The folder appears: the next write succeeds, and says so once.
    std::fs::create_dir_all(&folder).expect("create");
    m.session_started();
    tokio::time::sleep(ms(5_000)).await;
    assert_eq!(sessions_in(&path), Some(1));
    tokio::time::sleep(ms(5_000)).await;
    let text = logs.text();
    assert_eq!(
        text.matches("metrics file written again").count(),
        1,
        "{text}"
    );

    // A different error is logged again: the target is now a folder.
    std::fs::remove_file(&path).expect("remove");
    std::fs::create_dir(&path).expect("a folder in the way");
    tokio::time::sleep(ms(10_000)).await;
    let text = logs.text();
    assert_eq!(
        text.matches("cannot write the metrics file").count(),
        2,
        "{text}"
    );
    writer.abort();
    let _ = writer.await;
    std::fs::remove_dir_all(&dir).expect("clean up");
}

//! The edges an adversary pushes on (issue 9): the relay safety net after a broken
//! edit and a SIGKILL mid-pulse, strings from a hostile service, the key recognised
//! by its value, key and CA files checked like `run` reads them, a FIFO or an
//! oversized file as the configuration, and one audit line for every session that
//! started, with the journal's fields as journalctl users expect them.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use livegate::config::{CameraConfig, Performer};
use livegate::daemon::{GateEvent, Observer, AUDIT_MESSAGE_ID};
use livegate::gpio::sim::StateFile;
use livegate::simulate::{Endpoint, Simulation};
use livegate::standin::{Fault, Standin, StandinOptions};
use livegate::trigger::Cast;

mod common;
use common::fast::fast_config;
use common::process::{livegate, Out, TempDir, BIN, MANIFEST_DIR};
const FAST_TEXT: &str = include_str!("fixtures/cli/fast.toml");
/// An API key that must never be printed.
const SECRET: &str = "sk-edge-SECRET-77";
/// Generous bounds that only turn a hang into a failure; nothing is timed by them.
const QUICK: Duration = Duration::from_secs(20);
const SESSION: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------
// Helpers

/// A fresh folder under the system temp folder, removed on drop.
/// This crate's scratch folders.
fn temp_dir() -> TempDir {
    TempDir::new("edges")
}

impl TempDir {
    /// A key file holding `contents` with permission bits `mode`.
    fn key_with(&self, name: &str, contents: impl AsRef<[u8]>, mode: u32) -> String {
        self.write_mode(name, contents, mode)
    }

    /// A key file holding [`SECRET`], closed to other users.
    fn key(&self) -> String {
        self.key_with("aigen-key", format!("{SECRET}\n"), 0o600)
    }

    fn fifo(&self, name: &str) -> String {
        let p = self.path(name);
        let st = Command::new("mkfifo").arg(&p).status().expect("mkfifo");
        assert!(st.success());
        p
    }
}

impl Out {
    fn assert_no_secret(&self) {
        self.assert_not_printed("SECRET");
    }

    fn assert_code_zero(&self) {
        self.assert_code(0);
    }
}

/// The fast simulation settings with an `[api]` table of `api` lines.
fn fast_with_api(api: &str) -> String {
    format!("{FAST_TEXT}\n[api]\n{api}")
}

// ---------------------------------------------------------------------------
// 1. The relay safety net: `safe-outputs` after a broken edit and a SIGKILL
//    mid-pulse.

/// A `livegate run` against the loopback stand-in: simulated camera and person
/// (who passes), simulated relays writing their levels to `state`, the gate pulse
/// 10 s long (so the process is killed while it is on).
struct Service {
    _dir: TempDir,
    config: String,
    state: PathBuf,
    runtime: String,
    _standin: Standin,
    /// Serves the stand-in; dropped last.
    _rt: tokio::runtime::Runtime,
}

impl Service {
    fn new() -> Service {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let standin = rt
            .block_on(Standin::start(StandinOptions {
                key: livegate::secret::ApiKey::new(SECRET),
                ..StandinOptions::default()
            }))
            .expect("stand-in");
        let dir = temp_dir();
        let key = dir.key();
        let ca = dir.write("ca.pem", standin.ca_pem());
        let state = PathBuf::from(dir.path("relays"));
        let runtime = dir.path("run");
        std::fs::create_dir_all(&runtime).expect("runtime dir");
        let config = dir.write(
            "livegate.toml",
            format!(
                "{FAST_TEXT}\n[api]\nbase_url = \"{}\"\nkey_file = \"{key}\"\nca_file = \"{ca}\"\n\
                 retries = 0\n\n[gpio]\nkind = \"sim\"\ngate_pulse = \"10s\"\nstate_file = \"{}\"\n",
                standin.url(),
                state.display()
            ),
        );
        Service {
            _dir: dir,
            config,
            state,
            runtime,
            _standin: standin,
            _rt: rt,
        }
    }

    fn env(&self) -> [(&str, &str); 1] {
        [("RUNTIME_DIRECTORY", self.runtime.as_str())]
    }

    fn start(&self) -> Child {
        Command::new(BIN)
            .args(["run", "--config", &self.config])
            .current_dir(MANIFEST_DIR)
            .env_remove("RUST_LOG")
            .env_remove("JOURNAL_STREAM")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("NOTIFY_SOCKET")
            .env("RUNTIME_DIRECTORY", &self.runtime)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start livegate run")
    }

    fn levels(&self) -> BTreeMap<String, bool> {
        StateFile::read(&self.state).unwrap_or_default()
    }

    /// Waits until the gate relay is on (the first session passed), then kills the
    /// service with SIGKILL: no clean-up runs.
    fn kill_mid_pulse(&self, mut child: Child) {
        let start = Instant::now();
        while self.levels().get("gate") != Some(&true) {
            if let Ok(Some(st)) = child.try_wait() {
                panic!("livegate run exited ({st}) before a gate pulse");
            }
            if start.elapsed() > SESSION {
                let _ = child.kill();
                panic!("no gate pulse within {SESSION:?}: {:?}", self.levels());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        assert_eq!(
            self.levels().get("gate"),
            Some(&true),
            "killed mid-pulse: the relay is left on"
        );
    }

    /// A technician's edit with a typo outside `[gpio]` (the daemon would refuse to
    /// reload it).
    fn break_config(&self) {
        let text = std::fs::read_to_string(&self.config).expect("config");
        let bad = text.replace("action_timeout = \"3s\"", "action_timout = \"3s\"\n[api\n");
        assert_ne!(bad, text);
        std::fs::write(&self.config, bad).expect("broken edit");
    }
}

#[test]
fn safe_outputs_after_a_broken_edit_and_a_kill_mid_pulse_uses_the_recorded_wiring() {
    let svc = Service::new();
    svc.kill_mid_pulse(svc.start());
    let record = PathBuf::from(&svc.runtime).join("wiring.toml");
    let mode = std::fs::metadata(&record)
        .expect("the service recorded its wiring")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the record is its owner's alone");
    svc.break_config();

    let out = livegate(
        &["safe-outputs", "--config", &svc.config],
        &svc.env(),
        QUICK,
    );
    out.assert_no_panic();
    assert_eq!(out.code, Some(0), "{}", out.context());
    assert!(
        out.stdout.contains("the running service's record"),
        "{}",
        out.context()
    );
    let levels = svc.levels();
    assert_eq!(
        levels.get("gate"),
        Some(&false),
        "{levels:?}\n{}",
        out.context()
    );
    assert_eq!(levels.get("fail"), Some(&false), "{levels:?}");
}

#[test]
fn without_a_record_safe_outputs_reads_the_gpio_table_of_a_broken_file() {
    let svc = Service::new();
    svc.kill_mid_pulse(svc.start());
    std::fs::remove_file(PathBuf::from(&svc.runtime).join("wiring.toml")).expect("record");
    svc.break_config();
    let out = livegate(
        &["safe-outputs", "--config", &svc.config],
        &svc.env(),
        QUICK,
    );
    assert_eq!(out.code, Some(0), "{}", out.context());
    assert!(
        out.stdout.contains("wiring from [gpio] of"),
        "{}",
        out.context()
    );
    assert_eq!(svc.levels().get("gate"), Some(&false), "{}", out.context());
}

#[test]
fn with_neither_safe_outputs_says_it_cannot_know_the_wiring_and_guesses_nothing() {
    let dir = temp_dir();
    let runtime = dir.path("run");
    std::fs::create_dir_all(&runtime).expect("runtime dir");
    let state = dir.path("relays");
    // A file whose [gpio] table itself is broken: no pin is guessed.
    let cfg = dir.write(
        "livegate.toml",
        format!("[gpio]\nkind = \"sim\"\nstate_file = \"{state}\"\ngate_pulse = 10\n"),
    );
    let out = livegate(
        &["safe-outputs", "--config", &cfg],
        &[("RUNTIME_DIRECTORY", &runtime)],
        QUICK,
    );
    assert_eq!(out.code, Some(1), "{}", out.context());
    assert!(
        out.stderr.contains("CANNOT KNOW THE RELAY WIRING")
            && out.stderr.contains("NOT driven")
            && out.stderr.contains("gpio.gate_pulse"),
        "{}",
        out.context()
    );
    assert!(!Path::new(&state).exists(), "nothing was driven");
    out.assert_no_panic();
}

/// The record names the Wiegand output's lines (written by `run` when `[reader]
/// output = "wiegand"`): `safe-outputs` reads them from it and drives them to idle
/// after the relays, even when the relays fail. Off a Pi both are refused, and
/// both refusals are told (on a Pi, or over gpio-sim in the VM tier, the lines
/// end at idle: `devices::rest_wiegand_output`, tested on a fake backend).
#[test]
fn safe_outputs_takes_the_wiegand_lines_from_the_record_after_the_relays() {
    let dir = temp_dir();
    let runtime = dir.path("run");
    std::fs::create_dir_all(&runtime).expect("runtime dir");
    let record = Path::new(&runtime).join("wiring.toml");
    std::fs::write(
        &record,
        "kind = \"rppal\"\ngate_pin = 17\ngate_active_low = false\nfail_pin = 27\n\
         fail_active_low = false\n\n[wiegand_out]\nd0 = 20\nd1 = 21\n",
    )
    .expect("record");
    std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let cfg = dir.write("livegate.toml", FAST_TEXT);
    let out = livegate(
        &["safe-outputs", "--config", &cfg],
        &[("RUNTIME_DIRECTORY", &runtime)],
        QUICK,
    );
    out.assert_no_panic();
    assert_eq!(out.code, Some(1), "{}", out.context());
    assert!(
        !out.stderr.contains("ignoring the wiring record"),
        "the record is read: {}",
        out.context()
    );
    assert!(
        out.stderr.contains("GPIO needs a Pi")
            && out
                .stderr
                .contains("the Wiegand output's lines were NOT driven to idle either"),
        "{}",
        out.context()
    );
}

// ---------------------------------------------------------------------------
// 2. Strings from the network, escaped before any log line, event or terminal.

/// The GET answer's request_id: a forged log line, terminal escapes, NUL, a bidi
/// override, and far too long.
fn hostile_id() -> String {
    format!(
        "r1\nlivegate: forged INFO session over verdict=pass\r\u{1b}[2J\u{1b}]0;owned\u{7}\0\u{202e}{}",
        "x".repeat(5000)
    )
}

/// A plain-HTTP service on loopback that answers every GET with a hostile
/// request_id and every POST with a 422 whose code and message are hostile too.
fn hostile_service() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { return };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then the body by Content-Length.
            let (head_end, len) = loop {
                let Ok(n) = s.read(&mut chunk) else {
                    break (0, 0);
                };
                if n == 0 {
                    break (0, 0);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (i + 4, len);
                }
            };
            while head_end > 0 && buf.len() < head_end + len {
                match s.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let (status, body) = if buf.starts_with(b"GET") {
                (
                    "200 OK",
                    serde_json::json!({
                        "request_id": hostile_id(),
                        "status": "processing",
                        "next_choice": "Smile",
                    }),
                )
            } else {
                (
                    "422 Unprocessable Entity",
                    serde_json::json!({
                        "code": "E\u{1b}[31mRED",
                        "message": "bad\nlivegate: forged WARN line\0\u{1b}[0m",
                    }),
                )
            };
            let body = body.to_string();
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/aiface/liveness-detection/v1")
}

fn assert_nothing_raw(what: &str, text: &str) {
    for bad in ['\u{1b}', '\0', '\u{7}', '\u{202e}', '\r'] {
        assert!(
            !text.contains(bad),
            "{what} holds {bad:?} from the service:\n{text}"
        );
    }
    for line in text.lines() {
        let l = line.trim_start();
        assert!(
            !l.starts_with("livegate: forged"),
            "{what}: a line was forged by the service:\n{text}"
        );
        assert!(
            line.chars().count() < 2000,
            "{what}: an unbounded line ({} characters)",
            line.chars().count()
        );
    }
}

#[test]
fn a_hostile_service_cannot_forge_log_lines_or_drive_the_terminal() {
    let dir = temp_dir();
    let key = dir.key();
    let cfg = dir.write(
        "livegate.toml",
        fast_with_api(&format!(
            "key_file = \"{key}\"\nallow_insecure_http = true\nretries = 0\n"
        )),
    );
    let url = hostile_service();
    for events in ["text", "json"] {
        let out = livegate(
            &[
                "simulate",
                "--api-url",
                &url,
                "--config",
                &cfg,
                "--sessions",
                "1",
                "--events",
                events,
            ],
            &[("RUST_LOG", "livegate=trace")],
            SESSION,
        );
        out.assert_code_zero();
        out.assert_no_panic();
        assert_nothing_raw("stdout", &out.stdout);
        assert_nothing_raw("stderr (the log)", &out.stderr);
        // The log did carry the id and the service's message, made visible.
        assert!(
            out.stderr.contains("r1\\nlivegate: forged INFO"),
            "{}",
            out.context()
        );
        assert!(out.all().contains("\\u{1b}[31mRED"), "{}", out.context());
        if events == "json" {
            for line in out.stdout.lines() {
                let v: serde_json::Value = serde_json::from_str(line).expect("one JSON object");
                if v["event"] == "action_shown" {
                    let id = v["request_id"].as_str().expect("request_id");
                    assert!(id.starts_with("r1\\nlivegate"), "{id}");
                    assert!(id.chars().count() <= livegate::untrusted::MAX_CHARS + 1);
                    assert!(!id.chars().any(char::is_control), "{id:?}");
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// 3. The key recognised by its value, in every path that prints a URL or an error.

#[test]
fn an_address_that_holds_the_key_is_refused_and_never_printed() {
    let dir = temp_dir();
    let key = dir.key();
    for url in [
        format!("https://127.0.0.1:9/x?k={SECRET}"),
        format!("https://127.0.0.1:9/{SECRET}/x"),
        format!("https://127.0.0.1:9/x#{SECRET}"),
        "https://127.0.0.1:9/x?q=sk%2Dedge%2DSECRET%2D77".to_owned(),
    ] {
        let cfg = dir.write(
            "livegate.toml",
            fast_with_api(&format!("key_file = \"{key}\"\nbase_url = \"{url}\"\n")),
        );
        let check = livegate(&["check-config", "--config", &cfg], &[], QUICK);
        assert_eq!(check.code, Some(1), "{url}: {}", check.context());
        assert!(
            check.stderr.contains("holds the API key"),
            "{url}: {}",
            check.context()
        );
        check.assert_no_secret();

        let run = livegate(&["run", "--config", &cfg], &[], QUICK);
        assert_eq!(run.code, Some(1), "{url}: {}", run.context());
        assert!(
            run.stderr.contains("holds the API key"),
            "{}",
            run.context()
        );
        run.assert_no_secret();

        let test = livegate(&["test", "api", "--config", &cfg], &[], QUICK);
        assert_eq!(test.code, Some(1), "{url}: {}", test.context());
        test.assert_no_secret();
    }

    // --api-url, whatever the parameter's name and however it is refused.
    let cfg = dir.write(
        "livegate.toml",
        fast_with_api(&format!("key_file = \"{key}\"\n")),
    );
    for url in [
        format!("http://127.0.0.1:9/x?apikey={SECRET}"),
        format!("https://127.0.0.1:9/v1/{SECRET}"),
        format!("ftp://127.0.0.1:9/{SECRET}"),
    ] {
        let out = livegate(
            &[
                "simulate",
                "--api-url",
                &url,
                "--config",
                &cfg,
                "--sessions",
                "1",
            ],
            &[],
            QUICK,
        );
        assert_eq!(out.code, Some(1), "{url}: {}", out.context());
        assert!(out.stderr.contains("***"), "{}", out.context());
        out.assert_no_secret();
        out.assert_no_panic();
    }
}

#[test]
fn a_broken_file_that_quotes_the_key_in_an_address_is_reported_masked() {
    let dir = temp_dir();
    let key = dir.key();
    let cfg = dir.write(
        "livegate.toml",
        fast_with_api(&format!(
            "key_file = \"{key}\"\nbase_url = \"ftp://127.0.0.1:9/{SECRET}\"\n"
        )),
    );
    // (safe-outputs refuses too: the file has problems and no [gpio] table.)
    for cmd in ["check-config", "run", "safe-outputs"] {
        let out = livegate(&[cmd, "--config", &cfg], &[], QUICK);
        assert_eq!(out.code, Some(1), "{}", out.context());
        out.assert_no_secret();
    }
}

// ---------------------------------------------------------------------------
// 4. The key file and the CA file, checked by check-config as run reads them.

#[test]
fn check_config_and_run_refuse_a_key_file_others_can_read_naming_the_chmod() {
    let dir = temp_dir();
    let key = dir.key_with("aigen-key", format!("{SECRET}\n"), 0o644);
    let cfg = dir.write(
        "livegate.toml",
        fast_with_api(&format!(
            "key_file = \"{key}\"\nbase_url = \"https://127.0.0.1:9/x\"\n"
        )),
    );
    for cmd in ["check-config", "run"] {
        let out = livegate(&[cmd, "--config", &cfg], &[], QUICK);
        assert_eq!(out.code, Some(1), "{}", out.context());
        assert!(
            out.stderr.contains(&format!("chmod o-rwx {key}")) && out.stderr.contains("mode 0644"),
            "{}",
            out.context()
        );
        out.assert_no_secret();
    }
    // Group-readable (root:livegate 0640) is fine; so is the credential as systemd
    // hands it over, whatever its bits.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let ok = livegate(&["check-config", "--config", &cfg], &[], QUICK);
    assert_eq!(ok.code, Some(0), "{}", ok.context());
    let creds = dir.path("creds");
    std::fs::create_dir_all(&creds).expect("creds");
    let cred = format!("{creds}/aigen-key");
    std::fs::write(&cred, format!("{SECRET}\n")).expect("credential");
    std::fs::set_permissions(&cred, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let no_key_file = dir.write(
        "credential.toml",
        fast_with_api("base_url = \"https://127.0.0.1:9/x\"\n"),
    );
    let ok = livegate(
        &["check-config", "--config", &no_key_file],
        &[("CREDENTIALS_DIRECTORY", &creds)],
        QUICK,
    );
    assert_eq!(ok.code, Some(0), "{}", ok.context());
    ok.assert_no_secret();
}

#[test]
fn check_config_checks_the_key_and_ca_files_as_run_reads_them() {
    let dir = temp_dir();
    let good_key = dir.key();
    let subdir = dir.path("a-directory");
    std::fs::create_dir_all(&subdir).expect("dir");
    std::fs::set_permissions(&subdir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let cases: Vec<(String, String, &str)> = vec![
        (
            dir.path("missing-key"),
            String::new(),
            "No such file or directory",
        ),
        (
            dir.key_with("empty-key", " \n", 0o600),
            String::new(),
            "is empty",
        ),
        (
            dir.key_with("two-lines", "abc\ndef\n", 0o600),
            String::new(),
            "more than one line",
        ),
        (
            dir.key_with("not-utf8", b"ab\xffcd\n".as_slice(), 0o600),
            String::new(),
            "valid UTF-8",
        ),
        (subdir.clone(), String::new(), "a directory"),
        (dir.fifo("fifo-key"), String::new(), "FIFO"),
        (
            good_key.clone(),
            dir.write("ca.pem", "not a certificate\n"),
            "holds no PEM certificate",
        ),
        (good_key.clone(), subdir.clone(), "a directory"),
        (good_key.clone(), dir.path("missing-ca.pem"), "No such file"),
        (good_key.clone(), dir.fifo("fifo-ca.pem"), "FIFO"),
    ];
    for (key, ca, why) in cases {
        let ca_line = if ca.is_empty() {
            String::new()
        } else {
            format!("ca_file = \"{ca}\"\n")
        };
        let cfg = dir.write(
            "livegate.toml",
            fast_with_api(&format!(
                "key_file = \"{key}\"\n{ca_line}base_url = \"https://127.0.0.1:9/x\"\n"
            )),
        );
        let out = livegate(&["check-config", "--config", &cfg], &[], QUICK);
        assert_eq!(out.code, Some(1), "{key} {ca}: {}", out.context());
        assert!(out.stderr.contains(why), "{why}: {}", out.context());
        assert!(
            out.stderr.contains("1 problem; nothing was changed"),
            "{}",
            out.context()
        );
        out.assert_no_panic();
        // run refuses the same file.
        let run = livegate(&["run", "--config", &cfg], &[], QUICK);
        assert_eq!(run.code, Some(1), "{}", run.context());
        assert!(run.stderr.contains(why), "{why}: {}", run.context());
    }
}

// ---------------------------------------------------------------------------
// 6. A FIFO, a directory or a huge file as the configuration.

#[test]
fn a_fifo_as_the_configuration_is_refused_at_once_by_every_command() {
    let dir = temp_dir();
    let fifo = dir.fifo("livegate.toml");
    let link = dir.path("link.toml");
    std::os::unix::fs::symlink(&fifo, &link).expect("symlink");
    let runtime = dir.path("run");
    for path in [&fifo, &link] {
        for cmd in ["check-config", "run", "safe-outputs"] {
            let out = livegate(
                &[cmd, "--config", path],
                &[("RUNTIME_DIRECTORY", &runtime)],
                QUICK,
            );
            assert_eq!(out.code, Some(1), "{}", out.context());
            assert!(
                out.stderr
                    .contains("it is a FIFO (named pipe), not a regular file"),
                "{}",
                out.context()
            );
            out.assert_no_panic();
        }
    }
}

#[test]
fn a_directory_or_a_file_over_1_mib_as_the_configuration_is_refused() {
    let dir = temp_dir();
    let big = dir.write("big.toml", "#".repeat(2 << 20));
    let out = livegate(&["check-config", "--config", &big], &[], QUICK);
    assert_eq!(out.code, Some(1), "{}", out.context());
    assert!(
        out.stderr.contains("larger than 1 MiB"),
        "{}",
        out.context()
    );
    let out = livegate(&["check-config", "--config", &dir.path("")], &[], QUICK);
    assert_eq!(out.code, Some(1), "{}", out.context());
    assert!(
        out.stderr.contains("it is a directory"),
        "{}",
        out.context()
    );
}

// ---------------------------------------------------------------------------
// 5. One audit line per session that started, with the journal's fields right.

type Record = (String, String, BTreeMap<String, String>);

/// Every event's target, message and fields, as a journald layer would get them.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<Record>>>);

struct Fields(BTreeMap<String, String>);

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, f: &tracing::field::Field, v: &str) {
        self.0.insert(f.name().to_owned(), v.to_owned());
    }
    fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
        self.0.insert(f.name().to_owned(), format!("{v:?}"));
    }
}

impl<S: tracing::Subscriber> Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut f = Fields(BTreeMap::new());
        event.record(&mut f);
        let message = f.0.remove("message").unwrap_or_default();
        self.0
            .lock()
            .unwrap()
            .push((event.metadata().target().to_owned(), message, f.0));
    }
}

impl Captured {
    fn audits(&self) -> Vec<BTreeMap<String, String>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, m, _)| t == "livegate::audit" && m == "session over")
            .map(|(_, _, f)| f.clone())
            .collect()
    }

    /// Every field of every event is non-empty, and none is named like journald's
    /// own trusted fields.
    fn assert_fields_clean(&self) {
        for (target, message, fields) in self.0.lock().unwrap().iter() {
            for (k, v) in fields {
                assert!(!v.is_empty(), "{target} {message:?}: empty field {k}");
                assert!(
                    !matches!(k.to_ascii_uppercase().as_str(), "PID" | "UID" | "GID"),
                    "{target} {message:?}: field {k} reads like journald's _{k}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_session_ended_by_shutdown_leaves_exactly_one_audit_line() {
    let cap = Captured::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(cap.clone()));
    let mut cfg = fast_config();
    // Nobody acts: the session is still going when the service stops.
    if let CameraConfig::Sim(c) = &mut cfg.camera {
        c.reaction = Duration::from_secs(30);
    }
    let sim = Simulation::new(
        cfg,
        Endpoint::Standin(StandinOptions::default()),
        Cast::All(Performer::Pass),
        None,
    )
    .await
    .expect("simulation");
    let (tx, rx) = watch::channel(false);
    let verdicts: Arc<Mutex<Vec<GateEvent>>> = Arc::default();
    let seen = verdicts.clone();
    // Stop once a frame went out: a session with a request_id in flight.
    let observer: Observer = Arc::new(move |e: &GateEvent| {
        if matches!(e, GateEvent::FrameSent { .. }) {
            tx.send_replace(true);
        }
        if matches!(e, GateEvent::Verdict { .. }) {
            seen.lock().unwrap().push(e.clone());
        }
    });
    let (summary, out) = tokio::time::timeout(SESSION, sim.run(None, Some(observer), Some(rx)))
        .await
        .expect("stops")
        .expect("runs");
    assert_eq!(summary.sessions, 1);
    assert_eq!(out.gate.pulses().len(), 0, "the gate stayed shut");
    assert_eq!(out.fail.pulses().len(), 0, "no fail pulse for a shutdown");

    let audits = cap.audits();
    assert_eq!(audits.len(), 1, "{audits:?}");
    let a = &audits[0];
    assert_eq!(a.get("verdict").map(String::as_str), Some("deny"), "{a:?}");
    assert_eq!(
        a.get("reason").map(String::as_str),
        Some("shutdown"),
        "{a:?}"
    );
    assert_eq!(
        a.get("message_id").map(String::as_str),
        Some(AUDIT_MESSAGE_ID),
        "{a:?}"
    );
    assert!(a.get("request_id").is_some_and(|r| !r.is_empty()), "{a:?}");
    let v = verdicts.lock().unwrap().clone();
    assert!(
        matches!(
            v.as_slice(),
            [GateEvent::Verdict {
                verdict: "deny",
                reason: Some("shutdown"),
                ..
            }]
        ),
        "{v:?}"
    );
    cap.assert_fields_clean();
}

/// The audit line of a session the service answered carries the `response_id` of
/// its last answer, which the vendor's support asks for.
#[tokio::test]
async fn the_audit_line_carries_the_last_response_id() {
    let cap = Captured::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(cap.clone()));
    let sim = Simulation::new(
        fast_config(),
        Endpoint::Standin(StandinOptions::default()),
        Cast::All(Performer::Pass),
        None,
    )
    .await
    .expect("simulation");
    let (summary, _) = tokio::time::timeout(SESSION, sim.run(Some(1), None, None))
        .await
        .expect("ends")
        .expect("runs");
    assert_eq!(summary.passes, 1);
    let audits = cap.audits();
    assert_eq!(audits.len(), 1, "{audits:?}");
    let id = audits[0].get("response_id").expect("a response_id");
    // The stand-in's ids are UUIDs, as the vendor's are.
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.matches('-').count(), 4, "{id}");
    cap.assert_fields_clean();
}

#[tokio::test]
async fn a_session_whose_api_calls_fail_leaves_exactly_one_audit_line_without_empty_fields() {
    let cap = Captured::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(cap.clone()));
    for fault in [Fault::Drop, Fault::Garbled, Fault::Status(500)] {
        let before = cap.audits().len();
        let standin = StandinOptions::default();
        let sim = Simulation::new(
            fast_config(),
            Endpoint::Standin(standin),
            Cast::All(Performer::Pass),
            None,
        )
        .await
        .expect("simulation");
        sim.standin()
            .expect("the stand-in")
            .faults()
            .set_always(Some(fault));
        let (summary, _) = tokio::time::timeout(SESSION, sim.run(Some(1), None, None))
            .await
            .expect("ends")
            .expect("runs");
        assert_eq!(summary.sessions, 1);
        let audits = cap.audits();
        assert_eq!(audits.len(), before + 1, "{fault:?}: {audits:?}");
        let a = &audits[before];
        assert_eq!(a.get("verdict").map(String::as_str), Some("deny"));
        // No request_id, actions or answer yet: the fields are left out, not empty.
        assert!(!a.contains_key("request_id"), "{a:?}");
        assert!(!a.contains_key("response_id"), "{a:?}");
        assert!(!a.contains_key("actions"), "{a:?}");
    }
    cap.assert_fields_clean();
}

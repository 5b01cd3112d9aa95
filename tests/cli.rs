//! The `livegate` binary as a technician and a newcomer use it: `--version` and
//! `--help`, `check-config` on good, broken and missing files, `run` refusing a bad
//! key or address, and `simulate` end to end (JSON events and the text panel)
//! against the loopback stand-in or a refused address.

use std::time::Duration;

use serde_json::{json, Value};

mod common;
use common::process::{livegate, Out, TempDir, MANIFEST_DIR};
/// The fast simulation settings, relative to the crate (the tests run there).
const FAST: &str = "tests/fixtures/cli/fast.toml";
const FAST_TEXT: &str = include_str!("fixtures/cli/fast.toml");
/// An API key that must never be printed.
const SECRET: &str = "sk-test-SECRET-123";
/// What the panel is drawn with.
const PANEL_CHARS: [char; 4] = ['│', '▀', '▄', '█'];
/// The longest any one command may take before the test gives up on it.
const SIM_LIMIT: Duration = Duration::from_secs(30);
const QUICK: Duration = Duration::from_secs(10);

impl Out {
    /// Asserts the secret (or a part of it) appears nowhere in what was printed.
    fn assert_no_secret(&self) {
        self.assert_not_printed(SECRET);
        self.assert_not_printed("SECRET");
    }
}

/// This crate's scratch folders.
fn temp_dir() -> TempDir {
    TempDir::new("cli")
}

impl TempDir {
    /// The fast configuration with an `[api]` table of `api` lines added.
    fn fast_with_api(&self, name: &str, api: &str) -> String {
        self.write(name, format!("{FAST_TEXT}\n[api]\n{api}"))
    }

    /// A key file holding [`SECRET`], closed to other users.
    fn key(&self) -> String {
        self.write_mode("aigen-key", format!("{SECRET}\n"), 0o600)
    }
}

/// Every stdout line as a JSON object with an `"event"` text field.
fn events(out: &Out) -> Vec<Value> {
    assert!(out.stdout.ends_with('\n'), "{}", out.context());
    out.stdout
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}\n{}", out.context()));
            assert!(v.is_object(), "not an object: {line}");
            assert!(v["event"].is_string(), "no event field: {line}");
            v
        })
        .collect()
}

fn kind(e: &Value) -> &str {
    e["event"].as_str().unwrap_or("")
}

fn of_kind<'a>(evs: &'a [Value], k: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| kind(e) == k).collect()
}

fn no_panel_chars(what: &str, text: &str) {
    for c in PANEL_CHARS {
        assert!(
            !text.contains(c),
            "{what} holds the panel character {c:?}:\n{text}"
        );
    }
}

// ---------------------------------------------------------------------------
// --version, --help

#[test]
fn version_prints_name_and_crate_version() {
    let out = livegate(&["--version"], &[], QUICK);
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        format!("livegate {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(out.stdout, "livegate 0.1.0\n");
    assert_eq!(out.stderr, "");
}

#[test]
fn help_lists_the_three_commands() {
    let out = livegate(&["--help"], &[], QUICK);
    out.assert_code(0);
    let lines = out.stdout_lines();
    for cmd in ["run", "simulate", "check-config"] {
        let prefix = format!("  {cmd} ");
        assert!(
            lines.iter().any(|l| l.starts_with(&prefix)),
            "no `{cmd}` command listed\n{}",
            out.context()
        );
    }
    assert!(out.stdout.starts_with("A liveness-checked access gate\n"));
    assert!(
        lines.contains(&"Usage: livegate <COMMAND>"),
        "{}",
        out.context()
    );
}

// ---------------------------------------------------------------------------
// check-config

#[test]
fn check_config_accepts_the_shipped_file_in_one_line() {
    let path = format!("{MANIFEST_DIR}/config/livegate.toml");
    let out = livegate(&["check-config", "--config", &path], &[], QUICK);
    out.assert_code(0);
    let lines = out.stdout_lines();
    assert_eq!(lines.len(), 1, "{}", out.context());
    assert!(
        lines[0].starts_with(&format!("{path}: OK: ")),
        "{}",
        out.context()
    );
    assert_eq!(
        lines[0],
        format!(
            "{path}: OK: api https://apis.aigen.online/aiface/liveness-detection/v1 (mode 3), \
             action timeout 10s, camera sim, display sim, gpio sim, trigger sim; no API key \
             found here (the service reads api.key_file when set, else the systemd credential \
             aigen-key loaded from /etc/livegate/aigen-key)"
        )
    );
    assert_eq!(out.stderr, "");
}

/// The packaged layout: the key in `aigen-key` beside the configuration, no
/// `api.key_file`, not under systemd. Every command finds it as the service does,
/// and says where (never the key).
#[test]
fn commands_find_the_key_beside_the_configuration_and_say_where() {
    let dir = temp_dir();
    let key = dir.key();
    let cfg = dir.fast_with_api("livegate.toml", "base_url = \"https://127.0.0.1:9/x\"\n");
    let check = livegate(&["check-config", "--config", &cfg], &[], QUICK);
    check.assert_code(0);
    assert!(
        check.stdout.trim_end().ends_with(&format!(
            "; API key read from {key} (beside the configuration)"
        )),
        "{}",
        check.context()
    );
    let api = livegate(&["test", "--config", &cfg, "api"], &[], QUICK);
    assert!(
        api.stdout.starts_with(&format!(
            "API key: read from {key} (beside the configuration)\n"
        )),
        "{}",
        api.context()
    );
    // Not there: the error says where to put it.
    std::fs::remove_file(&key).expect("remove the key");
    let api = livegate(&["test", "--config", &cfg, "api"], &[], QUICK);
    assert!(
        api.stderr
            .contains("no API key: put it in /etc/livegate/aigen-key"),
        "{}",
        api.context()
    );
    for out in [&check, &api] {
        assert!(!out.stdout.contains(SECRET) && !out.stderr.contains(SECRET));
    }
}

#[test]
fn check_config_takes_c_as_the_short_form_of_config() {
    let path = format!("{MANIFEST_DIR}/config/livegate.toml");
    let long = livegate(&["check-config", "--config", &path], &[], QUICK);
    let short = livegate(&["check-config", "-c", &path], &[], QUICK);
    short.assert_code(0);
    assert_eq!(short.stdout, long.stdout, "{}", short.context());
    assert!(
        short.stdout.starts_with(&format!("{path}: OK: ")),
        "{}",
        short.context()
    );
    // A broken file through -c is read too (not the default path).
    let broken = livegate(
        &["check-config", "-c", "tests/fixtures/cli/mistakes.toml"],
        &[],
        QUICK,
    );
    broken.assert_code(1);
    assert!(
        broken
            .stderr
            .contains("tests/fixtures/cli/mistakes.toml: 4 problems"),
        "{}",
        broken.context()
    );
}

#[test]
fn every_config_option_has_c_and_its_help_says_what_the_file_is_and_its_default() {
    for words in [
        &["check-config"][..],
        &["safe-outputs"],
        &["run"],
        &["test"],
        &["test", "api"],
        &["ctl"],
    ] {
        let mut args = words.to_vec();
        args.push("--help");
        let out = livegate(&args, &[], QUICK);
        out.assert_code(0);
        let line = out
            .stdout_lines()
            .into_iter()
            .find(|l| l.trim_start().starts_with("-c, --config <FILE>"))
            .unwrap_or_else(|| panic!("no `-c, --config <FILE>`\n{}", out.context()))
            .to_owned();
        assert!(line.contains("configuration file (TOML)"), "{line}");
        assert!(
            line.contains("[default: /etc/livegate/livegate.toml]"),
            "{line}"
        );
    }
    // simulate's is optional: the built-in defaults without it.
    let out = livegate(&["simulate", "--help"], &[], QUICK);
    assert!(
        out.stdout.contains("-c, --config <FILE>") && out.stdout.contains("built-in defaults"),
        "{}",
        out.context()
    );
    // The packaging command is not offered.
    let out = livegate(&["--help"], &[], QUICK);
    assert!(!out.stdout.contains("generate"), "{}", out.context());
}

#[test]
fn check_config_lists_every_technician_mistake_in_file_order() {
    let path = "tests/fixtures/cli/mistakes.toml";
    let out = livegate(&["check-config", "--config", path], &[], QUICK);
    out.assert_code(1);
    assert_eq!(out.stdout, "");
    let expected = [
        format!("{path}:5:8: api.mode: 12 is out of range; valid: a whole number from 1 to 10"),
        format!(
            "{path}:6:1: api.retires: unknown key; did you mean \"retries\"? valid keys in [api]: \
             base_url, key_file, mode, part, select, request_timeout, connect_timeout, retries, \
             ca_file, allow_insecure_http"
        ),
        format!(
            "{path}:9:18: session.action_timeout: 10 is a bare number; write a duration such as \
             \"10s\" or \"500ms\"; valid: a duration from 3s to 60s"
        ),
        format!(
            "{path}:14:13: camera.performer: \"passs\" is not valid; valid: \"pass\", \"fail\", \
             \"spoof\", \"slow\" or \"absent\" (did you mean \"pass\"?)"
        ),
        format!("{path}: 4 problems; nothing was changed"),
    ];
    let got: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(got, expected, "{}", out.context());
    assert!(out.stderr.ends_with('\n'));
}

#[test]
fn check_config_on_a_missing_file_says_it_cannot_be_read() {
    let dir = temp_dir();
    let path = dir.path("no-such-livegate.toml");
    let out = livegate(&["check-config", "--config", &path], &[], QUICK);
    out.assert_code(1);
    assert_eq!(out.stdout, "");
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.context());
    assert!(
        lines[0].starts_with(&format!("{path}: cannot read: ")),
        "{}",
        out.context()
    );
    assert!(
        lines[0].contains("No such file or directory"),
        "{}",
        out.context()
    );
    out.assert_no_panic();
}

// ---------------------------------------------------------------------------
// run

#[test]
fn run_with_a_missing_key_file_stops_at_once_naming_it() {
    let dir = temp_dir();
    let key = dir.path("missing-aigen-key");
    let cfg = dir.fast_with_api(
        "livegate.toml",
        &format!("key_file = \"{key}\"\nbase_url = \"https://127.0.0.1:9/x\"\n"),
    );
    let out = livegate(&["run", "--config", &cfg], &[], QUICK);
    assert!(out.code.is_some_and(|c| c != 0), "{}", out.context());
    // At once, instead of running until killed at QUICK (10 s); generous for a
    // loaded machine.
    assert!(out.took < Duration::from_secs(5), "{}", out.context());
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .starts_with(&format!("livegate: cannot read the API key from {key}: ")),
        "{}",
        out.context()
    );
    assert!(
        out.stderr.contains("No such file or directory"),
        "{}",
        out.context()
    );
    out.assert_no_panic();
}

#[test]
fn run_refuses_the_simulated_trigger_against_the_real_service() {
    let dir = temp_dir();
    let key = dir.key();
    let cfg = dir.fast_with_api("livegate.toml", &format!("key_file = \"{key}\"\n"));
    let out = livegate(&["run", "--config", &cfg], &[], QUICK);
    out.assert_code(1);
    assert!(
        out.stderr.starts_with(
            "livegate: [trigger] kind = \"sim\" would start a billed session against \
             https://apis.aigen.online/aiface/liveness-detection/v1 every few seconds"
        ),
        "{}",
        out.context()
    );
    out.assert_no_panic();
}

#[test]
fn run_with_a_missing_key_file_names_the_cause_once() {
    let dir = temp_dir();
    let key = dir.path("missing-aigen-key");
    let cfg = dir.fast_with_api(
        "livegate.toml",
        &format!("key_file = \"{key}\"\nbase_url = \"https://127.0.0.1:9/x\"\n"),
    );
    let out = livegate(&["run", "--config", &cfg], &[], QUICK);
    out.assert_code(1);
    assert_eq!(
        out.stderr,
        format!(
            "livegate: cannot read the API key from {key}: No such file or directory (os error 2)\n"
        )
    );
}

#[test]
fn plain_http_without_allow_insecure_http_is_a_config_error_that_hides_the_key() {
    let dir = temp_dir();
    let key = dir.key();
    let cfg = dir.fast_with_api(
        "livegate.toml",
        &format!("key_file = \"{key}\"\nbase_url = \"http://127.0.0.1:9/x\"\n"),
    );
    // The line of base_url: the fixture, the blank line, [api], key_file, base_url.
    let line = FAST_TEXT.lines().count() + 4;
    let problem = format!(
        "{cfg}:{line}:12: api.base_url: \"http://127.0.0.1:9/x\" is plain http (not encrypted); \
         valid: an https:// address (http:// only with api.allow_insecure_http = true, for tests)"
    );

    let run = livegate(&["run", "--config", &cfg], &[], QUICK);
    run.assert_code(1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains("allow_insecure_http"),
        "{}",
        run.context()
    );
    assert_eq!(run.stderr, format!("livegate: {problem}\n"));
    run.assert_no_secret();
    run.assert_no_panic();

    let check = livegate(&["check-config", "--config", &cfg], &[], QUICK);
    check.assert_code(1);
    assert_eq!(check.stdout, "");
    assert_eq!(
        check.stderr,
        format!("{problem}\n{cfg}: 1 problem; nothing was changed\n")
    );
    check.assert_no_secret();
}

// ---------------------------------------------------------------------------
// simulate --events json

/// Checks one passing session: `seg` runs from its `session_started` to just before
/// the next one. The API chooses each action, the panel shows it, frames go out until
/// it is seen, and the session ends with a pass verdict and a gate pulse.
fn check_passing_session(seg: &[Value], n: u64) {
    let all = || {
        seg.iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(seg.len() >= 10, "session {n} too short:\n{}", all());
    assert_eq!(
        seg[0],
        json!({"event": "session_started", "session": n, "source": "sim", "note": "performer=pass"})
    );
    for e in seg {
        if let Some(s) = e.get("session") {
            assert_eq!(s.as_u64(), Some(n), "event of another session: {e}");
        }
        if kind(e) == "api_answer" {
            assert!(e.get("error").is_none(), "API error: {e}");
            assert!(e.get("error_class").is_none(), "API error: {e}");
            assert!(e["latency_ms"].is_u64(), "{e}");
        }
    }
    // The session ends with its verdict and its relay pulse (their order is pinned
    // by `verdict_comes_before_its_relay_pulse`).
    let (body, end) = seg.split_at(seg.len() - 2);
    let verdict = end
        .iter()
        .find(|e| kind(e) == "verdict")
        .unwrap_or_else(|| panic!("session {n} does not end with its verdict:\n{}", all()));
    let pulse = end
        .iter()
        .find(|e| kind(e) == "relay_pulse")
        .unwrap_or_else(|| panic!("session {n} does not end with a relay pulse:\n{}", all()));
    assert_eq!(verdict["verdict"], "pass", "{verdict}");
    assert_eq!(verdict["restarts"], 0, "{verdict}");
    assert!(verdict.get("reason").is_none(), "{verdict}");
    assert!(verdict.get("words").is_none(), "{verdict}");
    assert!(
        verdict["duration_ms"].as_u64().is_some_and(|d| d > 0),
        "{verdict}"
    );
    assert_eq!(
        *pulse,
        json!({"event": "relay_pulse", "relay": "gate", "ms": 1000})
    );

    // First the API chooses the first action.
    let seq = &body[1];
    assert_eq!(kind(seq), "api_answer", "{seq}");
    assert_eq!(seq["op"], "sequence");
    assert_eq!(seq["status"], "processing");
    let mut next = seq["next_choice"].as_str().expect("next_choice").to_owned();
    let mut request_id: Option<String> = None;
    let mut i = 2;
    for step in 1..=3u64 {
        let shown = &body[i];
        assert_eq!(kind(shown), "action_shown", "step {step}:\n{}", all());
        assert_eq!(shown["step"], step, "{shown}");
        assert_eq!(shown["total"], 3, "{shown}");
        assert_eq!(
            shown["action"],
            next.as_str(),
            "the panel shows what the API chose"
        );
        assert!(
            shown["words"].as_str().is_some_and(|w| !w.is_empty()),
            "{shown}"
        );
        let id = shown["request_id"].as_str().expect("request_id").to_owned();
        assert!(!id.is_empty());
        assert_eq!(
            *request_id.get_or_insert(id.clone()),
            id,
            "one request id per session"
        );
        i += 1;
        // Frames go out, each answered, until the action is seen.
        loop {
            let (frame, answer) = (&body[i], &body[i + 1]);
            assert_eq!(kind(frame), "frame_sent", "step {step}:\n{}", all());
            assert_eq!(frame["request_id"], id.as_str(), "{frame}");
            assert!(frame["bytes"].as_u64().is_some_and(|b| b > 1000), "{frame}");
            assert!(frame["latency_ms"].is_u64(), "{frame}");
            assert!(frame["frame_age_ms"].is_u64(), "{frame}");
            assert_eq!(kind(answer), "api_answer", "{answer}");
            assert_eq!(answer["op"], "verify", "{answer}");
            i += 2;
            if answer["result"] == "Yes" {
                if step < 3 {
                    assert_eq!(answer["status"], "processing", "{answer}");
                    next = answer["next_choice"].as_str().expect("next").to_owned();
                } else {
                    assert_eq!(answer["status"], "completed", "{answer}");
                    assert!(answer.get("next_choice").is_none(), "{answer}");
                }
                break;
            }
            assert_eq!(answer["result"], "No", "{answer}");
            assert_eq!(answer["status"], "processing", "{answer}");
            assert_eq!(answer["next_choice"], next.as_str(), "{answer}");
        }
    }
    assert_eq!(i, body.len(), "events after the last answer:\n{}", all());
}

#[test]
fn simulate_json_two_passing_sessions() {
    let out = livegate(
        &[
            "simulate",
            "--config",
            FAST,
            "--sessions",
            "2",
            "--performer",
            "pass",
            "--events",
            "json",
        ],
        &[],
        SIM_LIMIT,
    );
    out.assert_code(0);
    out.assert_no_panic();
    no_panel_chars("stdout", &out.stdout);
    assert!(!out.stdout.contains('┌'), "{}", out.context());
    no_panel_chars("stderr", &out.stderr);
    let evs = events(&out);

    let starts: Vec<usize> = evs
        .iter()
        .enumerate()
        .filter(|(_, e)| kind(e) == "session_started")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(starts.len(), 2, "{}", out.context());
    assert_eq!(starts[0], 0, "the first event starts session 1");
    check_passing_session(&evs[starts[0]..starts[1]], 1);
    check_passing_session(&evs[starts[1]..], 2);

    let verdicts = of_kind(&evs, "verdict");
    assert_eq!(verdicts.len(), 2);
    assert!(verdicts.iter().all(|v| v["verdict"] == "pass"));
    let pulses = of_kind(&evs, "relay_pulse");
    assert_eq!(pulses.len(), 2);
    assert!(pulses.iter().all(|p| p["relay"] == "gate"));
    assert!(!pulses.iter().any(|p| p["relay"] == "fail"));
    assert!(of_kind(&evs, "refused").is_empty());
    assert!(of_kind(&evs, "locked_out").is_empty());
}

/// `simulate --sessions 1 --performer PERFORMER --events json` with the fast
/// configuration, ended cleanly.
fn simulate_json_one(performer: &str) -> Out {
    simulate_json(FAST, "1", performer)
}

/// `simulate --config CONFIG --sessions N --performer PERFORMER --events json`,
/// ended cleanly.
fn simulate_json(config: &str, sessions: &str, performer: &str) -> Out {
    let out = livegate(
        &[
            "simulate",
            "--config",
            config,
            "--sessions",
            sessions,
            "--performer",
            performer,
            "--events",
            "json",
        ],
        &[],
        SIM_LIMIT,
    );
    out.assert_code(0);
    out.assert_no_panic();
    out
}

#[test]
fn simulate_json_failing_performer_is_denied_and_pulses_fail() {
    let out = simulate_json_one("fail");
    no_panel_chars("stdout", &out.stdout);
    let evs = events(&out);
    assert_eq!(
        evs[0],
        json!({"event": "session_started", "session": 1, "source": "sim", "note": "performer=fail"})
    );
    assert_eq!(of_kind(&evs, "session_started").len(), 1);
    assert!(
        !of_kind(&evs, "frame_sent").is_empty(),
        "frames were sent before the denial"
    );
    let verdicts = of_kind(&evs, "verdict");
    assert_eq!(verdicts.len(), 1, "{}", out.context());
    let v = verdicts[0];
    assert_eq!(v["session"], 1);
    assert_eq!(v["verdict"], "deny");
    assert_eq!(v["reason"], "not_verified");
    assert_eq!(v["words"], "Not verified");
    let pulses = of_kind(&evs, "relay_pulse");
    assert_eq!(
        pulses,
        vec![&json!({"event": "relay_pulse", "relay": "fail", "ms": 500})]
    );
    assert!(!pulses.iter().any(|p| p["relay"] == "gate"));
}

/// Runs 5 attempts against a refused address (each session over in milliseconds)
/// and checks each verdict is printed before the relay pulse it causes; the mix's
/// absent performer starts no session (nobody in view: no verdict, no pulse).
#[test]
fn verdict_comes_before_its_relay_pulse() {
    let dir = temp_dir();
    let key = dir.key();
    let cfg = dir.fast_with_api(
        "livegate.toml",
        &format!("key_file = \"{key}\"\nretries = 0\n"),
    );
    let out = livegate(
        &[
            "simulate",
            "--config",
            &cfg,
            "--api-url",
            "https://127.0.0.1:1/x",
            "--sessions",
            "5",
            "--events",
            "json",
        ],
        &[("RUST_LOG", "livegate=info")],
        Duration::from_secs(60),
    );
    out.assert_code(0);
    let order: Vec<&str> = events(&out)
        .iter()
        .map(kind)
        .filter(|k| *k == "verdict" || *k == "relay_pulse")
        .map(|k| if k == "verdict" { "V" } else { "P" })
        .collect();
    assert_eq!(order.join(""), "VP".repeat(4), "{}", out.context());
    assert_eq!(
        of_kind(&events(&out), "no_face").len(),
        1,
        "{}",
        out.context()
    );
}

/// Nobody in front of the camera: the simulated visitor presses the button, the
/// face detector (the scene's twin) sees no one, and no session starts: no API
/// call, the panel's guidance instead (the stand-in's own record of it:
/// tests/gate.rs, `nobody_in_view_starts_no_session_and_makes_no_api_call`).
#[test]
fn simulate_with_nobody_there_calls_no_api() {
    let out = simulate_json_one("absent");
    let evs = events(&out);
    assert_eq!(of_kind(&evs, "no_face").len(), 1, "{}", out.context());
    for kind in ["session_started", "api_answer", "frame_sent", "verdict"] {
        assert!(of_kind(&evs, kind).is_empty(), "{kind}: {}", out.context());
    }
}

/// `[trigger] kind = "camera"` in a simulation: the simulated visitors only walk up
/// to the camera, and each one's arrival starts one session.
#[test]
fn simulate_with_the_camera_as_trigger_starts_one_session_per_visitor() {
    let dir = temp_dir();
    let sim_trigger = "[trigger]\nkind = \"sim\"\narrival = \"0s\"";
    assert!(FAST_TEXT.contains(sim_trigger));
    let cfg = dir.write(
        "camera.toml",
        FAST_TEXT.replace(sim_trigger, "[trigger]\nkind = \"camera\""),
    );
    let out = simulate_json(&cfg, "2", "pass");
    let evs = events(&out);
    let started = of_kind(&evs, "session_started");
    assert_eq!(started.len(), 2, "{}", out.context());
    assert!(
        started.iter().all(|s| s["source"] == "camera"),
        "{}",
        out.context()
    );
    let verdicts = of_kind(&evs, "verdict");
    assert!(
        verdicts.len() == 2 && verdicts.iter().all(|v| v["verdict"] == "pass"),
        "{}",
        out.context()
    );
}

// ---------------------------------------------------------------------------
// simulate, text

#[test]
fn simulate_text_draws_the_panel_and_tells_the_story() {
    let out = livegate(
        &[
            "simulate",
            "--config",
            FAST,
            "--sessions",
            "1",
            "--performer",
            "pass",
        ],
        // The panel is drawn in Unicode only for a UTF-8 locale (tests/terminal.rs).
        &[("LC_ALL", "C.UTF-8")],
        SIM_LIMIT,
    );
    out.assert_code(0);
    out.assert_no_panic();
    let lines = out.stdout_lines();
    assert!(
        lines.iter().filter(|l| l.starts_with('│')).count() >= 10,
        "{}",
        out.context()
    );
    let tops = lines
        .iter()
        .filter(|l| l.starts_with('┌') && l.ends_with('┐'))
        .count();
    let bottoms = lines
        .iter()
        .filter(|l| l.starts_with('└') && l.ends_with('┘'))
        .count();
    assert!(tops >= 1, "no panel frame top\n{}", out.context());
    assert_eq!(tops, bottoms, "every panel drawn is closed");
    // Not a terminal: each screen printed once, never redrawn in place.
    assert!(!out.stdout.contains('\x1b'), "escape sequences on a pipe");
    assert!(
        lines.contains(&"session 1 started (performer=pass)"),
        "{}",
        out.context()
    );
    for step in 1..=3 {
        let prefix = format!("  step {step}/3: ");
        assert!(
            lines.iter().any(|l| l.starts_with(&prefix)),
            "no {prefix:?} line\n{}",
            out.context()
        );
    }
    let pass = lines
        .iter()
        .find(|l| l.starts_with("session 1: PASS after "))
        .unwrap_or_else(|| panic!("no PASS line\n{}", out.context()));
    assert!(pass.ends_with(" s"), "{pass}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("gate relay pulsed for 1000 ms")),
        "{}",
        out.context()
    );
    assert!(!out.stdout.contains("fail relay"), "{}", out.context());
    assert_eq!(
        lines.last().copied(),
        Some("1 session run: 1 passed, 0 denied"),
        "{}",
        out.context()
    );
    // The log (warn level) has nothing to say about a passing session; no panel there.
    no_panel_chars("stderr", &out.stderr);
}

#[test]
fn simulate_zero_sessions_is_refused() {
    let out = livegate(&["simulate", "--sessions", "0"], &[], QUICK);
    out.assert_code(1);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "livegate: --sessions must be at least 1\n");
}

// ---------------------------------------------------------------------------
// simulate --api-url

#[test]
fn simulate_against_a_refused_address_denies_without_leaking_the_key() {
    let dir = temp_dir();
    let key = dir.key();
    let cfg = dir.fast_with_api("livegate.toml", &format!("key_file = \"{key}\"\n"));
    // Every log line the program can write, to be sure none holds the key.
    let out = livegate(
        &[
            "simulate",
            "--api-url",
            "https://127.0.0.1:1/x",
            "--config",
            &cfg,
            "--sessions",
            "1",
            "--events",
            "json",
        ],
        &[("RUST_LOG", "trace")],
        SIM_LIMIT,
    );
    out.assert_code(0);
    out.assert_no_panic();
    out.assert_no_secret();
    let evs = events(&out);
    assert_eq!(
        evs[0],
        json!({"event": "session_started", "session": 1, "source": "sim", "note": "performer=pass"})
    );
    let answers = of_kind(&evs, "api_answer");
    assert_eq!(answers.len(), 1, "{}", out.context());
    assert_eq!(answers[0]["op"], "sequence");
    assert_eq!(answers[0]["error_class"], "network");
    assert!(answers[0]["error"].is_string());
    assert!(of_kind(&evs, "action_shown").is_empty());
    assert!(of_kind(&evs, "frame_sent").is_empty());
    let verdicts = of_kind(&evs, "verdict");
    assert_eq!(verdicts.len(), 1, "{}", out.context());
    assert_eq!(verdicts[0]["verdict"], "deny");
    assert_eq!(verdicts[0]["reason"], "service_unavailable");
    assert_eq!(verdicts[0]["words"], "Service unavailable");
    assert_eq!(
        of_kind(&evs, "relay_pulse"),
        vec![&json!({"event": "relay_pulse", "relay": "fail", "ms": 500})]
    );
    // The log did run at trace level (so the check above covered it).
    assert!(out.stderr.contains("API call failed"), "{}", out.context());
}

#[test]
fn safe_outputs_drives_the_relays_inactive_and_exits() {
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/config/livegate.toml");
    let out = livegate(&["safe-outputs", "--config", cfg], &[], QUICK);
    out.assert_code(0);
    assert_eq!(
        out.stdout,
        format!(
            "gate and fail outputs are at their inactive level (simulated relays; wiring \
             from [gpio] of {cfg})\n"
        )
    );
    // Off a Pi, the Pi's GPIO is refused in plain words, not a panic.
    let pi = concat!(env!("CARGO_MANIFEST_DIR"), "/config/livegate-pi.toml");
    let out = livegate(&["safe-outputs", "--config", pi], &[], QUICK);
    out.assert_code(1);
    assert!(out.stderr.contains("GPIO needs a Pi"), "{}", out.context());
    out.assert_no_panic();
}

#[test]
fn simulate_in_line_passes_the_card_on_only_after_a_pass() {
    let run = |performer: &str| {
        let out = livegate(
            &[
                "simulate",
                "--config",
                FAST,
                "--sessions",
                "1",
                "--performer",
                performer,
                "--card",
                "12345",
                "--events",
                "json",
            ],
            &[],
            SIM_LIMIT,
        );
        out.assert_code(0);
        out.assert_no_panic();
        out
    };
    let passed = run("pass");
    let evs = events(&passed);
    let started = of_kind(&evs, "session_started");
    assert_eq!(started[0]["card"], "…2345", "{}", passed.context());
    let out = of_kind(&evs, "card_out");
    assert_eq!(out.len(), 1, "{}", passed.context());
    assert_eq!(out[0]["card"], "0:12345");
    assert_eq!(out[0]["bits"], 26);
    let spoofed = run("spoof");
    assert!(
        of_kind(&events(&spoofed), "card_out").is_empty(),
        "{}",
        spoofed.context()
    );
}

#[test]
fn test_presence_without_pictures_needs_a_real_camera() {
    let out = livegate(&["test", "presence", "--config", FAST], &[], QUICK);
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("[camera] kind is \"sim\": set kind = \"v4l2\" to watch a camera"),
        "{}",
        out.context()
    );
}

#[test]
fn test_wiegand_without_lines_says_which_keys() {
    let out = livegate(
        &["test", "wiegand", "out", "--card", "1:2", "--config", FAST],
        &[],
        QUICK,
    );
    out.assert_code(1);
    assert!(
        out.stderr
            .contains("set kind = \"rppal\" with wiegand_out_d0_pin and wiegand_out_d1_pin"),
        "{}",
        out.context()
    );
}

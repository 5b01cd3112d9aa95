//! The configuration file as a technician meets it: the shipped example, the defaults,
//! and one test per likely mistake, with the exact message it produces.

use std::path::{Path, PathBuf};
use std::time::Duration;

use livegate::actions::Part;
use livegate::config::{
    CameraConfig, CdevGpioConfig, Config, ConfigError, DisplayConfig, Edge, FormatPreference,
    GpioConfig, KeyError, LeftIs, MetricsConfig, OledOptions, PanelSize, Performer, Problem, Pull,
    Rotation, RppalGpioConfig, SimCameraOptions, SimDisplayOptions, SimGpioOptions,
    SimTriggerOptions, SocketTriggerConfig, TriggerConfig, V4l2CameraConfig,
};
use livegate::gpio::input::{DoorOptions, InputOptions};
use livegate::gpio::line::{Bcm, ChipLine, LineSpec};
use livegate::gpio::output::OutputOptions;
use livegate::gpio::GpioLines;

/// A relay output of `[gpio]`.
fn relay<A>(line: A, active_low: bool, pulse: Duration) -> OutputOptions<A> {
    OutputOptions {
        line,
        active_low,
        pulse,
    }
}

const SHIPPED: &str = include_str!("../config/livegate.toml");
const SHIPPED_PI: &str = include_str!("../config/livegate-pi.toml");

/// The problems of an invalid file, as displayed.
fn problems(text: &str) -> Vec<String> {
    match Config::parse(text, "livegate.toml") {
        Ok(cfg) => panic!("expected problems, got {cfg:?}"),
        Err(ConfigError::Invalid(ps)) => ps.iter().map(Problem::to_string).collect(),
        Err(e) => panic!("expected Invalid, got {e}"),
    }
}

/// The one problem of an invalid file, as displayed.
fn problem(text: &str) -> String {
    let ps = problems(text);
    assert_eq!(ps.len(), 1, "{ps:#?}");
    ps[0].clone()
}

fn parse_ok(text: &str) -> Config {
    match Config::parse(text, "livegate.toml") {
        Ok(cfg) => cfg,
        Err(e) => panic!("expected a valid file, got:\n{e}"),
    }
}

// ---------------------------------------------------------------------------
// Valid files.

#[test]
fn shipped_example_parses_to_the_defaults() {
    assert_eq!(parse_ok(SHIPPED), Config::default());
}

#[test]
fn shipped_example_loads_from_disk_with_its_source() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/livegate.toml");
    let cfg = Config::load(&path).expect("loads");
    assert_eq!(cfg.source.as_deref(), Some(path.as_path()));
    assert_eq!(
        Config {
            source: None,
            ..cfg
        },
        Config::default()
    );
}

/// The text of one table of an example file, up to the next table.
fn section<'a>(text: &'a str, table: &str) -> &'a str {
    let start = text.find(&format!("\n[{table}]\n")).expect("has the table") + 1;
    let rest = &text[start + table.len() + 2..];
    &text[start..start + table.len() + 2 + rest.find("\n[").unwrap_or(rest.len())]
}

#[test]
fn shipped_example_mentions_check_config_and_documents_the_hardware_kinds() {
    assert!(SHIPPED.contains("Check your edits with: livegate check-config"));
    let camera = section(SHIPPED, "camera");
    assert!(
        camera.contains("Valid: \"sim\", \"v4l2\" or \"replay\"."),
        "{camera}"
    );
    assert!(camera.contains("\n#path = \"frames\"\n"), "{camera}");
    assert!(camera.contains("\n#device = \"/dev/video0\"\n"), "{camera}");
    // Whose left an action means, and that a mirrored camera keeps "person".
    assert!(
        camera.contains("\"person\" means the person's own"),
        "{camera}"
    );
    assert!(
        camera.contains("keep \"person\", also with mirror = true"),
        "{camera}"
    );
    assert!(camera.contains("\n#left_is = \"person\"\n"), "{camera}");
    let display = section(SHIPPED, "display");
    assert!(display.contains("\n#address = 0x3C\n"), "{display}");
    let gpio = section(SHIPPED, "gpio");
    assert!(gpio.contains("header pin 11 is BCM 17"), "{gpio}");
    assert!(
        gpio.contains("\n#door_held_open_after = \"30s\"\n"),
        "{gpio}"
    );
    let trigger = section(SHIPPED, "trigger");
    assert!(
        trigger.contains("Valid: \"sim\", \"gpio\", \"socket\", \"wiegand\" or \"camera\"."),
        "{trigger}"
    );
    assert!(trigger.contains("\n#mode = 0o660\n"), "{trigger}");
}

#[test]
fn empty_file_gives_the_defaults() {
    assert_eq!(parse_ok(""), Config::default());
    assert_eq!(
        parse_ok("# nothing here\n\n[api]\n[session]\n"),
        Config::default()
    );
}

#[test]
fn every_key_is_read() {
    let text = r#"
[api]
base_url = "https://liveness.example.net/v2"
key_file = "/run/keys/aigen"
mode = 2
part = "hand"
select = ["like_left_hand", "VICTORY_RIGHT_HAND"]
request_timeout = "12s"
connect_timeout = "2500ms"
retries = 0
ca_file = "/etc/livegate/extra-ca.pem"
allow_insecure_http = true

[session]
action_timeout = "15s"
frame_interval = "500ms"
max_restarts = 2
session_timeout = "2min"
cooldown = "0s"
verdict_screen = "5s"
max_failures = 3
failure_window = "1h"
lockout = "0s"

[camera]
kind = "sim"
performer = "slow"
reaction = "0s"
fps = 30
width = 320
height = 240
jpeg_quality = 95

[display]
terminal = false
png_dir = "screens"

[gpio]
gate_pulse = "2s"
fail_pulse = "100ms"

[trigger]
arrival = "60s"

[log]
level = "debug"
"#;
    let cfg = parse_ok(text);
    let mut want = Config::default();
    want.api.base_url = "https://liveness.example.net/v2".to_owned();
    want.api.key_file = Some(PathBuf::from("/run/keys/aigen"));
    want.api.mode = 2;
    want.api.part = Some(Part::Hand);
    want.api.select = vec!["Like_left_hand".to_owned(), "Victory_right_hand".to_owned()];
    want.api.request_timeout = Duration::from_secs(12);
    want.api.connect_timeout = Duration::from_millis(2500);
    want.api.retries = 0;
    want.api.ca_file = Some(PathBuf::from("/etc/livegate/extra-ca.pem"));
    want.api.allow_insecure_http = true;
    want.session.action_timeout = Duration::from_secs(15);
    want.session.frame_interval = Duration::from_millis(500);
    want.session.max_restarts = 2;
    want.session.session_timeout = Duration::from_secs(120);
    want.session.cooldown = Duration::ZERO;
    want.session.verdict_screen = Duration::from_secs(5);
    want.session.max_failures = 3;
    want.session.failure_window = Duration::from_secs(3600);
    want.session.lockout = Duration::ZERO;
    want.camera = CameraConfig::Sim(SimCameraOptions {
        performer: Performer::Slow,
        reaction: Duration::ZERO,
        fps: 30,
        width: 320,
        height: 240,
        jpeg_quality: 95,
    });
    want.display = DisplayConfig::Sim(SimDisplayOptions {
        terminal: false,
        png_dir: Some(PathBuf::from("screens")),
    });
    want.gpio = GpioConfig::Sim(SimGpioOptions {
        gate_pulse: Duration::from_secs(2),
        fail_pulse: Duration::from_millis(100),
        state_file: None,
    });
    want.trigger = TriggerConfig::Sim(SimTriggerOptions {
        arrival: Duration::from_secs(60),
    });
    want.log.level = "debug".to_owned();
    assert_eq!(cfg, want);
}

#[test]
fn bounds_are_inclusive() {
    let cfg = parse_ok(
        "[api]\nmode = 10\nrequest_timeout = \"60s\"\nconnect_timeout = \"30s\"\n\
         [session]\naction_timeout = \"3s\"\nframe_interval = \"200ms\"\n\
         session_timeout = \"10min\"\nfailure_window = \"24h\"\n",
    );
    assert_eq!(cfg.api.mode, 10);
    assert_eq!(cfg.session.frame_interval, Duration::from_millis(200));
    assert_eq!(cfg.session.session_timeout, Duration::from_secs(600));
    assert_eq!(cfg.session.failure_window, Duration::from_secs(86_400));
}

// ---------------------------------------------------------------------------
// Reading the file.

#[test]
fn missing_file_is_a_read_error() {
    let path = Path::new("/nonexistent/livegate/livegate.toml");
    match Config::load(path) {
        Err(e @ ConfigError::Read { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with("/nonexistent/livegate/livegate.toml: cannot read: "),
                "{text}"
            );
        }
        other => panic!("expected Read, got {other:?}"),
    }
}

#[test]
fn load_names_the_file_in_problems() {
    let path = std::env::temp_dir().join(format!("livegate-cfg-{}.toml", std::process::id()));
    std::fs::write(&path, "[api]\nmode = 0\n").expect("write");
    let err = Config::load(&path).expect_err("invalid");
    std::fs::remove_file(&path).expect("remove");
    assert_eq!(
        err.to_string(),
        format!(
            "{}:2:8: api.mode: 0 is out of range; valid: a whole number from 1 to 10",
            path.display()
        )
    );
}

// ---------------------------------------------------------------------------
// Keys and tables.

#[test]
fn unknown_key_with_suggestion() {
    assert_eq!(
        problem("[session]\naction_timout = \"10s\"\n"),
        "livegate.toml:2:1: session.action_timout: unknown key; did you mean \"action_timeout\"? \
         valid keys in [session]: action_timeout, frame_interval, first_frame_after, \
         max_restarts, session_timeout, cooldown, verdict_screen, max_failures, failure_window, lockout"
    );
}

#[test]
fn unknown_key_without_suggestion() {
    assert_eq!(
        problem("[log]\n  colour = true\n"),
        "livegate.toml:2:3: log.colour: unknown key; valid keys in [log]: level"
    );
}

#[test]
fn unknown_key_in_a_device_table_lists_the_keys_of_its_kind() {
    assert_eq!(
        problem("[camera]\nkind = \"sim\"\nperformr = \"pass\"\n"),
        "livegate.toml:3:1: camera.performr: unknown key; did you mean \"performer\"? valid \
         keys in [camera] with kind = \"sim\": kind, performer, reaction, fps, width, height, \
         jpeg_quality"
    );
}

#[test]
fn unknown_table() {
    assert_eq!(
        problem("[network]\nproxy = \"x\"\n"),
        "livegate.toml:1:2: network: unknown table; valid tables: [api], [session], [camera], \
         [presence], [display], [gpio], [trigger], [reader], [log], [metrics]"
    );
}

#[test]
fn typo_in_a_table_name() {
    assert_eq!(
        problem("[api]\nmode = 3\n\n[sesion]\ncooldown = \"3s\"\n"),
        "livegate.toml:4:2: sesion: unknown table; did you mean [session]? valid tables: \
         [api], [session], [camera], [presence], [display], [gpio], [trigger], [reader], [log], [metrics]"
    );
}

#[test]
fn key_before_any_table() {
    assert_eq!(
        problem("retries = 3\n[api]\n"),
        "livegate.toml:1:1: retries: key outside any table; valid: put it below the [api] line"
    );
    // `mode` is a key of [api] and of [trigger] kind = "socket".
    assert_eq!(
        problem("mode = 3\n[api]\n"),
        "livegate.toml:1:1: mode: key outside any table; valid: put it below the line of its \
         table, [api] or [trigger]"
    );
}

#[test]
fn table_written_as_a_value() {
    assert_eq!(
        problem("api = \"https://x\"\n"),
        "livegate.toml:1:7: api: expected a table, found text \"https://x\"; valid: the line \
         [api] with its keys below it"
    );
}

// ---------------------------------------------------------------------------
// Values.

#[test]
fn wrong_type() {
    assert_eq!(
        problem("[api]\nmode = \"3\"\n"),
        "livegate.toml:2:8: api.mode: expected a whole number, found text \"3\"; valid: a whole \
         number from 1 to 10 (write it without quotes: 3)"
    );
    assert_eq!(
        problem("[display]\nterminal = \"yes\"\n"),
        "livegate.toml:2:12: display.terminal: expected true or false, found text \"yes\"; \
         valid: true or false"
    );
}

#[test]
fn out_of_range_number() {
    assert_eq!(
        problem("# gate at the north door\n\n[api]\nmode = 0\n"),
        "livegate.toml:4:8: api.mode: 0 is out of range; valid: a whole number from 1 to 10"
    );
    assert_eq!(
        problem("[camera]\njpeg_quality = 100\n"),
        "livegate.toml:2:16: camera.jpeg_quality: 100 is out of range; valid: a whole number \
         from 30 to 95"
    );
}

#[test]
fn windows_line_endings_keep_positions() {
    assert_eq!(
        problems("[api]\r\nretries 2\r\nmode = 0\r\n"),
        [
            "livegate.toml:2:9: api.retries: missing \"=\" after the key; valid: key = value, \
             such as mode = 3",
            "livegate.toml:3:8: api.mode: 0 is out of range; valid: a whole number from 1 to 10",
        ]
    );
}

#[test]
fn fraction_where_a_whole_number_is_needed() {
    assert_eq!(
        problem("[api]\nretries = 1.5\n"),
        "livegate.toml:2:11: api.retries: 1.5 is not a whole number; valid: a whole number \
         from 0 to 5"
    );
}

#[test]
fn out_of_range_duration() {
    assert_eq!(
        problem("[session]\naction_timeout = \"2min\"\n"),
        "livegate.toml:2:18: session.action_timeout: \"2min\" is out of range; valid: a \
         duration from 3s to 60s"
    );
    assert_eq!(
        problem("[gpio]\ngate_pulse = \"50ms\"\n"),
        "livegate.toml:2:14: gpio.gate_pulse: \"50ms\" is out of range; valid: a duration from \
         100ms to 10s"
    );
}

#[test]
fn bare_number_duration() {
    assert_eq!(
        problem("[session]\ncooldown = 3\n"),
        "livegate.toml:2:12: session.cooldown: 3 is a bare number; write a duration such as \
         \"10s\" or \"500ms\"; valid: a duration from 0s to 60s"
    );
    assert_eq!(
        problem("[session]\ncooldown = \"3\"\n"),
        "livegate.toml:2:12: session.cooldown: \"3\" has no unit; write a duration such as \
         \"10s\" or \"500ms\"; valid: a duration from 0s to 60s"
    );
}

#[test]
fn duration_that_is_not_one() {
    assert_eq!(
        problem("[trigger]\narrival = \"soon\"\n"),
        "livegate.toml:2:11: trigger.arrival: \"soon\" is not a duration; write a duration such \
         as \"10s\" or \"500ms\"; valid: a duration from 0s to 60s"
    );
}

#[test]
fn bad_choice_with_suggestion() {
    assert_eq!(
        problem("[api]\npart = \"hands\"\n"),
        "livegate.toml:2:8: api.part: \"hands\" is not valid; valid: \"face\" or \"hand\" (did \
         you mean \"hand\"?)"
    );
    assert_eq!(
        problem("[camera]\nperformer = \"spoofer\"\n"),
        "livegate.toml:2:13: camera.performer: \"spoofer\" is not valid; valid: \"pass\", \
         \"fail\", \"spoof\", \"slow\" or \"absent\" (did you mean \"spoof\"?)"
    );
}

#[test]
fn kind_that_does_not_exist() {
    assert_eq!(
        problem("[camera]\nkind = \"usb\"\n"),
        "livegate.toml:2:8: camera.kind: \"usb\" is not valid; valid: \"sim\", \"v4l2\" or \"replay\""
    );
    assert_eq!(
        problem("[display]\nkind = \"ssd1309\"\n"),
        "livegate.toml:2:8: display.kind: \"ssd1309\" is not valid; valid: \"sim\" or \
         \"ssd1306\" (did you mean \"ssd1306\"?)"
    );
    assert_eq!(
        problem("[trigger]\nkind = \"usb\"\n"),
        "livegate.toml:2:8: trigger.kind: \"usb\" is not valid; valid: \"sim\", \"gpio\", \
         \"socket\", \"wiegand\" or \"camera\""
    );
}

#[test]
fn select_is_matched_case_insensitively_and_stored_canonically() {
    let cfg = parse_ok("[api]\nselect = [\"turn_LEFT\", \"smile\"]\nmode = 2\n");
    assert_eq!(cfg.api.select, ["Turn_left", "Smile"]);
}

#[test]
fn unknown_action_in_select() {
    assert_eq!(
        problem("[api]\nselect = [\"Turn_lef\", \"Turn_right\", \"Look_up\"]\n"),
        "livegate.toml:2:11: api.select: \"Turn_lef\" is not a known action; did you mean \
         \"Turn_left\"?"
    );
    assert_eq!(
        problem("[api]\nselect = [\"Blink\", \"Turn_right\", \"Look_up\"]\n"),
        "livegate.toml:2:11: api.select: \"Blink\" is not a known action; valid: Turn_left, \
         Turn_right, Look_up, Look_down, Open_mouth, Smile, Left_hand, Right_hand, or \
         <gesture>_left_hand / <gesture>_right_hand where <gesture> is one of Like, \
         I_love_you, Ok, Handful, One, Two, Three, Four, Forehand, Backhand, Victory"
    );
}

#[test]
fn action_listed_twice() {
    assert_eq!(
        problem("[api]\nselect = [\"Smile\", \"Look_up\", \"smile\"]\n"),
        "livegate.toml:2:31: api.select: \"smile\" is listed twice; valid: each action once"
    );
}

#[test]
fn select_written_without_brackets() {
    assert_eq!(
        problem("[api]\nmode = 1\nselect = \"Smile\"\n"),
        "livegate.toml:3:10: api.select: expected a list, found text \"Smile\"; valid: a list \
         of action names, such as [\"Turn_left\", \"Turn_right\", \"Look_up\"] (write it in \
         brackets: [\"Smile\"])"
    );
}

#[test]
fn action_not_of_part() {
    assert_eq!(
        problem(
            "[api]\npart = \"face\"\nselect = [\"Turn_left\", \"Like_left_hand\", \"Smile\"]\n"
        ),
        "livegate.toml:3:24: api.select: \"Like_left_hand\" is a hand action, but api.part is \
         \"face\"; valid: a face action: Turn_left, Turn_right, Look_up, Look_down, \
         Open_mouth, Smile"
    );
    assert_eq!(
        problem("[api]\nmode = 1\nselect = [\"Smile\"]\npart = \"hand\"\n"),
        "livegate.toml:3:11: api.select: \"Smile\" is a face action, but api.part is \"hand\"; \
         valid: a hand action (a name ending in _hand)"
    );
}

#[test]
fn mode_larger_than_select() {
    // mode written after select: mode is blamed.
    assert_eq!(
        problem("[api]\nselect = [\"Smile\", \"Look_up\"]\nmode = 4\n"),
        "livegate.toml:3:8: api.mode: 4 is more than the 2 actions in api.select; valid: a \
         whole number from 1 to 2, or more actions in api.select"
    );
    // select written after mode, or mode left at its default: select is blamed.
    assert_eq!(
        problem("[api]\nmode = 4\nselect = [\"Smile\", \"Look_up\"]\n"),
        "livegate.toml:3:10: api.select: lists 2 actions, fewer than api.mode (4); valid: at \
         least 4 actions, or a lower api.mode"
    );
    assert_eq!(
        problem("[api]\nselect = [\"Smile\"]\n"),
        "livegate.toml:2:10: api.select: lists 1 action, fewer than api.mode (3, the \
         default); valid: at least 3 actions, or a lower api.mode"
    );
    assert_eq!(
        parse_ok("[api]\nselect = [\"Smile\", \"Look_up\"]\nmode = 2\n")
            .api
            .mode,
        2
    );
}

#[test]
fn plain_http_is_refused() {
    assert_eq!(
        problem("[api]\nbase_url = \"http://10.0.0.5:8080/v1\"\n"),
        "livegate.toml:2:12: api.base_url: \"http://10.0.0.5:8080/v1\" is plain http (not \
         encrypted); valid: an https:// address (http:// only with api.allow_insecure_http = \
         true, for tests)"
    );
    assert_eq!(
        problem("[api]\nbase_url = \"http://10.0.0.5/v1\"\nallow_insecure_http = false\n"),
        "livegate.toml:2:12: api.base_url: \"http://10.0.0.5/v1\" is plain http (not \
         encrypted); valid: an https:// address (http:// only with api.allow_insecure_http = \
         true, for tests)"
    );
}

#[test]
fn plain_http_is_accepted_when_allowed() {
    let cfg =
        parse_ok("[api]\nallow_insecure_http = true\nbase_url = \"http://127.0.0.1:8443/v1\"\n");
    assert_eq!(cfg.api.base_url, "http://127.0.0.1:8443/v1");
    assert!(cfg.api.allow_insecure_http);
}

#[test]
fn base_url_that_is_not_an_address() {
    assert_eq!(
        problem("[api]\nbase_url = \"apis.aigen.online\"\n"),
        "livegate.toml:2:12: api.base_url: \"apis.aigen.online\" is not a web address \
         (relative URL without a base); valid: an https:// address, such as \
         \"https://apis.aigen.online/aiface/liveness-detection/v1\""
    );
    assert_eq!(
        problem("[api]\nbase_url = \"ftp://apis.aigen.online\"\n"),
        "livegate.toml:2:12: api.base_url: \"ftp://apis.aigen.online\" is not an http(s) \
         address; valid: an https:// address, such as \
         \"https://apis.aigen.online/aiface/liveness-detection/v1\""
    );
}

#[test]
fn relative_key_file_and_ca_file() {
    assert_eq!(
        problems("[api]\nkey_file = \"aigen-key\"\nca_file = \"certs/ca.pem\"\n"),
        [
            "livegate.toml:2:12: api.key_file: \"aigen-key\" is a relative path; valid: an \
             absolute path, starting with \"/\"",
            "livegate.toml:3:11: api.ca_file: \"certs/ca.pem\" is a relative path; valid: an \
             absolute path, starting with \"/\"",
        ]
    );
}

#[test]
fn paths_are_not_read_at_parse_time() {
    let cfg =
        parse_ok("[api]\nkey_file = \"/nonexistent/key\"\nca_file = \"/nonexistent/ca.pem\"\n");
    assert_eq!(cfg.api.key_file, Some(PathBuf::from("/nonexistent/key")));
    assert_eq!(cfg.api.ca_file, Some(PathBuf::from("/nonexistent/ca.pem")));
}

#[test]
fn timeouts_that_contradict_each_other() {
    assert_eq!(
        problem("[api]\nconnect_timeout = \"10s\"\n"),
        "livegate.toml:2:19: api.connect_timeout: 10s is longer than api.request_timeout (8s, \
         the default); valid: at most the request timeout"
    );
    assert_eq!(
        problem("[api]\nconnect_timeout = \"5s\"\nrequest_timeout = \"4s\"\n"),
        "livegate.toml:3:19: api.request_timeout: 4s is shorter than api.connect_timeout (5s); \
         valid: at least the connect timeout"
    );
    assert_eq!(
        problem("[session]\naction_timeout = \"5s\"\nframe_interval = \"5s\"\n"),
        "livegate.toml:3:18: session.frame_interval: 5s is not shorter than \
         session.action_timeout (5s); valid: shorter than the action timeout"
    );
    assert_eq!(
        problem("[session]\nsession_timeout = \"30s\"\naction_timeout = \"45s\"\n"),
        "livegate.toml:3:18: session.action_timeout: 45s is longer than \
         session.session_timeout (30s); valid: at most the session timeout"
    );
}

#[test]
fn a_session_timeout_shorter_than_its_actions_and_restarts_allow() {
    // Said at the session timeout's line, naming the lines of the others.
    assert_eq!(
        problem(
            "[api]\nmode = 4\n\n[session]\naction_timeout = \"20s\"\nmax_restarts = 2\n\
             session_timeout = \"3min\"\n"
        ),
        "livegate.toml:7:19: session.session_timeout: the session timeout (3min, this line) \
         is shorter than the 4min a person may take: 4 actions (api.mode, line 2) of up to \
         20s each (session.action_timeout, line 5), in 3 attempts (session.max_restarts = 2, \
         line 6); valid: a session timeout of at least 4min, or fewer or shorter actions or \
         restarts"
    );
    // The session timeout left at its default (60s): said at the line that made it
    // too short.
    assert_eq!(
        problem("[session]\naction_timeout = \"15s\"\n"),
        "livegate.toml:2:18: session.action_timeout: the session timeout (60s, the default) \
         is shorter than the 90s a person may take: 3 actions (api.mode, the default) of up to \
         15s each (session.action_timeout, this line), in 2 attempts (session.max_restarts = \
         1, the default); valid: a session timeout of at least 90s, or fewer or shorter \
         actions or restarts"
    );
    // Exactly enough is fine (the defaults: 3 × 10s × 2 attempts = 60s).
    parse_ok("[session]\nmax_restarts = 0\naction_timeout = \"20s\"\n");
    parse_ok("");
}

// ---------------------------------------------------------------------------
// Syntax.

#[test]
fn unclosed_string() {
    assert_eq!(
        problem("[api]\npart = \"face\nmode = 3\n"),
        "livegate.toml:2:13: api.part: the text has no closing quote; valid: text between two \
         double quotes on one line, such as \"face\""
    );
}

#[test]
fn missing_equals_sign_does_not_hide_later_mistakes() {
    assert_eq!(
        problems("[api]\nretries 2\n\n[session]\ncooldown = 3\n"),
        [
            "livegate.toml:2:9: api.retries: missing \"=\" after the key; valid: key = value, \
             such as mode = 3",
            "livegate.toml:5:12: session.cooldown: 3 is a bare number; write a duration such \
             as \"10s\" or \"500ms\"; valid: a duration from 0s to 60s",
        ]
    );
}

#[test]
fn text_without_quotes() {
    assert_eq!(
        problem("[log]\nlevel = debug\n"),
        "livegate.toml:2:9: log.level: debug is not a number, true/false or text in quotes; \
         valid: text in double quotes, such as \"debug\""
    );
}

#[test]
fn unclosed_table_name_keeps_quiet_about_its_keys() {
    assert_eq!(
        problems("[session\ncooldown = \"3s\"\n[log]\nlevel = \"loud\"\n"),
        [
            "livegate.toml:1:9: session: missing \"]\" after the table name; valid: a table \
             name in brackets, such as [session]",
            "livegate.toml:4:9: log.level: \"loud\" is not valid; valid: \"error\", \"warn\", \
             \"info\", \"debug\" or \"trace\"",
        ]
    );
}

#[test]
fn unclosed_list_is_blamed_once() {
    assert_eq!(
        problems("[api]\nselect = [\"Smile\", \"Look_up\",\nmode = 0\n"),
        [
            "livegate.toml:2:30: api.select: the list has no closing \"]\"; valid: a list in \
             brackets, such as [\"Turn_left\", \"Smile\"]",
            "livegate.toml:3:8: api.mode: 0 is out of range; valid: a whole number from 1 to 10",
        ]
    );
}

#[test]
fn unclosed_list_over_several_lines() {
    assert_eq!(
        problems("[api]\nselect = [\n  \"Smile\",\n  \"Look_up\",\n\nmode = 0\n"),
        [
            "livegate.toml:2:11: api.select: the list has no closing \"]\"; valid: a list in \
             brackets, such as [\"Turn_left\", \"Smile\"]",
            "livegate.toml:6:8: api.mode: 0 is out of range; valid: a whole number from 1 to 10",
        ]
    );
    assert_eq!(
        problem("[api]\nselect = [\n  \"Smile\",\n  \"Look_up\",\n# the end\n"),
        "livegate.toml:2:11: api.select: the list has no closing \"]\"; valid: a list in \
         brackets, such as [\"Turn_left\", \"Smile\"]"
    );
}

#[test]
fn duplicate_key() {
    assert_eq!(
        problem("[api]\nmode = 3\nretries = 1\nmode = 4\n"),
        "livegate.toml:4:1: api.mode: this key is already set on line 2; valid: each key once \
         per table (delete one of the two lines)"
    );
}

#[test]
fn duplicate_table() {
    assert_eq!(
        problem("[api]\nmode = 3\n\n[log]\n\n[api]\nretries = 1\n"),
        "livegate.toml:6:2: api: the table [api] already started on line 1; valid: each table \
         once (move these keys below the first [api])"
    );
}

// ---------------------------------------------------------------------------
// Hardware kinds: [camera] v4l2, [display] ssd1306, [gpio] rppal, [trigger] gpio/socket.

/// The configuration of the shipped Raspberry Pi example.
fn pi_config() -> Config {
    let input = |pin| InputOptions {
        line: Bcm(pin),
        pull: Pull::Up,
        edge: Edge::Falling,
        debounce: Duration::from_millis(50),
    };
    Config {
        camera: CameraConfig::V4l2(V4l2CameraConfig {
            device: PathBuf::from("/dev/video0"),
            width: 640,
            height: 480,
            fps: 10,
            format: FormatPreference::Auto,
            jpeg_quality: 80,
            warmup_frames: 5,
            mirror: false,
            rotation: Rotation::R0,
            left_is: LeftIs::Person,
        }),
        display: DisplayConfig::Ssd1306(OledOptions {
            bus: 1,
            address: 0x3C,
            size: PanelSize::W128xH64,
            rotation: Rotation::R0,
            contrast: 255,
            reinit_interval: Duration::from_secs(30),
        }),
        gpio: GpioConfig::Rppal(GpioLines {
            gate: relay(Bcm(17), true, Duration::from_secs(1)),
            fail: relay(Bcm(27), true, Duration::from_millis(500)),
            trigger: Some(input(22)),
            exit: Some(input(23)),
            door: Some(DoorOptions {
                line: Bcm(24),
                pull: Pull::Up,
                open_level_high: true,
                debounce: Duration::from_millis(50),
                held_open_after: Duration::from_secs(30),
            }),
            wiegand: Default::default(),
        }),
        trigger: TriggerConfig::Gpio,
        metrics: MetricsConfig {
            textfile: Some(PathBuf::from(
                "/var/lib/prometheus/node-exporter/livegate.prom",
            )),
            interval: Duration::from_secs(15),
        },
        ..Config::default()
    }
}

#[test]
fn shipped_pi_example_parses_with_the_hardware_kinds() {
    let cfg = parse_ok(SHIPPED_PI);
    assert_eq!(cfg, pi_config());
    assert_eq!(
        cfg.summary(),
        "api https://apis.aigen.online/aiface/liveness-detection/v1 (mode 3), action timeout \
         10s, camera v4l2, display ssd1306, gpio rppal, trigger gpio, metrics \
         /var/lib/prometheus/node-exporter/livegate.prom"
    );
}

#[test]
fn the_pi_examples_cdev_alternative_is_the_same_wiring_by_line_name() {
    // The commented [gpio] table, uncommented in place of the rppal one.
    let start = SHIPPED_PI
        .find("# [gpio]\n# kind = \"cdev\"")
        .expect("the commented cdev table");
    let block: String = SHIPPED_PI[start..]
        .lines()
        .take_while(|l| l.starts_with('#'))
        .map(|l| format!("{}\n", l.trim_start_matches('#').trim_start()))
        .collect();
    let rppal_at = SHIPPED_PI.find("[gpio]\nkind = \"rppal\"").unwrap();
    let trigger_at = SHIPPED_PI.find("\n[trigger]").unwrap();
    let text = format!(
        "{}{block}{}",
        &SHIPPED_PI[..rppal_at],
        &SHIPPED_PI[trigger_at..]
    );
    let cdev = parse_ok(&text);
    let (GpioConfig::Rppal(p), GpioConfig::Cdev(c)) = (&pi_config().gpio, &cdev.gpio) else {
        panic!(
            "rppal in the example, cdev in its alternative: {:?}",
            cdev.gpio
        )
    };
    let name = |pin: &Bcm| LineSpec::Name(format!("GPIO{}", pin.0));
    assert_eq!(
        (&c.gate.line.line, c.gate.active_low, c.gate.pulse),
        (&name(&p.gate.line), p.gate.active_low, p.gate.pulse)
    );
    assert_eq!(
        (&c.fail.line.line, c.fail.active_low, c.fail.pulse),
        (&name(&p.fail.line), p.fail.active_low, p.fail.pulse)
    );
    for (c, p) in [(&c.trigger, &p.trigger), (&c.exit, &p.exit)] {
        let (c, p) = (c.as_ref().unwrap(), p.as_ref().unwrap());
        assert_eq!(
            (&c.line.line, c.pull, c.edge, c.debounce),
            (&name(&p.line), p.pull, p.edge, p.debounce)
        );
    }
    let (cd, pd) = (c.door.as_ref().unwrap(), p.door.as_ref().unwrap());
    assert_eq!(
        (
            &cd.line.line,
            cd.pull,
            cd.open_level_high,
            cd.debounce,
            cd.held_open_after
        ),
        (
            &name(&pd.line),
            pd.pull,
            pd.open_level_high,
            pd.debounce,
            pd.held_open_after
        )
    );
    // Everything else as in the example.
    assert_eq!(
        Config {
            gpio: pi_config().gpio,
            ..cdev
        },
        pi_config()
    );
}

#[test]
fn hardware_kinds_alone_take_their_defaults() {
    let cfg = parse_ok(
        "[camera]\nkind = \"v4l2\"\n[display]\nkind = \"ssd1306\"\n[gpio]\nkind = \"rppal\"\n\
         [trigger]\nkind = \"socket\"\n",
    );
    assert_eq!(cfg.camera, CameraConfig::V4l2(V4l2CameraConfig::default()));
    // The file's default contrast is full; the adapter alone (commissioning without a
    // file) starts dimmer.
    assert_eq!(
        cfg.display,
        DisplayConfig::Ssd1306(OledOptions {
            contrast: 255,
            ..OledOptions::default()
        })
    );
    assert_eq!(cfg.gpio, GpioConfig::Rppal(RppalGpioConfig::default()));
    assert_eq!(
        cfg.trigger,
        TriggerConfig::Socket(SocketTriggerConfig {
            path: PathBuf::from("/run/livegate/ctl.sock"),
            group: "livegate".to_owned(),
            mode: 0o660,
        })
    );
    let GpioConfig::Rppal(g) = &cfg.gpio else {
        panic!("rppal")
    };
    assert_eq!((g.gate.line, g.fail.line), (Bcm(17), Bcm(27)));
    assert!(g.gate.active_low && g.fail.active_low);
    assert_eq!((&g.trigger, &g.exit, &g.door), (&None, &None, &None));
    let CameraConfig::V4l2(c) = &cfg.camera else {
        panic!("v4l2")
    };
    assert_eq!(c.device, PathBuf::from("/dev/video0"));
    assert_eq!(
        (c.width, c.height, c.fps, c.jpeg_quality),
        (640, 480, 10, 80)
    );
    assert_eq!((c.warmup_frames, c.mirror), (5, false));
    assert_eq!(
        (c.format, c.rotation, c.left_is),
        (FormatPreference::Auto, Rotation::R0, LeftIs::Person)
    );
    let DisplayConfig::Ssd1306(d) = &cfg.display else {
        panic!("ssd1306")
    };
    assert_eq!(
        (d.bus, d.address, d.size, d.contrast),
        (1, 0x3C, PanelSize::W128xH64, 255)
    );
    assert_eq!(d.reinit_interval, Duration::from_secs(30));
}

#[test]
fn every_hardware_key_is_read() {
    let cfg = parse_ok(
        r#"
[camera]
kind = "v4l2"
device = "/dev/v4l/by-id/usb-046d_C270_HD_WEBCAM-video-index0"
width = 1280
height = 720
fps = 15
format = "yuyv"
jpeg_quality = 70
warmup_frames = 0
mirror = true
rotation = 270
left_is = "image"

[display]
kind = "ssd1306"
bus = 3
address = 0x3D
size = "128x32"
rotation = 180
contrast = 0
reinit_interval = "10min"

[gpio]
kind = "rppal"
gate_pin = 5
gate_active_low = false
gate_pulse = "10s"
fail_pin = 6
fail_active_low = false
fail_pulse = "100ms"
trigger_pin = 2
trigger_pull = "off"
trigger_edge = "both"
trigger_debounce = "1ms"
exit_pin = 3
exit_pull = "down"
exit_edge = "rising"
exit_debounce = "1s"
door_pin = 0
door_pull = "off"
door_open_level = "low"
door_debounce = "20ms"
door_held_open_after = "10min"

[trigger]
kind = "socket"
path = "/run/kiosk/gate.sock"
group = "kiosk"
mode = 0o600
"#,
    );
    assert_eq!(
        cfg.camera,
        CameraConfig::V4l2(V4l2CameraConfig {
            device: PathBuf::from("/dev/v4l/by-id/usb-046d_C270_HD_WEBCAM-video-index0"),
            width: 1280,
            height: 720,
            fps: 15,
            format: FormatPreference::Yuyv,
            jpeg_quality: 70,
            warmup_frames: 0,
            mirror: true,
            rotation: Rotation::R270,
            left_is: LeftIs::Image,
        })
    );
    assert_eq!(
        cfg.display,
        DisplayConfig::Ssd1306(OledOptions {
            bus: 3,
            address: 0x3D,
            size: PanelSize::W128xH32,
            rotation: Rotation::R180,
            contrast: 0,
            reinit_interval: Duration::from_secs(600),
        })
    );
    assert_eq!(
        cfg.gpio,
        GpioConfig::Rppal(GpioLines {
            gate: relay(Bcm(5), false, Duration::from_secs(10)),
            fail: relay(Bcm(6), false, Duration::from_millis(100)),
            trigger: Some(InputOptions {
                line: Bcm(2),
                pull: Pull::Off,
                edge: Edge::Both,
                debounce: Duration::from_millis(1),
            }),
            exit: Some(InputOptions {
                line: Bcm(3),
                pull: Pull::Down,
                edge: Edge::Rising,
                debounce: Duration::from_secs(1),
            }),
            door: Some(DoorOptions {
                line: Bcm(0),
                pull: Pull::Off,
                open_level_high: false,
                debounce: Duration::from_millis(20),
                held_open_after: Duration::from_secs(600),
            }),
            wiegand: Default::default(),
        })
    );
    assert_eq!(
        cfg.trigger,
        TriggerConfig::Socket(SocketTriggerConfig {
            path: PathBuf::from("/run/kiosk/gate.sock"),
            group: "kiosk".to_owned(),
            mode: 0o600,
        })
    );
}

#[test]
fn choices_spell_as_in_the_file() {
    let words = |all: Vec<&'static str>| all.join(" ");
    assert_eq!(
        words(FormatPreference::ALL.iter().map(|c| c.as_str()).collect()),
        "auto mjpeg yuyv"
    );
    assert_eq!(
        words(LeftIs::ALL.iter().map(|c| c.as_str()).collect()),
        "person image"
    );
    assert_eq!(
        words(PanelSize::ALL.iter().map(|c| c.as_str()).collect()),
        "128x64 128x32"
    );
    assert_eq!(
        words(Pull::ALL.iter().map(|c| c.as_str()).collect()),
        "up down off"
    );
    assert_eq!(
        words(Edge::ALL.iter().map(|c| c.as_str()).collect()),
        "falling rising both"
    );
    assert_eq!(
        words(Rotation::ALL.iter().map(|c| c.as_str()).collect()),
        "0 90 180 270"
    );
    assert_eq!(Edge::parse("rising"), Some(Edge::Rising));
    assert_eq!(Pull::parse("Up"), None);
    assert_eq!(Rotation::from_degrees(90), Some(Rotation::R90));
    assert_eq!(Rotation::from_degrees(-90), None);
    assert_eq!(Rotation::R270.degrees(), 270);
    assert_eq!(
        (PanelSize::W128xH32.width(), PanelSize::W128xH32.height()),
        (128, 32)
    );
    assert_eq!(PanelSize::W128xH64.height(), 64);
}

// -- [camera] kind = "v4l2" ---------------------------------------------------

#[test]
fn camera_device_must_be_under_dev() {
    let valid = "valid: a device path starting with /dev/, such as \"/dev/video0\" or \
                 \"/dev/v4l/by-id/usb-…-video-index0\"";
    assert_eq!(
        problem("[camera]\nkind = \"v4l2\"\ndevice = \"video0\"\n"),
        format!(
            "livegate.toml:3:10: camera.device: \"video0\" is a relative path (did you mean \
             \"/dev/video0\"?); {valid}"
        )
    );
    assert_eq!(
        problem("[camera]\nkind = \"v4l2\"\ndevice = \"dev/video1\"\n"),
        format!(
            "livegate.toml:3:10: camera.device: \"dev/video1\" is a relative path (did you \
             mean \"/dev/video1\"?); {valid}"
        )
    );
    assert_eq!(
        problem("[camera]\nkind = \"v4l2\"\ndevice = \"/home/pi/cam\"\n"),
        format!("livegate.toml:3:10: camera.device: \"/home/pi/cam\" is not under /dev/; {valid}")
    );
    assert_eq!(
        problem("[camera]\nkind = \"v4l2\"\ndevice = 0\n"),
        format!(
            "livegate.toml:3:10: camera.device: expected a path in quotes, found the number \
             0; {valid} (write it as \"/dev/video0\")"
        )
    );
}

#[test]
fn camera_v4l2_values() {
    assert_eq!(
        problems(
            "[camera]\nkind = \"v4l2\"\nformat = \"h264\"\nrotation = 45\nleft_is = \"left\"\n\
             warmup_frames = 61\nwidth = 2560\nmirror = \"yes\"\n"
        ),
        [
            "livegate.toml:3:10: camera.format: \"h264\" is not valid; valid: \"auto\", \
             \"mjpeg\" or \"yuyv\"",
            "livegate.toml:4:12: camera.rotation: 45 is not valid; valid: 0, 90, 180 or 270",
            "livegate.toml:5:11: camera.left_is: \"left\" is not valid; valid: \"person\" or \
             \"image\"",
            "livegate.toml:6:17: camera.warmup_frames: 61 is out of range; valid: a whole \
             number from 0 to 60",
            "livegate.toml:7:9: camera.width: 2560 is out of range; valid: a whole number from \
             160 to 1920",
            "livegate.toml:8:10: camera.mirror: expected true or false, found text \"yes\"; \
             valid: true or false",
        ]
    );
    assert_eq!(
        problem("[camera]\nkind = \"v4l2\"\nrotation = \"90\"\n"),
        "livegate.toml:3:12: camera.rotation: expected a whole number, found text \"90\"; \
         valid: 0, 90, 180 or 270 (write it without quotes: 90)"
    );
}

#[test]
fn keys_of_the_other_camera_kind() {
    assert_eq!(
        problem("[camera]\nkind = \"v4l2\"\nperformer = \"pass\"\n"),
        "livegate.toml:3:1: camera.performer: applies only to kind = \"sim\"; valid keys in \
         [camera] with kind = \"v4l2\": kind, device, width, height, fps, format, \
         jpeg_quality, warmup_frames, mirror, rotation, left_is"
    );
    assert_eq!(
        problem("[camera]\nmirror = true\n"),
        "livegate.toml:2:1: camera.mirror: applies only to kind = \"v4l2\" or kind = \"replay\"; valid keys in \
         [camera] with kind = \"sim\": kind, performer, reaction, fps, width, height, \
         jpeg_quality"
    );
}

// -- [display] kind = "ssd1306" -----------------------------------------------

#[test]
fn oled_address_is_read_in_hex_or_decimal() {
    let address = |text: &str| match parse_ok(text).display {
        DisplayConfig::Ssd1306(d) => d.address,
        other => panic!("expected ssd1306, got {other:?}"),
    };
    assert_eq!(
        address("[display]\nkind = \"ssd1306\"\naddress = 0x3D\n"),
        0x3D
    );
    assert_eq!(
        address("[display]\nkind = \"ssd1306\"\naddress = 0x3c\n"),
        0x3C
    );
    assert_eq!(
        address("[display]\nkind = \"ssd1306\"\naddress = 61\n"),
        0x3D
    );
}

#[test]
fn oled_address_problems_show_hex() {
    assert_eq!(
        problem("[display]\nkind = \"ssd1306\"\naddress = 0x3E\n"),
        "livegate.toml:3:11: display.address: 0x3E is not valid; valid: 0x3C or 0x3D"
    );
    assert_eq!(
        problem("[display]\nkind = \"ssd1306\"\naddress = 62\n"),
        "livegate.toml:3:11: display.address: 62 (0x3E) is not valid; valid: 0x3C or 0x3D"
    );
    assert_eq!(
        problem("[display]\nkind = \"ssd1306\"\naddress = 0x78\n"),
        "livegate.toml:3:11: display.address: 0x78 is not valid; valid: 0x3C or 0x3D (0x78 \
         is the 8-bit form of 0x3C that some boards print; write 0x3C)"
    );
    assert_eq!(
        problem("[display]\nkind = \"ssd1306\"\naddress = \"0x3C\"\n"),
        "livegate.toml:3:11: display.address: expected a whole number, found text \"0x3C\"; \
         valid: 0x3C or 0x3D (write it without quotes: 0x3C)"
    );
}

#[test]
fn oled_values() {
    assert_eq!(
        problems(
            "[display]\nkind = \"ssd1306\"\nsize = \"128x48\"\ncontrast = 256\n\
             reinit_interval = \"500ms\"\nbus = 23\nrotation = 360\nterminal = true\n"
        ),
        [
            "livegate.toml:3:8: display.size: \"128x48\" is not valid; valid: \"128x64\" or \
             \"128x32\" (did you mean \"128x64\"?)",
            "livegate.toml:4:12: display.contrast: 256 is out of range; valid: a whole number \
             from 0 to 255",
            "livegate.toml:5:19: display.reinit_interval: \"500ms\" is out of range; valid: a \
             duration from 1s to 10min",
            "livegate.toml:6:7: display.bus: 23 is out of range; valid: a whole number from 0 \
             to 22",
            "livegate.toml:7:12: display.rotation: 360 is not valid; valid: 0, 90, 180 or 270",
            "livegate.toml:8:1: display.terminal: applies only to kind = \"sim\"; valid keys \
             in [display] with kind = \"ssd1306\": kind, bus, address, size, rotation, \
             contrast, reinit_interval",
        ]
    );
}

// -- [gpio] kind = "rppal" ----------------------------------------------------

#[test]
fn rppal_key_under_the_sim_kind() {
    assert_eq!(
        problem("[gpio]\ngate_pin = 17\ngate_pulse = \"2s\"\n"),
        "livegate.toml:2:1: gpio.gate_pin: applies only to kind = \"rppal\"; valid keys in \
         [gpio] with kind = \"sim\": kind, gate_pulse, fail_pulse, state_file"
    );
    assert_eq!(
        problem("[gpio]\nkind = \"sim\"\ntrigger_pin = 22\n"),
        "livegate.toml:3:1: gpio.trigger_pin: applies only to kind = \"rppal\"; valid keys in \
         [gpio] with kind = \"sim\": kind, gate_pulse, fail_pulse, state_file"
    );
}

#[test]
fn pins_are_bcm_numbers_up_to_27() {
    let valid = "valid: a BCM GPIO number from 0 to 27 (not the header pin number: header pin \
                 11 is BCM 17";
    assert_eq!(
        problems(
            "[gpio]\nkind = \"rppal\"\ngate_pin = 40\nfail_pin = 30\ntrigger_pin = 28\n\
             exit_pin = -1\ndoor_pin = 27\n"
        ),
        [
            format!(
                "livegate.toml:3:12: gpio.gate_pin: 40 is out of range; {valid}, header pin 40 \
                 is BCM 21)"
            ),
            format!("livegate.toml:4:12: gpio.fail_pin: 30 is out of range; {valid})"),
            format!(
                "livegate.toml:5:15: gpio.trigger_pin: 28 is out of range; {valid}, header pin \
                 28 is BCM 1)"
            ),
            format!("livegate.toml:6:12: gpio.exit_pin: -1 is out of range; {valid})"),
        ]
    );
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\ntrigger_pin = \"GPIO22\"\n"),
        format!(
            "livegate.toml:3:15: gpio.trigger_pin: expected a whole number, found text \
             \"GPIO22\"; {valid}) (write the BCM number without quotes: 22)"
        )
    );
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\nfail_pin = 4.5\n"),
        format!("livegate.toml:3:12: gpio.fail_pin: 4.5 is not a whole number; {valid})")
    );
}

#[test]
fn a_pin_used_twice_is_blamed_where_it_is_written_later() {
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\nfail_pin = 5\ngate_pin = 5\n"),
        "livegate.toml:4:12: gpio.gate_pin: BCM 5 is already used by gpio.fail_pin (line 3); \
         valid: a BCM GPIO number no other input or output uses"
    );
    // Against a default: gate_pin is 17 when not set.
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\nfail_pin = 17\n"),
        "livegate.toml:3:12: gpio.fail_pin: BCM 17 is already used by gpio.gate_pin (by \
         default); valid: a BCM GPIO number no other input or output uses"
    );
    // Moving gate_pin away frees 17.
    assert!(matches!(
        parse_ok("[gpio]\nkind = \"rppal\"\ngate_pin = 5\nfail_pin = 17\n").gpio,
        GpioConfig::Rppal(GpioLines {
            gate: OutputOptions { line: Bcm(5), .. },
            fail: OutputOptions { line: Bcm(17), .. },
            ..
        })
    ));
}

#[test]
fn each_pin_clash_is_reported() {
    let valid = "valid: a BCM GPIO number no other input or output uses";
    assert_eq!(
        problems(
            "[gpio]\nkind = \"rppal\"\ngate_pin = 5\nfail_pin = 6\ntrigger_pin = 6\n\
             exit_pin = 5\ndoor_pin = 6\n"
        ),
        [
            format!(
                "livegate.toml:5:15: gpio.trigger_pin: BCM 6 is already used by gpio.fail_pin \
                 (line 4); {valid}"
            ),
            format!(
                "livegate.toml:6:12: gpio.exit_pin: BCM 5 is already used by gpio.gate_pin \
                 (line 3); {valid}"
            ),
            format!(
                "livegate.toml:7:12: gpio.door_pin: BCM 6 is already used by gpio.fail_pin \
                 (line 4); {valid}"
            ),
        ]
    );
    assert_eq!(
        problems("[gpio]\nkind = \"rppal\"\ndoor_pin = 27\nexit_pin = 22\ntrigger_pin = 22\n"),
        [
            format!(
                "livegate.toml:3:12: gpio.door_pin: BCM 27 is already used by gpio.fail_pin \
                 (by default); {valid}"
            ),
            format!(
                "livegate.toml:5:15: gpio.trigger_pin: BCM 22 is already used by gpio.exit_pin \
                 (line 4); {valid}"
            ),
        ]
    );
}

#[test]
fn a_pin_that_is_itself_wrong_is_not_also_a_clash() {
    // gate_pin = 99 is refused; its default 17 must not clash with fail_pin = 17.
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\ngate_pin = 99\nfail_pin = 17\n"),
        "livegate.toml:3:12: gpio.gate_pin: 99 is out of range; valid: a BCM GPIO number from \
         0 to 27 (not the header pin number: header pin 11 is BCM 17)"
    );
}

#[test]
fn oled_on_i2c_bus_1_takes_bcm_2_and_3() {
    let valid = "valid: a BCM GPIO number other than 2 and 3, or the OLED on another I2C bus";
    assert_eq!(
        problems(
            "[display]\nkind = \"ssd1306\"\n\n[gpio]\nkind = \"rppal\"\ntrigger_pin = 2\n\
             exit_pin = 3\ndoor_pin = 4\n"
        ),
        [
            format!(
                "livegate.toml:6:15: gpio.trigger_pin: BCM 2 is used by the OLED's I2C bus 1 \
                 (SDA=BCM 2, SCL=BCM 3); {valid}"
            ),
            format!(
                "livegate.toml:7:12: gpio.exit_pin: BCM 3 is used by the OLED's I2C bus 1 \
                 (SDA=BCM 2, SCL=BCM 3); {valid}"
            ),
        ]
    );
    // The simulated panel takes no pins.
    assert!(matches!(
        parse_ok("[gpio]\nkind = \"rppal\"\ntrigger_pin = 2\nexit_pin = 3\n").gpio,
        GpioConfig::Rppal(_)
    ));
}

#[test]
fn oled_on_i2c_bus_0_takes_bcm_0_and_1() {
    assert_eq!(
        problem("[display]\nkind = \"ssd1306\"\nbus = 0\n[gpio]\nkind = \"rppal\"\ndoor_pin = 1\nexit_pin = 2\n"),
        "livegate.toml:6:12: gpio.door_pin: BCM 1 is used by the OLED's I2C bus 0 (SDA=BCM 0, \
         SCL=BCM 1); valid: a BCM GPIO number other than 0 and 1, or the OLED on another I2C \
         bus"
    );
}

#[test]
fn oled_on_i2c_bus_3_leaves_bcm_2_and_3_free() {
    let cfg = parse_ok(
        "[display]\nkind = \"ssd1306\"\nbus = 3\n[gpio]\nkind = \"rppal\"\ntrigger_pin = 2\n\
         exit_pin = 3\n",
    );
    let GpioConfig::Rppal(g) = cfg.gpio else {
        panic!("rppal")
    };
    assert_eq!(g.trigger.map(|i| i.line), Some(Bcm(2)));
    assert_eq!(g.exit.map(|i| i.line), Some(Bcm(3)));
}

#[test]
fn i2c_clash_is_blamed_on_the_display_when_it_comes_later() {
    assert_eq!(
        problem(
            "[gpio]\nkind = \"rppal\"\ntrigger_pin = 2\nexit_pin = 3\n[display]\n\
             kind = \"ssd1306\"\nbus = 1\n"
        ),
        "livegate.toml:7:7: display.bus: I2C bus 1 (SDA=BCM 2, SCL=BCM 3) needs pins already \
         used: BCM 2 by gpio.trigger_pin (line 3), BCM 3 by gpio.exit_pin (line 4); valid: \
         another bus, or other pins for gpio.trigger_pin and gpio.exit_pin"
    );
    // With the bus left at its default, the display's kind is the later key.
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\nexit_pin = 3\n[display]\nkind = \"ssd1306\"\n"),
        "livegate.toml:5:8: display.kind: \"ssd1306\" is on I2C bus 1 by default (SDA=BCM 2, \
         SCL=BCM 3), which needs pins already used: BCM 3 by gpio.exit_pin (line 3); valid: \
         display.bus set to another bus, or another pin for gpio.exit_pin"
    );
}

#[test]
fn input_settings_without_their_pin() {
    assert_eq!(
        problems(
            "[gpio]\nkind = \"rppal\"\ntrigger_pull = \"down\"\ntrigger_debounce = \"20ms\"\n\
             exit_edge = \"both\"\ndoor_open_level = \"low\"\ndoor_held_open_after = \"1min\"\n\
             door_pin = 24\n"
        ),
        [
            "livegate.toml:3:16: gpio.trigger_pull: has no effect without trigger_pin; valid: \
             set trigger_pin in [gpio] too, or remove this line",
            "livegate.toml:4:20: gpio.trigger_debounce: has no effect without trigger_pin; \
             valid: set trigger_pin in [gpio] too, or remove this line",
            "livegate.toml:5:13: gpio.exit_edge: has no effect without exit_pin; valid: set \
             exit_pin in [gpio] too, or remove this line",
        ]
    );
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\ndoor_debounce = \"20ms\"\n"),
        "livegate.toml:3:17: gpio.door_debounce: has no effect without door_pin; valid: set \
         door_pin in [gpio] too, or remove this line"
    );
}

#[test]
fn rppal_values() {
    assert_eq!(
        problems(
            "[gpio]\nkind = \"rppal\"\ngate_pulse = \"20s\"\ntrigger_pin = 22\n\
             trigger_pull = \"pullup\"\ntrigger_edge = \"fall\"\ntrigger_debounce = \"2s\"\n\
             door_pin = 24\ndoor_open_level = \"open\"\ndoor_held_open_after = \"500ms\"\n\
             gate_active_low = 1\n"
        ),
        [
            "livegate.toml:3:14: gpio.gate_pulse: \"20s\" is out of range; valid: a duration \
             from 100ms to 10s",
            "livegate.toml:5:16: gpio.trigger_pull: \"pullup\" is not valid; valid: \"up\", \
             \"down\" or \"off\"",
            "livegate.toml:6:16: gpio.trigger_edge: \"fall\" is not valid; valid: \"falling\", \
             \"rising\" or \"both\"",
            "livegate.toml:7:20: gpio.trigger_debounce: \"2s\" is out of range; valid: a \
             duration from 1ms to 1s",
            "livegate.toml:9:19: gpio.door_open_level: \"open\" is not valid; valid: \"high\" \
             or \"low\"",
            "livegate.toml:10:24: gpio.door_held_open_after: \"500ms\" is out of range; valid: \
             a duration from 1s to 10min",
            "livegate.toml:11:19: gpio.gate_active_low: expected true or false, found the \
             number 1; valid: true or false",
        ]
    );
}

// -- [gpio] kind = "cdev" -----------------------------------------------------

const LINE_VALID: &str = "valid: a line offset from 0 to 511 on the chip, or a line name in \
                          quotes (such as \"GPIO17\"; `gpioinfo` lists them)";

#[test]
fn cdev_defaults_and_every_key() {
    let cfg = parse_ok("[gpio]\nkind = \"cdev\"\n");
    assert_eq!(cfg.gpio, GpioConfig::Cdev(CdevGpioConfig::default()));
    assert_eq!(cfg.gpio.kind(), "cdev");
    let d = CdevGpioConfig::default();
    let chip0 = |o| ChipLine::new("/dev/gpiochip0", LineSpec::Offset(o));
    assert_eq!((d.gate.line, d.fail.line), (chip0(17), chip0(27)));
    let cfg = parse_ok(
        "[gpio]\nkind = \"cdev\"\nchip = \"/dev/gpiochip4\"\ngate_line = \"GPIO5\"\n\
         gate_active_low = false\ngate_pulse = \"2s\"\nfail_line = 511\nfail_active_low = false\n\
         fail_pulse = \"300ms\"\ntrigger_line = \"22\"\ntrigger_pull = \"down\"\n\
         trigger_edge = \"rising\"\ntrigger_debounce = \"20ms\"\nexit_line = 0\n\
         exit_pull = \"off\"\nexit_edge = \"both\"\nexit_debounce = \"1s\"\n\
         door_line = \"DOOR\"\ndoor_pull = \"off\"\ndoor_open_level = \"low\"\n\
         door_debounce = \"5ms\"\ndoor_held_open_after = \"2min\"\n",
    );
    let chip4 = |line| ChipLine::new("/dev/gpiochip4", line);
    assert_eq!(
        cfg.gpio,
        GpioConfig::Cdev(GpioLines {
            gate: relay(
                chip4(LineSpec::Name("GPIO5".to_owned())),
                false,
                Duration::from_secs(2)
            ),
            fail: relay(
                chip4(LineSpec::Offset(511)),
                false,
                Duration::from_millis(300)
            ),
            trigger: Some(InputOptions {
                line: chip4(LineSpec::Offset(22)),
                pull: Pull::Down,
                edge: Edge::Rising,
                debounce: Duration::from_millis(20),
            }),
            exit: Some(InputOptions {
                line: chip4(LineSpec::Offset(0)),
                pull: Pull::Off,
                edge: Edge::Both,
                debounce: Duration::from_secs(1),
            }),
            door: Some(DoorOptions {
                line: chip4(LineSpec::Name("DOOR".to_owned())),
                pull: Pull::Off,
                open_level_high: false,
                debounce: Duration::from_millis(5),
                held_open_after: Duration::from_secs(120),
            }),
            wiegand: Default::default(),
        })
    );
    assert_eq!(cfg.gpio.gate_pulse(), Duration::from_secs(2));
    assert_eq!(cfg.gpio.fail_pulse(), Duration::from_millis(300));
    // Simulation keeps the pulses and replaces the chip.
    assert_eq!(
        cfg.simulated().gpio,
        GpioConfig::Sim(SimGpioOptions {
            gate_pulse: Duration::from_secs(2),
            fail_pulse: Duration::from_millis(300),
            state_file: None,
        })
    );
    // The trigger input makes the gpio trigger valid.
    let cfg = parse_ok("[gpio]\nkind = \"cdev\"\ntrigger_line = 22\n[trigger]\nkind = \"gpio\"\n");
    assert_eq!(cfg.trigger, TriggerConfig::Gpio);
}

#[test]
fn cdev_lines_are_offsets_up_to_511_or_names() {
    assert_eq!(
        problems(
            "[gpio]\nkind = \"cdev\"\ngate_line = 512\nfail_line = -1\ntrigger_line = \"\"\n\
             exit_line = \"600\"\ndoor_line = 2.5\n"
        ),
        vec![
            format!("livegate.toml:3:13: gpio.gate_line: 512 is out of range; {LINE_VALID}"),
            format!("livegate.toml:4:13: gpio.fail_line: -1 is out of range; {LINE_VALID}"),
            format!("livegate.toml:5:16: gpio.trigger_line: the line name is empty; {LINE_VALID}"),
            format!("livegate.toml:6:13: gpio.exit_line: \"600\" is out of range; {LINE_VALID}"),
            format!(
                "livegate.toml:7:13: gpio.door_line: expected a number or a name in quotes, \
                 found the number 2.5; {LINE_VALID}"
            ),
        ]
    );
    assert_eq!(
        problem("[gpio]\nkind = \"cdev\"\nchip = \"gpiochip0\"\n"),
        "livegate.toml:3:8: gpio.chip: \"gpiochip0\" is a relative path; valid: an absolute \
         path, starting with \"/\""
    );
}

#[test]
fn cdev_line_used_twice() {
    assert_eq!(
        problem("[gpio]\nkind = \"cdev\"\nfail_line = 17\n"),
        "livegate.toml:3:13: gpio.fail_line: offset 17 is already used by gpio.gate_line (by \
         default); valid: a line no other input or output uses"
    );
    assert_eq!(
        problems(
            "[gpio]\nkind = \"cdev\"\ngate_line = \"RELAY1\"\nexit_line = \"BTN\"\n\
             trigger_line = \"BTN\"\ndoor_line = \"RELAY1\"\n"
        ),
        vec![
            "livegate.toml:5:16: gpio.trigger_line: the line named \"BTN\" is already used by \
             gpio.exit_line (line 4); valid: a line no other input or output uses",
            "livegate.toml:6:13: gpio.door_line: the line named \"RELAY1\" is already used by \
             gpio.gate_line (line 3); valid: a line no other input or output uses",
        ]
    );
    // The same number as an offset and inside a name are different lines.
    let cfg = parse_ok("[gpio]\nkind = \"cdev\"\nfail_line = \"17\"\ngate_line = \"GPIO17\"\n");
    let GpioConfig::Cdev(g) = cfg.gpio else {
        panic!("cdev")
    };
    assert_eq!(g.fail.line.line, LineSpec::Offset(17));
    assert_eq!(g.gate.line.line, LineSpec::Name("GPIO17".to_owned()));
}

#[test]
fn cdev_input_settings_need_their_line() {
    assert_eq!(
        problems("[gpio]\nkind = \"cdev\"\ntrigger_pull = \"down\"\ndoor_open_level = \"low\"\n"),
        vec![
            "livegate.toml:3:16: gpio.trigger_pull: has no effect without trigger_line; valid: \
             set trigger_line in [gpio] too, or remove this line",
            "livegate.toml:4:19: gpio.door_open_level: has no effect without door_line; valid: \
             set door_line in [gpio] too, or remove this line",
        ]
    );
    assert_eq!(
        problem("[gpio]\nkind = \"cdev\"\nexit_line = 23\n\n[trigger]\nkind = \"gpio\"\n"),
        "livegate.toml:6:8: trigger.kind: \"gpio\" needs gpio.trigger_line, which is not set; \
         valid: trigger_line in [gpio] set to the offset or name of the sensor or button's \
         line (such as trigger_line = 22); or another trigger kind: \"sim\" or \"socket\""
    );
}

#[test]
fn cdev_pulses_and_rppal_keys() {
    assert_eq!(
        problem("[gpio]\nkind = \"cdev\"\nfail_pulse = \"11s\"\n"),
        "livegate.toml:3:14: gpio.fail_pulse: \"11s\" is out of range; valid: a duration from \
         100ms to 10s"
    );
    assert_eq!(
        problem("[gpio]\nkind = \"cdev\"\ngate_pin = 17\n"),
        "livegate.toml:3:1: gpio.gate_pin: applies only to kind = \"rppal\"; valid keys in \
         [gpio] with kind = \"cdev\": kind, chip, gate_line, gate_active_low, gate_pulse, \
         fail_line, fail_active_low, fail_pulse, trigger_line, trigger_pull, trigger_edge, \
         trigger_debounce, exit_line, exit_pull, exit_edge, exit_debounce, door_line, \
         door_pull, door_open_level, door_debounce, door_held_open_after, \
         wiegand_out_d0_line, wiegand_out_d1_line, wiegand_in_d0_line, wiegand_in_d1_line"
    );
}

// -- [trigger] kind = "gpio" and "socket" --------------------------------------

#[test]
fn gpio_trigger_needs_the_rppal_kind() {
    assert_eq!(
        problem("[trigger]\nkind = \"gpio\"\n"),
        "livegate.toml:2:8: trigger.kind: \"gpio\" needs [gpio] kind = \"rppal\" with \
         trigger_pin set; valid: kind = \"rppal\" and trigger_pin = the BCM number of the \
         sensor or button, both in [gpio]; or another trigger kind: \"sim\" or \"socket\""
    );
}

#[test]
fn gpio_trigger_needs_trigger_pin() {
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\nexit_pin = 23\n\n[trigger]\nkind = \"gpio\"\n"),
        "livegate.toml:6:8: trigger.kind: \"gpio\" needs gpio.trigger_pin, which is not set; \
         valid: trigger_pin in [gpio] set to the BCM number of the sensor or button (such as \
         trigger_pin = 22); or another trigger kind: \"sim\" or \"socket\""
    );
    // A wrong trigger_pin or a wrong [gpio] kind is reported once, where it is.
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\ntrigger_pin = 99\n[trigger]\nkind = \"gpio\"\n"),
        "livegate.toml:3:15: gpio.trigger_pin: 99 is out of range; valid: a BCM GPIO number \
         from 0 to 27 (not the header pin number: header pin 11 is BCM 17)"
    );
    assert_eq!(
        problem("[gpio]\nkind = \"rpal\"\n[trigger]\nkind = \"gpio\"\n"),
        "livegate.toml:2:8: gpio.kind: \"rpal\" is not valid; valid: \"sim\", \"rppal\" or \"cdev\" \
         (did you mean \"rppal\"?)"
    );
    assert_eq!(
        parse_ok("[gpio]\nkind = \"rppal\"\ntrigger_pin = 22\n[trigger]\nkind = \"gpio\"\n")
            .trigger,
        TriggerConfig::Gpio
    );
}

#[test]
fn socket_mode_is_octal() {
    let mode = |text: &str| match parse_ok(text).trigger {
        TriggerConfig::Socket(s) => s.mode,
        other => panic!("expected socket, got {other:?}"),
    };
    assert_eq!(mode("[trigger]\nkind = \"socket\"\nmode = 0o600\n"), 0o600);
    assert_eq!(mode("[trigger]\nkind = \"socket\"\nmode = 0o620\n"), 0o620);
    assert_eq!(mode("[trigger]\nkind = \"socket\"\nmode = 0o660\n"), 0o660);
    // 432 is 0o660 in decimal: the value is what counts.
    assert_eq!(mode("[trigger]\nkind = \"socket\"\nmode = 432\n"), 0o660);
}

#[test]
fn socket_mode_problems() {
    let valid = "valid: an octal number from 0o600 to 0o660 with no permission for other users \
                 (last digit 0), such as 0o660";
    assert_eq!(
        problem("[trigger]\nkind = \"socket\"\nmode = 0o664\n"),
        format!(
            "livegate.toml:3:8: trigger.mode: 0o664 lets every user on the machine use the \
             socket; {valid}"
        )
    );
    assert_eq!(
        problem("[trigger]\nkind = \"socket\"\nmode = 0o700\n"),
        format!("livegate.toml:3:8: trigger.mode: 0o700 is out of range; {valid}")
    );
    assert_eq!(
        problem("[trigger]\nkind = \"socket\"\nmode = 660\n"),
        format!(
            "livegate.toml:3:8: trigger.mode: 660 (0o1224 in octal) is out of range; {valid} \
             (write it as an octal number: 0o660)"
        )
    );
    assert_eq!(
        problem("[trigger]\nkind = \"socket\"\nmode = \"0660\"\n"),
        format!(
            "livegate.toml:3:8: trigger.mode: expected a whole number, found text \"0660\"; \
             {valid} (write it without quotes, as an octal number: 0o660)"
        )
    );
    // The chmod spelling is a TOML syntax error.
    assert_eq!(
        problem("[trigger]\nkind = \"socket\"\nmode = 0640\n"),
        "livegate.toml:3:8: trigger.mode: 0640 starts with 0; valid: an octal number written \
         with 0o in front, such as 0o640"
    );
}

#[test]
fn socket_path_and_group() {
    assert_eq!(
        problems(
            "[trigger]\nkind = \"socket\"\npath = \"ctl.sock\"\ngroup = \"kiosk users\"\n\
             arrival = \"2s\"\n"
        ),
        [
            "livegate.toml:3:8: trigger.path: \"ctl.sock\" is a relative path; valid: an \
             absolute path, starting with \"/\"",
            "livegate.toml:4:9: trigger.group: \"kiosk users\" is not a group name; valid: the \
             name of a group in quotes, such as \"livegate\" (letters, digits, \"_\", \"-\" or \
             \".\", at most 32 characters)",
            "livegate.toml:5:1: trigger.arrival: applies only to kind = \"sim\"; valid keys in \
             [trigger] with kind = \"socket\": kind, path, group, mode",
        ]
    );
    assert_eq!(
        problem("[trigger]\nkind = \"gpio\"\ngroup = \"kiosk\"\n[gpio]\nkind = \"rppal\"\ntrigger_pin = 22\n"),
        "livegate.toml:3:1: trigger.group: applies only to kind = \"socket\"; valid keys in \
         [trigger] with kind = \"gpio\": kind"
    );
}

// ---------------------------------------------------------------------------
// [metrics]: the node_exporter textfile.

/// What `metrics.textfile` accepts, as every message about it says.
const PROM_VALID: &str = "valid: an absolute path ending in .prom, in the folder \
                          node_exporter's textfile collector reads, such as \
                          \"/var/lib/prometheus/node-exporter/livegate.prom\"";

#[test]
fn metrics_are_off_by_default_and_documented() {
    let d = Config::default();
    assert_eq!(
        d.metrics,
        MetricsConfig {
            textfile: None,
            interval: Duration::from_secs(15),
        }
    );
    let metrics = section(SHIPPED, "metrics");
    assert!(
        metrics.contains("\n#textfile = \"/var/lib/prometheus/node-exporter/livegate.prom\"\n"),
        "{metrics}"
    );
    assert!(metrics.contains("\ninterval = \"15s\"\n"), "{metrics}");
    assert!(
        metrics.contains("reads only files ending in\n# .prom"),
        "{metrics}"
    );
    assert!(
        metrics.contains("Valid: from \"5s\" to \"10min\"."),
        "{metrics}"
    );
    // The Pi example writes them.
    let pi = section(SHIPPED_PI, "metrics");
    assert!(
        pi.contains("\ntextfile = \"/var/lib/prometheus/node-exporter/livegate.prom\"\n"),
        "{pi}"
    );
    // Without a textfile the summary says nothing about metrics.
    assert!(!d.summary().contains("metrics"), "{}", d.summary());
}

#[test]
fn metrics_keys_are_read() {
    let cfg =
        parse_ok("[metrics]\ntextfile = \"/srv/textfile/gate-3.prom\"\ninterval = \"1min\"\n");
    assert_eq!(
        cfg.metrics,
        MetricsConfig {
            textfile: Some(PathBuf::from("/srv/textfile/gate-3.prom")),
            interval: Duration::from_secs(60),
        }
    );
    assert!(
        cfg.summary()
            .ends_with(", trigger sim, metrics /srv/textfile/gate-3.prom"),
        "{}",
        cfg.summary()
    );
    // The interval alone is allowed (the shipped example has it): nothing is written.
    let cfg = parse_ok("[metrics]\ninterval = \"30s\"\n");
    assert_eq!(cfg.metrics.textfile, None);
    assert_eq!(cfg.metrics.interval, Duration::from_secs(30));
}

#[test]
fn metrics_interval_bounds_are_inclusive() {
    assert_eq!(
        parse_ok("[metrics]\ninterval = \"5s\"\n").metrics.interval,
        Duration::from_secs(5)
    );
    assert_eq!(
        parse_ok("[metrics]\ninterval = \"10min\"\n")
            .metrics
            .interval,
        Duration::from_secs(600)
    );
    assert_eq!(
        problem("[metrics]\ninterval = \"4s\"\n"),
        "livegate.toml:2:12: metrics.interval: \"4s\" is out of range; valid: a duration \
         from 5s to 10min"
    );
    assert_eq!(
        problem("[metrics]\ninterval = \"601s\"\n"),
        "livegate.toml:2:12: metrics.interval: \"601s\" is out of range; valid: a duration \
         from 5s to 10min"
    );
    assert_eq!(
        problem("[metrics]\ninterval = 15\n"),
        "livegate.toml:2:12: metrics.interval: 15 is a bare number; write a duration such as \
         \"10s\" or \"500ms\"; valid: a duration from 5s to 10min"
    );
}

#[test]
fn metrics_textfile_must_be_absolute() {
    assert_eq!(
        problem("[metrics]\ntextfile = \"livegate.prom\"\n"),
        format!(
            "livegate.toml:2:12: metrics.textfile: \"livegate.prom\" is a relative path; \
             {PROM_VALID}"
        )
    );
    assert_eq!(
        problem("[metrics]\ntextfile = \"var/lib/prometheus/node-exporter/livegate.prom\"\n"),
        format!(
            "livegate.toml:2:12: metrics.textfile: \
             \"var/lib/prometheus/node-exporter/livegate.prom\" is a relative path; {PROM_VALID}"
        )
    );
}

#[test]
fn metrics_textfile_must_end_in_prom() {
    assert_eq!(
        problem("[metrics]\ntextfile = \"/var/lib/prometheus/node-exporter/livegate.txt\"\n"),
        format!(
            "livegate.toml:2:12: metrics.textfile: \
             \"/var/lib/prometheus/node-exporter/livegate.txt\" does not end in .prom \
             (node_exporter's textfile collector reads only *.prom files); {PROM_VALID}"
        )
    );
    // The folder alone is not a file.
    assert_eq!(
        problem("[metrics]\n  textfile = \"/var/lib/prometheus/node-exporter/\"\n"),
        format!(
            "livegate.toml:2:14: metrics.textfile: \"/var/lib/prometheus/node-exporter/\" does \
             not end in .prom (node_exporter's textfile collector reads only *.prom files); \
             {PROM_VALID}"
        )
    );
}

#[test]
fn metrics_textfile_empty_or_not_text() {
    assert_eq!(
        problem("[metrics]\ntextfile = \"\"\n"),
        format!("livegate.toml:2:12: metrics.textfile: the path is empty; {PROM_VALID}")
    );
    assert_eq!(
        problem("[metrics]\ntextfile = true\n"),
        format!(
            "livegate.toml:2:12: metrics.textfile: expected a path in quotes, found true; \
             {PROM_VALID}"
        )
    );
}

#[test]
fn metrics_unknown_and_misplaced_keys() {
    assert_eq!(
        problem("[metrics]\ntext_file = \"/x/livegate.prom\"\n"),
        "livegate.toml:2:1: metrics.text_file: unknown key; did you mean \"textfile\"? valid \
         keys in [metrics]: textfile, interval"
    );
    assert_eq!(
        problem("textfile = \"/x/livegate.prom\"\n[log]\n"),
        "livegate.toml:1:1: textfile: key outside any table; valid: put it below the \
         [metrics] line"
    );
    assert_eq!(
        problem("[metric]\ninterval = \"15s\"\n"),
        "livegate.toml:1:2: metric: unknown table; did you mean [metrics]? valid tables: \
         [api], [session], [camera], [presence], [display], [gpio], [trigger], [reader], [log], [metrics]"
    );
}

// ---------------------------------------------------------------------------
// All at once.

#[test]
fn several_mistakes_are_all_reported_in_file_order() {
    let text = r#"# livegate at the loading dock
[api]
mode = 0
part = "hands"
select = ["Turn_lef"]
key_file = "aigen-key"

[sesion]
cooldown = "3s"

[session]
action_timout = "10s"
frame_interval = 2
lockout = "2days"
lockout = "1h"

[camera]
kind = "sim"
fps = "10"
performer = "pas"

[log]
level = "verbose
"#;
    let ps = problems(text);
    let expected = [
        "livegate.toml:3:8: api.mode: 0 is out of range; valid: a whole number from 1 to 10",
        "livegate.toml:4:8: api.part: \"hands\" is not valid; valid: \"face\" or \"hand\" (did \
         you mean \"hand\"?)",
        "livegate.toml:5:11: api.select: \"Turn_lef\" is not a known action; did you mean \
         \"Turn_left\"?",
        "livegate.toml:6:12: api.key_file: \"aigen-key\" is a relative path; valid: an \
         absolute path, starting with \"/\"",
        "livegate.toml:8:2: sesion: unknown table; did you mean [session]? valid tables: \
         [api], [session], [camera], [presence], [display], [gpio], [trigger], [reader], [log], [metrics]",
        "livegate.toml:12:1: session.action_timout: unknown key; did you mean \
         \"action_timeout\"? valid keys in [session]: action_timeout, frame_interval, \
         first_frame_after, max_restarts, session_timeout, cooldown, verdict_screen, \
         max_failures, failure_window, lockout",
        "livegate.toml:13:18: session.frame_interval: 2 is a bare number; write a duration \
         such as \"10s\" or \"500ms\"; valid: a duration from 200ms to 5s",
        "livegate.toml:14:11: session.lockout: \"2days\" is out of range; valid: a duration \
         from 0s to 24h",
        "livegate.toml:15:1: session.lockout: this key is already set on line 14; valid: each \
         key once per table (delete one of the two lines)",
        "livegate.toml:19:7: camera.fps: expected a whole number, found text \"10\"; valid: a \
         whole number from 1 to 30 (write it without quotes: 10)",
        "livegate.toml:20:13: camera.performer: \"pas\" is not valid; valid: \"pass\", \
         \"fail\", \"spoof\", \"slow\" or \"absent\" (did you mean \"pass\"?)",
        "livegate.toml:23:17: log.level: the text has no closing quote; valid: text between \
         two double quotes on one line, such as \"face\"",
    ];
    assert_eq!(ps, expected);
}

#[test]
fn problems_are_displayed_one_per_line() {
    let err = Config::parse("[api]\nmode = 0\nretries = 9\n", "x.toml").expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "x.toml:2:8: api.mode: 0 is out of range; valid: a whole number from 1 to 10\n\
         x.toml:3:11: api.retries: 9 is out of range; valid: a whole number from 0 to 5"
    );
}

// ---------------------------------------------------------------------------
// The API key.

/// A fresh, empty folder for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("livegate-key-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Writes a key file closed to other users.
fn write_key(path: &Path, contents: impl AsRef<[u8]>) {
    std::fs::write(path, contents).expect("write");
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
}

fn with_key_file(path: &Path) -> Config {
    let mut cfg = Config::default();
    cfg.api.key_file = Some(path.to_owned());
    cfg
}

#[test]
fn key_file_is_read_and_trimmed() {
    let dir = scratch("trim");
    let path = dir.join("aigen-key");
    write_key(&path, "  k3y-Value-123\n\n");
    let key = with_key_file(&path).read_key().expect("reads");
    assert_eq!(key.expose(), "k3y-Value-123");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn empty_key_file_is_refused() {
    let dir = scratch("empty");
    let path = dir.join("aigen-key");
    write_key(&path, " \n\t\n");
    let err = with_key_file(&path).read_key().expect_err("empty");
    assert!(matches!(err, KeyError::Empty { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("the API key in {} is empty", path.display())
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn key_read_errors_never_show_the_key() {
    let dir = scratch("secret");
    let path = dir.join("aigen-key");
    // Not UTF-8: reading fails, and the message must not echo the content.
    let mut bytes = b"SECRET-KEY-4242".to_vec();
    bytes.push(0xff);
    write_key(&path, &bytes);
    let err = with_key_file(&path).read_key().expect_err("not text");
    assert!(matches!(err, KeyError::Read { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains(&path.display().to_string()), "{shown}");
    assert!(!shown.contains("SECRET"), "{shown}");

    let missing = dir.join("no-such-key");
    let err = with_key_file(&missing).read_key().expect_err("missing");
    assert!(
        err.to_string().starts_with(&format!(
            "cannot read the API key from {}: ",
            missing.display()
        )),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// The only test that touches `CREDENTIALS_DIRECTORY` (the environment is shared by
/// every test thread).
#[test]
fn key_comes_from_the_systemd_credential_when_no_key_file() {
    let dir = scratch("credentials");
    std::fs::write(dir.join("aigen-key"), "cred-key-9\n").expect("write");
    let cfg = Config::default();
    assert_eq!(cfg.api.key_file, None);

    std::env::set_var("CREDENTIALS_DIRECTORY", &dir);
    let found = cfg.read_key();
    std::fs::remove_file(dir.join("aigen-key")).expect("remove");
    let gone = cfg.read_key();
    std::env::remove_var("CREDENTIALS_DIRECTORY");
    let unset = cfg.read_key();

    assert_eq!(found.expect("reads the credential").expose(), "cred-key-9");
    assert!(matches!(gone, Err(KeyError::Read { .. })), "{gone:?}");
    match unset {
        Err(e @ KeyError::Missing) => assert_eq!(
            e.to_string(),
            "no API key: put it in /etc/livegate/aigen-key (beside the configuration), set \
             api.key_file, or run under systemd with LoadCredential=aigen-key:…"
        ),
        other => panic!("expected Missing, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// A file of the service's that the user may not read: say what to do (sudo, or
/// the livegate group), not only "Permission denied".
#[test]
fn permission_denied_says_to_use_sudo_or_join_the_group() {
    let denied = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
    let read = ConfigError::Read {
        path: "/etc/livegate/livegate.toml".into(),
        source: denied(),
    }
    .to_string();
    let key = KeyError::Read {
        path: "/etc/livegate/aigen-key".into(),
        cause: denied(),
    }
    .to_string();
    for text in [&read, &key] {
        assert!(text.contains("run the command with sudo"), "{text}");
        assert!(text.contains("sudo adduser $USER livegate"), "{text}");
    }
    assert!(
        read.starts_with("/etc/livegate/livegate.toml: cannot read: "),
        "{read}"
    );
    // Other errors get no advice about permissions.
    let missing = ConfigError::Read {
        path: "/x.toml".into(),
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    }
    .to_string();
    assert!(!missing.contains("sudo"), "{missing}");
}

#[test]
fn a_key_or_password_in_the_address_is_refused_and_never_echoed() {
    for url in [
        "https://apis.aigen.online/v1?aigen_key=SECRET123",
        "https://user:SECRET123@apis.aigen.online/v1",
    ] {
        let text = format!("[api]\nbase_url = \"{url}\"\n");
        let Err(ConfigError::Invalid(problems)) = Config::parse(&text, "f.toml") else {
            panic!("accepted {url}")
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        let shown = problems[0].to_string();
        assert!(
            shown.starts_with("f.toml:2:12: api.base_url: the address carries a key"),
            "{shown}"
        );
        assert!(!shown.contains("SECRET123"), "{shown}");
    }
}

// -- [reader] and the Wiegand lines --------------------------------------------

const IN_LINE: &str = "[gpio]\nkind = \"rppal\"\nwiegand_out_d0_pin = 5\nwiegand_out_d1_pin = 6\n\
                       wiegand_in_d0_pin = 12\nwiegand_in_d1_pin = 13\n\n[trigger]\nkind = \"wiegand\"\n\n\
                       [reader]\noutput = \"wiegand\"\n";

#[test]
fn in_line_wiegand_reads_its_lines_and_reader_settings() {
    let cfg = parse_ok(&format!(
        "{IN_LINE}format = \"34\"\npulse = \"80us\"\ninterval = \"1ms\"\n"
    ));
    let GpioConfig::Rppal(g) = &cfg.gpio else {
        panic!("rppal")
    };
    assert_eq!(g.wiegand.output(), Some((&Bcm(5), &Bcm(6))));
    assert_eq!(g.wiegand.input(), Some((&Bcm(12), &Bcm(13))));
    assert_eq!(cfg.trigger, TriggerConfig::Wiegand);
    assert_eq!(cfg.reader.output, "wiegand");
    assert_eq!(cfg.reader.format, "34");
    assert_eq!(cfg.reader.pulse, Duration::from_micros(80));
    assert_eq!(cfg.reader.interval, Duration::from_millis(1));
    assert_eq!(cfg.reader.show_card, "last4");
}

#[test]
fn wiegand_lines_clash_with_the_relays_and_the_oled() {
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\nwiegand_out_d0_pin = 17\nwiegand_out_d1_pin = 6\n"),
        "livegate.toml:3:22: gpio.wiegand_out_d0_pin: BCM 17 is already used by gpio.gate_pin \
         (by default); valid: a BCM GPIO number no other input or output uses"
    );
    assert_eq!(
        problem("[display]\nkind = \"ssd1306\"\n[gpio]\nkind = \"rppal\"\nwiegand_in_d0_pin = 3\nwiegand_in_d1_pin = 4\n"),
        "livegate.toml:5:21: gpio.wiegand_in_d0_pin: BCM 3 is used by the OLED's I2C bus 1 \
         (SDA=BCM 2, SCL=BCM 3); valid: a BCM GPIO number other than 2 and 3, or the OLED on \
         another I2C bus"
    );
    assert_eq!(
        problem("[gpio]\nkind = \"cdev\"\nwiegand_out_d0_line = 27\nwiegand_out_d1_line = 6\n"),
        "livegate.toml:3:23: gpio.wiegand_out_d0_line: offset 27 is already used by \
         gpio.fail_line (by default); valid: a line no other input or output uses"
    );
}

#[test]
fn wiegand_pairs_sources_and_timings_are_checked() {
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\nwiegand_out_d0_pin = 5\n"),
        "livegate.toml:3:22: gpio.wiegand_out_d0_pin: has no effect without \
         gpio.wiegand_out_d1_pin; valid: set both Wiegand lines of the pair, D0 and D1, or \
         neither"
    );
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\n[trigger]\nkind = \"wiegand\"\n"),
        "livegate.toml:4:8: trigger.kind: \"wiegand\" needs [gpio] kind = \"rppal\" or \
         \"cdev\" with wiegand_in_d0_pin and wiegand_in_d1_pin set; valid: both set to the \
         lines wired to the card reader's D0 and D1, or another trigger kind"
    );
    assert_eq!(
        problem("[gpio]\nkind = \"rppal\"\n[reader]\noutput = \"wiegand\"\non_pass = \"fixed\"\nfixed_card = \"1:2\"\n"),
        "livegate.toml:4:10: reader.output: \"wiegand\" needs gpio.wiegand_out_d0_pin and \
         gpio.wiegand_out_d1_pin, which are not set; valid: both set in [gpio] to the lines \
         wired to the panel's D0 and D1, or output = \"osdp\" or \"none\""
    );
    assert_eq!(
        problem("[reader]\noutput = \"osdp\"\n"),
        "livegate.toml:2:10: reader.on_pass: \"card\" sends the card that started the \
         session, but [trigger] kind = \"sim\" reads no card; valid: [trigger] kind = \
         \"wiegand\" (in-line mode), or on_pass = \"fixed\" with fixed_card"
    );
    assert_eq!(
        problem("[reader]\npulse = \"150us\"\n"),
        "livegate.toml:2:9: reader.pulse: \"150us\" is out of range; valid: a duration from \
         20us to 100us"
    );
    assert_eq!(
        problem("[reader]\ninterval = \"100us\"\n"),
        "livegate.toml:2:12: reader.interval: \"100us\" is out of range; valid: a duration \
         from 200us to 20ms"
    );
    assert_eq!(
        problem("[reader]\nfixed_card = \"300:1\"\n"),
        "livegate.toml:2:14: reader.fixed_card: facility code 300 does not fit the 26-bit \
         format (0 to 255); valid: a card of the 26-bit format (reader.format), or another format"
    );
    assert_eq!(
        problem("[reader]\ndeny_card = \"one\"\n"),
        "livegate.toml:2:13: reader.deny_card: \"one\" is not a card number: write NUMBER or \
         FACILITY:NUMBER, e.g. 12345 or 18:12345; valid: a card number in quotes: \"NUMBER\" \
         or \"FACILITY:NUMBER\", such as \"18:12345\""
    );
    parse_ok(&format!(
        "{IN_LINE}on_pass = \"card\"\ndeny_card = \"0:1\"\n"
    ));
}

#[test]
fn a_key_file_open_to_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("osdp-key");
    let key = dir.join("osdp-key");
    std::fs::write(&key, "00112233445566778899aabbccddeeff\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = format!(
        "[reader]\noutput = \"osdp\"\non_pass = \"fixed\"\nfixed_card = \"1:2\"\nosdp_key_file = \"{}\"\n",
        key.display()
    );
    assert_eq!(
        problem(&text),
        format!(
            "livegate.toml:5:17: reader.osdp_key_file: {} can be read by other users (mode \
             0644); valid: a file closed to others (chmod 600 or 640)",
            key.display()
        )
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    parse_ok(&text);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// [presence]

#[test]
fn presence_keys_become_the_cores_params() {
    let cfg = parse_ok(
        "[presence]\nconsecutive = 5\nmin_face = 0.2\nmax_centre_offset = 0.1\n\
         look_every = \"250ms\"\nempty_to_leave = 4\n[trigger]\nkind = \"camera\"\n",
    );
    assert_eq!(cfg.trigger.kind(), "camera");
    let p = cfg.presence_params().expect("on by default");
    assert_eq!(p.consecutive, 5);
    assert!((p.min_face_width - 0.2).abs() < 1e-6);
    assert!((p.max_centre_offset - 0.1).abs() < 1e-6);
    assert_eq!(p.look_every, Duration::from_millis(250));
    assert_eq!(p.empty_to_leave, 4);
    assert_eq!(p.check(), Ok(()));
    assert_eq!(cfg.daemon_settings().presence, Some(p));
    // Whole numbers are numbers too; off means no detector at all.
    let cfg = parse_ok("[presence]\nenabled = false\nmin_face = 0.9\nmax_centre_offset = 0.5\n");
    assert!(
        (cfg.presence.min_face - 0.9).abs() < 1e-6,
        "bounds are inclusive"
    );
    assert_eq!(cfg.presence_params(), None);
    assert_eq!(cfg.daemon_settings().presence, None);
    // The shipped files turn it on, with the defaults.
    assert!(parse_ok(SHIPPED).presence.enabled);
    assert_eq!(parse_ok(SHIPPED_PI).presence, parse_ok(SHIPPED).presence);
}

#[test]
fn presence_values_out_of_range_or_of_the_wrong_type_are_refused_where_they_are() {
    assert_eq!(
        problems(
            "[presence]\nmin_face = 0.05\nmax_centre_offset = \"0.3\"\nconsecutive = 0\n\
             look_every = 2\nmax_centre_offset2 = 1\n"
        ),
        vec![
            "livegate.toml:2:12: presence.min_face: 0.05 is out of range; valid: a number from 0.125 to 0.9",
            "livegate.toml:3:21: presence.max_centre_offset: expected a number without quotes, found text \"0.3\"; valid: a number from 0.05 to 0.5",
            "livegate.toml:4:15: presence.consecutive: 0 is out of range; valid: a whole number from 1 to 20",
            "livegate.toml:5:14: presence.look_every: 2 is a bare number; write a duration such as \"10s\" or \"500ms\"; valid: a duration from 100ms to 5s",
            "livegate.toml:6:1: presence.max_centre_offset2: unknown key; did you mean \"max_centre_offset\"? valid keys in [presence]: enabled, consecutive, min_face, max_centre_offset, look_every, empty_to_leave",
        ]
    );
    assert_eq!(
        problem("[presence]\nmin_face = nan\n"),
        "livegate.toml:2:12: presence.min_face: nan is out of range; valid: a number from 0.125 to 0.9"
    );
}

#[test]
fn the_camera_trigger_needs_the_detector() {
    assert_eq!(
        problem("[presence]\nenabled = false\n[trigger]\nkind = \"camera\"\n"),
        "livegate.toml:2:11: presence.enabled: false, but [trigger] kind = \"camera\" needs the face detector; valid: true, or another trigger kind"
    );
    // A detector off in a file that does not say so: at the trigger (only a
    // reload keeps a running value; a file always has the default, on).
    parse_ok("[trigger]\nkind = \"camera\"\n");
}

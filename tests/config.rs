//! The configuration file as a technician meets it: the shipped example, the defaults,
//! and one test per likely mistake, with the exact message it produces.

use std::path::{Path, PathBuf};
use std::time::Duration;

use livegate::actions::Part;
use livegate::config::{
    CameraConfig, Config, ConfigError, DisplayConfig, GpioConfig, KeyError, Performer, Problem,
    SimCameraConfig, SimDisplayConfig, SimGpioConfig, SimTriggerConfig, TriggerConfig,
};

const SHIPPED: &str = include_str!("../config/livegate.toml");

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

#[test]
fn shipped_example_mentions_check_config_and_sim_only_camera() {
    assert!(SHIPPED.contains("Check your edits with: livegate check-config"));
    let camera = &SHIPPED[SHIPPED.find("[camera]").expect("has [camera]")..];
    let camera = &camera[..camera.find("[display]").expect("has [display]")];
    assert!(camera.contains("Only \"sim\""), "{camera}");
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
    want.camera = CameraConfig::Sim(SimCameraConfig {
        performer: Performer::Slow,
        reaction: Duration::ZERO,
        fps: 30,
        width: 320,
        height: 240,
        jpeg_quality: 95,
    });
    want.display = DisplayConfig::Sim(SimDisplayConfig {
        terminal: false,
        png_dir: Some(PathBuf::from("screens")),
    });
    want.gpio = GpioConfig::Sim(SimGpioConfig {
        gate_pulse: Duration::from_secs(2),
        fail_pulse: Duration::from_millis(100),
    });
    want.trigger = TriggerConfig::Sim(SimTriggerConfig {
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
         valid keys in [session]: action_timeout, frame_interval, max_restarts, \
         session_timeout, cooldown, verdict_screen, max_failures, failure_window, lockout"
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
         [display], [gpio], [trigger], [log]"
    );
}

#[test]
fn typo_in_a_table_name() {
    assert_eq!(
        problem("[api]\nmode = 3\n\n[sesion]\ncooldown = \"3s\"\n"),
        "livegate.toml:4:2: sesion: unknown table; did you mean [session]? valid tables: \
         [api], [session], [camera], [display], [gpio], [trigger], [log]"
    );
}

#[test]
fn key_before_any_table() {
    assert_eq!(
        problem("mode = 3\n[api]\n"),
        "livegate.toml:1:1: mode: key outside any table; valid: put it below the [api] line"
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
fn kind_that_does_not_exist_yet() {
    assert_eq!(
        problem("[camera]\nkind = \"v4l2\"\n"),
        "livegate.toml:2:8: camera.kind: \"v4l2\" is not valid; valid: \"sim\""
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
         [api], [session], [camera], [display], [gpio], [trigger], [log]",
        "livegate.toml:12:1: session.action_timout: unknown key; did you mean \
         \"action_timeout\"? valid keys in [session]: action_timeout, frame_interval, \
         max_restarts, session_timeout, cooldown, verdict_screen, max_failures, \
         failure_window, lockout",
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

fn with_key_file(path: &Path) -> Config {
    let mut cfg = Config::default();
    cfg.api.key_file = Some(path.to_owned());
    cfg
}

#[test]
fn key_file_is_read_and_trimmed() {
    let dir = scratch("trim");
    let path = dir.join("aigen-key");
    std::fs::write(&path, "  k3y-Value-123\n\n").expect("write");
    let key = with_key_file(&path).read_key().expect("reads");
    assert_eq!(key.expose(), "k3y-Value-123");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn empty_key_file_is_refused() {
    let dir = scratch("empty");
    let path = dir.join("aigen-key");
    std::fs::write(&path, " \n\t\n").expect("write");
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
    std::fs::write(&path, &bytes).expect("write");
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
            "no API key: set api.key_file, or run under systemd with LoadCredential=aigen-key:…"
        ),
        other => panic!("expected Missing, got {other:?}"),
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}

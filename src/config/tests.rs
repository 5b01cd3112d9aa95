//! Unit tests of the configuration's parts; the file as a technician meets it is
//! tested in `tests/config.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use toml::de::DeTable;

use super::checker::Checker;
use super::decl::*;
use super::keys::*;
use super::syntax::*;
use super::words::*;
use super::*;
use crate::actions::Part;

const SHIPPED: &str = include_str!("../../config/livegate.toml");

#[test]
fn suggestions_only_when_close() {
    let session = keys_of_table("session");
    assert_eq!(
        suggest("action_timout", session.iter().copied()),
        Some("action_timeout")
    );
    assert_eq!(
        suggest("Cooldown", session.iter().copied()),
        Some("cooldown")
    );
    assert_eq!(suggest("lockot", session.iter().copied()), Some("lockout"));
    assert_eq!(suggest("colour", session.iter().copied()), None);
    assert_eq!(suggest("x", ["fps", "kind"]), None);
    assert_eq!(suggest("fsp", ["fps", "kind"]), Some("fps"));
    assert_eq!(suggest("ab", ["api"]), None);
    assert_eq!(suggest("sesion", TABLES), Some("session"));
    assert_eq!(suggest("hands", PARTS.iter().copied()), Some("hand"));
    assert_eq!(suggest("network", TABLES), None);
}

#[test]
fn durations_show_as_written() {
    assert_eq!(show(Duration::ZERO), "0s");
    assert_eq!(show(Duration::from_millis(200)), "200ms");
    assert_eq!(show(Duration::from_millis(1500)), "1500ms");
    assert_eq!(show(Duration::from_secs(60)), "60s");
    assert_eq!(show(Duration::from_secs(180)), "3min");
    assert_eq!(show(Duration::from_secs(3600)), "1h");
    assert_eq!(show(Duration::from_secs(86_400)), "24h");
    assert_eq!(show(Duration::from_nanos(1_500)), "1us 500ns");
}

#[test]
fn word_lists() {
    assert_eq!(one_of(&["sim"]), "\"sim\"");
    assert_eq!(one_of(&["face", "hand"]), "\"face\" or \"hand\"");
    assert_eq!(one_of(&["a", "b", "c"]), "\"a\", \"b\" or \"c\"");
    assert_eq!(
        table_list(),
        "[api], [session], [camera], [presence], [display], [gpio], [trigger], [reader], [log], \
         [metrics]"
    );
}

#[test]
fn numbers_show_as_written() {
    assert_eq!(number(60, true), "0x3C");
    assert_eq!(number(5, true), "0x05");
    assert_eq!(number(60, false), "60");
    assert_eq!(number_octal(0o660), "0o660");
    assert_eq!(number_octal(432), "0o660");
}

#[test]
fn hints_for_numbers_in_quotes() {
    assert_eq!(
        decimal_hint("3").as_deref(),
        Some("write it without quotes: 3")
    );
    assert_eq!(
        decimal_hint("0x3C").as_deref(),
        Some("write it without quotes: 0x3C")
    );
    assert_eq!(decimal_hint("three"), None);
    assert_eq!(
        pin_hint("BCM 17").as_deref(),
        Some("write the BCM number without quotes: 17")
    );
    assert_eq!(
        pin_hint("gpio4").as_deref(),
        Some("write the BCM number without quotes: 4")
    );
    assert_eq!(pin_hint("pin 11"), None);
    assert_eq!(
        mode_hint("0660").as_deref(),
        Some("write it without quotes, as an octal number: 0o660")
    );
    assert_eq!(
        mode_hint("0o600").as_deref(),
        Some("write it without quotes, as an octal number: 0o600")
    );
    assert_eq!(mode_hint("rw-rw----"), None);
    assert_eq!(mode_hint("0"), None);
}

#[test]
fn header_pins_above_bcm_27() {
    assert_eq!(header_to_bcm(40), Some(21));
    assert_eq!(header_to_bcm(28), Some(1));
    assert_eq!(header_to_bcm(37), Some(26));
    // Ground pins.
    assert_eq!(header_to_bcm(30), None);
    assert_eq!(header_to_bcm(34), None);
    assert_eq!(header_to_bcm(39), None);
    assert_eq!(header_to_bcm(41), None);
}

#[test]
fn chmod_style_modes() {
    assert_eq!(
        octal_message("mode = 0640 # group may read"),
        "0640 starts with 0; valid: an octal number written with 0o in front, such as 0o640"
    );
    assert_eq!(
        octal_message("mode = 0999"),
        "0999 starts with 0; valid: an octal number written with 0o in front, such as 0o660"
    );
}

#[test]
fn rotations_are_the_rotation_type_s_degrees() {
    for key in [v4l2::rotation, ssd1306::rotation] {
        let Rule::Ints { values, hex: false } = key.spec().rule else {
            panic!("rotations are decimal numbers");
        };
        let degrees: Vec<i64> = Rotation::ALL
            .iter()
            .map(|r| i64::from(r.degrees()))
            .collect();
        assert_eq!(values, degrees.as_slice());
    }
}

#[test]
fn every_line_key_is_in_its_kind() {
    for (kind, lines) in [("rppal", RPPAL_LINES.specs()), ("cdev", CDEV_LINES.specs())] {
        let kind = GPIO.kinds.iter().find(|k| k.name == kind).expect("kind");
        let line_keys: Vec<&str> = kind
            .keys
            .iter()
            .filter(|k| matches!(k.rule, Rule::Pin | Rule::Line))
            .map(|k| k.name)
            .collect();
        let listed: Vec<&str> = lines.iter().map(|k| k.name).collect();
        assert_eq!(line_keys, listed);
    }
    for (line, keys) in RPPAL_LINES.inputs() {
        let rppal = GPIO
            .kinds
            .iter()
            .find(|k| k.name == "rppal")
            .expect("rppal");
        assert!(rppal.keys.iter().any(|k| k.name == line.name));
        for k in keys {
            assert!(
                rppal.keys.iter().any(|key| key.name == k.name),
                "{}",
                k.name
            );
        }
    }
    let rppal = GPIO
        .kinds
        .iter()
        .find(|k| k.name == "rppal")
        .expect("rppal");
    assert_eq!(rppal.keys.len(), 23);
}

#[test]
fn positions_are_one_based_and_count_characters() {
    let ck = Checker::new("ab\n\u{e9}t\u{e9} = 1\n", "f");
    assert_eq!(ck.pos(0), (1, 1));
    assert_eq!(ck.pos(2), (1, 3));
    assert_eq!(ck.pos(3), (2, 1));
    // "été" is 5 bytes, 3 characters.
    assert_eq!(ck.pos(3 + 5), (2, 4));
    assert_eq!(ck.pos(1000), (3, 1));
}

#[test]
fn line_helpers() {
    assert_eq!(header_name("[session]").as_deref(), Some("session"));
    assert_eq!(header_name("  [[camera]] # c").as_deref(), Some("camera"));
    assert_eq!(header_name("[sesion").as_deref(), Some("sesion"));
    assert_eq!(header_name("mode = 3"), None);
    assert_eq!(line_key("  mode = 3").as_deref(), Some("mode"));
    assert_eq!(line_key("retries 2").as_deref(), Some("retries"));
    assert_eq!(line_key("  \"Smile\","), None);
    assert_eq!(line_key("# mode = 3"), None);
    assert_eq!(open_brackets("select = [\"a\", # ]"), 1);
    assert_eq!(open_brackets("x = \"[\" ]"), -1);
    assert_eq!(open_brackets("x = '[' \"\\\"[\""), 0);
}

#[test]
fn syntax_errors_are_labelled_with_their_key() {
    let text = "[api]\nselect = [\n  \"Smile\"\n  \"Turn_left\",\n]\nretries 2\n";
    let ck = Checker::new(text, "f");
    assert_eq!(ck.context_label(4), "api.select");
    assert_eq!(ck.context_label(6), "api.retries");
    assert_eq!(ck.context_label(1), "api");
    assert_eq!(Checker::new("= 3\n", "f").context_label(1), "syntax");
}

#[test]
fn choices_match_the_types_they_name() {
    let Rule::Choice(performers) = sim_camera::performer.spec().rule else {
        panic!("a choice");
    };
    assert_eq!(performers, Performer::WORDS);
    for p in PARTS {
        assert_eq!(<Part as Choice>::parse(p).map(Part::as_str), Some(*p));
    }
}

#[test]
fn every_table_has_distinct_keys_and_kind_is_reserved() {
    for t in TABLES {
        let keys = keys_of_table(t);
        assert!(!keys.is_empty(), "{t}");
        let set: BTreeSet<_> = keys.iter().collect();
        assert_eq!(set.len(), keys.len(), "{t}");
    }
    fn no_kind<T>(d: &Device<T>) {
        assert!(!d.kinds.is_empty(), "{}", d.table);
        for k in d.kinds {
            assert!(k.keys.iter().all(|key| key.name != "kind"), "{}", d.table);
        }
    }
    no_kind(&CAMERA);
    no_kind(&DISPLAY);
    no_kind(&GPIO);
    no_kind(&TRIGGER);
}

/// The shipped example documents every key, in its own table (optional paths may be
/// commented out).
#[test]
fn shipped_example_documents_every_key() {
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut table = String::new();
    for line in SHIPPED.lines() {
        if let Some(h) = header_name(line) {
            table = h;
        } else if let Some(k) = line_key(line.trim_start().trim_start_matches('#')) {
            if line.contains('=') {
                found.insert(format!("{table}.{k}"));
            }
        }
    }
    for t in TABLES {
        for k in keys_of_table(t) {
            assert!(
                found.contains(&format!("{t}.{k}")),
                "{t}.{k} is not in the example"
            );
        }
    }
}

// A device with two kinds, to exercise the per-kind schema.
const FPS_A: Key<u32> = Key::declare("fps", rule::int(1, 30), || 0);
const FPS_B: Key<u32> = Key::declare("fps", rule::int(1, 60), || 0);
const DEVICE_B: Key<std::path::PathBuf> =
    Key::declare("device", rule::path(true), std::path::PathBuf::new);
fn build_a(f: &Fields) -> (&'static str, u32) {
    ("a", f.get_or_default(FPS_A))
}
fn build_b(f: &Fields) -> (&'static str, u32) {
    ("b", f.get_or_default(FPS_B))
}
const TWO: Device<(&'static str, u32)> = Device {
    table: "camera",
    kinds: &[
        Kind {
            name: "a",
            keys: &[FPS_A.spec()],
            build: build_a,
        },
        Kind {
            name: "b",
            keys: &[DEVICE_B.spec(), FPS_B.spec()],
            build: build_b,
        },
    ],
};

fn run_two(text: &str) -> ((&'static str, u32), Vec<String>) {
    let mut ck = Checker::new(text, "t.toml");
    let (root, errors) = DeTable::parse_recoverable(text);
    assert!(errors.is_empty(), "{errors:?}");
    let tables = ck.top_level(root.get_ref());
    let t = tables.iter().find(|(n, _)| *n == "camera").map(|(_, t)| *t);
    let (built, _) = ck.check_device(&TWO, t);
    (built, ck.problems.iter().map(|p| p.to_string()).collect())
}

#[test]
fn device_kind_selects_its_keys() {
    assert_eq!(run_two(""), (("a", 0), vec![]));
    assert_eq!(run_two("[camera]\nfps = 20\n"), (("a", 20), vec![]));
    assert_eq!(
        run_two("[camera]\nkind = \"b\"\ndevice = \"/dev/video0\"\nfps = 50\n"),
        (("b", 50), vec![])
    );
    assert_eq!(
        run_two("[camera]\nfps = 50\n").1,
        ["t.toml:2:7: camera.fps: 50 is out of range; valid: a whole number from 1 to 30"]
    );
}

#[test]
fn device_key_of_another_kind_says_which() {
    assert_eq!(
        run_two("[camera]\ndevice = \"/dev/video0\"\nfsp = 3\n").1,
        [
            "t.toml:2:1: camera.device: applies only to kind = \"b\"; valid keys in \
             [camera] with kind = \"a\": kind, fps",
            "t.toml:3:1: camera.fsp: unknown key; did you mean \"fps\"? valid keys in \
             [camera] with kind = \"a\": kind, fps",
        ]
    );
}

#[test]
fn device_unknown_kind_checks_known_values_only() {
    let (built, problems) = run_two("[camera]\nkind = \"c\"\nzoom = 2\ndevice = \"video0\"\n");
    assert_eq!(built, ("a", 0));
    assert_eq!(
        problems,
        [
            "t.toml:2:8: camera.kind: \"c\" is not valid; valid: \"a\" or \"b\"",
            "t.toml:4:10: camera.device: \"video0\" is a relative path; valid: an \
             absolute path, starting with \"/\"",
        ]
    );
}

#[test]
fn fields_fall_back_when_types_do_not_fit() {
    let mut f = Fields::default();
    f.got.insert("fps", (Val::Int(300), 0..1));
    f.got.insert("terminal", (Val::Bool(true), 0..1));
    const FPS8: Key<u8> = Key::declare("fps", rule::int(0, 255), || 7);
    const FPS_DUR: Key<Duration> = Key::declare("fps", rule::dur(0, 1), || Duration::ZERO);
    const TERMINAL: Key<bool> = Key::declare("terminal", rule::boolean(), || false);
    const MISSING: Key<String> = Key::declare("missing", rule::url(), String::new);
    assert_eq!(f.get(FPS8), None);
    assert_eq!(f.get_or_default(FPS8), 7);
    assert_eq!(f.get(FPS_A), Some(300));
    assert_eq!(f.get(FPS_DUR), None);
    assert_eq!(f.get(TERMINAL), Some(true));
    assert_eq!(f.get(MISSING), None);
    assert!(f.ok(MISSING));
}

#[test]
fn blanking_keeps_offsets() {
    let text = "[api]\nretries 2\n[session]\ncooldown = 3\n";
    let ck = Checker::new(text, "f");
    let (clean, errors) = ck.syntax_errors();
    assert_eq!(clean.len(), text.len());
    assert_eq!(clean, "[api]\n         \n[session]\ncooldown = 3\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(ck.pos(errors[0].span.start), (2, 9));
}

#[test]
fn an_open_list_is_blamed_not_its_echoes() {
    let text = "[api]\nselect = [\"Smile\",\n  \"Look_up\",\nmode = 0\n";
    let ck = Checker::new(text, "f");
    let (clean, errors) = ck.syntax_errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].message, "unclosed array, expected `]`");
    assert_eq!(ck.pos(errors[0].span.start), (2, 19));
    assert!(clean.ends_with("mode = 0\n"));
}

/// The first action screen of a session under `cfg` whose first action is `first`.
fn first_screen(cfg: &Config, first: &str) -> Option<String> {
    use crate::api::{Answer, ApiError};
    use crate::display::Screen;
    use crate::session::{Command, Event, Session};

    let t0 = std::time::Instant::now();
    let (mut s, _) = Session::start(cfg.session_params(), t0);
    let body = format!(r#"{{"request_id":"r","status":"processing","next_choice":"{first}"}}"#);
    let answer = Answer::parse(body.as_bytes()).map_err(|e| ApiError::Garbled(e.0));
    let cmds = s.handle(t0, Event::Sequence(answer));
    cmds.into_iter().find_map(|c| match c {
        Command::Show(Screen::Action { action, .. }) => Some(action),
        _ => None,
    })
}

#[test]
fn the_person_is_asked_for_the_other_side_when_left_means_the_image() {
    let mut cfg = Config::default();
    assert_eq!(
        first_screen(&cfg, "Turn_left").as_deref(),
        Some("Turn_left")
    );
    cfg.camera = CameraConfig::V4l2(V4l2CameraConfig {
        left_is: LeftIs::Image,
        ..V4l2CameraConfig::default()
    });
    assert_eq!(
        first_screen(&cfg, "Turn_left").as_deref(),
        Some("Turn_right")
    );
    assert_eq!(
        first_screen(&cfg, "Ok_right_hand").as_deref(),
        Some("Ok_left_hand")
    );
    cfg.camera = CameraConfig::V4l2(V4l2CameraConfig {
        left_is: LeftIs::Person,
        ..V4l2CameraConfig::default()
    });
    assert_eq!(
        first_screen(&cfg, "Turn_left").as_deref(),
        Some("Turn_left")
    );
}

#[test]
fn a_replay_directory_is_checked_with_its_position() {
    fn problems(text: &str) -> Vec<String> {
        match Config::parse_partial(text, "t.toml").1 {
            Ok(()) => Vec::new(),
            Err(e) => e.to_string().lines().map(str::to_owned).collect(),
        }
    }
    let dir = std::env::temp_dir().join(format!(
        "livegate-cfg-replay-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let text = |path: &std::path::Path| {
        format!(
            "[camera]\nkind = \"replay\"\npath = \"{}\"\nwidth = 320\nheight = 240\n",
            path.display()
        )
    };
    let (cfg, ok) = Config::parse_partial(&text(&dir), "t.toml");
    assert_eq!(
        problems(&text(&dir)),
        [format!(
            "t.toml:3:8: camera.path: no frames in {} (expected *.jpg, *.jpeg or *.yuyv files)",
            dir.display()
        )]
    );
    assert!(ok.is_err());
    let CameraConfig::Replay(c) = &cfg.camera else {
        panic!("{:?}", cfg.camera);
    };
    assert_eq!((c.width, c.height, c.fps), (320, 240, 10));
    std::fs::write(dir.join("0001.yuyv"), vec![128u8; 320 * 240 * 2]).unwrap();
    assert_eq!(problems(&text(&dir)), Vec::<String>::new());
    std::fs::write(dir.join("0002.yuyv"), vec![128u8; 100]).unwrap();
    assert_eq!(
        problems(&text(&dir)),
        [format!(
            "t.toml:4:9: camera.width: {} is 100 bytes; a 320x240 YUYV frame is 153600 bytes \
             ([camera] width x height x 2)",
            dir.join("0002.yuyv").display()
        )]
    );
    let gone = dir.join("gone");
    let p = problems(&text(&gone));
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with(&format!(
            "t.toml:3:8: camera.path: cannot read the frame directory {}:",
            gone.display()
        )),
        "{p:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

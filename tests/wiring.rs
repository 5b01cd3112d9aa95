//! docs/wiring.svg is drawn from the README's two wiring tables ("Wiring" and "The
//! gate side"), which are the one source of truth: this test parses them, checks them
//! against the Raspberry Pi's 40-pin header and config/livegate-pi.toml, draws the
//! picture and compares it with the committed file. It fails when the tables and the
//! picture disagree; `LIVEGATE_BLESS=1 cargo test --test wiring` redraws it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

// --- The header ---------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    V5,
    V3,
    Gnd,
    Gpio(u8),
}

/// What each of the 40 pins carries (the same on every 40-pin Raspberry Pi).
fn header_pin(pin: u8) -> Signal {
    use Signal::*;
    const BCM: [(u8, u8); 26] = [
        (3, 2),
        (5, 3),
        (7, 4),
        (8, 14),
        (10, 15),
        (11, 17),
        (12, 18),
        (13, 27),
        (15, 22),
        (16, 23),
        (18, 24),
        (19, 10),
        (21, 9),
        (22, 25),
        (23, 11),
        (24, 8),
        (26, 7),
        (27, 0),
        (28, 1),
        (29, 5),
        (31, 6),
        (32, 12),
        (33, 13),
        (35, 19),
        (36, 16),
        (37, 26),
    ];
    match pin {
        1 | 17 => V3,
        2 | 4 => V5,
        6 | 9 | 14 | 20 | 25 | 30 | 34 | 39 => Gnd,
        38 => Gpio(20),
        40 => Gpio(21),
        _ => match BCM.iter().find(|(p, _)| *p == pin) {
            Some((_, bcm)) => Gpio(*bcm),
            None => panic!("there is no header pin {pin}"),
        },
    }
}

fn signal_name(s: Signal) -> String {
    match s {
        Signal::V5 => "5 V".into(),
        Signal::V3 => "3.3 V".into(),
        Signal::Gnd => "GND".into(),
        Signal::Gpio(2) => "GPIO2 SDA".into(),
        Signal::Gpio(3) => "GPIO3 SCL".into(),
        Signal::Gpio(n) => format!("GPIO{n}"),
    }
}

fn wire_colour(s: Signal, nth_gpio: usize) -> &'static str {
    const GPIO: [&str; 6] = [
        "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    ];
    match s {
        Signal::V5 => "#d62728",
        Signal::V3 => "#ff7f0e",
        Signal::Gnd => "#222222",
        Signal::Gpio(_) => GPIO[nth_gpio % GPIO.len()],
    }
}

// --- The README's tables --------------------------------------------------------------

/// One row of the Wiring table: a wire from the Pi to a device's terminal.
#[derive(Debug)]
struct Wire {
    /// A header pin, or None for "any USB port".
    pin: Option<u8>,
    device: String,
    terminal: String,
}

/// One row of the gate-side table: a relay contact and where it goes.
#[derive(Debug)]
struct Contact {
    terminal: String,
    /// (device, terminal), or None for "not connected".
    to: Option<(String, String)>,
}

fn readme() -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md")
}

/// The first table under the heading `heading` (any level), as rows of cells keyed by
/// the header row's names.
fn table(readme: &str, heading: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = readme
        .lines()
        .skip_while(|l| !(l.starts_with('#') && l.trim_start_matches('#').trim() == heading));
    assert!(lines.next().is_some(), "README has no heading {heading:?}");
    let rows: Vec<Vec<String>> = lines
        .take_while(|l| !l.starts_with('#'))
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect();
    assert!(rows.len() > 2, "no table under {heading:?}");
    let names = &rows[0];
    rows[2..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), names.len(), "{heading:?}: row {r:?}");
            names.iter().cloned().zip(r.iter().cloned()).collect()
        })
        .collect()
}

/// "relay board: IN1 (gate relay)" → ("relay board", "IN1").
fn device_terminal(cell: &str) -> (String, String) {
    let (device, terminal) = cell.split_once(':').unwrap_or((cell, ""));
    let terminal = terminal.split('(').next().unwrap_or("");
    (device.trim().to_owned(), terminal.trim().to_owned())
}

fn strip_ticks(s: &str) -> &str {
    s.trim().trim_matches('`')
}

/// The Wiring table, checked against the header: the BCM column names the pin's GPIO,
/// power pins say what they carry, and no pin is used twice.
fn wires(readme: &str) -> Vec<Wire> {
    let pi = pi_config();
    let mut used = BTreeMap::new();
    let mut wires = Vec::new();
    for row in table(readme, "Wiring (Raspberry Pi 40-pin header)") {
        let goes_to = &row["goes to"];
        let (device, terminal) = device_terminal(goes_to);
        let cell = row["header pin"].as_str();
        let bcm = row["BCM"].as_str();
        if cell.contains("USB") {
            assert!(bcm.is_empty(), "{goes_to}: a USB port has no BCM number");
            wires.push(Wire {
                pin: None,
                device,
                terminal,
            });
            continue;
        }
        let (number, said) = match cell.split_once('(') {
            Some((n, rest)) => (n.trim(), Some(rest.trim_end_matches(')').trim())),
            None => (cell, None),
        };
        let pin: u8 = number
            .parse()
            .unwrap_or_else(|_| panic!("{goes_to}: header pin {cell:?} is not a number"));
        assert!((1..=40).contains(&pin), "{goes_to}: no header pin {pin}");
        let signal = header_pin(pin);
        match signal {
            Signal::Gpio(n) => {
                assert_eq!(said, None, "{goes_to}: pin {pin} is GPIO{n}");
                assert_eq!(
                    bcm,
                    n.to_string(),
                    "{goes_to}: header pin {pin} is BCM {n}, the table says {bcm:?}"
                );
                let key = strip_ticks(&row["config key"]);
                if let Some(name) = key.strip_prefix("gpio.") {
                    let configured = pi.get(name).copied();
                    assert_eq!(
                        configured,
                        Some(n),
                        "{goes_to}: {key} is {configured:?} in config/livegate-pi.toml, \
                         the table says BCM {n}"
                    );
                }
            }
            power => {
                assert_eq!(
                    said,
                    Some(signal_name(power).as_str()),
                    "{goes_to}: header pin {pin} is {}: write \"{pin} ({})\"",
                    signal_name(power),
                    signal_name(power)
                );
                assert!(bcm.is_empty(), "{goes_to}: pin {pin} has no BCM number");
            }
        }
        if let Some(other) = used.insert(pin, goes_to.clone()) {
            panic!("header pin {pin} is used twice: {other} and {goes_to}");
        }
        wires.push(Wire {
            pin: Some(pin),
            device,
            terminal,
        });
    }
    // Every pin config/livegate-pi.toml sets is in the table.
    for (name, bcm) in &pi {
        assert!(
            wires
                .iter()
                .any(|w| w.pin.map(header_pin) == Some(Signal::Gpio(*bcm))),
            "gpio.{name} = {bcm} (config/livegate-pi.toml) is not in the README's wiring table"
        );
    }
    wires
}

/// `[gpio]` `*_pin` settings of config/livegate-pi.toml.
fn pi_config() -> BTreeMap<String, u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/livegate-pi.toml");
    let text = std::fs::read_to_string(path).expect("config/livegate-pi.toml");
    let doc: toml::Table = text.parse().expect("config/livegate-pi.toml is TOML");
    let gpio = doc["gpio"].as_table().expect("[gpio]");
    gpio.iter()
        .filter(|(k, _)| k.ends_with("_pin"))
        .map(|(k, v)| {
            let n = v.as_integer().expect("a pin number");
            (k.clone(), u8::try_from(n).expect("a pin number"))
        })
        .collect()
}

fn contacts(readme: &str) -> Vec<Contact> {
    table(readme, "The gate side")
        .into_iter()
        .map(|row| {
            let terminal = strip_ticks(&row["relay board"]).to_owned();
            let to = match row["goes to"].as_str() {
                "not connected" => None,
                cell => Some(device_terminal(cell)),
            };
            Contact { terminal, to }
        })
        .collect()
}

// --- The drawing -----------------------------------------------------------------------

const WIDTH: i32 = 1000;
const HEIGHT: i32 = 800;
/// Header: pin 1's row, the distance between rows, the two columns' centres.
const ROW0: i32 = 150;
const PITCH: i32 = 28;
const ODD_X: i32 = 570;
const EVEN_X: i32 = 600;
const PIN_R: i32 = 10;
/// Wires from the odd (left) column start here, from the even (right) one here.
const LEFT_OUT: i32 = ODD_X - PIN_R;
const RIGHT_OUT: i32 = EVEN_X + PIN_R;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Left,
    Right,
}

/// Where each device the tables may name is drawn. A device the tables name that is
/// missing here fails the test: add it.
struct Place {
    name: &'static str,
    side: Side,
    x: i32,
    w: i32,
    min_h: i32,
    title: &'static [&'static str],
}

const PLACES: &[Place] = &[
    Place {
        name: "OLED",
        side: Side::Left,
        x: 330,
        w: 120,
        min_h: 0,
        title: &["OLED panel", "SSD1306, I2C"],
    },
    Place {
        name: "relay board",
        side: Side::Left,
        x: 60,
        w: 230,
        min_h: 124,
        title: &[
            "relay board (5 V)",
            "relay 1: gate (IN1)",
            "relay 2: fail / alarm (IN2)",
        ],
    },
    Place {
        name: "start button or presence sensor",
        side: Side::Left,
        x: 330,
        w: 120,
        min_h: 0,
        title: &["start button", "or presence", "sensor"],
    },
    Place {
        name: "request-to-exit button",
        side: Side::Right,
        x: 720,
        w: 190,
        min_h: 0,
        title: &["request-to-exit", "button (inside)"],
    },
    Place {
        name: "door contact",
        side: Side::Right,
        x: 720,
        w: 190,
        min_h: 0,
        title: &["door contact", "(reed switch)"],
    },
];

/// Devices wired to the relay board's contacts, below it.
const CONTACT_PLACES: &[Place] = &[
    Place {
        name: "gate controller or turnstile",
        side: Side::Left,
        x: 20,
        w: 132,
        min_h: 100,
        title: &["gate controller", "or turnstile:", "dry-contact input"],
    },
    Place {
        name: "alarm, buzzer or lamp",
        side: Side::Left,
        x: 170,
        w: 128,
        min_h: 100,
        title: &["alarm, buzzer", "or lamp (low", "voltage)"],
    },
];

fn row_y(pin: u8) -> i32 {
    ROW0 + (i32::from(pin) - 1) / 2 * PITCH
}

fn pin_side(pin: u8) -> Side {
    if pin % 2 == 1 {
        Side::Left
    } else {
        Side::Right
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Svg(String);

impl Svg {
    fn text(&mut self, x: i32, y: i32, anchor: &str, class: &str, s: &str) {
        let _ = writeln!(
            self.0,
            r#"<text x="{x}" y="{y}" text-anchor="{anchor}" class="{class}">{}</text>"#,
            esc(s)
        );
    }
    fn rect(&mut self, x: i32, y: i32, w: i32, h: i32, class: &str) {
        let _ = writeln!(
            self.0,
            r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" class="{class}"/>"#
        );
    }
    fn path(&mut self, d: &str, colour: &str) {
        let _ = writeln!(
            self.0,
            r#"<path d="{d}" fill="none" stroke="{colour}" stroke-width="3" stroke-linejoin="round"/>"#
        );
    }
    fn dot(&mut self, x: i32, y: i32, colour: &str) {
        let _ = writeln!(
            self.0,
            r#"<circle cx="{x}" cy="{y}" r="4" fill="{colour}"/>"#
        );
    }
    fn comment(&mut self, s: &str) {
        let _ = writeln!(self.0, "<!-- {} -->", esc(s).replace("--", "- -"));
    }
}

fn draw(wires: &[Wire], contacts: &[Contact]) -> String {
    let mut svg = Svg(String::new());
    let _ = writeln!(
        svg.0,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans, Verdana, Arial, sans-serif">
<!-- Drawn by tests/wiring.rs from the wiring tables in README.md: do not edit;
     to redraw, run that test with LIVEGATE_BLESS=1. -->
<style>
text {{ font-size: 12px; fill: #111111; }}
.title {{ font-size: 18px; font-weight: bold; }}
.dev {{ font-weight: bold; }}
.small {{ font-size: 11px; fill: #333333; }}
.term {{ font-size: 11px; font-weight: bold; fill: #333333; }}
.pinno {{ font-size: 10px; font-weight: bold; }}
.unused {{ font-size: 10px; fill: #999999; }}
.warn {{ font-size: 12px; font-weight: bold; fill: #b00000; }}
.box {{ fill: #f7f7f7; stroke: #444444; stroke-width: 1.5; }}
.pi {{ fill: #e6f2e6; stroke: #2e7d32; stroke-width: 2; }}
.header {{ fill: #3a3a3a; }}
</style>
<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
    );
    svg.text(
        20,
        32,
        "start",
        "title",
        "livegate wiring: Raspberry Pi 40-pin header",
    );

    // Colours: by what the pin carries; GPIO wires each their own.
    let mut colours: BTreeMap<u8, &str> = BTreeMap::new();
    let mut nth = 0;
    for w in wires {
        if let Some(pin) = w.pin {
            let s = header_pin(pin);
            colours.insert(pin, wire_colour(s, nth));
            if matches!(s, Signal::Gpio(_)) {
                nth += 1;
            }
        }
    }

    // The Pi and its header.
    let header_top = row_y(1) - 16;
    let header_bottom = row_y(39) + 16;
    // The board, just wider than the header, so that the pins' names stand outside it.
    svg.rect(
        ODD_X - 24,
        header_top - 8,
        EVEN_X - ODD_X + 48,
        header_bottom - header_top + 82,
        "pi",
    );
    svg.text(
        (ODD_X + EVEN_X) / 2,
        header_top - 16,
        "middle",
        "dev",
        "Raspberry Pi",
    );
    let _ = writeln!(
        svg.0,
        r#"<rect x="{}" y="{header_top}" width="{}" height="{}" rx="3" class="header"/>"#,
        ODD_X - 16,
        EVEN_X - ODD_X + 32,
        header_bottom - header_top
    );
    for pin in 1..=40u8 {
        let (x, y) = (if pin % 2 == 1 { ODD_X } else { EVEN_X }, row_y(pin));
        let used = colours.get(&pin);
        let (fill, stroke, class) = match used {
            Some(c) => ("#ffffff", *c, "pinno"),
            None => ("#cfcfcf", "#cfcfcf", "unused"),
        };
        if pin == 1 {
            let _ = writeln!(
                svg.0,
                r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}" stroke="{stroke}" stroke-width="2.5"/>"#,
                x - PIN_R,
                y - PIN_R,
                2 * PIN_R,
                2 * PIN_R
            );
        } else {
            let _ = writeln!(
                svg.0,
                r#"<circle cx="{x}" cy="{y}" r="{PIN_R}" fill="{fill}" stroke="{stroke}" stroke-width="2.5"/>"#
            );
        }
        svg.text(x, y + 4, "middle", class, &pin.to_string());
    }
    // The USB port, on the board's edge.
    let usb_y = header_bottom + 46;
    svg.rect(EVEN_X + 12, usb_y - 14, 30, 28, "header");
    svg.text(EVEN_X - 4, usb_y + 4, "middle", "small", "USB");

    // Device boxes and their wires. A box has the terminals of the wires from its own
    // side's column on the edge facing the header, each at its pin's row (straight
    // wires), and those of wires from the other column on its top edge (they come
    // round the top of the header). `bottoms`: each box's bottom edge, by device.
    let mut bottoms: BTreeMap<&str, i32> = BTreeMap::new();
    let mut crossing = 0;
    let mut devices: Vec<&str> = Vec::new();
    for w in wires {
        if !devices.contains(&w.device.as_str()) {
            devices.push(&w.device);
        }
    }
    for device in devices {
        let its: Vec<&Wire> = wires.iter().filter(|w| w.device == device).collect();
        if its.iter().all(|w| w.pin.is_none()) {
            // The camera: a cable from the USB port.
            let (x, y) = (720, usb_y);
            svg.comment(&format!("{device}: any USB port"));
            svg.path(&format!("M {} {y} H {x}", EVEN_X + 42), "#555555");
            svg.rect(x, y - 24, 190, 48, "box");
            svg.text(x + 12, y - 4, "start", "dev", device);
            svg.text(x + 12, y + 13, "start", "small", "any USB port");
            continue;
        }
        let place = PLACES
            .iter()
            .find(|p| p.name == device)
            .unwrap_or_else(|| panic!("no place to draw {device:?}: add it to PLACES"));
        let straight: Vec<(u8, &str)> = its
            .iter()
            .filter_map(|w| w.pin.map(|p| (p, w.terminal.as_str())))
            .filter(|(p, _)| pin_side(*p) == place.side)
            .collect();
        let mut around: Vec<(u8, &str)> = its
            .iter()
            .filter_map(|w| w.pin.map(|p| (p, w.terminal.as_str())))
            .filter(|(p, _)| pin_side(*p) != place.side)
            .collect();
        around.sort();
        assert!(
            !straight.is_empty(),
            "{device}: at least one wire must come from the {:?} column",
            place.side
        );
        let top = straight.iter().map(|(p, _)| row_y(*p)).min().unwrap_or(0) - 12;
        let bottom = (straight.iter().map(|(p, _)| row_y(*p)).max().unwrap_or(0) + 12)
            .max(top + place.min_h);
        svg.comment(device);
        svg.rect(place.x, top, place.w, bottom - top, "box");
        let (near, far) = match place.side {
            Side::Left => (place.x + place.w, place.x),
            Side::Right => (place.x, place.x + place.w),
        };
        let lines = place.title.len() as i32;
        let title_y = if place.min_h > 0 {
            top + 44
        } else {
            (top + bottom) / 2 - (lines - 1) * 8 + 4
        };
        for (i, line) in place.title.iter().enumerate() {
            let (x, anchor) = match place.side {
                Side::Left => (far + 10, "start"),
                Side::Right => (far - 10, "end"),
            };
            let class = if i == 0 { "dev" } else { "small" };
            svg.text(x, title_y + i as i32 * 16, anchor, class, line);
        }
        for (pin, terminal) in &straight {
            let y = row_y(*pin);
            let colour = colours[pin];
            let (from, label_x, label_anchor, term_x, term_anchor) = match place.side {
                Side::Left => (LEFT_OUT, LEFT_OUT - 20, "end", near - 6, "end"),
                Side::Right => (RIGHT_OUT, RIGHT_OUT + 20, "start", near + 6, "start"),
            };
            svg.path(&format!("M {from} {y} H {near}"), colour);
            svg.dot(near, y, colour);
            svg.text(
                label_x,
                y - 5,
                label_anchor,
                "small",
                &signal_name(header_pin(*pin)),
            );
            svg.text(term_x, y + 4, term_anchor, "term", terminal);
        }
        // Round the top of the header: out of the other column into a lane, up above
        // the board, across, and down onto the box's top edge. The first (topmost) pin
        // takes the innermost lane and the lowest crossing, so that none of these
        // wires cross each other.
        for (k, (pin, terminal)) in around.iter().enumerate() {
            let y = row_y(*pin);
            let colour = colours[pin];
            let lane = crossing + k as i32;
            let over = header_top - 40 - 12 * lane;
            let (from, out, drop) = match place.side {
                Side::Left => (RIGHT_OUT, RIGHT_OUT + 50 + 12 * lane, near - 70 - 30 * lane),
                Side::Right => (LEFT_OUT, LEFT_OUT - 50 - 12 * lane, near + 70 + 30 * lane),
            };
            let label_x = match place.side {
                Side::Left => RIGHT_OUT + 20,
                Side::Right => LEFT_OUT - 20,
            };
            let anchor = if place.side == Side::Left {
                "start"
            } else {
                "end"
            };
            svg.path(
                &format!("M {from} {y} H {out} V {over} H {drop} V {top}"),
                colour,
            );
            svg.dot(drop, top, colour);
            svg.text(
                label_x,
                y - 5,
                anchor,
                "small",
                &signal_name(header_pin(*pin)),
            );
            svg.text(drop, top + 16, "middle", "term", terminal);
        }
        crossing += around.len() as i32;
        bottoms.insert(place.name, bottom);
    }

    // The relay board's contacts, down to what they switch.
    if !contacts.is_empty() {
        let y = *bottoms
            .get("relay board")
            .expect("the gate-side table needs the relay board in the wiring table");
        let place = PLACES
            .iter()
            .find(|p| p.name == "relay board")
            .expect("a place for the relay board");
        let mut targets: BTreeMap<&str, Vec<(i32, &str)>> = BTreeMap::new();
        for (i, c) in contacts.iter().enumerate() {
            let x = place.x + 12 + 40 * i as i32;
            assert!(
                x + 14 < place.x + place.w,
                "too many relay contacts to draw"
            );
            svg.text(x, y - 8, "middle", "term", &c.terminal);
            match &c.to {
                Some((device, terminal)) => {
                    targets
                        .entry(device.as_str())
                        .or_default()
                        .push((x, terminal.as_str()));
                    svg.path(&format!("M {x} {y} V {}", y + 64), "#546e7a");
                    svg.dot(x, y, "#546e7a");
                    svg.dot(x, y + 64, "#546e7a");
                }
                None => {
                    let _ = writeln!(
                        svg.0,
                        "<circle cx=\"{x}\" cy=\"{y}\" r=\"4\" fill=\"#ffffff\" stroke=\"#546e7a\" stroke-width=\"1.5\"/>"
                    );
                }
            }
        }
        for (device, terms) in &targets {
            let p = CONTACT_PLACES
                .iter()
                .find(|p| p.name == *device)
                .unwrap_or_else(|| panic!("no place to draw {device:?}: add it to CONTACT_PLACES"));
            let top = y + 64;
            svg.comment(device);
            for (x, _) in terms {
                assert!(
                    (p.x + 6..p.x + p.w - 6).contains(x),
                    "{device}: its box does not reach the contact at x = {x}"
                );
            }
            svg.rect(p.x, top, p.w, p.min_h, "box");
            // Staggered: neighbouring terminals' names would touch on one line.
            for (i, (x, terminal)) in terms.iter().enumerate() {
                svg.text(
                    *x,
                    top + 16 + 14 * (i as i32 % 2),
                    "middle",
                    "term",
                    terminal,
                );
            }
            for (i, line) in p.title.iter().enumerate() {
                let class = if i == 0 { "dev" } else { "small" };
                svg.text(p.x + 8, top + 54 + 16 * i as i32, "start", class, line);
            }
        }
        let note_y = y + 64 + 100 + 24;
        svg.text(
            20,
            note_y,
            "start",
            "warn",
            "Relay contacts: low-voltage dry contacts only.",
        );
        svg.text(
            20,
            note_y + 18,
            "start",
            "warn",
            "Mains (230/120 V): a qualified electrician only.",
        );
    }

    // How to read it.
    let notes = [
        "Pins are numbered as on the header: pin 1 (the",
        "square) is at the end away from the USB ports;",
        "odd pins in the inner row, even at the board's edge.",
        "GPIO numbers are BCM numbers, as in livegate.toml.",
        "Wires: red 5 V, orange 3.3 V, black GND.",
        "COM1 and NO1 close for gate_pulse (default 1 s).",
        "",
        "Drawn from the wiring tables in README.md",
        "(tests/wiring.rs checks that they agree).",
    ];
    for (i, line) in notes.iter().enumerate() {
        svg.text(660, 470 + 17 * i as i32, "start", "small", line);
    }
    svg.0.push_str("</svg>\n");
    svg.0
}

#[test]
fn docs_wiring_svg_is_drawn_from_the_readme_tables() {
    let readme = readme();
    let wires = wires(&readme);
    let contacts = contacts(&readme);
    let svg = draw(&wires, &contacts);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/wiring.svg");
    if std::env::var_os("LIVEGATE_BLESS").is_some() {
        std::fs::write(&path, &svg).expect("write docs/wiring.svg");
        return;
    }
    let committed = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (LIVEGATE_BLESS=1 draws it)", path.display()));
    if committed != svg {
        let line = committed
            .lines()
            .zip(svg.lines())
            .position(|(a, b)| a != b)
            .map_or(committed.lines().count().min(svg.lines().count()), |n| n);
        panic!(
            "docs/wiring.svg does not match the README's wiring tables (first difference at \
             line {}): LIVEGATE_BLESS=1 cargo test --test wiring redraws it",
            line + 1
        );
    }
}

#[test]
fn the_readme_shows_the_picture_and_points_to_the_wiring() {
    let readme = readme();
    assert!(
        readme.contains("](docs/wiring.svg)"),
        "README shows docs/wiring.svg"
    );
    // The install steps come after the Wiring section: step 1 points up to it.
    let wiring = readme
        .find("\n## Wiring (Raspberry Pi 40-pin header)")
        .expect("a Wiring section");
    let install = readme
        .find("\n## Installing on the Raspberry Pi")
        .expect("an install section");
    assert!(wiring < install);
    let steps = &readme[install..];
    let step1 = &steps[steps.find("\n1. ").expect("step 1")..];
    let step1 = &step1[..step1[1..].find("\n2. ").expect("step 2")];
    assert!(
        step1.contains("[Wiring](#wiring-raspberry-pi-40-pin-header) above"),
        "step 1 points to the Wiring section above: {step1}"
    );
    assert!(!readme.contains("as below"), "nothing says \"as below\"");
}

#[test]
fn a_wrong_bcm_number_in_the_table_is_caught() {
    let readme = readme().replace("| 11 | 17 |", "| 11 | 18 |");
    let caught = std::panic::catch_unwind(|| wires(&readme));
    assert!(caught.is_err(), "pin 11 is BCM 17, not 18");
}

#[test]
fn a_changed_pin_changes_the_picture() {
    let readme = readme();
    let before = draw(&wires(&readme), &contacts(&readme));
    let moved = readme.replace("| 25 (GND) |", "| 39 (GND) |");
    assert_ne!(moved, readme, "the table has a wire on pin 25");
    let after = draw(&wires(&moved), &contacts(&moved));
    assert_ne!(before, after);
}

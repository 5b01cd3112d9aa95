//! The SSD1306 adapter against a fake I2C bus and a model of the controller: what
//! the adapter writes is decoded back into pixels and compared, pixel for pixel, with
//! the shared rendering (`screens::render`) and with the 128x32 golden PNGs in
//! tests/golden/128x32/ (`LIVEGATE_BLESS=1 cargo test --test oled` rewrites those).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, NoAcknowledgeSource, Operation};
use livegate::display::screens::render;
use livegate::display::sim::Framebuffer;
use livegate::display::ssd1306::{Oled, OledOptions, PanelSize, Rotation};
use livegate::display::{Display, DisplayError, Screen};
use livegate::session::DenyReason;

mod common;
use common::screens::{action, cases};
use common::ssd1306::Model;

// ---------------------------------------------------------------------------------
// A fake bus

#[derive(Default)]
struct BusLog {
    /// Every transfer the bus carried: (address, bytes).
    writes: Vec<(u8, Vec<u8>)>,
    /// Every transaction attempted, failed or not.
    attempts: usize,
    /// Let this many transactions through, then fail `fail_next`.
    pass_then: usize,
    fail_next: usize,
}

#[derive(Clone, Default)]
struct FakeI2c(Arc<Mutex<BusLog>>);

impl FakeI2c {
    fn fail_next(&self, n: usize) {
        self.fail_after(0, n);
    }

    fn fail_after(&self, pass: usize, n: usize) {
        let mut log = self.0.lock().unwrap();
        log.pass_then = pass;
        log.fail_next = n;
    }

    fn attempts(&self) -> usize {
        self.0.lock().unwrap().attempts
    }

    fn writes(&self) -> Vec<(u8, Vec<u8>)> {
        self.0.lock().unwrap().writes.clone()
    }

    fn write_count(&self) -> usize {
        self.0.lock().unwrap().writes.len()
    }
}

#[derive(Debug)]
struct Nack;

impl embedded_hal::i2c::Error for Nack {
    fn kind(&self) -> ErrorKind {
        ErrorKind::NoAcknowledge(NoAcknowledgeSource::Address)
    }
}

impl ErrorType for FakeI2c {
    type Error = Nack;
}

impl I2c for FakeI2c {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        let mut log = self.0.lock().unwrap();
        log.attempts += 1;
        if log.pass_then > 0 {
            log.pass_then -= 1;
        } else if log.fail_next > 0 {
            log.fail_next -= 1;
            return Err(Nack);
        }
        for op in operations {
            match op {
                Operation::Write(bytes) => log.writes.push((address, bytes.to_vec())),
                Operation::Read(buf) => buf.fill(0),
            }
        }
        Ok(())
    }
}

fn rotate_180(fb: &Framebuffer) -> Framebuffer {
    let (w, h) = (fb.width(), fb.height());
    let mut out = Framebuffer::new(w, h);
    for y in 0..h {
        for x in 0..w {
            out.set(w - 1 - x, h - 1 - y, fb.get(x, y));
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// Helpers

fn opts(size: PanelSize, rotation: Rotation) -> OledOptions {
    OledOptions {
        size,
        rotation,
        ..OledOptions::default()
    }
}

fn some_screens() -> Vec<Screen> {
    vec![
        Screen::Idle,
        action("Turn_left", 1, 3, 7, 70),
        action("Victory_right_hand", 2, 3, 4, 40),
        Screen::Fail {
            reason: DenyReason::ServiceUnavailable,
        },
        Screen::LockedOut { secs_left: 240 },
    ]
}

fn panel(o: &OledOptions) -> (Oled<FakeI2c>, FakeI2c) {
    let bus = FakeI2c::default();
    (Oled::new(bus.clone(), o), bus)
}

fn has_init(opcodes: &[u8]) -> bool {
    let off = opcodes.iter().position(|c| *c == 0xAE);
    let on = opcodes.iter().rposition(|c| *c == 0xAF);
    matches!((off, on), (Some(a), Some(b)) if a < b) && opcodes.contains(&0xA8)
}

// ---------------------------------------------------------------------------------
// Tests

#[test]
fn frames_on_the_glass_are_the_shared_rendering_on_both_panel_sizes() {
    for size in [PanelSize::W128xH64, PanelSize::W128xH32] {
        let o = opts(size, Rotation::R0);
        let (mut oled, bus) = panel(&o);
        let t0 = Instant::now();
        for screen in some_screens() {
            oled.show_at(&screen, t0).unwrap();
            let model = Model::after(&bus.writes(), 0x3C);
            assert_eq!(u32::from(model.mux) + 1, size.height(), "{size:?}");
            let want = render(&screen, 128, size.height());
            assert!(want.count_lit() > 50, "{size:?} {screen:?}: nothing drawn");
            let seen = model.view();
            assert_eq!(seen.diff(&want), vec![], "{size:?} {screen:?}");
        }
    }
}

#[test]
fn power_on_clears_all_memory_before_the_panel_lights() {
    for size in [PanelSize::W128xH64, PanelSize::W128xH32] {
        let o = opts(size, Rotation::R0);
        let (mut oled, bus) = panel(&o);
        assert_eq!(bus.attempts(), 0, "new() must not touch the bus");
        oled.power_on(Instant::now()).unwrap();
        assert!(oled.is_ready());
        let model = Model::after(&bus.writes(), 0x3C);
        let opcodes = model.opcodes_from(0);
        assert_eq!(opcodes[0], 0xAE, "first command: display off");
        assert!(has_init(&opcodes), "{opcodes:02X?}");
        // The panel first lights with every page of its memory blank (noise before).
        assert_eq!(model.ram_at_on.len(), 1, "turned on once");
        assert!(model.ram_at_on[0].iter().flatten().all(|b| *b == 0));
        assert_eq!(model.data_bytes, 1024, "one whole blank memory");
        assert_eq!(model.view().count_lit(), 0);
        // Contrast after init.
        assert_eq!(*model.commands.last().unwrap(), vec![0x81, o.contrast]);
        assert_eq!(model.contrast, 0xCF);
        assert_eq!(model.precharge, 0x21, "phase 1 = 1, phase 2 = 2");

        // The first screen follows, on a panel already on.
        let before = model.commands.len();
        oled.show_at(&Screen::Idle, Instant::now()).unwrap();
        let model = Model::after(&bus.writes(), 0x3C);
        assert!(!model.opcodes_from(before).contains(&0xAE));
        assert_eq!(model.view(), render(&Screen::Idle, 128, size.height()));
    }
}

#[test]
fn the_first_show_powers_the_panel_on_first() {
    let (mut oled, bus) = panel(&OledOptions::default());
    oled.show(&Screen::Pass).unwrap();
    let model = Model::after(&bus.writes(), 0x3C);
    assert!(has_init(&model.opcodes_from(0)));
    assert!(model.ram_at_on[0].iter().flatten().all(|b| *b == 0));
    assert_eq!(model.view(), render(&Screen::Pass, 128, 64));
}

#[test]
fn contrast_is_sent_as_configured() {
    for contrast in [0u8, 0x40, 0xFF] {
        let o = OledOptions {
            contrast,
            ..OledOptions::default()
        };
        let (mut oled, bus) = panel(&o);
        oled.power_on(Instant::now()).unwrap();
        let model = Model::after(&bus.writes(), 0x3C);
        assert_eq!(model.contrast, contrast);
        let phase2 = if contrast == 0 { 1 } else { 2 };
        assert_eq!(model.precharge, phase2 << 4 | 1, "contrast {contrast}");
    }
}

#[test]
fn address_0x3d_is_used_when_configured() {
    let o = OledOptions {
        address: 0x3D,
        ..OledOptions::default()
    };
    let (mut oled, bus) = panel(&o);
    oled.show_at(&Screen::Idle, Instant::now()).unwrap();
    let writes = bus.writes();
    assert!(writes.len() > 60);
    assert!(writes.iter().all(|(a, _)| *a == 0x3D));
    assert_eq!(
        Model::after(&writes, 0x3D).view(),
        render(&Screen::Idle, 128, 64)
    );
}

#[test]
fn rotation_180_shows_the_rendering_upside_down() {
    for size in [PanelSize::W128xH64, PanelSize::W128xH32] {
        let o = opts(size, Rotation::R180);
        let (mut oled, bus) = panel(&o);
        for screen in some_screens() {
            oled.show_at(&screen, Instant::now()).unwrap();
            let model = Model::after(&bus.writes(), 0x3C);
            assert!(!model.seg_remap && !model.com_reverse, "A0 and C0");
            let want = rotate_180(&render(&screen, 128, size.height()));
            assert_eq!(model.view().diff(&want), vec![], "{size:?} {screen:?}");
        }
    }
}

#[test]
fn quarter_turns_draw_the_portrait_layout_turned_on_the_glass() {
    for size in [PanelSize::W128xH64, PanelSize::W128xH32] {
        let h = size.height();
        for rotation in [Rotation::R90, Rotation::R270] {
            let o = opts(size, rotation);
            assert_eq!(oled_size(&o), (h, 128));
            let (mut oled, bus) = panel(&o);
            for screen in some_screens() {
                oled.show_at(&screen, Instant::now()).unwrap();
                let seen = Model::after(&bus.writes(), 0x3C).view();
                let portrait = render(&screen, h, 128);
                assert!(portrait.count_lit() > 0, "{screen:?}");
                for y in 0..h {
                    for x in 0..128 {
                        // 90: picture turned clockwise; 270: counter-clockwise.
                        let (px, py) = match rotation {
                            Rotation::R90 => (y, 127 - x),
                            _ => (h - 1 - y, x),
                        };
                        assert_eq!(
                            seen.get(x, y),
                            portrait.get(px, py),
                            "{size:?} {rotation:?} {screen:?} at ({x}, {y})"
                        );
                    }
                }
            }
        }
    }
}

fn oled_size(o: &OledOptions) -> (u32, u32) {
    let s = Oled::new(FakeI2c::default(), o).screen_size();
    (s.width, s.height)
}

#[test]
fn the_same_screen_again_does_no_io() {
    let (mut oled, bus) = panel(&OledOptions::default());
    let t = Instant::now();
    oled.show_at(&Screen::Idle, t).unwrap();
    let n = bus.attempts();
    oled.show_at(&Screen::Idle, t).unwrap();
    assert_eq!(bus.attempts(), n);
    oled.show_at(&Screen::Verifying, t).unwrap();
    assert!(bus.attempts() > n);
}

#[test]
fn a_bus_error_is_reported_then_retried_only_after_the_interval() {
    let o = OledOptions::default();
    let (mut oled, bus) = panel(&o);
    let t0 = Instant::now();
    oled.show_at(&Screen::Idle, t0).unwrap();

    // The bus fails in the middle of the next frame.
    bus.fail_after(20, 1);
    let err = oled.show_at(&Screen::Pass, t0).unwrap_err();
    let DisplayError::Bus(text) = &err else {
        panic!("{err:?}")
    };
    assert!(text.contains("Nack"), "the bus's own error: {text}");
    assert!(
        text.contains("0x3C") && text.contains("retrying in 30 s"),
        "{text}"
    );
    assert!(!oled.is_ready());

    // Within the interval: an error again, and not one transfer.
    let tried = bus.attempts();
    for secs in [0, 1, 10, 29] {
        let e = oled
            .show_at(&Screen::Verifying, t0 + Duration::from_secs(secs))
            .unwrap_err();
        assert!(
            matches!(e, DisplayError::Bus(ref m) if m.contains("next try in")),
            "{e}"
        );
    }
    assert_eq!(
        bus.attempts(),
        tried,
        "the bus is left alone until the interval"
    );

    // After it: init again, memory cleared, and the latest screen arrives whole.
    let before = bus.write_count();
    let model_before = Model::after(&bus.writes(), 0x3C);
    oled.show_at(&Screen::Verifying, t0 + Duration::from_secs(30))
        .unwrap();
    assert!(oled.is_ready());
    let model = Model::after(&bus.writes(), 0x3C);
    let opcodes = model.opcodes_from(model_before.commands.len());
    assert!(has_init(&opcodes), "re-init commands: {opcodes:02X?}");
    assert!(bus.write_count() > before);
    assert!(model
        .ram_at_on
        .last()
        .unwrap()
        .iter()
        .flatten()
        .all(|b| *b == 0));
    assert_eq!(model.view(), render(&Screen::Verifying, 128, 64));
}

#[test]
fn a_failed_power_on_is_retried_and_redraws_the_wanted_screen() {
    let o = OledOptions {
        reinit_interval: Duration::from_secs(5),
        size: PanelSize::W128xH32,
        ..OledOptions::default()
    };
    let (mut oled, bus) = panel(&o);
    let t0 = Instant::now();
    bus.fail_next(1);
    let fail = Screen::Fail {
        reason: DenyReason::CameraUnavailable,
    };
    assert!(matches!(oled.show_at(&fail, t0), Err(DisplayError::Bus(_))));
    assert_eq!(bus.write_count(), 0, "nothing reached the panel");
    let tried = bus.attempts();
    assert!(oled.show_at(&fail, t0 + Duration::from_secs(4)).is_err());
    assert_eq!(bus.attempts(), tried);

    // Power on directly (as a periodic retry would): the wanted screen comes back.
    oled.power_on(t0 + Duration::from_secs(5)).unwrap();
    let model = Model::after(&bus.writes(), 0x3C);
    assert_eq!(model.view(), render(&fail, 128, 32));
    // ... and it counts as shown.
    let n = bus.attempts();
    oled.show_at(&fail, t0 + Duration::from_secs(6)).unwrap();
    assert_eq!(bus.attempts(), n);
}

#[test]
fn failing_for_a_long_time_never_panics_and_recovers() {
    let o = OledOptions {
        reinit_interval: Duration::from_secs(1),
        ..OledOptions::default()
    };
    let (mut oled, bus) = panel(&o);
    let t0 = Instant::now();
    bus.fail_next(usize::MAX);
    let screens = some_screens();
    for i in 0..50u64 {
        let s = &screens[i as usize % screens.len()];
        assert!(oled
            .show_at(s, t0 + Duration::from_millis(500 * i))
            .is_err());
    }
    // One attempt per interval (each fails at its first transfer), not one per show.
    assert_eq!(bus.attempts(), 25);
    bus.fail_next(0);
    let last = &screens[49 % screens.len()];
    oled.show_at(last, t0 + Duration::from_secs(60)).unwrap();
    let model = Model::after(&bus.writes(), 0x3C);
    assert_eq!(model.view(), render(last, 128, 64));
    assert_eq!(model.ram_at_on.len(), 1);
}

// ---------------------------------------------------------------------------------
// 128x32 goldens

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/128x32")
}

#[test]
fn screens_on_a_128x32_panel_match_golden_pngs() {
    let bless = std::env::var("LIVEGATE_BLESS").is_ok_and(|v| v == "1");
    let (mut oled, bus) = panel(&opts(PanelSize::W128xH32, Rotation::R0));
    let mut failures = Vec::new();
    let mut seen: Vec<(&str, Framebuffer)> = Vec::new();
    for (name, screen) in cases() {
        let rendered = render(&screen, 128, 32);
        let path = golden_dir().join(format!("{name}.png"));
        if bless {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&path, rendered.to_png(1).unwrap()).unwrap();
            let big = std::env::temp_dir().join(format!("livegate-128x32-{name}-4x.png"));
            std::fs::write(big, rendered.to_png(4).unwrap()).unwrap();
        }
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run with LIVEGATE_BLESS=1", path.display()));
        let golden = Framebuffer::from_png(&bytes).unwrap();
        assert_eq!((golden.width(), golden.height()), (128, 32), "{name}");
        for (other, fb) in &seen {
            assert_ne!(&golden, fb, "{name} looks the same as {other}");
        }
        let diff = rendered.diff(&golden);
        if !diff.is_empty() {
            failures.push(format!(
                "{name}: rendering differs in {} pixels",
                diff.len()
            ));
        }
        oled.show_at(&screen, Instant::now()).unwrap();
        let glass = Model::after(&bus.writes(), 0x3C).view();
        let diff = glass.diff(&golden);
        if !diff.is_empty() {
            failures.push(format!("{name}: panel differs in {} pixels", diff.len()));
        }
        seen.push((name, golden));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn init_opcodes_are_display_off_then_on() {
    // Guards the helper the other tests rely on.
    assert!(has_init(&[0xAE, 0xA8, 0xAF]));
    assert!(!has_init(&[0xAF, 0xA8, 0xAE]));
    assert!(!has_init(&[0xAE, 0xAF]), "no multiplex: not an init");
}

/// The OLED, checked against the shared rendering after every show.
struct Checked {
    oled: Oled<FakeI2c>,
    bus: FakeI2c,
    shown: usize,
}

impl Display for Checked {
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        self.oled.show(screen)?;
        let glass = Model::after(&self.bus.writes(), 0x3C).view();
        assert_eq!(glass, render(screen, 128, 32), "{screen:?}");
        self.shown += 1;
        Ok(())
    }
}

#[test]
fn the_display_test_cycle_shows_every_screen_on_the_panel() {
    let (oled, bus) = panel(&opts(PanelSize::W128xH32, Rotation::R0));
    let mut checked = Checked {
        oled,
        bus,
        shown: 0,
    };
    let mut out = Vec::new();
    let n = livegate::commission::display::show_every_screen_with(
        &mut checked,
        Duration::from_secs(2),
        &mut out,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((n, checked.shown), (23, 23));
    let text = String::from_utf8(out).unwrap();
    assert!(text.ends_with("Display OK: showed 23 screens\n"), "{text}");
}

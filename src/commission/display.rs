//! `livegate test display`: opens the OLED and shows every screen the gate can show,
//! one after the other, naming each, so a technician can check that each is complete
//! and readable on the mounted panel.

use std::io::Write;
use std::time::Duration;

use crate::actions;
use crate::display::ssd1306::{Oled, OledError, OledOptions};
use crate::display::{Display, DisplayError, Screen};
use crate::session::DenyReason;

/// Every denial reason, in the order the test shows them.
pub const DENY_REASONS: [DenyReason; 11] = DenyReason::ALL;

/// Why the display test stopped.
#[derive(Debug, thiserror::Error)]
pub enum DisplayTestError {
    /// The panel could not be opened (the message says what to do).
    #[error(transparent)]
    Open(#[from] OledError),
    /// The panel stopped working during the cycle.
    #[error(
        "the panel failed while showing \"{screen}\" ({shown} screens shown before it): \
         {source}; check the wiring (SDA, SCL, 3.3 V, GND) and that nothing else uses \
         the bus"
    )]
    Show {
        screen: String,
        shown: usize,
        #[source]
        source: DisplayError,
    },
    /// The report could not be written.
    #[error("cannot write the report: {0}")]
    Output(#[from] std::io::Error),
}

/// An action screen as the test shows it.
fn action(name: &str, step: u8, secs_left: u16, percent_left: u8) -> Screen {
    Screen::Action {
        action: name.to_owned(),
        step,
        total: 3,
        secs_left,
        percent_left,
        prompt: u32::from(step),
    }
}

/// Every screen the gate can show, each with the name printed for the technician:
/// idle, get ready, a face and a hand action with their countdowns, verifying, pass,
/// a denial for every reason, locked out, the presence guidance, an access-control
/// panel's text (OSDP) and the configuration error.
pub fn every_screen() -> Vec<(String, Screen)> {
    let face = "Turn_left";
    let hand = "Victory_right_hand";
    let mut out = vec![
        ("Idle".to_owned(), Screen::Idle),
        ("Get ready".to_owned(), Screen::GetReady),
        (
            format!(
                "Action (face): {}, step 1 of 3, 7 s left",
                actions::words(face)
            ),
            action(face, 1, 7, 70),
        ),
        (
            format!(
                "Action (hand): {}, step 2 of 3, 4 s left",
                actions::words(hand)
            ),
            action(hand, 2, 4, 40),
        ),
        ("Verifying".to_owned(), Screen::Verifying),
        ("Pass".to_owned(), Screen::Pass),
    ];
    out.extend(DENY_REASONS.iter().map(|&reason| {
        (
            format!("Denied: {}", reason.words()),
            Screen::Fail { reason },
        )
    }));
    out.push((
        "Locked out, 4 min left".to_owned(),
        Screen::LockedOut { secs_left: 240 },
    ));
    out.extend(livegate_core::presence::Guidance::ALL.map(|guidance| {
        (
            format!("Presence: {}", guidance.words()),
            Screen::Guide { guidance },
        )
    }));
    out.push((
        "An access-control panel's text".to_owned(),
        Screen::PanelText {
            text: "Please see reception".to_owned(),
        },
    ));
    out.push(("Configuration error".to_owned(), Screen::ConfigError));
    out
}

/// Shows [`every_screen`] on `display`, printing each name as it is shown and
/// pausing `pause` between screens (with `std::thread::sleep`). Returns how many
/// screens were shown; ends the report with "Display OK: showed N screens".
pub fn show_every_screen(
    display: &mut dyn Display,
    pause: Duration,
    w: &mut dyn Write,
) -> Result<usize, DisplayTestError> {
    show_every_screen_with(display, pause, w, &mut std::thread::sleep)
}

/// [`show_every_screen`] with the pause done by `sleep`.
pub fn show_every_screen_with(
    display: &mut dyn Display,
    pause: Duration,
    w: &mut dyn Write,
    sleep: &mut dyn FnMut(Duration),
) -> Result<usize, DisplayTestError> {
    let screens = every_screen();
    let total = screens.len();
    writeln!(
        w,
        "Showing all {total} screens, {} s each. Check that each is complete, sharp and \
         readable from arm's length.",
        pause.as_secs_f64()
    )?;
    for (i, (name, screen)) in screens.into_iter().enumerate() {
        if i > 0 {
            sleep(pause);
        }
        write!(w, "  {:>2}/{total} {name}", i + 1)?;
        w.flush()?;
        if let Err(source) = display.show(&screen) {
            writeln!(w, "  FAILED: {source}")?;
            return Err(DisplayTestError::Show {
                screen: name,
                shown: i,
                source,
            });
        }
        writeln!(w)?;
    }
    writeln!(w, "Display OK: showed {total} screens")?;
    Ok(total)
}

/// `livegate test display`: opens the SSD1306 described by `opts`, then shows every
/// screen, `pause` apart, reporting in plain words to `w`.
pub fn test_display(
    opts: &OledOptions,
    pause: Duration,
    w: &mut dyn Write,
) -> Result<(), DisplayTestError> {
    let size = opts.screen_size();
    writeln!(
        w,
        "Opening the OLED: I2C bus {} ({}), address 0x{:02X}, {}x{} panel, rotation {}°, \
         contrast {}.",
        opts.bus,
        opts.device_path(),
        opts.address,
        opts.size.width(),
        opts.size.height(),
        opts.rotation.degrees(),
        opts.contrast
    )?;
    let mut oled = match Oled::open(opts) {
        Ok(oled) => oled,
        Err(e) => {
            writeln!(w, "FAILED: {e}")?;
            return Err(e.into());
        }
    };
    writeln!(
        w,
        "The panel answered at 0x{:02X}: initialised, its memory cleared, contrast set. \
         Screens are drawn at {}x{}.",
        opts.address, size.width, size.height
    )?;
    show_every_screen(&mut oled, pause, w)?;
    writeln!(
        w,
        "If the picture is upside down, set rotation = 180; if it is dim, raise contrast \
         (0-255)."
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::screens::render;
    use crate::display::sim::SimDisplay;

    /// Fails to compile when a reason is added to `DenyReason` and not here.
    fn position(reason: DenyReason) -> usize {
        match reason {
            DenyReason::ActionTimeout => 0,
            DenyReason::NotVerified => 1,
            DenyReason::SessionTimeout => 2,
            DenyReason::ServiceUnavailable => 3,
            DenyReason::KeyRejected => 4,
            DenyReason::OutOfCredit => 5,
            DenyReason::DeviceError => 6,
            DenyReason::CameraUnavailable => 7,
            DenyReason::TooManyAttempts => 8,
            DenyReason::Cancelled => 9,
            DenyReason::Shutdown => 10,
        }
    }

    #[test]
    fn every_reason_is_listed_once() {
        for (i, r) in DENY_REASONS.iter().enumerate() {
            assert_eq!(position(*r), i, "{r:?}");
        }
    }

    #[test]
    fn every_screen_kind_is_in_the_cycle_and_all_differ() {
        let screens = every_screen();
        assert_eq!(screens.len(), 23);
        let kinds: Vec<&str> = screens
            .iter()
            .map(|(_, s)| crate::display::sim::kind(s))
            .collect();
        for kind in [
            "idle",
            "get_ready",
            "action",
            "verifying",
            "pass",
            "fail",
            "locked_out",
            "panel_text",
            "config_error",
        ] {
            assert!(kinds.contains(&kind), "{kind} missing");
        }
        let parts: Vec<_> = screens
            .iter()
            .filter_map(|(_, s)| match s {
                Screen::Action { action, .. } => actions::part_of(action),
                _ => None,
            })
            .collect();
        assert_eq!(parts, [actions::Part::Face, actions::Part::Hand]);
        for (i, (name, a)) in screens.iter().enumerate() {
            for (other, b) in &screens[i + 1..] {
                assert_ne!(
                    render(a, 128, 64),
                    render(b, 128, 64),
                    "{name} looks like {other}"
                );
            }
        }
    }

    #[test]
    fn cycles_through_every_screen_on_a_simulated_panel() {
        let mut display = SimDisplay::new(128, 32);
        let handle = display.handle();
        let mut out = Vec::new();
        let mut pauses = Vec::new();
        let pause = Duration::from_millis(1500);
        let n =
            show_every_screen_with(&mut display, pause, &mut out, &mut |d| pauses.push(d)).unwrap();
        let expected = every_screen();
        assert_eq!(n, expected.len());
        let shown = handle.screens();
        let wanted: Vec<Screen> = expected.iter().map(|(_, s)| s.clone()).collect();
        assert_eq!(shown, wanted);
        assert_eq!(pauses, vec![pause; n - 1], "a pause between screens");

        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), n + 2, "{text}");
        assert!(lines[0].contains("1.5 s each"), "{}", lines[0]);
        assert_eq!(lines[1], "   1/23 Idle");
        assert_eq!(
            lines[3],
            "   3/23 Action (face): Turn left, step 1 of 3, 7 s left"
        );
        assert!(lines[4].starts_with("   4/23 Action (hand): Victory sign"));
        assert_eq!(lines[9], "   9/23 Denied: Took too long");
        assert_eq!(lines[19], "  19/23 Presence: Step in front of the camera");
        assert_eq!(lines[21], "  21/23 Presence: Move closer");
        assert_eq!(lines[22], "  22/23 An access-control panel's text");
        assert_eq!(lines[23], "  23/23 Configuration error");
        assert_eq!(lines[24], "Display OK: showed 23 screens");
    }

    /// Fails from the `fail_at`-th show on (0-based).
    struct Flaky {
        shows: usize,
        fail_at: usize,
    }

    impl Display for Flaky {
        fn show(&mut self, _: &Screen) -> Result<(), DisplayError> {
            self.shows += 1;
            if self.shows > self.fail_at {
                Err(DisplayError::Bus("no acknowledge".into()))
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn a_failing_panel_stops_the_cycle_with_the_screen_named() {
        let mut display = Flaky {
            shows: 0,
            fail_at: 2,
        };
        let mut out = Vec::new();
        let mut pauses = 0;
        let err =
            show_every_screen_with(&mut display, Duration::ZERO, &mut out, &mut |_| pauses += 1)
                .unwrap_err();
        assert_eq!(display.shows, 3, "stops at the first failure");
        assert_eq!(pauses, 2);
        let DisplayTestError::Show { screen, shown, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(screen, "Action (face): Turn left, step 1 of 3, 7 s left");
        assert_eq!(*shown, 2);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.ends_with(
                "   3/23 Action (face): Turn left, step 1 of 3, 7 s left  \
                 FAILED: display bus error: no acknowledge\n"
            ),
            "{text}"
        );
        assert!(!text.contains("Display OK"), "{text}");
        assert!(err.to_string().contains("check the wiring"), "{err}");
    }

    #[test]
    fn a_missing_bus_says_to_enable_i2c() {
        let opts = OledOptions {
            bus: 251,
            ..OledOptions::default()
        };
        if std::path::Path::new(&opts.device_path()).exists() {
            return;
        }
        let mut out = Vec::new();
        let err = test_display(&opts, Duration::ZERO, &mut out).unwrap_err();
        assert!(
            matches!(
                err,
                DisplayTestError::Open(OledError::BusMissing { bus: 251, .. })
            ),
            "{err:?}"
        );
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "Opening the OLED: I2C bus 251 (/dev/i2c-251), address 0x3C, 128x64 panel, \
                 rotation 0°, contrast 207.\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("FAILED: I2C bus 251 is not available"),
            "{text}"
        );
        assert!(text.contains("enable I2C with raspi-config"), "{text}");
        assert!(!text.contains("Display OK"));
    }
}

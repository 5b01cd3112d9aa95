//! Screens used by several test crates: one of each kind, as the golden PNGs show them.
#![allow(dead_code)] // each test crate uses its own part

use livegate::display::Screen;
use livegate::session::DenyReason;

/// An action prompt.
pub fn action(name: &str, step: u8, total: u8, secs_left: u16, percent_left: u8) -> Screen {
    Screen::Action {
        action: name.to_owned(),
        step,
        total,
        secs_left,
        percent_left,
        prompt: 1,
    }
}

/// One screen of each kind, with the names of their golden PNGs.
pub fn cases() -> Vec<(&'static str, Screen)> {
    vec![
        ("idle", Screen::Idle),
        ("get_ready", Screen::GetReady),
        ("action_turn_left", action("Turn_left", 1, 3, 7, 70)),
        (
            "action_victory_right_hand",
            action("Victory_right_hand", 2, 3, 4, 40),
        ),
        ("action_unknown", action("Some_new_action", 3, 3, 9, 90)),
        ("verifying", Screen::Verifying),
        ("pass", Screen::Pass),
        (
            "fail_action_timeout",
            Screen::Fail {
                reason: DenyReason::ActionTimeout,
            },
        ),
        (
            "fail_service_unavailable",
            Screen::Fail {
                reason: DenyReason::ServiceUnavailable,
            },
        ),
        ("locked_out_240s", Screen::LockedOut { secs_left: 240 }),
        ("config_error", Screen::ConfigError),
    ]
}

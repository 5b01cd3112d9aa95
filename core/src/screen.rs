//! What the panel must show: the core's output type. Pure data; drawing lives in the
//! daemon's display module.

use crate::verdict::DenyReason;

/// The most characters of a panel's text a screen holds (an OSDP text command
/// carries at most 32 characters; room is left for the visible escapes of
/// `untrusted::clean`); longer text ends in `...`.
pub const PANEL_TEXT_CHARS: usize = 64;

/// `text` clipped to [`PANEL_TEXT_CHARS`] characters, ending in `...` when cut (the
/// panel's fonts are ASCII).
pub fn clip_panel_text(text: &str) -> String {
    if text.chars().count() <= PANEL_TEXT_CHARS {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(PANEL_TEXT_CHARS - 3).collect();
    out.push_str("...");
    out
}

/// What the panel shows. Pure data: the session core decides it, a panel draws it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "screen", rename_all = "snake_case")]
pub enum Screen {
    /// Waiting for someone.
    Idle,
    /// Waiting for someone, with the text an access-control panel asked the reader
    /// to show (OSDP): shown instead of [`Screen::Idle`], never over a session's
    /// screens, its verdict or a lockout ([`crate::gate::Gate::panel_text`]). Cleaned
    /// where it entered (`untrusted::clean`) and clipped to [`PANEL_TEXT_CHARS`].
    PanelText { text: String },
    /// A session started; the actions are being fetched.
    GetReady,
    /// The person must perform `action` (the API's raw name; shown as words).
    Action {
        action: String,
        /// 1-based step of `total`.
        step: u8,
        total: u8,
        /// Whole seconds left for this action (rounded up).
        secs_left: u16,
        /// Share of the action's time left, 0..=100 (the countdown bar).
        percent_left: u8,
        /// Increases with every new prompt of a session, so a repeated action after a
        /// restart is still a new prompt, for whoever only watches the screens (the
        /// simulated panel's pictures, the terminal's event lines). Not drawn. The
        /// daemon hears of a new prompt from `session::Command::Prompt` instead.
        prompt: u32,
    },
    /// The last frame is with the service.
    Verifying,
    /// Liveness confirmed: the gate opens.
    Pass,
    /// Denied, with a reason a person understands.
    Fail { reason: DenyReason },
    /// Too many failed attempts: no session until the lockout ends.
    LockedOut { secs_left: u32 },
    /// What the person must do for the camera to see them (presence): before a
    /// session ("Step in front of the camera", no session started) or while a
    /// session's frames are held back ("Face the camera", "Move closer").
    Guide { guidance: crate::presence::Guidance },
    /// The configuration could not be used.
    ConfigError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panel_text_is_clipped_to_what_a_screen_holds() {
        assert_eq!(clip_panel_text("WELCOME"), "WELCOME");
        let exact = "x".repeat(PANEL_TEXT_CHARS);
        assert_eq!(clip_panel_text(&exact), exact);
        let long = "y".repeat(PANEL_TEXT_CHARS + 1);
        let clipped = clip_panel_text(&long);
        assert_eq!(clipped.chars().count(), PANEL_TEXT_CHARS);
        assert!(clipped.ends_with("..."));
        let json = serde_json::to_string(&Screen::PanelText { text: "HI".into() }).unwrap();
        assert_eq!(json, r#"{"screen":"panel_text","text":"HI"}"#);
    }
}

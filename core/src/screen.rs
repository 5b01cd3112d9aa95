//! What the panel must show: the core's output type. Pure data; drawing lives in the
//! daemon's display module.

use crate::verdict::DenyReason;

/// What the panel shows. Pure data: the session core decides it, a panel draws it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "screen", rename_all = "snake_case")]
pub enum Screen {
    /// Waiting for someone.
    Idle,
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
    /// The configuration could not be used.
    ConfigError,
}

//! livegate-core: the sans-IO heart of the livegate access gate.
//!
//! No runtime, no IO, no clock: every function that needs the time takes `now` (a
//! [`std::time::Instant`]) from its caller, and everything it wants done comes back
//! as data (a [`session::Command`]). The daemon (the `livegate` package) carries the
//! commands out. This crate depends on nothing else of ours; the crate graph keeps
//! it that way.
//!
//! - [`session`]: one session, `Event` in, `Command` out; the one producer of a pass.
//! - [`gate`]: the policy between sessions: admission, the verdict and lockout
//!   screens, the door-held-open watch, the gate's state and status line.
//! - [`gatekeeper`]: who may start a session: cooldown, lockout after failures.
//! - [`verdict`]: [`Verdict`](verdict::Verdict), [`DenyReason`](verdict::DenyReason) and
//!   their words.
//! - [`screen`]: what the panel must show.
//! - [`presence`]: is a person in front of the camera? The face detector's looks in,
//!   a state, the guidance words and the edge "a person arrived" out.
//! - [`motion`]: the pre-filter in front of the detector: did the scene change?
//! - [`aigen`]: the vendor protocol's wire types and error classes (no HTTP).
//! - [`actions`]: the API's action names and the words for people.
//! - [`untrusted`]: the one escape of strings from outside.
//! - [`wiegand`]: the 26- and 34-bit card formats, frame timing, the edge decoder.
//! - [`secret`]: the API key, a secret that never prints (shared by the client and
//!   the stand-in).

pub mod actions;
pub mod aigen;
pub mod gate;
pub mod gatekeeper;
pub mod motion;
pub mod presence;
pub mod screen;
pub mod secret;
pub mod session;
pub mod untrusted;
pub mod verdict;
pub mod wiegand;

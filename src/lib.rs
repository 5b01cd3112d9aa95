//! livegate: a liveness-checked access gate.
//!
//! The session logic lives in the `livegate-core` crate ([`session`], [`gatekeeper`]:
//! no runtime, no IO, no clock); everything that touches
//! the world is an adapter behind a small trait: [`camera`], [`display`], [`gpio`],
//! [`trigger`], and the [`api`] client. [`daemon`] wires them. With the `sim` feature
//! (on by default), `standin` (the `livegate-standin` crate) serves a faithful copy
//! of the AIGEN API over HTTPS on loopback for `simulate` and tests.

/// `ALL`, `WORDS`, `as_str` and `parse` for a choice written as a word in the
/// configuration file; used by the module that owns the choice (`gpio::line`'s
/// `Pull`, `camera::jpeg`'s `FormatPreference`, …), read by `config`.
macro_rules! words {
    ($t:ident { $($v:ident => $w:literal),+ $(,)? }) => {
        impl $t {
            /// Every choice, in the documented order.
            pub const ALL: &'static [$t] = &[$($t::$v),+];
            /// The words of the file, in the order of [`Self::ALL`].
            pub const WORDS: &'static [&'static str] = &[$($w),+];

            /// The word used in the file.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($t::$v => $w),+
                }
            }

            /// The choice named by its word in the file.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|c| c.as_str() == s)
            }
        }
    };
}

pub mod api;
pub mod camera;
pub mod commission;
pub mod config;
pub mod ctl;
pub mod daemon;
pub mod devices;
pub mod display;
pub mod gpio;
pub mod metrics;
pub mod notify;
pub mod presence;
pub mod reader;
pub mod rotation;
pub mod safefile;
#[cfg(feature = "sim")]
pub mod simulate;
pub mod telemetry;
pub mod trigger;
pub mod wiring;

// The sans-IO core lives in its own crate (core/, `livegate-core`: no runtime, no IO,
// no clock); its modules keep their old paths here.
pub use livegate_core::{actions, gate, gatekeeper, screen, secret, session, untrusted, verdict};

// The API stand-in and the synthetic scene (standin/, `livegate-standin`): linked only
// with the `sim` feature, so a `--no-default-features` daemon has no hyper server and
// no rcgen.
#[cfg(feature = "sim")]
pub use livegate_standin as standin;

//! What starts (or cancels) a session: a GPIO input, a local command, or, in
//! simulation, a script of visitors (`trigger::sim`, with the `sim` feature).

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// What the simulated visitors (`[trigger] kind = "sim"`) are told; compiled in
/// every build, as the configuration names it even when `sim.rs` is not built.
#[derive(Clone, Debug, PartialEq)]
pub struct SimTriggerOptions {
    /// Delay between the gate becoming ready and the next simulated person arriving.
    pub arrival: std::time::Duration,
}

/// A request from a trigger to the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TriggerEvent {
    /// Someone wants to enter. `source` names the trigger; `note` is free text for
    /// the log (the simulated performer, say); `card` the card shown to a card
    /// reader (`[trigger] kind = "wiegand"`), which the session then carries.
    Start {
        source: &'static str,
        note: Option<String>,
        card: Option<livegate_core::wiegand::Card>,
    },
    /// Abort the session in progress.
    Cancel { source: &'static str },
    /// The request-to-exit button: open the gate without a check (and log it).
    Exit { source: &'static str },
    /// The door contact changed.
    Door { open: bool },
}

/// What the daemon is doing, published for triggers: decided by the core's
/// [`livegate_core::gate::Gate`].
pub use livegate_core::gate::GateState;

/// A source of [`TriggerEvent`]s running in a task of its own.
pub trait Trigger: Send + 'static {
    fn spawn(
        self: Box<Self>,
        events: mpsc::Sender<TriggerEvent>,
        state: watch::Receiver<GateState>,
    ) -> JoinHandle<()>;
}

/// The simulated visitors (they need the simulated camera, hence the stand-in's scene).
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "sim")]
pub use sim::{Cast, SimTrigger};

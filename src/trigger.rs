//! What starts (or cancels) a session: a GPIO input, a local command, or, in
//! simulation, a script of visitors.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::camera::sim::Visitor;
use crate::config::Performer;

/// A request from a trigger to the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TriggerEvent {
    /// Someone wants to enter. `source` names the trigger; `note` is free text for
    /// the log (the simulated performer, say).
    Start {
        source: &'static str,
        note: Option<String>,
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

/// Which performer each simulated visitor plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cast {
    /// Every visitor plays the same.
    All(Performer),
    /// Visitor `i` plays `list[i % len]`.
    Cycle(Vec<Performer>),
}

impl Cast {
    pub fn performer(&self, i: u64) -> Performer {
        match self {
            Cast::All(p) => *p,
            Cast::Cycle(list) if !list.is_empty() => list[(i % list.len() as u64) as usize],
            Cast::Cycle(_) => Performer::Pass,
        }
    }
}

/// Simulated visitors: whenever the gate is ready, after `arrival`, the next visitor
/// steps in front of the camera (published on `visitor`, which the simulated camera
/// watches) and the trigger fires; when the session is over the visitor leaves.
pub struct SimTrigger {
    pub arrival: Duration,
    pub reaction: Duration,
    pub cast: Cast,
    pub visitor: watch::Sender<Option<Visitor>>,
}

impl Trigger for SimTrigger {
    fn spawn(
        self: Box<Self>,
        events: mpsc::Sender<TriggerEvent>,
        mut state: watch::Receiver<GateState>,
    ) -> JoinHandle<()> {
        tokio::spawn(async move {
            for i in 0u64.. {
                if state.wait_for(|s| *s == GateState::Ready).await.is_err() {
                    return;
                }
                tokio::time::sleep(self.arrival).await;
                if *state.borrow() != GateState::Ready {
                    continue;
                }
                let performer = self.cast.performer(i);
                self.visitor.send_replace(Some(Visitor {
                    performer,
                    reaction: self.reaction,
                }));
                let start = TriggerEvent::Start {
                    source: "sim",
                    note: Some(format!("performer={}", performer.as_str())),
                };
                if events.send(start).await.is_err() {
                    return;
                }
                // Stay until the session is over.
                if state.wait_for(|s| *s != GateState::Ready).await.is_err() {
                    return;
                }
                if state.wait_for(|s| *s != GateState::Busy).await.is_err() {
                    return;
                }
                self.visitor.send_replace(None);
            }
        })
    }
}

//! Simulated visitors: who steps in front of the simulated camera, and when. Built
//! only with the `sim` feature.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{GateState, Trigger, TriggerEvent};
use crate::camera::sim::Visitor;
use crate::camera::Performer;

/// Which performer each simulated visitor plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cast {
    /// Every visitor plays the same.
    All(Performer),
    /// Visitor `i` plays `list[i % len]`.
    Cycle(Vec<Performer>),
    /// Visitor `i` plays `list[i]`; nobody comes after the last (the gate stays
    /// idle until the run is stopped).
    Once(Vec<Performer>),
}

impl Cast {
    /// What visitor `i` plays; `None`: nobody comes any more.
    pub fn performer(&self, i: u64) -> Option<Performer> {
        match self {
            Cast::All(p) => Some(*p),
            Cast::Cycle(list) if !list.is_empty() => Some(list[(i % list.len() as u64) as usize]),
            Cast::Cycle(_) => Some(Performer::Pass),
            Cast::Once(list) => usize::try_from(i).ok().and_then(|i| list.get(i).copied()),
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
    /// The card every visitor shows (in-line mode in simulation), if any.
    pub card: Option<livegate_core::wiegand::Card>,
    /// Each visitor presses the start button; `false`: they only step in front of
    /// the camera (`[trigger] kind = "camera"`: the daemon sees them arrive).
    pub press: bool,
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
                let Some(performer) = self.cast.performer(i) else {
                    // Nobody else comes; the trigger stays (its end would stop the run).
                    std::future::pending::<()>().await;
                    return;
                };
                self.visitor.send_replace(Some(Visitor {
                    performer,
                    reaction: self.reaction,
                }));
                let start = TriggerEvent::Start {
                    source: "sim",
                    note: Some(format!("performer={}", performer.as_str())),
                    card: self.card,
                };
                if self.press && events.send(start).await.is_err() {
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

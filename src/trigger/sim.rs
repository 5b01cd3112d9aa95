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
    /// The card every visitor shows (in-line mode in simulation), if any.
    pub card: Option<livegate_core::wiegand::Card>,
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
                    card: self.card,
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

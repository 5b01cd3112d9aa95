//! Simulated relays: record every change with its time, so tests count pulses and
//! measure their length.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{GpioError, Relay};

/// One completed pulse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pulse {
    pub started: Instant,
    pub length: Duration,
}

#[derive(Default)]
struct State {
    active_since: Option<Instant>,
    pulses: Vec<Pulse>,
}

/// A relay that remembers. Clones share the record.
#[derive(Clone)]
pub struct SimRelay {
    name: &'static str,
    state: Arc<Mutex<State>>,
}

impl SimRelay {
    pub fn new(name: &'static str) -> Self {
        SimRelay {
            name,
            state: Arc::default(),
        }
    }

    /// Completed pulses so far.
    pub fn pulses(&self) -> Vec<Pulse> {
        self.lock().pulses.clone()
    }

    /// Whether the output is energised now.
    pub fn is_active(&self) -> bool {
        self.lock().active_since.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned record is still the truth: take it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Relay for SimRelay {
    fn name(&self) -> &'static str {
        self.name
    }

    fn set(&self, active: bool) -> Result<(), GpioError> {
        let now = Instant::now();
        let mut st = self.lock();
        match (active, st.active_since) {
            (true, None) => st.active_since = Some(now),
            (false, Some(since)) => {
                st.active_since = None;
                st.pulses.push(Pulse {
                    started: since,
                    length: now - since,
                });
            }
            _ => {}
        }
        Ok(())
    }
}

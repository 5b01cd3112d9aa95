//! Fault injection: make the stand-in misbehave the way a real service or network can.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// One way of not answering properly. A faulted request is recorded but does not touch
/// any session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer this HTTP status with a JSON error body suited to it (401 `UNAUTHORIZED`,
    /// 403 `FORBIDDEN`, 429 `OUT_OF_CREDIT`, 5xx `SERVER_ERROR`, …). A number that is not
    /// a valid HTTP status answers 500.
    Status(u16),
    /// 200 with a body that is not JSON (a truncated object).
    Garbled,
    /// 200 with valid JSON of absurd types (`{"status": 5, "next_choice": [1]}`).
    WrongTypes,
    /// Close the connection without answering.
    Drop,
    /// Never answer (until the stand-in shuts down).
    Hang,
}

#[derive(Default)]
struct Inner {
    queue: Mutex<VecDeque<Fault>>,
    always: Mutex<Option<Fault>>,
    latency: Mutex<Duration>,
    numeric_request_ids: AtomicBool,
}

/// A cheap, clonable handle that changes how the running stand-in answers.
#[derive(Clone, Default)]
pub struct Faults {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("queued", &self.pending())
            .field("always", &self.always())
            .field("latency", &self.latency())
            .field("numeric_request_ids", &self.numeric_request_ids())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Faults {
    /// A handle with no faults, no latency and string request ids.
    pub fn new() -> Self {
        Self::default()
    }

    /// Delays every answer (faults included) by `latency`, measured on the tokio clock.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.inner.latency) = latency;
    }

    /// The current delay before every answer.
    pub fn latency(&self) -> Duration {
        *lock(&self.inner.latency)
    }

    /// Queues a one-shot fault: the next request not yet faulted gets it.
    pub fn push(&self, fault: Fault) {
        lock(&self.inner.queue).push_back(fault);
    }

    /// How many one-shot faults are still queued.
    pub fn pending(&self) -> usize {
        lock(&self.inner.queue).len()
    }

    /// Drops all queued one-shot faults and any `always` fault.
    pub fn clear(&self) {
        lock(&self.inner.queue).clear();
        *lock(&self.inner.always) = None;
    }

    /// Applies `fault` to every request (after the queued ones) until set to `None`.
    pub fn set_always(&self, fault: Option<Fault>) {
        *lock(&self.inner.always) = fault;
    }

    /// The fault applied to every request, if any.
    pub fn always(&self) -> Option<Fault> {
        *lock(&self.inner.always)
    }

    /// When on, a GET answers a JSON number as `request_id` and POSTs must echo that
    /// number (a string is refused with 422); when off, ids are UUID strings.
    pub fn set_numeric_request_ids(&self, on: bool) {
        self.inner.numeric_request_ids.store(on, Ordering::SeqCst);
    }

    /// Whether request ids are JSON numbers.
    pub fn numeric_request_ids(&self) -> bool {
        self.inner.numeric_request_ids.load(Ordering::SeqCst)
    }

    /// The fault for the request that just arrived: the next queued one, else `always`.
    pub(crate) fn take_next(&self) -> Option<Fault> {
        let queued = lock(&self.inner.queue).pop_front();
        queued.or_else(|| self.always())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_faults_come_first_and_once_then_always() {
        let f = Faults::new();
        assert_eq!(f.take_next(), None);
        f.push(Fault::Status(503));
        f.push(Fault::Drop);
        f.set_always(Some(Fault::Garbled));
        let clone = f.clone();
        assert_eq!(clone.pending(), 2);
        assert_eq!(f.take_next(), Some(Fault::Status(503)));
        assert_eq!(clone.take_next(), Some(Fault::Drop));
        assert_eq!(f.take_next(), Some(Fault::Garbled));
        assert_eq!(f.take_next(), Some(Fault::Garbled));
        f.set_always(None);
        assert_eq!(f.take_next(), None);
    }

    #[test]
    fn clear_latency_and_numeric_flag() {
        let f = Faults::new();
        f.push(Fault::Hang);
        f.set_always(Some(Fault::WrongTypes));
        f.clear();
        assert_eq!(f.take_next(), None);
        assert_eq!(f.latency(), Duration::ZERO);
        f.set_latency(Duration::from_millis(250));
        assert_eq!(f.clone().latency(), Duration::from_millis(250));
        assert!(!f.numeric_request_ids());
        f.clone().set_numeric_request_ids(true);
        assert!(f.numeric_request_ids());
    }
}

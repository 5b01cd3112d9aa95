//! Who may start a session, and when: one at a time, a cooldown after each, and a
//! lockout after too many failed attempts (anti-hammering). No IO, no clock: the
//! shell passes `now`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::verdict::Verdict;

/// The limits between sessions. The configuration builds them (`[session]`
/// `cooldown`, `max_failures`, `failure_window`, `lockout`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// From the end of one session to the start of the next.
    pub cooldown: Duration,
    /// At most this many failed sessions of the person within `failure_window`…
    pub max_failures: u32,
    pub failure_window: Duration,
    /// …then no session starts for `lockout` (zero: never locked out).
    pub lockout: Duration,
}

/// The answer to "may a session start now?".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Admit,
    /// The previous session ended less than the cooldown ago.
    CoolingDown {
        until: Instant,
    },
    /// Too many failures: no session until `until`.
    LockedOut {
        until: Instant,
    },
}

#[derive(Clone, Debug)]
pub struct Gatekeeper {
    cooldown: Duration,
    max_failures: u32,
    window: Duration,
    lockout: Duration,
    failures: VecDeque<Instant>,
    ready_at: Option<Instant>,
    locked_until: Option<Instant>,
}

impl Gatekeeper {
    pub fn new(cfg: &Limits) -> Self {
        Gatekeeper {
            cooldown: cfg.cooldown,
            max_failures: cfg.max_failures.max(1),
            window: cfg.failure_window,
            lockout: cfg.lockout,
            failures: VecDeque::new(),
            ready_at: None,
            locked_until: None,
        }
    }

    /// New limits from a reloaded configuration; the failures counted so far, the
    /// cooldown and a lockout in force are kept.
    pub fn reconfigure(&mut self, cfg: &Limits) {
        self.cooldown = cfg.cooldown;
        self.max_failures = cfg.max_failures.max(1);
        self.window = cfg.failure_window;
        self.lockout = cfg.lockout;
    }

    /// The pause after each session.
    pub fn cooldown(&self) -> Duration {
        self.cooldown
    }

    pub fn admit(&self, now: Instant) -> Admission {
        if let Some(until) = self.locked_until.filter(|u| now < *u) {
            return Admission::LockedOut { until };
        }
        if let Some(until) = self.ready_at.filter(|u| now < *u) {
            return Admission::CoolingDown { until };
        }
        Admission::Admit
    }

    /// When the current lockout ends, if one is in force at `now`.
    pub fn locked_until(&self, now: Instant) -> Option<Instant> {
        self.locked_until.filter(|u| now < *u)
    }

    /// Records how a session ended at `now`. Returns the end of a lockout that this
    /// verdict started, if any. Only failures of the person count (not an unreachable
    /// service or a broken camera): see [`crate::verdict::DenyReason::is_person_failure`].
    pub fn record(&mut self, now: Instant, verdict: Verdict) -> Option<Instant> {
        self.ready_at = Some(now + self.cooldown);
        let Verdict::Deny(reason) = verdict else {
            return None;
        };
        if !reason.is_person_failure() {
            return None;
        }
        while self
            .failures
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            self.failures.pop_front();
        }
        self.failures.push_back(now);
        if self.failures.len() as u32 >= self.max_failures && !self.lockout.is_zero() {
            self.failures.clear();
            let until = now + self.lockout;
            self.locked_until = Some(until);
            return Some(until);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::DenyReason;

    fn cfg() -> Limits {
        Limits {
            cooldown: Duration::from_secs(3),
            max_failures: 3,
            failure_window: Duration::from_secs(60),
            lockout: Duration::from_secs(300),
        }
    }

    const NOT_VERIFIED: Verdict = Verdict::Deny(DenyReason::NotVerified);

    #[test]
    fn cooldown_after_every_session() {
        let t0 = Instant::now();
        let mut g = Gatekeeper::new(&cfg());
        assert_eq!(g.admit(t0), Admission::Admit);
        g.record(t0, Verdict::Pass);
        let until = t0 + Duration::from_secs(3);
        assert_eq!(
            g.admit(t0 + Duration::from_secs(1)),
            Admission::CoolingDown { until }
        );
        assert_eq!(g.admit(until), Admission::Admit);
    }

    #[test]
    fn lockout_after_max_failures_within_window() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut g = Gatekeeper::new(&cfg());
        assert_eq!(g.record(t0, NOT_VERIFIED), None);
        assert_eq!(g.record(t0 + s(10), NOT_VERIFIED), None);
        let until = g.record(t0 + s(20), NOT_VERIFIED);
        assert_eq!(until, Some(t0 + s(320)));
        assert_eq!(
            g.admit(t0 + s(100)),
            Admission::LockedOut { until: t0 + s(320) }
        );
        assert_eq!(g.admit(t0 + s(320)), Admission::Admit);
        // The count starts afresh after a lockout.
        assert_eq!(g.record(t0 + s(330), NOT_VERIFIED), None);
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut g = Gatekeeper::new(&cfg());
        g.record(t0, NOT_VERIFIED);
        g.record(t0 + s(30), NOT_VERIFIED);
        assert_eq!(g.record(t0 + s(61), NOT_VERIFIED), None);
        assert_eq!(g.record(t0 + s(62), NOT_VERIFIED), Some(t0 + s(362)));
    }

    #[test]
    fn service_failures_and_passes_do_not_count() {
        let t0 = Instant::now();
        let mut g = Gatekeeper::new(&cfg());
        for i in 0..10 {
            let t = t0 + Duration::from_secs(i);
            assert_eq!(
                g.record(t, Verdict::Deny(DenyReason::ServiceUnavailable)),
                None
            );
            assert_eq!(g.record(t, Verdict::Pass), None);
            assert_eq!(
                g.record(t, Verdict::Deny(DenyReason::CameraUnavailable)),
                None
            );
        }
        assert_eq!(g.locked_until(t0 + Duration::from_secs(20)), None);
    }
}

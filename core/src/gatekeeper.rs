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

/// The same limits kept for each of many keys (card numbers): a card's failures
/// lock out that card, whichever other cards use the gate meanwhile. Entries that
/// hold nothing any more (no failure in the window, no cooldown or lockout running)
/// are dropped, and at most `capacity` keys are remembered (the oldest entry goes
/// first), so a stream of strangers' cards cannot grow it without bound.
#[derive(Clone, Debug)]
pub struct PerKey<K> {
    limits: Limits,
    capacity: usize,
    keys: std::collections::HashMap<K, (Instant, Gatekeeper)>,
}

impl<K: std::hash::Hash + Eq + Clone> PerKey<K> {
    pub fn new(limits: &Limits, capacity: usize) -> Self {
        PerKey {
            limits: *limits,
            capacity: capacity.max(1),
            keys: std::collections::HashMap::new(),
        }
    }

    /// New limits for every key; what each key has counted is kept.
    pub fn reconfigure(&mut self, limits: &Limits) {
        self.limits = *limits;
        for (_, keeper) in self.keys.values_mut() {
            keeper.reconfigure(limits);
        }
    }

    /// May `key` start a session at `now`?
    pub fn admit(&self, key: &K, now: Instant) -> Admission {
        self.keys
            .get(key)
            .map_or(Admission::Admit, |(_, keeper)| keeper.admit(now))
    }

    /// Records how `key`'s session ended; the end of a lockout it started, if any.
    pub fn record(&mut self, key: &K, now: Instant, verdict: Verdict) -> Option<Instant> {
        self.forget_spent(now);
        if !self.keys.contains_key(key) && self.keys.len() >= self.capacity {
            if let Some(oldest) = self
                .keys
                .iter()
                .min_by_key(|(_, (seen, _))| *seen)
                .map(|(k, _)| k.clone())
            {
                self.keys.remove(&oldest);
            }
        }
        let limits = self.limits;
        let (seen, keeper) = self
            .keys
            .entry(key.clone())
            .or_insert_with(|| (now, Gatekeeper::new(&limits)));
        *seen = now;
        keeper.record(now, verdict)
    }

    /// How many keys are remembered.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn forget_spent(&mut self, now: Instant) {
        let window = self.limits.failure_window;
        self.keys.retain(|_, (_, keeper)| {
            keeper.admit(now) != Admission::Admit
                || keeper
                    .failures
                    .back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < window)
        });
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

    #[test]
    fn each_key_is_locked_out_on_its_own_failures() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut k: PerKey<u32> = PerKey::new(&cfg(), 100);
        assert_eq!(k.record(&1, t0, NOT_VERIFIED), None);
        assert_eq!(k.record(&2, t0 + s(5), Verdict::Pass), None);
        assert_eq!(k.record(&1, t0 + s(10), NOT_VERIFIED), None);
        let until = k.record(&1, t0 + s(20), NOT_VERIFIED);
        assert_eq!(until, Some(t0 + s(320)));
        assert_eq!(
            k.admit(&1, t0 + s(30)),
            Admission::LockedOut { until: t0 + s(320) }
        );
        assert_eq!(k.admit(&2, t0 + s(30)), Admission::Admit);
        assert_eq!(k.admit(&3, t0 + s(30)), Admission::Admit);
        assert_eq!(k.admit(&1, t0 + s(320)), Admission::Admit);
    }

    #[test]
    fn spent_keys_are_forgotten_and_the_memory_is_bounded() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut k: PerKey<u32> = PerKey::new(&cfg(), 3);
        for card in 0..3 {
            k.record(&card, t0 + s(card.into()), NOT_VERIFIED);
        }
        assert_eq!(k.len(), 3);
        // A fourth stranger pushes out the oldest (card 0).
        k.record(&3, t0 + s(4), NOT_VERIFIED);
        assert_eq!(k.len(), 3);
        // Card 0's earlier failure is gone with it: three more are needed again.
        k.record(&0, t0 + s(5), NOT_VERIFIED);
        k.record(&0, t0 + s(6), NOT_VERIFIED);
        assert_eq!(k.admit(&0, t0 + s(9)), Admission::Admit);
        // Long after, nothing is held: every entry is dropped at the next record.
        k.record(&9, t0 + s(1000), Verdict::Pass);
        assert_eq!(k.len(), 1);
    }
}

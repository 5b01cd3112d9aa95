//! Pure input logic: the debouncer (the door held-open watch is the core's,
//! `livegate_core::gate`). No IO, no clock: every call is given its time, so tests
//! run on synthetic timelines.

use std::time::Duration;

use tokio::time::Instant;

use super::line::Edge;

/// A debounced edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputEdge {
    /// Low → high (true) or high → low (false).
    pub rising: bool,
    /// When the new level began (the first sample of its stable run), not when it
    /// was confirmed, which is `debounce` later.
    pub at: Instant,
}

/// Turns noisy samples (or interrupt edges) into clean edges.
///
/// Each [`feed`](Debouncer::feed) says "the input is at `level` from `at` on"; the
/// level is assumed held until the next feed. A new level is accepted once it has
/// been held for `debounce` (seen by a later feed or by [`poll`](Debouncer::poll));
/// a return to the accepted level before that cancels it (a glitch). Accepted
/// changes always update the level; only those matching the [`Edge`] choice are
/// returned. A zero `debounce` accepts every change at once.
#[derive(Clone, Debug)]
pub struct Debouncer {
    debounce: Duration,
    edge: Edge,
    stable: bool,
    /// A different level seen, and since when.
    candidate: Option<(bool, Instant)>,
}

impl Debouncer {
    /// A debouncer whose accepted level starts at `initial` (true = high).
    pub fn new(debounce: Duration, edge: Edge, initial: bool) -> Self {
        Debouncer {
            debounce,
            edge,
            stable: initial,
            candidate: None,
        }
    }

    /// The accepted (debounced) level.
    pub fn level(&self) -> bool {
        self.stable
    }

    /// When [`poll`](Debouncer::poll) would accept the pending level, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.candidate.map(|(_, since)| since + self.debounce)
    }

    /// The input is at `level` from `at` on. Returns an edge when a level is accepted
    /// and matches the edge choice.
    pub fn feed(&mut self, level: bool, at: Instant) -> Option<InputEdge> {
        // A pending level held until now may be accepted first. With a zero debounce
        // no candidate outlives a call, so at most one of the two steps yields an edge.
        let settled = self.poll(at);
        if level == self.stable {
            self.candidate = None;
        } else if !matches!(self.candidate, Some((l, _)) if l == level) {
            self.candidate = Some((level, at));
        }
        settled.or_else(|| self.poll(at))
    }

    /// Accepts the pending level if it has been held for `debounce` by `now`.
    pub fn poll(&mut self, now: Instant) -> Option<InputEdge> {
        let (level, since) = self.candidate?;
        if now.saturating_duration_since(since) < self.debounce {
            return None;
        }
        self.candidate = None;
        self.stable = level;
        self.edge.passes(level).then_some(InputEdge {
            rising: level,
            at: since,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Feeds a timeline of (ms, level) and returns the edges as (at ms, rising).
    fn run(d: &mut Debouncer, t0: Instant, samples: &[(u64, bool)]) -> Vec<(u64, bool)> {
        samples
            .iter()
            .filter_map(|&(t, l)| d.feed(l, t0 + ms(t)))
            .map(|e| ((e.at - t0).as_millis() as u64, e.rising))
            .collect()
    }

    #[test]
    fn a_bounce_train_gives_one_edge_at_its_start_of_stability() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(20), Edge::Both, false);
        // Contact bounces for 6 ms, then stays closed; sampled every 1 ms after.
        let mut samples = vec![
            (100, true),
            (101, false),
            (102, true),
            (103, false),
            (105, true),
            (106, false),
            (106, true),
        ];
        samples.extend((107..=140).map(|t| (t, true)));
        let edges = run(&mut d, t0, &samples);
        assert_eq!(edges, vec![(106, true)]);
        assert!(d.level());
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn the_edge_is_confirmed_exactly_debounce_after_it_began() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(20), Edge::Both, false);
        assert_eq!(d.feed(true, t0 + ms(10)), None);
        assert_eq!(d.deadline(), Some(t0 + ms(30)));
        assert_eq!(d.feed(true, t0 + ms(29)), None, "19 ms is not yet stable");
        assert_eq!(
            d.feed(true, t0 + ms(30)),
            Some(InputEdge {
                rising: true,
                at: t0 + ms(10)
            })
        );
        assert_eq!(d.feed(true, t0 + ms(60)), None, "no second edge");
    }

    #[test]
    fn a_glitch_shorter_than_debounce_is_ignored() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(20), Edge::Both, true);
        assert_eq!(d.feed(false, t0), None);
        assert_eq!(d.feed(true, t0 + ms(19)), None);
        assert_eq!(d.deadline(), None, "the glitch was cancelled");
        assert_eq!(d.poll(t0 + ms(500)), None);
        assert!(d.level());
    }

    #[test]
    fn a_glitch_does_not_restart_a_pending_level_only_a_return_does() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(20), Edge::Both, false);
        d.feed(true, t0);
        d.feed(true, t0 + ms(5)); // same level again: keeps the start at t0
        assert_eq!(d.deadline(), Some(t0 + ms(20)));
        d.feed(false, t0 + ms(10)); // back to the accepted level: cancelled
        d.feed(true, t0 + ms(12)); // starts over
        assert_eq!(d.deadline(), Some(t0 + ms(32)));
    }

    #[test]
    fn poll_accepts_a_level_after_quiet_time() {
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(50), Edge::Both, false);
        d.feed(true, t0);
        assert_eq!(d.poll(t0 + ms(49)), None);
        assert_eq!(
            d.poll(t0 + ms(50)),
            Some(InputEdge {
                rising: true,
                at: t0
            })
        );
        assert_eq!(d.poll(t0 + ms(100)), None);
    }

    #[test]
    fn an_interrupt_edge_after_quiet_time_accepts_the_held_level_first() {
        // Edges only (no samples in between): the level held until the next edge.
        let t0 = Instant::now();
        let mut d = Debouncer::new(ms(20), Edge::Both, false);
        assert_eq!(d.feed(true, t0), None);
        let e = d.feed(false, t0 + ms(100));
        assert_eq!(
            e,
            Some(InputEdge {
                rising: true,
                at: t0
            })
        );
        assert_eq!(
            d.poll(t0 + ms(120)),
            Some(InputEdge {
                rising: false,
                at: t0 + ms(100)
            })
        );
    }

    #[test]
    fn edge_choice_is_respected_but_the_level_still_follows() {
        let t0 = Instant::now();
        let timeline: Vec<(u64, bool)> = (0..400)
            .map(|t| (t, (100..200).contains(&t) || t >= 300))
            .collect();
        let mut r = Debouncer::new(ms(10), Edge::Rising, false);
        assert_eq!(run(&mut r, t0, &timeline), vec![(100, true), (300, true)]);
        let mut f = Debouncer::new(ms(10), Edge::Falling, false);
        assert_eq!(run(&mut f, t0, &timeline), vec![(200, false)]);
        assert!(f.level(), "the rising edges were accepted silently");
        let mut b = Debouncer::new(ms(10), Edge::Both, false);
        assert_eq!(
            run(&mut b, t0, &timeline),
            vec![(100, true), (200, false), (300, true)]
        );
    }

    #[test]
    fn equal_timestamps() {
        let t0 = Instant::now();
        // With a debounce, a change and its reversal at the same instant are nothing.
        let mut d = Debouncer::new(ms(10), Edge::Both, false);
        assert_eq!(d.feed(true, t0), None);
        assert_eq!(d.feed(false, t0), None);
        assert_eq!(d.poll(t0 + ms(100)), None);
        assert!(!d.level());
        // Without one, each is an edge of its own, in order.
        let mut z = Debouncer::new(Duration::ZERO, Edge::Both, false);
        assert_eq!(
            run(&mut z, t0, &[(0, true), (0, false)]),
            vec![(0, true), (0, false)]
        );
        assert_eq!(run(&mut z, t0, &[(5, false)]), vec![], "no change, no edge");
    }

    #[test]
    fn a_sample_older_than_the_pending_start_does_not_confirm_it() {
        let t0 = Instant::now() + ms(1000);
        let mut d = Debouncer::new(ms(10), Edge::Both, false);
        d.feed(true, t0);
        assert_eq!(d.feed(true, t0 - ms(500)), None);
        assert_eq!(d.deadline(), Some(t0 + ms(10)));
    }
}

//! Two inputs watched for edges by the kernel, each edge stamped with the kernel's
//! time: what a Wiegand card reader's D0 and D1 need (its 20–100 µs pulses are far
//! too short to poll). Written once; [`cdev`](super::cdev) and
//! [`rppal`](super::rppal) only request the lines and read their events.

use std::time::{Duration, Instant};

use super::line::{LineAddr, Pull};
use super::GpioError;

/// A (falling) edge of one of the pair: which line (0 or 1), when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairEdge {
    pub which: usize,
    pub at: Instant,
}

/// Two lines requested with edge detection on the falling edge only. (With both
/// edges the kernel tells a rising from a falling edge by reading the line in its
/// interrupt thread, after the fact: a 50 µs pulse is often over by then, and its
/// edges come out mislabelled. A falling-only request needs no such read.)
pub trait EdgePair: Send + 'static {
    /// The next edge, or `None` once `timeout` passed.
    fn next(&mut self, timeout: Duration) -> Result<Option<PairEdge>, String>;
}

/// A line address whose backend can watch two lines for edges.
pub trait EdgePairAddr: LineAddr {
    type Pair: EdgePair;
    /// Requests `lines` for `name` with `pull`, falling edges reported.
    fn claim_edge_pair(
        name: &'static str,
        lines: [&Self; 2],
        pull: Pull,
    ) -> Result<Self::Pair, GpioError>;
}

/// Turns the kernel's event timestamps (CLOCK_MONOTONIC, time since boot) into
/// `Instant`s: `Instant::now()` and the monotonic clock read together once.
#[derive(Clone, Copy, Debug)]
pub struct Monotonic {
    instant: Instant,
    since_boot: Duration,
}

impl Monotonic {
    pub fn now() -> Monotonic {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid pointer to a timespec on the stack.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        Monotonic {
            instant: Instant::now(),
            since_boot: Duration::new(
                ts.tv_sec.max(0) as u64,
                ts.tv_nsec.clamp(0, 999_999_999) as u32,
            ),
        }
    }

    /// The `Instant` of a kernel timestamp.
    pub fn instant(&self, since_boot: Duration) -> Instant {
        if since_boot >= self.since_boot {
            self.instant + (since_boot - self.since_boot)
        } else {
            self.instant
                .checked_sub(self.since_boot - since_boot)
                .unwrap_or(self.instant)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_timestamps_map_onto_instants_both_ways() {
        let m = Monotonic::now();
        let ms = Duration::from_millis;
        assert_eq!(m.instant(m.since_boot + ms(5)), m.instant + ms(5));
        assert_eq!(m.instant(m.since_boot - ms(5)), m.instant - ms(5));
        // The same clock: an event stamped "now" lands within a moment of now.
        let again = Monotonic::now();
        let mapped = m.instant(again.since_boot);
        let diff = if mapped > again.instant {
            mapped - again.instant
        } else {
            again.instant - mapped
        };
        assert!(diff < ms(50), "{diff:?}");
    }
}

//! Wiegand on real lines: the sender thread that plays a frame's pulses on D0/D1,
//! and the listener that feeds a card reader's edges (with the kernel's timestamps)
//! to the core's decoder. The bits, parities and timing rules are the core's
//! ([`livegate_core::wiegand`]); this module only keeps time and drives lines.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use livegate_core::wiegand::{self, Bits, Decoder, DecoderParams, Line, Read, Timing};

use crate::gpio::edges::{EdgePair, EdgePairAddr};
use crate::gpio::line::{Level, LineAddr, Pull};
use crate::gpio::output::OutputLine;
use crate::gpio::GpioError;

/// The time source of the sender: the real one spins the last stretch to each
/// edge; tests use a virtual one that jumps.
pub trait Clock: Send + 'static {
    fn now(&self) -> Instant;
    /// Returns at `t` or later, never before.
    fn wait_until(&mut self, t: Instant);
}

/// The monotonic clock: sleeps until shortly before each edge, then spins, so a
/// 50 µs pulse is 50 µs and not a scheduler tick.
#[derive(Debug, Default)]
pub struct Monotonic;

/// How long before an edge the sender stops sleeping and starts spinning.
const SPIN: Duration = Duration::from_micros(300);

impl Clock for Monotonic {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wait_until(&mut self, t: Instant) {
        loop {
            let now = Instant::now();
            if now >= t {
                return;
            }
            let left = t - now;
            if left > SPIN {
                std::thread::sleep(left - SPIN);
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

/// The two output lines of a Wiegand link, claimed at their idle level.
pub struct WiegandLines<L: OutputLine> {
    d0: L,
    d1: L,
    /// The lines drive an open-collector stage (a transistor pulls the panel's line
    /// low when ours is high): idle is low and a pulse is high.
    inverted: bool,
}

/// The level a line rests at.
pub fn idle_level(inverted: bool) -> Level {
    if inverted {
        Level::Low
    } else {
        Level::High
    }
}

/// Claims D0 and D1 as outputs already at their idle level (high, or low when
/// `inverted`), so that claiming them sends no bit.
pub fn claim_lines<A: LineAddr>(
    d0: &A,
    d1: &A,
    inverted: bool,
) -> Result<WiegandLines<A::Output>, GpioError> {
    let idle = idle_level(inverted);
    let (d0, d0_at) = d0.claim_output("wiegand D0", idle)?;
    let (d1, d1_at) = d1.claim_output("wiegand D1", idle)?;
    tracing::info!(d0 = %d0_at, d1 = %d1_at, inverted, "Wiegand output lines claimed at their idle level");
    Ok(WiegandLines::new(d0, d1, inverted))
}

impl<L: OutputLine> WiegandLines<L> {
    /// Lines the caller has already set to their idle level.
    pub fn new(d0: L, d1: L, inverted: bool) -> Self {
        WiegandLines { d0, d1, inverted }
    }

    fn write(&mut self, line: Line, pulse: bool) -> Result<(), String> {
        let level = if pulse != self.inverted {
            Level::Low
        } else {
            Level::High
        };
        match line {
            Line::D0 => self.d0.write(level),
            Line::D1 => self.d1.write(level),
        }
    }

    /// Both lines back to idle; best effort (used on the error path and at the end).
    fn rest(&mut self) {
        for line in [Line::D0, Line::D1] {
            if let Err(e) = self.write(line, false) {
                tracing::error!(error = %e, ?line, "cannot return a Wiegand line to idle");
            }
        }
    }
}

impl<L: OutputLine> Drop for WiegandLines<L> {
    fn drop(&mut self) {
        self.rest();
    }
}

/// How one frame went out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sent {
    /// First falling edge to last rising edge.
    pub took: Duration,
    /// The longest pulse as played (a preempted thread stretches one).
    pub longest_pulse: Duration,
}

/// Plays `bits` on the lines now: each pulse at its scheduled offset from the start,
/// never early. On a line error both lines go back to idle and the frame is abandoned.
pub fn send_frame<L: OutputLine, C: Clock>(
    lines: &mut WiegandLines<L>,
    clock: &mut C,
    bits: Bits,
    timing: Timing,
) -> Result<Sent, String> {
    let start = clock.now();
    let mut longest = Duration::ZERO;
    for p in wiegand::schedule(bits, timing) {
        clock.wait_until(start + p.low);
        if let Err(e) = lines.write(p.line, true) {
            lines.rest();
            return Err(e);
        }
        let low_at = clock.now();
        // The pulse is timed from when the line really went low: a late start must
        // not shorten it below the panel's minimum.
        clock.wait_until(low_at + timing.pulse());
        let result = lines.write(p.line, false);
        longest = longest.max(clock.now().saturating_duration_since(low_at));
        if let Err(e) = result {
            lines.rest();
            return Err(e);
        }
    }
    Ok(Sent {
        took: clock.now().saturating_duration_since(start),
        longest_pulse: longest,
    })
}

/// Frames waiting for the sender; more are refused (a panel would take a burst of
/// frames as a fault anyway).
const QUEUE: usize = 4;

/// The sender thread's handle: frames go in, the thread plays them one at a time
/// with [`Timing::gap_after`] between them.
pub struct Sender {
    tx: Option<SyncSender<Bits>>,
    thread: Option<JoinHandle<()>>,
}

/// Why a frame was not queued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    #[error("the Wiegand sender is busy ({QUEUE} frames waiting); frame dropped")]
    Busy,
    #[error("the Wiegand sender has stopped")]
    Stopped,
}

impl Sender {
    /// Starts the sender thread on `lines`. With `realtime`, the thread asks for
    /// real-time priority and locks the process's memory, and says in one log line
    /// what it got.
    pub fn spawn<L: OutputLine, C: Clock>(
        lines: WiegandLines<L>,
        timing: Timing,
        clock: C,
        realtime: bool,
    ) -> std::io::Result<Sender> {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("wiegand-out".into())
            .spawn(move || {
                if realtime {
                    become_realtime();
                }
                run_sender(lines, clock, timing, rx)
            })?;
        Ok(Sender {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues one frame.
    pub fn send(&self, bits: Bits) -> Result<(), SendError> {
        let tx = self.tx.as_ref().ok_or(SendError::Stopped)?;
        tx.try_send(bits).map_err(|e| match e {
            TrySendError::Full(_) => SendError::Busy,
            TrySendError::Disconnected(_) => SendError::Stopped,
        })
    }

    /// Sends what is queued, then stops the thread (the lines rest at idle).
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("the Wiegand sender thread panicked");
            }
        }
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run_sender<L: OutputLine, C: Clock>(
    mut lines: WiegandLines<L>,
    mut clock: C,
    timing: Timing,
    rx: Receiver<Bits>,
) {
    let mut last_end: Option<Instant> = None;
    while let Ok(bits) = rx.recv() {
        if let Some(end) = last_end {
            clock.wait_until(end + timing.gap_after());
        }
        match send_frame(&mut lines, &mut clock, bits, timing) {
            Ok(sent) => {
                let took_ms = sent.took.as_secs_f64() * 1e3;
                if sent.longest_pulse > Timing::PULSE_MAX {
                    tracing::warn!(bits = bits.len(), longest_pulse_us = sent.longest_pulse.as_micros() as u64,
                        "Wiegand frame sent with a stretched pulse (the thread was held up); the panel may reject it");
                } else {
                    tracing::debug!(bits = bits.len(), took_ms, "Wiegand frame sent");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "Wiegand frame abandoned: a line could not be driven")
            }
        }
        last_end = Some(clock.now());
    }
}

/// Real-time priority for this thread and locked memory, where the system allows;
/// one log line either way.
fn become_realtime() {
    // SAFETY: plain libc calls on this thread with a valid parameter struct.
    let prio = unsafe {
        let param = libc::sched_param { sched_priority: 50 };
        libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param)
    };
    // MCL_CURRENT only: MCL_FUTURE would make later allocations fail at the limit.
    // SAFETY: no pointers involved.
    let locked = unsafe { libc::mlockall(libc::MCL_CURRENT) };
    let locked_err = (locked != 0).then(std::io::Error::last_os_error);
    match (prio, locked_err) {
        (0, None) => {
            tracing::info!("Wiegand sender: real-time priority (SCHED_FIFO 50), memory locked")
        }
        (p, l) => tracing::warn!(
            realtime = p == 0,
            memory_locked = l.is_none(),
            priority_error = %std::io::Error::from_raw_os_error(p),
            lock_error = %l.map(|e| e.to_string()).unwrap_or_default(),
            "Wiegand sender runs without real-time guarantees (grant CAP_SYS_NICE and CAP_IPC_LOCK, or LimitRTPRIO/LimitMEMLOCK, to the service); a busy system may stretch a pulse"
        ),
    }
}

/// One edge on a card reader's line, with the time the kernel saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdgeAt {
    pub line: Line,
    /// A falling edge.
    pub low: bool,
    pub at: Instant,
}

/// Where a card reader's edges come from.
pub trait EdgeSource: Send + 'static {
    /// The next edge, or `None` when `timeout` passed first.
    fn next_edge(&mut self, timeout: Duration) -> Result<Option<EdgeAt>, String>;
    /// Now, on the clock the edges are stamped with.
    fn now(&self) -> Instant;
}

/// A card reader on two lines (D0 then D1) of either backend. The kernel reports
/// only falling edges (see [`EdgePair`]): each is a bit, handed to the decoder as a
/// pulse of the shortest width a reader sends, so glitch and width checks rest on
/// the spacing of bits and the frame's parity.
pub struct PairReader<P: EdgePair> {
    pair: P,
    /// The rising edge that closes the last falling one.
    rise: Option<EdgeAt>,
}

/// Requests D0 and D1 with pull-ups (a reader's outputs are open collector on many
/// models; a pull-up does no harm to one that drives), falling edges reported.
pub fn open_reader<A: EdgePairAddr>(d0: &A, d1: &A) -> Result<PairReader<A::Pair>, GpioError> {
    A::claim_edge_pair("wiegand in", [d0, d1], Pull::Up).map(|pair| PairReader { pair, rise: None })
}

impl<P: EdgePair> EdgeSource for PairReader<P> {
    fn next_edge(&mut self, timeout: Duration) -> Result<Option<EdgeAt>, String> {
        if let Some(rise) = self.rise.take() {
            return Ok(Some(rise));
        }
        let Some(e) = self.pair.next(timeout)? else {
            return Ok(None);
        };
        let line = if e.which == 0 { Line::D0 } else { Line::D1 };
        self.rise = Some(EdgeAt {
            line,
            low: false,
            at: e.at + Timing::PULSE_MIN,
        });
        Ok(Some(EdgeAt {
            line,
            low: true,
            at: e.at,
        }))
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// How long the listener waits when no frame is being read (it wakes up only to
/// see whether it should stop).
const IDLE_WAIT: Duration = Duration::from_millis(500);

/// Reads frames from `source` until `keep_going` says stop or the source fails,
/// handing each finished frame to `on_read`.
pub fn listen<S: EdgeSource>(
    mut source: S,
    params: DecoderParams,
    mut keep_going: impl FnMut() -> bool,
    mut on_read: impl FnMut(Read),
) -> Result<(), String> {
    let mut decoder = Decoder::new(params);
    while keep_going() {
        let now = source.now();
        let wait = decoder
            .deadline()
            .map_or(IDLE_WAIT, |d| d.saturating_duration_since(now));
        let read = match source.next_edge(wait)? {
            Some(e) => decoder.edge(e.line, e.low, e.at),
            None => decoder.poll(source.now()),
        };
        if let Some(r) = read {
            on_read(r);
        }
    }
    Ok(())
}

/// The simulated twin of the output lines: each frame is played as the edges the
/// real lines would make (on a virtual clock) into the core's [`Decoder`], as a
/// panel would read them, and what was read goes to `received`.
pub struct SimOutput {
    timing: Timing,
    received: Box<dyn Fn(Read) + Send + Sync>,
}

impl SimOutput {
    pub fn new(timing: Timing, received: impl Fn(Read) + Send + Sync + 'static) -> Self {
        SimOutput {
            timing,
            received: Box::new(received),
        }
    }

    /// The frame `bits` as a panel's decoder reads it off the lines.
    pub fn play(bits: Bits, timing: Timing) -> Option<Read> {
        let params = DecoderParams::default();
        let mut decoder = Decoder::new(params);
        let start = Instant::now();
        let mut read = None;
        for p in wiegand::schedule(bits, timing) {
            read = read.or(decoder.edge(p.line, true, start + p.low));
            read = read.or(decoder.edge(p.line, false, start + p.high));
        }
        let end = start + wiegand::duration(bits, timing) + params.end_gap;
        read.or_else(|| decoder.poll(end))
    }
}

impl super::CardOutput for SimOutput {
    fn kind(&self) -> &'static str {
        "wiegand"
    }

    fn send(&self, card: &wiegand::Card) -> Result<(), String> {
        let read = Self::play(card.encode(), self.timing)
            .ok_or_else(|| "the simulated panel read no frame".to_owned())?;
        (self.received)(read);
        Ok(())
    }
}

/// `[trigger] kind = "wiegand"`: a card reader's frames from `source`; a good card
/// starts a session, a bad frame is logged (without its bits) and ignored.
pub struct CardTrigger<S: EdgeSource> {
    pub source: S,
    pub params: DecoderParams,
    pub shown: super::CardShown,
}

impl<S: EdgeSource> crate::trigger::Trigger for CardTrigger<S> {
    fn spawn(
        self: Box<Self>,
        events: tokio::sync::mpsc::Sender<crate::trigger::TriggerEvent>,
        _state: tokio::sync::watch::Receiver<crate::trigger::GateState>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::task::spawn_blocking(move || {
            let CardTrigger {
                source,
                params,
                shown,
            } = *self;
            let open = events.clone();
            let r = listen(
                source,
                params,
                || !open.is_closed(),
                |read| match read.card {
                    Ok(card) => {
                        tracing::debug!(card = %shown.show(&card), "card read");
                        let start = crate::trigger::TriggerEvent::Start {
                            source: "wiegand",
                            note: None,
                            card: Some(card),
                        };
                        if events.try_send(start).is_err() {
                            tracing::warn!(card = %shown.show(&card), "card read while the daemon is busy: ignored");
                        }
                    }
                    Err(e) => tracing::warn!(
                        bits = read.bits.len(),
                        glitches = read.glitches,
                        error = %e,
                        "Wiegand frame from the card reader ignored"
                    ),
                },
            );
            if let Err(e) = r {
                tracing::error!(error = %e, "the card reader's lines failed: no card starts a session until a restart");
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livegate_core::wiegand::{Card, Format};
    use std::sync::{Arc, Mutex};

    /// Virtual time: `wait_until` jumps, so recorded instants are exact.
    #[derive(Clone)]
    struct Virtual(Arc<Mutex<Instant>>);
    impl Clock for Virtual {
        fn now(&self) -> Instant {
            *self.0.lock().unwrap()
        }
        fn wait_until(&mut self, t: Instant) {
            let mut now = self.0.lock().unwrap();
            *now = (*now).max(t);
        }
    }

    type Log = Arc<Mutex<Vec<(Line, Level, Instant)>>>;

    /// A fake output line: records each level written with the time it was written.
    struct Recorder<C> {
        line: Line,
        log: Log,
        clock: C,
        fail_after: Option<usize>,
    }
    impl<C: Fn() -> Instant + Send + 'static> OutputLine for Recorder<C> {
        fn write(&mut self, level: Level) -> Result<(), String> {
            if let Some(n) = self.fail_after.as_mut() {
                if *n == 0 {
                    return Err("line gone".into());
                }
                *n -= 1;
            }
            self.log
                .lock()
                .unwrap()
                .push((self.line, level, (self.clock)()));
            Ok(())
        }
    }

    fn lines<C: Fn() -> Instant + Clone + Send + 'static>(
        clock: C,
        inverted: bool,
    ) -> (WiegandLines<Recorder<C>>, Log) {
        let log: Log = Arc::default();
        let rec = |line| Recorder {
            line,
            log: log.clone(),
            clock: clock.clone(),
            fail_after: None,
        };
        (
            WiegandLines::new(rec(Line::D0), rec(Line::D1), inverted),
            log,
        )
    }

    /// The pulses in a log: (line, start, end) of each stretch at the pulse level.
    fn pulses(log: &[(Line, Level, Instant)], pulse_level: Level) -> Vec<(Line, Instant, Instant)> {
        let mut out = vec![];
        let mut open: [Option<Instant>; 2] = [None, None];
        for &(line, level, at) in log {
            let i = line as usize;
            if level == pulse_level {
                open[i] = Some(at);
            } else if let Some(s) = open[i].take() {
                out.push((line, s, at));
            }
        }
        out
    }

    #[test]
    fn the_simulated_twin_reads_back_the_card_sent() {
        use crate::reader::CardOutput;
        let got: Arc<Mutex<Vec<Read>>> = Arc::default();
        let seen = got.clone();
        let twin = SimOutput::new(Timing::DEFAULT, move |r| seen.lock().unwrap().push(r));
        for card in [
            Card::new(Format::W26, 0, 12345).unwrap(),
            Card::new(Format::W34, 65535, 1).unwrap(),
        ] {
            twin.send(&card).unwrap();
            let r = got.lock().unwrap().pop().unwrap();
            assert_eq!(r.card, Ok(card));
            assert_eq!(r.bits, card.encode());
        }
    }

    #[test]
    fn a_frame_is_played_exactly_on_schedule_in_virtual_time() {
        let t0 = Instant::now();
        let clock = Virtual(Arc::new(Mutex::new(t0)));
        let c = clock.clone();
        let (mut l, log) = lines(move || c.now(), false);
        let card = Card::new(Format::W26, 18, 12345).unwrap();
        let timing = Timing::DEFAULT;
        let sent = send_frame(&mut l, &mut clock.clone(), card.encode(), timing).unwrap();
        let p = pulses(&log.lock().unwrap(), Level::Low);
        assert_eq!(p.len(), 26);
        for (i, ((line, s, e), bit)) in p.iter().zip(card.encode().iter()).enumerate() {
            assert_eq!(*line, if bit { Line::D1 } else { Line::D0 }, "bit {i}");
            assert_eq!(*s - t0, timing.interval() * i as u32);
            assert_eq!(*e - *s, timing.pulse());
        }
        assert_eq!(sent.took, wiegand::duration(card.encode(), timing));
        assert_eq!(sent.longest_pulse, timing.pulse());
        // What a decoder makes of the recorded lines is the card.
        let mut d = Decoder::new(DecoderParams::default());
        let mut reads = vec![];
        for &(line, level, at) in log.lock().unwrap().iter() {
            reads.extend(d.edge(line, level == Level::Low, at));
        }
        reads.extend(d.poll(t0 + Duration::from_secs(1)));
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].card, Ok(card));
    }

    #[test]
    fn inverted_lines_pulse_high_and_rest_low() {
        let t0 = Instant::now();
        let clock = Virtual(Arc::new(Mutex::new(t0)));
        let c = clock.clone();
        let (mut l, log) = lines(move || c.now(), true);
        let bits = Card::new(Format::W34, 1, 2).unwrap().encode();
        send_frame(&mut l, &mut clock.clone(), bits, Timing::DEFAULT).unwrap();
        assert_eq!(pulses(&log.lock().unwrap(), Level::High).len(), 34);
        drop(l);
        let log = log.lock().unwrap();
        assert!(log[log.len() - 2..].iter().all(|e| e.1 == Level::Low));
    }

    #[test]
    fn a_line_error_mid_frame_leaves_both_lines_idle() {
        let t0 = Instant::now();
        let clock = Virtual(Arc::new(Mutex::new(t0)));
        let c = clock.clone();
        let (mut l, log) = lines(move || c.now(), false);
        l.d1.fail_after = Some(2);
        let bits = Card::new(Format::W26, 255, 65535).unwrap().encode(); // 0 then 24 ones
        let err = send_frame(&mut l, &mut clock.clone(), bits, Timing::DEFAULT).unwrap_err();
        assert_eq!(err, "line gone");
        let log = log.lock().unwrap();
        let last_d0 = log.iter().rev().find(|e| e.0 == Line::D0).unwrap();
        assert_eq!(last_d0.1, Level::High);
        // D1 failed while low was wanted, so its last recorded level is its idle high.
        let last_d1 = log.iter().rev().find(|e| e.0 == Line::D1).unwrap();
        assert_eq!(last_d1.1, Level::High);
    }

    #[test]
    fn the_thread_keeps_frames_apart_by_the_gap_and_never_overlaps_them() {
        let t0 = Instant::now();
        let clock = Virtual(Arc::new(Mutex::new(t0)));
        let c = clock.clone();
        let (l, log) = lines(move || c.now(), false);
        let timing = Timing::new(Duration::from_micros(40), Duration::from_micros(500)).unwrap();
        let sender = Sender::spawn(l, timing, clock.clone(), false).unwrap();
        let a = Card::new(Format::W26, 1, 1).unwrap();
        let b = Card::new(Format::W26, 2, 2).unwrap();
        sender.send(a.encode()).unwrap();
        sender.send(b.encode()).unwrap();
        sender.finish();
        let p = pulses(&log.lock().unwrap(), Level::Low);
        assert_eq!(p.len(), 52);
        let gap = p[26].1 - p[25].2;
        assert!(gap >= timing.gap_after(), "{gap:?}");
        assert!(p.windows(2).all(|w| w[0].2 <= w[1].1));
    }

    #[test]
    fn on_the_real_clock_no_pulse_is_short_and_no_bit_comes_early() {
        // Lower bounds only: waiting never returns early, whatever the machine's load.
        let (mut l, log) = lines(Instant::now, false);
        let timing = Timing::DEFAULT;
        let bits = Card::new(Format::W26, 18, 12345).unwrap().encode();
        let start = Instant::now();
        send_frame(&mut l, &mut Monotonic, bits, timing).unwrap();
        let p = pulses(&log.lock().unwrap(), Level::Low);
        assert_eq!(p.len(), 26);
        for (i, (_, s, e)) in p.iter().enumerate() {
            assert!(*e - *s >= timing.pulse());
            assert!(*s - start >= timing.interval() * i as u32);
        }
    }

    /// Falling edges only, as the kernel reports them for a card reader.
    struct Falls(std::vec::IntoIter<crate::gpio::edges::PairEdge>);
    impl EdgePair for Falls {
        fn next(&mut self, _: Duration) -> Result<Option<crate::gpio::edges::PairEdge>, String> {
            Ok(self.0.next())
        }
    }

    #[test]
    fn falling_edges_alone_are_read_as_the_card() {
        let t0 = Instant::now();
        let card = Card::new(Format::W26, 18, 12345).unwrap();
        let falls: Vec<_> = wiegand::schedule(card.encode(), Timing::DEFAULT)
            .map(|p| crate::gpio::edges::PairEdge {
                which: usize::from(p.line == Line::D1),
                at: t0 + p.low,
            })
            .collect();
        let mut reader = PairReader {
            pair: Falls(falls.into_iter()),
            rise: None,
        };
        let mut d = Decoder::new(DecoderParams::default());
        let mut reads = vec![];
        while let Some(e) = reader.next_edge(Duration::ZERO).unwrap() {
            reads.extend(d.edge(e.line, e.low, e.at));
        }
        reads.extend(d.poll(t0 + Duration::from_secs(1)));
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].card, Ok(card));
    }

    /// A reader's edges, replayed; `now` follows the last edge handed out.
    struct Replay {
        edges: std::vec::IntoIter<EdgeAt>,
        now: Instant,
    }
    impl EdgeSource for Replay {
        fn next_edge(&mut self, timeout: Duration) -> Result<Option<EdgeAt>, String> {
            match self.edges.as_slice().first() {
                Some(e) if e.at <= self.now + timeout => {
                    self.now = e.at;
                    Ok(self.edges.next())
                }
                Some(_) => {
                    self.now += timeout;
                    Ok(None)
                }
                None => {
                    self.now += timeout;
                    Ok(None)
                }
            }
        }
        fn now(&self) -> Instant {
            self.now
        }
    }

    #[test]
    fn the_listener_hands_over_each_frame_when_its_gap_has_passed() {
        let t0 = Instant::now();
        let timing = Timing::DEFAULT;
        let a = Card::new(Format::W26, 18, 12345).unwrap();
        let b = Card::new(Format::W34, 7, 8).unwrap();
        let edges = |bits: Bits, start: Instant| {
            wiegand::schedule(bits, timing)
                .flat_map(move |p| {
                    [
                        EdgeAt {
                            line: p.line,
                            low: true,
                            at: start + p.low,
                        },
                        EdgeAt {
                            line: p.line,
                            low: false,
                            at: start + p.high,
                        },
                    ]
                })
                .collect::<Vec<_>>()
        };
        let mut all = edges(a.encode(), t0);
        // A truncated frame (the reader lost power) between the two good ones.
        all.extend(
            edges(b.encode(), t0 + Duration::from_secs(1))
                .into_iter()
                .take(10),
        );
        all.extend(edges(b.encode(), t0 + Duration::from_secs(2)));
        let source = Replay {
            edges: all.into_iter(),
            now: t0,
        };
        let mut reads = vec![];
        let mut left = 1000;
        let end = listen(
            source,
            DecoderParams::default(),
            || {
                left -= 1;
                left > 0
            },
            |r| reads.push(r),
        );
        assert_eq!(end, Ok(()));
        let cards: Vec<_> = reads.iter().map(|r| r.card).collect();
        assert_eq!(
            cards,
            vec![Ok(a), Err(wiegand::FrameError::Length(5)), Ok(b)]
        );
    }
}

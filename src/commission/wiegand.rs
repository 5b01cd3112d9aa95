//! `livegate test wiegand out|in`: one frame sent on the configured output lines
//! with its bits printed, or each frame a card reader sends shown as it is read.

use std::io::Write;
use std::time::Duration;

use livegate_core::wiegand::{Card, DecoderParams, Read, Timing};

use crate::gpio::edges::EdgePairAddr;
use crate::gpio::line::LineAddr;
use crate::gpio::{GpioError, GpioLines};
use crate::reader::wiegand::{claim_lines, listen, open_reader, send_frame, EdgeSource, Monotonic};
use crate::reader::CardShown;

/// Why a Wiegand test could not run.
#[derive(Debug, thiserror::Error)]
pub enum WiegandTestError {
    #[error(transparent)]
    Gpio(#[from] GpioError),
    #[error("the frame was abandoned: {0}")]
    Line(String),
    #[error("the card reader's lines failed: {0}")]
    Listen(String),
    #[error(
        "no Wiegand {0} lines in [gpio]: set kind = \"rppal\" with wiegand_{0}_d0_pin and \
         wiegand_{0}_d1_pin (or kind = \"cdev\" with wiegand_{0}_d0_line and wiegand_{0}_d1_line)"
    )]
    NoLines(&'static str),
    #[error("cannot write the report: {0}")]
    Write(#[from] std::io::Error),
}

/// [`test_wiegand_out`] on the `wiegand_out_*` lines of a `[gpio]` table.
pub fn test_out_on<A: LineAddr + std::fmt::Display>(
    lines: &GpioLines<A>,
    inverted: bool,
    timing: Timing,
    card: Card,
    w: &mut dyn Write,
) -> Result<(), WiegandTestError> {
    let (d0, d1) = lines
        .wiegand
        .output()
        .ok_or(WiegandTestError::NoLines("out"))?;
    test_wiegand_out(d0, d1, inverted, timing, card, w)
}

/// [`test_wiegand_in`] on the `wiegand_in_*` lines of a `[gpio]` table.
pub fn test_in_on<A: EdgePairAddr + std::fmt::Display>(
    lines: &GpioLines<A>,
    shown: &CardShown,
    seconds: Option<Duration>,
    stop: &std::sync::atomic::AtomicBool,
    w: &mut dyn Write,
) -> Result<usize, WiegandTestError> {
    let (d0, d1) = lines
        .wiegand
        .input()
        .ok_or(WiegandTestError::NoLines("in"))?;
    test_wiegand_in(d0, d1, shown, seconds, stop, w)
}

/// The two lines of a Wiegand pair, in words.
fn pair<A: std::fmt::Display>(d0: &A, d1: &A) -> String {
    format!("D0 {d0}, D1 {d1}")
}

/// Claims D0 and D1 at idle, sends `card` once, and prints its bits and how the
/// frame went (the lines rest at idle afterwards).
pub fn test_wiegand_out<A: LineAddr + std::fmt::Display>(
    d0: &A,
    d1: &A,
    inverted: bool,
    timing: Timing,
    card: Card,
    w: &mut dyn Write,
) -> Result<(), WiegandTestError> {
    let bits = card.encode();
    writeln!(
        w,
        "Wiegand out on {}{}: card {}:{} ({}), pulse {} µs, interval {} µs.",
        pair(d0, d1),
        if inverted {
            " (inverted: idle low)"
        } else {
            ""
        },
        card.facility(),
        card.number(),
        card.format(),
        timing.pulse().as_micros(),
        timing.interval().as_micros()
    )?;
    writeln!(w, "bits ({}): {bits}", bits.len())?;
    let mut lines = claim_lines(d0, d1, inverted)?;
    let sent =
        send_frame(&mut lines, &mut Monotonic, bits, timing).map_err(WiegandTestError::Line)?;
    drop(lines);
    writeln!(
        w,
        "sent in {:.1} ms, longest pulse {} µs{}",
        sent.took.as_secs_f64() * 1e3,
        sent.longest_pulse.as_micros(),
        if sent.longest_pulse > Timing::PULSE_MAX {
            " (STRETCHED past 100 µs: the system was busy; send again)"
        } else {
            ""
        }
    )?;
    writeln!(
        w,
        "Check on the panel: its event log shows card {}:{} at this reader port.",
        card.facility(),
        card.number()
    )?;
    Ok(())
}

/// Shows each frame read on D0/D1 until `seconds` passed (`None`: until `stop`
/// says so); cards are shown per `show_card`. Returns how many frames were read.
pub fn test_wiegand_in<A: EdgePairAddr + std::fmt::Display>(
    d0: &A,
    d1: &A,
    shown: &CardShown,
    seconds: Option<Duration>,
    stop: &std::sync::atomic::AtomicBool,
    w: &mut dyn Write,
) -> Result<usize, WiegandTestError> {
    writeln!(
        w,
        "Wiegand in on {}: show a card to the reader ({}).",
        pair(d0, d1),
        match seconds {
            Some(s) => format!("for {} s", s.as_secs()),
            None => "Ctrl-C to stop".to_owned(),
        }
    )?;
    let source = open_reader(d0, d1)?;
    watch_frames(source, shown, seconds, stop, w)
}

/// [`test_wiegand_in`] on any edge source.
pub fn watch_frames<S: EdgeSource>(
    source: S,
    shown: &CardShown,
    seconds: Option<Duration>,
    stop: &std::sync::atomic::AtomicBool,
    w: &mut dyn Write,
) -> Result<usize, WiegandTestError> {
    let until = seconds.map(|s| std::time::Instant::now() + s);
    let mut frames = 0;
    let failed: std::cell::RefCell<Option<std::io::Error>> = std::cell::RefCell::new(None);
    listen(
        source,
        DecoderParams::default(),
        || {
            failed.borrow().is_none()
                && !stop.load(std::sync::atomic::Ordering::Relaxed)
                && until.is_none_or(|t| std::time::Instant::now() < t)
        },
        |read: Read| {
            frames += 1;
            if let Err(e) = writeln!(w, "{}", describe_read(&read, shown)).and_then(|()| w.flush())
            {
                *failed.borrow_mut() = Some(e);
            }
        },
    )
    .map_err(WiegandTestError::Listen)?;
    if let Some(e) = failed.into_inner() {
        return Err(e.into());
    }
    writeln!(w, "Stopped: {frames} frame(s) read.")?;
    Ok(frames)
}

/// One frame in words: the card (as `shown` allows) or why it is none.
pub fn describe_read(read: &Read, shown: &CardShown) -> String {
    let glitches = if read.glitches > 0 {
        format!(", {} short glitch(es) ignored", read.glitches)
    } else {
        String::new()
    };
    match &read.card {
        Ok(card) => format!(
            "card {} ({}, parities good{glitches})",
            shown.show(card),
            card.format()
        ),
        Err(e) => format!(
            "bad frame of {} bits: {e}{glitches}; check the wiring (D0/D1 swapped, no common \
             ground, a 5 V reader without a level shifter)",
            read.bits.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livegate_core::wiegand::{Format, Line};
    use std::time::Instant;

    /// Edges played from a recorded list, then silence.
    struct Played {
        edges: std::collections::VecDeque<crate::reader::wiegand::EdgeAt>,
        now: Instant,
        /// Set once the last frame has had its silence: the test's Ctrl-C.
        done: std::sync::Arc<std::sync::atomic::AtomicBool>,
        silences: u32,
    }
    impl EdgeSource for Played {
        fn next_edge(
            &mut self,
            timeout: Duration,
        ) -> Result<Option<crate::reader::wiegand::EdgeAt>, String> {
            match self.edges.pop_front() {
                Some(e) => {
                    self.now = e.at;
                    Ok(Some(e))
                }
                None => {
                    self.now += timeout;
                    self.silences += 1;
                    if self.silences >= 2 {
                        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(None)
                }
            }
        }
        fn now(&self) -> Instant {
            self.now
        }
    }

    fn played(
        cards: &[livegate_core::wiegand::Bits],
        done: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Played {
        let t0 = Instant::now();
        let mut edges = std::collections::VecDeque::new();
        let mut at = t0;
        for bits in cards {
            for p in livegate_core::wiegand::schedule(*bits, Timing::DEFAULT) {
                let line: Line = p.line;
                edges.push_back(crate::reader::wiegand::EdgeAt {
                    line,
                    low: true,
                    at: at + p.low,
                });
                edges.push_back(crate::reader::wiegand::EdgeAt {
                    line,
                    low: false,
                    at: at + p.high,
                });
            }
            at += Duration::from_millis(500);
        }
        Played {
            edges,
            now: t0,
            done,
            silences: 0,
        }
    }

    #[test]
    fn frames_read_are_shown_per_show_card_and_bad_ones_explained() {
        let good = Card::new(Format::W26, 18, 12345).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut out = Vec::new();
        // Virtual time: the source's silences end each frame, then the run.
        let source = played(&[good.encode(), good.encode().flipped(3)], stop.clone());
        let frames = watch_frames(source, &CardShown::Last4, None, &stop, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(frames.ok(), Some(2), "{text}");
        assert!(
            text.contains("card …2345 (26-bit, parities good)"),
            "{text}"
        );
        assert!(!text.contains("12345"), "only the last 4 digits: {text}");
        assert!(text.contains("bad frame of 26 bits"), "{text}");
    }
}

//! The character-device backend (`[gpio] kind = "cdev"`, crate gpiocdev): claims
//! [`ChipLine`]s of `/dev/gpiochipN`. Thin: outputs, pulses and inputs are written
//! once in [`output`](super::output) and [`input`](super::input).
//!
//! A line is found by chip path + offset, or by name (looked up on every chip with
//! `gpiocdev::find_named_line`; the configured chip then does not matter).
//!
//! Outputs: each line is requested as an output with its inactive level set in the
//! request itself (the kernel configures direction and value in one step), consumer
//! "livegate". Active-low is mapped to levels above this backend, not with the
//! line's ActiveLow flag, so the value written is always the physical level. The
//! request lives as long as the relay; dropping the relay drives it inactive, then
//! releases the line. After a release the kernel does not reconfigure the line: on
//! most drivers it stays an output at its last (inactive) value until someone else
//! requests it, so the relay board stays de-energised; the uAPI does not promise
//! this, which is why the inactive level is written before the release.
//!
//! Inputs: requested as inputs with their bias, polled like every input.

use std::fmt;
use std::path::PathBuf;

use gpiocdev::line::{Bias, EdgeDetection, Value};
use gpiocdev::request::{Builder as RequestBuilder, Request};

use super::edges::{EdgePair, EdgePairAddr, Monotonic, PairEdge};
use super::input::InputLine;
use super::line::{ChipLine, Level, LineAddr, LineSpec, Pull};
use super::output::OutputLine;
use super::GpioError;

/// Consumer label the lines are requested under (shown by `gpioinfo`).
pub const CONSUMER: &str = "livegate";

/// A line found: its chip and offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub chip: PathBuf,
    pub offset: u32,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.chip.display(), self.offset)
    }
}

/// Where `line` is: on its chip for an offset, looked up on every chip for a name.
fn resolve(output: &'static str, line: &ChipLine) -> Result<Found, GpioError> {
    match &line.line {
        LineSpec::Offset(offset) => Ok(Found {
            chip: line.chip.clone(),
            offset: *offset,
        }),
        LineSpec::Name(name) => match gpiocdev::find_named_line(name) {
            Some(found) => Ok(Found {
                chip: found.chip,
                offset: found.info.offset,
            }),
            None => Err(GpioError::Io {
                output,
                why: format!(
                    "no GPIO line is named \"{name}\" on any chip: list the names with \
                     `gpioinfo`, or give the offset on the chip instead"
                ),
            }),
        },
    }
}

/// Plain words for a gpiocdev error on `output` at `found`.
pub fn cdev_error(output: &'static str, found: &Found, e: &gpiocdev::Error) -> GpioError {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    let hint = if matches!(e, gpiocdev::Error::GpioChip(..)) {
        "; valid: a GPIO chip such as /dev/gpiochip0 (list them with `ls /dev/gpiochip*`)"
    } else if lower.contains("no such file") {
        "; check the chip exists (`ls /dev/gpiochip*`)"
    } else if lower.contains("permission denied") {
        "; run livegate as a user in the \"gpio\" group"
    } else if lower.contains("busy") {
        "; another program holds this line (see `gpioinfo`), or it is configured twice"
    } else if lower.contains("invalid argument") {
        "; the chip may have fewer lines than this offset (see `gpioinfo`)"
    } else {
        ""
    };
    GpioError::Io {
        output,
        why: format!("{found}: {text}{hint}"),
    }
}

/// Physical level → line value (lines are requested without the ActiveLow flag).
pub fn value_for(level: Level) -> Value {
    match level {
        Level::High => Value::Active,
        Level::Low => Value::Inactive,
    }
}

/// The bias an input is requested with.
pub fn bias_for(pull: Pull) -> Bias {
    match pull {
        Pull::Up => Bias::PullUp,
        Pull::Down => Bias::PullDown,
        Pull::Off => Bias::Disabled,
    }
}

/// An output line requested from the kernel; released when dropped.
pub struct RequestedOutput {
    req: Request,
    offset: u32,
}

impl OutputLine for RequestedOutput {
    fn write(&mut self, level: Level) -> Result<(), String> {
        self.req
            .set_value(self.offset, value_for(level))
            .map_err(|e| e.to_string())
    }
}

/// An input line requested from the kernel, read by the watcher.
pub struct RequestedInput {
    req: Request,
    found: Found,
    /// The last level read, kept when a read fails.
    last: bool,
    /// A read failed last time (logged once per run of failures).
    failing: bool,
}

impl InputLine for RequestedInput {
    fn is_high(&mut self) -> bool {
        match self.req.value(self.found.offset) {
            Ok(v) => {
                if self.failing {
                    tracing::info!(line = %self.found, "input readable again");
                }
                self.failing = false;
                self.last = v == Value::Active;
            }
            Err(e) => {
                if !self.failing {
                    tracing::error!(line = %self.found, error = %e, "cannot read input; keeping its last level");
                }
                self.failing = true;
            }
        }
        self.last
    }
}

/// Requests `line` for `name` under [`CONSUMER`], configured by `how` (as an
/// output at a value, or as an input with a bias).
fn request(
    name: &'static str,
    line: &ChipLine,
    how: impl FnOnce(&mut RequestBuilder) -> &mut RequestBuilder,
) -> Result<(Request, Found), GpioError> {
    let found = resolve(name, line)?;
    let mut builder = Request::builder();
    builder
        .on_chip(found.chip.as_path())
        .with_consumer(CONSUMER)
        .with_line(found.offset);
    let req = how(&mut builder)
        .request()
        .map_err(|e| cdev_error(name, &found, &e))?;
    Ok((req, found))
}

impl LineAddr for ChipLine {
    type Output = RequestedOutput;
    type Input = RequestedInput;

    fn claim_output(
        &self,
        name: &'static str,
        level: Level,
    ) -> Result<(RequestedOutput, String), GpioError> {
        // The value is part of the request: direction and level in one step.
        let (req, found) = request(name, self, |b| b.as_output(value_for(level)))?;
        let offset = found.offset;
        Ok((RequestedOutput { req, offset }, found.to_string()))
    }

    fn claim_input(
        &self,
        name: &'static str,
        pull: Pull,
    ) -> Result<(RequestedInput, String), GpioError> {
        let (req, found) = request(name, self, |b| b.as_input().with_bias(bias_for(pull)))?;
        let label = found.to_string();
        let input = RequestedInput {
            req,
            found,
            last: false,
            failing: false,
        };
        Ok((input, label))
    }
}

/// Two input lines on one chip requested together with edge detection on the
/// falling edge, their events stamped by the kernel (CLOCK_MONOTONIC).
///
/// Events are read from the request's file several at a time into our own buffer
/// and handed out one by one. Not through `gpiocdev::Request::read_edge_event`: in
/// gpiocdev 0.8.0 (uAPI v2 only, its default) that reads into a `[u64; 48]` (the
/// event's size in bytes taken as a count of words): 384 bytes, room for 8 events,
/// so one read takes up to 8 queued events from the kernel and only the first is
/// returned. Whenever the reader fell behind by a few bits, 7 of each 8 were lost
/// (seen in the VM tier: a 26-bit frame played into gpio-sim came out as 4 events
/// with kernel sequence numbers 1, 9, 17, 25).
pub struct CdevEdgePair {
    req: Request,
    offsets: [u32; 2],
    clock: Monotonic,
    /// Raw events as read, `filled` words of them, `taken` already handed out.
    buf: Vec<u64>,
    filled: usize,
    taken: usize,
}

/// Events one read may take from the kernel.
const EDGE_READ_EVENTS: usize = 16;

/// The kernel's queue of edge events for a card reader's pair of lines: a few whole
/// 34-bit frames (the default is 16 per line, 32 here: one frame and a bit), so a
/// listener held up for a frame's length loses nothing.
const EDGE_KERNEL_QUEUE: u32 = 256;

impl EdgePairAddr for ChipLine {
    type Pair = CdevEdgePair;

    fn claim_edge_pair(
        name: &'static str,
        lines: [&ChipLine; 2],
        pull: Pull,
    ) -> Result<CdevEdgePair, GpioError> {
        let a = resolve(name, lines[0])?;
        let b = resolve(name, lines[1])?;
        if a.chip != b.chip {
            return Err(GpioError::Io {
                output: name,
                why: format!("both lines must be on one chip ({a} and {b} are not)"),
            });
        }
        let req = Request::builder()
            .on_chip(a.chip.as_path())
            .with_consumer(CONSUMER)
            .with_lines(&[a.offset, b.offset])
            .as_input()
            .with_bias(bias_for(pull))
            .with_edge_detection(EdgeDetection::FallingEdge)
            .with_kernel_event_buffer_size(EDGE_KERNEL_QUEUE)
            .request()
            .map_err(|e| cdev_error(name, &a, &e))?;
        let buf = vec![0; req.edge_event_u64_size() * EDGE_READ_EVENTS];
        Ok(CdevEdgePair {
            req,
            offsets: [a.offset, b.offset],
            clock: Monotonic::now(),
            buf,
            filled: 0,
            taken: 0,
        })
    }
}

impl CdevEdgePair {
    /// The next event already read, else waits up to `timeout` and reads what the
    /// kernel has queued (up to [`EDGE_READ_EVENTS`] at once).
    fn next_event(
        &mut self,
        timeout: std::time::Duration,
    ) -> Result<Option<gpiocdev::line::EdgeEvent>, String> {
        let size = self.req.edge_event_u64_size();
        if self.taken >= self.filled {
            self.filled = 0;
            self.taken = 0;
            if !self
                .req
                .wait_edge_event(timeout)
                .map_err(|e| e.to_string())?
            {
                return Ok(None);
            }
            let n = self
                .req
                .read_edge_events_into_slice(&mut self.buf)
                .map_err(|e| e.to_string())?;
            // Whole events only (the kernel writes nothing else).
            self.filled = n - n % size;
        }
        let Some(raw) = self.buf[..self.filled].get(self.taken..self.taken + size) else {
            return Ok(None);
        };
        self.taken += size;
        self.req
            .edge_event_from_slice(raw)
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

impl EdgePair for CdevEdgePair {
    fn next(&mut self, timeout: std::time::Duration) -> Result<Option<PairEdge>, String> {
        let Some(ev) = self.next_event(timeout)? else {
            return Ok(None);
        };
        let Some(which) = self.offsets.iter().position(|&o| o == ev.offset) else {
            return Ok(None);
        };
        Ok(Some(PairEdge {
            which,
            at: self
                .clock
                .instant(std::time::Duration::from_nanos(ev.timestamp_ns)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpio::line::{initial_level, DEFAULT_CHIP};
    use crate::gpio::output::{claim_output, OutputOptions};
    use std::time::Duration;

    #[test]
    fn levels_map_to_physical_values_and_pulls_to_biases() {
        assert_eq!(value_for(Level::High), Value::Active);
        assert_eq!(value_for(Level::Low), Value::Inactive);
        // Requested at the inactive level: high for active-low boards.
        assert_eq!(value_for(initial_level(true)), Value::Active);
        assert_eq!(value_for(initial_level(false)), Value::Inactive);
        assert_eq!(bias_for(Pull::Up), Bias::PullUp);
        assert_eq!(bias_for(Pull::Down), Bias::PullDown);
        assert_eq!(bias_for(Pull::Off), Bias::Disabled);
        let found = Found {
            chip: PathBuf::from(DEFAULT_CHIP),
            offset: 17,
        };
        assert_eq!(found.to_string(), "/dev/gpiochip0 line 17");
    }

    #[test]
    fn a_missing_named_line_or_chip_is_an_error_in_plain_words() {
        let e = resolve(
            "gate",
            &ChipLine::new(
                DEFAULT_CHIP,
                LineSpec::Name("NO_SUCH_LINE_livegate".to_owned()),
            ),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "GPIO error on gate: no GPIO line is named \"NO_SUCH_LINE_livegate\" on any chip: \
             list the names with `gpioinfo`, or give the offset on the chip instead"
        );
        let o = OutputOptions {
            line: ChipLine::new("/dev/gpiochip-livegate-missing", LineSpec::Offset(3)),
            active_low: true,
            pulse: Duration::from_secs(60),
        };
        let text = claim_output("gate", &o).err().map(|e| e.to_string());
        let text = text.unwrap_or_default();
        assert!(
            text.starts_with("GPIO error on gate: /dev/gpiochip-livegate-missing line 3: "),
            "{text}"
        );
    }
}

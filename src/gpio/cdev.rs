//! GPIO over the kernel's character device (`[gpio] kind = "cdev"`, crate gpiocdev):
//! the same relays and inputs as the rppal backend, on `/dev/gpiochipN` lines.
//!
//! Lines are addressed by chip path + offset, or by line name (looked up on every
//! chip with `gpiocdev::find_named_line`; the configured chip then does not matter).
//!
//! Relays: each line is requested as an output with its inactive level set in the
//! request itself (the kernel configures direction and value in one step), consumer
//! "livegate". Active-low is handled here by mapping levels with
//! [`level_for`](super::rppal::level_for), not with the line's ActiveLow flag, so the
//! value written is always the physical level. The request lives as long as the
//! relay; dropping the relay drives it inactive, then releases the line. After a
//! release the kernel does not reconfigure the line: on most drivers it stays an
//! output at its last (inactive) value until someone else requests it, so the
//! relay board stays de-energised; the uAPI does not promise this, which is why the
//! inactive level is written before the release.
//!
//! Inputs: requested as inputs with their bias, and polled every
//! [`POLL_PERIOD`] by the rppal backend's watcher (same debouncer, same events;
//! see [`super::rppal`] for why polling rather than edge events).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gpiocdev::line::{Bias, Value};
use gpiocdev::request::Request;
use rppal::gpio::Level;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::debounce::Edge;
use super::rppal::{
    bounded_pulse, initial_level, level_for, spawn_watch, InputEvent, InputName, LevelSource,
    Outputs, Pull, WatchOptions, Watched, POLL_PERIOD,
};
use super::{register, GpioError, Relay};
use crate::config::{CdevGpioConfig, CdevInputConfig};

/// The chip used when the config names none.
pub const DEFAULT_CHIP: &str = "/dev/gpiochip0";
/// Highest line offset accepted in the config.
pub const MAX_OFFSET: u32 = 511;
/// Consumer label the lines are requested under (shown by `gpioinfo`).
pub const CONSUMER: &str = "livegate";

/// A line: its offset on the configured chip, or its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LineSpec {
    /// Offset on the chip, 0..=[`MAX_OFFSET`].
    Offset(u32),
    /// Line name as the kernel reports it (such as "GPIO17" on a Pi).
    Name(String),
}

/// Why a line spec is not valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineSpecError {
    #[error("the line name is empty")]
    Empty,
    #[error("offset {0} is out of range (0 to {MAX_OFFSET})")]
    OutOfRange(u64),
}

impl LineSpec {
    /// A spec from text: all digits is an offset ("17"), anything else a name
    /// ("GPIO17"), kept as written apart from surrounding spaces.
    pub fn parse(s: &str) -> Result<LineSpec, LineSpecError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(LineSpecError::Empty);
        }
        if t.bytes().all(|b| b.is_ascii_digit()) {
            // All digits: only too long a number fails to parse.
            let n = t.parse::<u64>().unwrap_or(u64::MAX);
            return LineSpec::offset(n);
        }
        Ok(LineSpec::Name(t.to_owned()))
    }

    /// An offset, checked against [`MAX_OFFSET`].
    pub fn offset(n: u64) -> Result<LineSpec, LineSpecError> {
        match u32::try_from(n) {
            Ok(o) if o <= MAX_OFFSET => Ok(LineSpec::Offset(o)),
            _ => Err(LineSpecError::OutOfRange(n)),
        }
    }
}

impl fmt::Display for LineSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineSpec::Offset(o) => write!(f, "line {o}"),
            LineSpec::Name(n) => write!(f, "line \"{n}\""),
        }
    }
}

/// One relay output on a GPIO chip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdevRelayOptions {
    /// The chip, such as `/dev/gpiochip0` (ignored for a named line).
    pub chip: PathBuf,
    pub line: LineSpec,
    /// The relay is energised when the line is low.
    pub active_low: bool,
    /// Pulse length; clamped by [`bounded_pulse`] on use.
    pub pulse: Duration,
}

impl CdevRelayOptions {
    /// The pulse length, clamped to the sane range.
    pub fn bounded_pulse(&self) -> Duration {
        bounded_pulse(self.pulse)
    }
}

/// One input on a GPIO chip; polarity as in [`super::rppal::InputOptions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdevInputOptions {
    /// The chip (ignored for a named line).
    pub chip: PathBuf,
    pub line: LineSpec,
    pub pull: Pull,
    pub edge: Edge,
    /// How long a level must hold to count.
    pub debounce: Duration,
}

/// The inputs to watch; any may be absent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CdevInputsOptions {
    pub trigger: Option<CdevInputOptions>,
    pub exit: Option<CdevInputOptions>,
    pub door: Option<CdevInputOptions>,
}

impl CdevInputsOptions {
    /// The configured inputs, in a fixed order.
    pub fn list(&self) -> Vec<(InputName, &CdevInputOptions)> {
        [
            (InputName::Trigger, self.trigger.as_ref()),
            (InputName::Exit, self.exit.as_ref()),
            (InputName::Door, self.door.as_ref()),
        ]
        .into_iter()
        .filter_map(|(n, o)| o.map(|o| (n, o)))
        .collect()
    }
}

/// The gate and fail relay options of `[gpio] kind = "cdev"`.
pub fn relay_options(g: &CdevGpioConfig) -> (CdevRelayOptions, CdevRelayOptions) {
    let relay = |line: &LineSpec, active_low, pulse| CdevRelayOptions {
        chip: g.chip.clone(),
        line: line.clone(),
        active_low,
        pulse,
    };
    (
        relay(&g.gate_line, g.gate_active_low, g.gate_pulse),
        relay(&g.fail_line, g.fail_active_low, g.fail_pulse),
    )
}

/// The input options of `[gpio] kind = "cdev"`; `None` when no input is configured.
/// The door is watched on both edges whatever its `edge`, which here only says
/// which level means open (as for the rppal backend).
pub fn inputs_options(g: &CdevGpioConfig) -> Option<CdevInputsOptions> {
    let input = |i: &CdevInputConfig| CdevInputOptions {
        chip: g.chip.clone(),
        line: i.line.clone(),
        pull: i.pull.into(),
        edge: i.edge.into(),
        debounce: i.debounce,
    };
    let door = g.door.as_ref().map(|d| CdevInputOptions {
        chip: g.chip.clone(),
        line: d.line.clone(),
        pull: d.pull.into(),
        edge: Edge::door_opens(d.open_level_high),
        debounce: d.debounce,
    });
    let opts = CdevInputsOptions {
        trigger: g.trigger.as_ref().map(input),
        exit: g.exit.as_ref().map(input),
        door,
    };
    (opts.trigger.is_some() || opts.exit.is_some() || opts.door.is_some()).then_some(opts)
}

/// A line found: its chip and offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineAddr {
    pub chip: PathBuf,
    pub offset: u32,
}

impl fmt::Display for LineAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} line {}", self.chip.display(), self.offset)
    }
}

/// Where `line` is: on `chip` for an offset, looked up on every chip for a name.
fn resolve(output: &'static str, chip: &Path, line: &LineSpec) -> Result<LineAddr, GpioError> {
    match line {
        LineSpec::Offset(offset) => Ok(LineAddr {
            chip: chip.to_owned(),
            offset: *offset,
        }),
        LineSpec::Name(name) => match gpiocdev::find_named_line(name) {
            Some(found) => Ok(LineAddr {
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

/// Plain words for a gpiocdev error on `output` at `addr`.
pub fn cdev_error(output: &'static str, addr: &LineAddr, e: &gpiocdev::Error) -> GpioError {
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
        why: format!("{addr}: {text}{hint}"),
    }
}

/// Physical level → line value (lines are requested without the ActiveLow flag).
pub fn value_for(level: Level) -> Value {
    match level {
        Level::High => Value::Active,
        Level::Low => Value::Inactive,
    }
}

/// The part of a requested output line a relay drives.
pub trait CdevOutput: Send + 'static {
    /// Drives the line to `level`.
    fn write(&mut self, level: Level) -> Result<(), String>;
}

/// An output line requested from the kernel; released when dropped.
pub struct RequestedOutput {
    req: Request,
    offset: u32,
}

impl CdevOutput for RequestedOutput {
    fn write(&mut self, level: Level) -> Result<(), String> {
        self.req
            .set_value(self.offset, value_for(level))
            .map_err(|e| e.to_string())
    }
}

/// A relay on a GPIO chip line. Generic over the line so tests drive a fake.
pub struct CdevRelay<L: CdevOutput = RequestedOutput> {
    name: &'static str,
    addr: LineAddr,
    active_low: bool,
    line: Mutex<L>,
}

impl CdevRelay {
    /// Requests `opts`' line for output `name` ("gate" or "fail") at its inactive level.
    pub fn claim(name: &'static str, opts: &CdevRelayOptions) -> Result<Self, GpioError> {
        let addr = resolve(name, &opts.chip, &opts.line)?;
        let level = initial_level(opts.active_low);
        let req = Request::builder()
            .on_chip(addr.chip.as_path())
            .with_consumer(CONSUMER)
            .with_line(addr.offset)
            .as_output(value_for(level))
            .request()
            .map_err(|e| cdev_error(name, &addr, &e))?;
        let offset = addr.offset;
        tracing::info!(output = name, line = %addr, active_low = opts.active_low, %level,
            "relay output requested at its inactive level");
        Ok(CdevRelay::new(
            name,
            addr,
            opts.active_low,
            RequestedOutput { req, offset },
        ))
    }
}

impl<L: CdevOutput> CdevRelay<L> {
    /// A relay on `line`, which the caller has already set to its inactive level.
    pub fn new(name: &'static str, addr: LineAddr, active_low: bool, line: L) -> Self {
        CdevRelay {
            name,
            addr,
            active_low,
            line: Mutex::new(line),
        }
    }

    /// Where the line is.
    pub fn addr(&self) -> &LineAddr {
        &self.addr
    }
}

impl<L: CdevOutput> Relay for CdevRelay<L> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn set(&self, active: bool) -> Result<(), GpioError> {
        let level = level_for(active, self.active_low);
        // A poisoned lock still holds a usable line: a relay must always be switchable.
        let mut line = self.line.lock().unwrap_or_else(|p| p.into_inner());
        line.write(level).map_err(|why| GpioError::Io {
            output: self.name,
            why: format!("{}: {why}", self.addr),
        })?;
        tracing::debug!(output = self.name, line = %self.addr, active, %level, "relay set");
        Ok(())
    }
}

impl<L: CdevOutput> Drop for CdevRelay<L> {
    fn drop(&mut self) {
        let level = initial_level(self.active_low);
        let line = self.line.get_mut().unwrap_or_else(|p| p.into_inner());
        match line.write(level) {
            Ok(()) => {
                tracing::debug!(output = self.name, line = %self.addr, %level, "relay released, driven inactive")
            }
            Err(e) => {
                tracing::error!(output = self.name, line = %self.addr, error = %e, "cannot drive relay inactive before release")
            }
        }
    }
}

/// Requests the gate and fail relays at their inactive levels and registers each
/// for the panic hook as soon as it is requested. Call this before anything else.
pub fn claim_outputs(
    gate: &CdevRelayOptions,
    fail: &CdevRelayOptions,
) -> Result<Outputs, GpioError> {
    claim_outputs_with(gate, fail, CdevRelay::claim)
}

/// [`claim_outputs`] with any claim function. If the fail relay cannot be claimed,
/// the gate relay is dropped (driven inactive) and the error is the fail relay's.
pub fn claim_outputs_with<L, F>(
    gate: &CdevRelayOptions,
    fail: &CdevRelayOptions,
    mut claim: F,
) -> Result<Outputs, GpioError>
where
    L: CdevOutput,
    F: FnMut(&'static str, &CdevRelayOptions) -> Result<CdevRelay<L>, GpioError>,
{
    let g: Arc<dyn Relay> = Arc::new(claim("gate", gate)?);
    register(&g);
    let f: Arc<dyn Relay> = Arc::new(claim("fail", fail)?);
    register(&f);
    Ok((g, f))
}

/// The bias an input is requested with.
pub fn bias_for(pull: Pull) -> Bias {
    match pull {
        Pull::Up => Bias::PullUp,
        Pull::Down => Bias::PullDown,
        Pull::Off => Bias::Disabled,
    }
}

/// An input line requested from the kernel, read by the watcher.
pub struct RequestedInput {
    req: Request,
    addr: LineAddr,
    /// The last level read, kept when a read fails.
    last: bool,
    /// A read failed last time (logged once per run of failures).
    failing: bool,
}

impl LevelSource for RequestedInput {
    fn is_high(&mut self) -> bool {
        match self.req.value(self.addr.offset) {
            Ok(v) => {
                if self.failing {
                    tracing::info!(line = %self.addr, "input readable again");
                }
                self.failing = false;
                self.last = v == Value::Active;
            }
            Err(e) => {
                if !self.failing {
                    tracing::error!(line = %self.addr, error = %e, "cannot read input; keeping its last level");
                }
                self.failing = true;
            }
        }
        self.last
    }
}

/// Requests `opts`' lines as inputs with their bias.
fn claim_inputs(
    opts: &CdevInputsOptions,
    show_all: bool,
) -> Result<Vec<Watched<RequestedInput>>, GpioError> {
    let mut out = Vec::new();
    for (name, o) in opts.list() {
        let input = name.as_str();
        let addr = resolve(input, &o.chip, &o.line)?;
        let req = Request::builder()
            .on_chip(addr.chip.as_path())
            .with_consumer(CONSUMER)
            .with_line(addr.offset)
            .as_input()
            .with_bias(bias_for(o.pull))
            .request()
            .map_err(|e| cdev_error(input, &addr, &e))?;
        tracing::info!(input, line = %addr, pull = ?o.pull, edge = o.edge.as_str(), "input requested");
        let offset = addr.offset;
        out.push(Watched {
            name,
            source: RequestedInput {
                req,
                addr,
                last: false,
                failing: false,
            },
            line: offset,
            opts: WatchOptions {
                pull: o.pull,
                edge: o.edge,
                debounce: o.debounce,
            },
            show_all,
        });
    }
    Ok(out)
}

/// Watches the configured inputs and sends their debounced edges on `tx`, like
/// [`super::rppal::spawn_inputs`]. The lines are released when `tx`'s receiver is
/// dropped.
pub fn spawn_inputs(
    opts: &CdevInputsOptions,
    tx: mpsc::Sender<InputEvent>,
) -> Result<JoinHandle<()>, GpioError> {
    Ok(spawn_watch(claim_inputs(opts, false)?, POLL_PERIOD, tx))
}

/// Like [`spawn_inputs`], for commissioning: every input on both edges, and each
/// input's state at start first.
pub fn spawn_inputs_showing_all(
    opts: &CdevInputsOptions,
    tx: mpsc::Sender<InputEvent>,
) -> Result<JoinHandle<()>, GpioError> {
    Ok(spawn_watch(claim_inputs(opts, true)?, POLL_PERIOD, tx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::gpio::pulse;
    use tokio::time::Instant;

    type Log = Arc<Mutex<Vec<(Level, Instant)>>>;

    /// A fake output line that records what it is driven to.
    struct FakeLine {
        log: Log,
        broken: bool,
    }

    impl CdevOutput for FakeLine {
        fn write(&mut self, level: Level) -> Result<(), String> {
            if self.broken {
                return Err("Input/output error".to_owned());
            }
            self.log.lock().unwrap().push((level, Instant::now()));
            Ok(())
        }
    }

    fn addr(offset: u32) -> LineAddr {
        LineAddr {
            chip: PathBuf::from(DEFAULT_CHIP),
            offset,
        }
    }

    fn fake_relay(active_low: bool) -> (CdevRelay<FakeLine>, Log) {
        let log = Log::default();
        let line = FakeLine {
            log: log.clone(),
            broken: false,
        };
        (CdevRelay::new("gate", addr(17), active_low, line), log)
    }

    fn levels(log: &Log) -> Vec<Level> {
        log.lock().unwrap().iter().map(|(l, _)| *l).collect()
    }

    fn relay_opts(line: LineSpec) -> CdevRelayOptions {
        CdevRelayOptions {
            chip: PathBuf::from(DEFAULT_CHIP),
            line,
            active_low: true,
            pulse: Duration::from_secs(60),
        }
    }

    #[test]
    fn digits_are_an_offset_anything_else_a_name() {
        assert_eq!(LineSpec::parse("17"), Ok(LineSpec::Offset(17)));
        assert_eq!(LineSpec::parse(" 0 "), Ok(LineSpec::Offset(0)));
        assert_eq!(LineSpec::parse("511"), Ok(LineSpec::Offset(511)));
        assert_eq!(
            LineSpec::parse("GPIO17"),
            Ok(LineSpec::Name("GPIO17".to_owned()))
        );
        assert_eq!(
            LineSpec::parse("PIN_11"),
            Ok(LineSpec::Name("PIN_11".to_owned()))
        );
        assert_eq!(LineSpec::parse("-1"), Ok(LineSpec::Name("-1".to_owned())));
        assert_eq!(LineSpec::parse("  "), Err(LineSpecError::Empty));
        assert_eq!(LineSpec::parse("512"), Err(LineSpecError::OutOfRange(512)));
        assert_eq!(
            LineSpec::parse("99999999999999999999999"),
            Err(LineSpecError::OutOfRange(u64::MAX))
        );
        assert_eq!(LineSpec::offset(511), Ok(LineSpec::Offset(511)));
        assert_eq!(
            LineSpec::offset(1 << 40),
            Err(LineSpecError::OutOfRange(1 << 40))
        );
        assert_eq!(LineSpec::Offset(17).to_string(), "line 17");
        assert_eq!(
            LineSpec::Name("GPIO17".to_owned()).to_string(),
            "line \"GPIO17\""
        );
        assert_eq!(
            LineSpecError::OutOfRange(512).to_string(),
            "offset 512 is out of range (0 to 511)"
        );
    }

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
        assert_eq!(
            relay_opts(LineSpec::Offset(1)).bounded_pulse(),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn an_active_low_relay_is_low_when_active_and_high_after_drop() {
        let (relay, log) = fake_relay(true);
        relay.set(true).unwrap();
        relay.set(false).unwrap();
        relay.set(true).unwrap();
        assert_eq!(relay.name(), "gate");
        assert_eq!(relay.addr().to_string(), "/dev/gpiochip0 line 17");
        drop(relay);
        assert_eq!(
            levels(&log),
            vec![Level::Low, Level::High, Level::Low, Level::High]
        );
        let (relay, log) = fake_relay(false);
        relay.set(true).unwrap();
        drop(relay);
        assert_eq!(levels(&log), vec![Level::High, Level::Low]);
    }

    #[test]
    fn a_write_that_fails_is_an_error_naming_the_line() {
        let line = FakeLine {
            log: Log::default(),
            broken: true,
        };
        let relay = CdevRelay::new("fail", addr(27), true, line);
        let GpioError::Io { output, why } = relay.set(true).unwrap_err();
        assert_eq!(output, "fail");
        assert_eq!(why, "/dev/gpiochip0 line 27: Input/output error");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pulse_is_low_for_exactly_its_length_on_an_active_low_relay() {
        let (relay, log) = fake_relay(true);
        let relay: Arc<dyn Relay> = Arc::new(relay);
        let t0 = Instant::now();
        pulse(&relay, Duration::from_millis(750)).await.unwrap();
        assert_eq!(
            log.lock().unwrap().clone(),
            vec![
                (Level::Low, t0),
                (Level::High, t0 + Duration::from_millis(750))
            ]
        );
    }

    #[test]
    fn when_the_fail_relay_cannot_be_claimed_the_gate_relay_is_left_inactive() {
        let log = Log::default();
        let mut claimed = Vec::new();
        let err = claim_outputs_with(
            &relay_opts(LineSpec::Offset(17)),
            &relay_opts(LineSpec::Name("RELAY2".to_owned())),
            |name, o| {
                claimed.push((name, o.line.clone()));
                if name == "fail" {
                    return Err(GpioError::Io {
                        output: name,
                        why: "busy".to_owned(),
                    });
                }
                Ok(CdevRelay::new(
                    name,
                    addr(17),
                    o.active_low,
                    FakeLine {
                        log: log.clone(),
                        broken: false,
                    },
                ))
            },
        )
        .err()
        .expect("the fail line is busy");
        assert_eq!(err.to_string(), "GPIO error on fail: busy");
        assert_eq!(
            claimed,
            vec![
                ("gate", LineSpec::Offset(17)),
                ("fail", LineSpec::Name("RELAY2".to_owned()))
            ]
        );
        // Dropped, so driven inactive (a concurrent all_safe may add another High).
        let l = levels(&log);
        assert!(
            !l.is_empty() && l.iter().all(|&x| x == Level::High),
            "{l:?}"
        );
    }

    #[test]
    fn a_missing_named_line_or_chip_is_an_error_in_plain_words() {
        let e = resolve(
            "gate",
            Path::new(DEFAULT_CHIP),
            &LineSpec::Name("NO_SUCH_LINE_livegate".to_owned()),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "GPIO error on gate: no GPIO line is named \"NO_SUCH_LINE_livegate\" on any chip: \
             list the names with `gpioinfo`, or give the offset on the chip instead"
        );
        let o = CdevRelayOptions {
            chip: PathBuf::from("/dev/gpiochip-livegate-missing"),
            ..relay_opts(LineSpec::Offset(3))
        };
        let text = CdevRelay::claim("gate", &o).err().map(|e| e.to_string());
        let text = text.unwrap_or_default();
        assert!(
            text.starts_with("GPIO error on gate: /dev/gpiochip-livegate-missing line 3: "),
            "{text}"
        );
    }

    #[test]
    fn the_config_becomes_options_with_the_chip_on_every_line() {
        let mut g = CdevGpioConfig {
            chip: PathBuf::from("/dev/gpiochip4"),
            gate_line: LineSpec::Name("GPIO5".to_owned()),
            ..CdevGpioConfig::default()
        };
        let (gate, fail) = relay_options(&g);
        assert_eq!(
            gate,
            CdevRelayOptions {
                chip: PathBuf::from("/dev/gpiochip4"),
                line: LineSpec::Name("GPIO5".to_owned()),
                active_low: true,
                pulse: Duration::from_secs(1),
            }
        );
        assert_eq!(
            (fail.line, fail.pulse),
            (LineSpec::Offset(27), Duration::from_millis(500))
        );
        assert_eq!(inputs_options(&g), None, "no input configured");
        g.trigger = Some(CdevInputConfig {
            line: LineSpec::Offset(22),
            pull: config::Pull::Down,
            edge: config::Edge::Both,
            debounce: Duration::from_millis(20),
        });
        g.door = Some(config::CdevDoorConfig {
            line: LineSpec::Offset(24),
            pull: config::Pull::Up,
            open_level_high: false,
            debounce: Duration::from_millis(30),
            held_open_after: Duration::from_secs(30),
        });
        let opts = inputs_options(&g).expect("two inputs");
        assert_eq!(
            opts.trigger,
            Some(CdevInputOptions {
                chip: PathBuf::from("/dev/gpiochip4"),
                line: LineSpec::Offset(22),
                pull: Pull::Down,
                edge: Edge::Both,
                debounce: Duration::from_millis(20),
            })
        );
        assert_eq!(opts.exit, None);
        let door = opts.door.expect("door");
        // Open when low: the falling edge sets that polarity.
        assert_eq!(
            (door.line, door.pull, door.edge, door.debounce),
            (
                LineSpec::Offset(24),
                Pull::Up,
                Edge::Falling,
                Duration::from_millis(30)
            )
        );
    }

    #[test]
    fn inputs_are_listed_in_a_fixed_order() {
        let i = |o| CdevInputOptions {
            chip: PathBuf::from(DEFAULT_CHIP),
            line: LineSpec::Offset(o),
            pull: Pull::Up,
            edge: Edge::Falling,
            debounce: Duration::from_millis(50),
        };
        let opts = CdevInputsOptions {
            trigger: None,
            exit: Some(i(5)),
            door: Some(i(6)),
        };
        let names: Vec<InputName> = opts.list().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, vec![InputName::Exit, InputName::Door]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (tx, _rx) = mpsc::channel(1);
        assert!(rt
            .block_on(async { spawn_inputs(&CdevInputsOptions::default(), tx) })
            .is_ok());
    }
}

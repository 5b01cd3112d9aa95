//! GPIO on the Raspberry Pi with rppal (`[gpio] kind = "rppal"`): relay outputs and
//! debounced inputs.
//!
//! Relays are claimed at their inactive level in one step and are never released
//! to a floating input (which would energise an active-low relay board): dropping
//! one drives it inactive and leaves the pin an output. The level logic is in pure
//! functions and in [`RppalRelay`], generic over [`OutputLine`] so tests run it on
//! a fake pin.
//!
//! Inputs are polled every [`POLL_PERIOD`] (5 ms) in one tokio task rather than
//! watched with rppal's interrupt threads: a poll never misses the final level of an
//! input (a lost interrupt would leave the debouncer on the wrong level), needs no
//! thread per pin nor an unbounded queue between threads, and costs a few register
//! reads 200 times a second. Latency is at most 5 ms plus the debounce time.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rppal::gpio::{Gpio, Level};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::debounce::{Debouncer, Edge};
use super::{register, GpioError, Relay};
use crate::trigger::{GateState, Trigger, TriggerEvent};

/// Shortest relay pulse.
pub const PULSE_MIN: Duration = Duration::from_millis(100);
/// Longest relay pulse.
pub const PULSE_MAX: Duration = Duration::from_secs(10);
/// How often the inputs are sampled.
pub const POLL_PERIOD: Duration = Duration::from_millis(5);

/// Clamps a pulse length to [`PULSE_MIN`]..=[`PULSE_MAX`].
pub fn bounded_pulse(d: Duration) -> Duration {
    d.clamp(PULSE_MIN, PULSE_MAX)
}

/// One relay output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayOptions {
    /// BCM GPIO number.
    pub pin: u8,
    /// The relay is energised when the pin is low (most opto-isolated boards).
    pub active_low: bool,
    /// Pulse length; clamped by [`bounded_pulse`] on use.
    pub pulse: Duration,
}

impl RelayOptions {
    /// The pulse length, clamped to the sane range.
    pub fn bounded_pulse(&self) -> Duration {
        bounded_pulse(self.pulse)
    }
}

/// The pin level that makes a relay `active` (energised) or not.
pub fn level_for(active: bool, active_low: bool) -> Level {
    if active != active_low {
        Level::High
    } else {
        Level::Low
    }
}

/// The level a relay's pin is claimed at (and returned to): its inactive level.
pub fn initial_level(active_low: bool) -> Level {
    level_for(false, active_low)
}

/// The part of an output pin a relay drives.
pub trait OutputLine: Send + 'static {
    /// Drives the pin to `level`.
    fn write(&mut self, level: Level);
}

/// A pin not yet configured.
pub trait ClaimPin {
    /// The configured output.
    type Line: OutputLine;
    /// Makes the pin an output already at `level` (no glitch through another level),
    /// that stays an output when dropped.
    fn into_output_at(self, level: Level) -> Self::Line;
}

/// Hands out pins by BCM number.
pub trait PinSource {
    /// An unconfigured pin.
    type Pin: ClaimPin;
    /// The pin, or why not (in use, not on this board).
    fn get_pin(&self, bcm: u8) -> Result<Self::Pin, rppal::gpio::Error>;
}

impl OutputLine for rppal::gpio::OutputPin {
    fn write(&mut self, level: Level) {
        rppal::gpio::OutputPin::write(self, level);
    }
}

impl ClaimPin for rppal::gpio::Pin {
    type Line = rppal::gpio::OutputPin;

    fn into_output_at(self, level: Level) -> rppal::gpio::OutputPin {
        // Sets the level register first, then the mode: the pin never outputs the
        // other level.
        let mut out = match level {
            Level::High => self.into_output_high(),
            Level::Low => self.into_output_low(),
        };
        // Default rppal behaviour restores the previous mode (input, floating) on drop.
        out.set_reset_on_drop(false);
        out
    }
}

impl PinSource for Gpio {
    type Pin = rppal::gpio::Pin;

    fn get_pin(&self, bcm: u8) -> Result<rppal::gpio::Pin, rppal::gpio::Error> {
        self.get(bcm)
    }
}

/// Opens the GPIO peripheral; `output` names what wanted it, for the error.
fn open_gpio(output: &'static str) -> Result<Gpio, GpioError> {
    Gpio::new().map_err(|e| gpio_error(output, None, e))
}

/// Plain words for an rppal error on `output` (and BCM `pin`, when known).
pub fn gpio_error(output: &'static str, pin: Option<u8>, e: rppal::gpio::Error) -> GpioError {
    use rppal::gpio::Error as E;
    let what = match e {
        E::UnknownModel => {
            "this machine is not a Raspberry Pi that rppal recognises \
             (\"Unknown Raspberry Pi model\"): GPIO needs a Pi; use [gpio] kind = \"sim\" elsewhere"
                .to_owned()
        }
        E::PermissionDenied(path) => format!(
            "permission denied opening {path}: run livegate as a user in the \"gpio\" group"
        ),
        E::PinUsed(n) => format!("BCM {n} is already in use (configured twice?)"),
        E::PinNotAvailable(n) => format!("BCM {n} does not exist on this board"),
        E::Io(err) if err.kind() == io::ErrorKind::NotFound => format!(
            "no GPIO device (/dev/gpiomem or /dev/gpiochip0 missing: {err}); \
             is this a Raspberry Pi with GPIO enabled?"
        ),
        E::Io(err) => format!("I/O error: {err}"),
        E::ThreadPanic => "the GPIO interrupt thread panicked".to_owned(),
    };
    let why = match pin {
        Some(p) => format!("{} (BCM {p}): {what}", pin_label(p)),
        None => what,
    };
    GpioError::Io { output, why }
}

/// "header pin 11", or "no header pin" for a BCM number off the header.
fn pin_label(bcm: u8) -> String {
    match crate::commission::gpio::header_pin(bcm) {
        Some(h) => format!("header pin {h}"),
        None => "no header pin".to_owned(),
    }
}

/// A relay on a GPIO pin. Generic over the pin so tests drive a fake; the daemon
/// uses the default, rppal's `OutputPin`.
pub struct RppalRelay<L: OutputLine = rppal::gpio::OutputPin> {
    name: &'static str,
    pin: u8,
    active_low: bool,
    line: Mutex<L>,
}

impl RppalRelay {
    /// Claims `opts.pin` on this Pi for output `name` ("gate" or "fail"), at its
    /// inactive level.
    pub fn claim(name: &'static str, opts: &RelayOptions) -> Result<Self, GpioError> {
        let gpio = open_gpio(name)?;
        RppalRelay::claim_from(&gpio, name, opts)
    }
}

impl<L: OutputLine> RppalRelay<L> {
    /// Claims `opts.pin` from `source` at the inactive level, in one step.
    pub fn claim_from<S>(
        source: &S,
        name: &'static str,
        opts: &RelayOptions,
    ) -> Result<Self, GpioError>
    where
        S: PinSource,
        S::Pin: ClaimPin<Line = L>,
    {
        let pin = source
            .get_pin(opts.pin)
            .map_err(|e| gpio_error(name, Some(opts.pin), e))?;
        let line = pin.into_output_at(initial_level(opts.active_low));
        tracing::info!(
            output = name,
            bcm = opts.pin,
            active_low = opts.active_low,
            "relay output claimed at its inactive level"
        );
        Ok(RppalRelay {
            name,
            pin: opts.pin,
            active_low: opts.active_low,
            line: Mutex::new(line),
        })
    }

    /// BCM number of the pin.
    pub fn pin(&self) -> u8 {
        self.pin
    }
}

impl<L: OutputLine> Relay for RppalRelay<L> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn set(&self, active: bool) -> Result<(), GpioError> {
        let level = level_for(active, self.active_low);
        // A poisoned lock still holds a usable pin: a relay must always be switchable.
        let mut line = self.line.lock().unwrap_or_else(|p| p.into_inner());
        line.write(level);
        tracing::debug!(output = self.name, bcm = self.pin, active, %level, "relay set");
        Ok(())
    }
}

impl<L: OutputLine> Drop for RppalRelay<L> {
    fn drop(&mut self) {
        let level = initial_level(self.active_low);
        self.line
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .write(level);
        tracing::debug!(output = self.name, bcm = self.pin, %level, "relay released, driven inactive");
    }
}

/// The gate and fail relays, in that order.
pub type Outputs = (Arc<dyn Relay>, Arc<dyn Relay>);

/// Claims the gate and fail relays at their inactive levels and registers each for
/// the panic hook as soon as it is claimed. Call this before anything else at start.
pub fn claim_outputs(gate: RelayOptions, fail: RelayOptions) -> Result<Outputs, GpioError> {
    let gpio = open_gpio("gate")?;
    claim_outputs_from(&gpio, gate, fail)
}

/// [`claim_outputs`] from any pin source. If the fail relay cannot be claimed, the
/// gate relay is dropped (driven inactive) and the error names the failing pin.
pub fn claim_outputs_from<S>(
    source: &S,
    gate: RelayOptions,
    fail: RelayOptions,
) -> Result<Outputs, GpioError>
where
    S: PinSource,
    <S::Pin as ClaimPin>::Line: OutputLine,
{
    let g: Arc<dyn Relay> = Arc::new(RppalRelay::claim_from(source, "gate", &gate)?);
    register(&g);
    let f: Arc<dyn Relay> = Arc::new(RppalRelay::claim_from(source, "fail", &fail)?);
    register(&f);
    Ok((g, f))
}

/// Pull resistor of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pull {
    /// Internal pull-up: for a contact to ground.
    Up,
    /// Internal pull-down: for a contact to 3.3 V.
    Down,
    /// None: the sensor drives the line (or an external resistor pulls it).
    Off,
}

impl From<crate::config::Pull> for Pull {
    fn from(p: crate::config::Pull) -> Self {
        match p {
            crate::config::Pull::Up => Pull::Up,
            crate::config::Pull::Down => Pull::Down,
            crate::config::Pull::Off => Pull::Off,
        }
    }
}

/// One input.
///
/// Its *asserted* level (contact closed, button pressed, sensor sensing) follows
/// `edge`: `Rising` → high, `Falling` → low, `Both` → low with `Pull::Up`, high
/// otherwise. With `Rising`/`Falling` only assertions are reported, with `Both` also
/// releases. The door input is always watched on both edges (the held-open alarm
/// needs both); its `edge` only sets the polarity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputOptions {
    /// BCM GPIO number.
    pub pin: u8,
    pub pull: Pull,
    pub edge: Edge,
    /// How long a level must hold to count.
    pub debounce: Duration,
}

impl InputOptions {
    /// Whether the asserted level is high.
    pub fn asserted_high(&self) -> bool {
        asserted_high(self.pull, self.edge)
    }
}

/// Whether an input with `pull` and `edge` is asserted when high (see [`InputOptions`]).
pub fn asserted_high(pull: Pull, edge: Edge) -> bool {
    match edge {
        Edge::Rising => true,
        Edge::Falling => false,
        Edge::Both => pull != Pull::Up,
    }
}

/// Which input an event comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputName {
    /// Presence sensor or start button: active = asserted.
    Trigger,
    /// Request-to-exit button: active = asserted.
    Exit,
    /// Door contact, normally closed (closed while the door is shut):
    /// active = contact open = door open.
    Door,
}

impl InputName {
    /// "trigger", "exit" or "door".
    pub fn as_str(self) -> &'static str {
        match self {
            InputName::Trigger => "trigger",
            InputName::Exit => "exit",
            InputName::Door => "door",
        }
    }
}

/// The inputs to watch; any may be absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InputsOptions {
    pub trigger: Option<InputOptions>,
    pub exit: Option<InputOptions>,
    pub door: Option<InputOptions>,
}

impl InputsOptions {
    /// The configured inputs, in a fixed order.
    pub fn list(&self) -> Vec<(InputName, InputOptions)> {
        [
            (InputName::Trigger, self.trigger),
            (InputName::Exit, self.exit),
            (InputName::Door, self.door),
        ]
        .into_iter()
        .filter_map(|(n, o)| o.map(|o| (n, o)))
        .collect()
    }
}

/// A debounced input change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputEvent {
    pub input: InputName,
    /// See [`InputName`] for what active means per input.
    pub active: bool,
    /// When the new level began.
    pub at: Instant,
}

/// The level of an input, read.
pub trait LevelSource: Send + 'static {
    /// Whether the pin is high now.
    fn is_high(&mut self) -> bool;
}

impl LevelSource for rppal::gpio::InputPin {
    fn is_high(&mut self) -> bool {
        rppal::gpio::InputPin::is_high(self)
    }
}

/// One input being watched.
pub(crate) struct Watched<S> {
    pub(crate) name: InputName,
    pub(crate) source: S,
    /// The line's number, for logs: BCM number, or offset on its chip.
    pub(crate) line: u32,
    /// Pull, edge and debounce (the backend's own line address is in `line`).
    pub(crate) opts: WatchOptions,
    /// Report every edge and the state at start (commissioning) instead of the
    /// daemon's choice.
    pub(crate) show_all: bool,
}

/// How an input is watched, whatever its backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WatchOptions {
    pub(crate) pull: Pull,
    pub(crate) edge: Edge,
    pub(crate) debounce: Duration,
}

impl From<&InputOptions> for WatchOptions {
    fn from(o: &InputOptions) -> Self {
        WatchOptions {
            pull: o.pull,
            edge: o.edge,
            debounce: o.debounce,
        }
    }
}

/// Whether `level` means active for input `name` with `opts`.
fn is_active(name: InputName, opts: &WatchOptions, high: bool) -> bool {
    let asserted = high == asserted_high(opts.pull, opts.edge);
    if name == InputName::Door {
        !asserted
    } else {
        asserted
    }
}

/// Polls `inputs` every `period` and sends their debounced edges, until the
/// receiver is gone. At start, the door's state is sent (so a door already open is
/// watched); the trigger's and exit's are not (a button held at boot opens nothing).
pub(crate) fn spawn_watch<S: LevelSource>(
    mut inputs: Vec<Watched<S>>,
    period: Duration,
    tx: mpsc::Sender<InputEvent>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let now = Instant::now();
        let mut debouncers = Vec::with_capacity(inputs.len());
        for w in inputs.iter_mut() {
            let high = w.source.is_high();
            let edge = if w.show_all || w.name == InputName::Door {
                Edge::Both
            } else {
                w.opts.edge
            };
            debouncers.push(Debouncer::new(w.opts.debounce, edge, high));
            if w.show_all || w.name == InputName::Door {
                let ev = InputEvent {
                    input: w.name,
                    active: is_active(w.name, &w.opts, high),
                    at: now,
                };
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
        }
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if tx.is_closed() {
                return;
            }
            let now = Instant::now();
            for (w, d) in inputs.iter_mut().zip(debouncers.iter_mut()) {
                let Some(edge) = d.feed(w.source.is_high(), now) else {
                    continue;
                };
                let ev = InputEvent {
                    input: w.name,
                    active: is_active(w.name, &w.opts, edge.rising),
                    at: edge.at,
                };
                tracing::debug!(
                    input = w.name.as_str(),
                    line = w.line,
                    active = ev.active,
                    "input edge"
                );
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
        }
    })
}

/// Claims `opts`' pins as inputs with their pull resistors.
fn claim_inputs(
    opts: &InputsOptions,
    show_all: bool,
) -> Result<Vec<Watched<rppal::gpio::InputPin>>, GpioError> {
    let list = opts.list();
    let Some((first, _)) = list.first() else {
        return Ok(Vec::new());
    };
    let gpio = open_gpio(first.as_str())?;
    let mut out = Vec::with_capacity(list.len());
    for (name, o) in list {
        let pin = gpio
            .get(o.pin)
            .map_err(|e| gpio_error(name.as_str(), Some(o.pin), e))?;
        let source = match o.pull {
            Pull::Up => pin.into_input_pullup(),
            Pull::Down => pin.into_input_pulldown(),
            Pull::Off => pin.into_input(),
        };
        tracing::info!(input = name.as_str(), bcm = o.pin, pull = ?o.pull, edge = o.edge.as_str(), "input claimed");
        out.push(Watched {
            name,
            source,
            line: u32::from(o.pin),
            opts: WatchOptions::from(&o),
            show_all,
        });
    }
    Ok(out)
}

/// Watches the configured inputs on this Pi and sends their debounced edges on
/// `tx` (see [`InputOptions`] for edge choice and polarity). The task ends, and
/// releases the pins, when `tx`'s receiver is dropped. Off a Pi: an error.
pub fn spawn_inputs(
    opts: InputsOptions,
    tx: mpsc::Sender<InputEvent>,
) -> Result<JoinHandle<()>, GpioError> {
    Ok(spawn_watch(claim_inputs(&opts, false)?, POLL_PERIOD, tx))
}

/// Like [`spawn_inputs`], for commissioning: every input on both edges, and each
/// input's state at start first.
pub fn spawn_inputs_showing_all(
    opts: InputsOptions,
    tx: mpsc::Sender<InputEvent>,
) -> Result<JoinHandle<()>, GpioError> {
    Ok(spawn_watch(claim_inputs(&opts, true)?, POLL_PERIOD, tx))
}

/// The trigger event an input event means: an active trigger edge starts a session,
/// an active exit edge opens the gate, a door change is passed on.
pub fn trigger_event(ev: &InputEvent) -> Option<TriggerEvent> {
    match (ev.input, ev.active) {
        (InputName::Trigger, true) => Some(TriggerEvent::Start {
            source: "gpio",
            note: None,
        }),
        (InputName::Exit, true) => Some(TriggerEvent::Exit { source: "gpio" }),
        (InputName::Door, open) => Some(TriggerEvent::Door { open }),
        (_, false) => None,
    }
}

/// The `gpio` trigger: turns input events (from [`spawn_inputs`]) into trigger events
/// with [`trigger_event`].
pub struct GpioTrigger {
    inputs: mpsc::Receiver<InputEvent>,
}

impl GpioTrigger {
    /// A trigger fed by `inputs`.
    pub fn new(inputs: mpsc::Receiver<InputEvent>) -> Self {
        GpioTrigger { inputs }
    }
}

impl Trigger for GpioTrigger {
    fn spawn(
        self: Box<Self>,
        events: mpsc::Sender<TriggerEvent>,
        _state: watch::Receiver<GateState>,
    ) -> JoinHandle<()> {
        let mut inputs = self.inputs;
        tokio::spawn(async move {
            while let Some(ev) = inputs.recv().await {
                let Some(te) = trigger_event(&ev) else {
                    continue;
                };
                if events.send(te).await.is_err() {
                    return;
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpio::pulse;

    #[derive(Clone, Debug, PartialEq, Eq)]
    enum Op {
        /// Configured as an output already at this level.
        Output(u8, Level),
        Write(u8, Level, Instant),
        /// Dropped (still an output: the fake, like ours, never releases).
        Dropped(u8),
    }

    type Log = Arc<Mutex<Vec<Op>>>;

    struct FakePin {
        bcm: u8,
        log: Log,
    }
    struct FakeLine {
        bcm: u8,
        log: Log,
    }
    struct FakeGpio {
        log: Log,
        missing: Option<u8>,
    }

    impl OutputLine for FakeLine {
        fn write(&mut self, level: Level) {
            self.log
                .lock()
                .unwrap()
                .push(Op::Write(self.bcm, level, Instant::now()));
        }
    }
    impl Drop for FakeLine {
        fn drop(&mut self) {
            self.log.lock().unwrap().push(Op::Dropped(self.bcm));
        }
    }
    impl ClaimPin for FakePin {
        type Line = FakeLine;
        fn into_output_at(self, level: Level) -> FakeLine {
            self.log.lock().unwrap().push(Op::Output(self.bcm, level));
            FakeLine {
                bcm: self.bcm,
                log: self.log,
            }
        }
    }
    impl PinSource for FakeGpio {
        type Pin = FakePin;
        fn get_pin(&self, bcm: u8) -> Result<FakePin, rppal::gpio::Error> {
            if self.missing == Some(bcm) {
                return Err(rppal::gpio::Error::PinNotAvailable(bcm));
            }
            Ok(FakePin {
                bcm,
                log: self.log.clone(),
            })
        }
    }

    fn fake(missing: Option<u8>) -> (FakeGpio, Log) {
        let log = Log::default();
        (
            FakeGpio {
                log: log.clone(),
                missing,
            },
            log,
        )
    }

    /// The log without timestamps.
    fn levels(log: &Log) -> Vec<String> {
        log.lock()
            .unwrap()
            .iter()
            .map(|op| match op {
                Op::Output(p, l) => format!("output {p} {l}"),
                Op::Write(p, l, _) => format!("write {p} {l}"),
                Op::Dropped(p) => format!("drop {p}"),
            })
            .collect()
    }

    fn opts(pin: u8, active_low: bool) -> RelayOptions {
        RelayOptions {
            pin,
            active_low,
            pulse: Duration::from_millis(500),
        }
    }

    #[test]
    fn pulse_bounds() {
        assert_eq!(bounded_pulse(Duration::ZERO), PULSE_MIN);
        assert_eq!(bounded_pulse(Duration::from_millis(99)), PULSE_MIN);
        assert_eq!(bounded_pulse(Duration::from_millis(100)), PULSE_MIN);
        assert_eq!(
            bounded_pulse(Duration::from_millis(750)),
            Duration::from_millis(750)
        );
        assert_eq!(bounded_pulse(Duration::from_secs(10)), PULSE_MAX);
        assert_eq!(bounded_pulse(Duration::from_secs(3600)), PULSE_MAX);
        let o = RelayOptions {
            pulse: Duration::from_secs(60),
            ..opts(17, true)
        };
        assert_eq!(o.bounded_pulse(), PULSE_MAX);
    }

    #[test]
    fn levels_follow_active_low() {
        assert_eq!(level_for(true, true), Level::Low);
        assert_eq!(level_for(false, true), Level::High);
        assert_eq!(level_for(true, false), Level::High);
        assert_eq!(level_for(false, false), Level::Low);
        assert_eq!(initial_level(true), Level::High);
        assert_eq!(initial_level(false), Level::Low);
    }

    #[test]
    fn a_relay_is_first_configured_at_its_inactive_level() {
        for (active_low, rest) in [(true, Level::High), (false, Level::Low)] {
            let (gpio, log) = fake(None);
            let relay = RppalRelay::claim_from(&gpio, "gate", &opts(17, active_low)).unwrap();
            assert_eq!(log.lock().unwrap()[0], Op::Output(17, rest));
            assert_eq!(
                log.lock().unwrap().len(),
                1,
                "nothing else written at claim"
            );
            assert_eq!(relay.pin(), 17);
        }
    }

    #[test]
    fn active_low_maps_active_to_low() {
        let (gpio, log) = fake(None);
        let relay = RppalRelay::claim_from(&gpio, "gate", &opts(17, true)).unwrap();
        relay.set(true).unwrap();
        relay.set(false).unwrap();
        assert_eq!(
            levels(&log),
            vec!["output 17 High", "write 17 Low", "write 17 High"]
        );
        assert_eq!(relay.name(), "gate");
    }

    #[test]
    fn dropping_a_relay_drives_it_inactive_and_keeps_it_an_output() {
        let (gpio, log) = fake(None);
        let relay = RppalRelay::claim_from(&gpio, "fail", &opts(27, true)).unwrap();
        relay.set(true).unwrap();
        drop(relay);
        assert_eq!(
            levels(&log),
            vec!["output 27 High", "write 27 Low", "write 27 High", "drop 27"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pulse_on_an_active_low_relay_is_low_for_exactly_its_length() {
        let (gpio, log) = fake(None);
        let relay: Arc<dyn Relay> =
            Arc::new(RppalRelay::claim_from(&gpio, "gate", &opts(17, true)).unwrap());
        let t0 = Instant::now();
        pulse(&relay, Duration::from_millis(750)).await.unwrap();
        let ops = log.lock().unwrap().clone();
        assert_eq!(
            ops,
            vec![
                Op::Output(17, Level::High),
                Op::Write(17, Level::Low, t0),
                Op::Write(17, Level::High, t0 + Duration::from_millis(750)),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_pulse_on_a_real_relay_still_ends_high() {
        let (gpio, log) = fake(None);
        let relay: Arc<dyn Relay> =
            Arc::new(RppalRelay::claim_from(&gpio, "gate", &opts(17, true)).unwrap());
        let r = relay.clone();
        let task = tokio::spawn(async move { pulse(&r, Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(200)).await;
        task.abort();
        let _ = task.await;
        assert_eq!(
            levels(&log),
            vec!["output 17 High", "write 17 Low", "write 17 High"]
        );
    }

    #[test]
    fn claim_outputs_claims_both_inactive_and_registers_them() {
        let (gpio, log) = fake(None);
        let (g, f) = claim_outputs_from(&gpio, opts(17, true), opts(27, false)).unwrap();
        assert_eq!((g.name(), f.name()), ("gate", "fail"));
        let claimed: Vec<String> = levels(&log)
            .into_iter()
            .filter(|s| s.starts_with("output"))
            .collect();
        assert_eq!(claimed, vec!["output 17 High", "output 27 Low"]);
        assert_eq!(
            levels(&log)[0],
            "output 17 High",
            "configured before any write"
        );
        g.set(true).unwrap();
        f.set(true).unwrap();
        crate::gpio::all_safe();
        let l = levels(&log);
        // Another test's all_safe may also write (inactive) to ours at any time, so
        // check what must hold anyway: both were energised, and the last word on each
        // is its inactive level (without registration, it would be the active one).
        assert!(l.contains(&"write 17 Low".to_owned()), "{l:?}");
        assert!(l.contains(&"write 27 High".to_owned()), "{l:?}");
        let last = |p: &str| l.iter().rev().find(|s| s.contains(p)).cloned();
        assert_eq!(last(" 17 ").as_deref(), Some("write 17 High"));
        assert_eq!(last(" 27 ").as_deref(), Some("write 27 Low"));
    }

    #[test]
    fn when_the_fail_relay_cannot_be_claimed_the_gate_relay_is_left_inactive() {
        let (gpio, log) = fake(Some(27));
        let err = claim_outputs_from(&gpio, opts(17, true), opts(27, true))
            .err()
            .expect("the fail pin is missing");
        let GpioError::Io { output, why } = &err;
        assert_eq!(*output, "fail");
        assert!(why.contains("BCM 27"), "{why}");
        assert!(why.contains("header pin 13"), "{why}");
        // (A concurrent test's all_safe may add more "write 17 High": same meaning.)
        let l = levels(&log);
        assert_eq!(l[0], "output 17 High");
        assert_eq!(l[l.len() - 2..], ["write 17 High", "drop 17"]);
        assert!(l.iter().all(|s| !s.contains("Low")), "{l:?}");
    }

    #[test]
    fn off_a_pi_the_error_says_so_in_plain_words() {
        let e = gpio_error("gate", None, rppal::gpio::Error::UnknownModel);
        let text = e.to_string();
        assert!(text.contains("gate"), "{text}");
        assert!(text.contains("not a Raspberry Pi"), "{text}");
        assert!(text.contains("kind = \"sim\""), "{text}");
        let e = gpio_error(
            "trigger",
            Some(22),
            rppal::gpio::Error::Io(io::Error::from(io::ErrorKind::NotFound)),
        );
        assert!(e.to_string().contains("/dev/gpiomem"), "{e}");
        assert!(e.to_string().contains("BCM 22"), "{e}");
        let e = gpio_error("fail", Some(4), rppal::gpio::Error::PinUsed(4));
        assert!(e.to_string().contains("already in use"), "{e}");
    }

    #[test]
    fn claim_outputs_off_a_pi_fails_with_an_error_not_a_panic() {
        // There is no Pi here; on one this claims real pins, so only check an error.
        if std::path::Path::new("/dev/gpiomem").exists() {
            return;
        }
        let e = claim_outputs(opts(17, true), opts(27, true)).err();
        let text = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("not a Raspberry Pi"), "{text}");
        let (tx, _rx) = mpsc::channel(1);
        let inputs = InputsOptions {
            trigger: Some(input(22, Pull::Up, Edge::Falling)),
            ..InputsOptions::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let e = rt.block_on(async { spawn_inputs(inputs, tx).err() });
        let text = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("GPIO error on trigger"), "{text}");
    }

    // --- inputs ---

    fn input(pin: u8, pull: Pull, edge: Edge) -> InputOptions {
        InputOptions {
            pin,
            pull,
            edge,
            debounce: Duration::from_millis(20),
        }
    }

    #[test]
    fn asserted_level_follows_edge_then_pull() {
        assert!(input(1, Pull::Up, Edge::Rising).asserted_high());
        assert!(!input(1, Pull::Down, Edge::Falling).asserted_high());
        assert!(!input(1, Pull::Up, Edge::Both).asserted_high());
        assert!(input(1, Pull::Down, Edge::Both).asserted_high());
        assert!(input(1, Pull::Off, Edge::Both).asserted_high());
    }

    /// An input whose level follows a script of (ms since start, high).
    struct Scripted {
        t0: Instant,
        script: Vec<(u64, bool)>,
    }

    impl LevelSource for Scripted {
        fn is_high(&mut self) -> bool {
            let ms = (Instant::now() - self.t0).as_millis() as u64;
            self.script
                .iter()
                .take_while(|(t, _)| *t <= ms)
                .last()
                .map(|(_, l)| *l)
                .unwrap_or(false)
        }
    }

    fn watched(
        name: InputName,
        opts: InputOptions,
        script: &[(u64, bool)],
        show_all: bool,
    ) -> Watched<Scripted> {
        Watched {
            name,
            source: Scripted {
                t0: Instant::now(),
                script: script.to_vec(),
            },
            line: u32::from(opts.pin),
            opts: WatchOptions::from(&opts),
            show_all,
        }
    }

    /// Runs the watcher for `run_ms` and returns (input, active, at ms).
    async fn collect(inputs: Vec<Watched<Scripted>>, run_ms: u64) -> Vec<(InputName, bool, u64)> {
        let t0 = Instant::now();
        let (tx, mut rx) = mpsc::channel(64);
        let task = spawn_watch(inputs, POLL_PERIOD, tx);
        tokio::time::sleep(Duration::from_millis(run_ms)).await;
        task.abort();
        let _ = task.await;
        let mut out = Vec::new();
        while let Ok(e) = rx.try_recv() {
            out.push((e.input, e.active, (e.at - t0).as_millis() as u64));
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_bouncing_button_to_ground_gives_one_press_and_one_release() {
        // Pull-up, button to ground: pressed = low. Bounces on press and release.
        let script = [
            (0, true),
            (100, false),
            (105, true),
            (110, false),
            (115, true),
            (120, false), // held from 120
            (400, true),
            (405, false),
            (410, true), // released from 410
        ];
        let opts = input(22, Pull::Up, Edge::Both);
        let got = collect(
            vec![watched(InputName::Trigger, opts, &script, false)],
            1000,
        )
        .await;
        assert_eq!(
            got,
            vec![
                (InputName::Trigger, true, 120),
                (InputName::Trigger, false, 410)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_chosen_edge_is_reported_and_a_short_glitch_is_not() {
        // Active-low sensor, falling edges only; a 10 ms glitch at 50 ms.
        let script = [
            (0, true),
            (50, false),
            (60, true),
            (200, false),
            (500, true),
        ];
        let opts = input(22, Pull::Off, Edge::Falling);
        let got = collect(
            vec![watched(InputName::Trigger, opts, &script, false)],
            1000,
        )
        .await;
        assert_eq!(got, vec![(InputName::Trigger, true, 200)]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_door_state_is_sent_at_start_and_on_both_edges() {
        // Normally-closed reed to ground with pull-up: shut = low, open = high. The
        // configured edge (falling) only sets the polarity for the door.
        let script = [(0, true), (300, false), (700, true)];
        let door = input(24, Pull::Up, Edge::Falling);
        let trigger = input(22, Pull::Up, Edge::Falling);
        let got = collect(
            vec![
                watched(InputName::Trigger, trigger, &[(0, false)], false),
                watched(InputName::Door, door, &script, false),
            ],
            1000,
        )
        .await;
        assert_eq!(
            got,
            vec![
                (InputName::Door, true, 0),
                (InputName::Door, false, 300),
                (InputName::Door, true, 700)
            ],
            "a trigger held at start is not a press; the door open at start is reported"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn showing_all_reports_initial_states_and_both_edges() {
        let opts = input(22, Pull::Up, Edge::Falling);
        let got = collect(
            vec![watched(
                InputName::Exit,
                opts,
                &[(0, true), (100, false), (300, true)],
                true,
            )],
            1000,
        )
        .await;
        assert_eq!(
            got,
            vec![
                (InputName::Exit, false, 0),
                (InputName::Exit, true, 100),
                (InputName::Exit, false, 300)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_watcher_stops_when_nobody_listens() {
        let (tx, rx) = mpsc::channel(4);
        let task = spawn_watch(
            vec![watched(
                InputName::Trigger,
                input(22, Pull::Up, Edge::Both),
                &[],
                false,
            )],
            POLL_PERIOD,
            tx,
        );
        drop(rx);
        tokio::time::timeout(Duration::from_millis(50), task)
            .await
            .expect("the task ended")
            .unwrap();
    }

    #[test]
    fn input_events_map_to_trigger_events() {
        let at = Instant::now();
        let ev = |input, active| InputEvent { input, active, at };
        assert_eq!(
            trigger_event(&ev(InputName::Trigger, true)),
            Some(TriggerEvent::Start {
                source: "gpio",
                note: None
            })
        );
        assert_eq!(trigger_event(&ev(InputName::Trigger, false)), None);
        assert_eq!(
            trigger_event(&ev(InputName::Exit, true)),
            Some(TriggerEvent::Exit { source: "gpio" })
        );
        assert_eq!(trigger_event(&ev(InputName::Exit, false)), None);
        assert_eq!(
            trigger_event(&ev(InputName::Door, true)),
            Some(TriggerEvent::Door { open: true })
        );
        assert_eq!(
            trigger_event(&ev(InputName::Door, false)),
            Some(TriggerEvent::Door { open: false })
        );
    }

    #[tokio::test]
    async fn the_gpio_trigger_forwards_only_meaningful_events() {
        let (in_tx, in_rx) = mpsc::channel(8);
        let (ev_tx, mut ev_rx) = mpsc::channel(8);
        let (_state_tx, state_rx) = watch::channel(GateState::Ready);
        let task = Box::new(GpioTrigger::new(in_rx)).spawn(ev_tx, state_rx);
        let at = Instant::now();
        for (input, active) in [
            (InputName::Trigger, false),
            (InputName::Trigger, true),
            (InputName::Exit, false),
            (InputName::Door, true),
        ] {
            in_tx.send(InputEvent { input, active, at }).await.unwrap();
        }
        drop(in_tx);
        task.await.unwrap();
        let mut got = Vec::new();
        while let Ok(e) = ev_rx.try_recv() {
            got.push(e);
        }
        assert_eq!(
            got,
            vec![
                TriggerEvent::Start {
                    source: "gpio",
                    note: None
                },
                TriggerEvent::Door { open: true }
            ]
        );
    }
}

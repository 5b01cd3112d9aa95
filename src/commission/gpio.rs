//! `livegate test relay gate|fail [--ms N]` and `livegate test input`: pulse one
//! relay, or show the inputs' edges live, in plain words for a technician.

use std::fmt::Display;
use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::gpio::input::{spawn_inputs_showing_all, InputEvent, InputName, InputsOptions};
use crate::gpio::line::{LineAddr, Pull};
use crate::gpio::output::{bounded_pulse, claim_output, OutputOptions, PULSE_MAX, PULSE_MIN};
use crate::gpio::{pulse, register, GpioError, GpioLines, Relay};

/// Why a GPIO test could not run.
#[derive(Debug, thiserror::Error)]
pub enum GpioTestError {
    #[error("unknown output {0:?}: say \"gate\" or \"fail\"")]
    UnknownOutput(String),
    #[error(transparent)]
    Gpio(#[from] GpioError),
    #[error("cannot write the report: {0}")]
    Write(#[from] std::io::Error),
}

fn output_name(which: &str) -> Result<&'static str, GpioTestError> {
    match which {
        "gate" => Ok("gate"),
        "fail" => Ok("fail"),
        other => Err(GpioTestError::UnknownOutput(other.to_owned())),
    }
}

/// A relay output as the report names it: where it is wired and how it is driven.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wiring {
    /// Where the wire goes, in the words of the backend ("BCM 17, header pin 11").
    pub place: String,
    pub active_low: bool,
    /// The configured pulse.
    pub pulse: Duration,
}

impl Wiring {
    /// A relay on a line of either backend: "BCM 17, header pin 11", "line 17 of
    /// /dev/gpiochip0" or "line \"GPIO17\"".
    pub fn of<A: Display>(opts: &OutputOptions<A>) -> Self {
        Wiring {
            place: opts.line.to_string(),
            active_low: opts.active_low,
            pulse: opts.pulse,
        }
    }

    /// The place a failed claim names, with what to check.
    fn claim_advice(&self) -> String {
        format!(
            "Check that {} exists on this board, that no other program uses it \
             (`gpioinfo` lists the users of chip lines), and that livegate runs as a user \
             in the \"gpio\" group.",
            self.place
        )
    }
}

/// The pulse to use: `--ms` if given, else the configured one; clamped.
fn test_length(wiring: &Wiring, ms: Option<u64>) -> Duration {
    bounded_pulse(ms.map(Duration::from_millis).unwrap_or(wiring.pulse))
}

/// Claims the `which` relay ("gate" or "fail") of `lines`, pulses it once for `ms`
/// (or its configured pulse), bounded to 100 ms..=10 s, and leaves it inactive.
/// When `stop` resolves first (Ctrl-C), the pulse is dropped (its guard switches
/// the relay off) and the report says so.
pub async fn test_relay<A: LineAddr>(
    lines: &GpioLines<A>,
    which: &str,
    ms: Option<u64>,
    w: &mut dyn Write,
    stop: impl Future,
) -> Result<(), GpioTestError> {
    let name = output_name(which)?;
    let opts = if name == "gate" {
        &lines.gate
    } else {
        &lines.fail
    };
    let wiring = Wiring::of(opts);
    let done = tokio::select! {
        r = claim_and_test(name, &wiring, ms, w, || claim_output(name, opts)) => Some(r),
        _ = stop => None,
    };
    match done {
        Some(r) => r,
        None => {
            writeln!(w, "Interrupted: the relay is off.")?;
            Ok(())
        }
    }
}

async fn claim_and_test<R: Relay + 'static>(
    name: &'static str,
    wiring: &Wiring,
    ms: Option<u64>,
    w: &mut dyn Write,
    claim: impl FnOnce() -> Result<R, GpioError>,
) -> Result<(), GpioTestError> {
    writeln!(w, "Relay test: the {name} output on {}.", wiring.place)?;
    let relay: Arc<dyn Relay> = match claim() {
        Ok(r) => Arc::new(r),
        Err(e) => {
            writeln!(w, "Could not claim it: {e}")?;
            writeln!(w, "{}", wiring.claim_advice())?;
            return Err(e.into());
        }
    };
    register(&relay);
    test_relay_with(&relay, wiring, ms, w).await
}

/// [`test_relay`] on an already claimed relay.
pub async fn test_relay_with(
    relay: &Arc<dyn Relay>,
    wiring: &Wiring,
    ms: Option<u64>,
    w: &mut dyn Write,
) -> Result<(), GpioTestError> {
    let length = test_length(wiring, ms);
    let (on, off) = if wiring.active_low {
        ("low", "high")
    } else {
        ("high", "low")
    };
    writeln!(
        w,
        "It is {}: the relay is energised when the output is {on}, at rest it is {off}.",
        if wiring.active_low {
            "active-low"
        } else {
            "active-high"
        }
    )?;
    let asked = ms.map(Duration::from_millis).unwrap_or(wiring.pulse);
    if asked != length {
        writeln!(
            w,
            "You asked for {} ms; pulses are kept between {} ms and {} ms, so it will be {} ms.",
            asked.as_millis(),
            PULSE_MIN.as_millis(),
            PULSE_MAX.as_millis(),
            length.as_millis()
        )?;
    }
    writeln!(
        w,
        "Energising the {} relay for {} ms…",
        relay.name(),
        length.as_millis()
    )?;
    w.flush()?;
    let result = pulse(relay, length).await;
    // The pulse's guard has switched it off already; say so only once we know.
    if let Err(e) = result {
        writeln!(w, "Driving the output failed: {e}")?;
        relay.set(false).ok();
        return Err(e.into());
    }
    writeln!(
        w,
        "Done: the output is back {off} and the relay is released. You should have heard \
         the relay click (on, then off {} ms later), and its LED should have lit.",
        length.as_millis()
    )?;
    writeln!(
        w,
        "No click? Check the board's power (VCC/JD-VCC), the wire to {}, and active_low: \
         a board that clicked once at start-up and stays on is active-low.",
        wiring.place
    )?;
    Ok(())
}

/// Word for an input's state.
fn state_word(input: InputName, active: bool) -> &'static str {
    match (input, active) {
        (InputName::Door, true) => "open",
        (InputName::Door, false) => "shut",
        (InputName::Trigger, true) => "pressed",
        (InputName::Exit, true) => "pressed",
        (_, false) => "released",
    }
}

fn pull_word(p: Pull) -> &'static str {
    match p {
        Pull::Up => "pull-up",
        Pull::Down => "pull-down",
        Pull::Off => "no pull",
    }
}

/// One input as the report names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watched {
    pub input: InputName,
    /// Where the wire goes ("BCM 22, header pin 15", "line 2 of /dev/gpiochip0").
    pub place: String,
    pub pull: Pull,
    pub debounce: Duration,
}

/// The inputs, as the report names them.
pub fn watched<A: Display>(opts: &InputsOptions<A>) -> Vec<Watched> {
    opts.list()
        .into_iter()
        .map(|(input, o)| Watched {
            input,
            place: o.line.to_string(),
            pull: o.pull,
            debounce: o.debounce,
        })
        .collect()
}

/// Watches the configured inputs of either backend and prints each debounced edge,
/// live, until `stop` resolves (Ctrl-C).
pub async fn test_input<A: LineAddr>(
    opts: &InputsOptions<A>,
    w: &mut dyn Write,
    stop: impl Future,
) -> Result<(), GpioTestError> {
    let list = watched(opts);
    if list.is_empty() {
        writeln!(w, "No inputs are configured in [gpio]: nothing to watch.")?;
        return Ok(());
    }
    let (tx, rx) = mpsc::channel(64);
    let task = match spawn_inputs_showing_all(opts, tx) {
        Ok(t) => t,
        Err(e) => {
            writeln!(w, "Could not claim the inputs: {e}")?;
            return Err(e.into());
        }
    };
    let r = test_input_with(&list, rx, w, stop).await;
    task.abort();
    r
}

/// [`test_input`] on a stream of events (the first for each input is its state at
/// start).
pub async fn test_input_with(
    list: &[Watched],
    mut rx: mpsc::Receiver<InputEvent>,
    w: &mut dyn Write,
    stop: impl Future,
) -> Result<(), GpioTestError> {
    writeln!(w, "Input test: watching")?;
    for o in list {
        writeln!(
            w,
            "  {} on {}, {}, debounce {} ms",
            o.input.as_str(),
            o.place,
            pull_word(o.pull),
            o.debounce.as_millis()
        )?;
    }
    writeln!(
        w,
        "The first line for each input is its state now. Press the buttons, walk past \
         the sensor, open the door; press Ctrl-C to stop."
    )?;
    w.flush()?;
    let start = Instant::now();
    let mut counts = [0u32; 3];
    let mut seen_first = [false; 3];
    tokio::pin!(stop);
    loop {
        let ev = tokio::select! {
            _ = &mut stop => break,
            ev = rx.recv() => ev,
        };
        let Some(ev) = ev else {
            writeln!(w, "The input watcher stopped.")?;
            break;
        };
        let Some(o) = list.iter().find(|o| o.input == ev.input) else {
            continue;
        };
        let i = ev.input as usize;
        if std::mem::replace(&mut seen_first[i], true) {
            counts[i] += 1;
        }
        let t = ev.at.saturating_duration_since(start);
        writeln!(
            w,
            "[{:>8.3} s] {} ({}): {}",
            t.as_secs_f64(),
            ev.input.as_str(),
            o.place,
            state_word(ev.input, ev.active)
        )?;
        w.flush()?;
    }
    writeln!(w, "Stopped. Changes seen:")?;
    for o in list {
        let n = counts[o.input as usize];
        write!(w, "  {}: {n}", o.input.as_str())?;
        if n == 0 {
            write!(
                w,
                " — none: check the wiring to {} and the pull setting ({})",
                o.place,
                pull_word(o.pull)
            )?;
        }
        writeln!(w)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpio::input::InputOptions;
    use crate::gpio::line::{Bcm, ChipLine, Edge, LineSpec};
    use crate::gpio::sim::SimRelay;

    fn relay_opts(active_low: bool, pulse_ms: u64) -> OutputOptions<Bcm> {
        OutputOptions {
            line: Bcm(17),
            active_low,
            pulse: Duration::from_millis(pulse_ms),
        }
    }

    fn pin_wiring(active_low: bool, pulse_ms: u64) -> Wiring {
        Wiring::of(&relay_opts(active_low, pulse_ms))
    }

    #[tokio::test(start_paused = true)]
    async fn test_relay_pulses_once_for_the_asked_length_and_leaves_it_off() {
        let sim = SimRelay::new("gate");
        let relay: Arc<dyn Relay> = Arc::new(sim.clone());
        let mut out = Vec::new();
        let t0 = Instant::now();
        test_relay_with(&relay, &pin_wiring(true, 500), Some(1200), &mut out)
            .await
            .unwrap();
        let p = sim.pulses();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].started, t0);
        assert_eq!(p[0].length, Duration::from_millis(1200));
        assert!(!sim.is_active());
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("active-low"), "{text}");
        assert!(text.contains("energised when the output is low"), "{text}");
        assert!(text.contains("for 1200 ms"), "{text}");
        assert!(text.contains("heard the relay click"), "{text}");
        assert!(text.contains("BCM 17, header pin 11"), "{text}");
        assert!(!text.contains("You asked for"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn test_relay_uses_the_configured_pulse_and_clamps_it() {
        let sim = SimRelay::new("fail");
        let relay: Arc<dyn Relay> = Arc::new(sim.clone());
        let mut out = Vec::new();
        test_relay_with(&relay, &pin_wiring(false, 40), None, &mut out)
            .await
            .unwrap();
        assert_eq!(sim.pulses()[0].length, PULSE_MIN);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("active-high"), "{text}");
        assert!(text.contains("You asked for 40 ms"), "{text}");

        let sim = SimRelay::new("fail");
        let relay: Arc<dyn Relay> = Arc::new(sim.clone());
        test_relay_with(
            &relay,
            &pin_wiring(false, 500),
            Some(60_000),
            &mut Vec::new(),
        )
        .await
        .unwrap();
        assert_eq!(sim.pulses().len(), 1);
        assert_eq!(sim.pulses()[0].length, PULSE_MAX);
    }

    #[tokio::test]
    async fn test_relay_refuses_an_unknown_output_before_touching_anything() {
        let mut out = Vec::new();
        let lines = GpioLines {
            gate: relay_opts(true, 500),
            fail: relay_opts(true, 500),
            trigger: None,
            exit: None,
            door: None,
            wiegand: Default::default(),
        };
        let r = test_relay(&lines, "door", None, &mut out, std::future::pending::<()>()).await;
        assert!(matches!(r, Err(GpioTestError::UnknownOutput(ref s)) if s == "door"));
        assert!(out.is_empty());
    }

    fn input(pin: u8) -> InputOptions<Bcm> {
        InputOptions {
            line: Bcm(pin),
            pull: Pull::Up,
            edge: Edge::Both,
            debounce: Duration::from_millis(20),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn test_input_prints_each_edge_with_its_pin_until_stopped() {
        let opts = InputsOptions {
            trigger: Some(input(22)),
            exit: Some(input(23)),
            door: Some(input(24)),
        };
        let (tx, rx) = mpsc::channel(16);
        let t0 = Instant::now();
        let ev = |input, active, ms| InputEvent {
            input,
            active,
            at: t0 + Duration::from_millis(ms),
        };
        for e in [
            ev(InputName::Trigger, false, 0),
            ev(InputName::Exit, false, 0),
            ev(InputName::Door, false, 0),
            ev(InputName::Trigger, true, 1500),
            ev(InputName::Trigger, false, 1750),
            ev(InputName::Door, true, 2000),
        ] {
            tx.send(e).await.unwrap();
        }
        let stop = tokio::time::sleep(Duration::from_secs(5));
        let mut out = Vec::new();
        test_input_with(&watched(&opts), rx, &mut out, stop)
            .await
            .unwrap();
        assert_eq!(
            Instant::now() - t0,
            Duration::from_secs(5),
            "ran until stop"
        );
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
        assert_eq!(
            lines,
            vec![
                "[   0.000 s] trigger (BCM 22, header pin 15): released",
                "[   0.000 s] exit (BCM 23, header pin 16): released",
                "[   0.000 s] door (BCM 24, header pin 18): shut",
                "[   1.500 s] trigger (BCM 22, header pin 15): pressed",
                "[   1.750 s] trigger (BCM 22, header pin 15): released",
                "[   2.000 s] door (BCM 24, header pin 18): open",
            ]
        );
        assert!(text.contains("  trigger: 2\n"), "{text}");
        assert!(text.contains("  door: 1\n"), "{text}");
        assert!(
            text.contains("  exit: 0 — none: check the wiring to BCM 23, header pin 16"),
            "{text}"
        );
        drop(tx);
    }

    #[test]
    fn chip_lines_are_named_by_chip_and_offset_or_by_name() {
        let input = |line| InputOptions {
            line: ChipLine::new("/dev/gpiochip4", line),
            pull: Pull::Down,
            edge: Edge::Rising,
            debounce: Duration::from_millis(30),
        };
        let opts = InputsOptions {
            trigger: Some(input(LineSpec::Offset(2))),
            exit: None,
            door: Some(input(LineSpec::Name("DOOR".into()))),
        };
        assert_eq!(
            watched(&opts),
            vec![
                Watched {
                    input: InputName::Trigger,
                    place: "line 2 of /dev/gpiochip4".into(),
                    pull: Pull::Down,
                    debounce: Duration::from_millis(30),
                },
                Watched {
                    input: InputName::Door,
                    place: "line \"DOOR\"".into(),
                    pull: Pull::Down,
                    debounce: Duration::from_millis(30),
                },
            ]
        );
        let relay = OutputOptions {
            line: ChipLine::new("/dev/gpiochip0", LineSpec::Offset(17)),
            active_low: true,
            pulse: Duration::from_millis(700),
        };
        assert_eq!(
            Wiring::of(&relay),
            Wiring {
                place: "line 17 of /dev/gpiochip0".into(),
                active_low: true,
                pulse: Duration::from_millis(700),
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn test_input_names_chip_lines_in_every_line() {
        let list = vec![Watched {
            input: InputName::Trigger,
            place: "line 2 of /dev/gpiochip1".into(),
            pull: Pull::Up,
            debounce: Duration::from_millis(50),
        }];
        let (tx, rx) = mpsc::channel(4);
        let t0 = Instant::now();
        for (active, ms) in [(false, 0), (true, 250)] {
            tx.send(InputEvent {
                input: InputName::Trigger,
                active,
                at: t0 + Duration::from_millis(ms),
            })
            .await
            .unwrap();
        }
        let mut out = Vec::new();
        let stop = tokio::time::sleep(Duration::from_secs(1));
        test_input_with(&list, rx, &mut out, stop).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("  trigger on line 2 of /dev/gpiochip1, pull-up, debounce 50 ms\n"),
            "{text}"
        );
        assert!(
            text.contains("[   0.250 s] trigger (line 2 of /dev/gpiochip1): pressed\n"),
            "{text}"
        );
        assert!(text.contains("  trigger: 1\n"), "{text}");
    }

    #[tokio::test]
    async fn test_relay_cdev_on_a_missing_chip_says_where_and_what_to_check() {
        let opts = OutputOptions {
            line: ChipLine::new("/dev/gpiochip-livegate-missing", LineSpec::Offset(3)),
            active_low: true,
            pulse: Duration::from_millis(500),
        };
        let lines = GpioLines {
            gate: opts.clone(),
            fail: opts,
            trigger: None,
            exit: None,
            door: None,
            wiegand: Default::default(),
        };
        let mut out = Vec::new();
        let stop = std::future::pending::<()>();
        let r = test_relay(&lines, "gate", None, &mut out, stop).await;
        assert!(matches!(r, Err(GpioTestError::Gpio(_))), "{r:?}");
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "Relay test: the gate output on line 3 of /dev/gpiochip-livegate-missing.\n\
                 Could not claim it: "
            ),
            "{text}"
        );
        assert!(text.contains("`gpioinfo`"), "{text}");
        assert!(!text.contains("Energising"), "{text}");
    }

    #[tokio::test]
    async fn test_input_with_nothing_configured_says_so() {
        let mut out = Vec::new();
        test_input(
            &InputsOptions::<Bcm>::default(),
            &mut out,
            std::future::pending::<()>(),
        )
        .await
        .unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("No inputs are configured"));
    }
}

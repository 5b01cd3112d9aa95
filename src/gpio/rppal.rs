//! The Raspberry Pi backend (`[gpio] kind = "rppal"`): claims [`Bcm`] pins with
//! rppal. Thin: outputs, pulses and inputs are written once in
//! [`output`](super::output) and [`input`](super::input).
//!
//! An output pin is configured already at its inactive level (the level register
//! first, then the mode) and is never released to a floating input, which would
//! energise an active-low relay board: it stays an output when dropped.

use std::io;

use rppal::gpio::{Gpio, InputPin, OutputPin, Trigger};

use super::edges::{EdgePair, EdgePairAddr, Monotonic, PairEdge};
use super::header::header_pin;
use super::input::InputLine;
use super::line::{Bcm, Level, LineAddr, Pull};
use super::output::OutputLine;
use super::GpioError;

impl OutputLine for OutputPin {
    fn write(&mut self, level: Level) -> Result<(), String> {
        match level {
            Level::High => self.set_high(),
            Level::Low => self.set_low(),
        }
        Ok(())
    }
}

impl InputLine for InputPin {
    fn is_high(&mut self) -> bool {
        InputPin::is_high(self)
    }
}

impl LineAddr for Bcm {
    type Output = OutputPin;
    type Input = InputPin;

    fn claim_output(
        &self,
        name: &'static str,
        level: Level,
    ) -> Result<(OutputPin, String), GpioError> {
        let pin = get_pin(name, self.0)?;
        // Sets the level register first, then the mode: the pin never outputs the
        // other level.
        let mut out = match level {
            Level::High => pin.into_output_high(),
            Level::Low => pin.into_output_low(),
        };
        // Default rppal behaviour restores the previous mode (input, floating) on drop.
        out.set_reset_on_drop(false);
        Ok((out, format!("BCM {}", self.0)))
    }

    fn claim_input(&self, name: &'static str, pull: Pull) -> Result<(InputPin, String), GpioError> {
        let pin = get_pin(name, self.0)?;
        let input = match pull {
            Pull::Up => pin.into_input_pullup(),
            Pull::Down => pin.into_input_pulldown(),
            Pull::Off => pin.into_input(),
        };
        Ok((input, format!("BCM {}", self.0)))
    }
}

/// Two pins with interrupts on the falling edge; rppal stamps each event with the
/// kernel's time since boot.
pub struct RppalEdgePair {
    gpio: Gpio,
    pins: [InputPin; 2],
    clock: Monotonic,
}

impl EdgePairAddr for Bcm {
    type Pair = RppalEdgePair;

    fn claim_edge_pair(
        name: &'static str,
        lines: [&Bcm; 2],
        pull: Pull,
    ) -> Result<RppalEdgePair, GpioError> {
        let gpio = Gpio::new().map_err(|e| gpio_error(name, None, e))?;
        let claim = |bcm: &Bcm| -> Result<InputPin, GpioError> {
            let (mut pin, _) = bcm.claim_input(name, pull)?;
            pin.set_interrupt(Trigger::FallingEdge, None)
                .map_err(|e| gpio_error(name, Some(bcm.0), e))?;
            Ok(pin)
        };
        Ok(RppalEdgePair {
            pins: [claim(lines[0])?, claim(lines[1])?],
            gpio,
            clock: Monotonic::now(),
        })
    }
}

impl EdgePair for RppalEdgePair {
    fn next(&mut self, timeout: std::time::Duration) -> Result<Option<PairEdge>, String> {
        let [a, b] = &self.pins;
        let Some((pin, ev)) = self
            .gpio
            .poll_interrupts(&[a, b], false, Some(timeout))
            .map_err(|e| e.to_string())?
        else {
            return Ok(None);
        };
        Ok(Some(PairEdge {
            which: usize::from(pin.pin() != a.pin()),
            at: self.clock.instant(ev.timestamp),
        }))
    }
}

fn get_pin(output: &'static str, pin: u8) -> Result<rppal::gpio::Pin, GpioError> {
    let gpio = Gpio::new().map_err(|e| gpio_error(output, None, e))?;
    gpio.get(pin).map_err(|e| gpio_error(output, Some(pin), e))
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
    match header_pin(bcm) {
        Some(h) => format!("header pin {h}"),
        None => "no header pin".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpio::input::{spawn_inputs, InputOptions, InputsOptions};
    use crate::gpio::line::Edge;
    use crate::gpio::output::{claim_outputs, OutputOptions};
    use std::time::Duration;
    use tokio::sync::mpsc;

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
        let e = gpio_error("fail", Some(27), rppal::gpio::Error::PinNotAvailable(27));
        assert!(e.to_string().contains("header pin 13 (BCM 27)"), "{e}");
    }

    #[test]
    fn claim_outputs_off_a_pi_fails_with_an_error_not_a_panic() {
        // There is no Pi here; on one this claims real pins, so only check an error.
        if std::path::Path::new("/dev/gpiomem").exists() {
            return;
        }
        let opts = |pin| OutputOptions {
            line: Bcm(pin),
            active_low: true,
            pulse: Duration::from_millis(500),
        };
        let e = claim_outputs(&opts(17), &opts(27)).err();
        let text = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("not a Raspberry Pi"), "{text}");
        let (tx, _rx) = mpsc::channel(1);
        let inputs = InputsOptions {
            trigger: Some(InputOptions {
                line: Bcm(22),
                pull: Pull::Up,
                edge: Edge::Falling,
                debounce: Duration::from_millis(20),
            }),
            ..InputsOptions::default()
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let e = rt.block_on(async { spawn_inputs(&inputs, tx).err() });
        let text = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("GPIO error on trigger"), "{text}");
    }
}

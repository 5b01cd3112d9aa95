//! GPIO, split by job: the board ([`header`]: the one 40-pin map), naming a line
//! ([`line`](mod@line): [`Bcm`](line::Bcm) or [`ChipLine`](line::ChipLine), and the shared
//! `Level`, `Pull`, `Edge`), relay outputs ([`output`]: claimed at their inactive
//! level, the pulse that can never stick on, the panic hook), inputs ([`input`]:
//! polled, debounced, the door and the `gpio` trigger; [`debounce`]: the pure
//! logic; [`edges`]: two lines watched for kernel-stamped edges, a card reader's).
//! [`rppal`] and [`cdev`] are thin backends behind [`line::LineAddr`],
//! [`output::OutputLine`] and [`input::InputLine`]; [`sim`] is the simulated twin.

pub mod cdev;
pub mod debounce;
pub mod edges;
#[cfg(test)]
pub(crate) mod fake;
pub mod header;
pub mod input;
pub mod line;
pub mod output;
pub mod rppal;
pub mod sim;

pub use output::{all_safe, install_panic_hook, pulse, register, Pulser, Relay};

use input::{DoorOptions, InputOptions, InputsOptions};
use output::OutputOptions;

/// Why a line could not be claimed or driven.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    #[error("GPIO error on {output}: {why}")]
    Io { output: &'static str, why: String },
}

/// The relays and inputs of a `[gpio]` table with real lines, whatever the
/// backend: `A` is [`Bcm`](line::Bcm) for rppal, [`ChipLine`](line::ChipLine) for
/// cdev. The configuration builds it; devices and commissioning use it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpioLines<A> {
    /// The gate relay.
    pub gate: OutputOptions<A>,
    /// The fail/alarm output.
    pub fail: OutputOptions<A>,
    /// The trigger input (a presence sensor or start button), when wired.
    pub trigger: Option<InputOptions<A>>,
    /// The request-to-exit button (opens the gate without a check), when wired.
    pub exit: Option<InputOptions<A>>,
    /// The door contact, when wired.
    pub door: Option<DoorOptions<A>>,
    /// The Wiegand lines (to a panel, from a card reader), when wired.
    pub wiegand: WiegandPins<A>,
}

/// The Wiegand lines of a `[gpio]` table: D0 and D1 out to an access-control
/// panel's reader port, D0 and D1 in from a card reader; each unset by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WiegandPins<A> {
    pub out_d0: Option<A>,
    pub out_d1: Option<A>,
    pub in_d0: Option<A>,
    pub in_d1: Option<A>,
}

impl<A> Default for WiegandPins<A> {
    fn default() -> Self {
        WiegandPins {
            out_d0: None,
            out_d1: None,
            in_d0: None,
            in_d1: None,
        }
    }
}

impl<A> WiegandPins<A> {
    /// D0 and D1 to the panel, when both are set.
    pub fn output(&self) -> Option<(&A, &A)> {
        self.out_d0.as_ref().zip(self.out_d1.as_ref())
    }

    /// D0 and D1 from the card reader, when both are set.
    pub fn input(&self) -> Option<(&A, &A)> {
        self.in_d0.as_ref().zip(self.in_d1.as_ref())
    }
}

impl<A: Clone> GpioLines<A> {
    /// The inputs to watch; `None` when no input is configured. The door is watched
    /// on both edges (its open level sets the polarity).
    pub fn inputs(&self) -> Option<InputsOptions<A>> {
        let opts = InputsOptions {
            trigger: self.trigger.clone(),
            exit: self.exit.clone(),
            door: self.door.as_ref().map(DoorOptions::input),
        };
        (opts.trigger.is_some() || opts.exit.is_some() || opts.door.is_some()).then_some(opts)
    }
}

impl<A> GpioLines<A> {
    /// Every line in use, in the order gate, fail, trigger, exit, door, Wiegand
    /// out D0, D1, Wiegand in D0, D1 (`None` for a line not wired).
    pub fn lines(&self) -> [Option<&A>; 9] {
        let w = &self.wiegand;
        [
            Some(&self.gate.line),
            Some(&self.fail.line),
            self.trigger.as_ref().map(|i| &i.line),
            self.exit.as_ref().map(|i| &i.line),
            self.door.as_ref().map(|d| &d.line),
            w.out_d0.as_ref(),
            w.out_d1.as_ref(),
            w.in_d0.as_ref(),
            w.in_d1.as_ref(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::line::{Edge, Pull};
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_inputs_of_a_table_with_the_door_on_both_edges() {
        let out = |line| OutputOptions {
            line,
            active_low: true,
            pulse: Duration::from_secs(1),
        };
        let mut g = GpioLines {
            gate: out(17u8),
            fail: out(27),
            trigger: None,
            exit: None,
            door: None,
            wiegand: WiegandPins::default(),
        };
        assert_eq!(g.inputs(), None, "no input configured");
        assert_eq!(
            g.lines(),
            [
                Some(&17),
                Some(&27),
                None,
                None,
                None,
                None,
                None,
                None,
                None
            ]
        );
        g.trigger = Some(InputOptions {
            line: 22,
            pull: Pull::Down,
            edge: Edge::Both,
            debounce: Duration::from_millis(20),
        });
        g.door = Some(DoorOptions {
            line: 24,
            pull: Pull::Up,
            open_level_high: true,
            debounce: Duration::from_millis(30),
            held_open_after: Duration::from_secs(30),
        });
        let opts = g.inputs().expect("two inputs");
        assert_eq!(opts.trigger, g.trigger);
        assert_eq!(opts.exit, None);
        let door = opts.door.expect("door");
        assert_eq!((door.line, door.edge), (24, Edge::Rising));
        assert_eq!(g.lines()[4], Some(&24));
    }
}

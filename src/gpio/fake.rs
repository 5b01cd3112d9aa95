//! A fake GPIO backend for unit tests: a line address whose lines log what is done
//! to them (claimed at a level, written, dropped), for the relays (`output.rs`) and
//! the Wiegand output (`devices.rs`).

use std::sync::{Arc, Mutex};

use crate::gpio::input::InputLine;
use crate::gpio::line::Pull;
use crate::gpio::line::{Level, LineAddr};
use crate::gpio::output::OutputLine;
use crate::gpio::GpioError;
use tokio::time::Instant;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Configured as an output already at this level.
    Output(u8, Level),
    Write(u8, Level, Instant),
    /// Dropped (still an output: the fake, like ours, never releases).
    Dropped(u8),
}

pub(crate) type Log = Arc<Mutex<Vec<Op>>>;

/// A line address of a fake backend that logs what is done to its lines.
#[derive(Clone, Debug)]
pub(crate) struct Fake {
    pub(crate) pin: u8,
    pub(crate) log: Log,
    /// Claiming fails (not on this board).
    pub(crate) missing: bool,
    /// Writing fails.
    pub(crate) broken: bool,
}

impl PartialEq for Fake {
    fn eq(&self, other: &Self) -> bool {
        self.pin == other.pin
    }
}

impl std::fmt::Display for Fake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fake {}", self.pin)
    }
}

pub(crate) struct FakeLine {
    pin: u8,
    log: Log,
    broken: bool,
}

impl OutputLine for FakeLine {
    fn write(&mut self, level: Level) -> Result<(), String> {
        if self.broken {
            return Err("Input/output error".to_owned());
        }
        self.log
            .lock()
            .unwrap()
            .push(Op::Write(self.pin, level, Instant::now()));
        Ok(())
    }
}

impl Drop for FakeLine {
    fn drop(&mut self) {
        self.log.lock().unwrap().push(Op::Dropped(self.pin));
    }
}

pub(crate) struct NoInput;

impl InputLine for NoInput {
    fn is_high(&mut self) -> bool {
        false
    }
}

impl LineAddr for Fake {
    type Output = FakeLine;
    type Input = NoInput;

    fn claim_output(
        &self,
        name: &'static str,
        level: Level,
    ) -> Result<(FakeLine, String), GpioError> {
        if self.missing {
            return Err(GpioError::Io {
                output: name,
                why: format!("fake {} does not exist", self.pin),
            });
        }
        self.log.lock().unwrap().push(Op::Output(self.pin, level));
        let line = FakeLine {
            pin: self.pin,
            log: self.log.clone(),
            broken: self.broken,
        };
        Ok((line, format!("fake line {}", self.pin)))
    }

    fn claim_input(&self, _: &'static str, _: Pull) -> Result<(NoInput, String), GpioError> {
        Ok((NoInput, self.to_string()))
    }
}

pub(crate) fn fake(pin: u8, log: &Log) -> Fake {
    Fake {
        pin,
        log: log.clone(),
        missing: false,
        broken: false,
    }
}

/// The log without timestamps.
pub(crate) fn levels(log: &Log) -> Vec<String> {
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

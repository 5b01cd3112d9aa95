//! How a line is named, and the value types every backend shares: [`Level`],
//! [`Pull`], [`Edge`].
//!
//! A line is named one way, [`LineAddr`], which two types implement: [`Bcm`] (a pin
//! of the Pi, claimed with rppal) and [`ChipLine`] (a line of `/dev/gpiochipN` by
//! offset or name, claimed through the kernel's character device). The address type
//! picks the backend: the neutral code (outputs, inputs, commissioning) is written
//! once, generic over it, and one `[gpio]` table cannot mix the two.

use std::fmt;
use std::path::PathBuf;

use super::input::InputLine;
use super::output::OutputLine;
use super::{header, GpioError};

/// The chip used when the config names none.
pub const DEFAULT_CHIP: &str = "/dev/gpiochip0";
/// Highest line offset accepted in the config.
pub const MAX_OFFSET: u32 = 511;

/// A physical level on a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Low,
    High,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Low => "Low",
            Level::High => "High",
        })
    }
}

/// The level that makes a relay `active` (energised) or not.
pub fn level_for(active: bool, active_low: bool) -> Level {
    if active != active_low {
        Level::High
    } else {
        Level::Low
    }
}

/// The level a relay's line is claimed at (and returned to): its inactive level.
pub fn initial_level(active_low: bool) -> Level {
    level_for(false, active_low)
}

/// An input's pull resistor (bias).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pull {
    /// Pull-up: the line reads high when nothing drives it (a contact to ground).
    Up,
    /// Pull-down: the line reads low when nothing drives it (a contact to 3.3 V).
    Down,
    /// None: the sensor drives the line (or an external resistor pulls it).
    Off,
}

/// Which change of an input's level counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Edge {
    /// High to low (a button to ground with a pull-up).
    Falling,
    /// Low to high.
    Rising,
    /// Either change.
    Both,
}

words!(Pull { Up => "up", Down => "down", Off => "off" });
words!(Edge { Falling => "falling", Rising => "rising", Both => "both" });

impl Edge {
    /// A door contact's edge: which change means "opened" (it is watched on both).
    pub fn door_opens(open_level_high: bool) -> Edge {
        if open_level_high {
            Edge::Rising
        } else {
            Edge::Falling
        }
    }

    /// Whether a change to `rising` (true = to high) is reported under this choice.
    pub fn passes(self, rising: bool) -> bool {
        match self {
            Edge::Rising => rising,
            Edge::Falling => !rising,
            Edge::Both => true,
        }
    }
}

/// A line as a backend claims it: as an output already at a level, or as an input
/// with its bias. Each backend implements it for its own address type; the `String`
/// returned beside the line names it for logs and errors (where it was found).
pub trait LineAddr: Clone + fmt::Debug + fmt::Display + PartialEq + Send + Sync + 'static {
    /// A claimed output.
    type Output: OutputLine;
    /// A claimed input.
    type Input: InputLine;

    /// Configures the line as an output already at `level`, in one step (it never
    /// outputs the other level), for output `name`. Dropping the line must not
    /// release it to a floating input while it still drives a relay.
    fn claim_output(
        &self,
        name: &'static str,
        level: Level,
    ) -> Result<(Self::Output, String), GpioError>;

    /// Configures the line as an input with `pull`, for input `name`.
    fn claim_input(
        &self,
        name: &'static str,
        pull: Pull,
    ) -> Result<(Self::Input, String), GpioError>;
}

/// A pin of the Raspberry Pi by BCM GPIO number (`[gpio] kind = "rppal"`). Shown
/// as "BCM 17, header pin 11".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bcm(pub u8);

impl fmt::Display for Bcm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match header::header_pin(self.0) {
            Some(h) => write!(f, "BCM {}, header pin {h}", self.0),
            None => write!(f, "BCM {}, not on the 40-pin header", self.0),
        }
    }
}

/// A line on a chip: its offset, or its name.
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

    /// As the config and the wiring record write it: "17" or "GPIO17".
    pub fn text(&self) -> String {
        match self {
            LineSpec::Offset(o) => o.to_string(),
            LineSpec::Name(n) => n.clone(),
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

/// A line of a GPIO chip (`[gpio] kind = "cdev"`): an offset on `chip`, or a name
/// looked up on every chip (`chip` then does not matter). Shown as "line 17 of
/// /dev/gpiochip0", or "line \"GPIO17\"".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ChipLine {
    pub chip: PathBuf,
    pub line: LineSpec,
}

impl ChipLine {
    /// `line` on `chip`.
    pub fn new(chip: impl Into<PathBuf>, line: LineSpec) -> Self {
        ChipLine {
            chip: chip.into(),
            line,
        }
    }
}

impl fmt::Display for ChipLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.line {
            LineSpec::Offset(_) => write!(f, "{} of {}", self.line, self.chip.display()),
            LineSpec::Name(_) => write!(f, "{}", self.line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(LineSpec::Offset(27).text(), "27");
        assert_eq!(LineSpec::Name("GPIO5".into()).text(), "GPIO5");
    }

    #[test]
    fn lines_are_named_by_pin_and_header_or_by_chip_and_offset_or_by_name() {
        assert_eq!(Bcm(17).to_string(), "BCM 17, header pin 11");
        assert_eq!(Bcm(30).to_string(), "BCM 30, not on the 40-pin header");
        assert_eq!(
            ChipLine::new("/dev/gpiochip4", LineSpec::Offset(2)).to_string(),
            "line 2 of /dev/gpiochip4"
        );
        assert_eq!(
            ChipLine::new("/dev/gpiochip4", LineSpec::Name("DOOR".into())).to_string(),
            "line \"DOOR\""
        );
    }

    #[test]
    fn levels_follow_active_low() {
        assert_eq!(level_for(true, true), Level::Low);
        assert_eq!(level_for(false, true), Level::High);
        assert_eq!(level_for(true, false), Level::High);
        assert_eq!(level_for(false, false), Level::Low);
        assert_eq!(initial_level(true), Level::High);
        assert_eq!(initial_level(false), Level::Low);
        assert_eq!(Level::High.to_string(), "High");
    }

    #[test]
    fn choices_and_edges() {
        assert_eq!(Pull::WORDS, ["up", "down", "off"]);
        assert_eq!(Edge::WORDS, ["falling", "rising", "both"]);
        assert_eq!(Edge::parse("both"), Some(Edge::Both));
        assert_eq!(Edge::door_opens(true), Edge::Rising);
        assert_eq!(Edge::door_opens(false), Edge::Falling);
        assert!(Edge::Rising.passes(true) && !Edge::Rising.passes(false));
        assert!(Edge::Falling.passes(false) && Edge::Both.passes(true));
    }
}

//! The Raspberry Pi's 40-pin header: which header pin is which BCM GPIO, power or
//! ground, and the pins of the I2C buses. The one map of the board; the checker, the
//! error messages and commissioning all read it.

/// What a header pin carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderPin {
    /// 3.3 V supply.
    Power3v3,
    /// 5 V supply.
    Power5v,
    /// Ground.
    Ground,
    /// A GPIO, by BCM number.
    Gpio(u8),
}

use HeaderPin::{Gpio as P, Ground as G, Power3v3 as V3, Power5v as V5};

/// The header, pin 1 to 40 (odd column then even, row by row).
pub const HEADER: [HeaderPin; 40] = [
    V3,
    V5,
    P(2),
    V5,
    P(3),
    G,
    P(4),
    P(14),
    G,
    P(15),
    P(17),
    P(18),
    P(27),
    G,
    P(22),
    P(23),
    V3,
    P(24),
    P(10),
    G,
    P(9),
    P(25),
    P(11),
    P(8),
    G,
    P(7),
    P(0),
    P(1),
    P(5),
    G,
    P(6),
    P(12),
    P(13),
    G,
    P(19),
    P(16),
    P(26),
    P(20),
    G,
    P(21),
];

/// Highest BCM number on the header.
pub const MAX_BCM: u8 = 27;

/// What header pin `pin` (1..=40) carries.
pub fn at(pin: u8) -> Option<HeaderPin> {
    HEADER.get(usize::from(pin).checked_sub(1)?).copied()
}

/// The header pin of a BCM GPIO number (None off the header).
pub fn header_pin(bcm: u8) -> Option<u8> {
    let i = HEADER.iter().position(|p| *p == HeaderPin::Gpio(bcm))?;
    u8::try_from(i + 1).ok()
}

/// The BCM GPIO number on header pin `pin`, if it carries one.
pub fn bcm_at(pin: u8) -> Option<u8> {
    match at(pin)? {
        HeaderPin::Gpio(b) => Some(b),
        HeaderPin::Power3v3 | HeaderPin::Power5v | HeaderPin::Ground => None,
    }
}

/// The (SDA, SCL) BCM numbers of I2C bus `bus` on the header (bus 0: the HAT EEPROM
/// pins, bus 1: the usual one); other buses are not on fixed header pins.
pub fn i2c_pins(bus: u8) -> Option<(u8, u8)> {
    match bus {
        0 => Some((0, 1)),
        1 => Some((2, 3)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_pins_match_the_40_pin_header() {
        // The header, pin by pin (odd column then even), with the BCM number of each
        // GPIO pin; power and ground pins have none.
        let header: [(u8, Option<u8>); 40] = [
            (1, None),
            (2, None),
            (3, Some(2)),
            (4, None),
            (5, Some(3)),
            (6, None),
            (7, Some(4)),
            (8, Some(14)),
            (9, None),
            (10, Some(15)),
            (11, Some(17)),
            (12, Some(18)),
            (13, Some(27)),
            (14, None),
            (15, Some(22)),
            (16, Some(23)),
            (17, None),
            (18, Some(24)),
            (19, Some(10)),
            (20, None),
            (21, Some(9)),
            (22, Some(25)),
            (23, Some(11)),
            (24, Some(8)),
            (25, None),
            (26, Some(7)),
            (27, Some(0)),
            (28, Some(1)),
            (29, Some(5)),
            (30, None),
            (31, Some(6)),
            (32, Some(12)),
            (33, Some(13)),
            (34, None),
            (35, Some(19)),
            (36, Some(16)),
            (37, Some(26)),
            (38, Some(20)),
            (39, None),
            (40, Some(21)),
        ];
        for bcm in 0..=MAX_BCM {
            let expected = header
                .iter()
                .find(|(_, b)| *b == Some(bcm))
                .map(|(p, _)| *p);
            assert!(expected.is_some(), "BCM {bcm} is on the header");
            assert_eq!(header_pin(bcm), expected, "BCM {bcm}");
        }
        for (pin, bcm) in header {
            assert_eq!(bcm_at(pin), bcm, "header pin {pin}");
        }
        assert_eq!(header_pin(28), None);
        assert_eq!(header_pin(255), None);
        assert_eq!((bcm_at(0), bcm_at(41)), (None, None));
        assert_eq!((at(1), at(2), at(6)), (Some(V3), Some(V5), Some(G)));
        assert_eq!(i2c_pins(1), Some((2, 3)));
        assert_eq!(i2c_pins(0), Some((0, 1)));
        assert_eq!(i2c_pins(3), None);
    }
}

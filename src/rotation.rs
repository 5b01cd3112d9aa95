//! A clockwise rotation in quarter turns: the one type for the camera's picture
//! (`[camera] rotation`, applied in `camera::jpeg`) and the panel's
//! (`[display] rotation`, applied by `display::ssd1306`). Written in the file as 0,
//! 90, 180 or 270.

/// A clockwise rotation in quarter turns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Rotation {
    /// Not rotated.
    #[default]
    R0,
    /// A quarter turn clockwise.
    R90,
    /// Upside down.
    R180,
    /// Three quarter turns clockwise (a quarter turn counter-clockwise).
    R270,
}

impl Rotation {
    /// Every rotation, in the documented order.
    pub const ALL: [Rotation; 4] = [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270];

    /// The rotation of a number of degrees clockwise (0, 90, 180 or 270).
    pub fn from_degrees(degrees: impl Into<i64>) -> Option<Self> {
        let degrees = degrees.into();
        Self::ALL
            .into_iter()
            .find(|r| i64::from(r.degrees()) == degrees)
    }

    /// Degrees clockwise.
    pub fn degrees(self) -> u32 {
        match self {
            Rotation::R0 => 0,
            Rotation::R90 => 90,
            Rotation::R180 => 180,
            Rotation::R270 => 270,
        }
    }

    /// The number used in the file, as text.
    pub fn as_str(self) -> &'static str {
        match self {
            Rotation::R0 => "0",
            Rotation::R90 => "90",
            Rotation::R180 => "180",
            Rotation::R270 => "270",
        }
    }

    /// Width and height trade places (90° and 270°).
    pub fn swaps_sides(self) -> bool {
        matches!(self, Rotation::R90 | Rotation::R270)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degrees_round_trip() {
        for r in Rotation::ALL {
            assert_eq!(Rotation::from_degrees(r.degrees()), Some(r));
            assert_eq!(r.as_str(), r.degrees().to_string());
        }
        assert_eq!(Rotation::from_degrees(45), None);
        assert_eq!(Rotation::from_degrees(-90), None);
        assert!(Rotation::R90.swaps_sides() && !Rotation::R180.swaps_sides());
    }
}

//! Wiegand, sans-IO: the 26- and 34-bit card formats with their parities, the timing
//! of a frame on the two data lines (D0, D1), and a decoder that turns edge
//! timestamps into frames.
//!
//! On the wire both lines idle high; a bit is a low pulse on D0 (a 0) or on D1 (a 1),
//! the first bit sent first. Frames are told apart by silence. Nothing here touches a
//! line or reads a clock: the sender thread walks [`schedule`], the input side feeds
//! [`Decoder::edge`] with the kernel's timestamps and asks [`Decoder::poll`] when the
//! silence after a frame has lasted long enough.

use std::fmt;
use std::time::{Duration, Instant};

/// A card format: how many bits, and how they split into facility code and number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// H10301, the common 26-bit format: even parity, 8-bit facility code, 16-bit card
    /// number, odd parity.
    W26,
    /// The 34-bit format (H10306 layout): even parity, 16-bit facility code, 16-bit
    /// card number, odd parity. Readers of 4-byte card serials send the same 32 data
    /// bits; [`Card::data`] gives them as one number.
    W34,
}

impl Format {
    /// The configuration's words, in order.
    pub const NAMES: [&'static str; 2] = ["26", "34"];

    /// Bits on the wire, parities included.
    pub const fn bits(self) -> u8 {
        match self {
            Format::W26 => 26,
            Format::W34 => 34,
        }
    }

    /// Bits of the facility code.
    pub const fn facility_bits(self) -> u8 {
        match self {
            Format::W26 => 8,
            Format::W34 => 16,
        }
    }

    /// Bits of the card number (16 in both formats).
    pub const fn number_bits(self) -> u8 {
        16
    }

    /// The largest facility code the format carries.
    pub const fn max_facility(self) -> u32 {
        (1 << self.facility_bits()) - 1
    }

    /// The largest card number the format carries.
    pub const fn max_number(self) -> u32 {
        (1 << self.number_bits()) - 1
    }

    /// The format with `bits` bits on the wire, if it is one of ours.
    pub const fn from_bits(bits: u8) -> Option<Format> {
        match bits {
            26 => Some(Format::W26),
            34 => Some(Format::W34),
            _ => None,
        }
    }

    /// The configuration's word ("26" or "34").
    pub fn parse(word: &str) -> Option<Format> {
        word.parse().ok().and_then(Format::from_bits)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-bit", self.bits())
    }
}

/// A card as the panel sees it: format, facility code and number.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Card {
    format: Format,
    facility: u32,
    number: u32,
}

/// Why a card cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("facility code {got} does not fit the {format} format (0 to {max})")]
    Facility { format: Format, got: u64, max: u32 },
    #[error("card number {got} does not fit the {format} format (0 to {max})")]
    Number { format: Format, got: u64, max: u32 },
    #[error("{0:?} is not a card number: write NUMBER or FACILITY:NUMBER, e.g. 12345 or 18:12345")]
    Syntax(String),
}

impl Card {
    /// A card, if the facility code and number fit the format.
    pub fn new(format: Format, facility: u32, number: u32) -> Result<Card, CardError> {
        if facility > format.max_facility() {
            return Err(CardError::Facility {
                format,
                got: facility.into(),
                max: format.max_facility(),
            });
        }
        if number > format.max_number() {
            return Err(CardError::Number {
                format,
                got: number.into(),
                max: format.max_number(),
            });
        }
        Ok(Card {
            format,
            facility,
            number,
        })
    }

    /// `NUMBER` (facility code 0) or `FACILITY:NUMBER`, both decimal.
    pub fn parse(format: Format, text: &str) -> Result<Card, CardError> {
        let syntax = || CardError::Syntax(text.chars().take(40).collect());
        let int = |s: &str| -> Result<u64, CardError> {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            s.parse().map_err(|_| syntax())
        };
        let (facility, number) = match text.split_once(':') {
            Some((f, n)) => (int(f)?, int(n)?),
            None => (0, int(text)?),
        };
        let facility = u32::try_from(facility).map_err(|_| CardError::Facility {
            format,
            got: facility,
            max: format.max_facility(),
        })?;
        let number = u32::try_from(number).map_err(|_| CardError::Number {
            format,
            got: number,
            max: format.max_number(),
        })?;
        Card::new(format, facility, number)
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn facility(&self) -> u32 {
        self.facility
    }

    pub fn number(&self) -> u32 {
        self.number
    }

    /// The data bits without the parities as one number (facility code above the card
    /// number): 24 bits for 26-bit cards, 32 for 34-bit ones.
    pub fn data(&self) -> u32 {
        (self.facility << self.format.number_bits()) | self.number
    }

    /// The frame on the wire, parities included.
    pub fn encode(&self) -> Bits {
        let n = self.format.bits();
        let data_bits = n - 2;
        let half = data_bits / 2;
        let data = u64::from(self.data());
        let first_half = data >> half;
        let second_half = data & ((1 << half) - 1);
        // Leading bit: even parity over the first half; trailing: odd over the second.
        let lead = u64::from(first_half.count_ones() % 2 == 1);
        let trail = u64::from(second_half.count_ones() % 2 == 0);
        Bits {
            value: (lead << (n - 1)) | (data << 1) | trail,
            len: n,
        }
    }

    /// The card a frame carries, if its length is a format's and both parities hold.
    pub fn decode(bits: Bits) -> Result<Card, FrameError> {
        let format = Format::from_bits(bits.len).ok_or(FrameError::Length(bits.len))?;
        let n = bits.len;
        let half = (n - 2) / 2;
        let data = (bits.value >> 1) & ((1 << (n - 2)) - 1);
        let lead = (bits.value >> (n - 1)) & 1;
        let trail = bits.value & 1;
        let first = (data >> half).count_ones() + lead as u32;
        let second = (data & ((1 << half) - 1)).count_ones() + trail as u32;
        if first % 2 != 0 {
            return Err(FrameError::Parity(Half::Leading));
        }
        if second % 2 != 1 {
            return Err(FrameError::Parity(Half::Trailing));
        }
        let number_bits = format.number_bits();
        let data = data as u32;
        Ok(Card {
            format,
            facility: data >> number_bits,
            number: data & ((1 << number_bits) - 1),
        })
    }
}

/// Only the format prints: a card number is personal data, and what may be shown of
/// it is the site's choice ([`Card::facility`], [`Card::number`] for those who may).
impl fmt::Debug for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Card({}, ***)", self.format)
    }
}

/// Bits of one frame, first sent first. At most 64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Bits {
    value: u64,
    len: u8,
}

impl Bits {
    pub const MAX: u8 = 64;

    pub fn len(&self) -> u8 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends one bit; `false` once the frame is full (the bit is dropped).
    pub fn push(&mut self, one: bool) -> bool {
        if self.len >= Self::MAX {
            return false;
        }
        self.value = (self.value << 1) | u64::from(one);
        self.len += 1;
        true
    }

    /// Bit `i`, the first sent being 0.
    pub fn get(&self, i: u8) -> Option<bool> {
        (i < self.len).then(|| (self.value >> (self.len - 1 - i)) & 1 == 1)
    }

    pub fn iter(&self) -> impl Iterator<Item = bool> + '_ {
        (0..self.len).filter_map(|i| self.get(i))
    }

    /// The same frame with bit `i` inverted (a line fault; tests and fault injection).
    pub fn flipped(mut self, i: u8) -> Bits {
        if i < self.len {
            self.value ^= 1 << (self.len - 1 - i);
        }
        self
    }
}

impl FromIterator<bool> for Bits {
    fn from_iter<I: IntoIterator<Item = bool>>(iter: I) -> Bits {
        let mut bits = Bits::default();
        for b in iter {
            bits.push(b);
        }
        bits
    }
}

/// `0` and `1`, first sent first: what `test wiegand` prints.
impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.iter() {
            f.write_str(if b { "1" } else { "0" })?;
        }
        Ok(())
    }
}

/// Which parity failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Half {
    Leading,
    Trailing,
}

/// Why a frame read from the lines was not a card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("{0} bits is neither a 26- nor a 34-bit frame")]
    Length(u8),
    #[error("the {} parity bit does not match", match .0 { Half::Leading => "leading (even)", Half::Trailing => "trailing (odd)" })]
    Parity(Half),
    #[error("both data lines were low at once (wiring fault or interference)")]
    BothLow,
    #[error("a data line stayed low for {0:?}, longer than any reader's pulse")]
    Stuck(Duration),
    #[error("more than 64 bits without a pause")]
    TooLong,
}

/// The data lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Line {
    /// Pulses for a 0.
    D0,
    /// Pulses for a 1.
    D1,
}

impl Line {
    fn index(self) -> usize {
        match self {
            Line::D0 => 0,
            Line::D1 => 1,
        }
    }

    fn for_bit(one: bool) -> Line {
        if one {
            Line::D1
        } else {
            Line::D0
        }
    }
}

/// Pulse width and interval (from the start of one pulse to the start of the next) of
/// a sent frame, within the SIA ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    pulse: Duration,
    interval: Duration,
}

/// Why a timing is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimingError {
    #[error("pulse width {0:?} is outside 20 µs to 100 µs")]
    Pulse(Duration),
    #[error("pulse interval {0:?} is outside 200 µs to 20 ms")]
    Interval(Duration),
}

impl Timing {
    pub const PULSE_MIN: Duration = Duration::from_micros(20);
    pub const PULSE_MAX: Duration = Duration::from_micros(100);
    pub const INTERVAL_MIN: Duration = Duration::from_micros(200);
    pub const INTERVAL_MAX: Duration = Duration::from_millis(20);
    pub const DEFAULT: Timing = Timing {
        pulse: Duration::from_micros(50),
        interval: Duration::from_millis(2),
    };

    pub fn new(pulse: Duration, interval: Duration) -> Result<Timing, TimingError> {
        if !(Self::PULSE_MIN..=Self::PULSE_MAX).contains(&pulse) {
            return Err(TimingError::Pulse(pulse));
        }
        if !(Self::INTERVAL_MIN..=Self::INTERVAL_MAX).contains(&interval) {
            return Err(TimingError::Interval(interval));
        }
        Ok(Timing { pulse, interval })
    }

    pub fn pulse(&self) -> Duration {
        self.pulse
    }

    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The silence a sender keeps after a frame before the next: long enough for any
    /// panel to take the frame as ended (they wait a few intervals; 25 ms is common).
    pub fn gap_after(&self) -> Duration {
        (self.interval * 10).max(Duration::from_millis(250))
    }
}

impl Default for Timing {
    fn default() -> Timing {
        Timing::DEFAULT
    }
}

/// One pulse of a frame: `line` goes low at `low` and back high at `high`, both
/// measured from the frame's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pulse {
    pub line: Line,
    pub low: Duration,
    pub high: Duration,
}

/// The pulses that send `bits`, in order. Pulses never overlap (the interval is at
/// least twice the longest pulse), so both lines are never low together.
pub fn schedule(bits: Bits, timing: Timing) -> impl Iterator<Item = Pulse> {
    (0..bits.len()).filter_map(move |i| {
        let one = bits.get(i)?;
        let low = timing.interval * u32::from(i);
        Some(Pulse {
            line: Line::for_bit(one),
            low,
            high: low + timing.pulse,
        })
    })
}

/// How long sending `bits` takes, from the first pulse's start to the last's end.
pub fn duration(bits: Bits, timing: Timing) -> Duration {
    match bits.len() {
        0 => Duration::ZERO,
        n => timing.interval * u32::from(n - 1) + timing.pulse,
    }
}

/// What the decoder accepts as a pulse, and how much silence ends a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecoderParams {
    /// Shorter lows are interference and are ignored (no bit).
    pub min_pulse: Duration,
    /// Longer lows spoil the frame (a line held low, a short to ground).
    pub max_pulse: Duration,
    /// Silence after the last pulse that ends a frame. Above the slowest reader's
    /// interval (20 ms), below the pause between two cards.
    pub end_gap: Duration,
}

impl Default for DecoderParams {
    fn default() -> DecoderParams {
        DecoderParams {
            min_pulse: Duration::from_micros(5),
            max_pulse: Duration::from_millis(2),
            end_gap: Duration::from_millis(50),
        }
    }
}

/// A frame the decoder finished: the bits read, and the card or why it is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Read {
    pub bits: Bits,
    pub card: Result<Card, FrameError>,
    /// Short lows ignored as interference while this frame was read.
    pub glitches: u32,
}

/// Edge timestamps in, frames out.
#[derive(Debug)]
pub struct Decoder {
    params: DecoderParams,
    bits: Bits,
    low_since: [Option<Instant>; 2],
    last_edge: Option<Instant>,
    spoilt: Option<FrameError>,
    glitches: u32,
}

impl Decoder {
    pub fn new(params: DecoderParams) -> Decoder {
        Decoder {
            params,
            bits: Bits::default(),
            low_since: [None; 2],
            last_edge: None,
            spoilt: None,
            glitches: 0,
        }
    }

    /// One edge on one line: `low` is true for a falling edge. Returns the previous
    /// frame if this edge comes after a silence that ended it (when `poll` was not
    /// called in time).
    pub fn edge(&mut self, line: Line, low: bool, at: Instant) -> Option<Read> {
        let finished = self.poll(at);
        self.last_edge = Some(at);
        let other = 1 - line.index();
        if low {
            if self.low_since[other].is_some() {
                self.spoil(FrameError::BothLow);
            }
            self.low_since[line.index()] = Some(at);
            return finished;
        }
        // A rising edge without a falling one before it: the reader was mid-pulse
        // when we started listening. Nothing to count.
        let Some(since) = self.low_since[line.index()].take() else {
            return finished;
        };
        let width = at.saturating_duration_since(since);
        if width < self.params.min_pulse {
            self.glitches += 1;
        } else if width > self.params.max_pulse {
            self.spoil(FrameError::Stuck(width));
        } else if !self.bits.push(line == Line::D1) {
            self.spoil(FrameError::TooLong);
        }
        finished
    }

    /// The frame, once `now` is `end_gap` past its last edge with both lines high.
    pub fn poll(&mut self, now: Instant) -> Option<Read> {
        let deadline = self.deadline()?;
        if now < deadline || self.low_since.iter().any(Option::is_some) {
            return None;
        }
        let bits = std::mem::take(&mut self.bits);
        let glitches = std::mem::take(&mut self.glitches);
        let spoilt = self.spoilt.take();
        self.last_edge = None;
        if bits.is_empty() && spoilt.is_none() {
            // Only interference: no frame to report.
            return None;
        }
        let card = match spoilt {
            Some(e) => Err(e),
            None => Card::decode(bits),
        };
        Some(Read {
            bits,
            card,
            glitches,
        })
    }

    /// When to call [`poll`](Self::poll) next, if a frame is being read.
    pub fn deadline(&self) -> Option<Instant> {
        self.last_edge.map(|t| t + self.params.end_gap)
    }

    fn spoil(&mut self, e: FrameError) {
        self.spoilt.get_or_insert(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift64*), so the property tests cover
    /// many values and fail the same way every run.
    struct Gen(u64);
    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn card(&mut self, format: Format) -> Card {
            let f = (self.next() % (u64::from(format.max_facility()) + 1)) as u32;
            let n = (self.next() % (u64::from(format.max_number()) + 1)) as u32;
            Card::new(format, f, n).unwrap()
        }
    }

    const FORMATS: [Format; 2] = [Format::W26, Format::W34];

    fn edges_of(bits: Bits, timing: Timing, start: Instant) -> Vec<(Line, bool, Instant)> {
        schedule(bits, timing)
            .flat_map(|p| {
                [
                    (p.line, true, start + p.low),
                    (p.line, false, start + p.high),
                ]
            })
            .collect()
    }

    fn read_all(d: &mut Decoder, edges: &[(Line, bool, Instant)]) -> Vec<Read> {
        let mut out: Vec<Read> = edges
            .iter()
            .filter_map(|&(l, low, at)| d.edge(l, low, at))
            .collect();
        if let Some(t) = d.deadline() {
            assert_eq!(d.poll(t - Duration::from_micros(1)), None, "ended early");
            out.extend(d.poll(t));
        }
        out
    }

    #[test]
    fn a_known_26_bit_card_has_the_published_bits() {
        // Facility 18, card 12345: 00010010 0011000000111001, parities 0 … 1.
        let card = Card::new(Format::W26, 18, 12345).unwrap();
        assert_eq!(
            card.encode().to_string(),
            "0000100100011000000111001".to_owned() + "1"
        );
        assert_eq!(card.encode().len(), 26);
        // All zero data: leading even parity 0, trailing odd parity 1.
        let zero = Card::new(Format::W26, 0, 0).unwrap().encode();
        assert_eq!(zero.to_string(), format!("{}1", "0".repeat(25)));
        let ones = Card::new(Format::W26, 255, 65535).unwrap().encode();
        // 12 ones in each half: leading 0 (even), trailing 1 (odd needs one more).
        assert_eq!(ones.to_string(), format!("0{}1", "1".repeat(24)));
    }

    #[test]
    fn a_known_34_bit_card_has_the_published_bits() {
        let card = Card::new(Format::W34, 0xABCD, 0x1234).unwrap();
        let s = card.encode().to_string();
        assert_eq!(s.len(), 34);
        assert_eq!(&s[1..17], "1010101111001101");
        assert_eq!(&s[17..33], "0001001000110100");
        // 0xABCD has 10 ones: even already, leading 0. 0x1234 has 5: odd, trailing 0.
        assert_eq!(&s[..1], "0");
        assert_eq!(&s[33..], "0");
        assert_eq!(card.data(), 0xABCD_1234);
    }

    #[test]
    fn decode_of_encode_is_the_card_for_many_cards() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        for format in FORMATS {
            let edges = [
                Card::new(format, 0, 0).unwrap(),
                Card::new(format, format.max_facility(), format.max_number()).unwrap(),
            ];
            for card in edges.into_iter().chain((0..5000).map(|_| g.card(format))) {
                assert_eq!(Card::decode(card.encode()), Ok(card));
            }
        }
    }

    #[test]
    fn every_single_flipped_bit_is_rejected() {
        let mut g = Gen(42);
        for format in FORMATS {
            for _ in 0..300 {
                let bits = g.card(format).encode();
                for i in 0..bits.len() {
                    let err = Card::decode(bits.flipped(i)).unwrap_err();
                    assert!(matches!(err, FrameError::Parity(_)), "bit {i}: {err:?}");
                }
            }
        }
    }

    #[test]
    fn other_lengths_are_rejected() {
        let card = Card::new(Format::W26, 1, 2).unwrap().encode();
        let short: Bits = card.iter().take(25).collect();
        assert_eq!(Card::decode(short), Err(FrameError::Length(25)));
        assert_eq!(Card::decode(Bits::default()), Err(FrameError::Length(0)));
    }

    #[test]
    fn out_of_range_cards_and_bad_words_are_refused() {
        assert!(matches!(
            Card::new(Format::W26, 256, 1),
            Err(CardError::Facility { max: 255, .. })
        ));
        assert!(matches!(
            Card::new(Format::W34, 1, 65536),
            Err(CardError::Number { max: 65535, .. })
        ));
        assert_eq!(
            Card::parse(Format::W26, "12345").map(|c| c.facility()),
            Ok(0)
        );
        assert_eq!(
            Card::parse(Format::W26, "18:12345"),
            Card::new(Format::W26, 18, 12345)
        );
        for bad in ["", "12a", "-1", "1:2:3", ":5", "0x10"] {
            assert!(
                matches!(Card::parse(Format::W26, bad), Err(CardError::Syntax(_))),
                "{bad}"
            );
        }
        assert!(Card::parse(Format::W34, "99999999999999999999").is_err());
    }

    #[test]
    fn debug_does_not_print_the_card_number() {
        let card = Card::new(Format::W26, 18, 12345).unwrap();
        let shown = format!("{card:?}");
        assert!(!shown.contains("12345") && !shown.contains("18"), "{shown}");
    }

    #[test]
    fn timing_keeps_to_the_sia_ranges() {
        let us = Duration::from_micros;
        assert!(Timing::new(us(20), us(200)).is_ok());
        assert!(Timing::new(us(100), Duration::from_millis(20)).is_ok());
        assert_eq!(
            Timing::new(us(19), us(2000)),
            Err(TimingError::Pulse(us(19)))
        );
        assert_eq!(
            Timing::new(us(101), us(2000)),
            Err(TimingError::Pulse(us(101)))
        );
        assert_eq!(
            Timing::new(us(50), us(199)),
            Err(TimingError::Interval(us(199)))
        );
        assert_eq!(Timing::DEFAULT.pulse(), us(50));
        assert_eq!(Timing::DEFAULT.interval(), Duration::from_millis(2));
    }

    #[test]
    fn the_schedule_sends_each_bit_on_its_line_without_overlap() {
        let bits = Card::new(Format::W26, 18, 12345).unwrap().encode();
        let t = Timing::DEFAULT;
        let pulses: Vec<Pulse> = schedule(bits, t).collect();
        assert_eq!(pulses.len(), 26);
        for (i, (p, b)) in pulses.iter().zip(bits.iter()).enumerate() {
            assert_eq!(p.line, if b { Line::D1 } else { Line::D0 });
            assert_eq!(p.low, t.interval() * i as u32);
            assert_eq!(p.high - p.low, t.pulse());
        }
        for w in pulses.windows(2) {
            assert!(w[0].high < w[1].low);
        }
        assert_eq!(duration(bits, t), pulses[25].high);
        // The slowest timing still leaves every pulse alone.
        let slow = Timing::new(Timing::PULSE_MAX, Timing::INTERVAL_MIN).unwrap();
        let p: Vec<Pulse> = schedule(bits, slow).collect();
        assert!(p.windows(2).all(|w| w[0].high < w[1].low));
        assert!(t.gap_after() >= DecoderParams::default().end_gap * 2);
    }

    #[test]
    fn the_decoder_reads_what_the_schedule_sends() {
        let mut g = Gen(7);
        let t0 = Instant::now();
        for format in FORMATS {
            for timing in [
                Timing::DEFAULT,
                Timing::new(Timing::PULSE_MIN, Timing::INTERVAL_MIN).unwrap(),
                Timing::new(Timing::PULSE_MAX, Timing::INTERVAL_MAX).unwrap(),
            ] {
                let card = g.card(format);
                let mut d = Decoder::new(DecoderParams::default());
                let reads = read_all(&mut d, &edges_of(card.encode(), timing, t0));
                assert_eq!(reads.len(), 1);
                assert_eq!(reads[0].card, Ok(card));
                assert_eq!(reads[0].bits, card.encode());
            }
        }
    }

    #[test]
    fn two_frames_are_told_apart_by_the_gap() {
        let t = Timing::DEFAULT;
        let t0 = Instant::now();
        let a = Card::new(Format::W26, 1, 100).unwrap();
        let b = Card::new(Format::W34, 2, 200).unwrap();
        let second_start = t0 + duration(a.encode(), t) + t.gap_after();
        let mut edges = edges_of(a.encode(), t, t0);
        edges.extend(edges_of(b.encode(), t, second_start));
        let mut d = Decoder::new(DecoderParams::default());
        let reads = read_all(&mut d, &edges);
        let cards: Vec<_> = reads.iter().map(|r| r.card).collect();
        assert_eq!(cards, vec![Ok(a), Ok(b)]);
    }

    #[test]
    fn short_glitches_are_ignored_and_counted() {
        let t = Timing::DEFAULT;
        let t0 = Instant::now();
        let card = Card::new(Format::W26, 18, 12345).unwrap();
        let mut edges = edges_of(card.encode(), t, t0);
        // A 2 µs spike on D1 between the third and fourth pulses.
        let spike = t0 + t.interval() * 3 - Duration::from_micros(500);
        let at = edges.iter().position(|e| e.2 > spike).unwrap();
        edges.insert(at, (Line::D1, false, spike + Duration::from_micros(2)));
        edges.insert(at, (Line::D1, true, spike));
        let mut d = Decoder::new(DecoderParams::default());
        let reads = read_all(&mut d, &edges);
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].card, Ok(card));
        assert_eq!(reads[0].glitches, 1);
    }

    #[test]
    fn a_truncated_frame_is_a_bad_read_and_the_next_one_is_good() {
        let t = Timing::DEFAULT;
        let t0 = Instant::now();
        let card = Card::new(Format::W26, 18, 12345).unwrap();
        let bits = card.encode();
        let mut edges = edges_of(bits, t, t0);
        edges.truncate(2 * 20); // the reader was unplugged after 20 bits
        let next = t0 + Duration::from_secs(1);
        edges.extend(edges_of(bits, t, next));
        let mut d = Decoder::new(DecoderParams::default());
        let reads = read_all(&mut d, &edges);
        assert_eq!(reads.len(), 2);
        assert_eq!(reads[0].card, Err(FrameError::Length(20)));
        assert_eq!(reads[1].card, Ok(card));
    }

    #[test]
    fn both_lines_low_or_a_stuck_line_spoil_the_frame() {
        let t = Timing::DEFAULT;
        let t0 = Instant::now();
        let bits = Card::new(Format::W26, 3, 4).unwrap().encode();
        let mut edges = edges_of(bits, t, t0);
        // D0 and D1 low together during bit 5.
        let p5 = schedule(bits, t).nth(5).unwrap();
        let other = if p5.line == Line::D0 {
            Line::D1
        } else {
            Line::D0
        };
        let i = edges.iter().position(|e| e.2 == t0 + p5.low).unwrap();
        edges.insert(
            i + 1,
            (other, true, t0 + p5.low + Duration::from_micros(10)),
        );
        edges.insert(
            i + 3,
            (other, false, t0 + p5.high + Duration::from_micros(1)),
        );
        let mut d = Decoder::new(DecoderParams::default());
        let reads = read_all(&mut d, &edges);
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].card, Err(FrameError::BothLow));

        let stuck = vec![
            (Line::D0, true, t0),
            (Line::D0, false, t0 + Duration::from_millis(30)),
        ];
        let reads = read_all(&mut Decoder::new(DecoderParams::default()), &stuck);
        assert_eq!(
            reads[0].card,
            Err(FrameError::Stuck(Duration::from_millis(30)))
        );
    }

    #[test]
    fn a_line_still_low_at_the_deadline_holds_the_frame_open() {
        let t0 = Instant::now();
        let mut d = Decoder::new(DecoderParams::default());
        assert_eq!(d.edge(Line::D0, true, t0), None);
        let late = t0 + Duration::from_secs(1);
        assert_eq!(d.poll(late), None);
        let r = d.edge(Line::D0, false, late);
        assert_eq!(r, None);
        let read = d.poll(late + DecoderParams::default().end_gap).unwrap();
        assert!(matches!(read.card, Err(FrameError::Stuck(_))));
    }

    #[test]
    fn a_rise_without_a_fall_and_lone_glitches_make_no_frame() {
        let t0 = Instant::now();
        let mut d = Decoder::new(DecoderParams::default());
        assert_eq!(d.edge(Line::D1, false, t0), None);
        d.edge(Line::D0, true, t0 + Duration::from_millis(1));
        d.edge(
            Line::D0,
            false,
            t0 + Duration::from_millis(1) + Duration::from_micros(1),
        );
        assert_eq!(d.poll(t0 + Duration::from_secs(1)), None);
        assert_eq!(d.deadline(), None);
    }
}

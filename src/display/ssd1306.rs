//! The SSD1306 OLED panel on I2C (`[display] kind = "ssd1306"`): 128x64 or 128x32,
//! any rotation, drawn by the shared [`screens::draw`].
//!
//! The adapter is generic over the I2C bus ([`Oled<I>`]) so tests drive it with a fake
//! bus; [`Oled::open`] and [`Oled::open_bus`] use rppal's `/dev/i2c-N`.
//!
//! Power-on turns the panel dark, clears the controller's whole display memory (all 8
//! pages, also on a 128x32 panel), initialises it (which turns it on, blank) and sets
//! the contrast, so no garbage ever shows.
//!
//! A bus error never panics and never blocks: `show` returns [`DisplayError::Bus`],
//! and the panel is powered on again (re-initialised, cleared, the wanted screen
//! redrawn) by the first `show` at least [`OledOptions::reinit_interval`] after the
//! failure. Shows before that do no I/O and return the error again (the bus is not
//! hammered). Only `show` calls retry: a caller that shows nothing new for a while
//! must show the same screen again (or call [`Oled::power_on`]) to recover sooner.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ::ssd1306::command::AddrMode;
use ::ssd1306::mode::BufferedGraphicsMode;
use ::ssd1306::prelude::{
    Brightness, DisplayConfig, DisplayRotation, DisplaySize, DisplaySize128x32, DisplaySize128x64,
    I2CInterface,
};
use ::ssd1306::{I2CDisplayInterface, Ssd1306};
use embedded_graphics::geometry::Size;
use embedded_hal::i2c::{ErrorType, I2c, Operation};
use tracing::{debug, info};

use super::{screens, Display, DisplayError, Screen};

/// The two addresses an SSD1306 answers at (chosen by a jumper or resistor).
pub const ADDRESSES: [u8; 2] = [0x3C, 0x3D];

/// Contrast at start-up when the configuration says nothing (bright, for arm's length).
pub const DEFAULT_CONTRAST: u8 = 0xCF;

/// Time between re-initialisation attempts after a bus error.
pub const DEFAULT_REINIT_INTERVAL: Duration = Duration::from_secs(30);

/// Longest a single I2C transfer may take before the kernel gives up (milliseconds).
const BUS_TIMEOUT_MS: u32 = 100;

/// Columns of the controller's display memory (GDDRAM).
const GDDRAM_COLUMNS: u8 = 128;

/// Rows of the controller's display memory (8 pages of 8 rows), whatever the panel.
const GDDRAM_ROWS: u8 = 64;

/// The whole display memory, all off.
const BLANK_GDDRAM: [u8; 1024] = [0; 1024];

/// Linux errno values an I2C adapter returns when no device acknowledges its address
/// (ENXIO, EREMOTEIO, EIO) or when the bus hangs (ETIMEDOUT).
const NO_ANSWER_ERRNOS: [i32; 4] = [6, 121, 5, 110];

/// The panel's size in pixels as it lies on its side (before rotation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PanelSize {
    /// 128x64, the common 0.96" panel.
    #[default]
    W128xH64,
    /// 128x32, the 0.91" strip.
    W128xH32,
}

words!(PanelSize { W128xH64 => "128x64", W128xH32 => "128x32" });

impl PanelSize {
    /// The size from its width and height in pixels, if it is a supported panel.
    pub fn from_dims(width: u32, height: u32) -> Option<Self> {
        match (width, height) {
            (128, 64) => Some(PanelSize::W128xH64),
            (128, 32) => Some(PanelSize::W128xH32),
            _ => None,
        }
    }

    /// Width in pixels (before rotation).
    pub fn width(self) -> u32 {
        128
    }

    /// Height in pixels (before rotation).
    pub fn height(self) -> u32 {
        match self {
            PanelSize::W128xH64 => 64,
            PanelSize::W128xH32 => 32,
        }
    }
}

/// How the picture is turned on the glass, clockwise (the driver's rotation). 90 and
/// 270 make a portrait panel (64x128 or 32x128), drawn with the same screens at that
/// size. For the common module whose picture is upright at 0 with its pins at the
/// top: 90 is a panel mounted with its pins on the left, 180 pins at the bottom, 270
/// pins on the right. (The one rotation type, shared with the camera.)
pub use crate::rotation::Rotation;

/// The driver's rotation for ours.
fn driver_rotation(r: Rotation) -> DisplayRotation {
    match r {
        Rotation::R0 => DisplayRotation::Rotate0,
        Rotation::R90 => DisplayRotation::Rotate90,
        Rotation::R180 => DisplayRotation::Rotate180,
        Rotation::R270 => DisplayRotation::Rotate270,
    }
}

/// Everything the SSD1306 adapter needs to know (the `[display]` keys for this kind).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OledOptions {
    /// I2C bus number: `/dev/i2c-<bus>` (1 on the Pi's header pins 3 and 5).
    pub bus: u8,
    /// 7-bit I2C address: 0x3C or 0x3D.
    pub address: u8,
    /// Panel size before rotation.
    pub size: PanelSize,
    /// How the panel is mounted.
    pub rotation: Rotation,
    /// Contrast, 0 (dimmest) ..= 255 (brightest).
    pub contrast: u8,
    /// After a bus error, the panel is re-initialised by the first show this long after it.
    pub reinit_interval: Duration,
}

impl Default for OledOptions {
    fn default() -> Self {
        Self {
            bus: 1,
            address: ADDRESSES[0],
            size: PanelSize::default(),
            rotation: Rotation::default(),
            contrast: DEFAULT_CONTRAST,
            reinit_interval: DEFAULT_REINIT_INTERVAL,
        }
    }
}

impl OledOptions {
    /// The size the screens are drawn at: the panel size, swapped when in portrait.
    pub fn screen_size(&self) -> Size {
        let (w, h) = (self.size.width(), self.size.height());
        if self.rotation.swaps_sides() {
            Size::new(h, w)
        } else {
            Size::new(w, h)
        }
    }

    /// The bus's device file, `/dev/i2c-<bus>`.
    pub fn device_path(&self) -> String {
        format!("/dev/i2c-{}", self.bus)
    }

    /// Refuses an address an SSD1306 cannot have.
    pub fn validate(&self) -> Result<(), OledError> {
        if ADDRESSES.contains(&self.address) {
            Ok(())
        } else {
            Err(OledError::BadAddress(self.address))
        }
    }
}

/// Why the panel could not be opened, in words for the technician.
#[derive(Debug, thiserror::Error)]
pub enum OledError {
    /// The configured address is not 0x3C or 0x3D.
    #[error("I2C address 0x{0:02X} is not an SSD1306 address: use 0x3C or 0x3D")]
    BadAddress(u8),
    /// `/dev/i2c-N` does not exist.
    #[error(
        "I2C bus {bus} is not available ({path} does not exist): enable I2C with \
         raspi-config (Interface Options, I2C), then reboot"
    )]
    BusMissing { bus: u8, path: String },
    /// `/dev/i2c-N` exists but may not be opened.
    #[error(
        "no permission to open {path}: add the user livegate runs as to the i2c group \
         (or run it as root)"
    )]
    PermissionDenied { path: String },
    /// Nothing acknowledged the address.
    #[error(
        "nothing answers at address 0x{address:02X} on I2C bus {bus} ({detail}): check \
         wiring and the address, 0x3C or 0x3D; `i2cdetect -y {bus}` lists what answers"
    )]
    NoAnswer {
        bus: u8,
        address: u8,
        detail: String,
    },
    /// Any other bus failure.
    #[error("I2C bus {bus}: {detail}")]
    Bus { bus: u8, detail: String },
}

/// What opening `/dev/i2c-<bus>` failing with `err` means.
pub fn classify_open_error(bus: u8, err: &io::Error) -> OledError {
    let path = format!("/dev/i2c-{bus}");
    match err.kind() {
        io::ErrorKind::NotFound => OledError::BusMissing { bus, path },
        io::ErrorKind::PermissionDenied => OledError::PermissionDenied { path },
        _ => OledError::Bus {
            bus,
            detail: format!("cannot open {path}: {err}"),
        },
    }
}

/// What a write to `address` failing with `err` means.
pub fn classify_write_error(bus: u8, address: u8, err: &io::Error) -> OledError {
    match err.raw_os_error() {
        Some(code) if NO_ANSWER_ERRNOS.contains(&code) => OledError::NoAnswer {
            bus,
            address,
            detail: err.to_string(),
        },
        _ => OledError::Bus {
            bus,
            detail: format!("write to 0x{address:02X} failed: {err}"),
        },
    }
}

/// The last bus error's text, shared between the adapter and its bus wrapper.
type LastError = Arc<Mutex<Option<String>>>;

/// Passes every transfer to the bus and keeps the last error's text: the display
/// driver turns every bus error into a bare "BusWriteError".
struct Tap<I> {
    inner: I,
    last_error: LastError,
}

impl<I: I2c> Tap<I> {
    fn record<T>(&self, r: Result<T, I::Error>) -> Result<T, I::Error> {
        if let Err(e) = &r {
            let mut last = self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *last = Some(format!("{e:?}"));
        }
        r
    }
}

impl<I: I2c> ErrorType for Tap<I> {
    type Error = I::Error;
}

impl<I: I2c> I2c for Tap<I> {
    fn read(&mut self, address: u8, read: &mut [u8]) -> Result<(), Self::Error> {
        let r = self.inner.read(address, read);
        self.record(r)
    }

    fn write(&mut self, address: u8, write: &[u8]) -> Result<(), Self::Error> {
        let r = self.inner.write(address, write);
        self.record(r)
    }

    fn write_read(
        &mut self,
        address: u8,
        write: &[u8],
        read: &mut [u8],
    ) -> Result<(), Self::Error> {
        let r = self.inner.write_read(address, write, read);
        self.record(r)
    }

    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        let r = self.inner.transaction(address, operations);
        self.record(r)
    }
}

/// The driver in buffered graphics mode for one panel size.
type Driver<I, S> = Ssd1306<I2CInterface<Tap<I>>, S, BufferedGraphicsMode<S>>;

/// The driver for whichever size the panel is.
enum Panel<I> {
    Tall(Box<Driver<I, DisplaySize128x64>>),
    Short(Box<Driver<I, DisplaySize128x32>>),
}

/// A failed driver call, described by the driver (the bus's own words are in the tap).
struct Fault(String);

fn fault<E: std::fmt::Debug>(e: E) -> Fault {
    Fault(format!("{e:?}"))
}

/// The driver's brightness for a contrast: the shortest pre-charge for "off", the
/// driver's usual one otherwise.
fn brightness(contrast: u8) -> Brightness {
    let precharge = if contrast == 0 { 1 } else { 2 };
    Brightness::custom(precharge, contrast)
}

/// Dark first, then all 8 pages of display memory cleared (so no garbage shows when
/// it turns on), then the driver's init (display off … display on; its buffer cleared
/// and marked to be sent whole), then the contrast.
fn power_on_driver<I: I2c, S: DisplaySize>(
    d: &mut Driver<I, S>,
    contrast: u8,
) -> Result<(), Fault> {
    d.set_display_on(false).map_err(fault)?;
    d.set_addr_mode(AddrMode::Horizontal).map_err(fault)?;
    d.set_draw_area((0, 0), (GDDRAM_COLUMNS, GDDRAM_ROWS))
        .map_err(fault)?;
    d.draw(&BLANK_GDDRAM).map_err(fault)?;
    d.init().map_err(fault)?;
    d.set_brightness(brightness(contrast)).map_err(fault)
}

/// Draws `screen` into the driver's buffer and sends it.
fn show_driver<I: I2c, S: DisplaySize>(d: &mut Driver<I, S>, screen: &Screen) -> Result<(), Fault> {
    screens::draw(screen, d).map_err(fault)?;
    d.flush().map_err(fault)
}

impl<I: I2c> Panel<I> {
    fn power_on(&mut self, contrast: u8) -> Result<(), Fault> {
        match self {
            Panel::Tall(d) => power_on_driver(d, contrast),
            Panel::Short(d) => power_on_driver(d, contrast),
        }
    }

    fn show(&mut self, screen: &Screen) -> Result<(), Fault> {
        match self {
            Panel::Tall(d) => show_driver(d, screen),
            Panel::Short(d) => show_driver(d, screen),
        }
    }
}

/// Whether the panel can be drawn on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Health {
    /// Not powered on yet: the first show does it.
    Off,
    /// Initialised; the last transfer worked.
    Ready,
    /// A transfer failed at this time; power on again after the re-init interval.
    Failed { at: Instant },
}

/// An SSD1306 panel on the I2C bus `I`.
pub struct Oled<I> {
    panel: Panel<I>,
    opts: OledOptions,
    last_error: LastError,
    health: Health,
    /// The screen asked for last: redrawn after a re-init.
    wanted: Option<Screen>,
    /// The screen on the panel now, if known.
    shown: Option<Screen>,
}

impl<I: I2c> Oled<I> {
    /// The adapter on an open bus. No I/O: the first show powers the panel on.
    pub fn new(i2c: I, opts: &OledOptions) -> Self {
        let last_error = LastError::default();
        let tap = Tap {
            inner: i2c,
            last_error: Arc::clone(&last_error),
        };
        let iface = I2CDisplayInterface::new_custom_address(tap, opts.address);
        let rotation = driver_rotation(opts.rotation);
        let panel = match opts.size {
            PanelSize::W128xH64 => Panel::Tall(Box::new(
                Ssd1306::new(iface, DisplaySize128x64, rotation).into_buffered_graphics_mode(),
            )),
            PanelSize::W128xH32 => Panel::Short(Box::new(
                Ssd1306::new(iface, DisplaySize128x32, rotation).into_buffered_graphics_mode(),
            )),
        };
        Self {
            panel,
            opts: opts.clone(),
            last_error,
            health: Health::Off,
            wanted: None,
            shown: None,
        }
    }

    /// The options the adapter was made with.
    pub fn options(&self) -> &OledOptions {
        &self.opts
    }

    /// The size screens are drawn at (portrait when rotated 90 or 270 degrees).
    pub fn screen_size(&self) -> Size {
        self.opts.screen_size()
    }

    /// Whether the panel is initialised and its last transfer worked.
    pub fn is_ready(&self) -> bool {
        self.health == Health::Ready
    }

    /// Initialises the panel, clears all its memory, sets the contrast, turns it on
    /// and redraws the last screen asked for, if any. `now` is when this happens (a
    /// failure starts the re-init interval).
    pub fn power_on(&mut self, now: Instant) -> Result<(), DisplayError> {
        self.shown = None;
        let was_failed = matches!(self.health, Health::Failed { .. });
        if let Err(f) = self.panel.power_on(self.opts.contrast) {
            return Err(self.fail(now, "initialise", f));
        }
        self.health = Health::Ready;
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        if was_failed {
            info!(
                bus = self.opts.bus,
                address = self.opts.address,
                "display re-initialised"
            );
        } else {
            debug!(
                bus = self.opts.bus,
                address = self.opts.address,
                "display powered on"
            );
        }
        match self.wanted.clone() {
            Some(screen) => self.draw(&screen, now),
            None => Ok(()),
        }
    }

    /// Shows `screen`, `now` being the time of the call (see the module docs for
    /// errors and re-initialisation). Showing the screen already shown does no I/O.
    pub fn show_at(&mut self, screen: &Screen, now: Instant) -> Result<(), DisplayError> {
        if self.wanted.as_ref() != Some(screen) {
            self.wanted = Some(screen.clone());
        }
        match self.health {
            Health::Ready => {}
            Health::Failed { at } => {
                let since = now.saturating_duration_since(at);
                if since < self.opts.reinit_interval {
                    let wait = self.opts.reinit_interval - since;
                    return Err(DisplayError::Bus(format!(
                        "panel at 0x{:02X} not answering ({}); next try in {} s",
                        self.opts.address,
                        self.last_error_text(),
                        wait.as_secs_f64().ceil()
                    )));
                }
                // power_on redraws the wanted screen.
                return self.power_on(now);
            }
            Health::Off => return self.power_on(now),
        }
        if self.shown.as_ref() == Some(screen) {
            return Ok(());
        }
        self.draw(screen, now)
    }

    fn draw(&mut self, screen: &Screen, now: Instant) -> Result<(), DisplayError> {
        match self.panel.show(screen) {
            Ok(()) => {
                self.shown = Some(screen.clone());
                Ok(())
            }
            Err(f) => Err(self.fail(now, "draw on", f)),
        }
    }

    /// Marks the panel as failed at `now` and describes the failure.
    fn fail(&mut self, now: Instant, doing: &str, f: Fault) -> DisplayError {
        self.health = Health::Failed { at: now };
        self.shown = None;
        let detail = self.last_error_text_or(&f.0);
        debug!(
            bus = self.opts.bus,
            address = self.opts.address,
            error = %detail,
            "display transfer failed"
        );
        DisplayError::Bus(format!(
            "cannot {doing} the panel at 0x{:02X} on I2C bus {}: {detail}; retrying in {} s",
            self.opts.address,
            self.opts.bus,
            self.opts.reinit_interval.as_secs()
        ))
    }

    fn last_error_text(&self) -> String {
        self.last_error_text_or("unknown error")
    }

    fn last_error_text_or(&self, fallback: &str) -> String {
        self.last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| fallback.to_owned())
    }
}

impl<I: I2c + Send + 'static> Display for Oled<I> {
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        self.show_at(screen, Instant::now())
    }
}

/// What a failed rppal call means.
fn rppal_error(opts: &OledOptions, e: &rppal::i2c::Error, opening: bool) -> OledError {
    match e {
        rppal::i2c::Error::Io(io) if opening => classify_open_error(opts.bus, io),
        rppal::i2c::Error::Io(io) => classify_write_error(opts.bus, opts.address, io),
        rppal::i2c::Error::InvalidSlaveAddress(a) => {
            OledError::BadAddress(u8::try_from(*a).unwrap_or(u8::MAX))
        }
        other => OledError::Bus {
            bus: opts.bus,
            detail: other.to_string(),
        },
    }
}

/// Opens `/dev/i2c-<bus>` and selects the panel's address.
fn open_i2c(opts: &OledOptions) -> Result<rppal::i2c::I2c, OledError> {
    opts.validate()?;
    let mut i2c = rppal::i2c::I2c::with_bus(opts.bus).map_err(|e| rppal_error(opts, &e, true))?;
    i2c.set_slave_address(u16::from(opts.address))
        .map_err(|e| rppal_error(opts, &e, false))?;
    if let Err(e) = i2c.set_timeout(BUS_TIMEOUT_MS) {
        debug!(bus = opts.bus, error = %e, "cannot set the I2C timeout; using the default");
    }
    Ok(i2c)
}

impl Oled<rppal::i2c::I2c> {
    /// Opens the bus only: the panel is powered on by the first show, and again after
    /// bus errors. For the daemon: a missing or silent panel never stops the gate.
    pub fn open_bus(opts: &OledOptions) -> Result<Self, OledError> {
        let i2c = open_i2c(opts)?;
        Ok(Self::new(i2c, opts))
    }

    /// Opens the bus, checks that something answers at the address and powers the
    /// panel on (init, memory cleared, contrast set). For commissioning and start-up
    /// checks.
    pub fn open(opts: &OledOptions) -> Result<Self, OledError> {
        let mut i2c = open_i2c(opts)?;
        // A no-op command (control byte 0x00, NOP 0xE3): tells "nothing there" apart.
        i2c.write(&[0x00, 0xE3])
            .map_err(|e| rppal_error(opts, &e, false))?;
        let mut oled = Self::new(i2c, opts);
        oled.power_on(Instant::now()).map_err(|e| OledError::Bus {
            bus: opts.bus,
            detail: e.to_string(),
        })?;
        Ok(oled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_to_a_128x64_panel_at_0x3c_on_bus_1() {
        let o = OledOptions::default();
        assert_eq!((o.bus, o.address), (1, 0x3C));
        assert_eq!(o.size, PanelSize::W128xH64);
        assert_eq!(o.rotation, Rotation::R0);
        assert_eq!(o.contrast, DEFAULT_CONTRAST);
        assert_eq!(o.reinit_interval, Duration::from_secs(30));
        assert_eq!(o.device_path(), "/dev/i2c-1");
        assert!(o.validate().is_ok());
    }

    #[test]
    fn only_0x3c_and_0x3d_are_accepted() {
        for (address, ok) in [(0x3C, true), (0x3D, true), (0x3B, false), (0x78, false)] {
            let o = OledOptions {
                address,
                ..OledOptions::default()
            };
            assert_eq!(o.validate().is_ok(), ok, "0x{address:02X}");
        }
        let err = OledOptions {
            address: 0x78,
            ..OledOptions::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "I2C address 0x78 is not an SSD1306 address: use 0x3C or 0x3D"
        );
    }

    #[test]
    fn portrait_rotations_swap_the_drawn_size() {
        let mut o = OledOptions::default();
        let cases = [
            (PanelSize::W128xH64, Rotation::R0, (128, 64)),
            (PanelSize::W128xH64, Rotation::R90, (64, 128)),
            (PanelSize::W128xH64, Rotation::R180, (128, 64)),
            (PanelSize::W128xH64, Rotation::R270, (64, 128)),
            (PanelSize::W128xH32, Rotation::R0, (128, 32)),
            (PanelSize::W128xH32, Rotation::R90, (32, 128)),
        ];
        for (size, rotation, (w, h)) in cases {
            o.size = size;
            o.rotation = rotation;
            assert_eq!(o.screen_size(), Size::new(w, h), "{size:?} {rotation:?}");
        }
    }

    #[test]
    fn sizes_and_rotations_from_numbers() {
        assert_eq!(PanelSize::from_dims(128, 64), Some(PanelSize::W128xH64));
        assert_eq!(PanelSize::from_dims(128, 32), Some(PanelSize::W128xH32));
        assert_eq!(PanelSize::from_dims(64, 48), None);
        for deg in [0, 90, 180, 270] {
            let r = Rotation::from_degrees(deg).unwrap();
            assert_eq!(r.degrees(), deg);
        }
        assert_eq!(Rotation::from_degrees(45), None);
    }

    #[test]
    fn open_errors_tell_what_to_do() {
        let missing = io::Error::from(io::ErrorKind::NotFound);
        let e = classify_open_error(1, &missing);
        assert!(matches!(e, OledError::BusMissing { bus: 1, .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("/dev/i2c-1"), "{text}");
        assert!(text.contains("enable I2C with raspi-config"), "{text}");

        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let e = classify_open_error(3, &denied);
        assert!(matches!(e, OledError::PermissionDenied { .. }), "{e:?}");
        assert!(e.to_string().contains("/dev/i2c-3"));
        assert!(e.to_string().contains("i2c group"));

        let other = io::Error::other("odd");
        let e = classify_open_error(1, &other);
        assert!(matches!(e, OledError::Bus { bus: 1, .. }), "{e:?}");
    }

    #[test]
    fn a_nack_means_nothing_answers() {
        for errno in [6, 121, 5, 110] {
            let e = classify_write_error(1, 0x3D, &io::Error::from_raw_os_error(errno));
            assert!(
                matches!(
                    e,
                    OledError::NoAnswer {
                        bus: 1,
                        address: 0x3D,
                        ..
                    }
                ),
                "errno {errno}: {e:?}"
            );
            let text = e.to_string();
            assert!(text.contains("0x3D"), "{text}");
            assert!(
                text.contains("check wiring and the address, 0x3C or 0x3D; `i2cdetect -y 1`"),
                "{text}"
            );
        }
        let e = classify_write_error(1, 0x3C, &io::Error::from_raw_os_error(16));
        assert!(matches!(e, OledError::Bus { .. }), "{e:?}");
    }

    #[test]
    fn a_missing_bus_is_reported_not_panicked() {
        let opts = OledOptions {
            bus: 251,
            ..OledOptions::default()
        };
        if std::path::Path::new(&opts.device_path()).exists() {
            return;
        }
        let e = Oled::open_bus(&opts).err().unwrap();
        assert!(matches!(e, OledError::BusMissing { bus: 251, .. }), "{e:?}");
        let e = Oled::open(&opts).err().unwrap();
        assert!(matches!(e, OledError::BusMissing { bus: 251, .. }), "{e:?}");
        let bad = OledOptions {
            address: 0x50,
            ..opts
        };
        assert!(matches!(
            Oled::open_bus(&bad).err().unwrap(),
            OledError::BadAddress(0x50)
        ));
    }

    #[test]
    fn the_rppal_panel_is_a_display_for_the_daemon() {
        fn boxed<D: Display>(d: D) -> Box<dyn Display> {
            Box::new(d)
        }
        let _: fn(Oled<rppal::i2c::I2c>) -> Box<dyn Display> = boxed;
    }

    #[test]
    fn contrast_maps_to_the_driver_brightness() {
        assert_eq!(brightness(0), Brightness::custom(1, 0));
        assert_eq!(brightness(0x5F), Brightness::NORMAL);
        assert_eq!(brightness(255), Brightness::BRIGHTEST);
    }
}

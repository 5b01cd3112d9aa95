//! The simulated panel: a 1-bit [`Framebuffer`] and a [`SimDisplay`] that draws every
//! [`Screen`] into it with [`screens::draw`](super::screens::draw), then optionally
//! prints it in a terminal and saves PNGs. Tests read what was shown through a
//! [`SimDisplayHandle`].

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::{DrawTarget, OriginDimensions, Pixel, Size};

use super::term::{self, Charset, Console, ConsoleOptions, Rendering};
use super::{screens, Display, DisplayError, Screen};

/// What the simulated panel (`[display] kind = "sim"`) is told.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct SimDisplayOptions {
    /// Print the panel in the terminal.
    pub terminal: bool,
    /// Save a PNG of every new screen into this folder.
    pub png_dir: Option<PathBuf>,
}

/// Width of the SSD1306 panel in pixels.
pub const DEFAULT_WIDTH: u32 = 128;
/// Height of the SSD1306 panel in pixels.
pub const DEFAULT_HEIGHT: u32 = 64;
/// How many shown screens a [`SimDisplayHandle`] keeps.
pub const HISTORY_LEN: usize = 256;

/// A `width` x `height` monochrome framebuffer, one bit per pixel (set = lit).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Framebuffer {
    width: u32,
    height: u32,
    /// Bytes per row.
    stride: usize,
    /// Row-major, bit 7 of a byte is the leftmost pixel; padding bits stay 0.
    bits: Vec<u8>,
}

impl Framebuffer {
    /// An all-dark framebuffer of the given size.
    pub fn new(width: u32, height: u32) -> Self {
        let stride = (width as usize).div_ceil(8);
        Self {
            width,
            height,
            stride,
            bits: vec![0; stride * height as usize],
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    fn index(&self, x: u32, y: u32) -> Option<(usize, u8)> {
        (x < self.width && y < self.height)
            .then(|| (y as usize * self.stride + x as usize / 8, 0x80u8 >> (x % 8)))
    }

    /// Whether the pixel at (x, y) is lit; `false` outside the buffer.
    pub fn get(&self, x: u32, y: u32) -> bool {
        self.index(x, y)
            .is_some_and(|(i, mask)| self.bits[i] & mask != 0)
    }

    /// Lights (`on`) or darkens one pixel; ignored outside the buffer.
    pub fn set(&mut self, x: u32, y: u32, on: bool) {
        if let Some((i, mask)) = self.index(x, y) {
            if on {
                self.bits[i] |= mask;
            } else {
                self.bits[i] &= !mask;
            }
        }
    }

    /// Darkens every pixel.
    pub fn clear(&mut self) {
        self.bits.fill(0);
    }

    /// The number of lit pixels.
    pub fn count_lit(&self) -> usize {
        self.bits.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// The coordinates of the pixels that differ from `other` (all pixels of the
    /// larger area when the sizes differ).
    pub fn diff(&self, other: &Framebuffer) -> Vec<(u32, u32)> {
        let (w, h) = (self.width.max(other.width), self.height.max(other.height));
        let same_size = self.width == other.width && self.height == other.height;
        (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| !same_size || self.get(x, y) != other.get(x, y))
            .collect()
    }

    /// The buffer as a grayscale PNG, white on black like the OLED, each pixel drawn
    /// as a `scale` x `scale` square (a `scale` of 0 counts as 1).
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, DisplayError> {
        let scale = scale.max(1);
        let (w, h) = self
            .width
            .checked_mul(scale)
            .zip(self.height.checked_mul(scale))
            .ok_or_else(|| DisplayError::Other("PNG size overflows".to_owned()))?;
        let img = image::GrayImage::from_fn(w, h, |x, y| {
            image::Luma([if self.get(x / scale, y / scale) {
                255
            } else {
                0
            }])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png)
            .map_err(|e| DisplayError::Other(format!("PNG encoding failed: {e}")))?;
        Ok(out.into_inner())
    }

    /// Reads a PNG written by [`to_png`](Self::to_png) at scale 1: a pixel is lit
    /// when its luminance is above half.
    pub fn from_png(bytes: &[u8]) -> Result<Self, DisplayError> {
        let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
            .map_err(|e| DisplayError::Other(format!("PNG decoding failed: {e}")))?
            .into_luma8();
        let mut fb = Framebuffer::new(img.width(), img.height());
        for (x, y, p) in img.enumerate_pixels() {
            fb.set(x, y, p.0[0] > 127);
        }
        Ok(fb)
    }

    /// The buffer as text: two pixel rows per line in Unicode half blocks inside a
    /// thin frame (a 128x64 panel is 130 columns x 34 lines); every line ends in `\n`.
    /// [`term`](super::term) has the other renderings and fits them to a terminal.
    pub fn to_terminal(&self) -> String {
        let lines = term::picture(self, Rendering::HalfBlock, Charset::Unicode);
        let mut s = String::new();
        for l in lines {
            s.push_str(&l);
            s.push('\n');
        }
        s
    }

    /// The number of text lines [`to_terminal`](Self::to_terminal) produces.
    pub fn terminal_lines(&self) -> usize {
        self.height.div_ceil(2) as usize + 2
    }
}

impl Default for Framebuffer {
    /// The 128x64 panel.
    fn default() -> Self {
        Self::new(DEFAULT_WIDTH, DEFAULT_HEIGHT)
    }
}

impl std::fmt::Debug for Framebuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Framebuffer")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("lit", &self.count_lit())
            .finish()
    }
}

impl OriginDimensions for Framebuffer {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Framebuffer {
    type Color = BinaryColor;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        for Pixel(p, color) in pixels {
            if let (Ok(x), Ok(y)) = (u32::try_from(p.x), u32::try_from(p.y)) {
                self.set(x, y, color.is_on());
            }
        }
        Ok(())
    }

    fn clear(&mut self, color: Self::Color) -> Result<(), Self::Error> {
        self.bits.fill(0);
        if color.is_on() {
            for y in 0..self.height {
                for x in 0..self.width {
                    self.set(x, y, true);
                }
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Shared {
    frames: VecDeque<(Screen, Framebuffer)>,
}

/// A simulated panel: keeps the drawn framebuffer, and optionally prints it or
/// saves it as PNG.
pub struct SimDisplay {
    fb: Framebuffer,
    last: Option<Screen>,
    terminal: Option<Arc<Console>>,
    png_dir: Option<PathBuf>,
    /// The last screen saved as PNG, with its countdown fields zeroed.
    last_png: Option<Screen>,
    png_count: u32,
    shared: Arc<Mutex<Shared>>,
}

/// A view of what a [`SimDisplay`] has shown; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct SimDisplayHandle {
    shared: Arc<Mutex<Shared>>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SimDisplayHandle {
    /// The last [`HISTORY_LEN`] screens shown, oldest first, with their rendering.
    pub fn frames(&self) -> Vec<(Screen, Framebuffer)> {
        lock(&self.shared).frames.iter().cloned().collect()
    }

    /// The last [`HISTORY_LEN`] screens shown, oldest first.
    pub fn screens(&self) -> Vec<Screen> {
        lock(&self.shared)
            .frames
            .iter()
            .map(|(s, _)| s.clone())
            .collect()
    }

    /// The screen on the panel now, with its rendering.
    pub fn latest(&self) -> Option<(Screen, Framebuffer)> {
        lock(&self.shared).frames.back().cloned()
    }
}

/// The file name part for a screen: `idle`, `get_ready`, `action`, …
pub fn kind(screen: &Screen) -> &'static str {
    match screen {
        Screen::Idle => "idle",
        Screen::PanelText { .. } => "panel_text",
        Screen::GetReady => "get_ready",
        Screen::Action { .. } => "action",
        Screen::Verifying => "verifying",
        Screen::Pass => "pass",
        Screen::Fail { .. } => "fail",
        Screen::LockedOut { .. } => "locked_out",
        Screen::Guide { .. } => "guide",
        Screen::ConfigError => "config_error",
    }
}

/// The screen without its ticking countdown, so a countdown is one PNG, not one a second.
fn without_countdown(screen: &Screen) -> Screen {
    match screen {
        Screen::Action {
            action,
            step,
            total,
            prompt,
            ..
        } => Screen::Action {
            action: action.clone(),
            step: *step,
            total: *total,
            secs_left: 0,
            percent_left: 0,
            prompt: *prompt,
        },
        Screen::LockedOut { .. } => Screen::LockedOut { secs_left: 0 },
        other => other.clone(),
    }
}

impl SimDisplay {
    /// A silent simulated panel of `width` x `height` pixels.
    pub fn new(width: u32, height: u32) -> Self {
        Self {
            fb: Framebuffer::new(width, height),
            last: None,
            terminal: None,
            png_dir: None,
            last_png: None,
            png_count: 0,
            shared: Arc::default(),
        }
    }

    /// A 128x64 panel set up from the configuration: the terminal view goes to
    /// stdout (live when stdout is a terminal).
    pub fn from_config(cfg: &SimDisplayOptions) -> Self {
        let mut d = Self::new(DEFAULT_WIDTH, DEFAULT_HEIGHT);
        if cfg.terminal {
            d = d.with_stdout();
        }
        if let Some(dir) = &cfg.png_dir {
            d = d.with_png_dir(dir.clone());
        }
        d
    }

    /// Prints the panel to `out` after every change; when `live`, redraws it in place
    /// with ANSI cursor-up instead of printing one panel after another (Unicode, no
    /// size limit: [`with_console`](Self::with_console) for more).
    pub fn with_terminal(self, out: Box<dyn Write + Send>, live: bool) -> Self {
        self.with_console(Console::with_options(
            out,
            ConsoleOptions {
                live,
                charset: Charset::Unicode,
                color: false,
                event_lines: 0,
                size: Box::new(|| None),
            },
        ))
    }

    /// Prints the panel on `console` after every change.
    pub fn with_console(mut self, console: Arc<Console>) -> Self {
        self.terminal = Some(console);
        self
    }

    /// Prints the panel to stdout, fitted to the terminal there (live when stdout is
    /// a terminal; see [`Console::for_fd`]).
    pub fn with_stdout(self) -> Self {
        self.with_console(Console::for_fd(
            Box::new(std::io::stdout()),
            libc::STDOUT_FILENO,
            0,
        ))
    }

    /// Saves every new screen as `NNNN-<kind>.png` (4x scale) in `dir`, created when
    /// missing. A ticking countdown alone does not make a new screen.
    pub fn with_png_dir(mut self, dir: PathBuf) -> Self {
        self.png_dir = Some(dir);
        self
    }

    /// A handle to what this panel has shown.
    pub fn handle(&self) -> SimDisplayHandle {
        SimDisplayHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The framebuffer as drawn now.
    pub fn framebuffer(&self) -> &Framebuffer {
        &self.fb
    }

    fn print(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        let Some(console) = self.terminal.as_ref() else {
            return Ok(());
        };
        console
            .panel(screen, &self.fb, true)
            .map_err(|e| DisplayError::Other(format!("terminal write failed: {e}")))
    }

    fn save_png(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        let Some(dir) = self.png_dir.as_ref() else {
            return Ok(());
        };
        let key = without_countdown(screen);
        if self.last_png.as_ref() == Some(&key) {
            return Ok(());
        }
        self.last_png = Some(key);
        self.png_count = self.png_count.wrapping_add(1);
        let path = dir.join(format!("{:04}-{}.png", self.png_count, kind(screen)));
        let bytes = self.fb.to_png(4)?;
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&path, bytes))
            .map_err(|e| DisplayError::Other(format!("cannot write {}: {e}", path.display())))
    }
}

impl Default for SimDisplay {
    /// A silent 128x64 panel.
    fn default() -> Self {
        Self::new(DEFAULT_WIDTH, DEFAULT_HEIGHT)
    }
}

impl Display for SimDisplay {
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        if self.last.as_ref() == Some(screen) {
            return Ok(());
        }
        let Ok(()) = screens::draw(screen, &mut self.fb);
        self.last = Some(screen.clone());
        {
            let mut shared = lock(&self.shared);
            if shared.frames.len() >= HISTORY_LEN {
                shared.frames.pop_front();
            }
            shared.frames.push_back((screen.clone(), self.fb.clone()));
        }
        let printed = self.print(screen);
        let saved = self.save_png(screen);
        printed.and(saved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::screens::render;
    use crate::session::DenyReason;

    /// A writer tests can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("pipe closed"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn action(secs_left: u16, percent_left: u8, prompt: u32) -> Screen {
        Screen::Action {
            action: "Turn_left".to_owned(),
            step: 1,
            total: 3,
            secs_left,
            percent_left,
            prompt,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("livegate-sim-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn pixels_set_get_clear_and_bounds() {
        let mut fb = Framebuffer::new(10, 3);
        fb.set(9, 2, true);
        fb.set(0, 0, true);
        fb.set(10, 0, true);
        fb.set(0, 3, true);
        assert!(fb.get(9, 2) && fb.get(0, 0));
        assert!(!fb.get(10, 0) && !fb.get(0, 3) && !fb.get(8, 2));
        assert_eq!(fb.count_lit(), 2);
        let mut other = Framebuffer::new(10, 3);
        assert_eq!(fb.diff(&other), vec![(0, 0), (9, 2)]);
        other.set(0, 0, true);
        other.set(9, 2, true);
        assert_eq!(fb, other);
        fb.clear();
        assert_eq!(fb.count_lit(), 0);
        assert_eq!(fb, Framebuffer::new(10, 3));
        assert_eq!(Framebuffer::default().size(), Size::new(128, 64));
    }

    #[test]
    fn terminal_shows_two_rows_per_line_in_half_blocks() {
        let mut fb = Framebuffer::new(3, 3);
        for (x, y) in [(0, 0), (1, 1), (2, 0), (2, 1), (0, 2)] {
            fb.set(x, y, true);
        }
        assert_eq!(fb.to_terminal(), "┌───┐\n│▀▄█│\n│▀  │\n└───┘\n");
        let panel = render(&Screen::Idle, 128, 64).to_terminal();
        let lines: Vec<&str> = panel.lines().collect();
        assert_eq!(lines.len(), 34);
        assert!(lines.iter().all(|l| l.chars().count() == 130));
    }

    #[test]
    fn png_round_trip_is_white_on_black() {
        let fb = render(&Screen::Pass, 128, 64);
        let png = fb.to_png(1).unwrap();
        let img = image::load_from_memory(&png).unwrap().into_luma8();
        assert_eq!(img.dimensions(), (128, 64));
        for (x, y, p) in img.enumerate_pixels() {
            assert_eq!(p.0[0], if fb.get(x, y) { 255 } else { 0 }, "({x}, {y})");
        }
        assert_eq!(Framebuffer::from_png(&png).unwrap(), fb);

        let big = image::load_from_memory(&fb.to_png(4).unwrap())
            .unwrap()
            .into_luma8();
        assert_eq!(big.dimensions(), (512, 256));
        for (x, y, p) in big.enumerate_pixels() {
            assert_eq!(p.0[0] == 255, fb.get(x / 4, y / 4), "({x}, {y})");
        }
        assert!(Framebuffer::from_png(b"not a png").is_err());
    }

    #[test]
    fn skips_repeats_and_keeps_a_bounded_history() {
        let mut d = SimDisplay::new(128, 64);
        let h = d.handle();
        assert!(h.latest().is_none());
        d.show(&Screen::Idle).unwrap();
        d.show(&Screen::Idle).unwrap();
        d.show(&Screen::GetReady).unwrap();
        d.show(&Screen::Idle).unwrap();
        assert_eq!(
            h.screens(),
            vec![Screen::Idle, Screen::GetReady, Screen::Idle]
        );
        let (screen, fb) = h.latest().unwrap();
        assert_eq!(screen, Screen::Idle);
        assert_eq!(&fb, d.framebuffer());
        assert_eq!(fb, render(&Screen::Idle, 128, 64));

        for secs_left in 0..300 {
            d.show(&Screen::LockedOut { secs_left }).unwrap();
        }
        let screens = h.screens();
        assert_eq!(screens.len(), HISTORY_LEN);
        assert_eq!(screens[0], Screen::LockedOut { secs_left: 44 });
        assert_eq!(screens[255], Screen::LockedOut { secs_left: 299 });
    }

    #[test]
    fn terminal_prints_each_change_and_redraws_in_place_when_live() {
        let out = Shared::default();
        let mut d = SimDisplay::new(128, 64).with_terminal(Box::new(out.clone()), false);
        d.show(&Screen::Idle).unwrap();
        d.show(&Screen::Idle).unwrap();
        d.show(&Screen::Pass).unwrap();
        let idle = render(&Screen::Idle, 128, 64).to_terminal();
        let pass = render(&Screen::Pass, 128, 64).to_terminal();
        assert_eq!(out.text(), format!("{idle}{pass}"));

        // Live: each line cleared and written, the rest of the screen cleared, then
        // back up to the panel's first row for the next one.
        let out = Shared::default();
        let mut d = SimDisplay::new(128, 64).with_terminal(Box::new(out.clone()), true);
        d.show(&Screen::Idle).unwrap();
        d.show(&Screen::Pass).unwrap();
        let live = |text: &str| -> String {
            let lines: String = text.lines().map(|l| format!("\x1b[2K{l}\n")).collect();
            format!("\r{lines}\x1b[J")
        };
        assert_eq!(
            out.text(),
            format!("{}\x1b[34A{}", live(&idle), live(&pass))
        );
    }

    #[test]
    fn terminal_errors_are_reported_and_the_frame_is_kept() {
        let mut d = SimDisplay::new(128, 64).with_terminal(Box::new(Broken), true);
        let h = d.handle();
        let err = d.show(&Screen::Pass).unwrap_err();
        assert!(
            matches!(&err, DisplayError::Other(m) if m.contains("pipe closed")),
            "{err}"
        );
        assert_eq!(h.screens(), vec![Screen::Pass]);
    }

    #[test]
    fn saves_a_png_per_new_screen_not_per_tick() {
        let dir = temp_dir("png");
        let mut d = SimDisplay::new(128, 64).with_png_dir(dir.clone());
        d.show(&Screen::Idle).unwrap();
        d.show(&action(7, 70, 1)).unwrap();
        d.show(&action(6, 60, 1)).unwrap();
        d.show(&action(6, 60, 2)).unwrap();
        d.show(&Screen::Fail {
            reason: DenyReason::ActionTimeout,
        })
        .unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "0001-idle.png",
                "0002-action.png",
                "0003-action.png",
                "0004-fail.png"
            ]
        );
        let png = image::open(dir.join("0002-action.png"))
            .unwrap()
            .into_luma8();
        let want = render(&action(7, 70, 1), 128, 64);
        assert_eq!(png.dimensions(), (512, 256));
        for (x, y, p) in png.enumerate_pixels() {
            assert_eq!(p.0[0] == 255, want.get(x / 4, y / 4), "({x}, {y})");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn png_write_errors_are_reported() {
        let dir = temp_dir("blocked");
        std::fs::write(&dir, b"a file, not a folder").unwrap();
        let mut d = SimDisplay::new(128, 64).with_png_dir(dir.join("sub"));
        let err = d.show(&Screen::Idle).unwrap_err();
        assert!(matches!(err, DisplayError::Other(_)), "{err}");
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn from_config_is_a_128x64_panel() {
        let d = SimDisplay::from_config(&SimDisplayOptions::default());
        assert_eq!(d.framebuffer().size(), Size::new(128, 64));
        assert!(d.terminal.is_none() && d.png_dir.is_none());
    }
}

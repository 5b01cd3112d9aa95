//! The panel as text in a terminal, fitted to the terminal a person has.
//!
//! Four renderings of a [`Framebuffer`], largest first ([`Rendering::ALL`]): half
//! blocks (1x2 pixels a cell: a 128x64 panel is 130 columns x 34 lines with its frame),
//! quadrant blocks (2x2: 66 x 34), braille (2x4: 66 x 18), and the screen's words as
//! plain text. [`fit`] picks the largest one that fits. With an ASCII [`Charset`] (the
//! locale is not UTF-8) the pictures are `#` and space in a `+-|` frame.
//!
//! [`Console`] draws the panel and the event lines under it: in a terminal it redraws
//! both in place, never taller than the terminal (so nothing scrolls away); in a pipe
//! or on `TERM=dumb` it prints each new screen once and the lines after it.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::Write;
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex, MutexGuard};

use embedded_graphics::prelude::Size;

use super::screens::{self, Element, Icon};
use super::sim::Framebuffer;
use super::Screen;

/// Which characters the terminal can show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// A UTF-8 locale: blocks, braille and box-drawing frames.
    Unicode,
    /// Anything else: `#`, space and a `+-|` frame; other characters are replaced.
    Ascii,
}

/// How the panel is drawn as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rendering {
    /// One pixel wide, two high per character (Unicode half blocks).
    HalfBlock,
    /// Two by two pixels per character (Unicode quadrant blocks).
    Quadrant,
    /// Two by four pixels per character (Unicode braille).
    Braille,
    /// The screen's words (and countdown bar) as plain text in a frame.
    Words,
}

impl Rendering {
    /// Every rendering, largest first.
    pub const ALL: [Rendering; 4] = [
        Rendering::HalfBlock,
        Rendering::Quadrant,
        Rendering::Braille,
        Rendering::Words,
    ];

    /// A short name: `half-block`, `quadrant`, `braille`, `words`.
    pub fn name(self) -> &'static str {
        match self {
            Rendering::HalfBlock => "half-block",
            Rendering::Quadrant => "quadrant",
            Rendering::Braille => "braille",
            Rendering::Words => "words",
        }
    }

    /// Pixels per character (width, height) for the pictures.
    fn cell(self) -> Option<(u32, u32)> {
        match self {
            Rendering::HalfBlock => Some((1, 2)),
            Rendering::Quadrant => Some((2, 2)),
            Rendering::Braille => Some((2, 4)),
            Rendering::Words => None,
        }
    }
}

/// The frame characters: corners, horizontal, vertical.
struct Frame {
    tl: char,
    tr: char,
    bl: char,
    br: char,
    h: char,
    v: char,
}

impl Frame {
    fn of(charset: Charset) -> Frame {
        match charset {
            Charset::Unicode => Frame {
                tl: '┌',
                tr: '┐',
                bl: '└',
                br: '┘',
                h: '─',
                v: '│',
            },
            Charset::Ascii => Frame {
                tl: '+',
                tr: '+',
                bl: '+',
                br: '+',
                h: '-',
                v: '|',
            },
        }
    }

    /// `body` (lines of `inner` characters each) inside the frame.
    fn around(&self, body: Vec<String>, inner: usize) -> Vec<String> {
        let rule = |l: char, r: char| {
            let mut s = String::with_capacity((inner + 2) * 3);
            s.push(l);
            s.extend(std::iter::repeat_n(self.h, inner));
            s.push(r);
            s
        };
        let mut lines = Vec::with_capacity(body.len() + 2);
        lines.push(rule(self.tl, self.tr));
        for b in body {
            lines.push(format!("{}{b}{}", self.v, self.v));
        }
        lines.push(rule(self.bl, self.br));
        lines
    }
}

/// Quadrant blocks by bits: 1 top-left, 2 top-right, 4 bottom-left, 8 bottom-right.
const QUADRANTS: [char; 16] = [
    ' ', '▘', '▝', '▀', '▖', '▌', '▞', '▛', '▗', '▚', '▐', '▜', '▄', '▙', '▟', '█',
];

/// Braille dot bits by pixel of a 2x4 cell, row by row (left, right).
const BRAILLE_DOTS: [u32; 8] = [0x01, 0x08, 0x02, 0x10, 0x04, 0x20, 0x40, 0x80];

/// One character for a cell whose lit pixels are `bits` (bit `dy * cw + dx`).
fn glyph(rendering: Rendering, charset: Charset, bits: u32) -> char {
    if bits == 0 {
        return ' ';
    }
    match (charset, rendering) {
        (Charset::Ascii, _) | (_, Rendering::Words) => '#',
        (Charset::Unicode, Rendering::HalfBlock) => [' ', '▀', '▄', '█'][(bits & 3) as usize],
        (Charset::Unicode, Rendering::Quadrant) => QUADRANTS[(bits & 15) as usize],
        (Charset::Unicode, Rendering::Braille) => {
            let dots = BRAILLE_DOTS
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .fold(0, |acc, (_, d)| acc | d);
            char::from_u32(0x2800 + dots).unwrap_or('#')
        }
    }
}

/// The framebuffer as a framed picture in one of the picture renderings (half block,
/// quadrant, braille; [`Rendering::Words`] draws half blocks here).
pub fn picture(fb: &Framebuffer, rendering: Rendering, charset: Charset) -> Vec<String> {
    let (cw, ch) = rendering.cell().unwrap_or((1, 2));
    let cols = fb.width().div_ceil(cw);
    let rows = fb.height().div_ceil(ch);
    let body = (0..rows)
        .map(|r| {
            (0..cols)
                .map(|c| {
                    let mut bits = 0;
                    for dy in 0..ch {
                        for dx in 0..cw {
                            if fb.get(c * cw + dx, r * ch + dy) {
                                bits |= 1 << (dy * cw + dx);
                            }
                        }
                    }
                    glyph(rendering, charset, bits)
                })
                .collect()
        })
        .collect();
    Frame::of(charset).around(body, cols as usize)
}

/// The columns a line takes: every character one, except the East Asian wide and
/// emoji ranges, two (text from the network may hold them; every character this
/// module draws itself is one column wide).
pub fn width(line: &str) -> usize {
    line.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    match u32::from(c) {
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

/// `text` safe to print: control characters (from the network, say) are shown
/// escaped (`\u{1b}`), never sent raw; a no-break space is a space; with
/// [`Charset::Ascii`] other non-ASCII characters become ASCII look-alikes or `?`.
pub fn printable(text: &str, charset: Charset) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else if c == '\u{a0}' {
            out.push(' ');
        } else if charset == Charset::Ascii && !c.is_ascii() {
            out.push_str(match c {
                '…' => "...",
                '←' => "<-",
                '→' => "->",
                '‘' | '’' => "'",
                '“' | '”' => "\"",
                '–' | '—' | '─' => "-",
                _ => "?",
            });
        } else {
            out.push(c);
        }
    }
    out
}

/// `line` cut to at most `max` characters, with a mark where it was cut.
pub fn clip(line: &str, max: usize, charset: Charset) -> String {
    if width(line) <= max {
        return line.to_owned();
    }
    let mark = match charset {
        Charset::Unicode => "…",
        Charset::Ascii => "...",
    };
    let keep = max.saturating_sub(width(mark));
    let mut s = String::new();
    let mut used = 0;
    for c in line.chars() {
        used += char_width(c);
        if used > keep {
            break;
        }
        s.push(c);
    }
    if max >= width(mark) {
        s.push_str(mark);
    }
    s
}

/// The characters of an icon in the words rendering (none when the words say it).
fn icon_words(icon: Icon, charset: Charset) -> Option<&'static str> {
    match (icon, charset) {
        (Icon::ArrowLeft, Charset::Unicode) => Some("←"),
        (Icon::ArrowRight, Charset::Unicode) => Some("→"),
        (Icon::ArrowUp, Charset::Unicode) => Some("↑"),
        (Icon::ArrowDown, Charset::Unicode) => Some("↓"),
        (Icon::Tick, Charset::Unicode) => Some("✓"),
        (Icon::Cross, Charset::Unicode) => Some("✗"),
        (Icon::ArrowLeft, Charset::Ascii) => Some("<-"),
        (Icon::ArrowRight, Charset::Ascii) => Some("->"),
        (Icon::ArrowUp, Charset::Ascii) => Some("^"),
        (Icon::ArrowDown, Charset::Ascii) => Some("v"),
        _ => None,
    }
}

/// Characters of the countdown bar in the words rendering.
const BAR_CELLS: usize = 16;

/// The screen's text as the panel lays it out, one string per text row, top to
/// bottom: words on the same row joined by a space, icons as arrows or ticks next to
/// their words, the countdown bar as `[████░░░░]`.
pub fn word_rows(screen: &Screen, size: Size, charset: Charset) -> Vec<String> {
    let mut rows: Vec<(i32, Vec<(i32, String)>)> = Vec::new();
    let mut icons = Vec::new();
    for e in screens::layout(screen, size) {
        let (y, x, text) = match e {
            Element::Text { text, at, .. } => (at.y, at.x, printable(&text, charset)),
            Element::Bar { area, percent, .. } => {
                let filled = (usize::from(percent.min(100)) * BAR_CELLS + 50) / 100;
                let (on, off) = match charset {
                    Charset::Unicode => ('█', '░'),
                    Charset::Ascii => ('#', '-'),
                };
                let mut bar = String::from("[");
                bar.extend(std::iter::repeat_n(on, filled));
                bar.extend(std::iter::repeat_n(off, BAR_CELLS - filled));
                bar.push(']');
                (area.top_left.y, area.top_left.x, bar)
            }
            Element::Icon { icon, area } => {
                icons.push((icon, area));
                continue;
            }
        };
        match rows.iter_mut().find(|(ry, _)| *ry == y) {
            Some((_, items)) => items.push((x, text)),
            None => rows.push((y, vec![(x, text)])),
        }
    }
    rows.sort_by_key(|(y, _)| *y);
    for (icon, area) in icons {
        let Some(word) = icon_words(icon, charset) else {
            continue;
        };
        let bottom = area.top_left.y + i32::try_from(area.size.height).unwrap_or(i32::MAX);
        let row = rows
            .iter()
            .position(|(y, _)| (area.top_left.y..bottom).contains(y))
            .or_else(|| rows.iter().position(|(y, _)| *y >= area.top_left.y));
        if let Some((_, items)) = row.and_then(|i| rows.get_mut(i)) {
            items.push((area.top_left.x, word.to_owned()));
        }
    }
    rows.into_iter()
        .map(|(_, mut items)| {
            items.sort_by_key(|(x, _)| *x);
            items
                .into_iter()
                .map(|(_, t)| t)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The words rendering: [`word_rows`] centred in a frame, each row wrapped to at most
/// `max_inner` characters.
fn words(screen: &Screen, fb: &Framebuffer, charset: Charset, max_inner: usize) -> Vec<String> {
    let max_inner = max_inner.max(1);
    let mut body = Vec::new();
    for row in word_rows(screen, Size::new(fb.width(), fb.height()), charset) {
        if width(&row) <= max_inner {
            body.push(row);
        } else {
            body.extend(screens::wrap(&row, max_inner).0);
        }
    }
    let inner = body.iter().map(|l| width(l)).max().unwrap_or(0) + 2;
    let body = body
        .into_iter()
        .map(|l| {
            let pad = inner - width(&l);
            let left = pad / 2;
            format!("{}{l}{}", " ".repeat(left), " ".repeat(pad - left))
        })
        .collect();
    Frame::of(charset).around(body, inner)
}

/// `screen` (drawn as `fb`) in one rendering, one string per line, no line ends. The
/// words rendering wraps to fit `max_cols` columns where it can.
pub fn render(
    screen: &Screen,
    fb: &Framebuffer,
    rendering: Rendering,
    charset: Charset,
    max_cols: usize,
) -> Vec<String> {
    match rendering {
        Rendering::Words => words(screen, fb, charset, max_cols.saturating_sub(4)),
        _ => picture(fb, rendering, charset),
    }
}

/// The largest rendering of `screen` no wider than `cols` and no taller than `rows`,
/// with its lines; `None` when not even the words fit.
pub fn fit(
    screen: &Screen,
    fb: &Framebuffer,
    charset: Charset,
    cols: usize,
    rows: usize,
) -> Option<(Rendering, Vec<String>)> {
    Rendering::ALL.into_iter().find_map(|r| {
        let lines = render(screen, fb, r, charset, cols);
        (lines.len() <= rows && lines.iter().all(|l| width(l) <= cols)).then_some((r, lines))
    })
}

/// The one-line note shown instead of a panel that does not fit: its words.
pub fn note(screen: &Screen, fb: &Framebuffer, charset: Charset) -> String {
    let rows = word_rows(screen, Size::new(fb.width(), fb.height()), charset);
    format!("panel: {}", rows.join(" / "))
}

/// What the environment says about the terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TermEnv {
    /// Unicode when the locale (`LC_ALL`, else `LC_CTYPE`, else `LANG`) is UTF-8.
    pub charset: Charset,
    /// Colour allowed: `NO_COLOR` unset or empty, and `TERM` not `dumb`.
    pub color: bool,
    /// `TERM=dumb`: no cursor movement, no escape sequences at all.
    pub dumb: bool,
}

impl TermEnv {
    /// From the variables `var` gives (a name to its value).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> TermEnv {
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .into_iter()
            .find_map(|k| var(k).filter(|v| !v.is_empty()));
        let utf8 = locale.is_some_and(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        });
        let dumb = var("TERM").as_deref() == Some("dumb");
        TermEnv {
            charset: if utf8 {
                Charset::Unicode
            } else {
                Charset::Ascii
            },
            color: !dumb && var("NO_COLOR").is_none_or(|v| v.is_empty()),
            dumb,
        }
    }

    /// From this process's environment.
    pub fn from_env() -> TermEnv {
        TermEnv::from_vars(|k| std::env::var(k).ok())
    }
}

/// The size (columns, rows) of the terminal on `fd`, by `ioctl(TIOCGWINSZ)`; `None`
/// when `fd` is not a terminal or reports no size.
pub fn window_size(fd: RawFd) -> Option<(usize, usize)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the buffer passed, which lives
    // across the call; an fd that is not a terminal makes it fail with ENOTTY.
    let r = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_col > 0 && ws.ws_row > 0)
        .then(|| (usize::from(ws.ws_col), usize::from(ws.ws_row)))
}

/// `COLUMNS` and `LINES` from the variables `var` gives, each when a positive number.
pub fn size_from_vars(var: impl Fn(&str) -> Option<String>) -> (Option<usize>, Option<usize>) {
    let num = |k: &str| {
        var(k)
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
    };
    (num("COLUMNS"), num("LINES"))
}

/// Whether `fd` is a terminal.
pub fn is_terminal(fd: RawFd) -> bool {
    // SAFETY: isatty only reads the descriptor number; any value is allowed.
    unsafe { libc::isatty(fd) == 1 }
}

/// Gives the terminal's size (columns, rows) when asked; `None` for no limit.
pub type SizeSource = Box<dyn Fn() -> Option<(usize, usize)> + Send>;

/// The size of a live terminal when nothing tells it.
pub const FALLBACK_SIZE: (usize, usize) = (80, 24);

/// The size of the terminal on `fd` (followed when it changes), else `COLUMNS` and
/// `LINES`, else, for a terminal, [`FALLBACK_SIZE`]; `None` (no limit) for a pipe
/// without `COLUMNS`.
pub fn fd_size_source(fd: RawFd) -> SizeSource {
    let tty = is_terminal(fd);
    Box::new(move || {
        window_size(fd).or_else(|| {
            let (cols, rows) = size_from_vars(|k| std::env::var(k).ok());
            match (cols, rows, tty) {
                (None, None, false) => None,
                (c, r, false) => Some((c.unwrap_or(usize::MAX), r.unwrap_or(usize::MAX))),
                (c, r, true) => Some((c.unwrap_or(FALLBACK_SIZE.0), r.unwrap_or(FALLBACK_SIZE.1))),
            }
        })
    })
}

/// How a [`Console`] writes.
pub struct ConsoleOptions {
    /// Redraw in place (a terminal that moves its cursor); else print each new
    /// screen once and the event lines after it.
    pub live: bool,
    pub charset: Charset,
    /// Colour the verdict lines (live only).
    pub color: bool,
    /// Event lines kept under a live panel (0: a panel alone).
    pub event_lines: usize,
    /// The terminal's size, asked at every redraw.
    pub size: SizeSource,
}

/// What an event line says, for its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Plain,
    /// A pass (green).
    Good,
    /// A denial (red).
    Bad,
}

/// Event lines kept under a live panel by default.
pub const LIVE_LINES: usize = 8;

/// Event lines a live panel leaves room for at least (when it has any): a rendering
/// is only chosen when these fit under it.
pub const MIN_EVENT_LINES: usize = 3;

/// The terminal: the panel, and the event lines below it. In a terminal the panel
/// is redrawn in place with the newest lines under it, the whole never taller than
/// the terminal; elsewhere (a pipe, CI, `TERM=dumb`) each new screen is printed once
/// (not every countdown tick) and lines follow it.
pub struct Console {
    inner: Mutex<ConsoleState>,
}

struct ConsoleState {
    out: Box<dyn Write + Send>,
    opts: ConsoleOptions,
    panel: Option<(Screen, Framebuffer)>,
    lines: VecDeque<(Tone, String)>,
    /// Lines printed by the previous live redraw.
    printed: usize,
}

impl Console {
    /// Unicode, no colour, [`LIVE_LINES`] event lines, no size limit.
    pub fn new(out: Box<dyn Write + Send>, live: bool) -> Arc<Console> {
        Console::with_options(
            out,
            ConsoleOptions {
                live,
                charset: Charset::Unicode,
                color: false,
                event_lines: LIVE_LINES,
                size: Box::new(|| None),
            },
        )
    }

    pub fn with_options(out: Box<dyn Write + Send>, opts: ConsoleOptions) -> Arc<Console> {
        Arc::new(Console {
            inner: Mutex::new(ConsoleState {
                out,
                opts,
                panel: None,
                lines: VecDeque::new(),
                printed: 0,
            }),
        })
    }

    /// Writing to `out`, which is the descriptor `fd`: live when that is a terminal
    /// and `TERM` is not `dumb`; charset and colour from the environment
    /// ([`TermEnv`]); the size from the terminal ([`fd_size_source`]).
    pub fn for_fd(out: Box<dyn Write + Send>, fd: RawFd, event_lines: usize) -> Arc<Console> {
        let env = TermEnv::from_env();
        let live = is_terminal(fd) && !env.dumb;
        Console::with_options(
            out,
            ConsoleOptions {
                live,
                charset: env.charset,
                color: env.color && live,
                event_lines,
                size: fd_size_source(fd),
            },
        )
    }

    /// Whether the console redraws in place.
    pub fn is_live(&self) -> bool {
        self.state().opts.live
    }

    fn state(&self) -> MutexGuard<'_, ConsoleState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new picture of the panel showing `screen`; `new_screen` is false for a
    /// countdown tick (not printed again outside a terminal).
    pub fn panel(
        &self,
        screen: &Screen,
        fb: &Framebuffer,
        new_screen: bool,
    ) -> std::io::Result<()> {
        let mut st = self.state();
        st.panel = Some((screen.clone(), fb.clone()));
        if st.opts.live {
            st.redraw()
        } else if new_screen {
            st.print_panel()
        } else {
            Ok(())
        }
    }

    /// One line of text (an event); control characters are shown escaped.
    pub fn line(&self, text: &str) -> std::io::Result<()> {
        self.line_with(text, Tone::Plain)
    }

    /// One line of text in a tone (coloured in a terminal that allows colour).
    pub fn line_with(&self, text: &str, tone: Tone) -> std::io::Result<()> {
        let mut st = self.state();
        let text = printable(text, st.opts.charset);
        if st.opts.live {
            let keep = st.opts.event_lines.max(1);
            while st.lines.len() >= keep {
                st.lines.pop_front();
            }
            st.lines.push_back((tone, text));
            st.redraw()
        } else {
            writeln!(st.out, "{text}")?;
            st.out.flush()
        }
    }

    /// The terminal may have changed size: redraw (live only).
    pub fn resized(&self) -> std::io::Result<()> {
        let mut st = self.state();
        if st.opts.live && (st.panel.is_some() || !st.lines.is_empty()) {
            st.redraw()
        } else {
            Ok(())
        }
    }
}

/// Redraws `console` whenever the terminal changes size (SIGWINCH), from a task on
/// the current tokio runtime, until the runtime stops.
pub fn redraw_on_resize(console: Arc<Console>) -> std::io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut winch = signal(SignalKind::window_change())?;
    Ok(tokio::spawn(async move {
        while winch.recv().await.is_some() {
            let _ = console.resized();
        }
    }))
}

/// Sends what is written to a [`Console`] line by line (for progress text that
/// would otherwise break a live redraw); a last unfinished line goes when dropped.
pub struct LineWriter {
    console: Arc<Console>,
    buf: Vec<u8>,
}

impl LineWriter {
    pub fn new(console: Arc<Console>) -> LineWriter {
        LineWriter {
            console,
            buf: Vec::new(),
        }
    }
}

impl Write for LineWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        while let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=i).collect();
            let text = String::from_utf8_lossy(&line[..i]);
            self.console.line(text.trim_end_matches('\r'))?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let text = String::from_utf8_lossy(&self.buf).into_owned();
            let _ = self.console.line(&text);
        }
    }
}

impl ConsoleState {
    fn size(&self) -> (usize, usize) {
        (self.opts.size)().unwrap_or((usize::MAX, usize::MAX))
    }

    /// The panel fitted to `cols` x `rows`, else the one-line note.
    fn panel_lines(&self, cols: usize, rows: usize) -> Vec<String> {
        let charset = self.opts.charset;
        match &self.panel {
            None => Vec::new(),
            Some((screen, fb)) => match fit(screen, fb, charset, cols, rows) {
                Some((_, lines)) => lines,
                None => vec![clip(&note(screen, fb, charset), cols, charset)],
            },
        }
    }

    fn print_panel(&mut self) -> std::io::Result<()> {
        let (cols, rows) = self.size();
        let mut text = String::new();
        for l in self.panel_lines(cols, rows.saturating_sub(1).max(1)) {
            text.push_str(&l);
            text.push('\n');
        }
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }

    /// Draws the panel and the event lines in place: up to the first line of the
    /// previous drawing, every line cleared and written, the rest of the screen
    /// cleared. The drawing leaves the terminal's last row free, so it never scrolls.
    fn redraw(&mut self) -> std::io::Result<()> {
        let (cols, rows) = self.size();
        let charset = self.opts.charset;
        // The last column and the last row stay free: no wrap, no scroll.
        let width = cols.saturating_sub(1).max(1);
        let avail = rows.saturating_sub(1).max(1);
        let reserve = self.opts.event_lines.min(MIN_EVENT_LINES);
        let mut block = self.panel_lines(width, avail.saturating_sub(reserve).max(1));
        block.truncate(avail);
        let room = avail - block.len();
        let n_events = self.opts.event_lines.min(room);
        let skip = self.lines.len().saturating_sub(n_events);
        let mut text = String::new();
        if self.printed > 0 {
            let _ = write!(text, "\x1b[{}A", self.printed);
        }
        text.push('\r');
        for l in &block {
            text.push_str("\x1b[2K");
            text.push_str(l);
            text.push('\n');
        }
        for i in 0..n_events {
            text.push_str("\x1b[2K");
            if let Some((tone, l)) = self.lines.get(skip + i) {
                let l = clip(l, width, charset);
                match (self.opts.color, tone) {
                    (true, Tone::Good) => {
                        let _ = write!(text, "\x1b[32m{l}\x1b[0m");
                    }
                    (true, Tone::Bad) => {
                        let _ = write!(text, "\x1b[31m{l}\x1b[0m");
                    }
                    _ => text.push_str(&l),
                }
            }
            text.push('\n');
        }
        text.push_str("\x1b[J");
        self.printed = block.len() + n_events;
        self.out.write_all(text.as_bytes())?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::screens::render;

    /// A writer tests can read back.
    #[derive(Clone, Default)]
    struct Out(Arc<Mutex<Vec<u8>>>);

    impl Write for Out {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Out {
        fn take(&self) -> String {
            String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
        }
    }

    fn console(
        live: bool,
        charset: Charset,
        color: bool,
        size: Option<(usize, usize)>,
    ) -> (Arc<Console>, Out) {
        let out = Out::default();
        let c = Console::with_options(
            Box::new(out.clone()),
            ConsoleOptions {
                live,
                charset,
                color,
                event_lines: LIVE_LINES,
                size: Box::new(move || size),
            },
        );
        (c, out)
    }

    /// The lines of one live redraw, without the escape sequences around them.
    fn drawn(text: &str) -> Vec<String> {
        let body = text.strip_suffix("\x1b[J").expect("ends clearing below");
        let body = &body[body.find('\r').expect("starts at column 0") + 1..];
        body.split_terminator('\n')
            .map(|l| {
                l.strip_prefix("\x1b[2K")
                    .expect("each line cleared")
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn glyphs_map_pixels_to_blocks_and_dots() {
        let mut fb = Framebuffer::new(2, 4);
        let one = |fb: &Framebuffer, r| picture(fb, r, Charset::Unicode)[1].chars().nth(1);
        fb.set(0, 0, true);
        assert_eq!(one(&fb, Rendering::Braille), Some('⠁'));
        assert_eq!(one(&fb, Rendering::Quadrant), Some('▘'));
        assert_eq!(one(&fb, Rendering::HalfBlock), Some('▀'));
        for y in 0..4 {
            fb.set(0, y, true);
        }
        assert_eq!(one(&fb, Rendering::Braille), Some('⡇'));
        fb.set(1, 3, true);
        assert_eq!(one(&fb, Rendering::Braille), Some('⣇'));
        fb.set(1, 1, true);
        assert_eq!(one(&fb, Rendering::Quadrant), Some('▙'));
        assert_eq!(
            picture(&fb, Rendering::Braille, Charset::Ascii),
            ["+-+", "|#|", "+-+"]
        );
        assert_eq!(
            picture(&fb, Rendering::HalfBlock, Charset::Ascii),
            ["+--+", "|##|", "|##|", "+--+"]
        );
    }

    #[test]
    fn live_redraw_fits_the_terminal_with_the_newest_event_lines() {
        let (c, out) = console(true, Charset::Unicode, false, Some((80, 24)));
        let fb = render(&Screen::Idle, 128, 64);
        c.panel(&Screen::Idle, &fb, true).unwrap();
        let first = out.take();
        assert!(first.starts_with('\r'), "no cursor-up on the first drawing");
        let lines = drawn(&first);
        let braille = render_lines(&fb, Rendering::Braille);
        assert_eq!(lines[..18], braille[..]);
        assert_eq!(lines.len(), 23, "18 panel rows and 5 event lines");
        for i in 1..=10 {
            c.line(&format!("event {i}")).unwrap();
        }
        let last = out.take();
        let last = last.rsplit("\x1b[J").nth(1).unwrap();
        assert!(last.starts_with("\x1b[23A\r"), "{last:?}");
        let lines = drawn(&format!("{last}\x1b[J"));
        assert_eq!(
            lines[18..],
            ["event 6", "event 7", "event 8", "event 9", "event 10"]
        );
        // A resize redraws to the new size.
        let (c, out) = console(true, Charset::Unicode, false, Some((132, 43)));
        c.panel(&Screen::Idle, &fb, true).unwrap();
        let lines = drawn(&out.take());
        assert_eq!(lines[..34], render_lines(&fb, Rendering::HalfBlock)[..]);
        assert_eq!(lines.len(), 42);
    }

    fn render_lines(fb: &Framebuffer, r: Rendering) -> Vec<String> {
        picture(fb, r, Charset::Unicode)
    }

    #[test]
    fn too_short_a_terminal_gets_a_one_line_note_and_lines_are_clipped() {
        let (c, out) = console(true, Charset::Unicode, false, Some((30, 5)));
        let fb = render(&Screen::Idle, 128, 64);
        c.panel(&Screen::Idle, &fb, true).unwrap();
        c.line("a line much longer than the terminal is wide")
            .unwrap();
        let text = out.take();
        let last = text.rsplit("\x1b[J").nth(1).unwrap();
        assert_eq!(
            drawn(&format!("{last}\x1b[J")),
            [
                "panel: Step up / to enter / …",
                "a line much longer than the …",
                "",
                ""
            ]
        );
    }

    #[test]
    fn untrusted_text_never_reaches_the_terminal_raw() {
        for live in [true, false] {
            let (c, out) = console(live, Charset::Unicode, false, Some((80, 24)));
            c.line("next \x1b]0;owned\x07\x1b[2J\u{9b}31m done")
                .unwrap();
            let text = out.take();
            assert!(
                text.contains(r"next \u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m done"),
                "{text:?}"
            );
            assert!(!text.contains('\x07') && !text.contains('\u{9b}'));
            assert!(!text.contains("\x1b]") && !text.contains("\x1b[2J"));
        }
        assert_eq!(
            printable("Try again in 4\u{a0}min … é → x", Charset::Ascii),
            "Try again in 4 min ... ? -> x"
        );
        assert_eq!(printable("tab\there\n", Charset::Unicode), r"tab\there\n");
        // Wide characters count two columns, so a clipped line still fits.
        assert_eq!(width("门禁 ok"), 7);
        assert_eq!(clip("门禁门禁门禁", 8, Charset::Unicode), "门禁门…");
        assert_eq!(width(&clip("门禁门禁门禁", 8, Charset::Unicode)), 7);
    }

    #[test]
    fn verdict_lines_are_coloured_only_where_colour_is_allowed() {
        let (c, out) = console(true, Charset::Unicode, true, Some((80, 24)));
        c.line_with("session 1: PASS", Tone::Good).unwrap();
        assert!(out.take().contains("\x1b[32msession 1: PASS\x1b[0m"));
        c.line_with("session 2: DENY", Tone::Bad).unwrap();
        assert!(out.take().contains("\x1b[31msession 2: DENY\x1b[0m"));
        let (c, out) = console(true, Charset::Unicode, false, Some((80, 24)));
        c.line_with("session 1: PASS", Tone::Good).unwrap();
        assert!(!out.take().contains("\x1b[3"));
    }

    #[test]
    fn a_pipe_prints_each_new_screen_once_fitted_to_the_width() {
        let fb = render(&Screen::Idle, 128, 64);
        let (c, out) = console(false, Charset::Unicode, true, None);
        c.panel(&Screen::Idle, &fb, true).unwrap();
        c.panel(&Screen::Idle, &fb, false).unwrap();
        c.line_with("session 1: PASS", Tone::Good).unwrap();
        let full: String = render_lines(&fb, Rendering::HalfBlock)
            .iter()
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(out.take(), format!("{full}session 1: PASS\n"));
        let (c, out) = console(false, Charset::Ascii, false, Some((80, usize::MAX)));
        c.panel(&Screen::Idle, &fb, true).unwrap();
        let text = out.take();
        assert!(text.is_ascii() && !text.contains('\x1b'));
        assert_eq!(
            text.lines().count(),
            34,
            "2x2 fits 80 columns when height is free"
        );
        assert!(text.lines().all(|l| width(l) == 66));
    }

    #[test]
    fn the_environment_picks_charset_colour_and_dumbness() {
        let env = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            TermEnv::from_vars(move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
        };
        let e = env(&[("LANG", "en_GB.UTF-8"), ("TERM", "xterm-256color")]);
        assert_eq!(
            (e.charset, e.color, e.dumb),
            (Charset::Unicode, true, false)
        );
        assert_eq!(env(&[("LANG", "C")]).charset, Charset::Ascii);
        assert_eq!(env(&[]).charset, Charset::Ascii);
        assert_eq!(env(&[("LANG", "de_DE.utf8")]).charset, Charset::Unicode);
        assert_eq!(
            env(&[("LANG", "C.UTF-8"), ("LC_ALL", "C")]).charset,
            Charset::Ascii
        );
        assert_eq!(
            env(&[("LANG", "C"), ("LC_CTYPE", "C.UTF-8")]).charset,
            Charset::Unicode
        );
        assert_eq!(
            env(&[("LANG", "C"), ("LC_ALL", ""), ("LC_CTYPE", "C.UTF-8")]).charset,
            Charset::Unicode
        );
        assert!(!env(&[("NO_COLOR", "1")]).color);
        assert!(env(&[("NO_COLOR", "")]).color);
        let dumb = env(&[("TERM", "dumb"), ("LANG", "C.UTF-8")]);
        assert!(dumb.dumb && !dumb.color);

        let size = |c: Option<&'static str>, l: Option<&'static str>| {
            size_from_vars(move |k| match k {
                "COLUMNS" => c.map(str::to_owned),
                "LINES" => l.map(str::to_owned),
                _ => None,
            })
        };
        assert_eq!(size(Some("80"), Some("24")), (Some(80), Some(24)));
        assert_eq!(size(Some("0"), Some("x")), (None, None));
        assert_eq!(size(None, Some(" 43 ")), (None, Some(43)));
    }

    #[test]
    fn a_resize_redraws_to_the_new_size() {
        let size = Arc::new(Mutex::new((132, 43)));
        let out = Out::default();
        let c = Console::with_options(
            Box::new(out.clone()),
            ConsoleOptions {
                live: true,
                charset: Charset::Unicode,
                color: false,
                event_lines: LIVE_LINES,
                size: Box::new({
                    let size = size.clone();
                    move || Some(*size.lock().unwrap())
                }),
            },
        );
        c.resized().unwrap();
        assert_eq!(out.take(), "", "nothing drawn yet, nothing to redraw");
        let fb = render(&Screen::Idle, 128, 64);
        c.panel(&Screen::Idle, &fb, true).unwrap();
        assert_eq!(drawn(&out.take()).len(), 42);
        *size.lock().unwrap() = (40, 12);
        c.resized().unwrap();
        let text = out.take();
        assert!(text.starts_with("\x1b[42A\r"), "{text:?}");
        let lines = drawn(&text);
        assert_eq!(lines.len(), 11);
        assert_eq!(
            lines[..5],
            words(&Screen::Idle, &fb, Charset::Unicode, 35)[..]
        );
        assert!(lines.iter().all(|l| width(l) < 40));
    }

    #[tokio::test]
    async fn sigwinch_redraws_at_the_new_size() {
        let size = Arc::new(Mutex::new((80, 24)));
        let out = Out::default();
        let c = Console::with_options(
            Box::new(out.clone()),
            ConsoleOptions {
                live: true,
                charset: Charset::Unicode,
                color: false,
                event_lines: LIVE_LINES,
                size: Box::new({
                    let size = size.clone();
                    move || Some(*size.lock().unwrap())
                }),
            },
        );
        let fb = render(&Screen::Idle, 128, 64);
        c.panel(&Screen::Idle, &fb, true).unwrap();
        assert_eq!(drawn(&out.take()).len(), 23);
        let task = redraw_on_resize(c.clone()).unwrap();
        *size.lock().unwrap() = (132, 43);
        // SAFETY: raise only sends SIGWINCH to this process, which tokio handles now.
        assert_eq!(unsafe { libc::raise(libc::SIGWINCH) }, 0);
        let mut text = String::new();
        for _ in 0..10_000 {
            text.push_str(&out.take());
            if text.ends_with("\x1b[J") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        assert!(text.starts_with("\x1b[23A\r"), "{text:?}");
        let lines = drawn(&text);
        assert_eq!(lines.len(), 42);
        assert_eq!(lines[..34], render_lines(&fb, Rendering::HalfBlock)[..]);
        task.abort();
    }

    #[test]
    fn a_line_writer_sends_whole_lines() {
        let (c, out) = console(false, Charset::Unicode, false, None);
        {
            let mut w = LineWriter::new(c.clone());
            write!(w, "  1/2 idle").unwrap();
            w.flush().unwrap();
            assert_eq!(out.take(), "");
            write!(w, "\r\n  2/2 pass\nlast").unwrap();
            assert_eq!(out.take(), "  1/2 idle\n  2/2 pass\n");
        }
        assert_eq!(out.take(), "last\n");
    }

    #[test]
    fn a_pipe_has_no_window_size() {
        let mut fds = [0; 2];
        // SAFETY: pipe writes two descriptors into the array; both are closed below.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        assert_eq!(window_size(fds[1]), None);
        assert!(!is_terminal(fds[1]));
        // SAFETY: the two descriptors were opened above and are not used again.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }
}

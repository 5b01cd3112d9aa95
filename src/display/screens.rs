//! The one drawing code for every panel: [`draw`] turns a [`Screen`] into pixels on
//! any `embedded-graphics` target (the SSD1306, the simulated [`Framebuffer`], tests'
//! mock displays).
//!
//! Drawing is two steps, both pure functions of the screen and the panel size:
//! [`layout`] places [`Element`]s (text lines, icons, the countdown bar), each with a
//! rectangle it stays inside; [`draw`] paints them. A 128x64 panel gets big words; a
//! panel under 48 pixels high (128x32) gets a compact layout.

use embedded_graphics::mono_font::{ascii, MonoFont, MonoTextStyle};
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{
    Line, PrimitiveStyle, PrimitiveStyleBuilder, Rectangle, StrokeAlignment, Triangle,
};
use embedded_graphics::text::{Baseline, Text};

use super::sim::Framebuffer;
use super::Screen;
use crate::actions;

/// Panels lower than this get the compact layout.
pub const COMPACT_BELOW_HEIGHT: u32 = 48;

/// Pixels between an icon and its text.
const ICON_GAP: u32 = 4;

/// Icons are drawn only next to text at least this tall.
const MIN_ICON: u32 = 10;

/// The mono fonts the screens use, largest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Font {
    /// 10x20.
    F10x20,
    /// 9x18 bold.
    F9x18Bold,
    /// 9x15 bold.
    F9x15Bold,
    /// 8x13 bold.
    F8x13Bold,
    /// 7x13 bold.
    F7x13Bold,
    /// 6x10.
    F6x10,
    /// 5x8.
    F5x8,
    /// 4x6.
    F4x6,
}

impl Font {
    /// The `embedded-graphics` font.
    pub fn mono(self) -> &'static MonoFont<'static> {
        match self {
            Font::F10x20 => &ascii::FONT_10X20,
            Font::F9x18Bold => &ascii::FONT_9X18_BOLD,
            Font::F9x15Bold => &ascii::FONT_9X15_BOLD,
            Font::F8x13Bold => &ascii::FONT_8X13_BOLD,
            Font::F7x13Bold => &ascii::FONT_7X13_BOLD,
            Font::F6x10 => &ascii::FONT_6X10,
            Font::F5x8 => &ascii::FONT_5X8,
            Font::F4x6 => &ascii::FONT_4X6,
        }
    }

    /// The size of one character cell (all these fonts have no extra spacing).
    pub fn cell(self) -> Size {
        let f = self.mono();
        Size::new(
            f.character_size.width + f.character_spacing,
            f.character_size.height,
        )
    }
}

/// Big words: titles and the action.
const BIG: &[Font] = &[
    Font::F10x20,
    Font::F9x18Bold,
    Font::F9x15Bold,
    Font::F8x13Bold,
    Font::F7x13Bold,
    Font::F6x10,
    Font::F5x8,
    Font::F4x6,
];

/// Second lines under a title (the denial reason, the lockout time).
const MEDIUM: &[Font] = &[
    Font::F9x15Bold,
    Font::F8x13Bold,
    Font::F7x13Bold,
    Font::F6x10,
    Font::F5x8,
    Font::F4x6,
];

/// Hints.
const SMALL: &[Font] = &[Font::F6x10, Font::F5x8, Font::F4x6];

/// Small pictures drawn with primitives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Icon {
    /// Turn left.
    ArrowLeft,
    /// Turn right (drawn right of the words).
    ArrowRight,
    /// Look up.
    ArrowUp,
    /// Look down.
    ArrowDown,
    /// Pass.
    Tick,
    /// Denied.
    Cross,
    /// Locked out.
    Lock,
}

/// One thing drawn on the panel. [`Element::bounding_box`] is the rectangle it
/// stays inside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Element {
    /// One line of text with its top-left corner at `at`.
    Text { text: String, font: Font, at: Point },
    /// An icon filling the square `area`.
    Icon { icon: Icon, area: Rectangle },
    /// The countdown bar: `percent` (0..=100) of `area` filled from the left, inside
    /// a 1-pixel outline when `outline`.
    Bar {
        area: Rectangle,
        percent: u8,
        outline: bool,
    },
}

impl Element {
    /// The rectangle every pixel of this element is drawn inside.
    pub fn bounding_box(&self) -> Rectangle {
        match self {
            Element::Text { text, font, at } => {
                let cell = font.cell();
                let n = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
                Rectangle::new(*at, Size::new(cell.width.saturating_mul(n), cell.height))
            }
            Element::Icon { area, .. } | Element::Bar { area, .. } => *area,
        }
    }

    /// Paints the element (lit pixels only, except the lock's keyhole).
    pub fn draw<D: DrawTarget<Color = BinaryColor>>(&self, target: &mut D) -> Result<(), D::Error> {
        match self {
            Element::Text { text, font, at } => {
                let style = MonoTextStyle::new(font.mono(), BinaryColor::On);
                Text::with_baseline(text, *at, style, Baseline::Top).draw(target)?;
                Ok(())
            }
            Element::Icon { icon, area } => draw_icon(*icon, *area, target),
            Element::Bar {
                area,
                percent,
                outline,
            } => draw_bar(*area, *percent, *outline, target),
        }
    }
}

/// Draws `screen` on `target`, filling the target's whole bounding box.
pub fn draw<D: DrawTarget<Color = BinaryColor>>(
    screen: &Screen,
    target: &mut D,
) -> Result<(), D::Error> {
    let area = target.bounding_box();
    target.clear(BinaryColor::Off)?;
    let mut target = target.translated(area.top_left);
    for element in layout(screen, area.size) {
        element.draw(&mut target)?;
    }
    Ok(())
}

/// `screen` drawn into a new `width` x `height` framebuffer.
pub fn render(screen: &Screen, width: u32, height: u32) -> Framebuffer {
    let mut fb = Framebuffer::new(width, height);
    let Ok(()) = draw(screen, &mut fb);
    fb
}

/// "Try again in 4 min": whole minutes (rounded up) from 60 s, else seconds.
pub fn retry_words(secs_left: u32) -> String {
    match secs_left {
        0 => "Try again now".to_owned(),
        1..=59 => format!("Try again in {secs_left}\u{a0}s"),
        _ => format!("Try again in {}\u{a0}min", secs_left.div_ceil(60)),
    }
}

/// The arrow shown with a direction action.
pub fn action_icon(action: &str) -> Option<Icon> {
    match actions::index_of(action).map(|i| actions::ALL[i]) {
        Some("Turn_left") => Some(Icon::ArrowLeft),
        Some("Turn_right") => Some(Icon::ArrowRight),
        Some("Look_up") => Some(Icon::ArrowUp),
        Some("Look_down") => Some(Icon::ArrowDown),
        _ => None,
    }
}

/// Where everything of `screen` goes on a panel of `size`, with (0, 0) its top-left.
/// Every element's box lies inside the panel and overlaps no other.
pub fn layout(screen: &Screen, size: Size) -> Vec<Element> {
    let panel = Rectangle::new(Point::zero(), size);
    let mut elements = place(screen, size);
    // On a panel too small for a layout, what does not fit is left out.
    elements.retain(|e| {
        let bb = e.bounding_box();
        !bb.is_zero_sized() && panel.intersection(&bb) == bb
    });
    elements
}

fn place(screen: &Screen, size: Size) -> Vec<Element> {
    let compact = size.height < COMPACT_BELOW_HEIGHT;
    let part = |text: &str, fonts: &'static [Font], icon: Option<Icon>| Part {
        text: text.to_owned(),
        fonts,
        icon,
    };
    let parts = match screen {
        Screen::Action {
            action,
            step,
            total,
            secs_left,
            percent_left,
            ..
        } => {
            return action_layout(
                &actions::words(action),
                action_icon(action),
                (*step, *total),
                *secs_left,
                *percent_left,
                size,
            )
        }
        Screen::Idle if compact => vec![part("Step up\nto enter", BIG, None)],
        Screen::Idle => vec![
            part("Step up\nto enter", BIG, None),
            part("Look at the camera", SMALL, None),
        ],
        // The access-control panel's words alone, as big as they fit; a text too
        // long for the panel ends in "...".
        Screen::PanelText { text } => vec![part(text, BIG, None)],
        Screen::GetReady if compact => vec![part("Get ready", BIG, None)],
        Screen::GetReady => vec![
            part("Get ready", BIG, None),
            part("Follow the prompts", SMALL, None),
        ],
        Screen::Verifying if compact => vec![part("Checking...", BIG, None)],
        Screen::Verifying => vec![
            part("Checking...", BIG, None),
            part("Please wait", SMALL, None),
        ],
        Screen::Pass => vec![
            part("PASS", BIG, Some(Icon::Tick)),
            part("Welcome", BIG, None),
        ],
        Screen::Fail { reason } => vec![
            part("DENIED", BIG, Some(Icon::Cross)),
            part(reason.words(), MEDIUM, None),
        ],
        Screen::LockedOut { secs_left } => vec![
            part("Locked", BIG, Some(Icon::Lock)),
            part(&retry_words(*secs_left), MEDIUM, None),
        ],
        Screen::Guide { guidance } => vec![part(guidance.words(), BIG, None)],
        Screen::ConfigError => vec![
            part("Out of service", BIG, None),
            part("Config error", MEDIUM, None),
        ],
    };
    let gap = if compact { 1 } else { 4 };
    stack(&parts, size, gap)
}

/// A block of wrapped text, maybe with an icon on its left.
struct Part {
    text: String,
    /// Candidate fonts, preferred first.
    fonts: &'static [Font],
    icon: Option<Icon>,
}

/// Parts one under the other, centred; earlier parts get the bigger fonts as long as
/// the later ones still fit in their smallest.
fn stack(parts: &[Part], size: Size, gap: u32) -> Vec<Element> {
    let mut fitted = Vec::with_capacity(parts.len());
    let mut used = 0u32;
    for (i, part) in parts.iter().enumerate() {
        let rest: u32 = parts[i + 1..]
            .iter()
            .filter_map(|p| fit_smallest(p, size.width))
            .map(|f| f.size().height + gap)
            .sum();
        let gap_before = if used > 0 { gap } else { 0 };
        let avail = size.height.saturating_sub(used + gap_before + rest);
        if let Some(f) = fit(
            &part.text,
            Size::new(size.width, avail),
            part.fonts,
            part.icon,
        ) {
            used += gap_before + f.size().height;
            fitted.push(f);
        }
    }
    let mut y = i32::try_from(size.height.saturating_sub(used) / 2).unwrap_or(0);
    let mut out = Vec::new();
    for f in fitted {
        let h = f.size().height;
        out.extend(f.place(Rectangle::new(Point::new(0, y), Size::new(size.width, h))));
        y += to_i32(h + gap);
    }
    out
}

/// The action screen: header "Step 1/3 … 7s", the action's words, the countdown bar.
fn action_layout(
    words: &str,
    icon: Option<Icon>,
    (step, total): (u8, u8),
    secs_left: u16,
    percent_left: u8,
    size: Size,
) -> Vec<Element> {
    let compact = size.height < COMPACT_BELOW_HEIGHT;
    let (header_font, bar_h, body_gap, bar_gap) = if compact {
        (Font::F5x8, 3, 0, 1)
    } else {
        (Font::F6x10, 6, 1, 1)
    };
    let cell = header_font.cell();
    let mut out = Vec::new();

    // Header: the step on the left, the seconds on the right, both when they fit.
    let secs = format!("{secs_left}s");
    let secs_w = text_width(&secs, header_font);
    let step_long = format!("Step {step}/{total}");
    let step_short = format!("{step}/{total}");
    let room = size.width.saturating_sub(secs_w + cell.width);
    if secs_w <= size.width && cell.height <= size.height {
        let step_text = [step_long, step_short]
            .into_iter()
            .find(|s| text_width(s, header_font) <= room);
        if let Some(text) = step_text {
            out.push(Element::Text {
                text,
                font: header_font,
                at: Point::zero(),
            });
        }
        out.push(Element::Text {
            text: secs,
            font: header_font,
            at: Point::new(to_i32(size.width - secs_w), 0),
        });
    }

    // Countdown bar across the bottom.
    let bar_h = bar_h.min(size.height);
    out.push(Element::Bar {
        area: Rectangle::new(
            Point::new(0, to_i32(size.height - bar_h)),
            Size::new(size.width, bar_h),
        ),
        percent: percent_left.min(100),
        outline: !compact,
    });

    // The words in between, as big as they fit.
    let body_top = cell.height + body_gap;
    let body_h = size.height.saturating_sub(body_top + bar_h + bar_gap);
    let body = Rectangle::new(
        Point::new(0, to_i32(body_top)),
        Size::new(size.width, body_h),
    );
    if let Some(f) = fit(words, body.size, BIG, icon) {
        out.extend(f.place(body));
    }
    out
}

/// Text wrapped in one font, with its icon.
struct Fitted {
    font: Font,
    lines: Vec<String>,
    icon: Option<Icon>,
}

impl Fitted {
    fn icon_side(&self) -> u32 {
        match self.icon {
            Some(_) => self.font.cell().height,
            None => 0,
        }
    }

    fn text_size(&self) -> Size {
        let longest = self
            .lines
            .iter()
            .map(|l| text_width(l, self.font))
            .max()
            .unwrap_or(0);
        let n = u32::try_from(self.lines.len()).unwrap_or(u32::MAX);
        Size::new(longest, self.font.cell().height.saturating_mul(n))
    }

    fn size(&self) -> Size {
        let text = self.text_size();
        let icon = self.icon_side();
        let icon_w = if icon > 0 { icon + ICON_GAP } else { 0 };
        Size::new(text.width + icon_w, text.height.max(icon))
    }

    /// The elements centred in `area`; the icon goes left of the text, except a right
    /// arrow, which goes right.
    fn place(&self, area: Rectangle) -> Vec<Element> {
        let size = self.size();
        let text = self.text_size();
        let side = self.icon_side();
        let x0 = area.top_left.x + to_i32(area.size.width.saturating_sub(size.width) / 2);
        let y0 = area.top_left.y + to_i32(area.size.height.saturating_sub(size.height) / 2);
        let mut out = Vec::new();
        let mut text_x = x0;
        if let Some(icon) = self.icon {
            let icon_y = y0 + to_i32((size.height - side) / 2);
            let icon_x = if icon == Icon::ArrowRight {
                x0 + to_i32(text.width + ICON_GAP)
            } else {
                text_x += to_i32(side + ICON_GAP);
                x0
            };
            out.push(Element::Icon {
                icon,
                area: Rectangle::new(Point::new(icon_x, icon_y), Size::new(side, side)),
            });
        }
        let cell = self.font.cell();
        let text_y = y0 + to_i32((size.height - text.height) / 2);
        for (i, line) in self.lines.iter().enumerate() {
            let w = text_width(line, self.font);
            out.push(Element::Text {
                text: line.clone(),
                font: self.font,
                at: Point::new(
                    text_x + to_i32((text.width - w) / 2),
                    text_y + to_i32(cell.height) * i32::try_from(i).unwrap_or(0),
                ),
            });
        }
        out
    }
}

/// `part` in its smallest font at `width`, however many lines that takes.
fn fit_smallest(part: &Part, width: u32) -> Option<Fitted> {
    let font = *part.fonts.last()?;
    let max_chars = chars_per_line(width, font, part.icon);
    if max_chars == 0 {
        return None;
    }
    let (lines, _) = wrap(&part.text, max_chars);
    Some(Fitted {
        font,
        icon: icon_for(font, part.icon),
        lines,
    })
}

fn icon_for(font: Font, icon: Option<Icon>) -> Option<Icon> {
    icon.filter(|_| font.cell().height >= MIN_ICON)
}

fn chars_per_line(width: u32, font: Font, icon: Option<Icon>) -> usize {
    let cell = font.cell();
    let icon_w = match icon_for(font, icon) {
        Some(_) => cell.height + ICON_GAP,
        None => 0,
    };
    (width.saturating_sub(icon_w) / cell.width.max(1)) as usize
}

/// `text` in the first of `fonts` it fits in within `avail`, preferring a line break
/// after each comma: first without splitting a word, then splitting words longer than a line; failing both, the smallest font with
/// the lines that fit, the last ending in "...". `None` when not even that fits.
fn fit(text: &str, avail: Size, fonts: &[Font], icon: Option<Icon>) -> Option<Fitted> {
    for allow_split in [false, true] {
        for &font in fonts {
            let max_chars = chars_per_line(avail.width, font, icon);
            let max_lines = (avail.height / font.cell().height) as usize;
            if max_chars == 0 || max_lines == 0 {
                continue;
            }
            // Clauses on lines of their own ("Thumbs up," / "left hand") when that
            // fits as well as plain wrapping.
            for variant in [text.replace(", ", ",\n"), text.to_owned()] {
                let (lines, split) = wrap(&variant, max_chars);
                if lines.len() <= max_lines && (allow_split || !split) {
                    return Some(Fitted {
                        font,
                        lines: balance(&variant, lines, split, max_chars),
                        icon: icon_for(font, icon),
                    });
                }
            }
        }
    }
    let font = *fonts.last()?;
    let max_chars = chars_per_line(avail.width, font, icon);
    let max_lines = (avail.height / font.cell().height) as usize;
    if max_chars == 0 || max_lines == 0 {
        return None;
    }
    let (mut lines, _) = wrap(text, max_chars);
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            let keep = max_chars.saturating_sub(3).min(last.chars().count());
            *last = last.chars().take(keep).collect::<String>() + "...";
            *last = last.chars().take(max_chars).collect();
        }
    }
    Some(Fitted {
        font,
        lines,
        icon: icon_for(font, icon),
    })
}

/// Evens out the lines `wrap(text, max)` gave: the narrowest wrap with as many lines
/// and no more split words ("Victory sign," / "right hand", not "Victory sign, right"
/// / "hand").
fn balance(text: &str, lines: Vec<String>, split: bool, max: usize) -> Vec<String> {
    let mut best = lines;
    for narrower in (1..max).rev() {
        let (lines, more_split) = wrap(text, narrower);
        if lines.len() != best.len() || (more_split && !split) {
            break;
        }
        best = lines;
    }
    best
}

/// Word-wraps `text` into lines of at most `max` characters (`max` > 0). Breaks at
/// spaces and `\n`; a no-break space (U+00A0) joins words and is shown as a space. A
/// word longer than a line is split; the flag says whether that happened.
pub fn wrap(text: &str, max: usize) -> (Vec<String>, bool) {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut split = false;
    let normal: String = text
        .chars()
        .map(|c| {
            if c.is_whitespace() && c != '\n' && c != '\u{a0}' {
                ' '
            } else {
                c
            }
        })
        .collect();
    for para in normal.split('\n') {
        let mut line: Vec<char> = Vec::new();
        for word in para.split(' ').filter(|w| !w.is_empty()) {
            let mut word: Vec<char> = word.chars().collect();
            if !line.is_empty() && line.len() + 1 + word.len() <= max {
                line.push(' ');
                line.append(&mut word);
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            while word.len() > max {
                split = true;
                lines.push(word.drain(..max).collect());
            }
            line = word;
        }
        if !line.is_empty() {
            lines.push(line);
        }
    }
    let lines = lines
        .into_iter()
        .map(|l| {
            l.into_iter()
                .map(|c| if c == '\u{a0}' { ' ' } else { c })
                .collect()
        })
        .collect();
    (lines, split)
}

fn text_width(text: &str, font: Font) -> u32 {
    let n = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
    font.cell().width.saturating_mul(n)
}

fn to_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn draw_bar<D: DrawTarget<Color = BinaryColor>>(
    area: Rectangle,
    percent: u8,
    outline: bool,
    target: &mut D,
) -> Result<(), D::Error> {
    let inner = if outline {
        area.into_styled(
            PrimitiveStyleBuilder::new()
                .stroke_color(BinaryColor::On)
                .stroke_width(1)
                .stroke_alignment(StrokeAlignment::Inside)
                .build(),
        )
        .draw(target)?;
        area.offset(-1)
    } else {
        area
    };
    let percent = u32::from(percent.min(100));
    let filled = (inner.size.width * percent + 50) / 100;
    if filled > 0 && !inner.is_zero_sized() {
        Rectangle::new(inner.top_left, Size::new(filled, inner.size.height))
            .into_styled(PrimitiveStyle::with_fill(BinaryColor::On))
            .draw(target)?;
    }
    Ok(())
}

fn draw_icon<D: DrawTarget<Color = BinaryColor>>(
    icon: Icon,
    area: Rectangle,
    target: &mut D,
) -> Result<(), D::Error> {
    let s = to_i32(area.size.width.min(area.size.height));
    if s < 4 {
        return Ok(());
    }
    let o = area.top_left;
    let fill = PrimitiveStyle::with_fill(BinaryColor::On);
    match icon {
        Icon::ArrowLeft | Icon::ArrowRight | Icon::ArrowUp | Icon::ArrowDown => {
            // A right-pointing arrow in an s x s square, then turned.
            let m = s - 1;
            let turn = |x: i32, y: i32| -> Point {
                o + match icon {
                    Icon::ArrowLeft => Point::new(m - x, y),
                    Icon::ArrowUp => Point::new(y, m - x),
                    Icon::ArrowDown => Point::new(y, x),
                    _ => Point::new(x, y),
                }
            };
            let c = m / 2;
            let head = s * 9 / 20;
            Triangle::new(turn(m, c), turn(head, 0), turn(head, m))
                .into_styled(fill)
                .draw(target)?;
            let t = (s / 3).max(2);
            let top = c - t / 2;
            let (a, b) = (turn(0, top), turn(head, top + t - 1));
            Rectangle::with_corners(a, b)
                .into_styled(fill)
                .draw(target)?;
        }
        Icon::Tick => {
            let w = (s / 6).max(2);
            let i = w / 2 + 1;
            let m = s - 1;
            let stroke = PrimitiveStyle::with_stroke(BinaryColor::On, to_u32(w));
            let (a, b, c) = (
                o + Point::new(i, m * 11 / 20),
                o + Point::new(m * 2 / 5, m - i),
                o + Point::new(m - i, i + 1),
            );
            Line::new(a, b).into_styled(stroke).draw(target)?;
            Line::new(b, c).into_styled(stroke).draw(target)?;
        }
        Icon::Cross => {
            let w = (s / 6).max(2);
            let i = w / 2 + 1;
            let m = s - 1;
            let stroke = PrimitiveStyle::with_stroke(BinaryColor::On, to_u32(w));
            Line::new(o + Point::new(i, i), o + Point::new(m - i, m - i))
                .into_styled(stroke)
                .draw(target)?;
            Line::new(o + Point::new(m - i, i), o + Point::new(i, m - i))
                .into_styled(stroke)
                .draw(target)?;
        }
        Icon::Lock => {
            let m = s - 1;
            let w = (s / 8).max(1);
            let shackle =
                Rectangle::with_corners(o + Point::new(s / 5, 0), o + Point::new(m - s / 5, s / 2));
            shackle
                .into_styled(
                    PrimitiveStyleBuilder::new()
                        .stroke_color(BinaryColor::On)
                        .stroke_width(to_u32(w + 1))
                        .stroke_alignment(StrokeAlignment::Inside)
                        .build(),
                )
                .draw(target)?;
            let body = Rectangle::with_corners(o + Point::new(0, s * 2 / 5), o + Point::new(m, m));
            body.into_styled(fill).draw(target)?;
            let hole = Rectangle::with_corners(
                o + Point::new(m / 2 - w / 2, s * 3 / 5),
                o + Point::new(m / 2 - w / 2 + w, s * 4 / 5),
            );
            hole.into_styled(PrimitiveStyle::with_fill(BinaryColor::Off))
                .draw(target)?;
        }
    }
    Ok(())
}

fn to_u32(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::DenyReason;
    use embedded_graphics::mock_display::MockDisplay;
    use std::convert::Infallible;

    const REASONS: [DenyReason; 11] = DenyReason::ALL;

    /// 40 characters once readable; the words wrap badly on purpose.
    const LONG_UNKNOWN: &str = "Abcdefghij_klmnopqrstuvwxyz_0123456789ab";
    /// 40 characters without a space.
    const LONG_WORD: &str = "Pneumonoultramicroscopicsilicovolcanoses";

    fn action(name: &str, secs_left: u16, percent_left: u8) -> Screen {
        Screen::Action {
            action: name.to_owned(),
            step: 1,
            total: 3,
            secs_left,
            percent_left,
            prompt: 1,
        }
    }

    fn all_screens() -> Vec<Screen> {
        let mut v = vec![
            Screen::Idle,
            Screen::PanelText {
                text: "PLEASE SEE THE FRONT DESK".into(),
            },
            Screen::PanelText {
                text: "W".repeat(livegate_core::screen::PANEL_TEXT_CHARS),
            },
            Screen::GetReady,
            Screen::Verifying,
            Screen::Pass,
            Screen::ConfigError,
            Screen::LockedOut { secs_left: 0 },
            Screen::Guide {
                guidance: livegate_core::presence::Guidance::StepInFront,
            },
            Screen::Guide {
                guidance: livegate_core::presence::Guidance::FaceTheCamera,
            },
            Screen::Guide {
                guidance: livegate_core::presence::Guidance::MoveCloser,
            },
            Screen::LockedOut { secs_left: 45 },
            Screen::LockedOut { secs_left: 240 },
            Screen::LockedOut {
                secs_left: u32::MAX,
            },
        ];
        v.extend(REASONS.iter().map(|&reason| Screen::Fail { reason }));
        v.extend(actions::ALL.iter().map(|a| action(a, 7, 70)));
        v.push(action(LONG_UNKNOWN, 65535, 100));
        v.push(action(LONG_WORD, 0, 0));
        v
    }

    /// Records every pixel drawn, wherever it is.
    struct Recorder(Vec<Point>);

    impl OriginDimensions for Recorder {
        fn size(&self) -> Size {
            Size::new(4000, 4000)
        }
    }

    impl DrawTarget for Recorder {
        type Color = BinaryColor;
        type Error = Infallible;
        fn draw_iter<I: IntoIterator<Item = Pixel<BinaryColor>>>(
            &mut self,
            pixels: I,
        ) -> Result<(), Infallible> {
            self.0.extend(pixels.into_iter().map(|Pixel(p, _)| p));
            Ok(())
        }
    }

    /// The pixels `e` draws (drawn far from the edges, so nothing clips them).
    fn pixels_of(e: &Element) -> Vec<Point> {
        let offset = Point::new(2000, 2000);
        let mut rec = Recorder(Vec::new());
        let Ok(()) = e.draw(&mut rec.translated(offset));
        rec.0.into_iter().map(|p| p - offset).collect()
    }

    /// Asserts that every element lies inside the panel, draws only inside its box,
    /// and overlaps no other element; returns the elements.
    fn check_fits(screen: &Screen, size: Size) -> Vec<Element> {
        let panel = Rectangle::new(Point::zero(), size);
        let elements = layout(screen, size);
        for (i, e) in elements.iter().enumerate() {
            let bb = e.bounding_box();
            assert!(!bb.is_zero_sized(), "{screen:?} {size:?}: empty {e:?}");
            assert_eq!(
                panel.intersection(&bb),
                bb,
                "{screen:?} {size:?}: {e:?} is not inside the panel"
            );
            let pixels = pixels_of(e);
            let empty_bar = matches!(
                e,
                Element::Bar {
                    percent: 0,
                    outline: false,
                    ..
                }
            );
            assert!(
                !pixels.is_empty() || empty_bar,
                "{screen:?}: {e:?} draws nothing"
            );
            for p in pixels {
                assert!(bb.contains(p), "{screen:?} {size:?}: {e:?} draws at {p:?}");
            }
            for other in &elements[i + 1..] {
                assert!(
                    bb.intersection(&other.bounding_box()).is_zero_sized(),
                    "{screen:?} {size:?}: {e:?} overlaps {other:?}"
                );
            }
        }
        elements
    }

    fn texts(elements: &[Element]) -> Vec<(String, Font, Rectangle)> {
        elements
            .iter()
            .filter_map(|e| match e {
                Element::Text { text, font, .. } => Some((text.clone(), *font, e.bounding_box())),
                _ => None,
            })
            .collect()
    }

    fn squash(s: &str) -> String {
        s.chars().filter(|c| !c.is_whitespace()).collect()
    }

    const FULL: Size = Size::new(128, 64);
    const COMPACT: Size = Size::new(128, 32);

    #[test]
    fn every_action_and_long_unknown_names_fit_whole() {
        let mut names: Vec<&str> = actions::ALL.to_vec();
        names.extend([LONG_UNKNOWN, LONG_WORD, "Some_new_action"]);
        for size in [FULL, COMPACT] {
            let (header_h, bar_top) = if size == FULL { (10, 58) } else { (8, 29) };
            for name in &names {
                let words = actions::words(name);
                let screen = action(name, 7, 70);
                let elements = check_fits(&screen, size);
                let texts = texts(&elements);
                assert_eq!(texts[0].0, "Step 1/3", "{name}");
                assert_eq!(texts[0].2.top_left, Point::zero());
                assert_eq!(texts[1].0, "7s", "{name}");
                assert_eq!(
                    texts[1].2.bottom_right(),
                    Some(Point::new(127, header_h - 1))
                );
                let body = &texts[2..];
                for (_, _, bb) in body {
                    assert!(bb.top_left.y >= header_h, "{name} {size:?}: {bb:?}");
                    // A blank row above the bar.
                    assert!(bb.top_left.y + (bb.size.height as i32) < bar_top);
                }
                let shown: String = body.iter().map(|(t, _, _)| t.as_str()).collect();
                assert_eq!(squash(&shown), squash(&words), "{name} {size:?}: truncated");
                let bars = elements
                    .iter()
                    .filter(|e| matches!(e, Element::Bar { .. }))
                    .count();
                assert_eq!(bars, 1);
                if *name != LONG_WORD {
                    // No word is split: every word is inside one line.
                    for word in words.split(' ') {
                        assert!(
                            body.iter().any(|(t, _, _)| t.split(' ').any(|w| w == word)),
                            "{name} {size:?}: {word:?} split across lines"
                        );
                    }
                }
                if size == FULL && actions::index_of(name).is_some() {
                    // Arm's length: known actions never go below 9x15.
                    assert!(
                        body.iter().all(|(_, f, _)| f.cell().width >= 9),
                        "{name}: {body:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn direction_actions_get_an_arrow_on_their_side() {
        for (name, icon) in [
            ("Turn_left", Icon::ArrowLeft),
            ("Turn_right", Icon::ArrowRight),
            ("Look_up", Icon::ArrowUp),
            ("Look_down", Icon::ArrowDown),
        ] {
            let elements = check_fits(&action(name, 7, 70), FULL);
            let (got, area) = elements
                .iter()
                .find_map(|e| match e {
                    Element::Icon { icon, area } => Some((*icon, *area)),
                    _ => None,
                })
                .unwrap();
            assert_eq!(got, icon, "{name}");
            let word = texts(&elements)[2].2;
            assert_eq!(texts(&elements)[2].1, Font::F10x20, "{name}");
            if icon == Icon::ArrowRight {
                assert!(area.top_left.x > word.top_left.x, "{name}");
            } else {
                assert!(area.top_left.x < word.top_left.x, "{name}");
            }
        }
        let smile = layout(&action("Smile", 7, 70), FULL);
        assert!(!smile.iter().any(|e| matches!(e, Element::Icon { .. })));
    }

    #[test]
    fn every_deny_reason_fits_under_denied() {
        for size in [FULL, COMPACT] {
            for reason in REASONS {
                let elements = check_fits(&Screen::Fail { reason }, size);
                let texts = texts(&elements);
                assert_eq!(texts[0].0, "DENIED");
                assert_eq!(texts[0].1, Font::F10x20, "{reason:?} {size:?}");
                let rest: String = texts[1..].iter().map(|(t, _, _)| t.as_str()).collect();
                assert_eq!(squash(&rest), squash(reason.words()), "{reason:?} {size:?}");
                let denied_bottom = texts[0].2.top_left.y + 20;
                assert!(texts[1..]
                    .iter()
                    .all(|(_, _, bb)| bb.top_left.y >= denied_bottom));
                assert!(elements.iter().any(|e| matches!(
                    e,
                    Element::Icon {
                        icon: Icon::Cross,
                        ..
                    }
                )));
            }
        }
    }

    #[test]
    fn every_screen_fits_both_panels_and_odd_sizes_do_not_spill() {
        for screen in all_screens() {
            for size in [FULL, COMPACT] {
                let elements = check_fits(&screen, size);
                assert!(!elements.is_empty(), "{screen:?} {size:?}");
            }
            for (w, h) in [(64, 48), (96, 16), (32, 32), (200, 100), (8, 8), (0, 0)] {
                check_fits(&screen, Size::new(w, h));
            }
        }
    }

    #[test]
    fn draws_inside_a_64x64_mock_display() {
        for screen in all_screens() {
            let mut display = MockDisplay::<BinaryColor>::new();
            display.set_allow_overdraw(true);
            // MockDisplay panics on any pixel outside its 64x64.
            draw(&screen, &mut display).unwrap();
            let lit = display
                .bounding_box()
                .points()
                .filter(|&p| display.get_pixel(p) == Some(BinaryColor::On))
                .count();
            assert!(lit > 20, "{screen:?}: {lit} lit pixels");
        }
    }

    /// The lit columns of row `y`.
    fn lit_row(fb: &Framebuffer, y: u32) -> Vec<u32> {
        (0..fb.width()).filter(|&x| fb.get(x, y)).collect()
    }

    #[test]
    fn countdown_bar_is_proportional_to_time_left() {
        for (percent, filled) in [(0u8, 0u32), (50, 63), (100, 126), (255, 126)] {
            let fb = render(&action("Smile", 7, percent), 128, 64);
            for y in 59..=62 {
                let mut want: Vec<u32> = (1..=filled).collect();
                want.insert(0, 0);
                want.push(127);
                assert_eq!(lit_row(&fb, y), want, "{percent}% row {y}");
            }
            // The outline.
            assert_eq!(lit_row(&fb, 58), (0..128).collect::<Vec<_>>());
            assert_eq!(lit_row(&fb, 63), (0..128).collect::<Vec<_>>());
            assert_eq!(lit_row(&fb, 57), Vec::<u32>::new(), "gap above the bar");
        }
        for (percent, filled) in [(0u8, 0u32), (50, 64), (100, 128)] {
            let fb = render(&action("Smile", 7, percent), 128, 32);
            for y in 29..=31 {
                assert_eq!(
                    lit_row(&fb, y),
                    (0..filled).collect::<Vec<_>>(),
                    "{percent}%"
                );
            }
        }
    }

    #[test]
    fn lockout_time_reads_in_minutes_from_a_minute() {
        assert_eq!(retry_words(0), "Try again now");
        assert_eq!(retry_words(45), "Try again in 45\u{a0}s");
        assert_eq!(retry_words(59), "Try again in 59\u{a0}s");
        assert_eq!(retry_words(60), "Try again in 1\u{a0}min");
        assert_eq!(retry_words(61), "Try again in 2\u{a0}min");
        assert_eq!(retry_words(240), "Try again in 4\u{a0}min");
        for size in [FULL, COMPACT] {
            let elements = check_fits(&Screen::LockedOut { secs_left: 240 }, size);
            let texts = texts(&elements);
            assert_eq!(texts[0].0, "Locked");
            assert!(
                texts.iter().any(|(t, _, _)| t.ends_with("4 min")),
                "{size:?}: {texts:?}"
            );
        }
    }

    #[test]
    fn wraps_on_spaces_and_splits_only_overlong_words() {
        let w = |t: &str, max| wrap(t, max);
        assert_eq!(
            w("Victory sign, right hand", 14),
            (vec!["Victory sign,".into(), "right hand".into()], false)
        );
        assert_eq!(
            w("Step up\nto  enter", 20),
            (vec!["Step up".into(), "to enter".into()], false)
        );
        assert_eq!(
            w("in 4\u{a0}min", 4),
            (vec!["in".into(), "4 mi".into(), "n".into()], true)
        );
        assert_eq!(
            w("Try again in 4\u{a0}min", 14),
            (vec!["Try again in".into(), "4 min".into()], false)
        );
        assert_eq!(
            w("ab abcdefg", 3),
            (
                vec!["ab".into(), "abc".into(), "def".into(), "g".into()],
                true
            )
        );
        assert_eq!(w("", 5), (vec![], false));
    }

    #[test]
    fn lines_are_balanced() {
        let elements = layout(&action("Victory_right_hand", 7, 70), COMPACT);
        let lines: Vec<String> = texts(&elements)[2..].iter().map(|t| t.0.clone()).collect();
        assert_eq!(lines, ["Victory sign,", "right hand"]);
    }

    #[test]
    fn a_panel_too_small_gets_an_ellipsis() {
        let elements = check_fits(&action(LONG_UNKNOWN, 7, 70), Size::new(64, 24));
        let last = texts(&elements).last().unwrap().0.clone();
        assert!(last.ends_with("..."), "{last}");
    }

    #[test]
    fn rendering_is_deterministic_and_fills_the_target() {
        for screen in all_screens() {
            assert_eq!(render(&screen, 128, 64), render(&screen, 128, 64));
        }
        // Whatever was on the panel before is cleared.
        let mut fb = Framebuffer::new(128, 64);
        fb.set(127, 63, true);
        let Ok(()) = draw(&Screen::Verifying, &mut fb);
        assert_eq!(fb, render(&Screen::Verifying, 128, 64));
        assert!(!fb.get(127, 63));
    }
}

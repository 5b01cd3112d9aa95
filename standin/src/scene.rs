//! The simulated scene: what the simulated camera draws, and how the API stand-in
//! reads it back out of the JPEG.
//!
//! A picture has two parts. The top shows something a person recognises: a room,
//! a head whose pose follows the action, a hand for hand actions, a framed photo for
//! a spoof, and the action's words. The bottom twelfth is a machine-readable marker
//! strip of [`CELLS`] black/white cells: `B W`, 8 payload bits (2 bits of kind, 6 bits
//! of action index), a 4-bit CRC of the payload, then `B B`. [`read`] averages the
//! luminance in the middle of each cell; a cell that is not clearly dark or light, a
//! wrong sync pattern or a wrong CRC makes the picture [`Seen::Unreadable`], never a
//! wrong subject.
//!
//! The picture is what a camera that does not mirror sees: the person's left hand is
//! on the image's right, and turning left moves the face toward the image's right.
//! A horizontally mirrored picture is [`Seen::Unreadable`] for [`read`]; [`read_oriented`]
//! recognises it and says it is mirrored.

use std::io::Cursor;

use embedded_graphics::mono_font::{ascii, MonoFont, MonoTextStyle};
use embedded_graphics::pixelcolor::Rgb888;
use embedded_graphics::prelude::{
    DrawTarget, Drawable, OriginDimensions, Pixel, Point, RgbColor, Size,
};
use embedded_graphics::text::{Baseline, Text};
use image::{GrayImage, ImageReader, Limits, Rgb, RgbImage};

use livegate_core::actions::{self, ALL};

/// Who is in front of the simulated camera, doing what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Nobody in the picture.
    Nobody,
    /// A still photo held up to the camera (a spoof).
    Still,
    /// A live person not doing any action.
    Neutral,
    /// A live person doing the action with this index in [`livegate_core::actions::ALL`].
    Doing(usize),
}

/// What a reader found in an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    Subject(Subject),
    /// The image decoded but carries no readable scene marker.
    Unreadable,
}

#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error("cannot encode JPEG: {0}")]
    Encode(String),
    #[error("not a JPEG image: {0}")]
    Decode(String),
}

/// A marker found in an image, with the direction it was read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    pub subject: Subject,
    /// The image is a horizontal mirror of what [`render`] drew.
    pub mirrored: bool,
}

/// Number of cells in the marker strip.
pub const CELLS: usize = 16;
/// Smallest picture [`render`] draws (the marker needs room).
pub const MIN_SIZE: (u32, u32) = (64, 48);
/// Largest width or height [`render`] draws and [`read`] decodes.
pub const MAX_SIDE: u32 = 4096;

const START: [bool; 2] = [false, true];
const END: [bool; 2] = [false, false];
/// Mean luminance below this is a black cell.
const DARK_BELOW: u64 = 80;
/// Mean luminance above this is a white cell.
const LIGHT_ABOVE: u64 = 176;

/// Draws `subject` into a `width`x`height` picture and encodes it as JPEG.
pub fn render(
    width: u32,
    height: u32,
    subject: Subject,
    quality: u8,
) -> Result<Vec<u8>, SceneError> {
    if width < MIN_SIZE.0 || height < MIN_SIZE.1 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(SceneError::Encode(format!(
            "picture size {width}x{height} outside {}x{}..={MAX_SIDE}x{MAX_SIDE}",
            MIN_SIZE.0, MIN_SIZE.1
        )));
    }
    let cells = marker_cells(subject)
        .ok_or_else(|| SceneError::Encode(format!("no action has index {subject:?}")))?;
    let img = draw(width, height, subject, &cells);
    let mut out = Vec::with_capacity((width * height / 8) as usize);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode_image(&img)
        .map_err(|e| SceneError::Encode(e.to_string()))?;
    Ok(out)
}

/// Decodes a JPEG and reads the scene marker the simulated camera drew into it.
///
/// A PNG is accepted too (the API takes both). A mirrored picture is unreadable.
pub fn read(jpeg: &[u8]) -> Result<Seen, SceneError> {
    Ok(match read_oriented(jpeg)? {
        Some(Reading {
            subject,
            mirrored: false,
        }) => Seen::Subject(subject),
        _ => Seen::Unreadable,
    })
}

/// Like [`read`], but also reads a horizontally mirrored marker and says so.
/// `None` when the image carries no readable marker.
pub fn read_oriented(jpeg: &[u8]) -> Result<Option<Reading>, SceneError> {
    let luma = decode_luma(jpeg)?;
    let Some(cells) = sample_cells(&luma) else {
        return Ok(None);
    };
    if let Some(subject) = decode_cells(&cells) {
        return Ok(Some(Reading {
            subject,
            mirrored: false,
        }));
    }
    let mut reversed = cells;
    reversed.reverse();
    Ok(decode_cells(&reversed).map(|subject| Reading {
        subject,
        mirrored: true,
    }))
}

/// Reads the scene marker from a grey picture already decoded (`width * height`
/// bytes, row by row): the simulated face detector reads the detector's small view
/// this way. `None` when there is no readable, unmirrored marker.
pub fn read_grey(width: u32, height: u32, luma: &[u8]) -> Option<Subject> {
    let img = GrayImage::from_raw(width, height, luma.to_vec())?;
    decode_cells(&sample_cells(&img)?)
}

/// Where the face is in a `width`x`height` picture of `subject`, as (x, y, width,
/// height) in pixels: the head's ellipse, or the face in the held-up photo. `None`
/// when nobody is drawn (the simulated face detector reports this box).
pub fn face_box(width: u32, height: u32, subject: Subject) -> Option<(f32, f32, f32, f32)> {
    let (strip_top, _) = strip_rows(height);
    let scene = Area {
        x0: 0.0,
        y0: 0.0,
        x1: width as f32,
        y1: strip_top as f32,
    };
    let area = match subject {
        Subject::Nobody => return None,
        Subject::Still => photo_layout(scene).1,
        Subject::Neutral | Subject::Doing(_) => scene,
    };
    let (cx, cy, rx, ry) = head(area);
    Some((cx - rx, cy - ry, 2.0 * rx, 2.0 * ry))
}

/// The marker cells for `subject`, left to right (`true` = white); `None` for an
/// action index outside [`ALL`].
pub fn marker_cells(subject: Subject) -> Option<[bool; CELLS]> {
    let payload = payload(subject)?;
    let crc = crc4(payload);
    let mut cells = [false; CELLS];
    cells[..2].copy_from_slice(&START);
    for bit in 0..8 {
        cells[2 + bit] = payload & (0x80 >> bit) != 0;
    }
    for bit in 0..4 {
        cells[10 + bit] = crc & (0x8 >> bit) != 0;
    }
    cells[CELLS - 2..].copy_from_slice(&END);
    Some(cells)
}

fn payload(subject: Subject) -> Option<u8> {
    match subject {
        Subject::Nobody => Some(0),
        Subject::Still => Some(1 << 6),
        Subject::Neutral => Some(2 << 6),
        Subject::Doing(i) if i < ALL.len() => u8::try_from(i).ok().map(|i| (3 << 6) | i),
        Subject::Doing(_) => None,
    }
}

/// CRC-4 (x^4 + x + 1) of one byte: detects every single flipped cell.
fn crc4(byte: u8) -> u8 {
    let mut reg: u8 = 0;
    for bit in (0..8).rev() {
        let top = ((reg >> 3) & 1) ^ ((byte >> bit) & 1);
        reg = (reg << 1) & 0xf;
        if top != 0 {
            reg ^= 0x3;
        }
    }
    reg
}

fn decode_cells(cells: &[bool; CELLS]) -> Option<Subject> {
    if cells[..2] != START || cells[CELLS - 2..] != END {
        return None;
    }
    let payload = cells[2..10]
        .iter()
        .fold(0u8, |acc, &b| (acc << 1) | u8::from(b));
    let crc = cells[10..14]
        .iter()
        .fold(0u8, |acc, &b| (acc << 1) | u8::from(b));
    if crc4(payload) != crc {
        return None;
    }
    let index = usize::from(payload & 0x3f);
    match payload >> 6 {
        0 if index == 0 => Some(Subject::Nobody),
        1 if index == 0 => Some(Subject::Still),
        2 if index == 0 => Some(Subject::Neutral),
        3 if index < ALL.len() => Some(Subject::Doing(index)),
        _ => None,
    }
}

fn decode_luma(bytes: &[u8]) -> Result<GrayImage, SceneError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| SceneError::Decode(e.to_string()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(256 << 20);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| SceneError::Decode(e.to_string()))?;
    Ok(img.into_luma8())
}

/// The rows of the marker strip in a picture `height` pixels tall.
fn strip_rows(height: u32) -> (u32, u32) {
    let h = (height / 12).max(4).min(height);
    (height - h, height)
}

/// The columns of marker cell `i` in a picture `width` pixels wide.
fn cell_columns(i: usize, width: u32) -> (u32, u32) {
    let w = u64::from(width);
    let n = CELLS as u64;
    let i = i as u64;
    // Both bounds are at most `width`, so they fit in u32.
    ((i * w / n) as u32, ((i + 1) * w / n) as u32)
}

/// The middle half of a span, never empty for a span of at least one pixel.
fn middle(span: (u32, u32)) -> (u32, u32) {
    let len = span.1.saturating_sub(span.0);
    let lo = span.0 + len / 4;
    let hi = (span.1 - len / 4).max(lo + 1);
    (lo, hi)
}

fn sample_cells(luma: &GrayImage) -> Option<[bool; CELLS]> {
    let (width, height) = luma.dimensions();
    if width < CELLS as u32 || height < 4 {
        return None;
    }
    let (y0, y1) = middle(strip_rows(height));
    let mut cells = [false; CELLS];
    for (i, cell) in cells.iter_mut().enumerate() {
        let (x0, x1) = middle(cell_columns(i, width));
        let mut sum = 0u64;
        let mut count = 0u64;
        for y in y0..y1.min(height) {
            for x in x0..x1.min(width) {
                sum += u64::from(luma.get_pixel(x, y).0[0]);
                count += 1;
            }
        }
        let mean = sum.checked_div(count)?;
        *cell = if mean < DARK_BELOW {
            false
        } else if mean > LIGHT_ABOVE {
            true
        } else {
            return None;
        };
    }
    Some(cells)
}

// ---------------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------------

const WALL: Rgb<u8> = Rgb([214, 205, 186]);
const FLOOR: Rgb<u8> = Rgb([146, 116, 86]);
const SKIRTING: Rgb<u8> = Rgb([96, 74, 56]);
const DOOR: Rgb<u8> = Rgb([170, 132, 94]);
const DOOR_EDGE: Rgb<u8> = Rgb([120, 90, 62]);
const KNOB: Rgb<u8> = Rgb([230, 200, 90]);
const SKIN: Rgb<u8> = Rgb([236, 194, 158]);
const SKIN_SHADE: Rgb<u8> = Rgb([206, 160, 126]);
const SKIN_BACK: Rgb<u8> = Rgb([214, 170, 136]);
const HAIR: Rgb<u8> = Rgb([70, 48, 34]);
const SHIRT: Rgb<u8> = Rgb([58, 92, 158]);
const EYE_WHITE: Rgb<u8> = Rgb([250, 250, 250]);
const PUPIL: Rgb<u8> = Rgb([30, 30, 40]);
const LIPS: Rgb<u8> = Rgb([150, 50, 56]);
const MOUTH_IN: Rgb<u8> = Rgb([70, 16, 26]);
const LINE: Rgb<u8> = Rgb([120, 80, 60]);
const FRAME: Rgb<u8> = Rgb([118, 118, 118]);
const MAT: Rgb<u8> = Rgb([244, 244, 240]);
const PHOTO_BG: Rgb<u8> = Rgb([168, 190, 212]);
const TEXT: Rgb888 = Rgb888::new(30, 30, 30);

/// A rectangle in pixel coordinates: `x0..x1`, `y0..y1`.
#[derive(Clone, Copy, Debug)]
struct Area {
    x0: f32,
    y0: f32,
    x1: f32,
    y1: f32,
}

impl Area {
    fn w(&self) -> f32 {
        self.x1 - self.x0
    }
    fn h(&self) -> f32 {
        self.y1 - self.y0
    }
}

/// Draws into an image, clipped to a rectangle.
struct Painter<'a> {
    img: &'a mut RgbImage,
    clip: (i64, i64, i64, i64),
}

impl Painter<'_> {
    fn clip_to(&mut self, a: Area) {
        let (w, h) = self.img.dimensions();
        self.clip = (
            (a.x0.round() as i64).max(0),
            (a.y0.round() as i64).max(0),
            (a.x1.round() as i64).min(i64::from(w)),
            (a.y1.round() as i64).min(i64::from(h)),
        );
    }

    /// Fills pixels `x0..x1` of row `y`.
    fn span(&mut self, y: i64, x0: i64, x1: i64, c: Rgb<u8>) {
        let (cx0, cy0, cx1, cy1) = self.clip;
        if y < cy0 || y >= cy1 {
            return;
        }
        let (x0, x1) = (x0.max(cx0), x1.min(cx1));
        if x0 >= x1 {
            return;
        }
        let width = i64::from(self.img.width());
        // All values are inside the image after clipping, so they are non-negative.
        let start = ((y * width + x0) * 3) as usize;
        let end = ((y * width + x1) * 3) as usize;
        let buf: &mut [u8] = self.img.as_mut();
        if let Some(row) = buf.get_mut(start..end) {
            for px in row.chunks_exact_mut(3) {
                px.copy_from_slice(&c.0);
            }
        }
    }

    fn rect(&mut self, x0: f32, y0: f32, x1: f32, y1: f32, c: Rgb<u8>) {
        let (ya, yb) = (y0.round() as i64, y1.round() as i64);
        let (xa, xb) = (x0.round() as i64, x1.round() as i64);
        for y in ya..yb {
            self.span(y, xa, xb, c);
        }
    }

    fn ellipse(&mut self, cx: f32, cy: f32, rx: f32, ry: f32, c: Rgb<u8>) {
        if rx <= 0.0 || ry <= 0.0 {
            return;
        }
        let ya = (cy - ry).floor() as i64;
        let yb = (cy + ry).ceil() as i64;
        for y in ya..=yb {
            let dy = (y as f32 + 0.5 - cy) / ry;
            let k = 1.0 - dy * dy;
            if k <= 0.0 {
                continue;
            }
            let half = rx * k.sqrt();
            self.span(y, (cx - half).round() as i64, (cx + half).round() as i64, c);
        }
    }

    /// A thick line with round ends, stamped as discs.
    fn line(&mut self, a: (f32, f32), b: (f32, f32), thick: f32, c: Rgb<u8>) {
        let r = (thick / 2.0).max(0.5);
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let steps = ((len / (r * 0.5).max(0.5)).ceil() as usize).max(1);
        for s in 0..=steps {
            let t = s as f32 / steps as f32;
            self.ellipse(a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t, r, r, c);
        }
    }
}

/// Lets embedded-graphics print text into the image.
struct TextTarget<'a>(&'a mut RgbImage);

impl OriginDimensions for TextTarget<'_> {
    fn size(&self) -> Size {
        Size::new(self.0.width(), self.0.height())
    }
}

impl DrawTarget for TextTarget<'_> {
    type Color = Rgb888;
    type Error = std::convert::Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Self::Error>
    where
        I: IntoIterator<Item = Pixel<Self::Color>>,
    {
        let (w, h) = self.0.dimensions();
        for Pixel(p, c) in pixels {
            if let (Ok(x), Ok(y)) = (u32::try_from(p.x), u32::try_from(p.y)) {
                if x < w && y < h {
                    self.0.put_pixel(x, y, Rgb([c.r(), c.g(), c.b()]));
                }
            }
        }
        Ok(())
    }
}

fn print(img: &mut RgbImage, text: &str, at: Point, font: &MonoFont<'_>) {
    let style = MonoTextStyle::new(font, TEXT);
    let mut target = TextTarget(img);
    // Drawing into an image cannot fail (the error type is Infallible).
    let _ = Text::with_baseline(text, at, style, Baseline::Top).draw(&mut target);
}

/// The mouth of a face.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mouth {
    Closed,
    Open,
    Smile,
}

/// The thumb of a hand.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Thumb {
    Out,
    Up,
    Folded,
    /// Touches the index finger in a ring (OK sign).
    Ring,
}

/// A hand gesture: which of index, middle, ring and little finger are up.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Hand {
    up: [bool; 4],
    thumb: Thumb,
    /// Index and middle finger spread in a V.
    spread: bool,
    /// The back of the hand faces the camera.
    back: bool,
    /// Palm lines drawn (palm toward the camera, shown on purpose).
    creases: bool,
}

impl Hand {
    const OPEN: Hand = Hand {
        up: [true; 4],
        thumb: Thumb::Out,
        spread: false,
        back: false,
        creases: false,
    };
    const FIST: Hand = Hand {
        up: [false; 4],
        thumb: Thumb::Folded,
        ..Hand::OPEN
    };
}

/// How the person in the picture holds head and hands.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Pose {
    /// Face shift in head radii: + is the image's right / down.
    face: (f32, f32),
    mouth: Mouth,
    /// The hand, and whether it is on the image's left.
    hand: Option<(Hand, bool)>,
}

const NEUTRAL: Pose = Pose {
    face: (0.0, 0.0),
    mouth: Mouth::Closed,
    hand: None,
};

fn pose(index: usize) -> Pose {
    let Some(name) = ALL.get(index) else {
        return NEUTRAL;
    };
    let face = |dx: f32, dy: f32, mouth| Pose {
        face: (dx, dy),
        mouth,
        hand: None,
    };
    match *name {
        // The person's left is the image's right.
        "Turn_left" => face(0.36, 0.0, Mouth::Closed),
        "Turn_right" => face(-0.36, 0.0, Mouth::Closed),
        "Look_up" => face(0.0, -0.3, Mouth::Closed),
        "Look_down" => face(0.0, 0.3, Mouth::Closed),
        "Open_mouth" => face(0.0, 0.0, Mouth::Open),
        "Smile" => face(0.0, 0.0, Mouth::Smile),
        "Left_hand" => hand_pose(Hand::OPEN, false),
        "Right_hand" => hand_pose(Hand::OPEN, true),
        other => {
            let (gesture, image_left) = if let Some(g) = other.strip_suffix("_left_hand") {
                (g, false)
            } else if let Some(g) = other.strip_suffix("_right_hand") {
                (g, true)
            } else {
                return NEUTRAL;
            };
            hand_pose(gesture_shape(gesture), image_left)
        }
    }
}

fn hand_pose(hand: Hand, image_left: bool) -> Pose {
    Pose {
        hand: Some((hand, image_left)),
        ..NEUTRAL
    }
}

fn gesture_shape(gesture: &str) -> Hand {
    let fingers = |up: [bool; 4]| Hand { up, ..Hand::FIST };
    match gesture {
        "Like" => Hand {
            thumb: Thumb::Up,
            ..Hand::FIST
        },
        "I_love_you" => Hand {
            up: [true, false, false, true],
            ..Hand::OPEN
        },
        "Ok" => Hand {
            up: [false, true, true, true],
            thumb: Thumb::Ring,
            ..Hand::OPEN
        },
        "Handful" => Hand::FIST,
        "One" => fingers([true, false, false, false]),
        "Two" => fingers([true, true, false, false]),
        "Three" => fingers([true, true, true, false]),
        "Four" => fingers([true; 4]),
        "Forehand" => Hand {
            creases: true,
            ..Hand::OPEN
        },
        "Backhand" => Hand {
            back: true,
            ..Hand::OPEN
        },
        "Victory" => Hand {
            spread: true,
            ..fingers([true, true, false, false])
        },
        _ => Hand::OPEN,
    }
}

fn label(subject: Subject) -> String {
    match subject {
        Subject::Nobody => "Nobody there".to_owned(),
        Subject::Still => "A photo held up".to_owned(),
        Subject::Neutral => "Live person".to_owned(),
        Subject::Doing(i) => ALL
            .get(i)
            .map(|a| actions::words(a).into_owned())
            .unwrap_or_default(),
    }
}

fn draw(width: u32, height: u32, subject: Subject, cells: &[bool; CELLS]) -> RgbImage {
    let mut img = RgbImage::from_pixel(width, height, WALL);
    let (strip_top, _) = strip_rows(height);
    let mut photo_margin = None;
    let scene = Area {
        x0: 0.0,
        y0: 0.0,
        x1: width as f32,
        y1: strip_top as f32,
    };
    {
        let mut p = Painter {
            img: &mut img,
            clip: (0, 0, 0, 0),
        };
        p.clip_to(scene);
        draw_room(&mut p, scene);
        match subject {
            Subject::Nobody => {}
            Subject::Still => photo_margin = Some(draw_photo(&mut p, scene)),
            Subject::Neutral => draw_person(&mut p, scene, NEUTRAL),
            Subject::Doing(i) => draw_person(&mut p, scene, pose(i)),
        }
        p.clip = (0, 0, i64::from(width), i64::from(height));
        for (i, &white) in cells.iter().enumerate() {
            let (x0, x1) = cell_columns(i, width);
            let c = if white { Rgb([255; 3]) } else { Rgb([0; 3]) };
            for y in strip_top..height {
                p.span(i64::from(y), i64::from(x0), i64::from(x1), c);
            }
        }
    }
    let font = if width >= 480 && height >= 240 {
        &ascii::FONT_10X20
    } else {
        &ascii::FONT_6X10
    };
    let margin = (height / 40).max(2) as i32;
    print(&mut img, &label(subject), Point::new(margin, margin), font);
    if let Some(m) = photo_margin {
        let small = if m.h() >= 22.0 {
            &ascii::FONT_10X20
        } else {
            &ascii::FONT_6X10
        };
        let text_w = 5.0 * small.character_size.width as f32;
        let text_h = small.character_size.height as f32;
        if m.h() >= text_h && m.w() >= text_w {
            let at = Point::new(
                (m.x0 + (m.w() - text_w) / 2.0) as i32,
                (m.y0 + (m.h() - text_h) / 2.0) as i32,
            );
            print(&mut img, "PHOTO", at, small);
        }
    }
    img
}

fn draw_room(p: &mut Painter<'_>, s: Area) {
    let floor_y = s.y0 + s.h() * 0.8;
    p.rect(s.x0, floor_y, s.x1, s.y1, FLOOR);
    p.rect(s.x0, floor_y - s.h() * 0.015, s.x1, floor_y, SKIRTING);
    let (dx0, dx1) = (s.x0 + s.w() * 0.76, s.x0 + s.w() * 0.92);
    let dy0 = s.y0 + s.h() * 0.18;
    let edge = (s.w() * 0.008).max(1.0);
    p.rect(dx0 - edge, dy0 - edge, dx1 + edge, floor_y, DOOR_EDGE);
    p.rect(dx0, dy0, dx1, floor_y, DOOR);
    let knob = (s.w() * 0.008).max(1.0);
    p.ellipse(
        dx0 + (dx1 - dx0) * 0.15,
        dy0 + (floor_y - dy0) * 0.55,
        knob,
        knob,
        KNOB,
    );
}

/// The held-up photo's frame, the picture inside it and the frame's width (as
/// drawn), in the scene `s`.
fn photo_layout(s: Area) -> (Area, Area, f32) {
    let ph = s.h() * 0.78;
    let pw = (ph * 0.75).min(s.w() * 0.6);
    let cx = s.x0 + s.w() * 0.5;
    let outer = Area {
        x0: cx - pw / 2.0,
        y0: s.y0 + s.h() * 0.12,
        x1: cx + pw / 2.0,
        y1: s.y0 + s.h() * 0.12 + ph,
    };
    let border = (pw * 0.05).max(2.0);
    let mat = (pw * 0.05).max(2.0);
    let bottom = (ph * 0.12).max(4.0);
    let picture = Area {
        x0: outer.x0 + border + mat,
        y0: outer.y0 + border + mat,
        x1: outer.x1 - border - mat,
        y1: outer.y1 - border - bottom,
    };
    (outer, picture, pw)
}

/// Draws a framed photo of a person; returns the white margin below the picture.
fn draw_photo(p: &mut Painter<'_>, s: Area) -> Area {
    let (outer, picture, pw) = photo_layout(s);
    let border = (pw * 0.05).max(2.0);
    p.rect(outer.x0, outer.y0, outer.x1, outer.y1, FRAME);
    p.rect(
        outer.x0 + border,
        outer.y0 + border,
        outer.x1 - border,
        outer.y1 - border,
        MAT,
    );
    p.rect(picture.x0, picture.y0, picture.x1, picture.y1, PHOTO_BG);
    let scene_clip = p.clip;
    p.clip_to(picture);
    draw_person(p, picture, NEUTRAL);
    p.clip = scene_clip;
    // Fingers holding the photo at its lower corners.
    let f = pw * 0.07;
    for x in [outer.x0, outer.x1] {
        p.ellipse(x, outer.y1 - f * 1.5, f * 0.6, f, SKIN);
        p.ellipse(x, outer.y1 - f * 3.2, f * 0.6, f, SKIN);
    }
    Area {
        x0: picture.x0,
        y0: picture.y1,
        x1: picture.x1,
        y1: outer.y1 - border,
    }
}

/// The head's ellipse of a person drawn in `s`: centre and radii (x, y, rx, ry).
fn head(s: Area) -> (f32, f32, f32, f32) {
    let ry = (s.h() * 0.22).min(s.w() * 0.3);
    (s.x0 + s.w() * 0.5, s.y0 + s.h() * 0.46, ry * 0.78, ry)
}

fn draw_person(p: &mut Painter<'_>, s: Area, pose: Pose) {
    let (cx, cy, rx, ry) = head(s);
    // Shoulders and neck.
    p.ellipse(cx, s.y1 + ry * 0.25, rx * 2.6, ry * 1.05, SHIRT);
    p.rect(
        cx - rx * 0.38,
        cy + ry * 0.6,
        cx + rx * 0.38,
        s.y1 - ry * 0.6,
        SKIN_SHADE,
    );
    // Hair behind the head, ears on the sides the face does not turn to.
    p.ellipse(cx, cy - ry * 0.14, rx * 1.05, ry * 0.93, HAIR);
    let (dx, dy) = pose.face;
    if dx <= 0.0 {
        p.ellipse(
            cx + rx * 0.98,
            cy + ry * 0.05,
            rx * 0.16,
            ry * 0.2,
            SKIN_SHADE,
        );
    }
    if dx >= 0.0 {
        p.ellipse(
            cx - rx * 0.98,
            cy + ry * 0.05,
            rx * 0.16,
            ry * 0.2,
            SKIN_SHADE,
        );
    }
    p.ellipse(cx, cy, rx, ry, SKIN);
    draw_face(p, cx + dx * rx, cy + dy * ry, rx, ry, pose);
    if let Some((hand, image_left)) = pose.hand {
        let unit = ry * 0.7;
        let off = (rx * 2.5).min(s.w() * 0.5 - unit);
        let hx = if image_left { cx - off } else { cx + off };
        draw_hand(p, s, hx, cy + ry * 0.1, unit, hand, image_left);
    }
}

fn draw_face(p: &mut Painter<'_>, fx: f32, fy: f32, rx: f32, ry: f32, pose: Pose) {
    let (dx, dy) = pose.face;
    for side in [-1.0f32, 1.0] {
        let ex = fx + side * rx * 0.38;
        let ey = fy - ry * 0.16;
        p.rect(
            ex - rx * 0.2,
            ey - ry * 0.22,
            ex + rx * 0.2,
            ey - ry * 0.17,
            HAIR,
        );
        p.ellipse(ex, ey, rx * 0.19, ry * 0.1, EYE_WHITE);
        p.ellipse(
            ex + dx * rx * 0.2,
            ey + dy * ry * 0.15,
            rx * 0.08,
            rx * 0.08,
            PUPIL,
        );
    }
    p.ellipse(
        fx + dx * rx * 0.18,
        fy + ry * 0.12,
        rx * 0.09,
        ry * 0.14,
        SKIN_SHADE,
    );
    let my = fy + ry * 0.45;
    match pose.mouth {
        Mouth::Closed => {
            let t = (ry * 0.03).max(1.0);
            p.rect(fx - rx * 0.26, my - t, fx + rx * 0.26, my + t, LIPS);
        }
        Mouth::Open => {
            p.ellipse(fx, my, rx * 0.27, ry * 0.2, LIPS);
            p.ellipse(fx, my, rx * 0.21, ry * 0.15, MOUTH_IN);
        }
        Mouth::Smile => {
            p.ellipse(fx, my - ry * 0.02, rx * 0.4, ry * 0.2, LIPS);
            p.ellipse(fx, my - ry * 0.1, rx * 0.44, ry * 0.18, SKIN);
        }
    }
}

/// Draws a hand centred at (`hx`, `hy`), palm `u` pixels wide, with its forearm.
fn draw_hand(p: &mut Painter<'_>, s: Area, hx: f32, hy: f32, u: f32, hand: Hand, image_left: bool) {
    let skin = if hand.back { SKIN_BACK } else { SKIN };
    let (px0, px1) = (hx - u * 0.5, hx + u * 0.5);
    let (py0, py1) = (hy - u * 0.45, hy + u * 0.5);
    // Sleeve and forearm down to the bottom of the scene.
    p.rect(hx - u * 0.3, py1 - u * 0.1, hx + u * 0.3, s.y1, SHIRT);
    p.rect(
        hx - u * 0.26,
        py1 - u * 0.1,
        hx + u * 0.26,
        py1 + u * 0.5,
        skin,
    );
    p.rect(px0, py0, px1, py1, skin);
    p.ellipse(hx, py1, u * 0.5, u * 0.12, skin);
    // Palm toward the camera: the thumb is on the side of the body (the image's
    // centre); the back of the hand shows the thumb on the outer side.
    let thumb_right = image_left != hand.back;
    let dir = if thumb_right { 1.0 } else { -1.0 };
    let slot = u / 4.0;
    let fw = slot * 0.8;
    let lengths = [0.8, 0.9, 0.82, 0.62];
    for (k, &up) in hand.up.iter().enumerate() {
        // Slot 0 (index finger) is next to the thumb.
        let pos = if thumb_right { 3 - k } else { k };
        let fx = px0 + slot * (pos as f32 + 0.5);
        if up {
            let len = u * lengths[k];
            if hand.spread && k < 2 {
                let tilt = if k == 0 { dir } else { -dir } * u * 0.28;
                p.line((fx, py0 + fw * 0.5), (fx + tilt, py0 - len), fw, skin);
            } else {
                p.rect(
                    fx - fw / 2.0,
                    py0 - len,
                    fx + fw / 2.0,
                    py0 + fw * 0.5,
                    skin,
                );
                p.ellipse(fx, py0 - len, fw / 2.0, fw / 2.0, skin);
            }
            if hand.back {
                p.ellipse(fx, py0 + u * 0.08, fw * 0.25, fw * 0.15, SKIN_SHADE);
            }
        } else {
            // A folded finger: a knuckle on top of the palm.
            p.ellipse(fx, py0, fw * 0.55, u * 0.12, skin);
            p.rect(
                fx - fw * 0.45,
                py0 + u * 0.02,
                fx + fw * 0.45,
                py0 + u * 0.04,
                LINE,
            );
        }
    }
    let tx = if thumb_right { px1 } else { px0 };
    let tw = u * 0.24;
    match hand.thumb {
        Thumb::Out => p.line(
            (tx, hy + u * 0.2),
            (tx + dir * u * 0.45, hy - u * 0.3),
            tw,
            skin,
        ),
        Thumb::Up => p.line(
            (tx - dir * tw * 0.5, py0),
            (tx - dir * tw * 0.5, py0 - u * 0.75),
            tw,
            skin,
        ),
        Thumb::Folded => {
            p.line(
                (tx, hy + u * 0.15),
                (tx - dir * u * 0.6, hy + u * 0.05),
                tw,
                SKIN_SHADE,
            );
        }
        Thumb::Ring => {
            let rcx = px0 + slot * (if thumb_right { 3.5 } else { 0.5 }) + dir * u * 0.15;
            let rcy = py0 - u * 0.12;
            p.ellipse(rcx, rcy, u * 0.3, u * 0.3, skin);
            p.ellipse(rcx, rcy, u * 0.14, u * 0.14, WALL);
        }
    }
    if hand.creases {
        let t = (u * 0.025).max(1.0);
        p.line(
            (px0 + u * 0.15, hy - u * 0.1),
            (px1 - u * 0.15, hy - u * 0.18),
            t,
            LINE,
        );
        p.line(
            (px0 + u * 0.2, hy + u * 0.15),
            (px1 - u * 0.2, hy + u * 0.05),
            t,
            LINE,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_subjects() -> Vec<Subject> {
        let mut v = vec![Subject::Nobody, Subject::Still, Subject::Neutral];
        v.extend((0..ALL.len()).map(Subject::Doing));
        v
    }

    fn encode(img: &RgbImage, quality: u8) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
            .encode_image(img)
            .unwrap();
        out
    }

    fn decode_rgb(jpeg: &[u8]) -> RgbImage {
        image::load_from_memory(jpeg).unwrap().into_rgb8()
    }

    #[test]
    fn every_subject_round_trips_at_640x480_q80() {
        for subject in all_subjects() {
            let jpeg = render(640, 480, subject, 80).unwrap();
            assert_eq!(&jpeg[..2], &[0xff, 0xd8], "{subject:?} is not a JPEG");
            assert_eq!(read(&jpeg).unwrap(), Seen::Subject(subject), "{subject:?}");
        }
    }

    #[test]
    fn extreme_sizes_and_qualities_round_trip() {
        let samples = [
            (160, 120, 30, Subject::Doing(29)),
            (160, 120, 30, Subject::Still),
            (160, 120, 30, Subject::Doing(0)),
            (161, 121, 30, Subject::Neutral),
            (1920, 1080, 95, Subject::Doing(17)),
            (1920, 1080, 95, Subject::Nobody),
            (333, 777, 55, Subject::Doing(12)),
        ];
        for (w, h, q, subject) in samples {
            let jpeg = render(w, h, subject, q).unwrap();
            let img = decode_rgb(&jpeg);
            assert_eq!(img.dimensions(), (w, h));
            assert_eq!(read(&jpeg).unwrap(), Seen::Subject(subject), "{w}x{h} q{q}");
        }
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(
            read(b"not an image at all"),
            Err(SceneError::Decode(_))
        ));
        assert!(matches!(read(&[]), Err(SceneError::Decode(_))));
        let jpeg = render(160, 120, Subject::Neutral, 80).unwrap();
        assert!(matches!(read(&jpeg[..20]), Err(SceneError::Decode(_))));
        // A JPEG cut short may decode partly; its marker is gone either way.
        assert!(!matches!(
            read(&jpeg[..jpeg.len() / 3]),
            Ok(Seen::Subject(_))
        ));
    }

    #[test]
    fn a_picture_without_marker_is_unreadable() {
        let grey = RgbImage::from_pixel(640, 480, Rgb([128, 128, 128]));
        assert_eq!(read(&encode(&grey, 80)).unwrap(), Seen::Unreadable);
        let white = RgbImage::from_pixel(320, 240, Rgb([255, 255, 255]));
        assert_eq!(read(&encode(&white, 80)).unwrap(), Seen::Unreadable);
        let black = RgbImage::from_pixel(320, 240, Rgb([0, 0, 0]));
        assert_eq!(read(&encode(&black, 80)).unwrap(), Seen::Unreadable);
    }

    #[test]
    fn a_corrupted_cell_makes_the_marker_unreadable() {
        let (w, h) = (320, 240);
        let subject = Subject::Doing(21);
        let clean = decode_rgb(&render(w, h, subject, 90).unwrap());
        assert_eq!(read(&encode(&clean, 90)).unwrap(), Seen::Subject(subject));
        let (y0, y1) = strip_rows(h);
        for cell in 0..CELLS {
            let (x0, x1) = cell_columns(cell, w);
            for paint in ["invert", "grey"] {
                let mut img = clean.clone();
                for y in y0..y1 {
                    for x in x0..x1 {
                        let px = img.get_pixel_mut(x, y);
                        px.0 = match paint {
                            "invert" => px.0.map(|v| 255 - v),
                            _ => [128; 3],
                        };
                    }
                }
                assert_eq!(
                    read(&encode(&img, 90)).unwrap(),
                    Seen::Unreadable,
                    "cell {cell} painted {paint}"
                );
            }
        }
    }

    #[test]
    fn a_mirrored_picture_is_unreadable_but_recognised_as_mirrored() {
        for subject in [
            Subject::Doing(0),
            Subject::Doing(7),
            Subject::Nobody,
            Subject::Still,
        ] {
            let jpeg = render(400, 300, subject, 70).unwrap();
            let mirrored = image::imageops::flip_horizontal(&decode_rgb(&jpeg));
            let bytes = encode(&mirrored, 70);
            assert_eq!(read(&bytes).unwrap(), Seen::Unreadable);
            assert_eq!(
                read_oriented(&bytes).unwrap(),
                Some(Reading {
                    subject,
                    mirrored: true
                })
            );
            assert_eq!(
                read_oriented(&jpeg).unwrap(),
                Some(Reading {
                    subject,
                    mirrored: false
                })
            );
        }
    }

    #[test]
    fn png_is_read_too() {
        let img = decode_rgb(&render(200, 150, Subject::Doing(3), 90).unwrap());
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(read(&png).unwrap(), Seen::Subject(Subject::Doing(3)));
    }

    #[test]
    fn invalid_requests_are_encode_errors() {
        assert!(matches!(
            render(640, 480, Subject::Doing(ALL.len()), 80),
            Err(SceneError::Encode(_))
        ));
        assert!(matches!(
            render(0, 480, Subject::Neutral, 80),
            Err(SceneError::Encode(_))
        ));
        assert!(matches!(
            render(63, 480, Subject::Neutral, 80),
            Err(SceneError::Encode(_))
        ));
        assert!(matches!(
            render(MAX_SIDE + 1, 480, Subject::Neutral, 80),
            Err(SceneError::Encode(_))
        ));
        // Quality outside 1..=100 is clamped, not refused.
        let jpeg = render(160, 120, Subject::Neutral, 0).unwrap();
        assert_eq!(read(&jpeg).unwrap(), Seen::Subject(Subject::Neutral));
    }

    #[test]
    fn marker_codes_are_distinct_and_each_single_flip_is_detected() {
        let subjects = all_subjects();
        let codes: Vec<_> = subjects.iter().map(|&s| marker_cells(s).unwrap()).collect();
        for (i, a) in codes.iter().enumerate() {
            assert_eq!(decode_cells(a), Some(subjects[i]));
            for b in &codes[i + 1..] {
                assert_ne!(a, b);
            }
            for bit in 0..CELLS {
                let mut flipped = *a;
                flipped[bit] = !flipped[bit];
                assert_eq!(decode_cells(&flipped), None, "{:?} bit {bit}", subjects[i]);
            }
        }
        // Every 16-cell pattern that decodes is one of the codes above.
        let decodable = (0u32..1 << CELLS)
            .filter(|n| {
                let mut cells = [false; CELLS];
                for (k, c) in cells.iter_mut().enumerate() {
                    *c = n & (1 << k) != 0;
                }
                decode_cells(&cells).is_some()
            })
            .count();
        assert_eq!(decodable, subjects.len());
    }

    /// Writes one PNG per kind of picture to /tmp for a person to look at.
    /// Run with `cargo test --lib camera::scene -- --ignored`.
    #[test]
    #[ignore]
    fn write_samples_for_viewing() {
        for subject in all_subjects() {
            let jpeg = render(640, 480, subject, 80).unwrap();
            let name = match subject {
                Subject::Doing(i) => format!("/tmp/scene_{i:02}_{}.png", ALL[i]),
                other => format!("/tmp/scene_{other:?}.png"),
            };
            decode_rgb(&jpeg).save(&name).unwrap();
        }
        // Contact sheets: face actions and the special kinds, then hand actions.
        let sheets: [(&str, Vec<Subject>, u32); 2] = [
            (
                "/tmp/scene_sheet_face.png",
                [Subject::Nobody, Subject::Still, Subject::Neutral]
                    .into_iter()
                    .chain((0..6).map(Subject::Doing))
                    .collect(),
                3,
            ),
            (
                "/tmp/scene_sheet_hand.png",
                (6..30).map(Subject::Doing).collect(),
                6,
            ),
        ];
        for (name, subjects, cols) in sheets {
            let (tw, th) = (320, 240);
            let rows = (subjects.len() as u32).div_ceil(cols);
            let mut sheet = RgbImage::new(tw * cols, th * rows);
            for (k, s) in subjects.into_iter().enumerate() {
                let img = decode_rgb(&render(tw, th, s, 90).unwrap());
                let k = k as u32;
                image::imageops::replace(
                    &mut sheet,
                    &img,
                    i64::from(k % cols * tw),
                    i64::from(k / cols * th),
                );
            }
            sheet.save(name).unwrap();
        }
    }
}

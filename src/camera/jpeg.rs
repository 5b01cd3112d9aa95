//! The pure half of the V4L2 camera: which pixel format to ask for, whether the
//! camera's JPEG can be passed through, the JPEG check (with the missing-DHT fix of
//! many UVC webcams), YUV → RGB conversion, mirror/rotation and JPEG encoding.
//!
//! # Whose "left"
//!
//! Actions name the person's own side: `Turn_left` means "turn to *your* left". The
//! API judges pictures as an ordinary (unmirrored) camera facing the person sees
//! them. A camera configured with `mirror = true` delivers a mirror image; it is
//! flipped back here ([`needs_flip`]) before anything is sent, so the API always
//! receives an unmirrored picture and the daemon keeps asking for the person's own
//! left or right, whatever the camera does.
//!
//! Nothing here touches a device, a clock or a file.

use std::borrow::Cow;
use std::io::Cursor;

use bytes::Bytes;
use image::imageops::FilterType;
use image::{ImageReader, Limits, RgbImage};

use super::encode;

/// Which pixel format family the configuration asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FormatPreference {
    /// MJPEG when offered at the wanted size, else uncompressed YUV.
    #[default]
    Auto,
    /// MJPEG only.
    Mjpeg,
    /// Uncompressed YUV only: YUYV first, then UYVY, NV12, YU12.
    Yuyv,
}

words!(FormatPreference { Auto => "auto", Mjpeg => "mjpeg", Yuyv => "yuyv" });

/// A pixel format livegate can turn into JPEG.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Motion JPEG: one JPEG per frame (FourCC `MJPG` or `JPEG`).
    Mjpeg,
    /// Packed 4:2:2, `Y0 U Y1 V` (FourCC `YUYV`, alias `YUY2`).
    Yuyv,
    /// Packed 4:2:2, `U Y0 V Y1` (FourCC `UYVY`).
    Uyvy,
    /// Planar 4:2:0: a Y plane then interleaved `U V` (FourCC `NV12`).
    Nv12,
    /// Planar 4:2:0: Y, U, then V planes (FourCC `YU12`, alias `I420`).
    Yu12,
}

/// The order in which formats are tried: MJPEG, then the YUV formats.
const RANK: [PixelFormat; 5] = [
    PixelFormat::Mjpeg,
    PixelFormat::Yuyv,
    PixelFormat::Uyvy,
    PixelFormat::Nv12,
    PixelFormat::Yu12,
];

impl PixelFormat {
    /// The format of a FourCC, if livegate can convert it.
    pub fn from_fourcc(fourcc: [u8; 4]) -> Option<Self> {
        match &fourcc {
            b"MJPG" | b"JPEG" => Some(PixelFormat::Mjpeg),
            b"YUYV" | b"YUY2" => Some(PixelFormat::Yuyv),
            b"UYVY" => Some(PixelFormat::Uyvy),
            b"NV12" => Some(PixelFormat::Nv12),
            b"YU12" | b"I420" => Some(PixelFormat::Yu12),
            _ => None,
        }
    }

    /// Its usual name.
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Mjpeg => "MJPEG",
            PixelFormat::Yuyv => "YUYV",
            PixelFormat::Uyvy => "UYVY",
            PixelFormat::Nv12 => "NV12",
            PixelFormat::Yu12 => "YU12",
        }
    }

    /// Offsets of Y0, U, Y1 and V in a 4-byte macropixel of a packed 4:2:2 format
    /// (YUYV; UYVY otherwise).
    pub fn macropixel(self) -> (usize, usize, usize, usize) {
        if self == PixelFormat::Uyvy {
            (1, 0, 3, 2)
        } else {
            (0, 1, 2, 3)
        }
    }

    /// Uncompressed YUV (converted to JPEG by livegate).
    pub fn is_raw(self) -> bool {
        self != PixelFormat::Mjpeg
    }

    fn allowed_by(self, pref: FormatPreference) -> bool {
        match pref {
            FormatPreference::Auto => true,
            FormatPreference::Mjpeg => !self.is_raw(),
            FormatPreference::Yuyv => self.is_raw(),
        }
    }

    fn rank(self) -> usize {
        RANK.iter().position(|f| *f == self).unwrap_or(RANK.len())
    }
}

/// A FourCC as text, with unprintable bytes as `?`.
pub fn fourcc_text(fourcc: [u8; 4]) -> String {
    fourcc
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '?'
            }
        })
        .collect()
}

/// Rotation applied to the picture, clockwise (the one rotation type, shared with
/// the panel).
pub use crate::rotation::Rotation;

/// Whether a frame must be flipped horizontally before it is sent: exactly when the
/// camera mirrors (see the module doc: the API always gets an unmirrored picture).
pub fn needs_flip(mirror: bool) -> bool {
    mirror
}

/// Frame sizes a device offers for one format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeRange {
    /// Exactly this size.
    Discrete { width: u32, height: u32 },
    /// Any size on this grid (continuous ranges have a step of 1).
    Stepwise {
        min_width: u32,
        max_width: u32,
        step_width: u32,
        min_height: u32,
        max_height: u32,
        step_height: u32,
    },
}

impl SizeRange {
    /// The smallest size of this range at least `(w, h)` in each dimension, or the
    /// range's largest where it cannot reach that.
    fn nearest(&self, w: u32, h: u32) -> (u32, u32) {
        match *self {
            SizeRange::Discrete { width, height } => (width, height),
            SizeRange::Stepwise {
                min_width,
                max_width,
                step_width,
                min_height,
                max_height,
                step_height,
            } => (
                grid_at_least(w, min_width, max_width, step_width),
                grid_at_least(h, min_height, max_height, step_height),
            ),
        }
    }
}

impl std::fmt::Display for SizeRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            SizeRange::Discrete { width, height } => write!(f, "{width}x{height}"),
            SizeRange::Stepwise {
                min_width,
                max_width,
                step_width,
                min_height,
                max_height,
                step_height,
            } => write!(
                f,
                "{min_width}x{min_height} to {max_width}x{max_height} \
                 in steps of {step_width}x{step_height}"
            ),
        }
    }
}

/// The smallest value of `min, min+step, …, max` that is `>= want`, or `max`.
fn grid_at_least(want: u32, min: u32, max: u32, step: u32) -> u32 {
    let max = max.max(min);
    if want <= min {
        return min;
    }
    if want >= max {
        return max;
    }
    let step = u64::from(step.max(1));
    let above = u64::from(want - min).div_ceil(step) * step;
    // `above < max - min + step`, so the sum fits in u64; clamp it into the range.
    u32::try_from(u64::from(min) + above).map_or(max, |v| v.min(max))
}

/// One pixel format a device offers, as plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedFormat {
    pub fourcc: [u8; 4],
    /// The driver's description ("Motion-JPEG").
    pub description: String,
    /// The sizes offered; empty when the driver does not list them.
    pub sizes: Vec<SizeRange>,
}

/// What the configuration asks the camera for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub preference: FormatPreference,
}

/// The format to request, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatChoice {
    /// The FourCC exactly as the device offers it.
    pub fourcc: [u8; 4],
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// The size is the wanted one.
    pub exact: bool,
    /// One sentence for logs and commissioning.
    pub reason: String,
}

/// No offered format can be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no usable pixel format (format = \"{}\" allows {allowed}); the camera offers: {offered}", .preference.as_str())]
pub struct ChoiceError {
    pub preference: FormatPreference,
    /// The formats the preference allows, as text.
    pub allowed: String,
    /// What the device offers, as text.
    pub offered: String,
}

/// Picks the format to request.
///
/// In preference order (MJPEG, then YUYV, UYVY, NV12, YU12, limited by
/// `wanted.preference`): the first format offered at exactly the wanted size; else the
/// first whose driver lists no sizes (the wanted size is requested and the driver
/// adjusts it); else the closest size of any allowed format. "Closest": the smallest
/// size (by area) at least as large as the wanted one in both dimensions, or, when no
/// size is that large, the largest size; ties go to the format earlier in the order.
/// The frame is then scaled and centre-cropped to the wanted size (see [`plan`]).
pub fn choose_format(
    offered: &[OfferedFormat],
    wanted: &Wanted,
) -> Result<FormatChoice, ChoiceError> {
    let (w, h) = (wanted.width, wanted.height);
    let mut usable: Vec<(PixelFormat, &OfferedFormat)> = offered
        .iter()
        .filter_map(|o| PixelFormat::from_fourcc(o.fourcc).map(|f| (f, o)))
        .filter(|(f, _)| f.allowed_by(wanted.preference))
        .collect();
    usable.sort_by_key(|(f, _)| f.rank());
    let Some(&(first, _)) = usable.first() else {
        return Err(ChoiceError {
            preference: wanted.preference,
            allowed: RANK
                .iter()
                .filter(|f| f.allowed_by(wanted.preference))
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", "),
            offered: offered_text(offered),
        });
    };
    let fps = wanted.fps;
    let choice = |format: PixelFormat, o: &OfferedFormat, (width, height), reason| FormatChoice {
        fourcc: o.fourcc,
        format,
        width,
        height,
        exact: (width, height) == (w, h),
        reason,
    };
    let skipped = |format: PixelFormat| -> String {
        let better: Vec<&str> = RANK
            .iter()
            .take_while(|f| **f != format)
            .filter(|f| f.allowed_by(wanted.preference))
            .map(|f| f.name())
            .collect();
        if better.is_empty() {
            String::new()
        } else {
            format!(" ({} not offered at that size)", better.join(", "))
        }
    };
    let convert = |format: PixelFormat| {
        if format.is_raw() {
            "; livegate encodes each frame to JPEG"
        } else {
            ""
        }
    };

    if let Some(&(format, o)) = usable
        .iter()
        .find(|(_, o)| o.sizes.iter().any(|s| s.nearest(w, h) == (w, h)))
    {
        let reason = format!(
            "{} offered at {w}x{h}{}{}; asking for {fps} fps",
            format.name(),
            skipped(format),
            convert(format)
        );
        return Ok(choice(format, o, (w, h), reason));
    }
    if let Some(&(format, o)) = usable.iter().find(|(_, o)| o.sizes.is_empty()) {
        let reason = format!(
            "{} offered, its sizes not listed by the driver: asking for {w}x{h} at {fps} fps{}",
            format.name(),
            convert(format)
        );
        return Ok(choice(format, o, (w, h), reason));
    }
    let best = usable
        .iter()
        .flat_map(|&(format, o)| {
            o.sizes.iter().map(move |s| {
                let size = s.nearest(w, h);
                (size_cost(size, (w, h), format.rank()), format, o, size)
            })
        })
        .min_by_key(|candidate| candidate.0);
    let Some((_, format, o, size)) = best else {
        // Unreachable in practice: every usable format has sizes here.
        let reason = format!("{} offered without sizes", first.name());
        return Ok(choice(first, usable[0].1, (w, h), reason));
    };
    let how = if size.0 >= w && size.1 >= h {
        "the smallest offered size that covers it"
    } else {
        "nothing larger is offered"
    };
    let reason = format!(
        "{w}x{h} not offered; closest is {} {}x{} ({how}), scaled and cropped to {w}x{h}; \
         asking for {fps} fps",
        format.name(),
        size.0,
        size.1
    );
    Ok(choice(format, o, size, reason))
}

/// Sort key of a candidate size: covering sizes first, smallest area first; then
/// the others, largest area first; then the format's rank.
fn size_cost(size: (u32, u32), wanted: (u32, u32), rank: usize) -> (u8, u64, usize) {
    let area = u64::from(size.0) * u64::from(size.1);
    if size.0 >= wanted.0 && size.1 >= wanted.1 {
        (0, area, rank)
    } else {
        (1, u64::MAX - area, rank)
    }
}

/// The offered formats as one line: `MJPG (Motion-JPEG), YUYV (YUYV 4:2:2)`.
pub fn offered_text(offered: &[OfferedFormat]) -> String {
    if offered.is_empty() {
        return "nothing".to_owned();
    }
    offered
        .iter()
        .map(|o| format!("{} ({})", fourcc_text(o.fourcc), o.description))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the driver granted: format, size and bytes per line (0 when unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Granted {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub stride: u32,
}

/// The picture livegate sends: the configured size (the camera's orientation),
/// then mirror and rotation, encoded at `quality`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    pub width: u32,
    pub height: u32,
    pub mirror: bool,
    pub rotation: Rotation,
    pub quality: u8,
}

impl OutputSpec {
    /// Width and height of the JPEG sent (swapped by 90° and 270°).
    pub fn out_size(&self) -> (u32, u32) {
        if self.rotation.swaps_sides() {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }

    /// Mirror or rotation must be applied.
    pub fn transforms(&self) -> bool {
        needs_flip(self.mirror) || self.rotation != Rotation::R0
    }
}

/// How each frame becomes the JPEG sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The camera's JPEG, checked (and given the standard DHT if it lacks one).
    PassThrough,
    /// Mirror and rotate the camera's JPEG losslessly in the DCT domain (no decode,
    /// no re-encode); decoded and re-encoded only when its sides are not whole MCUs.
    Lossless,
    /// Decode the camera's JPEG, scale, transform, re-encode.
    DecodeJpeg,
    /// Convert YUV to RGB, transform, encode.
    ConvertRaw,
}

/// The route of a granted format, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub route: Route,
    /// The granted size differs from the configured one: scale and centre-crop.
    pub scale: bool,
    /// One sentence for logs and commissioning.
    pub reason: String,
}

/// Decides how frames of `granted` become the JPEG sent: MJPEG bytes pass through
/// unchanged only when the granted size is the configured size and neither mirror
/// nor rotation is needed; otherwise they are decoded, transformed and re-encoded.
pub fn plan(granted: &Granted, out: &OutputSpec) -> Plan {
    let same_size = (granted.width, granted.height) == (out.width, out.height);
    let mut why = Vec::new();
    if !same_size {
        why.push(format!(
            "scale {}x{} to {}x{}",
            granted.width, granted.height, out.width, out.height
        ));
    }
    if needs_flip(out.mirror) {
        why.push("flip the mirrored picture".to_owned());
    }
    if out.rotation != Rotation::R0 {
        why.push(format!("rotate {}°", out.rotation.degrees()));
    }
    let (route, reason) = match granted.format {
        PixelFormat::Mjpeg if why.is_empty() => (
            Route::PassThrough,
            "the camera's JPEG frames are sent unchanged".to_owned(),
        ),
        PixelFormat::Mjpeg if same_size => (
            Route::Lossless,
            format!(
                "the camera's JPEG frames are transformed losslessly ({}), without re-encoding",
                why.join(", ")
            ),
        ),
        PixelFormat::Mjpeg => (
            Route::DecodeJpeg,
            format!(
                "the camera's JPEG frames are decoded to {} and re-encoded at quality {}",
                why.join(", "),
                out.quality
            ),
        ),
        raw => {
            let mut what = format!(
                "{} frames are encoded to 4:2:0 JPEG at quality {} when sent",
                raw.name(),
                out.quality
            );
            if !why.is_empty() {
                what.push_str(&format!(" (after: {})", why.join(", ")));
            }
            (Route::ConvertRaw, what)
        }
    };
    Plan {
        route,
        scale: !same_size,
        reason,
    }
}

/// Why bytes are not a usable JPEG.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JpegError {
    #[error("not a JPEG (no start-of-image marker)")]
    NoSoi,
    #[error("truncated JPEG (no end-of-image marker)")]
    NoEoi,
    #[error("malformed JPEG header at byte {0}")]
    Malformed(usize),
    #[error("JPEG has no image data (no start-of-scan marker)")]
    NoScan,
}

/// What the header walk of a JPEG found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JpegInfo {
    /// A DHT (Huffman table) segment comes before the scan.
    pub has_dht: bool,
    /// Offset of the first SOS marker.
    pub sos: usize,
    /// Width and height from the frame header, when there is one before the scan.
    pub size: Option<(u32, u32)>,
}

/// Checks cheaply that `bytes` is one JPEG: SOI at the start, EOI at the end
/// (trailing zero padding, which some drivers leave, is cut off). Returns the JPEG.
pub fn check_jpeg(bytes: &[u8]) -> Result<&[u8], JpegError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(JpegError::NoSoi);
    }
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let jpeg = &bytes[..end];
    if jpeg.len() < 4 || !jpeg.ends_with(&[0xFF, 0xD9]) {
        return Err(JpegError::NoEoi);
    }
    Ok(jpeg)
}

/// Walks the marker segments of a JPEG up to its first scan.
pub fn jpeg_info(jpeg: &[u8]) -> Result<JpegInfo, JpegError> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err(JpegError::NoSoi);
    }
    let mut pos = 2;
    let mut has_dht = false;
    let mut size = None;
    loop {
        if pos + 1 >= jpeg.len() {
            return Err(JpegError::NoScan);
        }
        if jpeg[pos] != 0xFF {
            return Err(JpegError::Malformed(pos));
        }
        // Fill bytes: any number of 0xFF before a marker.
        while pos + 1 < jpeg.len() && jpeg[pos + 1] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = jpeg.get(pos + 1) else {
            return Err(JpegError::NoScan);
        };
        match marker {
            0xDA => {
                return Ok(JpegInfo {
                    has_dht,
                    sos: pos,
                    size,
                })
            }
            0xD8 | 0xD9 | 0x00 => return Err(JpegError::Malformed(pos)),
            0x01 | 0xD0..=0xD7 => pos += 2,
            _ => {
                let len = match jpeg.get(pos + 2..pos + 4) {
                    Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
                    _ => return Err(JpegError::NoScan),
                };
                if len < 2 || pos + 2 + len > jpeg.len() {
                    return Err(JpegError::Malformed(pos));
                }
                if marker == 0xC4 {
                    has_dht = true;
                }
                // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
                if (0xC0..=0xCF).contains(&marker)
                    && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
                    && len >= 7
                {
                    let h = u16::from_be_bytes([jpeg[pos + 5], jpeg[pos + 6]]);
                    let w = u16::from_be_bytes([jpeg[pos + 7], jpeg[pos + 8]]);
                    size = Some((u32::from(w), u32::from(h)));
                }
                pos += 2 + len;
            }
        }
    }
}

// The standard Huffman tables of ITU-T T.81 Annex K.3, which MJPEG (AVI1) streams
// assume when they omit their DHT segment.
const LUMA_DC_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const CHROMA_DC_BITS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
const DC_VALUES: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const LUMA_AC_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
#[rustfmt::skip]
const LUMA_AC_VALUES: [u8; 162] = [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07,
    0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0,
    0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28,
    0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
    0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5,
    0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];
const CHROMA_AC_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
#[rustfmt::skip]
const CHROMA_AC_VALUES: [u8; 162] = [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71,
    0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0,
    0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
    0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
    0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87,
    0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5,
    0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3,
    0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda,
    0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8,
    0xf9, 0xfa,
];

/// Length of [`STANDARD_DHT`]: marker, length, and four tables of 17 bytes + values.
const DHT_LEN: usize = 2 + 2 + 4 * 17 + 2 * 12 + 2 * 162;

/// One DHT segment (marker included) holding the four standard tables:
/// luminance DC (0), luminance AC (0), chrominance DC (1), chrominance AC (1).
pub static STANDARD_DHT: [u8; DHT_LEN] = build_dht();

const fn put_table(
    mut out: [u8; DHT_LEN],
    mut pos: usize,
    class_dest: u8,
    bits: &[u8; 16],
    values: &[u8],
) -> ([u8; DHT_LEN], usize) {
    out[pos] = class_dest;
    pos += 1;
    let mut i = 0;
    while i < 16 {
        out[pos] = bits[i];
        pos += 1;
        i += 1;
    }
    i = 0;
    while i < values.len() {
        out[pos] = values[i];
        pos += 1;
        i += 1;
    }
    (out, pos)
}

const fn build_dht() -> [u8; DHT_LEN] {
    let mut out = [0u8; DHT_LEN];
    out[0] = 0xFF;
    out[1] = 0xC4;
    out[2] = ((DHT_LEN - 2) >> 8) as u8;
    out[3] = ((DHT_LEN - 2) & 0xFF) as u8;
    let (out, pos) = put_table(out, 4, 0x00, &LUMA_DC_BITS, &DC_VALUES);
    let (out, pos) = put_table(out, pos, 0x10, &LUMA_AC_BITS, &LUMA_AC_VALUES);
    let (out, pos) = put_table(out, pos, 0x01, &CHROMA_DC_BITS, &DC_VALUES);
    let (out, _) = put_table(out, pos, 0x11, &CHROMA_AC_BITS, &CHROMA_AC_VALUES);
    out
}

/// The JPEG unchanged when it has a DHT segment; otherwise a copy with
/// [`STANDARD_DHT`] inserted just before the scan (the MJPEG-without-DHT quirk of
/// many UVC webcams, which decoders other than MJPEG-aware ones refuse).
pub fn ensure_dht(jpeg: &[u8]) -> Result<Cow<'_, [u8]>, JpegError> {
    let info = jpeg_info(jpeg)?;
    Ok(with_dht(jpeg, &info))
}

fn with_dht<'a>(jpeg: &'a [u8], info: &JpegInfo) -> Cow<'a, [u8]> {
    if info.has_dht {
        return Cow::Borrowed(jpeg);
    }
    let mut out = Vec::with_capacity(jpeg.len() + STANDARD_DHT.len());
    out.extend_from_slice(&jpeg[..info.sos]);
    out.extend_from_slice(&STANDARD_DHT);
    out.extend_from_slice(&jpeg[info.sos..]);
    Cow::Owned(out)
}

/// One BT.601 (studio range) YUV pixel as RGB, integer math.
pub fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = Chroma::new(u, v);
    c.rgb(y)
}

/// The chroma terms of one YUV sample, shared by the pixels that use it.
#[derive(Clone, Copy)]
struct Chroma {
    r: i32,
    g: i32,
    b: i32,
}

impl Chroma {
    #[inline]
    fn new(u: u8, v: u8) -> Self {
        let d = i32::from(u) - 128;
        let e = i32::from(v) - 128;
        Chroma {
            r: 409 * e,
            g: -100 * d - 208 * e,
            b: 516 * d,
        }
    }

    #[inline]
    fn rgb(self, y: u8) -> [u8; 3] {
        let c = 298 * (i32::from(y) - 16) + 128;
        [
            clamp8((c + self.r) >> 8),
            clamp8((c + self.g) >> 8),
            clamp8((c + self.b) >> 8),
        ]
    }
}

#[inline]
fn clamp8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// Why a frame could not be turned into a JPEG.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error(transparent)]
    Jpeg(#[from] JpegError),
    #[error("short frame: {got} bytes, {need} needed")]
    Short { got: usize, need: usize },
    #[error("cannot decode the camera's JPEG: {0}")]
    Decode(String),
    #[error("cannot encode JPEG: {0}")]
    Encode(String),
    #[error("frame size {0}x{1} is not usable")]
    Size(u32, u32),
}

/// Bytes per line of a raw format at `width` when the driver did not say.
fn default_stride(format: PixelFormat, width: u32) -> usize {
    match format {
        PixelFormat::Yuyv | PixelFormat::Uyvy => width as usize * 2,
        _ => width as usize,
    }
}

/// The bytes a raw frame of `format` at `width`x`height` needs (`stride`: bytes per
/// line of the first plane, 0 for the format's minimum).
pub fn raw_need(
    format: PixelFormat,
    width: u32,
    height: u32,
    stride: u32,
) -> Result<usize, FrameError> {
    if width == 0 || height == 0 {
        return Err(FrameError::Size(width, height));
    }
    let (w, h) = (width as usize, height as usize);
    let stride = (stride as usize).max(default_stride(format, width));
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    Ok(match format {
        PixelFormat::Mjpeg => return Err(FrameError::Decode("MJPEG is not raw".into())),
        // The last line needs only its pixels, not its padding.
        PixelFormat::Yuyv | PixelFormat::Uyvy => stride * (h - 1) + cw * 4,
        PixelFormat::Nv12 => stride * h + stride * (ch - 1) + cw * 2,
        PixelFormat::Yu12 => {
            let cs = stride.div_ceil(2).max(cw);
            stride * h + cs * ch + cs * (ch - 1) + cw
        }
    })
}

/// Converts one raw YUV frame (`stride` bytes per line of the first plane, 0 for
/// the format's minimum) into packed RGB in `out` (resized to `width * height * 3`).
pub fn convert_to_rgb(
    format: PixelFormat,
    raw: &[u8],
    width: u32,
    height: u32,
    stride: u32,
    out: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let need = raw_need(format, width, height, stride)?;
    let (w, h) = (width as usize, height as usize);
    let stride = (stride as usize).max(default_stride(format, width));
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    if raw.len() < need {
        return Err(FrameError::Short {
            got: raw.len(),
            need,
        });
    }
    out.clear();
    out.resize(w * h * 3, 0);
    match format {
        PixelFormat::Yuyv | PixelFormat::Uyvy => {
            let (y0, u, y1, v) = format.macropixel();
            for (row, dst) in out.chunks_exact_mut(w * 3).enumerate() {
                let line = &raw[row * stride..];
                for (px, chunk) in dst.chunks_mut(6).enumerate() {
                    let m = &line[px * 4..px * 4 + 4];
                    let c = Chroma::new(m[u], m[v]);
                    chunk[..3].copy_from_slice(&c.rgb(m[y0]));
                    if chunk.len() == 6 {
                        chunk[3..].copy_from_slice(&c.rgb(m[y1]));
                    }
                }
            }
        }
        PixelFormat::Nv12 | PixelFormat::Yu12 => {
            let luma_size = stride * h;
            let cs = if format == PixelFormat::Nv12 {
                stride
            } else {
                stride.div_ceil(2).max(cw)
            };
            for (row, dst) in out.chunks_exact_mut(w * 3).enumerate() {
                let y_line = &raw[row * stride..];
                let crow = (row / 2) * cs;
                for (x, px) in dst.chunks_exact_mut(3).enumerate() {
                    let (u, v) = if format == PixelFormat::Nv12 {
                        let at = luma_size + crow + (x / 2) * 2;
                        (raw[at], raw[at + 1])
                    } else {
                        let at = luma_size + crow + x / 2;
                        (raw[at], raw[at + cs * ch])
                    };
                    px.copy_from_slice(&Chroma::new(u, v).rgb(y_line[x]));
                }
            }
        }
        PixelFormat::Mjpeg => {}
    }
    Ok(())
}

/// Mirrors (horizontally, first) and rotates (clockwise, second) a packed RGB
/// picture of `width`x`height` into `dst`; returns the new width and height.
/// Mirror first: the flip undoes the camera's own, in the camera's axes.
pub fn transform_rgb(
    src: &[u8],
    width: u32,
    height: u32,
    mirror: bool,
    rotation: Rotation,
    dst: &mut Vec<u8>,
) -> (u32, u32) {
    let (w, h) = (width as usize, height as usize);
    let (ow, oh) = if rotation.swaps_sides() {
        (h, w)
    } else {
        (w, h)
    };
    dst.clear();
    dst.resize(w * h * 3, 0);
    for y in 0..h {
        let line = &src[y * w * 3..(y + 1) * w * 3];
        for x in 0..w {
            let sx = if mirror { w - 1 - x } else { x };
            let (dx, dy) = match rotation {
                Rotation::R0 => (x, y),
                Rotation::R90 => (h - 1 - y, x),
                Rotation::R180 => (w - 1 - x, h - 1 - y),
                Rotation::R270 => (y, w - 1 - x),
            };
            let at = (dy * ow + dx) * 3;
            dst[at..at + 3].copy_from_slice(&line[sx * 3..sx * 3 + 3]);
        }
    }
    (ow as u32, oh as u32)
}

/// Scales `img` to cover `width`x`height` keeping its aspect ratio, then crops the
/// centre to exactly that size.
pub fn scale_cover(img: RgbImage, width: u32, height: u32) -> Result<RgbImage, FrameError> {
    let (sw, sh) = img.dimensions();
    if (sw, sh) == (width, height) {
        return Ok(img);
    }
    if sw == 0 || sh == 0 || width == 0 || height == 0 {
        return Err(FrameError::Size(sw, sh));
    }
    let (w, h, sw64, sh64) = (
        u64::from(width),
        u64::from(height),
        u64::from(sw),
        u64::from(sh),
    );
    // Scale by the larger of width/sw and height/sh.
    let (nw, nh) = if w * sh64 >= h * sw64 {
        (w, (sh64 * w).div_ceil(sw64).max(h))
    } else {
        ((sw64 * h).div_ceil(sh64).max(w), h)
    };
    let (nw, nh) = (
        u32::try_from(nw).map_err(|_| FrameError::Size(sw, sh))?,
        u32::try_from(nh).map_err(|_| FrameError::Size(sw, sh))?,
    );
    let scaled = image::imageops::resize(&img, nw, nh, FilterType::Triangle);
    Ok(
        image::imageops::crop_imm(&scaled, (nw - width) / 2, (nh - height) / 2, width, height)
            .to_image(),
    )
}

/// A JPEG ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Encoded {
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoded")
            .field("bytes", &self.jpeg.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// Turns the frames of one granted format into the JPEG sent, following [`plan`].
/// Holds no per-frame state (scratch buffers are per thread), so frames can share
/// one behind an `Arc` and be converted only when they are sent.
#[derive(Debug)]
pub struct FrameEncoder {
    granted: Granted,
    out: OutputSpec,
    plan: Plan,
}

impl FrameEncoder {
    /// An encoder for frames of `granted`, producing `out`.
    pub fn new(granted: Granted, out: OutputSpec) -> Self {
        let plan = plan(&granted, &out);
        FrameEncoder { granted, out, plan }
    }

    /// The route taken, and why.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Width and height of the JPEG sent.
    pub fn out_size(&self) -> (u32, u32) {
        self.out.out_size()
    }

    /// What the camera delivers: format, size and stride of each raw frame.
    pub fn granted(&self) -> Granted {
        self.granted
    }

    /// The clockwise rotation applied before a frame is sent.
    pub fn rotation(&self) -> crate::rotation::Rotation {
        self.out.rotation
    }

    /// The cheap check done on every captured frame (no decoding, no encoding):
    /// an MJPEG frame is one JPEG with a scan; a raw frame is long enough.
    /// Returns the bytes to keep (an MJPEG frame without its trailing padding).
    pub fn check<'a>(&self, raw: &'a [u8]) -> Result<&'a [u8], FrameError> {
        match self.granted.format {
            PixelFormat::Mjpeg => {
                let jpeg = check_jpeg(raw)?;
                jpeg_info(jpeg)?;
                Ok(jpeg)
            }
            format => {
                let g = self.granted;
                let need = raw_need(format, g.width, g.height, g.stride)?;
                if raw.len() < need {
                    return Err(FrameError::Short {
                        got: raw.len(),
                        need,
                    });
                }
                Ok(raw)
            }
        }
    }

    /// One frame as the driver delivered it, as the JPEG to send. A passed-through
    /// MJPEG frame is a slice of `raw` (no copy).
    pub fn convert(&self, raw: &Bytes) -> Result<Bytes, FrameError> {
        Ok(match self.convert_slice(raw)? {
            Cow::Borrowed(jpeg) => raw.slice_ref(jpeg),
            Cow::Owned(jpeg) => Bytes::from(jpeg),
        })
    }

    /// [`FrameEncoder::convert`] of a borrowed frame, as an [`Encoded`].
    pub fn encode(&self, raw: &[u8]) -> Result<Encoded, FrameError> {
        let (width, height) = self.out_size();
        Ok(Encoded {
            jpeg: self.convert_slice(raw)?.into_owned(),
            width,
            height,
        })
    }

    fn convert_slice<'a>(&self, raw: &'a [u8]) -> Result<Cow<'a, [u8]>, FrameError> {
        match self.plan.route {
            Route::PassThrough | Route::Lossless => {
                let jpeg = check_jpeg(raw)?;
                let info = jpeg_info(jpeg)?;
                let fixed = with_dht(jpeg, &info);
                match info.size {
                    // A frame of another size than negotiated: take the long way.
                    Some(size) if size != (self.out.width, self.out.height) => {
                        Ok(Cow::Owned(self.decode_jpeg(&fixed)?))
                    }
                    _ if self.plan.route == Route::PassThrough => Ok(fixed),
                    _ => match encode::lossless(
                        &fixed,
                        needs_flip(self.out.mirror),
                        self.out.rotation,
                    )? {
                        Some(turned) => Ok(Cow::Owned(turned)),
                        None => Ok(Cow::Owned(self.decode_jpeg(&fixed)?)),
                    },
                }
            }
            Route::DecodeJpeg => {
                let jpeg = check_jpeg(raw)?;
                let fixed = ensure_dht(jpeg)?;
                Ok(Cow::Owned(self.decode_jpeg(&fixed)?))
            }
            Route::ConvertRaw => Ok(Cow::Owned(self.convert_raw(raw)?)),
        }
    }

    fn convert_raw(&self, raw: &[u8]) -> Result<Vec<u8>, FrameError> {
        let g = self.granted;
        let need = raw_need(g.format, g.width, g.height, g.stride)?;
        if raw.len() < need {
            return Err(FrameError::Short {
                got: raw.len(),
                need,
            });
        }
        if !self.plan.scale && encode::planes_fit(g.format, g.width, g.height) {
            let stride = (g.stride as usize).max(default_stride(g.format, g.width));
            let jpeg = PLANES.with(|cell| {
                let mut planes = cell.borrow_mut();
                encode::to_planes(g.format, raw, g.width, g.height, stride, &mut planes)?;
                encode::encode_planes(&planes, g.width, g.height, self.out.quality)
            })?;
            if !self.out.transforms() {
                return Ok(jpeg);
            }
            if let Some(turned) =
                encode::lossless(&jpeg, needs_flip(self.out.mirror), self.out.rotation)?
            {
                return Ok(turned);
            }
        }
        let mut rgb = Vec::new();
        convert_to_rgb(g.format, raw, g.width, g.height, g.stride, &mut rgb)?;
        self.finish(rgb, g.width, g.height)
    }

    fn decode_jpeg(&self, jpeg: &[u8]) -> Result<Vec<u8>, FrameError> {
        let mut reader = ImageReader::with_format(Cursor::new(jpeg), image::ImageFormat::Jpeg);
        let mut limits = Limits::default();
        limits.max_image_width = Some(8192);
        limits.max_image_height = Some(8192);
        limits.max_alloc = Some(512 << 20);
        reader.limits(limits);
        let img = reader
            .decode()
            .map_err(|e| FrameError::Decode(e.to_string()))?
            .into_rgb8();
        let (w, h) = img.dimensions();
        self.finish(img.into_raw(), w, h)
    }

    /// Scales (if needed) an RGB picture, transforms and encodes it (4:2:0).
    fn finish(&self, rgb: Vec<u8>, width: u32, height: u32) -> Result<Vec<u8>, FrameError> {
        let (mut w, mut h, mut rgb) = (width, height, rgb);
        if (w, h) != (self.out.width, self.out.height) {
            let img = RgbImage::from_raw(w, h, rgb).ok_or(FrameError::Size(w, h))?;
            let scaled = scale_cover(img, self.out.width, self.out.height)?;
            (w, h) = scaled.dimensions();
            rgb = scaled.into_raw();
        }
        if self.out.transforms() {
            let mut turned = Vec::new();
            let (tw, th) = transform_rgb(
                &rgb,
                w,
                h,
                needs_flip(self.out.mirror),
                self.out.rotation,
                &mut turned,
            );
            return encode::encode_rgb(&turned, tw, th, self.out.quality);
        }
        encode::encode_rgb(&rgb, w, h, self.out.quality)
    }
}

thread_local! {
    static PLANES: std::cell::RefCell<encode::Planes> = std::cell::RefCell::new(encode::Planes::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discrete(width: u32, height: u32) -> SizeRange {
        SizeRange::Discrete { width, height }
    }

    fn offer(fourcc: &[u8; 4], sizes: &[(u32, u32)]) -> OfferedFormat {
        OfferedFormat {
            fourcc: *fourcc,
            description: fourcc_text(*fourcc),
            sizes: sizes.iter().map(|&(w, h)| discrete(w, h)).collect(),
        }
    }

    fn want(width: u32, height: u32, preference: FormatPreference) -> Wanted {
        Wanted {
            width,
            height,
            fps: 10,
            preference,
        }
    }

    fn picked(offered: &[OfferedFormat], w: Wanted) -> (String, u32, u32, bool) {
        let c = choose_format(offered, &w).unwrap();
        assert_eq!(PixelFormat::from_fourcc(c.fourcc), Some(c.format));
        (fourcc_text(c.fourcc), c.width, c.height, c.exact)
    }

    const VGA: (u32, u32) = (640, 480);
    const HD: (u32, u32) = (1280, 720);
    const QVGA: (u32, u32) = (320, 240);

    /// Offered formats, the request, and the FourCC, size and exactness chosen.
    type ChoiceCase = (Vec<OfferedFormat>, Wanted, (&'static str, u32, u32, bool));

    #[test]
    fn format_choice_table() {
        use FormatPreference::*;
        let both = [offer(b"YUYV", &[QVGA, VGA, HD]), offer(b"MJPG", &[VGA, HD])];
        let yuyv_only = [offer(b"YUYV", &[QVGA, VGA])];
        let cases: Vec<ChoiceCase> = vec![
            (
                both.to_vec(),
                want(640, 480, Auto),
                ("MJPG", 640, 480, true),
            ),
            (
                both.to_vec(),
                want(640, 480, Mjpeg),
                ("MJPG", 640, 480, true),
            ),
            (
                both.to_vec(),
                want(640, 480, Yuyv),
                ("YUYV", 640, 480, true),
            ),
            (
                both.to_vec(),
                want(320, 240, Auto),
                ("YUYV", 320, 240, true),
            ),
            (
                both.to_vec(),
                want(320, 240, Mjpeg),
                ("MJPG", 640, 480, false),
            ),
            (
                yuyv_only.to_vec(),
                want(640, 480, Auto),
                ("YUYV", 640, 480, true),
            ),
            // Missing size: the smallest covering one, of any allowed format.
            (
                both.to_vec(),
                want(800, 600, Auto),
                ("MJPG", 1280, 720, false),
            ),
            (
                yuyv_only.to_vec(),
                want(400, 300, Auto),
                ("YUYV", 640, 480, false),
            ),
            // Nothing covers it: the largest.
            (
                yuyv_only.to_vec(),
                want(1920, 1080, Auto),
                ("YUYV", 640, 480, false),
            ),
            // YUV formats in order: YUYV before UYVY before NV12.
            (
                vec![
                    offer(b"NV12", &[VGA]),
                    offer(b"UYVY", &[VGA]),
                    offer(b"YUYV", &[VGA]),
                ],
                want(640, 480, Auto),
                ("YUYV", 640, 480, true),
            ),
            (
                vec![offer(b"NV12", &[VGA]), offer(b"UYVY", &[QVGA])],
                want(640, 480, Auto),
                ("NV12", 640, 480, true),
            ),
            (
                vec![offer(b"YU12", &[VGA]), offer(b"H264", &[VGA])],
                want(640, 480, Auto),
                ("YU12", 640, 480, true),
            ),
            // The JPEG alias counts as MJPEG.
            (
                vec![offer(b"YUYV", &[VGA]), offer(b"JPEG", &[VGA])],
                want(640, 480, Auto),
                ("JPEG", 640, 480, true),
            ),
            // Same closest size in two formats: the earlier in the order wins.
            (
                vec![offer(b"YUYV", &[HD]), offer(b"MJPG", &[HD])],
                want(640, 480, Auto),
                ("MJPG", 1280, 720, false),
            ),
            // A driver that lists no sizes: ask for the wanted size.
            (
                vec![offer(b"YUYV", &[])],
                want(640, 480, Auto),
                ("YUYV", 640, 480, true),
            ),
        ];
        for (offered, w, expected) in cases {
            let got = picked(&offered, w);
            assert_eq!(
                (got.0.as_str(), got.1, got.2, got.3),
                expected,
                "{} for {w:?}",
                offered_text(&offered)
            );
        }
    }

    #[test]
    fn format_choice_reasons_say_why() {
        let both = [offer(b"YUYV", &[VGA]), offer(b"MJPG", &[VGA, HD])];
        let c = choose_format(&both, &want(640, 480, FormatPreference::Auto)).unwrap();
        assert_eq!(c.reason, "MJPEG offered at 640x480; asking for 10 fps");
        let c = choose_format(&both[..1], &want(640, 480, FormatPreference::Auto)).unwrap();
        assert_eq!(
            c.reason,
            "YUYV offered at 640x480 (MJPEG not offered at that size); \
             livegate encodes each frame to JPEG; asking for 10 fps"
        );
        let c = choose_format(&both, &want(800, 600, FormatPreference::Auto)).unwrap();
        assert_eq!(
            c.reason,
            "800x600 not offered; closest is MJPEG 1280x720 (the smallest offered size \
             that covers it), scaled and cropped to 800x600; asking for 10 fps"
        );
    }

    #[test]
    fn nothing_usable_is_an_error_naming_what_is_offered() {
        let h264 = [OfferedFormat {
            fourcc: *b"H264",
            description: "H.264".into(),
            sizes: vec![discrete(640, 480)],
        }];
        let e = choose_format(&h264, &want(640, 480, FormatPreference::Auto)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no usable pixel format (format = \"auto\" allows MJPEG, YUYV, UYVY, NV12, YU12); \
             the camera offers: H264 (H.264)"
        );
        let yuyv = [offer(b"YUYV", &[VGA])];
        let e = choose_format(&yuyv, &want(640, 480, FormatPreference::Mjpeg)).unwrap_err();
        assert_eq!(e.allowed, "MJPEG");
        assert_eq!(e.offered, "YUYV (YUYV)");
        let mjpg = [offer(b"MJPG", &[VGA])];
        let e = choose_format(&mjpg, &want(640, 480, FormatPreference::Yuyv)).unwrap_err();
        assert_eq!(e.allowed, "YUYV, UYVY, NV12, YU12");
        let e = choose_format(&[], &want(640, 480, FormatPreference::Auto)).unwrap_err();
        assert_eq!(e.offered, "nothing");
    }

    #[test]
    fn stepwise_sizes_snap_to_the_grid() {
        let step = SizeRange::Stepwise {
            min_width: 48,
            max_width: 1920,
            step_width: 16,
            min_height: 32,
            max_height: 1080,
            step_height: 8,
        };
        assert_eq!(step.nearest(640, 480), (640, 480));
        assert_eq!(step.nearest(650, 481), (656, 488));
        assert_eq!(step.nearest(10, 10), (48, 32));
        assert_eq!(step.nearest(4000, 3000), (1920, 1080));
        let odd = OfferedFormat {
            fourcc: *b"YUYV",
            description: "YUYV".into(),
            sizes: vec![step],
        };
        assert_eq!(
            picked(
                std::slice::from_ref(&odd),
                want(640, 480, FormatPreference::Auto)
            ),
            ("YUYV".into(), 640, 480, true)
        );
        assert_eq!(
            picked(&[odd], want(650, 481, FormatPreference::Auto)),
            ("YUYV".into(), 656, 488, false)
        );
        assert_eq!(grid_at_least(5, 1, 9, 0), 5, "a step of 0 counts as 1");
        assert_eq!(grid_at_least(8, 1, 9, 4), 9);
        assert_eq!(
            step.to_string(),
            "48x32 to 1920x1080 in steps of 16x8",
            "for commissioning"
        );
    }

    fn spec(width: u32, height: u32, mirror: bool, rotation: Rotation) -> OutputSpec {
        OutputSpec {
            width,
            height,
            mirror,
            rotation,
            quality: 80,
        }
    }

    fn granted(format: PixelFormat, width: u32, height: u32) -> Granted {
        Granted {
            format,
            width,
            height,
            stride: 0,
        }
    }

    #[test]
    fn pass_through_decision() {
        use PixelFormat::*;
        use Rotation::*;
        use Route::*;
        #[rustfmt::skip]
        let cases = [
            (Mjpeg, VGA, spec(640, 480, false, R0), PassThrough, false),
            (Mjpeg, VGA, spec(640, 480, true, R0), Lossless, false),
            (Mjpeg, VGA, spec(640, 480, false, R90), Lossless, false),
            (Mjpeg, VGA, spec(640, 480, false, R180), Lossless, false),
            (Mjpeg, HD, spec(640, 480, false, R0), DecodeJpeg, true),
            (Yuyv, VGA, spec(640, 480, false, R0), ConvertRaw, false),
            (Yuyv, QVGA, spec(640, 480, true, R270), ConvertRaw, true),
            (Nv12, VGA, spec(640, 480, false, R0), ConvertRaw, false),
        ];
        for (format, (w, h), out, route, scale) in cases {
            let p = plan(&granted(format, w, h), &out);
            assert_eq!(
                (p.route, p.scale),
                (route, scale),
                "{format:?} {w}x{h} {out:?}"
            );
        }
        let p = plan(&granted(Mjpeg, 1280, 720), &spec(640, 480, true, R90));
        assert_eq!(
            p.reason,
            "the camera's JPEG frames are decoded to scale 1280x720 to 640x480, \
             flip the mirrored picture, rotate 90° and re-encoded at quality 80"
        );
        assert_eq!(
            plan(&granted(Yuyv, 640, 480), &spec(640, 480, false, R0)).reason,
            "YUYV frames are encoded to 4:2:0 JPEG at quality 80 when sent"
        );
        assert_eq!(
            plan(&granted(Mjpeg, 640, 480), &spec(640, 480, true, R0)).reason,
            "the camera's JPEG frames are transformed losslessly (flip the mirrored picture), \
             without re-encoding"
        );
    }

    #[test]
    fn output_size_follows_rotation_and_flip_follows_mirror() {
        assert_eq!(spec(640, 480, false, Rotation::R90).out_size(), (480, 640));
        assert_eq!(spec(640, 480, false, Rotation::R270).out_size(), (480, 640));
        assert_eq!(spec(640, 480, false, Rotation::R180).out_size(), (640, 480));
        assert!(needs_flip(true));
        assert!(!needs_flip(false));
        assert!(!spec(1, 1, false, Rotation::R0).transforms());
        assert!(spec(1, 1, true, Rotation::R0).transforms());
        for d in [0, 90, 180, 270] {
            assert_eq!(Rotation::from_degrees(d).map(Rotation::degrees), Some(d));
        }
        assert_eq!(Rotation::from_degrees(45), None);
    }

    /// An RGB picture whose every pixel differs: left half dark, right half light.
    fn test_rgb(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let base = if x < w / 2 { 30 } else { 220 };
            image::Rgb([base, (y * 255 / h.max(1)) as u8, 128])
        })
    }

    fn encode_rgb(img: &RgbImage, q: u8) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
            .encode_image(img)
            .unwrap();
        out
    }

    fn decode(jpeg: &[u8]) -> image::ImageResult<RgbImage> {
        image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg).map(|i| i.into_rgb8())
    }

    /// The JPEG with every DHT segment cut out.
    fn strip_dht(jpeg: &[u8]) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        let mut pos = 2;
        while jpeg[pos + 1] != 0xDA {
            let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
            if jpeg[pos + 1] != 0xC4 {
                out.extend_from_slice(&jpeg[pos..pos + 2 + len]);
            }
            pos += 2 + len;
        }
        out.extend_from_slice(&jpeg[pos..]);
        out
    }

    #[test]
    fn standard_dht_is_what_the_encoder_writes() {
        // image's encoder writes the four Annex K tables as four DHT segments.
        let jpeg = encode_rgb(&test_rgb(16, 16), 80);
        let mut bodies = Vec::new();
        let mut pos = 2;
        while jpeg[pos + 1] != 0xDA {
            let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
            if jpeg[pos + 1] == 0xC4 {
                bodies.extend_from_slice(&jpeg[pos + 4..pos + 2 + len]);
            }
            pos += 2 + len;
        }
        assert_eq!(STANDARD_DHT.len(), 420);
        assert_eq!(STANDARD_DHT[..4], [0xFF, 0xC4, 0x01, 0xA2]);
        assert_eq!(&STANDARD_DHT[4..], &bodies[..]);
    }

    #[test]
    fn a_jpeg_without_dht_decodes_after_insertion() {
        let img = test_rgb(64, 48);
        let jpeg = encode_rgb(&img, 80);
        let stripped = strip_dht(&jpeg);
        assert!(stripped.len() < jpeg.len());
        assert!(!jpeg_info(&stripped).unwrap().has_dht);
        assert!(decode(&stripped).is_err(), "the quirk: undecodable as sent");
        let fixed = ensure_dht(&stripped).unwrap();
        assert!(matches!(fixed, Cow::Owned(_)));
        assert_eq!(fixed.len(), stripped.len() + STANDARD_DHT.len());
        assert!(jpeg_info(&fixed).unwrap().has_dht);
        assert_eq!(decode(&fixed).unwrap(), decode(&jpeg).unwrap());
    }

    #[test]
    fn a_jpeg_with_dht_is_unchanged() {
        let jpeg = encode_rgb(&test_rgb(64, 48), 80);
        let same = ensure_dht(&jpeg).unwrap();
        assert!(matches!(same, Cow::Borrowed(_)));
        assert_eq!(&same[..], &jpeg[..]);
        let info = jpeg_info(&jpeg).unwrap();
        assert!(info.has_dht);
        assert_eq!(info.size, Some((64, 48)));
        assert_eq!(&jpeg[info.sos..info.sos + 2], &[0xFF, 0xDA]);
    }

    #[test]
    fn the_jpeg_check() {
        let jpeg = encode_rgb(&test_rgb(16, 16), 80);
        assert_eq!(check_jpeg(&jpeg).unwrap(), &jpeg[..]);
        // Driver padding after EOI is cut off.
        let mut padded = jpeg.clone();
        padded.extend_from_slice(&[0; 100]);
        assert_eq!(check_jpeg(&padded).unwrap(), &jpeg[..]);
        assert_eq!(check_jpeg(&jpeg[..jpeg.len() - 10]), Err(JpegError::NoEoi));
        assert_eq!(check_jpeg(&jpeg[1..]), Err(JpegError::NoSoi));
        assert_eq!(check_jpeg(&[0; 1000]), Err(JpegError::NoSoi));
        assert_eq!(check_jpeg(&[0xFF, 0xD8, 0xFF]), Err(JpegError::NoEoi));
        // A header that runs past the end, or garbage between segments.
        assert_eq!(
            jpeg_info(&[0xFF, 0xD8, 0xFF, 0xE0, 0x40, 0x00, 0, 0]),
            Err(JpegError::Malformed(2))
        );
        assert_eq!(
            jpeg_info(&[0xFF, 0xD8, 0x12, 0x34]),
            Err(JpegError::Malformed(2))
        );
        assert_eq!(
            jpeg_info(&[0xFF, 0xD8, 0xFF, 0xD9]),
            Err(JpegError::Malformed(2))
        );
        assert_eq!(jpeg_info(&[0xFF, 0xD8]), Err(JpegError::NoScan));
    }

    fn close(got: [u8; 3], want: [u8; 3]) -> bool {
        got.iter().zip(want).all(|(&g, w)| g.abs_diff(w) <= 2)
    }

    #[test]
    fn yuv_pixels_convert_with_bt601() {
        assert_eq!(yuv_to_rgb(235, 128, 128), [255, 255, 255]);
        assert_eq!(yuv_to_rgb(16, 128, 128), [0, 0, 0]);
        assert!(close(yuv_to_rgb(81, 90, 240), [255, 0, 0]));
        assert!(close(yuv_to_rgb(145, 54, 34), [0, 255, 0]));
        assert!(close(yuv_to_rgb(41, 240, 110), [0, 0, 255]));
        assert!(close(yuv_to_rgb(126, 128, 128), [128, 128, 128]));
        // Out of studio range: clamped, not wrapped.
        assert_eq!(yuv_to_rgb(255, 128, 128), [255, 255, 255]);
        assert_eq!(yuv_to_rgb(0, 128, 128), [0, 0, 0]);
    }

    const WHITE: (u8, u8, u8) = (235, 128, 128);
    const BLACK: (u8, u8, u8) = (16, 128, 128);
    const RED: (u8, u8, u8) = (81, 90, 240);

    #[test]
    fn packed_yuv_frames_convert() {
        // 2x2, stride 8 (4 bytes of padding per line): white|black over red|red.
        let (w, b, r) = (WHITE, BLACK, RED);
        let yuyv = [
            w.0, 128, b.0, 128, 9, 9, 9, 9, //
            r.0, r.1, r.0, r.2, 9, 9, 9, 9,
        ];
        let mut out = Vec::new();
        convert_to_rgb(PixelFormat::Yuyv, &yuyv, 2, 2, 8, &mut out).unwrap();
        assert_eq!(out.len(), 12);
        assert_eq!(out[..6], [255, 255, 255, 0, 0, 0]);
        assert!(close([out[6], out[7], out[8]], [255, 0, 0]));
        assert!(close([out[9], out[10], out[11]], [255, 0, 0]));
        let uyvy = [
            128, w.0, 128, b.0, 9, 9, 9, 9, //
            r.1, r.0, r.2, r.0, 9, 9, 9, 9,
        ];
        let mut out2 = Vec::new();
        convert_to_rgb(PixelFormat::Uyvy, &uyvy, 2, 2, 8, &mut out2).unwrap();
        assert_eq!(out2, out);
        // The last line may omit its padding; one byte less is short.
        convert_to_rgb(PixelFormat::Yuyv, &yuyv[..12], 2, 2, 8, &mut out2).unwrap();
        assert_eq!(
            convert_to_rgb(PixelFormat::Yuyv, &yuyv[..11], 2, 2, 8, &mut out2),
            Err(FrameError::Short { got: 11, need: 12 })
        );
        // Odd width: the last macropixel gives one pixel.
        let odd = [w.0, 128, b.0, 128, r.0, r.1, 0, r.2];
        convert_to_rgb(PixelFormat::Yuyv, &odd, 3, 1, 0, &mut out2).unwrap();
        assert_eq!(out2.len(), 9);
        assert_eq!(out2[..6], [255, 255, 255, 0, 0, 0]);
        assert!(close([out2[6], out2[7], out2[8]], [255, 0, 0]));
    }

    #[test]
    fn planar_yuv_frames_convert() {
        // 4x2: Y = white, black, white, black; chroma neutral on the left pair, red's
        // on the right pair. Red's luma on the right pair gives pure red there.
        let (w, b, r) = (WHITE.0, BLACK.0, RED.0);
        let y = [w, b, r, r, w, b, r, r];
        let mut nv12 = y.to_vec();
        nv12.extend_from_slice(&[128, 128, RED.1, RED.2]);
        let mut yu12 = y.to_vec();
        yu12.extend_from_slice(&[128, RED.1, 128, RED.2]);
        for (format, raw) in [(PixelFormat::Nv12, nv12), (PixelFormat::Yu12, yu12)] {
            let mut out = Vec::new();
            convert_to_rgb(format, &raw, 4, 2, 0, &mut out).unwrap();
            for row in 0..2 {
                let px = |x: usize| {
                    let at = (row * 4 + x) * 3;
                    [out[at], out[at + 1], out[at + 2]]
                };
                assert_eq!(px(0), [255, 255, 255], "{format:?}");
                assert_eq!(px(1), [0, 0, 0], "{format:?}");
                assert!(close(px(2), [255, 0, 0]), "{format:?} {:?}", px(2));
                assert!(close(px(3), [255, 0, 0]), "{format:?}");
            }
            assert!(matches!(
                convert_to_rgb(format, &raw[..raw.len() - 1], 4, 2, 0, &mut out),
                Err(FrameError::Short { .. })
            ));
        }
        let mut out = Vec::new();
        assert_eq!(
            convert_to_rgb(PixelFormat::Yuyv, &[], 0, 2, 0, &mut out),
            Err(FrameError::Size(0, 2))
        );
    }

    /// A 2x3 picture whose pixel at (x, y) is `[x, y, 7]`.
    fn tiny() -> Vec<u8> {
        let mut v = Vec::new();
        for y in 0..3u8 {
            for x in 0..2u8 {
                v.extend_from_slice(&[x, y, 7]);
            }
        }
        v
    }

    /// Rows of source coordinates.
    type Rows = Vec<Vec<(u8, u8)>>;

    /// The picture as rows of source coordinates.
    fn rows(buf: &[u8], w: u32) -> Rows {
        buf.chunks(w as usize * 3)
            .map(|r| r.chunks(3).map(|p| (p[0], p[1])).collect())
            .collect()
    }

    #[test]
    fn rotation_and_mirror_move_pixels_exactly() {
        use Rotation::*;
        let src = tiny();
        let mut dst = Vec::new();
        #[rustfmt::skip]
        let cases: [(bool, Rotation, (u32, u32), Rows); 6] = [
            (false, R0, (2, 3), vec![vec![(0, 0), (1, 0)], vec![(0, 1), (1, 1)], vec![(0, 2), (1, 2)]]),
            (true, R0, (2, 3), vec![vec![(1, 0), (0, 0)], vec![(1, 1), (0, 1)], vec![(1, 2), (0, 2)]]),
            // Clockwise: the bottom-left comes to the top-left.
            (false, R90, (3, 2), vec![vec![(0, 2), (0, 1), (0, 0)], vec![(1, 2), (1, 1), (1, 0)]]),
            (false, R180, (2, 3), vec![vec![(1, 2), (0, 2)], vec![(1, 1), (0, 1)], vec![(1, 0), (0, 0)]]),
            (false, R270, (3, 2), vec![vec![(1, 0), (1, 1), (1, 2)], vec![(0, 0), (0, 1), (0, 2)]]),
            // Mirror first, then rotate.
            (true, R90, (3, 2), vec![vec![(1, 2), (1, 1), (1, 0)], vec![(0, 2), (0, 1), (0, 0)]]),
        ];
        for (mirror, rot, size, expected) in cases {
            let got = transform_rgb(&src, 2, 3, mirror, rot, &mut dst);
            assert_eq!(got, size, "{mirror} {rot:?}");
            assert_eq!(rows(&dst, got.0), expected, "{mirror} {rot:?}");
            assert!(dst.chunks(3).all(|p| p[2] == 7));
        }
    }

    /// A YUYV frame: left half black, right half white.
    fn yuyv_frame(w: u32, h: u32) -> Vec<u8> {
        let mut v = Vec::with_capacity((w * h * 2) as usize);
        for _ in 0..h {
            for x in (0..w).step_by(2) {
                let y = if x < w / 2 { BLACK.0 } else { WHITE.0 };
                v.extend_from_slice(&[y, 128, y, 128]);
            }
        }
        v
    }

    fn luma_at(img: &RgbImage, x: u32, y: u32) -> u8 {
        img.get_pixel(x, y).0[1]
    }

    #[test]
    fn yuyv_frames_encode_to_jpeg_of_the_right_size_and_orientation() {
        let g = granted(PixelFormat::Yuyv, 64, 48);
        let enc = FrameEncoder::new(g, spec(64, 48, false, Rotation::R0));
        let raw = yuyv_frame(64, 48);
        let first = enc.encode(&raw).unwrap();
        assert_eq!((first.width, first.height), (64, 48));
        let img = decode(&first.jpeg).unwrap();
        assert_eq!(img.dimensions(), (64, 48));
        assert!(luma_at(&img, 2, 24) < 20 && luma_at(&img, 61, 24) > 235);
        // Again with the same scratch buffers: the same bytes.
        assert_eq!(enc.encode(&raw).unwrap(), first);

        let mirrored = FrameEncoder::new(g, spec(64, 48, true, Rotation::R0));
        let img = decode(&mirrored.encode(&raw).unwrap().jpeg).unwrap();
        assert!(luma_at(&img, 2, 24) > 235 && luma_at(&img, 61, 24) < 20);

        let turned = FrameEncoder::new(g, spec(64, 48, false, Rotation::R90));
        let out = turned.encode(&raw).unwrap();
        assert_eq!((out.width, out.height), (48, 64));
        let img = decode(&out.jpeg).unwrap();
        assert_eq!(img.dimensions(), (48, 64));
        // The left half (black) is now the top.
        assert!(luma_at(&img, 24, 2) < 20 && luma_at(&img, 24, 61) > 235);

        // Granted smaller than configured: scaled up to it.
        let scaled = FrameEncoder::new(
            granted(PixelFormat::Yuyv, 32, 24),
            spec(64, 48, false, Rotation::R0),
        );
        let out = scaled.encode(&yuyv_frame(32, 24)).unwrap();
        assert_eq!(decode(&out.jpeg).unwrap().dimensions(), (64, 48));
        assert!(matches!(
            scaled.encode(&raw[..100]),
            Err(FrameError::Short { .. })
        ));
    }

    /// The (horizontal, vertical) sampling factors of each component in the SOF.
    fn sampling(jpeg: &[u8]) -> Vec<(u8, u8)> {
        let mut pos = 2;
        loop {
            let marker = jpeg[pos + 1];
            let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
            if marker == 0xC0 || marker == 0xC2 {
                let n = usize::from(jpeg[pos + 9]);
                return (0..n)
                    .map(|i| {
                        let f = jpeg[pos + 11 + 3 * i];
                        (f >> 4, f & 15)
                    })
                    .collect();
            }
            pos += 2 + len;
        }
    }

    /// The quantisation table segments, in order.
    fn dqt(jpeg: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut pos = 2;
        while jpeg[pos + 1] != 0xDA {
            let len = usize::from(u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]));
            if jpeg[pos + 1] == 0xDB {
                out.extend_from_slice(&jpeg[pos..pos + 2 + len]);
            }
            pos += 2 + len;
        }
        out
    }

    #[test]
    fn raw_frames_are_encoded_4_2_0_in_full_range() {
        let g = granted(PixelFormat::Yuyv, 64, 48);
        let out = FrameEncoder::new(g, spec(64, 48, false, Rotation::R0))
            .encode(&yuyv_frame(64, 48))
            .unwrap();
        assert_eq!(sampling(&out.jpeg), [(2, 2), (1, 1), (1, 1)]);
        // Studio black (16) and white (235) become full-range black and white.
        let img = decode(&out.jpeg).unwrap();
        assert!(luma_at(&img, 2, 24) < 6 && luma_at(&img, 61, 24) > 249);
        // The same picture as UYVY, NV12 and YU12: the same JPEG.
        let yuyv = yuyv_frame(64, 48);
        let uyvy: Vec<u8> = yuyv
            .chunks_exact(4)
            .flat_map(|m| [m[1], m[0], m[3], m[2]])
            .collect();
        let luma: Vec<u8> = yuyv.iter().step_by(2).copied().collect();
        let mut nv12 = luma.clone();
        nv12.extend(std::iter::repeat_n(128, 64 * 24));
        let mut yu12 = luma;
        yu12.extend(std::iter::repeat_n(128, 32 * 24 * 2));
        for (format, raw) in [
            (PixelFormat::Uyvy, uyvy),
            (PixelFormat::Nv12, nv12),
            (PixelFormat::Yu12, yu12),
        ] {
            let enc = FrameEncoder::new(granted(format, 64, 48), spec(64, 48, false, Rotation::R0));
            assert_eq!(enc.encode(&raw).unwrap().jpeg, out.jpeg, "{format:?}");
        }
    }

    #[test]
    fn mjpeg_mirror_and_rotation_are_lossless() {
        let jpeg = encode::encode_rgb(test_rgb(64, 48).as_raw(), 64, 48, 80).unwrap();
        let g = granted(PixelFormat::Mjpeg, 64, 48);
        let flip = FrameEncoder::new(g, spec(64, 48, true, Rotation::R0));
        let out = flip.encode(&jpeg).unwrap();
        // Not re-encoded: the same quantisation tables, the pixels mirrored.
        assert_eq!(dqt(&out.jpeg), dqt(&jpeg));
        let (a, b) = (decode(&jpeg).unwrap(), decode(&out.jpeg).unwrap());
        for (x, y) in [(0, 0), (5, 7), (40, 30), (63, 47)] {
            let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(63 - x, y).0);
            assert!(p.iter().zip(q).all(|(p, q)| p.abs_diff(q) <= 2), "{x},{y}");
        }
        let turn = FrameEncoder::new(g, spec(64, 48, true, Rotation::R90));
        let out = turn.encode(&jpeg).unwrap();
        assert_eq!((out.width, out.height), (48, 64));
        assert_eq!(decode(&out.jpeg).unwrap().dimensions(), (48, 64));
        // The tables are transposed with the picture, not recomputed.
        let sorted = |mut v: Vec<u8>| {
            v.sort_unstable();
            v
        };
        assert_eq!(sorted(dqt(&out.jpeg)), sorted(dqt(&jpeg)));
        // Sides that are not whole 16-pixel MCUs: decoded, turned and re-encoded.
        let odd = encode::encode_rgb(test_rgb(60, 44).as_raw(), 60, 44, 80).unwrap();
        let enc = FrameEncoder::new(
            granted(PixelFormat::Mjpeg, 60, 44),
            spec(60, 44, true, Rotation::R0),
        );
        let out = enc.encode(&odd).unwrap();
        let img = decode(&out.jpeg).unwrap();
        assert_eq!(img.dimensions(), (60, 44));
        assert!(img.get_pixel(2, 20).0[0] > 200 && img.get_pixel(57, 20).0[0] < 50);
    }

    #[test]
    fn a_passed_through_frame_is_the_captured_bytes_not_a_copy() {
        let jpeg = encode::encode_rgb(test_rgb(64, 48).as_raw(), 64, 48, 80).unwrap();
        let mut padded = jpeg.clone();
        padded.extend_from_slice(&[0; 16]);
        let raw = Bytes::from(padded);
        let enc = FrameEncoder::new(
            granted(PixelFormat::Mjpeg, 64, 48),
            spec(64, 48, false, Rotation::R0),
        );
        assert_eq!(enc.check(&raw).unwrap(), &jpeg[..]);
        let out = enc.convert(&raw).unwrap();
        assert_eq!(out, jpeg);
        assert_eq!(out.as_ptr(), raw.as_ptr());
        // A raw frame too short for its size fails the capture-time check.
        let yuyv = FrameEncoder::new(
            granted(PixelFormat::Yuyv, 64, 48),
            spec(64, 48, false, Rotation::R0),
        );
        assert_eq!(
            yuyv.check(&[0; 100]),
            Err(FrameError::Short {
                got: 100,
                need: 64 * 48 * 2
            })
        );
    }

    #[test]
    fn mjpeg_frames_pass_through_or_are_reencoded() {
        let jpeg = encode_rgb(&test_rgb(64, 48), 80);
        let g = granted(PixelFormat::Mjpeg, 64, 48);
        let pass = FrameEncoder::new(g, spec(64, 48, false, Rotation::R0));
        assert_eq!(pass.plan().route, Route::PassThrough);
        let mut padded = jpeg.clone();
        padded.extend_from_slice(&[0; 64]);
        let out = pass.encode(&padded).unwrap();
        assert_eq!(out.jpeg, jpeg, "byte for byte");
        assert_eq!((out.width, out.height), (64, 48));
        // Without DHT: the standard one is put in.
        let out = pass.encode(&strip_dht(&jpeg)).unwrap();
        assert_eq!(out.jpeg.len(), strip_dht(&jpeg).len() + STANDARD_DHT.len());
        assert_eq!(decode(&out.jpeg).unwrap(), decode(&jpeg).unwrap());
        assert_eq!(
            pass.encode(&jpeg[..jpeg.len() / 2]),
            Err(FrameError::Jpeg(JpegError::NoEoi))
        );
        // A frame of another size than negotiated is scaled to the configured size.
        let big = encode_rgb(&test_rgb(128, 96), 80);
        let out = pass.encode(&big).unwrap();
        assert_eq!(decode(&out.jpeg).unwrap().dimensions(), (64, 48));

        let flip = FrameEncoder::new(g, spec(64, 48, true, Rotation::R0));
        assert_eq!(flip.plan().route, Route::Lossless);
        let out = flip.encode(&strip_dht(&jpeg)).unwrap();
        let img = decode(&out.jpeg).unwrap();
        assert_eq!(img.dimensions(), (64, 48));
        // The left half was dark (red 30): now it is the right half.
        assert!(img.get_pixel(2, 24).0[0] > 200 && img.get_pixel(61, 24).0[0] < 50);
        assert!(matches!(
            flip.encode(&[0xFF, 0xD8, 0xFF, 0xDA, 0, 2, 0xFF, 0xD9]),
            Err(FrameError::Decode(_))
        ));
    }

    #[test]
    fn scale_cover_keeps_the_aspect_and_crops_the_centre() {
        // 4:3 into 16:9: the top and bottom are cropped.
        let img = RgbImage::from_fn(40, 30, |_, y| {
            image::Rgb(if (4..26).contains(&y) {
                [200, 200, 200]
            } else {
                [0, 0, 0]
            })
        });
        let out = scale_cover(img.clone(), 80, 40).unwrap();
        assert_eq!(out.dimensions(), (80, 40));
        // Scaled by 2 to 80x60, rows 10..50 kept: the original's rows 5..25, all light.
        assert!(
            out.pixels().all(|p| p.0[0] > 150),
            "only the light band remains"
        );
        assert_eq!(scale_cover(img.clone(), 40, 30).unwrap(), img);
        assert_eq!(scale_cover(img, 0, 30), Err(FrameError::Size(40, 30)));
    }
}

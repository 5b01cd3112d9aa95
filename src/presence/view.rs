//! The detector's small grey view of a frame, taken from what the camera delivers:
//! the luma of a YUYV frame box-averaged down ([`from_yuyv`]), or an MJPEG/JPEG
//! frame decoded to grey and box-averaged down ([`from_jpeg`]). Neither needs a JPEG
//! encode; the aspect ratio is kept (a squeezed face is a missed face) and a frame
//! is never scaled up.
//!
//! zune-jpeg (the decoder under `image`) cannot decode at a reduced DCT scale, so a
//! JPEG is decoded whole, as grey only (no colour conversion), then shrunk:
//! docs/PERFORMANCE.md, "Presence detector", has the cost.

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use super::GreyView;
use crate::camera::jpeg::PixelFormat;
use crate::camera::RawImage;
use crate::rotation::Rotation;

/// The width of the detector's view: 320 pixels (320x240 for a 4:3 camera). The
/// SeetaFace detector's smallest face is its 40-pixel window, an eighth of it.
pub const VIEW_WIDTH: u32 = 320;

/// The largest side of a frame this module takes (a camera's frame, not a poster).
const MAX_SIDE: u32 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("a {width}x{height} {what} needs {need} bytes, got {got}")]
    Short {
        what: &'static str,
        width: u32,
        height: u32,
        need: usize,
        got: usize,
    },
    #[error("frame size {0}x{1} outside 1x1..={MAX_SIDE}x{MAX_SIDE}")]
    Size(u32, u32),
    #[error("cannot decode the JPEG frame: {0}")]
    Jpeg(String),
}

/// The view's size for a `width`x`height` frame: at most `max_width` wide, the
/// frame's aspect ratio kept, never larger than the frame.
pub fn view_size(width: u32, height: u32, max_width: u32) -> (u32, u32) {
    let w = width.min(max_width.max(1));
    let h = (u64::from(height) * u64::from(w) / u64::from(width.max(1))).max(1);
    (w, h.min(u64::from(height)) as u32)
}

fn check_size(width: u32, height: u32) -> Result<(), ViewError> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(ViewError::Size(width, height));
    }
    Ok(())
}

/// The luma of a packed YUYV (YUV 4:2:2: `Y0 U Y1 V` per two pixels) frame of
/// `width`x`height`, box-averaged to at most `max_width` wide.
pub fn from_yuyv(
    yuyv: &[u8],
    width: u32,
    height: u32,
    max_width: u32,
) -> Result<GreyView, ViewError> {
    packed(yuyv, "YUYV frame", 2, width, height, max_width)
}

/// The pre-filter's small view straight from a YUYV frame, without making the
/// detector's view: `out_width` wide (40 for a 320-pixel view shrunk 8 times), the
/// aspect kept, each pixel the mean of a 4x4 grid of luma samples spread over its
/// block (16 reads instead of the block's hundreds: the idle look's cost).
pub fn small_from_yuyv(
    yuyv: &[u8],
    width: u32,
    height: u32,
    out_width: u32,
) -> Result<GreyView, ViewError> {
    let stride = check_packed(yuyv, "YUYV frame", 2, width, height)?;
    let (w, h) = view_size(width, height, out_width);
    let (width, height, ow, oh) = (width as usize, height as usize, w as usize, h as usize);
    let mut pixels = Vec::with_capacity(ow * oh);
    for oy in 0..oh {
        let (y0, y1) = (oy * height / oh, (oy + 1) * height / oh);
        for ox in 0..ow {
            let (x0, x1) = (ox * width / ow, (ox + 1) * width / ow);
            let mut sum = 0u32;
            for i in 0..4 {
                // The middles of four equal strips of the block (its first row or
                // column when the block is narrower than four).
                let y = (y0 + (2 * i + 1) * (y1 - y0) / 8).min(height - 1);
                for j in 0..4 {
                    let x = (x0 + (2 * j + 1) * (x1 - x0) / 8).min(width - 1);
                    sum += u32::from(yuyv[y * stride + 2 * x]);
                }
            }
            pixels.push(((sum + 8) / 16) as u8);
        }
    }
    Ok(GreyView {
        width: w,
        height: h,
        pixels,
    })
}

/// The detector's view of a camera frame as delivered (`Frame::raw_image`), turned
/// as the frame sent is (`rotation`): a JPEG decoded grey, a YUV frame's luma.
/// Never a JPEG encode. Mirroring is left out: it changes neither whether there is
/// a face nor how far it is from the middle.
pub fn of_raw(
    image: RawImage<'_>,
    rotation: Rotation,
    max_width: u32,
) -> Result<GreyView, ViewError> {
    // A quarter-turned frame is as wide as the unturned one is high: shrink it to
    // at most `max_width` high before it is turned.
    let turned = rotation.swaps_sides();
    let before_turn = |width: u32, height: u32| {
        if turned {
            (u64::from(max_width) * u64::from(width) / u64::from(height.max(1))).max(1) as u32
        } else {
            max_width
        }
    };
    let view = match image {
        RawImage::Jpeg(jpeg) if turned => {
            let whole = from_jpeg(jpeg, u32::MAX)?;
            let out_width = before_turn(whole.width, whole.height);
            from_grey(&whole.pixels, whole.width, whole.height, out_width)?
        }
        RawImage::Jpeg(jpeg) => from_jpeg(jpeg, max_width)?,
        RawImage::Yuv {
            bytes,
            format,
            width,
            height,
            stride,
        } => {
            let out_width = before_turn(width, height);
            match format {
                PixelFormat::Yuyv if stride == 0 || stride == width * 2 => {
                    from_yuyv(bytes, width, height, out_width)?
                }
                _ => {
                    let luma = luma_plane(bytes, format, width, height, stride)?;
                    from_grey(&luma, width, height, out_width)?
                }
            }
        }
    };
    Ok(rotate(view, rotation))
}

/// The pre-filter's small view of a camera frame: [`small_from_yuyv`] for a YUYV
/// frame (a few samples a block, the idle look's cost), [`small_from_jpeg`] for a
/// JPEG (a DCT-scaled decode), else the detector's view shrunk
/// `motion::SHRINK` times.
pub fn small_of_raw(image: RawImage<'_>) -> Result<GreyView, ViewError> {
    let shrink = livegate_core::motion::SHRINK;
    match image {
        RawImage::Jpeg(jpeg) => small_from_jpeg(jpeg, VIEW_WIDTH / shrink),
        RawImage::Yuv {
            bytes,
            format: PixelFormat::Yuyv,
            width,
            height,
            stride,
        } if stride == 0 || stride == width * 2 => {
            small_from_yuyv(bytes, width, height, VIEW_WIDTH / shrink)
        }
        image => Ok(of_raw(image, Rotation::R0, VIEW_WIDTH)?.shrink(shrink)),
    }
}

thread_local! {
    static DECOMPRESSOR: std::cell::RefCell<Option<turbojpeg::Decompressor>> =
        const { std::cell::RefCell::new(None) };
}

/// The pre-filter's small view of a JPEG frame, at most `out_width` wide: decoded
/// by libjpeg-turbo at the smallest DCT scale (1/8, 1/4, 1/2) that is still at
/// least `out_width` wide (a 640x480 frame is decoded at 80x60: mostly the DC
/// coefficients), as grey, then box-averaged.
pub fn small_from_jpeg(jpeg: &[u8], out_width: u32) -> Result<GreyView, ViewError> {
    let tj = |e: turbojpeg::Error| ViewError::Jpeg(e.to_string());
    let (luma, width, height) = DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let d = match &mut *slot {
            Some(d) => d,
            empty => empty.insert(turbojpeg::Decompressor::new().map_err(tj)?),
        };
        let header = d.read_header(jpeg).map_err(tj)?;
        if header.width == 0 || header.height == 0 {
            return Err(ViewError::Size(header.width as u32, header.height as u32));
        }
        let factor = [
            turbojpeg::ScalingFactor::ONE_EIGHTH,
            turbojpeg::ScalingFactor::ONE_QUARTER,
            turbojpeg::ScalingFactor::ONE_HALF,
            turbojpeg::ScalingFactor::ONE,
        ]
        .into_iter()
        .find(|f| f.scale(header.width) >= out_width as usize)
        .unwrap_or(turbojpeg::ScalingFactor::ONE);
        d.set_scaling_factor(factor).map_err(tj)?;
        let (w, h) = (factor.scale(header.width), factor.scale(header.height));
        let mut pixels = vec![0u8; w * h];
        let image = turbojpeg::Image {
            pixels: pixels.as_mut_slice(),
            width: w,
            pitch: w,
            height: h,
            format: turbojpeg::PixelFormat::GRAY,
        };
        d.decompress(jpeg, image).map_err(tj)?;
        Ok((pixels, w as u32, h as u32))
    })?;
    from_grey(&luma, width, height, out_width)
}

/// The luma of a raw YUV frame, `width * height` bytes row by row.
fn luma_plane(
    bytes: &[u8],
    format: PixelFormat,
    width: u32,
    height: u32,
    stride: u32,
) -> Result<Vec<u8>, ViewError> {
    check_size(width, height)?;
    let (step, first) = match format {
        PixelFormat::Yuyv => (2, 0),
        PixelFormat::Uyvy => (2, 1),
        PixelFormat::Nv12 | PixelFormat::Yu12 | PixelFormat::Mjpeg => (1, 0),
    };
    let (w, h) = (width as usize, height as usize);
    let stride = (stride as usize).max(w * step);
    let need = stride * (h - 1) + w * step;
    if bytes.len() < need {
        return Err(ViewError::Short {
            what: format.name(),
            width,
            height,
            need,
            got: bytes.len(),
        });
    }
    let mut luma = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = &bytes[y * stride..y * stride + w * step];
        luma.extend(row.iter().skip(first).step_by(step));
    }
    Ok(luma)
}

/// `view` turned clockwise by `rotation`.
fn rotate(view: GreyView, rotation: Rotation) -> GreyView {
    let (w, h) = (view.width as usize, view.height as usize);
    if rotation == Rotation::R0 || view.pixels.len() != w * h {
        return view;
    }
    let at = |x: usize, y: usize| view.pixels[y * w + x];
    let pixels: Vec<u8> = match rotation {
        Rotation::R0 => return view,
        Rotation::R180 => view.pixels.iter().rev().copied().collect(),
        // Clockwise: the new row `y` is the old column `y`, read bottom up.
        Rotation::R90 => (0..w)
            .flat_map(|y| (0..h).map(move |x| (y, h - 1 - x)))
            .map(|(x, y)| at(x, y))
            .collect(),
        Rotation::R270 => (0..w)
            .flat_map(|y| (0..h).map(move |x| (w - 1 - y, x)))
            .map(|(x, y)| at(x, y))
            .collect(),
    };
    let (width, height) = if rotation.swaps_sides() {
        (view.height, view.width)
    } else {
        (view.width, view.height)
    };
    GreyView {
        width,
        height,
        pixels,
    }
}

/// A JPEG frame decoded as grey and box-averaged to at most `max_width` wide.
pub fn from_jpeg(jpeg: &[u8], max_width: u32) -> Result<GreyView, ViewError> {
    let options = DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::Luma)
        .set_max_width(MAX_SIDE as usize)
        .set_max_height(MAX_SIDE as usize);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
    let luma = decoder
        .decode()
        .map_err(|e| ViewError::Jpeg(format!("{e:?}")))?;
    let (width, height) = decoder
        .dimensions()
        .ok_or_else(|| ViewError::Jpeg("no size after decoding".into()))?;
    from_grey(&luma, width as u32, height as u32, max_width)
}

/// A grey picture (one byte per pixel, row by row) box-averaged to at most
/// `max_width` wide: a photograph given to `livegate test presence`, a test picture.
pub fn from_grey(
    luma: &[u8],
    width: u32,
    height: u32,
    max_width: u32,
) -> Result<GreyView, ViewError> {
    packed(luma, "grey picture", 1, width, height, max_width)
}

/// The view of a picture whose luma is every `step`th byte, rows `width * step`
/// bytes apart (1: grey; 2: YUYV).
fn packed(
    bytes: &[u8],
    what: &'static str,
    step: usize,
    width: u32,
    height: u32,
    max_width: u32,
) -> Result<GreyView, ViewError> {
    let stride = check_packed(bytes, what, step, width, height)?;
    let (w, h) = view_size(width, height, max_width);
    Ok(shrink(width, height, w, h, |y| {
        bytes[y * stride..(y + 1) * stride].iter().step_by(step)
    }))
}

/// Checks the size and that `bytes` hold `height` rows of `width * step` bytes;
/// returns that row stride.
fn check_packed(
    bytes: &[u8],
    what: &'static str,
    step: usize,
    width: u32,
    height: u32,
) -> Result<usize, ViewError> {
    check_size(width, height)?;
    let stride = width as usize * step;
    let need = stride * height as usize;
    if bytes.len() < need {
        return Err(ViewError::Short {
            what,
            width,
            height,
            need,
            got: bytes.len(),
        });
    }
    Ok(stride)
}

/// Box-averages a `width`x`height` grey picture, read row by row through `row`,
/// to `out_w`x`out_h` (each at most the source's): each output pixel is the mean
/// of the source pixels that fall into it.
fn shrink<'a, R>(width: u32, height: u32, out_w: u32, out_h: u32, row: R) -> GreyView
where
    R: Fn(usize) -> std::iter::StepBy<std::slice::Iter<'a, u8>>,
{
    let (width, height) = (width as usize, height as usize);
    let (out_w, out_h) = (out_w as usize, out_h as usize);
    // The output column of each source column, and how many fall into each.
    let col: Vec<usize> = (0..width).map(|x| x * out_w / width).collect();
    let mut per_col = vec![0u32; out_w];
    for &c in &col {
        per_col[c] += 1;
    }
    let mut pixels = Vec::with_capacity(out_w * out_h);
    let mut sums = vec![0u32; out_w];
    for oy in 0..out_h {
        let (y0, y1) = (oy * height / out_h, (oy + 1) * height / out_h);
        let y1 = y1.max(y0 + 1).min(height);
        sums.iter_mut().for_each(|s| *s = 0);
        for y in y0..y1 {
            for (&c, &p) in col.iter().zip(row(y)) {
                sums[c] += u32::from(p);
            }
        }
        let rows = (y1 - y0) as u32;
        pixels.extend(sums.iter().zip(&per_col).map(|(&s, &n)| {
            let n = (n * rows).max(1);
            ((s + n / 2) / n) as u8
        }));
    }
    GreyView {
        width: out_w as u32,
        height: out_h as u32,
        pixels,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A YUYV frame whose luma at (x, y) is `luma(x, y)`; the chroma bytes are
    /// 0x80 and 0x11 so that reading them by mistake shows.
    fn yuyv(width: u32, height: u32, luma: impl Fn(u32, u32) -> u8) -> Vec<u8> {
        let mut out = Vec::new();
        for y in 0..height {
            for x in 0..width {
                out.push(luma(x, y));
                out.push(if x % 2 == 0 { 0x80 } else { 0x11 });
            }
        }
        out
    }

    #[test]
    fn view_size_keeps_the_aspect_and_never_scales_up() {
        assert_eq!(view_size(640, 480, 320), (320, 240));
        assert_eq!(view_size(1280, 720, 320), (320, 180));
        assert_eq!(view_size(160, 120, 320), (160, 120));
        assert_eq!(view_size(0, 0, 320), (0, 0));
    }

    #[test]
    fn yuyv_luma_is_box_averaged_without_the_chroma() {
        // 640x480, luma = x / 2 (0..=255 per pair of columns) in the top half,
        // 200 below. Halved: each view pixel averages 2x2 source pixels.
        let frame = yuyv(640, 480, |x, y| if y < 240 { (x / 4) as u8 } else { 200 });
        let v = from_yuyv(&frame, 640, 480, 320).expect("a whole frame");
        assert_eq!((v.width, v.height), (320, 240));
        assert_eq!(v.pixels.len(), 320 * 240);
        // View column c covers source columns 2c, 2c+1: luma (2c)/4 and (2c+1)/4.
        for c in [0u32, 1, 2, 3, 100, 319] {
            let want = ((2 * c / 4 + (2 * c + 1) / 4) as f32 / 2.0).round() as u8;
            assert_eq!(v.pixels[c as usize], want, "column {c}");
        }
        assert!(v.pixels[120 * 320..].iter().all(|&p| p == 200));
    }

    #[test]
    fn yuyv_at_or_below_the_view_width_is_the_luma_itself() {
        let frame = yuyv(8, 2, |x, y| (x * 10 + y) as u8);
        let v = from_yuyv(&frame, 8, 2, 320).expect("8x2");
        assert_eq!((v.width, v.height), (8, 2));
        assert_eq!(
            v.pixels,
            vec![0, 10, 20, 30, 40, 50, 60, 70, 1, 11, 21, 31, 41, 51, 61, 71]
        );
    }

    #[test]
    fn yuyv_uneven_ratio_is_averaged_too() {
        // 1280x720 → 320x180: blocks of 4x4.
        let frame = yuyv(1280, 720, |x, _| if x % 4 == 0 { 255 } else { 55 });
        let v = from_yuyv(&frame, 1280, 720, 320).expect("720p");
        assert_eq!((v.width, v.height), (320, 180));
        assert!(v.pixels.iter().all(|&p| p == 105), "(255 + 3*55) / 4");
    }

    #[test]
    fn a_short_or_empty_yuyv_frame_is_an_error() {
        let frame = yuyv(64, 48, |_, _| 0);
        assert!(matches!(
            from_yuyv(&frame[..frame.len() - 1], 64, 48, 32),
            Err(ViewError::Short {
                what: "YUYV frame",
                need: 6144,
                got: 6143,
                ..
            })
        ));
        assert!(matches!(
            from_yuyv(&[], 0, 48, 32),
            Err(ViewError::Size(0, 48))
        ));
    }

    #[test]
    fn the_small_view_samples_the_luma_of_each_block() {
        // 640x480 → 40x30: blocks of 16x16. Left half dark, right half light, with
        // the chroma bytes set to confuse a wrong reader.
        let frame = yuyv(640, 480, |x, _| if x < 320 { 20 } else { 220 });
        let v = small_from_yuyv(&frame, 640, 480, 40).expect("a whole frame");
        assert_eq!((v.width, v.height), (40, 30));
        for y in 0..30 {
            for x in 0..40 {
                let want = if x < 20 { 20 } else { 220 };
                assert_eq!(v.pixels[y * 40 + x], want, "({x}, {y})");
            }
        }
        // A smooth gradient: the samples' mean is the block's mean, ±1.
        let frame = yuyv(640, 480, |x, y| ((x + y) / 5) as u8);
        let fine = from_yuyv(&frame, 640, 480, 640).expect("the luma");
        let boxed = fine.shrink(16);
        let sampled = small_from_yuyv(&frame, 640, 480, 40).expect("small");
        for (a, b) in boxed.pixels.iter().zip(&sampled.pixels) {
            assert!(a.abs_diff(*b) <= 1, "{a} vs {b}");
        }
        assert!(matches!(
            small_from_yuyv(&frame[..100], 640, 480, 40),
            Err(ViewError::Short { .. })
        ));
        // Blocks narrower than the grid: still one sample row or column each.
        let tiny = yuyv(8, 6, |x, _| x as u8 * 10);
        let v = small_from_yuyv(&tiny, 8, 6, 8).expect("tiny");
        assert_eq!((v.width, v.height), (8, 6));
        assert_eq!(&v.pixels[..8], &[0, 10, 20, 30, 40, 50, 60, 70]);
    }

    /// A 640x480 grey JPEG: the left half at `left`, the right half at `right`.
    fn halves_jpeg(left: u8, right: u8) -> Vec<u8> {
        let img = image::GrayImage::from_fn(640, 480, |x, _| {
            image::Luma([if x < 320 { left } else { right }])
        });
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&img)
            .expect("encode");
        jpeg
    }

    #[test]
    fn jpeg_is_decoded_grey_and_shrunk() {
        let jpeg = halves_jpeg(0, 255);
        let v = from_jpeg(&jpeg, 320).expect("decode");
        assert_eq!((v.width, v.height), (320, 240));
        let at = |x: usize, y: usize| v.pixels[y * 320 + x];
        assert!(at(10, 120) < 10, "{}", at(10, 120));
        assert!(at(300, 120) > 245, "{}", at(300, 120));
    }

    #[test]
    fn a_raw_frame_gives_the_view_of_the_picture_sent_turned_as_it_is() {
        // 64x48 YUYV, bright in the top-left 8x8 corner.
        let frame = yuyv(64, 48, |x, y| if x < 8 && y < 8 { 250 } else { 10 });
        let raw = RawImage::Yuv {
            bytes: &frame,
            format: PixelFormat::Yuyv,
            width: 64,
            height: 48,
            stride: 0,
        };
        let v = of_raw(raw, Rotation::R0, 32).expect("view");
        assert_eq!((v.width, v.height, v.pixels[0]), (32, 24, 250));
        // Turned a quarter clockwise: at most 32 wide (42x31 before the turn), the
        // corner top right.
        let v = of_raw(raw, Rotation::R90, 32).expect("view");
        assert_eq!((v.width, v.height), (31, 42));
        assert_eq!(v.pixels[30], 250, "top right");
        assert_eq!(v.pixels[0], 10);
        let v = of_raw(raw, Rotation::R270, 32).expect("view");
        assert_eq!((v.width, v.height), (31, 42));
        assert_eq!(v.pixels[41 * 31], 250, "bottom left");
        let v = of_raw(raw, Rotation::R180, 32).expect("view");
        assert_eq!(v.pixels[32 * 24 - 1], 250, "bottom right");
        // UYVY, a padded stride: the same luma.
        let mut uyvy = Vec::new();
        for row in frame.chunks(128) {
            for px in row.chunks(2) {
                uyvy.extend([px[1], px[0]]);
            }
            uyvy.extend([0u8; 16]);
        }
        let v = of_raw(
            RawImage::Yuv {
                bytes: &uyvy,
                format: PixelFormat::Uyvy,
                width: 64,
                height: 48,
                stride: 144,
            },
            Rotation::R0,
            32,
        )
        .expect("view");
        assert_eq!(v, of_raw(raw, Rotation::R0, 32).expect("view"));
        // The small view: 40 wide at most, from the same frame.
        let small = small_of_raw(raw).expect("small");
        assert_eq!((small.width, small.height), (40, 30));
        let short = RawImage::Yuv {
            bytes: &frame[..100],
            format: PixelFormat::Nv12,
            width: 64,
            height: 48,
            stride: 0,
        };
        assert!(matches!(
            of_raw(short, Rotation::R0, 32),
            Err(ViewError::Short { .. })
        ));
    }

    #[test]
    fn the_small_view_of_a_jpeg_is_a_dct_scaled_decode() {
        let jpeg = halves_jpeg(20, 220);
        let small = small_from_jpeg(&jpeg, 40).expect("decode");
        assert_eq!((small.width, small.height), (40, 30));
        // The same as the detector's view shrunk, within a few levels.
        let boxed = from_jpeg(&jpeg, 320).expect("decode").shrink(8);
        for (a, b) in small.pixels.iter().zip(&boxed.pixels) {
            assert!(a.abs_diff(*b) <= 6, "{a} vs {b}");
        }
        assert_eq!(small_of_raw(RawImage::Jpeg(&jpeg)).expect("small"), small);
        assert!(matches!(
            small_from_jpeg(b"not a jpeg", 40),
            Err(ViewError::Jpeg(_))
        ));
    }

    #[test]
    fn not_a_jpeg_is_an_error() {
        assert!(matches!(
            from_jpeg(b"not a jpeg", 320),
            Err(ViewError::Jpeg(_))
        ));
    }
}

//! JPEG encoding and lossless transforms through libjpeg-turbo (the `turbojpeg` crate,
//! built from its bundled source: SIMD with SSE2/AVX2 on x86_64 and NEON on aarch64
//! and armv7).
//!
//! Raw YUV frames are never turned into RGB on the fast path: their planes are split
//! (and the chroma of two lines averaged) into 4:2:0 planes, stretched from the
//! camera's studio range (Y 16–235, Cb/Cr 16–240) to JPEG's full range, and handed
//! to libjpeg-turbo as YUV, which does the DCT and entropy coding. Mirror and
//! rotation are lossless DCT-domain transforms of the JPEG (no decode, no
//! re-encode), possible when the picture's sides are whole MCUs (16 pixels for
//! 4:2:0); [`lossless`] says when they are not, and the caller takes the RGB way.
//!
//! The compressor and transformer handles are kept per thread (a frame is converted
//! on the task that posts it).

use std::cell::RefCell;

use turbojpeg::{
    Compressor, Image, PixelFormat as TjFormat, Subsamp, Transform, TransformOp, Transformer,
    YuvPlanesImage,
};

use super::jpeg::{FrameError, PixelFormat, Rotation};

thread_local! {
    static COMPRESSOR: RefCell<Option<Compressor>> = const { RefCell::new(None) };
    static TRANSFORMER: RefCell<Option<Transformer>> = const { RefCell::new(None) };
}

fn tj_error(e: turbojpeg::Error) -> FrameError {
    FrameError::Encode(e.to_string())
}

/// Runs `f` with this thread's compressor set to 4:2:0 at `quality`.
fn with_compressor<T>(
    quality: u8,
    f: impl FnOnce(&mut Compressor) -> Result<T, turbojpeg::Error>,
) -> Result<T, FrameError> {
    COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let c = match &mut *slot {
            Some(c) => c,
            empty => empty.insert(Compressor::new().map_err(tj_error)?),
        };
        c.set_quality(i32::from(quality.clamp(1, 100)))
            .map_err(tj_error)?;
        c.set_subsamp(Subsamp::Sub2x2).map_err(tj_error)?;
        f(c).map_err(tj_error)
    })
}

/// The 4:2:0 planes of one frame, full range, reused from frame to frame.
#[derive(Default)]
pub struct Planes {
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

/// Studio-range luma (16–235) to full range (0–255); vectorises (u16 lanes).
#[inline]
fn expand_luma(y: u8) -> u8 {
    let y = u16::from(y.clamp(16, 235) - 16);
    ((y * 298 + 128) >> 8) as u8
}

/// Studio-range chroma (16–240) to full range (0–255), 128 staying 128.
#[inline]
fn expand_chroma(c: u8) -> u8 {
    let c = u16::from(c.clamp(16, 240) - 16);
    ((c * 291 + 256) >> 8).min(255) as u8
}

fn expand(plane: &mut [u8], f: fn(u8) -> u8) {
    for p in plane.iter_mut() {
        *p = f(*p);
    }
}

#[inline]
fn avg(a: u8, b: u8) -> u8 {
    ((u16::from(a) + u16::from(b) + 1) >> 1) as u8
}

/// Whether [`to_planes`] handles this frame: a raw format of even width and height.
pub fn planes_fit(format: PixelFormat, width: u32, height: u32) -> bool {
    format.is_raw() && width >= 2 && height >= 2 && width % 2 == 0 && height % 2 == 0
}

/// Splits one raw frame (`stride`: bytes per line of its first plane, at least the
/// format's minimum) into full-range 4:2:0 planes. The caller has checked the
/// length (see `jpeg::raw_need`) and [`planes_fit`].
pub fn to_planes(
    format: PixelFormat,
    raw: &[u8],
    width: u32,
    height: u32,
    stride: usize,
    p: &mut Planes,
) -> Result<(), FrameError> {
    if !planes_fit(format, width, height) {
        return Err(FrameError::Size(width, height));
    }
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w / 2, h / 2);
    p.y.resize(w * h, 0);
    p.u.resize(cw * ch, 0);
    p.v.resize(cw * ch, 0);
    let short = |need: usize| FrameError::Short {
        got: raw.len(),
        need,
    };
    match format {
        PixelFormat::Yuyv | PixelFormat::Uyvy => {
            let (y0, u, y1, v) = format.macropixel();
            for row in 0..ch {
                let a_at = 2 * row * stride;
                let b_at = a_at + stride;
                let a = raw
                    .get(a_at..a_at + w * 2)
                    .ok_or_else(|| short(a_at + w * 2))?;
                let b = raw
                    .get(b_at..b_at + w * 2)
                    .ok_or_else(|| short(b_at + w * 2))?;
                let (ya, rest) = p.y[2 * row * w..].split_at_mut(w);
                let yb = &mut rest[..w];
                let uu = &mut p.u[row * cw..(row + 1) * cw];
                let vv = &mut p.v[row * cw..(row + 1) * cw];
                for (i, (ma, mb)) in a.chunks_exact(4).zip(b.chunks_exact(4)).enumerate() {
                    ya[2 * i] = ma[y0];
                    ya[2 * i + 1] = ma[y1];
                    yb[2 * i] = mb[y0];
                    yb[2 * i + 1] = mb[y1];
                    uu[i] = avg(ma[u], mb[u]);
                    vv[i] = avg(ma[v], mb[v]);
                }
            }
        }
        PixelFormat::Nv12 | PixelFormat::Yu12 => {
            for row in 0..h {
                let at = row * stride;
                let line = raw.get(at..at + w).ok_or_else(|| short(at + w))?;
                p.y[row * w..(row + 1) * w].copy_from_slice(line);
            }
            let luma = stride * h;
            if format == PixelFormat::Nv12 {
                for row in 0..ch {
                    let at = luma + row * stride;
                    let line = raw.get(at..at + w).ok_or_else(|| short(at + w))?;
                    let uu = &mut p.u[row * cw..(row + 1) * cw];
                    let vv = &mut p.v[row * cw..(row + 1) * cw];
                    for (i, m) in line.chunks_exact(2).enumerate() {
                        uu[i] = m[0];
                        vv[i] = m[1];
                    }
                }
            } else {
                let cs = stride.div_ceil(2).max(cw);
                for row in 0..ch {
                    let u_at = luma + row * cs;
                    let v_at = luma + cs * ch + row * cs;
                    let ul = raw.get(u_at..u_at + cw).ok_or_else(|| short(u_at + cw))?;
                    let vl = raw.get(v_at..v_at + cw).ok_or_else(|| short(v_at + cw))?;
                    p.u[row * cw..(row + 1) * cw].copy_from_slice(ul);
                    p.v[row * cw..(row + 1) * cw].copy_from_slice(vl);
                }
            }
        }
        PixelFormat::Mjpeg => return Err(FrameError::Decode("MJPEG is not raw".into())),
    }
    expand(&mut p.y, expand_luma);
    expand(&mut p.u, expand_chroma);
    expand(&mut p.v, expand_chroma);
    Ok(())
}

/// Encodes the planes of a `width`x`height` frame (from [`to_planes`]) at `quality`.
pub fn encode_planes(
    p: &Planes,
    width: u32,
    height: u32,
    quality: u8,
) -> Result<Vec<u8>, FrameError> {
    let (w, h) = (width as usize, height as usize);
    if p.y.len() < w * h || p.u.len() < (w / 2) * (h / 2) || p.v.len() < (w / 2) * (h / 2) {
        return Err(FrameError::Size(width, height));
    }
    let image = YuvPlanesImage {
        y_plane: &p.y[..],
        u_plane: &p.u[..],
        v_plane: &p.v[..],
        width: w,
        height: h,
        y_stride: w,
        u_stride: w / 2,
        v_stride: w / 2,
        subsamp: Subsamp::Sub2x2,
    };
    with_compressor(quality, |c| {
        Ok(c.compress_yuv_planes_to_owned(&image)?.to_vec())
    })
}

/// Encodes a packed RGB picture as a 4:2:0 JPEG at `quality`.
pub fn encode_rgb(rgb: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, FrameError> {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 || rgb.len() < w * h * 3 {
        return Err(FrameError::Size(width, height));
    }
    let image = Image {
        pixels: &rgb[..w * h * 3],
        width: w,
        pitch: w * 3,
        height: h,
        format: TjFormat::RGB,
    };
    with_compressor(quality, |c| Ok(c.compress_to_owned(image)?.to_vec()))
}

/// The one lossless operation equal to "mirror horizontally, then rotate clockwise".
pub fn transform_op(mirror: bool, rotation: Rotation) -> TransformOp {
    match (mirror, rotation) {
        (false, Rotation::R0) => TransformOp::None,
        (false, Rotation::R90) => TransformOp::Rot90,
        (false, Rotation::R180) => TransformOp::Rot180,
        (false, Rotation::R270) => TransformOp::Rot270,
        (true, Rotation::R0) => TransformOp::Hflip,
        // (x, y) → (w-1-x, y) → (h-1-y, w-1-x): across the anti-diagonal.
        (true, Rotation::R90) => TransformOp::Transverse,
        (true, Rotation::R180) => TransformOp::Vflip,
        // (x, y) → (w-1-x, y) → (y, x).
        (true, Rotation::R270) => TransformOp::Transpose,
    }
}

/// Mirrors and rotates a JPEG in the DCT domain (no decode, no quality loss).
/// `Ok(None)` when the picture's sides are not whole MCUs and the transform would
/// not be exact: the caller decodes and re-encodes instead.
pub fn lossless(
    jpeg: &[u8],
    mirror: bool,
    rotation: Rotation,
) -> Result<Option<Vec<u8>>, FrameError> {
    let mut t = Transform::op(transform_op(mirror, rotation));
    t.perfect = true;
    TRANSFORMER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let tr = match &mut *slot {
            Some(tr) => tr,
            empty => empty.insert(Transformer::new().map_err(tj_error)?),
        };
        match tr.transform_to_owned(&t, jpeg) {
            Ok(out) => Ok(Some(out.to_vec())),
            // libjpeg-turbo's words for an imperfect transform.
            Err(e) if e.to_string().contains("perfect") => Ok(None),
            Err(e) => Err(FrameError::Decode(e.to_string())),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_expansion_maps_studio_to_full() {
        assert_eq!(expand_luma(16), 0);
        assert_eq!(expand_luma(0), 0);
        assert_eq!(expand_luma(235), 255);
        assert_eq!(expand_luma(255), 255);
        assert_eq!(expand_luma(126), 128);
        assert_eq!(expand_chroma(128), 128);
        assert_eq!(expand_chroma(16), 1);
        assert_eq!(expand_chroma(240), 255);
        assert_eq!(expand_chroma(255), 255);
    }

    #[test]
    fn transform_ops_compose_mirror_then_rotation() {
        // Check each op against pixel moves on a 2x2 labelled picture.
        for m in [false, true] {
            for r in [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270] {
                let src = [1u8, 2, 3, 4]; // (0,0)=1 (1,0)=2 (0,1)=3 (1,1)=4
                let mut rgb = Vec::new();
                for v in src {
                    rgb.extend_from_slice(&[v, v, v]);
                }
                let mut want = Vec::new();
                super::super::jpeg::transform_rgb(&rgb, 2, 2, m, r, &mut want);
                let want: Vec<u8> = want.chunks(3).map(|p| p[0]).collect();
                let got: Vec<u8> = match transform_op(m, r) {
                    TransformOp::None => vec![1, 2, 3, 4],
                    TransformOp::Hflip => vec![2, 1, 4, 3],
                    TransformOp::Vflip => vec![3, 4, 1, 2],
                    TransformOp::Transpose => vec![1, 3, 2, 4],
                    TransformOp::Transverse => vec![4, 2, 3, 1],
                    TransformOp::Rot90 => vec![3, 1, 4, 2],
                    TransformOp::Rot180 => vec![4, 3, 2, 1],
                    TransformOp::Rot270 => vec![2, 4, 1, 3],
                    op => panic!("unexpected {op:?}"),
                };
                assert_eq!(got, want, "mirror {m} {r:?}");
            }
        }
    }
}

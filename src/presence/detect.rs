//! The face detector behind a small trait: [`FaceDetector`], the real one
//! ([`SeetaDetector`]: the SeetaFace frontal face detector of the `rustface` crate,
//! pure Rust, its model embedded) and, with the `sim` feature, a simulated twin
//! (`super::twin`). Why this detector: docs/PERFORMANCE.md, "Presence detector".

use super::{FaceBox, GreyView};

/// Finds faces in a grey view. Slow (milliseconds to tens of milliseconds on a
/// Pi): run it off the async runtime, on the thread that owns it.
pub trait FaceDetector {
    /// The faces in `view`, as boxes in its pixels, best first. A view too small
    /// to hold a face, or whose pixels do not fill it, has none.
    fn detect(&mut self, view: &GreyView) -> Vec<FaceBox>;
}

/// The SeetaFace frontal face detector's model (SeetaFace Detection,
/// `seeta_fd_frontal_v1.0.bin`, © the SeetaFace authors, BSD-2-Clause), as the
/// `rustface` crate ships it; build.rs finds the file, this embeds it.
pub static MODEL: &[u8] = include_bytes!(env!("SEETA_MODEL"));

/// The detector's window: it finds no face smaller than this many pixels.
pub const WINDOW: u32 = 40;

/// The smallest score kept (rustface's examples use 2.0; our pictures: the faces
/// score 3 to 26, docs/PERFORMANCE.md).
pub const SCORE_THRESHOLD: f64 = 2.0;

#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    #[error("the embedded face model does not load: {0}")]
    Model(#[from] std::io::Error),
}

/// The SeetaFace detector with the embedded model. Not `Send` (rustface's
/// detector is a non-`Send` trait object): create it on the thread that uses it.
pub struct SeetaDetector {
    inner: Box<dyn rustface::Detector>,
}

impl SeetaDetector {
    /// Loads the embedded model (about 1.2 MB, parsed once).
    pub fn new() -> Result<SeetaDetector, DetectorError> {
        let model = rustface::read_model(std::io::Cursor::new(MODEL))?;
        let mut inner = rustface::create_detector_with_model(model);
        // rustface's defaults but named: every window of 40 pixels, 4 pixels apart,
        // on a pyramid of 0.8 steps; smaller faces are not looked for (rustface
        // never scales the picture up).
        inner.set_min_face_size(20);
        inner.set_score_thresh(SCORE_THRESHOLD);
        inner.set_pyramid_scale_factor(0.8);
        inner.set_slide_window_step(4, 4);
        Ok(SeetaDetector { inner })
    }
}

impl std::fmt::Debug for SeetaDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeetaDetector").finish_non_exhaustive()
    }
}

impl FaceDetector for SeetaDetector {
    fn detect(&mut self, view: &GreyView) -> Vec<FaceBox> {
        // rustface panics on a picture smaller than its window or not filled.
        let len = view.width as usize * view.height as usize;
        if view.width < WINDOW || view.height < WINDOW || view.pixels.len() != len {
            return Vec::new();
        }
        let image = rustface::ImageData::new(&view.pixels, view.width, view.height);
        let mut faces: Vec<FaceBox> = self
            .inner
            .detect(&image)
            .iter()
            .map(|f| {
                let b = f.bbox();
                FaceBox {
                    x: b.x(),
                    y: b.y(),
                    width: b.width(),
                    height: b.height(),
                    score: f.score() as f32,
                }
            })
            .collect();
        faces.sort_by(|a, b| b.score.total_cmp(&a.score));
        faces
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_model_loads() {
        assert!(MODEL.len() > 1_000_000, "{} bytes", MODEL.len());
        assert!(SeetaDetector::new().is_ok());
    }

    #[test]
    fn views_too_small_or_not_filled_have_no_face_and_do_not_panic() {
        let mut d = SeetaDetector::new().expect("model");
        for (w, h, len) in [
            (39, 240, 39 * 240),
            (320, 39, 320 * 39),
            (320, 240, 100),
            (0, 0, 0),
        ] {
            let view = GreyView {
                width: w,
                height: h,
                pixels: vec![128; len],
            };
            assert!(d.detect(&view).is_empty(), "{w}x{h} with {len} bytes");
        }
    }

    #[test]
    fn a_blank_or_noisy_view_has_no_face() {
        let mut d = SeetaDetector::new().expect("model");
        let blank = GreyView::new(320, 240, vec![128; 320 * 240]).expect("320x240");
        assert!(d.detect(&blank).is_empty());
        let mut s = 7u32;
        let noise = (0..320 * 240)
            .map(|_| {
                s = s.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (s >> 16) as u8
            })
            .collect();
        let noise = GreyView::new(320, 240, noise).expect("320x240");
        assert!(d.detect(&noise).is_empty());
    }
}

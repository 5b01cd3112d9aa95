//! `livegate test presence IMAGE…`: the face detector on pictures, for a technician
//! (is this camera's picture of a person a face to it?) and for measuring it: for
//! each picture, face or no face, the box, the score and the milliseconds.
//!
//! Watching the camera live (no pictures given) comes with the camera trigger.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::presence::detect::{DetectorError, FaceDetector, SeetaDetector};
use crate::presence::view::{from_grey, from_jpeg, ViewError, VIEW_WIDTH};
use crate::presence::{FaceBox, GreyView};

/// The largest picture file read (a photograph, not a video).
const MAX_PICTURE_BYTES: u64 = 32 << 20;

#[derive(Debug, thiserror::Error)]
pub enum PresenceTestError {
    #[error(transparent)]
    Detector(#[from] DetectorError),
    #[error("{path}: {why}")]
    Picture { path: String, why: String },
    #[error("cannot write the report: {0}")]
    Write(#[from] std::io::Error),
}

/// What the detector found in one picture.
#[derive(Clone, Debug, PartialEq)]
pub struct PictureReport {
    pub view: (u32, u32),
    pub faces: Vec<FaceBox>,
    /// The detection alone (the median of `runs`), not the decoding.
    pub detect: Duration,
    /// Decoding the file and making the grey view.
    pub view_time: Duration,
}

/// The grey view of a picture file: JPEG by the view's own decoder, anything else
/// (PNG) by `image`.
pub fn view_of_file(path: &Path) -> Result<GreyView, PresenceTestError> {
    let fail = |why: String| PresenceTestError::Picture {
        path: path.display().to_string(),
        why,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| fail(e.to_string()))?
        .len();
    if len > MAX_PICTURE_BYTES {
        return Err(fail(format!("{len} bytes: not a picture from a camera")));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    if bytes.starts_with(&[0xFF, 0xD8]) {
        return from_jpeg(&bytes, VIEW_WIDTH).map_err(|e: ViewError| fail(e.to_string()));
    }
    let img = image::load_from_memory(&bytes)
        .map_err(|e| fail(e.to_string()))?
        .into_luma8();
    let (w, h) = img.dimensions();
    from_grey(img.as_raw(), w, h, VIEW_WIDTH).map_err(|e| fail(e.to_string()))
}

/// Runs `detector` `runs` times on each picture (at least once) and reports each.
pub fn test_pictures(
    detector: &mut dyn FaceDetector,
    paths: &[impl AsRef<Path>],
    runs: u32,
    out: &mut dyn Write,
) -> Result<Vec<PictureReport>, PresenceTestError> {
    let mut reports = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let started = Instant::now();
        let view = view_of_file(path)?;
        let view_time = started.elapsed();
        let mut times = Vec::new();
        let mut faces = Vec::new();
        for _ in 0..runs.max(1) {
            let t = Instant::now();
            faces = detector.detect(&view);
            times.push(t.elapsed());
        }
        times.sort();
        let report = PictureReport {
            view: (view.width, view.height),
            faces,
            detect: times[times.len() / 2],
            view_time,
        };
        write_report(out, path, &report)?;
        reports.push(report);
    }
    Ok(reports)
}

fn write_report(out: &mut dyn Write, path: &Path, r: &PictureReport) -> std::io::Result<()> {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let what = match r.faces.len() {
        0 => "no face".to_owned(),
        1 => "face".to_owned(),
        n => format!("{n} faces"),
    };
    writeln!(
        out,
        "{}: {what} ({}x{} view, detection {:.1} ms, decoding {:.1} ms)",
        path.display(),
        r.view.0,
        r.view.1,
        ms(r.detect),
        ms(r.view_time)
    )?;
    for f in &r.faces {
        writeln!(
            out,
            "  box x {} y {} {}x{}, score {:.1}",
            f.x, f.y, f.width, f.height, f.score
        )?;
    }
    Ok(())
}

/// `livegate test presence IMAGE…` with the real detector.
pub fn test_presence(
    paths: &[impl AsRef<Path>],
    runs: u32,
    out: &mut dyn Write,
) -> Result<Vec<PictureReport>, PresenceTestError> {
    let mut detector = SeetaDetector::new()?;
    test_pictures(&mut detector, paths, runs, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reports one fixed face wherever it looks.
    struct OneFace;
    impl FaceDetector for OneFace {
        fn detect(&mut self, _: &GreyView) -> Vec<FaceBox> {
            vec![FaceBox {
                x: 10,
                y: 20,
                width: 64,
                height: 64,
                score: 7.25,
            }]
        }
    }

    fn write_png(dir: &Path, name: &str, w: u32, h: u32) -> std::path::PathBuf {
        let path = dir.join(name);
        image::GrayImage::from_pixel(w, h, image::Luma([99]))
            .save(&path)
            .expect("png");
        path
    }

    fn tempdir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("livegate-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn each_picture_gets_a_line_with_its_faces_and_times() {
        let dir = tempdir("presence-report");
        let a = write_png(&dir, "a.png", 640, 480);
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
            .encode_image(&image::GrayImage::from_pixel(160, 120, image::Luma([50])))
            .expect("jpeg");
        let b = dir.join("b.jpg");
        std::fs::write(&b, &jpeg).expect("write");
        let mut out = Vec::new();
        let reports = test_pictures(&mut OneFace, &[&a, &b], 3, &mut out).expect("reports");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(reports.len(), 2);
        assert_eq!(reports[0].view, (320, 240));
        assert_eq!(reports[1].view, (160, 120), "never scaled up");
        assert!(
            text.contains("a.png: face (320x240 view, detection "),
            "{text}"
        );
        assert!(text.contains("  box x 10 y 20 64x64, score 7.2"), "{text}");
        assert!(text.contains("b.jpg: face (160x120 view"), "{text}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_real_detector_finds_no_face_in_a_plain_picture() {
        let dir = tempdir("presence-plain");
        let a = write_png(&dir, "plain.png", 320, 240);
        let mut out = Vec::new();
        let reports = test_presence(&[&a], 1, &mut out).expect("report");
        assert!(reports[0].faces.is_empty());
        assert!(String::from_utf8_lossy(&out).contains("plain.png: no face"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_or_broken_file_names_itself() {
        let dir = tempdir("presence-broken");
        let bad = dir.join("bad.png");
        std::fs::write(&bad, b"not a picture").expect("write");
        for path in [dir.join("missing.png"), bad] {
            let err = test_pictures(&mut OneFace, &[&path], 1, &mut Vec::new())
                .expect_err("not a picture");
            assert!(
                err.to_string().starts_with(&path.display().to_string()),
                "{err}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

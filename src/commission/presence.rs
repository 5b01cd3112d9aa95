//! `livegate test presence IMAGE…`: the face detector on pictures, for a technician
//! (is this camera's picture of a person a face to it?) and for measuring it: for
//! each picture, face or no face, the box, the score and the milliseconds.
//!
//! Without pictures, [`watch_live`] watches the configured camera for a few seconds
//! and says what the detector sees, look by look (for aiming the camera): the
//! face's size and place against `[presence]`, as the camera trigger judges it.

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
    #[error("the face detector's thread: {0}")]
    Thread(String),
}

/// `livegate test presence` without pictures: starts `camera`, looks at its newest
/// frame every `every` for `watch` with the detector `make` makes, and writes one
/// line a look (what it sees, judged by `params` as the camera trigger does), then
/// a summary. Returns how many looks found a face. Frames stay in memory.
pub async fn watch_live(
    camera: Box<dyn crate::camera::FrameSource>,
    make: crate::presence::MakeDetector,
    params: &crate::presence::Params,
    watch: Duration,
    every: Duration,
    out: &mut dyn Write,
) -> Result<usize, PresenceTestError> {
    use crate::presence::{judge, Guidance, Sighting};
    let eyes =
        crate::presence::Eyes::spawn(make).map_err(|e| PresenceTestError::Thread(e.to_string()))?;
    let slot = crate::camera::FrameSlot::new();
    let task = camera.spawn(slot.clone());
    writeln!(
        out,
        "Watching the camera for {:.0} s, a look every {} ms; stand where people will stand.",
        watch.as_secs_f64(),
        every.as_millis()
    )?;
    let start = tokio::time::Instant::now();
    let (mut looks, mut found) = (0usize, 0usize);
    while start.elapsed() < watch {
        tokio::time::sleep(every).await;
        let at = start.elapsed().as_secs_f64();
        let Some(frame) = slot.latest() else {
            writeln!(out, "{at:5.1} s: no frame from the camera yet")?;
            continue;
        };
        looks += 1;
        let seen = match eyes.faces(frame).await {
            Ok(seen) => seen,
            Err(e) => {
                writeln!(out, "{at:5.1} s: cannot look: {e}")?;
                continue;
            }
        };
        let look = seen.look();
        let Some(face) = seen.faces.iter().max_by_key(|f| f.width) else {
            writeln!(out, "{at:5.1} s: no face")?;
            continue;
        };
        found += 1;
        let share = face.width as f32 / seen.view_width.max(1) as f32;
        let verdict = match judge(params, &look) {
            Sighting::Good => "good: the camera trigger counts it",
            Sighting::Guide(Guidance::MoveCloser) => "too small: \"Move closer\"",
            Sighting::Guide(_) => "off the middle: \"Step in front of the camera\"",
            Sighting::NoFace => "no face",
        };
        writeln!(
            out,
            "{at:5.1} s: face {}x{} at ({}, {}) in {}x{}, {:.0}% of the width (min_face {:.0}%), score {:.1}: {verdict}",
            face.width,
            face.height,
            face.x,
            face.y,
            seen.view_width,
            seen.view_height,
            share * 100.0,
            params.min_face_width * 100.0,
            face.score
        )?;
    }
    task.abort();
    writeln!(out, "Presence: a face in {found} of {looks} looks")?;
    Ok(found)
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

    /// A camera that publishes one grey JPEG frame every 2 ms.
    struct StillCamera;
    impl crate::camera::FrameSource for StillCamera {
        fn spawn(self: Box<Self>, slot: crate::camera::FrameSlot) -> tokio::task::JoinHandle<()> {
            let img = image::GrayImage::from_pixel(320, 240, image::Luma([128]));
            let mut jpeg = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
                .encode_image(&img)
                .expect("encode");
            let jpeg = bytes::Bytes::from(jpeg);
            tokio::spawn(async move {
                for seq in 0.. {
                    slot.publish(crate::camera::Frame::from_jpeg(
                        jpeg.clone(),
                        320,
                        240,
                        seq,
                        tokio::time::Instant::now(),
                    ));
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        }
    }

    #[tokio::test]
    async fn watching_live_says_what_each_look_sees() {
        let mut out = Vec::new();
        let found = watch_live(
            Box::new(StillCamera),
            Box::new(|| Ok(Box::new(OneFace) as Box<dyn FaceDetector>)),
            &crate::presence::Params::default(),
            Duration::from_millis(30),
            Duration::from_millis(5),
            &mut out,
        )
        .await
        .expect("watched");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(found >= 1, "{text}");
        assert!(text.starts_with("Watching the camera for 0 s"), "{text}");
        assert!(
            text.contains("face 64x64 at (10, 20) in 320x240, 20% of the width (min_face 15%)"),
            "{text}"
        );
        assert!(
            text.contains(": off the middle: \"Step in front of the camera\"\n"),
            "{text}"
        );
        assert!(
            text.ends_with(&format!("Presence: a face in {found} of {found} looks\n")),
            "{text}"
        );
    }

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

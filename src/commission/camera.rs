//! `livegate test camera [--out FILE.jpg]`: opens the configured V4L2 camera, says
//! what it offers, what was chosen and granted, measures the frame rate and the
//! bytes per frame, and ends with a one-line verdict.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::camera::jpeg::{self, FrameError, OfferedFormat, PixelFormat};
use crate::camera::v4l2::{CameraInfo, GrantedFormat, OpenCamera, V4l2Error, V4l2Options};

/// Unusable frames in a row after which the test gives up.
const MAX_BAD_FRAMES: u32 = 30;

/// What the camera test found.
#[derive(Clone, Debug)]
pub struct CameraReport {
    /// What opening the camera found and decided.
    pub info: CameraInfo,
    /// Frames captured and measured (after the warm-up).
    pub frames: u32,
    /// Frames per second measured between the first and the last frame.
    pub fps: Option<f64>,
    /// JPEG bytes per frame, as sent to the API.
    pub bytes: ByteStats,
    /// Size of the JPEG sent.
    pub width: u32,
    pub height: u32,
    /// Where the one frame asked for was written.
    pub saved: Option<PathBuf>,
    /// The last line printed.
    pub verdict: String,
}

/// Smallest, mean and largest size of the frames, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ByteStats {
    pub min: usize,
    pub avg: usize,
    pub max: usize,
}

impl ByteStats {
    /// The statistics of `sizes`; all zero when empty.
    pub fn of(sizes: &[usize]) -> Self {
        let (Some(&min), Some(&max)) = (sizes.iter().min(), sizes.iter().max()) else {
            return ByteStats::default();
        };
        let sum: u128 = sizes.iter().map(|&s| s as u128).sum();
        let avg = usize::try_from(sum / sizes.len() as u128).unwrap_or(usize::MAX);
        ByteStats { min, avg, max }
    }
}

/// Why the camera test failed; the text is the verdict line.
#[derive(Debug, thiserror::Error)]
pub enum CameraTestError {
    #[error("Camera problem: {error}. {}", hint(.error))]
    Camera { error: V4l2Error },
    #[error(
        "Camera problem: {count} frames in a row were unusable (the last: {last}). Check the \
         USB cable and power, or try format = \"yuyv\" in [camera]"
    )]
    Frames { count: u32, last: FrameError },
    #[error("cannot write the frame to {}: {source}", .path.display())]
    Save { path: PathBuf, source: io::Error },
    #[error("cannot write the report: {0}")]
    Output(#[from] io::Error),
}

impl From<V4l2Error> for CameraTestError {
    fn from(error: V4l2Error) -> Self {
        CameraTestError::Camera { error }
    }
}

/// What to check for an error, in one sentence.
pub fn hint(e: &V4l2Error) -> &'static str {
    match e {
        V4l2Error::Open { source, .. } => match source.kind() {
            io::ErrorKind::NotFound => "Check `device` in [camera] and the camera's USB cable",
            io::ErrorKind::PermissionDenied => {
                "Check that the user running livegate is in the `video` group"
            }
            io::ErrorKind::ResourceBusy => {
                "Check that no other program (another livegate, a browser) uses the camera"
            }
            _ => "Check `device` in [camera] and the camera's USB connection",
        },
        V4l2Error::Query { .. } | V4l2Error::NotCapture { .. } | V4l2Error::NoStreaming { .. } => {
            "Check `device` in [camera]: it must be a camera; `ls /dev/v4l/by-id/` lists them \
             (use the name ending in -video-index0)"
        }
        V4l2Error::Choice(_) | V4l2Error::Granted(_) | V4l2Error::SetFormat { .. } => {
            "Check `format`, `width` and `height` in [camera] against the formats listed above"
        }
        V4l2Error::Stream(_)
        | V4l2Error::Timeout(_)
        | V4l2Error::Capture(_)
        | V4l2Error::BadFrames { .. }
        | V4l2Error::Driver(_) => {
            "Check the USB cable and the power supply (a powered USB hub helps), then run this \
             test again"
        }
    }
}

/// Frames per second of `frames` frames whose first and last arrived `span` apart.
pub fn measured_fps(frames: u32, span: Duration) -> Option<f64> {
    let secs = span.as_secs_f64();
    (frames >= 2 && secs > 0.0).then(|| f64::from(frames - 1) / secs)
}

/// Bytes as whole kilobytes (1 KB = 1000 bytes, rounded), at least 1 when not 0.
fn kb(bytes: usize) -> usize {
    if bytes == 0 {
        0
    } else {
        (bytes.saturating_add(500) / 1000).max(1)
    }
}

/// The verdict of a good test: `Camera OK: 640x480 MJPEG at 14.8 fps, 38 KB per frame`.
pub fn ok_verdict(
    width: u32,
    height: u32,
    format: &str,
    fps: Option<f64>,
    avg_bytes: usize,
) -> String {
    let rate = fps.map_or_else(
        || "an unmeasured rate".to_owned(),
        |f| format!("{f:.1} fps"),
    );
    format!(
        "Camera OK: {width}x{height} {format} at {rate}, {} KB per frame",
        kb(avg_bytes)
    )
}

/// One line per offered format: `MJPG  Motion-JPEG: 640x480, 1280x720`.
pub fn offered_lines(offered: &[OfferedFormat]) -> Vec<String> {
    offered
        .iter()
        .map(|o| {
            let usable = match PixelFormat::from_fourcc(o.fourcc) {
                Some(_) => "",
                None => " (livegate cannot use it)",
            };
            let sizes = if o.sizes.is_empty() {
                "sizes not listed".to_owned()
            } else {
                o.sizes
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!(
                "{}  {}: {sizes}{usable}",
                jpeg::fourcc_text(o.fourcc),
                o.description
            )
        })
        .collect()
}

/// Runs the camera test, printing what it does to `w`. Blocking: call it from a
/// blocking context (`spawn_blocking` in async code).
///
/// Opens the device, prints the formats offered (FourCC, description, sizes), the
/// format chosen and why, what the driver granted, drops the warm-up frames,
/// captures `frames` frames (at least 1) measuring the frame rate and the JPEG bytes
/// per frame, and ends with a verdict line ("Camera OK: …" or "Camera problem: …
/// Check …"). With `out_jpeg`, the first captured frame is written there: only
/// because the technician explicitly asked for it with `--out`; frames are otherwise
/// never written anywhere.
///
/// With `record`, every captured frame is also written into that directory as a
/// replay camera reads it (`[camera] kind = "replay"`): MJPEG frames as delivered
/// (`000000.jpg`, …), YUYV frames of the configured size as packed `.yuyv`, any
/// other format as the JPEG livegate would send. Only on explicit request; the
/// output says plainly that these are biometric pictures to delete after use.
pub fn test_camera(
    opts: &V4l2Options,
    frames: u32,
    out_jpeg: Option<&Path>,
    record: Option<&Path>,
    w: &mut dyn Write,
) -> Result<CameraReport, CameraTestError> {
    let frames = frames.max(1);
    let label = crate::camera::v4l2::device_label(&opts.device);
    writeln!(
        w,
        "Testing camera {label}: asking for {}x{} at {} fps, format = \"{}\", mirror {}, \
         rotation {}°.",
        opts.width,
        opts.height,
        opts.fps,
        opts.format.as_str(),
        if opts.mirror { "on" } else { "off" },
        opts.rotation.degrees()
    )?;
    let mut cam = match OpenCamera::open(opts) {
        Ok(cam) => cam,
        Err(error) => return fail(w, error.into()),
    };
    let info = cam.info().clone();
    writeln!(w, "Camera: {} (driver {}).", info.card, info.driver)?;
    writeln!(w, "Formats offered:")?;
    for line in offered_lines(&info.offered) {
        writeln!(w, "  {line}")?;
    }
    writeln!(
        w,
        "Chosen: {} {}x{}: {}.",
        jpeg::fourcc_text(info.choice.fourcc),
        info.choice.width,
        info.choice.height,
        info.choice.reason
    )?;
    let g = &info.granted;
    let rate = g.fps.map_or_else(
        || "a frame rate it does not report".to_owned(),
        |f| format!("{f:.1} fps"),
    );
    writeln!(
        w,
        "Granted by the driver: {} {}x{} at {rate}.",
        jpeg::fourcc_text(g.fourcc),
        g.width,
        g.height
    )?;
    if (g.width, g.height) != (opts.width, opts.height) {
        writeln!(
            w,
            "  Not the {}x{} configured: frames will be scaled, which costs time on every frame.",
            opts.width, opts.height
        )?;
    }
    writeln!(w, "Each frame: {}.", info.plan.reason)?;

    writeln!(w, "Dropping {} warm-up frames…", opts.warmup_frames)?;
    for _ in 0..opts.warmup_frames {
        if let Err(error) = cam.skip_frame() {
            return fail(w, error.into());
        }
    }
    if let Some(dir) = record {
        std::fs::create_dir_all(dir).map_err(|source| CameraTestError::Save {
            path: dir.to_owned(),
            source,
        })?;
        writeln!(
            w,
            "Recording {frames} frames into {} (--record). These are pictures of whoever \
             stands in front of the camera: biometric data. Use them only for tests, keep \
             them private, and delete them after use (rm -r {}).",
            dir.display(),
            dir.display()
        )?;
    }
    writeln!(w, "Capturing {frames} frames…")?;
    let mut sizes = Vec::with_capacity(frames as usize);
    let mut first_at: Option<Instant> = None;
    let mut last_at = Instant::now();
    let mut out_size = (0, 0);
    let mut saved = None;
    let mut bad: u32 = 0;
    while sizes.len() < frames as usize {
        let encoder = std::sync::Arc::clone(cam.encoder());
        let raw = match cam.next_raw() {
            Ok(Ok(raw)) => raw,
            Ok(Err(last)) => {
                bad += 1;
                if bad >= MAX_BAD_FRAMES {
                    return fail(w, CameraTestError::Frames { count: bad, last });
                }
                continue;
            }
            Err(error) => return fail(w, error.into()),
        };
        let frame = match encoder.encode(&raw) {
            Ok(frame) => frame,
            Err(last) => {
                bad += 1;
                if bad >= MAX_BAD_FRAMES {
                    return fail(w, CameraTestError::Frames { count: bad, last });
                }
                continue;
            }
        };
        if let Some(dir) = record {
            let (name, bytes) = recorded(sizes.len(), &info.granted, opts, &raw, &frame.jpeg);
            let path = dir.join(name);
            std::fs::write(&path, bytes)
                .map_err(|source| CameraTestError::Save { path, source })?;
        }
        bad = 0;
        last_at = Instant::now();
        first_at.get_or_insert(last_at);
        sizes.push(frame.jpeg.len());
        out_size = (frame.width, frame.height);
        if let (Some(path), None) = (out_jpeg, &saved) {
            std::fs::write(path, &frame.jpeg).map_err(|source| CameraTestError::Save {
                path: path.to_owned(),
                source,
            })?;
            writeln!(
                w,
                "Wrote one frame ({}x{}, {} bytes) to {}, as asked with --out.",
                frame.width,
                frame.height,
                frame.jpeg.len(),
                path.display()
            )?;
            saved = Some(path.to_owned());
        }
    }
    drop(cam);
    if let Some(dir) = record {
        writeln!(
            w,
            "Recorded {frames} frames in {}: biometric pictures, delete them after use.",
            dir.display()
        )?;
    }

    let fps = measured_fps(frames, last_at - first_at.unwrap_or(last_at));
    let bytes = ByteStats::of(&sizes);
    writeln!(
        w,
        "Measured: {} over {frames} frames; JPEG per frame {} KB on average (min {} KB, max {} KB).",
        fps.map_or_else(|| "no frame rate (one frame)".to_owned(), |f| format!("{f:.1} fps")),
        kb(bytes.avg),
        kb(bytes.min),
        kb(bytes.max)
    )?;
    if let Some(f) = fps {
        if f < 0.7 * f64::from(opts.fps.max(1)) {
            writeln!(
                w,
                "Note: {f:.1} fps is well below the {} fps asked for. Many cameras lower their \
                 frame rate in poor light: add light, or lower `fps` in [camera].",
                opts.fps
            )?;
        }
    }
    let format = PixelFormat::from_fourcc(g.fourcc).map_or("?", PixelFormat::name);
    let verdict = ok_verdict(out_size.0, out_size.1, format, fps, bytes.avg);
    writeln!(w, "{verdict}")?;
    Ok(CameraReport {
        info,
        frames,
        fps,
        bytes,
        width: out_size.0,
        height: out_size.1,
        saved,
        verdict,
    })
}

/// The file name and bytes of captured frame `index` in a `--record` directory.
fn recorded<'a>(
    index: usize,
    granted: &GrantedFormat,
    opts: &V4l2Options,
    raw: &'a [u8],
    jpeg: &'a [u8],
) -> (String, std::borrow::Cow<'a, [u8]>) {
    use std::borrow::Cow;
    let format = PixelFormat::from_fourcc(granted.fourcc);
    let (w, h) = (granted.width as usize, granted.height as usize);
    let line = w * 2;
    let stride = (granted.stride as usize).max(line);
    match format {
        Some(PixelFormat::Mjpeg) => (format!("{index:06}.jpg"), Cow::Borrowed(raw)),
        Some(PixelFormat::Yuyv)
            if (granted.width, granted.height) == (opts.width, opts.height)
                && h > 0
                && raw.len() >= stride * (h - 1) + line =>
        {
            let packed = if stride == line {
                Cow::Borrowed(&raw[..line * h])
            } else {
                Cow::Owned(
                    (0..h)
                        .flat_map(|y| &raw[y * stride..y * stride + line])
                        .copied()
                        .collect(),
                )
            };
            (format!("{index:06}.yuyv"), packed)
        }
        _ => (format!("{index:06}.jpg"), Cow::Borrowed(jpeg)),
    }
}

/// Prints the problem verdict and returns the error.
fn fail(w: &mut dyn Write, error: CameraTestError) -> Result<CameraReport, CameraTestError> {
    writeln!(w, "{error}.")?;
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::jpeg::SizeRange;

    #[test]
    fn a_missing_device_is_named_with_what_to_check() {
        let dir = std::env::temp_dir().join(format!(
            "livegate-camtest-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        let device = dir.join("video42");
        let out = dir.join("frame.jpg");
        let opts = V4l2Options {
            device: device.clone(),
            ..V4l2Options::default()
        };
        let mut text = Vec::new();
        let e = test_camera(&opts, 10, Some(&out), None, &mut text).unwrap_err();
        assert!(matches!(e, CameraTestError::Camera { .. }));
        let text = String::from_utf8(text).unwrap();
        let d = device.display();
        assert_eq!(
            text,
            format!(
                "Testing camera {d}: asking for 640x480 at 10 fps, format = \"auto\", mirror \
                 off, rotation 0°.\n\
                 Camera problem: cannot open camera {d}: no such device (is the camera plugged \
                 in? `ls /dev/v4l/by-id/` lists the cameras). Check `device` in [camera] and \
                 the camera's USB cable.\n"
            )
        );
        assert!(!out.exists(), "nothing written");
    }

    #[test]
    fn hints_fit_the_error() {
        let open = |code| V4l2Error::Open {
            device: "d".into(),
            source: io::Error::from_raw_os_error(code),
        };
        assert!(hint(&open(13)).contains("`video` group"));
        assert!(hint(&open(16)).contains("no other program"));
        assert!(hint(&V4l2Error::Timeout(Duration::from_secs(3))).contains("USB cable"));
        assert!(hint(&V4l2Error::Granted("RGGB".into())).contains("`format`"));
    }

    #[test]
    fn verdict_and_numbers() {
        assert_eq!(
            ok_verdict(640, 480, "MJPEG", Some(14.84), 38_400),
            "Camera OK: 640x480 MJPEG at 14.8 fps, 38 KB per frame"
        );
        assert_eq!(
            ok_verdict(480, 640, "YUYV", None, 400),
            "Camera OK: 480x640 YUYV at an unmeasured rate, 1 KB per frame"
        );
        assert_eq!(
            (kb(0), kb(1), kb(1499), kb(1500), kb(38_499)),
            (0, 1, 1, 2, 38)
        );
        assert_eq!(measured_fps(11, Duration::from_secs(2)), Some(5.0));
        assert_eq!(measured_fps(1, Duration::from_secs(2)), None);
        assert_eq!(measured_fps(5, Duration::ZERO), None);
        assert_eq!(
            ByteStats::of(&[30, 10, 20, 41]),
            ByteStats {
                min: 10,
                avg: 25,
                max: 41
            }
        );
        assert_eq!(ByteStats::of(&[]), ByteStats::default());
    }

    #[test]
    fn offered_formats_are_listed_plainly() {
        let offered = [
            OfferedFormat {
                fourcc: *b"MJPG",
                description: "Motion-JPEG".into(),
                sizes: vec![
                    SizeRange::Discrete {
                        width: 640,
                        height: 480,
                    },
                    SizeRange::Discrete {
                        width: 1280,
                        height: 720,
                    },
                ],
            },
            OfferedFormat {
                fourcc: *b"H264",
                description: "H.264".into(),
                sizes: vec![],
            },
        ];
        assert_eq!(
            offered_lines(&offered),
            [
                "MJPG  Motion-JPEG: 640x480, 1280x720",
                "H264  H.264: sizes not listed (livegate cannot use it)"
            ]
        );
    }
}

#[cfg(test)]
mod record_tests {
    use super::*;

    fn granted(fourcc: &[u8; 4], width: u32, height: u32, stride: u32) -> GrantedFormat {
        GrantedFormat {
            fourcc: *fourcc,
            width,
            height,
            stride,
            fps: None,
        }
    }

    #[test]
    fn recorded_frames_are_what_a_replay_camera_reads() {
        let opts = V4l2Options {
            width: 4,
            height: 2,
            ..V4l2Options::default()
        };
        let jpeg = b"encoded";
        // MJPEG: the camera's bytes.
        let (name, bytes) = recorded(7, &granted(b"MJPG", 4, 2, 0), &opts, b"camera", jpeg);
        assert_eq!((name.as_str(), &bytes[..]), ("000007.jpg", &b"camera"[..]));
        // YUYV with line padding: packed to exactly width x height x 2.
        let raw: Vec<u8> = (0..20).collect();
        let (name, bytes) = recorded(0, &granted(b"YUYV", 4, 2, 10), &opts, &raw, jpeg);
        assert_eq!(name, "000000.yuyv");
        assert_eq!(
            &bytes[..],
            [0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17]
        );
        assert_eq!(
            crate::camera::replay::file_format(Path::new(&name)),
            Some(PixelFormat::Yuyv)
        );
        // Another size or format: the JPEG livegate sends.
        let (name, bytes) = recorded(1, &granted(b"YUYV", 8, 2, 0), &opts, &raw, jpeg);
        assert_eq!((name.as_str(), &bytes[..]), ("000001.jpg", &jpeg[..]));
        let (name, _) = recorded(2, &granted(b"NV12", 4, 2, 0), &opts, &raw, jpeg);
        assert_eq!(name, "000002.jpg");
    }
}

//! The V4L2 camera (`[camera] kind = "v4l2"`): a capture thread that keeps only the
//! newest frame in the [`FrameSlot`].
//!
//! The device is opened, its formats listed, one chosen with
//! [`jpeg::choose_format`], set, and what the driver granted is logged (drivers
//! substitute silently). Frames arrive through mmap streaming; the first
//! `warmup_frames` are dropped (auto-exposure settles), then each frame is passed
//! through or converted by a [`FrameEncoder`] and published. All of that blocks, so it
//! runs on a std thread of its own, never on the async runtime.
//!
//! Failure (open, format, streaming, no frame within [`frame_timeout`], a run of
//! unusable frames, even a panic inside the v4l crate) sets
//! [`CameraState::Unavailable`] with the reason, is logged once per distinct reason,
//! and the device is closed and reopened after [`backoff`]. The thread never exits
//! for an error.
//!
//! Stopping: a std thread cannot be aborted, so [`V4l2Camera::spawn`] returns a tokio
//! task that only owns a guard. Aborting (or dropping) that task drops the guard,
//! which sets the thread's stop flag and unparks it. The thread checks the flag
//! before every frame and while it waits to reopen, so it stops within one frame
//! period, at worst within [`frame_timeout`] when it is blocked waiting for a frame.

use std::any::Any;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::task::JoinHandle;
use v4l::buffer::Type;
use v4l::capability::Flags as CapFlags;
use v4l::format::FourCC;
use v4l::framesize::FrameSizeEnum;
use v4l::io::mmap::Stream as MmapStream;
use v4l::io::traits::CaptureStream;
use v4l::video::capture::Parameters;
use v4l::video::Capture;
use v4l::{Device, Format};

use super::jpeg::{
    self, ChoiceError, Encoded, FormatChoice, FormatPreference, FrameEncoder, FrameError, Granted,
    OfferedFormat, OutputSpec, PixelFormat, Plan, Rotation, SizeRange, Wanted,
};
use super::{CameraState, Frame, FrameSlot, FrameSource};

/// Buffers in the mmap ring.
const BUFFERS: u32 = 4;
/// Unusable frames in a row after which the device is reopened.
const MAX_BAD_FRAMES: u32 = 30;

/// Everything the V4L2 camera needs; built from `[camera] kind = "v4l2"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V4l2Options {
    /// `/dev/videoN` or a stable `/dev/v4l/by-id/…` name (symlinks are resolved for logs).
    pub device: PathBuf,
    /// Size requested from the camera, in the camera's own orientation.
    pub width: u32,
    pub height: u32,
    /// Frames per second requested.
    pub fps: u32,
    /// Which pixel format family to ask for.
    pub format: FormatPreference,
    /// Quality of the JPEGs livegate encodes (1–100); passed-through MJPEG keeps its own.
    pub jpeg_quality: u8,
    /// Frames dropped after each (re)start while auto-exposure settles.
    pub warmup_frames: u32,
    /// The camera delivers a mirror image: flip it back before sending (see
    /// [`jpeg`]'s "Whose left"), so actions still mean the person's own side.
    pub mirror: bool,
    /// Clockwise rotation applied after the mirror flip.
    pub rotation: Rotation,
    /// Longest wait between two reopen attempts.
    pub reopen_backoff_max: Duration,
}

impl Default for V4l2Options {
    /// `/dev/video0`, 640x480 at 10 fps, auto format, quality 80, 5 warm-up frames,
    /// no mirror, 0°, reopen backoff up to 30 s.
    fn default() -> Self {
        V4l2Options {
            device: PathBuf::from("/dev/video0"),
            width: 640,
            height: 480,
            fps: 10,
            format: FormatPreference::Auto,
            jpeg_quality: 80,
            warmup_frames: 5,
            mirror: false,
            rotation: Rotation::R0,
            reopen_backoff_max: Duration::from_secs(30),
        }
    }
}

impl V4l2Options {
    /// What to ask the device for.
    pub fn wanted(&self) -> Wanted {
        Wanted {
            width: self.width,
            height: self.height,
            fps: self.fps.max(1),
            preference: self.format,
        }
    }

    /// The picture to send.
    pub fn output(&self) -> OutputSpec {
        OutputSpec {
            width: self.width,
            height: self.height,
            mirror: self.mirror,
            rotation: self.rotation,
            quality: self.jpeg_quality.clamp(1, 100),
        }
    }
}

/// The wait before reopen attempt `failures + 1`: 1 s, doubling, at most `max`.
pub fn backoff(failures: u32, max: Duration) -> Duration {
    let secs = 1u64.checked_shl(failures).unwrap_or(u64::MAX);
    Duration::from_secs(secs).min(max)
}

/// How long to wait for one frame before calling the camera stalled or unplugged:
/// five frame periods, at least 3 s (the first frame of a UVC camera is slow).
pub fn frame_timeout(fps: u32) -> Duration {
    (Duration::from_secs(5) / fps.max(1)).max(Duration::from_secs(3))
}

/// The device path for logs: with the node it resolves to when it is a symlink
/// (`/dev/v4l/by-id/usb-… (/dev/video0)`).
pub fn device_label(path: &Path) -> String {
    match std::fs::canonicalize(path) {
        Ok(real) if real != path => format!("{} ({})", path.display(), real.display()),
        _ => path.display().to_string(),
    }
}

/// An OS error in words a technician can act on.
pub fn io_text(e: &io::Error) -> String {
    // Linux errno values.
    const ENXIO: i32 = 6;
    const ENODEV: i32 = 19;
    match (e.raw_os_error(), e.kind()) {
        (_, io::ErrorKind::NotFound) => "no such device (is the camera plugged in? \
             `ls /dev/v4l/by-id/` lists the cameras)"
            .to_owned(),
        (Some(ENODEV | ENXIO), _) => "the device is gone (camera unplugged?)".to_owned(),
        (_, io::ErrorKind::PermissionDenied) => {
            "permission denied (is the livegate user in the `video` group?)".to_owned()
        }
        (_, io::ErrorKind::ResourceBusy) => {
            "device busy (another program is using the camera)".to_owned()
        }
        _ => e.to_string(),
    }
}

/// Why the camera is not delivering frames. Its text is the [`CameraState`] reason.
#[derive(Debug, thiserror::Error)]
pub enum V4l2Error {
    #[error("cannot open camera {device}: {}", io_text(.source))]
    Open { device: String, source: io::Error },
    #[error("cannot query camera {device}: {}", io_text(.source))]
    Query { device: String, source: io::Error },
    #[error(
        "{device} ({card}) is not a video capture device; a USB camera also creates a \
         metadata node: use its /dev/v4l/by-id/…-video-index0 name"
    )]
    NotCapture { device: String, card: String },
    #[error("{device} ({card}) does not support streaming")]
    NoStreaming { device: String, card: String },
    #[error(transparent)]
    Choice(#[from] ChoiceError),
    #[error("the camera refused format {fourcc} {width}x{height}: {}", io_text(.source))]
    SetFormat {
        fourcc: String,
        width: u32,
        height: u32,
        source: io::Error,
    },
    #[error("the driver granted pixel format {0}, which livegate cannot convert")]
    Granted(String),
    #[error("cannot start streaming: {}", io_text(.0))]
    Stream(io::Error),
    #[error("no frame for {} ms (camera unplugged or stalled)", .0.as_millis())]
    Timeout(Duration),
    #[error("capture failed: {}", io_text(.0))]
    Capture(io::Error),
    #[error("{count} unusable frames in a row, the last: {last}")]
    BadFrames { count: u32, last: FrameError },
    #[error("the camera driver failed: {0}")]
    Driver(String),
}

impl V4l2Error {
    /// The reason published as [`CameraState::Unavailable`].
    pub fn state_text(&self) -> String {
        self.to_string()
    }
}

/// What the driver granted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GrantedFormat {
    pub fourcc: [u8; 4],
    pub width: u32,
    pub height: u32,
    /// Bytes per line (0 when the driver does not say).
    pub stride: u32,
    /// Frames per second, when the driver reports its frame interval.
    pub fps: Option<f64>,
}

/// What opening the camera found and decided.
#[derive(Clone, Debug)]
pub struct CameraInfo {
    /// The configured path, with the node it resolves to.
    pub device: String,
    /// The driver's name of the camera ("HD Pro Webcam C920").
    pub card: String,
    /// The kernel driver ("uvcvideo").
    pub driver: String,
    pub offered: Vec<OfferedFormat>,
    pub choice: FormatChoice,
    pub granted: GrantedFormat,
    /// How frames become the JPEG sent.
    pub plan: Plan,
}

/// An open, configured camera; streaming starts with the first frame read.
/// Used by the capture thread and by `livegate test camera`.
pub struct OpenCamera {
    // Both are dropped inside `catch_unwind` (see `Drop`).
    stream: Option<MmapStream<'static>>,
    device: Option<Device>,
    info: CameraInfo,
    encoder: Arc<FrameEncoder>,
    timeout: Duration,
}

/// Runs `f`, turning a panic inside the v4l crate (it has a few `unwrap`s on data
/// from the driver) into an error.
fn shielded<T>(f: impl FnOnce() -> Result<T, V4l2Error>) -> Result<T, V4l2Error> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| Err(V4l2Error::Driver(panic_text(&*p))))
}

fn panic_text(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}

impl OpenCamera {
    /// Opens the device, chooses and sets the format and frame rate, and logs what the
    /// driver granted (info; warn where it differs from the request).
    pub fn open(opts: &V4l2Options) -> Result<Self, V4l2Error> {
        shielded(|| Self::open_inner(opts))
    }

    fn open_inner(opts: &V4l2Options) -> Result<Self, V4l2Error> {
        let label = device_label(&opts.device);
        let dev = Device::with_path(&opts.device).map_err(|source| V4l2Error::Open {
            device: label.clone(),
            source,
        })?;
        let query = |source| V4l2Error::Query {
            device: label.clone(),
            source,
        };
        let caps = dev.query_caps().map_err(query)?;
        if !caps.capabilities.contains(CapFlags::VIDEO_CAPTURE) {
            return Err(V4l2Error::NotCapture {
                device: label,
                card: caps.card,
            });
        }
        if !caps.capabilities.contains(CapFlags::STREAMING) {
            return Err(V4l2Error::NoStreaming {
                device: label,
                card: caps.card,
            });
        }
        let offered = list_formats(&dev).map_err(query)?;
        let wanted = opts.wanted();
        let choice = jpeg::choose_format(&offered, &wanted)?;
        let request = Format::new(choice.width, choice.height, FourCC::new(&choice.fourcc));
        let got = dev
            .set_format(&request)
            .map_err(|source| V4l2Error::SetFormat {
                fourcc: jpeg::fourcc_text(choice.fourcc),
                width: choice.width,
                height: choice.height,
                source,
            })?;
        let fps = match dev.set_params(&Parameters::with_fps(wanted.fps)) {
            Ok(p) => interval_fps(p.interval.numerator, p.interval.denominator),
            Err(error) => {
                tracing::warn!(device = %label, %error, "the camera does not take a frame rate");
                None
            }
        };
        let granted = GrantedFormat {
            fourcc: got.fourcc.repr,
            width: got.width,
            height: got.height,
            stride: got.stride,
            fps,
        };
        let format = PixelFormat::from_fourcc(granted.fourcc)
            .ok_or_else(|| V4l2Error::Granted(jpeg::fourcc_text(granted.fourcc)))?;
        let encoder = FrameEncoder::new(
            Granted {
                format,
                width: granted.width,
                height: granted.height,
                stride: granted.stride,
            },
            opts.output(),
        );
        let info = CameraInfo {
            device: label,
            card: caps.card,
            driver: caps.driver,
            offered,
            choice,
            granted,
            plan: encoder.plan().clone(),
        };
        log_granted(&info, &wanted);
        Ok(OpenCamera {
            stream: None,
            device: Some(dev),
            info,
            encoder: Arc::new(encoder),
            timeout: frame_timeout(wanted.fps),
        })
    }

    /// What opening found and decided.
    pub fn info(&self) -> &CameraInfo {
        &self.info
    }

    /// Reads one frame and drops it (warm-up); returns its size in bytes.
    pub fn skip_frame(&mut self) -> Result<usize, V4l2Error> {
        shielded(|| {
            let (raw, _) = dequeue(&mut self.stream, self.device.as_ref(), self.timeout)?;
            Ok(raw.len())
        })
    }

    /// Reads one frame and turns it into the JPEG to send. The outer error is the
    /// device's (reopen); the inner one is this frame's (skip it).
    pub fn next_frame(&mut self) -> Result<Result<Encoded, FrameError>, V4l2Error> {
        let encoder = Arc::clone(&self.encoder);
        self.next_raw()
            .map(|frame| frame.and_then(|raw| encoder.encode(&raw)))
    }

    /// Reads one frame and keeps it as delivered (checked cheaply, not converted):
    /// the capture thread's way. The outer error is the device's (reopen); the inner
    /// one is this frame's (skip it).
    pub fn next_raw(&mut self) -> Result<Result<Bytes, FrameError>, V4l2Error> {
        shielded(|| {
            let (raw, error) = dequeue(&mut self.stream, self.device.as_ref(), self.timeout)?;
            if error {
                return Ok(Err(FrameError::Decode(
                    "the driver flagged the frame as corrupted".into(),
                )));
            }
            // The one copy: out of the driver's buffer, which goes back to it.
            Ok(self.encoder.check(raw).map(Bytes::copy_from_slice))
        })
    }

    /// How this camera's frames become the JPEG sent.
    pub fn encoder(&self) -> &Arc<FrameEncoder> {
        &self.encoder
    }
}

/// The used bytes of the next filled buffer, and whether the driver flagged it as
/// corrupted. Streaming starts on the first call.
fn dequeue<'s>(
    stream: &'s mut Option<MmapStream<'static>>,
    device: Option<&Device>,
    timeout: Duration,
) -> Result<(&'s [u8], bool), V4l2Error> {
    if stream.is_none() {
        let Some(dev) = device else {
            return Err(V4l2Error::Driver("device already closed".into()));
        };
        let mut started = MmapStream::with_buffers(dev, Type::VideoCapture, BUFFERS)
            .map_err(V4l2Error::Stream)?;
        started.set_timeout(timeout);
        *stream = Some(started);
    }
    let Some(stream) = stream.as_mut() else {
        return Err(V4l2Error::Driver("no stream".into()));
    };
    let (buf, meta) = CaptureStream::next(stream).map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut {
            V4l2Error::Timeout(timeout)
        } else {
            V4l2Error::Capture(e)
        }
    })?;
    let used = usize::try_from(meta.bytesused).unwrap_or(usize::MAX);
    let raw = if used > 0 && used <= buf.len() {
        &buf[..used]
    } else {
        buf
    };
    Ok((raw, meta.flags.contains(v4l::buffer::Flags::ERROR)))
}

impl Drop for OpenCamera {
    fn drop(&mut self) {
        // The v4l crate panics when STREAMOFF or close fail (other than for an
        // unplugged device): never let that take the thread down.
        let stream = self.stream.take();
        let device = self.device.take();
        let _ = catch_unwind(AssertUnwindSafe(move || {
            drop(stream);
            drop(device);
        }));
    }
}

/// Frames per second of a frame interval of `num/den` seconds.
fn interval_fps(num: u32, den: u32) -> Option<f64> {
    (num > 0 && den > 0).then(|| f64::from(den) / f64::from(num))
}

/// The device's capture formats and their sizes, as plain data.
fn list_formats(dev: &Device) -> io::Result<Vec<OfferedFormat>> {
    let mut offered = Vec::new();
    for desc in dev.enum_formats()? {
        // A driver that cannot list sizes gets the wanted size asked for.
        let sizes = dev
            .enum_framesizes(desc.fourcc)
            .unwrap_or_default()
            .into_iter()
            .map(|s| match s.size {
                FrameSizeEnum::Discrete(d) => SizeRange::Discrete {
                    width: d.width,
                    height: d.height,
                },
                FrameSizeEnum::Stepwise(s) => SizeRange::Stepwise {
                    min_width: s.min_width,
                    max_width: s.max_width,
                    step_width: s.step_width,
                    min_height: s.min_height,
                    max_height: s.max_height,
                    step_height: s.step_height,
                },
            })
            .collect();
        offered.push(OfferedFormat {
            fourcc: desc.fourcc.repr,
            description: desc.description,
            sizes,
        });
    }
    Ok(offered)
}

/// Logs what the driver granted at info, and warns where it is not what was asked.
fn log_granted(info: &CameraInfo, wanted: &Wanted) {
    let g = &info.granted;
    let fourcc = jpeg::fourcc_text(g.fourcc);
    tracing::info!(
        device = %info.device,
        card = %info.card,
        driver = %info.driver,
        fourcc = %fourcc,
        width = g.width,
        height = g.height,
        fps = g.fps,
        choice = %info.choice.reason,
        pipeline = %info.plan.reason,
        "camera opened"
    );
    if g.fourcc != info.choice.fourcc {
        tracing::warn!(
            device = %info.device,
            asked = %jpeg::fourcc_text(info.choice.fourcc),
            granted = %fourcc,
            "the driver granted another pixel format than asked"
        );
    }
    if (g.width, g.height) != (wanted.width, wanted.height) {
        tracing::warn!(
            device = %info.device,
            asked = %format!("{}x{}", wanted.width, wanted.height),
            granted = %format!("{}x{}", g.width, g.height),
            "the camera does not deliver the configured size; frames are scaled"
        );
    }
    match g.fps {
        Some(fps) if (fps - f64::from(wanted.fps)).abs() > 0.5 => tracing::warn!(
            device = %info.device,
            asked = wanted.fps,
            granted = fps,
            "the driver granted another frame rate than asked"
        ),
        _ => {}
    }
}

/// A camera on a V4L2 device.
#[derive(Clone, Debug)]
pub struct V4l2Camera {
    opts: V4l2Options,
}

impl V4l2Camera {
    /// A camera with these options; nothing is opened until [`FrameSource::spawn`].
    pub fn new(opts: V4l2Options) -> Self {
        V4l2Camera { opts }
    }
}

/// Owned by the task [`V4l2Camera::spawn`] returns: dropping it stops the thread.
struct StopOnDrop {
    stop: Arc<AtomicBool>,
    thread: std::thread::Thread,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

impl FrameSource for V4l2Camera {
    fn spawn(self: Box<Self>, slot: FrameSlot) -> JoinHandle<()> {
        spawn_capture(self.opts, slot).0
    }
}

/// Starts the capture thread; returns the guarding task and the thread (for tests).
fn spawn_capture(
    opts: V4l2Options,
    slot: FrameSlot,
) -> (JoinHandle<()>, Option<std::thread::JoinHandle<()>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let thread_stop = Arc::clone(&stop);
    let thread_slot = slot.clone();
    let spawned = std::thread::Builder::new()
        .name("livegate-camera".into())
        .spawn(move || {
            capture_loop(&opts, &thread_slot, &thread_stop);
            let _ = done_tx.send(());
        });
    match spawned {
        Ok(thread) => {
            let guard = StopOnDrop {
                stop,
                thread: thread.thread().clone(),
            };
            let task = tokio::spawn(async move {
                let _guard = guard;
                // The thread ends only when stopped; until then, wait here.
                let _ = done_rx.await;
            });
            (task, Some(thread))
        }
        Err(e) => {
            let reason = format!("cannot start the capture thread: {e}");
            tracing::error!(error = %e, "cannot start the camera's capture thread");
            slot.set_state(CameraState::Unavailable(reason));
            (tokio::spawn(std::future::pending()), None)
        }
    }
}

/// Opens, streams, and on any error reopens with backoff, until `stop`.
fn capture_loop(opts: &V4l2Options, slot: &FrameSlot, stop: &AtomicBool) {
    let label = device_label(&opts.device);
    let mut failures: u32 = 0;
    let mut last_error: Option<String> = None;
    let mut seq: u64 = 0;
    while !stop.load(Ordering::Acquire) {
        let mut streamed = false;
        let outcome =
            shielded(|| stream_session(opts, slot, stop, &mut seq, &mut streamed, &mut last_error));
        let error = match outcome {
            Ok(()) => break,
            Err(e) => e,
        };
        if stop.load(Ordering::Acquire) {
            break;
        }
        if streamed {
            failures = 0;
        }
        let reason = error.state_text();
        slot.set_state(CameraState::Unavailable(reason.clone()));
        let wait = backoff(failures, opts.reopen_backoff_max);
        failures = failures.saturating_add(1);
        let retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        if last_error.as_deref() == Some(reason.as_str()) {
            tracing::debug!(device = %label, error = %reason, retry_in_ms, "camera still unavailable");
        } else {
            tracing::warn!(device = %label, error = %reason, retry_in_ms, "camera unavailable, reopening");
            last_error = Some(reason);
        }
        if sleep_unless_stopped(wait, stop) {
            break;
        }
    }
    tracing::debug!(device = %label, "camera capture stopped");
}

/// One open-to-error run: open, warm up, publish frames. `Ok` only when stopped.
fn stream_session(
    opts: &V4l2Options,
    slot: &FrameSlot,
    stop: &AtomicBool,
    seq: &mut u64,
    streamed: &mut bool,
    last_error: &mut Option<String>,
) -> Result<(), V4l2Error> {
    let mut cam = OpenCamera::open(opts)?;
    for _ in 0..opts.warmup_frames {
        if stop.load(Ordering::Acquire) {
            return Ok(());
        }
        cam.skip_frame()?;
    }
    let mut bad: u32 = 0;
    loop {
        if stop.load(Ordering::Acquire) {
            return Ok(());
        }
        match cam.next_raw()? {
            Ok(raw) => {
                bad = 0;
                slot.publish(Frame::raw(
                    raw,
                    Arc::clone(cam.encoder()),
                    *seq,
                    tokio::time::Instant::now(),
                ));
                *seq += 1;
                if !*streamed {
                    *streamed = true;
                    if last_error.take().is_some() {
                        tracing::info!(device = %cam.info().device, "camera streams again");
                    } else {
                        tracing::info!(device = %cam.info().device, "camera streaming");
                    }
                }
            }
            Err(error) => {
                bad += 1;
                tracing::debug!(device = %cam.info().device, %error, bad, "unusable frame skipped");
                if bad >= MAX_BAD_FRAMES {
                    return Err(V4l2Error::BadFrames {
                        count: bad,
                        last: error,
                    });
                }
            }
        }
    }
}

/// Waits `wait` unless `stop` is set (the guard unparks the thread); true if stopped.
fn sleep_unless_stopped(wait: Duration, stop: &AtomicBool) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if stop.load(Ordering::Acquire) {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::park_timeout(deadline - now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let o = V4l2Options::default();
        assert_eq!(o.device, PathBuf::from("/dev/video0"));
        assert_eq!((o.width, o.height, o.fps), (640, 480, 10));
        assert_eq!(o.format, FormatPreference::Auto);
        assert_eq!((o.jpeg_quality, o.warmup_frames), (80, 5));
        assert!(!o.mirror);
        assert_eq!(o.rotation, Rotation::R0);
        assert_eq!(o.reopen_backoff_max, Duration::from_secs(30));
        assert_eq!(
            o.wanted(),
            Wanted {
                width: 640,
                height: 480,
                fps: 10,
                preference: FormatPreference::Auto
            }
        );
        let out = V4l2Options {
            jpeg_quality: 0,
            fps: 0,
            mirror: true,
            rotation: Rotation::R270,
            ..o
        };
        assert_eq!(out.output().quality, 1);
        assert_eq!(out.output().out_size(), (480, 640));
        assert!(out.output().mirror);
        assert_eq!(out.wanted().fps, 1);
    }

    #[test]
    fn backoff_doubles_from_one_second_up_to_the_cap() {
        let max = Duration::from_secs(30);
        let waits: Vec<u64> = (0..8).map(|n| backoff(n, max).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(64, max), max);
        assert_eq!(backoff(u32::MAX, max), max);
        assert_eq!(
            backoff(0, Duration::from_millis(500)),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn frame_timeout_is_five_periods_at_least_three_seconds() {
        assert_eq!(frame_timeout(10), Duration::from_secs(3));
        assert_eq!(frame_timeout(30), Duration::from_secs(3));
        assert_eq!(frame_timeout(1), Duration::from_secs(5));
        assert_eq!(frame_timeout(0), Duration::from_secs(5));
        assert_eq!(interval_fps(1, 15), Some(15.0));
        assert_eq!(interval_fps(2, 15), Some(7.5));
        assert_eq!(interval_fps(0, 15), None);
    }

    fn os(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    #[test]
    fn errors_become_plain_state_texts() {
        let open = |code| V4l2Error::Open {
            device: "/dev/video9".into(),
            source: os(code),
        };
        assert_eq!(
            open(2).state_text(),
            "cannot open camera /dev/video9: no such device (is the camera plugged in? \
             `ls /dev/v4l/by-id/` lists the cameras)"
        );
        assert_eq!(
            open(13).state_text(),
            "cannot open camera /dev/video9: permission denied (is the livegate user in the \
             `video` group?)"
        );
        assert_eq!(
            open(16).state_text(),
            "cannot open camera /dev/video9: device busy (another program is using the camera)"
        );
        assert_eq!(
            V4l2Error::Capture(os(19)).state_text(),
            "capture failed: the device is gone (camera unplugged?)"
        );
        assert_eq!(
            V4l2Error::Timeout(Duration::from_secs(3)).state_text(),
            "no frame for 3000 ms (camera unplugged or stalled)"
        );
        assert_eq!(
            V4l2Error::Granted("RGGB".into()).state_text(),
            "the driver granted pixel format RGGB, which livegate cannot convert"
        );
        assert_eq!(
            V4l2Error::BadFrames {
                count: 30,
                last: FrameError::Jpeg(jpeg::JpegError::NoEoi)
            }
            .state_text(),
            "30 unusable frames in a row, the last: truncated JPEG (no end-of-image marker)"
        );
        assert_eq!(
            V4l2Error::NotCapture {
                device: "/dev/video1".into(),
                card: "C920".into()
            }
            .state_text(),
            "/dev/video1 (C920) is not a video capture device; a USB camera also creates a \
             metadata node: use its /dev/v4l/by-id/…-video-index0 name"
        );
    }

    #[test]
    fn a_panic_inside_the_driver_becomes_an_error() {
        let r: Result<(), V4l2Error> = shielded(|| panic!("Invalid colorspace"));
        assert_eq!(
            r.unwrap_err().state_text(),
            "the camera driver failed: Invalid colorspace"
        );
        let r: Result<u8, V4l2Error> = shielded(|| Ok(3));
        assert_eq!(r.unwrap(), 3);
    }

    fn scratch_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "livegate-v4l2-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn device_labels_show_where_a_symlink_leads() {
        let dir = scratch_dir("label");
        let node = dir.join("video7");
        std::fs::write(&node, b"").unwrap();
        let link = dir.join("usb-Cam-video-index0");
        std::os::unix::fs::symlink(&node, &link).unwrap();
        let node = std::fs::canonicalize(&node).unwrap();
        assert_eq!(
            device_label(&link),
            format!("{} ({})", link.display(), node.display())
        );
        assert_eq!(device_label(&node), node.display().to_string());
        let missing = dir.join("video99");
        assert_eq!(device_label(&missing), missing.display().to_string());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn opening_a_missing_device_names_it() {
        let dir = scratch_dir("missing");
        let opts = V4l2Options {
            device: dir.join("video42"),
            ..V4l2Options::default()
        };
        let Err(e) = OpenCamera::open(&opts) else {
            panic!("opened a missing device");
        };
        assert!(matches!(e, V4l2Error::Open { .. }));
        assert!(e.state_text().starts_with(&format!(
            "cannot open camera {}: no such device",
            dir.join("video42").display()
        )));
        // Not a V4L2 device at all: the query fails.
        let file = dir.join("video43");
        std::fs::write(&file, b"").unwrap();
        let Err(e) = OpenCamera::open(&V4l2Options {
            device: file,
            ..V4l2Options::default()
        }) else {
            panic!("opened a plain file");
        };
        assert!(matches!(e, V4l2Error::Query { .. }), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_missing_camera_is_unavailable_and_the_thread_stops_on_abort() {
        let dir = scratch_dir("spawn");
        let opts = V4l2Options {
            device: dir.join("video42"),
            ..V4l2Options::default()
        };
        let slot = FrameSlot::new();
        let (task, thread) = spawn_capture(opts, slot.clone());
        // The slot reports the failure; next_fresh gives up on an unavailable camera.
        assert!(slot
            .next_fresh(None, tokio::time::Instant::now())
            .await
            .is_none());
        let CameraState::Unavailable(reason) = slot.state() else {
            panic!("state {:?}", slot.state());
        };
        assert!(reason.contains("no such device"), "{reason}");
        assert!(slot.latest().is_none());
        assert!(!task.is_finished(), "the camera keeps trying");

        // Aborting the task stops the thread, which is waiting 1 s to reopen.
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        let thread = thread.unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(thread.join().is_ok()));
        let joined =
            tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_millis(500)))
                .await
                .unwrap();
        assert_eq!(joined, Ok(true), "the capture thread ended promptly");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

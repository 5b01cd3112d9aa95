//! Cameras: a capture task keeps only the newest frame in a [`FrameSlot`].
//!
//! Frames are biometric data: [`Frame`] has no `Debug` that prints its bytes, and
//! nothing in livegate writes one to disk or to a log.

pub mod encode;
pub mod jpeg;
pub mod replay;
/// The synthetic scene the simulated camera draws and the stand-in reads (in the
/// `livegate-standin` crate).
#[cfg(feature = "sim")]
pub use livegate_standin::scene;
#[cfg(feature = "sim")]
pub mod sim;
pub mod v4l2;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::time::Instant;

/// Whose left an action such as `Turn_left` means (`[camera] left_is`; the session
/// swaps the panel's side when it is the image's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LeftIs {
    /// The person's own left (what the API means); the default.
    #[default]
    Person,
    /// The left side of the picture as sent.
    Image,
}

words!(LeftIs { Person => "person", Image => "image" });

/// How the simulated person behaves. (With [`SimCameraOptions`], compiled in every
/// build: the configuration names them even when the simulation is not built.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Performer {
    /// Does each action after a human-like delay.
    Pass,
    /// Does the wrong actions.
    Fail,
    /// Holds up a still photo.
    Spoof,
    /// Walks up late: misses the first per-action timeout, then passes after a restart.
    Slow,
    /// Nobody is there.
    Absent,
}

words!(Performer { Pass => "pass", Fail => "fail", Spoof => "spoof", Slow => "slow", Absent => "absent" });

/// What the simulated camera (`sim.rs`, `[camera] kind = "sim"`) and its person are told.
#[derive(Clone, Debug, PartialEq)]
pub struct SimCameraOptions {
    /// How the simulated person behaves.
    pub performer: Performer,
    /// How long the simulated person takes to react to a new action.
    pub reaction: Duration,
    /// Frames per second the simulated camera produces.
    pub fps: u32,
    /// Frame width in pixels.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// JPEG quality.
    pub jpeg_quality: u8,
}

/// One captured image, kept as the camera delivered it: MJPEG bytes or a raw YUV
/// buffer. It becomes the JPEG sent only when [`Frame::jpeg`] is called, that is when
/// a session is about to post it: no frame is encoded while nobody is at the gate.
#[derive(Clone)]
pub struct Frame {
    data: Bytes,
    /// How `data` becomes the JPEG sent; `None` when `data` already is it.
    encoder: Option<Arc<jpeg::FrameEncoder>>,
    /// Width and height of the JPEG sent.
    pub width: u32,
    pub height: u32,
    /// Increases by one per frame of one capture task.
    pub seq: u64,
    pub captured_at: Instant,
}

impl Frame {
    /// A frame that already is the JPEG to send (the simulated camera's).
    pub fn from_jpeg(jpeg: Bytes, width: u32, height: u32, seq: u64, captured_at: Instant) -> Self {
        Frame {
            data: jpeg,
            encoder: None,
            width,
            height,
            seq,
            captured_at,
        }
    }

    /// A frame as the driver delivered it, to be converted by `encoder` when sent.
    pub fn raw(
        data: Bytes,
        encoder: Arc<jpeg::FrameEncoder>,
        seq: u64,
        captured_at: Instant,
    ) -> Self {
        let (width, height) = encoder.out_size();
        Frame {
            data,
            encoder: Some(encoder),
            width,
            height,
            seq,
            captured_at,
        }
    }

    /// The JPEG to send, converted now (passed-through MJPEG: the same bytes, no copy).
    pub fn jpeg(&self) -> Result<Bytes, jpeg::FrameError> {
        match &self.encoder {
            None => Ok(self.data.clone()),
            Some(enc) => enc.convert(&self.data),
        }
    }

    /// Bytes held: the camera's frame as delivered.
    pub fn raw_len(&self) -> usize {
        self.data.len()
    }

    /// The camera's bytes as delivered, for a look that needs no JPEG (the
    /// presence detector's grey view).
    pub fn raw_image(&self) -> RawImage<'_> {
        let Some(enc) = &self.encoder else {
            return RawImage::Jpeg(&self.data);
        };
        let g = enc.granted();
        match g.format {
            jpeg::PixelFormat::Mjpeg => RawImage::Jpeg(&self.data),
            format => RawImage::Yuv {
                bytes: &self.data,
                format,
                width: g.width,
                height: g.height,
                stride: g.stride,
            },
        }
    }

    /// The clockwise rotation applied to this frame before it is sent (the raw
    /// image is not rotated yet).
    pub fn rotation(&self) -> crate::rotation::Rotation {
        self.encoder
            .as_ref()
            .map_or(crate::rotation::Rotation::R0, |e| e.rotation())
    }
}

/// A frame's bytes as the camera delivered them. No `Debug`: they are a picture of
/// a person.
#[derive(Clone, Copy)]
pub enum RawImage<'a> {
    /// A whole JPEG (an MJPEG frame, or the simulated camera's).
    Jpeg(&'a [u8]),
    /// A raw YUV frame; `stride` is the bytes per line of the first plane (0: the
    /// format's minimum).
    Yuv {
        bytes: &'a [u8],
        format: jpeg::PixelFormat,
        width: u32,
        height: u32,
        stride: u32,
    },
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("bytes", &self.data.len())
            .field("raw", &self.encoder.is_some())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

/// What the capture task reports besides frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CameraState {
    Starting,
    Streaming,
    /// The device failed; the task is reopening it. The text says why.
    Unavailable(String),
}

/// The newest frame and the camera's state. Writers replace, never queue: a reader
/// only ever sees the latest frame.
#[derive(Clone)]
pub struct FrameSlot {
    frame: Arc<watch::Sender<Option<Frame>>>,
    state: Arc<watch::Sender<CameraState>>,
}

impl Default for FrameSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameSlot {
    pub fn new() -> Self {
        FrameSlot {
            frame: Arc::new(watch::channel(None).0),
            state: Arc::new(watch::channel(CameraState::Starting).0),
        }
    }

    /// Replaces the newest frame.
    pub fn publish(&self, frame: Frame) {
        self.frame.send_replace(Some(frame));
        self.state.send_if_modified(|s| {
            let changed = *s != CameraState::Streaming;
            *s = CameraState::Streaming;
            changed
        });
    }

    pub fn set_state(&self, state: CameraState) {
        self.state.send_replace(state);
    }

    pub fn state(&self) -> CameraState {
        self.state.borrow().clone()
    }

    /// The newest frame, if any.
    pub fn latest(&self) -> Option<Frame> {
        self.frame.borrow().clone()
    }

    /// Waits for a frame newer than `after_seq` and captured no earlier than
    /// `not_before`. Returns `None` when the camera reports itself unavailable.
    pub async fn next_fresh(&self, after_seq: Option<u64>, not_before: Instant) -> Option<Frame> {
        let mut rx = self.frame.subscribe();
        let mut state = self.state.subscribe();
        loop {
            {
                let current = rx.borrow_and_update();
                if let Some(f) = current.as_ref() {
                    let newer = after_seq.is_none_or(|s| f.seq > s);
                    if newer && f.captured_at >= not_before {
                        return Some(f.clone());
                    }
                }
            }
            if matches!(*state.borrow_and_update(), CameraState::Unavailable(_)) {
                return None;
            }
            tokio::select! {
                r = rx.changed() => if r.is_err() { return None },
                r = state.changed() => if r.is_err() { return None },
            }
        }
    }
}

/// A camera: something that fills a [`FrameSlot`] from a task of its own until the
/// slot's owner stops it.
pub trait FrameSource: Send + 'static {
    /// Starts capturing into `slot`; the returned task runs until aborted.
    fn spawn(self: Box<Self>, slot: FrameSlot) -> tokio::task::JoinHandle<()>;
}

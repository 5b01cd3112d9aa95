//! The face detector's own thread: [`Eyes`] takes a frame from the daemon, makes
//! the grey view from the camera's raw bytes (`view.rs`: no JPEG encode) and runs
//! the detector there, off the async runtime. The detector is made on that thread
//! (rustface's is not `Send`) by the [`MakeDetector`] that `devices.rs` chooses:
//! the real one for `run`, the scene's twin for `simulate`.
//!
//! One look at a time: the daemon waits for each answer before it asks again.
//! Frames pass through memory only; nothing is written or logged of them.

use std::sync::mpsc;

use tokio::sync::oneshot;
use tracing::warn;

use super::detect::{DetectorError, FaceDetector};
use super::view::{self, ViewError, VIEW_WIDTH};
use super::{FaceBox, GreyView, Look};
use crate::camera::Frame;

/// Makes the detector, on the detector's thread.
pub type MakeDetector =
    Box<dyn FnOnce() -> Result<Box<dyn FaceDetector>, DetectorError> + Send + 'static>;

/// What one detection found: the faces in a view of this size.
#[derive(Clone, Debug, PartialEq)]
pub struct Detected {
    pub view_width: u32,
    pub view_height: u32,
    pub faces: Vec<FaceBox>,
}

impl Detected {
    /// The look as the core takes it.
    pub fn look(&self) -> Look<'_> {
        Look {
            view_width: self.view_width,
            view_height: self.view_height,
            faces: &self.faces,
        }
    }
}

/// Why a look could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LookError {
    #[error(transparent)]
    View(#[from] ViewError),
    #[error("the face detector is not available: {0}")]
    Detector(String),
    #[error("the face detector stopped")]
    Gone,
}

enum Job {
    /// The pre-filter's small view.
    Small(Frame, oneshot::Sender<Result<GreyView, LookError>>),
    /// A detection on the detector's view.
    Faces(Frame, oneshot::Sender<Result<Detected, LookError>>),
}

/// The handle to the detector's thread; cheap to clone. The thread ends when the
/// last handle is dropped.
#[derive(Clone, Debug)]
pub struct Eyes {
    jobs: mpsc::Sender<Job>,
}

impl Eyes {
    /// Starts the detector's thread; `make` runs there first. A detector that
    /// cannot be made is logged, and every look then fails with
    /// [`LookError::Detector`] (the daemon's rule for a failed look applies).
    pub fn spawn(make: MakeDetector) -> std::io::Result<Eyes> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("presence".into())
            .spawn(move || {
                let mut detector = match make() {
                    Ok(d) => Ok(d),
                    Err(e) => {
                        warn!(error = %e, "the face detector cannot be made");
                        Err(e.to_string())
                    }
                };
                while let Ok(job) = rx.recv() {
                    match job {
                        Job::Small(frame, reply) => {
                            let small = view::small_of_raw(frame.raw_image());
                            let _ = reply.send(small.map_err(LookError::from));
                        }
                        Job::Faces(frame, reply) => {
                            let r = match &mut detector {
                                Ok(d) => detect(d.as_mut(), &frame),
                                Err(e) => Err(LookError::Detector(e.clone())),
                            };
                            let _ = reply.send(r);
                        }
                    }
                }
            })?;
        Ok(Eyes { jobs: tx })
    }

    /// The pre-filter's small view of `frame` (a few samples a block for YUYV).
    pub async fn small(&self, frame: Frame) -> Result<GreyView, LookError> {
        self.ask(|reply| Job::Small(frame, reply)).await
    }

    /// The faces in `frame`'s detector view.
    pub async fn faces(&self, frame: Frame) -> Result<Detected, LookError> {
        self.ask(|reply| Job::Faces(frame, reply)).await
    }

    /// Sends the job `make` builds around its reply channel; awaits the reply.
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, LookError>>) -> Job,
    ) -> Result<T, LookError> {
        let (tx, rx) = oneshot::channel();
        self.jobs.send(make(tx)).map_err(|_| LookError::Gone)?;
        rx.await.map_err(|_| LookError::Gone)?
    }
}

/// One detection on `frame`'s view. A detector that panics is caught: the look
/// fails, the thread goes on.
fn detect(detector: &mut dyn FaceDetector, frame: &Frame) -> Result<Detected, LookError> {
    let view = view::of_raw(frame.raw_image(), frame.rotation(), VIEW_WIDTH)?;
    let faces = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| detector.detect(&view)))
        .map_err(|_| LookError::Detector("the detector panicked".into()))?;
    Ok(Detected {
        view_width: view.width,
        view_height: view.height,
        faces,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use tokio::time::Instant;

    /// Finds one face in the middle of any view whose first pixel is bright.
    struct Bright;

    impl FaceDetector for Bright {
        fn detect(&mut self, view: &GreyView) -> Vec<FaceBox> {
            if view.pixels.first().is_some_and(|&p| p > 128) {
                vec![FaceBox {
                    x: view.width as i32 / 4,
                    y: view.height as i32 / 4,
                    width: view.width / 2,
                    height: view.height / 2,
                    score: 9.0,
                }]
            } else {
                Vec::new()
            }
        }
    }

    fn jpeg(level: u8) -> Frame {
        let img = image::GrayImage::from_pixel(640, 480, image::Luma([level]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&img)
            .expect("encode");
        Frame::from_jpeg(Bytes::from(out), 640, 480, 1, Instant::now())
    }

    #[tokio::test]
    async fn looks_run_on_the_detectors_thread() {
        let eyes = Eyes::spawn(Box::new(|| Ok(Box::new(Bright) as Box<dyn FaceDetector>)))
            .expect("thread");
        let seen = eyes.faces(jpeg(250)).await.expect("look");
        assert_eq!((seen.view_width, seen.view_height), (320, 240));
        assert_eq!(seen.faces.len(), 1);
        assert!(eyes.faces(jpeg(20)).await.expect("look").faces.is_empty());
        let small = eyes.small(jpeg(20)).await.expect("small");
        assert_eq!((small.width, small.height), (40, 30));
        let bad = Frame::from_jpeg(Bytes::from_static(b"no jpeg"), 640, 480, 2, Instant::now());
        assert!(matches!(eyes.faces(bad).await, Err(LookError::View(_))));
    }

    #[tokio::test]
    async fn a_detector_that_cannot_be_made_or_panics_fails_the_look_only() {
        let eyes = Eyes::spawn(Box::new(|| {
            Err(DetectorError::Model(std::io::Error::other("no model")))
        }))
        .expect("thread");
        assert!(matches!(
            eyes.faces(jpeg(250)).await,
            Err(LookError::Detector(_))
        ));
        struct Panics;
        impl FaceDetector for Panics {
            fn detect(&mut self, _: &GreyView) -> Vec<FaceBox> {
                panic!("a detector bug")
            }
        }
        let eyes = Eyes::spawn(Box::new(|| Ok(Box::new(Panics) as Box<dyn FaceDetector>)))
            .expect("thread");
        assert!(matches!(
            eyes.faces(jpeg(250)).await,
            Err(LookError::Detector(_))
        ));
        // The thread is still there.
        assert!(eyes.small(jpeg(250)).await.is_ok());
    }
}

//! Presence: is a person in front of the camera? The decisions are the core's
//! (`livegate_core::presence`: looks in, a state and the arrival edge out;
//! `livegate_core::motion`: the pre-filter); this module holds the adapters that
//! feed it: the small grey view taken from a frame ([`view`]) and the face detector
//! behind the [`FaceDetector`] trait ([`detect`]), with a simulated twin reading the
//! synthetic scene (`twin`, `sim` feature only), run on a thread of their own
//! ([`eyes`]).

pub mod detect;
pub mod eyes;
#[cfg(feature = "sim")]
pub mod twin;
pub mod view;

pub use detect::{FaceDetector, SeetaDetector};
pub use eyes::{Detected, Eyes, LookError, MakeDetector};
pub use livegate_core::motion::{MotionFilter, MotionParams};
pub use livegate_core::presence::{
    frame_guidance, judge, Answer, FaceBox, GreyView, Guidance, Look, Next, Params, Presence,
    Question, Sighting, State, Step, Watch,
};
pub use view::{view_size, ViewError, VIEW_WIDTH};

//! The simulated scene: what the simulated camera draws, and how the API stand-in
//! reads it back out of the JPEG.
//! (Stub: being written. The signatures below are the contract.)

/// Who is in front of the simulated camera, doing what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Nobody in the picture.
    Nobody,
    /// A still photo held up to the camera (a spoof).
    Still,
    /// A live person not doing any action.
    Neutral,
    /// A live person doing the action with this index in [`crate::actions::ALL`].
    Doing(usize),
}

/// What a reader found in an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    Subject(Subject),
    /// The image decoded but carries no readable scene marker.
    Unreadable,
}

#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error("cannot encode JPEG: {0}")]
    Encode(String),
    #[error("not a JPEG image: {0}")]
    Decode(String),
}

/// Draws `subject` into a `width`x`height` picture and encodes it as JPEG.
pub fn render(width: u32, height: u32, subject: Subject, quality: u8) -> Result<Vec<u8>, SceneError> {
    let _ = (width, height, subject, quality);
    Err(SceneError::Encode("not implemented".into()))
}

/// Decodes a JPEG and reads the scene marker the simulated camera drew into it.
pub fn read(jpeg: &[u8]) -> Result<Seen, SceneError> {
    let _ = jpeg;
    Ok(Seen::Unreadable)
}

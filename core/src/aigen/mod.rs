//! The AIGEN Face Liveness API's protocol: tolerant wire types and the typed error
//! classes. No HTTP here: the reqwest transport is `livegate::api::client`.

pub mod error;
pub mod wire;

pub use error::ApiError;
pub use wire::{Answer, Outcome, RequestId, Status};

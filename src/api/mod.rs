//! The AIGEN Face Liveness API: the HTTPS client (reqwest + rustls) for the core's
//! protocol (`livegate_core::aigen`: tolerant wire types, typed errors).

pub mod client;
// The protocol (wire types, error classes) is in the core: no HTTP there.
pub use livegate_core::aigen::{error, wire};

pub use client::{AigenClient, ClientOptions};
pub use error::ApiError;
pub use wire::{Answer, Outcome, RequestId, Status};

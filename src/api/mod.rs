//! The AIGEN Face Liveness API: tolerant wire types, typed errors and the HTTPS client.

pub mod client;
pub mod error;
pub mod wire;

pub use client::{AigenClient, ClientOptions};
pub use error::ApiError;
pub use wire::{Answer, Outcome, RequestId, Status};

//! The HTTPS client of the AIGEN API (reqwest + rustls on ring).
//! (Stub: being written.)

use std::time::Duration;

use crate::actions::Part;
use crate::secret::ApiKey;

use super::{Answer, ApiError, RequestId};

/// Everything the client needs; built from `[api]` of the config.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub base_url: String,
    pub key: ApiKey,
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries with backoff for network errors and 5xx.
    pub retries: u8,
    /// Extra CA certificates (PEM) to trust.
    pub extra_ca_pem: Vec<Vec<u8>>,
    /// Trust only `extra_ca_pem`, not the system's roots (the stand-in on loopback).
    pub only_extra_ca: bool,
    pub allow_insecure_http: bool,
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error("invalid base URL {url:?}: {why}")]
    Url { url: String, why: String },
    #[error("plain http:// refused for {url}: set api.allow_insecure_http = true to allow it")]
    InsecureHttp { url: String },
    #[error("invalid CA certificate: {0}")]
    Ca(String),
    #[error("cannot build the HTTPS client: {0}")]
    Build(String),
}

/// A cheap-to-clone handle on one kept-alive connection pool.
#[derive(Clone)]
pub struct AigenClient {
    _opts: std::sync::Arc<ClientOptions>,
}

impl AigenClient {
    pub fn new(opts: ClientOptions) -> Result<Self, ClientBuildError> {
        Ok(AigenClient {
            _opts: std::sync::Arc::new(opts),
        })
    }

    /// GET a new action sequence.
    pub async fn sequence(
        &self,
        mode: u8,
        part: Option<Part>,
        select: &[String],
    ) -> Result<Answer, ApiError> {
        let _ = (mode, part, select);
        Err(ApiError::Network("not implemented".into()))
    }

    /// POST one JPEG frame for the current action.
    pub async fn verify(&self, request_id: &RequestId, jpeg: &[u8]) -> Result<Answer, ApiError> {
        let _ = (request_id, jpeg);
        Err(ApiError::Network("not implemented".into()))
    }

    /// POST `restart_id`: ask for new actions.
    pub async fn restart(&self, request_id: &RequestId) -> Result<Answer, ApiError> {
        let _ = request_id;
        Err(ApiError::Network("not implemented".into()))
    }
}

//! A faithful stand-in of the AIGEN Face Liveness API, served over HTTPS on loopback.
//!
//! [`Standin::start`] generates a CA and a server certificate in memory, binds
//! `127.0.0.1:0` and serves the one path of the API: `GET ?mode=…` draws actions,
//! `POST {request_id, image}` verifies one image by reading the simulated scene drawn
//! into it ([`crate::scene`]), `POST {request_id, restart_id: true}` draws anew.
//! Every request is recorded (without image bytes) for assertions, and [`Faults`]
//! makes it misbehave on demand. See `shared/aigen-liveness-api.md` for the contract.
//!
//! This crate is livegate's `livegate-standin`: it depends on `livegate-core` only
//! (the wire types, the action names, the key) and the daemon links it only with its
//! `sim` feature. [`scene`] is the synthetic scene protocol the simulated camera draws
//! and the stand-in reads.
//!
//! Choices where the reference is silent: the miss counter is per sequence (a restart
//! resets it, a passed action does not); a faulted request never touches a session; a
//! request takes effect on arrival and its answer leaves after the injected latency.

pub mod faults;
pub mod scene;
mod server;
pub mod state;
mod tls;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use faults::{Fault, Faults};
pub use state::{DrawSpec, Phase, SessionId, SessionView, FIRST_NUMERIC_ID};

use crate::scene::Seen;
use livegate_core::secret::ApiKey;
use server::{lock, Shared};

/// The path the stand-in answers on (the vendor's).
pub const API_PATH: &str = server::PATH;

/// How the stand-in behaves.
#[derive(Clone, Debug)]
pub struct StandinOptions {
    /// The only key accepted, in the `x-aigen-key` header.
    pub key: ApiKey,
    /// Images that do not show the action before `uncompleted` (below 1 acts as 1).
    pub max_misses: u32,
    /// Failures (restarts, `uncompleted` endings) after which the request_id expires
    /// (below 1 acts as 1).
    pub max_failures: u32,
    /// Deterministic action draws when `Some`.
    pub seed: Option<u64>,
    /// Start with numeric request ids (see [`Faults::set_numeric_request_ids`]).
    pub numeric_request_ids: bool,
}

impl Default for StandinOptions {
    fn default() -> Self {
        StandinOptions {
            key: ApiKey::new("standin-key"),
            max_misses: 3,
            max_failures: 3,
            seed: None,
            numeric_request_ids: false,
        }
    }
}

/// Why the stand-in could not start.
#[derive(Debug, thiserror::Error)]
pub enum StandinError {
    /// The loopback socket could not be bound.
    #[error("cannot bind 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
    /// rcgen failed.
    #[error("cannot generate certificates: {0}")]
    Cert(String),
    /// rustls refused the configuration.
    #[error("cannot configure TLS: {0}")]
    Tls(String),
}

/// One request as the stand-in saw it. Image bytes are never kept.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    /// The client's address: one per connection, so equal peers mean a reused connection.
    pub peer: SocketAddr,
    /// `GET`, `POST`, … as sent.
    pub method: String,
    /// The request path, without the query.
    pub path: String,
    /// Decoded query pairs in order; the value of an `aigen_key` pair is `***`.
    pub query: Vec<(String, String)>,
    /// The `x-aigen-key` header was present and equal to the key.
    pub key_ok: bool,
    /// The query carried an `aigen_key` parameter (never accepted).
    pub key_in_query: bool,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The JSON body with `image` replaced by `{"base64_len": N, "seen": "<text>"}`;
    /// `None` when the body is empty or not JSON.
    pub body: Option<serde_json::Value>,
    /// Length of the body in bytes (the 16 MiB limit when it was larger).
    pub body_len: usize,
    /// What the scene reader found in the image, when one was decoded.
    pub seen: Option<Seen>,
    /// The HTTP status answered; 0 when the connection was dropped or left hanging.
    pub status: u16,
}

/// A running stand-in. Dropping it stops the server too.
pub struct Standin {
    addr: SocketAddr,
    ca_pem: Vec<u8>,
    ca_der: Vec<u8>,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Standin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Standin")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Standin {
    /// Generates the certificates, binds `127.0.0.1:0` and starts serving on the
    /// current tokio runtime.
    pub async fn start(opts: StandinOptions) -> Result<Standin, StandinError> {
        let material = tls::generate()?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(StandinError::Bind)?;
        let addr = listener.local_addr().map_err(StandinError::Bind)?;
        let faults = Faults::new();
        faults.set_numeric_request_ids(opts.numeric_request_ids);
        let shared = Arc::new(Shared {
            key: opts.key,
            sessions: Mutex::new(state::Sessions::new(
                opts.max_misses,
                opts.max_failures,
                opts.seed,
            )),
            recorded: Mutex::new(Default::default()),
            faults,
        });
        let (stop_tx, stop_rx) = oneshot::channel();
        let acceptor = tokio_rustls::TlsAcceptor::from(material.server);
        let task = tokio::spawn(server::serve(
            listener,
            acceptor,
            Arc::clone(&shared),
            stop_rx,
        ));
        tracing::info!(%addr, "stand-in: AIGEN API stand-in listening");
        Ok(Standin {
            addr,
            ca_pem: material.ca_pem,
            ca_der: material.ca_der,
            shared,
            stop: Some(stop_tx),
            task: Some(task),
        })
    }

    /// The base URL: `https://127.0.0.1:PORT/aiface/liveness-detection/v1`.
    pub fn url(&self) -> String {
        format!("https://{}{}", self.addr, API_PATH)
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA certificate (PEM) that signed the server certificate.
    pub fn ca_pem(&self) -> &[u8] {
        &self.ca_pem
    }

    /// The same CA certificate, DER-encoded.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }

    /// The fault-injection handle.
    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }

    /// Every request seen so far (the newest 10 000), oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.shared.recorded).iter().cloned().collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.recorded).clear();
    }

    /// Every session issued so far, oldest first.
    pub fn sessions(&self) -> Vec<SessionView> {
        lock(&self.shared.sessions).views()
    }

    /// Stops accepting, closes every connection and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            if let Err(e) = task.await {
                tracing::debug!(error = %e, "stand-in: server task ended abnormally");
            }
        }
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

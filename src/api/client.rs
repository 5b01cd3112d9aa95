//! The HTTPS client of the AIGEN API (reqwest + rustls on ring).
//!
//! One [`AigenClient`] owns one kept-alive HTTP/1.1 connection pool. The key travels in the
//! `x-aigen-key` header (marked sensitive), never in the URL. Frames are biometric data:
//! only their byte length is ever logged.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE};

use crate::secret::show_url;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::actions::Part;
use crate::secret::ApiKey;

use super::wire::{ErrorBody, RestartRequest};
use super::{Answer, ApiError, RequestId};

/// The largest answer body read; a larger one is refused (a 200 becomes `Garbled`).
pub const MAX_BODY: usize = 64 * 1024;

/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Everything the client needs; built from `[api]` of the config.
#[derive(Clone)]
pub struct ClientOptions {
    /// The API's one URL (`https://…/liveness-detection/v1`).
    pub base_url: String,
    /// The account's key, sent in `x-aigen-key`.
    pub key: ApiKey,
    /// Whole-request timeout (connect, send, answer and body), per attempt.
    pub request_timeout: Duration,
    /// Connect timeout (TCP and TLS handshake), per attempt.
    pub connect_timeout: Duration,
    /// Retries with backoff for network errors and 5xx.
    pub retries: u8,
    /// The first retry's pause; it doubles per retry (capped at 2 s), plus a little jitter.
    pub retry_base: Duration,
    /// Extra CA certificates (PEM) to trust.
    pub extra_ca_pem: Vec<Vec<u8>>,
    /// Trust only `extra_ca_pem`, not the system's roots (the stand-in on loopback).
    pub only_extra_ca: bool,
    /// Allow a plain `http://` base URL (never in production).
    pub allow_insecure_http: bool,
}

impl ClientOptions {
    /// Options with the defaults: 10 s request, 5 s connect, 2 retries from 250 ms,
    /// the system's roots, https only.
    pub fn new(base_url: impl Into<String>, key: ApiKey) -> Self {
        ClientOptions {
            base_url: base_url.into(),
            key,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            retries: 2,
            retry_base: Duration::from_millis(250),
            extra_ca_pem: Vec::new(),
            only_extra_ca: false,
            allow_insecure_http: false,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("base_url", &show_url(&self.base_url, Some(&self.key)))
            .field("key", &self.key)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retries", &self.retries)
            .field("retry_base", &self.retry_base)
            .field(
                "extra_ca_pem",
                &format_args!("{} PEM", self.extra_ca_pem.len()),
            )
            .field("only_extra_ca", &self.only_extra_ca)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
    }
}

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    /// The base URL does not parse or is not usable.
    #[error("invalid base URL {url:?}: {why}")]
    Url { url: String, why: String },
    /// `http://` without `allow_insecure_http`.
    #[error("plain http:// refused for {url}: set api.allow_insecure_http = true to allow it")]
    InsecureHttp { url: String },
    /// An extra CA PEM is unreadable or holds no certificate.
    #[error("invalid CA certificate: {0}")]
    Ca(String),
    /// reqwest or rustls refused the configuration.
    #[error("cannot build the HTTPS client: {0}")]
    Build(String),
}

/// A cheap-to-clone handle on one kept-alive connection pool.
#[derive(Clone)]
pub struct AigenClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    url: reqwest::Url,
    request_timeout: Duration,
    connect_timeout: Duration,
    retries: u8,
    retry_base: Duration,
}

impl std::fmt::Debug for AigenClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AigenClient")
            .field("url", &show_url(self.inner.url.as_str(), None))
            .field("request_timeout", &self.inner.request_timeout)
            .field("connect_timeout", &self.inner.connect_timeout)
            .field("retries", &self.inner.retries)
            .finish_non_exhaustive()
    }
}

/// The three operations, for logs and the retry rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Sequence,
    Verify,
    Restart,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Sequence => "sequence",
            Op::Verify => "verify",
            Op::Restart => "restart",
        }
    }
}

/// A failed attempt, with what the retry rule needs to know.
#[derive(Debug)]
struct Failure {
    error: ApiError,
    /// The request may have reached the service (false only for connect-phase errors).
    maybe_sent: bool,
}

impl Failure {
    fn answered(error: ApiError) -> Self {
        Failure {
            error,
            maybe_sent: true,
        }
    }

    /// The retry rule. A network error is retried when it happened before the request
    /// was sent (connect, refused, reset during the handshake), for every call. Once a
    /// request may have reached the service it is not repeated: a GET could open a
    /// second billed session, a restart counts as one of the three failures, and a
    /// frame posted twice could count twice (the session posts the next frame anyway).
    /// A 5xx is retried for frames only, for the same reasons. Timeouts are never
    /// retried: the caller's deadline is better spent on the next step.
    fn may_retry(&self, op: Op) -> bool {
        match &self.error {
            ApiError::Server { .. } => op == Op::Verify,
            ApiError::Network(_) => !self.maybe_sent,
            _ => false,
        }
    }
}

/// What one attempt saw, for the log line.
struct Attempt {
    status: Option<u16>,
    resp_bytes: usize,
    result: Result<Answer, Failure>,
}

impl AigenClient {
    /// Checks the options and builds the connection pool. Reads the system's trust store
    /// unless `only_extra_ca`; no network IO.
    pub fn new(opts: ClientOptions) -> Result<Self, ClientBuildError> {
        let url = parse_url(&opts)?;
        let tls = tls_config(&opts)?;

        let mut key = HeaderValue::from_str(opts.key.expose()).map_err(|_| {
            ClientBuildError::Build("the API key holds characters not allowed in a header".into())
        })?;
        key.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("x-aigen-key", key);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));

        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .http1_only()
            .default_headers(headers)
            .user_agent(concat!("livegate/", env!("CARGO_PKG_VERSION")))
            // A redirect could carry the key to another host: the API has none.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_keepalive(Duration::from_secs(30))
            .connect_timeout(opts.connect_timeout)
            .timeout(opts.request_timeout)
            .build()
            .map_err(|e| ClientBuildError::Build(error_chain(&e)))?;

        Ok(AigenClient {
            inner: Arc::new(Inner {
                http,
                url,
                request_timeout: opts.request_timeout,
                connect_timeout: opts.connect_timeout,
                retries: opts.retries,
                retry_base: opts.retry_base,
            }),
        })
    }

    /// GET a new action sequence: `?mode=N[&part=…][&select=…]…`.
    pub async fn sequence(
        &self,
        mode: u8,
        part: Option<Part>,
        select: &[String],
    ) -> Result<Answer, ApiError> {
        let url = sequence_url(&self.inner.url, mode, part, select);
        let http = &self.inner.http;
        self.call(Op::Sequence, None, 0, || http.get(url.clone()))
            .await
    }

    /// POST one JPEG frame for the current action.
    pub async fn verify(&self, request_id: &RequestId, jpeg: &[u8]) -> Result<Answer, ApiError> {
        let body = frame_body(request_id, jpeg).map_err(ApiError::Garbled)?;
        self.post(Op::Verify, request_id, body).await
    }

    /// POST `restart_id`: ask for new actions.
    pub async fn restart(&self, request_id: &RequestId) -> Result<Answer, ApiError> {
        let body = serde_json::to_vec(&RestartRequest {
            request_id,
            restart_id: true,
        })
        .map_err(|e| ApiError::Garbled(format!("cannot write the request: {e}")))?;
        self.post(Op::Restart, request_id, Bytes::from(body)).await
    }

    async fn post(&self, op: Op, request_id: &RequestId, body: Bytes) -> Result<Answer, ApiError> {
        let http = &self.inner.http;
        let url = &self.inner.url;
        let len = body.len();
        self.call(op, Some(request_id), len, || {
            http.post(url.clone())
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone())
        })
        .await
    }

    /// Runs one operation with the retry rule of [`Failure::may_retry`] and logs it once.
    async fn call(
        &self,
        op: Op,
        request_id: Option<&RequestId>,
        bytes: usize,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Answer, ApiError> {
        let started = Instant::now();
        let mut retried: u8 = 0;
        loop {
            let attempt = self.attempt(make()).await;
            let latency_ms = millis(started.elapsed());
            match attempt.result {
                Ok(answer) => {
                    let rid = request_id.or(answer.request_id.as_ref());
                    tracing::debug!(
                        op = op.as_str(),
                        request_id = rid.map(tracing::field::display),
                        response_id = answer.response_id.as_deref(),
                        status = attempt.status,
                        latency_ms,
                        bytes,
                        resp_bytes = attempt.resp_bytes,
                        retries = retried,
                        "AIGEN call answered"
                    );
                    return Ok(answer);
                }
                Err(failure) if retried < self.inner.retries && failure.may_retry(op) => {
                    let pause = backoff(self.inner.retry_base, retried);
                    tracing::debug!(
                        op = op.as_str(),
                        request_id = request_id.map(tracing::field::display),
                        status = attempt.status,
                        latency_ms,
                        bytes,
                        error = %failure.error,
                        retry_in_ms = millis(pause),
                        "AIGEN call failed, retrying"
                    );
                    tokio::time::sleep(pause).await;
                    retried += 1;
                }
                Err(failure) => {
                    tracing::info!(
                        op = op.as_str(),
                        request_id = request_id.map(tracing::field::display),
                        status = attempt.status,
                        latency_ms,
                        bytes,
                        resp_bytes = attempt.resp_bytes,
                        retries = retried,
                        class = failure.error.class(),
                        error = %failure.error,
                        "AIGEN call failed"
                    );
                    return Err(failure.error);
                }
            }
        }
    }

    /// One request and its answer, read within [`MAX_BODY`].
    async fn attempt(&self, req: reqwest::RequestBuilder) -> Attempt {
        let mut resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => {
                return Attempt {
                    status: None,
                    resp_bytes: 0,
                    result: Err(self.classify(&e)),
                }
            }
        };
        let status = resp.status().as_u16();
        let body = match read_bounded(&mut resp).await {
            Ok(body) => Some(body),
            Err(BodyError::TooLarge) => None,
            Err(BodyError::Http(e)) => {
                return Attempt {
                    status: Some(status),
                    resp_bytes: 0,
                    result: Err(self.classify(&e)),
                }
            }
        };
        let resp_bytes = body.as_ref().map_or(0, Vec::len);
        Attempt {
            status: Some(status),
            resp_bytes,
            result: map_answer(status, body.as_deref()).map_err(Failure::answered),
        }
    }

    /// Sorts a reqwest error into the API's classes.
    fn classify(&self, e: &reqwest::Error) -> Failure {
        if e.is_timeout() {
            let limit = if e.is_connect() {
                self.inner.connect_timeout
            } else {
                self.inner.request_timeout
            };
            return Failure::answered(ApiError::Timeout {
                timeout_ms: millis(limit),
            });
        }
        if let Some(tls) = find_rustls_error(e) {
            return Failure {
                error: ApiError::Tls(tls.to_string()),
                maybe_sent: false,
            };
        }
        Failure {
            error: ApiError::Network(error_chain(e)),
            maybe_sent: !e.is_connect(),
        }
    }
}

/// Maps a status and its (bounded) body to an answer or an error. `body` is `None` when
/// it was larger than [`MAX_BODY`].
fn map_answer(status: u16, body: Option<&[u8]>) -> Result<Answer, ApiError> {
    if status == 200 {
        let Some(body) = body else {
            return Err(ApiError::Garbled(format!(
                "answer larger than {} KiB",
                MAX_BODY / 1024
            )));
        };
        return Answer::parse(body)
            .map_err(|e| ApiError::Garbled(format!("{e} (body starts \"{}\")", excerpt(body))));
    }
    let eb = body.map(ErrorBody::parse).unwrap_or_default();
    let code = eb.code;
    let message = eb.message.or(eb.detail);
    Err(match status {
        401 => ApiError::Unauthorized { code, message },
        403 => ApiError::Forbidden { code, message },
        422 => ApiError::Unprocessable { code, message },
        429 => ApiError::OutOfCredit { code, message },
        500..=599 => ApiError::Server {
            status,
            code,
            message,
        },
        _ => ApiError::UnexpectedStatus {
            status,
            code,
            message,
        },
    })
}

/// At most 40 characters of a body, made safe, for an error message.
fn excerpt(body: &[u8]) -> String {
    let head: String = String::from_utf8_lossy(&body[..body.len().min(160)])
        .chars()
        .take(40)
        .collect();
    crate::untrusted::clean(&head)
}

enum BodyError {
    TooLarge,
    Http(reqwest::Error),
}

/// Reads the body, refusing more than [`MAX_BODY`] bytes.
async fn read_bounded(resp: &mut reqwest::Response) -> Result<Vec<u8>, BodyError> {
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(resp.content_length().map_or(1024, |n| n as usize));
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Http)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The GET URL: the base URL plus `mode`, `part` and one `select` per action,
/// form-encoded.
fn sequence_url(
    base: &reqwest::Url,
    mode: u8,
    part: Option<Part>,
    select: &[String],
) -> reqwest::Url {
    let mut url = base.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("mode", &mode.to_string());
        if let Some(part) = part {
            q.append_pair("part", part.as_str());
        }
        for s in select {
            q.append_pair("select", s);
        }
    }
    url
}

/// `{"request_id":<id as received>,"image":"<base64>"}` in one allocation sized for
/// it, the base64 written straight into it (no zero-filled scratch, no second copy).
pub fn frame_body(request_id: &RequestId, jpeg: &[u8]) -> Result<Bytes, String> {
    let id =
        serde_json::to_string(request_id).map_err(|e| format!("cannot write request_id: {e}"))?;
    let b64_len = base64::encoded_len(jpeg.len(), true)
        .ok_or_else(|| format!("a frame of {} bytes is too large", jpeg.len()))?;
    const HEAD: &str = "{\"request_id\":";
    const MID: &str = ",\"image\":\"";
    const TAIL: &str = "\"}";
    let mut out = String::with_capacity(HEAD.len() + id.len() + MID.len() + b64_len + TAIL.len());
    out.push_str(HEAD);
    out.push_str(&id);
    out.push_str(MID);
    base64::engine::general_purpose::STANDARD.encode_string(jpeg, &mut out);
    out.push_str(TAIL);
    Ok(Bytes::from(out.into_bytes()))
}

/// Checks the base URL: it parses, is https (http only when allowed) and holds no key
/// (by name, or the key's value anywhere). Errors show it through [`show_url`].
fn parse_url(opts: &ClientOptions) -> Result<reqwest::Url, ClientBuildError> {
    let raw = opts.base_url.trim();
    let shown = show_url(raw, Some(&opts.key));
    if opts.key.is_in(raw) {
        return Err(ClientBuildError::Url {
            url: shown,
            why: "the address holds the API key (shown here as ***): the key belongs in \
                  api.key_file or the systemd credential, never in the address"
                .into(),
        });
    }
    let url = reqwest::Url::parse(raw).map_err(|e| ClientBuildError::Url {
        url: shown.clone(),
        why: e.to_string(),
    })?;
    if url
        .query_pairs()
        .any(|(k, _)| k.eq_ignore_ascii_case("aigen_key"))
    {
        // Do not echo the URL: it holds a key.
        return Err(ClientBuildError::Url {
            url: format!("{}://{}…", url.scheme(), url.host_str().unwrap_or("")),
            why: "the key belongs in api.key_file, never in the URL".into(),
        });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ClientBuildError::Url {
            url: format!("{}://{}…", url.scheme(), url.host_str().unwrap_or("")),
            why: "credentials in the URL are not allowed".into(),
        });
    }
    match url.scheme() {
        "https" => {}
        "http" if opts.allow_insecure_http => {}
        "http" => return Err(ClientBuildError::InsecureHttp { url: shown }),
        other => {
            return Err(ClientBuildError::Url {
                url: shown,
                why: format!("scheme {other:?} is not https"),
            })
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ClientBuildError::Url {
            url: shown,
            why: "no host".into(),
        });
    }
    Ok(url)
}

/// Every certificate of every extra PEM; a PEM without a certificate is an error.
fn extra_certs(opts: &ClientOptions) -> Result<Vec<CertificateDer<'static>>, ClientBuildError> {
    let mut certs = Vec::new();
    for (i, pem) in opts.extra_ca_pem.iter().enumerate() {
        let before = certs.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            certs.push(cert.map_err(|e| ClientBuildError::Ca(format!("PEM #{}: {e}", i + 1)))?);
        }
        if certs.len() == before {
            return Err(ClientBuildError::Ca(format!(
                "PEM #{} holds no certificate",
                i + 1
            )));
        }
    }
    Ok(certs)
}

/// The rustls configuration on ring: TLS 1.2/1.3, ALPN http/1.1, and either exactly the
/// extra CAs or the system's roots plus them. Never a disabled verifier.
fn tls_config(opts: &ClientOptions) -> Result<rustls::ClientConfig, ClientBuildError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra = extra_certs(opts)?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in &extra {
        roots
            .add(cert.clone())
            .map_err(|e| ClientBuildError::Ca(e.to_string()))?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientBuildError::Build(e.to_string()))?;
    let mut config = if opts.only_extra_ca {
        if roots.is_empty() {
            return Err(ClientBuildError::Ca(
                "only the extra CAs are trusted, but none is given".into(),
            ));
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
            .map_err(|e| ClientBuildError::Build(format!("system trust store: {e}")))?;
        builder
            .dangerous() // a full WebPKI verifier on the system's roots: nothing is disabled
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The rustls error somewhere in the source chain, also inside an `io::Error`.
fn find_rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        cur = match err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            // io::Error::source() skips the wrapped error itself (reqwest's connector
            // wraps tokio-rustls's io::Error in another): descend into it instead.
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

/// The error and its sources, `: `-joined, without repeats.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// The pause before retry number `retried + 1`: base·2^retried, capped, plus ≤20 % jitter.
fn backoff(base: Duration, retried: u8) -> Duration {
    use rand::Rng as _;
    let pause = base
        .checked_mul(1u32 << retried.min(16))
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF);
    let jitter_max = millis(pause) / 5;
    pause + Duration::from_millis(rand::rng().random_range(0..=jitter_max))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::wire::FrameRequest;
    use crate::api::{Outcome, Status};

    fn opts(url: &str) -> ClientOptions {
        ClientOptions::new(url, ApiKey::new("k-123"))
    }

    #[test]
    fn frame_body_is_the_serde_json_of_frame_request() {
        let jpeg: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for id in [
            RequestId::Text("c404bb92-\"quoted\"\\\u{1}é".into()),
            RequestId::Number(12345678901234u64.into()),
            RequestId::Number(serde_json::Number::from_f64(1.5).unwrap()),
            RequestId::Number("123456789012345678901234567890".parse().unwrap()),
        ] {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&jpeg);
            let expected = serde_json::to_vec(&FrameRequest {
                request_id: &id,
                image: &b64,
            })
            .unwrap();
            let body = frame_body(&id, &jpeg).unwrap();
            assert_eq!(&body[..], &expected[..], "{id:?}");
        }
        let empty = frame_body(&RequestId::Text("a".into()), &[]).unwrap();
        assert_eq!(&empty[..], br#"{"request_id":"a","image":""}"#);
    }

    #[test]
    fn sequence_url_encodes_every_parameter() {
        let base = reqwest::Url::parse("https://h.example/aiface/liveness-detection/v1").unwrap();
        let url = sequence_url(
            &base,
            3,
            Some(Part::Face),
            &["Turn_right".into(), "Look up&x=1".into()],
        );
        assert_eq!(
            url.as_str(),
            "https://h.example/aiface/liveness-detection/v1?mode=3&part=face&select=Turn_right&select=Look+up%26x%3D1"
        );
        let url = sequence_url(&base, 1, None, &[]);
        assert_eq!(url.query(), Some("mode=1"));
    }

    #[test]
    fn urls_are_checked() {
        assert!(parse_url(&opts(
            "https://apis.aigen.online/aiface/liveness-detection/v1"
        ))
        .is_ok());
        assert!(matches!(
            parse_url(&opts("http://127.0.0.1:8080/v1")),
            Err(ClientBuildError::InsecureHttp { .. })
        ));
        let mut o = opts("http://127.0.0.1:8080/v1");
        o.allow_insecure_http = true;
        assert!(parse_url(&o).is_ok());
        assert!(matches!(
            parse_url(&opts("not a url")),
            Err(ClientBuildError::Url { .. })
        ));
        assert!(matches!(
            parse_url(&opts("ftp://h.example/x")),
            Err(ClientBuildError::Url { .. })
        ));
        let e = parse_url(&opts("https://h.example/v1?aigen_key=SECRETKEY")).unwrap_err();
        assert!(matches!(e, ClientBuildError::Url { .. }));
        assert!(!e.to_string().contains("SECRETKEY"), "{e}");
        let e = parse_url(&opts("https://user:PASSWD@h.example/v1")).unwrap_err();
        assert!(!e.to_string().contains("PASSWD"), "{e}");
    }

    #[test]
    fn a_pem_without_certificate_is_a_ca_error() {
        let mut o = opts("https://h.example/v1");
        o.extra_ca_pem = vec![b"no certificate in here".to_vec()];
        assert!(matches!(AigenClient::new(o), Err(ClientBuildError::Ca(_))));
        let mut o = opts("https://h.example/v1");
        o.only_extra_ca = true;
        assert!(matches!(AigenClient::new(o), Err(ClientBuildError::Ca(_))));
    }

    #[test]
    fn a_key_unfit_for_a_header_is_refused_without_showing_it() {
        let o = ClientOptions::new("https://h.example/v1", ApiKey::new("ab\u{7}SECRET"));
        let e = AigenClient::new(o).unwrap_err();
        assert!(matches!(e, ClientBuildError::Build(_)));
        assert!(!e.to_string().contains("SECRET"));
    }

    #[test]
    fn debug_shows_no_key() {
        let o = ClientOptions::new("https://h.example/v1", ApiKey::new("SECRET-KEY-42"));
        let text = format!("{o:?} {o:#?}");
        assert!(!text.contains("SECRET-KEY-42"), "{text}");
        assert!(text.contains("***"), "{text}");
        let client = AigenClient::new(o).unwrap();
        let text = format!("{client:?}");
        assert!(!text.contains("SECRET-KEY-42"), "{text}");
        assert!(text.contains("h.example"), "{text}");
    }

    #[test]
    fn statuses_map_to_errors_with_code_and_message() {
        let body = br#"{"code":"C","message":"M","detail":"D"}"#;
        let (code, message) = (Some("C".to_string()), Some("M".to_string()));
        assert_eq!(
            map_answer(401, Some(body)),
            Err(ApiError::Unauthorized {
                code: code.clone(),
                message: message.clone()
            })
        );
        assert_eq!(
            map_answer(403, Some(body)),
            Err(ApiError::Forbidden {
                code: code.clone(),
                message: message.clone()
            })
        );
        assert_eq!(
            map_answer(422, Some(body)),
            Err(ApiError::Unprocessable {
                code: code.clone(),
                message: message.clone()
            })
        );
        assert_eq!(
            map_answer(429, Some(body)),
            Err(ApiError::OutOfCredit {
                code: code.clone(),
                message: message.clone()
            })
        );
        assert_eq!(
            map_answer(503, Some(body)),
            Err(ApiError::Server {
                status: 503,
                code: code.clone(),
                message: message.clone()
            })
        );
        assert_eq!(
            map_answer(404, Some(body)),
            Err(ApiError::UnexpectedStatus {
                status: 404,
                code,
                message
            })
        );
        // detail stands in for a missing message; an unreadable or oversized body is empty.
        assert_eq!(
            map_answer(422, Some(br#"{"detail":[{"msg":"x"}]}"#)),
            Err(ApiError::Unprocessable {
                code: None,
                message: Some(r#"[{"msg":"x"}]"#.into())
            })
        );
        assert_eq!(
            map_answer(500, Some(b"<html>")),
            Err(ApiError::Server {
                status: 500,
                code: None,
                message: None
            })
        );
        assert_eq!(
            map_answer(301, None),
            Err(ApiError::UnexpectedStatus {
                status: 301,
                code: None,
                message: None
            })
        );
    }

    #[test]
    fn a_200_parses_or_is_garbled() {
        let a = map_answer(200, Some(br#"{"status":"completed","result":"Yes"}"#)).unwrap();
        assert_eq!(a.status, Status::Completed);
        assert_eq!(a.result, Some(Outcome::Yes));
        let Err(ApiError::Garbled(m)) = map_answer(200, Some(br#"{"status": "proc"#)) else {
            panic!("not garbled")
        };
        assert!(m.contains("the answer is cut short"), "{m}");
        let long = format!(r#"{{"result":"{}"}}"#, "z".repeat(1000));
        let Err(ApiError::Garbled(m)) = map_answer(200, Some(long.as_bytes())) else {
            panic!("not garbled")
        };
        assert!(m.len() < 120, "{m}");
        assert!(matches!(map_answer(200, None), Err(ApiError::Garbled(_))));
    }

    #[test]
    fn retry_rule() {
        let net = |maybe_sent| Failure {
            error: ApiError::Network("x".into()),
            maybe_sent,
        };
        let server = Failure::answered(ApiError::Server {
            status: 502,
            code: None,
            message: None,
        });
        assert!(server.may_retry(Op::Verify));
        assert!(!server.may_retry(Op::Sequence));
        assert!(!server.may_retry(Op::Restart));
        for op in [Op::Sequence, Op::Verify, Op::Restart] {
            assert!(net(false).may_retry(op));
            assert!(!net(true).may_retry(op));
            assert!(!Failure::answered(ApiError::Timeout { timeout_ms: 1 }).may_retry(op));
            assert!(!Failure::answered(ApiError::Garbled("x".into())).may_retry(op));
            assert!(!Failure::answered(ApiError::OutOfCredit {
                code: None,
                message: None
            })
            .may_retry(op));
            assert!(!Failure::answered(ApiError::Tls("x".into())).may_retry(op));
        }
    }

    #[test]
    fn backoff_doubles_with_bounded_jitter_and_a_cap() {
        let base = Duration::from_millis(250);
        for _ in 0..50 {
            let b0 = backoff(base, 0);
            assert!(b0 >= base && b0 <= Duration::from_millis(300), "{b0:?}");
            let b1 = backoff(base, 1);
            assert!(b1 >= 2 * base && b1 <= Duration::from_millis(600), "{b1:?}");
            let b9 = backoff(base, 9);
            assert!(
                b9 >= MAX_BACKOFF && b9 <= Duration::from_millis(2400),
                "{b9:?}"
            );
            assert!(backoff(base, 255) <= Duration::from_millis(2400));
        }
    }

    /// A body of unknown length, served in chunks.
    struct Chunks(Vec<Bytes>);

    impl hyper::body::Body for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
            std::task::Poll::Ready(if self.0.is_empty() {
                None
            } else {
                Some(Ok(hyper::body::Frame::data(self.0.remove(0))))
            })
        }
    }

    fn chunked(sizes: &[usize]) -> reqwest::Response {
        let chunks = sizes.iter().map(|&n| Bytes::from(vec![b'x'; n])).collect();
        reqwest::Response::from(hyper::Response::new(reqwest::Body::wrap(Chunks(chunks))))
    }

    #[tokio::test]
    async fn bodies_are_read_within_the_bound() {
        let mut r = reqwest::Response::from(hyper::Response::new(vec![b'a'; MAX_BODY]));
        assert_eq!(
            read_bounded(&mut r).await.ok().map(|b| b.len()),
            Some(MAX_BODY)
        );
        let mut r = reqwest::Response::from(hyper::Response::new(vec![b'a'; MAX_BODY + 1]));
        assert!(matches!(
            read_bounded(&mut r).await,
            Err(BodyError::TooLarge)
        ));

        let mut r = chunked(&[10, 20, 30]);
        assert_eq!(r.content_length(), None);
        assert_eq!(read_bounded(&mut r).await.ok(), Some(vec![b'x'; 60]));
        let mut r = chunked(&[MAX_BODY / 2, MAX_BODY / 2]);
        assert_eq!(
            read_bounded(&mut r).await.ok().map(|b| b.len()),
            Some(MAX_BODY)
        );
        let mut r = chunked(&[MAX_BODY / 2, MAX_BODY / 2, 1]);
        assert!(matches!(
            read_bounded(&mut r).await,
            Err(BodyError::TooLarge)
        ));
    }

    #[test]
    fn rustls_errors_are_found_inside_io_errors() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls.clone());
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let outer = Outer(io);
        assert_eq!(find_rustls_error(&outer), Some(&tls));
        // As reqwest's connector reports it: an io::Error in an io::Error.
        let nested = Outer(std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            tls.clone(),
        )));
        assert_eq!(find_rustls_error(&nested), Some(&tls));
        let plain = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(find_rustls_error(&plain), None);
        assert_eq!(
            error_chain(&outer),
            "outer: invalid peer certificate: UnknownIssuer"
        );
    }
}

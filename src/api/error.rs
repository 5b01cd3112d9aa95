//! Typed failures of the AIGEN API. No variant can hold the key.

/// What went wrong talking to the service. Every variant keeps the gate shut.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// 401: missing or invalid key.
    #[error("API key rejected (401){}", fmt_body(.code, .message))]
    Unauthorized {
        code: Option<String>,
        message: Option<String>,
    },
    /// 403: the key may not use this endpoint.
    #[error("API key not allowed here (403){}", fmt_body(.code, .message))]
    Forbidden {
        code: Option<String>,
        message: Option<String>,
    },
    /// 422: the request was missing or had invalid input.
    #[error("request refused as invalid (422){}", fmt_body(.code, .message))]
    Unprocessable {
        code: Option<String>,
        message: Option<String>,
    },
    /// 429: credits exhausted or too many requests.
    #[error("out of credit or rate-limited (429){}", fmt_body(.code, .message))]
    OutOfCredit {
        code: Option<String>,
        message: Option<String>,
    },
    /// 5xx after the retries.
    #[error("service error ({status}){}", fmt_body(.code, .message))]
    Server {
        status: u16,
        code: Option<String>,
        message: Option<String>,
    },
    /// Any other status.
    #[error("unexpected HTTP status {status}{}", fmt_body(.code, .message))]
    UnexpectedStatus {
        status: u16,
        code: Option<String>,
        message: Option<String>,
    },
    /// No answer within the request timeout.
    #[error("no answer within {timeout_ms} ms")]
    Timeout { timeout_ms: u64 },
    /// The TLS handshake failed (certificate, protocol).
    #[error("TLS failure: {0}")]
    Tls(String),
    /// Connecting or talking failed (DNS, refused, reset).
    #[error("network failure: {0}")]
    Network(String),
    /// A 200 whose body is not the expected JSON.
    #[error("garbled answer: {0}")]
    Garbled(String),
}

fn fmt_body(code: &Option<String>, message: &Option<String>) -> String {
    match (code, message) {
        (Some(c), Some(m)) => format!(": {c}: {m}"),
        (Some(c), None) => format!(": {c}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    }
}

impl ApiError {
    /// A short stable name of the error's class, for logs, events and metrics.
    pub fn class(&self) -> &'static str {
        match self {
            ApiError::Unauthorized { .. } => "unauthorized",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::Unprocessable { .. } => "unprocessable",
            ApiError::OutOfCredit { .. } => "out_of_credit",
            ApiError::Server { .. } => "server",
            ApiError::UnexpectedStatus { .. } => "unexpected_status",
            ApiError::Timeout { .. } => "timeout",
            ApiError::Tls(_) => "tls",
            ApiError::Network(_) => "network",
            ApiError::Garbled(_) => "garbled",
        }
    }

    /// Whether a retry with backoff may help (network errors and 5xx only).
    pub fn is_retryable(&self) -> bool {
        matches!(self, ApiError::Network(_) | ApiError::Server { .. })
    }
}

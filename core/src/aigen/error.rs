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
    #[error("TLS failure: {}", clean(.0))]
    Tls(String),
    /// Connecting or talking failed (DNS, refused, reset).
    #[error("network failure: {}", clean(.0))]
    Network(String),
    /// A 200 whose body is not the expected JSON.
    #[error("garbled answer: {}", clean(.0))]
    Garbled(String),
}

use crate::untrusted::clean;

/// `: code: message`, each part as [`clean`] shows it (they come from the service).
fn fmt_body(code: &Option<String>, message: &Option<String>) -> String {
    let (code, message) = (code.as_deref().map(clean), message.as_deref().map(clean));
    match (code, message) {
        (Some(c), Some(m)) => format!(": {c}: {m}"),
        (Some(c), None) => format!(": {c}"),
        (None, Some(m)) => format!(": {m}"),
        (None, None) => String::new(),
    }
}

impl ApiError {
    /// Every [`ApiError::class`], in declaration order.
    pub const CLASSES: [&'static str; 10] = [
        "unauthorized",
        "forbidden",
        "unprocessable",
        "out_of_credit",
        "server",
        "unexpected_status",
        "timeout",
        "tls",
        "network",
        "garbled",
    ];

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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<ApiError> {
        let (c, m) = (Some("E1".to_string()), Some("went wrong".to_string()));
        vec![
            ApiError::Unauthorized {
                code: c.clone(),
                message: m.clone(),
            },
            ApiError::Forbidden {
                code: c.clone(),
                message: m.clone(),
            },
            ApiError::Unprocessable {
                code: c.clone(),
                message: m.clone(),
            },
            ApiError::OutOfCredit {
                code: c.clone(),
                message: m.clone(),
            },
            ApiError::Server {
                status: 503,
                code: c.clone(),
                message: m.clone(),
            },
            ApiError::UnexpectedStatus {
                status: 418,
                code: c,
                message: m,
            },
            ApiError::Timeout { timeout_ms: 300 },
            ApiError::Tls("invalid peer certificate: UnknownIssuer".into()),
            ApiError::Network("connection refused".into()),
            ApiError::Garbled("the answer has no status".into()),
        ]
    }

    #[test]
    fn class_names_are_stable_and_distinct() {
        let names: Vec<&str> = all().iter().map(ApiError::class).collect();
        assert_eq!(
            names,
            [
                "unauthorized",
                "forbidden",
                "unprocessable",
                "out_of_credit",
                "server",
                "unexpected_status",
                "timeout",
                "tls",
                "network",
                "garbled"
            ]
        );
    }

    #[test]
    fn display_shows_code_and_message_only() {
        let texts: Vec<String> = all().iter().map(ToString::to_string).collect();
        assert_eq!(
            texts,
            [
                "API key rejected (401): E1: went wrong",
                "API key not allowed here (403): E1: went wrong",
                "request refused as invalid (422): E1: went wrong",
                "out of credit or rate-limited (429): E1: went wrong",
                "service error (503): E1: went wrong",
                "unexpected HTTP status 418: E1: went wrong",
                "no answer within 300 ms",
                "TLS failure: invalid peer certificate: UnknownIssuer",
                "network failure: connection refused",
                "garbled answer: the answer has no status",
            ]
        );
    }

    #[test]
    fn display_without_body_fields() {
        let e = ApiError::Unauthorized {
            code: None,
            message: None,
        };
        assert_eq!(e.to_string(), "API key rejected (401)");
        let e = ApiError::Server {
            status: 500,
            code: Some("X".into()),
            message: None,
        };
        assert_eq!(e.to_string(), "service error (500): X");
        let e = ApiError::OutOfCredit {
            code: None,
            message: Some("no credit".into()),
        };
        assert_eq!(
            e.to_string(),
            "out of credit or rate-limited (429): no credit"
        );
    }
}

//! The AIGEN API's JSON, read tolerantly (see `shared/aigen-liveness-api.md`).
//!
//! The vendor's tables and examples disagree on types, so this module accepts a
//! `request_id` that is a string or a number (and echoes it back exactly as received),
//! a `time_used` that is a number or a string, a missing or `null` `next_choice`,
//! values in any letter case, and extra fields. Nothing here performs IO.

use serde::{Deserialize, Serialize};

/// A session identifier exactly as the service sent it: a JSON string or number.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    Text(String),
    Number(serde_json::Number),
}

impl std::fmt::Debug for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestId::Text(s) => f.write_str(s),
            RequestId::Number(n) => write!(f, "{n}"),
        }
    }
}

/// `status` of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Processing,
    Uncompleted,
    Completed,
    /// Anything else: never a pass.
    Other(String),
}

/// `result` of an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Yes,
    No,
    Other(String),
}

/// One 200 answer of the service, GET or POST.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// Present on the GET answer; POST answers may omit it.
    pub request_id: Option<RequestId>,
    pub status: Status,
    pub result: Option<Outcome>,
    /// The action to show now; `None` when absent, `null` or empty.
    pub next_choice: Option<String>,
    pub time_used: Option<f64>,
    pub response_id: Option<String>,
}

/// An error body: `{detail, code, message}`; every field optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    /// `detail` flattened to text (it may be a string, an object or a list).
    pub detail: Option<String>,
}

/// The POST body that verifies one frame.
#[derive(Serialize)]
pub struct FrameRequest<'a> {
    pub request_id: &'a RequestId,
    /// Base64 of the JPEG.
    pub image: &'a str,
}

/// The POST body that asks for new actions.
#[derive(Serialize)]
pub struct RestartRequest<'a> {
    pub request_id: &'a RequestId,
    pub restart_id: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

#[derive(Deserialize)]
struct RawAnswer {
    #[serde(default)]
    request_id: Option<serde_json::Value>,
    #[serde(default)]
    status: Option<serde_json::Value>,
    #[serde(default)]
    result: Option<serde_json::Value>,
    #[serde(default)]
    next_choice: Option<serde_json::Value>,
    #[serde(default)]
    time_used: Option<serde_json::Value>,
    #[serde(default)]
    response_id: Option<serde_json::Value>,
}

fn text_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Answer {
    /// Parses a 200 body. A body without a readable `status` is an error: the caller
    /// treats it as a failure of the service, never as a pass.
    pub fn parse(body: &[u8]) -> Result<Answer, ParseError> {
        let raw: RawAnswer = serde_json::from_slice(body)
            .map_err(|e| ParseError(format!("not the expected JSON object: {e}")))?;
        let status = match raw.status.as_ref().and_then(text_of) {
            Some(s) if s.eq_ignore_ascii_case("processing") => Status::Processing,
            Some(s) if s.eq_ignore_ascii_case("uncompleted") => Status::Uncompleted,
            Some(s) if s.eq_ignore_ascii_case("completed") => Status::Completed,
            Some(s) if !s.is_empty() => Status::Other(s),
            _ => return Err(ParseError("the answer has no status".into())),
        };
        let result = raw
            .result
            .as_ref()
            .and_then(text_of)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.eq_ignore_ascii_case("yes") {
                    Outcome::Yes
                } else if s.eq_ignore_ascii_case("no") {
                    Outcome::No
                } else {
                    Outcome::Other(s)
                }
            });
        let request_id = match raw.request_id {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(RequestId::Text(s)),
            Some(serde_json::Value::Number(n)) => Some(RequestId::Number(n)),
            Some(other) => {
                return Err(ParseError(format!(
                    "request_id is neither a string nor a number: {}",
                    kind_of(&other)
                )))
            }
        };
        let next_choice = match raw.next_choice {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) if s.trim().is_empty() => None,
            Some(serde_json::Value::String(s)) => Some(s.trim().to_owned()),
            Some(other) => {
                return Err(ParseError(format!(
                    "next_choice is not a string: {}",
                    kind_of(&other)
                )))
            }
        };
        let time_used = raw.time_used.as_ref().and_then(|v| match v {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
        let response_id = raw.response_id.as_ref().and_then(text_of);
        Ok(Answer {
            request_id,
            status,
            result,
            next_choice,
            time_used,
            response_id,
        })
    }
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

impl ErrorBody {
    /// Reads an error body; anything unreadable gives an empty `ErrorBody`.
    pub fn parse(body: &[u8]) -> ErrorBody {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) else {
            return ErrorBody::default();
        };
        let short =
            |s: String| -> String { s.chars().filter(|c| !c.is_control()).take(200).collect() };
        let field = |k: &str| {
            map.get(k)
                .and_then(text_of)
                .filter(|s| !s.is_empty())
                .map(short)
        };
        let detail = match map.get("detail") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(short(s.clone())),
            Some(other) => Some(short(other.to_string())),
        };
        ErrorBody {
            code: field("code"),
            message: field("message"),
            detail,
        }
    }
}

//! The stand-in's HTTPS front: accept loop, TLS, HTTP/1.1, and the request handler.

use std::collections::VecDeque;
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use super::faults::{Fault, Faults};
use super::state::{DrawSpec, Refusal, SessionId, Sessions, Verdict};
use super::Recorded;
use crate::scene::{self, Seen};
use livegate_core::actions::{self, Part, ALL};
use livegate_core::secret::ApiKey;

/// The one path the service answers on.
pub(crate) const PATH: &str = "/aiface/liveness-detection/v1";
/// Largest request body read; bigger bodies get 413.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Largest `mode` accepted (the draw is held in memory).
pub(crate) const MAX_MODE: i64 = 100;
/// Images must be larger than this in both dimensions.
const MIN_SIDE: u32 = 112;
/// How many requests [`Shared::recorded`] keeps (the oldest are dropped).
const MAX_RECORDED: usize = 10_000;
/// A TLS handshake that takes longer is abandoned.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a `Hang` fault waits: far beyond any client timeout.
const HANG: Duration = Duration::from_secs(24 * 3600);

/// What the server tasks share with the [`super::Standin`] handle.
pub(crate) struct Shared {
    pub key: ApiKey,
    pub sessions: Mutex<Sessions>,
    pub recorded: Mutex<VecDeque<Recorded>>,
    pub faults: Faults,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped on purpose")]
pub(crate) struct DropConnection;

type Resp = Response<Full<Bytes>>;

/// Accepts connections until `stop` fires (or its sender is dropped), then aborts them.
pub(crate) async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    tracing::debug!(%peer, "stand-in: connection accepted");
                    conns.spawn(connection(tcp, peer, acceptor.clone(), Arc::clone(&shared)));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "stand-in: accept failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.shutdown().await;
    tracing::debug!("stand-in: stopped");
}

async fn connection(
    tcp: tokio::net::TcpStream,
    peer: SocketAddr,
    acceptor: TlsAcceptor,
    shared: Arc<Shared>,
) {
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "stand-in: TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!("stand-in: TLS handshake timed out");
            return;
        }
    };
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let shared = Arc::clone(&shared);
        async move { handle(&shared, peer, req).await }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(tls), service)
        .await;
    if let Err(e) = served {
        tracing::debug!(error = %e, "stand-in: connection ended with an error");
    }
}

/// What to do with a request.
enum Outcome {
    /// Answer this status and JSON.
    Json(StatusCode, Value),
    /// Answer this status and raw body (declared as JSON).
    Raw(StatusCode, &'static str),
    /// Close the connection.
    Drop,
    /// Never answer.
    Hang,
}

impl Outcome {
    fn status(&self) -> u16 {
        match self {
            Outcome::Json(s, _) | Outcome::Raw(s, _) => s.as_u16(),
            Outcome::Drop | Outcome::Hang => 0,
        }
    }
}

/// What the handler learnt about the image, for the record.
#[derive(Default)]
struct Notes {
    seen_text: Option<String>,
    seen: Option<Seen>,
}

async fn handle(
    shared: &Shared,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Resp, DropConnection> {
    let started = std::time::Instant::now();
    let (parts, body) = req.into_parts();
    let query = parse_query(parts.uri.query().unwrap_or(""));
    let key_ok = parts
        .headers
        .get("x-aigen-key")
        .is_some_and(|v| v.as_bytes() == shared.key.expose().as_bytes());
    let key_in_query = query.iter().any(|(k, _)| k == "aigen_key");
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(()),
        Err(e) => {
            tracing::debug!(error = %e, "stand-in: cannot read the request body");
            return Err(DropConnection);
        }
    };

    let mut notes = Notes::default();
    let outcome = match shared.faults.take_next() {
        Some(fault) => fault_outcome(fault),
        None => process(
            shared,
            &parts.method,
            parts.uri.path(),
            &query,
            key_ok,
            key_in_query,
            body.as_ref().ok(),
            &mut notes,
        ),
    };
    let status = outcome.status();
    tracing::debug!(method = %parts.method, path = parts.uri.path(), status, "stand-in: request");

    let recorded = Recorded {
        peer,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: query
            .into_iter()
            .map(|(k, v)| {
                let v = if k == "aigen_key" {
                    "***".to_owned()
                } else {
                    v
                };
                (k, v)
            })
            .collect(),
        key_ok,
        key_in_query,
        content_type,
        body: body.as_ref().ok().and_then(|b| summarize_body(b, &notes)),
        body_len: body.as_ref().map(|b| b.len()).unwrap_or(MAX_BODY),
        seen: notes.seen,
        status,
    };
    {
        let mut rec = lock(&shared.recorded);
        if rec.len() >= MAX_RECORDED {
            rec.pop_front();
        }
        rec.push_back(recorded);
    }

    let latency = shared.faults.latency();
    let json_answer = |status: StatusCode, mut v: Value| -> Resp {
        if status == StatusCode::OK {
            if let Value::Object(map) = &mut v {
                if map.contains_key("status") && !map.contains_key("time_used") {
                    map.insert("time_used".into(), json!(started.elapsed().as_secs_f64()));
                    map.insert(
                        "response_id".into(),
                        json!(uuid::Uuid::new_v4().to_string()),
                    );
                }
            }
        }
        let text = v.to_string();
        respond(status, Bytes::from(text))
    };
    let response = match outcome {
        Outcome::Json(s, v) => {
            let mut r = json_answer(s, v);
            if s == StatusCode::METHOD_NOT_ALLOWED {
                r.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET, POST"));
            }
            r
        }
        Outcome::Raw(s, text) => respond(s, Bytes::from_static(text.as_bytes())),
        Outcome::Drop => {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            return Err(DropConnection);
        }
        Outcome::Hang => {
            tokio::time::sleep(HANG).await;
            return Err(DropConnection);
        }
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    Ok(response)
}

fn respond(status: StatusCode, body: Bytes) -> Resp {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The body as recorded: JSON with `image` replaced by its length and what was seen in
/// it (never the bytes). `None` when the body is empty or not JSON.
fn summarize_body(body: &Bytes, notes: &Notes) -> Option<Value> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    if let Value::Object(map) = &mut v {
        if let Some(image) = map.get_mut("image") {
            let summary = match &*image {
                Value::String(s) => json!({
                    "base64_len": s.len(),
                    "seen": notes.seen_text.clone().unwrap_or_else(|| "not examined".into()),
                }),
                Value::Null => Value::Null,
                other => json!({ "kind": kind_of(other) }),
            };
            *image = summary;
        }
    }
    Some(v)
}

/// The answer a fault dictates.
fn fault_outcome(fault: Fault) -> Outcome {
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = status.canonical_reason().unwrap_or("Error");
            let (code, message) = match status.as_u16() {
                401 => (
                    "UNAUTHORIZED",
                    "The x-aigen-key header is missing or does not hold a valid key",
                ),
                403 => ("FORBIDDEN", "This key may not use this endpoint"),
                422 => (
                    "VALIDATION_ERROR",
                    "The request is missing or has invalid input",
                ),
                429 => ("OUT_OF_CREDIT", "credits exhausted"),
                500..=599 => ("SERVER_ERROR", "The service failed; try again later"),
                _ => ("ERROR", "The request failed"),
            };
            let detail = match status.as_u16() {
                401 => "Invalid or missing API key",
                429 => "credits exhausted",
                _ => reason,
            };
            Outcome::Json(
                status,
                json!({ "detail": detail, "code": code, "message": message }),
            )
        }
        Fault::Garbled => Outcome::Raw(StatusCode::OK, r#"{"status": "proc"#),
        Fault::WrongTypes => Outcome::Json(
            StatusCode::OK,
            json!({
                "status": 5,
                "result": true,
                "next_choice": [1],
                "time_used": "soon",
                "response_id": {"id": null},
            }),
        ),
        Fault::Drop => Outcome::Drop,
        Fault::Hang => Outcome::Hang,
    }
}

fn error(status: StatusCode, code: &str, message: impl Into<String>, detail: Value) -> Outcome {
    Outcome::Json(
        status,
        json!({ "detail": detail, "code": code, "message": message.into() }),
    )
}

/// One FastAPI-style validation error item.
fn invalid(kind: &str, loc: Value, msg: &str, input: Value) -> Value {
    json!({ "type": kind, "loc": loc, "msg": msg, "input": input })
}

/// A 422 with a FastAPI-style `detail` list.
fn validation(items: Vec<Value>) -> Outcome {
    let message = items
        .iter()
        .map(|i| {
            let loc = i["loc"]
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|p| match p {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .unwrap_or_default();
            format!("{loc}: {}", i["msg"].as_str().unwrap_or("invalid"))
        })
        .collect::<Vec<_>>()
        .join("; ");
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "VALIDATION_ERROR",
        message,
        Value::Array(items),
    )
}

/// A user-sent string shortened for an error body.
fn echo(s: &str) -> Value {
    Value::String(s.chars().take(100).collect())
}

#[allow(clippy::too_many_arguments)]
fn process(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &[(String, String)],
    key_ok: bool,
    key_in_query: bool,
    body: Option<&Bytes>,
    notes: &mut Notes,
) -> Outcome {
    if !key_ok {
        let message = if key_in_query {
            "The x-aigen-key header is missing or does not hold a valid key; \
             a key in the aigen_key query parameter is not accepted"
        } else {
            "The x-aigen-key header is missing or does not hold a valid key"
        };
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            message,
            json!("Invalid or missing API key"),
        );
    }
    if path != PATH {
        return error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("No endpoint here; the service answers on {PATH}"),
            json!("Not Found"),
        );
    }
    match *method {
        Method::GET => get(shared, query),
        Method::POST => match body {
            Some(body) => post(shared, body, notes),
            None => error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                format!("The request body is larger than {MAX_BODY} bytes"),
                json!("Request Entity Too Large"),
            ),
        },
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "Use GET to draw actions and POST to verify an image",
            json!("Method Not Allowed"),
        ),
    }
}

/// The draw a GET query asks for, or the validation errors it has.
pub(crate) fn parse_draw(query: &[(String, String)]) -> Result<DrawSpec, Vec<Value>> {
    let last = |name: &str| {
        query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut errors = Vec::new();
    let mode = match last("mode") {
        None => {
            errors.push(invalid(
                "missing",
                json!(["query", "mode"]),
                "Field required",
                Value::Null,
            ));
            None
        }
        Some(raw) => match raw.trim().parse::<i64>() {
            Err(_) => {
                errors.push(invalid(
                    "int_parsing",
                    json!(["query", "mode"]),
                    "Input should be a valid integer, unable to parse string as an integer",
                    echo(raw),
                ));
                None
            }
            Ok(n) if n < 1 => {
                let mut e = invalid(
                    "greater_than_equal",
                    json!(["query", "mode"]),
                    "Input should be greater than or equal to 1",
                    echo(raw),
                );
                e["ctx"] = json!({ "ge": 1 });
                errors.push(e);
                None
            }
            Ok(n) if n > MAX_MODE => {
                let mut e = invalid(
                    "less_than_equal",
                    json!(["query", "mode"]),
                    &format!("Input should be less than or equal to {MAX_MODE}"),
                    echo(raw),
                );
                e["ctx"] = json!({ "le": MAX_MODE });
                errors.push(e);
                None
            }
            Ok(n) => u32::try_from(n).ok(),
        },
    };
    let part = match last("part") {
        None => None,
        Some(raw) if raw.eq_ignore_ascii_case("face") => Some(Part::Face),
        Some(raw) if raw.eq_ignore_ascii_case("hand") => Some(Part::Hand),
        Some(raw) => {
            let mut e = invalid(
                "enum",
                json!(["query", "part"]),
                "Input should be 'face' or 'hand'",
                echo(raw),
            );
            e["ctx"] = json!({ "expected": "'face' or 'hand'" });
            errors.push(e);
            None
        }
    };
    let mut select = Vec::new();
    for (i, raw) in query
        .iter()
        .filter(|(k, _)| k == "select")
        .map(|(_, v)| v)
        .enumerate()
    {
        match actions::index_of(raw.trim()) {
            Some(idx) => select.push(ALL[idx]),
            None => errors.push(invalid(
                "enum",
                json!(["query", "select", i]),
                "Input should be a known action name",
                echo(raw),
            )),
        }
    }
    match mode {
        Some(mode) if errors.is_empty() => Ok(DrawSpec { mode, part, select }),
        _ => Err(errors),
    }
}

fn get(shared: &Shared, query: &[(String, String)]) -> Outcome {
    let spec = match parse_draw(query) {
        Ok(spec) => spec,
        Err(errors) => return validation(errors),
    };
    let numeric = shared.faults.numeric_request_ids();
    let (id, first) = lock(&shared.sessions).create(spec, numeric);
    Outcome::Json(
        StatusCode::OK,
        json!({
            "request_id": id.to_json(),
            "status": "processing",
            "next_choice": first,
        }),
    )
}

/// Why an image was refused.
#[derive(Debug, PartialEq, Eq)]
enum ImageProblem {
    Base64,
    Undecodable(String),
    TooSmall(u32, u32),
}

/// Decodes the base64 image and reads its scene.
fn examine(b64: &str) -> Result<Seen, ImageProblem> {
    let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| ImageProblem::Base64)?;
    let reader = image::ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|e| ImageProblem::Undecodable(e.to_string()))?;
    if reader.format().is_none() {
        return Err(ImageProblem::Undecodable("not a PNG or JPEG image".into()));
    }
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| ImageProblem::Undecodable(e.to_string()))?;
    if w <= MIN_SIDE || h <= MIN_SIDE {
        return Err(ImageProblem::TooSmall(w, h));
    }
    match scene::read(&bytes) {
        Ok(seen) => Ok(seen),
        // A valid image the scene reader cannot take (a PNG, say) carries no marker.
        Err(e) => match image::load_from_memory(&bytes) {
            Ok(_) => Ok(Seen::Unreadable),
            Err(_) => Err(ImageProblem::Undecodable(e.to_string())),
        },
    }
}

fn refusal(r: Refusal) -> Outcome {
    match r {
        Refusal::NotFound => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "REQUEST_NOT_FOUND",
            "No liveness session has this request_id",
            json!("request_id not found"),
        ),
        Refusal::Expired => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "REQUEST_EXPIRED",
            "This request_id has expired after too many failures; draw new actions with GET",
            json!("request_id expired"),
        ),
    }
}

fn verdict(v: Verdict) -> Outcome {
    Outcome::Json(
        StatusCode::OK,
        json!({ "result": v.result, "status": v.status, "next_choice": v.next_choice }),
    )
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

fn post(shared: &Shared, body: &Bytes, notes: &mut Notes) -> Outcome {
    let parsed: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            let mut item = invalid(
                "json_invalid",
                json!(["body", e.column()]),
                "JSON decode error",
                json!({}),
            );
            item["ctx"] = json!({ "error": e.to_string() });
            return validation(vec![item]);
        }
    };
    let Value::Object(map) = parsed else {
        return validation(vec![invalid(
            "model_attributes_type",
            json!(["body"]),
            "Input should be a valid dictionary or object to extract fields from",
            parsed,
        )]);
    };
    let numeric = shared.faults.numeric_request_ids();
    let mut errors = Vec::new();
    let id = match map.get("request_id") {
        None | Some(Value::Null) => {
            errors.push(invalid(
                "missing",
                json!(["body", "request_id"]),
                "Field required",
                Value::Null,
            ));
            None
        }
        Some(Value::String(s)) if !numeric => Some(SessionId::Text(s.clone())),
        Some(Value::Number(n)) if numeric && n.as_u64().is_some() => {
            n.as_u64().map(SessionId::Number)
        }
        Some(other) => {
            let (kind, msg) = if numeric {
                ("int_type", "Input should be a valid integer")
            } else {
                ("string_type", "Input should be a valid string")
            };
            errors.push(invalid(
                kind,
                json!(["body", "request_id"]),
                msg,
                other.clone(),
            ));
            None
        }
    };
    let restart = match map.get("restart_id") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            errors.push(invalid(
                "bool_type",
                json!(["body", "restart_id"]),
                "Input should be a valid boolean",
                other.clone(),
            ));
            false
        }
    };
    let image = match map.get("image") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => {
            errors.push(invalid(
                "string_type",
                json!(["body", "image"]),
                "Input should be a valid string",
                json!(kind_of(other)),
            ));
            None
        }
    };
    let Some(id) = id.filter(|_| errors.is_empty()) else {
        return validation(errors);
    };

    let examined = if restart {
        None
    } else {
        image.map(|b64| {
            let r = examine(b64);
            notes.seen_text = Some(match &r {
                Ok(seen) => format!("{seen:?}"),
                Err(ImageProblem::Base64) => "invalid base64".into(),
                Err(ImageProblem::Undecodable(why)) => format!("undecodable: {why}"),
                Err(ImageProblem::TooSmall(w, h)) => format!("too small: {w}x{h}"),
            });
            notes.seen = r.as_ref().ok().copied();
            r
        })
    };

    let mut sessions = lock(&shared.sessions);
    match sessions.over(&id) {
        Err(r) => return refusal(r),
        Ok(Some(v)) => return verdict(v),
        Ok(None) => {}
    }
    if restart {
        return match sessions.restart(&id) {
            Ok(v) => verdict(v),
            Err(r) => refusal(r),
        };
    }
    let seen = match examined {
        None => {
            return validation(vec![invalid(
                "missing",
                json!(["body", "image"]),
                "Field required",
                Value::Null,
            )])
        }
        Some(Err(problem)) => {
            let message = match problem {
                ImageProblem::Base64 => "image is not valid base64".to_owned(),
                ImageProblem::Undecodable(_) => "image could not be decoded".to_owned(),
                ImageProblem::TooSmall(w, h) => {
                    format!("image is {w}x{h}; it must be larger than {MIN_SIDE}x{MIN_SIDE}")
                }
            };
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_IMAGE",
                message.clone(),
                Value::String(message),
            );
        }
        Some(Ok(seen)) => seen,
    };
    match sessions.verify(&id, seen) {
        Ok(v) => verdict(v),
        Err(r) => refusal(r),
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space; a bad `%` escape
/// stays as it is; invalid UTF-8 is replaced).
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (
                b.get(i + 1).and_then(|c| hex(*c)),
                b.get(i + 2).and_then(|c| hex(*c)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits a query string into decoded `(name, value)` pairs, in order.
pub(crate) fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Vec<(String, String)> {
        parse_query(s)
    }

    #[test]
    fn query_decoding() {
        assert_eq!(
            q("mode=3&part=face&select=Turn_right&&x&select=a%20b+c%zz%4"),
            vec![
                ("mode".to_owned(), "3".to_owned()),
                ("part".to_owned(), "face".to_owned()),
                ("select".to_owned(), "Turn_right".to_owned()),
                ("x".to_owned(), String::new()),
                ("select".to_owned(), "a b c%zz%4".to_owned()),
            ]
        );
        assert_eq!(percent_decode("%C3%A9%FF"), "é\u{FFFD}");
    }

    #[test]
    fn draw_spec_from_query() {
        let spec = parse_draw(&q("mode=2&part=HAND&select=smile&select=Look_up")).expect("ok");
        assert_eq!(spec.mode, 2);
        assert_eq!(spec.part, Some(Part::Hand));
        assert_eq!(spec.select, vec!["Smile", "Look_up"]);
        let errs = parse_draw(&q("part=foot&select=Fly&select=Smile&select=")).expect_err("bad");
        let kinds: Vec<_> = errs.iter().map(|e| e["type"].clone()).collect();
        assert_eq!(
            kinds,
            vec![
                json!("missing"),
                json!("enum"),
                json!("enum"),
                json!("enum")
            ]
        );
        assert_eq!(errs[2]["loc"], json!(["query", "select", 0]));
        assert_eq!(errs[3]["loc"], json!(["query", "select", 2]));
        for bad in [
            "mode=0",
            "mode=-3",
            "mode=x",
            "mode=101",
            "mode=99999999999999999999",
        ] {
            assert!(parse_draw(&q(bad)).is_err(), "{bad}");
        }
        assert_eq!(parse_draw(&q("mode=1&mode=100")).expect("ok").mode, 100);
    }

    #[test]
    fn examine_refuses_bad_input() {
        assert_eq!(examine("!!!"), Err(ImageProblem::Base64));
        let not_image = base64::engine::general_purpose::STANDARD.encode(b"hello world");
        assert!(matches!(
            examine(&not_image),
            Err(ImageProblem::Undecodable(_))
        ));
        let mut png = Vec::new();
        image::RgbImage::new(112, 200)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
        assert_eq!(examine(&b64), Err(ImageProblem::TooSmall(112, 200)));
        let mut png = Vec::new();
        image::RgbImage::new(113, 113)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&png);
        // A plain PNG decodes but has no scene marker; whitespace in base64 is ignored.
        let wrapped = format!("{}\n{}", &b64[..10], &b64[10..]);
        assert_eq!(examine(&wrapped), Ok(Seen::Unreadable));
    }

    #[test]
    fn fault_bodies() {
        let Outcome::Json(s, v) = fault_outcome(Fault::Status(429)) else {
            panic!("json")
        };
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(v["code"], "OUT_OF_CREDIT");
        let Outcome::Json(s, v) = fault_outcome(Fault::Status(1000)) else {
            panic!("json")
        };
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(v["code"], "SERVER_ERROR");
        assert_eq!(fault_outcome(Fault::Drop).status(), 0);
        assert_eq!(fault_outcome(Fault::Hang).status(), 0);
        let Outcome::Raw(_, text) = fault_outcome(Fault::Garbled) else {
            panic!("raw")
        };
        assert!(serde_json::from_str::<Value>(text).is_err());
    }
}

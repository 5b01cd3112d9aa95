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
            // For people (logs, events, the terminal): the id as sent, made safe. The
            // wire form is the serde one, unchanged.
            RequestId::Text(s) => f.write_str(&crate::untrusted::clean(s)),
            RequestId::Number(n) => f.write_str(&crate::untrusted::clean(&n.to_string())),
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

/// A string, number or boolean as text, without the ASCII white space around it (and
/// only that: a no-break space or a zero-width character stays, so `"Yes\u{a0}"` is not
/// `Yes`).
fn text_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => {
            Some(s.trim_matches(|c: char| c.is_ascii_whitespace()).to_owned())
        }
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Answer {
    /// Parses a 200 body. A body without a readable `status` is an error: the caller
    /// treats it as a failure of the service, never as a pass.
    pub fn parse(body: &[u8]) -> Result<Answer, ParseError> {
        let raw: RawAnswer = serde_json::from_slice(body).map_err(|e| {
            // Position and category only: serde's own text can quote the body.
            let what = match e.classify() {
                serde_json::error::Category::Io => "unreadable",
                serde_json::error::Category::Syntax => "not JSON",
                serde_json::error::Category::Data => "not a JSON object of the expected shape",
                serde_json::error::Category::Eof => "cut short",
            };
            ParseError(format!(
                "the answer is {what} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let status = match raw.status.as_ref().and_then(text_of) {
            Some(s) if s.eq_ignore_ascii_case("processing") => Status::Processing,
            Some(s) if s.eq_ignore_ascii_case("uncompleted") => Status::Uncompleted,
            Some(s) if s.eq_ignore_ascii_case("completed") => Status::Completed,
            Some(s) if !s.is_empty() => Status::Other(crate::untrusted::clean(&s)),
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
                    Outcome::Other(crate::untrusted::clean(&s))
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
            Some(serde_json::Value::String(s)) if !is_action_name(s.trim()) => {
                return Err(ParseError(format!(
                    "next_choice is not an action name ({} characters; expected at most {MAX_ACTION_LEN} of A-Z, a-z, 0-9, _ and -)",
                    s.chars().count()
                )))
            }
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
        let response_id = raw
            .response_id
            .as_ref()
            .and_then(text_of)
            .map(|s| crate::untrusted::clean(&s));
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

/// The longest action name accepted from the service.
pub const MAX_ACTION_LEN: usize = 64;

/// Whether `s` looks like an action name: short, letters, digits, `_` and `-` only. A
/// hostile or broken answer cannot flood the screen, the logs or the audit line.
pub fn is_action_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ACTION_LEN
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
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
        let short = |s: String| -> String { crate::untrusted::clean(&s) };
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

#[cfg(test)]
mod tests {
    use super::*;

    const GET_EXAMPLE: &str = r#"{
  "request_id": "c404bb92-a283-11ee-adb8-0e7122b5bec0",
  "status": "processing",
  "next_choice": "Turn_right",
  "time_used": 0.0000438690185546875,
  "response_id": "b3b6d238-d920-4d5e-8462-baf33375fb71"
}"#;

    const POST_EXAMPLE: &str = r#"{
  "result": "Yes",
  "status": "completed",
  "next_choice": "",
  "time_used": 0.0000438690185546875,
  "response_id": "b3b6d238-d920-4d5e-8462-baf33375fb71"
}"#;

    fn parse(s: &str) -> Answer {
        Answer::parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn get_example_parses_exactly() {
        assert_eq!(
            parse(GET_EXAMPLE),
            Answer {
                request_id: Some(RequestId::Text(
                    "c404bb92-a283-11ee-adb8-0e7122b5bec0".into()
                )),
                status: Status::Processing,
                result: None,
                next_choice: Some("Turn_right".into()),
                time_used: Some(0.0000438690185546875),
                response_id: Some("b3b6d238-d920-4d5e-8462-baf33375fb71".into()),
            }
        );
    }

    #[test]
    fn post_example_parses_exactly() {
        assert_eq!(
            parse(POST_EXAMPLE),
            Answer {
                request_id: None,
                status: Status::Completed,
                result: Some(Outcome::Yes),
                next_choice: None,
                time_used: Some(0.0000438690185546875),
                response_id: Some("b3b6d238-d920-4d5e-8462-baf33375fb71".into()),
            }
        );
    }

    #[test]
    fn numeric_request_id_stays_a_number() {
        let a = parse(r#"{"request_id": 12345678901234, "status": "processing"}"#);
        let id = a.request_id.unwrap();
        assert_eq!(id, RequestId::Number(12345678901234u64.into()));
        assert_eq!(serde_json::to_string(&id).unwrap(), "12345678901234");
        assert_eq!(id.to_string(), "12345678901234");
        let f = parse(r#"{"request_id": 1.5, "status": "processing"}"#);
        assert_eq!(
            serde_json::to_string(&f.request_id.unwrap()).unwrap(),
            "1.5"
        );
        let s = parse(r#"{"request_id": "12", "status": "processing"}"#);
        assert_eq!(
            serde_json::to_string(&s.request_id.unwrap()).unwrap(),
            r#""12""#
        );
    }

    #[test]
    fn a_numeric_request_id_beyond_64_bits_is_echoed_digit_for_digit() {
        // (An exponent is written back normalised, 7e3 as 7e+3: no id looks like that.)
        for raw in [
            "123456789012345678901234567890",
            "18446744073709551616",
            "1.50",
            "-7",
        ] {
            let a = parse(&format!(
                r#"{{"request_id": {raw}, "status": "processing"}}"#
            ));
            let id = a.request_id.unwrap();
            assert_eq!(serde_json::to_string(&id).unwrap(), raw);
            assert_eq!(id.to_string(), raw);
            let body = serde_json::to_string(&FrameRequest {
                request_id: &id,
                image: "QUJD",
            })
            .unwrap();
            assert_eq!(body, format!(r#"{{"request_id":{raw},"image":"QUJD"}}"#));
        }
    }

    #[test]
    fn request_id_string_kept_verbatim() {
        let a = parse(r#"{"request_id": " a b ", "status": "processing"}"#);
        assert_eq!(a.request_id, Some(RequestId::Text(" a b ".into())));
    }

    #[test]
    fn request_id_null_is_none() {
        assert_eq!(
            parse(r#"{"request_id": null, "status": "processing"}"#).request_id,
            None
        );
    }

    #[test]
    fn time_used_string_or_number() {
        assert_eq!(
            parse(r#"{"status":"processing","time_used":"0.25"}"#).time_used,
            Some(0.25)
        );
        assert_eq!(
            parse(r#"{"status":"processing","time_used":2}"#).time_used,
            Some(2.0)
        );
        assert_eq!(
            parse(r#"{"status":"processing","time_used":"n/a"}"#).time_used,
            None
        );
        assert_eq!(
            parse(r#"{"status":"processing","time_used":{}}"#).time_used,
            None
        );
        assert_eq!(parse(r#"{"status":"processing"}"#).time_used, None);
    }

    #[test]
    fn next_choice_missing_null_or_empty_is_none() {
        assert_eq!(parse(r#"{"status":"processing"}"#).next_choice, None);
        assert_eq!(
            parse(r#"{"status":"processing","next_choice":null}"#).next_choice,
            None
        );
        assert_eq!(
            parse(r#"{"status":"processing","next_choice":""}"#).next_choice,
            None
        );
        assert_eq!(
            parse(r#"{"status":"processing","next_choice":"  "}"#).next_choice,
            None
        );
        assert_eq!(
            parse(r#"{"status":"processing","next_choice":" Smile "}"#).next_choice,
            Some("Smile".into())
        );
        assert!(Answer::parse(br#"{"status":"processing","next_choice":3.5}"#).is_err());
    }

    #[test]
    fn values_compare_case_insensitively() {
        let a = parse(r#"{"status":"Completed","result":"YES"}"#);
        assert_eq!(a.status, Status::Completed);
        assert_eq!(a.result, Some(Outcome::Yes));
        let b = parse(r#"{"status":"PROCESSING","result":"no"}"#);
        assert_eq!(b.status, Status::Processing);
        assert_eq!(b.result, Some(Outcome::No));
        assert_eq!(
            parse(r#"{"status":"UnCompleted"}"#).status,
            Status::Uncompleted
        );
    }

    #[test]
    fn lookalike_answers_tolerated_and_refused() {
        // Tolerated: the vendor's letter case and ASCII white space around the word.
        for ok in [r#""yes""#, r#""YES ""#, r#""\tYes\r\n""#] {
            let a = parse(&format!(r#"{{"status":" completed ","result":{ok}}}"#));
            assert_eq!(
                (a.status, a.result),
                (Status::Completed, Some(Outcome::Yes)),
                "{ok}"
            );
        }
        // Refused: other Unicode white space and invisible format characters around
        // or inside `Yes` (no-break space, zero-width space, BOM, bidi marks, an
        // ideographic space, a Cyrillic lookalike): never a `Yes`, shown escaped.
        for (raw, shown) in [
            (r"Yes\u00a0", "Yes\\u{a0}"),
            (r"\u00a0Yes", "\\u{a0}Yes"),
            (r"Yes\u200b", "Yes\\u{200b}"),
            (r"\ufeffYes", "\\u{feff}Yes"),
            (r"Yes\u200e", "Yes\\u{200e}"),
            (r"Yes\u3000", "Yes\\u{3000}"),
            (r"Y\u0435s", "Y\u{435}s"),
        ] {
            let a = parse(&format!(r#"{{"status":"completed","result":"{raw}"}}"#));
            assert_eq!(a.result, Some(Outcome::Other(shown.into())), "{raw}");
        }
        for raw in [r"completed\u00a0", r"\u200bcompleted", r"complet\u00e9d"] {
            let a = parse(&format!(r#"{{"status":"{raw}","result":"Yes"}}"#));
            assert!(
                matches!(a.status, Status::Other(_)),
                "{raw}: {:?}",
                a.status
            );
        }
        // A final answer without request_id: tolerated (the vendor's POST example has
        // none; the core checks it answers the frame in flight).
        assert_eq!(parse(POST_EXAMPLE).request_id, None);
    }

    #[test]
    fn strings_from_the_service_are_kept_only_made_safe() {
        let a = parse(
            r#"{"status":"paus\u001b[2Jed\nx","result":"m\u0000","response_id":"r\nforged"}"#,
        );
        assert_eq!(a.status, Status::Other("paus\\u{1b}[2Jed\\nx".into()));
        assert_eq!(a.result, Some(Outcome::Other("m\\u{0}".into())));
        assert_eq!(a.response_id.as_deref(), Some("r\\nforged"));
        // The id is echoed to the service exactly, shown to people escaped.
        let b = parse(r#"{"status":"processing","request_id":"a\nb\u001b"}"#);
        let id = b.request_id.unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""a\nb\u001b""#);
        assert_eq!(id.to_string(), "a\\nb\\u{1b}");
        assert_eq!(format!("{id:?}"), "a\\nb\\u{1b}");
    }

    #[test]
    fn unknown_values_are_other() {
        let a = parse(r#"{"status":"paused","result":"maybe"}"#);
        assert_eq!(a.status, Status::Other("paused".into()));
        assert_eq!(a.result, Some(Outcome::Other("maybe".into())));
        assert_eq!(parse(r#"{"status":"processing","result":""}"#).result, None);
        assert_eq!(
            parse(r#"{"status":"processing","result":null}"#).result,
            None
        );
    }

    #[test]
    fn missing_or_unreadable_status_is_an_error() {
        for body in [
            r#"{"result":"Yes","next_choice":""}"#,
            r#"{"status":null,"result":"Yes"}"#,
            r#"{"status":"","result":"Yes"}"#,
            r#"{"status":{"x":1},"result":"Yes"}"#,
        ] {
            assert!(Answer::parse(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn non_objects_are_errors() {
        for body in [
            "[]",
            "\"completed\"",
            "null",
            "42",
            "",
            "<html>",
            "{\"status\":",
        ] {
            assert!(Answer::parse(body.as_bytes()).is_err(), "{body:?}");
        }
    }

    #[test]
    fn extra_fields_are_ignored() {
        let a =
            parse(r#"{"status":"processing","next_choice":"Smile","extra":{"a":[1,2]},"n":null}"#);
        assert_eq!(a.status, Status::Processing);
        assert_eq!(a.next_choice.as_deref(), Some("Smile"));
    }

    #[test]
    fn request_id_of_wrong_type_is_an_error() {
        for body in [
            r#"{"request_id":{"id":"x"},"status":"processing"}"#,
            r#"{"request_id":["x"],"status":"processing"}"#,
            r#"{"request_id":true,"status":"processing"}"#,
        ] {
            let e = Answer::parse(body.as_bytes()).unwrap_err();
            assert!(e.0.contains("request_id"), "{e}");
        }
    }

    #[test]
    fn error_body_with_string_detail() {
        let e =
            ErrorBody::parse(br#"{"detail":"request_id not found","code":"E404","message":"bad"}"#);
        assert_eq!(
            e,
            ErrorBody {
                code: Some("E404".into()),
                message: Some("bad".into()),
                detail: Some("request_id not found".into()),
            }
        );
    }

    #[test]
    fn error_body_with_object_detail() {
        let e = ErrorBody::parse(br#"{"detail":{"reason":"expired"}}"#);
        assert_eq!(e.code, None);
        assert_eq!(e.message, None);
        assert_eq!(e.detail.as_deref(), Some(r#"{"reason":"expired"}"#));
    }

    #[test]
    fn error_body_with_fastapi_list_detail() {
        let e = ErrorBody::parse(
            br#"{"detail":[{"loc":["query","mode"],"msg":"field required","type":"value_error.missing"}]}"#,
        );
        let d = e.detail.unwrap();
        assert!(d.starts_with('['), "{d}");
        assert!(d.contains("field required"), "{d}");
        assert!(d.contains("mode"), "{d}");
    }

    #[test]
    fn error_body_unreadable_is_empty_and_long_text_is_cut() {
        assert_eq!(ErrorBody::parse(b"<html>502</html>"), ErrorBody::default());
        assert_eq!(ErrorBody::parse(b"[1,2]"), ErrorBody::default());
        let long = format!(r#"{{"message":"{}\nx","code":7}}"#, "m".repeat(500));
        let e = ErrorBody::parse(long.as_bytes());
        let m = e.message.unwrap();
        assert_eq!(m.chars().count(), crate::untrusted::MAX_CHARS + 1);
        assert!(m.ends_with('…') && !m.contains('\n'), "{m}");
        assert_eq!(e.code.as_deref(), Some("7"));
    }

    #[test]
    fn frame_request_serialises_exactly() {
        let id = RequestId::Text("c404\"bb92".into());
        let body = serde_json::to_string(&FrameRequest {
            request_id: &id,
            image: "/9j/4AAQ",
        })
        .unwrap();
        assert_eq!(body, r#"{"request_id":"c404\"bb92","image":"/9j/4AAQ"}"#);
        let num = RequestId::Number(42.into());
        let body = serde_json::to_string(&FrameRequest {
            request_id: &num,
            image: "",
        })
        .unwrap();
        assert_eq!(body, r#"{"request_id":42,"image":""}"#);
    }

    #[test]
    fn restart_request_serialises_exactly() {
        let id = RequestId::Text("abc".into());
        let body = serde_json::to_string(&RestartRequest {
            request_id: &id,
            restart_id: true,
        })
        .unwrap();
        assert_eq!(body, r#"{"request_id":"abc","restart_id":true}"#);
        let num = RequestId::Number(7.into());
        let body = serde_json::to_string(&RestartRequest {
            request_id: &num,
            restart_id: true,
        })
        .unwrap();
        assert_eq!(body, r#"{"request_id":7,"restart_id":true}"#);
    }

    #[test]
    fn next_choice_must_look_like_an_action_name() {
        let ok =
            Answer::parse(br#"{"status":"processing","next_choice":"Some-new_action2"}"#).unwrap();
        assert_eq!(ok.next_choice.as_deref(), Some("Some-new_action2"));
        for bad in [
            format!(
                r#"{{"status":"processing","next_choice":"{}"}}"#,
                "x".repeat(65)
            ),
            r#"{"status":"processing","next_choice":"Turn left\nnow"}"#.to_owned(),
            r#"{"status":"processing","next_choice":"<b>"}"#.to_owned(),
        ] {
            assert!(Answer::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn parse_errors_never_quote_the_body() {
        let secretish = format!(r#""{}""#, "s3cr3t".repeat(100));
        let e = Answer::parse(secretish.as_bytes()).unwrap_err();
        assert!(!e.0.contains("s3cr3t"), "{}", e.0);
        assert!(e.0.contains("line 1"), "{}", e.0);
    }
}

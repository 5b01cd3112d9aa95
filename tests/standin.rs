//! The AIGEN API stand-in over real HTTPS on loopback, trusting exactly its CA.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use livegate::actions::{self, Part, ALL, FACE};
use livegate::camera::scene::{self, Seen, Subject};
use livegate::standin::{
    Fault, Phase, SessionId, Standin, StandinOptions, API_PATH, FIRST_NUMERIC_ID,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde_json::{json, Value};

const KEY: &str = "standin-key";

fn tls_config(ca_pem: &[u8]) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert.expect("pem")).expect("root");
    }
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    cfg
}

fn client_with(ca_pem: &[u8], timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(ca_pem))
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("client")
}

fn client(s: &Standin) -> reqwest::Client {
    client_with(s.ca_pem(), Duration::from_secs(20))
}

async fn start(opts: StandinOptions) -> (Standin, reqwest::Client) {
    let s = Standin::start(opts).await.expect("start");
    let c = client(&s);
    (s, c)
}

fn seeded(seed: u64) -> StandinOptions {
    StandinOptions {
        seed: Some(seed),
        ..StandinOptions::default()
    }
}

/// Status and JSON body (panics if the body is not JSON).
async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let bytes = r.bytes().await.expect("body");
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
    (status, v)
}

async fn get(c: &reqwest::Client, s: &Standin, query: &str) -> (u16, Value) {
    let r = c
        .get(format!("{}?{query}", s.url()))
        .header("x-aigen-key", KEY)
        .send()
        .await
        .expect("send");
    json_of(r).await
}

async fn post(c: &reqwest::Client, s: &Standin, body: &Value) -> (u16, Value) {
    post_raw(c, s, body.to_string().into_bytes()).await
}

async fn post_raw(c: &reqwest::Client, s: &Standin, body: Vec<u8>) -> (u16, Value) {
    let r = c
        .post(s.url())
        .header("x-aigen-key", KEY)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    json_of(r).await
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn picture(subject: Subject) -> String {
    b64(&scene::render(640, 480, subject, 85).expect("scene::render"))
}

fn doing(name: &str) -> Subject {
    Subject::Doing(actions::index_of(name).expect("known action"))
}

fn image_post(rid: &Value, subject: Subject) -> Value {
    json!({ "request_id": rid, "image": picture(subject) })
}

fn assert_uuid_v4(v: &Value) {
    let s = v.as_str().expect("uuid string");
    let u = uuid::Uuid::parse_str(s).expect("uuid");
    assert_eq!(u.get_version_num(), 4, "{s}");
}

/// A 200 answer of a POST: exactly these fields plus `time_used` and `response_id`.
fn assert_post_answer(v: &Value, result: &str, status: &str, next: &str) {
    assert_eq!(v["result"], result, "{v}");
    assert_eq!(v["status"], status, "{v}");
    assert_eq!(v["next_choice"], next, "{v}");
    assert!(v["time_used"].as_f64().is_some_and(|t| t >= 0.0), "{v}");
    assert_uuid_v4(&v["response_id"]);
    assert!(
        v.get("request_id").is_none(),
        "POST answers carry no request_id: {v}"
    );
    assert_eq!(v.as_object().map(|m| m.len()), Some(5), "{v}");
}

fn assert_error(v: &Value, code: &str) {
    assert_eq!(v["code"], code, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    assert!(!v["detail"].is_null(), "{v}");
}

/// A FastAPI-style 422 whose `detail` list holds one item of this type at this place.
fn assert_validation(v: &Value, kind: &str, loc: Value) {
    assert_error(v, "VALIDATION_ERROR");
    let items = v["detail"].as_array().expect("detail list");
    assert!(
        items.iter().any(|i| i["type"] == kind && i["loc"] == loc),
        "no {kind} at {loc}: {v}"
    );
    for i in items {
        assert!(i["msg"].as_str().is_some(), "{v}");
    }
}

/// A session and its first action.
async fn begin(c: &reqwest::Client, s: &Standin, query: &str) -> (Value, String) {
    let (st, v) = get(c, s, query).await;
    assert_eq!(st, 200, "{v}");
    (
        v["request_id"].clone(),
        v["next_choice"].as_str().expect("next_choice").to_owned(),
    )
}

#[tokio::test]
async fn the_key_must_be_in_the_header() {
    let (s, c) = start(StandinOptions::default()).await;
    let base = s.url();
    let no_key = c.get(format!("{base}?mode=1")).send().await.expect("send");
    let wrong = c
        .get(format!("{base}?mode=1"))
        .header("x-aigen-key", "standin-kez")
        .send()
        .await
        .expect("send");
    let in_query = c
        .get(format!("{base}?mode=1&aigen_key={KEY}"))
        .send()
        .await
        .expect("send");
    let post_no_key = c
        .post(base.clone())
        .body(r#"{"request_id":"x","restart_id":true}"#)
        .send()
        .await
        .expect("send");
    for r in [no_key, wrong, in_query, post_no_key] {
        let (st, v) = json_of(r).await;
        assert_eq!(st, 401);
        assert_eq!(v["detail"], "Invalid or missing API key");
        assert_error(&v, "UNAUTHORIZED");
    }
    let rec = s.requests();
    assert_eq!(rec.len(), 4);
    assert!(rec.iter().all(|r| !r.key_ok && r.status == 401));
    assert_eq!(
        rec.iter().map(|r| r.key_in_query).collect::<Vec<_>>(),
        vec![false, false, true, false]
    );
    assert_eq!(
        rec[2].query,
        vec![
            ("mode".to_owned(), "1".to_owned()),
            ("aigen_key".to_owned(), "***".to_owned())
        ]
    );
    assert!(
        s.sessions().is_empty(),
        "no session for unauthorized requests"
    );

    let (st, _) = get(&c, &s, "mode=1").await;
    assert_eq!(st, 200);
    let last = s.requests().pop().expect("recorded");
    assert!(last.key_ok && last.status == 200 && last.method == "GET" && last.path == API_PATH);
    s.shutdown().await;
}

#[tokio::test]
async fn wrong_path_and_method() {
    let (s, c) = start(StandinOptions::default()).await;
    let origin = s.url().replace(API_PATH, "");
    let r = c
        .get(format!("{origin}/aiface/liveness-detection/v2?mode=1"))
        .header("x-aigen-key", KEY)
        .send()
        .await
        .expect("send");
    let (st, v) = json_of(r).await;
    assert_eq!(st, 404);
    assert_error(&v, "NOT_FOUND");

    let r = c
        .put(s.url())
        .header("x-aigen-key", KEY)
        .body("{}")
        .send()
        .await
        .expect("send");
    assert_eq!(
        r.headers().get("allow").and_then(|h| h.to_str().ok()),
        Some("GET, POST")
    );
    let (st, v) = json_of(r).await;
    assert_eq!(st, 405);
    assert_error(&v, "METHOD_NOT_ALLOWED");
    s.shutdown().await;
}

#[tokio::test]
async fn get_answers_like_the_vendor_example() {
    let (s, c) = start(seeded(1)).await;
    let (st, v) = get(&c, &s, "mode=3&part=face").await;
    assert_eq!(st, 200);
    assert_uuid_v4(&v["request_id"]);
    assert_uuid_v4(&v["response_id"]);
    assert_ne!(v["request_id"], v["response_id"]);
    assert_eq!(v["status"], "processing");
    assert!(v["time_used"]
        .as_f64()
        .is_some_and(|t| (0.0..1.0).contains(&t)));
    assert_eq!(v.as_object().map(|m| m.len()), Some(5), "{v}");
    let sessions = s.sessions();
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        sessions[0].request_id,
        SessionId::Text(v["request_id"].as_str().expect("str").to_owned())
    );
    assert_eq!(v["next_choice"], sessions[0].actions[0]);
    assert_eq!(sessions[0].phase, Phase::Processing);
    let (_, again) = get(&c, &s, "mode=3&part=face").await;
    assert_ne!(again["request_id"], v["request_id"]);
    assert_ne!(again["response_id"], v["response_id"]);
    s.shutdown().await;
}

#[tokio::test]
async fn get_honours_mode_part_and_select() {
    let (s, c) = start(seeded(99)).await;
    for _ in 0..20 {
        get(&c, &s, "mode=3&part=face").await;
        get(&c, &s, "mode=4&part=hand").await;
        get(&c, &s, "mode=5&select=Smile&select=look_up").await;
        get(
            &c,
            &s,
            "mode=2&part=face&select=Victory_right_hand&select=Ok_left_hand",
        )
        .await;
        get(&c, &s, "mode=1").await;
    }
    let sessions = s.sessions();
    assert_eq!(sessions.len(), 100);
    let mut seen_all = std::collections::HashSet::new();
    for (i, sv) in sessions.iter().enumerate() {
        let a = &sv.actions;
        assert!(a.windows(2).all(|w| w[0] != w[1]), "{a:?}");
        match i % 5 {
            0 => {
                assert_eq!(a.len(), 3);
                assert!(a.iter().all(|x| FACE.contains(x)), "{a:?}");
                let mut d = a.clone();
                d.sort();
                d.dedup();
                assert_eq!(d.len(), 3, "no repetition when enough candidates: {a:?}");
            }
            1 => {
                assert_eq!(a.len(), 4);
                assert!(a.iter().all(|x| actions::part_of(x) == Some(Part::Hand)));
            }
            2 => {
                assert_eq!(a.len(), 5);
                assert!(a.iter().all(|x| *x == "Smile" || *x == "Look_up"), "{a:?}");
            }
            3 => {
                assert_eq!(a.len(), 2);
                let mut d = a.clone();
                d.sort();
                assert_eq!(d, vec!["Ok_left_hand", "Victory_right_hand"]);
            }
            _ => {
                assert_eq!(a.len(), 1);
                seen_all.insert(a[0]);
            }
        }
    }
    assert!(seen_all.len() > 5, "mode=1 draws from all: {seen_all:?}");
    assert!(seen_all.iter().all(|a| ALL.contains(a)));

    // Same seed, same draws.
    let (s2, c2) = start(seeded(99)).await;
    get(&c2, &s2, "mode=3&part=face").await;
    assert_eq!(s2.sessions()[0].actions, sessions[0].actions);
    s.shutdown().await;
    s2.shutdown().await;
}

#[tokio::test]
async fn get_validation_errors() {
    let (s, c) = start(StandinOptions::default()).await;
    let (st, v) = get(&c, &s, "part=face").await;
    assert_eq!(st, 422);
    assert_validation(&v, "missing", json!(["query", "mode"]));
    let (st, v) = get(&c, &s, "mode=three").await;
    assert_eq!(st, 422);
    assert_validation(&v, "int_parsing", json!(["query", "mode"]));
    let (st, v) = get(&c, &s, "mode=0").await;
    assert_eq!(st, 422);
    assert_validation(&v, "greater_than_equal", json!(["query", "mode"]));
    let (st, v) = get(&c, &s, "mode=3&part=foot").await;
    assert_eq!(st, 422);
    assert_validation(&v, "enum", json!(["query", "part"]));
    assert_eq!(v["detail"][0]["input"], "foot");
    let (st, v) = get(&c, &s, "mode=3&select=Smile&select=Fly").await;
    assert_eq!(st, 422);
    assert_validation(&v, "enum", json!(["query", "select", 1]));
    assert_eq!(v["detail"].as_array().map(Vec::len), Some(1));
    assert!(s.sessions().is_empty());
    assert!(s.requests().iter().all(|r| r.status == 422));
    s.shutdown().await;
}

#[tokio::test]
async fn post_validation_errors() {
    let (s, c) = start(seeded(3)).await;
    let (rid, _) = begin(&c, &s, "mode=1").await;

    let (st, v) = post(&c, &s, &json!({ "image": picture(Subject::Neutral) })).await;
    assert_eq!(st, 422);
    assert_validation(&v, "missing", json!(["body", "request_id"]));

    let (st, v) = post(&c, &s, &json!({ "request_id": 7, "image": "x" })).await;
    assert_eq!(st, 422);
    assert_validation(&v, "string_type", json!(["body", "request_id"]));

    let (st, v) = post_raw(&c, &s, b"{\"request_id\": \"abc".to_vec()).await;
    assert_eq!(st, 422);
    assert_validation(&v, "json_invalid", json!(["body", 19]));

    let (st, v) = post_raw(&c, &s, b"[1, 2]".to_vec()).await;
    assert_eq!(st, 422);
    assert_validation(&v, "model_attributes_type", json!(["body"]));

    let (st, v) = post(
        &c,
        &s,
        &json!({ "request_id": "no-such-id", "image": picture(Subject::Neutral) }),
    )
    .await;
    assert_eq!(st, 422);
    assert_error(&v, "REQUEST_NOT_FOUND");

    let (st, v) = post(&c, &s, &json!({ "request_id": rid })).await;
    assert_eq!(st, 422);
    assert_validation(&v, "missing", json!(["body", "image"]));

    let (st, v) = post(
        &c,
        &s,
        &json!({ "request_id": rid, "image": "not base64!" }),
    )
    .await;
    assert_eq!(st, 422);
    assert_error(&v, "INVALID_IMAGE");
    assert_eq!(v["message"], "image is not valid base64");

    let (st, v) = post(
        &c,
        &s,
        &json!({ "request_id": rid, "image": b64(b"GIF89a....") }),
    )
    .await;
    assert_eq!(st, 422);
    assert_error(&v, "INVALID_IMAGE");
    assert_eq!(v["message"], "image could not be decoded");

    let mut tiny = Vec::new();
    image::RgbImage::new(112, 112)
        .write_to(
            &mut std::io::Cursor::new(&mut tiny),
            image::ImageFormat::Jpeg,
        )
        .expect("jpeg");
    let (st, v) = post(&c, &s, &json!({ "request_id": rid, "image": b64(&tiny) })).await;
    assert_eq!(st, 422);
    assert_error(&v, "INVALID_IMAGE");
    assert!(v["message"].as_str().is_some_and(|m| m.contains("112x112")));

    // None of that touched the session.
    let sv = &s.sessions()[0];
    assert_eq!((sv.step, sv.misses, sv.failures, sv.images), (0, 0, 0, 0));
    let rec = s.requests();
    let bad_b64 = rec
        .iter()
        .find(|r| {
            r.body
                .as_ref()
                .is_some_and(|b| b["image"]["seen"] == "invalid base64")
        })
        .expect("recorded");
    assert_eq!(
        bad_b64
            .body
            .as_ref()
            .map(|b| b["image"]["base64_len"].clone()),
        Some(json!(11))
    );
    assert_eq!(bad_b64.content_type.as_deref(), Some("application/json"));
    s.shutdown().await;
}

#[tokio::test]
async fn a_person_doing_every_action_completes() {
    let (s, c) = start(seeded(11)).await;
    let (rid, first) = begin(&c, &s, "mode=3&part=face").await;
    let planned = s.sessions()[0].actions.clone();
    assert_eq!(first, planned[0]);
    let (st, v) = post(&c, &s, &image_post(&rid, doing(&first))).await;
    assert_eq!(st, 200);
    assert_post_answer(&v, "Yes", "processing", planned[1]);
    // Actions are compared case-insensitively; the answer names the canonical form.
    let (_, v) = post(&c, &s, &image_post(&rid, doing(&planned[1].to_uppercase()))).await;
    assert_post_answer(&v, "Yes", "processing", planned[2]);
    let (_, v) = post(&c, &s, &image_post(&rid, doing(planned[2]))).await;
    assert_post_answer(&v, "Yes", "completed", "");
    // Over: the final state again, whatever comes next.
    let (st, v) = post(&c, &s, &image_post(&rid, Subject::Still)).await;
    assert_eq!(st, 200);
    assert_post_answer(&v, "Yes", "completed", "");
    let (_, v) = post(&c, &s, &json!({ "request_id": rid, "restart_id": true })).await;
    assert_post_answer(&v, "Yes", "completed", "");

    let sv = &s.sessions()[0];
    assert_eq!((sv.phase, sv.step, sv.misses), (Phase::Completed, 3, 0));
    let rec = s.requests();
    assert_eq!(rec.len(), 6);
    let i = actions::index_of(&first).expect("idx");
    assert_eq!(rec[1].seen, Some(Seen::Subject(Subject::Doing(i))));
    let body = rec[1].body.clone().expect("json body");
    assert_eq!(body["request_id"], rid);
    assert_eq!(body["image"]["seen"], format!("Subject(Doing({i}))"));
    assert!(body["image"]["base64_len"]
        .as_u64()
        .is_some_and(|n| n > 1000));
    assert!(
        rec.iter().all(|r| r.peer == rec[0].peer),
        "the client's one connection is kept alive"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn wrong_actions_and_photos_are_misses() {
    let (s, c) = start(seeded(5)).await;
    let (rid, first) = begin(&c, &s, "mode=2&select=Smile&select=Look_up").await;
    let other = if first == "Smile" { "Look_up" } else { "Smile" };
    let (st, v) = post(&c, &s, &image_post(&rid, doing(other))).await;
    assert_eq!(st, 200);
    assert_post_answer(&v, "No", "processing", &first);
    let (_, v) = post(&c, &s, &image_post(&rid, Subject::Still)).await;
    assert_post_answer(&v, "No", "processing", &first);
    assert_eq!(s.sessions()[0].misses, 2);
    // Not acting yet, or nobody there: no miss.
    for subject in [Subject::Neutral, Subject::Nobody, Subject::Neutral] {
        let (_, v) = post(&c, &s, &image_post(&rid, subject)).await;
        assert_post_answer(&v, "No", "processing", &first);
    }
    assert_eq!(s.sessions()[0].misses, 2);
    let (_, v) = post(&c, &s, &image_post(&rid, doing("Turn_left"))).await;
    assert_post_answer(&v, "No", "uncompleted", "");
    let sv = &s.sessions()[0];
    assert_eq!(
        (sv.phase, sv.misses, sv.failures),
        (Phase::Uncompleted, 3, 1)
    );
    // Over: even the right action gets the final answer again.
    let (_, v) = post(&c, &s, &image_post(&rid, doing(&first))).await;
    assert_post_answer(&v, "No", "uncompleted", "");
    s.shutdown().await;
}

#[tokio::test]
async fn max_misses_is_configurable() {
    let opts = StandinOptions {
        max_misses: 1,
        ..seeded(2)
    };
    let (s, c) = start(opts).await;
    let (rid, _) = begin(&c, &s, "mode=2&part=face").await;
    let (_, v) = post(&c, &s, &image_post(&rid, Subject::Still)).await;
    assert_post_answer(&v, "No", "uncompleted", "");
    s.shutdown().await;
}

#[tokio::test]
async fn restart_draws_anew_then_expires() {
    let (s, c) = start(seeded(8)).await;
    let (rid, first) = begin(&c, &s, "mode=3&part=hand").await;
    let (_, v) = post(&c, &s, &image_post(&rid, doing(&first))).await;
    assert_eq!(v["result"], "Yes");
    post(&c, &s, &image_post(&rid, Subject::Still)).await;
    for round in 1..=2u32 {
        let (st, v) = post(&c, &s, &json!({ "request_id": rid, "restart_id": true })).await;
        assert_eq!(st, 200);
        let sv = &s.sessions()[0];
        assert_post_answer(&v, "No", "processing", sv.actions[0]);
        assert_eq!(sv.actions.len(), 3);
        assert!(sv
            .actions
            .iter()
            .all(|a| actions::part_of(a) == Some(Part::Hand)));
        assert_eq!((sv.step, sv.misses, sv.failures), (0, 0, round));
    }
    let (st, v) = post(&c, &s, &json!({ "request_id": rid, "restart_id": true })).await;
    assert_eq!(st, 200);
    assert_post_answer(&v, "No", "uncompleted", "");
    assert!(s.sessions()[0].expired);
    for body in [
        json!({ "request_id": rid, "restart_id": true }),
        image_post(&rid, Subject::Neutral),
    ] {
        let (st, v) = post(&c, &s, &body).await;
        assert_eq!(st, 422);
        assert_error(&v, "REQUEST_EXPIRED");
    }
    s.shutdown().await;
}

#[tokio::test]
async fn numeric_request_ids_must_be_echoed_as_numbers() {
    let opts = StandinOptions {
        numeric_request_ids: true,
        ..seeded(4)
    };
    let (s, c) = start(opts).await;
    let (rid, first) = begin(&c, &s, "mode=2&part=face").await;
    assert_eq!(rid, json!(FIRST_NUMERIC_ID));
    assert!(rid.is_u64());
    let (st, v) = post(&c, &s, &image_post(&json!("12345"), doing(&first))).await;
    assert_eq!(st, 422);
    assert_validation(&v, "int_type", json!(["body", "request_id"]));
    let (st, v) = post(&c, &s, &image_post(&rid, doing(&first))).await;
    assert_eq!(st, 200);
    assert_eq!(v["result"], "Yes");
    assert_eq!(
        s.sessions()[0].request_id,
        SessionId::Number(FIRST_NUMERIC_ID)
    );

    // The flag can be turned off at run time: ids are UUID strings again.
    s.faults().set_numeric_request_ids(false);
    let (rid2, _) = begin(&c, &s, "mode=1").await;
    assert_uuid_v4(&rid2);
    s.shutdown().await;
}

#[tokio::test]
async fn status_faults_answer_their_error_bodies() {
    let (s, c) = start(seeded(6)).await;
    let f = s.faults();
    let cases = [
        (401, "UNAUTHORIZED"),
        (403, "FORBIDDEN"),
        (429, "OUT_OF_CREDIT"),
        (500, "SERVER_ERROR"),
        (502, "SERVER_ERROR"),
        (503, "SERVER_ERROR"),
    ];
    for (code, _) in cases {
        f.push(Fault::Status(code));
    }
    for (code, name) in cases {
        let (st, v) = get(&c, &s, "mode=1").await;
        assert_eq!(st, code);
        assert_error(&v, name);
        if code == 429 {
            assert_eq!(v["message"], "credits exhausted");
        }
    }
    assert_eq!(f.pending(), 0);
    assert!(s.sessions().is_empty(), "faulted requests touch no session");
    let (st, _) = get(&c, &s, "mode=1").await;
    assert_eq!(st, 200);
    let statuses: Vec<u16> = s.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![401, 403, 429, 500, 502, 503, 200]);

    // "Service down" until cleared.
    f.set_always(Some(Fault::Status(503)));
    for _ in 0..3 {
        assert_eq!(get(&c, &s, "mode=1").await.0, 503);
    }
    f.set_always(None);
    assert_eq!(get(&c, &s, "mode=1").await.0, 200);
    s.shutdown().await;
}

#[tokio::test]
async fn garbled_and_wrong_type_answers() {
    let (s, c) = start(seeded(6)).await;
    s.faults().push(Fault::Garbled);
    s.faults().push(Fault::WrongTypes);
    let r = c
        .get(format!("{}?mode=1", s.url()))
        .header("x-aigen-key", KEY)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    let body = r.bytes().await.expect("body");
    assert!(serde_json::from_slice::<Value>(&body).is_err());
    assert!(body.starts_with(b"{\"status\": \"proc"));

    let (st, v) = get(&c, &s, "mode=1").await;
    assert_eq!(st, 200);
    assert_eq!(v["status"], 5);
    assert_eq!(v["next_choice"], json!([1]));
    assert!(v.get("request_id").is_none());
    let wire = livegate::api::Answer::parse(v.to_string().as_bytes());
    assert!(wire.is_err(), "a tolerant client still refuses it");
    s.shutdown().await;
}

#[tokio::test]
async fn drop_closes_the_connection_without_an_answer() {
    let (s, c) = start(seeded(6)).await;
    let (rid, _) = begin(&c, &s, "mode=1").await;
    s.faults().push(Fault::Drop);
    let err = c
        .post(s.url())
        .header("x-aigen-key", KEY)
        .body(image_post(&rid, Subject::Neutral).to_string())
        .send()
        .await
        .expect_err("dropped");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(err.status().is_none());
    // The next request works on a new connection.
    let (st, v) = post(&c, &s, &image_post(&rid, Subject::Neutral)).await;
    assert_eq!(st, 200, "{v}");
    let rec = s.requests();
    assert_eq!(
        rec.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![200, 0, 200]
    );
    assert_ne!(rec[1].peer, rec[2].peer);
    assert_eq!(
        s.sessions()[0].images,
        1,
        "the dropped image was not judged"
    );
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn hang_runs_into_the_client_timeout_and_shutdown_ends_it() {
    let s = Standin::start(seeded(6)).await.expect("start");
    let c = client_with(s.ca_pem(), Duration::from_secs(5));
    s.faults().push(Fault::Hang);
    let t0 = tokio::time::Instant::now();
    let err = c
        .get(format!("{}?mode=1", s.url()))
        .header("x-aigen-key", KEY)
        .send()
        .await
        .expect_err("hangs");
    assert!(err.is_timeout(), "{err:?}");
    assert!(t0.elapsed() >= Duration::from_secs(5));
    assert_eq!(s.requests()[0].status, 0);
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn latency_delays_every_answer() {
    let s = Standin::start(seeded(6)).await.expect("start");
    let c = client_with(s.ca_pem(), Duration::from_secs(10));
    s.faults().set_latency(Duration::from_secs(3));
    let t0 = tokio::time::Instant::now();
    let (st, _) = get(&c, &s, "mode=1").await;
    assert_eq!(st, 200);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(4),
        "{took:?}"
    );

    s.faults().push(Fault::Status(503));
    let t0 = tokio::time::Instant::now();
    assert_eq!(get(&c, &s, "mode=1").await.0, 503);
    assert!(t0.elapsed() >= Duration::from_secs(3));

    // Longer than the client's timeout: a timeout, but the request took effect.
    s.faults().set_latency(Duration::from_secs(30));
    let err = c
        .get(format!("{}?mode=1", s.url()))
        .header("x-aigen-key", KEY)
        .send()
        .await
        .expect_err("too slow");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(s.sessions().len(), 2);
    s.shutdown().await;
}

#[tokio::test]
async fn tls_trusts_only_the_standin_ca() {
    let s = Standin::start(StandinOptions::default())
        .await
        .expect("start");
    let other = Standin::start(StandinOptions::default())
        .await
        .expect("start");
    assert_ne!(s.ca_pem(), other.ca_pem());
    let stranger = client_with(other.ca_pem(), Duration::from_secs(10));
    let err = stranger
        .get(format!("{}?mode=1", s.url()))
        .header("x-aigen-key", KEY)
        .send()
        .await
        .expect_err("untrusted certificate");
    assert!(err.is_connect(), "{err:?}");
    assert!(s.requests().is_empty());

    // The certificate names localhost too.
    let c = client(&s);
    let url = s.url().replace("127.0.0.1", "localhost");
    let r = c
        .get(format!("{url}?mode=1"))
        .header("x-aigen-key", KEY)
        .send()
        .await
        .expect("localhost");
    assert_eq!(r.status().as_u16(), 200);
    s.shutdown().await;
    other.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let (s, c) = start(StandinOptions::default()).await;
    let url = s.url();
    assert_eq!(get(&c, &s, "mode=1").await.0, 200);
    s.shutdown().await;
    let err = c
        .get(format!("{url}?mode=1"))
        .header("x-aigen-key", KEY)
        .send()
        .await
        .expect_err("stopped");
    assert!(!err.is_timeout(), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn dropping_the_standin_ends_hanging_requests() {
    let s = Standin::start(StandinOptions::default())
        .await
        .expect("start");
    let c = client_with(s.ca_pem(), Duration::from_secs(3600));
    s.faults().set_always(Some(Fault::Hang));
    let url = format!("{}?mode=1", s.url());
    let pending = tokio::spawn(async move { c.get(url).header("x-aigen-key", KEY).send().await });
    while s.requests().is_empty() {
        tokio::task::yield_now().await;
    }
    drop(s);
    let t0 = tokio::time::Instant::now();
    let err = pending.await.expect("join").expect_err("connection closed");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(t0.elapsed() < Duration::from_secs(60));
}

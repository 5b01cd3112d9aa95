//! The AIGEN client against the real HTTPS stand-in on loopback.

use std::time::{Duration, Instant};

use livegate::actions::{self, Part};
use livegate::api::client::ClientBuildError;
use livegate::api::{AigenClient, ApiError, ClientOptions, Outcome, RequestId, Status};
use livegate::camera::scene::{self, Seen, Subject};
use livegate::secret::ApiKey;
use livegate::standin::{Fault, Recorded, Standin, StandinOptions, API_PATH};
use serde_json::json;

const KEY: &str = "test-key-7f3a9c";

async fn standin_with(numeric: bool) -> Standin {
    Standin::start(StandinOptions {
        key: ApiKey::new(KEY),
        seed: Some(7),
        numeric_request_ids: numeric,
        ..StandinOptions::default()
    })
    .await
    .unwrap()
}

async fn standin() -> Standin {
    standin_with(false).await
}

fn options(s: &Standin) -> ClientOptions {
    let mut o = ClientOptions::new(s.url(), ApiKey::new(KEY));
    o.request_timeout = Duration::from_secs(5);
    o.connect_timeout = Duration::from_secs(2);
    o.retries = 2;
    o.retry_base = Duration::from_millis(1);
    o.extra_ca_pem = vec![s.ca_pem().to_vec()];
    o.only_extra_ca = true;
    o
}

fn client(s: &Standin) -> AigenClient {
    AigenClient::new(options(s)).unwrap()
}

/// A 640x480 JPEG of a live person doing `action`.
fn frame_of(action: &str) -> Vec<u8> {
    let idx = actions::index_of(action).unwrap();
    scene::render(640, 480, Subject::Doing(idx), 80).unwrap()
}

fn base64_len(n: usize) -> u64 {
    (n.div_ceil(3) * 4) as u64
}

fn face_select() -> Vec<String> {
    ["Turn_right", "Turn_left", "Look_up"]
        .map(String::from)
        .to_vec()
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The key is in the header and nowhere in the URL.
fn assert_key_only_in_header(r: &Recorded) {
    assert!(r.key_ok, "{r:?}");
    assert!(!r.key_in_query, "{r:?}");
    assert!(r
        .query
        .iter()
        .all(|(k, v)| !k.contains(KEY) && !v.contains(KEY)));
    assert!(!r.path.contains(KEY));
}

#[tokio::test]
async fn sequence_sends_the_key_header_and_the_exact_query() {
    let s = standin().await;
    let c = client(&s);
    let a = c
        .sequence(3, Some(Part::Face), &face_select())
        .await
        .unwrap();
    assert_eq!(a.status, Status::Processing);
    assert!(matches!(a.request_id, Some(RequestId::Text(ref t)) if t.len() == 36));
    let first = a.next_choice.unwrap();
    assert!(face_select().contains(&first), "{first}");

    let reqs = s.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, API_PATH);
    assert_eq!(
        r.query,
        pairs(&[
            ("mode", "3"),
            ("part", "face"),
            ("select", "Turn_right"),
            ("select", "Turn_left"),
            ("select", "Look_up"),
        ])
    );
    assert_key_only_in_header(r);
    assert_eq!(r.content_type, None);
    assert_eq!(r.status, 200);

    // Without part and select: only mode.
    c.sequence(1, None, &[]).await.unwrap();
    assert_eq!(s.requests()[1].query, pairs(&[("mode", "1")]));
}

#[tokio::test]
async fn verify_posts_the_request_id_and_the_image() {
    let s = standin().await;
    let c = client(&s);
    let a = c.sequence(1, Some(Part::Face), &[]).await.unwrap();
    let id = a.request_id.unwrap();
    let action = a.next_choice.unwrap();
    let jpeg = frame_of(&action);

    let v = c.verify(&id, &jpeg).await.unwrap();
    assert_eq!(v.status, Status::Completed);
    assert_eq!(v.result, Some(Outcome::Yes));
    assert_eq!(v.next_choice, None);

    let reqs = s.requests();
    assert_eq!(reqs.len(), 2);
    let r = &reqs[1];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, API_PATH);
    assert!(r.query.is_empty());
    assert_key_only_in_header(r);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let body = r.body.as_ref().unwrap().as_object().unwrap();
    assert_eq!(body.len(), 2, "{body:?}");
    assert_eq!(body["request_id"], json!(id.to_string()));
    assert_eq!(
        body["image"]["base64_len"],
        json!(base64_len(jpeg.len())),
        "{body:?}"
    );
    let idx = actions::index_of(&action).unwrap();
    assert_eq!(r.seen, Some(Seen::Subject(Subject::Doing(idx))));
    let expected_len = r#"{"request_id":"","image":""}"#.len()
        + id.to_string().len()
        + base64_len(jpeg.len()) as usize;
    assert_eq!(r.body_len, expected_len);
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn a_numeric_request_id_is_echoed_as_a_number() {
    let s = standin_with(true).await;
    let c = client(&s);
    let a = c.sequence(2, Some(Part::Face), &[]).await.unwrap();
    let id = a.request_id.unwrap();
    let RequestId::Number(n) = &id else {
        panic!("not a number: {id:?}")
    };
    let action = a.next_choice.unwrap();
    // The stand-in refuses a string id with 422 here: success proves a number was sent.
    let v = c.verify(&id, &frame_of(&action)).await.unwrap();
    assert_eq!(v.status, Status::Processing);
    assert_eq!(v.result, Some(Outcome::Yes));
    let r = &s.requests()[1];
    assert_eq!(r.body.as_ref().unwrap()["request_id"], json!(n));

    let restarted = c.restart(&id).await.unwrap();
    assert_eq!(restarted.status, Status::Processing);
    assert_eq!(
        s.requests()[2].body,
        Some(json!({"request_id": n, "restart_id": true}))
    );
}

#[tokio::test]
async fn restart_posts_restart_id_and_gets_new_actions() {
    let s = standin().await;
    let c = client(&s);
    let a = c.sequence(3, None, &[]).await.unwrap();
    let id = a.request_id.unwrap();
    let r = c.restart(&id).await.unwrap();
    assert_eq!(r.status, Status::Processing);
    assert!(r.next_choice.is_some());
    let rec = &s.requests()[1];
    assert_eq!(rec.method, "POST");
    assert_eq!(rec.content_type.as_deref(), Some("application/json"));
    assert_key_only_in_header(rec);
    assert_eq!(
        rec.body,
        Some(json!({"request_id": id.to_string(), "restart_id": true}))
    );
    assert_eq!(s.sessions()[0].failures, 1);
}

#[tokio::test]
async fn one_connection_carries_every_request() {
    let s = standin().await;
    let c = client(&s);
    let clone = c.clone();
    let a = c.sequence(3, Some(Part::Face), &[]).await.unwrap();
    let id = a.request_id.unwrap();
    let mut action = a.next_choice.unwrap();
    for _ in 0..2 {
        let v = clone.verify(&id, &frame_of(&action)).await.unwrap();
        action = v.next_choice.unwrap();
    }
    c.restart(&id).await.unwrap();
    let reqs = s.requests();
    assert_eq!(reqs.len(), 4);
    assert!(reqs.iter().all(|r| r.status == 200));
    assert!(
        reqs.iter().all(|r| r.peer == reqs[0].peer),
        "more than one connection: {:?}",
        reqs.iter().map(|r| r.peer).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized_and_not_retried() {
    let s = standin().await;
    let mut o = options(&s);
    o.key = ApiKey::new("wrong-key");
    let c = AigenClient::new(o).unwrap();
    let e = c.sequence(3, None, &[]).await.unwrap_err();
    let ApiError::Unauthorized { code, message } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(code.as_deref(), Some("UNAUTHORIZED"));
    assert!(message.as_deref().unwrap().contains("x-aigen-key"));
    let reqs = s.requests();
    assert_eq!(reqs.len(), 1);
    assert!(!reqs[0].key_ok);
    assert!(!e.to_string().contains("wrong-key"));
}

#[tokio::test]
async fn status_faults_map_to_their_classes_without_retries() {
    let s = standin().await;
    let c = client(&s);
    let id = RequestId::Text("any".into());

    s.faults().push(Fault::Status(403));
    let e = c.sequence(3, None, &[]).await.unwrap_err();
    assert_eq!(
        e,
        ApiError::Forbidden {
            code: Some("FORBIDDEN".into()),
            message: Some("This key may not use this endpoint".into())
        }
    );

    s.faults().push(Fault::Status(429));
    let e = c.verify(&id, &frame_of("Smile")).await.unwrap_err();
    assert_eq!(
        e,
        ApiError::OutOfCredit {
            code: Some("OUT_OF_CREDIT".into()),
            message: Some("credits exhausted".into())
        }
    );

    s.faults().push(Fault::Status(418));
    let e = c.restart(&id).await.unwrap_err();
    assert!(
        matches!(e, ApiError::UnexpectedStatus { status: 418, .. }),
        "{e:?}"
    );

    assert_eq!(s.requests().len(), 3);
    assert_eq!(s.faults().pending(), 0);
}

#[tokio::test]
async fn an_unknown_request_id_is_unprocessable() {
    let s = standin().await;
    let c = client(&s);
    let id = RequestId::Text("00000000-0000-0000-0000-000000000000".into());
    let e = c.verify(&id, &frame_of("Smile")).await.unwrap_err();
    assert_eq!(
        e,
        ApiError::Unprocessable {
            code: Some("REQUEST_NOT_FOUND".into()),
            message: Some("No liveness session has this request_id".into())
        }
    );
    let reqs = s.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].status, 422);

    // A real validation error: mode out of range, FastAPI-style detail list.
    let e = c.sequence(0, None, &[]).await.unwrap_err();
    let ApiError::Unprocessable { code, message } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(code.as_deref(), Some("VALIDATION_ERROR"));
    assert!(message.as_deref().unwrap().contains("mode"), "{e}");
}

#[tokio::test]
async fn server_errors_are_retried_for_frames_only() {
    let s = standin().await;
    let c = client(&s);
    let id = RequestId::Text("any".into());
    s.faults().set_always(Some(Fault::Status(500)));
    let e = c.verify(&id, &frame_of("Smile")).await.unwrap_err();
    assert_eq!(
        e,
        ApiError::Server {
            status: 500,
            code: Some("SERVER_ERROR".into()),
            message: Some("The service failed; try again later".into())
        }
    );
    assert_eq!(s.requests().len(), 3, "1 attempt + 2 retries");

    // A GET or restart that failed with a 5xx may still have been billed or counted:
    // one attempt only.
    s.clear_requests();
    let e = c.sequence(3, None, &[]).await.unwrap_err();
    assert!(matches!(e, ApiError::Server { status: 500, .. }), "{e:?}");
    let e = c.restart(&id).await.unwrap_err();
    assert!(matches!(e, ApiError::Server { status: 500, .. }), "{e:?}");
    assert_eq!(s.requests().len(), 2);

    // One 503 on a frame, then the service recovers: the retry succeeds.
    s.faults().clear();
    let a = c.sequence(1, Some(Part::Face), &[]).await.unwrap();
    s.clear_requests();
    s.faults().push(Fault::Status(503));
    let v = c
        .verify(
            a.request_id.as_ref().unwrap(),
            &frame_of(a.next_choice.as_deref().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(v.status, Status::Completed);
    let statuses: Vec<u16> = s.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 200]);

    // retries = 0: exactly one attempt.
    let mut o = options(&s);
    o.retries = 0;
    let once = AigenClient::new(o).unwrap();
    s.clear_requests();
    s.faults().push(Fault::Status(502));
    let e = once.verify(&id, &frame_of("Smile")).await.unwrap_err();
    assert!(matches!(e, ApiError::Server { status: 502, .. }), "{e:?}");
    assert_eq!(s.requests().len(), 1);
}

#[tokio::test]
async fn a_request_that_may_have_arrived_is_never_repeated() {
    let s = standin().await;
    let c = client(&s);
    s.faults().set_always(Some(Fault::Drop));
    let id = RequestId::Text("any".into());
    let e = c.verify(&id, &frame_of("Smile")).await.unwrap_err();
    assert!(matches!(e, ApiError::Network(_)), "{e:?}");
    let e = c.sequence(3, None, &[]).await.unwrap_err();
    assert!(matches!(e, ApiError::Network(_)), "{e:?}");
    let e = c.restart(&id).await.unwrap_err();
    assert!(matches!(e, ApiError::Network(_)), "{e:?}");
    assert_eq!(s.requests().len(), 3, "one attempt each");
    assert!(s.requests().iter().all(|r| r.status == 0));
}

#[tokio::test]
async fn a_hanging_service_times_out_without_retry() {
    let s = standin().await;
    let mut o = options(&s);
    o.request_timeout = Duration::from_millis(300);
    let c = AigenClient::new(o).unwrap();
    // Warm the connection so the timing measures only the hang.
    c.sequence(1, None, &[]).await.unwrap();
    let jpeg = frame_of("Smile");
    s.faults().push(Fault::Hang);
    let started = Instant::now();
    let e = c.verify(&RequestId::Text("x".into()), &jpeg).await;
    let took = started.elapsed();
    assert_eq!(e, Err(ApiError::Timeout { timeout_ms: 300 }));
    // A timeout never fires early (less the timer's millisecond granularity); the
    // upper bound only says it did not wait for the hang (a day): generous for a
    // loaded machine. "Not retried" is the request count below.
    assert!(took >= Duration::from_millis(290), "{took:?}");
    assert!(took < Duration::from_secs(30), "{took:?}");
    assert_eq!(s.requests().len(), 2, "not retried");
}

#[tokio::test]
async fn garbled_and_wrongly_typed_answers_are_garbled() {
    let s = standin().await;
    let c = client(&s);
    s.faults().push(Fault::Garbled);
    let e = c.sequence(3, None, &[]).await.unwrap_err();
    let ApiError::Garbled(m) = &e else {
        panic!("{e:?}")
    };
    assert!(m.contains("the answer is cut short"), "{m}");

    s.faults().push(Fault::WrongTypes);
    let e = c
        .verify(&RequestId::Text("x".into()), &frame_of("Smile"))
        .await;
    assert!(matches!(e, Err(ApiError::Garbled(_))), "{e:?}");
    assert_eq!(s.requests().len(), 2, "not retried");
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error() {
    let s = standin().await;
    let other = standin().await;
    // Trusts only another stand-in's CA.
    let mut o = options(&s);
    o.extra_ca_pem = vec![other.ca_pem().to_vec()];
    let c = AigenClient::new(o).unwrap();
    let e = c.sequence(3, None, &[]).await.unwrap_err();
    let ApiError::Tls(m) = &e else {
        panic!("{e:?}")
    };
    // Both CAs bear the same name: the chain builds but its signature fails.
    assert!(m.contains("invalid peer certificate"), "{m}");

    // The system's roots do not trust the stand-in either.
    let mut o = options(&s);
    o.extra_ca_pem.clear();
    o.only_extra_ca = false;
    let c = AigenClient::new(o).unwrap();
    let e = c.sequence(3, None, &[]).await.unwrap_err();
    let ApiError::Tls(m) = &e else {
        panic!("{e:?}")
    };
    assert!(m.contains("UnknownIssuer"), "{m}");
    assert!(s.requests().is_empty());

    // The system's roots plus the stand-in's CA: trusted.
    let mut o = options(&s);
    o.only_extra_ca = false;
    let c = AigenClient::new(o).unwrap();
    c.sequence(3, None, &[]).await.unwrap();
    assert_eq!(s.requests().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_network_after_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let s = standin().await;
    let mut o = options(&s);
    o.base_url = format!("https://127.0.0.1:{port}{API_PATH}");
    let c = AigenClient::new(o).unwrap();
    let e = c.sequence(3, None, &[]).await.unwrap_err();
    assert!(matches!(e, ApiError::Network(_)), "{e:?}");
}

#[tokio::test]
async fn plain_http_is_refused_when_building() {
    let s = standin().await;
    let mut o = options(&s);
    o.base_url = s.url().replacen("https://", "http://", 1);
    let e = AigenClient::new(o.clone()).unwrap_err();
    assert!(
        matches!(e, ClientBuildError::InsecureHttp { ref url } if url == &o.base_url),
        "{e:?}"
    );
    o.allow_insecure_http = true;
    assert!(AigenClient::new(o).is_ok());
}

#[test]
fn options_debug_shows_no_key() {
    let mut o = ClientOptions::new("https://127.0.0.1:1/v1", ApiKey::new(KEY));
    o.extra_ca_pem = vec![b"-----BEGIN CERTIFICATE-----".to_vec()];
    let text = format!("{o:?} {o:#?}");
    assert!(!text.contains(KEY), "{text}");
    assert!(text.contains("***"), "{text}");
    assert!(text.contains("1 PEM"), "{text}");
}

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_carry_op_status_and_sizes_never_the_key_or_the_image() {
    // A global subscriber: a thread-local one (`set_default`) loses events when other
    // tests on other threads hit the same callsites first. Lines are told apart by id.
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let s = standin().await;
    let c = client(&s);
    let a = c.sequence(1, Some(Part::Face), &[]).await.unwrap();
    let id = a.request_id.unwrap();
    let jpeg = frame_of(a.next_choice.as_deref().unwrap());
    c.verify(&id, &jpeg).await.unwrap();
    s.faults().push(Fault::Status(429));
    c.restart(&id).await.unwrap_err();

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let body_len = s.requests()[1].body_len;
    let mine = format!("request_id={id} ");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("AIGEN call") && l.contains(&mine))
        .collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains(r#"op="sequence""#) && lines[0].contains("status=200"));
    assert!(lines[1].contains(r#"op="verify""#), "{}", lines[1]);
    assert!(
        lines[1].contains(&format!("bytes={body_len} ")),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains("latency_ms="), "{}", lines[1]);
    assert!(lines[2].contains(r#"op="restart""#) && lines[2].contains("status=429"));
    assert!(
        lines[2].contains(r#"class="out_of_credit""#),
        "{}",
        lines[2]
    );

    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&jpeg);
    assert!(!text.contains(KEY), "{text}");
    assert!(!text.contains(&b64[..24]), "{text}");
}

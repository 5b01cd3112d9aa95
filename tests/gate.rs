//! The whole gate, end to end: the daemon with the simulated camera, panel and
//! relays, against the AIGEN stand-in over real HTTPS on loopback.
//!
//! These run in real time: the client talks HTTPS to the stand-in over a real socket,
//! which tokio's paused clock cannot follow (it would advance to the next timer while
//! an answer is on its way). So no assertion here depends on how fast the machine is:
//! a duration is checked against the recorded instants of the events themselves
//! (the observer's clock and the simulated relay's own on/off instants, both
//! `tokio::time::Instant`), lower bounds follow from causality, upper bounds are
//! generous (`SLACK`), and every timeout a passing person must beat is far longer
//! than the person needs. Exact timing is proven in virtual time where there is no
//! socket: the session core in `core/src/session.rs`, the pulses in `src/gpio/output.rs`,
//! the watchdog in `tests/notify.rs`, the policy in `core/src/gate.rs`.
//!
//! Each test runs on one thread (`#[tokio::test]`, current-thread), as `livegate run`
//! and `simulate` do: the daemon's loop, its pulses, the panel, the camera's task
//! and the stand-in all share it, so a task that blocked the thread would show
//! here as a late pulse, a missed screen or a timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use livegate::config::{CameraConfig, Config, GpioConfig, Performer};
use livegate::daemon::{GateEvent, Observer, RunSummary};
use livegate::display::Screen;
use livegate::session::{DenyReason, Verdict};
use livegate::simulate::{Endpoint, SimOutcome, Simulation};
use livegate::standin::{Fault, StandinOptions};
use livegate::trigger::Cast;
use tokio::sync::watch;

/// How late a timer may fire, or an event be handled, on a loaded 2-core machine
/// before a test calls it wrong: an upper bound only, never a lower one.
const SLACK: Duration = Duration::from_secs(3);

mod common;
use common::fast::{fast_config, ms, FAIL_PULSE, GATE_PULSE};

type Events = Arc<Mutex<Vec<(Instant, GateEvent)>>>;

/// An observer that records every event with the instant it was told.
fn recorder() -> (Observer, Events) {
    let events: Events = Arc::default();
    let sink = events.clone();
    let obs: Observer = Arc::new(move |e: &GateEvent| {
        sink.lock().unwrap().push((Instant::now(), e.clone()));
    });
    (obs, events)
}

fn untimed(events: &Events) -> Vec<GateEvent> {
    events
        .lock()
        .unwrap()
        .iter()
        .map(|(_, e)| e.clone())
        .collect()
}

async fn simulation(cfg: Config, cast: Cast) -> Simulation {
    Simulation::new(
        cfg,
        Endpoint::Standin(StandinOptions::default()),
        cast,
        None,
    )
    .await
    .expect("simulation starts")
}

async fn run(sim: Simulation, sessions: u64) -> (RunSummary, SimOutcome, Vec<GateEvent>) {
    let (obs, events) = recorder();
    let (summary, outcome) = tokio::time::timeout(
        Duration::from_secs(120),
        sim.run(Some(sessions), Some(obs), None),
    )
    .await
    .expect("the run ends")
    .expect("the run succeeds");
    (summary, outcome, untimed(&events))
}

/// Like [`run`], with the instant each event was told.
async fn run_timed(sim: Simulation, sessions: u64) -> (SimOutcome, Vec<(Instant, GateEvent)>) {
    let (obs, events) = recorder();
    let (_, outcome) = tokio::time::timeout(
        Duration::from_secs(120),
        sim.run(Some(sessions), Some(obs), None),
    )
    .await
    .expect("the run ends")
    .expect("the run succeeds");
    let events = events.lock().unwrap().clone();
    (outcome, events)
}

fn verdicts(events: &[GateEvent]) -> Vec<(&'static str, Option<&'static str>)> {
    events
        .iter()
        .filter_map(|e| match e {
            GateEvent::Verdict {
                verdict, reason, ..
            } => Some((*verdict, *reason)),
            _ => None,
        })
        .collect()
}

/// `count` pulses of `relay`, each on for `length` (a timer never fires early: the
/// lower bound is exact; the Pulser's exact length is proven in virtual time in
/// `src/gpio/output.rs`), and the relay at rest at the end.
fn assert_pulses(relay: &livegate::gpio::sim::SimRelay, count: usize, length: Duration) {
    let pulses = relay.pulses();
    assert_eq!(pulses.len(), count, "pulses: {pulses:?}");
    for p in &pulses {
        assert!(
            p.length >= length && p.length < length + SLACK,
            "pulse of {:?}, expected {length:?}",
            p.length
        );
    }
    assert!(!relay.is_active(), "the relay is off at the end");
}

async fn one(performer: Performer) -> (RunSummary, SimOutcome, Vec<GateEvent>) {
    run(simulation(fast_config(), Cast::All(performer)).await, 1).await
}

#[tokio::test]
async fn pass_opens_the_gate_exactly_once() {
    let sim = simulation(fast_config(), Cast::All(Performer::Pass)).await;
    let (out, timed) = run_timed(sim, 1).await;
    let events: Vec<GateEvent> = timed.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(verdicts(&events), vec![("pass", None)]);
    assert_eq!(verdicts(&events), vec![("pass", None)]);
    assert_pulses(&out.gate, 1, GATE_PULSE);
    assert_pulses(&out.fail, 0, FAIL_PULSE);
    // Three actions shown, steps 1..3 of 3.
    let steps: Vec<(u8, u8)> = events
        .iter()
        .filter_map(|e| match e {
            GateEvent::ActionShown { step, total, .. } => Some((*step, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(steps, vec![(1, 3), (2, 3), (3, 3)]);
    // Every frame sent was a real JPEG of some size, and fresh: captured after the
    // session started, less one frame period of the 20 fps camera (it was the
    // newest frame then), with a millisecond for rounding.
    let started_at = timed
        .iter()
        .find_map(|(t, e)| matches!(e, GateEvent::SessionStarted { .. }).then_some(*t))
        .expect("session started");
    for (at, e) in &timed {
        if let GateEvent::FrameSent {
            bytes,
            frame_age_ms,
            ..
        } = e
        {
            assert!(*bytes > 1000, "{bytes} bytes");
            let since_start = (*at - started_at).as_millis() as u64;
            assert!(
                *frame_age_ms <= since_start + 50 + 1,
                "a stale frame was sent: {frame_age_ms} ms old, {since_start} ms into the session"
            );
        }
    }
    // The panel showed the pass screen, then went back to idle.
    let screens = out.display.screens();
    let pass_at = screens
        .iter()
        .position(|s| *s == Screen::Pass)
        .expect("pass shown");
    assert!(screens[pass_at..].contains(&Screen::Idle));
}

#[tokio::test]
async fn metrics_count_the_sessions_verdicts_and_api_calls() {
    let sim = simulation(
        fast_config(),
        Cast::Cycle(vec![Performer::Pass, Performer::Fail]),
    )
    .await;
    let (_, out, events) = run(sim, 2).await;
    let text = out.metrics.render();
    let value = |series: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    };
    assert_eq!(value("livegate_sessions_total "), 2.0);
    assert_eq!(value("livegate_passes_total "), 1.0);
    assert_eq!(
        value("livegate_denials_total{reason=\"not_verified\"} "),
        1.0
    );
    assert_eq!(
        value("livegate_denials_total{reason=\"service_unavailable\"} "),
        0.0
    );
    let frames = events
        .iter()
        .filter(|e| matches!(e, GateEvent::FrameSent { .. }))
        .count() as f64;
    assert_eq!(value("livegate_api_requests_total{op=\"verify\"} "), frames);
    assert_eq!(value("livegate_api_requests_total{op=\"sequence\"} "), 2.0);
    assert_eq!(
        value("livegate_api_latency_seconds_count{op=\"sequence\"} "),
        2.0
    );
    assert_eq!(value("livegate_up "), 0.0, "stopped at the end");
}

#[tokio::test]
async fn wrong_actions_are_denied_not_verified() {
    let (summary, out, _) = one(Performer::Fail).await;
    assert_eq!(
        summary.verdicts,
        vec![Verdict::Deny(DenyReason::NotVerified)]
    );
    assert_pulses(&out.gate, 0, GATE_PULSE);
    assert_pulses(&out.fail, 1, FAIL_PULSE);
    assert!(out.display.screens().contains(&Screen::Fail {
        reason: DenyReason::NotVerified
    }));
}

#[tokio::test]
async fn a_photo_is_denied() {
    let (summary, out, _) = one(Performer::Spoof).await;
    assert_eq!(
        summary.verdicts,
        vec![Verdict::Deny(DenyReason::NotVerified)]
    );
    assert_pulses(&out.gate, 0, GATE_PULSE);
    assert_pulses(&out.fail, 1, FAIL_PULSE);
}

#[tokio::test]
async fn a_slow_person_passes_after_a_restart() {
    // The first action must time out; the others are done long before 3 s.
    let mut cfg = fast_config();
    cfg.session.action_timeout = ms(3000);
    let sim = simulation(cfg, Cast::All(Performer::Slow)).await;
    let standin_requests = {
        let s = sim.standin().expect("stand-in");
        s.faults().set_latency(Duration::ZERO);
        s.url()
    };
    assert!(standin_requests.starts_with("https://127.0.0.1:"));
    let (summary, out, events) = run(sim, 1).await;
    assert_eq!(summary.verdicts, vec![Verdict::Pass]);
    let restarts: Vec<u8> = events
        .iter()
        .filter_map(|e| match e {
            GateEvent::Verdict { restarts, .. } => Some(*restarts),
            _ => None,
        })
        .collect();
    assert_eq!(restarts, vec![1]);
    assert!(events
        .iter()
        .any(|e| matches!(e, GateEvent::ApiAnswer { op: "restart", status: Some(s), .. } if s == "processing")));
    assert_pulses(&out.gate, 1, GATE_PULSE);
    assert_pulses(&out.fail, 0, FAIL_PULSE);
}

#[tokio::test]
async fn nobody_there_times_out() {
    // Nobody ever acts: the verdict is the same however long an action may take.
    // (Without the face detector: with it, nobody there starts no session, below.)
    let mut cfg = fast_config();
    cfg.presence.enabled = false;
    cfg.session.action_timeout = ms(1500);
    let (summary, out, events) = run(simulation(cfg, Cast::All(Performer::Absent)).await, 1).await;
    assert_eq!(
        summary.verdicts,
        vec![Verdict::Deny(DenyReason::ActionTimeout)]
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, GateEvent::ApiAnswer { op: "restart", .. })));
    assert_pulses(&out.gate, 0, GATE_PULSE);
    assert_pulses(&out.fail, 1, FAIL_PULSE);
}

async fn with_fault(fault: Fault) -> (RunSummary, SimOutcome, Vec<GateEvent>) {
    let mut cfg = fast_config();
    cfg.api.request_timeout = ms(1000);
    let sim = simulation(cfg, Cast::All(Performer::Pass)).await;
    sim.standin()
        .expect("stand-in")
        .faults()
        .set_always(Some(fault));
    run(sim, 1).await
}

#[tokio::test]
async fn service_failures_keep_the_gate_shut_with_their_reason() {
    let cases = [
        (Fault::Status(401), DenyReason::KeyRejected),
        (Fault::Status(403), DenyReason::KeyRejected),
        (Fault::Status(429), DenyReason::OutOfCredit),
        (Fault::Status(503), DenyReason::ServiceUnavailable),
        (Fault::Garbled, DenyReason::ServiceUnavailable),
        (Fault::WrongTypes, DenyReason::ServiceUnavailable),
        (Fault::Drop, DenyReason::ServiceUnavailable),
        (Fault::Hang, DenyReason::ServiceUnavailable),
    ];
    for (fault, reason) in cases {
        let label = format!("{fault:?}");
        let (summary, out, events) = with_fault(fault).await;
        assert_eq!(summary.verdicts, vec![Verdict::Deny(reason)], "{label}");
        assert_eq!(
            verdicts(&events),
            vec![("deny", Some(reason.code()))],
            "{label}"
        );
        assert_pulses(&out.gate, 0, GATE_PULSE);
        assert_pulses(&out.fail, 1, FAIL_PULSE);
        assert!(
            out.display.screens().contains(&Screen::Fail { reason }),
            "{label}"
        );
    }
}

#[tokio::test]
async fn a_failure_mid_session_keeps_the_gate_shut() {
    let sim = simulation(fast_config(), Cast::All(Performer::Pass)).await;
    let faults = sim.standin().expect("stand-in").faults();
    // The GET works; the service breaks down before the last action.
    let (obs, events) = recorder();
    let trip = faults.clone();
    let obs2: Observer = Arc::new(move |e: &GateEvent| {
        if let GateEvent::ActionShown { step: 3, .. } = e {
            trip.set_always(Some(Fault::Status(500)));
        }
        obs(e);
    });
    let (summary, out) = sim.run(Some(1), Some(obs2), None).await.expect("run");
    assert_eq!(
        summary.verdicts,
        vec![Verdict::Deny(DenyReason::ServiceUnavailable)]
    );
    assert!(untimed(&events).iter().any(|e| matches!(
        e,
        GateEvent::ApiAnswer {
            error_class: Some("server"),
            ..
        }
    )));
    assert_pulses(&out.gate, 0, GATE_PULSE);
}

#[tokio::test]
async fn repeated_failures_lock_the_gate_out() {
    let mut cfg = fast_config();
    cfg.session.max_failures = 2;
    cfg.session.failure_window = Duration::from_secs(60);
    cfg.session.lockout = ms(1500);
    let sim = simulation(
        cfg,
        Cast::Cycle(vec![Performer::Fail, Performer::Fail, Performer::Pass]),
    )
    .await;
    let (summary, out, events) = run(sim, 3).await;
    assert_eq!(
        summary.verdicts,
        vec![
            Verdict::Deny(DenyReason::NotVerified),
            Verdict::Deny(DenyReason::NotVerified),
            Verdict::Pass
        ]
    );
    let locked = events
        .iter()
        .position(|e| matches!(e, GateEvent::LockedOut { secs: 1 }))
        .expect("a lockout after the second failure");
    let third = events
        .iter()
        .position(|e| matches!(e, GateEvent::SessionStarted { session: 3, .. }))
        .expect("third session");
    assert!(locked < third);
    assert!(out
        .display
        .screens()
        .iter()
        .any(|s| matches!(s, Screen::LockedOut { .. })));
    assert_pulses(&out.gate, 1, GATE_PULSE);
    assert_pulses(&out.fail, 2, FAIL_PULSE);
}

#[tokio::test]
async fn shutdown_mid_session_cancels_with_everything_off() {
    let mut cfg = fast_config();
    // A person who never acts in time: the session is still going when we stop.
    if let CameraConfig::Sim(c) = &mut cfg.camera {
        c.reaction = Duration::from_secs(30);
    }
    cfg.session.action_timeout = Duration::from_secs(10);
    let sim = simulation(cfg, Cast::All(Performer::Pass)).await;
    let (tx, rx) = watch::channel(false);
    let (obs, events) = recorder();
    let stopper: Observer = Arc::new(move |e: &GateEvent| {
        // Recorded before the stop is asked for: the run may end (and its events be
        // read) before this task would get to record it.
        obs(e);
        if matches!(e, GateEvent::FrameSent { .. }) {
            tx.send_replace(true);
        }
    });
    let (summary, out) = tokio::time::timeout(
        Duration::from_secs(60),
        sim.run(None, Some(stopper), Some(rx)),
    )
    .await
    .expect("stops well before the person or the action would time out")
    .expect("run");
    assert_eq!(summary.sessions, 1);
    assert_eq!(summary.passes, 0);
    assert_pulses(&out.gate, 0, GATE_PULSE);
    assert_pulses(&out.fail, 0, FAIL_PULSE);
    assert!(out.display.screens().contains(&Screen::Fail {
        reason: DenyReason::Cancelled
    }));
    assert!(untimed(&events)
        .iter()
        .any(|e| matches!(e, GateEvent::FrameSent { .. })));
}

#[tokio::test]
async fn shutdown_during_a_gate_pulse_ends_the_pulse() {
    let mut cfg = fast_config();
    let GpioConfig::Sim(g) = &mut cfg.gpio else {
        panic!("the default kinds are sim")
    };
    g.gate_pulse = Duration::from_secs(10);
    let sim = simulation(cfg, Cast::All(Performer::Pass)).await;
    let gate = sim.gate().clone();
    let (tx, rx) = watch::channel(false);
    let tx = Arc::new(tx);
    let stopped_at: Arc<Mutex<Option<Instant>>> = Arc::default();
    let stop_record = stopped_at.clone();
    let stopper: Observer = Arc::new(move |e: &GateEvent| {
        if matches!(e, GateEvent::RelayPulse { relay: "gate", .. }) {
            // Stop once the relay is on, 200 ms into the 10 s pulse.
            let (tx, gate, stop_record) = (tx.clone(), gate.clone(), stop_record.clone());
            tokio::spawn(async move {
                while !gate.is_active() {
                    tokio::time::sleep(ms(1)).await;
                }
                tokio::time::sleep(ms(200)).await;
                *stop_record.lock().unwrap() = Some(Instant::now());
                tx.send_replace(true);
            });
        }
    });
    let (summary, out) = tokio::time::timeout(
        Duration::from_secs(60),
        sim.run(None, Some(stopper), Some(rx)),
    )
    .await
    .expect("stops")
    .expect("run");
    assert_eq!(summary.passes, 1);
    let pulses = out.gate.pulses();
    assert_eq!(pulses.len(), 1);
    let stopped_at = stopped_at.lock().unwrap().expect("the stop was sent");
    let p = &pulses[0];
    // On until the stop (causality), off long before the 10 s were up.
    assert!(p.started + p.length >= stopped_at, "{p:?}");
    assert!(p.length >= ms(200), "{p:?}");
    assert!(p.started + p.length < stopped_at + SLACK, "{p:?}");
    assert!(!out.gate.is_active());
}

#[tokio::test]
async fn the_api_sees_the_key_and_the_frames_field_by_field() {
    let (summary, out, events) = one(Performer::Pass).await;
    assert_eq!(summary.passes, 1);
    let reqs = &out.api_requests;
    assert!(
        reqs.len() >= 4,
        "GET + at least three POSTs: {}",
        reqs.len()
    );
    assert!(reqs
        .iter()
        .all(|r| r.key_ok && !r.key_in_query && r.status == 200));
    assert!(reqs
        .iter()
        .all(|r| r.path == "/aiface/liveness-detection/v1"));
    let get = &reqs[0];
    assert_eq!(get.method, "GET");
    assert_eq!(get.query, vec![("mode".to_owned(), "3".to_owned())]);
    let request_id = events
        .iter()
        .find_map(|e| match e {
            GateEvent::ActionShown { request_id, .. } => Some(request_id.clone()),
            _ => None,
        })
        .expect("an action was shown");
    for post in &reqs[1..] {
        assert_eq!(post.method, "POST");
        assert_eq!(post.content_type.as_deref(), Some("application/json"));
        let body = post.body.as_ref().expect("a JSON body");
        let obj = body.as_object().expect("an object");
        assert_eq!(obj.len(), 2, "request_id and image only: {body}");
        assert_eq!(
            body["request_id"],
            serde_json::Value::String(request_id.clone())
        );
        let len = body["image"]["base64_len"].as_u64().expect("image length");
        assert!(len > 1000 && len % 4 == 0, "base64 of a JPEG: {len}");
    }
    // All over one kept-alive connection.
    assert!(
        reqs.iter().all(|r| r.peer == reqs[0].peer),
        "one connection"
    );
}

#[tokio::test]
async fn events_serialise_as_one_flat_json_object() {
    let (_, _, events) = one(Performer::Pass).await;
    let started = serde_json::to_value(&events[0]).unwrap();
    assert_eq!(started["event"], "session_started");
    assert_eq!(started["session"], 1);
    assert_eq!(started["source"], "sim");
    assert_eq!(started["note"], "performer=pass");
    let verdict = events
        .iter()
        .find(|e| matches!(e, GateEvent::Verdict { .. }))
        .map(|e| serde_json::to_value(e).unwrap())
        .unwrap();
    assert_eq!(verdict["event"], "verdict");
    assert_eq!(verdict["verdict"], "pass");
    assert!(verdict.get("reason").is_none());
    assert!(verdict["duration_ms"].as_u64().unwrap() > 0);
    let pulse = events
        .iter()
        .find(|e| matches!(e, GateEvent::RelayPulse { .. }))
        .map(|e| serde_json::to_value(e).unwrap())
        .unwrap();
    assert_eq!(
        pulse,
        serde_json::json!({"event": "relay_pulse", "relay": "gate", "ms": 300})
    );
}

/// One step of a scripted trigger.
enum Step {
    /// Waits this long.
    Wait(Duration),
    /// Waits until the gate relay is in this state (polled every millisecond).
    UntilGate(fn(&livegate::gpio::sim::SimRelay) -> bool),
    /// Waits until this holds (polled every millisecond).
    Until(Box<dyn Fn() -> bool + Send>),
    /// Sends this event.
    Send(livegate::trigger::TriggerEvent),
    /// The person in front of the camera changes (`None`: nobody there).
    Visitor(Option<Performer>),
    /// The trigger's channel is closed, as a `run` whose only trigger is the camera
    /// has no trigger task at all.
    CloseTrigger,
}

fn gate_on(g: &livegate::gpio::sim::SimRelay) -> bool {
    g.is_active()
}

fn gate_pulsed(g: &livegate::gpio::sim::SimRelay) -> bool {
    !g.is_active() && !g.pulses().is_empty()
}

/// A trigger that plays a script of steps, waiting on time or on the gate relay.
struct Scripted {
    visitor: watch::Sender<Option<livegate::camera::sim::Visitor>>,
    steps: Vec<Step>,
    gate: livegate::gpio::sim::SimRelay,
}

impl livegate::trigger::Trigger for Scripted {
    fn spawn(
        self: Box<Self>,
        events: tokio::sync::mpsc::Sender<livegate::trigger::TriggerEvent>,
        _state: watch::Receiver<livegate::trigger::GateState>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            self.visitor
                .send_replace(Some(livegate::camera::sim::Visitor {
                    performer: Performer::Pass,
                    reaction: ms(150),
                }));
            let mut events = Some(events);
            for step in self.steps {
                match step {
                    Step::Wait(d) => tokio::time::sleep(d).await,
                    Step::UntilGate(ok) => {
                        while !ok(&self.gate) {
                            tokio::time::sleep(ms(1)).await;
                        }
                    }
                    Step::Until(ok) => {
                        while !ok() {
                            tokio::time::sleep(ms(1)).await;
                        }
                    }
                    Step::Send(event) => {
                        let Some(tx) = &events else {
                            panic!("the script sends after closing the trigger")
                        };
                        if tx.send(event).await.is_err() {
                            return;
                        }
                    }
                    Step::CloseTrigger => events = None,
                    Step::Visitor(who) => {
                        self.visitor.send_replace(who.map(|performer| {
                            livegate::camera::sim::Visitor {
                                performer,
                                reaction: ms(150),
                            }
                        }));
                    }
                }
            }
            std::future::pending::<()>().await;
        })
    }
}

fn start_event() -> livegate::trigger::TriggerEvent {
    livegate::trigger::TriggerEvent::Start {
        source: "script",
        note: None,
        card: None,
    }
}

fn exit_event() -> livegate::trigger::TriggerEvent {
    livegate::trigger::TriggerEvent::Exit { source: "gpio" }
}

fn door(open: bool) -> livegate::trigger::TriggerEvent {
    livegate::trigger::TriggerEvent::Door { open }
}

/// Runs the daemon with a scripted trigger until `stop_when` sees an event; then
/// stops it once what the event announced has begun (a relay pulse: the relay has
/// switched on).
async fn run_scripted(
    cfg: Config,
    steps: Vec<Step>,
    door_held_open_after: Option<Duration>,
    stop_when: fn(&GateEvent) -> bool,
) -> ScriptedRun {
    run_scripted_with(cfg, steps, door_held_open_after, stop_when, None).await
}

/// What [`run_scripted`] returns: the summary, the gate and fail relays, the timed
/// events and the stand-in's requests.
type ScriptedRun = (
    RunSummary,
    livegate::gpio::sim::SimRelay,
    livegate::gpio::sim::SimRelay,
    Vec<(Instant, GateEvent)>,
    Vec<livegate::standin::Recorded>,
);

/// [`run_scripted`], with `watch` told every event too (a script can wait on it).
async fn run_scripted_with(
    cfg: Config,
    steps: Vec<Step>,
    door_held_open_after: Option<Duration>,
    stop_when: fn(&GateEvent) -> bool,
    watch: Option<Observer>,
) -> ScriptedRun {
    use livegate::api::AigenClient;
    use livegate::standin::Standin;

    let standin = Standin::start(StandinOptions::default()).await.unwrap();
    let mut opts = cfg.client_options();
    opts.base_url = standin.url();
    opts.key = StandinOptions::default().key;
    opts.only_extra_ca = true;
    opts.extra_ca_pem = vec![standin.ca_pem().to_vec()];
    let client = AigenClient::new(opts).unwrap();
    let (screen_tx, screen_rx) = watch::channel(Screen::Idle);
    let (visitor_tx, visitor_rx) = watch::channel(None);
    let CameraConfig::Sim(cam) = &cfg.camera else {
        panic!("the default kinds are sim")
    };
    let camera = livegate::camera::sim::SimCamera::new(cam, screen_rx, visitor_rx);
    let gate = livegate::gpio::sim::SimRelay::new("gate");
    let fail = livegate::gpio::sim::SimRelay::new("fail");
    let devices = livegate::daemon::Devices {
        camera: Box::new(camera),
        display: Box::new(livegate::display::sim::SimDisplay::default()),
        gate: Arc::new(gate.clone()),
        fail: Arc::new(fail.clone()),
        presence: presence_device(&cfg),
        trigger: Box::new(Scripted {
            visitor: visitor_tx,
            steps,
            gate: gate.clone(),
        }),
    };
    let (tx, rx) = watch::channel(false);
    let tx = Arc::new(tx);
    let (obs, events) = recorder();
    let relays = (gate.clone(), fail.clone());
    let stopper: Observer = Arc::new(move |e: &GateEvent| {
        obs(e);
        if let Some(w) = &watch {
            w(e);
        }
        if stop_when(e) {
            let tx = tx.clone();
            let relay = match e {
                GateEvent::RelayPulse { relay: "gate", .. } => Some(relays.0.clone()),
                GateEvent::RelayPulse { .. } => Some(relays.1.clone()),
                _ => None,
            };
            tokio::spawn(async move {
                if let Some(r) = relay {
                    while !r.is_active() && r.pulses().is_empty() {
                        tokio::time::sleep(ms(1)).await;
                    }
                }
                tx.send_replace(true);
            });
        }
    });
    let summary = tokio::time::timeout(
        Duration::from_secs(60),
        livegate::daemon::run(
            &cfg.daemon_settings(),
            client,
            devices,
            livegate::daemon::RunOptions {
                max_sessions: None,
                observer: Some(stopper),
                shutdown: Some(rx),
                screen_tx: Some(screen_tx),
                door_held_open_after,
                ..Default::default()
            },
        ),
    )
    .await
    .expect("stops")
    .unwrap();
    let events = events.lock().unwrap().clone();
    (summary, gate, fail, events, standin.requests())
}

/// The face detector as `devices.rs` makes it for the simulated camera: the scene's
/// twin on its own thread; `None` when `[presence]` is off.
fn presence_device(cfg: &Config) -> Option<livegate::daemon::PresenceDevice> {
    use livegate::presence::{twin::SceneTwin, Eyes, FaceDetector};
    cfg.presence_params()?;
    let eyes = Eyes::spawn(Box::new(
        || Ok(Box::new(SceneTwin) as Box<dyn FaceDetector>),
    ))
    .expect("the detector's thread");
    Some(livegate::daemon::PresenceDevice {
        eyes,
        camera_trigger: cfg.trigger.kind() == "camera",
    })
}

fn events_only(timed: &[(Instant, GateEvent)]) -> Vec<GateEvent> {
    timed.iter().map(|(_, e)| e.clone()).collect()
}

#[tokio::test]
async fn one_session_at_a_time() {
    // Three starts at once, like a bouncing button; stop once the gate pulses.
    let steps = vec![
        Step::Send(start_event()),
        Step::Send(start_event()),
        Step::Send(start_event()),
    ];
    let (summary, gate, _fail, events, requests) = run_scripted(fast_config(), steps, None, |e| {
        matches!(e, GateEvent::RelayPulse { .. })
    })
    .await;
    let events = events_only(&events);
    assert_eq!(
        summary.sessions, 1,
        "the second and third start were ignored"
    );
    assert_eq!(summary.verdicts, vec![Verdict::Pass]);
    let gets = requests.iter().filter(|r| r.method == "GET").count();
    assert_eq!(gets, 1, "one sequence asked for");
    let started = events
        .iter()
        .filter(|e| matches!(e, GateEvent::SessionStarted { .. }))
        .count();
    assert_eq!(started, 1);
    // Stopped during the pulse: it ended at once, and the relay is off.
    assert_eq!(gate.pulses().len(), 1);
    assert!(!gate.is_active());
}

#[tokio::test]
async fn request_to_exit_opens_without_a_check_and_is_logged() {
    let steps = vec![Step::Send(exit_event())];
    let (summary, gate, fail, events, requests) = run_scripted(fast_config(), steps, None, |e| {
        matches!(e, GateEvent::RelayPulse { .. })
    })
    .await;
    let events = events_only(&events);
    assert_eq!(summary.sessions, 0);
    assert!(requests.is_empty(), "no API call for an exit");
    assert!(events.contains(&GateEvent::ExitOpened {
        source: "gpio".into()
    }));
    assert_eq!(gate.pulses().len(), 1);
    assert_eq!(fail.pulses().len(), 0);
}

#[tokio::test]
async fn exit_pressed_during_a_gate_pulse_extends_it_into_one_pulse() {
    // A 1 s pulse, the second press 300 ms after the relay is on: it lands inside
    // the pulse unless the daemon stalls for 700 ms.
    let pulse = ms(1000);
    let mut cfg = fast_config();
    let GpioConfig::Sim(g) = &mut cfg.gpio else {
        panic!("the default kinds are sim")
    };
    g.gate_pulse = pulse;
    let steps = vec![
        Step::Send(exit_event()),
        Step::UntilGate(gate_on),
        Step::Wait(ms(300)),
        Step::Send(exit_event()),
        // Once the relay is at rest again, end the run.
        Step::UntilGate(gate_pulsed),
        Step::Send(start_event()),
    ];
    let (_, gate, _, events, _) = run_scripted(cfg, steps, None, |e| {
        matches!(e, GateEvent::SessionStarted { .. })
    })
    .await;
    let asked: Vec<Instant> = events
        .iter()
        .filter_map(|(t, e)| matches!(e, GateEvent::RelayPulse { relay: "gate", .. }).then_some(*t))
        .collect();
    assert_eq!(asked.len(), 2, "two pulses asked for");
    let p = gate.pulses();
    assert_eq!(p.len(), 1, "the relay switched on once: {p:?}");
    let (on, off) = (p[0].started, p[0].started + p[0].length);
    assert!(asked[1] > on, "the second press came during the pulse");
    // Each press is told before its pulse is asked for, so the relay stays on for
    // a whole pulse after the second press; and it ends soon after that.
    assert!(off >= asked[1] + pulse, "{:?}", p[0]);
    assert!(p[0].length >= pulse, "{:?}", p[0]);
    assert!(off < asked[1] + pulse + SLACK, "{:?}", p[0]);
}

#[tokio::test]
async fn a_door_held_open_raises_the_alarm() {
    let steps = vec![Step::Send(door(true))];
    let t0 = Instant::now();
    let (_, gate, fail, events, _) = run_scripted(fast_config(), steps, Some(ms(300)), |e| {
        matches!(e, GateEvent::RelayPulse { relay: "fail", .. })
    })
    .await;
    let events = events_only(&events);
    // Causal: the alarm cannot come before the door was open for 300 ms.
    assert!(t0.elapsed() >= ms(300));
    assert!(events
        .iter()
        .any(|e| matches!(e, GateEvent::DoorHeldOpen { .. })));
    assert_eq!(fail.pulses().len(), 1);
    assert_eq!(gate.pulses().len(), 0);
}

#[tokio::test]
async fn a_door_closed_in_time_raises_nothing() {
    // Closed 100 ms after it opened, with 2 s allowed: only a 1.9 s stall of the
    // daemon could raise the alarm.
    let steps = vec![
        Step::Send(door(true)),
        Step::Wait(ms(100)),
        Step::Send(door(false)),
        Step::Wait(ms(500)),
        Step::Send(exit_event()),
    ];
    let (_, _gate, fail, events, _) = run_scripted(fast_config(), steps, Some(ms(2000)), |e| {
        matches!(e, GateEvent::ExitOpened { .. })
    })
    .await;
    assert!(!events_only(&events)
        .iter()
        .any(|e| matches!(e, GateEvent::DoorHeldOpen { .. })));
    assert_eq!(fail.pulses().len(), 0);
}

mod commissioning {
    use super::*;
    use livegate::commission::api::{test_api, ApiTestError, Sequence};
    use livegate::standin::Standin;

    async fn options(standin: &Standin, key: &str) -> livegate::api::ClientOptions {
        let mut opts = fast_config().client_options();
        opts.base_url = standin.url();
        opts.key = livegate::secret::ApiKey::new(key);
        opts.only_extra_ca = true;
        opts.extra_ca_pem = vec![standin.ca_pem().to_vec()];
        opts
    }

    /// The configured sequence: `api.mode`, `api.part`, `api.select`.
    fn configured(select: &[&str]) -> Sequence {
        Sequence {
            mode: 2,
            part: Some(livegate::actions::Part::Face),
            select: select.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[tokio::test]
    async fn test_api_asks_for_the_configured_sequence_and_posts_no_frame() {
        let standin = Standin::start(StandinOptions::default()).await.unwrap();
        let mut out = Vec::new();
        let sequence = configured(&["Turn_left", "Smile"]);
        let report = test_api(
            options(&standin, "standin-key").await,
            &sequence,
            2,
            &mut out,
        )
        .await
        .unwrap();
        assert_eq!(report.latencies.len(), 2);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                "Asking for 2 actions (api.mode), part face (api.part), from Turn_left, Smile \
                 (api.select). Each request opens one liveness session on the account: 2 \
                 sessions in all, no frame sent."
            ),
            "{text}"
        );
        assert!(text.contains("request 1: key accepted"), "{text}");
        assert!(text.contains("API OK: the key is accepted"), "{text}");
        let reqs = standin.requests();
        assert_eq!(reqs.len(), 2);
        assert!(reqs.iter().all(|r| r.method == "GET"));
        let q = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            reqs[0].query,
            vec![
                q("mode", "2"),
                q("part", "face"),
                q("select", "Turn_left"),
                q("select", "Smile")
            ]
        );
    }

    #[tokio::test]
    async fn test_api_finds_a_select_the_service_refuses() {
        let standin = Standin::start(StandinOptions::default()).await.unwrap();
        let mut out = Vec::new();
        let sequence = configured(&["Turn_left", "Wave"]);
        let err = test_api(
            options(&standin, "standin-key").await,
            &sequence,
            1,
            &mut out,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ApiTestError::Api { .. }), "{err:?}");
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("Check api.mode, api.part and api.select"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn test_api_explains_a_rejected_key_without_showing_it() {
        let standin = Standin::start(StandinOptions::default()).await.unwrap();
        let mut out = Vec::new();
        let err = test_api(
            options(&standin, "wrong-secret-key").await,
            &configured(&[]),
            1,
            &mut out,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ApiTestError::Api { .. }));
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("API problem: The service rejected the API key"),
            "{text}"
        );
        assert!(!text.contains("wrong-secret-key"));
        assert!(!format!("{err:?}").contains("wrong-secret-key"));
    }
}

mod watchdog {
    use super::*;
    use livegate::notify::{spawn_watchdog, Heartbeat, Notifier};
    use std::os::unix::net::UnixDatagram;

    /// The daemon's loop stalls (an observer blocks its thread for 1.5 s): the
    /// watchdog pings stop during the stall and resume after it.
    ///
    /// Real time (a blocked thread is the point), so nothing is timed here: the
    /// observer writes markers into the same socket as the pings, and datagrams
    /// keep their order. No ping may lie between a marker sent 1 s into the stall
    /// (a loaded machine would have to hold a ping back for 800 ms past its 200 ms
    /// period to get one there) and the marker sent at its end; pings before and
    /// after are waited for, not counted against a clock.
    #[tokio::test]
    async fn pings_stop_while_the_loop_is_stuck() {
        let dir = std::env::temp_dir().join(format!("livegate-wd-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock_path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&sock_path);
        let sock = UnixDatagram::bind(&sock_path).unwrap();
        sock.set_read_timeout(Some(ms(100))).unwrap();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop_reading = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (stop, seen) = (stop_reading.clone(), seen.clone());
            std::thread::spawn(move || {
                let mut buf = [0u8; 256];
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Ok(n) = sock.recv(&mut buf) {
                        let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                        seen.lock().unwrap().push(msg);
                    }
                }
            })
        };
        let count = |seen: &[String], after: Option<&str>| -> usize {
            let from = after.map_or(0, |m| {
                seen.iter()
                    .position(|s| s == m)
                    .map_or(seen.len(), |i| i + 1)
            });
            seen[from..].iter().filter(|s| *s == "WATCHDOG=1").count()
        };
        let notifier = Arc::new(Notifier::to_path(&sock_path).unwrap());
        let marker = UnixDatagram::unbound().unwrap();
        let heartbeat = Heartbeat::new();
        let interval = ms(400);
        let wd = spawn_watchdog(notifier, heartbeat.clone(), interval);

        let (tx, rx) = watch::channel(false);
        let tx = Arc::new(tx);
        let observer: Observer = {
            let (seen, sock_path) = (seen.clone(), sock_path.clone());
            Arc::new(move |e: &GateEvent| {
                if matches!(e, GateEvent::SessionStarted { .. }) {
                    std::thread::sleep(ms(1000));
                    marker.send_to(b"STALL", &sock_path).unwrap();
                    std::thread::sleep(ms(500));
                    marker.send_to(b"RESUMED", &sock_path).unwrap();
                    // Stop once two pings came after the stall.
                    let (tx, seen) = (tx.clone(), seen.clone());
                    tokio::spawn(async move {
                        while count(&seen.lock().unwrap(), Some("RESUMED")) < 2 {
                            tokio::time::sleep(ms(5)).await;
                        }
                        tx.send_replace(true);
                    });
                }
            })
        };
        let mut cfg = fast_config();
        // No real session: the API is unreachable and the answer does not matter.
        cfg.api.base_url = "https://127.0.0.1:9/x".into();
        let (screen_tx, screen_rx) = watch::channel(Screen::Idle);
        let (visitor_tx, visitor_rx) = watch::channel(None);
        let CameraConfig::Sim(cam) = &cfg.camera else {
            panic!("the default kinds are sim")
        };
        let gate = livegate::gpio::sim::SimRelay::new("gate");
        // The session starts once the watchdog has pinged twice.
        let waiting = seen.clone();
        let devices = livegate::daemon::Devices {
            camera: Box::new(livegate::camera::sim::SimCamera::new(
                cam, screen_rx, visitor_rx,
            )),
            display: Box::new(livegate::display::sim::SimDisplay::default()),
            gate: Arc::new(gate.clone()),
            fail: Arc::new(livegate::gpio::sim::SimRelay::new("fail")),
            presence: None,
            trigger: Box::new(Scripted {
                visitor: visitor_tx,
                steps: vec![
                    Step::Until(Box::new(move || {
                        let seen = waiting.lock().unwrap();
                        seen.iter().filter(|s| *s == "WATCHDOG=1").count() >= 2
                    })),
                    Step::Send(start_event()),
                ],
                gate: gate.clone(),
            }),
        };
        let mut opts = cfg.client_options();
        opts.key = livegate::secret::ApiKey::new("k");
        let client = livegate::api::AigenClient::new(opts).unwrap();
        let beat = heartbeat.clone();
        tokio::time::timeout(
            Duration::from_secs(120),
            livegate::daemon::run(
                &cfg.daemon_settings(),
                client,
                devices,
                livegate::daemon::RunOptions {
                    observer: Some(observer),
                    shutdown: Some(rx),
                    screen_tx: Some(screen_tx),
                    heartbeat: Some((Arc::new(move || beat.beat()), interval / 4)),
                    ..Default::default()
                },
            ),
        )
        .await
        .expect("the run ends once pings resumed")
        .unwrap();
        wd.abort();
        stop_reading.store(true, std::sync::atomic::Ordering::Relaxed);
        reader.join().unwrap();
        let seen = seen.lock().unwrap().clone();
        let stall = seen.iter().position(|s| s == "STALL").expect("stalled");
        let resumed = seen.iter().position(|s| s == "RESUMED").expect("resumed");
        assert!(count(&seen[..stall], None) >= 2, "pings before: {seen:?}");
        assert_eq!(
            count(&seen[stall..resumed], None),
            0,
            "pings during the stall: {seen:?}"
        );
        assert!(count(&seen, Some("RESUMED")) >= 2, "{seen:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A session started by a card counts against that card too: the same card again
/// within the cooldown is refused on its own account (`card_cooldown`), before the
/// device's limits are asked; the card is shown only per `show_card` (last 4).
#[tokio::test]
async fn a_card_is_refused_on_its_own_cooldown() {
    use livegate_core::wiegand::{Card, Format};
    let card = Card::new(Format::W26, 3, 48765).unwrap();
    let with_card = || livegate::trigger::TriggerEvent::Start {
        source: "wiegand",
        note: None,
        card: Some(card),
    };
    let mut cfg = fast_config();
    cfg.session.cooldown = Duration::from_secs(30);
    let steps = vec![
        Step::Send(with_card()),
        Step::UntilGate(gate_pulsed),
        Step::Send(with_card()),
    ];
    let (summary, _gate, _fail, events, _) =
        run_scripted(cfg, steps, None, |e| matches!(e, GateEvent::Refused { .. })).await;
    let events = events_only(&events);
    assert_eq!(summary.sessions, 1);
    assert!(events.iter().any(|e| matches!(
        e,
        GateEvent::SessionStarted { card: Some(c), .. } if c == "…8765"
    )));
    assert!(
        events.iter().any(|e| matches!(
            e,
            GateEvent::Refused {
                reason: "card_cooldown",
                ..
            }
        )),
        "{events:#?}"
    );
}

// ---------------------------------------------------------------------------
// Presence: no billed session without a face in view.

fn sessions_started(events: &[GateEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            GateEvent::SessionStarted { source, .. } => Some(source.clone()),
            _ => None,
        })
        .collect()
}

/// An observer that counts the events `which` picks, and the count.
fn counter(which: fn(&GateEvent) -> bool) -> (Observer, Arc<Mutex<usize>>) {
    let count: Arc<Mutex<usize>> = Arc::default();
    let c = count.clone();
    let obs: Observer = Arc::new(move |e: &GateEvent| {
        if which(e) {
            *c.lock().unwrap() += 1;
        }
    });
    (obs, count)
}

/// Whether the stand-in was ever sent a frame with nobody in it.
fn nobody_posted(requests: &[livegate::standin::Recorded]) -> bool {
    use livegate::standin::scene::{Seen, Subject};
    requests
        .iter()
        .any(|r| r.seen == Some(Seen::Subject(Subject::Nobody)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_in_view_starts_no_session_and_makes_no_api_call() {
    // The simulated visitors press the button (a GPIO or socket trigger alike:
    // any source but the camera asks), with nobody in front of the camera.
    let (summary, out, events) = run(
        simulation(fast_config(), Cast::All(Performer::Absent)).await,
        2,
    )
    .await;
    assert_eq!(summary.sessions, 0);
    assert_eq!(summary.no_face, 2);
    assert!(sessions_started(&events).is_empty(), "{events:?}");
    let turned_away = events
        .iter()
        .filter(|e| matches!(e, GateEvent::NoFace { source } if source == "sim"))
        .count();
    assert_eq!(turned_away, 2);
    // The stand-in's side: not one request.
    assert!(out.api_requests.is_empty(), "{:?}", out.api_requests);
    // The panel: the guidance, drawn as every panel draws it.
    let step_in = Screen::Guide {
        guidance: livegate::presence::Guidance::StepInFront,
    };
    let frames = out.display.frames();
    let (_, drawn) = frames
        .iter()
        .find(|(s, _)| *s == step_in)
        .expect("the panel said: step in front of the camera");
    assert_eq!(
        *drawn,
        livegate::display::screens::render(&step_in, 128, 64)
    );
    let text = out.metrics.render();
    assert!(
        text.lines().any(|l| l == "livegate_no_face_total 2"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "livegate_sessions_total 0"),
        "{text}"
    );
    assert_pulses(&out.gate, 0, GATE_PULSE);
    assert_pulses(&out.fail, 0, FAIL_PULSE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_in_view_still_passes_and_every_frame_posted_has_them_in_it() {
    let (summary, out, events) = one(Performer::Pass).await;
    assert_eq!(summary.verdicts, vec![Verdict::Pass]);
    assert_eq!(summary.no_face, 0);
    let posts = out
        .api_requests
        .iter()
        .filter(|r| r.method == "POST" && r.seen.is_some())
        .count();
    assert!(posts > 0);
    assert!(!nobody_posted(&out.api_requests));
    let sent = events
        .iter()
        .filter(|e| matches!(e, GateEvent::FrameSent { .. }))
        .count();
    assert_eq!(sent, posts);
    assert_pulses(&out.gate, 1, GATE_PULSE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_without_a_face_mid_session_are_not_posted() {
    // The person leaves the picture after the first frame was sent, and comes
    // back a while later.
    let (sent, sent_count) = counter(|e| matches!(e, GateEvent::FrameSent { .. }));
    let (held, held_count) = counter(|e| matches!(e, GateEvent::FrameHeld { .. }));
    let watched: Observer = Arc::new(move |e: &GateEvent| {
        sent(e);
        held(e);
    });
    let steps = vec![
        Step::Send(start_event()),
        Step::Until(Box::new(move || *sent_count.lock().unwrap() >= 1)),
        Step::Visitor(None),
        Step::Until(Box::new(move || *held_count.lock().unwrap() >= 1)),
        // A few frame intervals with nobody there.
        Step::Wait(ms(600)),
        Step::Visitor(Some(Performer::Pass)),
    ];
    let (summary, _, _, timed, requests) = run_scripted_with(
        fast_config(),
        steps,
        None,
        |e| matches!(e, GateEvent::Verdict { .. }),
        Some(watched),
    )
    .await;
    let events = events_only(&timed);
    assert_eq!(summary.verdicts, vec![Verdict::Pass], "{events:?}");
    let held: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            GateEvent::FrameHeld { guidance, .. } => Some(*guidance),
            _ => None,
        })
        .collect();
    assert!(held.len() >= 2, "{held:?}");
    assert!(held.iter().all(|g| *g == "face_the_camera"), "{held:?}");
    // The stand-in never got a frame of nobody.
    assert!(!nobody_posted(&requests), "a faceless frame was posted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_only_the_camera_as_trigger_the_gate_runs_on_without_a_trigger_task() {
    // `run` with `[trigger] kind = "camera"` spawns no trigger task: a closed
    // trigger channel must not end the daemon (it once stopped with "the trigger
    // stopped" before anyone came). A passing person, there from the start.
    let mut cfg = fast_config();
    cfg.trigger = livegate::config::TriggerConfig::Camera;
    let (summary, _, _, timed, requests) = run_scripted_with(
        cfg,
        vec![Step::CloseTrigger],
        None,
        |e| matches!(e, GateEvent::Verdict { .. }),
        None,
    )
    .await;
    let events = events_only(&timed);
    assert_eq!(sessions_started(&events), vec!["camera"], "{events:?}");
    assert_eq!(summary.verdicts, vec![Verdict::Pass]);
    assert!(!nobody_posted(&requests));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_camera_starts_exactly_one_session_per_arrival() {
    let mut cfg = fast_config();
    cfg.trigger = livegate::config::TriggerConfig::Camera;
    let (watched, done) = counter(|e| matches!(e, GateEvent::Verdict { .. }));
    let (first, second) = (done.clone(), done);
    // The visitor (a passing person, there from the start) stays in view well
    // after the verdict, leaves, and comes back.
    let steps = vec![
        Step::Until(Box::new(move || *first.lock().unwrap() >= 1)),
        Step::Wait(ms(1500)),
        Step::Visitor(None),
        Step::Wait(ms(800)),
        Step::Visitor(Some(Performer::Pass)),
        Step::Until(Box::new(move || *second.lock().unwrap() >= 2)),
        // Still there: no third session. The exit button ends the script.
        Step::Wait(ms(1500)),
        Step::Send(exit_event()),
    ];
    let (summary, _, _, timed, requests) = run_scripted_with(
        cfg,
        steps,
        None,
        |e| matches!(e, GateEvent::ExitOpened { .. }),
        Some(watched),
    )
    .await;
    let events = events_only(&timed);
    assert_eq!(
        sessions_started(&events),
        vec!["camera", "camera"],
        "{events:?}"
    );
    assert_eq!(summary.verdicts, vec![Verdict::Pass, Verdict::Pass]);
    assert!(!nobody_posted(&requests));
}

//! The imperative shell: wires a trigger, the session core, the API client, the
//! camera, the display and the relays, and carries out what the core decides.
//!
//! One session at a time; at most one API call in flight; only the newest frame
//! captured after the current prompt is ever posted. The relays are pulsed here and
//! nowhere else, and only on [`Command::OpenGate`] / [`Command::SignalFail`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::api::{AigenClient, Answer, ApiError, RequestId};
use crate::camera::{FrameSlot, FrameSource};
use crate::config::Config;
use crate::display::{Display, Screen};
use crate::gatekeeper::{Admission, Gatekeeper};
use crate::gpio::{self, Relay};
use crate::session::{self, Command, Event, Params, Session, Verdict};
use crate::trigger::{GateState, Trigger, TriggerEvent};

/// How often a failing display is shown its screen again.
const DISPLAY_RETRY: Duration = Duration::from_secs(5);

/// A frame older than this is never posted, whatever else holds.
const MAX_FRAME_AGE: Duration = Duration::from_secs(1);

/// The hardware (or its simulated twins) the daemon drives.
pub struct Devices {
    pub camera: Box<dyn FrameSource>,
    pub display: Box<dyn Display>,
    pub gate: Arc<dyn Relay>,
    pub fail: Arc<dyn Relay>,
    pub trigger: Box<dyn Trigger>,
}

/// Something that wants to hear about every [`GateEvent`] (the `--events json`
/// printer, tests).
pub type Observer = Arc<dyn Fn(&GateEvent) + Send + Sync>;

/// Options of one daemon run.
#[derive(Default)]
pub struct RunOptions {
    /// Stop after this many sessions (simulation); `None` runs until shutdown.
    pub max_sessions: Option<u64>,
    pub observer: Option<Observer>,
    /// Set to `true` to stop: the session in progress is cancelled with the gate shut.
    pub shutdown: Option<watch::Receiver<bool>>,
    /// Published with every screen shown (the simulated person watches it).
    pub screen_tx: Option<watch::Sender<Screen>>,
    /// Raise the held-open alarm when the door stays open this long (door contact).
    pub door_held_open_after: Option<Duration>,
}

/// Everything worth telling about a run, one JSON object per line with `--events json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum GateEvent {
    SessionStarted {
        session: u64,
        source: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    ActionShown {
        session: u64,
        request_id: String,
        action: String,
        words: String,
        step: u8,
        total: u8,
    },
    FrameSent {
        session: u64,
        request_id: String,
        bytes: usize,
        latency_ms: u64,
        frame_age_ms: u64,
    },
    ApiAnswer {
        session: u64,
        op: &'static str,
        latency_ms: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_choice: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error_class: Option<&'static str>,
    },
    Verdict {
        session: u64,
        verdict: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        words: Option<&'static str>,
        duration_ms: u64,
        restarts: u8,
    },
    RelayPulse {
        relay: &'static str,
        ms: u64,
    },
    Refused {
        reason: &'static str,
        secs_left: u64,
    },
    LockedOut {
        secs: u64,
    },
    /// The request-to-exit button opened the gate without a check.
    ExitOpened {
        source: String,
    },
    /// The door has been open longer than allowed.
    DoorHeldOpen {
        secs: u64,
    },
}

/// Counts of a finished run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub sessions: u64,
    pub passes: u64,
    pub verdicts: Vec<Verdict>,
}

/// Why the daemon stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("the trigger stopped")]
    TriggerGone,
}

/// What a finished API task reports back.
struct Done {
    event: Event,
    sent_seq: Option<u64>,
}

struct Active {
    number: u64,
    session: Session,
    wake: Option<Instant>,
    inflight: Option<JoinHandle<Done>>,
    last_seq: Option<u64>,
    shown_prompt: Option<(String, u8, u32)>,
}

/// Awaits the task if there is one; pends forever otherwise (for `select!`).
async fn join_opt(h: &mut Option<JoinHandle<Done>>) -> Option<Done> {
    match h {
        Some(h) => h.await.ok(),
        None => std::future::pending().await,
    }
}

/// Resolves when `true` is sent; never, when the sender is gone without sending it.
async fn stop_requested(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn sleep_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

/// Runs the gate until shutdown (or `max_sessions`). Relays are at their safe level
/// when this returns, on every path.
pub async fn run(
    cfg: &Config,
    client: AigenClient,
    devices: Devices,
    opts: RunOptions,
) -> Result<RunSummary, DaemonError> {
    let Devices {
        camera,
        display,
        gate,
        fail,
        trigger,
    } = devices;
    // Safe level first, before anything else can run.
    for r in [&gate, &fail] {
        gpio::register(r);
        if let Err(e) = r.set(false) {
            warn!(output = r.name(), error = %e, "cannot drive output to its safe level");
        }
    }
    let observer = opts.observer.clone();
    let emit = move |e: GateEvent| {
        if let Some(o) = &observer {
            o(&e);
        }
    };
    let screen_tx = opts
        .screen_tx
        .unwrap_or_else(|| watch::channel(Screen::Idle).0);
    let display_task = spawn_display(display, screen_tx.subscribe());
    let slot = FrameSlot::new();
    let camera_task = camera.spawn(slot.clone());
    let (state_tx, state_rx) = watch::channel(GateState::Ready);
    let (trig_tx, mut trig_rx) = mpsc::channel(8);
    let trigger_task = trigger.spawn(trig_tx, state_rx);
    let mut shutdown = opts.shutdown.unwrap_or_else(|| watch::channel(false).1);

    let params = Params::from_config(cfg);
    let mut keeper = Gatekeeper::new(&cfg.session);
    let mut summary = RunSummary::default();
    let mut active: Option<Active> = None;
    let mut pulses: Vec<JoinHandle<()>> = Vec::new();
    // When the verdict screen ends / the cooldown or lockout is over.
    let mut housekeeping: Option<Instant> = None;
    // The door contact: open since, and when the held-open alarm is due.
    let mut door_open_since: Option<Instant> = None;
    let mut door_alarm_at: Option<Instant> = None;
    let show = |s: Screen| {
        screen_tx.send_if_modified(|cur| {
            let changed = *cur != s;
            *cur = s;
            changed
        });
    };
    show(Screen::Idle);
    let result = loop {
        if opts.max_sessions.is_some_and(|n| summary.sessions >= n)
            && active.is_none()
            && housekeeping.is_none()
        {
            break Ok(());
        }
        let wake = active.as_ref().and_then(|a| a.wake);
        let inflight = active.as_mut().map(|a| &mut a.inflight);
        let mut no_inflight = None;
        let inflight = inflight.unwrap_or(&mut no_inflight);
        tokio::select! {
            biased;
            () = stop_requested(&mut shutdown) => {
                info!("stopping");
                break Ok(());
            }
            done = join_opt(inflight) => {
                let Some(a) = active.as_mut() else { continue };
                a.inflight = None;
                let Some(done) = done else {
                    warn!("an API task ended abnormally");
                    continue;
                };
                if let Some(seq) = done.sent_seq {
                    a.last_seq = Some(seq);
                }
                let cmds = a.session.handle(Instant::now(), done.event);
                execute(cmds, &mut active, &client, &slot, &params, cfg, &emit, &show, &gate, &fail, &mut pulses);
            }
            _ = sleep_opt(wake) => {
                let Some(a) = active.as_mut() else { continue };
                a.wake = None;
                let cmds = a.session.handle(Instant::now(), Event::Tick);
                execute(cmds, &mut active, &client, &slot, &params, cfg, &emit, &show, &gate, &fail, &mut pulses);
            }
            _ = sleep_opt(housekeeping) => {
                housekeeping = None;
            }
            _ = sleep_opt(door_alarm_at) => {
                let now = Instant::now();
                let open_for = door_open_since.map(|t| now.saturating_duration_since(t)).unwrap_or_default();
                warn!(secs = open_for.as_secs(), "door held open");
                emit(GateEvent::DoorHeldOpen { secs: open_for.as_secs() });
                pulses.push(spawn_pulse(fail.clone(), gpio_pulse(cfg, false), emit.clone()));
                door_alarm_at = opts.door_held_open_after.map(|d| now + d);
            }
            ev = trig_rx.recv() => {
                let Some(ev) = ev else { break Err(DaemonError::TriggerGone) };
                let now = Instant::now();
                match ev {
                    TriggerEvent::Cancel { source } => {
                        if let Some(a) = active.as_mut() {
                            info!(source, "session cancelled");
                            let cmds = a.session.handle(now, Event::Cancel);
                            execute(cmds, &mut active, &client, &slot, &params, cfg, &emit, &show, &gate, &fail, &mut pulses);
                        }
                    }
                    TriggerEvent::Exit { source } => {
                        // Egress is never checked: the request-to-exit button opens the
                        // gate directly. This is the one path to the gate relay outside
                        // the session core, and it is logged as such.
                        warn!(source, "request-to-exit: gate opened without a liveness check");
                        emit(GateEvent::ExitOpened { source: source.to_owned() });
                        pulses.push(spawn_pulse(gate.clone(), gpio_pulse(cfg, true), emit.clone()));
                    }
                    TriggerEvent::Door { open } => {
                        info!(open, "door contact");
                        if open {
                            door_open_since.get_or_insert(now);
                            if door_alarm_at.is_none() {
                                door_alarm_at = opts.door_held_open_after.map(|d| now + d);
                            }
                        } else {
                            door_open_since = None;
                            door_alarm_at = None;
                        }
                    }
                    TriggerEvent::Start { source, note } => {
                        if active.is_some() {
                            debug!(source, "trigger ignored: a session is in progress");
                        } else if opts.max_sessions.is_some_and(|n| summary.sessions >= n) {
                            debug!(source, "trigger ignored: session limit reached");
                        } else {
                            match keeper.admit(now) {
                                Admission::Admit => {
                                    summary.sessions += 1;
                                    let number = summary.sessions;
                                    info!(session = number, source, note = note.as_deref().unwrap_or(""), "session started");
                                    emit(GateEvent::SessionStarted { session: number, source: source.to_owned(), note });
                                    let (session, cmds) = Session::start(params.clone(), now);
                                    active = Some(Active { number, session, wake: None, inflight: None, last_seq: None, shown_prompt: None });
                                    execute(cmds, &mut active, &client, &slot, &params, cfg, &emit, &show, &gate, &fail, &mut pulses);
                                }
                                Admission::CoolingDown { until } => {
                                    debug!(source, "trigger ignored: cooling down");
                                    emit(GateEvent::Refused { reason: "cooldown", secs_left: until.saturating_duration_since(now).as_secs() });
                                }
                                Admission::LockedOut { until } => {
                                    let left = until.saturating_duration_since(now);
                                    info!(source, secs_left = left.as_secs(), "trigger refused: locked out");
                                    emit(GateEvent::Refused { reason: "locked_out", secs_left: left.as_secs() });
                                    show(Screen::LockedOut { secs_left: left.as_secs().max(1) as u32 });
                                    housekeeping = Some(now + cfg.session.verdict_screen);
                                }
                            }
                        }
                    }
                }
            }
        }
        pulses.retain(|p| !p.is_finished());
        // A session that just finished: record it, schedule the screens after it.
        let now = Instant::now();
        if let Some(v) = active.as_ref().and_then(|a| a.session.verdict()) {
            if let Some(a) = active.take() {
                if let Some(h) = a.inflight {
                    h.abort();
                }
            }
            summary.verdicts.push(v);
            if v == Verdict::Pass {
                summary.passes += 1;
            }
            if let Some(until) = keeper.record(now, v) {
                let secs = until.saturating_duration_since(now).as_secs();
                warn!(secs, "too many failed attempts: locked out");
                emit(GateEvent::LockedOut { secs });
            }
            housekeeping = Some(now + cfg.session.verdict_screen.max(cfg.session.cooldown));
        }
        // Idle screen and readiness once nothing is pending.
        if active.is_none() && housekeeping.is_none_or(|t| t <= now) {
            housekeeping = None;
            if let Some(until) = keeper.locked_until(now) {
                let left = until.saturating_duration_since(now);
                show(Screen::LockedOut {
                    secs_left: left.as_secs().max(1) as u32,
                });
                // Refresh the countdown each minute (each second in the last minute).
                let step = if left > Duration::from_secs(60) {
                    Duration::from_secs(left.as_secs() % 60 + 1).min(left)
                } else {
                    Duration::from_secs(1).min(left)
                };
                housekeeping = Some(now + step.max(Duration::from_millis(10)));
            } else if let Admission::CoolingDown { until } = keeper.admit(now) {
                housekeeping = Some(until);
            } else {
                show(Screen::Idle);
            }
        }
        let state = match (&active, keeper.admit(now)) {
            (Some(_), _) => GateState::Busy,
            (None, Admission::LockedOut { .. }) => GateState::LockedOut,
            (None, _) if housekeeping.is_some() => GateState::Cooling,
            (None, Admission::CoolingDown { .. }) => GateState::Cooling,
            (None, Admission::Admit) => GateState::Ready,
        };
        state_tx.send_if_modified(|s| {
            let changed = *s != state;
            *s = state;
            changed
        });
    };

    // Stop: cancel the session with the gate shut, outputs to their safe level.
    state_tx.send_replace(GateState::Stopping);
    if let Some(mut a) = active.take() {
        if let Some(h) = a.inflight.take() {
            h.abort();
        }
        let cmds = a.session.handle(Instant::now(), Event::Cancel);
        for c in cmds {
            if let Command::Show(s) = c {
                show(s);
            }
        }
    }
    trigger_task.abort();
    camera_task.abort();
    let stopping = *shutdown.borrow();
    for p in pulses {
        if stopping {
            p.abort();
        }
        let _ = p.await;
    }
    for r in [&gate, &fail] {
        if let Err(e) = r.set(false) {
            warn!(output = r.name(), error = %e, "cannot drive output to its safe level");
        }
    }
    // Let the display show the last screen, then stop it.
    drop(screen_tx);
    let _ = tokio::time::timeout(Duration::from_secs(2), display_task).await;
    result.map(|()| summary)
}

/// Shows screens on the panel from a blocking task; a failing panel is logged and
/// never stops the gate.
fn spawn_display(display: Box<dyn Display>, mut rx: watch::Receiver<Screen>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut display = Some(display);
        let mut failing = false;
        loop {
            let screen = rx.borrow_and_update().clone();
            let Some(mut d) = display.take() else { return };
            let shown = tokio::task::spawn_blocking(move || {
                let r = d.show(&screen);
                (d, r)
            })
            .await;
            match shown {
                Ok((d, r)) => {
                    display = Some(d);
                    match r {
                        Ok(()) if failing => {
                            failing = false;
                            info!("display works again");
                        }
                        Ok(()) => {}
                        Err(e) if !failing => {
                            failing = true;
                            warn!(error = %e, "display failed; the gate keeps working");
                        }
                        Err(_) => {}
                    }
                }
                Err(e) => {
                    warn!(error = %e, "display task failed; running without a display");
                    return;
                }
            }
            // A failing panel gets the same screen again after a while (it re-initialises
            // itself); a working one waits for the next screen.
            let next = if failing {
                tokio::time::timeout(DISPLAY_RETRY, rx.changed())
                    .await
                    .unwrap_or(Ok(()))
            } else {
                rx.changed().await
            };
            if next.is_err() {
                return;
            }
        }
    })
}

/// Carries out the core's commands.
#[allow(clippy::too_many_arguments)]
fn execute(
    cmds: Vec<Command>,
    active: &mut Option<Active>,
    client: &AigenClient,
    slot: &FrameSlot,
    params: &Params,
    cfg: &Config,
    emit: &(impl Fn(GateEvent) + Clone + Send + Sync + 'static),
    show: &impl Fn(Screen),
    gate: &Arc<dyn Relay>,
    fail: &Arc<dyn Relay>,
    pulses: &mut Vec<JoinHandle<()>>,
) {
    let Some(a) = active.as_mut() else { return };
    let number = a.number;
    for c in cmds {
        match c {
            Command::Show(s) => {
                if let Screen::Action {
                    action,
                    step,
                    total,
                    prompt,
                    ..
                } = &s
                {
                    let key = (action.clone(), *step, *prompt);
                    if a.shown_prompt.as_ref() != Some(&key) {
                        a.shown_prompt = Some(key);
                        let request_id = a_request_id(a);
                        info!(session = number, request_id = %request_id, action = %action, step, total, "action shown");
                        emit(GateEvent::ActionShown {
                            session: number,
                            request_id,
                            action: action.clone(),
                            words: crate::actions::words(action).into_owned(),
                            step: *step,
                            total: *total,
                        });
                    }
                }
                show(shown_to_person(s, cfg));
            }
            Command::FetchSequence => {
                let client = client.clone();
                let api = cfg.api.clone();
                let emit = emit.clone();
                a.inflight = Some(spawn_call(
                    number,
                    "sequence",
                    emit,
                    async move { client.sequence(api.mode, api.part, &api.select).await },
                    Event::Sequence,
                ));
            }
            Command::Restart { request_id } => {
                let client = client.clone();
                let emit = emit.clone();
                a.inflight = Some(spawn_call(
                    number,
                    "restart",
                    emit,
                    async move { client.restart(&request_id).await },
                    Event::Restarted,
                ));
            }
            Command::PostFrame {
                request_id,
                not_before,
            } => {
                let now = Instant::now();
                let not_before = match now.checked_sub(MAX_FRAME_AGE) {
                    Some(oldest) => not_before.max(oldest),
                    None => not_before,
                };
                let wait = params.frame_interval * 3 + Duration::from_secs(2);
                a.inflight = Some(spawn_post(
                    number,
                    client.clone(),
                    slot.clone(),
                    request_id,
                    a.last_seq,
                    not_before,
                    wait,
                    emit.clone(),
                ));
            }
            Command::OpenGate => {
                pulses.push(spawn_pulse(
                    gate.clone(),
                    gpio_pulse(cfg, true),
                    emit.clone(),
                ));
            }
            Command::SignalFail => {
                pulses.push(spawn_pulse(
                    fail.clone(),
                    gpio_pulse(cfg, false),
                    emit.clone(),
                ));
            }
            Command::WakeAt(t) => a.wake = Some(t),
            Command::Finish(v) => {
                let took = a.session.started().elapsed();
                let (reason, words) = match v {
                    Verdict::Pass => (None, None),
                    Verdict::Deny(r) => (Some(r.code()), Some(r.words())),
                };
                let request_id = a_request_id(a);
                info!(
                    session = number,
                    request_id = %request_id,
                    verdict = v.code(),
                    reason = reason.unwrap_or(""),
                    duration_ms = ms(took),
                    restarts = a.session.restarts(),
                    "session over"
                );
                emit(GateEvent::Verdict {
                    session: number,
                    verdict: v.code(),
                    reason,
                    words,
                    duration_ms: ms(took),
                    restarts: a.session.restarts(),
                });
                a.wake = None;
            }
        }
    }
}

/// The screen as the person must read it: with `[camera] left_is = "image"` the
/// service's left is the image's, so the person is asked for the other side.
fn shown_to_person(s: Screen, cfg: &Config) -> Screen {
    let image_left = matches!(
        &cfg.camera,
        crate::config::CameraConfig::V4l2(c) if c.left_is == crate::config::LeftIs::Image
    );
    match s {
        Screen::Action {
            action,
            step,
            total,
            secs_left,
            percent_left,
            prompt,
        } if image_left => Screen::Action {
            action: crate::actions::swap_sides(&action),
            step,
            total,
            secs_left,
            percent_left,
            prompt,
        },
        other => other,
    }
}

fn a_request_id(a: &Active) -> String {
    a.session
        .request_id()
        .map(|r| r.to_string())
        .unwrap_or_default()
}

fn gpio_pulse(cfg: &Config, gate: bool) -> Duration {
    if gate {
        cfg.gpio.gate_pulse()
    } else {
        cfg.gpio.fail_pulse()
    }
}

fn spawn_pulse(
    relay: Arc<dyn Relay>,
    length: Duration,
    emit: impl Fn(GateEvent),
) -> JoinHandle<()> {
    // Told before the pulse starts, so events keep the order of the commands.
    let name = relay.name();
    info!(relay = name, ms = ms(length), "relay pulse");
    emit(GateEvent::RelayPulse {
        relay: name,
        ms: ms(length),
    });
    tokio::spawn(async move {
        if let Err(e) = gpio::pulse(&relay, length).await {
            warn!(relay = name, error = %e, "relay pulse failed");
        }
    })
}

fn answer_event(
    session: u64,
    op: &'static str,
    latency: Duration,
    r: &Result<Answer, ApiError>,
) -> GateEvent {
    match r {
        Ok(a) => GateEvent::ApiAnswer {
            session,
            op,
            latency_ms: ms(latency),
            status: Some(match &a.status {
                crate::api::Status::Processing => "processing".into(),
                crate::api::Status::Uncompleted => "uncompleted".into(),
                crate::api::Status::Completed => "completed".into(),
                crate::api::Status::Other(s) => s.clone(),
            }),
            result: a.result.as_ref().map(|o| match o {
                crate::api::Outcome::Yes => "Yes".into(),
                crate::api::Outcome::No => "No".into(),
                crate::api::Outcome::Other(s) => s.clone(),
            }),
            next_choice: a.next_choice.clone(),
            error: None,
            error_class: None,
        },
        Err(e) => GateEvent::ApiAnswer {
            session,
            op,
            latency_ms: ms(latency),
            status: None,
            result: None,
            next_choice: None,
            error: Some(e.to_string()),
            error_class: Some(e.class()),
        },
    }
}

fn spawn_call<F>(
    session: u64,
    op: &'static str,
    emit: impl Fn(GateEvent) + Send + 'static,
    call: F,
    wrap: fn(Result<Answer, ApiError>) -> Event,
) -> JoinHandle<Done>
where
    F: Future<Output = Result<Answer, ApiError>> + Send + 'static,
{
    tokio::spawn(async move {
        let t = Instant::now();
        let r = call.await;
        let latency = t.elapsed();
        log_answer(session, op, latency, &r);
        emit(answer_event(session, op, latency, &r));
        Done {
            event: wrap(r),
            sent_seq: None,
        }
    })
}

fn log_answer(session: u64, op: &'static str, latency: Duration, r: &Result<Answer, ApiError>) {
    match r {
        Ok(a) => {
            debug!(session, op, latency_ms = ms(latency), status = ?a.status, result = ?a.result, next_choice = a.next_choice.as_deref().unwrap_or(""), "API answer")
        }
        Err(e) => {
            warn!(session, op, latency_ms = ms(latency), error_class = e.class(), error = %e, "API call failed")
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn spawn_post(
    session: u64,
    client: AigenClient,
    slot: FrameSlot,
    request_id: RequestId,
    after_seq: Option<u64>,
    not_before: Instant,
    wait: Duration,
    emit: impl Fn(GateEvent) + Send + 'static,
) -> JoinHandle<Done> {
    tokio::spawn(async move {
        let frame = match tokio::time::timeout(wait, slot.next_fresh(after_seq, not_before)).await {
            Ok(Some(f)) => f,
            _ => {
                warn!(session, state = ?slot.state(), "no fresh frame from the camera");
                return Done {
                    event: Event::NoFrame,
                    sent_seq: None,
                };
            }
        };
        let t = Instant::now();
        let age = t.saturating_duration_since(frame.captured_at);
        let r = client.verify(&request_id, &frame.jpeg).await;
        let latency = t.elapsed();
        debug!(session, request_id = %request_id, bytes = frame.jpeg.len(), latency_ms = ms(latency), frame_age_ms = ms(age), "frame sent");
        emit(GateEvent::FrameSent {
            session,
            request_id: request_id.to_string(),
            bytes: frame.jpeg.len(),
            latency_ms: ms(latency),
            frame_age_ms: ms(age),
        });
        log_answer(session, "verify", latency, &r);
        emit(answer_event(session, "verify", latency, &r));
        Done {
            event: Event::FrameAnswer {
                request_id,
                result: r,
            },
            sent_seq: Some(frame.seq),
        }
    })
}

/// The reason words for an API error, for callers outside a session.
pub fn deny_words(e: &ApiError) -> &'static str {
    session::deny_reason_for(e).words()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CameraConfig, LeftIs, V4l2CameraConfig};

    fn action(name: &str) -> Screen {
        Screen::Action {
            action: name.into(),
            step: 1,
            total: 3,
            secs_left: 9,
            percent_left: 90,
            prompt: 1,
        }
    }

    #[test]
    fn the_person_is_asked_for_the_other_side_when_left_means_the_image() {
        let mut cfg = Config::default();
        assert_eq!(
            shown_to_person(action("Turn_left"), &cfg),
            action("Turn_left")
        );
        cfg.camera = CameraConfig::V4l2(V4l2CameraConfig {
            left_is: LeftIs::Image,
            ..V4l2CameraConfig::default()
        });
        assert_eq!(
            shown_to_person(action("Turn_left"), &cfg),
            action("Turn_right")
        );
        assert_eq!(
            shown_to_person(action("Ok_right_hand"), &cfg),
            action("Ok_left_hand")
        );
        assert_eq!(shown_to_person(Screen::Pass, &cfg), Screen::Pass);
        cfg.camera = CameraConfig::V4l2(V4l2CameraConfig {
            left_is: LeftIs::Person,
            ..V4l2CameraConfig::default()
        });
        assert_eq!(
            shown_to_person(action("Turn_left"), &cfg),
            action("Turn_left")
        );
    }
}

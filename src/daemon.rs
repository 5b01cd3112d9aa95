//! The imperative shell: wires a trigger, the session core, the API client, the
//! camera, the display and the relays, and carries out what the core decides (the
//! session's [`Command`]s, the policy between sessions' [`Output`]s).
//!
//! One session at a time; at most one API call in flight; only the newest frame
//! captured after the current prompt is ever posted. The daemon pulses the gate
//! relay on [`Command::OpenGate`] and for the request-to-exit button
//! ([`TriggerEvent::Exit`], logged at warn), the fail output on
//! [`Command::SignalFail`] and on the door-held-open alarm
//! ([`Output::DoorHeldOpen`]); nowhere else.
//!
//! Presence (`[presence]`, the `lookout` below) can only keep a session from
//! starting or a frame from being posted: what a look means is the core's
//! (`presence::Question`, `Watch`, `frame_guidance`, `Event::FaceMissing`,
//! `Gate::no_face`); this shell only takes the frames to the detector's thread
//! and the answers back. A look that fails (a frame that cannot be read, the
//! detector gone) is logged and lets things go on as without presence (fail
//! open): the service still decides every pass, so this costs at most a paid
//! session. No frame from the camera is a look that saw nobody.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::actions::Part;
use crate::api::{AigenClient, Answer, ApiError, RequestId};
use crate::camera::{FrameSlot, FrameSource};
use crate::display::{Display, Screen};
use crate::gate::{Gate, GateParams, Output, Start};
use crate::gatekeeper::{Admission, Limits, PerKey};
use crate::gpio::{self, Relay};
use crate::metrics::{DegradedPart, Metrics};
use crate::presence::{
    frame_guidance, Answer as FaceAnswer, Detected, Eyes, GreyView, LookError, Next, Question,
    Step, Watch,
};
use crate::reader::osdp::PanelCommand;
use crate::reader::ReaderOptions;
use crate::session::{Command, Event, Params, Session, Verdict};
use crate::trigger::{GateState, Trigger, TriggerEvent};
use livegate_core::wiegand::Card;

/// How often a failing display is shown its screen again.
const DISPLAY_RETRY: Duration = Duration::from_secs(5);

/// How many cards the per-card cooldown and lockout remember.
const CARDS_KEPT: usize = 1024;

/// How many verdicts a [`RunSummary`] keeps (the most recent).
const VERDICTS_KEPT: usize = 1024;

/// A frame older than this is never posted, whatever else holds.
const MAX_FRAME_AGE: Duration = Duration::from_secs(1);

/// The `source` of a session the camera trigger started (an arrival).
pub const CAMERA_SOURCE: &str = "camera";

/// The journal's `MESSAGE_ID` of the audit line (`session over`), one per session:
/// `journalctl MESSAGE_ID=81921b7236ee423895d1c8cd70fbdead` lists every verdict.
pub const AUDIT_MESSAGE_ID: &str = "81921b7236ee423895d1c8cd70fbdead";

/// The hardware (or its simulated twins) the daemon drives.
pub struct Devices {
    pub camera: Box<dyn FrameSource>,
    pub display: Box<dyn Display>,
    pub gate: Arc<dyn Relay>,
    pub fail: Arc<dyn Relay>,
    pub trigger: Box<dyn Trigger>,
    /// The face detector (`[presence]` on), used with `Settings::presence`.
    pub presence: Option<PresenceDevice>,
}

/// The face detector's thread and whether the camera is the trigger.
pub struct PresenceDevice {
    pub eyes: Eyes,
    /// `[trigger] kind = "camera"`: an arrival starts a session.
    pub camera_trigger: bool,
}

/// Something that wants to hear about every [`GateEvent`] (the `--events json`
/// printer, tests).
pub type Observer = Arc<dyn Fn(&GateEvent) + Send + Sync>;

/// Told the gate's state in one line (sd_notify `STATUS=`).
pub type StatusSink = Arc<dyn Fn(&str) + Send + Sync>;

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
    /// New configurations (SIGHUP), applied from the next session on.
    pub reload: Option<mpsc::Receiver<Reload>>,
    /// Told the gate's state in one line whenever it changes (sd_notify `STATUS=`).
    pub status: Option<StatusSink>,
    /// Called on every turn of the main loop, which turns at least this often: a
    /// loop that stops turning stops the calls (the systemd watchdog).
    pub heartbeat: Option<(Arc<dyn Fn() + Send + Sync>, Duration)>,
    /// Counters and latencies for the fleet (`[metrics]`).
    pub metrics: Option<Arc<Metrics>>,
    /// The card reader's side (`[reader]`): the output to an access-control panel,
    /// and how card numbers are shown.
    pub reader: ReaderOptions,
}

/// What the shell needs of the configuration: built by it (`Config::daemon_settings`),
/// at start and at every accepted reload.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The core's limits of one session.
    pub params: Params,
    /// The policy's limits between sessions: cooldown and lockout.
    pub limits: Limits,
    /// How long a verdict stays on the panel.
    pub verdict_screen: Duration,
    /// How long the gate relay is energised for a pass.
    pub gate_pulse: Duration,
    /// How long the fail output is energised for a denial or an alarm.
    pub fail_pulse: Duration,
    /// The number of actions asked of the API (`mode`).
    pub mode: u8,
    /// Actions of this body part only; `None` for both.
    pub part: Option<Part>,
    /// The actions to draw from, empty for all.
    pub select: Vec<String>,
    /// The presence rules (`[presence]`); `None`: no face detector, every trigger
    /// starts a session and every frame is posted.
    pub presence: Option<crate::presence::Params>,
    /// The configuration in one line, for the log.
    pub summary: String,
}

/// A checked new configuration (the devices' settings kept as they were opened:
/// they change only with a restart) and the API client built from it.
pub struct Reload {
    pub settings: Settings,
    pub client: AigenClient,
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
        /// The card that started it, as `[reader] show_card` shows it.
        #[serde(skip_serializing_if = "Option::is_none")]
        card: Option<String>,
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
    /// A trigger was turned away: no face in view, no session, no API call.
    NoFace {
        source: String,
    },
    /// A session's frame was not posted: no face good enough in it.
    FrameHeld {
        session: u64,
        guidance: &'static str,
    },
    /// A card as the (simulated) panel read it off the output.
    CardOut {
        output: &'static str,
        card: String,
        bits: u8,
    },
}

/// Counts of a finished run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub sessions: u64,
    pub passes: u64,
    /// Triggers turned away with no face in view (no session was started).
    pub no_face: u64,
    /// The most recent verdicts (at most 1024), oldest first.
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
    /// What the detector saw in the frame taken for a post (presence).
    looked: Option<Detected>,
}

/// The face detector and what it is doing (`[presence]`).
struct Lookout {
    eyes: Eyes,
    /// The camera is the trigger: look for arrivals while the gate is ready.
    camera_trigger: bool,
    /// The person in front of the camera, with the motion pre-filter (the core's).
    watch: Watch,
    /// The one look in progress.
    task: Option<JoinHandle<Looked>>,
    /// No look before this.
    next: Option<Instant>,
    /// A trigger waiting for its answer: is a face in view?
    asking: Option<Asking>,
    /// A failed look was logged; the next ones are quiet until a look works.
    failing: bool,
}

/// An admitted session that starts only if a face is in view.
struct Asking {
    question: Question,
    session: u64,
    source: &'static str,
    note: Option<String>,
    card: Option<Card>,
}

/// A finished look.
enum Looked {
    /// The camera had no fresh frame.
    NoFrame,
    /// The pre-filter's view of `frame` (the camera trigger's watch).
    Small(crate::camera::Frame, Result<GreyView, LookError>),
    /// A detection, for a trigger's question or the watch.
    Faces {
        question: bool,
        result: Result<Detected, LookError>,
    },
}

struct Active {
    number: u64,
    session: Session,
    source: &'static str,
    wake: Option<Instant>,
    inflight: Option<JoinHandle<Done>>,
    last_seq: Option<u64>,
    /// The actions shown, for the audit line.
    actions: Vec<String>,
    /// The service's `response_id` of its last answer (cleaned by `Answer::parse`),
    /// for the audit line: what the vendor's support asks for.
    last_response_id: Option<String>,
    /// The card that started the session (`[trigger] kind = "wiegand"`).
    card: Option<Card>,
}

/// Hands events to the observer and counts them in the metrics, from the loop and
/// from its tasks.
#[derive(Clone, Default)]
struct Emitter {
    observer: Option<Observer>,
    metrics: Option<Arc<Metrics>>,
}

impl Emitter {
    fn emit(&self, e: GateEvent) {
        if let Some(o) = &self.observer {
            o(&e);
        }
    }

    fn metrics(&self, f: impl FnOnce(&Metrics)) {
        if let Some(m) = &self.metrics {
            f(m);
        }
    }

    fn api_call(&self, op: &str, latency: Duration, r: &Result<Answer, ApiError>) {
        self.metrics(|m| m.api_call(op, latency, r.as_ref().map(|_| ())));
    }
}

/// Awaits the task if there is one; pends forever otherwise (for `select!`).
async fn join_opt<T>(h: Option<&mut JoinHandle<T>>) -> Option<T> {
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

async fn recv_opt<T>(rx: &mut Option<mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => match rx.recv().await {
            Some(v) => Some(v),
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

/// The shell's state between two turns of the loop.
struct Shell {
    settings: Settings,
    client: AigenClient,
    slot: FrameSlot,
    emitter: Emitter,
    screen_tx: watch::Sender<Screen>,
    gate: Arc<dyn Relay>,
    fail: Arc<dyn Relay>,
    /// Pulses of each relay (an overlapping one extends the running one).
    gate_pulses: gpio::Pulser,
    fail_pulses: gpio::Pulser,
    pulses: Vec<JoinHandle<()>>,
    active: Option<Active>,
    /// The policy between sessions (the core's): admission, cooldown, lockout,
    /// the screens between sessions, the door watch, the status line.
    gate_policy: Gate,
    door_held_open_after: Option<Duration>,
    summary: RunSummary,
    status: Option<StatusSink>,
    last_status: String,
    display_failing: Arc<AtomicBool>,
    /// The panel output and how cards are shown.
    reader: ReaderOptions,
    /// Cooldown and lockout per card, besides the device's.
    cards: PerKey<Card>,
    /// The face detector, when `[presence]` is on.
    lookout: Option<Lookout>,
    /// Stop after this many attempts (sessions and triggers turned away).
    max_sessions: Option<u64>,
}

/// Runs the gate until shutdown (or `max_sessions`). Relays are at their safe level
/// when this returns, on every path.
pub async fn run(
    settings: &Settings,
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
        presence,
    } = devices;
    // Safe level first, before anything else can run.
    for r in [&gate, &fail] {
        gpio::register(r);
        if let Err(e) = r.set(false) {
            warn!(output = r.name(), error = %e, "cannot drive output to its safe level");
        }
    }
    let screen_tx = opts
        .screen_tx
        .unwrap_or_else(|| watch::channel(Screen::Idle).0);
    let display_failing = Arc::new(AtomicBool::new(false));
    let display_task = spawn_display(display, screen_tx.subscribe(), display_failing.clone());
    let slot = FrameSlot::new();
    let camera_task = camera.spawn(slot.clone());
    let (state_tx, state_rx) = watch::channel(GateState::Ready);
    let (trig_tx, mut trig_rx) = mpsc::channel(8);
    let trigger_task = trigger.spawn(trig_tx, state_rx);
    let mut shutdown = opts.shutdown.unwrap_or_else(|| watch::channel(false).1);
    let mut reload = opts.reload;
    let (beat, tick) = match opts.heartbeat {
        Some((f, every)) => (Some(f), every),
        None => (None, Duration::from_secs(3600)),
    };
    let mut ticker = tokio::time::interval(tick.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let mut sh = Shell {
        gate_policy: Gate::new(&gate_params(settings, opts.door_held_open_after)),
        settings: settings.clone(),
        client,
        slot,
        emitter: Emitter {
            observer: opts.observer,
            metrics: opts.metrics,
        },
        display_failing: display_failing.clone(),
        screen_tx,
        gate_pulses: gpio::Pulser::new(gate.clone()),
        fail_pulses: gpio::Pulser::new(fail.clone()),
        gate,
        fail,
        pulses: Vec::new(),
        active: None,
        summary: RunSummary::default(),
        door_held_open_after: opts.door_held_open_after,
        status: opts.status,
        last_status: String::new(),
        reader: opts.reader,
        cards: PerKey::new(&settings.limits, CARDS_KEPT),
        lookout: presence.zip(settings.presence).map(|(p, params)| Lookout {
            eyes: p.eyes,
            camera_trigger: p.camera_trigger,
            watch: Watch::new(params, crate::presence::MotionParams::default()),
            task: None,
            next: None,
            asking: None,
            failing: false,
        }),
        max_sessions: opts.max_sessions,
    };
    let mut panel_commands = sh.reader.commands.take();
    sh.show(Screen::Idle);
    sh.report_status();
    let mut triggers_done = false;
    let result = loop {
        if let Some(beat) = &beat {
            beat();
        }
        if sh.limit_reached() && sh.gate_policy.settled() {
            break Ok(());
        }
        let wake = sh.active.as_ref().and_then(|a| a.wake);
        let look_at = sh.look_at();
        let inflight = sh.active.as_mut().and_then(|a| a.inflight.as_mut());
        let looking = sh.lookout.as_mut().and_then(|l| l.task.as_mut());
        tokio::select! {
            biased;
            () = stop_requested(&mut shutdown) => {
                info!("stopping");
                break Ok(());
            }
            done = join_opt(inflight) => sh.on_api_done(done),
            _ = sleep_opt(wake) => sh.feed(Event::Tick),
            looked = join_opt(looking) => sh.on_looked(looked),
            _ = sleep_opt(look_at) => sh.start_look(),
            _ = sleep_opt(sh.gate_policy.poll_timeout().map(Instant::from_std)) => {}
            ev = trig_rx.recv(), if !triggers_done => match ev {
                Some(ev) => sh.on_trigger(ev),
                // The camera trigger needs no trigger task (a `run` with only
                // `[trigger] kind = "camera"` has none): the watch goes on.
                None if sh.lookout.as_ref().is_some_and(|l| l.camera_trigger) => {
                    triggers_done = true;
                }
                None => break Err(DaemonError::TriggerGone),
            },
            Some(r) = recv_opt(&mut reload) => sh.on_reload(r),
            Some(c) = recv_opt(&mut panel_commands) => sh.on_panel_command(c),
            _ = ticker.tick() => {}
        }
        sh.after_turn(&state_tx);
    };

    // Stop: the session in progress ends denied (reason `shutdown`), with its audit
    // line, the gate shut; then the outputs go to their safe level.
    state_tx.send_replace(GateState::Stopping);
    if let Some(h) = sh.active.as_mut().and_then(|a| a.inflight.take()) {
        h.abort();
    }
    if let Some(h) = sh.lookout.as_mut().and_then(|l| l.task.take()) {
        h.abort();
    }
    sh.feed(Event::Shutdown);
    sh.active = None;
    trigger_task.abort();
    camera_task.abort();
    let stopping = *shutdown.borrow();
    for p in std::mem::take(&mut sh.pulses) {
        if stopping {
            p.abort();
        }
        let _ = p.await;
    }
    for r in [&sh.gate, &sh.fail] {
        if let Err(e) = r.set(false) {
            warn!(output = r.name(), error = %e, "cannot drive output to its safe level");
        }
    }
    // Let the display show the last screen, then stop it.
    let Shell {
        screen_tx, summary, ..
    } = sh;
    drop(screen_tx);
    let _ = tokio::time::timeout(Duration::from_secs(2), display_task).await;
    result.map(|()| summary)
}

impl Shell {
    fn show(&self, s: Screen) {
        self.screen_tx.send_if_modified(|cur| {
            let changed = *cur != s;
            *cur = s;
            changed
        });
    }

    fn emit(&self, e: GateEvent) {
        self.emitter.emit(e);
    }

    /// Feeds the core one event and carries out what it says.
    fn feed(&mut self, event: Event) {
        let Some(a) = self.active.as_mut() else {
            return;
        };
        if matches!(event, Event::Tick) {
            a.wake = None;
        }
        let cmds = a.session.handle(Instant::now().into_std(), event);
        self.execute(cmds);
    }

    fn on_api_done(&mut self, done: Option<Done>) {
        let Some(a) = self.active.as_mut() else {
            return;
        };
        a.inflight = None;
        let Some(done) = done else {
            warn!("an API task ended abnormally: the session is denied");
            self.feed(Event::ShellFailed);
            return;
        };
        if let Some(seq) = done.sent_seq {
            a.last_seq = Some(seq);
        }
        if let (Some(d), Some(l)) = (&done.looked, self.lookout.as_mut()) {
            // The session's looks keep the watch's idea of who is there.
            l.watch
                .presence_mut()
                .on_look(Instant::now().into_std(), &d.look());
        }
        if let Event::Sequence(Ok(answer))
        | Event::Restarted(Ok(answer))
        | Event::FrameAnswer {
            result: Ok(answer), ..
        } = &done.event
        {
            if let Some(id) = &answer.response_id {
                // Cleaned once, where the answer is parsed.
                a.last_response_id = Some(id.clone());
            }
        }
        self.feed(done.event);
    }

    /// Carries out what the policy between sessions says.
    fn carry_out(&mut self, outputs: Vec<Output>) {
        for o in outputs {
            match o {
                Output::Show(s) => self.show(s),
                Output::LockedOut { secs } => {
                    warn!(secs, "too many failed attempts: locked out");
                    self.emit(GateEvent::LockedOut { secs });
                    self.emitter.metrics(|m| m.lockout());
                }
                Output::DoorHeldOpen { secs } => {
                    warn!(secs, "door held open");
                    self.emit(GateEvent::DoorHeldOpen { secs });
                    self.emitter.metrics(|m| m.door_alarm());
                    let length = self.settings.fail_pulse;
                    self.pulses
                        .extend(spawn_pulse(&self.fail_pulses, length, &self.emitter));
                }
            }
        }
    }

    fn on_reload(&mut self, r: Reload) {
        if let (Some(l), Some(params)) = (self.lookout.as_mut(), r.settings.presence) {
            l.watch.presence_mut().reconfigure(params);
        }
        self.gate_policy
            .reconfigure(&gate_params(&r.settings, self.door_held_open_after));
        self.client = r.client;
        self.cards.reconfigure(&r.settings.limits);
        info!(summary = %r.settings.summary, "configuration reloaded");
        self.settings = r.settings;
    }

    fn on_trigger(&mut self, ev: TriggerEvent) {
        let now = Instant::now();
        match ev {
            TriggerEvent::Cancel { source } => {
                if self.active.is_some() {
                    info!(source, "session cancelled");
                    self.feed(Event::Cancel);
                }
            }
            TriggerEvent::Exit { source } => {
                // Egress is never checked: the request-to-exit button opens the gate
                // directly. This is the one path to the gate relay outside the
                // session core, and it is logged as such.
                warn!(
                    source,
                    "request-to-exit: gate opened without a liveness check"
                );
                self.emit(GateEvent::ExitOpened {
                    source: source.to_owned(),
                });
                self.emitter.metrics(|m| m.exit_opened());
                let length = self.settings.gate_pulse;
                self.pulses
                    .extend(spawn_pulse(&self.gate_pulses, length, &self.emitter));
            }
            TriggerEvent::Door { open } => {
                info!(open, "door contact");
                self.gate_policy.door(open, now.into_std());
            }
            TriggerEvent::Start { source, note, card } => {
                if !self.card_admitted(card.as_ref(), source, now) {
                    return;
                }
                let limit_reached = self.limit_reached();
                let mut out = Vec::new();
                let start = self
                    .gate_policy
                    .request_start(now.into_std(), limit_reached, &mut out);
                match start {
                    Start::Admit { session } => match self.lookout.as_mut() {
                        // A trigger other than the camera's own arrival asks first
                        // whether a face is in view.
                        Some(l) if source != CAMERA_SOURCE => {
                            debug!(session, source, "is a face in view?");
                            l.asking = Some(Asking {
                                question: Question::new(l.watch.presence().params()),
                                session,
                                source,
                                note,
                                card,
                            });
                            l.next = None;
                        }
                        _ => self.start_session(now, session, source, note, card),
                    },
                    Start::Busy => debug!(source, "trigger ignored: a session is in progress"),
                    Start::LimitReached => debug!(source, "trigger ignored: session limit reached"),
                    Start::CoolingDown { secs_left } => {
                        debug!(source, "trigger ignored: cooling down");
                        self.emit(GateEvent::Refused {
                            reason: "cooldown",
                            secs_left,
                        });
                    }
                    Start::LockedOut { secs_left } => {
                        info!(source, secs_left, "trigger refused: locked out");
                        self.emit(GateEvent::Refused {
                            reason: "locked_out",
                            secs_left,
                        });
                    }
                }
                self.carry_out(out);
            }
        }
    }

    fn start_session(
        &mut self,
        now: Instant,
        number: u64,
        source: &'static str,
        note: Option<String>,
        card: Option<Card>,
    ) {
        self.summary.sessions = number;
        let shown = card.map(|c| self.reader.shown.show(&c));
        info!(
            session = number,
            source,
            note = note.as_deref().map(crate::untrusted::clean),
            card = shown.as_deref(),
            "session started"
        );
        self.emit(GateEvent::SessionStarted {
            session: number,
            source: source.to_owned(),
            note,
            card: shown,
        });
        self.emitter.metrics(|m| m.session_started());
        let (session, cmds) = Session::start(self.settings.params.clone(), now.into_std());
        self.active = Some(Active {
            number,
            session,
            source,
            wake: None,
            inflight: None,
            last_seq: None,
            actions: Vec::new(),
            last_response_id: None,
            card,
        });
        self.execute(cmds);
    }

    /// After every turn: a finished session is recorded, screens and readiness follow
    /// (the policy between sessions decides; this carries it out).
    fn after_turn(&mut self, state_tx: &watch::Sender<GateState>) {
        self.pulses.retain(|p| !p.is_finished());
        let now = Instant::now().into_std();
        let mut out = Vec::new();
        if let Some(v) = self.active.as_ref().and_then(|a| a.session.verdict()) {
            let card = self.active.as_ref().and_then(|a| a.card);
            if let Some(a) = self.active.take() {
                if let Some(h) = a.inflight {
                    h.abort();
                }
            }
            // The most recent verdicts only: a service runs for years.
            if self.summary.verdicts.len() >= VERDICTS_KEPT {
                self.summary.verdicts.remove(0);
            }
            self.summary.verdicts.push(v);
            if v == Verdict::Pass {
                self.summary.passes += 1;
            }
            self.record_card(now, v, card);
            self.gate_policy.session_over(now, v, &mut out);
            if let Some(l) = self.lookout.as_mut() {
                // The same person standing there starts no new session.
                l.watch.presence_mut().verdict_given();
            }
        }
        self.gate_policy.poll(now, &mut out);
        self.carry_out(out);
        let state = self.gate_policy.state(now);
        state_tx.send_if_modified(|s| {
            let changed = *s != state;
            *s = state;
            changed
        });
        self.report_status();
    }

    /// One line on what the gate is doing, for `systemctl status` (STATUS=); the
    /// degraded parts also go to the metrics.
    fn status_line(&self) -> String {
        let camera = matches!(
            self.slot.state(),
            crate::camera::CameraState::Unavailable(_)
        );
        let display = self.display_failing.load(Ordering::Relaxed);
        let api = self.gate_policy.api_degraded();
        self.emitter.metrics(|m| {
            m.set_degraded(DegradedPart::Camera, camera);
            m.set_degraded(DegradedPart::Display, display);
            m.set_degraded(DegradedPart::Api, api);
        });
        self.gate_policy
            .status_line(Instant::now().into_std(), camera, display)
    }

    fn report_status(&mut self) {
        let Some(status) = &self.status else {
            return;
        };
        let line = self.status_line();
        if line != self.last_status {
            status(&line);
            self.last_status = line;
        }
    }

    /// Carries out the core's commands.
    fn execute(&mut self, cmds: Vec<Command>) {
        for c in cmds {
            let Some(a) = self.active.as_mut() else {
                return;
            };
            let number = a.number;
            match c {
                Command::Prompt {
                    action,
                    step,
                    total,
                } => {
                    let request_id = a_request_id(a);
                    info!(session = number, request_id = request_id.as_deref(), action = %action, step, total, "action shown");
                    self.emitter.emit(GateEvent::ActionShown {
                        session: number,
                        request_id: request_id.unwrap_or_default(),
                        action: action.clone(),
                        words: crate::actions::words(&action).into_owned(),
                        step,
                        total,
                    });
                    a.actions.push(action);
                }
                Command::Show(s) => self.show(s),
                Command::FetchSequence => {
                    let client = self.client.clone();
                    let (mode, part, select) = (
                        self.settings.mode,
                        self.settings.part,
                        self.settings.select.clone(),
                    );
                    a.inflight = Some(spawn_call(
                        number,
                        "sequence",
                        self.emitter.clone(),
                        async move { client.sequence(mode, part, &select).await },
                        Event::Sequence,
                    ));
                }
                Command::Restart { request_id } => {
                    let client = self.client.clone();
                    a.inflight = Some(spawn_call(
                        number,
                        "restart",
                        self.emitter.clone(),
                        async move { client.restart(&request_id).await },
                        Event::Restarted,
                    ));
                }
                Command::PostFrame {
                    request_id,
                    not_before,
                } => {
                    let now = Instant::now();
                    let not_before = Instant::from_std(not_before);
                    let not_before = match now.checked_sub(MAX_FRAME_AGE) {
                        Some(oldest) => not_before.max(oldest),
                        None => not_before,
                    };
                    let wait = self.settings.params.frame_interval * 3 + Duration::from_secs(2);
                    let check = self
                        .lookout
                        .as_ref()
                        .map(|l| (l.eyes.clone(), *l.watch.presence().params()));
                    a.inflight = Some(spawn_post(
                        number,
                        self.client.clone(),
                        self.slot.clone(),
                        request_id,
                        a.last_seq,
                        not_before,
                        wait,
                        self.emitter.clone(),
                        check,
                    ));
                }
                Command::OpenGate => {
                    let length = self.settings.gate_pulse;
                    self.pulses
                        .extend(spawn_pulse(&self.gate_pulses, length, &self.emitter));
                }
                Command::SignalFail => {
                    let length = self.settings.fail_pulse;
                    self.pulses
                        .extend(spawn_pulse(&self.fail_pulses, length, &self.emitter));
                }
                Command::WakeAt(t) => a.wake = Some(Instant::from_std(t)),
                Command::Finish(v) => {
                    a.wake = None;
                    let took = a.session.started().elapsed();
                    let (reason, words) = match v {
                        Verdict::Pass => (None, None),
                        Verdict::Deny(r) => (Some(r.code()), Some(r.words())),
                    };
                    let request_id = a_request_id(a);
                    let actions = (!a.actions.is_empty()).then(|| a.actions.join(","));
                    let card = a.card;
                    let shown = card.map(|c| self.reader.shown.show(&c));
                    // The audit line: one per session, no image, no key, no empty field.
                    info!(
                        target: "livegate::audit",
                        message_id = AUDIT_MESSAGE_ID,
                        session = number,
                        source = a.source,
                        request_id = request_id.as_deref(),
                        actions = actions.as_deref(),
                        verdict = v.code(),
                        reason,
                        duration_ms = ms(took),
                        restarts = a.session.restarts(),
                        response_id = a.last_response_id.as_deref(),
                        card = shown.as_deref(),
                        "session over"
                    );
                    self.emitter.metrics(|m| {
                        m.verdict(v);
                        m.flush_now();
                    });
                    self.emitter.emit(GateEvent::Verdict {
                        session: number,
                        verdict: v.code(),
                        reason,
                        words,
                        duration_ms: ms(took),
                        restarts: a.session.restarts(),
                    });
                    self.card_to_panel(number, v, card);
                }
            }
        }
    }
}

/// Presence: the looks of the face detector and what the core makes of them.
impl Shell {
    /// The run may start no more sessions (simulation's `--sessions`): sessions
    /// and triggers turned away for want of a face both count.
    fn limit_reached(&self) -> bool {
        self.max_sessions
            .is_some_and(|n| self.summary.sessions + self.summary.no_face >= n)
    }

    /// When the next look is due: while a trigger waits for its answer, or, with
    /// the camera as the trigger, while the gate is ready for a session.
    fn look_at(&self) -> Option<Instant> {
        let l = self.lookout.as_ref()?;
        if l.task.is_some() {
            return None;
        }
        let now = Instant::now();
        // The camera trigger watches between sessions, also while the gate cools
        // down or is locked out, so that it sees a person leave.
        let watching = l.camera_trigger && self.active.is_none();
        (l.asking.is_some() || watching).then(|| l.next.unwrap_or(now))
    }

    /// Takes the newest frame (at most [`MAX_FRAME_AGE`] old) to the detector's
    /// thread: a detection for a trigger's question, the pre-filter's small view
    /// for the watch.
    fn start_look(&mut self) {
        let now = Instant::now();
        let frame = self
            .slot
            .latest()
            .filter(|f| now.saturating_duration_since(f.captured_at) <= MAX_FRAME_AGE);
        let Some(l) = self.lookout.as_mut() else {
            return;
        };
        let eyes = l.eyes.clone();
        let question = l.asking.is_some();
        l.task = Some(tokio::spawn(async move {
            let Some(frame) = frame else {
                return Looked::NoFrame;
            };
            if question {
                Looked::Faces {
                    question,
                    result: eyes.faces(frame).await,
                }
            } else {
                let small = eyes.small(frame.clone()).await;
                Looked::Small(frame, small)
            }
        }));
    }

    /// A look ended: the core's answer is carried out.
    fn on_looked(&mut self, looked: Option<Looked>) {
        let now = Instant::now();
        let Some(l) = self.lookout.as_mut() else {
            return;
        };
        l.task = None;
        l.next = Some(now + l.watch.presence().params().look_every);
        let looked = looked.unwrap_or(Looked::Faces {
            question: l.asking.is_some(),
            result: Err(LookError::Gone),
        });
        let (question, result) = match looked {
            Looked::NoFrame => (l.asking.is_some(), Err(None)),
            Looked::Small(frame, Ok(small)) => match l.watch.on_view(now.into_std(), small) {
                Next::Skip(step) => return self.on_step(step),
                Next::Detect => {
                    let eyes = l.eyes.clone();
                    l.task = Some(tokio::spawn(async move {
                        Looked::Faces {
                            question: false,
                            result: eyes.faces(frame).await,
                        }
                    }));
                    return;
                }
            },
            Looked::Small(_, Err(e)) => (false, Err(Some(e))),
            Looked::Faces { question, result } => (question, result.map_err(Some)),
        };
        let no_frame = matches!(result, Err(None));
        let detected = match result {
            Ok(d) => {
                if l.failing {
                    l.failing = false;
                    info!("the face detector looks again");
                }
                Some(d)
            }
            Err(e) => {
                if !l.failing {
                    l.failing = true;
                    match e {
                        Some(error) => warn!(%error, "cannot look for a face"),
                        None => warn!("cannot look for a face: no fresh frame from the camera"),
                    }
                }
                None
            }
        };
        if !question {
            if let Some(d) = detected {
                let step = l.watch.on_faces(now.into_std(), &d.look());
                self.on_step(step);
            }
            return;
        }
        let Some(mut asking) = l.asking.take() else {
            return;
        };
        let answer = match &detected {
            Some(d) => {
                l.watch.presence_mut().on_look(now.into_std(), &d.look());
                asking.question.on_look(now.into_std(), &d.look())
            }
            // No frame (yet): nobody seen in this look.
            None if no_frame => asking.question.on_look(
                now.into_std(),
                &crate::presence::Look {
                    view_width: 1,
                    view_height: 1,
                    faces: &[],
                },
            ),
            // Fail open: a trigger is not refused because the detector failed.
            None => FaceAnswer::Face,
        };
        match answer {
            FaceAnswer::Face => {
                let Asking {
                    session,
                    source,
                    note,
                    card,
                    ..
                } = asking;
                self.start_session(now, session, source, note, card);
            }
            FaceAnswer::LookAgainAt(t) => {
                l.next = Some(Instant::from_std(t));
                l.asking = Some(asking);
            }
            FaceAnswer::NoFace => {
                info!(
                    source = asking.source,
                    "no face in view: no session started"
                );
                self.summary.no_face += 1;
                self.emitter.metrics(|m| m.no_face());
                self.emit(GateEvent::NoFace {
                    source: asking.source.to_owned(),
                });
                let mut out = Vec::new();
                self.gate_policy.no_face(now.into_std(), &mut out);
                self.carry_out(out);
            }
        }
    }

    /// The watch's step: an arrival is the camera trigger's start, when the gate
    /// is ready for one (else the core reports it again at the next good look).
    fn on_step(&mut self, step: Step) {
        let ready = self.gate_policy.state(Instant::now().into_std()) == GateState::Ready;
        let Some(l) = self.lookout.as_mut().filter(|l| l.camera_trigger) else {
            return;
        };
        if !step.arrived {
            return;
        }
        if !ready || self.active.is_some() {
            l.watch.presence_mut().arrival_refused();
            return;
        }
        info!("a person arrived in front of the camera");
        self.on_trigger(TriggerEvent::Start {
            source: CAMERA_SOURCE,
            note: None,
            card: None,
        });
    }
}

/// The card reader's side: per-card admission, the card to the panel.
impl Shell {
    /// A session's card may start it: neither cooling down nor locked out on its
    /// own account (the device's limits are asked next). Refusals are told.
    fn card_admitted(&mut self, card: Option<&Card>, source: &'static str, now: Instant) -> bool {
        let Some(card) = card else {
            return true;
        };
        let now = now.into_std();
        let (reason, until) = match self.cards.admit(card, now) {
            Admission::Admit => return true,
            Admission::CoolingDown { until } => ("card_cooldown", until),
            Admission::LockedOut { until } => ("card_locked_out", until),
        };
        let secs_left = until.saturating_duration_since(now).as_secs_f64().ceil() as u64;
        let shown = self.reader.shown.show(card);
        // As for the device: a cooldown refusal is routine (a card held to the
        // reader), a lockout is worth the journal.
        if reason == "card_locked_out" {
            info!(source, card = %shown, secs_left, "card refused: locked out");
        } else {
            debug!(source, card = %shown, secs_left, "card refused: cooling down");
        }
        self.emit(GateEvent::Refused { reason, secs_left });
        false
    }

    /// Counts a finished session against its card.
    fn record_card(&mut self, now: std::time::Instant, v: Verdict, card: Option<Card>) {
        let Some(card) = card else {
            return;
        };
        if let Some(until) = self.cards.record(&card, now, v) {
            let secs = until.saturating_duration_since(now).as_secs();
            warn!(card = %self.reader.shown.show(&card), secs, "too many failed attempts with this card: card locked out");
        }
    }

    /// A command from the access-control panel (OSDP). Its text goes to the idle
    /// screen (the core's [`Gate::panel_text`] decides when it shows: never over a
    /// session, its verdict or a lockout); livegate has no LED, buzzer or output of
    /// its own to follow, so those are logged.
    fn on_panel_command(&mut self, cmd: PanelCommand) {
        if let PanelCommand::Text {
            temporary,
            hold,
            text,
            ..
        } = &cmd
        {
            info!(command = %cmd, "OSDP panel text for the idle screen");
            let hold = temporary.then_some(*hold);
            let now = Instant::now().into_std();
            self.gate_policy.panel_text(now, text, hold);
        } else {
            info!(command = %cmd, "OSDP panel command (logged only: no LED or buzzer here)");
        }
    }

    /// Sends the verdict's card to the panel, if any: on a pass the session's card
    /// (in line) or the fixed one, on a deny only the configured deny card. A
    /// failed send is logged; it never changes the verdict or the relays.
    fn card_to_panel(&self, session: u64, v: Verdict, card: Option<Card>) {
        let Some(panel) = &self.reader.panel else {
            return;
        };
        let pass = v == Verdict::Pass;
        let Some(out) = panel.card_for(pass, card) else {
            if pass {
                warn!(
                    session,
                    "pass without a card to send: nothing goes to the panel"
                );
            }
            return;
        };
        let shown = self.reader.shown.show(&out);
        match panel.out.send(&out) {
            Ok(()) => {
                info!(session, output = panel.out.kind(), card = %shown, pass, "card sent to the panel")
            }
            Err(e) => {
                warn!(session, output = panel.out.kind(), card = %shown, pass, error = %e, "card NOT sent to the panel")
            }
        }
    }
}

/// Shows screens on the panel from a blocking task; a failing panel is logged and
/// never stops the gate.
fn spawn_display(
    display: Box<dyn Display>,
    mut rx: watch::Receiver<Screen>,
    failing_flag: Arc<AtomicBool>,
) -> JoinHandle<()> {
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
                    failing_flag.store(true, Ordering::Relaxed);
                    return;
                }
            }
            failing_flag.store(failing, Ordering::Relaxed);
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

/// The policy's limits from the settings and the door contact.
fn gate_params(settings: &Settings, door_held_open_after: Option<Duration>) -> GateParams {
    GateParams {
        limits: settings.limits,
        verdict_screen: settings.verdict_screen,
        door_held_open_after,
    }
}

/// The session's request_id as people read it ([`RequestId`]'s `Display` cleans it).
fn a_request_id(a: &Active) -> Option<String> {
    a.session.request_id().map(|r| r.to_string())
}

/// Starts a pulse of `pulser`'s relay, or extends the one running; the task of a new
/// pulse.
fn spawn_pulse(
    pulser: &gpio::Pulser,
    length: Duration,
    emitter: &Emitter,
) -> Option<JoinHandle<()>> {
    // Told before the pulse starts, so events keep the order of the commands.
    let name = pulser.name();
    info!(relay = name, ms = ms(length), "relay pulse");
    emitter.emit(GateEvent::RelayPulse {
        relay: name,
        ms: ms(length),
    });
    pulser.pulse(length)
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
    emitter: Emitter,
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
        emitter.api_call(op, latency, &r);
        emitter.emit(answer_event(session, op, latency, &r));
        Done {
            event: wrap(r),
            sent_seq: None,
            looked: None,
        }
    })
}

fn log_answer(session: u64, op: &'static str, latency: Duration, r: &Result<Answer, ApiError>) {
    match r {
        Ok(a) => {
            debug!(session, op, latency_ms = ms(latency), status = ?a.status, result = ?a.result, next_choice = a.next_choice.as_deref(), "API answer")
        }
        Err(e) => {
            warn!(session, op, latency_ms = ms(latency), error_class = e.class(), error = %e, "API call failed")
        }
    }
}

/// Looks for a face in a session's frame before it is posted: the guidance when it
/// must be held back (the core's `frame_guidance`), with what was seen. A look that
/// fails lets the frame go (fail open: the service still decides).
async fn face_check(
    session: u64,
    eyes: &Eyes,
    params: &crate::presence::Params,
    frame: &crate::camera::Frame,
) -> (Option<crate::presence::Guidance>, Option<Detected>) {
    match eyes.faces(frame.clone()).await {
        Ok(d) => (frame_guidance(params, &d.look()), Some(d)),
        Err(error) => {
            warn!(session, %error, "cannot look for a face: the frame is posted as it is");
            (None, None)
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
    emitter: Emitter,
    check: Option<(Eyes, crate::presence::Params)>,
) -> JoinHandle<Done> {
    tokio::spawn(async move {
        // The frame is looked at (presence), then converted, just before it is
        // sent; one that cannot be (a corrupt camera JPEG) is skipped for the next,
        // within the same wait.
        let fresh = async {
            let mut after = after_seq;
            loop {
                let f = slot.next_fresh(after, not_before).await?;
                let mut looked = None;
                if let Some((eyes, params)) = &check {
                    let (held, seen) = face_check(session, eyes, params, &f).await;
                    if let Some(guidance) = held {
                        return Some(Err((f.seq, guidance, seen)));
                    }
                    looked = seen;
                }
                match f.jpeg() {
                    Ok(jpeg) => return Some(Ok((f, jpeg, looked))),
                    Err(error) => {
                        warn!(session, seq = f.seq, %error, "frame skipped: cannot convert it");
                        after = Some(f.seq);
                    }
                }
            }
        };
        let (frame, jpeg, looked) = match tokio::time::timeout(wait, fresh).await {
            Ok(Some(Ok(f))) => f,
            Ok(Some(Err((seq, guidance, looked)))) => {
                debug!(
                    session,
                    guidance = guidance.code(),
                    "frame held back: no face to post"
                );
                emitter.metrics(|m| m.frame_held());
                emitter.emit(GateEvent::FrameHeld {
                    session,
                    guidance: guidance.code(),
                });
                return Done {
                    event: Event::FaceMissing(guidance),
                    sent_seq: Some(seq),
                    looked,
                };
            }
            _ => {
                warn!(session, state = ?slot.state(), "no fresh frame from the camera");
                return Done {
                    event: Event::NoFrame,
                    sent_seq: None,
                    looked: None,
                };
            }
        };
        let t = Instant::now();
        let age = t.saturating_duration_since(frame.captured_at);
        let r = client.verify(&request_id, &jpeg).await;
        let latency = t.elapsed();
        debug!(session, request_id = %request_id, bytes = jpeg.len(), latency_ms = ms(latency), frame_age_ms = ms(age), "frame sent");
        emitter.emit(GateEvent::FrameSent {
            session,
            request_id: request_id.to_string(),
            bytes: jpeg.len(),
            latency_ms: ms(latency),
            frame_age_ms: ms(age),
        });
        log_answer(session, "verify", latency, &r);
        emitter.api_call("verify", latency, &r);
        emitter.emit(answer_event(session, "verify", latency, &r));
        Done {
            event: Event::FrameAnswer {
                request_id,
                result: r,
            },
            sent_seq: Some(frame.seq),
            looked,
        }
    })
}

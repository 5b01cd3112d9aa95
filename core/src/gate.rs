//! Between sessions: who may start one and when (one at a time, cooldown, lockout,
//! through the [`Gatekeeper`]), what the panel shows while no session runs (the
//! verdict, the lockout countdown, idle), the door-held-open watch, the gate's state
//! for triggers and its status line. No IO, no clock: the shell passes `now`, asks
//! [`Gate::poll_timeout`] when to call [`Gate::poll`] next, and carries out the
//! [`Output`]s.
//!
//! An access-control panel's text (OSDP, [`Gate::panel_text`]) takes the idle
//! screen's place, and only its place: a session's screens, its verdict and the
//! lockout countdown come first, and text that arrives meanwhile waits for them
//! (while its time runs). It lasts until the next session, the next text, or the
//! end of its hold when the panel gave one (a temporary text; the permanent one
//! comes back after it).
//!
//! The session itself is [`crate::session::Session`]; the shell starts one when
//! [`Gate::request_start`] admits it and tells the gate its verdict with
//! [`Gate::session_over`].

use std::time::{Duration, Instant};

use crate::gatekeeper::{Admission, Gatekeeper, Limits};
use crate::screen::Screen;
use crate::verdict::{DenyReason, Verdict};

/// The limits between sessions. The configuration builds them (`[session]`); the
/// door watch comes from the door contact's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateParams {
    pub limits: Limits,
    /// How long a verdict (or a refusal while locked out) stays on the panel.
    pub verdict_screen: Duration,
    /// Raise the held-open alarm when the door stays open this long; `None`: no
    /// door contact, no alarm.
    pub door_held_open_after: Option<Duration>,
}

/// What the gate is doing, published for triggers (and status reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateState {
    /// Ready: a trigger now starts a session.
    Ready,
    /// A session is in progress.
    Busy,
    /// Between sessions (verdict on screen, cooldown).
    Cooling,
    /// Locked out after too many failures.
    LockedOut,
    /// The daemon is stopping.
    Stopping,
}

/// The answer to a trigger's "start a session".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Start session number `session` now (the gate counts it as in progress).
    Admit { session: u64 },
    /// A session is in progress: the trigger is ignored.
    Busy,
    /// The run's session limit is reached (simulation): the trigger is ignored.
    LimitReached,
    /// Refused: the previous session ended less than the cooldown ago.
    CoolingDown { secs_left: u64 },
    /// Refused: locked out after too many failures (the panel says so).
    LockedOut { secs_left: u64 },
}

/// What the shell must do (besides starting an admitted session).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Show this screen (the shell skips a screen already shown).
    Show(Screen),
    /// Too many failed attempts: a lockout of `secs` starts now.
    LockedOut { secs: u64 },
    /// The door has been open `secs` longer than allowed: raise the alarm (the fail
    /// output pulses).
    DoorHeldOpen { secs: u64 },
}

/// The door-held-open watch: the alarm is raised when the door has been open for
/// `held_open_after`, then again every `held_open_after` while it stays open, at
/// open plus each multiple of the period (a late poll raises one alarm, not the
/// missed ones). Closing the door ends the period; re-opening starts a new one.
#[derive(Clone, Debug)]
pub struct DoorWatch {
    held_open_after: Duration,
    opened_at: Option<Instant>,
    next_alarm: Option<Instant>,
}

impl DoorWatch {
    /// A watch for a closed door. A zero period is raised to one millisecond (the
    /// configuration accepts nothing under a second).
    pub fn new(held_open_after: Duration) -> Self {
        DoorWatch {
            held_open_after: held_open_after.max(Duration::from_millis(1)),
            opened_at: None,
            next_alarm: None,
        }
    }

    /// Whether the door is open now.
    pub fn is_open(&self) -> bool {
        self.opened_at.is_some()
    }

    /// The door contact changed (or was read) at `at`. A repeated "open" keeps the
    /// original opening time.
    pub fn door(&mut self, open: bool, at: Instant) {
        match (open, self.opened_at) {
            (true, None) => {
                self.opened_at = Some(at);
                self.next_alarm = Some(at + self.held_open_after);
            }
            (false, _) => {
                self.opened_at = None;
                self.next_alarm = None;
            }
            (true, Some(_)) => {}
        }
    }

    /// When the next alarm is due, if the door is open.
    pub fn deadline(&self) -> Option<Instant> {
        self.next_alarm
    }

    /// How long the door has been open, if an alarm is due by `now`.
    pub fn poll(&mut self, now: Instant) -> Option<Duration> {
        let (opened_at, due) = (self.opened_at?, self.next_alarm?);
        if now < due {
            return None;
        }
        let open_for = now.saturating_duration_since(opened_at);
        // The next multiple of the period strictly after `now`.
        let periods = open_for.as_nanos() / self.held_open_after.as_nanos() + 1;
        let next = u32::try_from(periods)
            .ok()
            .and_then(|k| self.held_open_after.checked_mul(k))
            .and_then(|d| opened_at.checked_add(d));
        self.next_alarm = Some(next.unwrap_or(now + self.held_open_after));
        Some(open_for)
    }
}

/// The policy between sessions.
#[derive(Clone, Debug)]
pub struct Gate {
    keeper: Gatekeeper,
    verdict_screen: Duration,
    door: Option<DoorWatch>,
    /// Sessions started so far; the one in progress, if any.
    started: u64,
    in_session: Option<u64>,
    /// When the verdict screen ends / the cooldown or lockout countdown moves on.
    housekeeping: Option<Instant>,
    last_verdict: Option<Verdict>,
    /// The panel's permanent text, until the next session or text.
    panel_text: Option<String>,
    /// The panel's temporary text and when it ends.
    panel_temporary: Option<(String, Instant)>,
}

impl Gate {
    pub fn new(params: &GateParams) -> Self {
        Gate {
            keeper: Gatekeeper::new(&params.limits),
            verdict_screen: params.verdict_screen,
            door: params.door_held_open_after.map(DoorWatch::new),
            started: 0,
            in_session: None,
            housekeeping: None,
            last_verdict: None,
            panel_text: None,
            panel_temporary: None,
        }
    }

    /// New limits from a reloaded configuration: the failures counted so far, the
    /// cooldown and a lockout in force are kept; so is the door watch (the door
    /// contact is a device: its changes take effect after a restart).
    pub fn reconfigure(&mut self, params: &GateParams) {
        self.keeper.reconfigure(&params.limits);
        self.verdict_screen = params.verdict_screen;
    }

    /// Sessions started so far.
    pub fn sessions(&self) -> u64 {
        self.started
    }

    /// Whether a session is in progress.
    pub fn in_session(&self) -> bool {
        self.in_session.is_some()
    }

    /// Whether nothing is pending between sessions: no session, no verdict screen or
    /// countdown waiting to move on.
    pub fn settled(&self) -> bool {
        self.in_session.is_none() && self.housekeeping.is_none()
    }

    /// A trigger asks for a session at `now`. `limit_reached`: the run may start no
    /// more sessions (simulation's `--sessions`).
    pub fn request_start(
        &mut self,
        now: Instant,
        limit_reached: bool,
        out: &mut Vec<Output>,
    ) -> Start {
        if self.in_session.is_some() {
            return Start::Busy;
        }
        if limit_reached {
            return Start::LimitReached;
        }
        match self.keeper.admit(now) {
            Admission::Admit => {
                self.started += 1;
                self.in_session = Some(self.started);
                // The panel's text lasts until the next session.
                self.panel_text = None;
                self.panel_temporary = None;
                Start::Admit {
                    session: self.started,
                }
            }
            Admission::CoolingDown { until } => Start::CoolingDown {
                secs_left: until.saturating_duration_since(now).as_secs(),
            },
            Admission::LockedOut { until } => {
                let left = until.saturating_duration_since(now);
                out.push(Output::Show(Screen::LockedOut {
                    secs_left: lockout_secs(left),
                }));
                self.housekeeping = Some(now + self.verdict_screen);
                Start::LockedOut {
                    secs_left: left.as_secs(),
                }
            }
        }
    }

    /// The session in progress ended at `now` with `verdict` (its screen is already
    /// up). Person failures count toward the lockout.
    pub fn session_over(&mut self, now: Instant, verdict: Verdict, out: &mut Vec<Output>) {
        self.in_session = None;
        self.last_verdict = Some(verdict);
        if let Some(until) = self.keeper.record(now, verdict) {
            out.push(Output::LockedOut {
                secs: until.saturating_duration_since(now).as_secs(),
            });
        }
        let cooldown = self.keeper.cooldown();
        self.housekeeping = Some(now + self.verdict_screen.max(cooldown));
    }

    /// The session admitted last was not started after all: the trigger asked for
    /// a face in view and the detector found none (presence). Its number is given
    /// back, nothing counts toward the cooldown or the lockout (no API call was
    /// made), and the panel says "Step in front of the camera" for the verdict
    /// screen's time; a new trigger may start a session at once.
    pub fn no_face(&mut self, now: Instant, out: &mut Vec<Output>) {
        if self.in_session.take().is_some() {
            self.started = self.started.saturating_sub(1);
        }
        out.push(Output::Show(Screen::Guide {
            guidance: crate::presence::Guidance::StepInFront,
        }));
        self.housekeeping = Some(now + self.verdict_screen);
    }

    /// The door contact says `open` at `now`.
    pub fn door(&mut self, open: bool, now: Instant) {
        if let Some(d) = &mut self.door {
            d.door(open, now);
        }
    }

    /// The access-control panel asks at `now` for `text` on the idle screen (OSDP):
    /// for `hold` (a temporary text; the permanent one comes back after it) or,
    /// with `None`, until the next session or text. `text` must already be cleaned
    /// (`untrusted::clean`, where it entered); it is clipped here. An empty text
    /// clears what it would replace. Shown by the next [`Gate::poll`] that finds
    /// nothing else to show.
    pub fn panel_text(&mut self, now: Instant, text: &str, hold: Option<Duration>) {
        let text = crate::screen::clip_panel_text(text.trim());
        let text = (!text.is_empty()).then_some(text);
        match hold {
            Some(hold) => {
                self.panel_temporary = text.map(|t| (t, now.checked_add(hold).unwrap_or(now)))
            }
            None => {
                self.panel_text = text;
                self.panel_temporary = None;
            }
        }
    }

    /// What the idle screen shows: the panel's temporary text while it lasts, else its permanent text, else [`Screen::Idle`].
    fn idle_screen(&self) -> Screen {
        match (&self.panel_temporary, &self.panel_text) {
            (Some((text, _)), _) | (None, Some(text)) => Screen::PanelText { text: text.clone() },
            (None, None) => Screen::Idle,
        }
    }

    /// When [`Gate::poll`] has something to do next, if ever.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let door = self.door.as_ref().and_then(DoorWatch::deadline);
        let text = self.panel_temporary.as_ref().map(|(_, end)| *end);
        [self.housekeeping, door, text].into_iter().flatten().min()
    }

    /// Moves the gate on to `now`: a door alarm that is due; once nothing is pending
    /// between sessions, the lockout countdown or the idle screen.
    pub fn poll(&mut self, now: Instant, out: &mut Vec<Output>) {
        if let Some(open_for) = self.door.as_mut().and_then(|d| d.poll(now)) {
            out.push(Output::DoorHeldOpen {
                secs: open_for.as_secs(),
            });
        }
        // A due moment is spent even during a session (one admitted after the
        // cooldown while the verdict was still up): it is never asked for again.
        if self.housekeeping.is_some_and(|t| t <= now) {
            self.housekeeping = None;
        }
        // So is the end of the panel's temporary text, shown or not.
        if self
            .panel_temporary
            .as_ref()
            .is_some_and(|(_, end)| *end <= now)
        {
            self.panel_temporary = None;
        }
        if self.in_session.is_some() || self.housekeeping.is_some() {
            return;
        }
        if let Some(until) = self.keeper.locked_until(now) {
            let left = until.saturating_duration_since(now);
            out.push(Output::Show(Screen::LockedOut {
                secs_left: lockout_secs(left),
            }));
            // Refresh the countdown each minute (each second in the last minute).
            let step = if left > Duration::from_secs(60) {
                Duration::from_secs(left.as_secs() % 60 + 1).min(left)
            } else {
                Duration::from_secs(1).min(left)
            };
            self.housekeeping = Some(now + step.max(Duration::from_millis(10)));
        } else if let Admission::CoolingDown { until } = self.keeper.admit(now) {
            self.housekeeping = Some(until);
        } else {
            out.push(Output::Show(self.idle_screen()));
        }
    }

    /// The gate's state at `now`, for triggers.
    pub fn state(&self, now: Instant) -> GateState {
        match (self.in_session, self.keeper.admit(now)) {
            (Some(_), _) => GateState::Busy,
            (None, Admission::LockedOut { .. }) => GateState::LockedOut,
            (None, _) if self.housekeeping.is_some() => GateState::Cooling,
            (None, Admission::CoolingDown { .. }) => GateState::Cooling,
            (None, Admission::Admit) => GateState::Ready,
        }
    }

    /// Whether the last verdict says the service cannot be used (unreachable, key
    /// rejected, out of credit).
    pub fn api_degraded(&self) -> bool {
        matches!(
            self.last_verdict,
            Some(Verdict::Deny(
                DenyReason::ServiceUnavailable | DenyReason::KeyRejected | DenyReason::OutOfCredit
            ))
        )
    }

    /// One line on what the gate is doing at `now` (sd_notify `STATUS=`):
    /// `in session N` / `locked out` / `idle`, the last verdict, and the degraded
    /// parts (`camera` and `display` as the shell sees them, the API from the last
    /// verdict).
    pub fn status_line(
        &self,
        now: Instant,
        camera_degraded: bool,
        display_degraded: bool,
    ) -> String {
        let mut line = match self.in_session {
            Some(n) => format!("in session {n}"),
            None => match self.keeper.locked_until(now) {
                Some(_) => "locked out".to_owned(),
                None => "idle".to_owned(),
            },
        };
        if let Some(v) = self.last_verdict {
            line.push_str(&format!(
                "; last verdict: {}",
                match v {
                    Verdict::Pass => "pass".to_owned(),
                    Verdict::Deny(r) => format!("deny ({})", r.code()),
                }
            ));
        }
        let degraded: Vec<&str> = [
            ("camera", camera_degraded),
            ("display", display_degraded),
            ("API", self.api_degraded()),
        ]
        .into_iter()
        .filter_map(|(part, bad)| bad.then_some(part))
        .collect();
        if !degraded.is_empty() {
            line.push_str(&format!("; degraded: {}", degraded.join(", ")));
        }
        line
    }
}

/// Whole seconds of a lockout on the panel: never 0 while it lasts.
fn lockout_secs(left: Duration) -> u32 {
    u32::try_from(left.as_secs().max(1)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_VERIFIED: Verdict = Verdict::Deny(DenyReason::NotVerified);

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn params(door: Option<Duration>) -> GateParams {
        GateParams {
            limits: Limits {
                cooldown: s(3),
                max_failures: 2,
                failure_window: s(60),
                lockout: s(300),
            },
            verdict_screen: s(5),
            door_held_open_after: door,
        }
    }

    /// Plays the shell in virtual time: every output with the instant it came.
    struct Driver {
        t0: Instant,
        gate: Gate,
        log: Vec<(Duration, Output)>,
    }

    impl Driver {
        fn new(door: Option<Duration>) -> Driver {
            Driver {
                t0: Instant::now(),
                gate: Gate::new(&params(door)),
                log: Vec::new(),
            }
        }

        fn keep(&mut self, at: Duration, out: Vec<Output>) {
            self.log.extend(out.into_iter().map(|o| (at, o)));
        }

        /// Polls at every timeout the gate asks for up to `t`, then at `t`.
        fn run_until(&mut self, t: Duration) {
            while let Some(w) = self.gate.poll_timeout().filter(|w| *w <= self.t0 + t) {
                let mut out = Vec::new();
                self.gate.poll(w, &mut out);
                self.keep(w - self.t0, out);
            }
            let mut out = Vec::new();
            self.gate.poll(self.t0 + t, &mut out);
            self.keep(t, out);
        }

        fn start(&mut self, at: Duration) -> Start {
            let mut out = Vec::new();
            let r = self.gate.request_start(self.t0 + at, false, &mut out);
            self.keep(at, out);
            r
        }

        fn over(&mut self, at: Duration, v: Verdict) {
            let mut out = Vec::new();
            self.gate.session_over(self.t0 + at, v, &mut out);
            self.keep(at, out);
        }

        fn alarms(&self) -> Vec<(Duration, u64)> {
            self.log
                .iter()
                .filter_map(|(t, o)| match o {
                    Output::DoorHeldOpen { secs } => Some((*t, *secs)),
                    _ => None,
                })
                .collect()
        }

        fn last_screen(&self) -> Option<&Screen> {
            self.log.iter().rev().find_map(|(_, o)| match o {
                Output::Show(s) => Some(s),
                _ => None,
            })
        }

        fn state(&self, at: Duration) -> GateState {
            self.gate.state(self.t0 + at)
        }
    }

    #[test]
    fn one_session_at_a_time_then_verdict_screen_then_idle() {
        let mut d = Driver::new(None);
        d.run_until(s(0));
        assert_eq!(d.last_screen(), Some(&Screen::Idle));
        assert_eq!(d.state(s(0)), GateState::Ready);
        assert_eq!(d.start(s(1)), Start::Admit { session: 1 });
        assert_eq!(d.state(s(1)), GateState::Busy);
        assert_eq!(d.start(s(2)), Start::Busy);
        assert!(!d.gate.settled());
        d.over(s(10), Verdict::Pass);
        // The verdict screen (the session's own) stays for 5 s: no idle screen before.
        d.log.clear();
        d.run_until(ms(14_999));
        assert_eq!(d.last_screen(), None);
        assert_eq!(d.state(ms(14_999)), GateState::Cooling);
        d.run_until(s(15));
        assert_eq!(d.last_screen(), Some(&Screen::Idle));
        assert_eq!(d.state(s(15)), GateState::Ready);
        assert!(d.gate.settled());
        assert_eq!(d.start(s(16)), Start::Admit { session: 2 });
    }

    #[test]
    fn no_face_withdraws_the_admission_and_guides_for_a_while() {
        let mut d = Driver::new(None);
        d.run_until(s(0));
        assert_eq!(d.start(s(1)), Start::Admit { session: 1 });
        let mut out = Vec::new();
        d.gate.no_face(d.t0 + s(2), &mut out);
        d.keep(s(2), out);
        assert_eq!(
            d.last_screen(),
            Some(&Screen::Guide {
                guidance: crate::presence::Guidance::StepInFront
            })
        );
        assert_eq!(d.gate.sessions(), 0, "no session was started");
        assert!(!d.gate.in_session());
        // The guidance stays up for the verdict screen's time, then idle.
        d.log.clear();
        d.run_until(ms(6_999));
        assert_eq!(d.last_screen(), None);
        d.run_until(s(7));
        assert_eq!(d.last_screen(), Some(&Screen::Idle));
        // No cooldown and no failure: the next trigger is admitted as session 1,
        // even during the guidance.
        assert_eq!(d.start(s(8)), Start::Admit { session: 1 });
        d.gate.no_face(d.t0 + s(8), &mut Vec::new());
        assert_eq!(d.start(s(9)), Start::Admit { session: 1 });
        for t in 10..20 {
            d.gate.no_face(d.t0 + s(t), &mut Vec::new());
            assert!(
                matches!(d.start(s(t)), Start::Admit { .. }),
                "never locked out"
            );
        }
    }

    #[test]
    fn a_session_admitted_during_the_verdict_screen_leaves_no_due_timeout() {
        // Verdict screen 5 s, cooldown 3 s: a trigger at 4 s is admitted.
        let mut d = Driver::new(None);
        d.start(s(0));
        d.over(s(1), Verdict::Pass);
        assert_eq!(d.start(s(5)), Start::Admit { session: 2 });
        d.run_until(s(7));
        assert_eq!(
            d.gate.poll_timeout(),
            None,
            "nothing due during the session"
        );
        assert_eq!(d.state(s(7)), GateState::Busy);
        d.over(s(8), Verdict::Pass);
        assert_eq!(d.gate.poll_timeout(), Some(d.t0 + s(13)));
    }

    #[test]
    fn cooldown_refuses_with_seconds_left() {
        let mut d = Driver::new(None);
        d.start(s(0));
        d.over(s(1), Verdict::Pass);
        // Cooldown 3 s: refused at 2.5 s with 1 s left (whole seconds, rounded down).
        assert_eq!(d.start(ms(2_500)), Start::CoolingDown { secs_left: 1 });
        assert_eq!(d.start(s(4)), Start::Admit { session: 2 });
    }

    #[test]
    fn the_session_limit_is_checked_after_busy() {
        let mut d = Driver::new(None);
        let mut out = Vec::new();
        assert_eq!(
            d.gate.request_start(d.t0, true, &mut out),
            Start::LimitReached
        );
        d.start(s(0));
        assert_eq!(d.gate.request_start(d.t0, true, &mut out), Start::Busy);
        assert!(out.is_empty());
    }

    #[test]
    fn lockout_after_failures_counts_down_and_refuses() {
        let mut d = Driver::new(None);
        d.two_failures();
        assert!(d.log.contains(&(s(11), Output::LockedOut { secs: 300 })));
        assert_eq!(d.state(s(12)), GateState::LockedOut);
        // After the verdict screen: the countdown, moved on each minute.
        d.run_until(s(16));
        assert_eq!(d.last_screen(), Some(&Screen::LockedOut { secs_left: 295 }));
        d.run_until(s(20));
        assert_eq!(d.last_screen(), Some(&Screen::LockedOut { secs_left: 295 }));
        // 295 s left = 4 min 55 s: the next step is when 3 min 59 s are left.
        d.run_until(s(71));
        assert_eq!(d.last_screen(), Some(&Screen::LockedOut { secs_left: 295 }));
        d.run_until(s(72));
        assert_eq!(d.last_screen(), Some(&Screen::LockedOut { secs_left: 239 }));
        // A trigger is refused and the panel says so for the verdict screen's time.
        d.log.clear();
        assert_eq!(d.start(s(100)), Start::LockedOut { secs_left: 211 });
        assert_eq!(d.last_screen(), Some(&Screen::LockedOut { secs_left: 211 }));
        assert!(!d.gate.settled());
        // The last minute counts down each second; then idle.
        d.run_until(s(310));
        assert_eq!(d.last_screen(), Some(&Screen::LockedOut { secs_left: 1 }));
        d.run_until(s(311));
        assert_eq!(d.last_screen(), Some(&Screen::Idle));
        assert_eq!(d.state(s(311)), GateState::Ready);
    }

    #[test]
    fn service_failures_do_not_lock_out_but_show_the_api_degraded() {
        let mut d = Driver::new(None);
        for i in 0..5 {
            d.start(s(10 * i));
            d.over(s(10 * i + 1), Verdict::Deny(DenyReason::ServiceUnavailable));
        }
        assert!(!d
            .log
            .iter()
            .any(|(_, o)| matches!(o, Output::LockedOut { .. })));
        assert!(d.gate.api_degraded());
        assert_eq!(
            d.gate.status_line(d.t0 + s(60), false, false),
            "idle; last verdict: deny (service_unavailable); degraded: API"
        );
    }

    #[test]
    fn status_line_words() {
        let mut d = Driver::new(None);
        assert_eq!(d.gate.status_line(d.t0, false, false), "idle");
        assert_eq!(
            d.gate.status_line(d.t0, true, true),
            "idle; degraded: camera, display"
        );
        d.start(s(0));
        assert_eq!(d.gate.status_line(d.t0, false, false), "in session 1");
        d.over(s(1), NOT_VERIFIED);
        d.start(s(10));
        d.over(s(11), NOT_VERIFIED);
        assert_eq!(
            d.gate.status_line(d.t0 + s(12), false, true),
            "locked out; last verdict: deny (not_verified); degraded: display"
        );
        d.start(s(400));
        d.over(s(401), Verdict::Pass);
        assert_eq!(
            d.gate.status_line(d.t0 + s(402), false, false),
            "idle; last verdict: pass"
        );
    }

    #[test]
    fn door_held_open_alarms_at_open_plus_each_period() {
        let mut d = Driver::new(Some(s(30)));
        d.gate.door(true, d.t0 + s(1));
        // A repeated "open" keeps the first opening time.
        d.gate.door(true, d.t0 + s(5));
        d.run_until(s(100));
        assert_eq!(d.alarms(), [(s(31), 30), (s(61), 60), (s(91), 90)]);
        d.gate.door(false, d.t0 + s(100));
        d.run_until(s(200));
        assert_eq!(d.alarms().len(), 3, "no alarm once closed");
        // Re-opened: a new period.
        d.gate.door(true, d.t0 + s(200));
        d.run_until(s(229));
        assert_eq!(d.alarms().len(), 3);
        d.run_until(s(230));
        assert_eq!(d.alarms()[3], (s(230), 30));
    }

    #[test]
    fn a_late_poll_raises_one_alarm_and_keeps_the_rhythm() {
        let mut d = Driver::new(Some(s(10)));
        d.gate.door(true, d.t0);
        // The shell wakes late (at 35 s): one alarm, the next at 40 s (open + 4·10).
        let mut out = Vec::new();
        d.gate.poll(d.t0 + s(35), &mut out);
        assert_eq!(
            out,
            [
                Output::DoorHeldOpen { secs: 35 },
                Output::Show(Screen::Idle)
            ]
        );
        assert_eq!(d.gate.poll_timeout(), Some(d.t0 + s(40)));
    }

    #[test]
    fn a_door_closed_in_time_raises_nothing() {
        let mut d = Driver::new(Some(ms(2000)));
        d.gate.door(true, d.t0);
        d.run_until(ms(100));
        d.gate.door(false, d.t0 + ms(100));
        assert_eq!(d.gate.poll_timeout(), None);
        d.run_until(s(10));
        assert!(d.alarms().is_empty());
    }

    #[test]
    fn without_a_door_watch_the_door_is_ignored() {
        let mut d = Driver::new(None);
        d.gate.door(true, d.t0);
        d.run_until(s(3600));
        assert!(d.alarms().is_empty());
    }

    #[test]
    fn reconfigure_keeps_a_lockout_in_force() {
        let mut d = Driver::new(None);
        d.two_failures();
        let mut p = params(None);
        p.limits.lockout = s(10);
        p.verdict_screen = s(1);
        d.gate.reconfigure(&p);
        assert_eq!(d.state(s(200)), GateState::LockedOut);
        assert_eq!(d.start(s(200)), Start::LockedOut { secs_left: 111 });
    }

    fn panel(text: &str) -> Screen {
        Screen::PanelText { text: text.into() }
    }

    impl Driver {
        /// Failed sessions at 0–1 s and 10–11 s: locked out from 11 s to 311 s.
        fn two_failures(&mut self) {
            self.start(s(0));
            self.over(s(1), NOT_VERIFIED);
            self.start(s(10));
            self.over(s(11), NOT_VERIFIED);
        }

        fn text(&mut self, at: Duration, text: &str, hold: Option<Duration>) {
            self.gate.panel_text(self.t0 + at, text, hold);
        }

        /// The screens shown, each when it first replaced another (the shell skips
        /// a screen already shown).
        fn screens(&self) -> Vec<(Duration, Screen)> {
            let mut shown: Vec<(Duration, Screen)> = Vec::new();
            for (t, o) in &self.log {
                if let Output::Show(s) = o {
                    if shown.last().is_none_or(|(_, last)| last != s) {
                        shown.push((*t, s.clone()));
                    }
                }
            }
            shown
        }
    }

    #[test]
    fn the_panels_text_takes_the_idle_screens_place_until_the_next_session() {
        let mut d = Driver::new(None);
        d.run_until(s(0));
        d.text(s(1), "WELCOME", None);
        d.run_until(s(1));
        assert_eq!(d.last_screen(), Some(&panel("WELCOME")));
        // The next text replaces it.
        d.text(s(2), "  SEE DESK  ", None);
        d.run_until(s(2));
        assert_eq!(d.last_screen(), Some(&panel("SEE DESK")));
        assert_eq!(d.gate.poll_timeout(), None, "a permanent text asks no wake");
        // A session ends it: the idle screen after the verdict is the plain one.
        assert_eq!(d.start(s(3)), Start::Admit { session: 1 });
        d.over(s(4), Verdict::Pass);
        d.run_until(s(20));
        assert_eq!(d.last_screen(), Some(&Screen::Idle));
        // An empty text clears the panel's text.
        d.text(s(21), "HELLO", None);
        d.run_until(s(21));
        d.text(s(22), " ", None);
        d.run_until(s(22));
        assert_eq!(d.last_screen(), Some(&Screen::Idle));
    }

    #[test]
    fn text_during_a_session_waits_for_the_verdict_screen_to_end() {
        let mut d = Driver::new(None);
        d.run_until(s(0));
        d.start(s(1));
        d.log.clear();
        d.text(s(2), "DOOR 4", None);
        d.run_until(s(6));
        assert_eq!(d.screens(), [], "nothing over the session's screens");
        // The verdict stays its 5 s, then the panel's text, not the plain idle.
        d.over(s(7), Verdict::Pass);
        d.run_until(ms(11_999));
        assert_eq!(d.screens(), [], "nothing over the verdict");
        d.run_until(s(12));
        assert_eq!(d.screens(), [(s(12), panel("DOOR 4"))]);
    }

    #[test]
    fn a_temporary_text_lasts_its_hold_then_the_permanent_one_comes_back() {
        let mut d = Driver::new(None);
        d.text(s(0), "DOOR 4", None);
        d.run_until(s(0));
        d.text(s(1), "CARD OK", Some(s(3)));
        d.run_until(s(1));
        assert_eq!(d.gate.poll_timeout(), Some(d.t0 + s(4)));
        d.run_until(s(10));
        assert_eq!(
            d.screens(),
            [
                (s(0), panel("DOOR 4")),
                (s(1), panel("CARD OK")),
                (s(4), panel("DOOR 4")),
            ]
        );
        assert_eq!(d.gate.poll_timeout(), None);
        // A temporary text alone ends on the plain idle screen.
        d.text(s(11), "", None);
        d.text(s(11), "WAIT", Some(s(2)));
        d.log.clear();
        d.run_until(s(11));
        d.run_until(s(20));
        assert_eq!(d.screens(), [(s(11), panel("WAIT")), (s(13), Screen::Idle)]);
    }

    #[test]
    fn the_lockout_comes_before_the_panels_text_and_a_hold_ends_unseen() {
        let mut d = Driver::new(None);
        d.two_failures();
        // Locked out until 311 s. A temporary text ends meanwhile: its end is spent
        // (no wake asked for in the past), and it is never shown.
        d.text(s(20), "FLASH", Some(s(5)));
        d.run_until(s(30));
        assert!(d.gate.poll_timeout().is_some_and(|t| t > d.t0 + s(30)));
        d.text(s(40), "ASK THE GUARD", None);
        d.log.clear();
        d.run_until(s(310));
        assert!(d
            .screens()
            .iter()
            .all(|(_, s)| matches!(s, Screen::LockedOut { .. })));
        d.run_until(s(312));
        assert_eq!(d.last_screen(), Some(&panel("ASK THE GUARD")));
        assert!(!d.screens().iter().any(|(_, s)| *s == panel("FLASH")));
    }

    #[test]
    fn the_panels_text_is_clipped_and_kept_as_cleaned() {
        let mut d = Driver::new(None);
        // Cleaned where it entered (the escapes are the text now): not escaped again.
        d.text(s(0), "HI\\u{1b}[2J", None);
        d.run_until(s(0));
        assert_eq!(d.last_screen(), Some(&panel("HI\\u{1b}[2J")));
        d.text(s(1), &"W".repeat(100), None);
        d.run_until(s(1));
        let Some(Screen::PanelText { text }) = d.last_screen() else {
            panic!("the panel's text is shown");
        };
        assert_eq!(text.chars().count(), crate::screen::PANEL_TEXT_CHARS);
        assert!(text.ends_with("..."));
    }
}

//! The session core: a deterministic state machine with no IO and no clock.
//!
//! The shell (src/daemon.rs) feeds it [`Event`]s together with the current time and
//! carries out the [`Command`]s it returns. It never awaits, sleeps, reads a clock or
//! touches a device, so every path — timeouts, restarts, each API error — is tested in
//! microseconds (see the tests at the bottom).
//!
//! **The fail-secure rule lives here, in [`Session::on_frame_answer`]:** the only
//! place that produces [`Verdict::Pass`] (and with it [`Command::OpenGate`]) is the
//! answer to a frame this session posted, for this session's `request_id`, saying
//! `status: completed` and `result: Yes`. Every other answer, error or time-out ends
//! in a denial.

use std::time::{Duration, Instant};

use crate::aigen::{Answer, ApiError, Outcome, RequestId, Status};
use crate::screen::Screen;
pub use crate::verdict::{deny_reason_for, DenyReason, Verdict};

/// The limits of one session. The configuration builds them (`[api] mode` and
/// `[session]`); this crate does not know the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Actions per sequence (the API's `mode`): the `N` of "step n/N".
    pub total_steps: u8,
    pub action_timeout: Duration,
    pub frame_interval: Duration,
    /// From a new action's prompt to its first frame (later frames: `frame_interval`).
    pub first_frame_after: Duration,
    pub max_restarts: u8,
    pub session_timeout: Duration,
    /// The camera's left is the image's, not the person's (`[camera] left_is =
    /// "image"`): the panel asks the person for the other side of the service's
    /// action.
    pub swap_sides: bool,
}

/// What happened, as the shell reports it.
#[derive(Debug)]
pub enum Event {
    /// Time passed (a [`Command::WakeAt`] came due, or anything else woke the shell).
    Tick,
    /// The answer to [`Command::FetchSequence`].
    Sequence(Result<Answer, ApiError>),
    /// The answer to [`Command::PostFrame`] for `request_id`.
    FrameAnswer {
        request_id: RequestId,
        result: Result<Answer, ApiError>,
    },
    /// The answer to [`Command::Restart`].
    Restarted(Result<Answer, ApiError>),
    /// [`Command::PostFrame`] could not be carried out: the camera has no fresh frame.
    NoFrame,
    /// [`Command::PostFrame`] was not carried out: the shell looked at the frame
    /// and found no face good enough to post (presence, `presence::frame_guidance`);
    /// nothing was sent. The panel guides the person until a frame is posted
    /// again; the next one is tried a frame interval later.
    FaceMissing(crate::presence::Guidance),
    /// An operator ends the session.
    Cancel,
    /// The service stops (SIGTERM, SIGINT) during the session.
    Shutdown,
    /// The shell could not carry out a command (a task failed): the session cannot
    /// go on.
    ShellFailed,
}

/// What the shell must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Show(Screen),
    /// A new action is asked of the person (once per prompt, a repeated action after
    /// a restart included), just before its first [`Screen::Action`]: `action` is
    /// the service's name (the screen may show its other side, see
    /// [`Params::swap_sides`]).
    Prompt {
        action: String,
        step: u8,
        total: u8,
    },
    /// GET a new action sequence.
    FetchSequence,
    /// POST the newest frame captured no earlier than `not_before`.
    PostFrame {
        request_id: RequestId,
        not_before: Instant,
    },
    /// POST `restart_id` for new actions.
    Restart {
        request_id: RequestId,
    },
    /// Pulse the gate relay. Issued only with [`Verdict::Pass`].
    OpenGate,
    /// Pulse the fail output.
    SignalFail,
    /// Deliver [`Event::Tick`] at this time (replaces any earlier wake-up).
    WakeAt(Instant),
    /// The session is over; no further events are needed.
    Finish(Verdict),
}

/// The action the person is performing now.
#[derive(Clone, Debug)]
struct Prompt {
    action: String,
    step: u8,
    /// Frames captured before this show a person who had no time to act yet.
    frames_from: Instant,
    deadline: Instant,
    /// When the next frame may be posted.
    next_post_at: Instant,
    /// A frame POST is in flight.
    posting: bool,
    /// The countdown last shown, to send a new screen only when it changes.
    shown_secs: Option<u16>,
    /// The last frame was held back (no face): the panel guides instead of
    /// showing the action, until a frame is posted again.
    guidance: Option<crate::presence::Guidance>,
    /// The screen must be sent again at the next `advance` (the guidance changed).
    redraw: bool,
}

#[derive(Clone, Debug)]
enum Phase {
    Fetching,
    Acting(Prompt),
    Restarting,
    Done(Verdict),
}

/// One liveness session, from trigger to verdict.
#[derive(Debug)]
pub struct Session {
    params: Params,
    started: Instant,
    deadline: Instant,
    request_id: Option<RequestId>,
    phase: Phase,
    restarts: u8,
    prompts: u32,
}

impl Session {
    /// Starts a session at `now`: shows "get ready" and asks for actions.
    pub fn start(params: Params, now: Instant) -> (Session, Vec<Command>) {
        let deadline = now + params.session_timeout;
        let s = Session {
            params,
            started: now,
            deadline,
            request_id: None,
            phase: Phase::Fetching,
            restarts: 0,
            prompts: 0,
        };
        let cmds = vec![
            Command::Show(Screen::GetReady),
            Command::FetchSequence,
            Command::WakeAt(deadline),
        ];
        (s, cmds)
    }

    /// The `request_id` the service gave this session, once known.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.request_id.as_ref()
    }

    /// The verdict, once the session is over.
    pub fn verdict(&self) -> Option<Verdict> {
        match self.phase {
            Phase::Done(v) => Some(v),
            _ => None,
        }
    }

    /// The action being performed now, with its step.
    pub fn current_action(&self) -> Option<(&str, u8)> {
        match &self.phase {
            Phase::Acting(p) => Some((&p.action, p.step)),
            _ => None,
        }
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// How many times new actions were asked for.
    pub fn restarts(&self) -> u8 {
        self.restarts
    }

    /// Feeds one event; returns what to do, in order.
    pub fn handle(&mut self, now: Instant, event: Event) -> Vec<Command> {
        let mut out = Vec::new();
        if matches!(self.phase, Phase::Done(_)) {
            return out;
        }
        match event {
            Event::Tick => {}
            Event::Cancel => {
                self.finish(Verdict::Deny(DenyReason::Cancelled), &mut out);
                return out;
            }
            Event::Shutdown => {
                self.finish(Verdict::Deny(DenyReason::Shutdown), &mut out);
                return out;
            }
            Event::ShellFailed => {
                self.finish(Verdict::Deny(DenyReason::DeviceError), &mut out);
                return out;
            }
            Event::Sequence(r) => self.on_sequence(now, r, &mut out),
            Event::FrameAnswer { request_id, result } => {
                self.on_frame_answer(now, &request_id, result, &mut out)
            }
            Event::Restarted(r) => self.on_restarted(now, r, &mut out),
            Event::NoFrame => {
                if let Phase::Acting(p) = &self.phase {
                    if p.posting {
                        self.finish(Verdict::Deny(DenyReason::CameraUnavailable), &mut out);
                    }
                }
            }
            Event::FaceMissing(guidance) => {
                if let Phase::Acting(p) = &mut self.phase {
                    if p.posting {
                        // Nothing went to the service: the next frame is tried at
                        // the usual cadence, the person guided meanwhile.
                        p.posting = false;
                        p.redraw |= p.guidance != Some(guidance);
                        p.guidance = Some(guidance);
                    }
                }
            }
        }
        self.advance(now, &mut out);
        out
    }

    fn on_sequence(&mut self, now: Instant, r: Result<Answer, ApiError>, out: &mut Vec<Command>) {
        if !matches!(self.phase, Phase::Fetching) {
            return;
        }
        let answer = match r {
            Ok(a) => a,
            Err(e) => return self.finish(Verdict::Deny(deny_reason_for(&e)), out),
        };
        match (answer.status, answer.request_id, answer.next_choice) {
            (Status::Processing, Some(id), Some(action)) => {
                self.request_id = Some(id);
                self.prompt(now, action, 1);
            }
            // A new session that is already over, or has no id or action, makes no
            // sense: never a pass, whatever it says.
            _ => self.finish(Verdict::Deny(DenyReason::DeviceError), out),
        }
    }

    /// The one place a session can pass.
    fn on_frame_answer(
        &mut self,
        now: Instant,
        posted_for: &RequestId,
        r: Result<Answer, ApiError>,
        out: &mut Vec<Command>,
    ) {
        let Phase::Acting(p) = &mut self.phase else {
            return;
        };
        if !p.posting || self.request_id.as_ref() != Some(posted_for) {
            // Not an answer to a frame this session has in flight.
            return;
        }
        p.posting = false;
        // A frame was posted: the face is back, the action shows again.
        p.redraw |= p.guidance.take().is_some();
        let answer = match r {
            Ok(a) => a,
            Err(e) => return self.finish(Verdict::Deny(deny_reason_for(&e)), out),
        };
        if answer
            .request_id
            .as_ref()
            .is_some_and(|id| Some(id) != self.request_id.as_ref())
        {
            // An answer about another session: never ours to pass.
            return self.finish(Verdict::Deny(DenyReason::DeviceError), out);
        }
        match (&answer.status, &answer.result) {
            (Status::Completed, Some(Outcome::Yes)) => self.finish(Verdict::Pass, out),
            (Status::Completed, _) | (Status::Uncompleted, _) => {
                self.finish(Verdict::Deny(DenyReason::NotVerified), out)
            }
            (Status::Processing, Some(Outcome::Yes)) => match answer.next_choice {
                Some(next) => {
                    let step = p.step.saturating_add(1).min(self.params.total_steps.max(1));
                    self.prompt(now, next, step);
                }
                None => self.finish(Verdict::Deny(DenyReason::DeviceError), out),
            },
            (Status::Processing, _) => {
                // Not verified yet: keep trying the action the service names.
                match answer.next_choice {
                    Some(next) if !next.eq_ignore_ascii_case(&p.action) => {
                        let step = p.step;
                        self.prompt(now, next, step);
                    }
                    _ => {}
                }
            }
            (Status::Other(_), _) => self.finish(Verdict::Deny(DenyReason::DeviceError), out),
        }
    }

    fn on_restarted(&mut self, now: Instant, r: Result<Answer, ApiError>, out: &mut Vec<Command>) {
        if !matches!(self.phase, Phase::Restarting) {
            return;
        }
        let answer = match r {
            Ok(a) => a,
            Err(e) => return self.finish(Verdict::Deny(deny_reason_for(&e)), out),
        };
        if answer
            .request_id
            .as_ref()
            .is_some_and(|id| Some(id) != self.request_id.as_ref())
        {
            // New actions for another session: not ours to show.
            return self.finish(Verdict::Deny(DenyReason::DeviceError), out);
        }
        match (answer.status, answer.next_choice) {
            (Status::Processing, Some(action)) => {
                self.restarts += 1;
                self.prompt(now, action, 1);
            }
            // The service gave up on this request: the person ran out of time.
            (Status::Uncompleted, _) => self.finish(Verdict::Deny(DenyReason::ActionTimeout), out),
            _ => self.finish(Verdict::Deny(DenyReason::DeviceError), out),
        }
    }

    /// Shows a new action. The countdown screen itself is sent by `advance`.
    fn prompt(&mut self, now: Instant, action: String, step: u8) {
        self.prompts += 1;
        self.phase = Phase::Acting(Prompt {
            action,
            step,
            frames_from: now + self.params.first_frame_after,
            deadline: now + self.params.action_timeout,
            // The person gets time to read and act before the first frame, so that
            // the service's misses are not spent on a person still reading.
            next_post_at: now + self.params.first_frame_after,
            posting: false,
            shown_secs: None,
            guidance: None,
            redraw: false,
        });
    }

    /// Applies the deadlines and the frame cadence at `now`.
    fn advance(&mut self, now: Instant, out: &mut Vec<Command>) {
        if matches!(self.phase, Phase::Done(_)) {
            return;
        }
        if now >= self.deadline {
            return self.finish(Verdict::Deny(DenyReason::SessionTimeout), out);
        }
        let Some(request_id) = self.request_id.clone() else {
            out.push(Command::WakeAt(self.deadline));
            return;
        };
        let (total, timeout, interval) = (
            self.params.total_steps,
            self.params.action_timeout,
            self.params.frame_interval,
        );
        let (prompts, swap_sides) = (self.prompts, self.params.swap_sides);
        let Phase::Acting(p) = &mut self.phase else {
            out.push(Command::WakeAt(self.deadline));
            return;
        };
        if now >= p.deadline && p.posting {
            // Time is up but a frame is with the service: its answer decides (the
            // request timeout bounds the wait).
            out.push(Command::WakeAt(self.deadline));
            return;
        }
        if now >= p.deadline {
            // The action's time is up (an answer in flight may still verify it).
            if self.restarts < self.params.max_restarts {
                self.phase = Phase::Restarting;
                out.push(Command::Show(Screen::GetReady));
                out.push(Command::Restart { request_id });
                out.push(Command::WakeAt(self.deadline));
            } else {
                self.finish(Verdict::Deny(DenyReason::ActionTimeout), out);
            }
            return;
        }
        let left = p.deadline.saturating_duration_since(now);
        let secs_left = left.as_millis().div_ceil(1000).min(u16::MAX as u128) as u16;
        if p.shown_secs != Some(secs_left) || p.redraw {
            if p.shown_secs.is_none() {
                out.push(Command::Prompt {
                    action: p.action.clone(),
                    step: p.step,
                    total,
                });
            }
            p.shown_secs = Some(secs_left);
            p.redraw = false;
            let percent = (left.as_millis() * 100 / timeout.as_millis().max(1)).min(100) as u8;
            out.push(Command::Show(match p.guidance {
                Some(guidance) => Screen::Guide { guidance },
                None => Screen::Action {
                    action: if swap_sides {
                        crate::actions::swap_sides(&p.action)
                    } else {
                        p.action.clone()
                    },
                    step: p.step,
                    total,
                    secs_left,
                    percent_left: percent,
                    prompt: prompts,
                },
            }));
        }
        if !p.posting && now >= p.next_post_at {
            p.posting = true;
            p.next_post_at = now + interval;
            out.push(Command::PostFrame {
                request_id,
                not_before: p.frames_from,
            });
        }
        // Wake for whichever comes first: the next frame, the next countdown second,
        // the action's deadline, the session's deadline.
        let next_second = p.deadline - Duration::from_secs(u64::from(secs_left.saturating_sub(1)));
        let mut wake = self.deadline.min(p.deadline).min(next_second);
        if !p.posting {
            wake = wake.min(p.next_post_at);
        }
        out.push(Command::WakeAt(wake.max(now)));
    }

    /// Ends the session: the verdict screen, the verdict, then the relay to pulse.
    fn finish(&mut self, verdict: Verdict, out: &mut Vec<Command>) {
        self.phase = Phase::Done(verdict);
        match verdict {
            Verdict::Pass => {
                out.push(Command::Show(Screen::Pass));
                out.push(Command::Finish(verdict));
                out.push(Command::OpenGate);
            }
            Verdict::Deny(reason) => {
                // The person sees "Cancelled" when the service stops, as for an
                // operator's cancel; the verdict (audit line, events, metrics) says
                // `shutdown`.
                let shown = match reason {
                    DenyReason::Shutdown => DenyReason::Cancelled,
                    r => r,
                };
                out.push(Command::Show(Screen::Fail { reason: shown }));
                out.push(Command::Finish(verdict));
                if !matches!(reason, DenyReason::Cancelled | DenyReason::Shutdown) {
                    out.push(Command::SignalFail);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn params() -> Params {
        Params {
            total_steps: 3,
            action_timeout: Duration::from_secs(10),
            frame_interval: SEC,
            first_frame_after: SEC,
            max_restarts: 1,
            session_timeout: Duration::from_secs(60),
            swap_sides: false,
        }
    }

    fn id() -> RequestId {
        RequestId::Text("req-1".into())
    }

    fn answer(status: Status, result: Option<Outcome>, next: Option<&str>) -> Answer {
        Answer {
            request_id: None,
            status,
            result,
            next_choice: next.map(str::to_owned),
            time_used: Some(0.01),
            response_id: Some("r".into()),
        }
    }

    fn sequence(first: &str) -> Result<Answer, ApiError> {
        let mut a = answer(Status::Processing, None, Some(first));
        a.request_id = Some(id());
        Ok(a)
    }

    fn frame(result: Result<Answer, ApiError>) -> Event {
        Event::FrameAnswer {
            request_id: id(),
            result,
        }
    }

    fn yes_next(next: &str) -> Event {
        frame(Ok(answer(
            Status::Processing,
            Some(Outcome::Yes),
            Some(next),
        )))
    }

    fn no_same(current: &str) -> Event {
        frame(Ok(answer(
            Status::Processing,
            Some(Outcome::No),
            Some(current),
        )))
    }

    fn completed(result: Outcome) -> Event {
        frame(Ok(answer(Status::Completed, Some(result), None)))
    }

    /// A driver that plays the shell: keeps the time, the pending wake-up and the
    /// command log.
    struct Shell {
        t0: Instant,
        now: Instant,
        session: Session,
        log: Vec<Command>,
        wake: Option<Instant>,
        auto_no: bool,
    }

    impl Shell {
        fn start(p: Params) -> Shell {
            let t0 = Instant::now();
            let (session, cmds) = Session::start(p, t0);
            let mut s = Shell {
                t0,
                now: t0,
                session,
                log: Vec::new(),
                wake: None,
                auto_no: false,
            };
            s.take(cmds);
            s
        }

        fn take(&mut self, cmds: Vec<Command>) -> Vec<Command> {
            for c in &cmds {
                if let Command::WakeAt(t) = c {
                    self.wake = Some(*t);
                }
            }
            self.log.extend(cmds.iter().cloned());
            cmds
        }

        fn send(&mut self, e: Event) -> Vec<Command> {
            let cmds = self.session.handle(self.now, e);
            let mut out = self.take(cmds);
            // A service that answers every frame at once with "not yet".
            if self.auto_no && out.iter().any(|c| matches!(c, Command::PostFrame { .. })) {
                if let Some((action, _)) = self.session.current_action() {
                    let action = action.to_owned();
                    out.extend(self.send(no_same(&action)));
                }
            }
            out
        }

        /// Advances time to `t` (relative to start), delivering every wake-up on the way.
        fn run_until(&mut self, t: Duration) -> Vec<Command> {
            let target = self.t0 + t;
            let mut out = Vec::new();
            while let Some(w) = self.wake.filter(|w| *w <= target) {
                self.wake = None;
                self.now = self.now.max(w);
                out.extend(self.send(Event::Tick));
                if self.session.verdict().is_some() {
                    break;
                }
            }
            if self.session.verdict().is_none() {
                self.now = target;
            }
            out
        }

        fn at(&mut self, t: Duration) {
            self.now = self.t0 + t;
        }

        fn posts(cmds: &[Command]) -> usize {
            cmds.iter()
                .filter(|c| matches!(c, Command::PostFrame { .. }))
                .count()
        }

        fn opened(&self) -> usize {
            self.log.iter().filter(|c| **c == Command::OpenGate).count()
        }

        fn fail_signals(&self) -> usize {
            self.log
                .iter()
                .filter(|c| **c == Command::SignalFail)
                .count()
        }

        fn last_action_screen(&self) -> Option<Screen> {
            self.log.iter().rev().find_map(|c| match c {
                Command::Show(s @ Screen::Action { .. }) => Some(s.clone()),
                _ => None,
            })
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn start_shows_get_ready_and_fetches() {
        let s = Shell::start(params());
        assert_eq!(
            s.log,
            vec![
                Command::Show(Screen::GetReady),
                Command::FetchSequence,
                Command::WakeAt(s.t0 + Duration::from_secs(60)),
            ]
        );
    }

    #[test]
    fn pass_path_opens_the_gate_once() {
        let mut s = Shell::start(params());
        s.at(ms(200));
        let c = s.send(Event::Sequence(sequence("Turn_left")));
        assert_eq!(
            c[0],
            Command::Prompt {
                action: "Turn_left".into(),
                step: 1,
                total: 3
            }
        );
        assert_eq!(
            c[1],
            Command::Show(Screen::Action {
                action: "Turn_left".into(),
                step: 1,
                total: 3,
                secs_left: 10,
                percent_left: 100,
                prompt: 1,
            })
        );
        assert_eq!(
            Shell::posts(&c),
            0,
            "no frame before the person had a moment"
        );
        let c = s.run_until(ms(1200));
        assert_eq!(
            c.iter()
                .find(|c| matches!(c, Command::PostFrame { .. }))
                .cloned(),
            Some(Command::PostFrame {
                request_id: id(),
                // Captured once the person had `first_frame_after` to act.
                not_before: s.t0 + ms(1200)
            })
        );
        let c = s.send(yes_next("Look_up"));
        assert!(
            matches!(&c[1], Command::Show(Screen::Action { action, step: 2, .. }) if action == "Look_up")
        );
        s.run_until(ms(2300));
        s.send(yes_next("Smile"));
        assert!(matches!(
            s.last_action_screen(),
            Some(Screen::Action {
                step: 3,
                prompt: 3,
                ..
            })
        ));
        s.run_until(ms(3400));
        let c = s.send(completed(Outcome::Yes));
        assert_eq!(
            c,
            vec![
                Command::Show(Screen::Pass),
                Command::Finish(Verdict::Pass),
                Command::OpenGate,
            ]
        );
        assert_eq!(s.session.verdict(), Some(Verdict::Pass));
        assert_eq!(s.opened(), 1);
        assert_eq!(s.fail_signals(), 0);
        // Nothing after the verdict, whatever arrives.
        assert!(s.send(completed(Outcome::Yes)).is_empty());
        assert!(s.send(Event::Tick).is_empty());
        assert_eq!(s.opened(), 1);
    }

    #[test]
    fn wrong_action_then_pass() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Turn_left")));
        s.run_until(ms(1000));
        let c = s.send(no_same("Turn_left"));
        assert_eq!(Shell::posts(&c), 0, "the next frame waits for the interval");
        let c = s.run_until(ms(2000));
        assert_eq!(Shell::posts(&c), 1);
        s.send(yes_next("Look_up"));
        s.run_until(ms(3000));
        s.send(yes_next("Smile"));
        s.run_until(ms(4000));
        s.send(completed(Outcome::Yes));
        assert_eq!(s.session.verdict(), Some(Verdict::Pass));
        assert_eq!(s.opened(), 1);
    }

    /// The first frame of each new action waits `first_frame_after` (the person
    /// reads and acts); a retry after a `No` waits only `frame_interval`.
    #[test]
    fn each_new_action_gets_time_before_its_first_frame() {
        let mut p = params();
        p.first_frame_after = Duration::from_secs(5);
        let mut s = Shell::start(p);
        let post_at = |c: &[Command]| {
            c.iter().find_map(|c| match c {
                Command::PostFrame { not_before, .. } => Some(*not_before),
                _ => None,
            })
        };
        s.send(Event::Sequence(sequence("Turn_left")));
        assert_eq!(Shell::posts(&s.run_until(ms(4999))), 0, "not while reading");
        let c = s.run_until(ms(5000));
        assert_eq!(
            post_at(&c),
            Some(s.t0 + ms(5000)),
            "a frame from after the wait"
        );
        s.send(no_same("Turn_left"));
        assert_eq!(Shell::posts(&s.run_until(ms(5999))), 0);
        let c = s.run_until(ms(6000));
        assert_eq!(
            post_at(&c),
            Some(s.t0 + ms(5000)),
            "a retry one interval later"
        );
        // Verified at 6.3 s: the next action waits again, from its own prompt.
        s.at(ms(6300));
        s.send(yes_next("Look_up"));
        assert_eq!(Shell::posts(&s.run_until(ms(11_299))), 0);
        let c = s.run_until(ms(11_300));
        assert_eq!(post_at(&c), Some(s.t0 + ms(11_300)));
        // The countdown still counts the whole action timeout from the prompt.
        assert!(matches!(
            s.last_action_screen(),
            Some(Screen::Action {
                step: 2,
                secs_left: 5,
                ..
            })
        ));
    }

    #[test]
    fn one_frame_in_flight_at_a_time() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Turn_left")));
        // The service is slow: no answer for five intervals.
        let c = s.run_until(ms(6000));
        assert_eq!(Shell::posts(&c), 1);
    }

    #[test]
    fn uncompleted_denies_not_verified() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Turn_left")));
        s.run_until(ms(1000));
        let c = s.send(frame(Ok(answer(
            Status::Uncompleted,
            Some(Outcome::No),
            None,
        ))));
        let reason = DenyReason::NotVerified;
        assert_eq!(
            c,
            vec![
                Command::Show(Screen::Fail { reason }),
                Command::Finish(Verdict::Deny(reason)),
                Command::SignalFail,
            ]
        );
        assert_eq!(s.opened(), 0);
    }

    #[test]
    fn completed_no_denies() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Turn_left")));
        s.run_until(ms(1000));
        s.send(completed(Outcome::No));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::NotVerified))
        );
        assert_eq!(s.opened(), 0);
    }

    #[test]
    fn completed_without_result_or_with_odd_result_denies() {
        for result in [None, Some(Outcome::Other("maybe".into()))] {
            let mut s = Shell::start(params());
            s.send(Event::Sequence(sequence("Turn_left")));
            s.run_until(ms(1000));
            s.send(frame(Ok(answer(Status::Completed, result, None))));
            assert_eq!(
                s.session.verdict(),
                Some(Verdict::Deny(DenyReason::NotVerified))
            );
            assert_eq!(s.opened(), 0);
        }
    }

    #[test]
    fn a_sequence_that_claims_completed_never_passes() {
        let mut s = Shell::start(params());
        let mut a = answer(Status::Completed, Some(Outcome::Yes), None);
        a.request_id = Some(id());
        s.send(Event::Sequence(Ok(a)));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::DeviceError))
        );
        assert_eq!(s.opened(), 0);
    }

    #[test]
    fn a_sequence_without_request_id_or_action_is_refused() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(Ok(answer(
            Status::Processing,
            None,
            Some("Smile"),
        ))));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::DeviceError))
        );
        let mut s = Shell::start(params());
        let mut a = answer(Status::Processing, None, None);
        a.request_id = Some(id());
        s.send(Event::Sequence(Ok(a)));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::DeviceError))
        );
    }

    #[test]
    fn an_answer_about_another_request_never_passes() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Turn_left")));
        s.run_until(ms(1000));
        let mut a = answer(Status::Completed, Some(Outcome::Yes), None);
        a.request_id = Some(RequestId::Text("someone-else".into()));
        s.send(frame(Ok(a)));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::DeviceError))
        );
        assert_eq!(s.opened(), 0);
    }

    #[test]
    fn an_answer_for_a_frame_not_in_flight_is_ignored() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Turn_left")));
        // No frame posted yet: a "completed" answer is not ours.
        assert!(s
            .send(completed(Outcome::Yes))
            .iter()
            .all(|c| *c != Command::OpenGate));
        s.run_until(ms(1000));
        // Posted for another request id: ignored too.
        s.send(Event::FrameAnswer {
            request_id: RequestId::Text("other".into()),
            result: Ok(answer(Status::Completed, Some(Outcome::Yes), None)),
        });
        assert_eq!(s.session.verdict(), None);
        assert_eq!(s.opened(), 0);
    }

    #[test]
    fn numeric_request_id_is_carried_as_received() {
        let num = RequestId::Number(serde_json::Number::from(12345));
        let mut s = Shell::start(params());
        let mut a = answer(Status::Processing, None, Some("Smile"));
        a.request_id = Some(num.clone());
        s.send(Event::Sequence(Ok(a)));
        let c = s.run_until(ms(1000));
        assert!(c
            .iter()
            .any(|c| matches!(c, Command::PostFrame { request_id, .. } if *request_id == num)));
    }

    #[test]
    fn action_timeout_restarts_then_fails() {
        let mut s = Shell::start(params());
        s.auto_no = true;
        s.send(Event::Sequence(sequence("Turn_left")));
        // Every frame comes back "not yet" until the action's 10 s are up.
        let c = s.run_until(ms(10_000));
        assert_eq!(
            Shell::posts(&s.log),
            9,
            "one frame a second from 1 s to 9 s"
        );
        assert!(
            c.contains(&Command::Restart { request_id: id() }),
            "restart after the action timed out: {c:?}"
        );
        s.at(ms(10_300));
        let c = s.send(Event::Restarted(Ok(answer(
            Status::Processing,
            Some(Outcome::No),
            Some("Look_down"),
        ))));
        assert!(
            matches!(&c[1], Command::Show(Screen::Action { action, step: 1, secs_left: 10, .. }) if action == "Look_down")
        );
        assert_eq!(s.session.restarts(), 1);
        // Nobody does it again: the second timeout ends the session (max_restarts = 1).
        s.run_until(ms(30_000));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::ActionTimeout))
        );
        assert_eq!(
            s.now,
            s.t0 + ms(20_300),
            "denied exactly at the second deadline"
        );
        let restarts = s
            .log
            .iter()
            .filter(|c| matches!(c, Command::Restart { .. }))
            .count();
        assert_eq!(restarts, 1);
        assert_eq!(s.opened(), 0);
        assert_eq!(s.fail_signals(), 1);
    }

    #[test]
    fn a_frame_in_flight_at_the_deadline_is_awaited() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Smile")));
        // The frame posted at 1 s is never answered: no restart while it is out.
        let c = s.run_until(ms(30_000));
        assert!(!c.iter().any(|c| matches!(c, Command::Restart { .. })));
        assert_eq!(s.wake, Some(s.t0 + ms(60_000)));
        // Its answer (a timeout error, say) ends it.
        s.send(frame(Err(ApiError::Timeout { timeout_ms: 8000 })));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::ServiceUnavailable))
        );
    }

    #[test]
    fn no_restart_allowed_means_timeout_fails_at_once() {
        let mut p = params();
        p.max_restarts = 0;
        let mut s = Shell::start(p);
        s.auto_no = true;
        s.send(Event::Sequence(sequence("Smile")));
        s.run_until(ms(20_000));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::ActionTimeout))
        );
        assert_eq!(s.now, s.t0 + ms(10_000));
        assert!(!s.log.iter().any(|c| matches!(c, Command::Restart { .. })));
    }

    #[test]
    fn an_answer_in_flight_at_the_deadline_can_still_pass_the_action() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Smile")));
        s.run_until(ms(9_500));
        // The frame posted at 9 s is answered after the deadline, and verifies.
        s.at(ms(10_400));
        s.send(yes_next("Look_up"));
        assert_eq!(s.session.current_action(), Some(("Look_up", 2)));
        assert!(!s.log.iter().any(|c| matches!(c, Command::Restart { .. })));
    }

    #[test]
    fn restart_that_ends_the_request_denies_action_timeout() {
        let mut s = Shell::start(params());
        s.auto_no = true;
        s.send(Event::Sequence(sequence("Smile")));
        s.run_until(ms(10_000));
        s.auto_no = false;
        s.send(Event::Restarted(Ok(answer(
            Status::Uncompleted,
            Some(Outcome::No),
            None,
        ))));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::ActionTimeout))
        );
    }

    #[test]
    fn restart_answer_claiming_completed_never_passes() {
        let mut s = Shell::start(params());
        s.auto_no = true;
        s.send(Event::Sequence(sequence("Smile")));
        s.run_until(ms(10_000));
        s.auto_no = false;
        s.send(Event::Restarted(Ok(answer(
            Status::Completed,
            Some(Outcome::Yes),
            None,
        ))));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::DeviceError))
        );
        assert_eq!(s.opened(), 0);
    }

    #[test]
    fn a_restart_answer_about_another_request_denies() {
        let mut s = Shell::start(params());
        s.auto_no = true;
        s.send(Event::Sequence(sequence("Smile")));
        s.run_until(ms(10_000));
        s.auto_no = false;
        let mut a = answer(Status::Processing, None, Some("Smile"));
        a.request_id = Some(RequestId::Text("someone-else".into()));
        s.send(Event::Restarted(Ok(a)));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::DeviceError))
        );
    }

    #[test]
    fn a_failed_shell_task_denies_at_once() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Smile")));
        s.run_until(ms(1000));
        s.send(Event::ShellFailed);
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::DeviceError))
        );
        assert_eq!(s.fail_signals(), 1);
        assert_eq!(s.opened(), 0);
    }

    #[test]
    fn session_timeout_ends_everything() {
        let mut p = params();
        p.session_timeout = Duration::from_secs(15);
        p.max_restarts = 2;
        let mut s = Shell::start(p);
        s.auto_no = true;
        s.send(Event::Sequence(sequence("Smile")));
        s.run_until(ms(10_000));
        s.at(ms(10_200));
        s.send(Event::Restarted(Ok(answer(
            Status::Processing,
            None,
            Some("Smile"),
        ))));
        s.run_until(ms(60_000));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::SessionTimeout))
        );
        assert_eq!(s.now, s.t0 + ms(15_000));
    }

    #[test]
    fn session_timeout_while_fetching() {
        let mut s = Shell::start(params());
        s.run_until(ms(60_000));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::SessionTimeout))
        );
        // The late answer changes nothing.
        assert!(s.send(Event::Sequence(sequence("Smile"))).is_empty());
    }

    fn api_errors() -> Vec<(ApiError, DenyReason)> {
        let none = || (None, None);
        let (c, m) = none();
        vec![
            (
                ApiError::Unauthorized {
                    code: c.clone(),
                    message: m.clone(),
                },
                DenyReason::KeyRejected,
            ),
            (
                ApiError::Forbidden {
                    code: c.clone(),
                    message: m.clone(),
                },
                DenyReason::KeyRejected,
            ),
            (
                ApiError::Unprocessable {
                    code: Some("X".into()),
                    message: m.clone(),
                },
                DenyReason::DeviceError,
            ),
            (
                ApiError::OutOfCredit {
                    code: c.clone(),
                    message: m.clone(),
                },
                DenyReason::OutOfCredit,
            ),
            (
                ApiError::Server {
                    status: 503,
                    code: c.clone(),
                    message: m.clone(),
                },
                DenyReason::ServiceUnavailable,
            ),
            (
                ApiError::UnexpectedStatus {
                    status: 404,
                    code: c,
                    message: m,
                },
                DenyReason::ServiceUnavailable,
            ),
            (
                ApiError::Timeout { timeout_ms: 8000 },
                DenyReason::ServiceUnavailable,
            ),
            (
                ApiError::Tls("bad cert".into()),
                DenyReason::ServiceUnavailable,
            ),
            (
                ApiError::Network("refused".into()),
                DenyReason::ServiceUnavailable,
            ),
            (
                ApiError::Garbled("not json".into()),
                DenyReason::ServiceUnavailable,
            ),
        ]
    }

    #[test]
    fn every_api_error_class_denies_with_its_reason_at_every_step() {
        for (err, reason) in api_errors() {
            // On the GET.
            let mut s = Shell::start(params());
            s.send(Event::Sequence(Err(err.clone())));
            assert_eq!(s.session.verdict(), Some(Verdict::Deny(reason)), "{err}");
            // On a frame POST.
            let mut s = Shell::start(params());
            s.send(Event::Sequence(sequence("Smile")));
            s.run_until(ms(1000));
            s.send(frame(Err(err.clone())));
            assert_eq!(s.session.verdict(), Some(Verdict::Deny(reason)), "{err}");
            // On the restart.
            let mut s = Shell::start(params());
            s.auto_no = true;
            s.send(Event::Sequence(sequence("Smile")));
            s.run_until(ms(10_000));
            s.auto_no = false;
            s.send(Event::Restarted(Err(err.clone())));
            assert_eq!(s.session.verdict(), Some(Verdict::Deny(reason)), "{err}");
            assert_eq!(s.opened(), 0);
            assert_eq!(s.fail_signals(), 1);
        }
    }

    #[test]
    fn unknown_status_denies() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Smile")));
        s.run_until(ms(1000));
        s.send(frame(Ok(answer(
            Status::Other("paused".into()),
            Some(Outcome::Yes),
            None,
        ))));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::DeviceError))
        );
    }

    #[test]
    fn processing_yes_without_next_action_denies() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Smile")));
        s.run_until(ms(1000));
        s.send(frame(Ok(answer(
            Status::Processing,
            Some(Outcome::Yes),
            None,
        ))));
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::DeviceError))
        );
    }

    #[test]
    fn unknown_action_is_shown_and_the_session_goes_on() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Wink_twice")));
        assert!(
            matches!(s.last_action_screen(), Some(Screen::Action { action, .. }) if action == "Wink_twice")
        );
        let c = s.run_until(ms(1000));
        assert_eq!(Shell::posts(&c), 1);
        assert_eq!(s.session.verdict(), None);
    }

    #[test]
    fn a_changed_next_choice_on_no_is_a_new_prompt() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Smile")));
        s.run_until(ms(5000));
        s.send(no_same("Look_up"));
        assert!(
            matches!(s.last_action_screen(), Some(Screen::Action { action, step: 1, secs_left: 10, prompt: 2, .. }) if action == "Look_up")
        );
    }

    /// The service's action names of every [`Command::Prompt`] so far.
    fn prompts(s: &Shell) -> Vec<(String, u8)> {
        s.log
            .iter()
            .filter_map(|c| match c {
                Command::Prompt { action, step, .. } => Some((action.clone(), *step)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn one_prompt_command_per_new_prompt_a_repeat_after_restart_included() {
        let mut s = Shell::start(params());
        s.auto_no = true;
        s.send(Event::Sequence(sequence("Smile")));
        // The countdown's screens are no new prompts.
        s.run_until(ms(3_500));
        assert_eq!(prompts(&s), [("Smile".to_string(), 1)]);
        // Time up: a restart that asks for the same action again is a new prompt.
        s.run_until(ms(10_000));
        s.at(ms(10_100));
        s.send(Event::Restarted(Ok(answer(
            Status::Processing,
            Some(Outcome::No),
            Some("Smile"),
        ))));
        assert_eq!(
            prompts(&s),
            [("Smile".to_string(), 1), ("Smile".to_string(), 1)]
        );
    }

    #[test]
    fn swap_sides_shows_the_other_side_and_prompts_with_the_service_name() {
        let mut s = Shell::start(Params {
            swap_sides: true,
            ..params()
        });
        let c = s.send(Event::Sequence(sequence("Turn_left")));
        assert_eq!(
            c[0],
            Command::Prompt {
                action: "Turn_left".into(),
                step: 1,
                total: 3
            }
        );
        assert!(
            matches!(&c[1], Command::Show(Screen::Action { action, .. }) if action == "Turn_right")
        );
        // The service still hears of its own action: the frames go on.
        let c = s.run_until(ms(1000));
        assert_eq!(Shell::posts(&c), 1);
    }

    #[test]
    fn countdown_screens_once_per_second() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Smile")));
        s.run_until(ms(9_999));
        let secs: Vec<u16> = s
            .log
            .iter()
            .filter_map(|c| match c {
                Command::Show(Screen::Action { secs_left, .. }) => Some(*secs_left),
                _ => None,
            })
            .collect();
        assert_eq!(secs, vec![10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
        let pct: Vec<u8> = s
            .log
            .iter()
            .filter_map(|c| match c {
                Command::Show(Screen::Action { percent_left, .. }) => Some(*percent_left),
                _ => None,
            })
            .collect();
        assert_eq!(pct, vec![100, 90, 80, 70, 60, 50, 40, 30, 20, 10]);
    }

    #[test]
    fn camera_without_frames_denies() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Smile")));
        s.run_until(ms(1000));
        s.send(Event::NoFrame);
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::CameraUnavailable))
        );
    }

    #[test]
    fn a_frame_without_a_face_is_not_posted_and_the_person_is_guided() {
        use crate::presence::Guidance;
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Smile")));
        let c = s.run_until(ms(1000));
        assert_eq!(Shell::posts(&c), 1);
        // The shell looked: nobody. Nothing was sent; the panel guides.
        let c = s.send(Event::FaceMissing(Guidance::FaceTheCamera));
        assert!(c.contains(&Command::Show(Screen::Guide {
            guidance: Guidance::FaceTheCamera
        })));
        assert_eq!(s.session.verdict(), None, "no verdict, no deny");
        assert_eq!(Shell::posts(&c), 0, "not retried at once");
        // The next frame is tried a frame interval later; the countdown keeps the
        // guidance on screen meanwhile.
        let c = s.run_until(ms(2000));
        assert_eq!(Shell::posts(&c), 1);
        assert!(c
            .iter()
            .all(|c| !matches!(c, Command::Show(Screen::Action { .. }))));
        let c = s.send(Event::FaceMissing(Guidance::MoveCloser));
        assert!(c.contains(&Command::Show(Screen::Guide {
            guidance: Guidance::MoveCloser
        })));
        // A frame with a face is posted; its answer brings the action back.
        let c = s.run_until(ms(3000));
        assert_eq!(Shell::posts(&c), 1);
        let c = s.send(no_same("Smile"));
        assert!(
            c.iter().any(
                |c| matches!(c, Command::Show(Screen::Action { action, .. }) if action == "Smile")
            ),
            "{c:?}"
        );
        // A stray FaceMissing with no frame in flight changes nothing.
        assert!(s
            .send(Event::FaceMissing(Guidance::FaceTheCamera))
            .iter()
            .all(|c| !matches!(c, Command::Show(_))));
    }

    #[test]
    fn held_back_frames_never_pass_and_time_still_runs_out() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Smile")));
        // Nobody ever faces the camera: every frame held back, then the restart,
        // then the deny; no frame was ever with the service.
        for t in 1..=40 {
            let c = s.run_until(ms(t * 1000));
            if Shell::posts(&c) > 0 {
                s.send(Event::FaceMissing(crate::presence::Guidance::FaceTheCamera));
            }
            if c.iter().any(|c| matches!(c, Command::Restart { .. })) {
                s.send(Event::Restarted(sequence("Smile")));
            }
            if s.session.verdict().is_some() {
                break;
            }
        }
        assert_eq!(
            s.session.verdict(),
            Some(Verdict::Deny(DenyReason::ActionTimeout))
        );
        assert_eq!(s.opened(), 0);
    }

    #[test]
    fn cancel_denies_without_fail_signal() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Smile")));
        let c = s.send(Event::Cancel);
        let reason = DenyReason::Cancelled;
        assert_eq!(
            c,
            vec![
                Command::Show(Screen::Fail { reason }),
                Command::Finish(Verdict::Deny(reason))
            ]
        );
        assert_eq!(s.fail_signals(), 0);
    }

    #[test]
    fn shutdown_denies_with_its_own_reason_without_fail_signal() {
        let mut s = Shell::start(params());
        s.send(Event::Sequence(sequence("Smile")));
        let c = s.send(Event::Shutdown);
        assert_eq!(
            c,
            vec![
                Command::Show(Screen::Fail {
                    reason: DenyReason::Cancelled
                }),
                Command::Finish(Verdict::Deny(DenyReason::Shutdown))
            ]
        );
        assert_eq!(s.fail_signals(), 0);
        assert!(s.send(Event::Shutdown).is_empty(), "once only");
    }

    #[test]
    fn every_deny_reason_has_words_and_a_code() {
        // An exhaustive match: a new reason that is not in ALL stops this compiling.
        for r in DenyReason::ALL {
            match r {
                DenyReason::ActionTimeout
                | DenyReason::NotVerified
                | DenyReason::SessionTimeout
                | DenyReason::ServiceUnavailable
                | DenyReason::KeyRejected
                | DenyReason::OutOfCredit
                | DenyReason::DeviceError
                | DenyReason::CameraUnavailable
                | DenyReason::TooManyAttempts
                | DenyReason::Cancelled
                | DenyReason::Shutdown => {}
            }
        }
        let all = DenyReason::ALL;
        let codes: std::collections::HashSet<_> = all.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), all.len());
        for r in all {
            assert!(!r.words().is_empty() && r.words().len() <= 24, "{r:?}");
        }
    }
}

//! The simulated camera: a simulated person stands in front of it and watches the panel.
//!
//! Who stands there comes in as a [`Visitor`]; what they do follows the panel's
//! [`Screen`] as decided by [`Actor`] (pure, no clock of its own). Each frame is a
//! [`scene`] picture whose marker the API stand-in reads back.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::actions::{self, ALL, FACE};
use crate::camera::scene::{self, Subject};
use crate::camera::{CameraState, Frame, FrameSlot, FrameSource, Performer, SimCameraOptions};
use crate::display::Screen;

/// The person standing in front of the simulated camera.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visitor {
    pub performer: Performer,
    /// How long they take to react to a new action prompt.
    pub reaction: Duration,
}

/// An action prompt as the simulated person saw it appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prompt {
    /// The screen's prompt number.
    pub id: u32,
    /// The action's index in [`ALL`]; `None` for an action the person does not know.
    pub action: Option<usize>,
    /// When the person first saw it.
    pub shown_at: Instant,
    /// 1 for the first prompt since the visitor arrived, 2 for the next, …
    pub ordinal: u32,
}

/// What the camera sees of a person who behaves like `performer`, given the action
/// prompt on the panel now (`None` when the panel shows no action).
pub fn subject_for(
    performer: Performer,
    reaction: Duration,
    prompt: Option<&Prompt>,
    now: Instant,
) -> Subject {
    match performer {
        Performer::Absent => return Subject::Nobody,
        Performer::Spoof => return Subject::Still,
        Performer::Pass | Performer::Fail | Performer::Slow => {}
    }
    let Some(prompt) = prompt else {
        return Subject::Neutral;
    };
    let Some(index) = prompt.action else {
        return Subject::Neutral;
    };
    if now.saturating_duration_since(prompt.shown_at) < reaction {
        return Subject::Neutral;
    }
    match performer {
        Performer::Slow if prompt.ordinal <= 1 => Subject::Neutral,
        Performer::Fail => Subject::Doing(wrong_action(index)),
        _ => Subject::Doing(index),
    }
}

/// The action a failing person does instead of action `index`: the next action of
/// the same body part (wrapping), never `index` itself.
pub fn wrong_action(index: usize) -> usize {
    let face = FACE.len();
    if index < face {
        (index + 1) % face
    } else {
        face + (index - face + 1) % (ALL.len() - face)
    }
}

/// The simulated person's memory of the session: who they are and which prompt
/// they are reacting to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Actor {
    visitor: Option<Visitor>,
    /// Prompts seen since the visitor arrived.
    prompts: u32,
    /// The latest prompt, kept while the panel shows "Verifying".
    current: Option<Prompt>,
    /// The panel shows `current` now.
    showing: bool,
}

impl Actor {
    /// A person (or nobody) who has not seen any prompt yet.
    pub fn new(visitor: Option<Visitor>) -> Self {
        Actor {
            visitor,
            ..Actor::default()
        }
    }

    /// Who stands there now.
    pub fn visitor(&self) -> Option<&Visitor> {
        self.visitor.as_ref()
    }

    /// A new visitor (or nobody) steps up: a new session, all prompts forgotten.
    pub fn arrive(&mut self, visitor: Option<Visitor>) {
        *self = Actor::new(visitor);
    }

    /// The person looks at the panel at `now`. Idempotent for an unchanged screen.
    ///
    /// An `Action` screen whose `prompt` differs from the last one is a new prompt.
    /// `Verifying` keeps the prompt in mind (the same prompt may come back); any
    /// other screen ends it.
    pub fn see(&mut self, screen: &Screen, now: Instant) {
        match screen {
            Screen::Action { action, prompt, .. } => {
                if self.current.map(|p| p.id) != Some(*prompt) {
                    self.prompts = self.prompts.saturating_add(1);
                    self.current = Some(Prompt {
                        id: *prompt,
                        action: actions::index_of(action),
                        shown_at: now,
                        ordinal: self.prompts,
                    });
                }
                self.showing = true;
            }
            // A guidance ("Face the camera") holds the prompt as `Verifying` does.
            Screen::Verifying | Screen::Guide { .. } => self.showing = false,
            _ => {
                self.showing = false;
                self.current = None;
            }
        }
    }

    /// What the camera sees at `now`.
    pub fn subject(&self, now: Instant) -> Subject {
        match &self.visitor {
            None => Subject::Nobody,
            Some(v) => {
                let prompt = self.current.as_ref().filter(|_| self.showing);
                subject_for(v.performer, v.reaction, prompt, now)
            }
        }
    }
}

/// A camera that films the simulated person at a fixed frame rate.
pub struct SimCamera {
    fps: u32,
    width: u32,
    height: u32,
    quality: u8,
    screen: watch::Receiver<Screen>,
    visitor: watch::Receiver<Option<Visitor>>,
}

impl SimCamera {
    /// A camera with `cfg`'s size, quality and frame rate (its performer and
    /// reaction are ignored: they come with each [`Visitor`]). Every value sent on
    /// `visitor` is a new arrival.
    pub fn new(
        cfg: &SimCameraOptions,
        screen: watch::Receiver<Screen>,
        visitor: watch::Receiver<Option<Visitor>>,
    ) -> Self {
        SimCamera {
            fps: cfg.fps.max(1),
            width: cfg.width,
            height: cfg.height,
            quality: cfg.jpeg_quality,
            screen,
            visitor,
        }
    }

    /// Time between two frames.
    pub fn period(&self) -> Duration {
        Duration::from_secs(1) / self.fps
    }

    /// Takes in visitor and screen changes at `now`; `notified` when the visitor
    /// channel just reported a change (which marked it seen).
    fn absorb(&mut self, actor: &mut Actor, notified: bool, now: Instant) {
        let arrived = notified
            || match self.visitor.has_changed() {
                Ok(changed) => changed,
                // The sender is gone: its last value may still be unseen.
                Err(_) => self.visitor.borrow().as_ref() != actor.visitor(),
            };
        if arrived {
            let visitor = self.visitor.borrow_and_update().clone();
            tracing::debug!(
                performer = visitor.as_ref().map(|v| v.performer.as_str()),
                "simulated visitor arrives"
            );
            actor.arrive(visitor);
        }
        actor.see(&self.screen.borrow_and_update(), now);
    }

    async fn render(&self, subject: Subject) -> Result<Bytes, String> {
        let (w, h, q) = (self.width, self.height, self.quality);
        match tokio::task::spawn_blocking(move || scene::render(w, h, subject, q)).await {
            Ok(Ok(jpeg)) => Ok(Bytes::from(jpeg)),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(format!("render task failed: {e}")),
        }
    }

    async fn run(mut self, slot: FrameSlot) {
        let mut actor = Actor::new(self.visitor.borrow_and_update().clone());
        actor.see(&self.screen.borrow_and_update(), Instant::now());
        let mut ticks = tokio::time::interval(self.period());
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let (mut screen_open, mut visitor_open) = (true, true);
        let mut seq: u64 = 0;
        // The picture of a subject never changes: encode it once per subject.
        let mut cache: Option<(Subject, Bytes)> = None;
        let mut failing: Option<String> = None;
        loop {
            // `changed()` marks the value seen: remember that the visitor changed.
            let (tick, arrived) = tokio::select! {
                _ = ticks.tick() => (true, false),
                r = self.visitor.changed(), if visitor_open => {
                    visitor_open = r.is_ok();
                    (false, r.is_ok())
                }
                r = self.screen.changed(), if screen_open => {
                    screen_open = r.is_ok();
                    (false, false)
                }
            };
            let now = Instant::now();
            self.absorb(&mut actor, arrived, now);
            if !tick {
                continue;
            }
            let subject = actor.subject(now);
            let jpeg = match &cache {
                Some((s, jpeg)) if *s == subject => Ok(jpeg.clone()),
                _ => {
                    tracing::debug!(?subject, "simulated camera sees a new subject");
                    self.render(subject).await
                }
            };
            match jpeg {
                Ok(jpeg) => {
                    cache = Some((subject, jpeg.clone()));
                    slot.publish(Frame::from_jpeg(jpeg, self.width, self.height, seq, now));
                    seq += 1;
                    if failing.take().is_some() {
                        tracing::info!("simulated camera streams again");
                    }
                }
                Err(error) => {
                    if failing.as_deref() != Some(error.as_str()) {
                        tracing::warn!(%error, "simulated camera cannot render a frame");
                        slot.set_state(CameraState::Unavailable(error.clone()));
                        failing = Some(error);
                    }
                }
            }
        }
    }
}

impl FrameSource for SimCamera {
    fn spawn(self: Box<Self>, slot: FrameSlot) -> JoinHandle<()> {
        tokio::spawn(self.run(slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::camera::scene::Seen;

    const REACTION: Duration = Duration::from_millis(300);

    fn action(name: &str, prompt: u32) -> Screen {
        Screen::Action {
            action: name.to_owned(),
            step: 1,
            total: 3,
            secs_left: 10,
            percent_left: 100,
            prompt,
        }
    }

    fn visitor(performer: Performer) -> Option<Visitor> {
        Some(Visitor {
            performer,
            reaction: REACTION,
        })
    }

    /// The subjects seen at: idle screen, prompt 1 just shown, prompt 1 after the
    /// reaction, prompt 2 (the same action again, after a restart) just before and
    /// just after its reaction time.
    fn run_table(visitor: Option<Visitor>, name: &str) -> [Subject; 5] {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut a = Actor::new(visitor);
        a.see(&Screen::Idle, at(0));
        let idle = a.subject(at(0));
        a.see(&Screen::GetReady, at(10));
        a.see(&action(name, 1), at(100));
        let p1_just = a.subject(at(100));
        // Countdown updates of the same prompt do not restart the reaction time.
        let mut later = action(name, 1);
        if let Screen::Action { secs_left, .. } = &mut later {
            *secs_left = 9;
        }
        a.see(&later, at(350));
        let p1_after = a.subject(at(400));
        a.see(&action(name, 2), at(1000));
        let p2_just = a.subject(at(1299));
        let p2_after = a.subject(at(1300));
        [idle, p1_just, p1_after, p2_just, p2_after]
    }

    #[test]
    fn decision_table() {
        use Subject::*;
        let smile = actions::index_of("Smile").unwrap();
        let victory = actions::index_of("Victory_right_hand").unwrap();
        assert_eq!(wrong_action(smile), 0);
        assert_eq!(wrong_action(victory), 6);
        let cases = [
            (None, "Smile", [Nobody; 5]),
            (
                visitor(Performer::Pass),
                "Smile",
                [Neutral, Neutral, Doing(smile), Neutral, Doing(smile)],
            ),
            (
                visitor(Performer::Fail),
                "Smile",
                [Neutral, Neutral, Doing(0), Neutral, Doing(0)],
            ),
            (
                visitor(Performer::Fail),
                "Victory_right_hand",
                [Neutral, Neutral, Doing(6), Neutral, Doing(6)],
            ),
            (visitor(Performer::Spoof), "Smile", [Still; 5]),
            (
                visitor(Performer::Slow),
                "Smile",
                [Neutral, Neutral, Neutral, Neutral, Doing(smile)],
            ),
            (visitor(Performer::Absent), "Smile", [Nobody; 5]),
            // An action the person does not know: they cannot do it.
            (visitor(Performer::Pass), "Juggle", [Neutral; 5]),
            (visitor(Performer::Fail), "Juggle", [Neutral; 5]),
        ];
        for (v, name, expected) in cases {
            assert_eq!(run_table(v.clone(), name), expected, "{v:?} asked {name}");
        }
    }

    #[test]
    fn a_wrong_action_is_another_action_of_the_same_part() {
        for (i, name) in ALL.iter().enumerate() {
            let w = wrong_action(i);
            assert_ne!(w, i);
            assert!(w < ALL.len());
            assert_eq!(actions::part_of(ALL[w]), actions::part_of(name));
        }
    }

    #[test]
    fn verifying_keeps_the_prompt_other_screens_end_it() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut a = Actor::new(visitor(Performer::Pass));
        a.see(&action("Look_up", 7), at(0));
        assert_eq!(a.subject(at(299)), Subject::Neutral);
        assert_eq!(a.subject(at(300)), Subject::Doing(2));
        a.see(&Screen::Verifying, at(400));
        assert_eq!(a.subject(at(400)), Subject::Neutral);
        // The same prompt comes back: still known, no new reaction time.
        a.see(&action("Look_up", 7), at(500));
        assert_eq!(a.subject(at(500)), Subject::Doing(2));
        // After another screen, the same prompt number is a new prompt.
        a.see(&Screen::Pass, at(600));
        assert_eq!(a.subject(at(600)), Subject::Neutral);
        a.see(&action("Look_up", 7), at(700));
        assert_eq!(a.subject(at(999)), Subject::Neutral);
        assert_eq!(a.subject(at(1000)), Subject::Doing(2));
    }

    #[test]
    fn a_new_visitor_starts_a_new_session() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut a = Actor::new(visitor(Performer::Slow));
        a.see(&action("Smile", 1), at(0));
        a.see(&action("Smile", 2), at(1000));
        assert_eq!(a.subject(at(1300)), Subject::Doing(5));
        // The same kind of visitor arrives again: the first prompt is missed again.
        a.arrive(visitor(Performer::Slow));
        assert_eq!(a.subject(at(1400)), Subject::Neutral);
        a.see(&action("Smile", 2), at(1500));
        assert_eq!(a.subject(at(9000)), Subject::Neutral);
        a.see(&action("Smile", 3), at(9000));
        assert_eq!(a.subject(at(9300)), Subject::Doing(5));
        a.arrive(None);
        a.see(&action("Smile", 4), at(9400));
        assert_eq!(a.subject(at(9900)), Subject::Nobody);
    }

    fn sim_config(width: u32) -> SimCameraOptions {
        SimCameraOptions {
            // Ignored by the camera: the visitor says how to behave.
            performer: Performer::Absent,
            reaction: Duration::from_secs(60),
            fps: 10,
            width,
            height: 120,
            jpeg_quality: 60,
        }
    }

    fn seen(frame: &Frame) -> Seen {
        scene::read(&frame.jpeg().unwrap()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn frames_show_the_action_once_the_reaction_time_is_over() {
        let (screen_tx, screen_rx) = watch::channel(Screen::Idle);
        let (visitor_tx, visitor_rx) = watch::channel(None);
        let slot = FrameSlot::new();
        let task =
            Box::new(SimCamera::new(&sim_config(160), screen_rx, visitor_rx)).spawn(slot.clone());

        let first = slot.next_fresh(None, Instant::now()).await.unwrap();
        assert_eq!(first.seq, 0);
        assert_eq!((first.width, first.height), (160, 120));
        assert_eq!(seen(&first), Seen::Subject(Subject::Nobody));
        assert_eq!(slot.state(), CameraState::Streaming);

        visitor_tx.send_replace(visitor(Performer::Pass));
        let arrived = Instant::now();
        let mut last = slot.next_fresh(Some(first.seq), arrived).await.unwrap();
        assert_eq!(seen(&last), Seen::Subject(Subject::Neutral));

        let shown = Instant::now();
        screen_tx.send_replace(action("Smile", 1));
        let (mut before, mut after) = (0, 0);
        while last.captured_at < shown + Duration::from_secs(1) {
            let f = slot.next_fresh(Some(last.seq), shown).await.unwrap();
            assert_eq!(f.seq, last.seq + 1, "no frame skipped");
            assert_eq!(f.captured_at - last.captured_at, Duration::from_millis(100));
            let expected = if f.captured_at - shown < REACTION {
                before += 1;
                Subject::Neutral
            } else {
                after += 1;
                Subject::Doing(5)
            };
            assert_eq!(seen(&f), Seen::Subject(expected), "frame {}", f.seq);
            last = f;
        }
        assert!(before >= 2, "{before} frames before the reaction");
        assert!(after >= 7, "{after} frames after the reaction");

        // The visitor leaves: the next frame is empty again.
        visitor_tx.send_replace(None);
        let f = slot
            .next_fresh(Some(last.seq), Instant::now())
            .await
            .unwrap();
        assert_eq!(f.seq, last.seq + 1);
        assert_eq!(seen(&f), Seen::Subject(Subject::Nobody));
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn every_visitor_sent_is_a_new_session() {
        let (screen_tx, screen_rx) = watch::channel(action("Smile", 1));
        let (visitor_tx, visitor_rx) = watch::channel(visitor(Performer::Slow));
        let slot = FrameSlot::new();
        let task =
            Box::new(SimCamera::new(&sim_config(160), screen_rx, visitor_rx)).spawn(slot.clone());
        let subject_after = |wait: u64| {
            let slot = slot.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(wait)).await;
                let f = slot.next_fresh(None, Instant::now()).await.unwrap();
                seen(&f)
            }
        };
        // The first prompt is missed, the second is done.
        assert_eq!(subject_after(500).await, Seen::Subject(Subject::Neutral));
        screen_tx.send_replace(action("Smile", 2));
        assert_eq!(subject_after(500).await, Seen::Subject(Subject::Doing(5)));
        // The same visitor sent again: a new arrival, for whom prompt 2 is the first.
        visitor_tx.send_replace(visitor(Performer::Slow));
        assert_eq!(subject_after(500).await, Seen::Subject(Subject::Neutral));
        screen_tx.send_replace(action("Smile", 3));
        assert_eq!(subject_after(500).await, Seen::Subject(Subject::Doing(5)));
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn a_render_failure_makes_the_camera_unavailable() {
        let (_screen_tx, screen_rx) = watch::channel(Screen::Idle);
        let (_visitor_tx, visitor_rx) = watch::channel(visitor(Performer::Pass));
        let slot = FrameSlot::new();
        // Too narrow for the scene marker: every render fails.
        let task =
            Box::new(SimCamera::new(&sim_config(10), screen_rx, visitor_rx)).spawn(slot.clone());
        assert!(slot.next_fresh(None, Instant::now()).await.is_none());
        assert!(matches!(slot.state(), CameraState::Unavailable(_)));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(slot.latest().is_none());
        assert!(!task.is_finished(), "the camera keeps trying");
        task.abort();
    }
}

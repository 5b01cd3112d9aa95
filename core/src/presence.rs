//! Is a person in front of the camera? The sans-IO presence logic: the results of
//! the face detector's looks in, a [`State`] and the edge "a person arrived" out.
//!
//! The detector is an adapter in the daemon (`src/presence/`); the core only sees
//! what it found: faces as boxes in a view of known size ([`Look`]). It reads no
//! clock: each look carries the `now` of the caller, and [`Presence::next_look_at`]
//! says when the next look is due ([`Params::look_every`]).
//!
//! The rules:
//! - A look's best face is the widest one. It is *good* when it is at least
//!   [`Params::min_face_width`] of the view wide and its centre is within
//!   [`Params::max_centre_offset`] of the view's centre (each axis, as a fraction of
//!   that side); otherwise the person is guided ([`Guidance::MoveCloser`],
//!   [`Guidance::StepInFront`]).
//! - [`Params::consecutive`] good looks in a row make the person [`State::Present`];
//!   the first time, [`Step::arrived`] is true: the edge a camera trigger starts a
//!   session on.
//! - [`Params::empty_to_leave`] empty looks in a row mean the person left
//!   ([`State::Absent`]). Fewer, after a face was seen, ask them to
//!   [`Guidance::FaceTheCamera`] (a turned head, a detector's miss).
//! - [`Watch`] puts the motion pre-filter ([`crate::motion`]) in front: the detector
//!   runs only when the scene changed or a person is being tracked.
//! - One arrival per visit: once a person has arrived, or a verdict was given while
//!   they stood there ([`Presence::verdict_given`]), no new arrival is reported until
//!   they have left the view.

use std::time::{Duration, Instant};

/// A grey picture, one byte of luminance per pixel, row by row (`width * height`
/// bytes). What the detector and the motion pre-filter look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GreyView {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl GreyView {
    /// A view of `width`x`height` from `pixels`; `None` unless there are exactly
    /// `width * height` of them.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Option<GreyView> {
        let len = (width as usize).checked_mul(height as usize)?;
        (pixels.len() == len).then_some(GreyView {
            width,
            height,
            pixels,
        })
    }

    /// The mean of each `factor`x`factor` block (a box filter), the picture
    /// `factor` times smaller on each side; the last partial row and column of
    /// blocks are left out. A factor of 0 is taken as 1.
    pub fn shrink(&self, factor: u32) -> GreyView {
        let f = factor.max(1) as usize;
        let (w, h) = (self.width as usize / f, self.height as usize / f);
        if self.pixels.len() < self.width as usize * self.height as usize {
            // Not filled (the fields are public): nothing to shrink.
            return GreyView {
                width: 0,
                height: 0,
                pixels: Vec::new(),
            };
        }
        let stride = self.width as usize;
        let mut pixels = Vec::with_capacity(w * h);
        let area = (f * f) as u32;
        for by in 0..h {
            for bx in 0..w {
                let mut sum = 0u32;
                for row in self.pixels[by * f * stride..].chunks(stride).take(f) {
                    sum += row[bx * f..bx * f + f]
                        .iter()
                        .map(|&p| u32::from(p))
                        .sum::<u32>();
                }
                pixels.push(((sum + area / 2) / area) as u8);
            }
        }
        GreyView {
            width: w as u32,
            height: h as u32,
            pixels,
        }
    }
}

/// A face the detector found: its box in the view's pixels (`x`, `y` the top left
/// corner; may reach past the view's edges) and the detector's score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaceBox {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    pub score: f32,
}

/// One look of the detector: the size of the view it looked at and what it found.
#[derive(Clone, Copy, Debug)]
pub struct Look<'a> {
    pub view_width: u32,
    pub view_height: u32,
    pub faces: &'a [FaceBox],
}

/// The words that guide a person in front of the camera.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Guidance {
    /// Nobody in view, or a face far from the middle of the picture.
    StepInFront,
    /// Someone was seen but the last looks found no face (a turned head).
    FaceTheCamera,
    /// The face is smaller than [`Params::min_face_width`].
    MoveCloser,
}

impl Guidance {
    pub const ALL: [Guidance; 3] = [
        Guidance::StepInFront,
        Guidance::FaceTheCamera,
        Guidance::MoveCloser,
    ];

    /// A stable name for logs and events.
    pub fn code(self) -> &'static str {
        match self {
            Guidance::StepInFront => "step_in_front",
            Guidance::FaceTheCamera => "face_the_camera",
            Guidance::MoveCloser => "move_closer",
        }
    }

    /// The words on the panel: short enough for a 128x64 panel.
    pub fn words(self) -> &'static str {
        match self {
            Guidance::StepInFront => "Step in front of the camera",
            Guidance::FaceTheCamera => "Face the camera",
            Guidance::MoveCloser => "Move closer",
        }
    }
}

/// Who is in front of the camera.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "presence", content = "guidance", rename_all = "snake_case")]
pub enum State {
    /// Nobody in view (or not for [`Params::empty_to_leave`] looks).
    Absent,
    /// Someone is there, but not (or no longer) a good face: what to tell them.
    Guided(Guidance),
    /// A good face, seen fewer than [`Params::consecutive`] looks in a row.
    Arriving,
    /// A good face (large enough, centred) for [`Params::consecutive`] looks.
    Present,
}

/// What one look changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub state: State,
    /// A person arrived: the first time in this visit that they are
    /// [`State::Present`], and no verdict was given in this visit. A camera trigger
    /// starts a session on it.
    pub arrived: bool,
    /// The person left: [`Params::empty_to_leave`] empty looks after a face.
    pub left: bool,
}

/// The presence rules' numbers. The configuration builds them (`[presence]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// Good looks in a row that make a person present (at least 1).
    pub consecutive: u32,
    /// The smallest good face, as a fraction of the view's width (0..=1).
    pub min_face_width: f32,
    /// How far the face's centre may be from the view's centre, as a fraction of
    /// the view's width (horizontally) and height (vertically), 0..=0.5.
    pub max_centre_offset: f32,
    /// How often the detector looks while it is needed.
    pub look_every: Duration,
    /// Empty looks in a row after which a person has left (at least 1).
    pub empty_to_leave: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            consecutive: 3,
            min_face_width: 0.15,
            max_centre_offset: 0.25,
            look_every: Duration::from_millis(250),
            empty_to_leave: 8,
        }
    }
}

/// A [`Params`] value outside its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamsError {
    #[error("consecutive must be at least 1")]
    Consecutive,
    #[error("min_face_width must be within 0..=1, not {0}")]
    MinFaceWidth(f32),
    #[error("max_centre_offset must be within 0..=0.5, not {0}")]
    MaxCentreOffset(f32),
    #[error("look_every must be more than zero")]
    LookEvery,
    #[error("empty_to_leave must be at least 1")]
    EmptyToLeave,
}

impl Params {
    pub fn check(&self) -> Result<(), ParamsError> {
        if self.consecutive == 0 {
            return Err(ParamsError::Consecutive);
        }
        if !(0.0..=1.0).contains(&self.min_face_width) {
            return Err(ParamsError::MinFaceWidth(self.min_face_width));
        }
        if !(0.0..=0.5).contains(&self.max_centre_offset) {
            return Err(ParamsError::MaxCentreOffset(self.max_centre_offset));
        }
        if self.look_every.is_zero() {
            return Err(ParamsError::LookEvery);
        }
        if self.empty_to_leave == 0 {
            return Err(ParamsError::EmptyToLeave);
        }
        Ok(())
    }
}

/// What a single look saw, before the counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sighting {
    NoFace,
    Good,
    /// A face, but not a good one: what would make it good.
    Guide(Guidance),
}

/// Judges one look's best (widest) face against `params`.
pub fn judge(params: &Params, look: &Look<'_>) -> Sighting {
    let Some(face) = look.faces.iter().max_by_key(|f| f.width) else {
        return Sighting::NoFace;
    };
    let (vw, vh) = (
        look.view_width.max(1) as f32,
        look.view_height.max(1) as f32,
    );
    if (face.width as f32) < params.min_face_width * vw {
        return Sighting::Guide(Guidance::MoveCloser);
    }
    let cx = face.x as f32 + face.width as f32 / 2.0;
    let cy = face.y as f32 + face.height as f32 / 2.0;
    let off_x = (cx - vw / 2.0).abs() / vw;
    let off_y = (cy - vh / 2.0).abs() / vh;
    if off_x > params.max_centre_offset || off_y > params.max_centre_offset {
        return Sighting::Guide(Guidance::StepInFront);
    }
    Sighting::Good
}

/// Whether a session's frame may be posted, from the look at that very frame: `None`
/// to post it, else what to tell the person while it is held back. No face:
/// [`Guidance::FaceTheCamera`]; the widest face smaller than
/// [`Params::min_face_width`]: [`Guidance::MoveCloser`]. A face off the centre is
/// posted (the service judges it; the person is already acting).
pub fn frame_guidance(params: &Params, look: &Look<'_>) -> Option<Guidance> {
    match judge(params, look) {
        Sighting::NoFace => Some(Guidance::FaceTheCamera),
        Sighting::Guide(Guidance::MoveCloser) => Some(Guidance::MoveCloser),
        Sighting::Good | Sighting::Guide(_) => None,
    }
}

/// The answer to a trigger's question "is a face in view?" (a button, the control
/// socket, a card): up to [`Params::consecutive`] looks, [`Params::look_every`]
/// apart; any face found answers yes at once (a session's own frame checks guide
/// a face too small or off the centre).
#[derive(Clone, Debug)]
pub struct Question {
    looks_left: u32,
    look_every: Duration,
}

/// What a [`Question`] says after a look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A face is in view: start the session.
    Face,
    /// Nobody yet: look again at this time.
    LookAgainAt(Instant),
    /// No face in any look: no session ("Step in front of the camera").
    NoFace,
}

impl Question {
    pub fn new(params: &Params) -> Question {
        Question {
            looks_left: params.consecutive.max(1),
            look_every: params.look_every,
        }
    }

    /// The detector looked at `now` and found `look`.
    pub fn on_look(&mut self, now: Instant, look: &Look<'_>) -> Answer {
        self.looks_left = self.looks_left.saturating_sub(1);
        if !look.faces.is_empty() {
            Answer::Face
        } else if self.looks_left == 0 {
            Answer::NoFace
        } else {
            Answer::LookAgainAt(now + self.look_every)
        }
    }
}

/// The presence of one camera's person, look by look.
#[derive(Clone, Debug)]
pub struct Presence {
    params: Params,
    state: State,
    good_run: u32,
    empty_run: u32,
    /// A face was seen since the person last left.
    visiting: bool,
    /// This visit has had its arrival, or a verdict: no arrival until they leave.
    spent: bool,
    last_look: Option<Instant>,
}

impl Presence {
    /// `params` as given; [`Params::check`] them first (a zero count is taken as 1).
    pub fn new(params: Params) -> Presence {
        Presence {
            params,
            state: State::Absent,
            good_run: 0,
            empty_run: 0,
            visiting: false,
            spent: false,
            last_look: None,
        }
    }

    /// New numbers from a reloaded configuration; the person's state is kept.
    pub fn reconfigure(&mut self, params: Params) {
        self.params = params;
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// A face was seen and the person has not left yet: the detector must keep
    /// looking even when the motion pre-filter sees no change.
    pub fn is_tracking(&self) -> bool {
        self.visiting
    }

    /// When the next look is due: at once before the first one.
    pub fn next_look_at(&self, now: Instant) -> Instant {
        match self.last_look {
            Some(last) => last + self.params.look_every,
            None => now,
        }
    }

    /// Whether a look is due at `now`.
    pub fn look_due(&self, now: Instant) -> bool {
        self.next_look_at(now) <= now
    }

    /// A verdict was given (a session ended) while the person may still stand
    /// there: their staying does not make a new arrival; leaving the view clears it.
    pub fn verdict_given(&mut self) {
        if self.visiting || self.state != State::Absent {
            self.spent = true;
        }
    }

    /// The arrival just reported could not start a session (the gate was not
    /// ready: a verdict on screen, a cooldown, a lockout): it is reported again at
    /// the next good look, so that a person who walked up early is not lost.
    pub fn arrival_refused(&mut self) {
        if self.state == State::Present {
            self.spent = false;
        }
    }

    /// The detector looked at `now` and found `look`.
    pub fn on_look(&mut self, now: Instant, look: &Look<'_>) -> Step {
        self.last_look = Some(now);
        let mut arrived = false;
        let mut left = false;
        match judge(&self.params, look) {
            Sighting::NoFace => {
                self.good_run = 0;
                self.empty_run = self.empty_run.saturating_add(1);
                if self.visiting && self.empty_run >= self.params.empty_to_leave.max(1) {
                    self.visiting = false;
                    self.spent = false;
                    left = true;
                }
                self.state = if self.visiting {
                    State::Guided(Guidance::FaceTheCamera)
                } else {
                    State::Absent
                };
            }
            Sighting::Guide(guidance) => {
                self.visiting = true;
                self.empty_run = 0;
                self.good_run = 0;
                self.state = State::Guided(guidance);
            }
            Sighting::Good => {
                self.visiting = true;
                self.empty_run = 0;
                self.good_run = self.good_run.saturating_add(1);
                if self.good_run >= self.params.consecutive.max(1) {
                    self.state = State::Present;
                    if !self.spent {
                        self.spent = true;
                        arrived = true;
                    }
                } else {
                    self.state = State::Arriving;
                }
            }
        }
        Step {
            state: self.state,
            arrived,
            left,
        }
    }
}

/// What to do with a look's small view: the pre-filter's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Run the detector on this look's view and hand its faces to [`Watch::on_faces`].
    Detect,
    /// Nothing changed and nobody is tracked: no detection; the look counted as
    /// empty (its step is here).
    Skip(Step),
}

/// The presence rules with the motion pre-filter in front: the detector runs only
/// when the scene changed since the last look or a person is being tracked
/// ([`Presence::is_tracking`]). Sans-IO like [`Presence`]: the shell makes the
/// views, runs the detector and passes `now`.
#[derive(Clone, Debug)]
pub struct Watch {
    presence: Presence,
    motion: crate::motion::MotionFilter,
}

impl Watch {
    pub fn new(params: Params, motion: crate::motion::MotionParams) -> Watch {
        Watch {
            presence: Presence::new(params),
            motion: crate::motion::MotionFilter::new(motion),
        }
    }

    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    pub fn presence_mut(&mut self) -> &mut Presence {
        &mut self.presence
    }

    /// A look at `now`: `small` is the view shrunk by [`crate::motion::SHRINK`].
    pub fn on_view(&mut self, now: Instant, small: GreyView) -> Next {
        let changed = self.motion.changed(small);
        if changed || self.presence.is_tracking() {
            return Next::Detect;
        }
        let step = self.presence.on_look(
            now,
            &Look {
                view_width: 1,
                view_height: 1,
                faces: &[],
            },
        );
        Next::Skip(step)
    }

    /// The detector's answer for the look [`Watch::on_view`] asked it to make.
    pub fn on_faces(&mut self, now: Instant, look: &Look<'_>) -> Step {
        self.presence.on_look(now, look)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 320;
    const H: u32 = 240;

    fn params() -> Params {
        Params {
            consecutive: 3,
            min_face_width: 0.15,
            max_centre_offset: 0.25,
            look_every: Duration::from_millis(250),
            empty_to_leave: 4,
        }
    }

    /// A look at a 320x240 view that found `faces`.
    fn full_view(faces: &[FaceBox]) -> Look<'_> {
        Look {
            view_width: W,
            view_height: H,
            faces,
        }
    }

    /// A face of `size` pixels centred at (`cx`, `cy`).
    fn face(cx: i32, cy: i32, size: u32) -> FaceBox {
        FaceBox {
            x: cx - size as i32 / 2,
            y: cy - size as i32 / 2,
            width: size,
            height: size,
            score: 5.0,
        }
    }

    fn good() -> FaceBox {
        face(160, 110, 80)
    }

    /// Drives `p` with one look per entry, 250 ms apart; returns the steps.
    struct Driver {
        p: Presence,
        now: Instant,
    }

    impl Driver {
        fn new(params: Params) -> Driver {
            Driver {
                p: Presence::new(params),
                now: Instant::now(),
            }
        }
        fn look(&mut self, faces: &[FaceBox]) -> Step {
            self.now += Duration::from_millis(250);
            self.p.on_look(self.now, &full_view(faces))
        }
        fn looks(&mut self, n: usize, faces: &[FaceBox]) -> Vec<Step> {
            (0..n).map(|_| self.look(faces)).collect()
        }
        fn arrivals(steps: &[Step]) -> usize {
            steps.iter().filter(|s| s.arrived).count()
        }
    }

    #[test]
    fn judge_sorts_faces_into_good_too_small_off_centre() {
        let p = params();
        let look = |faces: &[FaceBox]| judge(&p, &full_view(faces));
        assert_eq!(look(&[]), Sighting::NoFace);
        assert_eq!(look(&[good()]), Sighting::Good);
        // 0.15 * 320 = 48 pixels is the smallest good face.
        assert_eq!(look(&[face(160, 120, 48)]), Sighting::Good);
        assert_eq!(
            look(&[face(160, 120, 47)]),
            Sighting::Guide(Guidance::MoveCloser)
        );
        // 0.25 * 320 = 80 pixels from the centre horizontally, 60 vertically.
        assert_eq!(look(&[face(240, 120, 60)]), Sighting::Good);
        assert_eq!(
            look(&[face(241, 120, 60)]),
            Sighting::Guide(Guidance::StepInFront)
        );
        assert_eq!(
            look(&[face(160, 181, 60)]),
            Sighting::Guide(Guidance::StepInFront)
        );
        // The widest face counts: a small one in the middle does not hide it.
        assert_eq!(look(&[face(160, 120, 20), good()]), Sighting::Good);
    }

    #[test]
    fn n_good_looks_in_a_row_make_one_arrival() {
        let mut d = Driver::new(params());
        assert_eq!(d.p.state(), State::Absent);
        let steps = d.looks(2, &[good()]);
        assert!(steps
            .iter()
            .all(|s| !s.arrived && s.state == State::Arriving));
        let third = d.look(&[good()]);
        assert!(third.arrived);
        assert_eq!(third.state, State::Present);
        // Staying is not arriving again.
        let more = d.looks(20, &[good()]);
        assert_eq!(Driver::arrivals(&more), 0);
        assert!(more.iter().all(|s| s.state == State::Present));
    }

    #[test]
    fn a_miss_or_a_bad_look_restarts_the_count() {
        let mut d = Driver::new(params());
        d.looks(2, &[good()]);
        d.look(&[]);
        let steps = d.looks(2, &[good()]);
        assert_eq!(Driver::arrivals(&steps), 0);
        let step = d.look(&[face(160, 120, 30)]);
        assert_eq!(step.state, State::Guided(Guidance::MoveCloser));
        let steps = d.looks(3, &[good()]);
        assert_eq!(Driver::arrivals(&steps), 1);
        assert!(steps[2].arrived);
    }

    #[test]
    fn guidance_follows_the_face() {
        let mut d = Driver::new(params());
        assert_eq!(d.look(&[]).state, State::Absent);
        assert_eq!(
            d.look(&[face(160, 120, 30)]).state,
            State::Guided(Guidance::MoveCloser)
        );
        assert_eq!(
            d.look(&[face(300, 120, 80)]).state,
            State::Guided(Guidance::StepInFront)
        );
        // The face lost for fewer looks than it takes to leave.
        assert_eq!(d.look(&[]).state, State::Guided(Guidance::FaceTheCamera));
        assert!(d.p.is_tracking());
        let steps = d.looks(3, &[]);
        assert_eq!(steps[2].state, State::Absent);
        assert!(steps[2].left);
        assert!(!d.p.is_tracking());
    }

    #[test]
    fn present_stays_through_a_short_miss_without_a_new_arrival() {
        let mut d = Driver::new(params());
        let steps = d.looks(3, &[good()]);
        assert_eq!(Driver::arrivals(&steps), 1);
        let missed = d.looks(3, &[]);
        assert!(missed.iter().all(|s| !s.left));
        assert_eq!(missed[0].state, State::Guided(Guidance::FaceTheCamera));
        let back = d.looks(5, &[good()]);
        assert_eq!(Driver::arrivals(&back), 0, "the same visit");
        assert_eq!(back[4].state, State::Present);
    }

    #[test]
    fn leaving_and_coming_back_is_a_new_arrival() {
        let mut d = Driver::new(params());
        assert_eq!(Driver::arrivals(&d.looks(3, &[good()])), 1);
        let gone = d.looks(4, &[]);
        assert_eq!(gone.iter().filter(|s| s.left).count(), 1);
        assert!(gone[3].left);
        assert_eq!(Driver::arrivals(&d.looks(3, &[good()])), 1);
    }

    #[test]
    fn after_a_verdict_the_same_person_does_not_arrive_again_until_they_left() {
        // The session was started by a button before the camera counted them.
        let mut d = Driver::new(params());
        d.look(&[good()]);
        d.p.verdict_given();
        assert_eq!(
            Driver::arrivals(&d.looks(30, &[good()])),
            0,
            "still standing there after the verdict"
        );
        // Three empty looks are not leaving…
        d.looks(3, &[]);
        assert_eq!(Driver::arrivals(&d.looks(5, &[good()])), 0);
        // …four are.
        d.looks(4, &[]);
        assert_eq!(Driver::arrivals(&d.looks(3, &[good()])), 1);
    }

    #[test]
    fn an_arrival_the_gate_could_not_take_comes_again_until_taken() {
        let mut d = Driver::new(params());
        assert_eq!(Driver::arrivals(&d.looks(3, &[good()])), 1);
        // The gate was cooling down: the arrival is reported again at each good
        // look while it is refused…
        d.p.arrival_refused();
        assert!(d.look(&[good()]).arrived);
        d.p.arrival_refused();
        assert!(d.look(&[good()]).arrived);
        // …and once taken, not again in this visit.
        assert_eq!(Driver::arrivals(&d.looks(10, &[good()])), 0);
        // Refusing when nobody is present arms nothing.
        let mut d = Driver::new(params());
        d.look(&[good()]);
        d.p.arrival_refused();
        assert_eq!(
            Driver::arrivals(&d.looks(2, &[good()])),
            1,
            "the third good look"
        );
    }

    #[test]
    fn a_verdict_with_nobody_in_view_arms_nothing() {
        let mut d = Driver::new(params());
        d.looks(5, &[]);
        d.p.verdict_given();
        assert_eq!(Driver::arrivals(&d.looks(3, &[good()])), 1);
    }

    #[test]
    fn one_good_look_is_enough_when_consecutive_is_one() {
        let mut d = Driver::new(Params {
            consecutive: 1,
            ..params()
        });
        assert!(d.look(&[good()]).arrived);
    }

    #[test]
    fn looks_are_due_every_look_every() {
        let p = Presence::new(params());
        let t0 = Instant::now();
        assert!(p.look_due(t0), "the first look is due at once");
        let mut p = p;
        p.on_look(
            t0,
            &Look {
                view_width: W,
                view_height: H,
                faces: &[],
            },
        );
        assert_eq!(p.next_look_at(t0), t0 + Duration::from_millis(250));
        assert!(!p.look_due(t0 + Duration::from_millis(249)));
        assert!(p.look_due(t0 + Duration::from_millis(250)));
    }

    #[test]
    fn params_out_of_range_are_refused() {
        assert_eq!(params().check(), Ok(()));
        assert_eq!(Params::default().check(), Ok(()));
        let bad = [
            (
                Params {
                    consecutive: 0,
                    ..params()
                },
                ParamsError::Consecutive,
            ),
            (
                Params {
                    min_face_width: 1.5,
                    ..params()
                },
                ParamsError::MinFaceWidth(1.5),
            ),
            (
                Params {
                    max_centre_offset: f32::NAN,
                    ..params()
                },
                ParamsError::MaxCentreOffset(f32::NAN),
            ),
            (
                Params {
                    look_every: Duration::ZERO,
                    ..params()
                },
                ParamsError::LookEvery,
            ),
            (
                Params {
                    empty_to_leave: 0,
                    ..params()
                },
                ParamsError::EmptyToLeave,
            ),
        ];
        for (p, want) in bad {
            let got = p.check().err();
            // NaN is not equal to itself: compare the messages.
            assert_eq!(got.map(|e| e.to_string()), Some(want.to_string()));
        }
    }

    #[test]
    fn guidance_words_fit_and_codes_are_distinct() {
        let codes: std::collections::HashSet<_> = Guidance::ALL.iter().map(|g| g.code()).collect();
        assert_eq!(codes.len(), Guidance::ALL.len());
        assert_eq!(Guidance::StepInFront.words(), "Step in front of the camera");
        assert_eq!(Guidance::FaceTheCamera.words(), "Face the camera");
        assert_eq!(Guidance::MoveCloser.words(), "Move closer");
    }

    #[test]
    fn a_frame_is_held_back_without_a_face_or_with_a_small_one() {
        let p = params();
        let look = |faces: &[FaceBox]| frame_guidance(&p, &full_view(faces));
        assert_eq!(look(&[]), Some(Guidance::FaceTheCamera));
        assert_eq!(look(&[face(160, 120, 30)]), Some(Guidance::MoveCloser));
        assert_eq!(look(&[good()]), None);
        assert_eq!(look(&[face(300, 120, 80)]), None, "off the centre: posted");
    }

    #[test]
    fn a_question_is_answered_by_the_first_face_or_no_after_n_looks() {
        let t0 = Instant::now();
        let look = |faces: &'static [FaceBox]| Look {
            view_width: W,
            view_height: H,
            faces,
        };
        static SMALL: [FaceBox; 1] = [FaceBox {
            x: 150,
            y: 110,
            width: 20,
            height: 20,
            score: 3.0,
        }];
        let mut q = Question::new(&params());
        let every = Duration::from_millis(250);
        assert_eq!(q.on_look(t0, &look(&[])), Answer::LookAgainAt(t0 + every));
        assert_eq!(q.on_look(t0 + every, &look(&SMALL)), Answer::Face);
        let mut q = Question::new(&params());
        assert!(matches!(q.on_look(t0, &look(&[])), Answer::LookAgainAt(_)));
        assert!(matches!(q.on_look(t0, &look(&[])), Answer::LookAgainAt(_)));
        assert_eq!(q.on_look(t0, &look(&[])), Answer::NoFace, "3 looks");
    }

    fn small(level: u8) -> GreyView {
        GreyView::new(40, 30, vec![level; 1200]).expect("40x30")
    }

    /// A small view with a bright block where a person stands.
    fn small_with_person() -> GreyView {
        let mut v = small(90);
        for y in 8..20 {
            for x in 16..24 {
                v.pixels[y * 40 + x] = 210;
            }
        }
        v
    }

    #[test]
    fn the_detector_runs_only_on_a_change_or_while_someone_is_tracked() {
        let mut w = Watch::new(params(), crate::motion::MotionParams::default());
        let mut now = Instant::now();
        let mut tick = || {
            now += Duration::from_millis(250);
            now
        };
        let look = |faces: &'static [FaceBox]| Look {
            view_width: W,
            view_height: H,
            faces,
        };
        // The first view is a change: one detection, nobody.
        assert_eq!(w.on_view(tick(), small(90)), Next::Detect);
        w.on_faces(tick(), &look(&[]));
        // A still, empty scene: no detection, and the looks count as empty.
        for _ in 0..20 {
            match w.on_view(tick(), small(90)) {
                Next::Skip(step) => assert_eq!(step.state, State::Absent),
                Next::Detect => panic!("a still scene ran the detector"),
            }
        }
        // Someone steps in: a change, the detector runs and finds a face.
        assert_eq!(w.on_view(tick(), small_with_person()), Next::Detect);
        static FACE: [FaceBox; 1] = [FaceBox {
            x: 120,
            y: 70,
            width: 80,
            height: 80,
            score: 5.0,
        }];
        w.on_faces(tick(), &look(&FACE));
        // They stand still: no change, but tracked, so the detector keeps looking
        // until they are present…
        let mut arrivals = 0;
        for _ in 0..2 {
            assert_eq!(w.on_view(tick(), small_with_person()), Next::Detect);
            arrivals += usize::from(w.on_faces(tick(), &look(&FACE)).arrived);
        }
        assert_eq!(arrivals, 1);
        // …and until they have left (4 empty looks), then it rests again.
        assert_eq!(w.on_view(tick(), small(90)), Next::Detect);
        for _ in 0..4 {
            w.on_faces(tick(), &look(&[]));
            if !w.presence().is_tracking() {
                break;
            }
            assert_eq!(w.on_view(tick(), small(90)), Next::Detect);
        }
        assert_eq!(w.presence().state(), State::Absent);
        assert!(matches!(w.on_view(tick(), small(90)), Next::Skip(_)));
    }

    #[test]
    fn grey_view_checks_its_length_and_shrinks_by_block_means() {
        assert!(GreyView::new(4, 2, vec![0; 7]).is_none());
        let v = GreyView::new(
            5,
            2,
            vec![
                0, 10, 100, 100, 255, //
                20, 30, 100, 101, 255,
            ],
        )
        .expect("8 pixels");
        let s = v.shrink(2);
        assert_eq!((s.width, s.height), (2, 1));
        // (0+10+20+30)/4 = 15; (100+100+100+101)/4 = 100.25, rounded.
        assert_eq!(s.pixels, vec![15, 100]);
        assert_eq!(v.shrink(0), v);
        let broken = GreyView {
            width: 320,
            height: 240,
            pixels: vec![1; 100],
        };
        assert_eq!(
            broken.shrink(8).pixels.len(),
            0,
            "no panic on a view not filled"
        );
    }
}

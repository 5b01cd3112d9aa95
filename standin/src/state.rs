//! The stand-in's liveness sessions: draws, verdicts, misses, restarts. No IO.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::SeedableRng;

use crate::scene::{Seen, Subject};
use livegate_core::actions::{self, Part, ALL};

/// A session identifier as the stand-in issued it: a UUID string, or a JSON number in
/// the numeric-id variant.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SessionId {
    /// A UUID v4 string (the vendor's form).
    Text(String),
    /// A JSON integer (the numeric-id variant).
    Number(u64),
}

impl SessionId {
    /// The id as it appears in JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            SessionId::Text(s) => serde_json::Value::String(s.clone()),
            SessionId::Number(n) => serde_json::Value::from(*n),
        }
    }
}

/// Where a session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for an image of the current action.
    Processing,
    /// Every action was shown: passed.
    Completed,
    /// Too many misses, or expired by restarts: failed.
    Uncompleted,
}

/// What a GET asked to draw from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrawSpec {
    /// How many actions (≥ 1).
    pub mode: u32,
    /// `part=face|hand`, if given.
    pub part: Option<Part>,
    /// Canonical names from [`ALL`]; empty when `select` was not given.
    pub select: Vec<&'static str>,
}

impl DrawSpec {
    /// The actions to draw from: `select` if given, else the part's, else all 30.
    pub fn candidates(&self) -> Vec<&'static str> {
        if !self.select.is_empty() {
            let mut out: Vec<&'static str> = Vec::with_capacity(self.select.len());
            for s in &self.select {
                if !out.contains(s) {
                    out.push(s);
                }
            }
            out
        } else if let Some(part) = self.part {
            actions::of_part(part).collect()
        } else {
            ALL.to_vec()
        }
    }
}

/// A snapshot of one session, for tests.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionView {
    /// The id as issued.
    pub request_id: SessionId,
    /// What the GET asked to draw from.
    pub spec: DrawSpec,
    /// The current sequence (a restart replaces it).
    pub actions: Vec<&'static str>,
    /// Index in `actions` of the action to show now (`actions.len()` when completed).
    pub step: usize,
    /// Images that did not show the action since the sequence was drawn.
    pub misses: u32,
    /// Restarts plus `uncompleted` endings.
    pub failures: u32,
    /// Images judged since the session began (refused images are not counted).
    pub images: u32,
    /// Where the session stands.
    pub phase: Phase,
    /// `failures` reached `max_failures`: every later POST gets 422 `REQUEST_EXPIRED`.
    pub expired: bool,
}

/// A POST answer before `time_used` and `response_id` are added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// `Yes` or `No`.
    pub result: &'static str,
    /// `processing`, `completed` or `uncompleted`.
    pub status: &'static str,
    /// The action to show now, or empty when the session is over.
    pub next_choice: &'static str,
}

/// Why a POST cannot be applied to a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No session has this id (or it has the other JSON type).
    NotFound,
    /// The id expired after `max_failures` failures.
    Expired,
}

struct Session {
    created: u64,
    spec: DrawSpec,
    actions: Vec<&'static str>,
    step: usize,
    misses: u32,
    failures: u32,
    images: u32,
    phase: Phase,
}

/// Every session the stand-in issued, and the random source of its draws.
pub(crate) struct Sessions {
    rng: StdRng,
    map: HashMap<SessionId, Session>,
    created: u64,
    next_number: u64,
    max_misses: u32,
    max_failures: u32,
}

/// The first numeric request id handed out in the numeric-id variant.
pub const FIRST_NUMERIC_ID: u64 = 12345;

/// Draws `n` actions from `candidates`: without repetition when there are enough,
/// else with repetition but never the same action twice in a row (unless there is a
/// single candidate). Empty when `candidates` is.
pub(crate) fn draw(rng: &mut StdRng, candidates: &[&'static str], n: usize) -> Vec<&'static str> {
    if candidates.is_empty() {
        return Vec::new();
    }
    if n <= candidates.len() {
        let mut pool = candidates.to_vec();
        let (chosen, _) = pool.partial_shuffle(rng, n);
        return chosen.to_vec();
    }
    let mut out: Vec<&'static str> = Vec::with_capacity(n);
    while out.len() < n {
        let prev = out.last().copied();
        let allowed: Vec<&'static str> = candidates
            .iter()
            .copied()
            .filter(|c| Some(*c) != prev || candidates.len() == 1)
            .collect();
        match allowed.choose(rng) {
            Some(a) => out.push(a),
            None => break,
        }
    }
    out
}

impl Sessions {
    /// `max_misses` and `max_failures` below 1 act as 1.
    pub fn new(max_misses: u32, max_failures: u32, seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        Sessions {
            rng,
            map: HashMap::new(),
            created: 0,
            next_number: FIRST_NUMERIC_ID,
            max_misses: max_misses.max(1),
            max_failures: max_failures.max(1),
        }
    }

    /// Opens a session with a fresh draw; returns its id and first action.
    pub fn create(&mut self, spec: DrawSpec, numeric: bool) -> (SessionId, &'static str) {
        let id = if numeric {
            let n = self.next_number;
            self.next_number = self.next_number.saturating_add(1);
            SessionId::Number(n)
        } else {
            SessionId::Text(uuid::Uuid::new_v4().to_string())
        };
        let actions = draw(&mut self.rng, &spec.candidates(), spec.mode as usize);
        let first = actions.first().copied().unwrap_or("");
        self.created += 1;
        self.map.insert(
            id.clone(),
            Session {
                created: self.created,
                spec,
                actions,
                step: 0,
                misses: 0,
                failures: 0,
                images: 0,
                phase: Phase::Processing,
            },
        );
        (id, first)
    }

    fn live(&mut self, id: &SessionId) -> Result<&mut Session, Refusal> {
        let max_failures = self.max_failures;
        let s = self.map.get_mut(id).ok_or(Refusal::NotFound)?;
        if s.failures >= max_failures {
            return Err(Refusal::Expired);
        }
        Ok(s)
    }

    /// The final answer again when the session is over; `None` while it goes on.
    pub fn over(&mut self, id: &SessionId) -> Result<Option<Verdict>, Refusal> {
        let s = self.live(id)?;
        Ok(final_verdict(s.phase))
    }

    /// `restart_id`: one failure; expires the id at `max_failures`, else draws anew.
    pub fn restart(&mut self, id: &SessionId) -> Result<Verdict, Refusal> {
        let max_failures = self.max_failures;
        let s = self.map.get_mut(id).ok_or(Refusal::NotFound)?;
        if s.failures >= max_failures {
            return Err(Refusal::Expired);
        }
        if let Some(v) = final_verdict(s.phase) {
            return Ok(v);
        }
        s.failures += 1;
        if s.failures >= max_failures {
            s.phase = Phase::Uncompleted;
            return Ok(uncompleted());
        }
        s.actions = draw(&mut self.rng, &s.spec.candidates(), s.spec.mode as usize);
        s.step = 0;
        s.misses = 0;
        Ok(Verdict {
            result: "No",
            status: "processing",
            next_choice: s.actions.first().copied().unwrap_or(""),
        })
    }

    /// Judges one image of the current action.
    ///
    /// `Doing` the current action advances; `Doing` another action or a `Still` photo
    /// (a spoof) is a miss, and `max_misses` misses end the session `uncompleted`
    /// (counted as one failure). `Neutral`, `Nobody` and `Unreadable` repeat the current
    /// action without counting a miss: the person has not acted yet or is not in view,
    /// so a slow person or an empty scene runs into the client's per-action timeout
    /// instead of an early `uncompleted`.
    pub fn verify(&mut self, id: &SessionId, seen: Seen) -> Result<Verdict, Refusal> {
        let max_misses = self.max_misses;
        let s = self.live(id)?;
        if let Some(v) = final_verdict(s.phase) {
            return Ok(v);
        }
        s.images = s.images.saturating_add(1);
        let Some(current) = s.actions.get(s.step).copied() else {
            // An empty draw cannot happen (mode ≥ 1, candidates never empty); be safe.
            s.phase = Phase::Completed;
            return Ok(completed());
        };
        let missed = match seen {
            Seen::Subject(Subject::Doing(i)) => {
                let shown = ALL.get(i).copied();
                if shown.is_some_and(|a| a.eq_ignore_ascii_case(current)) {
                    s.step += 1;
                    return Ok(match s.actions.get(s.step) {
                        Some(next) => Verdict {
                            result: "Yes",
                            status: "processing",
                            next_choice: next,
                        },
                        None => {
                            s.phase = Phase::Completed;
                            completed()
                        }
                    });
                }
                true
            }
            Seen::Subject(Subject::Still) => true,
            Seen::Subject(Subject::Neutral | Subject::Nobody) | Seen::Unreadable => false,
        };
        if missed {
            s.misses += 1;
            if s.misses >= max_misses {
                s.phase = Phase::Uncompleted;
                s.failures += 1;
                return Ok(uncompleted());
            }
        }
        Ok(Verdict {
            result: "No",
            status: "processing",
            next_choice: current,
        })
    }

    /// Snapshots of every session, oldest first.
    pub fn views(&self) -> Vec<SessionView> {
        let mut v: Vec<(u64, SessionView)> = self
            .map
            .iter()
            .map(|(id, s)| {
                (
                    s.created,
                    SessionView {
                        request_id: id.clone(),
                        spec: s.spec.clone(),
                        actions: s.actions.clone(),
                        step: s.step,
                        misses: s.misses,
                        failures: s.failures,
                        images: s.images,
                        phase: s.phase,
                        expired: s.failures >= self.max_failures,
                    },
                )
            })
            .collect();
        v.sort_by_key(|(c, _)| *c);
        v.into_iter().map(|(_, s)| s).collect()
    }
}

fn final_verdict(phase: Phase) -> Option<Verdict> {
    match phase {
        Phase::Processing => None,
        Phase::Completed => Some(completed()),
        Phase::Uncompleted => Some(uncompleted()),
    }
}

fn completed() -> Verdict {
    Verdict {
        result: "Yes",
        status: "completed",
        next_choice: "",
    }
}

fn uncompleted() -> Verdict {
    Verdict {
        result: "No",
        status: "uncompleted",
        next_choice: "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mode: u32, part: Option<Part>, select: &[&'static str]) -> DrawSpec {
        DrawSpec {
            mode,
            part,
            select: select.to_vec(),
        }
    }

    fn doing(name: &str) -> Seen {
        Seen::Subject(Subject::Doing(actions::index_of(name).expect("known")))
    }

    fn current(s: &Sessions, id: &SessionId) -> SessionView {
        s.views()
            .into_iter()
            .find(|v| &v.request_id == id)
            .expect("session")
    }

    #[test]
    fn draw_without_repetition_when_enough_candidates() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let d = draw(&mut rng, &actions::FACE, 6);
            let mut sorted = d.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), 6, "{d:?}");
        }
    }

    #[test]
    fn draw_with_repetition_never_twice_in_a_row() {
        let mut rng = StdRng::seed_from_u64(8);
        let cands = ["Smile", "Look_up"];
        for _ in 0..100 {
            let d = draw(&mut rng, &cands, 9);
            assert_eq!(d.len(), 9);
            assert!(d.windows(2).all(|w| w[0] != w[1]), "{d:?}");
        }
        assert_eq!(draw(&mut rng, &["Smile"], 3), vec!["Smile"; 3]);
        assert!(draw(&mut rng, &[], 3).is_empty());
    }

    #[test]
    fn seeded_draws_repeat() {
        let a = draw(&mut StdRng::seed_from_u64(42), &ALL, 5);
        let b = draw(&mut StdRng::seed_from_u64(42), &ALL, 5);
        assert_eq!(a, b);
    }

    #[test]
    fn candidates_follow_select_then_part_then_all() {
        assert_eq!(
            spec(1, Some(Part::Face), &["Smile", "Like_left_hand", "Smile"]).candidates(),
            vec!["Smile", "Like_left_hand"]
        );
        assert_eq!(spec(1, Some(Part::Hand), &[]).candidates().len(), 24);
        assert_eq!(spec(1, None, &[]).candidates().len(), 30);
    }

    #[test]
    fn pass_path_completes() {
        let mut s = Sessions::new(3, 3, Some(1));
        let (id, first) = s.create(spec(2, None, &["Smile", "Look_up"]), false);
        assert!(matches!(id, SessionId::Text(_)));
        let second = if first == "Smile" { "Look_up" } else { "Smile" };
        assert_eq!(
            s.verify(&id, doing(first)),
            Ok(Verdict {
                result: "Yes",
                status: "processing",
                next_choice: second
            })
        );
        assert_eq!(s.verify(&id, doing(second)), Ok(completed()));
        assert_eq!(s.over(&id), Ok(Some(completed())));
        assert_eq!(s.verify(&id, doing(first)), Ok(completed()));
        assert_eq!(current(&s, &id).phase, Phase::Completed);
    }

    #[test]
    fn misses_end_uncompleted_and_count_a_failure() {
        let mut s = Sessions::new(2, 3, Some(1));
        let (id, first) = s.create(spec(1, None, &["Smile"]), false);
        assert_eq!(first, "Smile");
        let no = Verdict {
            result: "No",
            status: "processing",
            next_choice: "Smile",
        };
        assert_eq!(s.verify(&id, doing("Look_up")), Ok(no.clone()));
        assert_eq!(s.verify(&id, doing("Look_up")), Ok(uncompleted()));
        let v = current(&s, &id);
        assert_eq!((v.misses, v.failures, v.phase), (2, 1, Phase::Uncompleted));
        assert_eq!(s.verify(&id, doing("Smile")), Ok(uncompleted()));
    }

    #[test]
    fn still_is_a_miss_neutral_nobody_unreadable_are_not() {
        let mut s = Sessions::new(3, 3, Some(1));
        let (id, _) = s.create(spec(1, None, &["Smile"]), false);
        for seen in [
            Seen::Subject(Subject::Neutral),
            Seen::Subject(Subject::Nobody),
            Seen::Unreadable,
            Seen::Subject(Subject::Doing(9999)),
        ] {
            assert_eq!(s.verify(&id, seen).map(|v| v.status), Ok("processing"));
        }
        assert_eq!(current(&s, &id).misses, 1);
        s.verify(&id, Seen::Subject(Subject::Still)).expect("ok");
        assert_eq!(current(&s, &id).misses, 2);
        assert_eq!(current(&s, &id).images, 5);
    }

    #[test]
    fn restart_redraws_then_expires() {
        let mut s = Sessions::new(3, 3, Some(5));
        let (id, _) = s.create(spec(3, Some(Part::Face), &[]), false);
        s.verify(&id, Seen::Subject(Subject::Still)).expect("ok");
        for round in 1..=2 {
            let v = s.restart(&id).expect("restart");
            assert_eq!((v.result, v.status), ("No", "processing"));
            let view = current(&s, &id);
            assert_eq!(v.next_choice, view.actions[0]);
            assert_eq!(view.actions.len(), 3);
            assert!(view
                .actions
                .iter()
                .all(|a| actions::part_of(a) == Some(Part::Face)));
            assert_eq!((view.step, view.misses, view.failures), (0, 0, round));
        }
        assert_eq!(s.restart(&id), Ok(uncompleted()));
        assert!(current(&s, &id).expired);
        assert_eq!(s.restart(&id), Err(Refusal::Expired));
        assert_eq!(s.verify(&id, doing("Smile")), Err(Refusal::Expired));
        assert_eq!(s.over(&id), Err(Refusal::Expired));
    }

    #[test]
    fn unknown_and_numeric_ids() {
        let mut s = Sessions::new(3, 3, None);
        let (a, _) = s.create(spec(1, None, &[]), true);
        let (b, _) = s.create(spec(1, None, &[]), true);
        assert_eq!(a, SessionId::Number(FIRST_NUMERIC_ID));
        assert_eq!(b, SessionId::Number(FIRST_NUMERIC_ID + 1));
        assert_eq!(a.to_json(), serde_json::json!(12345));
        let text = SessionId::Text("12345".into());
        assert_eq!(s.verify(&text, Seen::Unreadable), Err(Refusal::NotFound));
        assert_eq!(s.restart(&text), Err(Refusal::NotFound));
        assert_eq!(s.views().len(), 2);
        assert_eq!(s.views()[0].request_id, a);
    }
}

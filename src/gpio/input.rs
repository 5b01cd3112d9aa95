//! Inputs: the trigger, request-to-exit and door lines, polled and debounced, and
//! the `gpio` trigger that turns their edges into trigger events. Written once for
//! every backend: a backend only claims a line with its bias ([`LineAddr`]) and
//! reads its level ([`InputLine`]).
//!
//! Inputs are polled every [`POLL_PERIOD`] (5 ms) in one tokio task rather than
//! watched with interrupt threads or edge events: a poll never misses the final
//! level of an input (a lost interrupt would leave the debouncer on the wrong
//! level), needs no thread per line nor an unbounded queue between threads, and
//! costs a few register reads 200 times a second. Latency is at most 5 ms plus the
//! debounce time.

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::debounce::Debouncer;
use super::line::{Edge, LineAddr, Pull};
use super::GpioError;
use crate::trigger::{GateState, Trigger, TriggerEvent};

/// How often the inputs are sampled.
pub const POLL_PERIOD: Duration = Duration::from_millis(5);

/// One input.
///
/// Its *asserted* level (contact closed, button pressed, sensor sensing) follows
/// `edge`: `Rising` → high, `Falling` → low, `Both` → low with `Pull::Up`, high
/// otherwise. With `Rising`/`Falling` only assertions are reported, with `Both` also
/// releases. The door input is always watched on both edges (the held-open alarm
/// needs both); its `edge` only sets the polarity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputOptions<A> {
    /// The line: [`Bcm`](super::line::Bcm) or [`ChipLine`](super::line::ChipLine).
    pub line: A,
    pub pull: Pull,
    pub edge: Edge,
    /// How long a level must hold to count.
    pub debounce: Duration,
}

impl<A> InputOptions<A> {
    /// Whether the asserted level is high.
    pub fn asserted_high(&self) -> bool {
        asserted_high(self.pull, self.edge)
    }
}

/// Whether an input with `pull` and `edge` is asserted when high (see [`InputOptions`]).
pub fn asserted_high(pull: Pull, edge: Edge) -> bool {
    match edge {
        Edge::Rising => true,
        Edge::Falling => false,
        Edge::Both => pull != Pull::Up,
    }
}

/// Which input an event comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputName {
    /// Presence sensor or start button: active = asserted.
    Trigger,
    /// Request-to-exit button: active = asserted.
    Exit,
    /// Door contact, normally closed (closed while the door is shut):
    /// active = contact open = door open.
    Door,
}

impl InputName {
    /// "trigger", "exit" or "door".
    pub fn as_str(self) -> &'static str {
        match self {
            InputName::Trigger => "trigger",
            InputName::Exit => "exit",
            InputName::Door => "door",
        }
    }
}

/// The inputs to watch; any may be absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputsOptions<A> {
    pub trigger: Option<InputOptions<A>>,
    pub exit: Option<InputOptions<A>>,
    pub door: Option<InputOptions<A>>,
}

impl<A> Default for InputsOptions<A> {
    fn default() -> Self {
        InputsOptions {
            trigger: None,
            exit: None,
            door: None,
        }
    }
}

impl<A> InputsOptions<A> {
    /// The configured inputs, in a fixed order.
    pub fn list(&self) -> Vec<(InputName, &InputOptions<A>)> {
        [
            (InputName::Trigger, self.trigger.as_ref()),
            (InputName::Exit, self.exit.as_ref()),
            (InputName::Door, self.door.as_ref()),
        ]
        .into_iter()
        .filter_map(|(n, o)| o.map(|o| (n, o)))
        .collect()
    }
}

/// A debounced input change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputEvent {
    pub input: InputName,
    /// See [`InputName`] for what active means per input.
    pub active: bool,
    /// When the new level began.
    pub at: Instant,
}

/// The level of a claimed input line, read.
pub trait InputLine: Send + 'static {
    /// Whether the line is high now (a failed read keeps the last level).
    fn is_high(&mut self) -> bool;
}

/// One input being watched.
pub(crate) struct Watched<S> {
    pub(crate) name: InputName,
    pub(crate) source: S,
    /// Where the line is, for logs.
    pub(crate) label: String,
    /// Pull, edge and debounce (the backend's own line address is in `line`).
    pub(crate) opts: WatchOptions,
    /// Report every edge and the state at start (commissioning) instead of the
    /// daemon's choice.
    pub(crate) show_all: bool,
}

/// How an input is watched, whatever its backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WatchOptions {
    pub(crate) pull: Pull,
    pub(crate) edge: Edge,
    pub(crate) debounce: Duration,
}

impl<A> From<&InputOptions<A>> for WatchOptions {
    fn from(o: &InputOptions<A>) -> Self {
        WatchOptions {
            pull: o.pull,
            edge: o.edge,
            debounce: o.debounce,
        }
    }
}

/// Whether `level` means active for input `name` with `opts`.
fn is_active(name: InputName, opts: &WatchOptions, high: bool) -> bool {
    let asserted = high == asserted_high(opts.pull, opts.edge);
    if name == InputName::Door {
        !asserted
    } else {
        asserted
    }
}

/// Polls `inputs` every `period` and sends their debounced edges, until the
/// receiver is gone. At start, the door's state is sent (so a door already open is
/// watched); the trigger's and exit's are not (a button held at boot opens nothing).
///
/// The starting levels are read here, before the task is spawned, not when the task
/// first runs: the caller says "ready" once this returns (`READY=1`), and a button
/// pressed after that must be a press. On a current-thread runtime the task first
/// runs only when the caller next yields; a press in between used to become the
/// starting level ("held at boot") and was never reported (the VM tier's
/// request-to-exit test: pressed 5 ms after `READY=1`, sampled 35 ms later).
pub(crate) fn spawn_watch<S: InputLine>(
    mut inputs: Vec<Watched<S>>,
    period: Duration,
    tx: mpsc::Sender<InputEvent>,
) -> JoinHandle<()> {
    let now = Instant::now();
    let mut debouncers = Vec::with_capacity(inputs.len());
    let mut initial = Vec::new();
    for w in inputs.iter_mut() {
        let high = w.source.is_high();
        let edge = if w.show_all || w.name == InputName::Door {
            Edge::Both
        } else {
            w.opts.edge
        };
        debouncers.push(Debouncer::new(w.opts.debounce, edge, high));
        if w.show_all || w.name == InputName::Door {
            initial.push(InputEvent {
                input: w.name,
                active: is_active(w.name, &w.opts, high),
                at: now,
            });
        }
    }
    tokio::spawn(async move {
        for ev in initial {
            if tx.send(ev).await.is_err() {
                return;
            }
        }
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if tx.is_closed() {
                return;
            }
            let now = Instant::now();
            for (w, d) in inputs.iter_mut().zip(debouncers.iter_mut()) {
                let Some(edge) = d.feed(w.source.is_high(), now) else {
                    continue;
                };
                let ev = InputEvent {
                    input: w.name,
                    active: is_active(w.name, &w.opts, edge.rising),
                    at: edge.at,
                };
                tracing::debug!(
                    input = w.name.as_str(),
                    line = %w.label,
                    active = ev.active,
                    "input edge"
                );
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
        }
    })
}

/// The door contact: an input whose level says whether the door is open, watched
/// on both edges, with the held-open alarm's delay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoorOptions<A> {
    /// The line: [`Bcm`](super::line::Bcm) or [`ChipLine`](super::line::ChipLine).
    pub line: A,
    pub pull: Pull,
    /// The door is open when the line is high (`false`: when it is low).
    pub open_level_high: bool,
    /// How long a level must hold to count.
    pub debounce: Duration,
    /// Raise the held-open alarm when the door stays open this long.
    pub held_open_after: Duration,
}

impl<A: Clone> DoorOptions<A> {
    /// The door as an input: watched on both edges whatever its `edge`, which here
    /// only says which level means open.
    pub fn input(&self) -> InputOptions<A> {
        InputOptions {
            line: self.line.clone(),
            pull: self.pull,
            edge: Edge::door_opens(self.open_level_high),
            debounce: self.debounce,
        }
    }
}

/// Claims `opts`' lines as inputs with their bias, in the order of
/// [`InputsOptions::list`].
fn claim_inputs<A: LineAddr>(
    opts: &InputsOptions<A>,
    show_all: bool,
) -> Result<Vec<Watched<A::Input>>, GpioError> {
    let list = opts.list();
    let mut out = Vec::with_capacity(list.len());
    for (name, o) in list {
        let input = name.as_str();
        let (source, label) = o.line.claim_input(input, o.pull)?;
        tracing::info!(input, line = %label, pull = ?o.pull, edge = o.edge.as_str(), "input claimed");
        out.push(Watched {
            name,
            source,
            label,
            opts: WatchOptions::from(o),
            show_all,
        });
    }
    Ok(out)
}

/// Watches the configured inputs and sends their debounced edges on `tx` (see
/// [`InputOptions`] for edge choice and polarity). The task ends, and releases the
/// lines, when `tx`'s receiver is dropped. A line that cannot be claimed (off a
/// Pi, busy, missing) is an error.
pub fn spawn_inputs<A: LineAddr>(
    opts: &InputsOptions<A>,
    tx: mpsc::Sender<InputEvent>,
) -> Result<JoinHandle<()>, GpioError> {
    Ok(spawn_watch(claim_inputs(opts, false)?, POLL_PERIOD, tx))
}

/// Like [`spawn_inputs`], for commissioning: every input on both edges, and each
/// input's state at start first.
pub fn spawn_inputs_showing_all<A: LineAddr>(
    opts: &InputsOptions<A>,
    tx: mpsc::Sender<InputEvent>,
) -> Result<JoinHandle<()>, GpioError> {
    Ok(spawn_watch(claim_inputs(opts, true)?, POLL_PERIOD, tx))
}

/// The trigger event an input event means: an active trigger edge starts a session,
/// an active exit edge opens the gate, a door change is passed on.
pub fn trigger_event(ev: &InputEvent) -> Option<TriggerEvent> {
    match (ev.input, ev.active) {
        (InputName::Trigger, true) => Some(TriggerEvent::Start {
            source: "gpio",
            note: None,
            card: None,
        }),
        (InputName::Exit, true) => Some(TriggerEvent::Exit { source: "gpio" }),
        (InputName::Door, open) => Some(TriggerEvent::Door { open }),
        (_, false) => None,
    }
}

/// The `gpio` trigger: turns input events (from [`spawn_inputs`]) into trigger events
/// with [`trigger_event`].
pub struct GpioTrigger {
    inputs: mpsc::Receiver<InputEvent>,
}

impl GpioTrigger {
    /// A trigger fed by `inputs`.
    pub fn new(inputs: mpsc::Receiver<InputEvent>) -> Self {
        GpioTrigger { inputs }
    }
}

impl Trigger for GpioTrigger {
    fn spawn(
        self: Box<Self>,
        events: mpsc::Sender<TriggerEvent>,
        _state: watch::Receiver<GateState>,
    ) -> JoinHandle<()> {
        let mut inputs = self.inputs;
        tokio::spawn(async move {
            while let Some(ev) = inputs.recv().await {
                let Some(te) = trigger_event(&ev) else {
                    continue;
                };
                if events.send(te).await.is_err() {
                    return;
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pin: u8, pull: Pull, edge: Edge) -> InputOptions<u8> {
        InputOptions {
            line: pin,
            pull,
            edge,
            debounce: Duration::from_millis(20),
        }
    }

    #[test]
    fn asserted_level_follows_edge_then_pull() {
        assert!(input(1, Pull::Up, Edge::Rising).asserted_high());
        assert!(!input(1, Pull::Down, Edge::Falling).asserted_high());
        assert!(!input(1, Pull::Up, Edge::Both).asserted_high());
        assert!(input(1, Pull::Down, Edge::Both).asserted_high());
        assert!(input(1, Pull::Off, Edge::Both).asserted_high());
    }

    /// An input whose level follows a script of (ms since start, high).
    struct Scripted {
        t0: Instant,
        script: Vec<(u64, bool)>,
    }

    impl InputLine for Scripted {
        fn is_high(&mut self) -> bool {
            let ms = (Instant::now() - self.t0).as_millis() as u64;
            self.script
                .iter()
                .take_while(|(t, _)| *t <= ms)
                .last()
                .map(|(_, l)| *l)
                .unwrap_or(false)
        }
    }

    fn watched(
        name: InputName,
        opts: InputOptions<u8>,
        script: &[(u64, bool)],
        show_all: bool,
    ) -> Watched<Scripted> {
        Watched {
            name,
            source: Scripted {
                t0: Instant::now(),
                script: script.to_vec(),
            },
            label: format!("line {}", opts.line),
            opts: WatchOptions::from(&opts),
            show_all,
        }
    }

    /// Runs the watcher for `run_ms` and returns (input, active, at ms).
    async fn collect(inputs: Vec<Watched<Scripted>>, run_ms: u64) -> Vec<(InputName, bool, u64)> {
        let t0 = Instant::now();
        let (tx, mut rx) = mpsc::channel(64);
        let task = spawn_watch(inputs, POLL_PERIOD, tx);
        tokio::time::sleep(Duration::from_millis(run_ms)).await;
        task.abort();
        let _ = task.await;
        let mut out = Vec::new();
        while let Ok(e) = rx.try_recv() {
            out.push((e.input, e.active, (e.at - t0).as_millis() as u64));
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn a_bouncing_button_to_ground_gives_one_press_and_one_release() {
        // Pull-up, button to ground: pressed = low. Bounces on press and release.
        let script = [
            (0, true),
            (100, false),
            (105, true),
            (110, false),
            (115, true),
            (120, false), // held from 120
            (400, true),
            (405, false),
            (410, true), // released from 410
        ];
        let opts = input(22, Pull::Up, Edge::Both);
        let got = collect(
            vec![watched(InputName::Trigger, opts, &script, false)],
            1000,
        )
        .await;
        assert_eq!(
            got,
            vec![
                (InputName::Trigger, true, 120),
                (InputName::Trigger, false, 410)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_chosen_edge_is_reported_and_a_short_glitch_is_not() {
        // Active-low sensor, falling edges only; a 10 ms glitch at 50 ms.
        let script = [
            (0, true),
            (50, false),
            (60, true),
            (200, false),
            (500, true),
        ];
        let opts = input(22, Pull::Off, Edge::Falling);
        let got = collect(
            vec![watched(InputName::Trigger, opts, &script, false)],
            1000,
        )
        .await;
        assert_eq!(got, vec![(InputName::Trigger, true, 200)]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_door_state_is_sent_at_start_and_on_both_edges() {
        // Normally-closed reed to ground with pull-up: shut = low, open = high. The
        // configured edge (falling) only sets the polarity for the door.
        let script = [(0, true), (300, false), (700, true)];
        let door = input(24, Pull::Up, Edge::Falling);
        let trigger = input(22, Pull::Up, Edge::Falling);
        let got = collect(
            vec![
                watched(InputName::Trigger, trigger, &[(0, false)], false),
                watched(InputName::Door, door, &script, false),
            ],
            1000,
        )
        .await;
        assert_eq!(
            got,
            vec![
                (InputName::Door, true, 0),
                (InputName::Door, false, 300),
                (InputName::Door, true, 700)
            ],
            "a trigger held at start is not a press; the door open at start is reported"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn showing_all_reports_initial_states_and_both_edges() {
        let opts = input(22, Pull::Up, Edge::Falling);
        let got = collect(
            vec![watched(
                InputName::Exit,
                opts,
                &[(0, true), (100, false), (300, true)],
                true,
            )],
            1000,
        )
        .await;
        assert_eq!(
            got,
            vec![
                (InputName::Exit, false, 0),
                (InputName::Exit, true, 100),
                (InputName::Exit, false, 300)
            ]
        );
    }

    /// A line whose level the test sets.
    struct Shared(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl InputLine for Shared {
        fn is_high(&mut self) -> bool {
            self.0.load(std::sync::atomic::Ordering::SeqCst)
        }
    }

    /// `#[tokio::test]` runs on one thread, as the daemon does: the watch task first
    /// runs when the test yields. A press made before that (right after `READY=1`)
    /// is still a press, not the level the input started at.
    #[tokio::test(start_paused = true)]
    async fn a_press_before_the_watch_task_first_runs_is_a_press() {
        let level = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let opts = input(3, Pull::Up, Edge::Falling);
        let (tx, mut rx) = mpsc::channel(4);
        let task = spawn_watch(
            vec![Watched {
                name: InputName::Exit,
                source: Shared(level.clone()),
                label: "line 3".into(),
                opts: WatchOptions::from(&opts),
                show_all: false,
            }],
            POLL_PERIOD,
            tx,
        );
        level.store(false, std::sync::atomic::Ordering::SeqCst);
        let ev = tokio::time::timeout(Duration::from_secs(1), rx.recv())
            .await
            .expect("a press within 1 s")
            .expect("an event");
        assert_eq!((ev.input, ev.active), (InputName::Exit, true));
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn the_watcher_stops_when_nobody_listens() {
        let (tx, rx) = mpsc::channel(4);
        let task = spawn_watch(
            vec![watched(
                InputName::Trigger,
                input(22, Pull::Up, Edge::Both),
                &[],
                false,
            )],
            POLL_PERIOD,
            tx,
        );
        drop(rx);
        tokio::time::timeout(Duration::from_millis(50), task)
            .await
            .expect("the task ended")
            .unwrap();
    }

    #[test]
    fn input_events_map_to_trigger_events() {
        let at = Instant::now();
        let ev = |input, active| InputEvent { input, active, at };
        assert_eq!(
            trigger_event(&ev(InputName::Trigger, true)),
            Some(TriggerEvent::Start {
                source: "gpio",
                note: None,
                card: None
            })
        );
        assert_eq!(trigger_event(&ev(InputName::Trigger, false)), None);
        assert_eq!(
            trigger_event(&ev(InputName::Exit, true)),
            Some(TriggerEvent::Exit { source: "gpio" })
        );
        assert_eq!(trigger_event(&ev(InputName::Exit, false)), None);
        assert_eq!(
            trigger_event(&ev(InputName::Door, true)),
            Some(TriggerEvent::Door { open: true })
        );
        assert_eq!(
            trigger_event(&ev(InputName::Door, false)),
            Some(TriggerEvent::Door { open: false })
        );
    }

    #[tokio::test]
    async fn the_gpio_trigger_forwards_only_meaningful_events() {
        let (in_tx, in_rx) = mpsc::channel(8);
        let (ev_tx, mut ev_rx) = mpsc::channel(8);
        let (_state_tx, state_rx) = watch::channel(GateState::Ready);
        let task = Box::new(GpioTrigger::new(in_rx)).spawn(ev_tx, state_rx);
        let at = Instant::now();
        for (input, active) in [
            (InputName::Trigger, false),
            (InputName::Trigger, true),
            (InputName::Exit, false),
            (InputName::Door, true),
        ] {
            in_tx.send(InputEvent { input, active, at }).await.unwrap();
        }
        drop(in_tx);
        task.await.unwrap();
        let mut got = Vec::new();
        while let Ok(e) = ev_rx.try_recv() {
            got.push(e);
        }
        assert_eq!(
            got,
            vec![
                TriggerEvent::Start {
                    source: "gpio",
                    note: None,
                    card: None
                },
                TriggerEvent::Door { open: true }
            ]
        );
    }

    #[test]
    fn inputs_are_listed_in_a_fixed_order_and_the_door_on_its_polarity() {
        let door = DoorOptions {
            line: 6u8,
            pull: Pull::Up,
            open_level_high: false,
            debounce: Duration::from_millis(30),
            held_open_after: Duration::from_secs(30),
        };
        let opts = InputsOptions {
            trigger: None,
            exit: Some(input(5, Pull::Up, Edge::Falling)),
            door: Some(door.input()),
        };
        let names: Vec<InputName> = opts.list().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, vec![InputName::Exit, InputName::Door]);
        // Open when low: the falling edge sets that polarity.
        assert_eq!(
            door.input(),
            InputOptions {
                line: 6,
                pull: Pull::Up,
                edge: Edge::Falling,
                debounce: Duration::from_millis(30),
            }
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (tx, _rx) = mpsc::channel(1);
        let none = InputsOptions::<crate::gpio::line::Bcm>::default();
        assert!(rt.block_on(async { spawn_inputs(&none, tx) }).is_ok());
    }
}

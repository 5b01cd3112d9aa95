//! `livegate simulate`: the same daemon with a simulated camera, panel and relays,
//! against the AIGEN API stand-in on loopback (or another endpoint).

use std::sync::Arc;

use tokio::sync::watch;

use crate::api::{AigenClient, ClientOptions};
use crate::config::Config;
use crate::daemon::{self, Devices, Observer, RunOptions, RunSummary};
use crate::display::sim::{SimDisplay, SimDisplayHandle};
use crate::display::{Display, DisplayError, Screen};
use crate::gpio::sim::SimRelay;
use crate::reader::wiegand::SimOutput;
use crate::reader::{CardShown, PanelOutput, ReaderOptions};
use crate::standin::{Standin, StandinOptions};
use crate::trigger::Cast;
use livegate_core::wiegand::{Card, Read};

/// Why a simulation could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot start the API stand-in: {0}")]
    Standin(#[from] crate::standin::StandinError),
    #[error(transparent)]
    Client(#[from] crate::api::client::ClientBuildError),
    #[error(transparent)]
    Key(#[from] crate::config::KeyError),
    #[error(transparent)]
    Ca(#[from] crate::config::CaError),
    #[error(transparent)]
    Daemon(#[from] daemon::DaemonError),
    #[error(transparent)]
    Devices(#[from] crate::devices::DeviceError),
    #[error("the simulation needs simulated {0}")]
    NotSimulated(&'static str),
}

/// The simulated devices, with handles to what they did.
pub struct SimDevices {
    pub devices: Devices,
    pub gate: SimRelay,
    pub fail: SimRelay,
    pub display: SimDisplayHandle,
    /// The screens shown, as the simulated person sees them.
    pub screen_tx: watch::Sender<Screen>,
}

/// Builds the simulated camera, relays and trigger for `cfg` (hardware kinds are
/// replaced by their simulated twins: [`Config::simulated`]), showing screens on
/// `panel`.
pub fn sim_devices(
    cfg: &Config,
    cast: Cast,
    panel: Box<dyn Display>,
    display: SimDisplayHandle,
    card: Option<Card>,
) -> Result<SimDevices, SimError> {
    let built = crate::devices::build_simulated(
        &cfg.simulated(),
        crate::devices::Simulated {
            cast,
            panel: Some(panel),
            card,
        },
    )?;
    let (gate, fail) = built.sim_relays.ok_or(SimError::NotSimulated("relays"))?;
    Ok(SimDevices {
        devices: built.devices,
        gate,
        fail,
        display,
        screen_tx: built.screen_tx,
    })
}

/// Where the API is for a simulation.
pub enum Endpoint {
    /// The built-in stand-in, started for this run.
    Standin(StandinOptions),
    /// Another endpoint, with the config's key and CA settings.
    Url(String),
}

/// A prepared simulation: the stand-in is up, nothing runs yet.
pub struct Simulation {
    cfg: Config,
    client: AigenClient,
    standin: Option<Standin>,
    sim: SimDevices,
    /// In-line mode: the card every visitor shows, passed on after a pass.
    card: Option<Card>,
    /// The card settings given with [`Simulation::with_reader`], instead of the
    /// simulated twin of the output.
    reader: Option<ReaderOptions>,
}

impl Simulation {
    /// Starts the stand-in (or points at `endpoint`) and builds the simulated devices.
    pub async fn new(
        cfg: Config,
        endpoint: Endpoint,
        cast: Cast,
        panel: Option<Box<dyn Display>>,
    ) -> Result<Simulation, SimError> {
        Self::in_line(cfg, endpoint, cast, panel, None).await
    }

    /// [`Simulation::new`] in in-line mode when `card` is set: every visitor shows
    /// `card` to a simulated card reader, and a pass sends it on through the
    /// simulated twin of the Wiegand output (read back as a panel would: the
    /// `card_out` event, [`SimOutcome::cards_out`]).
    pub async fn in_line(
        cfg: Config,
        endpoint: Endpoint,
        cast: Cast,
        panel: Option<Box<dyn Display>>,
        card: Option<Card>,
    ) -> Result<Simulation, SimError> {
        let (client, standin) = match endpoint {
            Endpoint::Standin(opts) => {
                let key = opts.key.clone();
                let standin = Standin::start(opts).await?;
                let client = AigenClient::new(ClientOptions {
                    base_url: standin.url(),
                    key,
                    only_extra_ca: true,
                    extra_ca_pem: vec![standin.ca_pem().to_vec()],
                    allow_insecure_http: false,
                    ..cfg.client_options()
                })?;
                (client, Some(standin))
            }
            Endpoint::Url(url) => {
                let mut opts = cfg.client_options();
                opts.base_url = url;
                opts.key = cfg.read_key()?;
                opts.extra_ca_pem.extend(cfg.read_ca()?);
                (AigenClient::new(opts)?, None)
            }
        };
        let silent = SimDisplay::default();
        let handle = silent.handle();
        let panel = panel.unwrap_or_else(|| Box::new(silent));
        let sim = sim_devices(&cfg, cast, panel, handle, card)?;
        Ok(Simulation {
            cfg,
            client,
            standin,
            sim,
            card,
            reader: None,
        })
    }

    /// Runs with these card settings (a real output to a panel, as `run` opens it:
    /// `devices::reader`; the panel's commands) instead of the simulated twin.
    pub fn with_reader(mut self, reader: ReaderOptions) -> Self {
        self.reader = Some(reader);
        self
    }

    /// The stand-in, to inject faults or read what it saw.
    pub fn standin(&self) -> Option<&Standin> {
        self.standin.as_ref()
    }

    pub fn gate(&self) -> &SimRelay {
        &self.sim.gate
    }

    pub fn fail(&self) -> &SimRelay {
        &self.sim.fail
    }

    pub fn display(&self) -> &SimDisplayHandle {
        &self.sim.display
    }

    /// Runs `sessions` sessions (or until `shutdown`), then stops the stand-in.
    pub async fn run(
        self,
        sessions: Option<u64>,
        observer: Option<Observer>,
        shutdown: Option<watch::Receiver<bool>>,
    ) -> Result<(RunSummary, SimOutcome), SimError> {
        let Simulation {
            cfg,
            client,
            standin,
            sim,
            card,
            reader,
        } = self;
        let cards_out: CardsOut = Arc::default();
        let reader = match reader {
            Some(r) => r,
            None => sim_reader(&cfg, card.is_some(), observer.clone(), cards_out.clone())?,
        };
        let SimDevices {
            devices,
            gate,
            fail,
            display,
            screen_tx,
        } = sim;
        // Counted in memory (a simulation never writes the Pi's textfile).
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let summary = daemon::run(
            &cfg.daemon_settings(),
            client,
            devices,
            RunOptions {
                max_sessions: sessions,
                observer,
                shutdown,
                screen_tx: Some(screen_tx),
                door_held_open_after: None,
                metrics: Some(metrics.clone()),
                reader,
                ..Default::default()
            },
        )
        .await?;
        let requests = standin.as_ref().map(|s| s.requests()).unwrap_or_default();
        metrics.stopped();
        if let Some(s) = standin {
            s.shutdown().await;
        }
        Ok((
            summary,
            SimOutcome {
                gate,
                fail,
                display,
                api_requests: requests,
                metrics,
                cards_out: cards_out.lock().map(|c| c.clone()).unwrap_or_default(),
            },
        ))
    }
}

/// What the simulated world recorded.
pub struct SimOutcome {
    pub gate: SimRelay,
    pub fail: SimRelay,
    /// What the built-in panel showed (empty when `Simulation::new` got a panel of
    /// the caller's own: that panel keeps its own record).
    pub display: SimDisplayHandle,
    /// Requests the stand-in answered (empty with another endpoint).
    pub api_requests: Vec<crate::standin::Recorded>,
    /// What the fleet metrics counted.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Each frame the simulated panel read off the Wiegand output, in order.
    pub cards_out: Vec<Read>,
}

type CardsOut = Arc<std::sync::Mutex<Vec<Read>>>;

/// The card settings of a simulation: `[reader]`'s, with its output (Wiegand or
/// OSDP alike) played on the simulated twin of the Wiegand lines whenever the
/// configuration has one or the visitors show a card (`in_line`).
fn sim_reader(
    cfg: &Config,
    in_line: bool,
    observer: Option<Observer>,
    cards_out: CardsOut,
) -> Result<ReaderOptions, SimError> {
    let shown = crate::devices::card_shown(cfg)?;
    if !in_line && cfg.reader.output == "none" {
        return Ok(ReaderOptions {
            panel: None,
            shown,
            commands: None,
        });
    }
    let (_, timing) = crate::devices::wiegand_format(cfg)?;
    let (on_pass, on_deny) = crate::devices::panel_cards(cfg)?;
    let out = SimOutput::new(timing, move |read: Read| {
        if let (Some(o), Ok(card)) = (&observer, &read.card) {
            o(&daemon::GateEvent::CardOut {
                output: "wiegand",
                card: CardShown::Full.show(card),
                bits: read.bits.len(),
            });
        }
        if let Ok(mut c) = cards_out.lock() {
            c.push(read);
        }
    });
    Ok(ReaderOptions {
        panel: Some(PanelOutput {
            out: Box::new(out),
            on_pass,
            on_deny,
        }),
        shown,
        commands: None,
    })
}

pub use crate::display::term::{Console, Tone};

/// A simulated panel that also draws itself on a [`Console`].
pub struct ConsolePanel {
    inner: SimDisplay,
    console: Arc<Console>,
    last: Option<Screen>,
}

impl ConsolePanel {
    pub fn new(inner: SimDisplay, console: Arc<Console>) -> Self {
        ConsolePanel {
            inner,
            console,
            last: None,
        }
    }
}

fn same_screen_but_countdown(a: &Screen, b: &Screen) -> bool {
    match (a, b) {
        (
            Screen::Action {
                action: a1,
                step: s1,
                prompt: p1,
                ..
            },
            Screen::Action {
                action: a2,
                step: s2,
                prompt: p2,
                ..
            },
        ) => a1 == a2 && s1 == s2 && p1 == p2,
        (Screen::LockedOut { .. }, Screen::LockedOut { .. }) => true,
        _ => a == b,
    }
}

impl Display for ConsolePanel {
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        let r = self.inner.show(screen);
        let new_screen = !self
            .last
            .as_ref()
            .is_some_and(|l| same_screen_but_countdown(l, screen));
        self.last = Some(screen.clone());
        self.console
            .panel(screen, self.inner.framebuffer(), new_screen)
            .map_err(|e| DisplayError::Other(format!("terminal write failed: {e}")))?;
        r
    }
}

/// One event as a short line for people.
pub fn describe(e: &daemon::GateEvent) -> Option<String> {
    use daemon::GateEvent as E;
    Some(match e {
        E::SessionStarted {
            session,
            note,
            card,
            ..
        } => format!(
            "session {session} started{}{}",
            note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default(),
            card.as_ref()
                .map(|c| format!(", card in {c}"))
                .unwrap_or_default()
        ),
        E::ActionShown {
            step, total, words, ..
        } => format!("  step {step}/{total}: {words}"),
        E::FrameSent { .. } => return None,
        E::ApiAnswer {
            op,
            latency_ms,
            status,
            result,
            next_choice,
            error,
            ..
        } => match error {
            Some(err) => format!("  {op}: {err} ({latency_ms} ms)"),
            None => format!(
                "  {op}: {}{}{} ({latency_ms} ms)",
                status.as_deref().unwrap_or("?"),
                result.as_ref().map(|r| format!(" {r}")).unwrap_or_default(),
                next_choice
                    .as_ref()
                    .map(|n| format!(", next {n}"))
                    .unwrap_or_default()
            ),
        },
        E::Verdict {
            session,
            verdict,
            words,
            duration_ms,
            ..
        } => format!(
            "session {session}: {}{} after {:.1} s",
            verdict.to_uppercase(),
            words.map(|w| format!(": {w}")).unwrap_or_default(),
            *duration_ms as f64 / 1000.0
        ),
        E::RelayPulse { relay, ms } => format!("  {relay} relay pulsed for {ms} ms"),
        E::Refused { reason, secs_left } => {
            format!("trigger refused: {reason} ({secs_left} s left)")
        }
        E::LockedOut { secs } => format!("too many failed attempts: locked out for {secs} s"),
        E::ExitOpened { source } => {
            format!("request-to-exit ({source}): gate opened without a check")
        }
        E::DoorHeldOpen { secs } => format!("door held open for {secs} s"),
        E::CardOut { card, .. } => format!("card out {card}"),
        E::NoFace { source } => {
            format!("trigger ({source}): no face in view, no session (no API call)")
        }
        E::FrameHeld { guidance, .. } => format!("  frame held back: {guidance}"),
    })
}

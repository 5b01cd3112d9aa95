//! From the configuration to the devices. Relays first, at their safe level, before
//! anything else is opened; then inputs and triggers, the display, the camera.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::warn;

use crate::camera::replay::{ReplayCamera, ReplayOptions};
#[cfg(feature = "sim")]
use crate::camera::sim::{SimCamera, Visitor};
use crate::camera::v4l2::{V4l2Camera, V4l2Options};
use crate::camera::FrameSource;
use crate::config::{
    CameraConfig, Config, DisplayConfig, GpioConfig, ReplayCameraConfig, TriggerConfig,
};
use crate::ctl::{SocketOptions, SocketTrigger};
use crate::daemon::{Devices, PresenceDevice};
use crate::display::sim::{SimDisplay, SimDisplayHandle};
use crate::display::ssd1306::{Oled, OledOptions};
use crate::display::{Display, DisplayError, Screen};
use crate::gpio::edges::EdgePairAddr;
use crate::gpio::input::{spawn_inputs, GpioTrigger};
use crate::gpio::line::LineAddr;
use crate::gpio::output::claim_outputs;
use crate::gpio::sim::SimRelay;
use crate::gpio::{GpioError, GpioLines, Relay};
use crate::presence::{Eyes, FaceDetector, MakeDetector, SeetaDetector};
use crate::reader::osdp::{self, Osdp, OsdpOptions};
use crate::reader::wiegand::{CardTrigger, Sender, WiegandLines};
use crate::reader::{CardOutput, CardShown, OnPass, PanelOutput, ReaderOptions};
#[cfg(feature = "sim")]
use crate::trigger::{Cast, SimTrigger};
use crate::trigger::{GateState, Trigger, TriggerEvent};
use livegate_core::wiegand::{Card, Format, Timing};

/// Why the devices could not be set up. The relays are safe whatever happened.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Gpio(#[from] GpioError),
    #[error("control socket: {0}")]
    Socket(#[from] crate::ctl::CtlError),
    /// A `sim` kind in a livegate built without the `sim` feature (the configuration
    /// check refuses it first; this is the backstop).
    #[error("{0}: kind = \"sim\" needs livegate built with the sim feature (the default)")]
    NotBuilt(&'static str),
    /// `[reader]` cannot be set up (a card, a key, the output).
    #[error("[reader]: {0}")]
    Reader(String),
    /// The face detector's thread cannot be started.
    #[error("[presence]: cannot start the face detector: {0}")]
    Presence(std::io::Error),
}

/// The devices, and what the daemon needs beside them.
pub struct Built {
    pub devices: Devices,
    pub screen_tx: watch::Sender<Screen>,
    pub door_held_open_after: Option<Duration>,
    /// The simulated relays, when `[gpio] kind = "sim"`.
    pub sim_relays: Option<(SimRelay, SimRelay)>,
    pub display: Option<SimDisplayHandle>,
    /// The output to an access-control panel and how cards are shown (`[reader]`;
    /// a simulation sets its own).
    pub reader: ReaderOptions,
}

/// OLED options from `[display] kind = "ssd1306"`.
pub fn oled_options(cfg: &Config) -> Option<OledOptions> {
    let DisplayConfig::Ssd1306(d) = &cfg.display else {
        return None;
    };
    Some(d.clone())
}

/// Camera options from `[camera] kind = "v4l2"`.
pub fn camera_options(cfg: &Config) -> Option<V4l2Options> {
    let CameraConfig::V4l2(c) = &cfg.camera else {
        return None;
    };
    Some(V4l2Options {
        device: c.device.clone(),
        width: c.width,
        height: c.height,
        fps: c.fps,
        format: c.format,
        jpeg_quality: c.jpeg_quality,
        warmup_frames: c.warmup_frames,
        mirror: c.mirror,
        rotation: c.rotation,
        ..V4l2Options::default()
    })
}

/// Replay camera options from `[camera] kind = "replay"`.
pub fn replay_options(c: &ReplayCameraConfig) -> ReplayOptions {
    ReplayOptions {
        dir: c.path.clone(),
        width: c.width,
        height: c.height,
        fps: c.fps,
        jpeg_quality: c.jpeg_quality,
        mirror: c.mirror,
        rotation: c.rotation,
    }
}

/// Socket options from `[trigger] kind = "socket"`.
pub fn socket_options(cfg: &Config) -> Option<SocketOptions> {
    let TriggerConfig::Socket(s) = &cfg.trigger else {
        return None;
    };
    Some(SocketOptions {
        path: s.path.clone(),
        group: Some(s.group.clone()),
        mode: s.mode,
    })
}

/// The gate and fail outputs, and their simulated twins when they are simulated.
pub type Relays = (Arc<dyn Relay>, Arc<dyn Relay>, Option<(SimRelay, SimRelay)>);

/// Claims the relays at their safe level: the first thing `livegate run` does with
/// the hardware.
pub fn claim_relays(cfg: &Config) -> Result<Relays, GpioError> {
    let (g, f) = match &cfg.gpio {
        GpioConfig::Rppal(g) => claim_outputs(&g.gate, &g.fail)?,
        GpioConfig::Cdev(g) => claim_outputs(&g.gate, &g.fail)?,
        GpioConfig::Sim(s) => {
            let (mut g, mut f) = (SimRelay::new("gate"), SimRelay::new("fail"));
            if let Some(path) = &s.state_file {
                let file = crate::gpio::sim::StateFile::new(path);
                g = g.with_state_file(file.clone());
                f = f.with_state_file(file);
                // Claimed at the inactive level, as the hardware is.
                g.set(false)?;
                f.set(false)?;
            }
            return Ok((Arc::new(g.clone()), Arc::new(f.clone()), Some((g, f))));
        }
    };
    Ok((g, f, None))
}

/// The `gpio` trigger over the inputs of `lines`, watched from now on; `None` when
/// no input is configured.
fn gpio_trigger<A: LineAddr>(lines: &GpioLines<A>) -> Result<Option<Box<dyn Trigger>>, GpioError> {
    let Some(inputs) = lines.inputs() else {
        return Ok(None);
    };
    let (tx, rx) = mpsc::channel(32);
    spawn_inputs(&inputs, tx)?;
    Ok(Some(Box::new(GpioTrigger::new(rx))))
}

/// The card reader on the `wiegand_in_*` lines of `lines`, as a trigger.
fn card_trigger<A: EdgePairAddr>(
    lines: &GpioLines<A>,
    params: livegate_core::wiegand::DecoderParams,
    shown: CardShown,
) -> Result<Box<dyn Trigger>, DeviceError> {
    let Some((d0, d1)) = lines.wiegand.input() else {
        return Err(DeviceError::Reader(
            "[trigger] kind = \"wiegand\" needs both wiegand_in_* lines of [gpio]".into(),
        ));
    };
    let source = crate::reader::wiegand::open_reader(d0, d1)?;
    Ok(Box::new(CardTrigger {
        source,
        params,
        shown,
    }))
}

/// How card numbers are shown, from `[reader] show_card` (the hash key read from
/// its file, which must be closed to other users).
pub fn card_shown(cfg: &Config) -> Result<CardShown, DeviceError> {
    let r = &cfg.reader;
    let key = match (&r.show_card_key_file, r.show_card.as_str()) {
        (Some(path), "hash") => {
            let shown = path.display();
            if let Ok(Some(mode)) = crate::safefile::open_to_others(path) {
                return Err(DeviceError::Reader(format!(
                    "the card hash key {shown} can be read by other users (mode {mode:04o}): chmod 600 it"
                )));
            }
            Some(
                crate::safefile::read_regular(path, crate::safefile::MAX_KEY_BYTES).map_err(
                    |e| DeviceError::Reader(format!("cannot read the card hash key {shown}: {e}")),
                )?,
            )
        }
        _ => None,
    };
    CardShown::from_word(&r.show_card, key.as_deref()).ok_or_else(|| {
        DeviceError::Reader(format!(
            "show_card = {:?} needs show_card_key_file",
            r.show_card
        ))
    })
}

/// The Wiegand format, pulse and interval of `[reader]`.
pub fn wiegand_format(cfg: &Config) -> Result<(Format, Timing), DeviceError> {
    let r = &cfg.reader;
    let format = Format::parse(&r.format)
        .ok_or_else(|| DeviceError::Reader(format!("format {:?} is not 26 or 34", r.format)))?;
    let timing =
        Timing::new(r.pulse, r.interval).map_err(|e| DeviceError::Reader(e.to_string()))?;
    Ok((format, timing))
}

/// What a pass and a deny send (`on_pass`, `fixed_card`, `deny_card`).
pub fn panel_cards(cfg: &Config) -> Result<(OnPass, Option<Card>), DeviceError> {
    let r = &cfg.reader;
    let (format, _) = wiegand_format(cfg)?;
    let parse =
        |text: &str| Card::parse(format, text).map_err(|e| DeviceError::Reader(e.to_string()));
    let on_pass = match (r.on_pass.as_str(), &r.fixed_card) {
        ("fixed", Some(c)) => OnPass::Fixed(parse(c)?),
        ("fixed", None) => {
            return Err(DeviceError::Reader(
                "on_pass = \"fixed\" needs fixed_card".into(),
            ))
        }
        _ => OnPass::Card,
    };
    let on_deny = r.deny_card.as_deref().map(parse).transpose()?;
    Ok((on_pass, on_deny))
}

/// The OSDP reader's options from `[reader]`: the key from `osdp_key_file`, else
/// the systemd credential `osdp-key`; `None` when there is neither.
pub fn osdp_options(cfg: &Config) -> Result<OsdpOptions, DeviceError> {
    let r = &cfg.reader;
    let key = match (&r.osdp_key_file, osdp::credential_path()) {
        (Some(path), _) => Some(osdp::read_key(path, false)),
        (None, Some(cred)) if cred.exists() => Some(osdp::read_key(&cred, true)),
        (None, _) => None,
    }
    .transpose()
    .map_err(|e| DeviceError::Reader(e.to_string()))?;
    Ok(OsdpOptions::new(
        &r.osdp_port,
        r.osdp_baud,
        r.osdp_address,
        key,
    ))
}

/// `[reader]` opened for `livegate run`: the output to the panel (the Wiegand
/// lines claimed at idle and their sender thread, or the OSDP reader on its port,
/// with the panel's commands for the daemon) and how cards are shown. OSDP
/// refuses to run without the site's key: a card never goes to a panel in the
/// clear when OSDP's secure channel was asked for.
pub fn reader(cfg: &Config) -> Result<ReaderOptions, DeviceError> {
    let shown = card_shown(cfg)?;
    let mut panel_commands = None;
    let out: Box<dyn CardOutput> = match cfg.reader.output.as_str() {
        "wiegand" => {
            let (_, timing) = wiegand_format(cfg)?;
            let inverted = cfg.reader.inverted;
            let lines = match &cfg.gpio {
                GpioConfig::Rppal(g) => wiegand_sender(g, inverted, timing)?,
                GpioConfig::Cdev(g) => wiegand_sender(g, inverted, timing)?,
                GpioConfig::Sim(_) => {
                    return Err(DeviceError::Reader(
                        "output = \"wiegand\" needs the wiegand_out_* lines of [gpio]".into(),
                    ))
                }
            };
            Box::new(lines)
        }
        "osdp" => {
            let opts = osdp_options(cfg)?;
            if opts.key.is_none() {
                return Err(DeviceError::Reader(
                    "output = \"osdp\" needs the secure-channel key: osdp_key_file, or the \
                     systemd credential osdp-key (the drop-in LoadCredential=osdp-key:/etc/livegate/osdp-key, \
                     README \"For access-control panels\")"
                        .into(),
                ));
            }
            let (reader, commands) =
                Osdp::start(opts).map_err(|e| DeviceError::Reader(e.to_string()))?;
            panel_commands = Some(commands);
            Box::new(reader)
        }
        _ => {
            return Ok(ReaderOptions {
                panel: None,
                shown,
                commands: None,
            })
        }
    };
    let (on_pass, on_deny) = panel_cards(cfg)?;
    Ok(ReaderOptions {
        panel: Some(PanelOutput {
            out,
            on_pass,
            on_deny,
        }),
        shown,
        commands: panel_commands,
    })
}

/// The Wiegand output lines of `lines`, claimed at idle, with their sender thread.
fn wiegand_sender<A: LineAddr>(
    lines: &GpioLines<A>,
    inverted: bool,
    timing: Timing,
) -> Result<Sender, DeviceError> {
    let claimed = claim_wiegand(lines, inverted)?;
    Sender::spawn(claimed, timing, crate::reader::wiegand::Monotonic, true)
        .map_err(|e| DeviceError::Reader(format!("cannot start the Wiegand sender: {e}")))
}

/// The Wiegand output lines of `lines`, claimed at their idle level.
fn claim_wiegand<A: LineAddr>(
    lines: &GpioLines<A>,
    inverted: bool,
) -> Result<WiegandLines<A::Output>, DeviceError> {
    let Some((d0, d1)) = lines.wiegand.output() else {
        return Err(DeviceError::Reader(
            "output = \"wiegand\" needs both wiegand_out_* lines of [gpio]".into(),
        ));
    };
    Ok(crate::reader::wiegand::claim_lines(d0, d1, inverted)?)
}

/// `safe-outputs`: the Wiegand output's lines, when `[reader]` drives them, claimed
/// at their idle level and let go (driven idle once more: nothing a panel reads as
/// a bit). `Ok(false)`: there are none.
pub fn rest_wiegand_output(cfg: &Config) -> Result<bool, DeviceError> {
    if cfg.reader.output != "wiegand" {
        return Ok(false);
    }
    let inverted = cfg.reader.inverted;
    match &cfg.gpio {
        GpioConfig::Rppal(g) => drop(claim_wiegand(g, inverted)?),
        GpioConfig::Cdev(g) => drop(claim_wiegand(g, inverted)?),
        GpioConfig::Sim(_) => return Ok(false),
    }
    Ok(true)
}

/// Builds every device named by `cfg`: what `livegate run` does. Simulated kinds
/// (with the `sim` feature) play the configuration's own performer.
pub fn build(cfg: &Config) -> Result<Built, DeviceError> {
    build_devices(cfg, None)
}

/// What only `simulate` supplies: who the simulated visitors are, and a panel that
/// replaces a simulated display's own terminal output.
#[cfg(feature = "sim")]
pub struct Simulated {
    pub cast: Cast,
    pub panel: Option<Box<dyn Display>>,
    /// The card every simulated visitor shows (in-line mode), if any.
    pub card: Option<Card>,
}

/// Builds every device named by `cfg`, with the visitors and panel of a simulation.
#[cfg(feature = "sim")]
pub fn build_simulated(cfg: &Config, sim: Simulated) -> Result<Built, DeviceError> {
    build_devices(cfg, Some(sim))
}

/// Without the `sim` feature nothing simulated can be asked for.
#[cfg(not(feature = "sim"))]
type Simulated = std::convert::Infallible;

fn build_devices(cfg: &Config, sim: Option<Simulated>) -> Result<Built, DeviceError> {
    // 1. Outputs, at their inactive level, before anything else: the relays, then
    // the output to the panel (the Wiegand lines at idle, high), for `run` only.
    let (gate, fail, sim_relays) = claim_relays(cfg)?;
    let simulated = sim.is_some();
    let reader = if simulated {
        ReaderOptions::default()
    } else {
        reader(cfg)?
    };

    // 2. Inputs and triggers.
    let (screen_tx, screen_rx) = watch::channel(Screen::Idle);
    #[cfg(feature = "sim")]
    let (visitor_tx, visitor_rx) = watch::channel::<Option<Visitor>>(None);
    #[cfg(feature = "sim")]
    let (cast, panel, card) = match sim {
        Some(Simulated { cast, panel, card }) => (cast, panel, card),
        None => {
            let performer = match &cfg.camera {
                CameraConfig::Sim(c) => c.performer,
                CameraConfig::V4l2(_) | CameraConfig::Replay(_) => crate::camera::Performer::Pass,
            };
            (Cast::All(performer), None, None)
        }
    };
    #[cfg(not(feature = "sim"))]
    let panel: Option<Box<dyn Display>> = sim.map(|never| match never {});
    let mut triggers: Vec<Box<dyn Trigger>> = Vec::new();
    let inputs = match &cfg.gpio {
        GpioConfig::Rppal(g) => gpio_trigger(g)?,
        GpioConfig::Cdev(g) => gpio_trigger(g)?,
        GpioConfig::Sim(_) => None,
    };
    triggers.extend(inputs);
    match &cfg.trigger {
        #[cfg(not(feature = "sim"))]
        TriggerConfig::Sim(_) => return Err(DeviceError::NotBuilt("trigger")),
        #[cfg(feature = "sim")]
        TriggerConfig::Sim(t) => {
            let reaction = match &cfg.camera {
                CameraConfig::Sim(c) => c.reaction,
                CameraConfig::V4l2(_) | CameraConfig::Replay(_) => Duration::from_millis(1500),
            };
            triggers.push(Box::new(SimTrigger {
                arrival: t.arrival,
                reaction,
                cast,
                visitor: visitor_tx,
                card,
                press: true,
            }));
        }
        // The inputs above already carry the trigger input.
        TriggerConfig::Gpio => {}
        // The daemon's presence watch is this trigger (it starts a session on an
        // arrival). With the simulated camera, simulated visitors walk up to it
        // without pressing anything.
        TriggerConfig::Camera =>
        {
            #[cfg(feature = "sim")]
            if let CameraConfig::Sim(c) = &cfg.camera {
                triggers.push(Box::new(SimTrigger {
                    arrival: Duration::from_secs(2),
                    reaction: c.reaction,
                    cast,
                    visitor: visitor_tx,
                    card,
                    press: false,
                }));
            }
        }
        TriggerConfig::Wiegand => {
            let shown = card_shown(cfg)?;
            let params = livegate_core::wiegand::DecoderParams::default();
            let trigger: Box<dyn Trigger> = match &cfg.gpio {
                GpioConfig::Rppal(g) => card_trigger(g, params, shown)?,
                GpioConfig::Cdev(g) => card_trigger(g, params, shown)?,
                GpioConfig::Sim(_) => {
                    return Err(DeviceError::Reader(
                        "[trigger] kind = \"wiegand\" needs the wiegand_in_* lines of [gpio]"
                            .into(),
                    ))
                }
            };
            triggers.push(trigger);
        }
        TriggerConfig::Socket(_) => {
            if let Some(opts) = socket_options(cfg) {
                triggers.push(Box::new(SocketTrigger::bind(&opts)?));
            }
        }
    }

    // 3. The display: a missing panel never stops the gate.
    let (display, handle): (Box<dyn Display>, Option<SimDisplayHandle>) = match &cfg.display {
        DisplayConfig::Sim(d) => match panel {
            Some(p) => (p, None),
            None => {
                let sim = SimDisplay::from_config(d);
                let h = sim.handle();
                (Box::new(sim), Some(h))
            }
        },
        DisplayConfig::Ssd1306(_) => {
            let opts = oled_options(cfg).unwrap_or_default();
            (Box::new(LazyOled::new(opts)), None)
        }
    };

    // 4. The camera.
    let camera: Box<dyn FrameSource> = match &cfg.camera {
        #[cfg(feature = "sim")]
        CameraConfig::Sim(c) => Box::new(SimCamera::new(c, screen_rx, visitor_rx)),
        #[cfg(not(feature = "sim"))]
        CameraConfig::Sim(_) => {
            drop(screen_rx);
            return Err(DeviceError::NotBuilt("camera"));
        }
        CameraConfig::V4l2(_) => Box::new(V4l2Camera::new(camera_options(cfg).unwrap_or_default())),
        CameraConfig::Replay(c) => Box::new(ReplayCamera::new(replay_options(c))),
    };

    // 5. The face detector, on a thread of its own: the scene's twin for the
    // simulated camera (the real detector finds no face in a cartoon), else the
    // real one.
    let presence = match cfg.presence_params() {
        None => None,
        Some(_) => {
            let make: MakeDetector = match &cfg.camera {
                #[cfg(feature = "sim")]
                CameraConfig::Sim(_) => Box::new(|| {
                    Ok(Box::new(crate::presence::twin::SceneTwin) as Box<dyn FaceDetector>)
                }),
                _ => Box::new(|| Ok(Box::new(SeetaDetector::new()?) as Box<dyn FaceDetector>)),
            };
            Some(PresenceDevice {
                eyes: Eyes::spawn(make).map_err(DeviceError::Presence)?,
                camera_trigger: matches!(cfg.trigger, TriggerConfig::Camera),
            })
        }
    };

    let door_held_open_after = match &cfg.gpio {
        GpioConfig::Rppal(g) => g.door.as_ref().map(|d| d.held_open_after),
        GpioConfig::Cdev(g) => g.door.as_ref().map(|d| d.held_open_after),
        GpioConfig::Sim(_) => None,
    };
    Ok(Built {
        devices: Devices {
            camera,
            display,
            gate,
            fail,
            trigger: Box::new(Merged(triggers)),
            presence,
        },
        screen_tx,
        door_held_open_after,
        sim_relays,
        display: handle,
        reader,
    })
}

/// Several triggers feeding one daemon.
pub struct Merged(pub Vec<Box<dyn Trigger>>);

impl Trigger for Merged {
    fn spawn(
        self: Box<Self>,
        events: mpsc::Sender<TriggerEvent>,
        state: watch::Receiver<GateState>,
    ) -> tokio::task::JoinHandle<()> {
        let handles: Vec<_> = self
            .0
            .into_iter()
            .map(|t| t.spawn(events.clone(), state.clone()))
            .collect();
        drop(events);
        tokio::spawn(async move {
            // Aborting this task aborts every trigger; one that ends on its own (or
            // fails) does not take the others with it.
            let _guard = AbortAll(handles);
            std::future::pending::<()>().await
        })
    }
}

struct AbortAll(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortAll {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

/// The OLED, opened on first use and again after failures: a panel that is missing
/// at start (I2C disabled, unplugged) is retried instead of stopping the gate.
pub struct LazyOled {
    opts: OledOptions,
    panel: Option<Oled<rppal::i2c::I2c>>,
    next_try: std::time::Instant,
}

impl LazyOled {
    pub fn new(opts: OledOptions) -> Self {
        LazyOled {
            opts,
            panel: None,
            next_try: std::time::Instant::now(),
        }
    }
}

impl Display for LazyOled {
    fn show(&mut self, screen: &Screen) -> Result<(), DisplayError> {
        if self.panel.is_none() {
            let now = std::time::Instant::now();
            if now < self.next_try {
                return Err(DisplayError::Bus("the panel is not available".into()));
            }
            match Oled::open_bus(&self.opts) {
                Ok(p) => self.panel = Some(p),
                Err(e) => {
                    self.next_try = now + self.opts.reinit_interval;
                    warn!(error = %e, "cannot open the OLED; trying again later");
                    return Err(DisplayError::Bus(e.to_string()));
                }
            }
        }
        match self.panel.as_mut() {
            Some(p) => p.show(screen),
            None => Err(DisplayError::Bus("the panel is not available".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpio::fake::{fake, levels, Fake, Log};
    use crate::gpio::output::OutputOptions;

    fn lines(log: &Log, wiegand: bool) -> GpioLines<Fake> {
        let out = |n| OutputOptions {
            line: fake(n, log),
            active_low: false,
            pulse: Duration::from_secs(1),
        };
        let mut l = GpioLines {
            gate: out(5),
            fail: out(6),
            trigger: None,
            exit: None,
            door: None,
            wiegand: Default::default(),
        };
        if wiegand {
            l.wiegand.out_d0 = Some(fake(20, log));
            l.wiegand.out_d1 = Some(fake(21, log));
        }
        l
    }

    #[test]
    fn the_wiegand_lines_are_claimed_at_idle_and_let_go_at_idle() {
        for (inverted, idle) in [(false, "High"), (true, "Low")] {
            let log = Log::default();
            drop(claim_wiegand(&lines(&log, true), inverted).unwrap());
            // Claimed already at idle (never the other level), driven idle again
            // when let go.
            assert_eq!(
                levels(&log),
                [
                    format!("output 20 {idle}"),
                    format!("output 21 {idle}"),
                    format!("write 20 {idle}"),
                    format!("write 21 {idle}"),
                    "drop 20".to_owned(),
                    "drop 21".to_owned(),
                ],
                "inverted: {inverted}"
            );
        }
        let log = Log::default();
        assert!(matches!(
            claim_wiegand(&lines(&log, false), false),
            Err(DeviceError::Reader(_))
        ));
        assert!(levels(&log).is_empty(), "nothing claimed");
    }

    #[test]
    fn without_a_wiegand_output_safe_outputs_has_no_lines_to_rest() {
        let cfg = Config::default();
        assert!(!rest_wiegand_output(&cfg).unwrap());
    }
}

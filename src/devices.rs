//! From the configuration to the devices. Relays first, at their safe level, before
//! anything else is opened; then inputs and triggers, the display, the camera.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::warn;

#[cfg(feature = "sim")]
use crate::camera::sim::{SimCamera, Visitor};
use crate::camera::v4l2::{V4l2Camera, V4l2Options};
use crate::camera::FrameSource;
use crate::config::{CameraConfig, Config, DisplayConfig, GpioConfig, TriggerConfig};
use crate::ctl::{SocketOptions, SocketTrigger};
use crate::daemon::Devices;
use crate::display::sim::{SimDisplay, SimDisplayHandle};
use crate::display::ssd1306::{Oled, OledOptions};
use crate::display::{Display, DisplayError, Screen};
use crate::gpio::input::{spawn_inputs, GpioTrigger};
use crate::gpio::line::LineAddr;
use crate::gpio::output::claim_outputs;
use crate::gpio::sim::SimRelay;
use crate::gpio::{GpioError, GpioLines, Relay};
#[cfg(feature = "sim")]
use crate::trigger::{Cast, SimTrigger};
use crate::trigger::{GateState, Trigger, TriggerEvent};

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
}

/// The devices, and what the daemon needs beside them.
pub struct Built {
    pub devices: Devices,
    pub screen_tx: watch::Sender<Screen>,
    pub door_held_open_after: Option<Duration>,
    /// The simulated relays, when `[gpio] kind = "sim"`.
    pub sim_relays: Option<(SimRelay, SimRelay)>,
    pub display: Option<SimDisplayHandle>,
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
    // 1. Outputs, at their inactive level, before anything else.
    let (gate, fail, sim_relays) = claim_relays(cfg)?;

    // 2. Inputs and triggers.
    let (screen_tx, screen_rx) = watch::channel(Screen::Idle);
    #[cfg(feature = "sim")]
    let (visitor_tx, visitor_rx) = watch::channel::<Option<Visitor>>(None);
    #[cfg(feature = "sim")]
    let (cast, panel) = match sim {
        Some(Simulated { cast, panel }) => (cast, panel),
        None => {
            let performer = match &cfg.camera {
                CameraConfig::Sim(c) => c.performer,
                CameraConfig::V4l2(_) => crate::camera::Performer::Pass,
            };
            (Cast::All(performer), None)
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
                CameraConfig::V4l2(_) => Duration::from_millis(1500),
            };
            triggers.push(Box::new(SimTrigger {
                arrival: t.arrival,
                reaction,
                cast,
                visitor: visitor_tx,
            }));
        }
        // The inputs above already carry the trigger input.
        TriggerConfig::Gpio => {}
        TriggerConfig::Wiegand => {}
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
        },
        screen_tx,
        door_held_open_after,
        sim_relays,
        display: handle,
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

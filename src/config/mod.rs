//! Configuration: one TOML file that technicians edit.
//!
//! Loading keeps every key's position so that each problem is reported as
//! `FILE:LINE:COL: key: what is wrong; what is valid`, all problems at once.

mod checker;
mod checks;
#[macro_use]
mod decl;
mod key_file;
mod keys;
mod syntax;
#[cfg(test)]
mod tests;
mod wiring;
mod words;

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::DeTable;

pub use crate::camera::jpeg::FormatPreference;
pub use crate::camera::{LeftIs, Performer, SimCameraOptions};
pub use crate::display::sim::SimDisplayOptions;
pub use crate::display::ssd1306::{OledOptions, PanelSize};
pub use crate::gpio::line::{Bcm, ChipLine, Edge, LineSpec, Pull};
pub use crate::gpio::sim::SimGpioOptions;
use crate::gpio::GpioLines;
pub use crate::rotation::Rotation;
use crate::secret::ApiKey;
pub use crate::trigger::SimTriggerOptions;
pub use key_file::{CaError, KeyError, KeySource, CREDENTIAL_NAME, PACKAGED_KEY_PATH};
pub use keys::{
    ApiConfig, LogConfig, MetricsConfig, PresenceConfig, ReaderConfig, ReplayCameraConfig,
    SessionConfig, SocketTriggerConfig, V4l2CameraConfig, DEFAULT_BASE_URL,
    DEFAULT_FIRST_FRAME_AFTER,
};

use checker::Checker;
use decl::{Fields, Table};

/// The default location of the configuration file.
pub const DEFAULT_PATH: &str = "/etc/livegate/livegate.toml";
/// The whole configuration, typed and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file it was read from (for messages); `None` for built-in defaults.
    pub source: Option<PathBuf>,
    /// `[api]`: the liveness service.
    pub api: ApiConfig,
    /// `[session]`: timing of one check and anti-hammering.
    pub session: SessionConfig,
    /// `[camera]`.
    pub camera: CameraConfig,
    /// `[presence]`: the face detector in front of the service.
    pub presence: PresenceConfig,
    /// `[display]`.
    pub display: DisplayConfig,
    /// `[gpio]`: the relay outputs.
    pub gpio: GpioConfig,
    /// `[trigger]`: what starts a check.
    pub trigger: TriggerConfig,
    /// `[reader]`: the card reader's output to an access-control panel.
    pub reader: ReaderConfig,
    /// `[log]`.
    pub log: LogConfig,
    /// `[metrics]`: the Prometheus textfile for node_exporter.
    pub metrics: MetricsConfig,
}

impl Config {
    /// The core's limits of one session (`[api] mode` and `[session]`).
    pub fn session_params(&self) -> crate::session::Params {
        crate::session::Params {
            total_steps: self.api.mode,
            action_timeout: self.session.action_timeout,
            frame_interval: self.session.frame_interval,
            first_frame_after: self.session.first_frame_after,
            max_restarts: self.session.max_restarts,
            session_timeout: self.session.session_timeout,
            swap_sides: matches!(
                &self.camera,
                CameraConfig::V4l2(V4l2CameraConfig {
                    left_is: LeftIs::Image,
                    ..
                }) | CameraConfig::Replay(ReplayCameraConfig {
                    left_is: LeftIs::Image,
                    ..
                })
            ),
        }
    }
}

impl Config {
    /// The core's presence rules from `[presence]`; `None` when it is off.
    pub fn presence_params(&self) -> Option<crate::presence::Params> {
        self.presence.enabled.then(|| self.presence.rules())
    }
}

impl PresenceConfig {
    /// The core's presence rules from these keys, `enabled` or not (what
    /// `livegate test presence` judges a live look by).
    pub fn rules(&self) -> crate::presence::Params {
        crate::presence::Params {
            consecutive: self.consecutive,
            min_face_width: self.min_face,
            max_centre_offset: self.max_centre_offset,
            look_every: self.look_every,
            empty_to_leave: self.empty_to_leave,
        }
    }
}

impl Config {
    /// What the daemon's shell needs: the core's limits, the relays' pulses, what
    /// the sequence asks the API for, and the summary line.
    pub fn daemon_settings(&self) -> crate::daemon::Settings {
        crate::daemon::Settings {
            params: self.session_params(),
            limits: self.session.gate_limits(),
            verdict_screen: self.session.verdict_screen,
            gate_pulse: self.gpio.gate_pulse(),
            fail_pulse: self.gpio.fail_pulse(),
            mode: self.api.mode,
            part: self.api.part,
            select: self.api.select.clone(),
            presence: self.presence_params(),
            summary: self.summary(),
        }
    }

    /// A reloaded configuration as it applies to a daemon running with `running`:
    /// the devices keep the settings they were opened with (each change is logged:
    /// it takes effect after a restart); the rest applies from the next session on.
    pub fn reload_onto(mut self, running: &Config) -> Config {
        for (part, old, new) in [
            ("camera", running.camera.kind(), self.camera.kind()),
            ("display", running.display.kind(), self.display.kind()),
            ("gpio", running.gpio.kind(), self.gpio.kind()),
            ("trigger", running.trigger.kind(), self.trigger.kind()),
        ] {
            if old != new {
                // Logged as the daemon did before the reload path moved here.
                tracing::warn!(
                    target: "livegate::daemon",
                    part,
                    old,
                    new,
                    "device changes take effect after a restart"
                );
            }
        }
        if running.camera != self.camera
            || running.display != self.display
            || running.gpio != self.gpio
            || running.trigger != self.trigger
        {
            tracing::warn!(target: "livegate::daemon", "[camera], [display], [gpio] and [trigger] changes take effect after a restart (systemctl restart livegate)");
        }
        if running.presence.enabled != self.presence.enabled {
            tracing::warn!(target: "livegate::daemon", "[presence] enabled takes effect after a restart (systemctl restart livegate); its other keys apply now");
            self.presence.enabled = running.presence.enabled;
        }
        if running.reader != self.reader {
            tracing::warn!(target: "livegate::daemon", "[reader] changes take effect after a restart (systemctl restart livegate)");
        }
        self.reader = running.reader.clone();
        self.camera = running.camera.clone();
        self.display = running.display.clone();
        self.gpio = running.gpio.clone();
        self.trigger = running.trigger.clone();
        self
    }
}

impl SessionConfig {
    /// The core's limits between sessions: cooldown and lockout.
    pub fn gate_limits(&self) -> crate::gatekeeper::Limits {
        crate::gatekeeper::Limits {
            cooldown: self.cooldown,
            max_failures: self.max_failures,
            failure_window: self.failure_window,
            lockout: self.lockout,
        }
    }
}

/// `[camera]`, by `kind`.
#[derive(Clone, Debug, PartialEq)]
pub enum CameraConfig {
    /// `kind = "sim"`: a simulated camera and person.
    Sim(SimCameraOptions),
    /// `kind = "v4l2"`: a USB camera through Video4Linux2.
    V4l2(V4l2CameraConfig),
    /// `kind = "replay"`: a directory of recorded frames, played in a loop.
    Replay(ReplayCameraConfig),
}

/// `[display]`, by `kind`.
#[derive(Clone, Debug, PartialEq)]
pub enum DisplayConfig {
    /// `kind = "sim"`: a simulated panel.
    Sim(SimDisplayOptions),
    /// `kind = "ssd1306"`: an SSD1306 OLED panel on I2C.
    Ssd1306(OledOptions),
}

/// `[gpio]`, by `kind`.
// Built once per load: a chip line's path in each of five lines is no cost worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum GpioConfig {
    /// `kind = "sim"`: simulated relays.
    Sim(SimGpioOptions),
    /// `kind = "rppal"`: the Raspberry Pi's GPIO pins.
    Rppal(RppalGpioConfig),
    /// `kind = "cdev"`: lines of a GPIO character device (`/dev/gpiochipN`).
    Cdev(CdevGpioConfig),
}

/// `[gpio] kind = "cdev"`: relays and inputs on the lines of a GPIO chip, through the
/// kernel's character device (any board, including the Raspberry Pi 5). Each line
/// carries the table's `chip` (a named line is found on any chip).
pub type CdevGpioConfig = GpioLines<ChipLine>;

/// `[gpio] kind = "rppal"`: relays and inputs on the Raspberry Pi's GPIO pins.
pub type RppalGpioConfig = GpioLines<Bcm>;

/// `[trigger]`, by `kind`.
#[derive(Clone, Debug, PartialEq)]
pub enum TriggerConfig {
    /// `kind = "sim"`: simulated arrivals.
    Sim(SimTriggerOptions),
    /// `kind = "gpio"`: the input `[gpio] trigger_pin` (a presence sensor or start button).
    Gpio,
    /// `kind = "socket"`: `livegate ctl start|status|cancel` on a local Unix socket.
    Socket(SocketTriggerConfig),
    /// `kind = "wiegand"`: a card reader on `[gpio]`'s `wiegand_in_*` lines; a good
    /// card starts a session.
    Wiegand,
    /// `kind = "camera"`: a face that stays in view, centred and large enough,
    /// starts a session (`[presence]`, which must be enabled).
    Camera,
}

/// One problem found in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file, as named to [`Config::parse`].
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The dotted key, e.g. `session.action_timeout`.
    pub key: String,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.key, self.message
        )
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (missing, no permission, not UTF-8).
    #[error("{path}: cannot read: {source}{}", permission_advice(source))]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// Every problem in the file, in file order.
    #[error("{}", .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

use key_file::permission_advice;

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = crate::safefile::read_text(path, crate::safefile::MAX_CONFIG_BYTES).map_err(
            |source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            },
        )?;
        let mut cfg = Self::parse(&text, &path.display().to_string())?;
        cfg.source = Some(path.to_owned());
        Ok(cfg)
    }

    /// Validates TOML text; `file` names it in messages.
    ///
    /// Collects every problem in the file (syntax, unknown keys and tables, wrong types,
    /// out-of-range values, rules between keys) and returns them sorted by position.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let (cfg, checked) = Self::parse_partial(text, file);
        checked.map(|()| cfg)
    }

    /// [`Config::parse`], with the configuration built even when the text has
    /// problems (each bad key at its default): for a look at one part of a broken
    /// file, never to run with.
    pub fn parse_partial(text: &str, file: &str) -> (Config, Result<(), ConfigError>) {
        let mut ck = Checker::new(text, file);
        let (clean, errors) = ck.syntax_errors();
        for e in &errors {
            ck.syntax(e);
        }
        ck.quiet_broken_tables();
        let (root, _) = DeTable::parse_recoverable(&clean);
        let tables = ck.top_level(root.get_ref());
        let get = |name: &str| tables.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);

        let plain =
            |ck: &mut Checker, p: &keys::Plain| ck.check_table(p.table, get(p.table), p.keys);
        let api = plain(&mut ck, &keys::API);
        let session = plain(&mut ck, &keys::SESSION);
        let log = plain(&mut ck, &keys::LOG);
        let metrics = plain(&mut ck, &keys::METRICS);
        let reader = plain(&mut ck, &keys::READER);
        let presence = plain(&mut ck, &keys::PRESENCE);
        let (camera, camera_keys) = ck.check_device(&keys::CAMERA, get(keys::CAMERA.table));
        let (display, display_keys) = ck.check_device(&keys::DISPLAY, get(keys::DISPLAY.table));
        let (gpio, gpio_keys) = ck.check_device(&keys::GPIO, get(keys::GPIO.table));
        let (trigger, trigger_keys) = ck.check_device(&keys::TRIGGER, get(keys::TRIGGER.table));

        let mut session_config = SessionConfig::build(&session);
        if session.get(keys::session::first_frame_after).is_none() {
            // Unset, it leaves at least half of a short action timeout for frames.
            session_config.first_frame_after = session_config
                .first_frame_after
                .min(session_config.action_timeout / 2);
        }
        let cfg = Config {
            source: None,
            api: ApiConfig::build(&api),
            session: session_config,
            camera,
            presence: PresenceConfig::build(&presence),
            display,
            gpio,
            trigger,
            reader: ReaderConfig::build(&reader),
            log: LogConfig::build(&log),
            metrics: MetricsConfig::build(&metrics),
        };
        // Rules between keys only make sense on a file that parsed completely: a key
        // lost to a syntax error would be replaced by its default.
        if errors.is_empty() {
            ck.cross_checks(&cfg, &api, &session);
            ck.hardware_checks(&cfg, &display_keys, &gpio_keys, &trigger_keys);
            ck.reader_checks(&cfg, &reader, &gpio_keys, &trigger_keys);
            ck.replay_checks(&cfg, &camera_keys);
            ck.presence_checks(&cfg, &presence, &trigger_keys);
        }
        let checked = ck.finish();
        (cfg, checked)
    }

    /// The API client's options from `[api]`, without the key and the extra CA (read
    /// from files by [`Config::read_key`] and [`Config::read_ca`]): for `run`, the
    /// commissioning test and `simulate` alike.
    pub fn client_options(&self) -> crate::api::ClientOptions {
        crate::api::ClientOptions {
            base_url: self.api.base_url.clone(),
            key: ApiKey::new(""),
            request_timeout: self.api.request_timeout,
            connect_timeout: self.api.connect_timeout,
            retries: self.api.retries,
            retry_base: Duration::from_millis(250),
            extra_ca_pem: Vec::new(),
            only_extra_ca: false,
            allow_insecure_http: self.api.allow_insecure_http,
        }
    }

    /// A one-line summary for `check-config` (the metrics file only when one is set).
    pub fn summary(&self) -> String {
        let mut metrics = match &self.metrics.textfile {
            Some(p) => format!(", metrics {}", p.display()),
            None => String::new(),
        };
        if self.reader.output != "none" {
            metrics = format!(", reader {}{metrics}", self.reader.output);
        }
        if !self.presence.enabled {
            // On is the default: only a gate without its face detector is told.
            metrics = format!(", presence off{metrics}");
        }
        format!(
            "api {} (mode {}), action timeout {:?}, camera {}, display {}, gpio {}, trigger {}{}",
            crate::secret::show_url(&self.api.base_url, None),
            self.api.mode,
            self.session.action_timeout,
            self.camera.kind(),
            self.display.kind(),
            self.gpio.kind(),
            self.trigger.kind(),
            metrics
        )
    }
}

impl CameraConfig {
    /// The `kind` word of this table.
    pub fn kind(&self) -> &'static str {
        match self {
            CameraConfig::Sim(_) => "sim",
            CameraConfig::V4l2(_) => "v4l2",
            CameraConfig::Replay(_) => "replay",
        }
    }
}
impl DisplayConfig {
    /// The `kind` word of this table.
    pub fn kind(&self) -> &'static str {
        match self {
            DisplayConfig::Sim(_) => "sim",
            DisplayConfig::Ssd1306(_) => "ssd1306",
        }
    }
}
impl GpioConfig {
    /// The `kind` word of this table.
    pub fn kind(&self) -> &'static str {
        match self {
            GpioConfig::Sim(_) => "sim",
            GpioConfig::Rppal(_) => "rppal",
            GpioConfig::Cdev(_) => "cdev",
        }
    }
}
impl TriggerConfig {
    /// The `kind` word of this table.
    pub fn kind(&self) -> &'static str {
        match self {
            TriggerConfig::Sim(_) => "sim",
            TriggerConfig::Gpio => "gpio",
            TriggerConfig::Socket(_) => "socket",
            TriggerConfig::Wiegand => "wiegand",
            TriggerConfig::Camera => "camera",
        }
    }
}

impl GpioConfig {
    /// How long the gate relay is energised for a pass.
    pub fn gate_pulse(&self) -> Duration {
        match self {
            GpioConfig::Sim(g) => g.gate_pulse,
            GpioConfig::Rppal(g) => g.gate.pulse,
            GpioConfig::Cdev(g) => g.gate.pulse,
        }
    }

    /// How long the fail output is energised for a denial or an alarm.
    pub fn fail_pulse(&self) -> Duration {
        match self {
            GpioConfig::Sim(g) => g.fail_pulse,
            GpioConfig::Rppal(g) => g.fail.pulse,
            GpioConfig::Cdev(g) => g.fail.pulse,
        }
    }
}

impl Config {
    /// The same configuration with every device replaced by its simulated twin
    /// (defaults where the device was hardware): what `livegate simulate` runs.
    pub fn simulated(&self) -> Config {
        let d = Config::default();
        let mut c = self.clone();
        // A replay camera stays: recorded frames work in a simulation too.
        if !matches!(c.camera, CameraConfig::Sim(_) | CameraConfig::Replay(_)) {
            c.camera = d.camera;
        }
        if !matches!(c.display, DisplayConfig::Sim(_)) {
            c.display = d.display;
        }
        if !matches!(c.gpio, GpioConfig::Sim(_)) {
            c.gpio = GpioConfig::Sim(SimGpioOptions {
                gate_pulse: c.gpio.gate_pulse(),
                fail_pulse: c.gpio.fail_pulse(),
                state_file: None,
            });
        }
        // The camera trigger stays: simulated visitors walk up to the simulated
        // camera (with a replay camera, the recording's people do).
        if !matches!(c.trigger, TriggerConfig::Sim(_) | TriggerConfig::Camera) {
            c.trigger = d.trigger;
        }
        c
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: None,
            api: ApiConfig::defaults(),
            session: SessionConfig::defaults(),
            camera: CameraConfig::Sim(SimCameraOptions::defaults()),
            presence: PresenceConfig::defaults(),
            display: DisplayConfig::Sim(SimDisplayOptions::defaults()),
            gpio: GpioConfig::Sim(SimGpioOptions::defaults()),
            trigger: TriggerConfig::Sim(SimTriggerOptions::defaults()),
            reader: ReaderConfig::defaults(),
            log: LogConfig::defaults(),
            metrics: MetricsConfig::defaults(),
        }
    }
}

/// The defaults of `[gpio] kind = "rppal"`: BCM 17 and 27, no inputs.
impl Default for RppalGpioConfig {
    fn default() -> Self {
        keys::rppal_lines(&Fields::default())
    }
}

/// The defaults of `[gpio] kind = "cdev"`: offsets 17 and 27 of gpiochip0 (BCM 17
/// and 27 on a Pi up to the 4), no inputs.
impl Default for CdevGpioConfig {
    fn default() -> Self {
        keys::cdev_lines(&Fields::default())
    }
}

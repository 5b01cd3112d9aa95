//! Configuration: one TOML file that technicians edit.
//!
//! Loading keeps every key's position so that each problem is reported as
//! `FILE:LINE:COL: key: what is wrong; what is valid`, all problems at once.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::actions::Part;
pub use crate::camera::jpeg::FormatPreference;
pub use crate::camera::{LeftIs, Performer, SimCameraOptions};
pub use crate::display::sim::SimDisplayOptions;
pub use crate::display::ssd1306::{OledOptions, PanelSize};
use crate::gpio::header;
use crate::gpio::input::{DoorOptions, InputOptions};
pub use crate::gpio::line::{Bcm, ChipLine, Edge, LineSpec, Pull};
use crate::gpio::line::{LineSpecError, DEFAULT_CHIP, MAX_OFFSET};
use crate::gpio::output::OutputOptions;
pub use crate::gpio::sim::SimGpioOptions;
use crate::gpio::GpioLines;
pub use crate::rotation::Rotation;
use crate::secret::ApiKey;
pub use crate::trigger::SimTriggerOptions;

/// The default location of the configuration file.
pub const DEFAULT_PATH: &str = "/etc/livegate/livegate.toml";
/// The vendor's endpoint.
pub const DEFAULT_BASE_URL: &str = "https://apis.aigen.online/aiface/liveness-detection/v1";
/// The systemd credential name holding the API key.
pub const CREDENTIAL_NAME: &str = "aigen-key";

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
    /// `[display]`.
    pub display: DisplayConfig,
    /// `[gpio]`: the relay outputs.
    pub gpio: GpioConfig,
    /// `[trigger]`: what starts a check.
    pub trigger: TriggerConfig,
    /// `[log]`.
    pub log: LogConfig,
    /// `[metrics]`: the Prometheus textfile for node_exporter.
    pub metrics: MetricsConfig,
}

/// `[api]`: where and how the liveness service is called.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiConfig {
    /// The service address: `https://`, or `http://` only with `allow_insecure_http`.
    pub base_url: String,
    /// Where the key is read from: a file path; when `None`, the systemd credential
    /// `aigen-key` in `$CREDENTIALS_DIRECTORY`.
    pub key_file: Option<PathBuf>,
    /// Number of actions in a sequence (the API's `mode`), 1..=10.
    pub mode: u8,
    /// Draw actions from this body part only; `None` for both.
    pub part: Option<Part>,
    /// The actions to draw from (`select=`), empty for all.
    pub select: Vec<String>,
    /// Whole-request timeout, 1 s..=60 s.
    pub request_timeout: Duration,
    /// Connect timeout, 1 s..=30 s.
    pub connect_timeout: Duration,
    /// Retries for network errors and 5xx, 0..=5.
    pub retries: u8,
    /// A PEM file with extra CA certificates to trust (a TLS-inspecting proxy, a test server).
    pub ca_file: Option<PathBuf>,
    /// Accept a plain `http://` base URL (tests only).
    pub allow_insecure_http: bool,
}

/// The default of `session.first_frame_after`: the vendor's sample client waits
/// about 5 s after a `Yes` (a new action) before its next frame.
pub const DEFAULT_FIRST_FRAME_AFTER: Duration = Duration::from_secs(5);

/// `[session]`: timing of one check, and the limit on repeated failures.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionConfig {
    /// Time the person has for each action (default 10 s).
    pub action_timeout: Duration,
    /// Time between two frames posted for one action (default 1 s).
    pub frame_interval: Duration,
    /// Time a person gets to read and do a new action before its first frame is
    /// posted (default 5 s, as the vendor's sample waits after a `Yes`; unset, at
    /// most half the action timeout).
    pub first_frame_after: Duration,
    /// How many times a session may ask for new actions (`restart_id`) after an action
    /// timed out, 0..=2 (the API expires a request after 3 failures).
    pub max_restarts: u8,
    /// Whole-session limit (default 60 s).
    pub session_timeout: Duration,
    /// Pause after a session before the next may start (default 3 s).
    pub cooldown: Duration,
    /// How long the verdict screen stays up (default 3 s).
    pub verdict_screen: Duration,
    /// Anti-hammering: at most `max_failures` failed sessions within `failure_window`…
    pub max_failures: u32,
    /// The window in which failures are counted.
    pub failure_window: Duration,
    /// …then no session starts for `lockout`.
    pub lockout: Duration,
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
                CameraConfig::V4l2(c) if c.left_is == LeftIs::Image
            ),
        }
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
}

/// `[camera] kind = "v4l2"`: a USB camera.
#[derive(Clone, Debug, PartialEq)]
pub struct V4l2CameraConfig {
    /// The device: `/dev/videoN`, or a stable `/dev/v4l/by-id/…` name.
    pub device: PathBuf,
    /// Requested frame width in pixels, 160..=1920 (the driver may grant another).
    pub width: u32,
    /// Requested frame height in pixels, 120..=1080.
    pub height: u32,
    /// Requested frames per second, 1..=30.
    pub fps: u32,
    /// Which pixel format to ask the camera for.
    pub format: FormatPreference,
    /// JPEG quality when frames are encoded here (not for MJPEG passed through), 30..=95.
    pub jpeg_quality: u8,
    /// Frames dropped after the stream starts (auto-exposure settling), 0..=60.
    pub warmup_frames: u32,
    /// The camera's picture is mirrored (a selfie view): flip it back before it is sent.
    pub mirror: bool,
    /// Rotate the picture clockwise by this much before it is sent (a camera mounted sideways).
    pub rotation: Rotation,
    /// Whose left a "left" action means.
    pub left_is: LeftIs,
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
}

/// `[trigger] kind = "socket"`: a local Unix socket for kiosk software.
#[derive(Clone, Debug, PartialEq)]
pub struct SocketTriggerConfig {
    /// Where the socket is created (an absolute path).
    pub path: PathBuf,
    /// The group whose members may use the socket.
    pub group: String,
    /// The socket's permission bits, 0o600..=0o660 with none for other users.
    pub mode: u32,
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug` or `trace`; `RUST_LOG` overrides.
    pub level: String,
}

/// `[metrics]`: counters written for node_exporter's textfile collector.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricsConfig {
    /// The `.prom` file to write (an absolute path); `None`: no metrics are written.
    pub textfile: Option<PathBuf>,
    /// How often the file is rewritten besides after each session, 5 s..=10 min.
    pub interval: Duration,
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

/// Why the API key could not be read (never contains the key).
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file or credential could not be read. (`cause` is shown in the
    /// message and deliberately not a `source`, so error chains print it once.)
    #[error(
        "cannot read the API key from {path}: {cause}{}",
        permission_advice(cause)
    )]
    Read { path: String, cause: std::io::Error },
    /// The key file holds only white space.
    #[error("the API key in {path} is empty")]
    Empty { path: String },
    /// The key file can be read (or written) by other users.
    #[error(
        "the API key file {path} is open to other users (mode {mode:04o}): run \
         `chmod o-rwx {path}` (or `chmod 600 {path}`) and keep it owned by root or the \
         service's user"
    )]
    OpenToOthers { path: String, mode: u32 },
    /// The key file holds more than one line.
    #[error(
        "the API key file {path} holds more than one line: put only the key in it, on one line"
    )]
    Lines { path: String },
    /// None of `api.key_file`, the systemd credential or the key beside the
    /// configuration is there.
    #[error(
        "no API key: put it in {PACKAGED_KEY_PATH} (beside the configuration), set \
         api.key_file, or run under systemd with LoadCredential={CREDENTIAL_NAME}:…"
    )]
    Missing,
}

/// Where the packaged service's key lives: beside `/etc/livegate/livegate.toml`, and
/// handed to the service as the systemd credential [`CREDENTIAL_NAME`].
pub const PACKAGED_KEY_PATH: &str = "/etc/livegate/aigen-key";

/// What to do about a file the user may not read: the packaged files are for root
/// and the service's group.
fn permission_advice(e: &std::io::Error) -> &'static str {
    if e.kind() == std::io::ErrorKind::PermissionDenied {
        " (the service's files are for root and the livegate group: run the command \
         with sudo, e.g. `sudo livegate check-config`, or join the group with `sudo \
         adduser $USER livegate` and log in again; the API key itself is for root only)"
    } else {
        ""
    }
}

/// Where the API key was found, in words (never the key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `api.key_file`.
    KeyFile(PathBuf),
    /// The systemd credential, in `$CREDENTIALS_DIRECTORY`.
    Credential(PathBuf),
    /// The file `aigen-key` beside the configuration (the packaged place).
    BesideConfig(PathBuf),
}

impl KeySource {
    pub fn path(&self) -> &Path {
        match self {
            KeySource::KeyFile(p) | KeySource::Credential(p) | KeySource::BesideConfig(p) => p,
        }
    }
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::KeyFile(p) => write!(f, "{} (api.key_file)", p.display()),
            KeySource::Credential(_) => {
                write!(f, "the systemd credential {CREDENTIAL_NAME}")
            }
            KeySource::BesideConfig(p) => {
                write!(f, "{} (beside the configuration)", p.display())
            }
        }
    }
}

/// Why `api.ca_file` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("cannot read the CA file {path}: {cause}{}", permission_advice(cause))]
    Read { path: String, cause: std::io::Error },
    #[error("the CA file {path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")]
    NotPem { path: String },
}

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

        let api = ck.check_table("api", get("api"), API_KEYS);
        let session = ck.check_table("session", get("session"), SESSION_KEYS);
        let log = ck.check_table("log", get("log"), LOG_KEYS);
        let metrics = ck.check_table("metrics", get("metrics"), METRICS_KEYS);
        let (camera, _) = ck.check_device(&CAMERA, get("camera"));
        let (display, display_keys) = ck.check_device(&DISPLAY, get("display"));
        let (gpio, gpio_keys) = ck.check_device(&GPIO, get("gpio"));
        let (trigger, trigger_keys) = ck.check_device(&TRIGGER, get("trigger"));

        let defaults = Config::default();
        let cfg = Config {
            source: None,
            api: build_api(&api, defaults.api),
            session: build_session(&session, defaults.session),
            camera,
            display,
            gpio,
            trigger,
            log: LogConfig {
                level: log.text("level").unwrap_or(defaults.log.level),
            },
            metrics: build_metrics(&metrics, defaults.metrics),
        };
        // Rules between keys only make sense on a file that parsed completely: a key
        // lost to a syntax error would be replaced by its default.
        if errors.is_empty() {
            ck.cross_checks(&cfg, &api, &session);
            ck.hardware_checks(&cfg, &display_keys, &gpio_keys, &trigger_keys);
        }
        let checked = ck.finish();
        (cfg, checked)
    }

    /// Where the API key is looked for, as the service finds it: `api.key_file`
    /// when set, else the systemd credential (under systemd), else `aigen-key` beside
    /// the configuration file (`/etc/livegate/aigen-key` for the packaged one), when
    /// it is there. `None` when none is.
    pub fn key_source(&self) -> Option<KeySource> {
        if let Some(p) = &self.api.key_file {
            return Some(KeySource::KeyFile(p.clone()));
        }
        if let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY") {
            return Some(KeySource::Credential(Path::new(&dir).join(CREDENTIAL_NAME)));
        }
        let beside = self.source.as_deref()?.parent()?.join(CREDENTIAL_NAME);
        // A folder the user may not look into still holds it: reading says so.
        match std::fs::symlink_metadata(&beside) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            _ => Some(KeySource::BesideConfig(beside)),
        }
    }

    /// Reads the API key from [`Config::key_source`].
    pub fn read_key(&self) -> Result<ApiKey, KeyError> {
        self.read_key_with_source().map(|(key, _)| key)
    }

    /// Reads the API key, and says where it was found.
    ///
    /// A key file must be a regular file (never a FIFO or a directory), UTF-8, one
    /// line, and closed to other users (like ssh's private keys); the credential is
    /// taken as systemd hands it over (its folder is the service's alone).
    pub fn read_key_with_source(&self) -> Result<(ApiKey, KeySource), KeyError> {
        let source = self.key_source().ok_or(KeyError::Missing)?;
        let path = source.path().to_owned();
        let is_credential = matches!(source, KeySource::Credential(_));
        let shown = path.display().to_string();
        let read_err = |cause| KeyError::Read {
            path: shown.clone(),
            cause,
        };
        let raw =
            crate::safefile::read_text(&path, crate::safefile::MAX_KEY_BYTES).map_err(read_err)?;
        if !is_credential {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .map_err(read_err)?
                .permissions()
                .mode()
                & 0o7777;
            if mode & 0o007 != 0 {
                return Err(KeyError::OpenToOthers { path: shown, mode });
            }
        }
        let key = ApiKey::new(raw);
        if key.is_empty() {
            return Err(KeyError::Empty { path: shown });
        }
        if key.expose().contains(['\n', '\r']) {
            return Err(KeyError::Lines { path: shown });
        }
        Ok((key, source))
    }

    /// Reads `api.ca_file`, when set, as `run` does: a regular file holding at least
    /// one PEM certificate.
    pub fn read_ca(&self) -> Result<Option<Vec<u8>>, CaError> {
        let Some(path) = &self.api.ca_file else {
            return Ok(None);
        };
        let shown = path.display().to_string();
        let pem = crate::safefile::read_regular(path, crate::safefile::MAX_CA_BYTES).map_err(
            |cause| CaError::Read {
                path: shown.clone(),
                cause,
            },
        )?;
        let text = String::from_utf8_lossy(&pem);
        if !text.contains("-----BEGIN CERTIFICATE-----") {
            return Err(CaError::NotPem { path: shown });
        }
        Ok(Some(pem))
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
        let metrics = match &self.metrics.textfile {
            Some(p) => format!(", metrics {}", p.display()),
            None => String::new(),
        };
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
        if !matches!(c.camera, CameraConfig::Sim(_)) {
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
        if !matches!(c.trigger, TriggerConfig::Sim(_)) {
            c.trigger = d.trigger;
        }
        c
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: None,
            api: ApiConfig {
                base_url: DEFAULT_BASE_URL.to_owned(),
                key_file: None,
                mode: 3,
                part: None,
                select: Vec::new(),
                request_timeout: Duration::from_secs(8),
                connect_timeout: Duration::from_secs(4),
                retries: 2,
                ca_file: None,
                allow_insecure_http: false,
            },
            session: SessionConfig {
                action_timeout: Duration::from_secs(10),
                frame_interval: Duration::from_secs(1),
                first_frame_after: DEFAULT_FIRST_FRAME_AFTER,
                max_restarts: 1,
                session_timeout: Duration::from_secs(60),
                cooldown: Duration::from_secs(3),
                verdict_screen: Duration::from_secs(3),
                max_failures: 5,
                failure_window: Duration::from_secs(180),
                lockout: Duration::from_secs(300),
            },
            camera: CameraConfig::Sim(default_sim_camera()),
            display: DisplayConfig::Sim(default_sim_display()),
            gpio: GpioConfig::Sim(default_sim_gpio()),
            trigger: TriggerConfig::Sim(default_sim_trigger()),
            log: LogConfig {
                level: "info".to_owned(),
            },
            metrics: MetricsConfig {
                textfile: None,
                interval: Duration::from_secs(15),
            },
        }
    }
}

/// The defaults of `[camera] kind = "sim"`.
fn default_sim_camera() -> SimCameraOptions {
    SimCameraOptions {
        performer: Performer::Pass,
        reaction: Duration::from_millis(1500),
        fps: 10,
        width: 640,
        height: 480,
        jpeg_quality: 80,
    }
}

/// The defaults of `[display] kind = "sim"`.
fn default_sim_display() -> SimDisplayOptions {
    SimDisplayOptions {
        terminal: true,
        png_dir: None,
    }
}

/// The defaults of `[gpio] kind = "sim"`.
fn default_sim_gpio() -> SimGpioOptions {
    SimGpioOptions {
        gate_pulse: Duration::from_millis(1000),
        fail_pulse: Duration::from_millis(500),
        state_file: None,
    }
}

/// The defaults of `[trigger] kind = "sim"`.
fn default_sim_trigger() -> SimTriggerOptions {
    SimTriggerOptions {
        arrival: Duration::from_secs(2),
    }
}

/// The defaults of `[camera] kind = "v4l2"`.
impl Default for V4l2CameraConfig {
    fn default() -> Self {
        V4l2CameraConfig {
            device: PathBuf::from("/dev/video0"),
            width: 640,
            height: 480,
            fps: 10,
            format: FormatPreference::Auto,
            jpeg_quality: 80,
            warmup_frames: 5,
            mirror: false,
            rotation: Rotation::R0,
            left_is: LeftIs::Person,
        }
    }
}

/// The defaults of `[display] kind = "ssd1306"` (the file's: full contrast, where
/// the adapter alone starts dimmer).
fn default_oled() -> OledOptions {
    {
        OledOptions {
            bus: 1,
            address: 0x3C,
            size: PanelSize::W128xH64,
            rotation: Rotation::R0,
            contrast: 255,
            reinit_interval: Duration::from_secs(30),
        }
    }
}

/// The defaults of `[gpio]` with real lines: the gate relay on `gate`, the fail
/// output on `fail`, both active-low, no inputs.
fn default_lines<A>(gate: A, fail: A) -> GpioLines<A> {
    let out = |line, pulse| OutputOptions {
        line,
        active_low: true,
        pulse,
    };
    GpioLines {
        gate: out(gate, Duration::from_millis(1000)),
        fail: out(fail, Duration::from_millis(500)),
        trigger: None,
        exit: None,
        door: None,
    }
}

/// The defaults of `[gpio] kind = "rppal"`: BCM 17 and 27, no inputs.
impl Default for RppalGpioConfig {
    fn default() -> Self {
        default_lines(Bcm(17), Bcm(27))
    }
}

/// The defaults of `[gpio] kind = "cdev"` on `chip`: offsets 17 and 27 (BCM 17 and
/// 27 on a Pi up to the 4), no inputs.
fn default_cdev_gpio(chip: &Path) -> CdevGpioConfig {
    let line = |o| ChipLine::new(chip, LineSpec::Offset(o));
    default_lines(line(17), line(27))
}

/// The defaults of `[gpio] kind = "cdev"`: gpiochip0.
impl Default for CdevGpioConfig {
    fn default() -> Self {
        default_cdev_gpio(Path::new(DEFAULT_CHIP))
    }
}

/// The defaults of `[trigger] kind = "socket"`.
impl Default for SocketTriggerConfig {
    fn default() -> Self {
        SocketTriggerConfig {
            path: PathBuf::from("/run/livegate/ctl.sock"),
            group: "livegate".to_owned(),
            mode: 0o660,
        }
    }
}

// ---------------------------------------------------------------------------
// Schema: which keys each table accepts and what their values must be.

/// A byte range in the configuration text.
type Span = Range<usize>;

/// What a key's value must be.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// A whole number in `min..=max`.
    Int { min: i64, max: i64 },
    /// A duration written as text (`"10s"`), in `min..=max`.
    Dur { min: Duration, max: Duration },
    /// `true` or `false`.
    Bool,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// An `http://` or `https://` address.
    Url,
    /// A file or folder path; `absolute` when it must start with `/`.
    Path { absolute: bool },
    /// A list of distinct action names from [`crate::actions::ALL`].
    Actions,
    /// A whole number from a short list; `hex` when messages show it in hexadecimal.
    Ints { values: &'static [i64], hex: bool },
    /// A BCM GPIO number, 0..=27.
    Pin,
    /// A GPIO chip line: an offset 0..=511 or a line name in quotes.
    Line,
    /// A video device: an absolute path under `/dev/`.
    Device,
    /// Unix permission bits for the control socket: 0o600..=0o660, none for others.
    Mode,
    /// A Unix group name.
    Group,
    /// A file for node_exporter's textfile collector: an absolute path ending in `.prom`.
    PromFile,
}

/// One key of a table and the rule for its value.
#[derive(Clone, Copy, Debug)]
struct Key {
    name: &'static str,
    rule: Rule,
}

const fn key(name: &'static str, rule: Rule) -> Key {
    Key { name, rule }
}

const fn int(min: i64, max: i64) -> Rule {
    Rule::Int { min, max }
}

/// A duration rule with bounds in milliseconds.
const fn dur_ms(min: u64, max: u64) -> Rule {
    Rule::Dur {
        min: Duration::from_millis(min),
        max: Duration::from_millis(max),
    }
}

const SEC: u64 = 1000;
const MINUTE: u64 = 60 * SEC;
const HOUR: u64 = 60 * MINUTE;

const PARTS: &[&str] = &["face", "hand"];
const PERFORMERS: &[&str] = &["pass", "fail", "spoof", "slow", "absent"];
const LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];
const DOOR_LEVELS: &[&str] = &["high", "low"];
const ROTATIONS: Rule = Rule::Ints {
    values: &[0, 90, 180, 270],
    hex: false,
};
const OLED_ADDRESSES: Rule = Rule::Ints {
    values: &[0x3C, 0x3D],
    hex: true,
};
/// Highest BCM GPIO number on the 40-pin header.
const MAX_BCM: i64 = header::MAX_BCM as i64;
/// Permission bits the control socket may have: owner read/write, at most read/write for
/// its group, nothing for others.
const MODE_MIN: i64 = 0o600;
const MODE_MAX: i64 = 0o660;

const API_KEYS: &[Key] = &[
    key("base_url", Rule::Url),
    key("key_file", Rule::Path { absolute: true }),
    key("mode", int(1, 10)),
    key("part", Rule::Choice(PARTS)),
    key("select", Rule::Actions),
    key("request_timeout", dur_ms(SEC, 60 * SEC)),
    key("connect_timeout", dur_ms(SEC, 30 * SEC)),
    key("retries", int(0, 5)),
    key("ca_file", Rule::Path { absolute: true }),
    key("allow_insecure_http", Rule::Bool),
];

const SESSION_KEYS: &[Key] = &[
    key("action_timeout", dur_ms(3 * SEC, 60 * SEC)),
    key("frame_interval", dur_ms(200, 5 * SEC)),
    key("first_frame_after", dur_ms(0, 30 * SEC)),
    key("max_restarts", int(0, 2)),
    key("session_timeout", dur_ms(10 * SEC, 10 * MINUTE)),
    key("cooldown", dur_ms(0, 60 * SEC)),
    key("verdict_screen", dur_ms(SEC, 30 * SEC)),
    key("max_failures", int(1, 100)),
    key("failure_window", dur_ms(10 * SEC, 24 * HOUR)),
    key("lockout", dur_ms(0, 24 * HOUR)),
];

const LOG_KEYS: &[Key] = &[key("level", Rule::Choice(LEVELS))];

const METRICS_KEYS: &[Key] = &[
    key("textfile", Rule::PromFile),
    key("interval", dur_ms(5 * SEC, 10 * MINUTE)),
];

/// The simulated kind of every device table; its devices come with the `sim` feature.
const SIM_KIND: &str = "sim";

/// One kind of a device table (`[camera] kind = "sim"`): its own keys (besides `kind`)
/// and how to build the typed configuration from their checked values.
struct Kind<T: 'static> {
    name: &'static str,
    keys: &'static [Key],
    build: fn(&Fields) -> T,
}

/// A device table whose keys depend on its `kind`; the first kind is the default.
///
/// Adding a kind (say `v4l2`) is one more [`Kind`] entry with its keys and builder.
struct Device<T: 'static> {
    table: &'static str,
    kinds: &'static [Kind<T>],
}

const CAMERA: Device<CameraConfig> = Device {
    table: "camera",
    kinds: &[
        Kind {
            name: "sim",
            keys: &[
                key("performer", Rule::Choice(PERFORMERS)),
                key("reaction", dur_ms(0, 30 * SEC)),
                key("fps", int(1, 30)),
                key("width", int(160, 1920)),
                key("height", int(120, 1080)),
                key("jpeg_quality", int(30, 95)),
            ],
            build: build_sim_camera,
        },
        Kind {
            name: "v4l2",
            keys: &[
                key("device", Rule::Device),
                key("width", int(160, 1920)),
                key("height", int(120, 1080)),
                key("fps", int(1, 30)),
                key("format", Rule::Choice(FormatPreference::WORDS)),
                key("jpeg_quality", int(30, 95)),
                key("warmup_frames", int(0, 60)),
                key("mirror", Rule::Bool),
                key("rotation", ROTATIONS),
                key("left_is", Rule::Choice(LeftIs::WORDS)),
            ],
            build: build_v4l2_camera,
        },
    ],
};

const DISPLAY: Device<DisplayConfig> = Device {
    table: "display",
    kinds: &[
        Kind {
            name: "sim",
            keys: &[
                key("terminal", Rule::Bool),
                key("png_dir", Rule::Path { absolute: false }),
            ],
            build: build_sim_display,
        },
        Kind {
            name: "ssd1306",
            keys: &[
                key("bus", int(0, 22)),
                key("address", OLED_ADDRESSES),
                key("size", Rule::Choice(PanelSize::WORDS)),
                key("rotation", ROTATIONS),
                key("contrast", int(0, 255)),
                key("reinit_interval", dur_ms(SEC, 10 * MINUTE)),
            ],
            build: build_oled_display,
        },
    ],
};

const GPIO: Device<GpioConfig> = Device {
    table: "gpio",
    kinds: &[
        Kind {
            name: "sim",
            keys: &[
                key("gate_pulse", dur_ms(100, 10 * SEC)),
                key("fail_pulse", dur_ms(100, 10 * SEC)),
                key("state_file", Rule::Path { absolute: true }),
            ],
            build: build_sim_gpio,
        },
        Kind {
            name: "rppal",
            keys: &[
                key("gate_pin", Rule::Pin),
                key("gate_active_low", Rule::Bool),
                key("gate_pulse", dur_ms(100, 10 * SEC)),
                key("fail_pin", Rule::Pin),
                key("fail_active_low", Rule::Bool),
                key("fail_pulse", dur_ms(100, 10 * SEC)),
                key("trigger_pin", Rule::Pin),
                key("trigger_pull", Rule::Choice(Pull::WORDS)),
                key("trigger_edge", Rule::Choice(Edge::WORDS)),
                key("trigger_debounce", dur_ms(1, SEC)),
                key("exit_pin", Rule::Pin),
                key("exit_pull", Rule::Choice(Pull::WORDS)),
                key("exit_edge", Rule::Choice(Edge::WORDS)),
                key("exit_debounce", dur_ms(1, SEC)),
                key("door_pin", Rule::Pin),
                key("door_pull", Rule::Choice(Pull::WORDS)),
                key("door_open_level", Rule::Choice(DOOR_LEVELS)),
                key("door_debounce", dur_ms(1, SEC)),
                key("door_held_open_after", dur_ms(SEC, 10 * MINUTE)),
            ],
            build: build_rppal_gpio,
        },
        Kind {
            name: "cdev",
            keys: &[
                key("chip", Rule::Path { absolute: true }),
                key("gate_line", Rule::Line),
                key("gate_active_low", Rule::Bool),
                key("gate_pulse", dur_ms(100, 10 * SEC)),
                key("fail_line", Rule::Line),
                key("fail_active_low", Rule::Bool),
                key("fail_pulse", dur_ms(100, 10 * SEC)),
                key("trigger_line", Rule::Line),
                key("trigger_pull", Rule::Choice(Pull::WORDS)),
                key("trigger_edge", Rule::Choice(Edge::WORDS)),
                key("trigger_debounce", dur_ms(1, SEC)),
                key("exit_line", Rule::Line),
                key("exit_pull", Rule::Choice(Pull::WORDS)),
                key("exit_edge", Rule::Choice(Edge::WORDS)),
                key("exit_debounce", dur_ms(1, SEC)),
                key("door_line", Rule::Line),
                key("door_pull", Rule::Choice(Pull::WORDS)),
                key("door_open_level", Rule::Choice(DOOR_LEVELS)),
                key("door_debounce", dur_ms(1, SEC)),
                key("door_held_open_after", dur_ms(SEC, 10 * MINUTE)),
            ],
            build: build_cdev_gpio,
        },
    ],
};

const TRIGGER: Device<TriggerConfig> = Device {
    table: "trigger",
    kinds: &[
        Kind {
            name: "sim",
            keys: &[key("arrival", dur_ms(0, 60 * SEC))],
            build: build_sim_trigger,
        },
        Kind {
            name: "gpio",
            keys: &[],
            build: build_gpio_trigger,
        },
        Kind {
            name: "socket",
            keys: &[
                key("path", Rule::Path { absolute: true }),
                key("group", Rule::Group),
                key("mode", Rule::Mode),
            ],
            build: build_socket_trigger,
        },
    ],
};

/// The optional inputs of `[gpio] kind = "rppal"` and the keys that only mean something
/// when their `*_pin` is set.
const INPUTS: [(&str, &[&str]); 3] = [
    (
        "trigger",
        &["trigger_pull", "trigger_edge", "trigger_debounce"],
    ),
    ("exit", &["exit_pull", "exit_edge", "exit_debounce"]),
    (
        "door",
        &[
            "door_pull",
            "door_open_level",
            "door_debounce",
            "door_held_open_after",
        ],
    ),
];

/// The line keys of `[gpio]`, in the order of [`GpioLines::lines`]: the `*_pin` keys
/// of `kind = "rppal"`, the `*_line` keys of `kind = "cdev"`.
const PIN_KEYS: [&str; 5] = [
    "gate_pin",
    "fail_pin",
    "trigger_pin",
    "exit_pin",
    "door_pin",
];
const LINE_KEYS: [&str; 5] = [
    "gate_line",
    "fail_line",
    "trigger_line",
    "exit_line",
    "door_line",
];

/// Every line key of a `[gpio]` table and its line (the default when not in the
/// file), by the keys of its kind.
fn lines_by_key<'g, A>(
    g: &'g GpioLines<A>,
    keys: [&'static str; 5],
) -> [(&'static str, Option<&'g A>); 5] {
    let lines = g.lines();
    std::array::from_fn(|i| (keys[i], lines[i]))
}

/// The tables of the file, in the order of the documented example.
const TABLES: [&str; 8] = [
    "api", "session", "camera", "display", "gpio", "trigger", "log", "metrics",
];

/// Every key name a table accepts (for a device table: `kind` and the keys of all kinds).
fn keys_of_table(table: &str) -> Vec<&'static str> {
    fn device<T>(d: &Device<T>) -> Vec<&'static str> {
        let mut v = vec!["kind"];
        for k in d.kinds.iter().flat_map(|k| k.keys) {
            if !v.contains(&k.name) {
                v.push(k.name);
            }
        }
        v
    }
    let plain = |keys: &[Key]| keys.iter().map(|k| k.name).collect();
    match table {
        "api" => plain(API_KEYS),
        "session" => plain(SESSION_KEYS),
        "log" => plain(LOG_KEYS),
        "metrics" => plain(METRICS_KEYS),
        "camera" => device(&CAMERA),
        "display" => device(&DISPLAY),
        "gpio" => device(&GPIO),
        "trigger" => device(&TRIGGER),
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Checked values and the builders that turn them into typed configuration.

/// A value that passed its rule.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    Int(i64),
    Dur(Duration),
    Bool(bool),
    /// Text, a path, or the canonical spelling of a choice.
    Text(String),
    /// Canonical action names with the position of each.
    List(Vec<(String, Span)>),
}

/// The checked keys of one table: values that passed, and keys that had a problem.
#[derive(Debug, Default)]
struct Fields {
    got: BTreeMap<&'static str, (Val, Span)>,
    failed: BTreeSet<&'static str>,
}

impl Fields {
    fn val(&self, name: &str) -> Option<&Val> {
        self.got.get(name).map(|(v, _)| v)
    }

    /// The value's position, when the key is in the file and valid.
    fn span(&self, name: &str) -> Option<Span> {
        self.got.get(name).map(|(_, s)| s.clone())
    }

    /// False when the key is in the file but had a problem.
    fn ok(&self, name: &str) -> bool {
        !self.failed.contains(name)
    }

    fn int<T: TryFrom<i64>>(&self, name: &str) -> Option<T> {
        match self.val(name)? {
            Val::Int(i) => T::try_from(*i).ok(),
            _ => None,
        }
    }

    fn dur(&self, name: &str) -> Option<Duration> {
        match self.val(name)? {
            Val::Dur(d) => Some(*d),
            _ => None,
        }
    }

    fn flag(&self, name: &str) -> Option<bool> {
        match self.val(name)? {
            Val::Bool(b) => Some(*b),
            _ => None,
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.val(name)? {
            Val::Text(t) => Some(t.clone()),
            _ => None,
        }
    }

    fn path(&self, name: &str) -> Option<PathBuf> {
        self.text(name).map(PathBuf::from)
    }

    fn list(&self, name: &str) -> Option<Vec<String>> {
        match self.val(name)? {
            Val::List(l) => Some(l.iter().map(|(a, _)| a.clone()).collect()),
            _ => None,
        }
    }
}

fn parse_part(s: &str) -> Option<Part> {
    match s {
        "face" => Some(Part::Face),
        "hand" => Some(Part::Hand),
        _ => None,
    }
}

fn build_api(f: &Fields, d: ApiConfig) -> ApiConfig {
    ApiConfig {
        base_url: f.text("base_url").unwrap_or(d.base_url),
        key_file: f.path("key_file").or(d.key_file),
        mode: f.int("mode").unwrap_or(d.mode),
        part: f.text("part").and_then(|p| parse_part(&p)).or(d.part),
        select: f.list("select").unwrap_or(d.select),
        request_timeout: f.dur("request_timeout").unwrap_or(d.request_timeout),
        connect_timeout: f.dur("connect_timeout").unwrap_or(d.connect_timeout),
        retries: f.int("retries").unwrap_or(d.retries),
        ca_file: f.path("ca_file").or(d.ca_file),
        allow_insecure_http: f
            .flag("allow_insecure_http")
            .unwrap_or(d.allow_insecure_http),
    }
}

fn build_session(f: &Fields, d: SessionConfig) -> SessionConfig {
    let action_timeout = f.dur("action_timeout").unwrap_or(d.action_timeout);
    SessionConfig {
        action_timeout,
        frame_interval: f.dur("frame_interval").unwrap_or(d.frame_interval),
        // Unset, it leaves at least half of a short action timeout for frames.
        first_frame_after: f
            .dur("first_frame_after")
            .unwrap_or(d.first_frame_after.min(action_timeout / 2)),
        max_restarts: f.int("max_restarts").unwrap_or(d.max_restarts),
        session_timeout: f.dur("session_timeout").unwrap_or(d.session_timeout),
        cooldown: f.dur("cooldown").unwrap_or(d.cooldown),
        verdict_screen: f.dur("verdict_screen").unwrap_or(d.verdict_screen),
        max_failures: f.int("max_failures").unwrap_or(d.max_failures),
        failure_window: f.dur("failure_window").unwrap_or(d.failure_window),
        lockout: f.dur("lockout").unwrap_or(d.lockout),
    }
}

fn build_metrics(f: &Fields, d: MetricsConfig) -> MetricsConfig {
    MetricsConfig {
        textfile: f.path("textfile").or(d.textfile),
        interval: f.dur("interval").unwrap_or(d.interval),
    }
}

fn build_sim_camera(f: &Fields) -> CameraConfig {
    let d = default_sim_camera();
    CameraConfig::Sim(SimCameraOptions {
        performer: f
            .text("performer")
            .and_then(|p| Performer::parse(&p))
            .unwrap_or(d.performer),
        reaction: f.dur("reaction").unwrap_or(d.reaction),
        fps: f.int("fps").unwrap_or(d.fps),
        width: f.int("width").unwrap_or(d.width),
        height: f.int("height").unwrap_or(d.height),
        jpeg_quality: f.int("jpeg_quality").unwrap_or(d.jpeg_quality),
    })
}

fn build_sim_display(f: &Fields) -> DisplayConfig {
    let d = default_sim_display();
    DisplayConfig::Sim(SimDisplayOptions {
        terminal: f.flag("terminal").unwrap_or(d.terminal),
        png_dir: f.path("png_dir").or(d.png_dir),
    })
}

fn build_sim_gpio(f: &Fields) -> GpioConfig {
    let d = default_sim_gpio();
    GpioConfig::Sim(SimGpioOptions {
        gate_pulse: f.dur("gate_pulse").unwrap_or(d.gate_pulse),
        fail_pulse: f.dur("fail_pulse").unwrap_or(d.fail_pulse),
        state_file: f.path("state_file"),
    })
}

fn build_sim_trigger(f: &Fields) -> TriggerConfig {
    let d = default_sim_trigger();
    TriggerConfig::Sim(SimTriggerOptions {
        arrival: f.dur("arrival").unwrap_or(d.arrival),
    })
}

/// The choice a checked word names (the rule admits only the words of `T`).
fn word<T>(f: &Fields, name: &str, parse: fn(&str) -> Option<T>) -> Option<T> {
    f.text(name).and_then(|w| parse(&w))
}

fn build_v4l2_camera(f: &Fields) -> CameraConfig {
    let d = V4l2CameraConfig::default();
    CameraConfig::V4l2(V4l2CameraConfig {
        device: f.path("device").unwrap_or(d.device),
        width: f.int("width").unwrap_or(d.width),
        height: f.int("height").unwrap_or(d.height),
        fps: f.int("fps").unwrap_or(d.fps),
        format: word(f, "format", FormatPreference::parse).unwrap_or(d.format),
        jpeg_quality: f.int("jpeg_quality").unwrap_or(d.jpeg_quality),
        warmup_frames: f.int("warmup_frames").unwrap_or(d.warmup_frames),
        mirror: f.flag("mirror").unwrap_or(d.mirror),
        rotation: f
            .int::<i64>("rotation")
            .and_then(Rotation::from_degrees)
            .unwrap_or(d.rotation),
        left_is: word(f, "left_is", LeftIs::parse).unwrap_or(d.left_is),
    })
}

fn build_oled_display(f: &Fields) -> DisplayConfig {
    let d = default_oled();
    DisplayConfig::Ssd1306(OledOptions {
        bus: f.int("bus").unwrap_or(d.bus),
        address: f.int("address").unwrap_or(d.address),
        size: word(f, "size", PanelSize::parse).unwrap_or(d.size),
        rotation: f
            .int::<i64>("rotation")
            .and_then(Rotation::from_degrees)
            .unwrap_or(d.rotation),
        contrast: f.int("contrast").unwrap_or(d.contrast),
        reinit_interval: f.dur("reinit_interval").unwrap_or(d.reinit_interval),
    })
}

/// Default pull, edge and debounce of an input.
const INPUT_PULL: Pull = Pull::Up;
const INPUT_EDGE: Edge = Edge::Falling;
const INPUT_DEBOUNCE: Duration = Duration::from_millis(50);
/// Default held-open alarm delay of the door contact.
const DOOR_HELD_OPEN_AFTER: Duration = Duration::from_secs(30);

/// The input `{name}_{suffix}` with its `{name}_pull`, `_edge` and `_debounce`;
/// `line` reads a checked line key.
fn build_input<A>(
    f: &Fields,
    name: &str,
    suffix: &str,
    line: impl Fn(&str) -> Option<A>,
) -> Option<InputOptions<A>> {
    Some(InputOptions {
        line: line(&format!("{name}_{suffix}"))?,
        pull: word(f, &format!("{name}_pull"), Pull::parse).unwrap_or(INPUT_PULL),
        edge: word(f, &format!("{name}_edge"), Edge::parse).unwrap_or(INPUT_EDGE),
        debounce: f.dur(&format!("{name}_debounce")).unwrap_or(INPUT_DEBOUNCE),
    })
}

/// The relays and inputs of a `[gpio]` table whose line keys end in `_{suffix}`
/// (`pin` or `line`), read by `line`; `d` holds the default relay lines.
fn build_lines<A>(
    f: &Fields,
    suffix: &str,
    line: impl Fn(&str) -> Option<A>,
    d: GpioLines<A>,
) -> GpioLines<A> {
    let out = |name: &str, d: OutputOptions<A>| OutputOptions {
        line: line(&format!("{name}_{suffix}")).unwrap_or(d.line),
        active_low: f
            .flag(&format!("{name}_active_low"))
            .unwrap_or(d.active_low),
        pulse: f.dur(&format!("{name}_pulse")).unwrap_or(d.pulse),
    };
    let door = line(&format!("door_{suffix}")).map(|line| DoorOptions {
        line,
        pull: word(f, "door_pull", Pull::parse).unwrap_or(INPUT_PULL),
        open_level_high: f.text("door_open_level").is_none_or(|l| l == "high"),
        debounce: f.dur("door_debounce").unwrap_or(INPUT_DEBOUNCE),
        held_open_after: f
            .dur("door_held_open_after")
            .unwrap_or(DOOR_HELD_OPEN_AFTER),
    });
    GpioLines {
        gate: out("gate", d.gate),
        fail: out("fail", d.fail),
        trigger: build_input(f, "trigger", suffix, &line),
        exit: build_input(f, "exit", suffix, &line),
        door,
    }
}

fn build_rppal_gpio(f: &Fields) -> GpioConfig {
    let pin = |key: &str| f.int::<u8>(key).map(Bcm);
    GpioConfig::Rppal(build_lines(f, "pin", pin, RppalGpioConfig::default()))
}

/// A checked line key: an offset (`Val::Int`) or a name (`Val::Text`).
fn line_spec(f: &Fields, name: &str) -> Option<LineSpec> {
    match f.val(name)? {
        Val::Int(n) => u32::try_from(*n).ok().map(LineSpec::Offset),
        Val::Text(t) => Some(LineSpec::Name(t.clone())),
        _ => None,
    }
}

fn build_cdev_gpio(f: &Fields) -> GpioConfig {
    let chip = f
        .path("chip")
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHIP));
    let line = |key: &str| line_spec(f, key).map(|l| ChipLine::new(chip.clone(), l));
    let d = default_cdev_gpio(&chip);
    GpioConfig::Cdev(build_lines(f, "line", line, d))
}

fn build_gpio_trigger(_: &Fields) -> TriggerConfig {
    TriggerConfig::Gpio
}

fn build_socket_trigger(f: &Fields) -> TriggerConfig {
    let d = SocketTriggerConfig::default();
    TriggerConfig::Socket(SocketTriggerConfig {
        path: f.path("path").unwrap_or(d.path),
        group: f.text("group").unwrap_or(d.group),
        mode: f.int("mode").unwrap_or(d.mode),
    })
}

// ---------------------------------------------------------------------------
// Words for messages.

/// A duration the way the file writes it: `200ms`, `10s`, `3min`, `24h`.
fn show(d: Duration) -> String {
    let ms = d.as_millis();
    if d.subsec_nanos() % 1_000_000 != 0 {
        humantime::format_duration(d).to_string()
    } else if ms == 0 {
        "0s".to_owned()
    } else if ms % u128::from(HOUR) == 0 {
        format!("{}h", ms / u128::from(HOUR))
    } else if ms % u128::from(MINUTE) == 0 && ms > u128::from(MINUTE) {
        format!("{}min", ms / u128::from(MINUTE))
    } else if ms % u128::from(SEC) == 0 {
        format!("{}s", ms / u128::from(SEC))
    } else {
        format!("{ms}ms")
    }
}

/// A number as the file would write it: `60`, or `0x3C` when `hex`.
fn number(n: i64, hex: bool) -> String {
    if hex {
        format!("0x{n:02X}")
    } else {
        n.to_string()
    }
}

/// A number in octal, as the file would write it: `0o660`.
fn number_octal(n: i64) -> String {
    format!("0o{n:o}")
}

/// Advice for a whole number written in quotes: `"3"`.
fn decimal_hint(s: &str) -> Option<String> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(format!("write it without quotes: {n}"));
    }
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    i64::from_str_radix(hex, 16)
        .ok()
        .map(|_| format!("write it without quotes: 0x{hex}"))
}

/// Advice for a pin written in quotes: `"17"`, `"GPIO17"`, `"BCM 17"`.
fn pin_hint(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let digits = ["gpio", "bcm"]
        .iter()
        .find_map(|p| lower.strip_prefix(p))
        .unwrap_or(&lower)
        .trim();
    digits
        .parse::<u8>()
        .ok()
        .map(|n| format!("write the BCM number without quotes: {n}"))
}

/// Advice for a permission mode written in quotes: `"0660"`, `"660"`, `"0o660"`.
fn mode_hint(s: &str) -> Option<String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    let digits = digits.trim_start_matches('0');
    i64::from_str_radix(digits, 8)
        .ok()
        .map(|_| format!("write it without quotes, as an octal number: 0o{digits}"))
}

/// The BCM GPIO number on a pin of the 40-pin header, for the header pins above BCM 27.
fn header_to_bcm(pin: i64) -> Option<i64> {
    let pin = u8::try_from(pin).ok().filter(|&p| i64::from(p) > MAX_BCM)?;
    header::bcm_at(pin).map(i64::from)
}

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
fn one_of(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// `[api], [session], …`
fn table_list() -> String {
    TABLES
        .iter()
        .map(|t| format!("[{t}]"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest candidate to a misspelt word, when it is close enough to be a likely typo.
fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = word.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for c in candidates {
        let lc = c.to_lowercase();
        let score = strsim::normalized_damerau_levenshtein(&w, &lc);
        let len = w.chars().count();
        let edits = strsim::damerau_levenshtein(&w, &lc);
        let close = score >= 0.7 || (len >= 3 && edits <= 1) || (len >= 5 && edits <= 2);
        if close && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// How a value looks to a person: `text "3"`, `the number 3`, `a list`.
fn describe(v: &DeValue<'_>, raw: &str) -> String {
    match v {
        DeValue::String(s) => format!("text {:?}", s.as_ref()),
        DeValue::Integer(_) | DeValue::Float(_) => format!("the number {raw}"),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(_) => "a date".to_owned(),
        DeValue::Array(_) => "a list".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

/// All action names in a compact form, for "what is valid".
fn all_actions() -> String {
    let gestures: Vec<&str> = crate::actions::ALL
        .iter()
        .filter_map(|a| a.strip_suffix("_left_hand"))
        .collect();
    format!(
        "{}, Left_hand, Right_hand, or <gesture>_left_hand / <gesture>_right_hand \
         where <gesture> is one of {}",
        crate::actions::FACE.join(", "),
        gestures.join(", ")
    )
}

/// The table named by a `[table]` or `[[table]]` line.
fn header_name(line: &str) -> Option<String> {
    let t = line.trim_start().strip_prefix('[')?;
    let t = t.strip_prefix('[').unwrap_or(t);
    let end = t.find([']', '#']).unwrap_or(t.len());
    Some(t[..end].trim().replace(['"', '\''], ""))
}

/// The bare key a `key = value` line starts with.
fn line_key(line: &str) -> Option<String> {
    let t = line.trim();
    if t.starts_with('#') || t.starts_with('[') {
        return None;
    }
    let before = t.split('=').next().unwrap_or("");
    let k = before.split_whitespace().next()?;
    k.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .then(|| k.to_owned())
}

/// A parser message in plain words, with what would be valid.
fn readable_syntax(desc: &str, expected: Option<&str>, raw: &str) -> String {
    let raw = raw.trim();
    match desc {
        "invalid basic string"
        | "invalid multi-line basic string"
        | "invalid literal string"
        | "invalid multi-line literal string"
            if expected.is_some_and(|e| e.contains('"') || e.contains('\'')) =>
        {
            "the text has no closing quote; valid: text between two double quotes on one line, \
             such as \"face\""
                .to_owned()
        }
        "key with no value" => {
            "missing \"=\" after the key; valid: key = value, such as mode = 3".to_owned()
        }
        "string values must be quoted" | "missing value" | "missing value for key"
            if raw.is_empty() =>
        {
            "the value is missing after \"=\"; valid: key = value, such as mode = 3".to_owned()
        }
        "string values must be quoted" => format!(
            "{raw} is not a number, true/false or text in quotes; valid: text in double \
             quotes, such as \"{raw}\""
        ),
        "invalid boolean" => format!(
            "{raw} is not valid; valid: true or false (in lower case), or text in double \
             quotes, such as \"{raw}\""
        ),
        "unclosed table" => "missing \"]\" after the table name; valid: a table name in \
                             brackets, such as [session]"
            .to_owned(),
        "unclosed array" => "the list has no closing \"]\"; valid: a list in brackets, such as \
                             [\"Turn_left\", \"Smile\"]"
            .to_owned(),
        "missing comma between array elements" => "missing \",\" between two list items; \
                                                   valid: items separated by commas, such as \
                                                   [\"Turn_left\", \"Smile\"]"
            .to_owned(),
        "extra comma in array" => {
            "two commas in a row; valid: one comma between list items".to_owned()
        }
        "unexpected key or value" => "unexpected text after the value; valid: one key = value \
                                      per line, comments after #"
            .to_owned(),
        "extra `=`" => "one \"=\" too many; valid: key = value, such as mode = 3".to_owned(),
        "unquoted keys cannot be empty" => {
            "the key name is missing; valid: key = value, such as mode = 3".to_owned()
        }
        "unexpected leading zero" => "a number cannot start with 0; valid: a whole number \
                                      without leading zeros, such as 8"
            .to_owned(),
        "missing escaped value" => "unknown escape after a backslash in quoted text; valid: \
                                    \\\\ for one backslash"
            .to_owned(),
        _ => {
            let desc = desc.replace('`', "\"");
            match expected {
                Some(e) => format!("{desc}; valid: {}", e.replace('`', "\"")),
                None => desc,
            }
        }
    }
}

/// A permission mode written with a leading zero (`mode = 0660`, as for chmod): TOML
/// wants `0o660`.
fn octal_message(line: &str) -> String {
    let value = line.split_once('=').map_or("", |(_, v)| v);
    let value = value.split('#').next().unwrap_or("").trim();
    let digits = value.trim_start_matches('0');
    let example = if !digits.is_empty() && digits.chars().all(|c| ('0'..='7').contains(&c)) {
        format!("0o{digits}")
    } else {
        "0o660".to_owned()
    };
    format!(
        "{value} starts with 0; valid: an octal number written with 0o in front, such as \
         {example}"
    )
}

/// `[` minus `]` on a line, outside quoted text and comments.
fn open_brackets(line: &str) -> i64 {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in line.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '"' | '\'' => quote = Some(c),
                '#' => break,
                '[' => depth += 1,
                ']' => depth -= 1,
                _ => {}
            },
        }
    }
    depth
}

// ---------------------------------------------------------------------------
// The checker: walks the parsed file against the schema and collects problems.

/// A pin of `[gpio] kind = "rppal"` in use.
#[derive(Debug)]
struct UsedPin {
    /// The key, such as `gate_pin`.
    name: &'static str,
    pin: u8,
    /// The value's position; `None` for a default.
    span: Option<Span>,
}

/// What the rules between keys need to know of a checked device table.
#[derive(Debug, Default)]
struct DeviceKeys {
    /// The table's checked keys (of the chosen kind).
    fields: Fields,
    /// The position of the `kind` value, when the file sets it.
    kind: Option<Span>,
    /// False when `kind` names no known kind (the first kind's defaults were used).
    kind_ok: bool,
}

/// A syntax error: where, and the parser's message.
#[derive(Debug)]
struct SyntaxError {
    span: Span,
    message: String,
}

struct Checker<'a> {
    text: &'a str,
    file: &'a str,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    problems: Vec<Problem>,
    /// Lines (1-based) holding a syntax error: their keys are not checked again.
    syntax_lines: BTreeSet<usize>,
}

impl<'a> Checker<'a> {
    fn new(text: &'a str, file: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Checker {
            text,
            file,
            line_starts,
            problems: Vec::new(),
            syntax_lines: BTreeSet::new(),
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    fn pos(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, col + 1)
    }

    /// The source text of a span.
    fn raw(&self, span: &Span) -> &'a str {
        self.text.get(span.clone()).unwrap_or("")
    }

    fn line_text(&self, line: usize) -> &'a str {
        self.text.lines().nth(line.saturating_sub(1)).unwrap_or("")
    }

    fn report(&mut self, span: &Span, key: &str, message: String) {
        let (line, column) = self.pos(span.start);
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line,
            column,
            key: key.to_owned(),
            message,
        });
    }

    /// True when a syntax error sits on any line from `start` to `end`.
    fn touches_syntax(&self, start: usize, end: usize) -> bool {
        let (a, _) = self.pos(start.min(end));
        let (b, _) = self.pos(start.max(end));
        self.syntax_lines.range(a..=b).next().is_some()
    }

    fn finish(mut self) -> Result<(), ConfigError> {
        if self.problems.is_empty() {
            return Ok(());
        }
        self.problems.sort_by_key(|p| (p.line, p.column));
        Err(ConfigError::Invalid(self.problems))
    }

    // -- syntax ------------------------------------------------------------

    /// Every syntax error of the file, sorted, and the text with their lines blanked.
    ///
    /// After an error the parser's recovery may skip the rest of the file (a key without
    /// `=`) or report errors that are only echoes of the first (an unclosed list). So
    /// only the first error is taken, its line blanked (byte for byte, keeping every
    /// offset), and the text parsed again, until it parses cleanly.
    fn syntax_errors(&self) -> (String, Vec<SyntaxError>) {
        const MAX_ROUNDS: usize = 200;
        let mut clean = self.text.to_owned();
        let mut errors: Vec<SyntaxError> = Vec::new();
        let mut blank: BTreeSet<usize> = BTreeSet::new();
        for _ in 0..MAX_ROUNDS {
            let (_, found) = DeTable::parse_recoverable(&clean);
            let Some(first) = found
                .into_iter()
                .min_by_key(|e| e.span().map_or(0, |s| s.start))
            else {
                break;
            };
            let mut err = SyntaxError {
                span: first.span().unwrap_or(0..0),
                message: first.message().to_owned(),
            };
            let mut line = self.pos(err.span.start).0;
            let unclosed = err.message.starts_with("unclosed array");
            if let Some(start) = self.list_start(line, unclosed) {
                // The error is only an echo of a list left open on an earlier line.
                let end = self.line_starts[start - 1] + self.line_text(start).trim_end().len();
                err = SyntaxError {
                    span: end..end,
                    message: "unclosed array, expected `]`".to_owned(),
                };
                // Its items run up to the next `key = value` or `[table]` line.
                let items_end = (start + 1..=self.line_starts.len())
                    .find(|&l| self.is_statement(l))
                    .unwrap_or(self.line_starts.len() + 1);
                blank.extend(start + 1..items_end);
                line = start;
            }
            if !blank.insert(line) {
                break;
            }
            errors.push(err);
            clean = self
                .text
                .split_inclusive('\n')
                .enumerate()
                .map(|(i, l)| {
                    if blank.contains(&(i + 1)) {
                        let body = l.trim_end_matches(['\n', '\r']).len();
                        format!("{}{}", " ".repeat(body), &l[body..])
                    } else {
                        l.to_owned()
                    }
                })
                .collect();
        }
        errors.sort_by_key(|e| e.span.start);
        (clean, errors)
    }

    /// True for a `key = value` or `[table]` line.
    fn is_statement(&self, line: usize) -> bool {
        let this = self.line_text(line);
        header_name(this).is_some() || (line_key(this).is_some() && this.contains('='))
    }

    /// The line where a list without its `]` starts, when the error on `line` comes
    /// from it: `line` is a `key = value` or `[table]` line the open list swallowed, or
    /// (`unclosed`) the parser's own "unclosed array" error, which it places at the
    /// list's last item or at the end of the file.
    fn list_start(&self, line: usize, unclosed: bool) -> Option<usize> {
        let last = match (unclosed, self.is_statement(line)) {
            (true, _) => line,
            (false, true) => line - 1,
            (false, false) => return None,
        };
        let mut depth = 0i64;
        for k in (1..=last).rev() {
            let l = self.line_text(k);
            if header_name(l).is_some() {
                return None;
            }
            if line_key(l).is_some() {
                if let Some((_, value)) = l.split_once('=') {
                    depth += open_brackets(value);
                    return (depth > 0).then_some(k);
                }
            }
            depth += open_brackets(l);
        }
        None
    }

    /// After a broken `[table]` line, its keys would land in the table above: keep
    /// quiet about everything up to the next table line.
    fn quiet_broken_tables(&mut self) {
        let lines: Vec<&str> = self.text.lines().collect();
        let broken: Vec<usize> = self
            .syntax_lines
            .iter()
            .copied()
            .filter(|&l| lines.get(l - 1).is_some_and(|t| header_name(t).is_some()))
            .collect();
        for start in broken {
            let end = (start..lines.len())
                .find(|&i| header_name(lines[i]).is_some())
                .unwrap_or(lines.len());
            self.syntax_lines.extend(start..=end);
        }
    }

    /// Reports one parser error (the first one of its line only).
    fn syntax(&mut self, e: &SyntaxError) {
        let span = e.span.clone();
        let (line, _) = self.pos(span.start);
        if !self.syntax_lines.insert(line) {
            return;
        }
        let (desc, expected) = match e.message.split_once(", expected ") {
            Some((d, x)) => (d, Some(x)),
            None => (e.message.as_str(), None),
        };
        let label = self.context_label(line);
        let message = if desc == "duplicate key" {
            self.duplicate_message(line)
        } else if desc == "unexpected leading zero" && label == "trigger.mode" {
            octal_message(self.line_text(line))
        } else {
            readable_syntax(desc, expected, self.raw(&span))
        };
        self.report(&span, &label, message);
    }

    /// The table a line belongs to, from the last `[table]` line above it.
    fn table_above(&self, line: usize) -> Option<String> {
        self.text
            .lines()
            .take(line.saturating_sub(1))
            .filter_map(header_name)
            .last()
    }

    /// A best guess of the dotted key on a line, for syntax errors.
    fn context_label(&self, line: usize) -> String {
        let this = self.line_text(line);
        // Inside a list written over several lines, the key is on a line above.
        let key = line_key(this).or_else(|| {
            let above: Vec<&str> = self.text.lines().take(line.saturating_sub(1)).collect();
            above
                .iter()
                .rev()
                .take_while(|l| header_name(l).is_none())
                .find(|l| l.contains('='))
                .and_then(|l| line_key(l))
        });
        let name = match header_name(this) {
            Some(h) => Some(h),
            None => match (self.table_above(line), key) {
                (Some(t), Some(k)) => Some(format!("{t}.{k}")),
                (None, Some(k)) => Some(k),
                (t, None) => t,
            },
        };
        name.filter(|n| !n.is_empty())
            .unwrap_or_else(|| "syntax".to_owned())
    }

    /// "already set on line N" for a key or table given twice.
    fn duplicate_message(&self, line: usize) -> String {
        let this = self.line_text(line);
        if let Some(h) = header_name(this) {
            let first = self
                .text
                .lines()
                .take(line - 1)
                .position(|l| header_name(l).as_deref() == Some(h.as_str()));
            return match first {
                Some(i) => format!(
                    "the table [{h}] already started on line {}; valid: each table once \
                     (move these keys below the first [{h}])",
                    i + 1
                ),
                None => format!("the table [{h}] is given twice; valid: each table once"),
            };
        }
        let table = self.table_above(line);
        let key = line_key(this);
        let mut current: Option<String> = None;
        let mut first = None;
        for (i, l) in self.text.lines().take(line - 1).enumerate() {
            if let Some(h) = header_name(l) {
                current = Some(h);
            } else if key.is_some() && line_key(l) == key && current == table {
                first = Some(i + 1);
                break;
            }
        }
        match first {
            Some(n) => format!(
                "this key is already set on line {n}; valid: each key once per table \
                 (delete one of the two lines)"
            ),
            None => "this key is set twice; valid: each key once per table".to_owned(),
        }
    }

    // -- tables ------------------------------------------------------------

    /// Checks the top level: known tables are returned, anything else is reported.
    fn top_level<'t, 'i>(&mut self, root: &'t DeTable<'i>) -> Vec<(&'static str, &'t DeTable<'i>)> {
        let mut tables = Vec::new();
        for (k, v) in root.iter() {
            let name: &str = k.get_ref().as_ref();
            let (ks, vs) = (k.span(), v.span());
            if self.touches_syntax(ks.start, ks.end) {
                continue;
            }
            if let Some(t) = TABLES.iter().find(|t| **t == name) {
                match v.get_ref() {
                    DeValue::Table(tab) => tables.push((*t, tab)),
                    DeValue::Array(_) => self.report(
                        &ks,
                        name,
                        format!(
                            "written as [[{name}]]; valid: the line [{name}] with its keys \
                             below it"
                        ),
                    ),
                    other => {
                        let found = describe(other, self.raw(&vs));
                        self.report(
                            &vs,
                            name,
                            format!(
                                "expected a table, found {found}; valid: the line [{name}] \
                                 with its keys below it"
                            ),
                        );
                    }
                }
            } else if matches!(v.get_ref(), DeValue::Table(_) | DeValue::Array(_)) {
                let hint = suggest(name, TABLES)
                    .map(|s| format!(" did you mean [{s}]?"))
                    .unwrap_or_default();
                self.report(
                    &ks,
                    name,
                    format!("unknown table;{hint} valid tables: {}", table_list()),
                );
            } else {
                let homes: Vec<String> = TABLES
                    .iter()
                    .filter(|t| keys_of_table(t).contains(&name))
                    .map(|t| format!("[{t}]"))
                    .collect();
                let message = match homes.as_slice() {
                    [] => format!(
                        "unknown key outside any table; valid: keys below a table line; \
                         valid tables: {}",
                        table_list()
                    ),
                    [one] => format!("key outside any table; valid: put it below the {one} line"),
                    [rest @ .., last] => format!(
                        "key outside any table; valid: put it below the line of its table, \
                         {} or {last}",
                        rest.join(", ")
                    ),
                };
                self.report(&ks, name, message);
            }
        }
        tables
    }

    /// Checks a table with a fixed set of keys.
    fn check_table(
        &mut self,
        table: &'static str,
        t: Option<&DeTable<'_>>,
        keys: &[Key],
    ) -> Fields {
        let names: Vec<&str> = keys.iter().map(|k| k.name).collect();
        let list = names.join(", ");
        self.check_keys(table, t, keys, &|name: &str| {
            let hint = suggest(name, names.iter().copied())
                .map(|s| format!(" did you mean \"{s}\"?"))
                .unwrap_or_default();
            Some(format!(
                "unknown key;{hint} valid keys in [{table}]: {list}"
            ))
        })
    }

    /// Checks a device table: its `kind` first, then the keys of that kind.
    fn check_device<T>(&mut self, dev: &Device<T>, t: Option<&DeTable<'_>>) -> (T, DeviceKeys) {
        let table = dev.table;
        let kind_names: Vec<&str> = dev.kinds.iter().map(|k| k.name).collect();
        let kind_entry = t.and_then(|t| t.iter().find(|(k, _)| k.get_ref().as_ref() == "kind"));
        let chosen = match kind_entry {
            None => Some(0),
            Some((k, v)) => {
                let (ks, vs) = (k.span(), v.span());
                let sim_written =
                    matches!(v.get_ref(), DeValue::String(s) if s.as_ref() == SIM_KIND);
                if self.touches_syntax(ks.start, vs.end) {
                    None
                } else if sim_written && !cfg!(feature = "sim") {
                    // Reported below, with what this build offers instead.
                    kind_names.iter().position(|n| *n == SIM_KIND)
                } else {
                    // Without the `sim` feature, `sim` is not offered as valid.
                    let offered: Vec<&str> = kind_names
                        .iter()
                        .copied()
                        .filter(|n| cfg!(feature = "sim") || *n != SIM_KIND)
                        .collect();
                    self.check_choice(&format!("{table}.kind"), v, &offered)
                        .and_then(|i| kind_names.iter().position(|n| *n == offered[i]))
                }
            }
        };
        let Some(index) = chosen else {
            // Unknown kind: check the values of keys some kind knows, and say nothing
            // about other keys (they may belong to the kind that was meant).
            let mut all: Vec<Key> = Vec::new();
            for k in dev.kinds.iter().flat_map(|k| k.keys) {
                if !all.iter().any(|a| a.name == k.name) {
                    all.push(*k);
                }
            }
            self.check_keys(table, t, &all, &|_: &str| None);
            return (
                (dev.kinds[0].build)(&Fields::default()),
                DeviceKeys::default(),
            );
        };
        let kind = &dev.kinds[index];
        if kind.name == SIM_KIND && !cfg!(feature = "sim") {
            self.sim_not_built(dev, kind_entry.map(|(_, v)| v.span()));
        }
        let names: Vec<&str> = std::iter::once("kind")
            .chain(kind.keys.iter().map(|k| k.name))
            .collect();
        let list = names.join(", ");
        let unknown = |name: &str| {
            if name == "kind" {
                return None;
            }
            let valid = format!(
                "valid keys in [{table}] with kind = \"{}\": {list}",
                kind.name
            );
            let owners: Vec<&str> = dev
                .kinds
                .iter()
                .filter(|k| k.keys.iter().any(|key| key.name == name))
                .map(|k| k.name)
                .collect();
            if !owners.is_empty() {
                let kinds: Vec<String> = owners.iter().map(|o| format!("kind = \"{o}\"")).collect();
                return Some(format!("applies only to {}; {valid}", kinds.join(" or ")));
            }
            let hint = suggest(name, names.iter().copied())
                .map(|s| format!(" did you mean \"{s}\"?"))
                .unwrap_or_default();
            Some(format!("unknown key;{hint} {valid}"))
        };
        let fields = self.check_keys(table, t, kind.keys, &unknown);
        let value = (kind.build)(&fields);
        let keys = DeviceKeys {
            fields,
            kind: kind_entry.map(|(_, v)| v.span()),
            kind_ok: true,
        };
        (value, keys)
    }

    /// A `sim` kind (written at `at`, or the default when `at` is `None`) in a livegate
    /// built without the `sim` feature: the simulated devices are not in this binary.
    fn sim_not_built<T>(&mut self, dev: &Device<T>, at: Option<Span>) {
        let others: Vec<&str> = dev
            .kinds
            .iter()
            .map(|k| k.name)
            .filter(|n| *n != SIM_KIND)
            .collect();
        let valid = one_of(&others);
        let (span, what) = match at {
            Some(span) => (span, "\"sim\"".to_owned()),
            // No `kind` written: the default, reported at the top of the file.
            None => (0..0, "not set, and its default \"sim\"".to_owned()),
        };
        self.report(
            &span,
            &format!("{}.kind", dev.table),
            format!(
                "{what} needs livegate built with the sim feature (the default); valid: {valid}"
            ),
        );
    }

    /// Checks every entry of a table against `keys`; `unknown` words the problem for a
    /// key that is not among them (`None`: say nothing).
    fn check_keys(
        &mut self,
        table: &str,
        t: Option<&DeTable<'_>>,
        keys: &[Key],
        unknown: &dyn Fn(&str) -> Option<String>,
    ) -> Fields {
        let mut fields = Fields::default();
        let Some(t) = t else {
            return fields;
        };
        for (k, v) in t.iter() {
            let name: &str = k.get_ref().as_ref();
            let (ks, vs) = (k.span(), v.span());
            let dotted = format!("{table}.{name}");
            let spec = keys.iter().find(|s| s.name == name);
            if self.touches_syntax(ks.start, vs.end) {
                if let Some(spec) = spec {
                    fields.failed.insert(spec.name);
                }
                continue;
            }
            match spec {
                Some(spec) => match self.check_value(&dotted, spec.rule, v) {
                    Some(val) => {
                        fields.got.insert(spec.name, (val, vs));
                    }
                    None => {
                        fields.failed.insert(spec.name);
                    }
                },
                None => {
                    if let Some(message) = unknown(name) {
                        self.report(&ks, &dotted, message);
                    }
                }
            }
        }
        fields
    }

    // -- values ------------------------------------------------------------

    /// "expected X, found Y; valid: Z (hint)"
    fn wrong_type(
        &mut self,
        dotted: &str,
        v: &Spanned<DeValue<'_>>,
        expected: &str,
        valid: &str,
        hint: Option<String>,
    ) {
        let span = v.span();
        let found = describe(v.get_ref(), self.raw(&span));
        let hint = hint.map(|h| format!(" ({h})")).unwrap_or_default();
        self.report(
            &span,
            dotted,
            format!("expected {expected}, found {found}; valid: {valid}{hint}"),
        );
    }

    /// Checks one value against its rule; reports and returns `None` when it fails.
    fn check_value(&mut self, dotted: &str, rule: Rule, v: &Spanned<DeValue<'_>>) -> Option<Val> {
        let span = v.span();
        let raw = self.raw(&span);
        match rule {
            Rule::Int { min, max } => {
                let valid = format!("a whole number from {min} to {max}");
                let n = self.whole(dotted, v, &valid, decimal_hint)?;
                if (min..=max).contains(&n) {
                    Some(Val::Int(n))
                } else {
                    self.report(
                        &span,
                        dotted,
                        format!("{raw} is out of range; valid: {valid}"),
                    );
                    None
                }
            }
            Rule::Dur { min, max } => {
                let valid = format!("a duration from {} to {}", show(min), show(max));
                let how = "write a duration such as \"10s\" or \"500ms\"";
                match v.get_ref() {
                    DeValue::String(s) => match humantime::parse_duration(s.trim()) {
                        Ok(d) if (min..=max).contains(&d) => Some(Val::Dur(d)),
                        Ok(_) => {
                            self.report(
                                &span,
                                dotted,
                                format!("{s:?} is out of range; valid: {valid}"),
                            );
                            None
                        }
                        Err(_) => {
                            let what = if s.trim().parse::<f64>().is_ok() {
                                "has no unit"
                            } else {
                                "is not a duration"
                            };
                            self.report(
                                &span,
                                dotted,
                                format!("{s:?} {what}; {how}; valid: {valid}"),
                            );
                            None
                        }
                    },
                    DeValue::Integer(_) | DeValue::Float(_) => {
                        self.report(
                            &span,
                            dotted,
                            format!("{raw} is a bare number; {how}; valid: {valid}"),
                        );
                        None
                    }
                    _ => {
                        self.wrong_type(dotted, v, "a duration in quotes", &valid, None);
                        None
                    }
                }
            }
            Rule::Bool => match v.get_ref() {
                DeValue::Boolean(b) => Some(Val::Bool(*b)),
                DeValue::String(s) => {
                    let t = s.trim().to_ascii_lowercase();
                    let hint = (t == "true" || t == "false")
                        .then(|| format!("write it without quotes: {t}"));
                    self.wrong_type(dotted, v, "true or false", "true or false", hint);
                    None
                }
                _ => {
                    self.wrong_type(dotted, v, "true or false", "true or false", None);
                    None
                }
            },
            Rule::Choice(words) => self
                .check_choice(dotted, v, words)
                .map(|i| Val::Text(words[i].to_owned())),
            Rule::Url => {
                let valid = format!("an https:// address, such as \"{DEFAULT_BASE_URL}\"");
                let DeValue::String(s) = v.get_ref() else {
                    self.wrong_type(dotted, v, "an address in quotes", &valid, None);
                    return None;
                };
                let lower = s.to_ascii_lowercase();
                if s.contains('@') || lower.contains("aigen_key") || lower.contains("key=") {
                    // Never echoed: it may hold the key itself.
                    self.report(
                        &span,
                        dotted,
                        "the address carries a key or a password (shown here as ***); \
                         valid: the address alone: the key goes in the key file \
                         (api.key_file or /etc/livegate/aigen-key), never in the address"
                            .to_owned(),
                    );
                    return None;
                }
                let wrong = match reqwest::Url::parse(s) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                        return Some(Val::Text(s.to_string()));
                    }
                    Ok(_) => "is not an http(s) address".to_owned(),
                    Err(e) => format!("is not a web address ({e})"),
                };
                self.report(&span, dotted, format!("{s:?} {wrong}; valid: {valid}"));
                None
            }
            Rule::Path { absolute } => {
                let valid = if absolute {
                    "an absolute path, starting with \"/\""
                } else {
                    "a path in quotes"
                };
                let DeValue::String(s) = v.get_ref() else {
                    self.wrong_type(dotted, v, "a path in quotes", valid, None);
                    return None;
                };
                if s.is_empty() {
                    self.report(&span, dotted, format!("the path is empty; valid: {valid}"));
                    None
                } else if absolute && !Path::new(s.as_ref()).is_absolute() {
                    self.report(
                        &span,
                        dotted,
                        format!("{s:?} is a relative path; valid: {valid}"),
                    );
                    None
                } else {
                    Some(Val::Text(s.to_string()))
                }
            }
            Rule::Actions => self.check_actions(dotted, v),
            Rule::Ints { values, hex } => {
                let shown: Vec<String> = values.iter().map(|&n| number(n, hex)).collect();
                let words: Vec<&str> = shown.iter().map(String::as_str).collect();
                let valid = one_of(&words).replace('"', "");
                let n = self.whole(dotted, v, &valid, decimal_hint)?;
                if values.contains(&n) {
                    return Some(Val::Int(n));
                }
                let found = if hex && !raw.starts_with("0x") {
                    format!("{raw} ({})", number(n, true))
                } else {
                    raw.to_owned()
                };
                // Some boards print the 8-bit form of the address (shifted left by one).
                let hint = match values.iter().find(|&&a| hex && a << 1 == n) {
                    Some(&a) => format!(
                        " ({} is the 8-bit form of {} that some boards print; write {})",
                        number(n, true),
                        number(a, true),
                        number(a, true)
                    ),
                    None => String::new(),
                };
                self.report(
                    &span,
                    dotted,
                    format!("{found} is not valid; valid: {valid}{hint}"),
                );
                None
            }
            Rule::Pin => {
                let valid = format!(
                    "a BCM GPIO number from 0 to {MAX_BCM} (not the header pin number: header \
                     pin 11 is BCM 17)"
                );
                let n = self.whole(dotted, v, &valid, pin_hint)?;
                if (0..=MAX_BCM).contains(&n) {
                    return Some(Val::Int(n));
                }
                let valid = match header_to_bcm(n) {
                    Some(bcm) => format!(
                        "a BCM GPIO number from 0 to {MAX_BCM} (not the header pin number: \
                         header pin 11 is BCM 17, header pin {n} is BCM {bcm})"
                    ),
                    None => valid,
                };
                self.report(
                    &span,
                    dotted,
                    format!("{raw} is out of range; valid: {valid}"),
                );
                None
            }
            Rule::Line => {
                let valid = format!(
                    "a line offset from 0 to {MAX_OFFSET} on the chip, or a line name in quotes \
                     (such as \"GPIO17\"; `gpioinfo` lists them)"
                );
                let problem = match v.get_ref() {
                    DeValue::Integer(_) => {
                        let n = self.whole(dotted, v, &valid, decimal_hint)?;
                        // Negative: out of range too (the message shows what was written).
                        u64::try_from(n).map_or(Err(LineSpecError::OutOfRange(0)), LineSpec::offset)
                    }
                    DeValue::String(s) => LineSpec::parse(s),
                    _ => {
                        self.wrong_type(dotted, v, "a number or a name in quotes", &valid, None);
                        return None;
                    }
                };
                match problem {
                    Ok(LineSpec::Offset(o)) => return Some(Val::Int(i64::from(o))),
                    Ok(LineSpec::Name(n)) => return Some(Val::Text(n)),
                    Err(LineSpecError::Empty) => self.report(
                        &span,
                        dotted,
                        format!("the line name is empty; valid: {valid}"),
                    ),
                    Err(LineSpecError::OutOfRange(_)) => self.report(
                        &span,
                        dotted,
                        format!("{raw} is out of range; valid: {valid}"),
                    ),
                }
                None
            }
            Rule::Mode => {
                let valid = format!(
                    "an octal number from {} to {} with no permission for other users (last \
                     digit 0), such as 0o660",
                    number_octal(MODE_MIN),
                    number_octal(MODE_MAX)
                );
                let n = self.whole(dotted, v, &valid, mode_hint)?;
                if (MODE_MIN..=MODE_MAX).contains(&n) && n & 0o007 == 0 {
                    return Some(Val::Int(n));
                }
                let octal = raw.starts_with("0o");
                let found = if octal || n < 0 {
                    raw.to_owned()
                } else {
                    format!("{raw} ({} in octal)", number_octal(n))
                };
                let why = if n & 0o007 != 0 && (0..=0o777).contains(&n) {
                    "lets every user on the machine use the socket"
                } else {
                    "is out of range"
                };
                // 660 written in decimal: the digits were meant as octal.
                let hint = match i64::from_str_radix(raw, 8) {
                    Ok(m) if !octal && (MODE_MIN..=MODE_MAX).contains(&m) && m & 0o007 == 0 => {
                        format!(" (write it as an octal number: 0o{raw})")
                    }
                    _ => String::new(),
                };
                self.report(
                    &span,
                    dotted,
                    format!("{found} {why}; valid: {valid}{hint}"),
                );
                None
            }
            Rule::Device => {
                let valid = "a device path starting with /dev/, such as \"/dev/video0\" or \
                             \"/dev/v4l/by-id/usb-…-video-index0\"";
                let DeValue::String(s) = v.get_ref() else {
                    let hint = match v.get_ref() {
                        DeValue::Integer(_) => Some(format!("write it as \"/dev/video{raw}\"")),
                        _ => None,
                    };
                    self.wrong_type(dotted, v, "a path in quotes", valid, hint);
                    return None;
                };
                let s: &str = s.as_ref();
                let problem = if s.is_empty() {
                    "the path is empty".to_owned()
                } else if !s.starts_with('/') {
                    let hint = if s.starts_with("dev/") {
                        format!(" (did you mean \"/{s}\"?)")
                    } else if !s.contains('/') {
                        format!(" (did you mean \"/dev/{s}\"?)")
                    } else {
                        String::new()
                    };
                    format!("{s:?} is a relative path{hint}")
                } else if !s.starts_with("/dev/") {
                    format!("{s:?} is not under /dev/")
                } else {
                    return Some(Val::Text(s.to_owned()));
                };
                self.report(&span, dotted, format!("{problem}; valid: {valid}"));
                None
            }
            Rule::Group => {
                let valid = "the name of a group in quotes, such as \"livegate\" (letters, \
                             digits, \"_\", \"-\" or \".\", at most 32 characters)";
                let DeValue::String(s) = v.get_ref() else {
                    self.wrong_type(dotted, v, "a group name in quotes", valid, None);
                    return None;
                };
                let s: &str = s.as_ref();
                let ok = !s.is_empty()
                    && s.len() <= 32
                    && !s.starts_with('-')
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if ok {
                    return Some(Val::Text(s.to_owned()));
                }
                self.report(
                    &span,
                    dotted,
                    format!("{s:?} is not a group name; valid: {valid}"),
                );
                None
            }
            Rule::PromFile => {
                let valid = "an absolute path ending in .prom, in the folder node_exporter's \
                             textfile collector reads, such as \
                             \"/var/lib/prometheus/node-exporter/livegate.prom\"";
                let DeValue::String(s) = v.get_ref() else {
                    self.wrong_type(dotted, v, "a path in quotes", valid, None);
                    return None;
                };
                let s: &str = s.as_ref();
                let problem = if s.is_empty() {
                    "the path is empty".to_owned()
                } else if !Path::new(s).is_absolute() {
                    format!("{s:?} is a relative path")
                } else if !s.ends_with(".prom") {
                    format!(
                        "{s:?} does not end in .prom (node_exporter's textfile collector reads \
                         only *.prom files)"
                    )
                } else {
                    return Some(Val::Text(s.to_owned()));
                };
                self.report(&span, dotted, format!("{problem}; valid: {valid}"));
                None
            }
        }
    }

    /// The whole number a value holds; reports a value of another type, or one too
    /// large to hold. `hint` words advice for a number written as text.
    fn whole(
        &mut self,
        dotted: &str,
        v: &Spanned<DeValue<'_>>,
        valid: &str,
        hint: fn(&str) -> Option<String>,
    ) -> Option<i64> {
        let span = v.span();
        let raw = self.raw(&span);
        match v.get_ref() {
            DeValue::Integer(i) => {
                let n = i64::from_str_radix(i.as_str(), i.radix()).ok();
                if n.is_none() {
                    self.report(
                        &span,
                        dotted,
                        format!("{raw} is out of range; valid: {valid}"),
                    );
                }
                n
            }
            DeValue::Float(_) => {
                self.report(
                    &span,
                    dotted,
                    format!("{raw} is not a whole number; valid: {valid}"),
                );
                None
            }
            DeValue::String(s) => {
                let hint = hint(s.trim());
                self.wrong_type(dotted, v, "a whole number", valid, hint);
                None
            }
            _ => {
                self.wrong_type(dotted, v, "a whole number", valid, None);
                None
            }
        }
    }

    /// Checks a value against a list of words; returns the index of the match.
    fn check_choice(
        &mut self,
        dotted: &str,
        v: &Spanned<DeValue<'_>>,
        words: &[&str],
    ) -> Option<usize> {
        let valid = one_of(words);
        let DeValue::String(s) = v.get_ref() else {
            self.wrong_type(dotted, v, "a word in quotes", &valid, None);
            return None;
        };
        if let Some(i) = words.iter().position(|w| *w == s.as_ref()) {
            return Some(i);
        }
        let hint = suggest(s, words.iter().copied())
            .map(|w| format!(" (did you mean \"{w}\"?)"))
            .unwrap_or_default();
        self.report(
            &v.span(),
            dotted,
            format!("{s:?} is not valid; valid: {valid}{hint}"),
        );
        None
    }

    /// Checks `select`: a list of known, distinct actions, stored in canonical spelling.
    fn check_actions(&mut self, dotted: &str, v: &Spanned<DeValue<'_>>) -> Option<Val> {
        let valid = "a list of action names, such as [\"Turn_left\", \"Turn_right\", \"Look_up\"]";
        let items = match v.get_ref() {
            DeValue::Array(items) => items,
            DeValue::String(s) => {
                let hint = Some(format!("write it in brackets: [{s:?}]"));
                self.wrong_type(dotted, v, "a list", valid, hint);
                return None;
            }
            _ => {
                self.wrong_type(dotted, v, "a list", valid, None);
                return None;
            }
        };
        let mut list: Vec<(String, Span)> = Vec::new();
        let mut bad = false;
        for item in items.iter() {
            let span = item.span();
            let DeValue::String(s) = item.get_ref() else {
                self.wrong_type(dotted, item, "an action name in quotes", valid, None);
                bad = true;
                continue;
            };
            match crate::actions::index_of(s) {
                Some(i) => {
                    let name = crate::actions::ALL[i];
                    if list.iter().any(|(a, _)| a == name) {
                        self.report(
                            &span,
                            dotted,
                            format!("{s:?} is listed twice; valid: each action once"),
                        );
                        bad = true;
                    } else {
                        list.push((name.to_owned(), span));
                    }
                }
                None => {
                    let message = match suggest(s, crate::actions::ALL) {
                        Some(a) => format!("{s:?} is not a known action; did you mean \"{a}\"?"),
                        None => format!("{s:?} is not a known action; valid: {}", all_actions()),
                    };
                    self.report(&span, dotted, message);
                    bad = true;
                }
            }
        }
        (!bad).then_some(Val::List(list))
    }

    // -- rules between keys ------------------------------------------------

    /// Reports a conflict between two keys of one table at the one written later in the
    /// file (or the one written at all); `message(at_a, note)` words it, where `note` is
    /// `", the default"` when the other key is not in the file.
    fn conflict(
        &mut self,
        table: &str,
        fields: &Fields,
        a: &str,
        b: &str,
        message: impl FnOnce(bool, &str) -> String,
    ) {
        let (sa, sb) = (fields.span(a), fields.span(b));
        let at_a = match (&sa, &sb) {
            (Some(x), Some(y)) => x.start >= y.start,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return,
        };
        let (span, name, other_set) = if at_a {
            (sa, a, sb.is_some())
        } else {
            (sb, b, sa.is_some())
        };
        let note = if other_set { "" } else { ", the default" };
        if let Some(span) = span {
            self.report(&span, &format!("{table}.{name}"), message(at_a, note));
        }
    }

    /// Rules that involve more than one key.
    fn cross_checks(&mut self, cfg: &Config, api: &Fields, session: &Fields) {
        let a = &cfg.api;
        if api.ok("base_url") && api.ok("allow_insecure_http") && !a.allow_insecure_http {
            let plain = reqwest::Url::parse(&a.base_url).is_ok_and(|u| u.scheme() == "http");
            if let (true, Some(span)) = (plain, api.span("base_url")) {
                self.report(
                    &span,
                    "api.base_url",
                    format!(
                        "{:?} is plain http (not encrypted); valid: an https:// address \
                         (http:// only with api.allow_insecure_http = true, for tests)",
                        a.base_url
                    ),
                );
            }
        }
        if api.ok("connect_timeout")
            && api.ok("request_timeout")
            && a.connect_timeout > a.request_timeout
        {
            let (c, r) = (show(a.connect_timeout), show(a.request_timeout));
            self.conflict("api", api, "connect_timeout", "request_timeout", |at_connect, note| {
                if at_connect {
                    format!("{c} is longer than api.request_timeout ({r}{note}); valid: at most the request timeout")
                } else {
                    format!("{r} is shorter than api.connect_timeout ({c}{note}); valid: at least the connect timeout")
                }
            });
        }
        if let (Some(part), true, Some(Val::List(list))) =
            (a.part, api.ok("part"), api.val("select"))
        {
            for (name, span) in list {
                if crate::actions::part_of(name) == Some(part) {
                    continue;
                }
                let valid = match part {
                    Part::Face => format!("a face action: {}", crate::actions::FACE.join(", ")),
                    Part::Hand => "a hand action (a name ending in _hand)".to_owned(),
                };
                let other = match part {
                    Part::Face => "hand",
                    Part::Hand => "face",
                };
                self.report(
                    span,
                    "api.select",
                    format!(
                        "{name:?} is a {other} action, but api.part is \"{}\"; valid: {valid}",
                        part.as_str()
                    ),
                );
            }
        }
        let n = a.select.len();
        if api.ok("mode") && api.ok("select") && n > 0 && usize::from(a.mode) > n {
            let mode = a.mode;
            self.conflict("api", api, "mode", "select", |at_mode, note| {
                if at_mode {
                    format!(
                        "{mode} is more than the {n} actions in api.select; valid: a whole \
                         number from 1 to {n}, or more actions in api.select"
                    )
                } else {
                    format!(
                        "lists {n} action{}, fewer than api.mode ({mode}{note}); valid: at \
                         least {mode} actions, or a lower api.mode",
                        if n == 1 { "" } else { "s" }
                    )
                }
            });
        }
        let s = &cfg.session;
        if session.ok("frame_interval")
            && session.ok("action_timeout")
            && s.frame_interval >= s.action_timeout
        {
            let (f, t) = (show(s.frame_interval), show(s.action_timeout));
            self.conflict("session", session, "frame_interval", "action_timeout", |at_frame, note| {
                if at_frame {
                    format!("{f} is not shorter than session.action_timeout ({t}{note}); valid: shorter than the action timeout")
                } else {
                    format!("{t} is not longer than session.frame_interval ({f}{note}); valid: longer than the frame interval")
                }
            });
        }
        if session.ok("first_frame_after")
            && session.ok("action_timeout")
            && s.first_frame_after >= s.action_timeout
        {
            let (f, t) = (show(s.first_frame_after), show(s.action_timeout));
            self.conflict("session", session, "first_frame_after", "action_timeout", |at_first, note| {
                if at_first {
                    format!("{f} is not shorter than session.action_timeout ({t}{note}); valid: shorter than the action timeout, to leave time for frames")
                } else {
                    format!("{t} is not longer than session.first_frame_after ({f}{note}); valid: longer than the wait for the first frame")
                }
            });
        }
        if session.ok("session_timeout")
            && session.ok("action_timeout")
            && s.session_timeout < s.action_timeout
        {
            let (w, t) = (show(s.session_timeout), show(s.action_timeout));
            self.conflict("session", session, "session_timeout", "action_timeout", |at_session, note| {
                if at_session {
                    format!("{w} is shorter than session.action_timeout ({t}{note}); valid: at least the action timeout")
                } else {
                    format!("{t} is longer than session.session_timeout ({w}{note}); valid: at most the session timeout")
                }
            });
        }
        self.time_for_every_action(cfg, api, session);
    }

    /// A session timeout shorter than the time the actions and restarts allow a
    /// person (`api.mode` × `session.action_timeout` × (1 + `session.max_restarts`))
    /// ends sessions that are still within their rules: said at the session
    /// timeout's line (or, with it unset, at the line that made it too short),
    /// naming the other keys' lines.
    fn time_for_every_action(&mut self, cfg: &Config, api: &Fields, session: &Fields) {
        let keys = [
            ("api", api, "mode"),
            ("session", session, "action_timeout"),
            ("session", session, "max_restarts"),
            ("session", session, "session_timeout"),
        ];
        if keys.iter().any(|(_, f, k)| !f.ok(k)) {
            return;
        }
        let s = &cfg.session;
        // Already said: fewer actions to choose from than api.mode, or one action
        // longer than the whole session.
        let choices = cfg.api.select.len();
        if (choices > 0 && choices < usize::from(cfg.api.mode))
            || s.session_timeout < s.action_timeout
        {
            return;
        }
        let attempts = 1 + u32::from(s.max_restarts);
        let needed = s.action_timeout * u32::from(cfg.api.mode) * attempts;
        if s.session_timeout >= needed {
            return;
        }
        let at = |(table, fields, key): &(&str, &Fields, &str)| {
            fields
                .span(key)
                .map(|span| (format!("{table}.{key}"), span))
        };
        // At the session timeout if it is set, else at the last line that is.
        let Some((key, span)) = at(&keys[3]).or_else(|| {
            keys[..3]
                .iter()
                .filter_map(at)
                .max_by_key(|(_, span)| span.start)
        }) else {
            return;
        };
        let line_of = |k: &(&str, &Fields, &str)| match at(k) {
            Some((name, span)) if name != key => format!("line {}", self.pos(span.start).0),
            Some(_) => "this line".to_owned(),
            None => "the default".to_owned(),
        };
        let message = format!(
            "the session timeout ({}, {}) is shorter than the {} a person may take: {} \
             actions (api.mode, {}) of up to {} each (session.action_timeout, {}), in {} \
             attempt{} (session.max_restarts = {}, {}); valid: a session timeout of at \
             least {}, or fewer or shorter actions or restarts",
            show(s.session_timeout),
            line_of(&keys[3]),
            show(needed),
            cfg.api.mode,
            line_of(&keys[0]),
            show(s.action_timeout),
            line_of(&keys[1]),
            attempts,
            if attempts == 1 { "" } else { "s" },
            s.max_restarts,
            line_of(&keys[2]),
            show(needed),
        );
        self.report(&span, &key, message);
    }

    /// Rules between the hardware tables: pins used twice, pins of the OLED's I2C bus,
    /// input settings without their pin, and the GPIO trigger without its input.
    fn hardware_checks(
        &mut self,
        cfg: &Config,
        display: &DeviceKeys,
        gpio: &DeviceKeys,
        trigger: &DeviceKeys,
    ) {
        match &cfg.gpio {
            GpioConfig::Rppal(g) if gpio.kind_ok => {
                let f = &gpio.fields;
                self.inputs_without_line(f, "pin");
                // The pins in use, defaults (not in the file) first, then in file order.
                let mut used: Vec<UsedPin> = lines_by_key(g, PIN_KEYS)
                    .into_iter()
                    .filter(|(name, _)| f.ok(name))
                    .filter_map(|(name, pin)| {
                        pin.map(|&Bcm(pin)| UsedPin {
                            name,
                            pin,
                            span: f.span(name),
                        })
                    })
                    .collect();
                used.sort_by_key(|u| u.span.as_ref().map(|s| s.start));
                self.pins_used_twice(&used);
                match &cfg.display {
                    DisplayConfig::Ssd1306(d) if display.kind_ok && display.fields.ok("bus") => {
                        self.i2c_pins(d.bus, display, &used);
                    }
                    DisplayConfig::Ssd1306(_) | DisplayConfig::Sim(_) => {}
                }
            }
            GpioConfig::Cdev(g) if gpio.kind_ok => {
                let f = &gpio.fields;
                self.inputs_without_line(f, "line");
                self.lines_used_twice(g, f);
            }
            GpioConfig::Rppal(_) | GpioConfig::Sim(_) | GpioConfig::Cdev(_) => {}
        }
        let Some(kind) = &trigger.kind else {
            return;
        };
        match &cfg.trigger {
            TriggerConfig::Gpio if gpio.kind_ok => {
                // Without the `sim` feature the simulated trigger is not offered.
                let others = if cfg!(feature = "sim") {
                    "or another trigger kind: \"sim\" or \"socket\""
                } else {
                    "or another trigger kind: \"socket\""
                };
                match &cfg.gpio {
                    GpioConfig::Sim(_) => self.report(
                        kind,
                        "trigger.kind",
                        format!(
                            "\"gpio\" needs [gpio] kind = \"rppal\" with trigger_pin set; valid: \
                             kind = \"rppal\" and trigger_pin = the BCM number of the sensor or \
                             button, both in [gpio]; {others}"
                        ),
                    ),
                    GpioConfig::Rppal(g)
                        if g.trigger.is_none() && gpio.fields.ok("trigger_pin") =>
                    {
                        self.report(
                            kind,
                            "trigger.kind",
                            format!(
                                "\"gpio\" needs gpio.trigger_pin, which is not set; valid: \
                                 trigger_pin in [gpio] set to the BCM number of the sensor or \
                                 button (such as trigger_pin = 22); {others}"
                            ),
                        );
                    }
                    GpioConfig::Cdev(g)
                        if g.trigger.is_none() && gpio.fields.ok("trigger_line") =>
                    {
                        self.report(
                            kind,
                            "trigger.kind",
                            format!(
                                "\"gpio\" needs gpio.trigger_line, which is not set; valid: \
                                 trigger_line in [gpio] set to the offset or name of the sensor \
                                 or button's line (such as trigger_line = 22); {others}"
                            ),
                        );
                    }
                    GpioConfig::Rppal(_) | GpioConfig::Cdev(_) => {}
                }
            }
            TriggerConfig::Gpio | TriggerConfig::Sim(_) | TriggerConfig::Socket(_) => {}
        }
    }

    /// `trigger_pull` and the like, written without their `trigger_pin` (`suffix`
    /// "pin") or `trigger_line` ("line").
    fn inputs_without_line(&mut self, f: &Fields, suffix: &str) {
        for (input, keys) in INPUTS {
            let pin = format!("{input}_{suffix}");
            if f.span(&pin).is_some() || !f.ok(&pin) {
                continue;
            }
            for key in keys {
                if let Some(span) = f.span(key) {
                    self.report(
                        &span,
                        &format!("gpio.{key}"),
                        format!(
                            "has no effect without {pin}; valid: set {pin} in [gpio] too, or \
                             remove this line"
                        ),
                    );
                }
            }
        }
    }

    /// Where a pin is set, for messages: `line 40` or `the default`.
    fn place(&self, span: &Option<Span>) -> String {
        match span {
            Some(s) => format!("line {}", self.pos(s.start).0),
            None => "by default".to_owned(),
        }
    }

    /// A line of `[gpio] kind = "cdev"` given to two keys (the same offset, or the
    /// same name): reported at the later one in the file. An offset and a name for
    /// the same line cannot be told apart before the chip is opened: the kernel
    /// refuses the second request then ("busy").
    fn lines_used_twice(&mut self, g: &CdevGpioConfig, f: &Fields) {
        let mut used: Vec<(&'static str, &LineSpec, Option<Span>)> = lines_by_key(g, LINE_KEYS)
            .into_iter()
            .filter(|(name, _)| f.ok(name))
            .filter_map(|(name, line)| line.map(|l| (name, &l.line, f.span(name))))
            .collect();
        used.sort_by_key(|(_, _, span)| span.as_ref().map(|s| s.start));
        for (i, (name, line, span)) in used.iter().enumerate() {
            let Some(span) = span else {
                continue;
            };
            if let Some((first, _, first_span)) = used[..i].iter().find(|(_, l, _)| l == line) {
                let place = self.place(first_span);
                let what = match line {
                    LineSpec::Offset(o) => format!("offset {o}"),
                    LineSpec::Name(n) => format!("the line named {n:?}"),
                };
                self.report(
                    span,
                    &format!("gpio.{name}"),
                    format!(
                        "{what} is already used by gpio.{first} ({place}); valid: a line no \
                         other input or output uses"
                    ),
                );
            }
        }
    }

    /// A pin given to two keys: reported at the later one (`used` is in file order).
    fn pins_used_twice(&mut self, used: &[UsedPin]) {
        for (i, u) in used.iter().enumerate() {
            let Some(span) = &u.span else {
                continue;
            };
            if let Some(first) = used[..i].iter().find(|o| o.pin == u.pin) {
                let place = self.place(&first.span);
                self.report(
                    span,
                    &format!("gpio.{}", u.name),
                    format!(
                        "BCM {} is already used by gpio.{} ({place}); valid: a BCM GPIO number \
                         no other input or output uses",
                        u.pin, first.name
                    ),
                );
            }
        }
    }

    /// Pins that the OLED's I2C bus needs (bus 1: BCM 2 and 3; bus 0: BCM 0 and 1),
    /// reported at the later of the pin key and `display.bus` (or `display.kind` when
    /// the bus is the default).
    fn i2c_pins(&mut self, bus: u8, display: &DeviceKeys, used: &[UsedPin]) {
        let Some((sda, scl)) = header::i2c_pins(bus) else {
            return;
        };
        let (key, span, by_default) = match display.fields.span("bus") {
            Some(s) => ("bus", s, false),
            None => match &display.kind {
                Some(s) => ("kind", s.clone(), true),
                None => return,
            },
        };
        let lines = format!("I2C bus {bus} (SDA=BCM {sda}, SCL=BCM {scl})");
        let mut earlier: Vec<String> = Vec::new();
        let mut moved: Vec<String> = Vec::new();
        for u in used.iter().filter(|u| u.pin == sda || u.pin == scl) {
            match &u.span {
                Some(s) if s.start > span.start => self.report(
                    s,
                    &format!("gpio.{}", u.name),
                    format!(
                        "BCM {} is used by the OLED's {lines}; valid: a BCM GPIO number other \
                         than {sda} and {scl}, or the OLED on another I2C bus",
                        u.pin
                    ),
                ),
                _ => {
                    earlier.push(format!(
                        "BCM {} by gpio.{} ({})",
                        u.pin,
                        u.name,
                        self.place(&u.span)
                    ));
                    moved.push(format!("gpio.{}", u.name));
                }
            }
        }
        if earlier.is_empty() {
            return;
        }
        let (what, another) = if by_default {
            (
                format!("\"ssd1306\" is on I2C bus {bus} by default (SDA=BCM {sda}, SCL=BCM {scl}), which"),
                "display.bus set to another bus",
            )
        } else {
            (lines, "another bus")
        };
        let other = if moved.len() == 1 {
            "another pin"
        } else {
            "other pins"
        };
        self.report(
            &span,
            &format!("display.{key}"),
            format!(
                "{what} needs pins already used: {}; valid: {another}, or {other} for {}",
                earlier.join(", "),
                moved.join(" and ")
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../config/livegate.toml");

    #[test]
    fn suggestions_only_when_close() {
        let session = keys_of_table("session");
        assert_eq!(
            suggest("action_timout", session.iter().copied()),
            Some("action_timeout")
        );
        assert_eq!(
            suggest("Cooldown", session.iter().copied()),
            Some("cooldown")
        );
        assert_eq!(suggest("lockot", session.iter().copied()), Some("lockout"));
        assert_eq!(suggest("colour", session.iter().copied()), None);
        assert_eq!(suggest("x", ["fps", "kind"]), None);
        assert_eq!(suggest("fsp", ["fps", "kind"]), Some("fps"));
        assert_eq!(suggest("ab", ["api"]), None);
        assert_eq!(suggest("sesion", TABLES), Some("session"));
        assert_eq!(suggest("hands", PARTS.iter().copied()), Some("hand"));
        assert_eq!(suggest("network", TABLES), None);
    }

    #[test]
    fn durations_show_as_written() {
        assert_eq!(show(Duration::ZERO), "0s");
        assert_eq!(show(Duration::from_millis(200)), "200ms");
        assert_eq!(show(Duration::from_millis(1500)), "1500ms");
        assert_eq!(show(Duration::from_secs(60)), "60s");
        assert_eq!(show(Duration::from_secs(180)), "3min");
        assert_eq!(show(Duration::from_secs(3600)), "1h");
        assert_eq!(show(Duration::from_secs(86_400)), "24h");
        assert_eq!(show(Duration::from_nanos(1_500)), "1us 500ns");
    }

    #[test]
    fn word_lists() {
        assert_eq!(one_of(&["sim"]), "\"sim\"");
        assert_eq!(one_of(&["face", "hand"]), "\"face\" or \"hand\"");
        assert_eq!(one_of(&["a", "b", "c"]), "\"a\", \"b\" or \"c\"");
        assert_eq!(
            table_list(),
            "[api], [session], [camera], [display], [gpio], [trigger], [log], [metrics]"
        );
    }

    #[test]
    fn numbers_show_as_written() {
        assert_eq!(number(60, true), "0x3C");
        assert_eq!(number(5, true), "0x05");
        assert_eq!(number(60, false), "60");
        assert_eq!(number_octal(0o660), "0o660");
        assert_eq!(number_octal(432), "0o660");
    }

    #[test]
    fn hints_for_numbers_in_quotes() {
        assert_eq!(
            decimal_hint("3").as_deref(),
            Some("write it without quotes: 3")
        );
        assert_eq!(
            decimal_hint("0x3C").as_deref(),
            Some("write it without quotes: 0x3C")
        );
        assert_eq!(decimal_hint("three"), None);
        assert_eq!(
            pin_hint("BCM 17").as_deref(),
            Some("write the BCM number without quotes: 17")
        );
        assert_eq!(
            pin_hint("gpio4").as_deref(),
            Some("write the BCM number without quotes: 4")
        );
        assert_eq!(pin_hint("pin 11"), None);
        assert_eq!(
            mode_hint("0660").as_deref(),
            Some("write it without quotes, as an octal number: 0o660")
        );
        assert_eq!(
            mode_hint("0o600").as_deref(),
            Some("write it without quotes, as an octal number: 0o600")
        );
        assert_eq!(mode_hint("rw-rw----"), None);
        assert_eq!(mode_hint("0"), None);
    }

    #[test]
    fn header_pins_above_bcm_27() {
        assert_eq!(header_to_bcm(40), Some(21));
        assert_eq!(header_to_bcm(28), Some(1));
        assert_eq!(header_to_bcm(37), Some(26));
        // Ground pins.
        assert_eq!(header_to_bcm(30), None);
        assert_eq!(header_to_bcm(34), None);
        assert_eq!(header_to_bcm(39), None);
        assert_eq!(header_to_bcm(41), None);
    }

    #[test]
    fn chmod_style_modes() {
        assert_eq!(
            octal_message("mode = 0640 # group may read"),
            "0640 starts with 0; valid: an octal number written with 0o in front, such as 0o640"
        );
        assert_eq!(
            octal_message("mode = 0999"),
            "0999 starts with 0; valid: an octal number written with 0o in front, such as 0o660"
        );
    }

    #[test]
    fn rotations_round_trip() {
        for r in Rotation::ALL {
            assert_eq!(Rotation::from_degrees(i64::from(r.degrees())), Some(r));
            assert_eq!(r.as_str(), r.degrees().to_string());
        }
        let Rule::Ints { values, hex: false } = ROTATIONS else {
            panic!("rotations are decimal numbers");
        };
        let degrees: Vec<i64> = Rotation::ALL
            .iter()
            .map(|r| i64::from(r.degrees()))
            .collect();
        assert_eq!(values, degrees.as_slice());
    }

    #[test]
    fn every_pin_key_is_in_the_schema() {
        let rppal = GPIO
            .kinds
            .iter()
            .find(|k| k.name == "rppal")
            .expect("rppal");
        let pin_keys: Vec<&str> = rppal
            .keys
            .iter()
            .filter(|k| matches!(k.rule, Rule::Pin))
            .map(|k| k.name)
            .collect();
        let listed: Vec<&str> = lines_by_key(&RppalGpioConfig::default(), PIN_KEYS)
            .iter()
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(pin_keys, listed);
        for (input, keys) in INPUTS {
            assert!(pin_keys.contains(&format!("{input}_pin").as_str()));
            for k in keys {
                assert!(rppal.keys.iter().any(|key| key.name == *k), "{k}");
            }
        }
    }

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let ck = Checker::new("ab\n\u{e9}t\u{e9} = 1\n", "f");
        assert_eq!(ck.pos(0), (1, 1));
        assert_eq!(ck.pos(2), (1, 3));
        assert_eq!(ck.pos(3), (2, 1));
        // "été" is 5 bytes, 3 characters.
        assert_eq!(ck.pos(3 + 5), (2, 4));
        assert_eq!(ck.pos(1000), (3, 1));
    }

    #[test]
    fn line_helpers() {
        assert_eq!(header_name("[session]").as_deref(), Some("session"));
        assert_eq!(header_name("  [[camera]] # c").as_deref(), Some("camera"));
        assert_eq!(header_name("[sesion").as_deref(), Some("sesion"));
        assert_eq!(header_name("mode = 3"), None);
        assert_eq!(line_key("  mode = 3").as_deref(), Some("mode"));
        assert_eq!(line_key("retries 2").as_deref(), Some("retries"));
        assert_eq!(line_key("  \"Smile\","), None);
        assert_eq!(line_key("# mode = 3"), None);
        assert_eq!(open_brackets("select = [\"a\", # ]"), 1);
        assert_eq!(open_brackets("x = \"[\" ]"), -1);
        assert_eq!(open_brackets("x = '[' \"\\\"[\""), 0);
    }

    #[test]
    fn syntax_errors_are_labelled_with_their_key() {
        let text = "[api]\nselect = [\n  \"Smile\"\n  \"Turn_left\",\n]\nretries 2\n";
        let ck = Checker::new(text, "f");
        assert_eq!(ck.context_label(4), "api.select");
        assert_eq!(ck.context_label(6), "api.retries");
        assert_eq!(ck.context_label(1), "api");
        assert_eq!(Checker::new("= 3\n", "f").context_label(1), "syntax");
    }

    #[test]
    fn choices_match_the_types_they_name() {
        let performers: Vec<&str> = Performer::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(PERFORMERS, performers.as_slice());
        for p in PARTS {
            assert_eq!(parse_part(p).map(Part::as_str), Some(*p));
        }
    }

    #[test]
    fn every_table_has_distinct_keys_and_kind_is_reserved() {
        for t in TABLES {
            let keys = keys_of_table(t);
            assert!(!keys.is_empty(), "{t}");
            let set: BTreeSet<_> = keys.iter().collect();
            assert_eq!(set.len(), keys.len(), "{t}");
        }
        fn no_kind<T>(d: &Device<T>) {
            assert!(!d.kinds.is_empty(), "{}", d.table);
            for k in d.kinds {
                assert!(k.keys.iter().all(|key| key.name != "kind"), "{}", d.table);
            }
        }
        no_kind(&CAMERA);
        no_kind(&DISPLAY);
        no_kind(&GPIO);
        no_kind(&TRIGGER);
    }

    /// The shipped example documents every key, in its own table (optional paths may be
    /// commented out).
    #[test]
    fn shipped_example_documents_every_key() {
        let mut found: BTreeSet<String> = BTreeSet::new();
        let mut table = String::new();
        for line in SHIPPED.lines() {
            if let Some(h) = header_name(line) {
                table = h;
            } else if let Some(k) = line_key(line.trim_start().trim_start_matches('#')) {
                if line.contains('=') {
                    found.insert(format!("{table}.{k}"));
                }
            }
        }
        for t in TABLES {
            for k in keys_of_table(t) {
                assert!(
                    found.contains(&format!("{t}.{k}")),
                    "{t}.{k} is not in the example"
                );
            }
        }
    }

    // A device with two kinds, to exercise the per-kind schema.
    fn build_a(f: &Fields) -> (&'static str, u32) {
        ("a", f.int("fps").unwrap_or(0))
    }
    fn build_b(f: &Fields) -> (&'static str, u32) {
        ("b", f.int("fps").unwrap_or(0))
    }
    const TWO: Device<(&'static str, u32)> = Device {
        table: "camera",
        kinds: &[
            Kind {
                name: "a",
                keys: &[key("fps", int(1, 30))],
                build: build_a,
            },
            Kind {
                name: "b",
                keys: &[
                    key("device", Rule::Path { absolute: true }),
                    key("fps", int(1, 60)),
                ],
                build: build_b,
            },
        ],
    };

    fn run_two(text: &str) -> ((&'static str, u32), Vec<String>) {
        let mut ck = Checker::new(text, "t.toml");
        let (root, errors) = DeTable::parse_recoverable(text);
        assert!(errors.is_empty(), "{errors:?}");
        let tables = ck.top_level(root.get_ref());
        let t = tables.iter().find(|(n, _)| *n == "camera").map(|(_, t)| *t);
        let (built, _) = ck.check_device(&TWO, t);
        (built, ck.problems.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn device_kind_selects_its_keys() {
        assert_eq!(run_two(""), (("a", 0), vec![]));
        assert_eq!(run_two("[camera]\nfps = 20\n"), (("a", 20), vec![]));
        assert_eq!(
            run_two("[camera]\nkind = \"b\"\ndevice = \"/dev/video0\"\nfps = 50\n"),
            (("b", 50), vec![])
        );
        assert_eq!(
            run_two("[camera]\nfps = 50\n").1,
            ["t.toml:2:7: camera.fps: 50 is out of range; valid: a whole number from 1 to 30"]
        );
    }

    #[test]
    fn device_key_of_another_kind_says_which() {
        assert_eq!(
            run_two("[camera]\ndevice = \"/dev/video0\"\nfsp = 3\n").1,
            [
                "t.toml:2:1: camera.device: applies only to kind = \"b\"; valid keys in \
                 [camera] with kind = \"a\": kind, fps",
                "t.toml:3:1: camera.fsp: unknown key; did you mean \"fps\"? valid keys in \
                 [camera] with kind = \"a\": kind, fps",
            ]
        );
    }

    #[test]
    fn device_unknown_kind_checks_known_values_only() {
        let (built, problems) = run_two("[camera]\nkind = \"c\"\nzoom = 2\ndevice = \"video0\"\n");
        assert_eq!(built, ("a", 0));
        assert_eq!(
            problems,
            [
                "t.toml:2:8: camera.kind: \"c\" is not valid; valid: \"a\" or \"b\"",
                "t.toml:4:10: camera.device: \"video0\" is a relative path; valid: an \
                 absolute path, starting with \"/\"",
            ]
        );
    }

    #[test]
    fn fields_fall_back_when_types_do_not_fit() {
        let mut f = Fields::default();
        f.got.insert("fps", (Val::Int(300), 0..1));
        f.got.insert("terminal", (Val::Bool(true), 0..1));
        assert_eq!(f.int::<u8>("fps"), None);
        assert_eq!(f.int::<u32>("fps"), Some(300));
        assert_eq!(f.dur("fps"), None);
        assert_eq!(f.flag("terminal"), Some(true));
        assert_eq!(f.text("missing"), None);
        assert!(f.ok("missing"));
    }

    #[test]
    fn blanking_keeps_offsets() {
        let text = "[api]\nretries 2\n[session]\ncooldown = 3\n";
        let ck = Checker::new(text, "f");
        let (clean, errors) = ck.syntax_errors();
        assert_eq!(clean.len(), text.len());
        assert_eq!(clean, "[api]\n         \n[session]\ncooldown = 3\n");
        assert_eq!(errors.len(), 1);
        assert_eq!(ck.pos(errors[0].span.start), (2, 9));
    }

    #[test]
    fn an_open_list_is_blamed_not_its_echoes() {
        let text = "[api]\nselect = [\"Smile\",\n  \"Look_up\",\nmode = 0\n";
        let ck = Checker::new(text, "f");
        let (clean, errors) = ck.syntax_errors();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].message, "unclosed array, expected `]`");
        assert_eq!(ck.pos(errors[0].span.start), (2, 19));
        assert!(clean.ends_with("mode = 0\n"));
    }
}

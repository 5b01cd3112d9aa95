//! Simulated relays: record every change with its time, so tests count pulses and
//! measure their length; with a [`StateFile`], their levels are also written to a
//! file that another process can read (the test of `safe-outputs` after a kill).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{GpioError, Relay};

/// What the simulated relays (`[gpio] kind = "sim"`) are told.
#[derive(Clone, Debug, PartialEq)]
pub struct SimGpioOptions {
    /// Gate relay pulse length.
    pub gate_pulse: Duration,
    /// Fail output pulse length.
    pub fail_pulse: Duration,
    /// Where the simulated relays write their levels (`gate=0` / `fail=1` lines) at
    /// every change, for tests across processes; `None`: nowhere.
    pub state_file: Option<PathBuf>,
}

/// One completed pulse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pulse {
    pub started: Instant,
    pub length: Duration,
}

#[derive(Default)]
struct State {
    active_since: Option<Instant>,
    pulses: Vec<Pulse>,
}

/// The file the simulated relays write their levels to: one `name=0|1` line per
/// relay, replaced whole (written aside, then renamed) at every change.
#[derive(Clone, Debug)]
pub struct StateFile {
    path: PathBuf,
    levels: Arc<Mutex<BTreeMap<&'static str, bool>>>,
}

impl StateFile {
    pub fn new(path: &Path) -> Self {
        StateFile {
            path: path.to_owned(),
            levels: Arc::default(),
        }
    }

    fn record(&self, name: &'static str, active: bool) -> std::io::Result<()> {
        let mut levels = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        levels.insert(name, active);
        let text: String = levels
            .iter()
            .map(|(n, on)| format!("{n}={}\n", u8::from(*on)))
            .collect();
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path)
    }

    /// The levels written in the file at `path`: relay name → energised.
    pub fn read(path: &Path) -> std::io::Result<BTreeMap<String, bool>> {
        let text = std::fs::read_to_string(path)?;
        Ok(text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(n, v)| (n.to_owned(), v.trim() == "1"))
            .collect())
    }
}

/// A relay that remembers. Clones share the record.
#[derive(Clone)]
pub struct SimRelay {
    name: &'static str,
    state: Arc<Mutex<State>>,
    file: Option<StateFile>,
}

impl SimRelay {
    pub fn new(name: &'static str) -> Self {
        SimRelay {
            name,
            state: Arc::default(),
            file: None,
        }
    }

    /// The same relay, also writing its level to `file` at every `set`.
    pub fn with_state_file(mut self, file: StateFile) -> Self {
        self.file = Some(file);
        self
    }

    /// Completed pulses so far.
    pub fn pulses(&self) -> Vec<Pulse> {
        self.lock().pulses.clone()
    }

    /// Whether the output is energised now.
    pub fn is_active(&self) -> bool {
        self.lock().active_since.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned record is still the truth: take it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Relay for SimRelay {
    fn name(&self) -> &'static str {
        self.name
    }

    fn set(&self, active: bool) -> Result<(), GpioError> {
        let now = Instant::now();
        let mut st = self.lock();
        match (active, st.active_since) {
            (true, None) => st.active_since = Some(now),
            (false, Some(since)) => {
                st.active_since = None;
                st.pulses.push(Pulse {
                    started: since,
                    length: now - since,
                });
            }
            _ => {}
        }
        drop(st);
        if let Some(f) = &self.file {
            f.record(self.name, active).map_err(|e| GpioError::Io {
                output: self.name,
                why: format!("cannot write {}: {e}", f.path.display()),
            })?;
        }
        Ok(())
    }
}

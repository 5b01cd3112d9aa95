//! The relay wiring the running daemon claimed (and the Wiegand output's lines, when
//! it drives them), recorded under its runtime directory
//! (`$RUNTIME_DIRECTORY/wiring.toml`, else `/run/livegate/wiring.toml`) at start and
//! at every accepted reload, so that `livegate safe-outputs` (systemd's
//! `ExecStopPost`) drives the relays inactive and the Wiegand lines idle whatever
//! state the configuration file is in: the record first, then a lenient read of the file's `[gpio]` table alone;
//! with neither it says that it cannot know the wiring. It never guesses pins.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::gpio::line::LineSpec;

/// The record's file name in the runtime directory.
pub const RECORD_NAME: &str = "wiring.toml";
/// The runtime directory when systemd names none (`RuntimeDirectory=livegate`).
pub const DEFAULT_RUNTIME_DIR: &str = "/run/livegate";
/// The largest record read.
const MAX_RECORD_BYTES: u64 = 16 << 10;

/// The Wiegand output to a panel's reader port: its D0 and D1 lines (BCM numbers for
/// rppal, offsets or names for cdev), idle high, or low behind an inverting stage
/// (`[reader] inverted`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WiegandOut<L> {
    pub d0: L,
    pub d1: L,
    #[serde(default)]
    pub inverted: bool,
}

impl<L: std::fmt::Display> WiegandOut<L> {
    fn describe(&self, line: &str) -> String {
        format!(
            ", Wiegand out D0 {line} {}, D1 {line} {} (idle {})",
            self.d0,
            self.d1,
            if self.inverted { "low" } else { "high" }
        )
    }
}

/// Which outputs the relays are, and at which level each is inactive; the Wiegand
/// output's lines and their idle level, when the daemon drives them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Wiring {
    /// Simulated relays (and the file they write their levels to, if any).
    Sim {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state_file: Option<PathBuf>,
    },
    /// The Pi's pins (BCM numbers).
    Rppal {
        gate_pin: u8,
        gate_active_low: bool,
        fail_pin: u8,
        fail_active_low: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wiegand_out: Option<WiegandOut<u8>>,
    },
    /// Lines of a GPIO chip: an offset on `chip` ("17") or a line name ("GPIO17").
    Cdev {
        chip: PathBuf,
        gate_line: String,
        gate_active_low: bool,
        fail_line: String,
        fail_active_low: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        wiegand_out: Option<WiegandOut<String>>,
    },
}

/// Why the wiring could not be known.
#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error("cannot read {path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("cannot write {path}: {cause}")]
    Write { path: String, cause: std::io::Error },
    #[error("{path} is not to be trusted: {why}")]
    Untrusted { path: String, why: String },
    #[error("{path} is not a wiring record: {why}")]
    Garbled { path: String, why: String },
    #[error("{path} has no [gpio] table that can be read on its own")]
    NoGpioTable { path: String },
    #[error("{path}: [gpio] has problems of its own:\n{problems}")]
    GpioProblems { path: String, problems: String },
}

impl Wiring {
    /// A record's lines can be claimed: a cdev line is an offset or a name (the
    /// `[gpio]` table it makes is built by `config`: `Wiring::gpio_config`).
    pub fn check(&self) -> Result<(), String> {
        if let Wiring::Cdev {
            gate_line,
            fail_line,
            wiegand_out,
            ..
        } = self
        {
            let wiegand = wiegand_out.iter().flat_map(|w| [&w.d0, &w.d1]);
            for s in [gate_line, fail_line].into_iter().chain(wiegand) {
                line_spec(s)?;
            }
        }
        Ok(())
    }

    /// In words, for messages.
    pub fn describe(&self) -> String {
        let low = |l: bool| if l { "active low" } else { "active high" };
        match self {
            Wiring::Sim { .. } => "simulated relays".to_owned(),
            Wiring::Rppal {
                gate_pin,
                gate_active_low,
                fail_pin,
                fail_active_low,
                wiegand_out,
            } => format!(
                "rppal: gate BCM {gate_pin} ({}), fail BCM {fail_pin} ({}){}",
                low(*gate_active_low),
                low(*fail_active_low),
                wiegand_out
                    .as_ref()
                    .map(|w| w.describe("BCM"))
                    .unwrap_or_default()
            ),
            Wiring::Cdev {
                chip,
                gate_line,
                gate_active_low,
                fail_line,
                fail_active_low,
                wiegand_out,
            } => format!(
                "cdev: {}: gate line {gate_line} ({}), fail line {fail_line} ({}){}",
                chip.display(),
                low(*gate_active_low),
                low(*fail_active_low),
                wiegand_out
                    .as_ref()
                    .map(|w| w.describe("line"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// A recorded cdev line (an offset or a name), or why it is not one.
pub fn line_spec(s: &str) -> Result<LineSpec, String> {
    LineSpec::parse(s).map_err(|e| format!("line {s:?}: {e}"))
}

/// Where the record is: `$RUNTIME_DIRECTORY` (its first folder) or `/run/livegate`.
pub fn record_path() -> PathBuf {
    let dir = std::env::var_os("RUNTIME_DIRECTORY")
        .and_then(|d| {
            d.to_str()
                .and_then(|s| s.split(':').next())
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RUNTIME_DIR));
    dir.join(RECORD_NAME)
}

/// Writes the record atomically (aside, synced, renamed over), readable and
/// writable by its owner only.
pub fn write_record(path: &Path, wiring: &Wiring) -> Result<(), WiringError> {
    let shown = path.display().to_string();
    let werr = |cause| WiringError::Write {
        path: shown.clone(),
        cause,
    };
    let body = toml::to_string(wiring)
        .map_err(|e| werr(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    let text = format!(
        "# The relay wiring claimed by livegate run (pid {}); read by livegate safe-outputs.\n{body}",
        std::process::id()
    );
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(werr(e));
    }
    Ok(())
}

/// The record, when there is one: `Ok(None)` when the file does not exist. A record
/// that is not a regular file of this user or root, or that others may write, is
/// refused.
pub fn read_record(path: &Path) -> Result<Option<Wiring>, WiringError> {
    let shown = path.display().to_string();
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(cause) => return Err(WiringError::Read { path: shown, cause }),
    };
    let untrusted = |why: String| WiringError::Untrusted {
        path: shown.clone(),
        why,
    };
    if !meta.file_type().is_file() {
        return Err(untrusted("not a regular file".into()));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me && meta.uid() != 0 {
        return Err(untrusted(format!(
            "owned by uid {}, neither this user nor root",
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(untrusted(format!(
            "others may write it (mode {:04o})",
            meta.mode() & 0o7777
        )));
    }
    let text =
        crate::safefile::read_text(path, MAX_RECORD_BYTES).map_err(|cause| WiringError::Read {
            path: shown.clone(),
            cause,
        })?;
    let wiring: Wiring = toml::from_str(&text).map_err(|e| WiringError::Garbled {
        path: shown.clone(),
        why: e.message().to_owned(),
    })?;
    wiring
        .check()
        .map_err(|why| WiringError::Garbled { path: shown, why })?;
    Ok(Some(wiring))
}

/// The text of the one `[want]` table of a TOML text (`gpio`, `reader`), from its
/// header to the next table header; `None` when there is none or more than one.
pub fn table_text(text: &str, want: &str) -> Option<String> {
    let header = |line: &str| -> Option<String> {
        let t = line.trim();
        let inner = t.strip_prefix('[')?;
        let end = inner.find(']')?;
        let rest = inner[end + 1..].trim();
        (rest.is_empty() || rest.starts_with('#')).then(|| inner[..end].trim().to_owned())
    };
    let mut found: Option<String> = None;
    let mut inside = false;
    let mut count = 0;
    for line in text.lines() {
        match header(line) {
            Some(name) => {
                inside = name == want;
                if inside {
                    count += 1;
                    found = Some(format!("[{want}]\n"));
                }
            }
            None if inside => {
                if let Some(f) = found.as_mut() {
                    f.push_str(line);
                    f.push('\n');
                }
            }
            None => {}
        }
    }
    if count == 1 {
        found
    } else {
        None
    }
}

/// One record of each backend, for the tests here and in `config/wiring.rs`.
#[cfg(test)]
pub(crate) fn examples() -> [Wiring; 6] {
    [
        Wiring::Sim { state_file: None },
        Wiring::Sim {
            state_file: Some("/tmp/relays".into()),
        },
        Wiring::Rppal {
            gate_pin: 5,
            gate_active_low: false,
            fail_pin: 6,
            fail_active_low: true,
            wiegand_out: None,
        },
        Wiring::Cdev {
            chip: "/dev/gpiochip1".into(),
            gate_line: "GPIO17".into(),
            gate_active_low: true,
            fail_line: "27".into(),
            fail_active_low: false,
            wiegand_out: None,
        },
        Wiring::Rppal {
            gate_pin: 5,
            gate_active_low: false,
            fail_pin: 6,
            fail_active_low: true,
            wiegand_out: Some(WiegandOut {
                d0: 20,
                d1: 21,
                inverted: false,
            }),
        },
        Wiring::Cdev {
            chip: "/dev/gpiochip0".into(),
            gate_line: "17".into(),
            gate_active_low: false,
            fail_line: "27".into(),
            fail_active_low: false,
            wiegand_out: Some(WiegandOut {
                d0: "GPIO20".into(),
                d1: "21".into(),
                inverted: true,
            }),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("livegate-wiring-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn every_backend_round_trips_through_the_record() {
        let d = scratch("roundtrip");
        let p = d.join(RECORD_NAME);
        for w in examples() {
            write_record(&p, &w).unwrap();
            assert_eq!(read_record(&p).unwrap(), Some(w.clone()));
            assert_eq!(w.check(), Ok(()));
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn no_record_is_none_and_a_writable_or_garbled_one_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = scratch("refused");
        let p = d.join(RECORD_NAME);
        assert!(read_record(&p).unwrap().is_none());
        std::fs::write(&p, "kind = \"rppal\"\ngate_pin = 5\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(read_record(&p), Err(WiringError::Garbled { .. })));
        write_record(
            &p,
            &Wiring::Rppal {
                gate_pin: 5,
                gate_active_low: true,
                fail_pin: 6,
                fail_active_low: true,
                wiegand_out: None,
            },
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(
            read_record(&p),
            Err(WiringError::Untrusted { .. })
        ));
        let _ = std::fs::remove_dir_all(&d);
    }
}

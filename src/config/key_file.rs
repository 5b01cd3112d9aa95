//! The API key and the extra CA: where the key is found (`api.key_file`, the systemd
//! credential, or `aigen-key` beside the configuration), and the checks a key file
//! and a CA file must pass before `run`, `check-config` and `test api` use them.

use std::path::{Path, PathBuf};

use super::Config;
use crate::secret::ApiKey;

/// The systemd credential name holding the API key.
pub const CREDENTIAL_NAME: &str = "aigen-key";

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
pub(super) fn permission_advice(e: &std::io::Error) -> &'static str {
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
}

//! Logging: journald under systemd, readable stderr elsewhere.

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Where the logs went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    Journald,
    Stderr,
}

/// Journal priorities by level: info is 6 (informational), as `journalctl -p info`
/// users expect (tracing-journald's default makes it 5, notice).
pub fn priority_mappings() -> tracing_journald::PriorityMappings {
    use tracing_journald::Priority;
    tracing_journald::PriorityMappings {
        error: Priority::Error,
        warn: Priority::Warning,
        info: Priority::Informational,
        debug: Priority::Debug,
        trace: Priority::Debug,
    }
}

/// Installs the global subscriber. `level` comes from the config (`[log] level`);
/// `RUST_LOG`, when set, overrides it. Journald is used when systemd connected the
/// process to the journal (`JOURNAL_STREAM`) and the journal socket answers.
pub fn init(level: &str) -> Sink {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("livegate={level},warn")));
    let under_systemd = std::env::var_os("JOURNAL_STREAM").is_some();
    if under_systemd {
        if let Ok(journald) = tracing_journald::layer() {
            let done = tracing_subscriber::registry()
                .with(filter)
                .with(
                    journald
                        .with_syslog_identifier("livegate".into())
                        // Fields as themselves: REQUEST_ID, ACTION, VERDICT, REASON,
                        // LATENCY_MS (the default would prefix them with F_).
                        .with_field_prefix(None)
                        .with_priority_mappings(priority_mappings()),
                )
                .try_init();
            if done.is_ok() {
                return Sink::Journald;
            }
            return Sink::Stderr;
        }
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
    Sink::Stderr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_is_informational_in_the_journal() {
        let m = priority_mappings();
        assert_eq!(
            [m.error, m.warn, m.info, m.debug, m.trace].map(|p| p as u8),
            [b'3', b'4', b'6', b'7', b'7']
        );
    }
}

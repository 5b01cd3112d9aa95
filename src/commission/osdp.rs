//! `livegate test osdp`: answers the panel as the configured OSDP reader for a while
//! and prints what happens on the link and what the panel asks for; with a card, it
//! reports it once the link is up, as a pass would.

use std::future::Future;
use std::io::Write;
use std::time::{Duration, Instant};

use livegate_core::wiegand::Card;

use crate::reader::osdp::{probe_port, LinkState, Osdp, OsdpError, OsdpOptions};

/// Why the test could not run.
#[derive(Debug, thiserror::Error)]
pub enum OsdpTestError {
    #[error(transparent)]
    Osdp(#[from] OsdpError),
    #[error("cannot write the report: {0}")]
    Write(#[from] std::io::Error),
}

/// What the test saw, for its summary (and for tests).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OsdpSeen {
    pub online: bool,
    pub secure: bool,
    pub commands: usize,
    pub card_sent: bool,
}

/// Answers the panel for `listen` (or until `stop` resolves: Ctrl-C), printing each
/// change of the link and each command from the panel; sends `card` once when the
/// link is up (and secure, with a key).
pub async fn test_osdp(
    opts: OsdpOptions,
    listen: Duration,
    card: Option<Card>,
    w: &mut dyn Write,
    stop: impl Future,
) -> Result<OsdpSeen, OsdpTestError> {
    let secure = opts.key.is_some();
    writeln!(
        w,
        "OSDP test: answering as reader address {} on {} at {} baud, {}, for {} s.",
        opts.address,
        opts.port.display(),
        opts.baud,
        if secure {
            "secure channel with the site's key"
        } else {
            "WITHOUT a key (no secure channel: for commissioning only)"
        },
        listen.as_secs()
    )?;
    if let Err(e) = probe_port(&opts) {
        writeln!(w, "{e}")?;
        writeln!(
            w,
            "Check the port's path (ls /dev/serial/by-id/), that the adapter is plugged \
             in, and that livegate may use it (the dialout group)."
        )?;
        return Err(e.into());
    }
    let (reader, mut commands) = Osdp::start(opts)?;
    let mut state = reader.state();
    let mut seen = OsdpSeen::default();
    let mut pending = card;
    let start = Instant::now();
    let stamp = |w: &mut dyn Write| write!(w, "[{:>7.3} s] ", start.elapsed().as_secs_f64());
    let until = tokio::time::Instant::now() + listen;
    tokio::pin!(stop);
    let mut last = LinkState::default();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep_until(until) => break,
            changed = state.changed() => {
                if changed.is_err() {
                    stamp(w)?;
                    writeln!(w, "the reader stopped")?;
                    break;
                }
                let now = *state.borrow_and_update();
                for line in describe_change(last, now) {
                    stamp(w)?;
                    writeln!(w, "{line}")?;
                }
                seen.online |= now.online;
                seen.secure |= now.secure;
                last = now;
                if now.online && (now.secure || !secure) {
                    if let Some(c) = pending.take() {
                        stamp(w)?;
                        match reader.card_read(&c) {
                            Ok(()) => {
                                seen.card_sent = true;
                                writeln!(w, "card {}: reported to the panel ({} bits: {})",
                                    c.format(), c.format().bits(), c.encode())?;
                            }
                            Err(e) => writeln!(w, "card not reported: {e}")?,
                        }
                    }
                }
            }
            cmd = commands.recv() => {
                let Some(cmd) = cmd else { break };
                seen.commands += 1;
                stamp(w)?;
                writeln!(w, "panel: {}", cmd)?;
            }
        }
        w.flush()?;
    }
    reader.stop();
    writeln!(w, "Stopped.")?;
    for line in advice(&seen, secure, card.is_some()) {
        writeln!(w, "{line}")?;
    }
    Ok(seen)
}

fn describe_change(was: LinkState, now: LinkState) -> Vec<&'static str> {
    let mut lines = Vec::new();
    if now.port_open != was.port_open {
        lines.push(if now.port_open {
            "port open, waiting for the panel's poll"
        } else {
            "port closed (see the log); trying again"
        });
    }
    if now.online != was.online {
        lines.push(if now.online {
            "panel online: it polls this reader"
        } else {
            "panel offline: no poll for a while"
        });
    }
    if now.secure != was.secure {
        lines.push(if now.secure {
            "secure channel up: the panel has the site's key"
        } else {
            "secure channel down"
        });
    }
    lines
}

fn advice(seen: &OsdpSeen, secure: bool, card: bool) -> Vec<String> {
    let mut lines = Vec::new();
    if !seen.online {
        lines.push(
            "No poll from the panel: check the RS-485 wiring (swap A and B if unsure, \
             common ground), and that the panel expects this address and baud rate."
                .to_owned(),
        );
    } else if secure && !seen.secure {
        lines.push(
            "The panel polls but no secure channel came up: the panel's key for this \
             reader is not the site's key in the key file (or the panel has none set)."
                .to_owned(),
        );
    } else {
        lines.push(format!(
            "The link works{}; {} command(s) from the panel.",
            if seen.secure {
                " over the secure channel"
            } else {
                ""
            },
            seen.commands
        ));
    }
    if card && !seen.card_sent {
        lines.push("The card was not reported: the link never came up.".to_owned());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::osdp::PanelCommand;

    #[tokio::test]
    async fn a_missing_port_says_what_to_check() {
        let opts = OsdpOptions::new("/nonexistent/ttyUSB9", 9600, 1, None);
        let mut out = Vec::new();
        let r = test_osdp(
            opts,
            Duration::from_secs(1),
            None,
            &mut out,
            std::future::pending::<()>(),
        )
        .await;
        assert!(matches!(
            r,
            Err(OsdpTestError::Osdp(OsdpError::Open { .. }))
        ));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("/nonexistent/ttyUSB9"), "{text}");
        assert!(text.contains("dialout"), "{text}");
    }

    #[test]
    fn advice_points_at_the_wiring_or_the_key() {
        let none = OsdpSeen::default();
        assert!(advice(&none, true, false)[0].contains("swap A and B"));
        let polled = OsdpSeen {
            online: true,
            ..OsdpSeen::default()
        };
        assert!(advice(&polled, true, false)[0].contains("key"));
        let good = OsdpSeen {
            online: true,
            secure: true,
            commands: 2,
            card_sent: true,
        };
        assert_eq!(
            advice(&good, true, true),
            vec!["The link works over the secure channel; 2 command(s) from the panel."]
        );
    }

    #[test]
    fn commands_read_as_words() {
        let buzz = PanelCommand::Buzzer {
            reader: 0,
            tone: 2,
            on: Duration::from_millis(200),
            off: Duration::from_millis(100),
            repeat: 3,
        };
        assert_eq!(
            buzz.to_string(),
            "buzzer: tone 2, 200 ms on, 100 ms off, 3 times"
        );
        let out = PanelCommand::Output {
            output: 0,
            control: 5,
            timer: Duration::from_secs(1),
        };
        assert_eq!(
            out.to_string(),
            "output 0: control 5, 1000 ms (livegate has no OSDP outputs)"
        );
    }
}

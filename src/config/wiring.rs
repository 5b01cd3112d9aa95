//! The relay wiring (`crate::wiring`'s record for `safe-outputs`) to and from the
//! `[gpio]` table (and `[reader]`, for the Wiegand output's lines): the
//! configuration's side of the record, so that `wiring.rs` needs nothing of the
//! configuration.

use std::path::Path;

use super::{CdevGpioConfig, Config, GpioConfig, RppalGpioConfig, SimGpioOptions};
use crate::gpio::line::{Bcm, ChipLine};
use crate::gpio::output::OutputOptions;
use crate::gpio::GpioLines;
use crate::wiring::{line_spec, table_text, WiegandOut, Wiring, WiringError};

/// The Wiegand output lines `lines` has, when `[reader]` drives them.
fn wiegand_out<A, L>(
    lines: &GpioLines<A>,
    cfg: &Config,
    name: impl Fn(&A) -> L,
) -> Option<WiegandOut<L>> {
    let (d0, d1) = lines.wiegand.output()?;
    (cfg.reader.output == "wiegand").then(|| WiegandOut {
        d0: name(d0),
        d1: name(d1),
        inverted: cfg.reader.inverted,
    })
}

/// Whether a broken file's `[reader]` drives the Wiegand output, and inverted:
/// `Some` only when that table reads on its own as TOML with `output = "wiegand"`
/// and `inverted` a boolean or absent (the rest of `[reader]` does not matter here);
/// `None` otherwise, and the lines are left alone: their idle level is not guessed.
fn wiegand_output_of(text: &str) -> Option<bool> {
    let table: toml::Table = toml::from_str(&table_text(text, "reader")?).ok()?;
    let reader = table.get("reader")?.as_table()?;
    if reader.get("output")?.as_str()? != "wiegand" {
        return None;
    }
    match reader.get("inverted") {
        None => Some(false),
        Some(v) => v.as_bool(),
    }
}

impl Wiring {
    /// What `livegate run` claims with `cfg`: the relays of `[gpio]`, and the
    /// Wiegand output's lines when `[reader] output = "wiegand"`.
    pub fn claimed(cfg: &Config) -> Wiring {
        let mut w = Wiring::of(&cfg.gpio);
        match (&mut w, &cfg.gpio) {
            (Wiring::Rppal { wiegand_out: o, .. }, GpioConfig::Rppal(g)) => {
                *o = wiegand_out(g, cfg, |b| b.0);
            }
            (Wiring::Cdev { wiegand_out: o, .. }, GpioConfig::Cdev(g)) => {
                *o = wiegand_out(g, cfg, |l| l.line.text());
            }
            _ => {}
        }
        w
    }

    /// The relay wiring of a `[gpio]` table (no Wiegand lines: their idle level is
    /// `[reader]`'s, [`Wiring::claimed`]).
    pub fn of(gpio: &GpioConfig) -> Wiring {
        match gpio {
            GpioConfig::Sim(g) => Wiring::Sim {
                state_file: g.state_file.clone(),
            },
            GpioConfig::Rppal(g) => Wiring::Rppal {
                gate_pin: g.gate.line.0,
                gate_active_low: g.gate.active_low,
                fail_pin: g.fail.line.0,
                fail_active_low: g.fail.active_low,
                wiegand_out: None,
            },
            // One `chip` key for the table: the gate's is every line's.
            GpioConfig::Cdev(g) => Wiring::Cdev {
                chip: g.gate.line.chip.clone(),
                gate_line: g.gate.line.line.text(),
                gate_active_low: g.gate.active_low,
                fail_line: g.fail.line.line.text(),
                fail_active_low: g.fail.active_low,
                wiegand_out: None,
            },
        }
    }

    /// A configuration with this wiring, to claim it: [`Wiring::gpio_config`], and
    /// `[reader]`'s Wiegand output when the record has its lines.
    pub fn config(&self) -> Result<Config, String> {
        let mut cfg = Config {
            gpio: self.gpio_config()?,
            ..Config::default()
        };
        let inverted = match self {
            Wiring::Rppal { wiegand_out, .. } => wiegand_out.as_ref().map(|w| w.inverted),
            Wiring::Cdev { wiegand_out, .. } => wiegand_out.as_ref().map(|w| w.inverted),
            Wiring::Sim { .. } => None,
        };
        if let Some(inverted) = inverted {
            cfg.reader.output = "wiegand".into();
            cfg.reader.inverted = inverted;
        }
        Ok(cfg)
    }

    /// A `[gpio]` table with this wiring (default pulses, no inputs; the Wiegand
    /// output's lines when recorded), to claim it.
    pub fn gpio_config(&self) -> Result<GpioConfig, String> {
        fn relay<A, B>(line: A, active_low: bool, d: OutputOptions<B>) -> OutputOptions<A> {
            OutputOptions {
                line,
                active_low,
                pulse: d.pulse,
            }
        }
        Ok(match self {
            Wiring::Sim { state_file } => GpioConfig::Sim(SimGpioOptions {
                gate_pulse: Config::default().gpio.gate_pulse(),
                fail_pulse: Config::default().gpio.fail_pulse(),
                state_file: state_file.clone(),
            }),
            Wiring::Rppal {
                gate_pin,
                gate_active_low,
                fail_pin,
                fail_active_low,
                wiegand_out,
            } => {
                let d = RppalGpioConfig::default();
                let mut wiegand = d.wiegand.clone();
                if let Some(w) = wiegand_out {
                    (wiegand.out_d0, wiegand.out_d1) = (Some(Bcm(w.d0)), Some(Bcm(w.d1)));
                }
                GpioConfig::Rppal(RppalGpioConfig {
                    gate: relay(Bcm(*gate_pin), *gate_active_low, d.gate),
                    fail: relay(Bcm(*fail_pin), *fail_active_low, d.fail),
                    wiegand,
                    ..d
                })
            }
            Wiring::Cdev {
                chip,
                gate_line,
                gate_active_low,
                fail_line,
                fail_active_low,
                wiegand_out,
            } => {
                let line = |s: &str| line_spec(s).map(|l| ChipLine::new(chip.clone(), l));
                let d = CdevGpioConfig::default();
                let mut wiegand = d.wiegand.clone();
                if let Some(w) = wiegand_out {
                    (wiegand.out_d0, wiegand.out_d1) = (Some(line(&w.d0)?), Some(line(&w.d1)?));
                }
                GpioConfig::Cdev(CdevGpioConfig {
                    gate: relay(line(gate_line)?, *gate_active_low, d.gate),
                    fail: relay(line(fail_line)?, *fail_active_low, d.fail),
                    wiegand,
                    ..d
                })
            }
        })
    }
}

impl Wiring {
    /// The wiring named by the configuration file at `path`: the whole file when it is
    /// valid, else its `[gpio]` table read on its own (a mistake elsewhere does not
    /// matter), with `[reader]`'s `output` and `inverted` when they read too (the
    /// Wiegand output's lines and their idle level; else those lines are left
    /// alone). A
    /// `[gpio]` table that is missing from a broken file, given twice, or with
    /// problems of its own is an error: the wiring is not guessed.
    pub fn from_config_file(path: &Path) -> Result<Wiring, WiringError> {
        let shown = path.display().to_string();
        let text = crate::safefile::read_text(path, crate::safefile::MAX_CONFIG_BYTES).map_err(
            |cause| WiringError::Read {
                path: shown.clone(),
                cause,
            },
        )?;
        if let Ok(cfg) = Config::parse(&text, &shown) {
            return Ok(Wiring::claimed(&cfg));
        }
        let table = table_text(&text, "gpio").ok_or_else(|| WiringError::NoGpioTable {
            path: shown.clone(),
        })?;
        match Config::parse(&table, &shown) {
            Ok(mut cfg) => {
                if let Some(inverted) = wiegand_output_of(&text) {
                    cfg.reader.output = "wiegand".into();
                    cfg.reader.inverted = inverted;
                }
                Ok(Wiring::claimed(&cfg))
            }
            Err(e) => Err(WiringError::GpioProblems {
                path: shown,
                problems: e.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d =
            std::env::temp_dir().join(format!("livegate-cfg-wiring-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    const PI: &str =
        "[gpio]\nkind = \"rppal\"\ngate_pin = 5\ngate_active_low = false\nfail_pin = 6\n";

    #[test]
    fn every_backend_round_trips_through_the_gpio_table() {
        for w in crate::wiring::examples() {
            assert_eq!(Wiring::claimed(&w.config().unwrap()), w);
        }
    }

    #[test]
    fn a_typo_elsewhere_leaves_the_gpio_table_readable() {
        let d = scratch("lenient");
        let p = d.join("livegate.toml");
        std::fs::write(
            &p,
            format!(
                "[session]\naction_timout = \"10s\"\n[api\nmode = \n{PI}\n[log]\nlevel = \"x\"\n"
            ),
        )
        .unwrap();
        assert_eq!(
            Wiring::from_config_file(&p).unwrap(),
            Wiring::Rppal {
                gate_pin: 5,
                gate_active_low: false,
                fail_pin: 6,
                fail_active_low: true,
                wiegand_out: None,
            }
        );
    }

    /// The Pi's relays with the Wiegand output on BCM 20 and 21.
    const PI_WIEGAND: &str = "[gpio]\nkind = \"rppal\"\ngate_pin = 5\ngate_active_low = false\n\
                              fail_pin = 6\nwiegand_out_d0_pin = 20\nwiegand_out_d1_pin = 21\n";

    #[test]
    fn the_wiegand_output_is_recorded_when_reader_drives_it() {
        let d = scratch("wiegand");
        let p = d.join("livegate.toml");
        let pi = |wiegand_out| Wiring::Rppal {
            gate_pin: 5,
            gate_active_low: false,
            fail_pin: 6,
            fail_active_low: true,
            wiegand_out,
        };
        let with = |inverted: bool| {
            pi(Some(WiegandOut {
                d0: 20,
                d1: 21,
                inverted,
            }))
        };
        let reader = "[reader]\noutput = \"wiegand\"\non_pass = \"fixed\"\nfixed_card = \"1:1\"\n";
        std::fs::write(&p, format!("{PI_WIEGAND}{reader}")).unwrap();
        assert_eq!(Wiring::from_config_file(&p).unwrap(), with(false));
        // A typo elsewhere: [gpio] read on its own, and [reader]'s two keys.
        std::fs::write(
            &p,
            format!("[api\n{PI_WIEGAND}[session]\nx = 1\n{reader}inverted = true\n"),
        )
        .unwrap();
        assert_eq!(Wiring::from_config_file(&p).unwrap(), with(true));
        // The idle level is [reader]'s: with [reader] broken too, the relays only.
        std::fs::write(&p, format!("[api\n{PI_WIEGAND}{reader}inverted = 3\n")).unwrap();
        assert_eq!(Wiring::from_config_file(&p).unwrap(), pi(None));
        std::fs::write(&p, format!("[api\n{PI_WIEGAND}{reader}inverted =\n")).unwrap();
        assert_eq!(Wiring::from_config_file(&p).unwrap(), pi(None));
        // Lines in [gpio] that [reader] does not drive are not the daemon's.
        std::fs::write(&p, format!("{PI_WIEGAND}[reader]\noutput = \"none\"\n")).unwrap();
        assert_eq!(Wiring::from_config_file(&p).unwrap(), pi(None));
        // The configuration made from the record claims them at that level.
        let cfg = with(true).config().unwrap();
        assert_eq!(
            (cfg.reader.output.as_str(), cfg.reader.inverted),
            ("wiegand", true)
        );
        assert!(with(true)
            .describe()
            .ends_with("Wiegand out D0 BCM 20, D1 BCM 21 (idle low)"));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_broken_gpio_table_or_none_is_not_guessed() {
        let d = scratch("strict");
        let p = d.join("livegate.toml");
        std::fs::write(&p, PI.replace("gate_pin = 5", "gate_pin = 55")).unwrap();
        assert!(matches!(
            Wiring::from_config_file(&p),
            Err(WiringError::GpioProblems { .. })
        ));
        std::fs::write(&p, "[gpoi]\nkind = \"rppal\"\n[api\n").unwrap();
        assert!(matches!(
            Wiring::from_config_file(&p),
            Err(WiringError::NoGpioTable { .. })
        ));
        std::fs::write(&p, format!("{PI}{PI}")).unwrap();
        assert!(matches!(
            Wiring::from_config_file(&p),
            Err(WiringError::NoGpioTable { .. })
        ));
        // A valid file without [gpio] is simulated relays.
        std::fs::write(&p, "[log]\nlevel = \"info\"\n").unwrap();
        assert_eq!(
            Wiring::from_config_file(&p).unwrap(),
            Wiring::Sim { state_file: None }
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}

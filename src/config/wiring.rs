//! The relay wiring (`crate::wiring`'s record for `safe-outputs`) to and from the
//! `[gpio]` table: the configuration's side of the record, so that `wiring.rs`
//! needs nothing of the configuration.

use std::path::Path;

use super::{CdevGpioConfig, Config, GpioConfig, RppalGpioConfig, SimGpioOptions};
use crate::gpio::line::{Bcm, ChipLine};
use crate::gpio::output::OutputOptions;
use crate::wiring::{gpio_table, line_spec, Wiring, WiringError};

impl Wiring {
    /// The relay wiring of a `[gpio]` table.
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
            },
            // One `chip` key for the table: the gate's is every line's.
            GpioConfig::Cdev(g) => Wiring::Cdev {
                chip: g.gate.line.chip.clone(),
                gate_line: g.gate.line.line.text(),
                gate_active_low: g.gate.active_low,
                fail_line: g.fail.line.line.text(),
                fail_active_low: g.fail.active_low,
            },
        }
    }

    /// A `[gpio]` table with this wiring (default pulses, no inputs), to claim it.
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
            } => {
                let d = RppalGpioConfig::default();
                GpioConfig::Rppal(RppalGpioConfig {
                    gate: relay(Bcm(*gate_pin), *gate_active_low, d.gate),
                    fail: relay(Bcm(*fail_pin), *fail_active_low, d.fail),
                    ..d
                })
            }
            Wiring::Cdev {
                chip,
                gate_line,
                gate_active_low,
                fail_line,
                fail_active_low,
            } => {
                let line = |s: &str| line_spec(s).map(|l| ChipLine::new(chip.clone(), l));
                let d = CdevGpioConfig::default();
                GpioConfig::Cdev(CdevGpioConfig {
                    gate: relay(line(gate_line)?, *gate_active_low, d.gate),
                    fail: relay(line(fail_line)?, *fail_active_low, d.fail),
                    ..d
                })
            }
        })
    }
}

impl Wiring {
    /// The wiring named by the configuration file at `path`: the whole file when it is
    /// valid, else its `[gpio]` table read on its own (a mistake elsewhere does not
    /// matter). A `[gpio]` table that is missing from a broken file, given twice, or
    /// with problems of its own is an error: the wiring is not guessed.
    pub fn from_config_file(path: &Path) -> Result<Wiring, WiringError> {
        let shown = path.display().to_string();
        let text = crate::safefile::read_text(path, crate::safefile::MAX_CONFIG_BYTES).map_err(
            |cause| WiringError::Read {
                path: shown.clone(),
                cause,
            },
        )?;
        if let Ok(cfg) = Config::parse(&text, &shown) {
            return Ok(Wiring::of(&cfg.gpio));
        }
        let table = gpio_table(&text).ok_or_else(|| WiringError::NoGpioTable {
            path: shown.clone(),
        })?;
        match Config::parse(&table, &shown) {
            Ok(cfg) => Ok(Wiring::of(&cfg.gpio)),
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
            assert_eq!(Wiring::of(&w.gpio_config().unwrap()), w);
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
            }
        );
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

//! The `livegate` command: run · simulate · check-config.

#[cfg(feature = "sim")]
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use tokio::sync::watch;

#[cfg(feature = "sim")]
use livegate::config::Performer;
use livegate::config::{Config, ConfigError, DEFAULT_PATH};
#[cfg(feature = "sim")]
use livegate::daemon::{GateEvent, Observer};
use livegate::display::sim::SimDisplay;
#[cfg(feature = "sim")]
use livegate::display::term::{self, Tone};
use livegate::display::term::{Console, LineWriter, LIVE_LINES};
#[cfg(feature = "sim")]
use livegate::display::Display;
#[cfg(feature = "sim")]
use livegate::simulate::{self, ConsolePanel, Endpoint, Simulation};
#[cfg(feature = "sim")]
use livegate::standin::StandinOptions;
#[cfg(feature = "sim")]
use livegate::trigger::Cast;

mod cli_assets;

/// What `--config` reads, in every command that has it (with its default below).
const CONFIG_HELP: &str = "The configuration file (TOML): devices, wiring, sessions and the API";

#[derive(Parser)]
#[command(name = "livegate", version, about = "A liveness-checked access gate")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the gate with the devices named in the configuration (the service).
    Run {
        #[arg(short = 'c', long, value_name = "FILE", default_value = DEFAULT_PATH, help = CONFIG_HELP)]
        config: PathBuf,
    },
    /// Run the whole gate on this machine: simulated camera, panel and relays,
    /// against a stand-in of the AIGEN API on loopback.
    #[cfg(feature = "sim")]
    Simulate {
        /// A configuration file (TOML) for the session settings; without it, the
        /// built-in defaults (not /etc/livegate/livegate.toml).
        #[arg(short = 'c', long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// How many sessions to run.
        #[arg(long, default_value_t = 3)]
        sessions: u64,
        /// How the simulated person behaves; `mix` takes pass, fail, spoof, slow,
        /// absent in turn.
        #[arg(long, value_enum, default_value_t = PerformerArg::Mix)]
        performer: PerformerArg,
        /// How events are printed: `text` for people, `json` one object per line.
        #[arg(long, value_enum, default_value_t = EventsArg::Text)]
        events: EventsArg,
        /// Use this API endpoint instead of the built-in stand-in (with the
        /// configuration's key and CA settings).
        #[arg(long)]
        api_url: Option<String>,
        /// Save a PNG of every new screen into this folder.
        #[arg(long)]
        png_dir: Option<PathBuf>,
        /// The simulated panel's size in pixels.
        #[arg(long, value_enum, default_value_t = PanelArg::Size128x64)]
        panel: PanelArg,
        /// In-line mode: every visitor shows this card (NUMBER or FACILITY:NUMBER,
        /// in [reader] format) to a simulated card reader; after a pass the same
        /// card leaves on the simulated Wiegand output ("card out ...").
        #[arg(long, value_name = "CARD")]
        card: Option<String>,
    },
    /// Check a configuration file: every problem with its line and column.
    CheckConfig {
        #[arg(short = 'c', long, value_name = "FILE", default_value = DEFAULT_PATH, help = CONFIG_HELP)]
        config: PathBuf,
    },
    /// Commissioning: check one part of the installation and say what was found.
    Test {
        #[arg(
            short = 'c',
            long,
            value_name = "FILE",
            default_value = DEFAULT_PATH,
            global = true,
            help = CONFIG_HELP
        )]
        config: PathBuf,
        #[command(subcommand)]
        what: TestCmd,
    },
    /// Drive both relay outputs to their inactive level and exit: systemd runs it
    /// after every stop (ExecStopPost), even one the daemon could not clean up after.
    SafeOutputs {
        /// The configuration file (TOML) that names the relay outputs and their
        /// active levels.
        #[arg(short = 'c', long, value_name = "FILE", default_value = DEFAULT_PATH)]
        config: PathBuf,
    },
    /// Talk to the running service over its control socket.
    Ctl {
        /// What to do.
        #[arg(value_enum)]
        command: CtlCmd,
        /// The socket (default: the configuration's, else /run/livegate/ctl.sock).
        #[arg(long)]
        socket: Option<PathBuf>,
        /// The configuration file (TOML), read only for the socket's path.
        #[arg(short = 'c', long, value_name = "FILE", default_value = DEFAULT_PATH)]
        config: PathBuf,
    },
}

/// `livegate generate-assets DIR`, for packaging (scripts/package.sh): not one of
/// `Cli`'s commands, so that --help, the man page and the completions leave it out.
#[derive(Parser)]
#[command(
    name = "generate-assets",
    bin_name = "livegate generate-assets",
    about = "Write the manual page and the shell completions into DIR (for packaging)"
)]
struct GenerateAssets {
    /// Where to write livegate.1, livegate.bash, _livegate and livegate.fish.
    dir: PathBuf,
}

#[derive(Subcommand)]
enum TestCmd {
    /// Formats offered and granted, frames per second, bytes per frame.
    Camera {
        /// Frames to measure.
        #[arg(long, default_value_t = 30)]
        frames: u32,
        /// Save one frame as JPEG here (a picture of whoever is in front of the camera).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write every captured frame into this directory, as `[camera] kind = "replay"`
        /// reads it (biometric pictures: delete them after use).
        #[arg(long, value_name = "DIR")]
        record: Option<PathBuf>,
    },
    /// Shows every screen in turn.
    Display {
        /// Milliseconds each screen stays up.
        #[arg(long, default_value_t = 1500)]
        pause_ms: u64,
    },
    /// Pulses one relay once.
    Relay {
        #[arg(value_enum)]
        which: RelayArg,
        /// Pulse length in milliseconds (100 to 10000; default: the configured one).
        #[arg(long)]
        ms: Option<u64>,
    },
    /// Shows input changes live until Ctrl-C.
    Input,
    /// Is the API key accepted, and how long does a request take? No frame is sent.
    Api {
        /// How many requests.
        #[arg(long, default_value_t = 1)]
        requests: u32,
    },
    /// The face detector on pictures: face or no face, the box, the score, the time;
    /// without pictures, the configured camera watched live for a few seconds.
    Presence {
        /// Pictures (JPEG or PNG) to look at; none: watch the camera live.
        images: Vec<PathBuf>,
        /// Without pictures: how long to watch the camera, in seconds.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Detections per picture (the time printed is their median).
        #[arg(long, default_value_t = 1)]
        runs: u32,
    },
    /// Wiegand: send one card to the panel, or show the cards a reader sends.
    Wiegand {
        #[command(subcommand)]
        way: WiegandCmd,
    },
    /// Answers the panel as the configured OSDP reader for a while and shows what
    /// it receives; with --card, reports that card once the link is up.
    Osdp {
        /// How long to answer the panel, in seconds.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// A card to report (NUMBER or FACILITY:NUMBER, in [reader] format).
        #[arg(long, value_name = "CARD")]
        card: Option<String>,
    },
}

#[derive(Subcommand)]
enum WiegandCmd {
    /// Sends one frame on the wiegand_out_* lines of [gpio] and prints its bits.
    Out {
        /// The card (NUMBER or FACILITY:NUMBER, in [reader] format).
        #[arg(long, value_name = "CARD")]
        card: String,
    },
    /// Shows each frame read on the wiegand_in_* lines of [gpio], live, until
    /// Ctrl-C or --seconds.
    In {
        /// Stop after this many seconds.
        #[arg(long)]
        seconds: Option<u64>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RelayArg {
    Gate,
    Fail,
}

#[derive(Clone, Copy, ValueEnum)]
enum CtlCmd {
    Start,
    Status,
    Cancel,
}

#[cfg(feature = "sim")]
#[derive(Clone, Copy, ValueEnum)]
enum PerformerArg {
    Pass,
    Fail,
    Spoof,
    Slow,
    Absent,
    Mix,
}

#[cfg(feature = "sim")]
#[derive(Clone, Copy, ValueEnum)]
enum PanelArg {
    #[value(name = "128x64")]
    Size128x64,
    #[value(name = "128x32")]
    Size128x32,
}

#[cfg(feature = "sim")]
impl PanelArg {
    fn size(self) -> (u32, u32) {
        match self {
            PanelArg::Size128x64 => (128, 64),
            PanelArg::Size128x32 => (128, 32),
        }
    }
}

#[cfg(feature = "sim")]
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EventsArg {
    Text,
    Json,
}

fn main() -> ExitCode {
    livegate::gpio::install_panic_hook();
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "generate-assets")
    {
        let args = GenerateAssets::parse_from(std::env::args_os().skip(1));
        return report(
            cli_assets::generate(Cli::command(), &args.dir).map(|files| {
                for f in files {
                    println!("{}", f.display());
                }
            }),
        );
    }
    let cli = Cli::parse();
    match cli.command {
        Cmd::CheckConfig { config } => check_config(&config),
        Cmd::Run { config } => report(runtime().and_then(|rt| rt.block_on(run(config)))),
        #[cfg(feature = "sim")]
        Cmd::Simulate {
            config,
            sessions,
            performer,
            events,
            api_url,
            png_dir,
            panel,
            card,
        } => report(runtime().and_then(|rt| {
            rt.block_on(simulate(
                config, sessions, performer, events, api_url, png_dir, panel, card,
            ))
        })),
        Cmd::SafeOutputs { config } => report(safe_outputs(&config)),
        // Pictures need no configuration and no runtime.
        Cmd::Test {
            what: TestCmd::Presence { images, runs, .. },
            ..
        } if !images.is_empty() => report(
            livegate::commission::presence::test_presence(&images, runs, &mut std::io::stdout())
                .map(|_| ())
                .map_err(anyhow::Error::from),
        ),
        Cmd::Test { config, what } => {
            report(runtime().and_then(|rt| rt.block_on(commission(config, what))))
        }
        Cmd::Ctl {
            command,
            socket,
            config,
        } => runtime()
            .and_then(|rt| rt.block_on(ctl(command, socket, config)))
            .unwrap_or_else(|e| {
                eprintln!("livegate: {e:#}");
                ExitCode::FAILURE
            }),
    }
}

/// The wiring the running service recorded first; else the file's `[gpio]` table read
/// on its own (whatever else is wrong in the file); else it says, loudly, that it
/// cannot know the wiring and drives nothing. It never guesses pins.
fn safe_outputs(path: &std::path::Path) -> anyhow::Result<()> {
    use livegate::wiring;
    let record = wiring::record_path();
    let from_record = match wiring::read_record(&record) {
        Ok(w) => w,
        Err(e) => {
            eprintln!(
                "{}livegate: ignoring the wiring record: {e}",
                journal_level(4)
            );
            None
        }
    };
    let (wiring, from) = match from_record {
        Some(w) => (
            w,
            format!("the running service's record {}", record.display()),
        ),
        None => match livegate::wiring::Wiring::from_config_file(path) {
            Ok(w) => (w, format!("[gpio] of {}", path.display())),
            Err(e) => {
                eprintln!(
                    "{}livegate: CANNOT KNOW THE RELAY WIRING: no record at {} and {e}; \
                     the relays were NOT driven: check the gate relay by hand, fix the \
                     configuration, then run `livegate safe-outputs`",
                    journal_level(2),
                    record.display()
                );
                bail!("the relay wiring is unknown: nothing was driven");
            }
        },
    };
    let cfg = wiring.config().map_err(anyhow::Error::msg)?;
    // Claimed at the inactive level; dropping them drives them inactive again and
    // leaves the pins as outputs (never floating).
    let relays = livegate::devices::claim_relays(&cfg).and_then(|(gate, fail, _)| {
        gate.set(false)?;
        fail.set(false)
    });
    // The Wiegand output's lines at idle too, even when the relays failed.
    let wiegand = match (relays, livegate::devices::rest_wiegand_output(&cfg)) {
        (Ok(()), Ok(w)) => w,
        (Err(r), Ok(_)) => return Err(r.into()),
        (Ok(()), Err(w)) => bail!(
            "the relays are at their inactive level, but the Wiegand output's lines were \
             NOT driven to idle: {w}"
        ),
        (Err(r), Err(w)) => {
            bail!("{r}; and the Wiegand output's lines were NOT driven to idle either: {w}")
        }
    };
    println!(
        "gate and fail outputs are at their inactive level{} ({}; wiring from {from})",
        if wiegand {
            ", the Wiegand output's lines at idle"
        } else {
            ""
        },
        wiring.describe()
    );
    Ok(())
}

/// `<N>` before a line on stderr when it goes to the journal (systemd reads it as
/// the line's priority), nothing on a terminal.
fn journal_level(n: u8) -> String {
    if std::env::var_os("JOURNAL_STREAM").is_some() {
        format!("<{n}>")
    } else {
        String::new()
    }
}

/// The API key once read: every text printed at this edge is shown through
/// [`shown`], which writes its value as `***` wherever it appears.
static KEY: std::sync::OnceLock<livegate::secret::ApiKey> = std::sync::OnceLock::new();

/// `text` with the key's value (when known) masked.
fn shown(text: &str) -> String {
    match KEY.get() {
        Some(k) => k.mask(text),
        None => text.to_owned(),
    }
}

/// Remembers the key the configuration at `cfg` names, for [`shown`], if it can be
/// read; errors are for the caller that needs the key.
fn learn_key(cfg: &Config) {
    if KEY.get().is_none() {
        if let Ok(k) = cfg.read_key() {
            let _ = KEY.set(k);
        }
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<Config> {
    match Config::load(path) {
        Ok(cfg) => {
            learn_key(&cfg);
            Ok(cfg)
        }
        Err(e) => {
            learn_key_of_broken_file(path);
            Err(anyhow::Error::msg(e))
        }
    }
}

/// A file with problems may still name a readable key file: learn it, so that a
/// problem that quotes the key (in an address) is printed masked.
fn learn_key_of_broken_file(path: &std::path::Path) {
    if let Ok(text) = livegate::safefile::read_text(path, livegate::safefile::MAX_CONFIG_BYTES) {
        let mut cfg = Config::parse_partial(&text, &path.display().to_string()).0;
        cfg.source = Some(path.to_owned());
        learn_key(&cfg);
    }
}

async fn commission(path: PathBuf, what: TestCmd) -> anyhow::Result<()> {
    use livegate::commission;
    use livegate::devices;
    let cfg = load(&path)?;
    livegate::telemetry::init("warn");
    let mut out = std::io::stdout();
    match what {
        TestCmd::Presence {
            images,
            runs,
            seconds,
        } => {
            if !images.is_empty() {
                commission::presence::test_presence(&images, runs, &mut out)?;
                return Ok(());
            }
            // The camera live, with the real detector and the file's [presence].
            let camera: Box<dyn livegate::camera::FrameSource> = match &cfg.camera {
                livegate::config::CameraConfig::V4l2(_) => {
                    Box::new(livegate::camera::v4l2::V4l2Camera::new(
                        devices::camera_options(&cfg).unwrap_or_default(),
                    ))
                }
                livegate::config::CameraConfig::Replay(c) => Box::new(
                    livegate::camera::replay::ReplayCamera::new(devices::replay_options(c)),
                ),
                livegate::config::CameraConfig::Sim(_) => bail!(
                    "[camera] kind is \"sim\": set kind = \"v4l2\" to watch a camera, or give \
                     pictures to look at"
                ),
            };
            let params = cfg.presence.rules();
            let make: livegate::presence::MakeDetector = Box::new(|| {
                Ok(Box::new(livegate::presence::SeetaDetector::new()?)
                    as Box<dyn livegate::presence::FaceDetector>)
            });
            commission::presence::watch_live(
                camera,
                make,
                &params,
                std::time::Duration::from_secs(seconds.max(1)),
                params.look_every,
                &mut out,
            )
            .await?;
        }
        TestCmd::Camera {
            frames,
            out: file,
            record,
        } => {
            let Some(opts) = devices::camera_options(&cfg) else {
                bail!("[camera] kind is \"sim\": set kind = \"v4l2\" to test a camera");
            };
            tokio::task::spawn_blocking(move || {
                let mut out = std::io::stdout();
                commission::camera::test_camera(
                    &opts,
                    frames,
                    file.as_deref(),
                    record.as_deref(),
                    &mut out,
                )
                .map(|_| ())
            })
            .await
            .context("the camera test stopped")??;
        }
        TestCmd::Display { pause_ms } => {
            let pause = std::time::Duration::from_millis(pause_ms);
            match devices::oled_options(&cfg) {
                Some(opts) => tokio::task::spawn_blocking(move || {
                    commission::display::test_display(&opts, pause, &mut std::io::stdout())
                })
                .await
                .context("the display test stopped")??,
                None => tokio::task::spawn_blocking(move || {
                    // The panel fits the terminal; there the progress lines go under
                    // it (stderr would break the redraw), elsewhere to stderr.
                    let console = Console::for_fd(
                        Box::new(std::io::stdout()),
                        libc::STDOUT_FILENO,
                        LIVE_LINES,
                    );
                    let mut progress: Box<dyn std::io::Write> = if console.is_live() {
                        Box::new(LineWriter::new(console.clone()))
                    } else {
                        Box::new(std::io::stderr())
                    };
                    let mut panel = SimDisplay::default().with_console(console);
                    commission::display::show_every_screen(&mut panel, pause, &mut progress)
                        .map(|_| ())
                })
                .await
                .context("the display test stopped")??,
            }
        }
        TestCmd::Relay { which, ms } => {
            let name = match which {
                RelayArg::Gate => "gate",
                RelayArg::Fail => "fail",
            };
            // Ctrl-C drops the pulse: its guard switches the relay off first.
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            match &cfg.gpio {
                livegate::config::GpioConfig::Rppal(g) => {
                    commission::gpio::test_relay(g, name, ms, &mut out, stop).await?
                }
                livegate::config::GpioConfig::Cdev(g) => {
                    commission::gpio::test_relay(g, name, ms, &mut out, stop).await?
                }
                livegate::config::GpioConfig::Sim(_) => {
                    let relay: Arc<dyn livegate::gpio::Relay> =
                        Arc::new(livegate::gpio::sim::SimRelay::new(name));
                    let wiring = commission::gpio::Wiring {
                        place: format!("the simulated {name} relay"),
                        active_low: false,
                        pulse: if name == "gate" {
                            cfg.gpio.gate_pulse()
                        } else {
                            cfg.gpio.fail_pulse()
                        },
                    };
                    println!("[gpio] kind is \"sim\": pulsing the simulated {name} relay.");
                    commission::gpio::test_relay_with(&relay, &wiring, ms, &mut out).await?;
                }
            }
        }
        TestCmd::Input => {
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let none = "no inputs in [gpio]: set kind = \"rppal\" and trigger_pin, exit_pin or \
                        door_pin (or kind = \"cdev\" and trigger_line, exit_line or door_line)";
            match &cfg.gpio {
                livegate::config::GpioConfig::Cdev(g) => {
                    let Some(opts) = g.inputs() else {
                        bail!("no inputs in [gpio]: set trigger_line, exit_line or door_line");
                    };
                    commission::gpio::test_input(&opts, &mut out, stop).await?;
                }
                livegate::config::GpioConfig::Rppal(g) => {
                    let Some(opts) = g.inputs() else {
                        bail!(none);
                    };
                    commission::gpio::test_input(&opts, &mut out, stop).await?;
                }
                livegate::config::GpioConfig::Sim(_) => bail!(none),
            }
        }
        TestCmd::Api { requests } => {
            let (opts, source) = client_options_with_key(&cfg)?;
            std::io::Write::write_fmt(&mut out, format_args!("API key: read from {source}\n"))?;
            let sequence = commission::api::Sequence {
                mode: cfg.api.mode,
                part: cfg.api.part,
                select: cfg.api.select.clone(),
            };
            commission::api::test_api(opts, &sequence, requests, &mut out).await?;
        }
        TestCmd::Wiegand { way } => test_wiegand(&cfg, way).await?,
        TestCmd::Osdp { seconds, card } => {
            let card = parse_card(&cfg, card.as_deref())?;
            let opts = livegate::devices::osdp_options(&cfg)?;
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let listen = std::time::Duration::from_secs(seconds);
            commission::osdp::test_osdp(opts, listen, card, &mut out, stop).await?;
        }
    }
    Ok(())
}

/// A card given on the command line, in the configured format.
fn parse_card(
    cfg: &Config,
    text: Option<&str>,
) -> anyhow::Result<Option<livegate_core::wiegand::Card>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let (format, _) = livegate::devices::wiegand_format(cfg)?;
    Ok(Some(
        livegate_core::wiegand::Card::parse(format, text).context("--card")?,
    ))
}

/// `livegate test wiegand out|in` on the lines of `[gpio]`.
async fn test_wiegand(cfg: &Config, way: WiegandCmd) -> anyhow::Result<()> {
    use livegate::commission::wiegand::{test_in_on, test_out_on, WiegandTestError};
    use livegate::config::GpioConfig;
    let (_, timing) = livegate::devices::wiegand_format(cfg)?;
    let inverted = cfg.reader.inverted;
    let shown = livegate::devices::card_shown(cfg)?;
    let gpio = cfg.gpio.clone();
    let done = match way {
        WiegandCmd::Out { card } => {
            let Some(card) = parse_card(cfg, Some(&card))? else {
                bail!("--card is needed");
            };
            tokio::task::spawn_blocking(move || {
                let out = &mut std::io::stdout();
                match &gpio {
                    GpioConfig::Rppal(g) => test_out_on(g, inverted, timing, card, out),
                    GpioConfig::Cdev(g) => test_out_on(g, inverted, timing, card, out),
                    GpioConfig::Sim(_) => Err(WiegandTestError::NoLines("out")),
                }
            })
            .await
        }
        WiegandCmd::In { seconds } => {
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let on_ctrl_c = stop.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                on_ctrl_c.store(true, std::sync::atomic::Ordering::Relaxed);
            });
            let seconds = seconds.map(std::time::Duration::from_secs);
            tokio::task::spawn_blocking(move || {
                let out = &mut std::io::stdout();
                match &gpio {
                    GpioConfig::Rppal(g) => test_in_on(g, &shown, seconds, &stop, out),
                    GpioConfig::Cdev(g) => test_in_on(g, &shown, seconds, &stop, out),
                    GpioConfig::Sim(_) => Err(WiegandTestError::NoLines("in")),
                }
                .map(|_| ())
            })
            .await
        }
    };
    Ok(done.context("the Wiegand test stopped")??)
}

/// `[api]` with the key and the extra CA read in, and where the key was found.
fn client_options_with_key(
    cfg: &Config,
) -> anyhow::Result<(livegate::api::ClientOptions, livegate::config::KeySource)> {
    let mut opts = cfg.client_options();
    let (key, source) = cfg.read_key_with_source()?;
    opts.key = key;
    let _ = KEY.set(opts.key.clone());
    opts.extra_ca_pem.extend(cfg.read_ca()?);
    Ok((opts, source))
}

async fn ctl(
    command: CtlCmd,
    socket: Option<PathBuf>,
    config: PathBuf,
) -> anyhow::Result<ExitCode> {
    let path = match socket {
        Some(p) => p,
        None => Config::load(&config)
            .ok()
            .and_then(|c| livegate::devices::socket_options(&c))
            .map(|o| o.path)
            .unwrap_or_else(|| PathBuf::from(livegate::ctl::DEFAULT_PATH)),
    };
    let word = match command {
        CtlCmd::Start => "start",
        CtlCmd::Status => "status",
        CtlCmd::Cancel => "cancel",
    };
    let answer = livegate::ctl::ctl(&path, word, std::time::Duration::from_secs(5)).await?;
    println!("{answer}");
    let ok = serde_json::from_str::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v.get("ok").and_then(|o| o.as_bool()))
        .unwrap_or(false);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One thread for all the tasks: a verification step (convert the frame, POST it, read
/// the answer) then wakes no other thread, about 1 context switch per step instead of
/// 5–6 with two workers, and less CPU (docs/PERFORMANCE.md). What blocks runs
/// elsewhere: the capture thread, the Wiegand threads, the face detector's thread,
/// the panel's drawing and file
/// writes (`spawn_blocking`); the longest stall of the loop is one frame's conversion.
/// Anything that must hold from `READY=1` on is done before it, not left to a task's
/// first poll (a task spawned here first runs when `run` next yields): the relays'
/// safe level, the signal handlers, the inputs' starting levels.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn report(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("livegate: {}", shown(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

/// Checks the file, then what `run` would read besides it: the key file (or the
/// systemd credential, when there is one) and the CA file, and that the address does
/// not hold the key.
fn check_config(path: &std::path::Path) -> ExitCode {
    match Config::load(path) {
        Ok(cfg) => {
            let mut problems = Vec::new();
            let mut key_note = format!(
                "no API key found here (the service reads api.key_file when set, else the \
                 systemd credential {} loaded from {})",
                livegate::config::CREDENTIAL_NAME,
                livegate::config::PACKAGED_KEY_PATH
            );
            if cfg.key_source().is_some() {
                match cfg.read_key_with_source() {
                    Ok((k, source)) => {
                        key_note = format!("API key read from {source}");
                        if k.is_in(&cfg.api.base_url) {
                            problems.push(
                                "api.base_url: the address holds the API key (shown here as \
                                 ***); valid: the address alone: the key goes in the key file"
                                    .to_owned(),
                            );
                        }
                        let _ = KEY.set(k);
                    }
                    Err(e) => problems.push(e.to_string()),
                }
            }
            if let Err(e) = cfg.read_ca() {
                problems.push(e.to_string());
            }
            if problems.is_empty() {
                println!(
                    "{}: OK: {}; {key_note}",
                    path.display(),
                    shown(&cfg.summary())
                );
                return ExitCode::SUCCESS;
            }
            for p in &problems {
                eprintln!("{}: {}", path.display(), shown(p));
            }
            problems_found(path, problems.len())
        }
        Err(ConfigError::Invalid(problems)) => {
            learn_key_of_broken_file(path);
            for p in &problems {
                eprintln!("{}", shown(&p.to_string()));
            }
            problems_found(path, problems.len())
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `check-config`'s last line after `n` problems, and its exit code.
fn problems_found(path: &std::path::Path, n: usize) -> ExitCode {
    eprintln!(
        "{}: {n} problem{}; nothing was changed",
        path.display(),
        if n == 1 { "" } else { "s" }
    );
    ExitCode::FAILURE
}

/// Sets `true` on the returned channel at SIGINT or SIGTERM (and tells systemd).
fn shutdown_on_signals(
    notifier: Arc<livegate::notify::Notifier>,
) -> anyhow::Result<watch::Receiver<bool>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        tracing::info!("signal received: stopping");
        let _ = notifier.stopping();
        tx.send_replace(true);
    });
    Ok(rx)
}

async fn run(path: PathBuf) -> anyhow::Result<()> {
    use livegate::notify::{self, Heartbeat, Notifier};
    let cfg = load(&path)?;
    livegate::telemetry::init(&cfg.log.level);
    // The key first: an address that holds it is refused before it is shown anywhere.
    let (opts, key_source) = client_options_with_key(&cfg)?;
    let client = livegate::api::AigenClient::new(opts)?;
    tracing::info!(from = %key_source, "API key read");
    refuse_billed_simulation(&cfg)?;
    let notifier = Arc::new(Notifier::from_env().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "NOTIFY_SOCKET unusable: running without sd_notify");
        Notifier::disabled()
    }));
    // The relays are claimed at their safe level first, inside build().
    let built = livegate::devices::build(&cfg)?;
    // The wiring just claimed, for `safe-outputs` after a kill, whatever the file
    // says by then.
    let claimed = livegate::wiring::Wiring::claimed(&cfg);
    record_wiring(&claimed);
    let shutdown = shutdown_on_signals(notifier.clone())?;
    let reload = reload_on_sighup(path.clone(), notifier.clone(), claimed, cfg.clone())?;
    let heartbeat = Heartbeat::new();
    let tick = match notify::watchdog_interval() {
        Some(interval) => {
            notify::spawn_watchdog(notifier.clone(), heartbeat.clone(), interval);
            (interval / 4).max(std::time::Duration::from_millis(1))
        }
        None => std::time::Duration::from_secs(10),
    };
    let status = {
        let notifier = notifier.clone();
        Arc::new(move |line: &str| {
            let _ = notifier.status(line);
        })
    };
    let metrics = cfg.metrics.textfile.clone().map(|file| {
        let m = Arc::new(livegate::metrics::Metrics::new());
        let writer = livegate::metrics::spawn_writer(m.clone(), file.clone(), cfg.metrics.interval);
        (m, writer, file)
    });
    tracing::info!(config = %path.display(), summary = %shown(&cfg.summary()), "livegate running");
    // Outputs are safe and the configuration is loaded: ready.
    let _ = notifier.ready();
    livegate::daemon::run(
        &cfg.daemon_settings(),
        client,
        built.devices,
        livegate::daemon::RunOptions {
            max_sessions: None,
            observer: None,
            shutdown: Some(shutdown),
            screen_tx: Some(built.screen_tx),
            door_held_open_after: built.door_held_open_after,
            reload: Some(reload),
            status: Some(status),
            heartbeat: Some((Arc::new(move || heartbeat.beat()), tick)),
            metrics: metrics.as_ref().map(|(m, _, _)| m.clone()),
            reader: built.reader,
        },
    )
    .await?;
    if let Some((m, writer, file)) = metrics {
        writer.abort();
        m.stopped();
        if let Err(e) = livegate::metrics::write_textfile(&file, &m.render()) {
            tracing::warn!(file = %file.display(), error = %e, "cannot write the last metrics");
        }
    }
    tracing::info!("stopped; outputs at their safe level");
    Ok(())
}

/// The simulated trigger starts a session every few seconds: against the real
/// service each one is billed. `run` allows it only against a service on this machine.
fn refuse_billed_simulation(cfg: &Config) -> anyhow::Result<()> {
    let sim_trigger = matches!(cfg.trigger, livegate::config::TriggerConfig::Sim(_));
    let local = reqwest::Url::parse(&cfg.api.base_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .is_some_and(|h| h == "localhost" || h.starts_with("127.") || h == "[::1]");
    if sim_trigger && !local {
        bail!(
            "[trigger] kind = \"sim\" would start a billed session against {} every few \
             seconds: set [trigger] kind = \"gpio\" or \"socket\" for a real gate, or run \
             `livegate simulate` to try it out",
            shown(&livegate::secret::show_url(&cfg.api.base_url, None))
        );
    }
    Ok(())
}

/// On SIGHUP: re-read and check the configuration; a good one goes to the daemon, a
/// bad one is logged problem by problem and the running configuration stays.
/// Writes the record of the claimed wiring (`livegate::wiring`); a failure is logged
/// loudly and the gate runs on.
fn record_wiring(claimed: &livegate::wiring::Wiring) {
    let path = livegate::wiring::record_path();
    match livegate::wiring::write_record(&path, claimed) {
        Ok(()) => tracing::debug!(record = %path.display(), wiring = %claimed.describe(), "wiring recorded"),
        Err(e) => tracing::error!(
            "{e}: after a kill, safe-outputs will have to read the wiring from the configuration file"
        ),
    }
}

fn reload_on_sighup(
    path: PathBuf,
    notifier: Arc<livegate::notify::Notifier>,
    claimed: livegate::wiring::Wiring,
    running: Config,
) -> anyhow::Result<tokio::sync::mpsc::Receiver<livegate::daemon::Reload>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup()).context("cannot watch SIGHUP")?;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let _ = notifier.reloading();
            tracing::info!(config = %path.display(), "SIGHUP: reloading the configuration");
            match Config::load(&path) {
                Ok(config) => match client_options_with_key(&config)
                    .and_then(|(o, _)| Ok(livegate::api::AigenClient::new(o)?))
                {
                    Ok(client) => {
                        // The relays keep the wiring they were claimed with, every
                        // device the settings it was opened with.
                        record_wiring(&claimed);
                        let settings = config.reload_onto(&running).daemon_settings();
                        if tx
                            .send(livegate::daemon::Reload { settings, client })
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    Err(e) => tracing::error!(
                        "{}; the running configuration stays in force",
                        shown(&format!("{e:#}"))
                    ),
                },
                Err(ConfigError::Invalid(problems)) => {
                    for p in &problems {
                        tracing::error!("{}", shown(&p.to_string()));
                    }
                    tracing::error!(
                        problems = problems.len(),
                        "the new configuration has problems; the running one stays in force"
                    );
                }
                Err(e) => tracing::error!("{e}; the running configuration stays in force"),
            }
            let _ = notifier.ready();
        }
    });
    Ok(rx)
}

#[cfg(feature = "sim")]
// The command's options as clap parsed them, one each.
#[allow(clippy::too_many_arguments)]
async fn simulate(
    config: Option<PathBuf>,
    sessions: u64,
    performer: PerformerArg,
    events: EventsArg,
    api_url: Option<String>,
    png_dir: Option<PathBuf>,
    panel: PanelArg,
    card: Option<String>,
) -> anyhow::Result<()> {
    let cfg = match &config {
        Some(p) => load(p)?,
        None => Config::default(),
    };
    livegate::telemetry::init(if config.is_some() {
        &cfg.log.level
    } else {
        "warn"
    });
    if sessions == 0 {
        bail!("--sessions must be at least 1");
    }
    let card = match card {
        Some(text) => {
            let (format, _) = livegate::devices::wiegand_format(&cfg)?;
            Some(livegate_core::wiegand::Card::parse(format, &text).context("--card")?)
        }
        None => None,
    };
    let cast = match performer {
        PerformerArg::Mix => Cast::Cycle(Performer::ALL.to_vec()),
        PerformerArg::Pass => Cast::All(Performer::Pass),
        PerformerArg::Fail => Cast::All(Performer::Fail),
        PerformerArg::Spoof => Cast::All(Performer::Spoof),
        PerformerArg::Slow => Cast::All(Performer::Slow),
        PerformerArg::Absent => Cast::All(Performer::Absent),
    };
    // Text: the panel and event lines on stdout. JSON: only events on stdout; the
    // panel goes to stderr when that is a terminal. Either fits the terminal's size.
    let console = match events {
        EventsArg::Text => Some(Console::for_fd(
            Box::new(std::io::stdout()),
            libc::STDOUT_FILENO,
            LIVE_LINES,
        )),
        // No event lines go there: the panel alone.
        EventsArg::Json if std::io::stderr().is_terminal() => Some(Console::for_fd(
            Box::new(std::io::stderr()),
            libc::STDERR_FILENO,
            0,
        )),
        EventsArg::Json => None,
    };
    if let Some(c) = console.as_ref().filter(|c| c.is_live()) {
        if let Err(e) = term::redraw_on_resize(c.clone()) {
            tracing::warn!(error = %e, "cannot watch SIGWINCH: a resize shows at the next redraw");
        }
    }
    let (w, h) = panel.size();
    let mut inner = SimDisplay::new(w, h);
    if let Some(dir) = png_dir {
        inner = inner.with_png_dir(dir);
    }
    let panel: Box<dyn Display> = match &console {
        Some(c) => Box::new(ConsolePanel::new(inner, c.clone())),
        None => Box::new(inner),
    };
    let endpoint = match api_url {
        Some(url) => Endpoint::Url(url),
        None => Endpoint::Standin(StandinOptions::default()),
    };
    let observer: Observer = {
        let console = console.clone();
        Arc::new(move |e: &GateEvent| match events {
            EventsArg::Json => {
                if let Ok(line) = serde_json::to_string(e) {
                    println!("{line}");
                }
            }
            EventsArg::Text => {
                if let (Some(c), Some(line)) = (&console, simulate::describe(e)) {
                    let tone = match e {
                        GateEvent::Verdict { verdict, .. } if *verdict == "pass" => Tone::Good,
                        GateEvent::Verdict { .. } => Tone::Bad,
                        _ => Tone::Plain,
                    };
                    let _ = c.line_with(&line, tone);
                }
            }
        })
    };
    let sim = Simulation::in_line(cfg, endpoint, cast, Some(panel), card).await?;
    let shutdown = shutdown_on_signals(Arc::new(livegate::notify::Notifier::disabled()))?;
    let (summary, _) = sim
        .run(Some(sessions), Some(observer), Some(shutdown))
        .await?;
    if events == EventsArg::Text {
        if let Some(c) = &console {
            let _ = c.line(&format!(
                "{} session{} run: {} passed, {} denied",
                summary.sessions,
                if summary.sessions == 1 { "" } else { "s" },
                summary.passes,
                summary.sessions - summary.passes
            ));
        }
    }
    Ok(())
}

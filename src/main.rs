//! The `livegate` command: run · simulate · check-config.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};
use tokio::sync::watch;

use livegate::config::{Config, ConfigError, Performer, DEFAULT_PATH};
use livegate::daemon::{GateEvent, Observer};
use livegate::display::sim::SimDisplay;
use livegate::display::Display;
use livegate::simulate::{self, Console, ConsolePanel, Endpoint, Simulation};
use livegate::standin::StandinOptions;
use livegate::trigger::Cast;

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
        /// The configuration file.
        #[arg(long, default_value = DEFAULT_PATH)]
        config: PathBuf,
    },
    /// Run the whole gate on this machine: simulated camera, panel and relays,
    /// against a stand-in of the AIGEN API on loopback.
    Simulate {
        /// A configuration file for the session settings (default: built-in defaults).
        #[arg(long)]
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
    },
    /// Check a configuration file: every problem with its line and column.
    CheckConfig {
        #[arg(long, default_value = DEFAULT_PATH)]
        config: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum PerformerArg {
    Pass,
    Fail,
    Spoof,
    Slow,
    Absent,
    Mix,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EventsArg {
    Text,
    Json,
}

fn main() -> ExitCode {
    livegate::gpio::install_panic_hook();
    let cli = Cli::parse();
    match cli.command {
        Cmd::CheckConfig { config } => check_config(&config),
        Cmd::Run { config } => report(runtime().and_then(|rt| rt.block_on(run(config)))),
        Cmd::Simulate {
            config,
            sessions,
            performer,
            events,
            api_url,
            png_dir,
        } => report(runtime().and_then(|rt| {
            rt.block_on(simulate(
                config, sessions, performer, events, api_url, png_dir,
            ))
        })),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn report(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("livegate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match Config::load(path) {
        Ok(cfg) => {
            println!("{}: OK: {}", path.display(), cfg.summary());
            ExitCode::SUCCESS
        }
        Err(ConfigError::Invalid(problems)) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!(
                "{}: {} problem{}; nothing was changed",
                path.display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Sets `true` on the returned channel at SIGINT or SIGTERM.
fn shutdown_on_signals() -> anyhow::Result<watch::Receiver<bool>> {
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
        tx.send_replace(true);
    });
    Ok(rx)
}

async fn run(path: PathBuf) -> anyhow::Result<()> {
    let cfg = Config::load(&path).map_err(anyhow::Error::msg)?;
    livegate::telemetry::init(&cfg.log.level);
    let key = cfg.read_key()?;
    let mut opts = simulate::client_options(&cfg);
    opts.key = key;
    if let Some(ca) = &cfg.api.ca_file {
        opts.extra_ca_pem
            .push(std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?);
    }
    let client = livegate::api::AigenClient::new(opts)?;
    let performer = match &cfg.camera {
        livegate::config::CameraConfig::Sim(c) => c.performer,
    };
    let panel: Box<dyn Display> = match &cfg.display {
        livegate::config::DisplayConfig::Sim(d) => Box::new(SimDisplay::from_config(d)),
    };
    let handle = SimDisplay::default().handle();
    let sim = simulate::sim_devices(&cfg, Cast::All(performer), panel, handle);
    let shutdown = shutdown_on_signals()?;
    tracing::info!(config = %path.display(), "livegate running");
    livegate::daemon::run(
        &cfg,
        client,
        sim.devices,
        livegate::daemon::RunOptions {
            max_sessions: None,
            observer: None,
            shutdown: Some(shutdown),
            screen_tx: Some(sim.screen_tx),
        },
    )
    .await?;
    Ok(())
}

async fn simulate(
    config: Option<PathBuf>,
    sessions: u64,
    performer: PerformerArg,
    events: EventsArg,
    api_url: Option<String>,
    png_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let cfg = match &config {
        Some(p) => Config::load(p).map_err(anyhow::Error::msg)?,
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
    let cast = match performer {
        PerformerArg::Mix => Cast::Cycle(Performer::ALL.to_vec()),
        PerformerArg::Pass => Cast::All(Performer::Pass),
        PerformerArg::Fail => Cast::All(Performer::Fail),
        PerformerArg::Spoof => Cast::All(Performer::Spoof),
        PerformerArg::Slow => Cast::All(Performer::Slow),
        PerformerArg::Absent => Cast::All(Performer::Absent),
    };
    // Text: the panel and event lines on stdout. JSON: only events on stdout; the
    // panel goes to stderr when that is a terminal.
    let console = match events {
        EventsArg::Text => Some(Console::new(
            Box::new(std::io::stdout()),
            std::io::stdout().is_terminal(),
        )),
        EventsArg::Json if std::io::stderr().is_terminal() => {
            Some(Console::new(Box::new(std::io::stderr()), true))
        }
        EventsArg::Json => None,
    };
    let mut inner = SimDisplay::default();
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
                    let _ = c.line(&line);
                }
            }
        })
    };
    let sim = Simulation::new(cfg, endpoint, cast, Some(panel)).await?;
    let shutdown = shutdown_on_signals()?;
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

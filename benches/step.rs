//! One verification step, end to end, beside a Python peer in the same run:
//! replayed frame → transform (pass-through or 4:2:0 encode) → request body →
//! HTTPS POST to the API stand-in → parsed answer, for MJPEG and YUYV 640x480.
//!
//! `cargo bench --bench step -- [--steps N] [--peer PYTHON] [--only NAME]`
//! (`scripts/bench-step.sh` installs the peer's packages and runs this). The stand-in
//! runs in a child process (this binary with `serve`), so that neither side's CPU
//! figures include the server's work (TLS, JSON, decoding the picture); the peer
//! (`benches/peer/peer.py`) talks to the same stand-in with the same frames.
//!
//! Per step: CPU (user + system, getrusage), context switches (voluntary +
//! involuntary, all threads), bytes posted per frame (the JPEG), and the process's
//! peak RSS (`VmHWM`). Instructions per step come from callgrind in the script. A benchmark,
//! not a test: nothing here asserts a duration.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use livegate::api::{AigenClient, ClientOptions, RequestId};
use livegate::camera::jpeg::{FrameEncoder, Granted, OutputSpec, PixelFormat, Rotation};
use livegate::camera::replay::list_frames;
use livegate::camera::scene::{self, Subject};
use livegate::camera::Frame;
use livegate::secret::ApiKey;
use livegate::standin::{Standin, StandinOptions};

mod common;
use common::rgb_to_yuyv;

const W: u32 = 640;
const H: u32 = 480;
const QUALITY: u8 = 80;
const KEY: &str = "bench-step-key";
const WARMUP: usize = 10;

#[derive(Clone, Copy, Debug, Default)]
struct Usage {
    cpu: Duration,
    csw: i64,
    maxrss_kb: i64,
}

fn usage() -> Usage {
    // SAFETY: getrusage writes into the zeroed struct we pass; no other invariant.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if rc != 0 {
        return Usage::default();
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Usage {
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        csw: ru.ru_nvcsw + ru.ru_nivcsw,
        maxrss_kb: peak_rss_kb(),
    }
}

/// `VmHWM` of this process. Not `ru_maxrss`: Linux keeps that across `execve`, so a
/// process started by `cargo bench` reports cargo's own peak.
fn peak_rss_kb() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// One measured run.
#[derive(Debug)]
struct Figures {
    name: String,
    steps: usize,
    cpu_ms: f64,
    wall_ms: f64,
    csw: f64,
    bytes: f64,
    maxrss_kb: i64,
    /// The worst lateness of a 10 ms ticker task on the same runtime during the
    /// steps: how long the daemon's other duties (watchdog, inputs, display) could
    /// have waited (livegate only).
    tick_lag_ms: Option<f64>,
}

impl Figures {
    fn print(&self) {
        println!(
            "{:<24} {:>6} steps  CPU {:>7.3} ms/step  wall {:>7.3} ms/step  {:>6.1} csw/step  \
             {:>7.0} B/frame  peak RSS {:>6} KB{}",
            self.name,
            self.steps,
            self.cpu_ms,
            self.wall_ms,
            self.csw,
            self.bytes,
            self.maxrss_kb,
            self.tick_lag_ms
                .map(|l| format!("  10 ms ticker late by {l:.2} ms at worst"))
                .unwrap_or_default()
        );
    }
}

/// Writes the replay directories (`mjpeg/*.jpg`, `yuyv/*.yuyv`) the two sides read:
/// four scene pictures at 640x480 (no person's picture anywhere).
fn write_frames(dir: &Path) -> Result<(), String> {
    let subjects = [
        Subject::Neutral,
        Subject::Doing(0),
        Subject::Doing(1),
        Subject::Doing(2),
    ];
    for sub in ["mjpeg", "yuyv"] {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| e.to_string())?;
    }
    for (i, s) in subjects.into_iter().enumerate() {
        let jpeg = scene::render(W, H, s, 90).map_err(|e| e.to_string())?;
        let rgb = image::load_from_memory(&jpeg)
            .map_err(|e| e.to_string())?
            .into_rgb8()
            .into_raw();
        std::fs::write(dir.join(format!("mjpeg/{i:04}.jpg")), &jpeg).map_err(|e| e.to_string())?;
        std::fs::write(dir.join(format!("yuyv/{i:04}.yuyv")), rgb_to_yuyv(&rgb, W))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `serve`: the stand-in for both sides (after writing the frames); prints its URL,
/// then serves until stdin closes.
fn serve(ca_path: &Path) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let s = Standin::start(StandinOptions {
            key: ApiKey::new(KEY),
            // Frames never show the asked action: keep the request id alive.
            max_misses: u32::MAX,
            max_failures: u32::MAX,
            seed: Some(1),
            ..StandinOptions::default()
        })
        .await
        .map_err(|e| e.to_string())?;
        std::fs::write(ca_path, s.ca_pem()).map_err(|e| e.to_string())?;
        println!("URL {}", s.url());
        let _ = std::io::stdout().flush();
        // Until the parent closes our stdin.
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
                line.clear();
            }
        })
        .await;
        s.shutdown().await;
        Ok(())
    })
}

/// The livegate side: `steps` steps of frame → JPEG → POST → answer.
fn livegate_side(
    name: &str,
    url: &str,
    ca: &[u8],
    frames: &Path,
    format: PixelFormat,
    steps: usize,
    multi_thread: bool,
) -> Result<Figures, String> {
    let files = list_frames(frames, W, H).map_err(|e| e.to_string())?;
    let raw: Vec<Bytes> = files
        .iter()
        .map(|f| std::fs::read(&f.path).map(Bytes::from))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let encoder = Arc::new(FrameEncoder::new(
        Granted {
            format,
            width: W,
            height: H,
            stride: 0,
        },
        OutputSpec {
            width: W,
            height: H,
            mirror: false,
            rotation: Rotation::R0,
            quality: QUALITY,
        },
    ));
    let rt = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut o = ClientOptions::new(url, ApiKey::new(KEY));
        o.extra_ca_pem = vec![ca.to_vec()];
        o.only_extra_ca = true;
        let client = AigenClient::new(o).map_err(|e| e.to_string())?;
        let first = client
            .sequence(3, None, &[])
            .await
            .map_err(|e| e.to_string())?;
        let request_id: RequestId = first.request_id.ok_or("no request_id")?;
        let step = |i: usize| {
            let frame = Frame::raw(
                raw[i % raw.len()].clone(),
                Arc::clone(&encoder),
                i as u64,
                tokio::time::Instant::now(),
            );
            let (client, request_id) = (&client, &request_id);
            async move {
                let jpeg = frame.jpeg().map_err(|e| e.to_string())?;
                client
                    .verify(request_id, &jpeg)
                    .await
                    .map_err(|e| format!("step {i}: {e}"))?;
                Ok::<usize, String>(jpeg.len())
            }
        };
        for i in 0..WARMUP {
            step(i).await?;
        }
        let mut bytes = 0usize;
        let before = (usage(), Instant::now());
        for i in WARMUP..WARMUP + steps {
            bytes += step(i).await?;
        }
        let (u, wall) = (usage(), before.1.elapsed());

        // Then, apart (its wake-ups are not counted above): another duty on the same
        // runtime, a 10 ms ticker noting its worst lateness while steps run.
        let lag = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let ticker = tokio::spawn({
            let lag = Arc::clone(&lag);
            async move {
                let period = Duration::from_millis(10);
                let mut next = tokio::time::Instant::now() + period;
                loop {
                    tokio::time::sleep_until(next).await;
                    let late = tokio::time::Instant::now().saturating_duration_since(next);
                    let late = u64::try_from(late.as_micros()).unwrap_or(u64::MAX);
                    lag.fetch_max(late, std::sync::atomic::Ordering::Relaxed);
                    next += period;
                }
            }
        });
        for i in 0..steps.div_ceil(3) {
            step(i).await?;
        }
        ticker.abort();
        let n = steps as f64;
        Ok(Figures {
            name: name.to_owned(),
            steps,
            cpu_ms: (u.cpu - before.0.cpu).as_secs_f64() * 1e3 / n,
            wall_ms: wall.as_secs_f64() * 1e3 / n,
            csw: (u.csw - before.0.csw) as f64 / n,
            bytes: bytes as f64 / n,
            maxrss_kb: u.maxrss_kb,
            tick_lag_ms: Some(lag.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e3),
        })
    })
}

/// The Python peer against the same stand-in and frames; its figures as JSON.
fn peer_side(
    python: &str,
    name: &str,
    url: &str,
    ca_path: &Path,
    frames: &Path,
    steps: usize,
) -> Result<Figures, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer/peer.py");
    let out = Command::new(python)
        .arg(script)
        .args(["--url", url, "--key", KEY, "--ca"])
        .arg(ca_path)
        .arg("--frames")
        .arg(frames)
        .args(["--width", &W.to_string(), "--height", &H.to_string()])
        .args(["--quality", &QUALITY.to_string()])
        .args([
            "--steps",
            &steps.to_string(),
            "--warmup",
            &WARMUP.to_string(),
        ])
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the peer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("the peer's output is not JSON ({e})"))?;
    let f = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(f64::NAN)
    };
    let n = f("steps");
    Ok(Figures {
        name: name.to_owned(),
        steps: n as usize,
        cpu_ms: f("cpu_s") * 1e3 / n,
        wall_ms: f("wall_s") * 1e3 / n,
        csw: f("csw") / n,
        bytes: f("bytes") / n,
        maxrss_kb: f("maxrss_kb") as i64,
        tick_lag_ms: None,
    })
}

struct Args {
    steps: usize,
    peer: Option<String>,
    only: Option<String>,
    url: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        steps: 300,
        peer: None,
        only: None,
        url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--steps" => a.steps = it.next().and_then(|s| s.parse().ok()).unwrap_or(a.steps),
            "--peer" => a.peer = it.next(),
            "--only" => a.only = it.next(),
            "--url" => a.url = it.next(),
            // cargo bench passes --bench; ignore what is not ours.
            _ => {}
        }
    }
    a
}

fn main() -> Result<(), String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-step");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let ca_path = dir.join("standin-ca.pem");
    if std::env::args().nth(1).as_deref() == Some("serve") {
        // The frames are made here too, so that the measuring process's peak RSS is
        // that of the step alone.
        write_frames(&dir)?;
        return serve(&ca_path);
    }
    let a = args();

    // The stand-in: this binary again, as `serve` (or one already running: --url).
    let mut child = None;
    let url = match a.url.clone() {
        Some(u) => u,
        None => {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            let mut c = Command::new(exe)
                .arg("serve")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| e.to_string())?;
            let out = c.stdout.take().ok_or("no stdout")?;
            let mut line = String::new();
            BufReader::new(out)
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            child = Some(c);
            line.trim()
                .strip_prefix("URL ")
                .ok_or_else(|| format!("the stand-in said {line:?}"))?
                .to_owned()
        }
    };
    let ca = std::fs::read(&ca_path).map_err(|e| e.to_string())?;
    let wanted = |name: &str| a.only.as_deref().is_none_or(|o| o == name);

    let mut rows = Vec::new();
    for (kind, format) in [("mjpeg", PixelFormat::Mjpeg), ("yuyv", PixelFormat::Yuyv)] {
        let frames = dir.join(kind);
        for (flavor, multi) in [("current", false), ("multi", true)] {
            let name = format!("livegate-{kind}-{flavor}");
            if wanted(&name) {
                let f = livegate_side(&name, &url, &ca, &frames, format, a.steps, multi)?;
                f.print();
                rows.push(f);
            }
        }
        let name = format!("peer-{kind}");
        if let (Some(py), true) = (&a.peer, wanted(&name)) {
            let f = peer_side(py, &name, &url, &ca_path, &frames, a.steps)?;
            f.print();
            rows.push(f);
        }
    }
    if let Some(mut c) = child {
        drop(c.stdin.take());
        let _ = c.wait();
    }

    // Ratios: each livegate flavour against the peer, same frames.
    for kind in ["mjpeg", "yuyv"] {
        let Some(peer) = rows.iter().find(|r| r.name == format!("peer-{kind}")) else {
            continue;
        };
        for r in rows
            .iter()
            .filter(|r| r.name.starts_with(&format!("livegate-{kind}")))
        {
            println!(
                "ratio {:<24} CPU {:.3}x the peer ({:.1}x below)  csw {:.2}x  bytes {:.3}x  RSS {:.2}x",
                r.name,
                r.cpu_ms / peer.cpu_ms,
                peer.cpu_ms / r.cpu_ms,
                r.csw / peer.csw,
                r.bytes / peer.bytes,
                r.maxrss_kb as f64 / peer.maxrss_kb as f64
            );
        }
    }
    Ok(())
}

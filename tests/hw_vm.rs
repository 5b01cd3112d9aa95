//! livegate's hardware adapters against real Linux drivers, inside the hw-vm guest
//! (`tests/hw-vm/run.sh` boots a Debian kernel under qemu and runs these).
//!
//! Every test is `#[ignore]`d: on the host they are skipped, in the guest the init
//! script runs them with `--ignored`. The guest tells the tests where its devices are
//! through `LIVEGATE_VM_*` variables; a missing variable fails the test (never skips).
//!
//! - `vivid` (a V4L2 capture driver offering YUYV and no MJPEG): the V4L2 adapter
//!   negotiates YUYV at the configured size, converts frames to JPEG, and its capture
//!   thread publishes them into a `FrameSlot`.
//! - `v4l2loopback` fed by a writer thread with the scene renderer's JPEGs: MJPEG is
//!   chosen and passed through byte for byte; the writer going away mid-stream is
//!   reported as unavailable and, when it writes again, the camera is reopened.
//! - `livegate_fake_i2c` (tests/hw-vm/fake-i2c: an I2C adapter that acknowledges one
//!   address and records every message in debugfs): the SSD1306 adapter over rppal's
//!   `/dev/i2c-N` sends the power-on sequence and whole frames equal to the rendered
//!   screens, and survives a bus error.
//! - `gpio-sim` (one bank of 8 lines, built out of tree from linux-source): the cdev
//!   relay claims its line at the inactive level and pulses it for its length; the
//!   cdev trigger input sees an edge driven from outside, once, and filters bounce.
//!   What a released line reads (after a drop, or a SIGKILL) is the board's pull, not
//!   livegate's: checked, and that claiming again (`safe-outputs`) restores safety.
//! - All of it at once, through the `livegate` binary itself (built with this test
//!   executable): `livegate run` with a technician's TOML (v4l2 camera on the
//!   loopback, SSD1306 on the fake bus, cdev relays and start button found by line
//!   name) against the API stand-in on the guest's loopback, under a stand-in systemd
//!   (NOTIFY_SOCKET, and the journal's native socket): a button press, three actions
//!   done in front of the camera, exactly one gate pulse of its length, every panel
//!   screen pixel for pixel, one audit entry in the journal, SIGTERM → exit 0 with the
//!   relays off. And `livegate test input` on a chip line.
//! - Wiegand on gpio-sim: cards played into two input lines (the sender driving the
//!   lines' pulls) are read from the kernel's edge events, a bad parity refused; the
//!   output's bits are read back from the kernel's trace of line sets.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use livegate::camera::jpeg::{jpeg_info, FormatPreference, Route};
use livegate::camera::scene::{self, Subject};
use livegate::camera::v4l2::{frame_timeout, OpenCamera, V4l2Camera, V4l2Error, V4l2Options};
use livegate::camera::{CameraState, FrameSlot, FrameSource};
use livegate::display::screens::render;
use livegate::display::sim::Framebuffer;
use livegate::display::ssd1306::{Oled, OledOptions};
use livegate::display::{DisplayError, Screen};
use livegate::gpio::input::{
    spawn_inputs, trigger_event, InputEvent, InputName, InputOptions, InputsOptions,
};
use livegate::gpio::line::{ChipLine, Edge, LineSpec, Pull};
use livegate::gpio::output::{claim_output, OutputOptions};
use livegate::gpio::{pulse, Relay};
use livegate::session::DenyReason;
use livegate::trigger::TriggerEvent;

mod common;
use common::ssd1306::Model;

/// A variable the guest's init sets; its absence is a failure, not a skip.
fn guest_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: these tests run inside the hw-vm guest (tests/hw-vm/run.sh)")
    })
}

// ---------------------------------------------------------------------------------
// V4L2 against vivid

fn vivid() -> PathBuf {
    PathBuf::from(guest_env("LIVEGATE_VM_VIVID"))
}

fn vivid_options() -> V4l2Options {
    V4l2Options {
        device: vivid(),
        warmup_frames: 1,
        ..V4l2Options::default()
    }
}

/// Decodes a JPEG and checks its size; returns the image.
fn decode_jpeg(bytes: &[u8], width: u32, height: u32) -> image::RgbImage {
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "no JPEG start-of-image marker");
    assert_eq!(
        &bytes[bytes.len() - 2..],
        &[0xFF, 0xD9],
        "no JPEG end-of-image marker"
    );
    let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg)
        .expect("the frame decodes as JPEG")
        .to_rgb8();
    assert_eq!(img.dimensions(), (width, height));
    img
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn vivid_is_a_character_device() {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(vivid()).expect("the vivid node exists");
    assert!(meta.file_type().is_char_device(), "{:?}", vivid());
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn vivid_negotiates_yuyv_at_the_configured_size_and_frames_decode() {
    let opts = vivid_options();
    let mut cam = OpenCamera::open(&opts).expect("livegate opens vivid");
    let info = cam.info().clone();
    assert_eq!(info.driver, "vivid");
    assert!(
        info.offered.iter().any(|f| &f.fourcc == b"YUYV"),
        "vivid offers YUYV"
    );
    assert!(
        !info.offered.iter().any(|f| &f.fourcc == b"MJPG"),
        "vivid offers no MJPEG"
    );
    // Auto prefers MJPEG; without it, YUYV is asked for and granted.
    assert_eq!(opts.format, FormatPreference::Auto);
    assert_eq!(&info.choice.fourcc, b"YUYV", "{}", info.choice.reason);
    assert_eq!(&info.granted.fourcc, b"YUYV");
    assert_eq!((info.granted.width, info.granted.height), (640, 480));
    assert!(info.choice.exact, "{}", info.choice.reason);
    assert!(
        info.granted.stride >= 640 * 2,
        "stride {}",
        info.granted.stride
    );
    assert_eq!(info.plan.route, Route::ConvertRaw, "{}", info.plan.reason);
    assert!(!info.plan.scale, "{}", info.plan.reason);

    let skipped = cam.skip_frame().expect("a frame to skip");
    assert!(skipped >= 640 * 480 * 2, "a YUYV frame has {skipped} bytes");
    for _ in 0..3 {
        let enc = cam
            .next_frame()
            .expect("the device delivers")
            .expect("the frame converts");
        assert_eq!((enc.width, enc.height), (640, 480));
        let img = decode_jpeg(&enc.jpeg, 640, 480);
        // vivid's default pattern is colour bars: the left bar is (75 %) white,
        // further right come coloured and dark bars. A conversion that lost the
        // picture gives one flat colour.
        let left = img.get_pixel(20, 240).0;
        assert!(
            left.iter().all(|&c| c > 140),
            "left bar should be light grey/white: {left:?}"
        );
        let distinct: std::collections::BTreeSet<[u8; 3]> = (0..8)
            .map(|bar| {
                let p = img.get_pixel(bar * 80 + 40, 240).0;
                p.map(|c| c / 64)
            })
            .collect();
        assert!(
            distinct.len() >= 5,
            "expected distinct colour bars, got {distinct:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
async fn vivid_frames_arrive_in_the_slot_with_increasing_seq() {
    let slot = FrameSlot::new();
    let cam: Box<dyn FrameSource> = Box::new(V4l2Camera::new(vivid_options()));
    let task = cam.spawn(slot.clone());
    let mut last: Option<u64> = None;
    let mut seqs = Vec::new();
    for _ in 0..3 {
        let frame = tokio::time::timeout(
            Duration::from_secs(60),
            slot.next_fresh(last, tokio::time::Instant::now()),
        )
        .await
        .expect("a frame within 60 s")
        .unwrap_or_else(|| panic!("camera unavailable: {:?}", slot.state()));
        assert_eq!((frame.width, frame.height), (640, 480));
        decode_jpeg(&frame.jpeg().expect("a JPEG"), 640, 480);
        if let Some(prev) = last {
            assert!(frame.seq > prev, "seq {} after {prev}", frame.seq);
        }
        last = Some(frame.seq);
        seqs.push(frame.seq);
    }
    assert_eq!(slot.state(), CameraState::Streaming);
    assert_eq!(seqs.len(), 3);
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    // Aborting stops the capture thread within a frame or two: the device is
    // released and can be opened again (30 s: generous for the emulated CPU).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match OpenCamera::open(&vivid_options()) {
            Ok(_) => break,
            Err(e) => assert!(
                Instant::now() < deadline,
                "vivid still held 30 s after the abort: {e}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------------------------
// V4L2 against v4l2loopback fed with JPEG frames (the MJPEG camera)

fn loopback() -> PathBuf {
    PathBuf::from(guest_env("LIVEGATE_VM_LOOP"))
}

fn loop_options() -> V4l2Options {
    V4l2Options {
        device: loopback(),
        warmup_frames: 1,
        reopen_backoff_max: Duration::from_secs(2),
        ..V4l2Options::default()
    }
}

/// Distinct 640x480 JPEGs of the scene renderer (the image crate's encoder, which
/// writes its own DHT), one per subject.
fn scene_jpegs(subjects: &[Subject]) -> Vec<Vec<u8>> {
    let jpegs: Vec<Vec<u8>> = subjects
        .iter()
        .map(|s| scene::render(640, 480, *s, 80).expect("the scene renders"))
        .collect();
    for (i, j) in jpegs.iter().enumerate() {
        assert!(
            jpegs[..i].iter().all(|k| k != j),
            "the frames differ from each other"
        );
        let info = jpeg_info(j).expect("a JPEG");
        assert_eq!(info.size, Some((640, 480)));
    }
    jpegs
}

/// A program feeding the loopback device: opens it as a video output, sets MJPG
/// 640x480, streams JPEGs (~10 fps) through mmap buffers until stopped, then stops
/// streaming and closes the device (the camera goes away).
struct LoopWriter {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

/// The JPEG to write as frame number `n`.
type FrameFeed = Box<dyn FnMut(u64) -> Arc<Vec<u8>> + Send>;

impl LoopWriter {
    /// Writes the given JPEGs in turn.
    fn start(frames: Vec<Vec<u8>>) -> Self {
        let frames: Vec<Arc<Vec<u8>>> = frames.into_iter().map(Arc::new).collect();
        Self::feed(Box::new(move |n| {
            frames[(n % frames.len() as u64) as usize].clone()
        }))
    }

    /// Writes whatever `next` hands out for each frame.
    fn feed(mut next: FrameFeed) -> Self {
        use v4l::io::traits::OutputStream;
        use v4l::video::Output;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let dev = v4l::Device::with_path(loopback()).expect("open the loopback as writer");
            let fmt = v4l::Format::new(640, 480, v4l::FourCC::new(b"MJPG"));
            let got = Output::set_format(&dev, &fmt).expect("set the output format");
            assert_eq!(
                (&got.fourcc.repr, got.width, got.height),
                (b"MJPG", 640, 480)
            );
            let mut stream =
                v4l::io::mmap::Stream::with_buffers(&dev, v4l::buffer::Type::VideoOutput, 4)
                    .expect("output buffers");
            stream.set_timeout(Duration::from_secs(5));
            let mut written: u64 = 0;
            while !flag.load(Ordering::Acquire) {
                // `next` queues the buffer filled last and hands back one to fill,
                // which can be the one a reader is copying right now: fill it only
                // a frame period later.
                let (buf, meta) = OutputStream::next(&mut stream).expect("an output buffer");
                std::thread::sleep(Duration::from_millis(100));
                let frame = next(written);
                assert!(buf.len() >= frame.len(), "buffer {} bytes", buf.len());
                buf[..frame.len()].copy_from_slice(&frame);
                meta.bytesused = frame.len() as u32;
                written += 1;
            }
            drop(stream);
            drop(dev);
            written
        });
        LoopWriter {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops and closes the writer; returns how many frames it queued.
    fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Release);
        self.thread
            .take()
            .expect("running")
            .join()
            .expect("the writer ran without failing")
    }
}

impl Drop for LoopWriter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Opens the loopback as livegate's camera once the writer streams (until then it
/// offers no capture); within 20 s.
fn open_loopback() -> OpenCamera {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match OpenCamera::open(&loop_options()) {
            Ok(cam) => return cam,
            Err(e) => assert!(
                Instant::now() < deadline,
                "the loopback offers no capture 20 s after the writer started: {e}"
            ),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn loopback_mjpeg_passes_through_byte_for_byte() {
    let frames = scene_jpegs(&[
        Subject::Neutral,
        Subject::Doing(0),
        Subject::Doing(1),
        Subject::Doing(2),
    ]);
    let writer = LoopWriter::start(frames.clone());
    let mut cam = open_loopback();
    let info = cam.info().clone();
    assert_eq!(info.driver, "v4l2 loopback");
    assert!(
        info.offered.iter().any(|f| &f.fourcc == b"MJPG"),
        "the loopback offers MJPG"
    );
    assert_eq!(&info.choice.fourcc, b"MJPG", "{}", info.choice.reason);
    assert_eq!(&info.granted.fourcc, b"MJPG");
    assert_eq!((info.granted.width, info.granted.height), (640, 480));
    assert_eq!(info.plan.route, Route::PassThrough, "{}", info.plan.reason);
    assert!(!info.plan.scale);

    // The first frame read can be a stale buffer.
    cam.skip_frame().expect("a frame to skip");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let enc = cam
            .next_frame()
            .expect("the device delivers")
            .expect("the frame passes");
        assert_eq!((enc.width, enc.height), (640, 480));
        let which = frames
            .iter()
            .position(|f| *f == enc.jpeg)
            .unwrap_or_else(|| panic!("{} bytes equal to no JPEG written", enc.jpeg.len()));
        seen.insert(which);
    }
    assert!(seen.len() >= 2, "the frames follow the writer: {seen:?}");
    drop(cam);
    assert!(writer.stop() >= 4);
}

/// Waits until `check` holds for the slot, polling every 20 ms; the time it took.
async fn wait_for(
    slot: &FrameSlot,
    within: Duration,
    what: &str,
    check: impl Fn(&FrameSlot) -> bool,
) -> Duration {
    let start = Instant::now();
    while !check(slot) {
        assert!(
            start.elapsed() < within,
            "{what}: not within {within:?} (state {:?}, latest {:?})",
            slot.state(),
            slot.latest().map(|f| (
                f.seq,
                f.raw_len(),
                f.jpeg().map(|j| jpeg_info(&j).map(|i| i.size))
            ))
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
async fn loopback_writer_gone_mid_stream_is_reported_and_reopened() {
    let first = scene_jpegs(&[Subject::Neutral, Subject::Doing(3)]);
    let second = scene_jpegs(&[Subject::Doing(4), Subject::Doing(5)]);
    let writer = LoopWriter::start(first.clone());
    let slot = FrameSlot::new();
    let cam: Box<dyn FrameSource> = Box::new(V4l2Camera::new(loop_options()));
    let task = cam.spawn(slot.clone());
    let is_from = |set: &[Vec<u8>], s: &FrameSlot| {
        s.state() == CameraState::Streaming
            && s.latest()
                .is_some_and(|f| f.jpeg().is_ok_and(|jpeg| set.iter().any(|j| *j == jpeg)))
    };
    wait_for(
        &slot,
        Duration::from_secs(60),
        "frames of the first writer",
        |s| is_from(&first, s),
    )
    .await;
    let before = slot.latest().expect("a frame").seq;

    // The writer stops streaming and closes the device: no more frames.
    writer.stop();
    let timeout = frame_timeout(loop_options().fps);
    wait_for(
        &slot,
        timeout + Duration::from_secs(30),
        "the loss reported",
        |s| matches!(s.state(), CameraState::Unavailable(_)),
    )
    .await;
    let seen_at = tokio::time::Instant::now();
    let CameraState::Unavailable(reason) = slot.state() else {
        unreachable!()
    };
    // Found by the frame timeout, counted from the last frame (causal, whenever
    // the emulated CPU let the writer deliver it; 100 ms for the clocks' rounding).
    assert_eq!(reason, V4l2Error::Timeout(timeout).state_text());
    let last_frame = slot.latest().expect("the last frame is kept");
    assert!(
        seen_at + Duration::from_millis(100) >= last_frame.captured_at + timeout,
        "reported {:?} after the last frame",
        seen_at.saturating_duration_since(last_frame.captured_at)
    );
    assert!(!task.is_finished(), "the camera keeps trying: {reason}");
    let last = slot.latest().expect("the last frame is kept").seq;
    assert!(last >= before);

    // It stays unavailable (reopen attempts fail) while nobody writes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        matches!(slot.state(), CameraState::Unavailable(_)),
        "{:?}",
        slot.state()
    );
    assert!(!task.is_finished());

    // The camera comes back: reopened, new frames with a higher seq.
    let writer = LoopWriter::start(second.clone());
    wait_for(
        &slot,
        Duration::from_secs(60),
        "frames of the second writer",
        |s| is_from(&second, s),
    )
    .await;
    let frame = slot.latest().expect("a frame");
    assert!(frame.seq > last, "seq {} after {last}", frame.seq);
    assert_eq!((frame.width, frame.height), (640, 480));
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    writer.stop();
}

// ---------------------------------------------------------------------------------
// SSD1306 against the recording I2C adapter

/// The fake adapter's record: every message written, in order.
struct I2cRecord {
    log: PathBuf,
    fail: PathBuf,
}

impl I2cRecord {
    fn from_env() -> Self {
        let dir = PathBuf::from(guest_env("LIVEGATE_VM_I2C_DEBUGFS"));
        I2cRecord {
            log: dir.join("log"),
            fail: dir.join("fail"),
        }
    }

    fn clear(&self) {
        std::fs::write(&self.log, b"x").expect("clear the I2C record");
    }

    fn fail_next(&self, n: u32) {
        std::fs::write(&self.fail, n.to_string()).expect("arm the I2C failure");
    }

    fn failures_left(&self) -> u32 {
        std::fs::read_to_string(&self.fail)
            .expect("read the failure counter")
            .trim()
            .parse()
            .expect("a number")
    }

    /// The messages recorded since the last clear.
    fn messages(&self) -> Vec<Vec<u8>> {
        let raw = std::fs::read(&self.log).expect("read the I2C record");
        let mut out = Vec::new();
        let mut rest = &raw[..];
        while !rest.is_empty() {
            assert!(rest.len() >= 2, "a truncated record");
            let n = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
            assert!(rest.len() >= 2 + n, "a truncated message");
            out.push(rest[2..2 + n].to_vec());
            rest = &rest[2 + n..];
        }
        out
    }
}

fn oled_options() -> OledOptions {
    let bus: u8 = guest_env("LIVEGATE_VM_I2C_BUS")
        .parse()
        .expect("a bus number");
    OledOptions {
        bus,
        ..OledOptions::default()
    }
}

fn fail_screen() -> Screen {
    Screen::Fail {
        reason: DenyReason::NotVerified,
    }
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn ssd1306_power_on_and_a_full_frame_arrive_intact_over_dev_i2c() {
    let rec = I2cRecord::from_env();
    let opts = oled_options();
    assert!(
        std::path::Path::new(&opts.device_path()).exists(),
        "{} exists",
        opts.device_path()
    );
    rec.clear();
    let mut oled = Oled::open(&opts).expect("the panel opens on the fake bus");
    let boot = rec.messages();
    assert_eq!(boot[0], [0x00, 0xE3], "the probe is a NOP command");
    let c = Model::replay(&boot[1..]);
    let opcodes = c.opcodes();
    assert_eq!(opcodes.first(), Some(&0xAE), "dark first: {opcodes:02X?}");
    assert_eq!(c.ram_at_on.len(), 1, "turned on once: {opcodes:02X?}");
    assert_eq!(
        c.ram_at_on[0], [[0u8; 128]; 8],
        "the whole memory is blank when the panel turns on"
    );
    let on_at = opcodes.iter().position(|&o| o == 0xAF).unwrap();
    assert!(opcodes[on_at..].contains(&0x81), "contrast set after init");
    assert!(oled.is_ready());

    rec.clear();
    let screen = fail_screen();
    oled.show_at(&screen, Instant::now())
        .expect("the screen is shown");
    let frame = rec.messages();
    // Replay the frame onto the panel as it was after power-on.
    let mut all = boot[1..].to_vec();
    all.extend(frame);
    let panel = Model::replay(&all);
    assert_eq!(
        panel.data_bytes - Model::replay(&boot[1..]).data_bytes,
        1024,
        "one whole 128x64 frame of data"
    );
    let want = render(&screen, 128, 64);
    assert!(want.count_lit() > 50, "the screen draws something");
    assert_eq!(panel.view(), want, "the panel shows the rendered screen");
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn ssd1306_survives_an_i2c_error_and_reinitialises() {
    let rec = I2cRecord::from_env();
    let opts = oled_options();
    let mut oled = Oled::open(&opts).expect("the panel opens on the fake bus");
    let t0 = Instant::now();
    oled.show_at(&Screen::Idle, t0).expect("idle shown");

    rec.fail_next(1);
    rec.clear();
    let screen = fail_screen();
    let err = oled.show_at(&screen, t0).expect_err("the bus fails");
    assert!(matches!(err, DisplayError::Bus(_)), "{err:?}");
    assert_eq!(rec.failures_left(), 0, "the failing transfer was attempted");
    assert!(!oled.is_ready());
    // Within the re-init interval: no I/O, the error again.
    let soon = t0 + opts.reinit_interval / 2;
    assert!(oled.show_at(&screen, soon).is_err());
    assert!(
        rec.messages().is_empty(),
        "no I/O before the re-init interval"
    );

    let later = t0 + opts.reinit_interval;
    oled.show_at(&screen, later)
        .expect("re-initialised and shown");
    assert!(oled.is_ready());
    let c = Model::replay(&rec.messages());
    let opcodes = c.opcodes();
    assert_eq!(opcodes.first(), Some(&0xAE), "{opcodes:02X?}");
    assert_eq!(c.ram_at_on.len(), 1);
    assert_eq!(c.ram_at_on[0], [[0u8; 128]; 8]);
    assert_eq!(c.view(), render(&screen, 128, 64));
}

// ---------------------------------------------------------------------------------
// cdev GPIO against gpio-sim

/// gpio-sim's bank: its character device and the sysfs lines behind it.
struct SimBank {
    chip: PathBuf,
    dir: PathBuf,
}

impl SimBank {
    fn from_env() -> Self {
        SimBank {
            chip: PathBuf::from(guest_env("LIVEGATE_VM_GPIOCHIP")),
            dir: PathBuf::from(guest_env("LIVEGATE_VM_GPIOSIM")),
        }
    }

    /// The level on line `k` now: what an output drives, or an input's pull.
    fn value(&self, k: u32) -> u8 {
        let path = self.dir.join(format!("sim_gpio{k}/value"));
        match std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {path:?}: {e}"))
            .trim()
        {
            "0" => 0,
            "1" => 1,
            other => panic!("{path:?} reads {other:?}"),
        }
    }

    /// The simulated world outside the chip pulls line `k` up or down.
    fn pull(&self, k: u32, up: bool) {
        let path = self.dir.join(format!("sim_gpio{k}/pull"));
        let word = if up { "pull-up" } else { "pull-down" };
        std::fs::write(&path, word).unwrap_or_else(|e| panic!("write {word} to {path:?}: {e}"));
    }

    fn relay(&self, line: u32, active_low: bool) -> OutputOptions<ChipLine> {
        OutputOptions {
            line: ChipLine::new(self.chip.clone(), LineSpec::Offset(line)),
            active_low,
            pulse: Duration::from_millis(300),
        }
    }
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn gpio_sim_relays_are_claimed_at_their_inactive_level() {
    let bank = SimBank::from_env();
    // Pulled the other way, so only the driven output can give the level read.
    bank.pull(0, false);
    bank.pull(1, true);
    assert_eq!((bank.value(0), bank.value(1)), (0, 1), "the pulls apply");
    let low = claim_output("gate", &bank.relay(0, true)).expect("claim line 0");
    let high = claim_output("fail", &bank.relay(1, false)).expect("claim line 1");
    assert_eq!(bank.value(0), 1, "active-low: inactive is high");
    assert_eq!(bank.value(1), 0, "active-high: inactive is low");
    low.set(true).unwrap();
    high.set(true).unwrap();
    assert_eq!((bank.value(0), bank.value(1)), (0, 1), "both energised");
    low.set(false).unwrap();
    high.set(false).unwrap();
    assert_eq!(
        (bank.value(0), bank.value(1)),
        (1, 0),
        "both inactive again"
    );
    // The line is ours: a second claim is refused, naming the line.
    let busy = claim_output("gate", &bank.relay(0, true))
        .err()
        .expect("line 0 is held");
    let text = busy.to_string();
    assert!(text.contains("line 0") && text.contains("busy"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
async fn gpio_sim_a_pulse_is_low_for_its_length_then_high_again() {
    let bank = SimBank::from_env();
    bank.pull(0, false);
    let relay: std::sync::Arc<dyn Relay> =
        std::sync::Arc::new(claim_output("gate", &bank.relay(0, true)).expect("claim"));
    assert_eq!(bank.value(0), 1);
    let lines = LineWatch::start(&bank, &[0]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    pulse(&relay, Duration::from_millis(300))
        .await
        .expect("the pulse");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let changes = lines.changes(0);
    let runs = lines.low_runs(0);
    lines.stop();
    assert_eq!(bank.value(0), 1, "inactive after the pulse, still held");
    // One run of lows, bounded by highs.
    assert_eq!(
        changes.iter().map(|c| c.value).collect::<Vec<_>>(),
        vec![1, 0, 1],
        "one low pulse: {changes:?}"
    );
    // Real time (a kernel driver): on for at least its length, off within the slack.
    assert!(
        runs.len() == 1
            && runs[0].longest >= Duration::from_millis(300)
            && runs[0].shortest <= Duration::from_millis(300) + VM_SLACK,
        "the pulse read back lasted {runs:?} (asked for 300 ms)"
    );
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn gpio_sim_a_released_relay_line_reads_the_boards_pull() {
    let bank = SimBank::from_env();
    // The relay drives its inactive level until it is dropped; then the kernel
    // releases the line and gpio-sim, like a real pin turned input, shows the pull.
    for (pull_up, after) in [(true, 1), (false, 0)] {
        bank.pull(0, pull_up);
        let relay = claim_output("gate", &bank.relay(0, true)).expect("claim");
        relay.set(true).unwrap();
        assert_eq!(bank.value(0), 0, "energised");
        drop(relay);
        assert_eq!(
            bank.value(0),
            after,
            "released with a pull-{}",
            if pull_up { "up" } else { "down" }
        );
    }
}

/// Not a check: the child process of `gpio_sim_a_killed_holder_...`. It claims the
/// gate relay and pulses it until killed; without its variable it does nothing.
#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn gpio_sim_child_pulses_until_killed() {
    if std::env::var("LIVEGATE_VM_CHILD").as_deref() != Ok("pulse-forever") {
        return;
    }
    let bank = SimBank::from_env();
    let relay = claim_output("gate", &bank.relay(0, true)).expect("claim");
    println!("CHILD-READY");
    loop {
        relay.set(true).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        relay.set(false).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn gpio_sim_a_killed_holder_leaves_the_pull_and_claiming_again_restores_safety() {
    use std::io::BufRead;
    let bank = SimBank::from_env();
    // A board whose relay input is pulled toward active (the worst case).
    bank.pull(0, false);
    let mut child = std::process::Command::new(std::env::current_exe().expect("own path"))
        .args([
            "--ignored",
            "--exact",
            "gpio_sim_child_pulses_until_killed",
            "--nocapture",
        ])
        .env("LIVEGATE_VM_CHILD", "pulse-forever")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the child");
    let stdout = child.stdout.take().expect("piped");
    let mut lines = std::io::BufReader::new(stdout).lines();
    let ready = lines.any(|l| l.map(|l| l.contains("CHILD-READY")).unwrap_or(false));
    assert!(ready, "the child claimed the relay");
    // The child holds the line: it toggles, and it cannot be claimed here.
    let seen: std::collections::BTreeSet<u8> = (0..40)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(3));
            bank.value(0)
        })
        .collect();
    assert_eq!(seen.len(), 2, "the child pulses the line: {seen:?}");
    assert!(claim_output("gate", &bank.relay(0, true)).is_err());
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("reap the child");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    // Killed, it could not drive the line inactive: the kernel released it, and the
    // line shows the pull, which here means the relay is energised.
    assert_eq!(bank.value(0), 0, "after SIGKILL the line follows the pull");
    // What `livegate safe-outputs` (ExecStopPost) does: claim, which drives inactive.
    let safe = claim_output("gate", &bank.relay(0, true)).expect("claim again");
    assert_eq!(bank.value(0), 1, "claimed again: inactive");
    drop(safe);
}

fn trigger_options(bank: &SimBank) -> InputsOptions<ChipLine> {
    InputsOptions {
        trigger: Some(InputOptions {
            line: ChipLine::new(bank.chip.clone(), LineSpec::Offset(2)),
            pull: Pull::Up,
            edge: Edge::Falling,
            debounce: Duration::from_millis(50),
        }),
        ..InputsOptions::default()
    }
}

/// Everything the watcher sent so far.
fn drain(rx: &mut tokio::sync::mpsc::Receiver<InputEvent>) -> Vec<InputEvent> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

/// Drives line `k` through `levels` (true = pulled up), one every `step`; returns the
/// longest time a level was actually held before the next write.
async fn drive(bank: &SimBank, k: u32, levels: &[bool], step: Duration) -> Duration {
    let mut longest = Duration::ZERO;
    let mut last = Instant::now();
    for (i, up) in levels.iter().enumerate() {
        let now = Instant::now();
        if i > 0 {
            longest = longest.max(now - last);
        }
        last = now;
        bank.pull(k, *up);
        tokio::time::sleep(step).await;
    }
    longest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
async fn gpio_sim_an_edge_from_outside_starts_a_session_and_bounce_is_filtered() {
    let bank = SimBank::from_env();
    bank.pull(2, true);
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let watch = spawn_inputs(&trigger_options(&bank), tx).expect("the trigger input");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(drain(&mut rx).is_empty(), "nothing while idle (pulled up)");

    // A clean press: low for 500 ms, then released.
    let pressed = Instant::now();
    bank.pull(2, false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let released = Instant::now();
    bank.pull(2, true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1, "one event for one press: {events:?}");
    assert_eq!(
        (events[0].input, events[0].active),
        (InputName::Trigger, true)
    );
    // Real time (a kernel driver): the press began after the write (less a poll's
    // 20 ms) and belongs to this press, not to a later one.
    let at = events[0].at.into_std();
    assert!(
        at + Duration::from_millis(20) >= pressed && at <= released + VM_SLACK,
        "the press began {:?} after the write",
        at.saturating_duration_since(pressed)
    );
    assert_eq!(
        trigger_event(&events[0]),
        Some(TriggerEvent::Start {
            source: "gpio",
            note: None,
            card: None
        })
    );

    // Contact bounce only (toggling every 5 ms for 30 ms, ending released): nothing.
    // The guest must toggle faster than the 50 ms debounce for this to test it: a
    // train it played too slowly is let settle and played again.
    let step = Duration::from_millis(5);
    let bounce = [false, true, false, true, false, true];
    let mut fast = false;
    for _ in 0..5 {
        let held = drive(&bank, 2, &bounce, step).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let events = drain(&mut rx);
        if held < Duration::from_millis(40) {
            assert!(events.is_empty(), "bounce alone is filtered: {events:?}");
            fast = true;
            break;
        }
        println!("the guest held a bounce level {held:?}: played again");
    }
    assert!(
        fast,
        "the guest never toggled fast enough to test a 50 ms debounce"
    );

    // A bouncy press (the same train, ending pressed and held): exactly one start.
    let mut fast = false;
    for _ in 0..5 {
        let held = drive(&bank, 2, &bounce[..5], step).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        bank.pull(2, true);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let events = drain(&mut rx);
        if held < Duration::from_millis(40) {
            assert_eq!(events.len(), 1, "one start for a bouncy press: {events:?}");
            assert_eq!(
                trigger_event(&events[0]),
                Some(TriggerEvent::Start {
                    source: "gpio",
                    note: None,
                    card: None
                })
            );
            fast = true;
            break;
        }
        println!("the guest held a bounce level {held:?}: played again");
    }
    assert!(
        fast,
        "the guest never toggled fast enough to test a 50 ms debounce"
    );
    watch.abort();
}

// ---------------------------------------------------------------------------------
// Wiegand on gpio-sim lines: a card reader's frame read from kernel-stamped edges,
// and the output's bits read back from the kernel's own record of each line set

/// Lines 6 and 7: a card reader's D0 and D1 (inputs); 4 and 5: the Wiegand output
/// to a panel. (Line 3 is the request-to-exit button of the whole-session tests.)
fn sim_line(bank: &SimBank, k: u32) -> ChipLine {
    ChipLine::new(bank.chip.clone(), LineSpec::Offset(k))
}

/// A card reader's data line as the guest can drive one: gpio-sim's pull of an input
/// line (`sim_gpioK/pull`), which is what an open-collector reader does to a
/// pulled-up input. Low is a pull-down, high a pull-up.
struct ReaderLine(PathBuf);

impl ReaderLine {
    fn of(bank: &SimBank, k: u32) -> Self {
        ReaderLine(bank.dir.join(format!("sim_gpio{k}/pull")))
    }
}

impl livegate::gpio::output::OutputLine for ReaderLine {
    fn write(&mut self, level: livegate::gpio::line::Level) -> Result<(), String> {
        let word = match level {
            livegate::gpio::line::Level::High => "pull-up",
            livegate::gpio::line::Level::Low => "pull-down",
        };
        std::fs::write(&self.0, word).map_err(|e| format!("{word} to {:?}: {e}", self.0))
    }
}

/// Silence that ends a frame for the input test's decoder. A real reader's pulses
/// come from its own clock; here they are sysfs writes of a thread on the guest's
/// one emulated CPU, which the busy host can hold up for tens of milliseconds
/// between two bits (the product's 50 ms would then split a frame). Still far below
/// the pause between the test's frames, which waits for each read.
const GUEST_END_GAP: Duration = Duration::from_millis(500);

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn gpio_sim_wiegand_in_reads_cards_from_the_kernels_edges_and_rejects_a_bad_parity() {
    use livegate::reader::wiegand::{listen, open_reader, send_frame, Monotonic, WiegandLines};
    use livegate_core::wiegand::{Card, DecoderParams, Format, FrameError, Half, Read, Timing};
    let bank = SimBank::from_env();
    bank.pull(6, true);
    bank.pull(7, true);
    let reader = open_reader(&sim_line(&bank, 6), &sim_line(&bank, 7)).expect("D0 and D1");
    // The reader's side: the product's own sender, at the default timing (2 ms
    // between bits), driving the two lines' pulls.
    let mut card_reader =
        WiegandLines::new(ReaderLine::of(&bank, 6), ReaderLine::of(&bank, 7), false);
    let mut play =
        |bits| send_frame(&mut card_reader, &mut Monotonic, bits, Timing::DEFAULT).map(|_| bits);
    let w26 = Card::new(Format::W26, 18, 12345).expect("a 26-bit card");
    let w34 = Card::new(Format::W34, 0xBEEF, 0x1234).expect("a 34-bit card");
    // The trailing (odd) parity bit flipped.
    let bad = w26.encode().flipped(25);
    let params = DecoderParams {
        end_gap: GUEST_END_GAP,
        ..DecoderParams::default()
    };

    // The first frame is played before anyone reads: its 26 falling edges all wait
    // in the kernel's queue and are read in a burst (several events per read).
    let first = play(w26.encode());
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let listener = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            listen(
                reader,
                params,
                || !stop.load(Ordering::Relaxed),
                |r| {
                    let _ = tx.send(r);
                },
            )
        })
    };
    let wait = || rx.recv_timeout(Duration::from_secs(20)).ok();
    let got_first = wait();
    // The others while the listener reads along.
    let second = play(w34.encode());
    let got_second = wait();
    let third = play(bad);
    let got_third = wait();
    // Nothing else arrives (no frame split in two, no stray edge).
    let extra = rx.recv_timeout(GUEST_END_GAP * 2).ok();
    // The lines are let go before any check can fail, so later tests can claim them.
    stop.store(true, Ordering::Relaxed);
    let listened = listener.join().expect("the listener");
    drop(card_reader);
    listened.expect("no line error");
    let (first, second, third) = (
        first.expect("played"),
        second.expect("played"),
        third.expect("played"),
    );
    let seen = |r: &Option<Read>| r.map(|r| (r.bits, r.card));
    assert_eq!(
        seen(&got_first),
        Some((first, Ok(w26))),
        "the queued 26-bit frame"
    );
    assert_eq!(
        seen(&got_second),
        Some((second, Ok(w34))),
        "the 34-bit frame"
    );
    assert_eq!(
        seen(&got_third),
        Some((third, Err(FrameError::Parity(Half::Trailing)))),
        "a flipped parity bit is refused"
    );
    assert_eq!(extra, None, "no frame besides the three played");
    println!(
        "Wiegand in: read {} + {} + {} bits as played; the bad parity refused",
        first.len(),
        second.len(),
        third.len()
    );
}

/// The kernel's trace of GPIO line sets (`gpio_value` events), in debugfs.
const TRACING: &str = "/sys/kernel/debug/tracing";

/// The global GPIO number of line 0 of the gpio-sim bank, from debugfs's gpio list
/// ("gpiochipN: GPIOs 512-519, parent: platform/gpio-sim.0, livegate-sim:").
fn sim_gpio_base() -> u32 {
    let list = std::fs::read_to_string("/sys/kernel/debug/gpio").expect("debugfs gpio");
    let line = list
        .lines()
        .find(|l| l.contains("livegate-sim"))
        .unwrap_or_else(|| panic!("no livegate-sim chip in debugfs gpio:\n{list}"));
    let range = line.split("GPIOs ").nth(1).expect("GPIOs a-b");
    range
        .split('-')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("cannot read the base in {line:?}"))
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn gpio_sim_wiegand_out_sends_the_cards_bits_one_line_at_a_time() {
    use livegate::reader::wiegand::{claim_lines, send_frame, Monotonic};
    use livegate_core::wiegand::{Card, Format, Timing};
    let bank = SimBank::from_env();
    let base = sim_gpio_base();
    let write = |file: &str, what: &str| {
        std::fs::write(format!("{TRACING}/{file}"), what)
            .unwrap_or_else(|e| panic!("write {what:?} to {TRACING}/{file}: {e}"))
    };
    let mut lines =
        claim_lines(&sim_line(&bank, 4), &sim_line(&bank, 5), false).expect("D0 and D1");
    assert_eq!((bank.value(4), bank.value(5)), (1, 1), "claimed idle high");
    write("trace", "");
    write("events/gpio/gpio_value/enable", "1");
    let card = Card::new(Format::W26, 18, 12345).unwrap();
    let sent =
        send_frame(&mut lines, &mut Monotonic, card.encode(), Timing::DEFAULT).expect("sent");
    write("events/gpio/gpio_value/enable", "0");
    let trace = std::fs::read_to_string(format!("{TRACING}/trace")).expect("the trace");
    // "... gpio_value: 517 set 0": our two lines' sets, in order.
    let sets: Vec<(u32, u8)> = trace
        .lines()
        .filter_map(|l| {
            let rest = l.split("gpio_value: ").nth(1)?;
            let mut w = rest.split_whitespace();
            let gpio: u32 = w.next()?.parse().ok()?;
            (w.next()? == "set").then_some(())?;
            let value: u8 = w.next()?.parse().ok()?;
            (gpio == base + 4 || gpio == base + 5).then_some((gpio - base, value))
        })
        .collect();
    assert_eq!(sets.len(), 52, "two sets per bit:\n{trace}");
    let mut low = [false; 2];
    let mut bits = String::new();
    for &(k, v) in &sets {
        let i = (k - 4) as usize;
        if v == 0 {
            assert!(!low[1 - i], "D0 and D1 low together: {sets:?}");
            bits.push(if k == 4 { '0' } else { '1' });
        }
        low[i] = v == 0;
    }
    assert_eq!(bits, card.encode().to_string());
    assert_eq!(low, [false, false], "both lines idle at the end");
    assert!(sent.took >= livegate_core::wiegand::duration(card.encode(), Timing::DEFAULT));
    drop(lines);
}

// ---------------------------------------------------------------------------------
// One whole session: the `livegate` binary on all of the above

/// The `livegate` executable, built with this test binary (the host's test build) and
/// put in the guest by run.sh.
fn livegate_bin() -> PathBuf {
    PathBuf::from(guest_env("LIVEGATE_VM_LIVEGATE"))
}

/// A fresh scratch directory in the guest's tmpfs.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from("/tmp").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the scratch directory");
    dir
}

/// How long an action may take in the guest's configuration.
const GUEST_ACTION_TIMEOUT_S: u16 = 20;
/// The gate pulse of the guest's configuration: long enough that a test which
/// sees it begin can act (kill the daemon) before it would end, however slowly
/// the emulated CPU runs the test.
const GUEST_GATE_PULSE: Duration = Duration::from_secs(2);
/// How late the emulated machine may run a timer or a sampling thread before a
/// test calls it wrong: an upper bound only.
const VM_SLACK: Duration = Duration::from_secs(3);

/// What a technician would write in /etc/livegate/livegate.toml for this guest's
/// hardware: the loopback camera, the OLED on bus 1, relays and the start button on
/// gpio-sim's lines (found by name), the request-to-exit button on line 3 (by
/// offset), and the API at `api_url`.
fn guest_config(dir: &std::path::Path, api_url: &str) -> String {
    format!(
        r#"# livegate in the hw-vm guest
[api]
base_url = "{api_url}"
key_file = "{dir}/api-key"
ca_file = "{dir}/ca.pem"
mode = 3
request_timeout = "15s"

[session]
action_timeout = "{GUEST_ACTION_TIMEOUT_S}s"
first_frame_after = "1s"
session_timeout = "120s"
verdict_screen = "2s"

[camera]
kind = "v4l2"
device = "{camera}"
width = 640
height = 480
fps = 10
format = "auto"
warmup_frames = 1
left_is = "person"

[display]
kind = "ssd1306"
bus = {bus}
address = 0x3C
size = "128x64"

[gpio]
kind = "cdev"
chip = "{chip}"
gate_line = "RELAY_GATE"
gate_active_low = true
gate_pulse = "{pulse_ms}ms"
fail_line = "RELAY_FAIL"
fail_active_low = true
fail_pulse = "300ms"
trigger_line = "TRIGGER"
trigger_pull = "up"
trigger_edge = "falling"
trigger_debounce = "50ms"
exit_line = 3
exit_pull = "up"
exit_edge = "falling"
exit_debounce = "50ms"

[trigger]
kind = "gpio"

# The real face detector runs with a V4L2 camera, and the stand-in's scene is a
# drawing it does not take for a face (tests/presence.rs): with the check on, the
# button would only show "Step in front of the camera". The presence check has its
# own tests (tests/gate.rs, tests/presence.rs); here it is off.
[presence]
enabled = false

[log]
level = "debug"
"#,
        dir = dir.display(),
        camera = loopback().display(),
        bus = guest_env("LIVEGATE_VM_I2C_BUS"),
        chip = guest_env("LIVEGATE_VM_GPIOCHIP"),
        pulse_ms = GUEST_GATE_PULSE.as_millis(),
    )
}

/// A person in front of the loopback camera: once the service waits for an action
/// (the stand-in's current step), they do it after a human reaction time; otherwise
/// they stand still. Feeds [`LoopWriter`] with the scene renderer's JPEGs.
struct Person {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<Subject>>>,
    picture: Arc<std::sync::Mutex<Arc<Vec<u8>>>>,
}

impl Person {
    const REACTION: Duration = Duration::from_millis(300);

    fn start(standin: Arc<livegate::standin::Standin>) -> Self {
        let neutral = Arc::new(scene::render(640, 480, Subject::Neutral, 80).expect("render"));
        let picture = Arc::new(std::sync::Mutex::new(neutral.clone()));
        // Pictures already drawn: standing still again after an action is instant.
        let mut drawn = vec![(Subject::Neutral, neutral)];
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, shared) = (stop.clone(), picture.clone());
        let thread = std::thread::spawn(move || {
            let mut subjects = vec![Subject::Neutral];
            let mut asked: Option<(livegate::standin::SessionId, usize, Instant)> = None;
            while !flag.load(Ordering::Acquire) {
                let now = Instant::now();
                let want = standin.sessions().pop().and_then(|s| {
                    let active = s.phase == livegate::standin::Phase::Processing && !s.expired;
                    let action = s.actions.get(s.step).copied().filter(|_| active)?;
                    Some((s.request_id, s.step, action))
                });
                let subject = match want {
                    Some((id, step, action)) => {
                        let since = match &asked {
                            Some((i, st, t)) if *i == id && *st == step => *t,
                            _ => {
                                asked = Some((id, step, now));
                                now
                            }
                        };
                        let index = livegate::actions::index_of(action)
                            .unwrap_or_else(|| panic!("the stand-in asks for {action:?}"));
                        if now - since >= Self::REACTION {
                            Subject::Doing(index)
                        } else {
                            Subject::Neutral
                        }
                    }
                    None => Subject::Neutral,
                };
                if subjects.last() != Some(&subject) {
                    let jpeg = match drawn.iter().find(|(s, _)| *s == subject) {
                        Some((_, jpeg)) => jpeg.clone(),
                        None => {
                            let jpeg =
                                Arc::new(scene::render(640, 480, subject, 80).expect("render"));
                            drawn.push((subject, jpeg.clone()));
                            jpeg
                        }
                    };
                    *shared.lock().expect("the picture") = jpeg;
                    subjects.push(subject);
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            subjects
        });
        Person {
            stop,
            thread: Some(thread),
            picture,
        }
    }

    /// What the camera sees now, for [`LoopWriter::feed`].
    fn feed(&self) -> FrameFeed {
        let picture = self.picture.clone();
        Box::new(move |_| picture.lock().expect("the picture").clone())
    }

    /// Stops; what the person did, in order.
    fn stop(mut self) -> Vec<Subject> {
        self.stop.store(true, Ordering::Release);
        self.thread
            .take()
            .expect("running")
            .join()
            .expect("the person ran without failing")
    }
}

/// A level change seen on a gpio-sim line: it happened after `before` (the last
/// sample that still read the old level) and no later than `at`.
#[derive(Clone, Copy, Debug)]
struct Change {
    before: Instant,
    at: Instant,
    line: u32,
    value: u8,
}

/// A time a line was low after having been high, as the sampler saw it. The sampler
/// is a thread the emulated CPU may leave waiting, so the true length is only known
/// to lie between `shortest` and `longest`. A check that must hold whenever the
/// pulse lasted at least its length uses `longest`; one that must hold whenever it
/// ended in time uses `shortest`.
#[derive(Clone, Copy, Debug)]
struct LowRun {
    /// The first sample that read low.
    at: Instant,
    shortest: Duration,
    longest: Duration,
}

/// Samples gpio-sim lines every 2 ms on a thread and keeps every change (the first
/// sample of each line counts as one).
struct LineWatch {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    changes: Arc<std::sync::Mutex<Vec<Change>>>,
}

impl LineWatch {
    fn start(bank: &SimBank, lines: &[u32]) -> Self {
        let bank = SimBank {
            chip: bank.chip.clone(),
            dir: bank.dir.clone(),
        };
        let lines = lines.to_vec();
        let stop = Arc::new(AtomicBool::new(false));
        let changes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (flag, log) = (stop.clone(), changes.clone());
        let thread = std::thread::spawn(move || {
            let mut last: Vec<Option<(u8, Instant)>> = vec![None; lines.len()];
            while !flag.load(Ordering::Acquire) {
                for (i, &line) in lines.iter().enumerate() {
                    let value = bank.value(line);
                    let at = Instant::now();
                    match last[i] {
                        Some((v, _)) if v == value => last[i] = Some((value, at)),
                        seen => {
                            let before = seen.map_or(at, |(_, t)| t);
                            last[i] = Some((value, at));
                            log.lock().expect("the log").push(Change {
                                before,
                                at,
                                line,
                                value,
                            });
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        LineWatch {
            stop,
            thread: Some(thread),
            changes,
        }
    }

    fn changes(&self, line: u32) -> Vec<Change> {
        let all = self.changes.lock().expect("the log").clone();
        all.into_iter().filter(|c| c.line == line).collect()
    }

    /// The times `line` was low after having been high; an unfinished one with
    /// its length so far.
    fn low_runs(&self, line: u32) -> Vec<LowRun> {
        let mut runs = Vec::new();
        let mut low_since: Option<Change> = None;
        let mut was_high = false;
        for c in self.changes(line) {
            match c.value {
                0 if was_high => low_since = Some(c),
                1 => {
                    if let Some(low) = low_since.take() {
                        runs.push(LowRun {
                            at: low.at,
                            shortest: c.before.saturating_duration_since(low.at),
                            longest: c.at - low.before,
                        });
                    }
                    was_high = true;
                }
                _ => {}
            }
        }
        if let Some(low) = low_since {
            runs.push(LowRun {
                at: low.at,
                shortest: low.at.elapsed(),
                longest: low.before.elapsed(),
            });
        }
        runs
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.join().expect("the line watcher ran without failing");
        }
    }
}

/// The service manager's end of sd_notify: a datagram socket the daemon reports to.
struct NotifySocket {
    sock: std::os::unix::net::UnixDatagram,
    path: PathBuf,
    seen: Vec<(Instant, String)>,
}

impl NotifySocket {
    fn bind(path: PathBuf) -> Self {
        let sock = std::os::unix::net::UnixDatagram::bind(&path).expect("bind NOTIFY_SOCKET");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("a read timeout");
        NotifySocket {
            sock,
            path,
            seen: Vec::new(),
        }
    }

    /// Waits until a message has the line `want`; when it came.
    fn wait(&mut self, want: &str, within: Duration) -> Option<Instant> {
        let deadline = Instant::now() + within;
        loop {
            if let Some((at, _)) = self.seen.iter().find(|(_, m)| m.lines().any(|l| l == want)) {
                return Some(*at);
            }
            if Instant::now() >= deadline {
                return None;
            }
            let mut buf = [0u8; 4096];
            if let Ok(n) = self.sock.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.seen.push((Instant::now(), text));
            }
        }
    }
}

/// systemd-journald's end of the native protocol: the socket tracing-journald writes
/// to, each datagram parsed into its fields.
struct Journal {
    thread: Option<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    entries: Arc<std::sync::Mutex<Vec<Entry>>>,
}

/// One journal entry: its fields in the order sent.
type Entry = Vec<(String, Vec<u8>)>;

const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

impl Journal {
    fn start() -> Self {
        let path = std::path::Path::new(JOURNAL_SOCKET);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("/run/systemd/journal");
        let _ = std::fs::remove_file(path);
        let sock = std::os::unix::net::UnixDatagram::bind(path).expect("bind the journal socket");
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("a read timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let entries = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (flag, log) = (stop.clone(), entries.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 256 * 1024];
            while !flag.load(Ordering::Acquire) {
                // tracing-journald probes the socket with an empty datagram.
                if let Ok(n @ 1..) = sock.recv(&mut buf) {
                    let entry = Self::parse(&buf[..n]);
                    log.lock().expect("the journal").push(entry);
                }
            }
        });
        Journal {
            thread: Some(thread),
            stop,
            entries,
        }
    }

    /// One datagram of the native protocol: `KEY=value\n`, or `KEY\n` + a 64-bit
    /// little-endian length + the value + `\n` for a value with newlines.
    fn parse(mut d: &[u8]) -> Entry {
        let mut fields = Vec::new();
        while !d.is_empty() {
            let nl = d
                .iter()
                .position(|&b| b == b'\n')
                .expect("a field ends in a newline");
            let line = &d[..nl];
            if let Some(eq) = line.iter().position(|&b| b == b'=') {
                let key = String::from_utf8(line[..eq].to_vec()).expect("a UTF-8 key");
                fields.push((key, line[eq + 1..].to_vec()));
                d = &d[nl + 1..];
            } else {
                let key = String::from_utf8(line.to_vec()).expect("a UTF-8 key");
                let rest = &d[nl + 1..];
                let len = u64::from_le_bytes(rest[..8].try_into().expect("8 bytes")) as usize;
                fields.push((key, rest[8..8 + len].to_vec()));
                assert_eq!(rest[8 + len], b'\n', "a binary field ends in a newline");
                d = &rest[8 + len + 1..];
            }
        }
        fields
    }

    fn entries(&self) -> Vec<Entry> {
        self.entries.lock().expect("the journal").clone()
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.join().expect("the journal ran without failing");
        }
        let _ = std::fs::remove_file(JOURNAL_SOCKET);
    }
}

/// A field of a journal entry as text.
fn field<'a>(entry: &'a [(String, Vec<u8>)], key: &str) -> Option<&'a str> {
    entry
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| std::str::from_utf8(v).ok())
}

/// Every screen of one session, as `screens::render` draws it: the fixed ones, and
/// each step's action screen with every countdown the panel can show for it.
fn session_screens(actions: &[&str]) -> Vec<(String, Framebuffer)> {
    let mut out = vec![
        ("idle".to_owned(), render(&Screen::Idle, 128, 64)),
        ("get ready".to_owned(), render(&Screen::GetReady, 128, 64)),
        ("verifying".to_owned(), render(&Screen::Verifying, 128, 64)),
        ("pass".to_owned(), render(&Screen::Pass, 128, 64)),
    ];
    let total = actions.len() as u8;
    let t = u128::from(GUEST_ACTION_TIMEOUT_S) * 1000;
    for (i, action) in actions.iter().enumerate() {
        for secs in 0..=GUEST_ACTION_TIMEOUT_S {
            // Shown when the second changes: `left` in (secs-1, secs] seconds.
            let lo = (u128::from(secs.saturating_sub(1)) * 1000 * 100 / t) as u8;
            let hi = ((u128::from(secs) * 1000 * 100 / t) as u8).min(100);
            for percent in lo..=hi {
                let screen = Screen::Action {
                    action: (*action).to_owned(),
                    step: i as u8 + 1,
                    total,
                    secs_left: secs,
                    percent_left: percent,
                    prompt: 0,
                };
                out.push((
                    format!("{action} ({}/{total}) {secs} s", i + 1),
                    render(&screen, 128, 64),
                ));
            }
        }
    }
    out
}

/// The AIGEN stand-in on the guest's loopback (HTTPS with its own CA, a fixed seed),
/// and the service's files in `dir`: the key, the CA, the configuration.
struct GuestApi {
    standin: Arc<livegate::standin::Standin>,
    config: PathBuf,
    /// Serves the stand-in; dropped last.
    _rt: tokio::runtime::Runtime,
}

impl GuestApi {
    const KEY: &'static str = "hwvm-api-key-0123456789";

    fn start(dir: &std::path::Path) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let standin = rt
            .block_on(livegate::standin::Standin::start(
                livegate::standin::StandinOptions {
                    key: livegate::secret::ApiKey::new(Self::KEY),
                    seed: Some(20261125),
                    ..Default::default()
                },
            ))
            .expect("the stand-in starts");
        std::fs::write(dir.join("ca.pem"), standin.ca_pem()).expect("write the CA");
        std::fs::write(dir.join("api-key"), Self::KEY).expect("write the key");
        // Closed to others, as livegate requires of a key file.
        std::fs::set_permissions(
            dir.join("api-key"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .expect("chmod the key");
        let config = dir.join("livegate.toml");
        std::fs::write(&config, guest_config(dir, &standin.url())).expect("write the config");
        GuestApi {
            standin: Arc::new(standin),
            config,
            _rt: rt,
        }
    }
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn a_whole_session_in_the_guest_ends_in_exactly_one_gate_pulse() {
    let dir = scratch("hwvm-session");
    let bank = SimBank::from_env();
    let rec = I2cRecord::from_env();
    // The relay board's inputs rest pulled down: a relay line reads 1 (off, for an
    // active-low board) only while livegate drives it. The button rests released.
    bank.pull(0, false);
    bank.pull(1, false);
    bank.pull(2, true);
    bank.pull(3, true);
    assert_eq!((bank.value(0), bank.value(1)), (0, 0));
    rec.clear();

    let api = GuestApi::start(&dir);
    let (config, standin, key) = (api.config.clone(), api.standin.clone(), GuestApi::KEY);

    // The service manager and the journal, as systemd would provide them.
    let mut notify = NotifySocket::bind(dir.join("notify"));
    let journal = Journal::start();
    let lines = LineWatch::start(&bank, &[0, 1]);
    let person = Person::start(standin.clone());
    let writer = LoopWriter::feed(person.feed());

    let started = Instant::now();
    let mut daemon = std::process::Command::new(livegate_bin())
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify.path)
        .env("JOURNAL_STREAM", "8:12345")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr")).expect("a stderr file"))
        .spawn()
        .expect("start livegate run");
    let pid = daemon.id();
    let stderr = || std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();

    // READY=1 only once the relays are claimed at their safe level.
    let ready = notify.wait("READY=1", Duration::from_secs(30));
    let ready = ready.unwrap_or_else(|| {
        let _ = daemon.kill();
        panic!("no READY=1 within 30 s; stderr:\n{}", stderr())
    });
    // Pulled down, a relay line reads 1 (off) only while livegate drives it.
    let at_ready = (bank.value(0), bank.value(1));
    println!("livegate ready after {:?}", ready - started);
    assert_eq!(
        at_ready,
        (1, 1),
        "both relay lines driven to their inactive level by READY=1"
    );

    // Someone presses the start button.
    std::thread::sleep(Duration::from_millis(500));
    bank.pull(2, false);
    std::thread::sleep(Duration::from_millis(200));
    bank.pull(2, true);
    let pressed = Instant::now();

    // Wait for the verdict: the gate's pulse over, or a failure.
    let deadline = pressed + Duration::from_secs(150);
    loop {
        let gate = lines.low_runs(0);
        let done = gate.len() == 1 && lines.changes(0).last().is_some_and(|c| c.value == 1);
        if done || !lines.low_runs(1).is_empty() || Instant::now() > deadline {
            break;
        }
        if let Ok(Some(status)) = daemon.try_wait() {
            panic!(
                "livegate exited during the session: {status}; stderr:\n{}",
                stderr()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Nothing more may happen: no second pulse, no fail signal.
    std::thread::sleep(Duration::from_secs(3));
    let sessions = standin.sessions();
    println!(
        "session over after {:?}: {:?}",
        pressed.elapsed(),
        sessions
            .iter()
            .map(|s| (&s.actions, s.step, s.phase, s.images, s.misses))
            .collect::<Vec<_>>()
    );

    // Stopped as systemd stops it: SIGTERM, STOPPING=1, exit 0, relays off.
    bank.pull(0, true);
    bank.pull(1, true);
    // SAFETY: kill(2) on the child we spawned and have not reaped.
    let sent = unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    assert_eq!(sent, 0, "SIGTERM sent");
    let stopping = notify.wait("STOPPING=1", Duration::from_secs(20));
    let status = daemon.wait().expect("reap livegate");
    std::thread::sleep(Duration::from_millis(100));
    let gate = lines.low_runs(0);
    let fail = lines.low_runs(1);
    let after_exit = (bank.value(0), bank.value(1));
    lines.stop();
    let subjects = person.stop();
    let frames_written = writer.stop();
    let entries = journal.entries();
    journal.stop();
    let messages = rec.messages();
    let log = stderr();
    if !log.is_empty() {
        println!("livegate's stderr:\n{log}");
    }
    println!("the journal got {} entries", entries.len());

    // The stand-in: one session, every action verified, its answer `completed`.
    assert_eq!(sessions.len(), 1, "one session: {sessions:?}");
    let s = &sessions[0];
    assert_eq!(s.actions.len(), 3, "mode = 3: {s:?}");
    assert_eq!(s.phase, livegate::standin::Phase::Completed, "{s:?}");
    assert_eq!(s.step, s.actions.len(), "{s:?}");
    assert_eq!(s.failures, 0, "no restart: {s:?}");
    let requests = standin.requests();
    assert!(
        requests.iter().all(|r| r.key_ok && !r.key_in_query),
        "every request carries the key in its header"
    );
    let posts: Vec<_> = requests.iter().filter(|r| r.method == "POST").collect();
    assert!(
        posts.len() >= 3,
        "at least one frame per action: {} posts",
        posts.len()
    );
    for r in &posts {
        assert_eq!(r.status, 200, "{r:?}");
        assert!(
            matches!(r.seen, Some(livegate::camera::scene::Seen::Subject(_))),
            "the stand-in decoded a camera JPEG and read its marker: {r:?}"
        );
    }
    for a in &s.actions {
        let i = livegate::actions::index_of(a).expect("a known action");
        let shown = Some(livegate::camera::scene::Seen::Subject(Subject::Doing(i)));
        assert!(
            posts.iter().any(|r| r.seen == shown),
            "a frame showing {a} reached the service"
        );
    }
    let peers: std::collections::BTreeSet<_> = requests.iter().map(|r| r.peer).collect();
    assert_eq!(
        peers.len(),
        1,
        "one HTTPS connection, kept alive: {peers:?}"
    );
    // The person did each action in turn.
    for a in &s.actions {
        let i = livegate::actions::index_of(a).expect("a known action");
        assert!(subjects.contains(&Subject::Doing(i)), "{a}: {subjects:?}");
    }
    assert!(
        frames_written > 10,
        "the camera streamed: {frames_written} frames"
    );

    // The gate: exactly one pulse of its length; the fail output never.
    assert_eq!(gate.len(), 1, "exactly one gate pulse: {gate:?}");
    let LowRun {
        at,
        shortest,
        longest,
    } = gate[0];
    println!(
        "one gate pulse of {shortest:?}..{longest:?}, {:?} after the press; {} frames posted",
        at.saturating_duration_since(pressed),
        posts.len()
    );
    assert!(at > pressed, "the gate opened after the button was pressed");
    // Real time (a child process on a kernel driver): on for at least its length,
    // and off again within a generous slack for the emulated CPU.
    assert!(
        longest >= GUEST_GATE_PULSE && shortest <= GUEST_GATE_PULSE + VM_SLACK,
        "the gate pulse lasted {shortest:?}..{longest:?} (configured {GUEST_GATE_PULSE:?})"
    );
    assert!(fail.is_empty(), "the fail output never pulsed: {fail:?}");

    // Stopped cleanly, outputs at rest.
    assert!(stopping.is_some(), "STOPPING=1 on SIGTERM");
    assert_eq!(status.code(), Some(0), "exit 0 on SIGTERM: {status}");
    assert_eq!(
        after_exit,
        (1, 1),
        "both relays off after the service stopped"
    );

    // The panel: every screen it showed, pixel for pixel, is one of the session's,
    // in order: idle, get ready, each action (with its countdown), pass, idle.
    let known = session_screens(&s.actions);
    let seen: Vec<&str> = Model::screens_seen(&messages)
        .iter()
        .map(|fb| {
            known
                .iter()
                .find(|(_, k)| k == fb)
                .map(|(name, _)| name.as_str())
                .unwrap_or_else(|| panic!("the panel showed a screen of no session step:\n{fb:?}"))
        })
        .collect();
    println!("the panel showed: {seen:?}");
    let mut order: Vec<&str> = Vec::new();
    for name in &seen {
        let kind = match name.split_once(" (") {
            Some((action, _)) => action,
            None => name,
        };
        if order.last() != Some(&kind) && kind != "verifying" {
            order.push(kind);
        }
    }
    let mut want = vec!["idle", "get ready"];
    want.extend(s.actions.iter().copied());
    want.extend(["pass", "idle"]);
    assert_eq!(order, want, "the screens in order");

    // The journal, as under systemd: one audit entry with the verdict, fields
    // unprefixed; no entry carries the key or a frame.
    let audit: Vec<_> = entries
        .iter()
        .filter(|e| field(e, "TARGET") == Some("livegate::audit"))
        .collect();
    assert_eq!(audit.len(), 1, "one audit entry per session");
    let a = audit[0];
    let shown: Vec<String> = a
        .iter()
        .filter(|(k, _)| !k.starts_with("CODE_"))
        .map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(v)))
        .collect();
    println!("the audit entry: {}", shown.join(" "));
    assert_eq!(field(a, "MESSAGE"), Some("session over"));
    assert_eq!(field(a, "VERDICT"), Some("pass"));
    assert_eq!(field(a, "SYSLOG_IDENTIFIER"), Some("livegate"));
    // Info is informational (6), as journalctl users expect; the audit line has
    // its fixed MESSAGE_ID, so `journalctl MESSAGE_ID=…` lists every verdict.
    assert_eq!(field(a, "PRIORITY"), Some("6"));
    assert_eq!(
        field(a, "MESSAGE_ID"),
        Some(livegate::daemon::AUDIT_MESSAGE_ID)
    );
    let want_id = match &s.request_id {
        livegate::standin::SessionId::Text(t) => t.clone(),
        livegate::standin::SessionId::Number(n) => n.to_string(),
    };
    assert_eq!(field(a, "REQUEST_ID"), Some(want_id.as_str()));
    assert_eq!(field(a, "ACTIONS"), Some(s.actions.join(",").as_str()));
    for e in &entries {
        for (k, v) in e {
            let text = String::from_utf8_lossy(v);
            assert!(!text.contains(key), "the key in the journal ({k})");
            assert!(v.len() < 2048, "a journal field of {} bytes ({k})", v.len());
            // No empty field, none that reads like journald's own _PID/_UID.
            assert!(!v.is_empty(), "an empty journal field {k}");
            assert!(
                !matches!(k.as_str(), "PID" | "UID" | "GID"),
                "a field {k} that reads like journald's _{k}"
            );
        }
    }
    assert!(
        entries.iter().any(|e| field(e, "LATENCY_MS").is_some()),
        "API latencies are logged as LATENCY_MS"
    );
    assert!(
        log.is_empty(),
        "under systemd everything goes to the journal, nothing to stderr"
    );
    drop(api);
}

/// Reads a child's stdout lines on a thread.
fn lines_of(out: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `want`; every line read on the way.
fn expect_line(
    rx: &std::sync::mpsc::Receiver<String>,
    want: &str,
    within: Duration,
    seen: &mut Vec<String>,
) {
    let deadline = Instant::now() + within;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(want);
                seen.push(line);
                if found {
                    return;
                }
            }
            Err(_) => break,
        }
    }
    panic!(
        "no line with {want:?} within {within:?}; got:\n{}",
        seen.join("\n")
    );
}

/// The guest's configuration in a fresh scratch directory, for the commissioning
/// commands (which never call the API).
fn commissioning_config(name: &str) -> PathBuf {
    let dir = scratch(name);
    let config = dir.join("livegate.toml");
    std::fs::write(&config, guest_config(&dir, "https://127.0.0.1:9/v1")).expect("config");
    config
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn livegate_test_input_shows_a_button_on_a_chip_line() {
    let config = commissioning_config("hwvm-test-input");
    let bank = SimBank::from_env();
    bank.pull(2, true);
    bank.pull(3, true);
    let mut child = std::process::Command::new(livegate_bin())
        .args(["test", "--config"])
        .arg(&config)
        .arg("input")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start livegate test input");
    let rx = lines_of(child.stdout.take().expect("piped"));
    let mut seen = Vec::new();
    let place = "line \"TRIGGER\"";
    expect_line(
        &rx,
        &format!("trigger on {place}, pull-up, debounce 50 ms"),
        Duration::from_secs(10),
        &mut seen,
    );
    let at_start = format!("trigger ({place}): released");
    expect_line(&rx, &at_start, Duration::from_secs(5), &mut seen);

    bank.pull(2, false);
    std::thread::sleep(Duration::from_millis(300));
    bank.pull(2, true);
    let pressed = format!("trigger ({place}): pressed");
    expect_line(&rx, &pressed, Duration::from_secs(5), &mut seen);
    expect_line(&rx, &at_start, Duration::from_secs(5), &mut seen);

    // Ctrl-C ends it with a count of the changes.
    // SAFETY: kill(2) on the child we spawned and have not reaped.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    expect_line(
        &rx,
        "Stopped. Changes seen:",
        Duration::from_secs(5),
        &mut seen,
    );
    expect_line(&rx, "  trigger: 2", Duration::from_secs(5), &mut seen);
    let status = child.wait().expect("reap");
    assert_eq!(status.code(), Some(0), "{status}");
    println!("livegate test input said:\n{}", seen.join("\n"));
    // Released on exit: the line shows the world's pull again, and can be claimed.
    let (tx, _rx) = tokio::sync::mpsc::channel(1);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let watch = rt
        .block_on(async { spawn_inputs(&trigger_options(&bank), tx) })
        .expect("the line is free again");
    watch.abort();
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn livegate_test_relay_clicks_a_chip_line_once() {
    let config = commissioning_config("hwvm-test-relay");
    let bank = SimBank::from_env();
    // The board rests at "off" (pulled up for an active-low relay).
    bank.pull(0, true);
    let lines = LineWatch::start(&bank, &[0]);
    let out = std::process::Command::new(livegate_bin())
        .args(["test", "--config"])
        .arg(&config)
        .args(["relay", "gate", "--ms", "400"])
        .output()
        .expect("run livegate test relay");
    std::thread::sleep(Duration::from_millis(50));
    let runs = lines.low_runs(0);
    lines.stop();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("livegate test relay gate --ms 400 said:\n{text}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("Relay test: the gate output on line \"RELAY_GATE\".\n"),
        "{text}"
    );
    assert!(
        text.contains("Energising the gate relay for 400 ms"),
        "{text}"
    );
    assert_eq!(runs.len(), 1, "one click: {runs:?}");
    // Real time (a child process): on for at least 400 ms, off within the slack.
    assert!(
        runs[0].longest >= Duration::from_millis(400)
            && runs[0].shortest <= Duration::from_millis(400) + VM_SLACK,
        "on for {:?}",
        runs[0]
    );
    assert_eq!(bank.value(0), 1, "at rest afterwards");
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn a_killed_livegate_leaves_a_relay_wired_off_at_rest_even_mid_pulse() {
    let dir = scratch("hwvm-kill");
    let api = GuestApi::start(&dir);
    let config = api.config.clone();
    let bank = SimBank::from_env();
    // Wired as the README says: the board's inputs rest at "off" (pulled up for
    // active-low relays); both buttons released.
    for line in 0..4 {
        bank.pull(line, true);
    }
    let mut notify = NotifySocket::bind(dir.join("notify"));
    let mut daemon = std::process::Command::new(livegate_bin())
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify.path)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr")).expect("a stderr file"))
        .spawn()
        .expect("start livegate run");
    if notify.wait("READY=1", Duration::from_secs(30)).is_none() {
        let _ = daemon.kill();
        let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
        panic!("no READY=1 within 30 s; stderr:\n{stderr}");
    }
    let lines = LineWatch::start(&bank, &[0]);

    // Request-to-exit: the gate relay is energised (line low) without a check. Waited
    // for until the line watcher itself has seen it low (not only this thread), so
    // the run it records cannot be missed however the guest schedules it.
    bank.pull(3, false);
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines.low_runs(0).is_empty() {
        if Instant::now() >= deadline {
            let _ = daemon.kill();
            let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
            panic!("the exit button did not open the gate; stderr:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    bank.pull(3, true);

    // Killed mid-pulse: no chance to drive anything. The kernel releases the line and
    // the board's pull-up takes it to "off" at once.
    let on_at_kill = bank.value(0) == 0;
    daemon.kill().expect("SIGKILL livegate");
    let status = daemon.wait().expect("reap livegate");
    assert!(
        on_at_kill,
        "the gate relay was still on when the daemon was killed"
    );
    // Causal, not timed: the kernel closes a process's files (and so releases its
    // lines) before its parent can reap it.
    let after_reap = bank.value(0);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    assert_eq!(after_reap, 1, "off once the process is gone");
    std::thread::sleep(Duration::from_millis(20));
    let runs = lines.low_runs(0);
    lines.stop();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let length = runs[0].shortest;

    // What systemd runs after any stop (ExecStopPost): claims, drives off, exits 0.
    let out = std::process::Command::new(livegate_bin())
        .args(["safe-outputs", "--config"])
        .arg(&config)
        .output()
        .expect("run livegate safe-outputs");
    assert!(
        out.status.success(),
        "safe-outputs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!((bank.value(0), bank.value(1)), (1, 1), "both relays off");
    drop(api);
    println!(
        "SIGKILL mid-pulse: the gate line was low for {length:?}, back at rest when \
         the process was reaped; safe-outputs exit 0"
    );
}

#[test]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
fn after_a_broken_edit_and_a_kill_mid_pulse_safe_outputs_drives_the_recorded_lines() {
    let dir = scratch("hwvm-broken-edit");
    let api = GuestApi::start(&dir);
    let config = api.config.clone();
    let runtime = dir.join("run");
    std::fs::create_dir_all(&runtime).expect("the runtime directory");
    let bank = SimBank::from_env();
    for line in 0..4 {
        bank.pull(line, true);
    }
    // A panel's reader port on lines 4 and 5 (D0, D1), resting low while nobody
    // drives them: livegate must hold them at Wiegand's idle, high.
    bank.pull(4, false);
    bank.pull(5, false);
    let text = std::fs::read_to_string(&config).expect("the config");
    let wired = text
        .replace(
            "[trigger]\n",
            "wiegand_out_d0_line = 4\nwiegand_out_d1_line = 5\n\n[trigger]\n",
        )
        .replace(
            "[log]\n",
            "[reader]\noutput = \"wiegand\"\non_pass = \"fixed\"\nfixed_card = \"18:12345\"\n\n[log]\n",
        );
    assert_ne!(wired, text);
    std::fs::write(&config, wired).expect("the config with a Wiegand output");
    let mut notify = NotifySocket::bind(dir.join("notify"));
    let mut daemon = std::process::Command::new(livegate_bin())
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify.path)
        .env("RUNTIME_DIRECTORY", &runtime)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr")).expect("a stderr file"))
        .spawn()
        .expect("start livegate run");
    if notify.wait("READY=1", Duration::from_secs(30)).is_none() {
        let _ = daemon.kill();
        let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
        panic!("no READY=1 within 30 s; stderr:\n{stderr}");
    }
    let record = std::fs::read_to_string(runtime.join("wiring.toml")).expect("the record");
    assert!(
        record.contains("kind = \"cdev\"") && record.contains("RELAY_GATE"),
        "{record}"
    );
    assert_eq!(
        (bank.value(4), bank.value(5)),
        (1, 1),
        "the Wiegand lines held at idle while the service runs"
    );

    // A technician saves the file with one typo (outside [gpio]).
    let text = std::fs::read_to_string(&config).expect("the config");
    let broken = text.replace("mode = 3", "mode = 3\nretires = 2\n[session");
    assert_ne!(broken, text);
    std::fs::write(&config, broken).expect("the broken edit");

    // Request-to-exit: the gate relay is energised, then the service is SIGKILLed.
    bank.pull(3, false);
    let deadline = Instant::now() + Duration::from_secs(5);
    while bank.value(0) != 0 {
        assert!(Instant::now() < deadline, "the exit button opened the gate");
        std::thread::sleep(Duration::from_millis(5));
    }
    bank.pull(3, true);
    daemon.kill().expect("SIGKILL livegate");
    daemon.wait().expect("reap livegate");

    assert_eq!(
        (bank.value(4), bank.value(5)),
        (0, 0),
        "killed: the Wiegand lines fall back to the port's pull"
    );

    // ExecStopPost against the broken file: the recorded lines, driven inactive (the
    // Wiegand lines to idle, seen in the kernel's trace: they are let go again after).
    let base = sim_gpio_base();
    let trace = |file: &str, what: &str| {
        std::fs::write(format!("{TRACING}/{file}"), what)
            .unwrap_or_else(|e| panic!("write {what:?} to {TRACING}/{file}: {e}"))
    };
    trace("trace", "");
    trace("events/gpio/gpio_value/enable", "1");
    let out = std::process::Command::new(livegate_bin())
        .args(["safe-outputs", "--config"])
        .arg(&config)
        .env("RUNTIME_DIRECTORY", &runtime)
        .output()
        .expect("run livegate safe-outputs");
    trace("events/gpio/gpio_value/enable", "0");
    let sets = std::fs::read_to_string(format!("{TRACING}/trace")).expect("the trace");
    for k in [4, 5] {
        let set_high = format!("gpio_value: {} set 1", base + k);
        assert!(
            sets.contains(&set_high),
            "safe-outputs did not drive line {k} to idle:\n{sets}"
        );
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "safe-outputs: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("cdev: ") && stdout.contains("the running service's record"),
        "{stdout}"
    );
    assert_eq!((bank.value(0), bank.value(1)), (1, 1), "both relays off");

    // Without the record, the file's [gpio] table alone still names the lines.
    std::fs::remove_file(runtime.join("wiring.toml")).expect("remove the record");
    let out = std::process::Command::new(livegate_bin())
        .args(["safe-outputs", "--config"])
        .arg(&config)
        .env("RUNTIME_DIRECTORY", &runtime)
        .output()
        .expect("run livegate safe-outputs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("wiring from [gpio] of"));
    assert_eq!((bank.value(0), bank.value(1)), (1, 1), "both relays off");
    drop(api);
    println!(
        "after a broken edit and SIGKILL: safe-outputs drove the recorded cdev lines, the Wiegand pair to idle"
    );
}

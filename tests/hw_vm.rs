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
use livegate::gpio::cdev::{
    spawn_inputs, CdevInputOptions, CdevInputsOptions, CdevRelay, CdevRelayOptions, LineSpec,
};
use livegate::gpio::debounce::Edge;
use livegate::gpio::rppal::{trigger_event, InputEvent, InputName, Pull};
use livegate::gpio::{pulse, Relay};
use livegate::session::DenyReason;
use livegate::trigger::TriggerEvent;

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
        decode_jpeg(&frame.jpeg, 640, 480);
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
    // released and can be opened again.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match OpenCamera::open(&vivid_options()) {
            Ok(_) => break,
            Err(e) => assert!(
                Instant::now() < deadline,
                "vivid still held 5 s after the abort: {e}"
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
/// 640x480, streams the given JPEGs in turn (~10 fps) through mmap buffers until
/// stopped, then stops streaming and closes the device (the camera goes away).
struct LoopWriter {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl LoopWriter {
    fn start(frames: Vec<Vec<u8>>) -> Self {
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
                let frame = &frames[(written % frames.len() as u64) as usize];
                // `next` queues the buffer filled last and hands back one to fill,
                // which can be the one a reader is copying right now: fill it only
                // a frame period later.
                let (buf, meta) = OutputStream::next(&mut stream).expect("an output buffer");
                std::thread::sleep(Duration::from_millis(100));
                assert!(buf.len() >= frame.len(), "buffer {} bytes", buf.len());
                buf[..frame.len()].copy_from_slice(frame);
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
            slot.latest()
                .map(|f| (f.seq, f.jpeg.len(), jpeg_info(&f.jpeg).map(|i| i.size)))
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
            && s.latest().is_some_and(|f| set.iter().any(|j| *j == f.jpeg))
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
    let took = wait_for(
        &slot,
        timeout + Duration::from_secs(5),
        "the loss reported",
        |s| matches!(s.state(), CameraState::Unavailable(_)),
    )
    .await;
    let CameraState::Unavailable(reason) = slot.state() else {
        unreachable!()
    };
    // Found by the frame timeout (the last frame came at most ~0.2 s before the stop).
    assert_eq!(reason, V4l2Error::Timeout(timeout).state_text());
    assert!(
        took >= timeout - Duration::from_secs(1),
        "reported after {took:?}"
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

/// The SSD1306 as far as the adapter drives it (see tests/oled.rs for the full model):
/// commands, display memory in horizontal addressing, and what a person sees.
struct Controller {
    ram: [[u8; 128]; 8],
    cols: (u8, u8),
    pages: (u8, u8),
    col: u8,
    page: u8,
    seg_remap: bool,
    com_reverse: bool,
    mux: u8,
    on: bool,
    /// Every command's opcode, in order.
    opcodes: Vec<u8>,
    /// The display memory each time the panel was turned on.
    ram_at_on: Vec<[[u8; 128]; 8]>,
    /// Data bytes written in each data message.
    data_messages: Vec<usize>,
}

fn command_len(op: u8) -> usize {
    match op {
        0x81 | 0x20 | 0xA8 | 0xD3 | 0xDA | 0xD5 | 0xD9 | 0xDB | 0x8D | 0xAD => 2,
        0x21 | 0x22 | 0xA3 => 3,
        0x26 | 0x27 => 7,
        0x29 | 0x2A => 6,
        _ => 1,
    }
}

impl Controller {
    fn after(messages: &[Vec<u8>]) -> Self {
        let mut c = Controller {
            ram: [[0xA5; 128]; 8],
            cols: (0, 127),
            pages: (0, 7),
            col: 0,
            page: 0,
            seg_remap: false,
            com_reverse: false,
            mux: 63,
            on: false,
            opcodes: Vec::new(),
            ram_at_on: Vec::new(),
            data_messages: Vec::new(),
        };
        for m in messages {
            let (control, rest) = m.split_first().expect("an empty message");
            match control {
                0x00 => {
                    let mut i = 0;
                    while i < rest.len() {
                        let n = command_len(rest[i]);
                        assert!(i + n <= rest.len(), "a command cut short: {rest:02X?}");
                        c.command(&rest[i..i + n]);
                        i += n;
                    }
                }
                0x40 => {
                    rest.iter().for_each(|b| c.data(*b));
                    c.data_messages.push(rest.len());
                }
                other => panic!("unexpected control byte 0x{other:02X}"),
            }
        }
        c
    }

    fn command(&mut self, cmd: &[u8]) {
        self.opcodes.push(cmd[0]);
        match cmd[0] {
            0x21 => {
                self.cols = (cmd[1], cmd[2]);
                self.col = cmd[1];
            }
            0x22 => {
                self.pages = (cmd[1], cmd[2]);
                self.page = cmd[1];
            }
            0xA0 | 0xA1 => self.seg_remap = cmd[0] == 0xA1,
            0xC0 | 0xC8 => self.com_reverse = cmd[0] == 0xC8,
            0xA8 => self.mux = cmd[1],
            0xAE => self.on = false,
            0xAF => {
                self.on = true;
                self.ram_at_on.push(self.ram);
            }
            _ => {}
        }
    }

    fn data(&mut self, byte: u8) {
        self.ram[usize::from(self.page)][usize::from(self.col)] = byte;
        if self.col >= self.cols.1 {
            self.col = self.cols.0;
            self.page = if self.page >= self.pages.1 {
                self.pages.0
            } else {
                self.page + 1
            };
        } else {
            self.col += 1;
        }
    }

    fn view(&self) -> Framebuffer {
        assert!(self.on, "the panel is off");
        let h = u32::from(self.mux) + 1;
        let mut fb = Framebuffer::new(128, h);
        for y in 0..h {
            for x in 0..128u32 {
                let col = if self.seg_remap { x } else { 127 - x };
                let row = if self.com_reverse { y } else { h - 1 - y };
                let bit = self.ram[(row / 8) as usize][col as usize] >> (row % 8) & 1;
                fb.set(x, y, bit == 1);
            }
        }
        fb
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
    let c = Controller::after(&boot[1..]);
    assert_eq!(
        c.opcodes.first(),
        Some(&0xAE),
        "dark first: {:02X?}",
        c.opcodes
    );
    assert_eq!(c.ram_at_on.len(), 1, "turned on once: {:02X?}", c.opcodes);
    assert_eq!(
        c.ram_at_on[0], [[0u8; 128]; 8],
        "the whole memory is blank when the panel turns on"
    );
    let on_at = c.opcodes.iter().position(|&o| o == 0xAF).unwrap();
    assert!(
        c.opcodes[on_at..].contains(&0x81),
        "contrast set after init"
    );
    assert!(oled.is_ready());

    rec.clear();
    let screen = fail_screen();
    oled.show_at(&screen, Instant::now())
        .expect("the screen is shown");
    let frame = rec.messages();
    let after = Controller::after(&frame);
    assert_eq!(
        after.data_messages.iter().sum::<usize>(),
        1024,
        "one whole 128x64 frame of data"
    );
    // Replay the frame onto the panel as it was after power-on.
    let mut all = boot[1..].to_vec();
    all.extend(frame);
    let panel = Controller::after(&all);
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
    let c = Controller::after(&rec.messages());
    assert_eq!(c.opcodes.first(), Some(&0xAE), "{:02X?}", c.opcodes);
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

    fn relay(&self, line: u32, active_low: bool) -> CdevRelayOptions {
        CdevRelayOptions {
            chip: self.chip.clone(),
            line: LineSpec::Offset(line),
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
    let low = CdevRelay::claim("gate", &bank.relay(0, true)).expect("claim line 0");
    let high = CdevRelay::claim("fail", &bank.relay(1, false)).expect("claim line 1");
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
    let busy = CdevRelay::claim("gate", &bank.relay(0, true))
        .err()
        .expect("line 0 is held");
    let text = busy.to_string();
    assert!(text.contains("line 0") && text.contains("busy"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs inside the hw-vm guest: tests/hw-vm/run.sh"]
async fn gpio_sim_a_pulse_is_low_for_its_length_then_high_again() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let bank = std::sync::Arc::new(SimBank::from_env());
    bank.pull(0, false);
    let relay: std::sync::Arc<dyn Relay> =
        std::sync::Arc::new(CdevRelay::claim("gate", &bank.relay(0, true)).expect("claim"));
    assert_eq!(bank.value(0), 1);
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let sampler = {
        let (bank, stop) = (bank.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                samples.push((Instant::now(), bank.value(0)));
                std::thread::sleep(Duration::from_millis(2));
            }
            samples
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    pulse(&relay, Duration::from_millis(300))
        .await
        .expect("the pulse");
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, Ordering::Relaxed);
    let samples = sampler.join().expect("the sampler");
    assert_eq!(bank.value(0), 1, "inactive after the pulse, still held");
    // One run of lows, bounded by highs.
    let changes: Vec<(Instant, u8)> = samples
        .windows(2)
        .filter(|w| w[0].1 != w[1].1)
        .map(|w| w[1])
        .collect();
    assert_eq!(samples.first().map(|s| s.1), Some(1), "high before");
    assert_eq!(samples.last().map(|s| s.1), Some(1), "high after");
    assert_eq!(
        changes.iter().map(|c| c.1).collect::<Vec<_>>(),
        vec![0, 1],
        "one low pulse ({} samples)",
        samples.len()
    );
    let length = changes[1].0 - changes[0].0;
    assert!(
        length >= Duration::from_millis(250) && length <= Duration::from_millis(450),
        "the pulse read back lasted {length:?} (asked for 300 ms)"
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
        let relay = CdevRelay::claim("gate", &bank.relay(0, true)).expect("claim");
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
    let relay = CdevRelay::claim("gate", &bank.relay(0, true)).expect("claim");
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
    assert!(CdevRelay::claim("gate", &bank.relay(0, true)).is_err());
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
    let safe = CdevRelay::claim("gate", &bank.relay(0, true)).expect("claim again");
    assert_eq!(bank.value(0), 1, "claimed again: inactive");
    drop(safe);
}

fn trigger_options(bank: &SimBank) -> CdevInputsOptions {
    CdevInputsOptions {
        trigger: Some(CdevInputOptions {
            chip: bank.chip.clone(),
            line: LineSpec::Offset(2),
            pull: Pull::Up,
            edge: Edge::Falling,
            debounce: Duration::from_millis(50),
        }),
        ..CdevInputsOptions::default()
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

    // A clean press: low for 200 ms, then released.
    let pressed = Instant::now();
    bank.pull(2, false);
    tokio::time::sleep(Duration::from_millis(200)).await;
    bank.pull(2, true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1, "one event for one press: {events:?}");
    assert_eq!(
        (events[0].input, events[0].active),
        (InputName::Trigger, true)
    );
    let at = events[0].at.into_std();
    assert!(
        at + Duration::from_millis(20) >= pressed && at <= pressed + Duration::from_millis(100),
        "the press began {:?} after the write",
        at.saturating_duration_since(pressed)
    );
    assert_eq!(
        trigger_event(&events[0]),
        Some(TriggerEvent::Start {
            source: "gpio",
            note: None
        })
    );

    // Contact bounce only (toggling every 5 ms for 30 ms, ending released): nothing.
    let step = Duration::from_millis(5);
    let bounce = [false, true, false, true, false, true];
    let held = drive(&bank, 2, &bounce, step).await;
    assert!(
        held < Duration::from_millis(40),
        "the guest held a bounce level {held:?}: too slow to test a 50 ms debounce"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let events = drain(&mut rx);
    assert!(events.is_empty(), "bounce alone is filtered: {events:?}");

    // A bouncy press (the same train, ending pressed and held): exactly one start.
    let held = drive(&bank, 2, &bounce[..5], step).await;
    assert!(held < Duration::from_millis(40), "{held:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    bank.pull(2, true);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let events = drain(&mut rx);
    assert_eq!(events.len(), 1, "one start for a bouncy press: {events:?}");
    assert_eq!(
        trigger_event(&events[0]),
        Some(TriggerEvent::Start {
            source: "gpio",
            note: None
        })
    );
    watch.abort();
}

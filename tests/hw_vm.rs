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
//! - `livegate_fake_i2c` (tests/hw-vm/fake-i2c: an I2C adapter that acknowledges one
//!   address and records every message in debugfs): the SSD1306 adapter over rppal's
//!   `/dev/i2c-N` sends the power-on sequence and whole frames equal to the rendered
//!   screens, and survives a bus error.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use livegate::camera::jpeg::{FormatPreference, Route};
use livegate::camera::v4l2::{OpenCamera, V4l2Camera, V4l2Options};
use livegate::camera::{CameraState, FrameSlot, FrameSource};
use livegate::display::screens::render;
use livegate::display::sim::Framebuffer;
use livegate::display::ssd1306::{Oled, OledOptions};
use livegate::display::{DisplayError, Screen};
use livegate::session::DenyReason;

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

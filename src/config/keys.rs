//! Every key of the file, declared once: name, type, default, rule (range or
//! choices) and its help words (the doc comment). The structs, their defaults,
//! their builders and the checker's tables come from here (see `decl.rs`); the
//! device tables below list which keys each `kind` takes.

use std::path::PathBuf;
use std::time::Duration;

use super::decl::*;
use super::{CameraConfig, DisplayConfig, GpioConfig, TriggerConfig};
use crate::actions::Part;
use crate::camera::jpeg::FormatPreference;
use crate::camera::{LeftIs, Performer, SimCameraOptions};
use crate::display::sim::SimDisplayOptions;
use crate::display::ssd1306::{OledOptions, PanelSize};
use crate::gpio::input::{DoorOptions, InputOptions};
use crate::gpio::line::{Bcm, ChipLine, Edge, LineSpec, Pull, DEFAULT_CHIP};
use crate::gpio::output::OutputOptions;
use crate::gpio::sim::SimGpioOptions;
use crate::gpio::{GpioLines, WiegandPins};
use crate::rotation::Rotation;
use crate::trigger::SimTriggerOptions;

/// The vendor's endpoint.
pub const DEFAULT_BASE_URL: &str = "https://apis.aigen.online/aiface/liveness-detection/v1";

/// The default of `session.first_frame_after`: the vendor's sample client waits
/// about 5 s after a `Yes` (a new action) before its next frame. (Unset, it is at
/// most half the action timeout: `Config::parse_partial`.)
pub const DEFAULT_FIRST_FRAME_AFTER: Duration = Duration::from_secs(5);

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// The words of `log.level`.
pub(super) const LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];
/// The words of `gpio.door_open_level`.
pub(super) const DOOR_LEVELS: &[&str] = &["high", "low"];

table! {
    /// `[api]`: where and how the liveness service is called.
    pub struct ApiConfig in api {
        /// The service address: `https://`, or `http://` only with `allow_insecure_http`.
        base_url: String = DEFAULT_BASE_URL.to_owned(), rule::url();
        /// Where the key is read from: a file path; when `None`, the systemd credential
        /// `aigen-key` in `$CREDENTIALS_DIRECTORY`.
        key_file: Option<PathBuf> = None, rule::path(true);
        /// Number of actions in a sequence (the API's `mode`).
        mode: u8 = 3, rule::int(1, 10);
        /// Draw actions from this body part only; `None` for both.
        part: Option<Part> = None, rule::choice();
        /// The actions to draw from (`select=`), empty for all.
        select: Vec<String> = Vec::new(), rule::actions();
        /// Whole-request timeout.
        request_timeout: Duration = secs(8), rule::dur(SEC, 60 * SEC);
        /// Connect timeout.
        connect_timeout: Duration = secs(4), rule::dur(SEC, 30 * SEC);
        /// Retries for network errors and 5xx.
        retries: u8 = 2, rule::int(0, 5);
        /// A PEM file with extra CA certificates to trust (a TLS-inspecting proxy, a
        /// test server).
        ca_file: Option<PathBuf> = None, rule::path(true);
        /// Accept a plain `http://` base URL (tests only).
        allow_insecure_http: bool = false, rule::boolean();
    }
}

table! {
    /// `[session]`: timing of one check, and the limit on repeated failures.
    pub struct SessionConfig in session {
        /// Time the person has for each action.
        action_timeout: Duration = secs(10), rule::dur(3 * SEC, 60 * SEC);
        /// Time between two frames posted for one action.
        frame_interval: Duration = secs(1), rule::dur(200, 5 * SEC);
        /// Time a person gets to read and do a new action before its first frame is
        /// posted (as the vendor's sample waits after a `Yes`; unset, at most half
        /// the action timeout).
        first_frame_after: Duration = DEFAULT_FIRST_FRAME_AFTER, rule::dur(0, 30 * SEC);
        /// How many times a session may ask for new actions (`restart_id`) after an
        /// action timed out (the API expires a request after 3 failures).
        max_restarts: u8 = 1, rule::int(0, 2);
        /// Whole-session limit.
        session_timeout: Duration = secs(60), rule::dur(10 * SEC, 10 * MINUTE);
        /// Pause after a session before the next may start.
        cooldown: Duration = secs(3), rule::dur(0, 60 * SEC);
        /// How long the verdict screen stays up.
        verdict_screen: Duration = secs(3), rule::dur(SEC, 30 * SEC);
        /// Anti-hammering: at most `max_failures` failed sessions within `failure_window`…
        max_failures: u32 = 5, rule::int(1, 100);
        /// The window in which failures are counted.
        failure_window: Duration = secs(180), rule::dur(10 * SEC, 24 * HOUR);
        /// …then no session starts for `lockout`.
        lockout: Duration = secs(300), rule::dur(0, 24 * HOUR);
    }
}

table! {
    /// `[presence]`: a face detector on the device (built into the core's
    /// `presence::Params` by `Config::presence_params`).
    pub struct PresenceConfig in presence {
        /// Look for a face: a trigger starts a session only with a face in view, a
        /// session posts only frames with a face, and `[trigger] kind = "camera"`
        /// can start sessions by itself.
        enabled: bool = true, rule::boolean();
        /// Good looks in a row that make a person present (the camera trigger);
        /// a button or socket trigger's question gets as many looks.
        consecutive: u32 = 3, rule::int(1, 20);
        /// The smallest face, as a fraction of the picture's width (the detector
        /// finds nothing under 0.125: its 40-pixel window in a 320-pixel view).
        min_face: f32 = 0.15, rule::fraction(0.125, 0.9);
        /// How far the face's centre may be from the picture's centre, as a
        /// fraction of its width (sideways) and height (up and down).
        max_centre_offset: f32 = 0.25, rule::fraction(0.05, 0.5);
        /// How often the detector looks while it is needed.
        look_every: Duration = ms(500), rule::dur(100, 5 * SEC);
        /// Looks without a face in a row after which the person has left.
        empty_to_leave: u32 = 6, rule::int(1, 100);
    }
}

table! {
    /// `[log]`.
    pub struct LogConfig in log {
        /// `error`, `warn`, `info`, `debug` or `trace`; `RUST_LOG` overrides.
        level: String = "info".to_owned(), rule::word(LEVELS);
    }
}

table! {
    /// `[metrics]`: counters written for node_exporter's textfile collector.
    pub struct MetricsConfig in metrics {
        /// The `.prom` file to write (an absolute path); `None`: no metrics are written.
        textfile: Option<PathBuf> = None, rule::prom_file();
        /// How often the file is rewritten besides after each session.
        interval: Duration = secs(15), rule::dur(5 * SEC, 10 * MINUTE);
    }
}

table! {
    for SimCameraOptions in sim_camera {
        /// How the simulated person behaves.
        performer: Performer = Performer::Pass, rule::choice();
        /// How long the simulated person takes to react to a new action.
        reaction: Duration = ms(1500), rule::dur(0, 30 * SEC);
        /// Frames per second the simulated camera produces.
        fps: u32 = 10, rule::int(1, 30);
        /// Frame width in pixels.
        width: u32 = 640, rule::int(160, 1920);
        /// Frame height in pixels.
        height: u32 = 480, rule::int(120, 1080);
        /// JPEG quality.
        jpeg_quality: u8 = 80, rule::int(30, 95);
    }
}

table! {
    /// `[camera] kind = "v4l2"`: a USB camera (built into the camera's own
    /// `V4l2Options` by `devices::camera_options`, with `left_is` for the session).
    pub struct V4l2CameraConfig in v4l2 {
        /// The device: `/dev/videoN`, or a stable `/dev/v4l/by-id/…` name.
        device: PathBuf = PathBuf::from("/dev/video0"), rule::device();
        /// Requested frame width in pixels (the driver may grant another).
        width: u32 = 640, rule::int(160, 1920);
        /// Requested frame height in pixels.
        height: u32 = 480, rule::int(120, 1080);
        /// Requested frames per second.
        fps: u32 = 10, rule::int(1, 30);
        /// Which pixel format to ask the camera for.
        format: FormatPreference = FormatPreference::Auto, rule::choice();
        /// JPEG quality when frames are encoded here (not for MJPEG passed through).
        jpeg_quality: u8 = 80, rule::int(30, 95);
        /// Frames dropped after the stream starts (auto-exposure settling).
        warmup_frames: u32 = 5, rule::int(0, 60);
        /// The camera's picture is mirrored (a selfie view): flip it back before it
        /// is sent.
        mirror: bool = false, rule::boolean();
        /// Rotate the picture clockwise by this much before it is sent (a camera
        /// mounted sideways).
        rotation: Rotation = Rotation::R0, rule::rotation();
        /// Whose left a "left" action means.
        left_is: LeftIs = LeftIs::Person, rule::choice();
    }
}

table! {
    /// `[camera] kind = "replay"`: a directory of recorded frames (`*.jpg`/`*.jpeg`
    /// as an MJPEG camera delivers them, `*.yuyv` packed YUYV of `width x height x 2`
    /// bytes), played in name order, looping, at `fps`: the same path as a V4L2
    /// camera after the driver (built into `ReplayOptions` by
    /// `devices::replay_options`, with `left_is` for the session).
    pub struct ReplayCameraConfig in replay {
        /// The directory of frames (a relative path is read from the working directory).
        path: PathBuf = PathBuf::from("frames"), rule::path(false);
        /// Frame width in pixels (a `.yuyv` file is exactly `width x height x 2`).
        width: u32 = 640, rule::int(160, 1920);
        /// Frame height in pixels.
        height: u32 = 480, rule::int(120, 1080);
        /// Frames per second played.
        fps: u32 = 10, rule::int(1, 30);
        /// JPEG quality when frames are encoded here (not for JPEG frames passed through).
        jpeg_quality: u8 = 80, rule::int(30, 95);
        /// The recorded picture is mirrored: flip it back before it is sent.
        mirror: bool = false, rule::boolean();
        /// Rotate the picture clockwise by this much before it is sent.
        rotation: Rotation = Rotation::R0, rule::rotation();
        /// Whose left a "left" action means.
        left_is: LeftIs = LeftIs::Person, rule::choice();
    }
}

table! {
    for SimDisplayOptions in sim_display {
        /// Print the panel in the terminal.
        terminal: bool = true, rule::boolean();
        /// Save a PNG of every new screen into this folder.
        png_dir: Option<PathBuf> = None, rule::path(false);
    }
}

table! {
    for OledOptions in ssd1306 {
        /// The I2C bus (`/dev/i2c-N`).
        bus: u8 = 1, rule::int(0, 22);
        /// The panel's 7-bit I2C address.
        address: u8 = 0x3C, rule::ints(&[0x3C, 0x3D], true);
        /// The panel's size in pixels.
        size: PanelSize = PanelSize::W128xH64, rule::choice();
        /// Rotation of the picture on the panel.
        rotation: Rotation = Rotation::R0, rule::rotation();
        /// Brightness (the file's default is full; the adapter alone starts dimmer).
        contrast: u8 = 255, rule::int(0, 255);
        /// How often the panel is initialised again (recovers from glitches).
        reinit_interval: Duration = secs(30), rule::dur(SEC, 10 * MINUTE);
    }
}

table! {
    for SimGpioOptions in sim_gpio {
        /// Gate relay pulse length.
        gate_pulse: Duration = ms(1000), rule::dur(100, 10 * SEC);
        /// Fail output pulse length.
        fail_pulse: Duration = ms(500), rule::dur(100, 10 * SEC);
        /// Where the simulated relays write their levels at every change (for tests
        /// across processes).
        state_file: Option<PathBuf> = None, rule::path(true);
    }
}

keys! {
    /// The keys of `[gpio]` that `kind = "rppal"` and `kind = "cdev"` share.
    lines {
        /// The gate relay's input is active (energised) at a low level.
        gate_active_low: bool = true, rule::boolean();
        /// How long the gate relay is energised for a pass.
        gate_pulse: Duration = ms(1000), rule::dur(100, 10 * SEC);
        /// The fail output is active at a low level.
        fail_active_low: bool = true, rule::boolean();
        /// How long the fail output is energised for a denial or an alarm.
        fail_pulse: Duration = ms(500), rule::dur(100, 10 * SEC);
        /// The trigger input's pull resistor.
        trigger_pull: Pull = Pull::Up, rule::choice();
        /// Which change of the trigger input starts a session.
        trigger_edge: Edge = Edge::Falling, rule::choice();
        /// How long the trigger input must be stable.
        trigger_debounce: Duration = ms(50), rule::dur(1, SEC);
        /// The request-to-exit button's pull resistor.
        exit_pull: Pull = Pull::Up, rule::choice();
        /// Which change of the exit button opens the gate.
        exit_edge: Edge = Edge::Falling, rule::choice();
        /// How long the exit button must be stable.
        exit_debounce: Duration = ms(50), rule::dur(1, SEC);
        /// The door contact's pull resistor.
        door_pull: Pull = Pull::Up, rule::choice();
        /// The level the door contact reads while the door is open.
        door_open_level: String = "high".to_owned(), rule::word(DOOR_LEVELS);
        /// How long the door contact must be stable.
        door_debounce: Duration = ms(50), rule::dur(1, SEC);
        /// A door open this long raises the held-open alarm.
        door_held_open_after: Duration = secs(30), rule::dur(SEC, 10 * MINUTE);
    }
}

keys! {
    /// The lines of `[gpio] kind = "rppal"`: BCM numbers.
    rppal {
        /// The gate relay's BCM GPIO number.
        gate_pin: Bcm = Bcm(17), rule::pin();
        /// The fail output's BCM GPIO number.
        fail_pin: Bcm = Bcm(27), rule::pin();
        /// The trigger input (a presence sensor or start button); unset: none.
        trigger_pin: Option<Bcm> = None, rule::pin();
        /// The request-to-exit button; unset: none.
        exit_pin: Option<Bcm> = None, rule::pin();
        /// The door contact; unset: none.
        door_pin: Option<Bcm> = None, rule::pin();
        /// Wiegand D0 out to the panel's reader port; unset: none.
        wiegand_out_d0_pin: Option<Bcm> = None, rule::pin();
        /// Wiegand D1 out to the panel's reader port.
        wiegand_out_d1_pin: Option<Bcm> = None, rule::pin();
        /// Wiegand D0 in from a card reader; unset: none.
        wiegand_in_d0_pin: Option<Bcm> = None, rule::pin();
        /// Wiegand D1 in from a card reader.
        wiegand_in_d1_pin: Option<Bcm> = None, rule::pin();
    }
}

keys! {
    /// The lines of `[gpio] kind = "cdev"`: offsets or names on a chip.
    cdev {
        /// The GPIO character device.
        chip: PathBuf = PathBuf::from(DEFAULT_CHIP), rule::path(true);
        /// The gate relay's line (offset 17 is BCM 17 on a Pi up to the 4).
        gate_line: LineSpec = LineSpec::Offset(17), rule::line();
        /// The fail output's line.
        fail_line: LineSpec = LineSpec::Offset(27), rule::line();
        /// The trigger input's line; unset: none.
        trigger_line: Option<LineSpec> = None, rule::line();
        /// The request-to-exit button's line; unset: none.
        exit_line: Option<LineSpec> = None, rule::line();
        /// The door contact's line; unset: none.
        door_line: Option<LineSpec> = None, rule::line();
        /// Wiegand D0 out to the panel's reader port; unset: none.
        wiegand_out_d0_line: Option<LineSpec> = None, rule::line();
        /// Wiegand D1 out to the panel's reader port.
        wiegand_out_d1_line: Option<LineSpec> = None, rule::line();
        /// Wiegand D0 in from a card reader; unset: none.
        wiegand_in_d0_line: Option<LineSpec> = None, rule::line();
        /// Wiegand D1 in from a card reader.
        wiegand_in_d1_line: Option<LineSpec> = None, rule::line();
    }
}

table! {
    for SimTriggerOptions in sim_trigger {
        /// Delay between the gate becoming ready and the next simulated person arriving.
        arrival: Duration = secs(2), rule::dur(0, 60 * SEC);
    }
}

table! {
    /// `[trigger] kind = "socket"`: a local Unix socket for kiosk software.
    pub struct SocketTriggerConfig in socket {
        /// Where the socket is created (an absolute path).
        path: PathBuf = PathBuf::from("/run/livegate/ctl.sock"), rule::path(true);
        /// The group whose members may use the socket.
        group: String = "livegate".to_owned(), rule::group();
        /// The socket's permission bits, with none for other users.
        mode: u32 = 0o660, rule::mode();
    }
}

/// The words of `reader.output`.
pub(super) const READER_OUTPUTS: &[&str] = &["none", "wiegand", "osdp"];
/// The words of `reader.on_pass`.
pub(super) const ON_PASS: &[&str] = &["card", "fixed"];
/// The OSDP baud rates.
const OSDP_BAUDS: &[i64] = &[9600, 19200, 38400, 57600, 115200, 230400];

table! {
    /// `[reader]`: livegate as a card reader for an access-control panel (Wiegand
    /// or OSDP out; the Wiegand input is `[trigger] kind = "wiegand"` with the
    /// `wiegand_in_*` lines of `[gpio]`).
    pub struct ReaderConfig in reader {
        /// What a pass sends to the panel: `"none"`, `"wiegand"` (the
        /// `wiegand_out_*` lines of `[gpio]`) or `"osdp"` (the `osdp_*` keys).
        output: String = "none".to_owned(), rule::word(READER_OUTPUTS);
        /// The Wiegand format of the cards: `"26"` or `"34"` bits.
        format: String = "26".to_owned(), rule::word(&livegate_core::wiegand::Format::NAMES);
        /// What a pass sends: `"card"`, the card that started the session (in-line
        /// mode, with `[trigger] kind = "wiegand"`), or `"fixed"`, `fixed_card`
        /// (a standalone liveness reader).
        on_pass: String = "card".to_owned(), rule::word(ON_PASS);
        /// The card a pass sends with `on_pass = "fixed"`: `"NUMBER"` or
        /// `"FACILITY:NUMBER"`.
        fixed_card: Option<String> = None, rule::card();
        /// A card sent on a deny, for a panel that logs failures; unset: a deny
        /// sends nothing.
        deny_card: Option<String> = None, rule::card();
        /// Wiegand pulse width (SIA: 20 µs to 100 µs).
        pulse: Duration = Duration::from_micros(50), rule::dur_us(20, 100);
        /// Wiegand time from one pulse to the next (SIA: 200 µs to 20 ms).
        interval: Duration = ms(2), rule::dur_us(200, 20_000);
        /// The Wiegand output drives an open-collector stage: idle low, pulse high.
        inverted: bool = false, rule::boolean();
        /// How card numbers appear in the journal and the audit line: `"last4"`,
        /// `"full"`, or `"hash"` (a keyed hash, with `show_card_key_file`).
        show_card: String = "last4".to_owned(), rule::word(&crate::reader::CardShown::NAMES);
        /// The key of `show_card = "hash"`: a file closed to other users.
        show_card_key_file: Option<PathBuf> = None, rule::path(true);
        /// The OSDP serial port (an RS-485 adapter).
        osdp_port: PathBuf = PathBuf::from("/dev/ttyUSB0"), rule::device();
        /// The OSDP baud rate.
        osdp_baud: u32 = 9600, rule::ints(OSDP_BAUDS, false);
        /// This reader's OSDP address on the bus (0 to 126).
        osdp_address: u8 = 0, rule::int(0, 126);
        /// The OSDP secure-channel key (32 hex digits), a file closed to other
        /// users; unset: the systemd credential `osdp-key`.
        osdp_key_file: Option<PathBuf> = None, rule::path(true);
    }
}

/// The line keys of one `[gpio]` kind, in the order of [`GpioLines::lines`].
pub(super) struct LineKeys<L: 'static> {
    pub(super) gate: Key<L>,
    pub(super) fail: Key<L>,
    pub(super) trigger: Key<Option<L>>,
    pub(super) exit: Key<Option<L>>,
    pub(super) door: Key<Option<L>>,
    /// Wiegand out D0, D1, in D0, D1.
    pub(super) wiegand: [Key<Option<L>>; 4],
}

impl<L> LineKeys<L> {
    /// The nine line keys, in the order of [`GpioLines::lines`].
    pub(super) const fn specs(&self) -> [Spec; 9] {
        [
            self.gate.spec(),
            self.fail.spec(),
            self.trigger.spec(),
            self.exit.spec(),
            self.door.spec(),
            self.wiegand[0].spec(),
            self.wiegand[1].spec(),
            self.wiegand[2].spec(),
            self.wiegand[3].spec(),
        ]
    }

    /// The optional inputs, each with the keys that only mean something when its
    /// line is set.
    pub(super) const fn inputs(&self) -> [(Spec, &'static [Spec]); 3] {
        [
            (self.trigger.spec(), TRIGGER_KEYS),
            (self.exit.spec(), EXIT_KEYS),
            (self.door.spec(), DOOR_KEYS),
        ]
    }

    /// The `N` keys of the kind, in the documented order: `first` (the chip), then
    /// each line followed by its settings (a wrong `N` fails to compile).
    const fn all<const N: usize>(&self, first: &'static [Spec]) -> [Spec; N] {
        let l = self.specs();
        let mut out = [l[0]; N];
        let mut n = 0;
        let mut i = 0;
        while i < first.len() {
            out[n] = first[i];
            n += 1;
            i += 1;
        }
        let groups: [&[Spec]; 5] = [GATE_KEYS, FAIL_KEYS, TRIGGER_KEYS, EXIT_KEYS, DOOR_KEYS];
        let mut g = 0;
        while g < 5 {
            out[n] = l[g];
            n += 1;
            let mut k = 0;
            while k < groups[g].len() {
                out[n] = groups[g][k];
                n += 1;
                k += 1;
            }
            g += 1;
        }
        // The Wiegand lines last: they have no settings of their own.
        while g < 9 {
            out[n] = l[g];
            n += 1;
            g += 1;
        }
        assert!(n == N, "N is the number of keys");
        out
    }
}

const GATE_KEYS: &[Spec] = &[lines::gate_active_low.spec(), lines::gate_pulse.spec()];
const FAIL_KEYS: &[Spec] = &[lines::fail_active_low.spec(), lines::fail_pulse.spec()];
const TRIGGER_KEYS: &[Spec] = &[
    lines::trigger_pull.spec(),
    lines::trigger_edge.spec(),
    lines::trigger_debounce.spec(),
];
const EXIT_KEYS: &[Spec] = &[
    lines::exit_pull.spec(),
    lines::exit_edge.spec(),
    lines::exit_debounce.spec(),
];
const DOOR_KEYS: &[Spec] = &[
    lines::door_pull.spec(),
    lines::door_open_level.spec(),
    lines::door_debounce.spec(),
    lines::door_held_open_after.spec(),
];

/// The lines of `[gpio] kind = "rppal"`.
pub(super) const RPPAL_LINES: LineKeys<Bcm> = LineKeys {
    gate: rppal::gate_pin,
    fail: rppal::fail_pin,
    trigger: rppal::trigger_pin,
    exit: rppal::exit_pin,
    door: rppal::door_pin,
    wiegand: [
        rppal::wiegand_out_d0_pin,
        rppal::wiegand_out_d1_pin,
        rppal::wiegand_in_d0_pin,
        rppal::wiegand_in_d1_pin,
    ],
};

/// The lines of `[gpio] kind = "cdev"`.
pub(super) const CDEV_LINES: LineKeys<LineSpec> = LineKeys {
    gate: cdev::gate_line,
    fail: cdev::fail_line,
    trigger: cdev::trigger_line,
    exit: cdev::exit_line,
    door: cdev::door_line,
    wiegand: [
        cdev::wiegand_out_d0_line,
        cdev::wiegand_out_d1_line,
        cdev::wiegand_in_d0_line,
        cdev::wiegand_in_d1_line,
    ],
};

const RPPAL_KEYS: &[Spec] = &RPPAL_LINES.all::<23>(&[]);
const CDEV_KEYS: &[Spec] = &CDEV_LINES.all::<24>(&[cdev::chip.spec()]);

/// The relays and inputs of a `[gpio]` table whose lines are read with `keys` and
/// named by `addr`.
fn build_lines<L: FromVal, A>(
    f: &Fields,
    keys: &LineKeys<L>,
    addr: impl Fn(L) -> A,
) -> GpioLines<A> {
    let input = |line: Key<Option<L>>, pull, edge, debounce| {
        f.get_or_default(line).map(|line| InputOptions {
            line: addr(line),
            pull: f.get_or_default(pull),
            edge: f.get_or_default(edge),
            debounce: f.get_or_default(debounce),
        })
    };
    GpioLines {
        gate: OutputOptions {
            line: addr(f.get_or_default(keys.gate)),
            active_low: f.get_or_default(lines::gate_active_low),
            pulse: f.get_or_default(lines::gate_pulse),
        },
        fail: OutputOptions {
            line: addr(f.get_or_default(keys.fail)),
            active_low: f.get_or_default(lines::fail_active_low),
            pulse: f.get_or_default(lines::fail_pulse),
        },
        trigger: input(
            keys.trigger,
            lines::trigger_pull,
            lines::trigger_edge,
            lines::trigger_debounce,
        ),
        exit: input(
            keys.exit,
            lines::exit_pull,
            lines::exit_edge,
            lines::exit_debounce,
        ),
        door: f.get_or_default(keys.door).map(|line| DoorOptions {
            line: addr(line),
            pull: f.get_or_default(lines::door_pull),
            open_level_high: f.get_or_default(lines::door_open_level) == "high",
            debounce: f.get_or_default(lines::door_debounce),
            held_open_after: f.get_or_default(lines::door_held_open_after),
        }),
        wiegand: WiegandPins {
            out_d0: f.get_or_default(keys.wiegand[0]).map(&addr),
            out_d1: f.get_or_default(keys.wiegand[1]).map(&addr),
            in_d0: f.get_or_default(keys.wiegand[2]).map(&addr),
            in_d1: f.get_or_default(keys.wiegand[3]).map(&addr),
        },
    }
}

/// `[gpio] kind = "rppal"` from the file's keys (defaults for the rest).
pub(super) fn rppal_lines(f: &Fields) -> GpioLines<Bcm> {
    build_lines(f, &RPPAL_LINES, |pin| pin)
}

/// `[gpio] kind = "cdev"` from the file's keys; every line carries the chip.
pub(super) fn cdev_lines(f: &Fields) -> GpioLines<ChipLine> {
    let chip = f.get_or_default(cdev::chip);
    build_lines(f, &CDEV_LINES, |spec| ChipLine::new(chip.as_path(), spec))
}

/// The simulated kind of every device table; its devices come with the `sim` feature.
pub(super) const SIM_KIND: &str = "sim";

fn sim_camera(f: &Fields) -> CameraConfig {
    CameraConfig::Sim(SimCameraOptions::build(f))
}
fn v4l2_camera(f: &Fields) -> CameraConfig {
    CameraConfig::V4l2(V4l2CameraConfig::build(f))
}
fn replay_camera(f: &Fields) -> CameraConfig {
    CameraConfig::Replay(ReplayCameraConfig::build(f))
}
fn sim_display(f: &Fields) -> DisplayConfig {
    DisplayConfig::Sim(SimDisplayOptions::build(f))
}
fn oled_display(f: &Fields) -> DisplayConfig {
    DisplayConfig::Ssd1306(OledOptions::build(f))
}
fn sim_gpio(f: &Fields) -> GpioConfig {
    GpioConfig::Sim(SimGpioOptions::build(f))
}
fn rppal_gpio(f: &Fields) -> GpioConfig {
    GpioConfig::Rppal(rppal_lines(f))
}
fn cdev_gpio(f: &Fields) -> GpioConfig {
    GpioConfig::Cdev(cdev_lines(f))
}
fn sim_trigger(f: &Fields) -> TriggerConfig {
    TriggerConfig::Sim(SimTriggerOptions::build(f))
}
fn gpio_trigger(_: &Fields) -> TriggerConfig {
    TriggerConfig::Gpio
}
fn socket_trigger(f: &Fields) -> TriggerConfig {
    TriggerConfig::Socket(SocketTriggerConfig::build(f))
}
fn wiegand_trigger(_: &Fields) -> TriggerConfig {
    TriggerConfig::Wiegand
}
fn camera_trigger(_: &Fields) -> TriggerConfig {
    TriggerConfig::Camera
}

pub(super) const CAMERA: Device<CameraConfig> = Device {
    table: "camera",
    kinds: &[
        Kind {
            name: SIM_KIND,
            keys: sim_camera::ALL,
            build: sim_camera,
        },
        Kind {
            name: "v4l2",
            keys: v4l2::ALL,
            build: v4l2_camera,
        },
        Kind {
            name: "replay",
            keys: replay::ALL,
            build: replay_camera,
        },
    ],
};

pub(super) const DISPLAY: Device<DisplayConfig> = Device {
    table: "display",
    kinds: &[
        Kind {
            name: SIM_KIND,
            keys: sim_display::ALL,
            build: sim_display,
        },
        Kind {
            name: "ssd1306",
            keys: ssd1306::ALL,
            build: oled_display,
        },
    ],
};

pub(super) const GPIO: Device<GpioConfig> = Device {
    table: "gpio",
    kinds: &[
        Kind {
            name: SIM_KIND,
            keys: sim_gpio::ALL,
            build: sim_gpio,
        },
        Kind {
            name: "rppal",
            keys: RPPAL_KEYS,
            build: rppal_gpio,
        },
        Kind {
            name: "cdev",
            keys: CDEV_KEYS,
            build: cdev_gpio,
        },
    ],
};

pub(super) const TRIGGER: Device<TriggerConfig> = Device {
    table: "trigger",
    kinds: &[
        Kind {
            name: SIM_KIND,
            keys: sim_trigger::ALL,
            build: sim_trigger,
        },
        Kind {
            name: "gpio",
            keys: &[],
            build: gpio_trigger,
        },
        Kind {
            name: "socket",
            keys: socket::ALL,
            build: socket_trigger,
        },
        Kind {
            name: "wiegand",
            keys: &[],
            build: wiegand_trigger,
        },
        Kind {
            name: "camera",
            keys: &[],
            build: camera_trigger,
        },
    ],
};

/// A table with one fixed set of keys.
pub(super) struct Plain {
    pub(super) table: &'static str,
    pub(super) keys: &'static [Spec],
}

impl Plain {
    const fn new(table: &'static str, keys: &'static [Spec]) -> Self {
        Plain { table, keys }
    }
}

pub(super) const API: Plain = Plain::new("api", api::ALL);
pub(super) const SESSION: Plain = Plain::new("session", session::ALL);
pub(super) const LOG: Plain = Plain::new("log", log::ALL);
pub(super) const METRICS: Plain = Plain::new("metrics", metrics::ALL);
pub(super) const READER: Plain = Plain::new("reader", reader::ALL);
pub(super) const PRESENCE: Plain = Plain::new("presence", presence::ALL);

/// The tables of the file, in the order of the documented example.
pub(super) const TABLES: [&str; 10] = [
    API.table,
    SESSION.table,
    CAMERA.table,
    PRESENCE.table,
    DISPLAY.table,
    GPIO.table,
    TRIGGER.table,
    READER.table,
    LOG.table,
    METRICS.table,
];

/// Every key name a table accepts (for a device table: `kind` and the keys of all kinds).
pub(super) fn keys_of_table(table: &str) -> Vec<&'static str> {
    fn device<T>(d: &Device<T>) -> Vec<&'static str> {
        let mut v = vec!["kind"];
        for k in d.kinds.iter().flat_map(|k| k.keys) {
            if !v.contains(&k.name) {
                v.push(k.name);
            }
        }
        v
    }
    if let Some(p) = [API, SESSION, PRESENCE, READER, LOG, METRICS]
        .into_iter()
        .find(|p| p.table == table)
    {
        return p.keys.iter().map(|k| k.name).collect();
    }
    if table == CAMERA.table {
        device(&CAMERA)
    } else if table == DISPLAY.table {
        device(&DISPLAY)
    } else if table == GPIO.table {
        device(&GPIO)
    } else if table == TRIGGER.table {
        device(&TRIGGER)
    } else {
        Vec::new()
    }
}

//! OSDP peripheral-device (reader) mode: livegate answers an access-control panel
//! as a card reader over a serial port (an RS-485 USB adapter).
//!
//! The protocol is the reference C library's (`libosdp`, through its Rust binding):
//! one thread owns the port and the library's context, answers the panel's polls
//! (the library must be refreshed at least every 50 ms; this thread does it every
//! [`TICK`] and as soon as bytes arrive), queues a card read when asked to, and turns
//! the panel's LED, buzzer, text and output commands into [`PanelCommand`]s on a
//! channel. With a key ([`OsdpOptions::key`]) only a secure channel is accepted
//! (`EnforceSecure`): a panel with another key never gets a card. A port that fails
//! or goes away is logged and opened again after [`OsdpOptions::retry`]; the thread
//! never gives up while its handle lives.
//!
//! A card read is only queued while the link is up (and secure, with a key): a card
//! held back while the panel is away would open the door whenever it came back.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use libosdp::{
    Channel, ChannelError, OsdpCommand, OsdpEvent, OsdpEventCardRead, OsdpFlag, OsdpLedColor,
    PdCapEntity, PdCapability, PdId, PdInfoBuilder, PeripheralDevice,
};
use livegate_core::secret::{ScbkKey, ScbkKeyError};
use livegate_core::wiegand::{Bits, Card};
use tokio::sync::{mpsc, watch};

/// The baud rates OSDP uses.
pub const BAUDS: [u32; 6] = [9600, 19200, 38400, 57600, 115200, 230400];
/// The highest reader address (0x7F is the broadcast address).
pub const MAX_ADDRESS: u8 = 126;
/// The systemd credential that holds the key, in `$CREDENTIALS_DIRECTORY`.
pub const CREDENTIAL_NAME: &str = "osdp-key";
/// How long the reader waits before opening a failed port again, by default.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(2);
/// The longest the thread goes between two refreshes of the library.
pub const TICK: Duration = Duration::from_millis(10);
/// Panel commands held for a slow reader of the channel; more are dropped (logged).
const COMMAND_QUEUE: usize = 32;

/// How livegate answers the panel. Built by the configuration (`[reader.osdp]`).
#[derive(Clone, Debug)]
pub struct OsdpOptions {
    /// The serial port (`/dev/ttyUSB0`, `/dev/serial/by-id/…`).
    pub port: PathBuf,
    /// One of [`BAUDS`].
    pub baud: u32,
    /// This reader's address on the bus, 0 to [`MAX_ADDRESS`].
    pub address: u8,
    /// The site's secure-channel base key. `None`: no secure channel (the library's
    /// install mode, for commissioning only).
    pub key: Option<ScbkKey>,
    /// The wait before a failed port is opened again.
    pub retry: Duration,
}

impl OsdpOptions {
    pub fn new(port: impl Into<PathBuf>, baud: u32, address: u8, key: Option<ScbkKey>) -> Self {
        OsdpOptions {
            port: port.into(),
            baud,
            address,
            key,
            retry: DEFAULT_RETRY,
        }
    }

    /// Whether the address and the baud rate are OSDP's.
    pub fn check(&self) -> Result<(), OsdpError> {
        if self.address > MAX_ADDRESS {
            return Err(OsdpError::Address(self.address));
        }
        if !BAUDS.contains(&self.baud) {
            return Err(OsdpError::Baud(self.baud));
        }
        Ok(())
    }
}

/// What goes wrong.
#[derive(Debug, thiserror::Error)]
pub enum OsdpError {
    #[error("OSDP address {0} is out of range (0 to 126; 127 is the broadcast address)")]
    Address(u8),
    #[error("{0} baud is not an OSDP rate (9600, 19200, 38400, 57600, 115200 or 230400)")]
    Baud(u32),
    #[error("cannot open the serial port {port}: {cause}")]
    Open { port: PathBuf, cause: io::Error },
    #[error("the OSDP library refused the reader's set-up: {0}")]
    Library(#[from] libosdp::OsdpError),
    #[error("cannot start the OSDP thread: {0}")]
    Spawn(io::Error),
    #[error("the OSDP reader has stopped")]
    Stopped,
    #[error("the panel is not connected{}", if *.secure { " over the secure channel" } else { "" })]
    Offline { secure: bool },
}

/// Why an OSDP key file cannot be used. Never holds the key.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the OSDP key {path}: {cause}")]
    Read { path: String, cause: io::Error },
    #[error(
        "the OSDP key {path} can be read by other users (mode {mode:04o}): \
         chmod 600 or 640 it"
    )]
    OpenToOthers { path: String, mode: u32 },
    #[error("the OSDP key {path} is not a key: {cause}")]
    Bad { path: String, cause: ScbkKeyError },
}

/// Where the systemd credential would be, when the service runs with credentials.
pub fn credential_path() -> Option<PathBuf> {
    std::env::var_os("CREDENTIALS_DIRECTORY").map(|d| Path::new(&d).join(CREDENTIAL_NAME))
}

/// Reads the key from a file of 32 hex digits (white space ignored). A key file
/// must be a regular file closed to other users; a systemd credential
/// (`credential`: true) is taken as systemd hands it over.
pub fn read_key(path: &Path, credential: bool) -> Result<ScbkKey, KeyFileError> {
    let shown = path.display().to_string();
    let read_err = |cause| KeyFileError::Read {
        path: shown.clone(),
        cause,
    };
    let raw = crate::safefile::read_text(path, crate::safefile::MAX_KEY_BYTES).map_err(read_err)?;
    if !credential {
        if let Some(mode) = crate::safefile::open_to_others(path).map_err(read_err)? {
            return Err(KeyFileError::OpenToOthers { path: shown, mode });
        }
    }
    ScbkKey::parse_hex(&raw).map_err(|cause| KeyFileError::Bad { path: shown, cause })
}

/// An LED colour as the panel names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedColor {
    Off,
    Red,
    Green,
    Amber,
    Blue,
    Magenta,
    Cyan,
    White,
    Other(u8),
}

impl From<OsdpLedColor> for LedColor {
    fn from(c: OsdpLedColor) -> Self {
        match c {
            OsdpLedColor::None => LedColor::Off,
            OsdpLedColor::Red => LedColor::Red,
            OsdpLedColor::Green => LedColor::Green,
            OsdpLedColor::Amber => LedColor::Amber,
            OsdpLedColor::Blue => LedColor::Blue,
            OsdpLedColor::Magenta => LedColor::Magenta,
            OsdpLedColor::Cyan => LedColor::Cyan,
            OsdpLedColor::Unknown(7) => LedColor::White,
            OsdpLedColor::Unknown(n) => LedColor::Other(n),
        }
    }
}

/// One half of an LED command (the temporary or the permanent state).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedPattern {
    /// Temporary: 0 leave as is, 1 cancel (back to the permanent state), 2 set and
    /// start the timer. Permanent: 0 leave as is, 1 set.
    pub control: u8,
    pub on: Duration,
    pub off: Duration,
    pub on_color: LedColor,
    pub off_color: LedColor,
    /// How long the temporary state lasts.
    pub timer: Duration,
}

/// What the panel asks of the reader. The daemon follows what the hardware allows:
/// the text goes to the OLED's idle screen; livegate has no LED or buzzer of its
/// own, so those are logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PanelCommand {
    Led {
        reader: u8,
        led: u8,
        temporary: LedPattern,
        permanent: LedPattern,
    },
    Buzzer {
        reader: u8,
        /// 0 no tone, 1 off, 2 the default tone.
        tone: u8,
        on: Duration,
        off: Duration,
        /// 0: until told otherwise.
        repeat: u8,
    },
    Text {
        reader: u8,
        /// Shown for `hold`, then the previous text comes back.
        temporary: bool,
        wrap: bool,
        hold: Duration,
        /// 1-based.
        row: u8,
        /// 1-based.
        column: u8,
        /// As the panel sent it, made safe to show (control characters escaped:
        /// [`livegate_core::untrusted::clean`]).
        text: String,
    },
    Output {
        output: u8,
        control: u8,
        timer: Duration,
    },
}

/// One command in words, for the log and `livegate test osdp` (the panel's text as
/// it came in, already escaped by [`untrusted::clean`](crate::untrusted::clean)).
impl std::fmt::Display for PanelCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PanelCommand::Led {
                led,
                temporary,
                permanent,
                ..
            } => write!(
                f,
                "LED {led}: temporary {:?}/{:?} ({} ms on, {} ms off, for {} ms, control {}), \
                 permanent {:?}/{:?} (control {})",
                temporary.on_color,
                temporary.off_color,
                temporary.on.as_millis(),
                temporary.off.as_millis(),
                temporary.timer.as_millis(),
                temporary.control,
                permanent.on_color,
                permanent.off_color,
                permanent.control
            ),
            PanelCommand::Buzzer {
                tone,
                on,
                off,
                repeat,
                ..
            } => write!(
                f,
                "buzzer: tone {tone}, {} ms on, {} ms off, {repeat} times",
                on.as_millis(),
                off.as_millis()
            ),
            PanelCommand::Text {
                temporary,
                hold,
                row,
                column,
                text,
                ..
            } => write!(
                f,
                "text at row {row}, column {column}{}: \"{}\"",
                if *temporary {
                    format!(" for {} s", hold.as_secs())
                } else {
                    String::new()
                },
                text
            ),
            PanelCommand::Output {
                output,
                control,
                timer,
            } => write!(
                f,
                "output {output}: control {control}, {} ms (livegate has no OSDP outputs)",
                timer.as_millis()
            ),
        }
    }
}

/// The link as the reader thread sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkState {
    /// The serial port is open.
    pub port_open: bool,
    /// The panel polled recently.
    pub online: bool,
    /// The secure channel is up.
    pub secure: bool,
}

/// The reader's handle: card reads in, the link's state out. Dropping it stops the
/// thread and closes the port.
pub struct Osdp {
    requests: std_mpsc::Sender<Request>,
    state: watch::Receiver<LinkState>,
    needs_secure: bool,
    thread: Option<JoinHandle<()>>,
}

enum Request {
    Card(Card),
    Stop,
}

impl Osdp {
    /// Starts the reader thread. Only bad options fail here; a port that cannot be
    /// opened is logged and tried again, in the thread. The receiver gets the
    /// panel's commands.
    pub fn start(opts: OsdpOptions) -> Result<(Osdp, mpsc::Receiver<PanelCommand>), OsdpError> {
        opts.check()?;
        let (req_tx, req_rx) = std_mpsc::channel();
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
        let (state_tx, state_rx) = watch::channel(LinkState::default());
        let needs_secure = opts.key.is_some();
        let thread = std::thread::Builder::new()
            .name("osdp-pd".into())
            .spawn(move || run(opts, req_rx, cmd_tx, state_tx))
            .map_err(OsdpError::Spawn)?;
        Ok((
            Osdp {
                requests: req_tx,
                state: state_rx,
                needs_secure,
                thread: Some(thread),
            },
            cmd_rx,
        ))
    }

    /// Reports `card` to the panel as a card read (raw Wiegand: the frame's bits,
    /// parities included, and their count) at its next poll. Refused while the
    /// panel is not connected (over the secure channel, with a key).
    pub fn card_read(&self, card: &Card) -> Result<(), OsdpError> {
        let s = *self.state.borrow();
        if !ready(s, self.needs_secure) {
            return Err(OsdpError::Offline {
                secure: self.needs_secure,
            });
        }
        self.requests
            .send(Request::Card(*card))
            .map_err(|_| OsdpError::Stopped)
    }

    /// The link's state, updated by the thread as it changes.
    pub fn state(&self) -> watch::Receiver<LinkState> {
        self.state.clone()
    }

    /// Stops the thread (closing the port) and waits for it: about one [`TICK`]
    /// at most, the retry wait included (it listens for the stop).
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let _ = self.requests.send(Request::Stop);
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("the OSDP thread panicked");
            }
        }
    }
}

impl Drop for Osdp {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

impl std::fmt::Debug for Osdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Osdp")
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

fn ready(s: LinkState, needs_secure: bool) -> bool {
    s.online && (s.secure || !needs_secure)
}

/// A card's frame as OSDP's raw Wiegand card data: the bits packed first bit first
/// from the top of the first byte, and their count.
pub fn card_data(bits: Bits) -> (usize, Vec<u8>) {
    let n = usize::from(bits.len());
    let mut data = vec![0u8; n.div_ceil(8)];
    for (i, one) in bits.iter().enumerate() {
        if one {
            data[i / 8] |= 0x80 >> (i % 8);
        }
    }
    (n, data)
}

/// What the reader does with one of the library's commands.
#[derive(Debug, PartialEq, Eq)]
enum Handling {
    Deliver(PanelCommand),
    /// NAK-ed, with the reason logged.
    Refuse(&'static str),
}

fn handle(cmd: &OsdpCommand) -> Handling {
    let tenths = |n: u8| Duration::from_millis(100 * u64::from(n));
    let pattern = |p: &libosdp::OsdpLedParams| LedPattern {
        control: p.control_code,
        on: tenths(p.on_count),
        off: tenths(p.off_count),
        on_color: p.on_color.into(),
        off_color: p.off_color.into(),
        timer: Duration::from_millis(100 * u64::from(p.timer_count)),
    };
    match cmd {
        OsdpCommand::Led(l) => Handling::Deliver(PanelCommand::Led {
            reader: l.reader,
            led: l.led_number,
            temporary: pattern(&l.temporary),
            permanent: pattern(&l.permanent),
        }),
        OsdpCommand::Buzzer(b) => Handling::Deliver(PanelCommand::Buzzer {
            reader: b.reader,
            tone: b.control_code,
            on: tenths(b.on_count),
            off: tenths(b.off_count),
            repeat: b.rep_count,
        }),
        OsdpCommand::Text(t) => Handling::Deliver(PanelCommand::Text {
            reader: t.reader,
            temporary: matches!(t.control_code, 3 | 4),
            wrap: matches!(t.control_code, 2 | 4),
            hold: Duration::from_secs(u64::from(t.temp_time)),
            row: t.offset_row,
            column: t.offset_col,
            // Shown on the OLED and in logs: cleaned where it enters.
            text: livegate_core::untrusted::clean(&String::from_utf8_lossy(&t.data)),
        }),
        OsdpCommand::Output(o) => Handling::Deliver(PanelCommand::Output {
            output: o.output_no,
            control: o.control_code,
            timer: Duration::from_millis(100 * u64::from(o.timer_count)),
        }),
        OsdpCommand::KeySet(_) => Handling::Refuse(
            "the panel tried to set a new secure-channel key; refused: the key comes \
             from the key file",
        ),
        OsdpCommand::ComSet(_) | OsdpCommand::ComSetDone(_) => Handling::Refuse(
            "the panel tried to change the address or baud rate; refused: they come \
             from the configuration",
        ),
        OsdpCommand::Mfg(_) => Handling::Refuse("manufacturer command not supported"),
        OsdpCommand::FileTx(_) => Handling::Refuse("file transfer not supported"),
        OsdpCommand::Status(_) => Handling::Refuse("status command not supported"),
    }
}

fn capabilities(secure: bool) -> Vec<PdCapability> {
    let mut caps = vec![
        // Raw Wiegand card data.
        PdCapability::CardDataFormat(PdCapEntity::new(1, 0)),
        PdCapability::LedControl(PdCapEntity::new(1, 1)),
        PdCapability::AudibleOutput(PdCapEntity::new(1, 1)),
        // Text (on the OLED, in the idle screen's place: `Gate::panel_text`).
        PdCapability::TextOutput(PdCapEntity::new(1, 1)),
    ];
    if secure {
        caps.push(PdCapability::CommunicationSecurity(PdCapEntity::new(1, 1)));
    }
    caps
}

/// The serial port as the library's channel. Faults (the port gone, a read error)
/// are kept for the thread, which closes the port and opens it again.
struct Serial {
    fd: Option<Arc<OwnedFd>>,
    fault: Arc<Mutex<Option<io::Error>>>,
}

impl Serial {
    fn record(&self, e: io::Error) -> ChannelError {
        if let Ok(mut f) = self.fault.lock() {
            f.get_or_insert(e);
        }
        ChannelError::TransportError
    }

    fn raw(&self) -> Result<RawFd, ChannelError> {
        self.fd
            .as_ref()
            .map(|f| f.as_raw_fd())
            .ok_or(ChannelError::TransportError)
    }
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

impl Channel for Serial {
    fn get_id(&self) -> i32 {
        0
    }

    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ChannelError> {
        let fd = self.raw()?;
        // SAFETY: `buf` is valid for `buf.len()` bytes; `fd` is open while `self.fd` is.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            n if n > 0 => Ok(n as usize),
            // A raw tty with VMIN = VTIME = 0 reads 0 bytes when none are waiting; a
            // hang-up shows in poll (POLLHUP) or as EIO.
            0 => Err(ChannelError::WouldBlock),
            _ => {
                let e = io::Error::last_os_error();
                if would_block(&e) {
                    Err(ChannelError::WouldBlock)
                } else {
                    Err(self.record(e))
                }
            }
        }
    }

    fn write(&mut self, buf: &[u8]) -> Result<usize, ChannelError> {
        let fd = self.raw()?;
        // SAFETY: `buf` is valid for `buf.len()` bytes; `fd` is open while `self.fd` is.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if would_block(&e) {
            Err(ChannelError::WouldBlock)
        } else {
            Err(self.record(e))
        }
    }

    /// The library calls this before each reply to drop stale received bytes.
    fn flush(&mut self) -> Result<(), ChannelError> {
        let fd = self.raw()?;
        // SAFETY: plain call on an open descriptor.
        unsafe { libc::tcflush(fd, libc::TCIFLUSH) };
        Ok(())
    }

    /// Called when the library's context is torn down: the port closes here.
    fn close(&mut self) -> Result<(), ChannelError> {
        self.fd = None;
        Ok(())
    }
}

fn speed(baud: u32) -> Option<libc::speed_t> {
    Some(match baud {
        9600 => libc::B9600,
        19200 => libc::B19200,
        38400 => libc::B38400,
        57600 => libc::B57600,
        115200 => libc::B115200,
        230400 => libc::B230400,
        _ => return None,
    })
}

/// Opens `port` raw, 8N1, at `baud`, non-blocking.
fn open_port(port: &Path, baud: u32) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(port.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the path"))?;
    // SAFETY: `c` is a valid C string.
    let raw = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` was just opened and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let sp = speed(baud)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an OSDP baud rate"))?;
    // SAFETY: `tio` is a plain C struct filled by tcgetattr before use.
    unsafe {
        let mut tio: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd.as_raw_fd(), &mut tio) != 0 {
            let e = io::Error::last_os_error();
            return Err(if e.raw_os_error() == Some(libc::ENOTTY) {
                io::Error::new(io::ErrorKind::InvalidInput, "not a serial port")
            } else {
                e
            });
        }
        libc::cfmakeraw(&mut tio);
        tio.c_cflag |= libc::CLOCAL | libc::CREAD;
        tio.c_cflag &= !(libc::CSTOPB | libc::PARENB | libc::CRTSCTS);
        tio.c_cc[libc::VMIN] = 0;
        tio.c_cc[libc::VTIME] = 0;
        // The speed goes straight into c_cflag (input speed 0 in CIBAUD: the same as
        // the output's), as glibc's cfsetospeed does for these rates. The libc
        // crate binds cfset*speed to versioned glibc symbols, which a static link
        // (the armv7 and hw-vm builds) cannot resolve.
        tio.c_cflag &= !(libc::CBAUD | libc::CIBAUD);
        tio.c_cflag |= sp;
        if libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &tio) != 0 {
            return Err(io::Error::last_os_error());
        }
        libc::tcflush(fd.as_raw_fd(), libc::TCIOFLUSH);
    }
    Ok(fd)
}

/// Opens the port as the reader would, and closes it: whether it is there, a serial
/// port, and ours to use (for the commissioning test and `check-config`).
pub fn probe_port(opts: &OsdpOptions) -> Result<(), OsdpError> {
    opts.check()?;
    open_port(&opts.port, opts.baud)
        .map(drop)
        .map_err(|cause| OsdpError::Open {
            port: opts.port.clone(),
            cause,
        })
}

/// Waits up to `t` for bytes (or a hang-up) on `fd`.
fn wait_readable(fd: RawFd, t: Duration) -> io::Result<()> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = t.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(())
        } else {
            Err(e)
        };
    }
    if p.revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        return Err(io::Error::other(
            "the port reports an error (adapter unplugged?)",
        ));
    }
    if p.revents & libc::POLLHUP != 0 && p.revents & libc::POLLIN == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the port hung up",
        ));
    }
    Ok(())
}

/// Why a session on an open port ended.
enum Ended {
    Stop,
    Fault(String),
}

fn run(
    opts: OsdpOptions,
    requests: std_mpsc::Receiver<Request>,
    commands: mpsc::Sender<PanelCommand>,
    state: watch::Sender<LinkState>,
) {
    let port = opts.port.display().to_string();
    let commands = Arc::new(commands);
    if opts.key.is_none() {
        tracing::warn!(
            %port,
            "OSDP without a key: no secure channel (install mode); set the site's key \
             for a real installation"
        );
    }
    // The same open error again and again (an adapter left unplugged) is logged
    // once, then at debug level until it changes or the port opens.
    let mut last_open_error: Option<String> = None;
    loop {
        match open_port(&opts.port, opts.baud) {
            Ok(fd) => {
                last_open_error = None;
                tracing::info!(
                    %port,
                    baud = opts.baud,
                    address = opts.address,
                    secure = opts.key.is_some(),
                    "OSDP port open, answering the panel"
                );
                let ended = session(&opts, fd, &requests, &commands, &state);
                state.send_replace(LinkState::default());
                match ended {
                    Ended::Stop => return,
                    Ended::Fault(why) => tracing::error!(
                        %port,
                        error = %why,
                        retry_s = opts.retry.as_secs_f64(),
                        "OSDP port failed; opening it again"
                    ),
                }
            }
            Err(e) => {
                let why = e.to_string();
                if last_open_error.as_deref() == Some(why.as_str()) {
                    tracing::debug!(%port, error = %why, "cannot open the OSDP port, still");
                } else {
                    tracing::error!(
                        %port,
                        error = %why,
                        retry_s = opts.retry.as_secs_f64(),
                        "cannot open the OSDP port; trying again (logged again when the \
                         error changes)"
                    );
                    last_open_error = Some(why);
                }
            }
        }
        // The retry wait, awake for requests: a stop ends it, a card is refused.
        let until = std::time::Instant::now() + opts.retry;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            match requests.recv_timeout(left) {
                Ok(Request::Stop) | Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
                Ok(Request::Card(_)) => {
                    tracing::warn!(%port, "card read not reported: the OSDP port is closed")
                }
                Err(std_mpsc::RecvTimeoutError::Timeout) => break,
            }
        }
    }
}

/// The reader as the library describes it to the panel.
fn pd_info(opts: &OsdpOptions) -> Result<PdInfoBuilder, libosdp::OsdpError> {
    let mut b = PdInfoBuilder::new()
        .name("livegate")?
        .address(i32::from(opts.address))?
        .baud_rate(opts.baud as i32)?
        .id(&PdId {
            version: 1,
            model: 1,
            vendor_code: (0, 0, 0),
            serial_number: [0; 4],
            firmware_version: (0, 1, 0),
        })
        .capabilities(&capabilities(opts.key.is_some()));
    if let Some(key) = &opts.key {
        b = b
            .flag(OsdpFlag::EnforceSecure)
            .secure_channel_key(*key.expose());
    }
    Ok(b)
}

/// Queues `card` for the panel's next poll, when the link is up.
fn queue_card(
    pd: &mut PeripheralDevice,
    card: &Card,
    link: LinkState,
    needs_secure: bool,
    port: &str,
) {
    if !ready(link, needs_secure) {
        tracing::warn!(%port, "card read not reported: the panel is not connected");
        return;
    }
    let (bits, data) = card_data(card.encode());
    let queued = OsdpEventCardRead::new_wiegand(bits, data)
        .map(OsdpEvent::CardRead)
        .and_then(|ev| pd.notify_event(ev));
    match queued {
        Ok(()) => tracing::info!(%port, bits, "card read queued for the panel's next poll"),
        Err(e) => tracing::error!(%port, error = %e, "card read not queued"),
    }
}

/// Logs what changed from `was` to `now`; drops queued cards when the link went down.
fn link_changed(
    pd: &mut PeripheralDevice,
    was: LinkState,
    now: LinkState,
    needs_secure: bool,
    port: &str,
) {
    if now.online != was.online {
        if now.online {
            tracing::info!(%port, "OSDP panel online");
        } else {
            tracing::warn!(%port, "OSDP panel offline");
        }
    }
    if now.secure != was.secure {
        tracing::info!(%port, secure = now.secure, "OSDP secure channel");
    }
    if ready(was, needs_secure) && !ready(now, needs_secure) {
        // A card queued for a panel that went away is not sent when it comes back.
        pd.flush_events();
    }
}

fn session(
    opts: &OsdpOptions,
    fd: OwnedFd,
    requests: &std_mpsc::Receiver<Request>,
    commands: &Arc<mpsc::Sender<PanelCommand>>,
    state: &watch::Sender<LinkState>,
) -> Ended {
    let port = opts.port.display().to_string();
    let fd = Arc::new(fd);
    let raw = fd.as_raw_fd();
    let fault = Arc::new(Mutex::new(None));
    let channel = Serial {
        fd: Some(fd.clone()),
        fault: fault.clone(),
    };
    let pd = pd_info(opts).and_then(|b| PeripheralDevice::new(b, Box::new(channel)));
    let mut pd = match pd {
        Ok(pd) => pd,
        Err(e) => return Ended::Fault(format!("the OSDP library refused the set-up: {e}")),
    };
    // The library keeps the closure for the context's life (and never frees it): it
    // holds the sender weakly, so the channel closes when the thread ends.
    let weak: Weak<mpsc::Sender<PanelCommand>> = Arc::downgrade(commands);
    let port_shown = port.clone();
    pd.set_command_callback(move |cmd| match handle(cmd) {
        Handling::Deliver(c) => {
            tracing::debug!(command = ?c, "OSDP command from the panel");
            if let Some(tx) = weak.upgrade() {
                if tx.try_send(c).is_err() {
                    tracing::warn!(
                        port = %port_shown,
                        "OSDP panel command dropped: nobody takes them fast enough"
                    );
                }
            }
            0
        }
        Handling::Refuse(why) => {
            tracing::warn!(port = %port_shown, "{why}");
            -1
        }
    });
    let needs_secure = opts.key.is_some();
    let mut last = LinkState {
        port_open: true,
        ..LinkState::default()
    };
    state.send_replace(last);
    loop {
        if let Err(e) = wait_readable(raw, TICK) {
            return Ended::Fault(e.to_string());
        }
        loop {
            match requests.try_recv() {
                Ok(Request::Stop) | Err(std_mpsc::TryRecvError::Disconnected) => {
                    return Ended::Stop
                }
                Err(std_mpsc::TryRecvError::Empty) => break,
                Ok(Request::Card(card)) => queue_card(&mut pd, &card, last, needs_secure, &port),
            }
        }
        pd.refresh();
        if let Some(e) = fault.lock().ok().and_then(|mut f| f.take()) {
            return Ended::Fault(e.to_string());
        }
        let now = LinkState {
            port_open: true,
            online: pd.is_online(),
            secure: pd.is_sc_active(),
        };
        if now != last {
            link_changed(&mut pd, last, now, needs_secure, &port);
            last = now;
            state.send_replace(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libosdp::{
        OsdpCommandBuzzer, OsdpCommandKeyset, OsdpCommandLed, OsdpCommandText, OsdpLedParams,
    };
    use livegate_core::wiegand::Format;

    #[test]
    fn card_data_is_the_frame_packed_first_bit_first() {
        let card = Card::new(Format::W26, 18, 12345).unwrap();
        let bits = card.encode();
        let (n, data) = card_data(bits);
        assert_eq!(n, 26);
        assert_eq!(data.len(), 4);
        let back: Bits = (0..n)
            .map(|i| data[i / 8] & (0x80 >> (i % 8)) != 0)
            .collect();
        assert_eq!(back, bits);
        assert_eq!(data[3] & 0x3f, 0, "padding bits are zero");
        // 34-bit: 5 bytes, the same rule.
        let card = Card::new(Format::W34, 0xBEEF, 0x1234).unwrap();
        let (n, data) = card_data(card.encode());
        assert_eq!((n, data.len()), (34, 5));
        let back: Bits = (0..n)
            .map(|i| data[i / 8] & (0x80 >> (i % 8)) != 0)
            .collect();
        assert_eq!(Card::decode(back).unwrap(), card);
    }

    #[test]
    fn options_are_checked() {
        let ok = OsdpOptions::new("/dev/ttyUSB0", 9600, 0, None);
        assert!(ok.check().is_ok());
        let mut bad = ok.clone();
        bad.address = 127;
        assert!(matches!(bad.check(), Err(OsdpError::Address(127))));
        let mut bad = ok.clone();
        bad.baud = 4800;
        assert!(matches!(bad.check(), Err(OsdpError::Baud(4800))));
    }

    #[test]
    fn the_key_never_prints_in_the_options() {
        let key = ScbkKey::parse_hex("944b8eddcbaa2b5fe2b0148d1b2f95c9").unwrap();
        let opts = OsdpOptions::new("/dev/ttyUSB0", 9600, 1, Some(key));
        let shown = format!("{opts:?} {opts:#?}");
        assert!(!shown.contains("944b"), "{shown}");
        assert!(shown.contains("ScbkKey(***)"), "{shown}");
    }

    #[test]
    fn commands_become_typed_and_keys_are_refused() {
        let led = OsdpCommand::Led(OsdpCommandLed {
            reader: 0,
            led_number: 0,
            temporary: OsdpLedParams {
                control_code: 2,
                on_count: 3,
                off_count: 2,
                on_color: OsdpLedColor::Green,
                off_color: OsdpLedColor::None,
                timer_count: 30,
            },
            permanent: OsdpLedParams {
                control_code: 1,
                on_count: 1,
                off_count: 0,
                on_color: OsdpLedColor::Unknown(7),
                off_color: OsdpLedColor::Red,
                timer_count: 0,
            },
        });
        let pattern = |control, on, off, on_color, off_color, timer| LedPattern {
            control,
            on: Duration::from_millis(on),
            off: Duration::from_millis(off),
            on_color,
            off_color,
            timer: Duration::from_millis(timer),
        };
        assert_eq!(
            handle(&led),
            Handling::Deliver(PanelCommand::Led {
                reader: 0,
                led: 0,
                temporary: pattern(2, 300, 200, LedColor::Green, LedColor::Off, 3000),
                permanent: pattern(1, 100, 0, LedColor::White, LedColor::Red, 0),
            })
        );

        let text = OsdpCommand::Text(OsdpCommandText {
            reader: 0,
            control_code: 3,
            temp_time: 5,
            offset_row: 1,
            offset_col: 2,
            data: b"WELCOME".to_vec(),
        });
        assert_eq!(
            handle(&text),
            Handling::Deliver(PanelCommand::Text {
                reader: 0,
                temporary: true,
                wrap: false,
                hold: Duration::from_secs(5),
                row: 1,
                column: 2,
                text: "WELCOME".into(),
            })
        );
        let hostile = OsdpCommand::Text(OsdpCommandText {
            reader: 0,
            control_code: 1,
            temp_time: 0,
            offset_row: 1,
            offset_col: 1,
            data: b"HI\x1b[2J\n".to_vec(),
        });
        let Handling::Deliver(PanelCommand::Text {
            text, temporary, ..
        }) = handle(&hostile)
        else {
            panic!("a text command is delivered");
        };
        assert_eq!(text, "HI\\u{1b}[2J\\n");
        assert!(!temporary);
        let buz = OsdpCommand::Buzzer(OsdpCommandBuzzer {
            reader: 0,
            control_code: 2,
            on_count: 1,
            off_count: 1,
            rep_count: 3,
        });
        assert_eq!(
            handle(&buz),
            Handling::Deliver(PanelCommand::Buzzer {
                reader: 0,
                tone: 2,
                on: Duration::from_millis(100),
                off: Duration::from_millis(100),
                repeat: 3,
            })
        );
        let keyset = OsdpCommand::KeySet(OsdpCommandKeyset::new_scbk([7; 16]));
        assert!(matches!(handle(&keyset), Handling::Refuse(_)));
    }

    #[test]
    fn a_missing_port_is_retried_and_cards_are_refused_meanwhile() {
        let mut opts = OsdpOptions::new("/nonexistent/ttyOSDP", 9600, 1, None);
        opts.retry = Duration::from_millis(20);
        let (reader, _commands) = Osdp::start(opts).unwrap();
        let card = Card::new(Format::W26, 1, 2).unwrap();
        assert!(matches!(
            reader.card_read(&card),
            Err(OsdpError::Offline { secure: false })
        ));
        assert_eq!(*reader.state().borrow(), LinkState::default());
        reader.stop();
    }

    #[test]
    fn a_file_that_is_no_serial_port_is_refused_as_such() {
        let dir = std::env::temp_dir().join(format!("livegate-osdp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("not-a-tty");
        std::fs::write(&file, b"").unwrap();
        assert_eq!(
            open_port(&file, 9600).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn key_files_closed_to_others_are_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("livegate-osdp-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("osdp-key");
        std::fs::write(&path, "944b8eddcbaa2b5fe2b0148d1b2f95c9\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let key = read_key(&path, false).unwrap();
        assert_eq!(key.expose()[0], 0x94);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_key(&path, false).unwrap_err();
        assert!(matches!(e, KeyFileError::OpenToOthers { mode: 0o644, .. }));
        assert!(
            read_key(&path, true).is_ok(),
            "a credential is taken as given"
        );
        std::fs::write(&path, "944b").unwrap();
        let e = read_key(&path, true).unwrap_err().to_string();
        assert!(!e.contains("944b"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A pseudo-terminal whose master end stands in for the panel's side of the wire.
    fn pty() -> (OwnedFd, PathBuf) {
        // SAFETY: plain libc calls; the name buffer outlives ptsname_r.
        unsafe {
            let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
            assert!(m >= 0, "posix_openpt: {}", io::Error::last_os_error());
            let master = OwnedFd::from_raw_fd(m);
            assert_eq!(libc::grantpt(m), 0);
            assert_eq!(libc::unlockpt(m), 0);
            let mut name = [0 as libc::c_char; 128];
            assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
            let path = std::ffi::CStr::from_ptr(name.as_ptr())
                .to_string_lossy()
                .into_owned();
            (master, PathBuf::from(path))
        }
    }

    #[test]
    fn the_port_is_set_raw_8n1_at_each_osdp_rate() {
        let (_master, port) = pty();
        for (baud, bits) in [
            (9600, libc::B9600),
            (115_200, libc::B115200),
            (230_400, libc::B230400),
        ] {
            let fd = open_port(&port, baud).unwrap();
            // SAFETY: a plain C struct filled by tcgetattr.
            let tio = unsafe {
                let mut tio: libc::termios = std::mem::zeroed();
                assert_eq!(libc::tcgetattr(fd.as_raw_fd(), &mut tio), 0);
                tio
            };
            assert_eq!(tio.c_cflag & libc::CBAUD, bits, "{baud}");
            assert_eq!(tio.c_cflag & libc::CIBAUD, 0, "input speed as output's");
            assert_eq!(tio.c_cflag & libc::CSIZE, libc::CS8);
            assert_eq!(tio.c_cflag & (libc::PARENB | libc::CSTOPB), 0);
            assert_eq!(tio.c_lflag & (libc::ICANON | libc::ECHO), 0);
        }
        assert!(open_port(&port, 1200).is_err());
    }

    fn wait_state(reader: &Osdp, want: impl Fn(LinkState) -> bool) {
        let start = std::time::Instant::now();
        while !want(*reader.state().borrow()) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "link stayed {:?}",
                *reader.state().borrow()
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn an_unplugged_port_is_a_logged_retry_and_the_reader_lives_on() {
        let (master, port) = pty();
        let mut opts = OsdpOptions::new(&port, 9600, 1, None);
        opts.retry = Duration::from_millis(20);
        assert!(probe_port(&opts).is_ok());
        let (reader, _commands) = Osdp::start(opts).unwrap();
        wait_state(&reader, |s| s.port_open);
        // The adapter goes away: the port hangs up, and its device is gone.
        drop(master);
        wait_state(&reader, |s| !s.port_open);
        let card = Card::new(Format::W26, 1, 2).unwrap();
        assert!(matches!(
            reader.card_read(&card),
            Err(OsdpError::Offline { .. })
        ));
        // The thread is still there, retrying, and stops when asked.
        assert!(reader.thread.as_ref().is_some_and(|t| !t.is_finished()));
        reader.stop();
    }
}

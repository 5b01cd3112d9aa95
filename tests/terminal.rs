//! The terminal panel fits the terminal a person has (issue 16).
//!
//! - Every rendering of one screen, for the 128x64 and the 128x32 panel, in Unicode
//!   and in ASCII, character for character against the text files in
//!   tests/golden/terminal/ (`LIVEGATE_BLESS=1 cargo test --test terminal` rewrites
//!   them).
//! - `livegate simulate --sessions 1` under a pseudo-terminal of 80x24, 132x43 and
//!   40x12 (and with a 128x32 panel): everything it writes is played on a small
//!   terminal model that fails on a line longer than the width, on a cursor movement
//!   above the panel's first row or off the screen, and on any escape sequence it
//!   does not know.
//! - `LANG=C` gives pure ASCII; `TERM=dumb` and a pipe get no escape sequences;
//!   `NO_COLOR` takes the colour away.
//! - `livegate test display` with a simulated panel draws its progress under the
//!   panel, within the terminal.
//! - The README's screenshot is what `simulate` shows in an 80x24 terminal.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use livegate::display::screens::render;
use livegate::display::term::{self, Charset, Rendering};
use livegate::display::Screen;

mod common;
use common::process::{wait_or_kill, BIN, MANIFEST_DIR};
/// The fast simulation settings of tests/cli.rs, relative to the crate.
const FAST: &str = "tests/fixtures/cli/fast.toml";
/// Generous: one fast session takes about 3 s.
const LIMIT: Duration = Duration::from_secs(120);
const UTF8: (&str, &str) = ("LANG", "C.UTF-8");

// ---------------------------------------------------------------------------
// Goldens

fn golden_dir() -> PathBuf {
    PathBuf::from(MANIFEST_DIR).join("tests/golden/terminal")
}

/// The screen in the goldens: words, an arrow and the countdown bar.
fn golden_screen() -> Screen {
    Screen::Action {
        action: "Turn_left".to_owned(),
        step: 1,
        total: 3,
        secs_left: 7,
        percent_left: 70,
        prompt: 1,
    }
}

#[test]
fn renderings_match_golden_text_files() {
    let bless = std::env::var_os("LIVEGATE_BLESS").is_some();
    let screen = golden_screen();
    let mut sizes = Vec::new();
    for (w, h) in [(128u32, 64u32), (128, 32)] {
        let fb = render(&screen, w, h);
        for rendering in Rendering::ALL {
            for charset in [Charset::Unicode, Charset::Ascii] {
                let lines = term::render(&screen, &fb, rendering, charset, 200);
                let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
                let suffix = if charset == Charset::Ascii {
                    "-ascii"
                } else {
                    ""
                };
                let name = format!("{w}x{h}-{}{suffix}.txt", rendering.name());
                let path = golden_dir().join(&name);
                if bless {
                    std::fs::create_dir_all(golden_dir()).unwrap();
                    std::fs::write(&path, &text).unwrap();
                }
                let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                    panic!("{}: {e} (bless with LIVEGATE_BLESS=1)", path.display())
                });
                assert_eq!(text, golden, "{name} differs from its golden");
                if charset == Charset::Ascii {
                    assert!(text.is_ascii(), "{name} is not ASCII");
                }
                let widths: Vec<usize> = lines.iter().map(|l| term::width(l)).collect();
                assert!(widths.iter().all(|&n| n == widths[0]), "{name}: ragged");
                sizes.push((name, widths[0], lines.len()));
            }
        }
    }
    // The sizes the issue names: 128 x 32 half blocks, 64 x 32 quadrants, 64 x 16
    // braille, each with its frame; the 128x32 panel half as tall.
    let size = |name: &str| {
        sizes
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, w, h)| (*w, *h))
            .unwrap()
    };
    assert_eq!(size("128x64-half-block.txt"), (130, 34));
    assert_eq!(size("128x64-quadrant.txt"), (66, 34));
    assert_eq!(size("128x64-braille.txt"), (66, 18));
    assert_eq!(size("128x32-half-block.txt"), (130, 18));
    assert_eq!(size("128x32-quadrant.txt"), (66, 18));
    assert_eq!(size("128x32-braille.txt"), (66, 10));
    assert_eq!(size("128x64-words.txt"), size("128x64-words-ascii.txt"));
}

#[test]
fn fit_picks_the_largest_rendering_with_room() {
    let screen = golden_screen();
    let big = render(&screen, 128, 64);
    let small = render(&screen, 128, 32);
    let pick = |fb, cols, rows| term::fit(&screen, fb, Charset::Unicode, cols, rows).map(|f| f.0);
    assert_eq!(pick(&big, 131, 39), Some(Rendering::HalfBlock));
    assert_eq!(pick(&big, 129, 39), Some(Rendering::Quadrant));
    assert_eq!(pick(&big, 79, 20), Some(Rendering::Braille));
    assert_eq!(pick(&big, 39, 8), Some(Rendering::Words));
    assert_eq!(pick(&big, 39, 2), None);
    assert_eq!(pick(&small, 131, 39), Some(Rendering::HalfBlock));
    assert_eq!(pick(&small, 79, 20), Some(Rendering::Quadrant));
    assert_eq!(pick(&small, 79, 12), Some(Rendering::Braille));
    assert_eq!(pick(&small, 39, 8), Some(Rendering::Words));
    // Words wrap to a narrow terminal.
    let (_, lines) = term::fit(&screen, &big, Charset::Unicode, 14, 20).unwrap();
    assert!(lines.iter().all(|l| term::width(l) <= 14), "{lines:#?}");
}

// ---------------------------------------------------------------------------
// Running the binary

/// What one run wrote.
struct Run {
    what: String,
    code: Option<i32>,
    out: String,
    err: String,
}

impl Run {
    fn context(&self) -> String {
        format!(
            "{}: exit {:?}\n--- output ---\n{}\n--- stderr ---\n{}",
            self.what,
            self.code,
            self.out.escape_debug(),
            self.err
        )
    }
}

/// `livegate simulate --sessions 1 --performer pass` with the fast settings, the
/// locale, terminal and colour variables cleared and `env` set; stdin closed.
/// `extra` may start with `--` to replace those arguments.
fn command(extra: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    match extra.split_first() {
        Some((&"--", args)) => cmd.args(args),
        _ => cmd
            .args([
                "simulate",
                "--config",
                FAST,
                "--sessions",
                "1",
                "--performer",
                "pass",
            ])
            .args(extra),
    }
    .current_dir(MANIFEST_DIR)
    .stdin(Stdio::null());
    for k in [
        "LC_ALL",
        "LC_CTYPE",
        "LANG",
        "TERM",
        "NO_COLOR",
        "COLUMNS",
        "LINES",
        "RUST_LOG",
        "JOURNAL_STREAM",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Waits for `child` (killing it after [`LIMIT`]) and the readers.
fn finish(
    what: String,
    mut child: std::process::Child,
    out: std::thread::JoinHandle<Vec<u8>>,
    err: std::thread::JoinHandle<Vec<u8>>,
) -> Run {
    let status = wait_or_kill(&mut child, LIMIT);
    let run = Run {
        what,
        code: status.and_then(|s| s.code()),
        out: String::from_utf8(out.join().unwrap()).expect("output is UTF-8"),
        err: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    };
    assert!(
        status.is_some(),
        "killed after {LIMIT:?}\n{}",
        run.context()
    );
    assert_eq!(run.code, Some(0), "{}", run.context());
    run
}

fn read_all(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        // A pty's master reads EIO once every slave is closed: that is its EOF.
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf
    })
}

/// The run under a pseudo-terminal of `cols` x `rows` (stdout on it, stderr a pipe).
fn in_pty(cols: u16, rows: u16, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let (mut master, mut slave) = (-1, -1);
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors into the ints passed; the name buffer
    // is null (not wanted) and the termios null (defaults).
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // Not inherited by the children of tests running beside this one (which would
    // keep the slave open and delay this master's end of file).
    for fd in [master, slave] {
        // SAFETY: F_SETFD on a descriptor just opened here.
        assert_eq!(
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) },
            0
        );
    }
    // SAFETY: both descriptors were just opened by openpty and are owned here only.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = command(extra, env);
    cmd.stdout(Stdio::from(slave)).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start livegate");
    // The parent's copy of the slave goes with the command, so the master reads EOF
    // when the child is gone.
    drop(cmd);
    let out = read_all(std::fs::File::from(master));
    let err = read_all(child.stderr.take().unwrap());
    finish(
        format!("simulate {extra:?} {env:?} in a {cols}x{rows} pty"),
        child,
        out,
        err,
    )
}

/// The run with stdout a pipe.
fn in_pipe(extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = command(extra, env);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start livegate");
    let out = read_all(child.stdout.take().unwrap());
    let err = read_all(child.stderr.take().unwrap());
    finish(
        format!("simulate {extra:?} {env:?} in a pipe"),
        child,
        out,
        err,
    )
}

// ---------------------------------------------------------------------------
// A small terminal

/// Plays output on a `cols` x `rows` screen that scrolls at the bottom. Fails on a
/// character past the last column (a line longer than the width), on a cursor-up
/// that would leave the screen or land anywhere but the panel's first row, and on
/// escape sequences other than cursor-up, erase-line, erase-below and colour.
struct Screenful {
    cols: usize,
    rows: usize,
    grid: Vec<Vec<char>>,
    row: usize,
    col: usize,
    /// Lines scrolled off the top so far.
    scrolled: usize,
    /// The absolute line of the panel's first row (where the first drawing began).
    first: Option<usize>,
    /// Cursor-ups seen.
    ups: usize,
    /// Colour sequences seen.
    colours: usize,
}

impl Screenful {
    fn new(cols: usize, rows: usize) -> Screenful {
        Screenful {
            cols,
            rows,
            grid: vec![vec![' '; cols]; rows],
            row: 0,
            col: 0,
            scrolled: 0,
            first: None,
            ups: 0,
            colours: 0,
        }
    }

    fn play(&mut self, out: &str) {
        let mut chars = out.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\r' => self.col = 0,
                '\n' => {
                    if self.row + 1 == self.rows {
                        self.grid.remove(0);
                        self.grid.push(vec![' '; self.cols]);
                        self.scrolled += 1;
                    } else {
                        self.row += 1;
                    }
                }
                '\x1b' => {
                    assert_eq!(chars.next(), Some('['), "a non-CSI escape");
                    let mut params = String::new();
                    let fin = loop {
                        match chars.next() {
                            Some(p) if p.is_ascii_digit() || p == ';' => params.push(p),
                            Some(f) => break f,
                            None => panic!("an escape sequence cut short"),
                        }
                    };
                    self.csi(&params, fin);
                }
                c if c.is_control() => panic!("a raw control character {c:?}"),
                c => {
                    assert!(
                        self.col < self.cols,
                        "a line longer than {} columns at screen row {}: {:?}",
                        self.cols,
                        self.row,
                        self.line(self.row)
                    );
                    if self.first.is_none() {
                        self.first = Some(self.scrolled + self.row);
                    }
                    self.grid[self.row][self.col] = c;
                    self.col += 1;
                }
            }
        }
    }

    fn csi(&mut self, params: &str, fin: char) {
        match (params, fin) {
            (n, 'A') => {
                let n: usize = n.parse().unwrap_or(1);
                assert!(
                    n <= self.row,
                    "cursor up {n} from screen row {}: off the top of a {}-row screen",
                    self.row,
                    self.rows
                );
                self.row -= n;
                self.ups += 1;
                assert_eq!(
                    Some(self.scrolled + self.row),
                    self.first,
                    "the cursor went up to another line than the panel's first row"
                );
            }
            ("2", 'K') => self.grid[self.row].fill(' '),
            ("" | "0", 'J') => {
                self.grid[self.row][self.col..].fill(' ');
                for r in self.row + 1..self.rows {
                    self.grid[r].fill(' ');
                }
            }
            (_, 'm') => self.colours += 1,
            (p, f) => panic!("an unexpected escape sequence ESC[{p}{f}"),
        }
    }

    fn line(&self, r: usize) -> String {
        self.grid[r]
            .iter()
            .collect::<String>()
            .trim_end()
            .to_owned()
    }

    /// The screen now, one string per row, trailing spaces and empty rows at the
    /// bottom cut.
    fn text(&self) -> Vec<String> {
        let mut lines: Vec<String> = (0..self.rows).map(|r| self.line(r)).collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines
    }
}

/// Plays a pty run on a screen of its size and checks what every live simulate run
/// must hold; returns the screen at the end.
fn played(run: &Run, cols: usize, rows: usize) -> Screenful {
    played_ending(run, cols, rows, "1 session run: 1 passed, 0 denied")
}

fn played_ending(run: &Run, cols: usize, rows: usize, last: &str) -> Screenful {
    let mut s = Screenful::new(cols, rows);
    let played = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.play(&run.out)));
    assert!(played.is_ok(), "{}", run.context());
    assert!(s.ups > 3, "not redrawn in place\n{}", run.context());
    assert_eq!(s.first, Some(0), "{}", run.context());
    let text = s.text();
    assert_eq!(
        text.last().map(String::as_str),
        Some(last),
        "{}\n{}",
        text.join("\n"),
        run.context()
    );
    assert!(!run.err.contains("panicked"), "{}", run.context());
    s
}

/// The frame's top line on the screen: the panel's width in columns.
fn panel_width(s: &Screenful) -> usize {
    let top = s.line(0);
    assert!(top.starts_with('┌') && top.ends_with('┐'), "{top:?}");
    term::width(&top)
}

fn panel_height(s: &Screenful) -> usize {
    (0..s.rows)
        .position(|r| s.line(r).starts_with('└'))
        .map(|r| r + 1)
        .unwrap_or_else(|| panic!("no panel bottom:\n{}", s.text().join("\n")))
}

#[test]
fn pty_80x24_draws_braille_with_five_event_lines() {
    let run = in_pty(80, 24, &[], &[UTF8]);
    let s = played(&run, 80, 24);
    assert_eq!(panel_width(&s), 66, "{}", s.text().join("\n"));
    assert_eq!(panel_height(&s), 18);
    assert!(s.text().len() <= 23, "{}", s.text().join("\n"));
    assert!(
        s.grid[1..17]
            .iter()
            .flatten()
            .any(|c| ('\u{2801}'..='\u{28ff}').contains(c)),
        "no braille:\n{}",
        s.text().join("\n")
    );
    // Colour is allowed here: the verdict line is green.
    assert!(
        run.out.contains("\x1b[32msession 1: PASS after "),
        "{}",
        run.context()
    );
}

#[test]
fn pty_132x43_draws_half_blocks_without_colour_under_no_color() {
    let run = in_pty(132, 43, &[], &[UTF8, ("NO_COLOR", "1")]);
    let s = played(&run, 132, 43);
    assert_eq!(panel_width(&s), 130, "{}", s.text().join("\n"));
    assert_eq!(panel_height(&s), 34);
    assert_eq!(s.colours, 0, "colour despite NO_COLOR\n{}", run.context());
    assert!(!run.out.contains("\x1b[3"), "{}", run.context());
}

#[test]
fn pty_40x12_shows_the_words() {
    let run = in_pty(40, 12, &[], &[UTF8]);
    let s = played(&run, 40, 12);
    let text = s.text();
    assert!(panel_width(&s) <= 39, "{}", text.join("\n"));
    // Back to idle at the end: the idle screen's words in their frame.
    assert_eq!(
        text[..5],
        [
            "┌────────────────────┐",
            "│      Step up       │",
            "│      to enter      │",
            "│ Look at the camera │",
            "└────────────────────┘",
        ],
        "{}",
        text.join("\n")
    );
    assert!(
        run.out.contains("Turn left") || run.out.contains("│"),
        "{}",
        run.context()
    );
}

#[test]
fn pty_128x32_panel_at_80x24_and_132x43() {
    let run = in_pty(80, 24, &["--panel", "128x32"], &[UTF8]);
    let s = played(&run, 80, 24);
    assert_eq!(
        (panel_width(&s), panel_height(&s)),
        (66, 18),
        "{}",
        s.text().join("\n")
    );
    assert!(
        s.grid[1..17]
            .iter()
            .flatten()
            .any(|c| "▘▝▖▗▚▞▛▜▙▟".contains(*c)),
        "no quadrant blocks:\n{}",
        s.text().join("\n")
    );
    let run = in_pty(132, 43, &["--panel", "128x32"], &[UTF8]);
    let s = played(&run, 132, 43);
    assert_eq!((panel_width(&s), panel_height(&s)), (130, 18));
    let run = in_pty(40, 12, &["--panel", "128x32"], &[UTF8]);
    let s = played(&run, 40, 12);
    assert!(panel_width(&s) <= 39);
}

#[test]
fn pty_too_short_for_a_panel_leaves_a_one_line_note() {
    let run = in_pty(60, 5, &[], &[UTF8]);
    let s = played(&run, 60, 5);
    let text = s.text();
    assert_eq!(
        text[0],
        "panel: Step up / to enter / Look at the camera",
        "{}",
        text.join("\n")
    );
    assert!(!run.out.contains('┌'), "{}", run.context());
}

#[test]
fn lang_c_gives_pure_ascii_in_a_pty_and_in_a_pipe() {
    let run = in_pty(80, 24, &[], &[("LANG", "C")]);
    assert!(run.out.is_ascii(), "{}", run.context());
    let s = played(&run, 80, 24);
    let top = s.line(0);
    assert!(
        top.starts_with('+') && top.ends_with('+'),
        "{}",
        s.text().join("\n")
    );
    assert!(s.grid.iter().flatten().any(|&c| c == '#'));

    let run = in_pipe(&[], &[("LANG", "C")]);
    assert!(run.out.is_ascii(), "{}", run.context());
    assert!(
        run.out.lines().any(|l| l.starts_with("+---")),
        "{}",
        run.context()
    );
    // LC_ALL wins over LANG.
    let run = in_pipe(&[], &[("LANG", "C.UTF-8"), ("LC_ALL", "POSIX")]);
    assert!(run.out.is_ascii(), "{}", run.context());
}

#[test]
fn term_dumb_and_a_pipe_print_each_screen_once_without_escapes() {
    let run = in_pty(80, 24, &[], &[UTF8, ("TERM", "dumb")]);
    assert!(!run.out.contains('\x1b'), "{}", run.context());
    assert!(
        run.out
            .lines()
            .all(|l| term::width(l.trim_end_matches('\r')) < 80),
        "{}",
        run.context()
    );
    assert!(run.out.contains("┌"), "{}", run.context());
    assert!(
        run.out
            .lines()
            .any(|l| l == "1 session run: 1 passed, 0 denied"),
        "{}",
        run.context()
    );

    let run = in_pipe(&[], &[UTF8]);
    assert!(!run.out.contains('\x1b'), "{}", run.context());
    // No size known: today's full picture.
    assert!(
        run.out
            .lines()
            .any(|l| l.starts_with('┌') && term::width(l) == 130),
        "{}",
        run.context()
    );
    // With COLUMNS, the pipe's pictures fit it.
    let run = in_pipe(&[], &[UTF8, ("COLUMNS", "80")]);
    assert!(
        run.out.lines().all(|l| term::width(l) < 80),
        "{}",
        run.context()
    );
}

#[test]
fn test_display_with_a_sim_panel_keeps_its_progress_under_the_panel() {
    let args = ["--", "test", "display", "--config", FAST, "--pause-ms", "0"];
    let run = in_pty(80, 24, &args, &[UTF8]);
    let s = played_ending(&run, 80, 24, "Display OK: showed 23 screens");
    assert_eq!((panel_width(&s), panel_height(&s)), (66, 18));
    assert_eq!(s.line(22), "Display OK: showed 23 screens");
    assert_eq!(s.line(21), "  23/23 Configuration error");
}

// ---------------------------------------------------------------------------
// README

#[test]
fn readme_screenshot_is_what_simulate_shows_in_80x24() {
    const MARK: &str = "<!-- simulate 80x24 -->\n```text\n";
    let path = PathBuf::from(MANIFEST_DIR).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find(MARK)
        .expect("README has the 80x24 screenshot block")
        + MARK.len();
    let len = readme[start..].find("```").unwrap();

    let run = in_pty(80, 24, &[], &[UTF8]);
    let screen = played(&run, 80, 24).text();
    if std::env::var_os("LIVEGATE_BLESS").is_some() {
        let block: String = screen.iter().map(|l| format!("{l}\n")).collect();
        let new = format!("{}{block}{}", &readme[..start], &readme[start + len..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    let shot: Vec<&str> = readme[start..start + len].lines().collect();
    assert!(shot.len() <= 24, "{} lines", shot.len());
    assert!(shot.iter().all(|l| term::width(l) < 80));
    // The panel (back to idle at the end) character for character; the event lines
    // hold timings and random actions, so only their number and the last line count.
    assert_eq!(shot[..18], screen[..18], "\n{}", screen.join("\n"));
    assert_eq!(shot.len(), screen.len(), "\n{}", screen.join("\n"));
    assert_eq!(shot.last().copied(), screen.last().map(String::as_str));
}

//! The manual page and the shell completions, generated from the CLI definition
//! (part of the `livegate` binary, not the library). `livegate generate-assets DIR`
//! writes them; scripts/package.sh runs it with the host's build of the same source
//! (the CLI does not depend on the architecture) and packs them into every .deb.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Command;
use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

/// The files written, by name: the man page, then bash, zsh and fish completions.
pub const MAN_PAGE: &str = "livegate.1";
const COMPLETIONS: [(Shell, &str); 3] = [
    (Shell::Bash, "livegate.bash"),
    (Shell::Zsh, "_livegate"),
    (Shell::Fish, "livegate.fish"),
];

/// The man page's DESCRIPTION (`--help` keeps the one-line about).
const DESCRIPTION: &str = "livegate turns a Raspberry Pi with a USB camera, an SSD1306 OLED \
panel and a relay board into an access gate: a person does a few random actions (turn \
left, smile, show a palm) in front of the camera, the AIGEN Face Liveness API checks \
them over HTTPS, and the gate relay pulses only for a live person.

The packaged service (livegate.service) runs livegate run as the user livegate. The \
other commands check a configuration, commission the hardware one part at a time, \
simulate the whole gate on any machine, and talk to the running service.";

/// Writes the man page and the completions into `dir` (created if missing) and
/// returns their paths.
pub fn generate(mut cmd: Command, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    // Resolves bin names ("livegate test camera") and global arguments.
    cmd.build();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let mut page = Vec::new();
    man_page(&cmd, &mut page).context("cannot render the man page")?;
    written.push(write(dir, MAN_PAGE, once_preamble(&page).as_bytes())?);
    for (shell, name) in COMPLETIONS {
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), "livegate", &mut script);
        written.push(write(dir, name, &script)?);
    }
    Ok(written)
}

/// roff writes its two-line preamble (the apostrophe string) at the top of each
/// piece rendered on its own: the page keeps the first.
fn once_preamble(page: &[u8]) -> String {
    let mut seen = std::collections::HashSet::new();
    let mut out = String::new();
    for line in String::from_utf8_lossy(page).lines() {
        let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
        if preamble && !seen.insert(line.to_owned()) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

fn visible_subcommands(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
}

/// One page for the whole command: clap_mangen's sections for `livegate` itself,
/// then a COMMANDS section with each subcommand's synopsis, description and options
/// (no livegate-run(1) pages are shipped for clap_mangen's own list to point to).
fn man_page(cmd: &Command, w: &mut dyn Write) -> io::Result<()> {
    let version = cmd.get_version().unwrap_or_default();
    let man = Man::new(cmd.clone().long_about(DESCRIPTION))
        .title("LIVEGATE")
        .section("1")
        .date(page_date())
        .source(format!("livegate {version}"))
        .manual("User Commands");
    man.render_title(w)?;
    man.render_name_section(w)?;
    man.render_synopsis_section(w)?;
    man.render_description_section(w)?;
    man.render_options_section(w)?;

    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    roff.to_writer(w)?;
    for sub in visible_subcommands(cmd) {
        subcommand(sub, w)?;
    }

    let mut roff = Roff::new();
    roff.control("SH", ["FILES"]);
    for (path, what) in [
        (
            "/etc/livegate/livegate.toml",
            "The configuration: every command's --config (-c) default. \
             Check it with livegate check-config.",
        ),
        (
            "/etc/livegate/aigen-key",
            "The AIGEN API key (root:root 0600), which the technician provides. \
             systemd hands it to the service as the credential aigen-key.",
        ),
        (
            "/usr/lib/systemd/system/livegate.service",
            "The service: livegate run as the user livegate.",
        ),
        (
            "/usr/share/doc/livegate/README.md",
            "Wiring, commissioning and operation, step by step.",
        ),
        (
            "/usr/share/doc/livegate/examples/livegate-pi.toml",
            "A configuration for a Raspberry Pi with the documented wiring.",
        ),
    ] {
        roff.control("TP", []);
        roff.text([italic(path)]);
        roff.text([roman(what)]);
    }
    roff.control("SH", ["EXIT STATUS"]);
    roff.text([roman(
        "0 when the command did what it was asked; 1 with a message on standard error \
         otherwise (a configuration with problems, a device that cannot be opened, a \
         session the service refused); 2 for a command line that cannot be parsed.",
    )]);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("systemctl"),
        roman("(1), "),
        bold("journalctl"),
        roman("(1), "),
        bold("systemd.exec"),
        roman("(5), and /usr/share/doc/livegate/README.md."),
    ]);
    roff.to_writer(w)?;
    man.render_version_section(w)
}

/// The page's date, YYYY-MM-DD: from SOURCE_DATE_EPOCH when set (scripts/package.sh
/// takes it from debian/changelog, so the page is the same on every build), else today.
fn page_date() -> String {
    let when = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|secs| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .unwrap_or_else(std::time::SystemTime::now);
    humantime::format_rfc3339_seconds(when)
        .to_string()
        .chars()
        .take(10)
        .collect()
}

/// `.SS livegate NAME`, its synopsis, description and options, then its own
/// subcommands (`livegate test camera`, …) the same way.
fn subcommand(sub: &Command, w: &mut dyn Write) -> io::Result<()> {
    let name = sub.get_bin_name().unwrap_or_else(|| sub.get_name());
    let mut roff = Roff::new();
    roff.control("SS", [name]);
    roff.to_writer(w)?;
    let man = Man::new(sub.clone());
    let mut body = Vec::new();
    man.render_synopsis_section(&mut body)?;
    man.render_description_section(&mut body)?;
    if sub.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut body)?;
    }
    // The sections' own headings would end the COMMANDS section: paragraphs instead.
    for line in String::from_utf8_lossy(&body).lines() {
        if line.starts_with(".SH") {
            writeln!(w, ".PP")?;
        } else {
            writeln!(w, "{line}")?;
        }
    }
    for inner in visible_subcommands(sub) {
        subcommand(inner, w)?;
    }
    Ok(())
}

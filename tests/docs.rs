//! The pictures of the OLED screens in docs/screens/ are the screens the code draws:
//! this test fails when a drawing changes and the pictures were not renewed
//! (`LIVEGATE_BLESS=1 cargo test --test docs` renews them). And the README's "Running
//! the gate" (key changes, upgrades, uninstalling, the clock, the journal, the gate
//! without the service) says what the unit, the package and the code do.

use std::path::PathBuf;

use livegate::commission::display::every_screen;
use livegate::display::screens::render;
use livegate::display::sim::Framebuffer;

/// 4x: one OLED pixel is a 4x4 square, readable in a browser.
const SCALE: u32 = 4;

fn file_name(label: &str) -> String {
    let mut name: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    format!("{}.png", name.trim_matches('-'))
}

#[test]
fn docs_screens_match_the_drawing_code() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screens");
    let bless = std::env::var_os("LIVEGATE_BLESS").is_some();
    let mut index = String::from(
        "# The OLED screens\n\nRendered by the simulated 128x64 panel with the same drawing code as the OLED \
         (`src/display/screens.rs`), at 4x. `tests/docs.rs` keeps them current.\n\n",
    );
    for (label, screen) in every_screen() {
        let fb = render(&screen, 128, 64);
        let name = file_name(&label);
        let path = dir.join(&name);
        index.push_str(&format!("## {label}\n![{label}]({name})\n\n"));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, fb.to_png(SCALE).unwrap()).unwrap();
            continue;
        }
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (LIVEGATE_BLESS=1 renews)", path.display()));
        let committed = Framebuffer::from_png(&bytes).unwrap();
        // The committed picture is 4x: compare its top-left pixel of each square.
        assert_eq!(committed.width(), 128 * SCALE, "{name}");
        for y in 0..64 {
            for x in 0..128 {
                assert_eq!(
                    committed.get(x * SCALE, y * SCALE),
                    fb.get(x, y),
                    "{name}: pixel ({x}, {y}) differs: LIVEGATE_BLESS=1 renews"
                );
            }
        }
    }
    let index_path = dir.join("README.md");
    if bless {
        std::fs::write(&index_path, &index).unwrap();
    } else {
        assert_eq!(std::fs::read_to_string(&index_path).unwrap(), index);
    }
}

/// The README's "Running the gate", with its whitespace collapsed: the text from the
/// heading `### {heading}` to the next heading.
fn running_the_gate(readme: &str, heading: &str) -> String {
    let start = readme
        .find(&format!("\n### {heading}\n"))
        .unwrap_or_else(|| panic!("README has no section {heading:?}"));
    let rest = &readme[start + 1..];
    let end = rest[1..].find("\n#").map_or(rest.len(), |n| n + 1);
    rest[..end].split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What "Running the gate" tells a technician rests on what the unit, the package and
/// the code do: if one of those changes, this fails and the README is to be revisited.
#[test]
fn readme_running_the_gate_matches_the_unit_the_package_and_the_code() {
    use livegate::api::ApiError;
    use livegate::session::DenyReason;

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    let readme = read("README.md");
    let unit = read("systemd/livegate.service");
    let cargo = read("Cargo.toml");
    let postrm = read("debian/postrm");

    // The key is a credential, copied when the service starts: a restart reads a new
    // one, a reload (SIGHUP) does not.
    assert!(unit.contains("\nLoadCredential=aigen-key:/etc/livegate/aigen-key\n"));
    assert!(unit.contains("\nExecReload=/bin/kill -HUP $MAINPID\n"));
    let key = running_the_gate(&readme, "Changing the API key");
    assert!(key.contains("cat > /etc/livegate/aigen-key"), "{key}");
    assert!(key.contains("sudo systemctl restart livegate"), "{key}");
    assert!(key.contains("does not pick up a new key"), "{key}");

    // The one conffile is the configuration (cargo-deb makes files under etc/ conffiles;
    // tests/packaging.rs checks the built package), so dpkg asks about it on upgrade.
    assert!(cargo.contains(r#"["config/livegate.toml", "etc/livegate/livegate.toml", "644"]"#));
    let upgrade = running_the_gate(&readme, "Upgrading");
    for said in [
        "Configuration file '/etc/livegate/livegate.toml'",
        "[default=N] ?",
        "Answer **N**",
        "livegate.toml.dpkg-dist",
        "livegate.toml.dpkg-old",
        "sudo livegate check-config",
    ] {
        assert!(upgrade.contains(said), "Upgrading says {said:?}");
    }

    // Purge removes the user and its group, and no file: the key stays.
    let commands: String = postrm
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(commands.contains("deluser --system"));
    assert!(commands.contains("delgroup --system --quiet --only-if-empty"));
    assert!(
        !commands
            .split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|')
            .any(|word| word == "rm" || word == "rmdir"),
        "debian/postrm removes no file"
    );
    let uninstall = running_the_gate(&readme, "Uninstalling");
    assert!(uninstall.contains("the API key, `/etc/livegate/aigen-key`"));
    assert!(uninstall.contains("sudo rm -r /etc/livegate"));

    // A wrong clock breaks TLS: the advice `test api` gives names the clock.
    let advice = livegate::commission::api::advice(&ApiError::Tls("expired".into()));
    assert!(
        advice.starts_with("The secure connection failed"),
        "{advice}"
    );
    assert!(advice.contains("Check the clock"), "{advice}");
    let clock = running_the_gate(&readme, "The clock");
    assert!(clock.contains("\"The secure connection failed … Check the clock\""));
    assert!(clock.contains("timedatectl"));

    let journal = running_the_gate(&readme, "Keeping the journal (the audit trail)");
    assert!(journal.contains("Storage=persistent"));

    // Without the service: the words on the panel, and no lockout for it.
    let down = running_the_gate(&readme, "When the network or the service is down");
    let words = DenyReason::ServiceUnavailable.words();
    assert!(down.contains(&format!("\"Denied: {words}\"")), "{down}");
    assert!(!DenyReason::ServiceUnavailable.is_person_failure());
    assert!(down.contains("does not count toward the lockout"));
    for r in [DenyReason::KeyRejected, DenyReason::OutOfCredit] {
        assert!(down.contains(&format!("\"{}\"", r.words())), "{down}");
        assert!(!r.is_person_failure());
    }

    let privacy = running_the_gate(&readme, "The privacy notice");
    assert!(privacy.contains("nothing is stored on it"));
}

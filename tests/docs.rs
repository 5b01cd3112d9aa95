//! The pictures of the OLED screens in docs/screens/ are the screens the code draws:
//! this test fails when a drawing changes and the pictures were not renewed
//! (`LIVEGATE_BLESS=1 cargo test --test docs` renews them).

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

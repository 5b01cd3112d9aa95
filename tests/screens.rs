//! Golden tests: every screen drawn on the 128x64 panel, pixel for pixel against the
//! PNGs in tests/golden/. `LIVEGATE_BLESS=1 cargo test --test screens` rewrites them
//! (and writes 4x copies to a temp dir for a person to look at).

use std::path::PathBuf;

use livegate::display::screens::render;
use livegate::display::sim::{Framebuffer, SimDisplay};
use livegate::display::Display;

mod common;
use common::screens::{action, cases};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn out_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("livegate-screens");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// All `frames` on one sheet, `cols` wide, each framed by a lit border, for a person
/// to look at after blessing.
fn contact_sheet(frames: &[Framebuffer], cols: u32) -> Framebuffer {
    let (w, h) = (frames[0].width() + 4, frames[0].height() + 4);
    let rows = (frames.len() as u32).div_ceil(cols);
    let mut sheet = Framebuffer::new(cols * w, rows * h);
    for (i, fb) in frames.iter().enumerate() {
        let (ox, oy) = ((i as u32 % cols) * w, (i as u32 / cols) * h);
        for x in 0..w - 2 {
            sheet.set(ox + x, oy, true);
            sheet.set(ox + x, oy + h - 3, true);
        }
        for y in 0..h - 2 {
            sheet.set(ox, oy + y, true);
            sheet.set(ox + w - 3, oy + y, true);
        }
        for y in 0..fb.height() {
            for x in 0..fb.width() {
                sheet.set(ox + 1 + x, oy + 1 + y, fb.get(x, y));
            }
        }
    }
    sheet
}

#[test]
fn screens_match_golden_pngs() {
    let bless = std::env::var("LIVEGATE_BLESS").is_ok_and(|v| v == "1");
    let mut failures = Vec::new();
    if bless {
        for (width, height) in [(128, 64), (128, 32)] {
            let frames: Vec<_> = cases()
                .iter()
                .map(|(_, s)| render(s, width, height))
                .collect();
            let sheet = contact_sheet(&frames, 2);
            let path = out_dir().join(format!("sheet-{width}x{height}.png"));
            std::fs::write(&path, sheet.to_png(3).unwrap()).unwrap();
            let mut names = livegate::actions::ALL.to_vec();
            names.push("Abcdefghij_klmnopqrstuvwxyz_0123456789ab");
            let frames: Vec<_> = names
                .iter()
                .map(|a| render(&action(a, 1, 3, 7, 70), width, height))
                .collect();
            let sheet = contact_sheet(&frames, 4);
            let path = out_dir().join(format!("sheet-actions-{width}x{height}.png"));
            std::fs::write(&path, sheet.to_png(2).unwrap()).unwrap();
        }
    }
    for (name, screen) in cases() {
        let actual = render(&screen, 128, 64);
        assert!(actual.count_lit() > 0, "{name}: nothing drawn");
        let golden_path = golden_dir().join(format!("{name}.png"));
        if bless {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&golden_path, actual.to_png(1).unwrap()).unwrap();
            let big = out_dir().join(format!("{name}-4x.png"));
            std::fs::write(&big, actual.to_png(4).unwrap()).unwrap();
            continue;
        }
        let bytes = std::fs::read(&golden_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run with LIVEGATE_BLESS=1 to create it",
                golden_path.display()
            )
        });
        let golden = Framebuffer::from_png(&bytes).unwrap();
        let diff = actual.diff(&golden);
        if !diff.is_empty() {
            let path = out_dir().join(format!("{name}-actual.png"));
            std::fs::write(&path, actual.to_png(1).unwrap()).unwrap();
            std::fs::write(
                out_dir().join(format!("{name}-actual-4x.png")),
                actual.to_png(4).unwrap(),
            )
            .unwrap();
            failures.push(format!(
                "{name}: {} pixels differ (first at {:?}); actual written to {}",
                diff.len(),
                diff[0],
                path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn sim_display_shows_the_same_pixels_as_render() {
    let mut display = SimDisplay::new(128, 64);
    let handle = display.handle();
    for (_, screen) in cases() {
        display.show(&screen).unwrap();
    }
    let frames = handle.frames();
    assert_eq!(frames.len(), cases().len());
    for ((name, screen), (shown, fb)) in cases().into_iter().zip(frames) {
        assert_eq!(shown, screen, "{name}");
        assert_eq!(fb, render(&screen, 128, 64), "{name}");
    }
}

#[test]
fn golden_pngs_are_panel_sized_and_distinct() {
    if std::env::var("LIVEGATE_BLESS").is_ok_and(|v| v == "1") {
        return;
    }
    let mut seen: Vec<(&str, Framebuffer)> = Vec::new();
    for (name, _) in cases() {
        let bytes = std::fs::read(golden_dir().join(format!("{name}.png"))).unwrap();
        let fb = Framebuffer::from_png(&bytes).unwrap();
        assert_eq!((fb.width(), fb.height()), (128, 64), "{name}");
        for (other, ofb) in &seen {
            assert_ne!(&fb, ofb, "{name} looks the same as {other}");
        }
        seen.push((name, fb));
    }
}

//! The real face detector on real photographs and on the synthetic scene.
//!
//! The photographs come from the scikit-image wheel on PyPI, fetched by
//! `scripts/test-pictures.sh` into target/test-pictures (not committed); the
//! directory is `LIVEGATE_TEST_PICTURES` when set. Without them the photograph test
//! says so and passes, unless `LIVEGATE_REQUIRE_TEST_PICTURES=1`.

use std::path::PathBuf;

use livegate::presence::detect::{FaceDetector, SeetaDetector};
use livegate::presence::view::{from_grey, VIEW_WIDTH};
use livegate::presence::FaceBox;

fn pictures_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("LIVEGATE_TEST_PICTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-pictures"));
    if dir.join("astronaut.png").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("LIVEGATE_REQUIRE_TEST_PICTURES").is_none(),
        "no test pictures in {}: run scripts/test-pictures.sh",
        dir.display()
    );
    eprintln!(
        "SKIPPED: no test pictures in {} (scripts/test-pictures.sh fetches them)",
        dir.display()
    );
    None
}

fn faces_in(d: &mut SeetaDetector, path: &std::path::Path) -> (u32, u32, Vec<FaceBox>) {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_luma8();
    let (w, h) = img.dimensions();
    let view = from_grey(img.as_raw(), w, h, VIEW_WIDTH).expect("a view");
    let faces = d.detect(&view);
    (view.width, view.height, faces)
}

#[test]
fn faces_are_found_in_the_photographs_with_faces_and_none_in_the_others() {
    let Some(dir) = pictures_dir() else {
        return;
    };
    let mut d = SeetaDetector::new().expect("model");
    // With a face: where it is in the 320-pixel-wide view (x, y of its centre),
    // measured by eye on the pictures (astronaut: Eileen Collins' face; camera:
    // the cameraman's, turned three quarters).
    for (name, centre, width) in [
        ("astronaut.png", (141, 72), (50, 80)),
        ("camera.png", (146, 94), (40, 70)),
    ] {
        let (vw, vh, faces) = faces_in(&mut d, &dir.join(name));
        assert_eq!((vw, vh), (320, 320), "{name}");
        assert_eq!(faces.len(), 1, "{name}: {faces:?}");
        let f = faces[0];
        let (cx, cy) = (f.x + f.width as i32 / 2, f.y + f.height as i32 / 2);
        assert!(
            (cx - centre.0).abs() <= 12 && (cy - centre.1).abs() <= 12,
            "{name}: face centred at ({cx}, {cy}), not near {centre:?}: {f:?}"
        );
        assert!(
            (width.0..=width.1).contains(&f.width),
            "{name}: face {} wide: {f:?}",
            f.width
        );
        assert!(f.score >= 2.0, "{name}: {f:?}");
    }
    for name in [
        "coffee.png",
        "rocket.jpg",
        "brick.png",
        "chelsea.png",
        "grass.png",
        "gravel.png",
        "horse.png",
        "text.png",
        "coins.png",
        "retina.jpg",
        "clock_motion.png",
        "cell.png",
        "ihc.png",
    ] {
        let (_, _, faces) = faces_in(&mut d, &dir.join(name));
        assert!(faces.is_empty(), "{name}: {faces:?}");
    }
}

/// The real detector does not see the simulated camera's cartoon person (no face
/// in any pose, nor in the held-up photo): `simulate` uses the twin
/// (`presence::twin::SceneTwin`), which reads what the scene drew.
#[cfg(feature = "sim")]
#[test]
fn the_real_detector_sees_no_face_in_the_synthetic_scene() {
    use livegate::camera::scene::{render, Subject};
    use livegate::presence::view::from_jpeg;
    let mut d = SeetaDetector::new().expect("model");
    let subjects = [Subject::Nobody, Subject::Neutral, Subject::Still]
        .into_iter()
        .chain((0..livegate::actions::ALL.len()).map(Subject::Doing));
    for subject in subjects {
        let jpeg = render(640, 480, subject, 85).expect("render");
        let view = from_jpeg(&jpeg, VIEW_WIDTH).expect("decode");
        assert_eq!(d.detect(&view), vec![], "{subject:?}");
    }
}

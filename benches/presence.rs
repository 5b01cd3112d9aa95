//! The presence check's per-look cost: the grey view from a 640x480 YUYV frame and
//! from a 640x480 JPEG, the motion pre-filter on the 1/8 view, and one detection on
//! a 320x240 view (a scikit-image photograph when scripts/test-pictures.sh has
//! fetched them, else the synthetic scene). Run with `cargo bench --bench presence`;
//! docs/PERFORMANCE.md, "Presence detector", has the numbers.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use livegate::camera::scene::{self, Subject};
use livegate::presence::detect::{FaceDetector, SeetaDetector};
use livegate::presence::view::{from_grey, from_jpeg, from_yuyv, small_from_yuyv, VIEW_WIDTH};
use livegate::presence::{GreyView, MotionFilter, MotionParams};
use livegate_core::motion::SHRINK;

/// A 4:3 crop of a picture file as a 320x240 view, if the test pictures are there.
fn photo_view(name: &str) -> Option<GreyView> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-pictures")
        .join(name);
    let img = image::open(path).ok()?.into_luma8();
    let (w, h) = img.dimensions();
    let ch = (w * 3 / 4).min(h);
    let crop = image::imageops::crop_imm(&img, 0, (h - ch) / 2, w, ch).to_image();
    from_grey(crop.as_raw(), w, ch, VIEW_WIDTH).ok()
}

fn bench(c: &mut Criterion) {
    let jpeg = scene::render(640, 480, Subject::Neutral, 80).expect("render");
    let grey = from_jpeg(&jpeg, 640).expect("decode");
    // A YUYV frame with the scene's luma (chroma flat).
    let yuyv: Vec<u8> = grey.pixels.iter().flat_map(|&y| [y, 128]).collect();

    c.bench_function("view from YUYV 640x480 -> 320x240", |b| {
        b.iter(|| from_yuyv(black_box(&yuyv), 640, 480, VIEW_WIDTH).expect("view"))
    });
    c.bench_function("view from JPEG 640x480 -> 320x240", |b| {
        b.iter(|| from_jpeg(black_box(&jpeg), VIEW_WIDTH).expect("view"))
    });
    c.bench_function("small view from YUYV 640x480 -> 40x30 (sampled)", |b| {
        b.iter(|| small_from_yuyv(black_box(&yuyv), 640, 480, VIEW_WIDTH / SHRINK).expect("view"))
    });
    let view = from_jpeg(&jpeg, VIEW_WIDTH).expect("view");
    let mut filter = MotionFilter::new(MotionParams::default());
    c.bench_function("motion pre-filter 320x240 -> 40x30, still", |b| {
        b.iter(|| filter.changed(black_box(&view).shrink(SHRINK)))
    });
    let mut detector = SeetaDetector::new().expect("model");
    for (name, view) in [
        ("astronaut.png", photo_view("astronaut.png")),
        ("coffee.png", photo_view("coffee.png")),
        ("scene", Some(view.clone())),
    ] {
        let Some(view) = view else { continue };
        c.bench_function(&format!("detect 320x240 {name}"), |b| {
            b.iter(|| detector.detect(black_box(&view)))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);

//! The per-frame cost of the camera → API pipeline: MJPEG pass-through, YUYV 640x480
//! → JPEG q80, the MJPEG decode + mirror + re-encode path, base64 of the JPEG, and
//! the request body. Run with `cargo bench --bench frame_pipeline`.

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use livegate::api::RequestId;
use livegate::camera::jpeg::{FrameEncoder, Granted, OutputSpec, PixelFormat, Rotation};
use livegate::camera::scene::{self, Subject};

mod common;
use common::rgb_to_yuyv;

const W: u32 = 640;
const H: u32 = 480;
const QUALITY: u8 = 80;

fn output(mirror: bool) -> OutputSpec {
    OutputSpec {
        width: W,
        height: H,
        mirror,
        rotation: Rotation::R0,
        quality: QUALITY,
    }
}

fn granted(format: PixelFormat) -> Granted {
    Granted {
        format,
        width: W,
        height: H,
        stride: 0,
    }
}

/// The body the client posts: `{"request_id":…,"image":"<base64>"}`, built by the
/// client's own single-allocation builder.
fn body(request_id: &RequestId, jpeg: &[u8]) -> bytes::Bytes {
    livegate::api::client::frame_body(request_id, jpeg).unwrap_or_default()
}

fn frame_pipeline(c: &mut Criterion) {
    let jpeg = match scene::render(W, H, Subject::Neutral, QUALITY) {
        Ok(jpeg) => jpeg,
        Err(e) => panic!("cannot render the test scene: {e}"),
    };
    let rgb = match image::load_from_memory(&jpeg) {
        Ok(img) => img.into_rgb8().into_raw(),
        Err(e) => panic!("cannot decode the test scene: {e}"),
    };
    let yuyv = rgb_to_yuyv(&rgb, W);
    let request_id = RequestId::Text("8c6d0a7e-3c1b-4f7e-9a51-0b6f2d1e9c44".into());

    let pass = FrameEncoder::new(granted(PixelFormat::Mjpeg), output(false));
    let convert = FrameEncoder::new(granted(PixelFormat::Yuyv), output(false));
    let mirror = FrameEncoder::new(granted(PixelFormat::Mjpeg), output(true));
    let (Ok(passed), Ok(converted)) = (pass.encode(&jpeg), convert.encode(&yuyv)) else {
        panic!("the pipeline fails on the test scene");
    };
    let b64_len = base64::engine::general_purpose::STANDARD
        .encode(&jpeg)
        .len();
    println!(
        "bytes per frame: MJPEG {} in, {} out; YUYV {} in, JPEG q{QUALITY} {} out; \
         base64 {b64_len}; request body {}",
        jpeg.len(),
        passed.jpeg.len(),
        yuyv.len(),
        converted.jpeg.len(),
        body(&request_id, &jpeg).len()
    );

    let mut g = c.benchmark_group("frame_pipeline");
    g.throughput(Throughput::Bytes(jpeg.len() as u64));
    g.bench_function("mjpeg_pass_through_640x480", |b| {
        b.iter(|| pass.encode(black_box(&jpeg)))
    });
    g.throughput(Throughput::Bytes(yuyv.len() as u64));
    g.bench_function("yuyv_640x480_to_jpeg_q80", |b| {
        b.iter(|| convert.encode(black_box(&yuyv)))
    });
    g.throughput(Throughput::Bytes(jpeg.len() as u64));
    g.bench_function("mjpeg_lossless_mirror_640x480", |b| {
        b.iter(|| mirror.encode(black_box(&jpeg)))
    });
    // The encoder livegate used before libjpeg-turbo, for the record
    // (docs/PERFORMANCE.md): YUYV → RGB, then the `image` crate's JPEG encoder (4:4:4, scalar).
    g.throughput(Throughput::Bytes(yuyv.len() as u64));
    g.bench_function("yuyv_640x480_image_crate_444_q80", |b| {
        b.iter(|| {
            let mut rgb = Vec::new();
            livegate::camera::jpeg::convert_to_rgb(
                PixelFormat::Yuyv,
                black_box(&yuyv),
                W,
                H,
                0,
                &mut rgb,
            )
            .ok();
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, QUALITY)
                .encode(&rgb, W, H, image::ExtendedColorType::Rgb8)
                .ok();
            out
        })
    });
    g.bench_function("base64_of_jpeg", |b| {
        b.iter(|| base64::engine::general_purpose::STANDARD.encode(black_box(&jpeg)))
    });
    g.bench_function("request_body", |b| {
        b.iter(|| body(black_box(&request_id), black_box(&jpeg)))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    targets = frame_pipeline
}
criterion_main!(benches);

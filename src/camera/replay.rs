//! The replay camera (`[camera] kind = "replay"`): a directory of frames played in
//! name order, looping, at the configured rate. `*.jpg`/`*.jpeg` files are frames as
//! an MJPEG camera delivers them; `*.yuyv` files are packed YUYV 4:2:2 of exactly
//! `width x height x 2` bytes. Each frame enters the same path as a V4L2 frame after
//! the driver: the same cheap check, the same [`FrameSlot`], the same conversion
//! (pass-through, lossless mirror/rotation, or 4:2:0 encoding) when it is sent.
//!
//! For benchmarks and for trying a configuration without a camera. The pictures may
//! show people: biometric data, to delete after use (`livegate test camera --record`
//! says so when it writes them).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::jpeg::{FrameEncoder, Granted, OutputSpec, PixelFormat, Rotation};
use super::{CameraState, Frame, FrameSlot, FrameSource};

/// Frames kept in memory when the directory's frames are no larger than this in
/// all; beyond it each frame is read from its file when its turn comes.
const CACHE_BYTES: u64 = 4 << 20;

/// Everything the replay camera needs; built from `[camera] kind = "replay"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayOptions {
    pub dir: PathBuf,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub jpeg_quality: u8,
    pub mirror: bool,
    pub rotation: Rotation,
}

/// Why a replay directory cannot be played.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read the frame directory {}: {source}", .dir.display())]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("no frames in {} (expected *.jpg, *.jpeg or *.yuyv files)", .0.display())]
    NoFrames(PathBuf),
    #[error(
        "{} is {got} bytes; a {width}x{height} YUYV frame is {need} bytes ([camera] width x height x 2)",
        .path.display()
    )]
    WrongSize {
        path: PathBuf,
        got: u64,
        need: u64,
        width: u32,
        height: u32,
    },
    #[error("cannot read frame {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One frame file of a replay directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameFile {
    pub path: PathBuf,
    pub format: PixelFormat,
    pub len: u64,
}

/// The format of a frame file, by its extension (case-insensitive).
pub fn file_format(path: &Path) -> Option<PixelFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "jpg" | "jpeg" => Some(PixelFormat::Mjpeg),
        "yuyv" => Some(PixelFormat::Yuyv),
        _ => None,
    }
}

/// The frame files of `dir` in name order, checked: at least one, and every `.yuyv`
/// exactly `width x height x 2` bytes. Other files are ignored.
pub fn list_frames(dir: &Path, width: u32, height: u32) -> Result<Vec<FrameFile>, ReplayError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ReplayError::Dir {
        dir: dir.to_owned(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ReplayError::Dir {
            dir: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        let Some(format) = file_format(&path) else {
            continue;
        };
        let meta = std::fs::metadata(&path).map_err(|source| ReplayError::Read {
            path: path.clone(),
            source,
        })?;
        if !meta.is_file() {
            continue;
        }
        let need = u64::from(width) * u64::from(height) * 2;
        if format == PixelFormat::Yuyv && meta.len() != need {
            return Err(ReplayError::WrongSize {
                path,
                got: meta.len(),
                need,
                width,
                height,
            });
        }
        files.push(FrameFile {
            path,
            format,
            len: meta.len(),
        });
    }
    if files.is_empty() {
        return Err(ReplayError::NoFrames(dir.to_owned()));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// A camera that replays a directory of frames.
#[derive(Clone, Debug)]
pub struct ReplayCamera {
    opts: ReplayOptions,
}

impl ReplayCamera {
    pub fn new(opts: ReplayOptions) -> Self {
        ReplayCamera { opts }
    }
}

/// The frames of a directory, with the encoder of each format.
struct Reel {
    files: Vec<FrameFile>,
    /// The bytes of each file, when they all fit in [`CACHE_BYTES`].
    cached: Option<Vec<Bytes>>,
    mjpeg: Arc<FrameEncoder>,
    yuyv: Arc<FrameEncoder>,
}

impl Reel {
    fn load(opts: &ReplayOptions) -> Result<Reel, ReplayError> {
        let files = list_frames(&opts.dir, opts.width, opts.height)?;
        let total: u64 = files.iter().map(|f| f.len).sum();
        let cached = if total <= CACHE_BYTES {
            Some(files.iter().map(read).collect::<Result<Vec<_>, _>>()?)
        } else {
            None
        };
        let out = OutputSpec {
            width: opts.width,
            height: opts.height,
            mirror: opts.mirror,
            rotation: opts.rotation,
            quality: opts.jpeg_quality.clamp(1, 100),
        };
        let granted = |format| Granted {
            format,
            width: opts.width,
            height: opts.height,
            stride: 0,
        };
        Ok(Reel {
            files,
            cached,
            mjpeg: Arc::new(FrameEncoder::new(granted(PixelFormat::Mjpeg), out)),
            yuyv: Arc::new(FrameEncoder::new(granted(PixelFormat::Yuyv), out)),
        })
    }

    fn frame(&self, index: usize) -> Result<(Bytes, &Arc<FrameEncoder>), ReplayError> {
        let file = &self.files[index % self.files.len()];
        let bytes = match &self.cached {
            Some(all) => all[index % all.len()].clone(),
            None => read(file)?,
        };
        let encoder = match file.format {
            PixelFormat::Mjpeg => &self.mjpeg,
            _ => &self.yuyv,
        };
        Ok((bytes, encoder))
    }
}

fn read(file: &FrameFile) -> Result<Bytes, ReplayError> {
    std::fs::read(&file.path)
        .map(Bytes::from)
        .map_err(|source| ReplayError::Read {
            path: file.path.clone(),
            source,
        })
}

impl FrameSource for ReplayCamera {
    fn spawn(self: Box<Self>, slot: FrameSlot) -> JoinHandle<()> {
        tokio::spawn(async move { play(self.opts, slot).await })
    }
}

async fn play(opts: ReplayOptions, slot: FrameSlot) {
    let reel = match Reel::load(&opts) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(dir = %opts.dir.display(), error = %e, "replay camera unavailable");
            slot.set_state(CameraState::Unavailable(e.to_string()));
            return;
        }
    };
    tracing::info!(
        dir = %opts.dir.display(),
        frames = reel.files.len(),
        cached = reel.cached.is_some(),
        fps = opts.fps,
        "replay camera streaming"
    );
    let mut tick = tokio::time::interval(Duration::from_secs(1) / opts.fps.max(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut seq: u64 = 0;
    let mut index: usize = 0;
    loop {
        tick.tick().await;
        match reel.frame(index) {
            Ok((bytes, encoder)) => match encoder.check(&bytes) {
                Ok(kept) => {
                    let kept = bytes.slice_ref(kept);
                    slot.publish(Frame::raw(
                        kept,
                        Arc::clone(encoder),
                        seq,
                        tokio::time::Instant::now(),
                    ));
                    seq += 1;
                }
                Err(error) => {
                    tracing::debug!(frame = index, %error, "unusable replay frame skipped");
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "replay frame unreadable");
                slot.set_state(CameraState::Unavailable(e.to_string()));
            }
        }
        index = index.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "livegate-replay-{name}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn opts(dir: &Path) -> ReplayOptions {
        ReplayOptions {
            dir: dir.to_owned(),
            width: 32,
            height: 16,
            fps: 30,
            jpeg_quality: 80,
            mirror: false,
            rotation: Rotation::R0,
        }
    }

    #[test]
    fn frames_are_listed_in_name_order_and_checked() {
        let dir = scratch("list");
        assert!(matches!(
            list_frames(&dir.join("nope"), 32, 16),
            Err(ReplayError::Dir { .. })
        ));
        std::fs::write(dir.join("notes.txt"), b"x").unwrap();
        assert!(matches!(
            list_frames(&dir, 32, 16),
            Err(ReplayError::NoFrames(_))
        ));
        std::fs::write(dir.join("b.yuyv"), vec![128; 32 * 16 * 2]).unwrap();
        std::fs::write(dir.join("a.JPG"), b"jpeg").unwrap();
        let files = list_frames(&dir, 32, 16).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| (f.path.file_name().unwrap().to_owned(), f.format))
            .collect();
        assert_eq!(
            names,
            [
                ("a.JPG".into(), PixelFormat::Mjpeg),
                ("b.yuyv".into(), PixelFormat::Yuyv)
            ]
        );
        let e = list_frames(&dir, 32, 18).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{} is 1024 bytes; a 32x18 YUYV frame is 1152 bytes ([camera] width x height x 2)",
                dir.join("b.yuyv").display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_directory_plays_in_order_looping_and_converts_when_asked() {
        let dir = scratch("play");
        // Left half studio black, right half studio white.
        let mut yuyv = Vec::new();
        for _ in 0..16 {
            for x in (0..32).step_by(2) {
                let y = if x < 16 { 16 } else { 235 };
                yuyv.extend_from_slice(&[y, 128, y, 128]);
            }
        }
        std::fs::write(dir.join("1.yuyv"), &yuyv).unwrap();
        let jpeg = crate::camera::encode::encode_rgb(&[200; 32 * 16 * 3], 32, 16, 80).unwrap();
        std::fs::write(dir.join("2.jpg"), &jpeg).unwrap();
        let slot = FrameSlot::new();
        let task = Box::new(ReplayCamera::new(opts(&dir))).spawn(slot.clone());
        let now = tokio::time::Instant::now();
        let mut seen = Vec::new();
        let mut after = None;
        for _ in 0..4 {
            let f = slot.next_fresh(after, now).await.unwrap();
            after = Some(f.seq);
            seen.push((f.seq, f.raw_len(), f.jpeg().unwrap()));
        }
        task.abort();
        let seqs: Vec<u64> = seen.iter().map(|s| s.0).collect();
        assert_eq!(seqs, [0, 1, 2, 3]);
        // YUYV kept raw until asked, then encoded; the JPEG passed through as is.
        assert_eq!(seen[0].1, yuyv.len());
        assert_eq!(seen[1].2, jpeg);
        assert_eq!(seen[3].2, jpeg);
        assert_eq!(seen[0].2, seen[2].2);
        let img = image::load_from_memory(&seen[0].2).unwrap().into_luma8();
        assert_eq!(img.dimensions(), (32, 16));
        assert!(img.get_pixel(2, 8).0[0] < 8 && img.get_pixel(29, 8).0[0] > 247);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_missing_directory_makes_the_camera_unavailable() {
        let dir = scratch("missing");
        let slot = FrameSlot::new();
        let task = Box::new(ReplayCamera::new(opts(&dir.join("gone")))).spawn(slot.clone());
        assert!(slot
            .next_fresh(None, tokio::time::Instant::now())
            .await
            .is_none());
        assert!(
            matches!(slot.state(), CameraState::Unavailable(r) if r.contains("cannot read the frame directory"))
        );
        task.abort();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

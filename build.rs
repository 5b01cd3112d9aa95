//! Finds the face detector's model where cargo unpacked the `rustface` crate, which
//! ships it (model/seeta_fd_frontal_v1.0.bin, SeetaFace, BSD-2-Clause), and hands its
//! path to `src/presence/detect.rs` (`include_bytes!`) as SEETA_MODEL. Nothing is
//! downloaded: the file comes inside the crate from crates.io, like its code.
//! `LIVEGATE_SEETA_MODEL=/path/to/seeta_fd_frontal_v1.0.bin` overrides the search.

use std::path::PathBuf;
use std::process::Command;

const MODEL: &str = "model/seeta_fd_frontal_v1.0.bin";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rerun-if-env-changed=LIVEGATE_SEETA_MODEL");
    let path = match std::env::var_os("LIVEGATE_SEETA_MODEL") {
        Some(p) => PathBuf::from(p),
        None => match rustface_dir() {
            Ok(dir) => dir.join(MODEL),
            Err(e) => fail(&format!("cannot find the rustface crate's directory: {e}")),
        },
    };
    if !path.is_file() {
        fail(&format!("no face model at {}", path.display()));
    }
    println!("cargo:rerun-if-changed={}", path.display());
    println!("cargo:rustc-env=SEETA_MODEL={}", path.display());
}

fn fail(why: &str) -> ! {
    eprintln!(
        "error: {why}; the face detector's model comes inside the rustface crate \
         (set LIVEGATE_SEETA_MODEL to its {MODEL} to point at it)"
    );
    std::process::exit(1);
}

/// The directory of the `rustface` package this build uses, from `cargo metadata`.
fn rustface_dir() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let packages = meta["packages"].as_array().cloned().unwrap_or_default();
    packages
        .iter()
        .find(|p| p["name"] == "rustface")
        .and_then(|p| p["manifest_path"].as_str())
        .and_then(|m| PathBuf::from(m).parent().map(PathBuf::from))
        .ok_or_else(|| "no package rustface in `cargo metadata`".to_string())
}

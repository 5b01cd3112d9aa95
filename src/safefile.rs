//! Reading the small files a technician points livegate at (the configuration, the
//! key, the CA) without ever blocking: a FIFO, a device or a directory is refused
//! instead of read, and so is a file larger than its cap.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// The largest configuration file read (1 MiB).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// The largest key file read.
pub const MAX_KEY_BYTES: u64 = 64 << 10;
/// The largest CA file read.
pub const MAX_CA_BYTES: u64 = 1 << 20;

/// Reads `path` (symbolic links followed) when it is a regular file of at most `max`
/// bytes. The file is opened non-blocking, so a FIFO or a device never hangs the
/// caller; anything but a regular file is an error that says what it is.
pub fn read_regular(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    let ft = meta.file_type();
    if !ft.is_file() {
        let what = if ft.is_dir() {
            "a directory"
        } else if ft.is_fifo() {
            "a FIFO (named pipe)"
        } else if ft.is_socket() {
            "a socket"
        } else if ft.is_char_device() || ft.is_block_device() {
            "a device"
        } else {
            "not a file"
        };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("it is {what}, not a regular file"),
        ));
    }
    if meta.len() > max {
        return Err(too_large(max));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    // The file may grow after the check: never read more than the cap.
    file.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(buf)
}

/// [`read_regular`], as UTF-8 text.
pub fn read_text(path: &Path, max: u64) -> std::io::Result<String> {
    String::from_utf8(read_regular(path, max)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// The permission bits of `path` (symbolic links followed) when other users have any
/// access to it, else `None`: a key file must be closed to them, like ssh's private
/// keys.
pub fn open_to_others(path: &Path) -> std::io::Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o7777;
    Ok((mode & 0o007 != 0).then_some(mode))
}

fn too_large(max: u64) -> std::io::Error {
    let size = if max >= 1 << 20 {
        format!("{} MiB", max >> 20)
    } else {
        format!("{} KiB", max >> 10)
    };
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("larger than {size}: not a file livegate reads"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> std::path::PathBuf {
        let d =
            std::env::temp_dir().join(format!("livegate-safefile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_fifo_is_refused_at_once() {
        let d = dir("fifo");
        let p = d.join("livegate.toml");
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_regular(&p, MAX_CONFIG_BYTES).unwrap_err();
        assert_eq!(
            e.to_string(),
            "it is a FIFO (named pipe), not a regular file"
        );
        // Through a symbolic link too.
        let l = d.join("link.toml");
        std::os::unix::fs::symlink(&p, &l).unwrap();
        assert!(read_regular(&l, MAX_CONFIG_BYTES).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_directory_a_device_and_a_large_file_are_refused() {
        let d = dir("kinds");
        assert_eq!(
            read_regular(&d, 10).unwrap_err().to_string(),
            "it is a directory, not a regular file"
        );
        assert_eq!(
            read_regular(Path::new("/dev/zero"), 10)
                .unwrap_err()
                .to_string(),
            "it is a device, not a regular file"
        );
        let big = d.join("big");
        std::fs::write(&big, vec![b'#'; 2 << 20]).unwrap();
        assert_eq!(
            read_regular(&big, MAX_CONFIG_BYTES)
                .unwrap_err()
                .to_string(),
            "larger than 1 MiB: not a file livegate reads"
        );
        let ok = d.join("ok");
        std::fs::write(&ok, "x = 1\n").unwrap();
        assert_eq!(read_text(&ok, 6).unwrap(), "x = 1\n");
        assert!(read_text(&ok, 5).is_err());
        let _ = std::fs::remove_dir_all(&d);
    }
}

//! Running the `livegate` binary from a test, and the scratch folders it works in.
#![allow(dead_code)] // each test crate uses its own part

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_livegate");
pub const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// A fresh folder under the system's temporary folder, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new folder whose name starts with `livegate-{what}-`.
    pub fn new(what: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "livegate-{what}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().expect("UTF-8 path").to_owned()
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> String {
        let p = self.path(name);
        std::fs::write(&p, contents).expect("write temp file");
        p
    }

    /// A file holding `contents` with permission bits `mode` (a key file).
    pub fn write_mode(&self, name: &str, contents: impl AsRef<[u8]>, mode: u32) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = self.write(name, contents);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one run of the binary produced.
pub struct Out {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Out {
    pub fn context(&self) -> String {
        format!(
            "livegate {:?}: exit {:?} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args, self.code, self.took, self.stdout, self.stderr
        )
    }

    /// Everything it printed, stdout then stderr.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, Some(code), "{}", self.context());
    }

    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// Asserts `secret` appears nowhere in what was printed.
    pub fn assert_not_printed(&self, secret: &str) {
        assert!(
            !self.all().contains(secret),
            "{secret:?} was printed:\n{}",
            self.context()
        );
    }

    pub fn assert_no_panic(&self) {
        assert!(!self.all().contains("panicked"), "{}", self.context());
    }
}

/// Reads `r` to its end on a thread.
pub fn read_all<R: Read + Send + 'static>(r: Option<R>) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = r {
            let _ = r.read_to_end(&mut buf);
        }
        buf
    })
}

/// Waits for `child`; kills it and returns `None` when it still runs after `limit`
/// (a hang: a limit, never a timing that is checked).
pub fn wait_or_kill(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait for livegate") {
            return Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs the binary in the crate folder, stdin closed, stdout and stderr pipes, with
/// the environment that would change logging, the key or the service's folders
/// removed (then `env` set). Kills it and fails when it runs longer than `limit`.
pub fn livegate(args: &[&str], env: &[(&str, &str)], limit: Duration) -> Out {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(MANIFEST_DIR)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for k in [
        "RUST_LOG",
        "JOURNAL_STREAM",
        "CREDENTIALS_DIRECTORY",
        "RUNTIME_DIRECTORY",
        "NOTIFY_SOCKET",
    ] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("start livegate");
    let stdout = read_all(child.stdout.take());
    let stderr = read_all(child.stderr.take());
    let status = wait_or_kill(&mut child, limit);
    let text = |h: JoinHandle<Vec<u8>>, what: &str| {
        let bytes = h.join().expect("reader thread");
        String::from_utf8(bytes).unwrap_or_else(|e| panic!("{what} is not UTF-8: {e}"))
    };
    let out = Out {
        args: args.iter().map(|a| a.to_string()).collect(),
        code: status.and_then(|s| s.code()),
        stdout: text(stdout, "stdout"),
        stderr: text(stderr, "stderr"),
        took: start.elapsed(),
    };
    assert!(
        status.is_some(),
        "still running after {limit:?} (it hangs), killed\n{}",
        out.context()
    );
    out
}

//! The Debian packaging without building a .deb: cargo-deb's metadata in Cargo.toml
//! (what is shipped where, no key, the unit handed to cargo-deb's systemd support),
//! the unit's contract with the binary, and the maintainer scripts run with stub
//! account tools (what they would do to a machine's users and groups).
//! scripts/package.sh builds and inspects the real packages.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

fn crate_file(rel: &str) -> PathBuf {
    Path::new(MANIFEST_DIR).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(crate_file(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `[package.metadata.deb]` of Cargo.toml.
fn deb_metadata() -> toml::Table {
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml parses");
    manifest["package"]["metadata"]["deb"]
        .as_table()
        .expect("[package.metadata.deb] is a table")
        .clone()
}

/// The assets as (source, destination, mode).
fn assets() -> Vec<(String, String, String)> {
    deb_metadata()["assets"]
        .as_array()
        .expect("assets is a list")
        .iter()
        .map(|a| {
            let parts: Vec<String> = a
                .as_array()
                .expect("each asset is [source, dest, mode]")
                .iter()
                .map(|v| v.as_str().expect("asset fields are strings").to_owned())
                .collect();
            assert_eq!(parts.len(), 3, "{parts:?}");
            (parts[0].clone(), parts[1].clone(), parts[2].clone())
        })
        .collect()
}

fn looks_like_a_key(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.contains("aigen-key")
        || p.contains("credential")
        || p.ends_with(".key")
        || p.ends_with(".pem")
        || p.contains("secret")
}

#[test]
fn the_package_ships_the_binary_the_conffile_and_the_docs_and_no_key() {
    let got = assets();
    let want = [
        ("target/release/livegate", "usr/bin/", "755"),
        ("config/livegate.toml", "etc/livegate/livegate.toml", "644"),
        (
            "config/livegate-pi.toml",
            "usr/share/doc/livegate/examples/livegate-pi.toml",
            "644",
        ),
        ("README.md", "usr/share/doc/livegate/README.md", "644"),
        (
            "docs/alerts.yml",
            "usr/share/doc/livegate/examples/alerts.yml",
            "644",
        ),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(s, d, m)| (s.to_string(), d.to_string(), m.to_string()))
        .collect();
    assert_eq!(got, want);
    for (source, dest, _) in &got {
        assert!(!looks_like_a_key(source), "a key-like asset: {source}");
        assert!(!looks_like_a_key(dest), "a key-like destination: {dest}");
        if source != "target/release/livegate" {
            assert!(crate_file(source).is_file(), "asset {source} is missing");
        }
    }
    // cargo-deb makes every file under etc/ a conffile; nothing else is one.
    let conffiles: Vec<&str> = got
        .iter()
        .filter(|(_, d, _)| d.starts_with("etc/"))
        .map(|(_, d, _)| d.as_str())
        .collect();
    assert_eq!(conffiles, ["etc/livegate/livegate.toml"]);
    assert!(deb_metadata().get("conf-files").is_none());
    assert!(looks_like_a_key("/etc/livegate/aigen-key"));
}

#[test]
fn the_unit_goes_through_cargo_debs_systemd_support_installed_but_not_enabled() {
    let deb = deb_metadata();
    assert_eq!(deb["maintainer-scripts"].as_str(), Some("debian/"));
    let units = deb["systemd-units"]
        .as_table()
        .expect("systemd-units table");
    // cargo-deb looks for <package>.service in unit-scripts.
    assert_eq!(units["unit-scripts"].as_str(), Some("systemd/"));
    assert!(crate_file("systemd/livegate.service").is_file());
    assert_eq!(units["enable"].as_bool(), Some(false));
    assert_eq!(units["start"].as_bool(), Some(false));
    // $auto (libc6) and the postinst's adduser; nothing that pulls OpenSSL.
    let depends = deb["depends"].as_str().expect("depends");
    assert_eq!(depends, "$auto, adduser");
    // cargo-deb puts its systemd snippets at the token: both scripts carry it.
    for script in ["debian/postinst", "debian/postrm"] {
        assert_eq!(
            read(script).lines().filter(|l| *l == "#DEBHELPER#").count(),
            1,
            "{script}"
        );
    }
}

/// The value of every `key=` line of the unit, in order.
fn unit_values(key: &str) -> Vec<String> {
    read("systemd/livegate.service")
        .lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_unit_runs_the_packaged_binary_as_a_notify_service_with_the_key_as_a_credential() {
    assert_eq!(
        unit_values("ExecStart"),
        ["/usr/bin/livegate run --config /etc/livegate/livegate.toml"]
    );
    assert_eq!(unit_values("Type"), ["notify"]);
    assert_eq!(unit_values("NotifyAccess"), ["main"]);
    assert_eq!(unit_values("WatchdogSec"), ["30s"]);
    assert_eq!(unit_values("ExecReload"), ["/bin/kill -HUP $MAINPID"]);
    assert_eq!(unit_values("Restart"), ["on-failure"]);
    assert_eq!(unit_values("User"), ["livegate"]);
    assert_eq!(unit_values("SupplementaryGroups"), ["video i2c gpio"]);
    assert_eq!(
        unit_values("LoadCredential"),
        ["aigen-key:/etc/livegate/aigen-key"]
    );
    // The control socket's default directory (src/ctl.rs) is the runtime directory.
    assert_eq!(unit_values("RuntimeDirectory"), ["livegate"]);
    assert!(livegate::ctl::DEFAULT_PATH.starts_with("/run/livegate/"));
    assert_eq!(unit_values("DevicePolicy"), ["closed"]);
    assert_eq!(unit_values("CapabilityBoundingSet"), [""]);
    // The binary is where the package puts it and the config where it looks.
    assert_eq!(
        livegate::config::DEFAULT_PATH,
        "/etc/livegate/livegate.toml"
    );
}

/// A scratch directory with stub account tools that log their calls.
struct Stubs {
    dir: PathBuf,
    log: PathBuf,
}

const LOGGING_STUB: &str = "#!/bin/sh\necho \"$(basename \"$0\") $*\" >> \"$STUB_LOG\"\n";

impl Stubs {
    fn new(name: &str) -> Stubs {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "livegate-packaging-{}-{}-{name}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let write = |tool: &str, body: &str| {
            use std::os::unix::fs::PermissionsExt;
            let p = bin.join(tool);
            std::fs::write(&p, body).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        };
        for tool in [
            "adduser",
            "addgroup",
            "deluser",
            "delgroup",
            "chown",
            "chmod",
            "mkdir",
            "rm",
            "systemctl",
        ] {
            write(tool, LOGGING_STUB);
        }
        // getent DB NAME: absent when "DB:NAME" is listed in $STUB_ABSENT.
        write(
            "getent",
            "#!/bin/sh\nfor n in $STUB_ABSENT; do [ \"$1:$2\" = \"$n\" ] && exit 2; done\n\
             echo \"$2:x:999:\"\n",
        );
        // id -nG livegate: the groups in $STUB_GROUPS.
        write("id", "#!/bin/sh\necho \"$STUB_GROUPS\"\n");
        // stat -c '%U:%G %a' KEY
        write("stat", "#!/bin/sh\necho \"$STUB_STAT\"\n");
        Stubs {
            log: dir.join("calls.log"),
            dir,
        }
    }

    /// Runs `sh debian/SCRIPT ARG` with the stubs first on PATH.
    fn run(&self, script: &str, arg: &str, absent: &str, groups: &str) -> (Output, Vec<String>) {
        let _ = std::fs::remove_file(&self.log);
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("sh")
            .arg(crate_file(script))
            .arg(arg)
            .env("PATH", path)
            .env("STUB_LOG", &self.log)
            .env("STUB_ABSENT", absent)
            .env("STUB_GROUPS", groups)
            .env("STUB_STAT", "root:root 600")
            .output()
            .expect("sh runs");
        let calls = std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        (out, calls)
    }
}

impl Drop for Stubs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn account_calls(calls: &[String]) -> Vec<&str> {
    calls
        .iter()
        .map(String::as_str)
        .filter(|c| {
            ["adduser", "addgroup", "deluser", "delgroup"]
                .iter()
                .any(|t| c.split(' ').next() == Some(t))
        })
        .collect()
}

#[test]
fn postinst_on_a_fresh_machine_creates_the_user_the_missing_groups_and_the_memberships() {
    let stubs = Stubs::new("fresh");
    let (out, calls) = stubs.run(
        "debian/postinst",
        "configure",
        "passwd:livegate group:livegate group:i2c group:gpio",
        "livegate",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        account_calls(&calls),
        [
            "adduser --system --quiet --group --no-create-home --home /nonexistent \
             --comment livegate access gate livegate",
            "adduser --quiet livegate video",
            "addgroup --system --quiet i2c",
            "adduser --quiet livegate i2c",
            "addgroup --system --quiet gpio",
            "adduser --quiet livegate gpio",
        ]
    );
    let rest: BTreeSet<&str> = calls
        .iter()
        .map(String::as_str)
        .filter(|c| !account_calls(&calls).contains(c))
        .collect();
    assert_eq!(
        rest,
        BTreeSet::from([
            "mkdir -p /etc/livegate",
            "chown root:livegate /etc/livegate",
            "chmod 0750 /etc/livegate",
        ])
    );
}

#[test]
fn postinst_run_again_changes_no_account() {
    let stubs = Stubs::new("again");
    let (out, calls) = stubs.run(
        "debian/postinst",
        "configure",
        "",
        "livegate video i2c gpio",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(account_calls(&calls), Vec::<&str>::new());
    assert!(calls.contains(&"chown root:livegate /etc/livegate".to_owned()));
}

#[test]
fn postinst_reuses_a_livegate_group_made_by_hand() {
    let stubs = Stubs::new("group");
    let (out, calls) = stubs.run(
        "debian/postinst",
        "configure",
        "passwd:livegate",
        "livegate video i2c gpio",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        account_calls(&calls),
        [
            "adduser --system --quiet --ingroup livegate --no-create-home --home /nonexistent \
          --comment livegate access gate livegate"
        ]
    );
}

#[test]
fn postinst_refuses_an_unknown_action() {
    let stubs = Stubs::new("unknown");
    let (out, calls) = stubs.run("debian/postinst", "reconfigure-everything", "", "");
    assert_eq!(out.status.code(), Some(1));
    assert!(calls.is_empty(), "{calls:?}");
}

#[test]
fn postrm_remove_keeps_the_user_and_purge_removes_it_but_never_a_file() {
    let stubs = Stubs::new("postrm");
    let (out, calls) = stubs.run("debian/postrm", "remove", "", "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(account_calls(&calls), Vec::<&str>::new());

    let (out, calls) = stubs.run("debian/postrm", "purge", "", "");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        account_calls(&calls),
        [
            "deluser --system --quiet livegate",
            "delgroup --system --quiet --only-if-empty livegate",
        ]
    );
    // The key (and anything else) is left for the technician: nothing is deleted.
    assert!(!calls.iter().any(|c| c.starts_with("rm ")), "{calls:?}");
    assert!(!read("debian/postrm").lines().any(|l| {
        let l = l.trim_start();
        l.starts_with("rm ") || l.contains("&& rm ") || l.contains("; rm ")
    }));

    // Purge after the user is already gone: nothing to delete, still fine.
    let (out, calls) = stubs.run(
        "debian/postrm",
        "purge",
        "passwd:livegate group:livegate",
        "",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(account_calls(&calls), Vec::<&str>::new());
}

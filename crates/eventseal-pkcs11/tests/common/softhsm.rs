//! A SoftHSM2 token store in a temporary directory, made by the tests themselves with the
//! real tools (Debian's `softhsm2` and `opensc` packages; `.ci/run` installs them):
//! `softhsm2-util --init-token`, then `pkcs11-tool --keypairgen` for an Ed25519 and a P-256
//! key. OpenSC writes the Ed25519 key's `CKA_EC_PARAMS` as the printable string
//! "edwards25519", which eventseal-pkcs11 must accept.
//!
//! Shared by eventseal-pkcs11's tests (in process) and the CLI's (through `SOFTHSM2_CONF` in
//! the child's environment).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's softhsm2 package puts the module.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of every token made here.
pub const PIN: &str = "1234";
/// The main token's label.
pub const TOKEN: &str = "eventseal";
/// A second token, which no test logs in to except with a wrong PIN. Its label does not
/// start with [`TOKEN`]: pkcs11-tool's `--token-label` matches a prefix.
pub const PIN_TOKEN: &str = "pin-test";
/// The Ed25519 key made by pkcs11-tool (CKA_ID 01).
pub const ED_KEY: &str = "ed-tool";
/// The P-256 key made by pkcs11-tool (CKA_ID 02).
pub const P256_KEY: &str = "p256-tool";

pub struct SoftHsm {
    dir: tempfile::TempDir,
    pub conf: PathBuf,
    pub pin_file: PathBuf,
}

fn run(cmd: &mut Command, conf: &Path) {
    let out = cmd.env("SOFTHSM2_CONF", conf).output().unwrap_or_else(|e| {
        panic!("{cmd:?}: {e} (run `cargo xtask setup`: apt-get install softhsm2 opensc)")
    });
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl SoftHsm {
    /// A new token directory with both tokens and the two pkcs11-tool keys.
    pub fn new() -> Self {
        assert!(
            Path::new(MODULE).exists(),
            "{MODULE} is missing: run `cargo xtask setup` (apt-get install softhsm2)"
        );
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        let pin_file = dir.path().join("pin");
        std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
        // A PIN file is a secret: readable by its owner only (the CLI warns otherwise).
        std::fs::set_permissions(
            &pin_file,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        let hsm = Self {
            dir,
            conf,
            pin_file,
        };
        for label in [TOKEN, PIN_TOKEN] {
            hsm.init_token(label);
        }
        hsm.keypairgen(TOKEN, "EC:edwards25519", ED_KEY, "01");
        hsm.keypairgen(TOKEN, "EC:prime256v1", P256_KEY, "02");
        hsm.keypairgen(PIN_TOKEN, "EC:edwards25519", ED_KEY, "01");
        hsm
    }

    /// `softhsm2-util --init-token` with the user PIN [`PIN`]. Before any PKCS#11 call in
    /// this process: SoftHSM2 reads its tokens at `C_Initialize`.
    pub fn init_token(&self, label: &str) {
        run(
            Command::new("softhsm2-util").args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                PIN,
                "--so-pin",
                "5678",
            ]),
            &self.conf,
        );
    }

    /// `pkcs11-tool --keypairgen` on `token`.
    pub fn keypairgen(&self, token: &str, key_type: &str, label: &str, id: &str) {
        run(
            Command::new("pkcs11-tool").args([
                "--module",
                MODULE,
                "--token-label",
                token,
                "--login",
                "--pin",
                PIN,
                "--keypairgen",
                "--key-type",
                key_type,
                "--label",
                label,
                "--id",
                id,
            ]),
            &self.conf,
        );
    }

    /// The key URI of `object` on `token`, with the PIN from the PIN file.
    pub fn uri(&self, token: &str, object: &str) -> String {
        format!(
            "pkcs11:token={token};object={object}?module-path={MODULE}&pin-source=file:{}",
            self.pin_file.display()
        )
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

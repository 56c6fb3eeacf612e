//! Shared fixtures for the command-line tests: keys written as files, and `eventseal open`
//! processes racing for one envelope.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use eventseal::{RecipientSecretKey, Sealer, SigningKey};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eventseal"))
}

pub fn run(args: &[&str], dir: &Path, stdin: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that fails before reading stdin (usage errors) closes the pipe early.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

pub fn ok(args: &[&str], dir: &Path, stdin: &[u8]) -> Vec<u8> {
    let out = run(args, dir, stdin);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn rejected(args: &[&str], dir: &Path, stdin: &[u8], kind: &str) {
    let out = run(args, dir, stdin);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("eventseal: rejected: {kind}\n")
    );
    assert!(out.stdout.is_empty(), "nothing is written on rejection");
}

pub fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        &[
            "keygen",
            "signing",
            "--source",
            "orders",
            "--out-dir",
            "keys",
        ],
        d,
        b"",
    );
    ok(
        &[
            "keygen",
            "signing",
            "--source",
            "rogue",
            "--out-dir",
            "keys",
        ],
        d,
        b"",
    );
    ok(
        &[
            "keygen",
            "recipient",
            "--consumer",
            "billing",
            "--out-dir",
            "keys",
        ],
        d,
        b"",
    );
    ok(
        &[
            "keygen",
            "recipient",
            "--consumer",
            "audit",
            "--out-dir",
            "keys",
        ],
        d,
        b"",
    );
    dir
}

pub const OPEN_BILLING: &[&str] = &[
    "open",
    "--key",
    "keys/billing.recipient.jwk",
    "--trust",
    "keys/orders.verify.jwk",
];

pub fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

/// A source (`orders`) and a consumer (`billing`) whose keys are written into a directory as
/// `verify.jwk` and `billing.jwk`, the files [`cli_open`] and [`race_cli_open`] use.
pub struct CliKeys {
    source: SigningKey,
    consumer: RecipientSecretKey,
}

impl CliKeys {
    pub fn write_to(dir: &std::path::Path) -> Self {
        let source = SigningKey::generate("orders").unwrap();
        let consumer = RecipientSecretKey::generate("billing").unwrap();
        std::fs::write(dir.join("verify.jwk"), source.verifying_key().to_jwk()).unwrap();
        std::fs::write(dir.join("billing.jwk"), &*consumer.to_secret_jwk()).unwrap();
        // A secret key file readable by others loads with a warning on stderr: keep it 0600.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(dir.join("billing.jwk"), mode).unwrap();
        }
        Self { source, consumer }
    }

    /// Seals `payload` (type `order.created`) from the source to the consumer into `path`.
    pub fn write_envelope(&self, path: &std::path::Path, payload: &[u8]) {
        let signer = SigningKey::from_jwk(&self.source.to_secret_jwk()).unwrap();
        let env = Sealer::new(signer)
            .seal("order.created", payload, &[self.consumer.public_key()])
            .unwrap();
        std::fs::write(path, env.as_bytes()).unwrap();
    }
}

/// `eventseal open` in `dir` on the envelope in `file`, with the keys of [`CliKeys`] and the
/// given replay-store arguments, its output piped.
fn cli_open_command(
    dir: &std::path::Path,
    file: &str,
    store_args: &[&str],
) -> std::process::Command {
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eventseal"));
    cmd.args(["open", "--key", "billing.jwk", "--trust", "verify.jwk"])
        .args(store_args)
        .args(["--input", file])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// One `eventseal open` process (see [`cli_open_command`]); its output.
pub fn cli_open(dir: &std::path::Path, file: &str, store_args: &[&str]) -> std::process::Output {
    cli_open_command(dir, file, store_args).output().unwrap()
}

/// Runs four `eventseal open` processes at once in `dir` on the envelope in `file`, with the
/// keys `billing.jwk` and `verify.jwk` and the given replay-store arguments; their outputs.
pub fn race_cli_open(
    dir: &std::path::Path,
    file: &str,
    store_args: &[&str],
) -> Vec<std::process::Output> {
    let children: Vec<_> = (0..4)
        .map(|_| cli_open_command(dir, file, store_args).spawn().unwrap())
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// Exactly one process printed `payload` and exited 0; every other one was `replayed` (3).
pub fn assert_exactly_one_accepted(outputs: &[std::process::Output], payload: &[u8]) {
    let accepted: Vec<_> = outputs.iter().filter(|o| o.status.success()).collect();
    assert_eq!(accepted.len(), 1, "{outputs:?}");
    assert_eq!(accepted[0].stdout, payload);
    for o in outputs.iter().filter(|o| !o.status.success()) {
        assert_eq!(o.status.code(), Some(3));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr),
            "eventseal: rejected: replayed\n"
        );
    }
}

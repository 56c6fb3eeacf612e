//! Shared fixtures for the command-line tests: keys written as files, and `eventseal open`
//! processes racing for one envelope.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

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

/// [`run`] with extra environment variables.
pub fn run_env(args: &[&str], dir: &Path, stdin: &[u8], env: &[(&str, String)]) -> Output {
    spawn_env(args, dir, stdin, env).wait_with_output().unwrap()
}

/// The tool running with `env` added, `stdin` written to it, stdout and stderr piped.
fn spawn_env(
    args: &[&str],
    dir: &Path,
    stdin: &[u8],
    env: &[(&str, String)],
) -> std::process::Child {
    let mut cmd: Command = bin();
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child
}

/// [`run_env`], but the tool is killed if it runs past `deadline` (its status then has no
/// code), so a test of a hang fails instead of hanging.
pub fn run_env_deadline(
    args: &[&str],
    dir: &Path,
    stdin: &[u8],
    env: &[(&str, String)],
    deadline: std::time::Duration,
) -> Output {
    let mut child = spawn_env(args, dir, stdin, env);
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `keygen recipient --consumer ID --out-dir keys`.
pub fn keygen_recipient(d: &Path, consumer: &str) {
    ok(
        &[
            "keygen",
            "recipient",
            "--consumer",
            consumer,
            "--out-dir",
            "keys",
        ],
        d,
        b"",
    );
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
    keygen_recipient(d, "billing");
    keygen_recipient(d, "audit");
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

/// Exactly one process printed `payload` and exited 0; every other one was rejected (3) as
/// `replayed` (the winner had completed) or `in-progress` (it held the lease while writing).
pub fn assert_exactly_one_accepted(outputs: &[std::process::Output], payload: &[u8]) {
    let accepted: Vec<_> = outputs.iter().filter(|o| o.status.success()).collect();
    assert_eq!(accepted.len(), 1, "{outputs:?}");
    assert_eq!(accepted[0].stdout, payload);
    for o in outputs.iter().filter(|o| !o.status.success()) {
        assert_eq!(o.status.code(), Some(3));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(
            stderr == "eventseal: rejected: replayed\n"
                || stderr == "eventseal: rejected: in-progress\n",
            "{stderr}"
        );
    }
}

/// Seals `payload` from `orders` to `billing` (the keys of [`setup`]) into `file`.
pub fn seal_to(d: &Path, file: &str, payload: &[u8]) {
    let env = ok(
        &[
            "seal",
            "--signing-key",
            "keys/orders.sign.jwk",
            "--type",
            "order.created",
            "--to",
            "keys/billing.recipient.pub.jwk",
        ],
        d,
        payload,
    );
    std::fs::write(d.join(file), env).unwrap();
}

/// The chaos test through processes: N envelopes, each delivered three times in random order
/// to 4 concurrent workers running `eventseal open … -- HANDLER`; the handler fails at random
/// 30 % of the time before its side effect; failed (exit 4) and in-progress deliveries are
/// redelivered until every delivery is acknowledged (exit 0, or `replayed`). Every envelope's
/// side effect happens exactly once. `store` is the replay-store arguments.
pub fn chaos_processes(d: &Path, store: &[&str], envelopes: usize) -> (usize, usize, usize) {
    let mut queue = Vec::new();
    for i in 0..envelopes {
        seal_to(d, &format!("e{i}.json"), format!("{i}").as_bytes());
        queue.extend([i, i, i]);
    }
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for i in (1..queue.len()).rev() {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        queue.swap(i, usize::try_from(rng % (i as u64 + 1)).unwrap());
    }
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(queue)));
    let counts = Arc::new(Mutex::new((0usize, 0usize, 0usize))); // processed, failed, in-progress
                                                                 // The side effect: one line per processing, appended (O_APPEND) by the handler.
    let handler = "r=$(od -An -N1 -tu1 /dev/urandom); \
                   if [ $r -lt 77 ]; then exit 1; fi; \
                   printf '%s\\n' \"$(cat)\" >> effects.log";
    std::thread::scope(|s| {
        for _ in 0..4 {
            let (queue, counts) = (&queue, &counts);
            s.spawn(move || loop {
                let Some(i) = queue.lock().unwrap().pop_front() else {
                    break;
                };
                let out = bin()
                    .args(OPEN_BILLING)
                    .args(store)
                    .arg(format!("e{i}.json"))
                    .args(["--", "sh", "-c", handler])
                    .current_dir(d)
                    .output()
                    .unwrap();
                let err = String::from_utf8_lossy(&out.stderr);
                let mut c = counts.lock().unwrap();
                match out.status.code() {
                    Some(0) => c.0 += 1,
                    Some(3) if err == "eventseal: rejected: replayed\n" => {}
                    Some(4) => {
                        c.1 += 1;
                        queue.lock().unwrap().push_back(i);
                    }
                    Some(3) if err == "eventseal: rejected: in-progress\n" => {
                        c.2 += 1;
                        queue.lock().unwrap().push_back(i);
                    }
                    other => panic!("e{i}: {other:?}: {err}"),
                }
            });
        }
    });
    let log = std::fs::read_to_string(d.join("effects.log")).unwrap();
    let mut seen = vec![0usize; envelopes];
    for line in log.lines() {
        seen[line.parse::<usize>().unwrap()] += 1;
    }
    for (i, n) in seen.iter().enumerate() {
        assert_eq!(*n, 1, "envelope {i}'s side effect happened {n} times");
    }
    let c = *counts.lock().unwrap();
    assert_eq!(c.0, envelopes);
    c
}

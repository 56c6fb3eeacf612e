//! Every read is bounded: an endless input (`/dev/zero`, or a pipe that never ends) is
//! rejected `too-large` (exit 3) within a second, and the process's peak memory stays small.
//! Alone in its test binary, so that the peak RSS of this process's children is theirs.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// The largest peak RSS any command here may reach: the inputs are capped at 25 MiB at most
/// (webhook bodies), envelope inputs at 272 KiB.
const MAX_RSS_KIB: i64 = 64 * 1024;

fn peak_rss_of_children_kib() -> i64 {
    let usage =
        nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN).unwrap();
    usage.max_rss()
}

/// Runs `args` with stdin from `/dev/zero`: exit 3, `too-large`, within a second.
fn endless_file(args: &[&str], d: &std::path::Path) {
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let t = Instant::now();
    let out = bin()
        .args(args)
        .current_dir(d)
        .stdin(Stdio::from(zero))
        .output()
        .unwrap();
    let took = t.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
    assert!(
        stderr.starts_with("eventseal: rejected: too-large\n"),
        "{args:?}: {stderr}"
    );
    assert!(out.stdout.is_empty(), "{args:?}");
    assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
    let rss = peak_rss_of_children_kib();
    assert!(rss < MAX_RSS_KIB, "{args:?}: peak RSS {rss} KiB");
}

#[test]
fn endless_inputs_are_too_large_with_bounded_memory() {
    let dir = setup();
    let d = dir.path();
    let seal = [
        "seal",
        "--signing-key",
        "keys/orders.sign.jwk",
        "--type",
        "t",
        "--to",
        "keys/billing.recipient.pub.jwk",
    ];
    let open: Vec<&str> = with(OPEN_BILLING, &["--no-replay-check"]);
    // The main input as a file, positionally, with --input, and from stdin.
    for args in [
        with(&seal, &["/dev/zero"]),
        with(&seal, &["--input", "/dev/zero"]),
        with(&seal, &[]),
        with(&open, &["/dev/zero"]),
        with(&open, &["--input", "-"]),
        vec!["inspect", "/dev/zero"],
        vec!["inspect"],
        vec!["inspect", "-"],
        vec![
            "webhook",
            "verify",
            "--provider",
            "github",
            "--secret",
            "s",
            "/dev/zero",
        ],
        // Key files and trust files have their own caps.
        vec!["key", "public", "/dev/zero"],
        vec!["trust", "check", "--file", "/dev/zero"],
        with(
            &[
                "seal",
                "--signing-key",
                "/dev/zero",
                "--type",
                "t",
                "--to",
                "keys/billing.recipient.pub.jwk",
            ],
            &["keys/billing.recipient.pub.jwk"],
        ),
        vec![
            "open",
            "--key",
            "keys/billing.recipient.jwk",
            "--trust-file",
            "/dev/zero",
            "--no-replay-check",
            "keys/billing.recipient.pub.jwk",
        ],
    ] {
        endless_file(&args, d);
    }
    // The trust file's over-size message names the file (it said "configuration file bytes
    // is 0" before reads were bounded).
    let out = run(&["trust", "check", "--file", "/dev/zero"], d, b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--file /dev/zero: more than"), "{stderr}");
}

/// An endless pipe: the writer is cut off after the limit plus one byte is read.
#[test]
fn an_endless_pipe_is_cut_off() {
    let dir = setup();
    let d = dir.path();
    let mut child = bin()
        .args(["inspect"])
        .current_dir(d)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'{'; 64 * 1024];
        let mut written = 0usize;
        // Bounded: stops after 64 MiB even if the reader never stops reading.
        while written < 64 * 1024 * 1024 {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
            written += chunk.len();
        }
        written
    });
    let out = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("eventseal: rejected: too-large\n"));
    assert!(written < 2 * 1024 * 1024, "the tool read {written} bytes");
}

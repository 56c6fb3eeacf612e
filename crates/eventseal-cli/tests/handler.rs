//! `eventseal open … -- HANDLER`: the envelope's lease is held while the handler runs, then
//! completed (exit 0) or released (exit 4) — a published contract, through the built binary.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// `eventseal open FILE --replay-db r.db [extra] -- sh -c SCRIPT`.
fn open_with(d: &Path, file: &str, extra: &[&str], script: &str) -> Command {
    let mut cmd = bin();
    cmd.args(OPEN_BILLING)
        .args(["--replay-db", "r.db", file])
        .args(extra)
        .args(["--", "sh", "-c", script])
        .current_dir(d)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn the_handler_gets_the_payload_and_the_verified_facts() {
    let dir = setup();
    let d = dir.path();
    seal_to(d, "env.json", b"{\"order\":42}");
    let out = open_with(
        d,
        "env.json",
        &[],
        "cat > got.payload; env | grep '^EVENTSEAL_' | sort > got.env",
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(d.join("got.payload")).unwrap(),
        b"{\"order\":42}"
    );
    let env = std::fs::read_to_string(d.join("got.env")).unwrap();
    let inspect: serde_json::Value =
        serde_json::from_slice(&ok(&["inspect", "env.json"], d, b"")).unwrap();
    let id = inspect["header"]["id"].as_str().unwrap();
    assert_eq!(
        env,
        format!(
            "EVENTSEAL_ENVELOPE_ID={id}\nEVENTSEAL_EVENT_TYPE=order.created\nEVENTSEAL_SOURCE=orders\n"
        )
    );
    // Completed: a redelivery is a duplicate, and its handler does not run.
    let again = open_with(d, "env.json", &[], "touch ran-again")
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(3));
    assert_eq!(stderr(&again), "eventseal: rejected: replayed\n");
    assert!(!d.join("ran-again").exists());
}

#[test]
fn a_failing_handler_releases_exit_4_then_the_retry_processes() {
    let dir = setup();
    let d = dir.path();
    seal_to(d, "env.json", b"x");
    let failed = open_with(d, "env.json", &[], "exit 3").output().unwrap();
    assert_eq!(failed.status.code(), Some(4), "{}", stderr(&failed));
    assert_eq!(
        stderr(&failed),
        "eventseal: handler failed: sh exited with status 3\n"
    );
    let killed = open_with(d, "env.json", &[], "kill -9 $$")
        .output()
        .unwrap();
    assert_eq!(killed.status.code(), Some(4), "{}", stderr(&killed));
    assert_eq!(
        stderr(&killed),
        "eventseal: handler failed: sh was killed by signal 9\n"
    );
    let missing = bin()
        .args(OPEN_BILLING)
        .args(["--replay-db", "r.db", "env.json", "--", "./no-such-handler"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(4));
    assert!(
        stderr(&missing).starts_with("eventseal: handler failed: ./no-such-handler: cannot start:")
    );
    // Released every time: the retry processes it; the third delivery is a duplicate.
    let ok = open_with(d, "env.json", &[], "cat > got").output().unwrap();
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(std::fs::read(d.join("got")).unwrap(), b"x");
    let third = open_with(d, "env.json", &[], "true").output().unwrap();
    assert_eq!(third.status.code(), Some(3));
    assert_eq!(stderr(&third), "eventseal: rejected: replayed\n");
}

#[test]
fn a_delivery_while_the_handler_runs_is_in_progress() {
    let dir = setup();
    let d = dir.path();
    seal_to(d, "env.json", b"x");
    let first = open_with(d, "env.json", &[], "touch started; sleep 2")
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !d.join("started").exists() {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    // A redelivery (or an attacker's replay) while it runs: in-progress, exit 3.
    let second = open_with(d, "env.json", &[], "touch second-ran")
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(3));
    assert_eq!(stderr(&second), "eventseal: rejected: in-progress\n");
    // Without a handler too.
    let plain = run(
        &with(OPEN_BILLING, &["--replay-db", "r.db", "env.json"]),
        d,
        b"",
    );
    assert_eq!(plain.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&plain.stderr),
        "eventseal: rejected: in-progress\n"
    );
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(!d.join("second-ran").exists());
    let after = open_with(d, "env.json", &[], "true").output().unwrap();
    assert_eq!(stderr(&after), "eventseal: rejected: replayed\n");
}

/// A handler slower than its lease: another open takes the lapsed lease over and completes;
/// the first then cannot complete: exit 5, `eventseal: not completed: lease-lost`.
/// A handler still running near the end of its lease is stopped (SIGTERM, then SIGKILL
/// after a grace period) and gone before the lease ends, so no other worker can take the
/// envelope over while it runs; the envelope is released (exit 4), and the retry processes it.
#[test]
fn a_handler_past_its_lease_is_stopped_and_released_exit_4() {
    let dir = setup();
    let d = dir.path();
    seal_to(d, "env.json", b"x");
    // It ignores SIGTERM (noting it), so only SIGKILL ends it.
    let out = open_with(
        d,
        "env.json",
        &["--lease", "3s"],
        "echo $$ > handler.pid; trap 'touch got-term' TERM; while :; do sleep 0.05; done",
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    // A lease of 3 s, counted from a whole second up to 1 s before the handler started: a
    // grace of 300 ms, SIGTERM two graces before that earliest end.
    assert_eq!(
        stderr(&out),
        "eventseal: handler failed: timed out after 1400ms\n"
    );
    assert!(d.join("got-term").exists(), "SIGTERM first");
    let pid = std::fs::read_to_string(d.join("handler.pid")).unwrap();
    let alive = Command::new("kill")
        .args(["-0", pid.trim()])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!alive.success(), "the handler is gone when eventseal exits");
    // Released, not in progress: the retry runs at once.
    let retry = open_with(d, "env.json", &[], "touch retried")
        .output()
        .unwrap();
    assert!(retry.status.success(), "{}", stderr(&retry));
    assert!(d.join("retried").exists());
}

/// The lease lapses while the payload is still being written (to a stdout nobody reads yet):
/// another open takes the envelope over, and the first, once its write ends, cannot complete
/// a lease it no longer holds: exit 5, `not completed: lease-lost`.
#[test]
fn a_lapsed_lease_is_not_completed_exit_5() {
    let dir = setup();
    let d = dir.path();
    // Larger than a pipe's buffer, so the write blocks until the test reads.
    seal_to(d, "env.json", &vec![b'p'; 100 * 1024]);
    let mut slow = bin()
        .args(OPEN_BILLING)
        .args(["--replay-db", "r.db", "env.json", "--lease", "1s"])
        .current_dir(d)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let fast = open_with(d, "env.json", &[], "true").output().unwrap();
    assert!(fast.status.success(), "{}", stderr(&fast));
    let mut payload = Vec::new();
    std::io::Read::read_to_end(&mut slow.stdout.take().unwrap(), &mut payload).unwrap();
    assert_eq!(payload.len(), 100 * 1024);
    let slow = slow.wait_with_output().unwrap();
    assert_eq!(slow.status.code(), Some(5), "{}", stderr(&slow));
    assert!(
        stderr(&slow).starts_with("eventseal: not completed: lease-lost\n"),
        "{}",
        stderr(&slow)
    );
}

/// eventseal killed (SIGKILL) while its handler runs: the envelope stays in progress until
/// the lease lapses, then a later open processes it.
#[test]
fn a_killed_eventseal_leaves_a_lease_that_lapses() {
    let dir = setup();
    let d = dir.path();
    seal_to(d, "env.json", b"x");
    let mut victim = open_with(
        d,
        "env.json",
        &["--lease", "5s"],
        "echo $$ > handler.pid; sleep 30",
    )
    .spawn()
    .unwrap();
    let t = Instant::now();
    while std::fs::read_to_string(d.join("handler.pid")).map_or(true, |p| p.trim().is_empty()) {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    victim.kill().unwrap(); // SIGKILL: no release, no completion
    victim.wait().unwrap();
    let handler_pid = std::fs::read_to_string(d.join("handler.pid")).unwrap();
    let _ = Command::new("kill")
        .args(["-9", handler_pid.trim()])
        .status();
    let during = open_with(d, "env.json", &["--lease", "2s"], "true")
        .output()
        .unwrap();
    assert_eq!(stderr(&during), "eventseal: rejected: in-progress\n");
    std::thread::sleep(Duration::from_millis(5100));
    let t = Instant::now();
    loop {
        let after = open_with(d, "env.json", &[], "cat > got").output().unwrap();
        if after.status.success() {
            break;
        }
        // The lease is counted in whole seconds from its start: allow for the rounding.
        assert_eq!(stderr(&after), "eventseal: rejected: in-progress\n");
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "the lease never lapsed"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(std::fs::read(d.join("got")).unwrap(), b"x");
}

#[test]
fn chaos_through_processes_over_sqlite() {
    let dir = setup();
    let (processed, failed, in_progress) =
        chaos_processes(dir.path(), &["--replay-db", "r.db"], 200);
    println!("sqlite, processes: {processed} processed, {failed} handler failures, {in_progress} in-progress redeliveries");
    assert!(failed > 20);
}

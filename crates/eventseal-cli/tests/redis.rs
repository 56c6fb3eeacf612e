//! `eventseal open --replay-redis` against a real redis-server that the test starts on a free
//! loopback port (feature `redis-server-tests`; `apt-get install redis-server`).

mod common;
#[path = "../../../tests/common/redis_server.rs"]
mod redis_server;

use common::*;
use redis_server::RedisServer;

#[test]
fn four_processes_accept_exactly_once() {
    let redis = RedisServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Keys and an envelope made with the library, opened by four CLI processes at once.
    CliKeys::write_to(d).write_envelope(&d.join("env.json"), b"processes");
    let outputs = race_cli_open(d, "env.json", &["--replay-redis", &redis.url()]);
    assert_exactly_one_accepted(&outputs, b"processes");
}

/// The CLI over TLS with a private CA (`--replay-redis-ca`): four processes, one accept. Without
/// the CA the server's certificate is not trusted: rejected as `store-unavailable` (exit 3).
#[test]
fn cli_over_tls_with_a_private_ca() {
    let redis = RedisServer::start_tls();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    CliKeys::write_to(d).write_envelope(&d.join("env.json"), b"over tls");
    std::fs::write(d.join("ca.pem"), redis.ca_pem()).unwrap();
    let url = redis.tls_url();
    let untrusted = cli_open(d, "env.json", &["--replay-redis", &url]);
    assert_eq!(untrusted.status.code(), Some(3), "{untrusted:?}");
    assert!(String::from_utf8_lossy(&untrusted.stderr).contains("store-unavailable"));
    let outputs = race_cli_open(
        d,
        "env.json",
        &["--replay-redis", &url, "--replay-redis-ca", "ca.pem"],
    );
    assert_exactly_one_accepted(&outputs, b"over tls");
}

/// The chaos test through processes (`open … -- HANDLER`) over one Redis server.
#[test]
fn chaos_through_processes_over_redis() {
    let redis = RedisServer::start(&[]);
    let dir = setup();
    let url = redis.url();
    let (processed, failed, in_progress) =
        chaos_processes(dir.path(), &["--replay-redis", &url], 200);
    println!("redis, processes: {processed} processed, {failed} handler failures, {in_progress} in-progress redeliveries");
    assert!(failed > 20);
}

/// Without a handler, `open` completes the envelope only after the output is written; a
/// failed write releases it for a retry. The write is made to fail with a file-size limit
/// (`ulimit -f`, SIGXFSZ ignored so the write returns EFBIG), which does not reach the
/// replay store: it is a separate process here, a redis-server.
#[test]
fn a_failed_output_write_releases_the_envelope() {
    let redis = RedisServer::start(&[]);
    let dir = setup();
    let d = dir.path();
    let payload = vec![b'x'; 64 * 1024];
    seal_to(d, "env.json", &payload);
    let url = redis.url();
    let open = format!(
        "{} open --recipient-key keys/billing.recipient.jwk --trust keys/orders.verify.jwk \
         --replay-redis {url} env.json --output out.bin",
        bin().get_program().to_string_lossy()
    );
    let limited = std::process::Command::new("sh")
        .args(["-c", &format!("trap '' XFSZ; ulimit -f 8; exec {open}")])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(limited.status.code(), Some(1), "{limited:?}");
    let stderr = String::from_utf8_lossy(&limited.stderr);
    assert!(stderr.starts_with("eventseal: error: out.bin:"), "{stderr}");
    assert!(!d.join("out.bin").exists());
    // Released: the retry writes it, and a third open is a duplicate.
    let retry = std::process::Command::new("sh")
        .args(["-c", &format!("exec {open}")])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(retry.status.success(), "{retry:?}");
    assert_eq!(std::fs::read(d.join("out.bin")).unwrap(), payload);
    let third = std::process::Command::new("sh")
        .args(["-c", &format!("exec {open}")])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&third.stderr),
        "eventseal: rejected: replayed\n"
    );
}

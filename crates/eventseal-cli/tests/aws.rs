//! The tool's AWS commands against moto (a real server on a loopback port, reached through
//! `AWS_ENDPOINT_URL` by the tool's own SDK clients): `seal --eventbridge-entry --put`,
//! `open --sqs-batch [--dead-letter-permanent] --replay-dynamodb TABLE … -- HANDLER`, and
//! `open --replay-dynamodb` for single events; eight processes racing one batch.

mod common;

#[path = "../../eventseal-aws/tests/common/moto.rs"]
mod moto;

use std::path::Path;
use std::process::{Output, Stdio};

use common::{bin, keygen_recipient, ok, run_env, run_env_deadline, stderr};
use moto::Moto;

const BUS: &str = "central";
const EB_SOURCE: &str = "com.example.orders";

/// Keys for `orders` and `billing`, a trust file binding orders to moto's account and the
/// EventBridge source, a handler script that appends each payload (one line) to
/// `handled.txt` and fails for payloads starting with `fail`.
fn keys_and_trust(d: &Path) {
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
    keygen_recipient(d, "billing");
    ok(
        &[
            "trust",
            "add",
            "--file",
            "trust.json",
            "--source",
            "orders",
            "--key",
            "keys/orders.verify.jwk",
            "--account",
            moto::ACCOUNT,
            "--eventbridge-source",
            EB_SOURCE,
            "--allow",
            "order.*",
        ],
        d,
        b"",
    );
    std::fs::write(
        d.join("handler.sh"),
        "#!/bin/sh\npayload=$(cat)\ncase \"$payload\" in fail*) exit 7;; esac\n\
         printf '%s %s\\n' \"$payload\" \"$EVENTSEAL_SOURCE\" >> handled.txt\n\
         echo \"handled $EVENTSEAL_ENVELOPE_ID\"\n",
    )
    .unwrap();
}

fn handled(d: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(d.join("handled.txt"))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// `seal --eventbridge-entry --put` onto `bus`.
fn put_args(bus: &str) -> [&str; 13] {
    [
        "seal",
        "--key",
        "keys/orders.sign.jwk",
        "--type",
        "order.created",
        "--to",
        "keys/billing.recipient.pub.jwk",
        "--eventbridge-entry",
        "--put",
        "--bus",
        bus,
        "--source-name",
        EB_SOURCE,
    ]
}

/// A put that failed: exit 1 with `PutEvents failed: …` and nothing on stdout.
fn assert_put_failed(out: &std::process::Output) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    assert!(
        stderr(out).starts_with("eventseal: error: PutEvents failed: "),
        "{}",
        stderr(out)
    );
    assert!(out.stdout.is_empty());
}

/// `seal --eventbridge-entry --put`: prints the event id.
fn seal_put(d: &Path, env: &[(&str, String)], payload: &str) -> String {
    let out = run_env(&put_args(BUS), d, payload.as_bytes(), env);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = String::from_utf8(out.stdout).unwrap();
    assert_eq!(id.lines().count(), 1);
    id.trim().to_owned()
}

const BATCH: &[&str] = &[
    "open",
    "--sqs-batch",
    "--key",
    "keys/billing.recipient.jwk",
    "--trust-file",
    "trust.json",
    "--replay-dynamodb",
    "replay",
    "sqs-event.json",
];

fn batch(d: &Path, env: &[(&str, String)], extra: &[&str]) -> (Vec<String>, Output) {
    let mut args: Vec<&str> = BATCH.to_vec();
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "sh", "handler.sh"]);
    let out = run_env(&args, d, b"", env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut failed: Vec<String> = v["batchItemFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
        .collect();
    failed.sort();
    (failed, out)
}

/// A bus with a rule to a queue and a replay table in a fresh moto; returns the queue URL.
fn aws_setup(moto: &Moto) -> (tokio::runtime::Runtime, aws_config::SdkConfig, String) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (config, queue) = rt.block_on(async {
        let config = moto.sdk_config().await;
        let queue = moto::bus_to_queue(&config, BUS, EB_SOURCE).await;
        moto::create_replay_table(&aws_sdk_dynamodb::Client::new(&config), "replay").await;
        (config, queue)
    });
    (rt, config, queue)
}

#[test]
fn put_then_process_a_batch_once_with_retries_and_dead_letters() {
    let moto = Moto::start();
    let env = moto.env();
    let (rt, config, queue) = aws_setup(&moto);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keys_and_trust(d);

    let ids: Vec<String> = ["order a", "order b", "fail c", "order d"]
        .iter()
        .map(|p| seal_put(d, &env, p))
        .collect();
    assert!(ids.iter().all(|id| id.len() >= 32), "{ids:?}");
    let mut event = rt.block_on(moto::receive_all(&config, &queue));
    assert_eq!(event["Records"].as_array().unwrap().len(), 4);
    // A fifth record: the first one with its signature changed (an attacker on the path).
    let mut forged = event["Records"][0].clone();
    let mut body: serde_json::Value =
        serde_json::from_str(forged["body"].as_str().unwrap()).unwrap();
    let sig = body["detail"]["signature"].as_str().unwrap().to_owned();
    body["detail"]["signature"] = match sig.strip_prefix('A') {
        Some(rest) => format!("B{rest}"),
        None => format!("A{}", &sig[1..]),
    }
    .into();
    forged["body"] = body.to_string().into();
    forged["messageId"] = "forged".into();
    event["Records"].as_array_mut().unwrap().push(forged);
    std::fs::write(d.join("sqs-event.json"), event.to_string()).unwrap();

    let (failed, out) = batch(d, &env, &[]);
    assert_eq!(failed.len(), 1, "{}", stderr(&out));
    // The handler's stdout went to stderr: stdout is only the batch response.
    assert_eq!(
        stderr(&out).matches("handled ").count(),
        3,
        "{}",
        stderr(&out)
    );
    assert_eq!(
        handled(d),
        ["order a orders", "order b orders", "order d orders"]
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("eventseal: record {}: handler-failed", failed[0])),
        "{err}"
    );
    assert!(
        err.contains("eventseal: record forged: dropped: bad-signature"),
        "{err}"
    );

    // The same batch again: duplicates acknowledged, no handler run for them; the failed
    // record fails again; with --dead-letter-permanent the forged one is listed too.
    let (again, out) = batch(d, &env, &["--dead-letter-permanent"]);
    let mut expected = vec![failed[0].clone(), "forged".to_owned()];
    expected.sort();
    assert_eq!(again, expected, "{}", stderr(&out));
    assert_eq!(handled(d).len(), 3);
    assert_eq!(stderr(&out).matches(": duplicate").count(), 3);
}

#[test]
fn eight_processes_racing_one_batch_handle_each_payload_once() {
    let moto = Moto::start();
    let env = moto.env();
    let (rt, config, queue) = aws_setup(&moto);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keys_and_trust(d);
    let payloads: Vec<String> = (0..6).map(|i| format!("order {i}")).collect();
    for p in &payloads {
        seal_put(d, &env, p);
    }
    let event = rt.block_on(moto::receive_all(&config, &queue));
    std::fs::write(d.join("sqs-event.json"), event.to_string()).unwrap();

    let mut args: Vec<&str> = BATCH.to_vec();
    args.extend_from_slice(&["--", "sh", "handler.sh"]);
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut cmd = bin();
            cmd.args(&args)
                .current_dir(d)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            for (k, v) in &env {
                cmd.env(k, v);
            }
            cmd.spawn().unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outputs {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    }
    // Every payload handled exactly once across the eight processes.
    let mut expected: Vec<String> = payloads.iter().map(|p| format!("{p} orders")).collect();
    expected.sort();
    assert_eq!(handled(d), expected);
    // Records another process held were listed for retry (in-progress) or acknowledged as
    // duplicates, never handled twice; a redelivery now finds them all done.
    let (failed, out) = batch(d, &env, &[]);
    assert!(failed.is_empty(), "{}", stderr(&out));
    assert_eq!(stderr(&out).matches(": duplicate").count(), 6);
    assert_eq!(handled(d), expected);
}

#[test]
fn single_opens_with_dynamodb_and_failures_exit_as_published() {
    let moto = Moto::start();
    let env = moto.env();
    let (rt, config, queue) = aws_setup(&moto);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keys_and_trust(d);
    seal_put(d, &env, "order single");
    let event = rt.block_on(moto::receive_all(&config, &queue));
    std::fs::write(
        d.join("event.json"),
        event["Records"][0]["body"].as_str().unwrap(),
    )
    .unwrap();
    let open = [
        "open",
        "--eventbridge",
        "--key",
        "keys/billing.recipient.jwk",
        "--trust-file",
        "trust.json",
        "--replay-dynamodb",
        "replay",
        "event.json",
    ];
    let out = run_env(&open, d, b"", &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"order single");
    let out = run_env(&open, d, b"", &env);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stderr(&out), "eventseal: rejected: replayed\n");

    // DynamoDB unreachable: a single open is rejected store-unavailable (exit 3); a batch
    // lists every record for retry and exits 0.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut down = env.clone();
    down[0].1 = format!("http://127.0.0.1:{port}");
    let out = run_env(&open, d, b"", &down);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stderr(&out), "eventseal: rejected: store-unavailable\n");
    std::fs::write(d.join("sqs-event.json"), event.to_string()).unwrap();
    let (failed, out) = batch(d, &down, &[]);
    assert_eq!(failed.len(), 1);
    assert!(
        stderr(&out).contains("retry: store-unavailable"),
        "{}",
        stderr(&out)
    );

    // PutEvents to a bus that does not exist: exit 1 with EventBridge's error code.
    let out = run_env(&put_args("no-such-bus"), d, b"x", &env);
    assert_put_failed(&out);

    // An endpoint that accepts connections and never answers: the put gives up within its
    // operation timeouts (exit 1, nothing on stdout) instead of hanging.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_env: Vec<(&str, String)> = env
        .iter()
        .filter(|(k, _)| *k != "AWS_ENDPOINT_URL")
        .cloned()
        .chain([(
            "AWS_ENDPOINT_URL",
            format!("http://{}", silent.local_addr().unwrap()),
        )])
        .collect();
    let started = std::time::Instant::now();
    let out = run_env_deadline(
        &put_args(BUS),
        d,
        b"x",
        &silent_env,
        std::time::Duration::from_secs(90),
    );
    assert_put_failed(&out);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    drop(silent);

    // --sqs-batch needs a handler and a replay store; its input must be an SQS event.
    let sqs_open = |more: &[&str]| {
        let mut args = vec![
            "open",
            "--sqs-batch",
            "--key",
            "keys/billing.recipient.jwk",
            "--trust-file",
            "trust.json",
        ];
        args.extend_from_slice(more);
        run_env(&args, d, b"", &env)
    };
    let out = sqs_open(&["--replay-dynamodb", "replay", "sqs-event.json"]);
    assert_eq!(out.status.code(), Some(2), "no handler: {}", stderr(&out));
    let out = sqs_open(&["--no-replay-check", "sqs-event.json", "--", "true"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no replay store: {}",
        stderr(&out)
    );
    let out = sqs_open(&["--replay-dynamodb", "replay", "event.json", "--", "true"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).starts_with("eventseal: rejected: malformed\n"),
        "{}",
        stderr(&out)
    );
}

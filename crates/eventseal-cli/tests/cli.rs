//! The command-line tool, run as a built binary end to end: the contract of exit codes,
//! files and messages.

mod common;

use common::*;

#[test]
fn keygen_writes_secret_files_0600_and_refuses_to_overwrite() {
    let dir = setup();
    let d = dir.path();
    for f in [
        "orders.sign.jwk",
        "orders.verify.jwk",
        "billing.recipient.jwk",
        "billing.recipient.pub.jwk",
    ] {
        assert!(d.join("keys").join(f).exists(), "{f}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |f: &str| {
            std::fs::metadata(d.join("keys").join(f))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("orders.sign.jwk"), 0o600);
        assert_eq!(mode("billing.recipient.jwk"), 0o600);
        assert_eq!(mode("orders.verify.jwk"), 0o644);
    }
    let pubkey = std::fs::read_to_string(d.join("keys/orders.verify.jwk")).unwrap();
    assert!(!pubkey.contains("\"d\""));
    let out = run(
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
    assert_eq!(out.status.code(), Some(1));
    let out = run(
        &[
            "keygen",
            "signing",
            "--source",
            "bad source",
            "--out-dir",
            "keys",
        ],
        d,
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn seal_open_inspect_and_replay() {
    let dir = setup();
    let d = dir.path();
    let payload = b"{\"order\":42}\n\x00\xff binary tail";
    let env = ok(
        &[
            "seal",
            "--key",
            "keys/orders.sign.jwk",
            "--type",
            "order.created",
            "--to",
            "keys/billing.recipient.pub.jwk",
            "--to",
            "keys/audit.recipient.pub.jwk",
            "--ttl",
            "600",
            "--content-type",
            "application/json",
        ],
        d,
        payload,
    );
    // What the CLI writes (docs/FORMAT.md section 6): the producer's exact compact form,
    // `{"header":…,"ciphertext":…,"signature":…}` with no whitespace, then one LF.
    let text = std::str::from_utf8(&env).unwrap();
    let compact = text.strip_suffix('\n').unwrap();
    assert!(!compact.contains(char::is_whitespace), "{text:?}");
    assert!(compact.starts_with("{\"header\":\""), "{text:?}");
    let v: serde_json::Value = serde_json::from_str(compact).unwrap();
    let names: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(names, ["header", "ciphertext", "signature"]);
    std::fs::write(d.join("env.json"), &env).unwrap();

    // inspect: header only, marked unverified.
    let shown: serde_json::Value =
        serde_json::from_slice(&ok(&["inspect", "--input", "env.json"], d, b"")).unwrap();
    assert_eq!(shown["verified"], false);
    assert_eq!(shown["header"]["source"], "orders");
    assert_eq!(shown["header"]["event_type"], "order.created");
    assert_eq!(shown["header"]["recipients"].as_array().unwrap().len(), 2);

    // open from stdin, exact bytes out; the second time it is a replay.
    let open = with(OPEN_BILLING, &["--replay-db", "replay.db"]);
    assert_eq!(ok(&open, d, &env), payload);
    rejected(&open, d, &env, "replayed");

    // audit opens too, into a file, with the verified header written alongside.
    let out = ok(
        &[
            "open",
            "--key",
            "keys/audit.recipient.jwk",
            "--trust",
            "keys/orders.verify.jwk",
            "--replay-db",
            "audit.db",
            "--input",
            "env.json",
            "--output",
            "payload.bin",
            "--header-output",
            "header.json",
        ],
        d,
        b"",
    );
    assert!(out.is_empty());
    assert_eq!(std::fs::read(d.join("payload.bin")).unwrap(), payload);
    let header: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("header.json")).unwrap()).unwrap();
    assert_eq!(header["source"], "orders");

    // --no-replay-check opens repeatedly (explicitly waived).
    let waived = with(OPEN_BILLING, &["--no-replay-check", "--input", "env.json"]);
    assert_eq!(ok(&waived, d, b""), payload);
    assert_eq!(ok(&waived, d, b""), payload);
}

#[test]
fn rejections_have_kinds_and_exit_3() {
    let dir = setup();
    let d = dir.path();
    let env = ok(
        &[
            "seal",
            "--key",
            "keys/orders.sign.jwk",
            "--type",
            "t",
            "--to",
            "keys/billing.recipient.pub.jwk",
            "--ttl",
            "60",
        ],
        d,
        b"x",
    );
    let nrc = with(OPEN_BILLING, &["--no-replay-check"]);
    rejected(&nrc, d, b"not json", "malformed");
    rejected(&nrc, d, b"", "malformed");
    rejected(&["inspect"], d, b"{}", "malformed");

    // Untrusted signer.
    let rogue = [
        "open",
        "--key",
        "keys/billing.recipient.jwk",
        "--trust",
        "keys/rogue.verify.jwk",
        "--no-replay-check",
    ];
    rejected(&rogue, d, &env, "unknown-key");
    // Not for audit.
    let audit = [
        "open",
        "--key",
        "keys/audit.recipient.jwk",
        "--trust",
        "keys/orders.verify.jwk",
        "--no-replay-check",
    ];
    rejected(&audit, d, &env, "not-a-recipient");
    // Tampered signature (flip one base64 character of the signature).
    let text = String::from_utf8(env.clone()).unwrap();
    let sig_at = text.find("\"signature\":\"").unwrap() + 13;
    let mut bytes = env.clone();
    bytes[sig_at] = if bytes[sig_at] == b'A' { b'B' } else { b'A' };
    rejected(&nrc, d, &bytes, "bad-signature");
    // Time travel with --now.
    let now: i64 = chrono::Utc::now().timestamp();
    let later = (now + 3600).to_string();
    rejected(&with(&nrc, &["--now", &later]), d, &env, "expired");
    let earlier = (now - 3600).to_string();
    rejected(&with(&nrc, &["--now", &earlier]), d, &env, "not-yet-valid");
    // A skew of 0 and lifetime cap below the ttl.
    rejected(
        &with(&nrc, &["--max-lifetime", "59"]),
        d,
        &env,
        "lifetime-too-long",
    );
    // Oversized input.
    let big = vec![b' '; 256 * 1024 + 1];
    rejected(&nrc, d, &big, "too-large");
}

#[test]
fn usage_and_other_failures() {
    let dir = setup();
    let d = dir.path();
    // Usage errors: exit 2.
    for args in [
        vec![
            "open",
            "--key",
            "keys/billing.recipient.jwk",
            "--trust",
            "keys/orders.verify.jwk",
        ],
        vec![
            "open",
            "--key",
            "k",
            "--trust",
            "t",
            "--replay-db",
            "r",
            "--no-replay-check",
        ],
        vec!["seal", "--key", "keys/orders.sign.jwk", "--type", "t"],
        vec![
            "seal",
            "--key",
            "keys/orders.sign.jwk",
            "--type",
            "t",
            "--to",
            "x",
            "--ttl",
            "0",
        ],
        vec!["frobnicate"],
        // --now would let a replay database be purged by a future clock.
        vec![
            "open",
            "--key",
            "k",
            "--trust",
            "t",
            "--replay-db",
            "r",
            "--now",
            "0",
        ],
        vec![],
    ] {
        assert_eq!(run(&args, d, b"").status.code(), Some(2), "{args:?}");
    }
    // Unreadable or wrong key files: exit 1 with a message.
    let missing = run(
        &[
            "seal",
            "--key",
            "nope.jwk",
            "--type",
            "t",
            "--to",
            "keys/billing.recipient.pub.jwk",
        ],
        d,
        b"x",
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr)
        .starts_with("eventseal: error: --signing-key nope.jwk"));
    // A public key where the secret one belongs (and vice versa).
    let swapped = run(
        &[
            "seal",
            "--key",
            "keys/orders.verify.jwk",
            "--type",
            "t",
            "--to",
            "keys/billing.recipient.pub.jwk",
        ],
        d,
        b"x",
    );
    assert_eq!(swapped.status.code(), Some(1));
    let swapped = run(
        &[
            "seal",
            "--key",
            "keys/orders.sign.jwk",
            "--type",
            "t",
            "--to",
            "keys/billing.recipient.jwk",
        ],
        d,
        b"x",
    );
    assert_eq!(swapped.status.code(), Some(1));
    // A secret key is never printed in an error.
    let secret = std::fs::read_to_string(d.join("keys/billing.recipient.jwk")).unwrap();
    let d_value: serde_json::Value = serde_json::from_str(&secret).unwrap();
    assert!(!String::from_utf8_lossy(&swapped.stderr).contains(d_value["d"].as_str().unwrap()));
    // A payload too large to seal once encoded (within the read limit): rejected too-large,
    // exit 3, as every over-limit input is, with the figures.
    let big = vec![0u8; 200 * 1024];
    let out = run(
        &[
            "seal",
            "--key",
            "keys/orders.sign.jwk",
            "--type",
            "t",
            "--to",
            "keys/billing.recipient.pub.jwk",
        ],
        d,
        &big,
    );
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("eventseal: rejected: too-large\n"),
        "{stderr}"
    );
    assert!(stderr.contains("too large: envelope bytes"), "{stderr}");
    // A replay database path that is a directory: an I/O error naming the path and the
    // cause (exit 1), and the envelope is not opened.
    let env = ok(
        &[
            "seal",
            "--key",
            "keys/orders.sign.jwk",
            "--type",
            "t",
            "--to",
            "keys/billing.recipient.pub.jwk",
        ],
        d,
        b"x",
    );
    let out = run(&with(OPEN_BILLING, &["--replay-db", "keys"]), d, &env);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "eventseal: error: --replay-db keys: is a directory; name a database file (created if missing)\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn trust_files_eventbridge_entries_and_new_key_kinds() {
    let dir = setup();
    let d = dir.path();
    ok(
        &[
            "keygen",
            "signing",
            "--source",
            "hsm",
            "--alg",
            "p256",
            "--out-dir",
            "keys",
        ],
        d,
        b"",
    );
    ok(
        &[
            "keygen",
            "symmetric",
            "--consumer",
            "ledger",
            "--out-dir",
            "keys",
        ],
        d,
        b"",
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(d.join("keys/ledger.psk.jwk"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(m & 0o777, 0o600);
    }
    // trust add creates the file, a second add updates it; trust check prints the policy.
    let shown = ok(
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
            "111122223333",
            "--eventbridge-source",
            "com.example.orders",
            "--allow",
            "order.*",
        ],
        d,
        b"",
    );
    assert!(String::from_utf8_lossy(&shown).contains("may send:           order.*"));
    ok(
        &[
            "trust",
            "add",
            "--file",
            "trust.json",
            "--source",
            "hsm",
            "--key",
            "keys/hsm.verify.jwk",
            "--allow",
            "*",
            "--not-after",
            "2100-01-01T00:00:00Z",
        ],
        d,
        b"",
    );
    let check = String::from_utf8(ok(&["trust", "check", "--file", "trust.json"], d, b"")).unwrap();
    assert!(
        check.contains("source orders") && check.contains("source hsm"),
        "{check}"
    );
    assert!(
        check.contains("(ES256)") && check.contains("(Ed25519)") && check.contains("2100-01-01"),
        "{check}"
    );

    // A key for another source is refused; a broken file is named with its field.
    let out = run(
        &[
            "trust",
            "add",
            "--file",
            "trust.json",
            "--source",
            "orders",
            "--key",
            "keys/hsm.verify.jwk",
        ],
        d,
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    std::fs::write(
        d.join("broken.json"),
        r#"{"version":1,"sources":[{"source":"s","allow":["*"],"keys":[],"extra":1}]}"#,
    )
    .unwrap();
    let out = run(&["trust", "check", "--file", "broken.json"], d, b"");
    assert_eq!(out.status.code(), Some(1));
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(
        msg.contains("broken.json") && msg.contains("sources[0]") && msg.contains("extra"),
        "{msg}"
    );

    // Seal a PutEvents entry to an HPKE and a pre-shared-key recipient.
    let entry = ok(
        &[
            "seal",
            "--key",
            "keys/orders.sign.jwk",
            "--type",
            "order.created",
            "--to",
            "keys/billing.recipient.pub.jwk",
            "--to",
            "keys/ledger.psk.jwk",
            "--eventbridge-entry",
            "--bus",
            "central",
            "--source-name",
            "com.example.orders",
        ],
        d,
        b"{\"n\":1}",
    );
    // An array of one entry: `aws events put-events --entries file://entry.json` takes it.
    let entries: serde_json::Value = serde_json::from_slice(&entry).unwrap();
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{entries}");
    let e = entries[0].clone();
    assert_eq!(e["EventBusName"], "central");
    assert_eq!(e["DetailType"], "order.created");
    let envelope: serde_json::Value = serde_json::from_str(e["Detail"].as_str().unwrap()).unwrap();
    let h: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            envelope["header"].as_str().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        h["expires_at"].as_i64().unwrap() - h["issued_at"].as_i64().unwrap(),
        25 * 3600
    );
    let event = |account: &str| {
        serde_json::to_vec(&serde_json::json!({
            "version": "0", "id": "1", "detail-type": e["DetailType"], "source": e["Source"],
            "account": account, "time": "2026-11-25T00:00:00Z", "region": "eu-west-1",
            "resources": [], "detail": envelope,
        }))
        .unwrap()
    };
    let open_eb = [
        "open",
        "--key",
        "keys/billing.recipient.jwk",
        "--trust-file",
        "trust.json",
        "--eventbridge",
        "--replay-db",
        "b.db",
    ];
    assert_eq!(ok(&open_eb, d, &event("111122223333")), b"{\"n\":1}");
    rejected(&open_eb, d, &event("111122223333"), "replayed");
    let open_psk = [
        "open",
        "--key",
        "keys/ledger.psk.jwk",
        "--trust-file",
        "trust.json",
        "--eventbridge",
        "--replay-db",
        "l.db",
    ];
    rejected(&open_psk, d, &event("999988887777"), "binding-mismatch");
    assert_eq!(ok(&open_psk, d, &event("111122223333")), b"{\"n\":1}");

    // Policy from the trust file: orders may not send refund.issued.
    let refund = ok(
        &[
            "seal",
            "--key",
            "keys/orders.sign.jwk",
            "--type",
            "refund.issued",
            "--to",
            "keys/billing.recipient.pub.jwk",
        ],
        d,
        b"x",
    );
    rejected(
        &[
            "open",
            "--key",
            "keys/billing.recipient.jwk",
            "--trust-file",
            "trust.json",
            "--no-replay-check",
        ],
        d,
        &refund,
        "policy-denied",
    );
    // --trust beside --trust-file may not widen a source the file already governs.
    let out = run(
        &[
            "open",
            "--key",
            "keys/billing.recipient.jwk",
            "--trust-file",
            "trust.json",
            "--trust",
            "keys/orders.verify.jwk",
            "--no-replay-check",
        ],
        d,
        &refund,
    );
    assert_eq!(out.status.code(), Some(1));
    // The P-256 source opens through the file.
    let p256 = ok(
        &[
            "seal",
            "--key",
            "keys/hsm.sign.jwk",
            "--type",
            "anything",
            "--to",
            "keys/billing.recipient.pub.jwk",
        ],
        d,
        b"hsm",
    );
    assert_eq!(
        ok(
            &[
                "open",
                "--key",
                "keys/billing.recipient.jwk",
                "--trust-file",
                "trust.json",
                "--no-replay-check"
            ],
            d,
            &p256
        ),
        b"hsm"
    );
}

#[test]
fn webhook_verify_and_sign() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("body.txt"), "Hello, World!").unwrap();
    // GitHub's documented example.
    let gh = [
        "webhook", "verify", "--provider", "github", "--secret", "It's a Secret to Everybody",
        "--header", "X-Hub-Signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "--body", "body.txt",
    ];
    let out: serde_json::Value = serde_json::from_slice(&ok(&gh, d, b"")).unwrap();
    assert_eq!(out["provider"], "github");
    let mut wrong = gh;
    wrong[5] = "not the secret";
    rejected(&wrong, d, b"", "bad-signature");
    // Body from stdin.
    let stdin: Vec<&str> = gh[..8].to_vec();
    assert!(run(&stdin, d, b"Hello, World!").status.success());

    // Sign as Standard Webhooks, then verify the printed headers; --now for an old delivery.
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let signed = String::from_utf8(ok(
        &[
            "webhook",
            "sign",
            "--provider",
            "standard-webhooks",
            "--secret",
            secret,
            "--id",
            "msg_1",
            "--timestamp",
            "1700000000",
            "--body",
            "body.txt",
        ],
        d,
        b"",
    ))
    .unwrap();
    let headers: Vec<&str> = signed.lines().collect();
    assert_eq!(headers.len(), 3);
    assert!(headers[2].starts_with("webhook-signature: v1,"));
    let mut args = vec![
        "webhook",
        "verify",
        "--provider",
        "standard-webhooks",
        "--secret",
        secret,
        "--body",
        "body.txt",
    ];
    for h in &headers {
        args.push("--header");
        args.push(h);
    }
    rejected(&args, d, b"", "expired");
    args.extend(["--now", "1700000000"]);
    let out: serde_json::Value = serde_json::from_slice(&ok(&args, d, b"")).unwrap();
    assert_eq!(out["id"], "msg_1");
    assert_eq!(out["timestamp"], 1_700_000_000);
    // Malformed header argument and bad secret: exit 1; unknown provider: usage, exit 2.
    assert_eq!(
        run(
            &[
                "webhook",
                "verify",
                "--provider",
                "stripe",
                "--secret",
                "x",
                "--header",
                "bogus"
            ],
            d,
            b""
        )
        .status
        .code(),
        Some(1)
    );
    assert_eq!(
        run(
            &[
                "webhook",
                "verify",
                "--provider",
                "standard-webhooks",
                "--secret",
                "nope"
            ],
            d,
            b""
        )
        .status
        .code(),
        Some(1)
    );
    assert_eq!(
        run(
            &["webhook", "verify", "--provider", "acme", "--secret", "x"],
            d,
            b""
        )
        .status
        .code(),
        Some(2)
    );
    // A missing signature header is a rejection with its kind.
    rejected(
        &["webhook", "verify", "--provider", "slack", "--secret", "x"],
        d,
        b"{}",
        "malformed",
    );
}

/// Without the `redis` feature, `--replay-redis` is refused with a clear message (exit 1),
/// never silently ignored.
#[cfg(not(feature = "redis"))]
#[test]
fn replay_redis_needs_the_feature() {
    let dir = setup();
    let out = run(
        &[
            "open",
            "--key",
            "keys/billing.recipient.jwk",
            "--trust",
            "keys/orders.verify.jwk",
            "--replay-redis",
            "redis://127.0.0.1:1",
        ],
        dir.path(),
        b"{}",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`redis` feature"));
}

/// Re-encodings of one signed Twilio request verify under one id, which the CLI prints; an
/// empty parameter name is refused with its kind (issue 12).
#[test]
fn twilio_reencodings_print_one_id() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, b"12345");
    let signed = format!("{url}Bodypay 100CallSidCA1To+18005551212");
    let sig = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        ring::hmac::sign(&key, signed.as_bytes()).as_ref(),
    );
    let header = format!("X-Twilio-Signature: {sig}");
    let verify = |body: &[u8]| {
        let args = [
            "webhook",
            "verify",
            "--provider",
            "twilio",
            "--secret",
            "12345",
            "--url",
            url,
            "--header",
            &header,
        ];
        run(&args, d, body)
    };
    let mut ids = Vec::new();
    for body in [
        &b"To=%2B18005551212&Body=pay+100&CallSid=CA1"[..],
        b"CallSid=CA1&Body=pay%20100&To=%2b18005551212",
        b"%54o=%2B18005551212&&Bo=dypay+100&CallSid=%43A1&",
    ] {
        let out = verify(body);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    let out = verify(b"To=%2B18005551212&Body=pay+100&CallSid=CA1&=");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "eventseal: rejected: malformed\n"
    );
}

//! The command line's conventions and its behaviour under hostile use, through the built
//! binary: safe file names, output files, atomic trust files, `-` and positional inputs,
//! secrets kept off the command line, durations, clearer flag names, keys from other tools,
//! revocation, and errors that say what to do.

mod common;

use std::path::Path;

use common::*;

fn seal_args(more: &[&'static str]) -> Vec<&'static str> {
    with(
        &[
            "seal",
            "--signing-key",
            "keys/orders.sign.jwk",
            "--type",
            "order.created",
            "--to",
            "keys/billing.recipient.pub.jwk",
        ],
        more,
    )
}

fn seal_to_file(d: &Path, file: &str, payload: &[u8]) {
    std::fs::write(d.join(file), ok(&seal_args(&[]), d, payload)).unwrap();
}

fn stderr_of(args: &[&str], d: &Path, stdin: &[u8], code: i32) -> String {
    let out = run(args, d, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    stderr
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn keygen_refuses_names_that_are_not_plain_file_names() {
    let dir = setup();
    let d = dir.path();
    std::fs::create_dir(d.join("out")).unwrap();
    for (name, why) in [
        ("../escape", "path separator"),
        ("a/b", "path separator"),
        ("..", "starts with '.'"),
        (".hidden", "starts with '.'"),
        ("tab\there", "control character"),
        ("nl\nx", "control character"),
        ("", "is empty"),
    ] {
        for (kind, flag) in [
            ("signing", "--source"),
            ("recipient", "--consumer"),
            ("symmetric", "--consumer"),
        ] {
            let stderr = stderr_of(&["keygen", kind, flag, name, "--out-dir", "out"], d, b"", 1);
            assert!(stderr.contains(why), "{name:?}: {stderr}");
            assert!(stderr.contains(flag), "{name:?}: {stderr}");
        }
    }
    // Nothing was written, inside or outside --out-dir.
    assert_eq!(std::fs::read_dir(d.join("out")).unwrap().count(), 0);
    assert!(!d.join("escape.sign.jwk").exists());
    // An --out-dir that cannot be created is named, with the cause.
    let stderr = stderr_of(
        &[
            "keygen",
            "signing",
            "--source",
            "x",
            "--out-dir",
            "/proc/nope",
        ],
        d,
        b"",
        1,
    );
    assert!(
        stderr.starts_with("eventseal: error: --out-dir /proc/nope: cannot create the directory:"),
        "{stderr}"
    );
}

#[test]
fn webhook_sign_refuses_control_characters_in_the_id() {
    let dir = setup();
    let d = dir.path();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    for id in [
        "msg\r\nX-Injected: 1",
        "msg\n",
        "msg\r",
        "msg\u{7}",
        "msg\u{1b}[0m",
    ] {
        let stderr = stderr_of(
            &[
                "webhook",
                "sign",
                "--provider",
                "standard-webhooks",
                "--secret",
                secret,
                "--id",
                id,
            ],
            d,
            b"{}",
            2,
        );
        assert!(stderr.contains("control character"), "{id:?}: {stderr}");
    }
}

#[cfg(unix)]
#[test]
fn outputs_are_new_0600_files_replaced_by_rename_never_through_a_symlink() {
    let dir = setup();
    let d = dir.path();
    seal_to_file(d, "env.json", b"secret payload");
    // A symlink planted where the payload goes: the link is replaced, its target untouched.
    std::fs::write(d.join("victim"), b"do not touch").unwrap();
    std::os::unix::fs::symlink(d.join("victim"), d.join("payload.out")).unwrap();
    std::fs::write(d.join("header.json"), b"old").unwrap();
    ok(
        &with(
            OPEN_BILLING,
            &[
                "--no-replay-check",
                "env.json",
                "--output",
                "payload.out",
                "--header-output",
                "header.json",
            ],
        ),
        d,
        b"",
    );
    assert_eq!(std::fs::read(d.join("victim")).unwrap(), b"do not touch");
    assert!(!std::fs::symlink_metadata(d.join("payload.out"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read(d.join("payload.out")).unwrap(),
        b"secret payload"
    );
    assert_eq!(mode(&d.join("payload.out")), 0o600);
    assert_eq!(mode(&d.join("header.json")), 0o600);
    let header: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("header.json")).unwrap()).unwrap();
    assert_eq!(header["source"], "orders");
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn an_unwritable_output_fails_before_the_claim_so_the_envelope_stays_openable() {
    let dir = setup();
    let d = dir.path();
    seal_to_file(d, "env.json", b"once");
    let open = with(OPEN_BILLING, &["--replay-db", "r.db", "env.json"]);
    for bad in ["no/such/dir/out", "keys"] {
        let stderr = stderr_of(&with(&open, &["--output", bad]), d, b"", 1);
        assert!(stderr.contains(&format!("--output {bad}")), "{stderr}");
        let stderr = stderr_of(&with(&open, &["--header-output", bad]), d, b"", 1);
        assert!(
            stderr.contains(&format!("--header-output {bad}")),
            "{stderr}"
        );
    }
    // Not consumed: it opens now, once.
    assert_eq!(ok(&with(&open, &["--output", "-"]), d, b""), b"once");
    rejected(&open, d, b"", "replayed");
}

#[cfg(unix)]
#[test]
fn trust_files_are_written_atomically_through_a_random_temporary_file() {
    let dir = setup();
    let d = dir.path();
    // The old code wrote trust.tmp: a symlink planted there must not be followed.
    std::fs::write(d.join("victim"), b"do not touch").unwrap();
    std::os::unix::fs::symlink(d.join("victim"), d.join("trust.tmp")).unwrap();
    let add = [
        "trust",
        "add",
        "--file",
        "trust.json",
        "--source",
        "orders",
        "--verifying-key",
        "keys/orders.verify.jwk",
        "--allow",
        "order.*",
    ];
    let out = run(&add, d, b"");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "created trust.json\n",
        "trust add says when it creates the file"
    );
    assert_eq!(std::fs::read(d.join("victim")).unwrap(), b"do not touch");
    let out = run(&add, d, b"");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "updated trust.json\n");
    assert_eq!(mode(&d.join("trust.json")), 0o644);
    let names: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".eventseal-")),
        "{names:?}"
    );
    // A trust file is read and rewritten: '-' is refused.
    let stderr = stderr_of(
        &with(
            &add[..3],
            &["-", "--source", "orders", "--key", "keys/orders.verify.jwk"],
        ),
        d,
        b"",
        2,
    );
    assert!(stderr.contains("must be a file"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn a_secret_key_readable_by_others_loads_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = setup();
    let d = dir.path();
    let key = d.join("keys/orders.sign.jwk");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let out = run(&seal_args(&[]), d, b"x");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "eventseal: warning: keys/orders.sign.jwk holds a secret key and is readable by group \
         or others (mode 0640); run: chmod 600 keys/orders.sign.jwk\n"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(&seal_args(&[]), d, b"x");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Public keys are not secrets: no warning for them (0644).
    assert_eq!(mode(&d.join("keys/billing.recipient.pub.jwk")), 0o644);
}

#[test]
fn replay_db_paths_that_cannot_be_opened_name_the_path_and_the_cause() {
    let dir = setup();
    let d = dir.path();
    seal_to_file(d, "env.json", b"x");
    let stderr = stderr_of(
        &with(
            OPEN_BILLING,
            &["--replay-db", "no/such/dir/r.db", "env.json"],
        ),
        d,
        b"",
        1,
    );
    assert!(
        stderr.starts_with(
            "eventseal: error: --replay-db no/such/dir/r.db: cannot open for writing:"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("No such file or directory"), "{stderr}");
    // Still openable afterwards.
    ok(
        &with(OPEN_BILLING, &["--replay-db", "r.db", "env.json"]),
        d,
        b"",
    );
}

#[test]
fn dash_means_stdin_or_stdout_and_the_main_input_may_be_positional() {
    let dir = setup();
    let d = dir.path();
    std::fs::write(d.join("payload"), b"from a file").unwrap();
    // seal: payload positional, from --input, or '-'; the envelope to --output - (stdout).
    let env = ok(&seal_args(&["payload", "--output", "-"]), d, b"");
    std::fs::write(d.join("env.json"), &env).unwrap();
    ok(&seal_args(&["--input", "payload"]), d, b"");
    let from_stdin = ok(&seal_args(&["-"]), d, b"from stdin");
    // The signing key itself from stdin, the payload from a file.
    let key = std::fs::read(d.join("keys/orders.sign.jwk")).unwrap();
    ok(
        &[
            "seal",
            "--signing-key",
            "-",
            "--type",
            "t",
            "--to",
            "keys/billing.recipient.pub.jwk",
            "payload",
        ],
        d,
        &key,
    );
    // Two options cannot both read stdin.
    let stderr = stderr_of(
        &[
            "seal",
            "--signing-key",
            "-",
            "--type",
            "t",
            "--to",
            "keys/billing.recipient.pub.jwk",
        ],
        d,
        &key,
        2,
    );
    assert!(stderr.contains("both read stdin"), "{stderr}");
    // open and inspect: positional, --input, '-'.
    let no_replay = with(OPEN_BILLING, &["--no-replay-check"]);
    assert_eq!(ok(&with(&no_replay, &["env.json"]), d, b""), b"from a file");
    assert_eq!(
        ok(&with(&no_replay, &["-", "--output", "-"]), d, &env),
        b"from a file"
    );
    assert_eq!(ok(&with(&no_replay, &[]), d, &from_stdin), b"from stdin");
    for args in [
        vec!["inspect", "env.json"],
        vec!["inspect", "-"],
        vec!["inspect", "--input", "env.json"],
    ] {
        let v: serde_json::Value = serde_json::from_slice(&ok(&args, d, &env)).unwrap();
        assert_eq!(v["verified"], false, "{args:?}");
        assert_eq!(v["header"]["source"], "orders", "{args:?}");
    }
    // Both stdout: refused.
    let stderr = stderr_of(
        &with(&no_replay, &["env.json", "--header-output", "-"]),
        d,
        b"",
        2,
    );
    assert!(stderr.contains("both write to stdout"), "{stderr}");
    // --input and a positional input together: a usage error.
    let out = run(&["inspect", "env.json", "--input", "env.json"], d, b"");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn webhook_secrets_from_a_file_or_the_environment() {
    let dir = setup();
    let d = dir.path();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let old = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    std::fs::write(d.join("body.json"), b"{\"a\":1}").unwrap();
    let sign = |how: &[&str], env: Option<&str>| {
        let mut cmd = bin();
        cmd.args([
            "webhook",
            "sign",
            "--provider",
            "standard-webhooks",
            "--id",
            "msg_1",
        ])
        .args(["--timestamp", "1700000000", "body.json"])
        .args(how)
        .current_dir(d)
        .env_remove("EVENTSEAL_WEBHOOK_SECRET");
        if let Some(v) = env {
            cmd.env("EVENTSEAL_WEBHOOK_SECRET", v);
        }
        cmd.output().unwrap()
    };
    std::fs::write(d.join("one.secret"), format!("{secret}\n")).unwrap();
    let by_argv = sign(&["--secret", secret], None);
    let by_file = sign(&["--secret-file", "one.secret"], None);
    let by_env = sign(&[], Some(secret));
    assert!(by_argv.status.success());
    assert_eq!(by_file.stdout, by_argv.stdout);
    assert_eq!(by_env.stdout, by_argv.stdout);
    // No secret anywhere: a usage error that says where to put one.
    let none = sign(&[], None);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr)
        .contains("--secret-file FILE, set EVENTSEAL_WEBHOOK_SECRET"));
    // Signing takes exactly one.
    std::fs::write(d.join("two.secret"), format!("{old}\r\n\n{secret}\n")).unwrap();
    assert_eq!(
        sign(&["--secret-file", "two.secret"], None).status.code(),
        Some(2)
    );

    // verify: the headers signed above, with the secrets in a file (rotation: the old one
    // first), or in the environment.
    let headers: Vec<String> = String::from_utf8(by_argv.stdout.clone())
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let verify = |how: &[&str], env: Option<&str>| {
        let mut cmd = bin();
        cmd.args([
            "webhook",
            "verify",
            "--provider",
            "standard-webhooks",
            "--now",
            "1700000000",
        ])
        .arg("body.json")
        .args(how)
        .current_dir(d)
        .env_remove("EVENTSEAL_WEBHOOK_SECRET");
        for h in &headers {
            cmd.args(["--header", h]);
        }
        if let Some(v) = env {
            cmd.env("EVENTSEAL_WEBHOOK_SECRET", v);
        }
        cmd.output().unwrap()
    };
    for out in [
        verify(&["--secret-file", "two.secret"], None),
        verify(&[], Some(&format!("{old}\n{secret}"))),
        verify(&["--secret", secret], None),
    ] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["id"], "msg_1");
    }
    let wrong = verify(&[], Some(old));
    assert_eq!(wrong.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&wrong.stderr),
        "eventseal: rejected: bad-signature\n"
    );
}

#[test]
fn durations_take_units_and_long_ttls_need_to_be_asked_for() {
    let dir = setup();
    let d = dir.path();
    let lifetime = |env: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(&ok(&["inspect"], d, env)).unwrap();
        v["header"]["expires_at"].as_i64().unwrap() - v["header"]["issued_at"].as_i64().unwrap()
    };
    for (ttl, secs) in [
        ("90", 90),
        ("90s", 90),
        ("5m", 300),
        ("25h", 90_000),
        ("2d", 172_800),
    ] {
        let env = ok(&seal_args(&["--ttl", ttl, "--allow-long-ttl"]), d, b"x");
        assert_eq!(lifetime(&env), secs, "{ttl}");
    }
    // Longer than a consumer's default maximum lifetime (48 h): refused, with the reason.
    let stderr = stderr_of(&seal_args(&["--ttl", "49h"]), d, b"x", 2);
    assert!(stderr.contains("--ttl 49h: longer than 48h"), "{stderr}");
    assert!(stderr.contains("--allow-long-ttl"), "{stderr}");
    let env = ok(&seal_args(&["--ttl", "3d", "--allow-long-ttl"]), d, b"x");
    // A consumer then needs --max-lifetime to match.
    std::fs::write(d.join("env.json"), &env).unwrap();
    rejected(
        &with(OPEN_BILLING, &["--no-replay-check", "env.json"]),
        d,
        b"",
        "lifetime-too-long",
    );
    ok(
        &with(
            OPEN_BILLING,
            &[
                "--no-replay-check",
                "env.json",
                "--max-lifetime",
                "3d",
                "--max-skew",
                "2m",
            ],
        ),
        d,
        b"",
    );
    // Misleading messages of old: the value is named, with what was expected.
    let stderr = stderr_of(&seal_args(&["--ttl", "18446744073709551615"]), d, b"x", 2);
    assert!(
        stderr.contains("\"18446744073709551615\": longer than the longest duration accepted"),
        "{stderr}"
    );
    let stderr = stderr_of(&seal_args(&["--ttl", "5x"]), d, b"x", 2);
    assert!(stderr.contains("(90, 90s, 5m, 25h, 2d)"), "{stderr}");
    let stderr = stderr_of(&seal_args(&["--ttl", "0"]), d, b"x", 2);
    assert!(stderr.contains("at least one second"), "{stderr}");
    let out = run(
        &[
            "webhook",
            "verify",
            "--provider",
            "github",
            "--secret",
            "s",
            "--tolerance",
            "5m",
        ],
        d,
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "the duration parsed; the delivery has no signature"
    );
}

#[test]
fn clearer_key_flag_names_and_the_old_key_alias() {
    let dir = setup();
    let d = dir.path();
    let env = ok(&seal_args(&[]), d, b"named");
    let env_old = ok(
        &[
            "seal",
            "--key",
            "keys/orders.sign.jwk",
            "--type",
            "order.created",
            "--to",
            "keys/billing.recipient.pub.jwk",
        ],
        d,
        b"named",
    );
    for e in [&env, &env_old] {
        assert_eq!(
            ok(
                &[
                    "open",
                    "--recipient-key",
                    "keys/billing.recipient.jwk",
                    "--trust",
                    "keys/orders.verify.jwk",
                    "--no-replay-check",
                ],
                d,
                e
            ),
            b"named"
        );
        assert_eq!(
            ok(&with(OPEN_BILLING, &["--no-replay-check"]), d, e),
            b"named"
        );
    }
    for flag in ["--verifying-key", "--key"] {
        ok(
            &[
                "trust",
                "add",
                "--file",
                "t.json",
                "--source",
                "orders",
                flag,
                "keys/orders.verify.jwk",
            ],
            d,
            b"",
        );
    }
    let help = String::from_utf8(ok(&["seal", "--help"], d, b"")).unwrap();
    assert!(
        help.contains("--signing-key") && help.contains("[alias: --key]"),
        "{help}"
    );
}

#[test]
fn trust_check_names_algorithms_as_users_do_and_prints_json() {
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
    for (source, key) in [
        ("orders", "keys/orders.verify.jwk"),
        ("hsm", "keys/hsm.verify.jwk"),
    ] {
        ok(
            &[
                "trust",
                "add",
                "--file",
                "t.json",
                "--source",
                source,
                "--verifying-key",
                key,
                "--allow",
                "*",
            ],
            d,
            b"",
        );
    }
    let text = String::from_utf8(ok(&["trust", "check", "t.json"], d, b"")).unwrap();
    assert!(
        text.contains("(Ed25519)") && text.contains("(ES256)"),
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_slice(&ok(
        &["trust", "check", "--file", "t.json", "--json"],
        d,
        b"",
    ))
    .unwrap();
    let algs: Vec<&str> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["keys"][0]["algorithm"].as_str().unwrap())
        .collect();
    assert_eq!(algs.len(), 2);
    assert!(algs.contains(&"Ed25519") && algs.contains(&"ES256"), "{v}");
    assert_eq!(v["sources"][0]["may_send"][0], "*");
    assert_eq!(
        v["sources"][0]["keys"][0]["kid"].as_str().map(str::len),
        Some(43),
        "{v}"
    );
}

/// One envelope sealed as a PutEvents entry, in every form a consumer may hold it.
struct EventBridgeForms {
    /// What `seal --eventbridge-entry` wrote: a JSON array of one entry.
    entries: Vec<u8>,
    /// That entry.
    entry: serde_json::Value,
    /// The envelope in its `Detail`.
    envelope: serde_json::Value,
    /// The event EventBridge delivers to a target, from account 111122223333.
    delivered: String,
}

fn eventbridge_forms(d: &Path) -> EventBridgeForms {
    let entries = ok(
        &seal_args(&[
            "--eventbridge-entry",
            "--bus",
            "central",
            "--source-name",
            "com.example.orders",
        ]),
        d,
        b"{}",
    );
    let array: serde_json::Value = serde_json::from_slice(&entries).unwrap();
    let entry = array[0].clone();
    let envelope: serde_json::Value =
        serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
    let delivered = serde_json::json!({
        "version": "0", "id": "1", "detail-type": "order.created", "source": "com.example.orders",
        "account": "111122223333", "time": "2026-12-04T00:00:00Z", "region": "eu-west-1",
        "resources": [], "detail": envelope,
    })
    .to_string();
    EventBridgeForms {
        entries,
        entry,
        envelope,
        delivered,
    }
}

#[test]
fn inspect_reads_delivered_events_and_put_events_entries() {
    let dir = setup();
    let d = dir.path();
    let EventBridgeForms {
        entries,
        entry,
        envelope,
        delivered,
    } = eventbridge_forms(d);
    for (input, wrapper) in [
        (entries.clone(), "put-events-entry"),
        (entry.to_string().into_bytes(), "put-events-entry"),
        (delivered.clone().into_bytes(), "eventbridge-event"),
        (envelope.to_string().into_bytes(), "envelope"),
    ] {
        let v: serde_json::Value = serde_json::from_slice(&ok(&["inspect"], d, &input)).unwrap();
        assert_eq!(v["input"], wrapper, "{v}");
        assert_eq!(v["verified"], false);
        assert_eq!(v["header"]["event_type"], "order.created");
    }
    rejected(&["inspect"], d, b"[]", "malformed");
    rejected(&["inspect"], d, b"[{\"Source\":\"x\"}]", "malformed");
}

#[test]
fn key_public_prints_the_public_half() {
    let dir = setup();
    let d = dir.path();
    for (secret, public) in [
        ("keys/orders.sign.jwk", "keys/orders.verify.jwk"),
        (
            "keys/billing.recipient.jwk",
            "keys/billing.recipient.pub.jwk",
        ),
    ] {
        let printed = ok(&["key", "public", secret], d, b"");
        let want = std::fs::read(d.join(public)).unwrap();
        assert_eq!(printed, want, "{secret}");
        // From stdin too.
        let from_stdin = ok(
            &["key", "public", "-"],
            d,
            &std::fs::read(d.join(secret)).unwrap(),
        );
        assert_eq!(from_stdin, want);
    }
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
    let stderr = stderr_of(&["key", "public", "keys/ledger.psk.jwk"], d, b"", 1);
    assert!(
        stderr.contains("a pre-shared key has no public half"),
        "{stderr}"
    );
}

/// A JWK as another tool writes it: extra members, its own kid, WebCrypto's alg.
fn foreign_jwk(eventseal_jwk: &str, alg: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(eventseal_jwk).unwrap();
    let m = v.as_object_mut().unwrap();
    m.remove("source");
    m.remove("consumer");
    m.remove("use");
    m.insert("kid".into(), "my-key-2026".into());
    m.insert("key_ops".into(), serde_json::json!(["sign"]));
    m.insert("ext".into(), true.into());
    if !alg.is_empty() {
        m.insert("alg".into(), alg.into());
    }
    v.to_string()
}

#[test]
fn key_import_takes_other_tools_jwks_and_validates_them() {
    let dir = setup();
    let d = dir.path();
    let orders = std::fs::read_to_string(d.join("keys/orders.sign.jwk")).unwrap();
    let billing = std::fs::read_to_string(d.join("keys/billing.recipient.jwk")).unwrap();
    std::fs::write(d.join("webcrypto.jwk"), foreign_jwk(&orders, "Ed25519")).unwrap();
    std::fs::write(d.join("jose.jwk"), foreign_jwk(&orders, "EdDSA")).unwrap();
    std::fs::write(d.join("x25519.jwk"), foreign_jwk(&billing, "ECDH-ES")).unwrap();
    for (file, out) in [("webcrypto.jwk", "a"), ("jose.jwk", "b")] {
        let out_dir = format!("imported-{out}");
        let stderr = String::from_utf8(
            run(
                &[
                    "key",
                    "import",
                    "--source",
                    "orders",
                    "--out-dir",
                    &out_dir,
                    file,
                ],
                d,
                b"",
            )
            .stderr,
        )
        .unwrap();
        assert!(
            stderr.contains("kid \"my-key-2026\" is replaced"),
            "{stderr}"
        );
        // The same key as keygen made: the same verifying key file, byte for byte.
        assert_eq!(
            std::fs::read(d.join(&out_dir).join("orders.verify.jwk")).unwrap(),
            std::fs::read(d.join("keys/orders.verify.jwk")).unwrap()
        );
    }
    ok(
        &[
            "key",
            "import",
            "--consumer",
            "billing",
            "--out-dir",
            "imported-x",
            "x25519.jwk",
        ],
        d,
        b"",
    );
    assert_eq!(
        std::fs::read(d.join("imported-x/billing.recipient.pub.jwk")).unwrap(),
        std::fs::read(d.join("keys/billing.recipient.pub.jwk")).unwrap()
    );
    #[cfg(unix)]
    assert_eq!(mode(&d.join("imported-x/billing.recipient.jwk")), 0o600);
    // The imported keys work: sealed with the imported signing key, opened with the import.
    let env = ok(
        &[
            "seal",
            "--signing-key",
            "imported-a/orders.sign.jwk",
            "--type",
            "t",
            "--to",
            "keys/billing.recipient.pub.jwk",
        ],
        d,
        b"imported",
    );
    let opened = ok(
        &[
            "open",
            "--recipient-key",
            "imported-x/billing.recipient.jwk",
            "--trust",
            "keys/orders.verify.jwk",
            "--no-replay-check",
        ],
        d,
        &env,
    );
    assert_eq!(opened, b"imported");
    // Validated as generated keys are: a public half that does not match, an alg for
    // another curve, the wrong owner flag, unknown members.
    let mut v: serde_json::Value = serde_json::from_str(&foreign_jwk(&orders, "")).unwrap();
    let other: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("keys/rogue.verify.jwk")).unwrap())
            .unwrap();
    v["x"] = other["x"].clone();
    std::fs::write(d.join("mismatch.jwk"), v.to_string()).unwrap();
    let stderr = stderr_of(
        &[
            "key",
            "import",
            "--source",
            "s",
            "--out-dir",
            "m",
            "mismatch.jwk",
        ],
        d,
        b"",
        1,
    );
    assert!(stderr.contains("not a valid key"), "{stderr}");
    std::fs::write(d.join("wrongalg.jwk"), foreign_jwk(&orders, "ES256")).unwrap();
    let stderr = stderr_of(
        &[
            "key",
            "import",
            "--source",
            "s",
            "--out-dir",
            "m",
            "wrongalg.jwk",
        ],
        d,
        b"",
        1,
    );
    assert!(stderr.contains("does not fit"), "{stderr}");
    let stderr = stderr_of(
        &[
            "key",
            "import",
            "--consumer",
            "c",
            "--out-dir",
            "m",
            "jose.jwk",
        ],
        d,
        b"",
        1,
    );
    assert!(stderr.contains("import it with --source"), "{stderr}");
    let mut v: serde_json::Value = serde_json::from_str(&foreign_jwk(&orders, "")).unwrap();
    v["x5c"] = serde_json::json!(["…"]);
    std::fs::write(d.join("x5c.jwk"), v.to_string()).unwrap();
    let stderr = stderr_of(
        &[
            "key",
            "import",
            "--source",
            "s",
            "--out-dir",
            "m",
            "x5c.jwk",
        ],
        d,
        b"",
        1,
    );
    assert!(stderr.contains("\"x5c\""), "{stderr}");
    assert!(!d.join("m/s.sign.jwk").exists());
    // An import never overwrites a key, and takes only plain file names.
    let stderr = stderr_of(
        &[
            "key",
            "import",
            "--source",
            "orders",
            "--out-dir",
            "keys",
            "jose.jwk",
        ],
        d,
        b"",
        1,
    );
    assert!(stderr.contains("refusing to overwrite"), "{stderr}");
    let stderr = stderr_of(
        &["key", "import", "--source", "../x", "jose.jwk"],
        d,
        b"",
        1,
    );
    assert!(stderr.contains("path separator"), "{stderr}");
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn key_import_takes_pem_files() {
    let dir = setup();
    let d = dir.path();
    // RFC 8410 section 10.3: an Ed25519 private key (PKCS#8 v1, no public key in it), and
    // its public key in section 10.1's SPKI form (computed from it by the library).
    std::fs::write(
        d.join("ed.pem"),
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    ok(
        &[
            "key",
            "import",
            "--source",
            "rfc",
            "--out-dir",
            "pem",
            "ed.pem",
        ],
        d,
        b"",
    );
    let verify: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("pem/rfc.verify.jwk")).unwrap()).unwrap();
    assert_eq!(verify["x"], "Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE");
    std::fs::write(
        d.join("ed.pub.pem"),
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    ok(
        &[
            "key",
            "import",
            "--source",
            "rfc",
            "--out-dir",
            "pub",
            "ed.pub.pem",
        ],
        d,
        b"",
    );
    assert_eq!(
        std::fs::read(d.join("pub/rfc.verify.jwk")).unwrap(),
        std::fs::read(d.join("pem/rfc.verify.jwk")).unwrap()
    );
    // P-256 from rcgen (PKCS#8 and SPKI, as openssl writes them).
    let p256 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    std::fs::write(d.join("p256.pem"), p256.serialize_pem()).unwrap();
    std::fs::write(d.join("p256.pub.pem"), p256.public_key_pem()).unwrap();
    ok(
        &[
            "key",
            "import",
            "--source",
            "hsm",
            "--out-dir",
            "p",
            "p256.pem",
        ],
        d,
        b"",
    );
    ok(
        &[
            "key",
            "import",
            "--source",
            "hsm",
            "--out-dir",
            "q",
            "p256.pub.pem",
        ],
        d,
        b"",
    );
    assert_eq!(
        std::fs::read(d.join("p/hsm.verify.jwk")).unwrap(),
        std::fs::read(d.join("q/hsm.verify.jwk")).unwrap()
    );
    let env = ok(
        &[
            "seal",
            "--signing-key",
            "p/hsm.sign.jwk",
            "--type",
            "t",
            "--to",
            "keys/billing.recipient.pub.jwk",
        ],
        d,
        b"p256",
    );
    let opened = ok(
        &[
            "open",
            "--key",
            "keys/billing.recipient.jwk",
            "--trust",
            "q/hsm.verify.jwk",
            "--no-replay-check",
        ],
        d,
        &env,
    );
    assert_eq!(opened, b"p256");
    // X25519 (RFC 8410 DER layout): PKCS#8 v1 private and SPKI public.
    let secret = [7u8; 32];
    let mut pkcs8 = hex("302e020100300506032b656e04220420");
    pkcs8.extend_from_slice(&secret);
    std::fs::write(d.join("x.pem"), pem("PRIVATE KEY", &pkcs8)).unwrap();
    ok(
        &[
            "key",
            "import",
            "--consumer",
            "c",
            "--out-dir",
            "x",
            "x.pem",
        ],
        d,
        b"",
    );
    let public: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("x/c.recipient.pub.jwk")).unwrap()).unwrap();
    let x = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(public["x"].as_str().unwrap())
            .unwrap()
    };
    let mut spki = hex("302a300506032b656e032100");
    spki.extend_from_slice(&x);
    std::fs::write(d.join("x.pub.pem"), pem("PUBLIC KEY", &spki)).unwrap();
    ok(
        &[
            "key",
            "import",
            "--consumer",
            "c",
            "--out-dir",
            "y",
            "x.pub.pem",
        ],
        d,
        b"",
    );
    assert_eq!(
        std::fs::read(d.join("y/c.recipient.pub.jwk")).unwrap(),
        std::fs::read(d.join("x/c.recipient.pub.jwk")).unwrap()
    );
    // Validated like generated keys: a small-order X25519 public key is refused.
    let mut zero = hex("302a300506032b656e032100");
    zero.extend_from_slice(&[0u8; 32]);
    std::fs::write(d.join("zero.pub.pem"), pem("PUBLIC KEY", &zero)).unwrap();
    let stderr = stderr_of(
        &[
            "key",
            "import",
            "--consumer",
            "c",
            "--out-dir",
            "z",
            "zero.pub.pem",
        ],
        d,
        b"",
        1,
    );
    assert!(stderr.contains("not a valid key"), "{stderr}");
    // Other algorithms and labels are named.
    std::fs::write(d.join("cert.pem"), pem("CERTIFICATE", &[0x30, 0])).unwrap();
    let stderr = stderr_of(
        &[
            "key",
            "import",
            "--source",
            "s",
            "--out-dir",
            "z",
            "cert.pem",
        ],
        d,
        b"",
        1,
    );
    assert!(stderr.contains("CERTIFICATE"), "{stderr}");
}

#[test]
fn trust_remove_revokes_a_key_or_a_source() {
    let dir = setup();
    let d = dir.path();
    let add = |key: &str| {
        ok(
            &[
                "trust",
                "add",
                "--file",
                "t.json",
                "--source",
                "orders",
                "--verifying-key",
                key,
                "--allow",
                "*",
            ],
            d,
            b"",
        )
    };
    add("keys/orders.verify.jwk");
    ok(
        &[
            "keygen",
            "signing",
            "--source",
            "orders",
            "--out-dir",
            "next",
        ],
        d,
        b"",
    );
    add("next/orders.verify.jwk");
    let env = ok(&seal_args(&[]), d, b"x");
    let open = with(
        &[
            "open",
            "--key",
            "keys/billing.recipient.jwk",
            "--trust-file",
            "t.json",
            "--no-replay-check",
        ],
        &[],
    );
    ok(&open, d, &env);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("keys/orders.verify.jwk")).unwrap()).unwrap();
    let kid = v["kid"].as_str().unwrap().to_owned();
    let out = run(
        &[
            "trust", "remove", "--file", "t.json", "--source", "orders", "--key", &kid,
        ],
        d,
        b"",
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with(&format!("removed key {kid} of source orders")));
    rejected(&open, d, &env, "unknown-key");
    // Unknown key or source: named, exit 1.
    let stderr = stderr_of(
        &[
            "trust", "remove", "--file", "t.json", "--source", "orders", "--key", &kid,
        ],
        d,
        b"",
        1,
    );
    assert!(stderr.contains("has no key"), "{stderr}");
    let stderr = stderr_of(
        &["trust", "remove", "--file", "t.json", "--source", "nobody"],
        d,
        b"",
        1,
    );
    assert!(stderr.contains("no source \"nobody\""), "{stderr}");
    // The whole source.
    ok(
        &["trust", "remove", "--file", "t.json", "--source", "orders"],
        d,
        b"",
    );
    let text = String::from_utf8(ok(&["trust", "check", "t.json"], d, b"")).unwrap();
    assert_eq!(text, "trusts nothing\n");
}

#[test]
fn verbose_adds_the_detail_and_the_audit_events() {
    let dir = setup();
    let d = dir.path();
    let env = ok(&seal_args(&[]), d, b"x");
    let mut tampered = env.clone();
    // A different base64 character inside the signature.
    let n = tampered.len();
    tampered[n - 12] = if tampered[n - 12] == b'A' { b'B' } else { b'A' };
    let quiet = stderr_of(&with(OPEN_BILLING, &["--no-replay-check"]), d, &tampered, 3);
    assert_eq!(quiet, "eventseal: rejected: bad-signature\n");
    let loud = stderr_of(
        &with(OPEN_BILLING, &["--no-replay-check", "-v"]),
        d,
        &tampered,
        3,
    );
    // The published first line comes first, verbose or not; the audit event after the tool's
    // own lines.
    let lines: Vec<&str> = loud.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"eventseal: rejected: bad-signature"),
        "{loud}"
    );
    assert_eq!(
        lines.get(1),
        Some(&"eventseal: detail: bad signature"),
        "{loud}"
    );
    assert!(
        lines
            .iter()
            .skip(2)
            .any(|l| l.contains("eventseal::audit") && l.contains("bad-signature")),
        "{loud}"
    );
    // A malformed envelope: the detail says what was wrong.
    let loud = stderr_of(
        &with(OPEN_BILLING, &["--no-replay-check", "--verbose"]),
        d,
        b"{}",
        3,
    );
    assert!(loud.contains("eventseal: rejected: malformed"), "{loud}");
    assert!(loud.contains("eventseal: detail: malformed:"), "{loud}");
}

#[test]
fn eventbridge_binding_without_accounts_gives_a_hint() {
    let dir = setup();
    let d = dir.path();
    let delivered = eventbridge_forms(d).delivered;
    // With --trust (no trust file), and with a trust file whose source has no accounts.
    let stderr = stderr_of(
        &with(OPEN_BILLING, &["--no-replay-check", "--eventbridge"]),
        d,
        delivered.as_bytes(),
        3,
    );
    assert!(
        stderr.starts_with("eventseal: rejected: binding-mismatch\neventseal: hint:"),
        "{stderr}"
    );
    assert!(stderr.contains("--trust-file"), "{stderr}");
    ok(
        &[
            "trust",
            "add",
            "--file",
            "t.json",
            "--source",
            "orders",
            "--verifying-key",
            "keys/orders.verify.jwk",
            "--allow",
            "*",
        ],
        d,
        b"",
    );
    let open_tf = [
        "open",
        "--key",
        "keys/billing.recipient.jwk",
        "--trust-file",
        "t.json",
        "--no-replay-check",
        "--eventbridge",
    ];
    let stderr = stderr_of(&open_tf, d, delivered.as_bytes(), 3);
    assert!(
        stderr.contains("gives source \"orders\" no AWS account"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--account ID --eventbridge-source NAME"),
        "{stderr}"
    );
    // With them, it opens.
    ok(
        &[
            "trust",
            "add",
            "--file",
            "t.json",
            "--source",
            "orders",
            "--verifying-key",
            "keys/orders.verify.jwk",
            "--account",
            "111122223333",
            "--eventbridge-source",
            "com.example.orders",
        ],
        d,
        b"",
    );
    assert_eq!(ok(&open_tf, d, delivered.as_bytes()), b"{}");
}

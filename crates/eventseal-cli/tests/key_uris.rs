//! Signing keys given as URIs (cosign's and RFC 7512's conventions): `--key pkcs11:…` on a
//! SoftHSM2 token the test makes, `--key awskms:///…` against moto's KMS; `key public --key
//! URI --source ID` for the trust file; `webhook sign --key pkcs11:…` for Standard Webhooks
//! v1a; wrong PINs, missing keys and KMS failures exit 1 with a clear line and write nothing.

// Without the `aws` and `pkcs11` features only the usage checks run.
#![cfg_attr(
    not(any(feature = "aws", feature = "pkcs11")),
    allow(dead_code, unused_imports)
)]

mod common;
// Fixtures shared with the packages' own tests (directories: see the paths), declared here
// because a path inside an inline module would go through a directory that does not exist.
#[cfg(feature = "aws")]
#[path = "../../eventseal-aws/tests/common/moto.rs"]
mod moto;
#[cfg(feature = "pkcs11")]
#[path = "../../eventseal-pkcs11/tests/common/softhsm.rs"]
mod softhsm;

use std::path::Path;

use common::{keygen_recipient, ok, run, run_env, stderr};

/// billing's recipient key in keys/.
fn billing_key(d: &Path) {
    keygen_recipient(d, "billing");
}

/// `key public --key URI --source orders` into orders.verify.jwk.
fn public_jwk(d: &Path, uri: &str, env: &[(&str, String)]) -> serde_json::Value {
    let out = run_env(
        &["key", "public", "--key", uri, "--source", "orders"],
        d,
        b"",
        env,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(d.join("orders.verify.jwk"), &out.stdout).unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Opens `envelope` with the CLI, trusting orders.verify.jwk; returns the payload.
fn cli_open(d: &Path, envelope: &[u8]) -> Vec<u8> {
    ok(
        &[
            "open",
            "--key",
            "keys/billing.recipient.jwk",
            "--trust",
            "orders.verify.jwk",
            "--no-replay-check",
        ],
        d,
        envelope,
    )
}

fn seal_args(uri: &str) -> Vec<&str> {
    vec![
        "seal",
        "--key",
        uri,
        "--source",
        "orders",
        "--type",
        "order.created",
        "--to",
        "keys/billing.recipient.pub.jwk",
    ]
}

#[test]
fn a_uri_key_needs_source() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    billing_key(d);
    for uri in [
        "pkcs11:token=t;object=o?pin-value=1",
        "awskms:///alias/orders",
    ] {
        let out = run(
            &[
                "seal",
                "--key",
                uri,
                "--type",
                "order.created",
                "--to",
                "keys/billing.recipient.pub.jwk",
            ],
            d,
            b"x",
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("give --source ID"),
            "{}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("pin-value=1"),
            "the PIN is never echoed"
        );
    }
    // `key public --key` without --source is a usage error from the parser.
    let out = run(&["key", "public", "--key", "awskms:///alias/x"], d, b"");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// A PIN file readable by others is warned about as a key file is; a PIN behind the other
/// part's separator is refused and never echoed. None of these needs a
/// token: each is decided before the module is loaded.
#[cfg(feature = "pkcs11")]
#[test]
fn pin_files_are_checked_and_pins_never_echoed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pin = d.join("pin");
    std::fs::write(&pin, "1234\n").unwrap();
    let module = d.join("no-such-module.so");
    let public = |uri: &str| {
        run(
            &["key", "public", "--key", uri, "--source", "orders"],
            d,
            b"",
        )
    };

    std::fs::set_permissions(&pin, std::fs::Permissions::from_mode(0o644)).unwrap();
    let uri = format!(
        "pkcs11:token=t;object=o?module-path={}&pin-source=file:{}",
        module.display(),
        pin.display()
    );
    let out = public(&uri);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "{} holds a PIN and is readable by group or others (mode 0644)",
            pin.display()
        )),
        "{}",
        stderr(&out)
    );
    std::fs::set_permissions(&pin, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = public(&uri);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!stderr(&out).contains("readable by"), "{}", stderr(&out));

    for uri in [
        format!(
            "pkcs11:object=o?module-path={};pin-value=98765",
            module.display()
        ),
        "pkcs11:token=t&pin-value=98765;object=o".to_owned(),
    ] {
        let out = public(&uri);
        assert_eq!(out.status.code(), Some(1), "{uri}: {}", stderr(&out));
        assert!(!stderr(&out).contains("98765"), "{uri}: {}", stderr(&out));
    }
    let out = public("pkcs11:token=t&pin-value=98765;object=o");
    assert!(
        stderr(&out).contains("a PIN attribute outside the query"),
        "{}",
        stderr(&out)
    );
}

#[cfg(feature = "pkcs11")]
mod pkcs11 {
    use super::*;

    use super::softhsm::{SoftHsm, ED_KEY, MODULE, P256_KEY, PIN, TOKEN};

    fn env(hsm: &SoftHsm) -> Vec<(&'static str, String)> {
        vec![("SOFTHSM2_CONF", hsm.conf.display().to_string())]
    }

    #[test]
    fn seal_with_a_token_key_and_open_with_the_cli() {
        let hsm = SoftHsm::new();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        billing_key(d);
        for (object, kty) in [(ED_KEY, "OKP"), (P256_KEY, "EC")] {
            let uri = hsm.uri(TOKEN, object);
            let jwk = public_jwk(d, &uri, &env(&hsm));
            assert_eq!(jwk["kty"], kty);
            assert_eq!(jwk["source"], "orders");
            let out = run_env(&seal_args(&uri), d, b"from the token", &env(&hsm));
            assert!(out.status.success(), "{object}: {}", stderr(&out));
            assert_eq!(cli_open(d, &out.stdout), b"from the token");
            // The envelope names the key by the thumbprint `key public` printed.
            let header = ok(&["inspect"], d, &out.stdout);
            let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
            assert_eq!(header["header"]["key_id"], jwk["kid"], "{object}");
        }
        // The PIN from EVENTSEAL_PKCS11_PIN when the URI gives none.
        public_jwk(d, &hsm.uri(TOKEN, ED_KEY), &env(&hsm));
        let uri = format!("pkcs11:token={TOKEN};object={ED_KEY}?module-path={MODULE}");
        let mut with_pin = env(&hsm);
        with_pin.push(("EVENTSEAL_PKCS11_PIN", PIN.to_owned()));
        let out = run_env(&seal_args(&uri), d, b"pin from env", &with_pin);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(cli_open(d, &out.stdout), b"pin from env");
    }

    #[test]
    fn a_wrong_pin_or_a_missing_key_exits_1_and_writes_nothing() {
        let hsm = SoftHsm::new();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        billing_key(d);
        let wrong = d.join("wrong-pin");
        std::fs::write(&wrong, "0000\n").unwrap();
        let uri = format!(
            "pkcs11:token={TOKEN};object={ED_KEY}?module-path={MODULE}&pin-source=file:{}",
            wrong.display()
        );
        let mut args = seal_args(&uri);
        args.extend(["--output", "env.json"]);
        let out = run_env(&args, d, b"x", &env(&hsm));
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("PKCS#11 PIN: the PIN is incorrect"),
            "{}",
            stderr(&out)
        );
        assert!(!d.join("env.json").exists(), "nothing is written");

        let uri = hsm.uri(TOKEN, "no-such-key");
        let out = run_env(&seal_args(&uri), d, b"x", &env(&hsm));
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("no private key with label \"no-such-key\""),
            "{}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty());
    }

    /// SoftHSM2's file store is not safe for processes logging in at once (its issue 757):
    /// eight processes seal on one token; each either seals an envelope that opens or exits
    /// 1 with an `eventseal: error:` line saying why, never a panic or a signal.
    #[test]
    fn eight_processes_on_one_token_succeed_or_fail_cleanly() {
        let hsm = SoftHsm::new();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_owned();
        billing_key(&d);
        let uri = hsm.uri(TOKEN, ED_KEY);
        public_jwk(&d, &uri, &env(&hsm));
        let env = env(&hsm);
        let outputs: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let (d, uri, env) = (&d, &uri, &env);
                    s.spawn(move || {
                        let payload = format!("process {i}");
                        (
                            payload.clone(),
                            run_env(&seal_args(uri), d, payload.as_bytes(), env),
                        )
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sealed = 0;
        for (payload, out) in outputs {
            match out.status.code() {
                Some(0) => {
                    assert_eq!(cli_open(&d, &out.stdout), payload.as_bytes());
                    sealed += 1;
                }
                Some(1) => {
                    let err = stderr(&out);
                    assert!(err.starts_with("eventseal: error: "), "{err}");
                    assert!(err.contains("PKCS#11"), "{err}");
                    assert!(err.contains("SoftHSM2 issue 757"), "says why: {err}");
                    assert!(!err.contains("panicked"), "{err}");
                    assert!(out.stdout.is_empty());
                }
                other => panic!("exit {other:?}: {}", stderr(&out)),
            }
        }
        assert!(sealed > 0, "at least one process sealed");
    }

    #[test]
    fn webhook_sign_v1a_with_a_token_key() {
        use base64::Engine;
        let hsm = SoftHsm::new();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let uri = hsm.uri(TOKEN, ED_KEY);
        let jwk = public_jwk(d, &uri, &env(&hsm));
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(jwk["x"].as_str().unwrap())
            .unwrap();
        let whpk = format!(
            "whpk_{}",
            base64::engine::general_purpose::STANDARD.encode(x)
        );
        let body = br#"{"type":"invoice.paid"}"#;
        let out = run_env(
            &[
                "webhook",
                "sign",
                "--provider",
                "standard-webhooks",
                "--key",
                &uri,
                "--id",
                "msg_1",
                "--timestamp",
                "1700000000",
            ],
            d,
            body,
            &env(&hsm),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let headers = String::from_utf8(out.stdout).unwrap();
        assert!(headers.contains("webhook-signature: v1a,"), "{headers}");
        let mut args = vec![
            "webhook".to_owned(),
            "verify".to_owned(),
            "--provider".to_owned(),
            "standard-webhooks".to_owned(),
            "--secret".to_owned(),
            whpk,
            "--now".to_owned(),
            "1700000000".to_owned(),
        ];
        for line in headers.lines() {
            args.push("--header".to_owned());
            args.push(line.to_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let verified = ok(&args, d, body);
        let verified: serde_json::Value = serde_json::from_slice(&verified).unwrap();
        assert_eq!(verified["id"], "msg_1");

        // The P-256 key cannot sign v1a; the message never shows a PIN given in the URI.
        let p256 =
            format!("pkcs11:token={TOKEN};object={P256_KEY}?module-path={MODULE}&pin-value={PIN}");
        let out = run_env(
            &[
                "webhook",
                "sign",
                "--provider",
                "standard-webhooks",
                "--key",
                &p256,
                "--id",
                "msg_2",
            ],
            d,
            body,
            &env(&hsm),
        );
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("needs an Ed25519 key"),
            "{}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("pin-value=<hidden>"),
            "{}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains(&format!("pin-value={PIN}")),
            "{}",
            stderr(&out)
        );
    }
}

#[cfg(feature = "aws")]
mod kms {
    use super::*;

    use super::moto::{self, Moto};

    /// A P-256 signing key in moto's KMS with the alias `alias/orders-signing`.
    fn kms_key(moto: &Moto) -> String {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let client = aws_sdk_kms::Client::new(&moto.sdk_config().await);
            let (key_id, _) = moto::create_signing_key(&client).await;
            client
                .create_alias()
                .alias_name("alias/orders-signing")
                .target_key_id(&key_id)
                .send()
                .await
                .unwrap();
            key_id
        })
    }

    fn disable(moto: &Moto, key_id: &str) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let client = aws_sdk_kms::Client::new(&moto.sdk_config().await);
            client.disable_key().key_id(key_id).send().await.unwrap();
        });
    }

    #[test]
    fn seal_with_a_kms_key_and_open_with_the_cli() {
        let moto = Moto::start();
        let key_id = kms_key(&moto);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        billing_key(d);
        let uri = "awskms:///alias/orders-signing";
        let jwk = public_jwk(d, uri, &moto.env());
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        let out = run_env(&seal_args(uri), d, b"from KMS", &moto.env());
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(cli_open(d, &out.stdout), b"from KMS");

        // Webhook v1a cannot be signed in KMS.
        let out = run_env(
            &[
                "webhook",
                "sign",
                "--provider",
                "standard-webhooks",
                "--key",
                uri,
                "--id",
                "msg_1",
            ],
            d,
            b"{}",
            &moto.env(),
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("AWS KMS keys cannot sign"),
            "{}",
            stderr(&out)
        );

        // A disabled key: exit 1 naming KMS's error, nothing written.
        disable(&moto, &key_id);
        let mut args = seal_args(uri);
        args.extend(["--output", "env.json"]);
        let out = run_env(&args, d, b"x", &moto.env());
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("DisabledException"),
            "{}",
            stderr(&out)
        );
        assert!(!d.join("env.json").exists(), "nothing is written");
    }

    #[test]
    fn kms_unreachable_or_key_missing_exits_1() {
        let moto = Moto::start();
        kms_key(&moto);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        billing_key(d);
        let out = run_env(
            &seal_args("awskms:///alias/no-such-key"),
            d,
            b"x",
            &moto.env(),
        );
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("NotFoundException"),
            "{}",
            stderr(&out)
        );

        let mut env = moto.env();
        drop(moto);
        env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
        env.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:9".to_owned()));
        let out = run_env(&seal_args("awskms:///alias/orders-signing"), d, b"x", &env);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("KMS GetPublicKey for alias/orders-signing"),
            "{}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty());
        // An endpoint inside the URI is not read (cosign's awskms://HOST/KEY form).
        let out = run(
            &seal_args("awskms://localhost:4566/alias/orders-signing"),
            d,
            b"x",
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    }
}

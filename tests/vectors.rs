//! Format test vectors (docs/FORMAT.md, "Test vectors"): JSON files under
//! tests/vectors/envelope/, each with keys, an envelope, the time to open it at, and either
//! the expected payload (`ok_*`) or the expected error kind (`fail_*`, which must fail).
//!
//! The files are data for other implementations too. Regenerate them (only when the format
//! changes) with `cargo test --test vectors -- --ignored regenerate`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use eventseal::{
    ConsumerKey, FixedClock, Opener, RecipientSecretKey, SealTo, Sealer, SignatureAlgorithm,
    SigningKey, SymmetricKey, TrustStore, VerifyingKey,
};
use serde_json::json;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/envelope")
}

fn open_vector(v: &serde_json::Value) -> eventseal::Result<eventseal::Opened> {
    let trust: TrustStore = v["signing_public_jwks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| VerifyingKey::from_jwk(j.as_str().unwrap()).unwrap())
        .collect();
    let jwk = v["recipient_secret_jwk"].as_str().unwrap();
    let key: ConsumerKey =
        if serde_json::from_str::<serde_json::Value>(jwk).unwrap()["kty"] == "oct" {
            SymmetricKey::from_jwk(jwk).unwrap().into()
        } else {
            RecipientSecretKey::from_jwk(jwk).unwrap().into()
        };
    Opener::new(
        [key],
        trust,
        Arc::new(eventseal::MemoryReplayStore::new(10)),
    )
    .with_clock(Arc::new(FixedClock::new(v["now"].as_i64().unwrap())))
    .open(v["envelope"].as_str().unwrap().as_bytes())
}

#[test]
fn all_vectors() {
    let mut files: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut ok, mut fail) = (0, 0);
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let r = open_vector(&v);
        if name.starts_with("ok_") {
            let opened = r.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                b64(opened.payload()),
                v["expected"]["payload_b64"].as_str().unwrap(),
                "{name}"
            );
            assert_eq!(
                opened.header().source(),
                v["expected"]["source"].as_str().unwrap(),
                "{name}"
            );
            ok += 1;
        } else {
            assert!(name.starts_with("fail_"), "{name}: must be ok_* or fail_*");
            let want = v["expected"]["error"].as_str().unwrap();
            match r {
                Ok(_) => panic!("{name}: a fail_ vector opened"),
                Err(e) => assert_eq!(e.kind().as_str(), want, "{name}"),
            }
            fail += 1;
        }
    }
    assert!(
        ok >= 2 && fail >= 8,
        "vectors missing: {ok} ok, {fail} fail"
    );
}

const NOW: i64 = T0 + 10;

trait SecretJwk {
    fn secret_jwk(&self) -> String;
}

impl SecretJwk for RecipientSecretKey {
    fn secret_jwk(&self) -> String {
        self.to_secret_jwk().to_string()
    }
}

impl SecretJwk for SymmetricKey {
    fn secret_jwk(&self) -> String {
        self.to_secret_jwk().to_string()
    }
}

fn vector(
    description: &str,
    signers: &[&VerifyingKey],
    recipient: &dyn SecretJwk,
    envelope: &[u8],
    expected: serde_json::Value,
) -> serde_json::Value {
    json!({
        "description": description,
        "now": NOW,
        "signing_public_jwks": signers.iter().map(|k| k.to_jwk()).collect::<Vec<_>>(),
        "recipient_secret_jwk": recipient.secret_jwk(),
        "envelope": String::from_utf8(envelope.to_vec()).unwrap(),
        "expected": expected,
    })
}

#[test]
#[ignore = "writes the vector files; run only when the format changes"]
fn regenerate() {
    let clock = Arc::new(FixedClock::new(T0));
    let orders = Sealer::new(SigningKey::generate("orders").unwrap())
        .with_clock(clock.clone())
        .with_content_type("application/json")
        .with_ttl(std::time::Duration::from_secs(300));
    let payments = SigningKey::generate("payments").unwrap();
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let audit = RecipientSecretKey::generate("audit").unwrap();
    let ovk = orders.key().verifying_key();
    let payload = br#"{"order":42,"total":"12.50"}"#;
    let env = orders
        .seal(
            "order.created",
            payload,
            &[billing.public_key(), audit.public_key()],
        )
        .unwrap();
    let env = env.as_bytes();
    let ok = json!({"payload_b64": b64(payload), "source": "orders"});
    let fail = |k: &str| json!({"error": k});
    let edit = |f: &dyn Fn(&mut serde_json::Value), key: Option<&SigningKey>| {
        let mut p = Parts::of(env);
        let mut h = p.header_json();
        f(&mut h);
        p.set_header_json(&h);
        if let Some(k) = key {
            p.resign(k);
        }
        p.to_envelope()
    };
    let mut flipped = Parts::of(env);
    flipped.signature[10] ^= 0x01;
    let padded = String::from_utf8(env.to_vec()).unwrap().replacen(
        "\",\"ciphertext\"",
        "=\",\"ciphertext\"",
        1,
    );
    let empty_payload = orders
        .seal("order.created", b"", &[billing.public_key()])
        .unwrap();

    let vectors = vec![
        (
            "ok_first_recipient",
            vector(
                "Two recipients, opened as the first (billing).",
                &[ovk],
                &billing,
                env,
                ok.clone(),
            ),
        ),
        (
            "ok_second_recipient",
            vector(
                "Two recipients, opened as the second (audit).",
                &[ovk],
                &audit,
                env,
                ok.clone(),
            ),
        ),
        (
            "ok_empty_payload",
            vector(
                "A zero-length payload.",
                &[ovk],
                &billing,
                empty_payload.as_bytes(),
                json!({"payload_b64": "", "source": "orders"}),
            ),
        ),
        (
            "fail_bad_signature",
            vector(
                "One bit of the signature flipped.",
                &[ovk],
                &billing,
                &flipped.to_envelope(),
                fail("bad-signature"),
            ),
        ),
        (
            "fail_unknown_key",
            vector(
                "The consumer trusts only another source's key.",
                &[payments.verifying_key()],
                &billing,
                env,
                fail("unknown-key"),
            ),
        ),
        (
            "fail_not_a_recipient",
            vector(
                "Opened by a consumer that is not listed.",
                &[ovk],
                &RecipientSecretKey::generate("eve").unwrap(),
                env,
                fail("not-a-recipient"),
            ),
        ),
        ("fail_expired", {
            let mut v = vector(
                "Opened at expires_at + skew (300 + 60 s after issue).",
                &[ovk],
                &billing,
                env,
                fail("expired"),
            );
            v["now"] = (T0 + 360).into();
            v
        }),
        ("fail_not_yet_valid", {
            let mut v = vector(
                "Opened 61 s before issued_at.",
                &[ovk],
                &billing,
                env,
                fail("not-yet-valid"),
            );
            v["now"] = (T0 - 61).into();
            v
        }),
        (
            "fail_padded_base64",
            vector(
                "The header's base64url carries a padding character.",
                &[ovk],
                &billing,
                padded.as_bytes(),
                fail("malformed"),
            ),
        ),
        (
            "fail_unsupported_version",
            vector(
                "Header version 2, signed by the producer.",
                &[ovk],
                &billing,
                &edit(&|h| h["version"] = 2.into(), Some(orders.key())),
                fail("unsupported-version"),
            ),
        ),
        (
            "fail_key_commitment",
            vector(
                "Key commitment altered and re-signed by the producer.",
                &[ovk],
                &billing,
                &edit(
                    &|h| {
                        let mut kc = unb64(h["key_commitment"].as_str().unwrap());
                        kc[31] ^= 0x80;
                        h["key_commitment"] = b64(&kc).into();
                    },
                    Some(orders.key()),
                ),
                fail("decrypt-failed"),
            ),
        ),
        (
            "fail_resigned_by_other_source",
            vector(
                "Another trusted producer rewrote source and key_id to its own and re-signed.",
                &[ovk, payments.verifying_key()],
                &billing,
                &edit(
                    &|h| {
                        h["source"] = "payments".into();
                        h["key_id"] = payments.key_id().as_str().into();
                    },
                    Some(&payments),
                ),
                fail("decrypt-failed"),
            ),
        ),
        (
            "fail_recipients_reordered",
            vector(
                "Recipient entries swapped, not re-signed.",
                &[ovk],
                &billing,
                &edit(&|h| h["recipients"].as_array_mut().unwrap().reverse(), None),
                fail("bad-signature"),
            ),
        ),
        (
            "fail_duplicate_member",
            vector(
                "Header with a duplicate event_type member, signed by the producer.",
                &[ovk],
                &billing,
                &{
                    let mut p = Parts::of(env);
                    let t = String::from_utf8(p.header.clone()).unwrap();
                    p.header = t
                        .replacen(
                            "\"event_type\":\"order.created\"",
                            "\"event_type\":\"order.created\",\"event_type\":\"order.deleted\"",
                            1,
                        )
                        .into_bytes();
                    p.resign(orders.key());
                    p.to_envelope()
                },
                fail("malformed"),
            ),
        ),
    ];
    // Second key types: an ECDSA P-256 source and a pre-shared-key recipient, in one envelope
    // with an HPKE recipient.
    let hsm =
        Sealer::new(SigningKey::generate_with("hsm", SignatureAlgorithm::EcdsaP256Sha256).unwrap())
            .with_clock(clock.clone())
            .with_ttl(std::time::Duration::from_secs(300));
    let ledger = SymmetricKey::generate("ledger").unwrap();
    let mixed = hsm
        .seal(
            "ledger.entry",
            payload,
            &[SealTo::from(billing.public_key()), SealTo::from(&ledger)],
        )
        .unwrap();
    let hvk = hsm.key().verifying_key();
    let hsm_ok = json!({"payload_b64": b64(payload), "source": "hsm"});
    let mut bad_salt = Parts::of(mixed.as_bytes());
    let mut h = bad_salt.header_json();
    let mut salt = unb64(h["recipients"][1]["enc"].as_str().unwrap());
    salt[0] ^= 1;
    h["recipients"][1]["enc"] = b64(&salt).into();
    bad_salt.set_header_json(&h);
    let mut vectors = vectors;
    vectors.push((
        "ok_p256_signed_hpke_recipient",
        vector(
            "ECDSA P-256 source; opened by the HPKE recipient of a mixed envelope.",
            &[hvk],
            &billing,
            mixed.as_bytes(),
            hsm_ok.clone(),
        ),
    ));
    vectors.push((
        "ok_p256_signed_psk_recipient",
        vector(
            "ECDSA P-256 source; opened by the pre-shared-key recipient of the same envelope.",
            &[hvk],
            &ledger,
            mixed.as_bytes(),
            hsm_ok,
        ),
    ));
    vectors.push((
        "fail_psk_salt_changed",
        vector(
            "The pre-shared-key entry's salt (enc) changed, not re-signed.",
            &[hvk],
            &ledger,
            &bad_salt.to_envelope(),
            fail("bad-signature"),
        ),
    ));
    vectors.push((
        "fail_p256_key_trusted_as_other_source",
        vector(
            "Signed by the P-256 key; the consumer trusts only an Ed25519 key of another source.",
            &[ovk],
            &billing,
            mixed.as_bytes(),
            fail("unknown-key"),
        ),
    ));

    std::fs::create_dir_all(dir()).unwrap();
    for (name, v) in vectors {
        let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
        std::fs::write(dir().join(format!("{name}.json")), text).unwrap();
    }
}

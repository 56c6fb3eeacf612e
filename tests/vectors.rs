//! Format test vectors (docs/FORMAT.md, "Test vectors"): JSON files under
//! tests/vectors/envelope/, each with keys, an envelope, the time to open it at, and either
//! the expected payload (`ok_*`) or the expected error kind (`fail_*`, which must fail).
//!
//! The files are data for other implementations too. `cargo test --test vectors -- --ignored
//! regenerate` writes the vectors that have no file yet; existing files are kept (other
//! implementations pin them) unless `EVENTSEAL_REGENERATE_ALL=1` is set, for a format change.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::*;
use eventseal::{
    ConsumerKey, ErrorKind, FixedClock, Opener, RecipientSecretKey, SealTo, Sealer,
    SignatureAlgorithm, SigningKey, SymmetricKey, TrustStore, VerifyingKey,
};
use serde_json::json;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/envelope")
}

/// Opens a vector's envelope as docs/FORMAT.md §10 says: `opens` times (default 1) in one
/// fresh store, every open but the last succeeding; the last open's result is returned.
fn open_vector(v: &serde_json::Value) -> eventseal::Result<eventseal::Opened> {
    let trust: TrustStore = match v.get("trust") {
        Some(file) => TrustStore::from_json(&file.to_string()).unwrap(),
        None => v["signing_public_jwks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| VerifyingKey::from_jwk(j.as_str().unwrap()).unwrap())
            .collect(),
    };
    let jwk = v["recipient_secret_jwk"].as_str().unwrap();
    let key: ConsumerKey =
        if serde_json::from_str::<serde_json::Value>(jwk).unwrap()["kty"] == "oct" {
            SymmetricKey::from_jwk(jwk).unwrap().into()
        } else {
            RecipientSecretKey::from_jwk(jwk).unwrap().into()
        };
    let opener = Opener::new(
        [key],
        trust,
        Arc::new(eventseal::MemoryReplayStore::new(10)),
    )
    .with_clock(Arc::new(FixedClock::new(v["now"].as_i64().unwrap())));
    let envelope = v["envelope"].as_str().unwrap().as_bytes();
    let opens = v.get("opens").map_or(1, |n| n.as_u64().unwrap());
    for _ in 1..opens {
        opener
            .open(envelope)
            .expect("every open but the last succeeds");
    }
    opener.open(envelope)
}

/// The kinds that opening a bare envelope cannot produce, with the reason; every other kind
/// of `ErrorKind::ALL` must have a `fail_` vector, so a new kind is not left without one.
const NOT_FROM_A_BARE_ENVELOPE: &[(&str, &str)] = &[
    (
        "binding-mismatch",
        "needs a delivered EventBridge event around the envelope",
    ),
    (
        "store-unavailable",
        "a failure of the replay store, not of the envelope",
    ),
    (
        "store-full",
        "a failure of the replay store, not of the envelope",
    ),
    (
        "invalid-key",
        "raised when a key is loaded, before any envelope is read",
    ),
    ("invalid-trust", "raised when a trust file is loaded"),
    ("invalid-input", "a caller's argument, not the envelope"),
    ("rng", "the system's random generator"),
    (
        "signer-failed",
        "a producer's KMS or HSM signer, when sealing",
    ),
    (
        "in-progress",
        "another caller's live lease: a state of the store, not of the envelope",
    ),
    (
        "lease-lost",
        "completing a lease after its handler ran, not opening",
    ),
];

#[test]
fn all_vectors() {
    let mut files: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let (mut ok, mut fail) = (0, 0);
    let mut kinds = std::collections::BTreeSet::new();
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
            kinds.insert(want.to_owned());
            fail += 1;
        }
    }
    // At least the files this repository ships (other implementations pin them).
    assert!(
        ok >= 8 && fail >= 28,
        "vectors missing: {ok} ok, {fail} fail"
    );
    let excluded: Vec<&str> = NOT_FROM_A_BARE_ENVELOPE.iter().map(|(k, _)| *k).collect();
    for k in &excluded {
        assert!(
            ErrorKind::ALL.iter().any(|a| a.as_str() == *k),
            "{k} is not a kind"
        );
    }
    let missing: Vec<&str> = ErrorKind::ALL
        .iter()
        .map(|k| k.as_str())
        .filter(|k| !excluded.contains(k) && !kinds.contains(*k))
        .collect();
    assert!(missing.is_empty(), "no fail_ vector for {missing:?}");
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

    vectors.extend(spec_vectors(&orders, env, &billing, payload));

    // Existing files are kept (other implementations pin them): only missing vectors are
    // written, unless EVENTSEAL_REGENERATE_ALL=1 (a format change).
    let all = std::env::var("EVENTSEAL_REGENERATE_ALL").is_ok_and(|v| v == "1");
    std::fs::create_dir_all(dir()).unwrap();
    for (name, v) in vectors {
        let path = dir().join(format!("{name}.json"));
        if all || !path.exists() {
            let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
            std::fs::write(path, text).unwrap();
        }
    }
}

/// An Ed25519 signature by the key's holder whose R has a small-order component: R' = rB + T
/// with T of order 8, S = r + H(R' || A || M)·a. The cofactored equation [8]SB = [8]R' +
/// [8]kA holds; the cofactorless one, SB = R' + kA, does not (docs/FORMAT.md §7 step 15).
fn sign_with_torsion_in_r(parts: &mut Parts, key: &SigningKey) {
    use curve25519_dalek::{constants, EdwardsPoint, Scalar};
    let sha512 = |parts: &[&[u8]]| {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA512);
        for p in parts {
            ctx.update(p);
        }
        <[u8; 64]>::try_from(ctx.finish().as_ref()).unwrap()
    };
    let jwk: serde_json::Value = serde_json::from_str(&key.to_secret_jwk()).unwrap();
    let seed = unb64(jwk["d"].as_str().unwrap());
    let h = sha512(&[&seed]);
    let mut a_bytes: [u8; 32] = h[..32].try_into().unwrap();
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let public = EdwardsPoint::mul_base(&a).compress().to_bytes();
    assert_eq!(
        b64(&public),
        jwk["x"].as_str().unwrap(),
        "the key's own public key"
    );
    let msg = pae(&[b"eventseal/v1/signature", &parts.header, &parts.ciphertext]);
    let r = Scalar::from_bytes_mod_order_wide(&sha512(&[&h[32..], &msg]));
    let torsion = constants::EIGHT_TORSION[1];
    let big_r = EdwardsPoint::mul_base(&r) + torsion;
    let r_bytes = big_r.compress().to_bytes();
    let k = Scalar::from_bytes_mod_order_wide(&sha512(&[&r_bytes, &public, &msg]));
    let s = r + k * a;
    // The cofactored equation accepts it; the cofactorless one does not.
    let lhs = EdwardsPoint::mul_base(&s);
    let rhs = big_r + EdwardsPoint::mul_base(&(k * a));
    assert_ne!(lhs, rhs);
    assert_eq!(lhs.mul_by_cofactor(), rhs.mul_by_cofactor());
    parts.signature = [r_bytes, s.to_bytes()].concat();
}

/// Vectors for the rules docs/FORMAT.md states precisely (issue 12): escapes, versions,
/// numbers, the depth scan on text that is not JSON, whitespace around the envelope, the
/// cofactorless signature check, and every rejection kind a bare envelope can produce.
fn spec_vectors(
    orders: &Sealer,
    env: &[u8],
    billing: &RecipientSecretKey,
    payload: &[u8],
) -> Vec<(&'static str, serde_json::Value)> {
    let ovk = orders.key().verifying_key();
    let ok = json!({"payload_b64": b64(payload), "source": "orders"});
    let fail = |k: &str| json!({"error": k});
    let v = |d: &str, envelope: &[u8], expected: serde_json::Value| {
        vector(d, &[ovk], billing, envelope, expected)
    };
    // The header text with `from` replaced by `to`, signed again by the producer.
    let header_edit = |from: &str, to: &str| {
        let mut p = Parts::of(env);
        let t = String::from_utf8(p.header.clone()).unwrap();
        assert!(t.contains(from), "{from}");
        p.header = t.replacen(from, to, 1).into_bytes();
        p.resign(orders.key());
        p.to_envelope()
    };
    let issued = Parts::of(env).header_json()["issued_at"].as_i64().unwrap();
    let with_trust = |mut v: serde_json::Value, trust: serde_json::Value| {
        v.as_object_mut().unwrap().remove("signing_public_jwks");
        v["trust"] = trust;
        v
    };
    let jwk: serde_json::Value = serde_json::from_str(&ovk.to_jwk()).unwrap();
    let trust = |allow: &[&str], window: serde_json::Value| {
        let mut key = json!({"jwk": jwk});
        for (k, t) in window.as_object().unwrap() {
            key[k] = t.clone();
        }
        json!({"version": 1, "sources": [{"source": "orders", "allow": allow, "keys": [key]}]})
    };
    let rfc3339 = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let text = String::from_utf8(env.to_vec()).unwrap();
    let p = Parts::of(env);
    let reordered = format!(
        "{{ \"signature\" : \"{}\",\n  \"ciphertext\":\"{}\",\t\"header\":\"{}\" }}",
        b64(&p.signature),
        b64(&p.ciphertext),
        b64(&p.header)
    );
    let mut torsion = Parts::of(env);
    sign_with_torsion_in_r(&mut torsion, orders.key());
    let long_lived = Sealer::new(SigningKey::from_jwk(&orders.key().to_secret_jwk()).unwrap())
        .with_clock(Arc::new(FixedClock::new(T0)))
        .with_ttl(std::time::Duration::from_secs(49 * 3600))
        .seal("order.created", payload, &[billing.public_key()])
        .unwrap();
    vec![
        (
            "fail_escaped_member_name",
            v(
                "A member name written with an escape (vers\\u0069on), signed by the producer: no escape anywhere in the header (2.2).",
                &header_edit("\"version\":1", "\"vers\\u0069on\":1"),
                fail("malformed"),
            ),
        ),
        (
            "fail_escaped_member_name_version_2",
            v(
                "The version member written with an escape and the value 2 (\"vers\\u0069on\":2), signed by the producer: the version probe reads member names unescaped, so this is unsupported-version at step 8, before the escape check of step 9.",
                &header_edit("\"version\":1", "\"vers\\u0069on\":2"),
                fail("unsupported-version"),
            ),
        ),
        (
            "fail_escaped_value",
            v(
                "The source written with an escape (\\u006frders), signed by the producer.",
                &header_edit("\"source\":\"orders\"", "\"source\":\"\\u006frders\""),
                fail("malformed"),
            ),
        ),
        (
            "fail_version_beyond_u64",
            v(
                "version 18446744073709551616 (2^64), signed by the producer: an integer other than 1, of any size, is unsupported-version (7, step 8).",
                &header_edit("\"version\":1", "\"version\":18446744073709551616"),
                fail("unsupported-version"),
            ),
        ),
        (
            "fail_version_negative_zero",
            v(
                "version -0, signed by the producer: not digits alone (2.2).",
                &header_edit("\"version\":1", "\"version\":-0"),
                fail("malformed"),
            ),
        ),
        (
            "fail_version_fraction",
            v(
                "version 1.0, signed by the producer: a fraction is not an integer (2.2).",
                &header_edit("\"version\":1", "\"version\":1.0"),
                fail("malformed"),
            ),
        ),
        (
            "fail_issued_at_negative_zero",
            v(
                "issued_at -0, signed by the producer: -0 is not an integer here (2.2).",
                &header_edit(&format!("\"issued_at\":{issued}"), "\"issued_at\":-0"),
                fail("malformed"),
            ),
        ),
        (
            "fail_unbalanced_brackets",
            v(
                "Text that is not JSON, ]]]][[[[[[[[[[: the depth scan meets a closing bracket with nothing open first (2.2).",
                b"]]]][[[[[[[[[[",
                fail("malformed"),
            ),
        ),
        (
            "fail_nesting_too_deep",
            v(
                "Nine levels in the envelope (an object holding eight nested arrays): deeper than max_json_depth 8, found by the scan before parsing (7, step 2).",
                b"{\"header\":[[[[[[[[]]]]]]]]}",
                fail("too-large"),
            ),
        ),
        (
            "ok_trailing_newline",
            v(
                "The envelope followed by a newline, as the CLI writes it to a file: whitespace around the object is insignificant (2.2).",
                format!("{text}\n").as_bytes(),
                ok.clone(),
            ),
        ),
        (
            "ok_outer_object_reserialized",
            v(
                "The outer object with its members reordered and whitespace added (a broker may re-serialize it; 2.2).",
                reordered.as_bytes(),
                ok.clone(),
            ),
        ),
        (
            "fail_small_order_component_in_r",
            v(
                "Signed by the key's holder with R = rB + T, T of order 8: the cofactored equation holds, the cofactorless one required here does not (7, step 15).",
                &torsion.to_envelope(),
                fail("bad-signature"),
            ),
        ),
        (
            "fail_lifetime_too_long",
            v(
                "Sealed with a 49-hour lifetime: over the default max_lifetime of 48 h.",
                long_lived.as_bytes(),
                fail("lifetime-too-long"),
            ),
        ),
        ("fail_replayed", {
            let mut x = v(
                "Opened twice in one replay store (opens = 2): the second open is a replay.",
                env,
                fail("replayed"),
            );
            x["opens"] = 2.into();
            x
        }),
        (
            "fail_key_expired",
            with_trust(
                v(
                    "The trust file ends the key's window (not_after) one second before issued_at.",
                    env,
                    fail("key-expired"),
                ),
                trust(&["order.*"], json!({"not_after": rfc3339(issued - 1)})),
            ),
        ),
        (
            "fail_key_window_not_started",
            with_trust(
                v(
                    "The trust file starts the key's window (not_before) one second after issued_at: for this envelope the key does not exist yet.",
                    env,
                    fail("unknown-key"),
                ),
                trust(&["order.*"], json!({"not_before": rfc3339(issued + 1)})),
            ),
        ),
        (
            "ok_key_window_bounds_inclusive",
            with_trust(
                v(
                    "The key's window is exactly [issued_at, issued_at]: bounds are inclusive.",
                    env,
                    ok.clone(),
                ),
                trust(
                    &["order.*"],
                    json!({"not_before": rfc3339(issued), "not_after": rfc3339(issued)}),
                ),
            ),
        ),
        (
            "fail_policy_denied",
            with_trust(
                v(
                    "The trust file allows the source only payment.* events; this is order.created.",
                    env,
                    fail("policy-denied"),
                ),
                trust(&["payment.*"], json!({})),
            ),
        ),
    ]
}

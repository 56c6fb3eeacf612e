//! Integrity: any change to any byte of a sealed envelope is rejected, with the kind that the
//! first failing check in the processing order gives.

mod common;

use common::*;
use eventseal::{ErrorKind, Limits, UntrustedEnvelope};

/// The kind a tampered envelope must be rejected with: the parse error if it no longer parses;
/// `unknown-key` if the (source, key id) it now names is not trusted; otherwise the signature
/// must fail.
fn expected_kind(w: &World, envelope: &[u8]) -> ErrorKind {
    match UntrustedEnvelope::parse(envelope, &Limits::default()) {
        Err(e) => e.kind(),
        Ok(env) => {
            let h = env.untrusted_header();
            if w.trust().find(h.source(), h.key_id()).is_none() {
                ErrorKind::UnknownKey
            } else {
                ErrorKind::BadSignature
            }
        }
    }
}

fn small_envelope(w: &World) -> Vec<u8> {
    w.orders
        .seal("t", b"hi", &[w.billing_pub()])
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// Flip every bit of every decoded field (header, ciphertext, signature): exhaustive.
#[test]
fn every_single_bit_flip_of_every_field_is_rejected() {
    let w = World::new();
    let env = small_envelope(&w);
    let opener = w.billing_opener();
    let parts = Parts::of(&env);
    let mut counts = std::collections::HashMap::new();
    for field in 0..3 {
        let len = match field {
            0 => parts.header.len(),
            1 => parts.ciphertext.len(),
            _ => parts.signature.len(),
        };
        for byte in 0..len {
            for bit in 0..8 {
                let mut p = parts.clone();
                let target = match field {
                    0 => &mut p.header,
                    1 => &mut p.ciphertext,
                    _ => &mut p.signature,
                };
                target[byte] ^= 1 << bit;
                let tampered = p.to_envelope();
                let got = kind(opener.open(&tampered));
                let want = if field == 0 {
                    expected_kind(&w, &tampered)
                } else {
                    ErrorKind::BadSignature
                };
                assert_eq!(got, want, "field {field} byte {byte} bit {bit}");
                *counts.entry(got).or_insert(0) += 1;
            }
        }
    }
    // The matrix did reach the signature check for most flips, not just the parser.
    assert!(counts[&ErrorKind::BadSignature] > 1000, "{counts:?}");
    // And nothing was claimed in the replay store: the untampered envelope still opens.
    assert_eq!(opener.open(&env).unwrap().payload(), b"hi");
}

/// Flip every bit of the envelope text itself (JSON syntax and base64 characters).
#[test]
fn every_single_bit_flip_of_the_json_text_is_rejected() {
    let w = World::new();
    let env = small_envelope(&w);
    let opener = w.billing_opener();
    for byte in 0..env.len() {
        for bit in 0..8 {
            let mut t = env.clone();
            t[byte] ^= 1 << bit;
            let got = kind(opener.open(&t));
            assert_eq!(got, expected_kind(&w, &t), "byte {byte} bit {bit}");
        }
    }
}

#[test]
fn every_truncation_is_rejected() {
    let w = World::new();
    let env = small_envelope(&w);
    let opener = w.billing_opener();
    for n in 0..env.len() {
        assert_eq!(
            kind(opener.open(&env[..n])),
            ErrorKind::Malformed,
            "prefix {n}"
        );
    }
    let p = Parts::of(&env);
    for n in 0..p.ciphertext.len() {
        let mut q = p.clone();
        q.ciphertext.truncate(n);
        let want = if n < 16 {
            ErrorKind::Malformed
        } else {
            ErrorKind::BadSignature
        };
        assert_eq!(kind(opener.open(&q.to_envelope())), want, "ciphertext {n}");
    }
}

#[test]
fn removed_added_or_duplicated_outer_fields_are_rejected() {
    let w = World::new();
    let env = small_envelope(&w);
    let opener = w.billing_opener();
    let v: serde_json::Value = serde_json::from_slice(&env).unwrap();
    for field in ["header", "ciphertext", "signature"] {
        let mut m = v.clone();
        m.as_object_mut().unwrap().remove(field);
        assert_eq!(
            kind(opener.open(&serde_json::to_vec(&m).unwrap())),
            ErrorKind::Malformed
        );
    }
    let mut extra = v.clone();
    extra["alg"] = "none".into();
    assert_eq!(
        kind(opener.open(&serde_json::to_vec(&extra).unwrap())),
        ErrorKind::Malformed
    );

    // Duplicate member: a second "ciphertext" after the first.
    let text = String::from_utf8(env.clone()).unwrap();
    let dup = text.replacen(r#","signature""#, r#","ciphertext":"AAAA","signature""#, 1);
    assert_eq!(kind(opener.open(dup.as_bytes())), ErrorKind::Malformed);
    // serde would read a struct from an array of its fields; the format allows objects only.
    let as_array = serde_json::json!([v["header"], v["ciphertext"], v["signature"]]);
    assert_eq!(
        kind(opener.open(&serde_json::to_vec(&as_array).unwrap())),
        ErrorKind::Malformed
    );
    let dup_header = format!(r#"{{"header":"e30",{}"#, &text[1..]);
    assert_eq!(
        kind(opener.open(dup_header.as_bytes())),
        ErrorKind::Malformed
    );
}

/// Header changes that the real producer signs are still rejected when they break a rule.
#[test]
fn signed_but_invalid_headers_are_rejected() {
    let w = World::new();
    let env = small_envelope(&w);
    let opener = w.billing_opener();
    let base = Parts::of(&env);
    let cases: Vec<(&str, Edit, ErrorKind)> = vec![
        (
            "unknown member",
            Box::new(|h| h["alg"] = "none".into()),
            ErrorKind::Malformed,
        ),
        (
            "version 2",
            Box::new(|h| h["version"] = 2.into()),
            ErrorKind::UnsupportedVersion,
        ),
        (
            "version string",
            Box::new(|h| h["version"] = "1".into()),
            ErrorKind::Malformed,
        ),
        (
            "float time",
            Box::new(|h| h["issued_at"] = 1.5.into()),
            ErrorKind::Malformed,
        ),
        (
            "time as string",
            Box::new(|h| h["expires_at"] = "2030".into()),
            ErrorKind::Malformed,
        ),
        (
            "missing expiry",
            Box::new(|h| {
                h.as_object_mut().unwrap().remove("expires_at");
            }),
            ErrorKind::Malformed,
        ),
        (
            "no recipients",
            Box::new(|h| h["recipients"] = serde_json::json!([])),
            ErrorKind::Malformed,
        ),
        (
            "expiry before issue",
            Box::new(|h| h["expires_at"] = (T0 - 1).into()),
            ErrorKind::Malformed,
        ),
        (
            "uuid v4",
            Box::new(|h| h["id"] = "6ba7b810-9dad-41d1-80b4-00c04fd430c8".into()),
            ErrorKind::Malformed,
        ),
        (
            "short enc",
            Box::new(|h| h["recipients"][0]["enc"] = "AAAA".into()),
            ErrorKind::Malformed,
        ),
        (
            "padded commitment",
            Box::new(|h| {
                let s = h["key_commitment"].as_str().unwrap().to_owned() + "=";
                h["key_commitment"] = s.into();
            }),
            ErrorKind::Malformed,
        ),
        (
            "duplicate recipient",
            Box::new(|h| {
                let r = h["recipients"][0].clone();
                h["recipients"].as_array_mut().unwrap().push(r);
            }),
            ErrorKind::Malformed,
        ),
        (
            "control char in type",
            Box::new(|h| h["event_type"] = "a\u{7}b".into()),
            ErrorKind::Malformed,
        ),
    ];
    for (name, edit, want) in cases {
        let mut p = base.clone();
        let mut h = p.header_json();
        edit(&mut h);
        p.set_header_json(&h);
        p.resign(w.orders.key());
        assert_eq!(kind(opener.open(&p.to_envelope())), want, "{name}");
    }
}

/// A whole header that is an array (even `[2]`, which would read as version 2) is malformed.
#[test]
fn header_must_be_an_object() {
    let w = World::new();
    let opener = w.billing_opener();
    for header in [&b"[2]"[..], b"[1]", b"\"x\"", b"null", b"{}"] {
        let mut p = Parts::of(&small_envelope(&w));
        p.header = header.to_vec();
        p.resign(w.orders.key());
        assert_eq!(
            kind(opener.open(&p.to_envelope())),
            ErrorKind::Malformed,
            "{header:?}"
        );
    }
}

/// A header with a duplicate JSON member, signed by the real producer, is rejected: a
/// duplicate could otherwise be read differently by different parsers.
#[test]
fn duplicate_header_members_are_rejected_even_when_signed() {
    let w = World::new();
    let env = small_envelope(&w);
    let opener = w.billing_opener();
    let mut p = Parts::of(&env);
    let text = String::from_utf8(p.header.clone()).unwrap();
    let dup = text.replacen(
        r#""event_type":"t""#,
        r#""event_type":"t","event_type":"admin.delete""#,
        1,
    );
    assert_ne!(dup, text);
    p.header = dup.into_bytes();
    p.resign(w.orders.key());
    assert_eq!(kind(opener.open(&p.to_envelope())), ErrorKind::Malformed);
}

/// Reordering recipients, or re-encoding the header with other whitespace, changes the
/// signed bytes.
#[test]
fn reordered_recipients_and_reencoded_headers_are_rejected() {
    let w = World::new();
    let env = w.seal(b"two recipients");
    let opener = w.billing_opener();
    let base = Parts::of(env.as_bytes());

    let mut p = base.clone();
    let mut h = p.header_json();
    h["recipients"].as_array_mut().unwrap().reverse();
    p.set_header_json(&h);
    assert_eq!(kind(opener.open(&p.to_envelope())), ErrorKind::BadSignature);

    let mut p = base.clone();
    p.header = serde_json::to_vec_pretty(&p.header_json()).unwrap();
    assert_eq!(kind(opener.open(&p.to_envelope())), ErrorKind::BadSignature);

    // Signatures and ciphertexts are not interchangeable between envelopes.
    let other = Parts::of(w.seal(b"two recipients").as_bytes());
    let mut p = base.clone();
    p.signature = other.signature.clone();
    assert_eq!(kind(opener.open(&p.to_envelope())), ErrorKind::BadSignature);
    let mut p = base.clone();
    p.ciphertext = other.ciphertext;
    assert_eq!(kind(opener.open(&p.to_envelope())), ErrorKind::BadSignature);

    // The untouched envelope still opens (no rejected attempt consumed its id).
    assert_eq!(
        opener.open(env.as_bytes()).unwrap().payload(),
        b"two recipients"
    );
}

/// A payload encrypted under one content key with the producer re-signing a header that
/// carries a different key commitment is rejected (consistency across recipients).
#[test]
fn wrong_key_commitment_is_rejected_even_when_signed() {
    let w = World::new();
    let opener = w.billing_opener();
    let mut p = Parts::of(w.seal(b"x").as_bytes());
    let mut h = p.header_json();
    let mut kc = unb64(h["key_commitment"].as_str().unwrap());
    kc[0] ^= 1;
    h["key_commitment"] = b64(&kc).into();
    p.set_header_json(&h);
    p.resign(w.orders.key());
    assert_eq!(
        kind(opener.open(&p.to_envelope())),
        ErrorKind::DecryptFailed
    );
}

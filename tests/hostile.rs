//! Hostile input: a table-driven corpus of known attack shapes, each with the exact rejection
//! kind it must get. Envelope cases that need a valid signature to reach the check they probe
//! are re-signed by the real producer (the strongest attacker short of a stolen key: a trusted
//! source that misbehaves, or a bug in a producer).
//!
//! Groups: the envelope text (encodings, duplicates, nesting, UTF-8), signed headers
//! (downgrade fields, duplicate members, numbers, sizes, low-order and all-zero values,
//! timestamps at the i64 limits), keys (JWK downgrade fields, low-order and all-zero keys),
//! webhooks (timestamps, encodings) and the clock at the window edges.

mod common;

use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::*;
use eventseal::webhook::{Request, StandardSigner, StandardWebhooks, Stripe, Verifier};
use eventseal::{
    ErrorKind, Freshness, Limits, RecipientPublicKey, RecipientSecretKey, SymmetricKey,
    UntrustedEnvelope, VerifyingKey,
};

/// X25519 points of small order, in every encoding an implementation must catch: the seven
/// canonical ones (0, 1, the two points of order 8, p - 1, p, p + 1) and the same with the
/// ignored top bit set (Bernstein's list, as used by libsodium and Project Wycheproof).
fn low_order_x25519() -> Vec<[u8; 32]> {
    let hex_points = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    let mut out = Vec::new();
    for h in hex_points {
        let p: [u8; 32] = hex::decode(h).unwrap().try_into().unwrap();
        let mut high = p;
        high[31] |= 0x80;
        out.push(p);
        out.push(high);
    }
    out
}

/// The envelope with its outer JSON text replaced.
fn outer(env: &[u8], f: impl Fn(&str) -> String) -> Vec<u8> {
    let text = std::str::from_utf8(env).unwrap();
    let changed = f(text);
    assert_ne!(changed, text, "the edit did not apply");
    changed.into_bytes()
}

// --- the envelope text ---------------------------------------------------------------------

#[test]
fn envelope_text() {
    let w = World::new();
    let env = w.seal(b"payload").as_bytes().to_vec();
    let p = Parts::of(&env);
    let (h, c, s) = (b64(&p.header), b64(&p.ciphertext), b64(&p.signature));
    let obj = |h: &str, c: &str, s: &str| -> Vec<u8> {
        format!(r#"{{"header":"{h}","ciphertext":"{c}","signature":"{s}"}}"#).into_bytes()
    };
    // The last base64url character of the signature carries 2 unused bits (64 bytes = 85⅓
    // characters); setting one gives a second encoding of the same bytes.
    let noncanonical_sig = {
        let mut chars: Vec<char> = s.chars().collect();
        let last = chars.pop().unwrap();
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let i = alphabet.find(last).unwrap();
        chars.push(alphabet.chars().nth(i ^ 1).unwrap());
        chars.into_iter().collect::<String>()
    };
    let std_alphabet = |t: &str| t.replace('-', "+").replace('_', "/");
    let cases: Vec<(&str, Vec<u8>, ErrorKind)> = vec![
        // Encodings of the three fields.
        (
            "padded header",
            obj(&format!("{h}="), &c, &s),
            ErrorKind::Malformed,
        ),
        (
            "padded signature",
            obj(&h, &c, &format!("{s}==")),
            ErrorKind::Malformed,
        ),
        (
            "space in header",
            obj(&format!(" {h}"), &c, &s),
            ErrorKind::Malformed,
        ),
        (
            "newline escape in ciphertext",
            obj(&h, &format!("{c}\\n"), &s),
            ErrorKind::Malformed,
        ),
        (
            "JSON-escaped base64 character",
            obj(&h, &c, &format!("\\u0041{}", &s[1..])),
            ErrorKind::Malformed,
        ),
        (
            "non-canonical trailing bits",
            obj(&h, &c, &noncanonical_sig),
            ErrorKind::Malformed,
        ),
        (
            "standard alphabet",
            obj(&std_alphabet(&h), &std_alphabet(&c), &std_alphabet(&s)),
            if h.contains(['-', '_']) || c.contains(['-', '_']) || s.contains(['-', '_']) {
                ErrorKind::Malformed
            } else {
                ErrorKind::Replayed // no character changed: it is the same envelope
            },
        ),
        (
            "overlong signature (65 bytes)",
            obj(&h, &c, &b64(&[p.signature.clone(), vec![0]].concat())),
            ErrorKind::Malformed,
        ),
        (
            "short signature (63 bytes)",
            obj(&h, &c, &b64(&p.signature[..63])),
            ErrorKind::Malformed,
        ),
        (
            "all-zero signature",
            obj(&h, &c, &b64(&[0u8; 64])),
            ErrorKind::BadSignature,
        ),
        // Zero-length fields.
        ("empty header", obj("", &c, &s), ErrorKind::Malformed),
        ("empty ciphertext", obj(&h, "", &s), ErrorKind::Malformed),
        ("empty signature", obj(&h, &c, ""), ErrorKind::Malformed),
        ("empty object", b"{}".to_vec(), ErrorKind::Malformed),
        ("empty input", Vec::new(), ErrorKind::Malformed),
        // Downgrade-style and unknown members.
        (
            "alg none beside the fields",
            outer(&env, |t| t.replacen('{', r#"{"alg":"none","#, 1)),
            ErrorKind::Malformed,
        ),
        (
            "JWS-style protected member",
            outer(&env, |t| {
                t.replacen('{', r#"{"protected":"eyJhbGciOiJub25lIn0","#, 1)
            }),
            ErrorKind::Malformed,
        ),
        (
            "unsigned flag",
            outer(&env, |t| t.replacen('{', r#"{"signed":false,"#, 1)),
            ErrorKind::Malformed,
        ),
        // Duplicates: a second header (the signed one first, a forged one second, and the
        // reverse) must not let two parsers disagree.
        (
            "duplicate header, forged first",
            outer(&env, |t| {
                t.replacen('{', &format!(r#"{{"header":"{}","#, b64(b"{}")), 1)
            }),
            ErrorKind::Malformed,
        ),
        (
            "duplicate header, forged last",
            outer(&env, |t| {
                t.replacen('}', &format!(r#","header":"{}"}}"#, b64(b"{}")), 1)
            }),
            ErrorKind::Malformed,
        ),
        (
            "duplicate signature",
            outer(&env, |t| {
                t.replacen('}', &format!(r#","signature":"{s}"}}"#), 1)
            }),
            ErrorKind::Malformed,
        ),
        // Types.
        (
            "header as a number",
            format!(r#"{{"header":1,"ciphertext":"{c}","signature":"{s}"}}"#).into_bytes(),
            ErrorKind::Malformed,
        ),
        (
            "fields as null",
            br#"{"header":null,"ciphertext":null,"signature":null}"#.to_vec(),
            ErrorKind::Malformed,
        ),
        (
            "array instead of object",
            format!(r#"["{h}","{c}","{s}"]"#).into_bytes(),
            ErrorKind::Malformed,
        ),
        // Text.
        (
            "invalid UTF-8 in a member name",
            [b"{\"he\xffader\":\"".as_slice(), &env[11..]].concat(),
            ErrorKind::Malformed,
        ),
        (
            "invalid UTF-8 in a value",
            obj(&format!("{h}\u{fffd}"), &c, &s)
                .into_iter()
                .map(|b| if b == 0xbd { 0xff } else { b })
                .collect(),
            ErrorKind::Malformed,
        ),
        (
            "byte-order mark",
            [b"\xef\xbb\xbf".as_slice(), &env].concat(),
            ErrorKind::Malformed,
        ),
        (
            "trailing data",
            [env.as_slice(), b"{}"].concat(),
            ErrorKind::Malformed,
        ),
        (
            "NUL after the object",
            [env.as_slice(), b"\0"].concat(),
            ErrorKind::Malformed,
        ),
        // Nesting and size.
        (
            "deeply nested arrays",
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
            ErrorKind::TooLarge,
        ),
        (
            "deeply nested unknown member",
            outer(&env, |t| {
                t.replacen(
                    '{',
                    &format!(r#"{{"x":{}1{},"#, "[".repeat(100), "]".repeat(100)),
                    1,
                )
            }),
            ErrorKind::TooLarge,
        ),
        (
            "unterminated nesting",
            "[".repeat(1_000_000).into_bytes(),
            ErrorKind::TooLarge,
        ),
        (
            "oversized",
            vec![b' '; Limits::default().max_envelope_bytes + 1],
            ErrorKind::TooLarge,
        ),
    ];
    let opener = w.billing_opener();
    opener.open(&env).unwrap();
    for (name, input, want) in cases {
        assert_eq!(kind(opener.open(&input)), want, "{name}");
    }
}

// --- signed headers --------------------------------------------------------------------------

/// Applies a text edit to the header JSON of a fresh envelope and re-signs it with the real
/// producer key; returns the envelope and the opener's verdict.
fn signed_case(w: &World, edit: &dyn Fn(&str) -> Vec<u8>) -> ErrorKind {
    let env = w.seal(b"payload");
    let mut p = Parts::of(env.as_bytes());
    let text = String::from_utf8(p.header.clone()).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text.as_bytes(), "the edit did not apply");
    p.header = edited;
    p.resign(w.orders.key());
    kind(w.billing_opener().open(&p.to_envelope()))
}

/// Replaces the JSON member `"name":value` (value as written by the sealer) in a header.
fn member(text: &str, name: &str, new: &str) -> Vec<u8> {
    let start = text.find(&format!("\"{name}\":")).unwrap();
    let rest = &text[start..];
    let end = rest.find([',', '}']).map(|e| start + e).unwrap();
    format!("{}\"{name}\":{new}{}", &text[..start], &text[end..]).into_bytes()
}

type HeaderEdit = Box<dyn Fn(&str) -> Vec<u8>>;

#[test]
fn signed_headers() {
    let w = World::new();
    let add = |m: &'static str| -> HeaderEdit {
        Box::new(move |t| t.replacen('{', &format!("{{{m},"), 1).into_bytes())
    };
    let set =
        |name: &'static str, v: String| -> HeaderEdit { Box::new(move |t| member(t, name, &v)) };
    let zero32 = format!("\"{}\"", URL_SAFE_NO_PAD.encode([0u8; 32]));
    let mut cases: Vec<(&str, HeaderEdit, ErrorKind)> = vec![
        // Downgrade fields from JOSE and friends: the format has no algorithm field at all;
        // the verifying key alone decides, and an unknown member is malformed.
        ("alg none", add(r#""alg":"none""#), ErrorKind::Malformed),
        ("alg HS256", add(r#""alg":"HS256""#), ErrorKind::Malformed),
        (
            "embedded jwk",
            add(r#""jwk":{"kty":"oct","k":"AAAA"}"#),
            ErrorKind::Malformed,
        ),
        (
            "jku",
            add(r#""jku":"https://attacker.example/keys""#),
            ErrorKind::Malformed,
        ),
        ("crit", add(r#""crit":["exp"]"#), ErrorKind::Malformed),
        ("zip", add(r#""zip":"DEF""#), ErrorKind::Malformed),
        (
            "enc downgrade",
            add(r#""enc":"A128CBC-HS256""#),
            ErrorKind::Malformed,
        ),
        // Duplicate members, first and last value each being the "real" one.
        (
            "duplicate source",
            add(r#""source":"payments""#),
            ErrorKind::Malformed,
        ),
        (
            "duplicate version",
            add(r#""version":1"#),
            ErrorKind::Malformed,
        ),
        (
            "duplicate issued_at",
            add(r#""issued_at":1"#),
            ErrorKind::Malformed,
        ),
        (
            "duplicate key_commitment",
            Box::new(|t| {
                t.replacen('}', r#","key_commitment":"AAAA"}"#, 1)
                    .into_bytes()
            }),
            ErrorKind::Malformed,
        ),
        (
            "duplicate recipient consumer",
            Box::new(|t| {
                t.replacen(
                    r#""consumer":"billing""#,
                    r#""consumer":"billing","consumer":"audit""#,
                    1,
                )
                .into_bytes()
            }),
            ErrorKind::Malformed,
        ),
        // Numbers.
        (
            "issued_at 1e400",
            set("issued_at", "1e400".into()),
            ErrorKind::Malformed,
        ),
        (
            "issued_at 2^64",
            set("issued_at", "18446744073709551616".into()),
            ErrorKind::Malformed,
        ),
        (
            "expires_at i64::MAX + 1",
            set("expires_at", "9223372036854775808".into()),
            ErrorKind::Malformed,
        ),
        (
            "issued_at i64::MIN - 1",
            set("issued_at", "-9223372036854775809".into()),
            ErrorKind::Malformed,
        ),
        (
            "issued_at as float",
            set("issued_at", format!("{}.0", T0)),
            ErrorKind::Malformed,
        ),
        (
            "issued_at exponent",
            set("issued_at", "17e8".into()),
            ErrorKind::Malformed,
        ),
        (
            "issued_at negative zero",
            set("issued_at", "-0".into()),
            ErrorKind::Malformed,
        ),
        (
            "issued_at leading zero",
            set("issued_at", format!("0{T0}")),
            ErrorKind::Malformed,
        ),
        (
            "issued_at hex",
            set("issued_at", "0x6553f100".into()),
            ErrorKind::Malformed,
        ),
        (
            "version 2^32 + 1",
            set("version", "4294967297".into()),
            ErrorKind::UnsupportedVersion,
        ),
        (
            "version -1",
            set("version", "-1".into()),
            ErrorKind::Malformed,
        ),
        // Timestamps at the i64 limits (with the default freshness).
        (
            "issued_at and expires_at i64::MAX",
            Box::new(|t| {
                let t =
                    String::from_utf8(member(t, "issued_at", &(i64::MAX - 1).to_string())).unwrap();
                member(&t, "expires_at", &i64::MAX.to_string())
            }),
            ErrorKind::NotYetValid,
        ),
        (
            "issued_at and expires_at i64::MIN",
            Box::new(|t| {
                let t = String::from_utf8(member(t, "issued_at", &i64::MIN.to_string())).unwrap();
                member(&t, "expires_at", &(i64::MIN + 1).to_string())
            }),
            ErrorKind::Expired,
        ),
        (
            "lifetime i64::MIN to i64::MAX",
            Box::new(|t| {
                let t = String::from_utf8(member(t, "issued_at", &i64::MIN.to_string())).unwrap();
                member(&t, "expires_at", &i64::MAX.to_string())
            }),
            ErrorKind::LifetimeTooLong,
        ),
        (
            "expires_at before issued_at",
            set("expires_at", (T0 - 1).to_string()),
            ErrorKind::Malformed,
        ),
        (
            "expires_at equal to issued_at",
            set("expires_at", T0.to_string()),
            ErrorKind::Malformed,
        ),
        // Text inside the signed header.
        (
            "invalid UTF-8",
            Box::new(|t| {
                let mut bytes = t.as_bytes().to_vec();
                let at = t.find("order.created").unwrap() + 5;
                bytes[at] = 0xff; // "order\xffcreated"
                bytes
            }),
            ErrorKind::Malformed,
        ),
        (
            "lone surrogate",
            set("event_type", r#""order\ud800""#.into()),
            ErrorKind::Malformed,
        ),
        (
            "NUL in source",
            set("source", r#""orders\u0000""#.into()),
            ErrorKind::Malformed,
        ),
        (
            "escaped source",
            set("source", r#""\u006frders""#.into()),
            ErrorKind::Malformed,
        ),
        (
            "bidi override in type",
            set("event_type", "\"order.\u{202e}created\"".into()),
            ErrorKind::Malformed,
        ),
        // Zero-length and oversized fields.
        (
            "empty source",
            set("source", "\"\"".into()),
            ErrorKind::Malformed,
        ),
        (
            "empty event type",
            set("event_type", "\"\"".into()),
            ErrorKind::Malformed,
        ),
        (
            "empty content type",
            set("content_type", "\"\"".into()),
            ErrorKind::Malformed,
        ),
        (
            "empty key id",
            set("key_id", "\"\"".into()),
            ErrorKind::Malformed,
        ),
        (
            "empty consumer",
            Box::new(|t| {
                t.replacen(r#""consumer":"billing""#, r#""consumer":"""#, 1)
                    .into_bytes()
            }),
            ErrorKind::Malformed,
        ),
        (
            "event type of 257 bytes",
            set("event_type", format!("\"{}\"", "a".repeat(257))),
            ErrorKind::Malformed,
        ),
        (
            "content type of 129 bytes",
            set("content_type", format!("\"{}\"", "a".repeat(129))),
            ErrorKind::Malformed,
        ),
        (
            "commitment of 31 bytes",
            set(
                "key_commitment",
                format!("\"{}\"", URL_SAFE_NO_PAD.encode([7u8; 31])),
            ),
            ErrorKind::Malformed,
        ),
        (
            "commitment of 33 bytes",
            set(
                "key_commitment",
                format!("\"{}\"", URL_SAFE_NO_PAD.encode([7u8; 33])),
            ),
            ErrorKind::Malformed,
        ),
        (
            "nested value in content type",
            set(
                "content_type",
                format!("{}1{}", "[".repeat(20), "]".repeat(20)),
            ),
            ErrorKind::TooLarge,
        ),
        // All-zero values.
        (
            "all-zero key commitment",
            set("key_commitment", zero32.clone()),
            ErrorKind::DecryptFailed,
        ),
        (
            "all-zero wrapped key",
            Box::new(|t| {
                let v: serde_json::Value = serde_json::from_str(t).unwrap();
                let wk = v["recipients"][0]["wrapped_key"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                t.replacen(&wk, &URL_SAFE_NO_PAD.encode([0u8; 48]), 1)
                    .into_bytes()
            }),
            ErrorKind::DecryptFailed,
        ),
    ];
    // Low-order X25519 points as the ephemeral key of billing's entry: the wrap cannot be
    // opened (the agreement is refused), whatever the encoding.
    for point in low_order_x25519() {
        let edit: HeaderEdit = Box::new(move |t| {
            let v: serde_json::Value = serde_json::from_str(t).unwrap();
            let enc = v["recipients"][0]["enc"].as_str().unwrap().to_owned();
            t.replacen(&enc, &URL_SAFE_NO_PAD.encode(point), 1)
                .into_bytes()
        });
        cases.push(("low-order enc", edit, ErrorKind::DecryptFailed));
    }
    for (name, edit, want) in cases {
        assert_eq!(signed_case(&w, &*edit), want, "{name}");
    }
}

// --- keys ------------------------------------------------------------------------------------

fn jwk_with(jwk: &str, edit: impl Fn(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(jwk).unwrap();
    edit(&mut v);
    v.to_string()
}

#[test]
fn hostile_keys() {
    let w = World::new();
    let verifying = w.orders.key().verifying_key().to_jwk();
    let recipient = w.billing_pub().to_jwk();
    let recipient_secret = w.billing[0].to_secret_jwk();
    let symmetric = SymmetricKey::generate("billing").unwrap().to_secret_jwk();
    let b = |bytes: &[u8]| serde_json::Value::from(URL_SAFE_NO_PAD.encode(bytes));
    let verify = |j: String| VerifyingKey::from_jwk(&j).map(|_| ());
    let public = |j: String| RecipientPublicKey::from_jwk(&j).map(|_| ());
    let secret = |j: String| RecipientSecretKey::from_jwk(&j).map(|_| ());
    let sym = |j: String| SymmetricKey::from_jwk(&j).map(|_| ());
    let no_kid = |v: &mut serde_json::Value| {
        v.as_object_mut().unwrap().remove("kid");
    };
    let mut cases: Vec<(String, eventseal::Result<()>, ErrorKind)> = vec![
        // Algorithm and type confusion.
        ("alg none".into(), verify(jwk_with(&verifying, |v| v["alg"] = "none".into())), ErrorKind::InvalidKey),
        ("alg HS256 on an Ed25519 key".into(), verify(jwk_with(&verifying, |v| v["alg"] = "HS256".into())), ErrorKind::InvalidKey),
        ("kty oct as a verifying key".into(), verify(jwk_with(&verifying, |v| { v["kty"] = "oct".into(); v["k"] = v["x"].clone(); })), ErrorKind::InvalidKey),
        ("crv X25519 as a verifying key".into(), verify(jwk_with(&verifying, |v| v["crv"] = "X25519".into())), ErrorKind::InvalidKey),
        ("crv Ed448".into(), verify(jwk_with(&verifying, |v| v["crv"] = "Ed448".into())), ErrorKind::InvalidKey),
        ("use enc on a signing key".into(), verify(jwk_with(&verifying, |v| v["use"] = "enc".into())), ErrorKind::InvalidKey),
        ("Ed25519 key as a recipient".into(), public(verifying.clone()), ErrorKind::InvalidKey),
        ("recipient key as a verifying key".into(), verify(recipient.clone()), ErrorKind::InvalidKey),
        ("private part in a public key".into(), verify(jwk_with(&verifying, |v| v["d"] = b(&[1u8; 32]))), ErrorKind::InvalidKey),
        ("kid of another key".into(), verify(jwk_with(&verifying, |v| v["kid"] = "p2fGs5qpUS_ukU0gKW22vx_peS1ZA-fzJmIcCkyq3E4".into())), ErrorKind::InvalidKey),
        // Duplicate members: the second x would otherwise silently win.
        ("duplicate x".into(), verify(verifying.replacen("\"x\":", &format!("\"x\":\"{}\",\"x\":", URL_SAFE_NO_PAD.encode([9u8; 32])), 1)), ErrorKind::InvalidKey),
        // Encodings and lengths.
        ("x padded".into(), verify(jwk_with(&verifying, |v| { let x = v["x"].as_str().unwrap().to_owned() + "="; v["x"] = x.into(); })), ErrorKind::InvalidKey),
        ("x 31 bytes".into(), verify(jwk_with(&verifying, |v| { v["x"] = b(&[5u8; 31]); no_kid(v); })), ErrorKind::InvalidKey),
        ("x 33 bytes".into(), verify(jwk_with(&verifying, |v| { v["x"] = b(&[5u8; 33]); no_kid(v); })), ErrorKind::InvalidKey),
        ("x empty".into(), verify(jwk_with(&verifying, |v| { v["x"] = "".into(); no_kid(v); })), ErrorKind::InvalidKey),
        ("huge JWK".into(), verify(jwk_with(&verifying, |v| v["x5c"] = "A".repeat(10_000).into())), ErrorKind::InvalidKey),
        // All-zero and small-order keys.
        ("all-zero Ed25519 public key".into(), verify(jwk_with(&verifying, |v| { v["x"] = b(&[0u8; 32]); no_kid(v); })), ErrorKind::InvalidKey),
        ("Ed25519 identity point".into(), verify(jwk_with(&verifying, |v| { let mut p = [0u8; 32]; p[0] = 1; v["x"] = b(&p); no_kid(v); })), ErrorKind::InvalidKey),
        ("all-zero X25519 secret".into(), secret(jwk_with(&recipient_secret, |v| { v["d"] = b(&[0u8; 32]); no_kid(v); v.as_object_mut().unwrap().remove("x"); })), ErrorKind::InvalidKey),
        ("all-zero symmetric key".into(), sym(jwk_with(&symmetric, |v| { v["k"] = b(&[0u8; 32]); no_kid(v); })), ErrorKind::InvalidKey),
        ("P-256 point (0, 0)".into(), verify(r#"{"kty":"EC","crv":"P-256","source":"orders","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}"#.into()), ErrorKind::InvalidKey),
    ];
    for point in low_order_x25519() {
        let j = jwk_with(&recipient, |v| {
            v["x"] = b(&point);
            no_kid(v);
        });
        cases.push((
            "low-order X25519 public key".into(),
            public(j),
            ErrorKind::InvalidKey,
        ));
    }
    for (name, result, want) in cases {
        assert_eq!(result.map_err(|e| e.kind()), Err(want), "{name}");
    }
}

// --- webhooks --------------------------------------------------------------------------------

#[test]
fn hostile_webhook_values() {
    const NOW: i64 = 1_700_000_000;
    let body = br#"{"type":"ping"}"#;
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let verifier = StandardWebhooks::new(&[secret]).unwrap();
    let signer = StandardSigner::new(secret).unwrap();
    let good_sig = signer.signature("msg_1", NOW, body).unwrap();
    let good_b64 = good_sig.strip_prefix("v1,").unwrap().to_owned();
    // A timestamp header that is not the signed one fails the signature; the timestamp itself
    // must be parsed strictly first, so these never reach the MAC.
    let ts_cases: Vec<(&str, ErrorKind)> = vec![
        ("9223372036854775807", ErrorKind::Malformed), // 19 digits: over the 12-digit cap
        ("-9223372036854775808", ErrorKind::Malformed),
        ("99999999999999999999", ErrorKind::Malformed),
        ("-1", ErrorKind::Malformed),
        ("+1700000000", ErrorKind::Malformed),
        (" 1700000000", ErrorKind::Malformed),
        ("1700000000 ", ErrorKind::Malformed),
        ("1.7e9", ErrorKind::Malformed),
        ("1700000000.0", ErrorKind::Malformed),
        ("0x6553f100", ErrorKind::Malformed),
        ("", ErrorKind::Malformed),
        ("١٧٠٠٠٠٠٠٠٠", ErrorKind::Malformed), // Arabic-Indic digits
    ];
    for (ts, want) in ts_cases {
        let r = Request::new(
            [
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", ts),
                ("webhook-signature", good_sig.as_str()),
            ],
            body,
        );
        assert_eq!(kind(verifier.verify(&r, NOW)), want, "timestamp {ts:?}");
    }
    // Signed timestamps at the edges of what parses: far past and far future, correctly signed.
    for (ts, want) in [
        (0, ErrorKind::Expired),
        (999_999_999_999, ErrorKind::NotYetValid),
    ] {
        let sig = signer.signature("msg_1", ts, body).unwrap();
        let ts_text = ts.to_string();
        let r = Request::new(
            [
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", ts_text.as_str()),
                ("webhook-signature", sig.as_str()),
            ],
            body,
        );
        assert_eq!(
            kind(verifier.verify(&r, NOW)),
            want,
            "signed timestamp {ts}"
        );
    }
    // Signature encodings: the right MAC in a non-canonical or wrong encoding is not accepted.
    let mac = STANDARD.decode(&good_b64).unwrap();
    let sig_cases: Vec<(String, ErrorKind)> = vec![
        (
            format!("v1,{}", good_b64.trim_end_matches('=')),
            ErrorKind::Malformed,
        ),
        (format!("v1,{good_b64}="), ErrorKind::Malformed),
        (
            format!("v1,{}", URL_SAFE_NO_PAD.encode(&mac)),
            ErrorKind::Malformed,
        ),
        (format!("v1,{}", hex::encode(&mac)), ErrorKind::BadSignature),
        (format!("v1, {good_b64}"), ErrorKind::Malformed),
        (
            format!("v1,{}", STANDARD.encode(&mac[..31])),
            ErrorKind::BadSignature,
        ),
        (
            format!("v1,{}", STANDARD.encode([mac.as_slice(), &[0]].concat())),
            ErrorKind::BadSignature,
        ),
        (
            format!("v1,{}", STANDARD.encode([0u8; 32])),
            ErrorKind::BadSignature,
        ),
        ("v1,".to_owned(), ErrorKind::BadSignature),
        (format!("V1,{good_b64}"), ErrorKind::BadSignature), // unknown version: skipped
        (format!("v1a,{good_b64}"), ErrorKind::BadSignature), // an HMAC is not an Ed25519 signature
        (format!("v1={good_b64}"), ErrorKind::Malformed),
    ];
    for (sig, want) in sig_cases {
        let r = Request::new(
            [
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", "1700000000"),
                ("webhook-signature", sig.as_str()),
            ],
            body,
        );
        assert_eq!(kind(verifier.verify(&r, NOW)), want, "signature {sig:?}");
    }
    // Stripe: duplicate timestamps (the classic split-view shape), and an i64-limit timestamp.
    let stripe = Stripe::new(&["whsec_test"]).unwrap();
    for (header, want) in [
        (
            format!("t={NOW},t=1,v1={}", "0".repeat(64)),
            ErrorKind::Malformed,
        ),
        (
            format!("t=9223372036854775807,v1={}", "0".repeat(64)),
            ErrorKind::Malformed,
        ),
        (
            format!("t={NOW},v1={}", "g".repeat(64)),
            ErrorKind::Malformed,
        ),
        (
            format!("t={NOW},v1={}", "A".repeat(64)),
            ErrorKind::BadSignature,
        ), // uppercase hex decodes
        (format!("t={NOW}"), ErrorKind::Malformed),
    ] {
        let r = Request::new([("Stripe-Signature", header.as_str())], body);
        assert_eq!(kind(stripe.verify(&r, NOW)), want, "{header}");
    }
}

// --- the clock at the window edges -----------------------------------------------------------

/// Envelope freshness is `issued_at - skew <= now < expires_at + skew`; webhook timestamps
/// are accepted within the tolerance inclusive on both sides.
#[test]
fn clock_at_the_window_edges() {
    let w = World::new();
    let skew = 60;
    let exp = T0 + 300; // the World's sealer uses a 300 s TTL
    let cases = [
        (T0 - skew - 1, Err(ErrorKind::NotYetValid)),
        (T0 - skew, Ok(())),
        (exp + skew - 1, Ok(())),
        (exp + skew, Err(ErrorKind::Expired)),
        (i64::MIN, Err(ErrorKind::NotYetValid)),
        (i64::MAX, Err(ErrorKind::Expired)),
    ];
    for (now, want) in cases {
        w.clock.set(T0);
        let env = w.seal(b"x");
        w.clock.set(now);
        let got = w
            .billing_opener()
            .with_freshness(Freshness::default().with_max_skew(Duration::from_secs(60)))
            .open(env.as_bytes())
            .map(|_| ())
            .map_err(|e| e.kind());
        assert_eq!(got, want, "now = {now}");
    }

    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let verifier = StandardWebhooks::new(&[secret]).unwrap();
    let headers = StandardSigner::new(secret)
        .unwrap()
        .headers("msg_1", T0, b"{}")
        .unwrap();
    let request = Request::new(headers.iter().map(|(k, v)| (*k, v.as_str())), b"{}");
    let tol = 300;
    for (now, want) in [
        (T0 - tol - 1, Err(ErrorKind::NotYetValid)),
        (T0 - tol, Ok(())),
        (T0 + tol, Ok(())),
        (T0 + tol + 1, Err(ErrorKind::Expired)),
        (i64::MIN, Err(ErrorKind::NotYetValid)),
        (i64::MAX, Err(ErrorKind::Expired)),
    ] {
        let got = verifier
            .verify(&request, now)
            .map(|_| ())
            .map_err(|e| e.kind());
        assert_eq!(got, want, "webhook now = {now}");
    }
}

/// Webhook Ed25519 public keys (Discord, Standard Webhooks `whpk_`) are held to the rule of
/// trusted sources: a small-order or non-canonical key, under which a signature can verify for
/// many messages, is refused when the verifier is made; a real key is taken.
#[test]
fn hostile_webhook_ed25519_keys() {
    use base64::engine::general_purpose::STANDARD;
    use eventseal::webhook::Discord;
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut order_two = [0xffu8; 32]; // y = -1 (p - 1): the point of order 2
    order_two[0] = 0xec;
    order_two[31] = 0x7f;
    let mut non_canonical = [0xffu8; 32]; // y = p + 1, i.e. 1 not reduced
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    for (name, key) in [
        ("all-zero", [0u8; 32]),
        ("identity", identity),
        ("order 2", order_two),
        ("non-canonical identity", non_canonical),
    ] {
        assert_eq!(
            kind(Discord::new(&[hex::encode(key)])),
            ErrorKind::InvalidKey,
            "Discord {name}"
        );
        let whpk = format!("whpk_{}", STANDARD.encode(key));
        assert_eq!(
            kind(StandardWebhooks::new(&[whpk])),
            ErrorKind::InvalidKey,
            "whpk_ {name}"
        );
    }
    let (_, real) = StandardSigner::generate_ed25519().unwrap();
    assert!(StandardWebhooks::new(&[real]).is_ok());
}

/// Nothing in this file's corpus may panic the parser either, with any limits.
#[test]
fn parser_survives_the_corpus_with_tiny_limits() {
    let w = World::new();
    let env = w.seal(b"x");
    let tiny = Limits::default()
        .with_max_envelope_bytes(1)
        .with_max_header_bytes(1)
        .with_max_recipients(0)
        .with_max_json_depth(0);
    assert_eq!(
        kind(UntrustedEnvelope::parse(env.as_bytes(), &tiny)),
        ErrorKind::TooLarge
    );
}

//! Keys and trust files in exact agreement with docs/FORMAT.md §5 and docs/TRUST.md
//! (issue 12): one strict JWK parser for every path a JWK arrives by, a present member has
//! its type (never `null` for "absent"), and X25519 public keys have one spelling.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::*;
use eventseal::{
    ErrorKind, RecipientDirectory, RecipientPublicKey, RecipientSecretKey, SigningKey,
    SymmetricKey, TrustStore, VerifyingKey,
};

fn trust_file(jwk_text: &str, extra: &str) -> String {
    format!(
        r#"{{"version":1,"sources":[{{"source":"orders","allow":["*"],"keys":[{{"jwk":{jwk_text}{extra}}}]}}]}}"#
    )
}

/// A duplicate member in a JWK is refused in a trust file as it is with `--trust` /
/// `VerifyingKey::from_jwk`: the trust file no longer reads the JWK into a map, where the
/// last `x` would have won.
#[test]
fn duplicate_jwk_members_are_refused_in_trust_files_too() {
    let key = SigningKey::generate("orders").unwrap();
    let jwk = key.verifying_key().to_jwk();
    let real_x = serde_json::from_str::<serde_json::Value>(&jwk).unwrap()["x"]
        .as_str()
        .unwrap()
        .to_owned();
    // {"x":"AAAA…", "x":"<real>"}: a map keeps the real key; the strict parser refuses.
    let duplicated = jwk.replacen(
        "\"x\":",
        &format!("\"x\": \"{}\", \"x\":", URL_SAFE_NO_PAD.encode([7u8; 32])),
        1,
    );
    assert!(duplicated.contains(&real_x));
    assert_eq!(
        kind(VerifyingKey::from_jwk(&duplicated)),
        ErrorKind::InvalidKey
    );
    let err = TrustStore::from_json(&trust_file(&duplicated, "")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidTrust, "{err}");
    assert!(err.to_string().contains("sources[0].keys[0].jwk"), "{err}");
    // The same JWK without the duplicate loads, and the file round-trips.
    let store = TrustStore::from_json(&trust_file(&jwk, "")).unwrap();
    let again = TrustStore::from_json(&store.to_json()).unwrap();
    assert_eq!(again.to_json(), store.to_json());

    // Recipient directories take the same path.
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let pjwk = billing.public_key().to_jwk();
    let dir = |jwk: &str| {
        format!(
            r#"{{"version":1,"consumers":[{{"consumer":"billing","keys":[{{"jwk":{jwk}}}]}}]}}"#
        )
    };
    assert!(RecipientDirectory::from_json(&dir(&pjwk)).is_ok());
    let dup = pjwk.replacen(
        "\"x\":",
        &format!("\"x\": \"{}\", \"x\":", URL_SAFE_NO_PAD.encode([9u8; 32])),
        1,
    );
    assert_eq!(
        kind(RecipientDirectory::from_json(&dir(&dup))),
        ErrorKind::InvalidTrust
    );
}

/// `"kid": null` (or any optional member as null) is refused: a present member must have
/// its type. Likewise for the optional members of trust files.
#[test]
fn null_optional_members_are_refused() {
    let key = SigningKey::generate("orders").unwrap();
    let jwk = key.verifying_key().to_jwk();
    let with = |name: &str| {
        let mut v: serde_json::Value = serde_json::from_str(&jwk).unwrap();
        v[name] = serde_json::Value::Null;
        v.to_string()
    };
    for member in ["kid", "use", "alg", "d", "y", "consumer"] {
        assert_eq!(
            kind(VerifyingKey::from_jwk(&with(member))),
            ErrorKind::InvalidKey,
            "{member}: null"
        );
    }
    let r = RecipientSecretKey::generate("billing").unwrap();
    let mut rv: serde_json::Value = serde_json::from_str(&r.public_key().to_jwk()).unwrap();
    rv["source"] = serde_json::Value::Null;
    assert_eq!(
        kind(RecipientPublicKey::from_jwk(&rv.to_string())),
        ErrorKind::InvalidKey
    );
    let s = SymmetricKey::generate("billing").unwrap();
    let mut sv: serde_json::Value = serde_json::from_str(&s.to_secret_jwk()).unwrap();
    sv["kid"] = serde_json::Value::Null;
    assert_eq!(
        kind(SymmetricKey::from_jwk(&sv.to_string())),
        ErrorKind::InvalidKey
    );
    for extra in [r#","not_before":null"#, r#","not_after":null"#] {
        assert_eq!(
            kind(TrustStore::from_json(&trust_file(&jwk, extra))),
            ErrorKind::InvalidTrust,
            "{extra}"
        );
    }
    let eb_null = format!(
        r#"{{"version":1,"sources":[{{"source":"orders","eventbridge_source":null,"allow":["*"],"keys":[{{"jwk":{jwk}}}]}}]}}"#
    );
    assert_eq!(
        kind(TrustStore::from_json(&eb_null)),
        ErrorKind::InvalidTrust
    );
    // Absent is fine.
    assert!(TrustStore::from_json(&trust_file(&jwk, "")).is_ok());
}

/// Non-canonical X25519 public keys (bit 255 set, or a value in [p, 2^255)) are refused on
/// import: each is a second spelling of another key, with another key id.
#[test]
fn non_canonical_x25519_public_keys_are_refused() {
    let r = RecipientSecretKey::generate("billing").unwrap();
    let jwk: serde_json::Value = serde_json::from_str(&r.public_key().to_jwk()).unwrap();
    let x = unb64(jwk["x"].as_str().unwrap());
    let mut high = x.clone();
    high[31] |= 0x80;
    let mut p = vec![0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    let mut p_plus_9 = p.clone();
    p_plus_9[0] = 0xf6; // p + 9: another spelling of the base point u = 9
    for bad in [high, p, p_plus_9] {
        let mut v = jwk.clone();
        v["x"] = b64(&bad).into();
        v.as_object_mut().unwrap().remove("kid");
        assert_eq!(
            kind(RecipientPublicKey::from_jwk(&v.to_string())),
            ErrorKind::InvalidKey,
            "{}",
            b64(&bad)
        );
    }
    // A secret JWK whose x is the non-canonical spelling of its own public key.
    let secret: serde_json::Value = serde_json::from_str(&r.to_secret_jwk()).unwrap();
    let mut s = secret.clone();
    let mut sx = x.clone();
    sx[31] |= 0x80;
    s["x"] = b64(&sx).into();
    s.as_object_mut().unwrap().remove("kid");
    assert_eq!(
        kind(RecipientSecretKey::from_jwk(&s.to_string())),
        ErrorKind::InvalidKey
    );
    assert!(RecipientPublicKey::from_jwk(&jwk.to_string()).is_ok());
}

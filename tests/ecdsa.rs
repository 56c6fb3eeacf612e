//! ECDSA P-256 (SHA-256) source keys: round trips, JWK rules, and no algorithm confusion (the
//! algorithm comes from the trusted key, never from the envelope).

mod common;

use std::sync::Arc;

use common::*;
use eventseal::{
    ErrorKind, FixedClock, Sealer, SignatureAlgorithm, SigningKey, TrustStore, VerifyingKey,
};

fn p256_sealer(clock: &Arc<FixedClock>) -> Sealer {
    Sealer::new(
        SigningKey::generate_with("hsm-producer", SignatureAlgorithm::EcdsaP256Sha256).unwrap(),
    )
    .with_clock(clock.clone())
}

#[test]
fn p256_round_trip() {
    let w = World::new();
    let sealer = p256_sealer(&w.clock);
    assert_eq!(
        sealer.key().algorithm(),
        SignatureAlgorithm::EcdsaP256Sha256
    );
    let env = sealer
        .seal("order.created", b"from an HSM key", &[w.billing_pub()])
        .unwrap();
    let trust = TrustStore::new().with(sealer.key().verifying_key().clone());
    let opener = opener_for(&w.billing, trust, &w.clock);
    assert_eq!(
        opener.open(env.as_bytes()).unwrap().payload(),
        b"from an HSM key"
    );
    // The signature field is 64 bytes (r || s) as for Ed25519.
    assert_eq!(Parts::of(env.as_bytes()).signature.len(), 64);
}

#[test]
fn p256_jwk_round_trip_and_thumbprint() {
    let k = SigningKey::generate_with("s", SignatureAlgorithm::EcdsaP256Sha256).unwrap();
    let secret = k.to_secret_jwk();
    let again = SigningKey::from_jwk(&secret).unwrap();
    assert_eq!(again.verifying_key(), k.verifying_key());
    let public = k.verifying_key().to_jwk();
    let v: serde_json::Value = serde_json::from_str(&public).unwrap();
    assert_eq!(
        (v["kty"].as_str(), v["crv"].as_str(), v["alg"].as_str()),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    // RFC 7638 thumbprint, computed independently.
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        v["x"].as_str().unwrap(),
        v["y"].as_str().unwrap()
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    assert_eq!(k.key_id().as_str(), b64(digest.as_ref()));
    assert_eq!(VerifyingKey::from_jwk(&public).unwrap(), *k.verifying_key());
    let d: serde_json::Value = serde_json::from_str(&secret).unwrap();
    assert!(!format!("{k:?}").contains(d["d"].as_str().unwrap()));
}

/// RFC 7515 Appendix A.3's P-256 key (with our source member) loads and its pair is checked.
#[test]
fn rfc7515_p256_key_loads() {
    let jwk = r#"{"kty":"EC","crv":"P-256","source":"s",
        "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#;
    let k = SigningKey::from_jwk(jwk).unwrap();
    assert_eq!(k.algorithm(), SignatureAlgorithm::EcdsaP256Sha256);
    // The key id docs/FORMAT.md gives as its example.
    assert_eq!(
        k.key_id().as_str(),
        "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"
    );
    // Another d for the same public point is not a pair.
    let bad = jwk.replace("jpsQnnGQ", "kpsQnnGQ");
    assert_eq!(
        SigningKey::from_jwk(&bad).unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
}

#[test]
fn invalid_p256_public_keys_are_rejected() {
    let k = SigningKey::generate_with("s", SignatureAlgorithm::EcdsaP256Sha256).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&k.verifying_key().to_jwk()).unwrap();
    v.as_object_mut().unwrap().remove("kid");
    // A point off the curve (y changed).
    let mut y = unb64(v["y"].as_str().unwrap());
    y[31] ^= 1;
    v["y"] = b64(&y).into();
    assert_eq!(
        VerifyingKey::from_jwk(&v.to_string()).unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
    // Missing y; y on an Ed25519 key; EC with the wrong alg.
    let mut no_y = v.clone();
    no_y.as_object_mut().unwrap().remove("y");
    assert_eq!(
        VerifyingKey::from_jwk(&no_y.to_string())
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidKey
    );
    let mut ed: serde_json::Value =
        serde_json::from_str(&SigningKey::generate("s").unwrap().verifying_key().to_jwk()).unwrap();
    ed["y"] = v["y"].clone();
    assert_eq!(
        VerifyingKey::from_jwk(&ed.to_string()).unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
    let mut wrong_alg: serde_json::Value =
        serde_json::from_str(&k.verifying_key().to_jwk()).unwrap();
    wrong_alg["alg"] = "EdDSA".into();
    assert_eq!(
        VerifyingKey::from_jwk(&wrong_alg.to_string())
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidKey
    );
}

/// Both algorithms produce 64-byte signatures, so an attacker could try presenting one where
/// the other is expected. The consumer verifies with the trusted key's algorithm only.
#[test]
fn no_algorithm_confusion() {
    let w = World::new();
    let ed = SigningKey::from_jwk(&w.orders.key().to_secret_jwk()).unwrap(); // Ed25519, "orders"
    let p256 = SigningKey::generate_with("orders", SignatureAlgorithm::EcdsaP256Sha256).unwrap();
    let trust_ed = TrustStore::new().with(ed.verifying_key().clone());
    let trust_p = TrustStore::new().with(p256.verifying_key().clone());
    let env = w.seal(b"x"); // Ed25519-signed, naming the Ed25519 key

    // The Ed25519 envelope re-signed with the P-256 key, still naming the Ed25519 key id.
    let mut p = Parts::of(env.as_bytes());
    let jwk: serde_json::Value = serde_json::from_str(&p256.to_secret_jwk()).unwrap();
    let pair = {
        let x = unb64(jwk["x"].as_str().unwrap());
        let y = unb64(jwk["y"].as_str().unwrap());
        let public: Vec<u8> = [&[4u8][..], &x, &y].concat();
        ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &unb64(jwk["d"].as_str().unwrap()),
            &public,
            &ring::rand::SystemRandom::new(),
        )
        .unwrap()
    };
    let msg = pae(&[b"eventseal/v1/signature", &p.header, &p.ciphertext]);
    p.signature = pair
        .sign(&ring::rand::SystemRandom::new(), &msg)
        .unwrap()
        .as_ref()
        .to_vec();
    let both = trust_ed.clone().with(p256.verifying_key().clone());
    assert_eq!(
        kind(opener_for(&w.billing, both, &w.clock).open(&p.to_envelope())),
        ErrorKind::BadSignature
    );

    // The same ECDSA signature with the header renamed to the P-256 key id is a genuine
    // signature by that key over *different* header bytes: it cannot verify either.
    let mut h = p.header_json();
    h["key_id"] = p256.key_id().as_str().into();
    p.set_header_json(&h);
    assert_eq!(
        kind(opener_for(&w.billing, trust_p, &w.clock).open(&p.to_envelope())),
        ErrorKind::BadSignature
    );

    // A consumer that trusts only the P-256 key does not accept the Ed25519 envelope.
    let only_p = TrustStore::new().with(p256.verifying_key().clone());
    assert_eq!(
        kind(opener_for(&w.billing, only_p, &w.clock).open(env.as_bytes())),
        ErrorKind::UnknownKey
    );
}

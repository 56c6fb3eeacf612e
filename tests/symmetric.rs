//! Pre-shared symmetric recipients: alone, mixed with HPKE recipients in one envelope, and
//! checked against an independent implementation of docs/FORMAT.md's pre-shared-key wrap and
//! payload derivation (ring's HMAC, HKDF and AES-GCM called directly).

mod common;

use common::*;
use eventseal::{ConsumerKey, ErrorKind, SealTo, SymmetricKey};
use ring::{aead, hkdf, hmac};

fn psk(consumer: &str) -> SymmetricKey {
    SymmetricKey::generate(consumer).unwrap()
}

fn copy(k: &SymmetricKey) -> SymmetricKey {
    SymmetricKey::from_jwk(&k.to_secret_jwk()).unwrap()
}

#[test]
fn sealed_to_a_pre_shared_key_opens() {
    let w = World::new();
    let k = psk("ledger");
    let env = w.orders.seal("order.created", b"psk", &[&k]).unwrap();
    let opened = opener_for_keys(&w, vec![copy(&k)])
        .open(env.as_bytes())
        .unwrap();
    assert_eq!(opened.payload(), b"psk");
}

fn opener_for_keys<K: Into<ConsumerKey>>(w: &World, keys: Vec<K>) -> eventseal::Opener {
    eventseal::Opener::new(
        keys,
        w.trust(),
        std::sync::Arc::new(eventseal::MemoryReplayStore::new(10)),
    )
    .with_clock(w.clock.clone())
}

#[test]
fn mixed_recipient_kinds_read_the_same_plaintext() {
    let w = World::new();
    let k = psk("ledger");
    let to = [
        SealTo::from(w.billing_pub()),
        SealTo::from(&k),
        SealTo::from(w.audit_pub()),
    ];
    let env = w.orders.seal("order.created", b"mixed", &to).unwrap();
    assert_eq!(
        w.billing_opener().open(env.as_bytes()).unwrap().payload(),
        b"mixed"
    );
    assert_eq!(
        opener_for(&w.audit, w.trust(), &w.clock)
            .open(env.as_bytes())
            .unwrap()
            .payload(),
        b"mixed"
    );
    assert_eq!(
        opener_for_keys(&w, vec![copy(&k)])
            .open(env.as_bytes())
            .unwrap()
            .payload(),
        b"mixed"
    );
    // One opener holding both kinds of keys.
    let both: Vec<ConsumerKey> = vec![copy_keys(&w.audit).remove(0).into(), copy(&k).into()];
    assert_eq!(
        opener_for_keys(&w, both)
            .open(env.as_bytes())
            .unwrap()
            .payload(),
        b"mixed"
    );
}

#[test]
fn another_pre_shared_key_is_not_a_recipient() {
    let w = World::new();
    let k = psk("ledger");
    let env = w.orders.seal("t", b"x", &[&k]).unwrap();
    assert_eq!(
        kind(opener_for_keys(&w, vec![psk("ledger")]).open(env.as_bytes())),
        ErrorKind::NotARecipient
    );
}

/// A tampered pre-shared-key entry (re-signed by the producer) fails to unwrap.
#[test]
fn tampered_psk_entries_fail_to_unwrap() {
    let w = World::new();
    let k = psk("ledger");
    let env = w.orders.seal("t", b"x", &[&k]).unwrap();
    for field in ["enc", "wrapped_key"] {
        let mut p = Parts::of(env.as_bytes());
        let mut h = p.header_json();
        let mut bytes = unb64(h["recipients"][0][field].as_str().unwrap());
        bytes[5] ^= 0x10;
        h["recipients"][0][field] = b64(&bytes).into();
        p.set_header_json(&h);
        p.resign(w.orders.key());
        assert_eq!(
            kind(opener_for_keys(&w, vec![copy(&k)]).open(&p.to_envelope())),
            ErrorKind::DecryptFailed,
            "{field}"
        );
    }
}

#[test]
fn symmetric_jwk_rules() {
    let k = psk("ledger");
    let jwk: serde_json::Value = serde_json::from_str(&k.to_secret_jwk()).unwrap();
    assert_eq!(jwk["kty"], "oct");
    assert_eq!(jwk["consumer"], "ledger");
    // The kid is the RFC 7638 thumbprint of the oct key.
    let canonical = format!(r#"{{"k":"{}","kty":"oct"}}"#, jwk["k"].as_str().unwrap());
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    assert_eq!(jwk["kid"], b64(digest.as_ref()));
    assert!(!format!("{k:?}").contains(jwk["k"].as_str().unwrap()));
    let bad = |text: String| SymmetricKey::from_jwk(&text).unwrap_err().kind();
    let base = jwk.to_string();
    assert_eq!(
        bad(base.replace(jwk["kid"].as_str().unwrap(), "x")),
        ErrorKind::InvalidKey
    );
    assert_eq!(
        bad(base.replace("\"oct\"", "\"OKP\"")),
        ErrorKind::InvalidKey
    );
    let zero = format!(
        r#"{{"kty":"oct","consumer":"c","k":"{}"}}"#,
        b64(&[0u8; 32])
    );
    assert_eq!(bad(zero), ErrorKind::InvalidKey);
    let short = format!(
        r#"{{"kty":"oct","consumer":"c","k":"{}"}}"#,
        b64(&[1u8; 16])
    );
    assert_eq!(bad(short), ErrorKind::InvalidKey);
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn extract(salt: &[u8], ikm: &[u8]) -> hkdf::Prk {
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, salt), ikm);
    hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, tag.as_ref())
}

fn expand(prk: &hkdf::Prk, info: &[u8], n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    prk.expand(&[info], Len(n)).unwrap().fill(&mut out).unwrap();
    out
}

fn aes_open(key: &[u8], nonce: &[u8], aad: &[u8], ct: &[u8]) -> Vec<u8> {
    let k = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, key).unwrap());
    let mut buf = ct.to_vec();
    let n = aead::Nonce::try_assume_unique_for_key(nonce).unwrap();
    k.open_in_place(n, aead::Aad::from(aad), &mut buf)
        .unwrap()
        .to_vec()
}

/// Opens a pre-shared-key envelope with nothing from eventseal but the spec.
#[test]
fn independent_implementation_of_the_psk_path() {
    let w = World::new();
    let k = psk("ledger");
    let payload = b"independently decrypted";
    let env = w.orders.seal("order.created", payload, &[&k]).unwrap();
    let p = Parts::of(env.as_bytes());
    let h = p.header_json();
    let r = &h["recipients"][0];
    let psk_bytes = unb64(
        serde_json::from_str::<serde_json::Value>(&k.to_secret_jwk()).unwrap()["k"]
            .as_str()
            .unwrap(),
    );
    let id = uuid::Uuid::parse_str(h["id"].as_str().unwrap()).unwrap();
    let s = |v: &serde_json::Value| v.as_str().unwrap().as_bytes().to_vec();
    let info = pae(&[
        b"eventseal/v1/wrap",
        id.as_bytes(),
        &s(&h["source"]),
        &s(&h["key_id"]),
        &s(&h["event_type"]),
        &s(&r["consumer"]),
        &s(&r["key_id"]),
    ]);
    // Unwrap the content key.
    let prk = extract(&unb64(r["enc"].as_str().unwrap()), &psk_bytes);
    let wrap_key = expand(&prk, &pae(&[b"eventseal/v1/psk-key", &info]), 32);
    let wrap_nonce = expand(&prk, &pae(&[b"eventseal/v1/psk-nonce", &info]), 12);
    let cek = aes_open(
        &wrap_key,
        &wrap_nonce,
        b"",
        &unb64(r["wrapped_key"].as_str().unwrap()),
    );
    assert_eq!(cek.len(), 32);
    // Derive the payload key, nonce and commitment; check the commitment; decrypt.
    let prk = extract(id.as_bytes(), &cek);
    let commitment = expand(&prk, b"eventseal/v1/key-commitment", 32);
    assert_eq!(b64(&commitment), h["key_commitment"].as_str().unwrap());
    let key = expand(&prk, b"eventseal/v1/payload-key", 32);
    let nonce = expand(&prk, b"eventseal/v1/payload-nonce", 12);
    let aad = pae(&[b"eventseal/v1/payload", &p.header]);
    assert_eq!(aes_open(&key, &nonce, &aad, &p.ciphertext), payload);
    // And the signature, with ring: Ed25519 over PAE(label, header, ciphertext).
    let vk: serde_json::Value =
        serde_json::from_str(&w.orders.key().verifying_key().to_jwk()).unwrap();
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::ED25519,
        unb64(vk["x"].as_str().unwrap()),
    )
    .verify(
        &pae(&[b"eventseal/v1/signature", &p.header, &p.ciphertext]),
        &p.signature,
    )
    .unwrap();
}

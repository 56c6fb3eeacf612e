//! Round trips: what is sealed to a consumer opens to exactly the same bytes.

mod common;

use std::sync::Arc;

use common::*;
use eventseal::{
    ErrorKind, Freshness, Limits, MemoryReplayStore, Opener, RecipientSecretKey, Sealer,
    SigningKey, TrustStore, UntrustedEnvelope,
};

#[test]
fn one_recipient() {
    let w = World::new();
    let env = w
        .orders
        .seal("order.created", b"hello", &[w.billing_pub()])
        .unwrap();
    let opened = w.billing_opener().open(env.as_bytes()).unwrap();
    assert_eq!(opened.payload(), b"hello");
    let h = opened.header();
    assert_eq!(h.source(), "orders");
    assert_eq!(h.event_type(), "order.created");
    assert_eq!(h.content_type(), "application/json");
    assert_eq!(h.issued_at(), T0);
    assert_eq!(h.expires_at(), T0 + 300);
    assert_eq!(h.id(), env.id());
    assert_eq!(h.id().get_version_num(), 7);
    assert_eq!(h.key_id(), w.orders.key().key_id().as_str());
}

#[test]
fn several_recipients_read_the_same_plaintext() {
    let w = World::new();
    let consumers: Vec<RecipientSecretKey> = (0..5)
        .map(|i| RecipientSecretKey::generate(&format!("consumer-{i}")).unwrap())
        .collect();
    let pubs: Vec<_> = consumers.iter().map(|k| k.public_key()).collect();
    let payload = br#"{"order":42,"total":"12.50"}"#;
    let env = w.orders.seal("order.created", payload, &pubs).unwrap();
    for k in &consumers {
        let opener = opener_for(std::slice::from_ref(k), w.trust(), &w.clock);
        let opened = opener.open(env.as_bytes()).unwrap();
        assert_eq!(opened.payload(), payload);
        assert_eq!(opened.header().recipients().len(), 5);
    }
}

#[test]
fn empty_payload() {
    let w = World::new();
    let env = w.seal(b"");
    assert_eq!(
        w.billing_opener().open(env.as_bytes()).unwrap().payload(),
        b""
    );
}

/// The largest payload whose envelope fits the limit opens; one byte more is refused at
/// sealing time (a producer never emits what consumers would reject).
#[test]
fn payload_at_the_envelope_size_limit() {
    let w = World::new();
    let limit = Limits::default().max_envelope_bytes;
    let fits = |n: usize| {
        w.orders
            .seal("order.created", &vec![7u8; n], &[w.billing_pub()])
    };
    // Binary search for the largest payload that seals.
    let (mut lo, mut hi) = (0usize, limit);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if fits(mid).is_ok() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let env = fits(lo).unwrap();
    assert!(env.as_bytes().len() <= limit);
    assert!(
        env.as_bytes().len() > limit - 4,
        "envelope should be at the limit"
    );
    assert!(lo > 190_000, "a ~192 KiB payload fits in 256 KiB of base64");
    assert_eq!(kind(fits(lo + 1)), ErrorKind::TooLarge);
    let opened = w.billing_opener().open(env.as_bytes()).unwrap();
    assert_eq!(opened.payload().len(), lo);
    assert!(opened.payload().iter().all(|&b| b == 7));
}

#[test]
fn binary_payload_is_returned_byte_exact() {
    let w = World::new();
    let payload: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let env = w.seal(&payload);
    assert_eq!(
        w.billing_opener()
            .open(env.as_bytes())
            .unwrap()
            .into_payload(),
        payload
    );
}

#[test]
fn staged_pipeline_matches_one_call() {
    let w = World::new();
    let env = w.seal(b"staged");
    let trust = w.trust();
    let store = MemoryReplayStore::new(10);
    let untrusted = UntrustedEnvelope::parse(env.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(untrusted.untrusted_header().source(), "orders");
    let opened = untrusted
        .verify(&trust)
        .unwrap()
        .address(&w.billing)
        .unwrap()
        .check_freshness(&Freshness::default(), T0)
        .unwrap()
        .claim(&store)
        .unwrap()
        .decrypt()
        .unwrap();
    assert_eq!(opened.payload(), b"staged");
    assert_eq!(store.len(), 1);
}

#[test]
fn one_call_functions() {
    let orders = SigningKey::generate("orders").unwrap();
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let env = eventseal::seal(
        &orders,
        "order.created",
        b"x",
        &[billing.public_key()],
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    let trust = TrustStore::new().with(orders.verifying_key().clone());
    let store = MemoryReplayStore::new(10);
    let keys = [billing];
    let opened = eventseal::open(
        env.as_bytes(),
        &keys,
        &trust,
        &eventseal::SystemClock,
        &store,
    )
    .unwrap();
    assert_eq!(opened.payload(), b"x");
}

/// A consumer rotating its recipient key holds old and new keys; envelopes sealed to either open.
#[test]
fn consumer_key_rotation() {
    let w = World::new();
    let new_key = RecipientSecretKey::generate("billing").unwrap();
    let old_env = w.orders.seal("t", b"old", &[w.billing_pub()]).unwrap();
    let new_env = w.orders.seal("t", b"new", &[new_key.public_key()]).unwrap();
    let mut keys = copy_keys(&w.billing);
    keys.push(new_key);
    let opener = opener_for(&keys, w.trust(), &w.clock);
    assert_eq!(opener.open(old_env.as_bytes()).unwrap().payload(), b"old");
    assert_eq!(opener.open(new_env.as_bytes()).unwrap().payload(), b"new");
    // With only the old key, the new envelope is not for us.
    let old_only = opener_for(&w.billing, w.trust(), &w.clock);
    assert_eq!(
        kind(old_only.open(new_env.as_bytes())),
        ErrorKind::NotARecipient
    );
}

/// A source rotating its signing key: consumers trust both during the overlap; removal revokes.
#[test]
fn source_key_rotation_and_revocation() {
    let w = World::new();
    let next = Sealer::new(SigningKey::generate("orders").unwrap()).with_clock(w.clock.clone());
    let env_old = w.seal(b"1");
    let env_new = next
        .seal("order.created", b"2", &[w.billing_pub()])
        .unwrap();
    let mut trust = w.trust().with(next.key().verifying_key().clone());
    let opener = Opener::new(
        copy_keys(&w.billing),
        trust.clone(),
        Arc::new(MemoryReplayStore::new(10)),
    )
    .with_clock(w.clock.clone());
    assert_eq!(opener.open(env_old.as_bytes()).unwrap().payload(), b"1");
    assert_eq!(opener.open(env_new.as_bytes()).unwrap().payload(), b"2");
    assert!(trust.remove("orders", w.orders.key().key_id().as_str()));
    let opener = opener_for(&w.billing, trust, &w.clock);
    assert_eq!(
        kind(opener.open(w.seal(b"3").as_bytes())),
        ErrorKind::UnknownKey
    );
}

/// A broker or runtime that parses and re-serializes the outer JSON (pretty-printing,
/// reordering members) does not break the envelope: the signed header travels as bytes.
#[test]
fn survives_outer_json_reserialization() {
    let w = World::new();
    let env = w.seal(b"re-serialized");
    let v: serde_json::Value = serde_json::from_slice(env.as_bytes()).unwrap();
    let reordered = serde_json::json!({
        "signature": v["signature"], "ciphertext": v["ciphertext"], "header": v["header"]
    });
    let pretty = serde_json::to_vec_pretty(&reordered).unwrap();
    assert_ne!(pretty, env.as_bytes());
    let opened = w.billing_opener().open(&pretty).unwrap();
    assert_eq!(opened.payload(), b"re-serialized");
}

#[test]
fn seal_refuses_bad_input() {
    let w = World::new();
    let none: [&eventseal::RecipientPublicKey; 0] = [];
    assert_eq!(
        kind(w.orders.seal("t", b"", &none)),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(w.orders.seal("t", b"", &[w.billing_pub(), w.billing_pub()])),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(w.orders.seal("", b"", &[w.billing_pub()])),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(w.orders.seal("a\nb", b"", &[w.billing_pub()])),
        ErrorKind::InvalidInput
    );
    let zero_ttl =
        Sealer::new(SigningKey::generate("s").unwrap()).with_ttl(std::time::Duration::ZERO);
    assert_eq!(
        kind(zero_ttl.seal("t", b"", &[w.billing_pub()])),
        ErrorKind::InvalidInput
    );
    let huge_ttl =
        Sealer::new(SigningKey::generate("s").unwrap()).with_ttl(std::time::Duration::MAX);
    assert_eq!(
        kind(huge_ttl.seal("t", b"", &[w.billing_pub()])),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(SigningKey::generate("bad source")),
        ErrorKind::Malformed
    );
}

#[test]
fn each_seal_is_unique() {
    let w = World::new();
    let a = w.seal(b"same");
    let b = w.seal(b"same");
    assert_ne!(a.id(), b.id());
    assert_ne!(
        Parts::of(a.as_bytes()).ciphertext,
        Parts::of(b.as_bytes()).ciphertext
    );
}

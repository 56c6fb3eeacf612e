//! Audit: every rejection emits exactly one `tracing` event with the kind and the public
//! header facts, and never key material or plaintext.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::*;
use tracing::field::{Field, Visit};
use tracing::span;

type Events = Arc<Mutex<Vec<BTreeMap<String, String>>>>;

/// A minimal subscriber that records every event's fields.
struct Capture(Events);

struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.0.insert(f.name().to_owned(), format!("{v:?}"));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        self.0.insert(f.name().to_owned(), v.to_owned());
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.0.insert(f.name().to_owned(), v.to_string());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut f = Fields(BTreeMap::new());
        event.record(&mut f);
        f.0.insert("target".into(), event.metadata().target().into());
        f.0.insert("level".into(), event.metadata().level().to_string());
        self.0.lock().unwrap().push(f.0);
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

#[test]
fn one_audit_event_per_rejection_with_public_facts_only() {
    let w = World::new();
    let opener = w.billing_opener();
    let secret_payload = "card-number-4111111111111111";
    let env = w.seal(secret_payload.as_bytes());
    let mut tampered = Parts::of(env.as_bytes());
    tampered.signature[0] ^= 1;

    let events: Events = Arc::default();
    tracing::subscriber::with_default(Capture(events.clone()), || {
        assert_eq!(
            kind(opener.open(b"not json")),
            eventseal::ErrorKind::Malformed
        );
        assert_eq!(
            kind(opener.open(&tampered.to_envelope())),
            eventseal::ErrorKind::BadSignature
        );
        assert!(opener.open(env.as_bytes()).is_ok()); // accepted: no audit event
        assert_eq!(
            kind(opener.open(env.as_bytes())),
            eventseal::ErrorKind::Replayed
        );
    });
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 3, "{events:#?}");
    for e in events.iter() {
        assert_eq!(e["target"], "eventseal::audit");
        assert_eq!(e["level"], "WARN");
    }
    assert_eq!(events[0]["kind"], "malformed");
    assert_eq!(events[0]["header_verified"], "false");
    assert!(!events[0].contains_key("source"));

    let id = env.id().to_string();
    assert_eq!(events[1]["kind"], "bad-signature");
    assert_eq!(events[1]["header_verified"], "false");
    assert_eq!(events[1]["source"], "orders");
    assert_eq!(events[1]["envelope_id"], id);

    assert_eq!(events[2]["kind"], "replayed");
    assert_eq!(events[2]["header_verified"], "true");
    assert_eq!(events[2]["source"], "orders");
    assert_eq!(events[2]["key_id"], w.orders.key().key_id().as_str());
    assert_eq!(events[2]["envelope_id"], id);
    assert_eq!(events[2]["event_type"], "order.created");

    // Nothing secret: no plaintext, no key material, no ciphertext.
    let signing: serde_json::Value = serde_json::from_str(&w.orders.key().to_secret_jwk()).unwrap();
    let recipient: serde_json::Value = serde_json::from_str(&w.billing[0].to_secret_jwk()).unwrap();
    let all = format!("{events:?}");
    for secret in [
        secret_payload,
        signing["d"].as_str().unwrap(),
        recipient["d"].as_str().unwrap(),
        &b64(&Parts::of(env.as_bytes()).ciphertext)[..20],
    ] {
        assert!(!all.contains(secret), "audit leaked {secret}");
    }
}

/// A key-window rejection happens after the signature verified: the audit event says so.
#[test]
fn window_rejections_are_audited_as_verified() {
    use eventseal::{TrustStore, TrustedKey, TrustedSource};
    let w = World::new();
    let mut s = TrustedSource::new("orders").unwrap();
    s.allow("*").unwrap();
    s.add_key(
        TrustedKey::new(w.orders.key().verifying_key().clone()).with_window(None, Some(T0 - 1)),
    )
    .unwrap();
    let mut trust = TrustStore::new();
    trust.add_source(s);
    let opener = opener_for(&w.billing, trust, &w.clock);
    let events: Events = Arc::default();
    tracing::subscriber::with_default(Capture(events.clone()), || {
        assert_eq!(
            kind(opener.open(w.seal(b"x").as_bytes())),
            eventseal::ErrorKind::KeyExpired
        );
    });
    let events = events.lock().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], "key-expired");
    assert_eq!(events[0]["header_verified"], "true");
}

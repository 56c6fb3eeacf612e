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

/// Trust in orders' key for event types matching `allow`, the key retired at `retired_at`
/// if given.
fn orders_trust(w: &World, allow: &str, retired_at: Option<i64>) -> eventseal::TrustStore {
    use eventseal::{TrustStore, TrustedKey, TrustedSource};
    let mut s = TrustedSource::new("orders").unwrap();
    s.allow(allow).unwrap();
    s.add_key(
        TrustedKey::new(w.orders.key().verifying_key().clone()).with_window(None, retired_at),
    )
    .unwrap();
    let mut trust = TrustStore::new();
    trust.add_source(s);
    trust
}

/// A key-window rejection happens after the signature verified: the audit event says so.
#[test]
fn window_rejections_are_audited_as_verified() {
    let w = World::new();
    let opener = opener_for(&w.billing, orders_trust(&w, "*", Some(T0 - 1)), &w.clock);
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

/// The async opener emits exactly the audit events the sync one does, for every stage a
/// rejection can come from: parse, signature, key window, policy, recipient, freshness, replay,
/// and a failing store.
#[cfg(feature = "async")]
#[test]
fn async_opener_audits_exactly_as_the_sync_one() {
    use eventseal::{
        AsyncOpener, AsyncReplayStore, Begun, Claim, ClaimFuture, Completion, Error, LeaseRequest,
        LeaseToken, MemoryReplayStore, Opener, ReplayKey, ReplayStore, StoreFuture, TrustStore,
    };
    /// Fails every operation, sync or async.
    struct Down;
    fn down<T>() -> eventseal::Result<T> {
        Err(Error::StoreUnavailable(Box::new(std::io::Error::other(
            "down",
        ))))
    }
    impl ReplayStore for Down {
        fn begin(&self, _: &ReplayKey<'_>, _: &LeaseRequest) -> eventseal::Result<Begun> {
            down()
        }
        fn complete(
            &self,
            _: &ReplayKey<'_>,
            _: &LeaseToken,
            _: i64,
            _: i64,
        ) -> eventseal::Result<Completion> {
            down()
        }
        fn release(&self, _: &ReplayKey<'_>, _: &LeaseToken) -> eventseal::Result<bool> {
            down()
        }
        fn claim(&self, _: &ReplayKey<'_>, _: i64, _: i64) -> eventseal::Result<Claim> {
            down()
        }
    }
    impl AsyncReplayStore for Down {
        fn begin_async<'a>(&'a self, _: ReplayKey<'a>, _: LeaseRequest) -> StoreFuture<'a, Begun> {
            Box::pin(async { down() })
        }
        fn complete_async<'a>(
            &'a self,
            _: ReplayKey<'a>,
            _: LeaseToken,
            _: i64,
            _: i64,
        ) -> StoreFuture<'a, Completion> {
            Box::pin(async { down() })
        }
        fn release_async<'a>(&'a self, _: ReplayKey<'a>, _: LeaseToken) -> StoreFuture<'a, bool> {
            Box::pin(async { down() })
        }
        fn claim_async<'a>(&'a self, k: ReplayKey<'a>, e: i64, n: i64) -> ClaimFuture<'a> {
            Box::pin(async move { self.claim(&k, e, n) })
        }
    }

    let w = World::new();
    let env = w.seal(b"x");
    let mut tampered = Parts::of(env.as_bytes());
    tampered.signature[0] ^= 1;
    let not_for_me = w
        .orders
        .seal("order.created", b"x", &[w.audit_pub()])
        .unwrap();
    let refused_type = w
        .orders
        .seal("invoice.paid", b"x", &[w.billing_pub()])
        .unwrap();
    let trust = || orders_trust(&w, "order.*", None);
    let retired = || orders_trust(&w, "*", Some(T0 - 1));
    let inputs: Vec<(TrustStore, bool, Vec<u8>)> = vec![
        (trust(), false, b"not json".to_vec()),
        (trust(), false, tampered.to_envelope()),
        (retired(), false, env.as_bytes().to_vec()),
        (trust(), false, refused_type.as_bytes().to_vec()),
        (trust(), false, not_for_me.as_bytes().to_vec()),
        (trust(), false, env.as_bytes().to_vec()), // accepted: no event
        (trust(), false, env.as_bytes().to_vec()), // replayed (same store)
        (trust(), true, env.as_bytes().to_vec()),  // store down
    ];
    let run = |asynchronous: bool| -> Vec<BTreeMap<String, String>> {
        let events: Events = Arc::default();
        let memory = Arc::new(MemoryReplayStore::new(10));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        tracing::subscriber::with_default(Capture(events.clone()), || {
            for (trust, down, bytes) in &inputs {
                let keys = copy_keys(&w.billing);
                let outcome = if asynchronous {
                    let store: Arc<dyn AsyncReplayStore> = if *down {
                        Arc::new(Down)
                    } else {
                        memory.clone()
                    };
                    let o =
                        AsyncOpener::new(keys, trust.clone(), store).with_clock(w.clock.clone());
                    rt.block_on(o.open(bytes)).map(|_| ())
                } else {
                    let store: Arc<dyn ReplayStore> = if *down {
                        Arc::new(Down)
                    } else {
                        memory.clone()
                    };
                    let o = Opener::new(keys, trust.clone(), store).with_clock(w.clock.clone());
                    o.open(bytes).map(|_| ())
                };
                let _ = outcome;
            }
            // A stale envelope, last: the clock moves past its expiry.
            let stale = w.seal(b"stale");
            w.clock.advance(3600);
            let keys = copy_keys(&w.billing);
            let kind = if asynchronous {
                let o = AsyncOpener::new(keys, trust(), memory.clone()).with_clock(w.clock.clone());
                rt.block_on(o.open(stale.as_bytes())).unwrap_err().kind()
            } else {
                let o = Opener::new(keys, trust(), memory.clone()).with_clock(w.clock.clone());
                o.open(stale.as_bytes()).unwrap_err().kind()
            };
            assert_eq!(kind, eventseal::ErrorKind::Expired);
            w.clock.advance(-3600);
        });
        let mut events = events.lock().unwrap().clone();
        // The stale envelope's id differs between the two runs (it is sealed in each).
        if let Some(last) = events.last_mut() {
            last.remove("envelope_id");
        }
        events
    };
    let sync_events = run(false);
    let async_events = run(true);
    let kinds: Vec<&str> = sync_events.iter().map(|e| e["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "malformed",
            "bad-signature",
            "key-expired",
            "policy-denied",
            "not-a-recipient",
            "replayed",
            "store-unavailable",
            "expired"
        ]
    );
    assert_eq!(sync_events, async_events);
}

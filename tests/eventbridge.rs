//! EventBridge: PutEvents entries out (with EventBridge's size rule), delivered events in,
//! bound to the envelope by account, source and detail-type.

mod common;

use std::sync::Arc;

use common::*;
use eventseal::eventbridge::{DEFAULT_TTL, MAX_ENTRY_BYTES};
use eventseal::{
    DeliveredEvent, ErrorKind, Limits, MemoryReplayStore, Opener, PutEventsEntry, Sealer,
    SigningKey, TrustStore, TrustedKey, TrustedSource,
};

const ORDERS_ACCOUNT: &str = "111122223333";
const ROGUE_ACCOUNT: &str = "999988887777";
const EB_SOURCE: &str = "com.example.orders";

/// What EventBridge delivers to a rule's target for `entry` put from `account` (the shape of
/// the AWS documentation's example events): `Detail` arrives parsed, as an object.
fn deliver(entry: &PutEventsEntry, account: &str) -> Vec<u8> {
    let detail: serde_json::Value = serde_json::from_str(&entry.detail).unwrap();
    serde_json::to_vec(&serde_json::json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": entry.detail_type,
        "source": entry.source,
        "account": account,
        "time": "2023-11-14T22:13:20Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail
    }))
    .unwrap()
}

fn trust(w: &World) -> TrustStore {
    let mut s = TrustedSource::new("orders").unwrap();
    s.add_key(TrustedKey::new(w.orders.key().verifying_key().clone()))
        .unwrap();
    s.allow("order.*").unwrap();
    s.add_account(ORDERS_ACCOUNT).unwrap();
    s.set_eventbridge_source(EB_SOURCE).unwrap();
    let mut t = TrustStore::new();
    t.add_source(s);
    t
}

fn opener(w: &World, trust: TrustStore) -> Opener {
    Opener::new(
        copy_keys(&w.billing),
        trust,
        Arc::new(MemoryReplayStore::new(100)),
    )
    .with_clock(w.clock.clone())
}

fn entry(w: &World, payload: &[u8]) -> PutEventsEntry {
    let env = w
        .orders
        .seal("order.created", payload, &[w.billing_pub()])
        .unwrap();
    PutEventsEntry::new(&env, EB_SOURCE, "central-bus").unwrap()
}

#[test]
fn put_events_entry_shape() {
    let w = World::new();
    let e = entry(&w, b"x");
    let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    assert_eq!(v["Source"], EB_SOURCE);
    assert_eq!(v["DetailType"], "order.created");
    assert_eq!(v["EventBusName"], "central-bus");
    assert!(
        v["Detail"].is_string(),
        "PutEvents takes Detail as a JSON string"
    );
    assert_eq!(
        e.size(),
        EB_SOURCE.len() + "order.created".len() + e.detail.len()
    );
}

/// EventBridge counts Source + DetailType + Detail: an envelope at the envelope limit does not
/// fit in an entry, and the error gives the figure.
#[test]
fn oversized_entry_is_refused_with_its_size() {
    let w = World::new();
    let seal = |n: usize| {
        w.orders
            .seal("order.created", &vec![1u8; n], &[w.billing_pub()])
    };
    let (mut lo, mut hi) = (0usize, 262_144);
    while lo + 1 < hi {
        let mid = (lo + hi) / 2;
        if seal(mid).is_ok() {
            lo = mid
        } else {
            hi = mid
        }
    }
    let env = seal(lo).unwrap();
    let e = PutEventsEntry::new(&env, EB_SOURCE, "bus").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge);
    let size = EB_SOURCE.len() + "order.created".len() + env.as_str().len();
    assert!(size > MAX_ENTRY_BYTES);
    assert!(e.to_string().contains(&size.to_string()), "{e}");
    // A sealer whose envelope limit leaves room for the entry's other fields fits.
    let room = MAX_ENTRY_BYTES - EB_SOURCE.len() - "order.created".len();
    let sealer = Sealer::new(SigningKey::from_jwk(&w.orders.key().to_secret_jwk()).unwrap())
        .with_limits(Limits::default().with_max_envelope_bytes(room));
    let big = (0..lo)
        .rev()
        .find_map(|n| {
            sealer
                .seal("order.created", &vec![1u8; n], &[w.billing_pub()])
                .ok()
        })
        .unwrap();
    let fitting = PutEventsEntry::new(&big, EB_SOURCE, "bus").unwrap();
    assert!(fitting.size() <= MAX_ENTRY_BYTES);
}

#[test]
fn delivered_event_opens_and_redelivery_is_replayed() {
    let w = World::new();
    let o = opener(&w, trust(&w));
    let event = deliver(&entry(&w, b"via the bus"), ORDERS_ACCOUNT);
    let opened = o.open_eventbridge(&event).unwrap();
    assert_eq!(opened.payload(), b"via the bus");
    // EventBridge retries: the same event again is told apart as a duplicate.
    assert_eq!(kind(o.open_eventbridge(&event)), ErrorKind::Replayed);
    // A redelivery carries a new EventBridge id but the same envelope: still replayed.
    let mut v: serde_json::Value = serde_json::from_slice(&event).unwrap();
    v["id"] = "another-broker-id".into();
    assert_eq!(
        kind(o.open_eventbridge(&serde_json::to_vec(&v).unwrap())),
        ErrorKind::Replayed
    );
}

/// The broker-set account is what a producer cannot forge: orders' genuine envelope re-put
/// from another account does not open.
#[test]
fn binding_mismatches() {
    let w = World::new();
    let o = opener(&w, trust(&w));
    let e = entry(&w, b"x");
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v: serde_json::Value =
            serde_json::from_slice(&deliver(&e, ORDERS_ACCOUNT)).unwrap();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("from another account", deliver(&e, ROGUE_ACCOUNT)),
        (
            "other EventBridge source",
            edit(&|v| v["source"] = "com.example.payments".into()),
        ),
        (
            "other detail-type",
            edit(&|v| v["detail-type"] = "order.cancelled".into()),
        ),
    ];
    for (name, event) in cases {
        assert_eq!(
            kind(o.open_eventbridge(&event)),
            ErrorKind::BindingMismatch,
            "{name}"
        );
    }
    // The genuine delivery still opens: nothing was claimed by the rejected ones.
    assert!(o.open_eventbridge(&deliver(&e, ORDERS_ACCOUNT)).is_ok());
}

/// A source with no accounts (or no EventBridge source) configured cannot be bound: fail closed.
#[test]
fn unbound_source_fails_closed() {
    let w = World::new();
    let o = opener(&w, w.trust()); // trust without accounts
    let event = deliver(&entry(&w, b"x"), ORDERS_ACCOUNT);
    assert_eq!(kind(o.open_eventbridge(&event)), ErrorKind::BindingMismatch);
}

/// An envelope sealed with EventBridge's default TTL still opens after a day of retries.
#[test]
fn default_ttl_covers_a_day_of_retries() {
    let w = World::new();
    let sealer = Sealer::new(SigningKey::from_jwk(&w.orders.key().to_secret_jwk()).unwrap())
        .with_clock(w.clock.clone())
        .with_ttl(DEFAULT_TTL);
    let env = sealer
        .seal("order.created", b"x", &[w.billing_pub()])
        .unwrap();
    let event = deliver(
        &PutEventsEntry::new(&env, EB_SOURCE, "bus").unwrap(),
        ORDERS_ACCOUNT,
    );
    w.clock.set(T0 + 24 * 3600 + 59);
    assert!(opener(&w, trust(&w)).open_eventbridge(&event).is_ok());
}

#[test]
fn malformed_events() {
    let w = World::new();
    let o = opener(&w, trust(&w));
    let good: serde_json::Value =
        serde_json::from_slice(&deliver(&entry(&w, b"x"), ORDERS_ACCOUNT)).unwrap();
    let mut cases = Vec::new();
    for field in ["account", "source", "detail-type", "detail", "version"] {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(field);
        cases.push((format!("missing {field}"), serde_json::to_vec(&v).unwrap()));
    }
    let mut v = good.clone();
    v["version"] = "1".into();
    cases.push(("version 1".into(), serde_json::to_vec(&v).unwrap()));
    let mut v = good.clone();
    v["detail"] = serde_json::Value::String(v["detail"].to_string());
    cases.push(("detail as a string".into(), serde_json::to_vec(&v).unwrap()));
    let text = serde_json::to_string(&good).unwrap();
    let dup = text.replacen(
        "\"account\":",
        &format!("\"account\":\"{ROGUE_ACCOUNT}\",\"account\":"),
        1,
    );
    cases.push(("duplicate account".into(), dup.into_bytes()));
    cases.push(("array".into(), b"[\"0\"]".to_vec()));
    for (name, bytes) in cases {
        assert_eq!(
            kind(o.open_eventbridge(&bytes)),
            ErrorKind::Malformed,
            "{name}"
        );
    }
    // Unknown members that EventBridge adds (e.g. replay-name) are tolerated.
    let mut v = good.clone();
    v["replay-name"] = "replay-1".into();
    assert!(o.open_eventbridge(&serde_json::to_vec(&v).unwrap()).is_ok());
    let parsed = DeliveredEvent::parse(&serde_json::to_vec(&good).unwrap(), &Limits::default())
        .map(|d| d.account().to_owned());
    assert_eq!(parsed.unwrap(), ORDERS_ACCOUNT);
}

/// A sealer with EventBridge defaults never produces an envelope too large for an entry, and
/// lives for 25 hours.
#[test]
fn eventbridge_defaults_fit_the_entry() {
    let w = World::new();
    let sealer = Sealer::new(SigningKey::from_jwk(&w.orders.key().to_secret_jwk()).unwrap())
        .with_clock(w.clock.clone())
        .with_eventbridge_defaults();
    let long_source = "s".repeat(256);
    let long_type = "t".repeat(256);
    let mut n = 200_000;
    let env = loop {
        match sealer.seal(&long_type, &vec![0u8; n], &[w.billing_pub()]) {
            Ok(e) => break e,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::TooLarge);
                n -= 1000;
            }
        }
    };
    let entry = PutEventsEntry::new(&env, &long_source, "bus").unwrap();
    assert!(entry.size() <= MAX_ENTRY_BYTES);
    let h = Parts::of(env.as_bytes()).header_json();
    assert_eq!(
        h["expires_at"].as_i64().unwrap() - h["issued_at"].as_i64().unwrap(),
        25 * 3600
    );
    // A source name no trust file could bind to is refused.
    for bad in ["", " com.example", "com\"example", &"s".repeat(257)] {
        assert_eq!(
            PutEventsEntry::new(&env, bad, "bus").unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}

/// The async opener binds delivered events exactly as the sync one: the genuine delivery opens
/// once, a redelivery is replayed, and a re-put from another account is a binding mismatch.
#[cfg(feature = "async")]
#[tokio::test]
async fn async_opener_binds_delivered_events() {
    let w = World::new();
    let opener = eventseal::AsyncOpener::new(
        copy_keys(&w.billing),
        trust(&w),
        Arc::new(MemoryReplayStore::new(100)),
    )
    .with_clock(w.clock.clone());
    let e = entry(&w, b"async via the bus");
    assert_eq!(
        kind(opener.open_eventbridge(&deliver(&e, ROGUE_ACCOUNT)).await),
        ErrorKind::BindingMismatch
    );
    let genuine = deliver(&e, ORDERS_ACCOUNT);
    let opened = opener.open_eventbridge(&genuine).await.unwrap();
    assert_eq!(opened.payload(), b"async via the bus");
    assert_eq!(
        kind(opener.open_eventbridge(&genuine).await),
        ErrorKind::Replayed
    );
    assert_eq!(
        kind(opener.open_eventbridge(b"{}").await),
        ErrorKind::Malformed
    );
}

//! Trust policy: trust files, event-type permissions, key rotation windows and revocation.

mod common;

use std::sync::Arc;

use common::*;
use eventseal::{
    ErrorKind, MemoryReplayStore, Opener, Sealer, SigningKey, TrustStore, TrustedKey, TrustedSource,
};

fn trust_file(w: &World, allow: &[&str], window: &str) -> String {
    let jwk = w.orders.key().verifying_key().to_jwk();
    format!(
        r#"{{
  "version": 1,
  "sources": [
    {{
      "source": "orders",
      "accounts": ["111122223333"],
      "eventbridge_source": "com.example.orders",
      "allow": {allow},
      "keys": [ {{ "jwk": {jwk} {window} }} ]
    }}
  ]
}}"#,
        allow = serde_json::to_string(allow).unwrap()
    )
}

fn opener(w: &World, trust: TrustStore) -> Opener {
    Opener::new(
        copy_keys(&w.billing),
        trust,
        Arc::new(MemoryReplayStore::new(100)),
    )
    .with_clock(w.clock.clone())
}

#[test]
fn trust_file_round_trips_and_allows_by_pattern() {
    let w = World::new();
    let trust = TrustStore::from_json(&trust_file(&w, &["order.*", "invoice.paid"], "")).unwrap();
    let s = trust.source("orders").unwrap();
    assert_eq!(s.accounts(), ["111122223333"]);
    assert_eq!(s.eventbridge_source(), Some("com.example.orders"));
    assert!(s.allows("order.created") && s.allows("invoice.paid") && !s.allows("invoice.void"));
    // Written back and read again: the same policy.
    assert_eq!(TrustStore::from_json(&trust.to_json()).unwrap(), trust);

    let o = opener(&w, trust);
    let ok = w
        .orders
        .seal("order.created", b"1", &[w.billing_pub()])
        .unwrap();
    assert_eq!(o.open(ok.as_bytes()).unwrap().payload(), b"1");
    let exact = w
        .orders
        .seal("invoice.paid", b"2", &[w.billing_pub()])
        .unwrap();
    assert!(o.open(exact.as_bytes()).is_ok());
    for denied in ["invoice.void", "orders.created", "order", "admin.delete"] {
        let env = w.orders.seal(denied, b"x", &[w.billing_pub()]).unwrap();
        assert_eq!(
            kind(o.open(env.as_bytes())),
            ErrorKind::PolicyDenied,
            "{denied}"
        );
    }
}

/// Policy is checked before freshness and the replay claim: a denied envelope claims nothing.
#[test]
fn policy_denied_before_freshness_and_replay() {
    let w = World::new();
    let store = Arc::new(MemoryReplayStore::new(10));
    let trust = TrustStore::from_json(&trust_file(&w, &["order.*"], "")).unwrap();
    let o = Opener::new(copy_keys(&w.billing), trust, store.clone()).with_clock(w.clock.clone());
    let env = w
        .orders
        .seal("refund.issued", b"x", &[w.billing_pub()])
        .unwrap();
    w.clock.set(T0 + 100_000); // long expired: policy still comes first
    assert_eq!(kind(o.open(env.as_bytes())), ErrorKind::PolicyDenied);
    assert!(store.is_empty());
}

#[test]
fn empty_allow_list_denies_everything() {
    let w = World::new();
    let trust = TrustStore::from_json(&trust_file(&w, &[], "")).unwrap();
    assert_eq!(
        kind(opener(&w, trust).open(w.seal(b"x").as_bytes())),
        ErrorKind::PolicyDenied
    );
}

/// Rotation: the old key is valid until T0+1000, the new one from T0+500. Across the window
/// boundary (injected clock) each envelope opens or not by its signed issued-at.
#[test]
fn key_rotation_across_window_boundaries() {
    let w = World::new();
    let old = w.orders.key();
    let new = SigningKey::generate("orders").unwrap();
    let mut source = TrustedSource::new("orders").unwrap();
    source.allow("*").unwrap();
    source
        .add_key(TrustedKey::new(old.verifying_key().clone()).with_window(None, Some(T0 + 1000)))
        .unwrap();
    source
        .add_key(TrustedKey::new(new.verifying_key().clone()).with_window(Some(T0 + 500), None))
        .unwrap();
    let mut trust = TrustStore::new();
    trust.add_source(source);
    let new_sealer = Sealer::new(new).with_clock(w.clock.clone());
    let o = opener(&w, trust);

    let at = |t: i64, sealer: &Sealer| {
        w.clock.set(t);
        let env = sealer.seal("t", b"x", &[w.billing_pub()]).unwrap();
        o.open(env.as_bytes()).map(|_| ())
    };
    assert!(at(T0, &w.orders).is_ok());
    assert_eq!(kind(at(T0 + 499, &new_sealer)), ErrorKind::UnknownKey); // not yet in effect
    assert!(at(T0 + 500, &new_sealer).is_ok());
    assert!(at(T0 + 1000, &w.orders).is_ok()); // last second of the old key
    assert_eq!(kind(at(T0 + 1001, &w.orders)), ErrorKind::KeyExpired);
    assert!(at(T0 + 1001, &new_sealer).is_ok());

    // An envelope signed inside the old key's window still opens later while in flight.
    w.clock.set(T0 + 900);
    let in_flight = w.orders.seal("t", b"late", &[w.billing_pub()]).unwrap();
    w.clock.set(T0 + 1100);
    assert_eq!(o.open(in_flight.as_bytes()).unwrap().payload(), b"late");
}

/// A key window's bounds are RFC 3339 times in one profile (docs/TRUST.md): `T` and `Z` in
/// capitals or an offset `±HH:MM`, whole seconds, no leap second. Anything else is refused as
/// `invalid-trust`, never rounded: a fraction was dropped before, so `T.5Z` admitted an
/// envelope issued at `T`, and `not_before T.7` with `not_after T.5` was accepted.
#[test]
fn window_bounds_are_whole_seconds_in_one_rfc3339_profile() {
    let w = World::new();
    let load = |window: &str| TrustStore::from_json(&trust_file(&w, &["*"], window));
    for (text, unix) in [
        ("2026-01-31T23:59:59Z", 1_769_903_999),
        ("2026-02-01T01:59:59+02:00", 1_769_903_999),
        ("2026-01-31T20:59:59-03:00", 1_769_903_999),
    ] {
        let trust = load(&format!(r#", "not_after": "{text}""#)).unwrap();
        let key = trust.source("orders").unwrap().keys().first().unwrap();
        assert_eq!(key.not_after(), Some(unix), "{text}");
    }
    for text in [
        "2026-01-31T23:59:59.5Z",   // a fraction
        "2026-01-31T23:59:59.000Z", // a fraction, even zero
        "2026-01-31T23:59:60Z",     // a leap second
        "2026-01-31 23:59:59Z",     // a space for T
        "2026-01-31t23:59:59z",     // lower case
        "2026-01-31T23:59:59",      // no offset
        "2026-01-31T23:59:59+0200", // an offset without its colon
        "2026-02-30T00:00:00Z",     // no such day
        "2026-01-31T23:59Z",        // no seconds
        "",
    ] {
        assert_eq!(
            kind(load(&format!(r#", "not_after": "{text}""#))),
            ErrorKind::InvalidTrust,
            "{text:?}"
        );
    }
    // The case that was accepted with fractions dropped.
    assert_eq!(
        kind(load(
            r#", "not_before": "2026-01-01T00:00:00.7Z", "not_after": "2026-01-01T00:00:00.5Z""#
        )),
        ErrorKind::InvalidTrust
    );
}

/// Revocation is removal, effective immediately, also for envelopes already in flight.
#[test]
fn revocation_by_removal() {
    let w = World::new();
    let mut trust = TrustStore::from_json(&trust_file(&w, &["*"], "")).unwrap();
    let env = w.seal(b"x");
    assert!(trust.remove("orders", w.orders.key().key_id().as_str()));
    assert_eq!(
        kind(opener(&w, trust).open(env.as_bytes())),
        ErrorKind::UnknownKey
    );
}

#[test]
fn key_window_in_trust_file() {
    let w = World::new();
    let trust = TrustStore::from_json(&trust_file(
        &w,
        &["*"],
        r#", "not_before": "2023-11-14T00:00:00Z", "not_after": "2023-11-14T22:13:19Z""#,
    ))
    .unwrap();
    // T0 is 2023-11-14T22:13:20Z: one second after not_after.
    assert_eq!(
        kind(opener(&w, trust).open(w.seal(b"x").as_bytes())),
        ErrorKind::KeyExpired
    );
}

/// Trust-file errors name the field, and JSON errors the line and column.
#[test]
fn trust_file_errors_are_clear() {
    let w = World::new();
    let good = trust_file(&w, &["order.*"], "");
    let err = |text: &str| match TrustStore::from_json(text) {
        Ok(_) => panic!("accepted: {text}"),
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidTrust);
            e.to_string()
        }
    };
    let m = err(&good.replace("\"allow\"", "\"allowed\""));
    assert!(
        m.contains("sources[0]") && m.contains("allowed") && m.contains("line 8 column 15"),
        "{m}"
    );
    let m = err(&good.replace("111122223333", "1111"));
    assert!(
        m.contains("sources[0].accounts[0]") && m.contains("12 digits"),
        "{m}"
    );
    let m = err(&good.replace("order.*", "order*"));
    assert!(m.contains("sources[0].allow[0]"), "{m}");
    // What a bad pattern is (docs/TRUST.md): anything but `*`, an exact type or `PREFIX.*`.
    for pattern in ["order.*.*", "*.created", ".*", "order.**", " order.*", ""] {
        let m = err(&good.replace("\"order.*\"", &format!("{pattern:?}")));
        assert!(m.contains("sources[0].allow[0]"), "{pattern:?}: {m}");
    }
    // An empty EventBridge source, and one key listed twice for a source.
    let m = err(&good.replace("\"com.example.orders\"", "\"\""));
    assert!(m.contains("sources[0].eventbridge_source"), "{m}");
    let jwk = w.orders.key().verifying_key().to_jwk();
    let twice = good.replace(
        &format!("{{ \"jwk\": {jwk}  }}"),
        &format!("{{ \"jwk\": {jwk} }}, {{ \"jwk\": {jwk} }}"),
    );
    assert_ne!(twice, good);
    let m = err(&twice);
    assert!(
        m.contains("sources[0].keys") && m.contains("key listed twice"),
        "{m}"
    );
    let m = err(&good.replace("\"version\": 1", "\"version\": 2"));
    assert!(m.contains("version"), "{m}");
    let m = err(&trust_file(&w, &["*"], r#", "not_after": "tomorrow""#));
    assert!(
        m.contains("sources[0].keys[0].not_after") && m.contains("RFC 3339"),
        "{m}"
    );
    let m = err(&trust_file(
        &w,
        &["*"],
        r#", "not_before": "2024-01-01T00:00:00Z", "not_after": "2023-01-01T00:00:00Z""#,
    ));
    assert!(m.contains("not_before is after not_after"), "{m}");
    // A key filed under the wrong source.
    let m = err(&good.replacen("\"source\": \"orders\"", "\"source\": \"payments\"", 1));
    assert!(
        m.contains("sources[0].keys[0].jwk") && m.contains("payments"),
        "{m}"
    );
    // A secret key where a public one belongs.
    let secret: serde_json::Value = serde_json::from_str(&w.orders.key().to_secret_jwk()).unwrap();
    let public = w.orders.key().verifying_key().to_jwk();
    let m = err(&good.replace(&public, &secret.to_string()));
    assert!(m.contains("keys[0].jwk") && m.contains("secret"), "{m}");
    // Not JSON at all, trailing data, empty keys, oversized.
    assert!(err("{").contains("line 1"));
    assert!(err(&(good.clone() + "x")).contains("trailing"));
    let m = err(r#"{"version":1,"sources":[{"source":"s","allow":["*"],"keys":[]}]}"#);
    assert!(
        m.contains("sources[0].keys") && m.contains("no keys"),
        "{m}"
    );
    // Over the size cap is too-large, not invalid-trust (tests/limits.rs has the boundary).
    assert_eq!(
        kind(TrustStore::from_json(&" ".repeat(1024 * 1024 + 1))),
        ErrorKind::TooLarge
    );
}

#[test]
fn trust_file_load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trust.json");
    std::fs::write(&path, "{}").unwrap();
    let e = TrustStore::load(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTrust);
    assert!(e.to_string().contains("trust.json"), "{e}");
    let e = TrustStore::load(dir.path().join("missing.json")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidTrust);
}

/// Producer-side recipient rotation: billing publishes a new key valid from T0+1000 and keeps
/// the old secret; producers seal to the current key; billing opens both.
#[test]
fn producers_seal_to_the_current_recipient_key() {
    use eventseal::{RecipientDirectory, RecipientSecretKey};
    let w = World::new();
    let new_key = RecipientSecretKey::generate("billing").unwrap();
    let mut dir = RecipientDirectory::new();
    dir.add(w.billing_pub().clone(), None, Some(T0 + 5000))
        .unwrap();
    dir.add(new_key.public_key().clone(), Some(T0 + 1000), None)
        .unwrap();
    // The file form round-trips.
    let dir = RecipientDirectory::from_json(&dir.to_json()).unwrap();

    let mut keys = copy_keys(&w.billing);
    keys.push(RecipientSecretKey::from_jwk(&new_key.to_secret_jwk()).unwrap());
    let opener = opener_for(&keys, w.trust(), &w.clock);

    let before = w.orders.seal_for("t", b"old", &["billing"], &dir).unwrap();
    assert_eq!(opener.open(before.as_bytes()).unwrap().payload(), b"old");
    w.clock.set(T0 + 1000);
    let after = w.orders.seal_for("t", b"new", &["billing"], &dir).unwrap();
    assert_eq!(opener.open(after.as_bytes()).unwrap().payload(), b"new");
    let kid = |env: &eventseal::SealedEnvelope| {
        Parts::of(env.as_bytes()).header_json()["recipients"][0]["key_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(kid(&before), w.billing_pub().key_id().as_str());
    assert_eq!(kid(&after), new_key.public_key().key_id().as_str());

    // Unknown consumer, or no key valid now: the sealer refuses.
    assert_eq!(
        kind(w.orders.seal_for("t", b"x", &["nobody"], &dir)),
        ErrorKind::InvalidInput
    );
    let mut expired = RecipientDirectory::new();
    expired
        .add(w.billing_pub().clone(), None, Some(T0))
        .unwrap();
    assert_eq!(
        kind(w.orders.seal_for("t", b"x", &["billing"], &expired)),
        ErrorKind::InvalidInput
    );
    // A key filed under another consumer in the file is named.
    let text = dir
        .to_json()
        .replacen("\"consumer\": \"billing\"", "\"consumer\": \"audit\"", 1);
    let e = RecipientDirectory::from_json(&text).unwrap_err();
    assert!(e.to_string().contains("consumers[0].keys[0].jwk"), "{e}");
    let text = dir
        .to_json()
        .replacen("\"not_after\": \"", "\"not_after\": \"x", 1);
    let e = RecipientDirectory::from_json(&text)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("consumers[0].keys[0].not_after") && e.contains("RFC 3339"),
        "{e}"
    );
    assert_eq!(e.matches("invalid trust configuration").count(), 1, "{e}");
}

/// The example trust file shipped in docs/ is valid and says what docs/TRUST.md says.
#[test]
fn shipped_example_trust_file_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/trust.json");
    let trust = TrustStore::load(&path).unwrap();
    let orders = trust.source("orders").unwrap();
    assert!(orders.allows("order.created") && orders.allows("invoice.paid"));
    assert!(!orders.allows("payment.settled"));
    assert_eq!(orders.keys().len(), 2, "a rotation in progress");
    assert_eq!(orders.eventbridge_source(), Some("com.acme.orders"));
    let payments = trust.source("payments").unwrap();
    assert_eq!(
        payments.keys()[0].key().algorithm(),
        eventseal::SignatureAlgorithm::EcdsaP256Sha256
    );
}

/// `TrustStore::add` never widens the policy of a source that is already configured.
#[test]
fn add_does_not_widen_a_configured_source() {
    let w = World::new();
    let mut trust = TrustStore::from_json(&trust_file(&w, &["order.*"], "")).unwrap();
    let extra = SigningKey::generate("orders").unwrap();
    trust.add(extra.verifying_key().clone());
    let s = trust.source("orders").unwrap();
    assert_eq!(s.keys().len(), 2);
    assert!(s.allows("order.created") && !s.allows("admin.delete"));
}

//! Freshness: the signed validity window, the clock skew allowance, the lifetime cap, and
//! the i64 edges.

mod common;

use std::time::Duration;

use common::*;
use eventseal::{ErrorKind, Freshness, Limits, UntrustedEnvelope};

/// ttl 300 s, skew 60 s: valid for now in [T0 - 60, T0 + 360).
#[test]
fn window_edges_with_default_skew() {
    let w = World::new();
    let cases = [
        (T0 - 61, Some(ErrorKind::NotYetValid)),
        (T0 - 60, None),
        (T0, None),
        (T0 + 300, None),
        (T0 + 359, None),
        (T0 + 360, Some(ErrorKind::Expired)),
        (i64::MAX, Some(ErrorKind::Expired)),
        (i64::MIN, Some(ErrorKind::NotYetValid)),
    ];
    for (now, want) in cases {
        w.clock.set(T0);
        let env = w.seal(b"x");
        w.clock.set(now);
        let r = w.billing_opener().open(env.as_bytes());
        match want {
            None => assert_eq!(r.unwrap().payload(), b"x", "now {now}"),
            Some(k) => assert_eq!(kind(r), k, "now {now}"),
        }
    }
}

#[test]
fn configured_skew_and_lifetime() {
    let w = World::new();
    let env = w.seal(b"x");
    let strict = Freshness::default().with_max_skew(Duration::ZERO);
    let opener = |f: Freshness, now: i64| {
        w.clock.set(now);
        w.billing_opener().with_freshness(f).open(env.as_bytes())
    };
    assert_eq!(kind(opener(strict, T0 - 1)), ErrorKind::NotYetValid);
    assert_eq!(kind(opener(strict, T0 + 300)), ErrorKind::Expired);
    assert!(opener(strict, T0 + 299).is_ok());
    // A consumer that accepts lifetimes of at most 299 s rejects a 300 s envelope.
    let short = Freshness::default().with_max_lifetime(Duration::from_secs(299));
    assert_eq!(kind(opener(short, T0)), ErrorKind::LifetimeTooLong);
    let exact = Freshness::default().with_max_lifetime(Duration::from_secs(300));
    assert!(opener(exact, T0).is_ok());
}

/// Time values at the i64 limits, signed by the real producer, never overflow or open.
#[test]
fn signed_extreme_times_are_rejected_without_overflow() {
    let w = World::new();
    let env = w.seal(b"x");
    let opener = w
        .billing_opener()
        .with_freshness(Freshness::default().with_max_skew(Duration::from_secs(u64::MAX)));
    let cases = [
        (i64::MIN, i64::MAX, ErrorKind::LifetimeTooLong),
        (i64::MAX - 1, i64::MAX, ErrorKind::DecryptFailed),
        // expires_at + skew saturates at 0, long before T0.
        (i64::MIN, i64::MIN + 1, ErrorKind::Expired),
        (T0, i64::MAX, ErrorKind::LifetimeTooLong),
    ];
    for (iat, exp, want) in cases {
        let mut p = Parts::of(env.as_bytes());
        let mut h = p.header_json();
        h["issued_at"] = iat.into();
        h["expires_at"] = exp.into();
        p.set_header_json(&h);
        p.resign(w.orders.key());
        // With an unbounded skew, the late 1-second window passes freshness; it then fails to
        // decrypt, because the times are bound into the payload AAD.
        assert_eq!(kind(opener.open(&p.to_envelope())), want, "{iat} {exp}");
    }
    // Numbers beyond i64 are malformed.
    let mut p = Parts::of(env.as_bytes());
    let text = String::from_utf8(p.header.clone()).unwrap();
    let big = text.replace(
        &format!("\"expires_at\":{}", T0 + 300),
        "\"expires_at\":9223372036854775808",
    );
    assert_ne!(big, text);
    p.header = big.into_bytes();
    assert_eq!(
        kind(UntrustedEnvelope::parse(
            &p.to_envelope(),
            &Limits::default()
        )),
        ErrorKind::Malformed
    );
}

/// Freshness is checked before the replay claim: an expired envelope does not consume a
/// store entry, and a rejected one can still open once the clock is right.
#[test]
fn freshness_before_replay_claim() {
    let w = World::new();
    let env = w.seal(b"x");
    let opener = w.billing_opener();
    w.clock.set(T0 - 3600);
    assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::NotYetValid);
    w.clock.set(T0);
    assert!(opener.open(env.as_bytes()).is_ok());
}

//! Bounded work: every size limit is checked at its boundary (limit accepted, limit + 1
//! rejected as too-large) before expensive work.

mod common;

use common::*;
use eventseal::{ErrorKind, Limits, RecipientSecretKey, UntrustedEnvelope};

#[test]
fn envelope_size_boundary() {
    let w = World::new();
    let env = w.seal(b"some payload");
    let n = env.as_bytes().len();
    let at = Limits::default().with_max_envelope_bytes(n);
    assert!(w
        .billing_opener()
        .with_limits(at)
        .open(env.as_bytes())
        .is_ok());
    let below = Limits::default().with_max_envelope_bytes(n - 1);
    assert_eq!(
        kind(w.billing_opener().with_limits(below).open(env.as_bytes())),
        ErrorKind::TooLarge
    );
    // The size check comes first: even garbage of the wrong size is "too large", not "malformed".
    let junk = vec![b'x'; Limits::default().max_envelope_bytes + 1];
    assert_eq!(
        kind(UntrustedEnvelope::parse(&junk, &Limits::default())),
        ErrorKind::TooLarge
    );
}

#[test]
fn recipients_boundary() {
    let w = World::new();
    let keys: Vec<RecipientSecretKey> = (0..4)
        .map(|i| RecipientSecretKey::generate(&format!("c{i}")).unwrap())
        .collect();
    let pubs: Vec<_> = keys.iter().map(|k| k.public_key()).collect();
    let env = w.orders.seal("t", b"x", &pubs).unwrap();
    let four = Limits::default().with_max_recipients(4);
    let three = Limits::default().with_max_recipients(3);
    assert!(UntrustedEnvelope::parse(env.as_bytes(), &four).is_ok());
    assert_eq!(
        kind(UntrustedEnvelope::parse(env.as_bytes(), &three)),
        ErrorKind::TooLarge
    );
    // The sealer refuses to produce what its limits would reject.
    let sealer =
        eventseal::Sealer::new(eventseal::SigningKey::generate("s").unwrap()).with_limits(three);
    assert_eq!(kind(sealer.seal("t", b"x", &pubs)), ErrorKind::TooLarge);
    // 64 recipients (the default maximum) seal and open; 65 do not seal.
    let many: Vec<RecipientSecretKey> = (0..65)
        .map(|i| RecipientSecretKey::generate(&format!("m{i}")).unwrap())
        .collect();
    let many_pubs: Vec<_> = many.iter().map(|k| k.public_key()).collect();
    let env = w.orders.seal("t", b"x", &many_pubs[..64]).unwrap();
    let last = opener_for(&many[63..64], w.trust(), &w.clock);
    assert_eq!(last.open(env.as_bytes()).unwrap().payload(), b"x");
    assert_eq!(
        kind(w.orders.seal("t", b"x", &many_pubs)),
        ErrorKind::TooLarge
    );
}

/// The header limit is checked on the encoded length (unpadded base64 length is strictly
/// increasing in the decoded length, so this is exact) before anything is decoded.
#[test]
fn header_size_boundary() {
    let w = World::new();
    let env = w.seal(b"x");
    let header_len = Parts::of(env.as_bytes()).header.len();
    let at = Limits::default().with_max_header_bytes(header_len);
    assert!(UntrustedEnvelope::parse(env.as_bytes(), &at).is_ok());
    let below = Limits::default().with_max_header_bytes(header_len - 1);
    assert_eq!(
        kind(UntrustedEnvelope::parse(env.as_bytes(), &below)),
        ErrorKind::TooLarge
    );
}

#[test]
fn json_depth_boundary() {
    let w = World::new();
    let env = w.seal(b"x");
    // The envelope needs depth 1 outside and 3 in the header.
    let three = Limits::default().with_max_json_depth(3);
    assert!(UntrustedEnvelope::parse(env.as_bytes(), &three).is_ok());
    let two = Limits::default().with_max_json_depth(2);
    assert_eq!(
        kind(UntrustedEnvelope::parse(env.as_bytes(), &two)),
        ErrorKind::TooLarge
    );
    // Deep nesting is rejected before any parser recurses into it.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        kind(UntrustedEnvelope::parse(
            deep.as_bytes(),
            &Limits::default()
        )),
        ErrorKind::TooLarge
    );
}

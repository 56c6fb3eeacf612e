//! Authenticity, sender binding and recipient binding: what other producers, other
//! consumers and the broker cannot make an envelope say.

mod common;

use common::*;
use eventseal::{ErrorKind, RecipientSecretKey, Sealer, SigningKey, TrustStore};

#[test]
fn wrong_recipient_is_not_a_recipient() {
    let w = World::new();
    let env = w
        .orders
        .seal("t", b"for billing only", &[w.billing_pub()])
        .unwrap();
    let audit = opener_for(&w.audit, w.trust(), &w.clock);
    assert_eq!(kind(audit.open(env.as_bytes())), ErrorKind::NotARecipient);
    // A key with the right consumer id but another key id is not enough either.
    let impostor = RecipientSecretKey::generate("billing").unwrap();
    let opener = opener_for(&[impostor], w.trust(), &w.clock);
    assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::NotARecipient);
}

#[test]
fn untrusted_signer_is_unknown_key() {
    let w = World::new();
    let env = w.seal(b"x");
    let nobody = opener_for(&w.billing, TrustStore::new(), &w.clock);
    assert_eq!(kind(nobody.open(env.as_bytes())), ErrorKind::UnknownKey);
    // A different key that claims the same source id, not trusted.
    let rogue = Sealer::new(SigningKey::generate("orders").unwrap()).with_clock(w.clock.clone());
    let forged = rogue
        .seal("order.created", b"x", &[w.billing_pub()])
        .unwrap();
    assert_eq!(
        kind(w.billing_opener().open(forged.as_bytes())),
        ErrorKind::UnknownKey
    );
}

/// Producer "payments" is trusted too. It takes an envelope from "orders", strips the
/// signature and signs it itself. Under orders' name the signature fails; under its own name
/// (source and key id rewritten) the recipient wraps and the payload AAD no longer match.
/// Either way it never opens as either source.
#[test]
fn stripped_and_resigned_by_another_trusted_producer_opens_as_neither() {
    let w = World::new();
    let payments = SigningKey::generate("payments").unwrap();
    let trust = w.trust().with(payments.verifying_key().clone());
    let env = w.seal(b"from orders");
    let opener = opener_for(&w.billing, trust.clone(), &w.clock);

    // 1. Re-signed by payments, still naming orders.
    let mut p = Parts::of(env.as_bytes());
    p.resign(&payments);
    assert_eq!(kind(opener.open(&p.to_envelope())), ErrorKind::BadSignature);

    // 2. Re-signed by payments, header rewritten to name payments and its key.
    let mut p = Parts::of(env.as_bytes());
    let mut h = p.header_json();
    h["source"] = "payments".into();
    h["key_id"] = payments.key_id().as_str().into();
    p.set_header_json(&h);
    p.resign(&payments);
    assert_eq!(
        kind(opener.open(&p.to_envelope())),
        ErrorKind::DecryptFailed
    );

    // 3. Only the source id rewritten (key id of orders): unknown key for payments.
    let mut p = Parts::of(env.as_bytes());
    let mut h = p.header_json();
    h["source"] = "payments".into();
    p.set_header_json(&h);
    p.resign(&payments);
    assert_eq!(kind(opener.open(&p.to_envelope())), ErrorKind::UnknownKey);

    // The genuine envelope still opens, as orders.
    let opened = opener.open(env.as_bytes()).unwrap();
    assert_eq!(opened.header().source(), "orders");
}

/// The same attack with the event type rewritten: the wrap binds the event type too.
#[test]
fn resigned_with_another_event_type_fails_to_decrypt() {
    let w = World::new();
    let env = w.seal(b"x");
    // Even the genuine producer's key cannot relabel an existing envelope's type.
    let mut p = Parts::of(env.as_bytes());
    let mut h = p.header_json();
    h["event_type"] = "order.refunded".into();
    p.set_header_json(&h);
    p.resign(w.orders.key());
    assert_eq!(
        kind(w.billing_opener().open(&p.to_envelope())),
        ErrorKind::DecryptFailed
    );
}

/// Recipient binding: the recipient list is signed. A consumer (or the broker) cannot
/// re-address an envelope: adding, removing or renaming an entry breaks the signature.
#[test]
fn recipient_list_changes_are_rejected() {
    let w = World::new();
    let env = w.seal(b"x");
    let opener = w.billing_opener();
    let base = Parts::of(env.as_bytes());
    let edits: Vec<Edit> = vec![
        Box::new(|h| {
            h["recipients"].as_array_mut().unwrap().remove(1);
        }),
        Box::new(|h| h["recipients"][1]["consumer"] = "eve".into()),
        Box::new(|h| {
            let mut r = h["recipients"][0].clone();
            r["consumer"] = "eve".into();
            h["recipients"].as_array_mut().unwrap().push(r);
        }),
        Box::new(|h| {
            let a = h["recipients"][0]["enc"].clone();
            h["recipients"][0]["enc"] = h["recipients"][1]["enc"].clone();
            h["recipients"][1]["enc"] = a;
        }),
    ];
    for (i, edit) in edits.iter().enumerate() {
        let mut p = base.clone();
        let mut h = p.header_json();
        edit(&mut h);
        p.set_header_json(&h);
        assert_eq!(
            kind(opener.open(&p.to_envelope())),
            ErrorKind::BadSignature,
            "edit {i}"
        );
    }
}

/// A recipient that is also a trusted producer copies another recipient's wrapped key into
/// an entry for a third consumer and signs as itself: the wrap is bound to the original
/// consumer, source and key, so the third consumer cannot unwrap it.
#[test]
fn wrapped_keys_cannot_be_moved_between_consumers() {
    let w = World::new();
    let env = w.seal(b"x");
    let mut p = Parts::of(env.as_bytes());
    let mut h = p.header_json();
    // Give billing's entry audit's wrapped key and enc (signed by orders itself).
    h["recipients"][0]["enc"] = h["recipients"][1]["enc"].clone();
    h["recipients"][0]["wrapped_key"] = h["recipients"][1]["wrapped_key"].clone();
    p.set_header_json(&h);
    p.resign(w.orders.key());
    assert_eq!(
        kind(w.billing_opener().open(&p.to_envelope())),
        ErrorKind::DecryptFailed
    );
}

/// A malicious producer wraps different content keys to different recipients (so that each
/// would read a different plaintext). The key commitment in the signed header matches at most
/// one content key, so the other recipient rejects instead of reading something else.
#[test]
fn different_content_keys_per_recipient_are_caught_by_the_commitment() {
    let w = World::new();
    let a = w.seal(b"version A");
    let b = w.seal(b"version B");
    // Same id is needed for a coherent forgery: take A and splice B's audit entry into it.
    let mut pa = Parts::of(a.as_bytes());
    let pb = Parts::of(b.as_bytes());
    let mut ha = pa.header_json();
    let hb = pb.header_json();
    ha["recipients"][1] = hb["recipients"][1].clone();
    pa.set_header_json(&ha);
    pa.resign(w.orders.key());
    let audit = opener_for(&w.audit, w.trust(), &w.clock);
    assert_eq!(
        kind(audit.open(&pa.to_envelope())),
        ErrorKind::DecryptFailed
    );
}

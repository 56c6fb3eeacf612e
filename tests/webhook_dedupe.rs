//! Dedupe ids that hold under re-encoding (issue 12, webhook findings): a captured request
//! presented again in another spelling of the same signed content must be rejected or get
//! the same id, so a replay store accepts it once; webhook claims and envelope claims never
//! share a namespace.

mod common;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::*;
use eventseal::webhook::{
    verify_and_claim, GenericHmac, MacEncoding, Request, StandardWebhooks, Twilio, Verifier,
};
use eventseal::{
    ErrorKind, FixedClock, MemoryReplayStore, Opener, ReplayStore, Sealer, SigningKey, TrustStore,
};

const NOW: i64 = T0;
const TOKEN: &str = "12345";
const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

fn twilio_sig(signed: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, TOKEN.as_bytes());
    STANDARD.encode(ring::hmac::sign(&key, signed.as_bytes()).as_ref())
}

/// Ten spellings of one signed Twilio request: each verifies under one id, or is refused.
#[test]
fn twilio_reencodings_verify_under_one_id() {
    // Signed as Twilio signs: URL, then name and value of each parameter sorted by name.
    let sig = twilio_sig(&format!(
        "{URL}Bodypay 100CallSidCA1From+14158675309To+18005551212"
    ));
    let spellings: [(&str, &[u8], Option<ErrorKind>); 10] = [
        (
            "as sent",
            b"To=%2B18005551212&From=%2B14158675309&Body=pay+100&CallSid=CA1",
            None,
        ),
        (
            "reordered",
            b"CallSid=CA1&Body=pay+100&From=%2B14158675309&To=%2B18005551212",
            None,
        ),
        (
            "percent-encoded name",
            b"%54o=%2B18005551212&From=%2B14158675309&Body=pay+100&CallSid=CA1",
            None,
        ),
        (
            "%20 for +",
            b"To=%2B18005551212&From=%2B14158675309&Body=pay%20100&CallSid=CA1",
            None,
        ),
        (
            "extra &",
            b"&&To=%2B18005551212&From=%2B14158675309&&Body=pay+100&CallSid=CA1&",
            None,
        ),
        (
            "lowercase escapes",
            b"To=%2b18005551212&From=%2b14158675309&Body=pay+100&CallSid=%43%41%31",
            None,
        ),
        (
            "re-split",
            b"To=%2B18005551212&From=%2B14158675309&Bo=dypay+100&CallSid=CA1",
            None,
        ),
        (
            "empty name and value",
            b"To=%2B18005551212&From=%2B14158675309&Body=pay+100&CallSid=CA1&=",
            Some(ErrorKind::Malformed),
        ),
        (
            "empty name",
            b"=CallSidCA1&To=%2B18005551212&From=%2B14158675309&Body=pay+100",
            Some(ErrorKind::Malformed),
        ),
        (
            "value changed",
            b"To=%2B18005551212&From=%2B14158675309&Body=pay+900&CallSid=CA1",
            Some(ErrorKind::BadSignature),
        ),
    ];
    let v = Twilio::new(&[TOKEN]).unwrap();
    let store = MemoryReplayStore::new(100);
    let mut ids = Vec::new();
    let mut accepted = 0;
    for (what, body, refusal) in spellings {
        let req = Request::new([("X-Twilio-Signature", sig.as_str())], body).with_url(URL);
        match (v.verify(&req, NOW), refusal) {
            (Ok(verified), None) => ids.push(verified.id),
            (Err(e), Some(k)) => assert_eq!(e.kind(), k, "{what}"),
            (other, _) => panic!("{what}: {other:?}"),
        }
        match verify_and_claim(
            &v,
            &req,
            NOW,
            &store,
            "billing",
            std::time::Duration::from_secs(3600),
        ) {
            Ok(_) => accepted += 1,
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Replayed | ErrorKind::Malformed | ErrorKind::BadSignature
                ),
                "{what}: {e}"
            ),
        }
    }
    assert_eq!(ids.len(), 7);
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(accepted, 1, "exactly one spelling is accepted");
    // The URL with its default port written out is the same signed request, the same id.
    let port = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
    let req = Request::new([("X-Twilio-Signature", sig.as_str())], spellings[0].1).with_url(port);
    assert_eq!(v.verify(&req, NOW).unwrap().id, ids[0]);
}

/// twilio-python signs a repeated parameter's distinct values (`sorted(set(values))`); its
/// published case verifies, and so does the same request without the repeated value, under
/// the same id. Other SDKs keep duplicates: that form verifies too.
#[test]
fn twilio_repeated_parameters_in_both_forms() {
    let v = Twilio::new(&[TOKEN]).unwrap();
    let published: &[u8] = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234";
    let sig = "IK+Dwps556ElfBT0I3Rgjkr1wJU=";
    let verify = |body: &'static [u8], sig: &str| {
        v.verify(
            &Request::new([("X-Twilio-Signature", sig)], body).with_url(URL),
            NOW,
        )
    };
    let a = verify(published, sig).unwrap();
    let b = verify(b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234", sig).unwrap();
    assert_eq!(a.id, b.id);
    // Signed with the duplicate kept (as twilio-node and twilio-java do).
    let kept = twilio_sig(&format!(
        "{URL}Digits1234Digits1234Digits5678SidCA123SidAccountAC123"
    ));
    let c = verify(published, &kept).unwrap();
    assert_ne!(
        c.id, a.id,
        "a different signed string is a different message"
    );
    assert_eq!(
        verify(b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234", &kept)
            .unwrap_err()
            .kind(),
        ErrorKind::BadSignature
    );
}

fn hmac256_hex(key: &[u8], msg: &[u8]) -> String {
    hex::encode(ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key),
        msg,
    ))
}

/// A signed `{id}` is the dedupe id: bytes cannot move between it and the body.
#[test]
fn generic_id_cannot_trade_bytes_with_the_body() {
    let v = GenericHmac::new("X-Sig", "", MacEncoding::Hex, "{id}.{body}", &["k"])
        .unwrap()
        .with_id_header("X-Id");
    let check = |id: &str, body: &[u8]| {
        let sig = hmac256_hex(b"k", &[id.as_bytes(), b".", body].concat());
        v.verify(
            &Request::new([("X-Sig", sig.as_str()), ("X-Id", id)], body),
            NOW,
        )
    };
    assert_eq!(check("evt_1", br#"{"amount":2.5}"#).unwrap().id, "evt_1");
    // The same signed string, `evt_1.{"amount":2.5}`, split elsewhere.
    assert_eq!(
        check(r#"evt_1.{"amount":2"#, b"5}").unwrap_err().kind(),
        ErrorKind::Malformed
    );
    assert_eq!(check("", b"x").unwrap_err().kind(), ErrorKind::Malformed);
    // {id} at the end: the literal before it must not occur in the id.
    let tail = GenericHmac::new("X-Sig", "", MacEncoding::Hex, "{body}|{id}", &["k"])
        .unwrap()
        .with_id_header("X-Id");
    let check_tail = |id: &str, body: &[u8]| {
        let sig = hmac256_hex(b"k", &[body, b"|", id.as_bytes()].concat());
        tail.verify(
            &Request::new([("X-Sig", sig.as_str()), ("X-Id", id)], body),
            NOW,
        )
    };
    assert_eq!(check_tail("m1", b"a|b").unwrap().id, "m1");
    assert_eq!(
        check_tail("b|m1", b"a").unwrap_err().kind(),
        ErrorKind::Malformed
    );
    // A literal that could straddle the id's end: `ab` + `aba` reads back as id "".
    let straddle = GenericHmac::new("X-Sig", "", MacEncoding::Hex, "{id}aba{body}", &["k"])
        .unwrap()
        .with_id_header("X-Id");
    let sig = hmac256_hex(b"k", b"ababax");
    assert_eq!(
        straddle
            .verify(
                &Request::new([("X-Sig", sig.as_str()), ("X-Id", "ab")], b"x"),
                NOW
            )
            .unwrap_err()
            .kind(),
        ErrorKind::Malformed
    );
    assert_eq!(
        GenericHmac::new(" ", "", MacEncoding::Hex, "{body}", &["k"])
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    // A literal on both sides: the one before {id} separates it from the body too
    // (`a-b` + `c` and `a` + `b-c` both sign `a-b-c.`).
    let middle = GenericHmac::new("X-Sig", "", MacEncoding::Hex, "{body}-{id}.", &["k"])
        .unwrap()
        .with_id_header("X-Id");
    let check_middle = |id: &str, body: &[u8]| {
        let sig = hmac256_hex(b"k", &[body, b"-", id.as_bytes(), b"."].concat());
        middle.verify(
            &Request::new([("X-Sig", sig.as_str()), ("X-Id", id)], body),
            NOW,
        )
    };
    assert_eq!(check_middle("c", b"a-b").unwrap().id, "c");
    assert_eq!(
        check_middle("b-c", b"a").unwrap_err().kind(),
        ErrorKind::Malformed
    );
    // A literal that only anchors {id} to the template's end moves nothing: `c.d` is an id.
    assert_eq!(check_middle("c.d", b"a").unwrap().id, "c.d");
    // No literal between {id} and another placeholder: refused when built.
    for t in [
        "{id}{body}",
        "{body}{id}",
        "{body}{id}.",
        "x{id}{body}",
        "{timestamp}.{id}{body}",
        "{id}{timestamp}.{body}",
    ] {
        assert_eq!(
            GenericHmac::new("X", "", MacEncoding::Hex, t, &["k"])
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput,
            "{t}"
        );
    }
}

const WHSEC_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

/// A trusted source named like the old webhook namespace (`webhook:standard-webhooks`)
/// opens an envelope; a Standard Webhooks delivery whose id is that envelope's id is then
/// still accepted: the two kinds of claim do not share keys, in any store.
#[test]
fn envelope_and_webhook_claims_never_collide() {
    #[cfg(feature = "sqlite")]
    let dir = tempfile::tempdir().unwrap();
    #[allow(unused_mut)]
    let mut stores: Vec<(&str, Arc<dyn ReplayStore>)> =
        vec![("memory", Arc::new(MemoryReplayStore::new(100)))];
    #[cfg(feature = "sqlite")]
    stores.push((
        "sqlite",
        Arc::new(eventseal::SqliteReplayStore::open(dir.path().join("r.db"), NOW).unwrap()),
    ));
    for (name, store) in stores {
        let key = SigningKey::generate("webhook:standard-webhooks").unwrap();
        let billing = eventseal::RecipientSecretKey::generate("billing").unwrap();
        let clock = Arc::new(FixedClock::new(NOW));
        let env = Sealer::new(SigningKey::from_jwk(&key.to_secret_jwk()).unwrap())
            .with_clock(clock.clone())
            .seal("order.created", b"x", &[billing.public_key()])
            .unwrap();
        let trust: TrustStore = [key.verifying_key().clone()].into_iter().collect();
        let opened = Opener::new([billing], trust, store.clone())
            .with_clock(clock)
            .open(env.as_bytes())
            .unwrap();
        let id = opened.header().id().hyphenated().to_string();

        let v = StandardWebhooks::new(&[format!("whsec_{}", STANDARD.encode(WHSEC_KEY))]).unwrap();
        let body = b"{}";
        let ts = NOW.to_string();
        let mac = ring::hmac::sign(
            &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, WHSEC_KEY),
            format!("{id}.{ts}.{{}}").as_bytes(),
        );
        let sig = format!("v1,{}", STANDARD.encode(mac.as_ref()));
        let req = Request::new(
            [
                ("webhook-id", id.as_str()),
                ("webhook-timestamp", ts.as_str()),
                ("webhook-signature", sig.as_str()),
            ],
            body,
        );
        let retention = std::time::Duration::from_secs(600);
        let verified = verify_and_claim(&v, &req, NOW, store.as_ref(), "billing", retention)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(verified.id, id);
        assert_eq!(
            verify_and_claim(&v, &req, NOW, store.as_ref(), "billing", retention)
                .unwrap_err()
                .kind(),
            ErrorKind::Replayed,
            "{name}"
        );
    }
}

/// A file written before webhook claims had their own table: its webhook claims (source
/// `webhook:PROVIDER` in the envelope table) are carried over, so an upgrade does not
/// accept a delivery claimed before it.
#[cfg(feature = "sqlite")]
#[test]
fn sqlite_keeps_webhook_claims_made_before_the_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE eventseal_replay_v1 (
                consumer TEXT NOT NULL, source TEXT NOT NULL, id TEXT NOT NULL,
                expires_at INTEGER NOT NULL, PRIMARY KEY (consumer, source, id)) WITHOUT ROWID;
             INSERT INTO eventseal_replay_v1 VALUES ('billing', 'webhook:github', 'sha256:ab', 9999999999);",
        )
        .unwrap();
    }
    let store = eventseal::SqliteReplayStore::open(&path, NOW).unwrap();
    let claim = |key| store.claim(&key, NOW + 60, NOW).unwrap();
    assert_eq!(
        claim(eventseal::ReplayKey::webhook(
            "billing",
            "github",
            "sha256:ab"
        )),
        eventseal::Claim::AlreadyClaimed
    );
    assert_eq!(
        claim(eventseal::ReplayKey::webhook(
            "billing",
            "github",
            "sha256:cd"
        )),
        eventseal::Claim::Claimed
    );
}

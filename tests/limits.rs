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

// --- webhook signatures per header ---------------------------------------------------------

mod webhooks {
    use super::kind;
    use eventseal::webhook::{
        GenericHmac, MacEncoding, Request, StandardSigner, StandardWebhooks, Stripe, Verifier,
        WebhookLimits, MAX_HEADER_BYTES, MAX_SIGNATURES,
    };
    use eventseal::ErrorKind;

    const NOW: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"type":"ping"}"#;
    const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn hmac256(key: &[u8], msg: &[u8]) -> String {
        let tag = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), msg);
        tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A Standard Webhooks signature header holding `n` signatures, the valid one last.
    fn standard(n: usize) -> [(&'static str, String); 3] {
        let mut h = StandardSigner::new(WHSEC)
            .unwrap()
            .headers("msg_1", NOW, BODY)
            .unwrap();
        let decoy = format!("v1,{}", "A".repeat(43) + "=");
        let mut items = vec![decoy; n - 1];
        items.push(h[2].1.clone());
        h[2].1 = items.join(" ");
        h
    }

    fn verify_standard(
        h: &[(&'static str, String); 3],
        limits: WebhookLimits,
    ) -> Result<(), ErrorKind> {
        let v = StandardWebhooks::new(&[WHSEC]).unwrap();
        let request =
            Request::new(h.iter().map(|(k, v)| (*k, v.as_str())), BODY).with_limits(limits);
        v.verify(&request, NOW).map(|_| ()).map_err(|e| e.kind())
    }

    #[test]
    fn standard_webhooks_signature_count_boundary() {
        let d = WebhookLimits::default();
        assert_eq!(d.max_signatures, MAX_SIGNATURES);
        assert_eq!(verify_standard(&standard(MAX_SIGNATURES), d), Ok(()));
        assert_eq!(
            verify_standard(&standard(MAX_SIGNATURES + 1), d),
            Err(ErrorKind::TooLarge)
        );
        let four = d.with_max_signatures(4);
        assert_eq!(verify_standard(&standard(4), four), Ok(()));
        assert_eq!(
            verify_standard(&standard(5), four),
            Err(ErrorKind::TooLarge)
        );
    }

    /// Items are counted before any of them is decoded: a header of 2 × the cap + 1 items of
    /// garbage is too large, not malformed.
    #[test]
    fn items_are_counted_before_decoding() {
        let mut h = standard(1);
        h[2].1 = vec!["v1,!!!"; 2 * MAX_SIGNATURES + 1].join(" ");
        assert_eq!(
            verify_standard(&h, WebhookLimits::default()),
            Err(ErrorKind::TooLarge)
        );
        h[2].1 = vec!["v1,!!!"; 2 * MAX_SIGNATURES].join(" ");
        assert_eq!(
            verify_standard(&h, WebhookLimits::default()),
            Err(ErrorKind::Malformed)
        );
    }

    #[test]
    fn stripe_signature_count_boundary() {
        let v = Stripe::new(&["whsec_test"]).unwrap();
        let good = hmac256(
            b"whsec_test",
            &[format!("{NOW}.").as_bytes(), BODY].concat(),
        );
        let header = |n: usize| {
            let mut items = vec![format!("t={NOW}")];
            items.extend(std::iter::repeat_n(format!("v1={}", "0".repeat(64)), n - 1));
            items.push(format!("v1={good}"));
            items.join(",")
        };
        let run = |n: usize, limits: WebhookLimits| {
            let h = header(n);
            let r = Request::new([("Stripe-Signature", h.as_str())], BODY).with_limits(limits);
            v.verify(&r, NOW).map(|_| ()).map_err(|e| e.kind())
        };
        let d = WebhookLimits::default();
        assert_eq!(run(MAX_SIGNATURES, d), Ok(()));
        assert_eq!(run(MAX_SIGNATURES + 1, d), Err(ErrorKind::TooLarge));
        let two = d.with_max_signatures(2);
        assert_eq!(run(2, two), Ok(()));
        assert_eq!(run(3, two), Err(ErrorKind::TooLarge));
    }

    #[test]
    fn generic_signature_count_boundary() {
        let v = GenericHmac::new("X-Sig", "sha256=", MacEncoding::Hex, "{body}", &["k"]).unwrap();
        let good = format!("sha256={}", hmac256(b"k", BODY));
        let run = |n: usize, limits: WebhookLimits| {
            let mut items = vec![format!("sha256={}", "0".repeat(64)); n - 1];
            items.push(good.clone());
            let h = items.join(",");
            let r = Request::new([("X-Sig", h.as_str())], BODY).with_limits(limits);
            v.verify(&r, NOW).map(|_| ()).map_err(|e| e.kind())
        };
        let d = WebhookLimits::default();
        assert_eq!(run(MAX_SIGNATURES, d), Ok(()));
        assert_eq!(run(MAX_SIGNATURES + 1, d), Err(ErrorKind::TooLarge));
        assert_eq!(run(1, d.with_max_signatures(1)), Ok(()));
        assert_eq!(run(2, d.with_max_signatures(1)), Err(ErrorKind::TooLarge));
    }

    #[test]
    fn header_bytes_boundary() {
        let at = "a".repeat(MAX_HEADER_BYTES);
        let over = "a".repeat(MAX_HEADER_BYTES + 1);
        let r = Request::new([("X-Long", at.as_str())], BODY);
        assert_eq!(r.header("x-long").unwrap(), Some(at.as_str()));
        let r = Request::new([("X-Long", over.as_str())], BODY);
        assert_eq!(kind(r.header("x-long")), ErrorKind::TooLarge);
        // Configurable; a verifier hits the cap before parsing the header.
        let limits = WebhookLimits::default().with_max_header_bytes(100);
        let mut h = standard(1);
        assert!(h[2].1.len() <= 100);
        assert_eq!(verify_standard(&h, limits), Ok(()));
        h[2].1 = format!("{} {}", h[2].1, "v2,".to_owned() + &"x".repeat(100));
        assert_eq!(verify_standard(&h, limits), Err(ErrorKind::TooLarge));
    }
}

// --- trust files -----------------------------------------------------------------------------

mod trust_file {
    use super::{kind, World};
    use eventseal::{ErrorKind, TrustStore, MAX_TRUST_FILE_BYTES};

    /// A valid trust file padded with trailing whitespace to exactly `len` bytes.
    fn padded(len: usize) -> String {
        let mut text = World::new().trust().to_json();
        assert!(text.len() <= len);
        text.push_str(&" ".repeat(len - text.len()));
        text
    }

    #[test]
    fn text_size_boundary() {
        assert!(TrustStore::from_json(&padded(MAX_TRUST_FILE_BYTES)).is_ok());
        assert_eq!(
            kind(TrustStore::from_json(&padded(MAX_TRUST_FILE_BYTES + 1))),
            ErrorKind::TooLarge
        );
        assert!(TrustStore::from_json_with_max_bytes(&padded(4096), 4096).is_ok());
        assert_eq!(
            kind(TrustStore::from_json_with_max_bytes(&padded(4097), 4096)),
            ErrorKind::TooLarge
        );
    }

    #[test]
    fn file_size_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let at = dir.path().join("at.json");
        let over = dir.path().join("over.json");
        std::fs::write(&at, padded(MAX_TRUST_FILE_BYTES)).unwrap();
        std::fs::write(&over, padded(MAX_TRUST_FILE_BYTES + 1)).unwrap();
        assert!(TrustStore::load(&at).is_ok());
        assert_eq!(kind(TrustStore::load(&over)), ErrorKind::TooLarge);
        std::fs::write(&at, padded(2000)).unwrap();
        std::fs::write(&over, padded(2001)).unwrap();
        assert!(TrustStore::load_with_max_bytes(&at, 2000).is_ok());
        assert_eq!(
            kind(TrustStore::load_with_max_bytes(&over, 2000)),
            ErrorKind::TooLarge
        );
        // The cap is checked before parsing: an oversized file of garbage is too large.
        std::fs::write(&over, vec![b'{'; MAX_TRUST_FILE_BYTES + 1]).unwrap();
        assert_eq!(kind(TrustStore::load(&over)), ErrorKind::TooLarge);
    }
}

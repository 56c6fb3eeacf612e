//! Webhook verifiers: every provider with signatures made independently in the test (ring
//! called directly), tampered, stale, future and wrong-secret cases, rotation, several
//! signatures per header, case-insensitive headers, malformed headers, and replay dedupe.
//! The providers' own published examples are in tests/webhook_vectors.rs.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use eventseal::webhook::{
    verify_and_claim, Discord, GenericHmac, GitHub, MacEncoding, Request, SendGrid, Shopify, Slack,
    StandardSigner, StandardWebhooks, Stripe, Twilio, Verifier,
};
use eventseal::{ErrorKind, MemoryReplayStore};
use ring::signature::KeyPair;

const NOW: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"type":"invoice.paid","id":"evt_123","amount":42}"#;

fn hmac256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), msg)
        .as_ref()
        .to_vec()
}

fn req<'a>(h: &'a [(String, String)], body: &'a [u8]) -> Request<'a> {
    Request::new(
        h.iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect::<Vec<_>>(),
        body,
    )
}

fn kind<T: std::fmt::Debug>(r: eventseal::Result<T>) -> ErrorKind {
    r.expect_err("must be rejected").kind()
}

/// Runs the shared must-fail matrix for a verifier and a builder of signed requests.
type Headers = Vec<(String, String)>;

fn matrix(v: &dyn Verifier, good: &dyn Fn(&[u8], i64) -> Headers, timestamped: bool) {
    let headers = good(BODY, NOW);
    let ok = v.verify(&req(&headers, BODY), NOW).unwrap();
    assert_eq!(ok.provider, v.provider());
    if timestamped {
        assert_eq!(ok.timestamp, Some(NOW));
    }
    // Tampered body.
    assert_eq!(
        kind(v.verify(
            &req(
                &headers,
                br#"{"type":"invoice.paid","id":"evt_123","amount":43}"#
            ),
            NOW
        )),
        ErrorKind::BadSignature
    );
    // Header names in another case still work.
    let upper: Vec<(String, String)> = headers
        .iter()
        .map(|(a, b)| (a.to_uppercase(), b.clone()))
        .collect();
    assert!(v.verify(&req(&upper, BODY), NOW).is_ok());
    // A missing header, a repeated header.
    for i in 0..headers.len() {
        let mut missing = headers.clone();
        missing.remove(i);
        assert_eq!(
            kind(v.verify(&req(&missing, BODY), NOW)),
            ErrorKind::Malformed,
            "missing {}",
            headers[i].0
        );
        let mut repeated = headers.clone();
        repeated.push(headers[i].clone());
        assert_eq!(
            kind(v.verify(&req(&repeated, BODY), NOW)),
            ErrorKind::Malformed,
            "repeated {}",
            headers[i].0
        );
    }
    if timestamped {
        // Stale and future, by more than the 5-minute tolerance; at the edges, accepted.
        assert_eq!(
            kind(v.verify(&req(&good(BODY, NOW - 301), BODY), NOW)),
            ErrorKind::Expired
        );
        assert_eq!(
            kind(v.verify(&req(&good(BODY, NOW + 301), BODY), NOW)),
            ErrorKind::NotYetValid
        );
        assert!(v.verify(&req(&good(BODY, NOW - 300), BODY), NOW).is_ok());
        assert!(v.verify(&req(&good(BODY, NOW + 300), BODY), NOW).is_ok());
    }
}

fn h(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| ((*a).to_owned(), b.clone()))
        .collect()
}

const WHSEC_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn whsec() -> String {
    format!("whsec_{}", STANDARD.encode(WHSEC_KEY))
}

fn standard_headers(prefix: &str, key: &[u8], body: &[u8], ts: i64) -> Vec<(String, String)> {
    let id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    let signed = [id.as_bytes(), b".", ts.to_string().as_bytes(), b".", body].concat();
    h(&[
        (&format!("{prefix}-id"), id.to_owned()),
        (&format!("{prefix}-timestamp"), ts.to_string()),
        (
            &format!("{prefix}-signature"),
            format!("v1,{}", STANDARD.encode(hmac256(key, &signed))),
        ),
    ])
}

#[test]
fn standard_webhooks_and_svix() {
    let v = StandardWebhooks::new(&[whsec()]).unwrap();
    matrix(
        &v,
        &|b, t| standard_headers("webhook", WHSEC_KEY, b, t),
        true,
    );
    let s = StandardWebhooks::svix(&[whsec()]).unwrap();
    matrix(&s, &|b, t| standard_headers("svix", WHSEC_KEY, b, t), true);
    // Wrong secret; rotation (old and new secrets); several signatures in one header.
    let other = format!(
        "whsec_{}",
        STANDARD.encode(b"another secret of 32 bytes......")
    );
    let hs = standard_headers("webhook", WHSEC_KEY, BODY, NOW);
    assert_eq!(
        kind(
            StandardWebhooks::new(&[&other])
                .unwrap()
                .verify(&req(&hs, BODY), NOW)
        ),
        ErrorKind::BadSignature
    );
    assert!(StandardWebhooks::new(&[&other, &whsec()])
        .unwrap()
        .verify(&req(&hs, BODY), NOW)
        .is_ok());
    let mut several = hs.clone();
    several[2].1 = format!("v1,{} {} v2,ignored", STANDARD.encode([0u8; 32]), hs[2].1);
    assert!(v.verify(&req(&several, BODY), NOW).is_ok());
    let mut too_many = hs.clone();
    too_many[2].1 = vec![hs[2].1.clone(); 40].join(" ");
    assert_eq!(
        kind(v.verify(&req(&too_many, BODY), NOW)),
        ErrorKind::TooLarge
    );
    // The id is signed: it is the dedupe id.
    assert_eq!(
        v.verify(&req(&hs, BODY), NOW).unwrap().id,
        "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    );
    // Bad secrets are refused at construction.
    for bad in ["sk_live_x", "whsec_!!!", "whpk_AAAA"] {
        assert_eq!(
            StandardWebhooks::new(&[bad]).unwrap_err().kind(),
            ErrorKind::InvalidKey,
            "{bad}"
        );
    }
}

#[test]
fn standard_webhooks_signing_round_trips_v1_and_v1a() {
    let hmac = StandardSigner::new(&whsec()).unwrap();
    let (whsk, whpk) = StandardSigner::generate_ed25519().unwrap();
    let ed = StandardSigner::new(&whsk).unwrap();
    assert_eq!(ed.public_key().as_deref(), Some(whpk.as_str()));
    let v = StandardWebhooks::new(&[whsec(), whpk.clone()]).unwrap();
    for signer in [&hmac, &ed] {
        let headers = signer.headers("msg_1", NOW, BODY).unwrap();
        let req = Request::new(
            headers
                .iter()
                .map(|(a, b)| (*a, b.as_str()))
                .collect::<Vec<_>>(),
            BODY,
        );
        assert_eq!(v.verify(&req, NOW).unwrap().id, "msg_1");
        let tampered = Request::new(
            headers
                .iter()
                .map(|(a, b)| (*a, b.as_str()))
                .collect::<Vec<_>>(),
            b"x",
        );
        assert_eq!(kind(v.verify(&tampered, NOW)), ErrorKind::BadSignature);
    }
    // An Ed25519 signature checked independently with ring.
    let sig = ed.signature("msg_1", NOW, BODY).unwrap();
    let raw = STANDARD.decode(sig.strip_prefix("v1a,").unwrap()).unwrap();
    let pk = STANDARD
        .decode(whpk.strip_prefix("whpk_").unwrap())
        .unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, pk)
        .verify(
            &[b"msg_1.", NOW.to_string().as_bytes(), b".", BODY].concat(),
            &raw,
        )
        .unwrap();
    // Only a v1a key verifies v1a signatures: a v1-only verifier rejects them.
    let headers = ed.headers("msg_1", NOW, BODY).unwrap();
    let req = Request::new(
        headers
            .iter()
            .map(|(a, b)| (*a, b.as_str()))
            .collect::<Vec<_>>(),
        BODY,
    );
    assert_eq!(
        kind(StandardWebhooks::new(&[whsec()]).unwrap().verify(&req, NOW)),
        ErrorKind::BadSignature
    );
    assert_eq!(kind(hmac.signature("a.b", NOW, BODY)), ErrorKind::Malformed);
    assert_eq!(
        kind(hmac.signature("msg_1", -1, BODY)),
        ErrorKind::Malformed
    );
    assert_eq!(
        StandardSigner::new(&whpk).unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
}

#[test]
fn stripe() {
    let secret = "whsec_test_secret";
    let sign = |b: &[u8], t: i64| {
        let mac = hmac256(
            secret.as_bytes(),
            &[t.to_string().as_bytes(), b".", b].concat(),
        );
        h(&[(
            "Stripe-Signature",
            format!(
                "t={t},v1={},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39",
                hex::encode(mac)
            ),
        )])
    };
    let v = Stripe::new(&[secret]).unwrap();
    matrix(&v, &sign, true);
    let ok = v
        .verify(
            &Request::new(
                sign(BODY, NOW)
                    .iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .collect::<Vec<_>>(),
                BODY,
            ),
            NOW,
        )
        .unwrap();
    assert_eq!(ok.id, "evt_123", "the signed event id is the dedupe id");
    for bad in [
        "t=1,v1=zz",
        "v1=00",
        "t=abc,v1=00",
        "t=1,t=2,v1=00",
        "garbage",
        "t=1",
    ] {
        assert_eq!(
            kind(v.verify(&Request::new([("stripe-signature", bad)], BODY), NOW)),
            ErrorKind::Malformed,
            "{bad}"
        );
    }
    // Several v1 entries (rotation on Stripe's side): any valid one passes.
    let good = sign(BODY, NOW)[0].1.clone();
    let two = good.replacen(",v1=", &format!(",v1={},v1=", "00".repeat(32)), 1);
    assert!(v
        .verify(
            &Request::new([("stripe-signature", two.as_str())], BODY),
            NOW
        )
        .is_ok());
    assert_eq!(
        kind(Stripe::new(&["whsec_other"]).unwrap().verify(
            &Request::new([("stripe-signature", good.as_str())], BODY),
            NOW
        )),
        ErrorKind::BadSignature
    );
}

#[test]
fn github_and_shopify() {
    let gh = GitHub::new(&["It's a Secret to Everybody"]).unwrap();
    matrix(
        &gh,
        &|b, _| {
            h(&[(
                "X-Hub-Signature-256",
                format!(
                    "sha256={}",
                    hex::encode(hmac256(b"It's a Secret to Everybody", b))
                ),
            )])
        },
        false,
    );
    let sh = Shopify::new(&["shpss_secret"]).unwrap();
    matrix(
        &sh,
        &|b, _| {
            h(&[(
                "X-Shopify-Hmac-Sha256",
                STANDARD.encode(hmac256(b"shpss_secret", b)),
            )])
        },
        false,
    );
    // Unsigned delivery ids are not trusted for dedupe: the id is a hash of the body.
    let sig = format!(
        "sha256={}",
        hex::encode(hmac256(b"It's a Secret to Everybody", BODY))
    );
    let a = gh
        .verify(
            &Request::new(
                [
                    ("x-hub-signature-256", sig.as_str()),
                    ("x-github-delivery", "1"),
                ],
                BODY,
            ),
            NOW,
        )
        .unwrap();
    let b = gh
        .verify(
            &Request::new(
                [
                    ("x-hub-signature-256", sig.as_str()),
                    ("x-github-delivery", "2"),
                ],
                BODY,
            ),
            NOW,
        )
        .unwrap();
    assert_eq!(a.id, b.id);
    assert!(a.id.starts_with("sha256:"));
    assert_eq!(
        kind(gh.verify(
            &Request::new([("x-hub-signature-256", "sha1=00")], BODY),
            NOW
        )),
        ErrorKind::Malformed
    );
}

#[test]
fn slack() {
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let v = Slack::new(&[secret]).unwrap();
    matrix(
        &v,
        &|b, t| {
            let mac = hmac256(
                secret.as_bytes(),
                &[b"v0:", t.to_string().as_bytes(), b":", b].concat(),
            );
            h(&[
                ("X-Slack-Request-Timestamp", t.to_string()),
                ("X-Slack-Signature", format!("v0={}", hex::encode(mac))),
            ])
        },
        true,
    );
}

#[test]
fn discord_ed25519() {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let v = Discord::new(&[hex::encode(pair.public_key().as_ref())]).unwrap();
    matrix(
        &v,
        &|b, t| {
            let sig = pair.sign(&[t.to_string().as_bytes(), b].concat());
            h(&[
                ("X-Signature-Ed25519", hex::encode(sig.as_ref())),
                ("X-Signature-Timestamp", t.to_string()),
            ])
        },
        true,
    );
    assert_eq!(
        Discord::new(&["abcd"]).unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
}

#[test]
fn sendgrid_ecdsa() {
    let rng = ring::rand::SystemRandom::new();
    let alg = &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING;
    let pkcs8 = ring::signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
    let pair = ring::signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
    let mut spki = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
    spki.extend_from_slice(pair.public_key().as_ref());
    let v = SendGrid::new(&[STANDARD.encode(&spki)]).unwrap();
    matrix(
        &v,
        &|b, t| {
            let sig = pair
                .sign(&rng, &[t.to_string().as_bytes(), b].concat())
                .unwrap();
            h(&[
                (
                    "X-Twilio-Email-Event-Webhook-Signature",
                    STANDARD.encode(sig.as_ref()),
                ),
                ("X-Twilio-Email-Event-Webhook-Timestamp", t.to_string()),
            ])
        },
        true,
    );
    // A key that is not P-256 SPKI, or a point off the curve.
    let mut off = spki.clone();
    *off.last_mut().unwrap() ^= 1;
    assert_eq!(
        SendGrid::new(&[STANDARD.encode(&off)]).unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
    assert_eq!(
        SendGrid::new(&[STANDARD.encode(&spki[1..])])
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidKey
    );
}

#[test]
fn twilio_form_and_json_bodies() {
    let token = "12345";
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let form: &[u8] = b"To=%2B18005551212&From=%2B14158675309&Digits=1234&CallSid=CA1234567890ABCDE&Caller=%2B14158675309";
    let mut params: Vec<(&str, &str)> = vec![
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ];
    params.sort();
    let data: String = std::iter::once(url.to_owned())
        .chain(params.iter().map(|(k, v)| format!("{k}{v}")))
        .collect();
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, token.as_bytes()),
        data.as_bytes(),
    );
    let sig = STANDARD.encode(mac.as_ref());
    let v = Twilio::new(&[token]).unwrap();
    let req = |u: &'static str, body: &'static [u8], s: &str| {
        let s: &'static str = Box::leak(s.to_owned().into_boxed_str());
        Request::new([("X-Twilio-Signature", s)], body).with_url(u)
    };
    assert!(v.verify(&req(url, form, &sig), NOW).is_ok());
    // The same URL with an explicit :443 is accepted (Twilio's libraries try both).
    assert!(v
        .verify(
            &req(
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                form,
                &sig
            ),
            NOW
        )
        .is_ok());
    assert_eq!(kind(v.verify(&req(url, b"To=%2B18005551213&From=%2B14158675309&Digits=1234&CallSid=CA1234567890ABCDE&Caller=%2B14158675309", &sig), NOW)), ErrorKind::BadSignature);
    assert_eq!(
        kind(v.verify(
            &req("https://mycompany.com/other.php?foo=1&bar=2", form, &sig),
            NOW
        )),
        ErrorKind::BadSignature
    );
    // Any explicit port verifies like the port-less URL, but the dedupe id is that of the URL
    // form that was signed, so a replay with another port is the same message.
    let a = v
        .verify(
            &req("https://mycompany.com:1/myapp.php?foo=1&bar=2", form, &sig),
            NOW,
        )
        .unwrap();
    let b = v
        .verify(
            &req("https://mycompany.com:2/myapp.php?foo=1&bar=2", form, &sig),
            NOW,
        )
        .unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(
        kind(v.verify(
            &Request::new([("X-Twilio-Signature", sig.as_str())], form),
            NOW
        )),
        ErrorKind::Malformed
    );
    // JSON body: the URL carries bodySHA256 and is signed alone.
    let json: &[u8] = br#"{"property": "value", "boolean": true}"#;
    let hash = hex::encode(ring::digest::digest(&ring::digest::SHA256, json));
    let jurl: &'static str =
        Box::leak(format!("https://mycompany.com/myapp.php?bodySHA256={hash}").into_boxed_str());
    let jmac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, token.as_bytes()),
        jurl.as_bytes(),
    );
    let jsig = STANDARD.encode(jmac.as_ref());
    assert!(v.verify(&req(jurl, json, &jsig), NOW).is_ok());
    assert_eq!(
        kind(v.verify(&req(jurl, br#"{"property": "other"}"#, &jsig), NOW)),
        ErrorKind::BadSignature
    );
}

#[test]
fn generic_hmac() {
    let v = GenericHmac::new(
        "X-Signature",
        "sha256=",
        MacEncoding::Hex,
        "{timestamp}.{body}",
        &["s3cret"],
    )
    .unwrap()
    .with_timestamp_header("X-Timestamp");
    matrix(
        &v,
        &|b, t| {
            let mac = hmac256(b"s3cret", &[t.to_string().as_bytes(), b".", b].concat());
            h(&[
                ("X-Signature", format!("sha256={}", hex::encode(mac))),
                ("X-Timestamp", t.to_string()),
            ])
        },
        true,
    );
    let b64 = GenericHmac::new("X-Sig", "", MacEncoding::Base64, "{body}", &["k"]).unwrap();
    matrix(
        &b64,
        &|b, _| h(&[("X-Sig", STANDARD.encode(hmac256(b"k", b)))]),
        false,
    );
    // A timestamp header the template does not sign is refused, not silently unchecked.
    let unsigned_ts = GenericHmac::new("X-Sig", "", MacEncoding::Base64, "{body}", &["k"])
        .unwrap()
        .with_timestamp_header("X-Ts");
    let sig = STANDARD.encode(hmac256(b"k", BODY));
    let req_ts = Request::new([("X-Sig", sig.as_str()), ("X-Ts", "1")], BODY);
    assert_eq!(
        kind(unsigned_ts.verify(&req_ts, NOW)),
        ErrorKind::InvalidInput
    );
    // The configuration is refused first, whatever the request: even one without a
    // signature header gets invalid-input, not malformed (docs/WEBHOOKS.md).
    let no_sig = Request::new([("X-Ts", "1")], BODY);
    assert_eq!(
        kind(unsigned_ts.verify(&no_sig, NOW)),
        ErrorKind::InvalidInput
    );
    // The same for an id header the template does not sign.
    let unsigned_id = GenericHmac::new("X-Sig", "", MacEncoding::Base64, "{body}", &["k"])
        .unwrap()
        .with_id_header("X-Id");
    let req_id = Request::new([("X-Sig", sig.as_str()), ("X-Id", "evt_1")], BODY);
    assert_eq!(
        kind(unsigned_id.verify(&req_id, NOW)),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(unsigned_id.verify(&no_sig, NOW)),
        ErrorKind::InvalidInput
    );
    let many = vec![sig.as_str(); 17].join(" ");
    let req_many = Request::new([("X-Sig", many.as_str())], BODY);
    assert_eq!(kind(b64.verify(&req_many, NOW)), ErrorKind::TooLarge);
    for bad in ["{timestamp}", "{body", "{nope}{body}", "x}{body}"] {
        assert_eq!(
            GenericHmac::new("X", "", MacEncoding::Hex, bad, &["k"])
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput,
            "{bad}"
        );
    }
}

/// Redeliveries and replays are caught by the replay store; a store keeps providers apart.
#[test]
fn verify_and_claim_dedupes() {
    let v = StandardWebhooks::new(&[whsec()]).unwrap();
    let store = MemoryReplayStore::new(100);
    let hs = standard_headers("webhook", WHSEC_KEY, BODY, NOW);
    let req = Request::new(
        hs.iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect::<Vec<_>>(),
        BODY,
    );
    let keep = Duration::from_secs(600);
    assert!(verify_and_claim(&v, &req, NOW, &store, "billing", keep).is_ok());
    assert_eq!(
        kind(verify_and_claim(&v, &req, NOW + 1, &store, "billing", keep)),
        ErrorKind::Replayed
    );
    // Another consumer has its own claims.
    assert!(verify_and_claim(&v, &req, NOW, &store, "audit", keep).is_ok());
    // A forged request never reaches the store.
    let forged = Request::new(
        hs.iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect::<Vec<_>>(),
        b"{}",
    );
    assert_eq!(
        kind(verify_and_claim(&v, &forged, NOW, &store, "x", keep)),
        ErrorKind::BadSignature
    );
    assert_eq!(store.len(), 2);

    // Even with no retention, a claim outlives the timestamp tolerance: a replay 299 s later
    // (still inside the 5-minute window) is caught.
    let store = MemoryReplayStore::new(100);
    assert!(verify_and_claim(&v, &req, NOW, &store, "billing", Duration::ZERO).is_ok());
    assert_eq!(
        kind(verify_and_claim(
            &v,
            &req,
            NOW + 299,
            &store,
            "billing",
            Duration::ZERO
        )),
        ErrorKind::Replayed
    );
    assert_eq!(
        kind(verify_and_claim(
            &v,
            &req,
            NOW + 301,
            &store,
            "billing",
            Duration::ZERO
        )),
        ErrorKind::Expired
    );
}

/// Hostile header values never panic and are never accepted.
#[test]
fn hostile_headers() {
    let verifiers: Vec<Box<dyn Verifier>> = vec![
        Box::new(StandardWebhooks::new(&[whsec()]).unwrap()),
        Box::new(Stripe::new(&["whsec_x"]).unwrap()),
        Box::new(GitHub::new(&["x"]).unwrap()),
        Box::new(Slack::new(&["x"]).unwrap()),
        Box::new(Shopify::new(&["x"]).unwrap()),
        Box::new(Twilio::new(&["x"]).unwrap()),
    ];
    let long = "v1,".repeat(5000);
    let values = [
        "",
        " ",
        ",",
        "=",
        "t=",
        "v1=",
        "sha256=",
        "v0=",
        "é",
        "\u{0}",
        "t=99999999999999999999,v1=00",
        long.as_str(),
    ];
    let names = [
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "stripe-signature",
        "x-hub-signature-256",
        "x-slack-signature",
        "x-slack-request-timestamp",
        "x-shopify-hmac-sha256",
        "x-twilio-signature",
    ];
    for v in &verifiers {
        for value in values {
            let headers: Vec<(&str, &str)> = names.iter().map(|n| (*n, value)).collect();
            let r = v.verify(&Request::new(headers, BODY).with_url("https://x"), NOW);
            assert!(
                matches!(
                    r.map_err(|e| e.kind()),
                    Err(ErrorKind::Malformed | ErrorKind::TooLarge | ErrorKind::BadSignature)
                ),
                "{} {value:?}",
                v.provider()
            );
        }
    }
}

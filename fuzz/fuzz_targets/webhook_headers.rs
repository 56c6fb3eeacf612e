//! Every webhook provider's header parsing and verification on arbitrary header values and
//! bodies: never panics, and nothing verifies under the fixed secrets (the fuzzer cannot
//! produce a valid MAC or signature).
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use eventseal::webhook::{by_name, GenericHmac, MacEncoding, Request, Verifier, PROVIDERS};
use libfuzzer_sys::fuzz_target;

const HEADERS: &[&str] = &[
    "webhook-id", "webhook-timestamp", "webhook-signature", "svix-id", "svix-timestamp",
    "svix-signature", "stripe-signature", "x-hub-signature-256", "x-slack-signature",
    "x-slack-request-timestamp", "x-shopify-hmac-sha256", "x-signature-ed25519",
    "x-signature-timestamp", "x-twilio-signature", "x-twilio-email-event-webhook-signature",
    "x-twilio-email-event-webhook-timestamp", "x-sig", "x-ts",
];

fn verifiers() -> &'static Vec<Box<dyn Verifier>> {
    static V: OnceLock<Vec<Box<dyn Verifier>>> = OnceLock::new();
    V.get_or_init(|| {
        let secret = |p: &str| match p {
            "standard-webhooks" | "svix" => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "discord" => "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", // RFC 8032 test 1
            "sendgrid" => "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==",
            _ => "fuzz-secret",
        };
        let mut v: Vec<Box<dyn Verifier>> = PROVIDERS
            .iter()
            .map(|p| by_name(p, &[secret(p)], Duration::from_secs(300)).expect("fixed secret"))
            .collect();
        v.push(Box::new(
            GenericHmac::new("x-sig", "sha256=", MacEncoding::Hex, "{timestamp}.{body}", &["fuzz-secret"])
                .expect("generic")
                .with_timestamp_header("x-ts"),
        ));
        v
    })
}

fuzz_target!(|data: &[u8]| {
    // Layout: header values separated by 0xff bytes, then the body after the last one.
    let mut parts = data.split(|&b| b == 0xff);
    let mut headers = Vec::new();
    for name in HEADERS {
        match parts.next().map(std::str::from_utf8) {
            Some(Ok(value)) => headers.push((*name, value)),
            _ => break,
        }
    }
    let body = parts.next().unwrap_or_default();
    let request = Request::new(headers, body).with_url("https://example.com/hook?x=1");
    for v in verifiers() {
        assert!(v.verify(&request, 1_700_000_000).is_err(), "{} accepted fuzz input", v.provider());
    }
});

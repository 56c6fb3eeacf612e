//! Every webhook provider against the examples its own documentation or official SDK tests
//! publish (tests/vectors/webhooks/, sources cited in each file and in SOURCES.md). `valid`
//! vectors must verify; `invalid` ones must fail with the kind the file names.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use eventseal::webhook::{by_name, Request, StandardSigner};

/// Form-encodes a value for a Twilio form body (every byte outside the unreserved set as %XX).
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form_body(params: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut pairs = Vec::new();
    for (k, v) in params {
        match v {
            serde_json::Value::Array(vs) => {
                for v in vs {
                    pairs.push(format!(
                        "{}={}",
                        form_encode(k),
                        form_encode(v.as_str().unwrap())
                    ));
                }
            }
            v => pairs.push(format!(
                "{}={}",
                form_encode(k),
                form_encode(v.as_str().unwrap())
            )),
        }
    }
    pairs.join("&")
}

#[test]
fn published_vectors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/webhooks");
    let mut total = 0;
    for provider in eventseal::webhook::PROVIDERS {
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{provider}.json"))).unwrap())
                .unwrap();
        for (i, v) in file["vectors"].as_array().unwrap().iter().enumerate() {
            let name = format!("{provider}[{i}]: {}", v["description"].as_str().unwrap());
            let mut secret = v["secret"].as_str().unwrap().to_owned();
            if v["secret_kind"] == "ed25519_private_seed_base64" {
                // The source publishes the signing seed only: derive the whpk_ public key.
                secret = StandardSigner::new(&format!("whsk_{secret}"))
                    .unwrap()
                    .public_key()
                    .unwrap();
            }
            let body: Vec<u8> = match (&v["params"], v["body_encoding"].as_str()) {
                (serde_json::Value::Object(p), _) => form_body(p).into_bytes(),
                (_, Some("base64")) => base64::engine::general_purpose::STANDARD
                    .decode(v["body"].as_str().unwrap())
                    .unwrap(),
                _ => v["body"].as_str().unwrap().as_bytes().to_vec(),
            };
            let headers: Vec<(&str, &str)> = v["headers"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, val)| (k.as_str(), val.as_str().unwrap()))
                .collect();
            let mut request = Request::new(headers, &body);
            if let Some(url) = v["url"].as_str() {
                request = request.with_url(url);
            }
            let tolerance = Duration::from_secs(v["tolerance_seconds"].as_u64().unwrap_or(300));
            let now = v["now"].as_i64().unwrap_or(1_700_000_000);
            let result = by_name(provider, &[secret.as_str()], tolerance)
                .and_then(|ver| ver.verify(&request, now));
            match v["expect"].as_str().unwrap() {
                "valid" => {
                    let ok = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(ok.provider, *provider, "{name}");
                }
                "invalid" => {
                    let got = result
                        .err()
                        .unwrap_or_else(|| panic!("{name}: a must-fail vector verified"))
                        .kind();
                    let want = v["kind"]
                        .as_str()
                        .unwrap_or_else(|| panic!("{name}: no kind; got {got}"));
                    assert_eq!(got.as_str(), want, "{name}");
                }
                other => panic!("{name}: expect {other}"),
            }
            total += 1;
        }
    }
    assert!(total >= 50, "only {total} vectors");
}

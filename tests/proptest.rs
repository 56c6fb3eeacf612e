//! Property tests: arbitrary bytes, arbitrary JSON, and arbitrary mutations of real
//! envelopes never panic and are never accepted.

mod common;

use common::*;
use eventseal::ErrorKind;
use proptest::prelude::*;

/// The only kinds input that is not a real envelope may produce.
fn parse_rejection(r: eventseal::Result<eventseal::Opened>) -> bool {
    matches!(
        r.map_err(|e| e.kind()),
        Err(ErrorKind::Malformed | ErrorKind::TooLarge | ErrorKind::UnsupportedVersion)
    )
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "[a-zA-Z0-9_=+/ -]{0,60}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("header".to_owned()),
                    Just("ciphertext".to_owned()),
                    Just("signature".to_owned()),
                    Just("version".to_owned()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_are_rejected(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let w = World::new();
        prop_assert!(parse_rejection(w.billing_opener().open(&bytes)));
    }

    #[test]
    fn arbitrary_json_is_rejected(v in arb_json()) {
        let w = World::new();
        let bytes = serde_json::to_vec(&v).unwrap();
        prop_assert!(parse_rejection(w.billing_opener().open(&bytes)));
    }

    /// Arbitrary JSON as the (base64-encoded) header of an otherwise real envelope, even when
    /// signed by the real producer: never accepted.
    #[test]
    fn arbitrary_signed_headers_are_rejected(v in arb_json()) {
        let w = World::new();
        let env = w.seal(b"x");
        let mut p = Parts::of(env.as_bytes());
        p.header = serde_json::to_vec(&v).unwrap();
        p.resign(w.orders.key());
        prop_assert!(parse_rejection(w.billing_opener().open(&p.to_envelope())));
    }

    /// Random byte edits (overwrite, insert, delete) of a real envelope are never accepted.
    #[test]
    fn mutated_envelopes_are_rejected(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6)
    ) {
        let w = World::new();
        let env = w.seal(b"mutate me").as_bytes().to_vec();
        let mut m = env.clone();
        for (idx, byte, op) in edits {
            let i = idx.index(m.len().max(1));
            match op {
                0 if !m.is_empty() => m[i] = byte,
                1 => m.insert(i.min(m.len()), byte),
                _ if !m.is_empty() => { m.remove(i); }
                _ => {}
            }
        }
        let r = w.billing_opener().open(&m);
        if m == env {
            prop_assert!(r.is_ok());
        } else if let Ok(opened) = r {
            // Only an edit that leaves the outer JSON equivalent (e.g. whitespace) may open,
            // and then it must be the very same content.
            let a: serde_json::Value = serde_json::from_slice(&m).unwrap();
            let b: serde_json::Value = serde_json::from_slice(&env).unwrap();
            prop_assert_eq!(a, b);
            prop_assert_eq!(opened.payload(), b"mutate me");
        }
    }
}

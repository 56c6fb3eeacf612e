//! Envelope parsing: never panics, whatever parses satisfies the format's invariants, and the
//! fast path for the producer's exact form (src/canonical.rs) gives exactly what the
//! serde-only reference gives: the same envelope, or the same rejection kind.
#![no_main]

use eventseal::{Limits, UntrustedEnvelope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let fast = UntrustedEnvelope::parse(data, &limits);
    let reference = UntrustedEnvelope::parse_reference(data, &limits);
    match (&fast, &reference) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.untrusted_header(), b.untrusted_header());
            assert_eq!(a.untrusted_header_bytes(), b.untrusted_header_bytes());
        }
        (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "{a} / {b}"),
        _ => panic!("fast path and reference disagree: {fast:?} / {reference:?}"),
    }
    if let Ok(env) = fast {
        let h = env.untrusted_header();
        assert!(data.len() <= limits.max_envelope_bytes);
        assert!(env.untrusted_header_bytes().len() <= limits.max_header_bytes);
        assert!(h.expires_at() > h.issued_at());
        assert!(!h.recipients().is_empty());
        assert!(h.recipients().len() <= limits.max_recipients);
        assert_eq!(h.id().get_version_num(), 7);
    }
});

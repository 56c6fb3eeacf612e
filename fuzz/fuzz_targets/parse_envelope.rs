//! Envelope parsing: never panics, and whatever parses satisfies the format's invariants.
#![no_main]

use eventseal::{Limits, UntrustedEnvelope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(env) = UntrustedEnvelope::parse(data, &limits) {
        let h = env.untrusted_header();
        assert!(data.len() <= limits.max_envelope_bytes);
        assert!(env.untrusted_header_bytes().len() <= limits.max_header_bytes);
        assert!(h.expires_at() > h.issued_at());
        assert!(!h.recipients().is_empty());
        assert!(h.recipients().len() <= limits.max_recipients);
        assert_eq!(h.id().get_version_num(), 7);
    }
});

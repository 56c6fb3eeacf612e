//! The whole open pipeline with fixed keys, seeded with real sealed envelopes
//! (fuzz/seeds/open_envelope/), so mutations reach signature checking, policy, replay and
//! decryption. Invariant: nothing opens unless it is one of the seed envelopes (up to outer
//! JSON whitespace and member order), and then with the seed's exact payload.
#![no_main]

use std::sync::{Arc, OnceLock};

use eventseal::{
    FixedClock, Limits, MemoryReplayStore, Opener, RecipientSecretKey, TrustStore,
    UntrustedEnvelope, VerifyingKey,
};
use libfuzzer_sys::fuzz_target;

const SIGNER: &str = include_str!("../keys/fuzz-source.verify.jwk");
const CONSUMER: &str = include_str!("../keys/fuzz-consumer.recipient.jwk");
const SEEDS: [&str; 4] = [
    include_str!("../seeds/open_envelope/seed1.json"),
    include_str!("../seeds/open_envelope/seed2.json"),
    include_str!("../seeds/open_envelope/seed3.json"),
    include_str!("../seeds/open_envelope/seed4.json"),
];

struct Fixture {
    trust: TrustStore,
    seed_ids: Vec<uuid::Uuid>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| Fixture {
        trust: TrustStore::new().with(VerifyingKey::from_jwk(SIGNER).expect("fuzz key")),
        seed_ids: SEEDS
            .iter()
            .map(|s| {
                UntrustedEnvelope::parse(s.trim_end().as_bytes(), &Limits::default())
                    .expect("seed parses")
                    .untrusted_header()
                    .id()
            })
            .collect(),
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    // Freshness is tested elsewhere; here the clock stands at the claimed issue time so that
    // mutated envelopes reach the later stages.
    let now = UntrustedEnvelope::parse(data, &Limits::default())
        .map(|e| e.untrusted_header().issued_at())
        .unwrap_or(0);
    let key = RecipientSecretKey::from_jwk(CONSUMER).expect("fuzz key");
    let opener = Opener::new([key], f.trust.clone(), Arc::new(MemoryReplayStore::new(4)))
        .with_clock(Arc::new(FixedClock::new(now)));
    if let Ok(opened) = opener.open(data) {
        assert!(
            f.seed_ids.contains(&opened.header().id()),
            "an envelope that is not a seed opened"
        );
        assert_eq!(opened.payload(), b"fuzz seed payload");
        assert_eq!(opened.header().source(), "fuzz-source");
    }
});

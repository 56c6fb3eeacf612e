//! Seal and open against the floor: the primitives the same work cannot avoid, called
//! directly, in the same run. Ratios, not absolute times, are what to compare.
//!
//! Run: `cargo bench -p eventseal-bench --bench envelope`

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use eventseal::{
    FixedClock, MemoryReplayStore, Opener, RecipientSecretKey, Sealer, SigningKey, TrustStore,
};
use ring::signature::KeyPair;

const NOW: i64 = 1_700_000_000;

fn bench(c: &mut Criterion) {
    let payload = vec![0x5au8; 1024];
    let clock = Arc::new(FixedClock::new(NOW));
    let sealer = Sealer::new(SigningKey::generate("orders").unwrap()).with_clock(clock.clone());
    let consumer = RecipientSecretKey::generate("billing").unwrap();
    let trust = TrustStore::new().with(sealer.key().verifying_key().clone());
    let env = sealer
        .seal("order.created", &payload, &[consumer.public_key()])
        .unwrap();

    let mut g = c.benchmark_group("1KiB_1_recipient");
    g.throughput(Throughput::Bytes(payload.len() as u64));
    g.measurement_time(Duration::from_secs(3));

    g.bench_function("eventseal_seal", |b| {
        b.iter(|| {
            sealer
                .seal("order.created", &payload, &[consumer.public_key()])
                .unwrap()
        })
    });
    let opener = Opener::new_without_replay_check_dangerous(
        vec![RecipientSecretKey::from_jwk(&consumer.to_secret_jwk()).unwrap()],
        trust.clone(),
    )
    .with_clock(clock.clone());
    g.bench_function("eventseal_open_no_replay", |b| {
        b.iter(|| opener.open(env.as_bytes()).unwrap())
    });
    let with_store = Opener::new(
        vec![RecipientSecretKey::from_jwk(&consumer.to_secret_jwk()).unwrap()],
        trust,
        Arc::new(MemoryReplayStore::new(usize::MAX)),
    )
    .with_clock(clock);
    g.bench_function("eventseal_open_memory_replay", |b| {
        b.iter_batched(
            || {
                sealer
                    .seal("order.created", &payload, &[consumer.public_key()])
                    .unwrap()
            },
            |e| with_store.open(e.as_bytes()).unwrap(),
            BatchSize::SmallInput,
        )
    });

    // The floor: Ed25519 + X25519 (ephemeral keygen and agreement for seal, agreement for
    // open) + AES-256-GCM over the payload, straight from the backend crates.
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let public = pair.public_key().as_ref().to_vec();
    let sig = pair.sign(&payload);
    let secret = x25519_dalek::StaticSecret::from([7u8; 32]);
    let peer = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from([9u8; 32]));
    let aead_key = ring::aead::LessSafeKey::new(
        ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &[1u8; 32]).unwrap(),
    );
    let aes = |buf: &mut Vec<u8>| {
        aead_key
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key([0u8; 12]),
                ring::aead::Aad::empty(),
                buf,
            )
            .unwrap()
    };
    g.bench_function("floor_open", |b| {
        b.iter(|| {
            ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &public)
                .verify(&payload, sig.as_ref())
                .unwrap();
            let shared = secret.diffie_hellman(&peer);
            let mut buf = payload.clone();
            aes(&mut buf);
            (shared.to_bytes(), buf)
        })
    });
    g.bench_function("floor_seal", |b| {
        b.iter(|| {
            let eph = x25519_dalek::StaticSecret::from([3u8; 32]);
            let epk = x25519_dalek::PublicKey::from(&eph);
            let shared = eph.diffie_hellman(&peer);
            let mut buf = payload.clone();
            aes(&mut buf);
            (pair.sign(&buf), epk, shared.to_bytes())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

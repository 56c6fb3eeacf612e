//! Statistical constant-time tests (the dudect method: Reparaz, Balasch, Verbauwhede,
//! "Dude, is my code constant time?", DATE 2017) for every secret-dependent comparison the
//! crate makes. Each test times one operation under two input classes that differ only in
//! the secret relationship an attacker would probe (for example, a guess that matches all but
//! the last byte of the secret MAC, against a random guess), then runs Welch's t-test on the
//! two timing distributions, cropped at many percentiles. |t| above about 5 is evidence of a
//! timing difference; `leaky_control` is a deliberately early-exit comparison on the same
//! inputs, to show the test can see a leak on this machine.
//!
//! ```text
//! cargo bench -p eventseal-bench --features ct-probe --bench ct  # all, 1 000 000 samples each
//! EVENTSEAL_CT_SAMPLES=5000000 cargo bench -p eventseal-bench --features ct-probe --bench ct -- key_commitment
//! ```
//! Results and their reading: docs/CONSTANT_TIME.md.

use dudect_bencher::ctbench::{run_benches_console, BenchMetadata, BenchName, BenchOpts};
use dudect_bencher::rand::{Rng, RngExt};
use dudect_bencher::{BenchRng, Class, CtRunner};
use eventseal::ct_probe::{webhook_mac_matches, PayloadStep, SymmetricUnwrap};
use eventseal::webhook::{Request, StandardSigner, StandardWebhooks, Verifier};
use eventseal::SymmetricKey;

/// Comparisons are a few nanoseconds, below the clock's resolution: each sample times this
/// many back-to-back calls on the same input.
const REPEAT: usize = 64;

fn samples() -> usize {
    std::env::var("EVENTSEAL_CT_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
}

fn random<const N: usize>(rng: &mut BenchRng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill_bytes(&mut b);
    b
}

/// `secret` with its last byte changed: equal in every byte an early-exit compare reads first.
fn near<const N: usize>(secret: &[u8; N]) -> [u8; N] {
    let mut b = *secret;
    if let Some(last) = b.last_mut() {
        *last ^= 0x01;
    }
    b
}

/// Pre-draws the inputs (class, value) so nothing but the operation is timed.
fn inputs<const N: usize>(
    rng: &mut BenchRng,
    left: impl Fn(&mut BenchRng) -> [u8; N],
) -> Vec<(Class, [u8; N])> {
    (0..samples())
        .map(|_| {
            if rng.random::<bool>() {
                (Class::Left, left(rng))
            } else {
                (Class::Right, random(rng))
            }
        })
        .collect()
}

/// Webhook MAC compare: a guess equal to the secret tag but for its last byte, against a
/// random guess (both rejected).
fn webhook_mac_compare(runner: &mut CtRunner, rng: &mut BenchRng) {
    let tag: [u8; 32] = random(rng);
    for (class, guess) in inputs(rng, |_| near(&tag)) {
        runner.run_one(class, || {
            (0..REPEAT).fold(false, |acc, _| {
                acc | webhook_mac_matches(std::hint::black_box(&tag), &[&guess])
            })
        });
    }
}

/// Webhook MAC compare, accept against reject: the correct tag against a random one (the
/// verdict is visible anyway; this shows the compare does not stop early on a match).
fn webhook_mac_match_vs_mismatch(runner: &mut CtRunner, rng: &mut BenchRng) {
    let tag: [u8; 32] = random(rng);
    for (class, guess) in inputs(rng, |_| tag) {
        runner.run_one(class, || {
            (0..REPEAT).fold(false, |acc, _| {
                acc | webhook_mac_matches(std::hint::black_box(&tag), &[&guess])
            })
        });
    }
}

/// The whole Standard Webhooks verification through the public API. Both classes are the
/// correct signature with one byte changed (to a random other value): the last byte (left)
/// or the first (right). Everything the verifier does with the attacker's bytes (base64
/// decoding, copying) then varies alike in both classes; only where the guess stops matching
/// the secret MAC differs, which is what an early-exit compare would leak. Both are
/// `bad-signature`.
fn standard_webhooks_verify(runner: &mut CtRunner, rng: &mut BenchRng) {
    use base64::Engine;
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(random::<32>(rng))
    );
    let body = vec![b'x'; 1024];
    let ts = 1_700_000_000;
    let verifier = StandardWebhooks::new(&[&secret]).unwrap_or_else(|e| panic!("{e}"));
    let header = StandardSigner::new(&secret)
        .and_then(|s| s.signature("msg_1", ts, &body))
        .unwrap_or_else(|e| panic!("{e}"));
    let correct: [u8; 32] = header
        .strip_prefix("v1,")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| b.try_into().ok())
        .unwrap_or_else(|| panic!("unexpected signature {header}"));
    let ts_text = ts.to_string();
    let prepared: Vec<(Class, String)> = (0..samples())
        .map(|_| {
            let mut sig = correct;
            let delta = rng.random_range(1..=255u8);
            let class = if rng.random::<bool>() {
                sig[31] ^= delta;
                Class::Left
            } else {
                sig[0] ^= delta;
                Class::Right
            };
            let encoded = base64::engine::general_purpose::STANDARD.encode(sig);
            (class, format!("v1,{encoded}"))
        })
        .collect();
    for (class, sig) in prepared {
        let request = Request::new(
            [
                ("webhook-id", "msg_1"),
                ("webhook-timestamp", ts_text.as_str()),
                ("webhook-signature", sig.as_str()),
            ],
            &body,
        );
        runner.run_one(class, || verifier.verify(&request, ts).is_ok());
    }
}

/// Key-commitment compare: the commitment a header claims, one byte off the derived one,
/// against a random claim (both refused before any decryption).
fn key_commitment_compare(runner: &mut CtRunner, rng: &mut BenchRng) {
    let step = PayloadStep::new(random(rng), random(rng));
    let commitment = step.commitment();
    for (class, claim) in inputs(rng, |_| near(&commitment)) {
        runner.run_one(class, || {
            (0..REPEAT).fold(false, |acc, _| {
                let mut ciphertext = [0u8; 32];
                acc | step.open(std::hint::black_box(&claim), &mut ciphertext)
            })
        });
    }
}

/// Symmetric-recipient unwrap: a wrapped key whose GCM tag is one bit off the correct one,
/// against a random wrapped key (both fail the tag check).
fn symmetric_unwrap(runner: &mut CtRunner, rng: &mut BenchRng) {
    let key = SymmetricKey::generate("consumer").unwrap_or_else(|e| panic!("{e}"));
    let probe = SymmetricUnwrap::new(key, b"info", &random(rng)).unwrap_or_else(|e| panic!("{e}"));
    let (_, wrapped) = probe.wrapped();
    for (class, guess) in inputs(rng, |_| near(&wrapped)) {
        runner.run_one(class, || probe.unwrap(std::hint::black_box(&guess)));
    }
}

/// Control: an early-exit comparison on the inputs of `webhook_mac_compare`. It must show a
/// large t; if it does not, the machine is too noisy for the other results to mean anything.
fn early_exit_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return false;
        }
    }
    true
}

/// Control at the granularity of one call: a single early-exit comparison per sample (a
/// difference of about 30 byte steps, a few nanoseconds) — what the method can resolve
/// without repetition.
fn leaky_control_single(runner: &mut CtRunner, rng: &mut BenchRng) {
    let tag: [u8; 32] = random(rng);
    for (class, guess) in inputs(rng, |_| near(&tag)) {
        runner.run_one(class, || {
            early_exit_eq(std::hint::black_box(&tag), std::hint::black_box(&guess))
        });
    }
}

fn leaky_control(runner: &mut CtRunner, rng: &mut BenchRng) {
    let tag: [u8; 32] = random(rng);
    for (class, guess) in inputs(rng, |_| near(&tag)) {
        runner.run_one(class, || {
            (0..REPEAT).fold(false, |acc, _| {
                acc | early_exit_eq(std::hint::black_box(&tag), std::hint::black_box(&guess))
            })
        });
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters by name.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let bench = |name, benchfn| BenchMetadata {
        name: BenchName(name),
        seed: None,
        benchfn,
    };
    let benches = vec![
        bench(
            "webhook_mac_compare",
            webhook_mac_compare as fn(&mut _, &mut _),
        ),
        bench(
            "webhook_mac_match_vs_mismatch",
            webhook_mac_match_vs_mismatch,
        ),
        bench("standard_webhooks_verify", standard_webhooks_verify),
        bench("key_commitment_compare", key_commitment_compare),
        bench("symmetric_unwrap", symmetric_unwrap),
        bench("leaky_control", leaky_control),
        bench("leaky_control_single", leaky_control_single),
    ];
    let opts = BenchOpts {
        filter,
        ..BenchOpts::default()
    };
    if let Err(e) = run_benches_console(opts, benches) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

//! What a seal costs with the key in process, on a SoftHSM2 token (PKCS#11) and in KMS
//! (moto's server on loopback), in one process (`cargo bench -p eventseal-aws --bench
//! signers`; needs `softhsm2` and `opensc`, and makes moto's venv as the tests do). Each is
//! the median of rounds of sequential seals of a 1 KiB payload to one recipient; ratios over
//! the in-process seal with the same algorithm are merged into
//! `target/eventseal-compare.json` (docs/KEYS.md, "What each costs"):
//!
//! - `signer_softhsm2_ed25519_seal_over_in_process`, `signer_softhsm2_p256_seal_over_in_process`;
//! - `signer_kms_p256_seal_over_in_process`: one `Sign` round trip to a loopback server per
//!   seal. Real KMS adds the network and its own latency (docs/KEYS.md), so this is a floor.

mod common;
#[path = "../tests/common/moto.rs"]
mod moto;
#[path = "../../eventseal-pkcs11/tests/common/softhsm.rs"]
mod softhsm;

use std::collections::BTreeMap;
use std::time::Instant;

use common::median;
use eventseal::{RecipientSecretKey, Sealer, SignatureAlgorithm, Signer, SigningKey};
use eventseal_aws::KmsSigner;
use eventseal_pkcs11::Pkcs11Signer;

const ROUNDS: usize = 9;

/// Nanoseconds per seal: the median of `ROUNDS` rounds of `n` sequential seals.
fn per_seal<S: Signer>(sealer: &Sealer<S>, billing: &RecipientSecretKey, n: usize) -> f64 {
    let payload = vec![b'x'; 1024];
    let to = [billing.public_key()];
    median(
        (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                for _ in 0..n {
                    std::hint::black_box(sealer.seal("order.created", &payload, &to).unwrap());
                }
                start.elapsed().as_nanos() as f64 / n as f64
            })
            .collect(),
    )
}

fn main() {
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let mut json = BTreeMap::new();

    let ed = Sealer::new(SigningKey::generate("orders").unwrap());
    let p256 = Sealer::new(
        SigningKey::generate_with("orders", SignatureAlgorithm::EcdsaP256Sha256).unwrap(),
    );
    // Warm up (page faults, the backend's one-time initialisation) before measuring.
    per_seal(&ed, &billing, 200);
    per_seal(&p256, &billing, 200);
    let in_ed = per_seal(&ed, &billing, 400);
    let in_p256 = per_seal(&p256, &billing, 400);

    let hsm = softhsm::SoftHsm::new();
    std::env::set_var("SOFTHSM2_CONF", &hsm.conf);
    let hsm_ed = Sealer::new(
        Pkcs11Signer::from_uri(&hsm.uri(softhsm::TOKEN, softhsm::ED_KEY), "orders").unwrap(),
    );
    let hsm_p256 = Sealer::new(
        Pkcs11Signer::from_uri(&hsm.uri(softhsm::TOKEN, softhsm::P256_KEY), "orders").unwrap(),
    );
    let soft_ed = per_seal(&hsm_ed, &billing, 200);
    let soft_p256 = per_seal(&hsm_p256, &billing, 200);

    let server = moto::Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let kms = rt.block_on(async {
        let client = aws_sdk_kms::Client::new(&server.sdk_config().await);
        let (id, _) = moto::create_signing_key(&client).await;
        Sealer::new(KmsSigner::new(client, &id, "orders").await.unwrap())
    });
    let payload = vec![b'x'; 1024];
    let to = [billing.public_key()];
    let kms_p256 = median(
        (0..ROUNDS)
            .map(|_| {
                rt.block_on(async {
                    let n = 40;
                    let start = Instant::now();
                    for _ in 0..n {
                        std::hint::black_box(
                            kms.seal_async("order.created", &payload, &to)
                                .await
                                .unwrap(),
                        );
                    }
                    start.elapsed().as_nanos() as f64 / f64::from(n)
                })
            })
            .collect(),
    );

    for (name, ns) in [
        ("in-process Ed25519", in_ed),
        ("in-process P-256", in_p256),
        ("SoftHSM2 Ed25519", soft_ed),
        ("SoftHSM2 P-256", soft_p256),
        ("KMS P-256 (moto, loopback)", kms_p256),
    ] {
        println!("seal 1 KiB, {name:<28} {:>10.1} µs", ns / 1000.0);
    }
    json.insert(
        "signer_softhsm2_ed25519_seal_over_in_process".to_owned(),
        soft_ed / in_ed,
    );
    json.insert(
        "signer_softhsm2_p256_seal_over_in_process".to_owned(),
        soft_p256 / in_p256,
    );
    json.insert(
        "signer_kms_p256_seal_over_in_process".to_owned(),
        kms_p256 / in_p256,
    );
    common::merge_ratios(json);
}

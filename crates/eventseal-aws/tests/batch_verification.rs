//! Why batch opening does not use batch signature verification (README "Batch opening").
//!
//! eventseal's single verification (aws-lc-rs or ring) is cofactorless: `[s]B = R + [k]A`
//! exactly. ed25519-dalek 3's `verify_batch` checks `sum z_i (R_i + [k_i]A_i - [s_i]B) = 0`
//! without the cofactor, with 128-bit `z_i` derived from the batch's contents. A signature
//! whose R carries a small-order point T, made by the key's holder, then fails alone but
//! passes the batch whenever `z_i` is a multiple of T's order: one time in 2, 4 or 8, and
//! the signer can grind its nonce until it does. So a batch verifier would accept envelopes
//! that single opening rejects. (Making it consistent needs a torsion check of every R,
//! which costs more than batching saves: benches/compare.rs measures both.)

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha512};

fn wide(bytes: &[u8]) -> Scalar {
    let h: [u8; 64] = Sha512::digest(bytes).into();
    Scalar::from_bytes_mod_order_wide(&h)
}

/// A signature by `seed`'s holder on `msg` whose R carries the small-order point
/// `EIGHT_TORSION[torsion]`, with the nonce derived from `nonce`.
fn torsioned_signature(
    seed: &[u8; 32],
    msg: &[u8],
    torsion: usize,
    nonce: u32,
) -> (VerifyingKey, [u8; 64]) {
    let h: [u8; 64] = Sha512::digest(seed).into();
    let mut a_bytes = [0u8; 32];
    a_bytes.copy_from_slice(&h[..32]);
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let public = (ED25519_BASEPOINT_POINT * a).compress();
    let r = wide(&nonce.to_le_bytes());
    let big_r = (ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[torsion]).compress();
    let mut k_input = Vec::new();
    k_input.extend_from_slice(big_r.as_bytes());
    k_input.extend_from_slice(public.as_bytes());
    k_input.extend_from_slice(msg);
    let s = r + wide(&k_input) * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    let vk = VerifyingKey::from_bytes(public.as_bytes()).unwrap();
    // The key is the holder's real key.
    assert_eq!(vk, SigningKey::from_bytes(seed).verifying_key());
    (vk, sig)
}

fn single_aws_lc(vk: &VerifyingKey, msg: &[u8], sig: &[u8; 64]) -> bool {
    aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, vk.to_bytes())
        .verify(msg, sig)
        .is_ok()
}

/// The first of 64 nonces whose torsioned signature passes the batch (each one checked to
/// fail single verification), and how many of them passed.
fn grind(seed: &[u8; 32], msg: &[u8], torsion: usize) -> (Option<u32>, usize) {
    let mut first = None;
    let mut passed = 0;
    for nonce in 0..64 {
        let (vk, sig) = torsioned_signature(seed, msg, torsion, nonce);
        let signature = Signature::from_bytes(&sig);
        assert!(
            !single_aws_lc(&vk, msg, &sig),
            "torsion {torsion} nonce {nonce}"
        );
        assert!(vk.verify_strict(msg, &signature).is_err());
        if ed25519_dalek::verify_batch(&[msg], &[signature], &[vk]).is_ok() {
            first.get_or_insert(nonce);
            passed += 1;
        }
    }
    (first, passed)
}

#[test]
fn a_torsioned_r_fails_single_verification_and_passes_the_batch_for_some_nonces() {
    let seed = [7u8; 32];
    let msg = b"eventseal signed message";
    // EIGHT_TORSION[4] has order 2, [2] order 4, [1] order 8.
    for (torsion, order) in [(4, 2), (2, 4), (1, 8)] {
        let (first, passed) = grind(&seed, msg, torsion);
        assert!(first.is_some(), "order {order}: no nonce passed the batch");
        // About one nonce in `order` passes (64 / order expected; a wide margin).
        assert!(
            passed > 64 / order / 3 && passed < 64 / order * 3,
            "order {order}: {passed} of 64"
        );
    }
    // Control: with no torsion it is an ordinary signature, accepted by both.
    let (vk, sig) = torsioned_signature(&seed, msg, 0, 0);
    assert!(single_aws_lc(&vk, msg, &sig));
    assert!(
        ed25519_dalek::verify_batch(&[&msg[..]], &[Signature::from_bytes(&sig)], &[vk]).is_ok()
    );
}

#[test]
fn a_mixed_batch_hides_the_one_single_verification_rejects() {
    let msgs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 100]).collect();
    let build = |nonce: u32| {
        let mut sigs = Vec::new();
        let mut vks = Vec::new();
        for (i, m) in msgs.iter().enumerate() {
            let seed = [i as u8 + 1; 32];
            if i == 4 {
                let (vk, sig) = torsioned_signature(&seed, m, 4, nonce);
                vks.push(vk);
                sigs.push(Signature::from_bytes(&sig));
            } else {
                let k = SigningKey::from_bytes(&seed);
                vks.push(k.verifying_key());
                sigs.push(k.sign(m));
            }
        }
        (sigs, vks)
    };
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    // The signer grinds its nonce until the batch of ten passes.
    let (sigs, vks) = (0..64)
        .map(build)
        .find(|(sigs, vks)| ed25519_dalek::verify_batch(&refs, sigs, vks).is_ok())
        .expect("a nonce that passes the batch");
    let single: Vec<bool> = (0..10)
        .map(|i| single_aws_lc(&vks[i], &msgs[i], &sigs[i].to_bytes()))
        .collect();
    assert_eq!(single.iter().filter(|ok| !**ok).count(), 1);
    assert!(!single[4]);
}

/// The edge cases of "Taming the many EdDSAs" (Chalkias, Garillot, Nikolaenko, CCS 2020; the
/// ed25519-speccheck repository's `cases.json`): small-order and non-canonical keys and R,
/// non-canonical S, mixed-order points. Single opening = eventseal's key check (a verifying
/// key must be a canonical point of the prime-order subgroup) and aws-lc-rs's verification;
/// the batch = ed25519-dalek's key parsing and `verify_batch` of the one signature.
fn speccheck_cases() -> Vec<(Vec<u8>, [u8; 32], [u8; 64])> {
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("vectors/ed25519_speccheck_cases.json")).unwrap();
    cases
        .iter()
        .map(|c| {
            let h = |k: &str| hex::decode(c[k].as_str().unwrap()).unwrap();
            (
                h("message"),
                h("pub_key").try_into().unwrap(),
                h("signature").try_into().unwrap(),
            )
        })
        .collect()
}

fn single_opening_accepts(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    use base64::Engine;
    let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(public);
    let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","source":"orders"}}"#);
    eventseal::VerifyingKey::from_jwk(&jwk).is_ok()
        && aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, public)
            .verify(msg, sig)
            .is_ok()
}

fn batch_accepts(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    let Ok(vk) = VerifyingKey::from_bytes(public) else {
        return false;
    };
    ed25519_dalek::verify_batch(&[msg], &[Signature::from_bytes(sig)], &[vk]).is_ok()
}

fn aws_lc_accepts(public: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, public)
        .verify(msg, sig)
        .is_ok()
}

#[test]
fn speccheck_edge_cases_single_opening_and_the_batch_disagree() {
    // Control: an ordinary key and signature pass both.
    let k = SigningKey::from_bytes(&[9; 32]);
    let sig = k.sign(b"control").to_bytes();
    assert!(single_opening_accepts(
        &k.verifying_key().to_bytes(),
        b"control",
        &sig
    ));
    assert!(batch_accepts(
        &k.verifying_key().to_bytes(),
        b"control",
        &sig
    ));

    let cases = speccheck_cases();
    assert_eq!(cases.len(), 15);
    let single: Vec<bool> = cases
        .iter()
        .map(|(m, k, s)| single_opening_accepts(k, m, s))
        .collect();
    let aws_lc: Vec<bool> = cases
        .iter()
        .map(|(m, k, s)| aws_lc_accepts(k, m, s))
        .collect();
    let batch: Vec<bool> = cases
        .iter()
        .map(|(m, k, s)| batch_accepts(k, m, s))
        .collect();
    println!("case single aws-lc batch");
    for i in 0..cases.len() {
        println!("{i:>4} {:>6} {:>6} {:>5}", single[i], aws_lc[i], batch[i]);
    }
    let accepted = |v: &[bool]| -> Vec<usize> { (0..v.len()).filter(|&i| v[i]).collect() };
    // eventseal's single opening accepts none: every speccheck key is small-order, mixed-order
    // or non-canonical, which a trust store refuses before any signature is checked.
    assert_eq!(accepted(&single), Vec::<usize>::new());
    // aws-lc-rs alone (cofactorless) accepts the valid signatures under small- and mixed-order
    // keys; the key check is what refuses them.
    assert_eq!(accepted(&aws_lc), [1, 3, 5, 6]);
    // The batch accepts case 14 (a non-canonical encoding of A, which aws-lc-rs and eventseal
    // refuse) and rejects 1, 3, 5, 6: it disagrees with both, in both directions.
    assert_eq!(accepted(&batch), [14]);
}

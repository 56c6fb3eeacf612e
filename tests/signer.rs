//! The `Signer` abstraction: a key that is not a `SigningKey` (here aws-lc-rs's own key
//! pairs, standing in for a KMS or HSM key) seals envelopes the library opens; a failing
//! signer fails the seal with `signer-failed` and produces nothing; verifying keys are made
//! from SPKI and raw public keys as KMS and PKCS#11 give them, with the same checks as JWKs;
//! Standard Webhooks v1a signs through any Ed25519 signer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use eventseal::webhook::{by_name, Request, StandardSigner};
use eventseal::{
    open, seal, Error, ErrorKind, MemoryReplayStore, RecipientSecretKey, Sealer, Signature,
    SignatureAlgorithm, Signer, SignerIdentity, SigningKey, SystemClock, TrustStore, VerifyingKey,
};

/// A P-256 key held by another library, as a KMS or HSM holds it: eventseal sees only
/// `verifying_key` and `sign`.
struct ForeignP256 {
    pair: EcdsaKeyPair,
    verifying: VerifyingKey,
    calls: AtomicUsize,
}

impl ForeignP256 {
    fn generate(source: &str) -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let spki = pair.public_key().as_der().unwrap();
        let verifying = VerifyingKey::from_spki_der(source, spki.as_ref()).unwrap();
        Self {
            pair,
            verifying,
            calls: AtomicUsize::new(0),
        }
    }
}

impl SignerIdentity for ForeignP256 {
    fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }
}

impl Signer for ForeignP256 {
    fn sign(&self, message: &[u8]) -> eventseal::Result<Signature> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let sig = self.pair.sign(&SystemRandom::new(), message).unwrap();
        Ok(sig.as_ref().try_into().unwrap())
    }
}

/// A signer whose backend refuses (a disabled KMS key, a removed token).
struct Refusing(VerifyingKey);

impl SignerIdentity for Refusing {
    fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }
}

impl Signer for Refusing {
    fn sign(&self, _: &[u8]) -> eventseal::Result<Signature> {
        Err(Error::signer("DisabledException: the key is disabled"))
    }
}

#[test]
fn a_foreign_key_seals_what_the_library_opens() {
    let signer = ForeignP256::generate("orders");
    assert_eq!(
        signer.verifying_key().algorithm(),
        SignatureAlgorithm::EcdsaP256Sha256
    );
    let billing = RecipientSecretKey::generate("billing").unwrap();
    // The trust file entry is made from the signer's verifying key, as for any key.
    let jwk = signer.verifying_key().to_jwk();
    let trust = TrustStore::new().with(VerifyingKey::from_jwk(&jwk).unwrap());

    let sealer = Sealer::new(signer).with_ttl(Duration::from_secs(60));
    let env = sealer
        .seal("order.created", b"{\"order\":1}", &[billing.public_key()])
        .unwrap();
    assert_eq!(sealer.key().calls.load(Ordering::SeqCst), 1);
    let keys = [billing];
    let opened = open(
        env.as_bytes(),
        &keys,
        &trust,
        &SystemClock,
        &MemoryReplayStore::default(),
    )
    .unwrap();
    assert_eq!(opened.payload(), b"{\"order\":1}");
    assert_eq!(
        opened.header().key_id(),
        sealer.key().verifying_key().key_id().as_str()
    );
}

#[test]
fn shared_and_boxed_signers_seal_too() {
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let key = SigningKey::generate("orders").unwrap();
    let trust = TrustStore::new().with(key.verifying_key().clone());
    let shared: Arc<dyn Signer> = Arc::new(key);
    let env = seal(
        &shared,
        "order.created",
        b"x",
        &[billing.public_key()],
        Duration::from_secs(60),
    )
    .unwrap();
    let boxed: Box<dyn Signer> = Box::new(ForeignP256::generate("orders"));
    let trust = trust.with(boxed.verifying_key().clone());
    let env2 = Sealer::new(boxed)
        .seal("order.created", b"y", &[billing.public_key()])
        .unwrap();
    let keys = [billing];
    let store = MemoryReplayStore::default();
    for (e, want) in [(env, b"x"), (env2, b"y")] {
        let opened = open(e.as_bytes(), &keys, &trust, &SystemClock, &store).unwrap();
        assert_eq!(opened.payload(), want);
    }
}

#[test]
fn a_refusing_signer_fails_the_seal_with_signer_failed() {
    let key = SigningKey::generate("orders").unwrap();
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let sealer = Sealer::new(Refusing(key.verifying_key().clone()));
    let err = sealer
        .seal("order.created", b"x", &[billing.public_key()])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignerFailed);
    assert_eq!(err.kind().as_str(), "signer-failed");
    assert!(
        err.to_string().contains("DisabledException"),
        "the backend's reason is kept: {err}"
    );
    // Input errors are still found before the signer is asked.
    let err = sealer
        .seal::<&eventseal::RecipientPublicKey>("order.created", b"x", &[])
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn verifying_keys_from_spki_match_the_jwk_path() {
    // P-256: aws-lc-rs's SPKI and its uncompressed point give the same key (and key id).
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let spki = pair.public_key().as_der().unwrap();
    let from_spki = VerifyingKey::from_spki_der("orders", spki.as_ref()).unwrap();
    let from_raw = VerifyingKey::from_public_bytes(
        "orders",
        SignatureAlgorithm::EcdsaP256Sha256,
        pair.public_key().as_ref(),
    )
    .unwrap();
    assert_eq!(from_spki, from_raw);
    assert_eq!(from_spki.public_bytes(), pair.public_key().as_ref());
    assert_eq!(
        VerifyingKey::from_jwk(&from_spki.to_jwk()).unwrap(),
        from_spki
    );
    // A signature by the foreign key verifies with the public verify, and a tampered one not.
    let sig = pair.sign(&SystemRandom::new(), b"message").unwrap();
    from_spki.verify(b"message", sig.as_ref()).unwrap();
    assert!(matches!(
        from_spki.verify(b"messagf", sig.as_ref()),
        Err(Error::BadSignature)
    ));

    // Ed25519 likewise.
    let ed = Ed25519KeyPair::generate().unwrap();
    let spki = ed.public_key().as_der().unwrap();
    let from_spki = VerifyingKey::from_spki_der("orders", spki.as_ref()).unwrap();
    assert_eq!(from_spki.algorithm(), SignatureAlgorithm::Ed25519);
    assert_eq!(from_spki.public_bytes(), ed.public_key().as_ref());
    from_spki
        .verify(b"message", ed.sign(b"message").as_ref())
        .unwrap();
}

#[test]
fn spki_and_raw_keys_are_held_to_the_jwk_rules() {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let spki = pair.public_key().as_der().unwrap().as_ref().to_vec();
    let kind = |r: eventseal::Result<VerifyingKey>| r.unwrap_err().kind();

    let mut trailing = spki.clone();
    trailing.push(0);
    assert_eq!(
        kind(VerifyingKey::from_spki_der("orders", &trailing)),
        ErrorKind::InvalidKey
    );
    assert_eq!(
        kind(VerifyingKey::from_spki_der(
            "orders",
            &spki[..spki.len() - 1]
        )),
        ErrorKind::InvalidKey
    );
    // P-384 (secp384r1) is not eventseal's.
    let p384 =
        EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
    let p384_spki = p384.public_key().as_der().unwrap();
    assert_eq!(
        kind(VerifyingKey::from_spki_der("orders", p384_spki.as_ref())),
        ErrorKind::InvalidKey
    );
    // A point off the curve.
    let mut off = pair.public_key().as_ref().to_vec();
    off[64] ^= 1;
    assert_eq!(
        kind(VerifyingKey::from_public_bytes(
            "orders",
            SignatureAlgorithm::EcdsaP256Sha256,
            &off
        )),
        ErrorKind::InvalidKey
    );
    // A compressed point.
    let mut compressed = vec![0x02];
    compressed.extend_from_slice(&pair.public_key().as_ref()[1..33]);
    assert_eq!(
        kind(VerifyingKey::from_public_bytes(
            "orders",
            SignatureAlgorithm::EcdsaP256Sha256,
            &compressed
        )),
        ErrorKind::InvalidKey
    );
    // Ed25519: the identity (a small-order point) and a wrong length.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        kind(VerifyingKey::from_public_bytes(
            "orders",
            SignatureAlgorithm::Ed25519,
            &identity
        )),
        ErrorKind::InvalidKey
    );
    assert_eq!(
        kind(VerifyingKey::from_public_bytes(
            "orders",
            SignatureAlgorithm::Ed25519,
            &[9; 31]
        )),
        ErrorKind::InvalidKey
    );
    // The source id is checked as everywhere.
    assert_eq!(
        kind(VerifyingKey::from_spki_der("not a source", &spki)),
        ErrorKind::Malformed
    );
}

#[test]
fn standard_webhooks_v1a_through_any_ed25519_signer() {
    let key = SigningKey::generate("webhooks").unwrap();
    let whpk = {
        use base64::Engine;
        format!(
            "whpk_{}",
            base64::engine::general_purpose::STANDARD.encode(key.verifying_key().public_bytes())
        )
    };
    let signer = StandardSigner::from_signer(key).unwrap();
    assert_eq!(signer.public_key().as_deref(), Some(whpk.as_str()));
    let body = br#"{"type":"invoice.paid"}"#;
    let now = 1_700_000_000;
    let headers = signer.headers("msg_1", now, body).unwrap();
    assert!(headers[2].1.starts_with("v1a,"));
    let verifier = by_name(
        "standard-webhooks",
        &[whpk.as_str()],
        Duration::from_secs(300),
    )
    .unwrap();
    let request = Request::new(headers.iter().map(|(n, v)| (*n, v.as_str())), body);
    verifier.verify(&request, now).unwrap();
    let tampered = Request::new(headers.iter().map(|(n, v)| (*n, v.as_str())), b"{}");
    assert_eq!(
        verifier.verify(&tampered, now).unwrap_err().kind(),
        ErrorKind::BadSignature
    );

    // v1a is Ed25519: a P-256 key is refused when the signer is made.
    let p256 = SigningKey::generate_with("webhooks", SignatureAlgorithm::EcdsaP256Sha256).unwrap();
    assert_eq!(
        StandardSigner::from_signer(p256).unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
    // A failing signer fails the signature, with signer-failed.
    let refusing = StandardSigner::from_signer(Refusing(
        SigningKey::generate("webhooks")
            .unwrap()
            .verifying_key()
            .clone(),
    ))
    .unwrap();
    assert_eq!(
        refusing.signature("msg_1", now, body).unwrap_err().kind(),
        ErrorKind::SignerFailed
    );
}

/// A blocking signer seals asynchronously through `SignsInline` (there is no blanket
/// `AsyncSigner` for every `Signer`: it would rule out forwarding through `Arc`).
#[cfg(feature = "async")]
#[tokio::test]
async fn any_signer_seals_asynchronously() {
    use eventseal::SignsInline;
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let sealer = Sealer::new(SignsInline(ForeignP256::generate("orders")));
    let trust = TrustStore::new().with(sealer.key().verifying_key().clone());
    let env = sealer
        .seal_async("order.created", b"async", &[billing.public_key()])
        .await
        .unwrap();
    let keys = [billing];
    let opened = open(
        env.as_bytes(),
        &keys,
        &trust,
        &SystemClock,
        &MemoryReplayStore::default(),
    )
    .unwrap();
    assert_eq!(opened.payload(), b"async");
    let refusing = Sealer::new(SignsInline(Refusing(sealer.key().verifying_key().clone())));
    let err = refusing
        .seal_async("order.created", b"x", &[keys[0].public_key()])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignerFailed);
}

/// An async-only signer (as `KmsSigner` is) behind an `Arc` seals asynchronously, and a type
/// that is both a `Signer` and an `AsyncSigner` has one `verifying_key`: both need the shared
/// supertrait `SignerIdentity` (with one `verifying_key` in each trait and a blanket
/// implementation, neither compiled).
#[cfg(feature = "async")]
mod async_signers {
    use std::sync::Arc;

    use eventseal::{AsyncSigner, SignFuture, SignsInline};

    use super::*;

    struct Remote(SigningKey);

    impl SignerIdentity for Remote {
        fn verifying_key(&self) -> &VerifyingKey {
            self.0.verifying_key()
        }
    }

    impl AsyncSigner for Remote {
        fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
            Box::pin(async move { Signer::sign(&self.0, message) })
        }
    }

    /// Both traits in scope and as bounds: `verifying_key` is not ambiguous.
    fn public_jwk<K: Signer + AsyncSigner>(key: &K) -> String {
        key.verifying_key().to_jwk()
    }

    #[tokio::test]
    async fn an_async_signer_in_an_arc_seals_and_one_method_names_the_key() {
        let remote = Arc::new(Remote(SigningKey::generate("orders").unwrap()));
        let sealer = Sealer::new(Arc::clone(&remote));
        let billing = RecipientSecretKey::generate("billing").unwrap();
        let envelope = sealer
            .seal_async("order.created", b"{}", &[billing.public_key()])
            .await
            .unwrap();
        let trust = TrustStore::new().with(remote.verifying_key().clone());
        let opened = open(
            envelope.as_bytes(),
            &[billing],
            &trust,
            &SystemClock,
            &MemoryReplayStore::default(),
        )
        .unwrap();
        assert_eq!(opened.payload(), b"{}");

        let key = SigningKey::generate("orders").unwrap();
        assert_eq!(public_jwk(&key), key.verifying_key().to_jwk());
        assert_eq!(public_jwk(&Arc::new(&key)), key.verifying_key().to_jwk());

        // A blocking signer of another kind, used where an async one is expected.
        let refusing = Sealer::new(SignsInline(Refusing(key.verifying_key().clone())));
        let err = refusing
            .seal_async(
                "order.created",
                b"{}",
                &[RecipientSecretKey::generate("billing")
                    .unwrap()
                    .public_key()],
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SignerFailed);
    }
}

//! Signing keys in KMS against moto's KMS (a real server on a loopback port, the real SDK
//! client), with `MessageType=DIGEST` and key states made faithful to KMS by the harness
//! (tests/moto/serve.py): envelopes sealed through KMS open with the library; the key is
//! given by id, ARN or alias; keys of the wrong type are refused when the signer is made;
//! a disabled key, a missing key, access denied (IAM enforced by moto), an unreachable server
//! and a backend returning signatures over the wrong message fail the seal with
//! `signer-failed` and produce nothing.

mod common;

use std::time::Duration;

use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use common::moto::{self, Moto};
use eventseal::{
    open, ErrorKind, MemoryReplayStore, RecipientSecretKey, Sealer, SignatureAlgorithm, Signer,
    SignerIdentity, SystemClock, TrustStore, VerifyingKey,
};
use eventseal_aws::{BlockingKmsSigner, KmsSigner, KmsSignerError};

async fn kms(moto: &Moto) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&moto.sdk_config().await)
}

async fn p256_key(client: &aws_sdk_kms::Client) -> (String, String) {
    moto::create_signing_key(client).await
}

/// Seals through `sealer` and opens with the library, trusting the signer's JWK.
async fn seal_and_open(sealer: &Sealer<KmsSigner>) {
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let jwk = SignerIdentity::verifying_key(sealer.key()).to_jwk();
    let trust = TrustStore::new().with(VerifyingKey::from_jwk(&jwk).unwrap());
    // Far larger than KMS's 4 KiB raw-message limit: only the digest goes to KMS.
    let payload = vec![b'x'; 64 * 1024];
    let env = sealer
        .seal_async("order.created", &payload, &[billing.public_key()])
        .await
        .unwrap();
    let opened = open_once(&env, billing, &trust);
    assert_eq!(opened.payload(), payload.as_slice());
    assert_eq!(opened.header().source(), "orders");
}

/// Opens `env` once as billing, trusting `trust`.
fn open_once(
    env: &eventseal::SealedEnvelope,
    billing: RecipientSecretKey,
    trust: &TrustStore,
) -> eventseal::Opened {
    open(
        env.as_bytes(),
        &[billing],
        trust,
        &SystemClock,
        &MemoryReplayStore::default(),
    )
    .unwrap()
}

#[tokio::test]
async fn envelopes_sealed_through_kms_open_with_the_library() {
    let moto = Moto::start();
    let client = kms(&moto).await;
    let (key_id, arn) = p256_key(&client).await;
    client
        .create_alias()
        .alias_name("alias/orders-signing")
        .target_key_id(&key_id)
        .send()
        .await
        .unwrap();

    let mut kids = Vec::new();
    for given in [key_id.as_str(), arn.as_str(), "alias/orders-signing"] {
        let signer = KmsSigner::new(client.clone(), given, "orders")
            .await
            .unwrap();
        // KMS names the key by its ARN; moto by its id. Never the alias.
        assert!(
            signer.key_arn() == arn || signer.key_arn() == key_id,
            "{given} resolves to the key, not {}",
            signer.key_arn()
        );
        assert_eq!(
            signer.verifying_key().algorithm(),
            SignatureAlgorithm::EcdsaP256Sha256
        );
        kids.push(signer.verifying_key().key_id().clone());
        seal_and_open(&Sealer::new(signer).with_ttl(Duration::from_secs(60))).await;
    }
    kids.dedup();
    assert_eq!(kids.len(), 1, "one key, one key id, however it is named");
}

/// A signer made through an alias keeps signing with the key the alias named then: repointing
/// the alias does not silently switch it to a key its verifying key does not match.
#[tokio::test]
async fn repointing_the_alias_does_not_change_a_running_signer() {
    let moto = Moto::start();
    let client = kms(&moto).await;
    let (first, _) = p256_key(&client).await;
    let (second, _) = p256_key(&client).await;
    client
        .create_alias()
        .alias_name("alias/orders-signing")
        .target_key_id(&first)
        .send()
        .await
        .unwrap();
    let sealer = Sealer::new(
        KmsSigner::new(client.clone(), "alias/orders-signing", "orders")
            .await
            .unwrap(),
    );
    client
        .update_alias()
        .alias_name("alias/orders-signing")
        .target_key_id(&second)
        .send()
        .await
        .unwrap();
    // Still the first key: the envelope opens with the verifying key read at the start.
    seal_and_open(&sealer).await;
    let now = KmsSigner::new(client, "alias/orders-signing", "orders")
        .await
        .unwrap();
    assert_ne!(
        now.verifying_key(),
        SignerIdentity::verifying_key(sealer.key()),
        "a new signer follows the alias"
    );
}

#[test]
fn the_blocking_signer_seals_with_a_sync_sealer() {
    let moto = Moto::start();
    let setup = tokio::runtime::Runtime::new().unwrap();
    let (client, arn) = setup.block_on(async {
        let client = kms(&moto).await;
        let (_, arn) = p256_key(&client).await;
        (client, arn)
    });
    drop(setup);
    let signer = BlockingKmsSigner::new(client, &arn, "orders").unwrap();
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let trust = TrustStore::new().with(SignerIdentity::verifying_key(&signer).clone());
    let env = Sealer::new(signer)
        .seal("order.created", b"sync", &[billing.public_key()])
        .unwrap();
    let opened = open_once(&env, billing, &trust);
    assert_eq!(opened.payload(), b"sync");
}

/// Inside an async runtime the blocking signer refuses to sign (it would block the runtime's
/// thread) and, dropped there, shuts its own runtime down without panicking.
#[test]
fn the_blocking_signer_inside_a_runtime_refuses_and_drops_cleanly() {
    let moto = Moto::start();
    let setup = tokio::runtime::Runtime::new().unwrap();
    let (client, key_id) = setup.block_on(async {
        let client = kms(&moto).await;
        let (key_id, _) = p256_key(&client).await;
        (client, key_id)
    });
    let signer = BlockingKmsSigner::new(client, &key_id, "orders").unwrap();
    setup.block_on(async move {
        let err = Signer::sign(&signer, b"message").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SignerFailed);
        assert!(err.to_string().contains("inside an async runtime"), "{err}");
        drop(signer);
    });
}

#[tokio::test]
async fn the_blocking_signer_refuses_to_start_inside_a_runtime() {
    let err = BlockingKmsSigner::from_env("alias/x", "orders").unwrap_err();
    assert!(matches!(err, KmsSignerError::Runtime(_)), "{err}");
}

#[tokio::test]
async fn keys_of_the_wrong_kind_are_refused_when_the_signer_is_made() {
    let moto = Moto::start();
    let client = kms(&moto).await;
    for (spec, usage, want) in [
        (
            KeySpec::EccNistP384,
            KeyUsageType::SignVerify,
            "ECC_NIST_P384",
        ),
        (KeySpec::Rsa2048, KeyUsageType::SignVerify, "RSA_2048"),
        (
            KeySpec::SymmetricDefault,
            KeyUsageType::EncryptDecrypt,
            "SYMMETRIC_DEFAULT",
        ),
    ] {
        let (key_id, _) = moto::create_kms_key(&client, spec, usage).await;
        let err = KmsSigner::new(client.clone(), &key_id, "orders")
            .await
            .unwrap_err();
        match &err {
            // moto refuses GetPublicKey of a symmetric key, as KMS does.
            KmsSignerError::Unsupported { detail, .. } => assert!(detail.contains(want), "{err}"),
            KmsSignerError::GetPublicKey { .. } if want == "SYMMETRIC_DEFAULT" => {}
            other => panic!("{want}: {other}"),
        }
    }
    let err = KmsSigner::new(client.clone(), "alias/no-such-key", "orders")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, KmsSignerError::GetPublicKey { detail, .. } if detail.contains("NotFoundException")),
        "{err}"
    );
    let (key_id, _) = p256_key(&client).await;
    let err = KmsSigner::new(client, &key_id, "not a source")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, KmsSignerError::Eventseal { source, .. } if source.kind() == ErrorKind::Malformed),
        "{err}"
    );
}

#[tokio::test]
async fn a_disabled_key_fails_the_seal_and_produces_nothing() {
    let moto = Moto::start();
    let client = kms(&moto).await;
    let (key_id, _) = p256_key(&client).await;
    let sealer = Sealer::new(
        KmsSigner::new(client.clone(), &key_id, "orders")
            .await
            .unwrap(),
    );
    let billing = RecipientSecretKey::generate("billing").unwrap();
    client.disable_key().key_id(&key_id).send().await.unwrap();
    let err = sealer
        .seal_async("order.created", b"x", &[billing.public_key()])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignerFailed);
    // KMS's own words, once: `code: message`, not the SDK's nested error context.
    let text = err.to_string();
    assert!(
        text.contains(": DisabledException: ") && text.ends_with(" is disabled."),
        "{err}"
    );
    assert!(!text.contains("service error"), "{err}");
    // Enabled again, it signs again.
    client.enable_key().key_id(&key_id).send().await.unwrap();
    seal_and_open(&sealer).await;
    // Pending deletion.
    client
        .schedule_key_deletion()
        .key_id(&key_id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let err = sealer
        .seal_async("order.created", b"x", &[billing.public_key()])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignerFailed);
    assert!(
        err.to_string().contains("KMSInvalidStateException"),
        "{err}"
    );
}

/// IAM enforced by moto (after the four setup requests): a producer allowed
/// `kms:GetPublicKey` but not `kms:Sign` makes its signer, and every seal is refused.
#[tokio::test]
async fn access_denied_fails_the_seal() {
    let moto = Moto::start_with_env(&[], &[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]);
    let (key_id, _) = p256_key(&kms(&moto).await).await;
    let (id, secret) = moto.iam_user_allowed("orders-producer", &["kms:GetPublicKey"]);
    let client = aws_sdk_kms::Client::new(&moto.sdk_config_as(&id, &secret).await);
    let sealer = Sealer::new(KmsSigner::new(client, &key_id, "orders").await.unwrap());
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let err = sealer
        .seal_async("order.created", b"x", &[billing.public_key()])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignerFailed);
    assert!(err.to_string().contains("AccessDenied"), "{err}");
}

#[tokio::test]
async fn an_unreachable_kms_fails_the_seal() {
    let moto = Moto::start();
    let client = kms(&moto).await;
    let (key_id, _) = p256_key(&client).await;
    let sealer = Sealer::new(KmsSigner::new(client, &key_id, "orders").await.unwrap());
    drop(moto);
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let err = sealer
        .seal_async("order.created", b"x", &[billing.public_key()])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignerFailed);
    assert!(err.to_string().contains("KMS Sign with "), "{err}");
    assert!(err.to_string().contains("dispatch failure"), "{err}");
}

/// Stock moto signs SHA-256 of the digest it is given: signatures over the wrong message,
/// which the signer must catch before an envelope is made with one.
#[tokio::test]
async fn a_signature_that_does_not_verify_is_never_used() {
    let moto = Moto::start_with(&["--stock-kms-digest"]);
    let client = kms(&moto).await;
    let (key_id, _) = p256_key(&client).await;
    let sealer = Sealer::new(KmsSigner::new(client, &key_id, "orders").await.unwrap());
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let err = sealer
        .seal_async("order.created", b"x", &[billing.public_key()])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::SignerFailed);
    assert!(
        err.to_string()
            .contains("does not verify with the key's public key"),
        "{err}"
    );
}

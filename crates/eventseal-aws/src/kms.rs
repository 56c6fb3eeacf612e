//! Signing keys that never leave AWS KMS: [`KmsSigner`] (an [`AsyncSigner`]) and
//! [`BlockingKmsSigner`] (a [`Signer`], for sync code and the CLI).
//!
//! The key is an asymmetric `ECC_NIST_P256` key with usage `SIGN_VERIFY`. Each seal is one
//! KMS `Sign` call with `MessageType=DIGEST` and `ECDSA_SHA_256` over the SHA-256 of
//! eventseal's signed message, computed here: envelopes are far larger than KMS's 4 KiB limit
//! on raw messages, and only the 32-byte digest leaves the process. KMS's DER signature is
//! converted to the envelope's fixed 64-byte `r || s` and checked against the key's public
//! key before it is used. The verifying key comes from `GetPublicKey` (its DER
//! `SubjectPublicKeyInfo`), read once when the signer is made.
//!
//! KMS cannot sign Ed25519 the way eventseal and Standard Webhooks (v1a) need: its Ed25519
//! keys sign a pre-hashed variant or raw messages of at most 4 KiB. Use P-256 keys in KMS,
//! or an Ed25519 key on an HSM (`eventseal-pkcs11`).

use std::fmt;

use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
use aws_sdk_kms::Client;
use der::asn1::UintRef;
use der::{Decode, Reader, SliceReader};
use eventseal::{
    AsyncSigner, Error, Result, SignFuture, Signature, SignatureAlgorithm, Signer, SignerIdentity,
    VerifyingKey,
};
use sha2::{Digest, Sha256};

use crate::blocking::OwnedRuntime;

/// Why a KMS signer could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmsSignerError {
    /// `GetPublicKey` failed (no such key or alias, disabled, access denied, unreachable).
    #[error("KMS GetPublicKey for {key}: {detail}")]
    GetPublicKey {
        /// The key id, ARN or alias given.
        key: String,
        /// The SDK's error, with its context.
        detail: String,
    },
    /// The key is not an `ECC_NIST_P256` `SIGN_VERIFY` key offering `ECDSA_SHA_256`.
    #[error("KMS key {key}: {detail}")]
    Unsupported {
        /// The key id, ARN or alias given.
        key: String,
        /// What it is instead.
        detail: String,
    },
    /// The public key or the source id is not acceptable to eventseal.
    #[error("KMS key {key}: {source}")]
    Eventseal {
        /// The key id, ARN or alias given.
        key: String,
        /// The library's error.
        #[source]
        source: Error,
    },
    /// The blocking signer's runtime could not start, or it was used inside a runtime.
    #[error("{0}")]
    Runtime(String),
}

/// A P-256 signing key in AWS KMS, signing for one source. See the [module
/// documentation](self).
///
/// The key given by alias is resolved once, when the signer is made: every `Sign` names the
/// key's ARN, so repointing the alias does not change what a running signer signs with (its
/// verifying key would no longer match). Rotate by making a new signer (docs/KEYS.md).
#[derive(Clone)]
pub struct KmsSigner {
    client: Client,
    key_arn: String,
    verifying: VerifyingKey,
}

impl fmt::Debug for KmsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KmsSigner")
            .field("key_arn", &self.key_arn)
            .field("verifying_key", &self.verifying)
            .finish_non_exhaustive()
    }
}

impl KmsSigner {
    /// The signer for `key` (a key id, key ARN, alias name `alias/…` or alias ARN), signing
    /// for `source`: reads the key's public key and checks its type.
    ///
    /// # Errors
    /// [`KmsSignerError`].
    pub async fn new(
        client: Client,
        key: &str,
        source: &str,
    ) -> std::result::Result<Self, KmsSignerError> {
        let out = client
            .get_public_key()
            .key_id(key)
            .send()
            .await
            .map_err(|e| KmsSignerError::GetPublicKey {
                key: key.to_owned(),
                detail: describe(&e),
            })?;
        let unsupported = |detail: String| KmsSignerError::Unsupported {
            key: key.to_owned(),
            detail,
        };
        // `KeySpec`, or the deprecated `CustomerMasterKeySpec` that KMS still returns beside
        // it (and that some KMS-compatible servers return alone).
        #[allow(deprecated)]
        let spec = out
            .key_spec()
            .map(KeySpec::as_str)
            .or_else(|| out.customer_master_key_spec().map(|s| s.as_str()));
        if spec != Some(KeySpec::EccNistP256.as_str()) {
            return Err(unsupported(format!(
                "its key spec is {}; eventseal signs with ECC_NIST_P256 keys in KMS",
                spec.unwrap_or("unknown")
            )));
        }
        if out.key_usage() != Some(&KeyUsageType::SignVerify) {
            return Err(unsupported(format!(
                "its key usage is {}; it must be SIGN_VERIFY",
                out.key_usage().map_or("unknown", KeyUsageType::as_str)
            )));
        }
        if !out
            .signing_algorithms()
            .contains(&SigningAlgorithmSpec::EcdsaSha256)
        {
            return Err(unsupported("it does not offer ECDSA_SHA_256".into()));
        }
        let spki = out
            .public_key()
            .ok_or_else(|| unsupported("GetPublicKey returned no public key".into()))?;
        let verifying = VerifyingKey::from_spki_der(source, spki.as_ref()).map_err(|e| {
            KmsSignerError::Eventseal {
                key: key.to_owned(),
                source: e,
            }
        })?;
        if verifying.algorithm() != SignatureAlgorithm::EcdsaP256Sha256 {
            return Err(unsupported("its public key is not P-256".into()));
        }
        let key_arn = out
            .key_id()
            .map_or_else(|| key.to_owned(), ToOwned::to_owned);
        Ok(Self {
            client,
            key_arn,
            verifying,
        })
    }

    /// [`KmsSigner::new`] with a client from the SDK's configuration chain (environment,
    /// profile, `AWS_ENDPOINT_URL`, role credentials) and [`default_timeouts`]: a seal waits
    /// at most 5 s for KMS.
    ///
    /// [`default_timeouts`]: crate::dynamodb::default_timeouts
    ///
    /// # Errors
    /// [`KmsSignerError`].
    pub async fn from_env(key: &str, source: &str) -> std::result::Result<Self, KmsSignerError> {
        let config = aws_config::from_env()
            .timeout_config(crate::dynamodb::default_timeouts())
            .load()
            .await;
        Self::new(Client::new(&config), key, source).await
    }

    /// The key as `GetPublicKey` named it, which is what every `Sign` names: its ARN on KMS
    /// (a KMS-compatible server may give the bare key id), never an alias.
    #[must_use]
    pub fn key_arn(&self) -> &str {
        &self.key_arn
    }

    /// The verifying key (source, algorithm, key id), for trust files.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }

    async fn sign_digest(&self, message: &[u8]) -> Result<Signature> {
        let digest = Sha256::digest(message);
        let out = self
            .client
            .sign()
            .key_id(&self.key_arn)
            .message(Blob::new(digest.to_vec()))
            .message_type(MessageType::Digest)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await
            .map_err(|e| {
                Error::signer(format!("KMS Sign with {}: {}", self.key_arn, describe(&e)))
            })?;
        let der = out.signature().ok_or_else(|| {
            Error::signer(format!("KMS Sign with {}: no signature", self.key_arn))
        })?;
        let signature = ecdsa_der_to_fixed(der.as_ref()).ok_or_else(|| {
            Error::signer(format!(
                "KMS Sign with {}: the signature is not a DER ECDSA P-256 signature",
                self.key_arn
            ))
        })?;
        self.verifying.verify(message, &signature).map_err(|_| {
            Error::signer(format!(
                "KMS Sign with {}: the signature does not verify with the key's public key",
                self.key_arn
            ))
        })?;
        Ok(signature)
    }
}

impl SignerIdentity for KmsSigner {
    fn verifying_key(&self) -> &VerifyingKey {
        &self.verifying
    }
}

impl AsyncSigner for KmsSigner {
    fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(self.sign_digest(message))
    }
}

/// A [`KmsSigner`] for sync code (a [`Sealer`](eventseal::Sealer)'s `seal`, the CLI): each
/// signature is a `Sign` call on the signer's own runtime (one worker thread). Calling it
/// from inside an async runtime (including its blocking pool) is refused with
/// [`Error::Signer`]: use [`KmsSigner`] and `seal_async` there. Dropped inside one, it shuts
/// its runtime down in the background.
pub struct BlockingKmsSigner {
    signer: KmsSigner,
    runtime: OwnedRuntime,
}

impl fmt::Debug for BlockingKmsSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingKmsSigner")
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

fn blocking_runtime() -> std::result::Result<OwnedRuntime, KmsSignerError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(KmsSignerError::Runtime(
            "BlockingKmsSigner made inside an async runtime: use KmsSigner there".into(),
        ));
    }
    OwnedRuntime::start("eventseal-kms")
        .map_err(|e| KmsSignerError::Runtime(format!("cannot start a runtime: {e}")))
}

fn runtime_gone() -> KmsSignerError {
    KmsSignerError::Runtime("the blocking signer's runtime has shut down".into())
}

impl BlockingKmsSigner {
    /// [`KmsSigner::new`], on the blocking signer's own runtime.
    ///
    /// # Errors
    /// [`KmsSignerError`]; [`KmsSignerError::Runtime`] inside an async runtime.
    pub fn new(
        client: Client,
        key: &str,
        source: &str,
    ) -> std::result::Result<Self, KmsSignerError> {
        let runtime = blocking_runtime()?;
        let signer = runtime
            .block_on(KmsSigner::new(client, key, source))
            .ok_or_else(runtime_gone)??;
        Ok(Self { signer, runtime })
    }

    /// [`KmsSigner::from_env`], on the blocking signer's own runtime.
    ///
    /// # Errors
    /// [`KmsSignerError`]; [`KmsSignerError::Runtime`] inside an async runtime.
    pub fn from_env(key: &str, source: &str) -> std::result::Result<Self, KmsSignerError> {
        let runtime = blocking_runtime()?;
        let signer = runtime
            .block_on(KmsSigner::from_env(key, source))
            .ok_or_else(runtime_gone)??;
        Ok(Self { signer, runtime })
    }

    /// The async signer inside.
    #[must_use]
    pub fn inner(&self) -> &KmsSigner {
        &self.signer
    }

    /// The verifying key (source, algorithm, key id), for trust files.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.signer.verifying
    }
}

impl SignerIdentity for BlockingKmsSigner {
    fn verifying_key(&self) -> &VerifyingKey {
        &self.signer.verifying
    }
}

impl Signer for BlockingKmsSigner {
    fn sign(&self, message: &[u8]) -> Result<Signature> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::signer(
                "BlockingKmsSigner called from inside an async runtime: use KmsSigner and seal_async there",
            ));
        }
        self.runtime
            .block_on(self.signer.sign_digest(message))
            .ok_or_else(|| Error::signer("the blocking signer's runtime has shut down"))?
    }
}

/// An ECDSA P-256 signature in DER (`SEQUENCE { INTEGER r, INTEGER s }`, RFC 3279), as KMS
/// returns it, in the envelope's fixed-width `r || s`. Strict DER (minimal integers, no
/// trailing bytes) through the `der` crate; `None` for anything else, or an integer wider
/// than 32 bytes.
#[must_use]
pub fn ecdsa_der_to_fixed(der: &[u8]) -> Option<Signature> {
    let mut reader = SliceReader::new(der).ok()?;
    let (r, s) = reader
        .sequence(|seq| Ok((UintRef::decode(seq)?, UintRef::decode(seq)?)))
        .ok()?;
    reader.finish(()).ok()?;
    let mut out = [0u8; 64];
    for (half, int) in out.chunks_exact_mut(32).zip([r, s]) {
        let bytes = int.as_bytes();
        let start = 32usize.checked_sub(bytes.len())?;
        half.get_mut(start..)?.copy_from_slice(bytes);
    }
    Some(out)
}

/// An SDK error as one line: KMS's own `code: message` when KMS answered (what an operator
/// searches for), the whole chain of causes when it did not (a timeout, a refused
/// connection, a credentials problem).
fn describe(e: &(impl ProvideErrorMetadata + std::error::Error)) -> String {
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => DisplayErrorContext(e).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER of one unsigned integer: minimal, with a 0x00 when the top bit is set.
    fn der_int(v: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        if v.is_empty() || v[0] & 0x80 != 0 {
            v.insert(0, 0);
        }
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    }

    fn der_sig(r: &[u8], s: &[u8]) -> Vec<u8> {
        let body = [der_int(r), der_int(s)].concat();
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    }

    #[test]
    fn converts_padded_and_short_integers() {
        let mut r = [0u8; 32];
        r[0] = 0x80; // needs the 0x00 in DER
        r[31] = 1;
        let mut s = [0u8; 32];
        s[2] = 0x11; // two leading zero bytes: shorter in DER
        s[31] = 2;
        let fixed = ecdsa_der_to_fixed(&der_sig(&r, &s)).unwrap();
        assert_eq!(&fixed[..32], &r);
        assert_eq!(&fixed[32..], &s);
    }

    #[test]
    fn refuses_non_der() {
        let r = [0x42u8; 32];
        let good = der_sig(&r, &r);
        assert!(ecdsa_der_to_fixed(&good).is_some());
        // Trailing bytes.
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(ecdsa_der_to_fixed(&trailing), None);
        // A non-minimal integer (a needless leading zero).
        let mut body = vec![0x02, 33, 0x00];
        body.extend_from_slice(&r);
        body.extend(der_int(&r));
        let mut non_minimal = vec![0x30, body.len() as u8];
        non_minimal.extend(body);
        assert_eq!(ecdsa_der_to_fixed(&non_minimal), None);
        // An integer wider than 32 bytes.
        assert_eq!(ecdsa_der_to_fixed(&der_sig(&[0x42u8; 33], &r)), None);
        // A negative integer.
        let mut body = vec![0x02, 1, 0x80];
        body.extend(der_int(&r));
        let mut negative = vec![0x30, body.len() as u8];
        negative.extend(body);
        assert_eq!(ecdsa_der_to_fixed(&negative), None);
        // A third element in the SEQUENCE.
        let body = [der_int(&r), der_int(&r), der_int(&r)].concat();
        let mut three = vec![0x30, body.len() as u8];
        three.extend(body);
        assert_eq!(ecdsa_der_to_fixed(&three), None);
        // Truncated, empty.
        assert_eq!(ecdsa_der_to_fixed(&good[..good.len() - 1]), None);
        assert_eq!(ecdsa_der_to_fixed(&[]), None);
    }

    proptest::proptest! {
        /// Every (r, s) survives DER and back, whatever its leading zeros.
        #[test]
        fn der_round_trips(r in proptest::array::uniform32(proptest::num::u8::ANY),
                           s in proptest::array::uniform32(proptest::num::u8::ANY),
                           zeros_r in 0usize..32, zeros_s in 0usize..32) {
            let mut r = r;
            let mut s = s;
            r[..zeros_r].fill(0);
            s[..zeros_s].fill(0);
            let fixed = ecdsa_der_to_fixed(&der_sig(&r, &s)).unwrap();
            proptest::prop_assert_eq!(&fixed[..32], &r[..]);
            proptest::prop_assert_eq!(&fixed[32..], &s[..]);
        }

        /// Arbitrary bytes are converted or refused, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
            let _ = ecdsa_der_to_fixed(&bytes);
        }
    }
}

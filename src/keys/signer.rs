//! Where a source's signing key lives: the [`Signer`] trait (and its async form,
//! `AsyncSigner`, feature `async`), implemented by the in-process [`SigningKey`] and by keys that never
//! leave a KMS or an HSM (the `eventseal-aws` and `eventseal-pkcs11` packages).

use std::sync::Arc;

use super::{SigningKey, VerifyingKey};
use crate::crypto::SIGNATURE_LEN;
use crate::error::Result;

/// A signature as eventseal carries it: Ed25519's 64 bytes, or ECDSA P-256's fixed-width
/// `r || s` (32 bytes each, big-endian).
pub type Signature = [u8; SIGNATURE_LEN];

/// The public half of a source's signing key, wherever its secret half lives: what [`Signer`]
/// and `AsyncSigner` (feature `async`) share, so that a type implementing both has one
/// `verifying_key` (no ambiguity with both traits imported), and wrappers (`Arc`, `Box`,
/// references) forward it once for both.
///
/// The verifying key is what consumers trust (its JWK, with the RFC 7638 thumbprint as key
/// id, from [`VerifyingKey::to_jwk`]), so trust files are made the same way for every kind of
/// key.
pub trait SignerIdentity: Send + Sync {
    /// The public half: source, algorithm and key id.
    fn verifying_key(&self) -> &VerifyingKey;
}

/// A source's signing key, wherever it lives: in process ([`SigningKey`]), in AWS KMS, or
/// on a PKCS#11 token.
///
/// The algorithm belongs to the key ([`VerifyingKey::algorithm`]), never to a message:
///
/// - **Ed25519**: `sign` returns the RFC 8032 signature of `message`.
/// - **ECDSA P-256** (`ES256`): `sign` returns the ECDSA signature of SHA-256(`message`),
///   as fixed-width `r || s`. A signer whose backend signs digests (KMS `MessageType=DIGEST`,
///   PKCS#11 `CKM_ECDSA`) hashes `message` itself and sends only the 32-byte digest.
///
/// The public half comes from the supertrait [`SignerIdentity`]. A signer backed by a remote
/// or hardware key should check each signature against it before returning it
/// ([`VerifyingKey::verify`]): a backend that returns a wrong signature then fails the seal
/// rather than producing an envelope no consumer accepts.
///
/// A [`Sealer`](crate::Sealer) passes only eventseal's domain-separated message (`PAE` with
/// the `eventseal/v1/...` label, docs/FORMAT.md) to `sign`. The Standard Webhooks signer
/// ([`StandardSigner::from_signer`](crate::webhook::StandardSigner::from_signer)) passes
/// `id.timestamp.body`, which has no such label: give each key one purpose, and never sign
/// webhooks with a source's envelope key.
///
/// A signer of your own (here one that logs each use of a key held elsewhere) seals like any
/// other; docs/KEYS.md covers the KMS and PKCS#11 signers:
///
/// ```
/// use eventseal::{open, MemoryReplayStore, RecipientSecretKey, Sealer, Signature, Signer,
///                 SignerIdentity, SigningKey, SystemClock, TrustStore, VerifyingKey};
///
/// struct Logged(SigningKey);
///
/// impl SignerIdentity for Logged {
///     fn verifying_key(&self) -> &VerifyingKey {
///         self.0.verifying_key()
///     }
/// }
///
/// impl Signer for Logged {
///     fn sign(&self, message: &[u8]) -> eventseal::Result<Signature> {
///         println!("signing {} bytes with {}", message.len(), self.0.key_id());
///         Signer::sign(&self.0, message)
///     }
/// }
///
/// # fn main() -> Result<(), eventseal::Error> {
/// let signer = Logged(SigningKey::generate("orders")?);
/// // Consumers trust the verifying key, whatever holds the secret half.
/// let trust = TrustStore::new().with(signer.verifying_key().clone());
/// let billing = RecipientSecretKey::generate("billing")?;
/// let envelope = Sealer::new(signer).seal("order.created", b"{}", &[billing.public_key()])?;
/// let opened = open(envelope.as_bytes(), &[billing], &trust, &SystemClock,
///                   &MemoryReplayStore::default())?;
/// assert_eq!(opened.payload(), b"{}");
/// # Ok(()) }
/// ```
pub trait Signer: SignerIdentity {
    /// Signs `message` with the key's own algorithm.
    ///
    /// # Errors
    /// [`Error::Signer`](crate::Error::Signer) when the backend fails or refuses (key
    /// disabled, access denied, token removed, wrong PIN, unreachable);
    /// [`Error::Rng`](crate::Error::Rng) for an in-process ECDSA key.
    fn sign(&self, message: &[u8]) -> Result<Signature>;
}

impl SignerIdentity for SigningKey {
    fn verifying_key(&self) -> &VerifyingKey {
        SigningKey::verifying_key(self)
    }
}

impl Signer for SigningKey {
    fn sign(&self, message: &[u8]) -> Result<Signature> {
        self.sign_message(message)
    }
}

/// Forwards the identity, signing and async signing to the signer behind a reference or smart
/// pointer (so `Sealer<Arc<KmsSigner>>` seals asynchronously, and `Sealer<&SigningKey>` at all).
macro_rules! forward_signer {
    ($($ty:ty),*) => {$(
        impl<S: SignerIdentity + ?Sized> SignerIdentity for $ty {
            fn verifying_key(&self) -> &VerifyingKey {
                SignerIdentity::verifying_key(&**self)
            }
        }

        impl<S: Signer + ?Sized> Signer for $ty {
            fn sign(&self, message: &[u8]) -> Result<Signature> {
                Signer::sign(&**self, message)
            }
        }

        #[cfg(feature = "async")]
        impl<S: AsyncSigner + ?Sized> AsyncSigner for $ty {
            fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
                AsyncSigner::sign_async(&**self, message)
            }
        }
    )*};
}

forward_signer!(&S, Box<S>, Arc<S>);

/// The future an [`AsyncSigner`] returns.
#[cfg(feature = "async")]
pub type SignFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Signature>> + Send + 'a>>;

/// A [`Signer`] whose signing is a network round trip (AWS KMS): the same contract, with
/// `sign_async` returning a future, and the same public half ([`SignerIdentity`]).
///
/// [`SigningKey`] is both. A blocking [`Signer`] of another kind becomes an `AsyncSigner`
/// through [`SignsInline`], which signs when the future is first polled, on the executor's
/// thread: for a slow one (a PKCS#11 token) in a busy async service, seal on the blocking pool
/// instead (`tokio::task::spawn_blocking` and `Sealer::seal`). There is no blanket
/// implementation for every `Signer`: it would forbid forwarding through `Arc` and `Box`
/// (`Sealer<Arc<KmsSigner>>`).
///
/// A future dropped before it completes leaves nothing behind: the seal that awaited it
/// produces no envelope.
#[cfg(feature = "async")]
pub trait AsyncSigner: SignerIdentity {
    /// [`Signer::sign`], asynchronously.
    fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a>;
}

#[cfg(feature = "async")]
impl AsyncSigner for SigningKey {
    fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(async move { self.sign_message(message) })
    }
}

/// A blocking [`Signer`] used where an [`AsyncSigner`] is expected: it signs inline, when the
/// future is first polled.
///
/// ```
/// # #[cfg(feature = "async")] {
/// use eventseal::{AsyncSigner, Sealer, SigningKey, SignsInline};
/// # fn assert_async<K: AsyncSigner>(_: &Sealer<K>) {}
/// let sealer = Sealer::new(SignsInline(SigningKey::generate("orders")?));
/// assert_async(&sealer); // sealer.seal_async(…).await in async code
/// # }
/// # Ok::<(), eventseal::Error>(())
/// ```
#[cfg(feature = "async")]
#[derive(Debug)]
pub struct SignsInline<S>(pub S);

#[cfg(feature = "async")]
impl<S: SignerIdentity> SignerIdentity for SignsInline<S> {
    fn verifying_key(&self) -> &VerifyingKey {
        self.0.verifying_key()
    }
}

#[cfg(feature = "async")]
impl<S: Signer> Signer for SignsInline<S> {
    fn sign(&self, message: &[u8]) -> Result<Signature> {
        self.0.sign(message)
    }
}

#[cfg(feature = "async")]
impl<S: Signer> AsyncSigner for SignsInline<S> {
    fn sign_async<'a>(&'a self, message: &'a [u8]) -> SignFuture<'a> {
        Box::pin(async move { self.0.sign(message) })
    }
}

//! Key types: signing/verifying keys for sources (Ed25519, or ECDSA P-256 for HSM/KMS users),
//! recipient keys for consumers (X25519 for HPKE, or pre-shared 256-bit keys), their key ids,
//! and JWK (RFC 7517; OKP keys per RFC 8037, EC and oct keys per RFC 7518) import and export.
//!
//! - A key id ([`KeyId`]) is the RFC 7638 JWK thumbprint of the public key (SHA-256,
//!   base64url): derived, never chosen, so two keys never share an id by accident. A JWK whose
//!   `kid` is not its thumbprint is rejected.
//! - Each key names the party it belongs to: signing and verifying keys carry a source id
//!   (JWK member `"source"`), recipient keys a consumer id (JWK member `"consumer"`).
//! - Secret keys zeroize on drop; their `Debug` prints the identity and key id, never key
//!   bytes; exporting a secret JWK is explicit ([`SigningKey::to_secret_jwk`]) and returns a
//!   zeroizing string.
//! - X25519 public keys of small order and P-256 points off the curve are rejected on import;
//!   an all-zero pre-shared key is rejected.
//! - The algorithm belongs to the key: a [`VerifyingKey`] verifies with its own
//!   [`SignatureAlgorithm`], and a consumer's [`RecipientKey`] decides how its entry is
//!   unwrapped; nothing in a message chooses either.

use std::fmt;

use zeroize::Zeroizing;

use crate::crypto::{self, KEY_LEN};
use crate::encoding::b64_encode;
use crate::error::Result;

mod jwk;
mod recipient;
mod signer;
mod signing;
mod symmetric;
#[cfg(test)]
mod tests;

pub use recipient::{RecipientPublicKey, RecipientSecretKey};
#[cfg(feature = "async")]
pub use signer::{AsyncSigner, SignFuture, SignsInline};
pub use signer::{Signature, Signer, SignerIdentity};
pub use signing::{SignatureAlgorithm, SigningKey, VerifyingKey};
pub use symmetric::SymmetricKey;

/// A key id: the RFC 7638 thumbprint (SHA-256, base64url, 43 characters) of a public key.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    fn thumbprint(crv: &str, x: &[u8; KEY_LEN]) -> Self {
        // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"{crv}","kty":"OKP","x":"{}"}}"#, b64_encode(x));
        KeyId(b64_encode(&crypto::sha256(&[canonical.as_bytes()])))
    }

    fn thumbprint_ec(x: &[u8; KEY_LEN], y: &[u8; KEY_LEN]) -> Self {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            b64_encode(x),
            b64_encode(y)
        );
        KeyId(b64_encode(&crypto::sha256(&[canonical.as_bytes()])))
    }

    /// The key id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// One recipient to seal to: a consumer's X25519 public key or a pre-shared key.
/// `&RecipientPublicKey` and `&SymmetricKey` convert into it, so one list can mix both.
#[derive(Clone, Copy, Debug)]
pub enum SealTo<'a> {
    /// An HPKE recipient.
    Public(&'a RecipientPublicKey),
    /// A pre-shared-key recipient.
    Symmetric(&'a SymmetricKey),
}

impl<'a> From<&'a RecipientPublicKey> for SealTo<'a> {
    fn from(k: &'a RecipientPublicKey) -> Self {
        SealTo::Public(k)
    }
}

impl<'a> From<&'a SymmetricKey> for SealTo<'a> {
    fn from(k: &'a SymmetricKey) -> Self {
        SealTo::Symmetric(k)
    }
}

impl SealTo<'_> {
    pub(crate) fn consumer(&self) -> &str {
        match self {
            SealTo::Public(k) => k.consumer(),
            SealTo::Symmetric(k) => k.consumer(),
        }
    }

    pub(crate) fn key_id(&self) -> &KeyId {
        match self {
            SealTo::Public(k) => k.key_id(),
            SealTo::Symmetric(k) => k.key_id(),
        }
    }
}

/// A key a consumer opens with: its X25519 recipient secret key or a pre-shared key.
/// Both convert into it, so one opener can hold both kinds (and several of each, during
/// rotation).
#[derive(Debug)]
pub enum ConsumerKey {
    /// An HPKE recipient secret key.
    Hpke(RecipientSecretKey),
    /// A pre-shared key.
    Symmetric(SymmetricKey),
}

impl From<RecipientSecretKey> for ConsumerKey {
    fn from(k: RecipientSecretKey) -> Self {
        ConsumerKey::Hpke(k)
    }
}

impl From<SymmetricKey> for ConsumerKey {
    fn from(k: SymmetricKey) -> Self {
        ConsumerKey::Symmetric(k)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::RecipientSecretKey {}
    impl Sealed for super::SymmetricKey {}
    impl Sealed for super::ConsumerKey {}
}

/// What the open pipeline needs of a consumer's key: whom it is for, its id, and how to unwrap
/// a content key addressed to it. Sealed: implemented by [`RecipientSecretKey`],
/// [`SymmetricKey`] and [`ConsumerKey`] only (in `wrap.rs`, next to the unwrapping each
/// selects), so the unwrap algorithm always comes from the consumer's own key type.
pub trait RecipientKey: sealed::Sealed + Send + Sync + fmt::Debug {
    /// The consumer id.
    fn consumer_id(&self) -> &str;
    /// The key id.
    fn recipient_key_id(&self) -> &KeyId;
    #[doc(hidden)]
    fn unwrap_content_key(
        &self,
        entry: &crate::envelope::RecipientEntry,
        info: &[u8],
    ) -> Result<Zeroizing<[u8; crate::envelope::CONTENT_KEY_LEN]>>;
}

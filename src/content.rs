//! The per-envelope content key, and what is derived from it: the payload key, the payload
//! nonce and the key commitment.
//!
//! ```text
//! prk        = HKDF-Extract(salt = envelope id (16 bytes), ikm = content key)
//! key        = HKDF-Expand(prk, "eventseal/v1/payload-key", 32)
//! nonce      = HKDF-Expand(prk, "eventseal/v1/payload-nonce", 12)
//! commitment = HKDF-Expand(prk, "eventseal/v1/key-commitment", 32)
//! ```
//!
//! The content key is random and used for one envelope only, so the derived (key, nonce)
//! pair is never reused; no counter is involved. The commitment is carried in the signed
//! header and compared (in constant time) before decryption, so every recipient that accepts
//! an envelope used the same content key and therefore reads the same plaintext, even if a
//! malicious producer wrapped different keys for different recipients ("invisible
//! salamanders"; AWS Encryption SDK v2 commits the same way).

use uuid::Uuid;
use zeroize::Zeroizing;

use crate::crypto::{self, AesGcm, HASH_LEN, NONCE_LEN};
use crate::envelope::CONTENT_KEY_LEN;
use crate::error::{Error, Result};

/// A random content key; zeroized on drop.
pub(crate) struct ContentKey(Zeroizing<[u8; CONTENT_KEY_LEN]>);

/// Keys derived from a content key for one envelope.
pub(crate) struct PayloadKeys {
    key: Zeroizing<[u8; 32]>,
    nonce: [u8; NONCE_LEN],
    pub(crate) commitment: [u8; HASH_LEN],
}

impl ContentKey {
    pub(crate) fn generate() -> Result<Self> {
        let mut k = Zeroizing::new([0u8; CONTENT_KEY_LEN]);
        crypto::fill_random(k.as_mut())?;
        Ok(Self(k))
    }

    pub(crate) fn from_bytes(bytes: Zeroizing<[u8; CONTENT_KEY_LEN]>) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; CONTENT_KEY_LEN] {
        &self.0
    }

    pub(crate) fn derive(&self, envelope_id: &Uuid) -> PayloadKeys {
        let prk = crypto::hkdf_extract(envelope_id.as_bytes(), &[self.0.as_ref()]);
        let mut keys = PayloadKeys {
            key: Zeroizing::new([0u8; 32]),
            nonce: [0u8; NONCE_LEN],
            commitment: [0u8; HASH_LEN],
        };
        crypto::hkdf_expand(&prk, &[b"eventseal/v1/payload-key"], keys.key.as_mut());
        crypto::hkdf_expand(&prk, &[b"eventseal/v1/payload-nonce"], &mut keys.nonce);
        crypto::hkdf_expand(
            &prk,
            &[b"eventseal/v1/key-commitment"],
            &mut keys.commitment,
        );
        keys
    }
}

impl PayloadKeys {
    pub(crate) fn seal(&self, aad: &[u8], in_out: &mut Vec<u8>) -> Result<()> {
        AesGcm::Aes256.seal(self.key.as_ref(), &self.nonce, aad, in_out)
    }

    /// Checks the commitment (constant time) and only then decrypts in place.
    pub(crate) fn open(
        &self,
        expected_commitment: &[u8; HASH_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<usize> {
        if !crypto::ct_eq(&self.commitment, expected_commitment) {
            return Err(Error::DecryptFailed);
        }
        AesGcm::Aes256.open(self.key.as_ref(), &self.nonce, aad, in_out)
    }
}

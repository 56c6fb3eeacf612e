//! **Not part of the API.** Entry points through which the dudect timing harness
//! (`benches/ct.rs`, `docs/CONSTANT_TIME.md`) reaches the crate's secret-dependent
//! comparisons in isolation, running exactly the code that opening and webhook verification
//! run. Compiled only with the `ct-probe` feature, hidden from the documentation, and exempt
//! from semver: never enable it in production builds.

use uuid::Uuid;

use crate::content::ContentKey;
use crate::crypto::KEY_LEN;
use crate::envelope::{RecipientEntry, CONTENT_KEY_LEN, WRAPPED_KEY_LEN};
use crate::error::Result;
use crate::keys::SymmetricKey;
use crate::{content, wrap};

/// The webhook MAC comparison: whether `expected` equals any of `candidates`
/// (`webhook::any_matches`, used by every HMAC verifier).
#[must_use]
pub fn webhook_mac_matches(expected: &[u8], candidates: &[&[u8]]) -> bool {
    crate::webhook::any_matches(expected, candidates.iter().copied())
}

/// The payload-opening step of one envelope: key-commitment check, then AES-256-GCM.
pub struct PayloadStep {
    keys: content::PayloadKeys,
}

impl PayloadStep {
    /// Derives the payload keys from a content key and an envelope id, as opening does.
    #[must_use]
    pub fn new(content_key: [u8; CONTENT_KEY_LEN], envelope_id: [u8; 16]) -> Self {
        let cek = ContentKey::from_bytes(zeroize::Zeroizing::new(content_key));
        Self {
            keys: cek.derive(&Uuid::from_bytes(envelope_id)),
        }
    }

    /// The commitment a correct header would carry.
    #[must_use]
    pub fn commitment(&self) -> [u8; 32] {
        self.keys.commitment
    }

    /// Checks `claimed` against the commitment in constant time and, only if it matches,
    /// decrypts `ciphertext` in place; whether both succeeded.
    #[must_use]
    pub fn open(&self, claimed: &[u8; 32], ciphertext: &mut [u8]) -> bool {
        self.keys.open(claimed, b"", ciphertext).is_ok()
    }
}

/// Unwrapping a content key for a pre-shared-key (symmetric) recipient.
pub struct SymmetricUnwrap {
    key: SymmetricKey,
    entry: RecipientEntry,
    info: Vec<u8>,
}

impl SymmetricUnwrap {
    /// A recipient with `key`, and a wrap of `content_key` to it under `info`.
    ///
    /// # Errors
    /// `rng` if randomness fails.
    pub fn new(
        key: SymmetricKey,
        info: &[u8],
        content_key: &[u8; CONTENT_KEY_LEN],
    ) -> Result<Self> {
        let (enc, wrapped_key) = wrap::wrap_psk(&key, info, content_key)?;
        let entry = RecipientEntry::new(key.consumer(), key.key_id().as_str(), enc, wrapped_key)
            .ok_or(crate::Error::InvalidInput("recipient id too long"))?;
        Ok(Self {
            key,
            entry,
            info: info.to_vec(),
        })
    }

    /// The correct `(enc, wrapped_key)` pair.
    #[must_use]
    pub fn wrapped(&self) -> ([u8; KEY_LEN], [u8; WRAPPED_KEY_LEN]) {
        (self.entry.enc, self.entry.wrapped_key)
    }

    /// Unwraps a `wrapped_key` (with the correct `enc`); whether it unwrapped.
    #[must_use]
    pub fn unwrap(&self, wrapped_key: &[u8; WRAPPED_KEY_LEN]) -> bool {
        let entry = RecipientEntry {
            wrapped_key: *wrapped_key,
            ..self.entry.clone()
        };
        wrap::unwrap_psk(&self.key, &entry, &self.info).is_ok()
    }
}

//! Wrapping the content key to one recipient, in the two recipient kinds of format v1.
//!
//! Both kinds produce the same entry shape (`enc`: 32 bytes, `wrapped_key`: 48 bytes) and
//! bind the wrap to the same `info` ([`Header::wrap_info`]: envelope id, source, signing key
//! id, event type, consumer, recipient key id). Which kind an entry is follows from the
//! consumer's own key for that key id, never from the message.
//!
//! - **HPKE** (public-key recipients): `enc` is the ephemeral X25519 public key and
//!   `wrapped_key` the single-shot HPKE ciphertext of the content key (RFC 9180 base mode,
//!   empty aad).
//! - **Pre-shared key** (a 256-bit key per consumer, e.g. provisioned through a KMS):
//!   ```text
//!   enc         = 32 random bytes (a salt)
//!   prk         = HKDF-Extract(salt = enc, ikm = pre-shared key)
//!   wrap_key    = HKDF-Expand(prk, PAE(["eventseal/v1/psk-key", info]), 32)
//!   wrap_nonce  = HKDF-Expand(prk, PAE(["eventseal/v1/psk-nonce", info]), 12)
//!   wrapped_key = AES-256-GCM(wrap_key, wrap_nonce, aad = "", content key)
//!   ```
//!   The random salt makes every (wrap key, nonce) pair fresh even if a producer repeated an
//!   envelope id.

use zeroize::Zeroizing;

use crate::crypto::{self, AesGcm, KEY_LEN, NONCE_LEN};
use crate::encoding::pae;
use crate::envelope::{Header, RecipientEntry, CONTENT_KEY_LEN, WRAPPED_KEY_LEN};
use crate::error::{Error, Result};
use crate::hpke;
use crate::keys::{
    ConsumerKey, KeyId, RecipientKey, RecipientPublicKey, RecipientSecretKey, SymmetricKey,
};

/// A wrapped content key: `(enc, wrapped_key)`.
pub(crate) type Wrapped = ([u8; KEY_LEN], [u8; WRAPPED_KEY_LEN]);

fn to_wrapped(enc: [u8; KEY_LEN], ct: Vec<u8>) -> Result<Wrapped> {
    let wk: [u8; WRAPPED_KEY_LEN] = ct
        .try_into()
        .map_err(|_| Error::InvalidInput("wrapped key length"))?;
    Ok((enc, wk))
}

fn take_content_key(buf: &[u8], n: usize) -> Result<Zeroizing<[u8; CONTENT_KEY_LEN]>> {
    let mut cek = Zeroizing::new([0u8; CONTENT_KEY_LEN]);
    match buf.get(..n) {
        Some(k) if k.len() == CONTENT_KEY_LEN => cek.copy_from_slice(k),
        _ => return Err(Error::DecryptFailed),
    }
    Ok(cek)
}

pub(crate) fn wrap_hpke(
    to: &RecipientPublicKey,
    info: &[u8],
    cek: &[u8; CONTENT_KEY_LEN],
) -> Result<Wrapped> {
    let (enc, ct) = hpke::V1.seal(to.bytes(), info, b"", cek)?;
    to_wrapped(enc, ct)
}

pub(crate) fn unwrap_hpke(
    key: &RecipientSecretKey,
    entry: &RecipientEntry,
    info: &[u8],
) -> Result<Zeroizing<[u8; CONTENT_KEY_LEN]>> {
    let mut buf = Zeroizing::new(entry.wrapped_key);
    let n = hpke::V1.open(
        &entry.enc,
        key.secret(),
        key.public_key().bytes(),
        info,
        b"",
        buf.as_mut(),
    )?;
    take_content_key(buf.as_ref(), n)
}

fn psk_schedule(
    psk: &[u8; KEY_LEN],
    salt: &[u8; KEY_LEN],
    info: &[u8],
) -> (Zeroizing<[u8; 32]>, [u8; NONCE_LEN]) {
    let prk = crypto::hkdf_extract(salt, &[psk]);
    let mut key = Zeroizing::new([0u8; 32]);
    let mut nonce = [0u8; NONCE_LEN];
    crypto::hkdf_expand(
        &prk,
        &[&pae(&[b"eventseal/v1/psk-key", info])],
        key.as_mut(),
    );
    crypto::hkdf_expand(
        &prk,
        &[&pae(&[b"eventseal/v1/psk-nonce", info])],
        &mut nonce,
    );
    (key, nonce)
}

pub(crate) fn wrap_psk(
    to: &SymmetricKey,
    info: &[u8],
    cek: &[u8; CONTENT_KEY_LEN],
) -> Result<Wrapped> {
    let mut salt = [0u8; KEY_LEN];
    crypto::fill_random(&mut salt)?;
    let (key, nonce) = psk_schedule(to.secret(), &salt, info);
    let mut ct = Vec::with_capacity(WRAPPED_KEY_LEN);
    ct.extend_from_slice(cek);
    AesGcm::Aes256.seal(key.as_ref(), &nonce, b"", &mut ct)?;
    to_wrapped(salt, ct)
}

pub(crate) fn unwrap_psk(
    key: &SymmetricKey,
    entry: &RecipientEntry,
    info: &[u8],
) -> Result<Zeroizing<[u8; CONTENT_KEY_LEN]>> {
    let (wrap_key, nonce) = psk_schedule(key.secret(), &entry.enc, info);
    let mut buf = Zeroizing::new(entry.wrapped_key);
    let n = AesGcm::Aes256.open(wrap_key.as_ref(), &nonce, b"", buf.as_mut())?;
    take_content_key(buf.as_ref(), n)
}

/// The info for `entry` of `header`.
pub(crate) fn info_for(header: &Header, entry: &RecipientEntry) -> Vec<u8> {
    header.wrap_info(entry.consumer.as_str(), entry.key_id.as_str())
}

// The consumer key types choose their unwrapping here, so `keys` never depends on `wrap`.

impl RecipientKey for RecipientSecretKey {
    fn consumer_id(&self) -> &str {
        self.consumer()
    }
    fn recipient_key_id(&self) -> &KeyId {
        self.key_id()
    }
    fn unwrap_content_key(
        &self,
        entry: &RecipientEntry,
        info: &[u8],
    ) -> Result<Zeroizing<[u8; CONTENT_KEY_LEN]>> {
        unwrap_hpke(self, entry, info)
    }
}

impl RecipientKey for SymmetricKey {
    fn consumer_id(&self) -> &str {
        self.consumer()
    }
    fn recipient_key_id(&self) -> &KeyId {
        self.key_id()
    }
    fn unwrap_content_key(
        &self,
        entry: &RecipientEntry,
        info: &[u8],
    ) -> Result<Zeroizing<[u8; CONTENT_KEY_LEN]>> {
        unwrap_psk(self, entry, info)
    }
}

impl RecipientKey for ConsumerKey {
    fn consumer_id(&self) -> &str {
        match self {
            ConsumerKey::Hpke(k) => k.consumer(),
            ConsumerKey::Symmetric(k) => k.consumer(),
        }
    }
    fn recipient_key_id(&self) -> &KeyId {
        match self {
            ConsumerKey::Hpke(k) => k.key_id(),
            ConsumerKey::Symmetric(k) => k.key_id(),
        }
    }
    fn unwrap_content_key(
        &self,
        entry: &RecipientEntry,
        info: &[u8],
    ) -> Result<Zeroizing<[u8; CONTENT_KEY_LEN]>> {
        match self {
            ConsumerKey::Hpke(k) => k.unwrap_content_key(entry, info),
            ConsumerKey::Symmetric(k) => k.unwrap_content_key(entry, info),
        }
    }
}

//! Pre-shared symmetric recipient keys.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::KeyId;
use crate::crypto::{self, KEY_LEN};
use crate::encoding::{b64_decode_fixed, b64_encode, check_identifier};
use crate::error::{Error, Result};

/// A pre-shared 256-bit key between producers and one consumer (for example provisioned
/// through a KMS), used as a recipient instead of an X25519 key pair. Both sides hold the same
/// key; it zeroizes on drop and is redacted in `Debug`.
///
/// Its key id is the RFC 7638 thumbprint of the `oct` JWK (SHA-256 over the canonical
/// `{"k":…,"kty":"oct"}`): a one-way function of a 256-bit random key, safe to publish.
pub struct SymmetricKey {
    consumer: String,
    k: Zeroizing<[u8; KEY_LEN]>,
    kid: KeyId,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OctJwk {
    kty: String,
    #[serde(
        rename = "use",
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    use_: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    kid: Option<String>,
    consumer: String,
    k: Zeroizing<String>,
}

impl SymmetricKey {
    /// Generates a new pre-shared key for `consumer`.
    ///
    /// # Errors
    /// [`Error::Malformed`] if `consumer` is not a valid identifier; [`Error::Rng`].
    pub fn generate(consumer: &str) -> Result<Self> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        crypto::fill_random(k.as_mut())?;
        Self::from_bytes(consumer, k)
    }

    /// A key from 32 bytes of key material (for example a data key from a KMS).
    ///
    /// # Errors
    /// [`Error::Malformed`] for an invalid consumer id; [`Error::InvalidKey`] for an all-zero key.
    pub fn from_bytes(consumer: &str, k: Zeroizing<[u8; KEY_LEN]>) -> Result<Self> {
        check_identifier(consumer, "consumer id")?;
        if crypto::ct_eq(k.as_ref(), &[0u8; KEY_LEN]) {
            return Err(Error::InvalidKey("all-zero symmetric key"));
        }
        let canonical = Zeroizing::new(format!(
            r#"{{"k":"{}","kty":"oct"}}"#,
            b64_encode(k.as_ref())
        ));
        let kid = KeyId(b64_encode(&crypto::sha256(&[canonical.as_bytes()])));
        Ok(Self {
            consumer: consumer.to_owned(),
            k,
            kid,
        })
    }

    /// Loads a key from an `oct` JWK with `k` (32 bytes) and `consumer`.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] naming what is wrong.
    pub fn from_jwk(jwk: &str) -> Result<Self> {
        if jwk.len() > 4096 {
            return Err(Error::InvalidKey("JWK longer than 4096 bytes"));
        }
        let j: OctJwk =
            serde_json::from_str(jwk).map_err(|_| Error::InvalidKey("not an oct JWK"))?;
        if j.kty != "oct" {
            return Err(Error::InvalidKey("kty must be oct"));
        }
        if j.use_.as_deref().is_some_and(|u| u != "enc") {
            return Err(Error::InvalidKey("use does not match the key type"));
        }
        let k = Zeroizing::new(
            b64_decode_fixed::<KEY_LEN>(&j.k, "k")
                .map_err(|_| Error::InvalidKey("k is not 32 bytes of canonical base64url"))?,
        );
        let key = Self::from_bytes(&j.consumer, k).map_err(|e| match e {
            Error::Malformed(_) => Error::InvalidKey("invalid identifier"),
            other => other,
        })?;
        if j.kid.as_deref().is_some_and(|kid| kid != key.kid.as_str()) {
            return Err(Error::InvalidKey(
                "kid is not the key's RFC 7638 thumbprint",
            ));
        }
        Ok(key)
    }

    /// Exports the key as an `oct` JWK. The result holds the secret and zeroizes on drop.
    #[must_use]
    pub fn to_secret_jwk(&self) -> Zeroizing<String> {
        let j = OctJwk {
            kty: "oct".into(),
            use_: Some("enc".into()),
            kid: Some(self.kid.0.clone()),
            consumer: self.consumer.clone(),
            k: Zeroizing::new(b64_encode(self.k.as_ref())),
        };
        Zeroizing::new(serde_json::to_string_pretty(&j).unwrap_or_default())
    }

    /// The consumer this key belongs to.
    #[must_use]
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.kid
    }

    pub(crate) fn secret(&self) -> &[u8; KEY_LEN] {
        &self.k
    }
}

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SymmetricKey")
            .field("consumer", &self.consumer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

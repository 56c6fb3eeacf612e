//! Recipient (consumer) keys: X25519 for HPKE.

use std::fmt;

use zeroize::Zeroizing;

use super::jwk::{parse_jwk, write_jwk, Jwk, JwkRules, RECIPIENT_TYPES, X25519};
use super::KeyId;
use crate::crypto::{self, X25519Secret, KEY_LEN};
use crate::encoding::{b64_encode, check_identifier};
use crate::error::{Error, Result};

/// A consumer's X25519 recipient secret key. Zeroized on drop, redacted in `Debug`.
pub struct RecipientSecretKey {
    pub(super) secret: X25519Secret,
    public: RecipientPublicKey,
}

impl RecipientSecretKey {
    /// Generates a new recipient key for `consumer`.
    ///
    /// # Errors
    /// [`Error::Malformed`] if `consumer` is not a valid identifier; [`Error::Rng`].
    pub fn generate(consumer: &str) -> Result<Self> {
        check_identifier(consumer, "consumer id")?;
        let secret = X25519Secret::generate()?;
        Self::from_secret(consumer, secret, None)
    }

    fn from_secret(
        consumer: &str,
        secret: X25519Secret,
        expected_public: Option<&[u8; KEY_LEN]>,
    ) -> Result<Self> {
        let bytes = secret.public_key();
        if let Some(expected) = expected_public {
            if !crypto::ct_eq(expected, &bytes) {
                return Err(Error::InvalidKey(
                    "X25519 public key does not match the secret",
                ));
            }
        }
        let public = RecipientPublicKey::from_parts(consumer.to_owned(), bytes)?;
        Ok(Self { secret, public })
    }

    /// A recipient key for `consumer` from its 32-byte X25519 secret (as PKCS#8 files and JWK
    /// `d` hold it); the public key is computed from it. For keys made by other tools
    /// (`eventseal key import`).
    ///
    /// # Errors
    /// [`Error::Malformed`] if `consumer` is not a valid identifier; [`Error::InvalidKey`].
    pub fn from_bytes(consumer: &str, secret: Zeroizing<[u8; KEY_LEN]>) -> Result<Self> {
        check_identifier(consumer, "consumer id")?;
        Self::from_secret(consumer, X25519Secret::from_bytes(&secret)?, None)
    }

    /// Loads a recipient secret key from an X25519 OKP JWK (with `d`, `x` and `consumer`).
    /// The public half `x` must match the secret `d`.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] naming what is wrong with the JWK.
    pub fn from_jwk(jwk: &str) -> Result<Self> {
        let p = parse_jwk(
            jwk,
            &JwkRules {
                types: RECIPIENT_TYPES,
                use_: "enc",
                source: false,
                secret: true,
            },
        )?;
        let d = p.d.ok_or(Error::InvalidKey("d missing"))?;
        Self::from_secret(&p.owner, X25519Secret::from_bytes(&d)?, Some(&p.x))
    }

    /// Exports the secret key as a JWK. The result holds the secret and zeroizes on drop.
    #[must_use]
    pub fn to_secret_jwk(&self) -> Zeroizing<String> {
        let mut jwk = self.public.jwk();
        let d = self.secret.to_bytes();
        jwk.d = Some(Zeroizing::new(b64_encode(d.as_ref())));
        Zeroizing::new(write_jwk(&jwk))
    }

    /// The matching public key, to give to producers.
    #[must_use]
    pub fn public_key(&self) -> &RecipientPublicKey {
        &self.public
    }

    /// The consumer this key belongs to.
    #[must_use]
    pub fn consumer(&self) -> &str {
        &self.public.consumer
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.public.kid
    }

    pub(crate) fn secret(&self) -> &X25519Secret {
        &self.secret
    }
}

impl fmt::Debug for RecipientSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientSecretKey")
            .field("consumer", &self.public.consumer)
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

/// A consumer's X25519 recipient public key, as a producer seals to it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecipientPublicKey {
    consumer: String,
    pub(super) bytes: [u8; KEY_LEN],
    kid: KeyId,
}

impl RecipientPublicKey {
    fn from_parts(consumer: String, bytes: [u8; KEY_LEN]) -> Result<Self> {
        if !crypto::x25519_is_canonical(&bytes) {
            return Err(Error::InvalidKey(
                "X25519 public key not canonical (bit 255 set, or not below 2^255 - 19)",
            ));
        }
        if crypto::x25519_is_low_order(&bytes) {
            return Err(Error::InvalidKey("X25519 public key of small order"));
        }
        let kid = KeyId::thumbprint(X25519, &bytes);
        Ok(Self {
            consumer,
            bytes,
            kid,
        })
    }

    /// Loads a recipient public key from an X25519 OKP JWK (with `x` and `consumer`, no `d`).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] naming what is wrong, including a point of small order.
    pub fn from_jwk(jwk: &str) -> Result<Self> {
        let p = parse_jwk(
            jwk,
            &JwkRules {
                types: RECIPIENT_TYPES,
                use_: "enc",
                source: false,
                secret: false,
            },
        )?;
        Self::from_parts(p.owner, p.x)
    }

    fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: X25519.into(),
            use_: Some("enc".into()),
            kid: Some(self.kid.0.clone()),
            consumer: Some(self.consumer.clone()),
            x: b64_encode(&self.bytes),
            ..Jwk::default()
        }
    }

    /// Exports the key as a public JWK.
    #[must_use]
    pub fn to_jwk(&self) -> String {
        write_jwk(&self.jwk())
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

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for RecipientPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientPublicKey")
            .field("consumer", &self.consumer)
            .field("kid", &self.kid)
            .finish()
    }
}

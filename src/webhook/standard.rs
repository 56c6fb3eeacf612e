//! Standard Webhooks (<https://www.standardwebhooks.com>), and Svix, which uses the same scheme
//! under `svix-*` headers.
//!
//! Signed content: `{webhook-id}.{webhook-timestamp}.{body}`. The signature header is a
//! space-separated list of `v1,<base64 HMAC-SHA256>` (secret `whsec_` + base64 key) and
//! `v1a,<base64 Ed25519>` (public key `whpk_` + base64, secret key `whsk_` + base64) entries;
//! any valid one passes. The id is signed, so it is the deduplication id.

use std::time::Duration;

use zeroize::Zeroizing;

use super::{
    any_matches, check_secret_count, check_timestamp, decode_b64_std, encode_b64_std,
    parse_unix_seconds, Request, Verified, Verifier, DEFAULT_TOLERANCE,
};
use crate::crypto::{self, Ed25519Pair, HmacAlg, KEY_LEN};
use crate::error::{Error, Result};
use crate::keys::{SignatureAlgorithm, Signer};

enum Secret {
    Hmac(Zeroizing<Vec<u8>>),
    Ed25519([u8; KEY_LEN]),
}

/// Verifies Standard Webhooks (or Svix) deliveries.
pub struct StandardWebhooks {
    provider: &'static str,
    headers: [&'static str; 3],
    secrets: Vec<Secret>,
    tolerance: Duration,
}

impl std::fmt::Debug for StandardWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandardWebhooks")
            .field("provider", &self.provider)
            .field("secrets", &self.secrets.len())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

fn parse_secret(s: &str) -> Result<Secret> {
    if let Some(b64) = s.strip_prefix("whsec_") {
        let key = decode_b64_std(b64).ok_or(Error::InvalidKey("whsec_ secret is not base64"))?;
        if key.len() < 16 || key.len() > 512 {
            return Err(Error::InvalidKey("whsec_ secret must be 16 to 512 bytes"));
        }
        return Ok(Secret::Hmac(Zeroizing::new(key)));
    }
    if let Some(b64) = s.strip_prefix("whpk_") {
        let key = decode_b64_std(b64).ok_or(Error::InvalidKey("whpk_ key is not base64"))?;
        let key: [u8; KEY_LEN] = key
            .try_into()
            .map_err(|_| Error::InvalidKey("whpk_ key must be 32 bytes"))?;
        // As for trusted sources: a small-order or non-canonical key could make a signature
        // verify for many messages.
        if !crypto::ed25519_public_key_is_valid(&key) {
            return Err(Error::InvalidKey(
                "whpk_ key is not a point of the prime-order subgroup",
            ));
        }
        return Ok(Secret::Ed25519(key));
    }
    // The specification's libraries also accept the base64 secret without its prefix.
    let key = decode_b64_std(s).ok_or(Error::InvalidKey(
        "expected a whsec_ secret or a whpk_ public key",
    ))?;
    if key.len() < 16 || key.len() > 512 {
        return Err(Error::InvalidKey("secret must be 16 to 512 bytes"));
    }
    Ok(Secret::Hmac(Zeroizing::new(key)))
}

impl StandardWebhooks {
    /// A Standard Webhooks verifier (`webhook-id`, `webhook-timestamp`, `webhook-signature`)
    /// for one or more secrets: `whsec_…` (HMAC) or `whpk_…` (Ed25519 public key).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for a secret in neither form, or none, or more than 16.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Result<Self> {
        Self::with_headers(
            "standard-webhooks",
            ["webhook-id", "webhook-timestamp", "webhook-signature"],
            secrets,
        )
    }

    /// The same scheme under Svix's headers (`svix-id`, `svix-timestamp`, `svix-signature`),
    /// falling back to the unbranded `webhook-*` headers when `svix-id` is absent, as Svix's
    /// libraries do.
    ///
    /// # Errors
    /// As [`StandardWebhooks::new`].
    pub fn svix<S: AsRef<str>>(secrets: &[S]) -> Result<Self> {
        Self::with_headers(
            "svix",
            ["svix-id", "svix-timestamp", "svix-signature"],
            secrets,
        )
    }

    fn with_headers<S: AsRef<str>>(
        provider: &'static str,
        headers: [&'static str; 3],
        secrets: &[S],
    ) -> Result<Self> {
        check_secret_count(secrets.len())?;
        Ok(Self {
            provider,
            headers,
            secrets: secrets
                .iter()
                .map(|s| parse_secret(s.as_ref()))
                .collect::<Result<_>>()?,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Sets the timestamp tolerance (both directions).
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }
}

impl Verifier for StandardWebhooks {
    fn provider(&self) -> &'static str {
        self.provider
    }

    fn tolerance(&self) -> Option<Duration> {
        Some(self.tolerance)
    }

    fn verify(&self, request: &Request<'_>, now: i64) -> Result<Verified> {
        let [mut id_h, mut ts_h, mut sig_h] = self.headers;
        if self.provider == "svix" && request.header(id_h)?.is_none() {
            [id_h, ts_h, sig_h] = ["webhook-id", "webhook-timestamp", "webhook-signature"];
        }
        let id = request.required(id_h, "missing id header")?;
        let ts_text = request.required(ts_h, "missing timestamp header")?;
        let sigs = request.required(sig_h, "missing signature header")?;
        if id.is_empty() || id.contains('.') {
            return Err(Error::Malformed("message id"));
        }
        let ts = parse_unix_seconds(ts_text)?;
        let mut v1 = Vec::new();
        let mut v1a = Vec::new();
        for item in request.signature_items(sigs, ' ')? {
            let (version, sig) = item
                .split_once(',')
                .ok_or(Error::Malformed("signature entry"))?;
            let list = match version {
                "v1" => &mut v1,
                "v1a" => &mut v1a,
                _ => continue, // unknown versions are skipped, as the specification's libraries do
            };
            list.push(decode_b64_std(sig).ok_or(Error::Malformed("signature base64"))?);
        }
        request.check_signature_count(v1.len() + v1a.len())?;
        let signed: [&[u8]; 5] = [
            id.as_bytes(),
            b".",
            ts_text.as_bytes(),
            b".",
            request.body(),
        ];
        let mut ok = false;
        for secret in &self.secrets {
            ok |= match secret {
                Secret::Hmac(key) => {
                    let tag = crypto::hmac(HmacAlg::Sha256, key, &signed);
                    any_matches(&tag, v1.iter().map(Vec::as_slice))
                }
                Secret::Ed25519(pk) => {
                    let msg = signed.concat();
                    v1a.iter().any(|s| crypto::ed25519_verify(pk, &msg, s))
                }
            };
        }
        if !ok {
            return Err(Error::BadSignature);
        }
        // Freshness after authenticity, so a stale forgery is reported as a forgery.
        check_timestamp(ts, now, self.tolerance)?;
        Ok(Verified {
            provider: self.provider,
            id: id.to_owned(),
            timestamp: Some(ts),
        })
    }
}

/// Signs webhooks the Standard Webhooks way, for eventseal users who send webhooks.
pub struct StandardSigner {
    secret: SignerSecret,
}

enum SignerSecret {
    Hmac(Zeroizing<Vec<u8>>),
    Ed25519(Ed25519Pair, [u8; KEY_LEN]),
    /// An Ed25519 key elsewhere (a PKCS#11 token): v1a.
    External(Box<dyn Signer>, [u8; KEY_LEN]),
}

impl std::fmt::Debug for StandardSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandardSigner").finish_non_exhaustive()
    }
}

impl StandardSigner {
    /// A signer from a `whsec_…` secret (v1, HMAC-SHA256) or a `whsk_…` secret key (v1a,
    /// Ed25519: base64 of the 32-byte seed, or of the 64-byte seed and public key).
    ///
    /// # Errors
    /// [`Error::InvalidKey`].
    pub fn new(secret: &str) -> Result<Self> {
        if let Some(b64) = secret.strip_prefix("whsk_") {
            let raw = Zeroizing::new(
                decode_b64_std(b64).ok_or(Error::InvalidKey("whsk_ key is not base64"))?,
            );
            let mut seed = Zeroizing::new([0u8; KEY_LEN]);
            let public = match raw.len() {
                32 => None,
                64 => raw.get(KEY_LEN..),
                _ => return Err(Error::InvalidKey("whsk_ key must be 32 or 64 bytes")),
            };
            seed.copy_from_slice(raw.get(..KEY_LEN).ok_or(Error::InvalidKey("whsk_ key"))?);
            let pair = Ed25519Pair::from_seed(&seed, public)?;
            let pk = pair.public_key();
            return Ok(Self {
                secret: SignerSecret::Ed25519(pair, pk),
            });
        }
        match parse_secret(secret)? {
            Secret::Hmac(k) => Ok(Self {
                secret: SignerSecret::Hmac(k),
            }),
            Secret::Ed25519(_) => Err(Error::InvalidKey("a whpk_ public key cannot sign")),
        }
    }

    /// A v1a (Ed25519) signer whose key is any [`Signer`]: an in-process [`SigningKey`]
    /// or an Ed25519 key on a PKCS#11 token (`eventseal-pkcs11`). v1a signs the raw
    /// `id.timestamp.body` with pure Ed25519, whatever its size, which AWS KMS cannot do
    /// (its pure Ed25519 takes raw messages of at most 4 KiB). Use a key for webhooks only:
    /// `id.timestamp.body` carries no domain separation from eventseal's own messages.
    ///
    /// [`SigningKey`]: crate::SigningKey
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the signer's key is not Ed25519.
    pub fn from_signer(signer: impl Signer + 'static) -> Result<Self> {
        let vk = signer.verifying_key();
        if vk.algorithm() != SignatureAlgorithm::Ed25519 {
            return Err(Error::InvalidKey(
                "Standard Webhooks v1a needs an Ed25519 key (this one is ECDSA P-256)",
            ));
        }
        let pk: [u8; KEY_LEN] = vk
            .public_bytes()
            .try_into()
            .map_err(|_| Error::InvalidKey("Ed25519 public key must be 32 bytes"))?;
        Ok(Self {
            secret: SignerSecret::External(Box::new(signer), pk),
        })
    }

    /// Generates a new `whsk_` secret key (64-byte seed-and-public form) and its `whpk_`
    /// public key.
    ///
    /// # Errors
    /// [`Error::Rng`].
    pub fn generate_ed25519() -> Result<(Zeroizing<String>, String)> {
        let mut seed = Zeroizing::new([0u8; KEY_LEN]);
        crypto::fill_random(seed.as_mut())?;
        let pair = Ed25519Pair::from_seed(&seed, None)?;
        let pk = pair.public_key();
        let mut both = Zeroizing::new(Vec::with_capacity(64));
        both.extend_from_slice(seed.as_ref());
        both.extend_from_slice(&pk);
        Ok((
            Zeroizing::new(format!("whsk_{}", encode_b64_std(&both))),
            format!("whpk_{}", encode_b64_std(&pk)),
        ))
    }

    /// The `whpk_` public key, for a v1a signer.
    #[must_use]
    pub fn public_key(&self) -> Option<String> {
        match &self.secret {
            SignerSecret::Ed25519(_, pk) | SignerSecret::External(_, pk) => {
                Some(format!("whpk_{}", encode_b64_std(pk)))
            }
            SignerSecret::Hmac(_) => None,
        }
    }

    /// The `webhook-signature` header value for this message.
    ///
    /// # Errors
    /// [`Error::Malformed`] for an empty id or one containing `.`; [`Error::Signer`] when an
    /// external signer fails.
    pub fn signature(&self, id: &str, timestamp: i64, body: &[u8]) -> Result<String> {
        if id.is_empty() || id.contains('.') {
            return Err(Error::Malformed("message id"));
        }
        if timestamp < 0 {
            return Err(Error::Malformed("timestamp"));
        }
        let ts = timestamp.to_string();
        let signed: [&[u8]; 5] = [id.as_bytes(), b".", ts.as_bytes(), b".", body];
        Ok(match &self.secret {
            SignerSecret::Hmac(key) => {
                format!(
                    "v1,{}",
                    encode_b64_std(&crypto::hmac(HmacAlg::Sha256, key, &signed))
                )
            }
            SignerSecret::Ed25519(pair, _) => {
                format!("v1a,{}", encode_b64_std(&pair.sign(&signed.concat())))
            }
            SignerSecret::External(signer, _) => {
                format!("v1a,{}", encode_b64_std(&signer.sign(&signed.concat())?))
            }
        })
    }

    /// The three headers to send: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    ///
    /// # Errors
    /// As [`StandardSigner::signature`].
    pub fn headers(
        &self,
        id: &str,
        timestamp: i64,
        body: &[u8],
    ) -> Result<[(&'static str, String); 3]> {
        Ok([
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", self.signature(id, timestamp, body)?),
        ])
    }
}

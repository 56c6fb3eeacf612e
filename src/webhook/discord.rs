//! Discord interactions: `X-Signature-Ed25519: HEX` (64 bytes) over
//! `{X-Signature-Timestamp}{body}`, verified with the application's public key (hex, 32 bytes).

use std::time::Duration;

use super::{
    check_secret_count, check_timestamp, content_id, decode_hex, parse_unix_seconds, Request,
    Verified, Verifier, DEFAULT_TOLERANCE,
};
use crate::crypto::{self, KEY_LEN};
use crate::error::{Error, Result};

/// Verifies Discord interaction requests.
#[derive(Debug)]
pub struct Discord {
    keys: Vec<[u8; KEY_LEN]>,
    tolerance: Duration,
}

impl Discord {
    /// A verifier for one or more application public keys, hex-encoded as Discord shows them.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] unless each key is 64 hex digits encoding a valid Ed25519 public
    /// key (a canonical point of the prime-order subgroup); none, or more than 16.
    pub fn new<S: AsRef<str>>(public_keys: &[S]) -> Result<Self> {
        check_secret_count(public_keys.len())?;
        let keys = public_keys
            .iter()
            .map(|k| {
                let key = decode_hex(k.as_ref())
                    .and_then(|b| <[u8; KEY_LEN]>::try_from(b).ok())
                    .ok_or(Error::InvalidKey(
                        "Discord public key must be 64 hex digits",
                    ))?;
                // As for trusted sources: a small-order or non-canonical key could make a
                // signature verify for many messages.
                if crypto::ed25519_public_key_is_valid(&key) {
                    Ok(key)
                } else {
                    Err(Error::InvalidKey(
                        "Discord public key is not a point of the prime-order subgroup",
                    ))
                }
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            keys,
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

impl Verifier for Discord {
    fn provider(&self) -> &'static str {
        "discord"
    }

    fn tolerance(&self) -> Option<Duration> {
        Some(self.tolerance)
    }

    fn verify(&self, request: &Request<'_>, now: i64) -> Result<Verified> {
        let sig_hex = request.required("x-signature-ed25519", "missing X-Signature-Ed25519")?;
        let ts_text = request.required("x-signature-timestamp", "missing X-Signature-Timestamp")?;
        let sig = decode_hex(sig_hex)
            .filter(|s| s.len() == crypto::SIGNATURE_LEN)
            .ok_or(Error::Malformed(
                "X-Signature-Ed25519 must be 128 hex digits",
            ))?;
        let ts = parse_unix_seconds(ts_text)?;
        let msg = [ts_text.as_bytes(), request.body()].concat();
        if !self
            .keys
            .iter()
            .any(|k| crypto::ed25519_verify(k, &msg, &sig))
        {
            return Err(Error::BadSignature);
        }
        check_timestamp(ts, now, self.tolerance)?;
        Ok(Verified {
            provider: "discord",
            id: content_id(&[&msg]),
            timestamp: Some(ts),
        })
    }
}

//! Shopify: `X-Shopify-Hmac-Sha256: BASE64`, HMAC-SHA256 of the body under the app's client
//! secret. No timestamp is signed and `X-Shopify-Webhook-Id` is not covered by the HMAC, so the
//! deduplication id is a hash of the body.

use super::{content_id, decode_b64_std, HmacSecrets, Request, Verified, Verifier};
use crate::crypto::HmacAlg;
use crate::error::{Error, Result};

/// Verifies Shopify webhooks.
#[derive(Debug)]
pub struct Shopify {
    secrets: HmacSecrets,
}

impl Shopify {
    /// A verifier for one or more client secrets.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for an empty secret, none, or more than 16.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Result<Self> {
        let secrets = HmacSecrets::new(secrets, "empty Shopify secret")?;
        Ok(Self { secrets })
    }
}

impl Verifier for Shopify {
    fn provider(&self) -> &'static str {
        "shopify"
    }

    fn verify(&self, request: &Request<'_>, _now: i64) -> Result<Verified> {
        let header = request.required("x-shopify-hmac-sha256", "missing X-Shopify-Hmac-Sha256")?;
        let sig = decode_b64_std(header.trim())
            .ok_or(Error::Malformed("X-Shopify-Hmac-Sha256 is not base64"))?;
        let ok = self
            .secrets
            .matches(HmacAlg::Sha256, &[request.body()], [sig.as_slice()]);
        if !ok {
            return Err(Error::BadSignature);
        }
        Ok(Verified {
            provider: "shopify",
            id: content_id(&[request.body()]),
            timestamp: None,
        })
    }
}

//! Shopify: `X-Shopify-Hmac-Sha256: BASE64`, HMAC-SHA256 of the body under the app's client
//! secret. No timestamp is signed and `X-Shopify-Webhook-Id` is not covered by the HMAC, so the
//! deduplication id is a hash of the body.

use zeroize::Zeroizing;

use super::{any_matches, content_id, decode_b64_std, Request, Verified, Verifier};
use crate::crypto::{self, HmacAlg};
use crate::error::{Error, Result};

/// Verifies Shopify webhooks.
pub struct Shopify {
    secrets: Vec<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for Shopify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shopify")
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

impl Shopify {
    /// A verifier for one or more client secrets.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for an empty secret, none, or more than 16.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Result<Self> {
        let secrets = super::raw_secrets(secrets, "empty Shopify secret")?;
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
        let ok = self.secrets.iter().fold(false, |ok, key| {
            ok | any_matches(
                &crypto::hmac(HmacAlg::Sha256, key, &[request.body()]),
                [sig.as_slice()],
            )
        });
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

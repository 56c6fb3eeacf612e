//! GitHub: `X-Hub-Signature-256: sha256=HEX`, HMAC-SHA256 of the body under the webhook
//! secret. No timestamp is signed, and `X-GitHub-Delivery` is not covered by the signature, so
//! the deduplication id is a hash of the body.

use super::{content_id, decode_hex, HmacSecrets, Request, Verified, Verifier};
use crate::crypto::HmacAlg;
use crate::error::{Error, Result};

/// Verifies GitHub webhooks.
#[derive(Debug)]
pub struct GitHub {
    secrets: HmacSecrets,
}

impl GitHub {
    /// A verifier for one or more webhook secrets.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for an empty secret, none, or more than 16.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Result<Self> {
        let secrets = HmacSecrets::new(secrets, "empty GitHub secret")?;
        Ok(Self { secrets })
    }
}

impl Verifier for GitHub {
    fn provider(&self) -> &'static str {
        "github"
    }

    fn verify(&self, request: &Request<'_>, _now: i64) -> Result<Verified> {
        let header = request.required("x-hub-signature-256", "missing X-Hub-Signature-256")?;
        let hex = header
            .strip_prefix("sha256=")
            .ok_or(Error::Malformed("X-Hub-Signature-256 without sha256="))?;
        let sig = decode_hex(hex).ok_or(Error::Malformed("X-Hub-Signature-256 is not hex"))?;
        let ok = self
            .secrets
            .matches(HmacAlg::Sha256, &[request.body()], [sig.as_slice()]);
        if !ok {
            return Err(Error::BadSignature);
        }
        Ok(Verified {
            provider: "github",
            id: content_id(&[request.body()]),
            timestamp: None,
        })
    }
}

//! Slack: `X-Slack-Signature: v0=HEX`, HMAC-SHA256 under the signing secret over
//! `v0:{X-Slack-Request-Timestamp}:{body}`.

use std::time::Duration;

use super::{
    check_timestamp, content_id, decode_hex, parse_unix_seconds, HmacSecrets, Request, Verified,
    Verifier, DEFAULT_TOLERANCE,
};
use crate::crypto::HmacAlg;
use crate::error::{Error, Result};

/// Verifies Slack requests.
#[derive(Debug)]
pub struct Slack {
    secrets: HmacSecrets,
    tolerance: Duration,
}

impl Slack {
    /// A verifier for one or more signing secrets.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for an empty secret, none, or more than 16.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Result<Self> {
        let secrets = HmacSecrets::new(secrets, "empty Slack signing secret")?;
        Ok(Self {
            secrets,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Sets the timestamp tolerance (both directions; Slack recommends 5 minutes).
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }
}

impl Verifier for Slack {
    fn provider(&self) -> &'static str {
        "slack"
    }

    fn tolerance(&self) -> Option<Duration> {
        Some(self.tolerance)
    }

    fn verify(&self, request: &Request<'_>, now: i64) -> Result<Verified> {
        let ts_text = request.required(
            "x-slack-request-timestamp",
            "missing X-Slack-Request-Timestamp",
        )?;
        let header = request.required("x-slack-signature", "missing X-Slack-Signature")?;
        let ts = parse_unix_seconds(ts_text)?;
        let hex = header
            .strip_prefix("v0=")
            .ok_or(Error::Malformed("X-Slack-Signature without v0="))?;
        let sig = decode_hex(hex).ok_or(Error::Malformed("X-Slack-Signature is not hex"))?;
        let signed: [&[u8]; 4] = [b"v0:", ts_text.as_bytes(), b":", request.body()];
        let ok = self
            .secrets
            .matches(HmacAlg::Sha256, &signed, [sig.as_slice()]);
        if !ok {
            return Err(Error::BadSignature);
        }
        check_timestamp(ts, now, self.tolerance)?;
        Ok(Verified {
            provider: "slack",
            id: content_id(&signed),
            timestamp: Some(ts),
        })
    }
}

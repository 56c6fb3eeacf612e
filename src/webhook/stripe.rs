//! Stripe: `Stripe-Signature: t=TIMESTAMP,v1=HEX[,v1=HEX…][,v0=…]`, HMAC-SHA256 under the
//! endpoint secret (the whole `whsec_…` string, as bytes) over `{t}.{body}`.

use std::time::Duration;

use super::{
    check_timestamp, content_id, decode_hex, parse_unix_seconds, HmacSecrets, Request, Verified,
    Verifier, DEFAULT_TOLERANCE,
};
use crate::crypto::HmacAlg;
use crate::error::{Error, Result};

/// Verifies Stripe webhooks.
#[derive(Debug)]
pub struct Stripe {
    secrets: HmacSecrets,
    tolerance: Duration,
}

impl Stripe {
    /// A verifier for one or more endpoint secrets (`whsec_…`), during rotation several.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for an empty secret, none, or more than 16.
    pub fn new<S: AsRef<str>>(secrets: &[S]) -> Result<Self> {
        let secrets = HmacSecrets::new(secrets, "empty Stripe secret")?;
        Ok(Self {
            secrets,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Sets the timestamp tolerance (both directions; Stripe's libraries use 300 s).
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }
}

#[derive(serde::Deserialize)]
struct EventId {
    id: Option<String>,
}

impl Verifier for Stripe {
    fn provider(&self) -> &'static str {
        "stripe"
    }

    fn tolerance(&self) -> Option<Duration> {
        Some(self.tolerance)
    }

    fn verify(&self, request: &Request<'_>, now: i64) -> Result<Verified> {
        let header = request.required("stripe-signature", "missing Stripe-Signature")?;
        let mut t = None;
        let mut v1 = Vec::new();
        for item in request.signature_items(header, ',')? {
            let (k, v) = item
                .split_once('=')
                .ok_or(Error::Malformed("Stripe-Signature item"))?;
            match k {
                "t" if t.is_none() => t = Some(v),
                "t" => return Err(Error::Malformed("Stripe-Signature has two timestamps")),
                "v1" => v1.push(decode_hex(v).ok_or(Error::Malformed("v1 is not hex"))?),
                _ => {} // v0 (test mode legacy) and future schemes are ignored
            }
        }
        let t = t.ok_or(Error::Malformed("Stripe-Signature without t="))?;
        let ts = parse_unix_seconds(t)?;
        if v1.is_empty() {
            return Err(Error::Malformed("Stripe-Signature without v1="));
        }
        request.check_signature_count(v1.len())?;
        let signed: [&[u8]; 3] = [t.as_bytes(), b".", request.body()];
        let ok = self
            .secrets
            .matches(HmacAlg::Sha256, &signed, v1.iter().map(Vec::as_slice));
        if !ok {
            return Err(Error::BadSignature);
        }
        check_timestamp(ts, now, self.tolerance)?;
        // The event id (`evt_…`) is inside the signed body: the idempotency key Stripe
        // documents. Fall back to a hash of the signed content.
        let id = serde_json::from_slice::<EventId>(request.body())
            .ok()
            .and_then(|e| e.id)
            .filter(|id| !id.is_empty() && id.len() <= 255)
            .unwrap_or_else(|| content_id(&signed));
        Ok(Verified {
            provider: "stripe",
            id,
            timestamp: Some(ts),
        })
    }
}

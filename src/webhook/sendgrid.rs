//! SendGrid event webhooks: `X-Twilio-Email-Event-Webhook-Signature: BASE64` (an ECDSA P-256
//! / SHA-256 signature in ASN.1 DER) over `{X-Twilio-Email-Event-Webhook-Timestamp}{body}`,
//! verified with the public key SendGrid shows (base64 of a DER SubjectPublicKeyInfo).

use std::time::Duration;

use super::{
    check_secret_count, check_timestamp, content_id, decode_b64_std, parse_unix_seconds, Request,
    Verified, Verifier, DEFAULT_TOLERANCE,
};
use crate::crypto::{P256PublicKey, P256_PUBLIC_LEN};
use crate::error::{Error, Result};

/// The DER prefix of a P-256 SubjectPublicKeyInfo with an uncompressed point (RFC 5480):
/// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING { 04 || x || y } }.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Verifies SendGrid event webhooks.
pub struct SendGrid {
    /// Validated and (aws-lc-rs) parsed once, here.
    keys: Vec<P256PublicKey>,
    tolerance: Duration,
}

impl std::fmt::Debug for SendGrid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&[u8; P256_PUBLIC_LEN]> =
            self.keys.iter().map(P256PublicKey::bytes).collect();
        f.debug_struct("SendGrid")
            .field("keys", &keys)
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl SendGrid {
    /// A verifier for one or more verification keys, base64 SPKI as SendGrid shows them.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] unless each key is a base64 DER P-256 public key on the curve.
    pub fn new<S: AsRef<str>>(public_keys: &[S]) -> Result<Self> {
        check_secret_count(public_keys.len())?;
        let keys = public_keys
            .iter()
            .map(|k| {
                let der = decode_b64_std(k.as_ref().trim())
                    .ok_or(Error::InvalidKey("SendGrid key is not base64"))?;
                let point = der
                    .strip_prefix(&P256_SPKI_PREFIX[..])
                    .and_then(|p| <[u8; P256_PUBLIC_LEN]>::try_from(p).ok())
                    .ok_or(Error::InvalidKey(
                        "SendGrid key is not a P-256 SubjectPublicKeyInfo",
                    ))?;
                P256PublicKey::new_der(&point)
                    .map_err(|_| Error::InvalidKey("SendGrid key is not on the P-256 curve"))
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

impl Verifier for SendGrid {
    fn provider(&self) -> &'static str {
        "sendgrid"
    }

    fn tolerance(&self) -> Option<Duration> {
        Some(self.tolerance)
    }

    fn verify(&self, request: &Request<'_>, now: i64) -> Result<Verified> {
        let sig_b64 = request.required(
            "x-twilio-email-event-webhook-signature",
            "missing X-Twilio-Email-Event-Webhook-Signature",
        )?;
        let ts_text = request.required(
            "x-twilio-email-event-webhook-timestamp",
            "missing X-Twilio-Email-Event-Webhook-Timestamp",
        )?;
        let sig = decode_b64_std(sig_b64.trim())
            .filter(|s| s.len() <= 72)
            .ok_or(Error::Malformed("signature is not base64 DER"))?;
        let ts = parse_unix_seconds(ts_text)?;
        let msg = [ts_text.as_bytes(), request.body()].concat();
        if !self.keys.iter().any(|k| k.verify(&msg, &sig)) {
            return Err(Error::BadSignature);
        }
        check_timestamp(ts, now, self.tolerance)?;
        Ok(Verified {
            provider: "sendgrid",
            id: content_id(&[&msg]),
            timestamp: Some(ts),
        })
    }
}

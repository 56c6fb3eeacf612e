//! The producer side: sign an event with the source's key and encrypt it so that only the
//! named consumers can read it.

use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;

use crate::content::ContentKey;
use crate::crypto::TAG_LEN;
use crate::directory::RecipientDirectory;
use crate::encoding::check_label;
use crate::envelope::{
    envelope_len, payload_aad, signed_message, write_envelope, Header, Limits, RecipientEntry,
    MAX_CONTENT_TYPE_LEN, MAX_EVENT_TYPE_LEN,
};
use crate::error::{Error, Result};
#[cfg(feature = "async")]
use crate::keys::AsyncSigner;
use crate::keys::{SealTo, Signer, SignerIdentity, SigningKey, VerifyingKey};
use crate::time::{Clock, SystemClock};
use crate::wrap;

/// A UUID v7 (RFC 9562): the wall clock in milliseconds and 74 random bits from the crate's
/// one CSPRNG (the backend's), so no second source of randomness is linked in.
fn new_envelope_id() -> Result<Uuid> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let mut random = [0u8; 10];
    crate::crypto::fill_random(&mut random)?;
    Ok(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
}

/// Default time-to-live of a sealed envelope: one hour.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// Default content type of a payload.
pub const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// A sealed envelope: the JSON text to send (for example as an EventBridge `detail`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedEnvelope {
    json: String,
    id: Uuid,
    event_type: String,
}

impl SealedEnvelope {
    /// The envelope JSON.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.json
    }

    /// The envelope JSON as bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.json.as_bytes()
    }

    /// The envelope JSON, owned.
    #[must_use]
    pub fn into_string(self) -> String {
        self.json
    }

    /// The envelope id.
    #[must_use]
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The event type it was sealed as.
    #[must_use]
    pub fn event_type(&self) -> &str {
        &self.event_type
    }
}

/// Seals one event with the system clock and default limits: the one-call API. `key` is
/// any [`Signer`]: a [`SigningKey`], or a key in a KMS or HSM.
///
/// # Errors
/// See [`Sealer::seal`].
pub fn seal<'r, K: Signer + ?Sized, R: Into<SealTo<'r>> + Copy>(
    key: &K,
    event_type: &str,
    payload: &[u8],
    recipients: &[R],
    ttl: Duration,
) -> Result<SealedEnvelope> {
    let options = SealOptions {
        ttl,
        ..SealOptions::default()
    };
    let prepared = prepare(
        SignerIdentity::verifying_key(key),
        &SystemClock,
        &options,
        event_type,
        payload,
        recipients,
    )?;
    let signature = Signer::sign(key, &prepared.signed_message())?;
    Ok(prepared.finish(&signature))
}

/// Settings of a [`Sealer`] that are not the key or the clock.
#[derive(Clone, Debug)]
struct SealOptions {
    limits: Limits,
    ttl: Duration,
    content_type: String,
}

impl Default for SealOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            ttl: DEFAULT_TTL,
            content_type: DEFAULT_CONTENT_TYPE.to_owned(),
        }
    }
}

/// A producer's configured sealer. Owns its signer: an in-process [`SigningKey`] (the
/// default; parse keys once, not per event) or any other [`Signer`] (a key in a KMS or HSM),
/// and with the `async` feature any `AsyncSigner` (`Sealer::seal_async`).
/// `Send + Sync`, so one sealer can serve a whole service behind an `Arc`.
pub struct Sealer<K = SigningKey> {
    key: K,
    clock: Arc<dyn Clock>,
    options: SealOptions,
}

impl<K: std::fmt::Debug> std::fmt::Debug for Sealer<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("key", &self.key)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<K> Sealer<K> {
    /// A sealer signing with `key`, with the system clock, default limits, a one-hour
    /// time-to-live and content type `application/octet-stream`.
    #[must_use]
    pub fn new(key: K) -> Self {
        Self {
            key,
            clock: Arc::new(SystemClock),
            options: SealOptions::default(),
        }
    }

    /// The signing key.
    #[must_use]
    pub fn key(&self) -> &K {
        &self.key
    }

    /// Uses `clock` for issued-at.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Refuses to produce envelopes beyond `limits` (the consumers' limits should match).
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.options.limits = limits;
        self
    }

    /// The limits this sealer's envelopes are held to.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.options.limits
    }

    /// Sets the time-to-live (expires-at = issued-at + ttl, whole seconds).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.options.ttl = ttl;
        self
    }

    /// Sets the payload's content type (printable ASCII, at most 128 bytes).
    #[must_use]
    pub fn with_content_type(mut self, content_type: impl Into<String>) -> Self {
        self.options.content_type = content_type.into();
        self
    }

    /// Everything of sealing but the signature, with this sealer's clock and options.
    fn prepare<'r, R: Into<SealTo<'r>> + Copy>(
        &self,
        key: &VerifyingKey,
        event_type: &str,
        payload: &[u8],
        recipients: &[R],
    ) -> Result<Prepared> {
        prepare(
            key,
            self.clock.as_ref(),
            &self.options,
            event_type,
            payload,
            recipients,
        )
    }

    fn recipients_for<'d>(
        &self,
        consumers: &[&str],
        directory: &'d RecipientDirectory,
    ) -> Result<Vec<SealTo<'d>>> {
        let now = self.clock.now();
        consumers
            .iter()
            .map(|c| directory.current(c, now).map(SealTo::from))
            .collect()
    }
}

impl<K: Signer> Sealer<K> {
    /// Seals to the named consumers, each with its current key in `directory` (producer-side
    /// recipient-key rotation; see [`RecipientDirectory::current`]).
    ///
    /// # Errors
    /// As [`Sealer::seal`], and [`Error::InvalidInput`] when a consumer has no key valid now.
    pub fn seal_for(
        &self,
        event_type: &str,
        payload: &[u8],
        consumers: &[&str],
        directory: &RecipientDirectory,
    ) -> Result<SealedEnvelope> {
        let keys = self.recipients_for(consumers, directory)?;
        self.seal(event_type, payload, &keys)
    }

    /// Seals `payload` as an event of `event_type` to `recipients`.
    ///
    /// `recipients` may mix consumers' public keys (`&RecipientPublicKey`) and pre-shared keys
    /// (`&SymmetricKey`), as [`SealTo`] values.
    ///
    /// A fresh random content key encrypts the payload (AES-256-GCM); it is wrapped to each
    /// recipient (HPKE or pre-shared key), committed to in the header, and the source signs the header and
    /// ciphertext. The recipient count is checked before any key is wrapped, and the header
    /// and envelope sizes before the payload is encrypted or anything is signed.
    ///
    /// # Errors
    /// - [`Error::InvalidInput`]: no recipients, a recipient listed twice, a time-to-live of
    ///   zero or one that overflows, or a bad event/content type.
    /// - [`Error::TooLarge`]: the envelope would exceed the limits (recipients, header,
    ///   whole envelope).
    /// - [`Error::Rng`].
    /// - [`Error::Signer`]: the signer's backend (a KMS, an HSM) failed; nothing was produced.
    pub fn seal<'r, R: Into<SealTo<'r>> + Copy>(
        &self,
        event_type: &str,
        payload: &[u8],
        recipients: &[R],
    ) -> Result<SealedEnvelope> {
        let prepared = self.prepare(
            SignerIdentity::verifying_key(&self.key),
            event_type,
            payload,
            recipients,
        )?;
        let signature = Signer::sign(&self.key, &prepared.signed_message())?;
        Ok(prepared.finish(&signature))
    }
}

#[cfg(feature = "async")]
impl<K: AsyncSigner> Sealer<K> {
    /// [`Sealer::seal`] with an [`AsyncSigner`] (a key in AWS KMS: one `Sign` round trip per
    /// envelope). Everything but the signature is computed before the first await; a
    /// signer's failure ([`Error::Signer`]) produces no envelope.
    ///
    /// # Errors
    /// As [`Sealer::seal`], and [`Error::Signer`].
    pub async fn seal_async<'r, R: Into<SealTo<'r>> + Copy>(
        &self,
        event_type: &str,
        payload: &[u8],
        recipients: &[R],
    ) -> Result<SealedEnvelope> {
        let prepared = self.prepare(
            SignerIdentity::verifying_key(&self.key),
            event_type,
            payload,
            recipients,
        )?;
        let message = prepared.signed_message();
        let signature = self.key.sign_async(&message).await?;
        Ok(prepared.finish(&signature))
    }

    /// [`Sealer::seal_for`] with an [`AsyncSigner`].
    ///
    /// # Errors
    /// As [`Sealer::seal_for`], and [`Error::Signer`].
    pub async fn seal_for_async(
        &self,
        event_type: &str,
        payload: &[u8],
        consumers: &[&str],
        directory: &RecipientDirectory,
    ) -> Result<SealedEnvelope> {
        let keys = self.recipients_for(consumers, directory)?;
        self.seal_async(event_type, payload, &keys).await
    }
}

/// An envelope ready to be signed: its header, encrypted payload and id.
struct Prepared {
    header_bytes: Vec<u8>,
    ciphertext: Vec<u8>,
    id: Uuid,
    event_type: String,
}

impl Prepared {
    /// The bytes the source signs (docs/FORMAT.md, "Signature").
    fn signed_message(&self) -> Vec<u8> {
        signed_message(&self.header_bytes, &self.ciphertext)
    }

    fn finish(self, signature: &[u8]) -> SealedEnvelope {
        SealedEnvelope {
            json: write_envelope(&self.header_bytes, &self.ciphertext, signature),
            id: self.id,
            event_type: self.event_type,
        }
    }
}

/// Everything of sealing but the signature.
fn prepare<'r, R: Into<SealTo<'r>> + Copy>(
    key: &VerifyingKey,
    clock: &dyn Clock,
    options: &SealOptions,
    event_type: &str,
    payload: &[u8],
    recipients: &[R],
) -> Result<Prepared> {
    check_label(event_type, MAX_EVENT_TYPE_LEN, "event type")
        .map_err(|_| Error::InvalidInput("event type: 1-256 printable ASCII characters"))?;
    check_label(&options.content_type, MAX_CONTENT_TYPE_LEN, "content type")
        .map_err(|_| Error::InvalidInput("content type: 1-128 printable ASCII characters"))?;
    if recipients.is_empty() {
        return Err(Error::InvalidInput("at least one recipient is required"));
    }
    if recipients.len() > options.limits.max_recipients {
        return Err(Error::too_large(
            "recipients",
            options.limits.max_recipients,
            recipients.len(),
        ));
    }
    let ttl = i64::try_from(options.ttl.as_secs())
        .ok()
        .filter(|t| *t > 0)
        .ok_or(Error::InvalidInput(
            "time-to-live must be at least one second",
        ))?;
    let issued_at = clock.now();
    let expires_at = issued_at
        .checked_add(ttl)
        .ok_or(Error::InvalidInput("time-to-live overflows"))?;

    let id = new_envelope_id()?;
    let mut header = Header {
        id,
        source: key.source().to_owned(),
        key_id: key.key_id().as_str().to_owned(),
        event_type: event_type.to_owned(),
        content_type: options.content_type.clone(),
        issued_at,
        expires_at,
        recipients: Vec::with_capacity(recipients.len()),
        key_commitment: [0u8; 32],
    };
    let content_key = ContentKey::generate()?;
    let payload_keys = content_key.derive(&id);
    header.key_commitment = payload_keys.commitment;

    for r in recipients {
        let to: SealTo<'r> = (*r).into();
        let info = header.wrap_info(to.consumer(), to.key_id().as_str());
        let (enc, wrapped_key) = match to {
            SealTo::Public(k) => wrap::wrap_hpke(k, &info, content_key.as_bytes())?,
            SealTo::Symmetric(k) => wrap::wrap_psk(k, &info, content_key.as_bytes())?,
        };
        header.recipients.push(
            RecipientEntry::new(to.consumer(), to.key_id().as_str(), enc, wrapped_key)
                .ok_or(Error::InvalidInput("recipient id too long"))?,
        );
    }
    header.check_structure().map_err(|e| match e {
        Error::Malformed("duplicate recipient") => {
            Error::InvalidInput("a recipient key is listed twice")
        }
        other => other,
    })?;
    let header_bytes = header.to_json()?;
    if header_bytes.len() > options.limits.max_header_bytes {
        return Err(Error::too_large(
            "header bytes",
            options.limits.max_header_bytes,
            header_bytes.len(),
        ));
    }
    let total = envelope_len(header_bytes.len(), payload.len().saturating_add(TAG_LEN));
    if total > options.limits.max_envelope_bytes {
        return Err(Error::too_large(
            "envelope bytes",
            options.limits.max_envelope_bytes,
            total,
        ));
    }

    let mut ciphertext = Vec::with_capacity(payload.len() + TAG_LEN);
    ciphertext.extend_from_slice(payload);
    payload_keys.seal(&payload_aad(&header_bytes), &mut ciphertext)?;
    Ok(Prepared {
        header_bytes,
        ciphertext,
        id,
        event_type: event_type.to_owned(),
    })
}

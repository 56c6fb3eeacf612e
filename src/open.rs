//! The consumer side: a pipeline whose stages are types.
//!
//! ```text
//! bytes ──parse──▶ UntrustedEnvelope ──verify(trust)──▶ VerifiedEnvelope
//!       ──address(my keys)──▶ AddressedEnvelope ──check_freshness(now)──▶ FreshEnvelope
//!       ──claim(replay store)──▶ ClaimedEnvelope ──decrypt()──▶ Opened
//! ```
//!
//! Each stage consumes the previous one, and only [`ClaimedEnvelope`] has `decrypt`: code that
//! decrypts an unverified, unaddressed, stale or unclaimed envelope does not compile.
//!
//! ```compile_fail
//! # fn f(e: eventseal::UntrustedEnvelope) {
//! e.decrypt(); // no such method: verify, address, check freshness and claim first
//! # }
//! ```
//!
//! ```compile_fail
//! # fn f(e: eventseal::VerifiedEnvelope) {
//! e.decrypt(); // still no: the replay claim comes before decryption
//! # }
//! ```
//!
//! [`Opener::open`] and [`open`] run the whole pipeline in one call. With feature `async`,
//! `FreshEnvelope::claim_async` claims in an `AsyncReplayStore` and `AsyncOpener` runs the
//! pipeline with it: the claim is the only step that awaits; every other stage is the same
//! code.

use std::sync::Arc;

use crate::content::ContentKey;
use crate::envelope::{payload_aad, signed_message, Header, Limits, UntrustedEnvelope};
use crate::error::{Error, Result};
use crate::eventbridge::DeliveredEvent;
use crate::keys::{ConsumerKey, RecipientKey};
use crate::process::{Lease, OwnedKey, ProcessError};
use crate::replay::{Claim, LeaseRequest, LeaseToken, ReplayKey, ReplayStore};
use crate::time::{Clock, Freshness, SystemClock};
use crate::trust::{TrustStore, TrustedSource};
use crate::wrap;

impl UntrustedEnvelope {
    /// Finds the trusted key for the envelope's (source, key id), verifies the signature
    /// over the exact received header and ciphertext bytes, then checks the key's validity
    /// window against the (now authenticated) issued-at.
    ///
    /// # Errors
    /// [`Error::UnknownKey`] if no trusted key matches (or the key's window had not begun);
    /// [`Error::BadSignature`]; [`Error::KeyExpired`] if the key's window ended before the
    /// envelope was issued.
    pub fn verify(self, trust: &TrustStore) -> Result<VerifiedEnvelope<'_>> {
        let (verified, key) = self.verify_signature(trust)?;
        key.check_window(verified.env.header.issued_at)?;
        Ok(verified)
    }

    /// The signature step alone; the caller must check the key's window next.
    fn verify_signature(
        self,
        trust: &TrustStore,
    ) -> Result<(VerifiedEnvelope<'_>, &crate::trust::TrustedKey)> {
        let (source, key) = trust
            .lookup(&self.header.source, &self.header.key_id)
            .ok_or(Error::UnknownKey)?;
        let msg = signed_message(&self.header_bytes, &self.ciphertext);
        if !key.key().verifies(&msg, &self.signature) {
            return Err(Error::BadSignature);
        }
        Ok((VerifiedEnvelope { env: self, source }, key))
    }
}

/// An envelope whose signature verified under a trusted key of the source it names.
#[derive(Debug)]
pub struct VerifiedEnvelope<'t> {
    env: UntrustedEnvelope,
    source: &'t TrustedSource,
}

impl VerifiedEnvelope<'_> {
    /// The verified header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.env.header
    }

    /// The trusted source that signed it (its policy, accounts, EventBridge source).
    #[must_use]
    pub fn trusted_source(&self) -> &TrustedSource {
        self.source
    }

    /// Binds the envelope to the EventBridge event that delivered it: the delivering
    /// `account` must be one of the trusted source's accounts, the event's `source` must be
    /// the trusted source's EventBridge source, and its `detail-type` must be the envelope's
    /// signed event type. The account is set by EventBridge itself, so this is what stops a
    /// producer in one account from posing as a source owned by another.
    ///
    /// # Errors
    /// [`Error::BindingMismatch`], naming which field did not match (also when the trusted
    /// source has no accounts or no EventBridge source configured: fail closed).
    pub fn check_eventbridge_binding(&self, event: &DeliveredEvent<'_>) -> Result<()> {
        if !self.source.accounts().iter().any(|a| a == event.account()) {
            return Err(Error::BindingMismatch("account"));
        }
        if self.source.eventbridge_source() != Some(event.source()) {
            return Err(Error::BindingMismatch("source"));
        }
        if event.detail_type() != self.env.header.event_type {
            return Err(Error::BindingMismatch("detail-type"));
        }
        Ok(())
    }

    /// Policy: the source must be allowed to send this event type ([`Error::PolicyDenied`]),
    /// and this consumer must be among the signed recipients, matched on (consumer id, key
    /// id) against the consumer's keys (several during key rotation).
    ///
    /// # Errors
    /// [`Error::PolicyDenied`]; [`Error::NotARecipient`].
    pub fn address<K: RecipientKey>(self, keys: &[K]) -> Result<AddressedEnvelope<'_>> {
        if !self.source.allows(&self.env.header.event_type) {
            return Err(Error::PolicyDenied);
        }
        for (index, r) in self.env.header.recipients.iter().enumerate() {
            if let Some(key) = keys.iter().find(|k| {
                k.consumer_id().as_bytes() == r.consumer.as_bytes()
                    && k.recipient_key_id().as_str().as_bytes() == r.key_id.as_bytes()
            }) {
                return Ok(AddressedEnvelope {
                    env: self.env,
                    key,
                    index,
                });
            }
        }
        Err(Error::NotARecipient)
    }
}

/// A verified envelope addressed to one of this consumer's keys.
#[derive(Debug)]
pub struct AddressedEnvelope<'k> {
    env: UntrustedEnvelope,
    key: &'k dyn RecipientKey,
    index: usize,
}

impl<'k> AddressedEnvelope<'k> {
    /// The verified header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.env.header
    }

    /// Checks the signed validity window at `now` (see [`Freshness`]).
    ///
    /// # Errors
    /// [`Error::LifetimeTooLong`], [`Error::NotYetValid`] or [`Error::Expired`].
    pub fn check_freshness(self, freshness: &Freshness, now: i64) -> Result<FreshEnvelope<'k>> {
        freshness.check(&self.env.header, now)?;
        let replay_expiry = freshness.replay_expiry(&self.env.header);
        Ok(FreshEnvelope {
            inner: self,
            replay_expiry,
            now,
        })
    }
}

/// A verified, addressed envelope inside its validity window, not yet claimed.
#[derive(Debug)]
pub struct FreshEnvelope<'k> {
    inner: AddressedEnvelope<'k>,
    replay_expiry: i64,
    now: i64,
}

impl<'k> FreshEnvelope<'k> {
    /// The verified header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.inner.env.header
    }

    /// Claims (consumer, source, envelope id) in `store`, atomically, until the envelope can
    /// no longer be fresh.
    ///
    /// # Errors
    /// [`Error::Replayed`] if already claimed; [`Error::StoreUnavailable`] or
    /// [`Error::StoreFull`] when the store cannot record the claim (fail closed).
    pub fn claim(self, store: &dyn ReplayStore) -> Result<ClaimedEnvelope<'k>> {
        let mut buf = uuid::Uuid::encode_buffer();
        let id = self.envelope_id(&mut buf);
        let claim = store.claim(&self.replay_key(id), self.replay_expiry, self.now)?;
        self.claimed(claim)
    }

    /// [`FreshEnvelope::claim`] in an async store (feature `async`): the same key, expiry
    /// and outcome; only the store's I/O is awaited.
    ///
    /// # Errors
    /// [`Error::Replayed`] if already claimed; [`Error::StoreUnavailable`] or
    /// [`Error::StoreFull`] when the store cannot record the claim (fail closed).
    #[cfg(feature = "async")]
    pub async fn claim_async(
        self,
        store: &dyn crate::replay::AsyncReplayStore,
    ) -> Result<ClaimedEnvelope<'k>> {
        let mut buf = uuid::Uuid::encode_buffer();
        let id = self.envelope_id(&mut buf);
        let claim = store
            .claim_async(self.replay_key(id), self.replay_expiry, self.now)
            .await?;
        self.claimed(claim)
    }

    /// The envelope id as claims key it (lowercase hyphenated), encoded into `buf` rather
    /// than allocated: this runs on every open.
    fn envelope_id<'b>(&self, buf: &'b mut [u8; 45]) -> &'b str {
        self.inner.env.header.id.hyphenated().encode_lower(buf)
    }

    fn replay_key<'a>(&'a self, id: &'a str) -> ReplayKey<'a> {
        ReplayKey::envelope(
            self.inner.key.consumer_id(),
            &self.inner.env.header.source,
            id,
        )
    }

    fn claimed(self, claim: Claim) -> Result<ClaimedEnvelope<'k>> {
        match claim {
            Claim::Claimed => Ok(ClaimedEnvelope { inner: self.inner }),
            Claim::AlreadyClaimed => Err(Error::Replayed),
            Claim::InProgress => Err(Error::InProgress),
        }
    }

    /// Begins processing: writes an in-progress record (a lease of `lease`, capped at the
    /// envelope's replay expiry, owned by a fresh random token) for (consumer, source,
    /// envelope id), atomically. The returned stage can be decrypted; its [`Lease`] must then
    /// be completed (the handler succeeded) or released (it failed).
    ///
    /// # Errors
    /// [`Error::InProgress`] if another caller holds a live lease; [`Error::Replayed`] if the
    /// envelope was completed; [`Error::StoreUnavailable`], [`Error::StoreFull`] or
    /// [`Error::Rng`] (fail closed).
    pub fn begin<'s>(
        self,
        store: &'s dyn ReplayStore,
        lease: std::time::Duration,
    ) -> Result<LeasedEnvelope<'k, 's>> {
        let (key, request) = self.lease_request(lease)?;
        let begun = store.begin(&key.key(), &request)?;
        let record = crate::process::started(begun, key, &request)?;
        Ok(LeasedEnvelope {
            inner: self.inner,
            lease: Lease::new(store, record),
        })
    }

    /// [`FreshEnvelope::begin`] in an async store (feature `async`).
    ///
    /// # Errors
    /// As [`FreshEnvelope::begin`].
    #[cfg(feature = "async")]
    pub async fn begin_async<'s>(
        self,
        store: &'s dyn crate::replay::AsyncReplayStore,
        lease: std::time::Duration,
    ) -> Result<AsyncLeasedEnvelope<'k, 's>> {
        let (key, request) = self.lease_request(lease)?;
        let begun = store.begin_async(key.key(), request).await?;
        let record = crate::process::started(begun, key, &request)?;
        Ok(AsyncLeasedEnvelope {
            inner: self.inner,
            lease: crate::process::AsyncLease::new(store, record),
        })
    }

    fn lease_request(&self, lease: std::time::Duration) -> Result<(OwnedKey, LeaseRequest)> {
        let mut buf = uuid::Uuid::encode_buffer();
        let key = OwnedKey::of(&self.replay_key(self.envelope_id(&mut buf)));
        let secs = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX).max(1);
        let request = LeaseRequest::new(LeaseToken::random()?, self.now, secs, self.replay_expiry);
        Ok((key, request))
    }

    /// Skips the replay check. **Dangerous**: the same envelope can then be opened any number
    /// of times within its validity window. For tools that inspect archived traffic, never
    /// for a consumer that acts on events.
    #[must_use]
    pub fn skip_replay_check_dangerous(self) -> ClaimedEnvelope<'k> {
        ClaimedEnvelope { inner: self.inner }
    }
}

/// An envelope that passed every check and whose id is claimed: the only stage that can be
/// decrypted.
#[derive(Debug)]
pub struct ClaimedEnvelope<'k> {
    inner: AddressedEnvelope<'k>,
}

impl ClaimedEnvelope<'_> {
    /// The verified header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.inner.env.header
    }

    /// Unwraps this consumer's content key (HPKE or pre-shared key, as the consumer's own key
    /// decides), checks the key commitment and decrypts the payload in place.
    ///
    /// # Errors
    /// [`Error::DecryptFailed`], with no further detail.
    pub fn decrypt(self) -> Result<Opened> {
        decrypt(self.inner)
    }
}

/// An envelope whose processing has begun: verified, checked, and leased in the replay
/// store. Decrypting it gives the payload and the [`Lease`] to settle.
#[derive(Debug)]
#[must_use = "decrypt it, then complete or release its lease (dropping it releases)"]
pub struct LeasedEnvelope<'k, 's> {
    inner: AddressedEnvelope<'k>,
    lease: Lease<'s>,
}

impl<'s> LeasedEnvelope<'_, 's> {
    /// The verified header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.inner.env.header
    }

    /// Decrypts (as [`ClaimedEnvelope::decrypt`]) and hands back the lease.
    ///
    /// # Errors
    /// [`Error::DecryptFailed`]. That is not retryable (a broken or malicious producer), so
    /// the record is then completed, never released: the envelope is not worked on again.
    pub fn decrypt(self) -> Result<(Opened, Lease<'s>)> {
        match decrypt(self.inner) {
            Ok(opened) => Ok((opened, self.lease)),
            Err(e) => {
                if let Err(c) = self.lease.complete() {
                    tracing::warn!(
                        target: "eventseal::audit",
                        kind = c.kind().as_str(),
                        "could not complete the record of an envelope that failed to decrypt"
                    );
                }
                Err(e)
            }
        }
    }
}

/// [`LeasedEnvelope`] in an async store (feature `async`).
#[cfg(feature = "async")]
#[derive(Debug)]
#[must_use = "decrypt it, then complete or release its lease"]
pub struct AsyncLeasedEnvelope<'k, 's> {
    inner: AddressedEnvelope<'k>,
    lease: crate::process::AsyncLease<'s>,
}

#[cfg(feature = "async")]
impl<'s> AsyncLeasedEnvelope<'_, 's> {
    /// The verified header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.inner.env.header
    }

    /// [`LeasedEnvelope::decrypt`]: a decryption failure completes the record.
    ///
    /// # Errors
    /// [`Error::DecryptFailed`].
    pub async fn decrypt(self) -> Result<(Opened, crate::process::AsyncLease<'s>)> {
        match decrypt(self.inner) {
            Ok(opened) => Ok((opened, self.lease)),
            Err(e) => {
                if let Err(c) = self.lease.complete().await {
                    tracing::warn!(
                        target: "eventseal::audit",
                        kind = c.kind().as_str(),
                        "could not complete the record of an envelope that failed to decrypt"
                    );
                }
                Err(e)
            }
        }
    }
}

/// Unwraps the consumer's content key, checks the key commitment and decrypts in place.
fn decrypt(inner: AddressedEnvelope<'_>) -> Result<Opened> {
    let AddressedEnvelope { env, key, index } = inner;
    let UntrustedEnvelope {
        header,
        header_bytes,
        mut ciphertext,
        ..
    } = env;
    let r = header.recipients.get(index).ok_or(Error::DecryptFailed)?;
    let cek = key.unwrap_content_key(r, &wrap::info_for(&header, r))?;
    let content_key = ContentKey::from_bytes(cek);
    let keys = content_key.derive(&header.id);
    let len = keys.open(
        &header.key_commitment,
        &payload_aad(&header_bytes),
        &mut ciphertext,
    )?;
    ciphertext.truncate(len);
    Ok(Opened {
        header,
        payload: ciphertext,
    })
}

/// An opened envelope: the verified header and the plaintext payload.
#[derive(Debug)]
pub struct Opened {
    header: Header,
    payload: Vec<u8>,
}

impl Opened {
    /// The verified header (source, event type, times, id, …).
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The payload bytes, exactly as sealed.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The payload, owned.
    #[must_use]
    pub fn into_payload(self) -> Vec<u8> {
        self.payload
    }
}

/// Opens an envelope in one call with default limits and freshness rules.
///
/// Runs, in order: parse with limits, find the trusted key, verify the signature with the
/// key's own algorithm, check the key's validity window, check that the source may send this
/// event type and that one of `keys` is a recipient, check freshness at `clock.now()`, claim
/// the id in `store`, and only then unwrap and decrypt.
///
/// # Errors
/// Any [`Error`] of the stages above; see [`ErrorKind`](crate::ErrorKind).
pub fn open<K: RecipientKey>(
    envelope: &[u8],
    keys: &[K],
    trust: &TrustStore,
    clock: &dyn Clock,
    store: &dyn ReplayStore,
) -> Result<Opened> {
    let checks = Checks {
        keys,
        trust,
        limits: &Limits::default(),
        freshness: &Freshness::default(),
        now: clock.now(),
    };
    checks.run(envelope, None, Some(store))
}

/// What the stages before the claim check against: the consumer's keys, its trust store,
/// limits and freshness rules, and the time of this open.
struct Checks<'a, K> {
    keys: &'a [K],
    trust: &'a TrustStore,
    limits: &'a Limits,
    freshness: &'a Freshness,
    now: i64,
}

impl<'a, K: RecipientKey> Checks<'a, K> {
    /// Runs the pipeline; on rejection, emits one audit event (see [`audit_rejection`]).
    fn run(
        &self,
        envelope: &[u8],
        delivered: Option<&DeliveredEvent<'_>>,
        store: Option<&dyn ReplayStore>,
    ) -> Result<Opened> {
        let (fresh, facts) = self.check(envelope, delivered)?;
        let claimed = match store {
            Some(store) => fresh.claim(store),
            None => Ok(fresh.skip_replay_check_dangerous()),
        };
        finish(claimed, &facts)
    }

    /// [`Checks::run`] with an async store: the same checks, an awaited claim, the same
    /// decryption.
    #[cfg(feature = "async")]
    async fn run_async(
        &self,
        envelope: &[u8],
        delivered: Option<&DeliveredEvent<'_>>,
        store: &dyn crate::replay::AsyncReplayStore,
    ) -> Result<Opened>
    where
        K: Sync,
    {
        let (fresh, facts) = self.check(envelope, delivered)?;
        finish(fresh.claim_async(store).await, &facts)
    }

    /// The pipeline with a lease instead of a claim, then `handler` on the opened envelope:
    /// completed on `Ok`, released on `Err` or a panic. Without a store (the dangerous opener)
    /// the handler runs with no record at all.
    fn process<T, E>(
        &self,
        envelope: &[u8],
        delivered: Option<&DeliveredEvent<'_>>,
        store: Option<&dyn ReplayStore>,
        lease: std::time::Duration,
        handler: impl FnOnce(&Opened) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, ProcessError<E>> {
        let (fresh, facts) = self
            .check(envelope, delivered)
            .map_err(ProcessError::Rejected)?;
        let Some(store) = store else {
            let opened = finish(Ok(fresh.skip_replay_check_dangerous()), &facts)
                .map_err(ProcessError::Rejected)?;
            return handler(&opened).map_err(|error| ProcessError::Handler {
                error,
                release: None,
            });
        };
        let (opened, lease) = fresh
            .begin(store, lease)
            .and_then(LeasedEnvelope::decrypt)
            .inspect_err(|e| audit_rejection(e, Some(&facts), true))
            .map_err(ProcessError::Rejected)?;
        crate::process::run_leased(lease, &opened, handler)
    }

    /// [`Checks::process`] with an async store and an async handler, which owns the opened
    /// envelope.
    #[cfg(feature = "async")]
    async fn process_async<T, E, F>(
        &self,
        envelope: &[u8],
        delivered: Option<&DeliveredEvent<'_>>,
        store: &dyn crate::replay::AsyncReplayStore,
        lease: std::time::Duration,
        handler: impl FnOnce(Opened) -> F,
    ) -> std::result::Result<T, ProcessError<E>>
    where
        K: Sync,
        F: std::future::Future<Output = std::result::Result<T, E>>,
    {
        let (fresh, facts) = self
            .check(envelope, delivered)
            .map_err(ProcessError::Rejected)?;
        let leased = match fresh.begin_async(store, lease).await {
            Ok(leased) => leased.decrypt().await,
            Err(e) => Err(e),
        };
        let (opened, lease) = leased
            .inspect_err(|e| audit_rejection(e, Some(&facts), true))
            .map_err(ProcessError::Rejected)?;
        crate::process::run_leased_async(lease, opened, handler).await
    }

    /// Every stage before the claim: parse, signature, key window, EventBridge binding,
    /// policy, freshness. A rejection here is audited before it is returned.
    fn check(
        &self,
        envelope: &[u8],
        delivered: Option<&DeliveredEvent<'_>>,
    ) -> Result<(FreshEnvelope<'a>, AuditFacts)> {
        let untrusted = match UntrustedEnvelope::parse(envelope, self.limits) {
            Ok(u) => u,
            Err(e) => {
                audit_rejection(&e, None, false);
                return Err(e);
            }
        };
        let facts = AuditFacts::of(untrusted.untrusted_header());
        let mut verified_yet = false;
        let result = (|| {
            // The two halves of `verify`, so the audit event says whether the signature held
            // even when the key's window then rejects the envelope.
            let (verified, key) = untrusted.verify_signature(self.trust)?;
            verified_yet = true;
            key.check_window(verified.header().issued_at())?;
            if let Some(event) = delivered {
                verified.check_eventbridge_binding(event)?;
            }
            verified
                .address(self.keys)?
                .check_freshness(self.freshness, self.now)
        })();
        match result {
            Ok(fresh) => Ok((fresh, facts)),
            Err(e) => {
                audit_rejection(&e, Some(&facts), verified_yet);
                Err(e)
            }
        }
    }
}

/// The claim's outcome, then decryption; a rejection is audited (the signature had held).
fn finish(claimed: Result<ClaimedEnvelope<'_>>, facts: &AuditFacts) -> Result<Opened> {
    let result = claimed.and_then(ClaimedEnvelope::decrypt);
    if let Err(e) = &result {
        audit_rejection(e, Some(facts), true);
    }
    result
}

/// What an audit event says about an envelope (public header facts only).
struct AuditFacts {
    source: String,
    key_id: String,
    envelope_id: uuid::Uuid,
    event_type: String,
}

impl AuditFacts {
    fn of(h: &Header) -> Self {
        Self {
            source: h.source.clone(),
            key_id: h.key_id.clone(),
            envelope_id: h.id,
            event_type: h.event_type.clone(),
        }
    }
}

/// Emits one `tracing` event (target `eventseal::audit`, level WARN) for a rejection: the
/// kind, and when the envelope parsed, its source, key id, envelope id and event type, with
/// `header_verified` saying whether the signature had verified (if not, those fields are
/// what the envelope *claims*). Never key material, never plaintext.
fn audit_rejection(e: &Error, facts: Option<&AuditFacts>, header_verified: bool) {
    let kind = e.kind().as_str();
    match facts {
        Some(f) => tracing::warn!(
            target: "eventseal::audit",
            kind,
            source = f.source.as_str(),
            key_id = f.key_id.as_str(),
            envelope_id = %f.envelope_id.hyphenated(),
            event_type = f.event_type.as_str(),
            header_verified,
            "envelope rejected"
        ),
        None => tracing::warn!(
            target: "eventseal::audit",
            kind,
            header_verified = false,
            "envelope rejected"
        ),
    }
}

/// What both openers hold besides their store: the consumer's keys (parsed once), trusted
/// sources, limits, freshness rules and clock.
struct Settings {
    keys: Vec<ConsumerKey>,
    trust: TrustStore,
    limits: Limits,
    freshness: Freshness,
    clock: Arc<dyn Clock>,
    lease: std::time::Duration,
}

impl Settings {
    fn new(keys: Vec<ConsumerKey>, trust: TrustStore) -> Self {
        Self {
            keys,
            trust,
            limits: Limits::default(),
            freshness: Freshness::default(),
            clock: Arc::new(SystemClock),
            lease: crate::process::DEFAULT_LEASE,
        }
    }

    fn debug(&self, name: &str, f: &mut std::fmt::Formatter<'_>, replay: bool) -> std::fmt::Result {
        f.debug_struct(name)
            .field("keys", &self.keys)
            .field("trust", &self.trust)
            .field("limits", &self.limits)
            .field("freshness", &self.freshness)
            .field("lease", &self.lease)
            .field("replay_check", &replay)
            .finish_non_exhaustive()
    }

    fn checks(&self) -> Checks<'_, ConsumerKey> {
        Checks {
            keys: &self.keys,
            trust: &self.trust,
            limits: &self.limits,
            freshness: &self.freshness,
            now: self.clock.now(),
        }
    }

    fn parse_delivered<'e>(&self, event: &'e [u8]) -> Result<DeliveredEvent<'e>> {
        DeliveredEvent::parse(event, &self.limits).inspect_err(|e| audit_rejection(e, None, false))
    }
}

/// The builder methods and accessors [`Opener`] and [`AsyncOpener`] share.
macro_rules! settings_methods {
    () => {
        /// Uses `clock` for freshness checks and replay-store expiry.
        #[must_use]
        pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
            self.settings.clock = clock;
            self
        }

        /// Sets the parsing limits.
        #[must_use]
        pub fn with_limits(mut self, limits: Limits) -> Self {
            self.settings.limits = limits;
            self
        }

        /// Sets the freshness rules.
        #[must_use]
        pub fn with_freshness(mut self, freshness: Freshness) -> Self {
            self.settings.freshness = freshness;
            self
        }

        /// Sets how long `process` holds an envelope's lease while its handler runs before
        /// another delivery may take it over (default 5 minutes; at least 1 s; never past the
        /// envelope's replay expiry). Choose it longer than the handler's longest run (a
        /// Lambda function's timeout, an SQS visibility timeout).
        #[must_use]
        pub fn with_lease(mut self, lease: std::time::Duration) -> Self {
            self.settings.lease = lease;
            self
        }

        /// The trust store.
        #[must_use]
        pub fn trust(&self) -> &TrustStore {
            &self.settings.trust
        }

        /// The consumer's recipient keys.
        #[must_use]
        pub fn keys(&self) -> &[ConsumerKey] {
            &self.settings.keys
        }
    };
}

/// A consumer's configured opener: its recipient keys (parsed once), trusted sources, limits,
/// freshness rules, clock and replay store. `Send + Sync`: share one per service.
pub struct Opener {
    settings: Settings,
    store: Option<Arc<dyn ReplayStore>>,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.settings.debug("Opener", f, self.store.is_some())
    }
}

impl Opener {
    /// An opener that claims every envelope in `store` before decrypting it. `keys` are the
    /// consumer's keys: [`RecipientSecretKey`](crate::RecipientSecretKey)s,
    /// [`SymmetricKey`](crate::SymmetricKey)s or [`ConsumerKey`]s.
    #[must_use]
    pub fn new<K: Into<ConsumerKey>>(
        keys: impl IntoIterator<Item = K>,
        trust: TrustStore,
        store: Arc<dyn ReplayStore>,
    ) -> Self {
        Self {
            settings: Settings::new(keys.into_iter().map(Into::into).collect(), trust),
            store: Some(store),
        }
    }

    /// An opener with **no replay protection**: an envelope opens any number of times
    /// within its validity window. Only for inspecting archived traffic.
    #[must_use]
    pub fn new_without_replay_check_dangerous<K: Into<ConsumerKey>>(
        keys: impl IntoIterator<Item = K>,
        trust: TrustStore,
    ) -> Self {
        Self {
            settings: Settings::new(keys.into_iter().map(Into::into).collect(), trust),
            store: None,
        }
    }

    settings_methods!();

    /// Runs the whole pipeline on one envelope (see [`open`]).
    ///
    /// # Errors
    /// Any [`Error`] of the pipeline's stages.
    pub fn open(&self, envelope: &[u8]) -> Result<Opened> {
        self.run(envelope, None)
    }

    /// Opens an envelope delivered inside an EventBridge event (the JSON a rule delivers to
    /// its target): the pipeline of [`Opener::open`] with the EventBridge binding checked right
    /// after the signature (account, source, detail-type; see
    /// [`VerifiedEnvelope::check_eventbridge_binding`]).
    ///
    /// # Errors
    /// Any [`Error`] of the pipeline, and [`Error::BindingMismatch`].
    pub fn open_eventbridge(&self, event: &[u8]) -> Result<Opened> {
        let delivered = self.settings.parse_delivered(event)?;
        self.run(delivered.detail_bytes(), Some(&delivered))
    }

    fn run(&self, envelope: &[u8], delivered: Option<&DeliveredEvent<'_>>) -> Result<Opened> {
        self.settings
            .checks()
            .run(envelope, delivered, self.store.as_deref())
    }

    /// Effectively-once processing: runs every check of [`Opener::open`], begins a lease on
    /// the envelope in the replay store (instead of claiming it outright), decrypts, runs
    /// `handler` on the opened envelope, then **completes** the record when the handler
    /// returns `Ok` and **releases** it when it returns `Err` or panics, so a redelivery is
    /// processed. A delivery while the handler runs is `in-progress`; one after completion is
    /// `replayed`. See [`crate::process`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use eventseal::{seal, ErrorKind, MemoryReplayStore, Opener, ProcessError, RecipientSecretKey, SigningKey, TrustStore};
    ///
    /// # fn main() -> Result<(), eventseal::Error> {
    /// let orders = SigningKey::generate("orders")?;
    /// let billing = RecipientSecretKey::generate("billing")?;
    /// let env = seal(&orders, "order.created", b"{}", &[billing.public_key()], Duration::from_secs(300))?;
    /// let trust = TrustStore::new().with(orders.verifying_key().clone());
    /// let opener = Opener::new([billing], trust, Arc::new(MemoryReplayStore::default()));
    ///
    /// // The handler fails (its database is down): the lease is released...
    /// let first = opener.process(env.as_bytes(), |_| Err::<(), _>("database down"));
    /// assert!(matches!(first, Err(ProcessError::Handler { .. })));
    /// // ...so the redelivery is processed,
    /// let second = opener.process(env.as_bytes(), |opened| Ok::<_, ()>(opened.payload().len()));
    /// assert_eq!(second.unwrap(), 2);
    /// // and a third delivery is a duplicate to acknowledge.
    /// let third = opener.process(env.as_bytes(), |_| Ok::<_, ()>(0));
    /// let Err(ProcessError::Rejected(e)) = third else { panic!() };
    /// assert_eq!(e.kind(), ErrorKind::Replayed);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`ProcessError::Rejected`] with any kind of the pipeline ([`Error::InProgress`]
    /// included); [`ProcessError::Handler`]; [`ProcessError::NotCompleted`]
    /// ([`Error::LeaseLost`] or a store error after the handler succeeded).
    pub fn process<T, E>(
        &self,
        envelope: &[u8],
        handler: impl FnOnce(&Opened) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, ProcessError<E>> {
        self.settings.checks().process(
            envelope,
            None,
            self.store.as_deref(),
            self.settings.lease,
            handler,
        )
    }

    /// [`Opener::process`] for an envelope delivered inside an EventBridge event (see
    /// [`Opener::open_eventbridge`]).
    ///
    /// # Errors
    /// As [`Opener::process`], and [`Error::BindingMismatch`].
    pub fn process_eventbridge<T, E>(
        &self,
        event: &[u8],
        handler: impl FnOnce(&Opened) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, ProcessError<E>> {
        let delivered = self
            .settings
            .parse_delivered(event)
            .map_err(ProcessError::Rejected)?;
        self.settings.checks().process(
            delivered.detail_bytes(),
            Some(&delivered),
            self.store.as_deref(),
            self.settings.lease,
            handler,
        )
    }
}

/// [`Opener`] for async consumers (feature `async`): the same pipeline, claiming in an
/// [`AsyncReplayStore`](crate::AsyncReplayStore) (for example `AsyncRedisReplayStore` with
/// features `redis` and `tokio`, or a [`MemoryReplayStore`](crate::MemoryReplayStore)). Every check before the claim and
/// the decryption after it run in place (they do not wait on I/O; an open is about 70 µs of
/// CPU at 1 KiB); only the claim is awaited. `Send + Sync`, and its futures are `Send`.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use eventseal::{seal, AsyncOpener, MemoryReplayStore, RecipientSecretKey, SigningKey, TrustStore};
///
/// # fn main() -> Result<(), eventseal::Error> {
/// let orders = SigningKey::generate("orders")?;
/// let billing = RecipientSecretKey::generate("billing")?;
/// let envelope = seal(&orders, "order.created", b"{}", &[billing.public_key()],
///                     Duration::from_secs(300))?;
///
/// let trust = TrustStore::new().with(orders.verifying_key().clone());
/// let opener = AsyncOpener::new([billing], trust, Arc::new(MemoryReplayStore::default()));
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// # rt.block_on(async {
/// let opened = opener.open(envelope.as_bytes()).await?;
/// assert_eq!(opened.payload(), b"{}");
/// let again = opener.open(envelope.as_bytes()).await;
/// assert_eq!(again.unwrap_err().kind(), eventseal::ErrorKind::Replayed);
/// # Ok::<(), eventseal::Error>(()) })?;
/// # Ok(()) }
/// ```
#[cfg(feature = "async")]
pub struct AsyncOpener {
    settings: Settings,
    store: Arc<dyn crate::replay::AsyncReplayStore>,
}

#[cfg(feature = "async")]
impl std::fmt::Debug for AsyncOpener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.settings.debug("AsyncOpener", f, true)
    }
}

#[cfg(feature = "async")]
impl AsyncOpener {
    /// An opener that claims every envelope in `store` before decrypting it. `keys` as for
    /// [`Opener::new`].
    #[must_use]
    pub fn new<K: Into<ConsumerKey>>(
        keys: impl IntoIterator<Item = K>,
        trust: TrustStore,
        store: Arc<dyn crate::replay::AsyncReplayStore>,
    ) -> Self {
        Self {
            settings: Settings::new(keys.into_iter().map(Into::into).collect(), trust),
            store,
        }
    }

    settings_methods!();

    /// Runs the whole pipeline on one envelope, awaiting only the claim (see [`Opener::open`]).
    ///
    /// # Errors
    /// Any [`Error`] of the pipeline's stages.
    pub async fn open(&self, envelope: &[u8]) -> Result<Opened> {
        self.run(envelope, None).await
    }

    /// [`Opener::open_eventbridge`], awaiting only the claim.
    ///
    /// # Errors
    /// Any [`Error`] of the pipeline, and [`Error::BindingMismatch`].
    pub async fn open_eventbridge(&self, event: &[u8]) -> Result<Opened> {
        let delivered = self.settings.parse_delivered(event)?;
        self.run(delivered.detail_bytes(), Some(&delivered)).await
    }

    async fn run(&self, envelope: &[u8], delivered: Option<&DeliveredEvent<'_>>) -> Result<Opened> {
        self.settings
            .checks()
            .run_async(envelope, delivered, self.store.as_ref())
            .await
    }

    /// [`Opener::process`] with an async handler, which receives the opened envelope: the
    /// lease is begun, completed and released in the async store. A handler future that is
    /// dropped (cancelled) or panics leaves its lease to lapse (see [`AsyncLease`](crate::AsyncLease)).
    ///
    /// # Errors
    /// As [`Opener::process`].
    pub async fn process<T, E, F>(
        &self,
        envelope: &[u8],
        handler: impl FnOnce(Opened) -> F,
    ) -> std::result::Result<T, ProcessError<E>>
    where
        F: std::future::Future<Output = std::result::Result<T, E>>,
    {
        self.settings
            .checks()
            .process_async(
                envelope,
                None,
                self.store.as_ref(),
                self.settings.lease,
                handler,
            )
            .await
    }

    /// [`AsyncOpener::process`] for an envelope delivered inside an EventBridge event.
    ///
    /// # Errors
    /// As [`Opener::process_eventbridge`].
    pub async fn process_eventbridge<T, E, F>(
        &self,
        event: &[u8],
        handler: impl FnOnce(Opened) -> F,
    ) -> std::result::Result<T, ProcessError<E>>
    where
        F: std::future::Future<Output = std::result::Result<T, E>>,
    {
        let delivered = self
            .settings
            .parse_delivered(event)
            .map_err(ProcessError::Rejected)?;
        self.settings
            .checks()
            .process_async(
                delivered.detail_bytes(),
                Some(&delivered),
                self.store.as_ref(),
                self.settings.lease,
                handler,
            )
            .await
    }
}

//! Verifying third-party webhooks: one [`Verifier`] per provider, one trait for them all.
//!
//! **Verify the raw body bytes exactly as received.** Every provider signs the bytes it sent.
//! A framework that parses the JSON and serializes it again (key order, whitespace, number and
//! Unicode formatting) produces different bytes, and a correct signature then fails, or, worse,
//! a handler "fixes" that by verifying something other than what it acts on. Take the body as
//! bytes (`axum::body::Bytes`, `hyper::body::Bytes`, `Vec<u8>`) before any parsing, verify, and
//! only then parse those same bytes.
//!
//! Every verifier here:
//! - looks headers up case-insensitively, and treats a missing, duplicated or malformed header
//!   as [`Error::Malformed`] (never a panic);
//! - compares MACs in constant time and accepts any one of several signatures in a header
//!   (at most [`MAX_SIGNATURES`]) under any one of several secrets (rotation);
//! - where the scheme signs a timestamp, rejects it outside a tolerance in both directions
//!   (default 5 minutes, as Stripe and Standard Webhooks use): [`Error::Expired`] for stale,
//!   [`Error::NotYetValid`] for future;
//! - returns a [`Verified`] with the message id to deduplicate on, which
//!   [`verify_and_claim`] claims in a [`ReplayStore`]; with feature `async`,
//!   `verify_and_claim_async` claims in an `AsyncReplayStore`.

use std::time::Duration;

use crate::crypto;
use crate::error::{Error, Result};
use crate::process::{Lease, OwnedKey, ProcessError};
use crate::replay::{Claim, LeaseRequest, LeaseToken, ReplayKey, ReplayStore};

mod discord;
mod generic;
mod github;
mod sendgrid;
mod shopify;
mod slack;
mod standard;
mod stripe;
mod twilio;

pub use discord::Discord;
pub use generic::{GenericHmac, MacEncoding};
pub use github::GitHub;
pub use sendgrid::SendGrid;
pub use shopify::Shopify;
pub use slack::Slack;
pub use standard::{StandardSigner, StandardWebhooks};
pub use stripe::Stripe;
pub use twilio::Twilio;

/// Default timestamp tolerance: 5 minutes each way.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Default for [`WebhookLimits::max_signatures`]: most signatures accepted in one header.
pub const MAX_SIGNATURES: usize = 16;

/// Default for [`WebhookLimits::max_header_bytes`]: longest header value accepted, in bytes.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;

/// Caps on what a verifier reads from a [`Request`], checked before any MAC or signature
/// work; going over one is [`Error::TooLarge`].
///
/// ```
/// use eventseal::webhook::{Request, WebhookLimits};
///
/// let limits = WebhookLimits::default().with_max_signatures(4);
/// let request = Request::new([("webhook-id", "msg_1")], b"{}").with_limits(limits);
/// assert_eq!(request.limits().max_signatures, 4);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookLimits {
    /// Most signatures considered in one signature header (Standard Webhooks `v1` and `v1a`
    /// together, Stripe `v1`, generic). A header may hold at most twice as many items of any
    /// kind before they are even counted. Default [`MAX_SIGNATURES`] (16).
    pub max_signatures: usize,
    /// Longest value of any header a verifier reads, in bytes. Default [`MAX_HEADER_BYTES`]
    /// (8 KiB).
    pub max_header_bytes: usize,
}

impl Default for WebhookLimits {
    fn default() -> Self {
        Self {
            max_signatures: MAX_SIGNATURES,
            max_header_bytes: MAX_HEADER_BYTES,
        }
    }
}

impl WebhookLimits {
    /// Sets [`WebhookLimits::max_signatures`].
    #[must_use]
    pub fn with_max_signatures(mut self, n: usize) -> Self {
        self.max_signatures = n;
        self
    }

    /// Sets [`WebhookLimits::max_header_bytes`].
    #[must_use]
    pub fn with_max_header_bytes(mut self, n: usize) -> Self {
        self.max_header_bytes = n;
        self
    }
}

/// An incoming webhook request: its headers, its raw body, and (for providers that sign it,
/// such as Twilio) the full URL it was sent to.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    headers: Vec<(&'a str, &'a str)>,
    body: &'a [u8],
    url: Option<&'a str>,
    limits: WebhookLimits,
}

impl<'a> Request<'a> {
    /// A request with these headers (name, value) and raw body.
    #[must_use]
    pub fn new(headers: impl IntoIterator<Item = (&'a str, &'a str)>, body: &'a [u8]) -> Self {
        Self {
            headers: headers.into_iter().collect(),
            body,
            url: None,
            limits: WebhookLimits::default(),
        }
    }

    /// Replaces the default [`WebhookLimits`].
    #[must_use]
    pub fn with_limits(mut self, limits: WebhookLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits this request is verified under.
    #[must_use]
    pub fn limits(&self) -> WebhookLimits {
        self.limits
    }

    /// Sets the full URL the provider requested (scheme, host, port, path and query), as
    /// Twilio signs it.
    #[must_use]
    pub fn with_url(mut self, url: &'a str) -> Self {
        self.url = Some(url);
        self
    }

    /// The raw body.
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        self.body
    }

    /// The URL, if given.
    #[must_use]
    pub fn url(&self) -> Option<&'a str> {
        self.url
    }

    /// The value of header `name` (ASCII case-insensitive), if present exactly once.
    ///
    /// # Errors
    /// [`Error::Malformed`] if it appears more than once; [`Error::TooLarge`] if it is longer
    /// than [`WebhookLimits::max_header_bytes`]; `Ok(None)` if absent.
    pub fn header(&self, name: &str) -> Result<Option<&'a str>> {
        let mut found = None;
        for (n, v) in &self.headers {
            if n.eq_ignore_ascii_case(name) {
                if found.is_some() {
                    return Err(Error::Malformed("header repeated"));
                }
                let limit = self.limits.max_header_bytes;
                if v.len() > limit {
                    return Err(Error::too_large("header bytes", limit, v.len()));
                }
                found = Some(*v);
            }
        }
        Ok(found)
    }

    /// The value of a header that must be present.
    ///
    /// # Errors
    /// [`Error::Malformed`] if absent, repeated or too long.
    pub fn required(&self, name: &str, missing: &'static str) -> Result<&'a str> {
        self.header(name)?.ok_or(Error::Malformed(missing))
    }
}

/// What a verifier established about a webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The provider name (`stripe`, `github`, …).
    pub provider: &'static str,
    /// The id to deduplicate on: the provider's message id when the signature covers it,
    /// otherwise `sha256:` and the hex SHA-256 of the signed content (an unsigned id header
    /// could be changed by whoever replays the request).
    pub id: String,
    /// The signed timestamp (Unix seconds), for schemes that sign one.
    pub timestamp: Option<i64>,
}

/// A webhook signature scheme.
pub trait Verifier: Send + Sync {
    /// The provider name.
    fn provider(&self) -> &'static str;

    /// The timestamp tolerance, for schemes that sign a timestamp (`None` otherwise). A
    /// replay-store claim must outlive it, or a replay inside the tolerance would pass.
    fn tolerance(&self) -> Option<Duration> {
        None
    }

    /// Verifies `request` as of `now` (Unix seconds).
    ///
    /// # Errors
    /// [`Error::Malformed`] (headers), [`Error::TooLarge`] (too many signatures),
    /// [`Error::BadSignature`], [`Error::Expired`] / [`Error::NotYetValid`] (timestamp
    /// outside the tolerance).
    fn verify(&self, request: &Request<'_>, now: i64) -> Result<Verified>;
}

/// The provider names [`by_name`] accepts.
pub const PROVIDERS: &[&str] = &[
    "standard-webhooks",
    "svix",
    "stripe",
    "github",
    "slack",
    "shopify",
    "discord",
    "twilio",
    "sendgrid",
];

/// Builds the verifier for a provider by name (as configuration files and the command line
/// name them), with `secrets` in the provider's own encoding and the timestamp `tolerance`
/// (ignored by schemes without a timestamp).
///
/// # Errors
/// [`Error::InvalidInput`] for an unknown provider; [`Error::InvalidKey`] for secrets.
pub fn by_name<S: AsRef<str>>(
    provider: &str,
    secrets: &[S],
    tolerance: Duration,
) -> Result<Box<dyn Verifier>> {
    Ok(match provider {
        "standard-webhooks" => Box::new(StandardWebhooks::new(secrets)?.with_tolerance(tolerance)),
        "svix" => Box::new(StandardWebhooks::svix(secrets)?.with_tolerance(tolerance)),
        "stripe" => Box::new(Stripe::new(secrets)?.with_tolerance(tolerance)),
        "github" => Box::new(GitHub::new(secrets)?),
        "slack" => Box::new(Slack::new(secrets)?.with_tolerance(tolerance)),
        "shopify" => Box::new(Shopify::new(secrets)?),
        "discord" => Box::new(Discord::new(secrets)?.with_tolerance(tolerance)),
        "twilio" => Box::new(Twilio::new(secrets)?),
        "sendgrid" => Box::new(SendGrid::new(secrets)?.with_tolerance(tolerance)),
        _ => return Err(Error::InvalidInput("unknown webhook provider")),
    })
}

/// Verifies, then claims the message id in `store` for `consumer`, so a redelivery or a
/// replay is [`Error::Replayed`]. The claim lasts `retention` from now, and at least until a
/// signed timestamp has left the verifier's tolerance. For schemes without a signed timestamp
/// (GitHub, Shopify, Twilio) `retention` is the whole replay protection: choose it longer than
/// the provider's redelivery period.
///
/// # Errors
/// Those of [`Verifier::verify`], [`Error::Replayed`], and the store's errors (fail closed).
pub fn verify_and_claim(
    verifier: &dyn Verifier,
    request: &Request<'_>,
    now: i64,
    store: &dyn ReplayStore,
    consumer: &str,
    retention: Duration,
) -> Result<Verified> {
    let verified = verifier.verify(request, now)?;
    let plan = ClaimPlan::new(verifier, &verified, now, retention);
    let claim = store.claim(&plan.key(consumer, &verified), plan.until, now)?;
    claimed(verified, claim)
}

/// [`verify_and_claim`] with an async replay store (feature `async`): the same verification
/// and claim; only the store's I/O is awaited.
///
/// # Errors
/// Those of [`Verifier::verify`], [`Error::Replayed`], and the store's errors (fail closed).
#[cfg(feature = "async")]
pub async fn verify_and_claim_async(
    verifier: &dyn Verifier,
    request: &Request<'_>,
    now: i64,
    store: &dyn crate::replay::AsyncReplayStore,
    consumer: &str,
    retention: Duration,
) -> Result<Verified> {
    let verified = verifier.verify(request, now)?;
    let plan = ClaimPlan::new(verifier, &verified, now, retention);
    let claim = store
        .claim_async(plan.key(consumer, &verified), plan.until, now)
        .await?;
    claimed(verified, claim)
}

/// Effectively-once processing of a webhook delivery: verifies it, begins a lease on its
/// message id in `store` for `consumer` (kept, once completed, for as long as
/// [`verify_and_claim`] would keep its claim), runs `handler` on the verified delivery, then
/// completes the record on `Ok` and releases it on `Err` or a panic, so the provider's retry
/// is processed. A delivery while the handler runs is `in-progress` (answer the provider with
/// a retryable status, 409 or 503); one after completion is `replayed` (answer 200).
///
/// # Errors
/// [`ProcessError::Rejected`] with the kinds of [`verify_and_claim`] and
/// [`Error::InProgress`]; [`ProcessError::Handler`]; [`ProcessError::NotCompleted`].
#[allow(clippy::too_many_arguments)]
pub fn verify_and_process<T, E>(
    verifier: &dyn Verifier,
    request: &Request<'_>,
    now: i64,
    store: &dyn ReplayStore,
    consumer: &str,
    retention: Duration,
    lease: Duration,
    handler: impl FnOnce(&Verified) -> std::result::Result<T, E>,
) -> std::result::Result<T, ProcessError<E>> {
    let verified = verifier
        .verify(request, now)
        .map_err(ProcessError::Rejected)?;
    let plan = ClaimPlan::new(verifier, &verified, now, retention);
    let (key, lease_request) = plan
        .lease(consumer, &verified, now, lease)
        .map_err(ProcessError::Rejected)?;
    let begun = store
        .begin(&key.key(), &lease_request)
        .map_err(ProcessError::Rejected)?;
    let record =
        crate::process::started(begun, key, &lease_request).map_err(ProcessError::Rejected)?;
    crate::process::run_leased(Lease::new(store, record), &verified, handler)
}

/// [`verify_and_process`] with an async replay store and an async handler, which owns the
/// verified delivery (feature `async`).
///
/// # Errors
/// As [`verify_and_process`].
#[cfg(feature = "async")]
#[allow(clippy::too_many_arguments)]
pub async fn verify_and_process_async<T, E, F>(
    verifier: &dyn Verifier,
    request: &Request<'_>,
    now: i64,
    store: &dyn crate::replay::AsyncReplayStore,
    consumer: &str,
    retention: Duration,
    lease: Duration,
    handler: impl FnOnce(Verified) -> F,
) -> std::result::Result<T, ProcessError<E>>
where
    F: std::future::Future<Output = std::result::Result<T, E>>,
{
    let verified = verifier
        .verify(request, now)
        .map_err(ProcessError::Rejected)?;
    let plan = ClaimPlan::new(verifier, &verified, now, retention);
    let (key, lease_request) = plan
        .lease(consumer, &verified, now, lease)
        .map_err(ProcessError::Rejected)?;
    let begun = store
        .begin_async(key.key(), lease_request)
        .await
        .map_err(ProcessError::Rejected)?;
    let record =
        crate::process::started(begun, key, &lease_request).map_err(ProcessError::Rejected)?;
    let lease = crate::process::AsyncLease::new(store, record);
    crate::process::run_leased_async(lease, verified, handler).await
}

/// How long a verified delivery is claimed.
struct ClaimPlan {
    until: i64,
}

impl ClaimPlan {
    fn new(verifier: &dyn Verifier, verified: &Verified, now: i64, retention: Duration) -> Self {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        // Keep the claim for `retention` from now, and in any case until the signed timestamp
        // leaves the tolerance window (after which the verifier itself rejects the delivery).
        let mut until = now.saturating_add(secs(retention));
        if let (Some(ts), Some(tol)) = (verified.timestamp, verifier.tolerance()) {
            until = until.max(ts.saturating_add(secs(tol)).saturating_add(1));
        }
        Self { until }
    }

    /// The key (owned) and the lease request of a delivery being processed.
    fn lease(
        &self,
        consumer: &str,
        verified: &Verified,
        now: i64,
        lease: Duration,
    ) -> Result<(OwnedKey, LeaseRequest)> {
        let secs = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX).max(1);
        let request = LeaseRequest::new(LeaseToken::random()?, now, secs, self.until);
        Ok((OwnedKey::of(&self.key(consumer, verified)), request))
    }

    /// A webhook claim: its own namespace ([`ReplayKind::Webhook`](crate::ReplayKind)),
    /// apart from every envelope claim, keyed by the provider name.
    fn key<'a>(&self, consumer: &'a str, verified: &'a Verified) -> ReplayKey<'a> {
        ReplayKey::webhook(consumer, verified.provider, &verified.id)
    }
}

fn claimed(verified: Verified, claim: Claim) -> Result<Verified> {
    match claim {
        Claim::Claimed => Ok(verified),
        Claim::AlreadyClaimed => Err(Error::Replayed),
        Claim::InProgress => Err(Error::InProgress),
    }
}

// --- shared pieces ---------------------------------------------------------------------------

/// Checks a signed timestamp against `now` with `tolerance` both ways (overflow-safe).
pub(crate) fn check_timestamp(ts: i64, now: i64, tolerance: Duration) -> Result<()> {
    let tol = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
    if ts < now.saturating_sub(tol) {
        return Err(Error::Expired);
    }
    if ts > now.saturating_add(tol) {
        return Err(Error::NotYetValid);
    }
    Ok(())
}

/// Parses a decimal Unix timestamp: ASCII digits only (no sign, no spaces), at most 12 digits.
pub(crate) fn parse_unix_seconds(text: &str) -> Result<i64> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Malformed("timestamp"));
    }
    text.parse::<i64>()
        .map_err(|_| Error::Malformed("timestamp"))
}

/// Whether any `candidate` equals `expected`, compared in constant time per candidate.
pub(crate) fn any_matches<'c>(
    expected: &[u8],
    candidates: impl IntoIterator<Item = &'c [u8]>,
) -> bool {
    let mut ok = false;
    for c in candidates {
        ok |= crypto::ct_eq(expected, c);
    }
    ok
}

/// Decodes lowercase or uppercase hex; `None` on any other character or an odd length.
pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    hex::decode(text).ok()
}

/// Lowercase hex.
pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Standard base64 (with padding, as most providers send it); strict.
pub(crate) fn decode_b64_std(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Standard base64 with padding.
pub(crate) fn encode_b64_std(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A content-derived id for providers whose message id is not covered by the signature.
pub(crate) fn content_id(parts: &[&[u8]]) -> String {
    format!("sha256:{}", encode_hex(&crypto::sha256(parts)))
}

impl Request<'_> {
    /// Splits a signature header into its non-empty items, refusing more than twice
    /// [`WebhookLimits::max_signatures`] before anything is decoded.
    pub(crate) fn signature_items<'v>(&self, value: &'v str, sep: char) -> Result<Vec<&'v str>> {
        let limit = self.limits.max_signatures;
        let mut items = Vec::new();
        for item in value.split(sep).map(str::trim).filter(|s| !s.is_empty()) {
            if items.len() >= limit.saturating_mul(2) {
                let total = value.split(sep).filter(|s| !s.trim().is_empty()).count();
                return Err(Error::too_large(
                    "signature header items",
                    limit.saturating_mul(2),
                    total,
                ));
            }
            items.push(item);
        }
        Ok(items)
    }

    /// Refuses more than [`WebhookLimits::max_signatures`] signatures of the scheme.
    pub(crate) fn check_signature_count(&self, n: usize) -> Result<()> {
        let limit = self.limits.max_signatures;
        if n > limit {
            return Err(Error::too_large("signatures in a header", limit, n));
        }
        Ok(())
    }
}

/// Secrets used as their raw UTF-8 bytes (Stripe, GitHub, Slack, Shopify, Twilio, generic):
/// 1 to 16 of them (rotation), none empty; zeroized on drop.
pub(crate) struct HmacSecrets(Vec<zeroize::Zeroizing<Vec<u8>>>);

/// Shows how many secrets there are, never their bytes.
impl std::fmt::Debug for HmacSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.len())
    }
}

impl HmacSecrets {
    /// The secrets' UTF-8 bytes; `empty` is the error for an empty one.
    pub(crate) fn new<S: AsRef<str>>(secrets: &[S], empty: &'static str) -> Result<Self> {
        check_secret_count(secrets.len())?;
        secrets
            .iter()
            .map(|s| match s.as_ref() {
                "" => Err(Error::InvalidKey(empty)),
                s => Ok(zeroize::Zeroizing::new(s.as_bytes().to_vec())),
            })
            .collect::<Result<_>>()
            .map(Self)
    }

    /// Whether one of `candidates` is the `alg` HMAC of `parts` under one of the secrets.
    /// Every secret's MAC is computed and compared with every candidate, in constant time
    /// ([`any_matches`]), so the time does not say which secret or candidate matched.
    pub(crate) fn matches<'c>(
        &self,
        alg: crypto::HmacAlg,
        parts: &[&[u8]],
        candidates: impl IntoIterator<Item = &'c [u8]> + Clone,
    ) -> bool {
        self.0.iter().fold(false, |ok, key| {
            ok | any_matches(&crypto::hmac(alg, key, parts), candidates.clone())
        })
    }
}

/// Several secrets (rotation): at least one, at most 16.
pub(crate) fn check_secret_count(n: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::InvalidKey("at least one secret is required"));
    }
    if n > 16 {
        return Err(Error::InvalidKey("at most 16 secrets"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects() {
        assert_eq!(decode_hex("00ffA0").unwrap(), vec![0, 255, 160]);
        assert_eq!(encode_hex(&[0, 255, 160]), "00ffa0");
        for bad in ["0", "zz", "0g", "é0"] {
            assert!(decode_hex(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn timestamps() {
        assert!(parse_unix_seconds("1700000000").is_ok());
        for bad in ["", "-1", "+1", " 1", "1.0", "1e9", "9999999999999"] {
            assert!(parse_unix_seconds(bad).is_err(), "{bad}");
        }
        let t = DEFAULT_TOLERANCE;
        assert!(check_timestamp(1000, 1300, t).is_ok());
        assert!(matches!(
            check_timestamp(1000, 1301, t),
            Err(Error::Expired)
        ));
        assert!(matches!(
            check_timestamp(1301, 1000, t),
            Err(Error::NotYetValid)
        ));
        assert!(check_timestamp(i64::MAX, i64::MAX, t).is_ok());
        assert!(matches!(
            check_timestamp(0, i64::MAX, t),
            Err(Error::Expired)
        ));
    }

    #[test]
    fn headers_are_case_insensitive_and_single() {
        let r = Request::new([("Stripe-Signature", "a"), ("x-other", "b")], b"");
        assert_eq!(r.header("stripe-signature").unwrap(), Some("a"));
        assert_eq!(r.header("X-OTHER").unwrap(), Some("b"));
        assert_eq!(r.header("missing").unwrap(), None);
        let dup = Request::new([("a", "1"), ("A", "2")], b"");
        assert!(matches!(dup.header("a"), Err(Error::Malformed(_))));
    }
}

//! Effectively-once processing: a lease on a replay record, held while a handler runs, then
//! completed (the handler succeeded) or released (it failed).
//!
//! Buses and queues deliver at least once, and handlers fail. A replay record is therefore
//! absent, **in progress** (a lease: an owner token and a lease end) or **completed** (kept
//! until the envelope's replay expiry). [`Opener::process`](crate::Opener::process) begins a
//! lease, decrypts, runs the handler on the verified payload, then completes on `Ok` and
//! releases on `Err` (and, for the sync form, on a panic). A crashed process's lease lapses
//! after its duration and a redelivery is processed. A duplicate is `replayed` (acknowledge
//! it), a concurrent delivery `in-progress` (retry it later); see
//! [`ErrorKind::disposition`](crate::ErrorKind::disposition).
//!
//! Replay protection against an attacker is unchanged: nothing is decrypted before a lease is
//! held, a completed envelope never opens again, and a released one can be processed again
//! only within its validity window (freshness is checked before every begin).

use crate::error::{Disposition, Error, Result};
use crate::replay::{
    Begun, Completion, LeaseRequest, LeaseToken, ReplayKey, ReplayKind, ReplayStore,
};

/// The default lease: how long a handler may run before another delivery may take the
/// envelope over (Lambda Powertools' idempotency utility uses the same order of magnitude).
pub const DEFAULT_LEASE: std::time::Duration = std::time::Duration::from_secs(300);

/// A replay key with owned parts, held by a lease while its handler runs.
#[derive(Clone, Debug)]
pub(crate) struct OwnedKey {
    kind: ReplayKind,
    consumer: String,
    source: String,
    id: String,
}

impl OwnedKey {
    pub(crate) fn of(key: &ReplayKey<'_>) -> Self {
        Self {
            kind: key.kind,
            consumer: key.consumer.to_owned(),
            source: key.source.to_owned(),
            id: key.id.to_owned(),
        }
    }

    pub(crate) fn key(&self) -> ReplayKey<'_> {
        ReplayKey {
            kind: self.kind,
            consumer: &self.consumer,
            source: &self.source,
            id: &self.id,
        }
    }
}

/// What a lease needs to settle: its record and its owner token.
#[derive(Debug)]
pub(crate) struct LeaseRecord {
    pub(crate) key: OwnedKey,
    pub(crate) token: LeaseToken,
    pub(crate) expires_at: i64,
    pub(crate) now: i64,
}

/// `lease-lost` is an error, and audited: the handler may have run twice.
/// The record a begin started, or the rejection of a begin that did not start.
pub(crate) fn started(begun: Begun, key: OwnedKey, request: &LeaseRequest) -> Result<LeaseRecord> {
    match begun {
        Begun::Started => Ok(LeaseRecord {
            key,
            token: request.token,
            expires_at: request.expires_at,
            now: request.now,
        }),
        Begun::InProgress => Err(Error::InProgress),
        Begun::AlreadyDone => Err(Error::Replayed),
    }
}

fn completed(c: Completion) -> Result<()> {
    match c {
        Completion::Completed => Ok(()),
        Completion::LeaseLost => {
            tracing::warn!(
                target: "eventseal::audit",
                kind = "lease-lost",
                "a lease lapsed while its handler ran and another caller took the record over"
            );
            Err(Error::LeaseLost)
        }
    }
}

/// A held lease on a replay record: the caller is processing the envelope (or webhook
/// delivery). Complete it when the handler succeeded, release it when it failed.
///
/// Dropping it without either **releases** it (best effort; a failure to release is logged as
/// a `tracing` warning, target `eventseal::audit`, and the lease then lapses at its end):
/// an early return with `?` or a panic in the handler leaves the envelope to be processed by a
/// redelivery, never lost.
#[must_use = "complete the lease when the handler succeeded, release it when it failed (dropping it releases)"]
pub struct Lease<'s> {
    store: &'s dyn ReplayStore,
    record: LeaseRecord,
    settled: bool,
}

impl std::fmt::Debug for Lease<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

impl<'s> Lease<'s> {
    pub(crate) fn new(store: &'s dyn ReplayStore, record: LeaseRecord) -> Self {
        Self {
            store,
            record,
            settled: false,
        }
    }

    /// The owner token written with the in-progress record.
    #[must_use]
    pub fn token(&self) -> &LeaseToken {
        &self.record.token
    }

    /// Marks the record completed: later deliveries are `replayed` until it expires.
    ///
    /// # Errors
    /// [`Error::LeaseLost`] if the lease lapsed and another caller took the record over (the
    /// handler may have run twice); [`Error::StoreUnavailable`] if the outcome is unknown.
    pub fn complete(mut self) -> Result<()> {
        self.settled = true;
        let r = &self.record;
        completed(
            self.store
                .complete(&r.key.key(), &r.token, r.expires_at, r.now)?,
        )
    }

    /// Deletes the in-progress record, so a redelivery can be processed (within the
    /// envelope's validity window); `true` if it did. A record that is no longer this
    /// lease's is left alone (`false`).
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`]: the lease then lapses at its end.
    pub fn release(mut self) -> Result<bool> {
        self.settled = true;
        self.store
            .release(&self.record.key.key(), &self.record.token)
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        if let Err(e) = self
            .store
            .release(&self.record.key.key(), &self.record.token)
        {
            tracing::warn!(
                target: "eventseal::audit",
                kind = e.kind().as_str(),
                "a dropped lease could not be released; it lapses at its end"
            );
        }
    }
}

/// [`Lease`] for an [`AsyncReplayStore`](crate::AsyncReplayStore) (feature `async`).
///
/// Dropping it without [`AsyncLease::complete`] or [`AsyncLease::release`] cannot release it
/// (a drop cannot await): the in-progress record stays until the lease lapses, and deliveries
/// until then are `in-progress`. A `tracing` warning (target `eventseal::audit`) says so.
#[cfg(feature = "async")]
#[must_use = "complete the lease when the handler succeeded, release it when it failed (dropping it leaves it to lapse)"]
pub struct AsyncLease<'s> {
    store: &'s dyn crate::replay::AsyncReplayStore,
    record: LeaseRecord,
    settled: bool,
}

#[cfg(feature = "async")]
impl std::fmt::Debug for AsyncLease<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncLease")
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "async")]
impl<'s> AsyncLease<'s> {
    pub(crate) fn new(store: &'s dyn crate::replay::AsyncReplayStore, record: LeaseRecord) -> Self {
        Self {
            store,
            record,
            settled: false,
        }
    }

    /// The owner token written with the in-progress record.
    #[must_use]
    pub fn token(&self) -> &LeaseToken {
        &self.record.token
    }

    /// [`Lease::complete`], awaited.
    ///
    /// # Errors
    /// As [`Lease::complete`].
    pub async fn complete(mut self) -> Result<()> {
        self.settled = true;
        let r = &self.record;
        completed(
            self.store
                .complete_async(r.key.key(), r.token, r.expires_at, r.now)
                .await?,
        )
    }

    /// [`Lease::release`], awaited.
    ///
    /// # Errors
    /// As [`Lease::release`].
    pub async fn release(mut self) -> Result<bool> {
        self.settled = true;
        self.store
            .release_async(self.record.key.key(), self.record.token)
            .await
    }
}

#[cfg(feature = "async")]
impl Drop for AsyncLease<'_> {
    fn drop(&mut self) {
        if !self.settled {
            tracing::warn!(
                target: "eventseal::audit",
                "an async lease was dropped unsettled; it lapses at its end"
            );
        }
    }
}

/// Why processing did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError<E> {
    /// Rejected before the handler ran (any kind: `replayed` and `in-progress` included).
    /// Nothing was decrypted unless the lease was held; a `decrypt-failed` envelope is
    /// completed (a malicious or broken producer's envelope is never worked on again).
    #[error("rejected: {0}")]
    Rejected(#[source] Error),
    /// The handler failed; its lease was released so a redelivery is processed.
    /// `release` is the store's error if releasing failed (the lease then lapses at its end).
    #[error("the handler failed")]
    Handler {
        /// The handler's error.
        error: E,
        /// Releasing the lease failed: it lapses at its end instead.
        release: Option<Error>,
    },
    /// The handler succeeded, but the record could not be completed: `lease-lost` (the lease
    /// lapsed and another caller took the envelope over: the handler may have run twice) or
    /// `store-unavailable` (the outcome is unknown).
    #[error("the handler succeeded but its record was not completed: {0}")]
    NotCompleted(#[source] Error),
}

impl<E> ProcessError<E> {
    /// What a queue consumer should do with the delivery: a rejection's own disposition;
    /// [`Disposition::Retry`] after a failed handler or an uncompleted record.
    #[must_use]
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::Rejected(e) => e.disposition(),
            Self::Handler { .. } | Self::NotCompleted(_) => Disposition::Retry,
        }
    }
}

/// Runs `handler` on `input` under `lease`: completes on `Ok`, releases on `Err`; a panic
/// unwinds through the lease's drop, which releases it.
pub(crate) fn run_leased<I, T, E>(
    lease: Lease<'_>,
    input: &I,
    handler: impl FnOnce(&I) -> std::result::Result<T, E>,
) -> std::result::Result<T, ProcessError<E>> {
    match handler(input) {
        Ok(out) => lease
            .complete()
            .map(|()| out)
            .map_err(ProcessError::NotCompleted),
        Err(error) => Err(ProcessError::Handler {
            error,
            release: lease.release().err(),
        }),
    }
}

/// [`run_leased`] with an async handler, which owns its input, and an [`AsyncLease`].
#[cfg(feature = "async")]
pub(crate) async fn run_leased_async<I, T, E, F>(
    lease: AsyncLease<'_>,
    input: I,
    handler: impl FnOnce(I) -> F,
) -> std::result::Result<T, ProcessError<E>>
where
    F: std::future::Future<Output = std::result::Result<T, E>>,
{
    match handler(input).await {
        Ok(out) => lease
            .complete()
            .await
            .map(|()| out)
            .map_err(ProcessError::NotCompleted),
        Err(error) => Err(ProcessError::Handler {
            error,
            release: lease.release().await.err(),
        }),
    }
}

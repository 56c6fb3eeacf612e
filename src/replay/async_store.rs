//! Replay stores for async consumers (feature `async`): the [`AsyncReplayStore`] trait and,
//! with feature `tokio`, [`BlockingStore`], which runs a blocking store on Tokio's blocking
//! thread pool.
//!
//! The claim is the only step of the open pipeline that waits on I/O; every check before it
//! and the decryption after it are the same code as the sync pipeline's
//! ([`FreshEnvelope::claim_async`](crate::FreshEnvelope::claim_async)).

use std::future::Future;
use std::pin::Pin;

use super::{Claim, MemoryReplayStore, ReplayKey, ReplayStore};
use crate::error::Result;

/// The future an [`AsyncReplayStore`] returns: boxed, so the trait stays usable as
/// `dyn AsyncReplayStore`, and `Send`, so it can run on a multi-threaded runtime.
pub type ClaimFuture<'a> = Pin<Box<dyn Future<Output = Result<Claim>> + Send + 'a>>;

/// A store of claimed envelope ids with an async claim: the contract of
/// [`ReplayStore`](crate::ReplayStore) (atomic insert-if-absent; an error, never
/// [`Claim::Claimed`], when the claim cannot be recorded).
///
/// A future dropped before it completes accepts nothing: the caller never sees
/// [`Claim::Claimed`]. The claim itself may or may not have been recorded, so a later
/// delivery of the same envelope may be rejected as a replay (fail closed).
pub trait AsyncReplayStore: Send + Sync {
    /// Records `key` until `expires_at` (Unix seconds) unless a live entry exists; `now` is
    /// the opener's clock.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`](crate::Error::StoreUnavailable) or
    /// [`Error::StoreFull`](crate::Error::StoreFull): the caller rejects the envelope.
    fn claim_async<'a>(&'a self, key: ReplayKey<'a>, expires_at: i64, now: i64) -> ClaimFuture<'a>;
}

impl<S: AsyncReplayStore + ?Sized> AsyncReplayStore for &S {
    fn claim_async<'a>(&'a self, key: ReplayKey<'a>, expires_at: i64, now: i64) -> ClaimFuture<'a> {
        (**self).claim_async(key, expires_at, now)
    }
}

impl<S: AsyncReplayStore + ?Sized> AsyncReplayStore for std::sync::Arc<S> {
    fn claim_async<'a>(&'a self, key: ReplayKey<'a>, expires_at: i64, now: i64) -> ClaimFuture<'a> {
        (**self).claim_async(key, expires_at, now)
    }
}

impl<S: AsyncReplayStore + ?Sized> AsyncReplayStore for Box<S> {
    fn claim_async<'a>(&'a self, key: ReplayKey<'a>, expires_at: i64, now: i64) -> ClaimFuture<'a> {
        (**self).claim_async(key, expires_at, now)
    }
}

/// The memory store never waits on I/O (a claim takes one shard's lock for well under a
/// microsecond), so its async claim runs the sync one in place.
impl AsyncReplayStore for MemoryReplayStore {
    fn claim_async<'a>(&'a self, key: ReplayKey<'a>, expires_at: i64, now: i64) -> ClaimFuture<'a> {
        Box::pin(async move { self.claim(&key, expires_at, now) })
    }
}

/// A blocking [`ReplayStore`] (such as `SqliteReplayStore` (feature `sqlite`), whose
/// claims wait on the disk) made async: each claim runs on Tokio's blocking thread pool, so
/// it never stalls the runtime's worker threads (feature `tokio`).
///
/// Needs a Tokio runtime: outside one, a claim is
/// [`Error::StoreUnavailable`](crate::Error::StoreUnavailable), as is a claim whose blocking
/// task panicked.
#[cfg(feature = "tokio")]
#[derive(Debug)]
pub struct BlockingStore<S> {
    inner: std::sync::Arc<S>,
}

#[cfg(feature = "tokio")]
impl<S: ReplayStore + 'static> BlockingStore<S> {
    /// Wraps `store`.
    #[must_use]
    pub fn new(store: S) -> Self {
        Self::from_arc(std::sync::Arc::new(store))
    }

    /// Wraps a store that is also used elsewhere (for example by a sync opener, or for
    /// periodic `purge_expired` calls).
    #[must_use]
    pub fn from_arc(store: std::sync::Arc<S>) -> Self {
        Self { inner: store }
    }

    /// The wrapped store.
    #[must_use]
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

#[cfg(feature = "tokio")]
impl<S: ReplayStore + 'static> AsyncReplayStore for BlockingStore<S> {
    fn claim_async<'a>(&'a self, key: ReplayKey<'a>, expires_at: i64, now: i64) -> ClaimFuture<'a> {
        let inner = std::sync::Arc::clone(&self.inner);
        let kind = key.kind;
        let owned = (
            key.consumer.to_owned(),
            key.source.to_owned(),
            key.id.to_owned(),
        );
        Box::pin(async move {
            let runtime =
                tokio::runtime::Handle::try_current().map_err(crate::error::Error::store)?;
            runtime
                .spawn_blocking(move || {
                    let (consumer, source, id) = &owned;
                    let key = ReplayKey {
                        kind,
                        consumer,
                        source,
                        id,
                    };
                    inner.claim(&key, expires_at, now)
                })
                .await
                .map_err(crate::error::Error::store)?
        })
    }
}

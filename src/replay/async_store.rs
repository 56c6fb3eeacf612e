//! Replay stores for async consumers (feature `async`): the [`AsyncReplayStore`] trait and,
//! with feature `tokio`, [`BlockingStore`], which runs a blocking store on Tokio's blocking
//! thread pool.
//!
//! The claim is the only step of the open pipeline that waits on I/O; every check before it
//! and the decryption after it are the same code as the sync pipeline's
//! ([`FreshEnvelope::claim_async`](crate::FreshEnvelope::claim_async)).

use std::future::Future;
use std::pin::Pin;

use super::{
    Begun, Claim, Completion, LeaseRequest, LeaseToken, MemoryReplayStore, ReplayKey, ReplayStore,
};
use crate::error::Result;

/// The future an [`AsyncReplayStore`] operation returns: boxed, so the trait stays usable as
/// `dyn AsyncReplayStore`, and `Send`, so it can run on a multi-threaded runtime.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// The future of [`AsyncReplayStore::claim_async`].
pub type ClaimFuture<'a> = StoreFuture<'a, Claim>;

/// A replay store with async operations: the contract of [`ReplayStore`](crate::ReplayStore)
/// (records absent, in progress or completed; every operation atomic; an error, never a
/// success, when the outcome cannot be recorded).
///
/// A future dropped before it completes gives the caller nothing: no lease, no claim. The
/// operation itself may or may not have been applied, so a later delivery of the same
/// envelope may find it in progress (until the lease lapses) or completed (fail closed).
pub trait AsyncReplayStore: Send + Sync {
    /// [`ReplayStore::begin`](crate::ReplayStore::begin).
    fn begin_async<'a>(
        &'a self,
        key: ReplayKey<'a>,
        request: LeaseRequest,
    ) -> StoreFuture<'a, Begun>;

    /// [`ReplayStore::complete`](crate::ReplayStore::complete).
    fn complete_async<'a>(
        &'a self,
        key: ReplayKey<'a>,
        token: LeaseToken,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, Completion>;

    /// [`ReplayStore::release`](crate::ReplayStore::release).
    fn release_async<'a>(&'a self, key: ReplayKey<'a>, token: LeaseToken) -> StoreFuture<'a, bool>;

    /// [`ReplayStore::claim`](crate::ReplayStore::claim): begin and complete in one step.
    fn claim_async<'a>(&'a self, key: ReplayKey<'a>, expires_at: i64, now: i64) -> ClaimFuture<'a>;
}

/// Forwards every operation to the store behind a reference or a smart pointer.
macro_rules! forward_async_store {
    ($($ty:ty),*) => {$(
        impl<S: AsyncReplayStore + ?Sized> AsyncReplayStore for $ty {
            fn begin_async<'a>(&'a self, key: ReplayKey<'a>, request: LeaseRequest) -> StoreFuture<'a, Begun> {
                (**self).begin_async(key, request)
            }
            fn complete_async<'a>(
                &'a self,
                key: ReplayKey<'a>,
                token: LeaseToken,
                expires_at: i64,
                now: i64,
            ) -> StoreFuture<'a, Completion> {
                (**self).complete_async(key, token, expires_at, now)
            }
            fn release_async<'a>(&'a self, key: ReplayKey<'a>, token: LeaseToken) -> StoreFuture<'a, bool> {
                (**self).release_async(key, token)
            }
            fn claim_async<'a>(&'a self, key: ReplayKey<'a>, expires_at: i64, now: i64) -> ClaimFuture<'a> {
                (**self).claim_async(key, expires_at, now)
            }
        }
    )*};
}

forward_async_store!(&S, std::sync::Arc<S>, Box<S>);

/// The memory store never waits on I/O (an operation takes one shard's lock for well under
/// a microsecond), so its async operations run the sync ones in place.
impl AsyncReplayStore for MemoryReplayStore {
    fn begin_async<'a>(
        &'a self,
        key: ReplayKey<'a>,
        request: LeaseRequest,
    ) -> StoreFuture<'a, Begun> {
        Box::pin(async move { self.begin(&key, &request) })
    }
    fn complete_async<'a>(
        &'a self,
        key: ReplayKey<'a>,
        token: LeaseToken,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, Completion> {
        Box::pin(async move { self.complete(&key, &token, expires_at, now) })
    }
    fn release_async<'a>(&'a self, key: ReplayKey<'a>, token: LeaseToken) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.release(&key, &token) })
    }
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

/// A replay key with owned parts, to move onto the blocking pool.
#[cfg(feature = "tokio")]
struct OwnedKey {
    kind: super::ReplayKind,
    consumer: String,
    source: String,
    id: String,
}

#[cfg(feature = "tokio")]
impl OwnedKey {
    fn of(key: &ReplayKey<'_>) -> Self {
        Self {
            kind: key.kind,
            consumer: key.consumer.to_owned(),
            source: key.source.to_owned(),
            id: key.id.to_owned(),
        }
    }

    fn key(&self) -> ReplayKey<'_> {
        ReplayKey {
            kind: self.kind,
            consumer: &self.consumer,
            source: &self.source,
            id: &self.id,
        }
    }
}

#[cfg(feature = "tokio")]
impl<S: ReplayStore + 'static> BlockingStore<S> {
    /// Runs `op` on the blocking pool with `key` owned.
    fn on_pool<'a, T: Send + 'static>(
        &self,
        key: &ReplayKey<'_>,
        op: impl FnOnce(&S, &ReplayKey<'_>) -> Result<T> + Send + 'static,
    ) -> StoreFuture<'a, T> {
        let inner = std::sync::Arc::clone(&self.inner);
        let owned = OwnedKey::of(key);
        Box::pin(async move {
            let runtime =
                tokio::runtime::Handle::try_current().map_err(crate::error::Error::store)?;
            runtime
                .spawn_blocking(move || op(&inner, &owned.key()))
                .await
                .map_err(crate::error::Error::store)?
        })
    }
}

#[cfg(feature = "tokio")]
impl<S: ReplayStore + 'static> AsyncReplayStore for BlockingStore<S> {
    fn begin_async<'a>(
        &'a self,
        key: ReplayKey<'a>,
        request: LeaseRequest,
    ) -> StoreFuture<'a, Begun> {
        self.on_pool(&key, move |s, k| s.begin(k, &request))
    }
    fn complete_async<'a>(
        &'a self,
        key: ReplayKey<'a>,
        token: LeaseToken,
        expires_at: i64,
        now: i64,
    ) -> StoreFuture<'a, Completion> {
        self.on_pool(&key, move |s, k| s.complete(k, &token, expires_at, now))
    }
    fn release_async<'a>(&'a self, key: ReplayKey<'a>, token: LeaseToken) -> StoreFuture<'a, bool> {
        self.on_pool(&key, move |s, k| s.release(k, &token))
    }
    fn claim_async<'a>(&'a self, key: ReplayKey<'a>, expires_at: i64, now: i64) -> ClaimFuture<'a> {
        self.on_pool(&key, move |s, k| s.claim(k, expires_at, now))
    }
}

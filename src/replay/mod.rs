//! Replay protection: the [`ReplayStore`] trait and its stores.
//!
//! A claim is an atomic insert-if-absent of (consumer, source, envelope id) with an expiry.
//! The open pipeline claims **after** the signature, policy and freshness checks and **before**
//! decrypting, so an envelope is decrypted at most once per consumer within its validity
//! window. Every store fails closed: an error or a full store rejects the envelope.
//!
//! - [`MemoryReplayStore`] (`memory.rs`): bounded, for tests and single processes that may
//!   forget on restart.
//! - `SqliteReplayStore` (`sqlite.rs`, feature `sqlite`): an embedded SQLite file, survives
//!   restarts, safe for several processes on one machine (WAL, busy timeout, durable commits).
//! - `RedisReplayStore` and `AsyncRedisReplayStore` (`redis.rs`, feature `redis`): one store
//!   for every instance of a consumer.
//! - `AsyncReplayStore` and `BlockingStore` (`async_store.rs`, features `async` and `tokio`).

#[cfg(feature = "async")]
mod async_store;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(all(feature = "redis", feature = "tokio"))]
pub use self::redis::AsyncRedisReplayStore;
#[cfg(feature = "redis")]
pub use self::redis::{RedisReplayStore, DEFAULT_REDIS_TIMEOUT};

/// Default clock margin of the stores shared by many instances (Redis, DynamoDB): how long
/// past an envelope's replay expiry its record is kept, so that an instance whose clock runs
/// behind the one that wrote the record still finds it while it would accept the envelope
/// (the store's own expiry, Redis's TTL or DynamoDB's TTL deletion, runs on another clock).
/// As long again as the default clock skew ([`Freshness`](crate::Freshness)); see
/// `RedisReplayStore::with_clock_margin` and `DynamoDbReplayStore::with_clock_margin`
/// (eventseal-aws).
pub const DEFAULT_CLOCK_MARGIN: std::time::Duration = std::time::Duration::from_secs(60);
#[cfg(feature = "tokio")]
pub use async_store::BlockingStore;
#[cfg(feature = "async")]
pub use async_store::{AsyncReplayStore, ClaimFuture, StoreFuture};
pub use memory::MemoryReplayStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteReplayStore;

use crate::error::Result;

/// What kind of message a claim is about. Each kind is its own namespace in every store, so
/// an envelope claim and a webhook claim never collide, whatever their source names and ids
/// are (a trusted source named `webhook:github` cannot claim GitHub deliveries first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplayKind {
    /// An envelope: `source` is its verified source id, `id` its envelope id.
    Envelope,
    /// A verified webhook delivery: `source` is the provider name (`stripe`, …), `id` the
    /// [`Verified::id`](crate::webhook::Verified::id).
    Webhook,
}

impl ReplayKind {
    /// A one-byte tag per kind, for stores that key entries by a digest.
    #[must_use]
    pub const fn tag(self) -> u8 {
        match self {
            Self::Envelope => b'e',
            Self::Webhook => b'w',
        }
    }
}

/// What a claim is about: one message (an envelope, or a webhook delivery), as seen by one
/// consumer.
///
/// A store must keep the four fields apart: two keys are the same claim only if all four are
/// equal (the stores here use separate tables, key paths or a length-prefixed digest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayKey<'a> {
    /// Envelope or webhook: separate namespaces.
    pub kind: ReplayKind,
    /// The consumer claiming (its entries never collide with another consumer's).
    pub consumer: &'a str,
    /// Who sent it: an envelope's verified source id, or a webhook's provider name.
    pub source: &'a str,
    /// The message id: an envelope id (lowercase hyphenated UUID), or a webhook's
    /// authenticated message id.
    pub id: &'a str,
}

impl<'a> ReplayKey<'a> {
    /// The claim of envelope `id` from `source`, by `consumer`.
    #[must_use]
    pub const fn envelope(consumer: &'a str, source: &'a str, id: &'a str) -> Self {
        Self {
            kind: ReplayKind::Envelope,
            consumer,
            source,
            id,
        }
    }

    /// The claim of webhook message `id` from `provider`, by `consumer`.
    #[must_use]
    pub const fn webhook(consumer: &'a str, provider: &'a str, id: &'a str) -> Self {
        Self {
            kind: ReplayKind::Webhook,
            consumer,
            source: provider,
            id,
        }
    }
}

/// The outcome of a one-step claim ([`ReplayStore::claim`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Claim {
    /// First sighting: the key is now recorded as completed.
    Claimed,
    /// Already completed and not yet expired: a replay.
    AlreadyClaimed,
    /// Another caller holds a live lease on it (it is being processed): try again later.
    InProgress,
}

/// A lease's owner token: 16 random bytes, written with an in-progress record, so that only
/// the caller that began processing can complete or release it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct LeaseToken([u8; 16]);

impl LeaseToken {
    /// A fresh token: 16 bytes from the system's CSPRNG, drawn for each lease. (A token
    /// derived from a seed and a counter would repeat in a cloned process: a VM snapshot, a
    /// Lambda SnapStart restore, a process forked into a new pid namespace. A store that takes
    /// its own token back as a resend would then accept a duplicate.)
    ///
    /// # Errors
    /// [`Error::Rng`](crate::Error::Rng).
    pub fn random() -> Result<Self> {
        let mut t = [0u8; 16];
        crate::crypto::fill_random(&mut t)?;
        Ok(Self(t))
    }

    /// A token with these bytes (for stores that read tokens back, and for tests).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The token's bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The token as 32 lowercase hex digits.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for LeaseToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LeaseToken({})", self.to_hex())
    }
}

/// What [`ReplayStore::begin`] writes: an in-progress record owned by `token` until
/// `lease_until`, kept (as in-progress, then completed) until `expires_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseRequest {
    /// The owner's token.
    pub token: LeaseToken,
    /// Unix seconds at which the lease lapses and another caller may take the key over;
    /// never later than `expires_at` (see [`LeaseRequest::new`]).
    pub lease_until: i64,
    /// Unix seconds until which the record is kept (the envelope's replay expiry).
    pub expires_at: i64,
    /// The caller's clock, which decides whether an existing record is still live.
    pub now: i64,
}

impl LeaseRequest {
    /// A lease of `lease_secs` from `now`, capped at `expires_at`: a lease never outlives the
    /// record it guards.
    #[must_use]
    pub fn new(token: LeaseToken, now: i64, lease_secs: i64, expires_at: i64) -> Self {
        Self {
            token,
            lease_until: now.saturating_add(lease_secs.max(0)).min(expires_at),
            expires_at,
            now,
        }
    }
}

/// The outcome of [`ReplayStore::begin`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Begun {
    /// The caller now holds the lease (the key was absent, its lease had lapsed, or its
    /// completed record had expired).
    Started,
    /// Another caller holds a live lease: try again later.
    InProgress,
    /// The key was completed and has not expired: a duplicate.
    AlreadyDone,
}

/// A one-step claim is a begin that writes a completed record at once: its outcome is the
/// begin's.
impl From<Begun> for Claim {
    fn from(b: Begun) -> Self {
        match b {
            Begun::Started => Claim::Claimed,
            Begun::AlreadyDone => Claim::AlreadyClaimed,
            Begun::InProgress => Claim::InProgress,
        }
    }
}

/// The outcome of [`ReplayStore::complete`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Completion {
    /// The caller's in-progress record is now completed.
    Completed,
    /// The record is no longer the caller's: its lease lapsed and another caller took the
    /// key over (or released it, or it expired). The handler may have run twice.
    LeaseLost,
}

/// A store of replay records: absent, **in progress** (a lease with an owner token and an
/// expiry), or **completed** (kept until the envelope's replay expiry).
///
/// Every operation must be atomic (two concurrent `begin`s of one key: exactly one gets
/// [`Begun::Started`]), must compare against the caller's `now`, and must return an error
/// rather than a success whenever it cannot record the outcome: the caller then rejects
/// (fails closed).
pub trait ReplayStore: Send + Sync {
    /// Begins processing `key`: writes an in-progress record for `request.token` when the
    /// key is absent, its lease has lapsed (`lease_until <= now`), or its completed record
    /// has expired (`expires_at <= now`).
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`](crate::Error::StoreUnavailable) or
    /// [`Error::StoreFull`](crate::Error::StoreFull).
    fn begin(&self, key: &ReplayKey<'_>, request: &LeaseRequest) -> Result<Begun>;

    /// Turns the in-progress record of `token` into a completed one (kept until
    /// `expires_at`); [`Completion::LeaseLost`] if the record is not `token`'s any more.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`](crate::Error::StoreUnavailable): the outcome is unknown.
    fn complete(
        &self,
        key: &ReplayKey<'_>,
        token: &LeaseToken,
        expires_at: i64,
        now: i64,
    ) -> Result<Completion>;

    /// Deletes the in-progress record of `token`, so a redelivery can be processed; `false`
    /// (and nothing changed) if the record is not `token`'s.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`](crate::Error::StoreUnavailable).
    fn release(&self, key: &ReplayKey<'_>, token: &LeaseToken) -> Result<bool>;

    /// Begins and completes in one atomic step (the one-call `open`, which has no handler):
    /// records `key` as completed until `expires_at` unless a live record exists. `now` is
    /// the caller's clock.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`](crate::Error::StoreUnavailable) or
    /// [`Error::StoreFull`](crate::Error::StoreFull): the caller rejects the envelope.
    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim>;
}

/// Forwards every operation to the store behind a reference or a smart pointer.
macro_rules! forward_replay_store {
    ($($ty:ty),*) => {$(
        impl<S: ReplayStore + ?Sized> ReplayStore for $ty {
            fn begin(&self, key: &ReplayKey<'_>, request: &LeaseRequest) -> Result<Begun> {
                (**self).begin(key, request)
            }
            fn complete(
                &self,
                key: &ReplayKey<'_>,
                token: &LeaseToken,
                expires_at: i64,
                now: i64,
            ) -> Result<Completion> {
                (**self).complete(key, token, expires_at, now)
            }
            fn release(&self, key: &ReplayKey<'_>, token: &LeaseToken) -> Result<bool> {
                (**self).release(key, token)
            }
            fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim> {
                (**self).claim(key, expires_at, now)
            }
        }
    )*};
}

forward_replay_store!(&S, std::sync::Arc<S>, Box<S>);

/// A store's lock was poisoned by a panic while held: the store fails closed.
#[derive(Debug, thiserror::Error)]
#[error("replay store lock poisoned")]
pub(crate) struct Poisoned;

/// A SHA-256 digest of a claim key (see [`key_digest`]).
pub(crate) type KeyDigest = [u8; crate::crypto::HASH_LEN];

/// SHA-256 over `prefix`, then each of (at most three) `parts` preceded by its length
/// (LE64), so that moving a boundary between parts changes the digest. The memory and Redis
/// stores both key their entries with it. Allocation-free: it runs on every claim.
pub(crate) fn key_digest(prefix: &[u8], parts: &[&str]) -> KeyDigest {
    debug_assert!(parts.len() <= 3, "key_digest takes at most three parts");
    // The usual key (a salt, three short identifiers) fits a stack buffer: one hash call.
    let mut buf = [0u8; 512];
    let mut n = 0usize;
    let mut push = |bytes: &[u8]| -> bool {
        match buf.get_mut(n..n + bytes.len()) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                n += bytes.len();
                true
            }
            None => false,
        }
    };
    let mut fits = push(prefix);
    for part in parts {
        fits = fits && push(&(part.len() as u64).to_le_bytes()) && push(part.as_bytes());
    }
    if let (true, Some(bytes)) = (fits, buf.get(..n)) {
        return crate::crypto::sha256_once(bytes);
    }
    let mut lens = [[0u8; 8]; 3];
    for (len, part) in lens.iter_mut().zip(parts) {
        *len = (part.len() as u64).to_le_bytes();
    }
    let mut slices: [&[u8]; 7] = [&[]; 7];
    if let Some((first, rest)) = slices.split_first_mut() {
        *first = prefix;
        for ((pair, len), part) in rest.chunks_exact_mut(2).zip(&lens).zip(parts) {
            if let [l, p] = pair {
                *l = len;
                *p = part.as_bytes();
            }
        }
    }
    crate::crypto::sha256(&slices)
}

#[cfg(test)]
mod key_digest_tests {
    use super::key_digest;

    #[test]
    fn digest_is_the_length_prefixed_concatenation() {
        let manual = |prefix: &[u8], parts: &[&str]| {
            let mut bytes = prefix.to_vec();
            for p in parts {
                bytes.extend_from_slice(&(p.len() as u64).to_le_bytes());
                bytes.extend_from_slice(p.as_bytes());
            }
            crate::crypto::sha256(&[&bytes])
        };
        for parts in [
            &["a", "b", "c"][..],
            &["orders", "0190-x"][..],
            &["", ""][..],
        ] {
            assert_eq!(key_digest(b"salt", parts), manual(b"salt", parts));
            assert_eq!(key_digest(b"", parts), manual(b"", parts));
        }
        assert_ne!(key_digest(b"", &["ab", "c"]), key_digest(b"", &["a", "bc"]));
    }
}

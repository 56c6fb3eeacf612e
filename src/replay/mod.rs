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
pub use self::redis::{RedisReplayStore, DEFAULT_CLOCK_MARGIN, DEFAULT_REDIS_TIMEOUT};
#[cfg(feature = "tokio")]
pub use async_store::BlockingStore;
#[cfg(feature = "async")]
pub use async_store::{AsyncReplayStore, ClaimFuture};
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

/// The outcome of a successful store operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Claim {
    /// First sighting: the claim is now recorded.
    Claimed,
    /// Already claimed and not yet expired: a replay.
    AlreadyClaimed,
}

/// A store of claimed envelope ids.
///
/// Implementations must make `claim` atomic (two concurrent claims of one key: exactly one
/// gets [`Claim::Claimed`]) and must return an error rather than [`Claim::Claimed`] whenever
/// they cannot record the claim.
pub trait ReplayStore: Send + Sync {
    /// Records `key` until `expires_at` (Unix seconds) unless a live entry exists.
    /// `now` is the opener's clock, used to decide whether an existing entry is still live.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`](crate::Error::StoreUnavailable) or [`Error::StoreFull`](crate::Error::StoreFull): the caller rejects the envelope.
    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim>;
}

impl<S: ReplayStore + ?Sized> ReplayStore for &S {
    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim> {
        (**self).claim(key, expires_at, now)
    }
}

impl<S: ReplayStore + ?Sized> ReplayStore for std::sync::Arc<S> {
    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim> {
        (**self).claim(key, expires_at, now)
    }
}

impl<S: ReplayStore + ?Sized> ReplayStore for Box<S> {
    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim> {
        (**self).claim(key, expires_at, now)
    }
}

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

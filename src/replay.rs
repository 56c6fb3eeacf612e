//! Replay protection: the [`ReplayStore`] trait and its stores.
//!
//! A claim is an atomic insert-if-absent of (consumer, source, envelope id) with an expiry.
//! The open pipeline claims **after** the signature, policy and freshness checks and **before**
//! decrypting, so an envelope is decrypted at most once per consumer within its validity
//! window. Every store fails closed: an error or a full store rejects the envelope.
//!
//! - [`MemoryReplayStore`]: bounded, for tests and single processes that may forget on restart.
//! - [`SqliteReplayStore`]: an embedded SQLite file, survives restarts, safe for several
//!   processes on one machine (WAL, busy timeout, durable commits).

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{Error, Result};

/// What a claim is about: one message (an envelope, or a webhook delivery), as seen by one
/// consumer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayKey<'a> {
    /// The consumer claiming (its entries never collide with another consumer's).
    pub consumer: &'a str,
    /// Who sent it: an envelope's verified source id, or `webhook:PROVIDER`.
    pub source: &'a str,
    /// The message id: an envelope id (lowercase hyphenated UUID), or a webhook's
    /// authenticated message id.
    pub id: &'a str,
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
    /// [`Error::StoreUnavailable`] or [`Error::StoreFull`]: the caller rejects the envelope.
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

// ---------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------

type OwnedKey = (String, String, String);

#[derive(Default)]
struct MemoryInner {
    live: HashMap<OwnedKey, i64>,
    by_expiry: BTreeSet<(i64, OwnedKey)>,
}

impl MemoryInner {
    fn purge(&mut self, now: i64) {
        while let Some(first) = self.by_expiry.first() {
            if first.0 > now {
                break;
            }
            if let Some((_, key)) = self.by_expiry.pop_first() {
                self.live.remove(&key);
            }
        }
    }
}

/// A bounded in-memory replay store.
///
/// Holds at most `capacity` live entries. Expired entries are purged as needed (in order of
/// expiry, O(log n) each); when the store is full of live entries a claim fails with
/// [`Error::StoreFull`] rather than evicting an entry that still guards against a replay.
/// Forgets everything on restart: use [`SqliteReplayStore`] where that matters.
pub struct MemoryReplayStore {
    capacity: usize,
    inner: Mutex<MemoryInner>,
}

impl MemoryReplayStore {
    /// A store for at most `capacity` live entries.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(MemoryInner::default()),
        }
    }

    /// Number of entries held (live or not yet purged).
    #[must_use]
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.live.len()).unwrap_or(0)
    }

    /// Whether the store holds no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryReplayStore {
    /// A store for 1 000 000 live entries (about 150 MB at most).
    fn default() -> Self {
        Self::new(1_000_000)
    }
}

impl std::fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("replay store lock poisoned")]
struct Poisoned;

impl ReplayStore for MemoryReplayStore {
    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim> {
        let mut inner = self.inner.lock().map_err(|_| Error::store(Poisoned))?;
        let owned: OwnedKey = (
            key.consumer.to_owned(),
            key.source.to_owned(),
            key.id.to_owned(),
        );
        if let Some(&exp) = inner.live.get(&owned) {
            if exp > now {
                return Ok(Claim::AlreadyClaimed);
            }
        }
        inner.purge(now);
        if inner.live.len() >= self.capacity {
            return Err(Error::StoreFull);
        }
        inner.by_expiry.insert((expires_at, owned.clone()));
        inner.live.insert(owned, expires_at);
        Ok(Claim::Claimed)
    }
}

// ---------------------------------------------------------------------------------------
// SQLite
// ---------------------------------------------------------------------------------------

/// How often (in claims) the SQLite store deletes expired rows.
const PURGE_EVERY: u64 = 1024;

/// An embedded, persistent replay store in one SQLite file.
///
/// - Claims survive restarts: each claim is committed with `synchronous=FULL` before the
///   envelope is accepted.
/// - Several processes on one machine may share the file: WAL journal mode, a busy timeout,
///   and a claim that is one atomic `INSERT … ON CONFLICT DO UPDATE … WHERE expired`.
/// - Expired rows are purged when the store opens and every 1024 claims
///   ([`SqliteReplayStore::purge_expired`] does it on demand).
pub struct SqliteReplayStore {
    conn: Mutex<rusqlite::Connection>,
    claims: std::sync::atomic::AtomicU64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS eventseal_replay_v1 (
    consumer    TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (consumer, source, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS eventseal_replay_v1_expiry ON eventseal_replay_v1 (expires_at);
";

impl SqliteReplayStore {
    /// Opens (creating if needed) the store at `path`, and purges entries expired at `now`.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] if the file cannot be opened or initialised.
    pub fn open(path: impl AsRef<Path>, now: i64) -> Result<Self> {
        let conn = rusqlite::Connection::open(path).map_err(Error::store)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(Error::store)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(Error::store)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(Error::store)?;
        conn.execute_batch(SCHEMA).map_err(Error::store)?;
        let store = Self {
            conn: Mutex::new(conn),
            claims: std::sync::atomic::AtomicU64::new(0),
        };
        store.purge_expired(now)?;
        Ok(store)
    }

    /// Deletes entries whose expiry is at or before `now`; returns how many.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`].
    pub fn purge_expired(&self, now: i64) -> Result<usize> {
        let conn = self.conn.lock().map_err(|_| Error::store(Poisoned))?;
        conn.execute(
            "DELETE FROM eventseal_replay_v1 WHERE expires_at <= ?1",
            rusqlite::params![now],
        )
        .map_err(Error::store)
    }

    /// Number of entries in the file (live or not yet purged).
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`].
    pub fn entry_count(&self) -> Result<u64> {
        let conn = self.conn.lock().map_err(|_| Error::store(Poisoned))?;
        conn.query_row("SELECT COUNT(*) FROM eventseal_replay_v1", [], |r| r.get(0))
            .map_err(Error::store)
    }
}

impl std::fmt::Debug for SqliteReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReplayStore").finish_non_exhaustive()
    }
}

impl ReplayStore for SqliteReplayStore {
    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim> {
        let n = self
            .claims
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % PURGE_EVERY == PURGE_EVERY - 1 {
            self.purge_expired(now)?;
        }
        let conn = self.conn.lock().map_err(|_| Error::store(Poisoned))?;
        // One statement: insert, or take over a row that has expired; a live row is untouched.
        let changed = conn
            .prepare_cached(
                "INSERT INTO eventseal_replay_v1 (consumer, source, id, expires_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (consumer, source, id)
                 DO UPDATE SET expires_at = excluded.expires_at
                 WHERE eventseal_replay_v1.expires_at <= ?5",
            )
            .and_then(|mut st| {
                st.execute(rusqlite::params![
                    key.consumer,
                    key.source,
                    key.id,
                    expires_at,
                    now
                ])
            })
            .map_err(Error::store)?;
        Ok(if changed == 1 {
            Claim::Claimed
        } else {
            Claim::AlreadyClaimed
        })
    }
}

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

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{Error, Result};

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

/// A claimed key as the memory store holds it: SHA-256 over the store's random salt and the
/// length-prefixed consumer, source and id. Fixed-size keys make a claim allocation-free; a
/// collision (which could only ever reject, never accept) would need a SHA-256 collision,
/// and the salt keeps the hash-table position of a key unpredictable from outside.
type Fingerprint = [u8; crate::crypto::HASH_LEN];

fn fingerprint(salt: &[u8; 16], key: &ReplayKey<'_>) -> Fingerprint {
    let mut prefix = [0u8; 17];
    if let Some((last, head)) = prefix.split_last_mut() {
        head.copy_from_slice(salt);
        *last = key.kind.tag();
    }
    key_digest(&prefix, &[key.consumer, key.source, key.id])
}

/// SHA-256 over `prefix`, then each of (at most three) `parts` preceded by its length
/// (LE64), so that moving a boundary between parts changes the digest. The memory and Redis
/// stores both key their entries with it. Allocation-free: it runs on every claim.
pub(crate) fn key_digest(prefix: &[u8], parts: &[&str]) -> Fingerprint {
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

/// Hashes a fingerprint by its first 8 bytes: it is already a salted SHA-256 output.
#[derive(Default)]
struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        if let Some(first) = bytes.first_chunk::<8>() {
            self.0 = u64::from_le_bytes(*first);
        }
    }
}

type FingerprintMap = HashMap<Fingerprint, i64, BuildHasherDefault<FingerprintHasher>>;

/// 16 bytes from the standard library's per-process random hash keys (never fails, unlike
/// the CSPRNG call would have to be allowed to): only a salt, not a secret.
fn random_salt() -> [u8; 16] {
    let state = std::collections::hash_map::RandomState::new();
    let mut salt = [0u8; 16];
    for (chunk, i) in salt.chunks_exact_mut(8).zip(1u8..) {
        chunk.copy_from_slice(&state.hash_one(i).to_le_bytes());
    }
    salt
}

/// Independent locks, so concurrent claims of different keys rarely contend.
const SHARDS: usize = 16;

#[derive(Default)]
struct Shard {
    live: FingerprintMap,
    /// Expiry order, for purging; an item whose key was re-claimed since is skipped.
    by_expiry: BinaryHeap<Reverse<(i64, Fingerprint)>>,
}

impl Shard {
    /// Removes the entries expired at `now`; returns how many live entries went.
    fn purge(&mut self, now: i64) -> usize {
        let mut removed = 0;
        while let Some(&Reverse((exp, fp))) = self.by_expiry.peek() {
            if exp > now {
                break;
            }
            self.by_expiry.pop();
            if self.live.get(&fp) == Some(&exp) {
                self.live.remove(&fp);
                removed += 1;
            }
        }
        removed
    }
}

/// A bounded in-memory replay store.
///
/// Holds at most `capacity` live entries. Expired entries are purged as needed (in order of
/// expiry, O(log n) each); when the store is full of live entries a claim fails with
/// [`Error::StoreFull`] rather than evicting an entry that still guards against a replay.
/// Claims are allocation-free (a 32-byte fingerprint per key, about 100 bytes per entry) and
/// spread over 16 independently locked shards. Forgets everything on restart: use
/// [`SqliteReplayStore`] where that matters.
pub struct MemoryReplayStore {
    capacity: usize,
    salt: [u8; 16],
    live: AtomicUsize,
    shards: Vec<Mutex<Shard>>,
}

impl MemoryReplayStore {
    /// A store for at most `capacity` live entries.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            salt: random_salt(),
            live: AtomicUsize::new(0),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    /// Number of entries held (live or not yet purged).
    #[must_use]
    pub fn len(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Whether the store holds no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every entry expired at `now` from every shard; returns how many went. Claims
    /// purge their own shard as they go, and every shard before refusing as full, so this is
    /// only needed to reclaim memory eagerly (or to make [`MemoryReplayStore::len`] exact).
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] if a lock is poisoned.
    pub fn purge_expired(&self, now: i64) -> Result<usize> {
        let mut total = 0;
        for shard in &self.shards {
            let freed = shard.lock().map_err(|_| Error::store(Poisoned))?.purge(now);
            self.release(freed);
            total += freed;
        }
        Ok(total)
    }

    fn shard(&self, fp: &Fingerprint) -> Result<std::sync::MutexGuard<'_, Shard>> {
        // The last byte picks the shard; the first eight are the hash within it.
        let i = usize::from(fp.last().copied().unwrap_or(0)) % SHARDS;
        self.shards
            .get(i)
            .ok_or(Error::store(Poisoned))?
            .lock()
            .map_err(|_| Error::store(Poisoned))
    }

    /// Takes one slot of the capacity, if one is free.
    fn reserve(&self) -> bool {
        self.live
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < self.capacity).then_some(n + 1)
            })
            .is_ok()
    }

    fn release(&self, n: usize) {
        if n > 0 {
            self.live.fetch_sub(n, Ordering::SeqCst);
        }
    }

    /// Inserts `fp` into its shard if it is not live; `None` if the store is full.
    fn try_insert(&self, fp: Fingerprint, expires_at: i64, now: i64) -> Result<Option<Claim>> {
        let mut shard = self.shard(&fp)?;
        if let Some(&exp) = shard.live.get(&fp) {
            if exp > now {
                return Ok(Some(Claim::AlreadyClaimed));
            }
        }
        let freed = shard.purge(now);
        self.release(freed);
        if !self.reserve() {
            return Ok(None);
        }
        shard.live.insert(fp, expires_at);
        shard.by_expiry.push(Reverse((expires_at, fp)));
        Ok(Some(Claim::Claimed))
    }
}

impl Default for MemoryReplayStore {
    /// A store for 1 000 000 live entries (about 100 MB at most).
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
        let fp = fingerprint(&self.salt, key);
        if let Some(claim) = self.try_insert(fp, expires_at, now)? {
            return Ok(claim);
        }
        // Full: other shards may still hold expired entries. Purge them all, then try once
        // more; a store full of live entries refuses (never evicts a live claim).
        self.purge_expired(now)?;
        self.try_insert(fp, expires_at, now)?
            .ok_or(Error::StoreFull)
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
CREATE TABLE IF NOT EXISTS eventseal_webhook_replay_v1 (
    consumer    TEXT    NOT NULL,
    provider    TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (consumer, provider, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS eventseal_webhook_replay_v1_expiry
    ON eventseal_webhook_replay_v1 (expires_at);
";

/// Run once, when the webhook table is first created in a file that earlier versions wrote
/// webhook claims into (as source `webhook:PROVIDER` in the envelope table): copies them, so
/// an upgrade does not forget them. It can only add claims (a copied row that was really an
/// envelope claim of a source named `webhook:…` can reject, never accept, a delivery).
const MIGRATE_WEBHOOK_CLAIMS: &str = "
INSERT OR IGNORE INTO eventseal_webhook_replay_v1 (consumer, provider, id, expires_at)
    SELECT consumer, substr(source, 9), id, expires_at FROM eventseal_replay_v1
    WHERE substr(source, 1, 8) = 'webhook:';
";

/// The claim statement for each kind: insert, or take over a row that has expired; a live
/// row is untouched. Each kind has its own table, so the kinds cannot collide.
const CLAIM_ENVELOPE: &str = "INSERT INTO eventseal_replay_v1 (consumer, source, id, expires_at)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (consumer, source, id)
     DO UPDATE SET expires_at = excluded.expires_at
     WHERE eventseal_replay_v1.expires_at <= ?5";
const CLAIM_WEBHOOK: &str =
    "INSERT INTO eventseal_webhook_replay_v1 (consumer, provider, id, expires_at)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (consumer, provider, id)
     DO UPDATE SET expires_at = excluded.expires_at
     WHERE eventseal_webhook_replay_v1.expires_at <= ?5";

/// How long an SQLite operation waits for another process's lock before failing closed.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

fn init_sqlite(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    let tx = conn.unchecked_transaction()?;
    let had_webhook_table: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'eventseal_webhook_replay_v1')",
        [],
        |r| r.get(0),
    )?;
    let had_envelope_table: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'eventseal_replay_v1')",
        [],
        |r| r.get(0),
    )?;
    tx.execute_batch(SCHEMA)?;
    if had_envelope_table && !had_webhook_table {
        tx.execute_batch(MIGRATE_WEBHOOK_CLAIMS)?;
    }
    tx.commit()
}

/// Errors of a file that another process is initialising at the same moment: its lock, or
/// its rollback journal vanishing as that process switches the file to WAL.
fn sqlite_busy(e: &rusqlite::Error) -> bool {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) || f.extended_code == rusqlite::ffi::SQLITE_IOERR_DELETE_NOENT
        }
        _ => false,
    }
}

impl SqliteReplayStore {
    /// Opens (creating if needed) the store at `path`, and purges entries expired at `now`.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] if the file cannot be opened or initialised.
    pub fn open(path: impl AsRef<Path>, now: i64) -> Result<Self> {
        let conn = rusqlite::Connection::open(path).map_err(Error::store)?;
        conn.busy_timeout(SQLITE_BUSY_TIMEOUT)
            .map_err(Error::store)?;
        // Switching a new file to WAL takes an exclusive lock and SQLite answers "busy" at
        // once, without its busy handler, while another process initialises the same file:
        // retry for as long as the busy timeout would have waited.
        let deadline = std::time::Instant::now() + SQLITE_BUSY_TIMEOUT;
        loop {
            match init_sqlite(&conn) {
                Ok(()) => break,
                Err(e) if sqlite_busy(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(Error::store(e)),
            }
        }
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
        let mut removed = 0;
        for table in ["eventseal_replay_v1", "eventseal_webhook_replay_v1"] {
            removed += conn
                .prepare_cached(&format!("DELETE FROM {table} WHERE expires_at <= ?1"))
                .and_then(|mut st| st.execute(rusqlite::params![now]))
                .map_err(Error::store)?;
        }
        Ok(removed)
    }

    /// Number of entries in the file (live or not yet purged).
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`].
    pub fn entry_count(&self) -> Result<u64> {
        let conn = self.conn.lock().map_err(|_| Error::store(Poisoned))?;
        conn.query_row(
            "SELECT (SELECT COUNT(*) FROM eventseal_replay_v1)
                  + (SELECT COUNT(*) FROM eventseal_webhook_replay_v1)",
            [],
            |r| r.get(0),
        )
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
        let statement = match key.kind {
            ReplayKind::Envelope => CLAIM_ENVELOPE,
            ReplayKind::Webhook => CLAIM_WEBHOOK,
        };
        let changed = conn
            .prepare_cached(statement)
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

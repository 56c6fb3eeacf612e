//! The bounded in-memory replay store.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{
    key_digest, Begun, Claim, Completion, KeyDigest, LeaseRequest, LeaseToken, Poisoned, ReplayKey,
    ReplayStore,
};
use crate::error::{Error, Result};

/// A claimed key as the memory store holds it: SHA-256 over the store's random salt and the
/// length-prefixed consumer, source and id. Fixed-size keys make a claim allocation-free; a
/// collision (which could only ever reject, never accept) would need a SHA-256 collision,
/// and the salt keeps the hash-table position of a key unpredictable from outside.
type Fingerprint = KeyDigest;

fn fingerprint(salt: &[u8; 16], key: &ReplayKey<'_>) -> Fingerprint {
    let mut prefix = [0u8; 17];
    if let Some((last, head)) = prefix.split_last_mut() {
        head.copy_from_slice(salt);
        *last = key.kind.tag();
    }
    key_digest(&prefix, &[key.consumer, key.source, key.id])
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

/// A record: kept until `expires_at`; in progress while `lease` holds the owner's token and
/// the lease's end, completed when it is `None`.
#[derive(Clone, Copy)]
struct Record {
    expires_at: i64,
    lease: Option<(LeaseToken, i64)>,
}

type FingerprintMap = HashMap<Fingerprint, Record, BuildHasherDefault<FingerprintHasher>>;

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
    /// Released records and taken-over leases leave their expiry items behind in the heap
    /// (a heap cannot remove an item from its middle): when stale items outnumber live
    /// records, rebuild the heap from the records, so a handler failing in a loop cannot
    /// grow it past twice the live records (plus a constant).
    fn compact(&mut self) {
        if self.by_expiry.len() > 2 * self.live.len() + 1024 {
            self.by_expiry = self
                .live
                .iter()
                .map(|(fp, r)| Reverse((r.expires_at, *fp)))
                .collect();
        }
    }

    /// Removes the entries expired at `now`; returns how many live entries went.
    fn purge(&mut self, now: i64) -> usize {
        let mut removed = 0;
        while let Some(&Reverse((exp, fp))) = self.by_expiry.peek() {
            if exp > now {
                break;
            }
            self.by_expiry.pop();
            if self.live.get(&fp).map(|r| r.expires_at) == Some(exp) {
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
/// `SqliteReplayStore` (feature `sqlite`) or a Redis store where that matters.
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
            self.release_slots(freed);
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

    fn release_slots(&self, n: usize) {
        if n > 0 {
            self.live.fetch_sub(n, Ordering::SeqCst);
        }
    }

    /// Begins (or, with no lease, claims) `fp` in its shard; `None` if the store is full.
    fn try_begin(
        &self,
        fp: Fingerprint,
        expires_at: i64,
        lease: Option<(LeaseToken, i64)>,
        now: i64,
    ) -> Result<Option<Begun>> {
        let mut shard = self.shard(&fp)?;
        if let Some(r) = shard.live.get(&fp).copied() {
            if r.expires_at > now {
                match r.lease {
                    None => return Ok(Some(Begun::AlreadyDone)),
                    Some((_, until)) if until > now => return Ok(Some(Begun::InProgress)),
                    Some(_) => {
                        // A lapsed lease: taken over, in place (the slot is already counted).
                        shard.live.insert(fp, Record { expires_at, lease });
                        if expires_at != r.expires_at {
                            shard.by_expiry.push(Reverse((expires_at, fp)));
                            shard.compact();
                        }
                        return Ok(Some(Begun::Started));
                    }
                }
            }
        }
        let freed = shard.purge(now);
        self.release_slots(freed);
        if !self.reserve() {
            return Ok(None);
        }
        shard.live.insert(fp, Record { expires_at, lease });
        shard.by_expiry.push(Reverse((expires_at, fp)));
        shard.compact();
        Ok(Some(Begun::Started))
    }

    /// [`MemoryReplayStore::try_begin`], purging every shard once when full.
    fn begin_record(
        &self,
        key: &ReplayKey<'_>,
        expires_at: i64,
        lease: Option<(LeaseToken, i64)>,
        now: i64,
    ) -> Result<Begun> {
        let fp = fingerprint(&self.salt, key);
        if let Some(begun) = self.try_begin(fp, expires_at, lease, now)? {
            return Ok(begun);
        }
        // Full: other shards may still hold expired entries. Purge them all, then try once
        // more; a store full of live entries refuses (never evicts a live record).
        self.purge_expired(now)?;
        self.try_begin(fp, expires_at, lease, now)?
            .ok_or(Error::StoreFull)
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

impl ReplayStore for MemoryReplayStore {
    fn begin(&self, key: &ReplayKey<'_>, request: &LeaseRequest) -> Result<Begun> {
        self.begin_record(
            key,
            request.expires_at,
            Some((request.token, request.lease_until)),
            request.now,
        )
    }

    fn complete(
        &self,
        key: &ReplayKey<'_>,
        token: &LeaseToken,
        _expires_at: i64,
        _now: i64,
    ) -> Result<Completion> {
        let fp = fingerprint(&self.salt, key);
        let mut shard = self.shard(&fp)?;
        Ok(match shard.live.get_mut(&fp) {
            Some(r) if matches!(r.lease, Some((t, _)) if t == *token) => {
                r.lease = None;
                Completion::Completed
            }
            _ => Completion::LeaseLost,
        })
    }

    fn release(&self, key: &ReplayKey<'_>, token: &LeaseToken) -> Result<bool> {
        let fp = fingerprint(&self.salt, key);
        let mut shard = self.shard(&fp)?;
        let owned = shard
            .live
            .get(&fp)
            .is_some_and(|r| matches!(r.lease, Some((t, _)) if t == *token));
        if owned {
            // Its expiry-heap item is skipped when it comes up (the record is gone).
            shard.live.remove(&fp);
            self.release_slots(1);
        }
        Ok(owned)
    }

    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim> {
        self.begin_record(key, expires_at, None, now)
            .map(Claim::from)
    }
}

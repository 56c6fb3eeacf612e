//! Replay: each (consumer, source, envelope id) opens at most once within its window, in the
//! memory store and in a real SQLite file (also after reopening it); stores fail closed.

mod common;

use std::sync::Arc;

use common::*;
#[cfg(feature = "sqlite")]
use eventseal::SqliteReplayStore;
use eventseal::{Claim, Error, ErrorKind, MemoryReplayStore, Opener, ReplayKey, ReplayStore};

fn opener_with(w: &World, store: Arc<dyn ReplayStore>) -> Opener {
    Opener::new(copy_keys(&w.billing), w.trust(), store).with_clock(w.clock.clone())
}

#[test]
fn memory_store_rejects_a_replay() {
    let w = World::new();
    let env = w.seal(b"once");
    let opener = w.billing_opener();
    assert_eq!(opener.open(env.as_bytes()).unwrap().payload(), b"once");
    assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Replayed);
    // Re-serialized outer JSON is the same envelope: still a replay.
    let v: serde_json::Value = serde_json::from_slice(env.as_bytes()).unwrap();
    assert_eq!(
        kind(opener.open(&serde_json::to_vec_pretty(&v).unwrap())),
        ErrorKind::Replayed
    );
}

/// Each consumer opens an envelope once; one consumer's claim does not block another's,
/// even when they share a store.
#[test]
fn claims_are_per_consumer() {
    let w = World::new();
    let env = w.seal(b"fan-out");
    let store: Arc<dyn ReplayStore> = Arc::new(MemoryReplayStore::new(10));
    let billing = opener_with(&w, store.clone());
    let audit = Opener::new(copy_keys(&w.audit), w.trust(), store).with_clock(w.clock.clone());
    assert!(billing.open(env.as_bytes()).is_ok());
    assert!(audit.open(env.as_bytes()).is_ok());
    assert_eq!(kind(billing.open(env.as_bytes())), ErrorKind::Replayed);
    assert_eq!(kind(audit.open(env.as_bytes())), ErrorKind::Replayed);
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_store_rejects_a_replay_after_reopening_the_file() {
    let w = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replay.db");
    let env = w.seal(b"persisted");
    {
        let store = Arc::new(SqliteReplayStore::open(&path, T0).unwrap());
        let opener = opener_with(&w, store.clone());
        assert_eq!(opener.open(env.as_bytes()).unwrap().payload(), b"persisted");
        assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Replayed);
        assert_eq!(store.entry_count().unwrap(), 1);
    }
    // A restarted consumer (new process, same file) still refuses it.
    let store = Arc::new(SqliteReplayStore::open(&path, T0 + 10).unwrap());
    let opener = opener_with(&w, store.clone());
    assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Replayed);
    // Another envelope still opens.
    assert!(opener.open(w.seal(b"new").as_bytes()).is_ok());
    assert_eq!(store.entry_count().unwrap(), 2);
}

/// Entries are kept until the envelope can no longer be fresh, then purged; after that the
/// envelope is rejected as expired, never accepted again.
#[cfg(feature = "sqlite")]
#[test]
fn sqlite_purges_expired_entries_and_expired_envelopes_stay_rejected() {
    let w = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replay.db");
    let env = w.seal(b"x");
    let store = Arc::new(SqliteReplayStore::open(&path, T0).unwrap());
    let opener = opener_with(&w, store.clone());
    assert!(opener.open(env.as_bytes()).is_ok());
    // Entry expiry = expires_at + skew = T0 + 300 + 60.
    assert_eq!(store.purge_expired(T0 + 359).unwrap(), 0);
    assert_eq!(store.purge_expired(T0 + 360).unwrap(), 1);
    w.clock.set(T0 + 360);
    assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Expired);
    // Reopening purges too.
    w.clock.set(T0);
    assert!(opener.open(w.seal(b"y").as_bytes()).is_ok());
    drop(opener);
    drop(store);
    let store = SqliteReplayStore::open(&path, T0 + 10_000).unwrap();
    assert_eq!(store.entry_count().unwrap(), 0);
}

#[test]
fn memory_store_full_of_live_entries_fails_closed_then_recovers_after_expiry() {
    let w = World::new();
    let store = Arc::new(MemoryReplayStore::new(2));
    let opener = opener_with(&w, store.clone());
    assert!(opener.open(w.seal(b"1").as_bytes()).is_ok());
    assert!(opener.open(w.seal(b"2").as_bytes()).is_ok());
    let third = w.seal(b"3");
    assert_eq!(kind(opener.open(third.as_bytes())), ErrorKind::StoreFull);
    // Rejected because full, not claimed: it still opens once room is made by expiry.
    w.clock.set(T0 + 200);
    let fourth = w.seal(b"4"); // issued at T0+200, expires T0+500
    w.clock.set(T0 + 360); // the first two entries (expiry T0+360) are now purgeable
    assert_eq!(opener.open(fourth.as_bytes()).unwrap().payload(), b"4");
    assert_eq!(kind(opener.open(third.as_bytes())), ErrorKind::Expired);
    // Claims purge lazily (their own shard, or all when full); an explicit purge is exact.
    assert!(store.len() <= 2);
    store.purge_expired(T0 + 360).unwrap();
    assert_eq!(store.len(), 1);
}

/// A store that cannot record the claim rejects the envelope.
struct BrokenStore;

#[derive(Debug, thiserror::Error)]
#[error("connection refused")]
struct Refused;

impl ReplayStore for BrokenStore {
    fn begin(
        &self,
        _: &ReplayKey<'_>,
        _: &eventseal::LeaseRequest,
    ) -> eventseal::Result<eventseal::Begun> {
        Err(Error::StoreUnavailable(Box::new(Refused)))
    }
    fn complete(
        &self,
        _: &ReplayKey<'_>,
        _: &eventseal::LeaseToken,
        _: i64,
        _: i64,
    ) -> eventseal::Result<eventseal::Completion> {
        Err(Error::StoreUnavailable(Box::new(Refused)))
    }
    fn release(&self, _: &ReplayKey<'_>, _: &eventseal::LeaseToken) -> eventseal::Result<bool> {
        Err(Error::StoreUnavailable(Box::new(Refused)))
    }
    fn claim(&self, _: &ReplayKey<'_>, _: i64, _: i64) -> eventseal::Result<Claim> {
        Err(Error::StoreUnavailable(Box::new(Refused)))
    }
}

#[test]
fn store_failure_rejects() {
    let w = World::new();
    let opener = opener_with(&w, Arc::new(BrokenStore));
    assert_eq!(
        kind(opener.open(w.seal(b"x").as_bytes())),
        ErrorKind::StoreUnavailable
    );
}

/// A real SQLite failure (the table dropped underneath by another connection) rejects.
#[cfg(feature = "sqlite")]
#[test]
fn sqlite_failure_rejects() {
    let w = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("replay.db");
    let store = Arc::new(SqliteReplayStore::open(&path, T0).unwrap());
    let opener = opener_with(&w, store);
    assert!(opener.open(w.seal(b"ok").as_bytes()).is_ok());
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch("DROP TABLE eventseal_replay_v1")
        .unwrap();
    drop(other);
    assert_eq!(
        kind(opener.open(w.seal(b"x").as_bytes())),
        ErrorKind::StoreUnavailable
    );
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_open_failure_is_store_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    // A directory is not a database file.
    assert_eq!(
        kind(SqliteReplayStore::open(dir.path(), T0)),
        ErrorKind::StoreUnavailable
    );
}

/// A rejected envelope (bad signature, not for me) never reaches the store.
#[test]
fn nothing_is_claimed_before_verification() {
    let w = World::new();
    let store = Arc::new(MemoryReplayStore::new(10));
    let opener = opener_with(&w, store.clone());
    let env = w.seal(b"x");
    let mut p = Parts::of(env.as_bytes());
    p.signature[0] ^= 1;
    assert_eq!(kind(opener.open(&p.to_envelope())), ErrorKind::BadSignature);
    let not_mine = w.orders.seal("t", b"x", &[w.audit_pub()]).unwrap();
    assert_eq!(
        kind(opener.open(not_mine.as_bytes())),
        ErrorKind::NotARecipient
    );
    assert!(store.is_empty());
}

/// Sixteen threads open the same envelope at once: exactly one succeeds.
#[cfg(feature = "sqlite")]
#[test]
fn concurrent_opens_accept_exactly_once() {
    let w = World::new();
    let dir = tempfile::tempdir().unwrap();
    let stores: Vec<Arc<dyn ReplayStore>> = vec![
        Arc::new(MemoryReplayStore::new(100)),
        Arc::new(SqliteReplayStore::open(dir.path().join("r.db"), T0).unwrap()),
    ];
    for store in stores {
        let env = w.seal(b"race");
        let opener = Arc::new(opener_with(&w, store));
        let results: Vec<ErrorKind> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let opener = opener.clone();
                    let env = env.clone();
                    s.spawn(move || match opener.open(env.as_bytes()) {
                        Ok(_) => None,
                        Err(e) => Some(e.kind()),
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap())
                .collect()
        });
        assert_eq!(results.len(), 15);
        assert!(
            results.iter().all(|k| *k == ErrorKind::Replayed),
            "{results:?}"
        );
    }
}

/// Two store handles on one SQLite file (as two processes would have) agree.
#[cfg(feature = "sqlite")]
#[test]
fn two_sqlite_handles_share_claims() {
    let w = World::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let a = opener_with(&w, Arc::new(SqliteReplayStore::open(&path, T0).unwrap()));
    let b = opener_with(&w, Arc::new(SqliteReplayStore::open(&path, T0).unwrap()));
    let env = w.seal(b"x");
    assert!(a.open(env.as_bytes()).is_ok());
    assert_eq!(kind(b.open(env.as_bytes())), ErrorKind::Replayed);
}

/// The memory store's capacity is exact over all its shards, a full store purges expired
/// entries wherever they are before refusing, and a key claimed concurrently from many
/// threads is claimed exactly once.
#[test]
fn memory_store_capacity_purging_and_concurrency_across_shards() {
    let ids: Vec<String> = (0..200).map(|i| format!("id-{i}")).collect();
    fn key(id: &str) -> ReplayKey<'_> {
        ReplayKey::envelope("billing", "orders", id)
    }
    let store = MemoryReplayStore::new(100);
    for id in &ids[..100] {
        assert_eq!(store.claim(&key(id), T0 + 10, T0).unwrap(), Claim::Claimed);
    }
    assert_eq!(store.len(), 100);
    assert!(matches!(
        store.claim(&key(&ids[100]), T0 + 10, T0),
        Err(Error::StoreFull)
    ));
    // Still live: a replay, not "full".
    assert_eq!(
        store.claim(&key(&ids[7]), T0 + 10, T0).unwrap(),
        Claim::AlreadyClaimed
    );
    // After expiry every shard is purged on demand: 100 new claims fit again.
    for id in &ids[100..] {
        assert_eq!(
            store.claim(&key(id), T0 + 20, T0 + 10).unwrap(),
            Claim::Claimed
        );
    }
    assert_eq!(store.len(), 100);
    // An expired key can be claimed again (a new window), and counts once.
    let store = MemoryReplayStore::new(10);
    assert_eq!(store.claim(&key("a"), T0 + 1, T0).unwrap(), Claim::Claimed);
    assert_eq!(
        store.claim(&key("a"), T0 + 5, T0 + 1).unwrap(),
        Claim::Claimed
    );
    assert_eq!(store.len(), 1);
    assert_eq!(
        store.claim(&key("a"), T0 + 5, T0 + 4).unwrap(),
        Claim::AlreadyClaimed
    );
    // Fields are length-prefixed: moving a boundary makes a different key.
    let a = ReplayKey::envelope("ab", "c", "x");
    let b = ReplayKey::envelope("a", "bc", "x");
    assert_eq!(store.claim(&a, T0 + 9, T0).unwrap(), Claim::Claimed);
    assert_eq!(store.claim(&b, T0 + 9, T0).unwrap(), Claim::Claimed);
    // Concurrency: 8 threads race for each of 50 keys; exactly one wins each.
    let store = Arc::new(MemoryReplayStore::new(1000));
    let wins: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                let ids = &ids;
                s.spawn(move || {
                    ids[..50]
                        .iter()
                        .filter(|id| store.claim(&key(id), T0 + 10, T0).unwrap() == Claim::Claimed)
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(wins, 50);
    assert_eq!(store.len(), 50);
}

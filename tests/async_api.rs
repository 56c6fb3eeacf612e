//! The async API (feature `async`; `BlockingStore` with `tokio`): the same pipeline as the
//! sync one with only the claim awaited. It rejects exactly what the sync opener rejects, with
//! the same kinds; it never reaches the store before every check has passed; a failing store
//! rejects; and 16 concurrent tasks opening one envelope accept it exactly once.
#![cfg(feature = "async")]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use eventseal::webhook::{
    verify_and_claim, verify_and_claim_async, Request, StandardSigner, StandardWebhooks,
};
use eventseal::{
    AsyncOpener, AsyncReplayStore, Claim, ClaimFuture, Error, ErrorKind, MemoryReplayStore, Opener,
    ReplayKey, Sealer, SigningKey,
};

fn async_opener(w: &World, store: Arc<dyn AsyncReplayStore>) -> AsyncOpener {
    AsyncOpener::new(copy_keys(&w.billing), w.trust(), store).with_clock(w.clock.clone())
}

type Answer = fn() -> eventseal::Result<Claim>;

/// A store that answers as told and counts the claims that reached it.
struct Scripted {
    answer: Answer,
    calls: AtomicUsize,
}

impl Scripted {
    fn new(answer: Answer) -> Arc<Self> {
        Arc::new(Self {
            answer,
            calls: AtomicUsize::new(0),
        })
    }
}

/// Only the one-step claim is scripted; the lease operations are not used by these tests.
impl AsyncReplayStore for Scripted {
    fn begin_async<'a>(
        &'a self,
        _: ReplayKey<'a>,
        _: eventseal::LeaseRequest,
    ) -> eventseal::StoreFuture<'a, eventseal::Begun> {
        Box::pin(async { Err(eventseal::Error::InvalidInput("not scripted")) })
    }
    fn complete_async<'a>(
        &'a self,
        _: ReplayKey<'a>,
        _: eventseal::LeaseToken,
        _: i64,
        _: i64,
    ) -> eventseal::StoreFuture<'a, eventseal::Completion> {
        Box::pin(async { Err(eventseal::Error::InvalidInput("not scripted")) })
    }
    fn release_async<'a>(
        &'a self,
        _: ReplayKey<'a>,
        _: eventseal::LeaseToken,
    ) -> eventseal::StoreFuture<'a, bool> {
        Box::pin(async { Err(eventseal::Error::InvalidInput("not scripted")) })
    }
    fn claim_async<'a>(&'a self, _: ReplayKey<'a>, _: i64, _: i64) -> ClaimFuture<'a> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = self.answer;
        Box::pin(async move {
            // Yield once, as a store waiting on the network would.
            tokio::task::yield_now().await;
            answer()
        })
    }
}

#[tokio::test]
async fn opens_once_then_replayed() {
    let w = World::new();
    let opener = async_opener(&w, Arc::new(MemoryReplayStore::new(100)));
    let env = w.seal(b"async");
    let opened = opener.open(env.as_bytes()).await.unwrap();
    assert_eq!(opened.payload(), b"async");
    assert_eq!(opened.header().source(), "orders");
    assert_eq!(kind(opener.open(env.as_bytes()).await), ErrorKind::Replayed);
}

/// Every rejection the sync opener gives, the async opener gives with the same kind, and the
/// store is never asked before the checks have passed.
#[tokio::test]
async fn rejects_what_the_sync_pipeline_rejects_before_claiming() {
    let w = World::new();
    let env = w.seal(b"x");
    let mut parts = Parts::of(env.as_bytes());
    parts.ciphertext[0] ^= 1;
    let tampered = parts.to_envelope();
    let stranger = Sealer::new(SigningKey::generate("stranger").unwrap());
    let foreign = stranger
        .seal("order.created", b"x", &[w.billing_pub()])
        .unwrap();
    let not_for_me = w
        .orders
        .seal("order.created", b"x", &[w.audit_pub()])
        .unwrap();
    let stale = {
        let e = w.seal(b"old");
        w.clock.advance(3600);
        e
    };
    let cases: Vec<(&str, Vec<u8>, ErrorKind)> = vec![
        ("garbage", b"{not json".to_vec(), ErrorKind::Malformed),
        ("tampered ciphertext", tampered, ErrorKind::BadSignature),
        (
            "unknown source",
            foreign.as_bytes().to_vec(),
            ErrorKind::UnknownKey,
        ),
        (
            "not a recipient",
            not_for_me.as_bytes().to_vec(),
            ErrorKind::NotARecipient,
        ),
        ("expired", stale.as_bytes().to_vec(), ErrorKind::Expired),
    ];
    let store = Scripted::new(|| Ok(Claim::Claimed));
    let opener = async_opener(&w, store.clone());
    let sync = Opener::new(
        copy_keys(&w.billing),
        w.trust(),
        Arc::new(MemoryReplayStore::new(10)),
    )
    .with_clock(w.clock.clone());
    for (name, bytes, expected) in cases {
        assert_eq!(kind(sync.open(&bytes)), expected, "sync: {name}");
        assert_eq!(kind(opener.open(&bytes).await), expected, "async: {name}");
    }
    assert_eq!(store.calls.load(Ordering::SeqCst), 0);
}

/// The store's answer decides: an error rejects with the store's kind, a known id is a
/// replay, and nothing is decrypted in either case.
#[tokio::test]
async fn the_store_decides_and_fails_closed() {
    let w = World::new();
    let cases: Vec<(Answer, ErrorKind)> = vec![
        (
            || {
                Err(Error::StoreUnavailable(Box::new(std::io::Error::other(
                    "down",
                ))))
            },
            ErrorKind::StoreUnavailable,
        ),
        (|| Err(Error::StoreFull), ErrorKind::StoreFull),
        (|| Ok(Claim::AlreadyClaimed), ErrorKind::Replayed),
    ];
    for (answer, expected) in cases {
        let store = Scripted::new(answer);
        let opener = async_opener(&w, store.clone());
        assert_eq!(kind(opener.open(w.seal(b"x").as_bytes()).await), expected);
        assert_eq!(store.calls.load(Ordering::SeqCst), 1);
    }
}

/// The staged API: `claim_async` is the only awaited stage, and it claims the same key the
/// sync `claim` does (a sync claim first makes the async one a replay, and back).
#[tokio::test]
async fn staged_claim_async_shares_keys_with_claim() {
    let w = World::new();
    let store = Arc::new(MemoryReplayStore::new(10));
    let keys = copy_keys(&w.billing);
    let trust = w.trust();
    let stage = |bytes: &[u8]| {
        eventseal::UntrustedEnvelope::parse(bytes, &eventseal::Limits::default())
            .unwrap()
            .verify(&trust)
            .unwrap()
            .address(&keys)
            .unwrap()
            .check_freshness(&eventseal::Freshness::default(), T0)
            .unwrap()
    };
    let first = w.seal(b"one");
    let fut = stage(first.as_bytes()).claim_async(store.as_ref());
    assert_send(&fut);
    let opened = fut.await.unwrap().decrypt().unwrap();
    assert_eq!(opened.payload(), b"one");
    assert_eq!(
        kind(stage(first.as_bytes()).claim(store.as_ref())),
        ErrorKind::Replayed
    );
    let second = w.seal(b"two");
    assert!(stage(second.as_bytes()).claim(store.as_ref()).is_ok());
    assert_eq!(
        kind(stage(second.as_bytes()).claim_async(store.as_ref()).await),
        ErrorKind::Replayed
    );
}

/// 16 tasks on a multi-threaded runtime open one envelope at once: exactly one accepts.
#[test]
fn sixteen_tasks_accept_exactly_once() {
    let w = World::new();
    let rt = multi_thread_runtime();
    for round in 0..20 {
        let opener = Arc::new(async_opener(&w, Arc::new(MemoryReplayStore::new(100))));
        let env = Arc::new(w.seal(format!("round {round}").as_bytes()));
        let outcomes = rt.block_on(race_async_open(opener, env));
        assert_exactly_one_opened(&outcomes);
    }
}

/// SQLite through `BlockingStore`: 16 tasks, one accept; and outside a Tokio runtime the
/// claim is `store-unavailable`, not a panic.
#[cfg(all(feature = "tokio", feature = "sqlite"))]
#[test]
fn sqlite_on_the_blocking_pool() {
    use eventseal::{BlockingStore, ReplayStore, SqliteReplayStore};
    let dir = tempfile::tempdir().unwrap();
    let w = World::new();
    let sqlite = Arc::new(SqliteReplayStore::open(dir.path().join("replay.db"), T0).unwrap());
    let store = Arc::new(BlockingStore::from_arc(sqlite.clone()));
    let rt = multi_thread_runtime();
    for _ in 0..3 {
        let opener = Arc::new(async_opener(&w, store.clone()));
        let outcomes = rt.block_on(race_async_open(opener, Arc::new(w.seal(b"sqlite"))));
        assert_exactly_one_opened(&outcomes);
    }
    assert_eq!(sqlite.entry_count().unwrap(), 3);
    // No runtime: a plain executor polling the future gets an error.
    let key = ReplayKey::envelope("billing", "orders", "0190a4c2-0000-7000-8000-000000000009");
    let claim = store.claim_async(key, T0 + 60, T0);
    assert_eq!(kind(block_on(claim)), ErrorKind::StoreUnavailable);
    // The sync store behind it still works, and saw nothing of that claim.
    assert_eq!(sqlite.claim(&key, T0 + 60, T0).unwrap(), Claim::Claimed);
}

/// Webhooks: `verify_and_claim_async` verifies exactly as the sync call does and shares its
/// claims (a delivery claimed by either is a replay for the other).
#[tokio::test]
async fn webhook_verify_and_claim_async() {
    let secret = [7u8; 32];
    let whsec = format!("whsec_{}", b64_standard(&secret));
    let v = StandardWebhooks::new(&[whsec.as_str()]).unwrap();
    let signer = StandardSigner::new(&whsec).unwrap();
    let now = 1_700_000_000;
    let body = br#"{"type":"invoice.paid"}"#;
    let headers = |id: &str| {
        let signature = signer.signature(id, now, body).unwrap();
        vec![
            ("webhook-id".to_string(), id.to_string()),
            ("webhook-timestamp".to_string(), now.to_string()),
            ("webhook-signature".to_string(), signature),
        ]
    };
    let store = MemoryReplayStore::new(10);
    let keep = Duration::from_secs(600);
    let h1 = headers("msg_1");
    let req1 = Request::new(h1.iter().map(|(a, b)| (a.as_str(), b.as_str())), body);
    let fut = verify_and_claim_async(&v, &req1, now, &store, "billing", keep);
    assert_send(&fut); // usable from a multi-threaded runtime's handlers
    let ok = fut.await.unwrap();
    assert_eq!(ok.id, "msg_1");
    assert_eq!(
        kind(verify_and_claim_async(&v, &req1, now, &store, "billing", keep).await),
        ErrorKind::Replayed
    );
    assert_eq!(
        kind(verify_and_claim(&v, &req1, now, &store, "billing", keep)),
        ErrorKind::Replayed
    );
    // A forged body fails verification and never reaches the store.
    let forged = Request::new(h1.iter().map(|(a, b)| (a.as_str(), b.as_str())), b"{}");
    assert_eq!(
        kind(verify_and_claim_async(&v, &forged, now, &store, "x", keep).await),
        ErrorKind::BadSignature
    );
    let h2 = headers("msg_2");
    let req2 = Request::new(h2.iter().map(|(a, b)| (a.as_str(), b.as_str())), body);
    assert!(verify_and_claim(&v, &req2, now, &store, "billing", keep).is_ok());
    assert_eq!(
        kind(verify_and_claim_async(&v, &req2, now, &store, "billing", keep).await),
        ErrorKind::Replayed
    );
    assert_eq!(store.len(), 2);
}

/// Compiles only if `T` is `Send`.
fn assert_send<T: Send>(_: &T) {}

fn b64_standard(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Effectively-once processing through `BlockingStore` (SQLite on the blocking pool) and the
/// memory store's async form: a failed async handler releases, the retry processes, the third
/// delivery is `replayed`; a delivery while the handler runs is `in-progress`.
#[cfg(all(feature = "tokio", feature = "sqlite"))]
#[test]
fn async_process_on_sqlite_and_memory() {
    use eventseal::{BlockingStore, ProcessError, SqliteReplayStore};
    let dir = tempfile::tempdir().unwrap();
    let w = World::new();
    let sqlite = SqliteReplayStore::open(dir.path().join("replay.db"), T0).unwrap();
    let stores: Vec<Arc<dyn AsyncReplayStore>> = vec![
        Arc::new(BlockingStore::new(sqlite)),
        Arc::new(MemoryReplayStore::new(100)),
    ];
    let rt = multi_thread_runtime();
    for store in stores {
        let opener = Arc::new(async_opener(&w, store));
        let env = Arc::new(w.seal(b"async"));
        rt.block_on(async {
            let r = opener.process(env.as_bytes(), |_| async { Err::<(), _>("down") }).await;
            assert!(matches!(r, Err(ProcessError::Handler { release: None, .. })), "{r:?}");
            let (o2, e2) = (opener.clone(), env.clone());
            let r = opener
                .process(env.as_bytes(), |opened| async move {
                    let during = o2.process(e2.as_bytes(), |_| async { Ok::<_, ()>(()) }).await;
                    assert!(
                        matches!(&during, Err(ProcessError::Rejected(e)) if e.kind() == ErrorKind::InProgress),
                        "{during:?}"
                    );
                    Ok::<_, ()>(opened.into_payload())
                })
                .await;
            assert_eq!(r.unwrap(), b"async");
            let third = opener.process(env.as_bytes(), |_| async { Ok::<_, ()>(()) }).await;
            assert!(matches!(&third, Err(ProcessError::Rejected(e)) if e.kind() == ErrorKind::Replayed));
        });
    }
}

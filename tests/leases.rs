//! Effectively-once processing: a lease begun before decryption, completed when the handler
//! succeeds, released when it fails; in-progress deliveries, lapsed leases, `lease-lost`, and
//! the replay protection an attacker still faces. Memory and a real SQLite file here; Redis
//! in `tests/redis.rs`.

#[path = "common/chaos.rs"]
mod chaos;
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use eventseal::{
    Begun, Claim, Completion, Disposition, Error, ErrorKind, FreshEnvelope, Freshness,
    LeaseRequest, LeaseToken, Limits, MemoryReplayStore, Opener, ProcessError, ReplayKey,
    ReplayStore, UntrustedEnvelope,
};

/// Every store these tests run on, fresh.
fn stores() -> Vec<(
    &'static str,
    Arc<dyn ReplayStore>,
    Option<tempfile::TempDir>,
)> {
    #[allow(unused_mut)]
    let mut v: Vec<(
        &'static str,
        Arc<dyn ReplayStore>,
        Option<tempfile::TempDir>,
    )> = vec![("memory", Arc::new(MemoryReplayStore::new(10_000)), None)];
    #[cfg(feature = "sqlite")]
    {
        let dir = tempfile::tempdir().unwrap();
        let store = eventseal::SqliteReplayStore::open(dir.path().join("r.db"), T0).unwrap();
        v.push(("sqlite", Arc::new(store), Some(dir)));
    }
    v
}

fn opener(w: &World, store: Arc<dyn ReplayStore>) -> Opener {
    Opener::new(copy_keys(&w.billing), w.trust(), store)
        .with_clock(w.clock.clone())
        .with_lease(Duration::from_secs(60))
}

fn rejected<T: std::fmt::Debug, E: std::fmt::Debug>(r: Result<T, ProcessError<E>>) -> ErrorKind {
    match r {
        Err(ProcessError::Rejected(e)) => e.kind(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn token(b: u8) -> LeaseToken {
    LeaseToken::from_bytes([b; 16])
}

/// The state machine of every store: begin, in-progress, lapse and take-over, complete,
/// lease-lost, release by the owner and by anyone else, expiry.
#[test]
fn store_transitions() {
    for (name, store, _dir) in stores() {
        chaos::store_transitions(name, store.as_ref());
    }
}

/// A store error at complete or release reaches the caller, never swallowed.
#[test]
fn store_errors_after_the_handler_are_reported() {
    /// A memory store whose complete or release fails.
    struct Flaky {
        inner: MemoryReplayStore,
        fail_complete: bool,
    }
    fn down() -> Error {
        Error::StoreUnavailable(Box::new(std::io::Error::other("down")))
    }
    impl ReplayStore for Flaky {
        fn begin(&self, k: &ReplayKey<'_>, r: &LeaseRequest) -> eventseal::Result<Begun> {
            self.inner.begin(k, r)
        }
        fn complete(
            &self,
            k: &ReplayKey<'_>,
            t: &LeaseToken,
            e: i64,
            n: i64,
        ) -> eventseal::Result<Completion> {
            if self.fail_complete {
                return Err(down());
            }
            self.inner.complete(k, t, e, n)
        }
        fn release(&self, k: &ReplayKey<'_>, t: &LeaseToken) -> eventseal::Result<bool> {
            if !self.fail_complete {
                return Err(down());
            }
            self.inner.release(k, t)
        }
        fn claim(&self, k: &ReplayKey<'_>, e: i64, n: i64) -> eventseal::Result<Claim> {
            self.inner.claim(k, e, n)
        }
    }
    let w = World::new();
    let flaky = |fail_complete| {
        opener(
            &w,
            Arc::new(Flaky {
                inner: MemoryReplayStore::new(100),
                fail_complete,
            }),
        )
    };
    let env = w.seal(b"x");
    match flaky(true).process(env.as_bytes(), |_| Ok::<_, ()>(())) {
        Err(ProcessError::NotCompleted(e)) => assert_eq!(e.kind(), ErrorKind::StoreUnavailable),
        other => panic!("{other:?}"),
    }
    match flaky(false).process(env.as_bytes(), |_| Err::<(), _>("handler")) {
        Err(ProcessError::Handler {
            error,
            release: Some(e),
        }) => {
            assert_eq!(error, "handler");
            assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
        }
        other => panic!("{other:?}"),
    }
}

/// The lease never outlives the record it guards.
#[test]
fn a_lease_is_capped_at_the_record_expiry() {
    let r = LeaseRequest::new(token(1), T0, 3600, T0 + 100);
    assert_eq!(r.lease_until, T0 + 100);
    let r = LeaseRequest::new(token(1), T0, i64::MAX, T0 + 100);
    assert_eq!(r.lease_until, T0 + 100);
    let r = LeaseRequest::new(token(1), T0, -5, T0 + 100);
    assert_eq!(r.lease_until, T0);
}

/// Handler fails → the retry processes it → the third delivery is `replayed`.
#[test]
fn a_failed_handler_releases_and_the_retry_processes() {
    for (name, store, _dir) in stores() {
        let w = World::new();
        let opener = opener(&w, store);
        let env = w.seal(b"pay 10");
        let effects = AtomicUsize::new(0);
        let first = opener.process(env.as_bytes(), |_| Err::<(), _>("database down"));
        match first {
            Err(ProcessError::Handler { error, release }) => {
                assert_eq!(error, "database down");
                assert!(release.is_none(), "{name}");
            }
            other => panic!("{name}: {other:?}"),
        }
        let second = opener.process(env.as_bytes(), |opened| {
            effects.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(opened.payload().to_vec())
        });
        assert_eq!(second.unwrap(), b"pay 10", "{name}");
        let third = opener.process(env.as_bytes(), |_| {
            effects.fetch_add(1, Ordering::SeqCst);
            Ok::<_, ()>(Vec::<u8>::new())
        });
        assert_eq!(rejected(third), ErrorKind::Replayed, "{name}");
        assert_eq!(effects.load(Ordering::SeqCst), 1, "{name}");
        // The one-call open agrees: the envelope was completed.
        assert_eq!(
            kind(opener.open(env.as_bytes())),
            ErrorKind::Replayed,
            "{name}"
        );
    }
}

/// A panicking handler releases its lease as the panic unwinds (the sync form).
#[test]
fn a_panicking_handler_releases() {
    for (name, store, _dir) in stores() {
        let w = World::new();
        let opener = opener(&w, store);
        let env = w.seal(b"x");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = opener.process(env.as_bytes(), |_| -> Result<(), ()> {
                panic!("handler bug")
            });
        }));
        assert!(panicked.is_err(), "{name}");
        assert!(
            opener.process(env.as_bytes(), |_| Ok::<_, ()>(())).is_ok(),
            "{name}"
        );
    }
}

/// While the first delivery's handler runs, a second (redelivery or replay) is `in-progress`,
/// and never runs the handler; after it completes, `replayed`.
#[test]
fn concurrent_deliveries_are_in_progress() {
    for (name, store, _dir) in stores() {
        let w = World::new();
        let opener = opener(&w, store);
        let env = w.seal(b"x");
        let inner = opener.process(env.as_bytes(), |_| {
            let during = opener.process(env.as_bytes(), |_| Ok::<_, ()>(()));
            assert_eq!(rejected(during), ErrorKind::InProgress, "{name}");
            assert_eq!(
                kind(opener.open(env.as_bytes())),
                ErrorKind::InProgress,
                "{name}"
            );
            Ok::<_, ()>(())
        });
        inner.unwrap();
        assert_eq!(
            rejected(opener.process(env.as_bytes(), |_| Ok::<_, ()>(()))),
            ErrorKind::Replayed,
            "{name}"
        );
    }
}

/// A lease that lapses while its handler runs is taken over by another delivery; the first
/// handler's completion then reports `lease-lost` (the handler ran twice, and the caller
/// must know), and the one that took over completes.
#[test]
fn a_lapsed_lease_taken_over_is_lease_lost() {
    for (name, store, _dir) in stores() {
        let w = World::new();
        let opener = opener(&w, store);
        let env = w.seal(b"x");
        let runs = AtomicUsize::new(0);
        let first = opener.process(env.as_bytes(), |_| {
            runs.fetch_add(1, Ordering::SeqCst);
            // The handler is slow: its 60 s lease lapses, and a redelivery takes over.
            w.clock.advance(61);
            let second = opener.process(env.as_bytes(), |_| {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok::<_, ()>(())
            });
            assert!(second.is_ok(), "{name}: {second:?}");
            Ok::<_, ()>(())
        });
        match first {
            Err(ProcessError::NotCompleted(e)) => assert_eq!(e.kind(), ErrorKind::LeaseLost),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2, "{name}");
        assert_eq!(
            rejected(opener.process(env.as_bytes(), |_| Ok::<_, ()>(()))),
            ErrorKind::Replayed
        );
    }
}

/// A released envelope can be processed again only within its validity window: after it
/// expires, the next delivery is `expired`, before any store is asked.
#[test]
fn a_released_envelope_reopens_only_while_fresh() {
    for (name, store, _dir) in stores() {
        let w = World::new();
        let opener = opener(&w, store);
        let env = w.seal(b"x"); // valid for 300 s, 60 s of skew
        assert!(opener
            .process(env.as_bytes(), |_| Err::<(), _>(()))
            .is_err());
        w.clock.advance(300 + 60);
        assert_eq!(
            rejected(opener.process(env.as_bytes(), |_| Ok::<_, ()>(()))),
            ErrorKind::Expired,
            "{name}"
        );
    }
}

/// Nothing is decrypted, and no handler runs, for an envelope that fails any check; a
/// forgery never reaches the store.
#[test]
fn rejections_run_no_handler() {
    let w = World::new();
    let store = Arc::new(MemoryReplayStore::new(100));
    let opener = opener(&w, store.clone());
    let mut parts = Parts::of(w.seal(b"x").as_bytes());
    parts.signature[0] ^= 1;
    let forged = parts.to_envelope();
    let r = opener.process(&forged, |_| -> Result<(), ()> {
        panic!("ran on a forgery")
    });
    assert_eq!(rejected(r), ErrorKind::BadSignature);
    assert!(store.is_empty());
}

/// A decryption failure after the lease is held is not retryable (a broken or malicious
/// producer): the record is completed, so the envelope is not worked on again.
#[test]
fn a_decryption_failure_completes_the_record() {
    let w = World::new();
    let opener = opener(&w, Arc::new(MemoryReplayStore::new(100)));
    let mut parts = Parts::of(w.seal(b"x").as_bytes());
    // The producer signs a ciphertext it corrupted: verification passes, decryption fails.
    let last = parts.ciphertext.len() - 1;
    parts.ciphertext[last] ^= 1;
    parts.resign(w.orders.key());
    let env = parts.to_envelope();
    let r = opener.process(&env, |_| -> Result<(), ()> { panic!("decrypted") });
    assert_eq!(rejected(r), ErrorKind::DecryptFailed);
    let again = opener.process(&env, |_| -> Result<(), ()> { panic!("decrypted") });
    assert_eq!(rejected(again), ErrorKind::Replayed);
}

fn fresh<'k>(
    w: &World,
    env: &'k [u8],
    keys: &'k [eventseal::RecipientSecretKey],
    trust: &'k eventseal::TrustStore,
) -> FreshEnvelope<'k> {
    let _ = w;
    UntrustedEnvelope::parse(env, &Limits::default())
        .unwrap()
        .verify(trust)
        .unwrap()
        .address(keys)
        .unwrap()
        .check_freshness(&Freshness::default(), T0)
        .unwrap()
}

/// The staged API: a leased envelope decrypts to the payload and a `Lease` to settle.
/// Completing it makes the envelope a duplicate; releasing it, or dropping it unsettled
/// (an early return, a panic), lets a redelivery process it.
#[test]
fn the_staged_lease_completes_releases_and_releases_on_drop() {
    let w = World::new();
    let store = MemoryReplayStore::new(100);
    let trust = w.trust();
    let keys = copy_keys(&w.billing);
    let lease = Duration::from_secs(60);
    let begin = |env: &[u8]| {
        fresh(&w, env, &keys, &trust)
            .begin(&store, lease)
            .map(|_| ())
            .map_err(|e| e.kind())
    };
    // Released explicitly.
    let env = w.seal(b"a");
    let leased = fresh(&w, env.as_bytes(), &keys, &trust)
        .begin(&store, lease)
        .unwrap();
    assert_eq!(leased.header().event_type(), "order.created");
    let (opened, l) = leased.decrypt().unwrap();
    assert_eq!(opened.payload(), b"a");
    assert_eq!(begin(env.as_bytes()), Err(ErrorKind::InProgress));
    l.release().unwrap();
    // Dropped: released too.
    {
        let leased = fresh(&w, env.as_bytes(), &keys, &trust)
            .begin(&store, lease)
            .unwrap();
        let (_opened, _lease) = leased.decrypt().unwrap();
    }
    let leased = fresh(&w, env.as_bytes(), &keys, &trust)
        .begin(&store, lease)
        .unwrap();
    drop(leased); // before decrypting: released as well
                  // Completed: a duplicate from then on.
    let (_, l) = fresh(&w, env.as_bytes(), &keys, &trust)
        .begin(&store, lease)
        .unwrap()
        .decrypt()
        .unwrap();
    l.complete().unwrap();
    assert_eq!(begin(env.as_bytes()), Err(ErrorKind::Replayed));
}

#[test]
fn every_kind_has_a_disposition() {
    use Disposition::*;
    let want = |k: ErrorKind| match k.as_str() {
        "replayed" => Acknowledge,
        "in-progress" | "lease-lost" | "store-unavailable" | "store-full" | "not-yet-valid"
        | "invalid-key" | "invalid-trust" | "invalid-input" | "rng" | "signer-failed" => Retry,
        _ => Reject,
    };
    for &k in ErrorKind::ALL {
        assert_eq!(k.disposition(), want(k), "{k}");
    }
    for k in [
        "bad-signature",
        "malformed",
        "policy-denied",
        "expired",
        "decrypt-failed",
    ] {
        let kind = ErrorKind::ALL.iter().find(|x| x.as_str() == k).unwrap();
        assert_eq!(kind.disposition(), Reject);
    }
    assert_eq!(Error::Replayed.disposition(), Acknowledge);
    assert_eq!(Error::InProgress.disposition(), Retry);
    assert_eq!(
        ProcessError::<()>::Rejected(Error::Replayed).disposition(),
        Acknowledge
    );
    assert_eq!(
        ProcessError::Handler {
            error: (),
            release: None
        }
        .disposition(),
        Retry
    );
    assert_eq!(
        ProcessError::<()>::NotCompleted(Error::LeaseLost).disposition(),
        Retry
    );
    assert_eq!(Disposition::Acknowledge.to_string(), "acknowledge");
}

#[test]
fn chaos_memory() {
    let r = chaos::chaos(Arc::new(MemoryReplayStore::new(10_000)), 200);
    println!("memory: {r:?}");
    assert!(r.handler_failures > 20, "{r:?}");
}

#[cfg(feature = "sqlite")]
#[test]
fn chaos_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = eventseal::SqliteReplayStore::open(dir.path().join("chaos.db"), T0).unwrap();
    let r = chaos::chaos(Arc::new(store), 200);
    println!("sqlite: {r:?}");
    assert!(r.handler_failures > 20, "{r:?}");
}

/// Webhook deliveries get the same: a failed handler releases, the provider's retry is
/// processed, a delivery during processing is `in-progress`, one after it `replayed`.
#[test]
fn webhook_deliveries_are_processed_effectively_once() {
    use eventseal::webhook::{verify_and_process, Request, StandardSigner, StandardWebhooks};
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let signer = StandardSigner::new(secret).unwrap();
    let verifier = StandardWebhooks::new(&[secret]).unwrap();
    let body = br#"{"type":"invoice.paid"}"#;
    let headers = signer.headers("msg_1", T0, body).unwrap();
    let request = Request::new(headers.iter().map(|(n, v)| (*n, v.as_str())), body);
    for (name, store, _dir) in stores() {
        let process = |handler: &dyn Fn() -> Result<(), &'static str>| {
            verify_and_process(
                &verifier,
                &request,
                T0,
                store.as_ref(),
                "billing",
                Duration::from_secs(3600),
                Duration::from_secs(60),
                |v| {
                    assert_eq!(v.id, "msg_1");
                    handler()
                },
            )
        };
        assert!(
            matches!(process(&|| Err("down")), Err(ProcessError::Handler { .. })),
            "{name}"
        );
        let r = process(&|| {
            let during = process(&|| Ok(()));
            assert_eq!(rejected(during), ErrorKind::InProgress);
            Ok(())
        });
        assert!(r.is_ok(), "{name}: {r:?}");
        assert_eq!(rejected(process(&|| Ok(()))), ErrorKind::Replayed, "{name}");
    }
}

//! The chaos test of effectively-once processing, shared by `tests/leases.rs` (memory,
//! SQLite) and `tests/redis.rs` (Redis).
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use crate::common::*;
use eventseal::{
    Begun, Claim, Completion, Disposition, LeaseRequest, LeaseToken, Opener, ProcessError,
    ReplayKey, ReplayStore,
};

const KEY: ReplayKey<'static> =
    ReplayKey::envelope("billing", "orders", "0190a4c2-0000-7000-8000-0000000000aa");

fn token(b: u8) -> LeaseToken {
    LeaseToken::from_bytes([b; 16])
}

/// The chaos test: N envelopes, each delivered 3 times in random order to 4 concurrent
/// workers; the handler fails at random 30 % of the time before its side effect; failed and
/// in-progress deliveries are redelivered until every delivery is acknowledged. Every
/// envelope's side effect happens exactly once.
pub fn chaos(store: Arc<dyn ReplayStore>, envelopes: usize) -> ChaosReport {
    let w = World::new();
    let opener = Arc::new(
        Opener::new(copy_keys(&w.billing), w.trust(), store)
            .with_clock(w.clock.clone())
            .with_lease(Duration::from_secs(60)),
    );
    let payloads: Vec<Vec<u8>> = (0..envelopes)
        .map(|i| format!("{i}").into_bytes())
        .collect();
    let sealed: Vec<Vec<u8>> = payloads
        .iter()
        .map(|p| w.seal(p).as_bytes().to_vec())
        .collect();
    // Deliveries: each envelope three times, shuffled by a small deterministic generator.
    let mut queue: Vec<usize> = (0..envelopes).flat_map(|i| [i, i, i]).collect();
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for i in (1..queue.len()).rev() {
        let j = usize::try_from(next() % (i as u64 + 1)).unwrap();
        queue.swap(i, j);
    }
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(queue)));
    let effects: Arc<Vec<AtomicUsize>> =
        Arc::new((0..envelopes).map(|_| AtomicUsize::new(0)).collect());
    let report = Arc::new(Mutex::new(ChaosReport::default()));
    let barrier = Arc::new(Barrier::new(4));
    std::thread::scope(|s| {
        for worker in 0..4u64 {
            let (queue, effects, report, opener, barrier, sealed) =
                (&queue, &effects, &report, &opener, &barrier, &sealed);
            s.spawn(move || {
                let mut rng = 0x9e37_79b9_7f4a_7c15_u64 ^ (worker + 1);
                let mut fails = move || {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng % 100 < 30
                };
                barrier.wait();
                loop {
                    let Some(i) = queue.lock().unwrap().pop_front() else {
                        break;
                    };
                    let r = opener.process(&sealed[i], |opened| {
                        if fails() {
                            return Err("transient");
                        }
                        let n: usize = std::str::from_utf8(opened.payload())
                            .unwrap()
                            .parse()
                            .unwrap();
                        effects[n].fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    });
                    let mut rep = report.lock().unwrap();
                    rep.deliveries += 1;
                    match r {
                        Ok(()) => rep.processed += 1,
                        Err(e) => match e.disposition() {
                            Disposition::Acknowledge => rep.duplicates += 1,
                            Disposition::Retry => {
                                match e {
                                    ProcessError::Handler { .. } => rep.handler_failures += 1,
                                    _ => rep.in_progress += 1,
                                }
                                queue.lock().unwrap().push_back(i);
                            }
                            Disposition::Reject => panic!("rejected for good: {e:?}"),
                        },
                    }
                }
            });
        }
    });
    let report = Arc::try_unwrap(report).unwrap().into_inner().unwrap();
    for (i, e) in effects.iter().enumerate() {
        assert_eq!(e.load(Ordering::SeqCst), 1, "envelope {i}: {report:?}");
    }
    assert_eq!(report.processed, envelopes);
    assert_eq!(report.duplicates, 2 * envelopes);
    report
}

/// What the chaos test saw.
#[derive(Debug, Default)]
pub struct ChaosReport {
    /// Delivery attempts in all.
    pub deliveries: usize,
    /// Handler ran and completed.
    pub processed: usize,
    /// `replayed`: acknowledged as duplicates.
    pub duplicates: usize,
    /// The handler failed and the lease was released.
    pub handler_failures: usize,
    /// `in-progress`: redelivered later.
    pub in_progress: usize,
}

/// The state machine of a store: begin, in-progress, lapse and take-over, complete,
/// lease-lost, release by the owner and by anyone else, expiry.
pub fn store_transitions(name: &str, store: &dyn ReplayStore) {
    let begin = |t: u8, now: i64, lease: i64| {
        store
            .begin(&KEY, &LeaseRequest::new(token(t), now, lease, T0 + 300))
            .unwrap()
    };
    assert_eq!(begin(1, T0, 60), Begun::Started, "{name}");
    assert_eq!(begin(2, T0 + 10, 60), Begun::InProgress, "{name}");
    // A resent begin (its first attempt applied, its reply lost) finds its own lease.
    if name == "redis" {
        assert_eq!(begin(1, T0 + 10, 60), Begun::Started, "{name}");
    }
    // A release by a non-owner changes nothing.
    assert!(!store.release(&KEY, &token(2)).unwrap(), "{name}");
    assert_eq!(begin(2, T0 + 59, 60), Begun::InProgress, "{name}");
    // The lease lapses at T0 + 60: another caller takes the key over.
    assert_eq!(begin(2, T0 + 60, 60), Begun::Started, "{name}");
    // The first owner's complete is now lease-lost, and changes nothing.
    assert_eq!(
        store.complete(&KEY, &token(1), T0 + 300, T0 + 61).unwrap(),
        Completion::LeaseLost,
        "{name}"
    );
    assert_eq!(begin(3, T0 + 62, 60), Begun::InProgress, "{name}");
    // The owner completes: every later begin or claim is a duplicate until expiry.
    assert_eq!(
        store.complete(&KEY, &token(2), T0 + 300, T0 + 62).unwrap(),
        Completion::Completed,
        "{name}"
    );
    // A resent complete finds its own completed record.
    assert_eq!(
        store.complete(&KEY, &token(2), T0 + 300, T0 + 62).unwrap(),
        if name == "redis" {
            Completion::Completed
        } else {
            Completion::LeaseLost
        },
        "{name}"
    );
    assert_eq!(begin(3, T0 + 100, 60), Begun::AlreadyDone, "{name}");
    assert_eq!(
        store.claim(&KEY, T0 + 300, T0 + 100).unwrap(),
        Claim::AlreadyClaimed,
        "{name}"
    );
    assert!(
        !store.release(&KEY, &token(2)).unwrap(),
        "a completed record is kept"
    );
    assert_eq!(begin(3, T0 + 299, 60), Begun::AlreadyDone, "{name}");
    // After the record's expiry the key is free again (the envelope is then stale, and the
    // opener refuses it before any begin). Redis keeps the key a clock margin longer.
    if name != "redis" {
        assert_eq!(begin(3, T0 + 300, 60), Begun::Started, "{name}");
    }
    // The owner releases: the key is free at once.
    let key = ReplayKey::envelope("billing", "orders", "0190a4c2-0000-7000-8000-0000000000cc");
    let at = |t: u8, now: i64| {
        store
            .begin(&key, &LeaseRequest::new(token(t), now, 60, T0 + 900))
            .unwrap()
    };
    assert_eq!(at(3, T0), Begun::Started, "{name}");
    assert_eq!(at(4, T0 + 1), Begun::InProgress, "{name}");
    assert!(store.release(&key, &token(3)).unwrap(), "{name}");
    assert!(
        !store.release(&key, &token(3)).unwrap(),
        "released once, {name}"
    );
    assert_eq!(at(4, T0 + 2), Begun::Started, "{name}");
    // A one-step claim on a live lease is in progress; on a lapsed one it claims.
    let other = ReplayKey::envelope("billing", "orders", "0190a4c2-0000-7000-8000-0000000000bb");
    let req = LeaseRequest::new(token(5), T0, 60, T0 + 300);
    assert_eq!(store.begin(&other, &req).unwrap(), Begun::Started);
    assert_eq!(
        store.claim(&other, T0 + 300, T0 + 1).unwrap(),
        Claim::InProgress,
        "{name}"
    );
    assert_eq!(
        store.claim(&other, T0 + 300, T0 + 60).unwrap(),
        Claim::Claimed,
        "{name}"
    );
    assert_eq!(
        store
            .complete(&other, &token(5), T0 + 300, T0 + 61)
            .unwrap(),
        Completion::LeaseLost,
        "{name}"
    );
    // Envelope and webhook records stay apart here too.
    let hook = ReplayKey::webhook("billing", "orders", KEY.id);
    assert_eq!(
        store
            .begin(&hook, &LeaseRequest::new(token(6), T0 + 302, 60, T0 + 900))
            .unwrap(),
        Begun::Started,
        "{name}"
    );
}

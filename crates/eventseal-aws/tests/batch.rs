//! The batch processor on the memory store: outcomes and the response per record, the
//! permanent-rejection setting, bounded concurrency, FIFO order, direct EventBridge
//! invocations. (The same processor against DynamoDB and a real bus: tests/end_to_end.rs.)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use common::*;
use eventseal::{ErrorKind, MemoryReplayStore, Opened};
use eventseal_aws::{BatchProcessor, Outcome, PermanentRejections, RecordContext};

fn event(v: serde_json::Value) -> SqsEvent {
    serde_json::from_value(v).unwrap()
}

fn bodies(w: &World, payloads: &[&str]) -> Vec<String> {
    payloads
        .iter()
        .map(|p| deliver(&w.entry(p.as_bytes(), "bus")))
        .collect()
}

/// A body whose envelope signature no longer verifies (one base64url character of the
/// signature changed).
fn tampered(body: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(body).unwrap();
    let sig = v["detail"]["signature"].as_str().unwrap().to_owned();
    let mut chars: Vec<char> = sig.chars().collect();
    chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
    v["detail"]["signature"] = chars.into_iter().collect::<String>().into();
    v.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_record_gets_its_outcome_and_only_failures_are_reported() {
    let w = World::new();
    let rec = Recorder::default();
    let store = Arc::new(MemoryReplayStore::new(1000));
    let p = BatchProcessor::new(w.opener(store), rec.handler());

    let mut b = bodies(&w, &["a", "b", "fail-c", "d"]);
    b.push(tampered(&b[0].clone()));
    b.push("not json".into());
    let report = p.process_sqs_report(event(sqs_event(&b, None))).await;
    let outcomes: Vec<_> = report.records.iter().map(|r| r.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Processed,
            Outcome::Processed,
            Outcome::HandlerFailed("cannot handle fail-c".into()),
            Outcome::Processed,
            Outcome::Dropped(ErrorKind::BadSignature),
            Outcome::Dropped(ErrorKind::Malformed),
        ]
    );
    assert_eq!(failures(&report.response()), ["m2"]);
    assert_eq!(rec.handled(), ["a", "b", "d"]);

    // The same batch again: duplicates acknowledged, nothing handled twice; the failed
    // record's lease was released, so its redelivery is handled (and fails again here).
    let again = p.process_sqs_report(event(sqs_event(&b, None))).await;
    let outcomes: Vec<_> = again.records.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "duplicate",
            "duplicate",
            "handler-failed",
            "duplicate",
            "dropped",
            "dropped"
        ]
    );
    assert_eq!(rec.handled(), ["a", "b", "d"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letter_setting_reports_permanent_rejections() {
    let w = World::new();
    let rec = Recorder::default();
    let p = BatchProcessor::new(
        w.opener(Arc::new(MemoryReplayStore::new(100))),
        rec.handler(),
    )
    .with_permanent_rejections(PermanentRejections::DeadLetter);
    let mut b = bodies(&w, &["a"]);
    b.push(tampered(&b[0].clone()));
    // An event for another consumer's source binding: its account is not the source's.
    let mut rogue: serde_json::Value = serde_json::from_str(&b[0]).unwrap();
    rogue["account"] = "999988887777".into();
    b.push(rogue.to_string());
    let report = p.process_sqs_report(event(sqs_event(&b, None))).await;
    let outcomes: Vec<_> = report.records.iter().map(|r| r.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Processed,
            Outcome::DeadLettered(ErrorKind::BadSignature),
            Outcome::DeadLettered(ErrorKind::BindingMismatch),
        ]
    );
    assert_eq!(failures(&report.response()), ["m1", "m2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_without_body_or_an_in_progress_one() {
    let w = World::new();
    let store = Arc::new(MemoryReplayStore::new(100));
    // A handler that blocks until released, to hold a lease while a second batch runs.
    let gate = Arc::new(tokio::sync::Notify::new());
    let entered = Arc::new(tokio::sync::Notify::new());
    let (g, e) = (Arc::clone(&gate), Arc::clone(&entered));
    let slow = BatchProcessor::new(
        w.opener(store.clone()),
        move |_: Opened, _: RecordContext| {
            let (g, e) = (Arc::clone(&g), Arc::clone(&e));
            async move {
                e.notify_one();
                g.notified().await;
                Ok::<(), String>(())
            }
        },
    );
    let b = bodies(&w, &["a"]);
    let ev = event(sqs_event(&b, None));
    let first = tokio::spawn({
        let ev = ev.clone();
        async move { slow.process_sqs_report(ev).await }
    });
    entered.notified().await;
    let rec = Recorder::default();
    let other = BatchProcessor::new(w.opener(store.clone()), rec.handler());
    let second = other.process_sqs_report(ev).await;
    assert_eq!(
        second.records[0].outcome,
        Outcome::Retry(ErrorKind::InProgress)
    );
    assert_eq!(failures(&second.response()), ["m0"]);
    gate.notify_one();
    assert_eq!(first.await.unwrap().records[0].outcome, Outcome::Processed);
    assert!(rec.handled().is_empty());

    let mut no_body = sqs_event(&b, None);
    no_body["Records"][0]
        .as_object_mut()
        .unwrap()
        .remove("body");
    let r = other.process_sqs_report(event(no_body)).await;
    assert_eq!(r.records[0].outcome, Outcome::Dropped(ErrorKind::Malformed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_is_bounded_by_workers_and_used() {
    let w = World::new();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (r, pk) = (Arc::clone(&running), Arc::clone(&peak));
    let handler = move |_: Opened, _: RecordContext| {
        let (r, pk) = (Arc::clone(&r), Arc::clone(&pk));
        async move {
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            pk.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(30)).await;
            r.fetch_sub(1, Ordering::SeqCst);
            Ok::<(), String>(())
        }
    };
    for workers in [1, 2, 3] {
        peak.store(0, Ordering::SeqCst);
        let p = BatchProcessor::new(
            w.opener(Arc::new(MemoryReplayStore::new(100))),
            handler.clone(),
        )
        .with_workers(workers);
        let payloads: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
        let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
        let report = p
            .process_sqs_report(event(sqs_event(&bodies(&w, &refs), None)))
            .await;
        assert_eq!(report.count("processed"), 10);
        // Never more than `workers` handlers at once, and (with 30 ms handlers) exactly that
        // many at the peak: the records did run side by side.
        assert_eq!(peak.load(Ordering::SeqCst), workers, "workers = {workers}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_groups_keep_order_and_skip_after_a_failure() {
    let w = World::new();
    let rec = Recorder::default();
    let p = BatchProcessor::new(
        w.opener(Arc::new(MemoryReplayStore::new(100))),
        rec.handler(),
    )
    .with_workers(4);
    // Group A: a1, fail-a2, a3, a4; group B: b1, b2, b3 (interleaved in the batch).
    let payloads = ["a1", "b1", "fail-a2", "b2", "a3", "b3", "a4"];
    let groups = |i: usize| if payloads[i].contains('a') { "A" } else { "B" }.to_owned();
    let b = bodies(&w, &payloads);
    let report = p
        .process_sqs_report(event(sqs_event(&b, Some(&groups))))
        .await;
    let outcomes: Vec<_> = report.records.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "processed",
            "processed",
            "handler-failed",
            "processed",
            "skipped",
            "processed",
            "skipped"
        ]
    );
    assert_eq!(failures(&report.response()), ["m2", "m4", "m6"]);
    // Each group's records were handled in the group's order.
    let handled = rec.handled_in_order();
    let b_order: Vec<_> = handled.iter().filter(|p| p.starts_with('b')).collect();
    assert_eq!(b_order, ["b1", "b2", "b3"]);
    assert_eq!(
        handled
            .iter()
            .filter(|p| p.starts_with('a'))
            .collect::<Vec<_>>(),
        ["a1"]
    );

    // Redelivery of the failed group's rest (a handler that now succeeds) handles a2, a3, a4
    // in order; a1 is a duplicate.
    let ok = Recorder::default();
    let p2 = BatchProcessor::new(p.opener_arc(), ok.handler());
    let fixed: Vec<String> = b.clone();
    let again = p2
        .process_sqs_report(event(sqs_event(&fixed, Some(&groups))))
        .await;
    let outcomes: Vec<_> = again.records.iter().map(|r| r.outcome.as_str()).collect();
    // fail-a2 still fails with this handler (its payload says so), so a3 and a4 stay skipped.
    assert_eq!(
        outcomes,
        [
            "duplicate",
            "duplicate",
            "handler-failed",
            "duplicate",
            "skipped",
            "duplicate",
            "skipped"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_eventbridge_invocation() {
    let w = World::new();
    let rec = Recorder::default();
    let p = BatchProcessor::new(
        w.opener(Arc::new(MemoryReplayStore::new(100))),
        rec.handler(),
    );
    let body = deliver(&w.entry(b"direct", "bus"));
    assert_eq!(
        p.process_eventbridge_event(body.as_bytes()).await.unwrap(),
        Outcome::Processed
    );
    assert_eq!(
        p.process_eventbridge_event(body.as_bytes()).await.unwrap(),
        Outcome::Duplicate
    );
    // As `lambda_runtime` parses it (EventBridgeEvent with a Value detail), then serialised
    // again: the envelope still verifies.
    let body2 = deliver(&w.entry(b"parsed", "bus"));
    let parsed: aws_lambda_events::event::eventbridge::EventBridgeEvent =
        serde_json::from_str(&body2).unwrap();
    assert_eq!(
        p.process_eventbridge_value(&parsed).await.unwrap(),
        Outcome::Processed
    );
    // A failed handler is the invocation's error (Lambda retries it).
    let failing = deliver(&w.entry(b"fail-direct", "bus"));
    let err = p
        .process_eventbridge_event(failing.as_bytes())
        .await
        .unwrap_err();
    assert_eq!(
        err.0,
        Outcome::HandlerFailed("cannot handle fail-direct".into())
    );
    // A forged one is dropped by default: not an error, so it is not retried.
    assert_eq!(
        p.process_eventbridge_event(tampered(&body).as_bytes())
            .await
            .unwrap(),
        Outcome::Dropped(ErrorKind::BadSignature)
    );
    assert_eq!(rec.handled(), ["direct", "parsed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_only_its_record() {
    let w = World::new();
    let p = BatchProcessor::new(
        w.opener(Arc::new(MemoryReplayStore::new(100))),
        |opened: Opened, _: RecordContext| async move {
            assert_ne!(opened.payload(), b"panic", "the handler panics");
            Ok::<(), String>(())
        },
    );
    let report = p
        .process_sqs_report(event(sqs_event(&bodies(&w, &["a", "panic", "c"]), None)))
        .await;
    let outcomes: Vec<_> = report.records.iter().map(|r| r.outcome.clone()).collect();
    assert_eq!(
        outcomes,
        [Outcome::Processed, Outcome::Panicked, Outcome::Processed]
    );
    assert_eq!(failures(&report.response()), ["m1"]);
}

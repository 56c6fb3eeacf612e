//! End to end against moto (real SDK clients, a real server on a loopback port): the producer
//! seals and puts with `aws-sdk-eventbridge` -> the bus's rule delivers to an SQS queue -> the
//! consumer receives with `aws-sdk-sqs`, builds the Lambda `SqsEvent` and runs the batch
//! processor with the DynamoDB replay store.

mod common;

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use common::moto::{self, Moto};
use common::*;
use eventseal::ErrorKind;
use eventseal_aws::{
    put_entries, BatchProcessor, DynamoDbReplayStore, EntryOutcome, Outcome, PermanentRejections,
    RetryPolicy,
};

const BUS: &str = "central";

struct Setup {
    moto: Moto,
    config: aws_config::SdkConfig,
    queue: String,
    store: Arc<DynamoDbReplayStore>,
}

async fn setup() -> Setup {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let queue = moto::bus_to_queue(&config, BUS, EB_SOURCE).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    moto::create_replay_table(&dynamodb, "replay").await;
    let store = Arc::new(DynamoDbReplayStore::new(dynamodb, "replay"));
    Setup {
        moto,
        config,
        queue,
        store,
    }
}

/// Seals each payload, puts it on the bus, and returns the Lambda event for what the queue
/// received.
async fn put_and_receive(s: &Setup, w: &World, payloads: &[&str]) -> serde_json::Value {
    let entries: Vec<_> = payloads
        .iter()
        .map(|p| w.entry(p.as_bytes(), BUS))
        .collect();
    let client = aws_sdk_eventbridge::Client::new(&s.config);
    let outcomes = put_entries(&client, &entries, RetryPolicy::default()).await;
    assert_eq!(outcomes.len(), payloads.len());
    for o in &outcomes {
        assert!(
            matches!(o, EntryOutcome::Put { event_id } if !event_id.is_empty()),
            "{o:?}"
        );
    }
    let event = moto::receive_all(&s.config, &s.queue).await;
    assert_eq!(event["Records"].as_array().unwrap().len(), payloads.len());
    event
}

fn sqs(v: &serde_json::Value) -> SqsEvent {
    serde_json::from_value(v.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_deliver_process_once_then_duplicates() {
    let s = setup().await;
    let w = World::new();
    let payloads: Vec<String> = (0..12).map(|i| format!("order-{i}")).collect();
    let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
    let event = put_and_receive(&s, &w, &refs).await;

    let rec = Recorder::default();
    let p = BatchProcessor::new(w.opener(s.store.clone()), rec.handler());
    let response = p.process_sqs(sqs(&event)).await;
    assert!(response.batch_item_failures.is_empty());
    let mut expected = payloads.clone();
    expected.sort();
    assert_eq!(rec.handled(), expected);

    // The same batch again (a redelivery): all duplicates, acknowledged, no handler run.
    let report = p.process_sqs_report(sqs(&event)).await;
    assert_eq!(report.count("duplicate"), 12);
    assert!(report.response().batch_item_failures.is_empty());
    assert_eq!(rec.handled().len(), 12);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_dropped_or_dead_lettered_and_a_failed_handler_retried() {
    let s = setup().await;
    let w = World::new();
    let mut event = put_and_receive(&s, &w, &["a", "fail-b", "c"]).await;
    // An attacker on the path changes one record's payload ciphertext.
    let body = event["Records"][2]["body"].as_str().unwrap().to_owned();
    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ct = v["detail"]["ciphertext"].as_str().unwrap().to_owned();
    v["detail"]["ciphertext"] = flip_first(&ct).into();
    event["Records"][2]["body"] = v.to_string().into();
    let tampered_id = event["Records"][2]["messageId"]
        .as_str()
        .unwrap()
        .to_owned();

    let rec = Recorder::default();
    let p = BatchProcessor::new(w.opener(s.store.clone()), rec.handler());
    let report = p.process_sqs_report(sqs(&event)).await;
    let by_id = |id: &str| {
        report
            .records
            .iter()
            .find(|r| r.message_id == id)
            .unwrap()
            .outcome
            .clone()
    };
    assert_eq!(
        by_id(&tampered_id),
        Outcome::Dropped(ErrorKind::BadSignature)
    );
    let handler_failed: Vec<_> = report
        .records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::HandlerFailed(_)))
        .map(|r| r.message_id.clone())
        .collect();
    assert_eq!(handler_failed.len(), 1);
    // Exactly the failed handler's record is in batchItemFailures.
    assert_eq!(failures(&report.response()), handler_failed);
    assert_eq!(rec.handled(), ["a"]);

    // With the dead-letter setting, the tampered record is reported too.
    let dl = BatchProcessor::new(w.opener(s.store.clone()), rec.handler())
        .with_permanent_rejections(PermanentRejections::DeadLetter);
    let report = dl.process_sqs_report(sqs(&event)).await;
    let mut expected = vec![tampered_id.clone(), handler_failed[0].clone()];
    expected.sort();
    assert_eq!(failures(&report.response()), expected);

    // The redelivery of the failed record, to a handler that now succeeds: processed once.
    let ok = Recorder::default();
    let fixed = BatchProcessor::new(w.opener(s.store.clone()), move |o: eventseal::Opened, _| {
        let ok = ok.clone();
        async move {
            ok.handled
                .lock()
                .unwrap()
                .push(String::from_utf8(o.payload().to_vec()).unwrap());
            Ok::<(), String>(())
        }
    });
    let only_failed = serde_json::json!({
        "Records": event["Records"].as_array().unwrap().iter()
            .filter(|r| r["messageId"] == handler_failed[0].as_str()).cloned().collect::<Vec<_>>()
    });
    let report = fixed.process_sqs_report(sqs(&only_failed)).await;
    assert_eq!(report.records[0].outcome, Outcome::Processed);
    let again = fixed.process_sqs_report(sqs(&only_failed)).await;
    assert_eq!(again.records[0].outcome, Outcome::Duplicate);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_unreachable_leaves_every_record_for_retry() {
    let s = setup().await;
    let w = World::new();
    let event = put_and_receive(&s, &w, &["a", "b", "c"]).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = moto::sdk_config_for(&format!("http://127.0.0.1:{port}")).await;
    let store = Arc::new(DynamoDbReplayStore::new(
        aws_sdk_dynamodb::Client::new(&down),
        "replay",
    ));
    let rec = Recorder::default();
    let p = BatchProcessor::new(w.opener(store), rec.handler());
    let report = p.process_sqs_report(sqs(&event)).await;
    for r in &report.records {
        assert_eq!(r.outcome, Outcome::Retry(ErrorKind::StoreUnavailable));
    }
    assert_eq!(report.response().batch_item_failures.len(), 3);
    assert!(rec.handled().is_empty());
    drop(s.moto);
}

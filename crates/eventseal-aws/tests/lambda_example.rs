//! examples/lambda_consumer.rs, invoked as Lambda would: a real `LambdaEvent<SqsEvent>` (the
//! JSON Lambda sends, parsed by `aws_lambda_events`, with a `lambda_runtime::Context`), on the
//! DynamoDB replay store in moto.

mod common;

#[allow(dead_code)]
#[path = "../examples/lambda_consumer.rs"]
mod example;

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use common::moto::{self, Moto};
use common::*;
use eventseal_aws::{DynamoDbReplayStore, PermanentRejections};
use lambda_runtime::{Context, LambdaEvent};

fn invocation(event: &serde_json::Value) -> LambdaEvent<SqsEvent> {
    let mut context = Context::default();
    context.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd".into();
    context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:billing".into();
    LambdaEvent::new(serde_json::from_value(event.clone()).unwrap(), context)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_function_answers_with_the_records_to_retry() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    moto::create_replay_table(&dynamodb, "replay").await;
    let store = Arc::new(DynamoDbReplayStore::new(dynamodb, "replay"));

    let w = World::new();
    // Orders are JSON (the example's handler parses them); one is not, so its handler fails.
    let mut bodies: Vec<String> = ["{\"order\":1}", "{\"order\":2}", "not json"]
        .iter()
        .map(|p| deliver(&w.entry(p.as_bytes(), "bus")))
        .collect();
    // A forged record: one signature character changed.
    let mut forged: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    let sig = forged["detail"]["signature"].as_str().unwrap().to_owned();
    forged["detail"]["signature"] = flip_first(&sig).into();
    bodies.push(forged.to_string());
    let event = sqs_event(&bodies, None);

    let processor = example::processor(
        w.billing_key(),
        w.trust(),
        store.clone(),
        PermanentRejections::Drop,
    );
    let response = example::handler(&processor, invocation(&event))
        .await
        .unwrap();
    assert_eq!(failures(&response), ["m2"]);
    // Lambda's JSON for it.
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m2"}]})
    );

    // Redelivered: the processed ones are duplicates, the failed one fails again; with the
    // dead-letter setting the forged one is reported as well.
    let dl = example::processor(
        w.billing_key(),
        w.trust(),
        store,
        PermanentRejections::DeadLetter,
    );
    let response = example::handler(&dl, invocation(&event)).await.unwrap();
    assert_eq!(failures(&response), ["m2", "m3"]);
}

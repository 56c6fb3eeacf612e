//! A Lambda consumer: an SQS queue that is an EventBridge rule's target triggers this
//! function; each record's envelope is opened, handled once, and the partial batch response
//! lists the records to retry. Deploy it with `cargo lambda build --release --arm64` (see
//! docs/AWS.md), with `ReportBatchItemFailures` on the event source mapping.
//!
//! Configuration (environment):
//! - `EVENTSEAL_KEY_FILE`: the consumer's recipient key (JWK; from Secrets Manager or SSM in
//!   production, through the Parameters and Secrets extension or at cold start);
//! - `EVENTSEAL_TRUST_FILE`: the trust file (deployed with the function);
//! - `EVENTSEAL_REPLAY_TABLE`: the DynamoDB replay table;
//! - `EVENTSEAL_DEAD_LETTER_PERMANENT=1`: report permanent rejections as failures, so the
//!   queue's redrive policy moves them to its dead-letter queue (default: drop and audit).
//!
//! tests/lambda_example.rs invokes [`handler`] with a real `LambdaEvent`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use eventseal::{AsyncOpener, AsyncReplayStore, Opened, RecipientSecretKey, TrustStore};
use eventseal_aws::{BatchProcessor, DynamoDbReplayStore, PermanentRejections, RecordContext};
use lambda_runtime::{service_fn, Error, LambdaEvent};

/// The business logic: here, log the order. Return `Err` to have the record retried.
async fn handle_order(opened: Opened, record: RecordContext) -> Result<(), Error> {
    let order: serde_json::Value = serde_json::from_slice(opened.payload())?;
    tracing::info!(
        message_id = record.message_id,
        source = opened.header().source(),
        event_type = opened.header().event_type(),
        "order {}",
        order
    );
    Ok(())
}

/// The handler's future, boxed so that the processor has a nameable type.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

fn handle(opened: Opened, record: RecordContext) -> HandlerFuture {
    Box::pin(handle_order(opened, record))
}

/// The processor type this function uses.
pub type Processor = BatchProcessor<fn(Opened, RecordContext) -> HandlerFuture>;

/// Builds the processor from the consumer's key, trust and replay store.
pub fn processor(
    key: RecipientSecretKey,
    trust: TrustStore,
    store: Arc<dyn AsyncReplayStore>,
    permanent: PermanentRejections,
) -> Processor {
    let opener = Arc::new(AsyncOpener::new([key], trust, store));
    let handler: fn(Opened, RecordContext) -> HandlerFuture = handle;
    BatchProcessor::new(opener, handler).with_permanent_rejections(permanent)
}

/// The function's handler: one SQS batch in, the partial batch response out.
pub async fn handler(
    processor: &Processor,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let report = processor.process_sqs_report(event.payload).await;
    for r in report.records.iter().filter(|r| r.outcome.is_failure()) {
        tracing::warn!(message_id = r.message_id, outcome = %r.outcome, "record left for retry");
    }
    Ok(report.response())
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber_init();
    let key = RecipientSecretKey::from_jwk(&std::fs::read_to_string(std::env::var(
        "EVENTSEAL_KEY_FILE",
    )?)?)?;
    let trust = TrustStore::load(std::env::var("EVENTSEAL_TRUST_FILE")?)?;
    let store = DynamoDbReplayStore::from_env(std::env::var("EVENTSEAL_REPLAY_TABLE")?).await;
    let permanent = if std::env::var("EVENTSEAL_DEAD_LETTER_PERMANENT").as_deref() == Ok("1") {
        PermanentRejections::DeadLetter
    } else {
        PermanentRejections::Drop
    };
    let processor = Arc::new(processor(key, trust, Arc::new(store), permanent));
    lambda_runtime::run(service_fn(move |event| {
        let processor = Arc::clone(&processor);
        async move { handler(&processor, event).await }
    }))
    .await
}

/// Lambda sends stdout/stderr to CloudWatch Logs; `lambda_runtime` re-exports `tracing`.
fn tracing_subscriber_init() {
    // The runtime's own subscriber (JSON or text, per the function's logging configuration).
    lambda_runtime::tracing::init_default_subscriber();
}

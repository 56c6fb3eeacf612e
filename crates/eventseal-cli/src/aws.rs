//! The AWS parts of the tool (feature `aws`, on by default): `open --replay-dynamodb`,
//! `seal --eventbridge-entry --put` and `open --sqs-batch`. The AWS configuration comes from
//! the environment, through the SDK's own chain (credentials, region, profile,
//! `AWS_ENDPOINT_URL`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use eventseal::{Clock, ConsumerKey, Freshness, PutEventsEntry, TrustStore};

use crate::Failure;

/// The largest SQS event `--sqs-batch` reads: Lambda's 6 MB invocation payload limit.
pub const MAX_SQS_EVENT_BYTES: usize = 6 * 1024 * 1024;

/// The replay store of an `--sqs-batch` run.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub enum BatchStore {
    /// `--replay-db FILE`.
    Sqlite(PathBuf),
    /// `--replay-redis URL` (with `--replay-redis-ca`'s PEM).
    Redis { url: String, ca: Option<Vec<u8>> },
    /// `--replay-dynamodb TABLE`.
    DynamoDb(String),
}

/// Everything an `--sqs-batch` run needs.
#[cfg_attr(not(feature = "aws"), allow(dead_code))]
pub struct Batch {
    pub keys: Vec<ConsumerKey>,
    pub trust: TrustStore,
    pub freshness: Freshness,
    pub clock: Arc<dyn Clock>,
    pub lease: Duration,
    pub store: BatchStore,
    pub dead_letter_permanent: bool,
    pub workers: Option<usize>,
    pub handler: Vec<String>,
}

#[cfg(feature = "aws")]
mod enabled {
    use super::*;
    use eventseal::{AsyncOpener, AsyncReplayStore, Opened};
    use eventseal_aws::{
        put_entries, BatchProcessor, BlockingDynamoDbReplayStore, DynamoDbReplayStore,
        EntryOutcome, PermanentRejections, RecordContext, RetryPolicy,
    };

    fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::Other(format!("cannot start the async runtime: {e}")))
    }

    /// `--replay-dynamodb TABLE` for a single open.
    pub fn dynamodb_store(table: &str) -> Result<Arc<dyn eventseal::ReplayStore>, Failure> {
        let store = BlockingDynamoDbReplayStore::from_env(table)
            .map_err(|e| Failure::Other(format!("--replay-dynamodb {table}: {e}")))?;
        Ok(Arc::new(store))
    }

    /// `seal --eventbridge-entry --put`: the event id, or exit 1 with EventBridge's code.
    pub fn put_entry(entry: PutEventsEntry) -> Result<String, Failure> {
        let rt = runtime()?;
        let outcome = rt.block_on(async {
            // Bounded as the replay store and KMS calls are (connect 1 s, each attempt 2 s,
            // a call 5 s): without an operation timeout an unanswering endpoint would hold
            // the producer forever. put_entries makes at most 4 calls.
            let config = aws_config::from_env()
                .timeout_config(eventseal_aws::dynamodb::default_timeouts())
                .load()
                .await;
            let client = eventseal_aws::aws_sdk_eventbridge::Client::new(&config);
            put_entries(&client, &[entry], RetryPolicy::default()).await
        });
        match outcome.into_iter().next() {
            Some(EntryOutcome::Put { event_id }) => Ok(event_id),
            Some(EntryOutcome::Failed {
                code,
                message,
                attempts,
            }) => Err(Failure::Other(format!(
                "PutEvents failed: {code}{} (after {attempts} attempt{})",
                message.map(|m| format!(": {m}")).unwrap_or_default(),
                if attempts == 1 { "" } else { "s" }
            ))),
            None => Err(Failure::Other("PutEvents returned no outcome".to_owned())),
        }
    }

    /// `open --sqs-batch … -- HANDLER`.
    pub fn sqs_batch(input: &[u8], b: Batch) -> Result<(), Failure> {
        let event: eventseal_aws::aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_slice(input).map_err(|_| Failure::Rejected {
                error: eventseal::Error::Malformed("SQS event JSON"),
                context: vec![
                    "--sqs-batch: the input is not a Lambda SQS event ({\"Records\":[…]})"
                        .to_owned(),
                ],
            })?;
        let rt = runtime()?;
        let report = rt.block_on(async move {
            let store: Arc<dyn AsyncReplayStore> = match b.store {
                BatchStore::Sqlite(path) => sqlite_store(&path, b.clock.now())?,
                BatchStore::Redis { url, ca } => redis_store(&url, ca.as_deref())?,
                BatchStore::DynamoDb(table) => Arc::new(DynamoDbReplayStore::from_env(table).await),
            };
            let opener = AsyncOpener::new(b.keys, b.trust, store)
                .with_clock(b.clock)
                .with_freshness(b.freshness)
                .with_lease(b.lease);
            let handler = Arc::new(b.handler);
            let deadline = crate::handler::HandlerDeadline::within(b.lease);
            let run = move |opened: Opened, _record: RecordContext| {
                let handler = Arc::clone(&handler);
                async move {
                    let result = tokio::task::spawn_blocking(move || match handler.split_first() {
                        Some((program, args)) => {
                            crate::handler::run_handler_with(program, args, &opened, true, deadline)
                        }
                        None => Ok(()),
                    })
                    .await;
                    match result {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(Failure::HandlerFailed(msg))) => Err(msg),
                        Ok(Err(_)) => Err("the handler failed".to_owned()),
                        Err(e) => Err(format!("the handler's thread failed: {e}")),
                    }
                }
            };
            let mut processor = BatchProcessor::new(Arc::new(opener), run)
                .with_permanent_rejections(if b.dead_letter_permanent {
                    PermanentRejections::DeadLetter
                } else {
                    PermanentRejections::Drop
                });
            if let Some(w) = b.workers {
                processor = processor.with_workers(w);
            }
            Ok::<_, Failure>(processor.process_sqs_report(event).await)
        })?;
        for r in &report.records {
            if !matches!(r.outcome, eventseal_aws::Outcome::Processed) {
                eprintln!("eventseal: record {}: {}", r.message_id, r.outcome);
            }
        }
        let mut text =
            serde_json::to_string(&report.response()).map_err(|e| Failure::Other(e.to_string()))?;
        text.push('\n');
        crate::io::Output::Stdout.commit(text.as_bytes())
    }

    #[cfg(feature = "sqlite")]
    fn sqlite_store(
        path: &std::path::Path,
        now: i64,
    ) -> Result<Arc<dyn AsyncReplayStore>, Failure> {
        Ok(Arc::new(eventseal::BlockingStore::new(
            crate::stores::sqlite_store_typed(path, now)?,
        )))
    }

    #[cfg(not(feature = "sqlite"))]
    fn sqlite_store(
        _path: &std::path::Path,
        _now: i64,
    ) -> Result<Arc<dyn AsyncReplayStore>, Failure> {
        Err(Failure::Other(
            "--replay-db needs eventseal built with the `sqlite` feature (the default)".to_owned(),
        ))
    }

    #[cfg(feature = "redis")]
    fn redis_store(url: &str, ca: Option<&[u8]>) -> Result<Arc<dyn AsyncReplayStore>, Failure> {
        let timeout = eventseal::DEFAULT_REDIS_TIMEOUT;
        let store = match ca {
            None => eventseal::AsyncRedisReplayStore::with_timeout(url, timeout),
            Some(pem) => {
                eventseal::AsyncRedisReplayStore::with_root_certificates(url, pem, timeout)
            }
        }
        .map_err(|e| Failure::Other(e.to_string()))?;
        Ok(Arc::new(store))
    }

    #[cfg(not(feature = "redis"))]
    fn redis_store(_url: &str, _ca: Option<&[u8]>) -> Result<Arc<dyn AsyncReplayStore>, Failure> {
        Err(Failure::Other(
            "--replay-redis needs eventseal built with the `redis` feature (the default)"
                .to_owned(),
        ))
    }
}

#[cfg(feature = "aws")]
pub use enabled::{dynamodb_store, put_entry, sqs_batch};

#[cfg(not(feature = "aws"))]
fn needs_aws(what: &str) -> Failure {
    Failure::Other(format!(
        "{what} needs eventseal built with the `aws` feature (the default)"
    ))
}

#[cfg(not(feature = "aws"))]
pub fn dynamodb_store(_table: &str) -> Result<Arc<dyn eventseal::ReplayStore>, Failure> {
    Err(needs_aws("--replay-dynamodb"))
}

#[cfg(not(feature = "aws"))]
pub fn put_entry(_entry: PutEventsEntry) -> Result<String, Failure> {
    Err(needs_aws("--put"))
}

#[cfg(not(feature = "aws"))]
pub fn sqs_batch(_input: &[u8], _b: Batch) -> Result<(), Failure> {
    Err(needs_aws("--sqs-batch"))
}

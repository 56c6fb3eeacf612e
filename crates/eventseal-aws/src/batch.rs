//! Lambda batch processing: every record of an SQS batch (whose bodies are delivered
//! EventBridge events) opened and handled under the claim model, answered with the partial
//! batch response; and the direct EventBridge invocation.
//!
//! Per record, [`AsyncOpener::process_eventbridge`] runs the whole pipeline (the EventBridge
//! binding included), begins a lease, decrypts, runs the handler, then completes (handler
//! `Ok`) or releases (handler `Err`). The record's [`Outcome`] decides the response:
//!
//! | outcome | in `batchItemFailures` |
//! |---|---|
//! | processed; a duplicate (`replayed`, acknowledged) | no |
//! | a transient rejection (`in-progress`, `store-unavailable`, … : [`Disposition::Retry`]) | yes |
//! | the handler failed, or its record could not be completed | yes |
//! | a permanent rejection (forged, tampered, stale, …: [`Disposition::Reject`]) | no: dropped with an audit event ([`PermanentRejections::Drop`], the default); yes with [`PermanentRejections::DeadLetter`], so the queue's redrive policy moves it to its dead-letter queue |
//! | FIFO: a later record of a message group after a failure in that group | yes, not handled |
//!
//! Standard queues: records are handled concurrently on at most
//! [`BatchProcessor::with_workers`] tasks (default: the available cores). FIFO queues
//! (`eventSourceARN` ending in `.fifo`, or records with a `MessageGroupId`): the records of a
//! message group are handled in order, groups concurrently, and after a failure the rest of
//! that group's records are reported as failures without being handled (as Powertools' FIFO
//! batch processor with `skip_group_on_error` does), so the group's order is kept.
//!
//! The function's event source mapping must have `ReportBatchItemFailures` in its
//! `FunctionResponseTypes`: without it, Lambda ignores the response and retries nothing or
//! everything.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use eventseal::{AsyncOpener, Disposition, ErrorKind, Opened, ProcessError};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// What to do with a record rejected for good (forged, tampered, misaddressed, stale, not
/// allowed: a [`Disposition::Reject`] kind).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PermanentRejections {
    /// Acknowledge it (it is deleted from the queue) and emit an audit event (`tracing`,
    /// target `eventseal::audit`). The default: retrying cannot make it acceptable.
    #[default]
    Drop,
    /// Report it as a batch item failure, so the queue's redrive policy moves it to the
    /// dead-letter queue after `maxReceiveCount` receives, where it can be inspected (and
    /// redriven after, say, a trust-file fix for an `unknown-key`).
    DeadLetter,
}

/// What the handler is told about the record it handles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordContext {
    /// The SQS message id (empty for a direct EventBridge invocation).
    pub message_id: String,
    /// The FIFO message group, if any.
    pub message_group_id: Option<String>,
    /// How many times SQS has delivered this message (`ApproximateReceiveCount`), if given.
    pub receive_count: Option<u32>,
}

/// What became of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Opened, handled, and its record completed.
    Processed,
    /// A duplicate of one already processed (`replayed`): acknowledged, not handled.
    Duplicate,
    /// Rejected for good and acknowledged ([`PermanentRejections::Drop`]); audited.
    Dropped(ErrorKind),
    /// Rejected for good and reported as a failure ([`PermanentRejections::DeadLetter`]).
    DeadLettered(ErrorKind),
    /// Rejected for now (`in-progress`, `store-unavailable`, …): left for redelivery.
    Retry(ErrorKind),
    /// The handler failed (its message); the lease was released for redelivery.
    HandlerFailed(String),
    /// The handler succeeded but its record was not completed (`lease-lost` or
    /// `store-unavailable`): left for redelivery.
    NotCompleted(ErrorKind),
    /// FIFO: not handled, because an earlier record of its message group failed.
    Skipped,
    /// The handler panicked (its lease lapses at its end): left for redelivery.
    Panicked,
}

impl Outcome {
    /// Whether the record goes back to the queue (is listed in `batchItemFailures`).
    #[must_use]
    pub fn is_failure(&self) -> bool {
        !matches!(self, Self::Processed | Self::Duplicate | Self::Dropped(_))
    }

    /// A short, stable name: `processed`, `duplicate`, `dropped`, `dead-lettered`, `retry`,
    /// `handler-failed`, `not-completed`, `skipped`, `panicked`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Duplicate => "duplicate",
            Self::Dropped(_) => "dropped",
            Self::DeadLettered(_) => "dead-lettered",
            Self::Retry(_) => "retry",
            Self::HandlerFailed(_) => "handler-failed",
            Self::NotCompleted(_) => "not-completed",
            Self::Skipped => "skipped",
            Self::Panicked => "panicked",
        }
    }

    /// The rejection kind, for outcomes that have one.
    #[must_use]
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            Self::Dropped(k) | Self::DeadLettered(k) | Self::Retry(k) | Self::NotCompleted(k) => {
                Some(*k)
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())?;
        match self {
            Self::HandlerFailed(m) => write!(f, ": {m}"),
            other => match other.kind() {
                Some(k) => write!(f, ": {k}"),
                None => Ok(()),
            },
        }
    }
}

/// One record's outcome in a [`BatchReport`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordReport {
    /// The SQS message id (the `itemIdentifier` of a failure).
    pub message_id: String,
    /// What became of it.
    pub outcome: Outcome,
}

/// Every record's outcome, in the batch's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchReport {
    /// One entry per record, in order.
    pub records: Vec<RecordReport>,
}

impl BatchReport {
    /// The partial batch response: the failed records' message ids.
    #[must_use]
    pub fn response(&self) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for r in self.records.iter().filter(|r| r.outcome.is_failure()) {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = r.message_id.clone();
            response.batch_item_failures.push(failure);
        }
        response
    }

    /// How many records had this outcome name ([`Outcome::as_str`]).
    #[must_use]
    pub fn count(&self, outcome: &str) -> usize {
        self.records
            .iter()
            .filter(|r| r.outcome.as_str() == outcome)
            .count()
    }
}

/// A direct EventBridge invocation whose record must be retried (or dead-lettered): return it
/// as the function's error, so Lambda's asynchronous-invocation retries and its on-failure
/// destination or dead-letter queue take over.
#[derive(Debug, thiserror::Error)]
#[error("event not processed: {0}")]
pub struct NotProcessed(pub Outcome);

/// Opens and handles SQS batches and EventBridge invocations (see the module docs).
///
/// `handler` is called with each opened envelope and its [`RecordContext`]; it returns
/// `Ok(())` when the event's work is done (the record is then completed) or an error (the
/// lease is released and the record retried).
pub struct BatchProcessor<F> {
    opener: Arc<AsyncOpener>,
    handler: Arc<F>,
    workers: usize,
    permanent: PermanentRejections,
}

impl<F> std::fmt::Debug for BatchProcessor<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchProcessor")
            .field("opener", &self.opener)
            .field("workers", &self.workers)
            .field("permanent", &self.permanent)
            .finish_non_exhaustive()
    }
}

impl<F> Clone for BatchProcessor<F> {
    fn clone(&self) -> Self {
        Self {
            opener: Arc::clone(&self.opener),
            handler: Arc::clone(&self.handler),
            workers: self.workers,
            permanent: self.permanent,
        }
    }
}

impl<F, Fut, E> BatchProcessor<F>
where
    F: Fn(Opened, RecordContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    /// A processor opening with `opener` (its replay store, typically a
    /// [`DynamoDbReplayStore`](crate::DynamoDbReplayStore), holds the leases) and handling
    /// with `handler`.
    pub fn new(opener: Arc<AsyncOpener>, handler: F) -> Self {
        Self {
            opener,
            handler: Arc::new(handler),
            workers: default_workers(),
            permanent: PermanentRejections::Drop,
        }
    }

    /// Handles at most `workers` records (FIFO: message groups) at once (at least 1).
    #[must_use]
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// What to do with permanent rejections (default [`PermanentRejections::Drop`]).
    #[must_use]
    pub fn with_permanent_rejections(mut self, permanent: PermanentRejections) -> Self {
        self.permanent = permanent;
        self
    }

    /// The opener.
    #[must_use]
    pub fn opener(&self) -> &AsyncOpener {
        &self.opener
    }

    /// The opener, shared (for another processor on the same store and keys).
    #[must_use]
    pub fn opener_arc(&self) -> Arc<AsyncOpener> {
        Arc::clone(&self.opener)
    }

    /// Processes an SQS batch and returns the partial batch response.
    ///
    /// Needs a Tokio runtime (Lambda's is one); records are handled on spawned tasks, in
    /// parallel on a multi-threaded runtime.
    pub async fn process_sqs(&self, event: SqsEvent) -> SqsBatchResponse {
        self.process_sqs_report(event).await.response()
    }

    /// [`BatchProcessor::process_sqs`], with every record's outcome.
    pub async fn process_sqs_report(&self, event: SqsEvent) -> BatchReport {
        let records = event.records;
        let fifo = records.iter().any(is_fifo);
        let outcomes: Vec<Option<Outcome>> = vec![None; records.len()];
        let ids: Vec<String> = records
            .iter()
            .map(|r| r.message_id.clone().unwrap_or_default())
            .collect();

        // Units of work: one record each, or (FIFO) one message group's records in order.
        let mut units: Vec<Vec<(usize, SqsMessage)>> = Vec::new();
        if fifo {
            let mut group_of: HashMap<String, usize> = HashMap::new();
            for (i, r) in records.into_iter().enumerate() {
                let group = r
                    .attributes
                    .get("MessageGroupId")
                    .cloned()
                    .unwrap_or_default();
                let unit = *group_of.entry(group).or_insert_with(|| {
                    units.push(Vec::new());
                    units.len() - 1
                });
                if let Some(u) = units.get_mut(unit) {
                    u.push((i, r));
                }
            }
        } else {
            units = records.into_iter().enumerate().map(|r| vec![r]).collect();
        }

        // One task per unit, all spawned at once (idle runtime threads take them from the
        // queue: opening is CPU work), each running only while it holds one of `workers`
        // permits. Outcomes are written as they are known, so a unit whose handler panicked
        // leaves only its unfinished records unset.
        let permits = Arc::new(Semaphore::new(self.workers));
        let results: Arc<Mutex<Vec<Option<Outcome>>>> = Arc::new(Mutex::new(outcomes));
        let mut tasks = JoinSet::new();
        for unit in units {
            let (this, permits, results) =
                (self.clone(), Arc::clone(&permits), Arc::clone(&results));
            tasks.spawn(async move {
                let Ok(_permit) = permits.acquire().await else {
                    return; // never closed
                };
                this.run_unit(unit, &results).await;
            });
        }
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                tracing::error!(target: "eventseal::audit", "a record's handler panicked: {e}");
            }
        }
        let outcomes = std::mem::take(&mut *lock(&results));
        BatchReport {
            records: ids
                .into_iter()
                .zip(outcomes)
                .map(|(message_id, outcome)| RecordReport {
                    message_id,
                    outcome: outcome.unwrap_or(Outcome::Panicked),
                })
                .collect(),
        }
    }

    /// One unit in order; after a failure the unit's remaining records are skipped (a unit
    /// of a standard queue has one record).
    async fn run_unit(
        &self,
        unit: Vec<(usize, SqsMessage)>,
        results: &Mutex<Vec<Option<Outcome>>>,
    ) {
        let set = |i: usize, outcome: Outcome| {
            if let Some(slot) = lock(results).get_mut(i) {
                *slot = Some(outcome);
            }
        };
        let mut failed = false;
        for (i, record) in unit {
            if failed {
                set(i, Outcome::Skipped);
                continue;
            }
            let context = RecordContext {
                message_id: record.message_id.clone().unwrap_or_default(),
                message_group_id: record.attributes.get("MessageGroupId").cloned(),
                receive_count: record
                    .attributes
                    .get("ApproximateReceiveCount")
                    .and_then(|c| c.parse().ok()),
            };
            let outcome = match &record.body {
                Some(body) => self.run_one(body.as_bytes(), context).await,
                None => self.permanent(ErrorKind::Malformed, &context.message_id),
            };
            failed = outcome.is_failure();
            set(i, outcome);
        }
    }

    /// Opens and handles one delivered EventBridge event.
    async fn run_one(&self, event: &[u8], context: RecordContext) -> Outcome {
        let message_id = context.message_id.clone();
        let handler = Arc::clone(&self.handler);
        let result = self
            .opener
            .process_eventbridge(event, move |opened| handler(opened, context))
            .await;
        match result {
            Ok(()) => Outcome::Processed,
            Err(ProcessError::Rejected(e)) => match e.disposition() {
                Disposition::Acknowledge => Outcome::Duplicate,
                Disposition::Retry => Outcome::Retry(e.kind()),
                Disposition::Reject => self.permanent(e.kind(), &message_id),
            },
            Err(ProcessError::Handler { error, .. }) => Outcome::HandlerFailed(error.to_string()),
            Err(ProcessError::NotCompleted(e)) => Outcome::NotCompleted(e.kind()),
        }
    }

    fn permanent(&self, kind: ErrorKind, message_id: &str) -> Outcome {
        match self.permanent {
            PermanentRejections::Drop => {
                tracing::warn!(
                    target: "eventseal::audit",
                    kind = kind.as_str(),
                    message_id,
                    "permanently rejected record dropped (acknowledged)"
                );
                Outcome::Dropped(kind)
            }
            PermanentRejections::DeadLetter => Outcome::DeadLettered(kind),
        }
    }

    /// A direct invocation by an EventBridge rule: the event's JSON bytes as delivered (with
    /// `lambda_runtime`, take the event as `Box<serde_json::value::RawValue>` to keep its
    /// exact bytes). `Err` when Lambda should retry it (or, with
    /// [`PermanentRejections::DeadLetter`], send it to the function's on-failure destination).
    ///
    /// # Errors
    /// [`NotProcessed`] with the outcome, for every outcome that is a failure.
    pub async fn process_eventbridge_event(&self, event: &[u8]) -> Result<Outcome, NotProcessed> {
        let context = RecordContext {
            message_id: String::new(),
            message_group_id: None,
            receive_count: None,
        };
        let outcome = self.run_one(event, context).await;
        if outcome.is_failure() {
            Err(NotProcessed(outcome))
        } else {
            Ok(outcome)
        }
    }

    /// [`BatchProcessor::process_eventbridge_event`] for an event `lambda_runtime` has
    /// already parsed as [`EventBridgeEvent`](aws_lambda_events::event::eventbridge::EventBridgeEvent)
    /// (with `serde_json::Value` detail): it is serialised again, which keeps the envelope's
    /// fields exactly (the signature covers the envelope's field values, not the JSON layout).
    ///
    /// # Errors
    /// As [`BatchProcessor::process_eventbridge_event`].
    pub async fn process_eventbridge_value(
        &self,
        event: &aws_lambda_events::event::eventbridge::EventBridgeEvent,
    ) -> Result<Outcome, NotProcessed> {
        match serde_json::to_vec(event) {
            Ok(bytes) => self.process_eventbridge_event(&bytes).await,
            Err(_) => Err(NotProcessed(Outcome::Retry(ErrorKind::InvalidInput))),
        }
    }

    /// Runs this processor as the function's handler for SQS events, with `lambda_runtime`
    /// (feature `lambda-runtime`): `#[tokio::main] async fn main() { processor.serve_sqs().await }`.
    ///
    /// # Errors
    /// The runtime's error (it returns only when the runtime API fails).
    #[cfg(feature = "lambda-runtime")]
    pub async fn serve_sqs(self) -> Result<(), lambda_runtime::Error> {
        let this = Arc::new(self);
        lambda_runtime::run(lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<SqsEvent>| {
                let this = Arc::clone(&this);
                async move { Ok::<_, std::convert::Infallible>(this.process_sqs(event.payload).await) }
            },
        ))
        .await
    }

    /// Runs this processor as the function's handler for direct EventBridge invocations
    /// (feature `lambda-runtime`); a failure is the invocation's error.
    ///
    /// # Errors
    /// The runtime's error (it returns only when the runtime API fails).
    #[cfg(feature = "lambda-runtime")]
    pub async fn serve_eventbridge(self) -> Result<(), lambda_runtime::Error> {
        let this = Arc::new(self);
        lambda_runtime::run(lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<Box<serde_json::value::RawValue>>| {
                let this = Arc::clone(&this);
                async move {
                    this.process_eventbridge_event(event.payload.get().as_bytes())
                        .await
                        .map(|outcome| outcome.as_str())
                        .map_err(|e| e.to_string())
                }
            },
        ))
        .await
    }
}

/// A lock that a panicking handler cannot poison for the rest of the batch (the data under
/// it is written whole or not at all).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether a record comes from a FIFO queue.
fn is_fifo(r: &SqsMessage) -> bool {
    r.attributes.contains_key("MessageGroupId")
        || r.event_source_arn
            .as_deref()
            .is_some_and(|arn| arn.ends_with(".fifo"))
}

/// The available cores (at least 1).
fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

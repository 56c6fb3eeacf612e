//! eventseal on AWS: what a Rust Lambda consumer and producer need around
//! [eventseal]'s envelopes.
//!
//! - [`DynamoDbReplayStore`]: the claim model's replay store (begin / complete / release) in a
//!   DynamoDB table, one conditional write per transition, on a table compatible with Lambda
//!   Powertools' idempotency table; [`BlockingDynamoDbReplayStore`] for sync callers.
//! - [`BatchProcessor`]: an SQS batch of delivered EventBridge events (or one direct
//!   EventBridge invocation) opened and handled record by record under the claim model,
//!   concurrently on bounded workers (FIFO: in order per message group), answered with the
//!   partial batch response (`batchItemFailures`).
//! - [`put_entries`] and [`ToSdkEntry`]: sealed envelopes onto a bus with `PutEvents`, in
//!   requests within EventBridge's limits, failed entries retried, every entry's outcome
//!   returned.
//! - [`KmsSigner`] ([`BlockingKmsSigner`] for sync code): a producer's signing key that
//!   never leaves AWS KMS (`ECC_NIST_P256`, `Sign` with `MessageType=DIGEST`).
//!
//! The core library keeps no AWS SDK dependency; this crate uses only the official AWS
//! crates (`aws-config`, `aws-sdk-dynamodb`, `aws-sdk-eventbridge`, `aws-sdk-kms`, `aws_lambda_events`,
//! `lambda_runtime`) with the SDK's own configuration chain (environment, profile,
//! `AWS_ENDPOINT_URL`). docs/AWS.md walks a team from zero to a consumer and a producer.
//!
//! A consumer function (an SQS queue that is an EventBridge rule's target):
//!
//! ```no_run
//! use std::sync::Arc;
//! use eventseal::{AsyncOpener, RecipientSecretKey, TrustStore};
//! use eventseal_aws::{BatchProcessor, DynamoDbReplayStore, RecordContext};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     let key = RecipientSecretKey::from_jwk(&std::env::var("BILLING_KEY_JWK")?)?;
//!     let trust = TrustStore::load("trust.json")?;
//!     let store = DynamoDbReplayStore::from_env("eventseal-replay").await;
//!     let opener = Arc::new(AsyncOpener::new([key], trust, Arc::new(store)));
//!     let processor = BatchProcessor::new(opener, |opened: eventseal::Opened, _: RecordContext| async move {
//!         println!("{}", String::from_utf8_lossy(opened.payload()));
//!         Ok::<(), std::io::Error>(())
//!     });
//!     processor.serve_sqs().await
//! }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod batch;
mod blocking;
pub mod dynamodb;
pub mod kms;
pub mod putevents;

pub use batch::{
    BatchProcessor, BatchReport, NotProcessed, Outcome, PermanentRejections, RecordContext,
    RecordReport,
};
pub use dynamodb::{
    consumer_id_prefix, item_id, AttributeNames, BlockingDynamoDbReplayStore, DynamoDbReplayStore,
};
pub use kms::{BlockingKmsSigner, KmsSigner, KmsSignerError};
pub use putevents::{put_entries, EntryOutcome, RetryPolicy, ToSdkEntry};

/// The AWS crates this crate's API uses, at the versions it was built with.
pub use aws_lambda_events;
pub use aws_sdk_dynamodb;
pub use aws_sdk_eventbridge;
pub use aws_sdk_kms;

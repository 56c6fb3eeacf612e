//! The replay store in a DynamoDB table: [`DynamoDbReplayStore`] (async) and
//! [`BlockingDynamoDbReplayStore`] (for sync openers and the CLI).
//!
//! Every transition is **one conditional write**, with the record's expiry and lease end
//! compared in the condition (DynamoDB's TTL deletion lags by up to 48 hours, so an expired
//! item may still be there):
//!
//! | operation | request | condition |
//! |---|---|---|
//! | begin | `PutItem` `status=INPROGRESS`, lease end, token | absent, or `expiration <= now`, or in progress with `in_progress_expiration <= now` |
//! | complete | `UpdateItem` `status=COMPLETED` | in progress and the caller's token |
//! | release | `DeleteItem` | in progress and the caller's token |
//! | claim (one step) | `PutItem` `status=COMPLETED` | as begin |
//!
//! A failed condition is read from the item DynamoDB returns with it
//! (`ReturnValuesOnConditionCheckFailure=ALL_OLD`), never from a second read: `COMPLETED` is a
//! duplicate (`replayed`), `INPROGRESS` a live lease (`in-progress`), and for complete a lost
//! lease (`lease-lost`). Any other error is `store-unavailable`: the envelope is not opened
//! (fail closed).
//!
//! **Resent requests.** The SDK retries a request whose response was lost. A retried begin or
//! claim that finds its own token (the first attempt was applied) is `Started`/`Claimed`, and
//! a retried complete that finds its own completed record is `Completed`: the token stays on
//! the completed item for that reason.
//!
//! **Table.** The schema is Lambda Powertools' idempotency table: partition key `id` (string),
//! TTL attribute `expiration` (epoch seconds), `status` (`INPROGRESS` / `COMPLETED`),
//! `in_progress_expiration` (epoch milliseconds); eventseal adds `eventseal_lease` (the owner
//! token). One table can serve both: eventseal's ids start with `eventseal#`, which Powertools'
//! ids (`FUNCTION.HANDLER#HASH`) never do. The names are configurable
//! ([`AttributeNames`]). docs/AWS.md gives the table definition, the least-privilege IAM
//! policy per consumer (a `dynamodb:LeadingKeys` condition on `eventseal#CONSUMER#*`) and the
//! cost per envelope.

use std::collections::HashMap;
use std::time::Duration;

use crate::blocking::OwnedRuntime;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use eventseal::{
    AsyncReplayStore, Begun, Claim, ClaimFuture, Completion, Error, LeaseRequest, LeaseToken,
    ReplayKey, ReplayStore, Result, StoreFuture, DEFAULT_CLOCK_MARGIN,
};
use sha2::{Digest, Sha256};

/// `status` of a record whose lease is held.
pub const STATUS_IN_PROGRESS: &str = "INPROGRESS";
/// `status` of a completed record.
pub const STATUS_COMPLETED: &str = "COMPLETED";
/// The prefix of every item id eventseal writes.
pub const ID_PREFIX: &str = "eventseal";

/// The attribute names of the table: Powertools' by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeNames {
    /// The partition key (string). Default `id`.
    pub id: String,
    /// The TTL attribute: the record's expiry, epoch seconds. Default `expiration`.
    pub expiration: String,
    /// `INPROGRESS` or `COMPLETED`. Default `status`.
    pub status: String,
    /// A lease's end, epoch milliseconds (in-progress records only). Default
    /// `in_progress_expiration`.
    pub in_progress_expiration: String,
    /// The lease owner's token (32 hex digits). Default `eventseal_lease`.
    pub lease_token: String,
}

impl Default for AttributeNames {
    fn default() -> Self {
        Self {
            id: "id".into(),
            expiration: "expiration".into(),
            status: "status".into(),
            in_progress_expiration: "in_progress_expiration".into(),
            lease_token: "eventseal_lease".into(),
        }
    }
}

/// The condition under which begin and claim may write: no live record.
const WRITABLE: &str = "attribute_not_exists(#id) OR #exp <= :now \
     OR (#st = :inprogress AND #ipe <= :now_ms)";
/// The condition of complete and release: the caller's own lease.
const OWN_LEASE: &str = "#st = :inprogress AND #tok = :tok";

/// A replay store in a DynamoDB table, shared by every instance of a consumer (Lambda
/// functions, containers). Async; [`DynamoDbReplayStore::blocking`] makes a sync store.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use eventseal::{AsyncOpener, RecipientSecretKey, TrustStore};
/// use eventseal_aws::DynamoDbReplayStore;
///
/// let store = DynamoDbReplayStore::from_env("eventseal-replay").await;
/// # let key = RecipientSecretKey::generate("billing")?; let trust = TrustStore::new();
/// let opener = AsyncOpener::new([key], trust, Arc::new(store));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DynamoDbReplayStore {
    client: Client,
    table: String,
    names: AttributeNames,
    clock_margin: Duration,
}

impl DynamoDbReplayStore {
    /// A store in `table`, through `client`.
    #[must_use]
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            names: AttributeNames::default(),
            clock_margin: DEFAULT_CLOCK_MARGIN,
        }
    }

    /// A store in `table` with the SDK's configuration from the environment (credentials,
    /// region, profile, `AWS_ENDPOINT_URL`), and timeouts for a replay store on the request
    /// path ([`default_timeouts`]).
    pub async fn from_env(table: impl Into<String>) -> Self {
        let config = aws_config::from_env()
            .timeout_config(default_timeouts())
            .load()
            .await;
        Self::new(Client::new(&config), table)
    }

    /// Uses these attribute names (for a table made with other names).
    #[must_use]
    pub fn with_attribute_names(mut self, names: AttributeNames) -> Self {
        self.names = names;
        self
    }

    /// Sets how long past the envelope's replay expiry a record is kept (default
    /// [`DEFAULT_CLOCK_MARGIN`], as the Redis store's): the largest difference between the
    /// clocks of the instances that share this table, and of DynamoDB's TTL deletion.
    ///
    /// The record's `expiration` is written by one instance's clock and read in the condition
    /// by another's, and DynamoDB's TTL deletes the item by AWS's clock, sometimes within
    /// minutes: without a margin an instance whose clock runs Δ behind would still accept the
    /// envelope as fresh until real time `expiry + Δ`, and once the item is deleted (or its
    /// `expiration` passed by the writer's clock) it would open the envelope a second time.
    /// Keep the clocks within the margin of each other (NTP keeps them within milliseconds); a
    /// larger margin only keeps items longer. Whole seconds (the TTL attribute's unit), rounded
    /// up.
    #[must_use]
    pub fn with_clock_margin(mut self, margin: Duration) -> Self {
        self.clock_margin = margin;
        self
    }

    /// The record's `expiration`: the replay expiry plus the clock margin, in whole seconds.
    fn expiration(&self, expires_at: i64) -> i64 {
        let margin = self
            .clock_margin
            .as_secs()
            .saturating_add(u64::from(self.clock_margin.subsec_nanos() > 0));
        expires_at.saturating_add(i64::try_from(margin).unwrap_or(i64::MAX))
    }

    /// The table's name.
    #[must_use]
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The DynamoDB client.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A sync store over this one, with its own small runtime (see
    /// [`BlockingDynamoDbReplayStore`]).
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] if the runtime cannot be started.
    pub fn blocking(self) -> Result<BlockingDynamoDbReplayStore> {
        BlockingDynamoDbReplayStore::new(self)
    }

    fn base_names(&self) -> [(&'static str, &str); 5] {
        [
            ("#id", self.names.id.as_str()),
            ("#exp", self.names.expiration.as_str()),
            ("#st", self.names.status.as_str()),
            ("#ipe", self.names.in_progress_expiration.as_str()),
            ("#tok", self.names.lease_token.as_str()),
        ]
    }

    /// Writes a record (in progress with a lease, or completed) if no live record exists.
    async fn write_if_writable(
        &self,
        key: &ReplayKey<'_>,
        token: &LeaseToken,
        lease_until: Option<i64>,
        expires_at: i64,
        now: i64,
    ) -> Result<Begun> {
        let token_hex = token.to_hex();
        let status = if lease_until.is_some() {
            STATUS_IN_PROGRESS
        } else {
            STATUS_COMPLETED
        };
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(&self.names.id, AttributeValue::S(item_id(key)))
            .item(&self.names.expiration, number(self.expiration(expires_at)))
            .item(&self.names.status, AttributeValue::S(status.into()))
            .item(
                &self.names.lease_token,
                AttributeValue::S(token_hex.clone()),
            );
        if let Some(until) = lease_until {
            put = put.item(&self.names.in_progress_expiration, number(millis(until)));
        }
        // `#tok` is named for the shared list but unused by this condition: DynamoDB refuses
        // unused names, so this request names only what it uses.
        for (placeholder, name) in self.base_names().into_iter().take(4) {
            put = put.expression_attribute_names(placeholder, name);
        }
        let result = put
            .condition_expression(WRITABLE)
            .expression_attribute_values(":now", number(now))
            .expression_attribute_values(":now_ms", number(millis(now)))
            .expression_attribute_values(
                ":inprogress",
                AttributeValue::S(STATUS_IN_PROGRESS.into()),
            )
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Begun::Started),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let old = match e.err() {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item(),
                    _ => None,
                };
                self.existing(old, &token_hex)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// What a failed begin or claim found: the live record DynamoDB returned with the failure.
    fn existing(
        &self,
        old: Option<&HashMap<String, AttributeValue>>,
        token_hex: &str,
    ) -> Result<Begun> {
        let Some(old) = old else {
            // The condition failed, so an item existed; without it the outcome is unknown.
            return Err(Error::StoreUnavailable(
                "a conditional write failed without returning the item".into(),
            ));
        };
        if string_attr(old, &self.names.lease_token) == Some(token_hex) {
            // Our own write, applied by an earlier attempt of this request (an SDK retry).
            return Ok(Begun::Started);
        }
        match string_attr(old, &self.names.status) {
            Some(STATUS_COMPLETED) => Ok(Begun::AlreadyDone),
            Some(STATUS_IN_PROGRESS) => Ok(Begun::InProgress),
            // A live item this store did not write (fail closed: never overwrite it).
            _ => Err(Error::StoreUnavailable(
                "the item under this id is not an eventseal record".into(),
            )),
        }
    }

    async fn complete_record(
        &self,
        key: &ReplayKey<'_>,
        token: &LeaseToken,
        expires_at: i64,
    ) -> Result<Completion> {
        let token_hex = token.to_hex();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(&self.names.id, AttributeValue::S(item_id(key)));
        for (placeholder, name) in self.base_names().into_iter().skip(1) {
            update = update.expression_attribute_names(placeholder, name);
        }
        let result = update
            .update_expression("SET #st = :completed, #exp = :exp REMOVE #ipe")
            .condition_expression(OWN_LEASE)
            .expression_attribute_values(":completed", AttributeValue::S(STATUS_COMPLETED.into()))
            .expression_attribute_values(":exp", number(self.expiration(expires_at)))
            .expression_attribute_values(
                ":inprogress",
                AttributeValue::S(STATUS_IN_PROGRESS.into()),
            )
            .expression_attribute_values(":tok", AttributeValue::S(token_hex.clone()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Completion::Completed),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                let old = match e.err() {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item(),
                    _ => None,
                };
                // Completed by this token already: an SDK retry of a write that was applied.
                let own_completed = old.is_some_and(|old| {
                    string_attr(old, &self.names.status) == Some(STATUS_COMPLETED)
                        && string_attr(old, &self.names.lease_token) == Some(token_hex.as_str())
                });
                Ok(if own_completed {
                    Completion::Completed
                } else {
                    Completion::LeaseLost
                })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn release_record(&self, key: &ReplayKey<'_>, token: &LeaseToken) -> Result<bool> {
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(&self.names.id, AttributeValue::S(item_id(key)));
        for (placeholder, name) in [
            ("#st", self.names.status.as_str()),
            ("#tok", self.names.lease_token.as_str()),
        ] {
            delete = delete.expression_attribute_names(placeholder, name);
        }
        let result = delete
            .condition_expression(OWN_LEASE)
            .expression_attribute_values(
                ":inprogress",
                AttributeValue::S(STATUS_IN_PROGRESS.into()),
            )
            .expression_attribute_values(":tok", AttributeValue::S(token.to_hex()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(SdkError::ServiceError(e)) if e.err().is_conditional_check_failed_exception() => {
                Ok(false)
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl AsyncReplayStore for DynamoDbReplayStore {
    fn begin_async<'a>(
        &'a self,
        key: ReplayKey<'a>,
        request: LeaseRequest,
    ) -> StoreFuture<'a, Begun> {
        Box::pin(async move {
            self.write_if_writable(
                &key,
                &request.token,
                Some(request.lease_until),
                request.expires_at,
                request.now,
            )
            .await
        })
    }

    fn complete_async<'a>(
        &'a self,
        key: ReplayKey<'a>,
        token: LeaseToken,
        expires_at: i64,
        _now: i64,
    ) -> StoreFuture<'a, Completion> {
        Box::pin(async move { self.complete_record(&key, &token, expires_at).await })
    }

    fn release_async<'a>(&'a self, key: ReplayKey<'a>, token: LeaseToken) -> StoreFuture<'a, bool> {
        Box::pin(async move { self.release_record(&key, &token).await })
    }

    fn claim_async<'a>(&'a self, key: ReplayKey<'a>, expires_at: i64, now: i64) -> ClaimFuture<'a> {
        Box::pin(async move {
            // A one-step claim writes a completed record at once; its token only lets a
            // retried request recognise its own write.
            let token = LeaseToken::random()?;
            self.write_if_writable(&key, &token, None, expires_at, now)
                .await
                .map(Claim::from)
        })
    }
}

/// The SDK timeouts [`DynamoDbReplayStore::from_env`] sets: connect 1 s, each attempt 2 s,
/// the whole operation (with the SDK's retries) 5 s. A replay store is on every delivery's
/// path; without an operation timeout a stalled connection would hold a Lambda invocation
/// until the function's own timeout.
#[must_use]
pub fn default_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build()
}

/// The item id of a replay key: `eventseal#CONSUMER#KIND#DIGEST`, where `CONSUMER` is the
/// consumer id with `%` and `#` percent-encoded (so `eventseal#CONSUMER#` is a prefix of this
/// consumer's ids and no other's, for an IAM `dynamodb:LeadingKeys` condition), `KIND` is `e`
/// (envelope) or `w` (webhook), and `DIGEST` is the hex SHA-256 of the length-prefixed
/// (LE64) source and message id: fixed length, whatever the ids are.
#[must_use]
pub fn item_id(key: &ReplayKey<'_>) -> String {
    let mut h = Sha256::new();
    for part in [key.source, key.id] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let mut id = String::with_capacity(ID_PREFIX.len() + key.consumer.len() + 72);
    id.push_str(ID_PREFIX);
    id.push('#');
    id.push_str(&consumer_prefix_part(key.consumer));
    id.push('#');
    id.push(char::from(key.kind.tag()));
    id.push('#');
    id.push_str(&hex::encode(h.finalize()));
    id
}

/// The leading part of every item id of `consumer`: `eventseal#CONSUMER#` (for an IAM
/// `dynamodb:LeadingKeys` condition: `eventseal#CONSUMER#*`).
#[must_use]
pub fn consumer_id_prefix(consumer: &str) -> String {
    format!("{ID_PREFIX}#{}#", consumer_prefix_part(consumer))
}

fn consumer_prefix_part(consumer: &str) -> String {
    consumer.replace('%', "%25").replace('#', "%23")
}

fn number(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

fn millis(secs: i64) -> i64 {
    secs.saturating_mul(1000)
}

fn string_attr<'m>(item: &'m HashMap<String, AttributeValue>, name: &str) -> Option<&'m str> {
    match item.get(name) {
        Some(AttributeValue::S(s)) => Some(s.as_str()),
        _ => None,
    }
}

fn unavailable<E, R>(e: SdkError<E, R>) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Error::StoreUnavailable(Box::new(e))
}

/// [`DynamoDbReplayStore`] for sync callers ([`eventseal::Opener`], the CLI): each operation
/// runs on the store's own runtime (one worker thread, which drives the connections; the
/// calling thread waits). Many threads may call it at once.
///
/// Calling it from inside an async runtime would block that runtime's thread: it refuses
/// (`store-unavailable`, saying so) and the async store is the one to use there.
#[derive(Debug)]
pub struct BlockingDynamoDbReplayStore {
    store: DynamoDbReplayStore,
    runtime: OwnedRuntime,
}

impl BlockingDynamoDbReplayStore {
    /// Wraps `store`, starting its runtime.
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] if the runtime cannot be started.
    pub fn new(store: DynamoDbReplayStore) -> Result<Self> {
        Ok(Self {
            store,
            runtime: store_runtime()?,
        })
    }

    /// A sync store in `table` with the SDK's configuration from the environment (as
    /// [`DynamoDbReplayStore::from_env`]).
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] if the runtime cannot be started, or if called from inside
    /// an async runtime (use [`DynamoDbReplayStore::from_env`] there).
    pub fn from_env(table: impl Into<String>) -> Result<Self> {
        let table = table.into();
        refuse_inside_runtime()?;
        let runtime = store_runtime()?;
        let store = runtime
            .block_on(DynamoDbReplayStore::from_env(table))
            .ok_or_else(runtime_gone)?;
        Ok(Self { store, runtime })
    }

    /// The async store.
    #[must_use]
    pub fn get_ref(&self) -> &DynamoDbReplayStore {
        &self.store
    }

    fn run<T>(&self, op: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        refuse_inside_runtime()?;
        self.runtime.block_on(op).ok_or_else(runtime_gone)?
    }
}

/// The blocking store's runtime: one worker thread, which drives the connections.
fn store_runtime() -> Result<OwnedRuntime> {
    OwnedRuntime::start("eventseal-dynamodb").map_err(|e| Error::StoreUnavailable(Box::new(e)))
}

fn runtime_gone() -> Error {
    Error::StoreUnavailable("the blocking store's runtime has shut down".into())
}

/// Blocking inside an async runtime would stall (or, for a runtime's `block_on`, panic):
/// refused with an error instead.
fn refuse_inside_runtime() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::StoreUnavailable(
            "BlockingDynamoDbReplayStore called from inside an async runtime: use DynamoDbReplayStore there".into(),
        ));
    }
    Ok(())
}

impl ReplayStore for BlockingDynamoDbReplayStore {
    fn begin(&self, key: &ReplayKey<'_>, request: &LeaseRequest) -> Result<Begun> {
        self.run(self.store.begin_async(*key, *request))
    }

    fn complete(
        &self,
        key: &ReplayKey<'_>,
        token: &LeaseToken,
        expires_at: i64,
        now: i64,
    ) -> Result<Completion> {
        self.run(self.store.complete_async(*key, *token, expires_at, now))
    }

    fn release(&self, key: &ReplayKey<'_>, token: &LeaseToken) -> Result<bool> {
        self.run(self.store.release_async(*key, *token))
    }

    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim> {
        self.run(self.store.claim_async(*key, expires_at, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_ids_are_prefixed_per_consumer_and_unambiguous() {
        let a = item_id(&ReplayKey::envelope("billing", "orders", "id-1"));
        assert!(a.starts_with(&consumer_id_prefix("billing")));
        assert_eq!(a.len(), "eventseal#billing#e#".len() + 64);
        // Moving a boundary between source and id changes the id.
        assert_ne!(
            item_id(&ReplayKey::envelope("c", "ab", "c")),
            item_id(&ReplayKey::envelope("c", "a", "bc"))
        );
        // Envelope and webhook claims are separate.
        assert_ne!(
            item_id(&ReplayKey::envelope("c", "s", "i")),
            item_id(&ReplayKey::webhook("c", "s", "i"))
        );
        // A consumer named `a#b` is not under consumer `a`'s leading key.
        let ab = item_id(&ReplayKey::envelope("a#b", "s", "i"));
        assert!(!ab.starts_with(&consumer_id_prefix("a")));
        assert!(ab.starts_with("eventseal#a%23b#e#"));
        assert!(item_id(&ReplayKey::envelope("50%", "s", "i")).starts_with("eventseal#50%25#"));
    }
}

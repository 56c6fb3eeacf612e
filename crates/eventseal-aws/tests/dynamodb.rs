//! The DynamoDB replay store against moto's DynamoDB (a real server on a loopback port, the
//! real SDK client): every transition of the claim model, expiry decided in the condition
//! (an expired item is still there, as when DynamoDB's TTL deletion lags), the
//! Powertools-compatible item, configurable attribute names, the blocking adapter, and an
//! unreachable table.

mod common;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use common::moto::{self, Moto};
use eventseal::{
    AsyncReplayStore, Begun, Claim, Completion, ErrorKind, LeaseRequest, LeaseToken, ReplayKey,
    ReplayStore,
};
use eventseal_aws::{item_id, AttributeNames, DynamoDbReplayStore};

const NOW: i64 = 1_800_000_000;

async fn store(moto: &Moto, table: &str) -> DynamoDbReplayStore {
    let config = moto.sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    moto::create_replay_table(&client, table).await;
    DynamoDbReplayStore::new(client, table)
}

async fn item(
    s: &DynamoDbReplayStore,
    key: &ReplayKey<'_>,
) -> Option<HashMap<String, AttributeValue>> {
    s.client()
        .get_item()
        .table_name(s.table())
        .key("id", AttributeValue::S(item_id(key)))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
}

fn s<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> &'a str {
    match item.get(name) {
        Some(AttributeValue::S(v)) => v,
        Some(AttributeValue::N(v)) => v,
        other => panic!("{name}: {other:?}"),
    }
}

fn tok(n: u8) -> LeaseToken {
    LeaseToken::from_bytes([n; 16])
}

#[tokio::test]
async fn begin_complete_release_and_expiry_in_the_condition() {
    let moto = Moto::start();
    let st = store(&moto, "replay").await;
    let key = ReplayKey::envelope("billing", "orders", "0190-a");
    let expires = NOW + 3600;

    // Begin: an in-progress item in Powertools' schema.
    let req = LeaseRequest::new(tok(1), NOW, 300, expires);
    assert_eq!(st.begin_async(key, req).await.unwrap(), Begun::Started);
    let it = item(&st, &key).await.unwrap();
    assert_eq!(s(&it, "status"), "INPROGRESS");
    // The replay expiry plus the clock margin (DEFAULT_CLOCK_MARGIN, 60 s).
    assert_eq!(s(&it, "expiration"), (expires + 60).to_string());
    assert_eq!(
        s(&it, "in_progress_expiration"),
        ((NOW + 300) * 1000).to_string()
    );
    assert!(s(&it, "id").starts_with("eventseal#billing#e#"));

    // A second begin while the lease is live: in progress; the same request resent (our own
    // token): started (the SDK retried a request whose first attempt was applied).
    let other = LeaseRequest::new(tok(2), NOW + 10, 300, expires);
    assert_eq!(st.begin_async(key, other).await.unwrap(), Begun::InProgress);
    assert_eq!(st.begin_async(key, req).await.unwrap(), Begun::Started);

    // Complete with another token: lease lost, nothing changed. With ours: completed.
    assert_eq!(
        st.complete_async(key, tok(2), expires, NOW).await.unwrap(),
        Completion::LeaseLost
    );
    assert_eq!(
        st.complete_async(key, tok(1), expires, NOW).await.unwrap(),
        Completion::Completed
    );
    let it = item(&st, &key).await.unwrap();
    assert_eq!(s(&it, "status"), "COMPLETED");
    assert!(!it.contains_key("in_progress_expiration"));
    // Resent complete: still completed (its own record).
    assert_eq!(
        st.complete_async(key, tok(1), expires, NOW).await.unwrap(),
        Completion::Completed
    );
    // A release of a completed record does nothing.
    assert!(!st.release_async(key, tok(1)).await.unwrap());

    let it = item(&st, &key).await.unwrap();
    assert_eq!(s(&it, "expiration"), (expires + 60).to_string());
    // Later deliveries: duplicates until the record expires, the clock margin included...
    let later = LeaseRequest::new(tok(3), expires + 59, 300, expires + 3600);
    assert_eq!(
        st.begin_async(key, later).await.unwrap(),
        Begun::AlreadyDone
    );
    // ...and after: the item is still there (TTL deletion lags), the condition sees it expired.
    let after = LeaseRequest::new(tok(3), expires + 60, 300, expires + 3600);
    assert_eq!(st.begin_async(key, after).await.unwrap(), Begun::Started);
}

/// What DynamoDB's TTL does at real time `now`: deletes every item whose `expiration` has
/// passed (promptly here; in AWS usually within days, sometimes within minutes).
async fn ttl_sweep(st: &DynamoDbReplayStore, now: i64) {
    let items = st
        .client()
        .scan()
        .table_name(st.table())
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    for it in items {
        if s(&it, "expiration").parse::<i64>().unwrap() <= now {
            st.client()
                .delete_item()
                .table_name(st.table())
                .key("id", it["id"].clone())
                .send()
                .await
                .unwrap();
        }
    }
}

/// Two instances whose clocks differ by 30 s (within the default margin): the one ahead
/// completes an envelope; at real time `expiry + 10 s` the item's TTL has not deleted it (its
/// `expiration` carries the margin), so the instance behind, which still accepts the envelope
/// as fresh by its clock, finds it a duplicate.
#[tokio::test]
async fn an_instance_whose_clock_runs_behind_never_reopens_a_completed_envelope() {
    let moto = Moto::start();
    let st = store(&moto, "replay").await;
    let key = ReplayKey::envelope("billing", "orders", "0190-skew");
    let expires = NOW + 300;
    let behind = 30;
    let ahead = LeaseRequest::new(tok(1), NOW, 60, expires);
    assert_eq!(st.begin_async(key, ahead).await.unwrap(), Begun::Started);
    assert_eq!(
        st.complete_async(key, tok(1), expires, NOW).await.unwrap(),
        Completion::Completed
    );
    let real = expires + 10;
    ttl_sweep(&st, real).await;
    let late = LeaseRequest::new(tok(2), real - behind, 60, expires);
    assert_eq!(st.begin_async(key, late).await.unwrap(), Begun::AlreadyDone);
    assert_eq!(
        st.claim_async(key, expires, real - behind).await.unwrap(),
        Claim::AlreadyClaimed
    );
    // A store with a smaller margin writes a smaller one (and so would reopen here).
    let tight = DynamoDbReplayStore::new(st.client().clone(), st.table())
        .with_clock_margin(std::time::Duration::from_millis(1500));
    let other = ReplayKey::envelope("billing", "orders", "0190-tight");
    assert_eq!(
        tight.claim_async(other, expires, NOW).await.unwrap(),
        Claim::Claimed
    );
    let it = item(&st, &other).await.unwrap();
    assert_eq!(s(&it, "expiration"), (expires + 2).to_string());
}

#[tokio::test]
async fn a_lapsed_lease_is_taken_over_and_the_old_owner_loses_it() {
    let moto = Moto::start();
    let st = store(&moto, "replay").await;
    let key = ReplayKey::envelope("billing", "orders", "0190-b");
    let expires = NOW + 3600;
    let first = LeaseRequest::new(tok(1), NOW, 60, expires);
    assert_eq!(st.begin_async(key, first).await.unwrap(), Begun::Started);
    // 59 s later the lease is live; 60 s later it has lapsed.
    let early = LeaseRequest::new(tok(2), NOW + 59, 60, expires);
    assert_eq!(st.begin_async(key, early).await.unwrap(), Begun::InProgress);
    let takeover = LeaseRequest::new(tok(2), NOW + 60, 60, expires);
    assert_eq!(st.begin_async(key, takeover).await.unwrap(), Begun::Started);
    // The first owner's complete and release find the record not theirs.
    assert_eq!(
        st.complete_async(key, tok(1), expires, NOW + 61)
            .await
            .unwrap(),
        Completion::LeaseLost
    );
    assert!(!st.release_async(key, tok(1)).await.unwrap());
    // The new owner releases: gone, so the next delivery starts.
    assert!(st.release_async(key, tok(2)).await.unwrap());
    assert!(item(&st, &key).await.is_none());
    let next = LeaseRequest::new(tok(3), NOW + 62, 60, expires);
    assert_eq!(st.begin_async(key, next).await.unwrap(), Begun::Started);
}

#[tokio::test]
async fn one_step_claims_and_kinds_are_separate() {
    let moto = Moto::start();
    let st = store(&moto, "replay").await;
    let env = ReplayKey::envelope("billing", "stripe", "evt_1");
    let hook = ReplayKey::webhook("billing", "stripe", "evt_1");
    assert_eq!(
        st.claim_async(env, NOW + 60, NOW).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        st.claim_async(env, NOW + 60, NOW).await.unwrap(),
        Claim::AlreadyClaimed
    );
    assert_eq!(
        st.claim_async(hook, NOW + 60, NOW).await.unwrap(),
        Claim::Claimed
    );
    // A claim over a live lease: in progress.
    let leased = ReplayKey::envelope("billing", "orders", "leased");
    let req = LeaseRequest::new(tok(1), NOW, 60, NOW + 600);
    assert_eq!(st.begin_async(leased, req).await.unwrap(), Begun::Started);
    assert_eq!(
        st.claim_async(leased, NOW + 600, NOW + 1).await.unwrap(),
        Claim::InProgress
    );
    // Another consumer's claims are its own.
    let shipping = ReplayKey::envelope("shipping", "stripe", "evt_1");
    assert_eq!(
        st.claim_async(shipping, NOW + 60, NOW).await.unwrap(),
        Claim::Claimed
    );
}

#[tokio::test]
async fn attribute_names_are_configurable() {
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    // A table whose partition key is `pk`.
    moto::create_table_keyed(&client, "custom", "pk").await;
    let names = AttributeNames {
        id: "pk".into(),
        expiration: "ttl".into(),
        status: "state".into(),
        in_progress_expiration: "lease_ms".into(),
        lease_token: "owner".into(),
    };
    let st = DynamoDbReplayStore::new(client.clone(), "custom").with_attribute_names(names);
    let key = ReplayKey::envelope("billing", "orders", "x");
    let req = LeaseRequest::new(tok(1), NOW, 60, NOW + 600);
    assert_eq!(st.begin_async(key, req).await.unwrap(), Begun::Started);
    assert_eq!(
        st.begin_async(key, LeaseRequest::new(tok(2), NOW, 60, NOW + 600))
            .await
            .unwrap(),
        Begun::InProgress
    );
    assert_eq!(
        st.complete_async(key, tok(1), NOW + 600, NOW)
            .await
            .unwrap(),
        Completion::Completed
    );
    let it = client
        .get_item()
        .table_name("custom")
        .key("pk", AttributeValue::S(item_id(&key)))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(s(&it, "state"), "COMPLETED");
    assert_eq!(s(&it, "ttl"), (NOW + 600 + 60).to_string()); // with the clock margin
    assert_eq!(s(&it, "owner"), tok(1).to_hex());
}

#[test]
fn the_blocking_store_serves_sync_callers() {
    let moto = Moto::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let st = rt.block_on(store(&moto, "replay"));
    drop(rt);
    let blocking = st.blocking().unwrap();
    let key = ReplayKey::envelope("billing", "orders", "sync");
    // From 4 threads at once: exactly one starts.
    let started = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..4u8)
            .map(|i| {
                let b = &blocking;
                sc.spawn(move || {
                    b.begin(&key, &LeaseRequest::new(tok(10 + i), NOW, 60, NOW + 600))
                        .unwrap()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|b| *b == Begun::Started)
            .count()
    });
    assert_eq!(started, 1);
    // Called from inside a runtime: refused with a clear error, never a panic.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let err = rt
        .block_on(async { blocking.claim(&key, NOW + 600, NOW) })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
    assert!(format!("{:?}", err).contains("inside an async runtime"));
    // Made from inside a runtime: the same error, never a panic.
    let err = rt
        .block_on(async { eventseal_aws::BlockingDynamoDbReplayStore::from_env("replay") })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StoreUnavailable);
}

#[tokio::test]
async fn an_unreachable_table_is_store_unavailable() {
    // Nothing listens on this port (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = moto::sdk_config_for(&format!("http://127.0.0.1:{port}")).await;
    let st = DynamoDbReplayStore::new(aws_sdk_dynamodb::Client::new(&config), "replay");
    let key = ReplayKey::envelope("billing", "orders", "x");
    let req = LeaseRequest::new(tok(1), NOW, 60, NOW + 600);
    assert_eq!(
        st.begin_async(key, req).await.unwrap_err().kind(),
        ErrorKind::StoreUnavailable
    );
    assert_eq!(
        st.complete_async(key, tok(1), NOW + 600, NOW)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::StoreUnavailable
    );
    assert_eq!(
        st.release_async(key, tok(1)).await.unwrap_err().kind(),
        ErrorKind::StoreUnavailable
    );
    assert_eq!(
        st.claim_async(key, NOW + 600, NOW)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::StoreUnavailable
    );
    // A missing table is unavailable too (never a silent success).
    let moto = Moto::start();
    let config = moto.sdk_config().await;
    let st = DynamoDbReplayStore::new(aws_sdk_dynamodb::Client::new(&config), "no-such-table");
    assert_eq!(
        st.claim_async(key, NOW + 600, NOW)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::StoreUnavailable
    );
}

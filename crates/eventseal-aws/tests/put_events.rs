//! PutEvents with per-entry failures, which moto cannot produce for a valid request: the real
//! SDK client against recorded HTTP responses (the SDK's own replay client). The responses
//! are EventBridge's documented shape (`FailedEntryCount`, and per entry `EventId` or
//! `ErrorCode`/`ErrorMessage`, in the request's order).

mod common;

use aws_sdk_eventbridge::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_http_client::test_util::{ReplayEvent, StaticReplayClient};
use aws_smithy_types::body::SdkBody;
use common::World;
use eventseal_aws::{put_entries, EntryOutcome, RetryPolicy};

fn exchange(response: &str) -> ReplayEvent {
    ReplayEvent::new(
        http::Request::builder()
            .uri("https://events.us-east-1.amazonaws.com/")
            .body(SdkBody::empty())
            .unwrap(),
        http::Response::builder()
            .status(200)
            .header("content-type", "application/x-amz-json-1.1")
            .body(SdkBody::from(response.to_owned()))
            .unwrap(),
    )
}

fn client(replay: &StaticReplayClient) -> aws_sdk_eventbridge::Client {
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("a", "b", None, None, "test"))
        .http_client(replay.clone())
        .build();
    aws_sdk_eventbridge::Client::from_conf(config)
}

/// The entries' `Detail`s of each request the client sent.
fn sent(replay: &StaticReplayClient) -> Vec<Vec<String>> {
    replay
        .actual_requests()
        .map(|r| {
            let body: serde_json::Value =
                serde_json::from_slice(r.body().bytes().unwrap()).unwrap();
            body["Entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["Detail"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn throttled_entries_are_retried_permanent_failures_reported() {
    let w = World::new();
    let entries: Vec<_> = ["a", "b", "c"]
        .iter()
        .map(|p| w.entry(p.as_bytes(), "bus"))
        .collect();
    let replay = StaticReplayClient::new(vec![
        exchange(
            r#"{"FailedEntryCount":2,"Entries":[
                {"EventId":"11111111-0000-0000-0000-000000000001"},
                {"ErrorCode":"ThrottlingException","ErrorMessage":"Rate exceeded."},
                {"ErrorCode":"NotAuthorizedForSourceException","ErrorMessage":"Not authorized for the source."}]}"#,
        ),
        exchange(
            r#"{"FailedEntryCount":1,"Entries":[{"ErrorCode":"InternalFailure","ErrorMessage":"Internal error."}]}"#,
        ),
        exchange(
            r#"{"FailedEntryCount":0,"Entries":[{"EventId":"11111111-0000-0000-0000-000000000002"}]}"#,
        ),
    ]);
    let policy = RetryPolicy {
        max_attempts: 4,
        base_delay: std::time::Duration::from_millis(1),
    };
    let outcomes = put_entries(&client(&replay), &entries, policy).await;
    assert_eq!(
        outcomes,
        [
            EntryOutcome::Put {
                event_id: "11111111-0000-0000-0000-000000000001".into()
            },
            EntryOutcome::Put {
                event_id: "11111111-0000-0000-0000-000000000002".into()
            },
            EntryOutcome::Failed {
                code: "NotAuthorizedForSourceException".into(),
                message: Some("Not authorized for the source.".into()),
                attempts: 1,
            },
        ]
    );
    // The retries carried only the throttled entry (then the internal failure), never the
    // accepted one or the permanently refused one.
    let details: Vec<String> = entries.iter().map(|e| e.detail.clone()).collect();
    assert_eq!(
        sent(&replay),
        [
            details.clone(),
            vec![details[1].clone()],
            vec![details[1].clone()]
        ]
    );
}

#[tokio::test]
async fn retries_stop_at_the_policy_limit() {
    let w = World::new();
    let entries = vec![w.entry(b"a", "bus")];
    let throttled = r#"{"FailedEntryCount":1,"Entries":[{"ErrorCode":"ThrottlingException","ErrorMessage":"Rate exceeded."}]}"#;
    let replay = StaticReplayClient::new(vec![exchange(throttled), exchange(throttled)]);
    let policy = RetryPolicy {
        max_attempts: 2,
        base_delay: std::time::Duration::from_millis(1),
    };
    let outcomes = put_entries(&client(&replay), &entries, policy).await;
    assert_eq!(
        outcomes,
        [EntryOutcome::Failed {
            code: "ThrottlingException".into(),
            message: Some("Rate exceeded.".into()),
            attempts: 2,
        }]
    );
    assert_eq!(sent(&replay).len(), 2);
}

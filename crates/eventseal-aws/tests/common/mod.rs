//! Keys, trust and events shared by the AWS crate's tests.

#![allow(dead_code)]

pub mod moto;

use std::sync::{Arc, Mutex};

use eventseal::{
    AsyncOpener, AsyncReplayStore, Opened, PutEventsEntry, RecipientSecretKey, Sealer, SigningKey,
    TrustStore, TrustedKey, TrustedSource,
};
use eventseal_aws::RecordContext;

/// The EventBridge source the producer puts under.
pub const EB_SOURCE: &str = "com.example.orders";
/// The producer's account (moto's account, where the test bus lives).
pub const ORDERS_ACCOUNT: &str = moto::ACCOUNT;

/// A producer (`orders`) and a consumer (`billing`) that trusts it.
pub struct World {
    pub orders: SigningKey,
    pub billing: RecipientSecretKey,
}

impl World {
    pub fn new() -> Self {
        Self {
            orders: SigningKey::generate("orders").unwrap(),
            billing: RecipientSecretKey::generate("billing").unwrap(),
        }
    }

    pub fn trust(&self) -> TrustStore {
        let mut s = TrustedSource::new("orders").unwrap();
        s.add_key(TrustedKey::new(self.orders.verifying_key().clone()))
            .unwrap();
        s.allow("order.*").unwrap();
        s.add_account(ORDERS_ACCOUNT).unwrap();
        s.set_eventbridge_source(EB_SOURCE).unwrap();
        let mut t = TrustStore::new();
        t.add_source(s);
        t
    }

    pub fn billing_key(&self) -> RecipientSecretKey {
        RecipientSecretKey::from_jwk(&self.billing.to_secret_jwk()).unwrap()
    }

    pub fn opener(&self, store: Arc<dyn AsyncReplayStore>) -> Arc<AsyncOpener> {
        Arc::new(AsyncOpener::new([self.billing_key()], self.trust(), store))
    }

    /// A PutEvents entry for `payload`, sealed to billing.
    pub fn entry(&self, payload: &[u8], bus: &str) -> PutEventsEntry {
        let sealer = Sealer::new(SigningKey::from_jwk(&self.orders.to_secret_jwk()).unwrap())
            .with_eventbridge_defaults();
        let env = sealer
            .seal("order.created", payload, &[self.billing.public_key()])
            .unwrap();
        PutEventsEntry::new(&env, EB_SOURCE, bus).unwrap()
    }
}

/// What EventBridge delivers for `entry` (the AWS documentation's shape).
pub fn deliver(entry: &PutEventsEntry) -> String {
    let detail: serde_json::Value = serde_json::from_str(&entry.detail).unwrap();
    serde_json::json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": entry.detail_type,
        "source": entry.source,
        "account": ORDERS_ACCOUNT,
        "time": "2026-12-07T10:00:00Z",
        "region": moto::REGION,
        "resources": [],
        "detail": detail
    })
    .to_string()
}

/// A Lambda SQS event with these bodies (message ids `m0`, `m1`, …); `group` gives FIFO
/// records a `MessageGroupId` and a `.fifo` source ARN.
pub fn sqs_event(bodies: &[String], group: Option<&dyn Fn(usize) -> String>) -> serde_json::Value {
    let records: Vec<_> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut attributes = serde_json::json!({ "ApproximateReceiveCount": "1" });
            let arn = match group {
                Some(g) => {
                    attributes["MessageGroupId"] = g(i).into();
                    "arn:aws:sqs:us-east-1:123456789012:orders.fifo"
                }
                None => "arn:aws:sqs:us-east-1:123456789012:orders",
            };
            serde_json::json!({
                "messageId": format!("m{i}"),
                "receiptHandle": format!("rh{i}"),
                "body": body,
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// The message ids of a response's failures.
pub fn failures(response: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

/// A handler that records the payloads it handled and fails those starting with `fail`.
#[derive(Clone, Default)]
pub struct Recorder {
    pub handled: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    pub fn handler(
        &self,
    ) -> impl Fn(Opened, RecordContext) -> std::future::Ready<Result<(), String>> + Send + Sync + 'static
    {
        let handled = Arc::clone(&self.handled);
        move |opened: Opened, _ctx: RecordContext| {
            let payload = String::from_utf8(opened.payload().to_vec()).unwrap();
            if payload.starts_with("fail") {
                return std::future::ready(Err(format!("cannot handle {payload}")));
            }
            handled.lock().unwrap().push(payload);
            std::future::ready(Ok(()))
        }
    }

    pub fn handled(&self) -> Vec<String> {
        let mut v = self.handled.lock().unwrap().clone();
        v.sort();
        v
    }

    pub fn handled_in_order(&self) -> Vec<String> {
        self.handled.lock().unwrap().clone()
    }
}

/// `text` with its first character changed (`A` <-> `B`): one base64url character of a
/// signature or ciphertext altered.
pub fn flip_first(text: &str) -> String {
    match text.strip_prefix('A') {
        Some(rest) => format!("B{rest}"),
        None => format!("A{}", text.get(1..).unwrap_or_default()),
    }
}

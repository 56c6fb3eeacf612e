//! Many instances of one async consumer, as Lambda or container replicas run it: the bus
//! delivers every envelope three times at once (EventBridge retries, or an attacker replaying
//! it), and across all instances each envelope is accepted exactly once. A forged envelope is
//! rejected before the replay store is asked.
//!
//! Run: `cargo run --example async_consumer --features tokio` (instances share a memory store,
//! i.e. one process), or with Redis, as separate machines would:
//! `EVENTSEAL_REDIS_URL=redis://127.0.0.1:6379 cargo run --example async_consumer --features redis,tokio`

use std::sync::Arc;
use std::time::Duration;

use eventseal::{
    AsyncOpener, AsyncReplayStore, ErrorKind, MemoryReplayStore, RecipientSecretKey, Sealer,
    SigningKey, TrustStore,
};

const INSTANCES: usize = 4;
const EVENTS: usize = 50;
const DELIVERIES: usize = 3;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let orders = Sealer::new(SigningKey::generate("orders")?).with_ttl(Duration::from_secs(300));
    let billing = RecipientSecretKey::generate("billing")?;
    let trust = TrustStore::new().with(orders.key().verifying_key().clone());

    let (store, name) = replay_store()?;
    println!("replay store: {name}");
    // Every instance has its own opener (its own copy of the key), sharing only the store.
    let instances: Vec<Arc<AsyncOpener>> = (0..INSTANCES)
        .map(|_| -> Result<_, eventseal::Error> {
            let key = RecipientSecretKey::from_jwk(&billing.to_secret_jwk())?;
            Ok(Arc::new(AsyncOpener::new(
                [key],
                trust.clone(),
                store.clone(),
            )))
        })
        .collect::<Result<_, _>>()?;

    // Each event is delivered DELIVERIES times at once, to different instances.
    let mut tasks = Vec::new();
    for n in 0..EVENTS {
        let payload = format!(r#"{{"order":{n}}}"#);
        let envelope =
            Arc::new(orders.seal("order.created", payload.as_bytes(), &[billing.public_key()])?);
        for d in 0..DELIVERIES {
            let opener = instances[(n + d) % INSTANCES].clone();
            let envelope = envelope.clone();
            tasks.push(tokio::spawn(async move {
                opener
                    .open(envelope.as_bytes())
                    .await
                    .map(|_| ())
                    .map_err(|e| e.kind())
            }));
        }
    }
    let (mut accepted, mut replayed) = (0, 0);
    for t in tasks {
        match t.await? {
            Ok(()) => accepted += 1,
            Err(ErrorKind::Replayed) => replayed += 1,
            Err(other) => return Err(format!("unexpected rejection: {other}").into()),
        }
    }
    println!(
        "{EVENTS} events x {DELIVERIES} concurrent deliveries over {INSTANCES} instances: \
         {accepted} accepted, {replayed} rejected as replayed"
    );
    assert_eq!((accepted, replayed), (EVENTS, EVENTS * (DELIVERIES - 1)));

    // A forgery: another key claiming to be orders. Its key id is not one the consumer trusts
    // for orders, so it is rejected before any signature check or claim.
    let forger = Sealer::new(SigningKey::generate("orders")?);
    let forged = forger.seal("order.created", b"{}", &[billing.public_key()])?;
    let kind = instances[0]
        .open(forged.as_bytes())
        .await
        .map(|_| ())
        .unwrap_err()
        .kind();
    println!("forged envelope: rejected ({kind})");
    assert_eq!(kind, ErrorKind::UnknownKey);
    Ok(())
}

/// Redis when `EVENTSEAL_REDIS_URL` is set (and the `redis` feature is on), else memory.
fn replay_store() -> Result<(Arc<dyn AsyncReplayStore>, String), Box<dyn std::error::Error>> {
    if let Ok(url) = std::env::var("EVENTSEAL_REDIS_URL") {
        #[cfg(feature = "redis")]
        {
            let store = eventseal::AsyncRedisReplayStore::new(&url)?;
            let shown = format!("{store:?}"); // never shows a password in the URL
            return Ok((Arc::new(store), shown));
        }
        #[cfg(not(feature = "redis"))]
        return Err(format!("EVENTSEAL_REDIS_URL={url} needs --features redis,tokio").into());
    }
    Ok((
        Arc::new(MemoryReplayStore::default()),
        "memory (one process)".into(),
    ))
}

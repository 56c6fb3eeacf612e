//! Many consumer instances over one Redis server (feature `redis`): exactly one instance
//! accepts an envelope delivered to several at once, a Redis failure rejects (never accepts),
//! the store recovers when Redis returns, and entries expire with their envelope. Every test
//! starts its own `redis-server` on a free loopback port and stops it afterwards
//! (`apt-get install redis-server`; `.ci/run` installs it when missing).
#![cfg(feature = "redis")]

mod common;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;
use eventseal::{
    Claim, ErrorKind, Freshness, Opener, RedisReplayStore, ReplayKey, ReplayStore, Sealer,
    SigningKey,
};
use redis_server::RedisServer;

fn redis_opener(w: &World, store: Arc<RedisReplayStore>) -> Opener {
    Opener::new(copy_keys(&w.billing), w.trust(), store).with_clock(w.clock.clone())
}

#[test]
fn claims_once_per_consumer_and_opens_once() {
    let redis = RedisServer::start(&[]);
    let store = Arc::new(RedisReplayStore::new(&redis.url()).unwrap());
    store.ping().unwrap();
    let key = |consumer| ReplayKey {
        consumer,
        source: "orders",
        id: "0190a4c2-0000-7000-8000-000000000001",
    };
    assert_eq!(
        store.claim(&key("billing"), T0 + 60, T0).unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store.claim(&key("billing"), T0 + 60, T0).unwrap(),
        Claim::AlreadyClaimed
    );
    assert_eq!(
        store.claim(&key("audit"), T0 + 60, T0).unwrap(),
        Claim::Claimed
    );
    let k = RedisReplayStore::redis_key(&key("billing"));
    assert!(k.starts_with("eventseal:replay:v1:{billing}:"), "{k}");
    // Through an opener: the first open accepts, the second is a replay.
    let w = World::new();
    let env = w.seal(b"once");
    let opener = redis_opener(&w, store);
    assert_eq!(opener.open(env.as_bytes()).unwrap().payload(), b"once");
    assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Replayed);
}

#[test]
fn sixteen_concurrent_opens_accept_exactly_once() {
    let redis = RedisServer::start(&[]);
    let w = World::new();
    for _ in 0..3 {
        let env = w.seal(b"race");
        let store = Arc::new(RedisReplayStore::new(&redis.url()).unwrap());
        let opener = Arc::new(redis_opener(&w, store));
        let barrier = Arc::new(Barrier::new(16));
        let outcomes: Vec<Result<(), ErrorKind>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    let (opener, barrier, env) = (opener.clone(), barrier.clone(), &env);
                    s.spawn(move || {
                        barrier.wait();
                        opener
                            .open(env.as_bytes())
                            .map(|_| ())
                            .map_err(|e| e.kind())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
        assert!(outcomes
            .iter()
            .all(|o| o.is_ok() || *o == Err(ErrorKind::Replayed)));
    }
}

#[test]
fn four_processes_accept_exactly_once() {
    let redis = RedisServer::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Keys and an envelope made with the library, opened by four CLI processes at once.
    let source = SigningKey::generate("orders").unwrap();
    let consumer = eventseal::RecipientSecretKey::generate("billing").unwrap();
    std::fs::write(d.join("verify.jwk"), source.verifying_key().to_jwk()).unwrap();
    std::fs::write(d.join("billing.jwk"), &*consumer.to_secret_jwk()).unwrap();
    let env = Sealer::new(source)
        .seal("order.created", b"processes", &[consumer.public_key()])
        .unwrap();
    std::fs::write(d.join("env.json"), env.as_bytes()).unwrap();
    let outputs = race_cli_open(d, "env.json", &["--replay-redis", &redis.url()]);
    assert_exactly_one_accepted(&outputs, b"processes");
}

#[test]
fn redis_down_rejects_then_recovers() {
    let mut redis = RedisServer::start(&[]);
    let w = World::new();
    let store = Arc::new(
        RedisReplayStore::new(&redis.url())
            .unwrap()
            .with_timeout(Duration::from_millis(300)),
    );
    let opener = redis_opener(&w, store.clone());
    assert!(opener.open(w.seal(b"before").as_bytes()).is_ok());
    redis.stop();
    // The pooled connection is dead and new ones are refused: rejected, never accepted.
    let during = w.seal(b"during");
    for _ in 0..3 {
        assert_eq!(
            kind(opener.open(during.as_bytes())),
            ErrorKind::StoreUnavailable
        );
    }
    redis.run();
    // Back: the rejected envelope was never claimed, so it opens now, once.
    assert_eq!(opener.open(during.as_bytes()).unwrap().payload(), b"during");
    assert_eq!(kind(opener.open(during.as_bytes())), ErrorKind::Replayed);
}

#[test]
fn entries_expire_with_the_envelope_which_is_then_expired() {
    let redis = RedisServer::start(&[]);
    let w = World::new();
    let sealer = Sealer::new(SigningKey::generate("orders").unwrap())
        .with_clock(w.clock.clone())
        .with_ttl(Duration::from_secs(2));
    let trust = eventseal::TrustStore::new().with(sealer.key().verifying_key().clone());
    let env = sealer
        .seal("order.created", b"short", &[w.billing_pub()])
        .unwrap();
    let store = Arc::new(RedisReplayStore::new(&redis.url()).unwrap());
    let opener = Opener::new(copy_keys(&w.billing), trust, store)
        .with_clock(w.clock.clone())
        .with_freshness(Freshness::default().with_max_skew(Duration::ZERO));
    assert!(opener.open(env.as_bytes()).is_ok());
    assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Replayed);
    // The entry lives for the envelope's remaining 2 s, then Redis drops it ...
    let mut con = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("eventseal:replay:v1:*")
        .query(&mut con)
        .unwrap();
    assert_eq!(keys.len(), 1);
    let ttl_ms: i64 = redis::cmd("PTTL").arg(&keys[0]).query(&mut con).unwrap();
    assert!(ttl_ms > 0 && ttl_ms <= 2000, "{ttl_ms}");
    std::thread::sleep(Duration::from_millis(2300));
    let exists: i64 = redis::cmd("EXISTS").arg(&keys[0]).query(&mut con).unwrap();
    assert_eq!(exists, 0);
    // ... by which time the envelope itself is expired: rejected, not accepted again.
    w.clock.advance(2);
    assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Expired);
}

#[test]
fn password_protected_server() {
    let redis = RedisServer::start(&["--requirepass", "s3cret-pass"]);
    let with = format!("redis://:s3cret-pass@127.0.0.1:{}", redis.port);
    let store = RedisReplayStore::new(&with).unwrap();
    store.ping().unwrap();
    // The password never shows in Debug output.
    assert!(!format!("{store:?}").contains("s3cret"));
    let w = World::new();
    let opener = redis_opener(&w, Arc::new(store));
    assert!(opener.open(w.seal(b"auth").as_bytes()).is_ok());
    // Without it, or with a wrong one: unavailable, so rejected.
    for url in [
        redis.url(),
        format!("redis://:wrong@127.0.0.1:{}", redis.port),
    ] {
        let opener = redis_opener(&w, Arc::new(RedisReplayStore::new(&url).unwrap()));
        assert_eq!(
            kind(opener.open(w.seal(b"x").as_bytes())),
            ErrorKind::StoreUnavailable
        );
    }
}

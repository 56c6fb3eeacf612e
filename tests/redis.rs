//! Many consumer instances over one Redis server (features `redis` and `tokio`): exactly one instance
//! accepts an envelope delivered to several at once, a Redis failure rejects (never accepts),
//! the store recovers when Redis returns, and entries expire with their envelope. Every test
//! starts its own `redis-server` on a free loopback port and stops it afterwards
//! (`cargo xtask setup` installs it; `cargo xtask test` runs these tests).

#[path = "common/chaos.rs"]
mod chaos;
mod common;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::*;
use eventseal::{
    Begun, Claim, Completion, ErrorKind, Freshness, LeaseRequest, LeaseToken, Opener, ProcessError,
    RedisReplayStore, ReplayKey, ReplayStore, Sealer, SigningKey,
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
    let key =
        |consumer| ReplayKey::envelope(consumer, "orders", "0190a4c2-0000-7000-8000-000000000001");
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

/// How many times the server ran `command` (`INFO commandstats`), 0 if never.
fn calls(redis: &RedisServer, command: &str) -> u64 {
    let info: String =
        redis::from_redis_value(redis.command(None, &["INFO", "commandstats"])).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// One round trip per transition, and no script text on the wire: a claim or a begin is one
/// plain `SET … NX GET`; complete and release are one `EVALSHA`, the script loaded once when
/// the server lacks it (a new server, `SCRIPT FLUSH`, a failover); a lapsed lease is taken over
/// through the begin script. The sync store and the async one alike.
#[test]
fn one_round_trip_per_transition_and_scripts_by_hash() {
    let redis = RedisServer::start(&[]);
    let store = RedisReplayStore::new(&redis.url()).unwrap();
    let key = |id| ReplayKey::envelope("billing", "orders", id);
    for (i, id) in ["a", "b", "c"].into_iter().enumerate() {
        assert_eq!(store.claim(&key(id), T0 + 60, T0).unwrap(), Claim::Claimed);
        assert_eq!(calls(&redis, "set"), 1 + i as u64);
    }
    assert_eq!(
        store.claim(&key("a"), T0 + 60, T0).unwrap(),
        Claim::AlreadyClaimed
    );
    assert_eq!(calls(&redis, "set"), 4);
    assert_eq!(calls(&redis, "evalsha") + calls(&redis, "eval"), 0);

    // Complete: one EVALSHA; the first found no script (NOSCRIPT), loaded it, and was resent.
    let lease = |id, now, secs| {
        let token = LeaseToken::random().unwrap();
        let request = LeaseRequest::new(token, now, secs, T0 + 600);
        (store.begin(&key(id), &request).unwrap(), token)
    };
    let (begun, token) = lease("d", T0, 60);
    assert_eq!(begun, Begun::Started);
    assert_eq!(
        store.complete(&key("d"), &token, T0 + 600, T0).unwrap(),
        Completion::Completed
    );
    assert_eq!(
        (calls(&redis, "evalsha"), calls(&redis, "script|load")),
        (2, 1)
    );
    redis.command(None, &["SCRIPT", "FLUSH"]);
    let (_, token) = lease("e", T0, 60);
    assert!(store.release(&key("e"), &token).unwrap());
    assert_eq!(
        (calls(&redis, "evalsha"), calls(&redis, "script|load")),
        (4, 2)
    );

    // A lapsed lease: the SET finds it, the begin script takes it over.
    let (_, first) = lease("f", T0, 10);
    assert_eq!(lease("f", T0 + 9, 10).0, Begun::InProgress);
    let (again, second) = lease("f", T0 + 10, 10);
    assert_eq!(again, Begun::Started);
    assert_eq!(
        store
            .complete(&key("f"), &first, T0 + 600, T0 + 11)
            .unwrap(),
        Completion::LeaseLost
    );
    assert_eq!(
        store
            .complete(&key("f"), &second, T0 + 600, T0 + 11)
            .unwrap(),
        Completion::Completed
    );
    assert_eq!(calls(&redis, "eval"), 0);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use eventseal::AsyncReplayStore;
        let store = eventseal::AsyncRedisReplayStore::new(&redis.url()).unwrap();
        let (sets, scripts) = (calls(&redis, "set"), calls(&redis, "evalsha"));
        assert_eq!(
            store.claim_async(key("g"), T0 + 60, T0).await.unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            store.claim_async(key("g"), T0 + 60, T0).await.unwrap(),
            Claim::AlreadyClaimed
        );
        assert_eq!(calls(&redis, "set"), sets + 2);
        redis.command(None, &["SCRIPT", "FLUSH"]);
        let token = LeaseToken::random().unwrap();
        let request = LeaseRequest::new(token, T0, 60, T0 + 600);
        assert_eq!(
            store.begin_async(key("h"), request).await.unwrap(),
            Begun::Started
        );
        assert_eq!(
            store
                .complete_async(key("h"), token, T0 + 600, T0)
                .await
                .unwrap(),
            Completion::Completed
        );
        assert_eq!(calls(&redis, "evalsha"), scripts + 2);
        assert_eq!(calls(&redis, "eval"), 0);
    });
}

/// Envelope claims and webhook claims are separate namespaces in Redis too: an envelope from
/// a source named like the old webhook namespace does not take a webhook id first, and the
/// key shapes differ (issue 12).
#[test]
fn envelope_and_webhook_claims_never_collide_in_redis() {
    let redis = RedisServer::start(&[]);
    let store = RedisReplayStore::new(&redis.url()).unwrap();
    let id = "0190a4c2-0000-7000-8000-00000000000f";
    let envelope = ReplayKey::envelope("billing", "webhook:github", id);
    let webhook = ReplayKey::webhook("billing", "github", id);
    let same_source = ReplayKey::webhook("billing", "webhook:github", id);
    for key in [envelope, webhook, same_source] {
        assert_eq!(
            store.claim(&key, T0 + 60, T0).unwrap(),
            Claim::Claimed,
            "{key:?}"
        );
        assert_eq!(
            store.claim(&key, T0 + 60, T0).unwrap(),
            Claim::AlreadyClaimed,
            "{key:?}"
        );
    }
    let e = RedisReplayStore::redis_key(&envelope);
    let w = RedisReplayStore::redis_key(&same_source);
    assert!(
        w.starts_with("eventseal:replay:v1:{billing}:webhook:"),
        "{w}"
    );
    assert_eq!(
        e.trim_start_matches("eventseal:replay:v1:{billing}:").len(),
        64,
        "{e}"
    );
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

/// A server that closes idle connections (Redis's `timeout` setting; managed Redis services,
/// proxies and load balancers do the same): the claims after the idle period resend on a new
/// connection instead of rejecting good envelopes as `store-unavailable`, and the resend never
/// lets an envelope open twice.
#[test]
fn idle_connections_closed_by_the_server() {
    let redis = RedisServer::start(&["--timeout", "1"]);
    let w = World::new();
    let store = Arc::new(RedisReplayStore::new(&redis.url()).unwrap());
    let opener = Arc::new(redis_opener(&w, store));
    // Four opens at once leave up to four connections in the pool.
    let before: Vec<_> = (0..4)
        .map(|i| w.seal(format!("before {i}").as_bytes()))
        .collect();
    let barrier = Barrier::new(4);
    std::thread::scope(|s| {
        for env in &before {
            let (opener, barrier) = (&opener, &barrier);
            s.spawn(move || {
                barrier.wait();
                assert!(opener.open(env.as_bytes()).is_ok());
            });
        }
    });
    assert!(redis.other_clients() >= 1);
    wait_until_idle_clients_closed(&redis);
    // Every pooled connection is now closed by the server.
    for i in 0..6 {
        let env = w.seal(format!("after {i}").as_bytes());
        assert_eq!(
            opener.open(env.as_bytes()).unwrap().payload(),
            format!("after {i}").as_bytes()
        );
        assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Replayed);
    }
    wait_until_idle_clients_closed(&redis);
    for env in &before {
        assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Replayed);
    }
}

/// Waits (up to 10 s) until the server has closed every client but the one asking.
fn wait_until_idle_clients_closed(redis: &RedisServer) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while redis.other_clients() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "idle clients not closed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A sealer on the world's clock whose envelopes live 2 s, and a trust store for it.
fn two_second_sealer(w: &World) -> (Sealer, eventseal::TrustStore) {
    let sealer = Sealer::new(SigningKey::generate("orders").unwrap())
        .with_clock(w.clock.clone())
        .with_ttl(Duration::from_secs(2));
    let trust = eventseal::TrustStore::new().with(sealer.key().verifying_key().clone());
    (sealer, trust)
}

#[test]
fn entries_expire_with_the_envelope_which_is_then_expired() {
    let redis = RedisServer::start(&[]);
    let w = World::new();
    let (sealer, trust) = two_second_sealer(&w);
    let env = sealer
        .seal("order.created", b"short", &[w.billing_pub()])
        .unwrap();
    // No clock margin, to see the key go at the envelope's own expiry (the default margin
    // keeps it 60 s longer; `instances_with_different_clocks`).
    let store = Arc::new(
        RedisReplayStore::new(&redis.url())
            .unwrap()
            .with_clock_margin(Duration::ZERO),
    );
    let opener = Opener::new(copy_keys(&w.billing), trust, store)
        .with_clock(w.clock.clone())
        .with_freshness(Freshness::default().with_max_skew(Duration::ZERO));
    assert!(opener.open(env.as_bytes()).is_ok());
    assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Replayed);
    // The entry lives for the envelope's remaining 2 s, then Redis drops it ...
    let keys = redis.replay_keys_with_ttl();
    assert_eq!(keys.len(), 1);
    let (key, ttl_ms) = &keys[0];
    assert!(*ttl_ms > 0 && *ttl_ms <= 2000, "{ttl_ms}");
    std::thread::sleep(Duration::from_millis(2300));
    assert_eq!(redis.command(None, &["EXISTS", key]), redis::Value::Int(0));
    // ... by which time the envelope itself is expired: rejected, not accepted again.
    w.clock.advance(2);
    assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Expired);
}

/// Redis turns a key's time to live into an expiry on its own clock when the key is set. An
/// instance whose clock runs ahead sets a shorter one: without a margin the key would go while an
/// instance whose clock is behind still accepts the envelope, which would then open twice.
/// The default margin (60 s) keeps the key past that.
#[test]
fn instances_with_different_clocks() {
    let redis = RedisServer::start(&[]);
    let w = World::new();
    let (sealer, trust) = two_second_sealer(&w);
    let strict = Freshness::default().with_max_skew(Duration::ZERO);
    // Instance A's clock is one second ahead of instance B's.
    let ahead = Arc::new(eventseal::FixedClock::new(T0 + 1));
    let instance = |clock: Arc<eventseal::FixedClock>, margin: Option<Duration>| {
        let mut store = RedisReplayStore::new(&redis.url()).unwrap();
        if let Some(margin) = margin {
            store = store.with_clock_margin(margin);
        }
        Opener::new(copy_keys(&w.billing), trust.clone(), Arc::new(store))
            .with_clock(clock)
            .with_freshness(strict)
    };
    for (margin, second_open_by_b) in [
        (Some(Duration::ZERO), Ok(())),
        (None, Err(ErrorKind::Replayed)),
    ] {
        let env = sealer
            .seal("order.created", b"skewed", &[w.billing_pub()])
            .unwrap();
        let (a, b) = (
            instance(ahead.clone(), margin),
            instance(w.clock.clone(), margin),
        );
        assert!(a.open(env.as_bytes()).is_ok());
        let keys = redis.replay_keys_with_ttl();
        let ttl_ms = keys.iter().map(|(_, ttl)| *ttl).max().unwrap();
        match margin {
            Some(_) => assert!((1..=1000).contains(&ttl_ms), "{ttl_ms}"),
            None => assert!((60_000..=61_000).contains(&ttl_ms), "{ttl_ms}"),
        }
        std::thread::sleep(Duration::from_millis(1300));
        // B's clock still says the envelope is fresh (T0 < T0 + 2).
        assert_eq!(
            b.open(env.as_bytes()).map(|_| ()).map_err(|e| e.kind()),
            second_open_by_b,
            "margin {margin:?}"
        );
        redis.command(None, &["FLUSHALL"]);
    }
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

/// The Redis ACL docs/REPLAY_STORES.md recommends: one user per consumer (here the args for
/// `billing`), allowed `EVAL` (with the `GET`, `SET` and `DEL` its scripts run) and `PING`,
/// on that consumer's own replay keys only.
pub(crate) fn acl_server() -> RedisServer {
    RedisServer::start(&[
        "--user",
        "default",
        "on",
        "nopass",
        "~*",
        "+@all",
        "--user",
        "billing",
        "on",
        ">claim-pass",
        "~eventseal:replay:v1:{billing}:*",
        "-@all",
        "+evalsha",
        "+script|load",
        "+get",
        "+set",
        "+del",
        "+ping",
    ])
}

/// ... and that is all the store needs.
#[test]
fn least_privilege_acl_user() {
    let redis = acl_server();
    let url = format!("redis://billing:claim-pass@127.0.0.1:{}", redis.port);
    let store = RedisReplayStore::new(&url).unwrap();
    store.ping().unwrap();
    let w = World::new();
    let opener = redis_opener(&w, Arc::new(store));
    let env = w.seal(b"acl");
    assert_eq!(opener.open(env.as_bytes()).unwrap().payload(), b"acl");
    assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Replayed);
    // The user really is that limited: reading a claim is refused, so are other keys, and so
    // are another consumer's claims (which it could otherwise make first).
    let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
    let key = &redis.replay_keys_with_ttl()[0].0;
    let audit_key = RedisReplayStore::redis_key(&ReplayKey::envelope(
        "audit",
        "orders",
        "0190a4c2-0000-7000-8000-000000000001",
    ));
    let mut refused = |cmd: &mut redis::Cmd| {
        let e = cmd.query::<redis::Value>(&mut con).unwrap_err();
        assert_eq!(e.code(), Some("NOPERM"), "{e}");
    };
    let _ = key;
    refused(redis::cmd("SET").arg("other").arg(1));
    refused(redis::cmd("SET").arg(&audit_key).arg(1).arg("NX"));
    refused(
        redis::cmd("EVAL")
            .arg("return redis.call('SET', KEYS[1], 1)")
            .arg(1)
            .arg(&audit_key),
    );
    refused(redis::cmd("EVAL").arg("return 1").arg(1).arg("other"));
    refused(redis::cmd("KEYS").arg("*"));
    refused(&mut redis::cmd("FLUSHALL"));
    // Leases work as that user too: a failed handler releases, the retry completes.
    let env = w.seal(b"leased");
    assert!(opener
        .process(env.as_bytes(), |_| Err::<(), _>(()))
        .is_err());
    assert!(opener.process(env.as_bytes(), |_| Ok::<_, ()>(())).is_ok());
}

/// Effectively-once processing on Redis: a failed handler releases its lease, the retry
/// processes, the third delivery is `replayed`; a delivery while the handler runs is
/// `in-progress`; a lapsed lease taken over is `lease-lost`. Each transition is one `EVAL`.
#[test]
fn leases_complete_release_and_lapse() {
    let redis = RedisServer::start(&[]);
    let w = World::new();
    let opener = redis_opener(&w, Arc::new(RedisReplayStore::new(&redis.url()).unwrap()))
        .with_lease(Duration::from_secs(60));
    let env = w.seal(b"pay");
    let r = opener.process(env.as_bytes(), |_| Err::<(), _>("down"));
    assert!(
        matches!(r, Err(ProcessError::Handler { release: None, .. })),
        "{r:?}"
    );
    let r = opener.process(env.as_bytes(), |o| {
        let during = opener.process(env.as_bytes(), |_| Ok::<_, ()>(()));
        assert!(
            matches!(&during, Err(ProcessError::Rejected(e)) if e.kind() == ErrorKind::InProgress),
            "{during:?}"
        );
        Ok::<_, ()>(o.payload().to_vec())
    });
    assert_eq!(r.unwrap(), b"pay");
    let third = opener.process(env.as_bytes(), |_| Ok::<_, ()>(()));
    assert!(matches!(&third, Err(ProcessError::Rejected(e)) if e.kind() == ErrorKind::Replayed));
    // A completed record keeps the envelope's time to live (replay expiry plus margin).
    let keys = redis.replay_keys_with_ttl();
    assert_eq!(keys.len(), 1);
    assert!((400_000..=420_000).contains(&keys[0].1), "{keys:?}");
    // lease-lost: the lease lapses while the handler runs and another delivery takes over.
    let env = w.seal(b"slow");
    let first = opener.process(env.as_bytes(), |_| {
        w.clock.advance(61);
        assert!(opener.process(env.as_bytes(), |_| Ok::<_, ()>(())).is_ok());
        Ok::<_, ()>(())
    });
    assert!(
        matches!(&first, Err(ProcessError::NotCompleted(e)) if e.kind() == ErrorKind::LeaseLost),
        "{first:?}"
    );
}

/// Every transition of the Redis scripts, as for the other stores (`tests/leases.rs`), and a
/// record written before leases existed (value `1`) read as completed.
#[test]
fn lease_transitions() {
    let redis = RedisServer::start(&[]);
    let store = RedisReplayStore::new(&redis.url()).unwrap();
    chaos::store_transitions("redis", &store);
    let old = ReplayKey::envelope("billing", "orders", "0190a4c2-0000-7000-8000-0000000000dd");
    redis.command(
        None,
        &["SET", &RedisReplayStore::redis_key(&old), "1", "EX", "600"],
    );
    let req =
        eventseal::LeaseRequest::new(eventseal::LeaseToken::from_bytes([9; 16]), T0, 60, T0 + 300);
    assert_eq!(
        store.begin(&old, &req).unwrap(),
        eventseal::Begun::AlreadyDone
    );
    assert_eq!(
        store.claim(&old, T0 + 300, T0).unwrap(),
        Claim::AlreadyClaimed
    );
}

/// The chaos test on Redis (four threads of one consumer sharing a sync store).
#[test]
fn chaos_redis() {
    let redis = RedisServer::start(&[]);
    let store = Arc::new(RedisReplayStore::new(&redis.url()).unwrap());
    let r = chaos::chaos(store, 200);
    println!("redis: {r:?}");
    assert!(r.handler_failures > 20, "{r:?}");
}

/// TLS (`rediss://`) against a redis-server that speaks only TLS, with a certificate from a
/// test CA: trusted through `with_root_certificates`, and refused (store-unavailable, never an
/// accept) when the CA is not trusted or another CA is given. An `#insecure` URL, which would
/// skip the certificate check, is refused outright.
#[test]
fn tls_with_a_private_ca() {
    let redis = RedisServer::start_tls();
    let w = World::new();
    let store = RedisReplayStore::with_root_certificates(&redis.tls_url(), &redis.ca_pem())
        .unwrap()
        .with_timeout(Duration::from_secs(2));
    store.ping().unwrap();
    let opener = redis_opener(&w, Arc::new(store));
    let env = w.seal(b"over tls");
    assert_eq!(opener.open(env.as_bytes()).unwrap().payload(), b"over tls");
    assert_eq!(kind(opener.open(env.as_bytes())), ErrorKind::Replayed);

    // The platform roots do not know the test CA; another CA does not sign the server.
    let other_dir = tempfile::tempdir().unwrap();
    let other_ca = redis_server::write_test_certificates(other_dir.path());
    let untrusted = [
        RedisReplayStore::new(&redis.tls_url()).unwrap(),
        RedisReplayStore::with_root_certificates(&redis.tls_url(), other_ca.as_bytes()).unwrap(),
    ];
    for store in untrusted {
        assert_eq!(kind(store.ping()), ErrorKind::StoreUnavailable);
        let opener = redis_opener(&w, Arc::new(store));
        assert_eq!(
            kind(opener.open(w.seal(b"x").as_bytes())),
            ErrorKind::StoreUnavailable
        );
    }
    // Plain Redis to a TLS port: no answer it could take for a claim.
    let plain = RedisReplayStore::new(&redis.url())
        .unwrap()
        .with_timeout(Duration::from_millis(500));
    assert_eq!(kind(plain.ping()), ErrorKind::StoreUnavailable);
    // Settings that would weaken or misuse TLS are refused when the store is made.
    let insecure = format!("{}/#insecure", redis.tls_url());
    assert_eq!(
        kind(RedisReplayStore::new(&insecure)),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(RedisReplayStore::with_root_certificates(
            &redis.url(),
            &redis.ca_pem()
        )),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        kind(RedisReplayStore::with_root_certificates(
            &redis.tls_url(),
            b"not a certificate"
        )),
        ErrorKind::InvalidInput
    );
}

/// The async store (features `redis` and `tokio`).
#[cfg(feature = "tokio")]
mod async_store {
    use super::*;
    use eventseal::{AsyncOpener, AsyncRedisReplayStore, AsyncReplayStore};

    fn async_opener(w: &World, store: Arc<dyn AsyncReplayStore>) -> Arc<AsyncOpener> {
        Arc::new(
            AsyncOpener::new(copy_keys(&w.billing), w.trust(), store).with_clock(w.clock.clone()),
        )
    }

    /// 16 tokio tasks sharing one multiplexed connection: exactly one accept per envelope;
    /// and a sync instance of the same consumer sees the async claims (same keys).
    #[test]
    fn sixteen_tasks_accept_exactly_once() {
        let redis = RedisServer::start(&[]);
        let w = World::new();
        let rt = multi_thread_runtime();
        let store = rt
            .block_on(async { AsyncRedisReplayStore::new(&redis.url()) })
            .unwrap();
        rt.block_on(store.ping()).unwrap();
        let opener = async_opener(&w, Arc::new(store));
        for _ in 0..5 {
            let env = Arc::new(w.seal(b"race"));
            assert_exactly_one_opened(&rt.block_on(race_async_open(opener.clone(), env.clone())));
            let sync = redis_opener(&w, Arc::new(RedisReplayStore::new(&redis.url()).unwrap()));
            assert_eq!(kind(sync.open(env.as_bytes())), ErrorKind::Replayed);
        }
        // Each claim's key expires with its envelope: 300 s TTL, 60 s default skew, 60 s
        // default clock margin.
        let keys = redis.replay_keys_with_ttl();
        assert_eq!(keys.len(), 5);
        for (key, ttl_ms) in keys {
            assert!(key.starts_with("eventseal:replay:v1:{billing}:"), "{key}");
            assert!((400_000..=420_000).contains(&ttl_ms), "{ttl_ms}");
        }
    }

    /// Redis stopped mid-run: claims fail within the timeout with store-unavailable; when it
    /// returns, the store reconnects by itself and the rejected envelope opens, once.
    #[test]
    fn redis_down_rejects_then_recovers() {
        let mut redis = RedisServer::start(&[]);
        let w = World::new();
        let rt = multi_thread_runtime();
        let store = rt
            .block_on(async {
                AsyncRedisReplayStore::with_timeout(&redis.url(), Duration::from_millis(300))
            })
            .unwrap();
        let opener = async_opener(&w, Arc::new(store));
        rt.block_on(async {
            assert!(opener.open(w.seal(b"before").as_bytes()).await.is_ok());
        });
        redis.stop();
        let during = w.seal(b"during");
        rt.block_on(async {
            for _ in 0..5 {
                let started = std::time::Instant::now();
                assert_eq!(
                    kind(opener.open(during.as_bytes()).await),
                    ErrorKind::StoreUnavailable
                );
                assert!(started.elapsed() < Duration::from_secs(2));
            }
        });
        redis.run();
        rt.block_on(async {
            // Reconnecting happens in the background: a claim or two may still fail.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            let opened = loop {
                match opener.open(during.as_bytes()).await {
                    Ok(o) => break o,
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
                        assert!(std::time::Instant::now() < deadline, "no recovery");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            };
            assert_eq!(opened.payload(), b"during");
            assert_eq!(
                kind(opener.open(during.as_bytes()).await),
                ErrorKind::Replayed
            );
        });
    }

    /// A server that closes idle connections: the shared connection is found closed and the
    /// claim resends on a new one, so no good envelope is rejected after an idle period.
    #[test]
    fn idle_connection_closed_by_the_server() {
        let redis = RedisServer::start(&["--timeout", "1"]);
        let w = World::new();
        let rt = multi_thread_runtime();
        let store = rt
            .block_on(async { AsyncRedisReplayStore::new(&redis.url()) })
            .unwrap();
        let opener = async_opener(&w, Arc::new(store));
        let first = w.seal(b"first");
        rt.block_on(async {
            assert!(opener.open(first.as_bytes()).await.is_ok());
        });
        for round in 0..2 {
            super::wait_until_idle_clients_closed(&redis);
            // One claim alone, then sixteen at once, on a connection the server has closed.
            rt.block_on(async {
                let env = w.seal(format!("alone {round}").as_bytes());
                assert!(opener.open(env.as_bytes()).await.is_ok());
            });
            super::wait_until_idle_clients_closed(&redis);
            let env = Arc::new(w.seal(format!("race {round}").as_bytes()));
            assert_exactly_one_opened(&rt.block_on(race_async_open(opener.clone(), env)));
        }
        rt.block_on(async {
            assert_eq!(
                kind(opener.open(first.as_bytes()).await),
                ErrorKind::Replayed
            );
        });
    }

    /// Through the async store: TLS with the test CA; a password (never shown by Debug); and
    /// outside a runtime the store cannot be made (a typed error, not a panic).
    #[test]
    fn tls_password_and_no_runtime() {
        let redis = RedisServer::start_tls();
        let w = World::new();
        let rt = multi_thread_runtime();
        let store = rt
            .block_on(async {
                AsyncRedisReplayStore::with_root_certificates(
                    &redis.tls_url(),
                    &redis.ca_pem(),
                    Duration::from_secs(2),
                )
            })
            .unwrap();
        let opener = async_opener(&w, Arc::new(store));
        let env = w.seal(b"tls");
        rt.block_on(async {
            assert_eq!(opener.open(env.as_bytes()).await.unwrap().payload(), b"tls");
            assert_eq!(kind(opener.open(env.as_bytes()).await), ErrorKind::Replayed);
        });
        let untrusted = rt
            .block_on(async { AsyncRedisReplayStore::new(&redis.tls_url()) })
            .unwrap();
        assert_eq!(
            kind(rt.block_on(untrusted.ping())),
            ErrorKind::StoreUnavailable
        );

        let locked = RedisServer::start(&["--requirepass", "s3cret-pass"]);
        let with = format!("redis://:s3cret-pass@127.0.0.1:{}", locked.port);
        let wrong = format!("redis://:wrong@127.0.0.1:{}", locked.port);
        rt.block_on(async {
            let store = AsyncRedisReplayStore::new(&with).unwrap();
            assert!(!format!("{store:?}").contains("s3cret"));
            store.ping().await.unwrap();
            let bad = AsyncRedisReplayStore::new(&wrong).unwrap();
            assert_eq!(kind(bad.ping().await), ErrorKind::StoreUnavailable);
        });

        assert_eq!(
            kind(AsyncRedisReplayStore::new(&redis.url())),
            ErrorKind::InvalidInput
        );
    }

    /// A store made on one runtime can be awaited from any executor (its claims run as tasks
    /// on that runtime); on a runtime without timers, a claim is a typed error, not a panic.
    #[test]
    fn other_executors_and_runtimes_without_timers() {
        let redis = RedisServer::start(&[]);
        let rt = multi_thread_runtime();
        let store = rt
            .block_on(async { AsyncRedisReplayStore::new(&redis.url()) })
            .unwrap();
        let key = ReplayKey::envelope("billing", "orders", "0190a4c2-0000-7000-8000-00000000000e");
        // Polled by a bare executor on this thread, outside any Tokio context.
        assert_eq!(
            block_on(store.claim_async(key, T0 + 60, T0)).unwrap(),
            Claim::Claimed
        );
        assert_eq!(
            block_on(store.claim_async(key, T0 + 60, T0)).unwrap(),
            Claim::AlreadyClaimed
        );
        // A runtime built without `enable_all()`: no timer, no I/O driver.
        let bare = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let store = bare
            .block_on(async { AsyncRedisReplayStore::new(&redis.url()) })
            .unwrap();
        let claim = bare.block_on(store.claim_async(key, T0 + 60, T0));
        assert_eq!(kind(claim), ErrorKind::StoreUnavailable);
    }

    /// Failures the connection itself cannot recover from: a password the server does not
    /// (yet) accept, and a server that stops answering on an open connection. Claims are
    /// rejected within the timeout meanwhile, and succeed once the server is right again.
    #[test]
    fn recovers_from_auth_errors_and_a_frozen_server() {
        let redis = RedisServer::start(&["--requirepass", "old-pass"]);
        let w = World::new();
        let rt = multi_thread_runtime();
        let url = format!("redis://:new-pass@127.0.0.1:{}", redis.port);
        let store = rt
            .block_on(async {
                AsyncRedisReplayStore::with_timeout(&url, Duration::from_millis(300))
            })
            .unwrap();
        let opener = async_opener(&w, Arc::new(store));
        let sync = redis_opener(
            &w,
            Arc::new(
                RedisReplayStore::new(&url)
                    .unwrap()
                    .with_timeout(Duration::from_millis(300)),
            ),
        );
        // The password is rotated on the server after the consumers were configured.
        let (first, second) = (w.seal(b"first"), w.seal(b"second"));
        rt.block_on(async {
            assert_eq!(
                kind(opener.open(first.as_bytes()).await),
                ErrorKind::StoreUnavailable
            );
        });
        assert_eq!(
            kind(sync.open(second.as_bytes())),
            ErrorKind::StoreUnavailable
        );
        redis.command(
            Some("old-pass"),
            &["CONFIG", "SET", "requirepass", "new-pass"],
        );
        rt.block_on(async {
            assert_eq!(
                opener.open(first.as_bytes()).await.unwrap().payload(),
                b"first"
            );
        });
        assert_eq!(sync.open(second.as_bytes()).unwrap().payload(), b"second");

        // Frozen: the open connections get no answer; each claim fails within its timeout.
        let frozen = w.seal(b"frozen");
        redis.pause();
        rt.block_on(async {
            for _ in 0..3 {
                let started = std::time::Instant::now();
                assert_eq!(
                    kind(opener.open(frozen.as_bytes()).await),
                    ErrorKind::StoreUnavailable
                );
                assert!(started.elapsed() < Duration::from_secs(2));
            }
        });
        assert_eq!(
            kind(sync.open(frozen.as_bytes())),
            ErrorKind::StoreUnavailable
        );
        redis.resume();
        // A SET sent before the freeze timed out may have been applied when the server woke:
        // the envelope is then a replay (fail closed). Either way it never opens twice.
        rt.block_on(async {
            let outcomes = [
                opener
                    .open(frozen.as_bytes())
                    .await
                    .map(|_| ())
                    .map_err(|e| e.kind()),
                opener
                    .open(frozen.as_bytes())
                    .await
                    .map(|_| ())
                    .map_err(|e| e.kind()),
            ];
            assert!(
                matches!(outcomes[0], Ok(()) | Err(ErrorKind::Replayed)),
                "{outcomes:?}"
            );
            assert_eq!(outcomes[1], Err(ErrorKind::Replayed), "{outcomes:?}");
            // And fresh envelopes open again.
            assert!(opener.open(w.seal(b"after").as_bytes()).await.is_ok());
        });
        assert!(sync.open(w.seal(b"after sync").as_bytes()).is_ok());
    }

    /// The async store as the per-consumer ACL user (`acl_server`).
    #[test]
    fn least_privilege_acl_user() {
        let redis = super::acl_server();
        let w = World::new();
        let rt = multi_thread_runtime();
        let url = format!("redis://billing:claim-pass@127.0.0.1:{}", redis.port);
        let store = rt
            .block_on(async { AsyncRedisReplayStore::new(&url) })
            .unwrap();
        rt.block_on(store.ping()).unwrap();
        let opener = async_opener(&w, Arc::new(store));
        let env = w.seal(b"acl");
        rt.block_on(async {
            assert_eq!(opener.open(env.as_bytes()).await.unwrap().payload(), b"acl");
            assert_eq!(kind(opener.open(env.as_bytes()).await), ErrorKind::Replayed);
        });
    }

    /// The async store's leases: a failed async handler releases, the retry processes, the
    /// third delivery is `replayed`; a delivery while the handler runs is `in-progress`.
    #[test]
    fn async_leases_complete_and_release() {
        let redis = RedisServer::start(&[]);
        let w = World::new();
        let rt = multi_thread_runtime();
        let store = rt
            .block_on(async { AsyncRedisReplayStore::new(&redis.url()) })
            .unwrap();
        let opener = async_opener(&w, Arc::new(store));
        let env = Arc::new(w.seal(b"async pay"));
        rt.block_on(async {
            let r = opener
                .process(env.as_bytes(), |_| async { Err::<(), _>("down") })
                .await;
            assert!(matches!(r, Err(ProcessError::Handler { release: None, .. })), "{r:?}");
            let opener2 = opener.clone();
            let env2 = env.clone();
            let r = opener
                .process(env.as_bytes(), |o| async move {
                    let during = opener2.process(env2.as_bytes(), |_| async { Ok::<_, ()>(()) }).await;
                    assert!(
                        matches!(&during, Err(ProcessError::Rejected(e)) if e.kind() == ErrorKind::InProgress),
                        "{during:?}"
                    );
                    Ok::<_, ()>(o.into_payload())
                })
                .await;
            assert_eq!(r.unwrap(), b"async pay");
            let third = opener.process(env.as_bytes(), |_| async { Ok::<_, ()>(()) }).await;
            assert!(matches!(&third, Err(ProcessError::Rejected(e)) if e.kind() == ErrorKind::Replayed));
        });
    }

    /// A certificate from the trusted CA but for another host name is refused.
    #[test]
    fn tls_checks_the_host_name() {
        let redis = RedisServer::start_tls_for(&["redis.example"]);
        let rt = multi_thread_runtime();
        let ca = redis.ca_pem();
        let store = rt
            .block_on(async {
                AsyncRedisReplayStore::with_root_certificates(
                    &redis.tls_url(),
                    &ca,
                    Duration::from_secs(2),
                )
            })
            .unwrap();
        assert_eq!(kind(rt.block_on(store.ping())), ErrorKind::StoreUnavailable);
        let sync = RedisReplayStore::with_root_certificates(&redis.tls_url(), &ca).unwrap();
        assert_eq!(kind(sync.ping()), ErrorKind::StoreUnavailable);
    }
}

//! `cargo bench -p eventseal-bench --features redis --bench redis`: the Redis replay store against a local
//! redis-server that this benchmark starts on a free loopback port (and stops): claims per
//! second from one thread and from 16 threads sharing one store, and the latency of a whole
//! open with the claim in Redis against the same open with a memory store. With feature
//! `tokio` as well (`cargo bench -p eventseal-bench --features redis,tokio --bench redis`), the same for the
//! async store: claims from one task and from 16 concurrent tasks sharing its one
//! multiplexed connection, and an async open's latency.

#[path = "../tests/common/redis_server.rs"]
mod redis_server;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use eventseal::{
    Begun, Claim, Completion, FixedClock, LeaseRequest, LeaseToken, MemoryReplayStore, Opener,
    RecipientSecretKey, RedisReplayStore, ReplayKey, ReplayStore, Sealer, SigningKey, TrustStore,
};

const NOW: i64 = 1_700_000_000;

fn claims_per_sec(store: &RedisReplayStore, threads: usize, per_thread: usize, tag: &str) -> f64 {
    let t = Instant::now();
    std::thread::scope(|s| {
        for th in 0..threads {
            s.spawn(move || {
                for i in 0..per_thread {
                    let id = format!("{tag}-{th}-{i}");
                    let key = ReplayKey::envelope("billing", "orders", &id);
                    assert_eq!(store.claim(&key, NOW + 300, NOW).unwrap(), Claim::Claimed);
                }
            });
        }
    });
    (threads * per_thread) as f64 / t.elapsed().as_secs_f64()
}

/// Effectively-once processing: begin (one EVAL) then complete (one EVAL) per envelope: two
/// round trips.
fn begin_complete_per_sec(
    store: &RedisReplayStore,
    threads: usize,
    per_thread: usize,
    tag: &str,
) -> f64 {
    let t = Instant::now();
    std::thread::scope(|s| {
        for th in 0..threads {
            s.spawn(move || {
                for i in 0..per_thread {
                    let id = format!("{tag}-{th}-{i}");
                    let key = ReplayKey::envelope("billing", "orders", &id);
                    let token = LeaseToken::random().unwrap();
                    let request = LeaseRequest::new(token, NOW, 300, NOW + 300);
                    assert_eq!(store.begin(&key, &request).unwrap(), Begun::Started);
                    assert_eq!(
                        store.complete(&key, &token, NOW + 300, NOW).unwrap(),
                        Completion::Completed
                    );
                }
            });
        }
    });
    (threads * per_thread) as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let server = redis_server::RedisServer::start(&[]);
    let url = server.url();
    let store = Arc::new(RedisReplayStore::new(&url).unwrap());
    store.ping().unwrap();
    claims_per_sec(&store, 1, 1000, "warm");
    let one = claims_per_sec(&store, 1, 20_000, "seq");
    let sixteen = claims_per_sec(&store, 16, 2_500, "par");
    println!("{:<52} {one:>10.0} /s", "Redis claims, 1 thread");
    println!(
        "{:<52} {sixteen:>10.0} /s",
        "Redis claims, 16 threads sharing one store"
    );
    let pairs_one = begin_complete_per_sec(&store, 1, 10_000, "lease-seq");
    let pairs_sixteen = begin_complete_per_sec(&store, 16, 1_250, "lease-par");
    println!(
        "{:<52} {pairs_one:>10.0} /s  ({:.2} x a claim's time)",
        "Redis begin+complete pairs, 1 thread",
        one / pairs_one
    );
    println!(
        "{:<52} {pairs_sixteen:>10.0} /s  ({:.2} x a claim's time)",
        "Redis begin+complete pairs, 16 threads",
        sixteen / pairs_sixteen
    );

    // A whole 1 KiB open, claim included: Redis against memory, fresh envelopes each time.
    let clock = Arc::new(FixedClock::new(NOW));
    let sealer = Sealer::new(SigningKey::generate("orders").unwrap()).with_clock(clock.clone());
    let consumer = RecipientSecretKey::generate("billing").unwrap();
    let trust = TrustStore::new().with(sealer.key().verifying_key().clone());
    let n = 3000;
    let envelopes: Vec<Vec<u8>> = (0..2 * n)
        .map(|_| {
            sealer
                .seal("order.created", &[0x5a; 1024], &[consumer.public_key()])
                .unwrap()
                .as_bytes()
                .to_vec()
        })
        .collect();
    let opener = |store: Arc<dyn ReplayStore>| {
        Opener::new(
            vec![RecipientSecretKey::from_jwk(&consumer.to_secret_jwk()).unwrap()],
            trust.clone(),
            store,
        )
        .with_clock(clock.clone())
    };
    let median_open = |o: &Opener, envs: &[Vec<u8>]| {
        let mut times: Vec<f64> = envs
            .iter()
            .map(|e| {
                let t = Instant::now();
                black_box(o.open(e).unwrap());
                t.elapsed().as_nanos() as f64
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[times.len() / 2]
    };
    let (a, b) = envelopes.split_at(n);
    let with_memory = median_open(&opener(Arc::new(MemoryReplayStore::default())), a);
    let with_redis = median_open(&opener(store.clone()), b);
    println!(
        "{:<52} {:>10.1} µs",
        "open 1 KiB with a memory store (median)",
        with_memory / 1e3
    );
    println!(
        "{:<52} {:>10.1} µs",
        "open 1 KiB with the Redis store (median)",
        with_redis / 1e3
    );
    println!(
        "{:<52} {:>10.1} µs",
        "the claim's round trip to Redis",
        (with_redis - with_memory) / 1e3
    );

    #[cfg(feature = "tokio")]
    asynchronous::run(&url, a, &consumer.to_secret_jwk(), trust.clone());
    #[cfg(not(feature = "tokio"))]
    println!("(the async store's figures: cargo bench -p eventseal-bench --features redis,tokio --bench redis)");
}

#[cfg(feature = "tokio")]
mod asynchronous {
    use super::*;
    use eventseal::{AsyncOpener, AsyncRedisReplayStore, AsyncReplayStore};

    async fn claims_per_sec(
        store: &Arc<AsyncRedisReplayStore>,
        tasks: usize,
        per_task: usize,
        tag: &str,
    ) -> f64 {
        let t = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|task| {
                let store = store.clone();
                let tag = tag.to_string();
                tokio::spawn(async move {
                    for i in 0..per_task {
                        let id = format!("{tag}-{task}-{i}");
                        let key = ReplayKey::envelope("billing", "orders", &id);
                        let claim = store.claim_async(key, NOW + 300, NOW).await.unwrap();
                        assert_eq!(claim, Claim::Claimed);
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        (tasks * per_task) as f64 / t.elapsed().as_secs_f64()
    }

    /// `envelopes` were opened by the sync run with a memory store, never claimed in Redis.
    pub fn run(url: &str, envelopes: &[Vec<u8>], consumer_jwk: &str, trust: TrustStore) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let store = Arc::new(AsyncRedisReplayStore::new(url).unwrap());
            store.ping().await.unwrap();
            claims_per_sec(&store, 1, 1000, "async-warm").await;
            let one = claims_per_sec(&store, 1, 20_000, "async-seq").await;
            let sixteen = claims_per_sec(&store, 16, 2_500, "async-par").await;
            println!("{:<52} {one:>10.0} /s", "async Redis claims, 1 task");
            println!(
                "{:<52} {sixteen:>10.0} /s",
                "async Redis claims, 16 tasks, one connection"
            );

            let opener = AsyncOpener::new(
                vec![RecipientSecretKey::from_jwk(consumer_jwk).unwrap()],
                trust,
                store.clone(),
            )
            .with_clock(Arc::new(FixedClock::new(NOW)));
            let mut times = Vec::with_capacity(envelopes.len());
            for e in envelopes {
                let t = Instant::now();
                black_box(opener.open(e).await.unwrap());
                times.push(t.elapsed().as_nanos() as f64);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "{:<52} {:>10.1} µs",
                "async open 1 KiB with the async Redis store (median)",
                times[times.len() / 2] / 1e3
            );
        });
    }
}

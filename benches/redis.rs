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

/// redis-benchmark's own `SET` rate against the same server, with `clients` connections:
/// the speed of one round trip to this Redis on this machine, which a claim (one `EVALSHA`)
/// can approach but not pass.
fn redis_benchmark_set_per_sec(port: u16, clients: usize, requests: usize) -> f64 {
    let out = std::process::Command::new("redis-benchmark")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            "set",
            "--csv",
        ])
        .args(["-c", &clients.to_string(), "-n", &requests.to_string()])
        .output()
        .expect("redis-benchmark (package redis-tools, installed with redis-server)");
    let text = String::from_utf8_lossy(&out.stdout);
    // "test","rps",… then "SET","15151.52",…
    text.lines()
        .find(|l| l.starts_with("\"SET\""))
        .and_then(|l| l.split(',').nth(1))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("redis-benchmark printed: {text}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let server = redis_server::RedisServer::start(&[]);
    let url = server.url();
    let store = Arc::new(RedisReplayStore::new(&url).unwrap());
    store.ping().unwrap();
    claims_per_sec(&store, 1, 1000, "warm");
    // Claims against redis-benchmark's SET on the same server, interleaved in rounds so that a
    // noisy neighbour weighs on both sides alike; the median of the per-round ratios.
    const ROUNDS: usize = 5;
    let (mut one, mut sixteen, mut set_one, mut set_sixteen) = (vec![], vec![], vec![], vec![]);
    for round in 0..ROUNDS {
        set_one.push(redis_benchmark_set_per_sec(server.port, 1, 10_000));
        one.push(claims_per_sec(&store, 1, 10_000, &format!("seq{round}")));
        set_sixteen.push(redis_benchmark_set_per_sec(server.port, 16, 40_000));
        sixteen.push(claims_per_sec(&store, 16, 2_500, &format!("par{round}")));
    }
    // Per-round ratios: their median, and their range (the noise beside it).
    let ratios = |a: &[f64], b: &[f64]| -> (f64, f64, f64) {
        let r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
        let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = r.iter().copied().fold(0.0, f64::max);
        (median(r), lo, hi)
    };
    let vs_set = [
        ("1 client", ratios(&one, &set_one)),
        ("16 clients", ratios(&sixteen, &set_sixteen)),
    ];
    let (one, sixteen) = (median(one), median(sixteen));
    println!("{:<52} {one:>10.0} /s", "Redis claims, 1 thread");
    println!(
        "{:<52} {sixteen:>10.0} /s",
        "Redis claims, 16 threads sharing one store"
    );
    for (what, rates) in [("1 client", set_one), ("16 clients", set_sixteen)] {
        println!(
            "{:<52} {:>10.0} /s",
            format!("redis-benchmark SET, {what}"),
            median(rates)
        );
    }
    for (what, (r, lo, hi)) in vs_set {
        println!(
            "{:<52} {r:>10.2} ×  (rounds {lo:.2}–{hi:.2}; target ≥ 0.80: {})",
            format!("claims / redis-benchmark SET, {what}"),
            if r >= 0.8 { "met" } else { "MISSED" }
        );
    }
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

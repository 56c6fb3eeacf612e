//! Batch opening against single opens, in one process (`cargo bench -p eventseal-bench -p
//! eventseal-aws --bench compare` runs the core library's bench of that name too). Writes its ratios into
//! `target/eventseal-compare.json` next to the core's:
//!
//! - `batch10_open_over_single_open`: CPU per envelope of an SQS batch of 10 processed on one
//!   worker (one thread), over one `Opener::process_eventbridge` at a time;
//! - `batch10_wall_2_workers_over_sequential`: wall time of a batch of 10 on 2 workers (a
//!   2-thread runtime, as on a 2-vCPU Lambda) over the same batch on 1 worker, with a handler
//!   that does no work (the CPU-bound worst case) and with one that waits 1 ms (a database
//!   write);
//! - `batch_verify10_per_sig_over_single_verify` and
//!   `consistent_batch_verify10_per_sig_over_single_verify`: ed25519-dalek's batch verifier
//!   per signature at 10, alone and with the per-signature check that would make it accept
//!   exactly what single verification accepts (R torsion-free), over one aws-lc-rs Ed25519
//!   verification. README "Batch opening" says why batch verification is not used.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use common::median;
use eventseal::{
    AsyncOpener, MemoryReplayStore, Opened, Opener, PutEventsEntry, RecipientSecretKey, Sealer,
    SigningKey, TrustStore, TrustedKey, TrustedSource,
};
use eventseal_aws::{BatchProcessor, RecordContext};

const ACCOUNT: &str = "123456789012";
const EB_SOURCE: &str = "com.example.orders";
const BATCHES: usize = 20;
const ROUNDS: usize = 15;

struct World {
    orders: SigningKey,
    billing_jwk: zeroize::Zeroizing<String>,
    trust: TrustStore,
    events: Vec<String>,
}

fn world() -> World {
    let orders = SigningKey::generate("orders").unwrap();
    let billing = RecipientSecretKey::generate("billing").unwrap();
    let mut s = TrustedSource::new("orders").unwrap();
    s.add_key(TrustedKey::new(orders.verifying_key().clone()))
        .unwrap();
    s.allow("order.*").unwrap();
    s.add_account(ACCOUNT).unwrap();
    s.set_eventbridge_source(EB_SOURCE).unwrap();
    let mut trust = TrustStore::new();
    trust.add_source(s);
    let sealer = Sealer::new(SigningKey::from_jwk(&orders.to_secret_jwk()).unwrap())
        .with_eventbridge_defaults();
    let payload = vec![b'x'; 1024];
    let events = (0..BATCHES * 10)
        .map(|_| {
            let env = sealer
                .seal("order.created", &payload, &[billing.public_key()])
                .unwrap();
            let entry = PutEventsEntry::new(&env, EB_SOURCE, "bus").unwrap();
            let detail: serde_json::Value = serde_json::from_str(&entry.detail).unwrap();
            serde_json::json!({
                "version": "0", "id": "x", "detail-type": entry.detail_type,
                "source": entry.source, "account": ACCOUNT, "time": "2026-12-07T10:00:00Z",
                "region": "us-east-1", "resources": [], "detail": detail
            })
            .to_string()
        })
        .collect();
    World {
        orders,
        billing_jwk: billing.to_secret_jwk(),
        trust,
        events,
    }
}

impl World {
    fn key(&self) -> RecipientSecretKey {
        RecipientSecretKey::from_jwk(&self.billing_jwk).unwrap()
    }
    fn batches(&self) -> Vec<SqsEvent> {
        self.events
            .chunks(10)
            .map(|chunk| {
                let records: Vec<_> = chunk
                    .iter()
                    .enumerate()
                    .map(
                        |(i, body)| serde_json::json!({"messageId": format!("m{i}"), "body": body}),
                    )
                    .collect();
                serde_json::from_value(serde_json::json!({ "Records": records })).unwrap()
            })
            .collect()
    }
    fn processor(&self, workers: usize, wait: Option<Duration>) -> BatchProcessor<Handler> {
        let opener = Arc::new(AsyncOpener::new(
            [self.key()],
            self.trust.clone(),
            Arc::new(MemoryReplayStore::new(100_000)),
        ));
        let handler: Handler = if wait.is_some() {
            handle_waiting
        } else {
            handle
        };
        BatchProcessor::new(opener, handler).with_workers(workers)
    }
}

type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type Handler = fn(Opened, RecordContext) -> HandlerFuture;

/// A handler that does no work (the CPU-bound worst case for parallel records).
fn handle(opened: Opened, _: RecordContext) -> HandlerFuture {
    black_box(opened.payload());
    Box::pin(std::future::ready(Ok(())))
}

/// A handler that waits 1 ms, as for a database write.
fn handle_waiting(opened: Opened, _: RecordContext) -> HandlerFuture {
    black_box(opened.payload());
    Box::pin(async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(())
    })
}

/// Nanoseconds per envelope: each envelope processed once, one at a time, by the sync opener.
fn single(w: &World) -> f64 {
    let opener = Opener::new(
        [w.key()],
        w.trust.clone(),
        Arc::new(MemoryReplayStore::new(100_000)),
    );
    let t = Instant::now();
    for e in &w.events {
        opener
            .process_eventbridge(e.as_bytes(), |o| {
                black_box(o.payload());
                Ok::<(), ()>(())
            })
            .unwrap();
    }
    t.elapsed().as_nanos() as f64 / w.events.len() as f64
}

/// Nanoseconds per batch of 10 on `rt` with `workers`.
fn batched(w: &World, rt: &tokio::runtime::Runtime, workers: usize, wait: Option<Duration>) -> f64 {
    let p = w.processor(workers, wait);
    let batches = w.batches();
    rt.block_on(async {
        let t = Instant::now();
        for b in batches {
            let r = p.process_sqs(b).await;
            assert!(r.batch_item_failures.is_empty());
        }
        t.elapsed().as_nanos() as f64 / BATCHES as f64
    })
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` / `cargo test --benches`
    }
    let w = world();
    let one_thread = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let two_threads = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut json = BTreeMap::new();

    // Warm-up.
    single(&w);
    batched(&w, &one_thread, 1, None);

    let mut cpu = Vec::new();
    let mut wall = Vec::new();
    let mut wall_io = Vec::new();
    let mut single_us = Vec::new();
    for _ in 0..ROUNDS {
        let s = single(&w);
        let b = batched(&w, &one_thread, 1, None) / 10.0;
        cpu.push(b / s);
        single_us.push(s / 1000.0);
        let seq = batched(&w, &two_threads, 1, None);
        let par = batched(&w, &two_threads, 2, None);
        wall.push(par / seq);
        let seq = batched(&w, &two_threads, 1, Some(Duration::from_millis(1)));
        let par = batched(&w, &two_threads, 2, Some(Duration::from_millis(1)));
        wall_io.push(par / seq);
    }
    let rows = [
        ("single_open_process_eventbridge_us", median(single_us)),
        ("batch10_open_over_single_open", median(cpu)),
        ("batch10_wall_2_workers_over_sequential", median(wall)),
        (
            "batch10_wall_2_workers_over_sequential_1ms_handler",
            median(wall_io),
        ),
    ];
    for (k, v) in rows {
        json.insert(k.to_owned(), v);
    }

    // Batch signature verification, measured (not used: README "Batch opening").
    let (single_verify, batch, consistent) = batch_verification();
    json.insert(
        "ed25519_single_verify_aws_lc_us".into(),
        single_verify / 1000.0,
    );
    json.insert(
        "batch_verify10_per_sig_over_single_verify".into(),
        batch / single_verify,
    );
    json.insert(
        "consistent_batch_verify10_per_sig_over_single_verify".into(),
        consistent / single_verify,
    );

    common::merge_ratios(json);
    let _ = &w.orders;
}

/// (ns per aws-lc-rs verification, ns per signature of dalek's batch of 10, ns per
/// signature of that batch plus the torsion check of each R that consistency needs).
fn batch_verification() -> (f64, f64, f64) {
    use ed25519_dalek::{Signer, SigningKey as DalekKey, Verifier};
    let keys: Vec<DalekKey> = (0..10u8)
        .map(|i| DalekKey::from_bytes(&[i + 1; 32]))
        .collect();
    let msgs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 1100]).collect();
    let sigs: Vec<ed25519_dalek::Signature> =
        keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
    let vks: Vec<_> = keys.iter().map(DalekKey::verifying_key).collect();
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    let aws: Vec<_> = vks
        .iter()
        .map(|vk| {
            aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::ED25519,
                vk.to_bytes(),
            )
        })
        .collect();
    let time = |f: &mut dyn FnMut()| {
        let mut v = Vec::new();
        for _ in 0..11 {
            let t = Instant::now();
            for _ in 0..100 {
                f();
            }
            v.push(t.elapsed().as_nanos() as f64 / 100.0);
        }
        median(v)
    };
    let single = time(&mut || {
        for i in 0..10 {
            aws[i].verify(&msgs[i], &sigs[i].to_bytes()).unwrap();
        }
    }) / 10.0;
    let batch = time(&mut || {
        ed25519_dalek::verify_batch(&refs, &sigs, &vks).unwrap();
    }) / 10.0;
    let torsion = time(&mut || {
        for s in &sigs {
            let r = curve25519_dalek::edwards::CompressedEdwardsY(s.r_bytes().to_owned())
                .decompress()
                .unwrap();
            assert!(black_box(r).is_torsion_free());
        }
    }) / 10.0;
    // Sanity: the same signatures verify singly with dalek too.
    assert!(vks[0].verify(&msgs[0], &sigs[0]).is_ok());
    (single, batch, batch + torsion)
}

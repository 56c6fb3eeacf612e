//! Shared fixtures for the integration tests: keys, a fixed clock, and an independent
//! re-implementation of the wire format's encodings (from docs/FORMAT.md) for building
//! tampered or re-signed envelopes.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use eventseal::{
    ErrorKind, FixedClock, MemoryReplayStore, Opener, RecipientPublicKey, RecipientSecretKey,
    Result, SealedEnvelope, Sealer, SigningKey, TrustStore,
};

/// 2023-11-14T22:13:20Z: every test runs at a fixed instant.
pub const T0: i64 = 1_700_000_000;

pub struct World {
    pub clock: Arc<FixedClock>,
    pub orders: Sealer,
    pub billing: Vec<RecipientSecretKey>,
    pub audit: Vec<RecipientSecretKey>,
}

impl World {
    pub fn new() -> Self {
        let clock = Arc::new(FixedClock::new(T0));
        let orders = Sealer::new(SigningKey::generate("orders").unwrap())
            .with_clock(clock.clone())
            .with_content_type("application/json")
            .with_ttl(Duration::from_secs(300));
        Self {
            clock,
            orders,
            billing: vec![RecipientSecretKey::generate("billing").unwrap()],
            audit: vec![RecipientSecretKey::generate("audit").unwrap()],
        }
    }

    pub fn trust(&self) -> TrustStore {
        TrustStore::new().with(self.orders.key().verifying_key().clone())
    }

    pub fn billing_pub(&self) -> &RecipientPublicKey {
        self.billing[0].public_key()
    }

    pub fn audit_pub(&self) -> &RecipientPublicKey {
        self.audit[0].public_key()
    }

    /// Seals `payload` from "orders" to billing and audit.
    pub fn seal(&self, payload: &[u8]) -> SealedEnvelope {
        self.orders
            .seal(
                "order.created",
                payload,
                &[self.billing_pub(), self.audit_pub()],
            )
            .unwrap()
    }

    /// An opener for billing with a fresh memory replay store at the world's clock.
    pub fn billing_opener(&self) -> Opener {
        opener_for(&self.billing, self.trust(), &self.clock)
    }
}

/// Re-imports a list of secret keys (keys are deliberately not Clone).
pub fn copy_keys(keys: &[RecipientSecretKey]) -> Vec<RecipientSecretKey> {
    keys.iter()
        .map(|k| RecipientSecretKey::from_jwk(&k.to_secret_jwk()).unwrap())
        .collect()
}

pub fn opener_for(
    keys: &[RecipientSecretKey],
    trust: TrustStore,
    clock: &Arc<FixedClock>,
) -> Opener {
    Opener::new(
        copy_keys(keys),
        trust,
        Arc::new(MemoryReplayStore::new(1000)),
    )
    .with_clock(clock.clone())
}

pub fn kind<T: std::fmt::Debug>(r: Result<T>) -> ErrorKind {
    match r {
        Ok(v) => panic!("accepted, expected a rejection: {v:?}"),
        Err(e) => e.kind(),
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// The three decoded parts of an envelope.
#[derive(Clone, Debug)]
pub struct Parts {
    pub header: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub signature: Vec<u8>,
}

impl Parts {
    pub fn of(envelope: &[u8]) -> Self {
        let v: serde_json::Value = serde_json::from_slice(envelope).unwrap();
        Self {
            header: unb64(v["header"].as_str().unwrap()),
            ciphertext: unb64(v["ciphertext"].as_str().unwrap()),
            signature: unb64(v["signature"].as_str().unwrap()),
        }
    }

    pub fn to_envelope(&self) -> Vec<u8> {
        format!(
            r#"{{"header":"{}","ciphertext":"{}","signature":"{}"}}"#,
            b64(&self.header),
            b64(&self.ciphertext),
            b64(&self.signature)
        )
        .into_bytes()
    }

    pub fn header_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.header).unwrap()
    }

    pub fn set_header_json(&mut self, v: &serde_json::Value) {
        self.header = serde_json::to_vec(v).unwrap();
    }

    /// Signs header and ciphertext with `key` as docs/FORMAT.md specifies, independently of
    /// the library: Ed25519 over PAE(["eventseal/v1/signature", header, ciphertext]).
    pub fn resign(&mut self, key: &SigningKey) {
        let jwk: serde_json::Value = serde_json::from_str(&key.to_secret_jwk()).unwrap();
        let seed = unb64(jwk["d"].as_str().unwrap());
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        let msg = pae(&[b"eventseal/v1/signature", &self.header, &self.ciphertext]);
        self.signature = pair.sign(&msg).as_ref().to_vec();
    }
}

/// PAE as docs/FORMAT.md specifies: LE64(count) || for each part LE64(len) || part.
pub fn pae(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = (parts.len() as u64).to_le_bytes().to_vec();
    for p in parts {
        out.extend_from_slice(&(p.len() as u64).to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// An edit of a header's JSON, for tables of tampering cases.
pub type Edit = Box<dyn Fn(&mut serde_json::Value)>;

/// A multi-threaded Tokio runtime with 4 workers, for races between tasks.
#[cfg(feature = "async")]
pub fn multi_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// Spawns 16 tasks that wait on one barrier, then open `env` with `opener`; returns their
/// outcomes (the payload, or the rejection kind).
#[cfg(feature = "async")]
pub async fn race_async_open(
    opener: Arc<eventseal::AsyncOpener>,
    env: Arc<SealedEnvelope>,
) -> Vec<std::result::Result<Vec<u8>, ErrorKind>> {
    let barrier = Arc::new(tokio::sync::Barrier::new(16));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (opener, env, barrier) = (opener.clone(), env.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                opener
                    .open(env.as_bytes())
                    .await
                    .map(|o| o.into_payload())
                    .map_err(|e| e.kind())
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    outcomes
}

/// Of 16 opens, exactly one accepted and every other one rejected as `replayed`.
pub fn assert_exactly_one_opened(outcomes: &[std::result::Result<Vec<u8>, ErrorKind>]) {
    assert_eq!(outcomes.len(), 16);
    assert_eq!(
        outcomes.iter().filter(|o| o.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| o.is_ok() || *o == Err(ErrorKind::Replayed)),
        "{outcomes:?}"
    );
}

/// Polls a future to completion on this thread, outside any Tokio runtime (a bare executor).
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

//! # eventseal
//!
//! Signed, per-consumer encrypted event envelopes.
//!
//! A producer **seals** an event: the payload is encrypted under a fresh content key
//! (AES-256-GCM), the content key is wrapped to each named consumer (HPKE, RFC 9180:
//! X25519 / HKDF-SHA256 / AES-256-GCM; or a pre-shared 256-bit key), a key commitment is put
//! in the header, and the producer's long-term key (Ed25519, or ECDSA P-256) signs the header
//! and ciphertext.
//!
//! A consumer **opens** it, in this order: parse with limits → find the trusted key by
//! (source, key id) → verify the signature over the exact received bytes with that key's
//! algorithm → check the key's validity window → (for a delivered EventBridge event, bind its
//! account, source and detail-type) → policy: may this source send this event type, and am I a
//! recipient → check freshness → claim the envelope id in a replay store → unwrap its content
//! key → check the commitment → decrypt. Nothing is decrypted before the replay claim, and every
//! rejection emits one audit event ([`tracing`], target `eventseal::audit`).
//!
//! Trust files and key rotation: `docs/TRUST.md`. The producer's key need not be in the
//! process: a [`Sealer`] signs with any [`Signer`] (or, with `seal_async`, any
//! `AsyncSigner`: feature `async`), such as a key in AWS KMS (`eventseal-aws`) or on a PKCS#11 token
//! (`eventseal-pkcs11`); `docs/KEYS.md`.
//!
//! The wire format is specified in `docs/FORMAT.md`; the attacks it stops, and where, in
//! `docs/THREAT_MODEL.md`.
//!
//! ## One call each
//!
//! ```
//! use std::time::Duration;
//! use eventseal::{open, seal, MemoryReplayStore, RecipientSecretKey, SigningKey, SystemClock, TrustStore};
//!
//! # fn main() -> Result<(), eventseal::Error> {
//! // Producer "orders" and consumer "billing" each generate keys once and exchange public halves.
//! let orders = SigningKey::generate("orders")?;
//! let billing = RecipientSecretKey::generate("billing")?;
//!
//! // Producer: seal to billing, valid for five minutes.
//! let envelope = seal(&orders, "order.created", br#"{"order":42}"#,
//!                     &[billing.public_key()], Duration::from_secs(300))?;
//!
//! // Consumer: trusts the orders source's verifying key; remembers what it opened.
//! let trust = TrustStore::new().with(orders.verifying_key().clone());
//! let store = MemoryReplayStore::default();
//! let keys = [billing];
//! let opened = open(envelope.as_bytes(), &keys, &trust, &SystemClock, &store)?;
//! assert_eq!(opened.payload(), br#"{"order":42}"#);
//! assert_eq!(opened.header().source(), "orders");
//!
//! // The same envelope again is a replay.
//! let again = open(envelope.as_bytes(), &keys, &trust, &SystemClock, &store);
//! assert_eq!(again.unwrap_err().kind(), eventseal::ErrorKind::Replayed);
//! # Ok(()) }
//! ```
//!
//! ## The staged API
//!
//! Each stage is a type; only a claimed envelope can be decrypted.
//!
//! ```
//! use std::sync::Arc;
//! use eventseal::{Freshness, Limits, Sealer, MemoryReplayStore, FixedClock, Clock,
//!                 RecipientSecretKey, SigningKey, TrustStore, UntrustedEnvelope};
//!
//! # fn main() -> Result<(), eventseal::Error> {
//! let clock = Arc::new(FixedClock::new(1_700_000_000));
//! let sealer = Sealer::new(SigningKey::generate("orders")?)
//!     .with_clock(clock.clone())
//!     .with_content_type("application/json");
//! let audit = RecipientSecretKey::generate("audit")?;
//! let envelope = sealer.seal("order.created", b"{}", &[audit.public_key()])?;
//!
//! let trust = TrustStore::new().with(sealer.key().verifying_key().clone());
//! let store = MemoryReplayStore::default();         // or SqliteReplayStore, RedisReplayStore
//! let keys = [audit];
//!
//! let untrusted = UntrustedEnvelope::parse(envelope.as_bytes(), &Limits::default())?;
//! println!("claims to be from {}", untrusted.untrusted_header().source());
//! let verified = untrusted.verify(&trust)?;          // signature, by (source, key id)
//! let addressed = verified.address(&keys)?;          // am I a recipient?
//! let fresh = addressed.check_freshness(&Freshness::default(), clock.now())?;
//! let claimed = fresh.claim(&store)?;                // atomic insert-if-absent
//! let opened = claimed.decrypt()?;                   // unwrap, commitment, AES-GCM
//! assert_eq!(opened.header().event_type(), "order.created");
//! # Ok(()) }
//! ```
//!
//! ## Features
//!
//! | feature | adds |
//! |---|---|
//! | `aws-lc-rs` (default) / `ring` / `fips` | the cryptographic backend (`fips`: AWS-LC's FIPS 140-3 module) |
//! | `sqlite` | `SqliteReplayStore`: a replay store in an SQLite file (bundled SQLite), for one machine |
//! | `redis` | `RedisReplayStore`: one replay store for every instance of a consumer |
//! | `async` | `AsyncReplayStore`, `FreshEnvelope::claim_async`, `AsyncOpener`, `webhook::verify_and_claim_async`, `AsyncSigner` and `Sealer::seal_async` (no runtime needed) |
//! | `tokio` | `BlockingStore` (a blocking store on Tokio's blocking pool) and, with `redis`, `AsyncRedisReplayStore` |
//!
//! ## Errors
//!
//! Every failure is an [`Error`] with a stable [`ErrorKind`] (`malformed`, `too-large`,
//! `unknown-key`, `bad-signature`, `not-a-recipient`, `expired`, `replayed`,
//! `decrypt-failed`, `store-unavailable`, …). Cryptographic failures carry no detail.

#![forbid(unsafe_code)]
#![deny(missing_docs, unused_must_use)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod canonical;
mod content;
mod crypto;
#[cfg(feature = "ct-probe")]
#[doc(hidden)]
pub mod ct_probe;
pub mod directory;
mod encoding;
pub mod envelope;
pub mod error;
pub mod eventbridge;
mod hpke;
pub mod keys;
pub mod open;
pub mod process;
pub mod replay;
pub mod seal;
pub mod time;
pub mod trust;
pub mod webhook;
mod wrap;

pub use directory::RecipientDirectory;
pub use envelope::{Header, Limits, RecipientEntry, UntrustedEnvelope, FORMAT_VERSION};
pub use error::{Disposition, Error, ErrorKind, Result};
pub use eventbridge::{DeliveredEvent, PutEventsEntry};
#[cfg(feature = "async")]
pub use keys::{AsyncSigner, SignFuture, SignsInline};
pub use keys::{
    ConsumerKey, KeyId, RecipientKey, RecipientPublicKey, RecipientSecretKey, SealTo, Signature,
    SignatureAlgorithm, Signer, SignerIdentity, SigningKey, SymmetricKey, VerifyingKey,
};
#[cfg(feature = "async")]
pub use open::AsyncLeasedEnvelope;
#[cfg(feature = "async")]
pub use open::AsyncOpener;
pub use open::{
    open, AddressedEnvelope, ClaimedEnvelope, FreshEnvelope, LeasedEnvelope, Opened, Opener,
    VerifiedEnvelope,
};
#[cfg(feature = "async")]
pub use process::AsyncLease;
pub use process::{Lease, ProcessError, DEFAULT_LEASE};
#[cfg(all(feature = "redis", feature = "tokio"))]
pub use replay::AsyncRedisReplayStore;
#[cfg(feature = "tokio")]
pub use replay::BlockingStore;
#[cfg(feature = "sqlite")]
pub use replay::SqliteReplayStore;
pub use replay::DEFAULT_CLOCK_MARGIN;
#[cfg(feature = "async")]
pub use replay::{AsyncReplayStore, ClaimFuture, StoreFuture};
pub use replay::{
    Begun, Claim, Completion, LeaseRequest, LeaseToken, MemoryReplayStore, ReplayKey, ReplayKind,
    ReplayStore,
};
#[cfg(feature = "redis")]
pub use replay::{RedisReplayStore, DEFAULT_REDIS_TIMEOUT};
pub use seal::{seal, SealedEnvelope, Sealer, DEFAULT_CONTENT_TYPE, DEFAULT_TTL};
pub use time::{Clock, FixedClock, Freshness, SystemClock};
/// With the `fips` feature: `Ok` if the AWS-LC FIPS module is in FIPS mode (its self tests
/// passed). Call it at start-up when your deployment requires the validated module.
///
/// # Errors
/// [`Error::InvalidInput`] if the module is not in FIPS mode.
#[cfg(feature = "fips")]
pub fn fips_status() -> Result<()> {
    crypto::fips_status()
}

pub use trust::{TrustStore, TrustedKey, TrustedSource, TypePattern, MAX_TRUST_FILE_BYTES};

/// The README's Rust examples, compiled and run as doc tests so they stay true.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

// Shared across threads by design: one opener, sealer, trust store or replay store per service.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Opener>();
    send_sync::<Sealer>();
    send_sync::<TrustStore>();
    send_sync::<MemoryReplayStore>();
    #[cfg(feature = "sqlite")]
    send_sync::<SqliteReplayStore>();
    send_sync::<webhook::StandardWebhooks>();
    #[cfg(feature = "async")]
    send_sync::<AsyncOpener>();
    #[cfg(feature = "tokio")]
    send_sync::<BlockingStore<MemoryReplayStore>>();
    #[cfg(all(feature = "redis", feature = "tokio"))]
    send_sync::<AsyncRedisReplayStore>();
};

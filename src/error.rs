//! The one error type of eventseal, and its stable kinds.
//!
//! Every rejection is an [`Error`]; [`Error::kind`] gives an [`ErrorKind`] whose kebab-case
//! name ([`ErrorKind::as_str`]) is stable across releases and is what the command-line tool
//! prints (`eventseal: rejected: KIND`).
//!
//! Failures of cryptographic checks (signature, key commitment, unwrap, decryption) carry no
//! detail at all: a detailed reason would be an oracle for an attacker. Failures on public
//! facts (malformed input, an unknown key id, an expired envelope, a replay, a store outage)
//! say what failed, for operators' logs, and never include key material or plaintext.

use std::fmt;

/// A boxed error from a replay store's backing system (SQLite, Redis, …).
pub type StoreSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A boxed error from a signing key's backend (AWS KMS, a PKCS#11 token, …).
pub type SignerSource = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong when sealing, opening or loading keys.
///
/// The enum is `#[non_exhaustive]`: match on [`Error::kind`] for stable handling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a well-formed envelope (or key): bad JSON, a missing or unknown field,
    /// non-canonical base64, a field of the wrong length. The text names what was wrong.
    #[error("malformed: {0}")]
    Malformed(&'static str),

    /// A configured limit was exceeded before any expensive work was done.
    #[error("too large: {what} is {actual}, limit {limit}")]
    TooLarge {
        /// What was measured (for example `"envelope bytes"`).
        what: &'static str,
        /// The configured limit.
        limit: usize,
        /// The size found (saturated, so it cannot overflow).
        actual: usize,
    },

    /// The envelope declares a format version this library does not implement.
    #[error("unsupported envelope version")]
    UnsupportedVersion,

    /// No trusted key matches the envelope's (source, key id).
    #[error("unknown signing key for this source")]
    UnknownKey,

    /// The signature does not verify under the trusted key.
    #[error("bad signature")]
    BadSignature,

    /// The signing key is trusted, but its validity window (`not_after`) ended before the
    /// envelope's signed issued-at: the key had been retired when it signed. (A key whose
    /// window had not yet begun is [`Error::UnknownKey`].)
    #[error("signing key retired before the envelope was issued")]
    KeyExpired,

    /// The trust policy does not allow this source to send this event type.
    #[error("policy denies this event type from this source")]
    PolicyDenied,

    /// The EventBridge event around the envelope does not match it: the delivering account is
    /// not one of the source's accounts, or the EventBridge `source` / `detail-type` differ
    /// from the trusted source's EventBridge source / the envelope's event type.
    #[error("EventBridge binding mismatch: {0}")]
    BindingMismatch(&'static str),

    /// This consumer (with the keys it holds) is not among the envelope's recipients.
    #[error("not a recipient of this envelope")]
    NotARecipient,

    /// The envelope's validity window ended (beyond the allowed clock skew).
    #[error("expired")]
    Expired,

    /// The envelope's validity window has not started yet (beyond the allowed clock skew).
    #[error("not yet valid")]
    NotYetValid,

    /// The envelope's signed lifetime (expires-at minus issued-at) is longer than the
    /// consumer's configured maximum.
    #[error("lifetime longer than allowed")]
    LifetimeTooLong,

    /// This (consumer, source, envelope id) was already claimed in the replay store.
    #[error("replayed")]
    Replayed,

    /// Another delivery of this envelope is being processed: its lease (an in-progress
    /// replay record) is live. Retry later: when that processing completes, this one is
    /// `replayed`; if it fails or its lease lapses, this one can be processed.
    #[error("in progress elsewhere")]
    InProgress,

    /// Completing failed because the lease was no longer this caller's: it lapsed while the
    /// handler ran and another caller took the envelope over (or it was released, or the
    /// record expired). The handler may have run twice.
    #[error("lease lost: the handler's lease lapsed and another caller took the envelope over")]
    LeaseLost,

    /// Unwrapping the content key, the key commitment or the payload decryption failed.
    /// Deliberately carries no detail.
    #[error("decryption failed")]
    DecryptFailed,

    /// The replay store could not be reached or failed; the envelope is rejected (fail closed).
    #[error("replay store unavailable")]
    StoreUnavailable(#[source] StoreSource),

    /// The bounded replay store is full of live entries; the envelope is rejected rather than
    /// evicting an entry that still protects against a replay.
    #[error("replay store full")]
    StoreFull,

    /// A key could not be loaded: wrong type, wrong length, mismatched halves, a low-order
    /// X25519 point, a `kid` that is not the key's thumbprint, …
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),

    /// A trust file, recipient directory or trust configuration is invalid; the text names the
    /// file and field and, for JSON errors, the line and column.
    #[error("invalid trust configuration: {0}")]
    InvalidTrust(String),

    /// An argument given to seal (event type, recipients, time-to-live, …) is not acceptable.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),

    /// The system's random number generator failed.
    #[error("random number generator failure")]
    Rng,

    /// A [`Signer`](crate::Signer)'s backend failed or refused to sign (AWS KMS: key
    /// disabled, access denied, unreachable; PKCS#11: not logged in, token removed), or
    /// returned a signature that does not verify with its public key. Nothing was produced.
    /// The text is the backend's (producer-side: no oracle to protect), in the message itself
    /// (not repeated as a `source`).
    #[error("signer failed: {0}")]
    Signer(SignerSource),
}

impl Error {
    /// The stable kind of this error.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Malformed(_) => ErrorKind::Malformed,
            Error::TooLarge { .. } => ErrorKind::TooLarge,
            Error::UnsupportedVersion => ErrorKind::UnsupportedVersion,
            Error::UnknownKey => ErrorKind::UnknownKey,
            Error::BadSignature => ErrorKind::BadSignature,
            Error::KeyExpired => ErrorKind::KeyExpired,
            Error::PolicyDenied => ErrorKind::PolicyDenied,
            Error::BindingMismatch(_) => ErrorKind::BindingMismatch,
            Error::NotARecipient => ErrorKind::NotARecipient,
            Error::Expired => ErrorKind::Expired,
            Error::NotYetValid => ErrorKind::NotYetValid,
            Error::LifetimeTooLong => ErrorKind::LifetimeTooLong,
            Error::Replayed => ErrorKind::Replayed,
            Error::InProgress => ErrorKind::InProgress,
            Error::LeaseLost => ErrorKind::LeaseLost,
            Error::DecryptFailed => ErrorKind::DecryptFailed,
            Error::StoreUnavailable(_) => ErrorKind::StoreUnavailable,
            Error::StoreFull => ErrorKind::StoreFull,
            Error::InvalidKey(_) => ErrorKind::InvalidKey,
            Error::InvalidTrust(_) => ErrorKind::InvalidTrust,
            Error::InvalidInput(_) => ErrorKind::InvalidInput,
            Error::Rng => ErrorKind::Rng,
            Error::Signer(_) => ErrorKind::SignerFailed,
        }
    }

    pub(crate) fn too_large(what: &'static str, limit: usize, actual: usize) -> Self {
        Error::TooLarge {
            what,
            limit,
            actual,
        }
    }

    /// An [`Error::Signer`] from a backend's error (for [`Signer`](crate::Signer)
    /// implementations).
    pub fn signer<E>(e: E) -> Self
    where
        E: Into<SignerSource>,
    {
        Error::Signer(e.into())
    }

    pub(crate) fn store<E>(e: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::StoreUnavailable(Box::new(e))
    }
}

/// The stable kind of an [`Error`]: what callers match on and what logs record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `malformed`
    Malformed,
    /// `too-large`
    TooLarge,
    /// `unsupported-version`
    UnsupportedVersion,
    /// `unknown-key`
    UnknownKey,
    /// `bad-signature`
    BadSignature,
    /// `key-expired`
    KeyExpired,
    /// `policy-denied`
    PolicyDenied,
    /// `binding-mismatch`
    BindingMismatch,
    /// `not-a-recipient`
    NotARecipient,
    /// `expired`
    Expired,
    /// `not-yet-valid`
    NotYetValid,
    /// `lifetime-too-long`
    LifetimeTooLong,
    /// `replayed`
    Replayed,
    /// `in-progress`
    InProgress,
    /// `lease-lost`
    LeaseLost,
    /// `decrypt-failed`
    DecryptFailed,
    /// `store-unavailable`
    StoreUnavailable,
    /// `store-full`
    StoreFull,
    /// `invalid-key`
    InvalidKey,
    /// `invalid-trust`
    InvalidTrust,
    /// `invalid-input`
    InvalidInput,
    /// `rng`
    Rng,
    /// `signer-failed`
    SignerFailed,
}

impl ErrorKind {
    /// Every kind, in declaration order (for documentation and exhaustive tests).
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::Malformed,
        ErrorKind::TooLarge,
        ErrorKind::UnsupportedVersion,
        ErrorKind::UnknownKey,
        ErrorKind::BadSignature,
        ErrorKind::KeyExpired,
        ErrorKind::PolicyDenied,
        ErrorKind::BindingMismatch,
        ErrorKind::NotARecipient,
        ErrorKind::Expired,
        ErrorKind::NotYetValid,
        ErrorKind::LifetimeTooLong,
        ErrorKind::Replayed,
        ErrorKind::InProgress,
        ErrorKind::LeaseLost,
        ErrorKind::DecryptFailed,
        ErrorKind::StoreUnavailable,
        ErrorKind::StoreFull,
        ErrorKind::InvalidKey,
        ErrorKind::InvalidTrust,
        ErrorKind::InvalidInput,
        ErrorKind::Rng,
        ErrorKind::SignerFailed,
    ];

    /// The stable kebab-case name of this kind.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::TooLarge => "too-large",
            ErrorKind::UnsupportedVersion => "unsupported-version",
            ErrorKind::UnknownKey => "unknown-key",
            ErrorKind::BadSignature => "bad-signature",
            ErrorKind::KeyExpired => "key-expired",
            ErrorKind::PolicyDenied => "policy-denied",
            ErrorKind::BindingMismatch => "binding-mismatch",
            ErrorKind::NotARecipient => "not-a-recipient",
            ErrorKind::Expired => "expired",
            ErrorKind::NotYetValid => "not-yet-valid",
            ErrorKind::LifetimeTooLong => "lifetime-too-long",
            ErrorKind::Replayed => "replayed",
            ErrorKind::InProgress => "in-progress",
            ErrorKind::LeaseLost => "lease-lost",
            ErrorKind::DecryptFailed => "decrypt-failed",
            ErrorKind::StoreUnavailable => "store-unavailable",
            ErrorKind::StoreFull => "store-full",
            ErrorKind::InvalidKey => "invalid-key",
            ErrorKind::InvalidTrust => "invalid-trust",
            ErrorKind::InvalidInput => "invalid-input",
            ErrorKind::Rng => "rng",
            ErrorKind::SignerFailed => "signer-failed",
        }
    }
}

/// What a queue consumer does with a delivery that was rejected with a kind
/// ([`ErrorKind::disposition`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// A duplicate of a delivery already processed: acknowledge it (delete it from the
    /// queue); processing it again would do nothing.
    Acknowledge,
    /// Transient: leave it for redelivery (do not acknowledge, or report a batch item
    /// failure). Another instance is working on it, a store is down, or the consumer's own
    /// configuration or clock is at fault, not the message.
    Retry,
    /// Permanent: this message will never be accepted. Dead-letter it (and alert: it is
    /// forged, tampered, misaddressed, stale or not allowed).
    Reject,
}

impl Disposition {
    /// `acknowledge`, `retry` or `reject`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Disposition::Acknowledge => "acknowledge",
            Disposition::Retry => "retry",
            Disposition::Reject => "reject",
        }
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ErrorKind {
    /// What a queue consumer should do with a delivery rejected with this kind:
    ///
    /// | disposition | kinds |
    /// |---|---|
    /// | [`Disposition::Acknowledge`] | `replayed` |
    /// | [`Disposition::Retry`] | `in-progress`, `lease-lost`, `store-unavailable`, `store-full`, `not-yet-valid` (an issuer's clock ahead of this consumer's, within what may still become valid), `invalid-key`, `invalid-trust`, `invalid-input` (this consumer's configuration), `rng`, `signer-failed` (a producer-side kind: a KMS or HSM signer failed) |
    /// | [`Disposition::Reject`] | `malformed`, `too-large`, `unsupported-version`, `unknown-key`, `bad-signature`, `key-expired`, `policy-denied`, `binding-mismatch`, `not-a-recipient`, `expired`, `lifetime-too-long`, `decrypt-failed` |
    ///
    /// `unknown-key` is permanent for the message as it is: if it is a key the consumer has
    /// not been told about yet, fix the trust file and redrive the dead-letter queue.
    #[must_use]
    pub const fn disposition(self) -> Disposition {
        match self {
            ErrorKind::Replayed => Disposition::Acknowledge,
            ErrorKind::InProgress
            | ErrorKind::LeaseLost
            | ErrorKind::StoreUnavailable
            | ErrorKind::StoreFull
            | ErrorKind::NotYetValid
            | ErrorKind::InvalidKey
            | ErrorKind::InvalidTrust
            | ErrorKind::InvalidInput
            | ErrorKind::Rng
            | ErrorKind::SignerFailed => Disposition::Retry,
            ErrorKind::Malformed
            | ErrorKind::TooLarge
            | ErrorKind::UnsupportedVersion
            | ErrorKind::UnknownKey
            | ErrorKind::BadSignature
            | ErrorKind::KeyExpired
            | ErrorKind::PolicyDenied
            | ErrorKind::BindingMismatch
            | ErrorKind::NotARecipient
            | ErrorKind::Expired
            | ErrorKind::LifetimeTooLong
            | ErrorKind::DecryptFailed => Disposition::Reject,
        }
    }
}

impl Error {
    /// [`ErrorKind::disposition`] of this error's kind.
    #[must_use]
    pub fn disposition(&self) -> Disposition {
        self.kind().disposition()
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `Result` with eventseal's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

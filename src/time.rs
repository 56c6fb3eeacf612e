//! Time: an injectable clock, and the freshness rules applied when opening.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crate::envelope::Header;
use crate::error::{Error, Result};

/// A source of the current time, in whole seconds since the Unix epoch (UTC).
///
/// Injected into sealers and openers so tests (and replays of archived traffic) control time.
pub trait Clock: Send + Sync {
    /// The current time in seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// A clock that says what it is told: for tests and for checking archived envelopes.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock standing at `unix_seconds`.
    #[must_use]
    pub fn new(unix_seconds: i64) -> Self {
        Self(AtomicI64::new(unix_seconds))
    }

    /// Moves the clock to `unix_seconds`.
    pub fn set(&self, unix_seconds: i64) {
        self.0.store(unix_seconds, Ordering::SeqCst);
    }

    /// Moves the clock by `seconds` (negative goes back), saturating at the i64 range.
    pub fn advance(&self, seconds: i64) {
        let now = self.0.load(Ordering::SeqCst);
        self.0.store(now.saturating_add(seconds), Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> i64 {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> i64 {
        (**self).now()
    }
}

/// Freshness rules: an envelope is fresh at `now` when
/// `issued_at - max_skew <= now < expires_at + max_skew`
/// and its signed lifetime `expires_at - issued_at` is at most `max_lifetime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Freshness {
    /// Allowed difference between the producer's and the consumer's clocks. Default 60 s.
    pub max_skew: Duration,
    /// Longest signed lifetime accepted. Default 48 hours (EventBridge retries for up to 24).
    pub max_lifetime: Duration,
}

impl Default for Freshness {
    fn default() -> Self {
        Self {
            max_skew: Duration::from_secs(60),
            max_lifetime: Duration::from_secs(48 * 3600),
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl Freshness {
    /// Sets [`Freshness::max_skew`].
    #[must_use]
    pub fn with_max_skew(mut self, d: Duration) -> Self {
        self.max_skew = d;
        self
    }

    /// Sets [`Freshness::max_lifetime`].
    #[must_use]
    pub fn with_max_lifetime(mut self, d: Duration) -> Self {
        self.max_lifetime = d;
        self
    }

    /// Checks a header's signed time window at `now`. Overflow-safe at the i64 limits.
    ///
    /// # Errors
    /// [`Error::LifetimeTooLong`], [`Error::NotYetValid`] or [`Error::Expired`].
    pub fn check(&self, header: &Header, now: i64) -> Result<()> {
        let skew = secs(self.max_skew);
        match header.expires_at.checked_sub(header.issued_at) {
            Some(life) if life > 0 && life <= secs(self.max_lifetime) => {}
            _ => return Err(Error::LifetimeTooLong),
        }
        if now < header.issued_at.saturating_sub(skew) {
            return Err(Error::NotYetValid);
        }
        if now >= header.expires_at.saturating_add(skew) {
            return Err(Error::Expired);
        }
        Ok(())
    }

    /// Until when a replay-store entry for this header must be kept: after that instant the
    /// envelope is rejected as expired anyway.
    #[must_use]
    pub fn replay_expiry(&self, header: &Header) -> i64 {
        header.expires_at.saturating_add(secs(self.max_skew))
    }
}

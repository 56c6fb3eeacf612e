//! A replay store in Redis, for consumers that run as many instances (feature `redis`).

use std::sync::Mutex;
use std::time::Duration;

use redis::{Client, Connection};

use crate::error::{Error, Result};
use crate::replay::{Claim, ReplayKey, ReplayStore};

/// Default connect, read and write timeout.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 16;

/// A replay store in Redis, shared by every instance of a consumer: an envelope delivered to
/// two instances at once is accepted by exactly one.
///
/// - A claim is one atomic `SET key 1 NX PX ttl`: the first instance to set the key wins;
///   the key expires with the envelope (`expires_at` plus the skew, as the opener computes
///   it), so Redis never holds an entry past the time the envelope would be rejected as
///   expired anyway.
/// - Keys are `eventseal:replay:v1:{CONSUMER}:` followed by the hex SHA-256 of the
///   length-prefixed source and id: namespaced per consumer, the consumer in a hash tag so
///   that a consumer's keys share a Redis Cluster slot, and of bounded length whatever the ids.
/// - Every failure (connection refused, timeout, authentication, a Redis error) rejects the
///   envelope with [`Error::StoreUnavailable`]; nothing is ever accepted without a recorded
///   claim. The failed connection is dropped; the next claim connects again, so the store
///   recovers by itself when Redis comes back.
/// - Connections are pooled (up to 16 idle ones are kept) and every one has connect, read and
///   write timeouts ([`DEFAULT_REDIS_TIMEOUT`] unless set).
/// - URLs: `redis://[:PASSWORD@]HOST[:PORT][/DB]`, and `rediss://…` for TLS (rustls, the
///   with the platform's root certificates).
pub struct RedisReplayStore {
    client: Client,
    timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection info may hold a password: only the address is shown.
        let info = self.client.get_connection_info();
        f.debug_struct("RedisReplayStore")
            .field("addr", &info.addr().to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisReplayStore {
    /// A store for the Redis server at `url`. Nothing is connected yet: the first claim
    /// connects (use [`RedisReplayStore::ping`] to check the server at start-up).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the URL cannot be parsed.
    pub fn new(url: &str) -> Result<Self> {
        let client = Client::open(url).map_err(|_| Error::InvalidInput("Redis URL"))?;
        Ok(Self {
            client,
            timeout: DEFAULT_REDIS_TIMEOUT,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sets the connect, read and write timeout (default [`DEFAULT_REDIS_TIMEOUT`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Checks that the server answers (`PING`).
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] otherwise.
    pub fn ping(&self) -> Result<()> {
        self.with_connection(|con| redis::cmd("PING").query::<String>(con).map(|_| ()))
    }

    /// The Redis key for `key`.
    #[must_use]
    pub fn redis_key(key: &ReplayKey<'_>) -> String {
        let digest = crate::replay::key_digest(b"", &[key.source, key.id]);
        format!(
            "eventseal:replay:v1:{{{}}}:{}",
            key.consumer,
            hex::encode(digest)
        )
    }

    fn connect(&self) -> redis::RedisResult<Connection> {
        let con = self.client.get_connection_with_timeout(self.timeout)?;
        con.set_read_timeout(Some(self.timeout))?;
        con.set_write_timeout(Some(self.timeout))?;
        Ok(con)
    }

    /// Runs `f` on a pooled connection; a connection that failed is not returned to the pool.
    fn with_connection<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let mut con = match pooled {
            Some(con) => con,
            None => self.connect().map_err(Error::store)?,
        };
        let out = f(&mut con).map_err(Error::store)?;
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(con);
            }
        }
        Ok(out)
    }
}

impl ReplayStore for RedisReplayStore {
    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim> {
        // The entry lives until `expires_at` by the opener's clock; at least one millisecond
        // (SET refuses PX 0), and an entry for an already-expired envelope is never needed.
        let ttl_ms = expires_at
            .saturating_sub(now)
            .saturating_mul(1000)
            .clamp(1, i64::MAX);
        let redis_key = Self::redis_key(key);
        let set: Option<String> = self.with_connection(|con| {
            redis::cmd("SET")
                .arg(&redis_key)
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(ttl_ms)
                .query(con)
        })?;
        Ok(match set {
            Some(_) => Claim::Claimed,
            None => Claim::AlreadyClaimed,
        })
    }
}

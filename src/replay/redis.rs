//! Replay stores in Redis, for consumers that run as many instances (feature `redis`):
//! [`RedisReplayStore`] (blocking, pooled connections) and, with feature `tokio`,
//! [`AsyncRedisReplayStore`] (one shared multiplexed connection). Both write the same
//! keys with the same command, so sync and async instances of one consumer can share a server.

use std::sync::Mutex;
use std::time::Duration;

use redis::{Client, Connection, ConnectionAddr, IntoConnectionInfo};

use super::{Begun, Claim, Completion, LeaseRequest, LeaseToken, ReplayKey, ReplayStore};
use crate::error::{Error, Result};

/// Default connect, read and write timeout.
///
/// Timeouts below one millisecond are raised to one (a zero socket timeout would fail every
/// claim).
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_secs(1);

use super::DEFAULT_CLOCK_MARGIN;

/// Idle connections kept for reuse.
const MAX_IDLE: usize = 16;

/// A replay store in Redis, shared by every instance of a consumer: an envelope delivered to
/// two instances at once is accepted by exactly one.
///
/// - A claim, and the begin of a lease, is one atomic `SET key RECORD NX GET PX ttl` (Redis
///   7.0 or later): the first instance to set the key wins, and the record it finds tells the
///   others `replayed` or `in-progress`; only a lapsed lease in the way is taken over through a
///   Lua script. Complete and release are one `EVALSHA` of a Lua script each (loaded with
///   `SCRIPT LOAD` on a server that lacks it). One round trip per transition; the key expires
///   with the envelope: at its replay expiry (`expires_at` plus the skew, as
///   the opener computes it) by the claiming instance's clock, plus a clock margin
///   ([`DEFAULT_CLOCK_MARGIN`], see [`RedisReplayStore::with_clock_margin`]), so that an
///   instance whose clock is behind the claimer's still finds the key while it would accept
///   the envelope.
/// - Keys are `eventseal:replay:v1:{CONSUMER}:` followed by the hex SHA-256 of the
///   length-prefixed source and id: namespaced per consumer, the consumer in a hash tag so
///   that a consumer's keys share a Redis Cluster slot, and of bounded length whatever the ids.
/// - Every failure (connection refused, timeout, authentication, a Redis error) rejects the
///   envelope with [`Error::StoreUnavailable`]; nothing is ever accepted without a recorded
///   claim. The failed connection is dropped; the next claim connects again, so the store
///   recovers by itself when Redis comes back.
/// - A pooled connection that the server (or a proxy) closed while it sat idle is noticed by
///   the claim that takes it, which then resends on a new connection rather than rejecting a
///   good envelope; resending the same `SET … NX` can never accept an envelope twice.
/// - Connections are pooled (up to 16 idle ones are kept) and every one has connect, read and
///   write timeouts ([`DEFAULT_REDIS_TIMEOUT`] unless set).
/// - URLs: `redis://[:PASSWORD@]HOST[:PORT][/DB]`, and `rediss://…` for TLS (rustls on the
///   crate's own cryptographic backend; the server's certificate is checked against the
///   platform's root certificates, or only against a private CA's with
///   [`RedisReplayStore::with_root_certificates`]). A `rediss://…#insecure` URL, which would
///   skip the certificate check, is refused.
pub struct RedisReplayStore {
    client: Client,
    timeout: Duration,
    clock_margin: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The connection info may hold a password: only the address is shown.
        f.debug_struct("RedisReplayStore")
            .field("addr", &address(&self.client))
            .field("timeout", &self.timeout)
            .field("clock_margin", &self.clock_margin)
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
        Self::from_client(client(url, None)?)
    }

    /// A store for a `rediss://` URL whose server certificate must chain to one of the CA
    /// certificates in `root_pem` (PEM), instead of the platform's roots: for Redis servers
    /// with a private CA.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the URL cannot be parsed, is not `rediss://`, or `root_pem`
    /// holds no usable certificate.
    pub fn with_root_certificates(url: &str, root_pem: &[u8]) -> Result<Self> {
        Self::from_client(client(url, Some(root_pem))?)
    }

    fn from_client(client: Client) -> Result<Self> {
        Ok(Self {
            client,
            timeout: DEFAULT_REDIS_TIMEOUT,
            clock_margin: DEFAULT_CLOCK_MARGIN,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sets the connect, read and write timeout (default [`DEFAULT_REDIS_TIMEOUT`]).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = at_least_1ms(timeout);
        self
    }

    /// Sets how long past the envelope's replay expiry a key is kept (default
    /// [`DEFAULT_CLOCK_MARGIN`]): the largest difference between the clocks of the instances
    /// that share this Redis, and of the Redis server's.
    ///
    /// Redis turns a key's time to live into an absolute expiry on its own clock when the key
    /// is set, so a key set by an instance whose clock is ahead would, without a margin, expire
    /// while an instance whose clock is behind still accepts the envelope as fresh, and that
    /// instance would open it a second time; a Redis clock that steps forward does the same.
    /// Keep the clocks within the margin of each other (NTP keeps them within milliseconds); a
    /// larger margin only keeps keys longer.
    #[must_use]
    pub fn with_clock_margin(mut self, margin: Duration) -> Self {
        self.clock_margin = margin;
        self
    }

    /// Checks that the server answers (`PING`).
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] otherwise.
    pub fn ping(&self) -> Result<()> {
        self.run(&Call::plain(redis::cmd("PING")), pong)
    }

    /// The Redis key for `key`: `eventseal:replay:v1:{CONSUMER}:HEX` for an envelope and
    /// `eventseal:replay:v1:{CONSUMER}:webhook:HEX` for a webhook delivery, `HEX` being the
    /// SHA-256 of the length-prefixed source (or provider) and id. The two kinds have
    /// different key shapes, so they cannot collide.
    #[must_use]
    pub fn redis_key(key: &ReplayKey<'_>) -> String {
        let digest = crate::replay::key_digest(b"", &[key.source, key.id]);
        let kind = match key.kind {
            crate::replay::ReplayKind::Envelope => "",
            crate::replay::ReplayKind::Webhook => "webhook:",
        };
        format!(
            "eventseal:replay:v1:{{{}}}:{kind}{}",
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

    /// Runs `cmd` on a pooled connection and reads its reply with `read`. A connection on
    /// which anything failed, the reply included, is not returned to the pool.
    ///
    /// A pooled connection the server closed while it sat idle (Redis's `timeout` setting,
    /// a proxy's or load balancer's idle limit, a restarted server) fails at once with a
    /// dropped connection: the command is then sent once more on a new connection, and the
    /// other idle connections, probably closed too, are dropped. See [`closed_while_idle`] for why
    /// resending is safe.
    fn run<T>(&self, cmd: &Call, read: fn(redis::Value) -> Result<T>) -> Result<T> {
        let pooled = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let (con, reply) = match pooled {
            Some(mut con) => match cmd.query(&mut con) {
                Err(e) if closed_while_idle(&e) => {
                    if let Ok(mut idle) = self.idle.lock() {
                        idle.clear();
                    }
                    self.query_fresh(cmd)?
                }
                reply => (con, reply),
            },
            None => self.query_fresh(cmd)?,
        };
        let out = read(reply.map_err(Error::store)?)?;
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(con);
            }
        }
        Ok(out)
    }

    fn query_fresh(&self, cmd: &Call) -> Result<(Connection, redis::RedisResult<redis::Value>)> {
        let mut con = self.connect().map_err(Error::store)?;
        let reply = cmd.query(&mut con);
        Ok((con, reply))
    }
}

/// Whether `e`, on a connection that was already open before this claim, says the server
/// (or something in between) had closed it: an end of stream, a reset or a broken pipe. Not a
/// timeout: a server that does not answer is not asked twice.
///
/// Why resending is safe: it is the same command (`SET … NX GET` with the same token, or a
/// script that checks the token), so it can never make an envelope accepted twice. If the
/// first attempt never reached Redis (the usual case: the connection was closed while idle),
/// the second one does the work. If it did reach Redis and only its reply was lost, the second
/// one finds the record with its own token and answers as the first would have (started or
/// completed).
fn closed_while_idle(e: &redis::RedisError) -> bool {
    e.is_connection_dropped() && !e.is_timeout()
}

impl RedisReplayStore {
    /// Begin or one-step claim: one `SET … NX GET` ([`set_if_absent`]); only a lapsed lease
    /// found in the way takes the `EVALSHA` of [`BEGIN_SCRIPT`], which takes it over
    /// atomically.
    fn begin_with(&self, key: &ReplayKey<'_>, request: &LeaseRequest, mode: Mode) -> Result<Begun> {
        let found = self.run(
            &set_if_absent(key, request, mode, self.clock_margin),
            previous,
        )?;
        match decide(found.as_deref(), request) {
            Some(begun) => Ok(begun),
            None => self.run(&begin_command(key, request, mode, self.clock_margin), begun),
        }
    }
}

impl ReplayStore for RedisReplayStore {
    fn begin(&self, key: &ReplayKey<'_>, request: &LeaseRequest) -> Result<Begun> {
        self.begin_with(key, request, Mode::Lease)
    }

    fn complete(
        &self,
        key: &ReplayKey<'_>,
        token: &LeaseToken,
        expires_at: i64,
        now: i64,
    ) -> Result<Completion> {
        self.run(
            &complete_command(key, token, expires_at, now, self.clock_margin),
            completion,
        )
    }

    fn release(&self, key: &ReplayKey<'_>, token: &LeaseToken) -> Result<bool> {
        self.run(&release_command(key, token), released)
    }

    fn claim(&self, key: &ReplayKey<'_>, expires_at: i64, now: i64) -> Result<Claim> {
        let request = LeaseRequest {
            token: LeaseToken::random()?,
            lease_until: now,
            expires_at,
            now,
        };
        self.begin_with(key, &request, Mode::Complete)
            .map(Claim::from)
    }
}

/// A record's value: `p:LEASE_UNTIL:TOKEN` in progress, `c:TOKEN` completed (`c:` followed by
/// the token that completed it, so that a resent command recognises its own write). Any other
/// value (the `1` that claims wrote before leases existed) is a completed record. The key's
/// time to live is the envelope's replay expiry plus the clock margin, in both states; the
/// lease's end is in the value, compared with the caller's clock.
///
/// Begin: `KEYS[1]`; `ARGV`: token, lease end, now, time to live (ms), `p` (begin a lease) or
/// `c` (claim: completed at once). Answers 1 started, 2 in progress, 3 already completed.
/// A resent begin whose first attempt was applied finds its own token and answers 1.
const BEGIN_SCRIPT: &str = r"
local v = redis.call('GET', KEYS[1])
if v then
  local lease, owner = string.match(v, '^p:(%-?%d+):(%x+)$')
  if lease then
    if owner == ARGV[1] then return 1 end
    if tonumber(lease) > tonumber(ARGV[3]) then return 2 end
  else
    if v == 'c:' .. ARGV[1] then return 1 end
    return 3
  end
end
if ARGV[5] == 'p' then
  redis.call('SET', KEYS[1], 'p:' .. ARGV[2] .. ':' .. ARGV[1], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], 'c:' .. ARGV[1], 'PX', ARGV[4])
end
return 1
";

/// Complete: `KEYS[1]`; `ARGV`: token, time to live (ms). Answers 1 completed (or already
/// completed by this token: a resent command), 0 the record is not this token's.
const COMPLETE_SCRIPT: &str = r"
local v = redis.call('GET', KEYS[1])
if v == 'c:' .. ARGV[1] then return 1 end
if v and string.match(v, '^p:%-?%d+:(%x+)$') == ARGV[1] then
  redis.call('SET', KEYS[1], 'c:' .. ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// Release: `KEYS[1]`; `ARGV`: token. Deletes the record only if it is this token's lease;
/// answers 1 if it did.
const RELEASE_SCRIPT: &str = r"
local v = redis.call('GET', KEYS[1])
if v and string.match(v, '^p:%-?%d+:(%x+)$') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

/// What a begin writes when it starts.
#[derive(Clone, Copy)]
enum Mode {
    /// An in-progress record (a lease).
    Lease,
    /// A completed record at once (the one-step claim).
    Complete,
}

/// The time to live of a record: until `expires_at` by the caller's clock, plus `margin` (see
/// [`RedisReplayStore::with_clock_margin`]); at least one millisecond (SET refuses PX 0).
fn ttl_ms(expires_at: i64, now: i64, margin: Duration) -> i64 {
    let margin_ms = i64::try_from(margin.as_millis()).unwrap_or(i64::MAX);
    expires_at
        .saturating_sub(now)
        .saturating_mul(1000)
        .saturating_add(margin_ms)
        .clamp(1, MAX_TTL_MS)
}

/// The longest time to live sent: 100 years. Redis refuses an expiry beyond its own limit
/// (about `i64::MAX` milliseconds from now), which a huge webhook retention would reach.
const MAX_TTL_MS: i64 = 100 * 365 * 86_400 * 1000;

/// One of the store's Lua scripts: run by its SHA-1 (`EVALSHA`, so each transition sends the
/// hash, not the script), and loaded (`SCRIPT LOAD`) on the connection that finds the server
/// without it (a new or restarted server, `SCRIPT FLUSH`, a failover to a replica that never
/// ran it).
struct Lua {
    source: &'static str,
    sha: std::sync::OnceLock<String>,
}

impl Lua {
    const fn new(source: &'static str) -> Self {
        Self {
            source,
            sha: std::sync::OnceLock::new(),
        }
    }

    /// The script's SHA-1 in hex, as Redis names it (computed once, by the redis crate).
    fn sha(&self) -> &str {
        self.sha
            .get_or_init(|| redis::Script::new(self.source).get_hash().to_owned())
    }
}

static BEGIN: Lua = Lua::new(BEGIN_SCRIPT);
static COMPLETE: Lua = Lua::new(COMPLETE_SCRIPT);
static RELEASE: Lua = Lua::new(RELEASE_SCRIPT);

/// A command, and for a script's `EVALSHA` the script to load if the server lacks it.
struct Call {
    cmd: redis::Cmd,
    lua: Option<&'static Lua>,
}

impl Call {
    fn plain(cmd: redis::Cmd) -> Self {
        Self { cmd, lua: None }
    }

    fn script(lua: &'static Lua, key: &ReplayKey<'_>) -> Self {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(lua.sha())
            .arg(1)
            .arg(RedisReplayStore::redis_key(key));
        Self {
            cmd,
            lua: Some(lua),
        }
    }

    fn arg<T: redis::ToRedisArgs>(&mut self, arg: T) -> &mut Self {
        self.cmd.arg(arg);
        self
    }

    /// The reply; a `NOSCRIPT` error (the script did not run, so nothing happened) loads the
    /// script and sends the command once more on the same connection.
    fn query(&self, con: &mut Connection) -> redis::RedisResult<redis::Value> {
        match (self.cmd.query(con), self.lua) {
            (Err(e), Some(lua)) if no_script(&e) => {
                redis::cmd("SCRIPT")
                    .arg("LOAD")
                    .arg(lua.source)
                    .query::<redis::Value>(con)?;
                self.cmd.query(con)
            }
            (reply, _) => reply,
        }
    }

    /// [`Call::query`], on the async store's shared connection.
    #[cfg(feature = "tokio")]
    async fn query_async(
        &self,
        con: &mut redis::aio::MultiplexedConnection,
    ) -> redis::RedisResult<redis::Value> {
        match (self.cmd.query_async(con).await, self.lua) {
            (Err(e), Some(lua)) if no_script(&e) => {
                redis::cmd("SCRIPT")
                    .arg("LOAD")
                    .arg(lua.source)
                    .query_async::<redis::Value>(con)
                    .await?;
                self.cmd.query_async(con).await
            }
            (reply, _) => reply,
        }
    }
}

fn no_script(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}

/// Begin (or, in [`Mode::Complete`], the one-step claim): one `EVALSHA` of [`BEGIN_SCRIPT`].
fn begin_command(
    key: &ReplayKey<'_>,
    request: &LeaseRequest,
    mode: Mode,
    margin: Duration,
) -> Call {
    let mut cmd = Call::script(&BEGIN, key);
    cmd.arg(request.token.to_hex())
        .arg(request.lease_until)
        .arg(request.now)
        .arg(ttl_ms(request.expires_at, request.now, margin))
        .arg(match mode {
            Mode::Lease => "p",
            Mode::Complete => "c",
        });
    cmd
}

fn complete_command(
    key: &ReplayKey<'_>,
    token: &LeaseToken,
    expires_at: i64,
    now: i64,
    margin: Duration,
) -> Call {
    let mut cmd = Call::script(&COMPLETE, key);
    cmd.arg(token.to_hex()).arg(ttl_ms(expires_at, now, margin));
    cmd
}

fn release_command(key: &ReplayKey<'_>, token: &LeaseToken) -> Call {
    let mut cmd = Call::script(&RELEASE, key);
    cmd.arg(token.to_hex());
    cmd
}

/// The record a begin or claim writes: `p:LEASE_UNTIL:TOKEN` for a lease, `c:TOKEN` completed.
fn record(request: &LeaseRequest, mode: Mode) -> String {
    match mode {
        Mode::Lease => format!("p:{}:{}", request.lease_until, request.token.to_hex()),
        Mode::Complete => format!("c:{}", request.token.to_hex()),
    }
}

/// The common case of begin and claim in one plain command, without Lua:
/// `SET key RECORD NX GET PX ttl` (Redis 7.0 or later) writes the record only if the key is
/// absent and answers what was there (nil when it wrote). [`decide`] reads that answer as
/// [`BEGIN_SCRIPT`] would; the one case it cannot settle without a second look, a lapsed
/// lease to take over, goes to the script, which checks again and writes atomically.
fn set_if_absent(
    key: &ReplayKey<'_>,
    request: &LeaseRequest,
    mode: Mode,
    margin: Duration,
) -> Call {
    let mut cmd = redis::cmd("SET");
    cmd.arg(RedisReplayStore::redis_key(key))
        .arg(record(request, mode))
        .arg("NX")
        .arg("GET")
        .arg("PX")
        .arg(ttl_ms(request.expires_at, request.now, margin));
    Call::plain(cmd)
}

/// The reply of [`set_if_absent`]: nil (written) or the record that was there.
fn previous(reply: redis::Value) -> Result<Option<Vec<u8>>> {
    match reply {
        redis::Value::Nil => Ok(None),
        redis::Value::BulkString(v) => Ok(Some(v)),
        other => Err(unexpected_reply(&other)),
    }
}

/// What the record found by [`set_if_absent`] means for this request, exactly as
/// [`BEGIN_SCRIPT`] reads it: nothing there (written) or our own token (a resent request)
/// started; a live lease in progress; any other record completed; `None` for a lapsed lease,
/// which only the script may take over.
fn decide(found: Option<&[u8]>, request: &LeaseRequest) -> Option<Begun> {
    let Some(found) = found else {
        return Some(Begun::Started);
    };
    let token = request.token.to_hex();
    let lease = found
        .strip_prefix(b"p:")
        .and_then(|rest| std::str::from_utf8(rest).ok())
        .and_then(|rest| rest.rsplit_once(':'))
        .and_then(|(until, owner)| {
            let digits = until.strip_prefix('-').unwrap_or(until);
            let well_formed = !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !owner.is_empty()
                && owner.bytes().all(|b| b.is_ascii_hexdigit());
            // A lease end too long for an integer is in the future (the script's number
            // comparison does the same).
            let overflow = if until.starts_with('-') {
                i64::MIN
            } else {
                i64::MAX
            };
            well_formed.then(|| (until.parse::<i64>().unwrap_or(overflow), owner))
        });
    match lease {
        Some((_, owner)) if owner == token => Some(Begun::Started),
        Some((until, _)) if until > request.now => Some(Begun::InProgress),
        Some(_) => None,
        None if found == format!("c:{token}").as_bytes() => Some(Begun::Started),
        None => Some(Begun::AlreadyDone),
    }
}

/// The scripts answer small integers. Any other reply (which no Redis gives, but a proxy or
/// a desynchronised connection could) proves nothing was recorded: the store is then
/// unavailable, never a success.
fn begun(reply: redis::Value) -> Result<Begun> {
    match reply {
        redis::Value::Int(1) => Ok(Begun::Started),
        redis::Value::Int(2) => Ok(Begun::InProgress),
        redis::Value::Int(3) => Ok(Begun::AlreadyDone),
        other => Err(unexpected_reply(&other)),
    }
}

fn completion(reply: redis::Value) -> Result<Completion> {
    match reply {
        redis::Value::Int(1) => Ok(Completion::Completed),
        redis::Value::Int(0) => Ok(Completion::LeaseLost),
        other => Err(unexpected_reply(&other)),
    }
}

fn released(reply: redis::Value) -> Result<bool> {
    match reply {
        redis::Value::Int(1) => Ok(true),
        redis::Value::Int(0) => Ok(false),
        other => Err(unexpected_reply(&other)),
    }
}

/// `PING` answers `PONG`.
fn pong(reply: redis::Value) -> Result<()> {
    match reply {
        redis::Value::SimpleString(s) if s == "PONG" => Ok(()),
        other => Err(unexpected_reply(&other)),
    }
}

fn unexpected_reply(reply: &redis::Value) -> Error {
    // The reply's kind only: its contents are not ours to log.
    let kind = match reply {
        redis::Value::SimpleString(_) => "a status",
        redis::Value::BulkString(_) => "a string",
        redis::Value::Int(_) => "an integer",
        redis::Value::Array(_) => "an array",
        _ => "another value",
    };
    Error::store(std::io::Error::other(format!(
        "unexpected reply from Redis: {kind}"
    )))
}

fn at_least_1ms(timeout: Duration) -> Duration {
    timeout.max(Duration::from_millis(1))
}

/// A client for `url`; with `root_pem`, a TLS client trusting only those CA certificates.
fn client(url: &str, root_pem: Option<&[u8]>) -> Result<Client> {
    let info = url
        .into_connection_info()
        .map_err(|_| Error::InvalidInput("Redis URL"))?;
    if matches!(info.addr(), ConnectionAddr::TcpTls { insecure: true, .. }) {
        return Err(Error::InvalidInput(
            "Redis URL: #insecure would skip the TLS certificate check",
        ));
    }
    let tls = matches!(info.addr(), ConnectionAddr::TcpTls { .. });
    if tls {
        install_tls_provider()?;
    }
    match root_pem {
        None => Client::open(info).map_err(|_| Error::InvalidInput("Redis URL")),
        Some(_) if !tls => Err(Error::InvalidInput(
            "Redis root certificates need a rediss:// URL",
        )),
        Some(pem) => {
            // redis would take a PEM without certificates and build an empty root store (every
            // connection then fails): refuse it here, where the mistake is made.
            use rustls::pki_types::{pem::PemObject, CertificateDer};
            let mut found = 0usize;
            for cert in CertificateDer::pem_slice_iter(pem) {
                cert.map_err(|_| Error::InvalidInput("Redis TLS root certificates"))?;
                found += 1;
            }
            if found == 0 {
                return Err(Error::InvalidInput("Redis TLS root certificates"));
            }
            let certs = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.to_vec()),
            };
            Client::build_with_tls(info, certs)
                .map_err(|_| Error::InvalidInput("Redis TLS root certificates"))
        }
    }
}

/// rustls needs a process-wide cryptographic provider, and redis does not choose one: without
/// it the first TLS connection would panic. If the application has not installed one, this
/// installs rustls's provider on the crate's own backend (aws-lc-rs, its FIPS module with
/// feature `fips`, or ring). With `fips`, a non-FIPS provider the application installed is
/// refused rather than silently used for the connection to Redis.
fn install_tls_provider() -> Result<()> {
    use rustls::crypto::CryptoProvider;
    if let Some(installed) = CryptoProvider::get_default() {
        if cfg!(feature = "fips") && !installed.fips() {
            return Err(Error::InvalidInput(
                "the installed rustls provider is not FIPS: cannot connect to Redis over TLS",
            ));
        }
        return Ok(());
    }
    #[cfg(feature = "fips")]
    let provider = rustls::crypto::default_fips_provider();
    #[cfg(all(feature = "aws-lc-rs", not(feature = "fips")))]
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    let provider = rustls::crypto::ring::default_provider();
    // Fails only if another thread installed one in between: a provider is set either way.
    let _ = provider.install_default();
    Ok(())
}

/// The server address, without the password the connection info may hold.
fn address(client: &Client) -> String {
    client.get_connection_info().addr().to_string()
}

/// A replay store in Redis for async consumers (features `redis` and `tokio`): the keys,
/// command and guarantees of [`RedisReplayStore`] over one multiplexed connection that all
/// concurrent claims share (their commands are pipelined on it).
///
/// - Each claim, connecting included, completes or fails within the timeout
///   ([`DEFAULT_REDIS_TIMEOUT`] unless set); a failure or timeout is
///   [`Error::StoreUnavailable`], never an accept. A claim that timed out may still have been
///   recorded by Redis: a redelivery is then rejected as a replay (fail closed).
/// - As with the sync store, a connection on which anything failed (an I/O error, a timeout,
///   an authentication or server error such as `READONLY` after a failover) is dropped, and
///   the next claim connects again; the store recovers by itself when Redis answers again.
///   A claim that finds the shared connection closed by the server (an idle timeout, a
///   restart) resends once on a new connection, within the same timeout.
/// - Claims run as tasks on the Tokio runtime the store was made in, so the store can be
///   awaited from any executor; that runtime needs I/O and time enabled (as
///   `#[tokio::main]` gives). Made outside a runtime, [`AsyncRedisReplayStore::new`] is an
///   [`Error::InvalidInput`]; a claim whose task fails is [`Error::StoreUnavailable`].
/// - That runtime must keep running while claims are awaited: a multi-threaded runtime (as
///   `#[tokio::main]` builds), or a current-thread runtime only from code that runs inside
///   it. A claim awaited elsewhere while a current-thread runtime is not being driven waits
///   until it is (the timeout is measured by that runtime too).
#[cfg(feature = "tokio")]
#[derive(Clone)]
pub struct AsyncRedisReplayStore {
    inner: std::sync::Arc<AsyncInner>,
    clock_margin: Duration,
}

#[cfg(feature = "tokio")]
struct AsyncInner {
    client: Client,
    timeout: Duration,
    runtime: tokio::runtime::Handle,
    /// The shared connection, with a generation number so that of several claims that saw
    /// the same connection fail, only the first drops it. A plain mutex: it is held only to
    /// clone or replace the connection, never across an await.
    current: Mutex<(u64, Option<redis::aio::MultiplexedConnection>)>,
    /// Held while connecting, so that concurrent claims wait for one connection attempt
    /// rather than each making their own.
    connecting: tokio::sync::Mutex<()>,
}

#[cfg(feature = "tokio")]
impl std::fmt::Debug for AsyncRedisReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRedisReplayStore")
            .field("addr", &address(&self.inner.client))
            .field("timeout", &self.inner.timeout)
            .field("clock_margin", &self.clock_margin)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "tokio")]
impl AsyncRedisReplayStore {
    /// A store for the Redis server at `url` (the URLs of [`RedisReplayStore`]) with the
    /// default timeout, on the current Tokio runtime. Nothing is connected yet: the first
    /// claim connects (use [`AsyncRedisReplayStore::ping`] to check the server at start-up).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the URL cannot be parsed or no Tokio runtime is running.
    pub fn new(url: &str) -> Result<Self> {
        Self::build(client(url, None)?, DEFAULT_REDIS_TIMEOUT)
    }

    /// [`AsyncRedisReplayStore::new`] with a timeout per claim (connecting included).
    ///
    /// # Errors
    /// As [`AsyncRedisReplayStore::new`].
    pub fn with_timeout(url: &str, timeout: Duration) -> Result<Self> {
        Self::build(client(url, None)?, timeout)
    }

    /// A store for a `rediss://` URL trusting only the CA certificates in `root_pem`, as
    /// [`RedisReplayStore::with_root_certificates`], with a timeout per claim.
    ///
    /// # Errors
    /// As [`RedisReplayStore::with_root_certificates`] and [`AsyncRedisReplayStore::new`].
    pub fn with_root_certificates(url: &str, root_pem: &[u8], timeout: Duration) -> Result<Self> {
        Self::build(client(url, Some(root_pem))?, timeout)
    }

    fn build(client: Client, timeout: Duration) -> Result<Self> {
        let timeout = at_least_1ms(timeout);
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::InvalidInput("AsyncRedisReplayStore needs a Tokio runtime"))?;
        Ok(Self {
            inner: std::sync::Arc::new(AsyncInner {
                client,
                timeout,
                runtime,
                current: Mutex::new((0, None)),
                connecting: tokio::sync::Mutex::new(()),
            }),
            clock_margin: DEFAULT_CLOCK_MARGIN,
        })
    }

    /// Sets how long past the envelope's replay expiry a key is kept (default
    /// [`DEFAULT_CLOCK_MARGIN`]), as [`RedisReplayStore::with_clock_margin`].
    #[must_use]
    pub fn with_clock_margin(mut self, margin: Duration) -> Self {
        self.clock_margin = margin;
        self
    }

    /// Checks that the server answers (`PING`).
    ///
    /// # Errors
    /// [`Error::StoreUnavailable`] otherwise.
    pub async fn ping(&self) -> Result<()> {
        self.run(Call::plain(redis::cmd("PING")), pong).await
    }

    /// Runs `cmd` as a task on the store's runtime, within the timeout, and reads its reply
    /// with `read`.
    async fn run<T: Send + 'static>(
        &self,
        cmd: Call,
        read: fn(redis::Value) -> Result<T>,
    ) -> Result<T> {
        let inner = std::sync::Arc::clone(&self.inner);
        self.inner
            .runtime
            .spawn(async move { inner.run(cmd, read).await })
            .await
            .map_err(Error::store)?
    }
}

#[cfg(feature = "tokio")]
impl AsyncInner {
    async fn run<T>(&self, cmd: Call, read: fn(redis::Value) -> Result<T>) -> Result<T> {
        let now = tokio::time::Instant::now();
        // A timeout too large to add to the clock is as good as none (30 years).
        let deadline = now
            .checked_add(self.timeout)
            .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 86_400));
        let (mut generation, mut con, fresh) = tokio::time::timeout_at(deadline, self.connection())
            .await
            .map_err(Error::store)??;
        let mut sent = tokio::time::timeout_at(deadline, cmd.query_async(&mut con)).await;
        if !fresh && matches!(&sent, Ok(Err(e)) if closed_while_idle(e)) {
            // The shared connection was closed while idle (or by a restarted server): resend
            // once on a new one, within the same deadline (see `closed_while_idle`).
            self.drop_connection(generation);
            let (g, mut again, _) = tokio::time::timeout_at(deadline, self.connection())
                .await
                .map_err(Error::store)??;
            generation = g;
            sent = tokio::time::timeout_at(deadline, cmd.query_async(&mut again)).await;
        }
        let reply = sent
            .map_err(Error::store)
            .and_then(|r| r.map_err(Error::store))
            .and_then(read);
        if reply.is_err() {
            // Whatever failed (I/O, timeout, AUTH, READONLY, an unexpected reply, …), do not
            // reuse this connection.
            self.drop_connection(generation);
        }
        reply
    }

    /// Drops the shared connection if it is still the one of `generation`: of several claims
    /// that saw the same connection fail, only the first drops it.
    fn drop_connection(&self, generation: u64) {
        if let Ok(mut current) = self.current.lock() {
            if current.0 == generation {
                *current = (generation.wrapping_add(1), None);
            }
        }
    }

    /// The shared connection, connecting if there is none; `true` if this call connected it.
    async fn connection(&self) -> Result<(u64, redis::aio::MultiplexedConnection, bool)> {
        if let Some((generation, con)) = self.current()? {
            return Ok((generation, con, false));
        }
        let _connecting = self.connecting.lock().await;
        if let Some((generation, con)) = self.current()? {
            return Ok((generation, con, false)); // another claim connected while this one waited
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let con = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(Error::store)?;
        let mut current = self.current.lock().map_err(|_| Error::store(Poisoned))?;
        current.1 = Some(con.clone());
        Ok((current.0, con, true))
    }

    fn current(&self) -> Result<Option<(u64, redis::aio::MultiplexedConnection)>> {
        let current = self.current.lock().map_err(|_| Error::store(Poisoned))?;
        Ok(current.1.clone().map(|con| (current.0, con)))
    }
}

/// A lock poisoned by a panic elsewhere: the store is unavailable rather than trusted.
#[cfg(feature = "tokio")]
#[derive(Debug, thiserror::Error)]
#[error("Redis store lock poisoned")]
struct Poisoned;

#[cfg(feature = "tokio")]
impl super::AsyncReplayStore for AsyncRedisReplayStore {
    fn begin_async<'a>(
        &'a self,
        key: ReplayKey<'a>,
        request: LeaseRequest,
    ) -> super::StoreFuture<'a, Begun> {
        Box::pin(self.begin_with(key, request, Mode::Lease))
    }

    fn complete_async<'a>(
        &'a self,
        key: ReplayKey<'a>,
        token: LeaseToken,
        expires_at: i64,
        now: i64,
    ) -> super::StoreFuture<'a, Completion> {
        let cmd = complete_command(&key, &token, expires_at, now, self.clock_margin);
        Box::pin(self.run(cmd, completion))
    }

    fn release_async<'a>(
        &'a self,
        key: ReplayKey<'a>,
        token: LeaseToken,
    ) -> super::StoreFuture<'a, bool> {
        Box::pin(self.run(release_command(&key, &token), released))
    }

    fn claim_async<'a>(
        &'a self,
        key: ReplayKey<'a>,
        expires_at: i64,
        now: i64,
    ) -> super::ClaimFuture<'a> {
        Box::pin(async move {
            let request = LeaseRequest {
                token: LeaseToken::random()?,
                lease_until: now,
                expires_at,
                now,
            };
            self.begin_with(key, request, Mode::Complete)
                .await
                .map(Claim::from)
        })
    }
}

#[cfg(feature = "tokio")]
impl AsyncRedisReplayStore {
    /// [`RedisReplayStore`]'s begin or claim: one `SET … NX GET`, the script only for a
    /// lapsed lease.
    async fn begin_with(
        &self,
        key: ReplayKey<'_>,
        request: LeaseRequest,
        mode: Mode,
    ) -> Result<Begun> {
        let found = self
            .run(
                set_if_absent(&key, &request, mode, self.clock_margin),
                previous,
            )
            .await?;
        match decide(found.as_deref(), &request) {
            Some(begun) => Ok(begun),
            None => {
                self.run(
                    begin_command(&key, &request, mode, self.clock_margin),
                    begun,
                )
                .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: ReplayKey<'static> =
        ReplayKey::envelope("billing", "orders", "0190a4c2-0000-7000-8000-000000000001");

    /// The command's arguments as text.
    fn args(cmd: &redis::Cmd) -> Vec<String> {
        cmd.args_iter()
            .map(|a| match a {
                redis::Arg::Simple(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
                _ => "<cursor>".to_owned(),
            })
            .collect()
    }

    const TOKEN: LeaseToken = LeaseToken::from_bytes([0xab; 16]);

    fn ttl(expires_at: i64, now: i64, margin: Duration) -> String {
        super::ttl_ms(expires_at, now, margin).to_string()
    }

    /// The fast path reads a found record exactly as BEGIN_SCRIPT does.
    #[test]
    fn decide_reads_records_as_the_script_does() {
        let request = LeaseRequest::new(TOKEN, 1_000, 300, 2_000);
        let mine = "ab".repeat(16);
        let cases: [(Option<String>, Option<Begun>); 12] = [
            (None, Some(Begun::Started)),
            (Some(format!("p:1300:{mine}")), Some(Begun::Started)),
            (Some(format!("c:{mine}")), Some(Begun::Started)),
            (Some("p:1001:cd".to_owned()), Some(Begun::InProgress)),
            (
                Some("p:99999999999999999999:cd".to_owned()),
                Some(Begun::InProgress),
            ),
            (Some("p:1000:cd".to_owned()), None), // lapsed: the script takes it over
            (Some("p:-5:cd".to_owned()), None),
            (Some("p:-99999999999999999999:cd".to_owned()), None),
            (Some("c:cd".to_owned()), Some(Begun::AlreadyDone)),
            (Some("1".to_owned()), Some(Begun::AlreadyDone)), // a claim from before leases
            (Some("p:x:cd".to_owned()), Some(Begun::AlreadyDone)), // not a lease: as the script
            (Some("p:1001:zz".to_owned()), Some(Begun::AlreadyDone)),
        ];
        for (found, want) in cases {
            assert_eq!(
                decide(found.as_deref().map(str::as_bytes), &request),
                want,
                "{found:?}"
            );
        }
        let set = args(&set_if_absent(&KEY, &request, Mode::Lease, Duration::ZERO).cmd);
        assert_eq!(
            set,
            [
                "SET",
                &RedisReplayStore::redis_key(&KEY),
                &format!("p:1300:{mine}"),
                "NX",
                "GET",
                "PX",
                "1000000"
            ]
        );
    }

    #[test]
    fn begin_is_one_evalsha_with_the_margin_in_the_ttl() {
        let margin = Duration::from_secs(60);
        let request = LeaseRequest::new(TOKEN, 1_000_000, 300, 1_000_300);
        let a = args(&begin_command(&KEY, &request, Mode::Lease, margin).cmd);
        assert_eq!(a[0], "EVALSHA");
        assert_eq!(a[1], redis::Script::new(BEGIN_SCRIPT).get_hash());
        assert_eq!(
            a[2..],
            [
                "1",
                &RedisReplayStore::redis_key(&KEY),
                &"ab".repeat(16),
                "1000300",
                "1000000",
                "360000",
                "p"
            ]
        );
        let claim = args(&begin_command(&KEY, &request, Mode::Complete, margin).cmd);
        assert_eq!(claim.last().map(String::as_str), Some("c"));
        let complete = args(&complete_command(&KEY, &TOKEN, 1_000_300, 1_000_000, margin).cmd);
        assert_eq!(complete[1], redis::Script::new(COMPLETE_SCRIPT).get_hash());
        assert_eq!(complete[4..], [&"ab".repeat(16), "360000"]);
        let release = args(&release_command(&KEY, &TOKEN).cmd);
        assert_eq!(release[1], redis::Script::new(RELEASE_SCRIPT).get_hash());
        assert_eq!(release[4..], ["ab".repeat(16)]);
        assert_eq!(ttl(1_000_300, 1_000_000, Duration::ZERO), "300000");
        assert_eq!(
            ttl(1_000_300, 1_000_000, Duration::from_millis(1500)),
            "301500"
        );
    }

    #[test]
    fn ttl_edges_never_reach_zero_or_wrap() {
        // Already past the replay expiry (the opener rejects such envelopes before claiming;
        // the store still never sends PX 0 or a negative TTL, which Redis refuses).
        assert_eq!(ttl(10, 10, Duration::ZERO), "1");
        assert_eq!(ttl(10, 20, Duration::ZERO), "1");
        assert_eq!(ttl(i64::MIN, i64::MAX, Duration::ZERO), "1");
        assert_eq!(ttl(10, 20, Duration::from_secs(5)), "1");
        assert_eq!(ttl(10, 11, Duration::from_secs(5)), "4000");
        // Far-future expiries and huge margins are capped at 100 years (Redis refuses an
        // expiry past its own limit) instead of wrapping negative.
        let cap = MAX_TTL_MS.to_string();
        assert_eq!(ttl(i64::MAX, 0, Duration::ZERO), cap);
        assert_eq!(ttl(i64::MAX, i64::MIN, Duration::MAX), cap);
        assert_eq!(ttl(100, 0, Duration::MAX), cap);
        assert_eq!(ttl(1000, 0, Duration::ZERO), "1000000");
    }

    #[test]
    fn only_the_scripts_small_integers_are_outcomes() {
        use redis::Value;
        assert_eq!(begun(Value::Int(1)).unwrap(), Begun::Started);
        assert_eq!(begun(Value::Int(2)).unwrap(), Begun::InProgress);
        assert_eq!(begun(Value::Int(3)).unwrap(), Begun::AlreadyDone);
        assert!(previous(Value::Nil).unwrap().is_none());
        assert_eq!(
            previous(Value::BulkString(b"c:ab".to_vec())).unwrap(),
            Some(b"c:ab".to_vec())
        );
        assert_eq!(
            previous(Value::Int(1)).unwrap_err().kind(),
            crate::ErrorKind::StoreUnavailable
        );
        assert_eq!(completion(Value::Int(1)).unwrap(), Completion::Completed);
        assert_eq!(completion(Value::Int(0)).unwrap(), Completion::LeaseLost);
        assert!(released(Value::Int(1)).unwrap());
        assert!(!released(Value::Int(0)).unwrap());
        for other in [
            Value::Okay,
            Value::Nil,
            Value::SimpleString("OK".into()),
            Value::BulkString(b"1".to_vec()),
            Value::Int(4),
            Value::Int(-1),
            Value::Array(vec![Value::Int(1)]),
            Value::Boolean(true),
        ] {
            for e in [
                begun(other.clone()).map(|_| ()).unwrap_err(),
                completion(other.clone()).map(|_| ()).unwrap_err(),
                released(other.clone()).map(|_| ()).unwrap_err(),
            ] {
                assert_eq!(e.kind(), crate::ErrorKind::StoreUnavailable, "{other:?}");
            }
        }
        assert_eq!(
            begun(Value::Int(0)).unwrap_err().kind(),
            crate::ErrorKind::StoreUnavailable
        );
        assert!(pong(Value::SimpleString("PONG".into())).is_ok());
        assert_eq!(
            pong(Value::Okay).unwrap_err().kind(),
            crate::ErrorKind::StoreUnavailable
        );
    }

    #[test]
    fn timeouts_are_at_least_a_millisecond() {
        let store = RedisReplayStore::new("redis://127.0.0.1:1")
            .unwrap()
            .with_timeout(Duration::ZERO);
        assert_eq!(store.timeout, Duration::from_millis(1));
    }
}

//! `eventseal`: the command-line tool over the library.
//!
//! Exit codes: 0 success; 2 usage error; 3 envelope rejected (one stderr line
//! `eventseal: rejected: KIND`); 1 any other failure (I/O, unreadable key file, …).

#![forbid(unsafe_code)]

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgGroup, Parser, Subcommand};
use eventseal::{
    Clock, ConsumerKey, FixedClock, Freshness, Header, Limits, Opener, PutEventsEntry,
    RecipientPublicKey, RecipientSecretKey, SealTo, Sealer, SignatureAlgorithm, SigningKey,
    SymmetricKey, SystemClock, TrustStore, TrustedKey, TrustedSource, UntrustedEnvelope,
    VerifyingKey,
};

#[derive(Parser)]
#[command(
    name = "eventseal",
    version,
    about = "Seal and open signed, per-consumer encrypted event envelopes",
    after_help = "Exit codes: 0 success, 1 failure (I/O, keys), 2 usage, 3 envelope rejected."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a key pair and write it as JWK files.
    #[command(subcommand)]
    Keygen(Keygen),
    /// Seal a payload (stdin by default) to one or more consumers.
    Seal(SealArgs),
    /// Verify, check and decrypt an envelope; writes the exact payload bytes.
    Open(OpenArgs),
    /// Print an envelope's header as JSON without verifying or decrypting it.
    Inspect(InspectArgs),
    /// Create, update and check trust files.
    #[command(subcommand)]
    Trust(TrustCmd),
    /// Verify third-party webhooks, or sign Standard Webhooks.
    #[command(subcommand)]
    Webhook(WebhookCmd),
}

#[derive(Subcommand)]
enum WebhookCmd {
    /// Verify a webhook delivery from its headers and raw body; prints the verified id and
    /// timestamp as JSON.
    Verify(WebhookVerifyArgs),
    /// Sign a payload as Standard Webhooks; prints the headers to send.
    Sign(WebhookSignArgs),
}

#[derive(clap::Args)]
struct WebhookVerifyArgs {
    /// The provider.
    #[arg(long, value_parser = eventseal::webhook::PROVIDERS.to_vec())]
    provider: String,
    /// A secret (or, for standard-webhooks v1a, discord and sendgrid, the public key) in the
    /// provider's own encoding; repeat during rotation.
    #[arg(long = "secret", value_name = "S", required = true)]
    secrets: Vec<String>,
    /// A request header, as 'Name: value'; repeat.
    #[arg(long = "header", value_name = "'Name: value'")]
    headers: Vec<String>,
    /// The full URL the provider requested (Twilio signs it).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Timestamp tolerance in seconds, both ways.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    tolerance: u64,
    /// Verify as of this Unix time (archived deliveries, published test vectors).
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<i64>,
    /// Read the raw body from FILE instead of stdin.
    #[arg(long, value_name = "FILE")]
    body: Option<PathBuf>,
}

#[derive(clap::Args)]
struct WebhookSignArgs {
    /// The scheme (only standard-webhooks signs).
    #[arg(long, value_parser = ["standard-webhooks"])]
    provider: String,
    /// A whsec_ secret (v1, HMAC) or whsk_ secret key (v1a, Ed25519).
    #[arg(long, value_name = "S")]
    secret: String,
    /// The message id (webhook-id).
    #[arg(long)]
    id: String,
    /// The timestamp (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    timestamp: Option<i64>,
    /// Read the body from FILE instead of stdin.
    #[arg(long, value_name = "FILE")]
    body: Option<PathBuf>,
}

#[derive(Subcommand)]
enum TrustCmd {
    /// Create or update a trust file: trust KEY for SOURCE, with its policy.
    Add(TrustAddArgs),
    /// Validate a trust file and print what it trusts.
    Check {
        /// The trust file.
        #[arg(long, value_name = "TRUST_FILE")]
        file: PathBuf,
    },
}

#[derive(clap::Args)]
struct TrustAddArgs {
    /// The trust file (created if missing).
    #[arg(long, value_name = "TRUST_FILE")]
    file: PathBuf,
    /// The source id.
    #[arg(long)]
    source: String,
    /// The source's verifying key (public JWK); its `source` member must match.
    #[arg(long, value_name = "VERIFY_JWK")]
    key: PathBuf,
    /// An AWS account id the source's events may arrive from; repeatable.
    #[arg(long = "account", value_name = "ACCOUNT_ID")]
    accounts: Vec<String>,
    /// The EventBridge `source` string the source uses.
    #[arg(long, value_name = "NAME")]
    eventbridge_source: Option<String>,
    /// An event type the source may send: exact, PREFIX.* or *; repeatable.
    #[arg(long = "allow", value_name = "TYPE_PATTERN")]
    allow: Vec<String>,
    /// The key is valid for envelopes issued from this time (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    not_before: Option<String>,
    /// The key is valid for envelopes issued until this time (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    not_after: Option<String>,
}

#[derive(Subcommand)]
enum Keygen {
    /// A source's signing key: DIR/SRC.sign.jwk (secret, 0600) and DIR/SRC.verify.jwk.
    Signing {
        /// The source id this key signs for.
        #[arg(long)]
        source: String,
        /// The algorithm: ed25519 (default) or p256 (ECDSA P-256 / SHA-256).
        #[arg(long, default_value = "ed25519", value_parser = ["ed25519", "p256"])]
        alg: String,
        /// Directory to write the key files into (created if missing).
        #[arg(long)]
        out_dir: PathBuf,
    },
    /// A consumer's X25519 recipient key: DIR/ID.recipient.jwk (secret, 0600) and
    /// DIR/ID.recipient.pub.jwk.
    Recipient {
        /// The consumer id this key decrypts for.
        #[arg(long)]
        consumer: String,
        /// Directory to write the key files into (created if missing).
        #[arg(long)]
        out_dir: PathBuf,
    },
    /// A pre-shared 256-bit key for a consumer: DIR/ID.psk.jwk (secret, 0600), given to both
    /// the consumer and its producers.
    Symmetric {
        /// The consumer id this key decrypts for.
        #[arg(long)]
        consumer: String,
        /// Directory to write the key file into (created if missing).
        #[arg(long)]
        out_dir: PathBuf,
    },
}

#[derive(clap::Args)]
struct SealArgs {
    /// The source's signing key (secret JWK).
    #[arg(long, value_name = "SIGNING_JWK")]
    key: PathBuf,
    /// The event type.
    #[arg(long = "type", value_name = "TYPE")]
    event_type: String,
    /// A recipient: a consumer's public key (JWK) or a pre-shared key (oct JWK); repeat for
    /// several consumers.
    #[arg(long = "to", value_name = "RECIPIENT_PUB_JWK", required = true)]
    to: Vec<PathBuf>,
    /// Time-to-live in seconds [default: 3600, or 90000 (25 h) with --eventbridge-entry].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    ttl: Option<u64>,
    /// Write a PutEvents entry (Source, DetailType, Detail, EventBusName) instead of the
    /// bare envelope.
    #[arg(long, requires_all = ["bus", "source_name"])]
    eventbridge_entry: bool,
    /// The event bus name or ARN, with --eventbridge-entry.
    #[arg(long, value_name = "NAME", requires = "eventbridge_entry")]
    bus: Option<String>,
    /// The EventBridge Source, with --eventbridge-entry.
    #[arg(long, value_name = "EB_SOURCE", requires = "eventbridge_entry")]
    source_name: Option<String>,
    /// The payload's content type.
    #[arg(long, default_value = eventseal::DEFAULT_CONTENT_TYPE)]
    content_type: String,
    /// Read the payload from FILE instead of stdin.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Write the envelope to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
#[command(group(ArgGroup::new("replay").required(true).args(["replay_db", "replay_redis", "no_replay_check"])))]
struct OpenArgs {
    /// The consumer's key: a recipient secret JWK or a pre-shared oct JWK; repeat during key
    /// rotation.
    #[arg(long, value_name = "RECIPIENT_JWK", required = true)]
    key: Vec<PathBuf>,
    /// A trusted source's verifying key (JWK), trusted for every event type; repeat for
    /// several sources or keys.
    #[arg(
        long,
        value_name = "VERIFY_JWK",
        required_unless_present = "trust_file"
    )]
    trust: Vec<PathBuf>,
    /// A trust file (sources, keys with windows, allowed event types, accounts).
    #[arg(long, value_name = "FILE")]
    trust_file: Option<PathBuf>,
    /// The input is an EventBridge event as delivered to a target; its account, source and
    /// detail-type are bound to the envelope in its detail (needs a trust file with accounts
    /// and an EventBridge source).
    #[arg(long)]
    eventbridge: bool,
    /// SQLite file that records opened envelopes (created if missing).
    #[arg(long, value_name = "FILE")]
    replay_db: Option<PathBuf>,
    /// Redis server that records opened envelopes, shared by every instance of the consumer
    /// (redis://[:PASSWORD@]HOST:PORT or rediss:// for TLS; needs the `redis` feature).
    #[arg(long, value_name = "URL", conflicts_with = "now")]
    replay_redis: Option<String>,
    /// With a rediss:// --replay-redis: trust only the CA certificates in FILE (PEM) for the
    /// server's certificate, instead of the platform's roots.
    #[arg(long, value_name = "FILE", requires = "replay_redis")]
    replay_redis_ca: Option<PathBuf>,
    /// DANGEROUS: do not check or record replays (for inspecting archived envelopes).
    #[arg(long)]
    no_replay_check: bool,
    /// Allowed clock skew in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    max_skew: u64,
    /// Longest signed lifetime accepted, in seconds.
    #[arg(long, default_value_t = 48 * 3600, value_name = "SECONDS")]
    max_lifetime: u64,
    /// Check freshness as of this Unix time instead of now (for archived envelopes). Only
    /// with --no-replay-check: a replay database must only ever see the real clock, or a
    /// future --now would purge live entries.
    #[arg(
        long,
        value_name = "UNIX_SECONDS",
        allow_negative_numbers = true,
        conflicts_with = "replay_db"
    )]
    now: Option<i64>,
    /// Read the envelope from FILE instead of stdin.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Write the payload to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the verified header as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    header_output: Option<PathBuf>,
}

#[derive(clap::Args)]
struct InspectArgs {
    /// Read the envelope from FILE instead of stdin.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
}

/// Why the tool stopped, mapped to an exit code.
enum Failure {
    /// An envelope was rejected (exit 3).
    Rejected(eventseal::Error),
    /// Anything else (exit 1).
    Other(String),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Other(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen(k) => keygen(k),
        Command::Seal(a) => seal(a),
        Command::Open(a) => open(a),
        Command::Inspect(a) => inspect(a),
        Command::Trust(TrustCmd::Add(a)) => trust_add(a),
        Command::Trust(TrustCmd::Check { file }) => trust_check(&file),
        Command::Webhook(WebhookCmd::Verify(a)) => webhook_verify(a),
        Command::Webhook(WebhookCmd::Sign(a)) => webhook_sign(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Rejected(e)) => {
            eprintln!("eventseal: rejected: {}", e.kind());
            ExitCode::from(3)
        }
        Err(Failure::Other(msg)) => {
            eprintln!("eventseal: error: {msg}");
            ExitCode::from(1)
        }
    }
}

fn read_input(path: Option<&Path>) -> Result<Vec<u8>, Failure> {
    match path {
        Some(p) => fs::read(p).map_err(|e| Failure::Other(format!("{}: {e}", p.display()))),
        None => {
            let mut buf = Vec::new();
            io::stdin().lock().read_to_end(&mut buf)?;
            Ok(buf)
        }
    }
}

fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<(), Failure> {
    match path {
        Some(p) => fs::write(p, bytes).map_err(|e| Failure::Other(format!("{}: {e}", p.display()))),
        None => {
            let mut out = io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()?;
            Ok(())
        }
    }
}

fn read_key<T>(path: &Path, load: fn(&str) -> eventseal::Result<T>) -> Result<T, Failure> {
    let text = zeroize::Zeroizing::new(
        fs::read_to_string(path).map_err(|e| Failure::Other(format!("{}: {e}", path.display())))?,
    );
    load(&text).map_err(|e| Failure::Other(format!("{}: {e}", path.display())))
}

/// Writes `contents` to a new file; secret files get mode 0600 from the start.
fn write_new_file(path: &Path, contents: &str, secret: bool) -> Result<(), Failure> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    let _ = secret;
    let mut f = opts.open(path).map_err(|e| {
        Failure::Other(format!(
            "{}: {e} (refusing to overwrite an existing key)",
            path.display()
        ))
    })?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(())
}

fn keygen(k: Keygen) -> Result<(), Failure> {
    let rejected = |e: eventseal::Error| Failure::Other(e.to_string());
    match k {
        Keygen::Signing {
            source,
            alg,
            out_dir,
        } => {
            let alg = if alg == "p256" {
                SignatureAlgorithm::EcdsaP256Sha256
            } else {
                SignatureAlgorithm::Ed25519
            };
            let key = SigningKey::generate_with(&source, alg).map_err(rejected)?;
            fs::create_dir_all(&out_dir)?;
            let secret = out_dir.join(format!("{source}.sign.jwk"));
            let public = out_dir.join(format!("{source}.verify.jwk"));
            write_new_file(&secret, &key.to_secret_jwk(), true)?;
            write_new_file(&public, &key.verifying_key().to_jwk(), false)?;
            eprintln!(
                "wrote {} (secret) and {} (kid {})",
                secret.display(),
                public.display(),
                key.key_id()
            );
        }
        Keygen::Recipient { consumer, out_dir } => {
            let key = RecipientSecretKey::generate(&consumer).map_err(rejected)?;
            fs::create_dir_all(&out_dir)?;
            let secret = out_dir.join(format!("{consumer}.recipient.jwk"));
            let public = out_dir.join(format!("{consumer}.recipient.pub.jwk"));
            write_new_file(&secret, &key.to_secret_jwk(), true)?;
            write_new_file(&public, &key.public_key().to_jwk(), false)?;
            eprintln!(
                "wrote {} (secret) and {} (kid {})",
                secret.display(),
                public.display(),
                key.key_id()
            );
        }
        Keygen::Symmetric { consumer, out_dir } => {
            let key = SymmetricKey::generate(&consumer).map_err(rejected)?;
            fs::create_dir_all(&out_dir)?;
            let secret = out_dir.join(format!("{consumer}.psk.jwk"));
            write_new_file(&secret, &key.to_secret_jwk(), true)?;
            eprintln!("wrote {} (secret, kid {})", secret.display(), key.key_id());
        }
    }
    Ok(())
}

/// A recipient key file: a consumer's public key or a pre-shared key, told apart by `kty`.
enum ToKey {
    Public(RecipientPublicKey),
    Symmetric(SymmetricKey),
}

fn is_oct(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .is_some_and(|v| v["kty"] == "oct")
}

fn read_to(path: &Path) -> Result<ToKey, Failure> {
    let text = zeroize::Zeroizing::new(
        fs::read_to_string(path).map_err(|e| Failure::Other(format!("{}: {e}", path.display())))?,
    );
    let key = if is_oct(&text) {
        SymmetricKey::from_jwk(&text).map(ToKey::Symmetric)
    } else {
        RecipientPublicKey::from_jwk(&text).map(ToKey::Public)
    };
    key.map_err(|e| Failure::Other(format!("{}: {e}", path.display())))
}

fn read_consumer_key(path: &Path) -> Result<ConsumerKey, Failure> {
    let text = zeroize::Zeroizing::new(
        fs::read_to_string(path).map_err(|e| Failure::Other(format!("{}: {e}", path.display())))?,
    );
    let key = if is_oct(&text) {
        SymmetricKey::from_jwk(&text).map(ConsumerKey::from)
    } else {
        RecipientSecretKey::from_jwk(&text).map(ConsumerKey::from)
    };
    key.map_err(|e| Failure::Other(format!("{}: {e}", path.display())))
}

fn seal(a: SealArgs) -> Result<(), Failure> {
    let key = read_key(&a.key, SigningKey::from_jwk)?;
    let recipients =
        a.to.iter()
            .map(|p| read_to(p))
            .collect::<Result<Vec<_>, _>>()?;
    let payload = read_input(a.input.as_deref())?;
    let to: Vec<SealTo<'_>> = recipients
        .iter()
        .map(|r| match r {
            ToKey::Public(k) => SealTo::from(k),
            ToKey::Symmetric(k) => SealTo::from(k),
        })
        .collect();
    let mut sealer = Sealer::new(key).with_content_type(a.content_type);
    if a.eventbridge_entry {
        sealer = sealer.with_eventbridge_defaults();
    }
    if let Some(ttl) = a.ttl {
        sealer = sealer.with_ttl(Duration::from_secs(ttl));
    }
    let envelope = sealer
        .seal(&a.event_type, &payload, &to)
        .map_err(|e| Failure::Other(e.to_string()))?;
    let mut out = match (&a.bus, &a.source_name) {
        (Some(bus), Some(source)) if a.eventbridge_entry => {
            PutEventsEntry::new(&envelope, source, bus)
                .map_err(|e| Failure::Other(e.to_string()))?
                .to_json()
        }
        _ => envelope.into_string(),
    };
    out.push('\n');
    write_output(a.output.as_deref(), out.as_bytes())
}

fn header_json(h: &Header) -> serde_json::Value {
    let rfc3339 = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.to_rfc3339())
            .unwrap_or_else(|| "out of range".to_owned())
    };
    serde_json::json!({
        "id": h.id().to_string(),
        "source": h.source(),
        "key_id": h.key_id(),
        "event_type": h.event_type(),
        "content_type": h.content_type(),
        "issued_at": h.issued_at(),
        "issued_at_utc": rfc3339(h.issued_at()),
        "expires_at": h.expires_at(),
        "expires_at_utc": rfc3339(h.expires_at()),
        "recipients": h.recipients().iter().map(|r| serde_json::json!({
            "consumer": r.consumer(),
            "key_id": r.key_id(),
        })).collect::<Vec<_>>(),
    })
}

fn open(a: OpenArgs) -> Result<(), Failure> {
    let keys = a
        .key
        .iter()
        .map(|p| read_consumer_key(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut trust = match &a.trust_file {
        Some(f) => TrustStore::load(f).map_err(|e| Failure::Other(e.to_string()))?,
        None => TrustStore::new(),
    };
    for p in &a.trust {
        let key = read_key(p, VerifyingKey::from_jwk)?;
        if a.trust_file.is_some() && trust.source(key.source()).is_some() {
            return Err(Failure::Other(format!(
                "{}: source {:?} is in the trust file; add the key there (eventseal trust add)",
                p.display(),
                key.source()
            )));
        }
        trust.add(key);
    }
    let clock: Arc<dyn Clock> = match a.now {
        Some(t) => Arc::new(FixedClock::new(t)),
        None => Arc::new(SystemClock),
    };
    let opener = match (&a.replay_db, &a.replay_redis) {
        (Some(db), _) => Opener::new(keys, trust, sqlite_store(db, clock.now())?),
        (None, Some(url)) => {
            Opener::new(keys, trust, redis_store(url, a.replay_redis_ca.as_deref())?)
        }
        (None, None) => Opener::new_without_replay_check_dangerous(keys, trust),
    }
    .with_clock(clock)
    .with_freshness(
        Freshness::default()
            .with_max_skew(Duration::from_secs(a.max_skew))
            .with_max_lifetime(Duration::from_secs(a.max_lifetime)),
    );
    let input = read_input(a.input.as_deref())?;
    let opened = if a.eventbridge {
        opener.open_eventbridge(trim_line_end(&input))
    } else {
        opener.open(trim_line_end(&input))
    }
    .map_err(Failure::Rejected)?;
    if let Some(p) = &a.header_output {
        let mut text = serde_json::to_string_pretty(&header_json(opened.header()))
            .map_err(|e| Failure::Other(e.to_string()))?;
        text.push('\n');
        write_output(Some(p), text.as_bytes())?;
    }
    write_output(a.output.as_deref(), opened.payload())
}

/// Envelopes written by `seal` end with one newline; accept it (and CRLF) when reading back.
fn trim_line_end(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

fn inspect(a: InspectArgs) -> Result<(), Failure> {
    let envelope = read_input(a.input.as_deref())?;
    let env = UntrustedEnvelope::parse(trim_line_end(&envelope), &Limits::default())
        .map_err(Failure::Rejected)?;
    let out = serde_json::json!({
        "verified": false,
        "warning": "UNVERIFIED: the signature has not been checked; do not act on these fields",
        "header": header_json(env.untrusted_header()),
    });
    let mut text = serde_json::to_string_pretty(&out).map_err(|e| Failure::Other(e.to_string()))?;
    text.push('\n');
    write_output(None, text.as_bytes())
}

fn parse_rfc3339(text: Option<&str>, what: &str) -> Result<Option<i64>, Failure> {
    text.map(|t| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp())
            .map_err(|e| Failure::Other(format!("--{what} {t:?}: not an RFC 3339 time: {e}")))
    })
    .transpose()
}

fn trust_add(a: TrustAddArgs) -> Result<(), Failure> {
    let other = |e: eventseal::Error| Failure::Other(e.to_string());
    let mut trust = if a.file.exists() {
        TrustStore::load(&a.file).map_err(other)?
    } else {
        TrustStore::new()
    };
    let key = read_key(&a.key, VerifyingKey::from_jwk)?;
    let not_before = parse_rfc3339(a.not_before.as_deref(), "not-before")?;
    let not_after = parse_rfc3339(a.not_after.as_deref(), "not-after")?;
    let mut source = match trust.source(&a.source) {
        Some(s) => s.clone(),
        None => TrustedSource::new(&a.source).map_err(other)?,
    };
    source
        .add_key(TrustedKey::new(key).with_window(not_before, not_after))
        .map_err(other)?;
    for p in &a.allow {
        source.allow(p).map_err(other)?;
    }
    for acct in &a.accounts {
        source.add_account(acct).map_err(other)?;
    }
    if let Some(name) = &a.eventbridge_source {
        source.set_eventbridge_source(name).map_err(other)?;
    }
    trust.add_source(source);
    // Write to a temporary file and rename, so a crash never leaves half a trust file.
    let tmp = a.file.with_extension("tmp");
    fs::write(&tmp, trust.to_json())?;
    fs::rename(&tmp, &a.file)?;
    eprintln!("updated {}", a.file.display());
    trust_check(&a.file)
}

fn trust_check(file: &Path) -> Result<(), Failure> {
    let trust = TrustStore::load(file).map_err(|e| Failure::Other(e.to_string()))?;
    let time = |t: Option<i64>| {
        t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
            .map(|d| d.to_rfc3339())
            .unwrap_or_else(|| "-".to_owned())
    };
    let mut out = String::new();
    for s in trust.sources() {
        let allowed: Vec<&str> = s.allowed().iter().map(|p| p.as_str()).collect();
        out.push_str(&format!("source {}\n", s.id()));
        out.push_str(&format!(
            "  may send:           {}\n",
            if allowed.is_empty() {
                "nothing (no allow patterns)".to_owned()
            } else {
                allowed.join(", ")
            }
        ));
        out.push_str(&format!(
            "  EventBridge source: {}\n  accounts:           {}\n",
            s.eventbridge_source().unwrap_or("-"),
            if s.accounts().is_empty() {
                "-".to_owned()
            } else {
                s.accounts().join(", ")
            }
        ));
        for k in s.keys() {
            out.push_str(&format!(
                "  key {} ({:?}) valid {} .. {}\n",
                k.key().key_id(),
                k.key().algorithm(),
                time(k.not_before()),
                time(k.not_after())
            ));
        }
    }
    if out.is_empty() {
        out.push_str("trusts nothing\n");
    }
    write_output(None, out.as_bytes())
}

fn webhook_verify(a: WebhookVerifyArgs) -> Result<(), Failure> {
    let verifier =
        eventseal::webhook::by_name(&a.provider, &a.secrets, Duration::from_secs(a.tolerance))
            .map_err(|e| Failure::Other(e.to_string()))?;
    let mut headers = Vec::with_capacity(a.headers.len());
    for h in &a.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| Failure::Other(format!("--header {h:?}: expected 'Name: value'")))?;
        headers.push((name.trim(), value.trim_start()));
    }
    let body = read_input(a.body.as_deref())?;
    let mut request = eventseal::webhook::Request::new(headers, &body);
    if let Some(url) = a.url.as_deref() {
        request = request.with_url(url);
    }
    let now = a.now.unwrap_or_else(|| SystemClock.now());
    let verified = verifier.verify(&request, now).map_err(Failure::Rejected)?;
    let out = serde_json::json!({
        "provider": verified.provider,
        "id": verified.id,
        "timestamp": verified.timestamp,
    });
    write_output(None, format!("{out}\n").as_bytes())
}

fn webhook_sign(a: WebhookSignArgs) -> Result<(), Failure> {
    let signer = eventseal::webhook::StandardSigner::new(&a.secret)
        .map_err(|e| Failure::Other(e.to_string()))?;
    let body = read_input(a.body.as_deref())?;
    let ts = a.timestamp.unwrap_or_else(|| SystemClock.now());
    let headers = signer
        .headers(&a.id, ts, &body)
        .map_err(|e| Failure::Other(e.to_string()))?;
    let text: String = headers.iter().map(|(n, v)| format!("{n}: {v}\n")).collect();
    write_output(None, text.as_bytes())
}

#[cfg(feature = "sqlite")]
fn sqlite_store(path: &Path, now: i64) -> Result<Arc<dyn eventseal::ReplayStore>, Failure> {
    let store = eventseal::SqliteReplayStore::open(path, now).map_err(Failure::Rejected)?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "sqlite"))]
fn sqlite_store(_path: &Path, _now: i64) -> Result<Arc<dyn eventseal::ReplayStore>, Failure> {
    Err(Failure::Other(
        "--replay-db needs eventseal built with the `sqlite` feature (the default)".to_owned(),
    ))
}

#[cfg(feature = "redis")]
fn redis_store(
    url: &str,
    ca: Option<&std::path::Path>,
) -> Result<Arc<dyn eventseal::ReplayStore>, Failure> {
    let store = match ca {
        None => eventseal::RedisReplayStore::new(url),
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| Failure::Other(format!("{}: {e}", path.display())))?;
            eventseal::RedisReplayStore::with_root_certificates(url, &pem)
        }
    }
    .map_err(|e| Failure::Other(e.to_string()))?;
    Ok(Arc::new(store))
}

#[cfg(not(feature = "redis"))]
fn redis_store(
    _url: &str,
    _ca: Option<&std::path::Path>,
) -> Result<Arc<dyn eventseal::ReplayStore>, Failure> {
    Err(Failure::Other(
        "--replay-redis needs eventseal built with the `redis` feature (the default)".to_owned(),
    ))
}

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
    Clock, FixedClock, Freshness, Header, Limits, Opener, RecipientPublicKey, RecipientSecretKey,
    Sealer, SigningKey, SqliteReplayStore, SystemClock, TrustStore, UntrustedEnvelope,
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
}

#[derive(Subcommand)]
enum Keygen {
    /// A source's Ed25519 signing key: DIR/SRC.sign.jwk (secret, 0600) and DIR/SRC.verify.jwk.
    Signing {
        /// The source id this key signs for.
        #[arg(long)]
        source: String,
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
}

#[derive(clap::Args)]
struct SealArgs {
    /// The source's signing key (secret JWK).
    #[arg(long, value_name = "SIGNING_JWK")]
    key: PathBuf,
    /// The event type.
    #[arg(long = "type", value_name = "TYPE")]
    event_type: String,
    /// A recipient's public key (JWK); repeat for several consumers.
    #[arg(long = "to", value_name = "RECIPIENT_PUB_JWK", required = true)]
    to: Vec<PathBuf>,
    /// Time-to-live in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    ttl: u64,
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
#[command(group(ArgGroup::new("replay").required(true).args(["replay_db", "no_replay_check"])))]
struct OpenArgs {
    /// The consumer's recipient key (secret JWK); repeat during key rotation.
    #[arg(long, value_name = "RECIPIENT_JWK", required = true)]
    key: Vec<PathBuf>,
    /// A trusted source's verifying key (JWK); repeat for several sources or keys.
    #[arg(long, value_name = "VERIFY_JWK", required = true)]
    trust: Vec<PathBuf>,
    /// SQLite file that records opened envelopes (created if missing).
    #[arg(long, value_name = "FILE")]
    replay_db: Option<PathBuf>,
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
        Keygen::Signing { source, out_dir } => {
            let key = SigningKey::generate(&source).map_err(rejected)?;
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
    }
    Ok(())
}

fn seal(a: SealArgs) -> Result<(), Failure> {
    let key = read_key(&a.key, SigningKey::from_jwk)?;
    let recipients =
        a.to.iter()
            .map(|p| read_key(p, RecipientPublicKey::from_jwk))
            .collect::<Result<Vec<_>, _>>()?;
    let payload = read_input(a.input.as_deref())?;
    let refs: Vec<&RecipientPublicKey> = recipients.iter().collect();
    let sealer = Sealer::new(key)
        .with_ttl(Duration::from_secs(a.ttl))
        .with_content_type(a.content_type);
    let envelope = sealer
        .seal(&a.event_type, &payload, &refs)
        .map_err(|e| Failure::Other(e.to_string()))?;
    let mut out = envelope.into_string();
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
        .map(|p| read_key(p, RecipientSecretKey::from_jwk))
        .collect::<Result<Vec<_>, _>>()?;
    let trust: TrustStore = a
        .trust
        .iter()
        .map(|p| read_key(p, VerifyingKey::from_jwk))
        .collect::<Result<_, _>>()?;
    let clock: Arc<dyn Clock> = match a.now {
        Some(t) => Arc::new(FixedClock::new(t)),
        None => Arc::new(SystemClock),
    };
    let opener = match &a.replay_db {
        Some(db) => {
            let store = SqliteReplayStore::open(db, clock.now()).map_err(Failure::Rejected)?;
            Opener::new(keys, trust, Arc::new(store))
        }
        None => Opener::new_without_replay_check_dangerous(keys, trust),
    }
    .with_clock(clock)
    .with_freshness(
        Freshness::default()
            .with_max_skew(Duration::from_secs(a.max_skew))
            .with_max_lifetime(Duration::from_secs(a.max_lifetime)),
    );
    let envelope = read_input(a.input.as_deref())?;
    let opened = opener
        .open(trim_line_end(&envelope))
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

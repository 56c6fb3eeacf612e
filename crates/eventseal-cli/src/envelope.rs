//! `seal`, `open` and `inspect`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::ArgGroup;
use eventseal::{
    Clock, ConsumerKey, DeliveredEvent, FixedClock, Freshness, Header, Limits, Opened, Opener,
    ProcessError, PutEventsEntry, RecipientPublicKey, RecipientSecretKey, SealTo, Sealer,
    SymmetricKey, SystemClock, TrustStore, UntrustedEnvelope, VerifyingKey,
};

use crate::io::{self, Output, Source};
use crate::{duration, handler, parse_duration, stores, Failure};

/// The longest `--ttl` sealed without `--allow-long-ttl`: a consumer's default maximum
/// lifetime (`open --max-lifetime`), so an envelope sealed longer is refused by default.
const LONGEST_DEFAULT_TTL: Duration = Duration::from_secs(48 * 3600);

/// The most an envelope input may be: the envelope limit, plus what a delivered EventBridge
/// event adds around it (the library then applies the exact limits).
fn envelope_input_limit() -> usize {
    Limits::default()
        .max_envelope_bytes
        .saturating_add(16 * 1024)
}

#[derive(clap::Args)]
pub struct SealArgs {
    /// The source's signing key: a secret JWK file ('-' for stdin), or a key URI:
    /// `awskms:///ARN_OR_ALIAS` (AWS KMS, ECC_NIST_P256) or
    /// `pkcs11:token=LABEL;object=LABEL?module-path=PATH&pin-source=file:PATH` (docs/KEYS.md).
    #[arg(
        long = "signing-key",
        visible_alias = "key",
        value_name = "SIGNING_JWK|URI"
    )]
    signing_key: PathBuf,
    /// The source id the key signs for: required with a key URI; with a key file, checked
    /// against the file's.
    #[arg(long, value_name = "ID")]
    source: Option<String>,
    /// The event type.
    #[arg(long = "type", value_name = "TYPE")]
    event_type: String,
    /// A recipient: a consumer's public key (JWK) or a pre-shared key (oct JWK); repeat for
    /// several consumers.
    #[arg(long = "to", value_name = "RECIPIENT_PUB_JWK", required = true)]
    to: Vec<PathBuf>,
    /// Time-to-live [default: 1h, or 25h with --eventbridge-entry]. Longer than 48h (a
    /// consumer's default --max-lifetime) needs --allow-long-ttl.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    ttl: Option<Duration>,
    /// Allow a --ttl longer than 48h; consumers must then raise --max-lifetime to match.
    #[arg(long)]
    allow_long_ttl: bool,
    /// Write a JSON array holding one PutEvents entry (Source, DetailType, Detail,
    /// EventBusName) instead of the bare envelope: `aws events put-events --entries
    /// file://FILE` takes it as it is.
    #[arg(long, requires_all = ["bus", "source_name"])]
    eventbridge_entry: bool,
    /// The event bus name or ARN, with --eventbridge-entry.
    #[arg(long, value_name = "NAME", requires = "eventbridge_entry")]
    bus: Option<String>,
    /// The EventBridge Source, with --eventbridge-entry.
    #[arg(long, value_name = "EB_SOURCE", requires = "eventbridge_entry")]
    source_name: Option<String>,
    /// With --eventbridge-entry: send the entry to the bus with PutEvents (AWS configuration
    /// from the environment, including AWS_ENDPOINT_URL) and print the EventBridge event id,
    /// instead of writing the entry. A failed entry exits 1 with EventBridge's error code.
    #[arg(long, requires = "eventbridge_entry", conflicts_with = "output")]
    put: bool,
    /// The payload's content type.
    #[arg(long, default_value = eventseal::DEFAULT_CONTENT_TYPE)]
    content_type: String,
    /// Read the payload from FILE ('-': stdin, the default).
    #[arg(long, value_name = "FILE", conflicts_with = "payload")]
    input: Option<PathBuf>,
    /// The payload file, as --input.
    #[arg(value_name = "INPUT")]
    payload: Option<PathBuf>,
    /// Write the envelope to FILE ('-': stdout, the default).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(clap::Args)]
#[command(group(ArgGroup::new("replay").required(true).args(["replay_db", "replay_redis", "replay_dynamodb", "no_replay_check"])))]
pub struct OpenArgs {
    /// The consumer's key: a recipient secret JWK or a pre-shared oct JWK; repeat during key
    /// rotation.
    #[arg(
        long = "recipient-key",
        visible_alias = "key",
        value_name = "RECIPIENT_JWK",
        required = true
    )]
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
    /// (redis://[:PASSWORD@]HOST:PORT or rediss:// for TLS).
    #[arg(long, value_name = "URL", conflicts_with = "now")]
    replay_redis: Option<String>,
    /// With a rediss:// --replay-redis: trust only the CA certificates in FILE (PEM) for the
    /// server's certificate, instead of the platform's roots.
    #[arg(long, value_name = "FILE", requires = "replay_redis")]
    replay_redis_ca: Option<PathBuf>,
    /// DynamoDB table that records opened envelopes, shared by every instance of the consumer
    /// (a Lambda Powertools-compatible idempotency table; AWS configuration from the
    /// environment, including AWS_ENDPOINT_URL).
    #[arg(long, value_name = "TABLE", conflicts_with = "now")]
    pub(crate) replay_dynamodb: Option<String>,
    /// DANGEROUS: do not check or record replays (for inspecting archived envelopes).
    #[arg(long)]
    no_replay_check: bool,
    /// The input is a Lambda SQS event (`{"Records":[{"messageId":…,"body":…},…]}`) whose
    /// bodies are delivered EventBridge events (implies --eventbridge): runs the handler once
    /// per opened record and prints the partial batch response
    /// (`{"batchItemFailures":[{"itemIdentifier":…}]}`) on stdout; exit 0 when it could.
    #[arg(long, requires = "handler", conflicts_with_all = ["output", "header_output", "no_replay_check"])]
    pub(crate) sqs_batch: bool,
    /// With --sqs-batch: list permanently rejected records (forged, tampered, stale, …) as
    /// failures, so the queue's redrive policy moves them to its dead-letter queue, instead of
    /// dropping them with an audit event.
    #[arg(long, requires = "sqs_batch")]
    pub(crate) dead_letter_permanent: bool,
    /// With --sqs-batch: handle at most N records at once [default: the available cores].
    #[arg(long, value_name = "N", requires = "sqs_batch", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) workers: Option<u16>,
    /// Allowed clock skew.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_duration)]
    max_skew: Duration,
    /// Longest signed lifetime accepted.
    #[arg(long, default_value = "48h", value_name = "DURATION", value_parser = parse_duration)]
    max_lifetime: Duration,
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
    /// Read the envelope from FILE ('-': stdin, the default).
    #[arg(long, value_name = "FILE", conflicts_with = "envelope")]
    input: Option<PathBuf>,
    /// The envelope file, as --input.
    #[arg(value_name = "INPUT")]
    envelope: Option<PathBuf>,
    /// Write the payload to FILE ('-': stdout, the default); created with mode 0600.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write the verified header as JSON to FILE (mode 0600).
    #[arg(long, value_name = "FILE")]
    header_output: Option<PathBuf>,
    /// How long the envelope's lease is held while the handler runs (or the output is
    /// written) before another open may take it over, for example after this process was
    /// killed.
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = parse_duration)]
    lease: Duration,
    /// The handler, after `--`: it gets the payload on stdin and EVENTSEAL_ENVELOPE_ID,
    /// EVENTSEAL_SOURCE and EVENTSEAL_EVENT_TYPE in its environment. Exit 0 completes the
    /// envelope; any other exit (or a signal) releases it for a retry, and eventseal exits 4.
    #[arg(last = true, value_name = "HANDLER", conflicts_with = "output")]
    handler: Vec<String>,
}

#[derive(clap::Args)]
pub struct InspectArgs {
    /// Read the envelope from FILE ('-': stdin, the default).
    #[arg(long, value_name = "FILE", conflicts_with = "envelope")]
    input: Option<PathBuf>,
    /// The file, as --input: a bare envelope, a delivered EventBridge event, or a PutEvents
    /// entry (or a JSON array of entries, as `seal --eventbridge-entry` writes).
    #[arg(value_name = "INPUT")]
    envelope: Option<PathBuf>,
}

/// A recipient key file: a consumer's public key or a pre-shared key, told apart by `kty`.
enum ToKey {
    Public(RecipientPublicKey),
    Symmetric(SymmetricKey),
}

fn is_oct(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .is_some_and(|v| v.get("kty").and_then(|k| k.as_str()) == Some("oct"))
}

fn read_to(path: &Path) -> Result<ToKey, Failure> {
    let source = Source::from_arg(path);
    let text = zeroize::Zeroizing::new(source.read_text(io::MAX_KEY_FILE_BYTES, "--to")?);
    let key = if is_oct(&text) {
        // A pre-shared key is a secret: permission-checked like one.
        if let Source::File(p) = &source {
            io::warn_if_readable_by_others(p, "a secret key");
        }
        SymmetricKey::from_jwk(&text).map(ToKey::Symmetric)
    } else {
        RecipientPublicKey::from_jwk(&text).map(ToKey::Public)
    };
    key.map_err(|e| Failure::loading(&format!("--to {}", path.display()), e))
}

fn read_consumer_key(path: &Path) -> Result<ConsumerKey, Failure> {
    let text = io::read_secret_key(path, "--recipient-key")?;
    let key = if is_oct(&text) {
        SymmetricKey::from_jwk(&text).map(ConsumerKey::from)
    } else {
        RecipientSecretKey::from_jwk(&text).map(ConsumerKey::from)
    };
    key.map_err(|e| Failure::loading(&format!("--recipient-key {}", path.display()), e))
}

fn read_verifying_key(path: &Path, option: &'static str) -> Result<VerifyingKey, Failure> {
    let text = Source::from_arg(path).read_text(io::MAX_KEY_FILE_BYTES, option)?;
    VerifyingKey::from_jwk(&text)
        .map_err(|e| Failure::loading(&format!("{option} {}", path.display()), e))
}

pub fn seal(a: SealArgs) -> Result<(), Failure> {
    if let Some(ttl) = a.ttl {
        if ttl.is_zero() {
            return Err(Failure::Usage(
                "--ttl 0: an envelope must live at least one second".to_owned(),
            ));
        }
        if ttl > LONGEST_DEFAULT_TTL && !a.allow_long_ttl {
            return Err(Failure::Usage(format!(
                "--ttl {}: longer than 48h, the longest lifetime consumers accept by default \
                 (open --max-lifetime), so they would reject the envelope as \
                 lifetime-too-long; add --allow-long-ttl if your consumers raise \
                 --max-lifetime to match",
                duration::display(ttl)
            )));
        }
    }
    let output = Output::prepare(a.output.as_deref(), "--output", 0o644)?;
    let key = crate::signer::load(&a.signing_key, a.source.as_deref(), "--signing-key")?;
    let recipients =
        a.to.iter()
            .map(|p| read_to(p))
            .collect::<Result<Vec<_>, _>>()?;
    let mut sealer = Sealer::new(key).with_content_type(a.content_type);
    if a.eventbridge_entry {
        sealer = sealer.with_eventbridge_defaults();
    }
    if let Some(ttl) = a.ttl {
        sealer = sealer.with_ttl(ttl);
    }
    let payload = Source::main_input(a.input.as_deref(), a.payload.as_deref())
        .read_bounded(sealer.limits().max_envelope_bytes, "--input")?;
    let to: Vec<SealTo<'_>> = recipients
        .iter()
        .map(|r| match r {
            ToKey::Public(k) => SealTo::from(k),
            ToKey::Symmetric(k) => SealTo::from(k),
        })
        .collect();
    let envelope = sealer
        .seal(&a.event_type, &payload, &to)
        .map_err(|e| match e.kind() {
            eventseal::ErrorKind::TooLarge => Failure::Rejected {
                context: vec![format!("the envelope would be too large: {e}")],
                error: e,
            },
            _ => Failure::Other(e.to_string()),
        })?;
    let mut out = match (&a.bus, &a.source_name) {
        (Some(bus), Some(source)) if a.eventbridge_entry => {
            let entry = PutEventsEntry::new(&envelope, source, bus)
                .map_err(|e| Failure::Other(e.to_string()))?;
            if a.put {
                // The event id EventBridge assigned, on stdout.
                let event_id = crate::aws::put_entry(entry)?;
                return output.commit(format!("{event_id}\n").as_bytes());
            }
            format!("[{}]", entry.to_json())
        }
        _ => envelope.into_string(),
    };
    out.push('\n');
    output.commit(out.as_bytes())
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

fn load_trust(a: &OpenArgs) -> Result<TrustStore, Failure> {
    let mut trust = match &a.trust_file {
        Some(f) => crate::trust::load(f, "--trust-file")?,
        None => TrustStore::new(),
    };
    for p in &a.trust {
        let key = read_verifying_key(p, "--trust")?;
        if a.trust_file.is_some() && trust.source(key.source()).is_some() {
            return Err(Failure::Other(format!(
                "--trust {}: source {:?} is in the trust file; add the key there \
                 (eventseal trust add)",
                p.display(),
                key.source()
            )));
        }
        trust.add(key);
    }
    Ok(trust)
}

pub fn open(a: OpenArgs) -> Result<(), Failure> {
    // Outputs first: an unwritable --output fails before the envelope is claimed.
    let output = Output::prepare(a.output.as_deref(), "--output", 0o600)?;
    let header_output = match &a.header_output {
        Some(p) => Some(Output::prepare(Some(p), "--header-output", 0o600)?),
        None => None,
    };
    if a.handler.is_empty()
        && matches!(
            (&output, &header_output),
            (Output::Stdout, Some(Output::Stdout))
        )
    {
        return Err(Failure::Usage(
            "--output and --header-output both write to stdout; give one a file".to_owned(),
        ));
    }
    let keys = a
        .key
        .iter()
        .map(|p| read_consumer_key(p))
        .collect::<Result<Vec<_>, _>>()?;
    let trust = load_trust(&a)?;
    let clock: Arc<dyn Clock> = match a.now {
        Some(t) => Arc::new(FixedClock::new(t)),
        None => Arc::new(SystemClock),
    };
    let freshness = Freshness::default()
        .with_max_skew(a.max_skew)
        .with_max_lifetime(a.max_lifetime);
    if a.sqs_batch {
        let input = Source::main_input(a.input.as_deref(), a.envelope.as_deref())
            .read_bounded(crate::aws::MAX_SQS_EVENT_BYTES, "--input")?;
        let store = match (&a.replay_db, &a.replay_redis, &a.replay_dynamodb) {
            (Some(db), _, _) => crate::aws::BatchStore::Sqlite(db.clone()),
            (None, Some(url), _) => crate::aws::BatchStore::Redis {
                url: url.clone(),
                ca: match &a.replay_redis_ca {
                    Some(path) => Some(
                        Source::from_arg(path)
                            .read_bounded(io::MAX_CA_FILE_BYTES, "--replay-redis-ca")?,
                    ),
                    None => None,
                },
            },
            (None, None, Some(table)) => crate::aws::BatchStore::DynamoDb(table.clone()),
            (None, None, None) => {
                return Err(Failure::Usage(
                    "--sqs-batch needs a replay store (--replay-db, --replay-redis or \
                     --replay-dynamodb)"
                        .to_owned(),
                ))
            }
        };
        return crate::aws::sqs_batch(
            &input,
            crate::aws::Batch {
                keys,
                trust,
                freshness,
                clock,
                lease: a.lease,
                store,
                dead_letter_permanent: a.dead_letter_permanent,
                workers: a.workers.map(usize::from),
                handler: a.handler,
            },
        );
    }
    let input = Source::main_input(a.input.as_deref(), a.envelope.as_deref())
        .read_bounded(envelope_input_limit(), "--input")?;
    let opener = match (&a.replay_db, &a.replay_redis, &a.replay_dynamodb) {
        (Some(db), _, _) => {
            Opener::new(keys, trust.clone(), stores::sqlite_store(db, clock.now())?)
        }
        (None, Some(url), _) => Opener::new(
            keys,
            trust.clone(),
            stores::redis_store(url, a.replay_redis_ca.as_deref())?,
        ),
        (None, None, Some(table)) => {
            Opener::new(keys, trust.clone(), crate::aws::dynamodb_store(table)?)
        }
        (None, None, None) => Opener::new_without_replay_check_dangerous(keys, trust.clone()),
    }
    .with_clock(clock)
    .with_freshness(freshness)
    .with_lease(a.lease);
    let bytes = trim_line_end(&input);
    // The work done under the envelope's lease: the handler, or writing the outputs. Its
    // success completes the envelope; its failure releases it for a retry.
    let work = |opened: &Opened| -> Result<(), Failure> {
        if let Some(out) = header_output {
            let mut text = serde_json::to_string_pretty(&header_json(opened.header()))
                .map_err(|e| Failure::Other(e.to_string()))?;
            text.push('\n');
            out.commit(text.as_bytes())?;
        }
        match a.handler.split_first() {
            Some((program, args)) => handler::run_handler(program, args, opened, a.lease),
            None => output.commit(opened.payload()),
        }
    };
    let result = if a.eventbridge {
        opener.process_eventbridge(bytes, work)
    } else {
        opener.process(bytes, work)
    };
    result.map_err(|e| match e {
        ProcessError::Rejected(e) => {
            let hint = (e.kind() == eventseal::ErrorKind::BindingMismatch)
                .then(|| binding_hint(bytes, &trust, a.trust_file.as_deref()))
                .flatten();
            Failure::Rejected {
                error: e,
                context: hint.into_iter().collect(),
            }
        }
        ProcessError::Handler { error, release } => match (error, release) {
            (Failure::HandlerFailed(msg), Some(r)) => Failure::HandlerFailed(format!(
                "{msg}\neventseal: warning: the envelope's lease could not be released ({r}); \
                 it lapses after --lease"
            )),
            (other, _) => other,
        },
        ProcessError::NotCompleted(e) => Failure::NotCompleted(e),
    })
}

/// Why an EventBridge binding could not match, when the trust side is the cause: the
/// claimed source has no accounts or no EventBridge source to bind to.
fn binding_hint(event: &[u8], trust: &TrustStore, trust_file: Option<&Path>) -> Option<String> {
    let delivered = DeliveredEvent::parse(event, &Limits::default()).ok()?;
    let envelope = UntrustedEnvelope::parse(delivered.detail_bytes(), &Limits::default()).ok()?;
    let source = envelope.untrusted_header().source();
    let s = trust.source(source)?;
    let file = trust_file.map_or_else(|| "FILE".to_owned(), |f| f.display().to_string());
    if trust_file.is_none() {
        return Some(format!(
            "hint: --eventbridge binds the event to the AWS accounts and EventBridge source of \
             its source, which only a trust file gives: use --trust-file (eventseal trust add \
             --file {file} --source {source} --account ID --eventbridge-source NAME …)"
        ));
    }
    (s.accounts().is_empty() || s.eventbridge_source().is_none()).then(|| {
        format!(
            "hint: the trust file gives source {source:?} no AWS account or no EventBridge \
             source to bind the event to; add them: eventseal trust add --file {file} --source \
             {source} --account ID --eventbridge-source NAME"
        )
    })
}

/// Envelopes written by `seal` end with one newline; accept it (and CRLF) when reading back.
fn trim_line_end(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// What `inspect` was given around the envelope.
fn envelopes_in(bytes: &[u8]) -> Result<Vec<(&'static str, Vec<u8>)>, Failure> {
    let text = std::str::from_utf8(bytes).ok();
    let value: Option<serde_json::Value> = text.and_then(|t| serde_json::from_str(t).ok());
    let detail_of = |v: &serde_json::Value, member: &str| -> Option<Vec<u8>> {
        v.get(member).map(|d| match d.as_str() {
            Some(s) => s.as_bytes().to_vec(),
            None => d.to_string().into_bytes(),
        })
    };
    Ok(match value {
        Some(serde_json::Value::Array(entries)) => {
            let mut out = Vec::new();
            for e in &entries {
                let detail = detail_of(e, "Detail").ok_or_else(|| {
                    Failure::rejected(eventseal::Error::Malformed(
                        "a JSON array that is not PutEvents entries (no Detail)",
                    ))
                })?;
                out.push(("put-events-entry", detail));
            }
            if out.is_empty() {
                return Err(Failure::rejected(eventseal::Error::Malformed(
                    "an empty array of PutEvents entries",
                )));
            }
            out
        }
        Some(v) if v.get("detail-type").is_some() && v.get("detail").is_some() => {
            // A delivered event: the library's parser, so the envelope is its exact bytes.
            let delivered =
                DeliveredEvent::parse(bytes, &Limits::default()).map_err(Failure::rejected)?;
            vec![("eventbridge-event", delivered.detail_bytes().to_vec())]
        }
        Some(v) if v.get("Detail").is_some() => {
            vec![(
                "put-events-entry",
                detail_of(&v, "Detail").unwrap_or_default(),
            )]
        }
        _ => vec![("envelope", trim_line_end(bytes).to_vec())],
    })
}

pub fn inspect(a: InspectArgs) -> Result<(), Failure> {
    let input = Source::main_input(a.input.as_deref(), a.envelope.as_deref())
        .read_bounded(envelope_input_limit(), "--input")?;
    let mut shown = Vec::new();
    for (wrapper, envelope) in envelopes_in(&input)? {
        let env = UntrustedEnvelope::parse(trim_line_end(&envelope), &Limits::default())
            .map_err(Failure::rejected)?;
        shown.push(serde_json::json!({
            "verified": false,
            "warning": "UNVERIFIED: the signature has not been checked; do not act on these fields",
            "input": wrapper,
            "header": header_json(env.untrusted_header()),
        }));
    }
    let out = match <[serde_json::Value; 1]>::try_from(shown) {
        Ok([one]) => one,
        Err(many) => serde_json::Value::Array(many),
    };
    let mut text = serde_json::to_string_pretty(&out).map_err(|e| Failure::Other(e.to_string()))?;
    text.push('\n');
    Output::Stdout.commit(text.as_bytes())
}

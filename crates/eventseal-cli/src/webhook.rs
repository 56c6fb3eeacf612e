//! `webhook verify` and `webhook sign`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Subcommand;
use eventseal::{Clock, SystemClock};
use zeroize::Zeroizing;

use crate::io::{self, Output, Source};
use crate::{parse_duration, Failure};

/// The environment variable holding webhook secrets (one per line), read when neither
/// `--secret` nor `--secret-file` is given.
pub const SECRET_ENV: &str = "EVENTSEAL_WEBHOOK_SECRET";

#[derive(Subcommand)]
pub enum WebhookCmd {
    /// Verify a webhook delivery from its headers and raw body; prints the verified id and
    /// timestamp as JSON.
    Verify(VerifyArgs),
    /// Sign a payload as Standard Webhooks; prints the headers to send.
    Sign(SignArgs),
}

/// Where secrets come from: never only argv.
#[derive(clap::Args)]
pub struct Secrets {
    /// A secret (or, for standard-webhooks v1a, discord and sendgrid, the public key) in the
    /// provider's own encoding; repeat during rotation. Visible to other users in the process
    /// list: prefer --secret-file or EVENTSEAL_WEBHOOK_SECRET.
    #[arg(long = "secret", value_name = "S")]
    secrets: Vec<String>,
    /// A file of secrets, one per line (several during rotation); '-' for stdin.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<PathBuf>,
}

impl Secrets {
    /// `--secret` values and `--secret-file` lines; if neither is given, the lines of
    /// `EVENTSEAL_WEBHOOK_SECRET`.
    fn load(&self) -> Result<Vec<Zeroizing<String>>, Failure> {
        let lines = |text: &str| -> Vec<Zeroizing<String>> {
            text.lines()
                .map(|l| l.trim_end_matches('\r').trim())
                .filter(|l| !l.is_empty())
                .map(|l| Zeroizing::new(l.to_owned()))
                .collect()
        };
        let mut out: Vec<Zeroizing<String>> = self
            .secrets
            .iter()
            .map(|s| Zeroizing::new(s.clone()))
            .collect();
        if let Some(file) = &self.secret_file {
            let source = Source::from_arg(file);
            if let Source::File(p) = &source {
                io::warn_if_readable_by_others(p, "a secret key");
            }
            let text =
                Zeroizing::new(source.read_text(io::MAX_SECRET_FILE_BYTES, "--secret-file")?);
            let found = lines(&text);
            if found.is_empty() {
                return Err(Failure::Other(format!(
                    "--secret-file {}: no secret in it (one per line)",
                    source.name()
                )));
            }
            out.extend(found);
        }
        if out.is_empty() {
            if let Some(env) = std::env::var_os(SECRET_ENV) {
                let env = Zeroizing::new(
                    env.into_string()
                        .map_err(|_| Failure::Other(format!("{SECRET_ENV} is not UTF-8")))?,
                );
                out = lines(&env);
            }
        }
        if out.is_empty() {
            return Err(Failure::Usage(format!(
                "no secret: give --secret-file FILE, set {SECRET_ENV}, or --secret S"
            )));
        }
        Ok(out)
    }
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The provider.
    #[arg(long, value_parser = eventseal::webhook::PROVIDERS.to_vec())]
    provider: String,
    #[command(flatten)]
    secrets: Secrets,
    /// A request header, as 'Name: value'; repeat.
    #[arg(long = "header", value_name = "'Name: value'")]
    headers: Vec<String>,
    /// The full URL the provider requested (Twilio signs it).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Timestamp tolerance, both ways.
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = parse_duration)]
    tolerance: Duration,
    /// Verify as of this Unix time (archived deliveries, published test vectors).
    #[arg(long, value_name = "UNIX_SECONDS")]
    now: Option<i64>,
    /// Read the raw body from FILE ('-': stdin, the default).
    #[arg(long, value_name = "FILE", conflicts_with = "body_file")]
    body: Option<PathBuf>,
    /// The body file, as --body.
    #[arg(value_name = "BODY")]
    body_file: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct SignArgs {
    /// The scheme (only standard-webhooks signs).
    #[arg(long, value_parser = ["standard-webhooks"])]
    provider: String,
    #[command(flatten)]
    secrets: Secrets,
    /// v1a (Ed25519) with a signing key instead of a secret: an Ed25519 secret JWK file, or a
    /// key on a PKCS#11 token (`pkcs11:token=…;object=…?module-path=…&pin-source=file:…`).
    /// Use a key for webhooks only, not a source's envelope key. AWS KMS keys cannot sign v1a
    /// (KMS's Ed25519 signs raw messages of at most 4 KiB).
    #[arg(long, value_name = "SIGNING_JWK|URI", conflicts_with_all = ["secrets", "secret_file"])]
    key: Option<PathBuf>,
    /// The message id (webhook-id): no control characters (it becomes a header line).
    #[arg(long)]
    id: String,
    /// The timestamp (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    timestamp: Option<i64>,
    /// Read the body from FILE ('-': stdin, the default).
    #[arg(long, value_name = "FILE", conflicts_with = "body_file")]
    body: Option<PathBuf>,
    /// The body file, as --body.
    #[arg(value_name = "BODY")]
    body_file: Option<PathBuf>,
}

pub fn run(cmd: WebhookCmd) -> Result<(), Failure> {
    match cmd {
        WebhookCmd::Verify(a) => verify(a),
        WebhookCmd::Sign(a) => sign(a),
    }
}

fn verify(a: VerifyArgs) -> Result<(), Failure> {
    let secrets = a.secrets.load()?;
    let secrets: Vec<&str> = secrets.iter().map(|s| s.as_str()).collect();
    let verifier = eventseal::webhook::by_name(&a.provider, &secrets, a.tolerance)
        .map_err(|e| Failure::Other(e.to_string()))?;
    let mut headers = Vec::with_capacity(a.headers.len());
    for h in &a.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| Failure::Other(format!("--header {h:?}: expected 'Name: value'")))?;
        headers.push((name.trim(), value.trim_start()));
    }
    let body = Source::main_input(a.body.as_deref(), a.body_file.as_deref())
        .read_bounded(io::MAX_WEBHOOK_BODY_BYTES, "--body")?;
    let mut request = eventseal::webhook::Request::new(headers, &body);
    if let Some(url) = a.url.as_deref() {
        request = request.with_url(url);
    }
    let now = a.now.unwrap_or_else(|| SystemClock.now());
    let verified = verifier.verify(&request, now).map_err(Failure::rejected)?;
    let out = serde_json::json!({
        "provider": verified.provider,
        "id": verified.id,
        "timestamp": verified.timestamp,
    });
    Output::Stdout.commit(format!("{out}\n").as_bytes())
}

/// The source id a key URI is opened with for webhook signing (which has no source).
fn uri_source(key: &std::path::Path) -> Option<&'static str> {
    crate::signer::is_uri(key.as_os_str()).then_some("webhook")
}

fn sign(a: SignArgs) -> Result<(), Failure> {
    if let Some(c) = a.id.chars().find(|c| c.is_control()) {
        return Err(Failure::Usage(format!(
            "--id {:?}: contains the control character {:?}; the id becomes the webhook-id \
             header line, so CR, LF and other control characters are refused",
            a.id, c
        )));
    }
    let signer = match &a.key {
        Some(key) => {
            let shown = crate::signer::redact(&key.to_string_lossy());
            if key.to_string_lossy().starts_with(crate::signer::AWSKMS) {
                return Err(Failure::Usage(format!(
                    "--key {shown}: AWS KMS keys cannot sign Standard Webhooks v1a (pure \
                     Ed25519 over id.timestamp.body, with no size limit: KMS signs only P-256 \
                     here, and its Ed25519 takes raw messages of at most 4 KiB); use an \
                     Ed25519 key on a PKCS#11 token or a key file"
                )));
            }
            // A webhook key signs for no eventseal source; a URI needs a placeholder id.
            let signer = crate::signer::load(key, uri_source(key), "--key")?;
            eventseal::webhook::StandardSigner::from_signer(signer)
                .map_err(|e| Failure::Other(format!("--key {shown}: {e}")))?
        }
        None => {
            let secrets = a.secrets.load()?;
            let [secret] = secrets.as_slice() else {
                return Err(Failure::Usage(format!(
                    "webhook sign takes one secret; {} were given",
                    secrets.len()
                )));
            };
            eventseal::webhook::StandardSigner::new(secret)
                .map_err(|e| Failure::Other(e.to_string()))?
        }
    };
    let body = Source::main_input(a.body.as_deref(), a.body_file.as_deref())
        .read_bounded(io::MAX_WEBHOOK_BODY_BYTES, "--body")?;
    let ts = a.timestamp.unwrap_or_else(|| SystemClock.now());
    let headers = signer
        .headers(&a.id, ts, &body)
        .map_err(|e| Failure::Other(e.to_string()))?;
    let text: String = headers.iter().map(|(n, v)| format!("{n}: {v}\n")).collect();
    Output::Stdout.commit(text.as_bytes())
}

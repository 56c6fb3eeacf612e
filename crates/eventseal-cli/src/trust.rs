//! `trust add`, `trust remove` and `trust check`.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use eventseal::{SignatureAlgorithm, TrustStore, TrustedKey, TrustedSource, VerifyingKey};

use crate::io::{self, Output, Source};
use crate::Failure;

#[derive(Subcommand)]
pub enum TrustCmd {
    /// Create or update a trust file: trust a verifying key for SOURCE, with its policy.
    Add(TrustAddArgs),
    /// Stop trusting a key (or a whole source): revocation is removal.
    Remove(TrustRemoveArgs),
    /// Validate a trust file and print what it trusts.
    Check(TrustCheckArgs),
}

#[derive(clap::Args)]
pub struct TrustAddArgs {
    /// The trust file (created if missing; rewritten atomically).
    #[arg(long, value_name = "TRUST_FILE")]
    file: PathBuf,
    /// The source id.
    #[arg(long)]
    source: String,
    /// The source's verifying key (public JWK); its `source` member must match.
    #[arg(
        long = "verifying-key",
        visible_alias = "key",
        value_name = "VERIFY_JWK"
    )]
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

#[derive(clap::Args)]
pub struct TrustRemoveArgs {
    /// The trust file (rewritten atomically).
    #[arg(long, value_name = "TRUST_FILE")]
    file: PathBuf,
    /// The source id.
    #[arg(long)]
    source: String,
    /// The key id (kid) to remove; without it, the whole source is removed.
    #[arg(long = "key", value_name = "KID")]
    key: Option<String>,
}

#[derive(clap::Args)]
pub struct TrustCheckArgs {
    /// The trust file ('-' for stdin).
    #[arg(long, value_name = "TRUST_FILE", conflicts_with = "path")]
    file: Option<PathBuf>,
    /// The trust file, as --file.
    #[arg(value_name = "TRUST_FILE", required_unless_present = "file")]
    path: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: TrustCmd) -> Result<(), Failure> {
    match cmd {
        TrustCmd::Add(a) => add(a),
        TrustCmd::Remove(a) => remove(a),
        TrustCmd::Check(a) => {
            let file = a.file.or(a.path).unwrap_or_default();
            check(&file, a.json)
        }
    }
}

/// Loads a trust file (`-`: stdin), bounded by the library's cap: over it is `too-large`
/// (exit 3); anything else wrong is a failure naming the file (exit 1).
pub fn load(path: &Path, option: &'static str) -> Result<TrustStore, Failure> {
    let what = format!("{option} {}", path.display());
    let max = eventseal::MAX_TRUST_FILE_BYTES;
    let text = Source::from_arg(path).read_text(max, option)?;
    TrustStore::from_json_with_max_bytes(&text, max).map_err(|e| Failure::loading(&what, e))
}

fn writable_file(path: &Path) -> Result<(), Failure> {
    if path.as_os_str() == "-" {
        return Err(Failure::Usage(
            "--file -: the trust file is read and rewritten, so it must be a file".to_owned(),
        ));
    }
    Ok(())
}

/// Writes a trust file through a randomly named temporary file created exclusively in the
/// same directory, synced, then renamed over the file.
fn save(trust: &TrustStore, path: &Path) -> Result<(), Failure> {
    let mut text = trust.to_json();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    io::write_atomically(path, "--file", text.as_bytes(), 0o644)
}

fn parse_rfc3339(text: Option<&str>, what: &str) -> Result<Option<i64>, Failure> {
    text.map(|t| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp())
            .map_err(|e| {
                Failure::Usage(format!(
                    "--{what} {t:?}: not an RFC 3339 time ({e}); write it like \
                     2026-12-04T00:00:00Z"
                ))
            })
    })
    .transpose()
}

fn add(a: TrustAddArgs) -> Result<(), Failure> {
    let other = |e: eventseal::Error| Failure::Other(e.to_string());
    writable_file(&a.file)?;
    let exists = a.file.exists();
    let mut trust = if exists {
        load(&a.file, "--file")?
    } else {
        TrustStore::new()
    };
    let key_text = Source::from_arg(&a.key).read_text(io::MAX_KEY_FILE_BYTES, "--verifying-key")?;
    let key = VerifyingKey::from_jwk(&key_text)
        .map_err(|e| Failure::loading(&format!("--verifying-key {}", a.key.display()), e))?;
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
    save(&trust, &a.file)?;
    eprintln!(
        "{} {}",
        if exists { "updated" } else { "created" },
        a.file.display()
    );
    check(&a.file, false)
}

fn remove(a: TrustRemoveArgs) -> Result<(), Failure> {
    writable_file(&a.file)?;
    let trust = load(&a.file, "--file")?;
    let Some(current) = trust.source(&a.source) else {
        return Err(Failure::Other(format!(
            "{}: no source {:?} to remove",
            a.file.display(),
            a.source
        )));
    };
    let mut rebuilt = TrustStore::new();
    let mut said = String::new();
    for s in trust.sources() {
        if s.id() != current.id() {
            rebuilt.add_source(s.clone());
            continue;
        }
        match &a.key {
            None => said = format!("removed source {} and its keys", s.id()),
            Some(kid) => {
                let mut kept = s.clone();
                if !kept.remove_key(kid) {
                    return Err(Failure::Other(format!(
                        "{}: source {:?} has no key {kid:?} (eventseal trust check {} lists them)",
                        a.file.display(),
                        a.source,
                        a.file.display()
                    )));
                }
                if kept.keys().is_empty() {
                    said = format!(
                        "removed key {kid}, the last of source {}: removed the source",
                        s.id()
                    );
                } else {
                    said = format!("removed key {kid} of source {}", s.id());
                    rebuilt.add_source(kept);
                }
            }
        }
    }
    save(&rebuilt, &a.file)?;
    eprintln!("{said}; updated {}", a.file.display());
    check(&a.file, false)
}

/// The algorithm as users name it.
fn algorithm_name(alg: SignatureAlgorithm) -> &'static str {
    match alg {
        SignatureAlgorithm::Ed25519 => "Ed25519",
        SignatureAlgorithm::EcdsaP256Sha256 => "ES256",
        _ => "unknown",
    }
}

fn check(file: &Path, json: bool) -> Result<(), Failure> {
    let trust = load(file, "--file")?;
    let time = |t: Option<i64>| t.and_then(|t| chrono::DateTime::from_timestamp(t, 0));
    let text = if json {
        let sources: Vec<_> = trust
            .sources()
            .map(|s| {
                serde_json::json!({
                    "source": s.id(),
                    "may_send": s.allowed().iter().map(|p| p.as_str()).collect::<Vec<_>>(),
                    "eventbridge_source": s.eventbridge_source(),
                    "accounts": s.accounts(),
                    "keys": s.keys().iter().map(|k| serde_json::json!({
                        "kid": k.key().key_id().to_string(),
                        "algorithm": algorithm_name(k.key().algorithm()),
                        "not_before": time(k.not_before()).map(|d| d.to_rfc3339()),
                        "not_after": time(k.not_after()).map(|d| d.to_rfc3339()),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let mut t = serde_json::to_string_pretty(&serde_json::json!({ "sources": sources }))
            .map_err(|e| Failure::Other(e.to_string()))?;
        t.push('\n');
        t
    } else {
        let show = |t: Option<i64>| time(t).map_or_else(|| "-".to_owned(), |d| d.to_rfc3339());
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
                    "  key {} ({}) valid {} .. {}\n",
                    k.key().key_id(),
                    algorithm_name(k.key().algorithm()),
                    show(k.not_before()),
                    show(k.not_after())
                ));
            }
        }
        if out.is_empty() {
            out.push_str("trusts nothing\n");
        }
        out
    };
    Output::Stdout.commit(text.as_bytes())
}

//! `eventseal`: the command-line tool over the library.
//!
//! Exit codes: 0 success; 2 usage error; 3 envelope rejected (first stderr line
//! `eventseal: rejected: KIND`); 4 the handler of `open … -- HANDLER` failed (the envelope
//! is released); 5 the work was done but the record could not be completed (`eventseal: not
//! completed: KIND`); 1 any other failure (I/O, unreadable key file, …).
//! Every input is read up to its limit plus one byte; every output file is written through a
//! temporary file and a rename.

#![forbid(unsafe_code)]

mod aws;
mod duration;
mod envelope;
mod handler;
mod io;
mod keys;
mod signer;
mod stores;
mod trust;
mod webhook;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgGroup, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "eventseal",
    version,
    about = "Seal and open signed, per-consumer encrypted event envelopes; verify webhooks",
    after_help = "FILE arguments take '-' for stdin (inputs) or stdout (outputs).\n\
                  Durations: 90 or 90s, 5m, 25h, 2d.\n\
                  Exit codes: 0 success, 1 failure (I/O, keys), 2 usage, 3 rejected \
                  (first stderr line: eventseal: rejected: KIND), 4 the handler of \
                  `open … -- HANDLER` failed (the envelope is released for a retry), 5 the \
                  work was done but the envelope's record could not be completed \
                  (eventseal: not completed: lease-lost or store-unavailable)."
)]
struct Cli {
    /// Print the library's detail for a rejection, and the audit events, on stderr.
    #[arg(short, long, global = true, display_order = 1000)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a key pair and write it as JWK files.
    #[command(subcommand)]
    Keygen(Keygen),
    /// Work with key files: print a public key, import keys made by other tools.
    #[command(subcommand)]
    Key(KeyCmd),
    /// Seal a payload (stdin by default) to one or more consumers.
    Seal(envelope::SealArgs),
    /// Verify, check and decrypt an envelope; writes the exact payload bytes.
    Open(envelope::OpenArgs),
    /// Print an envelope's header as JSON without verifying or decrypting it (a bare
    /// envelope, a delivered EventBridge event, or a PutEvents entry or array of entries).
    Inspect(envelope::InspectArgs),
    /// Create, update and check trust files.
    #[command(subcommand)]
    Trust(trust::TrustCmd),
    /// Verify third-party webhooks, or sign Standard Webhooks.
    #[command(subcommand)]
    Webhook(webhook::WebhookCmd),
}

#[derive(Subcommand)]
enum Keygen {
    /// A source's signing key: DIR/SRC.sign.jwk (secret, 0600) and DIR/SRC.verify.jwk.
    Signing {
        /// The source id this key signs for (also the file name: no '/', no leading '.').
        #[arg(long)]
        source: String,
        /// The algorithm: ed25519 (default) or p256 (ECDSA P-256 / SHA-256).
        #[arg(long, default_value = "ed25519", value_parser = ["ed25519", "p256"])]
        alg: String,
        /// Directory to write the key files into (created if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
    /// A consumer's X25519 recipient key: DIR/ID.recipient.jwk (secret, 0600) and
    /// DIR/ID.recipient.pub.jwk.
    Recipient {
        /// The consumer id this key decrypts for (also the file name).
        #[arg(long)]
        consumer: String,
        /// Directory to write the key files into (created if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
    /// A pre-shared 256-bit key for a consumer: DIR/ID.psk.jwk (secret, 0600), given to both
    /// the consumer and its producers.
    Symmetric {
        /// The consumer id this key decrypts for (also the file name).
        #[arg(long)]
        consumer: String,
        /// Directory to write the key file into (created if missing).
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Print the public JWK of a secret key file (signing or recipient key), or of a
    /// signing key in AWS KMS or on a PKCS#11 token (`--key URI --source ID`): the verifying
    /// JWK, ready for `trust add`.
    Public {
        /// The secret key file ('-' for stdin).
        #[arg(
            value_name = "SECRET_JWK",
            required_unless_present = "key",
            conflicts_with = "key"
        )]
        file: Option<PathBuf>,
        /// A signing key URI: `awskms:///ARN_OR_ALIAS` or `pkcs11:token=…;object=…?…`
        /// (see `seal --key`).
        #[arg(long, value_name = "URI", requires = "source")]
        key: Option<String>,
        /// The source id the key signs for (with --key).
        #[arg(long, value_name = "ID", requires = "key")]
        source: Option<String>,
    },
    /// Bring a key made by another tool into eventseal's form: a JWK (jwcrypto, joserfc,
    /// node jose, WebCrypto exportKey("jwk")) or a PEM file (PKCS#8 private, SEC1 EC private,
    /// SPKI public) for Ed25519, P-256 or X25519, or an oct JWK of 32 bytes. Writes the same
    /// files keygen writes; the key is validated exactly as a generated one.
    #[command(group(ArgGroup::new("owner").required(true).args(["source", "consumer"])))]
    Import {
        /// The source an Ed25519 or P-256 key signs for.
        #[arg(long)]
        source: Option<String>,
        /// The consumer an X25519 or pre-shared key decrypts for.
        #[arg(long)]
        consumer: Option<String>,
        /// Directory to write the key files into (created if missing).
        #[arg(long, value_name = "DIR", default_value = ".")]
        out_dir: PathBuf,
        /// The key file ('-' for stdin).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// Why the tool stopped, mapped to an exit code.
pub enum Failure {
    /// A rejection (exit 3): `eventseal: rejected: KIND`, then the tool's own context (which
    /// file, a hint), then, with `--verbose`, the library's detail.
    Rejected {
        /// The library's error.
        error: eventseal::Error,
        /// Lines the tool adds after the first.
        context: Vec<String>,
    },
    /// A usage error the argument parser could not see (exit 2).
    Usage(String),
    /// `open … -- HANDLER`: the handler failed; the envelope was released (exit 4).
    HandlerFailed(String),
    /// The handler ran (or the output was written), but the envelope's record could not be
    /// completed: `lease-lost` or `store-unavailable` (exit 5).
    NotCompleted(eventseal::Error),
    /// Anything else (exit 1).
    Other(String),
}

impl Failure {
    /// A rejection with no added context.
    pub fn rejected(error: eventseal::Error) -> Self {
        Self::Rejected {
            error,
            context: Vec::new(),
        }
    }

    /// An input over its limit: `too-large`, naming the input.
    pub fn too_large(context: String, limit: usize) -> Self {
        Self::Rejected {
            error: eventseal::Error::TooLarge {
                what: "input bytes",
                limit,
                actual: limit.saturating_add(1),
            },
            context: vec![context],
        }
    }

    /// A library error while loading configuration (keys, trust files): `too-large` stays a
    /// rejection (exit 3), everything else is a failure naming `what` (exit 1).
    pub fn loading(what: &str, error: eventseal::Error) -> Self {
        match error.kind() {
            eventseal::ErrorKind::TooLarge => Self::Rejected {
                context: vec![format!("{what}: {error}")],
                error,
            },
            _ => Self::Other(format!("{what}: {error}")),
        }
    }
}

/// With `--verbose`, the library's audit events are held here and written to stderr after the
/// tool's own lines: the published contract is that a rejection's first stderr line is
/// `eventseal: rejected: KIND`, verbose or not, and the audit event of that rejection is
/// emitted before the tool knows its outcome.
#[derive(Clone, Default)]
struct AuditLines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl AuditLines {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // A thread that panicked while holding the lock left whole lines or none: keep them.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes what was held to stderr and empties the buffer.
    fn flush_to_stderr(&self) {
        use std::io::Write;
        let held = std::mem::take(&mut *self.lock());
        let _ = std::io::stderr().write_all(&held);
    }
}

impl std::io::Write for AuditLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.lock().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let audit = AuditLines::default();
    if cli.verbose {
        let writer = audit.clone();
        tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::INFO)
            .with_target(true)
            .without_time()
            .init();
    }
    let code = run(cli.command, cli.verbose);
    audit.flush_to_stderr();
    code
}

/// Runs one command and reports its outcome on stderr (the first line is the outcome's).
fn run(command: Command, verbose: bool) -> ExitCode {
    let result = match command {
        Command::Keygen(k) => keygen(k),
        Command::Key(KeyCmd::Public { file, key, source }) => match (file, key) {
            (Some(file), _) => keys::public(&file),
            (None, Some(uri)) => keys::public_of_uri(&uri, source.as_deref()),
            (None, None) => Err(Failure::Usage("give a key file or --key URI".into())),
        }
        .and_then(|jwk| io::Output::Stdout.commit(format!("{jwk}\n").as_bytes())),
        Command::Key(KeyCmd::Import {
            source,
            consumer,
            out_dir,
            file,
        }) => {
            let owner = match (source, consumer) {
                (Some(s), _) => keys::Owner::Source(s),
                (None, Some(c)) => keys::Owner::Consumer(c),
                (None, None) => unreachable_usage(),
            };
            keys::import(owner, &file, &out_dir)
        }
        Command::Seal(a) => envelope::seal(a),
        Command::Open(a) => envelope::open(a),
        Command::Inspect(a) => envelope::inspect(a),
        Command::Trust(t) => trust::run(t),
        Command::Webhook(w) => webhook::run(w),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Rejected { error, context }) => {
            eprintln!("eventseal: rejected: {}", error.kind());
            for line in context {
                eprintln!("eventseal: {line}");
            }
            if verbose {
                eprintln!("eventseal: detail: {error}");
            }
            ExitCode::from(3)
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("eventseal: usage: {msg}");
            ExitCode::from(2)
        }
        Err(Failure::HandlerFailed(msg)) => {
            eprintln!("eventseal: handler failed: {msg}");
            ExitCode::from(4)
        }
        Err(Failure::NotCompleted(error)) => {
            eprintln!("eventseal: not completed: {}", error.kind());
            eprintln!(
                "eventseal: the handler succeeded (or the output was written), but the \
                 envelope's record could not be completed: it may be processed again"
            );
            if verbose {
                eprintln!("eventseal: detail: {error}");
            }
            ExitCode::from(5)
        }
        Err(Failure::Other(msg)) => {
            eprintln!("eventseal: error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// clap's required group makes this unreachable; exit as a usage error all the same.
fn unreachable_usage() -> keys::Owner {
    eprintln!("eventseal: usage: give --source or --consumer");
    std::process::exit(2)
}

fn keygen(k: Keygen) -> Result<(), Failure> {
    match k {
        Keygen::Signing {
            source,
            alg,
            out_dir,
        } => keys::keygen(
            keys::Generate::Signing {
                source,
                p256: alg == "p256",
            },
            &out_dir,
        ),
        Keygen::Recipient { consumer, out_dir } => {
            keys::keygen(keys::Generate::Recipient { consumer }, &out_dir)
        }
        Keygen::Symmetric { consumer, out_dir } => {
            keys::keygen(keys::Generate::Symmetric { consumer }, &out_dir)
        }
    }
}

/// clap value parser for durations (`90`, `90s`, `5m`, `25h`, `2d`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    duration::parse(text)
}

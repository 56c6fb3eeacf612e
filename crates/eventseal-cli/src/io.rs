//! Reading and writing files the way a tool handed hostile input must: every read bounded,
//! every output written to a fresh temporary file in the target's directory and renamed over
//! the target (never opened through a symlink, never half-written), `-` for stdin and stdout.

use std::cell::Cell;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::Failure;

/// Key files (JWK or PEM) are far smaller than this; anything larger is not a key.
pub const MAX_KEY_FILE_BYTES: usize = 64 * 1024;
/// A file of webhook secrets, one per line.
pub const MAX_SECRET_FILE_BYTES: usize = 64 * 1024;
/// A PEM file of CA certificates.
pub const MAX_CA_FILE_BYTES: usize = 1024 * 1024;
/// A webhook body: GitHub, the largest of the providers, caps deliveries at 25 MB.
pub const MAX_WEBHOOK_BODY_BYTES: usize = 25 * 1024 * 1024;

thread_local! {
    /// Which option has already taken stdin: two options cannot both read it.
    static STDIN_TAKEN_BY: Cell<Option<&'static str>> = const { Cell::new(None) };
}

/// Where an input comes from: a file, or stdin for `-` (or no option at all, where the
/// command reads stdin by default).
#[derive(Clone, Debug)]
pub enum Source {
    /// Standard input.
    Stdin,
    /// A file.
    File(PathBuf),
}

impl Source {
    /// `-` is stdin; anything else a path.
    pub fn from_arg(path: &Path) -> Self {
        if path.as_os_str() == "-" {
            Self::Stdin
        } else {
            Self::File(path.to_owned())
        }
    }

    /// The main input of a command: `--input FILE`, or the positional `INPUT`, or stdin.
    pub fn main_input(flag: Option<&Path>, positional: Option<&Path>) -> Self {
        flag.or(positional).map_or(Self::Stdin, Self::from_arg)
    }

    /// How to name this input in a message.
    pub fn name(&self) -> String {
        match self {
            Self::Stdin => "stdin".to_owned(),
            Self::File(p) => p.display().to_string(),
        }
    }

    /// Reads at most `limit` bytes; one byte more is `too-large` (exit 3). At most
    /// `limit + 1` bytes are ever read, so `/dev/zero` or an endless pipe costs nothing.
    /// `option` names the option for the one-stdin rule and for messages.
    pub fn read_bounded(&self, limit: usize, option: &'static str) -> Result<Vec<u8>, Failure> {
        let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
        let mut buf = Vec::new();
        let result = match self {
            Self::Stdin => {
                take_stdin(option)?;
                io::stdin().lock().take(cap).read_to_end(&mut buf)
            }
            Self::File(p) => {
                if p.is_dir() {
                    return Err(Failure::Other(format!(
                        "{option} {}: is a directory, not a file",
                        p.display()
                    )));
                }
                fs::File::open(p).and_then(|f| f.take(cap).read_to_end(&mut buf))
            }
        };
        result.map_err(|e| Failure::Other(format!("{option} {}: {e}", self.name())))?;
        if buf.len() > limit {
            return Err(Failure::too_large(
                format!(
                    "{option} {}: more than {limit} bytes (the limit for this input)",
                    self.name()
                ),
                limit,
            ));
        }
        Ok(buf)
    }

    /// [`Source::read_bounded`], as UTF-8 text.
    pub fn read_text(&self, limit: usize, option: &'static str) -> Result<String, Failure> {
        let bytes = self.read_bounded(limit, option)?;
        String::from_utf8(bytes)
            .map_err(|_| Failure::Other(format!("{option} {}: not UTF-8 text", self.name())))
    }
}

fn take_stdin(option: &'static str) -> Result<(), Failure> {
    STDIN_TAKEN_BY.with(|taken| match taken.get() {
        Some(first) if first != option => Err(Failure::Usage(format!(
            "{first} and {option} both read stdin (-); give one of them a file"
        ))),
        _ => {
            taken.set(Some(option));
            Ok(())
        }
    })
}

/// A secret key file: bounded, and a warning when group or others may read it.
pub fn read_secret_key(
    path: &Path,
    option: &'static str,
) -> Result<zeroize::Zeroizing<String>, Failure> {
    let source = Source::from_arg(path);
    if let Source::File(p) = &source {
        warn_if_readable_by_others(p, "a secret key");
    }
    let text = source.read_text(MAX_KEY_FILE_BYTES, option)?;
    Ok(zeroize::Zeroizing::new(text))
}

/// Warns (stderr) when a file holding `what` (a secret: "a secret key", "a PIN") is
/// readable by group or others.
pub fn warn_if_readable_by_others(path: &Path, what: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if meta.is_file() && mode & 0o044 != 0 {
                eprintln!(
                    "eventseal: warning: {} holds {what} and is readable by group or others \
                     (mode {mode:04o}); run: chmod 600 {}",
                    path.display(),
                    path.display()
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Where an output goes: stdout (`-` or no option), or a file written through a temporary
/// file created (exclusively, with a random name, mode 0600) in the same directory before any
/// work is done, then renamed over the target. A symlink at the target is replaced, never
/// followed; an existing file is replaced only by the rename.
pub enum Output {
    /// Standard output.
    Stdout,
    /// A file, prepared.
    File {
        /// The target path.
        path: PathBuf,
        /// The temporary file in the target's directory.
        tmp: tempfile::NamedTempFile,
        /// The mode the file gets before the rename.
        mode: u32,
    },
}

impl Output {
    /// Prepares an output: creates its temporary file now, so that an unwritable target
    /// fails before anything is read, claimed or decrypted. `mode` is 0o600 for payloads,
    /// headers and secrets, 0o644 for public material.
    pub fn prepare(path: Option<&Path>, option: &'static str, mode: u32) -> Result<Self, Failure> {
        let Some(path) = path.filter(|p| p.as_os_str() != "-") else {
            return Ok(Self::Stdout);
        };
        if path.is_dir() {
            return Err(Failure::Other(format!(
                "{option} {}: is a directory; name a file",
                path.display()
            )));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".eventseal-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| {
                Failure::Other(format!(
                    "{option} {}: cannot create a file in {}: {e}",
                    path.display(),
                    dir.display()
                ))
            })?;
        Ok(Self::File {
            path: path.to_owned(),
            tmp,
            mode,
        })
    }

    /// Writes `bytes` and, for a file, syncs it, sets its mode and renames it over the target.
    pub fn commit(self, bytes: &[u8]) -> Result<(), Failure> {
        match self {
            Self::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(bytes)
                    .and_then(|()| out.flush())
                    .map_err(|e| Failure::Other(format!("stdout: {e}")))
            }
            Self::File {
                path,
                mut tmp,
                mode,
            } => {
                let named = |e: io::Error| Failure::Other(format!("{}: {e}", path.display()));
                tmp.write_all(bytes).map_err(named)?;
                tmp.as_file().sync_all().map_err(named)?;
                set_mode(tmp.as_file(), mode).map_err(named)?;
                tmp.persist(&path).map_err(|e| named(e.error))?;
                sync_dir(&path);
                Ok(())
            }
        }
    }
}

#[cfg(unix)]
fn set_mode(file: &fs::File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_file: &fs::File, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Makes a rename durable: syncs the directory that holds `path` (best effort).
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes `contents` atomically to `path` (see [`Output`]).
pub fn write_atomically(
    path: &Path,
    option: &'static str,
    contents: &[u8],
    mode: u32,
) -> Result<(), Failure> {
    Output::prepare(Some(path), option, mode)?.commit(contents)
}

/// Writes a new key file: refuses to replace an existing one (a key is never overwritten),
/// creating it exclusively with its final mode from the start.
pub fn write_new_key_file(path: &Path, contents: &str, secret: bool) -> Result<(), Failure> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(if secret { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = secret;
    let named = |e: io::Error| Failure::Other(format!("{}: {e}", path.display()));
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Failure::Other(format!(
                "{}: already exists; refusing to overwrite a key (move it away first)",
                path.display()
            ))
        } else {
            named(e)
        }
    })?;
    f.write_all(contents.as_bytes()).map_err(named)?;
    f.write_all(b"\n").map_err(named)?;
    f.sync_all().map_err(named)?;
    Ok(())
}

/// Creates `--out-dir` if missing, naming it and the cause on failure.
pub fn create_out_dir(dir: &Path) -> Result<(), Failure> {
    fs::create_dir_all(dir).map_err(|e| {
        Failure::Other(format!(
            "--out-dir {}: cannot create the directory: {e}",
            dir.display()
        ))
    })?;
    if !dir.is_dir() {
        return Err(Failure::Other(format!(
            "--out-dir {}: not a directory",
            dir.display()
        )));
    }
    Ok(())
}

/// A source or consumer id used in a file name (`keygen`, `key import`): refused unless it is
/// a plain file name, so that nothing is ever written outside `--out-dir`.
pub fn check_file_name(id: &str, option: &'static str) -> Result<(), Failure> {
    let why = if id.is_empty() {
        Some("is empty")
    } else if id.contains('/') || id.contains('\\') {
        Some("contains a path separator")
    } else if id.starts_with('.') {
        Some("starts with '.' (a hidden file, or '..')")
    } else if id.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    };
    match why {
        Some(why) => Err(Failure::Other(format!(
            "{option} {id:?} {why}; it names the key files, so it must be a plain file name \
             (letters, digits and . _ - : @ +, not starting with '.')"
        ))),
        None => Ok(()),
    }
}

//! Trust policy: which sources a consumer trusts, with which keys (and their validity
//! windows), which event types each may send, and where each may arrive from on EventBridge.
//!
//! Trust comes only from this configured allow-list: the source id and key id in an envelope
//! are lookup hints, and a key is never taken from a message. A source may have several keys at
//! once (rotation); a key is revoked by removing it.
//!
//! A consumer usually loads its trust from a trust file ([`TrustStore::from_json`],
//! [`TrustStore::load`]; schema in `docs/TRUST.md`):
//!
//! ```json
//! {
//!   "version": 1,
//!   "sources": [
//!     {
//!       "source": "orders",
//!       "accounts": ["111122223333"],
//!       "eventbridge_source": "com.example.orders",
//!       "allow": ["order.*", "invoice.paid"],
//!       "keys": [
//!         { "jwk": { "kty": "OKP", "crv": "Ed25519", "source": "orders", "x": "…" },
//!           "not_before": "2026-01-01T00:00:00Z", "not_after": "2027-01-01T00:00:00Z" }
//!       ]
//!     }
//!   ]
//! }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::encoding::{check_identifier, check_label};
use crate::envelope::MAX_EVENT_TYPE_LEN;
use crate::error::{Error, Result};
use crate::keys::VerifyingKey;

/// Largest trust file (or recipient directory) accepted by default, in bytes; larger is
/// [`Error::TooLarge`], checked before parsing. [`TrustStore::from_json_with_max_bytes`] and
/// [`TrustStore::load_with_max_bytes`] take another cap.
pub const MAX_TRUST_FILE_BYTES: usize = 1024 * 1024;

/// An event-type pattern: an exact type, a prefix ending in `.*` (`order.*` allows
/// `order.created` and `order.item.added`, not `order` or `orders.x`), or `*` for every type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypePattern(String);

impl TypePattern {
    /// Parses a pattern.
    ///
    /// # Errors
    /// [`Error::InvalidTrust`] unless it is `*`, `PREFIX.*` or an event type.
    pub fn new(pattern: &str) -> Result<Self> {
        let body = pattern.strip_suffix(".*").unwrap_or(pattern);
        let ok = pattern == "*"
            || (!body.contains('*') && check_label(body, MAX_EVENT_TYPE_LEN, "pattern").is_ok());
        if ok {
            Ok(Self(pattern.to_owned()))
        } else {
            Err(Error::InvalidTrust(format!(
                "event type pattern {pattern:?}: use an exact type, PREFIX.* or *"
            )))
        }
    }

    /// Whether `event_type` matches.
    #[must_use]
    pub fn matches(&self, event_type: &str) -> bool {
        if self.0 == "*" {
            return true;
        }
        match self.0.strip_suffix('*') {
            Some(prefix) => event_type.len() > prefix.len() && event_type.starts_with(prefix),
            None => self.0 == event_type,
        }
    }

    /// The pattern as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A trusted verifying key with its optional validity window (Unix seconds, inclusive).
///
/// The window is checked against the envelope's **signed** issued-at, after the signature
/// verifies: an envelope signed while the key was valid stays valid while in flight (an
/// EventBridge retry a day later still opens), and one signed after `not_after` is
/// `key-expired`. Revocation is removal, which takes effect at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    key: VerifyingKey,
    not_before: Option<i64>,
    not_after: Option<i64>,
}

impl TrustedKey {
    /// A key valid at all times.
    #[must_use]
    pub fn new(key: VerifyingKey) -> Self {
        Self {
            key,
            not_before: None,
            not_after: None,
        }
    }

    /// Sets the window (`None` = unbounded on that side).
    #[must_use]
    pub fn with_window(mut self, not_before: Option<i64>, not_after: Option<i64>) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    /// The key.
    #[must_use]
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Start of the window, if any.
    #[must_use]
    pub fn not_before(&self) -> Option<i64> {
        self.not_before
    }

    /// End of the window, if any.
    #[must_use]
    pub fn not_after(&self) -> Option<i64> {
        self.not_after
    }

    /// Checks the window at the signed issued-at.
    pub(crate) fn check_window(&self, issued_at: i64) -> Result<()> {
        if self.not_before.is_some_and(|nb| issued_at < nb) {
            // Not yet in effect: for this envelope the key does not exist.
            return Err(Error::UnknownKey);
        }
        if self.not_after.is_some_and(|na| issued_at > na) {
            return Err(Error::KeyExpired);
        }
        Ok(())
    }
}

/// Everything a consumer trusts about one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedSource {
    id: String,
    keys: Vec<TrustedKey>,
    allow: Vec<TypePattern>,
    accounts: Vec<String>,
    eventbridge_source: Option<String>,
}

impl TrustedSource {
    /// A source that allows nothing yet: add keys and event-type patterns.
    ///
    /// # Errors
    /// [`Error::InvalidTrust`] if `id` is not a valid identifier.
    pub fn new(id: &str) -> Result<Self> {
        check_identifier(id, "source id")
            .map_err(|_| Error::InvalidTrust(format!("source id {id:?} is not an identifier")))?;
        Ok(Self {
            id: id.to_owned(),
            keys: Vec::new(),
            allow: Vec::new(),
            accounts: Vec::new(),
            eventbridge_source: None,
        })
    }

    /// Adds (or replaces, by key id) a trusted key.
    ///
    /// # Errors
    /// [`Error::InvalidTrust`] if the key belongs to another source or its window is empty.
    pub fn add_key(&mut self, key: TrustedKey) -> Result<()> {
        if key.key.source() != self.id {
            return Err(Error::InvalidTrust(format!(
                "key {} is for source {:?}, not {:?}",
                key.key.key_id(),
                key.key.source(),
                self.id
            )));
        }
        if let (Some(nb), Some(na)) = (key.not_before, key.not_after) {
            if nb > na {
                return Err(Error::InvalidTrust(format!(
                    "key {}: not_before is after not_after",
                    key.key.key_id()
                )));
            }
        }
        self.keys.retain(|k| k.key.key_id() != key.key.key_id());
        self.keys.push(key);
        Ok(())
    }

    /// Allows event types matching `pattern`.
    ///
    /// # Errors
    /// [`Error::InvalidTrust`] for a malformed pattern.
    pub fn allow(&mut self, pattern: &str) -> Result<()> {
        let p = TypePattern::new(pattern)?;
        if !self.allow.contains(&p) {
            self.allow.push(p);
        }
        Ok(())
    }

    /// Adds an AWS account id (12 digits) this source's events may arrive from.
    ///
    /// # Errors
    /// [`Error::InvalidTrust`] unless the id is exactly 12 ASCII digits.
    pub fn add_account(&mut self, account: &str) -> Result<()> {
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::InvalidTrust(format!(
                "AWS account id {account:?} must be 12 digits"
            )));
        }
        if !self.accounts.iter().any(|a| a == account) {
            self.accounts.push(account.to_owned());
        }
        Ok(())
    }

    /// Sets the EventBridge `source` string this source puts its events under.
    ///
    /// # Errors
    /// [`Error::InvalidTrust`] for an empty or non-printable name (EventBridge allows 1–256).
    pub fn set_eventbridge_source(&mut self, name: &str) -> Result<()> {
        check_label(name, 256, "EventBridge source").map_err(|_| {
            Error::InvalidTrust(format!("EventBridge source {name:?} is not acceptable"))
        })?;
        self.eventbridge_source = Some(name.to_owned());
        Ok(())
    }

    /// Removes the key with this id; returns whether one was removed.
    pub fn remove_key(&mut self, key_id: &str) -> bool {
        let before = self.keys.len();
        self.keys.retain(|k| k.key.key_id().as_str() != key_id);
        before != self.keys.len()
    }

    /// The source id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The trusted keys.
    #[must_use]
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }
    /// The allowed event-type patterns.
    #[must_use]
    pub fn allowed(&self) -> &[TypePattern] {
        &self.allow
    }
    /// The AWS accounts the source's events may arrive from.
    #[must_use]
    pub fn accounts(&self) -> &[String] {
        &self.accounts
    }
    /// The EventBridge source name.
    #[must_use]
    pub fn eventbridge_source(&self) -> Option<&str> {
        self.eventbridge_source.as_deref()
    }

    /// Whether this source may send `event_type`.
    #[must_use]
    pub fn allows(&self, event_type: &str) -> bool {
        self.allow.iter().any(|p| p.matches(event_type))
    }

    pub(crate) fn key(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.key.key_id().as_str() == key_id)
    }
}

/// The sources a consumer trusts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustStore {
    sources: BTreeMap<String, TrustedSource>,
}

impl TrustStore {
    /// An empty trust store (it trusts nothing).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` for the source it names. A source not yet in the store is created
    /// allowing **every event type**, at all times, from anywhere: the quick way for tests and
    /// single-purpose consumers. A source already present keeps its policy (this never widens
    /// what a trust file or [`TrustStore::add_source`] allowed); the key is only added to it.
    pub fn add(&mut self, key: VerifyingKey) {
        let id = key.source().to_owned();
        let source = self
            .sources
            .entry(id.clone())
            .or_insert_with(|| TrustedSource {
                id,
                keys: Vec::new(),
                allow: vec![TypePattern("*".to_owned())],
                accounts: Vec::new(),
                eventbridge_source: None,
            });
        if source.key(key.key_id().as_str()).is_none() {
            source.keys.push(TrustedKey::new(key));
        }
    }

    /// [`TrustStore::add`], builder style.
    #[must_use]
    pub fn with(mut self, key: VerifyingKey) -> Self {
        self.add(key);
        self
    }

    /// Adds or replaces a source with its full policy.
    pub fn add_source(&mut self, source: TrustedSource) {
        self.sources.insert(source.id.clone(), source);
    }

    /// The source with this id.
    #[must_use]
    pub fn source(&self, id: &str) -> Option<&TrustedSource> {
        self.sources.get(id)
    }

    /// The source with this id, for changing it.
    pub fn source_mut(&mut self, id: &str) -> Option<&mut TrustedSource> {
        self.sources.get_mut(id)
    }

    /// All sources, by id.
    pub fn sources(&self) -> impl Iterator<Item = &TrustedSource> {
        self.sources.values()
    }

    /// Stops trusting the key with this id for `source` (revocation); returns whether one was
    /// removed.
    pub fn remove(&mut self, source: &str, key_id: &str) -> bool {
        self.sources
            .get_mut(source)
            .is_some_and(|s| s.remove_key(key_id))
    }

    /// The trusted key of `source` with id `key_id`, if any (ignoring validity windows).
    #[must_use]
    pub fn find(&self, source: &str, key_id: &str) -> Option<&VerifyingKey> {
        Some(self.lookup(source, key_id)?.1.key())
    }

    pub(crate) fn lookup(
        &self,
        source: &str,
        key_id: &str,
    ) -> Option<(&TrustedSource, &TrustedKey)> {
        let s = self.sources.get(source)?;
        Some((s, s.key(key_id)?))
    }

    /// Whether nothing is trusted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sources.values().all(|s| s.keys.is_empty())
    }

    // --- trust files -----------------------------------------------------------------------

    /// Parses a trust file (schema in `docs/TRUST.md`). Unknown members are rejected, every
    /// key is checked (its JWK, that it belongs to the source it is listed under, its window),
    /// and errors name the field path and, for JSON errors, the line and column.
    ///
    /// # Errors
    /// [`Error::TooLarge`] if `text` is longer than [`MAX_TRUST_FILE_BYTES`];
    /// [`Error::InvalidTrust`] for everything else.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_json_with_max_bytes(text, MAX_TRUST_FILE_BYTES)
    }

    /// [`TrustStore::from_json`] with another size cap than [`MAX_TRUST_FILE_BYTES`].
    ///
    /// # Errors
    /// [`Error::TooLarge`] if `text` is longer than `max_bytes` (checked before parsing);
    /// [`Error::InvalidTrust`] for everything else.
    pub fn from_json_with_max_bytes(text: &str, max_bytes: usize) -> Result<Self> {
        let file: TrustFile = parse_config(text, max_bytes)?;
        check_config_version(file.version)?;
        let mut store = TrustStore::new();
        for (i, fs) in file.sources.into_iter().enumerate() {
            let at = |field: &str, e: Error| {
                let msg = match e {
                    Error::InvalidTrust(m) => m,
                    other => other.to_string(),
                };
                Error::InvalidTrust(format!("at sources[{i}].{field}: {msg}"))
            };
            let mut s = TrustedSource::new(&fs.source).map_err(|e| at("source", e))?;
            if store.sources.contains_key(&fs.source) {
                return Err(at("source", Error::InvalidTrust("listed twice".to_owned())));
            }
            for (j, p) in fs.allow.iter().enumerate() {
                s.allow(p).map_err(|e| at(&format!("allow[{j}]"), e))?;
            }
            for (j, a) in fs.accounts.iter().enumerate() {
                s.add_account(a)
                    .map_err(|e| at(&format!("accounts[{j}]"), e))?;
            }
            if let Some(name) = &fs.eventbridge_source {
                s.set_eventbridge_source(name)
                    .map_err(|e| at("eventbridge_source", e))?;
            }
            if fs.keys.is_empty() {
                return Err(at("keys", Error::InvalidTrust("no keys".to_owned())));
            }
            for (j, k) in fs.keys.iter().enumerate() {
                let field = |f: &str| format!("keys[{j}].{f}");
                // The JWK's own text, as written in the file, goes to the one strict JWK
                // parser: duplicate members, nulls and escapes are judged exactly as with
                // `VerifyingKey::from_jwk` (a map would have kept the last duplicate).
                let key = VerifyingKey::from_jwk(k.jwk.get()).map_err(|e| at(&field("jwk"), e))?;
                let nb =
                    parse_time(k.not_before.as_deref()).map_err(|e| at(&field("not_before"), e))?;
                let na =
                    parse_time(k.not_after.as_deref()).map_err(|e| at(&field("not_after"), e))?;
                if s.key(key.key_id().as_str()).is_some() {
                    return Err(at(
                        &field("jwk"),
                        Error::InvalidTrust("key listed twice".to_owned()),
                    ));
                }
                s.add_key(TrustedKey::new(key).with_window(nb, na))
                    .map_err(|e| at(&field("jwk"), e))?;
            }
            store.add_source(s);
        }
        Ok(store)
    }

    /// Writes the trust store as a trust file (pretty JSON, RFC 3339 times).
    #[must_use]
    pub fn to_json(&self) -> String {
        let file = TrustFile {
            version: 1,
            sources: self
                .sources
                .values()
                .map(|s| TrustFileSource {
                    source: s.id.clone(),
                    accounts: s.accounts.clone(),
                    eventbridge_source: s.eventbridge_source.clone(),
                    allow: s.allow.iter().map(|p| p.0.clone()).collect(),
                    keys: s
                        .keys
                        .iter()
                        .map(|k| TrustFileKey {
                            jwk: compact_jwk(&k.key.to_jwk()),
                            not_before: k.not_before.map(format_time),
                            not_after: k.not_after.map(format_time),
                        })
                        .collect(),
                })
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a trust file.
    ///
    /// # Errors
    /// [`Error::TooLarge`] if the file is larger than [`MAX_TRUST_FILE_BYTES`];
    /// [`Error::InvalidTrust`], naming the file, for everything else.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with_max_bytes(path, MAX_TRUST_FILE_BYTES)
    }

    /// [`TrustStore::load`] with another size cap than [`MAX_TRUST_FILE_BYTES`].
    ///
    /// # Errors
    /// [`Error::TooLarge`] if the file is larger than `max_bytes` (at most `max_bytes + 1`
    /// bytes are ever read); [`Error::InvalidTrust`], naming the file, for everything else.
    pub fn load_with_max_bytes(path: impl AsRef<Path>, max_bytes: usize) -> Result<Self> {
        load_config(path.as_ref(), max_bytes, |text| {
            Self::from_json_with_max_bytes(text, max_bytes)
        })
    }
}

/// Reads a configuration file (trust file, recipient directory) of at most `max_bytes`,
/// reading no more than one byte past the cap, and parses it; every `InvalidTrust` error
/// names the file.
pub(crate) fn load_config<T>(
    path: &Path,
    max_bytes: usize,
    parse: impl FnOnce(&str) -> Result<T>,
) -> Result<T> {
    use std::io::Read;
    let named = |m: String| Error::InvalidTrust(format!("{}: {m}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| named(e.to_string()))?;
    let cap = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut bytes = Vec::new();
    file.take(cap)
        .read_to_end(&mut bytes)
        .map_err(|e| named(e.to_string()))?;
    if bytes.len() > max_bytes {
        let actual = std::fs::metadata(path).map_or(bytes.len(), |m| {
            usize::try_from(m.len()).unwrap_or(usize::MAX)
        });
        return Err(Error::too_large(
            "configuration file bytes",
            max_bytes,
            actual,
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| named("not UTF-8".to_owned()))?;
    parse(&text).map_err(|e| match e {
        Error::InvalidTrust(m) => named(m),
        other => other,
    })
}

/// Parses configuration JSON: size and depth caps, unknown members rejected by `T`, and
/// errors that name the field path (and, from serde_json, the line and column).
pub(crate) fn parse_config<T: serde::de::DeserializeOwned>(
    text: &str,
    max_bytes: usize,
) -> Result<T> {
    if text.len() > max_bytes {
        return Err(Error::too_large(
            "configuration file bytes",
            max_bytes,
            text.len(),
        ));
    }
    crate::encoding::check_json_depth(text.as_bytes(), 16)
        .map_err(|_| Error::InvalidTrust("JSON nested deeper than 16".to_owned()))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        // serde_json's message ends with "at line L column C".
        Error::InvalidTrust(format!("at {path}: {}", e.into_inner()))
    })?;
    de.end()
        .map_err(|e| Error::InvalidTrust(format!("trailing data: {e}")))?;
    Ok(value)
}

pub(crate) fn check_config_version(version: u32) -> Result<()> {
    if version == 1 {
        Ok(())
    } else {
        Err(Error::InvalidTrust(format!(
            "at version: unsupported version {version}"
        )))
    }
}

/// A key window's bound: RFC 3339's `date-time` in one profile (docs/TRUST.md),
/// `YYYY-MM-DDTHH:MM:SS` then `Z` or `±HH:MM`: `T` and `Z` in capitals, whole seconds, no
/// leap second. A window is in whole seconds, as `issued_at` is; a fraction would be dropped
/// (`T.5Z` admitting an envelope issued at `T`) or rounded one way or the other, so it is
/// refused, as are the forms a reader of the file could take for another time (a space for
/// `T`, `:60`).
pub(crate) fn parse_time(text: Option<&str>) -> Result<Option<i64>> {
    text.map(|t| {
        let b = t.as_bytes();
        let digits = |from: usize, to: usize| {
            b.get(from..to)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
        };
        let at = |i: usize, c: u8| b.get(i) == Some(&c);
        let offset = match b.get(19..) {
            Some(b"Z") => true,
            Some([sign, _, _, b':', _, _]) => {
                matches!(sign, b'+' | b'-') && digits(20, 22) && digits(23, 25)
            }
            _ => false,
        };
        let shape = digits(0, 4)
            && at(4, b'-')
            && digits(5, 7)
            && at(7, b'-')
            && digits(8, 10)
            && at(10, b'T')
            && digits(11, 13)
            && at(13, b':')
            && digits(14, 16)
            && at(16, b':')
            && digits(17, 19)
            && offset;
        if !shape {
            return Err(Error::InvalidTrust(format!(
                "{t:?} is not a time of the form 2026-01-31T23:59:59Z or \
                 2026-01-31T23:59:59+02:00 (RFC 3339 with `T` and `Z` in capitals, whole seconds)"
            )));
        }
        if b.get(17..19) == Some(b"60") {
            return Err(Error::InvalidTrust(format!(
                "{t:?}: a leap second (:60) is not a window's bound; use :59"
            )));
        }
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp())
            .map_err(|e| Error::InvalidTrust(format!("{t:?} is not an RFC 3339 time: {e}")))
    })
    .transpose()
}

pub(crate) fn format_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustFile {
    version: u32,
    sources: Vec<TrustFileSource>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustFileSource {
    source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    accounts: Vec<String>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    eventbridge_source: Option<String>,
    allow: Vec<String>,
    keys: Vec<TrustFileKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustFileKey {
    jwk: Box<serde_json::value::RawValue>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    not_before: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    not_after: Option<String>,
}

/// A JWK we exported, as one compact line for a configuration file.
pub(crate) fn compact_jwk(pretty: &str) -> Box<serde_json::value::RawValue> {
    let compact = serde_json::from_str::<serde_json::Value>(pretty)
        .map_or_else(|_| pretty.to_owned(), |v| v.to_string());
    serde_json::value::RawValue::from_string(compact)
        .unwrap_or_else(|_| Box::<serde_json::value::RawValue>::default())
}

impl FromIterator<VerifyingKey> for TrustStore {
    fn from_iter<I: IntoIterator<Item = VerifyingKey>>(iter: I) -> Self {
        let mut t = TrustStore::new();
        for k in iter {
            t.add(k);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = |s: &str| TypePattern::new(s).unwrap();
        assert!(p("order.*").matches("order.created"));
        assert!(p("order.*").matches("order.item.added"));
        assert!(!p("order.*").matches("order."));
        assert!(!p("order.*").matches("order"));
        assert!(!p("order.*").matches("orders.created"));
        assert!(p("order.created").matches("order.created"));
        assert!(!p("order.created").matches("order.created.x"));
        assert!(p("*").matches("anything at all"));
        for bad in ["", "a*", "*.x", "order.**", "a.*.b", " x"] {
            assert!(TypePattern::new(bad).is_err(), "{bad}");
        }
    }
}

//! The producer's side of recipient-key rotation: a directory of each consumer's public keys
//! with validity windows, from which a sealer picks the current key.
//!
//! A consumer rotating its recipient key publishes the new public key with a `not_before`
//! and keeps the old secret key until envelopes sealed to the old key have expired (an
//! [`Opener`](crate::Opener) holds several keys). Producers list both keys here; sealing picks,
//! for each consumer, the valid key with the latest `not_before`.
//!
//! The directory file (JSON, unknown members rejected, errors naming the field):
//!
//! ```json
//! { "version": 1,
//!   "consumers": [
//!     { "consumer": "billing",
//!       "keys": [ { "jwk": { "kty": "OKP", "crv": "X25519", "consumer": "billing", "x": "…" },
//!                   "not_before": "2026-06-01T00:00:00Z" } ] } ] }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::keys::RecipientPublicKey;
use crate::trust::{
    check_config_version, format_time, load_config, parse_config, parse_time, MAX_TRUST_FILE_BYTES,
};

/// One consumer public key with its optional validity window (Unix seconds, inclusive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryKey {
    key: RecipientPublicKey,
    not_before: Option<i64>,
    not_after: Option<i64>,
}

impl DirectoryKey {
    /// The key.
    #[must_use]
    pub fn key(&self) -> &RecipientPublicKey {
        &self.key
    }

    fn valid_at(&self, now: i64) -> bool {
        self.not_before.is_none_or(|nb| nb <= now) && self.not_after.is_none_or(|na| now <= na)
    }
}

/// Consumers' recipient public keys, by consumer id, with validity windows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecipientDirectory {
    consumers: BTreeMap<String, Vec<DirectoryKey>>,
}

impl RecipientDirectory {
    /// An empty directory.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces, by key id) a consumer key with its window.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if `not_before` is after `not_after`.
    pub fn add(
        &mut self,
        key: RecipientPublicKey,
        not_before: Option<i64>,
        not_after: Option<i64>,
    ) -> Result<()> {
        if let (Some(nb), Some(na)) = (not_before, not_after) {
            if nb > na {
                return Err(Error::InvalidInput("not_before is after not_after"));
            }
        }
        let keys = self.consumers.entry(key.consumer().to_owned()).or_default();
        keys.retain(|k| k.key.key_id() != key.key_id());
        keys.push(DirectoryKey {
            key,
            not_before,
            not_after,
        });
        Ok(())
    }

    /// The key to seal to for `consumer` at `now`: among the keys valid at `now`, the one
    /// with the latest `not_before` (a key without one counts as the oldest).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the consumer is unknown or has no key valid at `now`.
    pub fn current(&self, consumer: &str, now: i64) -> Result<&RecipientPublicKey> {
        self.consumers
            .get(consumer)
            .into_iter()
            .flatten()
            .filter(|k| k.valid_at(now))
            .max_by_key(|k| k.not_before.unwrap_or(i64::MIN))
            .map(|k| &k.key)
            .ok_or(Error::InvalidInput(
                "no recipient key valid now for a consumer",
            ))
    }

    /// All keys of `consumer`.
    #[must_use]
    pub fn keys(&self, consumer: &str) -> &[DirectoryKey] {
        self.consumers.get(consumer).map_or(&[], Vec::as_slice)
    }

    /// Parses a directory file.
    ///
    /// # Errors
    /// [`Error::TooLarge`] over [`MAX_TRUST_FILE_BYTES`]; [`Error::InvalidTrust`] naming the
    /// field.
    pub fn from_json(text: &str) -> Result<Self> {
        let file: DirectoryFile = parse_config(text, MAX_TRUST_FILE_BYTES)?;
        check_config_version(file.version)?;
        let mut dir = Self::new();
        for (i, c) in file.consumers.iter().enumerate() {
            for (j, k) in c.keys.iter().enumerate() {
                let at = |f: &str, m: String| {
                    Error::InvalidTrust(format!("at consumers[{i}].keys[{j}].{f}: {m}"))
                };
                // The JWK's own text goes to the one strict JWK parser (see trust files).
                let key = RecipientPublicKey::from_jwk(k.jwk.get())
                    .map_err(|e| at("jwk", e.to_string()))?;
                if key.consumer() != c.consumer {
                    return Err(at(
                        "jwk",
                        format!("key is for consumer {:?}", key.consumer()),
                    ));
                }
                let time = |t: &Option<String>, f: &str| {
                    parse_time(t.as_deref()).map_err(|e| match e {
                        Error::InvalidTrust(m) => at(f, m),
                        other => at(f, other.to_string()),
                    })
                };
                let nb = time(&k.not_before, "not_before")?;
                let na = time(&k.not_after, "not_after")?;
                dir.add(key, nb, na)
                    .map_err(|e| at("not_before", e.to_string()))?;
            }
        }
        Ok(dir)
    }

    /// Writes the directory file.
    #[must_use]
    pub fn to_json(&self) -> String {
        let fmt = |t: Option<i64>| t.map(format_time);
        let file = DirectoryFile {
            version: 1,
            consumers: self
                .consumers
                .iter()
                .map(|(c, keys)| DirectoryConsumer {
                    consumer: c.clone(),
                    keys: keys
                        .iter()
                        .map(|k| DirectoryFileKey {
                            jwk: crate::trust::compact_jwk(&k.key.to_jwk()),
                            not_before: fmt(k.not_before),
                            not_after: fmt(k.not_after),
                        })
                        .collect(),
                })
                .collect(),
        };
        serde_json::to_string_pretty(&file).unwrap_or_default() + "\n"
    }

    /// Reads a directory file.
    ///
    /// # Errors
    /// [`Error::TooLarge`] over [`MAX_TRUST_FILE_BYTES`]; [`Error::InvalidTrust`], naming
    /// the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        load_config(path.as_ref(), MAX_TRUST_FILE_BYTES, Self::from_json)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    version: u32,
    consumers: Vec<DirectoryConsumer>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryConsumer {
    consumer: String,
    keys: Vec<DirectoryFileKey>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFileKey {
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

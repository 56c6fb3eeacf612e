//! Trusted sources and their verifying keys.
//!
//! Trust comes only from this configured allow-list: the source id and key id in an envelope
//! are lookup hints, and a key is never taken from a message. A source may have several
//! keys at once (rotation); removing a key revokes it.

use std::collections::HashMap;

use crate::keys::VerifyingKey;

/// The verifying keys a consumer trusts, by source.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    sources: HashMap<String, Vec<VerifyingKey>>,
}

impl TrustStore {
    /// An empty trust store (it trusts nothing).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts `key` for the source it names. Adding the same key twice has no effect.
    pub fn add(&mut self, key: VerifyingKey) {
        let keys = self.sources.entry(key.source().to_owned()).or_default();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }

    /// Trusts `key`, builder style.
    #[must_use]
    pub fn with(mut self, key: VerifyingKey) -> Self {
        self.add(key);
        self
    }

    /// Stops trusting the key with this id for `source`; returns whether one was removed.
    pub fn remove(&mut self, source: &str, key_id: &str) -> bool {
        let Some(keys) = self.sources.get_mut(source) else {
            return false;
        };
        let before = keys.len();
        keys.retain(|k| k.key_id().as_str() != key_id);
        before != keys.len()
    }

    /// The trusted key of `source` with id `key_id`, if any.
    #[must_use]
    pub fn find(&self, source: &str, key_id: &str) -> Option<&VerifyingKey> {
        self.sources
            .get(source)?
            .iter()
            .find(|k| k.key_id().as_str() == key_id)
    }

    /// Whether nothing is trusted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sources.values().all(Vec::is_empty)
    }
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

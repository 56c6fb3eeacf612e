//! The JWK codec: one strict parser for every key file, trust file and directory entry.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::KeyId;
use crate::crypto::KEY_LEN;
use crate::encoding::{b64_decode_fixed, check_identifier};
use crate::error::{Error, Result};

pub(super) const ED25519: &str = "Ed25519";
pub(super) const X25519: &str = "X25519";
pub(super) const P256: &str = "P-256";

/// The JWK members eventseal reads and writes. Unknown members are rejected.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Jwk {
    pub(super) kty: String,
    pub(super) crv: String,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) alg: Option<String>,
    #[serde(
        rename = "use",
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) use_: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) kid: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) source: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) consumer: Option<String>,
    pub(super) x: String,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) y: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub(super) d: Option<Zeroizing<String>>,
}

/// One acceptable key type: `(kty, crv, algs)`; `alg`, when present in the JWK, must be one of
/// `algs` (none: no `alg` is acceptable). eventseal writes the first.
pub(super) type KeyType = (&'static str, &'static str, &'static [&'static str]);

/// Ed25519 keys are written with `"alg": "Ed25519"`, the fully specified identifier of RFC 9864
/// (2025), which deprecates the polymorphic `EdDSA`; both are read, `EdDSA` as written by
/// eventseal before, and by most JOSE libraries still. Neither changes the key id: the RFC 7638
/// thumbprint does not include `alg`.
pub(super) const SIGNING_TYPES: &[KeyType] = &[
    ("OKP", ED25519, &["Ed25519", "EdDSA"]),
    ("EC", P256, &["ES256"]),
];
pub(super) const RECIPIENT_TYPES: &[KeyType] = &[("OKP", X25519, &[])];

/// What a JWK must be for the caller.
pub(super) struct JwkRules {
    pub(super) types: &'static [KeyType],
    pub(super) use_: &'static str,
    /// `true`: the member `source` is required; `false`: `consumer` is required.
    pub(super) source: bool,
    pub(super) secret: bool,
}

pub(super) struct ParsedJwk {
    pub(super) owner: String,
    pub(super) crv: &'static str,
    pub(super) x: [u8; KEY_LEN],
    pub(super) y: Option<[u8; KEY_LEN]>,
    pub(super) d: Option<Zeroizing<[u8; KEY_LEN]>>,
}

impl ParsedJwk {
    fn kid(&self) -> KeyId {
        match &self.y {
            Some(y) => KeyId::thumbprint_ec(&self.x, y),
            None => KeyId::thumbprint(self.crv, &self.x),
        }
    }
}

pub(super) fn parse_jwk(text: &str, rules: &JwkRules) -> Result<ParsedJwk> {
    if text.len() > 4096 {
        return Err(Error::InvalidKey("JWK longer than 4096 bytes"));
    }
    let jwk: Jwk = serde_json::from_str(text).map_err(|_| Error::InvalidKey("not a JWK"))?;
    let &(_, crv, algs) = rules
        .types
        .iter()
        .find(|(kty, crv, _)| jwk.kty == *kty && jwk.crv == *crv)
        .ok_or(Error::InvalidKey("wrong key type or curve for this use"))?;
    if let Some(a) = &jwk.alg {
        if !algs.contains(&a.as_str()) {
            return Err(Error::InvalidKey("alg does not match the key type"));
        }
    }
    if let Some(u) = &jwk.use_ {
        if u != rules.use_ {
            return Err(Error::InvalidKey("use does not match the key type"));
        }
    }
    let owner = if rules.source {
        if jwk.consumer.is_some() {
            return Err(Error::InvalidKey("a source key has no consumer member"));
        }
        jwk.source
            .ok_or(Error::InvalidKey("missing source member"))?
    } else {
        if jwk.source.is_some() {
            return Err(Error::InvalidKey("a recipient key has no source member"));
        }
        jwk.consumer
            .ok_or(Error::InvalidKey("missing consumer member"))?
    };
    check_identifier(&owner, "identifier").map_err(|_| Error::InvalidKey("invalid identifier"))?;
    let x = b64_decode_fixed::<KEY_LEN>(&jwk.x, "x")
        .map_err(|_| Error::InvalidKey("x is not 32 bytes of canonical base64url"))?;
    let y = match (&jwk.y, crv == P256) {
        (Some(y), true) => Some(
            b64_decode_fixed::<KEY_LEN>(y, "y")
                .map_err(|_| Error::InvalidKey("y is not 32 bytes of canonical base64url"))?,
        ),
        (None, true) => return Err(Error::InvalidKey("y missing")),
        (Some(_), false) => return Err(Error::InvalidKey("y is not a member of this key type")),
        (None, false) => None,
    };
    let d = match (&jwk.d, rules.secret) {
        (Some(d), true) => Some(Zeroizing::new(
            b64_decode_fixed::<KEY_LEN>(d, "d")
                .map_err(|_| Error::InvalidKey("d is not 32 bytes of canonical base64url"))?,
        )),
        (None, true) => return Err(Error::InvalidKey("secret key expected, d missing")),
        (Some(_), false) => {
            return Err(Error::InvalidKey(
                "public key expected, but the JWK holds a secret (d)",
            ))
        }
        (None, false) => None,
    };
    let parsed = ParsedJwk {
        owner,
        crv,
        x,
        y,
        d,
    };
    if let Some(kid) = &jwk.kid {
        if kid.as_str() != parsed.kid().as_str() {
            return Err(Error::InvalidKey(
                "kid is not the key's RFC 7638 thumbprint",
            ));
        }
    }
    Ok(parsed)
}

pub(super) fn write_jwk(jwk: &Jwk) -> String {
    // Serializing a struct of strings cannot fail.
    serde_json::to_string_pretty(jwk).unwrap_or_default()
}

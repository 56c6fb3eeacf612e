//! Key types: signing/verifying keys for sources (Ed25519, or ECDSA P-256 for HSM/KMS users),
//! recipient keys for consumers (X25519 for HPKE, or pre-shared 256-bit keys), their key ids,
//! and JWK (RFC 7517; OKP keys per RFC 8037, EC and oct keys per RFC 7518) import and export.
//!
//! - A key id ([`KeyId`]) is the RFC 7638 JWK thumbprint of the public key (SHA-256,
//!   base64url): derived, never chosen, so two keys never share an id by accident. A JWK whose
//!   `kid` is not its thumbprint is rejected.
//! - Each key names the party it belongs to: signing and verifying keys carry a source id
//!   (JWK member `"source"`), recipient keys a consumer id (JWK member `"consumer"`).
//! - Secret keys zeroize on drop; their `Debug` prints the identity and key id, never key
//!   bytes; exporting a secret JWK is explicit ([`SigningKey::to_secret_jwk`]) and returns a
//!   zeroizing string.
//! - X25519 public keys of small order and P-256 points off the curve are rejected on import;
//!   an all-zero pre-shared key is rejected.
//! - The algorithm belongs to the key: a [`VerifyingKey`] verifies with its own
//!   [`SignatureAlgorithm`], and a consumer's [`RecipientKey`] decides how its entry is
//!   unwrapped; nothing in a message chooses either.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, EcdsaP256Pair, Ed25519Pair, X25519Secret, KEY_LEN, P256_PUBLIC_LEN};
use crate::encoding::{b64_decode_fixed, b64_encode, check_identifier};
use crate::error::{Error, Result};

/// A key id: the RFC 7638 thumbprint (SHA-256, base64url, 43 characters) of a public key.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    fn thumbprint(crv: &str, x: &[u8; KEY_LEN]) -> Self {
        // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
        let canonical = format!(r#"{{"crv":"{crv}","kty":"OKP","x":"{}"}}"#, b64_encode(x));
        KeyId(b64_encode(&crypto::sha256(&[canonical.as_bytes()])))
    }

    fn thumbprint_ec(x: &[u8; KEY_LEN], y: &[u8; KEY_LEN]) -> Self {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            b64_encode(x),
            b64_encode(y)
        );
        KeyId(b64_encode(&crypto::sha256(&[canonical.as_bytes()])))
    }

    /// The key id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

const ED25519: &str = "Ed25519";
const X25519: &str = "X25519";
const P256: &str = "P-256";

/// The JWK members eventseal reads and writes. Unknown members are rejected.
#[derive(Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Jwk {
    kty: String,
    crv: String,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    alg: Option<String>,
    #[serde(
        rename = "use",
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    use_: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    kid: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    source: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    consumer: Option<String>,
    x: String,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    y: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    d: Option<Zeroizing<String>>,
}

/// One acceptable key type: `(kty, crv, alg)` (`alg`, when present in the JWK, must match).
type KeyType = (&'static str, &'static str, Option<&'static str>);

const SIGNING_TYPES: &[KeyType] = &[("OKP", ED25519, Some("EdDSA")), ("EC", P256, Some("ES256"))];
const RECIPIENT_TYPES: &[KeyType] = &[("OKP", X25519, None)];

/// What a JWK must be for the caller.
struct JwkRules {
    types: &'static [KeyType],
    use_: &'static str,
    /// `true`: the member `source` is required; `false`: `consumer` is required.
    source: bool,
    secret: bool,
}

struct ParsedJwk {
    owner: String,
    crv: &'static str,
    x: [u8; KEY_LEN],
    y: Option<[u8; KEY_LEN]>,
    d: Option<Zeroizing<[u8; KEY_LEN]>>,
}

impl ParsedJwk {
    fn kid(&self) -> KeyId {
        match &self.y {
            Some(y) => KeyId::thumbprint_ec(&self.x, y),
            None => KeyId::thumbprint(self.crv, &self.x),
        }
    }
}

fn parse_jwk(text: &str, rules: &JwkRules) -> Result<ParsedJwk> {
    if text.len() > 4096 {
        return Err(Error::InvalidKey("JWK longer than 4096 bytes"));
    }
    let jwk: Jwk = serde_json::from_str(text).map_err(|_| Error::InvalidKey("not a JWK"))?;
    let &(_, crv, alg) = rules
        .types
        .iter()
        .find(|(kty, crv, _)| jwk.kty == *kty && jwk.crv == *crv)
        .ok_or(Error::InvalidKey("wrong key type or curve for this use"))?;
    if let Some(a) = &jwk.alg {
        if Some(a.as_str()) != alg {
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

fn write_jwk(jwk: &Jwk) -> String {
    // Serializing a struct of strings cannot fail.
    serde_json::to_string_pretty(jwk).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Signing (source) keys
// ---------------------------------------------------------------------------------------

/// A signature algorithm. It belongs to the key (its JWK `kty`/`crv`), never to a message:
/// an envelope has no algorithm field, and a consumer verifies with the algorithm of the
/// trusted key it looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// Ed25519 (RFC 8032): JWK `{"kty":"OKP","crv":"Ed25519"}`, `alg` `EdDSA`. The default.
    Ed25519,
    /// ECDSA over P-256 with SHA-256, signatures as fixed 64-byte `r || s`: JWK
    /// `{"kty":"EC","crv":"P-256"}`, `alg` `ES256`. For producers whose keys must live in
    /// HSMs or KMSs that do not offer Ed25519.
    EcdsaP256Sha256,
}

enum Signer {
    Ed25519(Ed25519Pair),
    P256(EcdsaP256Pair),
}

/// A source's signing key (Ed25519 or ECDSA P-256). Secret: zeroized on drop (our copy of the
/// seed / scalar), redacted in `Debug`.
pub struct SigningKey {
    secret: Zeroizing<[u8; KEY_LEN]>,
    signer: Signer,
    public: VerifyingKey,
}

impl SigningKey {
    /// Generates a new Ed25519 signing key for `source` from the system's CSPRNG.
    ///
    /// # Errors
    /// [`Error::Malformed`] if `source` is not a valid identifier; [`Error::Rng`].
    pub fn generate(source: &str) -> Result<Self> {
        Self::generate_with(source, SignatureAlgorithm::Ed25519)
    }

    /// Generates a new signing key of the given algorithm for `source`.
    ///
    /// # Errors
    /// [`Error::Malformed`] if `source` is not a valid identifier; [`Error::Rng`].
    pub fn generate_with(source: &str, alg: SignatureAlgorithm) -> Result<Self> {
        check_identifier(source, "source id")?;
        match alg {
            SignatureAlgorithm::Ed25519 => {
                let mut seed = Zeroizing::new([0u8; KEY_LEN]);
                crypto::fill_random(seed.as_mut())?;
                Self::ed25519(source, seed, None)
            }
            SignatureAlgorithm::EcdsaP256Sha256 => {
                let (pair, d, public) = EcdsaP256Pair::generate()?;
                Ok(Self {
                    secret: d,
                    signer: Signer::P256(pair),
                    public: VerifyingKey::p256(source.to_owned(), public)?,
                })
            }
        }
    }

    fn ed25519(
        source: &str,
        seed: Zeroizing<[u8; KEY_LEN]>,
        expected_public: Option<&[u8; KEY_LEN]>,
    ) -> Result<Self> {
        let pair = Ed25519Pair::from_seed(&seed, expected_public.map(|p| p.as_slice()))?;
        let public = VerifyingKey::ed25519(source.to_owned(), pair.public_key());
        Ok(Self {
            secret: seed,
            signer: Signer::Ed25519(pair),
            public,
        })
    }

    /// Loads a signing key from a secret JWK with `source`: Ed25519 (`kty` `OKP`, `d`, `x`)
    /// or ECDSA P-256 (`kty` `EC`, `d`, `x`, `y`). The public half must match the secret.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] naming what is wrong with the JWK.
    pub fn from_jwk(jwk: &str) -> Result<Self> {
        let p = parse_jwk(
            jwk,
            &JwkRules {
                types: SIGNING_TYPES,
                use_: "sig",
                source: true,
                secret: true,
            },
        )?;
        let d = p.d.ok_or(Error::InvalidKey("d missing"))?;
        match p.y {
            None => Self::ed25519(&p.owner, d, Some(&p.x)),
            Some(y) => {
                let public = p256_public(&p.x, &y);
                let pair = EcdsaP256Pair::from_private(&d, &public)?;
                Ok(Self {
                    secret: d,
                    signer: Signer::P256(pair),
                    public: VerifyingKey::p256(p.owner, public)?,
                })
            }
        }
    }

    /// Exports the secret key as a JWK. The result holds the secret: it zeroizes on drop;
    /// write it only where secrets belong.
    #[must_use]
    pub fn to_secret_jwk(&self) -> Zeroizing<String> {
        let mut jwk = self.public.jwk();
        jwk.d = Some(Zeroizing::new(b64_encode(self.secret.as_ref())));
        Zeroizing::new(write_jwk(&jwk))
    }

    /// The matching public key, to give to consumers.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// The source this key signs for.
    #[must_use]
    pub fn source(&self) -> &str {
        &self.public.source
    }

    /// The key id (the thumbprint of the public key).
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.public.kid
    }

    /// The key's signature algorithm.
    #[must_use]
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.public.algorithm()
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> Result<[u8; crypto::SIGNATURE_LEN]> {
        match &self.signer {
            Signer::Ed25519(p) => Ok(p.sign(msg)),
            Signer::P256(p) => p.sign(msg),
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("source", &self.public.source)
            .field("algorithm", &self.public.algorithm())
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

fn p256_public(x: &[u8; KEY_LEN], y: &[u8; KEY_LEN]) -> [u8; P256_PUBLIC_LEN] {
    let mut out = [0u8; P256_PUBLIC_LEN];
    out[0] = 0x04;
    out[1..33].copy_from_slice(x);
    out[33..].copy_from_slice(y);
    out
}

#[derive(Clone, PartialEq, Eq)]
enum PublicBytes {
    Ed25519([u8; KEY_LEN]),
    P256(crypto::P256PublicKey),
}

/// A source's verifying (public) key, as a consumer trusts it.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    source: String,
    public: PublicBytes,
    kid: KeyId,
}

impl VerifyingKey {
    fn ed25519(source: String, bytes: [u8; KEY_LEN]) -> Self {
        let kid = KeyId::thumbprint(ED25519, &bytes);
        Self {
            source,
            public: PublicBytes::Ed25519(bytes),
            kid,
        }
    }

    /// A P-256 key: the point is validated (and, on aws-lc-rs, parsed) here, once.
    fn p256(source: String, public: [u8; P256_PUBLIC_LEN]) -> Result<Self> {
        let (x, y) = p256_coordinates(&public);
        let kid = KeyId::thumbprint_ec(&x, &y);
        Ok(Self {
            source,
            public: PublicBytes::P256(crypto::P256PublicKey::new(&public)?),
            kid,
        })
    }

    /// Loads a verifying key from a public JWK with `source` and no `d`: Ed25519 (`OKP`, `x`;
    /// the canonical encoding of a point in the prime-order subgroup, so never the all-zero,
    /// identity or another small-order key) or ECDSA P-256 (`EC`, `x`, `y`; the point must be
    /// on the curve).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] naming what is wrong with the JWK.
    pub fn from_jwk(jwk: &str) -> Result<Self> {
        let p = parse_jwk(
            jwk,
            &JwkRules {
                types: SIGNING_TYPES,
                use_: "sig",
                source: true,
                secret: false,
            },
        )?;
        match p.y {
            None if !crypto::ed25519_public_key_is_valid(&p.x) => Err(Error::InvalidKey(
                "Ed25519 key is not a point of the prime-order subgroup",
            )),
            None => Ok(Self::ed25519(p.owner, p.x)),
            Some(y) => Self::p256(p.owner, p256_public(&p.x, &y)),
        }
    }

    fn jwk(&self) -> Jwk {
        let (kty, crv, alg, x, y) = match &self.public {
            PublicBytes::Ed25519(b) => ("OKP", ED25519, "EdDSA", b64_encode(b), None),
            PublicBytes::P256(p) => {
                let (x, y) = p256_coordinates(p.bytes());
                ("EC", P256, "ES256", b64_encode(&x), Some(b64_encode(&y)))
            }
        };
        Jwk {
            kty: kty.into(),
            crv: crv.into(),
            alg: Some(alg.into()),
            use_: Some("sig".into()),
            kid: Some(self.kid.0.clone()),
            source: Some(self.source.clone()),
            x,
            y,
            ..Jwk::default()
        }
    }

    /// Exports the key as a public JWK.
    #[must_use]
    pub fn to_jwk(&self) -> String {
        write_jwk(&self.jwk())
    }

    /// The source this key verifies for.
    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.kid
    }

    /// The key's signature algorithm.
    #[must_use]
    pub fn algorithm(&self) -> SignatureAlgorithm {
        match self.public {
            PublicBytes::Ed25519(_) => SignatureAlgorithm::Ed25519,
            PublicBytes::P256(_) => SignatureAlgorithm::EcdsaP256Sha256,
        }
    }

    /// Verifies with this key's own algorithm.
    pub(crate) fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match &self.public {
            PublicBytes::Ed25519(b) => crypto::ed25519_verify(b, msg, sig),
            PublicBytes::P256(p) => p.verify(msg, sig),
        }
    }
}

fn p256_coordinates(public: &[u8; P256_PUBLIC_LEN]) -> ([u8; KEY_LEN], [u8; KEY_LEN]) {
    let mut x = [0u8; KEY_LEN];
    let mut y = [0u8; KEY_LEN];
    x.copy_from_slice(&public[1..33]);
    y.copy_from_slice(&public[33..]);
    (x, y)
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("source", &self.source)
            .field("algorithm", &self.algorithm())
            .field("kid", &self.kid)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------
// Recipient (consumer) keys
// ---------------------------------------------------------------------------------------

/// A consumer's X25519 recipient secret key. Zeroized on drop, redacted in `Debug`.
pub struct RecipientSecretKey {
    secret: X25519Secret,
    public: RecipientPublicKey,
}

impl RecipientSecretKey {
    /// Generates a new recipient key for `consumer`.
    ///
    /// # Errors
    /// [`Error::Malformed`] if `consumer` is not a valid identifier; [`Error::Rng`].
    pub fn generate(consumer: &str) -> Result<Self> {
        check_identifier(consumer, "consumer id")?;
        let secret = X25519Secret::generate()?;
        Self::from_secret(consumer, secret, None)
    }

    fn from_secret(
        consumer: &str,
        secret: X25519Secret,
        expected_public: Option<&[u8; KEY_LEN]>,
    ) -> Result<Self> {
        let bytes = secret.public_key();
        if let Some(expected) = expected_public {
            if !crypto::ct_eq(expected, &bytes) {
                return Err(Error::InvalidKey(
                    "X25519 public key does not match the secret",
                ));
            }
        }
        let public = RecipientPublicKey::from_parts(consumer.to_owned(), bytes)?;
        Ok(Self { secret, public })
    }

    /// Loads a recipient secret key from an X25519 OKP JWK (with `d`, `x` and `consumer`).
    /// The public half `x` must match the secret `d`.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] naming what is wrong with the JWK.
    pub fn from_jwk(jwk: &str) -> Result<Self> {
        let p = parse_jwk(
            jwk,
            &JwkRules {
                types: RECIPIENT_TYPES,
                use_: "enc",
                source: false,
                secret: true,
            },
        )?;
        let d = p.d.ok_or(Error::InvalidKey("d missing"))?;
        Self::from_secret(&p.owner, X25519Secret::from_bytes(&d)?, Some(&p.x))
    }

    /// Exports the secret key as a JWK. The result holds the secret and zeroizes on drop.
    #[must_use]
    pub fn to_secret_jwk(&self) -> Zeroizing<String> {
        let mut jwk = self.public.jwk();
        let d = self.secret.to_bytes();
        jwk.d = Some(Zeroizing::new(b64_encode(d.as_ref())));
        Zeroizing::new(write_jwk(&jwk))
    }

    /// The matching public key, to give to producers.
    #[must_use]
    pub fn public_key(&self) -> &RecipientPublicKey {
        &self.public
    }

    /// The consumer this key belongs to.
    #[must_use]
    pub fn consumer(&self) -> &str {
        &self.public.consumer
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.public.kid
    }

    pub(crate) fn secret(&self) -> &X25519Secret {
        &self.secret
    }
}

impl fmt::Debug for RecipientSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientSecretKey")
            .field("consumer", &self.public.consumer)
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

/// A consumer's X25519 recipient public key, as a producer seals to it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecipientPublicKey {
    consumer: String,
    bytes: [u8; KEY_LEN],
    kid: KeyId,
}

impl RecipientPublicKey {
    fn from_parts(consumer: String, bytes: [u8; KEY_LEN]) -> Result<Self> {
        if !crypto::x25519_is_canonical(&bytes) {
            return Err(Error::InvalidKey(
                "X25519 public key not canonical (bit 255 set, or not below 2^255 - 19)",
            ));
        }
        if crypto::x25519_is_low_order(&bytes) {
            return Err(Error::InvalidKey("X25519 public key of small order"));
        }
        let kid = KeyId::thumbprint(X25519, &bytes);
        Ok(Self {
            consumer,
            bytes,
            kid,
        })
    }

    /// Loads a recipient public key from an X25519 OKP JWK (with `x` and `consumer`, no `d`).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] naming what is wrong, including a point of small order.
    pub fn from_jwk(jwk: &str) -> Result<Self> {
        let p = parse_jwk(
            jwk,
            &JwkRules {
                types: RECIPIENT_TYPES,
                use_: "enc",
                source: false,
                secret: false,
            },
        )?;
        Self::from_parts(p.owner, p.x)
    }

    fn jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: X25519.into(),
            use_: Some("enc".into()),
            kid: Some(self.kid.0.clone()),
            consumer: Some(self.consumer.clone()),
            x: b64_encode(&self.bytes),
            ..Jwk::default()
        }
    }

    /// Exports the key as a public JWK.
    #[must_use]
    pub fn to_jwk(&self) -> String {
        write_jwk(&self.jwk())
    }

    /// The consumer this key belongs to.
    #[must_use]
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.kid
    }

    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for RecipientPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecipientPublicKey")
            .field("consumer", &self.consumer)
            .field("kid", &self.kid)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------
// Pre-shared symmetric recipient keys
// ---------------------------------------------------------------------------------------

/// A pre-shared 256-bit key between producers and one consumer (for example provisioned
/// through a KMS), used as a recipient instead of an X25519 key pair. Both sides hold the same
/// key; it zeroizes on drop and is redacted in `Debug`.
///
/// Its key id is the RFC 7638 thumbprint of the `oct` JWK (SHA-256 over the canonical
/// `{"k":…,"kty":"oct"}`): a one-way function of a 256-bit random key, safe to publish.
pub struct SymmetricKey {
    consumer: String,
    k: Zeroizing<[u8; KEY_LEN]>,
    kid: KeyId,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OctJwk {
    kty: String,
    #[serde(
        rename = "use",
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    use_: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::encoding::present",
        skip_serializing_if = "Option::is_none"
    )]
    kid: Option<String>,
    consumer: String,
    k: Zeroizing<String>,
}

impl SymmetricKey {
    /// Generates a new pre-shared key for `consumer`.
    ///
    /// # Errors
    /// [`Error::Malformed`] if `consumer` is not a valid identifier; [`Error::Rng`].
    pub fn generate(consumer: &str) -> Result<Self> {
        let mut k = Zeroizing::new([0u8; KEY_LEN]);
        crypto::fill_random(k.as_mut())?;
        Self::from_bytes(consumer, k)
    }

    /// A key from 32 bytes of key material (for example a data key from a KMS).
    ///
    /// # Errors
    /// [`Error::Malformed`] for an invalid consumer id; [`Error::InvalidKey`] for an all-zero key.
    pub fn from_bytes(consumer: &str, k: Zeroizing<[u8; KEY_LEN]>) -> Result<Self> {
        check_identifier(consumer, "consumer id")?;
        if crypto::ct_eq(k.as_ref(), &[0u8; KEY_LEN]) {
            return Err(Error::InvalidKey("all-zero symmetric key"));
        }
        let canonical = Zeroizing::new(format!(
            r#"{{"k":"{}","kty":"oct"}}"#,
            b64_encode(k.as_ref())
        ));
        let kid = KeyId(b64_encode(&crypto::sha256(&[canonical.as_bytes()])));
        Ok(Self {
            consumer: consumer.to_owned(),
            k,
            kid,
        })
    }

    /// Loads a key from an `oct` JWK with `k` (32 bytes) and `consumer`.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] naming what is wrong.
    pub fn from_jwk(jwk: &str) -> Result<Self> {
        if jwk.len() > 4096 {
            return Err(Error::InvalidKey("JWK longer than 4096 bytes"));
        }
        let j: OctJwk =
            serde_json::from_str(jwk).map_err(|_| Error::InvalidKey("not an oct JWK"))?;
        if j.kty != "oct" {
            return Err(Error::InvalidKey("kty must be oct"));
        }
        if j.use_.as_deref().is_some_and(|u| u != "enc") {
            return Err(Error::InvalidKey("use does not match the key type"));
        }
        let k = Zeroizing::new(
            b64_decode_fixed::<KEY_LEN>(&j.k, "k")
                .map_err(|_| Error::InvalidKey("k is not 32 bytes of canonical base64url"))?,
        );
        let key = Self::from_bytes(&j.consumer, k).map_err(|e| match e {
            Error::Malformed(_) => Error::InvalidKey("invalid identifier"),
            other => other,
        })?;
        if j.kid.as_deref().is_some_and(|kid| kid != key.kid.as_str()) {
            return Err(Error::InvalidKey(
                "kid is not the key's RFC 7638 thumbprint",
            ));
        }
        Ok(key)
    }

    /// Exports the key as an `oct` JWK. The result holds the secret and zeroizes on drop.
    #[must_use]
    pub fn to_secret_jwk(&self) -> Zeroizing<String> {
        let j = OctJwk {
            kty: "oct".into(),
            use_: Some("enc".into()),
            kid: Some(self.kid.0.clone()),
            consumer: self.consumer.clone(),
            k: Zeroizing::new(b64_encode(self.k.as_ref())),
        };
        Zeroizing::new(serde_json::to_string_pretty(&j).unwrap_or_default())
    }

    /// The consumer this key belongs to.
    #[must_use]
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// The key id.
    #[must_use]
    pub fn key_id(&self) -> &KeyId {
        &self.kid
    }

    pub(crate) fn secret(&self) -> &[u8; KEY_LEN] {
        &self.k
    }
}

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SymmetricKey")
            .field("consumer", &self.consumer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------
// Recipients, as the sealer and the opener see them
// ---------------------------------------------------------------------------------------

/// One recipient to seal to: a consumer's X25519 public key or a pre-shared key.
/// `&RecipientPublicKey` and `&SymmetricKey` convert into it, so one list can mix both.
#[derive(Clone, Copy, Debug)]
pub enum SealTo<'a> {
    /// An HPKE recipient.
    Public(&'a RecipientPublicKey),
    /// A pre-shared-key recipient.
    Symmetric(&'a SymmetricKey),
}

impl<'a> From<&'a RecipientPublicKey> for SealTo<'a> {
    fn from(k: &'a RecipientPublicKey) -> Self {
        SealTo::Public(k)
    }
}

impl<'a> From<&'a SymmetricKey> for SealTo<'a> {
    fn from(k: &'a SymmetricKey) -> Self {
        SealTo::Symmetric(k)
    }
}

impl SealTo<'_> {
    pub(crate) fn consumer(&self) -> &str {
        match self {
            SealTo::Public(k) => k.consumer(),
            SealTo::Symmetric(k) => k.consumer(),
        }
    }

    pub(crate) fn key_id(&self) -> &KeyId {
        match self {
            SealTo::Public(k) => k.key_id(),
            SealTo::Symmetric(k) => k.key_id(),
        }
    }
}

/// A key a consumer opens with: its X25519 recipient secret key or a pre-shared key.
/// Both convert into it, so one opener can hold both kinds (and several of each, during
/// rotation).
#[derive(Debug)]
pub enum ConsumerKey {
    /// An HPKE recipient secret key.
    Hpke(RecipientSecretKey),
    /// A pre-shared key.
    Symmetric(SymmetricKey),
}

impl From<RecipientSecretKey> for ConsumerKey {
    fn from(k: RecipientSecretKey) -> Self {
        ConsumerKey::Hpke(k)
    }
}

impl From<SymmetricKey> for ConsumerKey {
    fn from(k: SymmetricKey) -> Self {
        ConsumerKey::Symmetric(k)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::RecipientSecretKey {}
    impl Sealed for super::SymmetricKey {}
    impl Sealed for super::ConsumerKey {}
}

/// What the open pipeline needs of a consumer's key: whom it is for, its id, and how to unwrap
/// a content key addressed to it. Sealed: implemented by [`RecipientSecretKey`],
/// [`SymmetricKey`] and [`ConsumerKey`] only, so the unwrap algorithm always comes from the
/// consumer's own key type.
pub trait RecipientKey: sealed::Sealed + Send + Sync + fmt::Debug {
    /// The consumer id.
    fn consumer_id(&self) -> &str;
    /// The key id.
    fn recipient_key_id(&self) -> &KeyId;
    #[doc(hidden)]
    fn unwrap_content_key(
        &self,
        entry: &crate::envelope::RecipientEntry,
        info: &[u8],
    ) -> Result<Zeroizing<[u8; crate::envelope::CONTENT_KEY_LEN]>>;
}

impl RecipientKey for RecipientSecretKey {
    fn consumer_id(&self) -> &str {
        self.consumer()
    }
    fn recipient_key_id(&self) -> &KeyId {
        self.key_id()
    }
    fn unwrap_content_key(
        &self,
        entry: &crate::envelope::RecipientEntry,
        info: &[u8],
    ) -> Result<Zeroizing<[u8; crate::envelope::CONTENT_KEY_LEN]>> {
        crate::wrap::unwrap_hpke(self, entry, info)
    }
}

impl RecipientKey for SymmetricKey {
    fn consumer_id(&self) -> &str {
        self.consumer()
    }
    fn recipient_key_id(&self) -> &KeyId {
        self.key_id()
    }
    fn unwrap_content_key(
        &self,
        entry: &crate::envelope::RecipientEntry,
        info: &[u8],
    ) -> Result<Zeroizing<[u8; crate::envelope::CONTENT_KEY_LEN]>> {
        crate::wrap::unwrap_psk(self, entry, info)
    }
}

impl RecipientKey for ConsumerKey {
    fn consumer_id(&self) -> &str {
        match self {
            ConsumerKey::Hpke(k) => k.consumer(),
            ConsumerKey::Symmetric(k) => k.consumer(),
        }
    }
    fn recipient_key_id(&self) -> &KeyId {
        match self {
            ConsumerKey::Hpke(k) => k.key_id(),
            ConsumerKey::Symmetric(k) => k.key_id(),
        }
    }
    fn unwrap_content_key(
        &self,
        entry: &crate::envelope::RecipientEntry,
        info: &[u8],
    ) -> Result<Zeroizing<[u8; crate::envelope::CONTENT_KEY_LEN]>> {
        match self {
            ConsumerKey::Hpke(k) => k.unwrap_content_key(entry, info),
            ConsumerKey::Symmetric(k) => k.unwrap_content_key(entry, info),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8037_thumbprint_example() {
        // RFC 8037 Appendix A.3: thumbprint of the Ed25519 example key.
        let x = b64_decode_fixed::<32>("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "x").unwrap();
        assert_eq!(
            KeyId::thumbprint(ED25519, &x).as_str(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn rfc8037_signing_example_loads() {
        // RFC 8037 Appendix A.1 secret key, with our source member added.
        let jwk = r#"{"kty":"OKP","crv":"Ed25519","source":"s1",
            "d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        let k = SigningKey::from_jwk(jwk).unwrap();
        assert_eq!(
            k.key_id().as_str(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
        // RFC 8037 A.4: signature over "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".
        let sig = k
            .sign(b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc")
            .unwrap();
        assert_eq!(
            b64_encode(&sig),
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
        // Wrong public half.
        let bad = jwk.replace("11qYAYKx", "21qYAYKx");
        assert!(matches!(
            SigningKey::from_jwk(&bad),
            Err(Error::InvalidKey(_))
        ));
    }

    #[test]
    fn jwk_round_trips_and_debug_is_redacted() {
        let sk = SigningKey::generate("orders").unwrap();
        let again = SigningKey::from_jwk(&sk.to_secret_jwk()).unwrap();
        assert_eq!(again.verifying_key(), sk.verifying_key());
        let vk = VerifyingKey::from_jwk(&sk.verifying_key().to_jwk()).unwrap();
        assert_eq!(&vk, sk.verifying_key());
        let d = b64_encode(sk.secret.as_ref());
        assert!(!format!("{sk:?}").contains(&d));

        let rk = RecipientSecretKey::generate("billing").unwrap();
        let again = RecipientSecretKey::from_jwk(&rk.to_secret_jwk()).unwrap();
        assert_eq!(again.public_key(), rk.public_key());
        let pk = RecipientPublicKey::from_jwk(&rk.public_key().to_jwk()).unwrap();
        assert_eq!(&pk, rk.public_key());
        let d = b64_encode(rk.secret.to_bytes().as_ref());
        assert!(!format!("{rk:?}").contains(&d));
    }

    #[test]
    fn key_kinds_do_not_cross() {
        let sk = SigningKey::generate("orders").unwrap();
        let rk = RecipientSecretKey::generate("billing").unwrap();
        assert!(matches!(
            RecipientPublicKey::from_jwk(&sk.verifying_key().to_jwk()),
            Err(Error::InvalidKey(_))
        ));
        assert!(matches!(
            VerifyingKey::from_jwk(&rk.public_key().to_jwk()),
            Err(Error::InvalidKey(_))
        ));
        // A secret JWK is not accepted where a public one is expected, and vice versa.
        assert!(matches!(
            VerifyingKey::from_jwk(&sk.to_secret_jwk()),
            Err(Error::InvalidKey(_))
        ));
        assert!(matches!(
            SigningKey::from_jwk(&sk.verifying_key().to_jwk()),
            Err(Error::InvalidKey(_))
        ));
    }

    #[test]
    fn kid_must_be_the_thumbprint() {
        let sk = SigningKey::generate("orders").unwrap();
        let jwk = sk.verifying_key().to_jwk();
        let forged = jwk.replace(sk.key_id().as_str(), "some-other-kid");
        assert!(matches!(
            VerifyingKey::from_jwk(&forged),
            Err(Error::InvalidKey(_))
        ));
    }

    #[test]
    fn non_canonical_recipient_keys_are_rejected() {
        let good = RecipientSecretKey::generate("c")
            .unwrap()
            .public_key()
            .bytes;
        assert!(crypto::x25519_is_canonical(&good));
        let mut high = good;
        high[31] |= 0x80;
        // p, p + 1 and 2^255 - 1: at or above p with bit 255 clear.
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        let mut p1 = p;
        p1[0] = 0xee;
        let mut max = [0xffu8; 32];
        max[31] = 0x7f;
        let mut below = p;
        below[0] = 0xec; // p - 1: canonical
        assert!(crypto::x25519_is_canonical(&below));
        for bad in [high, p, p1, max] {
            assert!(!crypto::x25519_is_canonical(&bad));
            let jwk = format!(
                r#"{{"kty":"OKP","crv":"X25519","consumer":"c","x":"{}"}}"#,
                b64_encode(&bad)
            );
            assert!(
                matches!(
                    RecipientPublicKey::from_jwk(&jwk),
                    Err(Error::InvalidKey(m)) if m.starts_with("X25519 public key not canonical")
                ),
                "{jwk}"
            );
        }
    }

    #[test]
    fn small_order_recipient_keys_are_rejected() {
        // 0, 1 and a point of order 8 (from the list in RFC 7748 discussions / Wycheproof).
        let points = [
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "4Ot6fDtBuK4WVuP68Z_EatoJjeucMrH9hmIFFl9JuAA",
        ];
        for x in points {
            let jwk = format!(r#"{{"kty":"OKP","crv":"X25519","consumer":"c","x":"{x}"}}"#);
            assert!(
                matches!(
                    RecipientPublicKey::from_jwk(&jwk),
                    Err(Error::InvalidKey("X25519 public key of small order"))
                ),
                "{x}"
            );
        }
    }
}

//! Signing (source) keys: Ed25519 and ECDSA P-256, and their verifying halves.

use std::fmt;

use zeroize::Zeroizing;

use super::jwk::{parse_jwk, write_jwk, Jwk, JwkRules, ED25519, P256, SIGNING_TYPES};
use super::KeyId;
use crate::crypto::{self, EcdsaP256Pair, Ed25519Pair, KEY_LEN, P256_PUBLIC_LEN};
use crate::encoding::{b64_encode, check_identifier};
use crate::error::{Error, Result};

/// A signature algorithm. It belongs to the key (its JWK `kty`/`crv`), never to a message:
/// an envelope has no algorithm field, and a consumer verifies with the algorithm of the
/// trusted key it looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// Ed25519 (RFC 8032): JWK `{"kty":"OKP","crv":"Ed25519"}`, `alg` `Ed25519` (RFC 9864;
    /// `EdDSA` is read too). The default.
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
    pub(super) secret: Zeroizing<[u8; KEY_LEN]>,
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

    /// An Ed25519 signing key for `source` from its 32-byte seed (RFC 8032's secret key, as
    /// PKCS#8 files and JWK `d` hold it); the public key is computed from it. For keys made
    /// by other tools (`eventseal key import`).
    ///
    /// # Errors
    /// [`Error::Malformed`] if `source` is not a valid identifier; [`Error::InvalidKey`].
    pub fn from_ed25519_seed(source: &str, seed: Zeroizing<[u8; KEY_LEN]>) -> Result<Self> {
        check_identifier(source, "source id")?;
        Self::ed25519(source, seed, None)
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

    /// Signs with the in-process key (the [`Signer`](super::Signer) implementation).
    pub(crate) fn sign_message(&self, msg: &[u8]) -> Result<[u8; crypto::SIGNATURE_LEN]> {
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
            PublicBytes::Ed25519(b) => ("OKP", ED25519, "Ed25519", b64_encode(b), None),
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
    pub(crate) fn verifies(&self, msg: &[u8], sig: &[u8]) -> bool {
        match &self.public {
            PublicBytes::Ed25519(b) => crypto::ed25519_verify(b, msg, sig),
            PublicBytes::P256(p) => p.verify(msg, sig),
        }
    }

    /// Checks `signature` over `message` with this key's own algorithm (Ed25519, or ECDSA
    /// P-256 with SHA-256 and fixed `r || s`). For [`Signer`](super::Signer)s whose key is
    /// remote or in hardware: check what the backend returned before using it.
    ///
    /// # Errors
    /// [`Error::BadSignature`].
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        if self.verifies(message, signature) {
            Ok(())
        } else {
            Err(Error::BadSignature)
        }
    }

    /// A verifying key for `source` from the raw public key of `algorithm`: Ed25519's 32
    /// bytes (RFC 8032), or P-256's 65-byte uncompressed SEC1 point (`04 || x || y`), as
    /// PKCS#11 tokens hold them (`CKA_EC_POINT`). The same checks as
    /// [`VerifyingKey::from_jwk`].
    ///
    /// # Errors
    /// [`Error::Malformed`] if `source` is not a valid identifier; [`Error::InvalidKey`].
    pub fn from_public_bytes(
        source: &str,
        algorithm: SignatureAlgorithm,
        public: &[u8],
    ) -> Result<Self> {
        check_identifier(source, "source id")?;
        match algorithm {
            SignatureAlgorithm::Ed25519 => {
                let bytes: [u8; KEY_LEN] = public
                    .try_into()
                    .map_err(|_| Error::InvalidKey("Ed25519 public key must be 32 bytes"))?;
                if !crypto::ed25519_public_key_is_valid(&bytes) {
                    return Err(Error::InvalidKey(
                        "Ed25519 key is not a point of the prime-order subgroup",
                    ));
                }
                Ok(Self::ed25519(source.to_owned(), bytes))
            }
            SignatureAlgorithm::EcdsaP256Sha256 => {
                let point: [u8; P256_PUBLIC_LEN] = public.try_into().map_err(|_| {
                    Error::InvalidKey("P-256 public key must be a 65-byte uncompressed point")
                })?;
                if point[0] != 0x04 {
                    return Err(Error::InvalidKey(
                        "P-256 public key must be an uncompressed point",
                    ));
                }
                Self::p256(source.to_owned(), point)
            }
        }
    }

    /// A verifying key for `source` from a DER `SubjectPublicKeyInfo` (RFC 5280), as AWS
    /// KMS `GetPublicKey` and `openssl pkey -pubout -outform DER` give it: Ed25519 (RFC 8410,
    /// OID 1.3.101.112) or P-256 (RFC 5480: id-ecPublicKey with the prime256v1 curve, an
    /// uncompressed point). DER is canonical, so each is one exact byte layout and anything
    /// else is refused.
    ///
    /// # Errors
    /// [`Error::Malformed`] if `source` is not a valid identifier; [`Error::InvalidKey`] for
    /// another algorithm or curve, a compressed point, or trailing bytes.
    pub fn from_spki_der(source: &str, der: &[u8]) -> Result<Self> {
        if let Some(point) = der.strip_prefix(SPKI_P256_PREFIX) {
            Self::from_public_bytes(source, SignatureAlgorithm::EcdsaP256Sha256, point)
        } else if let Some(key) = der.strip_prefix(SPKI_ED25519_PREFIX) {
            Self::from_public_bytes(source, SignatureAlgorithm::Ed25519, key)
        } else {
            Err(Error::InvalidKey(
                "not an Ed25519 or P-256 (uncompressed) SubjectPublicKeyInfo",
            ))
        }
    }

    /// The raw public key: Ed25519's 32 bytes, or P-256's 65-byte uncompressed point.
    #[must_use]
    pub fn public_bytes(&self) -> &[u8] {
        match &self.public {
            PublicBytes::Ed25519(b) => b,
            PublicBytes::P256(p) => p.bytes(),
        }
    }
}

/// `SEQUENCE { SEQUENCE { OID id-ecPublicKey, OID prime256v1 }, BIT STRING (66 bytes:
/// no unused bits, then the 65-byte point) }`; the point follows.
const SPKI_P256_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// `SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (33 bytes: no unused bits, then
/// the 32-byte key) }`; the key follows.
const SPKI_ED25519_PREFIX: &[u8] = &[
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

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

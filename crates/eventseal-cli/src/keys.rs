//! `keygen`, `key public` and `key import`: key files in eventseal's form.
//!
//! Imported keys go through the library's own JWK parser (`from_jwk`), so they are validated
//! exactly as generated ones are (curve points, key sizes, the public half matching the
//! secret, small-order and non-canonical points refused).

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use eventseal::{
    RecipientPublicKey, RecipientSecretKey, SignatureAlgorithm, SigningKey, SymmetricKey,
    VerifyingKey,
};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::io::{self, check_file_name, create_out_dir, write_new_key_file, Source};
use crate::Failure;

/// The key files a command writes, and where.
struct KeyFiles<'a> {
    out_dir: &'a Path,
}

impl KeyFiles<'_> {
    fn path(&self, name: &str) -> PathBuf {
        self.out_dir.join(name)
    }

    fn signing(&self, key: &SigningKey) -> Result<String, Failure> {
        let secret = self.path(&format!("{}.sign.jwk", key.source()));
        let public = self.path(&format!("{}.verify.jwk", key.source()));
        write_new_key_file(&secret, &key.to_secret_jwk(), true)?;
        write_new_key_file(&public, &key.verifying_key().to_jwk(), false)?;
        Ok(format!(
            "wrote {} (secret) and {} (kid {})",
            secret.display(),
            public.display(),
            key.key_id()
        ))
    }

    fn verifying(&self, key: &VerifyingKey) -> Result<String, Failure> {
        let public = self.path(&format!("{}.verify.jwk", key.source()));
        write_new_key_file(&public, &key.to_jwk(), false)?;
        Ok(format!("wrote {} (kid {})", public.display(), key.key_id()))
    }

    fn recipient(&self, key: &RecipientSecretKey) -> Result<String, Failure> {
        let secret = self.path(&format!("{}.recipient.jwk", key.consumer()));
        let public = self.path(&format!("{}.recipient.pub.jwk", key.consumer()));
        write_new_key_file(&secret, &key.to_secret_jwk(), true)?;
        write_new_key_file(&public, &key.public_key().to_jwk(), false)?;
        Ok(format!(
            "wrote {} (secret) and {} (kid {})",
            secret.display(),
            public.display(),
            key.key_id()
        ))
    }

    fn recipient_public(&self, key: &RecipientPublicKey) -> Result<String, Failure> {
        let public = self.path(&format!("{}.recipient.pub.jwk", key.consumer()));
        write_new_key_file(&public, &key.to_jwk(), false)?;
        Ok(format!("wrote {} (kid {})", public.display(), key.key_id()))
    }

    fn symmetric(&self, key: &SymmetricKey) -> Result<String, Failure> {
        let secret = self.path(&format!("{}.psk.jwk", key.consumer()));
        write_new_key_file(&secret, &key.to_secret_jwk(), true)?;
        Ok(format!(
            "wrote {} (secret, kid {})",
            secret.display(),
            key.key_id()
        ))
    }
}

/// What `keygen` makes.
pub enum Generate {
    /// A source's signing key.
    Signing {
        /// The source id.
        source: String,
        /// `ed25519` or `p256`.
        p256: bool,
    },
    /// A consumer's X25519 recipient key.
    Recipient {
        /// The consumer id.
        consumer: String,
    },
    /// A consumer's pre-shared key.
    Symmetric {
        /// The consumer id.
        consumer: String,
    },
}

/// `eventseal keygen …`.
pub fn keygen(what: Generate, out_dir: &Path) -> Result<(), Failure> {
    let lib = |e: eventseal::Error| Failure::Other(e.to_string());
    let (id, option) = match &what {
        Generate::Signing { source, .. } => (source, "--source"),
        Generate::Recipient { consumer } | Generate::Symmetric { consumer } => {
            (consumer, "--consumer")
        }
    };
    check_file_name(id, option)?;
    create_out_dir(out_dir)?;
    let files = KeyFiles { out_dir };
    let said = match what {
        Generate::Signing { source, p256 } => {
            let alg = if p256 {
                SignatureAlgorithm::EcdsaP256Sha256
            } else {
                SignatureAlgorithm::Ed25519
            };
            files.signing(&SigningKey::generate_with(&source, alg).map_err(lib)?)?
        }
        Generate::Recipient { consumer } => {
            files.recipient(&RecipientSecretKey::generate(&consumer).map_err(lib)?)?
        }
        Generate::Symmetric { consumer } => {
            files.symmetric(&SymmetricKey::generate(&consumer).map_err(lib)?)?
        }
    };
    eprintln!("{said}");
    Ok(())
}

/// A key file in eventseal's form, told apart by its members.
pub enum AnyKey {
    /// A source's signing key (secret; boxed: with ring it is far larger than the others).
    Signing(Box<SigningKey>),
    /// A source's verifying key (public).
    Verifying(VerifyingKey),
    /// A consumer's recipient key (secret).
    Recipient(RecipientSecretKey),
    /// A consumer's recipient key (public).
    RecipientPublic(RecipientPublicKey),
    /// A pre-shared key (secret).
    Symmetric(SymmetricKey),
}

/// Reads an eventseal JWK of any kind: by `kty`/`crv`, and by whether it holds a secret.
pub fn parse_any(text: &str) -> eventseal::Result<AnyKey> {
    let v: Value = serde_json::from_str(text)
        .map_err(|_| eventseal::Error::Malformed("key file: not a JSON object"))?;
    let member = |m: &str| v.get(m).and_then(Value::as_str);
    let secret = v.get("d").is_some();
    Ok(match (member("kty"), member("crv")) {
        (Some("oct"), _) => AnyKey::Symmetric(SymmetricKey::from_jwk(text)?),
        (_, Some("X25519")) if secret => AnyKey::Recipient(RecipientSecretKey::from_jwk(text)?),
        (_, Some("X25519")) => AnyKey::RecipientPublic(RecipientPublicKey::from_jwk(text)?),
        _ if secret => AnyKey::Signing(Box::new(SigningKey::from_jwk(text)?)),
        _ => AnyKey::Verifying(VerifyingKey::from_jwk(text)?),
    })
}

/// `key public --key URI --source ID`: the verifying JWK of a key in KMS or on a token.
pub fn public_of_uri(uri: &str, source: Option<&str>) -> Result<String, Failure> {
    if !crate::signer::is_uri(std::ffi::OsStr::new(uri)) {
        return Err(Failure::Usage(format!(
            "--key {}: not a key URI (awskms:///… or pkcs11:…); give a key file as the argument",
            crate::signer::redact(uri)
        )));
    }
    let signer = crate::signer::load(Path::new(uri), source, "--key")?;
    Ok(eventseal::SignerIdentity::verifying_key(&signer).to_jwk())
}

/// `eventseal key public SECRET.jwk`: the public JWK of a secret key, on stdout.
pub fn public(file: &Path) -> Result<String, Failure> {
    let text = io::read_secret_key(file, "SECRET_JWK")?;
    let named = |e: eventseal::Error| Failure::Other(format!("{}: {e}", file.display()));
    Ok(match parse_any(&text).map_err(named)? {
        AnyKey::Signing(k) => k.verifying_key().to_jwk(),
        AnyKey::Recipient(k) => k.public_key().to_jwk(),
        AnyKey::Verifying(k) => k.to_jwk(),
        AnyKey::RecipientPublic(k) => k.to_jwk(),
        AnyKey::Symmetric(_) => {
            return Err(Failure::Other(format!(
                "{}: a pre-shared key has no public half; give the same file to producers and \
                 the consumer",
                file.display()
            )))
        }
    })
}

/// Who an imported key belongs to.
pub enum Owner {
    /// `--source ID`: a signing or verifying key.
    Source(String),
    /// `--consumer ID`: a recipient or pre-shared key.
    Consumer(String),
}

/// `eventseal key import (--source ID | --consumer ID) [--out-dir DIR] FILE`.
pub fn import(owner: Owner, file: &Path, out_dir: &Path) -> Result<(), Failure> {
    let (id, option) = match &owner {
        Owner::Source(s) => (s, "--source"),
        Owner::Consumer(c) => (c, "--consumer"),
    };
    check_file_name(id, option)?;
    let source = Source::from_arg(file);
    if let Source::File(p) = &source {
        // The file may hold a secret; warn as for any secret key file.
        io::warn_if_readable_by_others(p, "a secret key");
    }
    let text = Zeroizing::new(source.read_text(io::MAX_KEY_FILE_BYTES, "FILE")?);
    let named = |m: String| Failure::Other(format!("{}: {m}", source.name()));
    let foreign = if text.trim_start().starts_with("-----BEGIN") {
        pem::parse(&text).map_err(named)?
    } else {
        jwk::parse(&text).map_err(named)?
    };
    if let Some(kid) = &foreign.original_kid {
        eprintln!("note: the key's own kid {kid:?} is replaced by its RFC 7638 thumbprint");
    }
    let canonical = Zeroizing::new(foreign.to_eventseal_jwk(&owner).map_err(named)?);
    let lib = |e: eventseal::Error| named(format!("not a valid key: {e}"));
    create_out_dir(out_dir)?;
    let files = KeyFiles { out_dir };
    let said = match parse_any(&canonical).map_err(lib)? {
        AnyKey::Signing(k) => files.signing(&k)?,
        AnyKey::Verifying(k) => files.verifying(&k)?,
        AnyKey::Recipient(k) => files.recipient(&k)?,
        AnyKey::RecipientPublic(k) => files.recipient_public(&k)?,
        AnyKey::Symmetric(k) => files.symmetric(&k)?,
    };
    eprintln!("{said}");
    Ok(())
}

/// The curves and key types eventseal takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Curve {
    /// Ed25519 signing keys.
    Ed25519,
    /// ECDSA P-256 signing keys.
    P256,
    /// X25519 recipient keys.
    X25519,
    /// 256-bit pre-shared keys.
    Oct,
}

/// A key read from another tool's file, reduced to its key material.
pub struct ForeignKey {
    curve: Curve,
    /// Public coordinate(s): `x` (and `y` for P-256); empty for `oct`.
    x: Vec<u8>,
    y: Option<Vec<u8>>,
    /// The secret: `d`, or `k` for `oct`.
    secret: Option<Zeroizing<Vec<u8>>>,
    /// The file's own `kid`, which eventseal replaces by the thumbprint.
    original_kid: Option<String>,
}

impl ForeignKey {
    /// The key as an eventseal JWK for `owner`: the members eventseal reads, nothing else.
    fn to_eventseal_jwk(&self, owner: &Owner) -> Result<String, String> {
        let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
        let (kty, crv) = match self.curve {
            Curve::Ed25519 => ("OKP", "Ed25519"),
            Curve::P256 => ("EC", "P-256"),
            Curve::X25519 => ("OKP", "X25519"),
            Curve::Oct => ("oct", ""),
        };
        let mut m = Map::new();
        m.insert("kty".into(), kty.into());
        match (self.curve, owner) {
            (Curve::Ed25519 | Curve::P256, Owner::Source(s)) => {
                m.insert("source".into(), s.as_str().into());
            }
            (Curve::X25519 | Curve::Oct, Owner::Consumer(c)) => {
                m.insert("consumer".into(), c.as_str().into());
            }
            (Curve::Ed25519 | Curve::P256, Owner::Consumer(_)) => {
                return Err(format!(
                    "a {crv} key signs for a source: import it with --source ID"
                ))
            }
            (Curve::X25519 | Curve::Oct, Owner::Source(_)) => {
                return Err(
                    "a recipient or pre-shared key belongs to a consumer: import it with \
                     --consumer ID"
                        .to_owned(),
                )
            }
        }
        if self.x.is_empty() && self.curve != Curve::Oct {
            return self.secret_alone_to_jwk(owner);
        }
        if self.curve == Curve::Oct {
            let k = self
                .secret
                .as_ref()
                .ok_or("an oct key without its \"k\" member")?;
            m.insert("k".into(), b64(k).into());
        } else {
            m.insert("crv".into(), crv.into());
            m.insert("x".into(), b64(&self.x).into());
            if let Some(y) = &self.y {
                m.insert("y".into(), b64(y).into());
            }
            if let Some(d) = &self.secret {
                m.insert("d".into(), b64(d).into());
            }
        }
        Ok(Value::Object(m).to_string())
    }

    /// A secret without its public half (PKCS#8 v1 files): the library computes the public
    /// key, and the result is its own secret JWK.
    fn secret_alone_to_jwk(&self, owner: &Owner) -> Result<String, String> {
        let secret = self.secret.as_ref().ok_or("a key file with no key in it")?;
        let bytes: Zeroizing<[u8; 32]> =
            Zeroizing::new(secret.as_slice().try_into().map_err(|_| {
                format!(
                    "a {:?} secret of {} bytes, not 32",
                    self.curve,
                    secret.len()
                )
            })?);
        let lib = |e: eventseal::Error| format!("not a valid key: {e}");
        match (self.curve, owner) {
            (Curve::Ed25519, Owner::Source(s)) => Ok(SigningKey::from_ed25519_seed(s, bytes)
                .map_err(lib)?
                .to_secret_jwk()
                .to_string()),
            (Curve::X25519, Owner::Consumer(c)) => Ok(RecipientSecretKey::from_bytes(c, bytes)
                .map_err(lib)?
                .to_secret_jwk()
                .to_string()),
            (Curve::Ed25519, Owner::Consumer(_)) => {
                Err("an Ed25519 key signs for a source: import it with --source ID".to_owned())
            }
            (Curve::X25519, Owner::Source(_)) => {
                Err("an X25519 key belongs to a consumer: import it with --consumer ID".to_owned())
            }
            _ => Err("the public key member \"x\" is missing".to_owned()),
        }
    }
}

/// JWKs from other tools: jwcrypto, joserfc, node `jose`, WebCrypto `exportKey("jwk")`.
mod jwk {
    use super::*;

    /// Members other tools write that carry no key material. Recorded or checked, then
    /// dropped: eventseal's own form names the owner instead, and derives `kid`.
    const IGNORED: &[&str] = &["key_ops", "ext", "use", "alg", "kid"];

    pub fn parse(text: &str) -> Result<ForeignKey, String> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| format!("neither a JWK (JSON: {e}) nor a PEM file"))?;
        let obj = v.as_object().ok_or("a JWK must be a JSON object")?;
        let str_member = |m: &str| -> Result<Option<&str>, String> {
            match obj.get(m) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(other) => Err(format!("member {m:?} must be a string, not {other}")),
            }
        };
        let bytes = |m: &str| -> Result<Option<Vec<u8>>, String> {
            str_member(m)?
                .map(|s| {
                    URL_SAFE_NO_PAD
                        .decode(s.trim_end_matches('='))
                        .map_err(|_| format!("member {m:?} is not base64url"))
                })
                .transpose()
        };
        for (name, value) in obj {
            let known = ["kty", "crv", "x", "y", "d", "k", "source", "consumer"];
            if !known.contains(&name.as_str()) && !IGNORED.contains(&name.as_str()) {
                return Err(format!(
                    "member {name:?} is not a member of the JWKs eventseal imports"
                ));
            }
            if name == "key_ops" && !value.is_array() {
                return Err("member \"key_ops\" must be an array".to_owned());
            }
            if name == "ext" && !value.is_boolean() {
                return Err("member \"ext\" must be a boolean".to_owned());
            }
        }
        let curve = match (str_member("kty")?, str_member("crv")?) {
            (Some("OKP"), Some("Ed25519")) => Curve::Ed25519,
            (Some("OKP"), Some("X25519")) => Curve::X25519,
            (Some("EC"), Some("P-256")) => Curve::P256,
            (Some("oct"), None) => Curve::Oct,
            (kty, crv) => {
                return Err(format!(
                    "kty {kty:?} crv {crv:?}: eventseal takes OKP Ed25519, EC P-256, OKP X25519 \
                     and oct keys"
                ))
            }
        };
        // `alg`, when present, must name this key's algorithm (WebCrypto writes "Ed25519").
        if let Some(alg) = str_member("alg")? {
            let fits = match curve {
                Curve::Ed25519 => matches!(alg, "EdDSA" | "Ed25519"),
                Curve::P256 => alg == "ES256",
                Curve::X25519 => alg.starts_with("ECDH-ES") || alg == "X25519",
                Curve::Oct => matches!(alg, "A256GCM" | "A256GCMKW" | "A256KW" | "dir"),
            };
            if !fits {
                return Err(format!("alg {alg:?} does not fit a {curve:?} key"));
            }
        }
        let original_kid = str_member("kid")?.map(str::to_owned);
        if curve == Curve::Oct {
            let k = bytes("k")?.ok_or("an oct key without its \"k\" member")?;
            return Ok(ForeignKey {
                curve,
                x: Vec::new(),
                y: None,
                secret: Some(Zeroizing::new(k)),
                original_kid,
            });
        }
        Ok(ForeignKey {
            curve,
            x: bytes("x")?.ok_or("the public key member \"x\" is missing")?,
            y: bytes("y")?,
            secret: bytes("d")?.map(Zeroizing::new),
            original_kid,
        })
    }
}

/// PEM files: PKCS#8 private keys (`PRIVATE KEY`), SEC1 EC private keys (`EC PRIVATE KEY`)
/// and SPKI public keys (`PUBLIC KEY`), for Ed25519, P-256 and X25519.
mod pem {
    use super::*;
    use pkcs8::der::asn1::OctetStringRef;
    use pkcs8::der::{Decode, SecretDocument};
    use pkcs8::ObjectIdentifier;

    const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
    const X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
    const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

    fn curve_of(alg: &spki::AlgorithmIdentifierRef<'_>) -> Result<Curve, String> {
        match alg.oid {
            ED25519 => Ok(Curve::Ed25519),
            X25519 => Ok(Curve::X25519),
            EC_PUBLIC_KEY => match alg.parameters_oid() {
                Ok(PRIME256V1) => Ok(Curve::P256),
                _ => Err("an EC key on a curve other than P-256".to_owned()),
            },
            oid => Err(format!(
                "algorithm {oid}: eventseal takes Ed25519, P-256 and X25519 keys"
            )),
        }
    }

    /// An uncompressed P-256 point (`04 || x || y`) split into its coordinates.
    fn p256_point(point: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        match point {
            [4, rest @ ..] if rest.len() == 64 => {
                let (x, y) = rest.split_at(32);
                Ok((x.to_vec(), y.to_vec()))
            }
            _ => Err("a P-256 public key that is not an uncompressed point".to_owned()),
        }
    }

    pub fn parse(text: &str) -> Result<ForeignKey, String> {
        let (label, doc) = SecretDocument::from_pem(text.trim())
            .map_err(|e| format!("not a PEM file eventseal reads: {e}"))?;
        let der = doc.as_bytes();
        let bad = |e: pkcs8::der::Error| format!("{label}: {e}");
        match label {
            "PRIVATE KEY" => {
                let info = pkcs8::PrivateKeyInfo::from_der(der).map_err(bad)?;
                let curve = curve_of(&info.algorithm)?;
                match curve {
                    Curve::Ed25519 | Curve::X25519 => {
                        // RFC 8410: the private key is an OCTET STRING holding the 32 bytes.
                        let seed = OctetStringRef::from_der(info.private_key).map_err(bad)?;
                        let public = info.public_key.map(|p| p.to_vec());
                        let secret = Zeroizing::new(seed.as_bytes().to_vec());
                        // PKCS#8 v1 (what openssl writes) has no public key: the library
                        // computes it from the secret (ForeignKey::to_eventseal_jwk).
                        Ok(ForeignKey {
                            curve,
                            x: public.unwrap_or_default(),
                            y: None,
                            secret: Some(secret),
                            original_kid: None,
                        })
                    }
                    _ => sec1_key(info.private_key),
                }
            }
            "EC PRIVATE KEY" => sec1_key(der),
            "PUBLIC KEY" => {
                let info = spki::SubjectPublicKeyInfoRef::from_der(der).map_err(bad)?;
                let curve = curve_of(&info.algorithm)?;
                let key = info
                    .subject_public_key
                    .as_bytes()
                    .ok_or("a public key bit string with unused bits")?;
                let (x, y) = match curve {
                    Curve::P256 => {
                        let (x, y) = p256_point(key)?;
                        (x, Some(y))
                    }
                    _ => (key.to_vec(), None),
                };
                Ok(ForeignKey {
                    curve,
                    x,
                    y,
                    secret: None,
                    original_kid: None,
                })
            }
            other => Err(format!(
                "a PEM {other:?} block: eventseal reads PRIVATE KEY (PKCS#8), EC PRIVATE KEY \
                 (SEC1) and PUBLIC KEY (SPKI)"
            )),
        }
    }

    /// A SEC1 `ECPrivateKey` (inside PKCS#8, or alone): P-256 only, with its public point.
    fn sec1_key(der: &[u8]) -> Result<ForeignKey, String> {
        let key = sec1::EcPrivateKey::from_der(der).map_err(|e| format!("EC private key: {e}"))?;
        if let Some(params) = key.parameters {
            if params.named_curve() != Some(PRIME256V1) {
                return Err("an EC key on a curve other than P-256".to_owned());
            }
        }
        let point = key
            .public_key
            .ok_or("the EC private key does not include its public point; export it with it")?;
        let (x, y) = p256_point(point)?;
        Ok(ForeignKey {
            curve: Curve::P256,
            x,
            y: Some(y),
            secret: Some(Zeroizing::new(key.private_key.to_vec())),
            original_kid: None,
        })
    }
}

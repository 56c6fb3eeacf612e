//! The wire format, version 1 (specified in `docs/FORMAT.md`): parsing with limits,
//! serialization, and the exact byte strings that are signed and authenticated.
//!
//! An envelope is a JSON object with exactly three members, each a base64url string:
//!
//! ```json
//! {"header":"<b64url(header JSON)>","ciphertext":"<b64url>","signature":"<b64url>"}
//! ```
//!
//! The header travels as encoded bytes, so the signature covers exactly the bytes that were
//! received: a broker, a Lambda runtime or a consumer that parses and re-serializes the outer
//! JSON cannot change what is verified, and nothing is ever re-serialized to be checked.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::canonical;
use crate::crypto::{HASH_LEN, KEY_LEN, SIGNATURE_LEN, TAG_LEN};
use crate::encoding::{
    b64_decode, b64_decode_fixed, b64_encode, check_identifier, check_json_depth, check_label,
    encoded_len, pae, ObjectOnly,
};
use crate::error::{Error, Result};

/// The only envelope format version this library produces and accepts.
pub const FORMAT_VERSION: u32 = 1;

/// Domain-separation labels: the first part of every PAE, naming the version and purpose.
pub(crate) const SIGNATURE_LABEL: &[u8] = b"eventseal/v1/signature";
pub(crate) const PAYLOAD_AAD_LABEL: &[u8] = b"eventseal/v1/payload";
pub(crate) const WRAP_INFO_LABEL: &[u8] = b"eventseal/v1/wrap";

/// Longest event type, in bytes.
pub const MAX_EVENT_TYPE_LEN: usize = 256;
/// Longest content type, in bytes.
pub const MAX_CONTENT_TYPE_LEN: usize = 128;

/// Size limits, checked before any expensive work (decoding, signature, decryption).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest whole envelope, in bytes. Default 262 144 (256 KiB). EventBridge's 256 KiB
    /// entry limit also counts the entry's `Source` and `DetailType`; a sealer for EventBridge
    /// leaves room for them ([`Sealer::with_eventbridge_defaults`](crate::Sealer::with_eventbridge_defaults)).
    pub max_envelope_bytes: usize,
    /// Largest decoded header, in bytes. Default 65 536.
    pub max_header_bytes: usize,
    /// Most recipients in one envelope. Default 64.
    pub max_recipients: usize,
    /// Deepest JSON nesting (objects and arrays) accepted anywhere. Default 8
    /// (the format itself needs 3).
    pub max_json_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_envelope_bytes: 256 * 1024,
            max_header_bytes: 64 * 1024,
            max_recipients: 64,
            max_json_depth: 8,
        }
    }
}

impl Limits {
    /// Sets [`Limits::max_envelope_bytes`].
    #[must_use]
    pub fn with_max_envelope_bytes(mut self, n: usize) -> Self {
        self.max_envelope_bytes = n;
        self
    }

    /// Sets [`Limits::max_header_bytes`].
    #[must_use]
    pub fn with_max_header_bytes(mut self, n: usize) -> Self {
        self.max_header_bytes = n;
        self
    }

    /// Sets [`Limits::max_recipients`].
    #[must_use]
    pub fn with_max_recipients(mut self, n: usize) -> Self {
        self.max_recipients = n;
        self
    }

    /// Sets [`Limits::max_json_depth`].
    #[must_use]
    pub fn with_max_json_depth(mut self, n: usize) -> Self {
        self.max_json_depth = n;
        self
    }
}

/// A short ASCII string (an identifier, at most 128 bytes, or a 43-character key id) held
/// inline: a header to 64 recipients would otherwise allocate twice per entry on every open.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct InlineAscii<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineAscii<N> {
    /// `text` if it is ASCII and fits (the identifier and key id checks come first).
    pub(crate) fn new(text: &str) -> Option<Self> {
        let mut bytes = [0u8; N];
        bytes
            .get_mut(..text.len())?
            .copy_from_slice(text.as_bytes());
        Some(Self {
            len: u8::try_from(text.len()).ok()?,
            bytes,
        })
        .filter(|_| text.is_ascii())
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl<const N: usize> std::fmt::Debug for InlineAscii<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// An identifier (section 2.3 of docs/FORMAT.md), inline.
pub(crate) type InlineIdentifier = InlineAscii<128>;
/// A key id (43 characters of base64url), inline.
pub(crate) type InlineKeyId = InlineAscii<43>;

/// One recipient entry of a header: who may read, with which key, and the wrapped content key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientEntry {
    pub(crate) consumer: InlineIdentifier,
    pub(crate) key_id: InlineKeyId,
    pub(crate) enc: [u8; KEY_LEN],
    pub(crate) wrapped_key: [u8; WRAPPED_KEY_LEN],
}

impl RecipientEntry {
    /// The consumer id this entry is addressed to.
    #[must_use]
    pub fn consumer(&self) -> &str {
        self.consumer.as_str()
    }

    /// The key id of the consumer's recipient key.
    #[must_use]
    pub fn key_id(&self) -> &str {
        self.key_id.as_str()
    }

    /// An entry from checked parts; `None` if an id is longer than its inline room (the
    /// identifier and key id rules, checked before, never allow that).
    pub(crate) fn new(
        consumer: &str,
        key_id: &str,
        enc: [u8; KEY_LEN],
        wrapped_key: [u8; WRAPPED_KEY_LEN],
    ) -> Option<Self> {
        Some(Self {
            consumer: InlineIdentifier::new(consumer)?,
            key_id: InlineKeyId::new(key_id)?,
            enc,
            wrapped_key,
        })
    }
}

/// Length of the content key.
pub(crate) const CONTENT_KEY_LEN: usize = 32;
/// Length of a wrapped content key: the key plus the AEAD tag.
pub(crate) const WRAPPED_KEY_LEN: usize = CONTENT_KEY_LEN + TAG_LEN;

/// The header of an envelope: everything but the ciphertext and signature.
///
/// Obtained from [`UntrustedEnvelope::untrusted_header`] (not yet verified) or from a verified
/// stage of the open pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub(crate) id: Uuid,
    pub(crate) source: String,
    pub(crate) key_id: String,
    pub(crate) event_type: String,
    pub(crate) content_type: String,
    pub(crate) issued_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) recipients: Vec<RecipientEntry>,
    pub(crate) key_commitment: [u8; HASH_LEN],
}

impl Header {
    /// The envelope id (a UUID v7).
    #[must_use]
    pub fn id(&self) -> Uuid {
        self.id
    }
    /// The source id the envelope claims to come from.
    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }
    /// The key id of the signing key.
    #[must_use]
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
    /// The event type.
    #[must_use]
    pub fn event_type(&self) -> &str {
        &self.event_type
    }
    /// The payload's content type.
    #[must_use]
    pub fn content_type(&self) -> &str {
        &self.content_type
    }
    /// Issued-at, in seconds since the Unix epoch.
    #[must_use]
    pub fn issued_at(&self) -> i64 {
        self.issued_at
    }
    /// Expires-at, in seconds since the Unix epoch.
    #[must_use]
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }
    /// The recipient entries, in their signed order.
    #[must_use]
    pub fn recipients(&self) -> &[RecipientEntry] {
        &self.recipients
    }
}

// --- JSON shapes ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct VersionProbe<'a> {
    #[serde(borrow)]
    version: &'a serde_json::value::RawValue,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderJson<'a> {
    version: u32,
    id: &'a str,
    source: &'a str,
    key_id: &'a str,
    event_type: &'a str,
    content_type: &'a str,
    issued_at: i64,
    expires_at: i64,
    #[serde(borrow, deserialize_with = "recipients_as_objects")]
    recipients: Vec<RecipientJson<'a>>,
    key_commitment: &'a str,
}

fn recipients_as_objects<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<RecipientJson<'a>>, D::Error> {
    let v: Vec<ObjectOnly<RecipientJson<'a>>> = Deserialize::deserialize(d)?;
    Ok(v.into_iter().map(|o| o.0).collect())
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecipientJson<'a> {
    consumer: &'a str,
    key_id: &'a str,
    enc: &'a str,
    wrapped_key: &'a str,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeJson<'a> {
    header: &'a str,
    ciphertext: &'a str,
    signature: &'a str,
}

/// Key ids are RFC 7638 thumbprints: 43 characters of base64url.
fn check_key_id(kid: &str) -> Result<()> {
    // A thumbprint: canonical base64url of 32 bytes, checked without allocating.
    b64_decode_fixed::<HASH_LEN>(kid, "key id").map(|_| ())
}

fn check_envelope_id(text: &str) -> Result<Uuid> {
    // Exactly the lowercase hyphenated form, version 7: one accepted spelling per id.
    let id = Uuid::try_parse(text).map_err(|_| Error::Malformed("envelope id"))?;
    let mut canonical = Uuid::encode_buffer();
    if id.get_version_num() != 7
        || id.get_variant() != uuid::Variant::RFC4122
        || id.hyphenated().encode_lower(&mut canonical) != text
    {
        return Err(Error::Malformed("envelope id"));
    }
    Ok(id)
}

impl Header {
    /// Parses header bytes (already size-checked) into a validated header; `fast`: try the
    /// reader of the producer's exact form first.
    fn parse(bytes: &[u8], limits: &Limits, fast: bool) -> Result<Self> {
        // The producer's exact form is read directly (src/canonical.rs); anything else goes
        // through serde_json. Both give the same fields to the same checks.
        if fast && limits.max_json_depth >= 3 {
            if let Some(fields) = canonical::header(bytes, limits.max_recipients) {
                return Self::from_fields(fields, limits);
            }
        }
        check_json_depth(bytes, limits.max_json_depth)?;
        // The version decides the schema. A v1 header parses in one pass; only when that
        // fails is the version read on its own, so that another version's header is
        // `unsupported-version` rather than `malformed`.
        let h = match serde_json::from_slice::<ObjectOnly<HeaderJson<'_>>>(bytes) {
            Ok(ObjectOnly(h)) if h.version == FORMAT_VERSION => h,
            Ok(_) => return Err(Error::UnsupportedVersion),
            Err(_) => {
                let ObjectOnly(probe): ObjectOnly<VersionProbe<'_>> =
                    serde_json::from_slice(bytes).map_err(|_| Error::Malformed("header JSON"))?;
                // A version is a non-negative integer written in digits alone, of any size
                // (`18446744073709551616` is a version we do not support, not a malformed
                // one); a sign (`-0`, `-1`), fraction or exponent is malformed.
                let text = probe.version.get();
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Error::Malformed("version"));
                }
                return Err(if text == "1" {
                    Error::Malformed("header fields")
                } else {
                    Error::UnsupportedVersion
                });
            }
        };
        // No escape sequence anywhere, member names included: in JSON text a backslash
        // occurs only in one, and the borrowed fields above already refuse escaped values,
        // but serde matches member names after unescaping them (`"vers\\u0069on"`).
        if memchr::memchr(b'\\', bytes).is_some() {
            return Err(Error::Malformed("escape sequence in the header"));
        }
        if h.recipients.len() > limits.max_recipients {
            return Err(Error::too_large(
                "recipients",
                limits.max_recipients,
                h.recipients.len(),
            ));
        }
        let fields = canonical::CanonicalHeader {
            id: h.id,
            source: h.source,
            key_id: h.key_id,
            event_type: h.event_type,
            content_type: h.content_type,
            issued_at: h.issued_at,
            expires_at: h.expires_at,
            recipients: h
                .recipients
                .iter()
                .map(|r| [r.consumer, r.key_id, r.enc, r.wrapped_key])
                .collect(),
            key_commitment: h.key_commitment,
        };
        Self::from_fields(fields, limits)
    }

    /// The field rules of §7 step 11 and the structural rules of step 12, in order, on the
    /// members however they were read.
    fn from_fields(h: canonical::CanonicalHeader<'_>, limits: &Limits) -> Result<Self> {
        if h.recipients.len() > limits.max_recipients {
            return Err(Error::too_large(
                "recipients",
                limits.max_recipients,
                h.recipients.len(),
            ));
        }
        let header = Header {
            id: check_envelope_id(h.id)?,
            source: validated_identifier(h.source, "source id")?,
            key_id: {
                check_key_id(h.key_id)?;
                h.key_id.to_owned()
            },
            event_type: {
                check_label(h.event_type, MAX_EVENT_TYPE_LEN, "event type")?;
                h.event_type.to_owned()
            },
            content_type: {
                check_label(h.content_type, MAX_CONTENT_TYPE_LEN, "content type")?;
                h.content_type.to_owned()
            },
            issued_at: h.issued_at,
            expires_at: h.expires_at,
            recipients: {
                // Pushed one by one into room for all: each entry is written once.
                let mut entries = Vec::with_capacity(h.recipients.len());
                for &[consumer, key_id, enc, wrapped_key] in &h.recipients {
                    check_identifier(consumer, "consumer id")?;
                    check_key_id(key_id)?;
                    entries.push(RecipientEntry {
                        consumer: InlineIdentifier::new(consumer)
                            .ok_or_else(|| Error::Malformed("consumer id"))?,
                        key_id: InlineKeyId::new(key_id)
                            .ok_or_else(|| Error::Malformed("key id"))?,
                        enc: b64_decode_fixed::<KEY_LEN>(enc, "enc")?,
                        wrapped_key: b64_decode_fixed::<WRAPPED_KEY_LEN>(
                            wrapped_key,
                            "wrapped key",
                        )?,
                    });
                }
                entries
            },
            key_commitment: b64_decode_fixed::<HASH_LEN>(h.key_commitment, "key commitment")?,
        };
        header.check_structure()?;
        Ok(header)
    }

    /// Rules that hold for every header, produced or received.
    pub(crate) fn check_structure(&self) -> Result<()> {
        if self.expires_at <= self.issued_at {
            return Err(Error::Malformed("expires_at must be after issued_at"));
        }
        if self.recipients.is_empty() {
            return Err(Error::Malformed("no recipients"));
        }
        // No (consumer, key id) twice: each recipient has exactly one entry.
        let mut seen: Vec<(&[u8], &[u8])> = self
            .recipients
            .iter()
            .map(|r| (r.consumer.as_bytes(), r.key_id.as_bytes()))
            .collect();
        seen.sort_unstable();
        if seen.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(Error::Malformed("duplicate recipient"));
        }
        Ok(())
    }

    /// Serializes the header to its JSON bytes (the bytes that are then signed).
    pub(crate) fn to_json(&self) -> Result<Vec<u8>> {
        let id = self.id.hyphenated().to_string();
        let encs: Vec<(String, String)> = self
            .recipients
            .iter()
            .map(|r| (b64_encode(&r.enc), b64_encode(&r.wrapped_key)))
            .collect();
        let kc = b64_encode(&self.key_commitment);
        let h = HeaderJson {
            version: FORMAT_VERSION,
            id: &id,
            source: &self.source,
            key_id: &self.key_id,
            event_type: &self.event_type,
            content_type: &self.content_type,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            recipients: self
                .recipients
                .iter()
                .zip(&encs)
                .map(|(r, (enc, wk))| RecipientJson {
                    consumer: r.consumer.as_str(),
                    key_id: r.key_id.as_str(),
                    enc,
                    wrapped_key: wk,
                })
                .collect(),
            key_commitment: &kc,
        };
        serde_json::to_vec(&h).map_err(|_| Error::InvalidInput("header serialization"))
    }

    /// The HPKE `info` for one recipient's key wrap: binds the wrap to this envelope, its
    /// source and signing key (sender binding), and to the recipient's identity and key.
    pub(crate) fn wrap_info(&self, consumer: &str, recipient_kid: &str) -> Vec<u8> {
        pae(&[
            WRAP_INFO_LABEL,
            self.id.as_bytes(),
            self.source.as_bytes(),
            self.key_id.as_bytes(),
            self.event_type.as_bytes(),
            consumer.as_bytes(),
            recipient_kid.as_bytes(),
        ])
    }
}

fn validated_identifier(s: &str, what: &'static str) -> Result<String> {
    check_identifier(s, what)?;
    Ok(s.to_owned())
}

/// The message the source signs: `PAE(["eventseal/v1/signature", header bytes, ciphertext])`.
pub(crate) fn signed_message(header_bytes: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    pae(&[SIGNATURE_LABEL, header_bytes, ciphertext])
}

/// The payload AEAD's associated data: `PAE(["eventseal/v1/payload", header bytes])`.
pub(crate) fn payload_aad(header_bytes: &[u8]) -> Vec<u8> {
    pae(&[PAYLOAD_AAD_LABEL, header_bytes])
}

/// Writes the outer envelope JSON.
pub(crate) fn write_envelope(header_bytes: &[u8], ciphertext: &[u8], signature: &[u8]) -> String {
    let header = b64_encode(header_bytes);
    let ct = b64_encode(ciphertext);
    let sig = b64_encode(signature);
    let mut out = String::with_capacity(header.len() + ct.len() + sig.len() + 48);
    // The three values are base64url (no characters JSON would escape), so this is exactly
    // what serde_json writes for `EnvelopeJson`; a unit test checks it.
    out.push_str(r#"{"header":""#);
    out.push_str(&header);
    out.push_str(r#"","ciphertext":""#);
    out.push_str(&ct);
    out.push_str(r#"","signature":""#);
    out.push_str(&sig);
    out.push_str(r#""}"#);
    out
}

/// Size of the envelope that [`write_envelope`] produces for these field sizes.
pub(crate) fn envelope_len(header_len: usize, ciphertext_len: usize) -> usize {
    r#"{"header":"","ciphertext":"","signature":""}"#.len()
        + encoded_len(header_len)
        + encoded_len(ciphertext_len)
        + encoded_len(SIGNATURE_LEN)
}

/// A parsed envelope whose signature has **not** been checked.
///
/// Its accessors are named `untrusted_*`: nothing in it may be acted on. The only way forward
/// is [`UntrustedEnvelope::verify`].
#[derive(Debug)]
pub struct UntrustedEnvelope {
    pub(crate) header: Header,
    pub(crate) header_bytes: Vec<u8>,
    pub(crate) ciphertext: Vec<u8>,
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

impl UntrustedEnvelope {
    /// Parses an envelope, checking every limit before the work it guards.
    ///
    /// Order: whole size → JSON nesting → outer JSON (exactly three string members, no
    /// duplicates) → encoded sizes → base64 decoding → header size → header JSON → fields.
    ///
    /// # Errors
    /// [`Error::TooLarge`], [`Error::Malformed`] or [`Error::UnsupportedVersion`].
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<Self> {
        Self::parse_with(bytes, limits, true)
    }

    /// [`UntrustedEnvelope::parse`] through serde_json alone, without the reader of the
    /// producer's exact form: the reference the fast path must agree with, for the fuzz
    /// targets and tests (feature `fuzz-internals`; not for production).
    ///
    /// # Errors
    /// As [`UntrustedEnvelope::parse`].
    #[cfg(any(test, feature = "fuzz-internals"))]
    #[doc(hidden)]
    pub fn parse_reference(bytes: &[u8], limits: &Limits) -> Result<Self> {
        Self::parse_with(bytes, limits, false)
    }

    fn parse_with(bytes: &[u8], limits: &Limits, fast: bool) -> Result<Self> {
        if bytes.len() > limits.max_envelope_bytes {
            return Err(Error::too_large(
                "envelope bytes",
                limits.max_envelope_bytes,
                bytes.len(),
            ));
        }
        // The producer's exact form is read directly (src/canonical.rs: the same three
        // strings serde_json would borrow, depth 1); anything else goes through serde_json.
        let (header, ciphertext, signature) = match canonical::outer(bytes).filter(|_| fast) {
            Some(fields) if limits.max_json_depth >= 1 => fields,
            _ => {
                check_json_depth(bytes, limits.max_json_depth)?;
                let ObjectOnly(outer): ObjectOnly<EnvelopeJson<'_>> =
                    serde_json::from_slice(bytes).map_err(|_| Error::Malformed("envelope JSON"))?;
                (
                    outer.header.as_bytes(),
                    outer.ciphertext.as_bytes(),
                    outer.signature.as_bytes(),
                )
            }
        };
        if header.len() > encoded_len(limits.max_header_bytes) {
            return Err(Error::too_large(
                "header bytes",
                limits.max_header_bytes,
                header.len().saturating_mul(3) / 4,
            ));
        }
        let signature = b64_decode_fixed::<SIGNATURE_LEN>(signature, "signature")?;
        let header_bytes = b64_decode(header, "header")?;
        let header = Header::parse(&header_bytes, limits, fast)?;
        let ciphertext = b64_decode(ciphertext, "ciphertext")?;
        if ciphertext.len() < TAG_LEN {
            return Err(Error::Malformed("ciphertext shorter than its tag"));
        }
        Ok(Self {
            header,
            header_bytes,
            ciphertext,
            signature,
        })
    }

    /// The header, **unverified**: for routing and diagnostics only.
    #[must_use]
    pub fn untrusted_header(&self) -> &Header {
        &self.header
    }

    /// The exact header bytes as received, **unverified**.
    #[must_use]
    pub fn untrusted_header_bytes(&self) -> &[u8] {
        &self.header_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handwritten_envelope_json_matches_serde() {
        let (h, c, s) = (b"{}".as_slice(), [1u8; 20], [2u8; SIGNATURE_LEN]);
        let ours = write_envelope(h, &c, &s);
        let hb = b64_encode(h);
        let cb = b64_encode(&c);
        let sb = b64_encode(&s);
        let theirs = serde_json::to_string(&EnvelopeJson {
            header: &hb,
            ciphertext: &cb,
            signature: &sb,
        })
        .unwrap();
        assert_eq!(ours, theirs);
        assert_eq!(ours.len(), envelope_len(h.len(), c.len()));
    }

    #[test]
    fn envelope_id_must_be_canonical_v7() {
        let id = uuid::Builder::from_unix_timestamp_millis(1, &[0xab; 10])
            .into_uuid()
            .hyphenated()
            .to_string();
        assert!(check_envelope_id(&id).is_ok());
        assert!(check_envelope_id(&id.to_uppercase()).is_err());
        assert!(check_envelope_id(&id.replace('-', "")).is_err());
        // A version-4 UUID is not accepted.
        assert!(check_envelope_id("6ba7b810-9dad-41d1-80b4-00c04fd430c8").is_err());
    }

    /// A real envelope to `n` recipients.
    fn sealed(n: usize) -> Vec<u8> {
        let sealer = crate::Sealer::new(crate::SigningKey::generate("orders").unwrap());
        let keys: Vec<_> = (0..n)
            .map(|i| crate::RecipientSecretKey::generate(&format!("c-{i}")).unwrap())
            .collect();
        let pubs: Vec<_> = keys.iter().map(|k| k.public_key()).collect();
        sealer
            .seal("order.created", b"{}", &pubs)
            .unwrap()
            .as_bytes()
            .to_vec()
    }

    /// The fast path and the serde-only reference agree: the same envelope, or the same kind.
    fn agree(bytes: &[u8], limits: &Limits) -> std::result::Result<(), String> {
        match (
            UntrustedEnvelope::parse(bytes, limits),
            UntrustedEnvelope::parse_reference(bytes, limits),
        ) {
            (Ok(a), Ok(b)) if a.header == b.header && a.header_bytes == b.header_bytes => Ok(()),
            (Err(a), Err(b)) if a.kind() == b.kind() => Ok(()),
            (a, b) => Err(format!("{a:?} / {b:?}")),
        }
    }

    /// Bytes a mutation inserts or writes: JSON's structural and escape characters, a
    /// control character, a non-ASCII byte, and ordinary ones.
    const INTERESTING: &[u8] = b"\\\"[]{},: \t\n\x01\xffa-0e.";

    fn mutate(mut bytes: Vec<u8>, edits: &[(usize, usize, bool)]) -> Vec<u8> {
        for &(at, pick, insert) in edits {
            let at = at % (bytes.len() + 1);
            let b = INTERESTING[pick % INTERESTING.len()];
            if insert || at == bytes.len() {
                bytes.insert(at, b);
            } else {
                bytes[at] = b;
            }
        }
        bytes
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        /// Edits to the header text (re-encoded, so the outer object stays in the
        /// producer's form and the header reaches both header parsers).
        #[test]
        fn fast_path_agrees_on_edited_headers(
            edits in proptest::collection::vec((0usize..20_000, 0usize..64, proptest::bool::ANY), 1..4),
            n in 1usize..5,
            max_recipients in 1usize..6,
            max_json_depth in 2usize..5,
        ) {
            let env = sealed(n);
            let v: serde_json::Value = serde_json::from_slice(&env).unwrap();
            let header = b64_decode(v["header"].as_str().unwrap(), "h").unwrap();
            let edited = write_envelope(
                &mutate(header, &edits),
                &b64_decode(v["ciphertext"].as_str().unwrap(), "c").unwrap(),
                &b64_decode(v["signature"].as_str().unwrap(), "s").unwrap(),
            );
            let limits = Limits::default()
                .with_max_recipients(max_recipients)
                .with_max_json_depth(max_json_depth);
            proptest::prop_assert_eq!(agree(edited.as_bytes(), &limits), Ok(()));
            proptest::prop_assert_eq!(agree(edited.as_bytes(), &Limits::default()), Ok(()));
        }

        /// Edits to the outer text.
        #[test]
        fn fast_path_agrees_on_edited_envelopes(
            edits in proptest::collection::vec((0usize..20_000, 0usize..64, proptest::bool::ANY), 1..4),
            max_json_depth in 0usize..4,
        ) {
            let edited = mutate(sealed(2), &edits);
            let limits = Limits::default().with_max_json_depth(max_json_depth);
            proptest::prop_assert_eq!(agree(&edited, &limits), Ok(()));
            proptest::prop_assert_eq!(agree(&edited, &Limits::default()), Ok(()));
        }
    }

    /// An escaped quote shifts where strings end for a JSON parser but not for a reader that
    /// stops at every `"`: such a header must go to serde (here the shifted text nests too
    /// deep, `too-large`, while the naive reading would call the source malformed).
    #[test]
    fn fast_path_leaves_escapes_to_serde() {
        let env = sealed(1);
        let v: serde_json::Value = serde_json::from_slice(&env).unwrap();
        let header = b64_decode(v["header"].as_str().unwrap(), "h").unwrap();
        let text = String::from_utf8(header)
            .unwrap()
            .replacen(r#""source":"orders""#, r#""source":"a\""#, 1)
            .replacen(r#""order.created""#, r#""[[[[[[[[[[""#, 1);
        let edited = write_envelope(
            text.as_bytes(),
            &b64_decode(v["ciphertext"].as_str().unwrap(), "c").unwrap(),
            &b64_decode(v["signature"].as_str().unwrap(), "s").unwrap(),
        );
        let kind = |r: Result<UntrustedEnvelope>| r.map(|_| ()).map_err(|e| e.kind());
        assert_eq!(
            kind(UntrustedEnvelope::parse_reference(
                edited.as_bytes(),
                &Limits::default()
            )),
            Err(crate::ErrorKind::TooLarge)
        );
        assert_eq!(agree(edited.as_bytes(), &Limits::default()), Ok(()));
    }

    #[test]
    fn fast_path_takes_the_producers_form() {
        let env = sealed(3);
        assert!(canonical::outer(&env).is_some());
        let v: serde_json::Value = serde_json::from_slice(&env).unwrap();
        let header = b64_decode(v["header"].as_str().unwrap(), "h").unwrap();
        assert!(canonical::header(&header, 64).is_some());
        assert_eq!(agree(&env, &Limits::default()), Ok(()));
    }
}

//! A configurable HMAC-SHA256 verifier for the many providers that are variations of one
//! scheme: a header carrying `PREFIX` + hex or base64 MAC(s), over a template of the body and,
//! optionally, a timestamp header and an id header.
//!
//! A signed `{id}` is the dedupe id, so it must read back from the signed bytes in one way
//! only: a template must put a literal between `{id}` and any other placeholder, and an id
//! containing a literal that separates it from another placeholder (on either side) is
//! `malformed`.

use std::time::Duration;

use super::{
    check_timestamp, content_id, decode_b64_std, decode_hex, parse_unix_seconds, HmacSecrets,
    Request, Verified, Verifier, DEFAULT_TOLERANCE,
};
use crate::crypto::HmacAlg;
use crate::error::{Error, Result};

/// How the MAC is written in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacEncoding {
    /// Hex (either case).
    Hex,
    /// Standard base64 with padding.
    Base64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Literal(Vec<u8>),
    Body,
    Timestamp,
    Id,
}

/// A literal of the template that separates `{id}` from another placeholder: the id must
/// read back from the signed string at that literal.
#[derive(Clone, Debug, PartialEq, Eq)]
enum IdBoundary {
    /// `{id}` is followed by this literal (and something after it): the id ends at the
    /// literal's first occurrence.
    Before(Vec<u8>),
    /// `{id}` is preceded by this literal (and a placeholder before it): the id starts after
    /// the literal's last occurrence.
    After(Vec<u8>),
}

impl IdBoundary {
    /// Whether `id` reads back unchanged from the signed string, so that no other split of
    /// the same bytes between the id and its neighbours gives another id: the literal must
    /// occur exactly at the id's edge, never inside it or straddling into it.
    fn keeps(&self, id: &[u8]) -> bool {
        let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
        let rfind =
            |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).rposition(|w| w == needle);
        match self {
            Self::Before(lit) => find(&[id, lit].concat(), lit) == Some(id.len()),
            Self::After(lit) => rfind(&[lit, id].concat(), lit) == Some(0),
        }
    }
}

/// The boundaries of every `{id}` in a template, on both sides. An `{id}` with another
/// placeholder next to it and no literal between could trade bytes with it (id `a`, body `bc`
/// against id `ab`, body `c`), so such a template is refused. A literal between `{id}` and a
/// placeholder further away is a boundary on that side (template `{body}-{id}.`: body `a-b`
/// with id `c` against body `a` with id `b-c`); a literal that only anchors `{id}` to the
/// template's start or end is not (nothing can move across it).
fn id_boundaries(parts: &[Part]) -> Result<Vec<IdBoundary>> {
    let next_to_placeholder = Error::InvalidInput(
        "template: {id} must be separated from the other placeholders by a literal",
    );
    let is_placeholder = |p: Option<&Part>| p.is_some_and(|p| !matches!(p, Part::Literal(_)));
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if *part != Part::Id {
            continue;
        }
        let before = |k: usize| i.checked_sub(k).and_then(|j| parts.get(j));
        let after = |k: usize| parts.get(i + k);
        if is_placeholder(before(1)) || is_placeholder(after(1)) {
            return Err(next_to_placeholder);
        }
        if let (Some(Part::Literal(l)), true) = (after(1), after(2).is_some()) {
            out.push(IdBoundary::Before(l.clone()));
        }
        if let (Some(Part::Literal(l)), true) = (before(1), before(2).is_some()) {
            out.push(IdBoundary::After(l.clone()));
        }
    }
    Ok(out)
}

/// A configurable HMAC-SHA256 webhook verifier.
pub struct GenericHmac {
    header: String,
    prefix: String,
    encoding: MacEncoding,
    template: Vec<Part>,
    id_boundaries: Vec<IdBoundary>,
    timestamp_header: Option<String>,
    id_header: Option<String>,
    secrets: HmacSecrets,
    tolerance: Duration,
}

impl std::fmt::Debug for GenericHmac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenericHmac")
            .field("header", &self.header)
            .field("prefix", &self.prefix)
            .field("encoding", &self.encoding)
            .field("template", &self.template)
            .field("secrets", &self.secrets)
            .finish_non_exhaustive()
    }
}

fn parse_template(t: &str) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        let (lit, after) = rest.split_at(open);
        if lit.contains('}') {
            return Err(Error::InvalidInput("template: stray }"));
        }
        if !lit.is_empty() {
            parts.push(Part::Literal(lit.as_bytes().to_vec()));
        }
        let close = after
            .find('}')
            .ok_or(Error::InvalidInput("template: unclosed {"))?;
        parts.push(match after.get(..=close) {
            Some("{body}") => Part::Body,
            Some("{timestamp}") => Part::Timestamp,
            Some("{id}") => Part::Id,
            _ => {
                return Err(Error::InvalidInput(
                    "template: use {body}, {timestamp} and {id} only",
                ))
            }
        });
        rest = after.get(close + 1..).unwrap_or_default();
    }
    if rest.contains('}') {
        return Err(Error::InvalidInput("template: stray }"));
    }
    if !rest.is_empty() {
        parts.push(Part::Literal(rest.as_bytes().to_vec()));
    }
    if !parts.contains(&Part::Body) {
        return Err(Error::InvalidInput("template must include {body}"));
    }
    Ok(parts)
}

impl GenericHmac {
    /// A verifier reading MACs from `header` (each `prefix` + encoded MAC; several separated by
    /// spaces or commas), computed with HMAC-SHA256 over `template` (`{body}`, and optionally
    /// `{timestamp}` and `{id}`, which then need [`GenericHmac::with_timestamp_header`] /
    /// [`GenericHmac::with_id_header`]). Secrets are used as their UTF-8 bytes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad template (or `{id}` next to another placeholder)
    /// or an empty header name; [`Error::InvalidKey`] for secrets.
    pub fn new<S: AsRef<str>>(
        header: &str,
        prefix: &str,
        encoding: MacEncoding,
        template: &str,
        secrets: &[S],
    ) -> Result<Self> {
        if header.trim().is_empty() {
            return Err(Error::InvalidInput("empty signature header name"));
        }
        let secrets = HmacSecrets::new(secrets, "empty secret")?;
        let template = parse_template(template)?;
        Ok(Self {
            header: header.to_owned(),
            prefix: prefix.to_owned(),
            encoding,
            id_boundaries: id_boundaries(&template)?,
            template,
            timestamp_header: None,
            id_header: None,
            secrets,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// The header carrying the Unix timestamp used as `{timestamp}`; it is checked against the
    /// tolerance.
    #[must_use]
    pub fn with_timestamp_header(mut self, name: &str) -> Self {
        self.timestamp_header = Some(name.to_owned());
        self
    }

    /// The header carrying the message id used as `{id}`.
    #[must_use]
    pub fn with_id_header(mut self, name: &str) -> Self {
        self.id_header = Some(name.to_owned());
        self
    }

    /// Sets the timestamp tolerance (both directions).
    #[must_use]
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }
}

impl Verifier for GenericHmac {
    fn provider(&self) -> &'static str {
        "generic"
    }

    fn tolerance(&self) -> Option<Duration> {
        Some(self.tolerance)
    }

    fn verify(&self, request: &Request<'_>, now: i64) -> Result<Verified> {
        let needs = |p: &Part| self.template.contains(p);
        // A configured header the template does not sign would be read but not authenticated:
        // refuse the configuration rather than check an unsigned timestamp or id.
        if (self.timestamp_header.is_some() && !needs(&Part::Timestamp))
            || (self.id_header.is_some() && !needs(&Part::Id))
        {
            return Err(Error::InvalidInput(
                "a timestamp or id header is set but the template does not sign it",
            ));
        }
        if needs(&Part::Timestamp) && self.timestamp_header.is_none() {
            return Err(Error::InvalidInput(
                "template uses {timestamp} but no timestamp header is set",
            ));
        }
        if needs(&Part::Id) && self.id_header.is_none() {
            return Err(Error::InvalidInput(
                "template uses {id} but no id header is set",
            ));
        }
        let header = request.required(&self.header, "missing signature header")?;
        let ts_text = match (&self.timestamp_header, needs(&Part::Timestamp)) {
            (Some(h), true) => Some(request.required(h, "missing timestamp header")?),
            (None, true) => {
                return Err(Error::InvalidInput(
                    "template uses {timestamp} but no timestamp header is set",
                ))
            }
            _ => None,
        };
        let id = match (&self.id_header, needs(&Part::Id)) {
            (Some(h), true) => Some(request.required(h, "missing id header")?),
            (None, true) => {
                return Err(Error::InvalidInput(
                    "template uses {id} but no id header is set",
                ))
            }
            _ => None,
        };
        if let Some(id) = id {
            // The id is signed, but not delimited by the MAC: bytes could move between it
            // and the body (template `{id}.{body}`: id `e` with body `x.y` against id `e.x`
            // with body `y`) and give a captured delivery a new id.
            if id.is_empty() || !self.id_boundaries.iter().all(|b| b.keeps(id.as_bytes())) {
                return Err(Error::Malformed(
                    "id is empty or contains the template's separator",
                ));
            }
        }
        let ts = ts_text.map(parse_unix_seconds).transpose()?;
        let mut sigs = Vec::new();
        for item in request.signature_items(&header.replace(',', " "), ' ')? {
            let encoded = item
                .strip_prefix(self.prefix.as_str())
                .ok_or(Error::Malformed("signature without the expected prefix"))?;
            sigs.push(
                match self.encoding {
                    MacEncoding::Hex => decode_hex(encoded),
                    MacEncoding::Base64 => decode_b64_std(encoded),
                }
                .ok_or(Error::Malformed("signature encoding"))?,
            );
        }
        if sigs.is_empty() {
            return Err(Error::Malformed("no signature"));
        }
        request.check_signature_count(sigs.len())?;
        let signed: Vec<&[u8]> = self
            .template
            .iter()
            .map(|p| match p {
                Part::Literal(l) => l.as_slice(),
                Part::Body => request.body(),
                Part::Timestamp => ts_text.unwrap_or_default().as_bytes(),
                Part::Id => id.unwrap_or_default().as_bytes(),
            })
            .collect();
        let ok = self
            .secrets
            .matches(HmacAlg::Sha256, &signed, sigs.iter().map(Vec::as_slice));
        if !ok {
            return Err(Error::BadSignature);
        }
        if let Some(ts) = ts {
            check_timestamp(ts, now, self.tolerance)?;
        }
        Ok(Verified {
            provider: "generic",
            id: id.map_or_else(|| content_id(&signed), str::to_owned),
            timestamp: ts,
        })
    }
}

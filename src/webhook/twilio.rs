//! Twilio: `X-Twilio-Signature: BASE64`, HMAC-SHA1 under the auth token over the full request
//! URL followed by the POST parameters sorted by name, each as name then value.
//!
//! For requests with a JSON body, Twilio puts `bodySHA256=HEX` in the URL's query string and
//! signs the URL alone; the body must then hash to that value. Twilio signs the URL as it
//! requested it, with or without an explicit default port; like Twilio's own libraries, both
//! forms are tried. A repeated parameter is signed with all its values by most of Twilio's
//! libraries and with its distinct values by twilio-python; both forms are tried too.
//!
//! The dedupe id is the SHA-256 of the exact string whose MAC verified. Twilio signs no
//! timestamp, so that id is the only replay protection: any re-encoding of one signed request
//! (parameters reordered or percent-encoded, `+` for `%20`, empty pairs) yields the same
//! string, and so the same id.

use super::{content_id, decode_b64_std, encode_hex, HmacSecrets, Request, Verified, Verifier};
use crate::crypto::{self, HmacAlg};
use crate::error::{Error, Result};

/// Most form parameters accepted in a body.
const MAX_PARAMS: usize = 1024;

/// Verifies Twilio webhooks. The request must carry its URL ([`Request::with_url`]).
#[derive(Debug)]
pub struct Twilio {
    tokens: HmacSecrets,
}

impl Twilio {
    /// A verifier for one or more auth tokens.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for an empty token, none, or more than 16.
    pub fn new<S: AsRef<str>>(auth_tokens: &[S]) -> Result<Self> {
        let tokens = HmacSecrets::new(auth_tokens, "empty Twilio auth token")?;
        Ok(Self { tokens })
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `application/x-www-form-urlencoded` decoding of one component: `+` is a space, `%XX` a byte.
fn form_decode(s: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = s.iter().copied();
    while let Some(b) = i.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = i.next().and_then(hex_value);
                let lo = i.next().and_then(hex_value);
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => return Err(Error::Malformed("form body: bad percent escape")),
                }
            }
            _ => out.push(b),
        }
    }
    Ok(out)
}

/// The POST parameters of a form body, sorted by name and then value. Empty pairs (`&&`) are
/// skipped; a parameter with an empty name (`&=x`) is refused, since it signs as nothing but
/// its value and would let one signed string be spelled many ways.
fn form_params(body: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut params = Vec::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        if params.len() == MAX_PARAMS {
            return Err(Error::too_large(
                "form parameters",
                MAX_PARAMS,
                MAX_PARAMS + 1,
            ));
        }
        let mut kv = pair.splitn(2, |&b| b == b'=');
        let k = form_decode(kv.next().unwrap_or_default())?;
        if k.is_empty() {
            return Err(Error::Malformed(
                "form body: a parameter with an empty name",
            ));
        }
        let v = form_decode(kv.next().unwrap_or_default())?;
        params.push((k, v));
    }
    params.sort();
    Ok(params)
}

/// The URL with its port toggled, as Twilio's libraries try it: an explicit port (any) removed,
/// or the scheme's default port added when there is none.
fn port_variant(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    let host = match hostport.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            return Some(format!("{scheme}://{userinfo}{h}{tail}"))
        }
        Some(_) => return None,
        None => hostport,
    };
    Some(format!("{scheme}://{userinfo}{host}:{default}{tail}"))
}

/// The string Twilio signs: the URL, then each parameter's name and value, no separators.
fn signed_string(url: &str, params: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let len = params.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() + url.len();
    let mut text = Vec::with_capacity(len);
    text.extend_from_slice(url.as_bytes());
    for (k, v) in params {
        text.extend_from_slice(k);
        text.extend_from_slice(v);
    }
    text
}

fn query_param<'u>(url: &'u str, name: &str) -> Option<&'u str> {
    let query = url.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl Verifier for Twilio {
    fn provider(&self) -> &'static str {
        "twilio"
    }

    fn verify(&self, request: &Request<'_>, _now: i64) -> Result<Verified> {
        let url = request.url().ok_or(Error::Malformed(
            "Twilio verification needs the request URL",
        ))?;
        let header = request.required("x-twilio-signature", "missing X-Twilio-Signature")?;
        let sig = decode_b64_std(header.trim())
            .ok_or(Error::Malformed("X-Twilio-Signature is not base64"))?;
        let body_hash = query_param(url, "bodySHA256");
        let params = match body_hash {
            Some(_) => Vec::new(),
            None => form_params(request.body())?,
        };
        // All values of a repeated parameter (most SDKs), or its distinct values
        // (twilio-python's `sorted(set(values))`); the same list when nothing repeats.
        let mut distinct = params.clone();
        distinct.dedup();
        let mut forms = vec![&params];
        if distinct.len() != params.len() {
            forms.push(&distinct);
        }
        let mut urls = vec![url.to_owned()];
        urls.extend(port_variant(url));
        // The string whose MAC verified is exactly what was signed; its hash (not the URL the
        // caller passed, which may carry any port, nor the body, which may be re-encoded) is
        // the dedupe id.
        let mut signed = None;
        for u in &urls {
            for form in &forms {
                let text = signed_string(u, form);
                if self
                    .tokens
                    .matches(HmacAlg::Sha1, &[&text], [sig.as_slice()])
                {
                    signed.get_or_insert(text);
                }
            }
        }
        let signed = signed.ok_or(Error::BadSignature)?;
        if let Some(expected) = body_hash {
            // The URL (and so this hash) is authenticated; the body must match it.
            let actual = encode_hex(&crypto::sha256(&[request.body()]));
            if !actual.eq_ignore_ascii_case(expected) {
                return Err(Error::BadSignature);
            }
        }
        Ok(Verified {
            provider: "twilio",
            id: content_id(&[&signed]),
            timestamp: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_forms() {
        assert_eq!(
            port_variant("https://a.com/x?y=1").as_deref(),
            Some("https://a.com:443/x?y=1")
        );
        assert_eq!(
            port_variant("https://a.com:443/x").as_deref(),
            Some("https://a.com/x")
        );
        assert_eq!(
            port_variant("http://a.com").as_deref(),
            Some("http://a.com:80")
        );
        assert_eq!(
            port_variant("https://a.com:8443/x").as_deref(),
            Some("https://a.com/x")
        );
        assert_eq!(port_variant("ftp://a.com/x"), None);
        assert_eq!(
            form_params(b"To=%2B1555&From=a+b&A=").unwrap(),
            vec![
                (b"A".to_vec(), b"".to_vec()),
                (b"From".to_vec(), b"a b".to_vec()),
                (b"To".to_vec(), b"+1555".to_vec()),
            ]
        );
        assert!(form_params(b"a=%zz").is_err());
        assert!(matches!(form_params(b"a=1&=x"), Err(Error::Malformed(_))));
        assert!(matches!(form_params(b"a=1&="), Err(Error::Malformed(_))));
        assert!(matches!(form_params(b"%3D"), Ok(p) if p == vec![(b"=".to_vec(), Vec::new())]));
        assert!(form_params(b"a=%2").is_err());
    }
}

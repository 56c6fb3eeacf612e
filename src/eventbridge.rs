//! Amazon EventBridge: PutEvents entries out, delivered events in.
//!
//! **Out.** A producer puts a sealed envelope on a bus as the `Detail` of a PutEvents entry
//! whose `DetailType` is the envelope's event type. [`PutEventsEntry::new`] builds the entry
//! and refuses one larger than EventBridge's 256 KiB entry limit, computed as EventBridge does
//! (UTF-8 bytes of `Source` + `DetailType` + `Detail`).
//!
//! **In.** A rule delivers the event to a target as JSON with `version`, `id`, `detail-type`,
//! `source`, `account`, `time`, `region`, `resources` and `detail`. [`DeliveredEvent::parse`]
//! reads it, and the open pipeline binds it to the verified envelope
//! ([`VerifiedEnvelope::check_eventbridge_binding`](crate::VerifiedEnvelope::check_eventbridge_binding)):
//! the broker-set `account` must be one of the trusted source's accounts, `source` its
//! EventBridge source, and `detail-type` the envelope's signed event type.
//!
//! EventBridge retries an undeliverable event for up to 24 hours (185 attempts by default), so
//! envelopes meant for EventBridge should live longer than that: [`DEFAULT_TTL`] is 25 hours
//! (and consumers' default maximum lifetime is 48 hours). A redelivery of an envelope already
//! opened is `replayed`, which a consumer can acknowledge as a duplicate instead of failing.
//! EventBridge's own `id` is set by the broker and differs per put; the envelope id is ours.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::encoding::{check_json_depth, ObjectOnly};
use crate::envelope::Limits;
use crate::error::{Error, Result};
use crate::seal::{SealedEnvelope, Sealer};

/// EventBridge's limit on one PutEvents entry, in bytes.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// Default time-to-live for envelopes sent through EventBridge: 25 hours, beyond EventBridge's
/// 24-hour retry window.
pub const DEFAULT_TTL: Duration = Duration::from_secs(25 * 3600);

/// Room allowed around the envelope in a delivered event (the event's own members).
const DELIVERY_OVERHEAD_BYTES: usize = 16 * 1024;

/// One PutEvents request entry, as the PutEvents API takes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutEventsEntry {
    /// The EventBridge `Source` (for example `com.example.orders`).
    pub source: String,
    /// The `DetailType`: the envelope's event type.
    pub detail_type: String,
    /// The `Detail`: the envelope JSON, as a string.
    pub detail: String,
    /// The `EventBusName` (a name or ARN).
    pub event_bus_name: String,
}

impl PutEventsEntry {
    /// Builds the entry for `envelope` under the EventBridge source `eventbridge_source`, on
    /// `event_bus`.
    ///
    /// # Errors
    /// [`Error::TooLarge`] with the entry's size when it exceeds [`MAX_ENTRY_BYTES`];
    /// [`Error::InvalidInput`] for a source name a trust file could not bind to (the rule of
    /// [`TrustedSource::set_eventbridge_source`](crate::TrustedSource::set_eventbridge_source):
    /// 1–256 printable ASCII characters, no `"` or backslash, no leading or trailing space) or
    /// an empty bus name.
    pub fn new(
        envelope: &SealedEnvelope,
        eventbridge_source: &str,
        event_bus: &str,
    ) -> Result<Self> {
        Self::build(
            envelope.as_str(),
            envelope.event_type(),
            eventbridge_source,
            event_bus,
        )
    }

    /// [`PutEventsEntry::new`] for an envelope held as its JSON text (sealed by another
    /// process, or received from another language's binding). The `DetailType` is read from
    /// its header, which is parsed (with the default [`Limits`]) but not verified: the entry
    /// carries the envelope unchanged, and every consumer verifies it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use eventseal::{seal, PutEventsEntry, RecipientSecretKey, SigningKey};
    ///
    /// # fn main() -> Result<(), eventseal::Error> {
    /// let orders = SigningKey::generate("orders")?;
    /// let billing = RecipientSecretKey::generate("billing")?;
    /// let sealed = seal(&orders, "order.created", b"{}", &[billing.public_key()], Duration::from_secs(300))?;
    /// let entry = PutEventsEntry::from_envelope_json(sealed.as_str(), "com.example.orders", "orders-bus")?;
    /// assert_eq!(entry, PutEventsEntry::new(&sealed, "com.example.orders", "orders-bus")?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Those of [`PutEventsEntry::new`], and the parse errors of
    /// [`UntrustedEnvelope::parse`](crate::UntrustedEnvelope::parse) (`malformed`,
    /// `too-large`, `unsupported-version`).
    pub fn from_envelope_json(
        envelope: &str,
        eventbridge_source: &str,
        event_bus: &str,
    ) -> Result<Self> {
        let parsed = crate::UntrustedEnvelope::parse(envelope.as_bytes(), &Limits::default())?;
        Self::build(
            envelope,
            parsed.untrusted_header().event_type(),
            eventbridge_source,
            event_bus,
        )
    }

    fn build(
        envelope: &str,
        event_type: &str,
        eventbridge_source: &str,
        event_bus: &str,
    ) -> Result<Self> {
        crate::encoding::check_label(eventbridge_source, 256, "EventBridge source").map_err(
            |_| Error::InvalidInput("EventBridge source: 1-256 printable ASCII characters"),
        )?;
        if event_bus.is_empty() || event_bus.len() > 1600 {
            return Err(Error::InvalidInput("event bus: 1-1600 characters"));
        }
        let entry = Self {
            source: eventbridge_source.to_owned(),
            detail_type: event_type.to_owned(),
            detail: envelope.to_owned(),
            event_bus_name: event_bus.to_owned(),
        };
        let size = entry.size();
        if size > MAX_ENTRY_BYTES {
            return Err(Error::too_large(
                "PutEvents entry bytes",
                MAX_ENTRY_BYTES,
                size,
            ));
        }
        Ok(entry)
    }

    /// The entry size as EventBridge computes it: the UTF-8 bytes of `Source`, `DetailType`
    /// and `Detail` (no `Time` or `Resources` are set).
    #[must_use]
    pub fn size(&self) -> usize {
        self.source.len() + self.detail_type.len() + self.detail.len()
    }

    /// The entry as PutEvents JSON: `{"Source":…,"DetailType":…,"Detail":"…","EventBusName":…}`.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct DeliveredJson<'a> {
    version: Cow<'a, str>,
    id: Cow<'a, str>,
    #[serde(rename = "detail-type")]
    detail_type: Cow<'a, str>,
    source: Cow<'a, str>,
    account: Cow<'a, str>,
    time: Cow<'a, str>,
    region: Cow<'a, str>,
    #[serde(default)]
    resources: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    detail: &'a RawValue,
}

/// An EventBridge event as delivered to a target. Nothing in it is trusted until the envelope
/// in `detail` verifies and [`check_eventbridge_binding`](crate::VerifiedEnvelope::check_eventbridge_binding)
/// ties these fields to it.
#[derive(Debug)]
pub struct DeliveredEvent<'a> {
    version: Cow<'a, str>,
    id: Cow<'a, str>,
    detail_type: Cow<'a, str>,
    source: Cow<'a, str>,
    account: Cow<'a, str>,
    time: Cow<'a, str>,
    region: Cow<'a, str>,
    resources: Vec<Cow<'a, str>>,
    detail: &'a RawValue,
}

impl<'a> DeliveredEvent<'a> {
    /// Parses a delivered event. The whole event may be up to the envelope limit plus 16 KiB;
    /// the JSON depth limit applies to the event (one level more than a bare envelope).
    /// Unknown members are ignored (EventBridge adds some, such as `replay-name`); duplicate
    /// members are rejected.
    ///
    /// # Errors
    /// [`Error::TooLarge`] or [`Error::Malformed`].
    pub fn parse(bytes: &'a [u8], limits: &Limits) -> Result<Self> {
        let max = limits
            .max_envelope_bytes
            .saturating_add(DELIVERY_OVERHEAD_BYTES);
        if bytes.len() > max {
            return Err(Error::too_large(
                "EventBridge event bytes",
                max,
                bytes.len(),
            ));
        }
        check_json_depth(bytes, limits.max_json_depth.saturating_add(1))?;
        let ObjectOnly(e): ObjectOnly<DeliveredJson<'a>> = serde_json::from_slice(bytes)
            .map_err(|_| Error::Malformed("EventBridge event JSON"))?;
        if e.version != "0" {
            return Err(Error::Malformed("EventBridge event version"));
        }
        Ok(Self {
            version: e.version,
            id: e.id,
            detail_type: e.detail_type,
            source: e.source,
            account: e.account,
            time: e.time,
            region: e.region,
            resources: e.resources,
            detail: e.detail,
        })
    }

    /// The exact bytes of `detail` (the envelope).
    #[must_use]
    pub fn detail_bytes(&self) -> &'a [u8] {
        self.detail.get().as_bytes()
    }
    /// `version` (always `"0"`).
    #[must_use]
    pub fn version(&self) -> &str {
        &self.version
    }
    /// EventBridge's own event id (set by the broker; not the envelope id).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
    /// `detail-type`.
    #[must_use]
    pub fn detail_type(&self) -> &str {
        &self.detail_type
    }
    /// `source`.
    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }
    /// `account`: set by EventBridge to the account that put the event.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }
    /// `time`, as delivered.
    #[must_use]
    pub fn time(&self) -> &str {
        &self.time
    }
    /// `region`.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.region
    }
    /// `resources`.
    #[must_use]
    pub fn resources(&self) -> &[Cow<'a, str>] {
        &self.resources
    }
}

/// EventBridge settings for a [`Sealer`] (here, so that `seal` never depends on
/// `eventbridge`).
impl<K> Sealer<K> {
    /// Settings for envelopes sent through EventBridge: a time-to-live of [`DEFAULT_TTL`]
    /// (25 hours, beyond EventBridge's 24-hour retry window) and an envelope limit that
    /// leaves room in the 256 KiB PutEvents entry for the longest `Source` and `DetailType`
    /// (256 bytes each).
    #[must_use]
    pub fn with_eventbridge_defaults(self) -> Self {
        let limits = self.limits().with_max_envelope_bytes(MAX_ENTRY_BYTES - 512);
        self.with_ttl(DEFAULT_TTL).with_limits(limits)
    }
}

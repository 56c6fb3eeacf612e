//! The cross-account EventBridge model, end to end, in one process.
//!
//! Two producer accounts put sealed events on a central bus; the bus (simulated here: it only
//! routes, sets the broker fields, and may misbehave) delivers them to three consumers in
//! other accounts, each with its own trust file, keys and replay database. Every step prints
//! what was delivered and whether it opened, or the exact reason it was rejected.
//!
//! Run: `cargo run --example cross_account`

use std::sync::Arc;

use eventseal::{
    Clock, ConsumerKey, Opener, PutEventsEntry, RecipientSecretKey, SealTo, Sealer, SigningKey,
    SqliteReplayStore, SymmetricKey, SystemClock, TrustStore, TrustedKey, TrustedSource,
};

const ORDERS_ACCOUNT: &str = "111111111111";
const PAYMENTS_ACCOUNT: &str = "222222222222";

/// The central bus. It stamps the account of whoever called PutEvents (the one field a
/// producer cannot choose) and delivers the event as EventBridge does to a rule's target.
struct Bus;

impl Bus {
    fn deliver(&self, entry: &PutEventsEntry, caller_account: &str) -> Vec<u8> {
        let detail: serde_json::Value =
            serde_json::from_str(&entry.detail).expect("PutEvents Detail is JSON");
        serde_json::to_vec(&serde_json::json!({
            "version": "0",
            "id": format!("{:x}", rand_id()),
            "detail-type": entry.detail_type,
            "source": entry.source,
            "account": caller_account,
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "region": "eu-west-1",
            "resources": [],
            "detail": detail,
        }))
        .expect("serializable")
    }
}

/// EventBridge's own event id (a broker-chosen value; not the envelope id).
fn rand_id() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    u128::from(h.finish())
}

struct Consumer {
    name: &'static str,
    opener: Opener,
}

impl Consumer {
    fn receive(&self, step: &str, event: &[u8]) {
        match self.opener.open_eventbridge(event) {
            Ok(opened) => println!(
                "  {:<9} OPENED   {} from {}: {}",
                self.name,
                opened.header().event_type(),
                opened.header().source(),
                String::from_utf8_lossy(opened.payload())
            ),
            Err(e) => println!(
                "  {:<9} REJECTED {:<17} ({step})",
                self.name,
                e.kind().as_str()
            ),
        }
    }
}

fn source(
    id: &str,
    key: &SigningKey,
    account: &str,
    eventbridge_source: &str,
    allow: &[&str],
) -> Result<TrustedSource, eventseal::Error> {
    let mut s = TrustedSource::new(id)?;
    s.add_key(TrustedKey::new(key.verifying_key().clone()))?;
    s.add_account(account)?;
    s.set_eventbridge_source(eventbridge_source)?;
    for a in allow {
        s.allow(a)?;
    }
    Ok(s)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("eventseal-cross-account-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let bus = Bus;

    // --- Producer accounts ---------------------------------------------------------------------
    let orders_key = SigningKey::generate("orders")?;
    let payments_key = SigningKey::generate("payments")?;

    // --- Consumer accounts: keys, and the trust files they would load -------------------------
    let billing_key = RecipientSecretKey::generate("billing")?;
    let shipping_key = RecipientSecretKey::generate("shipping")?;
    let analytics_key = SymmetricKey::generate("analytics")?; // pre-shared, e.g. from a KMS

    let mut billing_trust = TrustStore::new();
    billing_trust.add_source(source(
        "orders",
        &orders_key,
        ORDERS_ACCOUNT,
        "com.acme.orders",
        &["order.*"],
    )?);
    billing_trust.add_source(source(
        "payments",
        &payments_key,
        PAYMENTS_ACCOUNT,
        "com.acme.payments",
        &["payment.*"],
    )?);
    let mut shipping_trust = TrustStore::new();
    shipping_trust.add_source(source(
        "orders",
        &orders_key,
        ORDERS_ACCOUNT,
        "com.acme.orders",
        &["order.created"],
    )?);
    let mut analytics_trust = TrustStore::new();
    analytics_trust.add_source(source(
        "orders",
        &orders_key,
        ORDERS_ACCOUNT,
        "com.acme.orders",
        &["*"],
    )?);

    println!("billing's trust file:\n{}", billing_trust.to_json());

    let consumer = |name: &'static str,
                    key: ConsumerKey,
                    trust: TrustStore|
     -> Result<Consumer, eventseal::Error> {
        let store = SqliteReplayStore::open(dir.join(format!("{name}.db")), SystemClock.now())?;
        Ok(Consumer {
            name,
            opener: Opener::new([key], trust, Arc::new(store)),
        })
    };
    // The producers get the consumers' public keys (and analytics' pre-shared key, which both
    // sides hold); the consumers keep their secret keys.
    let billing_pub = billing_key.public_key().clone();
    let shipping_pub = shipping_key.public_key().clone();
    let analytics_copy = SymmetricKey::from_jwk(&analytics_key.to_secret_jwk())?;
    let billing = consumer("billing", billing_key.into(), billing_trust)?;
    let shipping = consumer("shipping", shipping_key.into(), shipping_trust)?;
    let analytics = consumer("analytics", analytics_copy.into(), analytics_trust)?;
    let orders = Sealer::new(orders_key)
        .with_eventbridge_defaults()
        .with_content_type("application/json");
    let payments = Sealer::new(payments_key)
        .with_eventbridge_defaults()
        .with_content_type("application/json");
    let put =
        |sealer: &Sealer, eb_source: &str, event_type: &str, payload: &str, to: &[SealTo<'_>]| {
            let envelope = sealer.seal(event_type, payload.as_bytes(), to)?;
            PutEventsEntry::new(&envelope, eb_source, "central-bus")
        };

    println!("1. orders (account {ORDERS_ACCOUNT}) puts order.created for billing, shipping and analytics");
    let created = put(
        &orders,
        "com.acme.orders",
        "order.created",
        r#"{"order":"A-1001","total":"129.90"}"#,
        &[
            SealTo::from(&billing_pub),
            SealTo::from(&shipping_pub),
            SealTo::from(&analytics_key),
        ],
    )?;
    let delivered = bus.deliver(&created, ORDERS_ACCOUNT);
    for c in [&billing, &shipping, &analytics] {
        c.receive("", &delivered);
    }

    println!("\n2. payments (account {PAYMENTS_ACCOUNT}) puts payment.settled for billing");
    let settled = put(
        &payments,
        "com.acme.payments",
        "payment.settled",
        r#"{"order":"A-1001","paid":true}"#,
        &[SealTo::from(&billing_pub)],
    )?;
    billing.receive("", &bus.deliver(&settled, PAYMENTS_ACCOUNT));

    println!("\n3. the bus redelivers step 1 (EventBridge retries, or an attacker replays)");
    billing.receive(
        "a duplicate: acknowledge it, do not act twice",
        &bus.deliver(&created, ORDERS_ACCOUNT),
    );

    println!("\n4. the bus tampers with a fresh event's ciphertext");
    let fresh = put(
        &orders,
        "com.acme.orders",
        "order.created",
        r#"{"order":"A-1002"}"#,
        &[SealTo::from(&billing_pub)],
    )?;
    let mut tampered: serde_json::Value =
        serde_json::from_slice(&bus.deliver(&fresh, ORDERS_ACCOUNT))?;
    let ct = tampered["detail"]["ciphertext"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let flipped = match ct.strip_prefix('A') {
        Some(rest) => format!("B{rest}"),
        None => format!("A{}", ct.get(1..).unwrap_or_default()),
    };
    tampered["detail"]["ciphertext"] = flipped.into();
    billing.receive(
        "one character of the ciphertext changed",
        &serde_json::to_vec(&tampered)?,
    );

    println!(
        "\n5. payments re-puts orders' genuine envelope from its own account, as com.acme.orders"
    );
    billing.receive(
        "the broker-set account is not orders' account",
        &bus.deliver(&fresh, PAYMENTS_ACCOUNT),
    );
    billing.receive("", &bus.deliver(&fresh, ORDERS_ACCOUNT));

    println!("\n6. orders sends an event type billing does not accept from it");
    let refund = put(
        &orders,
        "com.acme.orders",
        "payment.refunded",
        r#"{"order":"A-1001"}"#,
        &[SealTo::from(&billing_pub)],
    )?;
    billing.receive(
        "orders may send order.* only",
        &bus.deliver(&refund, ORDERS_ACCOUNT),
    );

    println!("\n7. the bus routes an event sealed to billing only to shipping as well");
    let private = put(
        &orders,
        "com.acme.orders",
        "order.created",
        r#"{"order":"A-1003","card":"…"}"#,
        &[SealTo::from(&billing_pub)],
    )?;
    let event = bus.deliver(&private, ORDERS_ACCOUNT);
    shipping.receive("shipping is not among the signed recipients", &event);
    billing.receive("", &event);

    println!("\n8. orders sends order.cancelled to shipping, which accepts order.created only");
    let cancelled = put(
        &orders,
        "com.acme.orders",
        "order.cancelled",
        r#"{"order":"A-1001"}"#,
        &[SealTo::from(&shipping_pub)],
    )?;
    shipping.receive(
        "policy: order.created only",
        &bus.deliver(&cancelled, ORDERS_ACCOUNT),
    );

    std::fs::remove_dir_all(&dir)?;
    println!("\ndone. Each rejection above also emitted one audit event (tracing target eventseal::audit)\nwith its kind, source, key id, envelope id and event type, for your log pipeline.");
    Ok(())
}

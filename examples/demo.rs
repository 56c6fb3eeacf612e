//! The real flow, end to end, in one process: a producer service seals an event to two
//! consumer services; an untrusted bus carries it; each consumer opens it once; and the
//! attacks the bus (or another producer) could try are rejected, each with its kind.
//!
//! Run: `cargo run --example demo`

use std::sync::Arc;
use std::time::Duration;

use eventseal::{
    Clock, ErrorKind, Opener, RecipientPublicKey, RecipientSecretKey, Sealer, SigningKey,
    SqliteReplayStore, SystemClock, TrustStore, VerifyingKey,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // --- Key set-up (once per service; public halves are exchanged as JWK files) -----------
    let orders_key = SigningKey::generate("orders")?;
    let billing_key = RecipientSecretKey::generate("billing")?;
    let audit_key = RecipientSecretKey::generate("audit")?;
    let payments_key = SigningKey::generate("payments")?; // another producer the consumers trust

    // What each side receives from the other, as JWK text.
    let orders_verify_jwk = orders_key.verifying_key().to_jwk();
    let payments_verify_jwk = payments_key.verifying_key().to_jwk();
    let billing_pub_jwk = billing_key.public_key().to_jwk();
    let audit_pub_jwk = audit_key.public_key().to_jwk();
    println!("orders' verifying key, as consumers configure it:\n{orders_verify_jwk}\n");

    // --- Producer: the orders service ----------------------------------------------------------
    let sealer = Sealer::new(orders_key)
        .with_content_type("application/json")
        .with_ttl(Duration::from_secs(300));
    let to = [
        RecipientPublicKey::from_jwk(&billing_pub_jwk)?,
        RecipientPublicKey::from_jwk(&audit_pub_jwk)?,
    ];
    let event = br#"{"order_id":"A-1001","amount":"129.90","currency":"EUR"}"#;
    let envelope = sealer.seal("order.created", event, &[&to[0], &to[1]])?;
    println!(
        "sealed envelope {} ({} bytes), e.g. an EventBridge detail:\n{}…\n",
        envelope.id(),
        envelope.as_str().len(),
        &envelope.as_str()[..120]
    );

    // --- Consumers: billing and audit, each with a persistent replay store --------------------
    let dir = tempfile_dir()?;
    let trust: TrustStore = [
        VerifyingKey::from_jwk(&orders_verify_jwk)?,
        VerifyingKey::from_jwk(&payments_verify_jwk)?,
    ]
    .into_iter()
    .collect();
    let billing = Opener::new(
        vec![billing_key],
        trust.clone(),
        Arc::new(SqliteReplayStore::open(
            dir.join("billing.db"),
            SystemClock.now(),
        )?),
    );
    let audit = Opener::new(
        vec![audit_key],
        trust,
        Arc::new(SqliteReplayStore::open(
            dir.join("audit.db"),
            SystemClock.now(),
        )?),
    );

    for (name, opener) in [("billing", &billing), ("audit", &audit)] {
        let opened = opener.open(envelope.as_bytes())?;
        println!(
            "{name:>8} opened {} from {:?}: {}",
            opened.header().event_type(),
            opened.header().source(),
            String::from_utf8_lossy(opened.payload())
        );
    }
    println!();

    // --- What an attacker on the bus (or another producer) tries -------------------------------
    let attempt = |what: &str, bytes: &[u8], expected: ErrorKind| {
        let got = billing.open(bytes).map(|_| ()).map_err(|e| e.kind());
        assert_eq!(got, Err(expected), "{what}");
        println!("  rejected {:<19} {what}", expected.as_str());
    };
    println!("attacks against billing:");
    attempt(
        "the same envelope delivered again",
        envelope.as_bytes(),
        ErrorKind::Replayed,
    );

    let fresh = sealer.seal("order.created", event, &[&to[0]])?;
    let mut tampered = fresh.as_str().to_owned();
    let at = tampered.find("\"ciphertext\":\"").unwrap_or(0) + 14;
    tampered.replace_range(
        at..at + 1,
        if &tampered[at..at + 1] == "A" {
            "B"
        } else {
            "A"
        },
    );
    attempt(
        "one ciphertext character changed",
        tampered.as_bytes(),
        ErrorKind::BadSignature,
    );

    let for_audit_only = sealer.seal("order.created", event, &[&to[1]])?;
    attempt(
        "an envelope addressed to audit only",
        for_audit_only.as_bytes(),
        ErrorKind::NotARecipient,
    );

    let rogue = Sealer::new(SigningKey::generate("orders")?);
    let forged = rogue.seal("order.created", b"{\"refund\":true}", &[&to[0]])?;
    attempt(
        "signed by an untrusted key claiming to be orders",
        forged.as_bytes(),
        ErrorKind::UnknownKey,
    );

    let stale = Sealer::new(SigningKey::from_jwk(&sealer.key().to_secret_jwk())?)
        .with_clock(Arc::new(eventseal::FixedClock::new(
            SystemClock.now() - 3600,
        )))
        .with_ttl(Duration::from_secs(300));
    let old = stale.seal("order.created", event, &[&to[0]])?;
    attempt(
        "an envelope that expired an hour ago",
        old.as_bytes(),
        ErrorKind::Expired,
    );

    // The untampered fresh envelope still opens: rejected attempts claimed nothing.
    assert_eq!(billing.open(fresh.as_bytes())?.payload(), event);
    println!("\nthe untampered envelope still opens once; demo complete.");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("eventseal-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

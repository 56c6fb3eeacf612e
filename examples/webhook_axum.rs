//! An axum handler that verifies Stripe webhooks from the raw body, dedupes redeliveries, and
//! only then parses the JSON.
//!
//! `cargo run --example webhook_axum` sends itself a signed request, a tampered one and a
//! replay through the router and prints the status codes; add `-- --serve` to listen on
//! 127.0.0.1:3000 instead.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Request as HttpRequest, StatusCode};
use axum::routing::post;
use axum::Router;
use eventseal::webhook::{verify_and_claim, Request, Stripe};
use eventseal::{Clock, ErrorKind, MemoryReplayStore, SystemClock};
use tower::ServiceExt;

struct App {
    stripe: Stripe,
    seen: MemoryReplayStore,
}

/// Take the body as raw `Bytes`: never a parsed `Json<…>` extractor, whose re-serialized
/// bytes would not be what Stripe signed.
async fn stripe_webhook(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let request = Request::new(headers, &body);
    let keep = Duration::from_secs(600);
    match verify_and_claim(
        &app.stripe,
        &request,
        SystemClock.now(),
        &app.seen,
        "billing",
        keep,
    ) {
        Ok(verified) => {
            // Only now parse the verified bytes.
            let event: serde_json::Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(_) => return StatusCode::BAD_REQUEST,
            };
            println!("  accepted {} ({})", verified.id, event["type"]);
            StatusCode::OK
        }
        // A redelivery of something already handled: acknowledge it so Stripe stops retrying.
        Err(e) if e.kind() == ErrorKind::Replayed => StatusCode::OK,
        Err(e) => {
            println!("  rejected: {}", e.kind());
            StatusCode::BAD_REQUEST
        }
    }
}

fn router(secret: &str) -> Result<Router, eventseal::Error> {
    let app = Arc::new(App {
        stripe: Stripe::new(&[secret])?,
        seen: MemoryReplayStore::new(100_000),
    });
    Ok(Router::new()
        .route("/webhooks/stripe", post(stripe_webhook))
        .with_state(app))
}

/// What Stripe sends: `Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "{t}.{body}")`.
fn stripe_request(secret: &str, body: &'static str, t: i64) -> HttpRequest<Body> {
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes()),
        format!("{t}.{body}").as_bytes(),
    );
    HttpRequest::post("/webhooks/stripe")
        .header(
            "Stripe-Signature",
            format!("t={t},v1={}", hex::encode(mac.as_ref())),
        )
        .body(Body::from(body))
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = "whsec_example_only";
    let app = router(secret)?;
    if std::env::args().any(|a| a == "--serve") {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
        axum::serve(listener, app).await?;
        return Ok(());
    }
    let now = SystemClock.now();
    let body = r#"{"id":"evt_1","type":"invoice.paid"}"#;
    for (what, request) in [
        ("signed", stripe_request(secret, body, now)),
        (
            "tampered",
            stripe_request(secret, body, now)
                .map(|_| Body::from(r#"{"id":"evt_1","type":"invoice.voided"}"#)),
        ),
        ("replayed", stripe_request(secret, body, now)),
        (
            "stale",
            stripe_request(secret, r#"{"id":"evt_2"}"#, now - 3600),
        ),
    ] {
        println!("{what}:");
        let status = app.clone().oneshot(request).await?.status();
        println!("  -> HTTP {}", status.as_u16());
    }
    Ok(())
}

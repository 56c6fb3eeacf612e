"""Webhooks from Python beyond the published vectors: signing and verifying Standard
Webhooks both ways, rotation, the clock, the generic HMAC scheme, header forms, and
effectively-once processing over a replay store."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

import eventseal
from conftest import b64u_decode
from eventseal import MemoryReplayStore, Rejected
from eventseal.webhook import (
    PROVIDERS,
    GenericHmac,
    GitHub,
    StandardSigner,
    StandardWebhooks,
    Stripe,
    Verified,
    Verifier,
)

T0 = 1_700_000_000
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def test_provider_classes_cover_every_provider():
    import eventseal.webhook as w
    classes = [w.StandardWebhooks, w.Svix, w.Stripe, w.GitHub, w.Slack, w.Shopify, w.Discord,
               w.Twilio, w.SendGrid]
    assert sorted(c(_secret_for(c)).provider for c in classes) == sorted(PROVIDERS)
    assert all(issubclass(c, Verifier) for c in classes)
    assert StandardWebhooks.__name__ == "StandardWebhooks" and GitHub.__name__ == "GitHub"


def _secret_for(cls):
    return {
        "Discord": base64.b64decode(StandardSigner.generate_ed25519()[1][len("whpk_"):]).hex(),
        "SendGrid": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1"
                    "flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==",  # a published vector's key
    }.get(cls.__name__, SECRET)


def test_standard_signer_round_trip_v1_and_v1a():
    body = b'{"type": "invoice.paid"}'
    for signer, secret in (
        (StandardSigner(SECRET), SECRET),
        (lambda sk, pk: (StandardSigner(sk), pk))(*StandardSigner.generate_ed25519())
    ):
        headers = signer.headers("msg_1", T0, body)
        v = StandardWebhooks([secret], clock=lambda: T0 + 10).verify(headers, body)
        assert isinstance(v, Verified)
        assert (v.provider, v.id, v.timestamp) == ("standard-webhooks", "msg_1", T0)
        with pytest.raises(Rejected) as e:
            StandardWebhooks([secret], clock=lambda: T0).verify(headers, body + b" ")
        assert e.value.kind == "bad-signature"
        with pytest.raises(Rejected) as e:
            StandardWebhooks([secret], clock=lambda: T0 + 301).verify(headers, body)
        assert e.value.kind == "expired"
        with pytest.raises(Rejected) as e:
            StandardWebhooks([secret], clock=lambda: T0 - 301).verify(headers, body)
        assert e.value.kind == "not-yet-valid"


def test_headers_any_case_and_as_pairs_and_rotation():
    body = b"{}"
    signer = StandardSigner(SECRET)
    headers = {k.upper(): v for k, v in signer.headers("m", T0, body).items()}
    other = "whsec_" + base64.b64encode(b"o" * 32).decode()
    v = StandardWebhooks([other, SECRET], clock=lambda: T0)
    assert v.verify(headers, body).id == "m"
    assert v.verify(list(headers.items()), bytearray(body)).id == "m"
    with pytest.raises(Rejected) as e:
        StandardWebhooks([other], clock=lambda: T0).verify(headers, body)
    assert e.value.kind == "bad-signature"
    with pytest.raises(Rejected) as e:
        v.verify({}, body)
    assert e.value.kind == "malformed"


def test_stripe_and_github_by_hand():
    body = b'{"id": "evt_1"}'
    secret = "whsec_test"
    mac = hmac.new(secret.encode(), f"{T0}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Stripe-Signature": f"t={T0},v1={mac}"}
    assert Stripe([secret], clock=lambda: T0).verify(headers, body).timestamp == T0
    with pytest.raises(Rejected) as e:
        Stripe(["whsec_other"], clock=lambda: T0).verify(headers, body)
    assert e.value.kind == "bad-signature"
    gh = "sha256=" + hmac.new(b"gh-secret", body, hashlib.sha256).hexdigest()
    g = GitHub("gh-secret")
    # no signed id: the delivery is deduplicated on the signed body's hash
    got = g.verify({"X-Hub-Signature-256": gh, "X-GitHub-Delivery": "d-1"}, body)
    assert got.id == "sha256:" + hashlib.sha256(body).hexdigest()


def test_generic_hmac():
    body = b"payload"
    mac = base64.b64encode(hmac.new(b"s3cret", b"abc.42." + body, hashlib.sha256).digest()).decode()
    v = GenericHmac("X-Sig", "sha256=", "base64", "{id}.{timestamp}.{body}", ["s3cret"],
                    timestamp_header="X-Ts", id_header="X-Id", clock=lambda: 42)
    got = v.verify({"X-Sig": "sha256=" + mac, "X-Ts": "42", "X-Id": "abc"}, body)
    assert (got.provider, got.id, got.timestamp) == (v.provider, "abc", 42)
    with pytest.raises(eventseal.InvalidInput):
        GenericHmac("X-Sig", "", "hex-ish", "{body}", ["s"])


def test_unknown_provider_and_bad_secrets():
    with pytest.raises(eventseal.InvalidInput):
        Verifier("smoke-signals", ["x"])
    with pytest.raises(eventseal.InvalidKey):
        StandardWebhooks(["whsec_!!!not-base64"])
    with pytest.raises(eventseal.InvalidKey):
        StandardWebhooks([])


def test_process_effectively_once():
    body = b'{"n": 1}'
    headers = StandardSigner(SECRET).headers("msg_9", T0, body)
    v = StandardWebhooks([SECRET], clock=lambda: T0)
    store = MemoryReplayStore()
    runs = []

    def fails(verified):
        runs.append(verified.id)
        raise ConnectionError("db down")

    with pytest.raises(ConnectionError):
        v.process(headers, body, store, "billing", fails)
    assert v.process(headers, body, store, "billing", lambda ver: ver.id.upper()) == "MSG_9"
    with pytest.raises(Rejected) as e:
        v.process(headers, body, store, "billing", lambda ver: pytest.fail("ran twice"))
    assert (e.value.kind, e.value.disposition) == ("replayed", "acknowledge")
    # another consumer of the same delivery has its own record
    assert v.process(headers, body, store, "audit", lambda ver: 1) == 1
    assert runs == ["msg_9"]

    def nested(verified):
        with pytest.raises(Rejected) as inner:
            v.process(headers, body, store, "shipping", lambda ver: None)
        return inner.value.kind

    assert v.process(headers, body, store, "shipping", nested) == "in-progress"


def test_asgi_raw_bytes_headers():
    body = b"{}"
    headers = StandardSigner(SECRET).headers("m", T0, body)
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    v = StandardWebhooks([SECRET], clock=lambda: T0)
    assert v.verify(raw, body).id == "m"
    with pytest.raises(Rejected) as e:
        v.verify(raw + [(b"x-bad", b"\xff")], body)
    assert e.value.kind == "malformed"
    with pytest.raises(TypeError):
        v.verify([("webhook-id", 1)], body)


def test_mixed_recipients_keep_the_callers_order():
    import json
    signing = eventseal.SigningKey.generate("orders")
    audit = eventseal.SymmetricKey.generate("audit")
    billing = eventseal.RecipientSecretKey.generate("billing")
    env = json.loads(eventseal.Sealer(signing).seal("t", b"p", [audit, billing.public_key()]))
    header = json.loads(b64u_decode(env["header"]))
    assert [r["consumer"] for r in header["recipients"]] == ["audit", "billing"]

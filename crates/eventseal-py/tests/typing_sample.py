"""A small program over the public API, for the type checker (and runnable as a smoke test).

Checked with the package's stubs (python/eventseal/_eventseal.pyi, webhook.pyi), from
crates/eventseal-py::

    MYPYPATH=python ../../target/py-venv/bin/python -m mypy --strict --follow-imports=silent \
        python/eventseal/_eventseal.pyi python/eventseal/webhook.pyi tests/typing_sample.py
    MYPYPATH=python ../../target/py-venv/bin/python -m mypy.stubtest \
        eventseal._eventseal eventseal.webhook --allowlist tests/stubtest-allowlist.txt

(``--follow-imports=silent`` reports the listed files only, as for an installed package: the
package's own ``.py`` modules are read for their types but not linted.) Run it against the
installed module with ``../../target/py-venv/bin/python tests/typing_sample.py``.

``assert_type`` pins what the stubs promise (a wrong or ``Any`` type fails the check), and
each ``# type: ignore[code]`` in ``_refused_by_the_checker`` must be *used*
(``--strict`` includes ``--warn-unused-ignores``): the stubs must reject those calls, which
also fail at run time.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

from typing_extensions import Literal, assert_type

import eventseal
from eventseal import webhook
from eventseal.webhook import GenericHmac, StandardSigner, StandardWebhooks, Verified, Verifier

T0 = 1_700_000_000


def clock() -> int:
    """A fixed clock (Unix seconds); a float-returning callable is accepted too."""
    return T0


def handle(opened: eventseal.Opened) -> int:
    """A handler: its return value is what ``process`` returns."""
    assert_type(opened.payload, bytes)
    assert_type(opened.issued_at, int)
    return len(json.loads(opened.payload))


def seal_and_open() -> None:
    signing = eventseal.SigningKey.generate("orders", algorithm="ES256")
    assert_type(signing.algorithm, "Literal['Ed25519', 'ES256']")
    billing = eventseal.RecipientSecretKey.generate("billing")
    audit = eventseal.SymmetricKey.generate("audit")
    public = eventseal.RecipientPublicKey.from_jwk(billing.public_key().to_jwk())
    assert public == billing.public_key()

    sealer = eventseal.Sealer(signing, ttl_seconds=600, clock=clock)
    assert_type(sealer, eventseal.Sealer)
    envelope = sealer.seal("order.created", b'{"id": 42}', [public, audit])
    assert_type(envelope, bytes)
    second = sealer.seal("order.created", '{"id": 43}', (public,))
    third = sealer.seal("order.created", bytearray(b'{"id": 44}'), [audit])

    entry = eventseal.put_events_entry(envelope, "com.example.orders", "central-bus")
    assert_type(entry, Dict[str, str])
    event: Dict[str, Any] = {
        "version": "0",
        "id": "0",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "123456789012",
        "time": "2023-11-14T22:13:20Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }

    # open_eventbridge binds the event's account and source to the trusted source's: a trust
    # file names them (a TrustStore built from bare keys fails closed with binding-mismatch).
    source = {
        "source": "orders",
        "accounts": ["123456789012"],
        "eventbridge_source": "com.example.orders",
        "allow": ["order.*"],
        "keys": [{"jwk": json.loads(sealer.verifying_key().to_jwk())}],
    }
    trust = eventseal.TrustStore.from_json(json.dumps({"version": 1, "sources": [source]}))
    assert_type(trust.sources(), List[str])
    assert len(eventseal.TrustStore([signing.verifying_key()])) == 1
    store = eventseal.MemoryReplayStore(capacity=1000)
    opener = eventseal.Opener([billing], trust, store, lease_seconds=30, clock=lambda: T0 + 0.5)

    # The event as the dict a Lambda runtime hands over.
    opened = opener.open_eventbridge(event)
    assert_type(opened, eventseal.Opened)
    assert opened.event_type == "order.created" and opened.payload == b'{"id": 42}'

    count = opener.process(second, handle)
    assert_type(count, int)
    assert count == 1

    audit_opener = eventseal.Opener.without_replay_check_dangerous([audit], trust, clock=clock)
    payload: bytes = audit_opener.process(third, lambda o: o.payload)
    assert payload == b'{"id": 44}'
    assert len(store) == 2


def verify_webhook() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"type": "ping"}'
    headers = StandardSigner(secret).headers("msg_1", T0, body)
    assert_type(headers, Dict[str, str])

    verifier = StandardWebhooks(secret, tolerance_seconds=60, clock=clock)
    assert_type(verifier, StandardWebhooks)
    assert isinstance(verifier, Verifier)
    verified = verifier.verify(headers, body)
    assert_type(verified, Verified)
    assert_type(verified.timestamp, Optional[int])
    assert (verified.provider, verified.id, verified.timestamp) == ("standard-webhooks", "msg_1", T0)
    # `(name, value)` pairs, e.g. a framework's multi-valued headers.
    pairs: List[Tuple[str, str]] = list(headers.items())
    verifier.verify(pairs, body.decode())

    def on_delivery(v: Verified) -> str:
        return v.id

    delivered = verifier.process(headers, body, eventseal.MemoryReplayStore(), "billing", on_delivery)
    assert_type(delivered, str)

    generic = GenericHmac("X-Signature", "sha256=", "hex", "{body}", ["s3cret"])
    assert_type(generic, Verifier)
    assert generic.provider == "generic" and "github" in webhook.PROVIDERS


def _refused_by_the_checker(sealer: eventseal.Sealer, opener: eventseal.Opener) -> None:
    """Never called: calls the stubs must reject (each also fails at run time)."""
    key = eventseal.RecipientSecretKey.generate("billing")
    sealer.seal("t", memoryview(b"p"), [key.public_key()])  # type: ignore[arg-type]
    sealer.seal("t", b"p", [key])  # type: ignore[list-item]
    eventseal.Sealer(key.public_key())  # type: ignore[arg-type]
    eventseal.SigningKey.generate("orders", "RS256")  # type: ignore[arg-type]
    opener.open_eventbridge([b"p"])  # type: ignore[arg-type]
    opener.process(b"p", lambda n: n + 1)  # type: ignore[operator]
    eventseal.TrustStore.from_file(b"/trust.json")  # type: ignore[arg-type]
    eventseal.Opener([key], eventseal.TrustStore(), eventseal.MemoryReplayStore(), clock=42)  # type: ignore[arg-type]
    Verifier("github", ["s"]).verify({"X-Hub-Signature-256": b"sha256=00"}, b"p")  # type: ignore[arg-type]
    eventseal.ReplayStore.ping  # type: ignore[attr-defined]  # noqa: B018


if __name__ == "__main__":
    seal_and_open()
    verify_webhook()
    print("ok")

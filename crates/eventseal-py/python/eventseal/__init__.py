"""eventseal: signed, per-consumer encrypted event envelopes, and webhook verification.

The Python face of the Rust library: every check runs in the same audited core (the
binding converts arguments and errors, nothing else), with the GIL released, and every
object may be shared between threads.

Producer::

    import eventseal

    key = eventseal.SigningKey.from_jwk(open("orders.jwk").read())
    billing = eventseal.RecipientPublicKey.from_jwk(open("billing.pub.jwk").read())
    sealer = eventseal.Sealer(key, ttl_seconds=3600)
    envelope = sealer.seal("order.created", b'{"id": 42}', [billing])
    entry = eventseal.put_events_entry(envelope, "orders", "central-bus")
    boto3.client("events").put_events(Entries=[entry])

Consumer::

    opener = eventseal.Opener(
        [eventseal.RecipientSecretKey.from_jwk(secret_jwk)],
        eventseal.TrustStore.from_file("trust.json"),
        eventseal.SqliteReplayStore("/tmp/replay.db"),
    )
    opened = opener.open_eventbridge(event)       # raises eventseal.Rejected
    print(opened.source, opened.event_type, opened.payload)

Errors are :class:`Rejected` (``.kind``, ``.disposition``) or, for a caller's mistake, a
``ValueError`` subclass (:class:`InvalidKey`, :class:`InvalidTrust`, :class:`InvalidInput`).
"""

from __future__ import annotations

from . import webhook
from ._errors import (
    KINDS,
    EventsealError,
    InvalidInput,
    InvalidKey,
    InvalidTrust,
    NotCompleted,
    Rejected,
)
from ._eventseal import (
    FORMAT_VERSION,
    MemoryReplayStore,
    Opened,
    Opener,
    RecipientPublicKey,
    RecipientSecretKey,
    RedisReplayStore,
    ReplayStore,
    Sealer,
    SigningKey,
    SqliteReplayStore,
    SymmetricKey,
    TrustStore,
    VerifyingKey,
    __version__,
    put_events_entry,
)

try:  # built with the default `aws` feature
    from ._eventseal import DynamoDbReplayStore, KmsSigner
except ImportError:  # pragma: no cover - a build without AWS support
    pass

__all__ = [
    "__version__",
    "FORMAT_VERSION",
    "KINDS",
    "EventsealError",
    "Rejected",
    "NotCompleted",
    "InvalidKey",
    "InvalidTrust",
    "InvalidInput",
    "SigningKey",
    "VerifyingKey",
    "RecipientSecretKey",
    "RecipientPublicKey",
    "SymmetricKey",
    "Sealer",
    "put_events_entry",
    "TrustStore",
    "Opener",
    "Opened",
    "ReplayStore",
    "MemoryReplayStore",
    "SqliteReplayStore",
    "RedisReplayStore",
    "DynamoDbReplayStore",
    "KmsSigner",
    "webhook",
]

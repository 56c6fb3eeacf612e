"""eventseal's exceptions.

Every exception the library raises on purpose is an :class:`EventsealError` with two
attributes:

* ``kind`` -- the stable kebab-case name of what went wrong (``bad-signature``,
  ``replayed``, ...), the same word the command line prints after
  ``eventseal: rejected:``;
* ``disposition`` -- what a consumer should do with the delivery: ``"acknowledge"``
  (drop it: it was already processed), ``"retry"`` (leave it for redelivery: a transient
  or configuration problem) or ``"reject"`` (it will never open: send it to a dead-letter
  queue).

The class follows from the kind: a caller's mistake (a malformed key, trust file or
argument) is a :class:`ValueError` subclass; everything the input, the replay store or a
signer refused is :class:`Rejected`.
"""

from __future__ import annotations

__all__ = [
    "EventsealError",
    "Rejected",
    "NotCompleted",
    "InvalidKey",
    "InvalidTrust",
    "InvalidInput",
    "KINDS",
]

#: Every error kind, as ``.kind`` spells it.
KINDS = (
    "malformed",
    "too-large",
    "unsupported-version",
    "unknown-key",
    "bad-signature",
    "key-expired",
    "policy-denied",
    "binding-mismatch",
    "not-a-recipient",
    "expired",
    "not-yet-valid",
    "lifetime-too-long",
    "replayed",
    "in-progress",
    "lease-lost",
    "decrypt-failed",
    "store-unavailable",
    "store-full",
    "invalid-key",
    "invalid-trust",
    "invalid-input",
    "rng",
    "signer-failed",
)


class EventsealError(Exception):
    """Base class of every eventseal exception; carries ``kind`` and ``disposition``."""

    kind: str
    disposition: str

    def __init__(self, message: str, kind: str, disposition: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.disposition = disposition

    def __reduce__(self) -> tuple[type[EventsealError], tuple[str, str, str]]:
        # picklable, e.g. across multiprocessing
        return (type(self), (str(self), self.kind, self.disposition))


class Rejected(EventsealError):
    """The envelope, webhook, replay store or signer said no (see ``kind``)."""


class NotCompleted(Rejected):
    """``process`` ran the handler successfully but could not record its completion.

    The handler's side effects happened; the lease lapses and a redelivery after it runs
    the handler again, so the handler must tolerate that (idempotent side effects).
    """


class InvalidKey(EventsealError, ValueError):
    """A key (JWK, secret, seed) is malformed or of the wrong type."""


class InvalidTrust(EventsealError, ValueError):
    """A trust configuration (file or JSON) is malformed."""


class InvalidInput(EventsealError, ValueError):
    """An argument value is not acceptable (an empty recipient list, a bad option)."""


for _cls in (EventsealError, Rejected, NotCompleted, InvalidKey, InvalidTrust, InvalidInput):
    _cls.__module__ = "eventseal"  # shown as eventseal.Rejected in tracebacks
del _cls

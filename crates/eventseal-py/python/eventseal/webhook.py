"""Third-party webhook verification: one class per provider, over the Rust verifiers.

Every verifier takes the provider's secrets in the provider's own encoding (several, for
rotation), checks the raw body and headers exactly as received, compares in constant time,
and raises :class:`eventseal.Rejected` (``bad-signature``, ``malformed``, ``expired``,
``not-yet-valid``, ``invalid-input``) on failure::

    from eventseal.webhook import StandardWebhooks

    verifier = StandardWebhooks(["whsec_..."])
    verified = verifier.verify(request.headers, request.get_data())

``verify`` reads the clock once per call; pass ``clock=`` (a callable returning Unix
seconds) to check an archived delivery. ``process`` adds effectively-once processing over a
replay store.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

from ._eventseal import PROVIDERS, StandardSigner, Verified, Verifier

__all__ = [
    "PROVIDERS",
    "Verifier",
    "Verified",
    "StandardSigner",
    "StandardWebhooks",
    "Svix",
    "Stripe",
    "GitHub",
    "Slack",
    "Shopify",
    "Discord",
    "Twilio",
    "SendGrid",
    "GenericHmac",
]

Clock = Optional[Callable[[], Union[int, float]]]


def _provider(name: str, doc: str) -> type:
    def __new__(
        cls,
        secrets: Sequence[str],
        tolerance_seconds: int = 300,
        *,
        clock: Clock = None,
    ):
        if isinstance(secrets, str):
            secrets = [secrets]
        return Verifier.__new__(cls, name, list(secrets), tolerance_seconds, clock=clock)

    return type(
        "".join(p.capitalize() for p in name.split("-")),
        (Verifier,),
        {"__new__": __new__, "__doc__": doc, "__module__": __name__},
    )


StandardWebhooks = _provider(
    "standard-webhooks",
    "Standard Webhooks: ``webhook-id``/``webhook-timestamp``/``webhook-signature``; "
    "secrets ``whsec_<base64>`` (HMAC-SHA256) or ``whpk_<base64>`` (Ed25519 public key).",
)
Svix = _provider(
    "svix", "Svix: Standard Webhooks under the ``svix-*`` header names; ``whsec_`` secrets."
)
Stripe = _provider(
    "stripe",
    "Stripe: ``Stripe-Signature: t=...,v1=...``; secrets ``whsec_...`` (used as given).",
)
GitHub = _provider(
    "github",
    "GitHub: ``X-Hub-Signature-256: sha256=<hex>``; no signed timestamp, so pair it with "
    "``process`` and a retention longer than GitHub's redelivery window.",
)
GitHub.__name__ = GitHub.__qualname__ = "GitHub"
Slack = _provider(
    "slack",
    "Slack: ``X-Slack-Signature: v0=<hex>`` over ``v0:{timestamp}:{body}``; the signing secret.",
)
Shopify = _provider(
    "shopify", "Shopify: ``X-Shopify-Hmac-Sha256`` (base64); the app's client secret."
)
Discord = _provider(
    "discord",
    "Discord interactions: Ed25519 ``X-Signature-Ed25519`` over timestamp + body; the "
    "application's public key (hex).",
)
Twilio = _provider(
    "twilio",
    "Twilio: ``X-Twilio-Signature`` over the full URL and sorted form parameters; pass "
    "``url=`` to ``verify``. The auth token.",
)
SendGrid = _provider(
    "sendgrid",
    "SendGrid Event Webhook: ECDSA P-256 over timestamp + body; the verification key "
    "(base64 DER SubjectPublicKeyInfo).",
)
SendGrid.__name__ = SendGrid.__qualname__ = "SendGrid"
StandardWebhooks.__name__ = StandardWebhooks.__qualname__ = "StandardWebhooks"


def GenericHmac(  # noqa: N802 -- a constructor, named like the classes beside it
    header: str,
    prefix: str,
    encoding: str,
    template: str,
    secrets: Sequence[str],
    *,
    timestamp_header: Optional[str] = None,
    id_header: Optional[str] = None,
    tolerance_seconds: int = 300,
    clock: Clock = None,
) -> Verifier:
    """An HMAC-SHA256 scheme described by its header, value prefix, encoding (``"hex"`` or
    ``"base64"``) and signed-content template (``{body}``, ``{timestamp}``, ``{id}``)."""
    if isinstance(secrets, str):
        secrets = [secrets]
    return Verifier.generic_hmac(
        header,
        prefix,
        encoding,
        template,
        list(secrets),
        timestamp_header=timestamp_header,
        id_header=id_header,
        tolerance_seconds=tolerance_seconds,
        clock=clock,
    )

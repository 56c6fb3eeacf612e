"""Third-party webhook verification: one class per provider, over the Rust verifiers."""

# Type stub for webhook.py. Its provider classes are made at run time by `_provider(...)`
# (`type(name, (Verifier,), {"__new__": ...})`), which a type checker cannot follow: here
# each is declared as the `Verifier` subclass it is, with the constructor it has.
# Python >= 3.9 syntax (typing.Optional/Union).

from typing import Callable, Optional, Sequence, Union

from typing_extensions import Literal, Self, TypeAlias

from ._eventseal import PROVIDERS as PROVIDERS
from ._eventseal import StandardSigner as StandardSigner
from ._eventseal import Verified as Verified
from ._eventseal import Verifier as Verifier

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

# A callable returning Unix seconds, or None for the system clock.
Clock: TypeAlias = Optional[Callable[[], Union[int, float]]]

class StandardWebhooks(Verifier):
    """Standard Webhooks: `webhook-*` headers; secrets `whsec_…` (HMAC-SHA256) or `whpk_…` (Ed25519)."""

    def __new__(
        cls, secrets: Union[Sequence[str], str], tolerance_seconds: int = 300, *, clock: Clock = None
    ) -> Self: ...

class Svix(Verifier):
    """Svix: Standard Webhooks under the `svix-*` header names; `whsec_` secrets."""

    def __new__(
        cls, secrets: Union[Sequence[str], str], tolerance_seconds: int = 300, *, clock: Clock = None
    ) -> Self: ...

class Stripe(Verifier):
    """Stripe: `Stripe-Signature: t=...,v1=...`; secrets `whsec_...` (used as given)."""

    def __new__(
        cls, secrets: Union[Sequence[str], str], tolerance_seconds: int = 300, *, clock: Clock = None
    ) -> Self: ...

class GitHub(Verifier):
    """GitHub: `X-Hub-Signature-256: sha256=<hex>`; no signed timestamp (pair it with `process`)."""

    def __new__(
        cls, secrets: Union[Sequence[str], str], tolerance_seconds: int = 300, *, clock: Clock = None
    ) -> Self: ...

class Slack(Verifier):
    """Slack: `X-Slack-Signature: v0=<hex>` over `v0:{timestamp}:{body}`; the signing secret."""

    def __new__(
        cls, secrets: Union[Sequence[str], str], tolerance_seconds: int = 300, *, clock: Clock = None
    ) -> Self: ...

class Shopify(Verifier):
    """Shopify: `X-Shopify-Hmac-Sha256` (base64); the app's client secret."""

    def __new__(
        cls, secrets: Union[Sequence[str], str], tolerance_seconds: int = 300, *, clock: Clock = None
    ) -> Self: ...

class Discord(Verifier):
    """Discord interactions: Ed25519 `X-Signature-Ed25519`; the application's public key (hex)."""

    def __new__(
        cls, secrets: Union[Sequence[str], str], tolerance_seconds: int = 300, *, clock: Clock = None
    ) -> Self: ...

class Twilio(Verifier):
    """Twilio: `X-Twilio-Signature` over the URL and form; pass `url=` to `verify`. The auth token."""

    def __new__(
        cls, secrets: Union[Sequence[str], str], tolerance_seconds: int = 300, *, clock: Clock = None
    ) -> Self: ...

class SendGrid(Verifier):
    """SendGrid Event Webhook: ECDSA P-256; the verification key (base64 DER SubjectPublicKeyInfo)."""

    def __new__(
        cls, secrets: Union[Sequence[str], str], tolerance_seconds: int = 300, *, clock: Clock = None
    ) -> Self: ...

def GenericHmac(  # noqa: N802 -- a constructor, named like the classes beside it
    header: str,
    prefix: str,
    encoding: Literal["hex", "base64"],
    template: str,
    secrets: Union[Sequence[str], str],
    *,
    timestamp_header: Optional[str] = None,
    id_header: Optional[str] = None,
    tolerance_seconds: int = 300,
    clock: Clock = None,
) -> Verifier:
    """An HMAC-SHA256 scheme: its header, value prefix, encoding and signed-content template."""

"""The native module."""

# Type stub for the PyO3 extension `eventseal._eventseal` (crates/eventseal-py/src/*.rs).
# Python >= 3.9 syntax: typing.Optional/Union, no PEP 604 `X | Y`. Kept in step with the Rust
# sources by `python -m mypy.stubtest eventseal._eventseal eventseal.webhook` (the commands are
# in tests/typing_sample.py). Docstrings are the Rust doc comments, shortened to one line.

import os
from typing import (
    Any,
    Callable,
    Final,
    Iterable,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    TypeVar,
    Union,
    final,
)

from typing_extensions import Literal, Self, TypeAlias, disjoint_base

__all__ = [
    "__version__",
    "FORMAT_VERSION",
    "PROVIDERS",
    "VerifyingKey",
    "SigningKey",
    "RecipientSecretKey",
    "RecipientPublicKey",
    "SymmetricKey",
    "Sealer",
    "put_events_entry",
    "TrustStore",
    "Opened",
    "Opener",
    "ReplayStore",
    "MemoryReplayStore",
    "SqliteReplayStore",
    "RedisReplayStore",
    "DynamoDbReplayStore",
    "KmsSigner",
    "Verifier",
    "Verified",
    "StandardSigner",
    "_rust_baseline",
]

_T = TypeVar("_T")

# The Rust `Input` enum (PyBackedBytes | PyBackedStr): bytes or bytearray (copied once), or a
# str (its UTF-8). Not memoryview, not other buffer objects.
_Input: TypeAlias = Union[bytes, bytearray, str]

# `clock=`: a callable returning Unix seconds (an int, or a float rounded down), or None for
# the system clock. (An int-returning callable is accepted: int is compatible with float.)
_Clock: TypeAlias = Optional[Callable[[], float]]

# A path argument (Rust `PathBuf`): str or os.PathLike[str]; bytes paths are refused.
_StrPath: TypeAlias = Union[str, os.PathLike[str]]

class _HeaderItems(Protocol):
    """Anything with `items()` yielding `(name, value)` str pairs (a framework's headers)."""

    def items(self) -> Iterable[tuple[str, str]]: ...

# Webhook headers (`header_pairs`): a mapping (anything with `items()`), or an iterable of
# `(name, value)` pairs, which may repeat a name. Names and values are str, or bytes (ASGI's
# raw headers; not UTF-8 is `malformed`).
_Headers: TypeAlias = Union[
    Mapping[str, str], _HeaderItems, Iterable[tuple[str, str]], Iterable[tuple[bytes, bytes]]
]

# `SigningKey.generate(algorithm=...)`: the two JOSE names, and the aliases the binding accepts.
_AlgorithmName: TypeAlias = Literal["EdDSA", "Ed25519", "ES256", "P-256"]
# What `.algorithm` reports.
_Algorithm: TypeAlias = Literal["Ed25519", "ES256"]

__version__: Final[str]
FORMAT_VERSION: Final[int]
PROVIDERS: Final[tuple[str, ...]]

# --- keys (src/keys.rs) ---------------------------------------------------------------

@final
class VerifyingKey:
    """A source's public key, as consumers trust it."""

    @staticmethod
    def from_jwk(jwk: str) -> VerifyingKey:
        """Parses a public JWK (with its `source` member)."""

    def to_jwk(self) -> str:
        """The public JWK."""

    @property
    def source(self) -> str:
        """The source (producer) this key belongs to."""

    @property
    def key_id(self) -> str:
        """The key id (the JWK thumbprint envelopes name)."""

    @property
    def algorithm(self) -> _Algorithm:
        """The signature algorithm: `"Ed25519"` or `"ES256"` (ECDSA P-256)."""

    def __eq__(self, value: object, /) -> bool:
        """Equal when the public JWKs are equal."""

    def __hash__(self) -> int:
        """A hash of the public JWK."""

@final
class SigningKey:
    """A source's signing key (Ed25519 or ECDSA P-256), held in process."""

    @staticmethod
    def generate(source: str, algorithm: _AlgorithmName = "Ed25519") -> SigningKey:
        """A new random key for `source`: `"Ed25519"` (the default; `"EdDSA"` is read too) or `"ES256"` (ECDSA P-256)."""

    @staticmethod
    def from_jwk(jwk: str) -> SigningKey:
        """Parses a secret JWK (with its `source` member)."""

    def to_jwk(self) -> str:
        """The **secret** JWK: store it as a secret (a secrets manager, a 0600 file)."""

    def verifying_key(self) -> VerifyingKey:
        """The public half, for consumers' trust stores."""

    @property
    def source(self) -> str:
        """The source (producer) this key signs for."""

    @property
    def key_id(self) -> str:
        """The key id (the public JWK's thumbprint)."""

    @property
    def algorithm(self) -> _Algorithm:
        """The signature algorithm: `"Ed25519"` or `"ES256"` (ECDSA P-256)."""

@final
class RecipientPublicKey:
    """A consumer's public key, as producers seal to it."""

    @staticmethod
    def from_jwk(jwk: str) -> RecipientPublicKey:
        """Parses a public JWK (with its `consumer` member)."""

    def to_jwk(self) -> str:
        """The public JWK."""

    @property
    def consumer(self) -> str:
        """The consumer this key belongs to."""

    @property
    def key_id(self) -> str:
        """The key id (the public JWK's thumbprint)."""

    def __eq__(self, value: object, /) -> bool:
        """Equal when the public JWKs are equal."""

    def __hash__(self) -> int:
        """A hash of the public JWK."""

@final
class RecipientSecretKey:
    """A consumer's X25519 key pair: the secret half opens envelopes sealed to the public half."""

    @staticmethod
    def generate(consumer: str) -> RecipientSecretKey:
        """A new random key pair for `consumer`."""

    @staticmethod
    def from_jwk(jwk: str) -> RecipientSecretKey:
        """Parses a secret JWK (with its `consumer` member)."""

    def to_jwk(self) -> str:
        """The **secret** JWK."""

    def public_key(self) -> RecipientPublicKey:
        """The public half, for producers."""

    @property
    def consumer(self) -> str:
        """The consumer this key belongs to."""

    @property
    def key_id(self) -> str:
        """The key id (the public half's thumbprint)."""

@final
class SymmetricKey:
    """A 256-bit key shared in advance between producers and one consumer: it both seals and opens."""

    @staticmethod
    def generate(consumer: str) -> SymmetricKey:
        """A new random key for `consumer`."""

    @staticmethod
    def from_jwk(jwk: str) -> SymmetricKey:
        """Parses a secret JWK (`kty` `oct`, with its `consumer` member)."""

    def to_jwk(self) -> str:
        """The **secret** JWK."""

    @property
    def consumer(self) -> str:
        """The consumer this key belongs to."""

    @property
    def key_id(self) -> str:
        """The key id."""

# --- AWS (src/aws.rs; present in builds with the default `aws` feature) ------------------

@final
class KmsSigner:
    """A source's signing key in AWS KMS (ECC_NIST_P256): pass it to `Sealer` in place of a `SigningKey`."""

    def __new__(cls, key: str, source: str) -> Self:
        """`key`: a key id, key ARN or `alias/…` (resolved once, here); AWS settings from the environment."""

    @property
    def key_arn(self) -> str:
        """The key's ARN (the key an alias named when this signer was made)."""

    def verifying_key(self) -> VerifyingKey:
        """The public key, for consumers' trust stores."""

# --- producer (src/seal.rs) -----------------------------------------------------------

@final
class Sealer:
    """Seals events for one source: signs with its key, encrypts for the named recipients."""

    def __new__(
        cls,
        signing_key: Union[SigningKey, KmsSigner],
        ttl_seconds: int = 3600,
        content_type: Optional[str] = None,
        *,
        clock: _Clock = None,
    ) -> Self:
        """A sealer signing with `signing_key`; envelopes expire `ttl_seconds` (>= 1) after sealing."""

    def seal(
        self,
        event_type: str,
        payload: _Input,
        recipients: Sequence[Union[RecipientPublicKey, SymmetricKey]],
    ) -> bytes:
        """Seals `payload` as an `event_type` event for `recipients`; returns the envelope JSON as bytes."""

    def verifying_key(self) -> VerifyingKey:
        """The source's public key (what consumers trust)."""

def put_events_entry(envelope: _Input, source_name: str, bus: str) -> dict[str, str]:
    """The entry boto3's `put_events(Entries=[...])` takes for `envelope`, as `source_name` on `bus`."""

# --- replay stores (src/stores.rs, src/aws.rs) ------------------------------------------

@disjoint_base
class ReplayStore:
    """The base class of every replay store (not constructed directly)."""

@final
class MemoryReplayStore(ReplayStore):
    """A store in this process's memory: for one long-lived process."""

    def __new__(cls, capacity: Optional[int] = None, *, clock: _Clock = None) -> Self:
        """`capacity`: most live entries (default 1,000,000); past it, claims fail with `store-full`; `clock`: the time `purge_expired` uses."""

    def __len__(self) -> int:
        """Live entries (expired ones are purged lazily)."""

    def purge_expired(self) -> int:
        """Deletes entries expired now; returns how many."""

@final
class SqliteReplayStore(ReplayStore):
    """A store in an SQLite file: survives restarts; one machine (its processes may share the file)."""

    def __new__(cls, path: _StrPath, *, clock: _Clock = None) -> Self:
        """Opens (creating if needed) the store at `path`; `clock`: the time used when opening and by `purge_expired`."""

    def entry_count(self) -> int:
        """Entries in the file."""

    def purge_expired(self) -> int:
        """Deletes entries expired now; returns how many."""

@final
class RedisReplayStore(ReplayStore):
    """A store in Redis (`redis://`, `rediss://`, `redis+unix://`), shared by a consumer's instances."""

    def __new__(cls, url: str, timeout_seconds: Optional[float] = None) -> Self:
        """`timeout_seconds`: connect, read and write timeout (default 1 s)."""

    def ping(self) -> None:
        """Checks the server answers (raises `Rejected` with kind `store-unavailable`)."""

@final
class DynamoDbReplayStore(ReplayStore):
    """A replay store in a DynamoDB table (partition key `id`; TTL attribute `expires`)."""

    def __new__(cls, table: str) -> Self:
        """The store in `table`, with the AWS SDK's configuration from the environment."""

    @property
    def table(self) -> str:
        """The table name."""

# --- consumer (src/open.rs) -----------------------------------------------------------

@final
class TrustStore:
    """The sources a consumer trusts: their keys and (from a trust file) allowed types and bindings."""

    def __new__(cls, keys: Sequence[VerifyingKey] = ...) -> Self:
        """A store trusting `keys`, each for any event type of its source."""

    @staticmethod
    def from_file(path: _StrPath) -> TrustStore:
        """Loads a trust file (docs/TRUST.md; `eventseal trust` writes them)."""

    @staticmethod
    def from_json(text: str) -> TrustStore:
        """Parses a trust file's JSON text."""

    def add(self, key: VerifyingKey) -> None:
        """Trusts one more key (for any event type of its source).

        An `Opener` keeps a copy of the trust it was built with: add keys before building it."""

    def sources(self) -> list[str]:
        """The trusted source ids."""

    def __len__(self) -> int:
        """The number of trusted keys (over all sources)."""

@final
class Opened:
    """An opened envelope: the verified header's facts and the decrypted payload."""

    @property
    def payload(self) -> bytes:
        """The decrypted payload."""

    @property
    def source(self) -> str:
        """The verified source."""

    @property
    def key_id(self) -> str:
        """The id of the key that signed it."""

    @property
    def event_type(self) -> str:
        """The event type."""

    @property
    def content_type(self) -> str:
        """The payload's content type."""

    @property
    def envelope_id(self) -> str:
        """The envelope id (a UUID string): the id the replay store deduplicates on."""

    @property
    def issued_at(self) -> int:
        """Signed issue time, Unix seconds."""

    @property
    def expires_at(self) -> int:
        """Signed expiry, Unix seconds."""

@final
class Opener:
    """A consumer's opener: keys, trusted sources, freshness, clock, replay store; thread-safe."""

    def __new__(
        cls,
        keys: Iterable[Union[RecipientSecretKey, SymmetricKey]],
        trust: TrustStore,
        store: ReplayStore,
        max_skew: int = 60,
        max_lifetime: int = 172800,
        *,
        lease_seconds: int = 300,
        clock: _Clock = None,
    ) -> Self:
        """An opener for `keys` (at least one), trusting `trust`, recording envelope ids in `store`.

        `trust` is copied: later `TrustStore.add` calls do not change this opener."""

    @staticmethod
    def without_replay_check_dangerous(
        keys: Iterable[Union[RecipientSecretKey, SymmetricKey]],
        trust: TrustStore,
        max_skew: int = 60,
        max_lifetime: int = 172800,
        *,
        clock: _Clock = None,
    ) -> Opener:
        """An opener with **no replay protection**: only for inspecting archived traffic."""

    def open(self, envelope: _Input) -> Opened:
        """Verifies, checks policy and freshness, claims the id, then decrypts; raises `Rejected`."""

    def open_eventbridge(self, event: Union[_Input, dict[str, Any]]) -> Opened:
        """`open` for an envelope inside an EventBridge event (bytes, str, or Lambda's dict)."""

    def process(self, envelope: _Input, handler: Callable[[Opened], _T]) -> _T:
        """Effectively-once processing: `open`'s checks, a lease, `handler(opened)`; returns its value."""

    def process_eventbridge(
        self, event: Union[_Input, dict[str, Any]], handler: Callable[[Opened], _T]
    ) -> _T:
        """`process` for an envelope delivered inside an EventBridge event."""

# --- webhooks (src/webhook.rs; the classes report module `eventseal.webhook`) -----------

@final
class Verified:
    """A verified webhook: the provider, the id to deduplicate on, the signed timestamp."""

    @property
    def provider(self) -> str:
        """The provider name (as `Verifier.provider`)."""

    @property
    def id(self) -> str:
        """The message id to deduplicate on."""

    @property
    def timestamp(self) -> Optional[int]:
        """The signed timestamp, Unix seconds (None for schemes without one)."""

@disjoint_base
class Verifier:
    """A webhook signature scheme with its secrets; `verify` checks a request's raw body and headers."""

    def __new__(
        cls,
        provider: str,
        secrets: Sequence[str],
        tolerance_seconds: int = 300,
        *,
        clock: _Clock = None,
    ) -> Self:
        """The verifier for `provider` (in `PROVIDERS`) with `secrets` (a list, not a bare str)."""

    @staticmethod
    def generic_hmac(
        header: str,
        prefix: str,
        encoding: Literal["hex", "base64"],
        template: str,
        secrets: Sequence[str],
        *,
        timestamp_header: Optional[str] = None,
        id_header: Optional[str] = None,
        tolerance_seconds: int = 300,
        clock: _Clock = None,
    ) -> Verifier:
        """A generic HMAC-SHA256 scheme (see the Rust `GenericHmac`)."""

    @property
    def provider(self) -> str:
        """The provider name."""

    def verify(self, headers: _Headers, body: _Input, url: Optional[str] = None) -> Verified:
        """Verifies `headers` and the raw `body` (and Twilio's full `url`); raises `Rejected`."""

    def process(
        self,
        headers: _Headers,
        body: _Input,
        store: ReplayStore,
        consumer: str,
        handler: Callable[[Verified], _T],
        *,
        url: Optional[str] = None,
        retention_seconds: int = ...,
        lease_seconds: int = 300,
    ) -> _T:
        """Effectively-once: verify, lease the id in `store`, `handler(verified)`; retention default 7 days."""

@final
class StandardSigner:
    """Signs Standard Webhooks: `v1` HMAC with a `whsec_` secret, `v1a` Ed25519 with a `whsk_` key."""

    def __new__(cls, secret: str) -> Self:
        """A signer for a `whsec_` (HMAC) secret or a `whsk_` (Ed25519) key."""

    @staticmethod
    def generate_ed25519() -> tuple[str, str]:
        """A new `whsk_` secret key and its `whpk_` public key, as `(secret, public)`."""

    def public_key(self) -> Optional[str]:
        """The `whpk_` public key of a v1a signer (None for v1)."""

    def signature(self, msg_id: str, timestamp: int, body: _Input) -> str:
        """The `webhook-signature` header value for `(msg_id, timestamp, body)`."""

    def headers(self, msg_id: str, timestamp: int, body: _Input) -> dict[str, str]:
        """The headers to send: `webhook-id`, `webhook-timestamp`, `webhook-signature`."""

# --- benchmark (src/lib.rs) -----------------------------------------------------------

def _rust_baseline(payload_bytes: int, iterations: int) -> tuple[float, float]:
    """Private, not API: the benchmark's Rust side; returns seconds per seal and per open."""

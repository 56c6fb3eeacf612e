"""The published vectors (tests/vectors/), through the Python API, used exactly as the Rust
tests use them:

* ``envelope/*.json`` as tests/vectors.rs (``open_vector``, docs/FORMAT.md §10): keys and
  trust loaded (loading must succeed), an opener at the vector's ``now`` over a fresh memory
  store of capacity 10, ``opens`` opens (default 1) of which all but the last succeed; the
  last one's outcome is the payload and source (``ok_*``) or the error kind (``fail_*``).
* ``webhooks/*.json`` as tests/webhook_vectors.rs: one verifier per provider with the
  vector's secret, tolerance (default 300 s) and ``now`` (default 1700000000); ``valid``
  cases verify, ``invalid`` ones raise ``Rejected`` with the named kind.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

import eventseal
from conftest import VECTORS, b64u_decode, b64u_encode
from eventseal import (
    MemoryReplayStore,
    Opener,
    RecipientSecretKey,
    Rejected,
    SymmetricKey,
    TrustStore,
    VerifyingKey,
)
from eventseal import webhook as wh

# --------------------------------------------------------------------------------------
# envelope vectors
# --------------------------------------------------------------------------------------

ENVELOPE_DIR = VECTORS / "envelope"
ENVELOPE_FILES = sorted(ENVELOPE_DIR.glob("*.json"))

# The files this repository ships (other implementations pin them): a dropped or added file
# must be noticed here.
EXPECTED_ENVELOPE_FILES = 36

# tests/vectors.rs NOT_FROM_A_BARE_ENVELOPE: the kinds no bare envelope can produce; every
# other kind must have a fail_ vector.
NOT_FROM_A_BARE_ENVELOPE = {
    "binding-mismatch",
    "store-unavailable",
    "store-full",
    "invalid-key",
    "invalid-trust",
    "invalid-input",
    "rng",
    "signer-failed",
    "in-progress",
    "lease-lost",
}


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _trust(v: dict) -> TrustStore:
    if "trust" in v:
        return TrustStore.from_json(json.dumps(v["trust"]))
    return TrustStore([VerifyingKey.from_jwk(j) for j in v["signing_public_jwks"]])


def _consumer_key(v: dict):
    jwk = v["recipient_secret_jwk"]
    if json.loads(jwk)["kty"] == "oct":
        return SymmetricKey.from_jwk(jwk)
    return RecipientSecretKey.from_jwk(jwk)


def _open_vector(v: dict):
    """tests/vectors.rs `open_vector`: returns the last open's Opened, or raises."""
    trust = _trust(v)
    key = _consumer_key(v)
    now = v["now"]
    opener = Opener([key], trust, MemoryReplayStore(10), clock=lambda: now)
    envelope = v["envelope"].encode("utf-8")
    opens = v.get("opens", 1)
    for _ in range(1, opens):
        opener.open(envelope)  # every open but the last succeeds
    return opener.open(envelope)


def test_envelope_vector_count():
    assert len(ENVELOPE_FILES) == EXPECTED_ENVELOPE_FILES, [p.name for p in ENVELOPE_FILES]
    names = [p.name for p in ENVELOPE_FILES]
    ok = [n for n in names if n.startswith("ok_")]
    fail = [n for n in names if n.startswith("fail_")]
    assert len(ok) + len(fail) == len(names), "every vector is ok_* or fail_*"
    # tests/vectors.rs: at least 8 ok and 28 fail vectors.
    assert len(ok) >= 8 and len(fail) >= 28, (len(ok), len(fail))


def test_every_envelope_kind_has_a_fail_vector():
    assert NOT_FROM_A_BARE_ENVELOPE <= set(eventseal.KINDS)
    kinds = {_load(p)["expected"]["error"] for p in ENVELOPE_FILES if p.name.startswith("fail_")}
    assert kinds <= set(eventseal.KINDS), kinds - set(eventseal.KINDS)
    missing = set(eventseal.KINDS) - NOT_FROM_A_BARE_ENVELOPE - kinds
    assert not missing, f"no fail_ vector for {sorted(missing)}"


@pytest.mark.parametrize("path", ENVELOPE_FILES, ids=[p.stem for p in ENVELOPE_FILES])
def test_envelope_vector(path: Path):
    v = _load(path)
    expected = v["expected"]
    if path.name.startswith("ok_"):
        opened = _open_vector(v)
        assert isinstance(opened, eventseal.Opened)
        assert opened.payload == b64u_decode(expected["payload_b64"])
        # The Rust test compares unpadded base64url text: do the same.
        assert b64u_encode(opened.payload) == expected["payload_b64"]
        assert opened.source == expected["source"]
    else:
        assert path.name.startswith("fail_"), "must be ok_* or fail_*"
        want = expected["error"]
        with pytest.raises(Rejected) as e:
            _open_vector(v)
        assert type(e.value) is Rejected
        assert e.value.kind == want


# --------------------------------------------------------------------------------------
# webhook vectors
# --------------------------------------------------------------------------------------

WEBHOOK_DIR = VECTORS / "webhooks"
DEFAULT_NOW = 1_700_000_000
DEFAULT_TOLERANCE = 300

PROVIDER_CLASSES = {
    "standard-webhooks": wh.StandardWebhooks,
    "svix": wh.Svix,
    "stripe": wh.Stripe,
    "github": wh.GitHub,
    "slack": wh.Slack,
    "shopify": wh.Shopify,
    "discord": wh.Discord,
    "twilio": wh.Twilio,
    "sendgrid": wh.SendGrid,
}

# Vectors per provider file as shipped (discord publishes none: see its `not_found`).
EXPECTED_WEBHOOK_COUNTS = {
    "discord": 0,
    "github": 8,
    "sendgrid": 10,
    "shopify": 2,
    "slack": 2,
    "standard-webhooks": 11,
    "stripe": 10,
    "svix": 7,
    "twilio": 7,
}


def _form_encode(s: str) -> str:
    """tests/webhook_vectors.rs `form_encode`: every byte outside the unreserved set as %XX."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in "-_.~"):
            out.append(c)
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def _form_body(params: dict) -> str:
    pairs = []
    for k, v in params.items():
        if isinstance(v, list):
            pairs.extend(f"{_form_encode(k)}={_form_encode(x)}" for x in v)
        else:
            pairs.append(f"{_form_encode(k)}={_form_encode(v)}")
    return "&".join(pairs)


def _webhook_cases():
    cases = []
    for provider in wh.PROVIDERS:
        file = _load(WEBHOOK_DIR / f"{provider}.json")
        for i, v in enumerate(file["vectors"]):
            cases.append(pytest.param(provider, i, v, id=f"{provider}[{i}]"))
    return cases


WEBHOOK_CASES = _webhook_cases()


def test_webhook_vector_files_and_counts():
    assert sorted(wh.PROVIDERS) == sorted(PROVIDER_CLASSES)
    files = sorted(p.stem for p in WEBHOOK_DIR.glob("*.json"))
    assert files == sorted(wh.PROVIDERS)
    counts = {p: len(_load(WEBHOOK_DIR / f"{p}.json")["vectors"]) for p in wh.PROVIDERS}
    assert counts == EXPECTED_WEBHOOK_COUNTS
    # tests/webhook_vectors.rs: at least 50 in all.
    assert len(WEBHOOK_CASES) == sum(EXPECTED_WEBHOOK_COUNTS.values()) >= 50


def test_form_encode_matches_the_rust_helper():
    # The Rust helper's exact output for a few bytes (multi-byte UTF-8 byte by byte,
    # uppercase hex, space as %20 not '+').
    assert _form_encode("a b+c/~._-Z9") == "a%20b%2Bc%2F~._-Z9"
    assert _form_encode("\u00e9") == "%C3%A9"
    assert _form_body({"b": "1", "a": ["x", "y z"]}) == "b=1&a=x&a=y%20z"


@pytest.mark.parametrize(("provider", "index", "v"), WEBHOOK_CASES)
def test_webhook_vector(provider: str, index: int, v: dict):
    secret = v["secret"]
    if v.get("secret_kind") == "ed25519_private_seed_base64":
        # The source publishes the signing seed only: derive the whpk_ public key.
        secret = wh.StandardSigner("whsk_" + secret).public_key()
        assert secret is not None and secret.startswith("whpk_")
        if v.get("public_key") is not None:  # null in the shipped file
            assert secret == v["public_key"]
    params = v.get("params")
    if isinstance(params, dict):
        body = _form_body(params).encode("utf-8")
    elif v.get("body_encoding") == "base64":
        body = base64.b64decode(v["body"])
    else:
        body = v["body"].encode("utf-8")
    headers = list(v["headers"].items())
    tolerance = v.get("tolerance_seconds")
    tolerance = DEFAULT_TOLERANCE if tolerance is None else tolerance
    now = v.get("now")
    now = DEFAULT_NOW if now is None else now
    verifier = PROVIDER_CLASSES[provider]([secret], tolerance, clock=lambda: now)
    assert verifier.provider == provider
    if v["expect"] == "valid":
        verified = verifier.verify(headers, body, url=v.get("url"))
        assert isinstance(verified, wh.Verified)
        assert verified.provider == provider
    else:
        assert v["expect"] == "invalid", v["expect"]
        want = v.get("kind")
        assert want, "an invalid vector names its kind"
        with pytest.raises(Rejected) as e:
            verifier.verify(headers, body, url=v.get("url"))
        assert type(e.value) is Rejected
        assert e.value.kind == want

"""Interoperability with the Rust command-line tool (``cli`` fixture), both ways:

* keys made by ``eventseal keygen`` / ``trust add`` loaded by Python, and keys made in
  Python (``to_jwk``) used by ``eventseal seal`` / ``open`` / ``key public`` / ``trust add``;
* envelopes sealed in Python opened by ``eventseal open`` (the exact payload bytes on
  stdout) and envelopes sealed by ``eventseal seal`` opened in Python;
* rejections: ``eventseal open`` exits 3 with the first stderr line
  ``eventseal: rejected: KIND`` (the contract in ``eventseal --help``), KIND being exactly
  what Python's ``Rejected.kind`` says for the same envelope;
* one SQLite replay file shared by the CLI (``--replay-db``) and ``SqliteReplayStore``;
* EventBridge: ``seal --eventbridge-entry`` against ``put_events_entry``, ``inspect`` on
  Python's entry, and a delivered event opened by both with ``--eventbridge``.

Everything runs on the real clock: ``open --now`` is refused with a replay database, so
the Python side uses the system clock too, with lifetimes far from any edge.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import eventseal
from conftest import b64u_decode, b64u_encode, delivered_event
from eventseal import (
    MemoryReplayStore,
    Opener,
    RecipientPublicKey,
    RecipientSecretKey,
    Rejected,
    Sealer,
    SigningKey,
    SqliteReplayStore,
    SymmetricKey,
    TrustStore,
    VerifyingKey,
)

# `eventseal --help`: "3 rejected (first stderr line: eventseal: rejected: KIND)".
EXIT_REJECTED = 3
ACCOUNT = "123456789012"
EB_SOURCE = "com.example.orders"
BUS = "central-bus"


# --- helpers ------------------------------------------------------------------------------


def run(cli: str, *args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [cli, *map(str, args)], input=stdin, capture_output=True, timeout=120
    )


def ok(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    return p


def write_secret(path: Path, text: str) -> Path:
    """A secret file with mode 0600, as the CLI expects (else it warns on stderr)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def write_public(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def jwk_of(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def flip_member(envelope: bytes, member: str, index: int = 10) -> bytes:
    """The envelope with one bit of a decoded member flipped (no re-signing)."""
    outer = json.loads(envelope)
    raw = bytearray(b64u_decode(outer[member]))
    raw[index] ^= 0x01
    outer[member] = b64u_encode(bytes(raw))
    return json.dumps(outer, separators=(",", ":")).encode()


def edit_header(envelope: bytes, old: str, new: str) -> bytes:
    """The envelope with its header text edited (no re-signing)."""
    outer = json.loads(envelope)
    header = b64u_decode(outer["header"]).decode()
    assert old in header
    outer["header"] = b64u_encode(header.replace(old, new, 1).encode())
    return json.dumps(outer, separators=(",", ":")).encode()


def rejected_kind(p: subprocess.CompletedProcess) -> str:
    """The KIND of a CLI rejection, checking the published contract on the way."""
    assert p.returncode == EXIT_REJECTED, (p.returncode, p.stdout, p.stderr)
    first = p.stderr.decode().splitlines()[0]
    prefix = "eventseal: rejected: "
    assert first.startswith(prefix), p.stderr
    assert p.stdout == b"", "no payload on a rejection"
    return first[len(prefix):]


def python_kind(opener: Opener, envelope: bytes) -> str:
    with pytest.raises(Rejected) as e:
        opener.open(envelope)
    assert type(e.value) is Rejected
    return e.value.kind


# --- the contract itself ---------------------------------------------------------------------


def test_cli_documents_the_rejection_contract(cli):
    out = ok(run(cli, "--help")).stdout.decode()
    assert "3 rejected (first stderr line: eventseal: rejected: KIND)" in " ".join(out.split())


# --- keys made by the CLI, loaded by Python ---------------------------------------------------


@pytest.mark.parametrize(("alg", "algorithm", "kty"), [("ed25519", "Ed25519", "OKP"),
                                                       ("p256", "ES256", "EC")])
def test_cli_signing_key_loads_in_python(cli, tmp_path, alg, algorithm, kty):
    ok(run(cli, "keygen", "signing", "--source", "orders", "--alg", alg, "--out-dir", tmp_path))
    secret_file = tmp_path / "orders.sign.jwk"
    verify_file = tmp_path / "orders.verify.jwk"
    assert os.stat(secret_file).st_mode & 0o777 == 0o600
    secret = jwk_of(secret_file)
    assert secret["kty"] == kty and "d" in secret

    key = SigningKey.from_jwk(secret_file.read_text())
    assert (key.source, key.algorithm, key.key_id) == ("orders", algorithm, secret["kid"])
    assert json.loads(key.to_jwk()) == secret

    vk = VerifyingKey.from_jwk(verify_file.read_text())
    assert vk == key.verifying_key()
    assert (vk.source, vk.algorithm, vk.key_id) == ("orders", algorithm, secret["kid"])
    assert json.loads(vk.to_jwk()) == jwk_of(verify_file)
    assert "d" not in json.loads(vk.to_jwk())
    # `key public` prints the same verifying JWK Python derives.
    printed = ok(run(cli, "key", "public", secret_file)).stdout
    assert json.loads(printed) == json.loads(key.verifying_key().to_jwk())


def test_cli_recipient_and_symmetric_keys_load_in_python(cli, tmp_path):
    ok(run(cli, "keygen", "recipient", "--consumer", "billing", "--out-dir", tmp_path))
    ok(run(cli, "keygen", "symmetric", "--consumer", "ledger", "--out-dir", tmp_path))
    secret_file = tmp_path / "billing.recipient.jwk"
    public_file = tmp_path / "billing.recipient.pub.jwk"
    psk_file = tmp_path / "ledger.psk.jwk"

    secret = RecipientSecretKey.from_jwk(secret_file.read_text())
    assert (secret.consumer, secret.key_id) == ("billing", jwk_of(secret_file)["kid"])
    assert json.loads(secret.to_jwk()) == jwk_of(secret_file)
    public = RecipientPublicKey.from_jwk(public_file.read_text())
    assert public == secret.public_key()
    assert (public.consumer, public.key_id) == ("billing", secret.key_id)
    assert json.loads(public.to_jwk()) == jwk_of(public_file)

    psk = SymmetricKey.from_jwk(psk_file.read_text())
    assert (psk.consumer, psk.key_id) == ("ledger", jwk_of(psk_file)["kid"])
    assert json.loads(psk.to_jwk()) == jwk_of(psk_file)

    # A secret file is not a public key, and the other way round.
    with pytest.raises(eventseal.InvalidKey) as e:
        RecipientSecretKey.from_jwk(public_file.read_text())
    assert e.value.kind == "invalid-key"
    with pytest.raises(eventseal.InvalidKey) as e:
        SigningKey.from_jwk(secret_file.read_text())
    assert e.value.kind == "invalid-key"


def test_cli_trust_file_loads_in_python_with_its_policy(cli, tmp_path):
    ok(run(cli, "keygen", "signing", "--source", "orders", "--out-dir", tmp_path))
    ok(run(cli, "keygen", "signing", "--source", "payments", "--alg", "p256",
           "--out-dir", tmp_path))
    trust_file = tmp_path / "trust.json"
    ok(run(cli, "trust", "add", "--file", trust_file, "--source", "orders",
           "--verifying-key", tmp_path / "orders.verify.jwk", "--allow", "order.*"))
    ok(run(cli, "trust", "add", "--file", trust_file, "--source", "payments",
           "--verifying-key", tmp_path / "payments.verify.jwk", "--allow", "payment.settled"))
    trust = TrustStore.from_file(trust_file)
    assert sorted(trust.sources()) == ["orders", "payments"]
    assert len(trust) == 2
    assert len(TrustStore.from_file(str(trust_file))) == 2  # str path too

    billing = RecipientSecretKey.generate("billing")
    orders = Sealer(SigningKey.from_jwk((tmp_path / "orders.sign.jwk").read_text()))
    payments = Sealer(SigningKey.from_jwk((tmp_path / "payments.sign.jwk").read_text()))
    opener = Opener([billing], trust, MemoryReplayStore())
    to = [billing.public_key()]
    assert opener.open(orders.seal("order.created", b"o", to)).payload == b"o"
    assert opener.open(payments.seal("payment.settled", b"p", to)).payload == b"p"
    assert python_kind(opener, orders.seal("payment.settled", b"x", to)) == "policy-denied"
    assert python_kind(opener, payments.seal("payment.refunded", b"x", to)) == "policy-denied"


# --- keys made in Python, used by the CLI -----------------------------------------------------


@pytest.mark.parametrize("algorithm", ["Ed25519", "EdDSA", "ES256"])
def test_python_keys_used_by_cli(cli, tmp_path, algorithm):
    signing = SigningKey.generate("orders", algorithm)
    billing = RecipientSecretKey.generate("billing")
    sign_file = write_secret(tmp_path / "orders.sign.jwk", signing.to_jwk())
    verify_file = write_public(tmp_path / "orders.verify.jwk", signing.verifying_key().to_jwk())
    rsk_file = write_secret(tmp_path / "billing.jwk", billing.to_jwk())
    rpk_file = write_public(tmp_path / "billing.pub.jwk", billing.public_key().to_jwk())

    printed = ok(run(cli, "key", "public", sign_file)).stdout
    assert json.loads(printed) == json.loads(signing.verifying_key().to_jwk())

    trust_file = tmp_path / "trust.json"
    ok(run(cli, "trust", "add", "--file", trust_file, "--source", "orders",
           "--verifying-key", verify_file, "--allow", "order.*"))
    checked = json.loads(ok(run(cli, "trust", "check", "--json", trust_file)).stdout)
    assert signing.key_id in json.dumps(checked)

    payload = b"\x00\xffbinary\n"
    env_file = tmp_path / "env.json"
    ok(run(cli, "seal", "--signing-key", sign_file, "--type", "order.created",
           "--to", rpk_file, "--output", env_file, stdin=payload))
    p = ok(run(cli, "open", "--recipient-key", rsk_file, "--trust-file", trust_file,
               "--replay-db", tmp_path / "replay.db", env_file))
    assert p.stdout == payload
    assert p.stderr == b""
    # Python opens the same CLI envelope with the same Python keys.
    opened = Opener([billing], TrustStore([signing.verifying_key()]), MemoryReplayStore()).open(
        env_file.read_bytes())
    assert (opened.payload, opened.source, opened.key_id) == (payload, "orders", signing.key_id)


def test_python_symmetric_key_used_by_cli(cli, tmp_path):
    signing = SigningKey.generate("orders")
    ledger = SymmetricKey.generate("ledger")
    psk_file = write_secret(tmp_path / "ledger.psk.jwk", ledger.to_jwk())
    verify_file = write_public(tmp_path / "orders.verify.jwk", signing.verifying_key().to_jwk())
    env = Sealer(signing).seal("ledger.entry", b"psk payload", [ledger])
    env_file = tmp_path / "env.json"
    env_file.write_bytes(env)
    p = ok(run(cli, "open", "--recipient-key", psk_file, "--trust", verify_file,
               "--replay-db", tmp_path / "replay.db", env_file))
    assert p.stdout == b"psk payload"
    # And the other way: the CLI seals to the Python-made pre-shared key.
    sign_file = write_secret(tmp_path / "orders.sign.jwk", signing.to_jwk())
    out = ok(run(cli, "seal", "--signing-key", sign_file, "--type", "ledger.entry",
                 "--to", psk_file, stdin=b"from the cli")).stdout
    opener = Opener([ledger], TrustStore([signing.verifying_key()]), MemoryReplayStore())
    assert opener.open(out).payload == b"from the cli"


# --- envelopes both ways ----------------------------------------------------------------------


@pytest.fixture()
def cli_world(cli, tmp_path):
    """Keys made by the CLI (orders Ed25519, hsm P-256, billing X25519, ledger PSK), a trust
    file made by `trust add`, and the same keys loaded in Python."""
    keys = tmp_path / "keys"
    ok(run(cli, "keygen", "signing", "--source", "orders", "--out-dir", keys))
    ok(run(cli, "keygen", "signing", "--source", "hsm", "--alg", "p256", "--out-dir", keys))
    ok(run(cli, "keygen", "recipient", "--consumer", "billing", "--out-dir", keys))
    ok(run(cli, "keygen", "recipient", "--consumer", "eve", "--out-dir", keys))
    ok(run(cli, "keygen", "symmetric", "--consumer", "ledger", "--out-dir", keys))
    trust_file = tmp_path / "trust.json"
    for source, allow in (("orders", "order.*"), ("hsm", "ledger.*")):
        ok(run(cli, "trust", "add", "--file", trust_file, "--source", source,
               "--verifying-key", keys / f"{source}.verify.jwk", "--allow", allow,
               "--account", ACCOUNT, "--eventbridge-source", f"com.example.{source}"))

    class W:
        pass

    w = W()
    w.dir = tmp_path
    w.keys = keys
    w.trust_file = trust_file
    w.orders = SigningKey.from_jwk((keys / "orders.sign.jwk").read_text())
    w.hsm = SigningKey.from_jwk((keys / "hsm.sign.jwk").read_text())
    w.billing = RecipientSecretKey.from_jwk((keys / "billing.recipient.jwk").read_text())
    w.eve = RecipientSecretKey.from_jwk((keys / "eve.recipient.jwk").read_text())
    w.ledger = SymmetricKey.from_jwk((keys / "ledger.psk.jwk").read_text())
    w.secret_file = {"billing": keys / "billing.recipient.jwk",
                     "eve": keys / "eve.recipient.jwk",
                     "ledger": keys / "ledger.psk.jwk"}
    w.py_key = {"billing": w.billing, "eve": w.eve, "ledger": w.ledger}
    w.counter = 0

    def cli_open(envelope: bytes, consumer: str = "billing", *extra) -> subprocess.CompletedProcess:
        w.counter += 1
        f = tmp_path / f"in-{w.counter}.json"
        f.write_bytes(envelope)
        return run(cli, "open", "--recipient-key", w.secret_file[consumer],
                   "--trust-file", trust_file, "--replay-db", tmp_path / f"cli-{w.counter}.db",
                   *extra, f)

    def py_opener(consumer: str = "billing") -> Opener:
        w.counter += 1
        return Opener([w.py_key[consumer]], TrustStore.from_file(trust_file),
                      SqliteReplayStore(tmp_path / f"py-{w.counter}.db"))

    w.cli_open = cli_open
    w.py_opener = py_opener
    return w


@pytest.mark.parametrize(
    ("signer", "event_type", "consumer"),
    [("orders", "order.created", "billing"), ("orders", "order.created", "ledger"),
     ("hsm", "ledger.entry", "billing"), ("hsm", "ledger.entry", "ledger")],
)
def test_python_sealed_opened_by_cli(cli_world, signer, event_type, consumer):
    w = cli_world
    payload = b'{"order": 42}\n\x00\xfe trailing bytes \r\n'
    sealer = Sealer(getattr(w, signer), ttl_seconds=600, content_type="application/x-test")
    env = sealer.seal(event_type, payload, [w.billing.public_key(), w.ledger])
    header_file = w.dir / "header.json"
    p = w.cli_open(env, consumer, "--header-output", header_file)
    assert p.returncode == 0, p.stderr
    assert p.stdout == payload  # the exact bytes, nothing added
    assert p.stderr == b""
    # The CLI's verified header agrees with what Python reads from the same envelope.
    opened = w.py_opener(consumer).open(env)
    header = json.loads(header_file.read_text())
    assert header["id"] == opened.envelope_id
    assert header["source"] == opened.source == signer
    assert header["key_id"] == opened.key_id == getattr(w, signer).key_id
    assert header["event_type"] == opened.event_type == event_type
    assert header["content_type"] == opened.content_type == "application/x-test"
    assert header["issued_at"] == opened.issued_at
    assert header["expires_at"] == opened.expires_at == opened.issued_at + 600
    assert [r["consumer"] for r in header["recipients"]] == ["billing", "ledger"]
    assert opened.payload == payload


@pytest.mark.parametrize("consumer", ["billing", "ledger"])
def test_cli_sealed_opened_by_python(cli, cli_world, consumer):
    w = cli_world
    payload = b'{"id": 7, "note": "h\xc3\xa9llo"}'
    (w.dir / "payload.json").write_bytes(payload)
    out = ok(run(cli, "seal", "--signing-key", w.keys / "orders.sign.jwk",
                 "--type", "order.created", "--to", w.keys / "billing.recipient.pub.jwk",
                 "--to", w.keys / "ledger.psk.jwk", "--content-type", "application/json",
                 "--ttl", "10m", "--input", w.dir / "payload.json")).stdout
    assert out.endswith(b"}\n")  # one newline after the envelope, as documented in envelope.rs
    opened = w.py_opener(consumer).open(out)
    assert opened.payload == payload
    assert (opened.source, opened.event_type, opened.content_type) == (
        "orders", "order.created", "application/json")
    assert opened.key_id == w.orders.key_id
    assert opened.expires_at - opened.issued_at == 600
    assert abs(opened.issued_at - time.time()) < 120
    # Without its newline it opens too (a fresh store: the id is new to it).
    assert w.py_opener(consumer).open(out.rstrip(b"\n")).payload == payload


def test_cli_p256_sealed_opened_by_python(cli, cli_world):
    w = cli_world
    out = ok(run(cli, "seal", "--signing-key", w.keys / "hsm.sign.jwk", "--source", "hsm",
                 "--type", "ledger.entry", "--to", w.keys / "billing.recipient.pub.jwk",
                 stdin=b"p256")).stdout
    opened = w.py_opener().open(out)
    assert (opened.payload, opened.source, opened.key_id) == (b"p256", "hsm", w.hsm.key_id)


# --- rejections: the same kind from both ------------------------------------------------------


def _tamper_cases():
    """(id, build(world) -> (envelope, consumer), expected kind)."""
    now = int(time.time())

    def sealed(w, event_type="order.created", to=None, **kw):
        return Sealer(w.orders, **kw).seal(event_type, b"secret payload",
                                           to or [w.billing.public_key()])

    return [
        ("signature-bit-flipped",
         lambda w: (flip_member(sealed(w), "signature"), "billing"), "bad-signature"),
        ("ciphertext-bit-flipped",
         lambda w: (flip_member(sealed(w), "ciphertext", 3), "billing"), "bad-signature"),
        ("header-edited-not-resigned",
         lambda w: (edit_header(sealed(w), '"order.created"', '"order.deleted"'), "billing"),
         "bad-signature"),
        ("recipients-reordered",
         lambda w: (_reorder_recipients(sealed(w, to=[w.billing.public_key(), w.ledger])),
                    "billing"),
         "bad-signature"),
        ("truncated", lambda w: (sealed(w)[:-20], "billing"), "malformed"),
        ("padded-base64",
         lambda w: (sealed(w).replace(b'","ciphertext"', b'=","ciphertext"', 1), "billing"),
         "malformed"),
        ("nesting-too-deep", lambda w: (b'{"header":[[[[[[[[]]]]]]]]}', "billing"), "too-large"),
        ("not-a-recipient", lambda w: (sealed(w), "eve"), "not-a-recipient"),
        ("unknown-key",
         lambda w: (Sealer(SigningKey.generate("orders")).seal(
             "order.created", b"x", [w.billing.public_key()]), "billing"),
         "unknown-key"),
        ("policy-denied", lambda w: (sealed(w, "invoice.paid"), "billing"), "policy-denied"),
        ("expired",
         lambda w: (sealed(w, ttl_seconds=60, clock=lambda: now - 7200), "billing"), "expired"),
        ("not-yet-valid",
         lambda w: (sealed(w, clock=lambda: now + 3600), "billing"), "not-yet-valid"),
        ("lifetime-too-long",
         lambda w: (sealed(w, ttl_seconds=49 * 3600), "billing"), "lifetime-too-long"),
    ]


def _reorder_recipients(envelope: bytes) -> bytes:
    outer = json.loads(envelope)
    header = json.loads(b64u_decode(outer["header"]))
    assert len(header["recipients"]) == 2
    header["recipients"].reverse()
    outer["header"] = b64u_encode(json.dumps(header, separators=(",", ":")).encode())
    return json.dumps(outer, separators=(",", ":")).encode()


TAMPER_CASES = _tamper_cases()


@pytest.mark.parametrize(("build", "expected"), [(b, k) for _, b, k in TAMPER_CASES],
                         ids=[i for i, _, _ in TAMPER_CASES])
def test_rejected_with_the_same_kind_by_cli_and_python(cli_world, build, expected):
    w = cli_world
    envelope, consumer = build(w)
    py = python_kind(w.py_opener(consumer), envelope)
    cli_kind = rejected_kind(w.cli_open(envelope, consumer))
    assert cli_kind == py
    assert py == expected


def test_untampered_control_opens_in_both(cli_world):
    """The tamper cases' baseline: the same keys, trust file and stores accept the original."""
    w = cli_world
    env = Sealer(w.orders).seal("order.created", b"secret payload", [w.billing.public_key()])
    assert w.py_opener().open(env).payload == b"secret payload"
    assert ok(w.cli_open(env)).stdout == b"secret payload"


# --- one replay file, two implementations -----------------------------------------------------


def test_replay_db_shared_between_cli_and_python(cli, cli_world):
    w = cli_world
    db = w.dir / "shared-replay.db"
    sealer = Sealer(w.orders)
    common = ["--recipient-key", w.secret_file["billing"], "--trust-file", w.trust_file,
              "--replay-db", db]

    def py_open(env):
        return Opener([w.billing], TrustStore.from_file(w.trust_file),
                      SqliteReplayStore(db)).open(env)

    # Opened in Python first: the CLI then sees a replay.
    first = sealer.seal("order.created", b"first", [w.billing.public_key()])
    assert py_open(first).payload == b"first"
    (w.dir / "first.json").write_bytes(first)
    assert rejected_kind(run(cli, "open", *common, w.dir / "first.json")) == "replayed"

    # Opened by the CLI first: Python then sees a replay.
    second = sealer.seal("order.created", b"second", [w.billing.public_key()])
    (w.dir / "second.json").write_bytes(second)
    assert ok(run(cli, "open", *common, w.dir / "second.json")).stdout == b"second"
    with pytest.raises(Rejected) as e:
        py_open(second)
    assert e.value.kind == "replayed"
    # And the CLI itself refuses its own second open.
    assert rejected_kind(run(cli, "open", *common, w.dir / "second.json")) == "replayed"

    # A third envelope, new to the file, opens in either.
    third = sealer.seal("order.created", b"third", [w.billing.public_key()])
    assert py_open(third).payload == b"third"


# --- EventBridge ----------------------------------------------------------------------------


def test_cli_eventbridge_entry_matches_put_events_entry(cli, cli_world):
    w = cli_world
    out = ok(run(cli, "seal", "--signing-key", w.keys / "orders.sign.jwk",
                 "--type", "order.created", "--to", w.keys / "billing.recipient.pub.jwk",
                 "--eventbridge-entry", "--bus", BUS, "--source-name", EB_SOURCE,
                 "--content-type", "application/json", stdin=b'{"id": 1}')).stdout
    entries = json.loads(out)
    assert isinstance(entries, list) and len(entries) == 1
    entry = entries[0]
    assert set(entry) == {"Source", "DetailType", "Detail", "EventBusName"}
    py_entry = eventseal.put_events_entry(entry["Detail"], EB_SOURCE, BUS)
    assert py_entry == entry
    assert list(py_entry) == list(entry)  # same member order as the CLI's JSON
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
        EB_SOURCE, "order.created", BUS)
    # bytes input gives the same entry
    assert eventseal.put_events_entry(entry["Detail"].encode(), EB_SOURCE, BUS) == entry
    opened = w.py_opener().open(entry["Detail"])
    assert opened.payload == b'{"id": 1}'
    # `--eventbridge-entry` defaults to a 25 h lifetime (beyond EventBridge's retries).
    assert opened.expires_at - opened.issued_at == 25 * 3600


def test_python_entry_inspected_by_cli(cli, cli_world):
    w = cli_world
    env = Sealer(w.orders, content_type="application/json").seal(
        "order.created", b"{}", [w.billing.public_key(), w.ledger])
    entry = eventseal.put_events_entry(env, EB_SOURCE, BUS)
    f = w.dir / "entries.json"
    f.write_text(json.dumps([entry]))
    shown = json.loads(ok(run(cli, "inspect", f)).stdout)
    assert shown["verified"] is False
    assert shown["input"] == "put-events-entry"
    opened = w.py_opener().open(env)
    h = shown["header"]
    assert (h["id"], h["source"], h["key_id"], h["event_type"], h["content_type"],
            h["issued_at"], h["expires_at"]) == (
        opened.envelope_id, "orders", w.orders.key_id, "order.created", "application/json",
        opened.issued_at, opened.expires_at)
    assert [r["consumer"] for r in h["recipients"]] == ["billing", "ledger"]


@pytest.mark.parametrize(("account", "expected"), [(ACCOUNT, None),
                                                   ("210987654321", "binding-mismatch")])
def test_delivered_event_opened_by_cli_and_python(cli_world, account, expected):
    w = cli_world
    env = Sealer(w.orders).seal("order.created", b"via eventbridge", [w.billing.public_key()])
    event = delivered_event(eventseal.put_events_entry(env, "com.example.orders", BUS), account)
    p = w.cli_open(json.dumps(event).encode(), "billing", "--eventbridge")
    opener = w.py_opener()
    if expected is None:
        assert ok(p).stdout == b"via eventbridge"
        assert opener.open_eventbridge(event).payload == b"via eventbridge"
    else:
        with pytest.raises(Rejected) as e:
            opener.open_eventbridge(event)
        assert e.value.kind == expected
        assert rejected_kind(p) == expected

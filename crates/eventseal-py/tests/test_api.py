"""Round trips, every rejection kind reachable from Python, the error classes, the clock,
keys, stores and hostile input, through the binding."""

from __future__ import annotations

import json
import os
import pickle
import threading

import pytest

import eventseal
from conftest import b64u_decode, b64u_encode, delivered_event
from eventseal import (
    InvalidInput,
    InvalidKey,
    InvalidTrust,
    MemoryReplayStore,
    NotCompleted,
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

T0 = 1_800_000_000
ACCOUNT = "111111111111"


class Clock:
    """A settable clock: ``clock()`` returns ``clock.now``."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture()
def world():
    signing = SigningKey.generate("orders")
    billing = RecipientSecretKey.generate("billing")
    clock = Clock()
    sealer = Sealer(signing, ttl_seconds=600, clock=clock)
    opener = Opener([billing], TrustStore([signing.verifying_key()]), MemoryReplayStore(), clock=clock)
    return signing, billing, sealer, opener, clock


def trust_json(vk: VerifyingKey, allow=("*",), accounts=(ACCOUNT,), eb_source="com.acme.orders",
               not_after=None) -> str:
    key = {"jwk": json.loads(vk.to_jwk())}
    if not_after:
        key["not_after"] = not_after
    return json.dumps({"version": 1, "sources": [{
        "source": vk.source, "accounts": list(accounts), "eventbridge_source": eb_source,
        "allow": list(allow), "keys": [key]}]})


def eventbridge_event(envelope: bytes, account=ACCOUNT, source="com.acme.orders") -> dict:
    return delivered_event(eventseal.put_events_entry(envelope, source, "central"), account)


def rejected(kind: str):
    """``pytest.raises`` for a Rejected of exactly ``kind``."""
    class _Ctx:
        def __enter__(self):
            self.cm = pytest.raises(Rejected)
            self.info = self.cm.__enter__()
            return self.info

        def __exit__(self, *exc):
            r = self.cm.__exit__(*exc)
            assert self.info.value.kind == kind, (self.info.value.kind, str(self.info.value))
            return r
    return _Ctx()


# --- round trips -------------------------------------------------------------------------


def test_round_trip_fields(world):
    signing, billing, sealer, opener, clock = world
    env = sealer.seal("order.created", b'{"id": 42}', [billing.public_key()])
    assert isinstance(env, bytes)
    opened = opener.open(env)
    assert opened.payload == b'{"id": 42}'
    assert opened.source == "orders"
    assert opened.event_type == "order.created"
    assert opened.key_id == signing.key_id
    assert opened.issued_at == T0
    assert opened.expires_at == T0 + 600
    assert len(opened.envelope_id) == 36
    assert opened.content_type == "application/octet-stream"  # the core's default


def test_payload_types_and_sizes(world):
    _, billing, sealer, opener, _ = world
    # 180 KiB: near the envelope limit (256 KiB, EventBridge's entry size)
    for payload in (b"", bytearray(b"\x00\xff" * 10), "h\u00e9llo", os.urandom(180 * 1024)):
        env = sealer.seal("t", payload, [billing.public_key()])
        expected = payload.encode() if isinstance(payload, str) else bytes(payload)
        assert opener.open(env).payload == expected
    # str envelopes open too (an SQS body arrives as str)
    env = sealer.seal("t", b"x", [billing.public_key()])
    assert opener.open(env.decode()).payload == b"x"


def test_content_type_and_multiple_recipients_mixed_kinds(world):
    signing, billing, _, _, clock = world
    audit = SymmetricKey.generate("audit")
    sealer = Sealer(signing, content_type="application/cbor", clock=clock)
    env = sealer.seal("t", b"p", [billing.public_key(), audit])
    trust = TrustStore([signing.verifying_key()])
    for key in (billing, audit):
        o = Opener([key], trust, MemoryReplayStore(), clock=clock)
        opened = o.open(env)
        assert (opened.payload, opened.content_type) == (b"p", "application/cbor")


def test_eventbridge_round_trip_dict_str_bytes(world):
    signing, billing, sealer, _, clock = world
    trust = TrustStore.from_json(trust_json(signing.verifying_key()))
    for form in (lambda e: e, json.dumps, lambda e: json.dumps(e).encode()):
        opener = Opener([billing], trust, MemoryReplayStore(), clock=clock)
        env = sealer.seal("order.created", b"p", [billing.public_key()])
        assert opener.open_eventbridge(form(eventbridge_event(env))).payload == b"p"


def test_put_events_entry_shape(world):
    _, billing, sealer, _, _ = world
    env = sealer.seal("order.created", b"p", [billing.public_key()])
    entry = eventseal.put_events_entry(env, "com.acme.orders", "central")
    assert entry["Source"] == "com.acme.orders"
    assert entry["DetailType"] == "order.created"
    assert entry["EventBusName"] == "central"
    assert json.loads(entry["Detail"]) == json.loads(env)
    with pytest.raises(Rejected) as e:
        eventseal.put_events_entry(b"not json", "s", "b")
    assert e.value.kind == "malformed"


def test_process_effectively_once(world):
    _, billing, sealer, opener, _ = world
    env = sealer.seal("t", b"p", [billing.public_key()])
    calls = []

    def failing(opened):
        calls.append(opened.payload)
        raise RuntimeError("downstream down")

    with pytest.raises(RuntimeError, match="downstream down"):
        opener.process(env, failing)
    # released: the redelivery runs the handler again, and its value comes back
    assert opener.process(env, lambda o: ("done", o.payload)) == ("done", b"p")
    with rejected("replayed") as e:
        opener.process(env, lambda o: pytest.fail("ran twice"))
    assert e.value.disposition == "acknowledge"
    assert calls == [b"p"]


def test_process_in_progress_and_lease_lost(world):
    """A redelivery while the handler runs is `in-progress`; one after the lease lapsed takes
    the lease over, and the first handler's completion then fails with `lease-lost`."""
    signing, billing, sealer, _, clock = world
    store = MemoryReplayStore()
    trust = TrustStore([signing.verifying_key()])
    a = Opener([billing], trust, store, lease_seconds=30, clock=clock)
    later = Clock(T0 + 31)
    b = Opener([billing], trust, store, lease_seconds=30, clock=later)
    env = sealer.seal("t", b"p", [billing.public_key()])
    seen = {}

    def handler(opened):
        with rejected("in-progress") as e:
            a.open(env)
        seen["in_progress"] = e.value.disposition
        seen["b"] = b.process(env, lambda o: "b done")
        return "a done"

    with pytest.raises(NotCompleted) as e:
        a.process(env, handler)
    assert e.value.kind == "lease-lost"
    assert isinstance(e.value, Rejected)
    assert seen == {"in_progress": "retry", "b": "b done"}


def test_eventbridge_process(world):
    signing, billing, sealer, _, clock = world
    opener = Opener([billing], TrustStore.from_json(trust_json(signing.verifying_key())),
                    MemoryReplayStore(), clock=clock)
    event = eventbridge_event(sealer.seal("order.created", b"p", [billing.public_key()]))
    assert opener.process_eventbridge(event, lambda o: o.event_type) == "order.created"
    with rejected("replayed"):
        opener.process_eventbridge(event, lambda o: None)


# --- every rejection kind ----------------------------------------------------------------


def test_malformed_and_too_large(world):
    _, billing, sealer, opener, _ = world
    for bad in (b"", b"{", b"null", b"[]", b'{"header": 1}', b"\xff\xfe", "{\u0000}"):
        with rejected("malformed") as e:
            opener.open(bad)
        assert e.value.disposition == "reject"
    with rejected("too-large"):
        opener.open(b" " * (2 * 1024 * 1024))
    with rejected("too-large"):
        sealer.seal("t", b"x" * (2 * 1024 * 1024), [billing.public_key()])


def tamper_header(env: bytes, **changes) -> bytes:
    doc = json.loads(env)
    header = json.loads(b64u_decode(doc["header"]))
    header.update(changes)
    doc["header"] = b64u_encode(json.dumps(header, separators=(",", ":")).encode())
    return json.dumps(doc).encode()


def test_bad_signature_unknown_key_unsupported_version(world):
    signing, billing, sealer, opener, clock = world
    env = sealer.seal("order.created", b"p", [billing.public_key()])
    with rejected("bad-signature"):
        opener.open(tamper_header(env, event_type="order.cancelled"))
    with rejected("unsupported-version"):
        opener.open(tamper_header(env, version=99))
    stranger = Sealer(SigningKey.generate("orders"), clock=clock)
    with rejected("unknown-key"):
        opener.open(stranger.seal("t", b"p", [billing.public_key()]))


def test_policy_denied_and_key_expired(world):
    signing, billing, sealer, _, clock = world
    vk = signing.verifying_key()
    o = Opener([billing], TrustStore.from_json(trust_json(vk, allow=["invoice.*"])),
               MemoryReplayStore(), clock=clock)
    with rejected("policy-denied"):
        o.open(sealer.seal("order.created", b"p", [billing.public_key()]))
    o = Opener([billing], TrustStore.from_json(trust_json(vk, not_after="2020-01-01T00:00:00Z")),
               MemoryReplayStore(), clock=clock)
    with rejected("key-expired"):
        o.open(sealer.seal("order.created", b"p", [billing.public_key()]))


def test_binding_mismatch(world):
    signing, billing, sealer, _, clock = world
    opener = Opener([billing], TrustStore.from_json(trust_json(signing.verifying_key())),
                    MemoryReplayStore(), clock=clock)
    env = sealer.seal("order.created", b"p", [billing.public_key()])
    for event in (eventbridge_event(env, account="222222222222"),
                  eventbridge_event(env, source="com.evil.orders")):
        with rejected("binding-mismatch"):
            opener.open_eventbridge(event)
    event = eventbridge_event(env)
    event["detail-type"] = "order.cancelled"
    with rejected("binding-mismatch"):
        opener.open_eventbridge(event)


def test_not_a_recipient_and_freshness(world):
    signing, billing, sealer, opener, clock = world
    other = RecipientSecretKey.generate("shipping")
    with rejected("not-a-recipient"):
        opener.open(sealer.seal("t", b"p", [other.public_key()]))
    env = sealer.seal("t", b"p", [billing.public_key()])
    clock.now = T0 + 600 + 61  # past expiry plus the allowed skew
    with rejected("expired") as e:
        opener.open(env)
    assert e.value.disposition == "reject"
    clock.now = T0 - 61
    with rejected("not-yet-valid") as e:
        opener.open(env)
    assert e.value.disposition == "retry"
    clock.now = T0
    long = Sealer(signing, ttl_seconds=172_800 + 3600, clock=clock)
    with rejected("lifetime-too-long"):
        opener.open(long.seal("t", b"p", [billing.public_key()]))


def test_psk_recipient_with_another_secret_is_not_a_recipient(world):
    signing, _, _, _, clock = world
    # Same consumer and key id cannot be forged; a recipient whose ciphertext was altered
    # after signing fails the signature, so decrypt-failed needs the published vector
    # (fail_key_commitment, in test_vectors.py). Here: a PSK recipient opened with the right
    # key id but a key whose secret differs is refused before decryption as not-a-recipient.
    audit = SymmetricKey.generate("audit")
    impostor = SymmetricKey.generate("audit")
    env = Sealer(signing, clock=clock).seal("t", b"p", [audit])
    o = Opener([impostor], TrustStore([signing.verifying_key()]), MemoryReplayStore(), clock=clock)
    with rejected("not-a-recipient"):
        o.open(env)


def test_replayed_store_full_store_unavailable(world, tmp_path):
    signing, billing, sealer, _, clock = world
    trust = TrustStore([signing.verifying_key()])
    full = Opener([billing], trust, MemoryReplayStore(capacity=1), clock=clock)
    full.open(sealer.seal("t", b"p", [billing.public_key()]))
    with rejected("store-full") as e:
        full.open(sealer.seal("t", b"p", [billing.public_key()]))
    assert e.value.disposition == "retry"
    dead = eventseal.RedisReplayStore(f"redis+unix://{tmp_path}/nobody.sock", timeout_seconds=0.2)
    with rejected("store-unavailable"):
        dead.ping()
    o = Opener([billing], trust, dead, clock=clock)
    with rejected("store-unavailable") as e:
        o.open(sealer.seal("t", b"p", [billing.public_key()]))
    assert e.value.disposition == "retry"


def test_caller_mistakes_are_value_errors(world):
    signing, billing, sealer, _, _ = world
    with pytest.raises(InvalidKey) as e:
        SigningKey.from_jwk('{"kty": "OKP"}')
    assert e.value.kind == "invalid-key" and isinstance(e.value, ValueError)
    with pytest.raises(InvalidKey):
        RecipientPublicKey.from_jwk(billing.to_jwk())  # a secret JWK is not a public key
    with pytest.raises(InvalidKey):
        VerifyingKey.from_jwk(signing.to_jwk())
    with pytest.raises(InvalidTrust) as e:
        TrustStore.from_json('{"version": 1, "sources": [{"source": "x"}]}')
    assert e.value.kind == "invalid-trust" and isinstance(e.value, ValueError)
    with pytest.raises(InvalidTrust):
        TrustStore.from_file("/nonexistent/trust.json")
    with pytest.raises(InvalidInput) as e:
        sealer.seal("t", b"p", [])
    assert e.value.kind == "invalid-input" and isinstance(e.value, ValueError)
    with pytest.raises(InvalidInput):
        Sealer(signing, ttl_seconds=0)
    with pytest.raises(InvalidInput):
        Opener([], TrustStore([signing.verifying_key()]), MemoryReplayStore())
    with pytest.raises(InvalidInput):
        Opener([billing], TrustStore(), MemoryReplayStore(), clock=42)
    with pytest.raises(TypeError):
        sealer.seal("t", b"p", ["not a key"])
    with pytest.raises(TypeError):
        Opener([signing], TrustStore(), MemoryReplayStore())


def test_every_kind_is_known_and_exceptions_pickle():
    e = Rejected("replayed", "replayed", "acknowledge")
    back = pickle.loads(pickle.dumps(e))
    assert (type(back), back.kind, back.disposition, str(back)) == (
        Rejected, "replayed", "acknowledge", "replayed")
    assert len(set(eventseal.KINDS)) == 23
    assert Rejected.__module__ == "eventseal"


# --- keys ---------------------------------------------------------------------------------


def test_key_jwk_round_trips_and_equality():
    s = SigningKey.generate("orders")
    s2 = SigningKey.from_jwk(s.to_jwk())
    assert s2.verifying_key() == s.verifying_key()
    assert hash(s2.verifying_key()) == hash(s.verifying_key())
    assert VerifyingKey.from_jwk(s.verifying_key().to_jwk()) == s.verifying_key()
    p = SigningKey.generate("orders", algorithm="ES256")
    assert p.algorithm == "ES256" and p.verifying_key().algorithm == "ES256"
    with pytest.raises(InvalidInput):
        SigningKey.generate("orders", algorithm="RS256")
    r = RecipientSecretKey.generate("billing")
    assert RecipientSecretKey.from_jwk(r.to_jwk()).public_key() == r.public_key()
    assert RecipientPublicKey.from_jwk(r.public_key().to_jwk()) == r.public_key()
    assert r.public_key().consumer == "billing"
    k = SymmetricKey.generate("audit")
    assert SymmetricKey.from_jwk(k.to_jwk()).key_id == k.key_id
    with pytest.raises(InvalidKey):
        SigningKey.generate("bad source with spaces")


def test_secrets_are_not_in_reprs():
    s = SigningKey.generate("orders")
    d = json.loads(s.to_jwk())["d"]
    r = RecipientSecretKey.generate("billing")
    rd = json.loads(r.to_jwk())["d"]
    k = SymmetricKey.generate("audit")
    kk = json.loads(k.to_jwk())["k"]
    for obj, secret in ((s, d), (r, rd), (k, kk)):
        assert secret not in repr(obj) and secret not in str(obj)
        assert "redacted" in repr(obj)


def test_ecdsa_signed_envelope_opens():
    s = SigningKey.generate("orders", algorithm="ES256")
    r = RecipientSecretKey.generate("billing")
    env = Sealer(s).seal("t", b"p", [r.public_key()])
    assert Opener([r], TrustStore([s.verifying_key()]), MemoryReplayStore()).open(env).payload == b"p"


def test_trust_store_api(tmp_path):
    a, b = SigningKey.generate("orders"), SigningKey.generate("payments")
    t = TrustStore([a.verifying_key()])
    t.add(b.verifying_key())
    assert sorted(t.sources()) == ["orders", "payments"] and len(t) == 2
    path = tmp_path / "trust.json"
    path.write_text(trust_json(a.verifying_key()))
    assert TrustStore.from_file(path).sources() == ["orders"]
    assert TrustStore.from_file(str(path)).sources() == ["orders"]


def test_opener_keeps_a_copy_of_its_trust():
    a, b = SigningKey.generate("orders"), SigningKey.generate("payments")
    r = RecipientSecretKey.generate("billing")
    t = TrustStore([a.verifying_key()])
    o = Opener([r], t, MemoryReplayStore())
    t.add(b.verifying_key())
    env = Sealer(b).seal("t", b"p", [r.public_key()])
    with rejected("unknown-key"):
        o.open(env)
    assert Opener([r], t, MemoryReplayStore()).open(env).payload == b"p"


# --- the clock ----------------------------------------------------------------------------


def test_clock_accepts_int_and_float_and_propagates_errors(world):
    signing, billing, _, _, _ = world
    env = Sealer(signing, clock=lambda: T0 + 0.9).seal("t", b"p", [billing.public_key()])
    o = Opener([billing], TrustStore([signing.verifying_key()]), MemoryReplayStore(),
               clock=lambda: float(T0))
    assert o.open(env).issued_at == T0

    def broken():
        raise OSError("clock source gone")

    o = Opener([billing], TrustStore([signing.verifying_key()]), MemoryReplayStore(), clock=broken)
    with pytest.raises(OSError, match="clock source gone"):
        o.open(env)
    o = Opener([billing], TrustStore([signing.verifying_key()]), MemoryReplayStore(),
               clock=lambda: "noon")
    with pytest.raises((TypeError, InvalidInput)):
        o.open(env)


def test_system_clock_default():
    s = SigningKey.generate("orders")
    r = RecipientSecretKey.generate("billing")
    env = Sealer(s).seal("t", b"p", [r.public_key()])
    opened = Opener([r], TrustStore([s.verifying_key()]), MemoryReplayStore()).open(env)
    import time
    assert abs(opened.issued_at - time.time()) < 30


# --- stores -------------------------------------------------------------------------------


def test_sqlite_store_survives_reopen(world, tmp_path):
    signing, billing, sealer, _, clock = world
    path = tmp_path / "replay.db"
    trust = TrustStore([signing.verifying_key()])
    env = sealer.seal("t", b"p", [billing.public_key()])
    Opener([billing], trust, SqliteReplayStore(path), clock=clock).open(env)
    store = SqliteReplayStore(str(path))
    assert store.entry_count() == 1
    with rejected("replayed"):
        Opener([billing], trust, store, clock=clock).open(env)


def test_redis_store(world, redis_url):
    signing, billing, sealer, _, clock = world
    store = eventseal.RedisReplayStore(redis_url)
    store.ping()
    trust = TrustStore([signing.verifying_key()])
    env = sealer.seal("t", b"p", [billing.public_key()])
    assert Opener([billing], trust, store, clock=clock).open(env).payload == b"p"
    other_instance = Opener([billing], trust, eventseal.RedisReplayStore(redis_url), clock=clock)
    with rejected("replayed"):
        other_instance.open(env)


def test_dynamodb_store(world, moto):
    import boto3
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName="replay", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    signing, billing, sealer, _, clock = world
    trust = TrustStore([signing.verifying_key()])
    store = eventseal.DynamoDbReplayStore("replay")
    assert store.table == "replay"
    env = sealer.seal("t", b"p", [billing.public_key()])
    assert Opener([billing], trust, store, clock=clock).process(env, lambda o: o.payload) == b"p"
    with rejected("replayed"):
        Opener([billing], trust, eventseal.DynamoDbReplayStore("replay"), clock=clock).open(env)
    assert ddb.scan(TableName="replay")["Count"] == 1
    missing = Opener([billing], trust, eventseal.DynamoDbReplayStore("no-such-table"), clock=clock)
    with rejected("store-unavailable"):
        missing.open(sealer.seal("t", b"p", [billing.public_key()]))


def test_kms_signer(moto):
    import boto3
    kms = boto3.client("kms")
    meta = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    key = meta["Arn"]
    signer = eventseal.KmsSigner(key, "orders")
    # GetPublicKey's KeyId: the ARN on AWS; moto gives the bare key id
    assert key.endswith(signer.key_arn) and signer.verifying_key().algorithm == "ES256"
    r = RecipientSecretKey.generate("billing")
    env = Sealer(signer).seal("t", b"p", [r.public_key()])
    o = Opener([r], TrustStore([signer.verifying_key()]), MemoryReplayStore())
    assert o.open(env).payload == b"p"
    kms.disable_key(KeyId=meta["KeyId"])
    with rejected("signer-failed") as e:
        Sealer(signer).seal("t", b"p", [r.public_key()])
    assert e.value.disposition == "retry"


# --- hostile input and threads ------------------------------------------------------------


def test_hostile_inputs_raise_typed_errors(world):
    _, billing, sealer, opener, _ = world
    env = sealer.seal("t", b"p", [billing.public_key()])
    import random
    rnd = random.Random(7)
    samples = [b"{" * 100_000, b"[" * 5000 + b"]" * 5000, b'{"a":' * 1000, b"\x00" * 4096,
               json.dumps({"header": "A" * 100_000, "recipients": []}).encode()]
    for _ in range(300):
        b = bytearray(env)
        for _ in range(rnd.randint(1, 8)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        samples.append(bytes(b))
    for _ in range(100):
        samples.append(env[: rnd.randrange(len(env))])
    for s in samples:
        with pytest.raises(Rejected) as e:
            opener.open(s)
        assert e.value.kind in eventseal.KINDS
        assert e.value.kind not in ("replayed", "in-progress")
    with pytest.raises(TypeError):
        opener.open(12345)
    with pytest.raises(TypeError):
        opener.open_eventbridge(["not", "an", "event"])
    with rejected("malformed"):
        opener.open_eventbridge({"detail": "no"})
    # the real envelope still opens after all that
    assert opener.open(env).payload == b"p"


def test_eight_threads_share_one_opener_and_sealer(world):
    signing, billing, sealer, opener, _ = world
    envs = [sealer.seal("t", str(i).encode(), [billing.public_key()]) for i in range(200)]
    results, errors = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker():
        barrier.wait()
        for env in envs:  # every thread races for every envelope
            try:
                p = opener.open(env).payload
                with lock:
                    results.append(p)
            except Rejected as e:
                with lock:
                    errors.append(e.kind)
        # sealing concurrently as well
        for _ in range(20):
            sealer.seal("t", b"x", [billing.public_key()])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=int) == [str(i).encode() for i in range(200)]
    assert len(errors) == 7 * 200 and set(errors) == {"replayed"}


def test_gil_is_released_during_open(world, tmp_path):
    """Python code runs on another thread while one thread waits inside the pipeline: here
    on a replay store (a unix socket this test serves) that has not answered yet. Were the
    GIL held, this thread could not accept the connection until the call had timed out."""
    import socket

    signing, billing, sealer, _, clock = world
    path = str(tmp_path / "silent.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)
    listener.settimeout(30)
    store = eventseal.RedisReplayStore(f"redis+unix://{path}", timeout_seconds=10)
    opener = Opener([billing], TrustStore([signing.verifying_key()]), store, clock=clock)
    env = sealer.seal("t", b"p", [billing.public_key()])
    outcome = []

    def consumer():
        try:
            opener.open(env)
        except Rejected as e:
            outcome.append(e.kind)

    t = threading.Thread(target=consumer)
    t.start()
    conn, _ = listener.accept()
    conn.settimeout(30)
    first = conn.recv(1024)  # the client's first command
    still_waiting = t.is_alive()
    conn.close()
    listener.close()
    t.join()
    assert first.startswith(b"*")  # RESP
    assert still_waiting
    assert outcome == ["store-unavailable"]


def test_stores_purge_on_their_own_clock(world, tmp_path):
    """A store purges as of the clock it was given, so an opener checking archived traffic
    on an injected clock cannot have its live records purged by the system clock."""
    signing, billing, sealer, _, clock = world
    trust = TrustStore([signing.verifying_key()])
    for store in (MemoryReplayStore(clock=clock), SqliteReplayStore(tmp_path / "r.db", clock=clock)):
        clock.now = T0
        opener = Opener([billing], trust, store, clock=clock)
        env = sealer.seal("t", b"p", [billing.public_key()])
        opener.open(env)
        assert store.purge_expired() == 0  # the system clock (years later) would purge it
        with rejected("replayed"):
            opener.open(env)
        clock.now = T0 + 10 * 86_400
        assert store.purge_expired() == 1
    with pytest.raises(InvalidInput):
        MemoryReplayStore(capacity=0)
    assert isinstance(eventseal.webhook.PROVIDERS, tuple)

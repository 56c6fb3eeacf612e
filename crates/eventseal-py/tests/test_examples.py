"""The Python examples: the whole flow against moto, and the Lambda consumer's batch
semantics (retry, drop, dead-letter, FIFO) on a memory store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import eventseal

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))
import lambda_consumer  # noqa: E402

ACCOUNT = "111111111111"
T0 = 1_800_000_000


def test_run_local_against_moto():
    import moto.server  # noqa: F401  (a missing moto fails the test, never skips it)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    out = subprocess.run([sys.executable, str(EXAMPLES / "run_local.py")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "handled orders: [1, 2]" in out.stdout
    assert "rejected (unknown-key)" in out.stderr
    assert "rejected (binding-mismatch)" in out.stderr
    assert out.stdout.strip().endswith("ok")


@pytest.fixture()
def setup():
    signing = eventseal.SigningKey.generate("orders")
    billing = eventseal.RecipientSecretKey.generate("billing")
    trust = eventseal.TrustStore.from_json(json.dumps({"version": 1, "sources": [{
        "source": "orders", "accounts": [ACCOUNT], "eventbridge_source": "com.acme.orders",
        "allow": ["order.*"], "keys": [{"jwk": json.loads(signing.verifying_key().to_jwk())}]}]}))
    sealer = eventseal.Sealer(signing, clock=lambda: T0)

    def opener():
        return eventseal.Opener([billing], trust, eventseal.MemoryReplayStore(),
                                clock=lambda: T0)

    def record(mid: str, payload: bytes, source="com.acme.orders", fifo=False) -> dict:
        env = sealer.seal("order.created", payload, [billing.public_key()])
        entry = eventseal.put_events_entry(env, source, "central")
        body = json.dumps({"version": "0", "id": mid, "detail-type": entry["DetailType"],
                           "source": entry["Source"], "account": ACCOUNT,
                           "time": "2027-01-15T08:00:00Z", "region": "us-east-1",
                           "resources": [], "detail": json.loads(entry["Detail"])})
        arn = "arn:aws:sqs:us-east-1:1:q" + (".fifo" if fifo else "")
        return {"messageId": mid, "body": body, "eventSourceARN": arn}

    return opener, record


def test_batch_dispositions(setup):
    opener, record = setup
    handled = []

    def handler(opened):
        if opened.payload == b"boom":
            raise RuntimeError("downstream")
        handled.append(opened.payload)

    c = lambda_consumer.Consumer(opener(), handler)
    batch = {"Records": [record("a", b"1"), record("b", b"boom"),
                         record("c", b"2", source="com.acme.other"), record("d", b"3")]}
    assert c.batch(batch) == {"batchItemFailures": [{"itemIdentifier": "b"}]}
    assert handled == [b"1", b"3"]
    # the redelivery: a and d acknowledged (replayed), b retried and still failing
    assert c.batch(batch) == {"batchItemFailures": [{"itemIdentifier": "b"}]}
    assert handled == [b"1", b"3"]
    # permanent rejections to the dead-letter queue when asked
    dl = lambda_consumer.Consumer(opener(), handler, dead_letter_permanent=True)
    got = dl.batch({"Records": [record("c", b"2", source="com.acme.other")]})
    assert got == {"batchItemFailures": [{"itemIdentifier": "c"}]}


def test_fifo_stops_at_first_failure(setup):
    opener, record = setup
    handled = []

    def handler(opened):
        if opened.payload == b"boom":
            raise RuntimeError("downstream")
        handled.append(opened.payload)

    c = lambda_consumer.Consumer(opener(), handler)
    batch = {"Records": [record("a", b"1", fifo=True), record("b", b"boom", fifo=True),
                         record("c", b"2", fifo=True)]}
    assert c.batch(batch) == {"batchItemFailures": [{"itemIdentifier": "b"},
                                                    {"itemIdentifier": "c"}]}
    assert handled == [b"1"]


def test_readme_python_round_trip(tmp_path):
    """The repository README's Python snippet runs as written."""
    import re

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme[readme.index("**Python.**"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "replay.db").exists()

"""Shared fixtures: real components started by the tests themselves.

* ``moto``: moto's standalone server (through the AWS package's tests/moto/serve.py, which
  makes KMS honour ``MessageType=DIGEST`` and serialises conditional writes as DynamoDB
  does), on a free loopback port, with ``AWS_ENDPOINT_URL`` and test credentials set for
  the duration of the session; needs ``moto[server]`` in this interpreter's environment.
* ``redis_url``: a real ``redis-server`` on a unix socket in a temporary directory.
* ``cli``: the Rust command-line tool (``EVENTSEAL_CLI``, else ``target/debug/eventseal``,
  built with ``cargo build -p eventseal-cli`` when missing).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
VECTORS = REPO / "tests" / "vectors"
ACCOUNT = "123456789012"
REGION = "us-east-1"

# moto's rule -> SQS delivery drops the event's `account`, which real EventBridge always sets
# and the binding checks: this InputTransformer rebuilds AWS's delivered shape (as in
# crates/eventseal-aws/tests/common/moto.rs).
SQS_TARGET_TRANSFORMER = {
    "InputPathsMap": {
        "version": "$.version",
        "id": "$.id",
        "detail-type": "$.detail-type",
        "source": "$.source",
        "account": "$.account",
        "time": "$.time",
        "region": "$.region",
        "resources": "$.resources",
        "detail": "$.detail",
    },
    "InputTemplate": '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", '
    '"source": "<source>", "account": "<account>", "time": <time>, "region": "<region>", '
    '"resources": <resources>, "detail": <detail>}',
}


def b64u_decode(s: str) -> bytes:
    """Unpadded base64url (the envelope's members) to bytes."""
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64u_encode(b: bytes) -> str:
    """Bytes to unpadded base64url."""
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def delivered_event(entry: dict, account: str) -> dict:
    """The event EventBridge delivers for a `put_events_entry` dict sent from `account`."""
    return {
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": entry["DetailType"], "source": entry["Source"], "account": account,
        "time": "2027-01-15T08:00:00Z", "region": "us-east-1", "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited at start with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start in {timeout} s")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def moto(tmp_path_factory):
    """The endpoint URL of a moto server; AWS_* variables point the SDKs (boto3 and the
    Rust SDK inside the binding) at it."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        pytest.fail('moto[server] is not installed in this environment: pip install "moto[server]==5.2.5"')
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    serve = REPO / "crates" / "eventseal-aws" / "tests" / "moto" / "serve.py"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(serve), str(port)], stdout=subprocess.DEVNULL, stderr=out
        )

    def up() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    wait_for(up, "moto", proc)
    endpoint = f"http://127.0.0.1:{port}"
    saved = {k: os.environ.get(k) for k in _AWS_ENV}
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }
    )
    try:
        yield endpoint
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        proc.terminate()
        proc.wait(timeout=10)


_AWS_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real redis-server on a unix socket: ``redis+unix://…``."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed: run `cargo xtask setup` (apt-get install redis-server)")
    d = tmp_path_factory.mktemp("redis")
    sock = d / "redis.sock"
    proc = subprocess.Popen(
        [exe, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no",
         "--dir", str(d)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(sock.exists, "redis-server", proc, timeout=20)
    try:
        yield f"redis+unix://{sock}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def cli() -> str:
    """Path of the Rust CLI binary."""
    path = os.environ.get("EVENTSEAL_CLI") or str(REPO / "target" / "debug" / "eventseal")
    if not Path(path).exists():
        subprocess.run(
            ["cargo", "build", "--quiet", "-p", "eventseal-cli"], cwd=REPO, check=True
        )
    return path

"""A Python producer: seals an event for its consumers and puts it on the central bus.

    python producer.py order.created '{"id": 42}'

Configuration (environment):

- ``EVENTSEAL_SIGNING_KEY_FILE``: the source's signing key (JWK), or ``EVENTSEAL_KMS_KEY``:
  a KMS key (id, ARN or alias; ECC_NIST_P256) whose private key never leaves KMS, with
  ``EVENTSEAL_SOURCE`` naming the source;
- ``EVENTSEAL_RECIPIENTS``: the consumers' public keys (JWK files, comma-separated);
- ``EVENTSEAL_EVENT_SOURCE``: the EventBridge ``source`` the events go under;
- ``EVENTSEAL_BUS``: the event bus (name or ARN; another account's bus by ARN).

AWS credentials, region and endpoint come from boto3's usual chain (``AWS_ENDPOINT_URL``
points it at a local server).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Dict, List, Sequence, Union

import eventseal


class PutEventsFailed(RuntimeError):
    """EventBridge refused the entry (``FailedEntryCount`` > 0)."""


def signer_from_env() -> Union[eventseal.SigningKey, "eventseal.KmsSigner"]:
    kms = os.environ.get("EVENTSEAL_KMS_KEY")
    if kms:
        return eventseal.KmsSigner(kms, os.environ["EVENTSEAL_SOURCE"])
    with open(os.environ["EVENTSEAL_SIGNING_KEY_FILE"]) as f:
        return eventseal.SigningKey.from_jwk(f.read())


def recipients_from_env() -> List[eventseal.RecipientPublicKey]:
    out = []
    for path in os.environ["EVENTSEAL_RECIPIENTS"].split(","):
        with open(path.strip()) as f:
            out.append(eventseal.RecipientPublicKey.from_jwk(f.read()))
    return out


def publish(
    events_client: Any,
    sealer: eventseal.Sealer,
    recipients: Sequence[eventseal.RecipientPublicKey],
    event_source: str,
    bus: str,
    event_type: str,
    payload: bytes,
) -> Dict[str, Any]:
    """Seals ``payload`` and puts it on ``bus``; returns the entry's result (``EventId``)."""
    envelope = sealer.seal(event_type, payload, list(recipients))
    entry = eventseal.put_events_entry(envelope, event_source, bus)
    response = events_client.put_events(Entries=[entry])
    result = response["Entries"][0]
    if response.get("FailedEntryCount", 0) or "ErrorCode" in result:
        raise PutEventsFailed(f"{result.get('ErrorCode')}: {result.get('ErrorMessage')}")
    return result


def main(argv: Sequence[str]) -> int:
    import boto3

    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    sealer = eventseal.Sealer(signer_from_env(), content_type="application/json")
    result = publish(
        boto3.client("events"),
        sealer,
        recipients_from_env(),
        os.environ["EVENTSEAL_EVENT_SOURCE"],
        os.environ["EVENTSEAL_BUS"],
        argv[1],
        argv[2].encode(),
    )
    print(result["EventId"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

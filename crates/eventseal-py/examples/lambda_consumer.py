"""A Python Lambda consumer: an SQS queue that is an EventBridge rule's target triggers this
function; each record's envelope is verified, opened and handled once, and the partial
batch response names the records to retry.

Deploy with ``ReportBatchItemFailures`` on the event source mapping, the ``eventseal``
wheel in the function's package or a layer, and this configuration (environment, as the
Rust Lambda example reads it):

- ``EVENTSEAL_KEY_FILE``: the consumer's recipient key (JWK; from Secrets Manager or SSM in
  production, read once at cold start);
- ``EVENTSEAL_TRUST_FILE``: the trust file (deployed with the function);
- ``EVENTSEAL_REPLAY_TABLE``: the DynamoDB replay table (docs/AWS.md has its definition);
- ``EVENTSEAL_DEAD_LETTER_PERMANENT=1``: report permanent rejections as failures, so the
  queue's redrive policy moves them to its dead-letter queue (default: drop and log).

What happens to a record, by the error's ``disposition``:

- opened and handled: success (its envelope id is completed in the replay table);
- ``acknowledge`` (``replayed``: handled before): success, nothing runs again;
- ``retry`` (``in-progress``, ``store-unavailable``, ``not-yet-valid``, ...) or the business
  handler raised: a batch item failure, so SQS redelivers it after its visibility timeout;
- ``reject`` (``bad-signature``, ``binding-mismatch``, ``expired``, ...): it can never open;
  dropped with a log line, or a failure with ``EVENTSEAL_DEAD_LETTER_PERMANENT=1``.

On a FIFO queue a failure stops the batch: the records after it are reported too, so they
are not processed out of order.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Callable, Dict, List, Optional

import eventseal

log = logging.getLogger("eventseal.consumer")
log.setLevel(logging.INFO)


def handle_order(opened: eventseal.Opened) -> None:
    """The business logic: here, log the order. Raise to have the record retried."""
    order = json.loads(opened.payload)
    log.info(
        "order %s from %s (%s, envelope %s)",
        order, opened.source, opened.event_type, opened.envelope_id,
    )


class Consumer:
    """One opener for the function's lifetime (built at cold start, shared by invocations)."""

    def __init__(
        self,
        opener: eventseal.Opener,
        handler: Callable[[eventseal.Opened], Any] = handle_order,
        dead_letter_permanent: bool = False,
    ) -> None:
        self.opener = opener
        self.handler = handler
        self.dead_letter_permanent = dead_letter_permanent

    @classmethod
    def from_env(cls) -> "Consumer":
        with open(os.environ["EVENTSEAL_KEY_FILE"]) as f:
            key = eventseal.RecipientSecretKey.from_jwk(f.read())
        trust = eventseal.TrustStore.from_file(os.environ["EVENTSEAL_TRUST_FILE"])
        store = eventseal.DynamoDbReplayStore(os.environ["EVENTSEAL_REPLAY_TABLE"])
        return cls(
            eventseal.Opener([key], trust, store),
            dead_letter_permanent=os.environ.get("EVENTSEAL_DEAD_LETTER_PERMANENT") == "1",
        )

    def record(self, record: Dict[str, Any]) -> Optional[str]:
        """Processes one SQS record; returns why it must be retried, or None."""
        mid = record.get("messageId", "?")
        try:
            self.opener.process_eventbridge(record["body"], self.handler)
            return None
        except eventseal.Rejected as e:
            if e.disposition == "acknowledge":
                log.info("record %s: %s (already processed): acknowledged", mid, e.kind)
                return None
            if e.disposition == "reject" and not self.dead_letter_permanent:
                log.warning("record %s rejected (%s): %s; dropped", mid, e.kind, e)
                return None
            log.warning("record %s: %s (%s): left for retry", mid, e.kind, e)
            return e.kind
        except Exception as e:  # noqa: BLE001 - the business handler failed: retry it
            log.warning("record %s: handler failed: %r: left for retry", mid, e)
            return "handler-failed"

    def batch(self, event: Dict[str, Any]) -> Dict[str, List[Dict[str, str]]]:
        """The partial batch response for an SQS event."""
        failures: List[Dict[str, str]] = []
        records = event.get("Records", [])
        for i, record in enumerate(records):
            if self.record(record) is not None:
                failures.append({"itemIdentifier": record["messageId"]})
                if str(record.get("eventSourceARN", "")).endswith(".fifo"):
                    failures.extend({"itemIdentifier": r["messageId"]} for r in records[i + 1:])
                    break
        return {"batchItemFailures": failures}


_consumer: Optional[Consumer] = None


def lambda_handler(event: Dict[str, Any], context: Any) -> Dict[str, List[Dict[str, str]]]:
    """The function's entry point (``lambda_consumer.lambda_handler``)."""
    global _consumer
    if _consumer is None:
        _consumer = Consumer.from_env()
    return _consumer.batch(event)

"""The whole flow on a local AWS-compatible server (moto), from Python:

producer (seal -> put_events) -> EventBridge bus -> rule -> SQS queue -> the Lambda consumer
(lambda_consumer.lambda_handler, given the SQS batch event as Lambda would) -> DynamoDB
replay table.

    pip install 'moto[server]' boto3        # once, next to the eventseal package
    python run_local.py                     # starts moto itself, unless AWS_ENDPOINT_URL is set

It sends two genuine orders, one forged by a key the consumer does not trust, and one
genuine envelope re-published under another producer's EventBridge source; the consumer
handles the two genuine ones, drops the two others as permanent rejections, and
acknowledges the whole batch redelivered without running the handler again.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

import eventseal

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lambda_consumer  # noqa: E402
import producer  # noqa: E402

ACCOUNT = "123456789012"  # moto's account
# moto's rule -> SQS delivery leaves out the event's `account`, which AWS always delivers and
# the consumer checks against the trust file: this InputTransformer restores AWS's shape.
TRANSFORMER = {
    "InputPathsMap": {k: f"$.{k}" for k in (
        "version", "id", "detail-type", "source", "account", "time", "region", "resources",
        "detail")},
    "InputTemplate": '{"version": "0", "id": "<id>", "detail-type": "<detail-type>", '
    '"source": "<source>", "account": "<account>", "time": <time>, "region": "<region>", '
    '"resources": <resources>, "detail": <detail>}',
}


def start_moto() -> subprocess.Popen:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("moto did not start (pip install 'moto[server]')")
            time.sleep(0.1)
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{port}"
    return proc


def main() -> int:
    proc = None
    if not os.environ.get("AWS_ENDPOINT_URL"):
        proc = start_moto()
    for k, v in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                 ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_REGION", "us-east-1")):
        os.environ.setdefault(k, v)
    try:
        return run(Path(tempfile.mkdtemp(prefix="eventseal-py-")))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()


def run(tmp: Path) -> int:
    events, sqs, ddb = boto3.client("events"), boto3.client("sqs"), boto3.client("dynamodb")

    # The accounts' keys: the producer's signing key, the consumer's recipient key.
    orders = eventseal.SigningKey.generate("orders")
    billing = eventseal.RecipientSecretKey.generate("billing")
    (tmp / "billing.jwk").write_text(billing.to_jwk())
    (tmp / "trust.json").write_text(json.dumps({"version": 1, "sources": [{
        "source": "orders", "accounts": [ACCOUNT], "eventbridge_source": "com.acme.orders",
        "allow": ["order.*"], "keys": [{"jwk": json.loads(orders.verifying_key().to_jwk())}],
    }]}))

    # The central bus, the consumer's queue and the rule between them; the replay table.
    bus = "central"
    events.create_event_bus(Name=bus)
    queue_url = sqs.create_queue(QueueName="billing-events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="to-billing", EventBusName=bus,
                    EventPattern=json.dumps({"source": [{"prefix": "com.acme."}]}))
    events.put_targets(Rule="to-billing", EventBusName=bus, Targets=[
        {"Id": "billing", "Arn": queue_arn, "InputTransformer": TRANSFORMER}])
    ddb.create_table(
        TableName="billing-replay", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])

    # Producer: two genuine orders.
    sealer = eventseal.Sealer(orders, content_type="application/json")
    for order in ({"id": 1, "total": 10}, {"id": 2, "total": 20}):
        producer.publish(events, sealer, [billing.public_key()], "com.acme.orders", bus,
                         "order.created", json.dumps(order).encode())
    # An attacker with a key of its own, claiming to be `orders`.
    forger = eventseal.Sealer(eventseal.SigningKey.generate("orders"))
    producer.publish(events, forger, [billing.public_key()], "com.acme.orders", bus,
                     "order.created", b'{"id": 3, "total": 0}')
    # A genuine envelope re-published under another EventBridge source.
    replayed = sealer.seal("order.created", b'{"id": 4}', [billing.public_key()])
    events.put_events(Entries=[eventseal.put_events_entry(replayed, "com.acme.other", bus)])

    # What SQS holds, as the Lambda event source mapping hands it to the function.
    messages = []
    while len(messages) < 4:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                  WaitTimeSeconds=1).get("Messages", [])
        if not got:
            break
        messages.extend(got)
    batch = {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": {}, "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
        "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1",
    } for m in messages]}

    os.environ.update({
        "EVENTSEAL_KEY_FILE": str(tmp / "billing.jwk"),
        "EVENTSEAL_TRUST_FILE": str(tmp / "trust.json"),
        "EVENTSEAL_REPLAY_TABLE": "billing-replay",
    })
    handled = []
    lambda_consumer._consumer = lambda_consumer.Consumer.from_env()
    lambda_consumer._consumer.handler = lambda o: handled.append(json.loads(o.payload)["id"])
    first = lambda_consumer.lambda_handler(batch, None)
    again = lambda_consumer.lambda_handler(batch, None)  # SQS redelivers the whole batch

    print(f"{len(messages)} records delivered through EventBridge and SQS")
    print(f"handled orders: {sorted(handled)}")
    print(f"first delivery: batchItemFailures={first['batchItemFailures']}")
    print(f"redelivery:     batchItemFailures={again['batchItemFailures']}")
    ok = (len(messages) == 4 and sorted(handled) == [1, 2]
          and first == again == {"batchItemFailures": []})
    print("ok" if ok else "UNEXPECTED")
    return 0 if ok else 1


if __name__ == "__main__":
    import logging
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    sys.exit(main())

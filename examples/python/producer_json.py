"""Prediction logs to Kafka as plain JSON objects (UTF-8), one per message.

driftwatch reads JSON and Confluent Avro from the same topic: no registry is needed for JSON. The field
names are those of schemas/prediction-log.avsc; `sent_at` may be epoch milliseconds or an ISO-8601 text.

    python producer_json.py --count 1000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time

from confluent_kafka import KafkaException, Producer

from predictions import fake_prediction


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--topic", default="predictions")
    parser.add_argument("--predictor", default="eta")
    parser.add_argument("--model", default="eta-py-v1")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0, help="events per second (0: as fast as Kafka takes them)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    producer = Producer({"bootstrap.servers": args.bootstrap_servers, "enable.idempotence": True, "linger.ms": 20})
    failed: list[str] = []

    def delivered(error, message) -> None:
        if error is not None:
            failed.append(f"{message.key().decode()}: {error}")

    rng = random.Random(args.seed)
    started = time.monotonic()
    for i in range(args.count):
        event = fake_prediction(rng, args.predictor, args.model)
        # allow_nan=False: NaN and Infinity are not JSON, and driftwatch dead-letters events that carry them.
        value = json.dumps(event, allow_nan=False, separators=(",", ":")).encode("utf-8")
        while True:
            try:
                producer.produce(args.topic, key=event["prediction_id"], value=value, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
        if args.rate > 0:
            time.sleep(max(0.0, started + (i + 1) / args.rate - time.monotonic()))
    remaining = producer.flush(30)
    if remaining or failed:
        print(f"{remaining} messages not delivered, {len(failed)} failed: {failed[:3]}", file=sys.stderr)
        return 1
    print(f"sent {args.count} JSON prediction logs to {args.topic} in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KafkaException as error:
        print(f"producer_json: {error}", file=sys.stderr)
        sys.exit(1)

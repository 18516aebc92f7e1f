"""Prediction logs to Kafka in the Confluent wire format, as driftwatch reads them.

Each message value is: magic byte 0, the 4-byte id of the writer schema in a Confluent-compatible
schema registry, then the Avro body. The schema is driftwatch's schemas/prediction-log.avsc, under the
subject `predictions-value` whatever the topic (driftwatch fetches the writer schema by its id, so any
subject works; one subject keeps one schema history for all your prediction topics).

    python producer_avro.py --count 1000
    python producer_avro.py --bootstrap-servers kafka-1:9092 --registry-url http://registry:8081 --topic predictions
"""

from __future__ import annotations

import argparse
import pathlib
import random
import sys
import time

from confluent_kafka import KafkaException, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from predictions import fake_prediction

SCHEMA_FILE = pathlib.Path(__file__).resolve().parents[2] / "schemas" / "prediction-log.avsc"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap-servers", default="127.0.0.1:9092")
    parser.add_argument("--registry-url", default="http://127.0.0.1:8081/apis/ccompat/v7", help="Confluent-compatible API base URL")
    parser.add_argument("--topic", default="predictions")
    parser.add_argument("--subject", default="predictions-value", help="registry subject of the schema")
    parser.add_argument("--schema", default=str(SCHEMA_FILE), help="the Avro schema (driftwatch's prediction-log.avsc)")
    parser.add_argument("--no-register", action="store_true", help="use the subject's latest schema instead of registering this one")
    parser.add_argument("--predictor", default="eta")
    parser.add_argument("--model", default="eta-py-v1")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0, help="events per second (0: as fast as Kafka takes them)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    registry = SchemaRegistryClient({"url": args.registry_url})
    serialize = AvroSerializer(
        registry,
        pathlib.Path(args.schema).read_text(encoding="utf-8"),
        conf={
            # One subject for the prediction-log schema, whatever the topic.
            "subject.name.strategy": lambda _ctx, _record_name: args.subject,
            "auto.register.schemas": not args.no_register,
            "use.latest.version": args.no_register,
        },
    )
    # acks=all and idempotence: a broker failover neither loses nor duplicates a prediction log.
    producer = Producer({"bootstrap.servers": args.bootstrap_servers, "enable.idempotence": True, "linger.ms": 20})
    failed: list[str] = []

    def delivered(error, message) -> None:
        if error is not None:
            failed.append(f"{message.key().decode()}: {error}")

    rng = random.Random(args.seed)
    context = SerializationContext(args.topic, MessageField.VALUE)
    started = time.monotonic()
    for i in range(args.count):
        event = fake_prediction(rng, args.predictor, args.model)
        while True:
            try:
                producer.produce(args.topic, key=event["prediction_id"], value=serialize(event, context), on_delivery=delivered)
                break
            except BufferError:  # the local queue is full: let librdkafka send some first
                producer.poll(0.1)
        producer.poll(0)
        if args.rate > 0:
            time.sleep(max(0.0, started + (i + 1) / args.rate - time.monotonic()))
    remaining = producer.flush(30)
    if remaining or failed:
        print(f"{remaining} messages not delivered, {len(failed)} failed: {failed[:3]}", file=sys.stderr)
        return 1
    print(f"sent {args.count} Avro prediction logs to {args.topic} (subject {args.subject}) in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KafkaException as error:
        print(f"producer_avro: {error}", file=sys.stderr)
        sys.exit(1)

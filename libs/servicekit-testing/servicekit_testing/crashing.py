"""The relay and the consumer of a service, dying (exit 70) at the worst moment; for the crash tests only.

    python -m servicekit_testing.crashing relay --service room-service --topics room_events --after 2
        exits right after Kafka acknowledged the 2nd batch, before its rows are marked sent
    python -m servicekit_testing.crashing consumer --service reservation-service \\
            --handlers reservation_service.replica.handlers:HANDLERS --after 3
        exits right after the database commit of the 3rd event, before its offset is committed

Both are the production loops (servicekit.relay.Relay, servicekit.consumer.EventConsumer) with one step
overridden, run through servicekit.boot like any process of the service, with the same environment.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg2.extensions
from kafka import KafkaConsumer, TopicPartition
from kafka.producer.future import FutureRecordMetadata

from servicekit.boot import Command, ServiceProcesses, main
from servicekit.consumer import ConsumerConfig, EventConsumer, Handler
from servicekit.relay import Relay, RelayConfig
from servicekit.settings import Env, KafkaSettings, ServiceSettings

log = logging.getLogger(__name__)

CRASH_EXIT_CODE = 70


def crash(what: str) -> None:
    log.warning(f"crash injection: exiting {what}")
    logging.shutdown()
    os._exit(CRASH_EXIT_CODE)


class CrashingRelay(Relay):
    def __init__(self, after: int, *args: Any) -> None:
        super().__init__(*args)
        self.after = after
        self.batches = 0

    def _mark_sent(self, conn: psycopg2.extensions.connection, futures: list[tuple[int, FutureRecordMetadata]]) -> int:
        self.batches += 1
        if self.batches == self.after:
            crash("after publishing, before marking the rows sent")
        return super()._mark_sent(conn, futures)


class CrashingConsumer(EventConsumer):
    def __init__(self, after: int, *args: Any) -> None:
        super().__init__(*args)
        self.after = after
        self.handled = 0

    def _commit(self, consumer: KafkaConsumer, partition: TopicPartition, offset: int) -> None:
        self.handled += 1
        if self.handled == self.after:
            crash("between the database commit and the offset commit")
        super()._commit(consumer, partition, offset)


def _handlers(spec: str) -> Mapping[str, Mapping[str, Handler]]:
    module, _, name = spec.partition(":")
    handlers: Mapping[str, Mapping[str, Handler]] = getattr(importlib.import_module(module), name)
    return handlers


def _command(args: argparse.Namespace) -> Command:
    def relay(settings: ServiceSettings, env: Env) -> None:
        config = RelayConfig.from_env(env)
        topics = args.topics.split(",")
        CrashingRelay(args.after, settings, KafkaSettings.from_env(env), topics, config).serve(
            env.integer("HEALTH_PORT", 9000)
        )

    def consumer(settings: ServiceSettings, env: Env) -> None:
        config = ConsumerConfig.from_env(env)
        handlers = _handlers(args.handlers)
        CrashingConsumer(args.after, settings, KafkaSettings.from_env(env), handlers, config).serve(
            env.integer("HEALTH_PORT", 9001)
        )

    return relay if args.role == "relay" else consumer


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m servicekit_testing.crashing")
    parser.add_argument("role", choices=["relay", "consumer"])
    parser.add_argument("--service", required=True, help="the service's name, e.g. room-service")
    parser.add_argument("--after", type=int, required=True, help="crash at the Nth batch (relay) or event (consumer)")
    parser.add_argument("--topics", default="", help="relay: the topics it publishes, comma-separated")
    parser.add_argument("--handlers", default="", help="consumer: module:NAME of its handlers by topic")
    args = parser.parse_args(argv)
    wanted = args.topics if args.role == "relay" else args.handlers
    if args.after < 1 or not wanted:
        parser.error("--after N >= 1, and --topics for a relay or --handlers for a consumer")
    return args


def run(argv: list[str]) -> int:
    args = parse(argv)
    command = f"crashing-{args.role}"
    processes = ServiceProcesses(
        name=args.service,
        package="servicekit_testing.crashing",
        migrations_dir=Path(),
        published_topics=(),
        extra_commands={command: lambda: _command(args)},
    )
    return main(processes, [command])


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))

"""Kombu's Redis transport, with one Redis client object per channel for publishing.

Kombu 5 builds a new `redis.Redis` for every message it publishes (`Channel._create_client`): the
object's construction, mostly its table of response callbacks, is about 180 µs of CPU, two
thirds of Celery's cost to publish a task and the largest single cost of a webhook request after
the database (benchmarks/webhook_ingest.py). The client only holds the channel's connection pool,
which does the real work and is thread-safe; kombu already keeps one client per channel for
consuming (`Channel.client`). Selected by CELERY_BROKER_TRANSPORT (config/settings.py) for
redis:// brokers.
"""

from __future__ import annotations

from kombu.transport import redis


class Channel(redis.Channel):
    _publish_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool
        client = self._publish_client
        # A new pool (the channel reconnected) gets a new client.
        if client is None or client.connection_pool is not pool:
            client = self._publish_client = super()._create_client()
        return client


class Transport(redis.Transport):
    Channel = Channel

"""The peer's side of `tests/benchmarks/peer.py`: a Dramatiq broker on the Redis server named
by PEER_REDIS_URL, and a no-op actor that only counts itself done (one INCR), so the
benchmark sees when every message has run. Dramatiq's worker command imports this module,
so the broker is set when it is imported."""

import os

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

URL = os.environ["PEER_REDIS_URL"]
DONE = "peer:done"

dramatiq.set_broker(RedisBroker(url=URL))
_counter = redis.Redis.from_url(URL)


@dramatiq.actor(max_retries=0)
def noop() -> None:
    _counter.incr(DONE)

"""Token buckets per account x region x Lambda quota bucket, shared by every worker.

With a Redis broker the bucket lives in Redis (one Lua script call per few tokens), so adding
workers or machines never raises the request rate above the quota. Without Redis (embedded
filesystem broker: one machine, usually one worker) an in-process bucket is used.
"""

from __future__ import annotations

import collections
import threading
import time
from functools import lru_cache

from django.conf import settings

from collection import conf

# Reserve the next ``n`` tokens: refill by elapsed time, take them even if that leaves the bucket
# in debt. Callers sleep once until their slot and go: tokens are handed out at exactly
# ``rate`` with no polling and no idle gaps. TIME comes from Redis so the clocks of the worker
# machines do not matter.
_LUA = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + (now - ts) * rate / 1000000)
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - n), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], 60000)
return math.floor(tokens * 1000000)
"""
# The script reserves ``n`` tokens and answers the bucket's level before them (in millionths
# of a token): the k-th reserved token (k = 1..n) is usable at once if the level was at least
# k, else (k - level) / rate seconds later.


def _capacity(rate: float) -> float:
    # A small burst: the AWS bucket may already be partly drained by the previous second.
    return max(1.0, rate / 10)


class LocalTokenBucket:
    """The same reservation scheme in process (one machine, embedded broker)."""

    def __init__(self, rate: float):
        self.rate = rate
        self.capacity = _capacity(rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def acquire(self) -> float:
        """Reserve the next token; sleep until its slot; return the seconds waited."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate) - 1
            self.stamp = now
            delay = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if delay:
            time.sleep(delay)
        return delay


class RedisTokenBucket:
    """The bucket in Redis, shared by every worker. Tokens are reserved ``RESERVE`` at a time
    (one round trip, about 50 us of CPU, per ``RESERVE`` requests instead of per request) and
    handed to this process's threads in their slot order. A reserved slot left unused for
    ``STALE`` seconds is dropped rather than spent late in a burst."""

    RESERVE = 4
    STALE = 1.0

    def __init__(self, client, key: str, rate: float):
        self.key = key
        self.rate = rate
        self.capacity = _capacity(rate)
        self.script = client.register_script(_LUA)
        self.slots: collections.deque[float] = collections.deque()
        self.lock = threading.Lock()

    def acquire(self) -> float:
        with self.lock:
            now = time.monotonic()
            while self.slots and self.slots[0] < now - self.STALE:
                self.slots.popleft()
            if not self.slots:
                level = int(
                    self.script(keys=[self.key], args=[self.rate, self.capacity, self.RESERVE])
                )
                now = time.monotonic()
                self.slots.extend(
                    now + max(0.0, (k - level / 1_000_000) / self.rate)
                    for k in range(1, self.RESERVE + 1)
                )
            slot = self.slots.popleft()
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)
            return delay
        return 0.0


@lru_cache(maxsize=1)
def _redis_client():
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "redis+socket://")):
        return None
    import redis

    return redis.Redis.from_url(url)


_local_buckets: dict[str, LocalTokenBucket | RedisTokenBucket] = {}
_local_lock = threading.Lock()


def for_operation(account_id: str, region: str, operation: str):
    """The limiter a Lambda operation's requests take tokens from (None: not rate limited)."""
    name = lambda_bucket_name(operation)
    return None if name is None else bucket_for(account_id, region, name)


def bucket_for(account_id: str, region: str, bucket: str):
    """The shared limiter of one quota bucket (``shared``, ``get_function``, ``get_policy``)."""
    rate = conf.lambda_rates()[bucket]
    key = f"prr:ratelimit:lambda:{account_id}:{region}:{bucket}"
    client = _redis_client()
    with _local_lock:
        found = _local_buckets.get(key)
        if found is None or found.rate != rate:
            if client is not None:
                found = RedisTokenBucket(client, key, rate)
            else:
                found = LocalTokenBucket(rate)
            _local_buckets[key] = found
        return found


def lambda_bucket_name(operation: str) -> str | None:
    """Which Lambda control-plane quota an operation draws from (None: not rate limited)."""
    if operation in {"Invoke", "InvokeAsync", "InvokeWithResponseStream"}:
        return None
    if operation == "GetFunction":
        return "get_function"
    if operation == "GetPolicy":
        return "get_policy"
    return "shared"

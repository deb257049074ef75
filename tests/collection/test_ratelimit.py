"""The shared limiter hands out tokens at the configured rate, with no idle gaps."""

import threading
import time
import uuid

import pytest
from django.conf import settings

from collection.aws import ratelimit


def _drain(bucket, threads: int, per_thread: int) -> float:
    def work():
        for _ in range(per_thread):
            bucket.acquire()

    started = time.monotonic()
    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.monotonic() - started


def test_local_bucket_paces_concurrent_callers_at_the_rate():
    bucket = ratelimit.LocalTokenBucket(500)
    elapsed = _drain(bucket, threads=8, per_thread=25)
    # 200 tokens, 50 of them the initial burst: 150 at 500/s take 0.3 s.
    assert 0.27 <= elapsed <= 0.45


def test_redis_bucket_paces_concurrent_callers_at_the_rate():
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.skip("needs the Redis broker (scripts/test.sh)")
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    bucket = ratelimit.RedisTokenBucket(client, f"prr:test:{uuid.uuid4()}", 500)
    elapsed = _drain(bucket, threads=8, per_thread=25)
    assert 0.27 <= elapsed <= 0.5


class _FakeRedis:
    """Stands in for Redis: the script answers a fixed bucket level and counts its calls."""

    def __init__(self, level: float):
        self.level = level
        self.calls = []

    def register_script(self, _source):
        def script(keys, args):
            self.calls.append(args)
            return int(self.level * 1_000_000)

        return script


def test_redis_bucket_reserves_several_tokens_per_round_trip():
    fake = _FakeRedis(level=100)  # a full bucket: every reserved slot is usable at once
    bucket = ratelimit.RedisTokenBucket(fake, "k", 1000)
    for _ in range(10):
        assert bucket.acquire() == 0.0
    reserve = ratelimit.RedisTokenBucket.RESERVE
    assert len(fake.calls) == -(-10 // reserve)
    assert all(args[2] == reserve for args in fake.calls)


def test_reserved_slots_follow_the_rate_from_the_bucket_level():
    fake = _FakeRedis(level=-1)  # in debt by one token: the first slot is 2 / rate away
    bucket = ratelimit.RedisTokenBucket(fake, "k", 100)
    started = time.monotonic()
    bucket.acquire()
    bucket.acquire()
    # Slots at 2/100 s and 3/100 s from the reservation.
    assert 0.028 <= time.monotonic() - started <= 0.08


def test_a_slot_reserved_long_ago_is_dropped_not_spent_late():
    fake = _FakeRedis(level=100)
    bucket = ratelimit.RedisTokenBucket(fake, "k", 1000)
    bucket.acquire()  # reserves RESERVE slots, spends one
    bucket.slots = type(bucket.slots)(s - 5 for s in bucket.slots)  # as if left unused for 5 s
    bucket.acquire()
    assert len(fake.calls) == 2  # the stale ones were dropped and a new reservation made

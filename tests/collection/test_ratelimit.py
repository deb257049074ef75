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

"""How many audited actions per second can concurrent writers append to one chain?

Each of W writer processes (default 8) repeats, for D seconds, one business-sized transaction:
``transaction.atomic()`` + ``audit_record(...)`` with a small before/after. All appends
serialize on the chain head row lock, so this measures the ceiling the audit trail puts on
audited writes. Afterwards the chain must verify with no gap and no fork.

    DATABASE_URL=postgres://... .venv/bin/python bench/audit/insert_rate.py --writers 8 --seconds 20
"""

import argparse
import multiprocessing as mp
import statistics
import time

from _setup import django_setup


def writer(index: int, seconds: float, queue) -> None:
    django_setup(migrate=False)
    from django.db import transaction

    from audit.context import Actor
    from audit.services import audit_record

    actor = Actor.system(f"bench-writer-{index}")
    latencies = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="bench.update",
                before={"status": "draft", "n": len(latencies)},
                after={"status": "submitted", "n": len(latencies) + 1},
                service_slug="bench-service",
            )
        latencies.append(time.perf_counter() - started)
    queue.put(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    django_setup()
    from django.db import connections

    from audit.models import AuditChainHead, AuditEvent
    from audit.services import audit_verify

    start_seq = AuditChainHead.objects.get(id=1).seq
    connections.close_all()  # children open their own connections
    queue = mp.get_context("spawn").Queue()
    procs = [
        mp.get_context("spawn").Process(target=writer, args=(i, args.seconds, queue))
        for i in range(args.writers)
    ]
    for proc in procs:
        proc.start()
    latencies = [lat for _ in procs for lat in queue.get()]
    for proc in procs:
        proc.join()
    total = len(latencies)
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"{args.writers} writers x {args.seconds:.0f}s: {total:,} audited transactions = "
        f"{total / args.seconds:,.0f} events/s; latency p50 {quantiles[49] * 1000:.1f} ms, "
        f"p95 {quantiles[94] * 1000:.1f} ms, p99 {quantiles[98] * 1000:.1f} ms"
    )
    new = AuditEvent.objects.filter(seq__gt=start_seq)
    assert new.count() == total, "every transaction left exactly one event"
    forks = new.values("prev_hash").distinct().count()
    result = audit_verify(start_seq=start_seq + 1)
    print(f"chain: {total} new events, {forks} distinct parents, verify: {result}")
    assert result.ok and forks == total


if __name__ == "__main__":
    main()

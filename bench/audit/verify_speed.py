"""How fast does the verifier recompute the audit chain? Target: >= 100,000 events/s.

Seeds N events (continuing the existing chain, or from scratch with --reset) by bulk insert
with precomputed hashes (COPY on PostgreSQL), then times ``audit_verify()`` over the whole
chain and from the latest checkpoint.

    DATABASE_URL=postgres://... .venv/bin/python bench/audit/verify_speed.py \
        --events 1000000 --reset
"""

import argparse
import datetime as dt
import json
import random
import time

from _setup import django_setup, reset_audit_table

COLUMNS = (
    "seq",
    "occurred_at",
    "actor_type",
    "actor_label",
    "actor_user_id",
    "action",
    "outcome",
    "object_type",
    "object_id",
    "object_repr",
    "service_slug",
    "message",
    "before",
    "after",
    "details",
    "request_id",
    "source_ip",
    "user_agent",
    "prev_hash",
)
ACTIONS = ["review.submit", "review.approve", "evidence.attach", "waiver.grant", "auth.login"]


def fake_events(start_seq: int, prev_hash: str, count: int):
    """Rows in COLUMNS order plus their hash: varied, realistic-sized content."""
    from audit.chain import canonical_time, hash_values

    rng = random.Random(start_seq)
    when = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=count)
    for seq in range(start_seq, start_seq + count):
        when += dt.timedelta(seconds=1, microseconds=rng.randrange(1000))
        changed = seq % 3 == 0
        values = [
            seq,
            when,
            "user",
            f"user{seq % 97}",
            None,
            ACTIONS[seq % len(ACTIONS)],
            "success",
            "reviews.review",
            str(seq % 5000),
            f"Review #{seq % 5000} of payments-api",
            f"service-{seq % 40}",
            "",
            {"status": "draft", "items": seq % 60} if changed else None,
            {"status": "submitted", "items": seq % 60, "ratio": 0.25} if changed else None,
            {"ip_note": "office"} if seq % 7 == 0 else {},
            f"{seq:032x}",
            f"10.0.{seq % 256}.{seq % 200 + 1}",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
            prev_hash,
        ]
        hashed = list(values)
        hashed[1] = canonical_time(when)
        prev_hash = hash_values(hashed)
        yield values, prev_hash


def seed(count: int) -> None:
    from django.db import connection, transaction

    from audit.models import AuditChainHead, AuditEvent

    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(id=1)
        rows = fake_events(head.seq + 1, head.hash, count)
        last = (head.seq, head.hash)
        table = AuditEvent._meta.db_table
        if connection.vendor == "postgresql":
            raw = connection.cursor().cursor
            columns = ", ".join((*COLUMNS, "hash"))
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for values, hash_ in rows:
                    for i in (12, 13, 14):
                        values[i] = None if values[i] is None else json.dumps(values[i])
                    copy.write_row((*values, hash_))
                    last = (values[0], hash_)
        else:
            batch = []
            for values, hash_ in rows:
                batch.append(AuditEvent(**dict(zip(COLUMNS, values, strict=True)), hash=hash_))
                last = (values[0], hash_)
                if len(batch) == 5000:
                    AuditEvent.objects.bulk_create(batch)
                    batch = []
            AuditEvent.objects.bulk_create(batch)
        AuditChainHead.objects.filter(id=1).update(seq=last[0], hash=last[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to add")
    parser.add_argument("--reset", action="store_true", help="empty the audit table first")
    parser.add_argument("--runs", type=int, default=2, help="timed verifications")
    args = parser.parse_args()
    django_setup()
    from audit.services import audit_checkpoint_write, audit_verify

    if args.reset:
        reset_audit_table()
    started = time.perf_counter()
    seed(args.events)
    print(f"seeded {args.events:,} events in {time.perf_counter() - started:.1f}s")
    best = None
    for run in range(args.runs):
        result = audit_verify()
        assert result.ok, result
        rate = result.checked / result.seconds
        best = max(best or 0, rate)
        print(
            f"run {run + 1}: verified {result.checked:,} events in {result.seconds:.2f}s "
            f"= {rate:,.0f} events/s"
        )
    checkpoint = audit_checkpoint_write()
    result = audit_verify(start_seq=checkpoint.seq, checkpoint=checkpoint)
    print(f"from checkpoint #{checkpoint.seq}: {result.checked} events in {result.seconds:.4f}s")
    target = 100_000
    print(f"best {best:,.0f} events/s (target {target:,}): {'PASS' if best >= target else 'FAIL'}")


if __name__ == "__main__":
    main()

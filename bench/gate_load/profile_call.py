"""One gate call under the microscope: its SQL statements, its time, and a cProfile.

    DATABASE_URL=postgresql://... .venv/bin/python bench/gate_load/profile_call.py \\
        [--services 2000 --evidence 1000000] [--calls 200] [--top 30] [--sql]

Uses the portfolio bench/gate_load/run.py uses (seeded by bench/seed_portfolio.py if needed)
and a gate:check service token bound to one service, then calls ``POST /api/v1/gate`` in
process through Django's test client (the full middleware, authentication, evaluation,
signing, storing and auditing; no HTTP server). Prints the statements of one call
(``connection.queries``), the time per call (p50/p95 over ``--calls``) and the functions with
the most cumulative time under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "bench" / "gate_load"))
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--evidence", type=int, default=1_000_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sql", action="store_true", help="print every statement in full")
    args = parser.parse_args()
    os.environ.setdefault("GATE_THROTTLE_RATE", "100000000/minute")
    os.environ.setdefault("API_THROTTLE_RATE", "100000000/minute")
    var = tempfile.mkdtemp(prefix="prr-gate-profile-")
    os.environ.setdefault("PORTAL_VAR_DIR", var)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    # DEBUG off as under gunicorn (DEBUG=true would log every statement of every call).
    os.environ["DEBUG"] = "false"
    import seed_portfolio
    from run import ensure_signing_key, make_token

    ensure_signing_key(var)

    seed_portfolio.setup_django()
    seed_portfolio.seed(args.services, args.evidence)
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from services.models import Service

    slug = Service.objects.order_by("slug")[Service.objects.count() // 2].slug
    token = make_token(slug)
    commit = "0123456789abcdef0123456789abcdef01234567"
    body = json.dumps({"service": slug, "environment": "prod", "commit_sha": commit})
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def call():
        response = client.post("/api/v1/gate", body, content_type="application/json")
        assert response.status_code == 200, response.content
        return response

    for _ in range(20):  # warm-up: imports, connection, last-used stamp, caches
        answer = call().json()
    print(f"gate answer for {slug}: {answer['decision']} {answer.get('reasons')}")

    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        call()
    sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
    print(f"\n{len(captured.captured_queries)} statements, {sql_ms:.1f} ms in the driver:")
    for q in captured.captured_queries:
        text = q["sql"] if args.sql else q["sql"][:150]
        print(f"  {float(q['time']) * 1000:6.2f} ms  {text}")

    times = []
    for _ in range(args.calls):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(
        f"\n{args.calls} calls: p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms, "
        f"mean {statistics.fmean(times):.2f} ms"
    )

    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.calls):
        call()
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).sort_stats("cumulative")
    stats.print_stats(args.top)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()

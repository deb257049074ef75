"""Latency and SQL queries of one gate call, on a small and a large data set.

    .venv/bin/python bench/gate/gate_latency.py               # throwaway SQLite
    DATABASE_URL=postgres://... .venv/bin/python bench/gate/gate_latency.py --calls 500

Builds a service with an approved review, then calls POST /api/v1/gate through Django's test
client (the full middleware, authentication with a service token, evaluation, signing, storing
and auditing) and reports queries per call and latency percentiles. The query count must be
the same at both sizes; latency should barely move. A gunicorn + PostgreSQL load test is left to
the performance issue.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def setup() -> None:
    sys.path.insert(0, str(ROOT))
    if not os.environ.get("DATABASE_URL"):
        os.environ["PORTAL_VAR_DIR"] = tempfile.mkdtemp(prefix="prr-bench-gate-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstu")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("PORTAL_HTTPS", "false")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("GATE_THROTTLE_RATE", "1000000/minute")
    os.environ.setdefault("API_THROTTLE_RATE", "1000000/minute")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(size: str) -> tuple[str, str]:
    """A service with an approved review; 'large' adds 200 controls (100 automated, 5
    functions each), 50 waivers, 1,000 evidence rows and 50 older reviews."""
    from accounts.models import Team, User
    from tests.factories import ControlFactory, EvidenceFactory, ReviewItemFactory, WaiverFactory
    from tests.gate.helpers import CHECKS, approve, collect, make_catalog, service_token

    suffix = f"{size}-{int(time.time() * 1000)}"
    team = Team.objects.create(slug=f"bench-{suffix}", name=f"Bench {suffix}")
    admin = User.objects.create(username=f"admin-{suffix}", is_superuser=True)
    requester = User.objects.create(username=f"owner-{suffix}")
    risk = User.objects.create(username=f"risk-{suffix}")
    from services.models import Service

    service = Service.objects.create(
        team=team, slug=f"svc-{suffix}", name=f"Svc {suffix}", tier=1, environments=["prod"]
    )
    from controls.models import CatalogVersion

    CatalogVersion.objects.filter(is_current=True).update(is_current=False)
    version, controls = (
        make_catalog()
        if not CatalogVersion.objects.filter(version="2026.1").exists()
        else (CatalogVersion.objects.get(version="2026.1"), None)
    )
    if controls is None:
        CatalogVersion.objects.filter(pk=version.pk).update(is_current=True)
        controls = list(version.controls.all()[:4])
    review = approve(service, version, controls, opened_by=requester)
    checks = dict.fromkeys(CHECKS.values(), "pass")
    if size == "large":
        for n in range(200):
            control = ControlFactory(
                catalog_version=version,
                code=f"B{suffix[:6]}-{n:03d}"[:20],
                check_id=f"bench.{suffix}.{n}" if n % 2 == 0 else "",
                position=10 + n,
            )
            ReviewItemFactory(review=review, control=control, mandatory=True)
            if n % 2 == 0:
                checks[control.check_id] = "pass"
        for n in range(50):
            WaiverFactory(
                service=service,
                control_code=f"X-{n}",
                status="approved",
                decided_by=risk,
                requested_by=requester,
            )
            approve(
                service,
                version,
                [],
                status="expired",
                approved_at=None,
                expires_at=None,
                approval_hash="",
                opened_by=requester,
            )
        for _n in range(1000):
            EvidenceFactory(service=service)
    collect(service, checks, resources=5 if size == "large" else 1)
    return service.slug, service_token(admin, [service])[1]


def measure(slug: str, token: str, calls: int) -> dict:
    from django.db import connection
    from django.test import Client

    client = Client()
    body = json.dumps(
        {
            "service": slug,
            "environment": "prod",
            "commit_sha": "0123456789abcdef0123456789abcdef01234567",
        }
    )
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def call():
        response = client.post(
            "/api/v1/gate", data=body, content_type="application/json", **headers
        )
        assert response.status_code == 200, response.content[:300]
        return response.json()["decision"]

    call()  # warm up (token last-used stamp, caches)
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    # (CaptureQueriesContext would not do: each request start empties the query log.)
    with connection.execute_wrapper(count):
        decision = call()
    timings = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "decision": decision,
        "queries_per_call": len(executed),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(len(timings) * 0.95) - 1], 2),
        "max_ms": round(timings[-1], 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    setup()
    from django.db import connection

    results = {}
    for size in ("small", "large"):
        slug, token = build(size)
        results[size] = measure(slug, token, args.calls)
        print(f"{size:>5}: {json.dumps(results[size])}")
    same = results["small"]["queries_per_call"] == results["large"]["queries_per_call"]
    print(f"database: {connection.vendor}; same query count at both sizes: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

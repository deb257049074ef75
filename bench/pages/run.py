"""SQL queries and server time per page, from a near-empty portfolio to 2,000 services.

    DATABASE_URL=postgresql://portal:portal@127.0.0.1:5432/bench \\
        .venv/bin/python bench/pages/run.py [--sizes 1 20 2000] [--evidence-per-service 500]

or with throwaway servers: ``bash -c 'source scripts/services.sh; .venv/bin/python
bench/pages/run.py'`` (seeds every size again: about 5 minutes).

Each size gets its own database next to DATABASE_URL's (``<name>_s<size>``, created when
missing, seeded with bench/seed_portfolio.py, ``--runs-per-target`` collection runs per AWS
target) and its own VAR_DIR (``var/bench-pages/<database>``: the signed audit checkpoint the
seed writes must belong to that database). In each, a platform admin (who sees every
service: the heaviest case) requests the dashboard, the service list, a review page and the
audit log through Django's full middleware stack; the script reports SQL queries per page and
the median and fastest server time of 15 requests after 3 warm-ups. "Empty" is 1 service, so
that a review page exists. Targets: queries identical at every size; time at 2,000 services
<= 3x the empty portfolio. The dashboard caches its portfolio summary for a few minutes, so
its warm time is what users get most of the time; "dashboard cold" clears the cache before
every request (the first load after the summary expires), reported for information.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

PAGES = ["dashboard", "dashboard cold", "service list", "review page", "audit log"]


def database_for(size: int) -> tuple[str, Path]:
    """The size's database (created when missing) and its VAR_DIR (emptied of audit
    checkpoints when the database is new: they would vouch for another chain)."""
    base = urlsplit(os.environ["DATABASE_URL"])
    name = f"{base.path.lstrip('/')}_s{size}"
    var_dir = ROOT / "var" / "bench-pages" / name
    import psycopg

    admin = urlunsplit(base._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            shutil.rmtree(var_dir / "audit-checkpoints", ignore_errors=True)
    return urlunsplit(base._replace(path=f"/{name}")), var_dir


def measure(size: int, evidence_per_service: int, runs_per_target: int) -> dict:
    import seed_portfolio

    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    seed_portfolio.setup_django()
    seed_portfolio.seed(size, size * evidence_per_service, runs_per_target=runs_per_target)
    from django.core.cache import cache
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from reviews.models import Review

    client = Client()
    client.force_login(User.objects.get(username="bench-admin"))
    review = Review.objects.order_by("pk").first()
    urls = {
        "dashboard": "/dashboard/",
        "dashboard cold": "/dashboard/",
        "service list": "/services/",
        "review page": f"/reviews/{review.pk}/",
        "audit log": "/audit/",
    }
    out = {}
    for page, url in urls.items():
        cold = page.endswith(" cold")
        for _ in range(3):
            response = client.get(url)
            assert response.status_code == 200, url
        if page == "audit log":  # measure the page users normally see: a verified chain
            assert b"<strong>Verified</strong>" in response.content, "audit chain not verified"
        reset_queries()  # the request_started signal resets the log: start from empty
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        times = []
        for _ in range(15):
            if cold:
                cache.clear()
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        out[page] = {"queries": len(queries), "ms": statistics.median(times), "min": min(times)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 20, 2000])
    parser.add_argument("--evidence-per-service", type=int, default=500)
    parser.add_argument("--runs-per-target", type=int, default=None)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from seed_portfolio import RUNS_PER_TARGET

    runs = args.runs_per_target or RUNS_PER_TARGET
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.evidence_per_service, runs)))
        return
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("pages: set DATABASE_URL to a PostgreSQL database")
    results = {}
    for size in args.sizes:
        url, var_dir = database_for(size)
        env = {**os.environ, "DATABASE_URL": url, "PORTAL_VAR_DIR": str(var_dir)}
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                str(size),
                "--evidence-per-service",
                str(args.evidence_per_service),
                "--runs-per-target",
                str(runs),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            sys.exit(done.stdout + done.stderr)
        results[size] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"size {size}: seeded and measured in {time.monotonic() - started:.0f}s")
    sizes = args.sizes
    # Median and fastest of the 15 timed requests: on a shared machine other processes only
    # ever add time, so the ratio of the fastest is the steadier one.
    header = "".join(f"{f'{s} svc q':>10}{'ms':>7}{'min':>7}" for s in sizes)
    print(f"\n{'page':16}{header}   ratio  (min)")
    for page in PAGES:
        row = f"{page:16}"
        for s in sizes:
            r = results[s][page]
            row += f"{r['queries']:>10}{r['ms']:>7.1f}{r['min']:>7.1f}"
        first, last = results[sizes[0]][page], results[sizes[-1]][page]
        constant = len({results[s][page]["queries"] for s in sizes[1:]}) == 1
        row += f"  {last['ms'] / first['ms']:5.2f}x ({last['min'] / first['min']:4.2f}x)"
        print(row + ("" if constant else "  queries vary"))


if __name__ == "__main__":
    main()

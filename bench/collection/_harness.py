"""Shared bench harness: a throwaway database, the emulator, a seeded account, one run.

Django is set up against a fresh SQLite file (or BENCH_DATABASE_URL) in a temp folder so a
benchmark never touches the developer's data.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="prr-bench-"))


def setup_django(*, eager: bool = True, broker: str = "memory://") -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
    os.environ["PORTAL_VAR_DIR"] = str(TMP)
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", f"sqlite:///{TMP / 'bench.sqlite3'}"
    )
    os.environ["CELERY_BROKER_URL"] = broker
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true" if eager else "false"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if eager:
        # This process runs the tasks: prepare it as a worker process is prepared.
        from portal.celery import prepare_worker_process

        prepare_worker_process()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_emulator(lambda_rps: float | None = None):
    port = free_port()
    args = [sys.executable, "-m", "collection.emulator_server", "-p", str(port)]
    if lambda_rps:
        args += ["--lambda-rps", str(lambda_rps)]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/_prr/stats", timeout=1).read()
            break
        except OSError:
            time.sleep(0.1)
    os.environ["AWS_ENDPOINT_URL"] = url
    return proc, url


def stats(url: str, reset: bool = False) -> dict:
    import json

    if reset:
        req = urllib.request.Request(f"{url}/_prr/reset", data=b"{}", method="POST")
        urllib.request.urlopen(req).read()
        return {}
    return json.loads(urllib.request.urlopen(f"{url}/_prr/stats").read())


def make_target(prefix: str = "bench-"):
    from accounts.models import Team
    from services.models import AwsTarget, Service

    team, _ = Team.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    service, _ = Service.objects.get_or_create(
        slug="bench-svc",
        defaults={"team": team, "name": "Bench", "tier": 1, "uses_async_invocation": True},
    )
    target, _ = AwsTarget.objects.get_or_create(
        service=service,
        account_id="123456789012",
        defaults={
            "regions": ["us-east-1"],
            "role_arn": "arn:aws:iam::123456789012:role/prr-collector",
            "function_name_prefix": prefix,
        },
    )
    if target.function_name_prefix != prefix:
        # Several sizes in one invocation (--functions 100 2000) reuse the target: select
        # this size's functions, not the previous size's.
        target.function_name_prefix = prefix
        target.save(update_fields=["function_name_prefix"])
    return target


def run_once(target, mode: str = "full"):
    from django.conf import settings

    from audit.context import Actor
    from collection.aws import clients
    from collection.services import collection_run_start

    settings.AWS_ENDPOINT_URL = os.environ["AWS_ENDPOINT_URL"]
    clients.clear_cache()
    run = collection_run_start(
        actor=Actor.system("bench"), aws_target=target, trigger="scheduled", mode=mode
    )
    run.refresh_from_db()
    return run


def call_counts(run) -> dict[str, int]:
    """Calls made by a run, from its own provenance records (bulk + per function)."""
    from collections import Counter

    counts: Counter = Counter()
    for region in run.region_runs.all():
        for call in region.bulk_operations:
            counts[call["operation"]] += 1
    for ops in run.snapshots.values_list("api_operations", flat=True):
        for call in ops:
            if call.get("request_id") is not None and "reused_from_snapshot" not in call:
                counts[call["operation"]] += 1
    return dict(counts)


SHARED_EXCLUDED = {"lambda:GetFunction", "lambda:GetPolicy"}


def shared_calls(counts: dict[str, int]) -> int:
    return sum(
        n for op, n in counts.items() if op.startswith("lambda:") and op not in SHARED_EXCLUDED
    )

"""Peak memory of building an evidence bundle, small versus large.

    .venv/bin/python bench/exports/bundle_memory.py                # 500 and 5,000 files
    .venv/bin/python bench/exports/bundle_memory.py --files 5000 --size 215040 --one

Each size runs in its own process with a throwaway VAR_DIR (SQLite database, media root):
it creates one review whose items carry N evidence files of random bytes, then requests a ZIP
export through the real path (exports.services.export_request -> Celery task run eagerly ->
BundleBuilder streaming from Django storage) and reports the process's peak RSS. Memory
should not grow with the evidence volume: the ratio large/small should be near 1.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def current_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_one(files: int, size: int) -> dict:
    sys.path.insert(0, str(REPO))
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings_test"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.utils import timezone

    from accounts.models import RoleGrant, User
    from audit.context import Actor
    from controls.models import CatalogVersion, Control
    from evidence.models import Evidence
    from evidence.services import store_blob
    from exports import services
    from exports.models import ExportJob
    from reviews.models import ItemEvidence, Review, ReviewItem
    from services.models import Service, Team

    team = Team.objects.create(slug="bench", name="Bench")
    auditor = User.objects.create(username="auditor")
    RoleGrant.objects.create(user=auditor, role="auditor")
    service = Service.objects.create(team=team, slug="bench-svc", name="Bench service", tier=1)
    catalog = CatalogVersion.objects.create(version="bench", content_sha256="0" * 64)
    review = Review.objects.create(
        service=service, environment="prod", catalog_version=catalog, opened_by=auditor
    )
    items = []
    for n in range(20):
        control = Control.objects.create(
            catalog_version=catalog,
            code=f"PRR-BEN-{n:03d}",
            section="security",
            title=f"Bench control {n}",
            requirement="r",
            rationale="r",
            enforcement="e",
            evidence_description="e",
            validation_procedure="v",
            severity="high",
            freshness_days=30,
            position=n,
        )
        items.append(
            ReviewItem.objects.create(
                review=review, control=control, mandatory=True, outcome="pass"
            )
        )
    started = time.perf_counter()
    now = timezone.now()
    rows = []
    total_bytes = 0
    for n in range(files):
        sha, name = store_blob(os.urandom(size))
        total_bytes += size
        rows.append(
            Evidence(
                service=service,
                kind="upload",
                title=f"evidence {n}",
                sha256=sha,
                size=size,
                content_type="application/octet-stream",
                storage_name=name,
                original_filename=f"e{n}.bin",
                source_type="user",
                source_label="bench",
                collected_at=now,
            )
        )
    created = Evidence.objects.bulk_create(rows, batch_size=500)
    ItemEvidence.objects.bulk_create(
        [ItemEvidence(item=items[i % len(items)], evidence=e) for i, e in enumerate(created)],
        batch_size=500,
    )
    generated = time.perf_counter() - started
    del rows, created
    before_rss = current_rss_mb()
    peak_before = rss_mb()

    started = time.perf_counter()
    job = services.export_request(
        actor=Actor.for_user(auditor), scope="review", fmt="zip", review=review
    )
    job = ExportJob.objects.get(pk=job.pk)
    seconds = time.perf_counter() - started
    assert job.status == "succeeded", job.error
    return {
        "files": files,
        "evidence_bytes": total_bytes,
        "bundle_bytes": job.size,
        "export_seconds": round(seconds, 1),
        "generate_seconds": round(generated, 1),
        "rss_before_export_mb": round(before_rss, 1),
        "peak_rss_before_export_mb": round(peak_before, 1),
        "peak_rss_mb": round(rss_mb(), 1),
    }


def spawn(files: int, size: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="prr-bench-") as var_dir:
        env = dict(os.environ, PORTAL_VAR_DIR=var_dir, EXPORTS_BENCH="1")
        out = subprocess.run(
            [sys.executable, __file__, "--one", "--files", str(files), "--size", str(size)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            raise SystemExit(f"benchmark run failed:\n{out.stdout}\n{out.stderr}")
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--size", type=int, default=210 * 1024, help="bytes per evidence file")
    parser.add_argument("--one", action="store_true", help="run one size in this process")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.files, args.size)))
        return
    small = spawn(args.files // 10, args.size)
    large = spawn(args.files, args.size)
    for r in (small, large):
        print(
            f"{r['files']:>6} files, {r['evidence_bytes'] / 1e9:6.3f} GB evidence -> bundle "
            f"{r['bundle_bytes'] / 1e9:6.3f} GB in {r['export_seconds']:>6} s; "
            f"peak RSS {r['peak_rss_mb']:7.1f} MB "
            f"(RSS before export {r['rss_before_export_mb']} MB)"
        )
    ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    print(f"peak RSS ratio large/small: {ratio:.2f}")
    print(json.dumps({"small": small, "large": large, "ratio": round(ratio, 3)}))


if __name__ == "__main__":
    main()

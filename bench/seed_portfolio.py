"""Build a benchmark portfolio in a PostgreSQL database, in minutes (COPY, not the ORM).

    DATABASE_URL=postgresql://portal:portal@127.0.0.1:5432/bench \\
        .venv/bin/python bench/seed_portfolio.py --services 2000 --evidence 1000000

What it builds (reused by bench/gate_load and bench/pages):

* the real control catalog (controls/catalog: 123 controls, 7 frameworks), migrated schema;
* ``--services`` services in teams of 20, each with an AWS target, an approved production
  review with one item per control, ``--runs-per-target`` finished collection runs (default
  7, one a day: the newest passes every automated check, so the gate allows; each older one
  failed one check), and 5 audit events;
* a signed audit checkpoint of the chain head, as Celery beat writes every 15 minutes;
* ``--evidence`` evidence rows spread evenly over the services;
* users: one owner per team, ``bench-sre``, ``bench-security``, ``bench-risk``,
  ``bench-auditor`` and ``bench-admin``.

Idempotent: a database that already holds the services, evidence and runs is left as it is
(``--fresh`` to wipe the portfolio tables first). Prints the time each step took.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Finished collection runs per AWS target: a week of the default daily collection.
RUNS_PER_TARGET = 7


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstu")
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("PORTAL_HTTPS", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("seed_portfolio: set DATABASE_URL to a PostgreSQL database")
    import django

    django.setup()


class Step:
    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        print(f"  {self.what}: {time.monotonic() - self.started:.1f}s", flush=True)


def copy_rows(model, rows, fields: list[str]) -> int:
    """COPY ``rows`` (tuples in ``fields`` order, model attnames) into the model's table."""
    from django.db import connection

    meta = model._meta
    # Columns not given get their model default ("" for text): COPY bypasses Django's defaults.
    extra = [
        f
        for f in meta.concrete_fields
        if not f.primary_key and f.attname not in fields and not f.null
    ]
    defaults = tuple(f.get_default() for f in extra)
    fields = list(fields) + [f.attname for f in extra]
    rows = (tuple(row) + defaults for row in rows)
    columns = [next(x.column for x in meta.concrete_fields if x.attname == f) for f in fields]
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    count = 0
    with connection.cursor() as cursor:
        sql = f"COPY {connection.ops.quote_name(meta.db_table)} ({quoted}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([json.dumps(v) if isinstance(v, dict | list) else v for v in row])
                count += 1
    return count


def wipe() -> None:
    from django.db import connection

    tables = [
        "reviews_itemevidence",
        "reviews_reviewitem",
        "reviews_signoff",
        "reviews_itemcomment",
        "reviews_review",
        "reviews_waiver",
        "collection_checkresult",
        "collection_resourcesnapshot",
        "collection_collectionbatch",
        "collection_regionrun",
        "collection_collectionrun",
        "evidence_evidence",
        "gate_gatedecision",
        "services_awstarget",
        "services_service",
    ]
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
        cursor.execute(
            "TRUNCATE "
            + ", ".join(t for t in tables if t in existing)
            + " RESTART IDENTITY CASCADE"
        )


def users_and_teams(teams: int):
    from accounts.choices import MembershipRole, Role
    from accounts.models import Membership, RoleGrant, Team, User

    team_objs = []
    for i in range(teams):
        team, _ = Team.objects.get_or_create(slug=f"team-{i:03d}", defaults={"name": f"Team {i}"})
        owner, _ = User.objects.get_or_create(username=f"owner-{i:03d}")
        Membership.objects.get_or_create(
            user=owner, team=team, defaults={"role": MembershipRole.OWNER}
        )
        team_objs.append((team, owner))
    for name, role in (
        ("bench-sre", Role.SRE),
        ("bench-security", Role.SECURITY),
        ("bench-risk", Role.RISK),
        ("bench-auditor", Role.AUDITOR),
        ("bench-admin", Role.PLATFORM_ADMIN),
    ):
        user, _ = User.objects.get_or_create(username=name)
        RoleGrant.objects.get_or_create(user=user, role=role)
        if role == Role.PLATFORM_ADMIN:
            user.is_staff = user.is_superuser = True
            user.set_password("bench-admin-password")
            user.save()
    return team_objs


def checkpoint() -> None:
    """Sign the chain head as Celery beat does every 15 minutes in production, so the audit
    log page verifies what came after it, not the whole seeded chain. Checkpoints live in
    VAR_DIR (bench/pages gives each database its own)."""
    from audit.models import AuditChainHead
    from audit.services import AuditChainBroken, audit_checkpoint_latest, audit_checkpoint_write

    head = AuditChainHead.objects.filter(id=1).values_list("seq", "hash").first() or (0, "")
    latest = audit_checkpoint_latest()
    if latest is not None and (latest.seq, latest.hash) == head:
        return
    with Step(f"signed audit checkpoint at #{head[0]}"):
        try:
            audit_checkpoint_write()
        except AuditChainBroken as exc:  # e.g. a checkpoint of another database in VAR_DIR
            print(f"  warning: no checkpoint written: {exc}", flush=True)


def seed(
    services: int, evidence: int, *, fresh: bool = False, runs_per_target: int = RUNS_PER_TARGET
) -> dict:
    """Build the portfolio (see the module docstring); returns what exists."""
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from audit.context import Actor
    from audit.services import audit_record
    from collection.checks.ids import CHECK_IDS
    from collection.models import CheckResult, CollectionRun
    from controls.models import CatalogVersion, Control
    from evidence.models import Evidence
    from reviews.models import Review, ReviewItem
    from services.models import AwsTarget, Service

    with Step("migrate"):
        call_command("migrate", verbosity=0)
    if fresh:
        with Step("wipe"):
            wipe()
    existing = Service.objects.count()
    if (
        existing >= services
        and Evidence.objects.count() >= evidence
        and CollectionRun.objects.count() >= services * runs_per_target
    ):
        print(f"  portfolio already seeded: {existing} services")
        checkpoint()
        return {"services": existing}
    if existing:
        with Step("wipe (partial portfolio)"):
            wipe()
    with Step("catalog"):
        if not CatalogVersion.objects.filter(is_current=True).exists():
            call_command("load_catalog", verbosity=0)
        catalog = CatalogVersion.objects.get(is_current=True)
        controls = list(Control.objects.filter(catalog_version=catalog))
    now = timezone.now()
    with Step(f"{max(1, services // 20)} teams and users"):
        teams = users_and_teams(max(1, services // 20))
    with Step(f"{services} services and AWS targets"), transaction.atomic():
        made = Service.objects.bulk_create(
            [
                Service(
                    team=teams[i % len(teams)][0],
                    slug=f"svc-{i:05d}",
                    name=f"Service {i:05d}",
                    tier=1 + i % 4,
                    data_classification="confidential",
                    environments=["staging", "prod"],
                    repository=f"acme/svc-{i:05d}",
                    repository_id=str(100000 + i),
                )
                for i in range(services)
            ],
            batch_size=1000,
        )
        AwsTarget.objects.bulk_create(
            [
                AwsTarget(
                    service=s,
                    account_id=f"{100000000000 + i}",
                    regions=["eu-west-1"],
                    role_arn=f"arn:aws:iam::{100000000000 + i}:role/prr-collector",
                    external_id=f"bench-{i:08d}",
                )
                for i, s in enumerate(made)
            ],
            batch_size=1000,
        )
    owner_of = {team.pk: owner for team, owner in teams}
    with (
        Step(f"{services} approved reviews, {services * len(controls)} items"),
        transaction.atomic(),
    ):
        reviews = Review.objects.bulk_create(
            [
                Review(
                    service=s,
                    environment="prod",
                    catalog_version=catalog,
                    status="approved",
                    opened_by=owner_of[s.team_id],
                    submitted_by=owner_of[s.team_id],
                    submitted_at=now,
                    approved_at=now,
                    expires_at=now + timedelta(days=90),
                    approval_hash="a" * 64,
                )
                for s in made
            ],
            batch_size=1000,
        )
        tier_of = {s.pk: s.tier for s in made}
        copy_rows(
            ReviewItem,
            (
                (r.pk, c.pk, c.is_mandatory_for(tier_of[r.service_id]), "pass", "", "", "")
                for r in reviews
                for c in controls
            ),
            [
                "review_id",
                "control_id",
                "mandatory",
                "outcome",
                "reason",
                "verdict",
                "verdict_comment",
            ],
        )
    with (
        Step(
            f"{services * runs_per_target} collection runs, "
            f"{services * runs_per_target * len(CHECK_IDS)} results"
        ),
        transaction.atomic(),
    ):
        targets = {t.service_id: t for t in AwsTarget.objects.filter(service__in=made)}
        # One run a day (the default collection interval), oldest first; the newest passes
        # every check (so the gate allows), each older one failed one check since fixed.
        ages = range(runs_per_target - 1, -1, -1)
        check_ids = sorted(CHECK_IDS)
        runs = CollectionRun.objects.bulk_create(
            [
                CollectionRun(
                    service=s,
                    aws_target=targets[s.pk],
                    status="succeeded",
                    trigger="scheduled",
                    account_id=targets[s.pk].account_id,
                    role_arn=targets[s.pk].role_arn,
                    regions=["eu-west-1"],
                    functions_discovered=1,
                    functions_collected=1,
                    functions_evaluated=1,
                    results_count=len(CHECK_IDS),
                    regions_done=1,
                    started_at=now - timedelta(days=age, minutes=5),
                    finished_at=now - timedelta(days=age),
                )
                for s in made
                for age in ages
            ],
            batch_size=1000,
        )
        failed_of = {
            run.pk: check_ids[(run.pk + age) % len(check_ids)] if age else None
            for run, age in zip(runs, (age for _ in made for age in ages), strict=True)
        }
        copy_rows(
            CheckResult,
            (
                (
                    run.pk,
                    check_id,
                    f"arn:aws:lambda:eu-west-1:{run.account_id}:function:{run.service_id}",
                    "fail" if check_id == failed_of[run.pk] else "pass",
                    "ok",
                    run.finished_at,
                )
                for run in runs
                for check_id in CHECK_IDS
            ),
            ["run_id", "check_id", "resource", "status", "message", "evaluated_at"],
        )
    per_service = max(1, evidence // max(1, services))
    with Step(f"{per_service * len(made)} evidence rows (COPY)"), transaction.atomic():
        codes = [c.code for c in controls]
        copy_rows(
            Evidence,
            (
                (
                    s.pk,
                    "link",
                    f"Runbook review {n}",
                    f"{s.pk:016x}{n:048x}",
                    0,
                    f"https://wiki.example.com/{s.slug}/{n}",
                    "user",
                    "bench",
                    now - timedelta(days=n % 60),
                    codes[n % len(codes)],
                    {},
                    now,
                )
                for s in made
                for n in range(per_service)
            ),
            [
                "service_id",
                "kind",
                "title",
                "sha256",
                "size",
                "url",
                "source_type",
                "source_label",
                "collected_at",
                "control_code",
                "metadata",
                "created_at",
            ],
        )
    with Step(f"{5 * len(made)} audit events (hash chain)"), transaction.atomic():
        actor = Actor.system("bench-seed")
        for s in made:
            for action in (
                "service.create",
                "review.open",
                "review.submit",
                "signoff.record",
                "review.approve",
            ):
                audit_record(actor=actor, action=action, obj=s, service_slug=s.slug)
    checkpoint()
    with Step("ANALYZE"):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"services": len(made), "evidence": per_service * len(made)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=2000)
    parser.add_argument("--evidence", type=int, default=1_000_000)
    parser.add_argument("--fresh", action="store_true", help="wipe the portfolio first")
    parser.add_argument(
        "--runs-per-target",
        type=int,
        default=RUNS_PER_TARGET,
        help=f"finished collection runs per AWS target, one a day (default {RUNS_PER_TARGET})",
    )
    args = parser.parse_args()
    setup_django()
    started = time.monotonic()
    print(f"seeding {args.services} services, {args.evidence} evidence rows")
    seed(args.services, args.evidence, fresh=args.fresh, runs_per_target=args.runs_per_target)
    print(f"done in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()

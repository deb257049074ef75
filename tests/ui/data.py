"""The people and the service the browser tests work with (real catalog, real workflow)."""

from __future__ import annotations

from django.utils import timezone

from accounts.choices import MembershipRole, Role
from accounts.models import Membership, RoleGrant, Team, User
from audit.context import Actor
from collection.models import CheckResult, CollectionRun
from controls.models import Control
from controls.selectors import current_catalog
from reviews import workflow
from reviews.choices import ItemOutcome
from services.models import AwsTarget, Service
from tests.ui.conftest import PASSWORD


def person(username: str, *, role: str | None = None, team=None, owner=False) -> User:
    user = User.objects.create_user(
        username, email=f"{username}@bank.example", password=PASSWORD, first_name=username.title()
    )
    if role:
        RoleGrant.objects.create(user=user, role=role)
    if team:
        Membership.objects.create(
            user=user,
            team=team,
            role=MembershipRole.OWNER if owner else MembershipRole.MEMBER,
        )
    return user


def world() -> dict:
    """A payments team (owner, teammate who also holds the SRE role), independent SRE and
    security reviewers, an auditor, and a tier-1 service whose AWS account's latest
    collection passes every automated check."""
    team = Team.objects.create(slug="payments", name="Payments", contact_email="")
    people = {
        "owner": person("olivia", team=team, owner=True),
        "teammate": person("tom", team=team, role=Role.SRE),
        "sre": person("sam", role=Role.SRE),
        "security": person("sofia", role=Role.SECURITY),
        "auditor": person("ada", role=Role.AUDITOR),
    }
    service = Service.objects.create(
        team=team,
        slug="payments-api",
        name="Payments API",
        tier=1,
        repository="bank/payments-api",
        environments=["dev", "prod"],
    )
    target = AwsTarget.objects.create(
        service=service,
        account_id="123456789012",
        regions=["eu-west-1"],
        role_arn="arn:aws:iam::123456789012:role/prr-collector",
        function_name_prefix="payments-",
    )
    now = timezone.now()
    run = CollectionRun.objects.create(
        service=service,
        aws_target=target,
        status="succeeded",
        account_id=target.account_id,
        role_arn=target.role_arn,
        regions=target.regions,
        functions_discovered=2,
        functions_collected=2,
        functions_evaluated=2,
        started_at=now,
        finished_at=now,
    )
    checks = set(
        Control.objects.filter(catalog_version=current_catalog(), check_id__gt="").values_list(
            "check_id", flat=True
        )
    )
    CheckResult.objects.bulk_create(
        CheckResult(
            run=run,
            check_id=check,
            resource=f"arn:aws:lambda:eu-west-1:123456789012:function:payments-{fn}",
            status="pass",
            message="Compliant.",
            evaluated_at=now,
        )
        for check in sorted(checks)
        for fn in ("api", "worker")
    )
    return {**people, "team": team, "service": service, "target": target, "run": run}


def answer_all_but(review, user, skip_codes=()) -> None:
    """Pass every mandatory item with fresh link evidence, as the owner would, except those
    the test answers in the browser."""
    from evidence.services import evidence_add_link

    actor = Actor.for_user(user)
    for item in review.items.filter(mandatory=True).select_related("control"):
        if item.control.code in skip_codes:
            continue
        evidence = evidence_add_link(
            actor=actor,
            service=review.service,
            url=f"https://wiki.bank.example/prr/{item.control.code}",
            title=f"{item.control.code} runbook and config",
            control_code=item.control.code,
        )
        workflow.item_attach_evidence(actor=actor, item=item, evidence=evidence)
        workflow.item_update(actor=actor, item=item, outcome=ItemOutcome.PASS)
